// Activation quantizers of the quantized matmul (issue #4): f32 rows to Q8_0, Q8_1 and Q8_K blocks,
// bit-exact with quant::quantize_row of those types (ggml's *_ref math) on every level.
//
//   Q8_0: amax = max |x|, d = amax / 127, id = d ? 1 / d : 0, q = roundf(x * id) (ties away from zero),
//         d stored as f16.
//   Q8_1: Q8_0 plus s = f16(float(sum q) * d).
//   Q8_K: max = the first element of largest |x| (its sign kept); all zero when amax == 0; else
//         iscale = -127 / max, q = min(127, round_half_even(iscale * x)) (ggml's nearest_int),
//         d = 1 / iscale, bsums = the sums of each 16 quants.
// SIMD levels reproduce these exactly: max is order-independent, the products are the same IEEE
// multiplies, and the rounding modes are matched (AVX2: truncate + fix-up for ties away, round_ps for
// ties to even; NEON: vcvta / vcvtn).
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "cpu/kernels/quant_dot.h"
#include "quant/blocks.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>
#endif

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

using quant::block_q8_0;
using quant::block_q8_1;
using quant::block_q8_K;
using quant::QK8_0;
using quant::QK_K;

// ggml's nearest_int: the magic-number add rounds to nearest, ties to even (|v| < 2^22).
EMBER_FORCE_INLINE int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  int32_t i;
  std::memcpy(&i, &shifted, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

// ---- scalar ------------------------------------------------------------------------------------
// One Q8_0 / Q8_1 block; returns sum(q) (for Q8_1's s) and sets *d.
EMBER_FORCE_INLINE int quantize_block_q8_scalar(const float* x, int8_t* qs, float* d_out) {
  float amax = 0.0f;
  for (int j = 0; j < QK8_0; ++j) {
    const float a = std::fabs(x[j]);
    amax = amax > a ? amax : a;
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int sum = 0;
  for (int j = 0; j < QK8_0; ++j) {
    qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    sum += qs[j];
  }
  *d_out = d;
  return sum;
}

[[maybe_unused]] void q8_0_scalar(const float* x, block_q8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
    float d;
    quantize_block_q8_scalar(x, y[i].qs, &d);
    y[i].d = float_to_half_bits(d);
  }
}

[[maybe_unused]] void q8_1_scalar(const float* x, block_q8_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
    float d;
    const int sum = quantize_block_q8_scalar(x, y[i].qs, &d);
    y[i].d = float_to_half_bits(d);
    y[i].s = float_to_half_bits(static_cast<float>(sum) * d);
  }
}

// The first element of largest magnitude, sign kept (0 when all are zero).
EMBER_FORCE_INLINE float signed_max_scalar(const float* x, float* amax_out) {
  float amax = 0, max = 0;
  for (int j = 0; j < QK_K; ++j) {
    const float a = std::fabs(x[j]);
    if (a > amax) {
      amax = a;
      max = x[j];
    }
  }
  *amax_out = amax;
  return max;
}

EMBER_FORCE_INLINE void zero_block_q8_K(block_q8_K* y) {
  y->d = 0;
  std::memset(y->qs, 0, sizeof y->qs);
  std::memset(y->bsums, 0, sizeof y->bsums);
}

EMBER_FORCE_INLINE void bsums_q8_K(block_q8_K* y) {
  for (int j = 0; j < QK_K / 16; ++j) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += y->qs[j * 16 + i];
    y->bsums[j] = static_cast<int16_t>(sum);
  }
}

[[maybe_unused]] void q8_K_scalar(const float* x, block_q8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK_K) {
    float amax;
    const float max = signed_max_scalar(x, &amax);
    if (amax == 0.0f) {
      zero_block_q8_K(&y[i]);
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < QK_K; ++j) {
      const int v = nearest_int(iscale * x[j]);
      y[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
    }
    bsums_q8_K(&y[i]);
    y[i].d = 1.0f / iscale;
  }
}

#if defined(__AVX2__)
// ---- AVX2 (also the avx512 level) -----------------------------------------------------------------
EMBER_FORCE_INLINE float hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

EMBER_FORCE_INLINE int hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

EMBER_FORCE_INLINE __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// roundf: truncate, then step away from zero when the dropped fraction is >= 0.5 (x - trunc(x) is exact).
EMBER_FORCE_INLINE __m256i round_away_epi32(__m256 p) {
  const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 half = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(p, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 one = _mm256_or_ps(_mm256_and_ps(p, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
  return _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(half, one)));
}

// 32 int32 (each in [-128, 127]) to 32 int8 in order.
EMBER_FORCE_INLINE __m256i pack_epi8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

template <bool kSum>
EMBER_FORCE_INLINE int quantize_block_q8_avx2(const float* x, int8_t* qs, float* d_out) {
  const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16),
               v3 = _mm256_loadu_ps(x + 24);
  const __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)), _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
  const float amax = hmax_ps(m);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const __m256 vid = _mm256_set1_ps(id);
  const __m256i i0 = round_away_epi32(_mm256_mul_ps(v0, vid)), i1 = round_away_epi32(_mm256_mul_ps(v1, vid)),
                i2 = round_away_epi32(_mm256_mul_ps(v2, vid)), i3 = round_away_epi32(_mm256_mul_ps(v3, vid));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_epi8(i0, i1, i2, i3));
  *d_out = d;
  if constexpr (kSum) return hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
  return 0;
}

void q8_0_simd(const float* x, block_q8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
    float d;
    quantize_block_q8_avx2<false>(x, y[i].qs, &d);
    y[i].d = float_to_half_bits(d);
  }
}

void q8_1_simd(const float* x, block_q8_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
    float d;
    const int sum = quantize_block_q8_avx2<true>(x, y[i].qs, &d);
    y[i].d = float_to_half_bits(d);
    y[i].s = float_to_half_bits(static_cast<float>(sum) * d);
  }
}

void q8_K_simd(const float* x, block_q8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK_K) {
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < QK_K; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + j)));
    const float amax = hmax_ps(m);
    if (amax == 0.0f) {
      zero_block_q8_K(&y[i]);
      continue;
    }
    float max = 0;
    const __m256 vamax = _mm256_set1_ps(amax);
    for (int j = 0; j < QK_K; j += 8) {
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + j)), vamax, _CMP_EQ_OQ));
      if (mask) {
        int lane = 0;
        while (!((mask >> lane) & 1)) ++lane;
        max = x[j + lane];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i lim = _mm256_set1_epi32(127);
    for (int j = 0; j < QK_K; j += 32) {
      __m256i q[4];
      for (int u = 0; u < 4; ++u) {
        const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * u), vs);
        q[u] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), lim);
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), pack_epi8(q[0], q[1], q[2], q[3]));
      y[i].bsums[j / 16] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(q[0], q[1])));
      y[i].bsums[j / 16 + 1] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(q[2], q[3])));
    }
    y[i].d = 1.0f / iscale;
  }
}

#elif defined(__ARM_FEATURE_DOTPROD)
// ---- NEON (dotprod level) -------------------------------------------------------------------------
// vcvtaq rounds ties away from zero (roundf); vcvtnq ties to even (nearest_int).
template <bool kSum>
EMBER_FORCE_INLINE int quantize_block_q8_neon(const float* x, int8_t* qs, float* d_out) {
  float32x4_t v[8];
  float32x4_t m = vdupq_n_f32(0.0f);
  for (int u = 0; u < 8; ++u) {
    v[u] = vld1q_f32(x + 4 * u);
    m = vmaxq_f32(m, vabsq_f32(v[u]));
  }
  const float amax = vmaxvq_f32(m);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int32x4_t sum = vdupq_n_s32(0);
  for (int u = 0; u < 8; u += 2) {
    const int32x4_t a = vcvtaq_s32_f32(vmulq_n_f32(v[u], id));
    const int32x4_t b = vcvtaq_s32_f32(vmulq_n_f32(v[u + 1], id));
    if constexpr (kSum) sum = vaddq_s32(sum, vaddq_s32(a, b));
    const int16x8_t h = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
    vst1_s8(qs + 4 * u, vqmovn_s16(h));
  }
  *d_out = d;
  return kSum ? vaddvq_s32(sum) : 0;
}

void q8_0_simd(const float* x, block_q8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
    float d;
    quantize_block_q8_neon<false>(x, y[i].qs, &d);
    y[i].d = float_to_half_bits(d);
  }
}

void q8_1_simd(const float* x, block_q8_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK8_0) {
    float d;
    const int sum = quantize_block_q8_neon<true>(x, y[i].qs, &d);
    y[i].d = float_to_half_bits(d);
    y[i].s = float_to_half_bits(static_cast<float>(sum) * d);
  }
}

void q8_K_simd(const float* x, block_q8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK_K) {
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int j = 0; j < QK_K; j += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + j)));
    const float amax = vmaxvq_f32(m);
    if (amax == 0.0f) {
      zero_block_q8_K(&y[i]);
      continue;
    }
    float max = 0;
    for (int j = 0; j < QK_K; ++j) {
      if (std::fabs(x[j]) == amax) {
        max = x[j];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const int32x4_t lim = vdupq_n_s32(127);
    for (int j = 0; j < QK_K; j += 16) {
      int32x4_t q[4];
      for (int u = 0; u < 4; ++u) q[u] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j + 4 * u), iscale)), lim);
      const int16x8_t h0 = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
      const int16x8_t h1 = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
      vst1q_s8(y[i].qs + j, vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1)));
      y[i].bsums[j / 16] = static_cast<int16_t>(vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]))));
    }
    y[i].d = 1.0f / iscale;
  }
}

#else
// ---- baseline: the scalar code is this level's ----------------------------------------------------
void q8_0_simd(const float* x, block_q8_0* y, int64_t nb) { q8_0_scalar(x, y, nb); }
void q8_1_simd(const float* x, block_q8_1* y, int64_t nb) { q8_1_scalar(x, y, nb); }
void q8_K_simd(const float* x, block_q8_K* y, int64_t nb) { q8_K_scalar(x, y, nb); }
#endif

}  // namespace

void quantize_activation_q8_0(const float* x, void* blocks, int64_t k) {
  q8_0_simd(x, static_cast<block_q8_0*>(blocks), k / QK8_0);
}
void quantize_activation_q8_1(const float* x, void* blocks, int64_t k) {
  q8_1_simd(x, static_cast<block_q8_1*>(blocks), k / QK8_0);
}
void quantize_activation_q8_K(const float* x, void* blocks, int64_t k) {
  q8_K_simd(x, static_cast<block_q8_K*>(blocks), k / QK_K);
}

QuantizeActivationFn activation_quantizer(quant::QType type) {
  switch (type) {
    case quant::QType::Q8_0: return quantize_activation_q8_0;
    case quant::QType::Q8_1: return quantize_activation_q8_1;
    case quant::QType::Q8_K: return quantize_activation_q8_K;
    default: return nullptr;
  }
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
