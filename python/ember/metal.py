"""Apple Metal device queries. The Metal backend is built on macOS (EMBER_METAL=ON)."""

from ember import _C


def is_available() -> bool:
    """True when this build has the Metal backend and a Metal device is present."""
    return _C.metal_is_available()
