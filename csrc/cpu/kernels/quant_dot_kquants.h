// Shared by the K-quant / IQ4_XS dot-product translation units (quant_dot_kquants*.cpp): the scale
// decoders of the packed 6-bit formats and the per-level entry points. Kernel TUs only; everything is
// in this level's inline namespace (kernel_args.h explains why).
#pragma once
#include <cstdint>
#include <cstring>

#include "core/portable.h"
#include "cpu/kernels/quant_dot.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

// Q4_K / Q5_K: 12 bytes hold 8 six-bit scales and 8 six-bit mins. Bytes 0-3 carry scales 0-3 in their
// low 6 bits, bytes 4-7 mins 0-3; scales / mins 4-7 take their low 4 bits from the nibbles of bytes
// 8-11 and their top 2 bits from the top bits of bytes 0-3 / 4-7. Writes scales to out[0..7] and mins
// to out[8..15].
EMBER_FORCE_INLINE void kquant_scale_words_q4_K(const uint8_t* packed, uint32_t v[4]) {
  uint32_t w[3];
  std::memcpy(w, packed, 12);
  const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
  v[0] = w[0] & low6;                                        // scales 0-3
  v[1] = (w[2] & low4) | (((w[0] >> 6) & low2) << 4);        // scales 4-7
  v[2] = w[1] & low6;                                        // mins 0-3
  v[3] = ((w[2] >> 4) & low4) | (((w[1] >> 6) & low2) << 4);  // mins 4-7
}
EMBER_FORCE_INLINE void kquant_decode_scales_q4_K(const uint8_t* packed, uint8_t out[16]) {
  uint32_t v[4];
  kquant_scale_words_q4_K(packed, v);
  std::memcpy(out, v, 16);
}

// Q3_K: 12 bytes hold 16 six-bit scales stored with a +32 bias. Scale s takes its low 4 bits from
// byte s (s < 8, low nibble) or byte s - 8 (high nibble), and its top 2 bits from bits 2*(s/4) of
// byte 8 + s%4. Writes the signed scales (bias removed) to out[0..15].
// (SIMD code builds its vectors from the words: storing them and loading 16 bytes back would stall
// store-to-load forwarding.)
EMBER_FORCE_INLINE void kquant_scale_words_q3_K(const uint8_t* packed, uint32_t v[4]) {
  uint32_t w[3];
  std::memcpy(w, packed, 12);
  const uint32_t low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
  v[0] = (w[0] & low4) | ((w[2] & low2) << 4);
  v[1] = (w[1] & low4) | (((w[2] >> 2) & low2) << 4);
  v[2] = ((w[0] >> 4) & low4) | (((w[2] >> 4) & low2) << 4);
  v[3] = ((w[1] >> 4) & low4) | (((w[2] >> 6) & low2) << 4);
  // Every byte is < 64: subtracting 32 from each byte cannot borrow across bytes when done as
  // (v | 0x80) - 32, and the 0x80 marker is cleared again by the xor.
  for (int i = 0; i < 4; ++i) v[i] = ((v[i] | 0x80808080u) - 0x20202020u) ^ 0x80808080u;
}
EMBER_FORCE_INLINE void kquant_decode_scales_q3_K(const uint8_t* packed, int8_t out[16]) {
  uint32_t v[4];
  kquant_scale_words_q3_K(packed, v);
  std::memcpy(out, v, 16);
}

// IQ4_XS: the 6-bit scale of sub-block ib (32 elements) minus its bias of 32.
EMBER_FORCE_INLINE int kquant_iq4_xs_scale(const uint8_t* scales_l, uint16_t scales_h, int ib) {
  const int low = (scales_l[ib / 2] >> (4 * (ib & 1))) & 0xf;
  const int high = (scales_h >> (2 * ib)) & 3;
  return (low | (high << 4)) - 32;
}

// The tile function of weight type `type` at the SIMD levels that have one (nullptr otherwise).
// Defined in quant_dot_kquants_avx2.cpp (x86 levels with AVX2) and quant_dot_kquants_neon.cpp (arm64
// dotprod). Their tiles: 1 weight row by up to kKQuantMaxNx activation rows.
constexpr int kKQuantMaxNx = 4;
QDotFn kquant_dot_avx2(quant::QType type);
QDotFn kquant_dot_dotprod(quant::QType type);

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
