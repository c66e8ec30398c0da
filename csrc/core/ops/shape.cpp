// View ops: new layouts over the same storage.
#include "core/error.h"
#include "core/ops.h"

namespace ember {

Tensor view(const Tensor& x, const Dims& shape) {
  const Dims resolved = infer_shape(shape, x.numel(), "view");
  std::optional<Layout> l = x.layout().view_as(resolved);
  EMBER_CHECK(l.has_value(), Value, "view: shape ", shape_str(resolved), " is not compatible with the strides ",
              shape_str(x.strides()), " of a tensor of shape ", shape_str(x.shape()), "; use reshape() (which copies)");
  return x.with_layout(*l);
}

Tensor view_dtype(const Tensor& x, DType dtype) {
  const int64_t from = static_cast<int64_t>(x.itemsize()), to = static_cast<int64_t>(itemsize(dtype));
  if (from == to) return Tensor(x.storage(), x.layout(), dtype);
  const auto fail = [&](const char* why) {
    EMBER_THROW(Value, "view(dtype): cannot view a ", x.describe(), " with strides ", shape_str(x.strides()),
                " as ", dtype_name(dtype), ": ", why);
  };
  if (x.ndim() == 0) fail("a 0-d tensor cannot change its element size");
  if (x.strides().back() != 1 && x.shape().back() > 1) fail("the last dim must have stride 1");
  if (reinterpret_cast<uintptr_t>(x.data_ptr()) % static_cast<uintptr_t>(to) != 0) {
    fail("the data address is not aligned for the new dtype (copy it first)");
  }
  Layout l = x.layout();
  if (from > to) {
    const int64_t r = from / to;
    for (int64_t d = 0; d + 1 < l.ndim(); ++d) l.strides[d] *= r;
    l.shape.back() *= r;
    l.strides.back() = 1;
    l.offset *= r;
    return Tensor(x.storage(), l, dtype);
  }
  const int64_t r = to / from;
  if (l.shape.back() % r != 0) fail("the size of the last dim must be a multiple of the ratio of element sizes");
  for (int64_t d = 0; d + 1 < l.ndim(); ++d) {
    if (l.strides[d] % r != 0) fail("every other stride must be a multiple of the ratio of element sizes");
    l.strides[d] /= r;
  }
  l.shape.back() /= r;
  l.strides.back() = 1;
  l.offset /= r;  // data_ptr() is aligned, so the storage start is too
  return Tensor(x.storage(), l, dtype);
}

Tensor as_strided(const Tensor& x, const Dims& shape, const Dims& strides, std::optional<int64_t> offset) {
  EMBER_CHECK(shape.size() == strides.size(), Value, "as_strided: shape ", shape_str(shape), " and strides ",
              shape_str(strides), " have different lengths");
  checked_numel(shape, "as_strided");
  for (int64_t s : strides) {
    EMBER_CHECK(s >= 0, Value, "as_strided: negative strides are not supported, got ", shape_str(strides));
  }
  const Layout l(shape, strides, offset ? *offset : x.offset());
  EMBER_CHECK(l.offset >= 0, Value, "as_strided: negative storage offset ", l.offset);
  const int64_t isz = static_cast<int64_t>(x.itemsize());
  const int64_t capacity = static_cast<int64_t>(x.storage()->nbytes()) / isz;
  int64_t hi = l.offset;
  bool overflow = false;
  for (size_t d = 0; d < shape.size() && l.numel() > 0; ++d) {
    int64_t span = 0;
    overflow = overflow || mul_overflow(shape[d] - 1, strides[d], &span) || span > INT64_MAX - hi;
    if (!overflow) hi += span;
  }
  EMBER_CHECK(!overflow && (l.numel() == 0 ? l.offset <= capacity : hi < capacity), Value, "as_strided: a view of shape ",
              shape_str(shape), ", strides ", shape_str(strides), " at offset ", l.offset,
              " reaches past the storage of ", capacity, " ", dtype_name(x.dtype()), " elements");
  return x.with_layout(l);
}

Tensor reshape(const Tensor& x, const Dims& shape) {
  const Dims resolved = infer_shape(shape, x.numel(), "reshape");
  if (std::optional<Layout> l = x.layout().view_as(resolved)) return x.with_layout(*l);
  const Tensor c = contiguous(x);
  return c.with_layout(Layout(resolved, contiguous_strides(resolved), c.offset()));
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) { return x.with_layout(x.layout().transpose(d0, d1)); }
Tensor permute(const Tensor& x, const Dims& order) { return x.with_layout(x.layout().permute(order)); }

Tensor matrix_transpose(const Tensor& x) {
  EMBER_CHECK(x.ndim() >= 2, Value, "mT: tensor must have at least 2 dims, got shape ", shape_str(x.shape()));
  return transpose(x, -2, -1);
}

Tensor reverse_dims(const Tensor& x) {
  Dims order(x.shape().size(), 0);
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(order.size() - 1 - i);
  return permute(x, order);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  return x.with_layout(x.layout().narrow(dim, start, length));
}
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step) {
  EMBER_CHECK(x.ndim() > 0, Index, "slice: cannot slice a 0-d tensor");
  return x.with_layout(x.layout().slice(dim, start, stop, step));
}
Tensor select(const Tensor& x, int64_t dim, int64_t index) { return x.with_layout(x.layout().select(dim, index)); }
Tensor expand(const Tensor& x, const Dims& shape) { return x.with_layout(x.layout().expand(shape)); }

Tensor broadcast_to(const Tensor& x, const Dims& shape) {
  checked_numel(shape, "broadcast_to");
  const Dims b = broadcast_shapes(x.shape(), shape, "broadcast_to");
  EMBER_CHECK(b == shape, Value, "broadcast_to: cannot broadcast shape ", shape_str(x.shape()), " to ", shape_str(shape));
  return expand(x, shape);
}

Tensor squeeze(const Tensor& x, const Dims& dims) { return x.with_layout(x.layout().squeeze(dims)); }
Tensor unsqueeze(const Tensor& x, int64_t dim) { return x.with_layout(x.layout().unsqueeze(dim)); }

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.ndim() == 0) return reshape(x, {1});
  const int64_t s = wrap_dim(start_dim, x.ndim(), "flatten"), e = wrap_dim(end_dim, x.ndim(), "flatten");
  EMBER_CHECK(s <= e, Value, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Dims shape;
  for (int64_t d = 0; d < s; ++d) shape.push_back(x.shape()[d]);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  for (int64_t d = e + 1; d < x.ndim(); ++d) shape.push_back(x.shape()[d]);
  return reshape(x, shape);
}

Tensor unflatten(const Tensor& x, int64_t dim, const Dims& sizes) {
  EMBER_CHECK(x.ndim() > 0, Value, "unflatten: cannot unflatten a 0-d tensor");
  EMBER_CHECK(!sizes.empty(), Value, "unflatten: sizes must be non-empty");
  dim = wrap_dim(dim, x.ndim(), "unflatten");
  const Dims resolved = infer_shape(sizes, x.shape()[dim], "unflatten");
  Dims shape;
  for (int64_t d = 0; d < dim; ++d) shape.push_back(x.shape()[d]);
  for (int64_t s : resolved) shape.push_back(s);
  for (int64_t d = dim + 1; d < x.ndim(); ++d) shape.push_back(x.shape()[d]);
  return reshape(x, shape);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  EMBER_CHECK(x.ndim() > 0, Value, "split: cannot split a 0-d tensor");
  dim = wrap_dim(dim, x.ndim(), "split");
  const int64_t n = x.shape()[dim];
  EMBER_CHECK(split_size > 0 || (split_size == 0 && n == 0), Value, "split: split_size must be positive, got ", split_size);
  std::vector<Tensor> out;
  if (n == 0) {
    out.push_back(x);
    return out;
  }
  for (int64_t start = 0; start < n; start += split_size) out.push_back(narrow(x, dim, start, std::min(split_size, n - start)));
  return out;
}

std::vector<Tensor> split_sizes(const Tensor& x, const Dims& sizes, int64_t dim) {
  EMBER_CHECK(x.ndim() > 0, Value, "split: cannot split a 0-d tensor");
  dim = wrap_dim(dim, x.ndim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    EMBER_CHECK(s >= 0, Value, "split: sizes must be non-negative, got ", shape_str(sizes));
    total += s;
  }
  EMBER_CHECK(total == x.shape()[dim], Value, "split: sizes ", shape_str(sizes), " sum to ", total,
              " but dim ", dim, " has size ", x.shape()[dim]);
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, dim, start, s));
    start += s;
  }
  return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  EMBER_CHECK(chunks > 0, Value, "chunk: chunks must be positive, got ", chunks);
  EMBER_CHECK(x.ndim() > 0, Value, "chunk: cannot chunk a 0-d tensor");
  const int64_t n = x.shape()[wrap_dim(dim, x.ndim(), "chunk")];
  if (n == 0) return std::vector<Tensor>(static_cast<size_t>(chunks), x);  // torch: `chunks` empty pieces
  const int64_t size = (n + chunks - 1) / chunks;
  return split(x, size, dim);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  EMBER_CHECK(x.ndim() > 0, Value, "unbind: cannot unbind a 0-d tensor");
  dim = wrap_dim(dim, x.ndim(), "unbind");
  std::vector<Tensor> out;
  for (int64_t i = 0; i < x.shape()[dim]; ++i) out.push_back(select(x, dim, i));
  return out;
}

}  // namespace ember
