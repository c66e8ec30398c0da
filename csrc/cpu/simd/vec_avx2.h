// x86-64 AVX2 backend of vec.h (8 float / 4 double lanes), compiled with -mavx2 -mfma -mf16c.
#pragma once
#include <immintrin.h>

#include "cpu/simd/vec_common.h"

#define EMBER_SIMD_BACKEND_NAME "avx2"
#define EMBER_SIMD_HW_F16 1

namespace ember {
inline namespace EMBER_ISA_NS {
namespace simd {

template <> struct Mask<float> {
  static constexpr int size = 8;
  __m256 m;
  EMBER_FORCE_INLINE Mask() : m(_mm256_setzero_ps()) {}
  EMBER_FORCE_INLINE explicit Mask(__m256 r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(_mm256_and_ps(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(_mm256_or_ps(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(_mm256_xor_ps(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) {
    return Mask(_mm256_xor_ps(a.m, _mm256_castsi256_ps(_mm256_set1_epi32(-1))));
  }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const { return _mm256_movemask_ps(m) != 0; }
  EMBER_FORCE_INLINE bool all() const { return _mm256_movemask_ps(m) == 0xff; }
};

template <> struct Mask<double> {
  static constexpr int size = 4;
  __m256d m;
  EMBER_FORCE_INLINE Mask() : m(_mm256_setzero_pd()) {}
  EMBER_FORCE_INLINE explicit Mask(__m256d r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(_mm256_and_pd(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(_mm256_or_pd(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(_mm256_xor_pd(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) {
    return Mask(_mm256_xor_pd(a.m, _mm256_castsi256_pd(_mm256_set1_epi32(-1))));
  }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const { return _mm256_movemask_pd(m) != 0; }
  EMBER_FORCE_INLINE bool all() const { return _mm256_movemask_pd(m) == 0xf; }
};

namespace detail {
// Lane i is active when i < n (all-ones in the lane's top bit, as maskload/maskstore want).
EMBER_FORCE_INLINE __m256i lanes_below_32(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
EMBER_FORCE_INLINE __m256i lanes_below_64(int n) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}
}  // namespace detail

template <> struct Vec<float> {
  static constexpr int size = 8;
  using value_type = float;
  __m256 v;
  EMBER_FORCE_INLINE Vec() : v(_mm256_setzero_ps()) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(_mm256_set1_ps(static_cast<float>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(__m256 r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const float* p) { return Vec(_mm256_loadu_ps(p)); }
  // Masked-off lanes are neither read nor able to fault.
  static EMBER_FORCE_INLINE Vec load_partial(const float* p, int n) {
    return Vec(_mm256_maskload_ps(p, detail::lanes_below_32(n)));
  }
  EMBER_FORCE_INLINE void store(float* p) const { _mm256_storeu_ps(p, v); }
  EMBER_FORCE_INLINE void store_partial(float* p, int n) const {
    _mm256_maskstore_ps(p, detail::lanes_below_32(n), v);
  }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(_mm256_add_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(_mm256_sub_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(_mm256_mul_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(_mm256_div_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) { return Vec(_mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f))); }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<float> operator==(Vec a, Vec b) { return Mask<float>(_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator!=(Vec a, Vec b) { return Mask<float>(_mm256_cmp_ps(a.v, b.v, _CMP_NEQ_UQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator<(Vec a, Vec b) { return Mask<float>(_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator<=(Vec a, Vec b) { return Mask<float>(_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>(Vec a, Vec b) { return Mask<float>(_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>=(Vec a, Vec b) { return Mask<float>(_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)); }
};

template <> struct Vec<double> {
  static constexpr int size = 4;
  using value_type = double;
  __m256d v;
  EMBER_FORCE_INLINE Vec() : v(_mm256_setzero_pd()) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(_mm256_set1_pd(static_cast<double>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(__m256d r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const double* p) { return Vec(_mm256_loadu_pd(p)); }
  static EMBER_FORCE_INLINE Vec load_partial(const double* p, int n) {
    return Vec(_mm256_maskload_pd(p, detail::lanes_below_64(n)));
  }
  EMBER_FORCE_INLINE void store(double* p) const { _mm256_storeu_pd(p, v); }
  EMBER_FORCE_INLINE void store_partial(double* p, int n) const {
    _mm256_maskstore_pd(p, detail::lanes_below_64(n), v);
  }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(_mm256_add_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(_mm256_sub_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(_mm256_mul_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(_mm256_div_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) { return Vec(_mm256_xor_pd(a.v, _mm256_set1_pd(-0.0))); }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<double> operator==(Vec a, Vec b) { return Mask<double>(_mm256_cmp_pd(a.v, b.v, _CMP_EQ_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator!=(Vec a, Vec b) { return Mask<double>(_mm256_cmp_pd(a.v, b.v, _CMP_NEQ_UQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<(Vec a, Vec b) { return Mask<double>(_mm256_cmp_pd(a.v, b.v, _CMP_LT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<=(Vec a, Vec b) { return Mask<double>(_mm256_cmp_pd(a.v, b.v, _CMP_LE_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>(Vec a, Vec b) { return Mask<double>(_mm256_cmp_pd(a.v, b.v, _CMP_GT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>=(Vec a, Vec b) { return Mask<double>(_mm256_cmp_pd(a.v, b.v, _CMP_GE_OQ)); }
};

struct VecI32 {
  static constexpr int size = 8;
  __m256i v;
  EMBER_FORCE_INLINE VecI32() : v(_mm256_setzero_si256()) {}
  EMBER_FORCE_INLINE VecI32(int32_t s) : v(_mm256_set1_epi32(s)) {}
  EMBER_FORCE_INLINE explicit VecI32(__m256i r) : v(r) {}
  friend EMBER_FORCE_INLINE VecI32 operator+(VecI32 a, VecI32 b) { return VecI32(_mm256_add_epi32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator-(VecI32 a, VecI32 b) { return VecI32(_mm256_sub_epi32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator&(VecI32 a, VecI32 b) { return VecI32(_mm256_and_si256(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator|(VecI32 a, VecI32 b) { return VecI32(_mm256_or_si256(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator^(VecI32 a, VecI32 b) { return VecI32(_mm256_xor_si256(a.v, b.v)); }
};

EMBER_FORCE_INLINE Vec<float> em_select(Mask<float> m, Vec<float> a, Vec<float> b) {
  return Vec<float>(_mm256_blendv_ps(b.v, a.v, m.m));
}
EMBER_FORCE_INLINE Vec<double> em_select(Mask<double> m, Vec<double> a, Vec<double> b) {
  return Vec<double>(_mm256_blendv_pd(b.v, a.v, m.m));
}
EMBER_FORCE_INLINE Vec<float> em_fma(Vec<float> a, Vec<float> b, Vec<float> c) { return Vec<float>(_mm256_fmadd_ps(a.v, b.v, c.v)); }
EMBER_FORCE_INLINE Vec<double> em_fma(Vec<double> a, Vec<double> b, Vec<double> c) { return Vec<double>(_mm256_fmadd_pd(a.v, b.v, c.v)); }
EMBER_FORCE_INLINE Vec<float> em_sqrt(Vec<float> a) { return Vec<float>(_mm256_sqrt_ps(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_sqrt(Vec<double> a) { return Vec<double>(_mm256_sqrt_pd(a.v)); }
EMBER_FORCE_INLINE Vec<float> em_abs(Vec<float> a) { return Vec<float>(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)); }
EMBER_FORCE_INLINE Vec<double> em_abs(Vec<double> a) { return Vec<double>(_mm256_andnot_pd(_mm256_set1_pd(-0.0), a.v)); }
// Lanes (1, 0, 3, 2, ...): swaps each even lane with the odd lane after it.
EMBER_FORCE_INLINE Vec<float> swap_pairs(Vec<float> a) { return Vec<float>(_mm256_permute_ps(a.v, 0xB1)); }
// vmaxps is a > b ? a : b (the scalar em_max, signed zeros included); only a NaN in `a` needs a fix.
EMBER_FORCE_INLINE Vec<float> em_max(Vec<float> a, Vec<float> b) {
  return Vec<float>(_mm256_blendv_ps(_mm256_max_ps(a.v, b.v), a.v, _mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)));
}
EMBER_FORCE_INLINE Vec<float> em_min(Vec<float> a, Vec<float> b) {
  return Vec<float>(_mm256_blendv_ps(_mm256_min_ps(a.v, b.v), a.v, _mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)));
}
EMBER_FORCE_INLINE Vec<double> em_max(Vec<double> a, Vec<double> b) {
  return Vec<double>(_mm256_blendv_pd(_mm256_max_pd(a.v, b.v), a.v, _mm256_cmp_pd(a.v, a.v, _CMP_UNORD_Q)));
}
EMBER_FORCE_INLINE Vec<double> em_min(Vec<double> a, Vec<double> b) {
  return Vec<double>(_mm256_blendv_pd(_mm256_min_pd(a.v, b.v), a.v, _mm256_cmp_pd(a.v, a.v, _CMP_UNORD_Q)));
}
EMBER_FORCE_INLINE Vec<float> em_round_even(Vec<float> a) {
  return Vec<float>(_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
EMBER_FORCE_INLINE Vec<float> em_floor(Vec<float> a) { return Vec<float>(_mm256_round_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<float> em_ceil(Vec<float> a) { return Vec<float>(_mm256_round_ps(a.v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<float> em_trunc(Vec<float> a) { return Vec<float>(_mm256_round_ps(a.v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<double> em_round_even(Vec<double> a) {
  return Vec<double>(_mm256_round_pd(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
EMBER_FORCE_INLINE Vec<double> em_floor(Vec<double> a) { return Vec<double>(_mm256_round_pd(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<double> em_ceil(Vec<double> a) { return Vec<double>(_mm256_round_pd(a.v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<double> em_trunc(Vec<double> a) { return Vec<double>(_mm256_round_pd(a.v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)); }

namespace detail {

EMBER_FORCE_INLINE Vec<float> bit_and(Vec<float> a, Vec<float> b) { return Vec<float>(_mm256_and_ps(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> bit_or(Vec<float> a, Vec<float> b) { return Vec<float>(_mm256_or_ps(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> bit_xor(Vec<float> a, Vec<float> b) { return Vec<float>(_mm256_xor_ps(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> bit_andnot(Vec<float> a, Vec<float> b) { return Vec<float>(_mm256_andnot_ps(b.v, a.v)); }
EMBER_FORCE_INLINE Vec<double> bit_and(Vec<double> a, Vec<double> b) { return Vec<double>(_mm256_and_pd(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> bit_or(Vec<double> a, Vec<double> b) { return Vec<double>(_mm256_or_pd(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> bit_xor(Vec<double> a, Vec<double> b) { return Vec<double>(_mm256_xor_pd(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> bit_andnot(Vec<double> a, Vec<double> b) { return Vec<double>(_mm256_andnot_pd(b.v, a.v)); }
EMBER_FORCE_INLINE Vec<float> min_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(_mm256_min_ps(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<float> max_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(_mm256_max_ps(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<double> min_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(_mm256_min_pd(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<double> max_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(_mm256_max_pd(c.v, x.v)); }

EMBER_FORCE_INLINE VecI32 as_int(Vec<float> a) { return VecI32(_mm256_castps_si256(a.v)); }
EMBER_FORCE_INLINE Vec<float> as_float(VecI32 a) { return Vec<float>(_mm256_castsi256_ps(a.v)); }
EMBER_FORCE_INLINE VecI32 to_int_rne(Vec<float> a) { return VecI32(_mm256_cvtps_epi32(a.v)); }
EMBER_FORCE_INLINE Vec<float> to_float(VecI32 a) { return Vec<float>(_mm256_cvtepi32_ps(a.v)); }
template <int k> EMBER_FORCE_INLINE VecI32 sll(VecI32 a) { return VecI32(_mm256_slli_epi32(a.v, k)); }
template <int k> EMBER_FORCE_INLINE VecI32 srl(VecI32 a) { return VecI32(_mm256_srli_epi32(a.v, k)); }
template <int k> EMBER_FORCE_INLINE VecI32 sra(VecI32 a) { return VecI32(_mm256_srai_epi32(a.v, k)); }
EMBER_FORCE_INLINE Mask<float> cmpeq_i(VecI32 a, VecI32 b) { return Mask<float>(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a.v, b.v))); }
EMBER_FORCE_INLINE Mask<float> cmpgt_i(VecI32 a, VecI32 b) { return Mask<float>(_mm256_castsi256_ps(_mm256_cmpgt_epi32(a.v, b.v))); }
EMBER_FORCE_INLINE VecI32 select_i(Mask<float> m, VecI32 a, VecI32 b) {
  return VecI32(_mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b.v), _mm256_castsi256_ps(a.v), m.m)));
}
EMBER_FORCE_INLINE Vec<double> cvt_lo(Vec<float> a) { return Vec<double>(_mm256_cvtps_pd(_mm256_castps256_ps128(a.v))); }
EMBER_FORCE_INLINE Vec<double> cvt_hi(Vec<float> a) { return Vec<double>(_mm256_cvtps_pd(_mm256_extractf128_ps(a.v, 1))); }
EMBER_FORCE_INLINE Vec<float> cvt_join(Vec<double> lo, Vec<double> hi) {
  return Vec<float>(_mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo.v)), _mm256_cvtpd_ps(hi.v), 1));
}
EMBER_FORCE_INLINE VecI32 load_u16(const uint16_t* p) {
  return VecI32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
EMBER_FORCE_INLINE VecI32 load_u16_partial(const uint16_t* p, int n) {
  uint16_t t[8] = {};
  n = clamp_count(n, 8);
  if (n > 0) std::memcpy(t, p, sizeof(uint16_t) * static_cast<size_t>(n));
  return load_u16(t);
}
// Low 16 bits of each lane, in order. packus saturates, so clear the high halves first.
EMBER_FORCE_INLINE __m128i narrow_u16(VecI32 a) {
  const __m256i lo = _mm256_and_si256(a.v, _mm256_set1_epi32(0xffff));
  const __m256i packed = _mm256_packus_epi32(lo, lo);  // per 128-bit half: a0-3 a0-3 | a4-7 a4-7
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));
}
EMBER_FORCE_INLINE void store_u16(uint16_t* p, VecI32 a) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), narrow_u16(a));
}
EMBER_FORCE_INLINE void store_u16_partial(uint16_t* p, VecI32 a, int n) {
  uint16_t t[8];
  store_u16(t, a);
  n = clamp_count(n, 8);
  if (n > 0) std::memcpy(p, t, sizeof(uint16_t) * static_cast<size_t>(n));
}

// F16C: exact, and NaNs come out quiet, as in half_bits_to_float (core/half.h).
EMBER_FORCE_INLINE Vec<float> f16_to_f32(__m128i h) { return Vec<float>(_mm256_cvtph_ps(h)); }

}  // namespace detail

// Round to nearest even, NaN -> quiet NaN keeping the payload's top bits: the same bits as
// float_to_half_bits in core/half.h (checked over all float bit patterns).
EMBER_FORCE_INLINE Vec<float> load_f16(const uint16_t* p) {
  return detail::f16_to_f32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
EMBER_FORCE_INLINE void store_f16(uint16_t* p, Vec<float> a) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(a.v, _MM_FROUND_TO_NEAREST_INT));
}

}  // namespace simd
}  // namespace EMBER_ISA_NS
}  // namespace ember
