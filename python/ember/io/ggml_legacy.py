"""Legacy llama.cpp files, before GGUF: 'ggml' (unversioned), 'ggmf' v1 and 'ggjt' v1 to v3.

Layout, all little-endian: the magic as a uint32 (so the file starts with b"lmgg", b"fmgg" or
b"tjgg"), a uint32 version (not in 'ggml' files), seven uint32 hyperparameters (n_vocab, n_embd,
n_mult, n_head, n_layer, n_rot, ftype), n_vocab tokens (a uint32 length and the bytes, then a
float32 score except in 'ggml' files), then tensors up to the end of the file: uint32 n_dims,
name length and ggml type, n_dims uint32 dims (innermost first), the name, and the data, which in
'ggjt' files starts at the next multiple of 32 bytes of the file.

Block layouts changed twice before GGUF: quantized tensors are read from ggjt v3 files, and from
ggjt v2 files except q4_0, q4_1 and q8_0 (whose scales were float32 then); files older than ggjt
v2 are read when their tensors are f32 or f16.
"""

from __future__ import annotations

import os
import struct

from ember.io._common import checked_shape, fail, map_file
from ember.io.gguf import GGML_TYPES, TensorRecord, check_ranges, make_tensor, to_device

_MAGICS = {b"lmgg": "ggml", b"fmgg": "ggmf", b"tjgg": "ggjt"}
HPARAMS = ("n_vocab", "n_embd", "n_mult", "n_head", "n_layer", "n_rot", "ftype")
ALIGNMENT = 32  # of tensor data in ggjt files, relative to the start of the file


def _format(buf, path):
    """(format name, version, position after the version)."""
    fmt = _MAGICS.get(bytes(buf[:4]))
    if fmt is None:
        fail(path, f"ggml: bad magic {bytes(buf[:4])!r} (expected b'lmgg', b'fmgg' or b'tjgg')")
    if fmt == "ggml":
        return fmt, 0, 4
    if len(buf) < 8:
        fail(path, f"ggml: the {len(buf)}-byte file ends inside the version")
    (version,) = struct.unpack_from("<I", buf, 4)
    if (fmt == "ggmf" and version != 1) or (fmt == "ggjt" and not 1 <= version <= 3):
        fail(path, f"ggml: unsupported {fmt} version {version} (ember reads ggmf v1 and ggjt v1 to v3)")
    return fmt, version, 8


def _check_layout(fmt, version, type_name, what, path):
    if type_name in ("f32", "f16"):
        return
    if fmt != "ggjt" or version < 2 or type_name == "q8_1" or (version == 2 and type_name in ("q4_0", "q4_1", "q8_0")):
        fail(path, f"ggml: {what} is {type_name} in a {fmt} v{version} file, whose block layout for it predates "
                   f"the current one; ember reads quantized tensors from ggjt v3 files (and q5_0 / q5_1 from v2)")


def load_ggml(path, device="cpu"):
    """``(tensors, metadata)`` of a legacy GGML / GGMF / GGJT llama file.

    Tensors are as ``load_gguf`` gives them (row-major shapes, the file's dims reversed; zero-copy on
    CPU). ``metadata`` holds ``format`` ('ggml', 'ggmf' or 'ggjt'), ``version`` (0 for 'ggml'), the
    seven hyperparameters by name, ``tokens`` (a list of bytes) and, except for 'ggml' files,
    ``scores`` (a list of floats)."""
    path = os.fspath(path)
    buf = map_file(path)
    size = len(buf)
    fmt, version, pos = _format(buf, path)
    if pos + 28 > size:
        fail(path, f"ggml: the {size}-byte file ends inside the hyperparameters")
    metadata = {"format": fmt, "version": version}
    metadata.update(zip(HPARAMS, struct.unpack_from("<7I", buf, pos)))
    pos += 28
    has_scores = fmt != "ggml"
    n_vocab = metadata["n_vocab"]
    if n_vocab * (8 if has_scores else 4) > size - pos:
        fail(path, f"ggml: n_vocab {n_vocab} needs more bytes than the {size - pos} left in the file")
    tokens, scores = [], []
    for i in range(n_vocab):
        if pos + 4 > size:
            fail(path, f"ggml: the file ends inside token {i}")
        (n,) = struct.unpack_from("<I", buf, pos)
        end = pos + 4 + n + (4 if has_scores else 0)
        if end > size:
            fail(path, f"ggml: token {i} of {n} bytes runs past the end of the {size}-byte file")
        tokens.append(bytes(buf[pos + 4:pos + 4 + n]))
        if has_scores:
            scores.append(struct.unpack_from("<f", buf, pos + 4 + n)[0])
        pos = end
    metadata["tokens"] = tokens
    if has_scores:
        metadata["scores"] = scores

    infos, names = [], set()
    while pos < size:
        info, pos = _read_tensor(buf, pos, fmt, version, path, names)
        names.add(info.name)
        infos.append(info)
    check_ranges(infos, 0, ALIGNMENT if fmt == "ggjt" else 0, size, path, "ggml")
    tensors = {info.name: to_device(make_tensor(buf, info, info.offset, path, what="ggml"), device) for info in infos}
    return tensors, metadata


def _read_tensor(buf, pos, fmt, version, path, names):
    """(the record of the tensor at ``pos``, the position after its data)."""
    size = len(buf)
    if pos + 12 > size:
        fail(path, f"ggml: the file ends inside a tensor header at byte {pos}")
    n_dims, name_len, type_id = struct.unpack_from("<3I", buf, pos)
    pos += 12
    if n_dims > 4:
        fail(path, f"ggml: the tensor at byte {pos - 12} has {n_dims} dims (at most 4)")
    if pos + 4 * n_dims + name_len > size:
        fail(path, f"ggml: the tensor header at byte {pos - 12} runs past the end of the {size}-byte file")
    ne = list(struct.unpack_from(f"<{n_dims}I", buf, pos))
    pos += 4 * n_dims
    try:
        name = bytes(buf[pos:pos + name_len]).decode("utf-8")
    except UnicodeDecodeError:
        fail(path, f"ggml: the name of the tensor at byte {pos} is not valid UTF-8")
    pos += name_len
    what = f"tensor {name!r}"
    if name in names:
        fail(path, f"ggml: {what} appears twice")
    if type_id not in GGML_TYPES or type_id > 15:  # later ids did not exist before GGUF
        fail(path, f"ggml: {what} has unknown ggml type id {type_id}")
    type_name, block, type_size = GGML_TYPES[type_id]
    _check_layout(fmt, version, type_name, what, path)
    info = TensorRecord()
    info.name, info.ggml_type = name, type_id
    info.shape, info.numel = checked_shape(ne[::-1], path, f"ggml: {what}")
    if (ne[0] if ne else 1) % block:
        fail(path, f"ggml: {what} of type {type_name} has rows of {ne[0] if ne else 1} elements, "
                   f"not a multiple of its block size {block}")
    info.nbytes = info.numel // block * type_size
    if fmt == "ggjt":
        pos += -pos % ALIGNMENT
    info.offset = pos
    if pos + info.nbytes > size:
        fail(path, f"ggml: {what} at bytes [{pos}, {pos + info.nbytes}) runs past the end of the {size}-byte file")
    return info, pos + info.nbytes
