"""Functional ops with torch.nn.functional's names and arguments."""

from ember import _C

softmax = _C.softmax
log_softmax = _C.log_softmax
relu = _C.relu
silu = _C.silu
sigmoid = _C.sigmoid
softplus = _C.softplus
tanh = _C.tanh


def gelu(input, approximate: str = "none"):
    """GELU with the exact erf form (approximate='none') or the tanh approximation ('tanh')."""
    if approximate == "none":
        return _C.gelu(input)
    if approximate == "tanh":
        return _C.gelu_tanh(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# ---- pool ----

import math as _math  # noqa: E402


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over (N, C, L) or (C, L); with return_indices also the position of each maximum."""
    return _C._max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over (N, C, H, W) or (C, H, W); indices are flat h * W + w positions in each plane."""
    return _C._max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _C._avg_pool1d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    return _C._avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def adaptive_avg_pool1d(input, output_size):
    return _C._adaptive_avg_pool1d(input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """output_size: an int, or a pair whose None entries keep that input size."""
    return _C._adaptive_avg_pool2d(input, output_size)


_LINEAR_MODES = ("linear", "bilinear", "bicubic", "trilinear")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resamples (N, C, L) or (N, C, H, W) inputs like torch: modes 'nearest' (torch's legacy index rule),
    'nearest-exact', 'linear' (3-D), 'bilinear' (4-D) and 'area'."""
    if align_corners is not None and mode not in _LINEAR_MODES:
        raise ValueError("interpolate: align_corners can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    dim = input.ndim - 2
    if dim < 1:
        raise ValueError(f"interpolate: expected an input of 3 or 4 dims (N, C, ...), got shape {tuple(input.shape)}")
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    scales = []
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
        output_size = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(output_size) != dim:
            raise ValueError(f"interpolate: input with spatial shape {tuple(input.shape[2:])} needs {dim} output sizes, got {size}")
    elif scale_factor is not None:
        factors = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
        if len(factors) != dim:
            raise ValueError(f"interpolate: input with spatial shape {tuple(input.shape[2:])} needs {dim} scale factors, "
                             f"got {scale_factor}")
        output_size = [_math.floor(float(input.shape[i + 2]) * float(f)) for i, f in enumerate(factors)]
        if not (recompute_scale_factor or mode == "area"):
            scales = [float(f) for f in factors]
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    return _C._interpolate(input, output_size, mode, bool(align_corners), scales)


def pad(input, pad, mode="constant", value=None):
    """Pads the last len(pad) // 2 dims (last dim first); negative amounts crop."""
    return _C._pad(input, pad, mode, value)


pixel_shuffle = _C.pixel_shuffle
pixel_unshuffle = _C.pixel_unshuffle
