// arm64 dotprod integer dot products of the K-quants and IQ4_XS with Q8_K activations (the dotprod
// level; empty elsewhere). See quant_dot_kquants.cpp for the math.
//
// Weights are unpacked to signed int8 (Q3_K minus 4, Q6_K minus 32, IQ4_XS through vqtbl1q_s8), and
// vdotq_s32 multiplies 16 of them with 16 activation quants into 4 int32 lanes. Each 16-element
// product is scaled by its sub-block scale with vmlaq_n_s32 and the lanes are summed once per
// super-block, so per super-block and row the float work is the same as the scalar code's:
// sum += d * y.d * isum - dmin * y.d * msum.
//
// A tile is one weight row by up to 4 activation rows sharing the unpacked weights.
#include "cpu/kernels/quant_dot_kquants.h"

#if defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>

#include <type_traits>

#include "core/half.h"
#include "quant/blocks.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

using quant::block_q8_K;
using quant::QK_K;

template <int NX>
struct Rows {
  const block_q8_K* y[NX];
  EMBER_FORCE_INLINE Rows(const void* x, int64_t x_stride, int64_t b) {
    for (int j = 0; j < NX; ++j) {
      y[j] = reinterpret_cast<const block_q8_K*>(static_cast<const char*>(x) + j * x_stride) + b;
    }
  }
};

EMBER_FORCE_INLINE int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// acc + scale * (w . y) over 16 elements
EMBER_FORCE_INLINE int32x4_t dot16(int32x4_t acc, int8x16_t w, const int8_t* y, int32_t scale) {
  return vmlaq_n_s32(acc, vdotq_s32(vdupq_n_s32(0), w, vld1q_s8(y)), scale);
}
// acc + scale * (w0 . y[0..15] + w1 . y[16..31])
EMBER_FORCE_INLINE int32x4_t dot32(int32x4_t acc, int8x16_t w0, int8x16_t w1, const int8_t* y, int32_t scale) {
  const int32x4_t p = vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, vld1q_s8(y)), w1, vld1q_s8(y + 16));
  return vmlaq_n_s32(acc, p, scale);
}

// sum_s m[s] * bsums[s] over 16 sub-blocks of 16 (m: 16 small non-negative values)
EMBER_FORCE_INLINE int32_t min_dot16(uint8x16_t m8, const int16_t* bsums) {
  const int16x8_t m0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m8)));
  const int16x8_t m1 = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(m8)));
  const int16x8_t b0 = vld1q_s16(bsums), b1 = vld1q_s16(bsums + 8);
  int32x4_t s = vmull_s16(vget_low_s16(m0), vget_low_s16(b0));
  s = vmlal_s16(s, vget_high_s16(m0), vget_high_s16(b0));
  s = vmlal_s16(s, vget_low_s16(m1), vget_low_s16(b1));
  s = vmlal_s16(s, vget_high_s16(m1), vget_high_s16(b1));
  return vaddvq_s32(s);
}

// ---- Q2_K ------------------------------------------------------------------------------------------
template <int NX>
void tile_q2_K(int64_t nb, const quant::block_q2_K* wb, const void* x, int64_t x_stride, float* res) {
  const uint8x16_t m3 = vdupq_n_u8(3);
  float sum[NX] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_q2_K& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    uint8_t sc[16];
    const uint8x16_t raw = vld1q_u8(blk.scales);
    for (int s = 0; s < 16; ++s) sc[s] = blk.scales[s] & 0xf;
    const uint8x16_t mn = vshrq_n_u8(raw, 4);
    int32x4_t isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      uint8x16_t v0 = vld1q_u8(blk.qs + 32 * h), v1 = vld1q_u8(blk.qs + 32 * h + 16);
      for (int g = 0; g < 4; ++g) {
        const int8x16_t q0 = s8(vandq_u8(v0, m3)), q1 = s8(vandq_u8(v1, m3));
        v0 = vshrq_n_u8(v0, 2);
        v1 = vshrq_n_u8(v1, 2);
        const int s = 8 * h + 2 * g, e = 128 * h + 32 * g;
        for (int j = 0; j < NX; ++j) {
          isum[j] = dot16(dot16(isum[j], q0, r.y[j]->qs + e, sc[s]), q1, r.y[j]->qs + e + 16, sc[s + 1]);
        }
      }
    }
    const float d = half_bits_to_float(blk.d), dmin = half_bits_to_float(blk.dmin);
    for (int j = 0; j < NX; ++j) {
      const int32_t msum = min_dot16(mn, r.y[j]->bsums);
      sum[j] += d * r.y[j]->d * static_cast<float>(vaddvq_s32(isum[j]));
      sum[j] -= dmin * r.y[j]->d * static_cast<float>(msum);
    }
  }
  for (int j = 0; j < NX; ++j) res[j] = sum[j];
}

// ---- Q3_K ------------------------------------------------------------------------------------------
template <int NX>
void tile_q3_K(int64_t nb, const quant::block_q3_K* wb, const void* x, int64_t x_stride, float* res) {
  const uint8x16_t m3 = vdupq_n_u8(3), one = vdupq_n_u8(1);
  const int8x16_t four = vdupq_n_s8(4);
  float sum[NX] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_q3_K& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    int8_t sc[16];
    kquant_decode_scales_q3_K(blk.scales, sc);
    uint8x16_t hm0 = vld1q_u8(blk.hmask), hm1 = vld1q_u8(blk.hmask + 16);
    int32x4_t isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      uint8x16_t v0 = vld1q_u8(blk.qs + 32 * h), v1 = vld1q_u8(blk.qs + 32 * h + 16);
      for (int g = 0; g < 4; ++g) {
        const uint8x16_t u0 = vorrq_u8(vandq_u8(v0, m3), vshlq_n_u8(vandq_u8(hm0, one), 2));
        const uint8x16_t u1 = vorrq_u8(vandq_u8(v1, m3), vshlq_n_u8(vandq_u8(hm1, one), 2));
        const int8x16_t q0 = vsubq_s8(s8(u0), four), q1 = vsubq_s8(s8(u1), four);
        v0 = vshrq_n_u8(v0, 2);
        v1 = vshrq_n_u8(v1, 2);
        hm0 = vshrq_n_u8(hm0, 1);
        hm1 = vshrq_n_u8(hm1, 1);
        const int s = 8 * h + 2 * g, e = 128 * h + 32 * g;
        for (int j = 0; j < NX; ++j) {
          isum[j] = dot16(dot16(isum[j], q0, r.y[j]->qs + e, sc[s]), q1, r.y[j]->qs + e + 16, sc[s + 1]);
        }
      }
    }
    const float d = half_bits_to_float(blk.d);
    for (int j = 0; j < NX; ++j) sum[j] += d * r.y[j]->d * static_cast<float>(vaddvq_s32(isum[j]));
  }
  for (int j = 0; j < NX; ++j) res[j] = sum[j];
}

// ---- Q4_K / Q5_K -----------------------------------------------------------------------------------
template <int NX, bool kQ5>
void tile_q45_K(int64_t nb, const void* wv, const void* x, int64_t x_stride, float* res) {
  using Block = std::conditional_t<kQ5, quant::block_q5_K, quant::block_q4_K>;
  const Block* wb = static_cast<const Block*>(wv);
  const uint8x16_t m4 = vdupq_n_u8(0xf), bit0 = vdupq_n_u8(1), bit1 = vdupq_n_u8(2);
  float sum[NX] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const Block& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    uint32_t sw[4];
    kquant_scale_words_q4_K(blk.scales, sw);
    uint8_t sm[8];  // scales
    std::memcpy(sm, sw, 8);
    // mins per 32 elements, repeated per 16 so they pair with bsums (built from the words: a vector load
    // of bytes just stored would stall store-to-load forwarding)
    const uint8x8_t m8 = vcreate_u8(static_cast<uint64_t>(sw[2]) | (static_cast<uint64_t>(sw[3]) << 32));
    const uint8x16_t mn = vcombine_u8(vzip1_u8(m8, m8), vzip2_u8(m8, m8));
    [[maybe_unused]] uint8x16_t h0, h1;
    if constexpr (kQ5) {
      h0 = vld1q_u8(blk.qh);
      h1 = vld1q_u8(blk.qh + 16);
    }
    int32x4_t isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = vdupq_n_s32(0);
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t v0 = vld1q_u8(blk.qs + 32 * c), v1 = vld1q_u8(blk.qs + 32 * c + 16);
      uint8x16_t lo0 = vandq_u8(v0, m4), lo1 = vandq_u8(v1, m4);
      uint8x16_t hi0 = vshrq_n_u8(v0, 4), hi1 = vshrq_n_u8(v1, 4);
      if constexpr (kQ5) {
        lo0 = vorrq_u8(lo0, vshlq_n_u8(vandq_u8(h0, bit0), 4));
        lo1 = vorrq_u8(lo1, vshlq_n_u8(vandq_u8(h1, bit0), 4));
        hi0 = vorrq_u8(hi0, vshlq_n_u8(vandq_u8(h0, bit1), 3));
        hi1 = vorrq_u8(hi1, vshlq_n_u8(vandq_u8(h1, bit1), 3));
        h0 = vshrq_n_u8(h0, 2);
        h1 = vshrq_n_u8(h1, 2);
      }
      for (int j = 0; j < NX; ++j) {
        const int8_t* y = r.y[j]->qs + 64 * c;
        isum[j] = dot32(dot32(isum[j], s8(lo0), s8(lo1), y, sm[2 * c]), s8(hi0), s8(hi1), y + 32, sm[2 * c + 1]);
      }
    }
    const float d = half_bits_to_float(blk.d), dmin = half_bits_to_float(blk.dmin);
    for (int j = 0; j < NX; ++j) {
      const int32_t msum = min_dot16(mn, r.y[j]->bsums);
      sum[j] += d * r.y[j]->d * static_cast<float>(vaddvq_s32(isum[j]));
      sum[j] -= dmin * r.y[j]->d * static_cast<float>(msum);
    }
  }
  for (int j = 0; j < NX; ++j) res[j] = sum[j];
}

// ---- Q6_K ------------------------------------------------------------------------------------------
template <int NX>
void tile_q6_K(int64_t nb, const quant::block_q6_K* wb, const void* x, int64_t x_stride, float* res) {
  const uint8x16_t m4 = vdupq_n_u8(0xf), m3 = vdupq_n_u8(3), m0c = vdupq_n_u8(0x0c), m30 = vdupq_n_u8(0x30),
                   mc0 = vdupq_n_u8(0xc0);
  const int8x16_t bias = vdupq_n_s8(32);
  float sum[NX] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_q6_K& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    int32x4_t isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk.ql + 64 * h;
      const int8_t* sc = blk.scales + 8 * h;
      for (int half = 0; half < 2; ++half) {  // elements l = 16 * half .. 16 * half + 15 of each group
        const uint8x16_t la = vld1q_u8(ql + 16 * half), lb = vld1q_u8(ql + 32 + 16 * half);
        const uint8x16_t qh = vld1q_u8(blk.qh + 32 * h + 16 * half);
        const uint8x16_t u[4] = {
            vorrq_u8(vandq_u8(la, m4), vshlq_n_u8(vandq_u8(qh, m3), 4)),
            vorrq_u8(vandq_u8(lb, m4), vshlq_n_u8(vandq_u8(qh, m0c), 2)),
            vorrq_u8(vshrq_n_u8(la, 4), vandq_u8(qh, m30)),
            vorrq_u8(vshrq_n_u8(lb, 4), vshrq_n_u8(vandq_u8(qh, mc0), 2)),
        };
        for (int g = 0; g < 4; ++g) {
          const int8x16_t q = vsubq_s8(s8(u[g]), bias);
          const int e = 128 * h + 32 * g + 16 * half;
          for (int j = 0; j < NX; ++j) isum[j] = dot16(isum[j], q, r.y[j]->qs + e, sc[2 * g + half]);
        }
      }
    }
    const float d = half_bits_to_float(blk.d);
    for (int j = 0; j < NX; ++j) sum[j] += d * r.y[j]->d * static_cast<float>(vaddvq_s32(isum[j]));
  }
  for (int j = 0; j < NX; ++j) res[j] = sum[j];
}

// ---- IQ4_XS ----------------------------------------------------------------------------------------
template <int NX>
void tile_iq4_xs(int64_t nb, const quant::block_iq4_xs* wb, const void* x, int64_t x_stride, float* res) {
  const uint8x16_t m4 = vdupq_n_u8(0xf);
  const int8x16_t table = vld1q_s8(quant::kIq4nlValues);
  float sum[NX] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const quant::block_iq4_xs& blk = wb[b];
    const Rows<NX> r(x, x_stride, b);
    int32x4_t isum[NX];
    for (int j = 0; j < NX; ++j) isum[j] = vdupq_n_s32(0);
    for (int ib = 0; ib < 8; ++ib) {
      const uint8x16_t v = vld1q_u8(blk.qs + 16 * ib);
      const int8x16_t w0 = vqtbl1q_s8(table, vandq_u8(v, m4)), w1 = vqtbl1q_s8(table, vshrq_n_u8(v, 4));
      const int32_t ls = kquant_iq4_xs_scale(blk.scales_l, blk.scales_h, ib);
      for (int j = 0; j < NX; ++j) isum[j] = dot32(isum[j], w0, w1, r.y[j]->qs + 32 * ib, ls);
    }
    const float d = half_bits_to_float(blk.d);
    for (int j = 0; j < NX; ++j) sum[j] += d * r.y[j]->d * static_cast<float>(vaddvq_s32(isum[j]));
  }
  for (int j = 0; j < NX; ++j) res[j] = sum[j];
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
void dot_dotprod(int64_t k, const void* w, int64_t w_stride, int nw, const void* x, int64_t x_stride, int nx,
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

QDotFn kquant_dot_dotprod(quant::QType type) {
  switch (type) {
    case quant::QType::Q2_K: return dot_dotprod<quant::QType::Q2_K>;
    case quant::QType::Q3_K: return dot_dotprod<quant::QType::Q3_K>;
    case quant::QType::Q4_K: return dot_dotprod<quant::QType::Q4_K>;
    case quant::QType::Q5_K: return dot_dotprod<quant::QType::Q5_K>;
    case quant::QType::Q6_K: return dot_dotprod<quant::QType::Q6_K>;
    case quant::QType::IQ4_XS: return dot_dotprod<quant::QType::IQ4_XS>;
    default: return nullptr;
  }
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu

#endif  // __ARM_FEATURE_DOTPROD
