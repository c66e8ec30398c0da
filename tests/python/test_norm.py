"""Normalisation, gated activations and rotary embeddings (issue #3) against float64 references.

References are torch's own functions run in float64 on the very values ember sees (inputs rounded to
the tested dtype first), so they are both "what torch does" and exact to the tested precision.
f32 results must match to 1e-5 relative (plus a tiny absolute term where outputs cross zero),
f16/bf16 to one unit in the last place of the rounded reference.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from conftest import FLOAT_DTYPES, as_f64, assert_close, make_pair, rng_for

HALF_DTYPES = ("float16", "bfloat16")


def f64(a):
    return torch.from_numpy(as_f64(a).copy())


def check(out, expected, dtype, scale=1.0):
    """f32: 1e-5 relative; f64: 1e-12; f16/bf16: 1 ulp. `scale` sizes the absolute term near zero."""
    if dtype in HALF_DTYPES:
        assert_close(out, expected, dtype, ulps=1, atol=1e-6 * scale)
    elif dtype == "float32":
        assert_close(out, expected, dtype, rtol=1e-5, atol=1e-6 * scale)
    else:
        assert_close(out, expected, dtype, rtol=1e-12, atol=1e-13 * scale)


def param(rng, shape, dtype, present=True):
    """(ember tensor or None, numpy array or None) for a weight / bias."""
    if not present:
        return None, None
    t, a = make_pair(rng, shape, dtype, low=-2, high=2)
    return t, a


# ---------------------------------------------------------------------------------------------
# layer_norm / rms_norm

# (shape, number of normalized trailing dims, layout)
ROW_NORM_CASES = [
    ((1,), 1, "contig"),
    ((7,), 1, "contig"),
    ((3, 1), 1, "contig"),
    ((5, 37), 1, "contig"),
    ((2, 3, 64), 1, "contig"),
    ((4, 1031), 1, "contig"),
    ((2, 9001), 1, "contig"),
    ((3, 5, 7), 2, "contig"),
    ((0, 5), 1, "contig"),
    ((13, 6), 1, "T"),
    ((5, 9), 1, "step"),
    ((3, 4, 5), 2, "perm"),
    ((3, 4, 17), 1, "expand"),
]


def row_case_id(case):
    shape, k, layout = case
    return f"{'x'.join(map(str, shape))}-k{k}-{layout}"


@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("case", ROW_NORM_CASES, ids=row_case_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_layer_norm(dtype, case, affine):
    shape, k, layout = case
    rng = rng_for("layer_norm", dtype, case, affine)
    t, a = make_pair(rng, shape, dtype, layout, low=-3, high=5)
    ns = shape[len(shape) - k:]
    w, wa = param(rng, ns, dtype, affine != "none")
    b, ba = param(rng, ns, dtype, affine == "both")
    out = F.layer_norm(t, ns, w, b, eps=1e-5)
    ref = TF.layer_norm(f64(a), ns, None if wa is None else f64(wa), None if ba is None else f64(ba), eps=1e-5)
    assert out.shape == tuple(shape)
    check(out, ref.numpy(), dtype, scale=4)


@pytest.mark.parametrize("eps", [None, 1e-6])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", ROW_NORM_CASES, ids=row_case_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rms_norm(dtype, case, weighted, eps):
    shape, k, layout = case
    rng = rng_for("rms_norm", dtype, case, weighted, eps)
    t, a = make_pair(rng, shape, dtype, layout, low=-3, high=5)
    ns = shape[len(shape) - k:]
    w, wa = param(rng, ns, dtype, weighted)
    out = F.rms_norm(t, ns, w, eps=eps)
    ref_eps = torch.finfo(getattr(torch, dtype)).eps if eps is None else eps  # torch's default: eps of the dtype
    ref = TF.rms_norm(f64(a), ns, None if wa is None else f64(wa), eps=ref_eps)
    check(out, ref.numpy(), dtype, scale=4)


def test_norms_large_mean_and_constant_rows():
    # two-pass statistics: a mean of 1e4 does not cancel a variance of ~1
    rng = np.random.default_rng(0)
    a = (1e4 + rng.standard_normal((4, 300))).astype(np.float32)
    check(F.layer_norm(ember.tensor(a), (300,)), TF.layer_norm(f64(a), (300,)).numpy(), "float32", scale=4)
    const = np.full((2, 33), 3.0, np.float32)
    check(F.layer_norm(ember.tensor(const), (33,)), np.zeros((2, 33)), "float32")
    check(F.rms_norm(ember.tensor(np.zeros((2, 33), np.float32)), 33), np.zeros((2, 33)), "float32")


def test_norm_weight_dtype_may_differ():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 16)).astype(np.float32)
    w = rng.standard_normal(16).astype(np.float32)
    x = ember.tensor(a).to(ember.bfloat16)
    out = F.rms_norm(x, (16,), ember.tensor(w), eps=1e-6)  # bf16 input, f32 weight: the result is bf16
    assert out.dtype == ember.bfloat16
    ref = TF.rms_norm(f64(x.float().numpy()), (16,), f64(w), eps=1e-6)
    check(out, ref.numpy(), "bfloat16")
    xg = x.reshape(3, 4, 4)
    out = F.group_norm(xg, 2, ember.tensor(w[:4]), ember.tensor(w[4:8]).to(ember.bfloat16))  # mixed: all go to f32
    ref = TF.group_norm(f64(xg.float().numpy()), 2, f64(w[:4]), f64(ember.tensor(w[4:8]).to(ember.bfloat16).float().numpy()))
    check(out, ref.numpy(), "bfloat16")


# ---------------------------------------------------------------------------------------------
# group_norm

GROUP_NORM_CASES = [
    ((2, 6), 3, "contig"),
    ((1, 4, 1), 1, "contig"),
    ((2, 6, 5), 2, "contig"),
    ((3, 6, 2, 7), 6, "contig"),
    ((1, 32, 37), 8, "contig"),
    ((1, 4, 5003), 2, "contig"),
    ((2, 4, 0), 2, "contig"),
    ((0, 4, 3), 4, "contig"),
    ((5, 4, 3), 2, "T"),
    ((2, 6, 5), 3, "step"),
    ((2, 3, 4, 5), 3, "perm"),
]


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("case", GROUP_NORM_CASES, ids=row_case_id)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_group_norm(dtype, case, affine):
    shape, groups, layout = case
    rng = rng_for("group_norm", dtype, case, affine)
    t, a = make_pair(rng, shape, dtype, layout, low=-2, high=6)
    w, wa = param(rng, (shape[1],), dtype, affine)
    b, ba = param(rng, (shape[1],), dtype, affine)
    out = F.group_norm(t, groups, w, b, eps=1e-5)
    ref = TF.group_norm(f64(a), groups, None if wa is None else f64(wa), None if ba is None else f64(ba), eps=1e-5)
    check(out, ref.numpy(), dtype, scale=4)


# ---------------------------------------------------------------------------------------------
# softmax / log_softmax through ember.nn.functional (the kernels are also covered by test_reductions.py)

SOFTMAX_ROWS = [1, 2, 7, 31, 64, 257, 4099, 8192, 8193, 20011]


@pytest.mark.parametrize("n", SOFTMAX_ROWS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_rows(dtype, n):
    t, a = make_pair(rng_for("softmax_rows", dtype, n), (3, n), dtype, low=-10, high=10)
    for fn, tfn in ((F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)):
        ref = tfn(f64(a), -1).numpy()
        out = fn(t, dim=-1)
        if dtype in HALF_DTYPES:
            assert_close(out, ref, dtype, ulps=1, atol=1e-7 if fn is F.softmax else 1e-5)
        elif dtype == "float32":
            assert_close(out, ref, dtype, rtol=1e-5, atol=1e-9 if fn is F.softmax else 1e-5)
        else:
            assert_close(out, ref, dtype, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("layout", ["contig", "T", "step"])
def test_softmax_any_dim_and_layout(dim, layout):
    t, a = make_pair(rng_for("softmax_dims", dim, layout), (5, 6, 37), "float32", layout, low=-6, high=6)
    for fn, tfn in ((F.softmax, torch.softmax), (F.log_softmax, torch.log_softmax)):
        assert_close(fn(t, dim), tfn(f64(a), dim).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("src", HALF_DTYPES + ("float32",))
@pytest.mark.parametrize("log", [False, True])
def test_softmax_dtype_argument(src, log):
    t, a = make_pair(rng_for("softmax_dtype", src, log), (4, 129), src, low=-5, high=5)
    fn, tfn = (F.log_softmax, torch.log_softmax) if log else (F.softmax, torch.softmax)
    out = fn(t, -1, dtype=ember.float64)
    assert out.dtype == ember.float64
    assert_close(out, tfn(f64(a), -1).numpy(), "float64", rtol=1e-12, atol=1e-15)
    got = fn(t, 1, dtype=ember.float32)
    want = tfn(torch.from_numpy(as_f64(a)).to(getattr(torch, src)), 1, dtype=torch.float32)
    assert got.dtype == ember.float32
    assert_close(got, want.double().numpy(), "float32", rtol=1e-5, atol=1e-6)


def test_softmax_implicit_dim_warns_like_torch():
    t, a = make_pair(rng_for("softmax_none"), (3, 4), "float32")
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(t)
    with pytest.warns(UserWarning):
        ref = TF.softmax(f64(a))
    assert_close(out, ref.numpy(), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# silu / gelu / glu / swiglu

ACT_CASES = [((0,), "contig"), ((1,), "contig"), ((37,), "contig"), ((7, 66), "contig"), ((10, 5), "T"), ((5, 8), "step"),
             ((3, 4, 6), "perm"), ((4, 1, 6), "expand")]


@pytest.mark.parametrize("case", ACT_CASES, ids=lambda c: f"{'x'.join(map(str, c[0]))}-{c[1]}")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_silu_gelu(dtype, case):
    shape, layout = case
    t, a = make_pair(rng_for("act", dtype, case), shape, dtype, layout, low=-8, high=8)
    check(F.silu(t), TF.silu(f64(a)).numpy(), dtype, scale=1e-3)
    # gelu's 0.5 x (1 + erf(x / sqrt(2))) (torch's formula too) cancels for x < -4: absolute accuracy only
    check(F.gelu(t), TF.gelu(f64(a)).numpy(), dtype, scale=1)
    check(F.gelu(t, approximate="tanh"), TF.gelu(f64(a), approximate="tanh").numpy(), dtype, scale=1)


@pytest.mark.parametrize("case", ACT_CASES[1:], ids=lambda c: f"{'x'.join(map(str, c[0]))}-{c[1]}")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_glu(dtype, case):
    shape, layout = case
    shape = shape[:-1] + (2 * shape[-1],)
    t, a = make_pair(rng_for("glu", dtype, case), shape, dtype, layout if layout != "expand" else "contig", low=-6, high=6)
    for dim in range(-len(shape), len(shape)):
        if shape[dim] % 2:
            with pytest.raises(ValueError, match=r"glu: .*dim .* size .*\(input of shape"):
                F.glu(t, dim)
            continue
        check(F.glu(t, dim), TF.glu(f64(a), dim).numpy(), dtype, scale=1e-3)


def test_glu_integer_input_computes_in_float32():
    out = F.glu(ember.tensor([[1, 2, -3, 4]]))
    assert out.dtype == ember.float32
    assert_close(out, TF.glu(torch.tensor([[1.0, 2.0, -3.0, 4.0]], dtype=torch.float64)).numpy(), rtol=1e-6)


SWIGLU_CASES = [((0, 4), (0, 4)), ((1,), (1,)), ((37,), (37,)), ((5, 129), (5, 129)), ((3, 1, 8), (1, 4, 8)),
                ((6, 7), (7,)), ((2, 3), ())]


@pytest.mark.parametrize("shapes", SWIGLU_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_swiglu(dtype, shapes):
    rng = rng_for("swiglu", dtype, shapes)
    g, ga = make_pair(rng, shapes[0], dtype, low=-10, high=10)
    u, ua = make_pair(rng, shapes[1], dtype, low=-3, high=3)
    ref = (TF.silu(f64(ga)) * f64(ua)).numpy()
    check(F.swiglu(g, u), ref, dtype, scale=1e-3)
    check(ember.swiglu(g, u), ref, dtype, scale=1e-3)


@pytest.mark.parametrize("layout", ["T", "step", "perm"])
def test_swiglu_strided(layout):
    rng = rng_for("swiglu_strided", layout)
    g, ga = make_pair(rng, (4, 5, 6), "bfloat16", layout, low=-6, high=6)
    u, ua = make_pair(rng, (4, 5, 6), "bfloat16", layout, low=-3, high=3)
    check(F.swiglu(g, u), (TF.silu(f64(ga)) * f64(ua)).numpy(), "bfloat16")


def test_swiglu_extremes():
    g = ember.tensor([-1000.0, -90.0, 0.0, 90.0, float("inf"), float("-inf"), float("nan")])
    u = ember.tensor([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    ref = (TF.silu(torch.tensor(g.numpy(), dtype=torch.float64)) * 2.0).numpy()
    # silu(-90) = -1.5e-37 comes out as -0: exp(90) overflows float32 (torch's silu does the same)
    assert_close(F.swiglu(g, u), ref, rtol=1e-6, atol=1e-36)


# ---------------------------------------------------------------------------------------------
# rope

def rope_tables(seq, head_dim, offset=37, base=10000.0):
    """float64 (seq, head_dim / 2) cos and sin for positions offset .. offset + seq - 1."""
    inv_freq = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.arange(offset, offset + seq, dtype=np.float64)[:, None] * inv_freq[None, :]
    return np.cos(angles), np.sin(angles)


def rope_neox_ref(x, c, s):
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def rope_gptj_ref(x, c, s):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    y = np.empty_like(x)
    y[..., 0::2] = x1 * c - x2 * s
    y[..., 1::2] = x2 * c + x1 * s
    return y


def rotate_half_ref(x, c, s):
    # transformers' apply_rotary_pos_emb: q * cos + rotate_half(q) * sin with duplicated tables
    cos, sin = torch.cat([c, c], -1), torch.cat([s, s], -1)
    h = x.shape[-1] // 2
    rotated = torch.cat([-x[..., h:], x[..., :h]], -1)
    return x * cos + rotated * sin


ROPE_SHAPES = [(1, 1, 1, 2), (2, 3, 5, 8), (1, 4, 7, 64), (2, 2, 3, 6), (1, 2, 17, 128), (1, 1, 3, 34), (0, 2, 3, 4),
               (1, 2, 0, 8), (1, 1, 2, 0)]


@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("shape", ROPE_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rope(dtype, shape, interleaved, layout):
    b, h, s, d = shape
    x_shape = (b, h, s, d) if layout == "bhsd" else (b, s, h, d)
    t, a = make_pair(rng_for("rope", dtype, shape, interleaved, layout), x_shape, dtype, low=-3, high=3)
    c, sn = rope_tables(s, d)
    ax = as_f64(a) if layout == "bhsd" else as_f64(a).transpose(0, 2, 1, 3)
    ref = (rope_gptj_ref if interleaved else rope_neox_ref)(ax, c, sn)
    if layout == "bshd":
        ref = ref.transpose(0, 2, 1, 3)
    fn = F.rope_interleaved if interleaved else F.rope
    out = fn(t, ember.tensor(c.astype(np.float32)), ember.tensor(sn.astype(np.float32)), layout=layout)
    assert out.shape == x_shape and out.dtype == t.dtype
    # the reference uses the float64 angles; the kernel sees them rounded to float32
    if dtype in HALF_DTYPES:
        assert_close(out, ref, dtype, ulps=1, atol=1e-6)
    else:
        assert_close(out, ref, dtype, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_rope_matches_rotate_half_with_offset(dtype):
    # cos/sin in the input dtype, as transformers passes them, for positions 37 .. 37 + seq: the rows
    # 37.. of a table built from position 0
    b, h, s, d = 2, 3, 11, 32
    t, a = make_pair(rng_for("rope_hf", dtype), (b, h, s, d), dtype, low=-2, high=2)
    c_all, s_all = rope_tables(37 + s, d, offset=0)
    c37, s37 = rope_tables(s, d, offset=37)
    np.testing.assert_allclose(c37, c_all[37:], rtol=0, atol=1e-12)
    np.testing.assert_allclose(s37, s_all[37:], rtol=0, atol=1e-12)
    cos_t = ember.tensor(c_all[37:].astype(np.float32)).to(t.dtype)
    sin_t = ember.tensor(s_all[37:].astype(np.float32)).to(t.dtype)
    ref = rotate_half_ref(f64(a), f64(cos_t.float().numpy()), f64(sin_t.float().numpy())).numpy()
    check(F.rope(t, cos_t, sin_t), ref, dtype, scale=2)
    # GPT-J on the same tables: the rotate_half form applied to de-interleaved halves
    perm = np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])
    ref_j = np.empty_like(ref)
    ref_j[..., perm] = rotate_half_ref(f64(as_f64(a)[..., perm]), f64(cos_t.float().numpy()), f64(sin_t.float().numpy())).numpy()
    check(F.rope_interleaved(t, cos_t, sin_t), ref_j, dtype, scale=2)


@pytest.mark.parametrize("interleaved", [False, True])
def test_rope_strided_inputs(interleaved):
    fn = F.rope_interleaved if interleaved else F.rope
    ref_fn = rope_gptj_ref if interleaved else rope_neox_ref
    rng = rng_for("rope_strided", interleaved)
    c, s = rope_tables(5, 16)
    ce, se = ember.tensor(c), ember.tensor(s)  # float64 tables: cast to float32 by the op
    # a (b, s, h, d) buffer seen as (b, h, s, d): strided rows, contiguous head_dim
    t, a = make_pair(rng, (2, 5, 4, 16), "float32", low=-3, high=3)
    ref = ref_fn(as_f64(a).transpose(0, 2, 1, 3), c, s)
    assert_close(fn(t.permute(0, 2, 1, 3), ce, se), ref, rtol=1e-5, atol=1e-6)
    # the same buffer passed as layout="bshd" (contiguous), and a (b, h, s, d) buffer seen as bshd
    assert_close(fn(t, ce, se, layout="bshd"), ref.transpose(0, 2, 1, 3), rtol=1e-5, atol=1e-6)
    tb, ab = make_pair(rng, (2, 4, 5, 16), "float32", low=-3, high=3)
    assert_close(fn(tb.permute(0, 2, 1, 3), ce, se, layout="bshd"), ref_fn(as_f64(ab), c, s).transpose(0, 2, 1, 3),
                 rtol=1e-5, atol=1e-6)
    # head_dim not contiguous (a step slice): copied first
    big, abig = make_pair(rng, (2, 4, 5, 32), "float32", low=-3, high=3)
    assert_close(fn(big[..., ::2], ce, se), ref_fn(as_f64(abig[..., ::2]), c, s), rtol=1e-5, atol=1e-6)
    # sliced heads and positions of a longer cache
    assert_close(fn(big[:, 1:3, :, 8:24], ce, se), ref_fn(as_f64(abig[:, 1:3, :, 8:24]), c, s), rtol=1e-5, atol=1e-6)


def test_rope_errors_name_the_op_and_shapes():
    x = ember.zeros((1, 2, 3, 5))
    c = ember.zeros((3, 2))
    with pytest.raises(ValueError, match=r"rope: head_dim must be even.*\(1, 2, 3, 5\)"):
        F.rope(x, c, c)
    x = ember.zeros((1, 2, 3, 8))
    with pytest.raises(ValueError, match=r"rope_interleaved: cos and sin must have shape .*\(3, 4\).*\(1, 2, 3, 8\).*cos \(3, 2\)"):
        F.rope_interleaved(x, c, c)
    with pytest.raises(ValueError, match=r"rope: cos and sin .*\(2, 4\).*\(batch, seq, heads, head_dim\)"):
        F.rope(x, ember.zeros((3, 4)), ember.zeros((3, 4)), layout="bshd")
    with pytest.raises(ValueError, match="rope: layout must be"):
        F.rope(x, ember.zeros((3, 4)), ember.zeros((3, 4)), layout="sbhd")
    with pytest.raises(ValueError, match=r"rope: expected x of shape"):
        F.rope(ember.zeros((2, 3, 8)), ember.zeros((3, 4)), ember.zeros((3, 4)))
    with pytest.raises(TypeError, match="rope: expected a floating-point input"):
        F.rope(ember.zeros((1, 2, 3, 8), dtype=ember.int32), ember.zeros((3, 4)), ember.zeros((3, 4)))


# ---------------------------------------------------------------------------------------------
# errors and threads

def test_norm_errors_name_the_op_and_shapes():
    x = ember.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(3,\).*\(2, 3, 4\)"):
        F.layer_norm(x, (3,))
    with pytest.raises(ValueError, match=r"rms_norm: normalized_shape \(\)"):
        F.rms_norm(x, ())
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape \(4,\), got \(3,\)"):
        F.layer_norm(x, 4, ember.ones(3))
    with pytest.raises(ValueError, match=r"layer_norm: bias must have shape \(3, 4\)"):
        F.layer_norm(x, (3, 4), None, ember.ones(4))
    with pytest.raises(ValueError, match=r"group_norm: the number of channels \(3\) must be divisible by num_groups \(2\)"):
        F.group_norm(x, 2)
    with pytest.raises(ValueError, match=r"group_norm: the number of channels \(3\) must be divisible by num_groups \(0\)"):
        F.group_norm(x, 0)
    with pytest.raises(ValueError, match=r"group_norm: expected an input of shape \(N, C, \*\), got \(4,\)"):
        F.group_norm(ember.zeros(4), 1)
    with pytest.raises(TypeError, match="layer_norm: expected a floating-point input.*int64"):
        F.layer_norm(ember.tensor([[1, 2]]), 2)
    with pytest.raises(TypeError, match="rms_norm: weight must be an ember.Tensor or None"):
        F.rms_norm(x, 4, [1.0, 2.0, 3.0, 4.0])


def test_results_do_not_depend_on_threads(threads):
    rng = rng_for("threads")
    t, _ = make_pair(rng, (64, 4096), "bfloat16")
    c, s = rope_tables(64, 64)
    ce, se = ember.tensor(c.astype(np.float32)), ember.tensor(s.astype(np.float32))
    runs = []
    for n in (1, 2, 3):
        ember.set_num_threads(n)
        runs.append([F.rms_norm(t, 4096).float().numpy(), F.layer_norm(t, 4096).float().numpy(),
                     F.softmax(t, -1).float().numpy(), F.group_norm(t.reshape(8, 32, 1024), 4).float().numpy(),
                     F.rope(t.reshape(1, 64, 64, 64), ce, se).float().numpy()])
    for other in runs[1:]:
        for x, y in zip(runs[0], other):
            np.testing.assert_array_equal(x, y)
