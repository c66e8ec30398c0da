// Plain structs that carry pooling and resampling work into the kernels (rules: cpu/kernel_args.h).
// Every op works on (N, C, H, W) planes; 1-d ops run with H == 1.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace ember::cpu {

struct PlaneGeometry {
  DType dtype = DType::F32;
  int64_t batch = 0, channels = 0;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  const char* src = nullptr;
  int64_t src_stride[4] = {};  // bytes: batch, channel, row, column (any sign)
  char* dst = nullptr;         // (batch, channels, out_h, out_w) of dtype, contiguous or channels-last
  int64_t dst_stride[4] = {};  // elements: batch, channel, row, column (max pooling's indices share them)
};

// Window sweeps (torch's max_pool2d / avg_pool2d); the front-end checked the sizes.
struct Pool2dArgs {
  PlaneGeometry g;
  int64_t kernel[2] = {1, 1}, stride[2] = {1, 1}, pad[2] = {0, 0}, dilation[2] = {1, 1};
  int64_t* indices = nullptr;      // max pool: laid out like dst (h * in_w + w in the plane), or null
  bool count_include_pad = true;   // avg pool
  int64_t divisor_override = 0;    // avg pool: 0 = none
};

// Linear resampling: output row o blends input rows row0[o], row1[o] with weights row_w0[o],
// row_w1[o]; columns likewise.
struct Resample2dArgs {
  PlaneGeometry g;
  const int64_t* row0 = nullptr;
  const int64_t* row1 = nullptr;
  const double* row_w0 = nullptr;
  const double* row_w1 = nullptr;
  const int64_t* col0 = nullptr;
  const int64_t* col1 = nullptr;
  const double* col_w0 = nullptr;
  const double* col_w1 = nullptr;
};

}  // namespace ember::cpu
