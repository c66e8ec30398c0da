// Tests of cpu/simd/vec.h on every SIMD level this CPU runs (through tests/cpp/isa/simd_probe.cpp,
// compiled once per level) and on the portable backend (the probe included below with
// EMBER_SIMD_FORCE_SCALAR). Vector results are checked against the scalar functions of
// core/scalar_math.h and core/half.h, bit for bit where the function is exact, and against a
// double-precision reference in float ulps for the float32 transcendental functions.
//
// This translation unit's inline namespace is its own, so the scalar-backend probe it compiles can
// never merge with the per-level probes.
#define EMBER_ISA_NS simd_scalar_fallback
#define EMBER_SIMD_FORCE_SCALAR 1
#include "isa/simd_probe.cpp"
#undef EMBER_SIMD_FORCE_SCALAR

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/scalar_math.h"
#include "cpu/cpu_features.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define EMBER_TEST_GUARD_PAGES 1
#endif

// The per-level probes (their definitions are in the per-level objects of tests/cpp/isa/).
namespace ember::test {
inline namespace baseline {
EMBER_SIMD_PROBE_DECLARATIONS
}
#if defined(EMBER_HAVE_ISA_AVX2)
inline namespace avx2 {
EMBER_SIMD_PROBE_DECLARATIONS
}
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
inline namespace avx512 {
EMBER_SIMD_PROBE_DECLARATIONS
}
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
inline namespace dotprod {
EMBER_SIMD_PROBE_DECLARATIONS
}
#endif
}  // namespace ember::test

namespace {

using ember::test::ProbeBinary;
using ember::test::ProbeFunctor;
using ember::test::ProbeReduce;
using ember::test::ProbeUnary;

struct Probe {
  std::string level;
  const char* (*backend_name)();
  int (*size_f32)();
  int (*size_f64)();
  void (*unary_f32)(int, const float*, float*, int64_t);
  void (*unary_f64)(int, const double*, double*, int64_t);
  void (*binary_f32)(int, const float*, const float*, float*, int64_t);
  void (*binary_f64)(int, const double*, const double*, double*, int64_t);
  void (*fma_f32)(const float*, const float*, const float*, float*, int64_t);
  void (*fma_f64)(const double*, const double*, const double*, double*, int64_t);
  float (*reduce_f32)(int, const float*);
  double (*reduce_f64)(int, const double*);
  int (*mask_bits_f32)(const float*, const float*);
  int (*mask_bits_f64)(const double*, const double*);
  void (*partial_direct_f32)(const float*, float*, int);
  void (*partial_direct_f64)(const double*, double*, int);
  void (*partial_lanes_f32)(const float*, float*, int);
  void (*partial_lanes_f64)(const double*, double*, int);
  void (*f16_to_f32)(const uint16_t*, float*, int64_t);
  void (*f32_to_f16)(const float*, uint16_t*, int64_t);
  void (*bf16_to_f32)(const uint16_t*, float*, int64_t);
  void (*f32_to_bf16)(const float*, uint16_t*, int64_t);
  void (*half_partial_direct)(int, const uint16_t*, float*, uint16_t*, int);
  void (*functor_f32)(int, const float*, float*, int64_t);
  void (*swap_pairs_f32)(const float*, float*);

  bool fused_fma() const {
    const std::string b = backend_name();
    return b == "avx2" || b == "avx512" || b == "neon";
  }
  std::string name() const { return level + "/" + backend_name(); }
};

#define EMBER_PROBE(ns, label)                                                                              \
  Probe {                                                                                                   \
    label, &ns::simd_backend_name, &ns::simd_size_f32, &ns::simd_size_f64, &ns::simd_unary_f32,             \
        &ns::simd_unary_f64, &ns::simd_binary_f32, &ns::simd_binary_f64, &ns::simd_fma_f32,                 \
        &ns::simd_fma_f64, &ns::simd_reduce_f32, &ns::simd_reduce_f64, &ns::simd_mask_bits_f32,             \
        &ns::simd_mask_bits_f64, &ns::simd_partial_direct_f32, &ns::simd_partial_direct_f64,                \
        &ns::simd_partial_lanes_f32, &ns::simd_partial_lanes_f64, &ns::simd_f16_to_f32, &ns::simd_f32_to_f16, \
        &ns::simd_bf16_to_f32, &ns::simd_f32_to_bf16, &ns::simd_half_partial_direct, &ns::simd_functor_f32, \
        &ns::simd_swap_pairs_f32                                                                            \
  }

// Runnable levels, lowest first, then the portable backend.
const std::vector<Probe>& probes() {
  static const std::vector<Probe> list = [] {
    std::vector<Probe> v;
    for (ember::cpu::Isa isa : ember::cpu::runnable_isas()) {
      switch (isa) {
        case ember::cpu::Isa::Baseline: v.push_back(EMBER_PROBE(ember::test::baseline, "baseline")); break;
#if defined(EMBER_HAVE_ISA_AVX2)
        case ember::cpu::Isa::Avx2: v.push_back(EMBER_PROBE(ember::test::avx2, "avx2")); break;
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
        case ember::cpu::Isa::Avx512: v.push_back(EMBER_PROBE(ember::test::avx512, "avx512")); break;
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
        case ember::cpu::Isa::Dotprod: v.push_back(EMBER_PROBE(ember::test::dotprod, "dotprod")); break;
#endif
        default: break;
      }
    }
    v.push_back(EMBER_PROBE(ember::test::simd_scalar_fallback, "portable"));
    return v;
  }();
  return list;
}

uint32_t fbits(float f) { return ember::float_bits(f); }
float bitsf(uint32_t u) { return ember::bits_float(u); }
uint64_t dbits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}
double bitsd(uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}

// Same value, or both NaN (NaN payloads are not part of the contract); +0 and -0 differ.
template <class T> bool same(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if constexpr (sizeof(T) == 4) return fbits(a) == fbits(b);
  else return dbits(a) == dbits(b);
}

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> special_floats() {
  std::vector<float> v = {0.0f, 1.0f, 2.0f, 0.5f, 1.5f, 2.5f, 3.5f, 0.25f, 0.75f, 1e-3f, 1e-7f, 3.0f, 10.0f, 100.0f, 1e4f,
                          1e5f, 1e6f, 1e7f, 1e10f, 1e20f, 1e30f, 1e38f,
                          std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(), std::numeric_limits<float>::epsilon(), kInf, kNaN,
                          bitsf(0x7fa00000u) /* signalling NaN */, bitsf(0x7fc12345u), bitsf(0x00000003u),
                          bitsf(0x007fffffu), bitsf(0x00400000u), 8388607.5f, 8388608.0f, 8388609.0f, 16777216.0f,
                          4194303.5f, 4194304.5f, 0.49999997f, 0.50000006f, 1.4999999f, 2.5000002f};
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) v.push_back(-v[i]);
  return v;
}

// every `stride`-th float bit pattern (both signs, NaN and inf included).
std::vector<float> sweep_all(uint64_t stride) {
  std::vector<float> v;
  v.reserve(static_cast<size_t>((1ull << 32) / stride + 1));
  for (uint64_t b = 0; b < (1ull << 32); b += stride) v.push_back(bitsf(static_cast<uint32_t>(b)));
  return v;
}
// about `count` floats spread evenly (by bit pattern) over [lo, hi], a range of one sign.
void sweep_range(std::vector<float>& v, float lo, float hi, uint32_t count) {
  if (lo > hi) std::swap(lo, hi);
  const bool neg = hi <= 0;
  const uint32_t a = fbits(neg ? -hi : lo), b = fbits(neg ? -lo : hi);
  const uint32_t stride = std::max<uint32_t>(1, (b - a) / count);
  for (uint32_t x = a; x <= b && x >= a; x += stride) v.push_back(neg ? -bitsf(x) : bitsf(x));
}
void add_random(std::vector<float>& v, std::mt19937& rng, float lo, float hi, int count) {
  std::uniform_real_distribution<float> d(lo, hi);
  for (int i = 0; i < count; ++i) v.push_back(d(rng));
}
// log-uniform magnitudes 2^emin .. 2^emax, both signs.
void add_random_log(std::vector<float>& v, std::mt19937& rng, int emin, int emax, int count) {
  std::uniform_real_distribution<double> d(emin, emax);
  for (int i = 0; i < count; ++i) {
    const float x = static_cast<float>(std::exp2(d(rng)));
    v.push_back((i & 1) ? -x : x);
  }
}
// the float neighbours of a value
void add_neighbours(std::vector<float>& v, float x, int k) {
  uint32_t b = fbits(x);
  for (int d = -k; d <= k; ++d) {
    const int64_t nb = static_cast<int64_t>(b) + d;
    if (nb >= 0 && nb <= 0xffffffffll) v.push_back(bitsf(static_cast<uint32_t>(nb)));
  }
}

// Spacing of floats at |v| (2^-149 in the subnormal range).
double float_ulp(double v) {
  const double a = std::fabs(v);
  if (a < 0x1p-126) return 0x1p-149;
  int e;
  std::frexp(a, &e);
  return std::ldexp(1.0, std::min(e, 128) - 24);
}

// |out - ref| in units of the float spacing at ref; infinities and zeros must match exactly.
double ulp_error(float out, double ref) {
  if (std::isnan(ref)) return std::isnan(out) ? 0.0 : INFINITY;
  if (std::isnan(out)) return INFINITY;
  if (std::isinf(ref)) return static_cast<double>(out) == ref ? 0.0 : INFINITY;
  if (ref == 0.0) return (out == 0.0f && std::signbit(out) == std::signbit(ref)) ? 0.0 : INFINITY;
  // beyond the float range, measure against 2^128 (where float rounding overflows to inf)
  const double r = std::clamp(ref, -0x1p128, 0x1p128);
  const double o = std::isinf(out) ? std::copysign(0x1p128, static_cast<double>(out)) : static_cast<double>(out);
  return std::fabs(o - r) / float_ulp(r);
}

struct UnaryCase {
  ProbeUnary fn;
  const char* name;
  double (*ref)(double);
  double max_ulp;  // tolerated error on every level
};

std::vector<float> inputs_for(ProbeUnary fn) {
  std::mt19937 rng(1234 + static_cast<int>(fn));
  std::vector<float> v = sweep_all(997);
  const std::vector<float> sp = special_floats();
  v.insert(v.end(), sp.begin(), sp.end());
  add_random_log(v, rng, -149, 128, 200000);
  switch (fn) {
    case ProbeUnary::Exp:
    case ProbeUnary::Expm1:
      sweep_range(v, -110.0f, 0.0f, 1500000);
      sweep_range(v, 0.0f, 90.0f, 1500000);
      add_random(v, rng, -104.0f, 89.0f, 1000000);
      add_random(v, rng, -1.0f, 1.0f, 200000);
      for (float t : {88.72283f, 88.7228394f, 88.72284f, 88.0f, 87.0f, 89.0f, -87.0f, -87.33654f, -87.3365479f,
                      -88.0f, -100.0f, -103.278931f, -103.972084f, -103.972076f, -104.0f, -150.0f, -18.0f,
                      -17.0f, -17.3286781f, 0.346573591f, -0.346573591f, 1e-8f, -1e-8f, 2.98e-8f, 5.96e-8f})
        add_neighbours(v, t, 8);
      break;
    case ProbeUnary::Log:
      sweep_range(v, 0.0f, 1e4f, 2000000);
      add_random(v, rng, 0.5f, 2.0f, 500000);
      for (float t : {1.0f, 0.70710677f, 1.4142135f, 2.0f, 0.5f, std::numeric_limits<float>::min()})
        add_neighbours(v, t, 100);
      break;
    case ProbeUnary::Log1p:
      sweep_range(v, -1.0f, 0.0f, 1500000);
      sweep_range(v, 0.0f, 1e4f, 1500000);
      add_random(v, rng, -1.0f, 2.0f, 500000);
      for (float t : {-1.0f, -0.99999994f, -0.5f, -0.29289323f, 0.41421357f, 1.0f, 1e-8f, -1e-8f, 6e-8f, -6e-8f})
        add_neighbours(v, t, 100);
      break;
    case ProbeUnary::Sin:
    case ProbeUnary::Cos:
    case ProbeUnary::Tan:
      sweep_range(v, 0.0f, 1e4f, 1500000);
      sweep_range(v, -1e4f, 0.0f, 500000);
      add_random(v, rng, -10.0f, 10.0f, 300000);
      add_random(v, rng, -1e4f, 1e4f, 300000);
      add_random(v, rng, -1048576.0f, 1048576.0f, 300000);
      // the floats closest to multiples of pi/2 (hardest for argument reduction) and their neighbours
      for (int k = 1; k < 700000; k += (k < 20000 ? 1 : 7)) {
        const float x = static_cast<float>(k * 1.57079632679489661923);
        add_neighbours(v, x, 1);
        add_neighbours(v, -x, 0);
      }
      for (float t : {1048576.0f, 1e4f, 0.78539819f, 2.3561945f}) add_neighbours(v, t, 8);
      break;
    case ProbeUnary::Tanh:
      sweep_range(v, -20.0f, 0.0f, 1000000);
      sweep_range(v, 0.0f, 20.0f, 1000000);
      for (float t : {0.625f, 9.5f, 9.01f, 8.0f, 0.55f}) {
        add_neighbours(v, t, 50);
        add_neighbours(v, -t, 50);
      }
      break;
    case ProbeUnary::Erf:
      sweep_range(v, -5.0f, 0.0f, 1000000);
      sweep_range(v, 0.0f, 5.0f, 1000000);
      for (float t : {0.9f, 3.92f, 3.8325f, 1.0f, 2.0f}) {
        add_neighbours(v, t, 50);
        add_neighbours(v, -t, 50);
      }
      break;
    default: {  // exact functions: halfway cases for rounding and values around 2^23 / 2^24
      for (int k = -300000; k <= 300000; ++k) v.push_back(static_cast<float>(k) + 0.5f);
      for (float t : {8388608.0f, 4194304.0f, 16777216.0f, 1.0f, 0.5f}) {
        add_neighbours(v, t, 300);
        add_neighbours(v, -t, 300);
      }
      add_random(v, rng, -1e3f, 1e3f, 300000);
      break;
    }
  }
  return v;
}

const std::vector<UnaryCase>& transcendental_cases() {
  static const std::vector<UnaryCase> c = {
      {ProbeUnary::Exp, "exp", [](double x) { return std::exp(x); }, 2.0},
      {ProbeUnary::Log, "log", [](double x) { return std::log(x); }, 2.0},
      {ProbeUnary::Log1p, "log1p", [](double x) { return std::log1p(x); }, 2.0},
      {ProbeUnary::Expm1, "expm1", [](double x) { return std::expm1(x); }, 2.0},
      {ProbeUnary::Sin, "sin", [](double x) { return std::sin(x); }, 2.0},
      {ProbeUnary::Cos, "cos", [](double x) { return std::cos(x); }, 2.0},
      {ProbeUnary::Tan, "tan", [](double x) { return std::tan(x); }, 2.0},
      {ProbeUnary::Tanh, "tanh", [](double x) { return std::tanh(x); }, 2.0},
      {ProbeUnary::Erf, "erf", [](double x) { return std::erf(x); }, 2.0},
  };
  return c;
}

TEST(SimdBasics, LevelsAndSizes) {
  const std::vector<ember::cpu::Isa> isas = ember::cpu::runnable_isas();
  std::printf("[ SIMD     ] levels tested:");
  for (const Probe& p : probes()) std::printf(" %s (%d x f32, %d x f64)", p.name().c_str(), p.size_f32(), p.size_f64());
  std::printf("\n");
#if defined(EMBER_HAVE_ISA_AVX512)
  if (std::find(isas.begin(), isas.end(), ember::cpu::Isa::Avx512) == isas.end())
    std::printf("[ SIMD     ] avx512 is compiled but this CPU cannot run it: not tested here\n");
#endif
  for (const Probe& p : probes()) {
    const std::string b = p.backend_name();
    EXPECT_EQ(p.size_f32(), 2 * p.size_f64()) << p.name();
    const int want = b == "avx512" ? 16 : b == "avx2" ? 8 : 4;
    EXPECT_EQ(p.size_f32(), want) << p.name();
  }
#if defined(__x86_64__) || defined(_M_X64)
  EXPECT_EQ(std::string(probes()[0].backend_name()), "sse2");
#elif defined(__aarch64__)
  EXPECT_EQ(std::string(probes()[0].backend_name()), "neon");
#endif
  EXPECT_EQ(std::string(probes().back().backend_name()), "scalar");
}

// Every float32 transcendental against std:: in double, in ulps of the float result.
TEST(SimdMath, TranscendentalUlp) {
  std::printf("[ SIMD     ] max ulp error vs correctly rounded (double reference):\n");
  std::printf("[ SIMD     ] %-8s", "");
  for (const Probe& p : probes()) std::printf(" %18s", p.name().c_str());
  std::printf("\n");
  for (const UnaryCase& c : transcendental_cases()) {
    const std::vector<float> in = inputs_for(c.fn);
    std::vector<double> ref(in.size());
    for (size_t i = 0; i < in.size(); ++i) ref[i] = c.ref(static_cast<double>(in[i]));
    std::printf("[ SIMD     ] %-8s", c.name);
    const auto t0 = std::chrono::steady_clock::now();
    for (const Probe& p : probes()) {
      std::vector<float> out(in.size());
      p.unary_f32(static_cast<int>(c.fn), in.data(), out.data(), static_cast<int64_t>(in.size()));
      double worst = 0;
      size_t worst_i = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        const double e = ulp_error(out[i], ref[i]);
        if (!(e <= worst)) {
          worst = e;
          worst_i = i;
        }
      }
      std::printf(" %18.3f", worst);
      std::fflush(stdout);
      EXPECT_LE(worst, c.max_ulp) << c.name << " on " << p.name() << ": x = " << in[worst_i] << " ("
                                  << std::hex << fbits(in[worst_i]) << std::dec << ") gives " << out[worst_i]
                                  << ", expected " << ref[worst_i];
    }
    std::printf("   (%zu inputs, %.1f s)\n", in.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
}

// Special values: exactly what the scalar functions (std::) give.
TEST(SimdMath, SpecialValues) {
  struct Expect {
    ProbeUnary fn;
    float x, y;
  };
  const float tiny = std::numeric_limits<float>::denorm_min();
  const std::vector<Expect> cases = {
      {ProbeUnary::Exp, kInf, kInf},       {ProbeUnary::Exp, -kInf, 0.0f},      {ProbeUnary::Exp, kNaN, kNaN},
      {ProbeUnary::Exp, 0.0f, 1.0f},       {ProbeUnary::Exp, -0.0f, 1.0f},      {ProbeUnary::Exp, 89.0f, kInf},
      {ProbeUnary::Exp, -104.0f, 0.0f},    {ProbeUnary::Exp, -1000.0f, 0.0f},   {ProbeUnary::Exp, 1000.0f, kInf},
      {ProbeUnary::Exp, tiny, 1.0f},       {ProbeUnary::Log, 0.0f, -kInf},      {ProbeUnary::Log, -0.0f, -kInf},
      {ProbeUnary::Log, -1.0f, kNaN},      {ProbeUnary::Log, -kInf, kNaN},      {ProbeUnary::Log, kInf, kInf},
      {ProbeUnary::Log, kNaN, kNaN},       {ProbeUnary::Log, 1.0f, 0.0f},       {ProbeUnary::Log, -tiny, kNaN},
      {ProbeUnary::Log1p, -1.0f, -kInf},   {ProbeUnary::Log1p, -2.0f, kNaN},    {ProbeUnary::Log1p, kInf, kInf},
      {ProbeUnary::Log1p, -kInf, kNaN},    {ProbeUnary::Log1p, kNaN, kNaN},     {ProbeUnary::Log1p, 0.0f, 0.0f},
      {ProbeUnary::Log1p, -0.0f, -0.0f},   {ProbeUnary::Log1p, tiny, tiny},     {ProbeUnary::Log1p, -tiny, -tiny},
      {ProbeUnary::Expm1, kInf, kInf},     {ProbeUnary::Expm1, -kInf, -1.0f},   {ProbeUnary::Expm1, kNaN, kNaN},
      {ProbeUnary::Expm1, 0.0f, 0.0f},     {ProbeUnary::Expm1, -0.0f, -0.0f},   {ProbeUnary::Expm1, 100.0f, kInf},
      {ProbeUnary::Expm1, -100.0f, -1.0f}, {ProbeUnary::Expm1, tiny, tiny},     {ProbeUnary::Expm1, -tiny, -tiny},
      {ProbeUnary::Sin, 0.0f, 0.0f},       {ProbeUnary::Sin, -0.0f, -0.0f},     {ProbeUnary::Sin, kInf, kNaN},
      {ProbeUnary::Sin, -kInf, kNaN},      {ProbeUnary::Sin, kNaN, kNaN},       {ProbeUnary::Sin, -tiny, -tiny},
      {ProbeUnary::Cos, 0.0f, 1.0f},       {ProbeUnary::Cos, -0.0f, 1.0f},      {ProbeUnary::Cos, kInf, kNaN},
      {ProbeUnary::Cos, kNaN, kNaN},       {ProbeUnary::Tan, 0.0f, 0.0f},       {ProbeUnary::Tan, -0.0f, -0.0f},
      {ProbeUnary::Tan, kInf, kNaN},       {ProbeUnary::Tan, kNaN, kNaN},       {ProbeUnary::Tan, tiny, tiny},
      {ProbeUnary::Tanh, kInf, 1.0f},      {ProbeUnary::Tanh, -kInf, -1.0f},    {ProbeUnary::Tanh, kNaN, kNaN},
      {ProbeUnary::Tanh, 0.0f, 0.0f},      {ProbeUnary::Tanh, -0.0f, -0.0f},    {ProbeUnary::Tanh, 50.0f, 1.0f},
      {ProbeUnary::Tanh, -50.0f, -1.0f},   {ProbeUnary::Tanh, -tiny, -tiny},    {ProbeUnary::Erf, kInf, 1.0f},
      {ProbeUnary::Erf, -kInf, -1.0f},     {ProbeUnary::Erf, kNaN, kNaN},       {ProbeUnary::Erf, 0.0f, 0.0f},
      {ProbeUnary::Erf, -0.0f, -0.0f},     {ProbeUnary::Erf, 10.0f, 1.0f},      {ProbeUnary::Erf, -10.0f, -1.0f},
  };
  for (const Probe& p : probes()) {
    for (const Expect& c : cases) {
      // the value in every lane position: a vector full of it, and one lane of it among ordinary values
      const int n = 3 * p.size_f32() + 1;
      for (int lane = 0; lane < n; lane += p.size_f32() - 1) {
        std::vector<float> in(static_cast<size_t>(n), 0.5f), out(static_cast<size_t>(n));
        in[static_cast<size_t>(lane)] = c.x;
        p.unary_f32(static_cast<int>(c.fn), in.data(), out.data(), n);
        EXPECT_TRUE(same(out[static_cast<size_t>(lane)], c.y))
            << p.name() << " fn " << static_cast<int>(c.fn) << "(" << c.x << ") = " << out[static_cast<size_t>(lane)]
            << ", expected " << c.y << " (lane " << lane << ")";
      }
    }
  }
}

// Functions with an exact answer: the same bits as the scalar em_* (NaN: any NaN).
float exact_ref_f32(ProbeUnary fn, float x) {
  namespace s = ember::simd_scalar_fallback;
  switch (fn) {
    case ProbeUnary::Sqrt: return s::em_sqrt(x);
    case ProbeUnary::Rsqrt: return s::em_rsqrt(x);
    case ProbeUnary::Abs: return s::em_abs(x);
    case ProbeUnary::Neg: return s::em_neg(x);
    case ProbeUnary::Sign: return s::em_sign(x);
    case ProbeUnary::Floor: return s::em_floor(x);
    case ProbeUnary::Ceil: return s::em_ceil(x);
    case ProbeUnary::Trunc: return s::em_trunc(x);
    case ProbeUnary::RoundEven: return s::em_round_even(x);
    case ProbeUnary::IsNan: return s::em_isnan(x) ? 1.0f : 0.0f;
    default: return kNaN;
  }
}
double exact_ref_f64(ProbeUnary fn, double x) {
  namespace s = ember::simd_scalar_fallback;
  switch (fn) {
    case ProbeUnary::Sqrt: return s::em_sqrt(x);
    case ProbeUnary::Rsqrt: return s::em_rsqrt(x);
    case ProbeUnary::Abs: return s::em_abs(x);
    case ProbeUnary::Neg: return s::em_neg(x);
    case ProbeUnary::Sign: return s::em_sign(x);
    case ProbeUnary::Floor: return s::em_floor(x);
    case ProbeUnary::Ceil: return s::em_ceil(x);
    case ProbeUnary::Trunc: return s::em_trunc(x);
    case ProbeUnary::RoundEven: return s::em_round_even(x);
    case ProbeUnary::IsNan: return s::em_isnan(x) ? 1.0 : 0.0;
    case ProbeUnary::Exp: return s::em_exp(x);
    case ProbeUnary::Log: return s::em_log(x);
    case ProbeUnary::Log1p: return s::em_log1p(x);
    case ProbeUnary::Expm1: return s::em_expm1(x);
    case ProbeUnary::Sin: return s::em_sin(x);
    case ProbeUnary::Cos: return s::em_cos(x);
    case ProbeUnary::Tan: return s::em_tan(x);
    case ProbeUnary::Tanh: return s::em_tanh(x);
    case ProbeUnary::Erf: return s::em_erf(x);
    case ProbeUnary::Count: break;
  }
  return NAN;
}

const ProbeUnary kExactUnary[] = {ProbeUnary::Sqrt,  ProbeUnary::Rsqrt, ProbeUnary::Abs,   ProbeUnary::Neg,
                                  ProbeUnary::Sign,  ProbeUnary::Floor, ProbeUnary::Ceil,  ProbeUnary::Trunc,
                                  ProbeUnary::RoundEven, ProbeUnary::IsNan};

TEST(SimdExact, UnaryFloat) {
  const std::vector<float> in = inputs_for(ProbeUnary::Floor);
  for (ProbeUnary fn : kExactUnary) {
    std::vector<float> ref(in.size());
    for (size_t i = 0; i < in.size(); ++i) ref[i] = exact_ref_f32(fn, in[i]);
    for (const Probe& p : probes()) {
      std::vector<float> out(in.size());
      p.unary_f32(static_cast<int>(fn), in.data(), out.data(), static_cast<int64_t>(in.size()));
      int bad = 0;
      for (size_t i = 0; i < in.size() && bad < 5; ++i) {
        if (!same(out[i], ref[i])) {
          ++bad;
          ADD_FAILURE() << p.name() << " fn " << static_cast<int>(fn) << "(" << in[i] << " = 0x" << std::hex
                        << fbits(in[i]) << std::dec << ") = " << out[i] << ", scalar gives " << ref[i];
        }
      }
    }
  }
}

std::vector<double> double_inputs() {
  std::mt19937_64 rng(99);
  std::vector<double> v;
  for (float f : special_floats()) v.push_back(f);
  const double more[] = {0x1p52, 0x1p52 - 0.5, 0x1p52 + 1, 0x1p53, 0x1p51 + 0.5, 4503599627370495.5, 0.49999999999999994,
                         2.5, -2.5, 0.5, -0.5, 1e300, 1e-300, 4.9e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                         709.7, 709.8, -745.2, -745.1, 1e6 + 0.5, 123456789.5};
  for (double d : more) {
    v.push_back(d);
    v.push_back(-d);
    v.push_back(std::nextafter(d, 0.0));
    v.push_back(std::nextafter(d, INFINITY));
  }
  for (int k = -2000; k <= 2000; ++k) v.push_back(k * 0.5);
  std::uniform_real_distribution<double> u(-50, 50);
  for (int i = 0; i < 100000; ++i) v.push_back(u(rng));
  for (int i = 0; i < 100000; ++i) v.push_back(bitsd(rng()));  // any bit pattern
  std::uniform_int_distribution<int> e(-60, 60);
  for (int i = 0; i < 100000; ++i) v.push_back(std::ldexp(u(rng), e(rng)));
  return v;
}

// Vec<double>: exact functions and the lane-wise transcendentals are bit-identical to the scalar ones.
TEST(SimdExact, UnaryDouble) {
  const std::vector<double> in = double_inputs();
  for (int f = 0; f < static_cast<int>(ProbeUnary::Count); ++f) {
    const ProbeUnary fn = static_cast<ProbeUnary>(f);
    std::vector<double> ref(in.size());
    for (size_t i = 0; i < in.size(); ++i) ref[i] = exact_ref_f64(fn, in[i]);
    for (const Probe& p : probes()) {
      std::vector<double> out(in.size());
      p.unary_f64(f, in.data(), out.data(), static_cast<int64_t>(in.size()));
      int bad = 0;
      for (size_t i = 0; i < in.size() && bad < 5; ++i) {
        if (!same(out[i], ref[i])) {
          ++bad;
          ADD_FAILURE() << p.name() << " f64 fn " << f << "(" << in[i] << ") = " << out[i] << ", scalar gives " << ref[i];
        }
      }
    }
  }
}

template <class T> T binary_ref(ProbeBinary fn, T a, T b) {
  namespace s = ember::simd_scalar_fallback;
  switch (fn) {
    case ProbeBinary::Add: return s::em_add(a, b);
    case ProbeBinary::Sub: return s::em_sub(a, b);
    case ProbeBinary::Mul: return s::em_mul(a, b);
    case ProbeBinary::Div: return a / b;
    case ProbeBinary::Max: return s::em_max(a, b);
    case ProbeBinary::Min: return s::em_min(a, b);
    case ProbeBinary::Atan2: return s::em_atan2(a, b);
    case ProbeBinary::Pow: return s::em_pow(a, b);
    case ProbeBinary::FloorDiv: return s::em_floor_div(a, b);
    case ProbeBinary::Remainder: return s::em_remainder(a, b);
    case ProbeBinary::Eq: return a == b ? T(1) : T(0);
    case ProbeBinary::Ne: return a != b ? T(1) : T(0);
    case ProbeBinary::Lt: return a < b ? T(1) : T(0);
    case ProbeBinary::Le: return a <= b ? T(1) : T(0);
    case ProbeBinary::Gt: return a > b ? T(1) : T(0);
    case ProbeBinary::Ge: return a >= b ? T(1) : T(0);
    case ProbeBinary::Select: return a < b ? a : b;
    case ProbeBinary::Count: break;
  }
  return T(0);
}

template <class T> void check_binary(const std::vector<T>& a, const std::vector<T>& b) {
  for (int f = 0; f < static_cast<int>(ProbeBinary::Count); ++f) {
    const ProbeBinary fn = static_cast<ProbeBinary>(f);
    std::vector<T> ref(a.size());
    for (size_t i = 0; i < a.size(); ++i) ref[i] = binary_ref(fn, a[i], b[i]);
    for (const Probe& p : probes()) {
      std::vector<T> out(a.size());
      if constexpr (sizeof(T) == 4) p.binary_f32(f, a.data(), b.data(), out.data(), static_cast<int64_t>(a.size()));
      else p.binary_f64(f, a.data(), b.data(), out.data(), static_cast<int64_t>(a.size()));
      int bad = 0;
      for (size_t i = 0; i < a.size() && bad < 5; ++i) {
        // max / min: the NaN operand itself comes back, like the scalar functions
        const bool bits = (fn == ProbeBinary::Max || fn == ProbeBinary::Min) && std::isnan(ref[i]);
        const bool ok = bits ? (std::memcmp(&out[i], &ref[i], sizeof(T)) == 0 || std::isnan(out[i])) : same(out[i], ref[i]);
        if (!ok) {
          ++bad;
          ADD_FAILURE() << p.name() << " binary fn " << f << " (" << sizeof(T) * 8 << " bit)(" << a[i] << ", " << b[i]
                        << ") = " << out[i] << ", scalar gives " << ref[i];
        }
      }
    }
  }
}

TEST(SimdExact, BinaryFloat) {
  std::vector<float> sp = special_floats();
  sp.push_back(3.0f);
  sp.push_back(-7.0f);
  std::vector<float> a, b;
  for (float x : sp)
    for (float y : sp) {
      a.push_back(x);
      b.push_back(y);
    }
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-100, 100);
  for (int i = 0; i < 200000; ++i) {
    a.push_back(u(rng));
    b.push_back(i % 7 == 0 ? a.back() : u(rng));
  }
  check_binary(a, b);
}

TEST(SimdExact, BinaryDouble) {
  std::vector<double> sp;
  for (float f : special_floats()) sp.push_back(f);
  std::vector<double> a, b;
  for (double x : sp)
    for (double y : sp) {
      a.push_back(x);
      b.push_back(y);
    }
  std::mt19937 rng(6);
  std::uniform_real_distribution<double> u(-100, 100);
  for (int i = 0; i < 100000; ++i) {
    a.push_back(u(rng));
    b.push_back(i % 7 == 0 ? a.back() : u(rng));
  }
  check_binary(a, b);
}

TEST(SimdExact, Fma) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-10, 10);
  const size_t n = 100003;
  std::vector<float> a(n), b(n), c(n), out(n);
  std::vector<double> ad(n), bd(n), cd(n), outd(n);
  for (size_t i = 0; i < n; ++i) {
    a[i] = u(rng);
    b[i] = u(rng);
    c[i] = -a[i] * b[i] * (i % 3 == 0 ? 1.0f : 0.999f);  // cancellation shows whether the product was rounded
    ad[i] = static_cast<double>(a[i]) * (1 + 1e-9 * static_cast<double>(i));
    bd[i] = b[i];
    cd[i] = -ad[i] * bd[i];
  }
  for (const Probe& p : probes()) {
    p.fma_f32(a.data(), b.data(), c.data(), out.data(), static_cast<int64_t>(n));
    p.fma_f64(ad.data(), bd.data(), cd.data(), outd.data(), static_cast<int64_t>(n));
    int bad = 0;
    for (size_t i = 0; i < n && bad < 5; ++i) {
      const float want = p.fused_fma() ? std::fma(a[i], b[i], c[i]) : a[i] * b[i] + c[i];
      const double wantd = p.fused_fma() ? std::fma(ad[i], bd[i], cd[i]) : ad[i] * bd[i] + cd[i];
      if (!same(out[i], want) || !same(outd[i], wantd)) {
        ++bad;
        ADD_FAILURE() << p.name() << " fma(" << a[i] << ", " << b[i] << ", " << c[i] << ") = " << out[i] << " want "
                      << want << " (fused: " << p.fused_fma() << "); f64 " << outd[i] << " want " << wantd;
      }
    }
  }
}

template <class T> void check_reductions(const Probe& p) {
  const int n = sizeof(T) == 4 ? p.size_f32() : p.size_f64();
  std::mt19937 rng(11);
  std::uniform_real_distribution<T> u(-1000, 1000);
  auto tree = [n](std::vector<T> x, auto combine) {
    for (int h = n / 2; h > 0; h /= 2)
      for (int i = 0; i < h; ++i) x[static_cast<size_t>(i)] = combine(x[static_cast<size_t>(i)], x[static_cast<size_t>(i + h)]);
    return x[0];
  };
  namespace s = ember::simd_scalar_fallback;
  auto reduce = [&](int fn, const std::vector<T>& x) {
    if constexpr (sizeof(T) == 4) return p.reduce_f32(fn, x.data());
    else return p.reduce_f64(fn, x.data());
  };
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<T> x(static_cast<size_t>(n));
    for (T& v : x) v = u(rng);
    if (trial % 5 == 1) x[static_cast<size_t>(trial % n)] = std::numeric_limits<T>::quiet_NaN();
    if (trial % 5 == 2) x[static_cast<size_t>(trial % n)] = std::numeric_limits<T>::infinity();
    if (trial % 5 == 3) x[static_cast<size_t>((trial / 5) % n)] = -std::numeric_limits<T>::infinity();
    if (trial % 13 == 4) std::fill(x.begin(), x.end(), T(-0.0));
    const T sum = tree(x, [](T a, T b) { return a + b; });
    const T mx = tree(x, [](T a, T b) { return s::em_max(a, b); });
    const T mn = tree(x, [](T a, T b) { return s::em_min(a, b); });
    const bool has_nan = std::any_of(x.begin(), x.end(), [](T v) { return std::isnan(v); });
    EXPECT_TRUE(same(reduce(static_cast<int>(ProbeReduce::Add), x), sum)) << p.name();
    EXPECT_TRUE(same(reduce(static_cast<int>(ProbeReduce::Max), x), mx)) << p.name();
    EXPECT_TRUE(same(reduce(static_cast<int>(ProbeReduce::Min), x), mn)) << p.name();
    EXPECT_EQ(std::isnan(reduce(static_cast<int>(ProbeReduce::Max), x)), has_nan) << p.name();
    EXPECT_EQ(std::isnan(reduce(static_cast<int>(ProbeReduce::Min), x)), has_nan) << p.name();
    if (!has_nan) {
      EXPECT_EQ(reduce(static_cast<int>(ProbeReduce::Max), x), *std::max_element(x.begin(), x.end())) << p.name();
      EXPECT_EQ(reduce(static_cast<int>(ProbeReduce::Min), x), *std::min_element(x.begin(), x.end())) << p.name();
    }
  }
}

TEST(SimdReduce, AddMaxMinNaN) {
  for (const Probe& p : probes()) {
    check_reductions<float>(p);
    check_reductions<double>(p);
  }
}

template <class T> void check_masks(const Probe& p) {
  const int n = sizeof(T) == 4 ? p.size_f32() : p.size_f64();
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> u(0, 3);
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<T> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      a[static_cast<size_t>(i)] = static_cast<T>(u(rng));
      b[static_cast<size_t>(i)] = trial % 3 == 0 ? T(1.5) : static_cast<T>(u(rng));
      if (u(rng) == 0 && trial % 4 == 0) a[static_cast<size_t>(i)] = std::numeric_limits<T>::quiet_NaN();
    }
    bool any_lt = false, all_lt = true, any_nlt = false, all_lt_or_ge = true, any_lt_and_gt = false, all_xor = true,
         any_m = false;
    for (int i = 0; i < n; ++i) {
      const T x = a[static_cast<size_t>(i)], y = b[static_cast<size_t>(i)];
      const bool lt = x < y, ge = x >= y, gt = x > y;
      any_lt |= lt;
      all_lt &= lt;
      any_nlt |= !lt;
      all_lt_or_ge &= lt || ge;
      any_lt_and_gt |= lt && gt;
      all_xor &= lt != ge;
      any_m |= ((lt || ge) && !gt) != lt;
    }
    const int want = any_lt << 0 | all_lt << 1 | any_nlt << 2 | all_lt_or_ge << 3 | any_lt_and_gt << 4 | all_xor << 5 |
                     any_lt << 6 | all_lt << 7 | any_m << 8;
    int got;
    if constexpr (sizeof(T) == 4) got = p.mask_bits_f32(a.data(), b.data());
    else got = p.mask_bits_f64(a.data(), b.data());
    ASSERT_EQ(got, want) << p.name() << " trial " << trial;
  }
}

TEST(SimdBasics, Masks) {
  for (const Probe& p : probes()) {
    check_masks<float>(p);
    check_masks<double>(p);
  }
}

// A buffer whose last usable byte sits right before an inaccessible page (where the platform allows),
// so that reading or writing past the end crashes the test instead of passing silently.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t bytes) {
#if defined(EMBER_TEST_GUARD_PAGES)
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    total_ = (bytes + page_ - 1) / page_ * page_ + page_;
    void* m = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(m);
    if (mprotect(base_ + total_ - page_, page_, PROT_NONE) != 0) std::abort();
    end_ = base_ + total_ - page_;
#else
    store_.resize(bytes + 64);
    base_ = store_.data();
    end_ = base_ + bytes;
#endif
  }
  ~GuardedBuffer() {
#if defined(EMBER_TEST_GUARD_PAGES)
    munmap(base_, total_);
#endif
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  // `count` elements ending exactly at the guard.
  template <class T> T* tail(size_t count) { return reinterpret_cast<T*>(end_ - count * sizeof(T)); }

 private:
  char* base_ = nullptr;
  char* end_ = nullptr;
  size_t page_ = 0, total_ = 0;
  std::vector<char> store_;
};

template <class T> void check_partial(const Probe& p) {
  const int size = sizeof(T) == 4 ? p.size_f32() : p.size_f64();
  const T guard = T(-12345.25);
  GuardedBuffer inbuf(4096), outbuf(4096);
  // direct: load_partial / store_partial with n in 0..size
  for (int n = 0; n <= size; ++n) {
    T* in = inbuf.tail<T>(static_cast<size_t>(n));
    T* out = outbuf.tail<T>(static_cast<size_t>(size) + 1);  // out[0..n) written, guard values after
    for (int i = 0; i < n; ++i) in[i] = static_cast<T>(i + 1);
    for (int i = 0; i <= size; ++i) out[i] = guard;
    if constexpr (sizeof(T) == 4) p.partial_direct_f32(in, out, n);
    else p.partial_direct_f64(in, out, n);
    for (int i = 0; i < n; ++i) EXPECT_EQ(out[i], static_cast<T>(i + 1)) << p.name() << " n " << n;
    for (int i = n; i <= size; ++i) EXPECT_EQ(out[i], guard) << p.name() << " n " << n << ": wrote lane " << i;
    // at the guard page: store_partial must not touch p[n]
    T* out_tail = outbuf.tail<T>(static_cast<size_t>(n));
    if constexpr (sizeof(T) == 4) p.partial_direct_f32(in, out_tail, n);
    else p.partial_direct_f64(in, out_tail, n);
    std::vector<T> lanes(static_cast<size_t>(size), guard);
    if constexpr (sizeof(T) == 4) p.partial_lanes_f32(in, lanes.data(), n);
    else p.partial_lanes_f64(in, lanes.data(), n);
    for (int i = 0; i < size; ++i) {
      const T want = i < n ? static_cast<T>(i + 1) : T(0);
      EXPECT_TRUE(same(lanes[static_cast<size_t>(i)], want)) << p.name() << " n " << n << " lane " << i;
    }
  }
  // array loops of every length 0 .. 3*size+1, ending at the guard page
  for (int n = 0; n <= 3 * size + 1; ++n) {
    T* in = inbuf.tail<T>(static_cast<size_t>(n));
    T* out = outbuf.tail<T>(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) in[i] = static_cast<T>(i) - T(2.5);
    if constexpr (sizeof(T) == 4) p.unary_f32(static_cast<int>(ProbeUnary::Abs), in, out, n);
    else p.unary_f64(static_cast<int>(ProbeUnary::Abs), in, out, n);
    for (int i = 0; i < n; ++i) EXPECT_EQ(out[i], std::fabs(static_cast<T>(i) - T(2.5))) << p.name() << " n " << n;
  }
}

TEST(SimdLoadStore, PartialNeverTouchesPastN) {
  for (const Probe& p : probes()) {
    check_partial<float>(p);
    check_partial<double>(p);
  }
}

TEST(SimdHalf, F16ToF32AllPatterns) {
  std::vector<uint16_t> in(65536);
  for (uint32_t i = 0; i < 65536; ++i) in[i] = static_cast<uint16_t>(i);
  for (const Probe& p : probes()) {
    std::vector<float> out(in.size()), outb(in.size());
    p.f16_to_f32(in.data(), out.data(), static_cast<int64_t>(in.size()));
    p.bf16_to_f32(in.data(), outb.data(), static_cast<int64_t>(in.size()));
    int bad = 0;
    for (uint32_t i = 0; i < 65536 && bad < 5; ++i) {
      if (fbits(out[i]) != fbits(ember::half_bits_to_float(in[i]))) {
        ++bad;
        ADD_FAILURE() << p.name() << " f16 0x" << std::hex << i << " -> 0x" << fbits(out[i]) << ", half.h gives 0x"
                      << fbits(ember::half_bits_to_float(in[i]));
      }
      if (fbits(outb[i]) != fbits(ember::bf16_bits_to_float(in[i]))) {
        ++bad;
        ADD_FAILURE() << p.name() << " bf16 0x" << std::hex << i << " -> 0x" << fbits(outb[i]);
      }
    }
  }
}

// float -> f16 / bf16 over every 101st float bit pattern (101 is odd, so every residue of the low 13
// and 16 bits, which decide the rounding, is covered) plus the patterns around each rounding boundary.
TEST(SimdHalf, F32ToHalfSweep) {
  std::vector<float> extra = special_floats();
  for (uint32_t e = 0; e < 256; ++e)
    for (uint32_t low : {0x0fffu, 0x1000u, 0x1001u, 0x2fffu, 0x3000u, 0x3001u, 0x7fffu, 0x8000u, 0x8001u, 0x17fffu,
                         0x18000u, 0x18001u, 0x7fffffu})
      for (uint32_t s : {0u, 0x80000000u}) extra.push_back(bitsf(s | e << 23 | low));
  const size_t chunk = 1 << 20;
  std::vector<float> in;
  in.reserve(chunk);
  std::vector<uint16_t> h(chunk), b(chunk);
  for (const Probe& p : probes()) {
    int bad = 0;
    auto run = [&](const std::vector<float>& x) {
      p.f32_to_f16(x.data(), h.data(), static_cast<int64_t>(x.size()));
      p.f32_to_bf16(x.data(), b.data(), static_cast<int64_t>(x.size()));
      for (size_t i = 0; i < x.size() && bad < 5; ++i) {
        if (h[i] != ember::float_to_half_bits(x[i])) {
          ++bad;
          ADD_FAILURE() << p.name() << " f32 0x" << std::hex << fbits(x[i]) << " -> f16 0x" << h[i] << ", half.h 0x"
                        << ember::float_to_half_bits(x[i]);
        }
        if (b[i] != ember::float_to_bf16_bits(x[i])) {
          ++bad;
          ADD_FAILURE() << p.name() << " f32 0x" << std::hex << fbits(x[i]) << " -> bf16 0x" << b[i] << ", half.h 0x"
                        << ember::float_to_bf16_bits(x[i]);
        }
      }
    };
    run(extra);
    in.clear();
    for (uint64_t bits = 0; bits < (1ull << 32); bits += 101) {
      in.push_back(bitsf(static_cast<uint32_t>(bits)));
      if (in.size() == chunk) {
        run(in);
        in.clear();
      }
    }
    run(in);
  }
}

TEST(SimdHalf, PartialNeverTouchesPastN) {
  GuardedBuffer inbuf(4096), outbuf(4096);
  for (const Probe& p : probes()) {
    const int size = p.size_f32();
    for (int bf = 0; bf < 2; ++bf) {
      for (int n = 0; n <= size; ++n) {
        uint16_t* in = inbuf.tail<uint16_t>(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) in[i] = static_cast<uint16_t>(0x3c00 + 0x100 * i);  // 1, 1.25, ... / bf16 bits
        std::vector<float> lanes(static_cast<size_t>(size), 7.0f);
        uint16_t* out = outbuf.tail<uint16_t>(static_cast<size_t>(n));
        p.half_partial_direct(bf, in, lanes.data(), out, n);
        for (int i = 0; i < size; ++i) {
          const float want = i < n ? (bf ? ember::bf16_bits_to_float(in[i]) : ember::half_bits_to_float(in[i])) : 0.0f;
          EXPECT_TRUE(same(lanes[static_cast<size_t>(i)], want)) << p.name() << " bf16 " << bf << " n " << n << " lane " << i;
        }
        for (int i = 0; i < n; ++i) EXPECT_EQ(out[i], in[i]) << p.name() << " bf16 " << bf << " n " << n;
      }
      // array conversions of every length ending at the guard page
      for (int n = 0; n <= 3 * size + 1; ++n) {
        uint16_t* in = inbuf.tail<uint16_t>(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) in[i] = static_cast<uint16_t>(0x3c00 + 17 * i);
        float* f = outbuf.tail<float>(static_cast<size_t>(n));
        if (bf) p.bf16_to_f32(in, f, n);
        else p.f16_to_f32(in, f, n);
        for (int i = 0; i < n; ++i)
          EXPECT_EQ(fbits(f[i]), fbits(bf ? ember::bf16_bits_to_float(in[i]) : ember::half_bits_to_float(in[i])));
        std::vector<float> src(f, f + n);
        float* fin = inbuf.tail<float>(static_cast<size_t>(n));
        std::copy(src.begin(), src.end(), fin);
        uint16_t* back = outbuf.tail<uint16_t>(static_cast<size_t>(n));
        if (bf) p.f32_to_bf16(fin, back, n);
        else p.f32_to_f16(fin, back, n);
        for (int i = 0; i < n; ++i) EXPECT_EQ(back[i], static_cast<uint16_t>(0x3c00 + 17 * i)) << p.name() << " n " << n;
      }
    }
  }
}

// elementwise_ops.h functors instantiated with Vec<float> agree with their scalar instantiation.
TEST(SimdFunctors, MatchScalar) {
  namespace fn = ember::simd_scalar_fallback::fn;
  std::vector<float> in = special_floats();
  std::mt19937 rng(3);
  add_random(in, rng, -30.0f, 30.0f, 100000);
  add_random(in, rng, -3.0f, 3.0f, 100000);
  auto scalar = [](ProbeFunctor f, float x) -> float {
    switch (f) {
      case ProbeFunctor::Sigmoid: return fn::Sigmoid{}(x);
      case ProbeFunctor::Gelu: return fn::Gelu{}(x);
      case ProbeFunctor::GeluTanh: return fn::GeluTanh{}(x);
      case ProbeFunctor::Silu: return fn::Silu{}(x);
      case ProbeFunctor::Softplus: return fn::Softplus{}(x);
      case ProbeFunctor::Relu: return fn::Relu{}(x);
      case ProbeFunctor::Square: return fn::Square{}(x);
      case ProbeFunctor::Reciprocal: return fn::Reciprocal{}(x);
      case ProbeFunctor::Count: break;
    }
    return 0.0f;
  };
  for (const Probe& p : probes()) {
    for (int f = 0; f < static_cast<int>(ProbeFunctor::Count); ++f) {
      std::vector<float> out(in.size());
      p.functor_f32(f, in.data(), out.data(), static_cast<int64_t>(in.size()));
      int bad = 0;
      for (size_t i = 0; i < in.size() && bad < 5; ++i) {
        const float want = scalar(static_cast<ProbeFunctor>(f), in[i]);
        const bool exact = f == static_cast<int>(ProbeFunctor::Relu) || f == static_cast<int>(ProbeFunctor::Square) ||
                           f == static_cast<int>(ProbeFunctor::Reciprocal);
        bool ok;
        if (std::isnan(want) || std::isinf(want) || exact) {
          ok = same(out[i], want);
        } else {
          // a few ulps, plus the cancellation the formulas themselves have (gelu at large negative x)
          ok = std::fabs(static_cast<double>(out[i]) - want) <=
               8 * float_ulp(want) + 1.2e-7 * std::fabs(static_cast<double>(in[i]));
        }
        if (!ok) {
          ++bad;
          ADD_FAILURE() << p.name() << " functor " << f << "(" << in[i] << ") = " << out[i] << ", scalar " << want;
        }
      }
    }
  }
}

TEST(SimdShuffle, SwapPairs) {
  for (const Probe& p : probes()) {
    float in[16], out[16];
    for (int i = 0; i < 16; ++i) in[i] = static_cast<float>(i) + 0.5f;
    p.swap_pairs_f32(in, out);
    for (int i = 0; i < p.size_f32(); ++i) EXPECT_EQ(out[i], in[i ^ 1]) << p.name() << " lane " << i;
  }
}

// Timings, run on demand: ember_tests --gtest_filter='*SimdBench*' --gtest_also_run_disabled_tests
TEST(DISABLED_SimdBench, Transcendentals) {
  const int64_t n = 4096;
  std::vector<float> in(n), out(n);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-10, 10);
  for (float& x : in) x = u(rng);
  const std::pair<ProbeUnary, const char*> fns[] = {{ProbeUnary::Exp, "exp"},   {ProbeUnary::Tanh, "tanh"},
                                                    {ProbeUnary::Erf, "erf"},   {ProbeUnary::Log, "log"},
                                                    {ProbeUnary::Sin, "sin"},   {ProbeUnary::Expm1, "expm1"},
                                                    {ProbeUnary::Log1p, "log1p"}};
  for (const auto& [fn, name] : fns) {
    std::vector<float> pos(in);
    if (fn == ProbeUnary::Log || fn == ProbeUnary::Log1p)
      for (float& x : pos) x = std::fabs(x) + 0.01f;
    for (const Probe& p : probes()) {
      double best = 1e30;
      for (int rep = 0; rep < 20; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < 50; ++k) p.unary_f32(static_cast<int>(fn), pos.data(), out.data(), n);
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, ns / (50.0 * n));
      }
      std::printf("[ SIMD     ] %-6s %-18s %.3f ns/element\n", name, p.name().c_str(), best);
    }
    double best = 1e30;
    for (int rep = 0; rep < 20; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int k = 0; k < 10; ++k)
        for (int64_t i = 0; i < n; ++i) {
          const float x = pos[static_cast<size_t>(i)];
          out[static_cast<size_t>(i)] = fn == ProbeUnary::Exp ? std::exp(x) : fn == ProbeUnary::Tanh ? std::tanh(x)
                                        : fn == ProbeUnary::Erf ? std::erf(x) : fn == ProbeUnary::Log ? std::log(x)
                                        : fn == ProbeUnary::Sin ? std::sin(x) : fn == ProbeUnary::Expm1 ? std::expm1(x)
                                        : std::log1p(x);
        }
      const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, ns / (10.0 * n));
    }
    std::printf("[ SIMD     ] %-6s %-18s %.3f ns/element\n", name, "libm (scalar)", best);
  }
}

}  // namespace
