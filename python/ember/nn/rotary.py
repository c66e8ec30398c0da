"""Rotary position embeddings (RoPE) with the scaling variants of Hugging Face transformers.

The cos / sin tables are computed once, at construction, in float32 (numpy; the same float32
arithmetic as transformers' ``ROPE_INIT_FUNCTIONS``), and applied with the fused ``ember.rope`` op
(half-split / GPT-NeoX pairing, as Hugging Face checkpoints expect) or ``ember.rope_interleaved``
(GPT-J pairing). Supported ``rope_scaling`` types: None / "default", "linear", "dynamic" (NTK,
recomputed when a longer sequence is requested, exactly when transformers recomputes it), "llama3"
and "yarn" (with its attention factor, which multiplies cos and sin).
"""

from __future__ import annotations

import math

import numpy as np

from ember import _C
from ember.nn.module import Module

__all__ = ["RotaryEmbedding", "rope_inv_freq"]

_TYPES = ("default", "linear", "dynamic", "llama3", "yarn")


def _base_inv_freq(base, dim):
    # transformers: 1 / (base ** (arange(0, dim, 2).float() / dim)), all in float32
    exponent = np.arange(0, dim, 2, dtype=np.int64).astype(np.float32) / np.float32(dim)
    return (np.float32(1.0) / (np.float32(base) ** exponent)).astype(np.float32)


def rope_inv_freq(rope_type, dim, base, scaling, max_position_embeddings, seq_len=None):
    """(inv_freq float32 (dim / 2,), attention_factor) for one rope type, as transformers computes them.

    ``scaling`` is the rope_scaling dict (factor, low_freq_factor, ...); ``seq_len`` only matters for
    "dynamic" (the length the frequencies are stretched for)."""
    scaling = scaling or {}
    if rope_type == "default":
        return _base_inv_freq(base, dim), 1.0
    if rope_type == "linear":
        return (_base_inv_freq(base, dim) / np.float32(scaling["factor"])).astype(np.float32), 1.0
    if rope_type == "dynamic":
        factor = float(scaling["factor"])
        seq_len = max(seq_len or max_position_embeddings, max_position_embeddings)
        base = base * ((factor * seq_len / max_position_embeddings) - (factor - 1)) ** (dim / (dim - 2))
        return _base_inv_freq(base, dim), 1.0
    if rope_type == "llama3":
        inv_freq = _base_inv_freq(base, dim)
        factor = float(scaling["factor"])
        low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
        old_len = float(scaling.get("original_max_position_embeddings") or max_position_embeddings)
        low_wavelen, high_wavelen = old_len / low, old_len / high
        wavelen = (np.float32(2 * math.pi) / inv_freq).astype(np.float32)
        scaled = np.where(wavelen > low_wavelen, inv_freq / np.float32(factor), inv_freq).astype(np.float32)
        smooth = ((np.float32(old_len) / wavelen - np.float32(low)) / np.float32(high - low)).astype(np.float32)
        smoothed = (1 - smooth) * scaled / np.float32(factor) + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return np.where(medium, smoothed, scaled).astype(np.float32), 1.0
    if rope_type == "yarn":
        original = scaling.get("original_max_position_embeddings") or max_position_embeddings
        factor = scaling.get("factor")
        if factor is None:
            factor = max_position_embeddings / original
        factor = float(factor)
        attention_factor = scaling.get("attention_factor")
        mscale, mscale_all_dim = scaling.get("mscale"), scaling.get("mscale_all_dim")

        def get_mscale(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        if attention_factor is None:
            if mscale and mscale_all_dim:
                attention_factor = get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim)
            else:
                attention_factor = get_mscale(factor)
        beta_fast = scaling.get("beta_fast") or 32
        beta_slow = scaling.get("beta_slow") or 1

        def correction_dim(rotations):
            return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

        lo, hi = correction_dim(beta_fast), correction_dim(beta_slow)
        if scaling.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        ramp = np.clip((np.arange(dim // 2, dtype=np.float32) - np.float32(lo)) / np.float32(hi - lo), 0, 1)
        extrapolation_factor = (1 - ramp).astype(np.float32)
        pos_freqs = (np.float32(base) ** (np.arange(0, dim, 2).astype(np.float32) / np.float32(dim))).astype(np.float32)
        extrapolation = np.float32(1.0) / pos_freqs
        interpolation = np.float32(1.0) / (np.float32(factor) * pos_freqs)
        inv_freq = interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor
        return inv_freq.astype(np.float32), float(attention_factor)
    raise ValueError(f"RotaryEmbedding: unsupported rope_scaling type {rope_type!r}; supported: {', '.join(_TYPES)}")


def _tables(inv_freq, positions, attention_factor):
    freqs = np.outer(positions.astype(np.float32), inv_freq).astype(np.float32)
    cos, sin = np.cos(freqs), np.sin(freqs)
    if attention_factor != 1.0:
        cos, sin = cos * np.float32(attention_factor), sin * np.float32(attention_factor)
    return np.ascontiguousarray(cos, np.float32), np.ascontiguousarray(sin, np.float32)


class RotaryEmbedding(Module):
    """RoPE for heads of ``head_dim``, positions [0, max_len) (default max_position_embeddings).

    ``rope_scaling``: None or a dict with "rope_type" (or "type") and that type's parameters, as in
    a Hugging Face config.json. ``partial_rotary_factor`` < 1 rotates only the first
    int(head_dim * factor) features of each head. ``dtype``: the dtype of the tables (default
    float32; the fused op computes in float32 for 16-bit inputs anyway). ``interleaved``: GPT-J
    pairing (2i, 2i + 1) instead of the half-split pairing (i, i + rot_dim / 2). ``freq_factors``:
    divisors of the rot_dim / 2 frequencies (llama.cpp's ``rope_freqs`` tensor).

    ``rotate(x, start_pos, layout)`` rotates x whose rows are positions start_pos, start_pos + 1, ...
    (layout "bshd": (batch, seq, heads, head_dim), or "bhsd").
    """

    def __init__(self, head_dim, max_position_embeddings, rope_theta=10000.0, rope_scaling=None,
                 partial_rotary_factor=1.0, dtype=None, max_len=None, interleaved=False, device=None,
                 freq_factors=None):
        super().__init__()
        rope_scaling = dict(rope_scaling) if rope_scaling else None
        rope_type = "default"
        if rope_scaling:
            rope_type = rope_scaling.get("rope_type", rope_scaling.get("type", "default"))
        if rope_type not in _TYPES:
            raise ValueError(f"RotaryEmbedding: unsupported rope_scaling type {rope_type!r}; supported: "
                             f"{', '.join(_TYPES)}")
        rot_dim = int(head_dim * partial_rotary_factor)
        if rot_dim <= 0 or rot_dim % 2 or rot_dim > head_dim:
            raise ValueError(f"RotaryEmbedding: the rotary dim int(head_dim * partial_rotary_factor) = {rot_dim} "
                             f"must be even and in (0, head_dim = {head_dim}]")
        self.head_dim = int(head_dim)
        self.rot_dim = rot_dim
        self.max_position_embeddings = int(max_position_embeddings)
        self.max_len = int(max_len if max_len is not None else max_position_embeddings)
        self.rope_theta = float(rope_theta)
        self.rope_type = rope_type
        self.rope_scaling = rope_scaling
        self.interleaved = bool(interleaved)
        self._op = _C.rope_interleaved if interleaved else _C.rope
        self._dtype = dtype or _C.float32
        self._device = device
        inv_freq, self.attention_factor = rope_inv_freq(rope_type, rot_dim, self.rope_theta, rope_scaling,
                                                        self.max_position_embeddings)
        if freq_factors is not None:  # llama.cpp's rope_freqs tensor: per-frequency divisors
            freq_factors = np.asarray(freq_factors, np.float32).reshape(-1)
            if freq_factors.shape != inv_freq.shape:
                raise ValueError(f"RotaryEmbedding: freq_factors must have rot_dim / 2 = {inv_freq.size} entries, "
                                 f"got {freq_factors.size}")
            inv_freq = (inv_freq / freq_factors).astype(np.float32)
        self._original_inv_freq = inv_freq
        # "dynamic" state, as transformers keeps it: the length the current frequencies were made for
        self._inv_freq = inv_freq
        self._max_seq_len_cached = self.max_position_embeddings
        cos, sin = _tables(inv_freq, np.arange(self.max_len), self.attention_factor)
        self.register_buffer("cos", self._tensor(cos), persistent=False)
        self.register_buffer("sin", self._tensor(sin), persistent=False)

    def _tensor(self, a):
        t = _C.tensor(a)
        if self._dtype != _C.float32:
            t = t.to(self._dtype)
        if self._device is not None:
            t = t.to(self._device)
        return t

    def to(self, device=None, dtype=None):
        if isinstance(device, _C.dtype):
            device, dtype = None, device
        if dtype is not None:
            self._dtype = dtype
        if device is not None:
            self._device = device
        return super().to(device, dtype)

    def cos_sin(self, start_pos, seq_len):
        """The (seq_len, rot_dim / 2) cos and sin rows for positions start_pos .. start_pos + seq_len - 1."""
        end = start_pos + seq_len
        if end > self.max_len:
            raise ValueError(f"RotaryEmbedding: positions up to {end - 1} requested, but the tables hold "
                             f"{self.max_len} positions (max_len)")
        if self.rope_type == "dynamic" and self._dynamic_update(end):
            cos, sin = _tables(self._inv_freq, np.arange(start_pos, end), self.attention_factor)
            return self._tensor(cos), self._tensor(sin)
        b = self._buffers
        return b["cos"][start_pos:end], b["sin"][start_pos:end]

    def _dynamic_update(self, seq_len):
        """transformers' dynamic_frequency_update; True when the frequencies differ from the tables'."""
        if seq_len > self._max_seq_len_cached:  # growth
            self._inv_freq, _ = rope_inv_freq("dynamic", self.rot_dim, self.rope_theta, self.rope_scaling,
                                              self.max_position_embeddings, seq_len=seq_len)
            self._max_seq_len_cached = seq_len
        if seq_len < self.max_position_embeddings < self._max_seq_len_cached:  # back to the original scale
            self._inv_freq = self._original_inv_freq
            self._max_seq_len_cached = self.max_position_embeddings
        return self._inv_freq is not self._original_inv_freq

    def rotate(self, x, start_pos=0, layout="bshd", cos_sin=None):
        """x rotated for positions start_pos, start_pos + 1, ... (a new contiguous tensor).

        ``cos_sin``: tables from ``cos_sin`` to reuse across calls (one lookup per forward)."""
        seq = x.shape[1] if layout == "bshd" else x.shape[2]
        cos, sin = cos_sin if cos_sin is not None else self.cos_sin(start_pos, seq)
        if self.rot_dim == self.head_dim:
            return self._op(x, cos, sin, layout)
        rot = self._op(x.narrow(3, 0, self.rot_dim), cos, sin, layout)
        return _C.cat([rot, x.narrow(3, self.rot_dim, self.head_dim - self.rot_dim)], 3)

    forward = rotate

    def extra_repr(self):
        return (f"head_dim={self.head_dim}, rot_dim={self.rot_dim}, max_len={self.max_len}, "
                f"rope_theta={self.rope_theta}, rope_type={self.rope_type!r}")
