"""ember.models.llama against Hugging Face transformers: tiny random Llama / Mistral / Qwen2 / Qwen3
models (safetensors and GGUF written here), and the real SmolLM2-135M-Instruct Q4_1 GGUF."""

import os

import ember
import numpy as np
import pytest
from ember.models.llama import LlamaConfig, LlamaForCausalLM
from ember.nn.kv_cache import KVCache, sliding_window_mask
from ember.nn.rotary import RotaryEmbedding

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

VOCAB = 97
BASE = {"vocab_size": VOCAB, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-5}

CASES = {
    "llama_gqa": ("LlamaConfig", {}),
    "llama_tied_mha": ("LlamaConfig", {"num_key_value_heads": 4, "tie_word_embeddings": True}),
    "llama_bias": ("LlamaConfig", {"attention_bias": True, "mlp_bias": True}),
    "llama_linear": ("LlamaConfig", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
    # max_position_embeddings 16 < prompt + decode: the NTK base grows at every step, as in transformers
    "llama_dynamic": ("LlamaConfig", {"max_position_embeddings": 16,
                                      "rope_scaling": {"rope_type": "dynamic", "factor": 2.0}}),
    "llama3": ("LlamaConfig", {"rope_theta": 500000.0, "rope_scaling": {
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8}}),
    "llama_yarn": ("LlamaConfig", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                                                    "original_max_position_embeddings": 16}}),
    "mistral_window": ("MistralConfig", {"sliding_window": 5}),
    "qwen2_bias": ("Qwen2Config", {"tie_word_embeddings": True}),
    # layer 0 full attention, layer 1 a window of 4 (max_window_layers)
    "qwen2_window_layers": ("Qwen2Config", {"use_sliding_window": True, "sliding_window": 4, "max_window_layers": 1}),
    "qwen3_qknorm": ("Qwen3Config", {"head_dim": 24}),
}


def _hf_model(kind, overrides, seed=0):
    torch.manual_seed(seed)
    cfg = getattr(transformers, kind)(**{**BASE, **overrides})
    cfg._attn_implementation = "eager"
    model_cls = {"LlamaConfig": transformers.LlamaForCausalLM, "MistralConfig": transformers.MistralForCausalLM,
                 "Qwen2Config": transformers.Qwen2ForCausalLM, "Qwen3Config": transformers.Qwen3ForCausalLM}[kind]
    model = model_cls(cfg).eval()
    with torch.no_grad():  # norms are ones at init: make them matter
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
            elif name.endswith("bias"):
                p.normal_(0, 0.1)
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> (hf model, directory written with save_pretrained)."""
    out = {}
    for name, (kind, overrides) in CASES.items():
        hf = _hf_model(kind, overrides)
        d = tmp_path_factory.mktemp(name)
        hf.save_pretrained(d, safe_serialization=True)
        out[name] = (hf, str(d))
    return out


def _ids(batch, seq, seed=1):
    return np.random.default_rng(seed).integers(0, VOCAB, size=(batch, seq)).astype(np.int64)


def _hf_logits(hf, ids, past=None):
    with torch.no_grad():
        if past is None:
            out = hf(torch.from_numpy(ids), use_cache=True)
        else:
            out = hf(torch.from_numpy(ids), **{_CACHE_KW: past}, use_cache=True)
    return out.logits.float().numpy(), out[_CACHE_KW]


# transformers >= 5.2x calls the cache argument and output `cache`; older versions `past_key_values`
_CACHE_KW = "cache" if "cache" in transformers.LlamaForCausalLM.forward.__code__.co_varnames else "past_key_values"


def _run(model, ids, start_pos=0, last_only=False):
    return model(ember.tensor(ids), start_pos=start_pos, last_only=last_only).numpy()


@pytest.mark.parametrize("name", list(CASES))
def test_prompt_and_decode_match_transformers(saved, name):
    hf, path = saved[name]
    model = LlamaForCausalLM.from_pretrained(path)
    assert model.dtype == ember.float32
    prompt = _ids(1, 12)
    ref, past = _hf_logits(hf, prompt)
    out = _run(model, prompt)
    assert out.shape == (1, 12, VOCAB) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)
    # cached decode: one token per step
    pos = 12
    for step in range(6):
        nxt = np.array([[int(ref[0, -1].argmax()) if step == 0 else (7 * step) % VOCAB]])
        ref, past = _hf_logits(hf, nxt, past)
        out = _run(model, nxt, start_pos=pos)
        np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0, err_msg=f"decode step {step}")
        pos += 1
    # last_only gives the last row of the full result
    last = _run(model, _ids(1, 3, seed=5), start_pos=pos, last_only=True)
    assert last.shape == (1, 1, VOCAB)


@pytest.mark.parametrize("name", ["llama_gqa", "mistral_window", "qwen2_window_layers", "qwen3_qknorm",
                                  "llama_dynamic"])
def test_chunked_prompt_equals_one_forward(saved, name):
    _, path = saved[name]
    model = LlamaForCausalLM.from_pretrained(path)
    prompt = _ids(1, 14, seed=3)
    full = _run(model, prompt)
    model.reset()
    a = _run(model, prompt[:, :6])
    b = _run(model, prompt[:, 6:11], start_pos=6)
    c = _run(model, prompt[:, 11:], start_pos=11)
    np.testing.assert_allclose(np.concatenate([a, b, c], 1), full, atol=1e-5, rtol=0)


def test_batch_of_two(saved):
    hf, path = saved["mistral_window"]
    model = LlamaForCausalLM.from_pretrained(path)
    prompt = _ids(2, 9, seed=4)
    ref, past = _hf_logits(hf, prompt)
    np.testing.assert_allclose(_run(model, prompt), ref, atol=1e-4, rtol=0)
    nxt = np.array([[3], [5]])
    ref, _ = _hf_logits(hf, nxt, past)
    np.testing.assert_allclose(_run(model, nxt, start_pos=9), ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_16bit_checkpoint_keeps_its_dtype(saved, tmp_path, dtype):
    hf, _ = saved["llama_gqa"]
    hf16 = _hf_model("LlamaConfig", {}).to(getattr(torch, dtype))
    hf16.save_pretrained(tmp_path, safe_serialization=True)
    model = LlamaForCausalLM.from_pretrained(str(tmp_path))
    assert model.dtype == getattr(ember, dtype)
    prompt = _ids(1, 10)
    out = _run(model, prompt)
    assert out.dtype == np.float32
    ref, _ = _hf_logits(hf, prompt)  # the float32 model the 16-bit one was rounded from
    assert np.abs(out - ref).max() < 0.1
    f32 = LlamaForCausalLM.from_pretrained(str(tmp_path), dtype=ember.float32)
    assert f32.dtype == ember.float32 and np.abs(_run(f32, prompt) - ref).max() < 0.1


# ---- GGUF -------------------------------------------------------------------------------------


def _llama_cpp_permute(w, n_head):
    """What llama.cpp's convert_hf_to_gguf.py does to q / k rows (for its interleaved rope)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _write_gguf(hf, path, arch="llama", qtype=None):
    c = hf.config
    sd = {k: v.detach().float().numpy() for k, v in hf.state_dict().items()}
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads

    def weight(a, gguf_name=""):
        t = ember.tensor(np.ascontiguousarray(a, dtype=np.float32))
        if not qtype or a.ndim != 2:
            return t
        if qtype == "f16":
            return t.to(ember.float16)
        if qtype == "mixed":  # as Q4_K_M files do: some v projections in a wider type than q and k
            return ember.quantize(t, "q8_0" if "attn_v" in gguf_name else "q4_0")
        return ember.quantize(t, qtype)

    tensors = {"token_embd.weight": weight(sd["model.embed_tokens.weight"])}
    names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
             "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm", "mlp.gate_proj": "ffn_gate",
             "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for i in range(c.num_hidden_layers):
        for hf_name, g in names.items():
            for kind in ("weight", "bias"):
                a = sd.get(f"model.layers.{i}.{hf_name}.{kind}")
                if a is None:
                    continue
                if arch == "llama" and kind == "weight" and hf_name in ("self_attn.q_proj", "self_attn.k_proj"):
                    a = _llama_cpp_permute(a, c.num_attention_heads if "q_proj" in hf_name else c.num_key_value_heads)
                tensors[f"blk.{i}.{g}.{kind}"] = weight(a, g)
    tensors["output_norm.weight"] = weight(sd["model.norm.weight"])
    if not c.tie_word_embeddings:
        tensors["output.weight"] = weight(sd["lm_head.weight"])
    meta = {
        "general.architecture": arch,
        f"{arch}.block_count": c.num_hidden_layers,
        f"{arch}.context_length": c.max_position_embeddings,
        f"{arch}.embedding_length": c.hidden_size,
        f"{arch}.feed_forward_length": c.intermediate_size,
        f"{arch}.attention.head_count": c.num_attention_heads,
        f"{arch}.attention.head_count_kv": c.num_key_value_heads,
        f"{arch}.rope.freq_base": float(c.rope_parameters["rope_theta"]),
        f"{arch}.attention.layer_norm_rms_epsilon": float(c.rms_norm_eps),
        f"{arch}.vocab_size": c.vocab_size,
        f"{arch}.rope.dimension_count": head_dim,
        f"{arch}.attention.key_length": head_dim,
        f"{arch}.attention.value_length": head_dim,
    }
    ember.io.save_gguf(path, tensors, meta)
    return path


def _cosines(a, b):
    a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


@pytest.mark.parametrize("name,arch", [("llama_gqa", "llama"), ("llama_tied_mha", "llama"),
                                       ("qwen2_bias", "qwen2"), ("qwen3_qknorm", "qwen3")])
def test_gguf_f32_matches_transformers(saved, tmp_path, name, arch):
    hf, _ = saved[name]
    path = _write_gguf(hf, str(tmp_path / "m.gguf"), arch)
    model = LlamaForCausalLM.from_gguf(path)
    assert model.config.model_type == arch
    assert model.config.tie_word_embeddings == hf.config.tie_word_embeddings
    prompt = _ids(1, 11)
    ref, past = _hf_logits(hf, prompt)
    np.testing.assert_allclose(_run(model, prompt), ref, atol=1e-4, rtol=0)
    ref, _ = _hf_logits(hf, np.array([[4]]), past)
    np.testing.assert_allclose(_run(model, np.array([[4]]), start_pos=11), ref, atol=1e-4, rtol=0)


def _hf_from_gguf(path):
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")
    return transformers.AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path), dtype=torch.float32).eval()


@pytest.mark.parametrize("qtype", [None, "f16", "q8_0", "q4_0", "mixed"])
def test_gguf_quantized_matches_transformers_gguf_loader(saved, tmp_path, qtype):
    """transformers reads the same file (dequantizing it, undoing llama.cpp's q/k permutation)."""
    hf, _ = saved["llama_gqa"]
    path = _write_gguf(hf, str(tmp_path / "m.gguf"), "llama", qtype)
    model = LlamaForCausalLM.from_gguf(path)
    attn = model.model.layers[0].self_attn
    if qtype == "mixed":  # q4_0 q and k, q8_0 v: three matmuls, nothing dequantized
        assert [p.weight.qtype for p in attn.qkv_proj.parts] == ["q4_0", "q4_0", "q8_0"]
    elif qtype:
        assert isinstance(attn.qkv_proj.weight, ember.QTensor) and attn.qkv_proj.weight.qtype == qtype
    if qtype not in (None, "f16"):
        assert isinstance(model.model.embed_tokens.weight, ember.QTensor)
    prompt = _ids(1, 16)
    ref, _ = _hf_logits(_hf_from_gguf(path), prompt)
    out = _run(model, prompt)
    if qtype is None:
        np.testing.assert_allclose(out, ref, atol=1e-4, rtol=0)
    else:  # only ember's 8-bit rounding of the activations differs
        assert _cosines(out, ref).min() >= 0.999
    if qtype == "q8_0":  # and 8-bit weights stay close to the float32 model they came from
        assert _cosines(out, _hf_logits(hf, prompt)[0]).min() >= 0.99


def test_gguf_qkv_unpermuted_by_rows(saved, tmp_path):
    """The fused qkv weight of a quantized llama GGUF holds HF's row order (block rows gathered)."""
    hf, _ = saved["llama_gqa"]
    path = _write_gguf(hf, str(tmp_path / "m.gguf"), "llama", "q8_0")
    model = LlamaForCausalLM.from_gguf(path)
    sd = hf.state_dict()
    w = np.concatenate([sd[f"model.layers.1.self_attn.{n}_proj.weight"].numpy() for n in "qkv"])
    got = model.model.layers[1].self_attn.qkv_proj.weight.dequantize(ember.float32).numpy()
    assert np.abs(got - w).max() < 0.02


# ---- the real SmolLM2-135M-Instruct Q4_1 ------------------------------------------------------

# "<|im_start|>system ... <|im_start|>user\nWhat is the capital of France? ..." (SmolLM2's chat template)
SMOLLM2_IDS = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712,
               8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 19842, 281, 582, 1890, 6330, 5361,
               30, 2, 198, 1, 520, 9531, 198]


def test_smollm2_q4_1_matches_transformers():
    from io_testing import smollm2_gguf_path

    path = smollm2_gguf_path()
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")
    model = LlamaForCausalLM.from_gguf(path)
    c = model.config
    assert (c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.num_key_value_heads) == (30, 576, 9, 3)
    assert c.tie_word_embeddings and model.max_cache_len == 8192
    hf = transformers.AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                           dtype=torch.float32).eval()
    ids = np.array([SMOLLM2_IDS])
    ref, _ = _hf_logits(hf, ids)
    out = _run(model, ids)
    cos = _cosines(out, ref)
    agree = (out.argmax(-1) == ref.argmax(-1)).mean()
    # a 44-token prompt multiplies the dequantized weights in f32 (qmatmul's batched path), as
    # transformers does; the decode steps below round activations to 8 bits, as llama.cpp does.
    assert cos.min() >= 0.999, (cos.min(), cos.mean())
    assert agree >= 0.9
    # with the weights dequantized (float32 matmuls) the two implementations agree to float precision
    for module in model.modules():
        for key, value in list(module._parameters.items()):
            if isinstance(value, ember.QTensor):
                module._parameters[key] = value.dequantize(ember.float32)
    model._plan = None
    model.reset()
    exact = _run(model, ids)
    assert _cosines(exact, ref).min() >= 0.9999
    # cached decode continues the prompt consistently
    model.reset()
    _run(model, ids[:, :30])
    np.testing.assert_allclose(_run(model, ids[:, 30:], start_pos=30), exact[:, 30:], atol=2e-3, rtol=0)


# ---- building blocks and errors ---------------------------------------------------------------


def test_kv_cache_views_and_window():
    cache = KVCache(1, 2, 16, 4)
    k = ember.tensor(np.arange(1 * 2 * 5 * 4, dtype=np.float32).reshape(1, 2, 5, 4))
    keys, _values = cache.update(k, k * 2, 0)
    assert keys.shape == (1, 2, 5, 4) and np.array_equal(keys.numpy(), k.numpy())
    keys, _ = cache.update(k.narrow(2, 0, 1), k.narrow(2, 0, 1), 5)
    assert keys.shape == (1, 2, 6, 4) and cache.length == 6
    with pytest.raises(ValueError, match="gap"):
        cache.update(k, k, 8)
    with pytest.raises(ValueError, match="do not fit"):
        KVCache(1, 2, 4, 4).update(k, k, 0)
    win = KVCache(1, 2, 16, 4, sliding_window=3)
    win.update(k, k, 0)
    keys, _ = win.update(k.narrow(2, 0, 1), k.narrow(2, 0, 1), 5)
    assert keys.shape == (1, 2, 3, 4)  # positions 3, 4, 5
    mask = sliding_window_mask(4, 3, 3).numpy()  # queries 4..6 over keys 2..6
    assert mask.tolist() == [[True, True, True, True, True], [False, True, True, True, True],
                             [False, False, True, True, True]]
    assert sliding_window_mask(0, 3, 3) is None and sliding_window_mask(9, 1, 3) is None
    cache.reset()
    assert cache.length == 0


def test_rotary_matches_transformers_tables():
    rope = RotaryEmbedding(16, 32, rope_theta=10000.0)
    cos, sin = rope.cos_sin(3, 4)
    inv = 1.0 / (10000.0 ** (np.arange(0, 16, 2) / 16))
    ang = np.arange(3, 7)[:, None] * inv[None]
    np.testing.assert_allclose(cos.numpy(), np.cos(ang), atol=1e-6)
    np.testing.assert_allclose(sin.numpy(), np.sin(ang), atol=1e-6)
    with pytest.raises(ValueError, match="unsupported"):
        RotaryEmbedding(16, 32, rope_scaling={"rope_type": "su"})
    with pytest.raises(ValueError, match="max_len"):
        rope.cos_sin(30, 4)
    # partial rotary: the last features pass through
    part = RotaryEmbedding(16, 32, partial_rotary_factor=0.5)
    x = ember.randn(1, 3, 2, 16)
    y = part.rotate(x, 2)
    np.testing.assert_array_equal(y.numpy()[..., 8:], x.numpy()[..., 8:])


def test_errors(saved, tmp_path):
    _, path = saved["llama_gqa"]
    model = LlamaForCausalLM.from_pretrained(path, max_cache_len=16)
    assert model.max_cache_len == 16
    with pytest.raises(ValueError, match="max_cache_len"):
        _run(model, _ids(1, 17))
    _run(model, _ids(1, 10))
    with pytest.raises(ValueError, match="max_cache_len"):
        _run(model, _ids(1, 7), start_pos=10)
    with pytest.raises(ValueError, match="out of range"):
        _run(model, _ids(1, 2), start_pos=11)
    with pytest.raises(ValueError, match="int64 or int32"):
        model(ember.tensor(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match=r"\(batch, seq\)"):
        model(ember.tensor(np.zeros(3, np.int64)))
    with pytest.raises(ValueError, match=r"\(batch, seq\)"):
        model(ember.tensor(np.zeros((1, 0), np.int64)))
    with pytest.raises(ValueError, match="model_type 'gpt2'"):
        LlamaConfig.from_dict({"model_type": "gpt2"})
    with pytest.raises(ValueError, match="architecture 'gpt2'"):
        LlamaConfig.from_gguf_metadata({"general.architecture": "gpt2"})
    gguf = str(tmp_path / "bad.gguf")
    ember.io.save_gguf(gguf, {"x": ember.zeros(2)}, {"general.architecture": "falcon"})
    with pytest.raises(ValueError, match="falcon"):
        LlamaForCausalLM.from_gguf(gguf)
    # int32 ids work too
    model.reset()
    out = model(ember.tensor(_ids(1, 4).astype(np.int32))).numpy()
    assert out.shape == (1, 4, VOCAB)
