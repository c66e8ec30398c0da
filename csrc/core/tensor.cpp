#include "core/tensor.h"

#include <algorithm>
#include <numeric>

#include "core/backend.h"
#include "core/error.h"

namespace ember {

Tensor Tensor::empty(const Dims& shape, DType dtype, Device device, const char* op) {
  const int64_t n = checked_numel(shape, op);
  int64_t nbytes = 0;
  EMBER_CHECK(!mul_overflow(n, static_cast<int64_t>(ember::itemsize(dtype)), &nbytes), Value,
              op, ": shape ", shape_str(shape), " of ", dtype_name(dtype), " is too large");
  return Tensor(backend_for(device, op).allocate(static_cast<size_t>(nbytes), device), Layout(shape), dtype);
}

Tensor Tensor::empty_like(const Tensor& like, DType dtype, const char* op) {
  const Layout& l = like.layout();
  if (l.is_contiguous() || !l.is_non_overlapping_and_dense()) return empty(l.shape, dtype, like.device(), op);
  // Keep the permutation of a dense, permuted layout: strides ranked like the source's.
  Dims order(l.shape.size(), 0);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return l.strides[a] > l.strides[b]; });
  Dims strides(l.shape.size(), 0);
  int64_t s = 1;
  for (size_t i = order.size(); i-- > 0;) {
    strides[order[i]] = s;
    s *= std::max<int64_t>(l.shape[order[i]], 1);
  }
  Tensor out = empty(l.shape, dtype, like.device(), op);
  return out.with_layout(Layout(l.shape, strides, 0));
}

int64_t Tensor::size(int64_t dim) const {
  EMBER_CHECK(ndim() > 0, Index, "size: a 0-d tensor has no dims");
  return shape()[wrap_dim(dim, ndim(), "size")];
}

std::string Tensor::describe() const {
  return std::string(dtype_name(dtype_)) + " tensor of shape " + shape_str(shape()) + " on " + device().str();
}

}  // namespace ember
