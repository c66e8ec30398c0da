"""conv1d / conv2d / conv_transpose1d / conv_transpose2d against torch (float64 reference on the same inputs)."""

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from conftest import rng_for, to_ember

torch = pytest.importorskip("torch")
F = torch.nn.functional
# torch warns that it copies the input for padding='same' with an even kernel; irrelevant here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

DTYPES = ["float32", "float16", "bfloat16"]
# Relative size of one rounding of the output in each dtype; float32 results are checked against
# 1e-5 of the sum of |terms| (the bound that survives cancellation).
OUT_EPS = {"float32": 0.0, "float16": 2.0**-10, "bfloat16": 2.0**-7}
SUM_RTOL = 1e-5


def make(rng, shape, dtype, layout="contig"):
    """(ember tensor, float64 numpy array of its exact values); layout 'T' swaps the last two dims of
    a contiguous base, 'step' takes every other element of the last dim."""
    shape = tuple(shape)
    if layout == "T":
        base_shape = shape[:-2] + (shape[-1], shape[-2])
    elif layout == "step":
        base_shape = shape[:-1] + (2 * shape[-1] + 1,)
    else:
        base_shape = shape
    base = rng.uniform(-1.0, 1.0, size=base_shape).astype(np.float32)
    t = to_ember(base, dtype)
    if layout == "T":
        t = t.transpose(-1, -2)
    elif layout == "step":
        t = t[..., 1::2]
    assert tuple(t.shape) == shape
    if layout != "contig" and min(shape[-2:]) > 1:
        assert not t.is_contiguous()
    return t, np.asarray(t.numpy()).astype(np.float64)


def check(out, ref_fn, x64, w64, b64, dtype):
    """Compares `out` with ref_fn(x, w, b) in float64, with a tolerance from the sum of |terms|."""
    tx, tw = torch.from_numpy(x64), torch.from_numpy(w64)
    tb = None if b64 is None else torch.from_numpy(b64)
    ref = ref_fn(tx, tw, tb).numpy()
    mag = ref_fn(tx.abs(), tw.abs(), None if tb is None else tb.abs()).numpy()
    got = np.asarray(out.numpy()).astype(np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    tol = OUT_EPS[dtype] * np.abs(ref) + SUM_RTOL * mag + 1e-30
    err = np.abs(got - ref)
    bad = err > tol
    assert not bad.any(), f"{bad.sum()} of {bad.size} wrong; worst error {err.max()} (tolerance there {tol.flat[err.argmax()]})"


def run_conv(nd, rng, dtype, N, C_in, C_out, size, kernel, stride, padding, dilation, groups, bias, layout="contig",
             w_layout="contig", unbatched=False):
    size = (size,) * nd if isinstance(size, int) else tuple(size)
    kernel = (kernel,) * nd if isinstance(kernel, int) else tuple(kernel)
    xshape = ((C_in,) if unbatched else (N, C_in)) + size
    x, x64 = make(rng, xshape, dtype, layout)
    w, w64 = make(rng, (C_out, C_in // groups) + kernel, dtype, w_layout)
    b, b64 = make(rng, (C_out,), dtype) if bias else (None, None)
    efn = EF.conv1d if nd == 1 else EF.conv2d
    tfn = F.conv1d if nd == 1 else F.conv2d
    out = efn(x, w, b, stride, padding, dilation, groups)
    assert out.dtype == x.dtype
    check(out, lambda tx, tw, tb: tfn(tx, tw, tb, stride, padding, dilation, groups), x64, w64, b64, dtype)


def run_conv_transpose(nd, rng, dtype, N, C_in, C_out, size, kernel, stride, padding, output_padding, groups,
                       dilation, bias, layout="contig", unbatched=False):
    size = (size,) * nd if isinstance(size, int) else tuple(size)
    kernel = (kernel,) * nd if isinstance(kernel, int) else tuple(kernel)
    xshape = ((C_in,) if unbatched else (N, C_in)) + size
    x, x64 = make(rng, xshape, dtype, layout)
    w, w64 = make(rng, (C_in, C_out // groups) + kernel, dtype)
    b, b64 = make(rng, (C_out,), dtype) if bias else (None, None)
    efn = EF.conv_transpose1d if nd == 1 else EF.conv_transpose2d
    tfn = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
    out = efn(x, w, b, stride, padding, output_padding, groups, dilation)
    check(out, lambda tx, tw, tb: tfn(tx, tw, tb, stride, padding, output_padding, groups, dilation), x64, w64, b64,
          dtype)


# (N, C_in, C_out, size, kernel, stride, padding, dilation, groups, bias)
CONV2D_CASES = [
    (1, 1, 1, 1, 1, 1, 0, 1, 1, False),
    (2, 3, 5, 9, 3, 1, 1, 1, 1, True),
    (1, 3, 8, 17, 7, 2, 3, 1, 1, True),  # a stem
    (2, 16, 24, 13, 1, 1, 0, 1, 1, True),  # 1x1: straight GEMM
    (1, 16, 8, 11, 1, 2, 0, 1, 1, False),  # 1x1 stride 2 downsample
    (3, 6, 10, (7, 11), (3, 5), (1, 2), (2, 1), (2, 1), 2, True),
    (1, 8, 8, 12, 3, 1, 1, 1, 8, True),  # depthwise
    (2, 4, 12, 10, 5, 2, 2, 1, 4, True),  # depthwise, channel multiplier 3, stride 2
    (1, 5, 5, 23, 3, 1, 2, 2, 5, False),  # depthwise dilated
    (1, 12, 18, 9, 3, 1, 0, 1, 3, True),
    (2, 7, 13, 19, 5, 3, 1, 1, 1, True),  # primes
    (1, 70, 33, 6, 3, 1, 1, 1, 1, True),  # K = 630 and C_out not a multiple of the register tile
    (1, 100, 20, 5, 3, 1, 1, 1, 1, False),  # K = 900 > one KC block
    (1, 2, 3, (1, 40), (1, 3), 1, (0, 1), 1, 1, True),
    (0, 3, 4, 8, 3, 1, 1, 1, 1, True),  # empty batch
    (1, 3, 4, 4, 5, 1, 1, 1, 1, True),  # kernel larger than input, fits with padding
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV2D_CASES, ids=[str(i) for i in range(len(CONV2D_CASES))])
def test_conv2d(case, dtype):
    run_conv(2, rng_for("conv2d", case, dtype), dtype, *case)


def random_conv_cases(nd, count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        groups = int(rng.choice([1, 1, 1, 2, 3]))
        c_in = groups * int(rng.integers(1, 6))
        c_out = groups * int(rng.integers(1, 6))
        kernel = tuple(int(rng.choice([1, 2, 3, 5, 7])) for _ in range(nd))
        stride = tuple(int(rng.integers(1, 4)) for _ in range(nd))
        dilation = tuple(int(rng.integers(1, 3)) for _ in range(nd))
        padding = tuple(int(rng.integers(0, 4)) for _ in range(nd))
        size = tuple(max(int(rng.integers(1, 24)), (k - 1) * d + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding))
        cases.append((int(rng.integers(1, 4)), c_in, c_out, size, kernel, stride, padding, dilation, groups,
                      bool(rng.integers(0, 2))))
    return cases


@pytest.mark.parametrize("case", random_conv_cases(2, 30, 1))
def test_conv2d_random(case):
    run_conv(2, rng_for("conv2d_random", case), "float32", *case)


@pytest.mark.parametrize("case", random_conv_cases(1, 30, 2))
def test_conv1d_random(case):
    run_conv(1, rng_for("conv1d_random", case), "float32", *case)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        (2, 80, 96, 301, 3, 1, 1, 1, 1, True),  # a Whisper-style front end
        (1, 96, 96, 301, 3, 2, 1, 1, 1, True),
        (3, 4, 6, 17, 5, 1, 2, 3, 2, False),
        (1, 6, 6, 40, 7, 1, 3, 1, 6, True),  # depthwise
        (2, 1, 4, 1, 1, 1, 0, 1, 1, True),
        (1, 3, 6, 5000, 5, 1, 3, 2, 3, True),  # depthwise, multiplier 2, rows longer than one chunk
        (1, 4, 4, 300, 3, 2, 1, 1, 4, False),  # depthwise, strided
    ],
)
def test_conv1d(case, dtype):
    run_conv(1, rng_for("conv1d", case, dtype), dtype, *case)


@pytest.mark.parametrize("layout", ["T", "step"])
@pytest.mark.parametrize("nd", [1, 2])
def test_conv_noncontiguous(nd, layout):
    rng = rng_for("noncontig", nd, layout)
    run_conv(nd, rng, "float32", 2, 6, 4, 11, 3, 2, 1, 1, 2, True, layout=layout, w_layout=layout)
    run_conv(nd, rng, "float32", 2, 6, 6, 11, 3, 1, 1, 1, 6, True, layout=layout, w_layout=layout)
    run_conv(nd, rng, "float32", 2, 6, 5, 9, 1, 1, 0, 1, 1, False, layout=layout)


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_unbatched(nd):
    rng = rng_for("unbatched", nd)
    run_conv(nd, rng, "float32", 1, 3, 4, 8, 3, 1, 1, 1, 1, True, unbatched=True)
    run_conv_transpose(nd, rng, "float32", 1, 3, 4, 5, 3, 2, 1, 1, 1, 1, True, unbatched=True)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("nd", [1, 2])
def test_conv_padding_modes(nd, kernel, padding):
    rng = rng_for("padmode", nd, kernel, padding)
    for dilation in (1, 2):
        run_conv(nd, rng, "float32", 2, 3, 5, 13, kernel, 1, padding, dilation, 1, True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    # (N, C_in, C_out, size, kernel, stride, padding, output_padding, groups, dilation, bias)
    "case",
    [
        (1, 1, 1, 1, 1, 1, 0, 0, 1, 1, False),
        (2, 4, 3, 7, 3, 2, 1, 1, 1, 1, True),
        (1, 6, 4, (5, 8), (4, 3), (2, 3), (1, 0), (1, 2), 2, 1, True),
        (2, 5, 7, 9, 3, 1, 2, 0, 1, 2, True),
        (1, 8, 8, 6, 3, 2, 1, 1, 8, 1, True),  # depthwise
        (1, 3, 2, 4, 5, 3, 4, 2, 1, 1, False),  # padding larger than the kernel reach
        (0, 3, 4, 5, 3, 2, 1, 0, 1, 1, True),
        (1, 64, 32, 10, 4, 2, 1, 0, 1, 1, True),
    ],
)
def test_conv_transpose2d(case, dtype):
    run_conv_transpose(2, rng_for("convt2d", case, dtype), dtype, *case)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "case",
    [
        (2, 4, 6, 25, 4, 2, 1, 0, 1, 1, True),
        (1, 6, 6, 10, 7, 3, 3, 2, 3, 1, True),
        (1, 32, 16, 40, 16, 8, 4, 0, 1, 1, True),  # a vocoder upsampler
        (2, 3, 3, 11, 3, 1, 0, 0, 1, 3, False),
        (1, 2, 4, 5, 1, 3, 0, 2, 1, 1, True),  # stride > kernel: some outputs get the bias only
        (2, 5, 10, 30, 4, 2, 1, 1, 5, 1, True),  # depthwise, multiplier 2
    ],
)
def test_conv_transpose1d(case, dtype):
    run_conv_transpose(1, rng_for("convt1d", case, dtype), dtype, *case)


def random_transpose_cases(nd, count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        groups = int(rng.choice([1, 1, 2, 3]))
        kernel = tuple(int(rng.choice([1, 2, 3, 5])) for _ in range(nd))
        stride = tuple(int(rng.integers(1, 4)) for _ in range(nd))
        dilation = tuple(int(rng.integers(1, 3)) for _ in range(nd))
        out_pad = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        padding = tuple(int(rng.integers(0, 3)) for _ in range(nd))
        size = tuple(int(rng.integers(1, 12)) + 2 * p for p in padding)  # a non-empty output
        cases.append((int(rng.integers(1, 3)), groups * int(rng.integers(1, 5)), groups * int(rng.integers(1, 5)),
                      size, kernel, stride, padding, out_pad, groups, dilation, bool(rng.integers(0, 2))))
    return cases


@pytest.mark.parametrize("case", random_transpose_cases(2, 20, 3) + random_transpose_cases(1, 10, 4))
def test_conv_transpose_random(case):
    nd = len(case[3])
    run_conv_transpose(nd, rng_for("convt_random", case), "float32", *case)


def test_conv_transpose_noncontiguous():
    rng = rng_for("convt_noncontig")
    for layout in ("T", "step"):
        run_conv_transpose(2, rng, "float32", 2, 4, 6, 7, 3, 2, 1, 1, 2, 1, True, layout=layout)


def test_conv_keywords_and_tuples():
    rng = rng_for("keywords")
    x, x64 = make(rng, (1, 4, 9, 10), "float32")
    w, w64 = make(rng, (6, 2, 3, 2), "float32")
    out = EF.conv2d(x, w, stride=[2, 1], padding=(1, 0), dilation=(1, 2), groups=2)
    check(out, lambda tx, tw, tb: F.conv2d(tx, tw, None, (2, 1), (1, 0), (1, 2), 2), x64, w64, None, "float32")
    out = ember.conv2d(x, w, None, 1, "same", 1, 2)
    assert tuple(out.shape) == (1, 6, 9, 10)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 2, 3, 3)), ["conv2d", "(1, 3, 8, 8)", "(4, 2, 3, 3)"]),
        (lambda: EF.conv2d(ember.zeros(1, 4, 8, 8), ember.zeros(6, 2, 3, 3), groups=3), ["conv2d", "groups=3"]),
        (lambda: EF.conv2d(ember.zeros(1, 4, 8, 8), ember.zeros(6, 2, 3, 3), groups=4), ["conv2d", "(6, 2, 3, 3)"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 2, 2), ember.zeros(4, 3, 3, 3)), ["conv2d", "larger", "(1, 3, 2, 2)"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 4, 4), ember.zeros(4, 3, 3, 3), dilation=2), ["conv2d", "larger"]),
        (lambda: EF.conv2d(ember.zeros(3, 8), ember.zeros(4, 3, 3, 3)), ["conv2d", "(3, 8)"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3)), ["conv2d", "(4, 3, 3)"]),
        (lambda: EF.conv1d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3)), ["conv1d", "(1, 3, 8, 8)"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3, 3), stride=2, padding="same"), ["same", "strided"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3, 3), padding="full"), ["conv2d", "full"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3, 3), stride=0), ["conv2d", "stride"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3, 3), padding=-1), ["conv2d", "padding"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3, 3), stride=(1, 1, 1)), ["conv2d", "stride"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3, 3), ember.zeros(5)), ["conv2d", "bias", "(5,)"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 3, 3, 3), groups=0), ["conv2d", "groups"]),
        (lambda: EF.conv2d(ember.zeros(1, 3, 0, 8), ember.zeros(4, 3, 3, 3)), ["conv2d", "(1, 3, 0, 8)"]),
        (lambda: EF.conv_transpose2d(ember.zeros(1, 3, 8, 8), ember.zeros(4, 2, 3, 3)), ["conv_transpose2d", "(4, 2, 3, 3)"]),
        (lambda: EF.conv_transpose2d(ember.zeros(1, 3, 8, 8), ember.zeros(3, 2, 3, 3), groups=2), ["conv_transpose2d", "groups=2"]),
        (lambda: EF.conv_transpose2d(ember.zeros(1, 3, 8, 8), ember.zeros(3, 2, 3, 3), stride=2, output_padding=2),
         ["conv_transpose2d", "output_padding"]),
        (lambda: EF.conv_transpose1d(ember.zeros(1, 3, 2), ember.zeros(3, 2, 3), padding=3), ["conv_transpose1d", "empty"]),
    ],
)
def test_conv_bad_arguments(call, words):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_conv_dtype_errors():
    x = ember.zeros(1, 3, 8, 8)
    with pytest.raises(TypeError, match="conv2d"):
        EF.conv2d(x, ember.zeros(4, 3, 3, 3, dtype=ember.float16))
    with pytest.raises(TypeError, match="conv2d"):
        EF.conv2d(x, ember.zeros(4, 3, 3, 3), ember.zeros(4, dtype=ember.bfloat16))
    with pytest.raises(TypeError, match="conv2d"):
        EF.conv2d(x.to(ember.int32), ember.zeros(4, 3, 3, 3, dtype=ember.int32))
    with pytest.raises(NotImplementedError, match="float64"):
        EF.conv2d(x.double(), ember.zeros(4, 3, 3, 3, dtype=ember.float64))


def test_conv_workspace_is_bounded():
    # im2col of this input would take 64 * 9 * 512 * 512 * 4 bytes = 576 MiB; the kernels tile it.
    rng = rng_for("workspace")
    x, _ = make(rng, (1, 64, 512, 512), "float32")
    w, _ = make(rng, (8, 64, 3, 3), "float32")
    ember._C._reset_conv_workspace_peak()
    before = ember._C._conv_workspace_bytes()
    out = EF.conv2d(x, w, padding=1)
    peak = ember._C._conv_workspace_peak_bytes()
    assert tuple(out.shape) == (1, 8, 512, 512)
    assert peak - before < 16 * 2**20, f"conv2d scratch peaked at {(peak - before) / 2**20:.1f} MiB"
    assert peak > 0
    # a few output positions against a direct float64 sum
    x64 = np.asarray(x.numpy()).astype(np.float64)
    w64 = np.asarray(w.numpy()).astype(np.float64)
    got = np.asarray(out.numpy())
    xp = np.pad(x64[0], ((0, 0), (1, 1), (1, 1)))
    for co, oh, ow in [(0, 0, 0), (7, 511, 511), (3, 200, 17), (5, 0, 300)]:
        ref = (xp[:, oh:oh + 3, ow:ow + 3] * w64[co]).sum()
        mag = (np.abs(xp[:, oh:oh + 3, ow:ow + 3]) * np.abs(w64[co])).sum()
        assert abs(got[0, co, oh, ow] - ref) <= SUM_RTOL * mag


def test_conv_negative_strides():
    # numpy views walking backwards (negative strides) for the input, weight and bias
    rng = rng_for("negative strides")
    x64 = rng.uniform(-1, 1, size=(2, 4, 9, 12)).astype(np.float32)
    w64 = rng.uniform(-1, 1, size=(6, 2, 3, 3)).astype(np.float32)
    b64 = rng.uniform(-1, 1, size=(6,)).astype(np.float32)
    xr, wr, br = x64[:, ::-1, :, ::-1], w64[::-1, :, ::-1], b64[::-1]
    x, w, b = ember.from_numpy(xr), ember.from_numpy(wr), ember.from_numpy(br)
    out = EF.conv2d(x, w, b, 1, 1, 1, 2)
    ref = lambda tx, tw, tb: F.conv2d(tx, tw, tb, 1, 1, 1, 2)  # noqa: E731
    check(out, ref, xr.astype(np.float64), wr.astype(np.float64), br.astype(np.float64), "float32")
    xt = ember.from_numpy(x64[:, :, ::-1])
    wt = ember.from_numpy(w64[:4, ::-1].copy())
    out = EF.conv_transpose2d(xt, wt, b[:4], 2, 1, 1, 2)
    ref = lambda tx, tw, tb: F.conv_transpose2d(tx, tw, tb, 2, 1, 1, 2)  # noqa: E731
    check(out, ref, x64[:, :, ::-1].astype(np.float64), w64[:4, ::-1].astype(np.float64),
          br[:4].astype(np.float64), "float32")
