// Reductions, softmax, matmul and indexing front-ends.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/ops.h"

namespace ember {

namespace {

// Sorted, unique, wrapped dims; `all` when dims is nullopt.
Dims normalize_dims(const Tensor& x, const std::optional<Dims>& dims, const char* op) {
  Dims out;
  if (!dims) {
    for (int64_t d = 0; d < x.ndim(); ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : *dims) {
    const int64_t w = wrap_dim(d, x.ndim(), op);
    if (x.ndim() == 0) continue;
    EMBER_CHECK(std::find(out.begin(), out.end(), w) == out.end(), Value, op, ": dim ", d, " appears more than once in ",
                shape_str(*dims));
    out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Dims kept_shape(const Tensor& x, const Dims& reduced) {
  Dims shape = x.shape();
  for (int64_t d : reduced) shape[d] = 1;
  return shape;
}

Tensor drop_dims(const Tensor& t, const Dims& reduced, bool keepdim) {
  if (keepdim || reduced.empty()) return t;
  return squeeze(t, reduced);
}

DType reduce_out_dtype(ReduceOp op, DType in) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Prod: return is_floating(in) ? in : DType::I64;
    case ReduceOp::ArgMax:
    case ReduceOp::ArgMin: return DType::I64;
    case ReduceOp::All:
    case ReduceOp::Any: return DType::Bool;
    default: return in;
  }
}

bool needs_float(ReduceOp op) { return op == ReduceOp::Mean || op == ReduceOp::Var || op == ReduceOp::LogSumExp; }

}  // namespace

Tensor reduce(ReduceOp op, const Tensor& x_in, const std::optional<Dims>& dims, bool keepdim, std::optional<DType> dtype) {
  const char* name = op_name(op);
  Tensor x = x_in;
  if (dtype) {
    EMBER_CHECK(op == ReduceOp::Sum || op == ReduceOp::Prod || op == ReduceOp::Mean, Value, name,
                ": the dtype argument is only supported by sum, prod and mean");
    x = to_dtype(x, *dtype);
  }
  if (needs_float(op) && !is_floating(x.dtype())) x = to_dtype(x, kDefaultFloat);
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && x.dtype() == DType::Bool) x = to_dtype(x, DType::U8);
  const Dims reduced = normalize_dims(x, dims, name);
  if (op == ReduceOp::Max || op == ReduceOp::Min) {
    for (int64_t d : reduced) {
      EMBER_CHECK(x.shape()[d] > 0, Value, name, ": cannot reduce over dim ", d, " of size 0 (shape ",
                  shape_str(x.shape()), "): the operation has no identity");
    }
  }
  DType out_dtype = reduce_out_dtype(op, x.dtype());
  Tensor out = Tensor::empty(kept_shape(x, reduced), out_dtype, x.device(), name);
  if (out.numel() > 0) backend_for(x.device(), name).reduce(op, x, reduced, out, ReduceArgs{});
  if ((op == ReduceOp::Max || op == ReduceOp::Min) && x_in.dtype() == DType::Bool) out = to_dtype(out, DType::Bool);
  return drop_dims(out, reduced, keepdim);
}

Tensor var(const Tensor& x_in, const std::optional<Dims>& dims, double correction, bool keepdim) {
  const Tensor x = is_floating(x_in.dtype()) ? x_in : to_dtype(x_in, kDefaultFloat);
  const Dims reduced = normalize_dims(x, dims, "var");
  Tensor out = Tensor::empty(kept_shape(x, reduced), x.dtype(), x.device(), "var");
  ReduceArgs args;
  args.correction = correction;
  if (out.numel() > 0) backend_for(x.device(), "var").reduce(ReduceOp::Var, x, reduced, out, args);
  return drop_dims(out, reduced, keepdim);
}

Tensor std_dev(const Tensor& x, const std::optional<Dims>& dims, double correction, bool keepdim) {
  return unary(UnaryOp::Sqrt, var(x, dims, correction, keepdim));
}

Tensor arg_reduce(ReduceOp op, const Tensor& x_in, std::optional<int64_t> dim, bool keepdim) {
  const char* name = op_name(op);
  Tensor x = x_in.dtype() == DType::Bool ? to_dtype(x_in, DType::U8) : x_in;
  if (!dim) {
    EMBER_CHECK(x.numel() > 0, Value, name, ": cannot take the ", name, " of an empty tensor");
    Tensor flat = reshape(x, {x.numel()});
    Tensor out = Tensor::empty({1}, DType::I64, x.device(), name);
    backend_for(x.device(), name).reduce(op, flat, {0}, out, ReduceArgs{});
    if (keepdim) return reshape(out, Dims(x.shape().size(), 1));
    return reshape(out, {});
  }
  const int64_t d = wrap_dim(*dim, x.ndim(), name);
  if (x.ndim() == 0) {
    Tensor out = zeros({}, DType::I64, x.device());
    return out;
  }
  EMBER_CHECK(x.shape()[d] > 0, Value, name, ": cannot reduce over dim ", d, " of size 0 (shape ", shape_str(x.shape()), ")");
  const Dims reduced{d};
  Tensor out = Tensor::empty(kept_shape(x, reduced), DType::I64, x.device(), name);
  if (out.numel() > 0) backend_for(x.device(), name).reduce(op, x, reduced, out, ReduceArgs{});
  return drop_dims(out, reduced, keepdim);
}

Tensor softmax(const Tensor& x_in, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  const Tensor x = is_floating(x_in.dtype()) ? x_in : to_dtype(x_in, kDefaultFloat);
  if (x.ndim() == 0) {
    wrap_dim(dim, 0, name);
    return full({}, Scalar::from_double(log ? 0.0 : 1.0), x.dtype(), x.device());
  }
  dim = wrap_dim(dim, x.ndim(), name);
  Tensor out = Tensor::empty_like(x, x.dtype(), name);
  if (out.numel() > 0) backend_for(x.device(), name).softmax(x, dim, log, out);
  return out;
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  check_same_device(a_in, b_in, "matmul");
  EMBER_CHECK(a_in.ndim() > 0 && b_in.ndim() > 0, Value, "matmul: both operands need at least 1 dim, got shapes ",
              shape_str(a_in.shape()), " and ", shape_str(b_in.shape()));
  const DType dtype = promote_types(a_in.dtype(), b_in.dtype());
  EMBER_CHECK(is_floating(dtype), NotImplemented, "matmul: ", dtype_name(dtype),
              " operands are not supported yet (float32, float64, float16 and bfloat16 are); got ", a_in.describe(),
              " and ", b_in.describe());
  Tensor a = to_dtype(a_in, dtype), b = to_dtype(b_in, dtype);
  const bool a_vec = a.ndim() == 1, b_vec = b.ndim() == 1;
  if (a_vec) a = unsqueeze(a, 0);
  if (b_vec) b = unsqueeze(b, -1);
  const int64_t M = a.shape()[a.ndim() - 2], K = a.shape()[a.ndim() - 1];
  const int64_t K2 = b.shape()[b.ndim() - 2], N = b.shape()[b.ndim() - 1];
  EMBER_CHECK(K == K2, Value, "matmul: shapes ", shape_str(a_in.shape()), " and ", shape_str(b_in.shape()),
              " are not aligned (", K, " != ", K2, ")");
  const Dims batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Dims batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Dims sa = batch, sb = batch, so = batch;
  sa.push_back(M); sa.push_back(K);
  sb.push_back(K); sb.push_back(N);
  so.push_back(M); so.push_back(N);
  Tensor out = Tensor::empty(so, dtype, a.device(), "matmul");
  if (out.numel() > 0) {
    if (K == 0) fill_(out, Scalar::from_int(0));
    else backend_for(a.device(), "matmul").matmul(expand(a, sa), expand(b, sb), out);
  }
  if (a_vec) out = squeeze(out, {out.ndim() - 2});
  if (b_vec) out = squeeze(out, {out.ndim() - 1});
  return out;
}

namespace {
void check_index_tensor(const Tensor& index, const Tensor& x, const char* op) {
  EMBER_CHECK(index.dtype() == DType::I64 || index.dtype() == DType::I32, Type, op,
              ": index must be an int64 or int32 tensor, got ", index.describe());
  check_same_device(x, index, op);
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_index_tensor(index, x, "index_select");
  EMBER_CHECK(index.ndim() <= 1, Value, "index_select: index must be 1-D, got shape ", shape_str(index.shape()));
  if (x.ndim() == 0) {
    wrap_dim(dim, 0, "index_select");
    Tensor r = index_select(reshape(x, {1}), 0, index);
    return index.ndim() == 0 ? reshape(r, {}) : r;
  }
  dim = wrap_dim(dim, x.ndim(), "index_select");
  const Tensor idx = index.ndim() == 0 ? reshape(index, {1}) : index;
  Dims shape = x.shape();
  shape[dim] = idx.numel();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device(), "index_select");
  if (idx.numel() > 0) {
    EMBER_CHECK(x.shape()[dim] > 0, Index, "index_select: cannot select from dim ", dim, " of size 0");
    if (out.numel() > 0) backend_for(x.device(), "index_select").index_select(x, dim, idx, out);
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_index_tensor(index, x, "gather");
  EMBER_CHECK(index.ndim() == x.ndim(), Value, "gather: index must have as many dims as the input (", x.ndim(),
              "), got shape ", shape_str(index.shape()));
  if (x.ndim() == 0) return index_select(x, 0, index);
  dim = wrap_dim(dim, x.ndim(), "gather");
  for (int64_t d = 0; d < x.ndim(); ++d) {
    EMBER_CHECK(d == dim || index.shape()[d] <= x.shape()[d], Value, "gather: index shape ", shape_str(index.shape()),
                " is larger than the input shape ", shape_str(x.shape()), " in dim ", d);
  }
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device(), "gather");
  if (out.numel() > 0) backend_for(x.device(), "gather").gather(x, dim, index, out);
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src_in) {
  check_index_tensor(index, x, "scatter_add");
  check_same_device(x, src_in, "scatter_add");
  EMBER_CHECK(index.ndim() == x.ndim() && src_in.ndim() == x.ndim(), Value,
              "scatter_add: input, index and src must have the same number of dims, got shapes ", shape_str(x.shape()),
              ", ", shape_str(index.shape()), " and ", shape_str(src_in.shape()));
  Tensor out = clone(x);
  if (x.ndim() == 0 || index.numel() == 0) {
    if (x.ndim() == 0 && index.numel() > 0) {
      return scatter_add(reshape(x, {1}), 0, reshape(index, {1}), reshape(src_in, {1})).with_layout(Layout(Dims{}));
    }
    return out;
  }
  dim = wrap_dim(dim, x.ndim(), "scatter_add");
  for (int64_t d = 0; d < x.ndim(); ++d) {
    EMBER_CHECK(index.shape()[d] <= src_in.shape()[d] && (d == dim || index.shape()[d] <= x.shape()[d]), Value,
                "scatter_add: index shape ", shape_str(index.shape()), " does not fit the input shape ",
                shape_str(x.shape()), " and src shape ", shape_str(src_in.shape()), " in dim ", d);
  }
  const Tensor src = to_dtype(src_in, x.dtype());
  backend_for(x.device(), "scatter_add").scatter_add(out, dim, index, src);
  return out;
}

Tensor nonzero(const Tensor& x) {
  const Tensor host = contiguous(to_device(binary(BinaryOp::Ne, x, Scalar::from_int(0)), Device::cpu()));
  const bool* flags = host.data<bool>();
  const int64_t n = host.numel(), nd = host.ndim();
  std::vector<int64_t> coords;
  const Dims strides = contiguous_strides(host.shape());
  for (int64_t i = 0; i < n; ++i) {
    if (!flags[i]) continue;
    int64_t rem = i;
    for (int64_t d = 0; d < nd; ++d) {
      coords.push_back(rem / strides[d]);
      rem %= strides[d];
    }
  }
  const int64_t count = nd ? static_cast<int64_t>(coords.size()) / nd : static_cast<int64_t>(n > 0 && flags[0]);
  return from_host(coords.data(), {count, nd}, DType::I64, x.device());
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  EMBER_CHECK(mask.dtype() == DType::Bool, Type, "masked_select: mask must be a bool tensor, got ", mask.describe());
  check_same_device(x, mask, "masked_select");
  const Dims shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  const Tensor flat_x = reshape(expand(x, shape), {-1});
  const Tensor flat_mask = contiguous(to_device(reshape(expand(mask, shape), {-1}), Device::cpu()));
  std::vector<int64_t> picks;
  const bool* m = flat_mask.data<bool>();
  for (int64_t i = 0; i < flat_mask.numel(); ++i) {
    if (m[i]) picks.push_back(i);
  }
  const Tensor idx = from_host(picks.data(), {static_cast<int64_t>(picks.size())}, DType::I64, x.device());
  return index_select(flat_x, 0, idx);
}

}  // namespace ember
