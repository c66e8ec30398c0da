"""Tokenizers for the language models: Hugging Face `tokenizer.json` files, or a GGUF file's vocabulary.

`Tokenizer` wraps a `tokenizers.Tokenizer` (``tok.hf``) and adds what generation needs: the special
token ids, the chat template (rendered with jinja2 the way transformers renders it) and a stream
decoder that turns generated ids into text as soon as that text is final.

A GGUF file stores the vocabulary as metadata under llama.cpp's key names (``tokenizer.ggml.*``).
`Tokenizer.from_gguf` rebuilds the same pipeline that transformers builds from such a file:

- ``tokenizer.ggml.model == "gpt2"``: byte-level BPE with the file's merges. ``tokenizer.ggml.pre`` picks
  how text is split before BPE (the regex the merges were learned with); unknown names fall back to
  GPT-2's split, with a warning. One difference from transformers: for "smollm" (and the other names
  llama.cpp splits the same way) every digit is isolated first, as llama.cpp and SmolLM's own
  tokenizer.json do; transformers skips that, which changes e.g. "  0" (two spaces, a digit).
- ``tokenizer.ggml.model == "llama"``: SentencePiece BPE: ``▁`` stands for a space, bytes missing from
  the vocabulary become ``<0xXX>`` tokens, and merges (rarely in the file) are derived from the
  token scores. One deliberate difference from transformers: ``tokenizer.ggml.add_space_prefix = false``
  is honoured (as llama.cpp does); transformers always prepends ``▁``.

Tokens the file marks CONTROL become special tokens (skipped by ``decode``), USER_DEFINED ones become
added tokens that are matched whole; both are never split by BPE.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings

__all__ = ["StreamDecoder", "Tokenizer"]

# llama.cpp's token types (tokenizer.ggml.token_type).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# The splits that byte-level vocabularies were trained with, by `tokenizer.ggml.pre` name.
_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_GPT4O_SPLIT = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_SPLITS = {
    **dict.fromkeys(("llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe", "pixtral"), _LLAMA3_SPLIT),
    **dict.fromkeys(("qwen2", "deepseek-r1-qwen", "megrez"), _QWEN2_SPLIT),
    **dict.fromkeys(("gpt-4o", "llama4"), _GPT4O_SPLIT),
}
# llama.cpp isolates every digit first, then splits the rest as GPT-2 does (SmolLM's tokenizer.json has the
# same Digits + ByteLevel pre-tokenizer); transformers' GGUF conversion skips the digit step.
_DIGITS_FIRST = ("smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva")
_GPT2_SPLIT_NAMES = ("default", "gpt2", "gpt-2", "")


def _tokenizers():
    try:
        import tokenizers
    except ImportError as e:
        raise ImportError("ember.tokenizer needs the `tokenizers` package: pip install tokenizers") from e
    return tokenizers


def byte_alphabet():
    """GPT-2's printable spelling of the 256 bytes (byte -> one character), as byte-level BPE uses it."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    spelling, extra = {}, 0
    for b in range(256):
        if b in printable:
            spelling[b] = chr(b)
        else:
            spelling[b] = chr(256 + extra)
            extra += 1
    return spelling


def _text(token):
    """A GGUF string (bytes where it is not valid UTF-8) as str."""
    return token.decode("utf-8", "replace") if isinstance(token, bytes) else token


class Tokenizer:
    """A `tokenizers.Tokenizer` plus special tokens, chat template and streaming decode."""

    def __init__(self, hf, *, bos_token=None, eos_token=None, eos_token_ids=None, chat_template=None,
                 special_tokens=None):
        self.hf = hf
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.bos_token_id = self._id(bos_token)
        ids = list(eos_token_ids or [])
        if not ids and self._id(eos_token) is not None:
            ids = [self._id(eos_token)]
        self.eos_token_ids = list(dict.fromkeys(ids))
        self.eos_token_id = self.eos_token_ids[0] if self.eos_token_ids else None
        if eos_token is None and self.eos_token_id is not None:
            self.eos_token = hf.id_to_token(self.eos_token_id)
        self.chat_template = chat_template
        names = {"bos_token": bos_token, "eos_token": self.eos_token, **(special_tokens or {})}
        self.special_tokens = {k: v for k, v in names.items() if v is not None}  # template variables

    def _id(self, token):
        return None if token is None else self.hf.token_to_id(token)

    @property
    def vocab_size(self):
        return self.hf.get_vocab_size(with_added_tokens=True)

    def encode(self, text, add_special_tokens=True):
        return self.hf.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids, skip_special_tokens=True):
        return self.hf.decode(list(ids), skip_special_tokens=skip_special_tokens)

    @functools.cached_property
    def byte_token_ids(self):
        """The ids of the byte-fallback tokens ``<0x00>``..``<0xFF>`` (empty for byte-level vocabularies)."""
        pattern = re.compile(r"<0x[0-9A-Fa-f]{2}>")
        return frozenset(i for t, i in self.hf.get_vocab().items() if pattern.fullmatch(t))

    def stream_decoder(self, skip_special_tokens=True):
        return StreamDecoder(self, skip_special_tokens)

    def __repr__(self):
        return (f"Tokenizer(vocab_size={self.vocab_size}, bos={self.bos_token!r}, eos={self.eos_token!r}, "
                f"chat_template={'yes' if self.chat_template else 'no'})")

    # -- chat templates -------------------------------------------------------------------------

    def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=False, **kwargs):
        """Render a conversation with the tokenizer's Jinja chat template, as transformers does.

        ``messages`` is a list of ``{"role": ..., "content": ...}``; extra keyword arguments become
        template variables. With ``tokenize=True`` the text is encoded without adding special tokens
        (the template writes the BOS token itself where the model wants one)."""
        if not self.chat_template:
            raise ValueError("this tokenizer has no chat template (none in tokenizer_config.json, "
                             "chat_template.jinja or the GGUF metadata); format the prompt yourself")
        from ember._chat_template import render

        variables = {**self.special_tokens, "tools": None, "documents": None, **kwargs}
        text = render(self.chat_template, messages=list(messages),
                      add_generation_prompt=add_generation_prompt, **variables)
        return self.encode(text, add_special_tokens=False) if tokenize else text

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path):
        """Load ``tokenizer.json`` (a file, or a directory holding one) with the configuration beside it:
        tokenizer_config.json, special_tokens_map.json, generation_config.json, chat_template.jinja."""
        tokenizers = _tokenizers()
        folder, file = (path, os.path.join(path, "tokenizer.json")) if os.path.isdir(path) else (
            os.path.dirname(path), path)
        if not os.path.isfile(file):
            raise FileNotFoundError(f"no tokenizer.json at {path}")
        hf = tokenizers.Tokenizer.from_file(file)

        def read(name):
            p = os.path.join(folder, name)
            if not os.path.isfile(p):
                return {}
            with open(p, encoding="utf-8") as f:
                return json.load(f)

        config, special, gen = read("tokenizer_config.json"), read("special_tokens_map.json"), read(
            "generation_config.json")

        def token(name):
            value = config.get(name, special.get(name))
            return value.get("content") if isinstance(value, dict) else value

        names = {n: token(n) for n in ("bos_token", "eos_token", "unk_token", "pad_token")}
        template = config.get("chat_template")
        if isinstance(template, list):  # [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
            named = {t["name"]: t["template"] for t in template}
            template = named.get("default", next(iter(named.values()), None))
        jinja_file = os.path.join(folder, "chat_template.jinja")
        if template is None and os.path.isfile(jinja_file):
            with open(jinja_file, encoding="utf-8") as f:
                template = f.read()

        if "add_bos_token" in config or "add_eos_token" in config:
            _set_post_processor(hf, names["bos_token"] if config.get("add_bos_token") else None,
                                names["eos_token"] if config.get("add_eos_token") else None)
        eos_ids = gen.get("eos_token_id")
        eos_ids = [eos_ids] if isinstance(eos_ids, int) else list(eos_ids or [])
        return cls(hf, bos_token=names["bos_token"], eos_token=names["eos_token"], eos_token_ids=eos_ids,
                   chat_template=template, special_tokens=names)

    @classmethod
    def from_gguf(cls, metadata):
        """Build the tokenizer a GGUF file describes, from its metadata (``ember.io.load_gguf(path)[1]``)."""
        tokenizers = _tokenizers()
        kind = metadata.get("tokenizer.ggml.model")
        tokens = metadata.get("tokenizer.ggml.tokens")
        if not tokens:
            raise ValueError("the GGUF metadata has no tokenizer.ggml.tokens: this file carries no tokenizer")
        types = metadata.get("tokenizer.ggml.token_type") or [NORMAL] * len(tokens)

        def token_at(key):
            i = metadata.get(f"tokenizer.ggml.{key}")
            return _text(tokens[i]) if isinstance(i, int) and 0 <= i < len(tokens) else None

        names = {"bos_token": token_at("bos_token_id"), "eos_token": token_at("eos_token_id"),
                 "unk_token": token_at("unknown_token_id"), "pad_token": token_at("padding_token_id")}
        if kind == "gpt2":
            hf = _byte_level_bpe(tokenizers, metadata, tokens)
            alphabet = set(byte_alphabet().values())
            is_spelled = lambda t: set(t) <= alphabet
            add_bos_default = False
        elif kind == "llama":
            hf = _sentencepiece_bpe(tokenizers, metadata, tokens, names["unk_token"])
            is_spelled = lambda t: True
            add_bos_default = True  # llama.cpp's default for a SentencePiece vocabulary
        else:
            raise ValueError(f"cannot build a tokenizer for GGUF tokenizer.ggml.model = {kind!r} "
                             "(supported: 'gpt2' byte-level BPE, 'llama' SentencePiece BPE)")

        texts = [_text(t) for t in tokens]
        # A CONTROL token outside the byte alphabet of a byte-level vocabulary is a mislabel; transformers
        # skips those too (adding them would grow the vocabulary past the model's).
        control = [t for t, ty in zip(texts, types) if ty == CONTROL and is_spelled(t)]
        control += [t for t in names.values() if t is not None and t not in control]
        hf.add_special_tokens([tokenizers.AddedToken(t, normalized=False, special=True) for t in control])
        vocab = hf.get_vocab()
        user = [t for t, ty in zip(texts, types) if ty == USER_DEFINED and t in vocab]
        hf.add_tokens([tokenizers.AddedToken(t, normalized=False, special=False) for t in user])

        add_bos = metadata.get("tokenizer.ggml.add_bos_token", add_bos_default)
        add_eos = metadata.get("tokenizer.ggml.add_eos_token", False)
        _set_post_processor(hf, names["bos_token"] if add_bos else None, names["eos_token"] if add_eos else None)
        # Chat models end a turn with EOT (or EOM); generation should stop there as well.
        eos_ids = [metadata.get(f"tokenizer.ggml.{k}_token_id") for k in ("eos", "eot", "eom")]
        return cls(hf, bos_token=names["bos_token"], eos_token=names["eos_token"],
                   eos_token_ids=[i for i in eos_ids if isinstance(i, int)],
                   chat_template=metadata.get("tokenizer.chat_template"), special_tokens=names)


def _set_post_processor(hf, bos, eos):
    """Add BOS before and/or EOS after every encoded sequence (None: do not)."""
    from tokenizers import processors

    bos, eos = (t if t is not None and hf.token_to_id(t) is not None else None for t in (bos, eos))
    single = " ".join([*([f"{bos}:0"] if bos else []), "$A:0", *([f"{eos}:0"] if eos else [])])
    pair = " ".join([single, *([f"{bos}:1"] if bos else []), "$B:1", *([f"{eos}:1"] if eos else [])])
    specials = [(t, hf.token_to_id(t)) for t in dict.fromkeys(x for x in (bos, eos) if x)]
    hf.post_processor = processors.TemplateProcessing(single=single, pair=pair, special_tokens=specials)


def _merges(metadata):
    return [tuple(m.split(" ", 1)) for m in map(_text, metadata["tokenizer.ggml.merges"])]


def _byte_level_bpe(tokenizers, metadata, tokens):
    from tokenizers import decoders, models, pre_tokenizers

    spelling = byte_alphabet()
    alphabet = set(spelling.values())

    def spell(token):  # tokens outside the byte alphabet (added tokens) are spelled byte by byte
        if isinstance(token, str) and set(token) <= alphabet:
            return token
        raw = token if isinstance(token, bytes) else token.encode("utf-8")
        return "".join(spelling[b] for b in raw)

    vocab = {spell(t): i for i, t in enumerate(tokens)}
    merges = _merges(metadata) if metadata.get("tokenizer.ggml.merges") else []
    hf = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    pre = metadata.get("tokenizer.ggml.pre", "default")
    if pre in _SPLITS:
        hf.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(tokenizers.Regex(_SPLITS[pre]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    elif pre in _DIGITS_FIRST:
        hf.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    else:
        if pre not in _GPT2_SPLIT_NAMES:
            warnings.warn(f"GGUF tokenizer.ggml.pre = {pre!r} is not known to ember; splitting text as GPT-2 "
                          "does, which may tokenize some text differently from llama.cpp", stacklevel=3)
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    return hf


def _sentencepiece_merges(tokens, scores):
    """BPE merges implied by a SentencePiece vocabulary: every split of a token into two vocabulary
    pieces, the merges of higher-scoring tokens first (as transformers derives them)."""
    vocab = {t: i for i, t in enumerate(tokens)}
    found = []
    for token, score in zip(tokens, scores):
        pairs = [(token[:k], token[k:]) for k in range(1, len(token)) if token[:k] in vocab and token[k:] in vocab]
        pairs.sort(key=lambda p: (vocab[p[0]], vocab[p[1]]))
        found += [(score, len(left), len(right), left, right) for left, right in pairs]
    found.sort(key=lambda m: m[:3], reverse=True)
    return [(left, right) for *_, left, right in found]


def _sentencepiece_bpe(tokenizers, metadata, tokens, unk_token):
    from tokenizers import decoders, models, pre_tokenizers

    texts = [_text(t) for t in tokens]
    vocab = {t: i for i, t in enumerate(texts)}
    if metadata.get("tokenizer.ggml.merges"):
        merges = _merges(metadata)
    else:
        scores = metadata.get("tokenizer.ggml.scores") or [0.0] * len(texts)
        merges = _sentencepiece_merges(list(vocab), [scores[i] for i in vocab.values()])
    hf = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=True, byte_fallback=True,
                                         unk_token=unk_token))
    prefix = metadata.get("tokenizer.ggml.add_space_prefix", True)
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first" if prefix else "never",
                                                split=False)
    steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if prefix:
        steps.append(decoders.Strip(content=" ", left=1, right=0))
    hf.decoder = decoders.Sequence(steps)
    return hf


class StreamDecoder:
    """Turns ids into text one at a time: ``push(id)`` returns the text that became final (maybe "").

    The text of a window of recent ids is decoded with and without the newest ids; the difference is
    emitted once it does not end in U+FFFD (a UTF-8 sequence still split across byte tokens). Decoding
    the window together keeps SentencePiece's leading spaces right. A run of byte-fallback tokens
    (``<0xXX>``) is decoded as a whole (an invalid byte anywhere in it turns every byte of the run into
    U+FFFD), so nothing is emitted while the newest id is one of them. The pieces, followed by
    ``flush()``, concatenate to exactly ``decode(all_ids)``."""

    def __init__(self, tokenizer, skip_special_tokens=True):
        self.tokenizer, self.skip = tokenizer, skip_special_tokens
        self.byte_ids = tokenizer.byte_token_ids
        self._reset()

    def _reset(self):
        self.ids, self.prefix, self.read, self.emitted = [], 0, 0, 0

    def _decode(self, ids):
        return self.tokenizer.decode(ids, skip_special_tokens=self.skip)

    def push(self, token_id):
        self.ids.append(int(token_id))
        return "" if self.ids[-1] in self.byte_ids else self._advance(final=False)

    def flush(self):
        """The text still held back (an incomplete UTF-8 sequence at the end becomes U+FFFD)."""
        text = self._advance(final=True)
        self._reset()
        return text

    def _advance(self, final):
        before = self._decode(self.ids[self.prefix:self.read])
        after = self._decode(self.ids[self.prefix:])
        if not final and (len(after) <= len(before) or after.endswith("\ufffd")):
            return ""
        if after.startswith(before):
            text = after[len(before):]
        else:  # the newest ids changed earlier text; fall back to decoding everything
            text = self._decode(self.ids)[self.emitted:]
        self.prefix, self.read = self.read, len(self.ids)
        self.emitted += len(text)
        return text
