// Reference rows of the K-quants (256-element super-blocks): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
//
// Dequantization is ggml's dequantize_row_*: the sub-block scale d * sc (and min dmin * m) in float32,
// then scale * q - min, so the results equal ggml's and gguf-py's bit for bit.
//
// Quantization follows ggml's quantize_row_*_ref: fit each sub-block (ref_kquants_search.h), quantize
// the sub-block scales against one f16 super-block scale, requantize the values against the stored
// scales. It then adds one step ggml lacks: each sub-block tries the scale (and min) codes next to the
// rounded ones and keeps those with the smallest squared error against the stored f16 scales. This
// only ever lowers the error, so the RMSE is at most ggml's (tests/python/test_quant_reference.py).
// NaN inputs give deterministic but meaningless blocks; infinities saturate; no undefined behaviour.
#include <cmath>
#include <cstring>

#include "quant/ref_kquants_search.h"
#include "quant/ref_util.h"
#include "quant/reference_types.h"

namespace ember::quant {

using ref::fp16;
using ref::to_fp16;

namespace {

constexpr int kRefineRadius = 2;  // scale codes tried on each side of the rounded one

// Low 2 bits of 256 codes, as Q2_K / Q3_K store them: for each 128-element half, byte l holds
// elements l, l + 32, l + 64, l + 96 at bits 0, 2, 4, 6.
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < QK_K; h += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[h / 4 + l] = static_cast<uint8_t>((L[h + l] & 3) | ((L[h + l + 32] & 3) << 2) |
                                           ((L[h + l + 64] & 3) << 4) | ((L[h + l + 96] & 3) << 6));
    }
  }
}

inline int get_2bit(const uint8_t* qs, int e) {
  const int h = e / 128, w = e % 128;
  return (qs[h * 32 + w % 32] >> (2 * (w / 32))) & 3;
}

// Low 4 bits of 256 codes, as Q4_K / Q5_K store them: for each 64-element chunk, byte l holds
// element l in its low nibble and element l + 32 in its high nibble.
void pack_4bit_k(const uint8_t* L, uint8_t* qs) {
  for (int c = 0; c < QK_K; c += 64) {
    for (int l = 0; l < 32; ++l) qs[c / 2 + l] = static_cast<uint8_t>((L[c + l] & 0xF) | ((L[c + l + 32] & 0xF) << 4));
  }
}

inline int get_4bit_k(const uint8_t* qs, int e) {
  const int c = e / 64, w = e % 64;
  return w < 32 ? (qs[c * 32 + w] & 0xF) : (qs[c * 32 + w - 32] >> 4);
}

// One bit per element: byte e % 32, bit e / 32 (Q3_K's hmask, Q5_K's qh).
inline int get_bit(const uint8_t* bits, int e) { return (bits[e % 32] >> (e / 32)) & 1; }

// Q4_K / Q5_K: eight 6-bit scales and mins in 12 bytes (ggml's get_scale_min_k4).
void pack_scale_min_k4(const int* sc, const int* m, uint8_t* q) {
  std::memset(q, 0, K_SCALE_SIZE);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = static_cast<uint8_t>(sc[j]);
      q[j + 4] = static_cast<uint8_t>(m[j]);
    } else {
      q[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
    }
  }
}

inline void get_scale_min_k4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q3_K: sixteen 6-bit codes (scale + 32) in 12 bytes: low nibbles in bytes 0..7 (j < 8 low half,
// j >= 8 high half), the top 2 bits of code j in byte 8 + j % 4 at bit 2 * (j / 4).
void pack_q3_scales(const int* codes, uint8_t* q) {
  std::memset(q, 0, 12);
  for (int j = 0; j < 16; ++j) {
    const int l = codes[j];
    if (j < 8) q[j] = static_cast<uint8_t>(l & 0xF);
    else q[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
    q[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
  }
}

inline int get_q3_scale(const uint8_t* q, int j) {
  const int low = j < 8 ? (q[j] & 0xF) : (q[j - 8] >> 4);
  return (low | (((q[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

// The max over sub-blocks of a positive quantity (0 when none is positive).
float positive_max(const float* v, int n) {
  float max = 0;
  for (int j = 0; j < n; ++j)
    if (v[j] > max) max = v[j];
  return max;
}

// The signed value of largest magnitude.
float signed_max(const float* v, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(v[j]) > amax) {
      amax = std::fabs(v[j]);
      max = v[j];
    }
  }
  return max;
}

// Q4_K / Q5_K: 8 sub-blocks of 32, 6-bit scale and min codes; writes d, dmin, scales and the codes L.
template <int kNmax>
void quantize_affine_k(const float* x, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales_out, uint8_t* L,
                       float rmin, int nstep) {
  float scales[8], mins[8], weights[32];
  for (int j = 0; j < 8; ++j) {
    const float* xb = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xb[l]);
    scales[j] = ref::fit_affine(32, kNmax, xb, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
  }
  const float max_scale = positive_max(scales, 8), max_min = positive_max(mins, 8);
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  int sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = ref::clamp_int(ref::nearest_int(inv_scale * scales[j]), 0, 63);
    m[j] = ref::clamp_int(ref::nearest_int(inv_min * mins[j]), 0, 63);
  }
  *d_out = to_fp16(max_scale / 63.f);
  *dmin_out = to_fp16(max_min / 63.f);
  const float d = fp16(*d_out), dmin = fp16(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    ref::refine_affine_codes(32, kNmax, x + 32 * j, d, dmin, 63, kRefineRadius, &sc[j], &m[j]);
    ref::affine_error(32, kNmax, x + 32 * j, d * static_cast<float>(sc[j]), dmin * static_cast<float>(m[j]),
                      L + 32 * j);
  }
  pack_scale_min_k4(sc, m, scales_out);
}

}  // namespace

// ---- Q2_K: 16 sub-blocks of 16, 2-bit codes, 4-bit scale and min codes ----

void quantize_row_q2_K(const float* x, block_q2_K* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    float scales[16], mins[16], weights[16];
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = ref::fit_affine(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
    }
    const float max_scale = positive_max(scales, 16), max_min = positive_max(mins, 16);
    int sc[16], m[16];
    for (int j = 0; j < 16; ++j) {
      sc[j] = max_scale > 0 ? ref::clamp_int(ref::nearest_int(15.f / max_scale * scales[j]), 0, 15) : 0;
      m[j] = max_min > 0 ? ref::clamp_int(ref::nearest_int(15.f / max_min * mins[j]), 0, 15) : 0;
    }
    y[i].d = to_fp16(max_scale > 0 ? max_scale / 15.f : 0.f);
    y[i].dmin = to_fp16(max_min > 0 ? max_min / 15.f : 0.f);
    const float d = fp16(y[i].d), dmin = fp16(y[i].dmin);
    for (int j = 0; j < 16; ++j) {
      ref::refine_affine_codes(16, 3, x + 16 * j, d, dmin, 15, kRefineRadius, &sc[j], &m[j]);
      ref::affine_error(16, 3, x + 16 * j, d * static_cast<float>(sc[j]), dmin * static_cast<float>(m[j]),
                        L + 16 * j);
      y[i].scales[j] = static_cast<uint8_t>(sc[j] | (m[j] << 4));
    }
    pack_2bit(L, y[i].qs);
  }
}

void dequantize_row_q2_K(const block_q2_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, y += QK_K) {
    const float d = fp16(x[i].d), dmin = fp16(x[i].dmin);
    for (int e = 0; e < QK_K; ++e) {
      const uint8_t s = x[i].scales[e / 16];
      const float dl = d * static_cast<float>(s & 0xF), ml = dmin * static_cast<float>(s >> 4);
      y[e] = dl * static_cast<float>(get_2bit(x[i].qs, e)) - ml;
    }
  }
}

// ---- Q3_K: 16 sub-blocks of 16, 3-bit codes (2 low bits + hmask), signed 6-bit scales ----

void quantize_row_q3_K(const float* x, block_q3_K* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    float scales[16];
    for (int j = 0; j < 16; ++j) scales[j] = ref::fit_symmetric_iterative(16, 4, x + 16 * j, L + 16 * j);
    const float max_scale = signed_max(scales, 16);
    int codes[16];
    float d = 0.f;
    if (max_scale != 0) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < 16; ++j) codes[j] = ref::clamp_int(ref::nearest_int(iscale * scales[j]), -32, 31);
      y[i].d = to_fp16(1 / iscale);
      d = fp16(y[i].d);
    } else {
      for (int j = 0; j < 16; ++j) codes[j] = 0;
      y[i].d = to_fp16(0.f);
    }
    for (int j = 0; j < 16; ++j) {
      if (d != 0) ref::refine_symmetric_code(16, 4, x + 16 * j, d, -32, 31, kRefineRadius, &codes[j]);
      ref::symmetric_error(16, 4, x + 16 * j, d * static_cast<float>(codes[j]), L + 16 * j);
      codes[j] += 32;
    }
    pack_q3_scales(codes, y[i].scales);
    std::memset(y[i].hmask, 0, sizeof y[i].hmask);
    for (int e = 0; e < QK_K; ++e) {
      if (L[e] > 3) {
        y[i].hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
        L[e] -= 4;
      }
    }
    pack_2bit(L, y[i].qs);
  }
}

void dequantize_row_q3_K(const block_q3_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, y += QK_K) {
    const float d = fp16(x[i].d);
    for (int e = 0; e < QK_K; ++e) {
      const float dl = d * static_cast<float>(get_q3_scale(x[i].scales, e / 16));
      const int q = get_2bit(x[i].qs, e) - (get_bit(x[i].hmask, e) ? 0 : 4);
      y[e] = dl * static_cast<float>(q);
    }
  }
}

// ---- Q4_K: 8 sub-blocks of 32, 4-bit codes, 6-bit scales and mins ----

void quantize_row_q4_K(const float* x, block_q4_K* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_affine_k<15>(x, &y[i].d, &y[i].dmin, y[i].scales, L, -1.f, 20);
    pack_4bit_k(L, y[i].qs);
  }
}

void dequantize_row_q4_K(const block_q4_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, y += QK_K) {
    const float d = fp16(x[i].d), dmin = fp16(x[i].dmin);
    for (int e = 0; e < QK_K; ++e) {
      int sc, m;
      get_scale_min_k4(e / 32, x[i].scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      y[e] = d1 * static_cast<float>(get_4bit_k(x[i].qs, e)) - m1;
    }
  }
}

// ---- Q5_K: Q4_K plus a fifth bit per element in qh ----

void quantize_row_q5_K(const float* x, block_q5_K* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_affine_k<31>(x, &y[i].d, &y[i].dmin, y[i].scales, L, -0.5f, 15);
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    for (int e = 0; e < QK_K; ++e) {
      if (L[e] > 15) {
        y[i].qh[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
        L[e] -= 16;
      }
    }
    pack_4bit_k(L, y[i].qs);
  }
}

void dequantize_row_q5_K(const block_q5_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, y += QK_K) {
    const float d = fp16(x[i].d), dmin = fp16(x[i].dmin);
    for (int e = 0; e < QK_K; ++e) {
      int sc, m;
      get_scale_min_k4(e / 32, x[i].scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      const int q = get_4bit_k(x[i].qs, e) + (get_bit(x[i].qh, e) ? 16 : 0);
      y[e] = d1 * static_cast<float>(q) - m1;
    }
  }
}

// ---- Q6_K: 16 sub-blocks of 16, 6-bit codes (4 low bits in ql, 2 high in qh), int8 scales ----

void quantize_row_q6_K(const float* x, block_q6_K* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    float scales[16];
    for (int j = 0; j < 16; ++j) scales[j] = ref::fit_symmetric(16, 32, x + 16 * j, L + 16 * j);
    const float max_scale = signed_max(scales, 16);
    std::memset(&y[i], 0, sizeof y[i]);
    if (!(std::fabs(max_scale) >= 1e-15f)) continue;  // all zero: d = 0, every code 0
    const float iscale = -128.f / max_scale;
    y[i].d = to_fp16(1 / iscale);
    const float d = fp16(y[i].d);
    for (int j = 0; j < 16; ++j) {
      int code = ref::clamp_int(ref::nearest_int(iscale * scales[j]), -128, 127);
      if (d != 0) ref::refine_symmetric_code(16, 32, x + 16 * j, d, -128, 127, kRefineRadius, &code);
      ref::symmetric_error(16, 32, x + 16 * j, d * static_cast<float>(code), L + 16 * j);
      y[i].scales[j] = static_cast<int8_t>(code);
    }
    for (int h = 0; h < 2; ++h) {
      const uint8_t* Lh = L + 128 * h;
      uint8_t* ql = y[i].ql + 64 * h;
      uint8_t* qh = y[i].qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                     ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

void dequantize_row_q6_K(const block_q6_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, y += QK_K) {
    const float d = fp16(x[i].d);
    for (int e = 0; e < QK_K; ++e) {
      const int h = e / 128, g = (e % 128) / 32, l = e % 32;
      const int low = (x[i].ql[64 * h + l + 32 * (g & 1)] >> (4 * (g >> 1))) & 0xF;
      const int high = (x[i].qh[32 * h + l] >> (2 * g)) & 3;
      const float dl = d * static_cast<float>(x[i].scales[e / 16]);
      y[e] = dl * static_cast<float>((low | (high << 4)) - 32);
    }
  }
}

// ---- Q8_K: float scale, 256 int8 codes, the sums of each 16 codes ----

void quantize_row_q8_K(const float* x, block_q8_K* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
    const float max = ref::signed_absmax(x, QK_K);
    std::memset(&y[i], 0, sizeof y[i]);
    if (max == 0) continue;
    const float iscale = -127.f / max;
    for (int e = 0; e < QK_K; ++e) y[i].qs[e] = static_cast<int8_t>(ref::clamp_int(ref::nearest_int(iscale * x[e]), -128, 127));
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * j + l];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

void dequantize_row_q8_K(const block_q8_K* x, float* y, int64_t k) {
  for (int64_t i = 0; i < k / QK_K; ++i, y += QK_K) {
    for (int e = 0; e < QK_K; ++e) y[e] = x[i].d * static_cast<float>(x[i].qs[e]);
  }
}

}  // namespace ember::quant
