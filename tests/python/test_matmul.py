"""matmul / @ with numpy semantics for f32, f64, f16 and bf16 (f16/bf16 accumulate in f32)."""

import numpy as np
import pytest

import ember
from conftest import FLOAT_DTYPES, NP_DTYPE, as_f64, assert_close, assert_equal, edtype, make_pair, rng_for, round_to

EPS = {"float32": 2.0**-24, "float64": 2.0**-53, "float16": 2.0**-24, "bfloat16": 2.0**-24}  # accumulation eps


def _operand(rng, shape, dtype, layout, integer=False):
    from conftest import base_shape, random_array

    if integer:
        base = rng.integers(-3, 4, size=base_shape(shape, layout)).astype(NP_DTYPE[dtype])
    else:
        base = random_array(rng, base_shape(shape, layout), dtype, -1, 1)
    return make_pair(rng, shape, dtype, layout, array=base)


def _check(got, a, b, dtype):
    a64, b64 = as_f64(a), as_f64(b)
    exp = np.matmul(a64, b64)
    k = a.shape[-1]
    mag = np.matmul(np.abs(a64), np.abs(b64))
    bound = max(k, 1) * EPS[dtype] * mag  # the worst-case error of a K-term dot product in the accumulator
    if dtype in ("float16", "bfloat16"):
        assert_close(got, exp, dtype, ulps=1, atol=bound, what="matmul")
    else:
        assert_close(got, exp, dtype, rtol=0.0, atol=bound, what="matmul")


MATMUL_CASES = [
    # (shape_a, layout_a, shape_b, layout_b)
    ((7,), "contig", (7,), "contig"),
    ((0,), "contig", (0,), "contig"),
    ((5,), "step", (5, 3), "contig"),
    ((4, 6), "contig", (6,), "step"),
    ((1, 64), "contig", (64, 40), "contig"),  # GEMV
    ((1, 64), "contig", (64, 40), "T"),  # GEMV with a transposed weight (x @ W.T)
    ((64,), "contig", (64, 33), "T"),
    ((17, 23), "contig", (23, 19), "contig"),
    ((17, 23), "T", (23, 19), "T"),
    ((33, 65), "step", (65, 31), "step"),
    ((8, 0), "contig", (0, 5), "contig"),  # K = 0: zeros
    ((0, 4), "contig", (4, 5), "contig"),
    ((3, 4), "contig", (4, 0), "contig"),
    ((2, 5, 7), "contig", (2, 7, 3), "contig"),
    ((2, 5, 7), "perm", (7, 3), "T"),
    ((3, 1, 4, 6), "contig", (5, 6, 2), "contig"),  # broadcast batch dims
    ((2, 3, 4, 6), "expand", (3, 6, 5), "expand"),  # stride-0 batch dims
    ((4,), "contig", (2, 3, 4, 5), "perm"),
    ((2, 3, 4, 5), "step", (5,), "contig"),
    ((96, 200), "contig", (200, 130), "T"),
]


def mcase_id(c):
    f = lambda s: "x".join(map(str, s))  # noqa: E731
    return f"{f(c[0])}{c[1]}@{f(c[2])}{c[3]}"


@pytest.mark.parametrize("case", MATMUL_CASES, ids=mcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_matmul_random(dtype, case):
    sa, la, sb, lb = case
    rng = rng_for("matmul", dtype, case)
    ta, a = _operand(rng, sa, dtype, la)
    tb, b = _operand(rng, sb, dtype, lb)
    got = ta @ tb
    assert got.shape == np.matmul(as_f64(a), as_f64(b)).shape
    _check(got, a, b, dtype)
    _check(ember.matmul(ta, tb), a, b, dtype)
    _check(ta.matmul(tb), a, b, dtype)


@pytest.mark.parametrize("case", MATMUL_CASES, ids=mcase_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_matmul_exact_on_small_integers(dtype, case):
    """Small integer values: every partial sum is exact in the accumulator, so the result is exact
    (rounded once to the dtype) -- any packing, tiling or edge bug shows as a wrong value."""
    sa, la, sb, lb = case
    rng = rng_for("matmul-int", dtype, case)
    ta, a = _operand(rng, sa, dtype, la, integer=True)
    tb, b = _operand(rng, sb, dtype, lb, integer=True)
    exp = np.matmul(as_f64(a), as_f64(b))
    assert_equal(ta @ tb, round_to(exp, dtype), dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("mkn", [(1, 1, 1), (1, 4096, 3), (1, 300, 513), (3, 1, 7), (5, 17, 1), (13, 128, 67), (70, 70, 70), (129, 31, 257)])
def test_matmul_sizes_exact(dtype, mkn):
    """Sizes around the micro-kernel and cache-block edges, GEMV (M=1) with a long K."""
    m, k, n = mkn
    rng = rng_for("sizes", dtype, mkn)
    hi = 2 if dtype == "bfloat16" and k > 64 else 4
    a = rng.integers(-hi, hi + 1, (m, k)).astype(NP_DTYPE[dtype])
    b = rng.integers(-hi, hi + 1, (k, n)).astype(NP_DTYPE[dtype])
    from conftest import to_ember

    exp = np.matmul(as_f64(a), as_f64(b))
    assert_equal(to_ember(a) @ to_ember(b), round_to(exp, dtype), dtype=dtype)
    # the same product with B given transposed in memory
    bt = np.ascontiguousarray(b.T)
    assert_equal(to_ember(a) @ to_ember(bt).T, round_to(exp, dtype), dtype=dtype)


def test_matmul_f16_accumulates_in_f32():
    """2049 ones: float16 accumulation would stop at 2048; float32 accumulation gives 2049 (then f16 rounds to 2048 or 2050)."""
    k = 4097
    a = ember.ones(1, k, dtype=ember.float16)
    b = ember.ones(k, 1, dtype=ember.float16)
    assert (a @ b).item() == 4096.0  # 4097 rounded to f16 (spacing 4): 4096
    c = ember.full((1, 3000), 1.0, dtype=ember.bfloat16) @ ember.full((3000, 1), 1.0, dtype=ember.bfloat16)
    assert c.item() == float(np.float32(3000).astype(NP_DTYPE["bfloat16"]))  # bf16 accumulation would stall at 256


def test_matmul_mixed_float_dtypes_promote():
    a = ember.ones(2, 3, dtype=ember.float16)
    b = ember.ones(3, 2, dtype=ember.bfloat16)
    r = a @ b
    assert r.dtype == ember.float32 and r.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    r = ember.ones(2, 3) @ ember.ones(3, dtype=ember.float64)
    assert r.dtype == ember.float64


def test_matmul_does_not_modify_inputs_and_returns_contiguous():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 6)).astype(np.float32)
    b = rng.standard_normal((6, 4)).astype(np.float32)
    ta, tb = ember.tensor(a), ember.tensor(b)
    r = ta @ tb
    assert r.is_contiguous()
    assert_equal(ta, a)
    assert_equal(tb, b)


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        ember.ones(2, 3) @ ember.ones(4, 5)
    with pytest.raises(ValueError, match=r"matmul.*\(3,\).*\(4,\)"):
        ember.ones(3) @ ember.ones(4)
    with pytest.raises(ValueError, match="matmul"):
        ember.ones(2, 3, 4) @ ember.ones(3, 4, 5)  # batch dims 2 and 3 do not broadcast
    with pytest.raises(ValueError, match="matmul"):
        ember.tensor(2.0) @ ember.ones(3)
    with pytest.raises(NotImplementedError, match=r"matmul.*int64"):
        ember.ones(2, 2, dtype=ember.int64) @ ember.ones(2, 2, dtype=ember.int64)
    with pytest.raises(NotImplementedError, match="matmul"):
        ember.ones(2, 2, dtype=ember.bool_) @ ember.ones(2, 2, dtype=ember.bool_)
