"""__getitem__ / __setitem__, index_select, gather, scatter_add, nonzero, masked_select."""

import numpy as np
import pytest
import torch

import ember
from conftest import (
    assert_close,
    ulp,
    ALL_DTYPES,
    NP_DTYPE,
    as_f64,
    assert_equal,
    edtype,
    make_pair,
    rng_for,
    to_ember,
    to_numpy,
    run_isolated,
    assert_no_crash,
)

IDX_DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "uint32", "int64", "bool"]

BASIC_INDICES = [
    0, -1, 2, slice(None), slice(1, 3), slice(None, None, 2), slice(1, None, 3), slice(-3, None), slice(2, 100),
    slice(5, 1), (1, 2), (-1, slice(None), 0), (Ellipsis, 1), (None, 1), (slice(None), None, 0), (1, Ellipsis, None),
    (Ellipsis,), (None,), (slice(0, 4, 2), slice(1, None, 2), slice(None, None, 3)), (0, 0, 0), (None, Ellipsis, None),
    (slice(None), slice(4, 4)), (-4, -5, -6), np.int64(2), (slice(1, 3), Ellipsis, slice(None, None, 4)),
]


def _idx_id(ix):
    return repr(ix).replace(" ", "")


@pytest.mark.parametrize("ix", BASIC_INDICES, ids=_idx_id)
@pytest.mark.parametrize("layout", ["contig", "T", "step"])
def test_basic_getitem_matches_numpy_and_is_a_view(ix, layout):
    t, a = make_pair(rng_for("getitem", layout), (4, 5, 6), "float32", layout)
    v = t[ix]
    exp = a[ix]
    assert_equal(v, exp, dtype="float32", what=f"t[{ix!r}]")
    if v.numel() > 0:
        # a view: writing through it changes t
        v.fill_(123.0)
        a = a.copy()
        a[ix] = 123.0
        assert_equal(t, a, what=f"write through t[{ix!r}]")


@pytest.mark.parametrize("dtype", IDX_DTYPES)
def test_getitem_dtypes_and_0d(dtype):
    t, a = make_pair(rng_for("getitem-dt", dtype), (3, 4), dtype, "T")
    assert_equal(t[1], a[1], dtype=dtype)
    assert_equal(t[1, 2], a[1, 2], dtype=dtype)
    assert t[1, 2].shape == ()
    s = t[1, 2]
    assert_equal(s[None], a[1, 2][None], dtype=dtype)
    assert_equal(s[...], a[1, 2], dtype=dtype)


def test_getitem_errors():
    t = ember.zeros(3, 4)
    with pytest.raises(IndexError, match=r"index 3 .*size 3|out of"):
        t[3]
    with pytest.raises(IndexError, match="out of"):
        t[-4]
    with pytest.raises(IndexError, match="out of"):
        t[0, 4]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0]
    with pytest.raises(IndexError, match="ellipsis"):
        t[..., ...]
    with pytest.raises(ValueError, match="negative step"):
        t[::-1]
    with pytest.raises(ValueError, match="step"):
        t[::0]
    with pytest.raises(IndexError, match="unsupported index|str"):
        t["a"]
    with pytest.raises(IndexError, match="bool"):
        t[True]
    with pytest.raises(IndexError, match="integer or bool"):
        t[ember.tensor([0.0, 1.0])]
    with pytest.raises(IndexError):
        ember.tensor(1.0)[0]


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize(
    "ix",
    [[0, 2, 2, -1], [3], (slice(None), [1, 0]), (Ellipsis, [4, 0, 4]), (1, [2, 0]), (slice(1, None), slice(None), [0, 0])],
    ids=_idx_id,
)
def test_integer_list_index_gathers(dtype, ix):
    t, a = make_pair(rng_for("listidx", dtype, _idx_id(ix)), (4, 3, 5), dtype, "perm")
    exp = a[tuple(np.array(i) if isinstance(i, list) else i for i in ix) if isinstance(ix, tuple) else np.array(ix, dtype=np.int64)]
    assert_equal(t[ix], exp, dtype=dtype, what=f"t[{ix!r}]")
    # also as an int64 / int32 tensor (numpy index arrays: test_numpy_int_array_index, in a subprocess)
    if isinstance(ix, list):
        for idt in (ember.int64, ember.int32):
            idx = ember.tensor(ix, dtype=idt) if ix else ember.zeros(0, dtype=idt)
            assert_equal(t[idx], exp, dtype=dtype)


def test_numpy_int_array_index():
    """t[np.array([0, 2])] gathers like t[[0, 2]], numpy bool masks select (run in a subprocess: it crashed the interpreter once)."""
    proc = run_isolated(
        """
        import numpy as np, ember
        t = ember.arange(12).reshape(4, 3)
        assert t[np.array([0, 2, -1])].tolist() == [[0, 1, 2], [6, 7, 8], [9, 10, 11]]
        assert t[:, np.array([2, 0], dtype=np.int32)].tolist() == [[2, 0], [5, 3], [8, 6], [11, 9]]
        assert t[np.array(1)].tolist() == [3, 4, 5]
        t[np.array([1, 3])] = 0
        assert t.tolist() == [[0, 1, 2], [0, 0, 0], [6, 7, 8], [0, 0, 0]]
        m = np.array([True, False, True, False])
        assert t[m].tolist() == [[0, 1, 2], [6, 7, 8]]  # a numpy bool mask
        print("ok")
        """
    )
    assert_no_crash(proc)
    assert proc.stdout.strip() == "ok"


def test_empty_list_index():
    """numpy and torch: t[[]] selects nothing along dim 0 (an empty list is an integer index)."""
    t = ember.zeros(4, 3)
    assert t[[]].shape == (0, 3)
    assert t[ember.zeros(0, dtype=ember.int64)].shape == (0, 3)


def test_index_tensor_multi_dim_and_0d():
    a = np.arange(24).reshape(4, 6)
    t = ember.tensor(a)
    idx = np.array([[0, 3], [2, 2]])
    assert_equal(t[ember.tensor(idx)], a[idx])
    assert_equal(t[:, ember.tensor(idx)], a[:, idx])
    assert_equal(t[ember.tensor(2)], a[2])
    # the result is a copy
    r = t[[0, 1]]
    r[0, 0] = 100
    assert t[0, 0].item() == 0


def test_index_list_out_of_range():
    t = ember.zeros(3, 4)
    with pytest.raises(IndexError, match=r"5.*out of bounds|out of bounds.*5"):
        t[[0, 5]]
    with pytest.raises(IndexError, match="out of bounds"):
        t[:, [-5]]
    with pytest.raises(NotImplementedError, match="more than one"):
        t[[0, 1], [0, 1]]


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("mshape", [(4, 5, 6), (4, 5), (4,), (0, 5, 6)])
def test_bool_mask_getitem(dtype, mshape):
    rng = rng_for("mask", dtype, mshape)
    shape = (4, 5, 6) if mshape[0] else (0, 5, 6)
    t, a = make_pair(rng, shape, dtype, "T")
    m = rng.random(mshape) < 0.4
    exp = a[m]
    assert_equal(t[ember.tensor(m)], exp, dtype=dtype)
    assert_equal(ember.masked_select(t, ember.tensor(m).reshape(*mshape, *([1] * (3 - len(mshape))))),
                 np.broadcast_to(a, shape)[np.broadcast_to(m.reshape(*mshape, *([1] * (3 - len(mshape)))), shape)], dtype=dtype)


def test_bool_mask_errors():
    t = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="mask"):
        t[ember.tensor([True, False])]
    with pytest.raises(TypeError, match="masked_select"):
        ember.masked_select(t, ember.ones(3, 4))


# ---------------------------------------------------------------------------------------------
# __setitem__


@pytest.mark.parametrize("ix", BASIC_INDICES, ids=_idx_id)
def test_basic_setitem_scalar_and_tensor(ix):
    rng = rng_for("setitem", _idx_id(ix))
    a = rng.standard_normal((4, 5, 6)).astype(np.float32)
    t = ember.tensor(a)
    a = a.copy()
    t[ix] = 2.5
    a[ix] = 2.5
    assert_equal(t, a)
    shape = a[ix].shape
    v = rng.standard_normal(shape).astype(np.float32)
    t[ix] = ember.tensor(v)
    a[ix] = v
    assert_equal(t, a)
    if len(shape) >= 1 and shape[-1] > 0:
        row = rng.standard_normal(shape[-1:]).astype(np.float32)
        t[ix] = ember.tensor(row)  # broadcast
        a[ix] = row
        assert_equal(t, a)


def test_setitem_casts_and_from_lists():
    t = ember.zeros(2, 3, dtype=ember.int32)
    t[0] = ember.tensor([1.9, -2.9, 3.0])  # float -> int truncates
    t[1] = [7, 8, 9]
    t[1, 1] = True
    assert t.tolist() == [[1, -2, 3], [7, 1, 9]]
    h = ember.zeros(3, dtype=ember.bfloat16)
    h[1:] = np.array([1.5, -2.0], dtype=np.float32)
    assert h.tolist() == [0.0, 1.5, -2.0]
    with pytest.raises(ValueError, match=r"\(4,\)|broadcast"):
        t[0] = ember.ones(4)


def test_setitem_list_index_and_mask():
    a = np.zeros((5, 3), np.float32)
    t = ember.tensor(a)
    t[[0, 3]] = 1.0
    a[[0, 3]] = 1.0
    assert_equal(t, a)
    t[:, [2, 0]] = ember.tensor([[5.0, 6.0]])
    a[:, [2, 0]] = [[5.0, 6.0]]
    assert_equal(t, a)
    t[ember.tensor([4, -1])] = ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # duplicate rows: last wins
    a[[4]] = [4.0, 5.0, 6.0]
    assert_equal(t, a)
    m = a > 2
    t[ember.tensor(m)] = -1.0
    a[m] = -1.0
    assert_equal(t, a)
    r = ember.arange(6).reshape(2, 3)
    r[ember.tensor([True, False])] = 0
    assert r.tolist() == [[0, 0, 0], [3, 4, 5]]
    with pytest.raises(IndexError, match="out of bounds"):
        t[[7]] = 1.0
    with pytest.raises(NotImplementedError, match="mask"):
        t[ember.tensor(m)] = ember.ones(int(m.sum()))


def test_kv_cache_filled_slice_by_slice():
    """A (layers, 2, batch, heads, max_seq, head_dim) cache written one decode step at a time."""
    rng = rng_for("kv")
    L, B, H, S, D = 2, 2, 3, 16, 8
    cache = ember.zeros(L, 2, B, H, S, D, dtype=ember.bfloat16)
    ref = np.zeros((L, 2, B, H, S, D), np.float32)
    ptr = cache.data_ptr()
    # prefill 5 positions, then decode one position at a time
    pos = 0
    for n in [5, 1, 1, 1, 3, 1]:
        for layer in range(L):
            k = rng.standard_normal((B, H, n, D)).astype(np.float32)
            v = rng.standard_normal((B, n, H, D)).astype(np.float32)  # arrives as (B, n, H, D)
            kt = ember.tensor(k).to(ember.bfloat16)
            vt = ember.tensor(v).to(ember.bfloat16).transpose(1, 2)  # a non-contiguous source
            cache[layer, 0, :, :, pos : pos + n] = kt
            cache[layer, 1, :, :, pos : pos + n, :] = vt
            ref[layer, 0, :, :, pos : pos + n] = to_numpy(kt).astype(np.float32)
            ref[layer, 1, :, :, pos : pos + n, :] = to_numpy(vt).astype(np.float32)
        pos += n
        assert cache.data_ptr() == ptr
        assert_equal(cache, ref, what=f"cache after {pos} positions")
        # attention reads the filled prefix as a view
        keys = cache[1, 0, :, :, :pos]
        assert keys.shape == (B, H, pos, D)
        assert_equal(keys, ref[1, 0, :, :, :pos])
    assert np.all(ref[..., pos:, :] == 0)


# ---------------------------------------------------------------------------------------------
# index_select, gather, scatter_add, nonzero


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("layout", ["contig", "T", "step", "expand"])
@pytest.mark.parametrize("idx_dtype", ["int64", "int32"])
def test_index_select(dtype, dim, layout, idx_dtype):
    rng = rng_for("index_select", dtype, dim, layout, idx_dtype)
    t, a = make_pair(rng, (4, 5, 6), dtype, layout)
    n = a.shape[dim]
    idx = rng.integers(-n, n, 7).astype(NP_DTYPE[idx_dtype])
    exp = np.take(a, idx, axis=dim)
    ti = ember.tensor(idx)
    assert_equal(ember.index_select(t, dim, ti), exp, dtype=dtype)
    assert_equal(t.index_select(dim, ti), exp, dtype=dtype)
    assert_equal(t.index_select(dim, ti[1::2]), np.take(a, idx[1::2], axis=dim), dtype=dtype)  # strided index
    assert_equal(t.index_select(dim, ember.zeros(0, dtype=ember.int64)), np.take(a, [], axis=dim).astype(a.dtype), dtype=dtype)


def test_index_select_embedding_lookup():
    """The embedding pattern: a large table, token ids, bf16."""
    rng = rng_for("embedding")
    table = rng.standard_normal((1000, 64)).astype(np.float32)
    ids = rng.integers(0, 1000, 33)
    t = ember.tensor(table).to(ember.bfloat16)
    got = t.index_select(0, ember.tensor(ids))
    assert_equal(got, to_numpy(t)[ids])


def test_index_select_errors():
    t = ember.zeros(3, 4)
    with pytest.raises(IndexError, match=r"index_select.*4.*out of|out of.*4"):
        t.index_select(0, ember.tensor([0, 4]))
    with pytest.raises(IndexError, match="index_select|out of"):
        t.index_select(1, ember.tensor([-5]))
    with pytest.raises(TypeError, match="index_select.*int64"):
        t.index_select(0, ember.tensor([0.0]))
    with pytest.raises(ValueError, match="index_select.*1-D"):
        t.index_select(0, ember.zeros(2, 2, dtype=ember.int64))
    with pytest.raises(IndexError, match="dim"):
        t.index_select(2, ember.tensor([0]))
    with pytest.raises(IndexError, match="index_select"):
        ember.zeros(0, 3).index_select(0, ember.tensor([0]))


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("layout", ["contig", "T", "expand"])
def test_gather(dtype, dim, layout):
    rng = rng_for("gather", dtype, dim, layout)
    t, a = make_pair(rng, (4, 5, 6), dtype, layout)
    ishape = [3, 4, 5]
    ishape[dim] = 7
    idx = rng.integers(-a.shape[dim], a.shape[dim], ishape)
    idx2 = idx % a.shape[dim]
    # numpy reference: out[i][j][k] = a[idx[i][j][k]][j][k] (dim 0), ... (torch.gather semantics)
    sub = a[tuple(slice(None) if d == dim % 3 else slice(0, idx.shape[d]) for d in range(3))]
    exp = np.take_along_axis(sub, idx2, dim)
    tref = torch.gather(torch.from_numpy(as_f64(a)), dim, torch.from_numpy(idx2)).numpy()
    np.testing.assert_array_equal(as_f64(exp), tref)  # the numpy reference agrees with torch
    got = ember.gather(t, dim, ember.tensor(idx))
    assert_equal(got, exp, dtype=dtype)
    assert_equal(t.gather(dim, ember.tensor(idx2.astype(np.int32)).T.T), exp, dtype=dtype)


def test_gather_errors():
    t = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="gather|out of"):
        t.gather(1, ember.tensor([[0, 4]]))
    with pytest.raises(IndexError, match="gather|out of"):
        t.gather(0, ember.tensor([[-4, 0]]))
    with pytest.raises(ValueError, match="gather"):
        t.gather(1, ember.tensor([0, 1]))
    with pytest.raises(ValueError, match="gather"):
        t.gather(1, ember.zeros(4, 2, dtype=ember.int64))
    with pytest.raises(TypeError, match="gather"):
        t.gather(1, ember.zeros(3, 2, dtype=ember.uint8))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_add(dtype, dim):
    rng = rng_for("scatter_add", dtype, dim)
    t, a = make_pair(rng, (4, 5, 6), dtype, "T", low=0 if dtype == "uint8" else -4, high=4)
    ishape = [3, 4, 5]
    ishape[dim] = 8  # more sources than slots: duplicates accumulate
    idx = rng.integers(0, a.shape[dim], ishape)
    src_t, src = make_pair(rng, tuple(s + 1 for s in ishape), dtype, "step", low=0 if dtype == "uint8" else -4, high=4)
    tdt = torch.float64 if dtype in FLOATS else torch_dtype_of(dtype)
    sa = lambda x: torch.from_numpy(as_f64(x)).to(tdt)  # noqa: E731
    exp = torch.scatter_add(sa(a), dim, torch.from_numpy(idx), sa(src)).double().numpy()
    got = ember.scatter_add(t, dim, ember.tensor(idx), src_t)
    orig = to_numpy(t).copy()
    if dtype in FLOATS:
        # each output is the input plus at most 8 sources, added one by one in the dtype: every
        # addition rounds by at most 1/2 ulp of a partial sum, and |partial| <= the sum of magnitudes
        mag = torch.scatter_add(sa(np.abs(as_f64(a))), dim, torch.from_numpy(idx), sa(np.abs(as_f64(src)))).numpy()
        bound = 4.5 * ulp(mag, dtype)
        assert_close(got, exp, dtype, ulps=0 if dtype in ("float32", "float64") else 1, atol=bound)
    else:
        assert_equal(got, exp.astype(NP_DTYPE[dtype]), dtype=dtype)
    assert_equal(t, orig)  # out of place
    assert_equal(t.scatter_add(dim, ember.tensor(idx), src_t), to_numpy(got))


FLOATS = ("float32", "float64", "float16", "bfloat16")


def torch_dtype_of(name):
    return {"int32": torch.int32, "int64": torch.int64, "uint8": torch.uint8}[name]


def test_scatter_add_errors():
    t = ember.zeros(3, 4)
    with pytest.raises(IndexError, match="scatter_add|out of"):
        t.scatter_add(0, ember.tensor([[3, 0]]), ember.ones(1, 2))
    with pytest.raises(IndexError, match="scatter_add|out of"):
        t.scatter_add(1, ember.tensor([[-5, 0]]), ember.ones(1, 2))  # negatives wrap (as in gather/index_select)
    assert t.scatter_add(1, ember.tensor([[-1, 0]]), ember.ones(1, 2)).tolist() == [[1, 0, 0, 1], [0] * 4, [0] * 4]
    with pytest.raises(ValueError, match="scatter_add"):
        t.scatter_add(0, ember.tensor([[0, 0, 0]]), ember.ones(1, 2))
    with pytest.raises(ValueError, match="scatter_add"):
        t.scatter_add(0, ember.tensor([0]), ember.ones(1))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4), (2, 3, 4), (2, 0, 3)])
def test_nonzero(dtype, shape):
    rng = rng_for("nonzero", dtype, shape)
    a = (rng.random(shape) < 0.4).astype(NP_DTYPE[dtype]) * (1 if dtype == "bool" else np.array(3).astype(NP_DTYPE[dtype]))
    a = np.asarray(a).astype(NP_DTYPE[dtype])
    t = to_ember(a)
    got = ember.nonzero(t)
    exp = torch.nonzero(torch.from_numpy(as_f64(a))).numpy()
    assert got.dtype == ember.int64
    assert_equal(got, exp)
    assert_equal(t.nonzero(), exp)
    if len(shape) >= 2:
        assert_equal(t.T.nonzero(), torch.nonzero(torch.from_numpy(as_f64(a).T.copy())).numpy())
