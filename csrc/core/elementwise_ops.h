// The one definition of every elementwise op's math.
//
// Each op is a functor whose call operator is a template over the value type. The CPU backend
// instantiates it with scalars and with its SIMD vector types, CUDA kernels with float/double and
// integers, Metal kernels with float/half. Functors use only operators and em_* functions
// (core/scalar_math.h for host scalars; each backend brings its own overloads).
//
// Adding an op: write the functor here, add one line to the matching list below, add a test case
// in tests/python/test_elementwise.py. The enum value, the kernels and the Python names
// (ember.NAME and Tensor.NAME) all come from the lists.
#pragma once
#include "core/portable.h"

// The em_* functions for scalars must be declared before the functors (integer arguments have no
// associated namespace, so argument-dependent lookup cannot find them later).
#if defined(__METAL_VERSION__)
#include "metal_math.h"
#elif defined(__CUDACC__)
#include "cuda/cuda_math.cuh"
#else
#include "core/scalar_math.h"
#endif

// X(FunctorName, python_name)
// Float ops: integer and bool inputs are computed in float32 (torch's rule).
#define EMBER_UNARY_FLOAT_OPS(X)                                                                  \
  X(Exp, exp) X(Log, log) X(Log1p, log1p) X(Expm1, expm1) X(Sin, sin) X(Cos, cos) X(Tan, tan)     \
  X(Tanh, tanh) X(Sqrt, sqrt) X(Rsqrt, rsqrt) X(Reciprocal, reciprocal) X(Sigmoid, sigmoid)       \
  X(Gelu, gelu) X(GeluTanh, gelu_tanh) X(Silu, silu) X(Softplus, softplus) X(Erf, erf)
// Numeric ops keep the input's dtype (any dtype but bool).
#define EMBER_UNARY_NUMERIC_OPS(X)                                                                \
  X(Neg, neg) X(Abs, abs) X(Square, square) X(Sign, sign) X(Relu, relu) X(Floor, floor)           \
  X(Ceil, ceil) X(Round, round) X(Trunc, trunc)
// Bitwise ops: integers and bool only.
#define EMBER_UNARY_BITWISE_OPS(X) X(BitwiseNot, bitwise_not)
#define EMBER_UNARY_OPS(X) EMBER_UNARY_FLOAT_OPS(X) EMBER_UNARY_NUMERIC_OPS(X) EMBER_UNARY_BITWISE_OPS(X)

// Arithmetic: the promoted dtype of the operands.
#define EMBER_BINARY_ARITH_OPS(X)                                                                  \
  X(Add, add) X(Sub, sub) X(Mul, mul) X(Maximum, maximum) X(Minimum, minimum) X(Pow, pow)          \
  X(FloorDivide, floor_divide) X(Remainder, remainder)
// Float-only binary ops: integer operands are computed in float32.
#define EMBER_BINARY_FLOAT_OPS(X) X(Div, div) X(Atan2, atan2) X(Swiglu, swiglu)
// Comparisons: computed in the promoted dtype, bool result.
#define EMBER_BINARY_COMPARE_OPS(X) X(Eq, eq) X(Ne, ne) X(Lt, lt) X(Le, le) X(Gt, gt) X(Ge, ge)
#define EMBER_BINARY_BITWISE_OPS(X) X(BitwiseAnd, bitwise_and) X(BitwiseOr, bitwise_or) X(BitwiseXor, bitwise_xor)
#define EMBER_BINARY_OPS(X) \
  EMBER_BINARY_ARITH_OPS(X) EMBER_BINARY_FLOAT_OPS(X) EMBER_BINARY_COMPARE_OPS(X) EMBER_BINARY_BITWISE_OPS(X)

namespace ember {
inline namespace EMBER_ISA_NS {
namespace fn {

#define EMBER_UNARY_FUNCTOR(Name, expr) \
  struct Name {                         \
    template <class T>                  \
    EMBER_FN T operator()(T x) const {  \
      return expr;                      \
    }                                   \
  };
#define EMBER_BINARY_FUNCTOR(Name, expr)    \
  struct Name {                             \
    template <class T>                      \
    EMBER_FN T operator()(T a, T b) const { \
      return expr;                          \
    }                                       \
  };

EMBER_UNARY_FUNCTOR(Exp, em_exp(x))
EMBER_UNARY_FUNCTOR(Log, em_log(x))
EMBER_UNARY_FUNCTOR(Log1p, em_log1p(x))
EMBER_UNARY_FUNCTOR(Expm1, em_expm1(x))
EMBER_UNARY_FUNCTOR(Sin, em_sin(x))
EMBER_UNARY_FUNCTOR(Cos, em_cos(x))
EMBER_UNARY_FUNCTOR(Tan, em_tan(x))
EMBER_UNARY_FUNCTOR(Tanh, em_tanh(x))
EMBER_UNARY_FUNCTOR(Sqrt, em_sqrt(x))
EMBER_UNARY_FUNCTOR(Rsqrt, em_rsqrt(x))
EMBER_UNARY_FUNCTOR(Reciprocal, T(1.0) / x)
EMBER_UNARY_FUNCTOR(Sigmoid, T(1.0) / (T(1.0) + em_exp(-x)))
EMBER_UNARY_FUNCTOR(Gelu, T(0.5) * x * (T(1.0) + em_erf(x * T(0.70710678118654752440))))
EMBER_UNARY_FUNCTOR(GeluTanh,
                    T(0.5) * x * (T(1.0) + em_tanh(T(0.79788456080286535588) * (x + T(0.044715) * x * x * x))))
EMBER_UNARY_FUNCTOR(Silu, x / (T(1.0) + em_exp(-x)))
// torch's default softplus: beta 1, linear above threshold 20.
EMBER_UNARY_FUNCTOR(Softplus, em_select(x > T(20.0), x, em_log1p(em_exp(x))))
EMBER_UNARY_FUNCTOR(Erf, em_erf(x))

EMBER_UNARY_FUNCTOR(Neg, em_neg(x))
EMBER_UNARY_FUNCTOR(Abs, em_abs(x))
EMBER_UNARY_FUNCTOR(Square, em_mul(x, x))
EMBER_UNARY_FUNCTOR(Sign, em_sign(x))
EMBER_UNARY_FUNCTOR(Relu, em_max(x, T(0)))
EMBER_UNARY_FUNCTOR(Floor, em_floor(x))
EMBER_UNARY_FUNCTOR(Ceil, em_ceil(x))
EMBER_UNARY_FUNCTOR(Round, em_round_even(x))
EMBER_UNARY_FUNCTOR(Trunc, em_trunc(x))
EMBER_UNARY_FUNCTOR(BitwiseNot, em_bitwise_not(x))

EMBER_BINARY_FUNCTOR(Add, em_add(a, b))
EMBER_BINARY_FUNCTOR(Sub, em_sub(a, b))
EMBER_BINARY_FUNCTOR(Mul, em_mul(a, b))
EMBER_BINARY_FUNCTOR(Maximum, em_max(a, b))
EMBER_BINARY_FUNCTOR(Minimum, em_min(a, b))
EMBER_BINARY_FUNCTOR(Pow, em_pow(a, b))
EMBER_BINARY_FUNCTOR(FloorDivide, em_floor_div(a, b))
EMBER_BINARY_FUNCTOR(Remainder, em_remainder(a, b))
EMBER_BINARY_FUNCTOR(Div, a / b)
EMBER_BINARY_FUNCTOR(Atan2, em_atan2(a, b))
// silu(a) * b, the gated activation of SwiGLU MLPs.
EMBER_BINARY_FUNCTOR(Swiglu, a / (T(1.0) + em_exp(-a)) * b)
EMBER_BINARY_FUNCTOR(BitwiseAnd, a & b)
EMBER_BINARY_FUNCTOR(BitwiseOr, a | b)
EMBER_BINARY_FUNCTOR(BitwiseXor, a ^ b)

// Comparisons return the backend's mask type for vectors and bool for scalars.
#define EMBER_COMPARE_FUNCTOR(Name, op)        \
  struct Name {                                \
    template <class T>                         \
    EMBER_FN auto operator()(T a, T b) const { \
      return a op b;                           \
    }                                          \
  };
EMBER_COMPARE_FUNCTOR(Eq, ==)
EMBER_COMPARE_FUNCTOR(Ne, !=)
EMBER_COMPARE_FUNCTOR(Lt, <)
EMBER_COMPARE_FUNCTOR(Le, <=)
EMBER_COMPARE_FUNCTOR(Gt, >)
EMBER_COMPARE_FUNCTOR(Ge, >=)

#undef EMBER_UNARY_FUNCTOR
#undef EMBER_BINARY_FUNCTOR
#undef EMBER_COMPARE_FUNCTOR

}  // namespace fn
}  // namespace EMBER_ISA_NS
}  // namespace ember
