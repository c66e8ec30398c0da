"""Loading and saving weights: safetensors, GGUF (and legacy GGML/GGJT), PyTorch checkpoints,
NumPy .npy/.npz.

Every loader maps the file and wraps tensors without copying on CPU. Files are untrusted: anything
malformed raises ``FileFormatError`` (a ValueError) naming the file and the problem; a pickle that
names a global outside the allow-list raises ``UnsafePickleError`` and none of it runs.

``load(path)`` picks the format from the file's content and also takes a directory or a sharded
checkpoint's ``*.index.json``.
"""

from __future__ import annotations

import importlib
import json
import os

from ember.io._common import FileFormatError, UnsafePickleError
from ember.io.safetensors import SafetensorsFile, load_safetensors, save_safetensors

# Formats whose modules load on first use (import ember stays fast).
_LAZY = {
    "load_pth": "pth", "load_pth_object": "pth",
    "load_npy": "npy", "save_npy": "npy", "load_npz": "npy", "save_npz": "npy",
    "load_gguf": "gguf", "save_gguf": "gguf", "GGUFValue": "gguf", "load_ggml": "ggml_legacy",
}

__all__ = ["FileFormatError", "UnsafePickleError", "SafetensorsFile", "load", "load_safetensors",
           "save_safetensors", "load_pth", "load_pth_object", "load_npy", "save_npy", "load_npz", "save_npz",
           "load_gguf", "save_gguf", "GGUFValue", "load_ggml"]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ember.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ember.io.{module}"), name)
    globals()[name] = value
    return value


def _sniff(path):
    """The format of a file from its first bytes: safetensors, pth, npy, zip, gguf, ggml, json."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg"):  # legacy llama.cpp magics, written as little-endian uint32
        return "ggml"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"  # before the pickle test: a header length can start with byte 0x80
    if head[:1] == b"\x80" or head.startswith(b"L%dL\n" % 0x1950A86A20F9469CFC6C) or head[257:262] == b"ustar":
        return "pth"  # a pre-1.6 torch.save pickle stream (protocol 2+, or 1's text magic) or tar archive
    if head.lstrip()[:1] == b"{":
        return "json"
    return None


def _zip_kind(path):
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise FileFormatError(f"{os.fspath(path)}: not a readable zip archive: {e}") from e
    return "pth" if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names) else "npz"


def _load_index(path, device, dtype):
    try:
        with open(path, "rb") as f:
            weight_map = json.loads(f.read(100_000_000).decode("utf-8")).get("weight_map")
    except (UnicodeDecodeError, ValueError, AttributeError, RecursionError) as e:
        raise FileFormatError(f"{path}: not a checkpoint index (expected a JSON object with 'weight_map'): {e}") from e
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise FileFormatError(f"{path}: 'weight_map' must map tensor names to shard file names")
    if all(v.endswith(".safetensors") for v in weight_map.values()):
        return load_safetensors(path, device=device, dtype=dtype)
    root = os.path.dirname(os.path.abspath(path))
    out = {}
    for shard in sorted(set(weight_map.values())):
        full = os.path.normpath(os.path.join(root, shard))
        if not full.startswith(root + os.sep):
            raise FileFormatError(f"{path}: shard {shard!r} lies outside the checkpoint directory")
        out.update(load(full, device=device, dtype=dtype))
    missing = sorted(set(weight_map) - set(out))
    if missing:
        raise FileFormatError(f"{path}: the index names tensors its shards do not hold: {missing[:10]}")
    return out


# A model directory's weights, in the order a Hub repository is usually read.
_DIRECTORY_CANDIDATES = ("model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json",
                         "pytorch_model.bin")


def _load_directory(path, device, dtype):
    for name in _DIRECTORY_CANDIDATES:
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return load(candidate, device=device, dtype=dtype)
    for suffixes in ((".safetensors",), (".pth", ".pt", ".bin"), (".npz",)):
        files = sorted(f for f in os.listdir(path) if f.endswith(suffixes) and os.path.isfile(os.path.join(path, f)))
        if files:
            out, source = {}, {}
            for f in files:
                for name, t in load(os.path.join(path, f), device=device, dtype=dtype).items():
                    if name in out:
                        raise FileFormatError(f"{path}: tensor {name!r} is in both {source[name]} and {f}")
                    out[name], source[name] = t, f
            return out
    raise FileNotFoundError(f"{path}: no weight files (*.safetensors, *.index.json, *.bin, *.pth, *.pt, *.npz)")


def load(path, device="cpu", dtype=None):
    """Every tensor of a weight file, a sharded checkpoint's ``*.index.json`` or a model directory.

    The format is read from the file's first bytes (safetensors, GGUF, legacy GGML/GGJT, PyTorch
    zip or legacy, .npy, .npz), not from its name; a ``.npy`` file gives ``{file stem: tensor}``.
    ``dtype`` converts floating-point tensors; integer and bool tensors keep their dtype, and
    quantized tensors (``ember.QTensor``) stay quantized. GGUF metadata is dropped: use
    ``load_gguf`` for it."""
    from ember import Tensor
    from ember.io._common import convert

    path = os.fspath(path)
    if os.path.isdir(path):
        return _load_directory(path, device, dtype)
    kind = _sniff(path)
    if kind == "zip":
        kind = _zip_kind(path)
    if kind == "safetensors":
        return load_safetensors(path, device=device, dtype=dtype)
    if kind == "json":
        return _load_index(path, device, dtype)
    if kind == "pth":
        loaded = __getattr__("load_pth")(path)
    elif kind == "npz":
        loaded = __getattr__("load_npz")(path)
    elif kind == "npy":
        loaded = {os.path.splitext(os.path.basename(path))[0]: __getattr__("load_npy")(path)}
    elif kind in ("gguf", "ggml"):
        loaded, _ = __getattr__("load_gguf" if kind == "gguf" else "load_ggml")(path, device=device)
        return {k: convert(v, dtype) if isinstance(v, Tensor) else v for k, v in loaded.items()}
    else:
        raise FileFormatError(f"{path}: not a safetensors, GGUF, GGML, PyTorch or NumPy file (first bytes "
                              f"{open(path, 'rb').read(8)!r})")
    return {k: convert(v, dtype, device) for k, v in loaded.items()}
