// The plain struct that carries one scaled-dot-product-attention call into the per-ISA kernel TUs
// (same rules as cpu/kernel_args.h: POD only, no core headers).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace ember::cpu {

enum class AttentionMaskKind : int { None, Bool, Float };

// out[b, h, l, :] = softmax_j(scale * q[b, h, l, :] . k[b, h / group, j, :] + mask[b, h, l, j]) @ v[b, h / group, :, :]
// with group = heads / kv_heads. Strides are in elements, for (batch, head, position); the last
// dim of q, k, v and out has stride 1. q, k, v and out share `dtype`; a float mask has its
// compute type (float32, or float64 for float64 inputs), a bool mask is one byte per element.
// Mask strides are for (batch, head, query, key) and may be 0 (broadcast). `causal` keeps key j for
// query l when j <= l + kv_len - q_len (the last query sees the last key). A query that sees no key
// gets zeros.
struct AttentionArgs {
  DType dtype = DType::F32;
  int64_t batch = 0, heads = 0, kv_heads = 0, q_len = 0, kv_len = 0, head_dim = 0, v_head_dim = 0;
  const void* q = nullptr;
  int64_t q_stride[3] = {};
  const void* k = nullptr;
  int64_t k_stride[3] = {};
  const void* v = nullptr;
  int64_t v_stride[3] = {};
  void* out = nullptr;
  int64_t out_stride[3] = {};
  AttentionMaskKind mask_kind = AttentionMaskKind::None;
  const void* mask = nullptr;
  int64_t mask_stride[4] = {};
  double scale = 1.0;
  bool causal = false;
};

}  // namespace ember::cpu
