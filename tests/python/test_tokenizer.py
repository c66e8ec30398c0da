"""ember.tokenizer against transformers' own GGUF conversion, on SmolLM2's real vocabulary and on small
SentencePiece and byte-level vocabularies written here."""

import json
import os
import random

import ember
import pytest
from ember.io import load_gguf, save_gguf
from ember.tokenizer import Tokenizer, byte_alphabet
from io_testing import smollm2_gguf_path

transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "def f(x):\n    return x ** 2  # square\n",
    "x = 12345 + 678.9; y=-0.001e-7",
    "   leading spaces and trailing   ",
    "tabs\tand\n\nnewlines\r\n  mixed \n",
    "café naïve façade Ærøskøbing",
    "日本語のテキストと中文",
    "emoji 🤗👍🏽 and flags 🇫🇷",
    "<|im_start|>user\nhi there<|im_end|>\n",
    "don't you'll I'M we've",
    "",
    " ",
    "a",
]

CONVERSATIONS = [
    [{"role": "user", "content": "Hi!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"}],
    [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi, how can I help?"},
     {"role": "user", "content": "Tell me a joke about 🤖."}],
]


def hf_gguf_tokenizer(path):
    return transformers.AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))


@pytest.fixture(scope="module")
def smollm():
    path = smollm2_gguf_path()
    return Tokenizer.from_gguf(load_gguf(path)[1]), hf_gguf_tokenizer(path)


def test_smollm2_encode_matches_transformers(smollm):
    tok, ref = smollm
    for text in TEXTS:
        assert tok.encode(text) == ref.encode(text), text
        assert tok.decode(tok.encode(text)) == text.replace("<|im_start|>", "").replace("<|im_end|>", "")
        assert tok.decode(tok.encode(text), skip_special_tokens=False) == text


def test_smollm2_special_tokens(smollm):
    tok, _ = smollm
    assert tok.vocab_size == 49152
    assert (tok.bos_token, tok.eos_token) == ("<|im_start|>", "<|im_end|>")
    assert (tok.bos_token_id, tok.eos_token_id, tok.eos_token_ids) == (1, 2, [2])
    assert tok.encode("<|im_end|>") == [2]
    assert tok.encode("hi", add_special_tokens=False) == tok.encode("hi")  # add_bos_token is false


@pytest.mark.parametrize("add_generation_prompt", [True, False])
def test_smollm2_chat_template_matches_transformers(smollm, add_generation_prompt):
    tok, ref = smollm
    for messages in CONVERSATIONS:
        kw = {"add_generation_prompt": add_generation_prompt}
        text = tok.apply_chat_template(messages, **kw)
        assert text == ref.apply_chat_template(messages, tokenize=False, **kw)
        ids = tok.apply_chat_template(messages, tokenize=True, **kw)
        assert ids == tok.encode(text, add_special_tokens=False)
        assert list(ref.apply_chat_template(messages, tokenize=True, return_dict=False, **kw)) == ids


def test_smollm2_random_text_matches_smollm2_pre_tokenizer(smollm):
    """llama.cpp ("smollm") and SmolLM2's tokenizer.json isolate digits before GPT-2's split;
    transformers' GGUF conversion does not, so the reference gets that pre-tokenizer here."""
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import pre_tokenizers

    tok, ref = smollm
    backend = HFTokenizer.from_str(ref.backend_tokenizer.to_str())
    assert tok.encode("Z4  0") != backend.encode("Z4  0").ids  # where the two differ: "ĠĠ","0" vs "Ġ","Ġ","0"
    assert tok.encode("Z4  0")[-2:] == [tok.hf.token_to_id("ĠĠ"), tok.hf.token_to_id("0")]
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False)])
    rng = random.Random(0)
    alphabet = "abcXYZ 0123456789 \n\t.,;'\"!?-_()[]{}éüßñ漢字ひら🙂🚀\u00a0"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        assert tok.encode(text) == backend.encode(text).ids, repr(text)


def test_chat_template_errors_and_features(smollm):
    tok, _ = smollm
    bare = Tokenizer(tok.hf, eos_token="<|im_end|>")
    with pytest.raises(ValueError, match="no chat template"):
        bare.apply_chat_template([{"role": "user", "content": "hi"}])
    fancy = Tokenizer(tok.hf, bos_token="<|im_start|>", chat_template=(
        "{{ bos_token }}{% for m in messages %}{% if m.role == 'bad' %}{{ raise_exception('bad role') }}"
        "{% endif %}{{ m | tojson }}\n{% endfor %}{% if add_generation_prompt %}>{% endif %}"
        "{{ strftime_now('%Y')[:2] }}{% generation %}G{% endgeneration %}"))
    text = fancy.apply_chat_template([{"role": "user", "content": "<é>"}])
    assert text == '<|im_start|>{"role": "user", "content": "<é>"}\n>20G'
    assert fancy.apply_chat_template([{"role": "user", "content": "x"}], tokenize=True)[0] == 1  # one bos only
    with pytest.raises(Exception, match="bad role"):
        fancy.apply_chat_template([{"role": "bad", "content": "x"}])
    evil = Tokenizer(tok.hf, chat_template="{{ messages.__class__.__mro__ }}")
    with pytest.raises(Exception, match="unsafe|access"):
        evil.apply_chat_template([{"role": "user", "content": "x"}])


# ---------------------------------------------------------------------------------------------
# small vocabularies written as GGUF files

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world", "token", "tokenizer",
         "sentence", "piece", "naïve", "café", "über", "straße", "emoji", "test", "testing", "tested", "tester",
         "a", "an", "in", "on", "at", "is", "it", "of", "to"]
LLAMA_MODEL_METADATA = {
    "general.architecture": "llama", "llama.block_count": 1, "llama.context_length": 64,
    "llama.embedding_length": 8, "llama.feed_forward_length": 16, "llama.attention.head_count": 2,
    "llama.attention.head_count_kv": 2, "llama.rope.dimension_count": 4,
    "llama.attention.layer_norm_rms_epsilon": 1e-5,
}
TEMPLATE = ("{% for m in messages %}{{ bos_token }}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}{% endfor %}"
            "{% if add_generation_prompt %}{{ bos_token }}[assistant] {% endif %}")


def sentencepiece_vocab():
    """<unk> <s> </s>, the 256 byte tokens, single characters, then every substring of the ▁-prefixed
    words (so every piece splits into two pieces), scored by how often it occurs."""
    counts = {}
    for w in WORDS:
        w = "▁" + w
        for i in range(len(w)):
            for j in range(i + 1, min(len(w), i + 7) + 1):
                counts[w[i:j]] = counts.get(w[i:j], 0) + 1
    chars = sorted({p for p in counts if len(p) == 1})
    longer = sorted((p for p in counts if len(p) > 1), key=lambda p: (-counts[p], len(p), p))
    tokens = ["<unk>", "<s>", "</s>", *[f"<0x{b:02X}>" for b in range(256)], *chars, *longer,
              "<|im_start|>", "<think>"]
    types = [2, 3, 3, *[6] * 256, *[1] * (len(chars) + len(longer)), 3, 4]
    scores = [0.0] * 259 + [-1000.0 - i for i in range(len(chars))] + [-float(i) for i in range(len(longer))]
    return tokens, types, scores + [0.0, 0.0]


def write_gguf(path, metadata):
    vocab = len(metadata["tokenizer.ggml.tokens"])
    tensors = {"token_embd.weight": ember.zeros((vocab, 8), dtype=ember.float32)}
    save_gguf(str(path), tensors, {**LLAMA_MODEL_METADATA, "llama.vocab_size": vocab, **metadata})
    return str(path)


@pytest.fixture(scope="module")
def sentencepiece(tmp_path_factory):
    tokens, types, scores = sentencepiece_vocab()
    path = write_gguf(tmp_path_factory.mktemp("spm") / "spm.gguf", {
        "tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": scores,
        "tokenizer.ggml.token_type": types, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.unknown_token_id": 0, "tokenizer.ggml.add_bos_token": True,
        "tokenizer.chat_template": TEMPLATE,
    })
    return Tokenizer.from_gguf(load_gguf(path)[1]), hf_gguf_tokenizer(path), path


SPM_TEXTS = [*TEXTS, "the tokenizer tested a sentence", "hello  world", " the", "über straße",
             "<s>the</s> <unk> <think>hmm"]


def test_sentencepiece_matches_transformers(sentencepiece):
    tok, ref, _ = sentencepiece
    for text in SPM_TEXTS:
        assert tok.encode(text) == ref.encode(text), text
        assert tok.encode(text, add_special_tokens=False) == ref.encode(text, add_special_tokens=False), text
        assert tok.decode(tok.encode(text)) == ref.decode(ref.encode(text), skip_special_tokens=True), text
    assert tok.encode("the")[0] == 1  # add_bos_token
    assert tok.decode(tok.encode("the quick 日本 🤗")) == "the quick 日本 🤗"
    assert tok.encode("<think>", add_special_tokens=False) == [tok.hf.token_to_id("<think>")]
    assert (tok.bos_token, tok.eos_token, tok.eos_token_ids) == ("<s>", "</s>", [2])


@pytest.mark.parametrize("add_generation_prompt", [True, False])
def test_sentencepiece_chat_template(sentencepiece, add_generation_prompt):
    tok, ref, _ = sentencepiece
    for messages in CONVERSATIONS:
        kw = {"add_generation_prompt": add_generation_prompt}
        text = tok.apply_chat_template(messages, **kw)
        assert text == ref.apply_chat_template(messages, tokenize=False, **kw)
        ids = tok.apply_chat_template(messages, tokenize=True, **kw)
        assert ids[:2] != [1, 1] and ids[0] == 1  # the template writes <s>; encoding adds no second one
        assert ids == list(ref.apply_chat_template(messages, tokenize=True, return_dict=False, **kw))


def test_sentencepiece_without_space_prefix(sentencepiece, tmp_path):
    tokens, types, scores = sentencepiece_vocab()
    meta = {"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": scores,
            "tokenizer.ggml.token_type": types, "tokenizer.ggml.add_space_prefix": False,
            "tokenizer.ggml.add_bos_token": False, "tokenizer.ggml.bos_token_id": 1}
    tok = Tokenizer.from_gguf(meta)
    ids = tok.encode("the fox")
    assert tok.hf.id_to_token(ids[0]) == "the" and tok.encode("the", add_special_tokens=False) == [ids[0]]
    assert tok.decode(ids) == "the fox"
    assert tok.decode(tok.encode(" the")) == " the"


@pytest.mark.parametrize("pre", ["llama-bpe", "qwen2", "gpt2", "default"])
def test_byte_level_pre_tokenizers_match_transformers(tmp_path, pre):
    meta = load_gguf(smollm2_gguf_path())[1]
    keys = ("tokens", "token_type", "merges", "bos_token_id", "eos_token_id", "unknown_token_id")
    tok_meta = {f"tokenizer.ggml.{k}": meta[f"tokenizer.ggml.{k}"] for k in keys}
    path = write_gguf(tmp_path / "bpe.gguf", {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": pre,
                                              **tok_meta})
    tok, ref = Tokenizer.from_gguf(load_gguf(path)[1]), hf_gguf_tokenizer(path)
    for text in TEXTS:
        assert tok.encode(text) == ref.encode(text), text


def test_unknown_pre_tokenizer_warns_and_bad_model_raises():
    meta = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "mystery", "tokenizer.ggml.tokens": ["a", "b"],
            "tokenizer.ggml.merges": []}
    with pytest.warns(UserWarning, match="mystery"):
        Tokenizer.from_gguf(meta)
    with pytest.raises(ValueError, match="'rwkv'"):
        Tokenizer.from_gguf({**meta, "tokenizer.ggml.model": "rwkv"})
    with pytest.raises(ValueError, match="no tokenizer"):
        Tokenizer.from_gguf({"general.architecture": "llama"})


def test_from_file(tmp_path, smollm):
    tok = smollm[0]
    tok.hf.save(str(tmp_path / "tokenizer.json"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({
        "bos_token": {"content": "<|im_start|>"}, "eos_token": "<|im_end|>", "chat_template": tok.chat_template}))
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": [2, 0]}))
    loaded = Tokenizer.from_file(str(tmp_path))
    assert loaded.eos_token_ids == [2, 0] and loaded.eos_token_id == 2 and loaded.bos_token_id == 1
    assert loaded.chat_template == tok.chat_template
    for text in TEXTS:
        assert loaded.encode(text) == tok.encode(text)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|im_end|>", "add_bos_token": True,
                                                                "bos_token": "<|endoftext|>"}))
    (tmp_path / "chat_template.jinja").write_text("{{ messages[0]['content'] }}")
    (tmp_path / "generation_config.json").unlink()
    loaded = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert loaded.encode("hi")[0] == 0 and loaded.eos_token_ids == [2]
    assert loaded.apply_chat_template([{"role": "user", "content": "yo"}]) == "yo"
    with pytest.raises(FileNotFoundError):
        Tokenizer.from_file(str(tmp_path / "nowhere"))


# ---------------------------------------------------------------------------------------------
# streaming decode


def stream_pieces(tok, ids):
    dec = tok.stream_decoder()
    pieces = [dec.push(i) for i in ids]
    return pieces, dec.flush()


def check_stream(tok, ids):
    pieces, tail = stream_pieces(tok, ids)
    assert "".join(pieces) + tail == tok.decode(ids)
    for p in pieces:
        assert not p.endswith("\ufffd") or "\ufffd" in tok.decode(ids)


@pytest.mark.parametrize("kind", ["smollm", "sentencepiece"])
def test_stream_decoder(kind, smollm, sentencepiece):
    tok = smollm[0] if kind == "smollm" else sentencepiece[0]
    for text in [*SPM_TEXTS, "🤗🤗 日本語 ✓ naïve", "  two  spaces  ", "\n\nthe end\n"]:
        ids = tok.encode(text)
        pieces, tail = stream_pieces(tok, ids)
        assert "".join(pieces) + tail == tok.decode(ids)
        assert all("\ufffd" not in p for p in pieces), pieces
    rng = random.Random(1)
    for _ in range(200):
        check_stream(tok, [rng.randrange(tok.vocab_size) for _ in range(rng.randint(1, 30))])


def test_stream_decoder_holds_split_utf8(sentencepiece):
    tok = sentencepiece[0]
    ids = tok.encode("🤗", add_special_tokens=False)
    assert [tok.hf.id_to_token(i) for i in ids[-4:]] == ["<0xF0>", "<0x9F>", "<0xA4>", "<0x97>"]
    dec = tok.stream_decoder()
    assert [dec.push(i) for i in ids] == [""] * len(ids)  # a run of byte tokens may still go on
    assert dec.push(tok.hf.token_to_id("▁the")) == "🤗 the"
    assert dec.push(ids[-4]) + dec.push(ids[-3]) == ""
    assert dec.flush() == "\ufffd\ufffd"  # an unfinished sequence at the very end: one U+FFFD per byte


def test_byte_alphabet_is_a_bijection():
    spelling = byte_alphabet()
    assert len(set(spelling.values())) == 256 and spelling[ord("A")] == "A" and spelling[ord(" ")] == "Ġ"
