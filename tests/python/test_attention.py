"""ember.nn.functional.scaled_dot_product_attention against torch's (CPU, float64 on the same rounded
inputs). ember's is_causal aligns the last query with the last key, so torch gets that mask explicitly;
rows where every key is masked are zeros (as torch 2.13 gives on CPU)."""

import math
import os

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from conftest import NP_DTYPE, assert_close, assert_no_crash, rng_for, run_isolated, to_ember, to_numpy

DTYPES = ["float32", "float16", "bfloat16", "float64"]


def ember_input(rng, shape, dtype, layout="contig"):
    """(ember tensor, float64 torch tensor of the same values). layout 'bshd': a (B, S, H, D) array
    viewed as (B, H, S, D); 'dlast': head dim not contiguous."""
    if layout == "bshd":
        base = rng.standard_normal((shape[0], shape[2], shape[1], shape[3])).astype(NP_DTYPE[dtype])
        t = to_ember(base, dtype).transpose(1, 2)
        a = base.transpose(0, 2, 1, 3)
    elif layout == "dlast":
        base = rng.standard_normal(shape[:-2] + (shape[-1], shape[-2])).astype(NP_DTYPE[dtype])
        t = to_ember(base, dtype).transpose(-1, -2)
        a = np.swapaxes(base, -1, -2)
    else:
        a = rng.standard_normal(shape).astype(NP_DTYPE[dtype])
        t = to_ember(a, dtype)
    assert t.shape == tuple(shape)
    return t, torch.from_numpy(a.astype(np.float64))


def causal_keep(q_len, kv_len):
    """Bottom-right causal mask: query i sees keys 0 .. i + kv_len - q_len."""
    return torch.ones(q_len, kv_len, dtype=torch.bool).tril(kv_len - q_len)


def reference(q, k, v, mask=None, causal=False, scale=None):
    """torch's SDPA in float64 with the causal mask given explicitly and GQA expanded."""
    group = q.shape[-3] // k.shape[-3]
    k = k.repeat_interleave(group, dim=-3)
    v = v.repeat_interleave(group, dim=-3)
    if causal:
        keep = causal_keep(q.shape[-2], k.shape[-2])
        if mask is None:
            mask = keep
        elif mask.dtype == torch.bool:
            mask = mask & keep
        else:
            mask = mask.masked_fill(~keep, -math.inf)
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)


def tolerance(v, dtype):
    vmax = float(v.abs().max()) if v.numel() else 1.0
    if dtype == "float32":
        return dict(rtol=1e-5, atol=1e-6 * vmax)
    if dtype == "float64":
        return dict(rtol=1e-12, atol=1e-13 * vmax)
    return dict(ulps=1, atol=1e-5 * vmax)


def check(out, ref, v, dtype):
    assert_close(out, ref.numpy(), dtype, **tolerance(v, dtype))


# (batch, heads, kv_heads, q_len, kv_len, head_dim, v_head_dim)
SHAPES = [
    (1, 1, 1, 1, 1, 1, 1),
    (2, 3, 3, 5, 7, 3, 3),
    (1, 4, 2, 1, 13, 64, 64),
    (1, 32, 8, 1, 257, 64, 64),
    (1, 6, 2, 7, 40, 80, 80),
    (2, 4, 1, 13, 13, 128, 128),
    (1, 2, 2, 31, 97, 1, 5),
    (1, 2, 1, 67, 131, 16, 24),
    (1, 1, 1, 1, 4099, 64, 64),
    (3, 8, 8, 1, 1031, 128, 128),
    (1, 4, 4, 130, 130, 64, 64),
]


def shape_id(s):
    return "b{}h{}kv{}q{}k{}e{}ev{}".format(*s)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_against_torch(shape, dtype, causal):
    B, H, Hk, L, S, E, Ev = shape
    rng = rng_for("sdpa", shape, dtype, causal)
    q, tq = ember_input(rng, (B, H, L, E), dtype)
    k, tk = ember_input(rng, (B, Hk, S, E), dtype)
    v, tv = ember_input(rng, (B, Hk, S, Ev), dtype)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert out.shape == (B, H, L, Ev) and out.dtype.name == dtype
    check(out, reference(tq, tk, tv, causal=causal), tv, dtype)


@pytest.mark.parametrize("threads_n", [1, 2])
@pytest.mark.parametrize("shape", [(1, 4, 1, 1, 2053, 64, 64), (1, 1, 1, 3, 1500, 32, 32), (2, 2, 2, 1, 700, 8, 8)])
def test_key_splits_any_thread_count(shape, threads_n, threads):
    # few (batch, kv head) pairs and many keys: the keys are split across threads and merged
    ember.set_num_threads(threads_n)
    B, H, Hk, L, S, E, Ev = shape
    rng = rng_for("split", shape)
    q, tq = ember_input(rng, (B, H, L, E), "float32")
    k, tk = ember_input(rng, (B, Hk, S, E), "float32")
    v, tv = ember_input(rng, (B, Hk, S, Ev), "float32")
    for causal in (False, True):
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        check(out, reference(tq, tk, tv, causal=causal), tv, "float32")


MASK_SHAPES = ["qk", "11qk", "b11k", "bhqk", "hqk", "1k"]


def mask_shape(kind, B, H, L, S):
    return {"qk": (L, S), "11qk": (1, 1, L, S), "b11k": (B, 1, 1, S), "bhqk": (B, H, L, S), "hqk": (H, L, S), "1k": (1, S)}[kind]


# (batch, heads, kv_heads, q_len, kv_len, head_dim): many rows per block, and the few-row (decode) path
MASK_CASES = [(2, 6, 2, 11, 37, 24), (2, 4, 4, 3, 37, 20), (1, 8, 2, 1, 70, 9)]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("mask_dtype", ["bool", "float32", "same"])
@pytest.mark.parametrize("kind", MASK_SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("case", MASK_CASES, ids=lambda c: "b{}h{}kv{}q{}k{}e{}".format(*c))
def test_masks(case, kind, mask_dtype, causal, dtype):
    B, H, Hk, L, S, E = case
    rng = rng_for("mask", case, kind, mask_dtype, causal, dtype)
    q, tq = ember_input(rng, (B, H, L, E), dtype)
    k, tk = ember_input(rng, (B, Hk, S, E), dtype)
    v, tv = ember_input(rng, (B, Hk, S, E), dtype)
    shape = mask_shape(kind, B, H, L, S)
    if mask_dtype == "bool":
        m = rng.random(shape) < 0.7
        m[..., -1] = True  # every row keeps its last key (also under the causal mask)
        em, tm = ember.from_numpy(m), torch.from_numpy(m)
    else:
        name = dtype if mask_dtype == "same" else mask_dtype
        m = rng.uniform(-3, 3, size=shape).astype(NP_DTYPE[name])
        em, tm = to_ember(m, name), torch.from_numpy(m.astype(np.float64))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=em, is_causal=causal)
    check(out, reference(tq, tk, tv, mask=tm, causal=causal), tv, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_three_dims_scale_and_strides(dtype):
    H, Hk, L, S, E = 8, 2, 9, 29, 40
    rng = rng_for("3d", dtype)
    q, tq = ember_input(rng, (H, L, E), dtype)
    k, tk = ember_input(rng, (Hk, S, E), dtype, layout="dlast")
    v, tv = ember_input(rng, (Hk, S, E), dtype)
    m = rng.random((L, S)) < 0.8
    m[:, -1] = True
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=ember.from_numpy(m), is_causal=True, scale=0.37)
    assert out.shape == (H, L, E)
    check(out, reference(tq, tk, tv, mask=torch.from_numpy(m), causal=True, scale=0.37), tv, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["bshd", "dlast"])
def test_non_contiguous(layout, dtype):
    B, H, Hk, L, S, E = 2, 4, 2, 17, 45, 32
    rng = rng_for("strided", layout, dtype)
    q, tq = ember_input(rng, (B, H, L, E), dtype, layout)
    k, tk = ember_input(rng, (B, Hk, S, E), dtype, layout)
    v, tv = ember_input(rng, (B, Hk, S, E), dtype, layout)
    for causal in (False, True):
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        check(out, reference(tq, tk, tv, causal=causal), tv, dtype)


def test_sliced_kv_cache():
    # a KV cache filled to 23 of 64 positions, read through a slice (row stride of the full cache)
    rng = rng_for("cache")
    cache_k = rng.standard_normal((1, 2, 64, 16)).astype(np.float32)
    cache_v = rng.standard_normal((1, 2, 64, 16)).astype(np.float32)
    q = rng.standard_normal((1, 8, 3, 16)).astype(np.float32)
    k, v = to_ember(cache_k)[:, :, :23], to_ember(cache_v)[:, :, :23]
    out = F.scaled_dot_product_attention(to_ember(q), k, v, is_causal=True)
    t = [torch.from_numpy(x.astype(np.float64)) for x in (q, cache_k[:, :, :23], cache_v[:, :, :23])]
    check(out, reference(*t, causal=True), t[2], "float32")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_fully_masked_rows_are_zero(dtype):
    B, H, L, S, E = 1, 2, 6, 10, 8
    rng = rng_for("masked rows", dtype)
    q, tq = ember_input(rng, (B, H, L, E), dtype)
    k, tk = ember_input(rng, (B, H, S, E), dtype)
    v, tv = ember_input(rng, (B, H, S, E), dtype)
    keep = rng.random((L, S)) < 0.6
    keep[:, 0] = True
    dead = [1, 4]
    keep[dead] = False
    for mask, tmask in (
        (ember.from_numpy(keep), torch.from_numpy(keep)),
        (ember.tensor(np.where(keep, 0.0, -np.inf).astype(np.float32)), torch.from_numpy(np.where(keep, 0.0, -np.inf))),
    ):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert np.all(to_numpy(out).astype(np.float64)[:, :, dead] == 0)
        check(out, reference(tq, tk, tv, mask=tmask), tv, dtype)  # torch 2.13 gives zeros there too


def test_more_queries_than_keys_causal():
    # bottom-right alignment: the first q_len - kv_len queries see no key and give zeros
    rng = rng_for("q>k")
    q, tq = ember_input(rng, (1, 2, 9, 8), "float32")
    k, tk = ember_input(rng, (1, 2, 4, 8), "float32")
    v, tv = ember_input(rng, (1, 2, 4, 8), "float32")
    out = to_numpy(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert np.all(out[:, :, :5] == 0)
    ref = reference(tq, tk, tv, causal=True).numpy()
    np.testing.assert_allclose(out[:, :, 5:], ref[:, :, 5:], rtol=1e-5, atol=1e-6)


def test_decode_matches_last_row_of_prefill():
    rng = rng_for("decode")
    q, _ = ember_input(rng, (1, 8, 20, 32), "float32")
    k, _ = ember_input(rng, (1, 2, 20, 32), "float32")
    v, _ = ember_input(rng, (1, 2, 20, 32), "float32")
    full = to_numpy(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    for i in (0, 7, 19):
        step = F.scaled_dot_product_attention(q[:, :, i : i + 1], k[:, :, : i + 1], v[:, :, : i + 1], is_causal=True)
        np.testing.assert_allclose(to_numpy(step)[:, :, 0], full[:, :, i], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "shape",
    [(0, 2, 2, 3, 4, 8, 8), (1, 2, 2, 0, 5, 8, 8), (1, 0, 0, 3, 5, 8, 8), (1, 2, 2, 3, 5, 8, 0)],
    ids=shape_id,
)
def test_empty(shape):
    B, H, Hk, L, S, E, Ev = shape
    q = ember.zeros(B, H, L, E)
    k, v = ember.zeros(B, Hk, S, E), ember.zeros(B, Hk, S, Ev)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert out.shape == (B, H, L, Ev)


def test_no_keys_gives_zeros():
    q, k, v = ember.ones(1, 2, 3, 8), ember.zeros(1, 2, 0, 8), ember.zeros(1, 2, 0, 5)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.shape == (1, 2, 3, 5)
    assert np.all(to_numpy(out) == 0)


def test_nan_propagates():
    q, k, v = ember.ones(1, 1, 2, 4), ember.ones(1, 1, 3, 4), ember.ones(1, 1, 3, 4)
    k[0, 0, 1, 2] = float("nan")
    out = to_numpy(F.scaled_dot_product_attention(q, k, v))
    assert np.all(np.isnan(out))


@pytest.mark.parametrize(
    "shapes, match",
    [
        (((1, 2, 3, 8), (1, 2, 4, 9), (1, 2, 4, 8)), r"head_dim differ.*\(1, 2, 3, 8\).*\(1, 2, 4, 9\)"),
        (((1, 6, 3, 8), (1, 4, 4, 8), (1, 4, 4, 8)), r"key/value heads \(4\) must divide query heads \(6\)"),
        (((1, 2, 3, 8), (1, 2, 4, 8), (1, 2, 5, 8)), r"same heads and sequence length.*\(1, 2, 5, 8\)"),
        (((2, 2, 3, 8), (1, 2, 4, 8), (1, 2, 4, 8)), r"batch sizes differ"),
        (((2, 3, 8), (1, 2, 4, 8), (1, 2, 4, 8)), r"all 4-D.*\(2, 3, 8\)"),
        (((3, 8),) * 3, r"all 4-D.*\(3, 8\)"),
        (((1, 1, 2, 3, 8),) * 3, r"all 4-D"),
    ],
)
def test_bad_shapes(shapes, match):
    q, k, v = (ember.zeros(*s) for s in shapes)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: .*" + match):
        F.scaled_dot_product_attention(q, k, v)


@pytest.mark.parametrize("mask_shape", [(3, 5), (2, 1, 4, 1), (1, 1, 1, 1, 4), (3, 4, 1)])
def test_bad_mask_shape(mask_shape):
    q, k, v = ember.zeros(2, 2, 3, 8), ember.zeros(2, 2, 4, 8), ember.zeros(2, 2, 4, 8)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask of shape .* does not broadcast .*\(2, 2, 3, 4\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ember.zeros(*mask_shape, dtype=ember.bool_))


def test_bad_arguments():
    q, k, v = ember.zeros(1, 4, 3, 8), ember.zeros(1, 2, 4, 8), ember.zeros(1, 2, 4, 8)
    with pytest.raises(ValueError, match="scaled_dot_product_attention: .*enable_gqa is False"):
        F.scaled_dot_product_attention(q, k, v, enable_gqa=False)
    with pytest.raises(TypeError, match="scaled_dot_product_attention: .*float32, float16 and float32"):
        F.scaled_dot_product_attention(q, k.to(ember.float16), v)
    with pytest.raises(TypeError, match="scaled_dot_product_attention: .*int64"):
        F.scaled_dot_product_attention(*(ember.zeros(1, 2, 3, 4, dtype=ember.int64) for _ in range(3)))
    with pytest.raises(TypeError, match="scaled_dot_product_attention: attn_mask must be bool or floating, got int32"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=ember.zeros(3, 4, dtype=ember.int32))
    with pytest.raises(ValueError, match="scaled_dot_product_attention: dropout_p must be 0"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=0.1)


def test_torch_positional_order():
    # (query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa), as in torch
    rng = rng_for("positional")
    q, tq = ember_input(rng, (1, 2, 4, 8), "float32")
    k, tk = ember_input(rng, (1, 2, 6, 8), "float32")
    v, tv = ember_input(rng, (1, 2, 6, 8), "float32")
    out = F.scaled_dot_product_attention(q, k, v, None, 0.0, True, 0.5)
    check(out, reference(tq, tk, tv, causal=True, scale=0.5), tv, "float32")


@pytest.mark.parametrize("isa", ["baseline", "avx512"])
def test_other_simd_levels(isa, monkeypatch):
    # the kernel is compiled once per SIMD level; the active one ran above, here another runs
    # (in a fresh process, since the level is chosen at start-up) the same checks
    if isa not in ember.cpu_features()["runnable"]:
        pytest.skip(f"this CPU cannot run the {isa} kernels")
    code = f"""
import os, sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
import ember, test_attention as t
assert ember.cpu_features()["active"] == {isa!r}, ember.cpu_features()
for shape in t.SHAPES[:9]:
    for dtype in ("float32", "bfloat16"):
        t.test_against_torch(shape, dtype, True)
for case in t.MASK_CASES:
    t.test_masks(case, "b11k", "bool", True, "float32")
    t.test_masks(case, "bhqk", "float32", False, "float16")
t.test_non_contiguous("bshd", "float32")
print("ok")
"""
    monkeypatch.setenv("EMBER_CPU_ISA", isa)
    proc = run_isolated(code)
    assert_no_crash(proc)
    assert proc.stdout.strip().endswith("ok")
