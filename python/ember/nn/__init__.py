"""Neural-network building blocks with torch.nn's names: modules hold parameters (Tensors or
QTensors) and call the fused ops of ember.nn.functional."""

from ember.nn import functional, init  # noqa: F401
from ember.nn.activation import (  # noqa: F401
    ACT2FN,
    GELU,
    GLU,
    LeakyReLU,
    LogSoftmax,
    Mish,
    QuickGELU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    get_activation,
)
from ember.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from ember.nn.embedding import Embedding  # noqa: F401
from ember.nn.linear import Identity, Linear  # noqa: F401
from ember.nn.module import Module, ModuleDict, ModuleList, Sequential  # noqa: F401
from ember.nn.normalization import GroupNorm, LayerNorm, RMSNorm  # noqa: F401
from ember.nn.pooling import (  # noqa: F401
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Dropout,
    Flatten,
    MaxPool1d,
    MaxPool2d,
    Upsample,
)
from ember.nn.var_builder import CheckpointMismatchError, VarBuilder  # noqa: F401
