// Host C++ versions of the em_* functions that elementwise_ops.h is written in. The CPU backend adds
// overloads for its SIMD vector types (found by argument-dependent lookup); CUDA and Metal have their
// own preludes with the same names.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/portable.h"

namespace ember {
inline namespace EMBER_ISA_NS {

#define EMBER_SCALAR_FLOAT_FN(name, expr)                         \
  EMBER_FN float em_##name(float x) { return expr; }              \
  EMBER_FN double em_##name(double x) { return expr; }
EMBER_SCALAR_FLOAT_FN(exp, std::exp(x))
EMBER_SCALAR_FLOAT_FN(log, std::log(x))
EMBER_SCALAR_FLOAT_FN(log1p, std::log1p(x))
EMBER_SCALAR_FLOAT_FN(expm1, std::expm1(x))
EMBER_SCALAR_FLOAT_FN(sin, std::sin(x))
EMBER_SCALAR_FLOAT_FN(cos, std::cos(x))
EMBER_SCALAR_FLOAT_FN(tan, std::tan(x))
EMBER_SCALAR_FLOAT_FN(tanh, std::tanh(x))
EMBER_SCALAR_FLOAT_FN(sqrt, std::sqrt(x))
EMBER_SCALAR_FLOAT_FN(erf, std::erf(x))
#undef EMBER_SCALAR_FLOAT_FN
EMBER_FN float em_atan2(float y, float x) { return std::atan2(y, x); }
EMBER_FN double em_atan2(double y, double x) { return std::atan2(y, x); }

template <class T> using em_enable_float = std::enable_if_t<std::is_floating_point_v<T>, int>;
template <class T> using em_enable_int = std::enable_if_t<std::is_integral_v<T>, int>;

// Rounding: identity on integers; round_even rounds halves to even like numpy and torch.
template <class T, em_enable_float<T> = 0> EMBER_FN T em_floor(T x) { return std::floor(x); }
template <class T, em_enable_float<T> = 0> EMBER_FN T em_ceil(T x) { return std::ceil(x); }
template <class T, em_enable_float<T> = 0> EMBER_FN T em_trunc(T x) { return std::trunc(x); }
template <class T, em_enable_float<T> = 0> EMBER_FN T em_round_even(T x) { return std::nearbyint(x); }
template <class T, em_enable_int<T> = 0> EMBER_FN T em_floor(T x) { return x; }
template <class T, em_enable_int<T> = 0> EMBER_FN T em_ceil(T x) { return x; }
template <class T, em_enable_int<T> = 0> EMBER_FN T em_trunc(T x) { return x; }
template <class T, em_enable_int<T> = 0> EMBER_FN T em_round_even(T x) { return x; }

template <class T> EMBER_FN bool em_isnan(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  else return false;
}
template <class T> EMBER_FN T em_select(bool c, T a, T b) { return c ? a : b; }

// maximum / minimum propagate NaN (numpy and torch semantics).
template <class T> EMBER_FN T em_max(T a, T b) {
  if (em_isnan(a) || em_isnan(b)) return em_isnan(a) ? a : b;
  return a > b ? a : b;
}
template <class T> EMBER_FN T em_min(T a, T b) {
  if (em_isnan(a) || em_isnan(b)) return em_isnan(a) ? a : b;
  return a < b ? a : b;
}

template <class T> EMBER_FN T em_abs(T x) {
  if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
  else if constexpr (std::is_signed_v<T>) return x < 0 ? static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(x)) : x;
  else return x;
}
template <class T> EMBER_FN T em_neg(T x) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(x));
  else return -x;
}
template <class T> EMBER_FN T em_sign(T x) {
  if constexpr (std::is_floating_point_v<T>) return x > 0 ? T(1) : x < 0 ? T(-1) : x;
  else if constexpr (std::is_signed_v<T>) return static_cast<T>((x > 0) - (x < 0));
  else return static_cast<T>(x > 0);
}
template <class T> EMBER_FN T em_bitwise_not(T x) {
  if constexpr (std::is_same_v<T, bool>) return !x;
  else return static_cast<T>(~x);
}
template <class T> EMBER_FN T em_rsqrt(T x) { return T(1) / std::sqrt(x); }

// Integer arithmetic wraps like two's complement (no undefined behaviour on overflow).
template <class T> EMBER_FN T em_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <class T> EMBER_FN T em_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return a - b;
  }
}
template <class T> EMBER_FN T em_mul(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a && b;
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<std::common_type_t<T, unsigned>>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}

// Python semantics: the result of // rounds toward -inf, % takes the divisor's sign.
// Integer division by zero gives 0 (numpy's answer) instead of trapping.
template <class T> EMBER_FN T em_floor_div(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (b == 0) return a / b;
    const T mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= T(1);
    if (div == 0) return std::copysign(T(0), a / b);
    const T floor_div = std::floor(div);
    return div - floor_div > T(0.5) ? floor_div + T(1) : floor_div;
  } else if constexpr (std::is_signed_v<T>) {
    if (b == 0) return 0;
    if (b == -1) return em_neg(a);
    const T q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? static_cast<T>(q - 1) : q;
  } else {
    return b == 0 ? T(0) : static_cast<T>(a / b);
  }
}
template <class T> EMBER_FN T em_remainder(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (b == 0) return std::fmod(a, b);
    T mod = std::fmod(a, b);
    if (mod != 0) {
      if ((b < 0) != (mod < 0)) mod += b;
    } else {
      mod = std::copysign(T(0), b);
    }
    return mod;
  } else if constexpr (std::is_signed_v<T>) {
    if (b == 0 || b == -1) return 0;
    const T r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
  } else {
    return b == 0 ? T(0) : static_cast<T>(a % b);
  }
}

template <class T> EMBER_FN T em_pow(T base, T exponent) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::pow(base, exponent);
  } else if constexpr (std::is_same_v<T, bool>) {
    return base || !exponent;
  } else {
    if constexpr (std::is_signed_v<T>) {
      if (exponent < 0) {  // integer result of base ** negative: only |base| == 1 survives
        if (base == 1) return 1;
        if (base == -1) return (exponent & 1) ? T(-1) : T(1);
        return 0;
      }
    }
    using U = std::make_unsigned_t<std::common_type_t<T, unsigned>>;
    U result = 1, b = static_cast<U>(base);
    auto e = static_cast<std::make_unsigned_t<T>>(exponent);
    while (e) {
      if (e & 1) result *= b;
      b *= b;
      e >>= 1;
    }
    return static_cast<T>(result);
  }
}

}  // namespace EMBER_ISA_NS
}  // namespace ember
