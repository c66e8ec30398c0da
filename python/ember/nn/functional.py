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
