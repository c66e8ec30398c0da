// Data-movement ops of the CPU backend: fill, where, arange, index_select, gather, scatter_add,
// tril/triu. They move bytes, so they are written once per element size, not per dtype.
#include <cstring>

#include "core/convert.h"
#include "core/error.h"
#include "core/scalar_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_ops.h"
#include "cpu/loop.h"
#include "cpu/loop_builder.h"

namespace ember::cpu {

namespace {

constexpr int64_t kGrain = 32768;

template <class T>
T scalar_as(Scalar s) {
  if constexpr (std::is_floating_point_v<T> || is_half_type<T>::value) {
    return convert<T>(s.to_double());
  } else {
    if (s.kind == Scalar::Kind::Float) return convert<T>(s.d);
    return convert<T>(s.i);
  }
}

// Runs body<U>() with U an unsigned integer type of the dtype's size.
template <class F>
void dispatch_by_size(size_t size, F&& body) {
  switch (size) {
    case 1: body(uint8_t{}); break;
    case 2: body(uint16_t{}); break;
    case 4: body(uint32_t{}); break;
    case 8: body(uint64_t{}); break;
    default: EMBER_THROW(Runtime, "internal: unexpected element size ", size);
  }
}

int64_t read_index(const char* p, DType dtype) {
  if (dtype == DType::I64) {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

int64_t checked_index(int64_t idx, int64_t size, const char* op, int64_t dim) {
  if (idx < -size || idx >= size) {
    EMBER_THROW(Index, op, ": index ", idx, " is out of bounds for dim ", dim, " with size ", size);
  }
  return idx < 0 ? idx + size : idx;
}

}  // namespace

void fill(const Tensor& dst, Scalar value) {
  visit_dtype(dst.dtype(), [&](auto tag) {
    using scalar_t = decltype(tag);
    const scalar_t v = scalar_as<scalar_t>(value);
    ElementwiseLoop loop = make_loop({&dst}, "fill");
    parallel_runs(loop, kGrain, [&](char* const* p, const int64_t* s, int64_t n) {
      char* d = p[0];
      if (s[0] == static_cast<int64_t>(sizeof(scalar_t))) {
        scalar_t* out = reinterpret_cast<scalar_t*>(d);
        for (int64_t i = 0; i < n; ++i) out[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * s[0], &v, sizeof v);
      }
    });
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& dst) {
  ElementwiseLoop loop = make_loop({&dst, &cond, &a, &b}, "where");
  dispatch_by_size(dst.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    parallel_runs(loop, kGrain, [&](char* const* p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        U v;
        const bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
        std::memcpy(&v, c ? p[2] + i * s[2] : p[3] + i * s[3], sizeof v);
        std::memcpy(p[0] + i * s[0], &v, sizeof v);
      }
    });
  });
}

void arange(const Tensor& dst, Scalar start, Scalar step) {
  const int64_t n = dst.numel();
  visit_dtype(dst.dtype(), [&](auto tag) {
    using scalar_t = decltype(tag);
    scalar_t* out = dst.data<scalar_t>();
    if constexpr (std::is_integral_v<scalar_t>) {
      const int64_t s0 = start.to_int(), st = step.to_int();
      for (int64_t i = 0; i < n; ++i) out[i] = convert<scalar_t>(s0 + i * st);
    } else {
      const double s0 = start.to_double(), st = step.to_double();
      for (int64_t i = 0; i < n; ++i) out[i] = convert<scalar_t>(s0 + static_cast<double>(i) * st);
    }
  });
}

void index_select(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst) {
  // Copy loop for one slice along `dim`; every index shifts the src and dst pointers.
  Layout sl = src.layout(), dl = dst.layout();
  sl.shape[dim] = 1;
  dl.shape[dim] = 1;
  const Tensor src_slice = src.with_layout(sl), dst_slice = dst.with_layout(dl);
  const ElementwiseLoop slice = make_loop({&dst_slice, &src_slice}, "index_select");
  const int64_t count = index.numel(), size = src.shape()[dim];
  const int64_t src_step = src.strides()[dim] * static_cast<int64_t>(src.itemsize());
  const int64_t dst_step = dst.strides()[dim] * static_cast<int64_t>(dst.itemsize());
  const int64_t index_step = index.ndim() ? index.strides()[0] * static_cast<int64_t>(index.itemsize()) : 0;
  const char* index_data = static_cast<const char*>(index.data_ptr());
  for (int64_t j = 0; j < count; ++j) checked_index(read_index(index_data + j * index_step, index.dtype()), size, "index_select", dim);
  dispatch_by_size(src.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, slice.numel));
    parallel_for(count, grain, [&](int64_t jb, int64_t je) {
      for (int64_t j = jb; j < je; ++j) {
        int64_t idx = read_index(index_data + j * index_step, index.dtype());
        if (idx < 0) idx += size;
        ElementwiseLoop l = slice;
        l.data[0] += j * dst_step;
        l.data[1] += idx * src_step;
        for_each_run(l, 0, l.numel, [&](char* const* p, const int64_t* s, int64_t n) {
          if (s[0] == sizeof(U) && s[1] == sizeof(U)) {
            std::memcpy(p[0], p[1], n * sizeof(U));
          } else {
            for (int64_t i = 0; i < n; ++i) std::memcpy(p[0] + i * s[0], p[1] + i * s[1], sizeof(U));
          }
        });
      }
    });
  });
}

void gather(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst) {
  // src viewed with index's shape and stride 0 along dim: the loop points at the start of each
  // line along dim, the index picks the element.
  Layout sl(index.shape(), src.strides(), src.offset());
  sl.strides[dim] = 0;
  const Tensor src_view = src.with_layout(sl);
  const ElementwiseLoop loop = make_loop({&dst, &index, &src_view}, "gather");
  const int64_t size = src.shape()[dim];
  const int64_t step = src.strides()[dim] * static_cast<int64_t>(src.itemsize());
  const DType idx_dtype = index.dtype();
  dispatch_by_size(src.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    parallel_runs(loop, kGrain, [&](char* const* p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t idx = checked_index(read_index(p[1] + i * s[1], idx_dtype), size, "gather", dim);
        std::memcpy(p[0] + i * s[0], p[2] + i * s[2] + idx * step, sizeof(U));
      }
    });
  });
}

void scatter_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src) {
  Layout dl(index.shape(), dst.strides(), dst.offset());
  dl.strides[dim] = 0;
  const Tensor dst_view = dst.with_layout(dl);
  Layout sl(index.shape(), src.strides(), src.offset());
  const Tensor src_view = src.with_layout(sl);
  const ElementwiseLoop loop = make_loop({&dst_view, &index, &src_view}, "scatter_add");
  const int64_t size = dst.shape()[dim];
  const int64_t step = dst.strides()[dim] * static_cast<int64_t>(dst.itemsize());
  const DType idx_dtype = index.dtype();
  // Check every index first: a bad one must not leave dst half updated.
  for_each_run(loop, 0, loop.numel, [&](char* const* p, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) checked_index(read_index(p[1] + i * s[1], idx_dtype), size, "scatter_add", dim);
  });
  visit_dtype(dst.dtype(), [&](auto tag) {
    using scalar_t = decltype(tag);
    // Serial: several indices may hit the same element.
    for_each_run(loop, 0, loop.numel, [&](char* const* p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t idx = read_index(p[1] + i * s[1], idx_dtype);
        if (idx < 0) idx += size;
        scalar_t* target = reinterpret_cast<scalar_t*>(p[0] + i * s[0] + idx * step);
        scalar_t value;
        std::memcpy(&value, p[2] + i * s[2], sizeof value);
        if constexpr (is_half_type<scalar_t>::value) {
          *target = scalar_t(static_cast<float>(*target) + static_cast<float>(value));
        } else if constexpr (std::is_same_v<scalar_t, bool>) {
          *target = *target || value;
        } else {
          *target = em_add(*target, value);
        }
      }
    });
  });
}

void triangle(const Tensor& src, const Tensor& dst, int64_t k, bool lower) {
  cpu_backend().copy(src, dst);
  const int64_t nd = dst.ndim(), rows = dst.shape()[nd - 2], cols = dst.shape()[nd - 1];
  if (dst.numel() == 0) return;
  const int64_t batch = dst.numel() / (rows * cols);
  const size_t isz = dst.itemsize();
  // dst is freshly allocated and contiguous (the front-end guarantees it).
  char* base = static_cast<char*>(dst.data_ptr());
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t r = 0; r < rows; ++r) {
      char* row = base + (bi * rows + r) * cols * static_cast<int64_t>(isz);
      int64_t lo, hi;  // zero the columns [lo, hi)
      if (lower) {
        lo = std::clamp<int64_t>(r + k + 1, 0, cols);
        hi = cols;
      } else {
        lo = 0;
        hi = std::clamp<int64_t>(r + k, 0, cols);
      }
      if (hi > lo) std::memset(row + lo * static_cast<int64_t>(isz), 0, (hi - lo) * isz);
    }
  }
}

}  // namespace ember::cpu
