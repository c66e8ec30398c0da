"""Elementwise unary and binary ops against numpy (torch where numpy lacks the function)."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from conftest import (
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
)


def _torch64(fn):
    return lambda x: fn(torch.from_numpy(np.array(x, dtype=np.float64, order="C"))).numpy()


def _gelu_tanh64(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


# name -> (float64 reference, (low, high) input range, f32 atol, f64 atol)
UNARY_FLOAT = {
    "exp": (np.exp, (-20, 20), 0.0, 0.0),
    "log": (np.log, (0.01, 100), 1e-7, 1e-15),
    "log1p": (np.log1p, (-0.9, 10), 0.0, 0.0),
    "expm1": (np.expm1, (-5, 5), 0.0, 0.0),
    "sin": (np.sin, (-10, 10), 1e-6, 1e-15),
    "cos": (np.cos, (-10, 10), 1e-6, 1e-15),
    "tan": (np.tan, (-1.4, 1.4), 1e-7, 1e-15),
    "tanh": (np.tanh, (-10, 10), 0.0, 0.0),
    "sqrt": (np.sqrt, (0, 100), 0.0, 0.0),
    "rsqrt": (lambda x: 1.0 / np.sqrt(x), (0.01, 100), 0.0, 0.0),
    "reciprocal": (lambda x: 1.0 / x, (0.05, 20), 0.0, 0.0),
    "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)), (-20, 20), 0.0, 0.0),
    "gelu": (_torch64(lambda t: torch.nn.functional.gelu(t)), (-6, 6), 1e-6, 1e-14),
    "gelu_tanh": (_gelu_tanh64, (-6, 6), 1e-6, 1e-14),
    "silu": (_torch64(torch.nn.functional.silu), (-20, 20), 1e-7, 1e-15),
    "softplus": (_torch64(torch.nn.functional.softplus), (-30, 30), 0.0, 0.0),
    "erf": (_torch64(torch.special.erf), (-4, 4), 1e-7, 1e-15),
}

UNARY_NUMERIC = {
    "neg": np.negative,
    "abs": np.abs,
    "square": np.square,
    "sign": np.sign,
    "relu": lambda x: np.maximum(x, np.zeros((), x.dtype)),
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "trunc": np.trunc,
}


def _sprinkle_small(a, rng, dtype):
    """Replaces some elements by tiny values (|x| ~ 1e-6..1e-2) where relative accuracy matters."""
    if a.size == 0 or a.ndim == 0:
        return a
    a = a.copy()
    flat = a.reshape(-1)
    n = max(1, flat.size // 5)
    pos = rng.choice(flat.size, n, replace=False)
    small = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-6, -2, n)
    flat[pos] = small.astype(a.dtype)
    return a


def _unary_input(op, dtype, shape, layout):
    ref, (lo, hi), _, _ = UNARY_FLOAT[op]
    rng = rng_for("unary", op, dtype, shape, layout)
    from conftest import base_shape, random_array

    base = random_array(rng, base_shape(shape, layout), dtype, lo, hi)
    if op in ("log1p", "expm1", "sin", "tan", "tanh", "erf", "silu", "gelu", "sigmoid"):
        base = _sprinkle_small(base, rng, dtype)
    return make_pair(rng, shape, dtype, layout, array=base)


@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("op", list(UNARY_FLOAT))
def test_unary_float(op, dtype, case):
    shape, layout = case
    t, a = _unary_input(op, dtype, shape, layout)
    ref, _, atol32, atol64 = UNARY_FLOAT[op]
    expected = ref(as_f64(a))
    for out, how in ((getattr(ember, op)(t), "ember." + op), (getattr(t, op)(), "Tensor." + op)):
        if dtype == "float64":
            assert_close(out, expected, dtype, atol=atol64, what=how)
        elif dtype == "float32":
            assert_close(out, expected, dtype, atol=atol32, what=how)
        else:
            # computed in float32 and rounded: 1 ulp of the dtype (+ the float32 absolute error)
            assert_close(out, expected, dtype, ulps=1, atol=atol32, what=how)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "uint32", "bool"])
@pytest.mark.parametrize("op", list(UNARY_FLOAT))
def test_unary_float_ops_on_integers_compute_in_float32(op, dtype):
    rng = rng_for("unary-int", op, dtype)
    ref, (lo, hi), atol32, _ = UNARY_FLOAT[op]
    if dtype == "bool":
        a = rng.random((4, 9)) < 0.5
        if op in ("log", "rsqrt", "reciprocal"):
            a[:] = True
    else:
        ilo = max(int(math.ceil(lo)), 1 if op in ("log", "rsqrt", "reciprocal") else 0 if dtype.startswith("u") else -5)
        ihi = max(int(math.floor(hi)), ilo + 1)
        a = rng.integers(ilo, ihi, size=(4, 9)).astype(NP_DTYPE[dtype])
    t = to_ember(a)
    out = getattr(ember, op)(t)
    assert out.dtype == ember.float32
    assert_close(out, ref(as_f64(a.astype(np.float32))), "float32", atol=atol32)


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize(
    "op, expected",
    [
        ("exp", [1, 1, np.inf, 0, np.nan]),
        ("log", [-np.inf, -np.inf, np.inf, np.nan, np.nan]),
        ("sqrt", [0, 0, np.inf, np.nan, np.nan]),
        ("tanh", [0, 0, 1, -1, np.nan]),
        ("sigmoid", [0.5, 0.5, 1, 0, np.nan]),
        ("erf", [0, 0, 1, -1, np.nan]),
        ("expm1", [0, 0, np.inf, -1, np.nan]),
        ("log1p", [0, 0, np.inf, np.nan, np.nan]),
        ("relu", [0, 0, np.inf, 0, np.nan]),
        ("softplus", [math.log(2), math.log(2), np.inf, 0, np.nan]),
        ("silu", [0, 0, np.inf, np.nan, np.nan]),
        ("abs", [0, 0, np.inf, np.inf, np.nan]),
        ("neg", [-0.0, 0.0, -np.inf, np.inf, np.nan]),
        ("floor", [0, 0, np.inf, -np.inf, np.nan]),
        ("sign", [0, 0, 1, -1, np.nan]),
    ],
)
def test_unary_special_values(op, expected, dtype):
    """inf, -inf, NaN and signed zeros behave like torch (silu(-inf) is NaN in torch, too)."""
    t = ember.tensor(SPECIAL.tolist(), dtype=edtype(dtype))
    out = getattr(ember, op)(t)
    assert_equal(out, round_to(expected, dtype), what=f"{op}({SPECIAL.tolist()})")
    if op == "sign":
        return  # numpy: sign(nan) is nan (torch says 0); ember follows numpy here
    # cross-check the table with torch
    tt = torch.tensor(SPECIAL, dtype=torch.float64)
    tfn = {"relu": torch.relu, "softplus": torch.nn.functional.softplus, "silu": torch.nn.functional.silu}.get(
        op, getattr(torch, op, None)
    )
    np.testing.assert_array_equal(tfn(tt).numpy(), np.asarray(expected, dtype=np.float64))


@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES)
@pytest.mark.parametrize("op", list(UNARY_NUMERIC))
def test_unary_numeric(op, dtype, case):
    shape, layout = case
    rng = rng_for("numeric", op, dtype, shape, layout)
    if dtype in FLOAT_DTYPES:
        # many exact halves for round/floor/ceil/trunc, plus general values
        from conftest import base_shape

        bs = base_shape(shape, layout)
        base = (rng.integers(-40, 40, size=bs) * 0.5 + rng.choice([0, 0, 0.25, 0.1], size=bs)).astype(NP_DTYPE[dtype])
        t, a = make_pair(rng, shape, dtype, layout, array=base)
        expected = UNARY_NUMERIC[op](as_f64(a))
        expected = round_to(expected, dtype)
    else:
        t, a = make_pair(rng, shape, dtype, layout)
        if op in ("floor", "ceil", "round", "trunc"):
            expected = a.copy()  # identity on integers (numpy's trunc would return floats)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = UNARY_NUMERIC[op](a)
    for out in (getattr(ember, op)(t), getattr(t, op)()):
        assert_equal(out, expected, dtype=dtype, what=f"{op}")


def test_round_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.49999997, 1e7 + 0.5, -7.5], dtype=np.float32)
    assert_equal(ember.round(ember.tensor(x)), np.round(x))
    assert_equal(ember.round(ember.tensor(x.astype(np.float64))), np.round(x.astype(np.float64)))


def test_integer_neg_abs_wrap_like_numpy():
    a = np.array([-128, -1, 0, 1, 127], dtype=np.int8)
    assert_equal(ember.neg(ember.tensor(a)), -a)
    assert_equal(ember.abs(ember.tensor(a)), np.abs(a))  # abs(-128) == -128 in int8, as numpy and torch
    u = np.array([0, 1, 200, 255], dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_equal(ember.neg(ember.tensor(u)), np.negative(u))
    assert_equal(-ember.tensor(u), np.negative(u))
    assert_equal(ember.sign(ember.tensor(u)), np.sign(u))


@pytest.mark.parametrize("op", list(UNARY_NUMERIC))
def test_numeric_ops_reject_bool(op):
    with pytest.raises(TypeError, match=op):
        getattr(ember, op)(ember.tensor([True, False]))


@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
@pytest.mark.parametrize("case", ELEMENTWISE_CASES[::2], ids=case_id)
def test_bitwise_not(dtype, case):
    shape, layout = case
    rng = rng_for("not", dtype, shape, layout)
    t, a = make_pair(rng, shape, dtype, layout, low=None)
    for out in (ember.bitwise_not(t), ~t, t.bitwise_not()):
        assert_equal(out, np.invert(a), dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bitwise_not_rejects_floats(dtype):
    with pytest.raises(TypeError, match="bitwise_not"):
        ~ember.ones(3, dtype=edtype(dtype))


# ---------------------------------------------------------------------------------------------
# binary ops

BINARY_CASES = [
    ((), "contig", (), "contig"),
    ((5,), "contig", (), "contig"),
    ((), "contig", (6,), "step"),
    ((0,), "contig", (1,), "contig"),
    ((3, 0, 2), "contig", (2,), "contig"),
    ((37,), "contig", (37,), "contig"),
    ((259,), "contig", (259,), "step"),
    ((7, 13), "T", (7, 13), "contig"),
    ((3, 1), "contig", (1, 4), "contig"),
    ((5, 9), "step", (9,), "contig"),
    ((2, 3, 17), "perm", (2, 3, 17), "T"),
    ((4, 1, 6), "expand", (4, 5, 6), "step"),
    ((3, 5, 7), "expand", (3, 5, 7), "expand"),
    ((2, 1, 4, 5), "contig", (3, 1, 5), "perm"),
]


def bcase_id(c):
    sa, la, sb, lb = c
    f = lambda s: "x".join(map(str, s)) or "scalar"  # noqa: E731
    return f"{f(sa)}{la}-{f(sb)}{lb}"


def _binary_inputs(tag, dtype, case, low=None, high=None, low_b=None, high_b=None, nonzero_b=False, grid=False):
    sa, la, sb, lb = case
    rng = rng_for("binary", tag, dtype, case)
    from conftest import base_shape, random_array

    def arr(shape, layout, lo, hi):
        bs = base_shape(shape, layout)
        if grid and dtype in FLOAT_DTYPES:
            return (rng.integers(-4, 5, size=bs) * 0.5).astype(NP_DTYPE[dtype])
        if grid and dtype != "bool":
            return random_array(rng, bs, dtype, 0 if dtype.startswith("u") else -3, 4)
        return random_array(rng, bs, dtype, lo, hi)

    A = arr(sa, la, low, high)
    B = arr(sb, lb, low_b if low_b is not None else low, high_b if high_b is not None else high)
    if nonzero_b and B.size:
        B = np.where(B == 0, np.ones((), B.dtype), B).astype(B.dtype)
    ta, a = make_pair(rng, sa, dtype, la, array=A)
    tb, b = make_pair(rng, sb, dtype, lb, array=B)
    return ta, a, tb, b


def _np_int_op(fn, a, b):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(a, b)


EXACT_ARITH = {
    "add": (np.add, lambda x, y: x + y),
    "sub": (np.subtract, lambda x, y: x - y),
    "mul": (np.multiply, lambda x, y: x * y),
    "maximum": (np.maximum, None),
    "minimum": (np.minimum, None),
}


@pytest.mark.parametrize("case", BINARY_CASES, ids=bcase_id)
@pytest.mark.parametrize(
    "op, dtype",
    # bool - bool is rejected (test_bool_sub_is_rejected)
    [(o, d) for o in EXACT_ARITH for d in FLOAT_DTYPES + INT_DTYPES + ["bool"] if not (o == "sub" and d == "bool")],
)
def test_binary_exact_arith(op, dtype, case):
    ta, a, tb, b = _binary_inputs(op, dtype, case)
    npfn, pyop = EXACT_ARITH[op]
    if dtype in FLOAT_DTYPES:
        expected = npfn(as_f64(a), as_f64(b))
        expected = round_to(expected, dtype)  # correctly rounded, as IEEE arithmetic in the dtype
    else:
        expected = _np_int_op(npfn, a, b)
    outs = [getattr(ember, op)(ta, tb), getattr(ta, op)(tb)]
    if pyop is not None:
        outs.append(pyop(ta, tb))
    for out in outs:
        assert_equal(out, expected, dtype=dtype, what=op)


def test_bool_sub_is_rejected():
    with pytest.raises(TypeError, match="sub"):
        ember.tensor([True]) - ember.tensor([False])


@pytest.mark.parametrize("case", BINARY_CASES, ids=bcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_div_float(dtype, case):
    ta, a, tb, b = _binary_inputs("div", dtype, case, low_b=0.1, high_b=9.0)
    expected = round_to(as_f64(a) / as_f64(b), dtype)
    for out in (ember.div(ta, tb), ta / tb, ta.div(tb), ember.true_divide(ta, tb)):
        assert_equal(out, expected, dtype=dtype, what="div")


@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
def test_div_integers_gives_float32(dtype):
    rng = rng_for("intdiv", dtype)
    a = (rng.random((6, 7)) < 0.5) if dtype == "bool" else rng.integers(0 if dtype.startswith("u") else -50, 50, (6, 7)).astype(NP_DTYPE[dtype])
    b = (rng.random((7,)) < 0.5) if dtype == "bool" else rng.integers(0 if dtype.startswith("u") else -5, 6, (7,)).astype(NP_DTYPE[dtype])
    with np.errstate(all="ignore"):
        expected = a.astype(np.float32) / b.astype(np.float32)  # includes x/0 -> inf and 0/0 -> nan
    assert_equal(to_ember(a) / to_ember(b), expected, dtype="float32", what="int / int")


@pytest.mark.parametrize("case", BINARY_CASES, ids=bcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES)
def test_floor_divide_and_remainder(dtype, case):
    signed = not dtype.startswith("u")
    ta, a, tb, b = _binary_inputs(
        "fdiv", dtype, case, low=-50 if signed else 0, high=50, low_b=-7 if signed else 1, high_b=8, nonzero_b=True
    )
    if dtype in FLOAT_DTYPES:
        # numpy's divmod in float32 for the half types (ember computes them in float32), natively otherwise
        wd = np.float64 if dtype == "float64" else np.float32
        a64, b64 = a.astype(wd), b.astype(wd)
        exp_div = round_to(np.floor_divide(a64, b64).astype(np.float64), dtype)
        exp_rem = round_to(np.remainder(a64, b64).astype(np.float64), dtype)
    else:
        exp_div = _np_int_op(np.floor_divide, a, b)
        exp_rem = _np_int_op(np.remainder, a, b)
    for out in (ember.floor_divide(ta, tb), ta // tb, ember.div(ta, tb, rounding_mode="floor")):
        assert_equal(out, exp_div, dtype=dtype, what="floor_divide")
    for out in (ember.remainder(ta, tb), ta % tb):
        assert_equal(out, exp_rem, dtype=dtype, what="remainder")


def test_floor_divide_float_edge_cases_match_python():
    a = np.array([1.0, -1.0, 7.0, -7.0, 0.0, -0.0, 5.0], dtype=np.float64)
    b = np.array([0.1, 0.1, -2.0, 2.0, -3.0, 3.0, 0.5], dtype=np.float64)
    exp = np.array([x // y for x, y in zip(a.tolist(), b.tolist())])
    got = ember.floor_divide(ember.tensor(a), ember.tensor(b))
    assert_equal(got, exp)
    assert np.array_equal(np.signbit(got.numpy()), np.signbit(exp)), (got.numpy(), exp)
    rem = np.array([x % y for x, y in zip(a.tolist(), b.tolist())])
    assert_equal(ember.remainder(ember.tensor(a), ember.tensor(b)), rem)


def test_div_rounding_mode_trunc():
    a = np.array([7.0, -7.0, 7.5, -7.5, 1.0], dtype=np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0], dtype=np.float32)
    assert_equal(ember.div(ember.tensor(a), ember.tensor(b), rounding_mode="trunc"), np.trunc(a / b))
    assert_equal(ember.tensor(a).div(ember.tensor(b), rounding_mode="floor"), np.floor_divide(a, b))
    with pytest.raises(ValueError, match="rounding_mode"):
        ember.div(ember.tensor(a), ember.tensor(b), rounding_mode="nearest")


@pytest.mark.parametrize("case", BINARY_CASES, ids=bcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_pow_float(dtype, case):
    ta, a, tb, b = _binary_inputs("pow", dtype, case, low=0.1, high=4.0, low_b=-3.0, high_b=3.0)
    expected = np.power(as_f64(a), as_f64(b))
    for out in (ember.pow(ta, tb), ta**tb, ta.pow(tb)):
        if dtype == "float32":
            assert_close(out, expected, rtol=4e-6, what="pow")
        else:
            assert_close(out, expected, dtype, what="pow")


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_pow_int(dtype):
    signed = not dtype.startswith("u")
    rng = rng_for("ipow", dtype)
    a = rng.integers(-3 if signed else 0, 4, (5, 6)).astype(NP_DTYPE[dtype])
    b = rng.integers(0, 5, (6,)).astype(NP_DTYPE[dtype])
    assert_equal(ember.pow(to_ember(a), to_ember(b)), np.power(a, b), dtype=dtype)
    assert_equal(to_ember(a) ** 3, np.power(a, 3), dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("exponent", [2, 2.0, 0.5, -1, -1.0, -0.5, 1, 0, 3, 1.5, -2])
def test_pow_scalar_exponent_fast_paths(dtype, exponent):
    rng = rng_for("pows", dtype, exponent)
    t, a = make_pair(rng, (9, 11), dtype, "T", low=0.1, high=5.0)
    expected = np.power(as_f64(a), float(exponent))
    out = t**exponent
    if dtype == "float32":
        assert_close(out, expected, rtol=4e-6)
    else:
        assert_close(out, expected, dtype)
    # x ** 1 is a copy, not the same memory
    if exponent == 1:
        assert out.data_ptr() != t.data_ptr()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_scalar_base_pow(dtype):
    t, a = make_pair(rng_for("rpow", dtype), (4, 5), dtype, "contig", low=-3, high=3)
    assert_close(2**t, np.power(2.0, as_f64(a)), dtype, rtol=4e-6 if dtype == "float32" else None)
    assert_close(ember.pow(2.5, t), np.power(2.5, as_f64(a)), dtype, rtol=4e-6 if dtype == "float32" else None)


def test_int_pow_negative_scalar_exponent_raises():
    with pytest.raises(ValueError, match="pow"):
        ember.tensor([1, 2, 3]) ** -1


@pytest.mark.parametrize("case", BINARY_CASES, ids=bcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_atan2(dtype, case):
    ta, a, tb, b = _binary_inputs("atan2", dtype, case, low=-5, high=5)
    expected = np.arctan2(as_f64(a), as_f64(b))
    out = ember.atan2(ta, tb)
    if dtype in ("float32", "float64"):
        assert_close(out, expected, atol=1e-7 if dtype == "float32" else 1e-15)
    else:
        assert_close(out, expected, dtype, atol=1e-7)


COMPARE = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
COMPARE_OPS = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__"}


@pytest.mark.parametrize("case", BINARY_CASES, ids=bcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + ["bool"])
@pytest.mark.parametrize("op", list(COMPARE))
def test_compare(op, dtype, case):
    ta, a, tb, b = _binary_inputs("cmp", dtype, case, grid=True)
    if dtype == "bfloat16":
        a, b = as_f64(a), as_f64(b)
    expected = COMPARE[op](a, b)
    for out in (getattr(ember, op)(ta, tb), getattr(ta, op)(tb), getattr(ta, COMPARE_OPS[op])(tb)):
        assert_equal(out, expected, dtype="bool", what=op)


def test_compare_nan():
    x = ember.tensor([1.0, float("nan"), float("nan")])
    y = ember.tensor([float("nan"), 1.0, float("nan")])
    assert (x == y).tolist() == [False, False, False]
    assert (x != y).tolist() == [True, True, True]
    assert (x < y).tolist() == [False, False, False]
    assert (x >= y).tolist() == [False, False, False]


BITWISE = {"bitwise_and": (np.bitwise_and, "__and__"), "bitwise_or": (np.bitwise_or, "__or__"), "bitwise_xor": (np.bitwise_xor, "__xor__")}


@pytest.mark.parametrize("case", BINARY_CASES[::2], ids=bcase_id)
@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
@pytest.mark.parametrize("op", list(BITWISE))
def test_bitwise_binary(op, dtype, case):
    rng_lo = {"uint8": 0, "int8": -128, "uint32": 0, "int32": -(2**31), "int64": -(2**62)}
    rng_hi = {"uint8": 256, "int8": 128, "uint32": 2**32, "int32": 2**31, "int64": 2**62}
    lo, hi = (None, None) if dtype == "bool" else (rng_lo[dtype], rng_hi[dtype])
    ta, a, tb, b = _binary_inputs(op, dtype, case, low=lo, high=hi)
    npfn, dunder = BITWISE[op]
    for out in (getattr(ember, op)(ta, tb), getattr(ta, dunder)(tb)):
        assert_equal(out, npfn(a, b), dtype=dtype, what=op)


@pytest.mark.parametrize("op", list(BITWISE))
def test_bitwise_rejects_floats(op):
    with pytest.raises(TypeError, match=op):
        getattr(ember, op)(ember.ones(3), ember.ones(3))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_maximum_minimum_propagate_nan(dtype):
    """numpy.maximum / torch.maximum: a NaN in either operand gives NaN."""
    a = ember.tensor([float("nan"), 1.0, float("nan"), 2.0], dtype=edtype(dtype))
    b = ember.tensor([1.0, float("nan"), float("nan"), 3.0], dtype=edtype(dtype))
    nan = float("nan")
    assert_equal(ember.maximum(a, b), np.array([nan, nan, nan, 3.0]), what="maximum")
    assert_equal(ember.minimum(a, b), np.array([nan, nan, nan, 2.0]), what="minimum")


def test_relu_and_clamp_propagate_nan():
    """torch.relu(nan) and torch.clamp(nan, ...) are NaN."""
    x = ember.tensor([float("nan"), -1.0, 2.0])
    assert_equal(ember.relu(x), np.array([np.nan, 0.0, 2.0]), what="relu")
    assert_equal(ember.clamp(x, -0.5, 0.5), np.array([np.nan, -0.5, 0.5]), what="clamp")


# ---------------------------------------------------------------------------------------------
# scalars, reflected and in-place operators


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ["int32", "int64", "uint8", "int8"])
def test_python_scalar_operands(dtype):
    rng = rng_for("pyscalar", dtype)
    if dtype in FLOAT_DTYPES:
        t, a = make_pair(rng, (3, 4), dtype, "T", low=0.5, high=4)
        a = as_f64(a)
        rt = lambda x: round_to(x, dtype)  # noqa: E731
        checks = [
            (t + 2, rt(a + 2)), (2 + t, rt(2 + a)), (t - 1.5, rt(a - 1.5)), (1.5 - t, rt(1.5 - a)),
            (t * 3, rt(a * 3)), (3 * t, rt(3 * a)), (t / 4, rt(a / 4)), (4 / t, rt(4 / a)),
            (t // 0.75, rt(np.floor_divide(a, 0.75))), (7 // t, rt(np.floor_divide(7.0, a))),
            (t % 1.25, rt(np.remainder(a, 1.25))), (5 % t, rt(np.remainder(5.0, a))),
            (-t, rt(-a)), (+t, rt(a)), (abs(-t), rt(a)),
        ]
        for got, exp in checks:
            assert got.dtype == edtype(dtype), got.dtype
            if dtype in ("float32", "float64"):
                assert_equal(got, exp)  # IEEE arithmetic in the dtype: exactly numpy's float64 result rounded
            else:
                assert_close(got, exp, dtype, ulps=1)
    else:
        signed = not dtype.startswith("u")
        t, a = make_pair(rng, (3, 4), dtype, "step", low=1, high=10)
        with np.errstate(all="ignore"):
            checks = [
                (t + 2, a + np.array(2, a.dtype)), (2 + t, np.array(2, a.dtype) + a), (t * 3, a * np.array(3, a.dtype)),
                (t - 1, a - np.array(1, a.dtype)), (20 - t, np.array(20, a.dtype) - a),
                (t // 3, a // np.array(3, a.dtype)), (30 // t, np.array(30, a.dtype) // a),
                (t % 3, a % np.array(3, a.dtype)), (30 % t, np.array(30, a.dtype) % a),
                (t & 6, a & np.array(6, a.dtype)), (6 | t, np.array(6, a.dtype) | a), (t ^ 5, a ^ np.array(5, a.dtype)),
            ]
        for got, exp in checks:
            assert_equal(got, exp, dtype=dtype)
        # int tensor with a float scalar -> float32 (a higher category), true division -> float32
        assert_equal(t * 1.5, a.astype(np.float32) * np.float32(1.5), dtype="float32")
        assert_equal(t / 2, a.astype(np.float32) / np.float32(2), dtype="float32")
        assert_equal(2 / t, np.float32(2) / a.astype(np.float32), dtype="float32")
        if signed:
            assert_equal(-t, -a, dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES)
def test_inplace_operators_write_in_place(dtype):
    rng = rng_for("inplace", dtype)
    base = to_ember(np.zeros((4, 6), NP_DTYPE[dtype]))
    view = base[1::2, ::3]  # strided view into base
    t, a = make_pair(rng, (2, 2), dtype, "contig", low=1, high=5)
    view.copy_(t)
    ptr = view.data_ptr()
    a = a.copy()
    other, o = make_pair(rng, (2,), dtype, "contig", low=1, high=3)
    ops = [
        ("__iadd__", np.add), ("__imul__", np.multiply), ("__isub__", np.subtract),
        ("__ifloordiv__", np.floor_divide), ("__imod__", np.remainder),
    ]
    if dtype in FLOAT_DTYPES:
        ops.append(("__itruediv__", np.divide))
    for dunder, npfn in ops:
        res = getattr(view, dunder)(other)
        assert res is view or res.data_ptr() == ptr
        with np.errstate(all="ignore"):
            if dtype in FLOAT_DTYPES:
                wd = np.float64 if dtype == "float64" else np.float32
                a = round_to(npfn(as_f64(a).astype(wd), as_f64(o).astype(wd)).astype(np.float64), dtype).astype(NP_DTYPE[dtype]) if dtype in ("float16", "bfloat16") else npfn(a, o)
            else:
                a = npfn(a, o).astype(NP_DTYPE[dtype])
        assert view.data_ptr() == ptr
        assert_equal(view, a, dtype=dtype, what=dunder)
    # the untouched elements of the base stay zero
    full = to_numpy(base) if dtype != "bfloat16" else as_f64(to_numpy(base))
    mask = np.ones((4, 6), bool)
    mask[1::2, ::3] = False
    assert np.all(full[mask] == 0)


def test_inplace_methods_and_python_ops():
    x = ember.tensor([1.0, 2.0, 3.0])
    y = x
    x += 1
    assert x is y
    assert x.tolist() == [2.0, 3.0, 4.0]
    x.mul_(2).sub_(1)
    assert x.tolist() == [3.0, 5.0, 7.0]
    x.maximum_(ember.tensor(5.0))
    assert x.tolist() == [5.0, 5.0, 7.0]
    x **= 2
    assert x.tolist() == [25.0, 25.0, 49.0]
    x.clamp_(max=30)
    assert x.tolist() == [25.0, 25.0, 30.0]
    x.masked_fill_(ember.tensor([True, False, False]), -1)
    assert x.tolist() == [-1.0, 25.0, 30.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    x.fill_(2.5)
    assert x.tolist() == [2.5, 2.5, 2.5]


def test_inplace_category_and_shape_errors():
    i = ember.tensor([1, 2, 3])
    with pytest.raises(TypeError):
        i += 1.5  # float result cannot be written into int64 (torch: same)
    with pytest.raises(TypeError):
        i /= 2
    f = ember.zeros(3)
    with pytest.raises(ValueError, match="shape"):
        f += ember.ones(2, 3)  # broadcast shape differs from the in-place tensor
    # int into float works and keeps float
    f += ember.tensor([1, 2, 3])
    assert f.dtype == ember.float32 and f.tolist() == [1.0, 2.0, 3.0]


def test_inplace_with_aliasing_operand():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = ember.tensor(a)
    t += t.T.T  # same layout
    assert_equal(t, a * 2)
    s = ember.tensor(np.arange(16, dtype=np.float32).reshape(4, 4))
    ref = np.arange(16, dtype=np.float32).reshape(4, 4)
    s += s.T  # overlapping operand in another layout: torch gives ref + ref.T
    assert_equal(s, ref + ref.T)


# ---------------------------------------------------------------------------------------------
# where, clamp, masked_fill


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + ["bool"])
@pytest.mark.parametrize(
    "shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((), (5,), ()), ((2, 0, 3), (3,), (1, 3)), ((2, 3, 4), (4, 3, 2), (3, 1))]
)
def test_where(dtype, shapes):
    sc, sa, sb = shapes
    rng = rng_for("where", dtype, shapes)
    cond_np = rng.random(sc) < 0.5
    if sa == (4, 3, 2):  # a permuted operand of shape (2, 3, 4)
        ta, a = make_pair(rng, (2, 3, 4), dtype, "perm")
    else:
        ta, a = make_pair(rng, sa, dtype, "contig")
    tb, b = make_pair(rng, sb, dtype, "contig")
    cond = ember.tensor(cond_np)
    exp = np.where(cond_np, a, b)
    assert_equal(ember.where(cond, ta, tb), exp, dtype=dtype)
    assert_equal(ta.where(cond, tb), exp, dtype=dtype)


def test_where_scalars_and_promotion():
    c = ember.tensor([True, False, True])
    x = ember.tensor([1, 2, 3], dtype=ember.int32)
    r = ember.where(c, x, 0.5)
    assert r.dtype == ember.float32
    assert r.tolist() == [1.0, 0.5, 3.0]
    r = ember.where(c, x, 7)
    assert r.dtype == ember.int32 and r.tolist() == [1, 7, 3]
    r = ember.where(c, ember.tensor([1.0], dtype=ember.float16), ember.tensor([2.0], dtype=ember.bfloat16))
    assert r.dtype == ember.float32 and r.tolist() == [1.0, 2.0, 1.0]
    # a non-bool condition means != 0
    r = ember.where(ember.tensor([0, 2, -1]), 1.0, 0.0)
    assert r.tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES)
@pytest.mark.parametrize("case", ELEMENTWISE_CASES[::3], ids=case_id)
def test_clamp(dtype, case):
    shape, layout = case
    rng = rng_for("clamp", dtype, shape, layout)
    t, a = make_pair(rng, shape, dtype, layout, low=0 if dtype.startswith("u") else -20, high=20)
    lo, hi = (2, 9) if dtype.startswith("u") else (-3, 9)
    a64 = as_f64(a) if dtype == "bfloat16" else a
    for got, exp in (
        (ember.clamp(t, lo, hi), np.clip(a64, lo, hi)),
        (t.clamp(min=lo), np.maximum(a64, lo)),
        (t.clip(max=hi), np.minimum(a64, hi)),
        (ember.clip(t, lo, hi), np.clip(a64, lo, hi)),
    ):
        assert_equal(got, np.asarray(exp).astype(a.dtype) if dtype != "bfloat16" else exp, dtype=dtype)


def test_clamp_tensor_bounds_and_errors():
    a = np.array([[-5.0, 0.0, 5.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    lo = np.array([-1.0, 1.0, 2.0], dtype=np.float32)
    hi = np.array([[0.0], [2.5]], dtype=np.float32)
    got = ember.clamp(ember.tensor(a), ember.tensor(lo), ember.tensor(hi))
    assert_equal(got, np.minimum(np.maximum(a, lo), hi))
    got = ember.clamp(ember.tensor(a), ember.tensor(lo), 2.5)
    assert_equal(got, np.minimum(np.maximum(a, lo), 2.5))
    with pytest.raises(ValueError, match="clamp"):
        ember.clamp(ember.tensor(a))
    with pytest.raises(TypeError, match="clamp"):
        ember.clamp(ember.tensor([True]), 0, 1)


def test_clamp_float_bound_on_int_tensor_promotes():
    r = ember.clamp(ember.tensor([1, 5, 9]), 2.5, 7.5)
    assert r.dtype == ember.float32  # torch: result_type(int tensor, float scalar)
    assert r.tolist() == [2.5, 5.0, 7.5]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + ["bool"])
def test_masked_fill(dtype):
    rng = rng_for("masked_fill", dtype)
    t, a = make_pair(rng, (4, 6), dtype, "T")
    mask = rng.random((6,)) < 0.5
    value = True if dtype == "bool" else 3
    got = ember.masked_fill(t, ember.tensor(mask), value)
    exp = np.where(mask, np.array(value).astype(a.dtype), a)
    assert_equal(got, exp, dtype=dtype)
    got = t.masked_fill(ember.tensor(mask), ember.tensor(value))
    assert_equal(got, exp, dtype=dtype)
    # the input is unchanged
    assert_equal(t, a)


def test_masked_fill_errors():
    x = ember.zeros(2, 3)
    with pytest.raises(TypeError, match="masked_fill"):
        x.masked_fill(ember.tensor([1, 0, 1]), 1.0)
    with pytest.raises(ValueError, match="masked_fill"):
        x.masked_fill(ember.tensor([[True], [False], [True]]), 1.0)
    with pytest.raises(ValueError, match="masked_fill"):
        x.masked_fill(ember.tensor([True, False, True]), ember.ones(3))


# ---------------------------------------------------------------------------------------------
# mixed-dtype arithmetic: values are cast to the promoted dtype before computing

MIX_DTYPES = FLOAT_DTYPES + INT_DTYPES + ["bool"]


@pytest.mark.parametrize("da", MIX_DTYPES)
@pytest.mark.parametrize("db", MIX_DTYPES)
def test_mixed_dtype_add_mul_values(da, db):
    rng = rng_for("mix", da, db)
    lo = lambda d: 0 if d.startswith("u") else -6  # noqa: E731  (negative values for signed types)
    a = (rng.random((3, 4)) < 0.5) if da == "bool" else rng.integers(lo(da), 10, (3, 4)).astype(NP_DTYPE[da])
    b = (rng.random((4,)) < 0.5) if db == "bool" else rng.integers(lo(db), 10, (4,)).astype(NP_DTYPE[db])
    ta, tb = to_ember(a), to_ember(b)
    rt = ember.result_type(ta, tb)
    for got, fn in ((ta + tb, np.add), (ta * tb, np.multiply), (ember.maximum(ta, tb), np.maximum)):
        assert got.dtype == rt, (got.dtype, rt)
        exp = fn(as_f64(a), as_f64(b))
        if rt == ember.bool_:
            exp = exp != 0
        assert_equal(got, exp.astype(NP_DTYPE[rt.name]) if rt.name != "bfloat16" else exp, dtype=rt.name)
    cmp = ta < tb
    assert_equal(cmp, as_f64(a) < as_f64(b), dtype="bool")


INPLACE_FLOAT_OPS = ["add", "sub", "mul", "maximum", "minimum", "pow", "floor_divide", "remainder", "div", "atan2"]
INPLACE_INT_OPS = ["add", "sub", "mul", "maximum", "minimum", "pow", "floor_divide", "remainder", "bitwise_and", "bitwise_or", "bitwise_xor"]


@pytest.mark.parametrize(
    "op, dtype",
    [(o, d) for d in FLOAT_DTYPES for o in INPLACE_FLOAT_OPS] + [(o, d) for d in ["int32", "uint8", "int64"] for o in INPLACE_INT_OPS],
)
def test_inplace_method_equals_out_of_place(op, dtype):
    rng = rng_for("inplace-method", op, dtype)
    t, a = make_pair(rng, (6, 5), dtype, "T", low=1, high=4)
    o, _ = make_pair(rng, (5,), dtype, "contig", low=1, high=3)
    expected = to_numpy(getattr(ember, op)(t, o))
    ptr = t.data_ptr()
    r = getattr(t, op + "_")(o)
    assert r.data_ptr() == ptr and t.data_ptr() == ptr and t.stride() == (1, 6)
    assert_equal(t, expected, dtype=dtype, what=op + "_")
    # with a Python scalar
    before = to_numpy(t)
    expected = to_numpy(getattr(ember, op)(t, 2))
    getattr(t, op + "_")(2)
    assert_equal(t, expected, dtype=dtype, what=op + "_(2)")
    assert before.shape == expected.shape


def test_comparison_inplace_keeps_dtype():
    """torch: x.lt_(y) writes 0/1 into x's own dtype."""
    x = ember.tensor([1.0, 5.0, 3.0])
    x.lt_(ember.tensor([2.0, 2.0, 4.0]))
    assert x.dtype == ember.float32 and x.tolist() == [1.0, 0.0, 1.0]


def test_writes_into_expanded_views_raise():
    base = ember.zeros(1, 3)
    e = base.expand(2, 3)
    for write in (lambda: e.fill_(1.0), lambda: e.add_(1.0), lambda: e.copy_(ember.ones(2, 3)), lambda: e.__iadd__(1),
                  lambda: e.clamp_(0, 1), lambda: e.masked_fill_(ember.ones(2, 3, dtype=ember.bool_), 2.0)):
        with pytest.raises(ValueError, match="expanded|memory location"):
            write()
    assert base.tolist() == [[0.0, 0.0, 0.0]]
    e[1] = 7.0  # one row of an expanded view is a normal view: allowed (as in torch)
    assert base.tolist() == [[7.0, 7.0, 7.0]]
