#include "core/layout.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "core/error.h"

namespace ember {

std::string shape_str(const Dims& shape) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) os << ",";
  os << ")";
  return os.str();
}

int64_t checked_numel(const Dims& shape, const char* op) {
  int64_t n = 1;
  for (int64_t d : shape) {
    EMBER_CHECK(d >= 0, Value, op, ": negative dimension ", d, " in shape ", shape_str(shape));
    EMBER_CHECK(!mul_overflow(n, d, &n), Value, op, ": shape ", shape_str(shape),
                " has more elements than fit in int64");
  }
  return n;
}

Dims contiguous_strides(const Dims& shape) {
  Dims strides(shape.size(), 1);
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, like torch
  EMBER_CHECK(dim >= -n && dim < n, Index, op, ": dim ", dim, " is out of range for a tensor with ",
              ndim, " dims (expected in [", -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Dims out(n, 1);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK(da == db || da == 1 || db == 1, Value, op, ": shapes ", shape_str(a), " and ",
                shape_str(b), " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t Layout::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool Layout::is_contiguous() const {
  for (int64_t d : shape) {
    if (d == 0) return true;
  }
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

bool Layout::is_non_overlapping_and_dense() const {
  if (is_contiguous()) return true;
  Dims order;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] != 1) order.push_back(static_cast<int64_t>(i));
  }
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return strides[x] < strides[y]; });
  int64_t expected = 1;
  for (int64_t d : order) {
    if (strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

std::pair<int64_t, int64_t> Layout::extent() const {
  int64_t lo = offset, hi = offset;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return {offset, offset};
    const int64_t span = (shape[i] - 1) * strides[i];
    if (span < 0) lo += span; else hi += span;
  }
  return {lo, hi + 1};
}

Layout Layout::transpose(int64_t d0, int64_t d1) const {
  d0 = wrap_dim(d0, ndim(), "transpose");
  d1 = wrap_dim(d1, ndim(), "transpose");
  Layout out = *this;
  if (ndim() == 0) return out;
  std::swap(out.shape[d0], out.shape[d1]);
  std::swap(out.strides[d0], out.strides[d1]);
  return out;
}

Layout Layout::permute(const Dims& order) const {
  EMBER_CHECK(static_cast<int64_t>(order.size()) == ndim(), Value, "permute: got ", order.size(),
              " dims ", shape_str(order), " for a tensor of shape ", shape_str(shape));
  Layout out;
  out.offset = offset;
  SmallVec<bool, 8> seen(order.size(), false);
  for (int64_t d : order) {
    const int64_t w = wrap_dim(d, ndim(), "permute");
    EMBER_CHECK(!seen[w], Value, "permute: dim ", d, " repeats in ", shape_str(order));
    seen[w] = true;
    out.shape.push_back(shape[w]);
    out.strides.push_back(strides[w]);
  }
  return out;
}

Layout Layout::narrow(int64_t dim, int64_t start, int64_t length) const {
  EMBER_CHECK(ndim() > 0, Index, "narrow: a 0-d tensor has no dim to narrow");
  dim = wrap_dim(dim, ndim(), "narrow");
  if (start < 0) start += shape[dim];
  EMBER_CHECK(start >= 0 && length >= 0 && start <= shape[dim] - length, Index, "narrow: start ",
              start, " and length ", length, " are out of range for dim ", dim, " of size ",
              shape[dim]);
  Layout out = *this;
  out.shape[dim] = length;
  if (length > 0) out.offset += start * strides[dim];
  return out;
}

Layout Layout::slice(int64_t dim, int64_t start, int64_t stop, int64_t step) const {
  dim = wrap_dim(dim, ndim(), "slice");
  EMBER_CHECK(step > 0, Value, "slice: step must be greater than zero, got ", step);
  const int64_t n = shape[dim];
  auto clamp_index = [n](int64_t i) {
    if (i < 0) i += n;
    return std::clamp<int64_t>(i, 0, n);
  };
  start = clamp_index(start);
  stop = clamp_index(stop);
  const int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  Layout out = *this;
  out.shape[dim] = len;
  if (len > 0) out.offset += start * strides[dim];
  out.strides[dim] = strides[dim] * step;
  return out;
}

Layout Layout::select(int64_t dim, int64_t index) const {
  EMBER_CHECK(ndim() > 0, Index, "select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, ndim(), "select");
  const int64_t n = shape[dim];
  EMBER_CHECK(index >= -n && index < n, Index, "index ", index, " is out of bounds for dim ", dim,
              " with size ", n);
  if (index < 0) index += n;
  Layout out = *this;
  out.offset += index * strides[dim];
  out.shape.erase(dim);
  out.strides.erase(dim);
  return out;
}

Layout Layout::expand(const Dims& sizes) const {
  EMBER_CHECK(static_cast<int64_t>(sizes.size()) >= ndim(), Value, "expand: the target shape ",
              shape_str(sizes), " has fewer dims than the tensor's shape ", shape_str(shape));
  const size_t lead = sizes.size() - shape.size();
  Layout out;
  out.offset = offset;
  out.shape.resize(sizes.size());
  out.strides.resize(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i < lead) {
      EMBER_CHECK(sizes[i] >= 0, Value, "expand: size -1 is not allowed for a new leading dim in ",
                  shape_str(sizes));
      out.shape[i] = sizes[i];
      out.strides[i] = 0;
      continue;
    }
    const int64_t have = shape[i - lead];
    const int64_t want = sizes[i] == -1 ? have : sizes[i];
    EMBER_CHECK(want == have || have == 1, Value, "expand: cannot expand shape ", shape_str(shape),
                " to ", shape_str(sizes), " (dim ", i, ": ", have, " -> ", want, ")");
    EMBER_CHECK(want >= 0, Value, "expand: negative size in ", shape_str(sizes));
    out.shape[i] = want;
    out.strides[i] = want == have ? strides[i - lead] : 0;
  }
  checked_numel(out.shape, "expand");
  return out;
}

Layout Layout::squeeze(const Dims& dims) const {
  SmallVec<bool, 8> drop(shape.size(), false);
  if (dims.empty()) {
    for (size_t i = 0; i < shape.size(); ++i) drop[i] = shape[i] == 1;
  } else {
    for (int64_t d : dims) {
      if (ndim() == 0) { wrap_dim(d, 0, "squeeze"); continue; }
      const int64_t w = wrap_dim(d, ndim(), "squeeze");
      drop[w] = shape[w] == 1;
    }
  }
  Layout out;
  out.offset = offset;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (drop[i]) continue;
    out.shape.push_back(shape[i]);
    out.strides.push_back(strides[i]);
  }
  return out;
}

Layout Layout::unsqueeze(int64_t dim) const {
  dim = wrap_dim(dim, ndim() + 1, "unsqueeze");
  Layout out = *this;
  const int64_t stride = dim < ndim() ? shape[dim] * strides[dim] : 1;
  out.shape.insert(dim, 1);
  out.strides.insert(dim, stride);
  return out;
}

std::optional<Layout> Layout::view_as(const Dims& new_shape) const {
  if (is_contiguous()) return Layout(new_shape, contiguous_strides(new_shape), offset);
  const int64_t n = numel();
  Layout out(new_shape, Dims(new_shape.size(), 0), offset);
  if (n == 0) {
    out.strides = contiguous_strides(new_shape);
    return out;
  }
  // Walk the old dims in chunks that are contiguous among themselves; each chunk must map onto a run
  // of new dims with the same element count.
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = ndim() - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out.strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Dims infer_shape(const Dims& requested, int64_t numel, const char* op) {
  Dims shape = requested;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(infer_at < 0, Value, op, ": only one dim can be -1 in ", shape_str(requested));
      infer_at = static_cast<int64_t>(i);
    } else {
      EMBER_CHECK(shape[i] >= 0, Value, op, ": invalid size ", shape[i], " in ", shape_str(requested));
      EMBER_CHECK(!mul_overflow(known, shape[i], &known), Value, op, ": shape ",
                  shape_str(requested), " overflows int64");
    }
  }
  if (infer_at >= 0) {
    EMBER_CHECK(known != 0 && numel % known == 0, Value, op, ": shape ", shape_str(requested),
                " is invalid for a tensor of ", numel, " elements");
    shape[infer_at] = numel / known;
  } else {
    EMBER_CHECK(known == numel, Value, op, ": shape ", shape_str(requested),
                " is invalid for a tensor of ", numel, " elements");
  }
  return shape;
}

}  // namespace ember
