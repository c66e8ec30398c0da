// Strided copy with conversion between every pair of dtypes (core/convert.h has the rules). The
// conversions between float32 and the 16-bit floats, the hot ones when loading weights, use SIMD.
#include <cstring>

#include "core/convert.h"
#include "cpu/kernel_table.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/loop.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

constexpr int64_t kGrain = 32768;

template <class From, class To>
void convert_run(char* const* p, const int64_t* s, int64_t n) {
  constexpr bool vector_pair = (std::is_same_v<From, float> || std::is_same_v<From, f16> || std::is_same_v<From, bf16>) &&
                               (std::is_same_v<To, float> || std::is_same_v<To, f16> || std::is_same_v<To, bf16>);
  if (s[0] == sizeof(To) && s[1] == sizeof(From)) {
    To* out = reinterpret_cast<To*>(p[0]);
    const From* in = reinterpret_cast<const From*>(p[1]);
    if constexpr (std::is_same_v<From, To>) {
      std::memcpy(out, in, n * sizeof(To));
    } else if constexpr (vector_pair) {
      constexpr int W = Vec<float>::size;
      int64_t i = 0;
      for (; i + W <= n; i += W) store_vec(out + i, load_vec(in + i));
      if (i < n) store_vec_partial(out + i, load_vec_partial(in + i, static_cast<int>(n - i)), static_cast<int>(n - i));
    } else {
      for (int64_t i = 0; i < n; ++i) out[i] = convert<To>(in[i]);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    From v;
    std::memcpy(&v, p[1] + i * s[1], sizeof v);
    const To r = convert<To>(v);
    std::memcpy(p[0] + i * s[0], &r, sizeof r);
  }
}

template <class From, class To>
void run(const ElementwiseLoop& loop) {
  parallel_runs(loop, kGrain, [](char* const* p, const int64_t* s, int64_t n) { convert_run<From, To>(p, s, n); });
}

// Every pair in the baseline build; only pairs among float32, float16 and bfloat16 elsewhere.
template <class T> constexpr bool is_cast_type_v = kIsBaseline || is_simd_storage_v<T>;

void cast_dispatch(DType src, DType dst, const ElementwiseLoop& loop) {
  dispatch(src, "cast: unexpected source dtype", [&](auto from_tag) {
    using From = decltype(from_tag);
    if constexpr (is_cast_type_v<From>) {
      dispatch(dst, "cast: unexpected destination dtype", [&](auto to_tag) {
        using To = decltype(to_tag);
        if constexpr (is_cast_type_v<To>) {
          run<From, To>(loop);
          return true;
        }
        return false;
      });
      return true;
    }
    return false;
  });
}

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void cast_all_dtypes(DType src, DType dst, const ElementwiseLoop& loop) { cast_dispatch(src, dst, loop); }
void register_cast_kernels(KernelTable& table) { table.cast = &cast_all_dtypes; }
#else
namespace {
void cast_kernel(DType src, DType dst, const ElementwiseLoop& loop) {
  if (!is_simd_dtype(src) || !is_simd_dtype(dst)) return baseline::cast_all_dtypes(src, dst, loop);
  cast_dispatch(src, dst, loop);
}
}  // namespace
void register_cast_kernels(KernelTable& table) { table.cast = &cast_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
