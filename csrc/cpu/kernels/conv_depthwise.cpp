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

constexpr int64_t kMaxRows = 64;
constexpr int64_t kMaxCacheRows = 256;

// acc[t] = b + sum of taps for output (oh, ow0 + t), t < len, as KH x KW passes over acc (any
// stride, any x layout).
template <class S>
void row_in_passes(const ConvArgs& a, const S* xc, const float* wf, float b, int64_t oh, int64_t ow0, int64_t len,
                   float* acc) {
  constexpr int VW = Vec<float>::W;
  for (int64_t t = 0; t < len; ++t) acc[t] = b;
  for (int64_t kh = 0; kh < a.KH; ++kh) {
    const int64_t ih = oh * a.stride_h - a.pad_h + kh * a.dil_h;
    if (ih < 0 || ih >= a.H) continue;
    const S* row = xc + ih * a.x_strides[2];
    for (int64_t kw = 0; kw < a.KW; ++kw) {
      const float wv = wf[kh * a.KW + kw];
      const int64_t off = kw * a.dil_w - a.pad_w;
      int64_t lo, hi;
      valid_range(ow0, len, a.stride_w, off, a.W, lo, hi);
      int64_t t = lo;
      if (a.stride_w == 1 && a.x_strides[3] == 1) {
        const S* s = row + ow0 + off;
        const auto wvec = Vec<float>::set1(wv);
        for (; t + VW <= hi; t += VW) {
          Vec<float>::store(acc + t, Vec<float>::fma(wvec, Vec<float>::load(s + t), Vec<float>::load(acc + t)));
        }
        for (; t < hi; ++t) acc[t] += wv * gemm::to_f32(s[t]);
      } else {
        for (; t < hi; ++t) acc[t] += wv * gemm::to_f32(row[((ow0 + t) * a.stride_w + off) * a.x_strides[3]]);
      }
    }
  }
}

// Zero-padded float32 copies of the input rows a chunk of output columns reads, kept while later
// output rows need them: input row ih lives in slot ih % count (count = the rows one output row
// spans, so the rows of one output row never share a slot).
struct RowCache {
  float* rows;
  int64_t* tags;  // the input row each slot holds, -1 for none
  int64_t count, pitch;
};

// The same for stride 1: the input rows are taken from `cache` (filled on first use), then 2
// vectors of outputs at a time accumulate every tap in registers. acc and each cached row have at
// least 2 vectors of slack past the chunk.
template <class S>
void row_in_registers(const ConvArgs& a, const S* xc, const float* wf, float b, int64_t oh, int64_t ow0, int64_t len,
                      const RowCache& cache, float* acc) {
  using V = Vec<float>;
  constexpr int VW = V::W;
  const int64_t KW = a.KW, dw = a.dil_w;
  const int64_t span = len + (KW - 1) * dw;  // row u holds input column ow0 - pad_w + u
  const float* wrows[kMaxRows];
  const float* rows[kMaxRows];
  int nrows = 0;
  for (int64_t kh = 0; kh < a.KH; ++kh) {
    const int64_t ih = oh * a.stride_h - a.pad_h + kh * a.dil_h;
    if (ih < 0 || ih >= a.H) continue;
    const int64_t slot = ih % cache.count;
    float* d = cache.rows + slot * cache.pitch;
    rows[nrows] = d;
    wrows[nrows++] = wf + kh * KW;
    if (cache.tags[slot] == ih) continue;
    cache.tags[slot] = ih;
    const S* src = xc + ih * a.x_strides[2];
    const int64_t first = ow0 - a.pad_w;
    const int64_t lo = std::clamp<int64_t>(-first, 0, span), hi = std::clamp<int64_t>(a.W - first, lo, span);
    int64_t u = 0;
    for (; u < lo; ++u) d[u] = 0.0f;
    if (a.x_strides[3] == 1) {
      for (; u + VW <= hi; u += VW) V::store(d + u, V::load(src + first + u));
    }
    for (; u < hi; ++u) d[u] = gemm::to_f32(src[(first + u) * a.x_strides[3]]);
    for (; u < span + 2 * VW; ++u) d[u] = 0.0f;
  }
  for (int64_t t = 0; t < len; t += 2 * VW) {
    auto v0 = V::set1(b), v1 = V::set1(b);
    for (int r = 0; r < nrows; ++r) {
      const float* s = rows[r] + t;
      for (int64_t kw = 0; kw < KW; ++kw) {
        const auto wv = V::set1(wrows[r][kw]);
        v0 = V::fma(wv, V::load(s + kw * dw), v0);
        v1 = V::fma(wv, V::load(s + kw * dw + VW), v1);
      }
    }
    V::store(acc + t, v0);
    V::store(acc + t + VW, v1);
  }
}

template <class S>
void depthwise_typed(const ConvArgs& a) {
  const S* x = static_cast<const S*>(a.x);
  const S* w = static_cast<const S*>(a.w);
  const S* bias = static_cast<const S*>(a.bias);
  S* y = static_cast<S*>(a.y);
  const int64_t mult = a.C_out / a.C_in, KK = a.KH * a.KW;
  const int64_t chunk = std::min(kChunk, a.OW);
  const int64_t chunks = ceil_div(a.OW, chunk);
  constexpr int64_t kSlack = 2 * Vec<float>::W;
  const int64_t cache_rows = (a.KH - 1) * a.dil_h + 1;
  const bool fast = a.stride_w == 1 && a.KH <= kMaxRows && cache_rows <= kMaxCacheRows;
  const int64_t pitch = fast ? (chunk + (a.KW - 1) * a.dil_w + kSlack + 15) / 16 * 16 : 0;
  auto round16 = [](int64_t v) { return (v + 15) / 16 * 16; };
  const int64_t floats = round16(chunk + kSlack) + round16(KK) + (fast ? cache_rows * pitch + cache_rows * 2 : 0);
  parallel_for(a.N * a.C_out, 1, [&](int64_t begin, int64_t end) {
    // acc (one chunk of an output row), the plane's weights in float32, padded input rows.
    float* buf = static_cast<float*>(::operator new(static_cast<size_t>(floats) * sizeof(float), std::align_val_t(64)));
    conv_workspace_changed(floats * int64_t(sizeof(float)));
    float* acc = buf;
    float* wf = buf + round16(chunk + kSlack);
    RowCache cache{wf + round16(KK), nullptr, cache_rows, pitch};
    cache.tags = reinterpret_cast<int64_t*>(cache.rows + (fast ? cache_rows * pitch : 0));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / a.C_out, co = plane % a.C_out;
      const S* xc = x + n * a.x_strides[0] + (co / mult) * a.x_strides[1];
      for (int64_t k = 0; k < KK; ++k) wf[k] = gemm::to_f32(w[co * KK + k]);
      const float b = bias ? gemm::to_f32(bias[co * a.bias_stride]) : 0.0f;
      S* yplane = y + n * a.y_strides[0] + co * a.y_strides[1];
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t ow0 = c * chunk, len = std::min(chunk, a.OW - ow0);
        if (fast) std::fill(cache.tags, cache.tags + cache_rows, int64_t(-1));
        for (int64_t oh = 0; oh < a.OH; ++oh) {
          if (fast) {
            row_in_registers(a, xc, wf, b, oh, ow0, len, cache, acc);
          } else {
            row_in_passes(a, xc, wf, b, oh, ow0, len, acc);
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
    conv_workspace_changed(-floats * int64_t(sizeof(float)));
  });
}

}  // namespace

void depthwise(const ConvArgs& a) {
  switch (a.dtype) {
    case DType::F32: depthwise_typed<float>(a); break;
    case DType::F16: depthwise_typed<f16>(a); break;
    case DType::BF16: depthwise_typed<bf16>(a); break;
    default: kernel_error(kKernelTypeError, "conv: dtype not supported (needs float32, float16 or bfloat16)");
  }
}

}  // namespace conv
}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
