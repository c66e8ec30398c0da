// Every SIMD level's layer / RMS / group norm and rope kernels (issue #3) against double-precision
// references, on float32 rows whose lengths hit every vector tail.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/ops.h"
#include "cpu/kernel_table.h"
#include "cpu/loop_builder.h"

using namespace ember;
using namespace ember::cpu;

namespace {

std::vector<float> random_values(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor tensor_of(const std::vector<float>& v, const Dims& shape) {
  return from_host(v.data(), shape, DType::F32, Device::cpu());
}

TEST(NormKernels, RowNormMatchesDoubleOnEveryLevel) {
  for (int64_t n : {1, 7, 16, 37, 1000, 4099}) {
    const int64_t rows = 5;
    const std::vector<float> x = random_values(rows * n, -3, 5, static_cast<uint32_t>(n));
    const std::vector<float> w = random_values(n, -2, 2, 11), b = random_values(n, -2, 2, 12);
    const Tensor src = tensor_of(x, {rows, n}), weight = tensor_of(w, {n}), bias = tensor_of(b, {n});
    for (Isa isa : runnable_isas()) {
      for (bool rms : {false, true}) {
        Tensor dst = Tensor::empty({rows, n}, DType::F32, Device::cpu());
        RowNormArgs a;
        a.rms = rms;
        a.eps = 1e-5;
        a.length = n;
        a.weight = weight.data_ptr();
        a.bias = rms ? nullptr : bias.data_ptr();
        Layout dl = dst.layout(), sl = src.layout();
        dl.shape[1] = sl.shape[1] = 1;
        const Tensor d1 = dst.with_layout(dl), s1 = src.with_layout(sl);
        a.rows = make_loop({&d1, &s1}, "test");
        kernels_for(isa).row_norm(a);
        for (int64_t r = 0; r < rows; ++r) {
          const float* xr = x.data() + r * n;
          double mean = 0, var = 0;
          if (!rms) {
            for (int64_t i = 0; i < n; ++i) mean += xr[i];
            mean /= static_cast<double>(n);
          }
          for (int64_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
          const double rstd = 1.0 / std::sqrt(var / static_cast<double>(n) + 1e-5);
          for (int64_t i = 0; i < n; ++i) {
            const double want = (xr[i] - mean) * rstd * w[i] + (rms ? 0.0 : b[i]);
            ASSERT_NEAR(dst.data<float>()[r * n + i], want, 1e-5 * (1 + std::fabs(want)))
                << "isa=" << isa_name(isa) << " rms=" << rms << " n=" << n << " row=" << r << " i=" << i;
          }
        }
      }
    }
  }
}

TEST(NormKernels, GroupNormMatchesDoubleOnEveryLevel) {
  const int64_t batch = 2, groups = 3, channels = 2, spatial = 13, len = channels * spatial;
  const std::vector<float> x = random_values(batch * groups * len, -2, 6, 3);
  const std::vector<float> w = random_values(groups * channels, -2, 2, 4), b = random_values(groups * channels, -2, 2, 5);
  for (Isa isa : runnable_isas()) {
    std::vector<float> y(x.size());
    GroupNormArgs a;
    a.eps = 1e-5;
    a.batch = batch;
    a.groups = groups;
    a.channels = channels;
    a.spatial = spatial;
    a.src = x.data();
    a.dst = y.data();
    a.weight = w.data();
    a.bias = b.data();
    kernels_for(isa).group_norm(a);
    for (int64_t row = 0; row < batch * groups; ++row) {
      const float* xr = x.data() + row * len;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < len; ++i) mean += xr[i];
      mean /= static_cast<double>(len);
      for (int64_t i = 0; i < len; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      const double rstd = 1.0 / std::sqrt(var / static_cast<double>(len) + 1e-5);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t ch = (row % groups) * channels + i / spatial;
        const double want = (xr[i] - mean) * rstd * w[ch] + b[ch];
        ASSERT_NEAR(y[row * len + i], want, 1e-5 * (1 + std::fabs(want))) << "isa=" << isa_name(isa) << " i=" << i;
      }
    }
  }
}

TEST(NormKernels, RopeBothFormsOnEveryLevel) {
  for (int64_t dim : {2, 6, 34, 64, 128}) {
    const int64_t heads = 3, seq = 5, half = dim / 2, rows = heads * seq;
    const std::vector<float> x = random_values(rows * dim, -3, 3, static_cast<uint32_t>(dim));
    std::vector<float> c(seq * half), s(seq * half), c2(seq * dim), s2(seq * dim);
    for (int64_t p = 0; p < seq; ++p) {
      for (int64_t i = 0; i < half; ++i) {
        const double angle = (p + 37) * std::pow(10000.0, -2.0 * i / dim);
        c[p * half + i] = static_cast<float>(std::cos(angle));
        s[p * half + i] = static_cast<float>(std::sin(angle));
        c2[p * dim + 2 * i] = c2[p * dim + 2 * i + 1] = c[p * half + i];
        s2[p * dim + 2 * i] = -s[p * half + i];
        s2[p * dim + 2 * i + 1] = s[p * half + i];
      }
    }
    for (Isa isa : runnable_isas()) {
      for (bool interleaved : {false, true}) {
        std::vector<float> y(x.size());
        RopeArgs a;
        a.interleaved = interleaved;
        a.batch = 1;
        a.heads = heads;
        a.seq = seq;
        a.head_dim = dim;
        a.src = x.data();
        a.dst = y.data();
        a.src_strides[0] = a.dst_strides[0] = rows * dim;
        a.src_strides[1] = a.dst_strides[1] = seq * dim;
        a.src_strides[2] = a.dst_strides[2] = dim;
        a.cos = interleaved ? c2.data() : c.data();
        a.sin = interleaved ? s2.data() : s.data();
        kernels_for(isa).rope(a);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t p = r % seq;
          for (int64_t i = 0; i < half; ++i) {
            const int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
            const double x1 = x[r * dim + i1], x2 = x[r * dim + i2];
            const double cc = c[p * half + i], ss = s[p * half + i];
            ASSERT_NEAR(y[r * dim + i1], x1 * cc - x2 * ss, 1e-6 * (1 + std::fabs(x1) + std::fabs(x2)))
                << "isa=" << isa_name(isa) << " interleaved=" << interleaved << " dim=" << dim;
            ASSERT_NEAR(y[r * dim + i2], x2 * cc + x1 * ss, 1e-6 * (1 + std::fabs(x1) + std::fabs(x2)))
                << "isa=" << isa_name(isa) << " interleaved=" << interleaved << " dim=" << dim;
          }
        }
      }
    }
  }
}

TEST(NormKernels, GluOnEveryLevel) {
  const int64_t rows = 3, half = 37;
  const std::vector<float> x = random_values(rows * 2 * half, -8, 8, 9);
  const Tensor src = tensor_of(x, {rows, 2 * half});
  for (Isa isa : runnable_isas()) {
    for (int64_t dim : {0, 1}) {
      if (src.shape()[dim] % 2) continue;
      const int64_t h = src.shape()[dim] / 2;
      // dim 1: contiguous halves; dim 0 of the transpose: strided halves
      const Tensor in = dim == 1 ? src : transpose(src, 0, 1);
      const int64_t d = dim == 1 ? 1 : 0;
      const Tensor a = narrow(in, d, 0, h), b = narrow(in, d, h, h);
      Tensor dst = Tensor::empty(a.shape(), DType::F32, Device::cpu());
      kernels_for(isa).glu(DType::F32, make_loop({&dst, &a, &b}, "glu"));
      const Tensor want = contiguous(binary(BinaryOp::Mul, a, unary(UnaryOp::Sigmoid, b)));
      for (int64_t i = 0; i < dst.numel(); ++i) {
        const float w = want.data<float>()[i];
        ASSERT_NEAR(dst.data<float>()[i], w, 1e-6 * (1 + std::fabs(w))) << "isa=" << isa_name(isa) << " dim=" << dim;
      }
    }
  }
}

}  // namespace
