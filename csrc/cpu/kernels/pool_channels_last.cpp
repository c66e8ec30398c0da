// Pooling and linear resampling of channels-last planes (channel stride == element size, as after
// x.permute(0, 3, 1, 2) of an NHWC tensor), with SIMD across channels: the planar kernels would
// gather every input row element by element. Each (batch, output row) item computes all output
// columns of all channels into a buffer, then writes it: at once to a channels-last output, or one
// output row per channel to a planar one.
#include "core/pool_math.h"
#include "cpu/kernels/pool_common.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

using namespace pool_detail;

template <class T>
bool takes(const PlaneGeometry& g) {
  return is_simd_storage_v<T> && g.channels >= 4 && g.src_stride[1] == static_cast<int64_t>(sizeof(T));
}

// Writes buf[ow * channels + c] (every column and channel of output row oh of batch n) to dst.
template <class T, class C>
void write_row(const PlaneGeometry& g, int64_t n, int64_t oh, const C* buf) {
  const int64_t nc = g.channels;
  T* dst = reinterpret_cast<T*>(g.dst) + n * g.dst_stride[0] + oh * g.dst_stride[2];
  if (g.dst_stride[1] == 1) {
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      T* out = dst + ow * g.dst_stride[3];
      const C* in = buf + ow * nc;
      using V = Vec<C>;
      constexpr int W = V::size;
      int64_t c = 0;
      for (; c + W <= nc; c += W) store_vec(out + c, V::load(in + c));
      if (c < nc) store_vec_partial(out + c, V::load_partial(in + c, static_cast<int>(nc - c)), static_cast<int>(nc - c));
    }
    return;
  }
  for (int64_t c = 0; c < nc; ++c) {
    T* out = dst + c * g.dst_stride[1];
    for (int64_t ow = 0; ow < g.out_w; ++ow) out[ow * g.dst_stride[3]] = static_cast<T>(buf[ow * nc + c]);
  }
}

// A window of input positions; divisor 0 means no division (max pooling).
struct Window {
  Span rows, cols;
  int64_t row_step, col_step, divisor;
};

// out[n, c, oh, ow] = Op over the window of in[n, c, r, col] (/ divisor), for every (n, oh) item.
template <class T, class Op, class WindowOf>
void reduce_windows(const PlaneGeometry& g, int64_t window_size, WindowOf&& window_of) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  const int64_t nc = g.channels, cost = window_size * g.out_w * nc;
  parallel_for(g.batch * g.out_h, cost >= 32768 ? 1 : 32768 / cost, [&](int64_t begin, int64_t end) {
    Scratch<C> buf(g.out_w * nc);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / g.out_h, oh = item % g.out_h;
      const char* base = g.src + n * g.src_stride[0];
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window w = window_of(oh, ow);
        C* acc = buf.p + ow * nc;
        for (int64_t c0 = 0; c0 < nc; c0 += W) {
          const int lanes = nc - c0 < W ? static_cast<int>(nc - c0) : W;
          V m(Op::template identity<C>());
          for (int64_t r = w.rows.first; r < w.rows.last; r += w.row_step) {
            const char* row = base + r * g.src_stride[2];
            for (int64_t c = w.cols.first; c < w.cols.last; c += w.col_step) {
              const T* p = reinterpret_cast<const T*>(row + c * g.src_stride[3]) + c0;
              m = Op::combine(m, lanes == W ? load_vec(p) : load_vec_partial(p, lanes));
            }
          }
          if (w.divisor) m = m / V(static_cast<C>(w.divisor));
          if (lanes == W) m.store(acc + c0);
          else m.store_partial(acc + c0, lanes);
        }
      }
      write_row<T>(g, n, oh, buf.p);
    }
  });
}

template <class T>
void window_pool(const Pool2dArgs& a, bool average) {
  const int64_t size = a.kernel[0] * a.kernel[1];
  if (!average) {
    return reduce_windows<T, MaxOp>(a.g, size, [&](int64_t oh, int64_t ow) {
      return Window{row_span(a, oh), col_span(a, ow), a.dilation[0], a.dilation[1], 0};
    });
  }
  reduce_windows<T, SumOp>(a.g, size, [&](int64_t oh, int64_t ow) {
    const Span rows = row_span(a, oh), cols = col_span(a, ow);
    const int64_t divisor = a.divisor_override ? a.divisor_override : divisor_part(a, rows) * divisor_part(a, cols);
    return Window{rows, cols, 1, 1, divisor};
  });
}

template <class T>
void adaptive_avg_pool(const Pool2dArgs& a) {
  const PlaneGeometry& g = a.g;
  const int64_t size = (g.in_h / g.out_h + 1) * (g.in_w / g.out_w + 1);
  reduce_windows<T, SumOp>(g, size, [&](int64_t oh, int64_t ow) {
    const Span rows{pool_math::adaptive_start(oh, g.in_h, g.out_h), pool_math::adaptive_end(oh, g.in_h, g.out_h), 0};
    const Span cols{pool_math::adaptive_start(ow, g.in_w, g.out_w), pool_math::adaptive_end(ow, g.in_w, g.out_w), 0};
    return Window{rows, cols, 1, 1, (rows.last - rows.first) * (cols.last - cols.first)};
  });
}

// The same arithmetic as the planar kernel (blend along W, then along H), so both layouts give
// bit-identical results.
template <class T>
void resample_linear(const Resample2dArgs& a) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  const PlaneGeometry& g = a.g;
  const int64_t nc = g.channels, cost = 4 * g.out_w * nc;
  parallel_for(g.batch * g.out_h, cost >= 32768 ? 1 : 32768 / cost, [&](int64_t begin, int64_t end) {
    Scratch<C> buf(g.out_w * nc);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / g.out_h, oh = item % g.out_h;
      const char* top = g.src + n * g.src_stride[0] + a.row0[oh] * g.src_stride[2];
      const char* bottom = g.src + n * g.src_stride[0] + a.row1[oh] * g.src_stride[2];
      const V wt(static_cast<C>(a.row_w0[oh])), wb(static_cast<C>(a.row_w1[oh]));
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t l = a.col0[ow] * g.src_stride[3], r = a.col1[ow] * g.src_stride[3];
        const V wl(static_cast<C>(a.col_w0[ow])), wr(static_cast<C>(a.col_w1[ow]));
        C* acc = buf.p + ow * nc;
        for (int64_t c0 = 0; c0 < nc; c0 += W) {
          const int lanes = nc - c0 < W ? static_cast<int>(nc - c0) : W;
          auto at = [&](const char* row, int64_t col) {
            const T* p = reinterpret_cast<const T*>(row + col) + c0;
            return lanes == W ? load_vec(p) : load_vec_partial(p, lanes);
          };
          const V t = at(top, l) * wl + at(top, r) * wr;
          const V b = at(bottom, l) * wl + at(bottom, r) * wr;
          const V y = t * wt + b * wb;
          if (lanes == W) y.store(acc + c0);
          else y.store_partial(acc + c0, lanes);
        }
      }
      write_row<T>(g, n, oh, buf.p);
    }
  });
}

// Runs f(T{}) when the channels-last kernels take this dtype and layout.
template <class F>
bool with_simd_dtype(const PlaneGeometry& g, F&& f) {
  bool done = false;
  visit_dtype(g.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_simd_storage_v<T>) {
      if (takes<T>(g)) {
        f(tag);
        done = true;
      }
    }
  });
  return done;
}

}  // namespace

bool channels_last_window_pool(const Pool2dArgs& a, bool average) {
  return with_simd_dtype(a.g, [&](auto tag) { window_pool<decltype(tag)>(a, average); });
}

bool channels_last_adaptive_avg_pool(const Pool2dArgs& a) {
  return with_simd_dtype(a.g, [&](auto tag) { adaptive_avg_pool<decltype(tag)>(a); });
}

bool channels_last_resample_linear(const Resample2dArgs& a) {
  return with_simd_dtype(a.g, [&](auto tag) { resample_linear<decltype(tag)>(a); });
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
