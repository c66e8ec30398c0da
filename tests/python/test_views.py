"""View ops: results against numpy/torch, and memory sharing (writes through a view reach the base)."""

import numpy as np
import pytest
import torch

import ember
from conftest import (
    ALL_DTYPES,
    assert_equal,
    edtype,
    make_pair,
    rng_for,
    to_ember,
    to_numpy,
)

VIEW_DTYPES = ["float32", "bfloat16", "int64", "uint8", "bool"]


def _same_storage(v, base):
    """v's elements lie inside base's memory (views share storage)."""
    lo = base.data_ptr()
    hi = lo + base.nbytes
    return lo <= v.data_ptr() <= hi


@pytest.mark.parametrize("dtype", VIEW_DTYPES)
@pytest.mark.parametrize(
    "shape, layout, new",
    [
        ((2, 3, 4), "contig", (6, 4)),
        ((2, 3, 4), "contig", (-1,)),
        ((2, 3, 4), "contig", (4, -1, 2)),
        ((2, 3, 4), "T", (4, 6)),  # needs a copy
        ((2, 3, 4), "T", (-1,)),
        ((4, 6), "step", (2, 2, 6)),
        ((4, 6), "step", (24,)),
        ((3, 4), "expand", (12,)),
        ((0, 3), "contig", (3, 0, 5)),
        ((), "contig", (1, 1)),
        ((1,), "contig", ()),
        ((2, 3, 4), "perm", (3, 8)),
    ],
)
def test_reshape(dtype, shape, layout, new):
    t, a = make_pair(rng_for("reshape", dtype, shape, layout, new), shape, dtype, layout)
    r = t.reshape(*new) if new else t.reshape(())
    exp = a.reshape(new)
    assert_equal(r, exp, dtype=dtype)
    assert_equal(ember.reshape(t, new), exp, dtype=dtype)
    # a view exactly when numpy can make one without copying
    try:
        a.view().shape = new  # raises when a copy would be needed
        numpy_view = True
    except AttributeError:
        numpy_view = False
    if numpy_view and t.numel() > 0:
        assert _same_storage(r, t) or r.data_ptr() == t.data_ptr()
        assert t.view(*new).shape == exp.shape if new else t.view(()).shape == ()
    elif t.numel() > 1:
        with pytest.raises(ValueError, match="view"):
            t.view(*new)


def test_reshape_and_view_share_memory():
    base = ember.zeros(2, 3, 4)
    v = base.view(6, 4)
    v[5, 3] = 7.0
    r = base.reshape(-1)
    r[0] = 1.0
    assert base[1, 2, 3].item() == 7.0 and base[0, 0, 0].item() == 1.0
    # reshape of a transposed tensor copies: writes do not reach the base
    c = base.transpose(0, 2).reshape(-1)
    c[1] = 9.0
    assert 9.0 not in base.reshape(-1).tolist()


def test_reshape_errors():
    t = ember.zeros(2, 3)
    with pytest.raises(ValueError, match=r"reshape.*\(4, 2\)|reshape.*6"):
        t.reshape(4, 2)
    with pytest.raises(ValueError, match="reshape"):
        t.reshape(-1, -1)
    with pytest.raises(ValueError, match="reshape"):
        t.reshape(-2, 3)
    with pytest.raises(ValueError, match="reshape"):
        ember.zeros(0, 3).reshape(-1, 0)


@pytest.mark.parametrize("dtype", VIEW_DTYPES)
def test_transpose_permute_T_mT(dtype):
    t, a = make_pair(rng_for("tp", dtype), (2, 3, 4, 5), dtype, "contig")
    assert_equal(t.transpose(1, 3), a.swapaxes(1, 3), dtype=dtype)
    assert_equal(ember.transpose(t, -1, 0), a.swapaxes(-1, 0), dtype=dtype)
    assert_equal(t.swapaxes(0, 1), a.swapaxes(0, 1), dtype=dtype)
    assert_equal(t.permute(2, 0, 3, 1), a.transpose(2, 0, 3, 1), dtype=dtype)
    assert_equal(t.permute((3, 2, 1, 0)), a.transpose(3, 2, 1, 0), dtype=dtype)
    assert_equal(ember.permute(t, (1, 0, 2, 3)), a.transpose(1, 0, 2, 3), dtype=dtype)
    assert_equal(t.T, a.T, dtype=dtype)
    assert_equal(t.mT, a.swapaxes(-1, -2), dtype=dtype)
    m, b = make_pair(rng_for("tp2", dtype), (3, 4), dtype, "step")
    assert_equal(m.t(), b.T, dtype=dtype)
    assert_equal(t.permute(-1, -2, -3, -4), a.transpose(3, 2, 1, 0), dtype=dtype)
    for v in (t.transpose(1, 3), t.permute(2, 0, 3, 1), t.T, t.mT):
        assert v.data_ptr() == t.data_ptr()  # views: no copy


def test_transpose_strides():
    t = ember.zeros(2, 3, 4)
    assert t.transpose(0, 2).stride() == (1, 4, 12)
    assert t.permute(1, 2, 0).stride() == (4, 1, 12)
    assert t.T.shape == (4, 3, 2) and t.mT.shape == (2, 4, 3)
    assert ember.tensor(1.0).T.shape == ()


def test_transpose_errors():
    t = ember.zeros(2, 3)
    with pytest.raises(IndexError, match="dim"):
        t.transpose(0, 2)
    with pytest.raises(ValueError, match="permute"):
        t.permute(0, 0)
    with pytest.raises(ValueError, match="permute"):
        t.permute(0)
    with pytest.raises(ValueError, match="mT"):
        ember.zeros(3).mT
    with pytest.raises(ValueError, match="t:"):
        ember.zeros(2, 3, 4).t()


@pytest.mark.parametrize("dtype", VIEW_DTYPES)
def test_narrow(dtype):
    t, a = make_pair(rng_for("narrow", dtype), (5, 6, 7), dtype, "T")
    assert_equal(t.narrow(0, 1, 3), a[1:4], dtype=dtype)
    assert_equal(t.narrow(-1, 2, 0), a[..., 2:2], dtype=dtype)
    assert_equal(ember.narrow(t, 1, 0, 6), a, dtype=dtype)
    assert_equal(t.narrow(2, -3, 2), a[:, :, 4:6], dtype=dtype)  # torch: negative start wraps
    with pytest.raises((IndexError, ValueError), match="narrow"):
        t.narrow(0, 3, 5)
    with pytest.raises(IndexError, match="dim"):
        t.narrow(3, 0, 1)


@pytest.mark.parametrize("dtype", VIEW_DTYPES)
def test_expand_and_broadcast_to(dtype):
    t, a = make_pair(rng_for("expand", dtype), (3, 1), dtype, "contig")
    e = t.expand(2, 3, 4)
    assert e.stride() == (0, 1, 0)
    assert_equal(e, np.broadcast_to(a, (2, 3, 4)), dtype=dtype)
    assert_equal(t.expand(-1, 5), np.broadcast_to(a, (3, 5)), dtype=dtype)
    assert_equal(ember.broadcast_to(t, (4, 3, 2)), np.broadcast_to(a, (4, 3, 2)), dtype=dtype)
    assert_equal(t.broadcast_to((3, 0)), np.broadcast_to(a, (3, 0)), dtype=dtype)
    assert_equal(t.expand_as(ember.zeros(3, 6)), np.broadcast_to(a, (3, 6)), dtype=dtype)
    s = to_ember(np.array(5).astype(a.dtype))
    assert_equal(s.expand(2, 2), np.full((2, 2), np.array(5).astype(a.dtype)), dtype=dtype)
    with pytest.raises(ValueError, match=r"\(3, 1\)|expand"):
        t.expand(2, 4)
    with pytest.raises(ValueError, match="broadcast_to"):
        ember.broadcast_to(t, (3,))
    with pytest.raises(ValueError, match="expand"):
        t.expand(3)


def test_broadcast_shapes():
    assert ember.broadcast_shapes((3, 1), (1, 4), (2, 1, 1)) == (2, 3, 4)
    assert ember.broadcast_shapes((), (0,)) == (0,)
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)|\(4,\).*\(3,\)"):
        ember.broadcast_shapes((3,), (4,))


@pytest.mark.parametrize("dtype", VIEW_DTYPES)
def test_squeeze_unsqueeze(dtype):
    t, a = make_pair(rng_for("squeeze", dtype), (1, 3, 1, 4), dtype, "contig")
    assert_equal(t.squeeze(), a.squeeze(), dtype=dtype)
    assert_equal(t.squeeze(0), a.squeeze(0), dtype=dtype)
    assert_equal(t.squeeze(-2), a.squeeze(-2), dtype=dtype)
    assert_equal(t.squeeze((0, 2)), a.squeeze((0, 2)), dtype=dtype)
    assert_equal(ember.squeeze(t, 1), a, dtype=dtype)  # squeezing a non-1 dim is a no-op (torch)
    assert_equal(t.unsqueeze(0), a[None], dtype=dtype)
    assert_equal(t.unsqueeze(-1), a[..., None], dtype=dtype)
    assert_equal(ember.unsqueeze(t, 2), np.expand_dims(a, 2), dtype=dtype)
    assert t.unsqueeze(4).shape == (1, 3, 1, 4, 1)
    assert ember.tensor(1.0).unsqueeze(0).shape == (1,)
    assert ember.tensor(1.0).squeeze().shape == ()
    with pytest.raises(IndexError, match="dim"):
        t.unsqueeze(6)


@pytest.mark.parametrize("dtype", VIEW_DTYPES)
def test_flatten_unflatten(dtype):
    t, a = make_pair(rng_for("flatten", dtype), (2, 3, 4, 5), dtype, "perm")
    assert_equal(t.flatten(), a.reshape(-1), dtype=dtype)
    assert_equal(t.flatten(1), a.reshape(2, -1), dtype=dtype)
    assert_equal(ember.flatten(t, 1, 2), a.reshape(2, 12, 5), dtype=dtype)
    assert_equal(t.flatten(-2, -1), a.reshape(2, 3, 20), dtype=dtype)
    assert ember.tensor(3.0).flatten().shape == (1,)
    assert_equal(t.unflatten(3, (5, 1)), a.reshape(2, 3, 4, 5, 1), dtype=dtype)
    assert_equal(ember.unflatten(t, 2, (2, -1)), a.reshape(2, 3, 2, 2, 5), dtype=dtype)
    with pytest.raises(ValueError, match="flatten"):
        t.flatten(2, 1)
    with pytest.raises(ValueError, match="unflatten"):
        t.unflatten(2, (3, 2))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("n", [7, 0, 1, 3])
def test_chunk_split_unbind_match_torch(dim, n):
    shape = [4, 5, 6]
    shape[dim] = n
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    t, tt = ember.tensor(a), torch.tensor(a)
    for chunks in (1, 2, 3, 5) if n else (1,):  # a size-0 dim: test_chunk_of_empty_dim_matches_torch
        got = t.chunk(chunks, dim)
        exp = tt.chunk(chunks, dim)
        assert [g.shape for g in got] == [tuple(e.shape) for e in exp], ("chunk", chunks)
        for g, e in zip(got, exp):
            assert_equal(g, e.numpy())
            if g.numel():
                assert _same_storage(g, t)
    for size in (1, 2, 4, 10):
        got = ember.split(t, size, dim)
        exp = torch.split(tt, size, dim)
        assert [g.shape for g in got] == [tuple(e.shape) for e in exp], ("split", size)
        for g, e in zip(got, exp):
            assert_equal(g, e.numpy())
    sizes = [n // 2, n - n // 2]
    got = t.split(sizes, dim)
    for g, e in zip(got, tt.split(sizes, dim)):
        assert_equal(g, e.numpy())
    got = t.unbind(dim)
    exp = tt.unbind(dim)
    assert len(got) == len(exp)
    for g, e in zip(got, exp):
        assert_equal(g, e.numpy())


def test_chunk_of_empty_dim_matches_torch():
    """torch.zeros(0, 5).chunk(3) gives 3 empty chunks."""
    got = ember.zeros(0, 5).chunk(3)
    exp = torch.zeros(0, 5).chunk(3)
    assert [g.shape for g in got] == [tuple(e.shape) for e in exp]


def test_split_chunk_errors():
    t = ember.zeros(4, 5)
    with pytest.raises(ValueError, match="split"):
        t.split([2, 2], 1)
    with pytest.raises(ValueError, match="split"):
        t.split(0)
    with pytest.raises(ValueError, match="chunk"):
        t.chunk(0)
    with pytest.raises(ValueError, match="unbind"):
        ember.tensor(1.0).unbind()


def test_writes_through_views_reach_the_base():
    base = ember.zeros(4, 6)
    ref = np.zeros((4, 6), np.float32)
    steps = [
        (lambda b: b.T, lambda r: r.T),
        (lambda b: b[1::2, ::3], lambda r: r[1::2, ::3]),
        (lambda b: b.narrow(1, 2, 3), lambda r: r[:, 2:5]),
        (lambda b: b.view(2, 2, 6)[1], lambda r: r.reshape(2, 2, 6)[1]),
        (lambda b: b.unsqueeze(0).permute(2, 0, 1)[3], lambda r: r[None].transpose(2, 0, 1)[3]),
        (lambda b: b.chunk(2, 0)[1], lambda r: r[2:]),
        (lambda b: b.split(2, 1)[2], lambda r: r[:, 4:]),
        (lambda b: b.unbind(1)[5], lambda r: r[:, 5]),
        (lambda b: b.flatten()[7:13], lambda r: r.reshape(-1)[7:13]),
        (lambda b: b[..., 0], lambda r: r[..., 0]),
        (lambda b: b.squeeze().mT, lambda r: r.T),
    ]
    for i, (ev, rv) in enumerate(steps):
        v = ev(base)
        v += float(i + 1)  # in-place op through the view
        rv(ref)[...] += float(i + 1)
        assert_equal(base, ref, what=f"view {i}")
        v.fill_(-1.0 - i)
        rv(ref)[...] = -1.0 - i
        assert_equal(base, ref, what=f"fill_ through view {i}")


def test_view_keeps_storage_alive():
    import gc

    v = ember.arange(100, dtype=ember.float64).reshape(10, 10)[2:4, 5:]
    gc.collect()
    assert v.tolist() == [[25.0, 26.0, 27.0, 28.0, 29.0], [35.0, 36.0, 37.0, 38.0, 39.0]]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_view_ops_preserve_dtype(dtype):
    t = ember.zeros(2, 3, dtype=dtype)
    for v in (t.T, t[0], t.reshape(3, 2), t.unsqueeze(0), t.expand(4, 2, 3), t.flatten(), t.narrow(1, 0, 2)):
        assert v.dtype.name == dtype


@pytest.mark.parametrize("src,dst", [("float32", "uint8"), ("uint8", "float32"), ("float32", "int32"),
                                     ("int64", "float16"), ("bfloat16", "float16"), ("float64", "uint32"),
                                     ("uint8", "int64"), ("int8", "bool")])
def test_view_dtype_matches_torch(src, dst):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (3, 4, 16), dtype=np.uint8)
    t_ref = torch.from_numpy(base.copy()).view(getattr(torch, src))
    e = ember.frombuffer(bytearray(base.tobytes()), dtype=ember.uint8).view(edtype(src)).reshape(t_ref.shape)
    if dst == "bool":
        t_ref = t_ref & 1
        e = ember.tensor(t_ref.numpy())
    for make in (lambda x: x, lambda x: x[1:, ::2], lambda x: x.narrow(-1, 2, 8) if x.shape[-1] >= 10 else x):
        ref, mine = make(t_ref), make(e)
        try:
            want = ref.view(getattr(torch, dst))
        except RuntimeError:
            with pytest.raises(ValueError, match="view\\(dtype\\)"):
                mine.view(edtype(dst))
            continue
        got = mine.view(edtype(dst))
        assert got.shape == tuple(want.shape) and got.stride() == want.stride()
        assert got.storage_offset() == want.storage_offset()
        assert got.data_ptr() == mine.data_ptr()
        np.testing.assert_array_equal(got.contiguous().view(ember.uint8).numpy(),
                                      want.contiguous().view(torch.uint8).numpy())


def test_view_dtype_errors():
    x = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    with pytest.raises(ValueError, match="stride 1"):
        x.T.view(ember.uint8)
    with pytest.raises(ValueError, match="0-d"):
        x[0, 0].view(ember.uint8)
    with pytest.raises(ValueError, match="multiple"):
        x.view(ember.uint8)[:, :6].view(ember.float32)
    with pytest.raises(ValueError, match="aligned"):
        x.view(ember.uint8).reshape(-1)[1:9].view(ember.float32)
    assert x.view(ember.int32).dtype == ember.int32 and x.view(ember.float32) is not None


def test_as_strided_matches_torch():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(60).astype(np.float32)
    base_e, base_t = ember.tensor(a), torch.from_numpy(a)
    for _ in range(50):
        ndim = int(rng.integers(0, 4))
        shape = [int(s) for s in rng.integers(0, 5, ndim)]
        strides = [int(s) for s in rng.integers(0, 6, ndim)]
        offset = int(rng.integers(0, 20))
        extent = offset + sum((n - 1) * s for n, s in zip(shape, strides)) if all(shape) else offset
        if extent >= 60:
            with pytest.raises(ValueError, match="as_strided: .*reaches past the storage of 60"):
                ember.as_strided(base_e, shape, strides, offset)
            continue
        got = ember.as_strided(base_e, shape, strides, offset)
        want = torch.as_strided(base_t, shape, strides, offset)
        assert got.shape == tuple(want.shape) and got.stride() == want.stride()
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    view = base_e[10:]
    assert view.as_strided((2, 2), (1, 1)).tolist() == [[a[10], a[11]], [a[11], a[12]]]
    with pytest.raises(ValueError, match="negative strides"):
        ember.as_strided(base_e, (2,), (-1,), 5)
    with pytest.raises(ValueError, match="different lengths"):
        ember.as_strided(base_e, (2, 2), (1,))
    with pytest.raises(ValueError, match="reaches past"):
        ember.as_strided(base_e, (3, 1), (2**62, 1))
    with pytest.raises(ValueError, match="more elements than fit"):
        ember.as_strided(base_e, (2, 2**62), (1, 2**62))
