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
