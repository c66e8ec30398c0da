#pragma once
#include "core/backend.h"

namespace ember::cpu {

// The process-wide CPU backend.
Backend& cpu_backend();

// ---- attention (issue #3): cpu/cpu_attention.cpp ----
void scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
                                  bool causal, double scale, const Tensor& dst);

}  // namespace ember::cpu
