"""Text form of tensors, in the style of numpy and torch: tensor([[1.0000, 2.0000], ...])."""

import math

from ember import _C

_THRESHOLD = 1000  # elements above which the printout is summarised
_EDGE = 3  # items kept at each end of a summarised dim
_DEFAULT_DTYPES = ("float32", "int64", "bool")


def _summarised_values(t, summarise):
    """Nested lists of the values to print; None marks an elided run."""
    if t.ndim == 0:
        return t.item()
    n = t.shape[0]
    if summarise and n > 2 * _EDGE:
        head = [_summarised_values(t[i], summarise) for i in range(_EDGE)]
        tail = [_summarised_values(t[i], summarise) for i in range(n - _EDGE, n)]
        return head + [None] + tail
    if t.ndim == 1:
        return t.tolist()
    return [_summarised_values(t[i], summarise) for i in range(n)]


def _flatten(values, out):
    if isinstance(values, list):
        for v in values:
            _flatten(v, out)
    elif values is not None:
        out.append(values)
    return out


def _float_formatter(values):
    finite = [abs(v) for v in values if math.isfinite(v)]
    if not finite:
        return lambda v: _special(v)
    max_abs = max(finite)
    nonzero = [v for v in finite if v != 0]
    min_abs = min(nonzero) if nonzero else 0.0
    integral = all(v == math.floor(v) for v in finite)
    if integral and max_abs < 1e8:
        fmt = "{:.0f}."
    elif max_abs >= 1e8 or (nonzero and (min_abs < 1e-4 or max_abs / min_abs > 1e3)):
        fmt = "{:.4e}"
    else:
        fmt = "{:.4f}"
    return lambda v: fmt.format(v) if math.isfinite(v) else _special(v)


def _special(v):
    if math.isnan(v):
        return "nan"
    return "inf" if v > 0 else "-inf"


def _formatter(dtype_name, flat):
    if dtype_name == "bool":
        return lambda v: "True" if v else "False"
    if dtype_name.startswith("float") or dtype_name == "bfloat16":
        return _float_formatter(flat)
    return str


def _render(values, fmt, width, indent, ndim):
    if not isinstance(values, list):
        return fmt(values).rjust(width)
    if ndim == 1:
        items = ["..." if v is None else fmt(v).rjust(width) for v in values]
        return "[" + ", ".join(items) + "]"
    sep = "," + "\n" * (ndim - 1) + " " * (indent + 1)
    rows = ["..." if v is None else _render(v, fmt, width, indent + 1, ndim - 1) for v in values]
    return "[" + sep.join(rows) + "]"


def _body(t, prefix_len):
    summarise = t.numel() > _THRESHOLD
    values = _summarised_values(t, summarise)
    flat = _flatten(values, [])
    fmt = _formatter(t.dtype.name, flat)
    width = max((len(fmt(v)) for v in flat), default=0)
    return _render(values, fmt, width, prefix_len, t.ndim)


def tensor_repr(t):
    prefix = "tensor("
    suffix = []
    if t.numel() == 0 and t.shape != (0,):
        body = "[]"
        suffix.append(f"size={t.shape}")
    else:
        body = _body(t, len(prefix))
    if t.dtype.name not in _DEFAULT_DTYPES:
        suffix.append(f"dtype={t.dtype!r}")
    if str(t.device) != "cpu":
        suffix.append(f"device='{t.device}'")
    return prefix + body + "".join(", " + s for s in suffix) + ")"


def tensor_iter(t):
    if t.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    for i in range(t.shape[0]):
        yield t[i]


def tensor_format(t, spec):
    if t.ndim == 0 and spec:
        return format(t.item(), spec)
    return tensor_repr(t) if not spec else format(tensor_repr(t), spec)
