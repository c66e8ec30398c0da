// The K-quant (Q2_K..Q6_K) and IQ4_XS integer dot products with Q8_K activations
// (cpu/kernels/quant_dot_kquants*.cpp), on every SIMD level this CPU runs, called directly through
// each level's kquant_qdot_kernel (tests/cpp/isa/kquant_probe.cpp) and through kernels_for(isa).qmatmul.
//
// Weights are random valid raw blocks (random bytes, f16 d / dmin set to moderate values) and
// activations random Q8_K blocks (quants in [-127, 127], the Q8_K quantizer's range, with consistent
// bsums), so nothing depends on the reference quantizers. Every dot product is compared with
//   - a float64 reference from this file's own dequantization of both operands (element-wise formulas
//     written from ggml's dequantize_row_*, independent of the kernels' unpacking);
//   - the baseline level's result.
// Tolerance: per super-block the integer sums are exact; the kernels then round d * y.d, the int32 ->
// float conversion and the product (a few ulps), and add nb = K / 256 block values (in one float, or in
// 8 lanes summed at the end). So the error is at most ~(nb + 8) * 2^-24 * sum_k (|a_k| + |b_k|) |y_k|,
// where the weight is w_k = a_k - b_k (b_k the dmin * min part) and y_k the activation: the bound is
// taken on the magnitudes before the mins cancel. We allow twice that; levels are compared with each
// other at 4x. A test with unit scales and small quants (every float operation exact) checks that the
// integer parts agree exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "cpu/cpu_features.h"
#include "cpu/kernel_table.h"
#include "cpu/quant_args.h"
#include "cpu/thread_pool.h"
#include "quant/blocks.h"

#define EMBER_KQUANT_PROBE_DECLARATIONS                                                                          \
  using KQuantDotFn = void (*)(int64_t k, const void* w, int64_t w_stride, int nw, const void* x,                \
                               int64_t x_stride, int nx, float* out, int64_t out_stride);                        \
  using KQuantQuantizeFn = void (*)(const float* x, void* blocks, int64_t k);                                   \
  bool kquant_probe(int type, KQuantDotFn* dot, KQuantQuantizeFn* quantize, int* activation_type, int* max_nw, \
                    int* max_nx);

namespace ember::test {
namespace baseline {
EMBER_KQUANT_PROBE_DECLARATIONS
}
#if defined(EMBER_HAVE_ISA_AVX2)
namespace avx2 {
EMBER_KQUANT_PROBE_DECLARATIONS
}
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
namespace avx512 {
EMBER_KQUANT_PROBE_DECLARATIONS
}
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
namespace dotprod {
EMBER_KQUANT_PROBE_DECLARATIONS
}
#endif
}  // namespace ember::test

namespace {

using ember::cpu::Isa;
using ember::quant::QType;
namespace q = ember::quant;
using DotFn = ember::test::baseline::KQuantDotFn;
using QuantizeFn = ember::test::baseline::KQuantQuantizeFn;

struct Kernel {
  Isa isa;
  DotFn dot = nullptr;
  QuantizeFn quantize = nullptr;
  int activation_type = 0, max_nw = 1, max_nx = 1;
};

// The kernel of `type` on each runnable level, baseline first.
std::vector<Kernel> kernels_of(QType type) {
  std::vector<Kernel> out;
  for (Isa isa : ember::cpu::runnable_isas()) {
    Kernel k{isa};
    bool ok = false;
    const int t = static_cast<int>(type);
    switch (isa) {
#define EMBER_PROBE(ns) ok = ember::test::ns::kquant_probe(t, &k.dot, &k.quantize, &k.activation_type, &k.max_nw, &k.max_nx)
#if defined(EMBER_HAVE_ISA_AVX2)
      case Isa::Avx2: EMBER_PROBE(avx2); break;
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
      case Isa::Avx512: EMBER_PROBE(avx512); break;
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
      case Isa::Dotprod: EMBER_PROBE(dotprod); break;
#endif
      default: EMBER_PROBE(baseline); break;
#undef EMBER_PROBE
    }
    EXPECT_TRUE(ok) << "no kernel for type " << t << " on " << ember::cpu::isa_name(isa);
    if (ok) out.push_back(k);
  }
  return out;
}

constexpr QType kTypes[] = {QType::Q2_K, QType::Q3_K, QType::Q4_K, QType::Q5_K, QType::Q6_K, QType::IQ4_XS};

const char* type_name(QType t) {
  switch (t) {
    case QType::Q2_K: return "q2_K";
    case QType::Q3_K: return "q3_K";
    case QType::Q4_K: return "q4_K";
    case QType::Q5_K: return "q5_K";
    case QType::Q6_K: return "q6_K";
    default: return "iq4_xs";
  }
}

int64_t block_bytes(QType t) {
  switch (t) {
    case QType::Q2_K: return sizeof(q::block_q2_K);
    case QType::Q3_K: return sizeof(q::block_q3_K);
    case QType::Q4_K: return sizeof(q::block_q4_K);
    case QType::Q5_K: return sizeof(q::block_q5_K);
    case QType::Q6_K: return sizeof(q::block_q6_K);
    default: return sizeof(q::block_iq4_xs);
  }
}

float h2f(uint16_t h) { return ember::half_bits_to_float(h); }
uint16_t f2h(float f) { return ember::float_to_half_bits(f); }

// ---- test-local dequantization: w[e] = a[e] - b[e] (b: the dmin * min part) ------------------------
template <class B>
const B& as(const unsigned char* p) {
  return *reinterpret_cast<const B*>(p);
}

void dequantize_block(QType t, const unsigned char* p, double* a, double* b) {
  for (int e = 0; e < 256; ++e) b[e] = 0;
  if (t == QType::Q2_K) {
    const auto& x = as<q::block_q2_K>(p);
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, j = (e % 128) / 32, l = e % 32, s = e / 16;
      const int qv = (x.qs[32 * h + l] >> (2 * j)) & 3;
      a[e] = static_cast<double>(h2f(x.d)) * (x.scales[s] & 15) * qv;
      b[e] = static_cast<double>(h2f(x.dmin)) * (x.scales[s] >> 4);
    }
  } else if (t == QType::Q3_K) {
    const auto& x = as<q::block_q3_K>(p);
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, j = (e % 128) / 32, l = e % 32, s = e / 16;
      const int qv = ((x.qs[32 * h + l] >> (2 * j)) & 3) - (((x.hmask[l] >> (4 * h + j)) & 1) ? 0 : 4);
      const int low = s < 8 ? (x.scales[s] & 15) : (x.scales[s - 8] >> 4);
      const int high = (x.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
      a[e] = static_cast<double>(h2f(x.d)) * ((low | (high << 4)) - 32) * qv;
    }
  } else if (t == QType::Q4_K || t == QType::Q5_K) {
    const bool q5 = t == QType::Q5_K;
    const uint8_t* sc = q5 ? as<q::block_q5_K>(p).scales : as<q::block_q4_K>(p).scales;
    const uint8_t* qs = q5 ? as<q::block_q5_K>(p).qs : as<q::block_q4_K>(p).qs;
    const uint16_t d = q5 ? as<q::block_q5_K>(p).d : as<q::block_q4_K>(p).d;
    const uint16_t dmin = q5 ? as<q::block_q5_K>(p).dmin : as<q::block_q4_K>(p).dmin;
    for (int e = 0; e < 256; ++e) {
      const int c = e / 64, hi = (e % 64) / 32, l = e % 32, sb = e / 32;
      int qv = hi ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 15;
      if (q5) qv += ((as<q::block_q5_K>(p).qh[l] >> (2 * c + hi)) & 1) * 16;
      int s, m;
      if (sb < 4) {
        s = sc[sb] & 63;
        m = sc[sb + 4] & 63;
      } else {
        s = (sc[sb + 4] & 15) | ((sc[sb - 4] >> 6) << 4);
        m = (sc[sb + 4] >> 4) | ((sc[sb] >> 6) << 4);
      }
      a[e] = static_cast<double>(h2f(d)) * s * qv;
      b[e] = static_cast<double>(h2f(dmin)) * m;
    }
  } else if (t == QType::Q6_K) {
    const auto& x = as<q::block_q6_K>(p);
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, g = (e % 128) / 32, l = e % 32;
      const uint8_t lbyte = x.ql[64 * h + (g & 1) * 32 + l];
      const int nib = g < 2 ? lbyte & 15 : lbyte >> 4;
      const int hb = (x.qh[32 * h + l] >> (2 * g)) & 3;
      a[e] = static_cast<double>(h2f(x.d)) * x.scales[e / 16] * ((nib | (hb << 4)) - 32);
    }
  } else {
    const auto& x = as<q::block_iq4_xs>(p);
    for (int e = 0; e < 256; ++e) {
      const int ib = e / 32, j = e % 32;
      const uint8_t byte = x.qs[16 * ib + j % 16];
      const int nib = j < 16 ? byte & 15 : byte >> 4;
      const int ls = ((x.scales_l[ib / 2] >> (4 * (ib % 2))) & 15) | (((x.scales_h >> (2 * ib)) & 3) << 4);
      a[e] = static_cast<double>(h2f(x.d)) * (ls - 32) * q::kIq4nlValues[nib];
    }
  }
}

// ---- random operands ------------------------------------------------------------------------------
enum class Pattern { Random, Extreme, UnitScales };

// Sets d (and dmin) of a block at p.
void set_scales(QType t, unsigned char* p, uint16_t d, uint16_t dmin) {
  switch (t) {
    case QType::Q2_K: reinterpret_cast<q::block_q2_K*>(p)->d = d; reinterpret_cast<q::block_q2_K*>(p)->dmin = dmin; break;
    case QType::Q3_K: reinterpret_cast<q::block_q3_K*>(p)->d = d; break;
    case QType::Q4_K: reinterpret_cast<q::block_q4_K*>(p)->d = d; reinterpret_cast<q::block_q4_K*>(p)->dmin = dmin; break;
    case QType::Q5_K: reinterpret_cast<q::block_q5_K*>(p)->d = d; reinterpret_cast<q::block_q5_K*>(p)->dmin = dmin; break;
    case QType::Q6_K: reinterpret_cast<q::block_q6_K*>(p)->d = d; break;
    default: reinterpret_cast<q::block_iq4_xs*>(p)->d = d; break;
  }
}

// rows weight rows of k elements, row_bytes apart (>= the packed row size).
std::vector<unsigned char> random_weights(QType t, int64_t rows, int64_t k, int64_t row_bytes, Pattern pat,
                                          std::mt19937& rng) {
  // Blocks hold uint16 fields: keep the buffer 16-byte aligned through a vector of wider elements.
  std::vector<unsigned char> w(static_cast<size_t>(rows * row_bytes));
  std::uniform_int_distribution<int> byte(0, 255), coin(0, 1);
  std::uniform_real_distribution<float> mag(0.5f, 2.0f);
  for (auto& v : w) v = static_cast<unsigned char>(pat == Pattern::Extreme ? (coin(rng) ? 0xff : 0x00) : byte(rng));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < k / 256; ++b) {
      unsigned char* p = w.data() + r * row_bytes + b * block_bytes(t);
      if (pat == Pattern::UnitScales) {
        set_scales(t, p, f2h(1.0f), f2h(1.0f));
      } else {
        const float sign = coin(rng) ? 1.0f : -1.0f;
        set_scales(t, p, f2h(sign * mag(rng) * 1e-2f), f2h(mag(rng) * 1e-2f));
      }
    }
  }
  return w;
}

std::vector<unsigned char> random_activations(int64_t rows, int64_t k, int64_t row_bytes, Pattern pat,
                                              std::mt19937& rng) {
  std::vector<unsigned char> x(static_cast<size_t>(rows * row_bytes), 0xcd);
  std::uniform_int_distribution<int> full(-127, 127), small(-3, 3), coin(0, 1);
  std::uniform_real_distribution<float> mag(0.5f, 2.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < k / 256; ++b) {
      q::block_q8_K y;
      y.d = pat == Pattern::UnitScales ? 1.0f : mag(rng) * 1e-2f;
      for (int e = 0; e < 256; ++e) {
        y.qs[e] = static_cast<int8_t>(pat == Pattern::UnitScales ? small(rng)
                                      : pat == Pattern::Extreme  ? (coin(rng) ? 127 : -127)
                                                                 : full(rng));
      }
      for (int s = 0; s < 16; ++s) {
        int sum = 0;
        for (int l = 0; l < 16; ++l) sum += y.qs[16 * s + l];
        y.bsums[s] = static_cast<int16_t>(sum);
      }
      std::memcpy(x.data() + r * row_bytes + b * sizeof(y), &y, sizeof(y));
    }
  }
  return x;
}

// dot and magnitude (sum (|a| + |b|) |y|) of weight row w with Q8_K row x, in float64
void reference_dot(QType t, const unsigned char* w, const unsigned char* x, int64_t k, double* dot, double* mag) {
  double a[256], b[256], s = 0, m = 0;
  for (int64_t blk = 0; blk < k / 256; ++blk) {
    dequantize_block(t, w + blk * block_bytes(t), a, b);
    q::block_q8_K y;
    std::memcpy(&y, x + blk * sizeof(y), sizeof(y));
    for (int e = 0; e < 256; ++e) {
      const double yv = static_cast<double>(y.d) * y.qs[e];
      s += (a[e] - b[e]) * yv;
      m += (std::fabs(a[e]) + std::fabs(b[e])) * std::fabs(yv);
    }
  }
  *dot = s;
  *mag = m;
}

double tolerance(int64_t k, double mag) { return 2.0 * static_cast<double>(k / 256 + 8) * std::ldexp(mag, -24) + 1e-30; }

// Runs the kernel over an NW x NX grid of rows in tiles of at most tw x tx and returns the NW * NX
// results (out[j * NW + i]); checks that the tiles write only their own outputs.
std::vector<float> run_grid(const Kernel& kern, int64_t k, const unsigned char* w, int64_t wrb, int NW,
                            const unsigned char* x, int64_t xrb, int NX, int tw, int tx) {
  const int64_t os = NW + 3;  // padding between output rows must survive
  std::vector<float> out(static_cast<size_t>(NX * os), -7.0f);
  for (int j = 0; j < NX; j += tx) {
    for (int i = 0; i < NW; i += tw) {
      const int cw = std::min(tw, NW - i), cx = std::min(tx, NX - j);
      kern.dot(k, w + i * wrb, wrb, cw, x + j * xrb, xrb, cx, out.data() + j * os + i, os);
    }
  }
  std::vector<float> res(static_cast<size_t>(NW * NX));
  for (int j = 0; j < NX; ++j) {
    for (int64_t i = 0; i < os; ++i) {
      if (i < NW) res[j * NW + i] = out[j * os + i];
      else EXPECT_EQ(out[j * os + i], -7.0f) << "output padding overwritten";
    }
  }
  return res;
}

void check_type(QType t, int64_t K, Pattern pat, std::mt19937& rng) {
  const std::vector<Kernel> kernels = kernels_of(t);
  ASSERT_FALSE(kernels.empty());
  constexpr int NW = 3, NX = 7;
  const int64_t wrb = K / 256 * block_bytes(t) + 6, xrb = K / 256 * 292 + 4;  // padded rows
  const std::vector<unsigned char> w = random_weights(t, NW, K, wrb, pat, rng);
  const std::vector<unsigned char> x = random_activations(NX, K, xrb, pat, rng);
  std::vector<double> ref(NW * NX), mag(NW * NX);
  for (int j = 0; j < NX; ++j)
    for (int i = 0; i < NW; ++i) reference_dot(t, w.data() + i * wrb, x.data() + j * xrb, K, &ref[j * NW + i], &mag[j * NW + i]);

  std::vector<float> baseline;
  for (const Kernel& kern : kernels) {
    EXPECT_EQ(kern.activation_type, static_cast<int>(QType::Q8_K));
    EXPECT_NE(kern.quantize, nullptr);
    ASSERT_GE(kern.max_nw, 1);
    ASSERT_GE(kern.max_nx, 1);
    for (int tw = 1; tw <= kern.max_nw; ++tw) {
      for (int tx = 1; tx <= kern.max_nx; ++tx) {
        const std::vector<float> got = run_grid(kern, K, w.data(), wrb, NW, x.data(), xrb, NX, tw, tx);
        const std::string where = std::string(type_name(t)) + " " + ember::cpu::isa_name(kern.isa) + " K " +
                                  std::to_string(K) + " tile " + std::to_string(tw) + "x" + std::to_string(tx) +
                                  " pattern " + std::to_string(static_cast<int>(pat));
        int failures = 0;
        for (int n = 0; n < NW * NX && failures < 4; ++n) {
          if (pat == Pattern::UnitScales) {
            // every float operation is exact: the integer parts must agree exactly
            if (got[n] != ref[n]) {
              ++failures;
              ADD_FAILURE() << where << " [" << n << "]: got " << got[n] << ", exact " << ref[n];
            }
            continue;
          }
          const double tol = tolerance(K, mag[n]);
          if (!(std::fabs(got[n] - ref[n]) <= tol)) {
            ++failures;
            ADD_FAILURE() << where << " [" << n << "]: got " << got[n] << ", reference " << ref[n] << ", tolerance "
                          << tol;
          }
          if (!baseline.empty() && !(std::fabs(got[n] - baseline[n]) <= 2 * tol)) {
            ++failures;
            ADD_FAILURE() << where << " [" << n << "]: got " << got[n] << ", baseline " << baseline[n];
          }
        }
        if (baseline.empty()) baseline = got;
      }
    }
  }
}

TEST(QuantKQuantKernels, EveryLevelMatchesReferenceAndBaseline) {
  std::mt19937 rng(4242);
  for (QType t : kTypes)
    for (int64_t K : {256, 512, 2816, 4096}) check_type(t, K, Pattern::Random, rng);
}

TEST(QuantKQuantKernels, ExtremeValuesDoNotSaturate) {
  // weight bytes all 0x00 / 0xff (largest quants and scales), activations +-127
  std::mt19937 rng(7);
  for (QType t : kTypes)
    for (int64_t K : {256, 2816}) check_type(t, K, Pattern::Extreme, rng);
}

TEST(QuantKQuantKernels, IntegerPartsExact) {
  // d = dmin = y.d = 1 and quants in [-3, 3]: every partial sum is an integer below 2^24, so each level
  // must return the exact dot product.
  std::mt19937 rng(11);
  for (QType t : kTypes)
    for (int64_t K : {256, 512}) check_type(t, K, Pattern::UnitScales, rng);
}

// The whole table: kernels_for(isa).qmatmul quantizes x with the level's Q8_K quantizer and calls the
// dot kernel in tiles. Reference: the level's own quantization of x, dotted in float64.
TEST(QuantKQuantKernels, ThroughQMatmul) {
  std::mt19937 rng(99);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (QType t : kTypes) {
    const std::vector<Kernel> kernels = kernels_of(t);
    for (int64_t K : {256, 2816}) {
      for (int64_t M : {1, 3, 4, 9}) {
        const int64_t N = 13, wrb = K / 256 * block_bytes(t);
        const std::vector<unsigned char> w = random_weights(t, N, K, wrb, Pattern::Random, rng);
        std::vector<float> x(static_cast<size_t>(M * K));
        for (auto& v : x) v = nd(rng);
        for (const Kernel& kern : kernels) {
          std::vector<unsigned char> xq(static_cast<size_t>(M * (K / 256) * 292));
          for (int64_t m = 0; m < M; ++m) kern.quantize(x.data() + m * K, xq.data() + m * (K / 256) * 292, K);
          std::vector<float> y(static_cast<size_t>(M * N), -7.0f);
          ember::cpu::QMatmulArgs a;
          a.wtype = t;
          a.w = w.data();
          a.w_row_bytes = wrb;
          a.N = N;
          a.K = K;
          a.M = M;
          a.dtype = ember::DType::F32;
          a.x = x.data();
          a.x_row_stride = K;
          a.y = y.data();
          a.y_row_stride = N;
          ember::cpu::kernels_for(kern.isa).qmatmul(a);
          for (int64_t m = 0; m < M; ++m) {
            for (int64_t n = 0; n < N; ++n) {
              double ref, mag;
              reference_dot(t, w.data() + n * wrb, xq.data() + m * (K / 256) * 292, K, &ref, &mag);
              EXPECT_NEAR(y[m * N + n], ref, tolerance(K, mag))
                  << type_name(t) << " " << ember::cpu::isa_name(kern.isa) << " M " << M << " K " << K << " [" << m
                  << ", " << n << "]";
            }
          }
        }
      }
    }
  }
}

// Per-call time of a 4096 x 4096 GEMV (one activation row, weight rows one tile at a time) at one
// thread, per type and level; and the same through qmatmul. Run with --gtest_also_run_disabled_tests.
TEST(QuantKQuantKernels, DISABLED_GemvTiming) {
  std::mt19937 rng(1);
  const int64_t N = 4096, K = 4096;
  const int saved = ember::cpu::num_threads();
  ember::cpu::set_num_threads(1);
  std::vector<float> xf(K), y(N);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& v : xf) v = nd(rng);
  for (QType t : kTypes) {
    const int64_t wrb = K / 256 * block_bytes(t);
    const std::vector<unsigned char> w = random_weights(t, N, K, wrb, Pattern::Random, rng);
    const std::vector<unsigned char> x = random_activations(1, K, K / 256 * 292, Pattern::Random, rng);
    for (const Kernel& kern : kernels_of(t)) {
      auto time_it = [&](auto&& fn) {
        fn();
        double best = 1e30;
        for (int rep = 0; rep < 5; ++rep) {
          const int iters = 5;
          const auto t0 = std::chrono::steady_clock::now();
          for (int it = 0; it < iters; ++it) fn();
          const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iters;
          best = std::min(best, us);
        }
        return best;
      };
      const double dot_us = time_it([&] {
        for (int64_t n = 0; n < N; n += kern.max_nw)
          kern.dot(K, w.data() + n * wrb, wrb, static_cast<int>(std::min<int64_t>(kern.max_nw, N - n)), x.data(), 0, 1,
                   y.data() + n, 0);
      });
      ember::cpu::QMatmulArgs a;
      a.wtype = t;
      a.w = w.data();
      a.w_row_bytes = wrb;
      a.N = N;
      a.K = K;
      a.M = 1;
      a.x = xf.data();
      a.x_row_stride = K;
      a.y = y.data();
      a.y_row_stride = N;
      const double mm_us = time_it([&] { ember::cpu::kernels_for(kern.isa).qmatmul(a); });
      std::printf("%-7s %-9s weights %5.2f MB  dot loop %8.1f us (%5.1f GB/s)  qmatmul M=1 %8.1f us\n", type_name(t),
                  ember::cpu::isa_name(kern.isa), N * wrb / 1e6, dot_us, N * wrb / dot_us / 1e3, mm_us);
    }
  }
  ember::cpu::set_num_threads(saved);
}

}  // namespace
