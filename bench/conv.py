"""Convolution speed and memory: ember vs torch on ResNet-50 and Whisper front-end shapes.

Each library runs in its own worker process pinned to the thread count (default 2). Speed: median
wall time per call (workers interleaved, the median of their medians). On a shared, loaded machine
wall times swing (torch's OpenMP threads suffer most), so a second table gives the CPU time per call
with 1 thread (time.process_time), which other processes barely disturb. Memory: the peak RSS growth
of the first call in a fresh process, beyond the output tensor itself (Linux: VmHWM after resetting
it through /proc/self/clear_refs).

    python bench/conv.py            # float32, batch 1 and 8
    python bench/conv.py --dtype bfloat16 --quick
"""

import argparse
import json
import os

from _common import fmt, median_time, print_table, run_worker, run_workers_interleaved

# name: (input shape without batch, weight shape, stride, padding)
SHAPES = {
    "stem 7x7/2 3->64 224": ((3, 224, 224), (64, 3, 7, 7), 2, 3),
    "3x3 64->64 56": ((64, 56, 56), (64, 64, 3, 3), 1, 1),
    "1x1 256->64 56": ((256, 56, 56), (64, 256, 1, 1), 1, 0),
    "1x1 64->256 56": ((64, 56, 56), (256, 64, 1, 1), 1, 0),
    "3x3/2 128->128 56": ((128, 56, 56), (128, 128, 3, 3), 2, 1),
    "1x1/2 256->512 56": ((256, 56, 56), (512, 256, 1, 1), 2, 0),
    "conv1d 80->384 k3 3000": ((80, 3000), (384, 80, 3), 1, 1),
    "conv1d/2 384->384 k3 3000": ((384, 3000), (384, 384, 3), 2, 1),
}
BATCHES = (1, 8)


def make_call(lib, name, batch, dtype):
    import numpy as np

    in_shape, w_shape, stride, padding = SHAPES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *in_shape), dtype=np.float32)
    w = (rng.standard_normal(w_shape, dtype=np.float32) * 0.05).astype(np.float32)
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    if lib == "ember":
        import ember
        import ember.nn.functional as F

        tx, tw, tb = (ember.from_numpy(a).to(getattr(ember, dtype)) for a in (x, w, b))
    else:
        import torch
        import torch.nn.functional as F

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        tx, tw, tb = (torch.from_numpy(a).to(getattr(torch, dtype)) for a in (x, w, b))
    fn = F.conv1d if len(in_shape) == 2 else F.conv2d
    return lambda: fn(tx, tw, tb, stride, padding)


def median_cpu_time(fn, min_time):
    """Median CPU time of fn() in seconds (the process's, all threads)."""
    import statistics
    import time

    fn()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_time and len(times) < 50):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def worker_time(lib, dtype, min_time, clock):
    results = {}
    for name in SHAPES:
        for batch in BATCHES:
            call = make_call(lib, name, batch, dtype)
            seconds = median_cpu_time(call, min_time) if clock == "cpu" else median_time(call, min_time=min_time)
            results[f"{name} b{batch}"] = seconds * 1e3
    print(json.dumps(results))


def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def worker_memory(lib, dtype, name, batch):
    call = make_call(lib, name, batch, dtype)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    before = rss_kib("VmRSS")
    out = call()
    peak = rss_kib("VmHWM")
    out_bytes = out.numel() * out.element_size()
    print(json.dumps({"extra_mib": max(0.0, (peak - before) * 1024 - out_bytes) / 2**20}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs="+")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--repeat", type=int, default=3, help="worker runs per library (median taken)")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    if args.worker:
        if args.worker[0] == "mem":
            _, lib, dtype, name, batch = args.worker
            worker_memory(lib, dtype, name, int(batch))
        else:
            lib, dtype, min_time, clock = args.worker
            worker_time(lib, dtype, float(min_time), clock)
        return
    min_time = "0.2" if args.quick else "0.5"
    libs = ("ember", "torch")
    repeat = 1 if args.quick else args.repeat
    wall = run_workers_interleaved(__file__, libs, [args.dtype, min_time, "wall"], args.threads, repeat)
    cpu = run_workers_interleaved(__file__, libs, [args.dtype, min_time, "cpu"], 1, repeat)
    rows = []
    for name in SHAPES:
        for batch in BATCHES:
            key = f"{name} b{batch}"
            e, t = wall["ember"][key], wall["torch"][key]
            ec, tc = cpu["ember"][key], cpu["torch"][key]
            mem = {}
            if not args.no_memory:
                for lib in libs:
                    mem[lib] = run_worker(__file__, ["mem", lib, args.dtype, name, str(batch)], args.threads)["extra_mib"]
            rows.append([name, batch, fmt(e, 2), fmt(t, 2), fmt(t / e, 2), fmt(ec, 2), fmt(tc, 2), fmt(tc / ec, 2),
                         fmt(mem.get("ember")), fmt(mem.get("torch"))])
    print(f"{args.dtype} conv. Wall: ms per call with {args.threads} threads (median). CPU: ms of CPU time per call "
          f"with 1 thread. Ratios torch / ember (>= 1: ember faster). MiB: peak RSS growth beyond the output "
          f"on a first call ({args.threads} threads).")
    print_table(["shape", "batch", "ember wall", "torch wall", "ratio", "ember cpu", "torch cpu", "ratio",
                 "ember MiB", "torch MiB"], rows)


if __name__ == "__main__":
    main()
