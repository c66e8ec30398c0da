"""Scaled dot-product attention: ember vs torch (CPU), each library in its own process pinned to
1 and then 2 threads, median times in milliseconds.

    prefill: batch 1, 32 heads x head_dim 64, seq 512 and 2048, causal (q_len == kv_len, so torch's
             is_causal=True is the same mask as ember's bottom-right one)
    decode:  batch 1, one query against 4096 keys, 32 query heads / 8 kv heads (GQA), head_dim 64,
             no mask (torch: enable_gqa=True)

    python bench/attention.py            # full table
    python bench/attention.py --quick    # fewer repetitions
"""

import json
import os
import sys

from _common import bench_parser, fmt, median_time, print_table, run_workers_interleaved

HEAD_DIM = 64
CASES = [
    # name, heads, kv_heads, q_len, kv_len, causal
    ("prefill 512", 32, 32, 512, 512, True),
    ("prefill 2048", 32, 32, 2048, 2048, True),
    ("decode 1x4096 gqa 32/8", 32, 8, 1, 4096, False),
]
DTYPES = ["float32", "bfloat16"]


def worker(lib, min_time):
    import numpy as np

    rng = np.random.default_rng(0)
    results = {}
    if lib == "torch":
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    else:
        import ember
        import ember.nn.functional as F
    for name, heads, kv_heads, q_len, kv_len, causal in CASES:
        q = rng.standard_normal((1, heads, q_len, HEAD_DIM), dtype=np.float32)
        k = rng.standard_normal((1, kv_heads, kv_len, HEAD_DIM), dtype=np.float32)
        v = rng.standard_normal((1, kv_heads, kv_len, HEAD_DIM), dtype=np.float32)
        for dtype in DTYPES:
            key = f"{name} {dtype}"
            if lib == "torch":
                tq, tk, tv = (torch.from_numpy(x).to(getattr(torch, dtype)) for x in (q, k, v))
                fn = lambda: torch.nn.functional.scaled_dot_product_attention(  # noqa: E731
                    tq, tk, tv, is_causal=causal, enable_gqa=heads != kv_heads
                )
            else:
                eq, ek, ev = (ember.from_numpy(x).to(dtype) for x in (q, k, v))
                fn = lambda: F.scaled_dot_product_attention(eq, ek, ev, is_causal=causal)  # noqa: E731
            try:
                results[key] = median_time(fn, min_time=min_time) * 1e3
            except Exception as e:  # reported as missing
                results[key] = None
                sys.stderr.write(f"{lib} {key}: {str(e).splitlines()[0][:120]}\n")
    print(json.dumps(results))


def main():
    parser = bench_parser(("LIB", "MIN_TIME"), threads=(1, 2))
    args = parser.parse_args()
    if args.worker:
        lib, min_time = args.worker
        worker(lib, float(min_time))
        return
    min_time = "0.2" if args.quick else "0.5"
    rows = []
    for threads in args.threads:
        r = run_workers_interleaved(__file__, ("ember", "torch"), [min_time], threads, args.repeat)
        for name, *_ in CASES:
            for dtype in DTYPES:
                key = f"{name} {dtype}"
                e, t = r["ember"][key], r["torch"][key]
                rows.append([name, dtype, threads, fmt(e, 2), fmt(t, 2), fmt(t / e if e and t else None, 2)])
    print(f"scaled_dot_product_attention, head_dim {HEAD_DIM}, batch 1: median ms of {args.repeat} interleaved runs")
    print_table(["case", "dtype", "threads", "ember ms", "torch ms", "speedup (torch/ember)"], rows)


if __name__ == "__main__":
    main()
