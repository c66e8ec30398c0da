// Plain structs that carry normalisation and rotary-embedding work (issue #3) into the per-ISA kernel
// translation units; cpu/kernel_args.h's rules apply (POD only, no core headers).
#pragma once
#include <cstdint>

#include "cpu/kernel_args.h"

namespace ember::cpu {

// Layer norm, or RMS norm when `rms`, over rows of `length` elements that are contiguous in src and
// dst. `rows` iterates the first element of every row with operands {dst, src}. weight and bias hold
// `length` values of the compute type (float, double for F64), or of `dtype` when
// affine_in_input_dtype, or are null.
struct RowNormArgs {
  DType dtype = DType::F32;
  bool affine_in_input_dtype = false;
  bool rms = false;
  double eps = 0;
  ElementwiseLoop rows;
  int64_t length = 0;
  const void* weight = nullptr;
  const void* bias = nullptr;
};

// Group norm of contiguous (batch, groups * channels, spatial) data: statistics over each group's
// channels * spatial elements, then per channel y = (x - mean) * rstd * weight + bias. weight and bias
// hold groups * channels values of the compute type, or of `dtype` when affine_in_input_dtype, or are null.
struct GroupNormArgs {
  DType dtype = DType::F32;
  bool affine_in_input_dtype = false;
  double eps = 0;
  int64_t batch = 0, groups = 0, channels = 0, spatial = 0;
  const void* src = nullptr;
  void* dst = nullptr;
  const void* weight = nullptr;
  const void* bias = nullptr;
};

// Rotary embedding of (batch, heads, seq, head_dim) data; strides are in elements for the first three
// dims, head_dim is contiguous in src and dst. Half-split (GPT-NeoX): cos and sin are contiguous
// (seq, head_dim / 2) tables of the compute type, or of `dtype` when tables_in_input_dtype.
// Interleaved (GPT-J): (seq, head_dim) tables of the compute type with every angle twice, cos as
// (c0, c0, c1, c1, ...) and sin as (-s0, s0, -s1, s1, ...).
struct RopeArgs {
  DType dtype = DType::F32;
  bool tables_in_input_dtype = false;
  bool interleaved = false;
  int64_t batch = 0, heads = 0, seq = 0, head_dim = 0;
  const void* src = nullptr;
  int64_t src_strides[3] = {};
  void* dst = nullptr;
  int64_t dst_strides[3] = {};
  const void* cos = nullptr;
  const void* sin = nullptr;
};

}  // namespace ember::cpu
