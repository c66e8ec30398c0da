"""The `ember` command line, run as `python -m ember` in a subprocess (the ember that pytest imports:
installed in CI; in a source checkout, put python/ on PYTHONPATH yourself).

inspect and quantize are checked on files made here, on the real SmolLM2 GGUF, and with gguf-py's
reader; generate and embed on a tiny random llama (against transformers' greedy output) and on the
real small models."""

import json
import os
import subprocess
import sys

import ember
import ember.io
import numpy as np
import pytest
from io_testing import minilm_dir, smollm2_gguf_path


def run(*args, stdin=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "ember", *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=timeout, check=False)


def assert_error(r, *words, code=1):
    """One line `ember: error: ...` on stderr, no traceback, a non-zero exit."""
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ember: error: "), r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


# ---------------------------------------------------------------------------------------------
# a tiny random llama checkpoint with a byte-level BPE tokenizer


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    root = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    # hidden 256 and intermediate 512 are multiples of the 256-element k-quant blocks
    config = transformers.LlamaConfig(vocab_size=300, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(root, safe_serialization=True)

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["The quick brown fox jumps over the lazy dog.", "Hello world, a tiny tokenizer."] * 20,
                            trainer)
    tok.save(str(root / "tokenizer.json"))
    (root / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": False, "eos_token": "<|im_end|>"}))
    return root, model, tok


def _rel_rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b ** 2)))


def _hf_weights(root):
    with ember.io.SafetensorsFile(root / "model.safetensors") as f:
        return {k: f.get(k).numpy().copy() for k in f}


def _interleave_halves(w, n_head):
    """HF q/k rows -> llama.cpp's: within each head, row i of the first half and row i of the second
    half become rows 2i and 2i + 1 (written independently of ember.cli.rope_permute)."""
    out = np.empty_like(w)
    d = w.shape[0] // n_head
    for h in range(n_head):
        for i in range(d // 2):
            out[h * d + 2 * i] = w[h * d + i]
            out[h * d + 2 * i + 1] = w[h * d + d // 2 + i]
    return out


GGUF_NAMES = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
              "lm_head.weight": "output.weight"}
LAYER_NAMES = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
               "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
               "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
               "mlp.down_proj": "ffn_down"}


def _expected_name(hf):
    if hf in GGUF_NAMES:
        return GGUF_NAMES[hf]
    _, _, layer, rest = hf.split(".", 3)
    base, _, suffix = rest.rpartition(".")
    return f"blk.{layer}.{LAYER_NAMES[base]}.{suffix}"


# ---------------------------------------------------------------------------------------------
# help, version, argument errors


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("generate", "embed", "inspect", "quantize"):
        assert cmd in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"ember {ember.__version__}"
    for cmd in ("generate", "embed", "inspect", "quantize"):
        assert run(cmd, "--help").returncode == 0


def test_bad_arguments_one_line():
    assert_error(run("frobnicate"), "invalid choice", code=2)
    assert_error(run("generate", "-n", "many"), "invalid int value", code=2)
    assert_error(run("inspect"), "required", code=2)


# ---------------------------------------------------------------------------------------------
# inspect


def test_inspect_safetensors(tmp_path):
    path = tmp_path / "w.safetensors"
    ember.io.save_safetensors({"a.weight": ember.from_numpy(np.zeros((3, 4), np.float32)),
                               "b.bias": ember.from_numpy(np.zeros(5, np.float16))}, path, metadata={"format": "pt"})
    r = run("inspect", path)
    assert r.returncode == 0, r.stderr
    assert "safetensors, 2 tensors" in r.stdout
    assert "format = 'pt'" in r.stdout
    rows = {line.split()[0]: line.split(None, 1)[1] for line in r.stdout.splitlines() if line.startswith(("  a.", "  b."))}
    assert rows["a.weight"].split()[0] == "float32" and "(3, 4)" in rows["a.weight"]
    assert rows["a.weight"].split()[-1] == "48"
    assert rows["b.bias"].split()[0] == "float16" and "(5,)" in rows["b.bias"] and rows["b.bias"].split()[-1] == "10"


def test_inspect_npz(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, x=np.ones((2, 3), np.float64), idx=np.arange(4, dtype=np.int64))
    r = run("inspect", path)
    assert r.returncode == 0, r.stderr
    assert "npz, 2 tensors" in r.stdout
    lines = {line.split()[0]: line.split() for line in r.stdout.splitlines() if line.startswith("  ")}
    assert lines["x"][1] == "float64" and lines["x"][-1] == "48"
    assert lines["idx"][1] == "int64" and lines["idx"][-1] == "32"


def test_inspect_gguf_quantized(tmp_path):
    path = tmp_path / "q.gguf"
    w = ember.from_numpy(np.random.default_rng(0).standard_normal((8, 256)).astype(np.float32))
    ember.io.save_gguf(str(path), {"w": ember.quantize(w, "q4_k"), "n": ember.from_numpy(np.ones(8, np.float32))},
                       {"general.architecture": "test", "big": list(range(1000)), "text": "x" * 500})
    r = run("inspect", path)
    assert r.returncode == 0, r.stderr
    assert "gguf, 2 tensors" in r.stdout
    assert "general.architecture = 'test'" in r.stdout
    assert "big = [1000 items: 0, 1, 2, 3, ...]" in r.stdout
    assert "(500 chars)" in r.stdout
    row = next(line.split() for line in r.stdout.splitlines() if line.startswith("  w "))
    assert row[1] == "q4_k" and row[-1] == str(8 * 144)


def test_inspect_smollm2():
    r = run("inspect", smollm2_gguf_path())
    assert r.returncode == 0, r.stderr
    assert "gguf, 272 tensors" in r.stdout
    assert "llama.block_count = 30" in r.stdout
    assert "tokenizer.ggml.tokens = [49152 items: '<|endoftext|>', '<|im_start|>'" in r.stdout
    row = next(line.split() for line in r.stdout.splitlines() if line.startswith("  token_embd.weight"))
    assert row[1] == "q8_0" and " ".join(row[2:4]) == "(49152, 576)"
    assert len(r.stdout.splitlines()) < 400  # long arrays are summarised


def test_inspect_errors(tmp_path):
    assert_error(run("inspect", tmp_path / "missing.gguf"), "missing.gguf", "no such file")
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, not weights\n")
    assert_error(run("inspect", bad), "notes.txt")
    trunc = tmp_path / "trunc.gguf"
    trunc.write_bytes(b"GGUF\x03\x00\x00\x00\x05")
    assert_error(run("inspect", trunc), "trunc.gguf")
    r = run("inspect", tmp_path / "missing.gguf", "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr


# ---------------------------------------------------------------------------------------------
# quantize


@pytest.mark.parametrize("qtype,tol", [("q4_k", 0.12), ("q4_0", 0.12), ("q8_0", 0.01)])
def test_quantize_llama(tiny_llama, tmp_path, qtype, tol):
    root, model, tok = tiny_llama
    out = tmp_path / f"tiny-{qtype}.gguf"
    r = run("quantize", root, out, "--type", qtype)
    assert r.returncode == 0, r.stderr
    assert f"{qtype}" in r.stdout and "llama" in r.stdout and "tokenizer embedded" in r.stdout
    assert "not quantized (5" in r.stdout  # the five norms

    tensors, meta = ember.io.load_gguf(str(out))
    hf = _hf_weights(root)
    assert set(tensors) == {_expected_name(k) for k in hf}
    names = list(tensors)
    assert names[0] == "token_embd.weight" and names[-2:] == ["output_norm.weight", "output.weight"]
    cfg = model.config
    for hf_name, w in hf.items():
        t = tensors[_expected_name(hf_name)]
        if "q_proj" in hf_name:
            w = _interleave_halves(w, cfg.num_attention_heads)
        elif "k_proj" in hf_name:
            w = _interleave_halves(w, cfg.num_key_value_heads)
        if w.ndim == 1:
            assert isinstance(t, ember.Tensor) and str(t.dtype) == "ember.float32"
            np.testing.assert_array_equal(t.numpy(), w)
        else:
            assert isinstance(t, ember.QTensor) and t.qtype == qtype, hf_name
            assert _rel_rmse(t.dequantize().numpy(), w) < tol, hf_name

    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == 2 and meta["llama.embedding_length"] == 256
    assert meta["llama.attention.head_count"] == 4 and meta["llama.attention.head_count_kv"] == 2
    assert meta["llama.feed_forward_length"] == 512 and meta["llama.context_length"] == 256
    assert meta["llama.rope.dimension_count"] == 64 and meta["llama.vocab_size"] == 300
    assert meta["tokenizer.ggml.model"] == "gpt2"
    vocab = tok.get_vocab()
    assert meta["tokenizer.ggml.tokens"] == sorted(vocab, key=vocab.get)
    assert meta["tokenizer.ggml.token_type"][:4] == [3, 3, 3, 1]

    gguf = pytest.importorskip("gguf")
    reader = gguf.GGUFReader(str(out))
    assert [t.name for t in reader.tensors] == names
    by_name = {t.name: t for t in reader.tensors}
    assert by_name["blk.0.ffn_down.weight"].tensor_type.name == qtype.upper()
    assert list(by_name["blk.0.ffn_down.weight"].shape) == [512, 256]  # gguf-py: ne, innermost first
    field = reader.fields["llama.block_count"]
    assert field.types == [gguf.GGUFValueType.UINT32]  # llama.cpp checks the key types
    assert reader.fields["llama.rope.freq_base"].types == [gguf.GGUFValueType.FLOAT32]


def test_quantize_f32_permutation_exact(tiny_llama, tmp_path):
    root, _, _ = tiny_llama
    out = tmp_path / "tiny-f32.gguf"
    assert run("quantize", root, out, "--type", "f32").returncode == 0
    tensors, _ = ember.io.load_gguf(str(out))
    hf = _hf_weights(root)
    q = tensors["blk.1.attn_q.weight"].numpy()
    k = tensors["blk.1.attn_k.weight"].numpy()
    np.testing.assert_array_equal(q, _interleave_halves(hf["model.layers.1.self_attn.q_proj.weight"], 4))
    np.testing.assert_array_equal(k, _interleave_halves(hf["model.layers.1.self_attn.k_proj.weight"], 2))
    np.testing.assert_array_equal(tensors["blk.1.attn_v.weight"].numpy(), hf["model.layers.1.self_attn.v_proj.weight"])


def test_quantize_generic_checkpoint(tmp_path):
    rng = np.random.default_rng(1)
    src = tmp_path / "w.safetensors"
    ember.io.save_safetensors({"enc.weight": ember.from_numpy(rng.standard_normal((4, 64)).astype(np.float32)),
                               "enc.odd": ember.from_numpy(rng.standard_normal((4, 48)).astype(np.float32)),
                               "enc.bias": ember.from_numpy(rng.standard_normal(4).astype(np.float32)),
                               "ids": ember.from_numpy(np.arange(3, dtype=np.int64))}, src)
    out = tmp_path / "w.gguf"
    r = run("quantize", src, out, "--type", "q8_0")
    assert r.returncode == 0, r.stderr
    tensors, meta = ember.io.load_gguf(str(out))
    assert meta["general.architecture"] == "unknown"
    assert tensors["enc.weight"].qtype == "q8_0"
    assert str(tensors["enc.odd"].dtype) == "ember.float16"  # 48 is not a multiple of 32
    assert str(tensors["enc.bias"].dtype) == "ember.float32"
    np.testing.assert_array_equal(tensors["ids"].numpy(), np.arange(3))
    assert "enc.odd" in r.stdout


def test_quantize_errors(tiny_llama, tmp_path):
    root, _, _ = tiny_llama
    assert_error(run("quantize", root, tmp_path / "o.gguf", "--type", "q9_z"), "q9_z")
    assert_error(run("quantize", tmp_path / "nothere", tmp_path / "o.gguf"), "nothere", "no such file")
    assert_error(run("quantize", smollm2_gguf_path(), tmp_path / "o.gguf"), "not a safetensors")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_error(run("quantize", empty, tmp_path / "o.gguf"), "no *.safetensors")
    assert not (tmp_path / "o.gguf").exists()


# ---------------------------------------------------------------------------------------------
# generate (needs ember.models.llama, ember.tokenizer, ember.generation)


def test_generate_tiny_matches_transformers(tiny_llama, tmp_path):
    """Greedy text of the f32 GGUF made by `ember quantize` equals transformers' greedy text."""
    torch = pytest.importorskip("torch")
    root, model, tok = tiny_llama
    out = tmp_path / "tiny-f32.gguf"
    assert run("quantize", root, out, "--type", "f32").returncode == 0
    prompt = "The quick brown fox"
    r = run("generate", "--model", out, "--prompt", prompt, "-n", 8, "--temperature", 0, "--no-chat")
    assert r.returncode == 0, r.stderr
    ids = tok.encode(prompt).ids
    with torch.no_grad():
        ref = model.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False, eos_token_id=2,
                             pad_token_id=2)[0, len(ids):].tolist()
    if 2 in ref:
        ref = ref[:ref.index(2)]
    assert r.stdout.rstrip("\n") == tok.decode(ref, skip_special_tokens=True)
    assert "tokens/s" in r.stderr


def test_generate_smollm2_default_model():
    smollm2_gguf_path()
    r = run("generate", "--prompt", "What is the capital of France?", "-n", 8, "--temperature", 0, "--threads", 2)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    assert "prompt:" in r.stderr and "tokens/s" in r.stderr
    r2 = run("generate", "--prompt", "What is the capital of France?", "-n", 8, "--temperature", 0, "-q")
    assert r2.returncode == 0 and r2.stdout == r.stdout and r2.stderr == ""


def test_generate_errors(tiny_llama, tmp_path):
    assert_error(run("generate", "--model", tmp_path / "missing.gguf", "-n", 1), "missing.gguf")
    txt = tmp_path / "model.txt"
    txt.write_text("not a model")
    assert_error(run("generate", "--model", txt, "-n", 1), "not a GGUF file")
    alien = tmp_path / "alien.gguf"
    ember.io.save_gguf(str(alien), {"w": ember.from_numpy(np.ones(4, np.float32))},
                       {"general.architecture": "alien9000"})
    assert_error(run("generate", "--model", alien, "-n", 1), "alien9000")
    # a tokenizer whose vocabulary is larger than the model's
    root, _, _ = tiny_llama
    out = tmp_path / "tiny.gguf"
    assert run("quantize", root, out, "--type", "q8_0").returncode == 0
    assert_error(run("generate", "--model", out, "--tokenizer", minilm_dir(), "-n", 1), "tokenizer")


# ---------------------------------------------------------------------------------------------
# embed (needs ember.models.bert)


def test_embed_minilm():
    minilm_dir()
    texts = ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today."]
    r = run("embed", *texts)
    assert r.returncode == 0, r.stderr
    rows = np.array([[float(x) for x in line.split()] for line in r.stdout.splitlines()])
    assert rows.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.2
    r = run("embed", "--json", stdin="\n".join(texts) + "\n")
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose(np.array(json.loads(r.stdout)), rows, atol=2e-6)


def test_embed_errors(tmp_path):
    assert_error(run("embed", "--model", tmp_path / "nothere", "hi"), "nothere")
    assert_error(run("embed", "--model", smollm2_gguf_path(), "hi"), "not a file")
    assert_error(run("embed", stdin=""), "no text")


if __name__ == "__main__":
    sys.exit(pytest.main([os.path.abspath(__file__), "-q"]))
