// Function pointers to the kernels of one SIMD level. kernels() is the table chosen at start-up.
#pragma once
#include "cpu/cpu_features.h"
#include "cpu/conv_args.h"
#include "cpu/kernel_args.h"
#include "cpu/norm_args.h"
#include "cpu/kernels/pool_args.h"
// ---- attention (issue #3) ----
#include "cpu/attention_args.h"
// ---- quant (issue #4) ----
#include "cpu/quant_args.h"

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
  // ---- norm (issue #3) ----
  void (*row_norm)(const RowNormArgs& args) = nullptr;
  void (*group_norm)(const GroupNormArgs& args) = nullptr;
  void (*rope)(const RopeArgs& args) = nullptr;
  // Operands {dst, a, b} of one floating dtype: dst = a * sigmoid(b).
  void (*glu)(DType dtype, const ElementwiseLoop& loop) = nullptr;

  // ---- pool (issue #3) ----
  void (*max_pool2d)(const Pool2dArgs& args) = nullptr;  // indices filled when args.indices is set
  void (*avg_pool2d)(const Pool2dArgs& args) = nullptr;
  void (*adaptive_avg_pool2d)(const Pool2dArgs& args) = nullptr;  // window fields unused
  void (*resample_linear2d)(const Resample2dArgs& args) = nullptr;

  // ---- conv (issue #3) ----
  void (*conv)(const ConvArgs& args) = nullptr;
  // ---- attention (issue #3) ----
  void (*attention)(const AttentionArgs& args) = nullptr;
  // ---- quant (issue #4) ----
  void (*qmatmul)(const QMatmulArgs& args) = nullptr;
};

const KernelTable& kernels();
// The table of a runnable ISA (tests compare every SIMD level with the baseline).
const KernelTable& kernels_for(Isa isa);

// Each kernel TU defines one of these in namespace ember::cpu::<isa>; the table builder calls them.
#define EMBER_CPU_KERNEL_PARTS(X) X(unary) X(binary) X(cast) X(reduce) X(softmax) X(gemm) X(norm) X(pool) X(attention)
// ---- conv (issue #3) ----
#define EMBER_CPU_CONV_KERNEL_PARTS(X) X(conv)
// ---- quant (issue #4) ----
#define EMBER_CPU_QUANT_KERNEL_PARTS(X) X(quant)

}  // namespace ember::cpu
