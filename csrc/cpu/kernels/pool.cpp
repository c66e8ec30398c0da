// Pooling (max, average, adaptive average) and linear resampling over (N, C, H, W) planes.
//
// Every kernel works one output row at a time: it first combines the input rows the row needs into
// a line buffer (vectorised along W), then sweeps that line horizontally. Work items are
// (plane, output row) pairs split across the thread pool. Float16 / bfloat16 compute in float32.
#include <cmath>
#include <cstring>

#include "core/pool_math.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/pool_common.h"
#include "cpu/thread_pool.h"

namespace ember::cpu::baseline {
void max_pool2d_all_dtypes(const Pool2dArgs& a);
void avg_pool2d_all_dtypes(const Pool2dArgs& a);
void adaptive_avg_pool2d_all_dtypes(const Pool2dArgs& a);
void resample_linear2d_all_dtypes(const Resample2dArgs& a);
}  // namespace ember::cpu::baseline

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

using namespace pool_detail;

// Row r of a plane as contiguous T: the row itself, or a gathered copy in `buf`.
template <class T>
const T* input_row(const PlaneGeometry& g, const char* plane, int64_t r, T* buf) {
  const char* row = plane + r * g.src_stride[2];
  if (g.src_stride[3] == static_cast<int64_t>(sizeof(T))) return reinterpret_cast<const T*>(row);
  gather(buf, row, g.src_stride[3], g.in_w);
  return buf;
}

// acc[i] = first ? x[i] : Op(acc[i], x[i]) for i < n, in the compute type.
template <class Op, class T>
void combine_row(compute_t<T>* acc, const T* x, int64_t n, bool first) {
  using C = compute_t<T>;
  if constexpr (kVectorised<T>) {
    using V = Vec<C>;
    constexpr int W = V::size;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const V v = load_vec(x + i);
      (first ? v : Op::combine(V::load(acc + i), v)).store(acc + i);
    }
    if (i < n) {
      const int r = static_cast<int>(n - i);
      const V v = load_vec_partial(x + i, r);
      (first ? v : Op::combine(V::load_partial(acc + i, r), v)).store_partial(acc + i, r);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) acc[i] = first ? static_cast<C>(x[i]) : Op::combine(acc[i], static_cast<C>(x[i]));
  }
}

// out[x] = Op over j < taps of line[x + j * step], for x < n (a stride-1 sweep of the window).
template <class Op, class C>
void sweep_line(C* out, const C* line, int64_t n, int64_t taps, int64_t step) {
  if constexpr (std::is_floating_point_v<C>) {
    using V = Vec<C>;
    constexpr int W = V::size;
    int64_t x = 0;
    for (; x + W <= n; x += W) {
      V m = V::load(line + x);
      for (int64_t j = 1; j < taps; ++j) m = Op::combine(m, V::load(line + x + j * step));
      m.store(out + x);
    }
    if (x < n) {
      const int r = static_cast<int>(n - x);
      V m = V::load_partial(line + x, r);
      for (int64_t j = 1; j < taps; ++j) m = Op::combine(m, V::load_partial(line + x + j * step, r));
      m.store_partial(out + x, r);
    }
  } else {
    for (int64_t x = 0; x < n; ++x) {
      C m = line[x];
      for (int64_t j = 1; j < taps; ++j) m = Op::combine(m, line[x + j * step]);
      out[x] = m;
    }
  }
}

// dst[i * stride] = T(src[i]) (div == nullptr) or T(src[i] / (scale * div[i])) for i < n.
template <class T, class C>
void store_row(T* dst, const C* src, int64_t n, const C* div, C scale, int64_t stride = 1) {
  if (stride != 1) {
    for (int64_t i = 0; i < n; ++i) dst[i * stride] = static_cast<T>(div ? src[i] / (scale * div[i]) : src[i]);
    return;
  }
  if constexpr (kVectorised<T>) {
    using V = Vec<C>;
    constexpr int W = V::size;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      V v = V::load(src + i);
      if (div) v = v / (V(scale) * V::load(div + i));
      store_vec(dst + i, v);
    }
    if (i < n) {
      const int r = static_cast<int>(n - i);
      V v = V::load_partial(src + i, r);
      if (div) v = v / (V(scale) * V::load_partial(div + i, r));
      store_vec_partial(dst + i, v, r);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(div ? src[i] / (scale * div[i]) : src[i]);
  }
}

// dst[i] = src[i] in the compute type, for i < n.
template <class T, class C>
void to_compute_row(C* dst, const T* src, int64_t n) {
  using V = Vec<C>;
  constexpr int W = V::size;
  int64_t i = 0;
  for (; i + W <= n; i += W) load_vec(src + i).store(dst + i);
  if (i < n) load_vec_partial(src + i, static_cast<int>(n - i)).store_partial(dst + i, static_cast<int>(n - i));
}

// Calls body(plane, oh_begin, oh_end) over the (plane, output row) items in [begin, end).
template <class F>
void for_rows(const PlaneGeometry& g, int64_t begin, int64_t end, F&& body) {
  while (begin < end) {
    const int64_t plane = begin / g.out_h, oh = begin % g.out_h;
    const int64_t stop = oh + (end - begin) < g.out_h ? oh + (end - begin) : g.out_h;
    body(plane, oh, stop);
    begin += stop - oh;
  }
}

template <class F>
void parallel_rows(const PlaneGeometry& g, int64_t cost_per_row, F&& body) {
  const int64_t rows = g.batch * g.channels * g.out_h;
  if (rows == 0) return;
  const int64_t grain = cost_per_row >= 32768 ? 1 : 32768 / (cost_per_row > 0 ? cost_per_row : 1);
  parallel_for(rows, grain, [&](int64_t b, int64_t e) { body(b, e); });
}

// ---- window pooling (max without indices, average) ----

// Max pooling's indices, torch's way: the first element equal to the maximum in scan order (rows,
// then columns), or the last NaN when the maximum is NaN. The value is re-read there, so that the
// sign of a zero maximum matches torch too. An empty window (dilation can skip every input) keeps
// the identity and torch's index of its first position.
template <class T>
void locate_maxima(const Pool2dArgs& a, const char* plane, const Span& rows, const compute_t<T>* best, T* out,
                   int64_t* indices, int64_t stride) {
  using C = compute_t<T>;
  const PlaneGeometry& g = a.g;
  for (int64_t ow = 0; ow < g.out_w; ++ow) {
    const Span cols = col_span(a, ow);
    const C m = best[ow];
    bool nan = false;
    if constexpr (!std::is_integral_v<C>) nan = std::isnan(m);
    const char* found = nullptr;
    int64_t at = rows.first * g.in_w + cols.first;
    for (int64_t r = rows.first; r < rows.last && (!found || nan); r += a.dilation[0]) {
      const char* row = plane + r * g.src_stride[2];
      for (int64_t c = cols.first; c < cols.last; c += a.dilation[1]) {
        const char* p = row + c * g.src_stride[3];
        const C v = load_one<T>(p);
        if (nan ? v != v : v == m) {
          found = p;
          at = r * g.in_w + c;
          if (!nan) break;
        }
      }
    }
    if (found) std::memcpy(out + ow * stride, found, sizeof(T));
    else out[ow * stride] = static_cast<T>(m);
    indices[ow * stride] = at;
  }
}

template <class T, class Op, bool kAverage>
void window_pool(const Pool2dArgs& a) {
  using C = compute_t<T>;
  const PlaneGeometry& g = a.g;
  const int64_t kw = a.kernel[1], sw = a.stride[1], pw = a.pad[1], dw = a.dilation[1];
  const int64_t sweep = (g.out_w - 1) * sw + 1;  // stride-1 positions covering every window start
  const int64_t reach = sweep + (kw - 1) * dw;
  const int64_t line_len = pw + g.in_w > reach ? pw + g.in_w : reach;
  parallel_rows(g, a.kernel[0] * g.in_w + kw * sweep, [&](int64_t begin, int64_t end) {
    Scratch<C> line(line_len), swept(sweep), div(kAverage ? g.out_w : 0);
    Scratch<T> gathered(g.in_w);
    for (int64_t i = 0; i < line_len; ++i) line.p[i] = Op::template identity<C>();
    if constexpr (kAverage) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        div.p[ow] = a.divisor_override ? C(1) : static_cast<C>(divisor_part(a, col_span(a, ow)));
      }
    }
    C* acc = line.p + pw;
    for_rows(g, begin, end, [&](int64_t plane, int64_t oh0, int64_t oh1) {
      const char* src = g.src + plane_offset(g, plane);
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const Span rows = row_span(a, oh);
        bool first = true;
        for (int64_t r = rows.first; r < rows.last; r += a.dilation[0]) {
          combine_row<Op>(acc, input_row<T>(g, src, r, gathered.p), g.in_w, first);
          first = false;
        }
        if (first) {  // no input row in the window (possible with dilation): every output is the identity
          for (int64_t i = 0; i < g.in_w; ++i) acc[i] = Op::template identity<C>();
        }
        C row_div = C(1);
        if constexpr (kAverage) {
          row_div = static_cast<C>(a.divisor_override ? a.divisor_override : divisor_part(a, rows));
        }
        const C* divp = kAverage ? div.p : nullptr;
        T* out = reinterpret_cast<T*>(g.dst) + dst_offset(g, plane, oh);
        sweep_line<Op>(swept.p, line.p, sweep, kw, dw);
        if (sw > 1) {
          for (int64_t ow = 1; ow < g.out_w; ++ow) swept.p[ow] = swept.p[ow * sw];
        }
        if constexpr (!kAverage) {
          if (a.indices) {
            locate_maxima<T>(a, src, rows, swept.p, out, a.indices + dst_offset(g, plane, oh), g.dst_stride[3]);
            continue;
          }
        }
        store_row(out, swept.p, g.out_w, divp, row_div, g.dst_stride[3]);
      }
    });
  });
}

// ---- adaptive average pooling ----

// Sum of n contiguous elements in the compute type (two accumulators to hide the add latency).
template <class T>
compute_t<T> sum_run(const T* x, int64_t n) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  V s0(0), s1(0);
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += load_vec(x + i);
    s1 += load_vec(x + i + W);
  }
  for (; i + W <= n; i += W) s0 += load_vec(x + i);
  if (i < n) s1 += load_vec_partial(x + i, static_cast<int>(n - i));
  return reduce_add(s0 + s1);
}

// Output 1 x 1 from contiguous planes (global average pooling): one contiguous sum per plane.
template <class T>
void global_avg_pool(const PlaneGeometry& g) {
  using C = compute_t<T>;
  const int64_t n = g.in_h * g.in_w, planes = g.batch * g.channels;
  parallel_for(planes, n >= 32768 ? 1 : 32768 / n, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* x = reinterpret_cast<const T*>(g.src + plane_offset(g, p));
      reinterpret_cast<T*>(g.dst)[dst_offset(g, p, 0)] = static_cast<T>(sum_run(x, n) / static_cast<C>(n));
    }
  });
}

template <class T>
void adaptive_avg_pool(const Pool2dArgs& a) {
  using C = compute_t<T>;
  const PlaneGeometry& g = a.g;
  const int64_t isz = static_cast<int64_t>(sizeof(T));
  if (g.out_h == 1 && g.out_w == 1 && g.src_stride[3] == isz && g.src_stride[2] == g.in_w * isz) {
    return global_avg_pool<T>(g);
  }
  parallel_rows(g, (g.in_h / g.out_h + 1) * g.in_w + g.in_w, [&](int64_t begin, int64_t end) {
    Scratch<C> acc(g.in_w), sums(g.out_w), div(g.out_w);
    Scratch<T> gathered(g.in_w);
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      div.p[ow] = static_cast<C>(pool_math::adaptive_end(ow, g.in_w, g.out_w) - pool_math::adaptive_start(ow, g.in_w, g.out_w));
    }
    for_rows(g, begin, end, [&](int64_t plane, int64_t oh0, int64_t oh1) {
      const char* src = g.src + plane_offset(g, plane);
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t r0 = pool_math::adaptive_start(oh, g.in_h, g.out_h), r1 = pool_math::adaptive_end(oh, g.in_h, g.out_h);
        for (int64_t r = r0; r < r1; ++r) combine_row<SumOp>(acc.p, input_row<T>(g, src, r, gathered.p), g.in_w, r == r0);
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t c1 = pool_math::adaptive_end(ow, g.in_w, g.out_w);
          C s = C(0);
          for (int64_t c = pool_math::adaptive_start(ow, g.in_w, g.out_w); c < c1; ++c) s += acc.p[c];
          sums.p[ow] = s;
        }
        store_row(reinterpret_cast<T*>(g.dst) + dst_offset(g, plane, oh), sums.p, g.out_w, div.p, static_cast<C>(r1 - r0),
                  g.dst_stride[3]);
      }
    });
  });
}

// ---- linear resampling: each input row is interpolated along W once (two cached rows), then
// pairs of those rows are blended along H with SIMD ----

template <class T>
void resample_linear(const Resample2dArgs& a) {
  using C = compute_t<T>;
  const PlaneGeometry& g = a.g;
  parallel_rows(g, 4 * g.out_w, [&](int64_t begin, int64_t end) {
    Scratch<C> cache(2 * g.out_w), xrow(g.in_w), cw0(g.out_w), cw1(g.out_w), blend(g.dst_stride[3] == 1 ? 0 : g.out_w);
    Scratch<T> gathered(g.in_w);
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      cw0.p[ow] = static_cast<C>(a.col_w0[ow]);
      cw1.p[ow] = static_cast<C>(a.col_w1[ow]);
    }
    for_rows(g, begin, end, [&](int64_t plane, int64_t oh0, int64_t oh1) {
      const char* src = g.src + plane_offset(g, plane);
      int64_t cached[2] = {-1, -1};
      // Input row r interpolated along W, computed into the slot that does not hold row `keep`.
      auto row_of = [&](int64_t r, int64_t keep) -> const C* {
        for (int s = 0; s < 2; ++s) {
          if (cached[s] == r) return cache.p + s * g.out_w;
        }
        const int s = cached[0] == keep ? 1 : 0;
        cached[s] = r;
        C* out = cache.p + s * g.out_w;
        const T* in = input_row<T>(g, src, r, gathered.p);
        const C* x;
        if constexpr (std::is_same_v<T, C>) {
          x = in;
        } else {
          to_compute_row(xrow.p, in, g.in_w);
          x = xrow.p;
        }
        for (int64_t ow = 0; ow < g.out_w; ++ow) out[ow] = x[a.col0[ow]] * cw0.p[ow] + x[a.col1[ow]] * cw1.p[ow];
        return out;
      };
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const C* top = row_of(a.row0[oh], a.row1[oh]);
        const C* bottom = row_of(a.row1[oh], a.row0[oh]);
        const C w0 = static_cast<C>(a.row_w0[oh]), w1 = static_cast<C>(a.row_w1[oh]);
        using V = Vec<C>;
        constexpr int W = V::size;
        T* out = reinterpret_cast<T*>(g.dst) + dst_offset(g, plane, oh);
        if (g.dst_stride[3] != 1) {  // a channels-last output of a planar input
          for (int64_t i = 0; i < g.out_w; ++i) blend.p[i] = top[i] * w0 + bottom[i] * w1;
          store_row(out, blend.p, g.out_w, static_cast<const C*>(nullptr), C(1), g.dst_stride[3]);
          continue;
        }
        int64_t i = 0;
        for (; i + W <= g.out_w; i += W) store_vec(out + i, V::load(top + i) * V(w0) + V::load(bottom + i) * V(w1));
        if (i < g.out_w) {
          const int r = static_cast<int>(g.out_w - i);
          store_vec_partial(out + i, V::load_partial(top + i, r) * V(w0) + V::load_partial(bottom + i, r) * V(w1), r);
        }
      }
    });
  });
}

// ---- dispatch ----

template <class T> constexpr bool kPoolsHere = is_kernel_float_v<T> || (kIsBaseline && is_int_v<T>);

void max_pool_dispatch(const Pool2dArgs& a) {
  if (!a.indices && channels_last_window_pool(a, false)) return;
  dispatch(a.g.dtype, "max_pool2d: unsupported dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kPoolsHere<T>) {
      window_pool<T, MaxOp, false>(a);
      return true;
    }
    return false;
  });
}

void avg_pool_dispatch(const Pool2dArgs& a) {
  if (channels_last_window_pool(a, true)) return;
  dispatch(a.g.dtype, "avg_pool2d: needs a floating dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      window_pool<T, SumOp, true>(a);
      return true;
    }
    return false;
  });
}

void adaptive_avg_pool_dispatch(const Pool2dArgs& a) {
  if (channels_last_adaptive_avg_pool(a)) return;
  dispatch(a.g.dtype, "adaptive_avg_pool2d: needs a floating dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      adaptive_avg_pool<T>(a);
      return true;
    }
    return false;
  });
}

void resample_linear_dispatch(const Resample2dArgs& a) {
  if (channels_last_resample_linear(a)) return;
  dispatch(a.g.dtype, "interpolate: linear modes need a floating dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      resample_linear<T>(a);
      return true;
    }
    return false;
  });
}

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void max_pool2d_all_dtypes(const Pool2dArgs& a) { max_pool_dispatch(a); }
void avg_pool2d_all_dtypes(const Pool2dArgs& a) { avg_pool_dispatch(a); }
void adaptive_avg_pool2d_all_dtypes(const Pool2dArgs& a) { adaptive_avg_pool_dispatch(a); }
void resample_linear2d_all_dtypes(const Resample2dArgs& a) { resample_linear_dispatch(a); }
void register_pool_kernels(KernelTable& table) {
  table.max_pool2d = &max_pool2d_all_dtypes;
  table.avg_pool2d = &avg_pool2d_all_dtypes;
  table.adaptive_avg_pool2d = &adaptive_avg_pool2d_all_dtypes;
  table.resample_linear2d = &resample_linear2d_all_dtypes;
}
#else
namespace {
void max_pool_kernel(const Pool2dArgs& a) {
  if (!is_simd_dtype(a.g.dtype)) return baseline::max_pool2d_all_dtypes(a);
  max_pool_dispatch(a);
}
void avg_pool_kernel(const Pool2dArgs& a) {
  if (!is_simd_dtype(a.g.dtype)) return baseline::avg_pool2d_all_dtypes(a);
  avg_pool_dispatch(a);
}
void adaptive_avg_pool_kernel(const Pool2dArgs& a) {
  if (!is_simd_dtype(a.g.dtype)) return baseline::adaptive_avg_pool2d_all_dtypes(a);
  adaptive_avg_pool_dispatch(a);
}
void resample_linear_kernel(const Resample2dArgs& a) {
  if (!is_simd_dtype(a.g.dtype)) return baseline::resample_linear2d_all_dtypes(a);
  resample_linear_dispatch(a);
}
}  // namespace
void register_pool_kernels(KernelTable& table) {
  table.max_pool2d = &max_pool_kernel;
  table.avg_pool2d = &avg_pool_kernel;
  table.adaptive_avg_pool2d = &adaptive_avg_pool_kernel;
  table.resample_linear2d = &resample_linear_kernel;
}
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
