"""ember's reference quantize / dequantize (csrc/quant/ref_*.cpp) against gguf-py and llama.cpp.

- Dequantization is bit-exact with ``gguf.quants.dequantize`` for every type gguf supports (all of
  ember's block types but q8_1 and q8_k, which are checked against ggml's formula y = d * q).
- Quantization is byte-exact with ``gguf.quants.quantize`` for q4_0, q4_1, q5_0, q5_1 and q8_0 (which
  gguf-py implements operation for operation like ggml's quantize_row_*_ref).
- The K-quants and IQ4 types have no byte-exact peer (ember's search differs from ggml's); their
  RMSE on fixed-seed Gaussian data must not exceed llama.cpp's reference quantizers', recorded below.
"""

from __future__ import annotations

import zlib

import ember
import numpy as np
import pytest
from io_testing import smollm2_gguf_path

gguf = pytest.importorskip("gguf")
GT = gguf.GGMLQuantizationType

LEGACY = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"]            # gguf quantizes these byte-exactly
SEARCHED = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"]
GGUF_DEQUANT = LEGACY + SEARCHED                             # gguf dequantizes these
SHAPES = [(1, 256), (37, 512), (6, 2048)]                     # one row, many rows, rows of many blocks


def gguf_type(name: str):
    return getattr(GT, name.upper())


def assert_bits_equal(actual: np.ndarray, expected: np.ndarray, what: str):
    """Bit-exact float32 comparison; NaNs match NaNs whatever their payload."""
    actual = np.ascontiguousarray(actual, dtype=np.float32).reshape(-1)
    expected = np.ascontiguousarray(expected, dtype=np.float32).reshape(-1)
    assert actual.shape == expected.shape, what
    nan_a, nan_e = np.isnan(actual), np.isnan(expected)
    assert np.array_equal(nan_a, nan_e), f"{what}: NaNs differ"
    a, e = actual[~nan_a].view(np.uint32), expected[~nan_e].view(np.uint32)
    bad = np.flatnonzero(a != e)
    assert bad.size == 0, (f"{what}: {bad.size} values differ, first at {bad[0]}: "
                           f"{actual[~nan_a][bad[0]]!r} vs {expected[~nan_e][bad[0]]!r}")


def ember_quantize(x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """ember's blocks (uint8, flat) and their dequantization (float32, x's shape)."""
    q = ember.quantize(ember.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), name)
    assert q.qtype == name and tuple(q.shape) == x.shape
    return q.data.numpy().reshape(-1), q.dequantize(ember.float32).numpy()


def ember_dequantize(raw: np.ndarray, name: str, shape) -> np.ndarray:
    q = ember.QTensor(ember.from_numpy(np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)), name, tuple(shape))
    return q.dequantize(ember.float32).numpy()


def sample(kind: str, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.standard_normal(shape, dtype=np.float32)
    return rng.uniform(-3.0, 5.0, size=shape).astype(np.float32)


# ---- random data ----

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
@pytest.mark.parametrize("name", GGUF_DEQUANT)
def test_dequantize_matches_gguf(name, kind, shape):
    x = sample(kind, shape, seed=zlib.crc32(f"{name} {kind} {shape}".encode()))
    raw, y = ember_quantize(x, name)
    expected = gguf.quants.dequantize(raw, gguf_type(name)).reshape(shape)
    assert_bits_equal(y, expected, f"{name} {kind} {shape}")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
@pytest.mark.parametrize("name", LEGACY)
def test_quantize_matches_gguf(name, kind, shape):
    x = sample(kind, shape, seed=7 + len(name) + shape[0])
    raw, _ = ember_quantize(x, name)
    expected = gguf.quants.quantize(x, gguf_type(name)).reshape(-1)
    assert np.array_equal(raw, expected), f"{name} {kind} {shape}: {np.count_nonzero(raw != expected)} bytes differ"


@pytest.mark.parametrize("name", LEGACY)
def test_quantize_edge_blocks_match_gguf(name):
    """All-zero, constant, one-spike, ties at the block max and f16-subnormal scales."""
    rows = [
        np.zeros(32), np.full(32, 3.25), np.full(32, -1e-3),
        np.r_[np.zeros(31), 7.0], np.r_[-2.0, np.zeros(30), 2.0],
        np.linspace(-1, 1, 32), np.linspace(-1e-6, 3e-6, 32), np.arange(32) - 16.0,
        np.random.default_rng(3).standard_normal(32) * 6e4,
    ]
    x = np.stack(rows).astype(np.float32)
    raw, _ = ember_quantize(x, name)
    with np.errstate(over="ignore"):  # f16 scales of the 6e4 block overflow to inf in both
        expected = gguf.quants.quantize(x, gguf_type(name)).reshape(-1)
    assert np.array_equal(raw, expected)


@pytest.mark.parametrize("name", GGUF_DEQUANT)
def test_dequantize_arbitrary_bytes_matches_gguf(name):
    """Any block content, NaN / inf / subnormal f16 scales included."""
    info = ember.quant.qtype_info(name)
    rng = np.random.default_rng(11)
    n_blocks = 64
    raw = rng.integers(0, 256, size=n_blocks * info.type_size, dtype=np.uint8)
    raw[: info.type_size] = 0xFF  # a block of NaN scales
    shape = (4, n_blocks * info.block_size // 4)
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 in gguf-py's scales
        expected = gguf.quants.dequantize(raw, gguf_type(name)).reshape(shape)
    assert_bits_equal(ember_dequantize(raw, name, shape), expected, name)


def test_q8_1_and_q8_k_follow_ggml():
    """Not in gguf-py: check ggml's layouts and formulas directly."""
    x = sample("gaussian", (3, 512), seed=5)
    raw, y = ember_quantize(x, "q8_1")
    blocks = raw.reshape(-1, 36)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    s = blocks[:, 2:4].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 4:].view(np.int8)
    assert_bits_equal(y, (qs.astype(np.float32) * d).reshape(x.shape), "q8_1")
    amax = np.abs(x.reshape(-1, 32)).max(axis=1, keepdims=True)
    assert np.array_equal(d, (amax / 127).astype(np.float16).astype(np.float32))
    expected_s = (qs.astype(np.int32).sum(axis=1, keepdims=True).astype(np.float32) * (amax / 127)).astype(np.float16)
    assert np.array_equal(s, expected_s.astype(np.float32))

    raw, y = ember_quantize(x, "q8_k")
    blocks = raw.reshape(-1, 292)
    d = blocks[:, 0:4].copy().view(np.float32)
    qs = blocks[:, 4:260].view(np.int8)
    bsums = blocks[:, 260:].copy().view(np.int16)
    assert_bits_equal(y, (d * qs.astype(np.float32)).reshape(x.shape), "q8_k")
    assert np.array_equal(bsums, qs.reshape(-1, 16, 16).astype(np.int16).sum(axis=2))
    xb = x.reshape(-1, 256)
    signed_max = np.take_along_axis(xb, np.abs(xb).argmax(axis=1)[:, None], axis=1)
    assert np.array_equal(d, 1 / (np.float32(-127) / signed_max))
    assert np.abs(qs).max() == 127


# ---- RMSE against llama.cpp's reference quantizers ----

# llama.cpp's RMSE (quantize_row_<type>_ref, then dequantize_row_<type>) on
# np.random.default_rng(1234).standard_normal((128, 4096), dtype=np.float32), measured with
# ggml/src/ggml-quants.c of llama.cpp as vendored by llama-cpp-python 0.3.36, built with
# `gcc -O2 -ffp-contract=off -shared` and called through ctypes row by row. bench/quant_rmse.py
# reproduces these numbers (and ember's) against a locally built ggml.
LLAMA_CPP_RMSE = {
    "q4_0": 0.0858044908,
    "q4_1": 0.0781593055,
    "q5_0": 0.042651819,
    "q5_1": 0.0378605734,
    "q8_0": 0.00534874888,
    "q2_k": 0.296410707,
    "q3_k": 0.15058364,
    "q4_k": 0.0712669903,
    "q5_k": 0.0360781961,
    "q6_k": 0.0177017268,
    "iq4_nl": 0.0785750398,
    "iq4_xs": 0.0766921813,
}


@pytest.fixture(scope="module")
def rmse_data():
    return np.random.default_rng(1234).standard_normal((128, 4096), dtype=np.float32)


@pytest.mark.parametrize("name", list(LLAMA_CPP_RMSE))
def test_rmse_at_most_llama_cpp(name, rmse_data):
    _, y = ember_quantize(rmse_data, name)
    rmse = float(np.sqrt(np.mean((y.astype(np.float64) - rmse_data.astype(np.float64)) ** 2)))
    assert rmse <= LLAMA_CPP_RMSE[name] * 1.0005, f"{name}: ember {rmse:.9g} vs llama.cpp {LLAMA_CPP_RMSE[name]:.9g}"


# ---- a real model: SmolLM2-135M-Instruct, Q4_1 with a Q8_0 embedding and F32 norms ----

@pytest.fixture(scope="module")
def smollm2():
    return gguf.GGUFReader(smollm2_gguf_path())


def test_smollm2_dequantize_every_tensor(smollm2):
    seen = set()
    for t in smollm2.tensors:
        name = ember.quant.qtype_from_ggml(int(t.tensor_type))
        shape = tuple(int(n) for n in reversed(t.shape))
        raw = np.asarray(t.data).view(np.uint8).reshape(-1)
        expected = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(shape)
        assert_bits_equal(ember_dequantize(raw, name, shape), expected, f"{t.name} ({name})")
        seen.add(name)
    assert {"q4_1", "q8_0"} <= seen


@pytest.mark.parametrize("name", LEGACY)
def test_smollm2_requantize_matches_gguf(smollm2, name):
    """The dequantized weights, requantized: 16 rows spread over each matrix (gguf-py is slow)."""
    for t in smollm2.tensors:
        if t.tensor_type == GT.F32:
            continue
        blocks = np.asarray(t.data)  # one row of blocks per matrix row
        picked = blocks[np.linspace(0, blocks.shape[0] - 1, 16).astype(np.int64)]
        rows = gguf.quants.dequantize(picked, t.tensor_type).reshape(16, int(t.shape[0]))
        raw, _ = ember_quantize(rows, name)
        expected = gguf.quants.quantize(rows, gguf_type(name)).reshape(-1)
        assert np.array_equal(raw, expected), f"{t.name} -> {name}: {np.count_nonzero(raw != expected)} bytes differ"
