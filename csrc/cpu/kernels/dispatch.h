// Dtype dispatch for kernel TUs: which storage types each level instantiates, and one helper that
// maps a runtime DType to a C++ type for a generic lambda.
#pragma once
#include <type_traits>

#include "core/dtype.h"
#include "cpu/kernel_args.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

#if defined(EMBER_ISA_BASELINE)
constexpr bool kIsBaseline = true;
#else
constexpr bool kIsBaseline = false;
#endif

// float32, float16 and bfloat16 run at every SIMD level; float64 only in the baseline build.
template <class T> constexpr bool is_simd_storage_v =
    std::is_same_v<T, float> || std::is_same_v<T, f16> || std::is_same_v<T, bf16>;
template <class T> constexpr bool is_kernel_float_v = is_simd_storage_v<T> || (kIsBaseline && std::is_same_v<T, double>);
template <class T> constexpr bool is_int_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// Calls f(T{}) with T the storage type of `dtype`; f returns false for types it does not take, which
// raises an internal error naming `what` (front-ends never let that happen).
template <class F>
void dispatch(DType dtype, const char* what, F&& f) {
  const bool handled = visit_dtype(dtype, [&](auto tag) -> bool { return f(tag); });
  if (!handled) kernel_error(kKernelNotImplemented, what);
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
