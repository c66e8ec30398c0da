// Declarations shared by every SIMD backend of vec.h. Kernels include cpu/simd/vec.h, not this file.
//
// A backend header (vec_scalar.h, vec_sse2.h, vec_avx2.h, vec_avx512.h, vec_neon.h) defines, in
// namespace ember::EMBER_ISA_NS::simd:
//   Mask<float>, Mask<double>   lane masks: & | ^ ~, any(), all()
//   Vec<float>, Vec<double>     size, constructors, load/store(_partial), + - * / unary -, compound
//                               assignment, == != < <= > >= (IEEE: only != is true on NaN)
//   VecI32                      int32 lanes, as many as Vec<float>: + - & | ^
//   em_select em_fma em_sqrt em_abs em_max em_min em_round_even em_floor em_ceil em_trunc
//   detail::  bit_and bit_or bit_xor bit_andnot (a & ~b), min_keep_nan / max_keep_nan (x, c): min or
//             max with a constant c that returns x when x is NaN; as_int, as_float (bit casts);
//             to_int_rne (round to nearest even, out of range unspecified), to_float; sll/srl/sra<k>;
//             cmpeq_i, cmpgt_i (signed, -> Mask<float>), select_i; cvt_lo, cvt_hi (low / high half
//             of a Vec<float> to Vec<double>), cvt_join (two Vec<double> -> Vec<float>); load_u16,
//             store_u16 (+ _partial): uint16 <-> VecI32 (zero extension / low 16 bits).
//   and, where the ISA converts halves in hardware, load_f16 / store_f16 (EMBER_SIMD_HW_F16 set).
// vec_math.h builds everything else on top of these.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/half.h"
#include "core/portable.h"
#include "core/scalar_math.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define EMBER_SIMD_NOINLINE __declspec(noinline)
#else
#define EMBER_SIMD_NOINLINE __attribute__((noinline))
#endif

namespace ember {
inline namespace EMBER_ISA_NS {
namespace simd {

template <class T> struct Vec;
template <class T> struct Mask;
struct VecI32;

template <class T> inline constexpr bool is_vec_v = false;
template <> inline constexpr bool is_vec_v<Vec<float>> = true;
template <> inline constexpr bool is_vec_v<Vec<double>> = true;

template <class S> using enable_if_arith_t = std::enable_if_t<std::is_arithmetic_v<S>, int>;

namespace detail {
// Lanes [0, n) of a vector of `size` lanes, clamped.
constexpr int clamp_count(int n, int size) { return n < 0 ? 0 : (n > size ? size : n); }
}  // namespace detail

}  // namespace simd
}  // namespace EMBER_ISA_NS
}  // namespace ember
