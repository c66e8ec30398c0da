// SIMD vectors for the CPU kernels: the one header a kernel includes.
//
// Kernel translation units are compiled once per SIMD level (cmake/EmberIsa.cmake); this header picks
// the implementation from the compiler's predefined macros, and everything lives in
// ember::EMBER_ISA_NS::simd so that two levels never share a symbol.
//
//   level        backend             Vec<float> / Vec<double> lanes
//   avx512       vec_avx512.h        16 / 8
//   avx2         vec_avx2.h          8 / 4
//   x86 baseline vec_sse2.h          4 / 2
//   arm64        vec_neon.h          4 / 2
//   other        vec_scalar.h        4 / 2 (plain loops; EMBER_SIMD_FORCE_SCALAR picks it anywhere)
//
// Interface (T = float or double; every function also takes scalars, which broadcast):
//   Vec<T>: size; Vec() (zeros); Vec(any arithmetic scalar) (broadcast); load(p); load_partial(p, n)
//     (lanes >= n are 0, nothing past p[n-1] is read); store(p); store_partial(p, n) (nothing past
//     p[n-1] is written); + - * / unary -; += -= *= /=; == != < <= > >= -> Mask<T> (IEEE: NaN
//     compares false except !=).
//   Mask<T>: & | ^ ~, any(), all() (also any(m), all(m)).
//   em_add em_sub em_mul em_neg em_abs em_sign em_sqrt em_rsqrt em_fma(a, b, c) (fused where the ISA
//     has fma) em_max em_min (NaN in either gives NaN) em_select(mask, a, b) em_isnan (-> Mask)
//     em_floor em_ceil em_trunc em_round_even (ties to even)
//     em_exp em_log em_log1p em_expm1 em_sin em_cos em_tan em_tanh em_erf em_atan2 em_pow
//     em_floor_div em_remainder: the scalar em_* functions of core/scalar_math.h, per lane, with the
//     same special values (accuracy: see vec_math.h).
//   reduce_add, reduce_max, reduce_min (T result; max/min return NaN if any lane is NaN).
//   swap_pairs (Vec<float> only): lanes (1, 0, 3, 2, ...).
//   load_f16 / load_bf16 (const uint16_t*, or const ember::f16* / bf16*) -> Vec<float>,
//   store_f16 / store_bf16 (ptr, Vec<float>), and _partial(ptr, [v,] n) variants: bit-identical to
//   core/half.h.
//   is_vec_v<T>: true for Vec<float> and Vec<double>.
#pragma once

#if defined(EMBER_SIMD_FORCE_SCALAR)
#include "cpu/simd/vec_scalar.h"
#elif defined(__AVX512F__) && (defined(__FMA__) || defined(_MSC_VER)) && (defined(__F16C__) || defined(_MSC_VER))
#include "cpu/simd/vec_avx512.h"
#elif defined(__AVX2__) && (defined(__FMA__) || defined(_MSC_VER)) && (defined(__F16C__) || defined(_MSC_VER))
#include "cpu/simd/vec_avx2.h"
#elif defined(__SSE2__) || defined(_M_X64)
#include "cpu/simd/vec_sse2.h"
#elif defined(__aarch64__) || defined(_M_ARM64)
#include "cpu/simd/vec_neon.h"
#else
#include "cpu/simd/vec_scalar.h"
#endif

#include "cpu/simd/vec_math.h"
