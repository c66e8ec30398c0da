"""Helpers shared by the ember.nn tests: dtypes and tolerances, torch <-> ember conversion, loading a
torch module's weights into an ember module by name, inputs in several memory layouts, and the
comparison against a float64 torch reference."""

import ember
import numpy as np
import pytest
from conftest import rng_for

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float16", "bfloat16"]
# (rtol, atol relative to the largest |reference| value) per dtype
TOL = {"float32": (1e-5, 2e-6), "float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2), "float64": (1e-12, 1e-12)}


def edt(name):
    return getattr(ember, name)


def tdt(name):
    return getattr(torch, name)


def to_ember(t, dtype=None):
    """A copy of torch tensor t in ember (bf16 goes through float32, exactly)."""
    e = ember.from_numpy(t.detach().to(torch.float32 if t.is_floating_point() else t.dtype).contiguous().numpy().copy())
    return e.to(edt(dtype)) if dtype is not None and t.is_floating_point() else e


def load_from_torch(module, tmodule, dtype):
    """Loads tmodule's weights (rounded to dtype) into module by name; the torch module becomes the
    float64 reference holding the same rounded values."""
    tmodule.to(tdt(dtype)).to(torch.float64)
    state = {k: to_ember(v, dtype) for k, v in tmodule.state_dict().items()}
    assert module.load_state_dict(state) == ([], [])
    assert sorted(module.state_dict()) == sorted(tmodule.state_dict())
    return module


def make_input(key, shape, dtype, layout="contig", low=-2.0, high=2.0):
    """(ember tensor of `shape` with `layout`, float64 torch tensor of the same values)."""
    rng = rng_for(*key, tuple(shape), dtype, layout)
    shape = tuple(shape)
    if layout == "T" and len(shape) >= 2:
        base = rng.uniform(low, high, size=shape[:-2] + (shape[-1], shape[-2])).astype(np.float32)
        e, t = ember.from_numpy(base).to(edt(dtype)).transpose(-1, -2), torch.from_numpy(base).transpose(-1, -2)
    elif layout == "step":
        base = rng.uniform(low, high, size=shape[:-1] + (2 * shape[-1] + 1,)).astype(np.float32)
        e, t = ember.from_numpy(base).to(edt(dtype))[..., 1::2], torch.from_numpy(base)[..., 1::2]
    else:
        base = rng.uniform(low, high, size=shape).astype(np.float32)
        e, t = ember.from_numpy(base).to(edt(dtype)), torch.from_numpy(base)
    assert tuple(e.shape) == shape
    if layout != "contig" and e.numel() > 1 and min(shape[-2:] if len(shape) >= 2 else shape) > 1:
        assert not e.is_contiguous()
    return e, t.to(tdt(dtype)).to(torch.float64)


def check(got, ref, dtype, what=""):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    assert got.dtype == edt(dtype), (got.dtype, dtype)
    g = np.asarray(got.to(ember.float64).numpy())
    assert g.shape == ref.shape, (what, g.shape, ref.shape)
    rtol, atol = TOL[dtype]
    scale = max(1.0, float(np.abs(ref).max())) if ref.size else 1.0
    np.testing.assert_allclose(g, ref, rtol=rtol, atol=atol * scale, err_msg=what)
