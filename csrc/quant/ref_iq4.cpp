// Reference rows of the non-linear 4-bit types IQ4_NL (blocks of 32, one f16 scale) and IQ4_XS
// (super-blocks of 256: one f16 scale, eight signed 6-bit sub-block scales).
//
// Dequantization is ggml's: d * kvalues[q] (IQ4_NL), (d * (ls - 32)) * kvalues[q] (IQ4_XS).
//
// Quantization follows ggml's quantize_row_iq4_nl_impl without an importance matrix (weights x^2):
// for each block of 32, try the inverse scales (itry + kvalues[0]) / max, itry = -7..7, map each x to
// the nearest level, keep the weighted least-squares scale of the best try. Two additions, each of
// which can only lower the error: the levels are chosen against the scale as stored (f16, and for
// IQ4_XS the rounded 6-bit sub-block scale), and IQ4_XS tries the sub-block codes next to the rounded
// one. ggml's quantize_row_iq4_nl_ref makes a single try (ntry = -1); this uses IQ4_XS's 7 for both.
// NaN inputs give deterministic but meaningless blocks; no undefined behaviour.
#include <cmath>
#include <cstring>

#include "quant/ref_util.h"
#include "quant/reference_types.h"

namespace ember::quant {

using ref::fp16;
using ref::to_fp16;

namespace {

constexpr int kTries = 7;
constexpr int kRefineRadius = 2;

// The index of the level nearest to v (ggml's best_index_int8: the lower one on ties). NaN gives 0.
int nearest_level(float v) {
  const int8_t* values = kIq4nlValues;
  if (!(v > values[0])) return 0;
  if (v >= values[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v < values[mid]) hi = mid;
    else lo = mid;
  }
  return v - values[hi - 1] < values[hi] - v ? hi - 1 : hi;
}

// The best scale of one block of 32 with weights x^2 (0 for an all-zero block).
float fit_block(const float* x) {
  float weight[32];
  for (int j = 0; j < 32; ++j) weight[j] = x[j] * x[j];
  const float max = ref::signed_absmax(x, 32);
  if (!(std::fabs(max) >= 1e-15f)) return 0.f;
  // Weighted sums of one inverse scale.
  auto sums = [&](float id, float* sumqx, float* sumq2) {
    *sumqx = 0;
    *sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const float q = kIq4nlValues[nearest_level(id * x[j])];
      *sumqx += weight[j] * q * x[j];
      *sumq2 += weight[j] * q * q;
    }
  };
  float sumqx, sumq2;
  sums(1 / (-max / kIq4nlValues[0]), &sumqx, &sumq2);
  float d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int itry = -kTries; itry <= kTries; ++itry) {
    sums(static_cast<float>(itry + kIq4nlValues[0]) / max, &sumqx, &sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Squared error of a block of 32 against scale * kvalues[L]; L (levels) written when not null.
float block_error(const float* x, float scale, uint8_t* L) {
  float error = 0;
  const float id = scale != 0 ? 1 / scale : 0.f;
  for (int j = 0; j < 32; ++j) {
    const int l = scale != 0 ? nearest_level(id * x[j]) : 8;  // level 8 is 1: closest to 0 (x scale 0 = 0)
    if (L) L[j] = static_cast<uint8_t>(l);
    const float diff = scale * static_cast<float>(kIq4nlValues[l]) - x[j];
    error += diff * diff;
  }
  return error;
}

void pack_levels(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
}

}  // namespace

void quantize_row_iq4_nl(const float* x, block_iq4_nl* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_NL; ++i, x += QK4_NL) {
    y[i].d = to_fp16(fit_block(x));
    uint8_t L[32];
    block_error(x, fp16(y[i].d), L);
    pack_levels(L, y[i].qs);
  }
}

void dequantize_row_iq4_nl(const block_iq4_nl* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK4_NL; ++i, y += QK4_NL) {
    const float d = fp16(x[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>(kIq4nlValues[x[i].qs[j] & 0xF]);
      y[j + 16] = d * static_cast<float>(kIq4nlValues[x[i].qs[j] >> 4]);
    }
  }
}

void quantize_row_iq4_xs(const float* x, block_iq4_xs* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
    float scales[8];
    float amax = 0, max_scale = 0;
    for (int ib = 0; ib < 8; ++ib) {
      scales[ib] = fit_block(x + 32 * ib);
      if (std::fabs(scales[ib]) > amax) {
        amax = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    const float d = -max_scale / 32;
    y[i].d = to_fp16(d);
    const float d16 = fp16(y[i].d);
    const float id = d != 0 ? 1 / d : 0.f;
    y[i].scales_h = 0;
    std::memset(y[i].scales_l, 0, sizeof y[i].scales_l);
    for (int ib = 0; ib < 8; ++ib) {
      const float* xb = x + 32 * ib;
      int code = ref::clamp_int(ref::nearest_int(id * scales[ib]), -32, 31);
      if (d16 != 0) {
        float best = block_error(xb, d16 * static_cast<float>(code), nullptr);
        const int code0 = code;
        for (int c = code0 - kRefineRadius; c <= code0 + kRefineRadius; ++c) {
          if (c < -32 || c > 31 || c == code0) continue;
          const float error = block_error(xb, d16 * static_cast<float>(c), nullptr);
          if (error < best) {
            best = error;
            code = c;
          }
        }
      }
      uint8_t L[32];
      block_error(xb, d16 * static_cast<float>(code), L);
      pack_levels(L, y[i].qs + 16 * ib);
      const int stored = code + 32;
      y[i].scales_l[ib / 2] |= static_cast<uint8_t>((stored & 0xF) << (4 * (ib % 2)));
      y[i].scales_h = static_cast<uint16_t>(y[i].scales_h | ((stored >> 4) << (2 * ib)));
    }
  }
}

void dequantize_row_iq4_xs(const block_iq4_xs* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i) {
    const float d = fp16(x[i].d);
    for (int ib = 0; ib < 8; ++ib, y += 32) {
      const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((x[i].scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      const uint8_t* qs = x[i].qs + 16 * ib;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * static_cast<float>(kIq4nlValues[qs[j] & 0xF]);
        y[j + 16] = dl * static_cast<float>(kIq4nlValues[qs[j] >> 4]);
      }
    }
  }
}

}  // namespace ember::quant
