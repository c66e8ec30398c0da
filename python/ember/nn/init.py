"""How new modules fill their parameters.

By default, as torch does: Linear and Conv weights uniform in +-1/sqrt(fan_in), norms ones, biases
as torch initialises them. Model loaders build modules inside `no_init()`, where parameters are
allocated but never written (no page is touched), because the checkpoint replaces them right after.
"""

import contextlib
import math
import threading

from ember import _C

_state = threading.local()


@contextlib.contextmanager
def no_init():
    """Modules created inside this block get uninitialised parameters (ember.empty)."""
    previous = getattr(_state, "skip", False)
    _state.skip = True
    try:
        yield
    finally:
        _state.skip = previous


def skipping():
    return getattr(_state, "skip", False)


def _dtype(dtype):
    return _C.float32 if dtype is None else dtype


def uniform(shape, bound, dtype=None, device=None):
    """A new parameter uniform in [-bound, bound), or uninitialised inside no_init()."""
    dtype = _dtype(dtype)
    if skipping():
        return _C.empty(*shape, dtype=dtype, device=device)
    t = (_C.rand(*shape, dtype=_C.float32) * (2.0 * bound) - bound).to(dtype)
    return t.to(device) if device is not None else t


def fan_in_uniform(shape, fan_in, dtype=None, device=None):
    return uniform(shape, 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0, dtype, device)


def constant(shape, value, dtype=None, device=None):
    dtype = _dtype(dtype)
    if skipping():
        return _C.empty(*shape, dtype=dtype, device=device)
    return _C.full(shape, value, dtype=dtype, device=device)


def normal(shape, std=1.0, dtype=None, device=None):
    dtype = _dtype(dtype)
    if skipping():
        return _C.empty(*shape, dtype=dtype, device=device)
    t = (_C.randn(*shape, dtype=_C.float32) * std).to(dtype)
    return t.to(device) if device is not None else t
