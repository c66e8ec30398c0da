#pragma once
#include "core/backend.h"

namespace ember::cpu {

// The process-wide CPU backend.
Backend& cpu_backend();

// ---- conv (issue #3) ----
void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst, const Backend::ConvParams& p);
void conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst,
                      const Backend::ConvParams& p);
// Bytes of scratch the convolution kernels hold now, and the most they held since the last reset.
int64_t conv_workspace_bytes();
int64_t conv_workspace_peak_bytes();
void reset_conv_workspace_peak();

}  // namespace ember::cpu
