"""Neural-network building blocks. Modules arrive with issue #6; functional ops live in
ember.nn.functional."""

from ember.nn import functional  # noqa: F401
from ember.nn.var_builder import VarBuilder, CheckpointMismatchError  # noqa: F401
