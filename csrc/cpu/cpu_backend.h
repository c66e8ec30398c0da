#pragma once
#include "core/backend.h"

namespace ember::cpu {

// The process-wide CPU backend.
Backend& cpu_backend();

// ---- norm (issue #3): CpuBackend's overrides, defined in cpu_norm.cpp (contracts in core/backend.h) ----
void layer_norm(const Tensor& src, const Tensor& weight, const Tensor& bias, double eps, bool rms, const Tensor& dst);
void group_norm(const Tensor& src, int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                const Tensor& dst);
void rope(const Tensor& src, const Tensor& cos, const Tensor& sin, bool interleaved, const Tensor& dst);
void glu(const Tensor& a, const Tensor& b, const Tensor& dst);
// ---- pool (issue #3): the CPU backend's pooling and resampling (cpu_pool.cpp) ----
void max_pool2d(const Tensor& src, const Backend::PoolWindow& window, const Tensor& dst, const Tensor& indices);
void avg_pool2d(const Tensor& src, const Backend::PoolWindow& window, bool count_include_pad, int64_t divisor_override,
                const Tensor& dst);
void adaptive_avg_pool2d(const Tensor& src, const Tensor& dst);
void resample2d(const Tensor& src, Backend::ResampleMode mode, bool align_corners, double scale_h, double scale_w,
                const Tensor& dst);
// ---- conv (issue #3) ----
void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst, const Backend::ConvParams& p);
void conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst,
                      const Backend::ConvParams& p);
// Bytes of scratch the convolution kernels hold now, and the most they held since the last reset.
int64_t conv_workspace_bytes();
int64_t conv_workspace_peak_bytes();
void reset_conv_workspace_peak();
// ---- attention (issue #3): cpu/cpu_attention.cpp ----
void scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
                                  bool causal, double scale, const Tensor& dst);
// ---- ordering (issue #3): csrc/cpu/cpu_ordering.cpp ----
void sort(const Tensor& src, int64_t dim, bool descending, const Tensor& values, const Tensor& indices);
void topk(const Tensor& src, int64_t dim, int64_t k, bool largest, bool sorted, const Tensor& values,
          const Tensor& indices);
void cumulative(Backend::CumulativeOp op, const Tensor& src, int64_t dim, const Tensor& dst);
void scatter(Backend::ScatterReduce reduce, const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);
void index_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha);
void index_copy(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);
// ---- quant (issue #4): csrc/cpu/cpu_quant.cpp ----
void quantize(const Tensor& src, const QTensor& dst);
void dequantize(const QTensor& src, const Tensor& dst);
void qmatmul(const Tensor& x, const QTensor& w, const Tensor& dst);
void qembedding(const Tensor& ids, const QTensor& w, const Tensor& dst);

}  // namespace ember::cpu
