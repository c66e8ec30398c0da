"""What every weight-file reader shares: the error type, memory-mapping a file, and turning a byte
range of an untrusted file into a tensor after checking it.

A file is mapped copy-on-write (``mmap.ACCESS_COPY``): tensors wrap the mapping without copying,
pages are read from disk only when touched, and writing into a loaded tensor changes this process's
copy, never the file.
"""

from __future__ import annotations

import mmap
import os
import pickle

import ember

# Shapes are limited so that products of dims stay exact in float64 and far below any allocation.
MAX_NUMEL = 1 << 50


class FileFormatError(ValueError):
    """A weight file is malformed, truncated or uses something ember does not support.

    The message names the file, what was wrong and where."""


class UnsafePickleError(FileFormatError, pickle.UnpicklingError):
    """A pickle stream names a global or opcode outside the allow-list; nothing of it was run."""


def fail(path, message):
    raise FileFormatError(f"{os.fspath(path)}: {message}")


def map_file(path):
    """The whole file, mapped copy-on-write (a ``mmap.mmap``); an empty file gives ``b""``."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return b""
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)


def checked_shape(shape, path, what):
    """``shape`` as a tuple of ints after checking that it is a list of non-negative ints whose
    product is at most MAX_NUMEL; returns (shape, numel)."""
    if not isinstance(shape, (list, tuple)):
        fail(path, f"{what}: shape must be a list of integers, got {type(shape).__name__}")
    if len(shape) > 64:
        fail(path, f"{what}: shape has {len(shape)} dims")
    numel = 1
    for d in shape:
        if type(d) is not int or d < 0:  # noqa: E721  (bool is not a dim)
            fail(path, f"{what}: shape {list(shape)!r} must hold non-negative integers")
    for d in shape:
        numel *= d
        if numel > MAX_NUMEL:
            fail(path, f"{what}: shape {list(shape)} has more than 2**50 elements")
    return tuple(shape), numel


def storage_from_buffer(buf, byte_offset, dtype, numel, path, what):
    """A 1-D tensor of ``numel`` elements of ``dtype`` read from ``buf[byte_offset:]``.

    Shares memory with ``buf`` when the address is aligned for the dtype; an unaligned range is
    copied into ember's own (aligned) memory, since kernels may assume element alignment."""
    nbytes = numel * dtype.itemsize
    if byte_offset < 0 or byte_offset + nbytes > len(buf):
        fail(path, f"{what}: bytes [{byte_offset}, {byte_offset + nbytes}) lie outside the "
                   f"{len(buf)}-byte data")
    if numel == 0:
        return ember.empty(0, dtype=dtype)
    raw = ember.frombuffer(buf, dtype=ember.uint8, count=nbytes, offset=byte_offset)
    if raw.data_ptr() % dtype.itemsize == 0:
        return raw.view(dtype)
    out = ember.empty(numel, dtype=dtype)
    out.view(ember.uint8).copy_(raw)
    return out


def view_storage(storage, shape, strides, storage_offset, path, what):
    """``storage`` (1-D) viewed with ``shape``, ``strides`` (elements) and ``storage_offset``,
    after checking that every element lies inside the storage."""
    shape, numel = checked_shape(shape, path, what)
    if not isinstance(strides, (list, tuple)) or len(strides) != len(shape) or \
            any(type(s) is not int or not 0 <= s <= MAX_NUMEL for s in strides):  # noqa: E721
        fail(path, f"{what}: strides {strides!r} must be {len(shape)} integers in [0, 2**50]")
    if type(storage_offset) is not int or not 0 <= storage_offset <= storage.numel():  # noqa: E721
        fail(path, f"{what}: storage offset {storage_offset!r} lies outside its storage of {storage.numel()} elements")
    if numel:
        hi = storage_offset + sum((n - 1) * s for n, s in zip(shape, strides))
        if hi >= storage.numel():
            fail(path, f"{what}: a view of shape {list(shape)}, strides {list(strides)} at offset "
                       f"{storage_offset} reaches past its storage of {storage.numel()} elements")
    return ember.as_strided(storage, shape, strides, storage_offset)


def convert(t, dtype=None, device=None):
    """``t`` in ``dtype`` (floating-point tensors only: integer and bool tensors such as ids and
    masks keep theirs) on ``device``; no copy when nothing changes."""
    if dtype is not None and t.is_floating_point() and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None and str(t.device) != str(ember.device(device)):
        t = t.to(device)
    return t


def tensor_bytes(t):
    """The bytes of ``t`` in row-major order (a memoryview; copies only a non-contiguous tensor)."""
    t = t.contiguous()
    if t.device.type != "cpu":
        t = t.cpu()
    return memoryview(t.reshape(-1).view(ember.uint8))
