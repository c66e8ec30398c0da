// Unary elementwise kernels: the functors of core/elementwise_ops.h applied to SIMD vectors for
// floating dtypes (so every element, tail included, goes through the same math) and to scalars for
// integer dtypes.
#include "core/elementwise_ops.h"
#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/loop.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

constexpr int64_t kGrain = 16384;

template <class Op, class T>
void float_contiguous(T* out, const T* in, int64_t n) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  int64_t i = 0;
  for (; i + W <= n; i += W) store_vec(out + i, Op{}(load_vec(in + i)));
  if (i < n) store_vec_partial(out + i, Op{}(load_vec_partial(in + i, static_cast<int>(n - i))), static_cast<int>(n - i));
}

template <class Op, class T>
void float_run(char* const* p, const int64_t* s, int64_t n) {
  if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
    float_contiguous<Op>(reinterpret_cast<T*>(p[0]), reinterpret_cast<const T*>(p[1]), n);
    return;
  }
  T in[kGatherBlock], out[kGatherBlock];
  for (int64_t b = 0; b < n; b += kGatherBlock) {
    const int64_t m = n - b < kGatherBlock ? n - b : kGatherBlock;
    gather(in, p[1] + b * s[1], s[1], m);
    float_contiguous<Op>(out, in, m);
    scatter(p[0] + b * s[0], s[0], out, m);
  }
}

template <class Op, class T>
void scalar_run(char* const* p, const int64_t* s, int64_t n) {
  if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
    T* out = reinterpret_cast<T*>(p[0]);
    const T* in = reinterpret_cast<const T*>(p[1]);
    for (int64_t i = 0; i < n; ++i) out[i] = Op{}(in[i]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, p[1] + i * s[1], sizeof v);
    v = Op{}(v);
    std::memcpy(p[0] + i * s[0], &v, sizeof v);
  }
}

template <class Op, class T>
void run(const ElementwiseLoop& loop) {
  parallel_runs(loop, kGrain, [](char* const* p, const int64_t* s, int64_t n) {
    if constexpr (is_float_storage_v<T>) float_run<Op, T>(p, s, n);
    else scalar_run<Op, T>(p, s, n);
  });
}

[[noreturn]] void unsupported(const char* what) { kernel_error(kKernelNotImplemented, what); }

template <class Op>
void float_op(DType dtype, const ElementwiseLoop& loop) {
  dispatch(dtype, "unary: unexpected dtype for a floating op", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      run<Op, T>(loop);
      return true;
    }
    return false;
  });
}

#if defined(EMBER_ISA_BASELINE)
// Numeric ops take integers and floats; bitwise ops integers and bool.
template <class Op, bool Bitwise>
void integer_op(DType dtype, const ElementwiseLoop& loop) {
  dispatch(dtype, "unary: unexpected dtype for an integer op", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_int_v<T> || (Bitwise && std::is_same_v<T, bool>) || (!Bitwise && is_kernel_float_v<T>)) {
      run<Op, T>(loop);
      return true;
    }
    return false;
  });
}
#endif

// float32 / float16 / bfloat16 (every level; the baseline also takes float64 here).
void unary_float_dtypes(UnaryOp op, DType dtype, const ElementwiseLoop& loop) {
  switch (op) {
#define EMBER_CASE(Name, py) \
  case UnaryOp::Name: return float_op<fn::Name>(dtype, loop);
    EMBER_UNARY_FLOAT_OPS(EMBER_CASE)
    EMBER_UNARY_NUMERIC_OPS(EMBER_CASE)
#undef EMBER_CASE
    default: unsupported("unary: bitwise ops need integer dtypes");
  }
}

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void unary_all_dtypes(UnaryOp op, DType dtype, const ElementwiseLoop& loop) {
  if (is_floating(dtype)) return unary_float_dtypes(op, dtype, loop);
  switch (op) {
#define EMBER_CASE(Name, py) \
  case UnaryOp::Name: return integer_op<fn::Name, false>(dtype, loop);
    EMBER_UNARY_NUMERIC_OPS(EMBER_CASE)
#undef EMBER_CASE
#define EMBER_CASE(Name, py) \
  case UnaryOp::Name: return integer_op<fn::Name, true>(dtype, loop);
    EMBER_UNARY_BITWISE_OPS(EMBER_CASE)
#undef EMBER_CASE
    default: unsupported("unary: a floating op reached the kernel with an integer dtype");
  }
}
void register_unary_kernels(KernelTable& table) { table.unary = &unary_all_dtypes; }
#else
namespace {
void unary_kernel(UnaryOp op, DType dtype, const ElementwiseLoop& loop) {
  if (is_simd_dtype(dtype)) return unary_float_dtypes(op, dtype, loop);
  baseline::unary_all_dtypes(op, dtype, loop);
}
}  // namespace
void register_unary_kernels(KernelTable& table) { table.unary = &unary_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
