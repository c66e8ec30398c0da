// Quantized-weight front-ends (issue #4).
#include "core/backend.h"
#include "core/error.h"
#include "core/ops_quant.h"
#include "quant/qtype_info.h"

namespace ember {

namespace {

void check_floating_dtype(DType dtype, const char* op) {
  EMBER_CHECK(is_floating(dtype), Type, op, ": expected a floating-point dtype, got ", dtype_name(dtype));
}

}  // namespace

QTensor quantize(const Tensor& x, quant::QType type) {
  const char* op = "quantize";
  const quant::QTypeTraits& t = quant::traits(type);
  EMBER_CHECK(is_floating(x.dtype()), Type, op, ": expected a floating-point tensor, got ", x.describe());
  EMBER_CHECK(x.ndim() >= 1, Value, op, ": expected a tensor with at least one dim (rows of weights), got ", x.describe());
  EMBER_CHECK(x.shape().back() % t.block_size == 0, Value, op, ": the last dim of the input must be a multiple of ",
              t.name, "'s block size ", t.block_size, ", got ", x.describe());
  const Tensor src = contiguous(to_dtype(x, DType::F32));
  const int64_t nbytes = x.numel() / t.block_size * t.type_size;
  const Tensor blocks = Tensor::empty({nbytes}, DType::U8, x.device(), op);
  const QTensor q = QTensor::wrap(blocks, type, x.shape(), op);
  if (nbytes > 0) backend_for(x.device(), op).quantize(src, q);
  return q;
}

Tensor dequantize(const QTensor& q, DType dtype) {
  const char* op = "dequantize";
  check_floating_dtype(dtype, op);
  Tensor out = Tensor::empty(q.shape(), DType::F32, q.device(), op);
  if (q.numel() > 0) backend_for(q.device(), op).dequantize(q, out);
  return to_dtype(out, dtype);
}

Tensor qmatmul(const Tensor& x, const QTensor& w) {
  const char* op = "qmatmul";
  EMBER_CHECK(w.ndim() == 2, Value, op, ": the weight must be 2-D (N, K), got a ", w.describe());
  const DType dt = x.dtype();
  EMBER_CHECK(dt == DType::F32 || dt == DType::F16 || dt == DType::BF16, Type, op,
              ": activations must be float32, float16 or bfloat16, got ", x.describe());
  EMBER_CHECK(x.device() == w.device(), Value, op, ": the activations (", x.describe(), ") and the weight (",
              w.describe(), ") are on different devices");
  const int64_t N = w.shape()[0], K = w.shape()[1];
  EMBER_CHECK(x.ndim() >= 1 && x.shape().back() == K, Value, op, ": the last dim of the activations must equal the ",
              "weight's K = ", K, " (weight ", w.describe(), "), got ", x.describe());
  Dims out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(N);
  int64_t M = 1;
  for (size_t i = 0; i + 1 < x.shape().size(); ++i) M *= x.shape()[i];
  Tensor rows = reshape(x, {M, K});
  if (K > 1 && rows.strides()[1] != 1) rows = contiguous(rows);
  Tensor out = Tensor::empty({M, N}, dt, x.device(), op);
  if (K == 0) {
    fill_(out, Scalar::from_double(0.0));
  } else if (M > 0 && N > 0) {
    backend_for(x.device(), op).qmatmul(rows, w, out);
  }
  return reshape(out, out_shape);
}

Tensor qembedding(const Tensor& ids, const QTensor& w, DType dtype) {
  const char* op = "qembedding";
  check_floating_dtype(dtype, op);
  EMBER_CHECK(w.ndim() == 2, Value, op, ": the table must be 2-D (num_embeddings, dim), got a ", w.describe());
  EMBER_CHECK(is_integral(ids.dtype()), Type, op, ": ids must be an integer tensor, got ", ids.describe());
  EMBER_CHECK(ids.device() == w.device(), Value, op, ": ids (", ids.describe(), ") and the table (", w.describe(),
              ") are on different devices");
  const Tensor flat = contiguous(to_dtype(reshape(ids, {ids.numel()}), DType::I64));
  Dims out_shape = ids.shape();
  out_shape.push_back(w.shape()[1]);
  Tensor out = Tensor::empty({flat.numel(), w.shape()[1]}, DType::F32, w.device(), op);
  if (out.numel() > 0) backend_for(w.device(), op).qembedding(flat, w, out);
  return to_dtype(reshape(out, out_shape), dtype);
}

}  // namespace ember
