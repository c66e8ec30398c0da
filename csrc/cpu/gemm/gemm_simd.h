// Minimal vector wrappers for the GEMM kernels, one set per SIMD level of the translation unit that
// includes this header (see csrc/cpu/kernel_args.h for the rules of kernel TUs). Only the operations
// the GEMM needs: loads (with f16 / bf16 -> f32 conversion), stores, broadcast, fused multiply-add
// (mul + add where the ISA has no FMA) and horizontal sums. Everything lives in the ISA's inline
// namespace so that two builds never share a symbol.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/half.h"
#include "core/portable.h"

// EMBER_GEMM_FORCE_SCALAR (a test hook) selects the portable scalar kernels on any machine.
#if defined(EMBER_GEMM_FORCE_SCALAR)
#define EMBER_GEMM_SCALAR 1
#elif defined(__AVX512F__)
#define EMBER_GEMM_AVX512 1
#elif defined(__AVX2__) && (defined(__FMA__) || defined(_MSC_VER))
#define EMBER_GEMM_AVX2 1
#elif defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#define EMBER_GEMM_SSE2 1
#elif (defined(__aarch64__) || defined(_M_ARM64)) && (defined(__ARM_NEON) || defined(_MSC_VER))
#define EMBER_GEMM_NEON 1
#else
#define EMBER_GEMM_SCALAR 1
#endif

#if defined(EMBER_GEMM_AVX512) || defined(EMBER_GEMM_AVX2) || defined(EMBER_GEMM_SSE2)
#include <immintrin.h>
#elif defined(EMBER_GEMM_NEON)
#include <arm_neon.h>
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define EMBER_GEMM_RESTRICT __restrict
#define EMBER_GEMM_NOINLINE __declspec(noinline)
#else
#define EMBER_GEMM_RESTRICT __restrict__
#define EMBER_GEMM_NOINLINE __attribute__((noinline))
#endif

namespace ember::cpu {
inline namespace EMBER_ISA_NS {
namespace gemm {

// ---- scalar conversions to the compute type -------------------------------------------------------
// f16 -> f32 without branches (selects), so that loops of it vectorize on ISAs without a conversion
// instruction; bit-exact with core/half.h (NaNs made quiet). The exponent is rebiased by an integer
// add; subnormals are renormalized by a float subtraction; infinities and NaNs get the exponent
// field forced to all ones.
EMBER_FORCE_INLINE float half_to_float_branchless(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t magnitude = static_cast<uint32_t>(h & 0x7fffu) << 13;  // exponent+mantissa in f32 place
  const uint32_t exponent = magnitude & 0x0f800000u;
  uint32_t bits = magnitude + 0x38000000u;                             // rebias 15 -> 127
  if (exponent == 0x0f800000u) {                                       // inf / nan (made quiet)
    bits |= 0x7f800000u | ((magnitude & 0x007fe000u) ? 0x00400000u : 0u);
  }
  // Subnormal (exponent field 0): value = mantissa * 2^-24; add 2^-14 as an exponent bump, subtract it.
  const float sub = bits_float(bits + 0x00800000u) - bits_float(0x38800000u);
  const uint32_t result = (exponent == 0) ? float_bits(sub) : bits;
  return bits_float(result | sign);
}

EMBER_FORCE_INLINE float to_f32(float v) { return v; }
EMBER_FORCE_INLINE float to_f32(f16 v) { return half_to_float_branchless(v.bits); }
EMBER_FORCE_INLINE float to_f32(bf16 v) { return bf16_bits_to_float(v.bits); }

template <class T, class S>
EMBER_FORCE_INLINE T to_compute(S v) {
  if constexpr (std::is_same_v<T, double>) {
    return static_cast<double>(v);
  } else {
    return to_f32(v);
  }
}

template <class S, class T>
EMBER_FORCE_INLINE S from_compute(T v) {
  if constexpr (std::is_same_v<S, f16>) {
    return f16::from_bits(float_to_half_bits(v));
  } else if constexpr (std::is_same_v<S, bf16>) {
    return bf16::from_bits(float_to_bf16_bits(v));
  } else {
    return static_cast<S>(v);
  }
}

// ---- vector wrappers -------------------------------------------------------------------------------
template <class T>
struct Vec;

#if defined(EMBER_GEMM_AVX512)

template <>
struct Vec<float> {
  using V = __m512;
  static constexpr int W = 16;
  static EMBER_FORCE_INLINE V zero() { return _mm512_setzero_ps(); }
  static EMBER_FORCE_INLINE V set1(float v) { return _mm512_set1_ps(v); }
  static EMBER_FORCE_INLINE V load(const float* p) { return _mm512_loadu_ps(p); }
  static EMBER_FORCE_INLINE V load(const f16* p) {
    return _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  // The maskz forms: GCC 12's unmasked forms start from _mm512_undefined_*, which -Wuninitialized
  // flags (GCC bug 105593).
  static EMBER_FORCE_INLINE V load(const bf16* p) {
    const __m512i w = _mm512_maskz_cvtepu16_epi32(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, w, 16));
  }
  static EMBER_FORCE_INLINE void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return _mm512_add_ps(a, b); }
  static EMBER_FORCE_INLINE float sum(V v) {
    const __m256 hi = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xff, _mm512_castps_pd(v), 1));
    const __m256 lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xff, _mm512_castps_pd(v), 0));
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};

template <>
struct Vec<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static EMBER_FORCE_INLINE V zero() { return _mm512_setzero_pd(); }
  static EMBER_FORCE_INLINE V set1(double v) { return _mm512_set1_pd(v); }
  static EMBER_FORCE_INLINE V load(const double* p) { return _mm512_loadu_pd(p); }
  static EMBER_FORCE_INLINE void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return _mm512_add_pd(a, b); }
  static EMBER_FORCE_INLINE double sum(V v) {
    const __m256d s4 = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xff, v, 0), _mm512_maskz_extractf64x4_pd(0xff, v, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};

#elif defined(EMBER_GEMM_AVX2)

template <>
struct Vec<float> {
  using V = __m256;
  static constexpr int W = 8;
  static EMBER_FORCE_INLINE V zero() { return _mm256_setzero_ps(); }
  static EMBER_FORCE_INLINE V set1(float v) { return _mm256_set1_ps(v); }
  static EMBER_FORCE_INLINE V load(const float* p) { return _mm256_loadu_ps(p); }
  static EMBER_FORCE_INLINE V load(const f16* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static EMBER_FORCE_INLINE V load(const bf16* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static EMBER_FORCE_INLINE void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return _mm256_add_ps(a, b); }
  static EMBER_FORCE_INLINE float sum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};

template <>
struct Vec<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static EMBER_FORCE_INLINE V zero() { return _mm256_setzero_pd(); }
  static EMBER_FORCE_INLINE V set1(double v) { return _mm256_set1_pd(v); }
  static EMBER_FORCE_INLINE V load(const double* p) { return _mm256_loadu_pd(p); }
  static EMBER_FORCE_INLINE void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return _mm256_add_pd(a, b); }
  static EMBER_FORCE_INLINE double sum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
};

#elif defined(EMBER_GEMM_SSE2)

template <>
struct Vec<float> {
  using V = __m128;
  static constexpr int W = 4;
  static EMBER_FORCE_INLINE V zero() { return _mm_setzero_ps(); }
  static EMBER_FORCE_INLINE V set1(float v) { return _mm_set1_ps(v); }
  static EMBER_FORCE_INLINE V load(const float* p) { return _mm_loadu_ps(p); }
  static EMBER_FORCE_INLINE V load(const f16* p) {
    alignas(16) float t[4];
    for (int i = 0; i < 4; ++i) t[i] = half_to_float_branchless(p[i].bits);
    return _mm_load_ps(t);
  }
  static EMBER_FORCE_INLINE V load(const bf16* p) {
    const __m128i w = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), w));
  }
  static EMBER_FORCE_INLINE void store(float* p, V v) { _mm_storeu_ps(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return _mm_add_ps(a, b); }
  static EMBER_FORCE_INLINE float sum(V v) {
    __m128 s = _mm_add_ps(v, _mm_movehl_ps(v, v));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
};

template <>
struct Vec<double> {
  using V = __m128d;
  static constexpr int W = 2;
  static EMBER_FORCE_INLINE V zero() { return _mm_setzero_pd(); }
  static EMBER_FORCE_INLINE V set1(double v) { return _mm_set1_pd(v); }
  static EMBER_FORCE_INLINE V load(const double* p) { return _mm_loadu_pd(p); }
  static EMBER_FORCE_INLINE void store(double* p, V v) { _mm_storeu_pd(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return _mm_add_pd(a, b); }
  static EMBER_FORCE_INLINE double sum(V v) { return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v))); }
};

#elif defined(EMBER_GEMM_NEON)

template <>
struct Vec<float> {
  using V = float32x4_t;
  static constexpr int W = 4;
  static EMBER_FORCE_INLINE V zero() { return vdupq_n_f32(0.0f); }
  static EMBER_FORCE_INLINE V set1(float v) { return vdupq_n_f32(v); }
  static EMBER_FORCE_INLINE V load(const float* p) { return vld1q_f32(p); }
  static EMBER_FORCE_INLINE V load(const f16* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
  }
  static EMBER_FORCE_INLINE V load(const bf16* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
  }
  static EMBER_FORCE_INLINE void store(float* p, V v) { vst1q_f32(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return vaddq_f32(a, b); }
  static EMBER_FORCE_INLINE float sum(V v) { return vaddvq_f32(v); }
};

template <>
struct Vec<double> {
  using V = float64x2_t;
  static constexpr int W = 2;
  static EMBER_FORCE_INLINE V zero() { return vdupq_n_f64(0.0); }
  static EMBER_FORCE_INLINE V set1(double v) { return vdupq_n_f64(v); }
  static EMBER_FORCE_INLINE V load(const double* p) { return vld1q_f64(p); }
  static EMBER_FORCE_INLINE void store(double* p, V v) { vst1q_f64(p, v); }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return vfmaq_f64(c, a, b); }
  static EMBER_FORCE_INLINE V add(V a, V b) { return vaddq_f64(a, b); }
  static EMBER_FORCE_INLINE double sum(V v) { return vaddvq_f64(v); }
};

#else  // scalar

template <class T>
struct ScalarVec {
  using V = T;
  static constexpr int W = 1;
  static EMBER_FORCE_INLINE V zero() { return T(0); }
  static EMBER_FORCE_INLINE V set1(T v) { return v; }
  static EMBER_FORCE_INLINE V load(const T* p) { return *p; }
  template <class S>
  static EMBER_FORCE_INLINE V load(const S* p) {
    return to_compute<T>(*p);
  }
  static EMBER_FORCE_INLINE void store(T* p, V v) { *p = v; }
  static EMBER_FORCE_INLINE V fma(V a, V b, V c) { return a * b + c; }
  static EMBER_FORCE_INLINE V add(V a, V b) { return a + b; }
  static EMBER_FORCE_INLINE T sum(V v) { return v; }
};
template <>
struct Vec<float> : ScalarVec<float> {};
template <>
struct Vec<double> : ScalarVec<double> {};

#endif

// ---- rows of C: compute type -> storage type ---------------------------------------------------------
// dst[i] = src[i] rounded to S (to nearest even, as core/half.h does) for i < n.
template <class S, class T>
EMBER_FORCE_INLINE void convert_row(S* EMBER_GEMM_RESTRICT dst, const T* EMBER_GEMM_RESTRICT src, int64_t n) {
  int64_t i = 0;
#if defined(EMBER_GEMM_AVX512) || defined(EMBER_GEMM_AVX2)
  if constexpr (std::is_same_v<T, float> && std::is_same_v<S, f16>) {
    for (; i + 8 <= n; i += 8) {
      const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
    }
  } else if constexpr (std::is_same_v<T, float> && std::is_same_v<S, bf16>) {
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i quiet = _mm256_set1_epi32(0x40);
    for (; i + 8 <= n; i += 8) {
      const __m256i x = _mm256_castps_si256(_mm256_loadu_ps(src + i));
      const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
      __m256i r = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(bias, lsb)), 16);
      const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf);
      r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_srli_epi32(x, 16), quiet), nan);
      const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0xd8);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(packed));
    }
  }
#endif
  for (; i < n; ++i) dst[i] = from_compute<S>(src[i]);
}

}  // namespace gemm
}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
