// Quantized-weight front-ends (issue #4): quantize, dequantize, quantized matmul and embedding.
#pragma once
#include "core/ops.h"
#include "core/qtensor.h"

namespace ember {

// x (floating, at least 1-D, last dim a multiple of the type's block size) quantized row by row.
QTensor quantize(const Tensor& x, quant::QType type);
Tensor dequantize(const QTensor& q, DType dtype);
// x @ dequantize(w).T for x (..., K) of float32 / float16 / bfloat16 and w (N, K); the result is
// (..., N) in x's dtype. Activations are rounded to 8 bits per block on the way (ggml's method).
Tensor qmatmul(const Tensor& x, const QTensor& w);
// Rows `ids` of the (V, D) table w, dequantized: (*ids.shape, D) of `dtype` (floating).
Tensor qembedding(const Tensor& ids, const QTensor& w, DType dtype);

}  // namespace ember
