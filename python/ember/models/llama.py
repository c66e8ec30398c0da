"""Llama-family causal language models: Llama (1, 2, 3.x, SmolLM), Mistral, Qwen2, Qwen3.

One implementation covers them all; the differences are configuration:

- grouped-query attention (``num_key_value_heads`` dividing ``num_attention_heads``; the fused
  attention reads each kv head for its group of query heads without copying);
- Mistral's sliding window (and Qwen2/Qwen3's per-layer sliding layers, ``layer_types``);
- Qwen2's q/k/v biases, Qwen3's per-head RMSNorm of q and k and its explicit ``head_dim``;
- rope scaling (linear, dynamic NTK, llama3, yarn; see ember.nn.rotary), tied embeddings.

Loading: ``LlamaForCausalLM.from_pretrained(dir_or_repo)`` reads config.json and safetensors (mapped,
not copied), ``LlamaForCausalLM.from_gguf(path)`` reads a llama.cpp GGUF file (architectures
llama, mistral, qwen2, qwen3), whose quantized weights stay quantized (``ember.qmatmul``).

Speed: the decode step is a handful of fused ops per layer. At load, the q, k and v projections
are concatenated into one weight (``qkv_proj``) and the gate and up projections into one
(``gate_up_proj``) -- for quantized weights of one block type that is a concatenation of the
block rows -- so the module's parameter names differ from the checkpoint's for those two (and
only those two). llama.cpp's converter permutes the rows of q and k for the llama architecture
(for its interleaved rope); ``from_gguf`` undoes that permutation while concatenating, so every
model uses the same half-split rope.

dtypes: ``from_pretrained(dtype=None)`` keeps the checkpoint's float type (f32, f16 or bf16) for
weights, activations and the KV cache; 16-bit models compute norms, rope, softmax and matmul
accumulation in float32 inside the fused ops (like transformers with ``dtype="auto"``). Logits are
always returned as float32. GGUF models compute in float32 (f16 / bf16 GGUF weights are used as
they are, through the quantized matmul).
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from typing import Any

import numpy as np

from ember import _C
from ember.nn import init
from ember.nn.embedding import Embedding
from ember.nn.kv_cache import KVCache, sliding_window_mask, window_start
from ember.nn.linear import Linear
from ember.nn.module import Module, ModuleList
from ember.nn.normalization import RMSNorm
from ember.nn.rotary import RotaryEmbedding

__all__ = ["LlamaConfig", "LlamaForCausalLM", "LlamaModel"]

MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
GGUF_ARCHITECTURES = ("llama", "mistral", "qwen2", "qwen3")
DEFAULT_MAX_CACHE_LEN = 8192  # positions the KV cache holds unless max_cache_len says otherwise
_FLOAT_DTYPES = {"float32": _C.float32, "float16": _C.float16, "bfloat16": _C.bfloat16}


@dataclasses.dataclass
class LlamaConfig:
    """Hyper-parameters of a Llama-family model (names as in Hugging Face config.json)."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_scaling: dict | None = None
    partial_rotary_factor: float = 1.0
    tie_word_embeddings: bool = False
    attention_bias: bool = False   # q, k, v projections have biases
    o_proj_bias: bool = False      # the output projection has a bias
    mlp_bias: bool = False
    qk_norm: bool = False          # Qwen3: RMSNorm over each head of q and k
    sliding_window: int | None = None
    layer_types: list | None = None  # per layer "full_attention" or "sliding_attention"
    hidden_act: str = "silu"
    bos_token_id: int | None = None
    eos_token_id: Any = None       # int, list of ints or None
    model_type: str = "llama"
    torch_dtype: str | None = None  # the checkpoint's float type, when config.json says

    def __post_init__(self):
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.hidden_act not in ("silu", "swish"):
            raise ValueError(f"LlamaConfig: hidden_act {self.hidden_act!r} is not supported (only silu)")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"LlamaConfig: num_key_value_heads ({self.num_key_value_heads}) must divide "
                             f"num_attention_heads ({self.num_attention_heads})")
        if self.layer_types is not None and len(self.layer_types) != self.num_hidden_layers:
            raise ValueError(f"LlamaConfig: layer_types has {len(self.layer_types)} entries for "
                             f"{self.num_hidden_layers} layers")

    def layer_window(self, i):
        """The sliding window of layer i, or None for full attention."""
        if self.sliding_window is None:
            return None
        if self.layer_types is None:
            return self.sliding_window
        return self.sliding_window if self.layer_types[i] == "sliding_attention" else None

    @classmethod
    def from_dict(cls, cfg):
        """From a Hugging Face config.json dict (model_type llama, mistral, qwen2 or qwen3)."""
        model_type = cfg.get("model_type")
        if model_type not in MODEL_TYPES:
            raise ValueError(f"LlamaConfig: model_type {model_type!r} is not supported; supported: "
                             f"{', '.join(MODEL_TYPES)}")
        rope = cfg.get("rope_parameters") or {}
        if isinstance(rope, dict) and any(isinstance(v, dict) for v in rope.values()):
            raise ValueError("LlamaConfig: per-layer-type rope_parameters are not supported")
        rope_scaling = cfg.get("rope_scaling") or (rope if rope else None)
        rope_theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
        if rope_scaling is not None:
            kind = rope_scaling.get("rope_type", rope_scaling.get("type", "default"))
            rope_scaling = None if kind == "default" else dict(rope_scaling)
        partial = cfg.get("partial_rotary_factor", rope.get("partial_rotary_factor", 1.0)) or 1.0
        bias = bool(cfg.get("attention_bias", False))
        sliding = cfg.get("sliding_window")
        layer_types = cfg.get("layer_types")
        n_layers = cfg["num_hidden_layers"]
        if model_type in ("qwen2", "qwen3"):
            if not cfg.get("use_sliding_window", False):
                sliding, layer_types = None, None
            elif layer_types is None:
                start = cfg.get("max_window_layers", n_layers)
                layer_types = ["sliding_attention" if i >= start else "full_attention" for i in range(n_layers)]
        if layer_types is not None and all(t == "full_attention" for t in layer_types):
            sliding, layer_types = None, None
        dtype = cfg.get("torch_dtype") or cfg.get("dtype")
        return cls(
            vocab_size=cfg["vocab_size"],
            hidden_size=cfg["hidden_size"],
            intermediate_size=cfg["intermediate_size"],
            num_hidden_layers=n_layers,
            num_attention_heads=cfg["num_attention_heads"],
            num_key_value_heads=cfg.get("num_key_value_heads"),
            head_dim=cfg.get("head_dim"),
            max_position_embeddings=cfg.get("max_position_embeddings", 2048),
            rms_norm_eps=cfg.get("rms_norm_eps", 1e-6),
            rope_theta=float(rope_theta),
            rope_scaling=rope_scaling,
            partial_rotary_factor=float(partial),
            tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            attention_bias=True if model_type == "qwen2" else bias,
            o_proj_bias=bias if model_type in ("llama", "qwen3") else False,
            mlp_bias=bool(cfg.get("mlp_bias", False)) if model_type == "llama" else False,
            qk_norm=model_type == "qwen3",
            sliding_window=sliding,
            layer_types=layer_types,
            hidden_act=cfg.get("hidden_act", "silu"),
            bos_token_id=cfg.get("bos_token_id"),
            eos_token_id=cfg.get("eos_token_id"),
            model_type=model_type,
            torch_dtype=dtype if isinstance(dtype, str) else None,
        )

    @classmethod
    def from_file(cls, path):
        """From a config.json file, or a directory holding one."""
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    @classmethod
    def from_gguf_metadata(cls, meta, tensor_names=()):
        """From GGUF metadata (``ember.io.load_gguf``'s dict); ``tensor_names`` (the file's tensor
        names) settles what metadata leaves open: tied embeddings, biases, q/k norms."""
        arch = meta.get("general.architecture")
        if arch not in GGUF_ARCHITECTURES:
            raise ValueError(f"LlamaConfig: GGUF architecture {arch!r} is not supported; supported: "
                             f"{', '.join(GGUF_ARCHITECTURES)}")

        def get(key, default=None):
            return meta.get(f"{arch}.{key}", default)

        names = set(tensor_names)
        hidden = get("embedding_length")
        heads = get("attention.head_count")
        if hidden is None or heads is None or get("block_count") is None:
            raise ValueError(f"LlamaConfig: GGUF metadata lacks {arch}.embedding_length, "
                             f"{arch}.attention.head_count or {arch}.block_count")
        kv_heads = get("attention.head_count_kv", heads)
        if isinstance(kv_heads, list):
            raise ValueError("LlamaConfig: per-layer head_count_kv is not supported")  # noqa: TRY004 (file data)
        vocab = get("vocab_size")
        if vocab is None:
            vocab = len(meta.get("tokenizer.ggml.tokens", ())) or None
        if vocab is None:
            raise ValueError(f"LlamaConfig: GGUF metadata has neither {arch}.vocab_size nor tokenizer.ggml.tokens")
        head_dim = get("attention.key_length") or hidden // heads
        rope_scaling = None
        kind = get("rope.scaling.type")
        if kind in ("linear", "yarn"):
            factor = get("rope.scaling.factor")
            rope_scaling = {"rope_type": kind, "factor": factor}
            original = get("rope.scaling.original_context_length")
            if original:
                rope_scaling["original_max_position_embeddings"] = original
        elif kind not in (None, "none"):
            raise ValueError(f"LlamaConfig: GGUF rope scaling type {kind!r} is not supported")
        rot = get("rope.dimension_count")
        partial = 1.0 if not rot or rot == head_dim else rot / head_dim
        sliding = get("attention.sliding_window") if arch == "mistral" else None
        eos = meta.get("tokenizer.ggml.eos_token_id")
        return cls(
            vocab_size=int(vocab),
            hidden_size=int(hidden),
            intermediate_size=int(get("feed_forward_length")),
            num_hidden_layers=int(get("block_count")),
            num_attention_heads=int(heads),
            num_key_value_heads=int(kv_heads),
            head_dim=int(head_dim),
            max_position_embeddings=int(get("context_length", 2048)),
            rms_norm_eps=float(get("attention.layer_norm_rms_epsilon", 1e-6)),
            rope_theta=float(get("rope.freq_base", 10000.0)),
            rope_scaling=rope_scaling,
            partial_rotary_factor=partial,
            tie_word_embeddings="output.weight" not in names if names else False,
            attention_bias="blk.0.attn_q.bias" in names,
            o_proj_bias="blk.0.attn_output.bias" in names,
            mlp_bias="blk.0.ffn_up.bias" in names,
            qk_norm="blk.0.attn_q_norm.weight" in names,
            sliding_window=sliding,
            bos_token_id=meta.get("tokenizer.ggml.bos_token_id"),
            eos_token_id=eos,
            model_type=arch,
        )


# ---- modules ----------------------------------------------------------------------------------


class LlamaAttention(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        c = config
        self.num_heads, self.num_kv_heads, self.head_dim = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        qkv = (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim
        self.qkv_proj = Linear(c.hidden_size, qkv, bias=c.attention_bias, dtype=dtype)
        self.o_proj = Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=c.o_proj_bias, dtype=dtype)
        if c.qk_norm:
            self.q_norm = RMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=dtype)
            self.k_norm = RMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=dtype)


class LlamaMLP(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        c = config
        self.intermediate_size = c.intermediate_size
        self.gate_up_proj = Linear(c.hidden_size, 2 * c.intermediate_size, bias=c.mlp_bias, dtype=dtype)
        self.down_proj = Linear(c.intermediate_size, c.hidden_size, bias=c.mlp_bias, dtype=dtype)


class LlamaDecoderLayer(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.self_attn = LlamaAttention(config, dtype)
        self.mlp = LlamaMLP(config, dtype)
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps, dtype=dtype)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps, dtype=dtype)


class LlamaModel(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.embed_tokens = Embedding(config.vocab_size, config.hidden_size, dtype=dtype)
        self.layers = ModuleList(LlamaDecoderLayer(config, dtype) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps, dtype=dtype)


class SplitLinear(Module):
    """Several Linears over the same input whose outputs are concatenated: what a fused projection
    falls back to when its parts cannot share one weight (quantized with different block types, as
    Q4_K_M files do for some v projections)."""

    def __init__(self, linears):
        super().__init__()
        self.parts = ModuleList(linears)
        self.in_features = linears[0].in_features
        self.out_features = sum(p.out_features for p in linears)

    def forward(self, x):
        return _mm(x, _matmul_spec(self))


def _matmul_spec(linear):
    """(op, weight operand, bias) of a Linear: the quantized matmul for a QTensor, else x @ w.T;
    a list of those for a SplitLinear."""
    if isinstance(linear, SplitLinear):
        return [_matmul_spec(p) for p in linear.parts]
    w = linear.weight
    b = linear._parameters.get("bias")
    if isinstance(w, _C.QTensor):
        return (_C.qmatmul, w, b)
    return (_C.matmul, w.mT, b)


def _mm(x, spec):
    if spec.__class__ is list:
        return _C.cat([_mm(x, part) for part in spec], x.ndim - 1)
    op, w, b = spec
    y = op(x, w)
    if b is not None:
        y.add_(b)
    return y


class LlamaForCausalLM(Module):
    """A Llama-family causal LM with its KV cache (see the module docstring).

    ``model(input_ids, start_pos=0, last_only=False)``: input_ids int64 or int32 (batch, seq); the
    cache holds positions [0, start_pos) from earlier calls, this call writes [start_pos,
    start_pos + seq). Returns float32 logits (batch, seq, vocab), or (batch, 1, vocab) for the last
    position only with ``last_only=True``. ``reset()`` empties the cache; ``max_cache_len``
    positions fit (ValueError past it)."""

    def __init__(self, config, dtype=None, max_cache_len=None):
        super().__init__()
        self.config = config
        self.dtype = dtype or _C.float32
        self.model = LlamaModel(config, dtype)
        if config.tie_word_embeddings:
            self.lm_head = Linear.from_weights(self.model.embed_tokens.weight)
        else:
            self.lm_head = Linear(config.hidden_size, config.vocab_size, bias=False, dtype=dtype)
        if max_cache_len is None:
            scaling = config.rope_scaling or {}
            kind = scaling.get("rope_type", scaling.get("type"))
            stretch = float(scaling.get("factor") or 1.0) if kind in ("linear", "dynamic") else 1.0
            max_cache_len = min(int(config.max_position_embeddings * stretch), DEFAULT_MAX_CACHE_LEN)
        if int(max_cache_len) <= 0:
            raise ValueError(f"LlamaForCausalLM: max_cache_len must be positive, got {max_cache_len}")
        self.max_cache_len = int(max_cache_len)
        self.rotary = RotaryEmbedding(config.head_dim, config.max_position_embeddings, config.rope_theta,
                                      config.rope_scaling, config.partial_rotary_factor, max_len=self.max_cache_len)
        self.tokenizer = None
        self._caches = None
        self._plan = None

    # ---- loading ----

    @classmethod
    def from_pretrained(cls, path_or_repo_id, dtype=None, device="cpu", max_cache_len=None, revision=None):
        """A model from a Hugging Face directory or Hub repo id (config.json + safetensors, mapped).

        ``dtype`` None keeps the checkpoint's float type (f32, f16 or bf16), for weights and compute;
        give ember.float32 to compute in float32. ``max_cache_len``: positions the KV cache holds
        (default: max_position_embeddings, at most 8192)."""
        from ember import hub
        from ember import io as eio

        root = hub.resolve(path_or_repo_id, revision=revision,
                           allow_patterns=["*.json", "*.safetensors", "tokenizer*"])
        if not os.path.isdir(root):
            raise ValueError(f"LlamaForCausalLM.from_pretrained: {root} is not a model directory")
        config = LlamaConfig.from_file(root)
        tensors = eio.load(root, device=device)
        if dtype is None:
            first = tensors.get("model.embed_tokens.weight")
            dtype = first.dtype if isinstance(first, _C.Tensor) and first.dtype in (
                _C.float32, _C.float16, _C.bfloat16) else _C.float32
        model = cls._build(config, dtype, max_cache_len, _hf_source(tensors, dtype))
        model.tokenizer = _tokenizer_from_dir(root)
        return model

    @classmethod
    def from_gguf(cls, path, device="cpu", max_cache_len=None):
        """A model from a llama.cpp GGUF file (quantized weights stay quantized)."""
        from ember import io as eio

        tensors, meta = eio.load_gguf(os.fspath(path), device=device)
        config = LlamaConfig.from_gguf_metadata(meta, tensors.keys())
        model = cls._build(config, _C.float32, max_cache_len, _gguf_source(tensors, config))
        freqs = tensors.get("rope_freqs.weight")
        if freqs is not None:  # llama 3.x: per-frequency divisors instead of rope_scaling metadata
            model.rotary = RotaryEmbedding(config.head_dim, config.max_position_embeddings, config.rope_theta,
                                           None, config.partial_rotary_factor, max_len=model.max_cache_len,
                                           freq_factors=freqs.to(_C.float32).numpy())
        model.tokenizer = _tokenizer_from_gguf(meta)
        return model

    @classmethod
    def _build(cls, config, dtype, max_cache_len, source):
        with init.no_init():
            model = cls(config, dtype=dtype, max_cache_len=max_cache_len)
        state = {}
        get = source
        state["model.embed_tokens.weight"] = get("model.embed_tokens.weight")
        state["model.norm.weight"] = get("model.norm.weight")
        state["lm_head.weight"] = (state["model.embed_tokens.weight"] if config.tie_word_embeddings
                                   else get("lm_head.weight"))
        for i in range(config.num_hidden_layers):
            p = f"model.layers.{i}."
            a, m = p + "self_attn.", p + "mlp."
            state[p + "input_layernorm.weight"] = get(p + "input_layernorm.weight")
            state[p + "post_attention_layernorm.weight"] = get(p + "post_attention_layernorm.weight")
            _fuse(model, state, a + "qkv_proj", [get(a + f"{n}_proj.weight") for n in "qkv"],
                  [get(a + f"{n}_proj.bias") for n in "qkv"] if config.attention_bias else None)
            state[a + "o_proj.weight"] = get(a + "o_proj.weight")
            if config.o_proj_bias:
                state[a + "o_proj.bias"] = get(a + "o_proj.bias")
            if config.qk_norm:
                state[a + "q_norm.weight"] = get(a + "q_norm.weight")
                state[a + "k_norm.weight"] = get(a + "k_norm.weight")
            _fuse(model, state, m + "gate_up_proj", [get(m + "gate_proj.weight"), get(m + "up_proj.weight")],
                  [get(m + "gate_proj.bias"), get(m + "up_proj.bias")] if config.mlp_bias else None)
            state[m + "down_proj.weight"] = get(m + "down_proj.weight")
            if config.mlp_bias:
                state[m + "down_proj.bias"] = get(m + "down_proj.bias")
        model.load_state_dict(state)
        if config.tie_word_embeddings:
            model.lm_head.weight = model.model.embed_tokens.weight
        return model

    # ---- state ----

    def load_state_dict(self, state_dict, strict=True, assign=True):
        self._plan = None
        out = super().load_state_dict(state_dict, strict=strict, assign=assign)
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        return out

    def to(self, device=None, dtype=None):
        self._plan, self._caches = None, None
        super().to(device, dtype)
        if isinstance(device, _C.dtype):
            dtype = device
        if dtype is not None:
            self.dtype = dtype
        return self

    def reset(self):
        """Empties the KV cache (keeps its memory)."""
        if self._caches is not None:
            for cache in self._caches:
                cache.reset()

    @property
    def cache_length(self):
        """Positions the KV cache holds now."""
        return self._caches[0].length if self._caches else 0

    def _caches_for(self, batch):
        if self._caches is None or self._caches[0].batch != batch:
            c = self.config
            device = self.model.norm.weight.device
            self._caches = [KVCache(batch, c.num_key_value_heads, self.max_cache_len, c.head_dim, self.dtype,
                                    c.layer_window(i), device=device) for i in range(c.num_hidden_layers)]
        return self._caches

    def _build_plan(self):
        """Per layer, the tensors and ops forward uses, looked up once (not per token)."""
        plan = []
        for layer in self.model.layers:
            attn, mlp = layer.self_attn, layer.mlp
            qk_norm = attn._modules.get("q_norm")
            plan.append((
                layer.input_layernorm.weight, _matmul_spec(attn.qkv_proj),
                qk_norm.weight if qk_norm is not None else None,
                attn.k_norm.weight if qk_norm is not None else None,
                _matmul_spec(attn.o_proj), layer.post_attention_layernorm.weight,
                _matmul_spec(mlp.gate_up_proj), _matmul_spec(mlp.down_proj),
            ))
        self._plan = (plan, self.model.embed_tokens, self.model.norm.weight, _matmul_spec(self.lm_head))
        return self._plan

    # ---- forward ----

    def _check_input(self, input_ids, start_pos):
        if not isinstance(input_ids, _C.Tensor):
            if isinstance(input_ids, (list, tuple, np.ndarray)):
                input_ids = _C.tensor(np.asarray(input_ids, dtype=np.int64))
            else:
                raise TypeError(f"LlamaForCausalLM: input_ids must be an ember.Tensor of int64 or int32 token "
                                 f"ids, got {type(input_ids).__name__}")
        if input_ids.dtype not in (_C.int64, _C.int32):
            raise ValueError(f"LlamaForCausalLM: input_ids must be int64 or int32, got {input_ids.dtype}")
        if input_ids.ndim != 2 or input_ids.shape[0] < 1 or input_ids.shape[1] < 1:
            raise ValueError(f"LlamaForCausalLM: input_ids must have shape (batch, seq) with batch, seq >= 1, "
                             f"got {tuple(input_ids.shape)}")
        if isinstance(start_pos, bool) or not isinstance(start_pos, (int, np.integer)):
            raise TypeError(f"LlamaForCausalLM: start_pos must be an int, got {start_pos!r}")
        start_pos = int(start_pos)
        seq = input_ids.shape[1]
        held = self.cache_length
        if start_pos < 0 or start_pos > held:
            raise ValueError(f"LlamaForCausalLM: start_pos {start_pos} is out of range: the cache holds positions "
                             f"[0, {held}) (call reset() and start from 0, or continue at {held})")
        if start_pos + seq > self.max_cache_len:
            raise ValueError(f"LlamaForCausalLM: positions [{start_pos}, {start_pos + seq}) exceed max_cache_len "
                             f"{self.max_cache_len} (pass a larger max_cache_len when loading, up to what the "
                             f"model was trained for)")
        return input_ids, start_pos

    def forward(self, input_ids, start_pos=0, last_only=False):
        ids, start_pos = self._check_input(input_ids, start_pos)
        B, L = ids.shape
        plan, embed, norm_w, head = self._plan or self._build_plan()
        caches = self._caches_for(B) if start_pos == 0 else self._caches
        if caches[0].batch != B:
            raise ValueError(f"LlamaForCausalLM: batch {B} differs from the cached batch {caches[0].batch}; "
                             f"start again at start_pos=0")
        c = self.config
        H, Hk, D, eps, hidden = c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.rms_norm_eps, c.hidden_size
        HD, I2, end = H * D, c.intermediate_size, start_pos + L
        qkv_shape = (B, L, H + 2 * Hk, D)
        rotary = self.rotary
        rope = rotary._op if rotary.rot_dim == D else None
        cos, sin = cos_sin = rotary.cos_sin(start_pos, L)
        masks = {}
        rms, sdpa, swiglu = _C.rms_norm, _C.scaled_dot_product_attention, _C.swiglu

        x = embed(ids)
        if x.dtype != self.dtype:
            x = x.to(self.dtype)
        for (ln1, qkv, qn, kn, o, ln2, gate_up, down), cache in zip(plan, caches):
            h = rms(x, hidden, ln1, eps)
            y = _mm(h, qkv).reshape(qkv_shape)
            if qn is None and rope is not None:  # q and k are adjacent heads of y: one rope call
                qk = rope(y.narrow(2, 0, H + Hk), cos, sin, "bshd")
                q, k = qk.narrow(2, 0, H), qk.narrow(2, H, Hk)
            else:
                q, k = y.narrow(2, 0, H), y.narrow(2, H, Hk)
                if qn is not None:
                    q, k = rms(q, D, qn, eps), rms(k, D, kn, eps)
                if rope is not None:
                    q, k = rope(q, cos, sin, "bshd"), rope(k, cos, sin, "bshd")
                else:
                    q, k = rotary.rotate(q, start_pos, "bshd", cos_sin), rotary.rotate(k, start_pos, "bshd", cos_sin)
            # the KV cache, written and viewed in place (KVCache.update_bshd, inlined)
            kb, vb, kt, vt = cache.buffers()
            kb.narrow(1, start_pos, L).copy_(k)
            vb.narrow(1, start_pos, L).copy_(y.narrow(2, H + Hk, Hk))
            window = cache.sliding_window
            if window is None:
                mask, lo = None, 0
            else:
                lo = window_start(start_pos, window)
                if window not in masks:
                    masks[window] = sliding_window_mask(start_pos, L, window, device=x.device)
                mask = masks[window]
            # (B, H, L, D) attention; the causal mask is aligned bottom-right, so no mask for a plain cache
            a = sdpa(q.transpose(1, 2), kt.narrow(2, lo, end - lo), vt.narrow(2, lo, end - lo), mask, 0.0, True)
            a = a.reshape(B, 1, HD) if L == 1 else a.transpose(1, 2).reshape(B, L, HD)
            x.add_(_mm(a, o))
            h = rms(x, hidden, ln2, eps)
            g = _mm(h, gate_up)
            x.add_(_mm(swiglu(g.narrow(2, 0, I2), g.narrow(2, I2, I2)), down))
        for cache in caches:
            cache.length = end
        if last_only:
            x = x.narrow(1, L - 1, 1)
        logits = _mm(rms(x, hidden, norm_w, eps), head)
        return logits if logits.dtype == _C.float32 else logits.to(_C.float32)

    def extra_repr(self):
        c = self.config
        return (f"model_type={c.model_type!r}, layers={c.num_hidden_layers}, hidden={c.hidden_size}, "
                f"heads={c.num_attention_heads}/{c.num_key_value_heads}, max_cache_len={self.max_cache_len}")


# ---- weight sources ---------------------------------------------------------------------------


def _concat_rows(parts):
    """One weight whose rows are the rows of `parts` in order, or None when they cannot share one
    (QTensors of different block types, or a mix of Tensors and QTensors)."""
    if all(isinstance(p, _C.QTensor) for p in parts):
        if len({p.qtype for p in parts}) != 1:
            return None
        rows = sum(p.shape[0] for p in parts)
        data = _C.cat([p.data.reshape(p.shape[0], -1) for p in parts], 0)
        return _C.QTensor(data, parts[0].qtype, (rows, parts[0].shape[1]))
    if any(isinstance(p, _C.QTensor) for p in parts) or len({p.dtype for p in parts}) != 1:
        return None
    return _C.cat(parts, 0)


def _fuse(model, state, name, weights, biases):
    """Puts the projections `weights` (and `biases`) under `name` as one fused weight, or replaces
    the module `name` by a SplitLinear of them when they cannot be fused."""
    fused = _concat_rows(weights)
    if fused is not None:
        state[name + ".weight"] = fused
        if biases is not None:
            state[name + ".bias"] = _C.cat(biases, 0)
        return
    parent, attr = name.rsplit(".", 1)
    parts = [Linear.from_weights(w, None if biases is None else biases[i]) for i, w in enumerate(weights)]
    setattr(model.get_submodule(parent), attr, SplitLinear(parts))
    for i, (w, part) in enumerate(zip(weights, parts)):
        state[f"{name}.parts.{i}.weight"] = w
        if biases is not None:
            state[f"{name}.parts.{i}.bias"] = part.bias


def _hf_source(tensors, dtype):
    def get(name):
        t = tensors.get(name)
        if t is None:
            raise ValueError(f"LlamaForCausalLM: the checkpoint has no tensor {name!r}")
        if isinstance(t, _C.Tensor) and t.dtype != dtype and t.dtype in (_C.float32, _C.float16, _C.bfloat16):
            t = t.to(dtype)
        return t
    return get


_GGUF_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.bias": "attn_output.bias",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "mlp.gate_proj.bias": "ffn_gate.bias",
    "mlp.up_proj.bias": "ffn_up.bias",
    "mlp.down_proj.bias": "ffn_down.bias",
}
_GGUF_TOP = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}


def _unpermute_index(n_heads, head_dim):
    """Row order that undoes llama.cpp's q/k permutation: HF row h*D + j*D/2 + i is GGUF row
    h*D + 2*i + j."""
    half = head_dim // 2
    h, j, i = np.meshgrid(np.arange(n_heads), np.arange(2), np.arange(half), indexing="ij")
    return _C.tensor((h * head_dim + 2 * i + j).reshape(-1).astype(np.int64))


def _gather_rows(t, index):
    if isinstance(t, _C.QTensor):
        data = t.data.reshape(t.shape[0], -1).index_select(0, index)
        return _C.QTensor(data, t.qtype, t.shape)
    return t.index_select(0, index)


def _as_matmul_weight(t):
    """GGUF f16 / bf16 matrices become QTensors of that type (the quantized matmul takes float32
    activations), so the model computes in float32 without converting the weights."""
    if isinstance(t, _C.Tensor) and t.ndim == 2 and t.dtype in (_C.float16, _C.bfloat16):
        qtype = "f16" if t.dtype == _C.float16 else "bf16"
        return _C.QTensor(t.contiguous().view(_C.uint8), qtype, tuple(t.shape))
    return t


def _gguf_source(tensors, config):
    permuted = config.model_type in ("llama", "mistral")  # llama.cpp's converter permutes q / k rows
    index = {}
    if permuted:
        index["q"] = _unpermute_index(config.num_attention_heads, config.head_dim)
        index["k"] = _unpermute_index(config.num_key_value_heads, config.head_dim)

    def get(name):
        if name in _GGUF_TOP:
            gname = _GGUF_TOP[name]
        else:
            rest = name[len("model.layers."):]
            layer, key = rest.split(".", 1)
            gname = f"blk.{layer}.{_GGUF_NAMES[key]}"
        t = tensors.get(gname)
        if t is None:
            raise ValueError(f"LlamaForCausalLM.from_gguf: the file has no tensor {gname!r} (for {name})")
        if permuted and name.endswith(("q_proj.weight", "k_proj.weight")):
            t = _gather_rows(t, index[name[-len("q_proj.weight")]])
        if isinstance(t, _C.Tensor) and t.ndim == 1 and t.dtype != _C.float32:
            t = t.to(_C.float32)  # norms and biases
        if name == "model.embed_tokens.weight":
            if isinstance(t, _C.Tensor) and t.dtype != _C.float32 and not config.tie_word_embeddings:
                t = t.to(_C.float32)
            return t if not config.tie_word_embeddings else _as_matmul_weight(t)
        return _as_matmul_weight(t)
    return get


# ---- tokenizers (ember.tokenizer arrives separately; tolerate its absence) --------------------


_TOKENIZER_ERRORS = (OSError, ValueError, KeyError, TypeError, RuntimeError, ImportError)


def _tokenizer_class():
    try:
        from ember.tokenizer import Tokenizer
    except ImportError:
        return None
    return Tokenizer


def _tokenizer_from_dir(root):
    cls = _tokenizer_class()
    if cls is None or not os.path.isfile(os.path.join(root, "tokenizer.json")):
        return None
    try:
        return cls.from_file(root)
    except _TOKENIZER_ERRORS as e:  # a model without a usable tokenizer still runs on token ids
        warnings.warn(f"LlamaForCausalLM: could not load the tokenizer of {root}: {e}", stacklevel=3)
        return None


def _tokenizer_from_gguf(meta):
    cls = _tokenizer_class()
    if cls is None or "tokenizer.ggml.tokens" not in meta:
        return None
    try:
        return cls.from_gguf(meta)
    except _TOKENIZER_ERRORS as e:
        warnings.warn(f"LlamaForCausalLM: could not build the tokenizer from the GGUF metadata: {e}", stacklevel=3)
        return None
