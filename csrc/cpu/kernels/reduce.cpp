// Reductions. Three layouts cover the cases that matter:
//  - each output reduces one contiguous run (sum over the last dim, or any dense tensor reduced
//    completely, since the loop builder merges its dims): SIMD over the run; a large single run is
//    split across threads in fixed-size chunks, so results do not depend on the thread count;
//  - the outputs are contiguous and the reduced dims are outer (sum over dim 0): SIMD across outputs;
//  - anything else: runs gathered through a small buffer.
// Floating sums accumulate in the compute type inside blocks of 4096 elements and in double across
// blocks.
#include <cmath>
#include <limits>

#include "core/convert.h"
#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/reduce_chunks.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/loop.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

constexpr int64_t kSplitChunk = 65536;

// ---- iteration over one output's inner positions ----

// Calls f(const T* contiguous_chunk, int64_t n) over all inner elements of the output at `src`,
// gathering strided runs through a buffer.
template <class T, class F>
void for_each_chunk(const char* src, const ReduceLoop& r, F&& f) {
  if (r.inner_numel == 0) return;
  if (r.inner_ndim == 0) {
    T v;
    std::memcpy(&v, src, sizeof v);
    f(&v, int64_t(1));
    return;
  }
  const int last = r.inner_ndim - 1;
  const int64_t len = r.inner_shape[last], stride = r.inner_strides[last];
  int64_t idx[kMaxLoopDims] = {};
  const int64_t runs = r.inner_numel / len;
  T buf[kGatherBlock];
  for (int64_t run = 0; run < runs; ++run) {
    int64_t off = 0;
    for (int d = 0; d < last; ++d) off += idx[d] * r.inner_strides[d];
    const char* base = src + off;
    if (stride == sizeof(T)) {
      f(reinterpret_cast<const T*>(base), len);
    } else {
      for (int64_t b = 0; b < len; b += kGatherBlock) {
        const int64_t m = len - b < kGatherBlock ? len - b : kGatherBlock;
        gather(buf, base + b * stride, stride, m);
        f(static_cast<const T*>(buf), m);
      }
    }
    for (int d = last - 1; d >= 0; --d) {
      if (++idx[d] < r.inner_shape[d]) break;
      idx[d] = 0;
    }
  }
}

template <class Out, class V>
EMBER_FORCE_INLINE void write_out(char* dst, V value) {
  const Out o = convert<Out>(value);
  std::memcpy(dst, &o, sizeof o);
}

// Runs per_output(dst, src) for every output, in parallel over outputs.
template <class F>
void for_each_output(const ReduceLoop& r, F&& per_output) {
  const int64_t work = r.inner_numel > 0 ? r.inner_numel : 1;
  const int64_t grain = work >= 32768 ? 1 : 32768 / work;
  parallel_runs(r.outer, grain, [&](char* const* p, const int64_t* s, int64_t n) {
    for (int64_t k = 0; k < n; ++k) per_output(p[0] + k * s[0], static_cast<const char*>(p[1] + k * s[1]));
  });
}

// One large contiguous run per output but few outputs: chunks of the run go to the threads.
template <class T>
bool single_contiguous_run(const ReduceLoop& r) {
  return r.outer.numel < num_threads() && r.inner_ndim == 1 && r.inner_strides[0] == sizeof(T) &&
         r.inner_numel >= 2 * kSplitChunk;
}

// Reduces the contiguous run [p, p + n) as `chunk(begin_ptr, count) -> R`, combined in chunk order.
template <class T, class R, class Chunk, class Combine>
R split_run(const T* p, int64_t n, R init, Chunk&& chunk, Combine&& combine) {
  const int64_t chunks = (n + kSplitChunk - 1) / kSplitChunk;
  R* partial = new R[chunks];
  parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t begin = c * kSplitChunk;
      partial[c] = chunk(p + begin, (n - begin) < kSplitChunk ? n - begin : kSplitChunk);
    }
  });
  R acc = init;
  for (int64_t c = 0; c < chunks; ++c) acc = combine(acc, partial[c]);
  delete[] partial;
  return acc;
}

// Sum of chunk(x) over all inner elements of one output, as double.
template <class T, class Chunk>
double sum_over(const char* src, const ReduceLoop& r, Chunk&& chunk) {
  if (single_contiguous_run<T>(r)) {
    return split_run(reinterpret_cast<const T*>(src), r.inner_numel, 0.0, chunk, [](double a, double b) { return a + b; });
  }
  double total = 0;
  for_each_chunk<T>(src, r, [&](const T* q, int64_t n) { total += chunk(q, n); });
  return total;
}

template <bool IsMax, class T>
compute_t<T> extreme_over(const char* src, const ReduceLoop& r) {
  using C = compute_t<T>;
  auto combine = [](C a, C b) { return IsMax ? em_max(a, b) : em_min(a, b); };
  auto chunk = [](const T* q, int64_t n) { return extreme_chunk<IsMax, T>(q, n); };
  if (single_contiguous_run<T>(r)) {
    const T* p = reinterpret_cast<const T*>(src);
    return split_run(p, r.inner_numel, load_one<T>(src), chunk, combine);
  }
  bool first = true;
  C acc = 0;
  for_each_chunk<T>(src, r, [&](const T* q, int64_t n) {
    const C v = chunk(q, n);
    acc = first ? v : combine(acc, v);
    first = false;
  });
  return acc;
}

// Sum / mean / max / min over outer dims with contiguous outputs: SIMD across outputs.
template <class T>
bool column_layout(const ReduceLoop& r) {
  const ElementwiseLoop& o = r.outer;
  if (o.ndim == 0 || r.inner_numel == 0) return false;
  const int last = o.ndim - 1;
  const bool inner_contiguous_run = r.inner_ndim == 1 && r.inner_strides[0] == sizeof(T);
  return !inner_contiguous_run && o.strides[0][last] == sizeof(T) && o.strides[1][last] == sizeof(T);
}

enum class ColumnOp { Sum, Max, Min };

template <ColumnOp Op, class T>
void column_reduce(const ReduceLoop& r, double scale) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  constexpr int kCols = 4 * W;
  const int64_t inner_numel = r.inner_numel;
  const int nd = r.inner_ndim;
  parallel_runs(r.outer, 4 * kCols, [&](char* const* p, const int64_t*, int64_t n) {
    T* dst = reinterpret_cast<T*>(p[0]);
    const char* src = p[1];
    for (int64_t c0 = 0; c0 < n; c0 += kCols) {
      const int64_t cols = n - c0 < kCols ? n - c0 : kCols;
      V acc[4];
      int64_t idx[kMaxLoopDims] = {};
      for (int64_t pos = 0; pos < inner_numel; ++pos) {
        int64_t off = 0;
        for (int d = 0; d < nd; ++d) off += idx[d] * r.inner_strides[d];
        const T* row = reinterpret_cast<const T*>(src + off) + c0;
        for (int j = 0; j < 4; ++j) {
          const int64_t left = cols - j * W;
          if (left <= 0) break;
          const V v = left >= W ? load_vec(row + j * W) : load_vec_partial(row + j * W, static_cast<int>(left));
          if (pos == 0) acc[j] = Op == ColumnOp::Sum ? V(0) + v : v;
          else if constexpr (Op == ColumnOp::Sum) acc[j] += v;
          else if constexpr (Op == ColumnOp::Max) acc[j] = em_max(acc[j], v);
          else acc[j] = em_min(acc[j], v);
        }
        for (int d = nd - 1; d >= 0; --d) {
          if (++idx[d] < r.inner_shape[d]) break;
          idx[d] = 0;
        }
      }
      for (int j = 0; j < 4; ++j) {
        const int64_t left = cols - j * W;
        if (left <= 0) break;
        V out = acc[j];
        if (Op == ColumnOp::Sum && scale != 1.0) out = out * V(static_cast<C>(scale));
        if (left >= W) store_vec(dst + c0 + j * W, out);
        else store_vec_partial(dst + c0 + j * W, out, static_cast<int>(left));
      }
    }
  });
}

// ---- per-dtype drivers ----

template <class T>
void reduce_float(ReduceOp op, const ReduceLoop& r, const ReduceArgs& args) {
  using C = compute_t<T>;
  const int64_t N = r.inner_numel;
  const double inv_n = N > 0 ? 1.0 / static_cast<double>(N) : std::numeric_limits<double>::quiet_NaN();
  auto sum_chunk_fn = [](const T* q, int64_t n) { return sum_chunk<T>(q, n); };
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: {
      const double scale = op == ReduceOp::Mean ? inv_n : 1.0;
      if (column_layout<T>(r)) return column_reduce<ColumnOp::Sum, T>(r, scale);
      return for_each_output(r, [&](char* dst, const char* src) {
        write_out<T>(dst, sum_over<T>(src, r, sum_chunk_fn) * (op == ReduceOp::Mean ? inv_n : 1.0));
      });
    }
    case ReduceOp::Max:
      if (column_layout<T>(r)) return column_reduce<ColumnOp::Max, T>(r, 1.0);
      return for_each_output(r, [&](char* dst, const char* src) { write_out<T>(dst, extreme_over<true, T>(src, r)); });
    case ReduceOp::Min:
      if (column_layout<T>(r)) return column_reduce<ColumnOp::Min, T>(r, 1.0);
      return for_each_output(r, [&](char* dst, const char* src) { write_out<T>(dst, extreme_over<false, T>(src, r)); });
    case ReduceOp::Var:
      return for_each_output(r, [&](char* dst, const char* src) {
        const double mean = sum_over<T>(src, r, sum_chunk_fn) * inv_n;
        const double m2 = sum_over<T>(src, r, [mean](const T* q, int64_t n) { return sum_sq_dev_chunk<T>(q, n, mean); });
        const double dof = static_cast<double>(N) - args.correction;
        write_out<T>(dst, dof > 0 ? m2 / dof : std::numeric_limits<double>::quiet_NaN());
      });
    case ReduceOp::LogSumExp:
      return for_each_output(r, [&](char* dst, const char* src) {
        if (N == 0) return write_out<T>(dst, -std::numeric_limits<double>::infinity());
        const C mx = extreme_over<true, T>(src, r);
        if (!std::isfinite(static_cast<double>(mx))) return write_out<T>(dst, static_cast<double>(mx));
        const double s = sum_over<T>(src, r, [mx](const T* q, int64_t n) { return sum_exp_chunk<T>(q, n, mx); });
        write_out<T>(dst, static_cast<double>(mx) + std::log(s));
      });
    case ReduceOp::Prod:
      return for_each_output(r, [&](char* dst, const char* src) {
        double acc = 1.0;
        for_each_chunk<T>(src, r, [&](const T* q, int64_t n) {
          for (int64_t i = 0; i < n; ++i) acc *= static_cast<double>(static_cast<C>(q[i]));
        });
        write_out<T>(dst, acc);
      });
    default:
      break;
  }
}

#if defined(EMBER_ISA_BASELINE)
// Integer and bool sums and products (int64, wrapping), max and min.
template <class T>
void reduce_integer(ReduceOp op, const ReduceLoop& r) {
  switch (op) {
    case ReduceOp::Sum:
      return for_each_output(r, [&](char* dst, const char* src) {
        uint64_t acc = 0;
        for_each_chunk<T>(src, r, [&](const T* q, int64_t n) {
          for (int64_t i = 0; i < n; ++i) acc += static_cast<uint64_t>(static_cast<int64_t>(q[i]));
        });
        write_out<int64_t>(dst, static_cast<int64_t>(acc));
      });
    case ReduceOp::Prod:
      return for_each_output(r, [&](char* dst, const char* src) {
        uint64_t acc = 1;
        for_each_chunk<T>(src, r, [&](const T* q, int64_t n) {
          for (int64_t i = 0; i < n; ++i) acc *= static_cast<uint64_t>(static_cast<int64_t>(q[i]));
        });
        write_out<int64_t>(dst, static_cast<int64_t>(acc));
      });
    case ReduceOp::Max:
    case ReduceOp::Min:
      return for_each_output(r, [&](char* dst, const char* src) {
        bool first = true;
        T acc = 0;
        for_each_chunk<T>(src, r, [&](const T* q, int64_t n) {
          for (int64_t i = 0; i < n; ++i) {
            if (first || (op == ReduceOp::Max ? q[i] > acc : q[i] < acc)) acc = q[i];
            first = false;
          }
        });
        write_out<T>(dst, acc);
      });
    default:
      break;
  }
}

template <class T>
void reduce_bool(ReduceOp op, const ReduceLoop& r) {
  const bool is_all = op == ReduceOp::All;
  for_each_output(r, [&](char* dst, const char* src) {
    bool acc = is_all;
    for_each_chunk<T>(src, r, [&](const T* q, int64_t n) {
      for (int64_t i = 0; i < n && acc == is_all; ++i) {
        const bool nonzero = static_cast<compute_t<T>>(q[i]) != compute_t<T>(0);
        if (nonzero != is_all) acc = !is_all;
      }
    });
    write_out<bool>(dst, acc);
  });
}

// First index of the max (min); NaN counts as the extreme, like torch.
template <class T>
void reduce_arg(ReduceOp op, const ReduceLoop& r) {
  using C = compute_t<T>;
  const bool want_max = op == ReduceOp::ArgMax;
  const int64_t n = r.inner_numel;
  const int64_t stride = r.inner_ndim ? r.inner_strides[0] : 0;
  for_each_output(r, [&](char* dst, const char* src) {
    C best = load_one<T>(src);
    int64_t best_i = 0;
    if (!em_isnan(best)) {
      for (int64_t i = 1; i < n; ++i) {
        const C v = load_one<T>(src + i * stride);
        if (em_isnan(v)) {
          best_i = i;
          break;
        }
        if (want_max ? v > best : v < best) {
          best = v;
          best_i = i;
        }
      }
    }
    write_out<int64_t>(dst, best_i);
  });
}

#endif

template <class T>
void reduce_typed(ReduceOp op, const ReduceLoop& r, const ReduceArgs& args) {
#if defined(EMBER_ISA_BASELINE)
  if (op == ReduceOp::All || op == ReduceOp::Any) return reduce_bool<T>(op, r);
  if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) {
    if constexpr (!std::is_same_v<T, bool>) return reduce_arg<T>(op, r);
    return;
  }
  if constexpr (is_float_storage_v<T>) reduce_float<T>(op, r, args);
  else reduce_integer<T>(op, r);
#else
  if constexpr (is_float_storage_v<T>) reduce_float<T>(op, r, args);
#endif
}

#if !defined(EMBER_ISA_BASELINE)
// The ops reduce_float implements with SIMD.
bool is_float_reduction(ReduceOp op) {
  return op == ReduceOp::Sum || op == ReduceOp::Mean || op == ReduceOp::Max || op == ReduceOp::Min ||
         op == ReduceOp::Var || op == ReduceOp::LogSumExp || op == ReduceOp::Prod;
}
#endif

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void reduce_all_dtypes(ReduceOp op, DType dtype, const ReduceLoop& r, const ReduceArgs& args) {
  if (r.outer.numel == 0) return;
  dispatch(dtype, "reduce: unexpected dtype", [&](auto tag) {
    reduce_typed<decltype(tag)>(op, r, args);
    return true;
  });
}
void register_reduce_kernels(KernelTable& table) { table.reduce = &reduce_all_dtypes; }
#else
namespace {
void reduce_kernel(ReduceOp op, DType dtype, const ReduceLoop& r, const ReduceArgs& args) {
  if (!is_simd_dtype(dtype) || !is_float_reduction(op)) return baseline::reduce_all_dtypes(op, dtype, r, args);
  if (r.outer.numel == 0) return;
  dispatch(dtype, "reduce: unexpected dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_simd_storage_v<T>) {
      reduce_typed<T>(op, r, args);
      return true;
    }
    return false;
  });
}
}  // namespace
void register_reduce_kernels(KernelTable& table) { table.reduce = &reduce_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
