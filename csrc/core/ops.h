// Op front-ends: argument checks, broadcasting, output shape and dtype, allocation, dispatch to the
// device's backend. Each op is created here and only here (the one place autograd will hook into).
#pragma once
#include <optional>
#include <vector>

#include "core/backend.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace ember {

// ---- creation ----
Tensor empty(const Dims& shape, DType dtype, Device device);
Tensor full(const Dims& shape, Scalar value, DType dtype, Device device);
Tensor zeros(const Dims& shape, DType dtype, Device device);
Tensor ones(const Dims& shape, DType dtype, Device device);
// dtype: int64 when start, end and step are integers, else float32 (torch's rule), unless given.
Tensor arange(Scalar start, Scalar end, Scalar step, std::optional<DType> dtype, Device device);
Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device);
Tensor eye(int64_t n, int64_t m, DType dtype, Device device);
// Copies `nbytes` of host memory holding a C-contiguous array of `shape` and `dtype`.
Tensor from_host(const void* data, const Dims& shape, DType dtype, Device device);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
Tensor tril(const Tensor& x, int64_t k);
Tensor triu(const Tensor& x, int64_t k);

// ---- random (Philox4x32-10; see csrc/cpu/cpu_random.cpp) ----
void manual_seed(uint64_t seed);
uint64_t initial_seed();
Tensor rand(const Dims& shape, DType dtype, Device device);
Tensor randn(const Dims& shape, DType dtype, Device device);
Tensor uniform(const Dims& shape, double low, double high, DType dtype, Device device);
Tensor normal(const Dims& shape, double mean, double std, DType dtype, Device device);

// ---- conversion and copies ----
Tensor to_dtype(const Tensor& x, DType dtype);  // returns x itself when the dtype matches
Tensor to_device(const Tensor& x, Device device);
Tensor contiguous(const Tensor& x);              // x itself when already contiguous
Tensor clone(const Tensor& x);
// Writes src (broadcast to dst's shape, cast to dst's dtype) into dst's memory.
void copy_into(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& dst, Scalar value);

// ---- views (no copy) ----
Tensor reshape(const Tensor& x, const Dims& shape);  // a view when strides allow, else a copy
Tensor view(const Tensor& x, const Dims& shape);     // ValueError when strides do not allow a view
// The bytes of x read as `dtype` (torch's Tensor.view(dtype)): with another element size the last dim
// must have stride 1 and is scaled; ValueError when the layout or the address alignment does not allow it.
Tensor view_dtype(const Tensor& x, DType dtype);
// A view of x's storage with any shape, strides and offset (in elements of x's dtype); ValueError when
// it would reach outside the storage or a stride is negative.
Tensor as_strided(const Tensor& x, const Dims& shape, const Dims& strides, std::optional<int64_t> offset);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor permute(const Tensor& x, const Dims& order);
Tensor matrix_transpose(const Tensor& x);            // .mT: swaps the last two dims
Tensor reverse_dims(const Tensor& x);                // .T: all dims reversed (numpy semantics)
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor expand(const Tensor& x, const Dims& shape);
Tensor broadcast_to(const Tensor& x, const Dims& shape);
Tensor squeeze(const Tensor& x, const Dims& dims);   // empty dims: every size-1 dim
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim);
Tensor unflatten(const Tensor& x, int64_t dim, const Dims& sizes);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim);
std::vector<Tensor> split_sizes(const Tensor& x, const Dims& sizes, int64_t dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
std::vector<Tensor> unbind(const Tensor& x, int64_t dim);

// ---- elementwise ----
// An operand of a binary op: a tensor or a Python number.
struct Operand {
  Tensor tensor;
  Scalar scalar;
  bool is_scalar = false;
  Operand(const Tensor& t) : tensor(t) {}  // NOLINT: implicit
  Operand(Scalar s) : scalar(s), is_scalar(true) {}  // NOLINT: implicit
};
// torch's result_type: dimensioned tensors outrank 0-d tensors, which outrank Python numbers, unless
// a lower-ranked operand is of a higher category (bool < integer < floating).
DType result_type(const std::vector<const Operand*>& operands);

Tensor unary(UnaryOp op, const Tensor& x);
Tensor binary(BinaryOp op, const Operand& a, const Operand& b);
// In place: a op= b, keeping a's dtype (TypeError when the result's category does not fit).
void binary_(BinaryOp op, const Tensor& a, const Operand& b);
Tensor where(const Tensor& cond, const Operand& a, const Operand& b);
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
Tensor clamp_tensor(const Tensor& x, const std::optional<Tensor>& min, const std::optional<Tensor>& max);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Operand& value);
Tensor pow(const Operand& base, const Operand& exponent);

// ---- reductions ----
// dims: nullopt reduces everything. dtype: accumulate/output dtype override for sum/prod/mean.
Tensor reduce(ReduceOp op, const Tensor& x, const std::optional<Dims>& dims, bool keepdim,
              std::optional<DType> dtype = std::nullopt);
Tensor var(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim);
Tensor std_dev(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim);
Tensor arg_reduce(ReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor softmax(const Tensor& x, int64_t dim, bool log);

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- indexing ----
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor masked_select(const Tensor& x, const Tensor& mask);
Tensor nonzero(const Tensor& x);  // (count, ndim) int64

// Shared checks.
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
void check_writable(const Tensor& t, const char* op);

}  // namespace ember
