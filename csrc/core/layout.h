// Shape, strides (in elements) and offset of a tensor view, and the layout math of view ops.
// Nothing here touches data: a view op is a new Layout over the same Storage.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/small_vec.h"

namespace ember {

std::string shape_str(const Dims& shape);  // "(2, 3)"

// a * b into *out; true when it overflows int64.
inline bool mul_overflow(int64_t a, int64_t b, int64_t* out) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_mul_overflow(a, b, out);
#else
  if (a != 0 && b != 0) {
    const int64_t lim = INT64_MAX;
    if ((a > 0 && b > 0 && a > lim / b) || (a < 0 && b < 0 && a < lim / b) ||
        (a > 0 && b < 0 && b < INT64_MIN / a) || (a < 0 && b > 0 && a < INT64_MIN / b)) {
      return true;
    }
  }
  *out = a * b;
  return false;
#endif
}

// Product of the dims; throws ValueError naming `op` on a negative dim or on int64 overflow.
int64_t checked_numel(const Dims& shape, const char* op);
Dims contiguous_strides(const Dims& shape);
// Wraps a possibly negative dim into [0, ndim); IndexError naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// numpy broadcasting of two shapes; ValueError naming `op` and both shapes when incompatible.
Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op);

struct Layout {
  Dims shape;
  Dims strides;
  int64_t offset = 0;

  Layout() = default;
  explicit Layout(Dims shape_, int64_t offset_ = 0)
      : shape(std::move(shape_)), strides(contiguous_strides(shape)), offset(offset_) {}
  Layout(Dims shape_, Dims strides_, int64_t offset_)
      : shape(std::move(shape_)), strides(std::move(strides_)), offset(offset_) {}

  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  friend bool operator==(const Layout& a, const Layout& b) {
    return a.shape == b.shape && a.strides == b.strides && a.offset == b.offset;
  }
  friend bool operator!=(const Layout& a, const Layout& b) { return !(a == b); }
  int64_t numel() const;
  bool is_contiguous() const;
  // Every element at a distinct address and the addresses fill one range with no gap, in some
  // order of the dims (a permuted contiguous tensor). Such a layout can be walked as one flat range.
  bool is_non_overlapping_and_dense() const;
  // Range of element offsets (relative to storage start) that the view can touch: [lo, hi).
  // For an empty view both are `offset`.
  std::pair<int64_t, int64_t> extent() const;

  // View ops. Each returns the new layout or throws with a message naming the op.
  Layout transpose(int64_t d0, int64_t d1) const;
  Layout permute(const Dims& order) const;
  Layout narrow(int64_t dim, int64_t start, int64_t length) const;
  Layout slice(int64_t dim, int64_t start, int64_t stop, int64_t step) const;  // clamped like Python
  Layout select(int64_t dim, int64_t index) const;                            // drops the dim
  Layout expand(const Dims& sizes) const;                                       // -1 keeps a dim
  Layout squeeze(const Dims& dims) const;                                       // empty: all size-1 dims
  Layout unsqueeze(int64_t dim) const;
  // A view with the new shape over the same elements, or nullopt when the strides do not allow it.
  std::optional<Layout> view_as(const Dims& shape) const;
};

// Resolves one -1 in a requested shape against numel; ValueError naming `op` otherwise.
Dims infer_shape(const Dims& requested, int64_t numel, const char* op);

}  // namespace ember
