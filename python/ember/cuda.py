"""CUDA device queries. The CUDA backend is built with EMBER_CUDA=ON (see README)."""

from ember import _C


def is_available() -> bool:
    """True when this build has the CUDA backend and a CUDA device is present."""
    return _C.cuda_is_available()


def device_count() -> int:
    """Number of CUDA devices ember can use (0 without the CUDA backend)."""
    return _C.cuda_device_count()


def synchronize(device=None) -> None:
    """Waits for all work on the device to finish (a no-op without the CUDA backend)."""
    if is_available():
        _C.cuda_synchronize()
