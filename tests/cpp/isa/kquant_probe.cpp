// Test entry point into the K-quant / IQ4_XS dot products (cpu/kernels/quant_dot_kquants*.cpp),
// compiled once per SIMD level like the kernels. test_quant_kquant_kernels.cpp calls each level's copy
// through ember::test::<level>::kquant_probe on the levels this CPU runs. Plain types only, so the test
// needs no level's QDotKernel type.
#include <cstdint>

#include "cpu/kernels/quant_dot.h"

namespace ember::test {
inline namespace EMBER_ISA_NS {

using KQuantDotFn = void (*)(int64_t k, const void* w, int64_t w_stride, int nw, const void* x, int64_t x_stride,
                             int nx, float* out, int64_t out_stride);
using KQuantQuantizeFn = void (*)(const float* x, void* blocks, int64_t k);

// This level's kquant_qdot_kernel(type): false when it has none for the type.
bool kquant_probe(int type, KQuantDotFn* dot, KQuantQuantizeFn* quantize, int* activation_type, int* max_nw,
                  int* max_nx) {
  const cpu::QDotKernel k = cpu::kquant_qdot_kernel(static_cast<quant::QType>(type));
  *dot = k.dot;
  *quantize = k.quantize_activation;
  *activation_type = static_cast<int>(k.activation_type);
  *max_nw = k.max_nw;
  *max_nx = k.max_nx;
  return k.dot != nullptr;
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::test
