"""Normalisation layers over the last dimensions (fused kernels in the core)."""

import numbers

from ember import _C
from ember.nn import init
from ember.nn.module import Module


def _shape(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(d) for d in normalized_shape)


def _affine_parameters(module, shape, affine, bias, dtype, device):
    """weight (ones) and bias (zeros) of `shape`, or empty slots when not affine / no bias."""
    module.register_parameter("weight", init.constant(shape, 1.0, dtype, device) if affine else None)
    module.register_parameter("bias", init.constant(shape, 0.0, dtype, device) if affine and bias else None)


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, dtype, device)

    def forward(self, x):
        p = self._parameters
        return _C.layer_norm(x, self.normalized_shape, p["weight"], p["bias"], self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last dimensions. eps=None uses the dtype's
    machine epsilon, as torch.nn.RMSNorm does."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = init.constant(self.normalized_shape, 1.0, dtype, device)
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return _C.rms_norm(x, self.normalized_shape, self._parameters["weight"], self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalises (N, C, *) inputs over groups of num_channels / num_groups channels, then applies the
    per-channel weight and bias."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, dtype, device)

    def forward(self, x):
        p = self._parameters
        return _C.group_norm(x, self.num_groups, p["weight"], p["bias"], self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self._parameters['bias'] is not None}")
