// Convolutions on the CPU: fills a ConvArgs for the per-ISA kernel (kernels/conv_gemm.cpp,
// kernels/conv_depthwise.cpp). A transposed convolution runs as stride_h x stride_w ordinary
// convolutions, one per output phase, each with the kernel taps that reach that phase (no FLOPs
// are spent on the zeros a zero-insertion formulation would multiply).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

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
  for (int d = 0; d < 4; ++d) a.y_strides[d] = dst.strides()[d];
  return a;
}

// dst (N, C, H, W), any strides: bias[c] everywhere, or zeros.
void fill_bias(const Tensor& dst, const Tensor& bias) {
  const int64_t isz = static_cast<int64_t>(dst.itemsize());
  const Dims& sh = dst.shape();
  const Dims& st = dst.strides();
  char* base = static_cast<char*>(dst.data_ptr());
  const char zero[8] = {};
  for (int64_t n = 0; n < sh[0]; ++n) {
    for (int64_t c = 0; c < sh[1]; ++c) {
      const char* v = bias.defined() ? static_cast<const char*>(bias.data_ptr()) + c * bias.strides()[0] * isz : zero;
      for (int64_t i = 0; i < sh[2]; ++i) {
        for (int64_t j = 0; j < sh[3]; ++j) {
          std::memcpy(base + (n * st[0] + c * st[1] + i * st[2] + j * st[3]) * isz, v, static_cast<size_t>(isz));
        }
      }
    }
  }
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

namespace {

// The kernel taps of one output phase along one axis of a transposed convolution, as an ordinary
// convolution: outputs o = phase + stride * m (m < out) read x[m - pad + u * dil] through taps[u].
struct PhaseAxis {
  int64_t out = 0, pad = 0, dil = 1;
  SmallVec<int64_t, 16> taps;  // kernel indices, in the order of u
};

PhaseAxis phase_axis(int64_t phase, int64_t stride, int64_t padding, int64_t dilation, int64_t kernel, int64_t out) {
  PhaseAxis a;
  a.out = out > phase ? (out - phase + stride - 1) / stride : 0;
  // o = i * stride - padding + k * dilation: tap k serves this phase when stride divides
  // phase + padding - k * dilation, and then reads i = m + (phase + padding - k * dilation) / stride.
  SmallVec<int64_t, 16> ks;
  for (int64_t k = 0; k < kernel; ++k) {
    if ((phase + padding - k * dilation) % stride == 0) ks.push_back(k);
  }
  if (ks.empty()) return a;
  a.dil = ks.size() > 1 ? (ks[1] - ks[0]) * dilation / stride : 1;
  // Taps in decreasing k read increasing i: u-th tap is ks[T - 1 - u], reading m + c - (T - 1 - u) * dil.
  const int64_t T = static_cast<int64_t>(ks.size());
  const int64_t c = (phase + padding - ks[0] * dilation) / stride;
  a.pad = (T - 1) * a.dil - c;
  for (int64_t u = 0; u < T; ++u) a.taps.push_back(ks[T - 1 - u]);
  return a;
}

// One output phase of a transposed convolution: its taps per axis and its weight.
struct Phase {
  int64_t ph = 0, pw = 0;
  PhaseAxis h, w;
  Tensor weight;  // (C_out, C_in_g, TH, TW); undefined when no tap reaches the phase
};

// Fills every phase's weight from w (C_in, C_out_g, KH, KW) in one pass over w (each phase takes a
// few taps of every line of w); E: the element's bits.
template <class E>
void gather_phase_weights(const E* w, std::vector<Phase>& phases, int64_t groups, int64_t C_in_g, int64_t C_out_g,
                          int64_t KH, int64_t KW) {
  parallel_for(groups * C_out_g, 4, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {  // row = g * C_out_g + co
      const int64_t g = row / C_out_g, co = row % C_out_g;
      for (Phase& phase : phases) {
        if (!phase.weight.defined()) continue;
        const int64_t taps = static_cast<int64_t>(phase.h.taps.size() * phase.w.taps.size());
        E* d = phase.weight.data<E>() + row * C_in_g * taps;
        for (int64_t ci = 0; ci < C_in_g; ++ci) {
          const E* s = w + ((g * C_in_g + ci) * C_out_g + co) * KH * KW;
          for (int64_t kh : phase.h.taps) {
            for (int64_t kw : phase.w.taps) *d++ = s[kh * KW + kw];
          }
        }
      }
    }
  });
}

}  // namespace

// Output phase (ph, pw) of a transposed convolution, the outputs (ph + stride_h * i, pw + stride_w * j),
// is an ordinary convolution of x with the kernel taps that reach it; each phase runs as one.
void conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst,
                      const Backend::ConvParams& p) {
  const int64_t C_in = w.shape()[0], C_out_g = w.shape()[1], KH = w.shape()[2], KW = w.shape()[3];
  const int64_t groups = p.groups, C_in_g = C_in / groups, C_out = C_out_g * groups;
  const int64_t OH = dst.shape()[2], OW = dst.shape()[3];
  std::vector<Phase> phases;
  for (int64_t ph = 0; ph < std::min(p.stride[0], OH); ++ph) {
    for (int64_t pw = 0; pw < std::min(p.stride[1], OW); ++pw) {
      Phase phase;
      phase.ph = ph;
      phase.pw = pw;
      phase.h = phase_axis(ph, p.stride[0], p.padding[0], p.dilation[0], KH, OH);
      phase.w = phase_axis(pw, p.stride[1], p.padding[1], p.dilation[1], KW, OW);
      const int64_t TH = static_cast<int64_t>(phase.h.taps.size()), TW = static_cast<int64_t>(phase.w.taps.size());
      if (TH > 0 && TW > 0) {
        phase.weight = Tensor::empty({C_out, C_in_g, TH, TW}, w.dtype(), w.device(), "conv_transpose2d");
      }
      phases.push_back(std::move(phase));
    }
  }
  if (w.itemsize() == 4) {
    gather_phase_weights(w.data<uint32_t>(), phases, groups, C_in_g, C_out_g, KH, KW);
  } else {
    gather_phase_weights(w.data<uint16_t>(), phases, groups, C_in_g, C_out_g, KH, KW);
  }
  for (const Phase& phase : phases) {
    const Tensor out = dst.with_layout(Layout{{dst.shape()[0], C_out, phase.h.out, phase.w.out},
                                              {dst.strides()[0], dst.strides()[1], dst.strides()[2] * p.stride[0],
                                               dst.strides()[3] * p.stride[1]},
                                              dst.offset() + phase.ph * dst.strides()[2] + phase.pw * dst.strides()[3]});
    if (!phase.weight.defined()) {  // no tap reaches these outputs: bias only
      fill_bias(out, bias);
      continue;
    }
    ConvArgs a = make_args(x, phase.weight, bias, out);
    a.groups = groups;
    a.pad_h = phase.h.pad;
    a.pad_w = phase.w.pad;
    a.dil_h = phase.h.dil;
    a.dil_w = phase.w.dil;
    kernels().conv(a);
  }
}

}  // namespace ember::cpu
