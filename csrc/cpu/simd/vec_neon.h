// arm64 NEON backend of vec.h (4 float / 2 double lanes). AArch64 only: it needs the f64 vector
// instructions, vdivq and the directed-rounding instructions (FRINTN/M/P/Z) that 32-bit NEON lacks.
#pragma once
#include <arm_neon.h>

#include "cpu/simd/vec_common.h"

#define EMBER_SIMD_BACKEND_NAME "neon"
#define EMBER_SIMD_HW_F16 1

namespace ember {
inline namespace EMBER_ISA_NS {
namespace simd {

template <> struct Mask<float> {
  static constexpr int size = 4;
  uint32x4_t m;
  EMBER_FORCE_INLINE Mask() : m(vdupq_n_u32(0)) {}
  EMBER_FORCE_INLINE explicit Mask(uint32x4_t r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(vandq_u32(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(vorrq_u32(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(veorq_u32(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) { return Mask(vmvnq_u32(a.m)); }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const { return vmaxvq_u32(m) != 0; }
  EMBER_FORCE_INLINE bool all() const { return vminvq_u32(m) != 0; }
};

template <> struct Mask<double> {
  static constexpr int size = 2;
  uint64x2_t m;
  EMBER_FORCE_INLINE Mask() : m(vdupq_n_u64(0)) {}
  EMBER_FORCE_INLINE explicit Mask(uint64x2_t r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(vandq_u64(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(vorrq_u64(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(veorq_u64(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) {
    return Mask(vreinterpretq_u64_u32(vmvnq_u32(vreinterpretq_u32_u64(a.m))));
  }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  // Each 64-bit lane is all ones or all zeros, so its 32-bit halves agree.
  EMBER_FORCE_INLINE bool any() const { return vmaxvq_u32(vreinterpretq_u32_u64(m)) != 0; }
  EMBER_FORCE_INLINE bool all() const { return vminvq_u32(vreinterpretq_u32_u64(m)) != 0; }
};

template <> struct Vec<float> {
  static constexpr int size = 4;
  using value_type = float;
  float32x4_t v;
  EMBER_FORCE_INLINE Vec() : v(vdupq_n_f32(0.0f)) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(vdupq_n_f32(static_cast<float>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(float32x4_t r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const float* p) { return Vec(vld1q_f32(p)); }
  static EMBER_FORCE_INLINE Vec load_partial(const float* p, int n) {
    n = detail::clamp_count(n, size);
    if (n == size) return load(p);
    float t[size] = {};
    if (n > 0) std::memcpy(t, p, sizeof(float) * static_cast<size_t>(n));
    return load(t);
  }
  EMBER_FORCE_INLINE void store(float* p) const { vst1q_f32(p, v); }
  EMBER_FORCE_INLINE void store_partial(float* p, int n) const {
    n = detail::clamp_count(n, size);
    if (n == size) return store(p);
    float t[size];
    store(t);
    if (n > 0) std::memcpy(p, t, sizeof(float) * static_cast<size_t>(n));
  }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(vaddq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(vsubq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(vmulq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(vdivq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) { return Vec(vnegq_f32(a.v)); }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<float> operator==(Vec a, Vec b) { return Mask<float>(vceqq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator!=(Vec a, Vec b) { return Mask<float>(vmvnq_u32(vceqq_f32(a.v, b.v))); }
  friend EMBER_FORCE_INLINE Mask<float> operator<(Vec a, Vec b) { return Mask<float>(vcltq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator<=(Vec a, Vec b) { return Mask<float>(vcleq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>(Vec a, Vec b) { return Mask<float>(vcgtq_f32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>=(Vec a, Vec b) { return Mask<float>(vcgeq_f32(a.v, b.v)); }
};

template <> struct Vec<double> {
  static constexpr int size = 2;
  using value_type = double;
  float64x2_t v;
  EMBER_FORCE_INLINE Vec() : v(vdupq_n_f64(0.0)) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(vdupq_n_f64(static_cast<double>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(float64x2_t r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const double* p) { return Vec(vld1q_f64(p)); }
  static EMBER_FORCE_INLINE Vec load_partial(const double* p, int n) {
    n = detail::clamp_count(n, size);
    if (n == size) return load(p);
    return n == 1 ? Vec(vsetq_lane_f64(p[0], vdupq_n_f64(0.0), 0)) : Vec();
  }
  EMBER_FORCE_INLINE void store(double* p) const { vst1q_f64(p, v); }
  EMBER_FORCE_INLINE void store_partial(double* p, int n) const {
    n = detail::clamp_count(n, size);
    if (n == size) return store(p);
    if (n == 1) p[0] = vgetq_lane_f64(v, 0);
  }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(vaddq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(vsubq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(vmulq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(vdivq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) { return Vec(vnegq_f64(a.v)); }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<double> operator==(Vec a, Vec b) { return Mask<double>(vceqq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator!=(Vec a, Vec b) { return ~Mask<double>(vceqq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<(Vec a, Vec b) { return Mask<double>(vcltq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<=(Vec a, Vec b) { return Mask<double>(vcleq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>(Vec a, Vec b) { return Mask<double>(vcgtq_f64(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>=(Vec a, Vec b) { return Mask<double>(vcgeq_f64(a.v, b.v)); }
};

struct VecI32 {
  static constexpr int size = 4;
  int32x4_t v;
  EMBER_FORCE_INLINE VecI32() : v(vdupq_n_s32(0)) {}
  EMBER_FORCE_INLINE VecI32(int32_t s) : v(vdupq_n_s32(s)) {}
  EMBER_FORCE_INLINE explicit VecI32(int32x4_t r) : v(r) {}
  friend EMBER_FORCE_INLINE VecI32 operator+(VecI32 a, VecI32 b) { return VecI32(vaddq_s32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator-(VecI32 a, VecI32 b) { return VecI32(vsubq_s32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator&(VecI32 a, VecI32 b) { return VecI32(vandq_s32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator|(VecI32 a, VecI32 b) { return VecI32(vorrq_s32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator^(VecI32 a, VecI32 b) { return VecI32(veorq_s32(a.v, b.v)); }
};

EMBER_FORCE_INLINE Vec<float> em_select(Mask<float> m, Vec<float> a, Vec<float> b) { return Vec<float>(vbslq_f32(m.m, a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> em_select(Mask<double> m, Vec<double> a, Vec<double> b) { return Vec<double>(vbslq_f64(m.m, a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> em_fma(Vec<float> a, Vec<float> b, Vec<float> c) { return Vec<float>(vfmaq_f32(c.v, a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> em_fma(Vec<double> a, Vec<double> b, Vec<double> c) { return Vec<double>(vfmaq_f64(c.v, a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> em_sqrt(Vec<float> a) { return Vec<float>(vsqrtq_f32(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_sqrt(Vec<double> a) { return Vec<double>(vsqrtq_f64(a.v)); }
EMBER_FORCE_INLINE Vec<float> em_abs(Vec<float> a) { return Vec<float>(vabsq_f32(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_abs(Vec<double> a) { return Vec<double>(vabsq_f64(a.v)); }
// Lanes (1, 0, 3, 2, ...): swaps each even lane with the odd lane after it.
EMBER_FORCE_INLINE Vec<float> swap_pairs(Vec<float> a) { return Vec<float>(vrev64q_f32(a.v)); }
// FMAX/FMIN order +0 above -0; the scalar em_max is a > b ? a : b (then NaN in a wins), so build it
// from a compare to give the same signed zero.
EMBER_FORCE_INLINE Vec<float> em_max(Vec<float> a, Vec<float> b) {
  const uint32x4_t take_a = vorrq_u32(vcgtq_f32(a.v, b.v), vmvnq_u32(vceqq_f32(a.v, a.v)));
  return Vec<float>(vbslq_f32(take_a, a.v, b.v));
}
EMBER_FORCE_INLINE Vec<float> em_min(Vec<float> a, Vec<float> b) {
  const uint32x4_t take_a = vorrq_u32(vcltq_f32(a.v, b.v), vmvnq_u32(vceqq_f32(a.v, a.v)));
  return Vec<float>(vbslq_f32(take_a, a.v, b.v));
}
EMBER_FORCE_INLINE Vec<double> em_max(Vec<double> a, Vec<double> b) {
  const Mask<double> take_a = Mask<double>(vcgtq_f64(a.v, b.v)) | ~Mask<double>(vceqq_f64(a.v, a.v));
  return Vec<double>(vbslq_f64(take_a.m, a.v, b.v));
}
EMBER_FORCE_INLINE Vec<double> em_min(Vec<double> a, Vec<double> b) {
  const Mask<double> take_a = Mask<double>(vcltq_f64(a.v, b.v)) | ~Mask<double>(vceqq_f64(a.v, a.v));
  return Vec<double>(vbslq_f64(take_a.m, a.v, b.v));
}
EMBER_FORCE_INLINE Vec<float> em_round_even(Vec<float> a) { return Vec<float>(vrndnq_f32(a.v)); }
EMBER_FORCE_INLINE Vec<float> em_floor(Vec<float> a) { return Vec<float>(vrndmq_f32(a.v)); }
EMBER_FORCE_INLINE Vec<float> em_ceil(Vec<float> a) { return Vec<float>(vrndpq_f32(a.v)); }
EMBER_FORCE_INLINE Vec<float> em_trunc(Vec<float> a) { return Vec<float>(vrndq_f32(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_round_even(Vec<double> a) { return Vec<double>(vrndnq_f64(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_floor(Vec<double> a) { return Vec<double>(vrndmq_f64(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_ceil(Vec<double> a) { return Vec<double>(vrndpq_f64(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_trunc(Vec<double> a) { return Vec<double>(vrndq_f64(a.v)); }

namespace detail {

EMBER_FORCE_INLINE uint32x4_t bits(Vec<float> a) { return vreinterpretq_u32_f32(a.v); }
EMBER_FORCE_INLINE uint64x2_t bits(Vec<double> a) { return vreinterpretq_u64_f64(a.v); }
EMBER_FORCE_INLINE Vec<float> bit_and(Vec<float> a, Vec<float> b) { return Vec<float>(vreinterpretq_f32_u32(vandq_u32(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<float> bit_or(Vec<float> a, Vec<float> b) { return Vec<float>(vreinterpretq_f32_u32(vorrq_u32(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<float> bit_xor(Vec<float> a, Vec<float> b) { return Vec<float>(vreinterpretq_f32_u32(veorq_u32(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<float> bit_andnot(Vec<float> a, Vec<float> b) { return Vec<float>(vreinterpretq_f32_u32(vbicq_u32(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<double> bit_and(Vec<double> a, Vec<double> b) { return Vec<double>(vreinterpretq_f64_u64(vandq_u64(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<double> bit_or(Vec<double> a, Vec<double> b) { return Vec<double>(vreinterpretq_f64_u64(vorrq_u64(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<double> bit_xor(Vec<double> a, Vec<double> b) { return Vec<double>(vreinterpretq_f64_u64(veorq_u64(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<double> bit_andnot(Vec<double> a, Vec<double> b) { return Vec<double>(vreinterpretq_f64_u64(vbicq_u64(bits(a), bits(b)))); }
// FMIN/FMAX return NaN when either operand is NaN; c is never NaN, so a NaN x comes back (quieted).
EMBER_FORCE_INLINE Vec<float> min_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(vminq_f32(x.v, c.v)); }
EMBER_FORCE_INLINE Vec<float> max_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(vmaxq_f32(x.v, c.v)); }
EMBER_FORCE_INLINE Vec<double> min_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(vminq_f64(x.v, c.v)); }
EMBER_FORCE_INLINE Vec<double> max_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(vmaxq_f64(x.v, c.v)); }

EMBER_FORCE_INLINE VecI32 as_int(Vec<float> a) { return VecI32(vreinterpretq_s32_f32(a.v)); }
EMBER_FORCE_INLINE Vec<float> as_float(VecI32 a) { return Vec<float>(vreinterpretq_f32_s32(a.v)); }
// FCVTNS: round to nearest even; out-of-range lanes saturate and NaN gives 0.
EMBER_FORCE_INLINE VecI32 to_int_rne(Vec<float> a) { return VecI32(vcvtnq_s32_f32(a.v)); }
EMBER_FORCE_INLINE Vec<float> to_float(VecI32 a) { return Vec<float>(vcvtq_f32_s32(a.v)); }
template <int k> EMBER_FORCE_INLINE VecI32 sll(VecI32 a) { return VecI32(vshlq_n_s32(a.v, k)); }
template <int k> EMBER_FORCE_INLINE VecI32 srl(VecI32 a) {
  return VecI32(vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(a.v), k)));
}
template <int k> EMBER_FORCE_INLINE VecI32 sra(VecI32 a) { return VecI32(vshrq_n_s32(a.v, k)); }
EMBER_FORCE_INLINE Mask<float> cmpeq_i(VecI32 a, VecI32 b) { return Mask<float>(vceqq_s32(a.v, b.v)); }
EMBER_FORCE_INLINE Mask<float> cmpgt_i(VecI32 a, VecI32 b) { return Mask<float>(vcgtq_s32(a.v, b.v)); }
EMBER_FORCE_INLINE VecI32 select_i(Mask<float> m, VecI32 a, VecI32 b) { return VecI32(vbslq_s32(m.m, a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> cvt_lo(Vec<float> a) { return Vec<double>(vcvt_f64_f32(vget_low_f32(a.v))); }
EMBER_FORCE_INLINE Vec<double> cvt_hi(Vec<float> a) { return Vec<double>(vcvt_high_f64_f32(a.v)); }
EMBER_FORCE_INLINE Vec<float> cvt_join(Vec<double> lo, Vec<double> hi) {
  return Vec<float>(vcvt_high_f32_f64(vcvt_f32_f64(lo.v), hi.v));
}
EMBER_FORCE_INLINE VecI32 load_u16(const uint16_t* p) { return VecI32(vreinterpretq_s32_u32(vmovl_u16(vld1_u16(p)))); }
EMBER_FORCE_INLINE VecI32 load_u16_partial(const uint16_t* p, int n) {
  uint16_t t[4] = {};
  n = clamp_count(n, 4);
  if (n > 0) std::memcpy(t, p, sizeof(uint16_t) * static_cast<size_t>(n));
  return load_u16(t);
}
EMBER_FORCE_INLINE void store_u16(uint16_t* p, VecI32 a) { vst1_u16(p, vmovn_u32(vreinterpretq_u32_s32(a.v))); }
EMBER_FORCE_INLINE void store_u16_partial(uint16_t* p, VecI32 a, int n) {
  uint16_t t[4];
  store_u16(t, a);
  n = clamp_count(n, 4);
  if (n > 0) std::memcpy(p, t, sizeof(uint16_t) * static_cast<size_t>(n));
}

EMBER_FORCE_INLINE Vec<float> f16_to_f32(uint16x4_t h) { return Vec<float>(vcvt_f32_f16(vreinterpret_f16_u16(h))); }

}  // namespace detail

EMBER_FORCE_INLINE Vec<float> load_f16(const uint16_t* p) { return detail::f16_to_f32(vld1_u16(p)); }
// FCVTN rounds with FPCR.RMode (round to nearest even unless a program changed it), like core/half.h.
EMBER_FORCE_INLINE void store_f16(uint16_t* p, Vec<float> a) { vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(a.v))); }

}  // namespace simd
}  // namespace EMBER_ISA_NS
}  // namespace ember
