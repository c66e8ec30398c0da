"""Creation functions, dtype/device objects, attributes, casts, repr, item/tolist."""

import math
import warnings

import ml_dtypes
import numpy as np
import pytest
import torch

import ember
from conftest import (
    ALL_DTYPES,
    ELEMENTWISE_CASES,
    FLOAT_DTYPES,
    INT_DTYPES,
    NP_DTYPE,
    as_f64,
    assert_close,
    assert_equal,
    case_id,
    edtype,
    make_pair,
    rng_for,
    round_to,
    to_ember,
    to_numpy,
    torch_dtype,
)

# ---------------------------------------------------------------------------------------------
# dtypes and devices


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_dtype_objects(name):
    d = edtype(name)
    assert d.name == name
    assert repr(d) == f"ember.{name}"
    assert d.itemsize == NP_DTYPE[name].itemsize
    assert d.is_floating_point == (name in FLOAT_DTYPES)
    assert ember.dtype(name) == d
    assert ember.dtype(NP_DTYPE[name]) == d  # numpy dtype
    assert ember.dtype(torch_dtype(name)) == d  # torch dtype
    assert hash(ember.dtype(name)) == hash(d)
    assert ember.zeros(2, dtype=name).dtype == d
    assert ember.zeros(2, dtype=torch_dtype(name)).dtype == d
    import pickle

    assert pickle.loads(pickle.dumps(d)) == d


@pytest.mark.parametrize(
    "alias, name",
    [("f32", "float32"), ("bf16", "bfloat16"), ("f16", "float16"), ("f64", "float64"), ("half", "float16"),
     ("double", "float64"), ("long", "int64"), ("int", "int32"), ("float", "float32"), ("u8", "uint8"),
     ("i8", "int8"), ("u32", "uint32"), ("i32", "int32"), ("i64", "int64"), ("bool", "bool")],
)
def test_dtype_string_aliases(alias, name):
    assert ember.dtype(alias) == edtype(name)
    assert ember.ones(1, dtype=alias).dtype == edtype(name)


def test_dtype_module_aliases():
    assert ember.half == ember.float16 and ember.double == ember.float64 and ember.long == ember.int64
    assert ember.float == ember.float32 and ember.int == ember.int32 and ember.bool == ember.bool_
    assert ember.dtype(np.float32) == ember.float32 and ember.dtype(ml_dtypes.bfloat16) == ember.bfloat16
    assert ember.dtype(float) == ember.float64 and ember.dtype(int) == ember.int64 and ember.dtype(bool) == ember.bool_


def test_unknown_dtype():
    with pytest.raises(TypeError, match="unknown dtype 'int16'"):
        ember.zeros(2, dtype="int16")
    with pytest.raises(TypeError, match="dtype"):
        ember.zeros(2, dtype=np.complex64)
    with pytest.raises(TypeError, match="dtype"):
        ember.zeros(2, dtype=3.5)


def test_devices():
    d = ember.device("cpu")
    assert d.type == "cpu" and str(d) == "cpu" and repr(d) == "device(type='cpu')"
    assert d == "cpu" and d == ember.device("cpu")
    assert ember.zeros(2).device == d
    assert ember.zeros(2, device="cpu").device == d
    assert ember.zeros(2, device=torch.device("cpu")).device == d
    assert ember.cuda.is_available() is False
    assert ember.metal.is_available() is False
    assert ember.cuda.device_count() == 0
    ember.cuda.synchronize()


@pytest.mark.parametrize("dev", ["cuda", "cuda:0", "cuda:1", "metal"])
def test_unavailable_devices_raise_clearly(dev):
    with pytest.raises(RuntimeError, match="cuda|metal|CUDA|Metal"):
        ember.zeros(2, device=dev)
    with pytest.raises(RuntimeError, match="cuda|metal|CUDA|Metal"):
        ember.ones(3).to(dev)
    with pytest.raises(RuntimeError, match="cuda|metal|CUDA|Metal"):
        ember.tensor([1.0], device=dev)


def test_bad_device_string():
    with pytest.raises((ValueError, RuntimeError), match="tpu"):
        ember.device("tpu")
    with pytest.raises(TypeError, match="device"):
        ember.zeros(2, device=3.5)


# ---------------------------------------------------------------------------------------------
# tensor()


def test_tensor_from_nested_lists_infers_like_torch():
    for data in ([1, 2, 3], [[1.0, 2], [3, 4]], [True, False], [[True, 2]], 3, 2.5, True, [], [[]], [[1], [2]],
                 [[[1, 2]], [[3, 4]]], [1, 2.5, True], [2**62, -(2**62)]):
        t = ember.tensor(data)
        ref = torch.tensor(data)
        assert t.dtype.name == str(ref.dtype).replace("torch.", ""), data
        assert t.shape == tuple(ref.shape), data
        assert t.tolist() == ref.tolist(), data


def test_tensor_int64_values_exact():
    big = [2**63 - 1, -(2**63), 2**53 + 1]
    assert ember.tensor(big).tolist() == big


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_tensor_with_dtype(dtype):
    data = [[0, 1, 2], [3, 4, 5]]
    t = ember.tensor(data, dtype=edtype(dtype))
    assert t.dtype == edtype(dtype) and t.shape == (2, 3)
    exp = np.array(data).astype(NP_DTYPE[dtype])
    assert_equal(t, exp)


@pytest.mark.parametrize("dtype", [d for d in ALL_DTYPES if d != "bfloat16"])
def test_tensor_from_numpy_copies(dtype):
    a = np.arange(12).reshape(3, 4).astype(NP_DTYPE[dtype])
    t = ember.tensor(a)
    assert t.dtype == edtype(dtype)
    assert_equal(t, a)
    a[0, 0] = 1
    assert to_numpy(t)[0, 0] == 0  # a copy


def test_tensor_from_numpy_scalars_keeps_dtype():
    """torch.tensor(np.float64(2.5)) is float64 and torch.tensor(np.int32(3)) is int32: numpy scalars carry a dtype."""
    for s in (np.float64(2.5), np.float16(2.5), np.int32(3), np.uint8(7), np.bool_(True), np.float32(1.25)):
        exp = str(torch.tensor(s).dtype).replace("torch.", "")
        t = ember.tensor(s)
        assert t.shape == ()
        assert t.item() == s.item()
        assert t.dtype.name == exp, f"ember.tensor({type(s).__name__}({s})) has dtype {t.dtype.name}, torch gives {exp}"


def test_tensor_from_tensor_and_list_of_tensors():
    x = ember.tensor([1.0, 2.0])
    y = ember.tensor(x)
    assert y.data_ptr() != x.data_ptr() and y.tolist() == [1.0, 2.0]
    z = ember.tensor([ember.tensor([1, 2]), ember.tensor([3, 4])])
    assert z.shape == (2, 2) and z.tolist() == [[1, 2], [3, 4]]
    assert ember.as_tensor(x) is x or ember.as_tensor(x).data_ptr() == x.data_ptr()


# ---------------------------------------------------------------------------------------------
# shaped constructors


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (2, 3, 4)])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_zeros_ones_full_empty(shape, dtype):
    d = edtype(dtype)
    z = ember.zeros(shape, dtype=d)
    o = ember.ones(*shape, dtype=d) if shape else ember.ones((), dtype=d)
    f = ember.full(shape, 1 if dtype == "bool" else 7, dtype=d)
    e = ember.empty(shape, dtype=d)
    for t in (z, o, f, e):
        assert t.shape == shape and t.dtype == d and t.is_contiguous()
        assert t.numel() == math.prod(shape) and t.ndim == len(shape)
        assert t.itemsize == NP_DTYPE[dtype].itemsize and t.nbytes == t.numel() * t.itemsize
    assert_equal(z, np.zeros(shape, NP_DTYPE[dtype]))
    assert_equal(o, np.ones(shape, NP_DTYPE[dtype]))
    assert_equal(f, np.full(shape, 1 if dtype == "bool" else 7).astype(NP_DTYPE[dtype]))
    like_src = ember.ones(shape, dtype=d)
    for fn, val in ((ember.zeros_like, 0), (ember.ones_like, 1)):
        t = fn(like_src)
        assert t.shape == shape and t.dtype == d
        assert_equal(t, np.full(shape, val).astype(NP_DTYPE[dtype]))
    t = ember.full_like(like_src, 1)
    assert t.dtype == d
    assert ember.empty_like(like_src).shape == shape
    assert ember.zeros_like(like_src, dtype=ember.float64).dtype == ember.float64


def test_default_dtypes_match_torch():
    assert ember.zeros(2).dtype == ember.float32
    assert ember.full((2,), 3).dtype == ember.int64
    assert ember.full((2,), 2.5).dtype == ember.float32
    assert ember.full((2,), True).dtype == ember.bool_
    assert ember.arange(5).dtype == ember.int64
    assert ember.arange(0.5, 3).dtype == ember.float32
    assert ember.linspace(0, 1, 3).dtype == ember.float32
    assert ember.eye(2).dtype == ember.float32
    assert ember.rand(2).dtype == ember.float32


def test_shape_arguments():
    assert ember.zeros(2, 3).shape == (2, 3)
    assert ember.zeros((2, 3)).shape == (2, 3)
    assert ember.zeros([2, 3]).shape == (2, 3)
    assert ember.zeros(()).shape == ()
    assert ember.zeros(np.int64(3)).shape == (3,)
    assert ember.zeros(ember.zeros(2, 5).shape).shape == (2, 5)


@pytest.mark.parametrize(
    "args",
    [(5,), (0,), (2, 9), (9, 2, -1), (10, 0, -3), (-3, 3), (0, 1, 0.1), (0.5, 3), (1, 2.5, 0.25), (-1.0, 1.0, 0.3),
     (0, 10, 3), (3, 3)],
)
def test_arange_matches_torch(args):
    t = ember.arange(*args)
    ref = torch.arange(*args)
    assert t.dtype.name == str(ref.dtype).replace("torch.", ""), args
    assert t.shape == tuple(ref.shape), args
    np.testing.assert_array_equal(to_numpy(t), ref.numpy())


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16", "int32", "uint8", "int8"])
def test_arange_with_dtype(dtype):
    t = ember.arange(0, 20, 3, dtype=edtype(dtype))
    assert t.dtype == edtype(dtype)
    assert_equal(t, np.arange(0, 20, 3).astype(NP_DTYPE[dtype]))


def test_arange_errors():
    with pytest.raises(ValueError, match="arange"):
        ember.arange(0, 10, 0)
    with pytest.raises(ValueError, match="arange"):
        ember.arange(10, 0, 1)
    with pytest.raises(ValueError, match="arange"):
        ember.arange(0, float("inf"))
    with pytest.raises(ValueError, match="arange"):
        ember.arange(0.0, 1.0, 0.0)


@pytest.mark.parametrize("args", [(0, 1, 5), (-3, 7, 11), (1, 1, 1), (2, 5, 0), (5, -5, 7), (0, 1, 100), (0.1, 0.9, 2)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace(args, dtype):
    t = ember.linspace(*args, dtype=edtype(dtype))
    assert t.shape == tuple(torch.linspace(*args).shape)
    from fractions import Fraction

    start, end, steps = args
    exact = [Fraction(start) + i * (Fraction(end) - Fraction(start)) / max(steps - 1, 1) for i in range(steps)]
    ref = np.array([float(v) for v in exact], dtype=np.float64)
    # within 2 ulp of the exact values (plus the cancellation error near 0 for ranges crossing 0)
    from conftest import ulp

    scale = max(abs(start), abs(end))
    assert_close(t, ref, dtype, ulps=2, atol=float(2 * ulp(scale, dtype)))
    if args[2] > 0:
        assert to_numpy(t)[0] == np.asarray(args[0], NP_DTYPE[dtype])
    if args[2] > 1:
        assert to_numpy(t)[-1] == np.asarray(args[1], NP_DTYPE[dtype])  # both ends exact
    with pytest.raises(ValueError, match="linspace"):
        ember.linspace(0, 1, -1)


@pytest.mark.parametrize("n, m", [(0, None), (1, None), (4, None), (3, 5), (5, 2), (0, 3)])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int64", "bool"])
def test_eye(n, m, dtype):
    t = ember.eye(n, m, dtype=edtype(dtype))
    assert_equal(t, np.eye(n, m).astype(NP_DTYPE[dtype]) if dtype != "bfloat16" else np.eye(n, m), dtype=dtype)


@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3, 10, -10])
@pytest.mark.parametrize("shape, layout", [((4, 5), "contig"), ((5, 4), "T"), ((2, 3, 6), "step"), ((3, 4, 4), "expand"), ((0, 3), "contig")])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32", "bool"])
def test_tril_triu(k, shape, layout, dtype):
    t, a = make_pair(rng_for("tri", shape, layout, dtype), shape, dtype, layout)
    assert_equal(ember.tril(t, k), np.tril(a, k), dtype=dtype)
    assert_equal(t.triu(k), np.triu(a, k), dtype=dtype)
    assert_equal(ember.triu(t, diagonal=k), np.triu(a, k), dtype=dtype)


def test_tril_needs_2d():
    with pytest.raises(ValueError, match="tril"):
        ember.tril(ember.ones(3))


# ---------------------------------------------------------------------------------------------
# cat / stack


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_cat(dtype, dim):
    rng = rng_for("cat", dtype, dim)
    shapes = [(2, 3, 4), (2, 3, 4), (2, 3, 4)]
    for i in range(3):
        s = list(shapes[i])
        s[dim] = [1, 0, 5][i]
        shapes[i] = tuple(s)
    pairs = [make_pair(rng, s, dtype, lay) for s, lay in zip(shapes, ["contig", "T", "step"])]
    out = ember.cat([p[0] for p in pairs], dim)
    assert_equal(out, np.concatenate([p[1] for p in pairs], dim), dtype=dtype)
    assert_equal(ember.concat([p[0] for p in pairs], dim=dim), np.concatenate([p[1] for p in pairs], dim), dtype=dtype)


def test_cat_skips_legacy_empty_1d_and_errors():
    x = ember.ones(2, 3)
    assert ember.cat([x, ember.zeros(0), x]).shape == (4, 3)  # torch's legacy rule
    with pytest.raises(ValueError, match=r"cat.*\(2, 3\).*\(2, 4\)|cat.*\(2, 4\).*\(2, 3\)"):
        ember.cat([x, ember.ones(2, 4)])
    with pytest.raises(ValueError, match="cat"):
        ember.cat([])
    with pytest.raises(ValueError, match="cat"):
        ember.cat([ember.tensor(1.0), ember.tensor(2.0)])
    with pytest.raises(IndexError, match="cat|dim"):
        ember.cat([x, x], dim=2)
    with pytest.raises(TypeError, match="cat"):
        ember.cat([x, np.ones((2, 3))])


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int8", "bool"])
def test_stack(dim, dtype):
    rng = rng_for("stack", dim, dtype)
    pairs = [make_pair(rng, (3, 4), dtype, lay) for lay in ("contig", "T", "expand")]
    out = ember.stack([p[0] for p in pairs], dim)
    assert_equal(out, np.stack([p[1] for p in pairs], dim), dtype=dtype)


def test_stack_errors():
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        ember.stack([ember.ones(2, 3), ember.ones(3, 2)])
    with pytest.raises(ValueError, match="stack"):
        ember.stack([])
    # 0-d tensors stack into a vector
    assert ember.stack([ember.tensor(1.0), ember.tensor(2.0)]).tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------------------------
# casts


def _cast_values(src, dst):
    """Values exactly representable in both dtypes (plus fractions when src is float and dst an int)."""
    vals = [0, 1, 2, 3, 7, 42, 100, 127]
    if src != "bool" and dst != "bool":
        if not src.startswith("u") and not dst.startswith("u"):
            vals += [-1, -2, -7, -100, -128]
        if src not in ("int8",) and dst not in ("int8",):
            vals += [200, 255]
        if all(d in ("int32", "int64", "uint32", "float32", "float64") for d in (src, dst)):
            vals += [65536, 1 << 24]
        if all(d in ("int64", "float64", "int32") for d in (src, dst)) or {src, dst} == {"int32", "int64"}:
            vals += [-(1 << 31), (1 << 31) - 1]
    else:
        vals = [0, 1, 1, 0, 1]
    return vals


@pytest.mark.parametrize("dst", ALL_DTYPES)
@pytest.mark.parametrize("src", ALL_DTYPES)
def test_cast_all_pairs_in_range(src, dst):
    vals = _cast_values(src, dst)
    a = np.array(vals, dtype=np.int64).astype(NP_DTYPE[src]) if src != "bool" else np.array(vals, dtype=bool)
    a = a.reshape(1, -1).repeat(3, 0)  # also exercises a 2-d, transposed source
    t = to_ember(a).T
    out = t.to(edtype(dst))
    assert out.dtype == edtype(dst) and out.shape == t.shape
    exp = a.T.astype(NP_DTYPE[dst]) if src != "bfloat16" else as_f64(a.T).astype(NP_DTYPE[dst])
    assert_equal(out, exp, what=f"{src} -> {dst}")
    # fractional values: float -> int truncates toward zero, float -> bool is != 0
    if src in FLOAT_DTYPES and dst not in FLOAT_DTYPES:
        f = np.array([0.5, 1.75, 2.25, 99.5, 0.0] + ([-0.5, -1.75, -99.5] if not dst.startswith("u") else []))
        fa = f.astype(NP_DTYPE[src])
        got = to_ember(fa).to(edtype(dst))
        exp = (as_f64(fa) != 0) if dst == "bool" else np.trunc(as_f64(fa)).astype(NP_DTYPE[dst])
        assert_equal(got, exp, what=f"{src} -> {dst} (fractions)")


@pytest.mark.parametrize("dst", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("src", ["float32", "float64"])
def test_float_narrowing_rounds_to_nearest_even(src, dst):
    if src == dst:
        return
    rng = rng_for("narrow", src, dst)
    a = (rng.standard_normal(4000) * 10.0 ** rng.uniform(-6, 4, 4000)).astype(NP_DTYPE[src])
    out = to_ember(a).to(edtype(dst))
    exp = a.astype(NP_DTYPE[dst])  # numpy / ml_dtypes round to nearest even
    if src == "float64" and dst != "float32":
        # float64 -> half goes through float32 (like torch): at most 1 ulp from the direct rounding
        assert_close(out, as_f64(a), dst, ulps=1)
    else:
        assert_equal(out, exp, what=f"{src} -> {dst}")
    # ties: halfway between two bf16/f16 values
    if src == "float32" and dst == "bfloat16":
        ties = np.array([1.0 + 2**-8, 1.0 + 3 * 2**-8, -(1.0 + 2**-8)], dtype=np.float32)
        assert_equal(to_ember(ties).to(ember.bfloat16), ties.astype(ml_dtypes.bfloat16))


@pytest.mark.parametrize("src", FLOAT_DTYPES)
def test_float_specials_survive_float_casts(src):
    a = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], dtype=np.float64)
    t = ember.tensor(a, dtype=edtype(src))
    for dst in FLOAT_DTYPES:
        out = as_f64(to_numpy(t.to(edtype(dst))))
        np.testing.assert_array_equal(out, a)
        assert np.array_equal(np.signbit(out), np.signbit(a))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_equal(ember.tensor([70000.0]).to(ember.float16), np.array([np.inf]))


@pytest.mark.parametrize("dst", INT_DTYPES)
@pytest.mark.parametrize("src", FLOAT_DTYPES)
def test_float_to_int_saturates_and_nan_is_zero(src, dst):
    """ember's documented rule (csrc/core/convert.h): saturate at the integer range, NaN -> 0."""
    info = np.iinfo(NP_DTYPE[dst])
    vals = [float("nan"), float("inf"), float("-inf"), 1e30, -1e30, 32768.0, -32768.0]  # all exact in every float dtype
    t = ember.tensor(vals, dtype=edtype(src)).to(edtype(dst))
    exp = [0, info.max, info.min, info.max, info.min, min(32768, info.max), max(-32768, info.min)]
    assert t.tolist() == exp, f"{src} -> {dst}: {t.tolist()} != {exp}"


@pytest.mark.parametrize(
    "src, dst, vals, exp",
    [
        ("int32", "uint8", [300, -1, 255, 256], [44, 255, 255, 0]),
        ("int64", "int8", [128, -129, 255], [-128, 127, -1]),
        ("int64", "int32", [2**32 + 5, -(2**31) - 1], [5, 2**31 - 1]),
        ("int32", "uint32", [-1, -2], [2**32 - 1, 2**32 - 2]),
        ("int8", "int32", [-1, -128, 127], [-1, -128, 127]),
        ("int8", "int64", [-1, -128], [-1, -128]),
        ("int32", "int64", [-5, -(2**31)], [-5, -(2**31)]),
        ("int8", "uint8", [-1, -128], [255, 128]),
        ("uint8", "int8", [255, 128], [-1, -128]),
        ("uint32", "int64", [2**32 - 1], [2**32 - 1]),
        ("uint32", "int32", [2**32 - 1], [-1]),
    ],
)
def test_integer_casts_wrap_and_sign_extend(src, dst, vals, exp):
    """integer -> integer wraps modulo 2^bits (numpy and torch), and widening keeps the sign."""
    a = np.array(vals, dtype=np.int64).astype(NP_DTYPE[src])
    out = ember.tensor(a).to(edtype(dst))
    assert out.tolist() == exp, f"{src}{a.tolist()} -> {dst}: {out.tolist()}"
    assert out.tolist() == a.astype(NP_DTYPE[dst]).tolist()


def test_to_variants():
    x = ember.tensor([1.5, -2.5])
    assert x.to(ember.float32) is x or x.to(ember.float32).data_ptr() == x.data_ptr()
    assert x.to("f64").dtype == ember.float64
    assert x.to(dtype=ember.int32).tolist() == [1, -2]
    assert x.to("cpu").data_ptr() == x.data_ptr()
    assert x.to("cpu", ember.float16).dtype == ember.float16
    assert x.to(ember.zeros(1, dtype=ember.int64)).dtype == ember.int64
    c = x.to(ember.float32, copy=True)
    assert c.data_ptr() != x.data_ptr() and c.tolist() == x.tolist()
    assert x.float().dtype == ember.float32 and x.double().dtype == ember.float64
    assert x.half().dtype == ember.float16 and x.bfloat16().dtype == ember.bfloat16
    assert x.int().dtype == ember.int32 and x.long().dtype == ember.int64 and x.bool().dtype == ember.bool_
    assert x.byte().dtype == ember.uint8 and x.char().dtype == ember.int8
    assert x.type() == "ember.float32" and x.type(ember.int64).dtype == ember.int64
    with pytest.raises(TypeError, match="keyword"):
        x.to(ember.float32, bogus=1)


# ---------------------------------------------------------------------------------------------
# attributes, item, tolist, repr


def test_attributes():
    t = ember.zeros(2, 3, 4, dtype=ember.float16)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.ndim == 3 and t.dim() == 3 and t.numel() == 24 and len(t) == 2
    assert t.stride() == (12, 4, 1) and t.stride(1) == 4 and t.stride(-1) == 1
    assert t.size() == (2, 3, 4) and t.size(-1) == 4
    assert t.itemsize == 2 and t.element_size() == 2 and t.nbytes == 48
    assert t.is_contiguous() and t.storage_offset() == 0
    assert t.is_floating_point() and not ember.zeros(1, dtype=ember.int32).is_floating_point()
    tt = t.transpose(0, 2)
    assert tt.stride() == (1, 4, 12) and not tt.is_contiguous()
    s = t[1, 1:, ::2]
    assert s.shape == (2, 2) and s.stride() == (4, 2) and s.storage_offset() == 16
    with pytest.raises(TypeError, match="0-d"):
        len(ember.tensor(1.0))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_item_and_tolist(dtype):
    a = np.array([[0, 1, 2], [3, 4, 5]]).astype(NP_DTYPE[dtype])
    t = to_ember(a)
    lst = t.tolist()
    exp = a.tolist() if dtype != "bfloat16" else as_f64(a).tolist()
    assert lst == exp
    pytype = bool if dtype == "bool" else float if dtype in FLOAT_DTYPES else int
    assert all(type(v) is pytype for row in lst for v in row)
    v = t[1, 2].item()
    assert type(v) is pytype and v == exp[1][2]
    assert t.T.tolist() == [list(r) for r in zip(*exp)]
    assert ember.tensor(3.25, dtype=edtype(dtype)).tolist() == ember.tensor(3.25, dtype=edtype(dtype)).item()
    with pytest.raises(ValueError, match="item"):
        t.item()


def test_python_number_conversions():
    assert float(ember.tensor([2.5])) == 2.5
    assert int(ember.tensor(7)) == 7
    assert bool(ember.tensor([0.0])) is False
    assert [10, 20, 30][ember.tensor(1)] == 20  # __index__
    with pytest.raises(TypeError):
        [1, 2][ember.tensor(1.0)]
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ember.ones(2))


def test_iteration():
    t = ember.arange(6).reshape(3, 2)
    rows = list(t)
    assert len(rows) == 3 and rows[1].tolist() == [2, 3]


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.tensor([1.5, 2.25, -3.0]),
        lambda m: m.tensor([[1, 2], [3, 4]]),
        lambda m: m.tensor([True, False]),
        lambda m: m.tensor(2.5),
        lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
        lambda m: m.tensor([1.5, 2.0], dtype=m.float16),
        lambda m: m.tensor([1, 2], dtype=m.int32),
        lambda m: m.zeros(0, 3),
        lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]),
        lambda m: m.tensor([0.001, 1000.0]),
    ],
)
def test_repr_matches_torch_for_small_tensors(make):
    assert repr(make(ember)) == repr(make(torch)).replace("torch.", "ember.")


def test_repr_summarises_large_tensors():
    r = repr(ember.arange(5000))
    assert r.startswith("tensor([") and "..." in r and "4999" in r and len(r) < 200
    r = repr(ember.zeros(3, 4, dtype=ember.bfloat16))
    assert "dtype=ember.bfloat16" in r
    assert str(ember.tensor([1, 2])) == "tensor([1, 2])"
    assert f"{ember.tensor(2.5):.2f}" == "2.50"


def test_clone_contiguous():
    rng = rng_for("clone")
    t, a = make_pair(rng, (4, 5), "float32", "T")
    c = t.clone()
    assert c.data_ptr() != t.data_ptr()
    assert_equal(c, a)
    k = t.contiguous()
    assert k.is_contiguous() and k.data_ptr() != t.data_ptr()
    assert_equal(k, a)
    assert c.stride() == t.stride()  # clone keeps the dense permuted layout, like torch's preserve_format
    kk = k.contiguous()
    assert kk.data_ptr() == k.data_ptr()  # already contiguous: the same tensor
    c[0, 0] = 100.0
    assert to_numpy(t)[0, 0] == a[0, 0]  # clone does not share memory


@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int8", "bool", "float64"])
def test_contiguous_of_every_layout(dtype, case):
    shape, layout = case
    t, a = make_pair(rng_for("contig", dtype, shape, layout), shape, dtype, layout)
    c = t.contiguous()
    assert c.is_contiguous()
    assert c.stride() == tuple(np.zeros(shape).strides[i] // 8 for i in range(len(shape))) or c.numel() <= 1
    assert_equal(c, a, dtype=dtype)
