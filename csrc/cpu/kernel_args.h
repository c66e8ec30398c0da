// Plain structs that carry work into the per-ISA kernel translation units.
//
// Kernel TUs are compiled once per SIMD level (-mavx2, -mavx512f, ...). Any inline function or
// template they instantiate from a shared header becomes a weak symbol that the linker may merge
// with the baseline build of the same function, so code that runs on an old CPU could end up with
// AVX2 instructions. Kernel TUs therefore include only: this header, core/portable.h, core/half.h,
// core/dtype.h (enum only), core/elementwise_ops.h, core/scalar_math.h, cpu/simd/*, cpu/thread_pool.h,
// and the C++ standard library's header-only basics (<cmath>, <cstring>, <algorithm> min/max).
// No Tensor, no SmallVec, no std::vector or std::string, and no EMBER_THROW: they report errors
// through kernel_error(), defined in a baseline TU.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/op_enums.h"

namespace ember::cpu {

// Dims left after size-1 dims are dropped and mergeable dims coalesced. Layouts that need more fall
// back to contiguous copies before they reach a kernel.
constexpr int kMaxLoopDims = 16;
constexpr int kMaxLoopOperands = 4;

// An n-d iteration space over up to 4 operands; operand 0 is the output. Strides are in bytes,
// innermost dim last. numel == product(shape); ndim == 0 means a single element.
struct ElementwiseLoop {
  int ndim = 0;
  int nops = 0;
  int64_t numel = 1;
  int64_t shape[kMaxLoopDims] = {};
  char* data[kMaxLoopOperands] = {};
  int64_t strides[kMaxLoopOperands][kMaxLoopDims] = {};
};

// A reduction: `outer` iterates the kept positions with operands {dst, src}; at each, the kernel
// reduces src over `inner` (byte strides relative to that position's src pointer).
struct ReduceLoop {
  ElementwiseLoop outer;
  int inner_ndim = 0;
  int64_t inner_numel = 1;
  int64_t inner_shape[kMaxLoopDims] = {};
  int64_t inner_strides[kMaxLoopDims] = {};
};

// Softmax over one dim: `outer` iterates rows with operands {dst, src}; each row has `length`
// elements at byte strides dst_stride / src_stride.
struct SoftmaxLoop {
  ElementwiseLoop outer;
  int64_t length = 0;
  int64_t dst_stride = 0;
  int64_t src_stride = 0;
};

// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n] for b < batch. Strides are in elements and may be
// anything (0 broadcasts, negative walks backwards). A, B and C share `dtype` (F32, F64, F16, BF16);
// F16 and BF16 accumulate in float32.
struct GemmArgs {
  DType dtype = DType::F32;
  int64_t batch = 1, M = 0, N = 0, K = 0;
  const void* a = nullptr;
  int64_t a_batch_stride = 0, a_row_stride = 0, a_col_stride = 0;
  const void* b = nullptr;
  int64_t b_batch_stride = 0, b_row_stride = 0, b_col_stride = 0;
  void* c = nullptr;
  int64_t c_batch_stride = 0, c_row_stride = 0, c_col_stride = 0;
};

// Throws ember::Error(kind) with `message`. Defined in a baseline TU so kernels never instantiate
// the error-formatting templates themselves.
// The ErrorKind (core/error.h, which kernel TUs may not include) that kernel_error raises.
enum KernelErrorKind : int {
  kKernelValueError = 0,
  kKernelTypeError = 1,
  kKernelIndexError = 2,
  kKernelRuntimeError = 3,
  kKernelNotImplemented = 4,
};
[[noreturn]] void kernel_error(int error_kind, const char* message);

}  // namespace ember::cpu
