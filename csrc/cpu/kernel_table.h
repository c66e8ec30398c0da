// Function pointers to the kernels of one SIMD level. kernels() is the table chosen at start-up.
#pragma once
#include "cpu/cpu_features.h"
#include "cpu/kernel_args.h"
// ---- attention (issue #3) ----
#include "cpu/attention_args.h"

namespace ember::cpu {

struct KernelTable {
  void (*unary)(UnaryOp op, DType dtype, const ElementwiseLoop& loop) = nullptr;
  // Operands {dst, a, b}; a and b have dtype `dtype`, dst has it too (bool for comparisons).
  void (*binary)(BinaryOp op, DType dtype, const ElementwiseLoop& loop) = nullptr;
  // Operands {dst, src}: converts every element from src_dtype to dst_dtype.
  void (*cast)(DType src_dtype, DType dst_dtype, const ElementwiseLoop& loop) = nullptr;
  void (*reduce)(ReduceOp op, DType src_dtype, const ReduceLoop& loop, const ReduceArgs& args) = nullptr;
  void (*softmax)(DType dtype, bool log, const SoftmaxLoop& loop) = nullptr;
  void (*gemm)(const GemmArgs& args) = nullptr;
  // ---- attention (issue #3) ----
  void (*attention)(const AttentionArgs& args) = nullptr;
};

const KernelTable& kernels();
// The table of a runnable ISA (tests compare every SIMD level with the baseline).
const KernelTable& kernels_for(Isa isa);

// Each kernel TU defines one of these in namespace ember::cpu::<isa>; the table builder calls them.
#define EMBER_CPU_KERNEL_PARTS(X) X(unary) X(binary) X(cast) X(reduce) X(softmax) X(gemm) X(attention)

}  // namespace ember::cpu
