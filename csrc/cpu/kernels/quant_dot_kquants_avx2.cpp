// AVX2 integer dot products of the K-quants and IQ4_XS with Q8_K activations (the avx2 and avx512
// levels; empty elsewhere). See quant_dot_kquants.cpp for the math.
//
// Per 32 weights: unpack to bytes, _mm256_maddubs_epi16(unsigned weights, signed activations) gives 16
// pair sums in int16 (no saturation: |w| <= 63, |y| <= 128), _mm256_madd_epi16 with the sub-block scales
// widens to int32. A 32-byte vector covers one sub-block of Q4_K / Q5_K / IQ4_XS (one scale, broadcast)
// or two of Q2_K / Q3_K / Q6_K (16 elements each: one scale per 128-bit lane). Signed weight values
// are made unsigned by an offset that is taken back through the activation block sums:
//   Q3_K: q = u - 4 with u in 0..7;   Q6_K: q = u - 32 with u in 0..63;   sum_s scale_s * off * bsum_s.
// IQ4_XS looks its values up with _mm256_shuffle_epi8 and multiplies |w| by sign(w) * y. That sign
// trick needs y != -128, which the Q8_K quantizer guarantees (its quants lie in [-127, 127]).
//
// A tile is one weight row by up to 4 activation rows: the weights are unpacked once per super-block
// and multiplied with each row's quants. Per row and super-block the int32 lanes are converted to
// float and accumulated with d * y.d (and the mins with dmin * y.d); the lanes are summed at the end.
#include "cpu/kernels/quant_dot_kquants.h"

#if defined(__AVX2__)
#include <immintrin.h>

#include <type_traits>

#include "quant/blocks.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

using quant::block_q8_K;
using quant::QK_K;

// _mm256_shuffle_epi8 masks over 16-bit scales. kPairMask[g]: in [s0..s7 | s0..s7], lane 0 gets
// s[2g], lane 1 gets s[2g + 1] (g < 4; two 16-element sub-blocks per vector). kBcastMask[g]: every
// lane gets s[g] (g < 8).
struct ScaleMasks {
  alignas(32) int8_t pair[4][32];
  alignas(32) int8_t bcast[8][32];
};
constexpr ScaleMasks make_scale_masks() {
  ScaleMasks m{};
  for (int g = 0; g < 4; ++g) {
    for (int b = 0; b < 32; ++b) {
      const int s = b < 16 ? 2 * g : 2 * g + 1;
      m.pair[g][b] = static_cast<int8_t>(2 * s + (b & 1));
    }
  }
  for (int g = 0; g < 8; ++g) {
    for (int b = 0; b < 32; ++b) m.bcast[g][b] = static_cast<int8_t>(2 * g + (b & 1));
  }
  return m;
}
alignas(32) constexpr ScaleMasks kScaleMasks = make_scale_masks();

EMBER_FORCE_INLINE __m256i load_mask(const int8_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
EMBER_FORCE_INLINE __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// f16 bits to float through F16C (the avx2 and avx512 levels are built with -mf16c)
EMBER_FORCE_INLINE float h2f(uint16_t h) { return _cvtsh_ss(h); }

EMBER_FORCE_INLINE __m128i words(const uint32_t v[4]) {
  return _mm_set_epi32(static_cast<int>(v[3]), static_cast<int>(v[2]), static_cast<int>(v[1]), static_cast<int>(v[0]));
}

EMBER_FORCE_INLINE float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// sum of (weights * y) pairs times the 16-bit scales, as 8 int32 lanes
EMBER_FORCE_INLINE __m256i dot32(__m256i w_unsigned, const int8_t* y, __m256i scales) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w_unsigned, loadu(y)), scales);
}

// Activation rows of a tile at super-block b.
template <int NX>
struct Rows {
  const block_q8_K* y[NX];
  EMBER_FORCE_INLINE Rows(const void* x, int64_t x_stride, int64_t b) {
    for (int j = 0; j < NX; ++j) {
      y[j] = reinterpret_cast<const block_q8_K*>(static_cast<const char*>(x) + j * x_stride) + b;
    }
  }
};

// ---- Q2_K ------------------------------------------------------------------------------------------
template <int NX>
void tile_q2_K(int64_t nb, const quant::block_q2_K* wb, const void* x, int64_t x_stride, float* res) {
  const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(0xf);
  __m256 acc[NX], accm[NX];
  for (int j = 0; j < NX; ++j) acc[j] = accm[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_q2_K& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales));
    const __m256i sc = _mm256_cvtepu8_epi16(_mm_and_si128(raw, _mm256_castsi256_si128(m4)));
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm256_castsi256_si128(m4)));
    __m256i isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i sc_h = _mm256_permute2x128_si256(sc, sc, h == 0 ? 0x00 : 0x11);
      __m256i v = loadu(blk.qs + 32 * h);
      for (int g = 0; g < 4; ++g) {
        const __m256i q = _mm256_and_si256(v, m3);
        v = _mm256_srli_epi16(v, 2);
        const __m256i s = _mm256_shuffle_epi8(sc_h, load_mask(kScaleMasks.pair[g]));
        const int e = 128 * h + 32 * g;
        for (int j = 0; j < NX; ++j) isum[j] = _mm256_add_epi32(isum[j], dot32(q, r.y[j]->qs + e, s));
      }
    }
    const float d = h2f(blk.d), dmin = h2f(blk.dmin);
    for (int j = 0; j < NX; ++j) {
      const __m256i m = _mm256_madd_epi16(mins, loadu(r.y[j]->bsums));
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_set1_ps(d * r.y[j]->d), acc[j]);
      accm[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_set1_ps(dmin * r.y[j]->d), accm[j]);
    }
  }
  for (int j = 0; j < NX; ++j) res[j] = hsum(_mm256_sub_ps(acc[j], accm[j]));
}

// ---- Q3_K ------------------------------------------------------------------------------------------
template <int NX>
void tile_q3_K(int64_t nb, const quant::block_q3_K* wb, const void* x, int64_t x_stride, float* res) {
  const __m256i m3 = _mm256_set1_epi8(3), bit2 = _mm256_set1_epi8(4);
  __m256 acc[NX];
  for (int j = 0; j < NX; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_q3_K& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    uint32_t sw[4];
    kquant_scale_words_q3_K(blk.scales, sw);
    const __m256i sc = _mm256_cvtepi8_epi16(words(sw));
    __m256i hm = loadu(blk.hmask);
    __m256i isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i sc_h = _mm256_permute2x128_si256(sc, sc, h == 0 ? 0x00 : 0x11);
      __m256i v = loadu(blk.qs + 32 * h);
      for (int g = 0; g < 4; ++g) {
        // u = low 2 bits | high bit << 2, in 0..7; q = u - 4
        const __m256i high = _mm256_and_si256(_mm256_slli_epi16(hm, 2), bit2);
        const __m256i q = _mm256_or_si256(_mm256_and_si256(v, m3), high);
        v = _mm256_srli_epi16(v, 2);
        hm = _mm256_srli_epi16(hm, 1);
        const __m256i s = _mm256_shuffle_epi8(sc_h, load_mask(kScaleMasks.pair[g]));
        const int e = 128 * h + 32 * g;
        for (int j = 0; j < NX; ++j) isum[j] = _mm256_add_epi32(isum[j], dot32(q, r.y[j]->qs + e, s));
      }
    }
    const float d = h2f(blk.d);
    for (int j = 0; j < NX; ++j) {
      const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc, loadu(r.y[j]->bsums)), 2);  // 4 * scale * bsum
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isum[j], off)), _mm256_set1_ps(d * r.y[j]->d), acc[j]);
    }
  }
  for (int j = 0; j < NX; ++j) res[j] = hsum(acc[j]);
}

// ---- Q4_K / Q5_K -----------------------------------------------------------------------------------
// Scales and mins per 32 elements; Q5_K adds a fifth bit from qh (bit 2c / 2c + 1 of qh[l] for the low /
// high nibbles of chunk c).
template <int NX, bool kQ5>
void tile_q45_K(int64_t nb, const void* wv, const void* x, int64_t x_stride, float* res) {
  using Block = std::conditional_t<kQ5, quant::block_q5_K, quant::block_q4_K>;
  const Block* wb = static_cast<const Block*>(wv);
  const __m256i m4 = _mm256_set1_epi8(0xf), bit4 = _mm256_set1_epi8(0x10);
  __m256 acc[NX];
  __m128 accm[NX];
  for (int j = 0; j < NX; ++j) {
    acc[j] = _mm256_setzero_ps();
    accm[j] = _mm_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    uint32_t sw[4];
    kquant_scale_words_q4_K(blk.scales, sw);
    const __m128i sm8 = words(sw);
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm8));
    const __m128i mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm8, sm8));
    [[maybe_unused]] __m256i hb;
    if constexpr (kQ5) hb = loadu(blk.qh);
    __m256i isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i v = loadu(blk.qs + 32 * c);
      __m256i lo = _mm256_and_si256(v, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      if constexpr (kQ5) {
        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 4), bit4));
        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hb, 3), bit4));
        hb = _mm256_srli_epi16(hb, 2);
      }
      const __m256i s_lo = _mm256_shuffle_epi8(sc, load_mask(kScaleMasks.bcast[2 * c]));
      const __m256i s_hi = _mm256_shuffle_epi8(sc, load_mask(kScaleMasks.bcast[2 * c + 1]));
      for (int j = 0; j < NX; ++j) {
        const int8_t* y = r.y[j]->qs + 64 * c;
        isum[j] = _mm256_add_epi32(isum[j], _mm256_add_epi32(dot32(lo, y, s_lo), dot32(hi, y + 32, s_hi)));
      }
    }
    const float d = h2f(blk.d), dmin = h2f(blk.dmin);
    for (int j = 0; j < NX; ++j) {
      const __m128i* bs = reinterpret_cast<const __m128i*>(r.y[j]->bsums);
      const __m128i pairs = _mm_hadd_epi16(_mm_loadu_si128(bs), _mm_loadu_si128(bs + 1));  // per 32 elements
      const __m128i m = _mm_madd_epi16(mins, pairs);
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_set1_ps(d * r.y[j]->d), acc[j]);
      accm[j] = _mm_fmadd_ps(_mm_cvtepi32_ps(m), _mm_set1_ps(dmin * r.y[j]->d), accm[j]);
    }
  }
  for (int j = 0; j < NX; ++j) {
    const __m256 m = _mm256_castps128_ps256(accm[j]);  // upper lanes zeroed below
    res[j] = hsum(_mm256_sub_ps(acc[j], _mm256_insertf128_ps(m, _mm_setzero_ps(), 1)));
  }
}

// ---- Q6_K ------------------------------------------------------------------------------------------
template <int NX>
void tile_q6_K(int64_t nb, const quant::block_q6_K* wb, const void* x, int64_t x_stride, float* res) {
  const __m256i m4 = _mm256_set1_epi8(0xf), m30 = _mm256_set1_epi8(0x30);
  __m256 acc[NX];
  for (int j = 0; j < NX; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_q6_K& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales)));
    __m256i isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i sc_h = _mm256_permute2x128_si256(sc, sc, h == 0 ? 0x00 : 0x11);
      const __m256i la = loadu(blk.ql + 64 * h), lb = loadu(blk.ql + 64 * h + 32);
      const __m256i qh = loadu(blk.qh + 32 * h);
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
      q[1] = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(qh, m30));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                             _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
      for (int g = 0; g < 4; ++g) {
        const __m256i s = _mm256_shuffle_epi8(sc_h, load_mask(kScaleMasks.pair[g]));
        const int e = 128 * h + 32 * g;
        for (int j = 0; j < NX; ++j) isum[j] = _mm256_add_epi32(isum[j], dot32(q[g], r.y[j]->qs + e, s));
      }
    }
    const float d = h2f(blk.d);
    for (int j = 0; j < NX; ++j) {
      const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc, loadu(r.y[j]->bsums)), 5);  // 32 * scale * bsum
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isum[j], off)), _mm256_set1_ps(d * r.y[j]->d), acc[j]);
    }
  }
  for (int j = 0; j < NX; ++j) res[j] = hsum(acc[j]);
}

// ---- IQ4_XS ----------------------------------------------------------------------------------------
// The 8 sub-block scales (6 bits, minus 32) as int16, from scales_l (nibbles) and scales_h (2 bits each).
EMBER_FORCE_INLINE __m128i iq4_xs_scales(const quant::block_iq4_xs& blk) {
  uint32_t l;
  std::memcpy(&l, blk.scales_l, 4);
  const __m128i v = _mm_cvtsi32_si128(static_cast<int>(l)), m4 = _mm_set1_epi8(0xf);
  const __m128i low = _mm_unpacklo_epi8(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
  // (h >> 2 * ib) & 3 in lane ib: h * 2^(14 - 2 * ib) keeps bits 2 * ib, 2 * ib + 1 at the top of the lane
  const __m128i hsh = _mm_mullo_epi16(_mm_set1_epi16(static_cast<short>(blk.scales_h)),
                                      _mm_setr_epi16(1 << 14, 1 << 12, 1 << 10, 1 << 8, 1 << 6, 1 << 4, 1 << 2, 1));
  const __m128i high = _mm_slli_epi16(_mm_srli_epi16(hsh, 14), 4);
  return _mm_sub_epi16(_mm_or_si128(_mm_cvtepu8_epi16(low), high), _mm_set1_epi16(32));
}

// 32 quant bytes = sub-blocks 2c and 2c + 1, 16 bytes each: low nibbles are elements 0-15 of the
// sub-block, high nibbles 16-31. So the low-nibble vector pairs with activations [0-15 | 32-47] of the
// 64 and the high-nibble vector with [16-31 | 48-63]; lane 0 takes scale 2c, lane 1 scale 2c + 1.
template <int NX>
void tile_iq4_xs(int64_t nb, const quant::block_iq4_xs* wb, const void* x, int64_t x_stride, float* res) {
  const __m256i m4 = _mm256_set1_epi8(0xf);
  const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(quant::kIq4nlValues)));
  __m256 acc[NX];
  for (int j = 0; j < NX; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_iq4_xs& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    const __m128i sc8 = iq4_xs_scales(blk);
    __m256i isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i v = loadu(blk.qs + 32 * c);
      const __m256i wl = _mm256_shuffle_epi8(table, _mm256_and_si256(v, m4));
      const __m256i wh = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
      const __m256i al = _mm256_sign_epi8(wl, wl), ah = _mm256_sign_epi8(wh, wh);
      // [s(2c) x 8 | s(2c + 1) x 8]
      const __m256i s = _mm256_set_m128i(_mm_shuffle_epi8(sc8, _mm_set1_epi16(static_cast<short>(((4 * c + 3) << 8) | (4 * c + 2)))),
                                         _mm_shuffle_epi8(sc8, _mm_set1_epi16(static_cast<short>(((4 * c + 1) << 8) | (4 * c)))));
      for (int j = 0; j < NX; ++j) {
        const int8_t* y = r.y[j]->qs + 64 * c;
        const __m256i yl = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(y + 32), reinterpret_cast<const __m128i*>(y));
        const __m256i yh = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(y + 48), reinterpret_cast<const __m128i*>(y + 16));
        const __m256i pl = _mm256_maddubs_epi16(al, _mm256_sign_epi8(yl, wl));
        const __m256i ph = _mm256_maddubs_epi16(ah, _mm256_sign_epi8(yh, wh));
        isum[j] = _mm256_add_epi32(isum[j], _mm256_add_epi32(_mm256_madd_epi16(pl, s), _mm256_madd_epi16(ph, s)));  // pair sums reach 2 * 127 * 127: no int16 add
      }
    }
    const float d = h2f(blk.d);
    for (int j = 0; j < NX; ++j) {
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[j]), _mm256_set1_ps(d * r.y[j]->d), acc[j]);
    }
  }
  for (int j = 0; j < NX; ++j) res[j] = hsum(acc[j]);
}

// ---- tiles -----------------------------------------------------------------------------------------
template <int NX>
void run_tile(quant::QType type, int64_t nb, const void* w, const void* x, int64_t x_stride, float* res) {
  switch (type) {
    case quant::QType::Q2_K: tile_q2_K<NX>(nb, static_cast<const quant::block_q2_K*>(w), x, x_stride, res); break;
    case quant::QType::Q3_K: tile_q3_K<NX>(nb, static_cast<const quant::block_q3_K*>(w), x, x_stride, res); break;
    case quant::QType::Q4_K: tile_q45_K<NX, false>(nb, w, x, x_stride, res); break;
    case quant::QType::Q5_K: tile_q45_K<NX, true>(nb, w, x, x_stride, res); break;
    case quant::QType::Q6_K: tile_q6_K<NX>(nb, static_cast<const quant::block_q6_K*>(w), x, x_stride, res); break;
    default: tile_iq4_xs<NX>(nb, static_cast<const quant::block_iq4_xs*>(w), x, x_stride, res); break;
  }
}

template <quant::QType kType>
void dot_avx2(int64_t k, const void* w, int64_t w_stride, int nw, const void* x, int64_t x_stride, int nx,
              float* out, int64_t out_stride) {
  const int64_t nb = k / QK_K;
  for (int i = 0; i < nw; ++i) {
    const void* wi = static_cast<const char*>(w) + i * w_stride;
    for (int j0 = 0; j0 < nx; j0 += kKQuantMaxNx) {
      const void* xj = static_cast<const char*>(x) + j0 * x_stride;
      float res[kKQuantMaxNx];
      const int nj = nx - j0 < kKQuantMaxNx ? nx - j0 : kKQuantMaxNx;
      switch (nj) {
        case 1: run_tile<1>(kType, nb, wi, xj, x_stride, res); break;
        case 2: run_tile<2>(kType, nb, wi, xj, x_stride, res); break;
        case 3: run_tile<3>(kType, nb, wi, xj, x_stride, res); break;
        default: run_tile<4>(kType, nb, wi, xj, x_stride, res); break;
      }
      for (int j = 0; j < nj; ++j) out[(j0 + j) * out_stride + i] = res[j];
    }
  }
}

}  // namespace

QDotFn kquant_dot_avx2(quant::QType type) {
  switch (type) {
    case quant::QType::Q2_K: return dot_avx2<quant::QType::Q2_K>;
    case quant::QType::Q3_K: return dot_avx2<quant::QType::Q3_K>;
    case quant::QType::Q4_K: return dot_avx2<quant::QType::Q4_K>;
    case quant::QType::Q5_K: return dot_avx2<quant::QType::Q5_K>;
    case quant::QType::Q6_K: return dot_avx2<quant::QType::Q6_K>;
    case quant::QType::IQ4_XS: return dot_avx2<quant::QType::IQ4_XS>;
    default: return nullptr;
  }
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu

#endif  // __AVX2__
