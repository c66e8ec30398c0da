"""Elementwise and reduction throughput on 16M float32 elements: ember vs numpy and torch, contiguous
and transposed (a 4096 x 4096 matrix read through .T). Each library runs in its own process with the
given thread count (numpy's elementwise loops are single-threaded whatever the setting).

    python bench/elementwise.py [--threads 1 2] [--quick]
"""

import argparse
import json

from _common import fmt, median_time, print_table, run_workers_interleaved

N = 4096


def ops_for(lib):
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((N, N), dtype=np.float32)
    b = rng.standard_normal((N, N), dtype=np.float32)
    if lib == "numpy":
        x, y = a, b
        return {
            "add": lambda x, y: x + y, "mul": lambda x, y: x * y, "exp": lambda x, y: np.exp(x),
            "softmax": lambda x, y: _np_softmax(np, x), "sum": lambda x, y: x.sum(),
        }, x, y
    if lib == "torch":
        import os

        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        x, y = torch.from_numpy(a), torch.from_numpy(b)
        return {
            "add": lambda x, y: x + y, "mul": lambda x, y: x * y, "exp": lambda x, y: torch.exp(x),
            "softmax": lambda x, y: torch.softmax(x, -1), "sum": lambda x, y: x.sum(),
        }, x, y
    import ember

    x, y = ember.from_numpy(a), ember.from_numpy(b)
    return {
        "add": lambda x, y: x + y, "mul": lambda x, y: x * y, "exp": lambda x, y: x.exp(),
        "softmax": lambda x, y: ember.softmax(x, -1), "sum": lambda x, y: x.sum(),
    }, x, y


def _np_softmax(np, x):
    m = x.max(-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(-1, keepdims=True)


def worker(lib, min_time):
    ops, x, y = ops_for(lib)
    results = {}
    for name, fn in ops.items():
        for layout in ("contiguous", "transposed"):
            a, b = (x, y) if layout == "contiguous" else (x.T, y.T)
            results[f"{name}/{layout}"] = median_time(lambda: fn(a, b), min_time=min_time) * 1e3
    print(json.dumps(results))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("LIB", "MIN_TIME"))
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], float(args.worker[1]))
        return
    min_time = "0.2" if args.quick else "1.0"
    nbytes = N * N * 4
    rows = []
    for threads in args.threads:
        r = run_workers_interleaved(__file__, ("ember", "numpy", "torch"), [min_time], threads, 3)
        for key in r["ember"]:
            e, npy, t = r["ember"][key], r["numpy"][key], r["torch"][key]
            rows.append([key, threads, fmt(e, 2), fmt(npy, 2), fmt(t, 2), fmt(npy / e, 2), fmt(t / e, 2)])
        add_bw = lambda ms: 3 * nbytes / (ms / 1e3) / 1e9  # noqa: E731  (two reads, one write)
        print(f"threads={threads}: add bandwidth ember {add_bw(r['ember']['add/contiguous']):.1f} GB/s, "
              f"numpy {add_bw(r['numpy']['add/contiguous']):.1f} GB/s, torch {add_bw(r['torch']['add/contiguous']):.1f} GB/s")
    print("milliseconds on 16M float32 (lower is better); speedup = peer time / ember time")
    print_table(["op/layout", "threads", "ember ms", "numpy ms", "torch ms", "vs numpy", "vs torch"], rows)


if __name__ == "__main__":
    main()
