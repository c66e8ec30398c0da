// SIMD reductions of one contiguous chunk of floating storage, shared by the reduce and softmax
// kernels. Sums accumulate in the compute type within blocks of kBlock elements and in double
// across blocks.
#pragma once
#include "cpu/kernels/vec_io.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

constexpr int64_t kBlock = 4096;

// ---- contiguous chunk functions over floating storage ----

template <class T>
double sum_chunk(const T* p, int64_t n) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = n - b < kBlock ? n - b : kBlock;
    const T* q = p + b;
    V a0(0), a1(0), a2(0), a3(0);
    int64_t i = 0;
    for (; i + 4 * W <= m; i += 4 * W) {
      a0 += load_vec(q + i);
      a1 += load_vec(q + i + W);
      a2 += load_vec(q + i + 2 * W);
      a3 += load_vec(q + i + 3 * W);
    }
    for (; i + W <= m; i += W) a0 += load_vec(q + i);
    if (i < m) a1 += load_vec_partial(q + i, static_cast<int>(m - i));
    total += static_cast<double>(simd::reduce_add((a0 + a1) + (a2 + a3)));
  }
  return total;
}

template <class T>
double sum_sq_dev_chunk(const T* p, int64_t n, double mean) {
  using C = compute_t<T>;
  using V = Vec<C>;
  constexpr int W = V::size;
  const V vm(static_cast<C>(mean));
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = n - b < kBlock ? n - b : kBlock;
    const T* q = p + b;
    V a0(0), a1(0);
    int64_t i = 0;
    for (; i + 2 * W <= m; i += 2 * W) {
      const V d0 = load_vec(q + i) - vm, d1 = load_vec(q + i + W) - vm;
      a0 += d0 * d0;
      a1 += d1 * d1;
    }
    for (; i + W <= m; i += W) {
      const V d = load_vec(q + i) - vm;
      a0 += d * d;
    }
    if (i < m) {
      const int r = static_cast<int>(m - i);
      V d = load_vec_partial(q + i, r) - vm;
      d = simd::em_select(lanes_below<V>(r), d, V(0));
      a1 += d * d;
    }
    total += static_cast<double>(simd::reduce_add(a0 + a1));
  }
  return total;
}

template <class T>
double sum_exp_chunk(const T* p, int64_t n, compute_t<T> shift) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  const V vs(shift);
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = n - b < kBlock ? n - b : kBlock;
    const T* q = p + b;
    V a0(0), a1(0);
    int64_t i = 0;
    for (; i + W <= m; i += W) a0 += em_exp(load_vec(q + i) - vs);
    if (i < m) {
      const int r = static_cast<int>(m - i);
      const V e = em_exp(load_vec_partial(q + i, r) - vs);
      a1 += simd::em_select(lanes_below<V>(r), e, V(0));
    }
    total += static_cast<double>(simd::reduce_add(a0 + a1));
  }
  return total;
}

template <bool IsMax, class T>
compute_t<T> extreme_chunk(const T* p, int64_t n) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  auto pick = [](V a, V b) { return IsMax ? em_max(a, b) : em_min(a, b); };
  V acc = load_vec_partial(p, static_cast<int>(n < W ? n : W));
  if (n < W) {
    // Lanes past n hold 0: fill them with a real element so they cannot win.
    acc = simd::em_select(lanes_below<V>(static_cast<int>(n)), acc, V(load_one<T>(reinterpret_cast<const char*>(p))));
  }
  int64_t i = n < W ? n : W;
  V a1 = acc;
  for (; i + 2 * W <= n; i += 2 * W) {
    acc = pick(acc, load_vec(p + i));
    a1 = pick(a1, load_vec(p + i + W));
  }
  for (; i + W <= n; i += W) acc = pick(acc, load_vec(p + i));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    const V tail = simd::em_select(lanes_below<V>(r), load_vec_partial(p + i, r), acc);
    acc = pick(acc, tail);
  }
  acc = pick(acc, a1);
  return IsMax ? simd::reduce_max(acc) : simd::reduce_min(acc);
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
