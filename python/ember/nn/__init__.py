"""Neural-network building blocks with torch.nn's names: modules hold parameters (Tensors or
QTensors) and call the fused ops of ember.nn.functional."""

from ember.nn import functional, init  # noqa: F401
from ember.nn.embedding import Embedding  # noqa: F401
from ember.nn.linear import Identity, Linear  # noqa: F401
from ember.nn.module import Module, ModuleDict, ModuleList, Sequential  # noqa: F401
from ember.nn.normalization import LayerNorm, RMSNorm  # noqa: F401
from ember.nn.var_builder import CheckpointMismatchError, VarBuilder  # noqa: F401
