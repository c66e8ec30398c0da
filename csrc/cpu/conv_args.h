// Plain struct that carries a convolution into the per-ISA kernel translation units (the rules of
// cpu/kernel_args.h apply: POD only, nothing from core beyond dtype.h).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace ember::cpu {

// y[n, co, oh, ow] = bias[co] + sum over ci < C_in / groups, kh, kw of
//   w[co, ci, kh, kw] * x[n, g * C_in / groups + ci, oh * stride_h - pad_h + kh * dil_h, ow * ... ]
// where g = co / (C_out / groups) and x is zero outside its bounds (the padding may be negative).
// x, y: any element strides (N, C, H, W). w: contiguous (C_out, C_in / groups, KH, KW). bias: null
// or C_out values at bias_stride. All share `dtype` (F32, F16 or BF16).
struct ConvArgs {
  DType dtype = DType::F32;
  int64_t N = 0, C_in = 0, H = 0, W = 0;
  int64_t C_out = 0, KH = 1, KW = 1, OH = 0, OW = 0, groups = 1;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  const void* x = nullptr;
  int64_t x_strides[4] = {};
  const void* w = nullptr;
  const void* bias = nullptr;
  int64_t bias_stride = 1;
  void* y = nullptr;
  int64_t y_strides[4] = {};
};

// Workspace accounting (a debug counter for tests): kernels report every growth and release of
// their scratch buffers. Defined in a baseline TU.
void conv_workspace_changed(int64_t delta_bytes);

}  // namespace ember::cpu
