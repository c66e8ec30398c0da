"""Linear and Identity."""

from ember import _C
from ember.nn import init
from ember.nn.module import Module


class Identity(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x @ weight.T + bias. weight (out_features, in_features) may be a Tensor or a QTensor: a
    QTensor runs the quantized matmul (ember.qmatmul) on its blocks, and the output takes x's dtype."""

    accepts_qtensor = True

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = init.fan_in_uniform((out_features, in_features), in_features, dtype, device)
        if bias:
            self.bias = init.fan_in_uniform((out_features,), in_features, dtype, device)
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_weights(cls, weight, bias=None):
        """A Linear that uses `weight` (Tensor or QTensor) and `bias` as they are (no copy)."""
        out_features, in_features = weight.shape
        with init.no_init():
            layer = cls(in_features, out_features, bias=False)
        layer.weight = weight
        if bias is not None:
            layer.bias = bias
        return layer

    def forward(self, x):
        w = self.weight
        if isinstance(w, _C.QTensor):
            y = _C.qmatmul(x, w)
        else:
            y = _C.matmul(x, w.mT)
        b = self._parameters["bias"]
        if b is not None:
            y = y.add_(b)  # in place, so y keeps its dtype (a float32 bias must not promote a float16 output)
        return y

    def extra_repr(self):
        w = self.weight
        kind = f", qtype={w.qtype}" if isinstance(w, _C.QTensor) else ""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self._parameters['bias'] is not None}{kind}")
