// Convolutions on the CPU: fills a ConvArgs for the per-ISA kernel (kernels/conv_gemm.cpp,
// kernels/conv_depthwise.cpp). A transposed convolution runs as the ordinary convolution of the
// input with zeros inserted between neighbours (in_dil = stride) by the flipped, transposed weight;
// the zeros are never stored (the im2col packing skips them).
#include <atomic>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/kernel_table.h"

namespace ember::cpu {

namespace {
std::atomic<int64_t> g_workspace{0};
std::atomic<int64_t> g_workspace_peak{0};

ConvArgs make_args(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst) {
  ConvArgs a;
  a.dtype = dst.dtype();
  a.N = x.shape()[0];
  a.C_in = x.shape()[1];
  a.H = x.shape()[2];
  a.W = x.shape()[3];
  a.C_out = dst.shape()[1];
  a.KH = w.shape()[2];
  a.KW = w.shape()[3];
  a.OH = dst.shape()[2];
  a.OW = dst.shape()[3];
  a.x = x.data_ptr();
  for (int d = 0; d < 4; ++d) a.x_strides[d] = x.strides()[d];
  a.w = w.data_ptr();
  if (bias.defined()) {
    a.bias = bias.data_ptr();
    a.bias_stride = bias.strides()[0];
  }
  a.y = dst.data_ptr();
  return a;
}
}  // namespace

void conv_workspace_changed(int64_t delta_bytes) {
  const int64_t now = g_workspace.fetch_add(delta_bytes) + delta_bytes;
  int64_t peak = g_workspace_peak.load();
  while (now > peak && !g_workspace_peak.compare_exchange_weak(peak, now)) {
  }
}
int64_t conv_workspace_bytes() { return g_workspace.load(); }
int64_t conv_workspace_peak_bytes() { return g_workspace_peak.load(); }
void reset_conv_workspace_peak() { g_workspace_peak.store(g_workspace.load()); }

void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst, const Backend::ConvParams& p) {
  ConvArgs a = make_args(x, w, bias, dst);
  a.groups = p.groups;
  a.stride_h = p.stride[0];
  a.stride_w = p.stride[1];
  a.pad_h = p.padding[0];
  a.pad_w = p.padding[1];
  a.dil_h = p.dilation[0];
  a.dil_w = p.dilation[1];
  kernels().conv(a);
}

void conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst,
                      const Backend::ConvParams& p) {
  // w (C_in, C_out_g, KH, KW) -> wf (C_out, C_in_g, KH, KW) with both kernel axes reversed.
  const int64_t C_in = w.shape()[0], C_out_g = w.shape()[1], KH = w.shape()[2], KW = w.shape()[3];
  const int64_t groups = p.groups, C_in_g = C_in / groups, KK = KH * KW;
  const Tensor wf = Tensor::empty({C_out_g * groups, C_in_g, KH, KW}, w.dtype(), w.device(), "conv_transpose2d");
  const size_t isz = w.itemsize();
  const char* src = static_cast<const char*>(w.data_ptr());
  char* out = static_cast<char*>(wf.data_ptr());
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t co = 0; co < C_out_g; ++co) {
      for (int64_t ci = 0; ci < C_in_g; ++ci) {
        const char* s = src + (((g * C_in_g + ci) * C_out_g + co) * KK) * isz;
        char* d = out + (((g * C_out_g + co) * C_in_g + ci) * KK) * isz;
        for (int64_t k = 0; k < KK; ++k) std::memcpy(d + (KK - 1 - k) * isz, s + k * isz, isz);
      }
    }
  }
  ConvArgs a = make_args(x, wf, bias, dst);
  a.groups = groups;
  a.in_dil_h = p.stride[0];
  a.in_dil_w = p.stride[1];
  a.dil_h = p.dilation[0];
  a.dil_w = p.dilation[1];
  a.pad_h = p.dilation[0] * (KH - 1) - p.padding[0];
  a.pad_w = p.dilation[1] * (KW - 1) - p.padding[1];
  kernels().conv(a);
}

}  // namespace ember::cpu
