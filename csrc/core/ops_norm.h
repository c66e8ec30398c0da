// Normalisation, gated activation and rotary-embedding front-ends (issue #3). Signatures follow
// torch.nn.functional; an undefined Tensor stands for an absent weight or bias.
#pragma once
#include <optional>

#include "core/ops.h"

namespace ember {

// Normalises over the trailing dims `normalized_shape`; weight and bias have that shape. f16/bf16
// compute in float32; the result has x's dtype.
Tensor layer_norm(const Tensor& x, const Dims& normalized_shape, const Tensor& weight, const Tensor& bias, double eps);
// eps: the machine epsilon of x's dtype when absent (torch's default).
Tensor rms_norm(const Tensor& x, const Dims& normalized_shape, const Tensor& weight, std::optional<double> eps);
// x: (N, C, *), statistics over groups of C / num_groups channels; weight and bias: (C).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps);

// a * sigmoid(b) for the two halves a, b of x along dim, in one pass (integers compute in float32).
Tensor glu(const Tensor& x, int64_t dim);
// silu(gate) * up in one pass (broadcasting, like any binary op).
Tensor swiglu(const Tensor& gate, const Tensor& up);

// Rotary position embedding of x: (batch, heads, seq, head_dim) for BHSD, (batch, seq, heads, head_dim)
// for BSHD. cos and sin: (seq, head_dim / 2), the angles of the positions of x's rows (any offset).
// interleaved: GPT-J pairs (0, 1), (2, 3), ...; otherwise GPT-NeoX pairs (i, i + head_dim / 2).
enum class RopeLayout { BHSD, BSHD };
Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, bool interleaved, RopeLayout layout);

}  // namespace ember
