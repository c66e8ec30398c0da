"""Reference implementations of model families, one module per family.

Each module has a config dataclass (read from a Hugging Face config.json or GGUF metadata), the
model, and ``from_pretrained(path_or_repo_id)``. Modules are imported on first use.
"""

import importlib

_FAMILIES = ("llama", "bert")

__all__ = list(_FAMILIES)


def __getattr__(name):
    if name in _FAMILIES:
        return importlib.import_module(f"ember.models.{name}")
    raise AttributeError(f"module 'ember.models' has no attribute {name!r}")
