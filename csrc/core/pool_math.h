// Index math of pooling and resampling, written once for every backend (plain integer / float
// arithmetic, no library calls beyond floor). It follows torch's definitions so that window
// positions, output sizes and source pixels agree with torch exactly.
#pragma once
#include <cmath>
#include <cstdint>

namespace ember::pool_math {
// Internal linkage: per-ISA kernel TUs include this header too (see cpu/kernel_args.h).
namespace {

inline int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Output length of a pooling window sweep (torch's pooling_output_shape). With ceil_mode the last
// window may hang over the right padding but must start inside the input or the left padding.
inline int64_t pooled_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// Adaptive pooling: output position o of `out` reads input [start, end) of `in`.
inline int64_t adaptive_start(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
inline int64_t adaptive_end(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

// The scale from output to input coordinates: 1 / scale_factor when the caller gave one (> 0),
// else in / out, computed in the compute type C (float for float32 and the 16-bit types).
template <class C>
C resample_scale(int64_t in, int64_t out, double scale_factor) {
  return scale_factor > 0 ? static_cast<C>(1.0 / scale_factor) : static_cast<C>(in) / static_cast<C>(out);
}

// mode="nearest": torch's legacy rule (floor(o * scale)), with its special cases for equal size
// and exact 2x upsampling. Always float math, whatever the dtype, like torch.
inline int64_t nearest_source(int64_t o, int64_t in, int64_t out, double scale_factor) {
  if (out == in) return o;
  if (out == 2 * in) return o >> 1;
  const float scale = resample_scale<float>(in, out, scale_factor);
  const int64_t i = static_cast<int64_t>(std::floor(static_cast<float>(o) * scale));
  return i < in - 1 ? i : in - 1;
}

// mode="nearest-exact": floor((o + 0.5) * scale), the pixel whose centre is nearest.
inline int64_t nearest_exact_source(int64_t o, int64_t in, int64_t out, double scale_factor) {
  const float scale = resample_scale<float>(in, out, scale_factor);
  const int64_t i = static_cast<int64_t>(std::floor(static_cast<float>((static_cast<double>(o) + 0.5) * scale)));
  return i < in - 1 ? i : in - 1;
}

// Linear interpolation: output o blends input i0 (weight w0) and i1 (weight w1).
template <class C>
struct LinearTap {
  int64_t i0, i1;
  C w0, w1;
};

template <class C>
LinearTap<C> linear_source(int64_t o, int64_t in, int64_t out, bool align_corners, double scale_factor) {
  if (in == out) return {o, o, C(1), C(0)};
  C src;
  if (align_corners) {
    const C scale = out > 1 ? static_cast<C>(in - 1) / static_cast<C>(out - 1) : C(0);
    src = scale * static_cast<C>(o);
  } else {
    const C scale = resample_scale<C>(in, out, scale_factor);
    src = scale * (static_cast<C>(o) + C(0.5)) - C(0.5);
    if (src < C(0)) src = C(0);
  }
  int64_t i0 = static_cast<int64_t>(std::floor(src));
  if (i0 > in - 1) i0 = in - 1;
  C w1 = src - static_cast<C>(i0);
  w1 = w1 < C(0) ? C(0) : (w1 > C(1) ? C(1) : w1);
  return {i0, i0 < in - 1 ? i0 + 1 : i0, C(1) - w1, w1};
}

}  // namespace
}  // namespace ember::pool_math
