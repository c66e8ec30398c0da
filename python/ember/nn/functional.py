"""Functional ops with torch.nn.functional's names and arguments."""

from ember import _C

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


# ---- norm ----


def _softmax_dim(name, ndim):
    # torch's legacy rule for dim=None, with its warning.
    import warnings

    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along dim (computed in float32 for float16/bfloat16); dtype: cast the input first."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return _C.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(x)) along dim, computed as (x - max) - log(sum(exp(x - max)))."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return _C.log_softmax(input, dim, dtype=dtype)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing dims `normalized_shape`."""
    return _C.layer_norm(input, normalized_shape, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over `normalized_shape`; eps defaults to the dtype's machine epsilon."""
    return _C.rms_norm(input, normalized_shape, weight, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalises (N, C, *) input over groups of C / num_groups channels, then per channel * weight + bias."""
    return _C.group_norm(input, num_groups, weight, bias, eps)


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of input along dim."""
    return _C.glu(input, dim)


def swiglu(gate, up):
    """silu(gate) * up in one pass (the gated MLP of Llama-style models); gate and up broadcast."""
    return _C.swiglu(gate, up)


def rope(x, cos, sin, layout="bhsd"):
    """Rotary position embedding, GPT-NeoX half-split form: element i pairs with i + head_dim / 2.

    x: (batch, heads, seq, head_dim) for layout="bhsd", (batch, seq, heads, head_dim) for "bshd".
    cos, sin: (seq, head_dim / 2), cos and sin of the angles of the positions of x's rows (so any
    position offset works: pass the rows of the tables for positions p0 .. p0 + seq - 1). The result is
    a new contiguous tensor of x's shape and dtype; f16/bf16 compute in float32.
    """
    return _C.rope(x, cos, sin, layout)


def rope_interleaved(x, cos, sin, layout="bhsd"):
    """Rotary position embedding, GPT-J interleaved form: pairs (0, 1), (2, 3), ...; arguments as rope()."""
    return _C.rope_interleaved(x, cos, sin, layout)
# ---- pool ----

import math as _math


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
# ---- conv ----
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C_in, L) or (C_in, L); padding may be an int, a tuple, 'same' or 'valid'."""
    return _C.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W); padding may be an int, a tuple, 'same' or 'valid'."""
    return _C.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 1-D convolution; weight is (C_in, C_out / groups, K)."""
    return _C.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-D convolution; weight is (C_in, C_out / groups, KH, KW)."""
    return _C.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)
# ---- attention ----


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=True
):
    """Attention softmax(query @ key.mT * scale + mask) @ value, fused (flash-attention style).

    Shapes: query (B, H, L, E), key (B, Hk, S, E), value (B, Hk, S, Ev), or the same without B; the
    result is (B, H, L, Ev) in query's dtype (float32, float16, bfloat16 or float64; the 16-bit types
    compute in float32). Arguments as in torch.nn.functional.scaled_dot_product_attention, except:

    - is_causal aligns the LAST query with the LAST key (bottom-right, as flash-attention does): query
      i sees keys 0 .. i + S - L. With L == S that is torch's mask; with L < S (decode, chunked
      prefill over a KV cache) torch aligns top-left instead, so pass an explicit mask to torch.
    - is_causal and attn_mask may be given together: a key must pass both.
    - enable_gqa defaults to True: Hk may be any divisor of H (query head h reads kv head
      h // (H // Hk), without copying key/value); enable_gqa=False requires Hk == H.
    - a query row for which every key is masked returns zeros (as torch 2.13 does on CPU; older
      torch versions return NaN).
    - dropout_p must be 0 (inference only).

    attn_mask: bool (True = take part) or float (added to the scores), broadcastable to
    (B, H, L, S). scale defaults to 1 / sqrt(E).
    """
    return _C.scaled_dot_product_attention(
        query,
        key,
        value,
        attn_mask=attn_mask,
        dropout_p=dropout_p,
        is_causal=is_causal,
        scale=scale,
        enable_gqa=enable_gqa,
    )
# ---- ordering ----


def one_hot(tensor, num_classes: int = -1):
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each class index."""
    return _C._one_hot(tensor, num_classes)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of `weight` picked by the indices in `input` (any shape): shape input.shape + (embedding_dim,).

    padding_idx only matters for gradients (ember has none yet); it is checked like torch checks it.
    """
    if max_norm is not None:
        raise NotImplementedError("embedding: max_norm is not supported (ember does not renormalise weights)")
    if padding_idx is not None:
        rows = weight.shape[0] if weight.ndim > 0 else 0
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings ({rows})")
    return _C._embedding(input, weight)
