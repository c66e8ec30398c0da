"""Dense matmul throughput (GFLOP/s): ember vs numpy (OpenBLAS) and candle-nn for float32, vs torch for
float16/bfloat16, each library in its own process pinned to 1 and then 2 threads.

    python bench/matmul.py            # full table
    python bench/matmul.py --quick    # fewer repetitions
"""

import json
import sys

from _common import bench_parser, fmt, median_time, print_table, run_workers_interleaved

F32_SHAPES = [(1, 4096, 4096), (16, 4096, 4096), (128, 4096, 4096), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048)]
HALF_SHAPES = [(1, 4096, 4096), (128, 4096, 4096), (1024, 1024, 1024)]


def gflops(m, k, n, seconds):
    return 2.0 * m * k * n / seconds / 1e9


def worker(lib, dtype, min_time):
    import numpy as np

    rng = np.random.default_rng(0)
    shapes = F32_SHAPES if dtype == "float32" else HALF_SHAPES
    results = {}
    for m, k, n in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        if lib == "ember":
            import ember

            ta = ember.from_numpy(a).to(dtype)
            tb = ember.from_numpy(b).to(dtype)
            fn = lambda: ta @ tb  # noqa: E731
        elif lib == "numpy":
            fn = lambda: a @ b  # noqa: E731
        elif lib == "candle":
            import candle

            ta, tb = candle.Tensor(a), candle.Tensor(b)
            if dtype != "float32":
                ta, tb = ta.to_dtype(getattr(candle, {"float16": "f16", "bfloat16": "bf16"}[dtype])), tb.to_dtype(
                    getattr(candle, {"float16": "f16", "bfloat16": "bf16"}[dtype]))
            fn = lambda: ta.matmul(tb)  # noqa: E731
        elif lib == "torch":
            import os

            import torch

            torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
            ta = torch.from_numpy(a).to(getattr(torch, dtype))
            tb = torch.from_numpy(b).to(getattr(torch, dtype))
            fn = lambda: ta @ tb  # noqa: E731
        try:
            results[f"{m}x{k}x{n}"] = gflops(m, k, n, median_time(fn, min_time=min_time))
        except Exception as e:  # a peer that lacks the dtype: reported as missing
            results[f"{m}x{k}x{n}"] = None
            sys.stderr.write(f"{lib} {dtype} {m}x{k}x{n}: {str(e).splitlines()[0][:120]}\n")
    print(json.dumps(results))


def main():
    parser = bench_parser(("LIB", "DTYPE", "MIN_TIME"), threads=(1, 2))
    args = parser.parse_args()
    if args.worker:
        lib, dtype, min_time = args.worker
        worker(lib, dtype, float(min_time))
        return
    min_time = "0.2" if args.quick else "0.5"
    rows = []
    for threads in args.threads:
        r = run_workers_interleaved(__file__, ("ember", "numpy", "candle"), ["float32", min_time], threads, args.repeat)
        for m, k, n in F32_SHAPES:
            key = f"{m}x{k}x{n}"
            e, npy, c = r["ember"][key], r["numpy"][key], r["candle"][key]
            rows.append([key, "f32", threads, fmt(e), fmt(npy), fmt(c), fmt(e / npy, 2), fmt(e / c if c else None, 2)])
    print(f"float32 GFLOP/s (M x K x N), median of {args.repeat} interleaved runs per library")
    print_table(["shape", "dtype", "threads", "ember", "numpy", "candle-nn", "ember/numpy", "ember/candle"], rows)
    rows = []
    for threads in args.threads:
        for dtype in ("bfloat16", "float16"):
            r = run_workers_interleaved(__file__, ("ember", "torch", "candle"), [dtype, min_time], threads, 1)
            for m, k, n in HALF_SHAPES:
                key = f"{m}x{k}x{n}"
                e, t, c = r["ember"][key], r["torch"][key], r["candle"][key]
                rows.append([key, dtype, threads, fmt(e), fmt(t), fmt(c), fmt(e / t if t else None, 2)])
    print()
    print("16-bit GFLOP/s (ember and candle-nn accumulate in f32)")
    print_table(["shape", "dtype", "threads", "ember", "torch", "candle-nn", "ember/torch"], rows)


if __name__ == "__main__":
    main()
