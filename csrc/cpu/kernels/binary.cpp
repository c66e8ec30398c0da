// Binary elementwise kernels. Floating dtypes run on SIMD vectors: both operands contiguous, one of
// them a broadcast scalar (stride 0), or gathered through a small buffer; integers run on scalars.
// Comparisons write bool.
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

// out[i] = op(a[i], b[i]) with a or b optionally a single broadcast value (stride 0).
template <class Op, class T>
void float_contiguous(T* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n) {
  using V = Vec<compute_t<T>>;
  constexpr int W = V::size;
  const V va_splat = sa == 0 ? V(load_one<T>(reinterpret_cast<const char*>(a))) : V();
  const V vb_splat = sb == 0 ? V(load_one<T>(reinterpret_cast<const char*>(b))) : V();
  int64_t i = 0;
  if (sa != 0 && sb != 0) {
    for (; i + W <= n; i += W) store_vec(out + i, Op{}(load_vec(a + i), load_vec(b + i)));
  } else if (sa == 0 && sb != 0) {
    for (; i + W <= n; i += W) store_vec(out + i, Op{}(va_splat, load_vec(b + i)));
  } else if (sa != 0) {
    for (; i + W <= n; i += W) store_vec(out + i, Op{}(load_vec(a + i), vb_splat));
  } else {
    for (; i + W <= n; i += W) store_vec(out + i, Op{}(va_splat, vb_splat));
  }
  if (i < n) {
    const int r = static_cast<int>(n - i);
    const V va = sa == 0 ? va_splat : load_vec_partial(a + i, r);
    const V vb = sb == 0 ? vb_splat : load_vec_partial(b + i, r);
    store_vec_partial(out + i, Op{}(va, vb), r);
  }
}

template <class Op, class T>
void float_run(char* const* p, const int64_t* s, int64_t n) {
  constexpr int64_t z = sizeof(T);
  if (s[0] == z && (s[1] == z || s[1] == 0) && (s[2] == z || s[2] == 0)) {
    float_contiguous<Op>(reinterpret_cast<T*>(p[0]), reinterpret_cast<const T*>(p[1]), s[1],
                         reinterpret_cast<const T*>(p[2]), s[2], n);
    return;
  }
  T a[kGatherBlock], b[kGatherBlock], out[kGatherBlock];
  for (int64_t base = 0; base < n; base += kGatherBlock) {
    const int64_t m = n - base < kGatherBlock ? n - base : kGatherBlock;
    const char* pa = p[1] + base * s[1];
    const char* pb = p[2] + base * s[2];
    if (s[1] != 0) gather(a, pa, s[1], m); else std::memcpy(a, pa, sizeof(T));
    if (s[2] != 0) gather(b, pb, s[2], m); else std::memcpy(b, pb, sizeof(T));
    float_contiguous<Op>(out, a, s[1] == 0 ? 0 : z, b, s[2] == 0 ? 0 : z, m);
    scatter(p[0] + base * s[0], s[0], out, m);
  }
}

template <class Op, class T, class Out>
void scalar_run(char* const* p, const int64_t* s, int64_t n) {
  using C = compute_t<T>;
  if (s[0] == sizeof(Out) && s[1] == sizeof(T) && s[2] == sizeof(T)) {
    Out* out = reinterpret_cast<Out*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    const T* b = reinterpret_cast<const T*>(p[2]);
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(Op{}(static_cast<C>(a[i]), static_cast<C>(b[i])));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const C a = load_one<T>(p[1] + i * s[1]), b = load_one<T>(p[2] + i * s[2]);
    Out r;
    if constexpr (std::is_same_v<Out, f16> || std::is_same_v<Out, bf16>) r = Out(static_cast<float>(Op{}(a, b)));
    else r = static_cast<Out>(Op{}(a, b));
    std::memcpy(p[0] + i * s[0], &r, sizeof r);
  }
}

template <class Op, class T>
void run(const ElementwiseLoop& loop) {
  parallel_runs(loop, kGrain, [](char* const* p, const int64_t* s, int64_t n) {
    if constexpr (is_float_storage_v<T>) float_run<Op, T>(p, s, n);
    else scalar_run<Op, T, T>(p, s, n);
  });
}

template <class Op, class T>
void run_compare(const ElementwiseLoop& loop) {
  parallel_runs(loop, kGrain, [](char* const* p, const int64_t* s, int64_t n) { scalar_run<Op, T, bool>(p, s, n); });
}

template <class Op>
void float_op(DType dtype, const ElementwiseLoop& loop) {
  dispatch(dtype, "binary: unexpected dtype for a floating op", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      run<Op, T>(loop);
      return true;
    }
    return false;
  });
}

#if !defined(EMBER_ISA_BASELINE)
// float32 / float16 / bfloat16 arithmetic of the SIMD levels above the baseline.
void binary_float_dtypes(BinaryOp op, DType dtype, const ElementwiseLoop& loop) {
  switch (op) {
#define EMBER_CASE(Name, py) \
  case BinaryOp::Name: return float_op<fn::Name>(dtype, loop);
    EMBER_BINARY_ARITH_OPS(EMBER_CASE)
    EMBER_BINARY_FLOAT_OPS(EMBER_CASE)
#undef EMBER_CASE
    default: kernel_error(kKernelNotImplemented, "binary: unexpected op for the SIMD float kernels");
  }
}
#endif

#if defined(EMBER_ISA_BASELINE)
template <class Op>
void integer_op(DType dtype, const ElementwiseLoop& loop) {
  constexpr bool bool_ok = std::is_same_v<Op, fn::Add> || std::is_same_v<Op, fn::Mul> ||
                           std::is_same_v<Op, fn::Maximum> || std::is_same_v<Op, fn::Minimum> ||
                           std::is_same_v<Op, fn::BitwiseAnd> || std::is_same_v<Op, fn::BitwiseOr> ||
                           std::is_same_v<Op, fn::BitwiseXor>;
  dispatch(dtype, "binary: unexpected dtype for an integer op", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_int_v<T> || (bool_ok && std::is_same_v<T, bool>)) {
      run<Op, T>(loop);
      return true;
    }
    return false;
  });
}

template <class Op>
void compare_op(DType dtype, const ElementwiseLoop& loop) {
  dispatch(dtype, "binary: unexpected dtype", [&](auto tag) {
    run_compare<Op, decltype(tag)>(loop);
    return true;
  });
}
#endif

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void binary_all_dtypes(BinaryOp op, DType dtype, const ElementwiseLoop& loop) {
  switch (op) {
#define EMBER_CASE(Name, py) \
  case BinaryOp::Name: return is_floating(dtype) ? float_op<fn::Name>(dtype, loop) : integer_op<fn::Name>(dtype, loop);
    EMBER_BINARY_ARITH_OPS(EMBER_CASE)
#undef EMBER_CASE
#define EMBER_CASE(Name, py) \
  case BinaryOp::Name: return float_op<fn::Name>(dtype, loop);
    EMBER_BINARY_FLOAT_OPS(EMBER_CASE)
#undef EMBER_CASE
#define EMBER_CASE(Name, py) \
  case BinaryOp::Name: return compare_op<fn::Name>(dtype, loop);
    EMBER_BINARY_COMPARE_OPS(EMBER_CASE)
#undef EMBER_CASE
#define EMBER_CASE(Name, py) \
  case BinaryOp::Name: return integer_op<fn::Name>(dtype, loop);
    EMBER_BINARY_BITWISE_OPS(EMBER_CASE)
#undef EMBER_CASE
  }
}
void register_binary_kernels(KernelTable& table) { table.binary = &binary_all_dtypes; }
#else
namespace {
bool is_arith(BinaryOp op) {
  switch (op) {
#define EMBER_CASE(Name, py) case BinaryOp::Name:
    EMBER_BINARY_ARITH_OPS(EMBER_CASE)
    EMBER_BINARY_FLOAT_OPS(EMBER_CASE)
#undef EMBER_CASE
    return true;
    default: return false;
  }
}
void binary_kernel(BinaryOp op, DType dtype, const ElementwiseLoop& loop) {
  if (is_simd_dtype(dtype) && is_arith(op)) return binary_float_dtypes(op, dtype, loop);
  baseline::binary_all_dtypes(op, dtype, loop);
}
}  // namespace
void register_binary_kernels(KernelTable& table) { table.binary = &binary_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
