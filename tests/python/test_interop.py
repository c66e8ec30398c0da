"""numpy and torch interop: from_numpy, numpy(), np.asarray, buffer protocol, DLPack (both capsule
kinds), zero-copy, lifetimes, read-only memory, bf16."""

import gc
import weakref

import ml_dtypes
import numpy as np
import pytest
import torch

import ember
from conftest import ALL_DTYPES, NP_DTYPE, as_f64, assert_equal, assert_no_crash, edtype, run_isolated, to_numpy, torch_dtype

NUMPY_DTYPES = [d for d in ALL_DTYPES if d != "bfloat16"]


def _arange(shape, dtype):
    n = int(np.prod(shape))
    a = (np.arange(n) % 100).reshape(shape)
    if dtype == "bool":
        return (a % 3 == 0)
    return a.astype(NP_DTYPE[dtype])


# ---------------------------------------------------------------------------------------------
# numpy -> ember


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_from_numpy_is_zero_copy(dtype):
    a = _arange((3, 4), dtype)
    t = ember.from_numpy(a)
    assert t.dtype == edtype(dtype) and t.shape == (3, 4) and t.stride() == (4, 1)
    assert t.data_ptr() == a.ctypes.data
    assert_equal(t, a)
    # numpy -> ember
    one = np.array(1).astype(a.dtype)
    a[1, 2] = one
    assert_equal(t[1, 2], one)
    # ember -> numpy
    t[2, 3] = ember.tensor(0, dtype=edtype(dtype))
    assert as_f64(a[2, 3]) == 0


STRIDED_VIEWS = {
    "T": ((5, 6), lambda a: a.T),
    "step": ((5, 6), lambda a: a[::2, 1::3]),
    "neg0": ((5, 6), lambda a: a[::-1]),
    "neg1-step": ((5, 6), lambda a: a[:, ::-2]),
    "neg-both-T": ((5, 6), lambda a: a[::-1, ::-1].T),
    "bcast": ((5, 6), lambda a: np.broadcast_to(a[:1], (5, 6))),
    "row": ((5, 6), lambda a: a[2]),
    "empty": ((5, 6), lambda a: a[:0]),
    "0d": ((5, 6), lambda a: a[1, 1, ...]),
    "3d-neg": ((30,), lambda a: a.reshape(2, 3, 5)[:, ::-1, 1:4]),
}


@pytest.mark.parametrize("name", list(STRIDED_VIEWS))
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "float16", "bool"])
def test_from_numpy_strided_and_negative_strides(name, dtype):
    shape, view = STRIDED_VIEWS[name]
    base = _arange(shape, dtype)
    v = view(base)
    t = ember.from_numpy(v)
    assert t.shape == v.shape
    assert t.stride() == tuple(s // v.itemsize for s in v.strides) or v.size <= 1
    assert_equal(t, v)
    if v.size:
        # zero-copy: element (0, ..., 0) is the same memory
        assert t.data_ptr() == v.ctypes.data
    # ops on the strided view
    if dtype in ("float32", "int64") and v.size:
        assert_equal(t + t, v + v)
        assert_equal(t.contiguous(), v.copy(order="C"))
    if v.flags.writeable and v.size and dtype == "float32":
        t.fill_(-7.0)
        assert np.all(v == -7.0)


def test_from_numpy_keeps_array_alive():
    a = np.arange(1000, dtype=np.float64)
    ref = weakref.ref(a)
    t = ember.from_numpy(a)
    del a
    gc.collect()
    assert ref() is not None  # the tensor holds the array
    assert t.sum().item() == sum(range(1000))
    v = t[500:]
    del t
    gc.collect()
    assert ref() is not None  # ... and so does a view of the tensor
    assert v[0].item() == 500.0
    del v
    gc.collect()
    assert ref() is None  # released with the last tensor: no leak
    arr = np.ones((200, 200), np.float32)
    t2 = ember.from_numpy(arr[::3, ::2])
    del arr
    gc.collect()
    assert t2.sum().item() == 67 * 100


def test_dlpack_export_releases_the_tensor():
    a = np.arange(10, dtype=np.float32)
    ref = weakref.ref(a)
    t = ember.from_numpy(a)
    del a
    x = torch.from_dlpack(t)
    del t
    gc.collect()
    assert ref() is not None and x.sum().item() == 45
    del x
    gc.collect()
    assert ref() is None


def test_numpy_view_keeps_tensor_alive():
    t = ember.arange(100, dtype=ember.float32)
    n = t.numpy()
    assert n.ctypes.data == t.data_ptr()
    del t
    gc.collect()
    np.testing.assert_array_equal(n, np.arange(100, dtype=np.float32))


def test_readonly_numpy_gives_readonly_tensor():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    a.setflags(write=False)
    t = ember.from_numpy(a)
    assert t.data_ptr() == a.ctypes.data
    assert_equal(t * 2, a * 2)  # reading is fine
    for write in (
        lambda: t.fill_(1.0),
        lambda: t.add_(1.0),
        lambda: t.__iadd__(1.0),
        lambda: t.__setitem__(0, 5.0),
        lambda: t.__setitem__((slice(None), 1), ember.ones(2)),
        lambda: t.copy_(ember.zeros(2, 3)),
        lambda: t.zero_(),
        lambda: t[0].mul_(2),
        lambda: t.T.clamp_(0, 1),
        lambda: t.masked_fill_(ember.tensor(True), 0.0),
    ):
        with pytest.raises(ValueError, match="read-only"):
            write()
    np.testing.assert_array_equal(a, np.arange(6, dtype=np.float32).reshape(2, 3))
    n = t.numpy()
    assert not n.flags.writeable
    c = t.clone()
    c += 1  # a clone is writable
    assert_equal(c, a + 1)
    # np.broadcast_to gives a read-only array too
    b = ember.from_numpy(np.broadcast_to(np.ones(3, np.float32), (2, 3)))
    with pytest.raises(ValueError, match="read-only"):
        b.fill_(0.0)


def test_from_numpy_rejects():
    with pytest.raises(TypeError, match="from_numpy"):
        ember.from_numpy([1, 2, 3])
    for arr in (np.zeros(3, np.complex64), np.zeros(3, np.int16), np.zeros(3, np.uint64), np.zeros(3, np.dtype(">f4")),
                np.array(["a"]), np.zeros(2, dtype=object)):
        with pytest.raises(TypeError, match=r"from_numpy|not supported|format"):
            ember.from_numpy(arr)
    rec = np.zeros(4, dtype=[("a", np.float32), ("b", np.int8)])
    with pytest.raises((ValueError, TypeError), match="from_numpy|stride|format"):
        ember.from_numpy(rec["a"])  # 5-byte strides are not a multiple of 4


def test_from_numpy_bfloat16_ml_dtypes():
    """ml_dtypes.bfloat16 arrays wrap as ember.bfloat16 without a copy."""
    a = np.array([1.0, -2.5, 3.0, 0.0078125], dtype=ml_dtypes.bfloat16)
    t = ember.from_numpy(a)
    assert t.dtype == ember.bfloat16
    assert t.data_ptr() == a.ctypes.data
    assert t.tolist() == [1.0, -2.5, 3.0, 0.0078125]
    a[0] = 4
    assert t[0].item() == 4.0
    assert ember.tensor(a).tolist() == [4.0, -2.5, 3.0, 0.0078125]


# ---------------------------------------------------------------------------------------------
# ember -> numpy


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_numpy_returns_a_view(dtype):
    t = ember.tensor(_arange((4, 6), dtype).astype(np.float64) if dtype == "bfloat16" else _arange((4, 6), dtype), dtype=edtype(dtype))
    for v in (t, t.T, t[1::2, ::3], t.expand(2, 4, 6), t[2, 3]):
        n = v.numpy()
        exp_dt = NP_DTYPE[dtype]
        assert n.dtype == exp_dt
        assert n.shape == v.shape
        assert n.ctypes.data == v.data_ptr()
        assert n.strides == tuple(s * v.itemsize for s in v.stride())
        assert v.tolist() == (n.astype(np.float64).tolist() if dtype == "bfloat16" else n.tolist())
    n = t.numpy()
    if dtype != "bool":
        n[0, 0] = 42
        assert t[0, 0].item() == 42
    m = t.T.numpy()
    m[1, 0] = m[1, 0]  # writable


def test_asarray_and_array_protocol():
    t = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    a = np.asarray(t)
    assert a.ctypes.data == t.data_ptr() and a.dtype == np.float32
    a[0, 1] = 100
    assert t[0, 1].item() == 100
    b = np.asarray(t, dtype=np.float64)
    assert b.dtype == np.float64 and b.ctypes.data != t.data_ptr()
    c = np.array(t)  # copies by default
    c[0, 0] = -1
    assert t[0, 0].item() == 0
    assert np.add(t, 1).tolist() == (a + 1).tolist()
    h = np.asarray(ember.ones(2, dtype=ember.bfloat16))
    assert h.dtype == ml_dtypes.bfloat16


def test_buffer_protocol():
    t = ember.arange(6, dtype=ember.int32).reshape(2, 3)
    m = memoryview(t)
    assert m.shape == (2, 3) and m.format == "i" and m.itemsize == 4 and m.strides == (12, 4)
    assert not m.readonly
    assert m.tolist() == [[0, 1, 2], [3, 4, 5]]
    mt = memoryview(t.T)
    assert mt.strides == (4, 12)
    assert np.frombuffer(memoryview(t.contiguous()), dtype=np.int32).tolist() == list(range(6))
    for dt, fmt in (("float32", "f"), ("float64", "d"), ("float16", "e"), ("uint8", "B"), ("int8", "b"), ("uint32", "I"),
                    ("int64", "q"), ("bool", "?")):
        assert memoryview(ember.zeros(2, dtype=dt)).format == fmt
    a = np.arange(4, dtype=np.float32)
    a.setflags(write=False)
    assert memoryview(ember.from_numpy(a)).readonly
    # frombuffer wraps any buffer
    ba = bytearray(b"\x01\x02\x03")
    fb = ember.frombuffer(ba)
    assert fb.dtype == ember.uint8 and fb.tolist() == [1, 2, 3]
    ba[0] = 9
    assert fb[0].item() == 9


def test_buffer_protocol_bfloat16_error_names_the_dtype():
    """bf16 has no buffer format: the error must say so (ember's message, not a bare 'Error getting buffer')."""
    with pytest.raises((TypeError, BufferError), match="bfloat16"):
        memoryview(ember.zeros(2, dtype=ember.bfloat16))


def test_bfloat16_numpy_uses_ml_dtypes():
    t = ember.tensor([1.5, -2.0, 3.25], dtype=ember.bfloat16)
    n = t.numpy()
    assert n.dtype == ml_dtypes.bfloat16
    assert n.astype(np.float32).tolist() == [1.5, -2.0, 3.25]
    assert n.ctypes.data == t.data_ptr()
    assert t.float().numpy().tolist() == [1.5, -2.0, 3.25]


def test_bfloat16_numpy_without_ml_dtypes_raises_clear_error():
    proc = run_isolated(
        """
        import sys
        sys.modules["ml_dtypes"] = None  # make "import ml_dtypes" fail
        import ember
        t = ember.ones(2, dtype=ember.bfloat16)
        try:
            t.numpy()
        except TypeError as e:
            assert ".float()" in str(e), str(e)
            print("ok")
        """
    )
    assert_no_crash(proc)
    assert proc.stdout.strip() == "ok"


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_numpy_round_trip(dtype):
    rng = np.random.default_rng(5)
    a = (rng.standard_normal((3, 5)) * 50).astype(NP_DTYPE[dtype])
    back = ember.tensor(a.astype(np.float64), dtype=edtype(dtype)).numpy() if dtype == "bfloat16" else ember.tensor(a).numpy()
    np.testing.assert_array_equal(back.astype(np.float64), a.astype(np.float64))
    assert back.dtype == NP_DTYPE[dtype]


# ---------------------------------------------------------------------------------------------
# DLPack


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dlpack_torch_to_ember_zero_copy(dtype):
    tt = torch.arange(24).reshape(4, 6).to(torch_dtype(dtype))
    for src in (tt, tt.T, tt[1:, ::2], tt.expand(2, 4, 6)):
        e = ember.from_dlpack(src)
        assert e.dtype == edtype(dtype)
        assert e.shape == tuple(src.shape)
        assert e.stride() == tuple(src.stride())
        assert e.data_ptr() == src.data_ptr()
        assert e.tolist() == src.tolist()
    e = ember.from_dlpack(tt)
    if dtype != "bool":
        tt[0, 0] = 5
        assert e[0, 0].item() == 5
        e[3, 5] = ember.tensor(7, dtype=edtype(dtype))
        assert tt[3, 5].item() == 7


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dlpack_ember_to_torch_zero_copy(dtype):
    t = ember.arange(24).reshape(4, 6).to(edtype(dtype))
    for src in (t, t.T, t[1:, ::2], t.expand(2, 4, 6)):
        x = torch.from_dlpack(src)
        assert x.dtype == torch_dtype(dtype)
        assert tuple(x.shape) == src.shape and tuple(x.stride()) == src.stride()
        assert x.data_ptr() == src.data_ptr()
        assert x.tolist() == src.tolist()
    x = torch.from_dlpack(t)
    if dtype != "bool":
        x[1, 1] = 9
        assert t[1, 1].item() == 9


def test_dlpack_numpy_both_ways():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
    e = ember.from_dlpack(a)
    assert e.data_ptr() == a.ctypes.data and e.tolist() == a.tolist()
    t = ember.arange(12, dtype=ember.int32).reshape(3, 4).T
    n = np.from_dlpack(t)
    assert n.ctypes.data == t.data_ptr() and n.tolist() == t.tolist()
    assert t.__dlpack_device__() == (1, 0)


def test_dlpack_bfloat16_with_torch_both_ways():
    x = torch.tensor([[1.5, -2.0], [0.25, 3.0]], dtype=torch.bfloat16)
    e = ember.from_dlpack(x)
    assert e.dtype == ember.bfloat16 and e.tolist() == [[1.5, -2.0], [0.25, 3.0]]
    assert e.data_ptr() == x.data_ptr()
    y = torch.from_dlpack(e.T)
    assert y.dtype == torch.bfloat16 and y.tolist() == [[1.5, 0.25], [-2.0, 3.0]]
    e2 = e * 2
    assert torch.from_dlpack(e2).float().tolist() == [[3.0, -4.0], [0.5, 6.0]]


def test_dlpack_lifetimes():
    x = torch.arange(1000, dtype=torch.float64)
    e = ember.from_dlpack(x)
    del x
    gc.collect()
    assert e.sum().item() == sum(range(1000))
    t = ember.arange(1000, dtype=ember.float64)
    y = torch.from_dlpack(t)
    del t
    gc.collect()
    assert y.sum().item() == sum(range(1000))


def test_dlpack_capsules():
    t = ember.arange(6, dtype=ember.float32).reshape(2, 3)
    legacy = t.__dlpack__()
    assert "dltensor" in repr(legacy) and "versioned" not in repr(legacy)
    versioned = t.__dlpack__(max_version=(1, 0))
    assert "dltensor_versioned" in repr(versioned)
    for cap in (legacy, versioned):
        e = ember.from_dlpack(cap)
        assert e.tolist() == t.tolist() and e.data_ptr() == t.data_ptr()
        with pytest.raises(TypeError, match="from_dlpack"):
            ember.from_dlpack(cap)  # a capsule can be consumed once
    # copy=True gives new memory
    c = ember.from_dlpack(t.__dlpack__(max_version=(1, 0), copy=True))
    assert c.data_ptr() != t.data_ptr() and c.tolist() == t.tolist()
    # unconsumed capsules are freed without leaking or crashing
    for _ in range(100):
        t.__dlpack__()
        t.__dlpack__(max_version=(1, 0))
    gc.collect()
    with pytest.raises(ValueError, match="device"):
        t.__dlpack__(dl_device=(2, 0))


def test_dlpack_readonly_numpy_stays_readonly():
    a = np.arange(4, dtype=np.float32)
    a.setflags(write=False)
    e = ember.from_dlpack(a)
    with pytest.raises(ValueError, match="read-only"):
        e.fill_(0.0)


def test_from_dlpack_rejects_non_dlpack():
    with pytest.raises(TypeError, match="from_dlpack"):
        ember.from_dlpack([1, 2, 3])
    with pytest.raises(TypeError, match="from_dlpack"):
        ember.from_dlpack(object())


def test_bad_dlpack_producers_do_not_crash():
    proc = run_isolated(
        """
        import ctypes, ember
        class NotACapsule:
            def __dlpack__(self, **kw): return 42
            def __dlpack_device__(self): return (1, 0)
        class WrongName:
            def __dlpack__(self, **kw):
                PyCapsule_New = ctypes.pythonapi.PyCapsule_New
                PyCapsule_New.restype = ctypes.py_object
                PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
                return PyCapsule_New(ctypes.c_void_p(1234), b"not_dltensor", None)
            def __dlpack_device__(self): return (1, 0)
        class Gpu:
            def __dlpack__(self, **kw): raise AssertionError("must not be called")
            def __dlpack_device__(self): return (2, 0)
        class Raises:
            def __dlpack__(self, **kw): raise RuntimeError("producer failed")
            def __dlpack_device__(self): return (1, 0)
        out = []
        for obj in (NotACapsule(), WrongName(), Gpu(), Raises()):
            try:
                ember.from_dlpack(obj)
                out.append("no error")
            except (TypeError, ValueError, RuntimeError, NotImplementedError, BufferError) as e:
                out.append(type(e).__name__)
        print(",".join(out))
        """
    )
    assert_no_crash(proc)
    results = proc.stdout.strip().split(",")
    assert results[0] == "TypeError" and results[1] == "TypeError", results
    assert results[2] == "NotImplementedError", results
    assert results[3] == "RuntimeError", results


def test_torch_round_trip_through_ember_ops():
    x = torch.randn(5, 7, dtype=torch.float32)
    e = ember.from_dlpack(x)
    y = torch.from_dlpack(ember.softmax(e, -1))
    torch.testing.assert_close(y, torch.softmax(x, -1), rtol=2e-6, atol=1e-7)


def test_tensor_from_torch_copies():
    x = torch.arange(4, dtype=torch.int32)
    t = ember.tensor(x)
    assert t.dtype == ember.int32 and t.tolist() == [0, 1, 2, 3]
    x[0] = 10
    assert t[0].item() == 0
    assert ember.tensor(torch.ones(2, dtype=torch.bfloat16)).dtype == ember.bfloat16


def test_frombuffer_with_dtype_count_offset_matches_torch():
    data = bytearray(np.arange(40, dtype=np.uint8).tobytes())
    for dtype, count, offset in [("float32", -1, 0), ("int32", 3, 8), ("uint8", 5, 7), ("float16", -1, 2),
                                 ("int64", 4, 8), ("bfloat16", 2, 4), ("bool", 3, 37)]:
        got = ember.frombuffer(data, dtype=getattr(ember, "bool_" if dtype == "bool" else dtype), count=count,
                               offset=offset)
        want = torch.frombuffer(data, dtype=getattr(torch, dtype), count=count, offset=offset)
        assert got.shape == tuple(want.shape)
        np.testing.assert_array_equal(got.view(ember.uint8).numpy(), want.view(torch.uint8).numpy())
        assert got.data_ptr() == want.data_ptr()
    assert ember.frombuffer(data, dtype=ember.float32, count=0, offset=40).shape == (0,)
    t = ember.frombuffer(data, dtype=ember.uint8, count=4, offset=1)
    t[0] = 200  # writable buffers stay writable, and writes reach the buffer
    assert data[1] == 200
    ro = ember.frombuffer(bytes(8), dtype=ember.int32)
    with pytest.raises(ValueError, match="read-only"):
        ro[0] = 1


@pytest.mark.parametrize("kwargs,message", [
    (dict(dtype=ember.float32, offset=41), "outside the buffer"),
    (dict(dtype=ember.float32, offset=-1), "outside the buffer"),
    (dict(dtype=ember.float32, offset=2), "not a multiple"),
    (dict(dtype=ember.float32, count=11), "need more than"),
    (dict(dtype=ember.float32, count=2, offset=2), "not aligned"),
    (dict(dtype=ember.float32, count=-2), "count must be"),
])
def test_frombuffer_errors(kwargs, message):
    data = bytearray(40)
    with pytest.raises(ValueError, match=message):
        ember.frombuffer(data, **kwargs)
