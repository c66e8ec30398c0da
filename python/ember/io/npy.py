"""NumPy ``.npy`` and ``.npz`` files, read and written without numpy.

A ``.npy`` file is a 6-byte magic, a version, a header length, a header that is a Python dict literal
(``{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }``) and then the raw elements. An
``.npz`` file is a zip archive of ``name.npy`` members, stored (``np.savez``) or deflated
(``np.savez_compressed``).

What is copied:

* ``.npy`` files and stored ``.npz`` members are wrapped in place in the copy-on-write mapping of
  the file: nothing is read until a page is touched and writing into a tensor never changes the
  file. Fortran-order arrays become non-contiguous views (reversed strides) of the same bytes. A
  range whose address is not aligned for its dtype is copied (``_common.storage_from_buffer``);
  ember's own files are always aligned, numpy's ``.npz`` members usually are not (each member's
  data follows a zip local header of arbitrary length).
* Big-endian arrays (``'>f4'``) are byteswapped into a copy.
* Deflated ``.npz`` members are inflated into memory, at most their declared size; an inflated
  size that differs from the declared one and a CRC mismatch are errors.

Files are untrusted: the header is parsed as a literal (never evaluated, object arrays are never
unpickled), its keys, types and shape are checked, the data must fill the rest of the file (or zip
member) exactly, and each zip member's local header must agree with the central directory. Stored
members' CRCs are not checked, since that would read the whole file at load time.
"""

from __future__ import annotations

import array
import ast
import os
import struct
import sys
import zipfile
import zlib

import ember
from ember.io._common import (FileFormatError, checked_shape, convert, fail, map_file, storage_from_buffer,
                              tensor_bytes, view_storage)

MAGIC = b"\x93NUMPY"
# numpy's np.load refuses larger headers by default as well; a valid header of any dtype ember reads
# with at most 64 dims is far shorter.
MAX_HEADER_BYTES = 10_000

# version -> (struct format of the header length, encoding of the header)
_VERSIONS = {(1, 0): ("<H", "latin1"), (2, 0): ("<I", "latin1"), (3, 0): ("<I", "utf-8")}

# numpy type codes (kind + item size) of the dtypes ember has
_CODES = {
    "b1": ember.bool_, "u1": ember.uint8, "i1": ember.int8, "u4": ember.uint32, "i4": ember.int32,
    "i8": ember.int64, "f2": ember.float16, "f4": ember.float32, "f8": ember.float64,
}
_CODE_OF = {str(d): code for code, d in _CODES.items()}
_SUPPORTED = ", ".join(f"{code} ({d.name})" for code, d in _CODES.items())
_HOST_ORDER = "<" if sys.byteorder == "little" else ">"
_SWAP_TYPECODES = {array.array(c).itemsize: c for c in "QLIH"}  # unsigned array codes by item size

_ZIP_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_ZIP_LOCAL_SIGNATURE = 0x04034B50
_ZIP64_EXTRA_ID = 0x0001
_ZIPALIGN_EXTRA_ID = 0xD935  # the extra field Android's zipalign pads with: u16 alignment, then zeros
_DEFLATE_MAX_RATIO = 1032  # the most bytes deflate can produce per compressed byte
_INFLATE_IN_CHUNK = 1 << 18
_INFLATE_OUT_CHUNK = 1 << 24


class _Header:
    __slots__ = ("dtype", "swap", "shape", "numel", "fortran")

    def __init__(self, dtype, swap, shape, numel, fortran):
        self.dtype, self.swap, self.shape, self.numel, self.fortran = dtype, swap, shape, numel, fortran


# ---------------------------------------------------------------------------------------------
# reading .npy


def _read_header(buf, start, end, path, what):
    """(header, data start) of the .npy file at ``buf[start:end]``, after checking that its data
    fills the rest of the range exactly."""
    if end - start < 10 or bytes(buf[start:start + 6]) != MAGIC:
        fail(path, f"{what}: not a .npy file (starts with {bytes(buf[start:min(end, start + 8)])!r})")
    version = (buf[start + 6], buf[start + 7])
    if version not in _VERSIONS:
        fail(path, f"{what}: unsupported .npy format version {version[0]}.{version[1]} (ember reads 1.0, 2.0, 3.0)")
    length_format, encoding = _VERSIONS[version]
    pos = start + 8 + struct.calcsize(length_format)
    if pos > end:
        fail(path, f"{what}: the file ends inside the header length")
    (n,) = struct.unpack_from(length_format, buf, start + 8)
    if n > MAX_HEADER_BYTES:
        fail(path, f"{what}: header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
    if pos + n > end:
        fail(path, f"{what}: header length {n} runs past the end of the {end - start}-byte file")
    try:
        text = bytes(buf[pos:pos + n]).decode(encoding)
    except UnicodeDecodeError as e:
        fail(path, f"{what}: the version {version[0]}.0 header is not valid {encoding}: {e}")
    header = _parse_header(text, path, what)
    need = header.numel * header.dtype.itemsize
    if end - (pos + n) != need:
        fail(path, f"{what}: the header describes {need} bytes of data (shape {list(header.shape)}, "
                   f"{header.dtype.name}) but {end - (pos + n)} bytes follow it")
    return header, pos + n


def _parse_header(text, path, what):
    fields = _literal_dict(text, path, what)
    if set(fields) != {"descr", "fortran_order", "shape"}:
        fail(path, f"{what}: header keys {sorted(fields)} must be exactly descr, fortran_order, shape")
    fortran, shape = fields["fortran_order"], fields["shape"]
    if type(fortran) is not bool:  # noqa: E721
        fail(path, f"{what}: fortran_order must be True or False, got {fortran!r}")
    if not isinstance(shape, tuple):
        fail(path, f"{what}: shape must be a tuple of integers, got {shape!r}")
    shape, numel = checked_shape(shape, path, what)
    dtype, swap = _dtype_of(fields["descr"], path, what)
    return _Header(dtype, swap, shape, numel, fortran)


def _literal_dict(text, path, what):
    """The header's dict literal, parsed without evaluating anything; keys must be distinct strings."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        fail(path, f"{what}: the header is not a Python literal ({e}): {text[:200]!r}")
    if not isinstance(node, ast.Dict):
        fail(path, f"{what}: the header must be a dict literal, got {text[:200]!r}")
    keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
    if not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys):
        fail(path, f"{what}: the header's keys must be distinct strings: {text[:200]!r}")
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, MemoryError, RecursionError) as e:
        fail(path, f"{what}: the header is not a Python literal ({e}): {text[:200]!r}")


def _dtype_of(descr, path, what):
    """(ember dtype, whether the data must be byteswapped) for a header's ``descr``."""
    if not isinstance(descr, str):
        kind = "a structured dtype" if isinstance(descr, list) else f"a {type(descr).__name__}"
        fail(path, f"{what}: descr {descr!r} is {kind}, which ember does not read (ember reads {_SUPPORTED})")
    order, code = (descr[0], descr[1:]) if descr[:1] in ("<", ">", "=", "|") else ("=", descr)
    if code not in _CODES:
        fail(path, f"{what}: dtype {descr!r} is not supported{_unsupported_hint(code)} (ember reads {_SUPPORTED})")
    dtype = _CODES[code]
    file_order = _HOST_ORDER if order in ("=", "|") else order
    return dtype, dtype.itemsize > 1 and file_order != _HOST_ORDER


def _unsupported_hint(code):
    if code.startswith("O"):
        return ": object arrays are pickled Python objects, which ember never unpickles"
    if code == "V2":
        return ": raw 2-byte records (ml_dtypes.bfloat16 is saved this way; save it with safetensors instead)"
    return ""


def _tensor(buf, header, data_start, path, what):
    """The array whose header was read, wrapping ``buf`` where it can."""
    dtype, numel = header.dtype, header.numel
    if header.swap:
        storage = _byteswapped(buf, data_start, dtype, numel, path, what)
    else:
        storage = storage_from_buffer(buf, data_start, dtype, numel, path, what)
    if header.fortran and len(header.shape) > 1 and numel:
        strides, step = [], 1
        for d in header.shape:
            strides.append(step)
            step *= d
        return view_storage(storage, header.shape, strides, 0, path, what)
    return storage.view(header.shape)


def _byteswapped(buf, start, dtype, numel, path, what):
    """A copy of big-endian (non-native) elements in native byte order."""
    nbytes = numel * dtype.itemsize
    items = array.array(_SWAP_TYPECODES[dtype.itemsize])
    with memoryview(buf) as whole:
        items.frombytes(whole[start:start + nbytes])
    items.byteswap()
    return storage_from_buffer(memoryview(items).cast("B"), 0, dtype, numel, path, what)


def load_npy(path, device="cpu"):
    """The array of a NumPy ``.npy`` file (format 1.0, 2.0 or 3.0) as a tensor.

    On CPU the tensor wraps the copy-on-write mapping of the file (no copy; writes stay in this
    process); a Fortran-order array is a non-contiguous view and a big-endian one a byteswapped copy.
    Supported dtypes: bool, uint8, int8, uint32, int32, int64, float16, float32, float64; anything
    else (object arrays included, which are never unpickled) raises ``FileFormatError``."""
    buf = map_file(path)
    header, data_start = _read_header(buf, 0, len(buf), path, "npy")
    return convert(_tensor(buf, header, data_start, path, "npy"), device=device)


# ---------------------------------------------------------------------------------------------
# reading .npz


def _zip_entries(path):
    """The central directory's entries (zipfile.ZipInfo), with zipfile's errors made ours."""
    try:
        with zipfile.ZipFile(path) as z:
            return z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
            NotImplementedError, OverflowError, IndexError, KeyError) as e:
        raise FileFormatError(f"{os.fspath(path)}: npz: not a readable zip archive: {e}") from e


def _member_range(buf, info, path):
    """[begin, end) of a member's (possibly compressed) bytes in the file, after checking its local
    header against the central directory entry ``info``."""
    what = f"npz member {info.filename!r}"
    if info.flag_bits & 0x1:
        fail(path, f"{what} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        fail(path, f"{what} uses zip compression method {info.compress_type} (ember reads stored and deflated)")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        fail(path, f"{what} is stored, but its sizes differ ({info.compress_size} vs {info.file_size})")
    offset = info.header_offset
    if offset < 0 or offset + _ZIP_LOCAL_HEADER.size > len(buf):
        fail(path, f"{what}: its local header at {offset} lies outside the {len(buf)}-byte file")
    sig, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = _ZIP_LOCAL_HEADER.unpack_from(buf, offset)
    name_start = offset + _ZIP_LOCAL_HEADER.size
    begin = name_start + name_len + extra_len
    if sig != _ZIP_LOCAL_SIGNATURE or begin > len(buf):
        fail(path, f"{what}: no valid local header at offset {offset}")
    raw_name = bytes(buf[name_start:name_start + name_len])
    if raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace") != info.orig_filename:
        fail(path, f"{what}: the local header names it {raw_name!r}")
    if method != info.compress_type or flags & 0x1:
        fail(path, f"{what}: the local header's method or flags disagree with the central directory")
    if not flags & 0x8:  # without a data descriptor the local header repeats the CRC and sizes
        usize, csize = _zip64_sizes(buf, begin - extra_len, begin, usize, csize, path, what)
        if (crc, csize, usize) != (info.CRC, info.compress_size, info.file_size):
            fail(path, f"{what}: the local header's CRC and sizes ({crc:#x}, {csize}, {usize}) disagree with the "
                       f"central directory's ({info.CRC:#x}, {info.compress_size}, {info.file_size})")
    end = begin + info.compress_size
    if end > len(buf):
        fail(path, f"{what}: its {info.compress_size} bytes run past the end of the {len(buf)}-byte file")
    return begin, end


def _zip64_sizes(buf, begin, end, usize, csize, path, what):
    """The local header's (uncompressed, compressed) sizes, read from its zip64 extra field where
    the 32-bit fields are 0xFFFFFFFF."""
    if 0xFFFFFFFF not in (usize, csize):
        return usize, csize
    pos = begin
    while pos + 4 <= end:
        field_id, size = struct.unpack_from("<HH", buf, pos)
        if field_id == _ZIP64_EXTRA_ID:
            values = list(struct.unpack_from(f"<{min(size, end - pos - 4) // 8}Q", buf, pos + 4))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            return usize, csize
        pos += 4 + size
    fail(path, f"{what}: the local header's sizes are 0xFFFFFFFF but it has no zip64 extra field")


def _check_no_overlap(ranges, path):
    """Members must not share bytes (overlapping members are how small zips inflate to huge sizes)."""
    previous_end, previous = 0, None
    for begin, end, name in sorted(ranges):
        if begin < previous_end:
            fail(path, f"npz: members {previous!r} and {name!r} overlap")
        previous_end, previous = end, name


def _inflate(buf, begin, end, info, path, what):
    """A deflated member's bytes (a bytearray of exactly its declared size), CRC checked."""
    size = info.file_size
    if size > _DEFLATE_MAX_RATIO * (end - begin) + 64:
        fail(path, f"{what}: declares {size} bytes from {end - begin} compressed bytes, more than deflate can produce")
    out = bytearray(size)
    pos, crc, finished = 0, 0, False
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    with memoryview(buf) as whole, memoryview(out) as target:
        try:
            for chunk_start in range(begin, end, _INFLATE_IN_CHUNK):
                if finished:
                    fail(path, f"{what}: compressed bytes follow the end of the deflate stream")
                pending = whole[chunk_start:min(end, chunk_start + _INFLATE_IN_CHUNK)]
                while True:
                    piece = inflater.decompress(pending, _INFLATE_OUT_CHUNK)
                    if len(piece) > size - pos:
                        fail(path, f"{what}: inflates to more than its declared {size} bytes")
                    target[pos:pos + len(piece)] = piece
                    pos, crc = pos + len(piece), zlib.crc32(piece, crc)
                    pending = inflater.unconsumed_tail
                    if inflater.eof or (not pending and len(piece) < _INFLATE_OUT_CHUNK):
                        break
                finished = inflater.eof
        except zlib.error as e:
            raise FileFormatError(f"{os.fspath(path)}: {what}: corrupt deflate data: {e}") from e
    if not finished or inflater.unused_data:
        fail(path, f"{what}: the deflate stream is {'truncated' if not finished else 'followed by other bytes'}")
    if pos != size:
        fail(path, f"{what}: inflates to {pos} bytes, but declares {size}")
    if crc != info.CRC:
        fail(path, f"{what}: CRC {crc:#010x} of the inflated bytes does not match the recorded {info.CRC:#010x}")
    return out


def load_npz(path, device="cpu"):
    """Every array of a NumPy ``.npz`` archive, as a dict keyed like numpy's (member names without
    ``.npy``).

    Stored members (``np.savez``) wrap the copy-on-write mapping of the file where their data is
    aligned for the dtype (ember's files always are) and are copied otherwise; deflated members
    (``np.savez_compressed``) are inflated into memory. Every member must be a ``.npy`` file."""
    buf = map_file(path)
    entries = _zip_entries(path)
    ranges = [_member_range(buf, info, path) for info in entries]
    _check_no_overlap([(info.header_offset, end, info.filename) for info, (_, end) in zip(entries, ranges)], path)
    out = {}
    for info, (begin, end) in zip(entries, ranges):
        what = f"npz member {info.filename!r}"
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if key in out:
            fail(path, f"npz: two members are named {key!r}")
        member = buf
        if info.compress_type == zipfile.ZIP_DEFLATED:
            member, begin, end = _inflate(buf, begin, end, info, path, what), 0, info.file_size
        header, data_start = _read_header(member, begin, end, path, what)
        out[key] = convert(_tensor(member, header, data_start, path, what), device=device)
    return out


# ---------------------------------------------------------------------------------------------
# writing


def _npy_header(t):
    """The .npy header (magic to newline) of a C-order tensor; data after it starts at a multiple of 64."""
    if not isinstance(t, ember.Tensor):
        raise TypeError(f"expected an ember.Tensor, got {type(t).__name__}")
    code = _CODE_OF.get(str(t.dtype))
    if code is None:
        raise TypeError(f"numpy has no {t.dtype.name} dtype, so a .npy file cannot hold this tensor; "
                        f"convert it with .float() or save it with ember.io.save_safetensors")
    descr = ("|" if t.itemsize == 1 else _HOST_ORDER) + code
    shape = tuple(int(d) for d in t.shape)
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}".encode("latin1")
    for version in ((1, 0), (2, 0)):
        length_format = _VERSIONS[version][0]
        prefix = len(MAGIC) + 2 + struct.calcsize(length_format)
        n = len(text) + 1 + (-(prefix + len(text) + 1) % 64)
        if n < 1 << (8 * struct.calcsize(length_format)):
            return MAGIC + bytes(version) + struct.pack(length_format, n) + text + b" " * (n - len(text) - 1) + b"\n"
    raise ValueError(f"shape {list(shape)} needs a header of over 4 GiB")


def save_npy(path, tensor):
    """Writes ``tensor`` to ``path`` as a ``.npy`` file (format 1.0, C order, native little-endian
    byte order) that ``np.load`` reads. ``path`` is used as given (no ``.npy`` is appended).

    bfloat16 tensors raise TypeError: numpy has no such dtype (use ``.float()`` or safetensors)."""
    header = _npy_header(tensor)
    with open(path, "wb") as f:
        f.write(header)
        f.write(tensor_bytes(tensor))


def _alignment_extra(member_offset, name):
    """A zipalign extra field that makes the member's data start at a multiple of 64 in the file,
    given the local header that zipfile writes with force_zip64 (30 bytes, the name, this field,
    then a 20-byte zip64 field)."""
    fixed = _ZIP_LOCAL_HEADER.size + len(name.encode("utf-8")) + 6 + 20
    padding = -(member_offset + fixed) % 64
    return struct.pack("<HHH", _ZIPALIGN_EXTRA_ID, 2 + padding, 64) + bytes(padding)


def save_npz(path, tensors, compressed=False):
    """Writes ``tensors`` (a dict name -> Tensor) to ``path`` as an ``.npz`` archive that
    ``np.load`` reads, one ``name.npy`` member per tensor.

    ``compressed=False`` stores the members (like ``np.savez``) with each array's data aligned to 64
    bytes in the file, so ``load_npz`` wraps them without copying; ``compressed=True`` deflates them
    (like ``np.savez_compressed``). The archive is deterministic (fixed timestamps)."""
    if not isinstance(tensors, dict):
        raise TypeError(f"save_npz: tensors must be a dict of name -> Tensor, got {type(tensors).__name__}")
    headers = {}
    for name, t in tensors.items():
        if not isinstance(name, str) or "\0" in name:
            raise TypeError(f"save_npz: names must be strings without NUL characters, got {name!r}")
        try:
            headers[name] = _npy_header(t)
        except TypeError as e:
            raise TypeError(f"save_npz: {name!r}: {e}") from None
    with open(path, "wb") as f, zipfile.ZipFile(f, "w") as archive:
        for name, t in tensors.items():
            info = zipfile.ZipInfo(name + ".npy")
            info.external_attr = 0o644 << 16
            if compressed:
                info.compress_type = zipfile.ZIP_DEFLATED
            else:
                info.extra = _alignment_extra(f.tell(), info.filename)
            with archive.open(info, "w", force_zip64=True) as member:
                member.write(headers[name])
                member.write(tensor_bytes(t))

