// The interface between the quantized-matmul driver (quant_matmul.cpp) and the per-type integer dot
// products (quant_dot_*.cpp). Kernel TUs only; every function lives in this level's namespace.
#pragma once
#include <cstdint>

#include "quant/qtypes.h"

namespace ember::cpu {

// True when the CPU runs AVX-512 VNNI (with VL): the avx512 level then takes the vpdpbusd dot
// products. Defined in a baseline TU (cpu/cpu_quant_features.cpp).
bool cpu_has_avx512_vnni();

inline namespace EMBER_ISA_NS {

// Quantizes one row of k floats (k a multiple of the activation type's block size) into activation
// blocks (Q8_0, Q8_1 or Q8_K). Bit-exact with quant::quantize_row of that type on every level.
using QuantizeActivationFn = void (*)(const float* x, void* blocks, int64_t k);

// The activation quantizers of this level (quant_activation.cpp): block_q8_0, block_q8_1, block_q8_K.
void quantize_activation_q8_0(const float* x, void* blocks, int64_t k);
void quantize_activation_q8_1(const float* x, void* blocks, int64_t k);
void quantize_activation_q8_K(const float* x, void* blocks, int64_t k);
// The quantizer of activation type `type` (Q8_0, Q8_1 or Q8_K); nullptr for any other type.
QuantizeActivationFn activation_quantizer(quant::QType type);

// Dot products of nw weight rows with nx quantized activation rows, k elements each:
// out[j * out_stride + i] = dot(weight row i, activation row j) for i < nw, j < nx.
// Weight rows start at w, w_stride bytes apart; activation rows at x, x_stride bytes apart.
using QDotFn = void (*)(int64_t k, const void* w, int64_t w_stride, int nw, const void* x, int64_t x_stride, int nx,
                        float* out, int64_t out_stride);

struct QDotKernel {
  quant::QType activation_type = quant::QType::Q8_0;
  QuantizeActivationFn quantize_activation = nullptr;
  QDotFn dot = nullptr;
  int max_nw = 1, max_nx = 1;  // the largest tile dot takes in one call
};

// The kernel for weight type `type` at this level; dot == nullptr when the family does not handle it.
QDotKernel legacy_qdot_kernel(quant::QType type);  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL (quant_dot_legacy.cpp)
QDotKernel kquant_qdot_kernel(quant::QType type);  // Q2_K..Q6_K, IQ4_XS (quant_dot_kquants.cpp)

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
