// Attention front-ends (issue #3).
#pragma once
#include <optional>

#include "core/tensor.h"

namespace ember {

// torch.nn.functional.scaled_dot_product_attention without dropout. q (B, H, L, E), k (B, Hk, S, E),
// v (B, Hk, S, Ev), or the same without B. Grouped-query attention when Hk divides H (query head h
// reads kv head h / (H / Hk), nothing copied); enable_gqa == false requires Hk == H. attn_mask: bool
// (true keeps) or float (added to the scores), broadcastable to (B, H, L, S). is_causal aligns the
// last query with the last key (query l sees keys j <= l + S - L: decode and chunked prefill), unlike
// torch, which aligns the first ones; it combines with attn_mask (both must keep a key). scale
// defaults to 1 / sqrt(E). A query that sees no key at all gets zeros (as torch 2.13 gives on CPU).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const std::optional<Tensor>& attn_mask, bool is_causal,
                                    std::optional<double> scale, bool enable_gqa);

}  // namespace ember
