"""Seeded random shapes and random chains of views (permute, step slices, expand, unsqueeze) for a
representative op of each kernel family, against numpy."""

import numpy as np
import pytest

import ember
from conftest import NP_DTYPE, as_f64, assert_close, assert_equal, round_to, to_ember

SEEDS = list(range(40))
DTYPES = ["float32", "float64", "float16", "bfloat16", "int32", "uint8", "int8", "int64"]


def random_view(rng, dtype):
    """(ember view, numpy view) of a random array after a random chain of view ops."""
    ndim = int(rng.integers(0, 5))
    shape = tuple(int(s) for s in rng.integers(0, 7, ndim))
    if rng.random() < 0.7:
        shape = tuple(max(s, 1) for s in shape)  # mostly non-empty
    if np.issubdtype(NP_DTYPE[dtype], np.floating) or dtype == "bfloat16":
        a = rng.uniform(-3, 3, shape).astype(NP_DTYPE[dtype])
    else:
        a = rng.integers(0 if dtype.startswith("u") else -20, 20, shape).astype(NP_DTYPE[dtype])
    a = np.asarray(a)
    t = to_ember(a, dtype)
    for _ in range(int(rng.integers(1, 5))):
        kind = rng.choice(["permute", "slice", "expand", "unsqueeze"])
        if kind == "permute" and a.ndim >= 2:
            p = [int(i) for i in rng.permutation(a.ndim)]
            a, t = a.transpose(p), t.permute(*p)
        elif kind == "slice" and a.ndim >= 1:
            d = int(rng.integers(0, a.ndim))
            start, step = int(rng.integers(0, 3)), int(rng.integers(1, 4))
            ix = tuple(slice(start, None, step) if i == d else slice(None) for i in range(a.ndim))
            a, t = a[ix], t[ix]
        elif kind == "expand" and a.ndim >= 1:
            ones = [i for i, s in enumerate(a.shape) if s == 1]
            if ones:
                new = list(a.shape)
                new[ones[0]] = int(rng.integers(0, 5))
                a, t = np.broadcast_to(a, new), t.expand(*new)
        elif kind == "unsqueeze":
            d = int(rng.integers(0, a.ndim + 1))
            a, t = np.expand_dims(a, d), t.unsqueeze(d)
    assert t.shape == a.shape
    return t, a


def broadcastable_partner(rng, shape):
    """A random shape that broadcasts with `shape`."""
    k = int(rng.integers(0, len(shape) + 2))
    out = []
    for i in range(k):
        src = len(shape) - k + i
        if src < 0:
            out.append(int(rng.integers(1, 3)))
        else:
            out.append(1 if rng.random() < 0.3 else shape[src])
    return tuple(out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_fuzz_elementwise(seed, dtype):
    rng = np.random.default_rng([seed, DTYPES.index(dtype)])
    t, a = random_view(rng, dtype)
    pshape = broadcastable_partner(rng, a.shape)
    b = rng.integers(1, 4, pshape).astype(NP_DTYPE[dtype]) if pshape else np.asarray(np.array(2).astype(NP_DTYPE[dtype]))
    tb = to_ember(np.asarray(b), dtype)
    is_float = dtype in ("float32", "float64", "float16", "bfloat16")
    if is_float:
        assert_equal(t + tb, round_to(as_f64(a) + as_f64(b), dtype), dtype=dtype)
        assert_equal(t * tb, round_to(as_f64(a) * as_f64(b), dtype), dtype=dtype)
        ex = np.exp(as_f64(a))
        if dtype in ("float32", "float64"):
            assert_close(ember.exp(t), ex, dtype, rtol=2e-6 if dtype == "float32" else 1e-13)
        else:
            assert_close(ember.exp(t), ex, dtype, ulps=1)
    else:
        with np.errstate(all="ignore"):
            assert_equal(t + tb, a + b, dtype=dtype)
            assert_equal(t * tb, a * b, dtype=dtype)
            assert_equal(t // tb, a // b, dtype=dtype)
    assert_equal(t > tb, as_f64(a) > as_f64(b), dtype="bool")
    assert_equal(t.contiguous(), a, dtype=dtype)
    assert_equal(t.clone(), a, dtype=dtype)
    assert_equal(t.reshape(-1), as_f64(a).reshape(-1) if dtype == "bfloat16" else a.reshape(-1), dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "int32", "uint8"])
@pytest.mark.parametrize("seed", SEEDS)
def test_fuzz_reductions(seed, dtype):
    rng = np.random.default_rng([seed, 100 + DTYPES.index(dtype)])
    t, a = random_view(rng, dtype)
    nd = a.ndim
    dims = None
    if nd and rng.random() < 0.8:
        k = int(rng.integers(1, nd + 1))
        dims = tuple(int(d) - (nd if rng.random() < 0.5 else 0) for d in rng.choice(nd, k, replace=False))
    keep = bool(rng.random() < 0.5)
    a64 = as_f64(a)
    axis = None if dims is None else tuple(d % nd for d in dims)
    s = t.sum(dims, keep)
    exp = np.sum(a64, axis=axis, keepdims=keep)
    if dtype in ("int32", "uint8"):
        assert_equal(s, exp.astype(np.int64), dtype="int64")
    else:
        n = max(a.size // max(exp.size, 1), 1)
        bound = (np.log2(n) + 2) * 2.0**-24 * np.sum(np.abs(a64), axis=axis, keepdims=keep)
        assert_close(s, exp, dtype, ulps=1 if dtype == "bfloat16" else 0, atol=bound)
    nonempty = all(a.shape[d] > 0 for d in (range(nd) if axis is None else axis)) and a.size > 0
    if nonempty:
        ar = a64 if dtype == "bfloat16" else a
        assert_equal(ember.amax(t, dims, keep), np.max(ar, axis=axis, keepdims=keep), dtype=dtype)
        assert_equal(ember.amin(t, dims, keep), np.min(ar, axis=axis, keepdims=keep), dtype=dtype)
    if nd and a.size and dims is not None and a.shape[dims[0]] > 0:
        d = dims[0]
        assert_equal(t.argmax(d, keep), np.argmax(a64, axis=d % nd, keepdims=keep), dtype="int64")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("seed", SEEDS[:25])
def test_fuzz_matmul(seed, dtype):
    rng = np.random.default_rng([seed, 200])
    m, k, n = (int(x) for x in rng.integers(0, 40, 3))
    batch_a = tuple(int(x) for x in rng.integers(1, 3, int(rng.integers(0, 3))))
    batch_b = tuple(1 if rng.random() < 0.3 else s for s in batch_a[len(batch_a) - int(rng.integers(0, len(batch_a) + 1)):])
    a = rng.integers(-3, 4, batch_a + (m, k)).astype(NP_DTYPE[dtype])
    b = rng.integers(-3, 4, batch_b + (k, n)).astype(NP_DTYPE[dtype])
    ta, tb = to_ember(np.asarray(a), dtype), to_ember(np.asarray(b), dtype)
    if rng.random() < 0.5:  # give b as a transposed view
        tb = to_ember(np.ascontiguousarray(np.swapaxes(b, -1, -2)), dtype).mT
    exp = np.matmul(as_f64(a), as_f64(b))
    assert_equal(ta @ tb, round_to(exp, dtype), dtype=dtype)
