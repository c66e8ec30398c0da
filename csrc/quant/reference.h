// Scalar reference quantization and dequantization of every QType, one row at a time. These define
// the math; SIMD kernels are tested against them. Rows hold k elements, k a multiple of the type's
// block size (callers check). Results match ggml's reference functions bit for bit where the issue
// asks for it (see tests/python/test_quant_reference.py).
#pragma once
#include <cstdint>

#include "quant/qtypes.h"

namespace ember::quant {

void quantize_row(QType type, const float* x, void* blocks, int64_t k);
void dequantize_row(QType type, const void* blocks, float* y, int64_t k);

}  // namespace ember::quant
