"""Convolutions with torch.nn's names, arguments and parameter names (weight, bias), over the fused
conv kernels of the core (float32, float16, bfloat16)."""

import math
import numbers

from ember import _C
from ember.nn import init
from ember.nn.module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(value, n, name):
    if isinstance(value, numbers.Integral):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
    return value


class _ConvNd(Module):
    _nd = 0
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                 output_padding=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        nd = self._nd
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported for transposed convolutions, "
                             f"got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size")
        self.stride = _tuple(stride, nd, "stride")
        self.dilation = _tuple(dilation, nd, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        self.output_padding = _tuple(output_padding, nd, "output_padding")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of ('valid', 'same')")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(padding, nd, "padding")
        # F.pad amounts (last dim first) for the non-zero padding modes, as torch computes them.
        if isinstance(self.padding, str):
            pads = []
            for d, k in zip(self.dilation, self.kernel_size):
                total = d * (k - 1) if self.padding == "same" else 0
                pads.append((total // 2, total - total // 2))
        else:
            pads = [(p, p) for p in self.padding]
        self._reversed_padding_repeated_twice = tuple(x for pair in reversed(pads) for x in pair)
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        fan_in = shape[1] * math.prod(self.kernel_size)
        self.weight = init.fan_in_uniform(shape, fan_in, dtype, device)
        if bias:
            self.bias = init.fan_in_uniform((out_channels,), fan_in, dtype, device)
        else:
            self.register_parameter("bias", None)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self._parameters["bias"] is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device=device, dtype=dtype)

    def forward(self, input):
        p = self._parameters
        if self.padding_mode != "zeros":
            input = _C._pad(input, self._reversed_padding_repeated_twice, self.padding_mode, None)
            return self._conv(input, p["weight"], p["bias"], self.stride, 0, self.dilation, self.groups)
        return self._conv(input, p["weight"], p["bias"], self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or (C_in, L); weight (C_out, C_in / groups, K)."""

    _nd = 1
    _conv = staticmethod(_C.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in / groups, KH, KW)."""

    _nd = 2
    _conv = staticmethod(_C.conv2d)


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if isinstance(padding, str):
            raise TypeError(f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         output_padding=output_padding, device=device, dtype=dtype)

    def _output_padding(self, input, output_size):
        """output_padding that makes the output's spatial size `output_size` (torch's rule)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        output_size = [int(s) for s in output_size]
        if len(output_size) == nd + 2 or (len(output_size) == nd + 1 and input.ndim == nd + 1):
            output_size = output_size[-nd:]
        if len(output_size) != nd:
            raise ValueError(f"{type(self).__name__}: output_size must have {nd} or {nd + 2} elements, got "
                             f"{len(output_size)}")
        spatial = input.shape[-nd:]
        out = []
        for i in range(nd):
            smallest = ((spatial[i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            largest = smallest + self.stride[i] - 1
            if not smallest <= output_size[i] <= largest:
                raise ValueError(f"{type(self).__name__}: requested an output size of {output_size}, but valid sizes "
                                 f"for input spatial size {tuple(spatial)} range from "
                                 f"{smallest} to {largest} in dim {i}")
            out.append(output_size[i] - smallest)
        return tuple(out)

    def forward(self, input, output_size=None):
        p = self._parameters
        output_padding = self._output_padding(input, output_size)
        return self._conv(input, p["weight"], p["bias"], self.stride, self.padding, output_padding, self.groups,
                          self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution; weight (C_in, C_out / groups, K)."""

    _nd = 1
    _conv = staticmethod(_C.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution; weight (C_in, C_out / groups, KH, KW)."""

    _nd = 2
    _conv = staticmethod(_C.conv_transpose2d)
