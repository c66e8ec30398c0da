"""Neural-network building blocks. Modules arrive with issue #6; functional ops live in
ember.nn.functional."""

from ember.nn import functional  # noqa: F401
