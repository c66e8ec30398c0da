// Every SIMD level's elementwise, cast, reduce and softmax kernels against scalar double-precision
// references computed from the same functors (core/elementwise_ops.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/convert.h"
#include "core/ops.h"
#include "cpu/kernel_table.h"
#include "cpu/loop_builder.h"
#include "cpu/thread_pool.h"

using namespace ember;
using namespace ember::cpu;

namespace {

int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<int64_t>::max();
  if (a == b) return 0;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = std::numeric_limits<int32_t>::min() - ia;
  if (ib < 0) ib = std::numeric_limits<int32_t>::min() - ib;
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

std::vector<float> test_values(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -0.5f, 1e-7f, -1e-7f, 1e-30f, 20.0f, -20.0f,
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), 88.0f, -88.0f, 2.5f, -2.5f, 3.5f};
  for (size_t i = 0; i < std::size(specials) && i < n; ++i) v[i * 7 % n] = specials[i];
  return v;
}

Tensor make(const std::vector<float>& v) {
  return from_host(v.data(), {static_cast<int64_t>(v.size())}, DType::F32, Device::cpu());
}

template <class Op>
void check_unary_float(UnaryOp op, const char* name, float lo, float hi, int64_t max_ulp, float abs_tol = 0) {
  const std::vector<float> values = test_values(1037, lo, hi, 1234);
  const Tensor in = make(values);
  for (Isa isa : runnable_isas()) {
    // Contiguous, then a strided view (every other element of a doubled buffer).
    for (bool strided : {false, true}) {
      Tensor src = in;
      if (strided) {
        std::vector<float> doubled(values.size() * 2);
        for (size_t i = 0; i < values.size(); ++i) doubled[2 * i] = values[i];
        src = make(doubled).with_layout(Layout({static_cast<int64_t>(values.size())}, {2}, 0));
      }
      Tensor out = Tensor::empty(in.shape(), DType::F32, Device::cpu());
      kernels_for(isa).unary(op, DType::F32, make_loop({&out, &src}, name));
      const float* o = out.data<float>();
      for (size_t i = 0; i < values.size(); ++i) {
        const float expected = static_cast<float>(Op{}(static_cast<double>(values[i])));
        const bool close = std::fabs(o[i] - expected) <= abs_tol;
        EXPECT_TRUE(close || ulp_distance(o[i], expected) <= max_ulp)
            << name << " isa=" << isa_name(isa) << " strided=" << strided << " x=" << values[i] << " got " << o[i]
            << " want " << expected;
      }
    }
  }
}

}  // namespace

TEST(CpuKernels, UnaryFloatOpsMatchDoubleReference) {
  check_unary_float<fn::Exp>(UnaryOp::Exp, "exp", -100, 100, 3);
  check_unary_float<fn::Log>(UnaryOp::Log, "log", -1, 1000, 3);
  check_unary_float<fn::Log1p>(UnaryOp::Log1p, "log1p", -1, 100, 3);
  check_unary_float<fn::Expm1>(UnaryOp::Expm1, "expm1", -20, 20, 3);
  check_unary_float<fn::Sin>(UnaryOp::Sin, "sin", -100, 100, 3);
  check_unary_float<fn::Cos>(UnaryOp::Cos, "cos", -100, 100, 3);
  check_unary_float<fn::Tan>(UnaryOp::Tan, "tan", -10, 10, 4);
  check_unary_float<fn::Tanh>(UnaryOp::Tanh, "tanh", -12, 12, 3);
  check_unary_float<fn::Sqrt>(UnaryOp::Sqrt, "sqrt", -1, 1e4, 0);
  check_unary_float<fn::Rsqrt>(UnaryOp::Rsqrt, "rsqrt", 0, 1e4, 1);
  check_unary_float<fn::Reciprocal>(UnaryOp::Reciprocal, "reciprocal", -100, 100, 0);
  check_unary_float<fn::Erf>(UnaryOp::Erf, "erf", -6, 6, 3);
  // Composite functions: a few ulp of each part; near zero their value is tiny, so also allow a
  // small absolute error there.
  check_unary_float<fn::Sigmoid>(UnaryOp::Sigmoid, "sigmoid", -30, 30, 4, 1e-7f);
  check_unary_float<fn::Silu>(UnaryOp::Silu, "silu", -30, 30, 4, 1e-7f);
  check_unary_float<fn::Gelu>(UnaryOp::Gelu, "gelu", -10, 10, 4, 1e-7f);
  check_unary_float<fn::GeluTanh>(UnaryOp::GeluTanh, "gelu_tanh", -10, 10, 4, 1e-7f);
  check_unary_float<fn::Softplus>(UnaryOp::Softplus, "softplus", -30, 30, 4, 1e-7f);
  check_unary_float<fn::Floor>(UnaryOp::Floor, "floor", -1e9, 1e9, 0);
  check_unary_float<fn::Ceil>(UnaryOp::Ceil, "ceil", -100, 100, 0);
  check_unary_float<fn::Round>(UnaryOp::Round, "round", -100, 100, 0);
  check_unary_float<fn::Trunc>(UnaryOp::Trunc, "trunc", -100, 100, 0);
  check_unary_float<fn::Abs>(UnaryOp::Abs, "abs", -100, 100, 0);
  check_unary_float<fn::Neg>(UnaryOp::Neg, "neg", -100, 100, 0);
  check_unary_float<fn::Square>(UnaryOp::Square, "square", -100, 100, 0);
  check_unary_float<fn::Sign>(UnaryOp::Sign, "sign", -100, 100, 0);
  check_unary_float<fn::Relu>(UnaryOp::Relu, "relu", -100, 100, 0);
}

TEST(CpuKernels, BinaryBroadcastAndStridedMatchScalar) {
  const std::vector<float> a = test_values(515, -50, 50, 1), b = test_values(515, -50, 50, 2);
  const Tensor ta = make(a), tb = make(b);
  const Tensor scalar_b = tb.with_layout(Layout({515}, {0}, 3));  // b[3] broadcast
  for (Isa isa : runnable_isas()) {
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Maximum,
                        BinaryOp::Minimum, BinaryOp::Pow, BinaryOp::FloorDivide, BinaryOp::Remainder}) {
      for (int layout = 0; layout < 3; ++layout) {
        const Tensor& lhs = layout == 2 ? scalar_b : ta;
        const Tensor& rhs = layout == 1 ? scalar_b : tb;
        Tensor out = Tensor::empty({515}, DType::F32, Device::cpu());
        kernels_for(isa).binary(op, DType::F32, make_loop({&out, &lhs, &rhs}, op_name(op)));
        for (int64_t i = 0; i < 515; ++i) {
          const float x = lhs.data<float>()[i * lhs.strides()[0]];
          const float y = rhs.data<float>()[i * rhs.strides()[0]];
          float want = 0;
          switch (op) {
            case BinaryOp::Add: want = fn::Add{}(x, y); break;
            case BinaryOp::Sub: want = fn::Sub{}(x, y); break;
            case BinaryOp::Mul: want = fn::Mul{}(x, y); break;
            case BinaryOp::Div: want = fn::Div{}(x, y); break;
            case BinaryOp::Maximum: want = fn::Maximum{}(x, y); break;
            case BinaryOp::Minimum: want = fn::Minimum{}(x, y); break;
            case BinaryOp::Pow: want = fn::Pow{}(x, y); break;
            case BinaryOp::FloorDivide: want = fn::FloorDivide{}(x, y); break;
            case BinaryOp::Remainder: want = fn::Remainder{}(x, y); break;
            default: break;
          }
          ASSERT_EQ(ulp_distance(out.data<float>()[i], want), 0)
              << op_name(op) << " isa=" << isa_name(isa) << " layout=" << layout << " x=" << x << " y=" << y;
        }
      }
    }
  }
}

TEST(CpuKernels, HalfCastsRoundTripBitExact) {
  std::vector<float> v = test_values(4099, -70000, 70000, 3);
  for (int i = 0; i < 200; ++i) v[i] = std::ldexp(static_cast<float>(i) + 0.5f, -24 - (i % 3));  // subnormal halves
  const Tensor in = make(v);
  for (Isa isa : runnable_isas()) {
    for (DType d : {DType::F16, DType::BF16}) {
      Tensor half = Tensor::empty(in.shape(), d, Device::cpu());
      kernels_for(isa).cast(DType::F32, d, make_loop({&half, &in}, "cast"));
      Tensor back = Tensor::empty(in.shape(), DType::F32, Device::cpu());
      kernels_for(isa).cast(d, DType::F32, make_loop({&back, &half}, "cast"));
      for (size_t i = 0; i < v.size(); ++i) {
        const uint16_t bits = half.data<uint16_t>()[i];
        const uint16_t want = d == DType::F16 ? float_to_half_bits(v[i]) : float_to_bf16_bits(v[i]);
        ASSERT_EQ(bits, want) << "isa=" << isa_name(isa) << " x=" << v[i];
        const float round_trip = d == DType::F16 ? half_bits_to_float(want) : bf16_bits_to_float(want);
        ASSERT_EQ(ulp_distance(back.data<float>()[i], round_trip), 0);
      }
    }
  }
}

TEST(CpuKernels, FloatToIntCastsSaturate) {
  EXPECT_EQ(convert<int32_t>(3.9f), 3);
  EXPECT_EQ(convert<int32_t>(-3.9f), -3);
  EXPECT_EQ(convert<int32_t>(1e20f), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(convert<int32_t>(-1e20f), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(convert<int64_t>(std::numeric_limits<double>::quiet_NaN()), 0);
  EXPECT_EQ(convert<uint8_t>(-5.0), 0);
  EXPECT_EQ(convert<uint8_t>(300.0), 255);
  EXPECT_EQ(convert<uint8_t>(int64_t(300)), 44);  // integers wrap
  EXPECT_EQ(convert<bool>(f16(0.0f)), false);
  EXPECT_EQ(convert<bool>(-0.5), true);
  EXPECT_EQ(convert<uint32_t>(4294967296.0), std::numeric_limits<uint32_t>::max());
}

TEST(CpuKernels, ReductionsMatchDoubleReference) {
  const int64_t rows = 37, cols = 1029;
  std::vector<float> v = test_values(rows * cols, -3, 3, 9);
  for (float& x : v) {
    if (!std::isfinite(x)) x = 0.25f;
  }
  const Tensor t = from_host(v.data(), {rows, cols}, DType::F32, Device::cpu());
  for (Isa isa : runnable_isas()) {
    for (int dim : {0, 1}) {
      const Dims reduced{dim};
      Dims kept{rows, cols};
      kept[dim] = 1;
      for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Var, ReduceOp::LogSumExp}) {
        Tensor out = Tensor::empty(kept, DType::F32, Device::cpu());
        ReduceArgs args;
        kernels_for(isa).reduce(op, DType::F32, make_reduce_loop(out, t, reduced, op_name(op)), args);
        const int64_t outer = dim == 0 ? cols : rows, inner = dim == 0 ? rows : cols;
        for (int64_t o = 0; o < outer; ++o) {
          double sum = 0, mx = -INFINITY, mn = INFINITY;
          for (int64_t k = 0; k < inner; ++k) {
            const double x = dim == 0 ? v[k * cols + o] : v[o * cols + k];
            sum += x;
            mx = std::max(mx, x);
            mn = std::min(mn, x);
          }
          const double mean = sum / inner;
          double m2 = 0, se = 0;
          for (int64_t k = 0; k < inner; ++k) {
            const double x = dim == 0 ? v[k * cols + o] : v[o * cols + k];
            m2 += (x - mean) * (x - mean);
            se += std::exp(x - mx);
          }
          double want = 0;
          switch (op) {
            case ReduceOp::Sum: want = sum; break;
            case ReduceOp::Mean: want = mean; break;
            case ReduceOp::Max: want = mx; break;
            case ReduceOp::Min: want = mn; break;
            case ReduceOp::Var: want = m2 / (inner - 1); break;
            case ReduceOp::LogSumExp: want = mx + std::log(se); break;
            default: break;
          }
          const float got = out.data<float>()[o];
          EXPECT_NEAR(got, want, 2e-5 * (std::fabs(want) + 1.0) * std::sqrt(static_cast<double>(inner)) / 10)
              << op_name(op) << " dim=" << dim << " isa=" << isa_name(isa) << " o=" << o;
        }
      }
    }
  }
}

TEST(CpuKernels, LargeSumIsIndependentOfThreadCount) {
  const int64_t n = 1 << 20;
  std::vector<float> v = test_values(n, -1, 1, 17);
  for (float& x : v) {
    if (!std::isfinite(x)) x = 0;
  }
  const Tensor t = make(v);
  auto total = [&] {
    Tensor out = Tensor::empty({}, DType::F32, Device::cpu());
    kernels().reduce(ReduceOp::Sum, DType::F32, make_reduce_loop(out, t, {0}, "sum"), ReduceArgs{});
    return out.data<float>()[0];
  };
  const int saved = num_threads();
  set_num_threads(1);
  const float one = total();
  set_num_threads(2);
  const float two = total();
  set_num_threads(saved);
  EXPECT_EQ(one, two);
  double ref = 0;
  for (float x : v) ref += x;
  EXPECT_NEAR(one, ref, 1e-3);
}

TEST(CpuKernels, SoftmaxRowsSumToOne) {
  const int64_t rows = 9, cols = 333;
  std::vector<float> v = test_values(rows * cols, -20, 20, 5);
  for (float& x : v) {
    if (!std::isfinite(x)) x = 1;
  }
  const Tensor t = from_host(v.data(), {rows, cols}, DType::F32, Device::cpu());
  for (Isa isa : runnable_isas()) {
    for (int64_t dim : {0, 1}) {
      for (bool log : {false, true}) {
        Tensor out = Tensor::empty({rows, cols}, DType::F32, Device::cpu());
        kernels_for(isa).softmax(DType::F32, log, make_softmax_loop(out, t, dim, "softmax"));
        const int64_t outer = dim == 1 ? rows : cols, len = dim == 1 ? cols : rows;
        for (int64_t o = 0; o < outer; ++o) {
          double mx = -INFINITY, se = 0;
          auto at = [&](int64_t k) { return dim == 1 ? o * cols + k : k * cols + o; };
          for (int64_t k = 0; k < len; ++k) mx = std::max<double>(mx, v[at(k)]);
          for (int64_t k = 0; k < len; ++k) se += std::exp(v[at(k)] - mx);
          for (int64_t k = 0; k < len; ++k) {
            const double want = log ? v[at(k)] - mx - std::log(se) : std::exp(v[at(k)] - mx) / se;
            ASSERT_NEAR(out.data<float>()[at(k)], want, 1e-6 + 1e-5 * std::fabs(want))
                << "isa=" << isa_name(isa) << " dim=" << dim << " log=" << log;
          }
        }
      }
    }
  }
}

TEST(CpuKernels, IntegerOpsWrapWithoutUndefinedBehaviour) {
  const int32_t big = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(fn::Add{}(big, int32_t(1)), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(fn::Neg{}(std::numeric_limits<int32_t>::min()), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(fn::FloorDivide{}(int32_t(-7), int32_t(2)), -4);
  EXPECT_EQ(fn::Remainder{}(int32_t(-7), int32_t(2)), 1);
  EXPECT_EQ(fn::Remainder{}(int32_t(7), int32_t(-2)), -1);
  EXPECT_EQ(fn::FloorDivide{}(int32_t(7), int32_t(0)), 0);
  EXPECT_EQ(fn::FloorDivide{}(std::numeric_limits<int32_t>::min(), int32_t(-1)), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(fn::Pow{}(int64_t(3), int64_t(4)), 81);
  EXPECT_EQ(fn::Pow{}(int64_t(2), int64_t(-1)), 0);
  EXPECT_EQ(fn::Pow{}(int64_t(-1), int64_t(-3)), -1);
  EXPECT_DOUBLE_EQ(fn::FloorDivide{}(7.5, -2.0), -4.0);
  EXPECT_DOUBLE_EQ(fn::Remainder{}(-7.5, 2.0), 0.5);
}
