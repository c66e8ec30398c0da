// Ordering ops of the CPU backend: sort, topk, cumsum / cumprod, scatter, index_add / index_copy.
// Each works on rows along one dim; independent rows run in parallel on the thread pool, and each
// row is processed in a fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/convert.h"
#include "core/error.h"
#include "core/scalar_math.h"
#include "cpu/cpu_backend.h"
#include "cpu/loop.h"
#include "cpu/loop_builder.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {

namespace {

// Rows along `dim` of up to three operands that agree outside dim: `outer` walks the row starts
// (dim's size set to 1), `step[k]` is operand k's byte stride along dim.
struct Rows {
  ElementwiseLoop outer;
  int64_t step[kMaxLoopOperands] = {};
};

Tensor row_starts(const Tensor& t, int64_t dim) {
  Layout l = t.layout();
  l.shape[dim] = 1;
  return t.with_layout(l);
}

int64_t byte_step(const Tensor& t, int64_t dim) { return t.strides()[dim] * static_cast<int64_t>(t.itemsize()); }

Rows make_rows(int64_t dim, const char* op, const Tensor& a, const Tensor& b) {
  Rows r;
  const Tensor ra = row_starts(a, dim), rb = row_starts(b, dim);
  r.outer = make_loop({&ra, &rb}, op);
  r.step[0] = byte_step(a, dim);
  r.step[1] = byte_step(b, dim);
  return r;
}

Rows make_rows(int64_t dim, const char* op, const Tensor& a, const Tensor& b, const Tensor& c) {
  Rows r;
  const Tensor ra = row_starts(a, dim), rb = row_starts(b, dim), rc = row_starts(c, dim);
  r.outer = make_loop({&ra, &rb, &rc}, op);
  r.step[0] = byte_step(a, dim);
  r.step[1] = byte_step(b, dim);
  r.step[2] = byte_step(c, dim);
  return r;
}

// Calls f(ptrs, run_strides, count) for runs of rows, in parallel; `row_cost` is a row's work in
// elements (it sizes the chunks).
template <class F>
void for_each_row_run(const Rows& rows, int64_t row_cost, F&& f) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, row_cost));
  parallel_for(rows.outer.numel, grain, [&](int64_t b, int64_t e) { for_each_run(rows.outer, b, e, f); });
}

template <class T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

int64_t read_index(const char* p, DType dtype) { return dtype == DType::I64 ? load<int64_t>(p) : load<int32_t>(p); }

[[noreturn]] void index_out_of_range(const char* op, int64_t idx, int64_t dim, int64_t size) {
  EMBER_THROW(Index, op, ": index ", idx, " is out of bounds for dim ", dim, " with size ", size);
}

// ---- sort keys --------------------------------------------------------------------------------
// Every value maps to an unsigned key whose integer order is the sort order: NaN greatest (all
// ones), -0 equal to +0, signed integers with the sign bit flipped. Descending sorts flip every bit,
// which keeps equal keys equal, so a stable sort stays stable.

template <size_t N> struct uint_of_size;
template <> struct uint_of_size<1> { using type = uint8_t; };
template <> struct uint_of_size<2> { using type = uint16_t; };
template <> struct uint_of_size<4> { using type = uint32_t; };
template <> struct uint_of_size<8> { using type = uint64_t; };

template <class T>
using sort_key_t = typename uint_of_size<sizeof(T)>::type;

template <class T>
constexpr sort_key_t<T> inf_bits() {
  if constexpr (std::is_same_v<T, float>) return 0x7F800000u;
  else if constexpr (std::is_same_v<T, double>) return 0x7FF0000000000000ull;
  else if constexpr (std::is_same_v<T, f16>) return 0x7C00u;
  else return 0x7F80u;  // bf16
}

template <class T>
sort_key_t<T> order_key(T v) {
  using K = sort_key_t<T>;
  constexpr K sign = K(K(1) << (8 * sizeof(T) - 1));
  if constexpr (std::is_same_v<T, bool>) {
    return K(v);
  } else if constexpr (std::is_integral_v<T>) {
    return std::is_signed_v<T> ? K(K(v) ^ sign) : K(v);
  } else {
    K bits;
    std::memcpy(&bits, &v, sizeof bits);
    const K magnitude = K(bits & K(~sign));
    if (magnitude > inf_bits<T>()) return K(~K(0));  // NaN
    if (magnitude == 0) return sign;                  // +0 and -0
    return (bits & sign) ? K(~bits) : K(bits | sign);
  }
}

// A row element: its key and its index in the row. Keys of up to 4 bytes pack with a 32-bit index
// into one uint64 whose order is (key, index); wider keys or longer rows use a pair.
struct WideItem {
  uint64_t key;
  int64_t index;
  friend bool operator<(const WideItem& a, const WideItem& b) {
    return a.key != b.key ? a.key < b.key : a.index < b.index;
  }
};

inline uint64_t item_key(uint64_t item) { return item >> 32; }
inline int64_t item_index(uint64_t item) { return static_cast<int64_t>(item & 0xFFFFFFFFu); }
inline uint64_t item_key(const WideItem& item) { return item.key; }
inline int64_t item_index(const WideItem& item) { return item.index; }
inline uint64_t make_item(uint64_t key, int64_t index, uint64_t*) { return (key << 32) | static_cast<uint64_t>(index); }
inline WideItem make_item(uint64_t key, int64_t index, WideItem*) { return WideItem{key, index}; }

// Sorts items by key, stably (items arrive in index order). LSD radix sort over the key's bytes;
// passes where every item has the same byte are skipped. `tmp` has room for n items.
template <class Item>
void radix_sort(Item* a, Item* tmp, int64_t n, int key_bytes) {
  std::vector<int64_t> counts(static_cast<size_t>(key_bytes) * 256, 0);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t key = item_key(a[i]);
    for (int b = 0; b < key_bytes; ++b) ++counts[b * 256 + ((key >> (8 * b)) & 0xFF)];
  }
  Item* src = a;
  Item* dst = tmp;
  for (int b = 0; b < key_bytes; ++b) {
    int64_t* c = &counts[b * 256];
    if (c[(item_key(src[0]) >> (8 * b)) & 0xFF] == n) continue;  // one bucket holds everything
    int64_t sum = 0;
    for (int d = 0; d < 256; ++d) {
      const int64_t k = c[d];
      c[d] = sum;
      sum += k;
    }
    for (int64_t i = 0; i < n; ++i) dst[c[(item_key(src[i]) >> (8 * b)) & 0xFF]++] = src[i];
    std::swap(src, dst);
  }
  if (src != a) std::copy(src, src + n, a);
}

template <class Item>
void sort_items(Item* a, Item* tmp, int64_t n, int key_bytes) {
  // Items are unique and ordered by (key, index), so any sort by the full order is a stable sort.
  if (n < 256) std::sort(a, a + n);
  else radix_sort(a, tmp, n, key_bytes);
}

// Leaves the k smallest items in items[0..k), sorted: insertion into a sorted prefix, which most
// later items skip after one comparison with the current k-th (for small k).
template <class Item>
void select_smallest(Item* items, int64_t n, int64_t k) {
  std::sort(items, items + k);
  for (int64_t i = k; i < n; ++i) {
    if (!(items[i] < items[k - 1])) continue;
    const Item v = items[i];
    int64_t p = k - 1;
    for (; p > 0 && v < items[p - 1]; --p) items[p] = items[p - 1];
    items[p] = v;
  }
}

// Per-row work of sort and topk, shared: fills `items` with the row's keys, then `finish` orders
// them and writes the outputs.
template <class T, class Item, class Finish>
void sort_rows_with(const Rows& rows, int64_t length, bool flip, Finish&& finish) {
  for_each_row_run(rows, length * 8, [&](char* const* p, const int64_t* s, int64_t count) {
    std::vector<Item> items(static_cast<size_t>(length)), tmp(static_cast<size_t>(length));
    for (int64_t r = 0; r < count; ++r) {
      const char* src = p[2] + r * s[2];
      for (int64_t i = 0; i < length; ++i) {
        uint64_t key = order_key(load<T>(src + i * rows.step[2]));
        if (flip) key = static_cast<sort_key_t<T>>(~key);
        items[i] = make_item(key, i, static_cast<Item*>(nullptr));
      }
      finish(items.data(), tmp.data(), p[0] + r * s[0], p[1] + r * s[1], src);
    }
  });
}

template <class T, class Item>
void write_row(const Item* items, int64_t n, char* values, int64_t vstep, char* indices, int64_t istep,
               const char* src, int64_t sstep) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t idx = item_index(items[i]);
    store<T>(values + i * vstep, load<T>(src + idx * sstep));
    store<int64_t>(indices + i * istep, idx);
  }
}

// Runs body(T{}, Item*) with the item type that fits the dtype's keys and the row length.
template <class F>
void dispatch_sort(DType dtype, int64_t length, F&& body) {
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (sizeof(T) <= 4 && length <= (int64_t(1) << 32)) body(tag, static_cast<uint64_t*>(nullptr));
    else body(tag, static_cast<WideItem*>(nullptr));
  });
}

// ---- cumulative ---------------------------------------------------------------------------------

template <class T>
using cum_acc_t = std::conditional_t<std::is_floating_point_v<T>, double,
                                     std::conditional_t<is_half_type<T>::value, float, int64_t>>;

template <class T, bool Prod>
void cumulative_rows(const Rows& rows, int64_t length) {
  using A = cum_acc_t<T>;
  const int64_t ds = rows.step[0], ss = rows.step[1];
  for_each_row_run(rows, length, [&](char* const* p, const int64_t* s, int64_t count) {
    // Rows advance together along dim, a block at a time: many rows when they are neighbours (a
    // scan along an outer dim), a few independent chains when they are far apart.
    constexpr int64_t kMaxBlock = 64;
    const int64_t block = std::abs(s[1]) < std::abs(ss) ? kMaxBlock : 4;
    A acc[kMaxBlock];
    for (int64_t r0 = 0; r0 < count; r0 += block) {
      const int64_t nb = std::min(block, count - r0);
      for (int64_t r = 0; r < nb; ++r) acc[r] = Prod ? A(1) : A(0);
      for (int64_t j = 0; j < length; ++j) {
        char* d = p[0] + r0 * s[0] + j * ds;
        const char* x = p[1] + r0 * s[1] + j * ss;
        for (int64_t r = 0; r < nb; ++r) {
          const A v = convert<A>(load<T>(x + r * s[1]));
          acc[r] = Prod ? em_mul(acc[r], v) : em_add(acc[r], v);
          store<T>(d + r * s[0], convert<T>(acc[r]));
        }
      }
    }
  });
}

// ---- scatter / index_add / index_copy -----------------------------------------------------------

// Combines an existing element with an incoming one; f16/bf16 compute in float32.
template <class T>
struct Combine {
  using C = std::conditional_t<is_half_type<T>::value, float, T>;
  Backend::ScatterReduce reduce;
  C alpha;
  T operator()(T old, T in) const {
    switch (reduce) {
      case Backend::ScatterReduce::None: return in;
      case Backend::ScatterReduce::Add:
        if constexpr (std::is_same_v<T, bool>) return old || (alpha && in);
        else return convert<T>(em_add(convert<C>(old), em_mul(alpha, convert<C>(in))));
      case Backend::ScatterReduce::Multiply:
        return convert<T>(em_mul(convert<C>(old), convert<C>(in)));
    }
    return in;
  }
};

template <class T>
typename Combine<T>::C scalar_value(Scalar s) {
  using C = typename Combine<T>::C;
  if constexpr (std::is_same_v<C, bool>) return s.b || s.i != 0;
  else if constexpr (std::is_floating_point_v<C>) return static_cast<C>(s.to_double());
  else return static_cast<C>(s.kind == Scalar::Kind::Float ? static_cast<int64_t>(s.d) : s.i);
}

// Reads the 1-D index into host memory, wrapping negatives; IndexError on any out of range.
std::vector<int64_t> checked_index_list(const Tensor& index, int64_t size, const char* op, int64_t dim) {
  const int64_t n = index.numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  const char* base = static_cast<const char*>(index.data_ptr());
  const int64_t step = index.ndim() ? index.strides()[0] * static_cast<int64_t>(index.itemsize()) : 0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t idx = read_index(base + j * step, index.dtype());
    if (idx < -size || idx >= size) index_out_of_range(op, idx, dim, size);
    out[j] = idx < 0 ? idx + size : idx;
  }
  return out;
}

template <class T>
void index_combine(const char* op, Backend::ScatterReduce reduce, Scalar alpha, const Tensor& dst, int64_t dim,
                   const Tensor& index, const Tensor& src) {
  const int64_t size = dst.shape()[dim], count = src.shape()[dim];
  const std::vector<int64_t> picks = checked_index_list(index, size, op, dim);
  const Rows rows = make_rows(dim, op, dst, src);
  const Combine<T> combine{reduce, scalar_value<T>(alpha)};
  for_each_row_run(rows, count, [&](char* const* p, const int64_t* s, int64_t n) {
    for (int64_t j = 0; j < count; ++j) {
      char* d = p[0] + picks[j] * rows.step[0];
      const char* x = p[1] + j * rows.step[1];
      for (int64_t r = 0; r < n; ++r) store<T>(d + r * s[0], combine(load<T>(d + r * s[0]), load<T>(x + r * s[1])));
    }
  });
}

}  // namespace

void sort(const Tensor& src, int64_t dim, bool descending, const Tensor& values, const Tensor& indices) {
  const int64_t length = src.shape()[dim];
  const Rows rows = make_rows(dim, "sort", values, indices, src);
  dispatch_sort(src.dtype(), length, [&](auto tag, auto* item_tag) {
    using T = decltype(tag);
    using Item = std::remove_pointer_t<decltype(item_tag)>;
    sort_rows_with<T, Item>(rows, length, descending, [&](Item* items, Item* tmp, char* v, char* ix, const char* s) {
      sort_items(items, tmp, length, static_cast<int>(sizeof(T)));
      write_row<T>(items, length, v, rows.step[0], ix, rows.step[1], s, rows.step[2]);
    });
  });
}

void topk(const Tensor& src, int64_t dim, int64_t k, bool largest, bool sorted, const Tensor& values,
          const Tensor& indices) {
  const int64_t length = src.shape()[dim];
  const Rows rows = make_rows(dim, "topk", values, indices, src);
  dispatch_sort(src.dtype(), length, [&](auto tag, auto* item_tag) {
    using T = decltype(tag);
    using Item = std::remove_pointer_t<decltype(item_tag)>;
    sort_rows_with<T, Item>(rows, length, largest, [&](Item* items, Item* tmp, char* v, char* ix, const char* s) {
      if (k * 8 >= length) {
        sort_items(items, tmp, length, static_cast<int>(sizeof(T)));
      } else if (k <= 32) {
        if (k > 0) select_smallest(items, length, k);
      } else {
        std::nth_element(items, items + k, items + length);
        if (sorted) std::sort(items, items + k);
      }
      write_row<T>(items, k, v, rows.step[0], ix, rows.step[1], s, rows.step[2]);
    });
  });
}

void cumulative(Backend::CumulativeOp op, const Tensor& src, int64_t dim, const Tensor& dst) {
  const Rows rows = make_rows(dim, op == Backend::CumulativeOp::Sum ? "cumsum" : "cumprod", dst, src);
  const int64_t length = src.shape()[dim];
  visit_dtype(src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (op == Backend::CumulativeOp::Sum) cumulative_rows<T, false>(rows, length);
    else cumulative_rows<T, true>(rows, length);
  });
}

void scatter(Backend::ScatterReduce reduce, const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src) {
  const char* op = reduce == Backend::ScatterReduce::Add ? "scatter_add" : "scatter";
  // dst and src seen with index's shape: row r of the index scatters into row r of dst.
  const Tensor dst_view = dst.with_layout(Layout(index.shape(), dst.strides(), dst.offset()));
  const Tensor src_view = src.with_layout(Layout(index.shape(), src.strides(), src.offset()));
  const Rows rows = make_rows(dim, op, dst_view, index, src_view);
  const int64_t size = dst.shape()[dim], length = index.shape()[dim];
  const DType idx_dtype = index.dtype();
  // Every index is checked before anything is written: a bad one must not leave dst half updated.
  for_each_row_run(rows, length, [&](char* const* p, const int64_t* s, int64_t n) {
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t j = 0; j < length; ++j) {
        const int64_t idx = read_index(p[1] + r * s[1] + j * rows.step[1], idx_dtype);
        if (idx < -size || idx >= size) index_out_of_range(op, idx, dim, size);
      }
    }
  });
  visit_dtype(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Combine<T> combine{reduce, scalar_value<T>(Scalar::from_int(1))};
    for_each_row_run(rows, length, [&](char* const* p, const int64_t* s, int64_t n) {
      for (int64_t r = 0; r < n; ++r) {
        char* d = p[0] + r * s[0];
        const char* ix = p[1] + r * s[1];
        const char* x = p[2] + r * s[2];
        for (int64_t j = 0; j < length; ++j) {
          int64_t idx = read_index(ix + j * rows.step[1], idx_dtype);
          if (idx < 0) idx += size;
          char* target = d + idx * rows.step[0];
          store<T>(target, combine(load<T>(target), load<T>(x + j * rows.step[2])));
        }
      }
    });
  });
}

void index_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha) {
  visit_dtype(dst.dtype(), [&](auto tag) {
    index_combine<decltype(tag)>("index_add", Backend::ScatterReduce::Add, alpha, dst, dim, index, src);
  });
}

void index_copy(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src) {
  visit_dtype(dst.dtype(), [&](auto tag) {
    index_combine<decltype(tag)>("index_copy", Backend::ScatterReduce::None, Scalar::from_int(1), dst, dim, index, src);
  });
}

}  // namespace ember::cpu
