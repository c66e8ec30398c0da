// The per-type reference rows behind quantize_row / dequantize_row (reference.h): k elements, k a
// multiple of the block size. Defined in ref_legacy.cpp, ref_kquants.cpp and ref_iq4.cpp.
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace ember::quant {

void quantize_row_q4_0(const float* x, block_q4_0* y, int64_t k);
void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t k);
void quantize_row_q4_1(const float* x, block_q4_1* y, int64_t k);
void dequantize_row_q4_1(const block_q4_1* x, float* y, int64_t k);
void quantize_row_q5_0(const float* x, block_q5_0* y, int64_t k);
void dequantize_row_q5_0(const block_q5_0* x, float* y, int64_t k);
void quantize_row_q5_1(const float* x, block_q5_1* y, int64_t k);
void dequantize_row_q5_1(const block_q5_1* x, float* y, int64_t k);
void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t k);
void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t k);
void quantize_row_q8_1(const float* x, block_q8_1* y, int64_t k);
void dequantize_row_q8_1(const block_q8_1* x, float* y, int64_t k);
void quantize_row_q2_K(const float* x, block_q2_K* y, int64_t k);
void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t k);
void quantize_row_q3_K(const float* x, block_q3_K* y, int64_t k);
void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t k);
void quantize_row_q4_K(const float* x, block_q4_K* y, int64_t k);
void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t k);
void quantize_row_q5_K(const float* x, block_q5_K* y, int64_t k);
void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t k);
void quantize_row_q6_K(const float* x, block_q6_K* y, int64_t k);
void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t k);
void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t k);
void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t k);
void quantize_row_iq4_nl(const float* x, block_iq4_nl* y, int64_t k);
void dequantize_row_iq4_nl(const block_iq4_nl* x, float* y, int64_t k);
void quantize_row_iq4_xs(const float* x, block_iq4_xs* y, int64_t k);
void dequantize_row_iq4_xs(const block_iq4_xs* x, float* y, int64_t k);

}  // namespace ember::quant
