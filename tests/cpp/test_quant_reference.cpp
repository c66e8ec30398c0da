// The scalar reference quantize / dequantize rows of every block type (csrc/quant/ref_*.cpp): round
// trips within per-type error bounds, zero and constant blocks, special values, and one hand-computed
// block per legacy type. Bit-exactness against ggml / gguf-py is checked in
// tests/python/test_quant_reference.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/qtype_info.h"
#include "quant/reference.h"

using namespace ember;
using namespace ember::quant;

namespace {

struct TypeBound {
  QType type;
  double max_rel_rmse;  // RMSE / std of unit Gaussian data, with margin over the measured value
};

// Measured on 64 rows x 1024 standard normal values (std::mt19937): q4_0 0.0853, q4_1 0.0778,
// q5_0 0.0424, q5_1 0.0377, q8_0 0.0053, q8_1 0.0053, q2_k 0.265, q3_k 0.145, q4_k 0.0697, q5_k 0.0344,
// q6_k 0.0173, q8_k 0.0068, iq4_nl 0.0759, iq4_xs 0.0753. The bounds leave about 10% room.
const TypeBound kBounds[] = {
    {QType::Q4_0, 0.094},  {QType::Q4_1, 0.086},  {QType::Q5_0, 0.047},  {QType::Q5_1, 0.042},
    {QType::Q8_0, 0.0059}, {QType::Q8_1, 0.0059}, {QType::Q2_K, 0.29},   {QType::Q3_K, 0.16},
    {QType::Q4_K, 0.077},  {QType::Q5_K, 0.038},  {QType::Q6_K, 0.019},  {QType::Q8_K, 0.0075},
    {QType::IQ4_NL, 0.084}, {QType::IQ4_XS, 0.083},
};

std::vector<float> gaussian(int64_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

std::vector<float> round_trip(QType type, const std::vector<float>& x) {
  const int64_t k = static_cast<int64_t>(x.size());
  std::vector<uint8_t> blocks(static_cast<size_t>(row_bytes(type, k)), 0xAB);
  quantize_row(type, x.data(), blocks.data(), k);
  std::vector<float> y(x.size(), std::numeric_limits<float>::quiet_NaN());
  dequantize_row(type, blocks.data(), y.data(), k);
  return y;
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return std::sqrt(s / static_cast<double>(a.size()));
}

std::string name(QType type) { return traits(type).name; }

}  // namespace

TEST(QuantRef, RoundTripGaussianWithinBounds) {
  for (const TypeBound& b : kBounds) {
    for (float scale : {1.f, 1e-3f, 300.f}) {
      double total = 0;
      for (uint32_t row = 0; row < 64; ++row) {
        const std::vector<float> x = gaussian(1024, 1000 + row, scale);
        total += std::pow(rmse(x, round_trip(b.type, x)), 2);
      }
      const double rel = std::sqrt(total / 64) / scale;
      EXPECT_LT(rel, b.max_rel_rmse) << name(b.type) << " scale " << scale;
      EXPECT_GT(rel, b.max_rel_rmse / 4) << name(b.type) << " suspiciously exact at scale " << scale;
    }
  }
}

TEST(QuantRef, ZeroBlocksGiveZeros) {
  for (const TypeBound& b : kBounds) {
    const std::vector<float> x(512, 0.f);
    for (float v : round_trip(b.type, x)) ASSERT_EQ(v, 0.f) << name(b.type);
  }
}

TEST(QuantRef, ConstantBlocksAreCloseToTheConstant) {
  for (const TypeBound& b : kBounds) {
    for (float c : {1.f, -2.5f, 0.001f}) {
      const std::vector<float> x(512, c);
      const std::vector<float> y = round_trip(b.type, x);
      for (float v : y) ASSERT_NEAR(v, c, std::fabs(c) * 0.07) << name(b.type) << " constant " << c;
    }
  }
}

// Mixed signs and magnitudes inside one super-block: one huge sub-block next to tiny ones.
TEST(QuantRef, MixedMagnitudesStayFinite) {
  for (const TypeBound& b : kBounds) {
    std::vector<float> x = gaussian(512, 7, 1e-4f);
    for (int j = 0; j < 32; ++j) x[64 + j] = 50.f * std::sin(static_cast<float>(j));
    const std::vector<float> y = round_trip(b.type, x);
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << name(b.type) << " at " << i;
      ASSERT_NEAR(y[i], x[i], 50.0 * 0.35) << name(b.type) << " at " << i;
    }
  }
}

// Infinities, NaN, values beyond f16 and below f32's normal range: no crash and no undefined
// behaviour (checked once with -fsanitize=undefined); the blocks' content is unspecified
// but a block of only finite, f16-representable values next to them is unaffected.
TEST(QuantRef, SpecialValuesDoNotCrash) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float specials[] = {inf, -inf, nan, 1e30f, -3e38f, 1e-40f, -1e-45f, 6e4f, 7e4f};
  for (const TypeBound& b : kBounds) {
    for (float s : specials) {
      std::vector<float> x = gaussian(512, 11);
      for (int j = 0; j < 256; j += 5) x[static_cast<size_t>(j)] = s;  // first super-block
      const std::vector<float> y = round_trip(b.type, x);
      for (size_t i = 256; i < 512; ++i) ASSERT_NEAR(y[i], x[i], 1.0) << name(b.type) << " special " << s;
    }
    std::vector<float> tiny(256);
    for (size_t i = 0; i < tiny.size(); ++i) tiny[i] = (i % 3 == 0 ? -1e-39f : 2e-41f);
    for (float v : round_trip(b.type, tiny)) ASSERT_TRUE(std::isfinite(v)) << name(b.type);
  }
}

// Any bytes dequantize without undefined behaviour (NaN / inf f16 scales included).
TEST(QuantRef, DequantizeArbitraryBytes) {
  std::mt19937 rng(5);
  for (const TypeBound& b : kBounds) {
    std::vector<uint8_t> bytes(static_cast<size_t>(row_bytes(b.type, 512)));
    for (uint8_t& v : bytes) v = static_cast<uint8_t>(rng());
    std::vector<float> y(512);
    dequantize_row(b.type, bytes.data(), y.data(), 512);
    std::memset(bytes.data(), 0xFF, bytes.size());  // f16 NaN scales
    dequantize_row(b.type, bytes.data(), y.data(), 512);
  }
}

// ---- hand-computed blocks of the legacy types ----

TEST(QuantRef, Q4_0HandComputed) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);  // max |x| is x[0] = -16: d = -16 / -8 = 2
  block_q4_0 b;
  quantize_row(QType::Q4_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x4000);  // 2.0
  // code = trunc(x / 2 + 8.5), clamped to 15
  const uint8_t lo[16] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8};
  const uint8_t hi[16] = {8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 15};
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], lo[j] | (hi[j] << 4)) << j;
  float y[32];
  dequantize_row(QType::Q4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.f * (lo[j] - 8));
    EXPECT_EQ(y[j + 16], 2.f * (hi[j] - 8));
  }
}

TEST(QuantRef, Q4_1HandComputed) {
  float x[32];
  for (int j = 0; j < 31; ++j) x[j] = 0.5f * static_cast<float>(j);
  x[31] = 15.f;  // min 0, max 15: d = 1, m = 0, code = trunc(x + 0.5)
  block_q4_1 b;
  quantize_row(QType::Q4_1, x, &b, 32);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.m, 0x0000);
  for (int j = 0; j < 16; ++j) {
    const int lo = (j + 1) / 2, hi = j == 15 ? 15 : (j + 17) / 2;
    EXPECT_EQ(b.qs[j], lo | (hi << 4)) << j;
  }
  float y[32];
  dequantize_row(QType::Q4_1, &b, y, 32);
  EXPECT_EQ(y[3], 2.f);
  EXPECT_EQ(y[31], 15.f);
}

TEST(QuantRef, Q5_0HandComputed) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);  // d = -16 / -16 = 1, code = j
  block_q5_0 b;
  quantize_row(QType::Q5_0, x, &b, 32);
  EXPECT_EQ(b.d, 0x3C00);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], j | (j << 4));
  const uint8_t qh[4] = {0x00, 0x00, 0xFF, 0xFF};  // the fifth bit is set for codes 16..31
  EXPECT_EQ(std::memcmp(b.qh, qh, 4), 0);
  float y[32];
  dequantize_row(QType::Q5_0, &b, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]);
}

TEST(QuantRef, Q5_1HandComputed) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 10);  // min -10, max 21: d = 1, code = j
  block_q5_1 b;
  quantize_row(QType::Q5_1, x, &b, 32);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.m, 0xC900);  // -10.0
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], j | (j << 4));
  const uint8_t qh[4] = {0x00, 0x00, 0xFF, 0xFF};
  EXPECT_EQ(std::memcmp(b.qh, qh, 4), 0);
  float y[32];
  dequantize_row(QType::Q5_1, &b, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], x[j]);
}

TEST(QuantRef, Q8_0AndQ8_1HandComputed) {
  float x[32] = {-127.f, 2.5f, -2.5f, 0.49f, 0.5f, -0.5f, 126.5f, 1.5f};  // absmax 127: d = 1
  for (int j = 8; j < 32; ++j) x[j] = static_cast<float>(j);
  // roundf: halves away from zero
  int8_t q[32] = {-127, 3, -3, 0, 1, -1, 127, 2};
  int sum = 0;
  for (int j = 8; j < 32; ++j) q[j] = static_cast<int8_t>(j);
  for (int j = 0; j < 32; ++j) sum += q[j];
  block_q8_0 b0;
  quantize_row(QType::Q8_0, x, &b0, 32);
  EXPECT_EQ(b0.d, 0x3C00);
  block_q8_1 b1;
  quantize_row(QType::Q8_1, x, &b1, 32);
  EXPECT_EQ(b1.d, 0x3C00);
  EXPECT_EQ(b1.s, float_to_half_bits(static_cast<float>(sum)));
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(b0.qs[j], q[j]) << j;
    EXPECT_EQ(b1.qs[j], q[j]) << j;
  }
  float y[32];
  dequantize_row(QType::Q8_1, &b1, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], static_cast<float>(q[j]));
}

// Q8_K: float d = max / -127 of the signed absmax, codes rounded to nearest even, bsums of 16.
TEST(QuantRef, Q8_KScaleAndSums) {
  std::vector<float> x = gaussian(256, 3);
  x[100] = -9.f;
  block_q8_K b;
  quantize_row(QType::Q8_K, x.data(), &b, 256);
  EXPECT_EQ(b.d, 1 / (-127.f / -9.f));
  EXPECT_EQ(b.qs[100], -127);
  for (int j = 0; j < 16; ++j) {
    int s = 0;
    for (int l = 0; l < 16; ++l) s += b.qs[16 * j + l];
    EXPECT_EQ(b.bsums[j], s);
  }
}
