// x86-64 AVX-512 backend of vec.h (16 float / 8 double lanes), compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c. Masks are k-registers. Only
// AVX512F instructions are used here (plus what AVX2/F16C already give), so the header needs no more
// than the F subset.
#pragma once
// GCC 12.1/12.2 report -W(maybe-)uninitialized inside avx512fintrin.h (the _mm512_undefined_*()
// passthrough operands, GCC PR105593) wherever these intrinsics get inlined. Silence exactly those two
// for this header; the state at the definition of the inlined functions is what counts.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "cpu/simd/vec_common.h"

#define EMBER_SIMD_BACKEND_NAME "avx512"
#define EMBER_SIMD_HW_F16 1

namespace ember {
inline namespace EMBER_ISA_NS {
namespace simd {

template <> struct Mask<float> {
  static constexpr int size = 16;
  __mmask16 m;
  EMBER_FORCE_INLINE Mask() : m(0) {}
  EMBER_FORCE_INLINE explicit Mask(__mmask16 r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(static_cast<__mmask16>(a.m & b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(static_cast<__mmask16>(a.m | b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(static_cast<__mmask16>(a.m ^ b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) { return Mask(static_cast<__mmask16>(~a.m & 0xffffu)); }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const { return m != 0; }
  EMBER_FORCE_INLINE bool all() const { return m == 0xffffu; }
};

template <> struct Mask<double> {
  static constexpr int size = 8;
  __mmask8 m;
  EMBER_FORCE_INLINE Mask() : m(0) {}
  EMBER_FORCE_INLINE explicit Mask(__mmask8 r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(static_cast<__mmask8>(a.m & b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(static_cast<__mmask8>(a.m | b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(static_cast<__mmask8>(a.m ^ b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) { return Mask(static_cast<__mmask8>(~a.m & 0xffu)); }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const { return m != 0; }
  EMBER_FORCE_INLINE bool all() const { return m == 0xffu; }
};

namespace detail {
EMBER_FORCE_INLINE __mmask16 lanes_below_16(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xffffu) : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1u);
}
EMBER_FORCE_INLINE __mmask8 lanes_below_8(int n) {
  return n >= 8 ? static_cast<__mmask8>(0xffu) : n <= 0 ? static_cast<__mmask8>(0) : static_cast<__mmask8>((1u << n) - 1u);
}
}  // namespace detail

template <> struct Vec<float> {
  static constexpr int size = 16;
  using value_type = float;
  __m512 v;
  EMBER_FORCE_INLINE Vec() : v(_mm512_setzero_ps()) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(_mm512_set1_ps(static_cast<float>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(__m512 r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const float* p) { return Vec(_mm512_loadu_ps(p)); }
  // Masked-off lanes are neither read nor able to fault.
  static EMBER_FORCE_INLINE Vec load_partial(const float* p, int n) {
    return Vec(_mm512_maskz_loadu_ps(detail::lanes_below_16(n), p));
  }
  EMBER_FORCE_INLINE void store(float* p) const { _mm512_storeu_ps(p, v); }
  EMBER_FORCE_INLINE void store_partial(float* p, int n) const { _mm512_mask_storeu_ps(p, detail::lanes_below_16(n), v); }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(_mm512_add_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(_mm512_sub_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(_mm512_mul_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(_mm512_div_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) {
    return Vec(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(INT32_MIN))));
  }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<float> operator==(Vec a, Vec b) { return Mask<float>(_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator!=(Vec a, Vec b) { return Mask<float>(_mm512_cmp_ps_mask(a.v, b.v, _CMP_NEQ_UQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator<(Vec a, Vec b) { return Mask<float>(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator<=(Vec a, Vec b) { return Mask<float>(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>(Vec a, Vec b) { return Mask<float>(_mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>=(Vec a, Vec b) { return Mask<float>(_mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ)); }
};

template <> struct Vec<double> {
  static constexpr int size = 8;
  using value_type = double;
  __m512d v;
  EMBER_FORCE_INLINE Vec() : v(_mm512_setzero_pd()) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(_mm512_set1_pd(static_cast<double>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(__m512d r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const double* p) { return Vec(_mm512_loadu_pd(p)); }
  static EMBER_FORCE_INLINE Vec load_partial(const double* p, int n) {
    return Vec(_mm512_maskz_loadu_pd(detail::lanes_below_8(n), p));
  }
  EMBER_FORCE_INLINE void store(double* p) const { _mm512_storeu_pd(p, v); }
  EMBER_FORCE_INLINE void store_partial(double* p, int n) const { _mm512_mask_storeu_pd(p, detail::lanes_below_8(n), v); }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(_mm512_add_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(_mm512_sub_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(_mm512_mul_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(_mm512_div_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) {
    return Vec(_mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a.v), _mm512_set1_epi64(INT64_MIN))));
  }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<double> operator==(Vec a, Vec b) { return Mask<double>(_mm512_cmp_pd_mask(a.v, b.v, _CMP_EQ_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator!=(Vec a, Vec b) { return Mask<double>(_mm512_cmp_pd_mask(a.v, b.v, _CMP_NEQ_UQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<(Vec a, Vec b) { return Mask<double>(_mm512_cmp_pd_mask(a.v, b.v, _CMP_LT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<=(Vec a, Vec b) { return Mask<double>(_mm512_cmp_pd_mask(a.v, b.v, _CMP_LE_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>(Vec a, Vec b) { return Mask<double>(_mm512_cmp_pd_mask(a.v, b.v, _CMP_GT_OQ)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>=(Vec a, Vec b) { return Mask<double>(_mm512_cmp_pd_mask(a.v, b.v, _CMP_GE_OQ)); }
};

struct VecI32 {
  static constexpr int size = 16;
  __m512i v;
  EMBER_FORCE_INLINE VecI32() : v(_mm512_setzero_si512()) {}
  EMBER_FORCE_INLINE VecI32(int32_t s) : v(_mm512_set1_epi32(s)) {}
  EMBER_FORCE_INLINE explicit VecI32(__m512i r) : v(r) {}
  friend EMBER_FORCE_INLINE VecI32 operator+(VecI32 a, VecI32 b) { return VecI32(_mm512_add_epi32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator-(VecI32 a, VecI32 b) { return VecI32(_mm512_sub_epi32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator&(VecI32 a, VecI32 b) { return VecI32(_mm512_and_si512(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator|(VecI32 a, VecI32 b) { return VecI32(_mm512_or_si512(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator^(VecI32 a, VecI32 b) { return VecI32(_mm512_xor_si512(a.v, b.v)); }
};

// _mm512_mask_blend(k, x, y) takes y where k is set.
EMBER_FORCE_INLINE Vec<float> em_select(Mask<float> m, Vec<float> a, Vec<float> b) {
  return Vec<float>(_mm512_mask_blend_ps(m.m, b.v, a.v));
}
EMBER_FORCE_INLINE Vec<double> em_select(Mask<double> m, Vec<double> a, Vec<double> b) {
  return Vec<double>(_mm512_mask_blend_pd(m.m, b.v, a.v));
}
EMBER_FORCE_INLINE Vec<float> em_fma(Vec<float> a, Vec<float> b, Vec<float> c) { return Vec<float>(_mm512_fmadd_ps(a.v, b.v, c.v)); }
EMBER_FORCE_INLINE Vec<double> em_fma(Vec<double> a, Vec<double> b, Vec<double> c) { return Vec<double>(_mm512_fmadd_pd(a.v, b.v, c.v)); }
EMBER_FORCE_INLINE Vec<float> em_sqrt(Vec<float> a) { return Vec<float>(_mm512_sqrt_ps(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_sqrt(Vec<double> a) { return Vec<double>(_mm512_sqrt_pd(a.v)); }
EMBER_FORCE_INLINE Vec<float> em_abs(Vec<float> a) {
  return Vec<float>(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(INT32_MAX))));
}
EMBER_FORCE_INLINE Vec<double> em_abs(Vec<double> a) {
  return Vec<double>(_mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(a.v), _mm512_set1_epi64(INT64_MAX))));
}
// Lanes (1, 0, 3, 2, ...): swaps each even lane with the odd lane after it.
EMBER_FORCE_INLINE Vec<float> swap_pairs(Vec<float> a) { return Vec<float>(_mm512_permute_ps(a.v, 0xB1)); }
// vmaxps is a > b ? a : b (the scalar em_max, signed zeros included); only a NaN in `a` needs a fix.
EMBER_FORCE_INLINE Vec<float> em_max(Vec<float> a, Vec<float> b) {
  return Vec<float>(_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q), _mm512_max_ps(a.v, b.v), a.v));
}
EMBER_FORCE_INLINE Vec<float> em_min(Vec<float> a, Vec<float> b) {
  return Vec<float>(_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q), _mm512_min_ps(a.v, b.v), a.v));
}
EMBER_FORCE_INLINE Vec<double> em_max(Vec<double> a, Vec<double> b) {
  return Vec<double>(_mm512_mask_blend_pd(_mm512_cmp_pd_mask(a.v, a.v, _CMP_UNORD_Q), _mm512_max_pd(a.v, b.v), a.v));
}
EMBER_FORCE_INLINE Vec<double> em_min(Vec<double> a, Vec<double> b) {
  return Vec<double>(_mm512_mask_blend_pd(_mm512_cmp_pd_mask(a.v, a.v, _CMP_UNORD_Q), _mm512_min_pd(a.v, b.v), a.v));
}
// roundscale with scale 0: imm[1:0] is the rounding mode, imm[3] suppresses the inexact exception.
EMBER_FORCE_INLINE Vec<float> em_round_even(Vec<float> a) {
  return Vec<float>(_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
EMBER_FORCE_INLINE Vec<float> em_floor(Vec<float> a) { return Vec<float>(_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<float> em_ceil(Vec<float> a) { return Vec<float>(_mm512_roundscale_ps(a.v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<float> em_trunc(Vec<float> a) { return Vec<float>(_mm512_roundscale_ps(a.v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<double> em_round_even(Vec<double> a) {
  return Vec<double>(_mm512_roundscale_pd(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
EMBER_FORCE_INLINE Vec<double> em_floor(Vec<double> a) { return Vec<double>(_mm512_roundscale_pd(a.v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<double> em_ceil(Vec<double> a) { return Vec<double>(_mm512_roundscale_pd(a.v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)); }
EMBER_FORCE_INLINE Vec<double> em_trunc(Vec<double> a) { return Vec<double>(_mm512_roundscale_pd(a.v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)); }

namespace detail {

EMBER_FORCE_INLINE __m512i bits(Vec<float> a) { return _mm512_castps_si512(a.v); }
EMBER_FORCE_INLINE __m512i bits(Vec<double> a) { return _mm512_castpd_si512(a.v); }
EMBER_FORCE_INLINE Vec<float> bit_and(Vec<float> a, Vec<float> b) { return Vec<float>(_mm512_castsi512_ps(_mm512_and_si512(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<float> bit_or(Vec<float> a, Vec<float> b) { return Vec<float>(_mm512_castsi512_ps(_mm512_or_si512(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<float> bit_xor(Vec<float> a, Vec<float> b) { return Vec<float>(_mm512_castsi512_ps(_mm512_xor_si512(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<float> bit_andnot(Vec<float> a, Vec<float> b) { return Vec<float>(_mm512_castsi512_ps(_mm512_andnot_si512(bits(b), bits(a)))); }
EMBER_FORCE_INLINE Vec<double> bit_and(Vec<double> a, Vec<double> b) { return Vec<double>(_mm512_castsi512_pd(_mm512_and_si512(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<double> bit_or(Vec<double> a, Vec<double> b) { return Vec<double>(_mm512_castsi512_pd(_mm512_or_si512(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<double> bit_xor(Vec<double> a, Vec<double> b) { return Vec<double>(_mm512_castsi512_pd(_mm512_xor_si512(bits(a), bits(b)))); }
EMBER_FORCE_INLINE Vec<double> bit_andnot(Vec<double> a, Vec<double> b) { return Vec<double>(_mm512_castsi512_pd(_mm512_andnot_si512(bits(b), bits(a)))); }
// vminps(c, x) returns x when either is NaN.
EMBER_FORCE_INLINE Vec<float> min_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(_mm512_min_ps(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<float> max_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(_mm512_max_ps(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<double> min_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(_mm512_min_pd(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<double> max_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(_mm512_max_pd(c.v, x.v)); }

EMBER_FORCE_INLINE VecI32 as_int(Vec<float> a) { return VecI32(_mm512_castps_si512(a.v)); }
EMBER_FORCE_INLINE Vec<float> as_float(VecI32 a) { return Vec<float>(_mm512_castsi512_ps(a.v)); }
EMBER_FORCE_INLINE VecI32 to_int_rne(Vec<float> a) { return VecI32(_mm512_cvtps_epi32(a.v)); }
EMBER_FORCE_INLINE Vec<float> to_float(VecI32 a) { return Vec<float>(_mm512_cvtepi32_ps(a.v)); }
template <int k> EMBER_FORCE_INLINE VecI32 sll(VecI32 a) { return VecI32(_mm512_slli_epi32(a.v, k)); }
template <int k> EMBER_FORCE_INLINE VecI32 srl(VecI32 a) { return VecI32(_mm512_srli_epi32(a.v, k)); }
template <int k> EMBER_FORCE_INLINE VecI32 sra(VecI32 a) { return VecI32(_mm512_srai_epi32(a.v, k)); }
EMBER_FORCE_INLINE Mask<float> cmpeq_i(VecI32 a, VecI32 b) { return Mask<float>(_mm512_cmpeq_epi32_mask(a.v, b.v)); }
EMBER_FORCE_INLINE Mask<float> cmpgt_i(VecI32 a, VecI32 b) { return Mask<float>(_mm512_cmpgt_epi32_mask(a.v, b.v)); }
EMBER_FORCE_INLINE VecI32 select_i(Mask<float> m, VecI32 a, VecI32 b) { return VecI32(_mm512_mask_blend_epi32(m.m, b.v, a.v)); }
EMBER_FORCE_INLINE Vec<double> cvt_lo(Vec<float> a) { return Vec<double>(_mm512_cvtps_pd(_mm512_castps512_ps256(a.v))); }
EMBER_FORCE_INLINE Vec<double> cvt_hi(Vec<float> a) {
  return Vec<double>(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1))));
}
EMBER_FORCE_INLINE Vec<float> cvt_join(Vec<double> lo, Vec<double> hi) {
  const __m512d l = _mm512_castpd256_pd512(_mm256_castps_pd(_mm512_cvtpd_ps(lo.v)));
  return Vec<float>(_mm512_castpd_ps(_mm512_insertf64x4(l, _mm256_castps_pd(_mm512_cvtpd_ps(hi.v)), 1)));
}
EMBER_FORCE_INLINE VecI32 load_u16(const uint16_t* p) {
  return VecI32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
}
EMBER_FORCE_INLINE VecI32 load_u16_partial(const uint16_t* p, int n) {
  uint16_t t[16] = {};
  n = clamp_count(n, 16);
  if (n > 0) std::memcpy(t, p, sizeof(uint16_t) * static_cast<size_t>(n));
  return load_u16(t);
}
EMBER_FORCE_INLINE void store_u16(uint16_t* p, VecI32 a) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(a.v));  // truncates to 16 bits
}
EMBER_FORCE_INLINE void store_u16_partial(uint16_t* p, VecI32 a, int n) {
  uint16_t t[16];
  store_u16(t, a);
  n = clamp_count(n, 16);
  if (n > 0) std::memcpy(p, t, sizeof(uint16_t) * static_cast<size_t>(n));
}

EMBER_FORCE_INLINE Vec<float> f16_to_f32(__m256i h) { return Vec<float>(_mm512_cvtph_ps(h)); }

}  // namespace detail

EMBER_FORCE_INLINE Vec<float> load_f16(const uint16_t* p) {
  return detail::f16_to_f32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
EMBER_FORCE_INLINE void store_f16(uint16_t* p, Vec<float> a) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(a.v, _MM_FROUND_TO_NEAREST_INT));
}

}  // namespace simd
}  // namespace EMBER_ISA_NS
}  // namespace ember

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
