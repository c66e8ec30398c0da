// The interface every device backend implements. Front-ends (csrc/core/ops) have already checked
// arguments, computed output shapes and dtypes, and allocated outputs: a backend runs kernels only.
// A backend that lacks a kernel leaves the default, which raises NotImplementedError naming the op,
// dtype and device.
#pragma once
#include <cstdint>
#include <memory>

#include "core/op_enums.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace ember {

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

 protected:
  [[noreturn]] void missing(const char* op, const Tensor& t) const;
};

// The backend for a device; raises RuntimeError naming `op` when the backend is not built or the
// device is not present.
Backend& backend_for(Device device, const char* op);
void register_backend(DeviceType type, Backend* backend);
bool backend_available(DeviceType type);

}  // namespace ember
