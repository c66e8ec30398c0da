"""Shared helpers for ember's Python tests.

Every op is checked against numpy (or torch where numpy lacks the function) on the same inputs:
an input is made once in numpy, copied into ember, and then the same view (transpose, step slice,
expand, permute) is applied on both sides, so ember's kernels see strided, offset and stride-0
inputs while the reference sees the very same values.

Tolerances: f32/f64 results are compared with the exact (float64) function of the same rounded
inputs using rtol/atol; f16/bf16 results are compared in units of the dtype's ulp after rounding the
float64 reference to the dtype.
"""

import os
import subprocess
import sys
import textwrap

import ml_dtypes
import numpy as np
import pytest

import ember

# ---------------------------------------------------------------------------------------------
# dtypes

FLOAT_DTYPES = ["float32", "float64", "float16", "bfloat16"]
INT_DTYPES = ["uint8", "int8", "uint32", "int32", "int64"]
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + ["bool"]

NP_DTYPE = {
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "uint8": np.dtype(np.uint8),
    "int8": np.dtype(np.int8),
    "uint32": np.dtype(np.uint32),
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "bool": np.dtype(np.bool_),
}

# (mantissa bits, smallest normal exponent)
_FLOAT_FORMAT = {"float16": (10, -14), "bfloat16": (7, -126), "float32": (23, -126), "float64": (52, -1022)}


def edtype(name):
    """The ember dtype object for a dtype name."""
    return getattr(ember, "bool_" if name == "bool" else name)


def dtype_name(d):
    """'float32' for ember.float32 etc."""
    return d.name


def is_float(name):
    return name in FLOAT_DTYPES


def torch_dtype(name):
    import torch

    return {"bool": torch.bool}.get(name) or getattr(torch, name)


# ---------------------------------------------------------------------------------------------
# inputs


def rng_for(*key):
    """A numpy Generator seeded from the test's parameters (stable across runs and processes)."""
    import zlib

    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def random_array(rng, shape, dtype, low=None, high=None):
    """A numpy array of `dtype` (name) with values in [low, high)."""
    npd = NP_DTYPE[dtype]
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if is_float(dtype):
        lo = -4.0 if low is None else low
        hi = 4.0 if high is None else high
        return rng.uniform(lo, hi, size=shape).astype(npd)
    info = np.iinfo(npd)
    lo = max(info.min, -100) if low is None else low
    hi = min(info.max, 100) if high is None else high
    return rng.integers(lo, hi, size=shape, endpoint=False).astype(npd)


def to_ember(a, dtype=None):
    """A contiguous ember tensor holding a copy of numpy array `a` (bf16 goes through float32, exactly)."""
    name = dtype or _np_name(a.dtype)
    if name == "bfloat16":
        return ember.tensor(a.astype(np.float32, order="C")).to(ember.bfloat16)
    return ember.tensor(a.copy(order="C"))


def _np_name(npd):
    for k, v in NP_DTYPE.items():
        if v == npd:
            return k
    raise TypeError(npd)


def to_numpy(t):
    """A numpy copy of an ember tensor (bf16 as an ml_dtypes.bfloat16 array)."""
    return np.array(t.numpy(), copy=True)


def as_f64(a):
    return np.asarray(a).astype(np.float64)


LAYOUTS = ["contig", "T", "step", "expand", "perm"]


def base_shape(shape, layout):
    shape = tuple(shape)
    n = len(shape)
    if layout == "T":
        return shape[::-1]
    if layout == "step":
        return tuple(2 * s + 1 for s in shape)
    if layout == "expand":
        return tuple(1 if i % 2 == 0 else s for i, s in enumerate(shape))
    if layout == "perm":
        perm = _perm(n)
        base = [0] * n
        for i, p in enumerate(perm):
            base[p] = shape[i]
        return tuple(base)
    return shape


def _perm(n):
    # view dim i takes base dim perm[i]: a rotation that moves the last base dim to the front
    return [n - 1] + list(range(n - 1)) if n > 0 else []


def apply_layout(x, shape, layout):
    """Applies the same view to a numpy array or an ember tensor so that its shape becomes `shape`."""
    shape = tuple(shape)
    n = len(shape)
    is_np = isinstance(x, np.ndarray)
    if layout == "contig":
        return x
    if layout == "T":
        return x.T
    if layout == "step":
        return x[(slice(1, None, 2),) * n]
    if layout == "expand":
        return np.broadcast_to(x, shape) if is_np else x.expand(*shape)
    if layout == "perm":
        perm = _perm(n)
        return x.transpose(perm) if is_np else x.permute(*perm)
    raise ValueError(layout)


def make_pair(rng, shape, dtype, layout="contig", low=None, high=None, array=None):
    """(ember tensor, numpy array) with equal values and the given layout (the ember side is a view)."""
    base = np.asarray(array if array is not None else random_array(rng, base_shape(shape, layout), dtype, low, high))
    t = apply_layout(to_ember(base, dtype), shape, layout)
    a = apply_layout(base, shape, layout)
    assert t.shape == tuple(shape), (t.shape, shape)
    assert a.shape == tuple(shape)
    return t, a


# A compact set of (shape, layout) cases: empty, 0-d, tails of SIMD widths, and every kind of view.
ELEMENTWISE_CASES = [
    ((), "contig"),
    ((0,), "contig"),
    ((3, 0, 2), "contig"),
    ((1,), "contig"),
    ((37,), "contig"),
    ((259,), "contig"),
    ((7, 13), "contig"),
    ((13, 7), "T"),
    ((0, 4), "T"),
    ((5, 9), "step"),
    ((2, 3, 17), "step"),
    ((4, 1, 6), "expand"),
    ((3, 5, 7), "expand"),
    ((3, 4, 5), "perm"),
    ((2, 3, 4, 5), "perm"),
]


def case_id(case):
    shape, layout = case
    return f"{'x'.join(map(str, shape)) or 'scalar'}-{layout}"


# ---------------------------------------------------------------------------------------------
# comparisons


def ulp(x, dtype):
    """The spacing of `dtype` (a float dtype name) at |x| (float64 array)."""
    mant, emin = _FLOAT_FORMAT[dtype]
    x = np.abs(np.asarray(x, dtype=np.float64))
    _, e = np.frexp(x)
    exp = np.maximum(e.astype(np.int64) - 1, emin)
    return np.ldexp(1.0, exp - mant)


def round_to(ref, dtype):
    """A float64 array rounded to `dtype` (name) and back to float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is the expected rounding
        return np.asarray(ref, dtype=np.float64).astype(NP_DTYPE[dtype]).astype(np.float64)


def _abs_diff(act, exp):
    with np.errstate(invalid="ignore"):  # inf - inf at positions checked separately
        return np.abs(act - exp)


def _nan_inf_check(act, exp, what):
    act_nan, exp_nan = np.isnan(act), np.isnan(exp)
    if not np.array_equal(act_nan, exp_nan):
        idx = np.argwhere(act_nan != exp_nan)[:5]
        raise AssertionError(
            f"{what}: NaN positions differ at {idx.tolist()}: got {act[tuple(idx.T)]}, expected {exp[tuple(idx.T)]}"
        )
    inf = np.isinf(exp) | np.isinf(act)
    if not np.array_equal(act[inf], exp[inf]):
        idx = np.argwhere(inf & (act != exp))[:5]
        raise AssertionError(f"{what}: infinities differ at {idx.tolist()}: got {act[tuple(idx.T)]}, expected {exp[tuple(idx.T)]}")
    return ~(act_nan | inf)


def assert_close(t, expected, dtype=None, *, rtol=None, atol=0.0, ulps=None, what="result"):
    """Checks an ember tensor against a float64 reference computed from the same (rounded) inputs.

    f16/bf16 (or whenever `ulps` is given): the reference is rounded to the dtype and the difference
    may be at most `ulps` (default 1) units in the last place of the dtype, plus `atol`.
    f32/f64: |got - expected| <= atol + rtol * |expected| (rtol defaults: 2e-6 for f32, 1e-13 for f64).
    """
    dtype = dtype or t.dtype.name
    assert t.dtype.name == dtype, f"{what}: dtype {t.dtype.name}, expected {dtype}"
    expected = np.asarray(expected, dtype=np.float64)
    assert t.shape == expected.shape, f"{what}: shape {t.shape}, expected {expected.shape}"
    act = as_f64(to_numpy(t))
    if dtype in ("float16", "bfloat16") or ulps is not None:
        ulps = 1 if ulps is None else ulps
        exp = round_to(expected, dtype) if dtype in _FLOAT_FORMAT else expected
        finite = _nan_inf_check(act, exp, what)
        diff = _abs_diff(act, exp)
        allowed = ulps * ulp(np.maximum(np.abs(act), np.abs(exp)), dtype) + atol
        bad = finite & ~(diff <= allowed)
    else:
        if rtol is None:
            rtol = {"float32": 2e-6, "float64": 1e-13}.get(dtype, 0.0)
        exp = expected
        finite = _nan_inf_check(act, exp, what)
        diff = _abs_diff(act, exp)
        allowed = atol + rtol * np.abs(exp)
        bad = finite & ~(diff <= allowed)
    if bad.any():
        idx = np.argwhere(bad)[:6]
        sel = tuple(idx.T)
        raise AssertionError(
            f"{what} ({dtype}): {int(bad.sum())} of {bad.size} elements out of tolerance; "
            f"at {idx.tolist()}: got {act[sel].tolist()}, expected {exp[sel].tolist()}, "
            f"diff {diff[sel].tolist()}, allowed {np.broadcast_to(allowed, bad.shape)[sel].tolist()}"
        )


def assert_equal(t, expected, dtype=None, what="result"):
    """Exact equality (values, shape and dtype); NaNs compare equal to NaNs."""
    expected = np.asarray(expected)
    if dtype is not None:
        assert t.dtype.name == dtype, f"{what}: dtype {t.dtype.name}, expected {dtype}"
    assert t.shape == expected.shape, f"{what}: shape {t.shape}, expected {expected.shape}"
    act = to_numpy(t)
    if act.dtype.kind == "V" or act.dtype == NP_DTYPE["bfloat16"]:
        act = as_f64(act)
    if expected.dtype == NP_DTYPE["bfloat16"]:
        expected = as_f64(expected)
    if act.dtype.kind == "f" or expected.dtype.kind == "f":
        a64, e64 = as_f64(act), as_f64(expected)
        ok = (a64 == e64) | (np.isnan(a64) & np.isnan(e64))
    else:
        ok = act == expected
    if not np.all(ok):
        idx = np.argwhere(~np.asarray(ok))[:6]
        sel = tuple(idx.T)
        raise AssertionError(
            f"{what}: {int((~ok).sum())} of {ok.size} elements differ; at {idx.tolist()}: "
            f"got {np.asarray(act)[sel].tolist()}, expected {expected[sel].tolist()}"
        )


# ---------------------------------------------------------------------------------------------
# subprocess runner for inputs that might crash the process


def run_isolated(code, timeout=120):
    """Runs `code` in a fresh interpreter with the same ember; returns CompletedProcess."""
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def assert_no_crash(proc):
    assert proc.returncode >= 0, (
        f"the process died from signal {-proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    )
    assert proc.returncode == 0, f"exit code {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"


@pytest.fixture
def threads():
    """Restores the thread count after a test that changes it."""
    saved = ember.get_num_threads()
    yield
    ember.set_num_threads(saved)
