"""A short tour of ember's tensor API (the README's first command runs it).

Creates tensors, runs elementwise math, reductions and a matmul, shares memory with numpy, and times
a 1024 x 1024 float32 matmul against numpy when numpy is installed.
"""

import time

import ember

ember.manual_seed(0)
x = ember.randn(2, 3)
w = ember.arange(12, dtype=ember.float32).reshape(3, 4) / 10
print("x =", x)
print("x @ w =", x @ w)
print("softmax(x, dim=-1) =", ember.softmax(x, -1))
print("gelu(x).mean(dim=0) =", ember.gelu(x).mean(0))
print("x.T is a view:", x.T.shape, x.T.stride(), "contiguous:", x.T.is_contiguous())

cache = ember.zeros(4, 3, dtype=ember.bfloat16)
cache[1:3] = x  # writes into the view in place, casting to bfloat16
print("bfloat16 cache =", cache)
print("cpu features:", ember.cpu_features()["active"], "threads:", ember.get_num_threads())

try:
    import numpy as np
except ImportError:
    np = None
if np is not None:
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    t = ember.from_numpy(a)  # no copy: t and a share memory
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    for name, fn in (("ember", lambda: t @ t), ("numpy", lambda: a @ a)):
        fn()
        start = time.perf_counter()
        for _ in range(5):
            fn()
        seconds = (time.perf_counter() - start) / 5
        print(f"{name}: 1024x1024 float32 matmul {2 * 1024**3 / seconds / 1e9:.1f} GFLOP/s")
    assert np.allclose((t @ t).numpy(), a @ a, rtol=1e-4, atol=1e-3)
print("ok")
