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
