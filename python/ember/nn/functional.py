"""Functional ops with torch.nn.functional's names and arguments."""

from ember import _C

softmax = _C.softmax
log_softmax = _C.log_softmax
relu = _C.relu
silu = _C.silu
sigmoid = _C.sigmoid
softplus = _C.softplus
tanh = _C.tanh


def gelu(input, approximate: str = "none"):
    """GELU with the exact erf form (approximate='none') or the tanh approximation ('tanh')."""
    if approximate == "none":
        return _C.gelu(input)
    if approximate == "tanh":
        return _C.gelu_tanh(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# ---- attention ----


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=True
):
    """Attention softmax(query @ key.mT * scale + mask) @ value, fused (flash-attention style).

    Shapes: query (B, H, L, E), key (B, Hk, S, E), value (B, Hk, S, Ev), or the same without B; the
    result is (B, H, L, Ev) in query's dtype (float32, float16, bfloat16 or float64; the 16-bit types
    compute in float32). Arguments as in torch.nn.functional.scaled_dot_product_attention, except:

    - is_causal aligns the LAST query with the LAST key (bottom-right, as flash-attention does): query
      i sees keys 0 .. i + S - L. With L == S that is torch's mask; with L < S (decode, chunked
      prefill over a KV cache) torch aligns top-left instead, so pass an explicit mask to torch.
    - is_causal and attn_mask may be given together: a key must pass both.
    - enable_gqa defaults to True: Hk may be any divisor of H (query head h reads kv head
      h // (H // Hk), without copying key/value); enable_gqa=False requires Hk == H.
    - a query row for which every key is masked returns zeros (as torch 2.13 does on CPU; older
      torch versions return NaN).
    - dropout_p must be 0 (inference only).

    attn_mask: bool (True = take part) or float (added to the scores), broadcastable to
    (B, H, L, S). scale defaults to 1 / sqrt(E).
    """
    return _C.scaled_dot_product_attention(
        query,
        key,
        value,
        attn_mask=attn_mask,
        dropout_p=dropout_p,
        is_causal=is_causal,
        scale=scale,
        enable_gqa=enable_gqa,
    )
