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

 protected:
  [[noreturn]] void missing(const char* op, const Tensor& t) const;
};

// The backend for a device; raises RuntimeError naming `op` when the backend is not built or the
// device is not present.
Backend& backend_for(Device device, const char* op);
void register_backend(DeviceType type, Backend* backend);
bool backend_available(DeviceType type);

}  // namespace ember
