// Helpers shared by the pooling kernel TUs (pool.cpp for planar layouts, pool_channels_last.cpp).
// Kernel-TU rules apply (cpu/kernel_args.h): everything here lives in the ISA's inline namespace.
#pragma once
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/vec_io.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {
namespace pool_detail {

// Integers are pooled in their own type with scalar loops; floats in their compute type with SIMD.
template <class T> constexpr bool kVectorised = !is_int_v<T>;

// A malloc'd scratch array (kernel TUs use no std containers, see cpu/kernel_args.h).
template <class C>
struct Scratch {
  C* p;
  explicit Scratch(int64_t n) : p(static_cast<C*>(std::malloc(sizeof(C) * static_cast<size_t>(n > 0 ? n : 1)))) {
    if (!p) kernel_error(kKernelRuntimeError, "pooling: out of memory for a scratch buffer");
  }
  ~Scratch() { std::free(p); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

struct MaxOp {
  template <class C>
  static C identity() {
    return std::numeric_limits<C>::has_infinity ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::lowest();
  }
  template <class V>
  static V combine(V a, V b) {
    if constexpr (std::is_integral_v<V>) return b > a ? b : a;
    else return em_max(a, b);  // NaN wins, like torch
  }
};

struct SumOp {
  template <class C>
  static C identity() { return C(0); }
  template <class V>
  static V combine(V a, V b) { return a + b; }
};

inline int64_t plane_offset(const PlaneGeometry& g, int64_t plane) {
  return (plane / g.channels) * g.src_stride[0] + (plane % g.channels) * g.src_stride[1];
}

// Offset in elements of output row oh of a plane (columns follow at g.dst_stride[3]).
inline int64_t dst_offset(const PlaneGeometry& g, int64_t plane, int64_t oh) {
  return (plane / g.channels) * g.dst_stride[0] + (plane % g.channels) * g.dst_stride[1] + oh * g.dst_stride[2];
}

// Window o along one axis: input positions [first, last) with step dilation, clipped to the input,
// and its length counting padding (the count_include_pad divisor part, torch's rule).
struct Span {
  int64_t first, last, padded;
};

inline Span window_span(int64_t o, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t start = o * stride - pad;
  const int64_t stop = start + (kernel - 1) * dilation + 1;
  int64_t first = start;
  while (first < 0) first += dilation;
  const int64_t padded_end = start + kernel < in + pad ? start + kernel : in + pad;
  return {first, stop < in ? stop : in, padded_end - start};
}

inline Span row_span(const Pool2dArgs& a, int64_t oh) {
  return window_span(oh, a.g.in_h, a.kernel[0], a.stride[0], a.pad[0], a.dilation[0]);
}
inline Span col_span(const Pool2dArgs& a, int64_t ow) {
  return window_span(ow, a.g.in_w, a.kernel[1], a.stride[1], a.pad[1], a.dilation[1]);
}

// Average pooling's divisor part along one axis (average pooling has no dilation).
inline int64_t divisor_part(const Pool2dArgs& a, const Span& s) {
  return a.count_include_pad ? s.padded : s.last - s.first;
}

}  // namespace pool_detail

// Channels-last kernels (pool_channels_last.cpp), SIMD across channels: they return false, doing
// nothing, unless the channel stride is the element size and the dtype is float32/float16/bfloat16.
bool channels_last_window_pool(const Pool2dArgs& a, bool average);
bool channels_last_adaptive_avg_pool(const Pool2dArgs& a);
bool channels_last_resample_linear(const Resample2dArgs& a);

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
