#pragma once
#include "core/backend.h"

namespace ember::cpu {

// The process-wide CPU backend.
Backend& cpu_backend();

// ---- norm (issue #3): CpuBackend's overrides, defined in cpu_norm.cpp (contracts in core/backend.h) ----
void layer_norm(const Tensor& src, const Tensor& weight, const Tensor& bias, double eps, bool rms, const Tensor& dst);
void group_norm(const Tensor& src, int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                const Tensor& dst);
void rope(const Tensor& src, const Tensor& cos, const Tensor& sin, bool interleaved, const Tensor& dst);
void glu(const Tensor& a, const Tensor& b, const Tensor& dst);

}  // namespace ember::cpu
