// Integer dot products of the legacy 32-element block types (issue #4): Q4_0, Q5_0, Q8_0, IQ4_NL
// weights with Q8_0 activations, Q4_1, Q5_1 weights with Q8_1 activations (the min term uses the
// activation block's s = d * sum(q)). Per block pair: sum_i w_q[i] * y_q[i] in int32, scaled by
// d_w * d_y, plus m_w * s_y for the types with a min.
//
//   baseline (x86 SSE2, arm64 NEON): plain scalar C++, the fallback every SIMD level is tested against.
//   avx2:   maddubs + madd (sign trick for signed weights), FMA per block; tiles of up to 4 weight rows
//           x kTileX activation rows share each loaded block (quant_dot_legacy_x86.inc).
//   avx512: the same 256-bit code, plus a copy built for avx512vnni+vl (vpdpbusd) taken when the CPU
//           has VNNI (cpu_has_avx512_vnni()).
//   dotprod (arm64): vdotq_s32 on two 16-byte halves per block.
#include <cstring>
#include <type_traits>

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

using quant::QType;

EMBER_FORCE_INLINE float fp16(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#elif defined(__aarch64__) && defined(__GNUC__)
  __fp16 v;
  std::memcpy(&v, &h, sizeof v);
  return static_cast<float>(v);
#else
  return half_bits_to_float(h);
#endif
}

// The tile shape of the batched path (weight rows x activation rows), measured on AVX2 (see the driver).
constexpr int kTileW = 2;
constexpr int kTileX = 4;
constexpr int kGemvW = 4;  // weight rows per tile when there is one activation row

#if defined(__AVX2__)

namespace x86 {
#define EMBER_QDOT_VNNI 0
#include "cpu/kernels/quant_dot_legacy_x86.inc"
#undef EMBER_QDOT_VNNI
}  // namespace x86

#if defined(__AVX512F__) && defined(__GNUC__)
#define EMBER_HAVE_QDOT_VNNI 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512vnni,avx512vl,avx512bw"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512vnni,avx512vl,avx512bw")
#endif
namespace vnni {
#define EMBER_QDOT_VNNI 1
#include "cpu/kernels/quant_dot_legacy_x86.inc"
#undef EMBER_QDOT_VNNI
}  // namespace vnni
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

QDotKernel kernel_for(QType type) {
  QDotKernel k;
  k.max_nw = 1 << 20;  // tiles are split internally; the driver blocks for the caches
  k.max_nx = 1 << 20;
  switch (type) {
#if defined(EMBER_HAVE_QDOT_VNNI)
#define EMBER_QDOT_PICK(W) (cpu_has_avx512_vnni() ? &vnni::dot<vnni::W> : &x86::dot<x86::W>)
#else
#define EMBER_QDOT_PICK(W) (&x86::dot<x86::W>)
#endif
    case QType::Q4_0: k.activation_type = QType::Q8_0; k.dot = EMBER_QDOT_PICK(WQ4_0); break;
    case QType::Q4_1: k.activation_type = QType::Q8_1; k.dot = EMBER_QDOT_PICK(WQ4_1); break;
    case QType::Q5_0: k.activation_type = QType::Q8_0; k.dot = EMBER_QDOT_PICK(WQ5_0); break;
    case QType::Q5_1: k.activation_type = QType::Q8_1; k.dot = EMBER_QDOT_PICK(WQ5_1); break;
    case QType::Q8_0: k.activation_type = QType::Q8_0; k.dot = EMBER_QDOT_PICK(WQ8_0); break;
    case QType::IQ4_NL: k.activation_type = QType::Q8_0; k.dot = EMBER_QDOT_PICK(WIQ4_NL); break;
#undef EMBER_QDOT_PICK
    default: return QDotKernel{};
  }
  k.quantize_activation = activation_quantizer(k.activation_type);
  return k;
}

#elif defined(__ARM_FEATURE_DOTPROD)

// ---- arm64 dotprod ------------------------------------------------------------------------------
// A weight block as two int8x16 halves: elements 0..15 and 16..31 (the activation's halves too).
struct Halves {
  int8x16_t lo, hi;
};

EMBER_FORCE_INLINE Halves nibbles(const uint8_t* qs) {
  const uint8x16_t b = vld1q_u8(qs);
  return {vreinterpretq_s8_u8(vandq_u8(b, vdupq_n_u8(0x0f))), vreinterpretq_s8_u8(vshrq_n_u8(b, 4))};
}

// 0x10 in byte i where bit i of qh is set.
EMBER_FORCE_INLINE Halves high_bits(const uint8_t* qh) {
  static const uint8_t kBits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bit = vld1q_u8(kBits);
  const uint8x16_t lo = vcombine_u8(vdup_n_u8(qh[0]), vdup_n_u8(qh[1]));
  const uint8x16_t hi = vcombine_u8(vdup_n_u8(qh[2]), vdup_n_u8(qh[3]));
  const uint8x16_t m = vdupq_n_u8(0x10);
  return {vreinterpretq_s8_u8(vandq_u8(vtstq_u8(lo, bit), m)), vreinterpretq_s8_u8(vandq_u8(vtstq_u8(hi, bit), m))};
}

EMBER_FORCE_INLINE Halves sub(Halves h, int v) { return {vsubq_s8(h.lo, vdupq_n_s8(static_cast<int8_t>(v))), vsubq_s8(h.hi, vdupq_n_s8(static_cast<int8_t>(v)))}; }
EMBER_FORCE_INLINE Halves orr(Halves a, Halves b) { return {vorrq_s8(a.lo, b.lo), vorrq_s8(a.hi, b.hi)}; }

struct WQ4_0 {
  using B = quant::block_q4_0;
  using A = quant::block_q8_0;
  static constexpr bool kMin = false;
  static EMBER_FORCE_INLINE Halves q(const B& b) { return sub(nibbles(b.qs), 8); }
};
struct WQ4_1 {
  using B = quant::block_q4_1;
  using A = quant::block_q8_1;
  static constexpr bool kMin = true;
  static EMBER_FORCE_INLINE Halves q(const B& b) { return nibbles(b.qs); }
};
struct WQ5_0 {
  using B = quant::block_q5_0;
  using A = quant::block_q8_0;
  static constexpr bool kMin = false;
  static EMBER_FORCE_INLINE Halves q(const B& b) { return sub(orr(nibbles(b.qs), high_bits(b.qh)), 16); }
};
struct WQ5_1 {
  using B = quant::block_q5_1;
  using A = quant::block_q8_1;
  static constexpr bool kMin = true;
  static EMBER_FORCE_INLINE Halves q(const B& b) { return orr(nibbles(b.qs), high_bits(b.qh)); }
};
struct WQ8_0 {
  using B = quant::block_q8_0;
  using A = quant::block_q8_0;
  static constexpr bool kMin = false;
  static EMBER_FORCE_INLINE Halves q(const B& b) { return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)}; }
};
struct WIQ4_NL {
  using B = quant::block_iq4_nl;
  using A = quant::block_q8_0;
  static constexpr bool kMin = false;
  static EMBER_FORCE_INLINE Halves q(const B& b) {
    const int8x16_t t = vld1q_s8(quant::kIq4nlValues);
    const Halves n = nibbles(b.qs);
    return {vqtbl1q_s8(t, vreinterpretq_u8_s8(n.lo)), vqtbl1q_s8(t, vreinterpretq_u8_s8(n.hi))};
  }
};

template <class W, int NW, int NX>
void tile(int64_t nb, const char* w, int64_t ws, const char* x, int64_t xs, float* out, int64_t os) {
  using B = typename W::B;
  using A = typename W::A;
  const B* wr[NW];
  const A* xr[NX];
  for (int i = 0; i < NW; ++i) wr[i] = reinterpret_cast<const B*>(w + i * ws);
  for (int j = 0; j < NX; ++j) xr[j] = reinterpret_cast<const A*>(x + j * xs);
  float32x4_t acc[NW][NX];
  float accm[NW][NX];
  for (int i = 0; i < NW; ++i)
    for (int j = 0; j < NX; ++j) {
      acc[i][j] = vdupq_n_f32(0.0f);
      accm[i][j] = 0.0f;
    }
  for (int64_t b = 0; b < nb; ++b) {
    Halves wq[NW];
    float wd[NW];
    for (int i = 0; i < NW; ++i) {
      // As on x86: GEMV fetches the next tile's rows ahead (short parallel rows defeat the prefetcher).
      if constexpr (NX == 1) __builtin_prefetch(reinterpret_cast<const char*>(&wr[i][b]) + NW * ws);
      wq[i] = W::q(wr[i][b]);
      wd[i] = fp16(wr[i][b].d);
    }
    for (int j = 0; j < NX; ++j) {
      const int8x16_t ylo = vld1q_s8(xr[j][b].qs), yhi = vld1q_s8(xr[j][b].qs + 16);
      const float yd = fp16(xr[j][b].d);
      for (int i = 0; i < NW; ++i) {
        const int32x4_t p = vdotq_s32(vdotq_s32(vdupq_n_s32(0), wq[i].lo, ylo), wq[i].hi, yhi);
        acc[i][j] = vfmaq_f32(acc[i][j], vcvtq_f32_s32(p), vdupq_n_f32(wd[i] * yd));
      }
      if constexpr (W::kMin) {
        const float s = fp16(xr[j][b].s);
        for (int i = 0; i < NW; ++i) accm[i][j] += fp16(wr[i][b].m) * s;
      }
    }
  }
  for (int j = 0; j < NX; ++j)
    for (int i = 0; i < NW; ++i) out[j * os + i] = vaddvq_f32(acc[i][j]) + accm[i][j];
}

template <class W, int NX>
EMBER_FORCE_INLINE void tile_rows(int cw, int64_t nb, const char* w, int64_t ws, const char* x, int64_t xs, float* out,
                                  int64_t os) {
  switch (cw) {
    case 4: return tile<W, 4, NX>(nb, w, ws, x, xs, out, os);
    case 3: return tile<W, 3, NX>(nb, w, ws, x, xs, out, os);
    case 2: return tile<W, 2, NX>(nb, w, ws, x, xs, out, os);
    default: return tile<W, 1, NX>(nb, w, ws, x, xs, out, os);
  }
}

// NEON has 32 vector registers: 4 x 4 tiles.
template <class W>
void dot(int64_t k, const void* wv, int64_t ws, int nw, const void* xv, int64_t xs, int nx, float* out, int64_t os) {
  constexpr int MW = 4, MX = 4;
  const int64_t nb = k / 32;
  const char* w = static_cast<const char*>(wv);
  const char* x = static_cast<const char*>(xv);
  for (int j0 = 0; j0 < nx; j0 += MX) {
    const int cx = nx - j0 < MX ? nx - j0 : MX;
    for (int i0 = 0; i0 < nw; i0 += MW) {
      const int cw = nw - i0 < MW ? nw - i0 : MW;
      const char* wt = w + i0 * ws;
      const char* xt = x + j0 * xs;
      float* o = out + j0 * os + i0;
      switch (cx) {
        case 1: tile_rows<W, 1>(cw, nb, wt, ws, xt, xs, o, os); break;
        case 2: tile_rows<W, 2>(cw, nb, wt, ws, xt, xs, o, os); break;
        case 3: tile_rows<W, 3>(cw, nb, wt, ws, xt, xs, o, os); break;
        default: tile_rows<W, 4>(cw, nb, wt, ws, xt, xs, o, os); break;
      }
    }
  }
}

QDotKernel kernel_for(QType type) {
  QDotKernel k;
  k.max_nw = 1 << 20;
  k.max_nx = 1 << 20;
  switch (type) {
    case QType::Q4_0: k.activation_type = QType::Q8_0; k.dot = &dot<WQ4_0>; break;
    case QType::Q4_1: k.activation_type = QType::Q8_1; k.dot = &dot<WQ4_1>; break;
    case QType::Q5_0: k.activation_type = QType::Q8_0; k.dot = &dot<WQ5_0>; break;
    case QType::Q5_1: k.activation_type = QType::Q8_1; k.dot = &dot<WQ5_1>; break;
    case QType::Q8_0: k.activation_type = QType::Q8_0; k.dot = &dot<WQ8_0>; break;
    case QType::IQ4_NL: k.activation_type = QType::Q8_0; k.dot = &dot<WIQ4_NL>; break;
    default: return QDotKernel{};
  }
  k.quantize_activation = activation_quantizer(k.activation_type);
  return k;
}

#else

// ---- baseline: scalar ---------------------------------------------------------------------------
// Integer dot of one weight block with one activation block (32 elements).
EMBER_FORCE_INLINE int isum(const quant::block_q4_0& w, const int8_t* y) {
  int s = 0;
  for (int j = 0; j < 16; ++j) s += ((w.qs[j] & 0x0f) - 8) * y[j] + ((w.qs[j] >> 4) - 8) * y[j + 16];
  return s;
}
EMBER_FORCE_INLINE int isum(const quant::block_q4_1& w, const int8_t* y) {
  int s = 0;
  for (int j = 0; j < 16; ++j) s += (w.qs[j] & 0x0f) * y[j] + (w.qs[j] >> 4) * y[j + 16];
  return s;
}
EMBER_FORCE_INLINE uint32_t load_qh(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof v);
  return v;
}
EMBER_FORCE_INLINE int isum(const quant::block_q5_0& w, const int8_t* y) {
  const uint32_t qh = load_qh(w.qh);
  int s = 0;
  for (int j = 0; j < 16; ++j) {
    const int lo = static_cast<int>((w.qs[j] & 0x0f) | (((qh >> j) & 1u) << 4)) - 16;
    const int hi = static_cast<int>((w.qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16;
    s += lo * y[j] + hi * y[j + 16];
  }
  return s;
}
EMBER_FORCE_INLINE int isum(const quant::block_q5_1& w, const int8_t* y) {
  const uint32_t qh = load_qh(w.qh);
  int s = 0;
  for (int j = 0; j < 16; ++j) {
    const int lo = static_cast<int>((w.qs[j] & 0x0f) | (((qh >> j) & 1u) << 4));
    const int hi = static_cast<int>((w.qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
    s += lo * y[j] + hi * y[j + 16];
  }
  return s;
}
EMBER_FORCE_INLINE int isum(const quant::block_q8_0& w, const int8_t* y) {
  int s = 0;
  for (int j = 0; j < 32; ++j) s += w.qs[j] * y[j];
  return s;
}
EMBER_FORCE_INLINE int isum(const quant::block_iq4_nl& w, const int8_t* y) {
  int s = 0;
  for (int j = 0; j < 16; ++j)
    s += quant::kIq4nlValues[w.qs[j] & 0x0f] * y[j] + quant::kIq4nlValues[w.qs[j] >> 4] * y[j + 16];
  return s;
}

template <class B> struct act_of { using type = quant::block_q8_0; };
template <> struct act_of<quant::block_q4_1> { using type = quant::block_q8_1; };
template <> struct act_of<quant::block_q5_1> { using type = quant::block_q8_1; };

template <class B>
EMBER_FORCE_INLINE float block_dot(const B& w, const typename act_of<B>::type& y) {
  const float d = fp16(w.d) * fp16(y.d);
  float r = static_cast<float>(isum(w, y.qs)) * d;
  if constexpr (std::is_same_v<typename act_of<B>::type, quant::block_q8_1>) r += fp16(w.m) * fp16(y.s);
  return r;
}

template <class B>
void dot(int64_t k, const void* wv, int64_t ws, int nw, const void* xv, int64_t xs, int nx, float* out, int64_t os) {
  using A = typename act_of<B>::type;
  const int64_t nb = k / 32;
  for (int j = 0; j < nx; ++j) {
    const A* y = reinterpret_cast<const A*>(static_cast<const char*>(xv) + j * xs);
    for (int i = 0; i < nw; ++i) {
      const B* w = reinterpret_cast<const B*>(static_cast<const char*>(wv) + i * ws);
      float s = 0.0f;
      for (int64_t b = 0; b < nb; ++b) s += block_dot(w[b], y[b]);
      out[j * os + i] = s;
    }
  }
}

QDotKernel kernel_for(QType type) {
  QDotKernel k;
  k.max_nw = 1 << 20;
  k.max_nx = 1 << 20;
  switch (type) {
    case QType::Q4_0: k.activation_type = QType::Q8_0; k.dot = &dot<quant::block_q4_0>; break;
    case QType::Q4_1: k.activation_type = QType::Q8_1; k.dot = &dot<quant::block_q4_1>; break;
    case QType::Q5_0: k.activation_type = QType::Q8_0; k.dot = &dot<quant::block_q5_0>; break;
    case QType::Q5_1: k.activation_type = QType::Q8_1; k.dot = &dot<quant::block_q5_1>; break;
    case QType::Q8_0: k.activation_type = QType::Q8_0; k.dot = &dot<quant::block_q8_0>; break;
    case QType::IQ4_NL: k.activation_type = QType::Q8_0; k.dot = &dot<quant::block_iq4_nl>; break;
    default: return QDotKernel{};
  }
  k.quantize_activation = activation_quantizer(k.activation_type);
  return k;
}

#endif

}  // namespace

QDotKernel legacy_qdot_kernel(quant::QType type) { return kernel_for(type); }

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
