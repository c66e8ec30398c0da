// Depthwise convolution (one input channel per group, any channel multiplier), computed directly:
// each output row is accumulated in float32, a chunk of at most kChunk columns at a time, as
// KH x KW passes of acc[ow] += w[kh, kw] * x[ih, ow * stride + kw * dil - pad] (vectorized along
// ow when the stride is 1 and x's rows are contiguous). Planes (image, channel) run in parallel.
#include <algorithm>
#include <cstdint>
#include <new>

#include "cpu/conv_args.h"
#include "cpu/gemm/gemm_simd.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {
namespace conv {
namespace {

using gemm::Vec;
constexpr int64_t kChunk = 2048;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The columns t in [0, len) of a chunk starting at output column ow0 whose input column
// (ow0 + t) * sw + off lies in [0, W).
void valid_range(int64_t ow0, int64_t len, int64_t sw, int64_t off, int64_t W, int64_t& lo, int64_t& hi) {
  const int64_t first = ow0 * sw + off;  // input column of t = 0
  lo = std::min(len, first >= 0 ? int64_t(0) : ceil_div(-first, sw));
  hi = std::max(lo, std::min(len, first >= W ? int64_t(0) : ceil_div(W - first, sw)));
}

template <class S>
void depthwise_typed(const ConvArgs& a) {
  const S* x = static_cast<const S*>(a.x);
  const S* w = static_cast<const S*>(a.w);
  const S* bias = static_cast<const S*>(a.bias);
  S* y = static_cast<S*>(a.y);
  const int64_t mult = a.C_out / a.C_in, KK = a.KH * a.KW;
  const int64_t xs2 = a.x_strides[2], xs3 = a.x_strides[3];
  const int64_t chunk = std::min(kChunk, a.OW);
  const int64_t chunks = ceil_div(a.OW, chunk);
  constexpr int VW = Vec<float>::W;
  parallel_for(a.N * a.C_out, 1, [&](int64_t begin, int64_t end) {
    // acc (one chunk of an output row) and the plane's weights in float32.
    float* buf = static_cast<float*>(::operator new(static_cast<size_t>(chunk + KK) * sizeof(float), std::align_val_t(64)));
    conv_workspace_changed((chunk + KK) * int64_t(sizeof(float)));
    float* acc = buf;
    float* wf = buf + chunk;
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / a.C_out, co = plane % a.C_out;
      const S* xc = x + n * a.x_strides[0] + (co / mult) * a.x_strides[1];
      for (int64_t k = 0; k < KK; ++k) wf[k] = gemm::to_f32(w[co * KK + k]);
      const float b = bias ? gemm::to_f32(bias[co * a.bias_stride]) : 0.0f;
      S* yplane = y + n * a.y_strides[0] + co * a.y_strides[1];
      for (int64_t oh = 0; oh < a.OH; ++oh) {
        for (int64_t c = 0; c < chunks; ++c) {
          const int64_t ow0 = c * chunk, len = std::min(chunk, a.OW - ow0);
          for (int64_t t = 0; t < len; ++t) acc[t] = b;
          for (int64_t kh = 0; kh < a.KH; ++kh) {
            const int64_t ih = oh * a.stride_h - a.pad_h + kh * a.dil_h;
            if (ih < 0 || ih >= a.H) continue;
            const S* row = xc + ih * xs2;
            for (int64_t kw = 0; kw < a.KW; ++kw) {
              const float wv = wf[kh * a.KW + kw];
              const int64_t off = kw * a.dil_w - a.pad_w;
              int64_t lo, hi;
              valid_range(ow0, len, a.stride_w, off, a.W, lo, hi);
              int64_t t = lo;
              if (a.stride_w == 1 && xs3 == 1) {
                const S* s = row + ow0 + off;
                const auto wvec = Vec<float>::set1(wv);
                for (; t + VW <= hi; t += VW) {
                  Vec<float>::store(acc + t, Vec<float>::fma(wvec, Vec<float>::load(s + t), Vec<float>::load(acc + t)));
                }
                for (; t < hi; ++t) acc[t] += wv * gemm::to_f32(s[t]);
              } else {
                for (; t < hi; ++t) acc[t] += wv * gemm::to_f32(row[((ow0 + t) * a.stride_w + off) * xs3]);
              }
            }
          }
          S* yrow = yplane + oh * a.y_strides[2];
          if (a.y_strides[3] == 1) {
            gemm::convert_row(yrow + ow0, acc, len);
          } else {
            for (int64_t t = 0; t < len; ++t) yrow[(ow0 + t) * a.y_strides[3]] = gemm::from_compute<S>(acc[t]);
          }
        }
      }
    }
    ::operator delete(buf, std::align_val_t(64));
    conv_workspace_changed(-(chunk + KK) * int64_t(sizeof(float)));
  });
}

}  // namespace

void depthwise(const ConvArgs& a) {
  switch (a.dtype) {
    case DType::F32: depthwise_typed<float>(a); break;
    case DType::F16: depthwise_typed<f16>(a); break;
    case DType::BF16: depthwise_typed<bf16>(a); break;
    default: kernel_error(1, "conv: dtype not supported (needs float32, float16 or bfloat16)");
  }
}

}  // namespace conv
}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
