// The interface every device backend implements. Front-ends (csrc/core/ops) have already checked
// arguments, computed output shapes and dtypes, and allocated outputs: a backend runs kernels only.
// A backend that lacks a kernel leaves the default, which raises NotImplementedError naming the op,
// dtype and device.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>

#include "core/op_enums.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace ember {

class QTensor;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual std::shared_ptr<Storage> allocate(size_t nbytes, Device device) = 0;

  // Host <-> device transfer of a contiguous byte range (for the CPU backend both are memcpy).
  virtual void copy_from_host(const void* src, const Tensor& dst_contiguous);
  virtual void copy_to_host(const Tensor& src_contiguous, void* dst);

  // dst and src have the same shape and device, any layouts; dtypes may differ: the copy casts.
  virtual void copy(const Tensor& src, const Tensor& dst);
  virtual void fill(const Tensor& dst, Scalar value);
  // src and dst have the same shape and dtype.
  virtual void unary(UnaryOp op, const Tensor& src, const Tensor& dst);
  // a and b are expanded to dst's shape and share one dtype; dst has that dtype (bool for compares).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dst);
  // cond (bool), a, b are expanded to dst's shape; a, b and dst share one dtype.
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& dst);
  // dst has src's shape with every reduced dim set to 1; `reduced` marks those dims (sorted, unique).
  // ArgMax/ArgMin write int64 and reduce exactly one dim; All/Any write bool.
  virtual void reduce(ReduceOp op, const Tensor& src, const Dims& reduced, const Tensor& dst, const ReduceArgs& args);
  virtual void softmax(const Tensor& src, int64_t dim, bool log, const Tensor& dst);
  // a: (..., M, K), b: (..., K, N), dst: (..., M, N) with the same batch shape (expanded, any strides).
  virtual void matmul(const Tensor& a, const Tensor& b, const Tensor& dst);
  // index is 1-D int64 (checked against src.size(dim) by the kernel, which raises IndexError).
  virtual void index_select(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst);
  // index has dst's shape; dst[i..][j][k..] = src[i..][index[i..][j][k..]][k..] along dim.
  virtual void gather(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst);
  // dst[..index[i]..] += src[i] along dim; dst is written in place.
  virtual void scatter_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);
  // dst[i] = start + i * step, in dst's dtype; dst is contiguous 1-D.
  virtual void arange(const Tensor& dst, Scalar start, Scalar step);
  // Keeps elements with col - row <= k (lower) or col - row >= k (upper) over the last two dims.
  virtual void triangle(const Tensor& src, const Tensor& dst, int64_t k, bool lower);
  // Counter-based random numbers: Philox4x32-10 keyed by seed, counter starting at `offset`.
  virtual void random_uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high);
  virtual void random_normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std);

  // ---- norm (issue #3) ----
  // Normalises each row of src over its last dim, which has stride 1 in src and dst (the other dims
  // have any strides): rms ? x / sqrt(mean(x^2) + eps) : (x - mean) / sqrt(var + eps), then * weight
  // and + bias where defined. weight and bias are contiguous 1-D of the last dim's size, both in src's
  // dtype or both in the compute dtype (float32, float64 for float64 src); dst has src's shape and dtype.
  virtual void layer_norm(const Tensor& src, const Tensor& weight, const Tensor& bias, double eps, bool rms,
                          const Tensor& dst);
  // src and dst contiguous (N, C, *); statistics over each of `groups` groups of C / groups channels,
  // then per channel * weight + bias (contiguous (C), dtypes as for layer_norm) where defined.
  virtual void group_norm(const Tensor& src, int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                          const Tensor& dst);
  // src, dst: (batch, heads, seq, head_dim) with head_dim contiguous (stride 1) and any strides for the
  // other dims; cos, sin: contiguous (seq, head_dim / 2) of the positions in src, both in src's dtype or
  // both in the compute dtype.
  // interleaved: rotates pairs (0, 1), (2, 3), ... (GPT-J) instead of (i, i + head_dim / 2) (GPT-NeoX).
  virtual void rope(const Tensor& src, const Tensor& cos, const Tensor& sin, bool interleaved, const Tensor& dst);
  // dst = a * sigmoid(b); a, b (the halves of glu's input) and dst have one shape and floating dtype, any strides.
  virtual void glu(const Tensor& a, const Tensor& b, const Tensor& dst);
  // ---- pool (issue #3) ----
  // Pooling and resampling over the last two dims of (N, C, H, W) tensors (1-d ops pass H == 1).
  // src may have any strides; dst (and indices, int64, laid out like dst) is (N, C, OH, OW), either
  // contiguous or channels-last (channel stride 1, as the front-ends allocate it for channels-last
  // inputs). Front-ends have checked every size against torch's rules.
  struct PoolWindow {
    int64_t kernel[2] = {1, 1}, stride[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1};
  };
  enum class ResampleMode { Nearest, NearestExact, Linear };
  // indices: undefined when not wanted; else the flat position h * W + w of each maximum in its plane.
  virtual void max_pool2d(const Tensor& src, const PoolWindow& window, const Tensor& dst, const Tensor& indices);
  // divisor_override: 0 = none.
  virtual void avg_pool2d(const Tensor& src, const PoolWindow& window, bool count_include_pad,
                          int64_t divisor_override, const Tensor& dst);
  virtual void adaptive_avg_pool2d(const Tensor& src, const Tensor& dst);
  // scale_h / scale_w: the scale factors the caller gave (<= 0: none); they enter the source index math.
  virtual void resample2d(const Tensor& src, ResampleMode mode, bool align_corners, double scale_h, double scale_w,
                          const Tensor& dst);
  // ---- conv (issue #3) ----
  // Per spatial axis (H, W): stride, padding before the first element, dilation.
  struct ConvParams {
    int64_t stride[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1};
    int64_t groups = 1;
  };
  // x: (N, C_in, H, W), any strides; w: contiguous (C_out, C_in / groups, KH, KW); bias: undefined or
  // (C_out,); dst: contiguous (N, C_out, OH, OW), whose shape fixes the padding after the last
  // element. One-dimensional convolutions come with H == KH == 1.
  virtual void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst, const ConvParams& p);
  // The transposed convolution (the gradient of conv2d with respect to its input): x: (N, C_in, H, W),
  // any strides; w: contiguous (C_in, C_out / groups, KH, KW); dst: contiguous (N, C_out, OH, OW), where
  // OH = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + 1 + the output padding (past the end).
  virtual void conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst,
                                const ConvParams& p);
  // ---- attention (issue #3) ----
  // q (B, H, L, E), k (B, Hk, S, E), v (B, Hk, S, Ev), any strides, one dtype; Hk divides H and query
  // head h reads kv head h / (H / Hk). mask: none, or bool / float (float64 for float64 inputs,
  // float32 otherwise) expanded to (B, H, L, S). causal keeps key j for query l when
  // j <= l + S - L. dst (B, H, L, Ev) has q's dtype; a query that sees no key gets zeros.
  virtual void scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const std::optional<Tensor>& mask, bool causal, double scale,
                                            const Tensor& dst);
  // ---- ordering (issue #3) ----
  enum class CumulativeOp { Sum, Prod };
  enum class ScatterReduce { None, Add, Multiply };
  // values (src's dtype) and indices (int64) have src's shape: each row along dim sorted stably by
  // value, NaN greatest (first when descending, last otherwise).
  virtual void sort(const Tensor& src, int64_t dim, bool descending, const Tensor& values, const Tensor& indices);
  // values / indices have src's shape with size k along dim: the k largest (or smallest) of each row,
  // in order when `sorted`, ties in index order.
  virtual void topk(const Tensor& src, int64_t dim, int64_t k, bool largest, bool sorted, const Tensor& values,
                    const Tensor& indices);
  // dst has src's shape and dtype: running sums or products along dim (f16/bf16 accumulate in
  // float32, float32 in float64, integers in int64 and wrap).
  virtual void cumulative(CumulativeOp op, const Tensor& src, int64_t dim, const Tensor& dst);
  // In place: dst[.., index[i..][j][k..], ..] (reduce)= src[i..][j][k..] along dim. index and src have
  // one shape (src may be expanded) that fits dst outside dim. IndexError for an index out of range,
  // raised before dst is written.
  virtual void scatter(ScatterReduce reduce, const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);
  // In place: dst.select(dim, index[j]) += alpha * src.select(dim, j), or = for index_copy. index is
  // 1-D int64/int32 with src.size(dim) entries; dst and src agree outside dim.
  virtual void index_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha);
  virtual void index_copy(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);
  // ---- quant (issue #4) ----
  // src: contiguous float32 of dst's shape; writes dst's blocks row by row (quant/reference.h math).
  virtual void quantize(const Tensor& src, const QTensor& dst);
  // dst: contiguous float32 of src's shape.
  virtual void dequantize(const QTensor& src, const Tensor& dst);
  // x (M, K) with stride 1 along K, any row stride; w (N, K); dst contiguous (M, N) of x's dtype
  // (float32, float16 or bfloat16); M, N, K > 0.
  virtual void qmatmul(const Tensor& x, const QTensor& w, const Tensor& dst);
  // ids: contiguous int64 (n,), checked here against w's rows (IndexError); dst contiguous float32 (n, D).
  virtual void qembedding(const Tensor& ids, const QTensor& w, const Tensor& dst);

 protected:
  [[noreturn]] void missing(const char* op, const Tensor& t) const;
};

// The backend for a device; raises RuntimeError naming `op` when the backend is not built or the
// device is not present.
Backend& backend_for(Device device, const char* op);
void register_backend(DeviceType type, Backend* backend);
bool backend_available(DeviceType type);

}  // namespace ember
