"""A preallocated key/value cache for autoregressive attention.

Keys and values live in one buffer each, laid out (batch, max_len, kv_heads, head_dim) so that
writing the new positions of a (batch, seq, kv_heads, head_dim) projection is one contiguous copy.
``update`` writes in place and returns (batch, kv_heads, length, head_dim) *views* of the positions
attention needs, ready for ``scaled_dot_product_attention(..., is_causal=True)`` (whose causal
mask is aligned bottom-right, so no mask is needed for a plain cache). Nothing is concatenated.

Sliding window (Mistral, some Qwen2 layers): the cache keeps every position (the buffer is
``max_len`` long) but returns only the keys that some query of the call can see: from
``start_pos - window + 1`` on. A single-token step then needs no mask; a chunk of several tokens
that reaches past the window needs the band mask of ``sliding_window_mask`` on top of is_causal.
The buffers are allocated on first use (``ember.empty`` touches no page until written).
"""

from __future__ import annotations

import numpy as np

from ember import _C

__all__ = ["KVCache", "sliding_window_mask", "window_start"]


def window_start(start_pos, sliding_window):
    """The first cached position a query at start_pos (or later) can see."""
    if sliding_window is None:
        return 0
    return max(0, start_pos - sliding_window + 1)


def sliding_window_mask(start_pos, seq_len, sliding_window, device=None):
    """The extra bool mask (seq_len, keys) a chunk of seq_len queries at start_pos needs over the key
    view [window_start(start_pos), start_pos + seq_len) of a sliding-window cache, or None when
    is_causal alone is right (no window, a single query, or a chunk that fits in the window).

    Query i (position p = start_pos + i) sees key position j iff p - window < j <= p; is_causal
    provides j <= p, the mask provides j > p - window."""
    if sliding_window is None or seq_len <= 1 or start_pos + seq_len <= sliding_window:
        return None
    lo = window_start(start_pos, sliding_window)
    q = np.arange(start_pos, start_pos + seq_len)[:, None]
    k = np.arange(lo, start_pos + seq_len)[None, :]
    mask = _C.tensor(k > q - sliding_window)
    return mask if device is None else mask.to(device)


class KVCache:
    """Keys and values of positions [0, max_len) for ``num_kv_heads`` heads of ``head_dim``.

    ``update(k, v, start_pos)``: k and v (batch, num_kv_heads, seq, head_dim) (any strides, e.g. a
    transposed view of a (batch, seq, heads, head_dim) projection) are written at positions
    [start_pos, start_pos + seq); returns (keys, values), views (batch, num_kv_heads, length,
    head_dim) over [window_start, start_pos + seq). ``update_bshd`` takes k and v laid out
    (batch, seq, num_kv_heads, head_dim) (the model's fast path). ``reset()`` forgets everything
    (the buffers are kept)."""

    def __init__(self, batch, num_kv_heads, max_len, head_dim, dtype=None, sliding_window=None, device=None):
        for name, value in (("batch", batch), ("num_kv_heads", num_kv_heads), ("max_len", max_len),
                            ("head_dim", head_dim)):
            if int(value) <= 0:
                raise ValueError(f"KVCache: {name} must be positive, got {value}")
        if sliding_window is not None and int(sliding_window) <= 0:
            raise ValueError(f"KVCache: sliding_window must be positive or None, got {sliding_window}")
        self.batch, self.num_kv_heads = int(batch), int(num_kv_heads)
        self.max_len, self.head_dim = int(max_len), int(head_dim)
        self.dtype = dtype or _C.float32
        self.device = device
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.length = 0  # positions [0, length) hold valid keys and values
        self.k = self.v = None

    def _allocate(self):
        shape = (self.batch, self.max_len, self.num_kv_heads, self.head_dim)
        self.k = _C.empty(*shape, dtype=self.dtype, device=self.device)
        self.v = _C.empty(*shape, dtype=self.dtype, device=self.device)
        self._views = (self.k, self.v, self.k.transpose(1, 2), self.v.transpose(1, 2))

    def buffers(self):
        """(k, v, k_t, v_t): the (batch, max_len, kv_heads, head_dim) buffers and their
        (batch, kv_heads, max_len, head_dim) transposed views, allocated on first use. For callers
        that write and slice the buffers themselves (a model's hot loop); they must then set
        ``length`` and respect ``window_start``."""
        if self.k is None:
            self._allocate()
        return self._views

    def reset(self):
        self.length = 0

    def _check(self, start_pos, seq, batch):
        if start_pos < 0 or start_pos > self.length:
            raise ValueError(f"KVCache: start_pos {start_pos} leaves a gap: the cache holds positions "
                             f"[0, {self.length})")
        if start_pos + seq > self.max_len:
            raise ValueError(f"KVCache: positions [{start_pos}, {start_pos + seq}) do not fit a cache of "
                             f"{self.max_len} positions")
        if batch != self.batch:
            raise ValueError(f"KVCache: batch {batch} differs from the cache's {self.batch}")

    def update_bshd(self, k, v, start_pos):
        seq = k.shape[1]
        self._check(start_pos, seq, k.shape[0])
        kb, vb, kt, vt = self.buffers()
        kb.narrow(1, start_pos, seq).copy_(k)
        vb.narrow(1, start_pos, seq).copy_(v)
        end = self.length = start_pos + seq
        lo = window_start(start_pos, self.sliding_window)
        return kt.narrow(2, lo, end - lo), vt.narrow(2, lo, end - lo)

    def update(self, k, v, start_pos):
        if k.ndim != 4 or tuple(k.shape) != tuple(v.shape) or k.shape[1] != self.num_kv_heads \
                or k.shape[3] != self.head_dim:
            raise ValueError(f"KVCache.update: expected k and v of shape (batch, {self.num_kv_heads}, seq, "
                             f"{self.head_dim}), got {tuple(k.shape)} and {tuple(v.shape)}")
        return self.update_bshd(k.transpose(1, 2), v.transpose(1, 2), start_pos)

    def __repr__(self):
        return (f"KVCache(batch={self.batch}, num_kv_heads={self.num_kv_heads}, max_len={self.max_len}, "
                f"head_dim={self.head_dim}, dtype={self.dtype}, sliding_window={self.sliding_window}, "
                f"length={self.length})")
