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
