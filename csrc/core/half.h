// 16-bit floating point storage types for host code. Arithmetic happens in float: a kernel converts
// on load and on store. Conversions round to nearest even, keep infinities, and turn NaN into a quiet NaN.
#pragma once
#include <cstdint>
#include <cstring>

#include "core/portable.h"

namespace ember {

EMBER_FORCE_INLINE uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
EMBER_FORCE_INLINE float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

EMBER_FORCE_INLINE uint16_t float_to_half_bits(float value) {
  uint32_t x = float_bits(value);
  const uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  if (x >= 0x47800000u) {  // |value| >= 65536, inf or nan: all overflow in half
    if (x > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (x < 0x38800000u) {  // below the smallest normal half (2^-14): result is subnormal or zero
    // Adding 0.5 aligns the half subnormal's bits at the bottom of the float mantissa; the FPU rounds.
    const float shifted = bits_float(x) + 0.5f;
    return static_cast<uint16_t>(sign | (float_bits(shifted) - 0x3f000000u));
  }
  const uint32_t odd = (x >> 13) & 1u;
  x += 0xc8000fffu + odd;  // rebias exponent (127 -> 15) and add the round-to-nearest-even increment
  return static_cast<uint16_t>(sign | (x >> 13));
}

EMBER_FORCE_INLINE float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // 2^-24
    return bits_float(sign | float_bits(magnitude));
  }
  if (exponent == 31) {  // infinity, or NaN made quiet (as F16C and NEON conversions do)
    return bits_float(sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x00400000u : 0u));
  }
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

EMBER_FORCE_INLINE uint16_t float_to_bf16_bits(float value) {
  const uint32_t x = float_bits(value);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

EMBER_FORCE_INLINE float bf16_bits_to_float(uint16_t b) {
  return bits_float(static_cast<uint32_t>(b) << 16);
}

struct f16 {
  uint16_t bits;
  f16() = default;
  EMBER_FORCE_INLINE explicit f16(float f) : bits(float_to_half_bits(f)) {}
  EMBER_FORCE_INLINE explicit operator float() const { return half_bits_to_float(bits); }
  static EMBER_FORCE_INLINE f16 from_bits(uint16_t b) {
    f16 h;
    h.bits = b;
    return h;
  }
};

struct bf16 {
  uint16_t bits;
  bf16() = default;
  EMBER_FORCE_INLINE explicit bf16(float f) : bits(float_to_bf16_bits(f)) {}
  EMBER_FORCE_INLINE explicit operator float() const { return bf16_bits_to_float(bits); }
  static EMBER_FORCE_INLINE bf16 from_bits(uint16_t b) {
    bf16 h;
    h.bits = b;
    return h;
  }
};

static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2, "16-bit float types must be 2 bytes");

}  // namespace ember
