// Turns tensors of one shape into an ElementwiseLoop: drops size-1 dims, orders dims by the output's
// memory order and merges dims that are contiguous with each other in every operand.
#pragma once
#include <initializer_list>

#include "core/tensor.h"
#include "cpu/kernel_args.h"

namespace ember::cpu {

// operands[0] is the output; all operands have the same shape. `op` names the caller in errors.
ElementwiseLoop make_loop(std::initializer_list<const Tensor*> operands, const char* op);

// The loop for `src` reduced over the dims flagged in `reduced` into `dst` (src's shape with those
// dims set to 1).
ReduceLoop make_reduce_loop(const Tensor& dst, const Tensor& src, const Dims& reduced, const char* op);

// Rows of `src` along `dim` (dst has src's shape).
SoftmaxLoop make_softmax_loop(const Tensor& dst, const Tensor& src, int64_t dim, const char* op);

}  // namespace ember::cpu
