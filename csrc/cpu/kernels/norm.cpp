// Layer norm, RMS norm and group norm: per row (or group) a SIMD sum and a sum of squared deviations,
// then one write pass that applies the statistics and the affine weights. Rows run in parallel.
#include <cmath>

#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/reduce_chunks.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/loop.h"

namespace ember::cpu::baseline {
void row_norm_all_dtypes(const RowNormArgs& args);
void group_norm_all_dtypes(const GroupNormArgs& args);
}  // namespace ember::cpu::baseline

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

void register_norm_rope_kernels(KernelTable& table);  // norm_rope.cpp
void register_norm_glu_kernels(KernelTable& table);   // norm_glu.cpp

namespace {

// Sums of d = x - shift and of d^2 over n contiguous elements: in the compute type within blocks of
// kBlock elements, in double across blocks.
template <class T>
void deviation_sums(const T* x, int64_t n, compute_t<T> shift, double& sum, double& sum_sq) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  const V vs(shift);
  sum = sum_sq = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t end = n - b < kBlock ? n : b + kBlock;
    V s0(0), s1(0), q0(0), q1(0);
    int64_t i = b;
    for (; i + 2 * W <= end; i += 2 * W) {
      const V d0 = load_vec(x + i) - vs, d1 = load_vec(x + i + W) - vs;
      s0 += d0;
      s1 += d1;
      q0 = em_fma(d0, d0, q0);
      q1 = em_fma(d1, d1, q1);
    }
    for (; i < end; i += W) {
      const int r = end - i < W ? static_cast<int>(end - i) : W;
      const V d = simd::em_select(lanes_below<V>(r), load_vec_partial(x + i, r) - vs, V(0));
      s0 += d;
      q0 = em_fma(d, d, q0);
    }
    sum += static_cast<double>(simd::reduce_add(s0 + s1));
    sum_sq += static_cast<double>(simd::reduce_add(q0 + q1));
  }
}

// The mean (0 for RMS norm) as shift + dev_mean and 1 / sqrt(variance + eps) of n contiguous elements.
// Layer norm shifts by a first estimate of the mean and corrects it from the deviations (two passes
// over the row); subtracting shift, then dev_mean keeps the digits a rounded mean would lose, so a
// large mean does not cancel the variance and constant rows normalise to exactly 0.
template <class T>
void row_stats(const T* x, int64_t n, bool rms, double eps, compute_t<T>& shift, compute_t<T>& dev_mean,
               double& rstd) {
  using C = compute_t<T>;
  const double count = static_cast<double>(n);
  shift = rms ? C(0) : static_cast<C>(sum_chunk(x, n) / count);
  double sum, sum_sq;
  deviation_sums(x, n, shift, sum, sum_sq);
  const double mean_dev = rms ? 0.0 : sum / count;
  dev_mean = static_cast<C>(mean_dev);
  const double var = sum_sq / count - mean_dev * mean_dev;
  rstd = 1.0 / std::sqrt((var > 0 ? var : 0.0) + eps);
}

// y = (x - shift - dev_mean) * rstd [* w] [+ b] over n contiguous elements; w and b of storage type P.
template <bool HasW, bool HasB, class T, class P>
void write_normalized(T* y, const T* x, int64_t n, compute_t<T> shift, compute_t<T> dev_mean, compute_t<T> rstd,
                      const P* w, const P* b) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  const V vs(shift), vd(dev_mean), vr(rstd);
  auto apply = [&](V v, int64_t i, int r) {
    v = ((v - vs) - vd) * vr;
    if constexpr (HasW) v = v * (r == W ? load_vec(w + i) : load_vec_partial(w + i, r));
    if constexpr (HasB) v = v + (r == W ? load_vec(b + i) : load_vec_partial(b + i, r));
    return v;
  };
  int64_t i = 0;
  for (; i + W <= n; i += W) store_vec(y + i, apply(load_vec(x + i), i, W));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    store_vec_partial(y + i, apply(load_vec_partial(x + i, r), i, r), r);
  }
}

// Calls f(has_weight, has_bias, w, b) with w and b typed as T or as its compute type.
template <class T, class F>
void with_affine(const void* weight, const void* bias, bool input_dtype, F&& f) {
  auto typed = [&](auto* tag) {
    using P = std::remove_pointer_t<decltype(tag)>;
    const P* w = static_cast<const P*>(weight);
    const P* b = static_cast<const P*>(bias);
    if (w && b) f(std::true_type{}, std::true_type{}, w, b);
    else if (w) f(std::true_type{}, std::false_type{}, w, b);
    else if (b) f(std::false_type{}, std::true_type{}, w, b);
    else f(std::false_type{}, std::false_type{}, w, b);
  };
  if constexpr (!std::is_same_v<T, compute_t<T>>) {
    if (input_dtype) return typed(static_cast<T*>(nullptr));
  }
  typed(static_cast<compute_t<T>*>(nullptr));
}

template <class T>
void row_norm(const RowNormArgs& a) {
  using C = compute_t<T>;
  const int64_t n = a.length;
  if (n == 0) return;
  with_affine<T>(a.weight, a.bias, a.affine_in_input_dtype, [&](auto has_w, auto has_b, const auto* w, const auto* b) {
    const int64_t grain = n >= 16384 ? 1 : 16384 / n;
    parallel_runs(a.rows, grain, [&](char* const* p, const int64_t* st, int64_t count) {
      for (int64_t k = 0; k < count; ++k) {
        T* y = reinterpret_cast<T*>(p[0] + k * st[0]);
        const T* x = reinterpret_cast<const T*>(p[1] + k * st[1]);
        C shift, dev_mean;
        double rstd;
        row_stats(x, n, a.rms, a.eps, shift, dev_mean, rstd);
        write_normalized<decltype(has_w)::value, decltype(has_b)::value>(y, x, n, shift, dev_mean,
                                                                         static_cast<C>(rstd), w, b);
      }
    });
  });
}

// Per channel: y = (x - mean) * scale + b[c] with scale = rstd * w[c] (mean as in row_stats).
template <class T>
void group_norm(const GroupNormArgs& a) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  const int64_t len = a.channels * a.spatial;
  if (len == 0) return;
  const bool input_dtype = a.affine_in_input_dtype;
  auto param = [&](const void* p, int64_t i, double absent) {
    if (!p) return absent;
    if (input_dtype) return static_cast<double>(load_one<T>(reinterpret_cast<const char*>(static_cast<const T*>(p) + i)));
    return static_cast<double>(static_cast<const C*>(p)[i]);
  };
  const int64_t grain = len >= 16384 ? 1 : 16384 / len;
  parallel_for(a.batch * a.groups, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const T* x = static_cast<const T*>(a.src) + row * len;
      T* y = static_cast<T*>(a.dst) + row * len;
      C shift, dev_mean;
      double rstd;
      row_stats(x, len, false, a.eps, shift, dev_mean, rstd);
      const int64_t first_channel = (row % a.groups) * a.channels;
      const V vs0(shift), vd(dev_mean);
      for (int64_t c = 0; c < a.channels; ++c) {
        const double scale = rstd * param(a.weight, first_channel + c, 1.0);
        const V vs(static_cast<C>(scale)), vb(static_cast<C>(param(a.bias, first_channel + c, 0.0)));
        const T* xc = x + c * a.spatial;
        T* yc = y + c * a.spatial;
        int64_t i = 0;
        for (; i + W <= a.spatial; i += W) store_vec(yc + i, em_fma((load_vec(xc + i) - vs0) - vd, vs, vb));
        if (i < a.spatial) {
          const int r = static_cast<int>(a.spatial - i);
          store_vec_partial(yc + i, em_fma((load_vec_partial(xc + i, r) - vs0) - vd, vs, vb), r);
        }
      }
    }
  });
}

template <class F>
void float_dispatch(DType dtype, const char* what, F&& f) {
  dispatch(dtype, what, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      f(tag);
      return true;
    }
    return false;
  });
}

void row_norm_dispatch(const RowNormArgs& a) {
  float_dispatch(a.dtype, "layer_norm: needs a floating dtype", [&](auto tag) { row_norm<decltype(tag)>(a); });
}
void group_norm_dispatch(const GroupNormArgs& a) {
  float_dispatch(a.dtype, "group_norm: needs a floating dtype", [&](auto tag) { group_norm<decltype(tag)>(a); });
}

#if !defined(EMBER_ISA_BASELINE)
void row_norm_kernel(const RowNormArgs& a) {
  if (!is_simd_dtype(a.dtype)) return baseline::row_norm_all_dtypes(a);
  row_norm_dispatch(a);
}
void group_norm_kernel(const GroupNormArgs& a) {
  if (!is_simd_dtype(a.dtype)) return baseline::group_norm_all_dtypes(a);
  group_norm_dispatch(a);
}
#endif

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void row_norm_all_dtypes(const RowNormArgs& a) { row_norm_dispatch(a); }
void group_norm_all_dtypes(const GroupNormArgs& a) { group_norm_dispatch(a); }
void register_norm_kernels(KernelTable& table) {
  table.row_norm = &row_norm_all_dtypes;
  table.group_norm = &group_norm_all_dtypes;
  register_norm_rope_kernels(table);
  register_norm_glu_kernels(table);
}
#else
void register_norm_kernels(KernelTable& table) {
  table.row_norm = &row_norm_kernel;
  table.group_norm = &group_norm_kernel;
  register_norm_rope_kernels(table);
  register_norm_glu_kernels(table);
}
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
