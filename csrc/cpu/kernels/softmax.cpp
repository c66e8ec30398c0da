// Softmax and log-softmax along one dim: max, sum of exp(x - max), then write; rows in parallel.
#include <cmath>

#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/reduce_chunks.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/loop.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

// Calls f(const T* chunk, int64_t offset, int64_t n) over a row, gathering strided rows.
template <class T, class F>
void for_each_row_chunk(const char* src, int64_t stride, int64_t len, F&& f) {
  if (stride == sizeof(T)) {
    f(reinterpret_cast<const T*>(src), int64_t(0), len);
    return;
  }
  T buf[kGatherBlock];
  for (int64_t b = 0; b < len; b += kGatherBlock) {
    const int64_t m = len - b < kGatherBlock ? len - b : kGatherBlock;
    gather(buf, src + b * stride, stride, m);
    f(static_cast<const T*>(buf), b, m);
  }
}

// y = log ? (x - max) - post : exp(x - max) * post, for a contiguous chunk. Subtracting the max
// first keeps log_softmax exact for large logits.
template <class T>
void write_chunk(T* y, const T* x, int64_t n, compute_t<T> max, compute_t<T> post, bool log) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  const V vs(max), vk(post);
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const V d = load_vec(x + i) - vs;
    store_vec(y + i, log ? d - vk : em_exp(d) * vk);
  }
  if (i < n) {
    const int r = static_cast<int>(n - i);
    const V d = load_vec_partial(x + i, r) - vs;
    store_vec_partial(y + i, log ? d - vk : em_exp(d) * vk, r);
  }
}

// y = exp(x - max) for a contiguous chunk (y in the compute type); returns the sum of y, accumulated
// like sum_chunk.
template <class T>
double exp_store_chunk(compute_t<T>* y, const T* x, int64_t n, compute_t<T> max) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  const V vs(max);
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = n - b < kBlock ? n - b : kBlock;
    V a0(0), a1(0);
    int64_t i = b;
    for (; i + 2 * W <= b + m; i += 2 * W) {
      const V e0 = em_exp(load_vec(x + i) - vs), e1 = em_exp(load_vec(x + i + W) - vs);
      e0.store(y + i);
      e1.store(y + i + W);
      a0 += e0;
      a1 += e1;
    }
    for (; i < b + m; i += W) {
      const int r = b + m - i < W ? static_cast<int>(b + m - i) : W;
      const V e = em_exp(load_vec_partial(x + i, r) - vs);
      e.store_partial(y + i, r);
      a0 += simd::em_select(lanes_below<V>(r), e, V(0));
    }
    total += static_cast<double>(simd::reduce_add(a0 + a1));
  }
  return total;
}

// Softmax of a row contiguous in src and dst: one exp per element, kept in dst (float32) or in a
// float buffer (16-bit types, rows up to kRowBuffer elements), then scaled by 1 / sum.
constexpr int64_t kRowBuffer = 8192;

template <class T>
bool softmax_contiguous_row(T* y, const T* x, int64_t len) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  constexpr bool in_place = std::is_same_v<T, C>;
  if (!in_place && len > kRowBuffer) return false;
  alignas(64) C buffer[in_place ? 1 : kRowBuffer];
  C* e = in_place ? reinterpret_cast<C*>(y) : buffer;
  const C mx = extreme_chunk<true, T>(x, len);
  const V post(static_cast<C>(1.0 / exp_store_chunk<T>(e, x, len, mx)));
  int64_t i = 0;
  for (; i + W <= len; i += W) store_vec(y + i, V::load(e + i) * post);
  if (i < len) {
    const int r = static_cast<int>(len - i);
    store_vec_partial(y + i, V::load_partial(e + i, r) * post, r);
  }
  return true;
}

template <class T>
void softmax_row(char* dst, int64_t ds, const char* src, int64_t ss, int64_t len, bool log) {
  using C = compute_t<T>;
  if (!log && ds == sizeof(T) && ss == sizeof(T) &&
      softmax_contiguous_row(reinterpret_cast<T*>(dst), reinterpret_cast<const T*>(src), len)) {
    return;
  }
  bool first = true;
  C mx = 0;
  for_each_row_chunk<T>(src, ss, len, [&](const T* q, int64_t, int64_t n) {
    const C m = extreme_chunk<true, T>(q, n);
    mx = first ? m : em_max(mx, m);
    first = false;
  });
  double sum = 0;
  for_each_row_chunk<T>(src, ss, len, [&](const T* q, int64_t, int64_t n) { sum += sum_exp_chunk<T>(q, n, mx); });
  const C post = static_cast<C>(log ? std::log(sum) : 1.0 / sum);
  if (ds == sizeof(T)) {
    for_each_row_chunk<T>(src, ss, len, [&](const T* q, int64_t off, int64_t n) {
      write_chunk<T>(reinterpret_cast<T*>(dst) + off, q, n, mx, post, log);
    });
    return;
  }
  T out[kGatherBlock];
  for_each_row_chunk<T>(src, ss, len, [&](const T* q, int64_t off, int64_t n) {
    for (int64_t b = 0; b < n; b += kGatherBlock) {
      const int64_t m = n - b < kGatherBlock ? n - b : kGatherBlock;
      write_chunk<T>(out, q + b, m, mx, post, log);
      scatter(dst + (off + b) * ds, ds, out, m);
    }
  });
}

// Softmax along a strided dim whose neighbouring rows are adjacent in memory (softmax over dim 0,
// or over the last dim of a transposed tensor): SIMD across rows, one column block at a time.
template <class T>
bool rows_adjacent(const SoftmaxLoop& s) {
  const ElementwiseLoop& o = s.outer;
  return o.ndim > 0 && s.src_stride != sizeof(T) && o.strides[0][o.ndim - 1] == sizeof(T) &&
         o.strides[1][o.ndim - 1] == sizeof(T);
}

template <class T>
void softmax_across_rows(bool log, const SoftmaxLoop& s) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  constexpr int kCols = 4 * W;
  const int64_t len = s.length, ss = s.src_stride, ds = s.dst_stride;
  parallel_runs(s.outer, 4 * kCols, [&](char* const* p, const int64_t*, int64_t n) {
    for (int64_t c0 = 0; c0 < n; c0 += kCols) {
      const int64_t cols = n - c0 < kCols ? n - c0 : kCols;
      const int blocks = static_cast<int>((cols + W - 1) / W);
      auto load_at = [&](int64_t k, int j) {
        const T* row = reinterpret_cast<const T*>(p[1] + k * ss) + c0 + j * W;
        const int64_t left = cols - j * W;
        return left >= W ? load_vec(row) : load_vec_partial(row, static_cast<int>(left));
      };
      V mx[4], sum[4], post[4];
      for (int j = 0; j < blocks; ++j) mx[j] = load_at(0, j);
      for (int64_t k = 1; k < len; ++k) {
        for (int j = 0; j < blocks; ++j) mx[j] = em_max(mx[j], load_at(k, j));
      }
      for (int j = 0; j < blocks; ++j) sum[j] = V(0);
      for (int64_t k = 0; k < len; ++k) {
        for (int j = 0; j < blocks; ++j) sum[j] += em_exp(load_at(k, j) - mx[j]);
      }
      for (int j = 0; j < blocks; ++j) {
        post[j] = log ? em_log(sum[j]) : V(1) / sum[j];
      }
      for (int64_t k = 0; k < len; ++k) {
        for (int j = 0; j < blocks; ++j) {
          const V d = load_at(k, j) - mx[j];
          const V y = log ? d - post[j] : em_exp(d) * post[j];
          T* out = reinterpret_cast<T*>(p[0] + k * ds) + c0 + j * W;
          const int64_t left = cols - j * W;
          if (left >= W) store_vec(out, y);
          else store_vec_partial(out, y, static_cast<int>(left));
        }
      }
    }
  });
}

template <class T>
void run(bool log, const SoftmaxLoop& s) {
  if (s.length == 0) return;
  if (rows_adjacent<T>(s)) return softmax_across_rows<T>(log, s);
  const int64_t grain = s.length >= 16384 ? 1 : 16384 / s.length;
  parallel_runs(s.outer, grain, [&](char* const* p, const int64_t* st, int64_t n) {
    for (int64_t k = 0; k < n; ++k) softmax_row<T>(p[0] + k * st[0], s.dst_stride, p[1] + k * st[1], s.src_stride, s.length, log);
  });
}

void softmax_dispatch(DType dtype, bool log, const SoftmaxLoop& s) {
  dispatch(dtype, "softmax: needs a floating dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      run<T>(log, s);
      return true;
    }
    return false;
  });
}

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void softmax_all_dtypes(DType dtype, bool log, const SoftmaxLoop& s) { softmax_dispatch(dtype, log, s); }
void register_softmax_kernels(KernelTable& table) { table.softmax = &softmax_all_dtypes; }
#else
namespace {
void softmax_kernel(DType dtype, bool log, const SoftmaxLoop& s) {
  if (!is_simd_dtype(dtype)) return baseline::softmax_all_dtypes(dtype, log, s);
  softmax_dispatch(dtype, log, s);
}
}  // namespace
void register_softmax_kernels(KernelTable& table) { table.softmax = &softmax_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
