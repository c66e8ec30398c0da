// Kernels compiled only in the baseline SIMD level. Higher levels handle float32/float16/bfloat16
// themselves (where wider vectors pay off) and forward every other dtype here, which keeps the
// library small: integer, float64, bool and comparison kernels exist once, not once per level.
#pragma once
#include "cpu/kernel_args.h"

// Opened first so that, in the baseline TU, `baseline` is declared inline before it is reopened.
namespace ember::cpu {
inline namespace EMBER_ISA_NS {}
}  // namespace ember::cpu

namespace ember::cpu::baseline {

void unary_all_dtypes(UnaryOp op, DType dtype, const ElementwiseLoop& loop);
void binary_all_dtypes(BinaryOp op, DType dtype, const ElementwiseLoop& loop);
void cast_all_dtypes(DType src, DType dst, const ElementwiseLoop& loop);
void reduce_all_dtypes(ReduceOp op, DType dtype, const ReduceLoop& loop, const ReduceArgs& args);
void softmax_all_dtypes(DType dtype, bool log, const SoftmaxLoop& loop);

}  // namespace ember::cpu::baseline

namespace ember::cpu {
// The dtypes every SIMD level implements itself.
constexpr bool is_simd_dtype(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }
}  // namespace ember::cpu
