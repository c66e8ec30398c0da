// Arguments of the quantized CPU kernels (issue #4). Rules of kernel_args.h apply.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "quant/qtypes.h"

namespace ember::cpu {

// y[m, n] = sum_k x[m, k] * W[n, k] for m < M, n < N, with W the dequantized rows of a quantized
// weight: row n starts at w + n * w_row_bytes. x and y rows are contiguous (stride 1 along k / n) with
// row strides in elements; x and y share dtype (F32, F16, BF16). Below kQuantGemmMinRows rows of x
// the kernel quantizes x's rows to the weight type's activation type (Q8_0, Q8_1 or Q8_K) and
// accumulates integer dot products; from kQuantGemmMinRows rows on it dequantizes the weight in chunks
// and multiplies them with x in f32 (the GEMM), so x keeps full precision.
constexpr int64_t kQuantGemmMinRows = 32;

struct QMatmulArgs {
  quant::QType wtype = quant::QType::Q4_0;
  const void* w = nullptr;
  int64_t w_row_bytes = 0;
  int64_t N = 0, K = 0, M = 0;
  DType dtype = DType::F32;
  const void* x = nullptr;
  int64_t x_row_stride = 0;
  void* y = nullptr;
  int64_t y_row_stride = 0;
};

}  // namespace ember::cpu
