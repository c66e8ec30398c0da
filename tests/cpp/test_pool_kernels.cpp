// Every SIMD level's pooling and linear-resampling kernels against naive double-precision loops,
// on float32 planes with a strided layout (every other column) and widths around the vector sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/pool_math.h"
#include "cpu/kernel_table.h"

using namespace ember;
using namespace ember::cpu;

namespace {

struct Planes {
  int64_t n = 2, c = 3, h = 0, w = 0;
  std::vector<float> data;  // (n, c, h, 2 * w): the kernels read every other column
  float at(int64_t p, int64_t r, int64_t col) const { return data[(p * h + r) * 2 * w + 2 * col]; }
};

Planes make_planes(int64_t h, int64_t w, uint32_t seed) {
  Planes x;
  x.h = h;
  x.w = w;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.5f, 4.0f);
  x.data.resize(static_cast<size_t>(x.n * x.c * h * 2 * w));
  for (float& v : x.data) v = dist(rng);
  return x;
}

PlaneGeometry geometry(const Planes& x, int64_t out_h, int64_t out_w, float* dst) {
  PlaneGeometry g;
  g.dtype = DType::F32;
  g.batch = x.n;
  g.channels = x.c;
  g.in_h = x.h;
  g.in_w = x.w;
  g.out_h = out_h;
  g.out_w = out_w;
  g.src = reinterpret_cast<const char*>(x.data.data());
  g.src_stride[3] = 2 * sizeof(float);
  g.src_stride[2] = x.w * g.src_stride[3];
  g.src_stride[1] = x.h * g.src_stride[2];
  g.src_stride[0] = x.c * g.src_stride[1];
  g.dst = reinterpret_cast<char*>(dst);
  g.dst_stride[3] = 1;
  g.dst_stride[2] = out_w;
  g.dst_stride[1] = out_h * out_w;
  g.dst_stride[0] = x.c * out_h * out_w;
  return g;
}

struct WindowCase {
  int64_t h, w, k, s, p, d;
  bool ceil;
};

const WindowCase kWindows[] = {{9, 11, 3, 2, 1, 1, false}, {7, 33, 2, 1, 0, 1, true}, {6, 17, 3, 3, 1, 1, true},
                               {12, 40, 4, 3, 2, 2, true}, {5, 8, 5, 1, 2, 1, false}, {3, 65, 1, 1, 0, 1, false}};

TEST(PoolKernels, MaxAndAverageMatchNaiveLoopsOnEveryIsa) {
  for (const WindowCase& wc : kWindows) {
    const Planes x = make_planes(wc.h, wc.w, static_cast<uint32_t>(wc.w));
    const int64_t oh = pool_math::pooled_size(wc.h, wc.k, wc.s, wc.p, wc.d, wc.ceil);
    const int64_t ow = pool_math::pooled_size(wc.w, wc.k, wc.s, wc.p, wc.d, wc.ceil);
    for (Isa isa : runnable_isas()) {
      for (int kind = 0; kind < 3; ++kind) {  // max, average with padding counted, average without
        if (kind > 0 && wc.d != 1) continue;
        std::vector<float> out(static_cast<size_t>(x.n * x.c * oh * ow));
        Pool2dArgs a;
        a.g = geometry(x, oh, ow, out.data());
        for (int i = 0; i < 2; ++i) {
          a.kernel[i] = wc.k;
          a.stride[i] = wc.s;
          a.pad[i] = wc.p;
          a.dilation[i] = wc.d;
        }
        a.count_include_pad = kind == 1;
        if (kind == 0) kernels_for(isa).max_pool2d(a);
        else kernels_for(isa).avg_pool2d(a);
        for (int64_t pl = 0; pl < x.n * x.c; ++pl) {
          for (int64_t r = 0; r < oh; ++r) {
            for (int64_t col = 0; col < ow; ++col) {
              double best = -std::numeric_limits<double>::infinity(), sum = 0;
              int64_t count = 0;
              for (int64_t i = 0; i < wc.k; ++i) {
                for (int64_t j = 0; j < wc.k; ++j) {
                  const int64_t ir = r * wc.s - wc.p + i * wc.d, ic = col * wc.s - wc.p + j * wc.d;
                  if (ir < 0 || ir >= wc.h || ic < 0 || ic >= wc.w) continue;
                  best = std::max<double>(best, x.at(pl, ir, ic));
                  sum += x.at(pl, ir, ic);
                  ++count;
                }
              }
              const int64_t r0 = r * wc.s - wc.p, c0 = col * wc.s - wc.p;
              const int64_t padded = (std::min(r0 + wc.k, wc.h + wc.p) - r0) * (std::min(c0 + wc.k, wc.w + wc.p) - c0);
              const double want = kind == 0 ? best : sum / static_cast<double>(kind == 1 ? padded : count);
              const float got = out[static_cast<size_t>((pl * oh + r) * ow + col)];
              ASSERT_NEAR(got, want, 1e-6 * std::fabs(want)) << "isa=" << isa_name(isa) << " kind=" << kind << " h=" << wc.h
                                                            << " w=" << wc.w << " at " << pl << "," << r << "," << col;
            }
          }
        }
      }
    }
  }
}

TEST(PoolKernels, AdaptiveAverageMatchesNaiveLoopsOnEveryIsa) {
  const int64_t shapes[][4] = {{7, 7, 1, 1}, {9, 11, 3, 4}, {5, 33, 7, 20}, {16, 17, 16, 1}};
  for (const auto& s : shapes) {
    const Planes x = make_planes(s[0], s[1], 7);
    for (Isa isa : runnable_isas()) {
      std::vector<float> out(static_cast<size_t>(x.n * x.c * s[2] * s[3]));
      Pool2dArgs a;
      a.g = geometry(x, s[2], s[3], out.data());
      kernels_for(isa).adaptive_avg_pool2d(a);
      for (int64_t pl = 0; pl < x.n * x.c; ++pl) {
        for (int64_t r = 0; r < s[2]; ++r) {
          for (int64_t col = 0; col < s[3]; ++col) {
            double sum = 0;
            int64_t count = 0;
            for (int64_t i = pool_math::adaptive_start(r, s[0], s[2]); i < pool_math::adaptive_end(r, s[0], s[2]); ++i) {
              for (int64_t j = pool_math::adaptive_start(col, s[1], s[3]); j < pool_math::adaptive_end(col, s[1], s[3]); ++j) {
                sum += x.at(pl, i, j);
                ++count;
              }
            }
            const double want = sum / static_cast<double>(count);
            ASSERT_NEAR(out[static_cast<size_t>((pl * s[2] + r) * s[3] + col)], want, 1e-6 * want) << "isa=" << isa_name(isa);
          }
        }
      }
    }
  }
}

TEST(PoolKernels, BilinearMatchesNaiveLoopsOnEveryIsa) {
  const int64_t shapes[][4] = {{5, 7, 10, 14}, {9, 33, 4, 17}, {1, 1, 3, 5}, {16, 45, 49, 139}};
  for (const auto& s : shapes) {
    const Planes x = make_planes(s[0], s[1], 11);
    for (bool align : {false, true}) {
      std::vector<int64_t> r0, r1, c0, c1;
      std::vector<double> rw0, rw1, cw0, cw1;
      for (int64_t o = 0; o < s[2]; ++o) {
        const auto t = pool_math::linear_source<double>(o, s[0], s[2], align, 0.0);
        r0.push_back(t.i0), r1.push_back(t.i1), rw0.push_back(t.w0), rw1.push_back(t.w1);
      }
      for (int64_t o = 0; o < s[3]; ++o) {
        const auto t = pool_math::linear_source<double>(o, s[1], s[3], align, 0.0);
        c0.push_back(t.i0), c1.push_back(t.i1), cw0.push_back(t.w0), cw1.push_back(t.w1);
      }
      for (Isa isa : runnable_isas()) {
        std::vector<float> out(static_cast<size_t>(x.n * x.c * s[2] * s[3]));
        Resample2dArgs a;
        a.g = geometry(x, s[2], s[3], out.data());
        a.row0 = r0.data(), a.row1 = r1.data(), a.row_w0 = rw0.data(), a.row_w1 = rw1.data();
        a.col0 = c0.data(), a.col1 = c1.data(), a.col_w0 = cw0.data(), a.col_w1 = cw1.data();
        kernels_for(isa).resample_linear2d(a);
        for (int64_t pl = 0; pl < x.n * x.c; ++pl) {
          for (int64_t r = 0; r < s[2]; ++r) {
            for (int64_t col = 0; col < s[3]; ++col) {
              const double want = rw0[r] * (cw0[col] * x.at(pl, r0[r], c0[col]) + cw1[col] * x.at(pl, r0[r], c1[col])) +
                                  rw1[r] * (cw0[col] * x.at(pl, r1[r], c0[col]) + cw1[col] * x.at(pl, r1[r], c1[col]));
              ASSERT_NEAR(out[static_cast<size_t>((pl * s[2] + r) * s[3] + col)], want, 1e-6 * want)
                  << "isa=" << isa_name(isa) << " align=" << align;
            }
          }
        }
      }
    }
  }
}

}  // namespace

namespace {

// The channels-last kernels (channel stride 1, SIMD across channels) of every SIMD level against the
// planar kernels on the same values, writing channels-last and planar outputs.
TEST(PoolKernels, ChannelsLastMatchesPlanarOnEveryIsa) {
  const int64_t n = 2, c = 11, h = 9, w = 10, oh = 5, ow = 5;
  const Planes planar = make_planes(h, w, 3);  // (n=2, c=3) planes: reuse its values for 2 x 11 channels
  std::vector<float> nchw(static_cast<size_t>(n * c * h * w)), nhwc(nchw.size());
  for (size_t i = 0; i < nchw.size(); ++i) nchw[i] = planar.data[i % planar.data.size()];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t col = 0; col < w; ++col) nhwc[((b * h + r) * w + col) * c + ch] = nchw[((b * c + ch) * h + r) * w + col];
  auto geometry_of = [&](bool channels_last_src, bool channels_last_dst, float* dst) {
    PlaneGeometry g;
    g.batch = n, g.channels = c, g.in_h = h, g.in_w = w, g.out_h = oh, g.out_w = ow;
    const int64_t f = sizeof(float);
    g.src = reinterpret_cast<const char*>(channels_last_src ? nhwc.data() : nchw.data());
    if (channels_last_src) g.src_stride[0] = h * w * c * f, g.src_stride[1] = f, g.src_stride[2] = w * c * f, g.src_stride[3] = c * f;
    else g.src_stride[0] = c * h * w * f, g.src_stride[1] = h * w * f, g.src_stride[2] = w * f, g.src_stride[3] = f;
    g.dst = reinterpret_cast<char*>(dst);
    if (channels_last_dst) g.dst_stride[0] = oh * ow * c, g.dst_stride[1] = 1, g.dst_stride[2] = ow * c, g.dst_stride[3] = c;
    else g.dst_stride[0] = c * oh * ow, g.dst_stride[1] = oh * ow, g.dst_stride[2] = ow, g.dst_stride[3] = 1;
    return g;
  };
  std::vector<int64_t> r0, r1, c0, c1;
  std::vector<double> rw0, rw1, cw0, cw1;
  for (int64_t o = 0; o < oh; ++o) {
    const auto t = pool_math::linear_source<double>(o, h, oh, false, 0.0);
    r0.push_back(t.i0), r1.push_back(t.i1), rw0.push_back(t.w0), rw1.push_back(t.w1);
  }
  for (int64_t o = 0; o < ow; ++o) {
    const auto t = pool_math::linear_source<double>(o, w, ow, false, 0.0);
    c0.push_back(t.i0), c1.push_back(t.i1), cw0.push_back(t.w0), cw1.push_back(t.w1);
  }
  auto run = [&](const KernelTable& k, int op, const PlaneGeometry& g) {
    if (op == 2) {
      Resample2dArgs a;
      a.g = g;
      a.row0 = r0.data(), a.row1 = r1.data(), a.row_w0 = rw0.data(), a.row_w1 = rw1.data();
      a.col0 = c0.data(), a.col1 = c1.data(), a.col_w0 = cw0.data(), a.col_w1 = cw1.data();
      return k.resample_linear2d(a);
    }
    Pool2dArgs a;
    a.g = g;
    for (int i = 0; i < 2; ++i) a.kernel[i] = 3, a.stride[i] = 2, a.pad[i] = 1;
    if (op == 0) k.max_pool2d(a);
    else k.avg_pool2d(a);
  };
  for (int op = 0; op < 3; ++op) {
    std::vector<float> want(static_cast<size_t>(n * c * oh * ow));
    run(kernels_for(Isa::Baseline), op, geometry_of(false, false, want.data()));
    for (Isa isa : runnable_isas()) {
      for (bool cl_dst : {false, true}) {
        std::vector<float> got(want.size());
        run(kernels_for(isa), op, geometry_of(true, cl_dst, got.data()));
        for (int64_t b = 0; b < n; ++b)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < oh * ow; ++i) {
              const float expect = want[static_cast<size_t>((b * c + ch) * oh * ow + i)];
              const float value = got[static_cast<size_t>(cl_dst ? (b * oh * ow + i) * c + ch : (b * c + ch) * oh * ow + i)];
              ASSERT_NEAR(value, expect, 1e-6 * std::fabs(expect)) << "isa=" << isa_name(isa) << " op=" << op << " cl_dst=" << cl_dst;
            }
      }
    }
  }
}

}  // namespace
