// Portable backend of vec.h: fixed-size arrays and plain loops. Used where no SIMD backend applies
// (and forced with EMBER_SIMD_FORCE_SCALAR, which the tests use to check it on any machine).
// 4 float lanes, 2 double lanes, like 128-bit SIMD. Every function is exact or IEEE per lane.
#pragma once
#include "cpu/simd/vec_common.h"

#define EMBER_SIMD_BACKEND_NAME "scalar"

namespace ember {
inline namespace EMBER_ISA_NS {
namespace simd {

namespace detail {
template <class T> inline constexpr int scalar_lanes = static_cast<int>(16 / sizeof(T));
}

// The primary templates are the portable backend; float and double are the only ones used.
template <class T> struct Mask {
  static_assert(std::is_floating_point_v<T>, "Mask<T>: T must be float or double");
  static constexpr int size = detail::scalar_lanes<T>;
  bool m[size];

  friend EMBER_FORCE_INLINE Mask operator&(Mask a, Mask b) {
    for (int i = 0; i < size; ++i) a.m[i] = a.m[i] && b.m[i];
    return a;
  }
  friend EMBER_FORCE_INLINE Mask operator|(Mask a, Mask b) {
    for (int i = 0; i < size; ++i) a.m[i] = a.m[i] || b.m[i];
    return a;
  }
  friend EMBER_FORCE_INLINE Mask operator^(Mask a, Mask b) {
    for (int i = 0; i < size; ++i) a.m[i] = a.m[i] != b.m[i];
    return a;
  }
  friend EMBER_FORCE_INLINE Mask operator~(Mask a) {
    for (int i = 0; i < size; ++i) a.m[i] = !a.m[i];
    return a;
  }
  EMBER_FORCE_INLINE Mask& operator&=(Mask b) { return *this = *this & b; }
  EMBER_FORCE_INLINE Mask& operator|=(Mask b) { return *this = *this | b; }
  EMBER_FORCE_INLINE Mask& operator^=(Mask b) { return *this = *this ^ b; }
  EMBER_FORCE_INLINE bool any() const {
    bool r = false;
    for (int i = 0; i < size; ++i) r = r || m[i];
    return r;
  }
  EMBER_FORCE_INLINE bool all() const {
    bool r = true;
    for (int i = 0; i < size; ++i) r = r && m[i];
    return r;
  }
};

template <class T> struct Vec {
  static_assert(std::is_floating_point_v<T>, "Vec<T>: T must be float or double");
  static constexpr int size = detail::scalar_lanes<T>;
  using value_type = T;
  T v[size];

  EMBER_FORCE_INLINE Vec() {
    for (int i = 0; i < size; ++i) v[i] = T(0);
  }
  template <class S, enable_if_arith_t<S> = 0> EMBER_FORCE_INLINE Vec(S s) {
    for (int i = 0; i < size; ++i) v[i] = static_cast<T>(s);
  }
  static EMBER_FORCE_INLINE Vec load(const T* p) {
    Vec r;
    std::memcpy(r.v, p, sizeof r.v);
    return r;
  }
  static EMBER_FORCE_INLINE Vec load_partial(const T* p, int n) {
    Vec r;
    n = detail::clamp_count(n, size);
    if (n > 0) std::memcpy(r.v, p, sizeof(T) * static_cast<size_t>(n));
    return r;
  }
  EMBER_FORCE_INLINE void store(T* p) const { std::memcpy(p, v, sizeof v); }
  EMBER_FORCE_INLINE void store_partial(T* p, int n) const {
    n = detail::clamp_count(n, size);
    if (n > 0) std::memcpy(p, v, sizeof(T) * static_cast<size_t>(n));
  }

#define EMBER_SCALAR_BINOP(op)                                       \
  friend EMBER_FORCE_INLINE Vec operator op(Vec a, Vec b) {          \
    for (int i = 0; i < size; ++i) a.v[i] = a.v[i] op b.v[i];        \
    return a;                                                        \
  }                                                                  \
  EMBER_FORCE_INLINE Vec& operator op##=(Vec b) { return *this = *this op b; }
  EMBER_SCALAR_BINOP(+)
  EMBER_SCALAR_BINOP(-)
  EMBER_SCALAR_BINOP(*)
  EMBER_SCALAR_BINOP(/)
#undef EMBER_SCALAR_BINOP
  friend EMBER_FORCE_INLINE Vec operator-(Vec a) {
    for (int i = 0; i < size; ++i) a.v[i] = -a.v[i];
    return a;
  }
#define EMBER_SCALAR_CMP(op)                                         \
  friend EMBER_FORCE_INLINE Mask<T> operator op(Vec a, Vec b) {      \
    Mask<T> r;                                                       \
    for (int i = 0; i < size; ++i) r.m[i] = a.v[i] op b.v[i];        \
    return r;                                                        \
  }
  EMBER_SCALAR_CMP(==)
  EMBER_SCALAR_CMP(!=)
  EMBER_SCALAR_CMP(<)
  EMBER_SCALAR_CMP(<=)
  EMBER_SCALAR_CMP(>)
  EMBER_SCALAR_CMP(>=)
#undef EMBER_SCALAR_CMP
};

struct VecI32 {
  static constexpr int size = Vec<float>::size;
  int32_t v[size];
  EMBER_FORCE_INLINE VecI32() {
    for (int i = 0; i < size; ++i) v[i] = 0;
  }
  EMBER_FORCE_INLINE VecI32(int32_t s) {
    for (int i = 0; i < size; ++i) v[i] = s;
  }
  // Wrapping arithmetic, done in uint32 to stay clear of signed overflow.
#define EMBER_SCALAR_IOP(op)                                                                      \
  friend EMBER_FORCE_INLINE VecI32 operator op(VecI32 a, VecI32 b) {                              \
    for (int i = 0; i < size; ++i)                                                                \
      a.v[i] = static_cast<int32_t>(static_cast<uint32_t>(a.v[i]) op static_cast<uint32_t>(b.v[i])); \
    return a;                                                                                     \
  }
  EMBER_SCALAR_IOP(+)
  EMBER_SCALAR_IOP(-)
  EMBER_SCALAR_IOP(&)
  EMBER_SCALAR_IOP(|)
  EMBER_SCALAR_IOP(^)
#undef EMBER_SCALAR_IOP
};

// Non-template overloads (for float and double), so that scalar arguments convert like on the SIMD
// backends.
#define EMBER_SCALAR_MAP(T, name, expr)                   \
  EMBER_FORCE_INLINE Vec<T> name(Vec<T> a) {              \
    for (int i = 0; i < Vec<T>::size; ++i) {              \
      const T x = a.v[i];                                 \
      a.v[i] = expr;                                      \
    }                                                     \
    return a;                                             \
  }
#define EMBER_SCALAR_FUNCS(T)                                                                          \
  EMBER_FORCE_INLINE Vec<T> em_select(Mask<T> m, Vec<T> a, Vec<T> b) {                                  \
    for (int i = 0; i < Vec<T>::size; ++i) a.v[i] = m.m[i] ? a.v[i] : b.v[i];                           \
    return a;                                                                                          \
  }                                                                                                    \
  /* Not fused: a scalar fallback has no reason to assume a fast hardware fma. */                      \
  EMBER_FORCE_INLINE Vec<T> em_fma(Vec<T> a, Vec<T> b, Vec<T> c) { return a * b + c; }                 \
  EMBER_FORCE_INLINE Vec<T> em_max(Vec<T> a, Vec<T> b) {                                                \
    for (int i = 0; i < Vec<T>::size; ++i) a.v[i] = ::ember::EMBER_ISA_NS::em_max(a.v[i], b.v[i]);      \
    return a;                                                                                          \
  }                                                                                                    \
  EMBER_FORCE_INLINE Vec<T> em_min(Vec<T> a, Vec<T> b) {                                                \
    for (int i = 0; i < Vec<T>::size; ++i) a.v[i] = ::ember::EMBER_ISA_NS::em_min(a.v[i], b.v[i]);      \
    return a;                                                                                          \
  }                                                                                                    \
  EMBER_SCALAR_MAP(T, em_sqrt, std::sqrt(x))                                                           \
  EMBER_SCALAR_MAP(T, em_abs, std::fabs(x))                                                            \
  EMBER_SCALAR_MAP(T, em_round_even, std::nearbyint(x))                                                \
  EMBER_SCALAR_MAP(T, em_floor, std::floor(x))                                                         \
  EMBER_SCALAR_MAP(T, em_ceil, std::ceil(x))                                                           \
  EMBER_SCALAR_MAP(T, em_trunc, std::trunc(x))
EMBER_SCALAR_FUNCS(float)
EMBER_SCALAR_FUNCS(double)
#undef EMBER_SCALAR_FUNCS
#undef EMBER_SCALAR_MAP

// Lanes (1, 0, 3, 2, ...): swaps each even lane with the odd lane after it.
EMBER_FORCE_INLINE Vec<float> swap_pairs(Vec<float> a) {
  Vec<float> r;
  for (int i = 0; i < Vec<float>::size; ++i) r.v[i] = a.v[i ^ 1];
  return r;
}

namespace detail {

template <class T, class U> EMBER_FORCE_INLINE T bitcast(U u) {
  static_assert(sizeof(T) == sizeof(U), "bitcast size");
  T t;
  std::memcpy(&t, &u, sizeof t);
  return t;
}
template <class T> using bits_t = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

#define EMBER_SCALAR_BITOP(name, expr)                                        \
  template <class T> EMBER_FORCE_INLINE Vec<T> name(Vec<T> a, Vec<T> b) {     \
    for (int i = 0; i < Vec<T>::size; ++i) {                                  \
      const bits_t<T> x = bitcast<bits_t<T>>(a.v[i]), y = bitcast<bits_t<T>>(b.v[i]); \
      a.v[i] = bitcast<T>(static_cast<bits_t<T>>(expr));                      \
    }                                                                         \
    return a;                                                                 \
  }
EMBER_SCALAR_BITOP(bit_and, x & y)
EMBER_SCALAR_BITOP(bit_or, x | y)
EMBER_SCALAR_BITOP(bit_xor, x ^ y)
EMBER_SCALAR_BITOP(bit_andnot, x & ~y)
#undef EMBER_SCALAR_BITOP

// min / max against a non-NaN constant c; NaN in x comes back unchanged.
template <class T> EMBER_FORCE_INLINE Vec<T> min_keep_nan(Vec<T> x, Vec<T> c) {
  for (int i = 0; i < Vec<T>::size; ++i) x.v[i] = c.v[i] < x.v[i] ? c.v[i] : x.v[i];
  return x;
}
template <class T> EMBER_FORCE_INLINE Vec<T> max_keep_nan(Vec<T> x, Vec<T> c) {
  for (int i = 0; i < Vec<T>::size; ++i) x.v[i] = c.v[i] > x.v[i] ? c.v[i] : x.v[i];
  return x;
}

EMBER_FORCE_INLINE VecI32 as_int(Vec<float> a) {
  VecI32 r;
  std::memcpy(r.v, a.v, sizeof r.v);
  return r;
}
EMBER_FORCE_INLINE Vec<float> as_float(VecI32 a) {
  Vec<float> r;
  std::memcpy(r.v, a.v, sizeof r.v);
  return r;
}
// Out-of-range lanes and NaN give INT32_MIN, as on x86.
EMBER_FORCE_INLINE VecI32 to_int_rne(Vec<float> a) {
  VecI32 r;
  for (int i = 0; i < VecI32::size; ++i) {
    const float x = a.v[i];
    r.v[i] = (x >= -2147483648.0f && x < 2147483648.0f) ? static_cast<int32_t>(std::nearbyint(x))
                                                        : std::numeric_limits<int32_t>::min();
  }
  return r;
}
EMBER_FORCE_INLINE Vec<float> to_float(VecI32 a) {
  Vec<float> r;
  for (int i = 0; i < VecI32::size; ++i) r.v[i] = static_cast<float>(a.v[i]);
  return r;
}
template <int k> EMBER_FORCE_INLINE VecI32 sll(VecI32 a) {
  for (int i = 0; i < VecI32::size; ++i) a.v[i] = static_cast<int32_t>(static_cast<uint32_t>(a.v[i]) << k);
  return a;
}
template <int k> EMBER_FORCE_INLINE VecI32 srl(VecI32 a) {
  for (int i = 0; i < VecI32::size; ++i) a.v[i] = static_cast<int32_t>(static_cast<uint32_t>(a.v[i]) >> k);
  return a;
}
template <int k> EMBER_FORCE_INLINE VecI32 sra(VecI32 a) {
  for (int i = 0; i < VecI32::size; ++i) a.v[i] = a.v[i] >> k;  // arithmetic in C++20
  return a;
}
EMBER_FORCE_INLINE Mask<float> cmpeq_i(VecI32 a, VecI32 b) {
  Mask<float> r;
  for (int i = 0; i < VecI32::size; ++i) r.m[i] = a.v[i] == b.v[i];
  return r;
}
EMBER_FORCE_INLINE Mask<float> cmpgt_i(VecI32 a, VecI32 b) {
  Mask<float> r;
  for (int i = 0; i < VecI32::size; ++i) r.m[i] = a.v[i] > b.v[i];
  return r;
}
EMBER_FORCE_INLINE VecI32 select_i(Mask<float> m, VecI32 a, VecI32 b) {
  for (int i = 0; i < VecI32::size; ++i) a.v[i] = m.m[i] ? a.v[i] : b.v[i];
  return a;
}
EMBER_FORCE_INLINE Vec<double> cvt_lo(Vec<float> a) {
  Vec<double> r;
  for (int i = 0; i < Vec<double>::size; ++i) r.v[i] = a.v[i];
  return r;
}
EMBER_FORCE_INLINE Vec<double> cvt_hi(Vec<float> a) {
  Vec<double> r;
  for (int i = 0; i < Vec<double>::size; ++i) r.v[i] = a.v[i + Vec<double>::size];
  return r;
}
EMBER_FORCE_INLINE Vec<float> cvt_join(Vec<double> lo, Vec<double> hi) {
  Vec<float> r;
  for (int i = 0; i < Vec<double>::size; ++i) {
    r.v[i] = static_cast<float>(lo.v[i]);
    r.v[i + Vec<double>::size] = static_cast<float>(hi.v[i]);
  }
  return r;
}
EMBER_FORCE_INLINE VecI32 load_u16(const uint16_t* p) {
  VecI32 r;
  for (int i = 0; i < VecI32::size; ++i) r.v[i] = p[i];
  return r;
}
EMBER_FORCE_INLINE VecI32 load_u16_partial(const uint16_t* p, int n) {
  VecI32 r;
  n = clamp_count(n, VecI32::size);
  for (int i = 0; i < n; ++i) r.v[i] = p[i];
  return r;
}
EMBER_FORCE_INLINE void store_u16(uint16_t* p, VecI32 a) {
  for (int i = 0; i < VecI32::size; ++i) p[i] = static_cast<uint16_t>(a.v[i]);
}
EMBER_FORCE_INLINE void store_u16_partial(uint16_t* p, VecI32 a, int n) {
  n = clamp_count(n, VecI32::size);
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint16_t>(a.v[i]);
}

}  // namespace detail

}  // namespace simd
}  // namespace EMBER_ISA_NS
}  // namespace ember
