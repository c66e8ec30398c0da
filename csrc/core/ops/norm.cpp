// Normalisation, gated activation and rotary-embedding front-ends (issue #3).
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/ops_norm.h"

namespace ember {

namespace {

DType compute_dtype(DType d) { return d == DType::F64 ? DType::F64 : DType::F32; }

void check_floating(const Tensor& x, const char* op) {
  EMBER_CHECK(is_floating(x.dtype()), Type, op, ": expected a floating-point input, got ", x.describe());
}

// The dtype the backend gets small parameters (weight and bias, cos and sin) in: x's own when all of
// them have it (no copy per call), else the compute dtype.
DType param_dtype(const Tensor& x, const Tensor& p, const Tensor& q) {
  const bool own = (!p.defined() || p.dtype() == x.dtype()) && (!q.defined() || q.dtype() == x.dtype());
  return own ? x.dtype() : compute_dtype(x.dtype());
}

// weight or bias as a contiguous 1-D tensor of `dtype` (undefined stays undefined).
Tensor affine_param(const Tensor& p, const Tensor& x, const Dims& shape, DType dtype, const char* what, const char* op) {
  if (!p.defined()) return p;
  check_same_device(x, p, op);
  check_floating(p, op);
  EMBER_CHECK(p.shape() == shape, Value, op, ": ", what, " must have shape ", shape_str(shape), ", got ",
              shape_str(p.shape()), " (input of shape ", shape_str(x.shape()), ")");
  return contiguous(reshape(to_dtype(p, dtype), {p.numel()}));
}

Tensor norm_rows(const Tensor& x, const Dims& normalized_shape, const Tensor& weight, const Tensor& bias, double eps,
                 bool rms) {
  const char* op = rms ? "rms_norm" : "layer_norm";
  check_floating(x, op);
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool matches = k >= 1 && x.ndim() >= k;
  for (int64_t i = 0; matches && i < k; ++i) matches = x.shape()[x.ndim() - k + i] == normalized_shape[i];
  EMBER_CHECK(matches, Value, op, ": normalized_shape ", shape_str(normalized_shape),
              " must be non-empty and equal the last dims of the input, got input of shape ", shape_str(x.shape()));
  const DType pd = param_dtype(x, weight, bias);
  const Tensor w = affine_param(weight, x, normalized_shape, pd, "weight", op);
  const Tensor b = affine_param(bias, x, normalized_shape, pd, "bias", op);
  int64_t n = 1;
  for (int64_t s : normalized_shape) n *= s;
  Dims rows_shape(x.shape().begin(), x.shape().end() - k);
  rows_shape.push_back(n);
  Tensor rows = reshape(x, rows_shape);
  if (n > 1 && rows.strides().back() != 1) rows = contiguous(rows);
  Tensor out = Tensor::empty(rows_shape, x.dtype(), x.device(), op);
  if (out.numel() > 0) backend_for(x.device(), op).layer_norm(rows, w, b, eps, rms, out);
  return reshape(out, x.shape());
}

double machine_epsilon(DType d) {
  switch (d) {
    case DType::F64: return std::numeric_limits<double>::epsilon();
    case DType::F16: return 0.0009765625;  // 2^-10
    case DType::BF16: return 0.0078125;    // 2^-7
    default: return std::numeric_limits<float>::epsilon();
  }
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Dims& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  return norm_rows(x, normalized_shape, weight, bias, eps, false);
}

Tensor rms_norm(const Tensor& x, const Dims& normalized_shape, const Tensor& weight, std::optional<double> eps) {
  return norm_rows(x, normalized_shape, weight, Tensor(), eps ? *eps : machine_epsilon(x.dtype()), true);
}

Tensor group_norm(const Tensor& x_in, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "group_norm";
  check_floating(x_in, op);
  EMBER_CHECK(x_in.ndim() >= 2, Value, op, ": expected an input of shape (N, C, *), got ", shape_str(x_in.shape()));
  const int64_t channels = x_in.shape()[1];
  EMBER_CHECK(num_groups > 0 && channels % num_groups == 0, Value, op, ": the number of channels (", channels,
              ") must be divisible by num_groups (", num_groups, "), got input of shape ", shape_str(x_in.shape()));
  const DType pd = param_dtype(x_in, weight, bias);
  const Tensor w = affine_param(weight, x_in, {channels}, pd, "weight", op);
  const Tensor b = affine_param(bias, x_in, {channels}, pd, "bias", op);
  const Tensor x = contiguous(x_in);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (out.numel() > 0) backend_for(x.device(), op).group_norm(x, num_groups, w, b, eps, out);
  return out;
}

Tensor glu(const Tensor& x, int64_t dim) {
  EMBER_CHECK(x.ndim() > 0, Value, "glu: expected an input with at least 1 dim, got shape ()");
  const int64_t d = wrap_dim(dim, x.ndim(), "glu");
  const int64_t size = x.shape()[d];
  EMBER_CHECK(size % 2 == 0, Value, "glu: the halved dim must have even size, but dim ", d, " has size ", size,
              " (input of shape ", shape_str(x.shape()), ")");
  const Tensor xf = is_floating(x.dtype()) ? x : to_dtype(x, kDefaultFloat);
  const Tensor a = narrow(xf, d, 0, size / 2), b = narrow(xf, d, size / 2, size / 2);
  Tensor out = Tensor::empty(a.shape(), xf.dtype(), xf.device(), "glu");
  if (out.numel() > 0) backend_for(x.device(), "glu").glu(a, b, out);
  return out;
}

Tensor swiglu(const Tensor& gate, const Tensor& up) { return binary(BinaryOp::Swiglu, gate, up); }

Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, bool interleaved, RopeLayout layout) {
  const char* op = interleaved ? "rope_interleaved" : "rope";
  const bool bshd = layout == RopeLayout::BSHD;
  const char* layout_name = bshd ? "(batch, seq, heads, head_dim)" : "(batch, heads, seq, head_dim)";
  check_floating(x, op);
  EMBER_CHECK(x.ndim() == 4, Value, op, ": expected x of shape ", layout_name, ", got ", shape_str(x.shape()));
  const int64_t seq = x.shape()[bshd ? 1 : 2], head_dim = x.shape()[3];
  EMBER_CHECK(head_dim % 2 == 0, Value, op, ": head_dim must be even, got x of shape ", shape_str(x.shape()));
  const Dims table{seq, head_dim / 2};
  EMBER_CHECK(cos.shape() == table && sin.shape() == table, Value, op, ": cos and sin must have shape (seq, head_dim / 2) = ",
              shape_str(table), " for x of shape ", shape_str(x.shape()), " laid out as ", layout_name, ", got cos ",
              shape_str(cos.shape()), " and sin ", shape_str(sin.shape()));
  check_same_device(x, cos, op);
  check_same_device(x, sin, op);
  check_floating(cos, op);
  check_floating(sin, op);
  const DType pd = param_dtype(x, cos, sin);
  const Tensor cos_c = contiguous(to_dtype(cos, pd)), sin_c = contiguous(to_dtype(sin, pd));
  const Tensor src = head_dim > 1 && x.strides()[3] != 1 ? contiguous(x) : x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (out.numel() == 0) return out;
  const Tensor src_bhsd = bshd ? transpose(src, 1, 2) : src;
  const Tensor out_bhsd = bshd ? transpose(out, 1, 2) : out;
  backend_for(x.device(), op).rope(src_bhsd, cos_c, sin_c, interleaved, out_bhsd);
  return out;
}

}  // namespace ember
