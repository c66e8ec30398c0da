#include "quant/reference.h"

#include <cstring>

#include "core/half.h"
#include "quant/reference_types.h"

namespace ember::quant {

void quantize_row(QType type, const float* x, void* blocks, int64_t k) {
  switch (type) {
    case QType::F32: std::memcpy(blocks, x, static_cast<size_t>(k) * sizeof(float)); return;
    case QType::F16:
      for (int64_t i = 0; i < k; ++i) static_cast<uint16_t*>(blocks)[i] = float_to_half_bits(x[i]);
      return;
    case QType::BF16:
      for (int64_t i = 0; i < k; ++i) static_cast<uint16_t*>(blocks)[i] = float_to_bf16_bits(x[i]);
      return;
    case QType::Q4_0: return quantize_row_q4_0(x, static_cast<block_q4_0*>(blocks), k);
    case QType::Q4_1: return quantize_row_q4_1(x, static_cast<block_q4_1*>(blocks), k);
    case QType::Q5_0: return quantize_row_q5_0(x, static_cast<block_q5_0*>(blocks), k);
    case QType::Q5_1: return quantize_row_q5_1(x, static_cast<block_q5_1*>(blocks), k);
    case QType::Q8_0: return quantize_row_q8_0(x, static_cast<block_q8_0*>(blocks), k);
    case QType::Q8_1: return quantize_row_q8_1(x, static_cast<block_q8_1*>(blocks), k);
    case QType::Q2_K: return quantize_row_q2_K(x, static_cast<block_q2_K*>(blocks), k);
    case QType::Q3_K: return quantize_row_q3_K(x, static_cast<block_q3_K*>(blocks), k);
    case QType::Q4_K: return quantize_row_q4_K(x, static_cast<block_q4_K*>(blocks), k);
    case QType::Q5_K: return quantize_row_q5_K(x, static_cast<block_q5_K*>(blocks), k);
    case QType::Q6_K: return quantize_row_q6_K(x, static_cast<block_q6_K*>(blocks), k);
    case QType::Q8_K: return quantize_row_q8_K(x, static_cast<block_q8_K*>(blocks), k);
    case QType::IQ4_NL: return quantize_row_iq4_nl(x, static_cast<block_iq4_nl*>(blocks), k);
    case QType::IQ4_XS: return quantize_row_iq4_xs(x, static_cast<block_iq4_xs*>(blocks), k);
  }
}

void dequantize_row(QType type, const void* blocks, float* y, int64_t k) {
  switch (type) {
    case QType::F32: std::memcpy(y, blocks, static_cast<size_t>(k) * sizeof(float)); return;
    case QType::F16:
      for (int64_t i = 0; i < k; ++i) y[i] = half_bits_to_float(static_cast<const uint16_t*>(blocks)[i]);
      return;
    case QType::BF16:
      for (int64_t i = 0; i < k; ++i) y[i] = bf16_bits_to_float(static_cast<const uint16_t*>(blocks)[i]);
      return;
    case QType::Q4_0: return dequantize_row_q4_0(static_cast<const block_q4_0*>(blocks), y, k);
    case QType::Q4_1: return dequantize_row_q4_1(static_cast<const block_q4_1*>(blocks), y, k);
    case QType::Q5_0: return dequantize_row_q5_0(static_cast<const block_q5_0*>(blocks), y, k);
    case QType::Q5_1: return dequantize_row_q5_1(static_cast<const block_q5_1*>(blocks), y, k);
    case QType::Q8_0: return dequantize_row_q8_0(static_cast<const block_q8_0*>(blocks), y, k);
    case QType::Q8_1: return dequantize_row_q8_1(static_cast<const block_q8_1*>(blocks), y, k);
    case QType::Q2_K: return dequantize_row_q2_K(static_cast<const block_q2_K*>(blocks), y, k);
    case QType::Q3_K: return dequantize_row_q3_K(static_cast<const block_q3_K*>(blocks), y, k);
    case QType::Q4_K: return dequantize_row_q4_K(static_cast<const block_q4_K*>(blocks), y, k);
    case QType::Q5_K: return dequantize_row_q5_K(static_cast<const block_q5_K*>(blocks), y, k);
    case QType::Q6_K: return dequantize_row_q6_K(static_cast<const block_q6_K*>(blocks), y, k);
    case QType::Q8_K: return dequantize_row_q8_K(static_cast<const block_q8_K*>(blocks), y, k);
    case QType::IQ4_NL: return dequantize_row_iq4_nl(static_cast<const block_iq4_nl*>(blocks), y, k);
    case QType::IQ4_XS: return dequantize_row_iq4_xs(static_cast<const block_iq4_xs*>(blocks), y, k);
  }
}

}  // namespace ember::quant
