"""Pooling, resampling and padding (float32, NCHW): ember vs torch, each library in its own process
with the same thread count (default 2), libraries interleaved, medians of the worker medians.

    python bench/pool.py            # full table
    python bench/pool.py --quick    # fewer repetitions
"""

import json
import sys

from _common import bench_parser, fmt, median_time, print_table, run_workers_interleaved

# name, input shape, call(F, x) with F = torch.nn.functional or ember.nn.functional
CASES = [
    ("max_pool2d 3x3/2 pad 1", (8, 64, 112, 112), lambda F, x: F.max_pool2d(x, 3, 2, 1)),
    ("avg_pool2d 3x3/2 pad 1", (8, 64, 112, 112), lambda F, x: F.avg_pool2d(x, 3, 2, 1)),
    ("avg_pool2d 2x2/2", (8, 64, 112, 112), lambda F, x: F.avg_pool2d(x, 2)),
    ("adaptive_avg_pool2d -> 1x1", (8, 2048, 7, 7), lambda F, x: F.adaptive_avg_pool2d(x, 1)),
    ("bilinear 2x upsample", (1, 64, 128, 128), lambda F, x: F.interpolate(x, scale_factor=2, mode="bilinear")),
    ("nearest 2x upsample", (1, 64, 128, 128), lambda F, x: F.interpolate(x, scale_factor=2, mode="nearest")),
    ("pad reflect 1 (H, W)", (8, 64, 112, 112), lambda F, x: F.pad(x, (1, 1, 1, 1), mode="reflect")),
    ("pad constant 1 (H, W)", (8, 64, 112, 112), lambda F, x: F.pad(x, (1, 1, 1, 1))),
    ("pixel_shuffle 2", (1, 256, 64, 64), lambda F, x: F.pixel_shuffle(x, 2)),
]


def worker(lib, min_time):
    import os

    import numpy as np

    rng = np.random.default_rng(0)
    results = {}
    for name, shape, call in CASES:
        a = rng.standard_normal(shape, dtype=np.float32)
        if lib == "ember":
            import ember
            import ember.nn.functional as F

            x = ember.from_numpy(a)
        else:
            import torch
            import torch.nn.functional as F

            torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
            x = torch.from_numpy(a)
        results[name] = median_time(lambda: call(F, x), min_time=min_time) * 1e3  # noqa: B023
    print(json.dumps(results))


def main():
    parser = bench_parser(("LIB", "MIN_TIME"), threads=(2,))
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], float(args.worker[1]))
        return
    min_time = "0.2" if args.quick else "0.5"
    rows = []
    for threads in args.threads:
        r = run_workers_interleaved(__file__, ("ember", "torch"), [min_time], threads, args.repeat)
        for name, shape, _ in CASES:
            e, t = r["ember"][name], r["torch"][name]
            rows.append([name, "x".join(map(str, shape)), threads, fmt(e, 3), fmt(t, 3), fmt(t / e, 2)])
    print(f"float32 milliseconds per call, median of {args.repeat} interleaved worker runs per library")
    print_table(["op", "input", "threads", "ember ms", "torch ms", "torch/ember"], rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
