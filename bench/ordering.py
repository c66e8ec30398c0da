"""sort / argsort / topk / cumsum on a (4096, 4096) float32 matrix: ember vs torch, milliseconds,
each library in its own process pinned to the same thread count (default 2), libraries interleaved.

    python bench/ordering.py            # full table
    python bench/ordering.py --quick    # fewer repetitions
"""

import json

from _common import bench_parser, fmt, median_time, print_table, run_workers_interleaved

N = 4096
CASES = [
    ("sort dim=-1", lambda m, x: m.sort(x, dim=-1)),
    ("sort dim=0", lambda m, x: m.sort(x, dim=0)),
    ("argsort dim=-1 stable", lambda m, x: m.argsort(x, dim=-1, stable=True)),
    ("topk k=8 dim=-1", lambda m, x: m.topk(x, 8, dim=-1)),
    ("topk k=1024 dim=-1", lambda m, x: m.topk(x, 1024, dim=-1)),
    ("cumsum dim=-1", lambda m, x: m.cumsum(x, dim=-1)),
    ("cumsum dim=0", lambda m, x: m.cumsum(x, dim=0)),
]


def worker(lib, min_time):
    import numpy as np

    a = np.random.default_rng(0).standard_normal((N, N), dtype=np.float32)
    if lib == "ember":
        import ember as m

        x = m.from_numpy(a)
    else:
        import os

        import torch as m

        m.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        x = m.from_numpy(a)
    print(json.dumps({name: 1e3 * median_time(lambda: fn(m, x), min_time=min_time) for name, fn in CASES}))


def main():
    parser = bench_parser(("LIB", "MIN_TIME"), threads=(2,))
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], float(args.worker[1]))
        return
    min_time = "0.3" if args.quick else "1.0"
    rows = []
    for threads in args.threads:
        r = run_workers_interleaved(__file__, ("ember", "torch"), [min_time], threads, args.repeat)
        for name, _ in CASES:
            e, t = r["ember"][name], r["torch"][name]
            rows.append([name, threads, fmt(e), fmt(t), fmt(t / e, 2)])
    print(f"({N}, {N}) float32, milliseconds, median of {args.repeat} interleaved runs per library")
    print_table(["op", "threads", "ember ms", "torch ms", "speed vs torch (>1: ember faster)"], rows)


if __name__ == "__main__":
    main()
