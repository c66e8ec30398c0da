"""PyTorch checkpoints (``torch.save``, Hub ``pytorch_model.bin``) read without running pickle code.

Three layouts are read, told apart by their first bytes:

* zip (torch >= 1.6): ``<archive>/data.pkl`` plus one record ``<archive>/data/<key>`` per storage,
  maybe ``<archive>/byteorder``. Records are stored uncompressed, so each storage wraps the mapped
  file in place; a deflated record is inflated into memory, capped at its declared size.
* raw legacy (``_use_new_zipfile_serialization=False``): five pickles (magic number, protocol
  version, sys info, the object, the sorted storage keys), then per key an 8-byte element count
  and the storage's bytes.
* tar legacy (before torch 0.4): members ``storages`` (a count, then per storage a pickled
  (key, location, storage type), an 8-byte element count and its bytes, then a pickled list of
  views), ``tensors`` (a count, then per tensor a pickled (key, storage key, tensor type), ndim,
  sizes, strides and offset) and ``pickle`` (the object, whose persistent ids are tensor keys).

Every pickle goes through ``ember.io._unpickler``, which builds plain data and calls only the
allow-listed globals below: the ones ``torch.load(weights_only=True)`` accepts. Storages become 1-D
tensors over the file's bytes and tensors are views of them, so tensors that shared a storage in
torch share memory here. Byte order: a zip whose ``byteorder`` record says "big" has its storages
byte-swapped into copies; the legacy formats always wrote little-endian data. A storage at an
unaligned file offset (common in the raw legacy format) is copied once, aligned.

Limits beyond the interpreter's: a view that repeats its storage's elements (stride 0) may not
exceed MAX_EXPANDED_BYTES, a flattened state dict MAX_STATE_DICT_ENTRIES entries, and a deflated
record its declared size (nor deflate's maximum ratio).
"""

from __future__ import annotations

import os
import struct
import tarfile
import zipfile
import zlib
from collections import Counter, OrderedDict

import ember
from ember.io._common import checked_shape, convert, fail, map_file, storage_from_buffer, view_storage
from ember.io._unpickler import MAX_DEPTH, PLAIN_GLOBALS, Global, PickleDataError, short_repr, unpickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
_TEXT_MAGIC = b"L%dL\n" % MAGIC_NUMBER  # how pickle protocols 0 and 1 open a raw legacy file
# A view may repeat elements (stride 0); one holding more elements than its storage is limited so
# that a small file cannot describe a tensor that takes gigabytes once made contiguous.
MAX_EXPANDED_BYTES = 1 << 28
MAX_STATE_DICT_ENTRIES = 1 << 20
# Deflate cannot expand data more than about 1032 times.
_MAX_DEFLATE_RATIO = 1100
_INT62 = 1 << 62

_DTYPES = {
    "float32": ember.float32, "float64": ember.float64, "float16": ember.float16, "bfloat16": ember.bfloat16,
    "uint8": ember.uint8, "int8": ember.int8, "uint32": ember.uint32, "int32": ember.int32,
    "int64": ember.int64, "bool": ember.bool_,
}
# torch dtypes a pickle may name that ember lacks: they load as TorchDtype values, and a tensor of
# one is an error naming it.
_TORCH_ONLY_DTYPES = (
    "int16", "uint16", "uint64", "complex32", "complex64", "complex128", "qint8", "qint32", "quint8",
    "quint4x2", "quint2x4", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16", "float8_e4m3fn",
    "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
    *(f"uint{n}" for n in range(1, 8)), *(f"int{n}" for n in range(1, 8)),
)
_STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool", "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64", "QInt8Storage": "qint8", "QInt32Storage": "qint32",
    "QUInt8Storage": "quint8", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
}
_TENSOR_TYPES = ("Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool")


class TorchDtype:
    """A torch dtype that ember does not have (``torch.int16``, ``torch.complex64``, ...)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


class TorchClass:
    """A torch class named by a pickle as a value (``torch.Tensor``, ``torch.FloatTensor``, ...)."""

    def __init__(self, name, dtype=None):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"<torch class {self.name}>"


def _dtype_value(name):
    return _DTYPES.get(name) or TorchDtype(name)


def _ember_dtype(dtype):
    """``dtype`` if ember has it; else PickleDataError naming it."""
    if isinstance(dtype, ember.dtype):
        return dtype
    if isinstance(dtype, TorchDtype):
        raise PickleDataError(f"dtype {dtype!r} is not supported by ember (supported: {', '.join(_DTYPES)})")
    raise PickleDataError(f"expected a dtype, got {type(dtype).__name__}")


# --- what the allow-listed torch functions build ------------------------------------------------

class _StorageRef:
    """A storage named by a persistent id: ``numel`` elements of ``dtype`` at storage ``key``, or its
    ``view`` = (element offset, numel) slice (legacy formats)."""

    __slots__ = ("key", "dtype", "numel", "view")

    def __init__(self, key, dtype, numel, view=None):
        self.key, self.dtype, self.numel, self.view = key, dtype, numel, view

    def __repr__(self):
        return f"<storage {self.key!r}>"


class _TensorSpec:
    """A tensor to make once the file's storages are located."""

    __slots__ = ("storage", "offset", "size", "stride", "dtype")

    def __init__(self, storage, offset, size, stride, dtype):
        self.storage, self.offset, self.size, self.stride, self.dtype = storage, offset, size, stride, dtype

    def __repr__(self):
        return f"<tensor of storage {self.storage.key!r}>"


def _spec(storage, storage_offset, size, stride, dtype=None, metadata=None):
    if not isinstance(storage, _StorageRef):
        raise PickleDataError(f"a tensor's storage must be a persistent storage, got {type(storage).__name__}")
    if metadata:
        raise PickleDataError(f"tensor metadata {short_repr(metadata)} (conjugate/negative views) is not supported")
    dtype = _ember_dtype(storage.dtype if dtype is None else dtype)
    return _TensorSpec(storage, storage_offset, size, stride, dtype)


def _tensor_arg(data):
    if not isinstance(data, _TensorSpec):
        raise PickleDataError(f"expected a tensor, got {type(data).__name__}")
    return data


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _spec(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    return _spec(storage, storage_offset, size, stride, metadata=metadata)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    return _spec(storage, storage_offset, size, stride, dtype, metadata)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return _tensor_arg(data)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _tensor_arg(data)


def _parameter(data, requires_grad=True):
    return _tensor_arg(data)


def _rebuild_device_tensor_from_cpu_tensor(data, dtype, device, requires_grad):
    if _ember_dtype(dtype) != _tensor_arg(data).dtype:
        raise PickleDataError(f"a {data.dtype} tensor rebuilt as {dtype}")
    return data


_TENSOR = TorchClass("torch.Tensor")
_PARAMETER = Global("torch.nn.parameter.Parameter", _parameter, _parameter)


def _rebuild_from_type_v2(func, new_type, args, state):
    # Tensor subclasses and tensors carrying Python attributes: the attributes are dropped.
    if new_type is not _TENSOR and new_type is not _PARAMETER:
        raise PickleDataError(f"tensor subclass {short_repr(new_type)} is not supported")
    if not isinstance(func, Global):
        raise PickleDataError(f"expected an allowed rebuild function, got {type(func).__name__}")
    return _tensor_arg(func.apply(args))


def _size(dims=()):
    if type(dims) not in (tuple, list) or any(type(d) is not int for d in dims):  # noqa: E721
        raise PickleDataError(f"torch.Size{short_repr(dims)} needs a tuple of integers")
    return tuple(dims)


def _device(kind, index=None):
    if type(kind) is not str or not (index is None or type(index) is int and index >= 0):  # noqa: E721
        raise PickleDataError(f"torch.device{short_repr((kind, index))} is not a device")
    return kind if index is None else f"{kind}:{index}"


def _layout(name):
    if type(name) is not str:  # noqa: E721
        raise PickleDataError(f"torch layout {short_repr(name)} is not a name")
    return TorchClass(name)


def _unsupported(what):
    def refuse(*args):
        raise PickleDataError(f"{what} are not supported by ember")
    return refuse


def _torch_globals():
    table = dict(PLAIN_GLOBALS)

    def add(name, fn, new=None):
        table[name] = Global(name, fn, new)

    for fn in (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
               _rebuild_parameter_with_state, _rebuild_device_tensor_from_cpu_tensor):
        add(f"torch._utils.{fn.__name__}", fn)
    for name, what in (("_rebuild_qtensor", "quantized tensors"), ("_rebuild_sparse_tensor", "sparse tensors"),
                       ("_rebuild_nested_tensor", "nested tensors"),
                       ("_rebuild_meta_tensor_no_storage", "meta tensors (no data)"),
                       ("_rebuild_wrapper_subclass", "tensor wrapper subclasses"),
                       ("_rebuild_device_tensor_from_numpy", "tensors rebuilt from numpy arrays")):
        add(f"torch._utils.{name}", _unsupported(what))
    add("torch._tensor._rebuild_from_type_v2", _rebuild_from_type_v2)
    table["torch.nn.parameter.Parameter"] = _PARAMETER
    add("torch.Size", _size, _size)
    add("torch.device", _device)
    add("torch.serialization._get_layout", _layout)
    table["torch.Tensor"] = _TENSOR
    for name in (*_DTYPES, *_TORCH_ONLY_DTYPES):
        table[f"torch.{name}"] = _dtype_value(name)
    for scheme in ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
                   "per_channel_affine_float_qparams"):
        table[f"torch.{scheme}"] = TorchClass(f"torch.{scheme}")
    for storage, dtype_name in _STORAGE_DTYPES.items():
        for module in ("torch", "torch.cuda"):
            table[f"{module}.{storage}"] = TorchClass(f"{module}.{storage}", _dtype_value(dtype_name))
    table["torch.storage.UntypedStorage"] = TorchClass("torch.storage.UntypedStorage", ember.uint8)
    table["torch.storage.TypedStorage"] = TorchClass("torch.storage.TypedStorage")
    for kind in _TENSOR_TYPES:
        for module in ("torch", "torch.cuda", "torch.sparse", "torch.cuda.sparse"):
            if not (kind == "Bool" and "sparse" in module):
                table[f"{module}.{kind}Tensor"] = TorchClass(f"{module}.{kind}Tensor")
    return table


_GLOBALS = _torch_globals()


def _text(value):
    return value.decode("ascii", "replace") if type(value) is bytes else value  # noqa: E721


def _storage_pid(pid, legacy):
    """The _StorageRef of a zip (5 fields) or raw legacy (6 fields) storage persistent id."""
    fields = 6 if legacy else 5
    if type(pid) is not tuple or len(pid) != fields or _text(pid[0]) != "storage":  # noqa: E721
        raise PickleDataError(f"expected a ('storage', ...) tuple of {fields} fields")
    storage_type, key, numel = pid[1], _text(pid[2]), pid[4]
    if not isinstance(storage_type, TorchClass) or storage_type.dtype is None:
        raise PickleDataError(f"{short_repr(storage_type)} is not a storage type")
    if type(key) is not str or type(numel) is not int or numel < 0:  # noqa: E721
        raise PickleDataError("the storage key must be a string and its size a non-negative integer")
    dtype = _ember_dtype(storage_type.dtype)
    view = pid[5] if legacy else None
    if view is not None:
        if type(view) is not tuple or len(view) != 3 or not _counts(view[1:]):  # noqa: E721
            raise PickleDataError(f"storage view {short_repr(view)} is not (key, offset, size)")
        view = view[1:]
    return _StorageRef(key, dtype, numel, view)


def _counts(values):
    return all(type(v) is int and v >= 0 for v in values)  # noqa: E721


def _legacy_key(value):
    """Tar checkpoints key storages and tensors by integers, written as ints or decimal strings."""
    value = _text(value)
    if type(value) is int or type(value) is str and 0 < len(value) <= 40 and value.isdigit():  # noqa: E721
        return int(value)
    raise PickleDataError(f"{short_repr(value)} is not a storage or tensor key")


def _target_device(map_location):
    if map_location is None:
        return None
    if not isinstance(map_location, (str, ember.device)):
        raise TypeError(f"map_location must be a device string or ember.device, got {type(map_location).__name__}")
    device = ember.device(map_location)
    return None if str(device) == "cpu" else device


# --- a checkpoint: where the storages' bytes are, and making tensors of them ---------------------

_CONTAINERS = (list, dict, OrderedDict, Counter, tuple, set, frozenset)


class _Checkpoint:
    """One mapped checkpoint file. Subclasses implement ``load`` (the unpickled object, holding
    _TensorSpec/_StorageRef placeholders) and ``record(key, itemsize, what)`` (buffer, start,
    size in bytes of storage ``key``)."""

    def __init__(self, path, buf):
        self.path, self.buf = path, buf
        self.roots = {}     # storage key -> the first _StorageRef naming it
        self.offsets = {}   # storage key -> (start, nbytes) (legacy formats)
        self._storages = {}
        self._copies = {}

    def _remember(self, ref):
        self.roots.setdefault(ref.key, ref)
        return ref

    def _pickle(self, start, end, what, persistent_load=None):
        return unpickle(self.buf, self.path, what, _GLOBALS, persistent_load, start, end)

    def record(self, key, itemsize, what):
        if key not in self.offsets:
            fail(self.path, f"{what}: the file holds no data for storage {key!r}")
        start, nbytes = self.offsets[key]
        return self.buf, start, nbytes

    def storage(self, ref, dtype, what):
        """The 1-D tensor of ``dtype`` over ``ref``'s bytes; one per byte range and dtype, so
        tensors that shared a torch storage share memory."""
        root_nbytes = ref.numel * ref.dtype.itemsize
        buf, base, size = self.record(ref.key, dtype.itemsize, what)
        if base % dtype.itemsize:
            buf, base = self._aligned_copy(ref.key, buf, base, size), 0
        if size != root_nbytes:
            fail(self.path, f"{what}: storage {ref.key!r} holds {size} bytes, but is named as {ref.numel} "
                            f"elements of {ref.dtype} ({root_nbytes} bytes)")
        start, nbytes = 0, root_nbytes
        if ref.view is not None:
            start, nbytes = ref.view[0] * ref.dtype.itemsize, ref.view[1] * ref.dtype.itemsize
            if start + nbytes > root_nbytes:
                fail(self.path, f"{what}: a view of {ref.view[1]} elements at {ref.view[0]} lies outside "
                                f"storage {ref.key!r} of {ref.numel}")
        cache_key = (ref.key, start, nbytes, dtype)
        if cache_key not in self._storages:
            self._storages[cache_key] = storage_from_buffer(buf, base + start, dtype, nbytes // dtype.itemsize,
                                                            self.path, what)
        return self._storages[cache_key]

    def _aligned_copy(self, key, buf, base, size):
        # The mapping is page-aligned, so an odd file offset is an unaligned address. One copy per
        # storage keeps the tensors and views of it sharing memory (bytearrays are 16-byte aligned).
        if key not in self._copies:
            self._copies[key] = bytearray(buf[base:base + size])
        return self._copies[key]

    def on_device(self, storage):
        """``storage`` on the target device: copied once, so views of it still share memory."""
        if self._device is None:
            return storage
        if id(storage) not in self._moved:
            self._moved[id(storage)] = (storage, convert(storage, device=self._device))
        return self._moved[id(storage)][1]

    def tensor(self, spec, what):
        storage = self.storage(spec.storage, spec.dtype, what)
        self._check_layout(spec, storage, what)
        return view_storage(self.on_device(storage), spec.size, spec.stride, spec.offset, self.path, what)

    def _check_layout(self, spec, storage, what):
        """What view_storage leaves to as_strided (negative or int64-overflowing strides and dims, the
        offset of an empty view), and views that repeat a few elements into a huge tensor."""
        shape, numel = checked_shape(spec.size, self.path, what)
        strides = spec.stride if isinstance(spec.stride, (list, tuple)) else ()
        if any(d >= _INT62 for d in shape) or any(type(s) is int and not 0 <= s < _INT62 for s in strides):  # noqa
            fail(self.path, f"{what}: shape {list(shape)} with strides {short_repr(spec.stride)} is not a valid view")
        if type(spec.offset) is int and not 0 <= spec.offset <= storage.numel():  # noqa: E721
            fail(self.path, f"{what}: storage offset {spec.offset} lies outside its storage of "
                            f"{storage.numel()} elements")
        if numel > storage.numel() and numel * spec.dtype.itemsize > MAX_EXPANDED_BYTES:
            fail(self.path, f"{what}: a view of shape {list(shape)} repeats the {storage.numel()} elements "
                            f"of its storage into more than {MAX_EXPANDED_BYTES} bytes")

    def materialize(self, obj, device):
        """``obj`` with every placeholder replaced by an ember tensor (on ``device``), after
        checking that it neither nests deeper than MAX_DEPTH nor contains itself."""
        self._device, self._moved, self._done, self._active = device, {}, {}, set()
        return self._value(obj, 0, ())

    def _value(self, obj, depth, where):
        kind = type(obj)
        if kind is not _TensorSpec and kind is not _StorageRef and kind not in _CONTAINERS:
            return obj
        if id(obj) in self._done:
            return self._done[id(obj)][1]
        if id(obj) in self._active:
            fail(self.path, f"the pickled object contains itself at {_render(where)}")
        if depth > MAX_DEPTH:
            fail(self.path, f"the pickled object nests deeper than {MAX_DEPTH} levels")
        self._active.add(id(obj))
        result = self._convert(obj, kind, depth + 1, where)
        self._active.discard(id(obj))
        self._done[id(obj)] = (obj, result)  # keeps obj alive so that its id stays unique
        return result

    def _convert(self, obj, kind, depth, where):
        if kind is _TensorSpec or kind is _StorageRef:
            what = f"tensor {_render(where)}"
            return self.tensor(obj, what) if kind is _TensorSpec else self.on_device(self.storage(obj, obj.dtype, what))
        if kind is list:
            for i, x in enumerate(obj):
                obj[i] = self._value(x, depth, where + (i,))
            return obj
        if kind in (tuple, frozenset):
            return kind(self._value(x, depth, where + (i,)) for i, x in enumerate(obj))
        if kind is set:
            items = [self._value(x, depth, where + (i,)) for i, x in enumerate(obj)]
            obj.clear()
            obj.update(items)
            return obj
        items = [(self._value(k, depth, where + ("<key>",)), self._value(v, depth, where + (k,)))
                 for k, v in obj.items()]
        obj.clear()
        for k, v in items:  # (Counter.update would add counts)
            obj[k] = v
        return obj


def _render(where):
    return "".join(f"[{short_repr(k)}]" for k in where) or "(the whole object)"


class _ZipCheckpoint(_Checkpoint):
    def load(self):
        self.records = self._directory()
        pkl = [n for n in self.records if n == "data.pkl" or n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            fail(self.path, f"expected one <archive>/data.pkl record in the zip archive, found {len(pkl)}")
        self.prefix = pkl[0][:-len("data.pkl")]
        self.big_endian = self._big_endian()
        self._records = {}
        buf, start, size = self._member(pkl[0])
        obj, _ = unpickle(buf, self.path, "data.pkl", _GLOBALS,
                          lambda pid: self._remember(_storage_pid(pid, legacy=False)), start, start + size)
        return obj

    def _directory(self):
        try:
            with zipfile.ZipFile(self.path) as z:
                infos = z.infolist()
        except Exception as e:  # noqa: BLE001  (zipfile raises many types on a malformed archive)
            fail(self.path, f"not a readable zip archive: {type(e).__name__}: {e}")
        records = {}
        for info in infos:
            if info.filename in records:
                fail(self.path, f"the zip archive holds record {info.filename!r} twice")
            records[info.filename] = info
        return records

    def _big_endian(self):
        name = self.prefix + "byteorder"
        if name not in self.records:
            return False
        if self.records[name].file_size > 16:
            fail(self.path, f"record {name!r} is {self.records[name].file_size} bytes long")
        buf, start, size = self._member(name)
        order = bytes(buf[start:start + size])
        if order not in (b"little", b"big"):
            fail(self.path, f"record {name!r} holds {order!r}; expected b'little' or b'big'")
        return order == b"big"

    def _member(self, name):
        """(buffer, start, size) of a record's bytes: the mapped file for a stored record."""
        info = self.records.get(name)
        if info is None:
            fail(self.path, f"the zip archive has no record {name!r}")
        if info.flag_bits & 1:
            fail(self.path, f"record {name!r} is encrypted")
        at = info.header_offset
        if at < 0 or at + 30 > len(self.buf) or self.buf[at:at + 4] != b"PK\x03\x04":
            fail(self.path, f"record {name!r}: no local file header at byte {at}")
        name_len, extra_len = struct.unpack_from("<HH", self.buf, at + 26)
        start = at + 30 + name_len + extra_len
        if start + info.compress_size > len(self.buf):
            fail(self.path, f"record {name!r}: {info.compress_size} bytes at byte {start} run past the end "
                            f"of the {len(self.buf)}-byte file")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                fail(self.path, f"stored record {name!r} has sizes {info.compress_size} and {info.file_size}")
            return self.buf, start, info.file_size
        if info.compress_type == zipfile.ZIP_DEFLATED:
            return self._inflate(name, info, start), 0, info.file_size
        fail(self.path, f"record {name!r} uses compression method {info.compress_type}; only stored and "
                        "deflated records are read")

    def _inflate(self, name, info, start):
        size = info.file_size
        if size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
            fail(self.path, f"deflated record {name!r} claims {size} bytes from {info.compress_size}, more than "
                            "deflate can expand to")
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            data = inflater.decompress(self.buf[start:start + info.compress_size], size)
        except zlib.error as e:
            fail(self.path, f"deflated record {name!r} is corrupt: {e}")
        if len(data) != size or not inflater.eof:
            fail(self.path, f"deflated record {name!r} does not inflate to its declared {size} bytes")
        if zlib.crc32(data) != info.CRC:
            fail(self.path, f"deflated record {name!r} fails its CRC check")
        return bytearray(data)

    def record(self, key, itemsize, what):
        swap = itemsize if self.big_endian and itemsize > 1 else 0
        if (key, swap) not in self._records:
            name = f"{self.prefix}data/{key}"
            if name not in self.records:
                fail(self.path, f"{what}: the zip archive has no record {name!r} for storage {key!r}")
            buf, start, size = self._member(name)
            if swap:
                buf, start = self._byteswapped(buf, start, size, itemsize, what), 0
            self._records[key, swap] = (buf, start, size)
        return self._records[key, swap]

    def _byteswapped(self, buf, start, size, itemsize, what):
        if size % itemsize:
            fail(self.path, f"{what}: a big-endian storage of {size} bytes is not a whole number of "
                            f"{itemsize}-byte elements")
        src = bytes(buf[start:start + size])
        out = bytearray(size)
        for j in range(itemsize):
            out[j::itemsize] = src[itemsize - 1 - j::itemsize]
        return out


class _RawCheckpoint(_Checkpoint):
    def load(self):
        magic, pos = self._pickle(0, None, "pickle 1 (magic number)")
        if type(magic) is not int or magic != MAGIC_NUMBER:  # noqa: E721
            fail(self.path, f"not a PyTorch checkpoint: the first pickle is {short_repr(magic)}, not torch's "
                            "magic number")
        version, pos = self._pickle(pos, None, "pickle 2 (protocol version)")
        if type(version) is not int or version != PROTOCOL_VERSION:  # noqa: E721
            fail(self.path, f"legacy protocol version {short_repr(version)} is not {PROTOCOL_VERSION}")
        sys_info, pos = self._pickle(pos, None, "pickle 3 (sys info)")
        if type(sys_info) is not dict:  # noqa: E721
            fail(self.path, f"pickle 3 (sys info) is a {type(sys_info).__name__}, not a dict")
        obj, pos = self._pickle(pos, None, "pickle 4 (the object)",
                                lambda pid: self._remember(_storage_pid(pid, legacy=True)))
        keys, pos = self._pickle(pos, None, "pickle 5 (storage keys)")
        self._locate(keys, pos)
        return obj

    def _locate(self, keys, pos):
        if type(keys) is not list:  # noqa: E721
            fail(self.path, f"pickle 5 (storage keys) is a {type(keys).__name__}, not a list")
        for key in keys:
            if type(key) is not str or key not in self.roots or key in self.offsets:  # noqa: E721
                fail(self.path, f"storage key list: {short_repr(key)} is not a storage the object names, or repeats")
            ref = self.roots[key]
            if pos + 8 > len(self.buf):
                fail(self.path, f"storage {key!r}: the file ends before its element count at byte {pos}")
            (count,) = struct.unpack_from("<q", self.buf, pos)
            nbytes = ref.numel * ref.dtype.itemsize
            if count != ref.numel or pos + 8 + nbytes > len(self.buf):
                fail(self.path, f"storage {key!r}: {count} elements at byte {pos}, but the object names "
                                f"{ref.numel} and {len(self.buf) - pos - 8} bytes remain")
            self.offsets[key] = (pos + 8, nbytes)
            pos += 8 + nbytes


class _TarCheckpoint(_Checkpoint):
    def load(self):
        members = self._members()
        self._views = {}
        self._read_storages(*members["storages"])
        self._tensors = self._read_tensors(*members["tensors"])
        obj, _ = self._pickle(*members["pickle"], "tar member 'pickle'", self._persistent_load)
        return obj

    def _members(self):
        try:
            with tarfile.open(self.path, "r:") as tar:
                found = {m.name: m for m in tar.getmembers()}
        except Exception as e:  # noqa: BLE001  (tarfile raises many types on a malformed archive)
            fail(self.path, f"not a readable tar archive: {type(e).__name__}: {e}")
        members = {}
        for name in ("storages", "tensors", "pickle"):
            m = found.get(name)
            if m is None or not m.isfile() or m.issparse():
                fail(self.path, f"the legacy tar checkpoint has no regular member {name!r}")
            if m.offset_data + m.size > len(self.buf):
                fail(self.path, f"tar member {name!r} runs past the end of the file")
            members[name] = (m.offset_data, m.offset_data + m.size)
        return members

    def _count(self, pos, end, what, min_bytes):
        count, pos = self._pickle(pos, end, f"{what} count")
        if type(count) is not int or not 0 <= count <= (end - pos) // min_bytes:  # noqa: E721
            fail(self.path, f"{what}: count {short_repr(count)} does not fit the member's {end - pos} bytes")
        return count, pos

    def _key(self, value, what):
        try:
            return _legacy_key(value)
        except PickleDataError as e:
            fail(self.path, f"{what}: {e}")

    def _read_storages(self, pos, end):
        count, pos = self._count(pos, end, "tar member 'storages'", 8)
        for i in range(count):
            what = f"tar member 'storages', storage {i}"
            entry, pos = self._pickle(pos, end, what)
            if type(entry) is not tuple or len(entry) != 3 or not isinstance(entry[2], TorchClass):  # noqa: E721
                fail(self.path, f"{what}: expected (key, location, storage type), got {short_repr(entry)}")
            key = self._key(entry[0], what)
            try:
                dtype = _ember_dtype(entry[2].dtype)
            except PickleDataError as e:
                fail(self.path, f"{what}: {e}")
            if key in self.roots or pos + 8 > end:
                fail(self.path, f"{what}: key {key} repeats or the member ends before its size")
            (numel,) = struct.unpack_from("<q", self.buf, pos)
            if not 0 <= numel <= (end - pos - 8) // dtype.itemsize:
                fail(self.path, f"{what}: {numel} elements of {dtype} do not fit the member")
            self.roots[key] = _StorageRef(key, dtype, numel)
            self.offsets[key] = (pos + 8, numel * dtype.itemsize)
            pos += 8 + numel * dtype.itemsize
        views, _ = self._pickle(pos, end, "tar member 'storages', views")
        if type(views) is not list:  # noqa: E721
            fail(self.path, f"tar member 'storages': the views are a {type(views).__name__}, not a list")
        for view in views:
            if type(view) is not tuple or len(view) != 4 or not _counts(view[2:]):  # noqa: E721
                fail(self.path, f"tar member 'storages': view {short_repr(view)} is not (key, root, offset, numel)")
            root = self.roots.get(self._key(view[1], "storage view"))
            if root is None:
                fail(self.path, f"tar member 'storages': view {short_repr(view)} names an unknown root storage")
            self._views[self._key(view[0], "storage view")] = _StorageRef(root.key, root.dtype, root.numel, view[2:])

    def _storage(self, key):
        return self._views.get(key) or self.roots.get(key)

    def _read_tensors(self, pos, end):
        count, pos = self._count(pos, end, "tar member 'tensors'", 16)
        tensors = {}
        for i in range(count):
            what = f"tar member 'tensors', tensor {i}"
            entry, pos = self._pickle(pos, end, what)
            if type(entry) is not tuple or len(entry) != 3:  # noqa: E721
                fail(self.path, f"{what}: expected (key, storage key, tensor type), got {short_repr(entry)}")
            storage = self._storage(self._key(entry[1], what))
            if storage is None or pos + 8 > end:
                fail(self.path, f"{what}: unknown storage {short_repr(entry[1])} or a truncated member")
            (ndim,) = struct.unpack_from("<i", self.buf, pos)
            if not 0 <= ndim <= 64 or pos + 16 + 16 * ndim > end:
                fail(self.path, f"{what}: {ndim} dims do not fit the member")
            size = struct.unpack_from(f"<{ndim}q", self.buf, pos + 8)
            stride = struct.unpack_from(f"<{ndim}q", self.buf, pos + 8 + 8 * ndim)
            (offset,) = struct.unpack_from("<q", self.buf, pos + 8 + 16 * ndim)
            tensors[self._key(entry[0], what)] = _TensorSpec(storage, offset, size, stride, storage.dtype)
            pos += 16 + 16 * ndim
        return tensors

    def _persistent_load(self, pid):
        key = _legacy_key(pid)
        found = self._tensors.get(key) or self._storage(key)
        if found is None:
            raise PickleDataError(f"no tensor or storage has key {key}")
        return found


def _open(path):
    path = os.fspath(path)
    buf = map_file(path)
    if buf[:4] == b"PK\x03\x04":
        return _ZipCheckpoint(path, buf)
    if buf[257:262] == b"ustar":
        return _TarCheckpoint(path, buf)
    if buf[:1] == b"\x80" or buf[:len(_TEXT_MAGIC)] == _TEXT_MAGIC:
        return _RawCheckpoint(path, buf)
    fail(path, "not a PyTorch checkpoint (a zip archive, legacy tar or legacy pickle); it starts with "
               f"{bytes(buf[:8])!r}")


def _state_dict(obj, path):
    """The tensors of ``obj``: wrappers unwrapped, nested dicts flattened with dotted keys."""
    if not isinstance(obj, dict):
        fail(path, f"the checkpoint holds a {type(obj).__name__}, not a dict of tensors (ember.io.load_pth_object "
                   "returns any object)")
    while not any(isinstance(v, ember.Tensor) for v in obj.values()):
        inner = next((obj[k] for k in ("state_dict", "model", "module") if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    out = {}
    _flatten(obj, "", out, path, [MAX_STATE_DICT_ENTRIES])
    return out


def _flatten(d, prefix, out, path, budget):
    for key, value in d.items():
        budget[0] -= 1
        if budget[0] < 0:
            fail(path, f"the state dict has more than {MAX_STATE_DICT_ENTRIES} entries")
        if type(key) is not str and type(key) is not int:  # noqa: E721
            continue
        name = f"{prefix}{key}"
        if isinstance(value, ember.Tensor):
            if name in out:
                fail(path, f"the state dict holds two tensors named {name!r} once flattened")
            out[name] = value
        elif isinstance(value, dict):
            _flatten(value, name + ".", out, path, budget)


def load_pth(path, map_location="cpu"):
    """The tensors of a PyTorch checkpoint (``torch.save`` zip, raw legacy or tar legacy format,
    ``.pt``/``.pth``/``.bin``) as a dict of name -> Tensor.

    A checkpoint that wraps its state dict (``{"state_dict": ...}``, ``{"model": ...}``,
    ``{"module": ...}``) is unwrapped; nested dicts are flattened with dotted keys; anything that is
    not a tensor is dropped. On CPU the tensors wrap the memory-mapped file (no copy; writes go to a
    private copy of the pages). ``map_location`` is a device string or ``ember.device``.
    Raises FileFormatError for a malformed file or unsupported dtype, UnsafePickleError for a
    pickle naming anything outside the allow-list (nothing of it is run)."""
    checkpoint = _open(path)
    obj = checkpoint.materialize(checkpoint.load(), _target_device(map_location))
    return _state_dict(obj, checkpoint.path)


def load_pth_object(path, map_location="cpu"):
    """The whole object a PyTorch checkpoint holds: dicts, lists, tuples, sets, numbers, strings,
    bytes and tensors (a bare storage becomes a 1-D tensor; torch dtypes ember has become ember
    dtypes, others ``TorchDtype``). Same formats, zero-copy mapping and errors as ``load_pth``."""
    checkpoint = _open(path)
    return checkpoint.materialize(checkpoint.load(), _target_device(map_location))
