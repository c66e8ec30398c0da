"""ember.QTensor, quantize / dequantize, qmatmul and qembedding (issue #4): shapes, dtypes, errors,
and qmatmul against dequantize + matmul for every quantized type.

qmatmul rounds each block of activations to 8 bits (ggml's method), so it is compared with the
float64 product of the dequantized weight and the exact activations, with a bound derived from that
rounding: each activation moves by at most amax / 254 of its block (the rounding to a step of
d = amax / 127) plus 127 * d * 2**-11 (d stored as float16 for Q8_0 / Q8_1), so an output moves by at
most sum_k |w[n, k]| * amax(block of k) * (1 / 254 + 1 / 2048). A small float32 summation term is added.
"""

import ember
import numpy as np
import pytest
import torch
from conftest import rng_for

BLOCK_TYPES = [t for t in ember.QTYPES if t not in ("f32", "f16", "bf16")]
FLOAT_TYPES = ["f32", "f16", "bf16"]
ACT_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": torch.bfloat16}


def block_size(qtype):
    return ember.quant.qtype_info(qtype).block_size


def gaussian(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def activation_bound(w_deq, x, qtype):
    """The largest change of each output that 8-bit activation rounding can cause (see module doc)."""
    blk = 256 if qtype.endswith("_k") or qtype == "iq4_xs" else 32
    K = x.shape[-1]
    amax = np.abs(x.reshape(-1, K // blk, blk)).max(axis=-1)
    per_element = np.repeat(amax, blk, axis=-1) * (1 / 254 + 1 / 2048)
    return per_element @ np.abs(w_deq).T.astype(np.float64)


def check_qmatmul(x_np, q, out, act_dtype="float32"):
    w = q.dequantize().numpy().astype(np.float64)
    x64 = x_np.astype(np.float64)
    ref = x64 @ w.T
    bound = activation_bound(w, x_np.astype(np.float64), q.qtype)
    bound += 1e-5 * (np.abs(x64) @ np.abs(w).T) + 1e-30
    got = out.float().numpy().astype(np.float64)
    if act_dtype != "float32":  # the result is rounded to the activation dtype
        bound += np.abs(ref) * (2.0 ** -8 if act_dtype == "bfloat16" else 2.0 ** -11) + bound * 0.01
    err = np.abs(got - ref)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), f"{q.qtype}: error {err[worst]:.3g} above bound {bound[worst]:.3g} at {worst}"


@pytest.mark.parametrize("qtype", BLOCK_TYPES + FLOAT_TYPES)
@pytest.mark.parametrize("M", [1, 3, 8, 17])
def test_qmatmul_matches_dequantized_matmul(qtype, M):
    rng = rng_for("qmatmul", qtype, M)
    K = 2 * 256 if block_size(qtype) == 256 else 7 * 32
    N = 37
    w = gaussian(rng, N, K)
    x = gaussian(rng, M, K)
    q = ember.quantize(ember.from_numpy(w), qtype)
    out = ember.qmatmul(ember.from_numpy(x), q)
    assert out.shape == (M, N) and out.dtype == ember.float32
    check_qmatmul(x, q, out)


@pytest.mark.parametrize("qtype", ["q4_0", "q4_1", "q8_0", "q4_k", "q6_k", "iq4_xs", "f16"])
@pytest.mark.parametrize("act_dtype", ["float16", "bfloat16"])
def test_half_activations_give_their_dtype(qtype, act_dtype):
    rng = rng_for("qmatmul-half", qtype, act_dtype)
    K = 256
    w, x = gaussian(rng, 19, K), gaussian(rng, 5, K)
    x_half = ember.from_numpy(x).to(act_dtype)
    q = ember.quantize(ember.from_numpy(w), qtype)
    out = ember.qmatmul(x_half, q)
    assert out.dtype == getattr(ember, act_dtype) and out.shape == (5, 19)
    check_qmatmul(x_half.float().numpy(), q, out, act_dtype)


def test_batch_dims_and_strided_activations():
    rng = rng_for("qmatmul-batch")
    w = gaussian(rng, 24, 64)
    q = ember.quantize(ember.from_numpy(w), "q8_0")
    x = gaussian(rng, 2, 3, 128)
    xs = ember.from_numpy(x)[:, :, ::2]  # stride 2 along K: the front-end makes it contiguous
    out = ember.qmatmul(xs, q)
    assert out.shape == (2, 3, 24)
    check_qmatmul(x[:, :, ::2].reshape(6, 64), q, out.reshape(6, 24))
    rows = ember.from_numpy(gaussian(rng, 6, 100))[:, 4:68]  # rows further apart than K
    check_qmatmul(rows.numpy(), q, ember.qmatmul(rows, q))


def test_qmatmul_is_deterministic_across_thread_counts():
    rng = rng_for("qmatmul-threads")
    w, x = gaussian(rng, 300, 512), gaussian(rng, 9, 512)
    q = ember.quantize(ember.from_numpy(w), "q4_0")
    before = ember.get_num_threads()
    try:
        outs = []
        for n in (1, 2, 3):
            ember.set_num_threads(n)
            outs.append(ember.qmatmul(ember.from_numpy(x), q).numpy())
    finally:
        ember.set_num_threads(before)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


def test_empty_inputs():
    q = ember.quantize(ember.zeros(8, 64), "q4_0")
    assert ember.qmatmul(ember.zeros(0, 64), q).shape == (0, 8)
    q0 = ember.quantize(ember.zeros(0, 64), "q8_0")
    assert q0.shape == (0, 64) and q0.nbytes == 0
    assert ember.qmatmul(ember.ones(3, 64), q0).shape == (3, 0)
    qk0 = ember.QTensor(ember.zeros(0, dtype=ember.uint8), "q4_0", (5, 0))
    out = ember.qmatmul(ember.ones(2, 0), qk0)
    assert out.shape == (2, 5) and np.all(out.numpy() == 0)


@pytest.mark.parametrize("qtype", FLOAT_TYPES)
def test_float_storage_types_round_like_casts(qtype):
    rng = rng_for("float-qtypes", qtype)
    w = gaussian(rng, 4, 33)
    q = ember.quantize(ember.from_numpy(w), qtype)
    expected = torch.from_numpy(w).to({"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[qtype])
    assert np.array_equal(q.dequantize().numpy(), expected.float().numpy())
    assert q.nbytes == w.size * expected.element_size()
    assert q.data.numpy().tobytes() == expected.view(torch.uint8).numpy().tobytes()


@pytest.mark.parametrize("qtype", BLOCK_TYPES + FLOAT_TYPES)
def test_qtensor_attributes_and_zero_copy_wrap(qtype):
    info = ember.quant.qtype_info(qtype)
    K = info.block_size * 3
    q = ember.quantize(ember.from_numpy(gaussian(rng_for("attrs", qtype), 5, K)), qtype)
    assert q.qtype == qtype and q.shape == (5, K) and q.ndim == 2
    assert q.nbytes == 5 * 3 * info.type_size == q.data.numel()
    assert q.data.dtype == ember.uint8 and q.device == ember.device("cpu")
    assert repr(q) == f"ember.QTensor({qtype}, shape=(5, {K}), device='cpu')"
    raw = q.data.numpy().copy()
    wrapped = ember.QTensor(ember.from_numpy(raw), qtype, (5, K))
    assert np.array_equal(wrapped.dequantize().numpy(), q.dequantize().numpy())
    raw_tensor = ember.from_numpy(raw)
    assert ember.QTensor(raw_tensor, qtype, (5, K)).data.data_ptr() == raw_tensor.data_ptr()
    for dtype in (ember.float16, ember.bfloat16, ember.float64):
        d = q.dequantize(dtype)
        assert d.dtype == dtype
        assert np.array_equal(d.float().numpy(), q.dequantize().to(dtype).float().numpy())


def test_quantize_higher_dims_and_dtypes():
    rng = rng_for("quantize-nd")
    x = gaussian(rng, 2, 3, 64)
    q = ember.quantize(ember.from_numpy(x).to(ember.float16), "q8_0")
    assert q.shape == (2, 3, 64)
    flat = ember.quantize(ember.from_numpy(x.astype(np.float16).astype(np.float32).reshape(6, 64)), "q8_0")
    assert np.array_equal(q.data.numpy(), flat.data.numpy())
    t = ember.from_numpy(gaussian(rng, 64, 8)).t()  # non-contiguous input
    assert np.array_equal(ember.quantize(t, "q8_0").data.numpy(),
                          ember.quantize(ember.from_numpy(np.ascontiguousarray(t.numpy())), "q8_0").data.numpy())


@pytest.mark.parametrize("qtype", ["q4_0", "q6_k", "iq4_nl", "bf16"])
def test_qembedding_matches_dequantized_rows(qtype):
    rng = rng_for("qembedding", qtype)
    table = gaussian(rng, 50, 256)
    q = ember.quantize(ember.from_numpy(table), qtype)
    ids = rng.integers(0, 50, size=(3, 4))
    full = q.dequantize().numpy()
    for ids_dtype in (ember.int64, ember.int32, ember.uint8):
        out = ember.qembedding(ember.from_numpy(ids).to(ids_dtype), q)
        assert out.shape == (3, 4, 256) and out.dtype == ember.float32
        assert np.array_equal(out.numpy(), full[ids])
    assert ember.qembedding(ember.tensor([7]), q, dtype=ember.float16).dtype == ember.float16
    assert ember.qembedding(ember.zeros(0, dtype=ember.int64), q).shape == (0, 256)


def test_errors_name_the_op_and_the_problem():
    w = ember.from_numpy(gaussian(rng_for("errors"), 4, 64))
    q = ember.quantize(w, "q8_0")
    with pytest.raises(ValueError, match="unknown quantized type 'q3_0'.*q4_0"):
        ember.quantize(w, "q3_0")
    with pytest.raises(TypeError, match="quantize: the quantized type must be a name"):
        ember.quantize(w, 8)
    with pytest.raises(ValueError, match="multiple of q4_k's block size 256"):
        ember.quantize(w, "q4_k")
    with pytest.raises(TypeError, match="quantize: expected a floating-point tensor"):
        ember.quantize(ember.zeros(2, 32, dtype=ember.int32), "q8_0")
    with pytest.raises(ValueError, match="at least one dim"):
        ember.quantize(ember.tensor(1.0), "f32")
    with pytest.raises(ValueError, match=r"qmatmul: the last dim of the activations must equal the weight's K = 64"):
        ember.qmatmul(ember.ones(2, 32), q)
    with pytest.raises(TypeError, match="qmatmul: activations must be float32, float16 or bfloat16"):
        ember.qmatmul(ember.ones(2, 64, dtype=ember.float64), q)
    with pytest.raises(ValueError, match="qmatmul: the weight must be 2-D"):
        ember.qmatmul(ember.ones(2, 64), ember.quantize(ember.ones(2, 2, 64), "q8_0"))
    with pytest.raises(ValueError, match=r"needs 136 bytes of blocks, got 135"):
        ember.QTensor(ember.zeros(135, dtype=ember.uint8), "q8_0", (4, 32))
    with pytest.raises(TypeError, match="the blocks must be a uint8 tensor"):
        ember.QTensor(ember.zeros(34, dtype=ember.int8), "q8_0", (1, 32))
    with pytest.raises(ValueError, match="the blocks must be contiguous"):
        ember.QTensor(ember.zeros(68, dtype=ember.uint8)[::2], "q8_0", (1, 32))
    with pytest.raises(ValueError, match="multiple of its block size 32"):
        ember.QTensor(ember.zeros(34, dtype=ember.uint8), "q8_0", (2, 16))
    with pytest.raises(ValueError, match="more elements than fit in int64"):
        ember.QTensor(ember.zeros(34, dtype=ember.uint8), "q8_0", (2**62, 2**40))
    with pytest.raises(IndexError, match="qembedding: index 4 is out of range for a table of 4 rows"):
        ember.qembedding(ember.tensor([0, 4]), q)
    with pytest.raises(IndexError, match="index -1 is out of range"):
        ember.qembedding(ember.tensor([-1]), q)
    with pytest.raises(TypeError, match="qembedding: ids must be an integer tensor"):
        ember.qembedding(ember.tensor([0.0]), q)
    with pytest.raises(TypeError, match="dequantize: expected a floating-point dtype"):
        q.dequantize(ember.int32)


def test_type_table():
    assert ember.QTYPES == ("f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q8_1", "q2_k", "q3_k",
                            "q4_k", "q5_k", "q6_k", "q8_k", "iq4_nl", "iq4_xs")
    gguf_sizes = {"q4_0": (32, 18), "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "q8_0": (32, 34),
                  "q8_1": (32, 36), "q2_k": (256, 84), "q3_k": (256, 110), "q4_k": (256, 144), "q5_k": (256, 176),
                  "q6_k": (256, 210), "q8_k": (256, 292), "iq4_nl": (32, 18), "iq4_xs": (256, 136),
                  "f32": (1, 4), "f16": (1, 2), "bf16": (1, 2)}
    for name, (bs, ts) in gguf_sizes.items():
        info = ember.quant.qtype_info(name.upper())
        assert (info.block_size, info.type_size) == (bs, ts)
        assert ember.quant.qtype_from_ggml(info.ggml_type) == name
    assert ember.quant.qtype_info("q4_k").ggml_type == 12 and ember.quant.qtype_info("bf16").ggml_type == 30
    with pytest.raises(ValueError, match="ggml type id 16"):
        ember.quant.qtype_from_ggml(16)
