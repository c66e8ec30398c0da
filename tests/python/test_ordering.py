"""Ordering and index-movement ops against torch (CPU) on the same inputs.

sort / argsort / topk / cumsum / cumprod / scatter / scatter_add / index_add / index_copy / flip /
roll / repeat / repeat_interleave / nonzero(as_tuple) / unique / one_hot / embedding: every dtype,
contiguous and strided inputs (transposed, step-sliced, permuted, expanded), every dim, ties, NaN,
duplicates, and bad arguments.
"""

import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from conftest import (
    ALL_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    NP_DTYPE,
    as_f64,
    assert_close,
    assert_equal,
    edtype,
    is_float,
    make_pair,
    rng_for,
    to_ember,
    to_numpy,
    torch_dtype,
)

# ---------------------------------------------------------------------------------------------
# helpers


def to_torch(a, dtype):
    """torch tensor with a's values; uint32 goes through int64 (torch's uint32 support is partial)."""
    a = np.array(a, order="C")  # (np.ascontiguousarray would turn a 0-d array into 1-d)
    if dtype == "bfloat16":
        return torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    if dtype == "uint32":
        return torch.from_numpy(a.astype(np.int64))
    return torch.from_numpy(a.copy())


def from_torch(t, dtype):
    """numpy array of a torch result, in the numpy dtype of `dtype`."""
    if t.dtype == torch.bfloat16:
        return t.float().numpy().astype(NP_DTYPE["bfloat16"])
    return t.numpy().astype(NP_DTYPE[dtype])


def tie_values(rng, shape, dtype):
    """Values drawn from a few distinct ones: many ties, and NaN / inf / -0.0 for floats."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if is_float(dtype):
        pool = np.array([-1.5, -0.0, 0.0, 1.0, 2.5, np.inf, -np.inf, np.nan, 3.0, -2.0])
        return rng.choice(pool, size=shape).astype(NP_DTYPE[dtype])
    lo = -3 if dtype in ("int8", "int32", "int64") else 0
    return rng.integers(lo, 4, size=shape).astype(NP_DTYPE[dtype])


def distinct_values(rng, shape, dtype):
    """Random values over a wide range (few ties)."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if is_float(dtype):
        return rng.uniform(-100, 100, size=shape).astype(NP_DTYPE[dtype])
    info = np.iinfo(NP_DTYPE[dtype])
    return rng.integers(max(info.min, -(2**40)), min(info.max, 2**40), size=shape, endpoint=True).astype(NP_DTYPE[dtype])


def base_for(shape, layout):
    from conftest import base_shape

    return base_shape(shape, layout)


def pair_from(rng, shape, dtype, layout, values_fn):
    return make_pair(rng, shape, dtype, layout, array=values_fn(rng, base_for(shape, layout), dtype))


# (shape, layout): empty, 1, primes, long rows for the radix path, and every kind of view.
SORT_CASES = [
    ((0,), "contig"),
    ((1,), "contig"),
    ((7,), "contig"),
    ((3, 0), "contig"),
    ((5, 13), "contig"),
    ((13, 5), "T"),
    ((2, 3, 17), "step"),
    ((3, 4, 5), "perm"),
    ((4, 1, 6), "expand"),
    ((3, 257), "contig"),
    ((601, 2), "T"),
    ((2, 1031), "step"),
]


def case_id(case):
    shape, layout = case
    return f"{'x'.join(map(str, shape)) or 'scalar'}-{layout}"


# ---------------------------------------------------------------------------------------------
# sort / argsort


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("case", SORT_CASES, ids=case_id)
@pytest.mark.parametrize("values", ["ties", "distinct"])
def test_sort_matches_torch_stable(dtype, case, values):
    shape, layout = case
    rng = rng_for("sort", dtype, case, values)
    t, a = pair_from(rng, shape, dtype, layout, tie_values if values == "ties" else distinct_values)
    ref_in = to_torch(a, dtype)
    for dim in range(-len(shape), len(shape)):
        for descending in (False, True):
            v, i = ember.sort(t, dim=dim, descending=descending)
            rv, ri = torch.sort(ref_in, dim=dim, descending=descending, stable=True)
            what = f"sort dim={dim} descending={descending}"
            assert_equal(v, from_torch(rv, dtype), dtype=dtype, what=what + " values")
            assert_equal(i, ri.numpy(), dtype="int64", what=what + " indices")
            assert_equal(t.argsort(dim, descending), ri.numpy(), what=what + " argsort")


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "int64", "uint8"])
def test_sort_long_row_radix(dtype):
    rng = rng_for("sort-long", dtype)
    for n in (255, 256, 4099, 70001):
        a = tie_values(rng, (n,), dtype) if n % 2 else distinct_values(rng, (n,), dtype)
        t = to_ember(a, dtype)
        for descending in (False, True):
            v, i = t.sort(descending=descending)
            rv, ri = torch.sort(to_torch(a, dtype), descending=descending, stable=True)
            assert_equal(v, from_torch(rv, dtype), what=f"n={n}")
            assert_equal(i, ri.numpy(), what=f"n={n} indices")


def test_sort_result_fields_and_scalar():
    t = ember.tensor([3.0, 1.0, 2.0])
    r = t.sort()
    assert_equal(r.values, np.array([1.0, 2.0, 3.0], np.float32))
    assert_equal(r.indices, np.array([1, 2, 0]))
    v, i = ember.sort(ember.tensor(5.0), stable=True)
    assert v.shape == () and i.shape == () and i.item() == 0 and v.item() == 5.0
    assert ember.argsort(ember.tensor([2, 1]), stable=True).tolist() == [1, 0]


def test_sort_nan_ordering_and_negative_zero():
    a = np.array([np.nan, 1.0, -0.0, 0.0, -np.inf, np.nan, np.inf, -1.0], np.float32)
    t = ember.tensor(a)
    for descending in (False, True):
        v, i = t.sort(descending=descending)
        rv, ri = torch.sort(torch.from_numpy(a), descending=descending, stable=True)
        assert_equal(v, rv.numpy())
        assert_equal(i, ri.numpy())
        # -0.0 keeps its sign (values are gathered, not rebuilt from keys)
        assert np.array_equal(np.signbit(to_numpy(v)), np.signbit(rv.numpy()))


def test_sort_threads_agree(threads):
    rng = rng_for("sort-threads")
    a = rng.integers(0, 50, size=(64, 3001)).astype(np.float32)
    t = ember.tensor(a)
    ember.set_num_threads(1)
    one = t.sort(dim=1)
    ember.set_num_threads(2)
    two = t.sort(dim=1)
    assert_equal(one.indices, to_numpy(two.indices))
    assert_equal(one.values, to_numpy(two.values))


def test_sort_bad_dim():
    with pytest.raises(IndexError, match="sort"):
        ember.sort(ember.zeros(2, 3), dim=2)
    with pytest.raises(IndexError, match="sort"):
        ember.zeros(2, 3).argsort(dim=-3)


# ---------------------------------------------------------------------------------------------
# topk


def check_topk(t, a, dtype, k, dim, largest, sorted_):
    v, i = ember.topk(t, k, dim=dim, largest=largest, sorted=sorted_)
    ref = to_torch(a, dtype)
    rv, _ = torch.topk(ref.float() if dtype == "bool" else ref, k, dim=dim, largest=largest, sorted=True)
    what = f"topk k={k} dim={dim} largest={largest} sorted={sorted_}"
    exp = from_torch(rv, dtype) if dtype != "bool" else rv.numpy().astype(bool)
    got_v = to_numpy(v)
    if not sorted_:  # any order: compare each row's multiset
        order = -1 if largest else 1
        got_v = np.take_along_axis(got_v, np.argsort(order * as_f64(got_v), axis=dim, kind="stable"), axis=dim)
        exp = np.take_along_axis(exp, np.argsort(order * as_f64(exp), axis=dim, kind="stable"), axis=dim)
        exp64, got64 = as_f64(exp), as_f64(got_v)
        assert np.array_equal(np.isnan(exp64), np.isnan(got64)), what
        assert np.array_equal(np.nan_to_num(np.sort(exp64, axis=dim)), np.nan_to_num(np.sort(got64, axis=dim))), what
    else:
        assert_equal(v, exp, dtype=dtype, what=what + " values")
    # indices point at the returned values, each once per row
    idx = to_numpy(i)
    assert i.dtype == ember.int64
    picked = np.take_along_axis(np.asarray(a), idx, axis=dim)
    assert np.array_equal(as_f64(picked), as_f64(to_numpy(v)), equal_nan=True), what + " indices"
    srt = np.sort(idx, axis=dim)
    assert not np.any(np.diff(srt, axis=dim) == 0), what + " repeated index"


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("case", SORT_CASES, ids=case_id)
def test_topk_matches_torch(dtype, case):
    shape, layout = case
    rng = rng_for("topk", dtype, case)
    t, a = pair_from(rng, shape, dtype, layout, tie_values)
    for dim in range(-len(shape), len(shape)):
        n = shape[dim]
        for k in sorted({0, min(1, n), n // 3, n}):
            for largest in (True, False):
                for sorted_ in (True, False):
                    check_topk(t, a, dtype, k, dim, largest, sorted_)


def test_topk_nan_first_when_largest():
    a = np.array([1.0, np.nan, 3.0, np.nan, 2.0], np.float32)
    v, i = ember.tensor(a).topk(3)
    assert_equal(v, np.array([np.nan, np.nan, 3.0], np.float32))
    v, i = ember.tensor(a).topk(2, largest=False)
    assert_equal(v, np.array([1.0, 2.0], np.float32))
    assert i.tolist() == [0, 4]


def test_topk_bad_k():
    with pytest.raises(ValueError, match=r"topk.*k = 4.*size 3"):
        ember.zeros(2, 3).topk(4)
    with pytest.raises(ValueError, match="topk"):
        ember.zeros(2, 3).topk(-1)
    with pytest.raises(IndexError, match="topk"):
        ember.zeros(2, 3).topk(1, dim=2)


# ---------------------------------------------------------------------------------------------
# cumsum / cumprod

CUM_CASES = [
    ((), "contig"),
    ((0,), "contig"),
    ((1,), "contig"),
    ((37,), "contig"),
    ((7, 13), "contig"),
    ((13, 7), "T"),
    ((5, 9), "step"),
    ((3, 4, 5), "perm"),
    ((4, 1, 6), "expand"),
    ((3, 0, 2), "contig"),
    ((70, 131), "contig"),
]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("case", CUM_CASES, ids=case_id)
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumulative(dtype, case, op):
    shape, layout = case
    rng = rng_for(op, dtype, case)
    if op == "cumprod" and is_float(dtype):
        t, a = make_pair(rng, shape, dtype, layout, low=0.6, high=1.5)
    elif op == "cumprod" and dtype != "bool":
        t, a = make_pair(rng, shape, dtype, layout, low=0 if dtype.startswith("u") else -2, high=3)
    else:
        t, a = make_pair(rng, shape, dtype, layout)
    for dim in range(-max(len(shape), 1), max(len(shape), 1)):
        got = getattr(ember, op)(t, dim) if dim % 2 else getattr(t, op)(dim)
        if is_float(dtype):
            ref = getattr(np, op)(as_f64(a), axis=dim if len(shape) else None).reshape(shape)
            kw = {"atol": 1e-4} if dtype in ("float16", "bfloat16") else {"atol": 1e-6 if dtype == "float32" else 1e-12}
            if op == "cumprod" and dtype in ("float16", "bfloat16"):
                kw["ulps"] = 2  # each step rounds to the dtype, as torch's does
                assert_close(got, ref, dtype=dtype, what=f"{op} dim={dim}", **kw)
                ref_t = getattr(torch, op)(to_torch(a, dtype), dim)
                assert_close(got, from_torch(ref_t, dtype).astype(np.float64), dtype=dtype, ulps=0)
            else:
                assert_close(got, ref, dtype=dtype, what=f"{op} dim={dim}", **kw)
        else:
            ref = getattr(np, op)(a.astype(np.int64), axis=dim if len(shape) else None).reshape(shape)
            assert_equal(got, ref, dtype="int64", what=f"{op} dim={dim}")


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype_arg", ["int8", "int32", "float64", "float16", "uint8"])
def test_cumulative_dtype_argument(op, dtype_arg):
    rng = rng_for(op, "dtype-arg", dtype_arg)
    a = rng.integers(-100, 100, size=(6, 50)).astype(np.int32)
    got = getattr(ember.tensor(a), op)(1, dtype=edtype(dtype_arg))
    ref = getattr(torch, op)(torch.from_numpy(a), 1, dtype=torch_dtype(dtype_arg))
    assert got.dtype == edtype(dtype_arg)
    if dtype_arg in ("float16", "float64"):
        assert_close(got, ref.double().numpy(), ulps=0 if dtype_arg == "float16" else None)
    else:
        assert_equal(got, ref.numpy(), what=f"{op} wrap in {dtype_arg}")


def test_cumsum_float32_accumulates_precisely():
    # 1e6 ones plus a large offset: float32 accumulation would drift; torch accumulates in double.
    a = np.full(100_000, 0.1, np.float32)
    got = ember.tensor(a).cumsum(0)
    ref = torch.from_numpy(a).cumsum(0)
    assert_equal(got, ref.numpy())


def test_cumsum_bool_and_errors():
    assert ember.tensor([True, False, True]).cumsum(0).tolist() == [1, 1, 2]
    assert ember.tensor([True, False, True]).cumsum(0).dtype == ember.int64
    with pytest.raises(IndexError, match="cumsum"):
        ember.zeros(2, 3).cumsum(2)
    with pytest.raises(IndexError, match="cumprod"):
        ember.cumprod(ember.zeros(2), -2)


# ---------------------------------------------------------------------------------------------
# scatter / scatter_add


def unique_index(rng, index_shape, dim, size):
    """An index with distinct entries along dim (each row a prefix of a permutation of range(size))."""
    n = index_shape[dim]
    assert n <= size
    if 0 in index_shape:
        return np.zeros(index_shape, np.int64)
    moved = list(index_shape)
    moved[dim], moved[-1] = moved[-1], moved[dim]
    rows = int(np.prod(moved[:-1])) if len(moved) > 1 else 1
    perm = np.stack([rng.permutation(size)[:n] for _ in range(rows)]).reshape(moved)
    return np.swapaxes(perm, dim, -1).copy()


def scatter_ref(x, dim, index, src, reduce, dtype):
    if dtype == "bool" and reduce == "add":
        # torch refuses bool sums; ember's is a logical or: the int64 sum is nonzero
        as_i64 = (lambda a: a if np.isscalar(a) else np.asarray(a).astype(np.int64))
        return scatter_ref(as_i64(x), dim, index, int(src) if np.isscalar(src) else as_i64(src), reduce, "int64") != 0
    if dtype in ("float16", "bfloat16") and reduce is not None:
        # each duplicate rounds to the dtype in some order: compare with the exact float64 result
        return scatter_ref(as_f64(x), dim, index, src if np.isscalar(src) else as_f64(src), reduce, "float64")
    tx, ti = to_torch(x, dtype), torch.from_numpy(index)
    if np.isscalar(src):
        r = tx.scatter(dim, ti, src) if reduce is None else tx.scatter(dim, ti, src, reduce=reduce)
    else:
        ts = to_torch(src, dtype)
        r = tx.scatter(dim, ti, ts) if reduce is None else tx.scatter(dim, ti, ts, reduce=reduce)
    out = from_torch(r, dtype)
    if dtype == "uint32":
        out = r.numpy().astype(np.uint64).astype(np.uint32)  # wrap like uint32 arithmetic
    return out


SCATTER_CASES = [  # (input shape, index shape, src shape)
    ((5,), (3,), (4,)),
    ((1,), (1,), (1,)),
    ((4, 6), (3, 6), (3, 7)),
    ((7, 5), (7, 2), (8, 3)),
    ((3, 4, 5), (2, 4, 3), (3, 4, 5)),
    ((4, 3), (0, 3), (1, 3)),
]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shapes", SCATTER_CASES, ids=str)
@pytest.mark.parametrize("reduce", [None, "add", "multiply"])
def test_scatter_matches_torch(dtype, shapes, reduce):
    xs, is_, ss = shapes
    rng = rng_for("scatter", dtype, shapes, reduce)
    for dim in range(-len(xs), len(xs)):
        d = dim % len(xs)
        size = xs[d]
        ishape = list(is_)
        ishape[d] = min(ishape[d], size) if reduce is None else ishape[d]
        if reduce is None:
            index = unique_index(rng, ishape, d, size)  # distinct targets: the result is order-free
        else:
            index = rng.integers(-size, size, size=ishape)  # duplicates and negative indices
            if reduce is not None and not np.all(index >= 0):
                index = np.where(index < 0, index + size, index)  # torch rejects negatives
        x = distinct_values(rng, xs, dtype) if dtype != "bool" else rng.random(xs) < 0.5
        if is_float(dtype):
            x = rng.uniform(-4, 4, size=xs).astype(NP_DTYPE[dtype])
        if reduce == "multiply" and is_float(dtype):
            src = rng.uniform(0.5, 1.5, size=ss).astype(NP_DTYPE[dtype])
        else:
            src = tie_values(rng, ss, dtype) if not is_float(dtype) else rng.uniform(-4, 4, ss).astype(NP_DTYPE[dtype])
        # ember side: x transposed twice (a strided view), src sliced
        t = to_ember(x, dtype)
        si = to_ember(src, dtype)
        with warnings.catch_warnings():  # torch deprecates scatter(reduce=...) in favour of scatter_reduce
            warnings.simplefilter("ignore", UserWarning)
            ref = scatter_ref(x, d, index, src, reduce, dtype)
        got = t.scatter(dim, ember.tensor(index), si, reduce=reduce)
        if is_float(dtype) and reduce is not None:
            assert_close(got, as_f64(ref), dtype=dtype, **half_sum_tolerance(dtype))
        else:
            assert_equal(got, ref, dtype=dtype, what=f"scatter dim={dim} reduce={reduce}")
        # scalar value
        value = 2 if not is_float(dtype) else 1.5
        if dtype == "bool":
            value = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ref = scatter_ref(x, d, index, value, reduce, dtype)
        got = ember.scatter(t, dim, ember.tensor(index), value=value, reduce=reduce)
        if is_float(dtype) and reduce is not None:
            assert_close(got, as_f64(ref), dtype=dtype, **half_sum_tolerance(dtype))
        else:
            assert_equal(got, ref, dtype=dtype, what=f"scatter value dim={dim} reduce={reduce}")


def half_sum_tolerance(dtype):
    """Sums of a few duplicates of values in [-4, 4), each step rounded to the dtype in any order."""
    if dtype == "float16":
        return {"ulps": 2, "atol": 4 * 2.0**-7}
    if dtype == "bfloat16":
        return {"ulps": 2, "atol": 4 * 2.0**-4}
    return {"rtol": 1e-5, "atol": 1e-5}


def test_scatter_noncontiguous_and_in_place():
    rng = rng_for("scatter-nc")
    base = rng.uniform(-1, 1, size=(6, 8)).astype(np.float32)
    x = ember.tensor(base)
    view = x.T[1::2]  # (4, 6), strided
    index = unique_index(rng, (4, 3), 1, 6)
    src = rng.uniform(-1, 1, size=(3, 4)).astype(np.float32)
    srcv = ember.tensor(src).T  # (4, 3), transposed
    ref_base = torch.from_numpy(base.copy())
    ref_base.T[1::2].scatter_(1, torch.from_numpy(index), torch.from_numpy(src).T)
    r = view.scatter_(1, ember.tensor(index), srcv)
    assert r is view or r.shape == view.shape
    assert_equal(x, ref_base.numpy())
    # index itself strided
    idx_big = np.stack([index, index], axis=-1)
    got = view.scatter(1, ember.tensor(idx_big)[..., 0], srcv)
    assert_equal(got, ref_base.T[1::2].numpy())


def test_inputs_aliasing_the_target():
    # src / source / index that are views of the target are read before anything is written
    x = ember.arange(12).reshape(3, 4)
    t = torch.arange(12).reshape(3, 4)
    x.scatter_(1, ember.tensor([[1, 0, 3, 2]] * 3), x)
    t.scatter_(1, torch.tensor([[1, 0, 3, 2]] * 3), t.clone())
    assert_equal(x, t.numpy())
    x.index_add_(0, ember.tensor([2, 1, 0]), x)
    t.index_add_(0, torch.tensor([2, 1, 0]), t.clone())
    assert_equal(x, t.numpy())
    y = ember.tensor([[1, 0, 2], [0, 0, 0]])
    y.scatter_(1, y[0:1], ember.tensor([[7, 8, 9]]))
    assert y.tolist() == [[8, 7, 9], [0, 0, 0]]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_scatter_add_duplicates(dtype):
    rng = rng_for("scatter_add", dtype)
    for dim in (0, 1, -1):
        x = distinct_values(rng, (5, 7), dtype) if dtype != "bool" else rng.random((5, 7)) < 0.5
        if is_float(dtype):
            x = rng.uniform(-4, 4, size=(5, 7)).astype(NP_DTYPE[dtype])
        index = rng.integers(0, x.shape[dim], size=(5, 7)) if dim == 0 else rng.integers(0, 7, size=(5, 9))
        src_shape = index.shape
        src = rng.uniform(-4, 4, src_shape).astype(NP_DTYPE[dtype]) if is_float(dtype) else tie_values(rng, src_shape, dtype)
        tx = to_torch(x, dtype)
        if dtype in ("float16", "bfloat16"):
            tx = torch.from_numpy(as_f64(x))
            ref = tx.scatter_add(dim, torch.from_numpy(index), torch.from_numpy(as_f64(src))).numpy()
        elif dtype == "bool":
            ref = tx.clone().scatter_add_(dim, torch.from_numpy(index), to_torch(src, dtype)).numpy()
        else:
            ref = from_torch(tx.scatter_add(dim, torch.from_numpy(index), to_torch(src, dtype)), dtype)
        if dtype == "uint32":
            ref = tx.scatter_add(dim, torch.from_numpy(index), to_torch(src, dtype)).numpy().astype(np.uint64).astype(np.uint32)
        for got in (ember.scatter_add(to_ember(x, dtype), dim, ember.tensor(index), to_ember(src, dtype)),
                    to_ember(x, dtype).scatter_add_(dim, ember.tensor(index), to_ember(src, dtype))):
            if is_float(dtype):
                assert_close(got, as_f64(ref), dtype=dtype, **half_sum_tolerance(dtype))
            else:
                assert_equal(got, ref, dtype=dtype, what=f"scatter_add dim={dim}")


def test_scatter_errors_and_atomicity():
    x = ember.zeros(3, 4)
    with pytest.raises(IndexError, match=r"scatter: index 4 is out of bounds for dim 1 with size 4"):
        x.scatter(1, ember.tensor([[0, 4]]), ember.ones(1, 2))
    with pytest.raises(IndexError, match=r"scatter_add: index -5"):
        x.scatter_add(1, ember.tensor([[0, -5]]), ember.ones(1, 2))
    # a bad index anywhere leaves an in-place target untouched
    with pytest.raises(IndexError):
        x.scatter_(1, ember.tensor([[0, 1], [2, 9]]), value=7.0)
    assert_equal(x, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"scatter: index of shape \(4, 1\) does not fit the input of shape \(3, 4\)"):
        x.scatter(1, ember.zeros(4, 1, dtype=ember.int64), ember.ones(4, 1))
    with pytest.raises(ValueError, match=r"scatter.*src of shape \(1, 1\)"):
        x.scatter(1, ember.zeros(1, 2, dtype=ember.int64), ember.ones(1, 1))
    with pytest.raises(ValueError, match="scatter: index must have as many dims"):
        x.scatter(1, ember.zeros(2, dtype=ember.int64), ember.ones(2))
    with pytest.raises(TypeError, match="scatter: index must be an int64 or int32"):
        x.scatter(1, ember.zeros(1, 2), ember.ones(1, 2))
    with pytest.raises(IndexError, match="scatter"):
        x.scatter(2, ember.zeros(1, 2, dtype=ember.int64), ember.ones(1, 2))
    with pytest.raises(ValueError, match="reduce"):
        x.scatter(1, ember.zeros(1, 2, dtype=ember.int64), ember.ones(1, 2), reduce="max")
    # int32 indices work too
    got = x.scatter(1, ember.tensor([[3]], dtype=ember.int32), value=1.0)
    assert got.tolist()[0] == [0, 0, 0, 1]


# ---------------------------------------------------------------------------------------------
# index_add / index_copy


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("op", ["index_add", "index_copy"])
def test_index_add_copy(dtype, op):
    rng = rng_for(op, dtype)
    for xs, dim, count, layout in [((6, 5), 0, 9, "contig"), ((6, 5), 1, 4, "T"), ((3, 4, 5), -1, 7, "step"),
                                   ((3, 4, 5), 1, 0, "contig"), ((7,), 0, 7, "contig"), ((2, 3, 4), -3, 3, "perm")]:
        d = dim % len(xs)
        ss = list(xs)
        ss[d] = count
        if op == "index_copy":
            count = min(count, xs[d])
            ss[d] = count
            index = rng.permutation(xs[d])[:count]
        else:
            index = rng.integers(0, xs[d], size=count)  # duplicates
        t, x = make_pair(rng, xs, dtype, layout)
        s, src = make_pair(rng, tuple(ss), dtype, "T" if layout == "T" else "contig")
        tx, ts, ti = to_torch(x, dtype), to_torch(src, dtype), torch.from_numpy(index)
        if dtype in ("float16", "bfloat16") and op == "index_add":  # duplicates round in any order
            tx, ts = torch.from_numpy(as_f64(x)), torch.from_numpy(as_f64(src))
        alpha = 1
        if op == "index_add":
            alpha = 2 if dtype not in ("bool",) else 1
            alpha = 0.5 if is_float(dtype) else alpha
            r = tx.index_add(d, ti, ts, alpha=alpha)
            got = t.index_add(dim, ember.tensor(index), s, alpha=alpha)
        else:
            r = tx.index_copy(d, ti, ts)
            got = ember.index_copy(t, dim, ember.tensor(index), s)
        ref = r.numpy() if r.dtype == torch.float64 else from_torch(r, dtype)
        if dtype == "uint32":
            ref = r.numpy().astype(np.uint64).astype(np.uint32)
        if is_float(dtype) and op == "index_add":
            assert_close(got, as_f64(ref), dtype=dtype, **half_sum_tolerance(dtype))
        else:
            assert_equal(got, ref, dtype=dtype, what=f"{op} {xs} dim={dim}")
        # in place, on a view: the base changes
        t2 = to_ember(np.ascontiguousarray(x), dtype)
        getattr(t2, op + "_")(dim, ember.tensor(index), s, **({"alpha": alpha} if op == "index_add" else {}))
        if is_float(dtype) and op == "index_add":
            assert_close(t2, as_f64(ref), dtype=dtype, **half_sum_tolerance(dtype))
        else:
            assert_equal(t2, ref, dtype=dtype)


def test_index_add_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="index_add: index 3 is out of bounds for dim 0 with size 3"):
        x.index_add(0, ember.tensor([0, 3]), ember.ones(2, 4))
    with pytest.raises(IndexError, match="index_copy: index -4"):
        x.index_copy_(0, ember.tensor([0, -4]), ember.ones(2, 4))
    assert_equal(x, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"index_add: index has 3 entries but source of shape \(2, 4\) has 2"):
        x.index_add(0, ember.tensor([0, 1, 2]), ember.ones(2, 4))
    with pytest.raises(ValueError, match=r"index_copy: source of shape \(2, 5\) does not match the input of shape \(3, 4\)"):
        x.index_copy(0, ember.tensor([0, 1]), ember.ones(2, 5))
    with pytest.raises(ValueError, match="index_add: index must be 1-D"):
        x.index_add(0, ember.tensor([[0, 1]]), ember.ones(2, 4))
    with pytest.raises(TypeError, match="index_add: alpha must be an integer"):
        ember.zeros(3, dtype=ember.int32).index_add(0, ember.tensor([0]), ember.ones(1, dtype=ember.int32), alpha=0.5)
    with pytest.raises(IndexError, match="index_add"):
        x.index_add(2, ember.tensor([0]), ember.ones(3, 1))
    # negative indices wrap, as in torch
    got = x.index_add(1, ember.tensor([-1]), ember.ones(3, 1))
    assert got.tolist()[0] == [0, 0, 0, 1]


# ---------------------------------------------------------------------------------------------
# flip / roll / repeat / repeat_interleave

MOVE_CASES = [((), "contig"), ((0,), "contig"), ((1,), "contig"), ((7,), "contig"), ((5, 3), "T"),
              ((2, 3, 17), "step"), ((3, 4, 5), "perm"), ((4, 1, 6), "expand"), ((3, 0, 2), "contig")]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("case", MOVE_CASES, ids=case_id)
def test_flip_roll_repeat(dtype, case):
    shape, layout = case
    rng = rng_for("move", dtype, case)
    t, a = make_pair(rng, shape, dtype, layout)
    ta = to_torch(a, dtype)
    n = len(shape)
    dim_sets = [(), (0,), (-1,), tuple(range(n))] if n else [()]
    for dims in dim_sets:
        assert_equal(t.flip(dims), from_torch(torch.flip(ta, dims), dtype), what=f"flip {dims}")
    if n:
        assert_equal(ember.flip(t, [-1]), from_torch(torch.flip(ta, [-1]), dtype))
        assert_equal(t.flip(0), from_torch(ta.flip(0), dtype))
    for shifts, dims in [(3, None), (-2, None), (1, 0), (-7, -1), ((2, -1), (0, -1)), ((1, 1), (0, 0))]:
        if n == 0 and dims is not None:
            continue
        if isinstance(dims, tuple) and n < 2 and dims != (0, 0):
            continue
        assert_equal(t.roll(shifts, dims), from_torch(torch.roll(ta, shifts, dims), dtype), what=f"roll {shifts} {dims}")
    for sizes in [tuple([2] * n), tuple([1] * n), (3,) + tuple([1] * n), (2, 1) + tuple([2] * n), tuple([0] * n)]:
        if len(sizes) < n or not sizes:
            continue
        assert_equal(t.repeat(*sizes), from_torch(ta.repeat(*sizes), dtype), what=f"repeat {sizes}")


def test_flip_roll_repeat_results_are_copies():
    x = ember.arange(6).reshape(2, 3)
    for r in (x.flip(()), x.roll(0), x.repeat(1, 1), x.repeat_interleave(1, dim=0)):
        r[0, 0] = 100
        assert x[0, 0].item() == 0


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64", "bool", "uint8"])
def test_repeat_interleave(dtype):
    rng = rng_for("ri", dtype)
    for shape, layout in [((), "contig"), ((5,), "contig"), ((3, 4), "T"), ((2, 3, 5), "step"), ((0, 3), "contig")]:
        t, a = make_pair(rng, shape, dtype, layout)
        ta = to_torch(a, dtype)
        for dim in [None] + list(range(-len(shape), len(shape))):
            for r in (0, 1, 3):
                assert_equal(t.repeat_interleave(r, dim=dim), from_torch(ta.repeat_interleave(r, dim=dim), dtype),
                             what=f"repeat_interleave {r} dim={dim}")
            size = (int(np.prod(shape)) if dim is None else (shape[dim] if shape else 1))
            reps = rng.integers(0, 4, size=size)
            got = ember.repeat_interleave(t, ember.tensor(reps), dim=dim)
            assert_equal(got, from_torch(torch.repeat_interleave(ta, torch.from_numpy(reps), dim=dim), dtype),
                         what=f"repeat_interleave tensor dim={dim}")
            got1 = t.repeat_interleave(ember.tensor([2]), dim=dim)
            assert_equal(got1, from_torch(ta.repeat_interleave(torch.tensor([2]), dim=dim), dtype))
    x = ember.tensor([[1, 2], [3, 4]])
    assert x.repeat_interleave(ember.tensor([1, 2]), dim=0, output_size=3).tolist() == [[1, 2], [3, 4], [3, 4]]
    with pytest.raises(ValueError, match="repeat_interleave: output_size 4"):
        x.repeat_interleave(ember.tensor([1, 2]), dim=0, output_size=4)
    reps = ember.tensor([2, 0, 3], dtype=ember.int32)
    assert ember.repeat_interleave(reps).tolist() == torch.repeat_interleave(torch.tensor([2, 0, 3])).tolist()


def test_move_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(ValueError, match="flip: dim 0 appears more than once"):
        x.flip(0, -2)
    with pytest.raises(IndexError, match="flip"):
        x.flip(2)
    with pytest.raises(ValueError, match="roll: shifts"):
        x.roll((1, 2), 0)
    with pytest.raises(IndexError, match="roll"):
        x.roll(1, 3)
    with pytest.raises(ValueError, match=r"repeat: sizes \(2,\) must have at least as many entries"):
        x.repeat(2)
    with pytest.raises(ValueError, match="repeat: sizes must be non-negative"):
        x.repeat(2, -1)
    with pytest.raises(ValueError, match="repeat_interleave: repeats has 2 entries"):
        x.repeat_interleave(ember.tensor([1, 2]), dim=1)
    with pytest.raises(ValueError, match="repeat_interleave: repeats must be non-negative"):
        x.repeat_interleave(ember.tensor([1, -2, 1]), dim=1)
    with pytest.raises(ValueError, match="repeat_interleave: repeats must be non-negative"):
        x.repeat_interleave(-1)
    with pytest.raises(TypeError, match="repeat_interleave"):
        x.repeat_interleave(ember.tensor([1.0, 2.0, 1.0]), dim=1)


# ---------------------------------------------------------------------------------------------
# nonzero(as_tuple) / unique / one_hot / embedding


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "bfloat16"])
def test_nonzero_as_tuple(dtype):
    rng = rng_for("nz", dtype)
    for shape, layout in [((), "contig"), ((0,), "contig"), ((7,), "contig"), ((4, 5), "T"), ((2, 3, 4), "perm")]:
        t, a = make_pair(rng, shape, dtype, layout, array=tie_values(rng, __import__("conftest").base_shape(shape, layout), dtype))
        got = ember.nonzero(t, as_tuple=True)
        ref = torch.nonzero(to_torch(a, dtype), as_tuple=True)
        assert isinstance(got, tuple) and len(got) == len(ref)
        for g, r in zip(got, ref):
            assert_equal(g, r.numpy())
        assert_equal(t.nonzero(), torch.nonzero(to_torch(a, dtype)).numpy())
    for g, r in zip(ember.tensor(3.0).nonzero(as_tuple=True), torch.tensor(3.0).nonzero(as_tuple=True)):
        assert_equal(g, r.numpy())


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_unique(dtype):
    rng = rng_for("unique", dtype)
    for shape, layout in [((), "contig"), ((0,), "contig"), ((1,), "contig"), ((29,), "contig"), ((6, 7), "T"),
                          ((3, 4, 5), "step"), ((300, 3), "contig")]:
        t, a = make_pair(rng, shape, dtype, layout, array=tie_values(rng, __import__("conftest").base_shape(shape, layout), dtype))
        ta = to_torch(a, dtype)
        values, inverse, counts = ember.unique(t, return_inverse=True, return_counts=True)
        rv, ri, rc = torch.unique(ta, return_inverse=True, return_counts=True)
        assert_equal(values, from_torch(rv, dtype), what="unique values")
        # NaNs are each their own value; torch numbers them in no particular order
        a64 = as_f64(a)
        nan = np.isnan(a64)
        assert_equal(ember.tensor(to_numpy(inverse)[~nan]), ri.numpy()[~nan], what="unique inverse")
        assert sorted(to_numpy(inverse)[nan].tolist()) == sorted(ri.numpy()[nan].tolist())
        assert_equal(counts, rc.numpy(), what="unique counts")
        assert_equal(t.unique(), from_torch(torch.unique(ta), dtype))
        v2, c2 = t.unique(return_counts=True)
        assert_equal(c2, rc.numpy())


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64", "uint8", "bool"])
def test_unique_dim(dtype):
    rng = rng_for("unique-dim", dtype)
    for shape, layout in [((1,), "contig"), ((9,), "contig"), ((6, 3), "contig"), ((3, 7), "T"), ((4, 3, 5), "step"),
                          ((2, 5, 3), "perm"), ((0, 3), "contig")]:
        base = __import__("conftest").base_shape(shape, layout)
        arr = rng.integers(0, 2, size=base).astype(NP_DTYPE[dtype]) if dtype != "bool" else rng.random(base) < 0.5
        t, a = make_pair(rng, shape, dtype, layout, array=arr)
        ta = to_torch(a, dtype)
        for dim in range(-len(shape), len(shape)):
            if shape[dim] == 0 or 0 in shape:
                continue
            values, inverse, counts = ember.unique(t, dim=dim, return_inverse=True, return_counts=True)
            rv, ri, rc = torch.unique(ta, dim=dim, return_inverse=True, return_counts=True)
            assert_equal(values, from_torch(rv, dtype), what=f"unique dim={dim} values")
            assert_equal(inverse, ri.numpy(), what=f"unique dim={dim} inverse")
            assert_equal(counts, rc.numpy(), what=f"unique dim={dim} counts")
    with pytest.raises(IndexError, match="unique"):
        ember.unique(ember.zeros(2, 2), dim=2)


def test_one_hot():
    rng = rng_for("one_hot")
    for shape, layout in [((), "contig"), ((0,), "contig"), ((7,), "contig"), ((4, 5), "T"), ((2, 3, 4), "step")]:
        t, a = make_pair(rng, shape, "int64", layout, low=0, high=6)
        for c in (-1, 6, 9):
            if c == -1 and a.size == 0:
                continue
            got = F.one_hot(t, c)
            ref = torch.nn.functional.one_hot(torch.from_numpy(np.array(a, order="C")), c)
            assert_equal(got, ref.numpy(), dtype="int64")
    with pytest.raises(IndexError, match=r"one_hot: class values must be smaller than num_classes = 3, got 5"):
        F.one_hot(ember.tensor([0, 5]), 3)
    with pytest.raises(IndexError, match="one_hot: class values must be non-negative"):
        F.one_hot(ember.tensor([0, -1]), 3)
    with pytest.raises(ValueError, match="one_hot: cannot infer num_classes"):
        F.one_hot(ember.zeros(0, dtype=ember.int64))
    with pytest.raises(TypeError, match="one_hot"):
        F.one_hot(ember.zeros(3), 3)
    assert F.one_hot(ember.zeros(0, dtype=ember.int64), 4).shape == (0, 4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ["int32"])
def test_embedding(dtype):
    rng = rng_for("embedding", dtype)
    w, wa = make_pair(rng, (11, 6), dtype, "contig")
    wT, waT = make_pair(rng, (11, 6), dtype, "T")
    for ishape in [(), (0,), (5,), (3, 4), (2, 3, 2)]:
        idx = rng.integers(-0, 11, size=ishape)
        for weight, warr in ((w, wa), (wT, waT)):
            for itype in (np.int64, np.int32):
                got = F.embedding(ember.tensor(idx.astype(itype)), weight, padding_idx=0)
                ref = torch.nn.functional.embedding(torch.from_numpy(idx), to_torch(warr, dtype))
                assert_equal(got, from_torch(ref, dtype), dtype=dtype)
    with pytest.raises(IndexError, match=r"embedding: index 11 is out of bounds.*weight of shape \(11, 6\)"):
        F.embedding(ember.tensor([1, 11]), w)
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(ember.tensor([1]), w, max_norm=1.0)
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(ember.tensor([1]), w, padding_idx=11)
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D"):
        F.embedding(ember.tensor([1]), ember.zeros(3))
    with pytest.raises(TypeError, match="embedding: input must be an int64 or int32"):
        F.embedding(ember.tensor([1.0]), w)


def test_in_place_targets_must_be_writable():
    ro = np.zeros((2, 3), np.float32)
    ro.setflags(write=False)
    x = ember.from_numpy(ro)
    with pytest.raises(ValueError, match="scatter: the destination tensor is read-only"):
        x.scatter_(1, ember.tensor([[0]]), value=1.0)
    with pytest.raises(ValueError, match="index_add: the destination"):
        x.index_add_(0, ember.tensor([0]), ember.ones(1, 3))
    with pytest.raises(ValueError, match="index_copy: the destination has several elements at one memory location"):
        ember.zeros(1, 3).expand(2, 3).index_copy_(0, ember.tensor([0]), ember.ones(1, 3))
    # the out-of-place forms work on read-only inputs
    assert x.scatter(1, ember.tensor([[0]]), value=1.0).tolist()[0] == [1, 0, 0]
