// Rotary position embeddings over rows of head_dim elements, in parallel over (batch, head, position).
//   half-split (GPT-NeoX): y[i] = x[i] c[i] - x[i+h] s[i],  y[i+h] = x[i+h] c[i] + x[i] s[i]  (h = head_dim / 2)
//   interleaved (GPT-J):   y[2i] = x[2i] c[i] - x[2i+1] s[i],  y[2i+1] = x[2i+1] c[i] + x[2i] s[i]
// The interleaved form reads pre-expanded tables (see RopeArgs) so that it is y = x C + swap_pairs(x) S.
#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/loop.h"

namespace ember::cpu::baseline {
void rope_all_dtypes(const RopeArgs& args);
}  // namespace ember::cpu::baseline

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

// c and s of storage type P (T or its compute type).
template <class T, class P>
void rope_half_row(T* y, const T* x, const P* c, const P* s, int64_t half) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  auto rotate = [&](int64_t i, int r) {
    const bool full = r == W;
    const V x1 = full ? load_vec(x + i) : load_vec_partial(x + i, r);
    const V x2 = full ? load_vec(x + half + i) : load_vec_partial(x + half + i, r);
    const V vc = full ? load_vec(c + i) : load_vec_partial(c + i, r);
    const V vs = full ? load_vec(s + i) : load_vec_partial(s + i, r);
    const V y1 = x1 * vc - x2 * vs, y2 = x2 * vc + x1 * vs;
    if (full) {
      store_vec(y + i, y1);
      store_vec(y + half + i, y2);
    } else {
      store_vec_partial(y + i, y1, r);
      store_vec_partial(y + half + i, y2, r);
    }
  };
  int64_t i = 0;
  for (; i + W <= half; i += W) rotate(i, W);
  if (i < half) rotate(i, static_cast<int>(half - i));
}

template <class T>
void rope_interleaved_row(T* y, const T* x, const compute_t<T>* c2, const compute_t<T>* s2, int64_t dim) {
  using C = compute_t<T>;
  if constexpr (std::is_same_v<C, float>) {
    using V = Vec<float>;
    constexpr int W = V::size;
    int64_t i = 0;
    for (; i + W <= dim; i += W) {
      const V v = load_vec(x + i);
      store_vec(y + i, v * V::load(c2 + i) + simd::swap_pairs(v) * V::load(s2 + i));
    }
    if (i < dim) {  // dim is even, so the tail holds whole pairs
      const int r = static_cast<int>(dim - i);
      const V v = load_vec_partial(x + i, r);
      store_vec_partial(y + i, v * V::load_partial(c2 + i, r) + simd::swap_pairs(v) * V::load_partial(s2 + i, r), r);
    }
  } else {
    for (int64_t i = 0; i < dim; i += 2) {
      const C a = static_cast<C>(x[i]), b = static_cast<C>(x[i + 1]);
      y[i] = static_cast<T>(a * c2[i] + b * s2[i]);
      y[i + 1] = static_cast<T>(b * c2[i + 1] + a * s2[i + 1]);
    }
  }
}

template <class T>
void rope(const RopeArgs& a) {
  using C = compute_t<T>;
  const int64_t rows = a.batch * a.heads * a.seq, dim = a.head_dim;
  if (rows == 0 || dim == 0) return;
  const int64_t table_width = a.interleaved ? dim : dim / 2;
  const C* cos = static_cast<const C*>(a.cos);
  const C* sin = static_cast<const C*>(a.sin);
  const bool tables_in_input_dtype = !std::is_same_v<T, C> && a.tables_in_input_dtype;
  const int64_t grain = dim >= 4096 ? 1 : 4096 / dim;
  parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    int64_t pos = begin % a.seq, rest = begin / a.seq;
    int64_t head = rest % a.heads, batch = rest / a.heads;
    for (int64_t r = begin; r < end; ++r) {
      const T* x = static_cast<const T*>(a.src) + batch * a.src_strides[0] + head * a.src_strides[1] + pos * a.src_strides[2];
      T* y = static_cast<T*>(a.dst) + batch * a.dst_strides[0] + head * a.dst_strides[1] + pos * a.dst_strides[2];
      if (a.interleaved) {
        rope_interleaved_row(y, x, cos + pos * table_width, sin + pos * table_width, dim);
      } else if (tables_in_input_dtype) {
        const T* c = static_cast<const T*>(a.cos) + pos * table_width;
        const T* s = static_cast<const T*>(a.sin) + pos * table_width;
        rope_half_row(y, x, c, s, dim / 2);
      } else {
        rope_half_row(y, x, cos + pos * table_width, sin + pos * table_width, dim / 2);
      }
      if (++pos == a.seq) {
        pos = 0;
        if (++head == a.heads) {
          head = 0;
          ++batch;
        }
      }
    }
  });
}

void rope_dispatch(const RopeArgs& a) {
  dispatch(a.dtype, "rope: needs a floating dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      rope<T>(a);
      return true;
    }
    return false;
  });
}

#if !defined(EMBER_ISA_BASELINE)
void rope_kernel(const RopeArgs& a) {
  if (!is_simd_dtype(a.dtype)) return baseline::rope_all_dtypes(a);
  rope_dispatch(a);
}
#endif

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void rope_all_dtypes(const RopeArgs& a) { rope_dispatch(a); }
void register_norm_rope_kernels(KernelTable& table) { table.rope = &rope_all_dtypes; }
#else
void register_norm_rope_kernels(KernelTable& table) { table.rope = &rope_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
