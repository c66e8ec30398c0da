// The quantized matmul kernel (kernels_for(isa).qmatmul) and the activation quantizers, on every SIMD
// level this CPU runs.
//
// Weights are random valid raw blocks (random quant bytes, f16 scales set to moderate values),
// dequantized by a test-local copy of the block formats that is checked against quant::dequantize_row. Each qmatmul result is checked
//   - against a float64 reference: the dequantized weight row times the dequantized (Q8-rounded)
//     activation row, with the Q4_1 / Q5_1 min term taken through the activation block's f16 s as
//     ggml's dot products do;
//   - against the baseline level's result (same Q8 rounding, so they differ only by float summation
//     order).
// Tolerance: the kernels sum nb = K / 32 block products in f32, each rounded a few times, so the error
// is at most ~nb * 2^-24 * sum|terms| and typically sqrt(nb) times smaller; we allow
// 1e-6 * sqrt(nb + 1) * sum|w_i * y_i| (sum over the row's products, in float64), plus the final
// rounding to a 16-bit y.
// The activation quantizers must be byte-identical across levels and with ggml's *_ref math
// (test-local copy below, and quant::quantize_row once the reference quantizers exist).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/half.h"
#include "cpu/cpu_features.h"
#include "cpu/kernel_table.h"
#include "cpu/quant_args.h"
#include "cpu/thread_pool.h"
#include "quant/blocks.h"
#include "quant/reference.h"

// The per-level activation quantizers (cpu/kernels/quant_activation.cpp).
#define EMBER_TEST_DECLARE_QUANTIZERS(ns)                                      \
  namespace ember::cpu::ns {                                                   \
  void quantize_activation_q8_0(const float* x, void* blocks, int64_t k);      \
  void quantize_activation_q8_1(const float* x, void* blocks, int64_t k);      \
  void quantize_activation_q8_K(const float* x, void* blocks, int64_t k);      \
  }
EMBER_TEST_DECLARE_QUANTIZERS(baseline)
#if defined(EMBER_HAVE_ISA_AVX2)
EMBER_TEST_DECLARE_QUANTIZERS(avx2)
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
EMBER_TEST_DECLARE_QUANTIZERS(avx512)
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
EMBER_TEST_DECLARE_QUANTIZERS(dotprod)
#endif

namespace {

using ember::DType;
using ember::cpu::Isa;
using ember::cpu::QMatmulArgs;
using ember::quant::QType;
namespace q = ember::quant;

// y (M, N) = x (M, K) @ W.T through one level's kernel table, every row contiguous, float32.
std::vector<float> qmatmul_f32(Isa isa, QType type, const void* w, int64_t wrb, int64_t N, int64_t K, int64_t M,
                               const float* x) {
  std::vector<float> y(static_cast<size_t>(M * N));
  QMatmulArgs a;
  a.wtype = type;
  a.w = w;
  a.w_row_bytes = wrb;
  a.N = N;
  a.K = K;
  a.M = M;
  a.dtype = DType::F32;
  a.x = x;
  a.x_row_stride = K;
  a.y = y.data();
  a.y_row_stride = N;
  ember::cpu::kernels_for(isa).qmatmul(a);
  return y;
}

using QuantizeFn = void (*)(const float*, void*, int64_t);

struct LevelQuantizers {
  QuantizeFn q8_0, q8_1, q8_K;
};

LevelQuantizers quantizers_for(Isa isa) {
  switch (isa) {
#define EMBER_TEST_LEVEL(ns) \
  {ember::cpu::ns::quantize_activation_q8_0, ember::cpu::ns::quantize_activation_q8_1, ember::cpu::ns::quantize_activation_q8_K}
#if defined(EMBER_HAVE_ISA_AVX2)
    case Isa::Avx2: return EMBER_TEST_LEVEL(avx2);
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
    case Isa::Avx512: return EMBER_TEST_LEVEL(avx512);
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
    case Isa::Dotprod: return EMBER_TEST_LEVEL(dotprod);
#endif
    default: return EMBER_TEST_LEVEL(baseline);
#undef EMBER_TEST_LEVEL
  }
}

float h2f(uint16_t h) { return ember::half_bits_to_float(h); }
uint16_t f2h(float f) { return ember::float_to_half_bits(f); }

// ---- test-local copies of ggml's reference activation quantizers ----------------------------------
void ref_q8_0(const float* x, q::block_q8_0* y, int64_t k) {
  for (int64_t i = 0; i < k / 32; ++i, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = f2h(d);
    for (int j = 0; j < 32; ++j) y[i].qs[j] = static_cast<int8_t>(roundf(x[j] * id));
  }
}

void ref_q8_1(const float* x, q::block_q8_1* y, int64_t k) {
  for (int64_t i = 0; i < k / 32; ++i, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    y[i].d = f2h(d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      y[i].qs[j] = static_cast<int8_t>(roundf(x[j] * id));
      sum += y[i].qs[j];
    }
    y[i].s = f2h(static_cast<float>(sum) * d);
  }
}

int ggml_nearest_int(float f) {
  const float v = f + 12582912.f;
  int i;
  std::memcpy(&i, &v, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

// bsums of an all-zero block: ggml leaves them as they were; the kernels write 0 (the test buffers
// start zeroed, so both agree).
void ref_q8_K(const float* x, q::block_q8_K* y, int64_t k) {
  for (int64_t i = 0; i < k / 256; ++i, x += 256) {
    float max = 0, amax = 0;
    for (int j = 0; j < 256; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (!amax) {
      y[i].d = 0;
      std::memset(y[i].qs, 0, sizeof y[i].qs);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < 256; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, ggml_nearest_int(iscale * x[j])));
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int t = 0; t < 16; ++t) sum += y[i].qs[j * 16 + t];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

// Rows that exercise the rounding: random values, exact ties after scaling, all-zero blocks, and
// equal magnitudes of both signs (Q8_K keeps the first one's sign).
std::vector<float> activation_rows(int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(k));
  for (auto& v : x) v = nd(rng) * (seed % 3 == 0 ? 100.0f : 1.0f);
  if (k >= 256) {
    // block 0 of 32: amax 127 -> d = 1, id = 1: x.5 values are exact ties
    x[0] = 127.0f;
    for (int j = 1; j < 32; ++j) x[static_cast<size_t>(j)] = static_cast<float>(j % 9) - 4.5f;
    // block 1: all zero
    for (int j = 32; j < 64; ++j) x[static_cast<size_t>(j)] = 0.0f;
    // block 2: -127 first, +127 later; ties for Q8_K (iscale = 1)
    x[64] = -127.0f;
    x[70] = 127.0f;
    for (int j = 71; j < 96; ++j) x[static_cast<size_t>(j)] = static_cast<float>(j % 7) - 3.5f;
    // a second all-zero Q8_K super-block when there is room
    if (k >= 1024)
      for (int j = 512; j < 768; ++j) x[static_cast<size_t>(j)] = 0.0f;
  }
  return x;
}

template <class Block>
bool reference_available(QType type, const float* x, int64_t k, std::vector<Block>* out) {
  try {
    q::quantize_row(type, x, out->data(), k);
    return true;
  } catch (const ember::Error&) {
    return false;  // the reference quantizers have not landed yet
  }
}

TEST(QuantKernels, ActivationQuantizersMatchReferenceOnEveryLevel) {
  std::string levels;
  for (Isa isa : ember::cpu::runnable_isas()) levels += std::string(" ") + ember::cpu::isa_name(isa);
  std::printf("levels tested:%s\n", levels.c_str());
  for (int64_t k : {256, 512, 4096}) {
    for (uint32_t seed = 1; seed <= 6; ++seed) {
      const std::vector<float> x = activation_rows(k, seed);
      std::vector<q::block_q8_0> r0(static_cast<size_t>(k / 32));
      std::vector<q::block_q8_1> r1(static_cast<size_t>(k / 32));
      std::vector<q::block_q8_K> rk(static_cast<size_t>(k / 256));
      std::memset(rk.data(), 0, rk.size() * sizeof(q::block_q8_K));
      ref_q8_0(x.data(), r0.data(), k);
      ref_q8_1(x.data(), r1.data(), k);
      ref_q8_K(x.data(), rk.data(), k);
      {
        std::vector<q::block_q8_0> lib0(r0.size());
        std::vector<q::block_q8_1> lib1(r1.size());
        std::vector<q::block_q8_K> libk(rk.size());
        std::memset(libk.data(), 0, libk.size() * sizeof(q::block_q8_K));
        if (reference_available(QType::Q8_0, x.data(), k, &lib0)) {
          EXPECT_EQ(0, std::memcmp(lib0.data(), r0.data(), r0.size() * sizeof(r0[0]))) << "quantize_row q8_0, k " << k;
        }
        if (reference_available(QType::Q8_1, x.data(), k, &lib1)) {
          EXPECT_EQ(0, std::memcmp(lib1.data(), r1.data(), r1.size() * sizeof(r1[0]))) << "quantize_row q8_1, k " << k;
        }
        if (reference_available(QType::Q8_K, x.data(), k, &libk)) {
          EXPECT_EQ(0, std::memcmp(libk.data(), rk.data(), rk.size() * sizeof(rk[0]))) << "quantize_row q8_K, k " << k;
        }
      }
      for (Isa isa : ember::cpu::runnable_isas()) {
        const LevelQuantizers lq = quantizers_for(isa);
        std::vector<q::block_q8_0> a0(r0.size());
        std::vector<q::block_q8_1> a1(r1.size());
        std::vector<q::block_q8_K> ak(rk.size());
        std::memset(ak.data(), 0, ak.size() * sizeof(q::block_q8_K));
        lq.q8_0(x.data(), a0.data(), k);
        lq.q8_1(x.data(), a1.data(), k);
        lq.q8_K(x.data(), ak.data(), k);
        const std::string where = std::string(ember::cpu::isa_name(isa)) + ", k " + std::to_string(k) + ", seed " +
                                  std::to_string(seed);
        EXPECT_EQ(0, std::memcmp(a0.data(), r0.data(), r0.size() * sizeof(r0[0]))) << "q8_0 " << where;
        EXPECT_EQ(0, std::memcmp(a1.data(), r1.data(), r1.size() * sizeof(r1[0]))) << "q8_1 " << where;
        EXPECT_EQ(0, std::memcmp(ak.data(), rk.data(), rk.size() * sizeof(rk[0]))) << "q8_K " << where;
      }
    }
  }
}

// ---- weights: random raw blocks, and a test-local dequantizer ---------------------------------------
struct TypeInfo {
  QType type;
  const char* name;
  int block_size, type_size;
  bool q8_1_activation;  // Q4_1 / Q5_1
};

const TypeInfo kLegacy[] = {
    {QType::Q4_0, "q4_0", 32, 18, false}, {QType::Q4_1, "q4_1", 32, 20, true}, {QType::Q5_0, "q5_0", 32, 22, false},
    {QType::Q5_1, "q5_1", 32, 24, true},  {QType::Q8_0, "q8_0", 32, 34, false}, {QType::IQ4_NL, "iq4_nl", 32, 18, false},
};

// n rows of k elements of random valid blocks.
std::vector<unsigned char> random_weights(const TypeInfo& t, int64_t n, int64_t k, std::mt19937& rng) {
  const int64_t nb = k / t.block_size;
  std::vector<unsigned char> w(static_cast<size_t>(n * nb * t.type_size));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = static_cast<unsigned char>(byte(rng));
  std::uniform_real_distribution<float> scale(0.002f, 0.02f), minv(-0.1f, 0.1f);
  std::bernoulli_distribution neg(0.5);
  for (int64_t i = 0; i < n * nb; ++i) {
    unsigned char* blk = w.data() + i * t.type_size;
    const uint16_t d = f2h(neg(rng) ? -scale(rng) : scale(rng));
    std::memcpy(blk, &d, 2);
    if (t.q8_1_activation) {
      const uint16_t m = f2h(minv(rng));
      std::memcpy(blk + 2, &m, 2);
    }
    if (t.type == QType::Q8_0)  // keep -128 out of Q8_0 quants (ggml never produces it)
      for (int j = 2; j < 34; ++j)
        if (blk[j] == 0x80) blk[j] = 0x81;
  }
  return w;
}

// Dequantizes one block row into `out`, and the min values into `mins` (0 for types without one).
void dequant_row(const TypeInfo& t, const unsigned char* row, int64_t k, double* out, double* mins) {
  for (int64_t b = 0; b < k / 32; ++b) {
    const unsigned char* blk = row + b * t.type_size;
    uint16_t dh, mh = 0;
    std::memcpy(&dh, blk, 2);
    const double d = h2f(dh);
    double m = 0;
    double* o = out + b * 32;
    switch (t.type) {
      case QType::Q4_0: {
        const auto* p = reinterpret_cast<const q::block_q4_0*>(blk);
        for (int j = 0; j < 16; ++j) {
          o[j] = d * ((p->qs[j] & 0xf) - 8);
          o[j + 16] = d * ((p->qs[j] >> 4) - 8);
        }
        break;
      }
      case QType::Q4_1: {
        const auto* p = reinterpret_cast<const q::block_q4_1*>(blk);
        mh = p->m;
        for (int j = 0; j < 16; ++j) {
          o[j] = d * (p->qs[j] & 0xf);
          o[j + 16] = d * (p->qs[j] >> 4);
        }
        break;
      }
      case QType::Q5_0:
      case QType::Q5_1: {
        const uint8_t* qs = t.type == QType::Q5_0 ? reinterpret_cast<const q::block_q5_0*>(blk)->qs
                                                  : reinterpret_cast<const q::block_q5_1*>(blk)->qs;
        const uint8_t* qhp = t.type == QType::Q5_0 ? reinterpret_cast<const q::block_q5_0*>(blk)->qh
                                                   : reinterpret_cast<const q::block_q5_1*>(blk)->qh;
        if (t.type == QType::Q5_1) mh = reinterpret_cast<const q::block_q5_1*>(blk)->m;
        uint32_t qh;
        std::memcpy(&qh, qhp, 4);
        const int off = t.type == QType::Q5_0 ? 16 : 0;
        for (int j = 0; j < 16; ++j) {
          o[j] = d * (static_cast<int>((qs[j] & 0xf) | (((qh >> j) & 1) << 4)) - off);
          o[j + 16] = d * (static_cast<int>((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - off);
        }
        break;
      }
      case QType::Q8_0: {
        const auto* p = reinterpret_cast<const q::block_q8_0*>(blk);
        for (int j = 0; j < 32; ++j) o[j] = d * p->qs[j];
        break;
      }
      case QType::IQ4_NL: {
        const auto* p = reinterpret_cast<const q::block_iq4_nl*>(blk);
        for (int j = 0; j < 16; ++j) {
          o[j] = d * q::kIq4nlValues[p->qs[j] & 0xf];
          o[j + 16] = d * q::kIq4nlValues[p->qs[j] >> 4];
        }
        break;
      }
      default: break;
    }
    if (t.q8_1_activation) m = h2f(mh);
    mins[b] = m;
  }
}

// ---- activations and outputs in a dtype's storage ------------------------------------------------------
size_t esize(DType dt) { return dt == DType::F32 ? 4 : 2; }

void put(DType dt, std::vector<unsigned char>& buf, int64_t i, float v) {
  unsigned char* p = buf.data() + i * esize(dt);
  if (dt == DType::F32) std::memcpy(p, &v, 4);
  else {
    const uint16_t h = dt == DType::F16 ? f2h(v) : ember::float_to_bf16_bits(v);
    std::memcpy(p, &h, 2);
  }
}

float get(DType dt, const std::vector<unsigned char>& buf, int64_t i) {
  const unsigned char* p = buf.data() + i * esize(dt);
  if (dt == DType::F32) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return dt == DType::F16 ? h2f(h) : ember::bf16_bits_to_float(h);
}

struct Case {
  const TypeInfo* t;
  int64_t M, N, K;
  DType dtype;
  int64_t x_pad, y_pad;  // extra elements per row (row stride K + x_pad, N + y_pad)
};

// Runs one case on every level: vs the float64 reference, and vs the baseline level.
void check_case(const Case& c, std::mt19937& rng) {
  const TypeInfo& t = *c.t;
  const int64_t M = c.M, N = c.N, K = c.K, nb = K / 32, wrb = nb * t.type_size;
  const int64_t xs = K + c.x_pad, ys = N + c.y_pad;
  const std::vector<unsigned char> w = random_weights(t, N, K, rng);
  std::vector<unsigned char> x(static_cast<size_t>(M * xs) * esize(c.dtype));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t kk = 0; kk < xs; ++kk) put(c.dtype, x, m * xs + kk, kk < K ? nd(rng) : 1e30f);

  // Reference: dequantized weights x dequantized Q8 activations; the min term through s.
  std::vector<double> wd(static_cast<size_t>(N * K)), wmin(static_cast<size_t>(N * nb));
  for (int64_t n = 0; n < N; ++n) dequant_row(t, w.data() + n * wrb, K, &wd[n * K], &wmin[n * nb]);
  {  // the test-local dequantizer agrees with the library's reference (float rounding of d * q + m aside)
    std::vector<float> lib(static_cast<size_t>(K));
    q::dequantize_row(t.type, w.data(), lib.data(), K);
    for (int64_t kk = 0; kk < K; ++kk) {
      const double v = wd[kk] + wmin[kk / 32];  // dequant_row keeps the min term apart
      ASSERT_NEAR(lib[kk], v, 1e-6 * std::fabs(v) + 1e-9) << t.name << " " << kk;
    }
  }
  std::vector<double> ref(static_cast<size_t>(M * N)), mag(static_cast<size_t>(M * N));
  std::vector<float> xf(static_cast<size_t>(K));
  std::vector<double> yd(static_cast<size_t>(K)), ys_(static_cast<size_t>(nb)), ysum(static_cast<size_t>(nb));
  // Batches of kQuantGemmMinRows rows or more multiply the dequantized weights with x itself.
  const bool float_activations = M >= ember::cpu::kQuantGemmMinRows;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t kk = 0; kk < K; ++kk) xf[kk] = get(c.dtype, x, m * xs + kk);
    if (float_activations) {
      for (int64_t b = 0; b < nb; ++b) {
        ys_[b] = 0;
        for (int j = 0; j < 32; ++j) ys_[b] += yd[b * 32 + j] = xf[b * 32 + j];
      }
    } else if (t.q8_1_activation) {
      std::vector<q::block_q8_1> a(static_cast<size_t>(nb));
      ref_q8_1(xf.data(), a.data(), K);
      for (int64_t b = 0; b < nb; ++b) {
        ys_[b] = h2f(a[b].s);
        for (int j = 0; j < 32; ++j) yd[b * 32 + j] = static_cast<double>(h2f(a[b].d)) * a[b].qs[j];
      }
    } else {
      std::vector<q::block_q8_0> a(static_cast<size_t>(nb));
      ref_q8_0(xf.data(), a.data(), K);
      for (int64_t b = 0; b < nb; ++b)
        for (int j = 0; j < 32; ++j) yd[b * 32 + j] = static_cast<double>(h2f(a[b].d)) * a[b].qs[j];
    }
    for (int64_t n = 0; n < N; ++n) {
      double s = 0, am = 0;
      for (int64_t kk = 0; kk < K; ++kk) {
        s += wd[n * K + kk] * yd[kk];
        am += std::fabs(wd[n * K + kk] * yd[kk]);
      }
      for (int64_t b = 0; b < nb && (t.q8_1_activation || float_activations); ++b) {
        s += wmin[n * nb + b] * ys_[b];
        am += std::fabs(wmin[n * nb + b] * ys_[b]);
      }
      ref[m * N + n] = s;
      mag[m * N + n] = am;
    }
  }

  const double out_eps = c.dtype == DType::F16 ? std::ldexp(1.0, -11) : c.dtype == DType::BF16 ? std::ldexp(1.0, -8) : 0;
  std::vector<float> baseline;
  for (Isa isa : ember::cpu::runnable_isas()) {
    std::vector<unsigned char> y(static_cast<size_t>(M * ys) * esize(c.dtype));
    for (int64_t i = 0; i < M * ys; ++i) put(c.dtype, y, i, -7.0f);  // padding must survive
    QMatmulArgs a;
    a.wtype = t.type;
    a.w = w.data();
    a.w_row_bytes = wrb;
    a.N = N;
    a.K = K;
    a.M = M;
    a.dtype = c.dtype;
    a.x = x.data();
    a.x_row_stride = xs;
    a.y = y.data();
    a.y_row_stride = ys;
    ember::cpu::kernels_for(isa).qmatmul(a);
    std::vector<float> got(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < ys; ++n) {
        const float v = get(c.dtype, y, m * ys + n);
        if (n < N) got[m * N + n] = v;
        else ASSERT_EQ(v, -7.0f) << "padding overwritten";
      }
    }
    const std::string where = std::string(t.name) + " " + ember::cpu::isa_name(isa) + " M " + std::to_string(M) +
                              " N " + std::to_string(N) + " K " + std::to_string(K) + " dtype " +
                              std::to_string(static_cast<int>(c.dtype));
    int failures = 0;
    for (int64_t i = 0; i < M * N && failures < 5; ++i) {
      const double tol = 1e-6 * std::sqrt(static_cast<double>(nb + 1)) * mag[i] + out_eps * std::fabs(ref[i]) + 1e-30;
      if (!(std::fabs(got[i] - ref[i]) <= tol)) {
        ++failures;
        ADD_FAILURE() << where << " [" << i / N << ", " << i % N << "]: got " << got[i] << ", reference " << ref[i]
                      << ", tolerance " << tol;
      }
      if (!baseline.empty() && !(std::fabs(got[i] - baseline[i]) <= 2 * tol)) {
        ++failures;
        ADD_FAILURE() << where << " [" << i / N << ", " << i % N << "]: got " << got[i] << ", baseline "
                      << baseline[i];
      }
    }
    if (baseline.empty()) baseline = got;
  }
}

TEST(QuantKernels, LegacyTypesMatchReferenceAndBaseline) {
  std::mt19937 rng(1234);
  int index = 0;
  for (const TypeInfo& t : kLegacy) {
    for (int64_t M : {1, 2, 3, 5, 8, 16, 17, 33, 128}) {
      for (int64_t N : {1, 6, 67}) {
        for (int64_t K : {32, 96, 4096}) {
          if (M == 128 && K == 4096 && N == 67 && t.type != QType::Q4_0 && t.type != QType::Q8_0) continue;
          const bool padded = (index++ % 2) == 1;
          check_case(Case{&t, M, N, K, DType::F32, padded ? 3 : 0, padded ? 5 : 0}, rng);
        }
      }
    }
  }
}

TEST(QuantKernels, HalfActivations) {
  std::mt19937 rng(99);
  for (const TypeInfo& t : kLegacy)
    for (DType dt : {DType::F16, DType::BF16})
      for (int64_t M : {1, 5, 33})
        for (int64_t K : {96, 4096}) check_case(Case{&t, M, 37, K, dt, 2, 3}, rng);
}

TEST(QuantKernels, ThreadCountsAgree) {
  // The split over threads must not change results (each output is one kernel call's sum).
  const int saved = ember::cpu::num_threads();
  std::mt19937 rng(5);
  for (int threads : {1, 2, 3}) {
    ember::cpu::set_num_threads(threads);
    check_case(Case{&kLegacy[0], 1, 300, 4096, DType::F32, 0, 0}, rng);
    check_case(Case{&kLegacy[4], 40, 70, 512, DType::F32, 1, 1}, rng);
  }
  ember::cpu::set_num_threads(saved);
}

// Every storage type runs through qmatmul: row types and Q8_1 / Q8_K weights through the float path.
TEST(QuantKernels, FloatPathTypes) {
  std::mt19937 rng(77);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t M = 3, N = 9, K = 512;
  std::vector<float> x(static_cast<size_t>(M * K)), wf(static_cast<size_t>(N * K));
  for (auto& v : x) v = nd(rng);
  for (QType type : {QType::F32, QType::F16, QType::BF16, QType::Q8_1, QType::Q8_K}) {
    std::vector<unsigned char> w;
    std::vector<double> wd(static_cast<size_t>(N * K));
    int64_t wrb = 0;
    for (auto& v : wf) v = nd(rng);
    if (type == QType::F32 || type == QType::F16 || type == QType::BF16) {
      const size_t es = type == QType::F32 ? 4 : 2;
      wrb = K * static_cast<int64_t>(es);
      w.resize(static_cast<size_t>(N * wrb));
      for (int64_t i = 0; i < N * K; ++i) {
        const DType dt = type == QType::F32 ? DType::F32 : type == QType::F16 ? DType::F16 : DType::BF16;
        put(dt, w, i, wf[i]);
        wd[i] = get(dt, w, i);
      }
    } else if (type == QType::Q8_1) {
      std::vector<q::block_q8_1> b(static_cast<size_t>(N * K / 32));
      ref_q8_1(wf.data(), b.data(), N * K);
      wrb = K / 32 * 36;
      w.resize(b.size() * sizeof(b[0]));
      std::memcpy(w.data(), b.data(), w.size());
      for (int64_t i = 0; i < N * K; ++i) wd[i] = static_cast<double>(h2f(b[i / 32].d)) * b[i / 32].qs[i % 32];
    } else {
      std::vector<q::block_q8_K> b(static_cast<size_t>(N * K / 256));
      std::memset(b.data(), 0, b.size() * sizeof(b[0]));
      ref_q8_K(wf.data(), b.data(), N * K);
      wrb = K / 256 * 292;
      w.resize(b.size() * sizeof(b[0]));
      std::memcpy(w.data(), b.data(), w.size());
      for (int64_t i = 0; i < N * K; ++i) wd[i] = static_cast<double>(b[i / 256].d) * b[i / 256].qs[i % 256];
    }
    for (Isa isa : ember::cpu::runnable_isas()) {
      const std::vector<float> y = qmatmul_f32(isa, type, w.data(), wrb, N, K, M, x.data());
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double s = 0, am = 0;
          for (int64_t kk = 0; kk < K; ++kk) {
            s += wd[n * K + kk] * x[m * K + kk];
            am += std::fabs(wd[n * K + kk] * x[m * K + kk]);
          }
          EXPECT_NEAR(y[m * N + n], s, 1e-5 * am) << static_cast<int>(type) << " " << ember::cpu::isa_name(isa);
        }
    }
  }
}

}  // namespace

namespace {

// Every storage type, weights from the reference quantizer: qmatmul against the dequantized weight
// times the unquantized activations. The activations' Q8 rounding (where a type has an integer kernel)
// costs about 0.007 * sqrt(K) * rms(w) * rms(x); the tolerance, 3e-3 * |w| * |x|, is 10x that at
// K = 512, while a wrong kernel is off by about |w| * |x| / sqrt(K).
TEST(QuantKernels, EveryQTypeThroughReferenceQuantizer) {
  const QType types[] = {QType::F32,  QType::F16,  QType::BF16, QType::Q4_0, QType::Q4_1,   QType::Q5_0,
                         QType::Q5_1, QType::Q8_0, QType::Q8_1, QType::Q2_K, QType::Q3_K,   QType::Q4_K,
                         QType::Q5_K, QType::Q6_K, QType::Q8_K, QType::IQ4_NL, QType::IQ4_XS};
  std::mt19937 rng(2024);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t M = 5, N = 7, K = 512;
  std::vector<float> x(static_cast<size_t>(M * K)), wf(static_cast<size_t>(N * K)), wd(static_cast<size_t>(N * K));
  for (auto& v : x) v = nd(rng);
  for (QType type : types) {
    for (auto& v : wf) v = nd(rng);
    std::vector<unsigned char> w(static_cast<size_t>(N * K * 4 + 64));
    int64_t wrb = 0;
    try {
      std::vector<unsigned char> probe(static_cast<size_t>(K * 4));
      q::quantize_row(type, wf.data(), probe.data(), K);
    } catch (const ember::Error& e) {
      GTEST_SKIP() << "reference quantizer missing: " << e.what();
    }
    switch (type) {
      case QType::F32: wrb = K * 4; break;
      case QType::F16: case QType::BF16: wrb = K * 2; break;
      case QType::Q4_0: case QType::IQ4_NL: wrb = K / 32 * 18; break;
      case QType::Q4_1: wrb = K / 32 * 20; break;
      case QType::Q5_0: wrb = K / 32 * 22; break;
      case QType::Q5_1: wrb = K / 32 * 24; break;
      case QType::Q8_0: wrb = K / 32 * 34; break;
      case QType::Q8_1: wrb = K / 32 * 36; break;
      case QType::Q2_K: wrb = K / 256 * 84; break;
      case QType::Q3_K: wrb = K / 256 * 110; break;
      case QType::Q4_K: wrb = K / 256 * 144; break;
      case QType::Q5_K: wrb = K / 256 * 176; break;
      case QType::Q6_K: wrb = K / 256 * 210; break;
      case QType::Q8_K: wrb = K / 256 * 292; break;
      case QType::IQ4_XS: wrb = K / 256 * 136; break;
    }
    for (int64_t n = 0; n < N; ++n) {
      q::quantize_row(type, wf.data() + n * K, w.data() + n * wrb, K);
      q::dequantize_row(type, w.data() + n * wrb, wd.data() + n * K, K);
    }
    for (Isa isa : ember::cpu::runnable_isas()) {
      const std::vector<float> y = qmatmul_f32(isa, type, w.data(), wrb, N, K, M, x.data());
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double s = 0, ww = 0, xx = 0;
          for (int64_t kk = 0; kk < K; ++kk) {
            s += static_cast<double>(wd[n * K + kk]) * x[m * K + kk];
            ww += static_cast<double>(wd[n * K + kk]) * wd[n * K + kk];
            xx += static_cast<double>(x[m * K + kk]) * x[m * K + kk];
          }
          EXPECT_NEAR(y[m * N + n], s, 3e-3 * std::sqrt(ww * xx))
              << "type " << static_cast<int>(type) << " " << ember::cpu::isa_name(isa) << " [" << m << ", " << n << "]";
        }
    }
  }
}

}  // namespace
