"""Shared helpers for the bench/ scripts: timing, worker subprocesses with a fixed thread count, tables."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

THREAD_ENV = ("EMBER_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


def median_time(fn, min_time=0.3, min_reps=3, max_reps=50, warmup=1):
    """Median wall time of fn() in seconds over repeated calls."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_worker(script, args, threads):
    """Runs `python script --worker ...` with every threading library pinned to `threads` threads."""
    env = dict(os.environ)
    for key in THREAD_ENV:
        env[key] = str(threads)
    out = subprocess.run([sys.executable, script, "--worker", *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise RuntimeError(f"worker {args} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_workers_interleaved(script, libs, extra_args, threads, repeat):
    """Runs each library's worker `repeat` times, alternating libraries so that slow phases of a
    shared machine hit all of them, and returns per library the median of each result key."""
    runs = {lib: [] for lib in libs}
    for _ in range(repeat):
        for lib in libs:
            runs[lib].append(run_worker(script, [lib, *extra_args], threads))
    out = {}
    for lib, results in runs.items():
        keys = results[0].keys()
        out[lib] = {k: (None if any(r[k] is None for r in results) else statistics.median(r[k] for r in results)) for k in keys}
    return out


def print_table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = " | ".join(str(h).rjust(w) for h, w in zip(headers, widths))
    print(line)
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).rjust(w) for c, w in zip(r, widths)))


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def bench_parser(worker_fields=("LIB", "MIN_TIME"), threads=(1, 2)):
    """The arguments every peer benchmark takes: --worker (internal), --quick, --threads, --repeat."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=len(worker_fields), metavar=tuple(worker_fields))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, nargs="*", default=list(threads))
    parser.add_argument("--repeat", type=int, default=3, help="worker runs per library (median taken)")
    return parser
