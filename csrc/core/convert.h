// Element conversion between every pair of dtypes, the one definition used by casts and fills.
// Float -> integer conversions saturate and send NaN to 0 (defined for every input, unlike C++);
// integer -> integer conversions wrap modulo 2^bits; anything -> bool is `!= 0`.
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/half.h"
#include "core/portable.h"

namespace ember {
inline namespace EMBER_ISA_NS {

template <class T> struct is_half_type : std::false_type {};
template <> struct is_half_type<f16> : std::true_type {};
template <> struct is_half_type<bf16> : std::true_type {};

template <class To, class From>
EMBER_FN To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (is_half_type<From>::value) {
    return convert<To>(static_cast<float>(v));
  } else if constexpr (is_half_type<To>::value) {
    if constexpr (std::is_same_v<From, bool>) return To(v ? 1.0f : 0.0f);
    else return To(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    if (!(v == v)) return To(0);
    // Bounds as From: the largest From not above To's max (2^63 is exact in float and double).
    constexpr From lo = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From hi = static_cast<From>(std::numeric_limits<To>::max());
    if (v <= lo) return std::numeric_limits<To>::min();
    if (v >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else if constexpr (std::is_integral_v<To> && std::is_integral_v<From>) {
    return static_cast<To>(v);  // C++20: exact when it fits, else modulo 2^bits
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace EMBER_ISA_NS
}  // namespace ember
