// Integer dot products of the K-quants (Q2_K..Q6_K) and IQ4_XS with Q8_K activations (issue #4).
//
// Each weight super-block holds 256 elements with one f16 scale d (and for Q2_K / Q4_K / Q5_K an f16
// dmin) and small integer sub-block scales; the Q8_K block has a float scale and the sums of each 16
// quants (bsums). Per super-block the dot product is, as in ggml's ggml_vec_dot_*_q8_K:
//
//   d * y.d * sum_s scale_s * sum_{l in s} q_l * y_l  -  dmin * y.d * sum_s min_s * bsum_s
//
// with integer inner sums (exact in int32). This file holds kquant_qdot_kernel and the scalar code
// that the levels without an integer-dot SIMD path run (x86 baseline, arm64 baseline): it unpacks a
// weight super-block once into signed int8 values, 16 per-16 scales and 16 per-16 mins, then takes the
// integer dot product with each of up to 4 activation rows. That portable form is the reference the
// SIMD paths (quant_dot_kquants_avx2.cpp, quant_dot_kquants_neon.cpp) are tested against.
#include "cpu/kernels/quant_dot_kquants.h"

#include "core/half.h"
#include "quant/blocks.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

using quant::QK_K;
using quant::QType;

#if !defined(__AVX2__) && !defined(__ARM_FEATURE_DOTPROD)

// One weight super-block, unpacked: q[256] signed values, one scale and one min per 16 elements.
struct Unpacked {
  int8_t q[QK_K];
  int32_t scale[16];
  int32_t min[16];
  float d, dmin;  // dmin == 0 for the types without mins
};

void unpack(const quant::block_q2_K& b, Unpacked& u) {
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) u.q[128 * h + 32 * j + l] = static_cast<int8_t>((b.qs[32 * h + l] >> (2 * j)) & 3);
    }
  }
  for (int s = 0; s < 16; ++s) {
    u.scale[s] = b.scales[s] & 0xf;
    u.min[s] = b.scales[s] >> 4;
  }
  u.d = half_bits_to_float(b.d);
  u.dmin = half_bits_to_float(b.dmin);
}

void unpack(const quant::block_q3_K& b, Unpacked& u) {
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 4; ++j) {
      const int bit = 4 * h + j;
      for (int l = 0; l < 32; ++l) {
        const int low = (b.qs[32 * h + l] >> (2 * j)) & 3;
        const int high = (b.hmask[l] >> bit) & 1;
        u.q[128 * h + 32 * j + l] = static_cast<int8_t>(low + 4 * high - 4);
      }
    }
  }
  int8_t sc[16];
  kquant_decode_scales_q3_K(b.scales, sc);
  for (int s = 0; s < 16; ++s) {
    u.scale[s] = sc[s];
    u.min[s] = 0;
  }
  u.d = half_bits_to_float(b.d);
  u.dmin = 0.0f;
}

// The scales, mins and super-block scales Q4_K and Q5_K share (one 6-bit pair per 32 elements).
template <class Block>
void unpack_scales_q45_K(const Block& b, Unpacked& u) {
  uint8_t sm[16];
  kquant_decode_scales_q4_K(b.scales, sm);
  for (int s = 0; s < 16; ++s) {
    u.scale[s] = sm[s / 2];
    u.min[s] = sm[8 + s / 2];
  }
  u.d = half_bits_to_float(b.d);
  u.dmin = half_bits_to_float(b.dmin);
}

void unpack(const quant::block_q4_K& b, Unpacked& u) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      u.q[64 * c + l] = static_cast<int8_t>(b.qs[32 * c + l] & 0xf);
      u.q[64 * c + 32 + l] = static_cast<int8_t>(b.qs[32 * c + l] >> 4);
    }
  }
  unpack_scales_q45_K(b, u);
}

void unpack(const quant::block_q5_K& b, Unpacked& u) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int h0 = (b.qh[l] >> (2 * c)) & 1, h1 = (b.qh[l] >> (2 * c + 1)) & 1;
      u.q[64 * c + l] = static_cast<int8_t>((b.qs[32 * c + l] & 0xf) + 16 * h0);
      u.q[64 * c + 32 + l] = static_cast<int8_t>((b.qs[32 * c + l] >> 4) + 16 * h1);
    }
  }
  unpack_scales_q45_K(b, u);
}

void unpack(const quant::block_q6_K& b, Unpacked& u) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    int8_t* q = u.q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      q[l] = static_cast<int8_t>(((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32);
      q[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32);
      q[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      q[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
  for (int s = 0; s < 16; ++s) {
    u.scale[s] = b.scales[s];
    u.min[s] = 0;
  }
  u.d = half_bits_to_float(b.d);
  u.dmin = 0.0f;
}

void unpack(const quant::block_iq4_xs& b, Unpacked& u) {
  for (int ib = 0; ib < 8; ++ib) {
    const uint8_t* qs = b.qs + 16 * ib;
    for (int l = 0; l < 16; ++l) {
      u.q[32 * ib + l] = quant::kIq4nlValues[qs[l] & 0xf];
      u.q[32 * ib + 16 + l] = quant::kIq4nlValues[qs[l] >> 4];
    }
    const int ls = kquant_iq4_xs_scale(b.scales_l, b.scales_h, ib);
    u.scale[2 * ib] = u.scale[2 * ib + 1] = ls;
    u.min[2 * ib] = u.min[2 * ib + 1] = 0;
  }
  u.d = half_bits_to_float(b.d);
  u.dmin = 0.0f;
}

// out[j * out_stride + i] for the nw x nx tile; each weight super-block is unpacked once per row i
// and used for every activation row.
template <class Block>
void dot_scalar(int64_t k, const void* w, int64_t w_stride, int nw, const void* x, int64_t x_stride, int nx,
                float* out, int64_t out_stride) {
  const int64_t nb = k / QK_K;
  for (int i = 0; i < nw; ++i) {
    const Block* wb = reinterpret_cast<const Block*>(static_cast<const char*>(w) + i * w_stride);
    for (int j0 = 0; j0 < nx; j0 += kKQuantMaxNx) {
      const int nj = nx - j0 < kKQuantMaxNx ? nx - j0 : kKQuantMaxNx;
      float sum[kKQuantMaxNx] = {};
      Unpacked u;
      for (int64_t b = 0; b < nb; ++b) {
        unpack(wb[b], u);
        for (int j = 0; j < nj; ++j) {
          const auto* y = reinterpret_cast<const quant::block_q8_K*>(static_cast<const char*>(x) +
                                                                     (j0 + j) * x_stride) + b;
          int32_t isum = 0;
          for (int s = 0; s < 16; ++s) {
            int32_t part = 0;
            for (int l = 0; l < 16; ++l) part += u.q[16 * s + l] * y->qs[16 * s + l];
            isum += u.scale[s] * part;
          }
          float block = u.d * y->d * static_cast<float>(isum);
          if (u.dmin != 0.0f) {
            int32_t msum = 0;
            for (int s = 0; s < 16; ++s) msum += u.min[s] * y->bsums[s];
            block -= u.dmin * y->d * static_cast<float>(msum);
          }
          sum[j] += block;
        }
      }
      for (int j = 0; j < nj; ++j) out[(j0 + j) * out_stride + i] = sum[j];
    }
  }
}

QDotFn scalar_dot(QType type) {
  switch (type) {
    case QType::Q2_K: return dot_scalar<quant::block_q2_K>;
    case QType::Q3_K: return dot_scalar<quant::block_q3_K>;
    case QType::Q4_K: return dot_scalar<quant::block_q4_K>;
    case QType::Q5_K: return dot_scalar<quant::block_q5_K>;
    case QType::Q6_K: return dot_scalar<quant::block_q6_K>;
    case QType::IQ4_XS: return dot_scalar<quant::block_iq4_xs>;
    default: return nullptr;
  }
}

#endif  // no integer-dot SIMD path at this level

}  // namespace

QDotKernel kquant_qdot_kernel(quant::QType type) {
  QDotKernel kernel;
#if defined(__AVX2__)
  kernel.dot = kquant_dot_avx2(type);
#elif defined(__ARM_FEATURE_DOTPROD)
  kernel.dot = kquant_dot_dotprod(type);
#else
  kernel.dot = scalar_dot(type);
#endif
  if (kernel.dot == nullptr) return QDotKernel{};
  kernel.activation_type = QType::Q8_K;
  kernel.quantize_activation = quantize_activation_q8_K;
  kernel.max_nw = 1;
  kernel.max_nx = kKQuantMaxNx;
  return kernel;
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
