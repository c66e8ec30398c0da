// GLU: y = a * sigmoid(b) over an ElementwiseLoop {y, a, b} (a and b are the two halves of the input),
// in one pass: SIMD on contiguous runs, strided runs gathered through small buffers.
#include <cstring>

#include "core/elementwise_ops.h"
#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/loop.h"

namespace ember::cpu::baseline {
void glu_all_dtypes(DType dtype, const ElementwiseLoop& loop);
}  // namespace ember::cpu::baseline

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

template <class T>
void glu_contiguous(T* y, const T* a, const T* b, int64_t n) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  int64_t i = 0;
  for (; i + W <= n; i += W) store_vec(y + i, load_vec(a + i) * fn::Sigmoid{}(load_vec(b + i)));
  if (i < n) {
    const int r = static_cast<int>(n - i);
    store_vec_partial(y + i, load_vec_partial(a + i, r) * fn::Sigmoid{}(load_vec_partial(b + i, r)), r);
  }
}

template <class T>
void glu_run(char* const* p, const int64_t* s, int64_t n) {
  constexpr int64_t z = sizeof(T);
  if (s[0] == z && s[1] == z && s[2] == z) {
    glu_contiguous(reinterpret_cast<T*>(p[0]), reinterpret_cast<const T*>(p[1]), reinterpret_cast<const T*>(p[2]), n);
    return;
  }
  T a[kGatherBlock], b[kGatherBlock], y[kGatherBlock];
  for (int64_t base = 0; base < n; base += kGatherBlock) {
    const int64_t m = n - base < kGatherBlock ? n - base : kGatherBlock;
    gather(a, p[1] + base * s[1], s[1], m);
    gather(b, p[2] + base * s[2], s[2], m);
    glu_contiguous(y, a, b, m);
    scatter(p[0] + base * s[0], s[0], y, m);
  }
}

void glu_dispatch(DType dtype, const ElementwiseLoop& loop) {
  dispatch(dtype, "glu: needs a floating dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      parallel_runs(loop, 16384, [](char* const* p, const int64_t* s, int64_t n) { glu_run<T>(p, s, n); });
      return true;
    }
    return false;
  });
}

#if !defined(EMBER_ISA_BASELINE)
void glu_kernel(DType dtype, const ElementwiseLoop& loop) {
  if (!is_simd_dtype(dtype)) return baseline::glu_all_dtypes(dtype, loop);
  glu_dispatch(dtype, loop);
}
#endif

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void glu_all_dtypes(DType dtype, const ElementwiseLoop& loop) { glu_dispatch(dtype, loop); }
void register_norm_glu_kernels(KernelTable& table) { table.glu = &glu_all_dtypes; }
#else
void register_norm_glu_kernels(KernelTable& table) { table.glu = &glu_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
