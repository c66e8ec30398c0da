"""ember: a minimalist machine-learning inference framework.

Eager tensors on CPU (CUDA and Metal backends are built separately), with numpy-style broadcasting,
torch-style type promotion, zero-copy numpy and DLPack interop.
"""

from ember import _C
from ember._C import (  # noqa: F401  (re-exported API)
    Tensor,
    dtype,
    device,
    float32,
    float16,
    bfloat16,
    float64,
    uint8,
    int8,
    uint32,
    int32,
    int64,
    bool_,
    half,
    double,
    long,
)
from ember import _formatting

__version__ = _C.__version__

# Every public function of the core (tensor creation, math, reductions, views, interop).
_PUBLIC_C = [
    name
    for name in dir(_C)
    if not name.startswith("_") and name not in ("Tensor", "dtype", "device", "cuda_is_available",
                                                  "cuda_device_count", "metal_is_available")
]
globals().update({name: getattr(_C, name) for name in _PUBLIC_C})

# `float`, `int` and `bool` are attributes of the module as in torch (ember.float is float32), but
# the builtins stay reachable inside this package.
float = _C.float  # noqa: A001
int = _C.int  # noqa: A001
bool = _C.bool_  # noqa: A001

Tensor.__repr__ = _formatting.tensor_repr
Tensor.__str__ = _formatting.tensor_repr
Tensor.__iter__ = _formatting.tensor_iter
Tensor.__format__ = _formatting.tensor_format

from ember import cuda, metal, nn, quant  # noqa: E402
from ember.quant import QTYPES  # noqa: E402

_LAZY_SUBMODULES = ("io", "hub", "bundled")  # imported on first use: they pull in json, zipfile, huggingface_hub


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"ember.{name}")
    raise AttributeError(f"module 'ember' has no attribute {name!r}")


__all__ = ["Tensor", "dtype", "device", "QTYPES", "bundled", "cuda", "hub", "io", "metal", "nn", "quant"] + _PUBLIC_C
