// Reference rows of the 32-element legacy types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
//
// Quantization reproduces ggml's quantize_row_*_ref (and so gguf-py's quants.py) operation for
// operation, all in float32 and without contraction: the scale is the signed absmax over -8 / -16
// (Q4_0 / Q5_0), (max - min) / 15 or 31 (Q4_1 / Q5_1), absmax / 127 (Q8_0 / Q8_1); the stored f16
// scale is rounded to nearest even, but the inverse scale comes from the float32 one; the codes are
// truncations of x * id + 8.5 (+16.5, +0.5) clamped to the code range, or roundf(x * id) for Q8.
//
// Inputs with NaN or infinities give deterministic blocks, not ggml's (whose casts are undefined
// there): NaNs never become the block's max or min, and a NaN product maps to the zero code.
#include <cfloat>
#include <cstring>

#include "quant/ref_util.h"
#include "quant/reference_types.h"

namespace ember::quant {

using ref::fp16;
using ref::to_fp16;

namespace {

// The signed-absmax scales of Q4_0 / Q5_0: d = max / -half, codes = trunc(x * id + half + 0.5).
template <int kHalf>
void quantize_symmetric(const float* x, uint16_t& d_out, uint8_t* codes) {
  const float max = ref::signed_absmax(x, 32);
  const float d = max / static_cast<float>(-kHalf);
  const float id = d != 0.f ? 1.0f / d : 0.0f;
  d_out = to_fp16(d);
  for (int j = 0; j < 32; ++j) {
    codes[j] = static_cast<uint8_t>(ref::trunc_clamped(x[j] * id + (kHalf + 0.5f), 0, 2 * kHalf - 1, kHalf));
  }
}

// The min / max scales of Q4_1 / Q5_1: d = (max - min) / nmax, codes = trunc((x - min) * id + 0.5).
template <int kMaxCode>
void quantize_affine(const float* x, uint16_t& d_out, uint16_t& m_out, uint8_t* codes) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / static_cast<float>(kMaxCode);
  const float id = d != 0.f ? 1.0f / d : 0.0f;
  d_out = to_fp16(d);
  m_out = to_fp16(min);
  for (int j = 0; j < 32; ++j) {
    codes[j] = static_cast<uint8_t>(ref::trunc_clamped((x[j] - min) * id + 0.5f, 0, kMaxCode, 0));
  }
}

// Low nibbles: element j in byte j's low half, element j + 16 in its high half.
void pack_nibbles(const uint8_t* codes, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((codes[j] & 0x0F) | ((codes[j + 16] & 0x0F) << 4));
}

// Fifth bits: bit j of the little-endian 32-bit qh is element j's.
void pack_high_bits(const uint8_t* codes, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < 32; ++j) bits |= static_cast<uint32_t>((codes[j] >> 4) & 1u) << j;
  for (int b = 0; b < 4; ++b) qh[b] = static_cast<uint8_t>(bits >> (8 * b));
}

// The 4- or 5-bit code of element j.
inline int nibble(const uint8_t* qs, int j) { return j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4); }
inline int high_bit(const uint8_t* qh, int j) { return (qh[j / 8] >> (j % 8)) & 1; }

}  // namespace

void quantize_row_q4_0(const float* x, block_q4_0* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_0; ++i, x += QK4_0) {
    uint8_t codes[32];
    quantize_symmetric<8>(x, y[i].d, codes);
    pack_nibbles(codes, y[i].qs);
  }
}

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_0; ++i, y += QK4_0) {
    const float d = fp16(x[i].d);
    uint8_t qs[16];  // a local copy: y's stores cannot alias it, so the loop vectorizes
    std::memcpy(qs, x[i].qs, sizeof qs);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((qs[j] & 15) - 8) * d;
      y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
    }
  }
}

void quantize_row_q4_1(const float* x, block_q4_1* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_1; ++i, x += QK4_1) {
    uint8_t codes[32];
    quantize_affine<15>(x, y[i].d, y[i].m, codes);
    pack_nibbles(codes, y[i].qs);
  }
}

void dequantize_row_q4_1(const block_q4_1* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_1; ++i, y += QK4_1) {
    const float d = fp16(x[i].d), m = fp16(x[i].m);
    uint8_t qs[16];
    std::memcpy(qs, x[i].qs, sizeof qs);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(qs[j] & 15) * d + m;
      y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
    }
  }
}

void quantize_row_q5_0(const float* x, block_q5_0* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_0; ++i, x += QK5_0) {
    uint8_t codes[32];
    quantize_symmetric<16>(x, y[i].d, codes);
    pack_nibbles(codes, y[i].qs);
    pack_high_bits(codes, y[i].qh);
  }
}

void dequantize_row_q5_0(const block_q5_0* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_0; ++i, y += QK5_0) {
    const float d = fp16(x[i].d);
    for (int j = 0; j < 32; ++j) {
      const int q = nibble(x[i].qs, j) | (high_bit(x[i].qh, j) << 4);
      y[j] = static_cast<float>(q - 16) * d;
    }
  }
}

void quantize_row_q5_1(const float* x, block_q5_1* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_1; ++i, x += QK5_1) {
    uint8_t codes[32];
    quantize_affine<31>(x, y[i].d, y[i].m, codes);
    pack_nibbles(codes, y[i].qs);
    pack_high_bits(codes, y[i].qh);
  }
}

void dequantize_row_q5_1(const block_q5_1* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK5_1; ++i, y += QK5_1) {
    const float d = fp16(x[i].d), m = fp16(x[i].m);
    for (int j = 0; j < 32; ++j) {
      const int q = nibble(x[i].qs, j) | (high_bit(x[i].qh, j) << 4);
      y[j] = static_cast<float>(q) * d + m;
    }
  }
}

namespace {

// Q8_0 / Q8_1: d = absmax / 127, q = roundf(x * id). Returns d (float32, before f16 rounding).
float quantize_q8_block(const float* x, int8_t* qs) {
  float amax = 0.f;
  for (int j = 0; j < 32; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) amax = ax;
  }
  const float d = amax / 127.f;
  const float id = d != 0.f ? 1.0f / d : 0.0f;
  for (int j = 0; j < 32; ++j) qs[j] = static_cast<int8_t>(ref::round_clamped(x[j] * id, -127, 127));
  return d;
}

}  // namespace

void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t k) {
  for (int64_t i = 0; i < k / QK8_0; ++i, x += QK8_0) y[i].d = to_fp16(quantize_q8_block(x, y[i].qs));
}

void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK8_0; ++i, y += QK8_0) {
    const float d = fp16(x[i].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

void quantize_row_q8_1(const float* x, block_q8_1* y, int64_t k) {
  for (int64_t i = 0; i < k / QK8_1; ++i, x += QK8_1) {
    const float d = quantize_q8_block(x, y[i].qs);
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += y[i].qs[j];
    y[i].d = to_fp16(d);
    y[i].s = to_fp16(static_cast<float>(sum) * d);
  }
}

// s is a cached sum for the dot products; the values are d * q, as for Q8_0.
void dequantize_row_q8_1(const block_q8_1* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK8_1; ++i, y += QK8_1) {
    const float d = fp16(x[i].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
  }
}

}  // namespace ember::quant
