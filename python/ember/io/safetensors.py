"""safetensors: an 8-byte little-endian header length, a JSON header, then the tensors' bytes.

Loading maps the file and wraps each tensor in place (no copy, no read until a page is touched);
``SafetensorsFile`` opens a file, or a sharded checkpoint's ``*.index.json``, and hands out one
tensor at a time. The header is untrusted: its size, JSON shape, dtypes, shapes and byte ranges are
all checked before any tensor is made (ranges must tile the data section exactly, as the format
requires).
"""

from __future__ import annotations

import json
import os
import struct

import ember
from ember.io._common import checked_shape, convert, fail, map_file, storage_from_buffer, tensor_bytes

# Same cap as the reference implementation: a larger header is rejected before it is read.
MAX_HEADER_BYTES = 100_000_000

_DTYPES = {
    "BOOL": ember.bool_, "U8": ember.uint8, "I8": ember.int8, "I32": ember.int32, "U32": ember.uint32,
    "I64": ember.int64, "F16": ember.float16, "BF16": ember.bfloat16, "F32": ember.float32, "F64": ember.float64,
}
_NAMES = {str(d): name for name, d in _DTYPES.items()}
_KNOWN_UNSUPPORTED = ("I16", "U16", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64")


class _Entry:
    __slots__ = ("dtype_name", "shape", "begin", "end")

    def __init__(self, dtype_name, shape, begin, end):
        self.dtype_name, self.shape, self.begin, self.end = dtype_name, shape, begin, end


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key " + repr(next(k for k in keys if keys.count(k) > 1)))
    return dict(pairs)


def _read_header(buf, path):
    """(entries by name, metadata dict, data section start) after checking the whole header."""
    if len(buf) < 8:
        fail(path, f"safetensors: {len(buf)} bytes is too short for the 8-byte header length")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n > MAX_HEADER_BYTES:
        fail(path, f"safetensors: header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
    if 8 + n > len(buf):
        fail(path, f"safetensors: header length {n} runs past the end of the {len(buf)}-byte file")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        fail(path, f"safetensors: the header is not valid JSON: {e}")
    if not isinstance(header, dict):
        fail(path, f"safetensors: the header must be a JSON object, got {type(header).__name__}")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        fail(path, "safetensors: __metadata__ must map strings to strings")
    data_len = len(buf) - 8 - n
    entries = {name: _parse_entry(name, info, path) for name, info in header.items()}
    _check_tiling(entries, data_len, path)
    return entries, metadata, 8 + n


def _parse_entry(name, info, path):
    what = f"tensor {name!r}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        fail(path, f"safetensors: {what} must have exactly the keys dtype, shape, data_offsets")
    dtype_name, offsets = info["dtype"], info["data_offsets"]
    if not isinstance(dtype_name, str):
        fail(path, f"safetensors: {what} has dtype {dtype_name!r}")
    shape, numel = checked_shape(info["shape"], path, what)
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int and o >= 0 for o in offsets)):  # noqa: E721
        fail(path, f"safetensors: {what} has data_offsets {offsets!r}; expected [begin, end]")
    begin, end = offsets
    if dtype_name in _DTYPES and end - begin != numel * _DTYPES[dtype_name].itemsize:
        fail(path, f"safetensors: {what} of dtype {dtype_name} and shape {list(shape)} needs "
                   f"{numel * _DTYPES[dtype_name].itemsize} bytes, but data_offsets {offsets} hold {end - begin}")
    if dtype_name not in _DTYPES and dtype_name not in _KNOWN_UNSUPPORTED:
        fail(path, f"safetensors: {what} has unknown dtype {dtype_name!r}")
    return _Entry(dtype_name, shape, begin, end)


def _check_tiling(entries, data_len, path):
    position = 0
    for name, e in sorted(entries.items(), key=lambda kv: (kv[1].begin, kv[1].end)):
        if e.begin != position or e.end < e.begin:
            kind = "overlaps the previous tensor" if e.begin < position else "leaves a gap before it"
            fail(path, f"safetensors: tensor {name!r} at bytes [{e.begin}, {e.end}) {kind} (expected to start at {position})")
        position = e.end
    if position != data_len:
        fail(path, f"safetensors: the tensors cover {position} bytes but the data section holds {data_len}")


class SafetensorsFile:
    """Lazy access to a safetensors file, or to every shard of a ``*.index.json`` checkpoint.

    >>> with ember.io.SafetensorsFile("model.safetensors") as f:
    ...     w = f.get("lm_head.weight")

    ``keys()`` lists the tensor names (sorted), ``metadata`` is the header's ``__metadata__`` (for an
    index, its ``metadata``), ``get(name)`` wraps one tensor without copying. A shard of an index is
    mapped the first time one of its tensors is asked for.
    """

    def __init__(self, path, device="cpu", dtype=None):
        self.path = os.fspath(path)
        self.device, self.dtype = device, dtype
        self._shards = {}  # file path -> (buffer, entries, data start)
        if self.path.endswith(".json"):
            self._where, self.metadata = _read_index(self.path)
        else:
            self._open_shard(self.path)
            self.metadata = self._metadata
            self._where = dict.fromkeys(self._shards[self.path][1], self.path)

    def _open_shard(self, path):
        if path not in self._shards:
            buf = map_file(path)
            entries, self._metadata, start = _read_header(buf, path)
            self._shards[path] = (buf, entries, start)
        return self._shards[path]

    def keys(self):
        return sorted(self._where)

    def __contains__(self, name):
        return name in self._where

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._where)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Forgets the mappings; tensors already handed out keep theirs alive."""
        self._shards.clear()

    def get(self, name, dtype=None, device=None):
        """The tensor called ``name`` (``dtype``/``device`` override the file's defaults)."""
        if name not in self._where:
            raise KeyError(f"{self.path}: no tensor named {name!r}")
        shard = self._where[name]
        buf, entries, start = self._open_shard(shard)
        if name not in entries:
            fail(shard, f"safetensors: the index names tensor {name!r} in this shard, but it is not there")
        e = entries[name]
        if e.dtype_name not in _DTYPES:
            fail(shard, f"safetensors: tensor {name!r} has dtype {e.dtype_name}, which ember does not support "
                        f"(supported: {', '.join(_DTYPES)})")
        dt = _DTYPES[e.dtype_name]
        numel = (e.end - e.begin) // dt.itemsize
        t = storage_from_buffer(buf, start + e.begin, dt, numel, shard, f"tensor {name!r}").view(e.shape)
        return convert(t, dtype or self.dtype, device or self.device)

    def tensors(self):
        """Every tensor, as a dict."""
        return {name: self.get(name) for name in self.keys()}


def _read_index(path):
    """(tensor name -> shard path, metadata) of a sharded checkpoint's index.json."""
    try:
        with open(path, "rb") as f:
            index = json.loads(f.read(MAX_HEADER_BYTES + 1).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        fail(path, f"safetensors index: not valid JSON: {e}")
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()):
        fail(path, "safetensors index: expected an object with a 'weight_map' of tensor name -> file name")
    root = os.path.dirname(os.path.abspath(path))
    where = {}
    for name, shard in weight_map.items():
        full = os.path.normpath(os.path.join(root, shard))
        if os.path.dirname(full) != root and not full.startswith(root + os.sep):
            fail(path, f"safetensors index: shard {shard!r} lies outside the checkpoint directory")
        where[name] = full
    metadata = index.get("metadata") or {}
    return where, metadata if isinstance(metadata, dict) else {}


def load_safetensors(path, device="cpu", dtype=None):
    """Every tensor of a safetensors file (or of all shards of a ``*.index.json``), as a dict.

    On CPU the tensors wrap the memory-mapped file: nothing is copied or read until used, and
    writes go to this process's private copy of the pages. ``dtype`` converts floating-point
    tensors (integer and bool tensors keep their dtype); ``device`` moves them."""
    return SafetensorsFile(path, device=device, dtype=dtype).tensors()


def save_safetensors(tensors, path, metadata=None):
    """Writes ``tensors`` (a dict name -> Tensor) to ``path`` in the safetensors format.

    ``metadata`` (str -> str) goes into ``__metadata__``. Larger elements come first and the header
    is padded to 8 bytes, so every tensor in the file is aligned for its dtype."""
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors: tensors must be a dict of name -> Tensor, got {type(tensors).__name__}")
    for name, t in tensors.items():
        if not isinstance(name, str) or not isinstance(t, ember.Tensor):
            raise TypeError(f"save_safetensors: {name!r} -> {type(t).__name__}: expected str -> ember.Tensor")
        if name == "__metadata__":
            raise ValueError("save_safetensors: '__metadata__' is reserved for the metadata")
    if metadata is not None and not (isinstance(metadata, dict) and
                                     all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError("save_safetensors: metadata must be a dict of str -> str")
    order = sorted(tensors, key=lambda n: (-tensors[n].itemsize, n))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name in order:
        t = tensors[name]
        nbytes = t.numel() * t.itemsize
        header[name] = {"dtype": _NAMES[str(t.dtype)], "shape": list(t.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in order:
            f.write(tensor_bytes(tensors[name]))
