"""GGUF: llama.cpp's single-file format for (quantized) weights and their metadata.

Layout: ``b"GGUF"``, a uint32 version, the tensor and key-value counts, the key-value pairs, one
info record per tensor (name, dims with ne[0] innermost, ggml type, offset), then the tensor data,
which starts at the next multiple of ``general.alignment`` (default 32) and in which every tensor's
offset is a multiple of it. Versions 1 (32-bit counts, lengths and dims), 2 and 3 are read, in
either byte order: a big-endian file keeps the magic bytes but its version reads as 0x0N000000.

Loading maps the file: plain tensors (f32, f16, bf16, i8, i32, i64, f64) wrap it without a copy
(big-endian ones are byteswapped copies), quantized tensors are ``ember.QTensor`` over the raw
blocks. The header is untrusted: every count, length, dim, type id and byte range is checked
against the file before it is used, and anything wrong raises ``FileFormatError``.

Metadata comes back as a plain dict: numbers as int / float / bool, arrays as lists (nested arrays
as nested lists), strings as str when they are valid UTF-8 and as bytes otherwise (a tokenizer's
byte tokens stay exact). ``save_gguf`` writes version 3, little-endian.
"""

from __future__ import annotations

import array
import os
import struct

import ember
from ember.io._common import MAX_NUMEL, checked_shape, convert, fail, map_file, storage_from_buffer, tensor_bytes

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4
MAX_NESTING = 16  # arrays of arrays deeper than this are refused (real files nest at most twice)
MAX_NAME_BYTES = 63  # llama.cpp's GGML_MAX_NAME - 1, enforced when writing

# GGUF metadata value types: id -> (name, struct code; None for string and array).
VALUE_TYPES = {
    0: ("uint8", "B"), 1: ("int8", "b"), 2: ("uint16", "H"), 3: ("int16", "h"), 4: ("uint32", "I"),
    5: ("int32", "i"), 6: ("float32", "f"), 7: ("bool", "?"), 8: ("string", None), 9: ("array", None),
    10: ("uint64", "Q"), 11: ("int64", "q"), 12: ("float64", "d"),
}
_VALUE_TYPE_IDS = {name: i for i, (name, _) in VALUE_TYPES.items()}
STRING, ARRAY = 8, 9

# Every ggml tensor type: id -> (name, elements per block, bytes per block). Types ember cannot
# compute with are listed too, so that their layout is still checked before they are refused.
GGML_TYPES = {
    0: ("f32", 1, 4), 1: ("f16", 1, 2), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20), 6: ("q5_0", 32, 22),
    7: ("q5_1", 32, 24), 8: ("q8_0", 32, 34), 9: ("q8_1", 32, 36), 10: ("q2_k", 256, 84),
    11: ("q3_k", 256, 110), 12: ("q4_k", 256, 144), 13: ("q5_k", 256, 176), 14: ("q6_k", 256, 210),
    15: ("q8_k", 256, 292), 16: ("iq2_xxs", 256, 66), 17: ("iq2_xs", 256, 74), 18: ("iq3_xxs", 256, 98),
    19: ("iq1_s", 256, 50), 20: ("iq4_nl", 32, 18), 21: ("iq3_s", 256, 110), 22: ("iq2_s", 256, 82),
    23: ("iq4_xs", 256, 136), 24: ("i8", 1, 1), 25: ("i16", 1, 2), 26: ("i32", 1, 4), 27: ("i64", 1, 8),
    28: ("f64", 1, 8), 29: ("iq1_m", 256, 56), 30: ("bf16", 1, 2), 34: ("tq1_0", 256, 54),
    35: ("tq2_0", 256, 66), 39: ("mxfp4", 32, 17), 40: ("nvfp4", 64, 36), 41: ("q1_0", 128, 18),
}
_GGML_IDS = {name: i for i, (name, _, _) in GGML_TYPES.items()}
PLAIN_DTYPES = {
    "f32": ember.float32, "f16": ember.float16, "bf16": ember.bfloat16, "i8": ember.int8,
    "i32": ember.int32, "i64": ember.int64, "f64": ember.float64,
}
_PLAIN_NAMES = {str(d): name for name, d in PLAIN_DTYPES.items()}
_SWAP_CODES = {2: "H", 4: "I", 8: "Q"}


class GGUFValue:
    """A metadata value with an explicit GGUF type, for ``save_gguf``.

    ``GGUFValue(7, "uint64")`` writes a uint64; for a list the type names its elements (innermost
    elements for nested lists): ``GGUFValue([1, 2], "uint8")``. Types: uint8, int8, uint16, int16,
    uint32, int32, uint64, int64, float32, float64, bool, string."""

    __slots__ = ("type", "value")

    def __init__(self, value, type):
        if type not in _VALUE_TYPE_IDS or type == "array":
            names = ", ".join(n for n in _VALUE_TYPE_IDS if n != "array")
            raise ValueError(f"GGUFValue: unknown type {type!r} (one of {names})")
        self.value, self.type = value, type

    def __repr__(self):
        return f"GGUFValue({self.value!r}, {self.type!r})"


# ---------------------------------------------------------------------------------------------
# reading


class _Reader:
    """A cursor over the header: every read checks that the bytes are there."""

    def __init__(self, buf, path, order, version):
        self.buf, self.path, self.order, self.pos = buf, path, order, 0
        self.count_code = "I" if version == 1 else "Q"  # counts, lengths and dims
        self.count_size = 4 if version == 1 else 8
        self.structs = {c: struct.Struct(order + c) for c in "BbHhIiQqfd?"}

    def remaining(self):
        return len(self.buf) - self.pos

    def scalar(self, code, what):
        s = self.structs[code]
        if s.size > self.remaining():
            fail(self.path, f"gguf: the file ends at byte {len(self.buf)} inside {what}")
        (v,) = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return v

    def count(self, what, min_item_bytes):
        """A count of items each taking at least ``min_item_bytes``, checked against what is left."""
        n = self.scalar(self.count_code, what)
        if n * min_item_bytes > self.remaining():
            fail(self.path, f"gguf: {what} is {n}, but only {self.remaining()} bytes follow "
                            f"(each item takes at least {min_item_bytes})")
        return n

    def raw_string(self, what):
        n = self.count(f"the length of {what}", 1)
        s = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return s

    def text(self, what):
        """A string that must be UTF-8 (keys and tensor names)."""
        raw = self.raw_string(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            fail(self.path, f"gguf: {what} is not valid UTF-8: {raw[:64]!r}")

    def value_type(self, what):
        t = self.scalar("I", what)
        if t not in VALUE_TYPES:
            fail(self.path, f"gguf: {what} has unknown value type {t}")
        return t

    def value(self, t, what, depth=0):
        if t == STRING:
            raw = self.raw_string(what)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw
        if t == ARRAY:
            if depth >= MAX_NESTING:
                fail(self.path, f"gguf: {what} nests arrays more than {MAX_NESTING} deep")
            et = self.value_type(f"the element type of {what}")
            code = VALUE_TYPES[et][1]
            item = struct.calcsize("<" + code) if code else (self.count_size if et == STRING else 4 + self.count_size)
            n = self.count(f"the length of {what}", item)
            if code is None:
                return [self.value(et, f"{what}[{i}]", depth + 1) for i in range(n)]
            values = list(struct.unpack_from(f"{self.order}{n}{code}", self.buf, self.pos))
            self.pos += n * item
            return values
        return self.scalar(VALUE_TYPES[t][1], what)


class TensorRecord:
    __slots__ = ("ggml_type", "name", "nbytes", "numel", "offset", "shape")


def _header(buf, path):
    """(reader positioned after the magic and version, version) with the byte order detected."""
    if len(buf) < 8:
        fail(path, f"gguf: {len(buf)} bytes is too short for the magic and version")
    if bytes(buf[:4]) != GGUF_MAGIC:
        fail(path, f"gguf: bad magic {bytes(buf[:4])!r} (expected {GGUF_MAGIC!r})")
    (version,) = struct.unpack_from("<I", buf, 4)
    order = "<"
    if version & 0xFFFF == 0:  # written big-endian: the low bytes of a small number are zero
        (version,), order = struct.unpack_from(">I", buf, 4), ">"
    if version not in (1, 2, 3):
        fail(path, f"gguf: unsupported version {version} (ember reads versions 1, 2 and 3)")
    r = _Reader(buf, path, order, version)
    r.pos = 8
    return r, version


def _read_metadata(r, n_kv):
    metadata = {}
    for i in range(n_kv):
        key = r.text(f"the key of metadata entry {i}")
        if key in metadata:
            fail(r.path, f"gguf: metadata key {key!r} appears twice")
        t = r.value_type(f"metadata {key!r}")
        metadata[key] = r.value(t, f"metadata {key!r}")
        if key == "general.alignment":
            a = metadata[key]
            if t != _VALUE_TYPE_IDS["uint32"] or a == 0 or a & (a - 1):
                fail(r.path, f"gguf: general.alignment must be a non-zero power of two of type uint32, got "
                             f"{a!r} of type {VALUE_TYPES[t][0]}")
    return metadata


def _read_info(r, i, names):
    info = TensorRecord()
    info.name = r.text(f"the name of tensor {i}")
    what = f"tensor {info.name!r}"
    if info.name in names:
        fail(r.path, f"gguf: {what} appears twice")
    n_dims = r.scalar("I", f"the number of dims of {what}")
    if n_dims > MAX_DIMS:
        fail(r.path, f"gguf: {what} has {n_dims} dims (at most {MAX_DIMS})")
    ne = [r.scalar(r.count_code, f"the dims of {what}") for _ in range(n_dims)]
    if any(d > MAX_NUMEL for d in ne):
        fail(r.path, f"gguf: {what} has dims {ne}; each must be at most 2**50")
    info.ggml_type = r.scalar("I", f"the type of {what}")
    info.offset = r.scalar("Q", f"the offset of {what}")
    info.shape, info.numel = checked_shape(list(reversed(ne)), r.path, f"gguf: {what}")
    if info.ggml_type not in GGML_TYPES:
        fail(r.path, f"gguf: {what} has unknown ggml type id {info.ggml_type}")
    type_name, block, type_size = GGML_TYPES[info.ggml_type]
    if (ne[0] if ne else 1) % block:
        fail(r.path, f"gguf: {what} of type {type_name} has {ne[0] if ne else 1} elements per row, "
                     f"not a multiple of its block size {block}")
    info.nbytes = info.numel // block * type_size
    return info


def check_ranges(infos, data_start, alignment, size, path, what="gguf"):
    """Every tensor's bytes lie inside the file, start at a multiple of ``alignment`` (relative to
    ``data_start``) and share no byte with another tensor."""
    ranges = []
    for info in infos:
        if alignment and info.offset % alignment:
            fail(path, f"{what}: tensor {info.name!r} has offset {info.offset}, not a multiple of the "
                       f"alignment {alignment}")
        begin = data_start + info.offset
        if info.nbytes and begin + info.nbytes > size:
            fail(path, f"{what}: tensor {info.name!r} at bytes [{begin}, {begin + info.nbytes}) runs past the "
                       f"end of the {size}-byte file")
        ranges.append((begin, begin + info.nbytes, info.name))
    previous_end, previous = 0, None
    for begin, end, name in sorted(ranges):
        if begin < previous_end and end > begin:
            fail(path, f"{what}: tensors {previous!r} and {name!r} overlap")
        if end > begin:
            previous_end, previous = end, name


def _byteswapped(buf, begin, dtype, numel, path, what):
    """A copy of big-endian elements in native byte order."""
    items = array.array(_SWAP_CODES[dtype.itemsize])
    with memoryview(buf) as whole:
        items.frombytes(whole[begin:begin + numel * dtype.itemsize])
    items.byteswap()
    return storage_from_buffer(memoryview(items).cast("B"), 0, dtype, numel, path, what)


def make_tensor(buf, info, begin, path, big_endian=False, what="gguf"):
    """The ember.Tensor or ember.QTensor of one checked tensor record whose bytes start at ``begin``."""
    name = GGML_TYPES[info.ggml_type][0]
    label = f"{what}: tensor {info.name!r}"
    dtype = PLAIN_DTYPES.get(name)
    if dtype is not None:
        if big_endian and dtype.itemsize > 1 and info.numel:
            storage = _byteswapped(buf, begin, dtype, info.numel, path, label)
        else:
            storage = storage_from_buffer(buf, begin, dtype, info.numel, path, label)
        return storage.view(info.shape)
    if name == "i16":
        fail(path, f"{label} has ggml type i16, and ember has no int16 dtype")
    if big_endian:
        fail(path, f"{label} is quantized ({name}) in a big-endian file; ember reads big-endian GGUF "
                   f"files of plain dtypes only")
    if name not in getattr(ember, "QTYPES", ()):
        fail(path, f"{label} has ggml type {name}, a quantization ember does not support "
                   f"(supported: {', '.join(q for q in getattr(ember, 'QTYPES', ()) if q not in PLAIN_DTYPES)})")
    raw = storage_from_buffer(buf, begin, ember.uint8, info.nbytes, path, label)
    return ember.QTensor(raw, name, info.shape)


def to_device(t, device):
    if isinstance(t, ember.Tensor):
        return convert(t, device=device)
    if device is not None and str(t.device) != str(ember.device(device)):
        return t.to(device)
    return t


def load_gguf(path, device="cpu"):
    """``(tensors, metadata)`` of a GGUF file (versions 1 to 3, either byte order).

    ``tensors`` maps names to ``ember.Tensor`` (f32, f16, bf16, i8, i32, i64, f64) or
    ``ember.QTensor`` (the ggml block types in ``ember.QTYPES``), in file order, with shapes in
    row-major order (the file's dims reversed, as gguf-py reads them). On CPU they wrap the
    copy-on-write mapping of the file: nothing is copied or read until used. ``metadata`` is a dict
    of plain Python values (see the module docstring). i16 and unsupported quantizations raise
    ``FileFormatError``, as do quantized tensors in big-endian files."""
    path = os.fspath(path)
    buf = map_file(path)
    r, _version = _header(buf, path)
    big_endian = r.order == ">"
    n_tensors = r.count("the tensor count", r.count_size + 16)  # name length, n_dims, type, offset
    n_kv = r.count("the metadata count", r.count_size + 5)  # key length, type, a 1-byte value
    metadata = _read_metadata(r, n_kv)
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    infos, names = [], set()
    for i in range(n_tensors):
        info = _read_info(r, i, names)
        names.add(info.name)
        infos.append(info)
    data_start = -(-r.pos // alignment) * alignment
    check_ranges(infos, data_start, alignment, len(buf), path)
    tensors = {}
    for info in infos:
        tensors[info.name] = to_device(make_tensor(buf, info, data_start + info.offset, path, big_endian), device)
    return tensors, metadata


# ---------------------------------------------------------------------------------------------
# writing


def _int_type(values):
    lo, hi = min(values), max(values)
    for name, low, high in (("int32", -(1 << 31), 1 << 31), ("int64", -(1 << 63), 1 << 63), ("uint64", 0, 1 << 64)):
        if low <= lo and hi < high:
            return name
    raise ValueError(f"integer {lo if lo < 0 else hi} does not fit a GGUF integer type")


def _infer(value, key):
    """(GGUF type name, value) of a Python value: bool, int (int32, or int64 / uint64 when it does
    not fit), float (float32, as gguf-py writes it), str or bytes (string), list (array)."""
    if isinstance(value, GGUFValue):
        return value.type if not isinstance(value.value, (list, tuple)) else "array", value
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, int):
        return _int_type([value]), value
    if isinstance(value, float):
        return "float32", value
    if isinstance(value, (str, bytes)):
        return "string", value
    if isinstance(value, (list, tuple)):
        return "array", value
    raise TypeError(f"save_gguf: metadata {key!r} has a value of type {type(value).__name__}; expected bool, "
                    f"int, float, str, bytes, list or ember.io.GGUFValue")


def _element_type(items, key):
    if not items:
        return "int32"
    kinds = {("bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "float" if isinstance(v, float)
              else "string" if isinstance(v, (str, bytes)) else "array" if isinstance(v, (list, tuple))
              else type(v).__name__) for v in items}
    if kinds == {"int"}:
        return _int_type(items)
    if kinds <= {"int", "float"}:
        return "float32"
    if len(kinds) == 1 and next(iter(kinds)) in ("bool", "string", "array"):
        return next(iter(kinds))
    raise TypeError(f"save_gguf: metadata {key!r} is a list mixing {sorted(kinds)}; GGUF arrays hold one type "
                    f"(wrap it in ember.io.GGUFValue to choose one)")


def _encode(out, type_name, value, key, forced=None):
    """Appends ``value`` (without its type id) to ``out``; ``forced`` is a GGUFValue's type, which
    applies to the innermost elements of a (nested) list."""
    if type_name == "string":
        data = value.encode("utf-8") if isinstance(value, str) else value
        if not isinstance(data, bytes):
            raise TypeError(f"save_gguf: metadata {key!r}: expected str or bytes for a string, "
                            f"got {type(value).__name__}")
        out += struct.pack("<Q", len(data)) + data
        return
    if type_name != "array":
        try:
            out += struct.pack("<" + VALUE_TYPES[_VALUE_TYPE_IDS[type_name]][1], value)
        except struct.error as e:
            raise ValueError(f"save_gguf: metadata {key!r} = {value!r} does not fit {type_name}: {e}") from e
        return
    items = list(value)
    if forced is None:
        element = _element_type(items, key)
    else:
        element = "array" if any(isinstance(v, (list, tuple)) for v in items) else forced
    out += struct.pack("<IQ", _VALUE_TYPE_IDS[element], len(items))
    code = VALUE_TYPES[_VALUE_TYPE_IDS[element]][1]
    if code is None:
        for v in items:
            _encode(out, element, v, key, forced)
        return
    try:
        out += struct.pack(f"<{len(items)}{code}", *items)
    except struct.error as e:
        raise ValueError(f"save_gguf: metadata {key!r}: {e} (element type {element})") from e


def _tensor_record(name, t):
    """(ggml type id, ne innermost first, byte count) of one tensor to write."""
    if not isinstance(name, str) or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError(f"save_gguf: tensor name {name!r} must be a str of at most {MAX_NAME_BYTES} UTF-8 bytes")
    shape = tuple(int(d) for d in t.shape)
    if len(shape) > MAX_DIMS:
        raise ValueError(f"save_gguf: tensor {name!r} has {len(shape)} dims; GGUF allows at most {MAX_DIMS}")
    if isinstance(t, ember.Tensor):
        type_name = _PLAIN_NAMES.get(str(t.dtype))
        if type_name is None:
            raise TypeError(f"save_gguf: tensor {name!r} has dtype {t.dtype}, which GGUF cannot hold "
                            f"(supported: {', '.join(str(d) for d in PLAIN_DTYPES.values())})")
        return _GGML_IDS[type_name], shape[::-1], t.numel() * t.itemsize
    if isinstance(t, getattr(ember, "QTensor", ())):
        return _GGML_IDS[t.qtype], shape[::-1], t.data.numel()
    raise TypeError(f"save_gguf: tensor {name!r} is a {type(t).__name__}; expected ember.Tensor or ember.QTensor")


def save_gguf(path, tensors, metadata=None):
    """Writes ``tensors`` (name -> ember.Tensor or ember.QTensor, in the dict's order) and
    ``metadata`` (str -> value) to ``path`` as a GGUF version 3 file, little-endian, that gguf-py
    and llama.cpp read.

    Metadata types are inferred: bool; int as int32 (as gguf-py writes it), or int64 / uint64 when
    it does not fit; float as float32; str / bytes as string; lists as arrays (of the type their
    elements infer to; nested lists as arrays of arrays; an empty list as an int32 array).
    ``ember.io.GGUFValue(value, "uint64")`` forces a type. ``general.alignment`` (a power of two,
    written as uint32) sets the alignment of the tensor data, 32 by default. The header is built in
    memory; the tensors' bytes are streamed to the file one at a time."""
    if not isinstance(tensors, dict):
        raise TypeError(f"save_gguf: tensors must be a dict of name -> Tensor or QTensor, got {type(tensors).__name__}")
    metadata = dict(metadata or {})
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if isinstance(alignment, GGUFValue):
        alignment = alignment.value
    if type(alignment) is not int or not 0 < alignment < 1 << 32 or alignment & (alignment - 1):
        raise ValueError(f"save_gguf: general.alignment must be a power of two below 2**32, got {alignment!r}")
    if "general.alignment" in metadata:
        metadata["general.alignment"] = GGUFValue(alignment, "uint32")
    header = bytearray(GGUF_MAGIC + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"save_gguf: metadata keys must be str, got {key!r}")
        type_name, value = _infer(value, key)
        forced = value.type if isinstance(value, GGUFValue) else None
        _encode(header, "string", key, key)
        header += struct.pack("<I", _VALUE_TYPE_IDS[type_name])
        _encode(header, type_name, value.value if forced else value, key, forced)
    offset, sizes = 0, []
    for name, t in tensors.items():
        type_id, ne, nbytes = _tensor_record(name, t)
        _encode(header, "string", name, name)
        header += struct.pack(f"<I{len(ne)}QIQ", len(ne), *ne, type_id, offset)
        sizes.append(nbytes)
        offset += -(-nbytes // alignment) * alignment
    header += bytes(-len(header) % alignment)
    with open(path, "wb") as f:
        f.write(header)
        for t, nbytes in zip(tensors.values(), sizes):
            if nbytes:
                f.write(tensor_bytes(t if isinstance(t, ember.Tensor) else t.data))
            f.write(bytes(-nbytes % alignment))
