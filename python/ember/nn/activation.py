"""Activation modules with torch.nn's names and arguments, and `get_activation` for the activation
names of Hugging Face configs (`hidden_act`). Each is one fused op of the core, or a few whole-tensor
ops where the core has no fused one. `inplace=True` is accepted and has no effect: the result is
always a new tensor."""

from ember import _C
from ember.nn import functional as F
from ember.nn.linear import Identity
from ember.nn.module import Module


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _C.relu(input)


class ReLU6(Module):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _C.clamp(input, 0.0, 6.0)


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return _C.where(input > 0, input, input * self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return _C.gelu(input) if self.approximate == "none" else _C.gelu_tanh(input)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class QuickGELU(Module):
    """x * sigmoid(1.702 * x), the GELU approximation of CLIP (Hugging Face's "quick_gelu")."""

    def forward(self, input):
        return input * _C.sigmoid(input * 1.702)


class SiLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _C.silu(input)


class Mish(Module):
    """x * tanh(softplus(x))."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return input * _C.tanh(_C.softplus(input))


class Sigmoid(Module):
    def forward(self, input):
        return _C.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return _C.tanh(input)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as torch)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        if self.beta == 1 and self.threshold >= 20:
            return _C.softplus(input)  # stable for large x: equals x there to rounding
        scaled = input * self.beta
        return _C.where(scaled > self.threshold, input, _C.softplus(scaled) / self.beta)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class GLU(Module):
    """a * sigmoid(b), where a and b are the two halves of the input along dim."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return _C.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


# Hugging Face `hidden_act` names (transformers.activations.ACT2FN) -> a factory of the module.
_ACTIVATIONS = {
    "gelu": GELU,
    "gelu_new": lambda: GELU(approximate="tanh"),
    "gelu_fast": lambda: GELU(approximate="tanh"),
    "gelu_pytorch_tanh": lambda: GELU(approximate="tanh"),
    "quick_gelu": QuickGELU,
    "relu": ReLU,
    "relu6": ReLU6,
    "leaky_relu": LeakyReLU,
    "silu": SiLU,
    "swish": SiLU,
    "mish": Mish,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "linear": Identity,
}


def get_activation(name):
    """A new activation module for a Hugging Face config's activation name (e.g. config.hidden_act)."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; ember knows: {', '.join(sorted(_ACTIVATIONS))}")
    return _ACTIVATIONS[key]()


class _ACT2FN:
    """Mapping-style access as in transformers: ACT2FN["gelu"] is a new GELU module."""

    def __getitem__(self, name):
        return get_activation(name)

    def __contains__(self, name):
        return name in _ACTIVATIONS

    def keys(self):
        return _ACTIVATIONS.keys()


ACT2FN = _ACT2FN()
