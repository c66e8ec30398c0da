// Test entry points into cpu/simd/vec.h, compiled once per SIMD level like the kernels (the build
// passes -DEMBER_ISA_NS=<level> and the level's flags). test_simd.cpp calls each level's copy through
// its namespace, ember::test::<level>, on the levels this CPU runs. test_simd.cpp also includes this
// file with EMBER_SIMD_FORCE_SCALAR and its own namespace to test the portable backend.
#include <cstdint>
#include <cstring>

#include "core/elementwise_ops.h"
#include "core/scalar_math.h"
#include "cpu/simd/vec.h"

#ifndef EMBER_SIMD_PROBE_DECLARATIONS
// Function ids shared by the probe and the test (defined once per translation unit).
namespace ember::test {
enum class ProbeUnary : int {
  Exp, Log, Log1p, Expm1, Sin, Cos, Tan, Tanh, Erf, Sqrt, Rsqrt, Abs, Neg, Sign, Floor, Ceil, Trunc, RoundEven,
  IsNan, Count
};
enum class ProbeBinary : int {
  Add, Sub, Mul, Div, Max, Min, Atan2, Pow, FloorDiv, Remainder, Eq, Ne, Lt, Le, Gt, Ge, Select, Count
};
enum class ProbeReduce : int { Add, Max, Min };
// elementwise_ops.h functors instantiated with Vec<float>.
enum class ProbeFunctor : int { Sigmoid, Gelu, GeluTanh, Silu, Softplus, Relu, Square, Reciprocal, Count };
}  // namespace ember::test

// Comparisons write 1 / 0. The array functions run full vectors, then load_partial / store_partial on
// the tail. The *_partial_direct functions call the partial functions once with this n (0 <= n <= size);
// *_partial_lanes stores the whole vector that load_partial returned.
#define EMBER_SIMD_PROBE_DECLARATIONS                                                                  \
  const char* simd_backend_name();                                                                     \
  int simd_size_f32();                                                                                 \
  int simd_size_f64();                                                                                 \
  void simd_unary_f32(int fn, const float* in, float* out, int64_t n);                                 \
  void simd_unary_f64(int fn, const double* in, double* out, int64_t n);                               \
  void simd_binary_f32(int fn, const float* a, const float* b, float* out, int64_t n);                 \
  void simd_binary_f64(int fn, const double* a, const double* b, double* out, int64_t n);              \
  void simd_fma_f32(const float* a, const float* b, const float* c, float* out, int64_t n);            \
  void simd_fma_f64(const double* a, const double* b, const double* c, double* out, int64_t n);        \
  float simd_reduce_f32(int fn, const float* in);                                                      \
  double simd_reduce_f64(int fn, const double* in);                                                    \
  int simd_mask_bits_f32(const float* a, const float* b);                                              \
  int simd_mask_bits_f64(const double* a, const double* b);                                            \
  void simd_partial_direct_f32(const float* in, float* out, int n);                                    \
  void simd_partial_direct_f64(const double* in, double* out, int n);                                  \
  void simd_partial_lanes_f32(const float* in, float* lanes, int n);                                   \
  void simd_partial_lanes_f64(const double* in, double* lanes, int n);                                 \
  void simd_f16_to_f32(const uint16_t* in, float* out, int64_t n);                                     \
  void simd_f32_to_f16(const float* in, uint16_t* out, int64_t n);                                     \
  void simd_bf16_to_f32(const uint16_t* in, float* out, int64_t n);                                    \
  void simd_f32_to_bf16(const float* in, uint16_t* out, int64_t n);                                    \
  void simd_half_partial_direct(int bf16, const uint16_t* in, float* lanes, uint16_t* out, int n);     \
  void simd_functor_f32(int fn, const float* in, float* out, int64_t n);                               \
  void simd_swap_pairs_f32(const float* in, float* out);
#endif

namespace ember::test {
inline namespace EMBER_ISA_NS {
EMBER_SIMD_PROBE_DECLARATIONS
}  // namespace EMBER_ISA_NS
}  // namespace ember::test

namespace ember::test {
inline namespace EMBER_ISA_NS {

namespace {
namespace simd = ::ember::EMBER_ISA_NS::simd;
using VF = simd::Vec<float>;
using VD = simd::Vec<double>;

static_assert(simd::is_vec_v<VF> && simd::is_vec_v<VD> && !simd::is_vec_v<float> && !simd::is_vec_v<double>);
static_assert(VF::size == 2 * VD::size);

// out[i] = f(in[i]) with full vectors, then one partial vector.
template <class T, class F> void map1(const T* in, T* out, int64_t n, F f) {
  using V = simd::Vec<T>;
  int64_t i = 0;
  for (; i + V::size <= n; i += V::size) f(V::load(in + i)).store(out + i);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    f(V::load_partial(in + i, rest)).store_partial(out + i, rest);
  }
}
template <class T, class F> void map2(const T* a, const T* b, T* out, int64_t n, F f) {
  using V = simd::Vec<T>;
  int64_t i = 0;
  for (; i + V::size <= n; i += V::size) f(V::load(a + i), V::load(b + i)).store(out + i);
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    f(V::load_partial(a + i, rest), V::load_partial(b + i, rest)).store_partial(out + i, rest);
  }
}

template <class T> simd::Vec<T> mask_to_vec(simd::Mask<T> m) {
  return simd::em_select(m, simd::Vec<T>(1), simd::Vec<T>(0));
}

template <class T> void unary(int fn, const T* in, T* out, int64_t n) {
  using V = simd::Vec<T>;
  switch (static_cast<ProbeUnary>(fn)) {
    case ProbeUnary::Exp: return map1(in, out, n, [](V x) { return em_exp(x); });
    case ProbeUnary::Log: return map1(in, out, n, [](V x) { return em_log(x); });
    case ProbeUnary::Log1p: return map1(in, out, n, [](V x) { return em_log1p(x); });
    case ProbeUnary::Expm1: return map1(in, out, n, [](V x) { return em_expm1(x); });
    case ProbeUnary::Sin: return map1(in, out, n, [](V x) { return em_sin(x); });
    case ProbeUnary::Cos: return map1(in, out, n, [](V x) { return em_cos(x); });
    case ProbeUnary::Tan: return map1(in, out, n, [](V x) { return em_tan(x); });
    case ProbeUnary::Tanh: return map1(in, out, n, [](V x) { return em_tanh(x); });
    case ProbeUnary::Erf: return map1(in, out, n, [](V x) { return em_erf(x); });
    case ProbeUnary::Sqrt: return map1(in, out, n, [](V x) { return em_sqrt(x); });
    case ProbeUnary::Rsqrt: return map1(in, out, n, [](V x) { return em_rsqrt(x); });
    case ProbeUnary::Abs: return map1(in, out, n, [](V x) { return em_abs(x); });
    case ProbeUnary::Neg: return map1(in, out, n, [](V x) { return em_neg(x); });
    case ProbeUnary::Sign: return map1(in, out, n, [](V x) { return em_sign(x); });
    case ProbeUnary::Floor: return map1(in, out, n, [](V x) { return em_floor(x); });
    case ProbeUnary::Ceil: return map1(in, out, n, [](V x) { return em_ceil(x); });
    case ProbeUnary::Trunc: return map1(in, out, n, [](V x) { return em_trunc(x); });
    case ProbeUnary::RoundEven: return map1(in, out, n, [](V x) { return em_round_even(x); });
    case ProbeUnary::IsNan: return map1(in, out, n, [](V x) { return mask_to_vec(em_isnan(x)); });
    case ProbeUnary::Count: break;
  }
}

template <class T> void binary(int fn, const T* a, const T* b, T* out, int64_t n) {
  using V = simd::Vec<T>;
  switch (static_cast<ProbeBinary>(fn)) {
    case ProbeBinary::Add: return map2(a, b, out, n, [](V x, V y) { return em_add(x, y); });
    case ProbeBinary::Sub: return map2(a, b, out, n, [](V x, V y) { return em_sub(x, y); });
    case ProbeBinary::Mul: return map2(a, b, out, n, [](V x, V y) { return em_mul(x, y); });
    case ProbeBinary::Div: return map2(a, b, out, n, [](V x, V y) { V r = x; r /= y; return r; });
    case ProbeBinary::Max: return map2(a, b, out, n, [](V x, V y) { return em_max(x, y); });
    case ProbeBinary::Min: return map2(a, b, out, n, [](V x, V y) { return em_min(x, y); });
    case ProbeBinary::Atan2: return map2(a, b, out, n, [](V x, V y) { return em_atan2(x, y); });
    case ProbeBinary::Pow: return map2(a, b, out, n, [](V x, V y) { return em_pow(x, y); });
    case ProbeBinary::FloorDiv: return map2(a, b, out, n, [](V x, V y) { return em_floor_div(x, y); });
    case ProbeBinary::Remainder: return map2(a, b, out, n, [](V x, V y) { return em_remainder(x, y); });
    case ProbeBinary::Eq: return map2(a, b, out, n, [](V x, V y) { return mask_to_vec(x == y); });
    case ProbeBinary::Ne: return map2(a, b, out, n, [](V x, V y) { return mask_to_vec(x != y); });
    case ProbeBinary::Lt: return map2(a, b, out, n, [](V x, V y) { return mask_to_vec(x < y); });
    case ProbeBinary::Le: return map2(a, b, out, n, [](V x, V y) { return mask_to_vec(x <= y); });
    case ProbeBinary::Gt: return map2(a, b, out, n, [](V x, V y) { return mask_to_vec(x > y); });
    case ProbeBinary::Ge: return map2(a, b, out, n, [](V x, V y) { return mask_to_vec(x >= y); });
    // a < b ? a : b through em_select.
    case ProbeBinary::Select: return map2(a, b, out, n, [](V x, V y) { return em_select(x < y, x, y); });
    case ProbeBinary::Count: break;
  }
}

template <class T> void fma3(const T* a, const T* b, const T* c, T* out, int64_t n) {
  using V = simd::Vec<T>;
  for (int64_t i = 0; i < n; i += V::size) {
    const int rest = n - i < V::size ? static_cast<int>(n - i) : V::size;
    em_fma(V::load_partial(a + i, rest), V::load_partial(b + i, rest), V::load_partial(c + i, rest))
        .store_partial(out + i, rest);
  }
}

template <class T> T reduce(int fn, const T* in) {
  const simd::Vec<T> v = simd::Vec<T>::load(in);
  switch (static_cast<ProbeReduce>(fn)) {
    case ProbeReduce::Add: return reduce_add(v);
    case ProbeReduce::Max: return reduce_max(v);
    case ProbeReduce::Min: return reduce_min(v);
  }
  return T(0);
}

// Bits: 0 any(a<b), 1 all(a<b), 2 any(~(a<b)), 3 all(a<b | a>=b), 4 any(a<b & a>b), 5 all((a<b) ^ (a>=b)),
// 6 any via free function, 7 all via free function, 8 compound ops.
template <class T> int mask_bits(const T* a, const T* b) {
  using V = simd::Vec<T>;
  const V x = V::load(a), y = V::load(b);
  const auto lt = x < y, ge = x >= y;
  auto m = lt;
  m |= ge;
  m &= ~(x > y);
  m ^= lt;
  int r = 0;
  r |= lt.any() << 0;
  r |= lt.all() << 1;
  r |= (~lt).any() << 2;
  r |= (lt | ge).all() << 3;
  r |= (lt & (x > y)).any() << 4;
  r |= (lt ^ ge).all() << 5;
  r |= simd::any(lt) << 6;
  r |= simd::all(lt) << 7;
  r |= m.any() << 8;
  return r;
}

template <class T> void partial_direct(const T* in, T* out, int n) { simd::Vec<T>::load_partial(in, n).store_partial(out, n); }
template <class T> void partial_lanes(const T* in, T* lanes, int n) { simd::Vec<T>::load_partial(in, n).store(lanes); }

template <class F> void functor(const float* in, float* out, int64_t n) {
  map1(in, out, n, [](VF x) { return F{}(x); });
}

}  // namespace

const char* simd_backend_name() { return EMBER_SIMD_BACKEND_NAME; }
int simd_size_f32() { return VF::size; }
int simd_size_f64() { return VD::size; }
void simd_unary_f32(int fn, const float* in, float* out, int64_t n) { unary(fn, in, out, n); }
void simd_unary_f64(int fn, const double* in, double* out, int64_t n) { unary(fn, in, out, n); }
void simd_binary_f32(int fn, const float* a, const float* b, float* out, int64_t n) { binary(fn, a, b, out, n); }
void simd_binary_f64(int fn, const double* a, const double* b, double* out, int64_t n) { binary(fn, a, b, out, n); }
void simd_fma_f32(const float* a, const float* b, const float* c, float* out, int64_t n) { fma3(a, b, c, out, n); }
void simd_fma_f64(const double* a, const double* b, const double* c, double* out, int64_t n) { fma3(a, b, c, out, n); }
float simd_reduce_f32(int fn, const float* in) { return reduce(fn, in); }
double simd_reduce_f64(int fn, const double* in) { return reduce(fn, in); }
int simd_mask_bits_f32(const float* a, const float* b) { return mask_bits(a, b); }
int simd_mask_bits_f64(const double* a, const double* b) { return mask_bits(a, b); }
void simd_partial_direct_f32(const float* in, float* out, int n) { partial_direct(in, out, n); }
void simd_partial_direct_f64(const double* in, double* out, int n) { partial_direct(in, out, n); }
void simd_partial_lanes_f32(const float* in, float* lanes, int n) { partial_lanes(in, lanes, n); }
void simd_partial_lanes_f64(const double* in, double* lanes, int n) { partial_lanes(in, lanes, n); }
void simd_swap_pairs_f32(const float* in, float* out) { simd::swap_pairs(VF::load(in)).store(out); }

void simd_f16_to_f32(const uint16_t* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + VF::size <= n; i += VF::size) simd::load_f16(in + i).store(out + i);
  if (i < n) simd::load_f16_partial(in + i, static_cast<int>(n - i)).store_partial(out + i, static_cast<int>(n - i));
}
void simd_f32_to_f16(const float* in, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + VF::size <= n; i += VF::size) simd::store_f16(out + i, VF::load(in + i));
  if (i < n) simd::store_f16_partial(out + i, VF::load_partial(in + i, static_cast<int>(n - i)), static_cast<int>(n - i));
}
void simd_bf16_to_f32(const uint16_t* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + VF::size <= n; i += VF::size) simd::load_bf16(in + i).store(out + i);
  if (i < n) simd::load_bf16_partial(in + i, static_cast<int>(n - i)).store_partial(out + i, static_cast<int>(n - i));
}
void simd_f32_to_bf16(const float* in, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + VF::size <= n; i += VF::size) simd::store_bf16(out + i, VF::load(in + i));
  if (i < n) simd::store_bf16_partial(out + i, VF::load_partial(in + i, static_cast<int>(n - i)), static_cast<int>(n - i));
}
// lanes <- load_*_partial(in, n) (whole vector); out <- store_*_partial(out, lanes, n), using the
// ember::f16 / ember::bf16 pointer overloads.
void simd_half_partial_direct(int bf16, const uint16_t* in, float* lanes, uint16_t* out, int n) {
  if (bf16) {
    const VF v = simd::load_bf16_partial(reinterpret_cast<const ::ember::bf16*>(in), n);
    v.store(lanes);
    simd::store_bf16_partial(reinterpret_cast<::ember::bf16*>(out), v, n);
  } else {
    const VF v = simd::load_f16_partial(reinterpret_cast<const ::ember::f16*>(in), n);
    v.store(lanes);
    simd::store_f16_partial(reinterpret_cast<::ember::f16*>(out), v, n);
  }
}

void simd_functor_f32(int fn, const float* in, float* out, int64_t n) {
  switch (static_cast<ProbeFunctor>(fn)) {
    case ProbeFunctor::Sigmoid: return functor<fn::Sigmoid>(in, out, n);
    case ProbeFunctor::Gelu: return functor<fn::Gelu>(in, out, n);
    case ProbeFunctor::GeluTanh: return functor<fn::GeluTanh>(in, out, n);
    case ProbeFunctor::Silu: return functor<fn::Silu>(in, out, n);
    case ProbeFunctor::Softplus: return functor<fn::Softplus>(in, out, n);
    case ProbeFunctor::Relu: return functor<fn::Relu>(in, out, n);
    case ProbeFunctor::Square: return functor<fn::Square>(in, out, n);
    case ProbeFunctor::Reciprocal: return functor<fn::Reciprocal>(in, out, n);
    case ProbeFunctor::Count: break;
  }
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::test
