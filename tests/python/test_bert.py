"""ember.models.bert against transformers (tiny random configs) and sentence-transformers (the real
all-MiniLM-L6-v2)."""

import json
import os
import shutil

import ember
import numpy as np
import pytest
from ember.models.bert import BertConfig, BertModel, SentenceEmbedder
from ember.nn import CheckpointMismatchError
from io_testing import minilm_dir

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _tiny_config(**overrides):
    return transformers.BertConfig(**{
        "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 37, "max_position_embeddings": 64, "type_vocab_size": 3, "layer_norm_eps": 1e-12,
        **overrides})


def _save_tiny(path, cls_name="BertModel", **overrides):
    torch.manual_seed(0)
    model = getattr(transformers, cls_name)(_tiny_config(**overrides)).eval()
    model.save_pretrained(path)
    assert os.path.isfile(os.path.join(path, "model.safetensors"))
    return model


def _inputs(batch=3, seq=9, vocab=99, type_vocab=3, seed=1):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    mask[1, 6:] = 0  # pad some rows
    mask[-1, 3:] = 0
    types = rng.integers(0, type_vocab, size=(batch, seq)).astype(np.int64)
    return ids, mask, types


def _hf_hidden(model, ids, mask=None, types=None):
    t = (lambda a: None if a is None else torch.from_numpy(a))
    with torch.no_grad():
        out = model(input_ids=t(ids), attention_mask=t(mask), token_type_ids=t(types))
    return out.last_hidden_state.numpy(), out.pooler_output


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu"])
def test_bert_matches_transformers(tmp_path, act):
    hf = _save_tiny(tmp_path, hidden_act=act)
    model = BertModel.from_pretrained(tmp_path)
    assert model.config.hidden_act == act
    ids, mask, types = _inputs()
    ref, ref_pool = _hf_hidden(hf, ids, mask, types)
    got = model(ember.from_numpy(ids), attention_mask=ember.from_numpy(mask),
                token_type_ids=ember.from_numpy(types))
    assert tuple(got.shape) == ref.shape
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(model.pooler_output(got).numpy(), ref_pool.numpy(), atol=1e-4, rtol=1e-4)


def test_bert_defaults_and_input_kinds(tmp_path):
    hf = _save_tiny(tmp_path)
    model = BertModel.from_pretrained(str(tmp_path))
    ids, mask, _ = _inputs(batch=2, seq=7)
    ref, _ = _hf_hidden(hf, ids)  # no mask, token types 0
    np.testing.assert_allclose(model(ember.from_numpy(ids)).numpy(), ref, atol=1e-4, rtol=1e-4)
    ref, _ = _hf_hidden(hf, ids, mask)
    # numpy and bool masks, list ids, a 1-D sequence
    np.testing.assert_allclose(model(ids, attention_mask=mask.astype(bool)).numpy(), ref, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(model(ids.tolist(), attention_mask=ember.from_numpy(mask)).numpy(), ref,
                               atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(model(ember.from_numpy(ids[0])).numpy(), _hf_hidden(hf, ids[:1])[0],
                               atol=1e-4, rtol=1e-4)


def test_bert_forward_packed_matches_padded(tmp_path):
    from ember.models.bert import Packing

    _save_tiny(tmp_path)
    model = BertModel.from_pretrained(tmp_path)
    lengths = [5, 9, 1, 7]
    rng = np.random.default_rng(3)
    ids = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, 99, size=n)
        mask[i, :n] = 1
    padded = model(ids, attention_mask=mask).numpy()
    packing = Packing(lengths)
    packed = model.forward_packed(np.concatenate([ids[i, :n] for i, n in enumerate(lengths)]), packing).numpy()
    assert packed.shape == (sum(lengths), 32)
    np.testing.assert_allclose(packed, np.concatenate([padded[i, :n] for i, n in enumerate(lengths)]),
                               atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        model.forward_packed(np.zeros(3, dtype=np.int64), packing)
    with pytest.raises(ValueError, match="positive"):
        Packing([3, 0])


def test_bert_state_dict_names_and_refit(tmp_path):
    hf = _save_tiny(tmp_path)
    model = BertModel.from_pretrained(tmp_path)
    names = set(model.state_dict())
    assert "embeddings.word_embeddings.weight" in names
    assert "encoder.layer.0.attention.self.query.weight" in names
    assert "pooler.dense.weight" in names
    hf_names = {k for k in hf.state_dict() if not k.endswith("position_ids")}
    assert names == hf_names
    # loading new weights refreshes the fused query/key/value matrix
    torch.manual_seed(5)
    other = transformers.BertModel(_tiny_config()).eval()
    model.load_state_dict({k: ember.from_numpy(v.numpy().copy()) for k, v in other.state_dict().items()
                           if not k.endswith("position_ids")})
    ids, mask, types = _inputs()
    np.testing.assert_allclose(model(ids, mask, types).numpy(), _hf_hidden(other, ids, mask, types)[0],
                               atol=1e-4, rtol=1e-4)


def test_bert_prefixed_checkpoint_and_dtype(tmp_path):
    hf = _save_tiny(tmp_path, cls_name="BertForMaskedLM")
    model = BertModel.from_pretrained(tmp_path)
    assert model.pooler is None
    with pytest.raises(ValueError, match="no pooler"):
        model.pooler_output(ember.zeros(1, 2, 32))
    ids, mask, types = _inputs()
    with torch.no_grad():
        ref = hf.bert(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                      token_type_ids=torch.from_numpy(types)).last_hidden_state.numpy()
    np.testing.assert_allclose(model(ids, mask, types).numpy(), ref, atol=1e-4, rtol=1e-4)
    half = BertModel.from_pretrained(tmp_path, dtype=ember.float16)
    assert half.embeddings.word_embeddings.weight.dtype == ember.float16
    out = half(ids, mask, types)
    assert out.dtype == ember.float16
    np.testing.assert_allclose(out.float().numpy(), ref, atol=5e-2)


def test_bert_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        BertModel.from_pretrained(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="config.json"):
        BertModel.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="hidden_act"):
        BertConfig(hidden_act="mish")
    with pytest.raises(ValueError, match="multiple"):
        BertConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ValueError, match="model_type"):
        BertConfig.from_dict({"model_type": "roberta"})
    with pytest.raises(NotImplementedError, match="relative_key"):
        BertConfig(position_embedding_type="relative_key")
    _save_tiny(tmp_path)
    model = BertModel.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(np.zeros((1, 65), dtype=np.int64))
    with pytest.raises(ValueError, match="attention_mask"):
        model(np.zeros((2, 5), dtype=np.int64), attention_mask=np.zeros((2, 4), dtype=np.int64))
    state = dict(ember.io.load(tmp_path))
    del state["encoder.layer.1.output.dense.weight"]
    with pytest.raises(CheckpointMismatchError, match="encoder.layer.1.output.dense.weight"):
        BertModel.from_state_dict(model.config, state)


# ---------------------------------------------------------------------------------------------
# sentence embeddings on the real all-MiniLM-L6-v2

SENTENCES = [
    "Hello world",
    "a",
    "",
    "The quick brown fox jumps over the lazy dog.",
    "Ember is a minimalist machine-learning inference framework for Python with a C++ core.",
    "Paris is the capital of France.",
    "What is the capital of France?",
    "I love eating pizza on Friday evenings with my friends and family.",
    "Les modèles de langage sont entraînés sur de grandes quantités de texte.",
    "東京は日本の首都です。",
    "Emojis 🚀🔥 and punctuation!!! ... ??? work too.",
    "x " * 400,  # longer than max_seq_length (256): truncated
    "Short.",
    "Numbers like 3.14159, 2,718 and 1e-9 appear in scientific text.",
    "The mitochondria is the powerhouse of the cell, producing ATP through oxidative phosphorylation.",
    "UPPER CASE TEXT IS LOWERED BY THE TOKENIZER",
    "def f(x): return x * 2  # some code",
    "A sentence that goes on and on, " * 12,
    "Yes",
    "The weather today is sunny with a light breeze from the west.",
]


@pytest.fixture(scope="module")
def minilm():
    return minilm_dir()


@pytest.fixture(scope="module")
def st_model(minilm):
    st = pytest.importorskip("sentence_transformers")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    return st.SentenceTransformer(minilm, device="cpu")


@pytest.fixture(scope="module")
def embedder(minilm):
    return SentenceEmbedder.from_pretrained(minilm)


def _cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("batch_size", [1, 8])
def test_minilm_matches_sentence_transformers(embedder, st_model, batch_size):
    ref = st_model.encode(SENTENCES, batch_size=batch_size, convert_to_numpy=True)
    got = embedder.encode(SENTENCES, batch_size=batch_size)
    assert got.dtype == np.float32 and got.shape == (len(SENTENCES), 384) == ref.shape
    cos = _cosines(got, ref)
    assert cos.min() >= 0.9999, cos
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_minilm_encode_shapes(embedder):
    one = embedder.encode("Hello world")
    assert one.shape == (384,)
    np.testing.assert_allclose(one, embedder.encode(["Hello world", "other"])[0], atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)
    raw = embedder.encode(["Hello world", "Paris is the capital of France."], normalize=False)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    with pytest.raises(ValueError, match="batch_size"):
        embedder.encode(["a"], batch_size=0)


def _variant(tmp_path, minilm, pooling=None, modules=None, drop=()):
    """A copy of the all-MiniLM-L6-v2 directory (weights linked) with a changed pooling config or modules."""
    root = tmp_path / "model"
    shutil.copytree(minilm, root, symlinks=True, ignore=shutil.ignore_patterns("model.safetensors"))
    os.symlink(os.path.join(minilm, "model.safetensors"), root / "model.safetensors")
    if pooling is not None:
        (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if modules is not None:
        (root / "modules.json").write_text(json.dumps(modules))
    for name in drop:
        os.remove(root / name)
    return str(root)


_TRANSFORMER = {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}
_POOLING = {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}


@pytest.mark.parametrize("modes", [["cls"], ["max"], ["cls", "max", "mean"], ["mean_sqrt_len"]])
def test_pooling_modes_match_sentence_transformers(tmp_path, minilm, modes):
    st = pytest.importorskip("sentence_transformers")
    pooling = {"word_embedding_dimension": 384,
               "pooling_mode_cls_token": "cls" in modes,
               "pooling_mode_max_tokens": "max" in modes,
               "pooling_mode_mean_tokens": "mean" in modes,
               "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len" in modes}
    path = _variant(tmp_path, minilm, pooling=pooling, modules=[_TRANSFORMER, _POOLING])
    emb = SentenceEmbedder.from_pretrained(path)
    assert not emb.normalize and emb.dim == 384 * len(modes)
    sentences = SENTENCES[:8] + ["one two three", "four five six"]  # an equal-length pair: unpadded batch
    ref = st.SentenceTransformer(path, device="cpu").encode(sentences, batch_size=4)
    for batch_size in (1, 2, 4):
        got = emb.encode(sentences, batch_size=batch_size)
        assert got.shape == ref.shape
        assert _cosines(got, ref).min() >= 0.9999
        np.testing.assert_allclose(got, ref, atol=2e-4, rtol=1e-3)


def test_sentence_embedder_errors(tmp_path, minilm):
    bad = {"word_embedding_dimension": 384, "pooling_mode_weightedmean_tokens": True}
    with pytest.raises(ValueError, match="pooling mode 'weightedmean' .* not supported"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "a", minilm, pooling=bad))
    with pytest.raises(ValueError, match="pooling mode 'median' .* not supported"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "b", minilm, pooling={"pooling_mode": "median"}))
    with pytest.raises(ValueError, match="no pooling mode"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "c", minilm, pooling={"word_embedding_dimension": 384}))
    with pytest.raises(FileNotFoundError, match="modules.json"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "d", minilm, drop=["modules.json"]))
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "e", minilm, drop=["tokenizer.json"]))
    with pytest.raises(FileNotFoundError, match="config.json"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "f", minilm, drop=["config.json"]))
    with pytest.raises(FileNotFoundError, match="Pooling config"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "g", minilm, drop=["1_Pooling/config.json"]))
    dense = {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}
    with pytest.raises(NotImplementedError, match="Dense"):
        SentenceEmbedder.from_pretrained(_variant(tmp_path / "h", minilm, modules=[_TRANSFORMER, _POOLING, dense]))
    with pytest.raises(ValueError, match="not supported"):
        SentenceEmbedder(None, None, pooling_modes=["sum"])
