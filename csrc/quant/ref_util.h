// Small helpers shared by the reference quantizers (ref_legacy.cpp, ref_kquants*.cpp, ref_iq4.cpp).
// Every float -> integer conversion of a quantizer goes through one of these, so that NaN, infinities
// and out-of-range values never reach a C++ conversion with undefined behaviour.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/half.h"

namespace ember::quant::ref {

inline float fp16(uint16_t h) { return half_bits_to_float(h); }
inline uint16_t to_fp16(float f) { return float_to_half_bits(f); }

// Round to nearest, ties to even (ggml's nearest_int, valid there for |v| < 2^22). NaN gives 0; values
// beyond +-2^22 saturate, which every caller clamps to a small range anyway.
inline int nearest_int(float v) {
  if (!(v == v)) return 0;
  if (v > 4194303.f) return 4194303;
  if (v < -4194303.f) return -4194303;
  const float shifted = v + 12582912.f;  // 1.5 * 2^23: the FPU rounds v into the low mantissa bits
  return static_cast<int>(float_bits(shifted) & 0x007fffffu) - 0x00400000;
}

// C's (int)t truncation, clamped to [lo, hi]; NaN gives `nan_value`.
inline int trunc_clamped(float t, int lo, int hi, int nan_value) {
  if (!(t == t)) return nan_value;
  if (t <= static_cast<float>(lo)) return lo;
  if (t >= static_cast<float>(hi)) return hi;
  return static_cast<int>(t);
}

// roundf (half away from zero), clamped to [lo, hi]; NaN gives 0.
inline int round_clamped(float t, int lo, int hi) {
  if (!(t == t)) return 0;
  if (t <= static_cast<float>(lo)) return lo;
  if (t >= static_cast<float>(hi)) return hi;
  return static_cast<int>(std::round(t));
}

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The element of largest magnitude (the first one on ties); NaNs are never picked. 0 for an all-NaN
// or all-zero group.
inline float signed_absmax(const float* x, int n) {
  float amax = 0.f, max = 0.f;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  return max;
}

}  // namespace ember::quant::ref
