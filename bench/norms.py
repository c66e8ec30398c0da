"""Fused normalisation / activation / rotary-embedding ops: ember vs torch (CPU), milliseconds per call,
each library in its own process pinned to 1 and then 2 threads, float32 and bfloat16.

Every op sees 4096 x 4096 elements:
    rms_norm, layer_norm, softmax     x: (4096, 4096), over the last dim (weight / bias: (4096,))
    swiglu                            gate, up: (4096, 4096); torch: F.silu(gate) * up
    rope                              x: (1, 32, 4096, 128) (batch, heads, seq, head_dim), cos/sin for
                                      positions 0..4095; torch: transformers' x * cos + rotate_half(x) * sin
                                      with (4096, 128) tables (torch has no fused rope)
    rope_interleaved                  same shape, GPT-J pairs; torch: the stack/flatten form GPT-J uses

    python bench/norms.py            # full table
    python bench/norms.py --quick    # fewer repetitions
"""

import json

from _common import bench_parser, fmt, median_time, print_table, run_workers_interleaved

OPS = ["rms_norm", "layer_norm", "softmax", "swiglu", "rope", "rope_interleaved"]
N = 4096
ROPE_SHAPE = (1, 32, 4096, 128)


def rope_tables(seq, head_dim):
    import numpy as np

    inv_freq = 10000.0 ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.arange(seq, dtype=np.float64)[:, None] * inv_freq[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def ember_ops(dtype, x, g, w, b, xr, c, s):
    import ember
    import ember.nn.functional as F

    dt = getattr(ember, dtype)
    tx, tg = ember.from_numpy(x).to(dt), ember.from_numpy(g).to(dt)
    tw, tb = ember.from_numpy(w).to(dt), ember.from_numpy(b).to(dt)
    txr = ember.from_numpy(xr).to(dt)
    tc, ts = ember.from_numpy(c).to(dt), ember.from_numpy(s).to(dt)
    return {
        "rms_norm": lambda: F.rms_norm(tx, (N,), tw, eps=1e-6),
        "layer_norm": lambda: F.layer_norm(tx, (N,), tw, tb),
        "softmax": lambda: F.softmax(tx, dim=-1),
        "swiglu": lambda: F.swiglu(tg, tx),
        "rope": lambda: F.rope(txr, tc, ts),
        "rope_interleaved": lambda: F.rope_interleaved(txr, tc, ts),
    }


def torch_ops(dtype, x, g, w, b, xr, c, s):
    import os

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    dt = getattr(torch, dtype)
    tx, tg = torch.from_numpy(x).to(dt), torch.from_numpy(g).to(dt)
    tw, tb = torch.from_numpy(w).to(dt), torch.from_numpy(b).to(dt)
    txr = torch.from_numpy(xr).to(dt)
    cos = torch.from_numpy(c).to(dt).repeat(1, 2)  # (seq, head_dim), as transformers builds it
    sin = torch.from_numpy(s).to(dt).repeat(1, 2)
    cos_j = torch.from_numpy(c).to(dt).repeat_interleave(2, -1)
    sin_j = torch.from_numpy(s).to(dt).repeat_interleave(2, -1)

    def rotate_half(v):
        h = v.shape[-1] // 2
        return torch.cat((-v[..., h:], v[..., :h]), dim=-1)

    def rotate_every_two(v):
        return torch.stack((-v[..., 1::2], v[..., ::2]), dim=-1).flatten(-2)

    return {
        "rms_norm": lambda: F.rms_norm(tx, (N,), tw, eps=1e-6),
        "layer_norm": lambda: F.layer_norm(tx, (N,), tw, tb),
        "softmax": lambda: F.softmax(tx, dim=-1),
        "swiglu": lambda: F.silu(tg) * tx,
        "rope": lambda: txr * cos + rotate_half(txr) * sin,
        "rope_interleaved": lambda: txr * cos_j + rotate_every_two(txr) * sin_j,
    }


def worker(lib, dtype, min_time):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, N), dtype=np.float32)
    g = rng.standard_normal((N, N), dtype=np.float32)
    w = rng.standard_normal(N, dtype=np.float32)
    b = rng.standard_normal(N, dtype=np.float32)
    xr = x.reshape(ROPE_SHAPE)
    c, s = rope_tables(ROPE_SHAPE[2], ROPE_SHAPE[3])
    ops = (ember_ops if lib == "ember" else torch_ops)(dtype, x, g, w, b, xr, c, s)
    print(json.dumps({name: 1e3 * median_time(ops[name], min_time=min_time) for name in OPS}))


def main():
    parser = bench_parser(("LIB", "DTYPE", "MIN_TIME"), threads=(1, 2))
    parser.add_argument("--dtypes", nargs="*", default=["float32", "bfloat16"])
    args = parser.parse_args()
    if args.worker:
        lib, dtype, min_time = args.worker
        worker(lib, dtype, float(min_time))
        return
    min_time = "0.3" if args.quick else "1.0"
    rows = []
    for threads in args.threads:
        for dtype in args.dtypes:
            r = run_workers_interleaved(__file__, ("ember", "torch"), [dtype, min_time], threads, args.repeat)
            for op in OPS:
                e, t = r["ember"][op], r["torch"][op]
                rows.append([op, dtype, threads, fmt(e, 2), fmt(t, 2), fmt(t / e, 2)])
    print(f"ms per call on 4096 x 4096 elements (rope: {ROPE_SHAPE}), median of {args.repeat} interleaved runs per library")
    print_table(["op", "dtype", "threads", "ember ms", "torch ms", "speedup (torch/ember)"], rows)


if __name__ == "__main__":
    main()
