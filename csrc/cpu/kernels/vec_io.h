// Loading and storing any floating storage type (f32, f64, f16, bf16) as a SIMD vector of its
// compute type (float for the 16-bit types), with partial variants for loop tails.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/half.h"
#include "cpu/simd/vec.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

using simd::Vec;

template <class T> struct compute_of { using type = T; };
template <> struct compute_of<f16> { using type = float; };
template <> struct compute_of<bf16> { using type = float; };
template <class T> using compute_t = typename compute_of<T>::type;

template <class T> constexpr bool is_float_storage_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, f16> || std::is_same_v<T, bf16>;

template <class T>
EMBER_FORCE_INLINE Vec<compute_t<T>> load_vec(const T* p) {
  if constexpr (std::is_same_v<T, f16>) return simd::load_f16(reinterpret_cast<const uint16_t*>(p));
  else if constexpr (std::is_same_v<T, bf16>) return simd::load_bf16(reinterpret_cast<const uint16_t*>(p));
  else return Vec<T>::load(p);
}

template <class T>
EMBER_FORCE_INLINE Vec<compute_t<T>> load_vec_partial(const T* p, int n) {
  if constexpr (std::is_same_v<T, f16>) return simd::load_f16_partial(reinterpret_cast<const uint16_t*>(p), n);
  else if constexpr (std::is_same_v<T, bf16>) return simd::load_bf16_partial(reinterpret_cast<const uint16_t*>(p), n);
  else return Vec<T>::load_partial(p, n);
}

template <class T>
EMBER_FORCE_INLINE void store_vec(T* p, Vec<compute_t<T>> v) {
  if constexpr (std::is_same_v<T, f16>) simd::store_f16(reinterpret_cast<uint16_t*>(p), v);
  else if constexpr (std::is_same_v<T, bf16>) simd::store_bf16(reinterpret_cast<uint16_t*>(p), v);
  else v.store(p);
}

template <class T>
EMBER_FORCE_INLINE void store_vec_partial(T* p, Vec<compute_t<T>> v, int n) {
  if constexpr (std::is_same_v<T, f16>) simd::store_f16_partial(reinterpret_cast<uint16_t*>(p), v, n);
  else if constexpr (std::is_same_v<T, bf16>) simd::store_bf16_partial(reinterpret_cast<uint16_t*>(p), v, n);
  else v.store_partial(p, n);
}

template <class V> struct vec_scalar;
template <class C> struct vec_scalar<Vec<C>> { using type = C; };

// Mask of the lanes [0, n).
template <class V>
EMBER_FORCE_INLINE auto lanes_below(int n) {
  using C = typename vec_scalar<V>::type;
  alignas(64) static constexpr C kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  static_assert(V::size <= 16, "lanes_below: wider vectors need a longer iota");
  return V::load(kIota) < V(static_cast<C>(n));
}

// One element, as its compute type.
template <class T>
EMBER_FORCE_INLINE compute_t<T> load_one(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return static_cast<compute_t<T>>(v);
}

// Block size for strided operands: they are gathered into a contiguous buffer of this many elements.
constexpr int64_t kGatherBlock = 256;

template <class T>
EMBER_FORCE_INLINE void gather(T* dst, const char* src, int64_t stride, int64_t n) {
  if (stride == 0) {
    T v;
    std::memcpy(&v, src, sizeof v);
    for (int64_t i = 0; i < n; ++i) dst[i] = v;
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i, src + i * stride, sizeof(T));
}

template <class T>
EMBER_FORCE_INLINE void scatter(char* dst, int64_t stride, const T* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * stride, src + i, sizeof(T));
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
