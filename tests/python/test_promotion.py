"""Type promotion: ember.result_type / promote_types and op output dtypes against torch.result_type.

Documented differences:
- ember has no int16, so uint8 with int8 promotes to int32 (torch: int16).
- torch refuses to promote uint32 with other integer or bool dtypes; ember follows numpy there
  (uint32 with a signed type -> int64, with uint8/bool -> uint32).
"""

import numpy as np
import pytest
import torch

import ember
from conftest import ALL_DTYPES, NP_DTYPE, edtype, torch_dtype

SCALARS = [True, 3, -2, 2.5]


def _tensor(dtype, zero_dim):
    shape = () if zero_dim else (2,)
    return ember.zeros(*shape, dtype=edtype(dtype)) if shape else ember.zeros((), dtype=edtype(dtype))


def _torch_tensor(dtype, zero_dim):
    return torch.zeros(() if zero_dim else (2,), dtype=torch_dtype(dtype))


def expected_result_type(da, db, zero_a, zero_b):
    """torch's answer, with the two documented exceptions."""
    if {da, db} == {"uint8", "int8"}:
        return None  # handled by test_uint8_int8_promotes_to_int32
    try:
        r = torch.result_type(_torch_tensor(da, zero_a), _torch_tensor(db, zero_b))
        return str(r).replace("torch.", "")
    except RuntimeError as e:
        assert "uint32" in str(e).lower() or "UInt32" in str(e), e
        # torch does not promote uint32: numpy's table for same-priority operands, else the
        # higher-priority operand within a category
        if zero_a == zero_b:
            return np.promote_types(NP_DTYPE[da], NP_DTYPE[db]).name
        hi, lo = (da, db) if not zero_a else (db, da)
        cat = lambda d: 0 if d == "bool" else 2 if d.startswith(("float", "bfloat")) else 1  # noqa: E731
        return hi if cat(hi) >= cat(lo) else lo


PAIRS = [(a, b) for a in ALL_DTYPES for b in ALL_DTYPES]


@pytest.mark.parametrize("zero_a, zero_b", [(False, False), (False, True), (True, False), (True, True)], ids=["dim-dim", "dim-0d", "0d-dim", "0d-0d"])
@pytest.mark.parametrize("da, db", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_result_type_tensor_tensor(da, db, zero_a, zero_b):
    exp = expected_result_type(da, db, zero_a, zero_b)
    if exp is None:
        exp = "int32" if zero_a == zero_b else (da if not zero_a else db)
    ta, tb = _tensor(da, zero_a), _tensor(db, zero_b)
    got = ember.result_type(ta, tb)
    assert got.name == exp, f"result_type({da}{'(0-d)' if zero_a else ''}, {db}{'(0-d)' if zero_b else ''}) = {got.name}, expected {exp}"
    # the ops use the same rule
    assert (ta + tb).dtype.name == exp
    assert (ta == tb).dtype == ember.bool_
    assert ember.maximum(ta, tb).dtype.name == exp


@pytest.mark.parametrize("da", ALL_DTYPES)
@pytest.mark.parametrize("db", ALL_DTYPES)
def test_promote_types_matches_torch(da, db):
    if {da, db} == {"uint8", "int8"}:
        assert ember.promote_types(edtype(da), edtype(db)) == ember.int32
        return
    try:
        exp = str(torch.promote_types(torch_dtype(da), torch_dtype(db))).replace("torch.", "")
    except RuntimeError:
        exp = np.promote_types(NP_DTYPE[da], NP_DTYPE[db]).name
    assert ember.promote_types(edtype(da), edtype(db)).name == exp


def test_uint8_int8_promotes_to_int32():
    """The one documented difference from torch (torch gives int16, which ember lacks)."""
    u = ember.tensor([200, 255], dtype=ember.uint8)
    i = ember.tensor([-100, -1], dtype=ember.int8)
    assert str(torch.result_type(torch.zeros(1, dtype=torch.uint8), torch.zeros(1, dtype=torch.int8))) == "torch.int16"
    assert ember.result_type(u, i) == ember.int32
    assert ember.promote_types(ember.uint8, ember.int8) == ember.int32
    r = u + i
    assert r.dtype == ember.int32
    assert r.tolist() == [100, 254]
    assert (u * i).tolist() == [-20000, -255]


@pytest.mark.parametrize("zero_dim", [False, True], ids=["dim", "0d"])
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: type(s).__name__ + str(s))
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_result_type_tensor_scalar(dtype, scalar, zero_dim):
    t = _tensor(dtype, zero_dim)
    tt = _torch_tensor(dtype, zero_dim)
    exp = str(torch.result_type(tt, scalar)).replace("torch.", "")
    assert ember.result_type(t, scalar).name == exp
    assert ember.result_type(scalar, t).name == exp
    assert (t + scalar).dtype.name == exp, f"{dtype} tensor + {scalar!r}"
    assert (scalar + t).dtype.name == exp
    assert (t * scalar).dtype.name == exp
    assert (t < scalar).dtype == ember.bool_


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_true_division_dtype(dtype):
    t = ember.ones(3, dtype=edtype(dtype))
    exp = str((torch.ones(3, dtype=torch_dtype(dtype)) / torch.ones(3, dtype=torch_dtype(dtype))).dtype).replace("torch.", "") if dtype != "uint32" else "float32"
    assert (t / t).dtype.name == exp
    assert (t / 2).dtype.name == exp
    assert (2 / t).dtype.name == exp


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "bool"])
@pytest.mark.parametrize("op", ["exp", "sqrt", "sigmoid", "erf", "atan2"])
def test_float_ops_on_integers_give_float32(dtype, op):
    t = ember.ones(3, dtype=edtype(dtype))
    out = ember.atan2(t, t) if op == "atan2" else getattr(ember, op)(t)
    tt = torch.ones(3, dtype=torch_dtype(dtype))
    texp = torch.atan2(tt, tt) if op == "atan2" else getattr(torch, op)(tt)
    assert out.dtype == ember.float32 and str(texp.dtype) == "torch.float32"


@pytest.mark.parametrize("da", ["float16", "bfloat16", "float32", "int32", "uint8"])
@pytest.mark.parametrize("db", ["float16", "bfloat16", "float64", "int64", "bool"])
def test_cat_promotes(da, db):
    a, b = ember.ones(2, dtype=edtype(da)), ember.zeros(3, dtype=edtype(db))
    exp = ember.promote_types(edtype(da), edtype(db))
    out = ember.cat([a, b])
    assert out.dtype == exp
    assert out.tolist() == [1, 1, 0, 0, 0]
    if {da, db} != {"uint8", "int8"}:
        t = torch.cat([torch.ones(2, dtype=torch_dtype(da)), torch.zeros(3, dtype=torch_dtype(db))])
        assert str(t.dtype).replace("torch.", "") == exp.name


def test_scalar_keeps_tensor_dtype_within_category():
    h = ember.ones(3, dtype=ember.float16)
    assert (h * 1e3).dtype == ember.float16
    assert (h + 70000.0).tolist() == [float("inf")] * 3  # the scalar is computed in float16, like torch
    b = ember.ones(3, dtype=ember.uint8)
    assert (b + 1).dtype == ember.uint8
    assert (b + 300).tolist() == (torch.ones(3, dtype=torch.uint8) + 300).tolist()  # wraps, as torch
    i = ember.ones(3, dtype=ember.int32)
    assert (i + 2**40).dtype == ember.int32
    # a 0-d tensor of a higher category wins over a dimensioned one
    assert (i + ember.tensor(1.5)).dtype == ember.float32
    assert (i + ember.tensor(1.5, dtype=ember.float64)).dtype == ember.float64
    assert (h + ember.tensor(1.5, dtype=ember.float64)).dtype == ember.float16
