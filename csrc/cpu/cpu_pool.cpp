// The CPU backend's pooling and resampling: turns tensors into the kernels' plain arguments,
// builds the per-axis source tables of resampling, and runs nearest resampling (a gather that only
// moves bytes, so it is written once per element size).
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/pool_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {

namespace {

PlaneGeometry geometry(const Tensor& src, const Tensor& dst) {
  PlaneGeometry g;
  g.dtype = src.dtype();
  g.batch = src.shape()[0];
  g.channels = src.shape()[1];
  g.in_h = src.shape()[2];
  g.in_w = src.shape()[3];
  g.out_h = dst.shape()[2];
  g.out_w = dst.shape()[3];
  g.src = static_cast<const char*>(src.data_ptr());
  for (int d = 0; d < 4; ++d) g.src_stride[d] = src.strides()[d] * static_cast<int64_t>(src.itemsize());
  g.dst = static_cast<char*>(dst.data_ptr());
  for (int d = 0; d < 4; ++d) g.dst_stride[d] = dst.strides()[d];
  return g;
}

Pool2dArgs pool_args(const Tensor& src, const Backend::PoolWindow& w, const Tensor& dst) {
  Pool2dArgs a;
  a.g = geometry(src, dst);
  for (int d = 0; d < 2; ++d) {
    a.kernel[d] = w.kernel[d];
    a.stride[d] = w.stride[d];
    a.pad[d] = w.padding[d];
    a.dilation[d] = w.dilation[d];
  }
  return a;
}

// Source positions and weights of one axis for linear resampling.
struct LinearTable {
  std::vector<int64_t> i0, i1;
  std::vector<double> w0, w1;
};

LinearTable linear_table(int64_t in, int64_t out, bool align_corners, double scale) {
  LinearTable t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.w0.resize(out);
  t.w1.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    const pool_math::LinearTap<double> tap = pool_math::linear_source<double>(o, in, out, align_corners, scale);
    t.i0[o] = tap.i0;
    t.i1[o] = tap.i1;
    t.w0[o] = tap.w0;
    t.w1[o] = tap.w1;
  }
  return t;
}

std::vector<int64_t> nearest_table(int64_t in, int64_t out, bool exact, double scale) {
  std::vector<int64_t> t(out);
  for (int64_t o = 0; o < out; ++o) {
    t[o] = exact ? pool_math::nearest_exact_source(o, in, out, scale) : pool_math::nearest_source(o, in, out, scale);
  }
  return t;
}

// Channels-last input and output: each output pixel copies its source pixel's channels at once.
void nearest_pixels(const PlaneGeometry& g, size_t itemsize, const std::vector<int64_t>& rows,
                    const std::vector<int64_t>& cols) {
  const size_t pixel = itemsize * static_cast<size_t>(g.channels);
  const int64_t isz = static_cast<int64_t>(itemsize);
  const int64_t grain = g.out_w * g.channels >= 16384 ? 1 : 16384 / (g.out_w * g.channels);
  parallel_for(g.batch * g.out_h, grain, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / g.out_h, oh = item % g.out_h;
      const char* in = g.src + n * g.src_stride[0] + rows[oh] * g.src_stride[2];
      char* out = g.dst + (n * g.dst_stride[0] + oh * g.dst_stride[2]) * isz;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        std::memcpy(out + ow * g.dst_stride[3] * isz, in + cols[ow] * g.src_stride[3], pixel);
      }
    }
  });
}

template <class U>
void nearest_gather(const PlaneGeometry& g, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols) {
  const int64_t items = g.batch * g.channels * g.out_h;
  const int64_t grain = g.out_w >= 16384 ? 1 : 16384 / g.out_w;
  const int64_t cs = g.src_stride[3];
  parallel_for(items, grain, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t plane = item / g.out_h, oh = item % g.out_h;
      U* out = reinterpret_cast<U*>(g.dst) + (plane / g.channels) * g.dst_stride[0] +
               (plane % g.channels) * g.dst_stride[1] + oh * g.dst_stride[2];
      const int64_t ds = g.dst_stride[3];
      if (ds != 1) {  // a channels-last output
        const char* row = g.src + (plane / g.channels) * g.src_stride[0] + (plane % g.channels) * g.src_stride[1] +
                          rows[oh] * g.src_stride[2];
        for (int64_t ow = 0; ow < g.out_w; ++ow) std::memcpy(out + ow * ds, row + cols[ow] * cs, sizeof(U));
        continue;
      }
      if (item > begin && oh > 0 && rows[oh] == rows[oh - 1]) {  // upsampling repeats rows
        std::memcpy(out, out - g.dst_stride[2], g.out_w * sizeof(U));
        continue;
      }
      const char* row = g.src + (plane / g.channels) * g.src_stride[0] + (plane % g.channels) * g.src_stride[1] +
                        rows[oh] * g.src_stride[2];
      if (cs == static_cast<int64_t>(sizeof(U))) {
        const U* in = reinterpret_cast<const U*>(row);
        for (int64_t ow = 0; ow < g.out_w; ++ow) out[ow] = in[cols[ow]];
      } else {
        for (int64_t ow = 0; ow < g.out_w; ++ow) std::memcpy(out + ow, row + cols[ow] * cs, sizeof(U));
      }
    }
  });
}

}  // namespace

void max_pool2d(const Tensor& src, const Backend::PoolWindow& window, const Tensor& dst, const Tensor& indices) {
  Pool2dArgs a = pool_args(src, window, dst);
  if (indices.defined()) a.indices = indices.data<int64_t>();
  kernels().max_pool2d(a);
}

void avg_pool2d(const Tensor& src, const Backend::PoolWindow& window, bool count_include_pad, int64_t divisor_override,
                const Tensor& dst) {
  Pool2dArgs a = pool_args(src, window, dst);
  a.count_include_pad = count_include_pad;
  a.divisor_override = divisor_override;
  kernels().avg_pool2d(a);
}

void adaptive_avg_pool2d(const Tensor& src, const Tensor& dst) {
  Pool2dArgs a;
  a.g = geometry(src, dst);
  kernels().adaptive_avg_pool2d(a);
}

void resample2d(const Tensor& src, Backend::ResampleMode mode, bool align_corners, double scale_h, double scale_w,
                const Tensor& dst) {
  const PlaneGeometry g = geometry(src, dst);
  if (mode != Backend::ResampleMode::Linear) {
    const bool exact = mode == Backend::ResampleMode::NearestExact;
    const std::vector<int64_t> rows = nearest_table(g.in_h, g.out_h, exact, scale_h);
    const std::vector<int64_t> cols = nearest_table(g.in_w, g.out_w, exact, scale_w);
    if (g.channels > 1 && g.dst_stride[1] == 1 && g.src_stride[1] == static_cast<int64_t>(src.itemsize())) {
      return nearest_pixels(g, src.itemsize(), rows, cols);
    }
    switch (src.itemsize()) {
      case 1: nearest_gather<uint8_t>(g, rows, cols); break;
      case 2: nearest_gather<uint16_t>(g, rows, cols); break;
      case 4: nearest_gather<uint32_t>(g, rows, cols); break;
      case 8: nearest_gather<uint64_t>(g, rows, cols); break;
      default: EMBER_THROW(Runtime, "interpolate: unexpected element size ", src.itemsize());
    }
    return;
  }
  // Source positions in double for every dtype: torch uses float for float32, whose rounding moves
  // far output pixels by up to ~1e-5 of a pixel; double keeps float32 results within 1e-6.
  const LinearTable rows = linear_table(g.in_h, g.out_h, align_corners, scale_h);
  const LinearTable cols = linear_table(g.in_w, g.out_w, align_corners, scale_w);
  Resample2dArgs a;
  a.g = g;
  a.row0 = rows.i0.data();
  a.row1 = rows.i1.data();
  a.row_w0 = rows.w0.data();
  a.row_w1 = rows.w1.data();
  a.col0 = cols.i0.data();
  a.col1 = cols.i1.data();
  a.col_w0 = cols.w0.data();
  a.col_w1 = cols.w1.data();
  kernels().resample_linear2d(a);
}

}  // namespace ember::cpu
