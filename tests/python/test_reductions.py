"""Reductions (sum, mean, prod, max/min/amax/amin, argmax/argmin, var/std, logsumexp, all/any) and
softmax / log_softmax against numpy (float64 references from the same inputs)."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from conftest import (
    FLOAT_DTYPES,
    INT_DTYPES,
    NP_DTYPE,
    as_f64,
    assert_close,
    assert_equal,
    edtype,
    make_pair,
    rng_for,
    to_ember,
    to_numpy,
    ulp,
)

# (shape, layout, dims) — dims None = all; ints and tuples, negative dims, 0-size dims, 0-d
REDUCE_CASES = [
    ((), "contig", None),
    ((), "contig", 0),
    ((), "contig", -1),
    ((0,), "contig", None),
    ((0,), "contig", 0),
    ((3, 0, 2), "contig", 1),
    ((3, 0, 2), "contig", (0, 2)),
    ((37,), "contig", 0),
    ((1000,), "contig", None),
    ((7, 13), "contig", 1),
    ((7, 13), "contig", 0),
    ((13, 7), "T", -1),
    ((13, 7), "T", (0, 1)),
    ((5, 9), "step", 0),
    ((4, 5, 6), "perm", (0, 2)),
    ((4, 5, 6), "perm", 1),
    ((4, 1, 6), "expand", (-1, 0)),
    ((3, 5, 7), "expand", 2),
    ((2, 3, 4, 5), "step", (1, 3)),
    ((2, 3, 4, 5), "contig", (3, 0, 1)),
    ((64, 300), "contig", 1),
    ((300, 64), "T", 0),
]


def rcase_id(c):
    shape, layout, dims = c
    return f"{'x'.join(map(str, shape)) or 'scalar'}-{layout}-{str(dims).replace(' ', '')}"


def _np_axis(dims, ndim):
    if dims is None:
        return None
    if ndim == 0:
        return None  # dim 0 / -1 of a 0-d tensor is the tensor itself
    return dims


def _sum_bound(a64, axis, keepdims, acc_dtype):
    """|error| bound for a float sum accumulated in acc_dtype: (log2 n + 2) eps sum|x|."""
    n = a64.size if axis is None else int(np.prod([a64.shape[d] for d in np.atleast_1d(axis)]))
    eps = {"float32": 2.0**-24, "float64": 2.0**-53}[acc_dtype]
    mag = np.sum(np.abs(a64), axis=axis, keepdims=keepdims)
    return (math.log2(max(n, 1)) + 2) * eps * mag


def _acc(dtype):
    return "float64" if dtype == "float64" else "float32"


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("case", REDUCE_CASES, ids=rcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sum_mean_float(dtype, case, keepdim):
    shape, layout, dims = case
    t, a = make_pair(rng_for("sum", dtype, case), shape, dtype, layout, low=-2, high=3)
    a64 = as_f64(a)
    axis = _np_axis(dims, a.ndim)
    exp = np.sum(a64, axis=axis, keepdims=keepdim)
    bound = _sum_bound(a64, axis, keepdim, _acc(dtype))
    s = t.sum(dims, keepdim) if dims is not None else (t.sum(keepdim=keepdim) if keepdim else t.sum())
    ulps = 1 if dtype in ("float16", "bfloat16") else 0
    assert_close(s, exp, dtype, ulps=ulps, atol=bound, what="sum")
    assert_close(ember.sum(t, dim=dims, keepdim=keepdim), exp, dtype, ulps=ulps, atol=bound, what="ember.sum")
    n = a.size if axis is None else int(np.prod([a.shape[d] for d in np.atleast_1d(axis)]))
    with np.errstate(all="ignore"):
        mexp = np.mean(a64, axis=axis, keepdims=keepdim) if n else np.full(np.sum(a64, axis=axis, keepdims=keepdim).shape, np.nan)
    m = t.mean(dims, keepdim)
    assert_close(m, mexp, dtype, ulps=ulps, atol=bound / max(n, 1), what="mean")


@pytest.mark.parametrize("case", REDUCE_CASES[::2], ids=rcase_id)
@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
def test_sum_prod_integers_give_int64(dtype, case):
    shape, layout, dims = case
    t, a = make_pair(rng_for("isum", dtype, case), shape, dtype, layout, low=0 if dtype.startswith("u") else -3, high=4)
    axis = _np_axis(dims, a.ndim)
    exp = np.sum(a.astype(np.int64), axis=axis)
    assert_equal(t.sum(dims), exp, dtype="int64", what="sum")
    small = to_ember(np.clip(a, -2, 2) if dtype != "bool" else a)
    small = small if layout == "contig" else small  # same values; prod must not overflow int64
    exp_p = np.prod(np.clip(a, -2, 2).astype(np.int64) if dtype != "bool" else a.astype(np.int64), axis=axis)
    assert_equal(small.prod(dims), exp_p, dtype="int64", what="prod")
    # mean of integers is computed in float32 (ember's rule)
    m = t.mean(dims)
    assert m.dtype == ember.float32
    with np.errstate(all="ignore"):
        mexp = np.mean(a.astype(np.float64), axis=axis) if a.size else np.full(exp.shape, np.nan)
    assert_close(m, mexp, "float32", rtol=1e-6, atol=1e-6)


def test_sum_dtype_argument():
    x = ember.tensor([100, 100, 100], dtype=ember.uint8)
    assert x.sum().item() == 300 and x.sum().dtype == ember.int64
    assert x.sum(dtype=ember.float32).dtype == ember.float32
    h = ember.full((4096,), 1.0, dtype=ember.float16)
    assert h.sum().item() == 4096.0  # accumulated in float32: the result is exact (f16 accumulation would stop at 2048)
    assert h.sum(dtype=ember.float64).dtype == ember.float64
    b = ember.full((70000,), 1.0, dtype=ember.bfloat16)
    assert b.sum().item() == float(np.float32(70000).astype(NP_DTYPE["bfloat16"]))  # 70000 rounded once to bf16
    assert ember.tensor([1, 2, 3]).mean(dtype=ember.float64).dtype == ember.float64
    assert ember.tensor([1.5, 2.5]).prod(dtype=ember.int64).item() == 2  # cast first, then multiply (1 * 2)


@pytest.mark.parametrize("case", REDUCE_CASES, ids=rcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_prod_float(dtype, case):
    shape, layout, dims = case
    t, a = make_pair(rng_for("prod", dtype, case), shape, dtype, layout, low=0.8, high=1.25)
    a64 = as_f64(a)
    axis = _np_axis(dims, a.ndim)
    exp = np.prod(a64, axis=axis)
    n = a.size if axis is None else int(np.prod([a.shape[d] for d in np.atleast_1d(axis)]))
    eps = 2.0**-24 if dtype != "float64" else 2.0**-53
    assert_close(t.prod(dims), exp, dtype, ulps=1 if dtype in ("float16", "bfloat16") else 0, atol=(n + 1) * eps * np.abs(exp))


MAXMIN_DTYPES = FLOAT_DTYPES + INT_DTYPES + ["bool"]


@pytest.mark.parametrize("case", [c for c in REDUCE_CASES if 0 not in c[0]], ids=rcase_id)
@pytest.mark.parametrize("dtype", MAXMIN_DTYPES)
def test_max_min_amax_amin(dtype, case):
    shape, layout, dims = case
    t, a = make_pair(rng_for("max", dtype, case), shape, dtype, layout)
    axis = _np_axis(dims, a.ndim)
    ar = as_f64(a) if dtype == "bfloat16" else a
    for keepdim in (False, True):
        emax = np.max(ar, axis=axis, keepdims=keepdim)
        emin = np.min(ar, axis=axis, keepdims=keepdim)
        if dims is None and not keepdim:
            assert_equal(t.max(), emax, dtype=dtype)
            assert_equal(ember.min(t), emin, dtype=dtype)
        if dims is not None:
            assert_equal(t.max(dims, keepdim), emax, dtype=dtype, what="max(dim) values")
            assert_equal(ember.min(t, dims, keepdim), emin, dtype=dtype, what="min(dim) values")
        assert_equal(ember.amax(t, dims, keepdim), emax, dtype=dtype, what="amax")
        assert_equal(t.amin(dims, keepdim), emin, dtype=dtype, what="amin")


def test_max_with_tensor_is_maximum():
    a, b = ember.tensor([1.0, 5.0]), ember.tensor([3.0, 2.0])
    assert ember.max(a, b).tolist() == [3.0, 5.0]
    assert a.min(b).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_max_min_propagate_nan(dtype):
    x = ember.tensor([[1.0, float("nan"), 3.0], [4.0, 5.0, 6.0], [float("nan")] * 3], dtype=edtype(dtype))
    nan = float("nan")
    assert_equal(ember.amax(x, 1), np.array([nan, 6.0, nan]))
    assert_equal(ember.amin(x, 1), np.array([nan, 4.0, nan]))
    assert math.isnan(x.max().item()) and math.isnan(x.min().item())
    big = np.zeros(1000, np.float32)
    big[517] = np.nan
    assert math.isnan(ember.tensor(big).to(edtype(dtype)).max().item())
    assert math.isnan(ember.tensor(big).to(edtype(dtype)).sum().item())


def test_max_of_empty_raises():
    with pytest.raises(ValueError, match=r"max.*\(0, 3\)|amax.*\(0, 3\)"):
        ember.zeros(0, 3).amax(0)
    with pytest.raises(ValueError, match="max"):
        ember.zeros(0).max()
    assert ember.zeros(0, 3).amax(1).shape == (0,)


@pytest.mark.parametrize("case", [c for c in REDUCE_CASES if isinstance(c[2], int) and 0 not in c[0]] + [((6, 7), "T", None), ((5,), "step", None), ((2, 3, 4), "perm", None), ((), "contig", None)], ids=rcase_id)
@pytest.mark.parametrize("dtype", MAXMIN_DTYPES)
def test_argmax_argmin(dtype, case):
    shape, layout, dim = case
    rng = rng_for("argmax", dtype, case)
    # few distinct values: many ties, and the first occurrence must win (numpy and torch)
    from conftest import base_shape

    base = rng.integers(0, 3, size=base_shape(shape, layout)).astype(NP_DTYPE[dtype])
    t, a = make_pair(rng, shape, dtype, layout, array=base)
    axis = None if dim is None or a.ndim == 0 else dim
    ar = as_f64(a)
    for keepdim in (False, True):
        got = t.argmax(dim, keepdim) if dim is not None else ember.argmax(t, keepdim=keepdim)
        exp = np.argmax(ar, axis=axis, keepdims=keepdim)
        if dim is None and keepdim:
            exp = exp.reshape((1,) * a.ndim)
        assert_equal(got, exp, dtype="int64", what="argmax")
        got = ember.argmin(t, dim, keepdim)
        exp = np.argmin(ar, axis=axis, keepdims=keepdim)
        if dim is None and keepdim:
            exp = exp.reshape((1,) * a.ndim)
        assert_equal(got, exp, dtype="int64", what="argmin")


def test_argmax_nan_and_errors():
    x = ember.tensor([1.0, float("nan"), 5.0, float("nan")])
    assert x.argmax().item() == 1  # torch and numpy: the first NaN
    assert x.argmin().item() == 1
    with pytest.raises(ValueError, match="argmax"):
        ember.zeros(0).argmax()
    with pytest.raises(ValueError, match="argmin"):
        ember.zeros(2, 0).argmin(1)
    with pytest.raises(IndexError, match="dim"):
        ember.zeros(2, 3).argmax(2)


@pytest.mark.parametrize("case", [c for c in REDUCE_CASES if c[0] != ()], ids=rcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("correction", [1, 0, 2])
def test_var_std(dtype, case, correction):
    shape, layout, dims = case
    t, a = make_pair(rng_for("var", dtype, case), shape, dtype, layout, low=-2, high=3)
    a64 = as_f64(a)
    axis = _np_axis(dims, a.ndim)
    n = a.size if axis is None else int(np.prod([a.shape[d] for d in np.atleast_1d(axis)]))
    with np.errstate(all="ignore"):
        if n - correction > 0:
            ev = np.var(a64, axis=axis, ddof=correction)
        elif n == 0:
            ev = np.full(np.sum(a64, axis=axis).shape, np.nan)
        else:
            # torch divides by max(0, n - correction): inf for a nonzero sum of squares, nan for 0/0
            ss = np.sum((a64 - np.mean(a64, axis=axis, keepdims=True)) ** 2, axis=axis)
            ev = np.where(ss == 0, np.nan, np.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns when n - correction <= 0
        tv = torch.var(torch.from_numpy(a64.copy()), dim=dims, correction=correction)
    scale = max(1.0, float(np.max(np.abs(a64), initial=0)) ** 2)
    np.testing.assert_allclose(tv.numpy(), ev, rtol=1e-12, atol=1e-14 * scale, equal_nan=True)  # numpy agrees with torch
    # (an exactly constant slice has variance 0; numpy's two-pass may leave ~1e-32 there)
    atol = (1e-14 if dtype == "float64" else 1e-6) * scale
    rtol = 1e-12 if dtype == "float64" else 1e-5
    got = t.var(dims, correction=correction)
    if dtype in ("float16", "bfloat16"):
        assert_close(got, ev, dtype, ulps=1, atol=atol)
        assert_close(t.std(dims, correction=correction), np.sqrt(ev), dtype, ulps=1, atol=math.sqrt(atol))
    else:
        assert_close(got, ev, dtype, rtol=rtol, atol=atol)
        assert_close(ember.std(t, dims, correction=correction), np.sqrt(ev), dtype, rtol=rtol, atol=math.sqrt(atol))


def test_var_unbiased_and_keepdim():
    a = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float64)
    t = ember.tensor(a)
    assert_close(t.var(1, unbiased=False), np.var(a, 1), rtol=1e-13)
    assert_close(t.var(1, True), np.var(a, 1, ddof=1), rtol=1e-13)
    assert_close(t.std(0, keepdim=True), np.std(a, 0, ddof=1, keepdims=True), rtol=1e-13)
    assert_close(ember.var(t), np.var(a, ddof=1), rtol=1e-13)
    assert t.var(1, keepdim=True).shape == (4, 1)
    assert_close(t.var((0, 1), correction=0.5), np.sum((a - a.mean()) ** 2) / (a.size - 0.5), rtol=1e-13)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_var_is_stable_with_large_mean(dtype):
    """A one-pass E[x^2]-E[x]^2 loses all digits here; two-pass / Welford does not."""
    rng = np.random.default_rng(7)
    a = (10000.0 + rng.standard_normal(50000)).astype(dtype)
    a64 = a.astype(np.float64)
    exp = np.var(a64, ddof=1)
    assert_close(ember.tensor(a).var(), exp, dtype, rtol=1e-3 if dtype == "float32" else 1e-9)
    m = ember.tensor(a.reshape(50, 1000)).var(1)
    assert_close(m, np.var(a64.reshape(50, 1000), 1, ddof=1), dtype, rtol=1e-3 if dtype == "float32" else 1e-9)


def test_large_sum_accuracy_float32():
    """1e6 float32 values: pairwise/blocked summation keeps ~1e-6 relative accuracy."""
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 1, 1_000_003).astype(np.float32)
    exp = np.sum(a.astype(np.float64))
    got = ember.tensor(a).sum().item()
    assert abs(got - exp) <= 1e-5 * exp, (got, exp)
    got = ember.tensor(a[:1_000_000].reshape(1000, 1000)).T.sum(0).numpy()
    np.testing.assert_allclose(got, a[:1_000_000].reshape(1000, 1000).astype(np.float64).sum(1), rtol=1e-6)


@pytest.mark.parametrize("case", [c for c in REDUCE_CASES if c[2] is not None], ids=rcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logsumexp(dtype, case):
    shape, layout, dims = case
    t, a = make_pair(rng_for("lse", dtype, case), shape, dtype, layout, low=-30, high=30)
    a64 = as_f64(a)
    axis = _np_axis(dims, a.ndim)
    tt = torch.from_numpy(a64.copy())
    exp = torch.logsumexp(tt, dim=dims if a.ndim else 0).numpy() if a.ndim or dims is not None else None
    for keepdim in (False, True):
        got = ember.logsumexp(t, dims, keepdim)
        e = torch.logsumexp(tt, dim=dims, keepdim=keepdim).numpy()
        if dtype in ("float16", "bfloat16"):
            assert_close(got, e, dtype, ulps=1, atol=1e-6 * np.abs(e))
        else:
            assert_close(got, e, dtype, rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-6 if dtype == "float32" else 1e-13)
    assert exp is None or exp.shape == ember.logsumexp(t, dims).shape


def test_logsumexp_is_stable():
    x = ember.tensor([[1000.0, 1000.0], [-1000.0, -1000.0], [float("-inf"), 0.0]])
    assert_close(x.logsumexp(1), np.array([1000 + math.log(2), -1000 + math.log(2), 0.0]), rtol=1e-6)
    assert ember.logsumexp(ember.full((3,), float("-inf")), 0).item() == float("-inf")


@pytest.mark.parametrize("case", REDUCE_CASES[::2], ids=rcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + ["bool"])
def test_all_any(dtype, case):
    shape, layout, dims = case
    rng = rng_for("allany", dtype, case)
    from conftest import base_shape

    base = (rng.random(base_shape(shape, layout)) < 0.85).astype(NP_DTYPE[dtype])
    t, a = make_pair(rng, shape, dtype, layout, array=base)
    axis = _np_axis(dims, a.ndim)
    for keepdim in (False, True):
        assert_equal(t.all(dims, keepdim), np.all(as_f64(a) != 0, axis=axis, keepdims=keepdim), dtype="bool")
        assert_equal(ember.any(t, dims, keepdim), np.any(as_f64(a) != 0, axis=axis, keepdims=keepdim), dtype="bool")
    assert ember.tensor([float("nan")]).all().item() is True  # NaN != 0


def test_reduction_dim_errors():
    t = ember.zeros(2, 3)
    for fn in (ember.sum, ember.mean, ember.amax, ember.prod, ember.all, ember.var):
        with pytest.raises(IndexError, match=r"dim|out of range"):
            fn(t, 2)
        with pytest.raises(IndexError, match=r"dim|out of range"):
            fn(t, -3)
    with pytest.raises(ValueError, match="more than once"):
        ember.sum(t, (0, 0))
    with pytest.raises(ValueError, match="more than once"):
        ember.sum(t, (1, -1))
    with pytest.raises(TypeError):
        ember.sum(t, "a")


# ---------------------------------------------------------------------------------------------
# softmax / log_softmax

SOFTMAX_CASES = [
    ((), "contig", 0),
    ((1,), "contig", 0),
    ((0, 5), "contig", 1),
    ((5, 0), "contig", 0),
    ((7,), "contig", -1),
    ((4, 33), "contig", -1),
    ((4, 33), "contig", 0),
    ((33, 4), "T", 1),
    ((5, 9), "step", 1),
    ((3, 4, 5), "perm", 1),
    ((3, 4, 5), "expand", 2),
    ((2, 3, 257), "contig", -1),
    ((8, 1024), "contig", -1),
]


@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=rcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_log_softmax(dtype, case):
    shape, layout, dim = case
    t, a = make_pair(rng_for("softmax", dtype, case), shape, dtype, layout, low=-8, high=8)
    tt = torch.from_numpy(as_f64(a).copy())
    d = dim if a.ndim else 0
    es = torch.softmax(tt, d).numpy()
    el = torch.log_softmax(tt, d).numpy()
    s = ember.softmax(t, dim)
    ls = t.log_softmax(dim)
    if dtype in ("float16", "bfloat16"):
        assert_close(s, es, dtype, ulps=1, atol=1e-7)
        assert_close(ls, el, dtype, ulps=1, atol=1e-6)
    elif dtype == "float32":
        assert_close(s, es, dtype, rtol=2e-6, atol=1e-9)
        assert_close(ls, el, dtype, rtol=2e-6, atol=2e-6)
    else:
        assert_close(s, es, dtype, rtol=1e-13, atol=1e-17)
        assert_close(ls, el, dtype, rtol=1e-13, atol=1e-14)
    if s.numel():
        assert_close(s.sum(dim), np.ones(np.sum(es, d).shape), dtype, ulps=2 if dtype in ("float16", "bfloat16") else None,
                     rtol=4e-6 if dtype == "float32" else 1e-13)


def test_softmax_stability_and_masking():
    x = ember.tensor([[1000.0, 1001.0, 1002.0], [-1e30, 0.0, float("-inf")], [float("-inf")] * 3])
    s = ember.softmax(x, -1)
    e = torch.softmax(torch.tensor(x.numpy(), dtype=torch.float64), -1).numpy()
    assert_close(s, e, rtol=2e-6, atol=1e-9)  # row 3 is all -inf: NaN, as in torch
    ls = ember.log_softmax(x[:2], -1)
    assert_close(ls, torch.log_softmax(torch.tensor(x[:2].numpy(), dtype=torch.float64), -1).numpy(), rtol=2e-6)


def test_softmax_int_input_and_dtype_arg():
    x = ember.tensor([[1, 2, 3]])
    s = ember.softmax(x, 1)
    assert s.dtype == ember.float32
    assert_close(s, torch.softmax(torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64), 1).numpy())
    h = ember.tensor([[1.0, 2.0]], dtype=ember.float16)
    assert ember.softmax(h, -1, dtype=ember.float32).dtype == ember.float32
    with pytest.raises(IndexError, match="dim|softmax"):
        ember.softmax(x, 2)
