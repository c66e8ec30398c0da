"""BERT encoders and sentence embeddings (sentence-transformers layout).

>>> model = BertModel.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
>>> hidden = model(input_ids, attention_mask=mask)            # (batch, seq, hidden)
>>> emb = SentenceEmbedder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
>>> vectors = emb.encode(["a sentence", "another one"])       # numpy float32 (2, 384), unit rows

Parameter names are those of Hugging Face's ``BertModel`` checkpoints (a ``bert.`` prefix, as in
``BertForMaskedLM`` checkpoints, is accepted and the task heads are ignored). At load, each layer's
query, key and value projections are concatenated into one matrix, so attention runs one matmul for
all three; the separate weights stay in ``state_dict()`` under their usual names.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from ember import _C
from ember.nn import init
from ember.nn.embedding import Embedding
from ember.nn.linear import Linear
from ember.nn.module import Module, ModuleList
from ember.nn.normalization import LayerNorm

__all__ = ["BertConfig", "BertModel", "Packing", "SentenceEmbedder"]

# Files fetched from the Hub: configs, tokenizer, safetensors weights (no ONNX / TF / Rust copies).
_HUB_PATTERNS = ["*.json", "*.safetensors", "vocab.txt"]
_HUB_PATTERNS_BIN = ["pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*.bin"]

_ACTIVATIONS = {
    "gelu": _C.gelu,
    "gelu_new": _C.gelu_tanh,
    "gelu_pytorch_tanh": _C.gelu_tanh,
    "gelu_fast": _C.gelu_tanh,
    "relu": _C.relu,
    "silu": _C.silu,
    "swish": _C.silu,
    "tanh": _C.tanh,
}


# ---------------------------------------------------------------------------------------------
# config


@dataclasses.dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    position_embedding_type: str = "absolute"
    model_type: str = "bert"

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size {self.hidden_size} is not a multiple of "
                             f"num_attention_heads {self.num_attention_heads}")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: hidden_act {self.hidden_act!r} is not supported "
                             f"(supported: {', '.join(sorted(_ACTIVATIONS))})")
        if self.position_embedding_type != "absolute":
            raise NotImplementedError(f"BertConfig: position_embedding_type {self.position_embedding_type!r} is not "
                                      "supported (only 'absolute')")

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, d):
        """A config from config.json's keys; keys BERT does not use (dropout, architectures, ...) are ignored."""
        model_type = d.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"BertConfig: model_type {model_type!r} is not a BERT model (expected 'bert')")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_json(cls, path):
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"BertConfig: no config.json at {path}")
        with open(path, encoding="utf-8") as f:
            try:
                d = json.load(f)
            except ValueError as e:
                raise ValueError(f"BertConfig: {path} is not valid JSON: {e}") from e
        if not isinstance(d, dict):
            raise ValueError(f"BertConfig: {path} must hold a JSON object")  # noqa: TRY004 (bad file)
        return cls.from_dict(d)


# ---------------------------------------------------------------------------------------------
# modules (names as in transformers' BertModel)


class BertEmbeddings(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        h = config.hidden_size
        self.word_embeddings = Embedding(config.vocab_size, h, dtype=dtype)
        self.position_embeddings = Embedding(config.max_position_embeddings, h, dtype=dtype)
        self.token_type_embeddings = Embedding(config.type_vocab_size, h, dtype=dtype)
        self.LayerNorm = LayerNorm(h, eps=config.layer_norm_eps, dtype=dtype)
        object.__setattr__(self, "_pos_type0", None)

    def prepare(self):
        """Caches position rows + token type 0 (what every position gets when token_type_ids is None)."""
        pos = self.position_embeddings.weight
        tt = self.token_type_embeddings.weight
        object.__setattr__(self, "_pos_type0", pos + tt.narrow(0, 0, 1))

    def forward(self, input_ids, token_type_ids=None):
        seq = input_ids.shape[-1]
        if seq > self.position_embeddings.num_embeddings:
            raise ValueError(f"BertModel: sequence length {seq} exceeds max_position_embeddings "
                             f"{self.position_embeddings.num_embeddings}")
        x = self.word_embeddings(input_ids)
        if token_type_ids is None:
            if self._pos_type0 is None:
                self.prepare()
            x.add_(self._pos_type0.narrow(0, 0, seq))
        else:
            x.add_(self.position_embeddings.weight.narrow(0, 0, seq))
            x.add_(self.token_type_embeddings(token_type_ids))
        return self.LayerNorm(x)


class BertSelfAttention(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        h = config.hidden_size
        self.num_attention_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        self.query = Linear(h, h, dtype=dtype)
        self.key = Linear(h, h, dtype=dtype)
        self.value = Linear(h, h, dtype=dtype)
        object.__setattr__(self, "_qkv", None)

    def fuse(self):
        """Concatenates the query, key and value weights into one (3 * hidden, hidden) matmul."""
        layers = (self.query, self.key, self.value)
        weights = [m.weight for m in layers]
        biases = [m._parameters["bias"] for m in layers]
        if any(not isinstance(w, _C.Tensor) for w in weights) or len({b is None for b in biases}) != 1:
            object.__setattr__(self, "_qkv", None)  # quantized or mixed: three separate matmuls
            return
        weight_t = _C.cat(weights, 0).mT
        bias = None if biases[0] is None else _C.cat(biases, 0)
        object.__setattr__(self, "_qkv", (weight_t, bias))

    def forward(self, x, mask=None, packing=None):
        """x: (batch, seq, hidden); mask: bool (batch, 1, 1, seq) or None. Returns (batch, seq, hidden).
        With `packing` (a Packing), x is (tokens, hidden) and so is the result."""
        if packing is None:
            b, s, h = x.shape
        else:
            b, s, h = packing.batch, packing.seq, x.shape[-1]
        nh, hd = self.num_attention_heads, self.head_dim
        if self._qkv is not None:
            w, bias = self._qkv
            qkv = _C.matmul(x, w)
            if bias is not None:
                qkv.add_(bias)
            if packing is not None:
                qkv = packing.pad(qkv)
            q, k, v = qkv.reshape(b, s, 3, nh, hd).permute(2, 0, 3, 1, 4).unbind(0)
        else:
            parts = (m(x) for m in (self.query, self.key, self.value))
            if packing is not None:
                parts = (packing.pad(t) for t in parts)
            q, k, v = (t.reshape(b, s, nh, hd).transpose(1, 2) for t in parts)
        out = _C.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        if packing is None:
            return out.transpose(1, 2).reshape(b, s, h)
        return packing.unpad(out.transpose(1, 2).reshape(b * s, h))


class BertSelfOutput(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size, dtype=dtype)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps, dtype=dtype)

    def forward(self, hidden, residual):
        y = self.dense(hidden)
        y.add_(residual)
        return self.LayerNorm(y)


class BertAttention(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.self = BertSelfAttention(config, dtype)
        self.output = BertSelfOutput(config, dtype)

    def forward(self, x, mask=None, packing=None):
        return self.output(self.self(x, mask, packing), x)


class BertIntermediate(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.intermediate_size, dtype=dtype)
        self.act = _ACTIVATIONS[config.hidden_act]

    def forward(self, x):
        return self.act(self.dense(x))


class BertOutput(BertSelfOutput):
    def __init__(self, config, dtype=None):
        Module.__init__(self)
        self.dense = Linear(config.intermediate_size, config.hidden_size, dtype=dtype)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps, dtype=dtype)


class BertLayer(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.attention = BertAttention(config, dtype)
        self.intermediate = BertIntermediate(config, dtype)
        self.output = BertOutput(config, dtype)

    def forward(self, x, mask=None, packing=None):
        x = self.attention(x, mask, packing)
        return self.output(self.intermediate(x), x)


class BertEncoder(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.layer = ModuleList(BertLayer(config, dtype) for _ in range(config.num_hidden_layers))

    def forward(self, x, mask=None, packing=None):
        for layer in self.layer:
            x = layer(x, mask, packing)
        return x


class Packing:
    """Sequences of different lengths packed without padding: `tokens` rows, sequence i's tokens at rows
    offsets[i] .. offsets[i] + lengths[i]. Everything but attention runs on the packed rows (no work on
    padding); attention scatters them into a zero-padded (batch, seq) layout and gathers them back."""

    def __init__(self, lengths, device="cpu"):
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.ndim != 1 or lengths.size == 0 or lengths.min() < 1:
            raise ValueError(f"Packing: lengths must be a non-empty list of positive ints, got {lengths!r}")
        self.lengths = lengths
        self.batch, self.seq = len(lengths), int(lengths.max())
        self.tokens = int(lengths.sum())
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        positions = np.arange(self.tokens) - np.repeat(self.offsets, lengths)
        rows = np.repeat(np.arange(self.batch), lengths)
        self.valid = np.arange(self.seq)[None, :] < lengths[:, None]  # (batch, seq) bool
        self.positions = _C.from_numpy(positions).to(device)
        self.padded_index = _C.from_numpy(rows * self.seq + positions).to(device)  # packed row -> padded row
        self.mask = _C.from_numpy(self.valid).reshape(self.batch, 1, 1, self.seq).to(device)

    def pad(self, x, fill=0.0):
        """(tokens, d) -> (batch * seq, d) with `fill` in the padding rows."""
        out = _C.full((self.batch * self.seq, x.shape[-1]), fill, dtype=x.dtype, device=x.device)
        return out.index_copy_(0, self.padded_index, x)

    def unpad(self, x):
        """(batch * seq, d) -> (tokens, d)."""
        return _C.index_select(x, 0, self.padded_index)


class BertPooler(Module):
    def __init__(self, config, dtype=None):
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size, dtype=dtype)

    def forward(self, last_hidden_state):
        first = last_hidden_state.narrow(1, 0, 1).squeeze(1)
        return _C.tanh(self.dense(first))


def _as_ids(x, name):
    """An integer ember.Tensor (batch, seq) from an ember.Tensor, numpy array or nested lists."""
    if x is None:
        return None
    if not isinstance(x, _C.Tensor):
        x = _C.from_numpy(np.ascontiguousarray(np.asarray(x, dtype=np.int64)))
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2:
        raise ValueError(f"BertModel: {name} must have shape (batch, seq), got {tuple(x.shape)}")
    return x


class BertModel(Module):
    """BERT encoder: embeddings, `num_hidden_layers` post-norm transformer layers and, when the
    checkpoint has one, the pooler (dense + tanh over the first token; see `pooler_output`)."""

    def __init__(self, config, add_pooling_layer=True, dtype=None):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config, dtype)
        self.encoder = BertEncoder(config, dtype)
        if add_pooling_layer:
            self.pooler = BertPooler(config, dtype)
        else:
            self.register_module("pooler", None)
        self.fuse()

    # ---- loading ----

    def fuse(self):
        """(Re)builds the fused query/key/value weights and the cached embedding rows from the current
        parameters; runs after every load_state_dict and to()."""
        if init.skipping():
            return  # uninitialised parameters: the loader fuses after filling them
        self.embeddings.prepare()
        for layer in self.encoder.layer:
            layer.attention.self.fuse()

    def load_state_dict(self, state_dict, strict=True, assign=True):
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.fuse()
        return result

    def to(self, device=None, dtype=None):
        super().to(device, dtype)
        self.fuse()
        return self

    @classmethod
    def from_pretrained(cls, path_or_repo_id, dtype=None, device="cpu", **hub_kwargs):
        """A BertModel from a directory (config.json + weights) or a Hub repo id. dtype=None keeps the
        checkpoint's floating-point dtype; otherwise weights are cast to `dtype`."""
        root = _resolve(path_or_repo_id, **hub_kwargs)
        config = BertConfig.from_json(os.path.join(root, "config.json"))
        return cls.from_state_dict(config, _load_weights(root, dtype, device))

    @classmethod
    def from_state_dict(cls, config, state_dict):
        """A BertModel over `state_dict`'s tensors (by reference). Accepts HF BertModel names, with or
        without a `bert.` prefix; task heads (cls.*, classifier.*) and position_ids buffers are ignored."""
        state = _strip_bert_prefix(state_dict)
        has_pooler = any(k.startswith("pooler.") for k in state)
        word = state.get("embeddings.word_embeddings.weight")
        if word is None:
            raise KeyError("BertModel: the checkpoint has no embeddings.word_embeddings.weight "
                           f"(first names: {sorted(state_dict)[:5]})")
        with init.no_init():
            model = cls(config, add_pooling_layer=has_pooler, dtype=word.dtype)
        model.load_state_dict(state)
        return model

    # ---- running ----

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        """last_hidden_state (batch, seq, hidden) for input_ids (batch, seq). attention_mask (batch, seq):
        keys where it is 0 take no part in attention. token_type_ids default to 0 everywhere."""
        input_ids = _as_ids(input_ids, "input_ids")
        token_type_ids = _as_ids(token_type_ids, "token_type_ids")
        mask = self._key_mask(input_ids, attention_mask)
        x = self.embeddings(input_ids, token_type_ids)
        return self.encoder(x, mask)

    def forward_packed(self, input_ids, packing):
        """Hidden states (tokens, hidden) of sequences packed end to end without padding: input_ids
        (tokens,) holds sequence i at rows packing.offsets[i] ... (see Packing). Token types are 0.
        The same numbers as forward() on the padded batch, without the matmul work on padding."""
        input_ids = input_ids if isinstance(input_ids, _C.Tensor) else _C.from_numpy(np.asarray(input_ids, np.int64))
        if tuple(input_ids.shape) != (packing.tokens,):
            raise ValueError(f"BertModel.forward_packed: input_ids must have shape ({packing.tokens},), "
                             f"got {tuple(input_ids.shape)}")
        emb = self.embeddings
        if packing.seq > emb.position_embeddings.num_embeddings:
            raise ValueError(f"BertModel: sequence length {packing.seq} exceeds max_position_embeddings "
                             f"{emb.position_embeddings.num_embeddings}")
        if emb._pos_type0 is None:
            emb.prepare()
        x = emb.word_embeddings(input_ids)
        x.add_(_C.index_select(emb._pos_type0, 0, packing.positions))
        x = emb.LayerNorm(x)
        return self.encoder(x, packing.mask, packing)

    @staticmethod
    def _key_mask(input_ids, attention_mask):
        """bool (batch, 1, 1, seq) from a 0/1 (or bool) attention_mask; None when nothing is masked."""
        if attention_mask is None:
            return None
        if isinstance(attention_mask, np.ndarray) or not isinstance(attention_mask, _C.Tensor):
            m = np.asarray(attention_mask)
            if m.ndim == 1:
                m = m[None]
            if m.all():
                return None
            attention_mask = _C.from_numpy(np.ascontiguousarray(m != 0))
        else:
            if attention_mask.ndim == 1:
                attention_mask = attention_mask.unsqueeze(0)
            if attention_mask.dtype != _C.bool_:
                attention_mask = attention_mask != 0
            if attention_mask.all().item():
                return None
        if tuple(attention_mask.shape) != tuple(input_ids.shape):
            raise ValueError(f"BertModel: attention_mask has shape {tuple(attention_mask.shape)}, input_ids "
                             f"{tuple(input_ids.shape)}")
        b, s = attention_mask.shape
        return attention_mask.reshape(b, 1, 1, s)

    def pooler_output(self, last_hidden_state):
        """The pooler's output (batch, hidden): tanh(dense(first token)). Raises when the checkpoint has no pooler."""
        if self.pooler is None:
            raise ValueError("BertModel: this checkpoint has no pooler (pooler.dense.* weights)")
        return self.pooler(last_hidden_state)


def _strip_bert_prefix(state_dict):
    """The BertModel part of a checkpoint: `bert.`-prefixed names without the prefix (when present),
    minus the position_ids / token_type_ids buffers that some checkpoints store."""
    if any(k.startswith("bert.") for k in state_dict):
        state = {k[len("bert."):]: v for k, v in state_dict.items() if k.startswith("bert.")}
    else:
        state = dict(state_dict)
    for k in ("embeddings.position_ids", "embeddings.token_type_ids"):
        state.pop(k, None)
    return state


def _resolve(path_or_repo_id, **hub_kwargs):
    from ember import hub

    root = hub.resolve(path_or_repo_id, allow_patterns=_HUB_PATTERNS, **hub_kwargs)
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{root}: expected a model directory (config.json and weights)")
    if not _has_weights(root) and not os.path.exists(os.fspath(path_or_repo_id)):
        root = hub.resolve(path_or_repo_id, allow_patterns=_HUB_PATTERNS + _HUB_PATTERNS_BIN, **hub_kwargs)
    return root


def _has_weights(root):
    return any(f.endswith((".safetensors", ".bin", ".pth", ".pt", ".npz")) for f in os.listdir(root))


def _load_weights(root, dtype, device):
    from ember import io

    if not os.path.isfile(os.path.join(root, "config.json")):
        raise FileNotFoundError(f"{root}: no config.json (not a Hugging Face model directory)")
    return io.load(root, device=device, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# sentence embeddings


_POOLING_ORDER = ("cls", "max", "mean", "mean_sqrt_len")  # sentence-transformers' concatenation order
_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def _pooling_modes(config, path):
    """The pooling modes named by a sentence-transformers Pooling config, in concatenation order."""
    if isinstance(config.get("pooling_mode"), str):
        modes = {config["pooling_mode"]}
    else:
        modes = {mode for key, mode in _POOLING_KEYS.items() if config.get(key)}
    if not modes:
        raise ValueError(f"SentenceEmbedder: {path} enables no pooling mode")
    unknown = sorted(modes - set(_POOLING_ORDER))
    if unknown:
        raise ValueError(f"SentenceEmbedder: pooling mode {unknown[0]!r} ({path}) is not supported "
                         f"(supported: {', '.join(_POOLING_ORDER)})")
    return [m for m in _POOLING_ORDER if m in modes]


def _read_json(path, what):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"SentenceEmbedder: {what} not found: {path}")
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise ValueError(f"SentenceEmbedder: {path} is not valid JSON: {e}") from e


class SentenceEmbedder:
    """A sentence-transformers model (Transformer -> Pooling -> optional Normalize) over a BertModel.

    Tokenization uses the model's tokenizer.json through the `tokenizers` package, truncating to
    max_seq_length and padding each batch to its longest sentence."""

    def __init__(self, model, tokenizer, pooling_modes=("mean",), normalize=True, max_seq_length=None,
                 do_lower_case=False):
        for mode in pooling_modes:
            if mode not in _POOLING_ORDER:
                raise ValueError(f"SentenceEmbedder: pooling mode {mode!r} is not supported "
                                 f"(supported: {', '.join(_POOLING_ORDER)})")
        self.model = model
        self.tokenizer = tokenizer
        self.pooling_modes = [m for m in _POOLING_ORDER if m in pooling_modes]
        self.normalize = normalize
        limit = model.config.max_position_embeddings
        self.max_seq_length = min(max_seq_length or limit, limit)
        self.do_lower_case = do_lower_case
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)

    @property
    def dim(self):
        return self.model.config.hidden_size * len(self.pooling_modes)

    @classmethod
    def from_pretrained(cls, dir_or_repo, dtype=None, device="cpu", **hub_kwargs):
        """Reads modules.json, the Transformer module's config.json / weights / tokenizer.json /
        sentence_bert_config.json, the Pooling module's config.json, and whether Normalize follows."""
        root = _resolve(dir_or_repo, **hub_kwargs)
        modules = _read_json(os.path.join(root, "modules.json"), "modules.json (a sentence-transformers model)")
        if not isinstance(modules, list):
            raise ValueError(f"SentenceEmbedder: {root}/modules.json must hold a list of modules")  # noqa: TRY004
        transformer = pooling = None
        normalize = False
        for entry in sorted(modules, key=lambda m: m.get("idx", 0)):
            kind = str(entry.get("type", "")).rsplit(".", 1)[-1]
            path = os.path.join(root, entry.get("path", ""))
            if kind == "Transformer" and transformer is None and pooling is None:
                transformer = path
            elif kind == "Pooling" and transformer is not None and pooling is None:
                pooling = path
            elif kind == "Normalize" and pooling is not None:
                normalize = True
            else:
                raise NotImplementedError(f"SentenceEmbedder: module {entry.get('type')!r} at position "
                                          f"{entry.get('idx')} is not supported (supported: Transformer -> "
                                          "Pooling -> Normalize)")
        if transformer is None or pooling is None:
            raise ValueError(f"SentenceEmbedder: {root}/modules.json must list a Transformer and a Pooling module")

        pool_cfg = _read_json(os.path.join(pooling, "config.json"), "Pooling config")
        modes = _pooling_modes(pool_cfg, os.path.join(pooling, "config.json"))
        sbert_path = os.path.join(transformer, "sentence_bert_config.json")
        sbert = _read_json(sbert_path, "sentence_bert_config.json") if os.path.isfile(sbert_path) else {}
        tok_path = os.path.join(transformer, "tokenizer.json")
        if not os.path.isfile(tok_path):
            raise FileNotFoundError(f"SentenceEmbedder: tokenizer.json not found: {tok_path} (a fast-tokenizer "
                                    "file is required)")
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(tok_path)
        config = BertConfig.from_json(os.path.join(transformer, "config.json"))
        model = BertModel.from_state_dict(config, _load_weights(transformer, dtype, device))
        max_len = sbert.get("max_seq_length") or _tokenizer_max_length(transformer)
        return cls(model, tokenizer, modes, normalize, max_len, bool(sbert.get("do_lower_case", False)))

    def encode(self, sentences, batch_size=32, normalize=None):
        """Embeddings of `sentences` as numpy float32 (n, dim) (a single str gives (dim,)). Rows are
        L2-normalised when the model ends with Normalize or normalize=True (normalize=False: never).
        Sentences are sorted by token count into batches (less padding); the output keeps input order."""
        single = isinstance(sentences, str)
        if single:
            sentences = [sentences]
        sentences = list(sentences)
        if batch_size < 1:
            raise ValueError(f"SentenceEmbedder.encode: batch_size must be >= 1, got {batch_size}")
        do_norm = self.normalize if normalize is None else normalize
        out = np.empty((len(sentences), self.dim), dtype=np.float32)
        if not sentences:
            return out
        if self.do_lower_case:
            sentences = [s.lower() for s in sentences]
        encodings = self.tokenizer.encode_batch(sentences, add_special_tokens=True)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            pooled = self._embed([encodings[i] for i in idx], lengths[idx], do_norm)
            out[idx] = pooled
        return out[0] if single else out

    def _embed(self, encodings, lengths, do_norm):
        if (lengths == lengths[0]).all():  # nothing to pad: one (batch, seq) forward
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            hidden = self.model(_C.from_numpy(ids))
            parts = [self._pool_dense(mode, hidden) for mode in self.pooling_modes]
        else:  # packed: no matmul work on padding
            packing = Packing(lengths, device=self.model.embeddings.word_embeddings.weight.device)
            ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=packing.tokens)
            hidden = self.model.forward_packed(_C.from_numpy(ids), packing)
            parts = [self._pool_packed(mode, hidden, packing) for mode in self.pooling_modes]
        x = parts[0] if len(parts) == 1 else _C.cat(parts, -1)
        if x.dtype != _C.float32:
            x = x.to(_C.float32)
        if do_norm:
            norm = x.square().sum(-1, keepdim=True).sqrt().clamp(min=1e-12)
            x = x / norm
        return x.numpy()

    @staticmethod
    def _pool_dense(mode, hidden):
        """Pooling of (batch, seq, hidden) without padding."""
        if mode == "cls":
            return hidden.narrow(1, 0, 1).squeeze(1)
        if mode == "max":
            return hidden.amax(1)
        pooled = hidden.mean(1)
        return pooled if mode == "mean" else pooled * float(np.sqrt(hidden.shape[1]))

    @staticmethod
    def _pool_packed(mode, hidden, packing):
        """Pooling of packed (tokens, hidden) rows, sequence by sequence."""
        if mode == "cls":
            return _C.index_select(hidden, 0, _C.from_numpy(packing.offsets).to(hidden.device))
        if mode == "max":
            padded = packing.pad(hidden, fill=float("-inf"))
            return padded.reshape(packing.batch, packing.seq, hidden.shape[-1]).amax(1)
        # mean / mean_sqrt_len: one matmul with a (batch, tokens) matrix holding 1/len (or 1/sqrt(len))
        # on each sequence's own rows
        lengths = packing.lengths
        scale = 1.0 / (lengths if mode == "mean" else np.sqrt(lengths))
        weights = np.zeros((packing.batch, packing.tokens), dtype=np.float32)
        rows = np.repeat(np.arange(packing.batch), lengths)
        weights[rows, np.arange(packing.tokens)] = np.repeat(scale, lengths)
        w = _C.from_numpy(weights).to(hidden.device)
        if w.dtype != hidden.dtype:
            w = w.to(hidden.dtype)
        return _C.matmul(w, hidden)


def _tokenizer_max_length(transformer_dir):
    path = os.path.join(transformer_dir, "tokenizer_config.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            try:
                value = json.load(f).get("model_max_length")
            except (ValueError, AttributeError):
                value = None
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    return None
