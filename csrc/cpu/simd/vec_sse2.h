// x86-64 baseline backend of vec.h: SSE2 only (4 float / 2 double lanes). SSE2 has no rounding
// instruction, no blend and no fma: rounding uses the 2^23 / 2^52 addition trick, selects use
// and/andnot/or, and em_fma is an unfused multiply-add.
#pragma once
#include <emmintrin.h>

#include "cpu/simd/vec_common.h"

#define EMBER_SIMD_BACKEND_NAME "sse2"

namespace ember {
inline namespace EMBER_ISA_NS {
namespace simd {

template <> struct Mask<float> {
  static constexpr int size = 4;
  __m128 m;
  EMBER_FORCE_INLINE Mask() : m(_mm_setzero_ps()) {}
  EMBER_FORCE_INLINE explicit Mask(__m128 r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(_mm_and_ps(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(_mm_or_ps(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(_mm_xor_ps(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) {
    return Mask(_mm_xor_ps(a.m, _mm_castsi128_ps(_mm_set1_epi32(-1))));
  }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const { return _mm_movemask_ps(m) != 0; }
  EMBER_FORCE_INLINE bool all() const { return _mm_movemask_ps(m) == 0xf; }
};

template <> struct Mask<double> {
  static constexpr int size = 2;
  __m128d m;
  EMBER_FORCE_INLINE Mask() : m(_mm_setzero_pd()) {}
  EMBER_FORCE_INLINE explicit Mask(__m128d r) : m(r) {}
  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) { return Mask(_mm_and_pd(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) { return Mask(_mm_or_pd(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) { return Mask(_mm_xor_pd(a.m, b.m)); }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) {
    return Mask(_mm_xor_pd(a.m, _mm_castsi128_pd(_mm_set1_epi32(-1))));
  }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const { return _mm_movemask_pd(m) != 0; }
  EMBER_FORCE_INLINE bool all() const { return _mm_movemask_pd(m) == 0x3; }
};

template <> struct Vec<float> {
  static constexpr int size = 4;
  using value_type = float;
  __m128 v;
  EMBER_FORCE_INLINE Vec() : v(_mm_setzero_ps()) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(_mm_set1_ps(static_cast<float>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(__m128 r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const float* p) { return Vec(_mm_loadu_ps(p)); }
  static EMBER_FORCE_INLINE Vec load_partial(const float* p, int n) {
    n = detail::clamp_count(n, size);
    if (n == size) return load(p);
    float t[size] = {};
    if (n > 0) std::memcpy(t, p, sizeof(float) * static_cast<size_t>(n));
    return load(t);
  }
  EMBER_FORCE_INLINE void store(float* p) const { _mm_storeu_ps(p, v); }
  EMBER_FORCE_INLINE void store_partial(float* p, int n) const {
    n = detail::clamp_count(n, size);
    if (n == size) return store(p);
    float t[size];
    store(t);
    if (n > 0) std::memcpy(p, t, sizeof(float) * static_cast<size_t>(n));
  }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(_mm_add_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(_mm_sub_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(_mm_mul_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(_mm_div_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) { return Vec(_mm_xor_ps(a.v, _mm_set1_ps(-0.0f))); }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<float> operator==(Vec a, Vec b) { return Mask<float>(_mm_cmpeq_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator!=(Vec a, Vec b) { return Mask<float>(_mm_cmpneq_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator<(Vec a, Vec b) { return Mask<float>(_mm_cmplt_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator<=(Vec a, Vec b) { return Mask<float>(_mm_cmple_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>(Vec a, Vec b) { return Mask<float>(_mm_cmpgt_ps(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<float> operator>=(Vec a, Vec b) { return Mask<float>(_mm_cmpge_ps(a.v, b.v)); }
};

template <> struct Vec<double> {
  static constexpr int size = 2;
  using value_type = double;
  __m128d v;
  EMBER_FORCE_INLINE Vec() : v(_mm_setzero_pd()) {}
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) : v(_mm_set1_pd(static_cast<double>(s))) {}
  EMBER_FORCE_INLINE explicit Vec(__m128d r) : v(r) {}
  static EMBER_FORCE_INLINE Vec load(const double* p) { return Vec(_mm_loadu_pd(p)); }
  static EMBER_FORCE_INLINE Vec load_partial(const double* p, int n) {
    n = detail::clamp_count(n, size);
    if (n == size) return load(p);
    return Vec(n == 1 ? _mm_load_sd(p) : _mm_setzero_pd());
  }
  EMBER_FORCE_INLINE void store(double* p) const { _mm_storeu_pd(p, v); }
  EMBER_FORCE_INLINE void store_partial(double* p, int n) const {
    n = detail::clamp_count(n, size);
    if (n == size) return store(p);
    if (n == 1) _mm_store_sd(p, v);
  }
  friend EMBER_FORCE_INLINE Vec operator+(Vec a, Vec b) { return Vec(_mm_add_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a, Vec b) { return Vec(_mm_sub_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator*(Vec a, Vec b) { return Vec(_mm_mul_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator/(Vec a, Vec b) { return Vec(_mm_div_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) { return Vec(_mm_xor_pd(a.v, _mm_set1_pd(-0.0))); }
  EMBER_FORCE_INLINE Vec& operator+=(Vec b) { return *this = *this + b; }
  EMBER_FORCE_INLINE Vec& operator-=(Vec b) { return *this = *this - b; }
  EMBER_FORCE_INLINE Vec& operator*=(Vec b) { return *this = *this * b; }
  EMBER_FORCE_INLINE Vec& operator/=(Vec b) { return *this = *this / b; }
  friend EMBER_FORCE_INLINE Mask<double> operator==(Vec a, Vec b) { return Mask<double>(_mm_cmpeq_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator!=(Vec a, Vec b) { return Mask<double>(_mm_cmpneq_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<(Vec a, Vec b) { return Mask<double>(_mm_cmplt_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator<=(Vec a, Vec b) { return Mask<double>(_mm_cmple_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>(Vec a, Vec b) { return Mask<double>(_mm_cmpgt_pd(a.v, b.v)); }
  friend EMBER_FORCE_INLINE Mask<double> operator>=(Vec a, Vec b) { return Mask<double>(_mm_cmpge_pd(a.v, b.v)); }
};

struct VecI32 {
  static constexpr int size = 4;
  __m128i v;
  EMBER_FORCE_INLINE VecI32() : v(_mm_setzero_si128()) {}
  EMBER_FORCE_INLINE VecI32(int32_t s) : v(_mm_set1_epi32(s)) {}
  EMBER_FORCE_INLINE explicit VecI32(__m128i r) : v(r) {}
  friend EMBER_FORCE_INLINE VecI32 operator+(VecI32 a, VecI32 b) { return VecI32(_mm_add_epi32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator-(VecI32 a, VecI32 b) { return VecI32(_mm_sub_epi32(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator&(VecI32 a, VecI32 b) { return VecI32(_mm_and_si128(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator|(VecI32 a, VecI32 b) { return VecI32(_mm_or_si128(a.v, b.v)); }
  friend EMBER_FORCE_INLINE VecI32 operator^(VecI32 a, VecI32 b) { return VecI32(_mm_xor_si128(a.v, b.v)); }
};

EMBER_FORCE_INLINE Vec<float> em_select(Mask<float> m, Vec<float> a, Vec<float> b) {
  return Vec<float>(_mm_or_ps(_mm_and_ps(m.m, a.v), _mm_andnot_ps(m.m, b.v)));
}
EMBER_FORCE_INLINE Vec<double> em_select(Mask<double> m, Vec<double> a, Vec<double> b) {
  return Vec<double>(_mm_or_pd(_mm_and_pd(m.m, a.v), _mm_andnot_pd(m.m, b.v)));
}
EMBER_FORCE_INLINE Vec<float> em_fma(Vec<float> a, Vec<float> b, Vec<float> c) { return a * b + c; }
EMBER_FORCE_INLINE Vec<double> em_fma(Vec<double> a, Vec<double> b, Vec<double> c) { return a * b + c; }
EMBER_FORCE_INLINE Vec<float> em_sqrt(Vec<float> a) { return Vec<float>(_mm_sqrt_ps(a.v)); }
EMBER_FORCE_INLINE Vec<double> em_sqrt(Vec<double> a) { return Vec<double>(_mm_sqrt_pd(a.v)); }
EMBER_FORCE_INLINE Vec<float> em_abs(Vec<float> a) { return Vec<float>(_mm_andnot_ps(_mm_set1_ps(-0.0f), a.v)); }
EMBER_FORCE_INLINE Vec<double> em_abs(Vec<double> a) { return Vec<double>(_mm_andnot_pd(_mm_set1_pd(-0.0), a.v)); }
// Lanes (1, 0, 3, 2, ...): swaps each even lane with the odd lane after it.
EMBER_FORCE_INLINE Vec<float> swap_pairs(Vec<float> a) { return Vec<float>(_mm_shuffle_ps(a.v, a.v, 0xB1)); }
// maxps returns its second operand unless the first is greater: a > b ? a : b exactly like the scalar
// em_max, signed zeros included; only a NaN in `a` needs a fix.
EMBER_FORCE_INLINE Vec<float> em_max(Vec<float> a, Vec<float> b) {
  return em_select(Mask<float>(_mm_cmpunord_ps(a.v, a.v)), a, Vec<float>(_mm_max_ps(a.v, b.v)));
}
EMBER_FORCE_INLINE Vec<float> em_min(Vec<float> a, Vec<float> b) {
  return em_select(Mask<float>(_mm_cmpunord_ps(a.v, a.v)), a, Vec<float>(_mm_min_ps(a.v, b.v)));
}
EMBER_FORCE_INLINE Vec<double> em_max(Vec<double> a, Vec<double> b) {
  return em_select(Mask<double>(_mm_cmpunord_pd(a.v, a.v)), a, Vec<double>(_mm_max_pd(a.v, b.v)));
}
EMBER_FORCE_INLINE Vec<double> em_min(Vec<double> a, Vec<double> b) {
  return em_select(Mask<double>(_mm_cmpunord_pd(a.v, a.v)), a, Vec<double>(_mm_min_pd(a.v, b.v)));
}

namespace detail {

EMBER_FORCE_INLINE Vec<float> bit_and(Vec<float> a, Vec<float> b) { return Vec<float>(_mm_and_ps(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> bit_or(Vec<float> a, Vec<float> b) { return Vec<float>(_mm_or_ps(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> bit_xor(Vec<float> a, Vec<float> b) { return Vec<float>(_mm_xor_ps(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<float> bit_andnot(Vec<float> a, Vec<float> b) { return Vec<float>(_mm_andnot_ps(b.v, a.v)); }
EMBER_FORCE_INLINE Vec<double> bit_and(Vec<double> a, Vec<double> b) { return Vec<double>(_mm_and_pd(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> bit_or(Vec<double> a, Vec<double> b) { return Vec<double>(_mm_or_pd(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> bit_xor(Vec<double> a, Vec<double> b) { return Vec<double>(_mm_xor_pd(a.v, b.v)); }
EMBER_FORCE_INLINE Vec<double> bit_andnot(Vec<double> a, Vec<double> b) { return Vec<double>(_mm_andnot_pd(b.v, a.v)); }
// minps(c, x) returns x when either is NaN.
EMBER_FORCE_INLINE Vec<float> min_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(_mm_min_ps(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<float> max_keep_nan(Vec<float> x, Vec<float> c) { return Vec<float>(_mm_max_ps(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<double> min_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(_mm_min_pd(c.v, x.v)); }
EMBER_FORCE_INLINE Vec<double> max_keep_nan(Vec<double> x, Vec<double> c) { return Vec<double>(_mm_max_pd(c.v, x.v)); }

EMBER_FORCE_INLINE VecI32 as_int(Vec<float> a) { return VecI32(_mm_castps_si128(a.v)); }
EMBER_FORCE_INLINE Vec<float> as_float(VecI32 a) { return Vec<float>(_mm_castsi128_ps(a.v)); }
EMBER_FORCE_INLINE VecI32 to_int_rne(Vec<float> a) { return VecI32(_mm_cvtps_epi32(a.v)); }
EMBER_FORCE_INLINE Vec<float> to_float(VecI32 a) { return Vec<float>(_mm_cvtepi32_ps(a.v)); }
template <int k> EMBER_FORCE_INLINE VecI32 sll(VecI32 a) { return VecI32(_mm_slli_epi32(a.v, k)); }
template <int k> EMBER_FORCE_INLINE VecI32 srl(VecI32 a) { return VecI32(_mm_srli_epi32(a.v, k)); }
template <int k> EMBER_FORCE_INLINE VecI32 sra(VecI32 a) { return VecI32(_mm_srai_epi32(a.v, k)); }
EMBER_FORCE_INLINE Mask<float> cmpeq_i(VecI32 a, VecI32 b) { return Mask<float>(_mm_castsi128_ps(_mm_cmpeq_epi32(a.v, b.v))); }
EMBER_FORCE_INLINE Mask<float> cmpgt_i(VecI32 a, VecI32 b) { return Mask<float>(_mm_castsi128_ps(_mm_cmpgt_epi32(a.v, b.v))); }
EMBER_FORCE_INLINE VecI32 select_i(Mask<float> m, VecI32 a, VecI32 b) {
  const __m128i mi = _mm_castps_si128(m.m);
  return VecI32(_mm_or_si128(_mm_and_si128(mi, a.v), _mm_andnot_si128(mi, b.v)));
}
EMBER_FORCE_INLINE Vec<double> cvt_lo(Vec<float> a) { return Vec<double>(_mm_cvtps_pd(a.v)); }
EMBER_FORCE_INLINE Vec<double> cvt_hi(Vec<float> a) { return Vec<double>(_mm_cvtps_pd(_mm_movehl_ps(a.v, a.v))); }
EMBER_FORCE_INLINE Vec<float> cvt_join(Vec<double> lo, Vec<double> hi) {
  return Vec<float>(_mm_movelh_ps(_mm_cvtpd_ps(lo.v), _mm_cvtpd_ps(hi.v)));
}
EMBER_FORCE_INLINE VecI32 load_u16(const uint16_t* p) {
  return VecI32(_mm_unpacklo_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)), _mm_setzero_si128()));
}
EMBER_FORCE_INLINE VecI32 load_u16_partial(const uint16_t* p, int n) {
  uint16_t t[4] = {};
  n = clamp_count(n, 4);
  if (n > 0) std::memcpy(t, p, sizeof(uint16_t) * static_cast<size_t>(n));
  return load_u16(t);
}
// packs_epi32 saturates signed values: sign-extend the low 16 bits first so the bits survive.
EMBER_FORCE_INLINE __m128i narrow_u16(VecI32 a) {
  const __m128i s = _mm_srai_epi32(_mm_slli_epi32(a.v, 16), 16);
  return _mm_packs_epi32(s, s);
}
EMBER_FORCE_INLINE void store_u16(uint16_t* p, VecI32 a) {
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), narrow_u16(a));
}
EMBER_FORCE_INLINE void store_u16_partial(uint16_t* p, VecI32 a, int n) {
  uint16_t t[4];
  store_u16(t, a);
  n = clamp_count(n, 4);
  if (n > 0) std::memcpy(p, t, sizeof(uint16_t) * static_cast<size_t>(n));
}

// Rounding without SSE4.1: adding and subtracting 2^23 (2^52) rounds |x| < 2^23 to an integer in the
// current mode (round to nearest even); larger magnitudes, inf and NaN are integers already.
EMBER_FORCE_INLINE Vec<float> round_even_sse2(Vec<float> x) {
  const __m128 sign = _mm_set1_ps(-0.0f), big = _mm_set1_ps(8388608.0f);
  const __m128 a = _mm_andnot_ps(sign, x.v);
  __m128 r = _mm_sub_ps(_mm_add_ps(a, big), big);
  r = _mm_or_ps(r, _mm_and_ps(sign, x.v));  // copysign (r >= 0): keeps -0 and rounds -0.3 to -0
  const __m128 small = _mm_cmplt_ps(a, big);
  return Vec<float>(_mm_or_ps(_mm_and_ps(small, r), _mm_andnot_ps(small, x.v)));
}
EMBER_FORCE_INLINE Vec<double> round_even_sse2(Vec<double> x) {
  const __m128d sign = _mm_set1_pd(-0.0), big = _mm_set1_pd(4503599627370496.0);
  const __m128d a = _mm_andnot_pd(sign, x.v);
  __m128d r = _mm_sub_pd(_mm_add_pd(a, big), big);
  r = _mm_or_pd(r, _mm_and_pd(sign, x.v));
  const __m128d small = _mm_cmplt_pd(a, big);
  return Vec<double>(_mm_or_pd(_mm_and_pd(small, r), _mm_andnot_pd(small, x.v)));
}

}  // namespace detail

// floor / ceil / trunc from round_even: step by one where it went the wrong way, then take x's sign
// (floor, ceil and trunc of x always have x's sign: ceil(-0.5) is -0).
#define EMBER_SSE2_ROUNDING(T)                                                               \
  EMBER_FORCE_INLINE Vec<T> em_round_even(Vec<T> x) { return detail::round_even_sse2(x); }  \
  EMBER_FORCE_INLINE Vec<T> em_floor(Vec<T> x) {                                             \
    Vec<T> r = detail::round_even_sse2(x);                                                   \
    r = em_select(r > x, r - Vec<T>(1), r);                                                  \
    return detail::bit_or(detail::bit_andnot(r, Vec<T>(-0.0)), detail::bit_and(x, Vec<T>(-0.0))); \
  }                                                                                          \
  EMBER_FORCE_INLINE Vec<T> em_ceil(Vec<T> x) {                                              \
    Vec<T> r = detail::round_even_sse2(x);                                                   \
    r = em_select(r < x, r + Vec<T>(1), r);                                                  \
    return detail::bit_or(detail::bit_andnot(r, Vec<T>(-0.0)), detail::bit_and(x, Vec<T>(-0.0))); \
  }                                                                                          \
  EMBER_FORCE_INLINE Vec<T> em_trunc(Vec<T> x) {                                             \
    const Vec<T> a = em_abs(x);                                                              \
    Vec<T> r = detail::round_even_sse2(a);                                                   \
    r = em_select(r > a, r - Vec<T>(1), r);                                                  \
    return detail::bit_or(r, detail::bit_and(x, Vec<T>(-0.0)));                              \
  }
EMBER_SSE2_ROUNDING(float)
EMBER_SSE2_ROUNDING(double)
#undef EMBER_SSE2_ROUNDING

}  // namespace simd
}  // namespace EMBER_ISA_NS
}  // namespace ember
