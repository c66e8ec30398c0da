// Front-ends of the ordering and index-movement ops: sort, topk, cumsum / cumprod, scatter,
// index_add / index_copy, flip, roll, repeat, repeat_interleave, one_hot, unique, embedding.
#include <algorithm>
#include <string>

#include "core/error.h"
#include "core/ops_ordering.h"

namespace ember {

namespace {

void check_index_dtype(const Tensor& index, const Tensor& x, const char* op) {
  EMBER_CHECK(index.dtype() == DType::I64 || index.dtype() == DType::I32, Type, op,
              ": index must be an int64 or int32 tensor, got ", index.describe());
  check_same_device(x, index, op);
}

// The tensor's values on the host as int64 (small tensors: repeats, one_hot bounds).
Tensor host_int64(const Tensor& t) { return contiguous(to_dtype(to_device(t, Device::cpu()), DType::I64)); }

int64_t host_scalar(const Tensor& t) { return host_int64(t).data<int64_t>()[0]; }

Tensor as_1d(const Tensor& t) { return t.ndim() == 0 ? reshape(t, {1}) : t; }

}  // namespace

// ---- sort, topk ----

SortResult sort(const Tensor& x, int64_t dim, bool descending) {
  dim = wrap_dim(dim, x.ndim(), "sort");
  if (x.ndim() == 0) return {clone(x), zeros({}, DType::I64, x.device())};
  SortResult r{Tensor::empty(x.shape(), x.dtype(), x.device(), "sort"),
               Tensor::empty(x.shape(), DType::I64, x.device(), "sort")};
  if (x.numel() > 0) backend_for(x.device(), "sort").sort(x, dim, descending, r.values, r.indices);
  return r;
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) { return sort(x, dim, descending).indices; }

SortResult topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  dim = wrap_dim(dim, x.ndim(), "topk");
  const int64_t size = x.ndim() == 0 ? 1 : x.shape()[dim];
  EMBER_CHECK(k >= 0 && k <= size, Value, "topk: k = ", k, " is out of range for dim ", dim, " of size ", size,
              " (input shape ", shape_str(x.shape()), ")");
  if (x.ndim() == 0) {
    if (k == 0) return {empty({0}, x.dtype(), x.device()), empty({0}, DType::I64, x.device())};
    return {clone(x), zeros({}, DType::I64, x.device())};
  }
  Dims shape = x.shape();
  shape[dim] = k;
  SortResult r{Tensor::empty(shape, x.dtype(), x.device(), "topk"), Tensor::empty(shape, DType::I64, x.device(), "topk")};
  if (r.values.numel() > 0) backend_for(x.device(), "topk").topk(x, dim, k, largest, sorted, r.values, r.indices);
  return r;
}

// ---- cumsum, cumprod ----

namespace {
Tensor cumulative(Backend::CumulativeOp op, const Tensor& x_in, int64_t dim, std::optional<DType> dtype) {
  const char* name = op == Backend::CumulativeOp::Sum ? "cumsum" : "cumprod";
  dim = wrap_dim(dim, x_in.ndim(), name);
  const DType out_dtype = dtype ? *dtype : (is_floating(x_in.dtype()) ? x_in.dtype() : DType::I64);
  const Tensor x = to_dtype(x_in, out_dtype);
  if (x.ndim() == 0) return clone(x);
  Tensor out = Tensor::empty_like(x, out_dtype, name);
  if (out.numel() > 0) backend_for(x.device(), name).cumulative(op, x, dim, out);
  return out;
}
}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return cumulative(Backend::CumulativeOp::Sum, x, dim, dtype);
}
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  return cumulative(Backend::CumulativeOp::Prod, x, dim, dtype);
}

// ---- scatter, index_add, index_copy ----

void scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Operand& src_in, Backend::ScatterReduce reduce) {
  const char* name = reduce == Backend::ScatterReduce::Add && !src_in.is_scalar ? "scatter_add" : "scatter";
  check_index_dtype(index, x, name);
  check_writable(x, name);
  dim = wrap_dim(dim, x.ndim(), name);
  EMBER_CHECK(index.ndim() == x.ndim(), Value, name, ": index must have as many dims as the input, got shapes ",
              shape_str(index.shape()), " (index) and ", shape_str(x.shape()), " (input)");
  if (!src_in.is_scalar) {
    check_same_device(x, src_in.tensor, name);
    EMBER_CHECK(src_in.tensor.ndim() == x.ndim(), Value, name, ": src must have as many dims as the input, got shapes ",
                shape_str(src_in.tensor.shape()), " (src) and ", shape_str(x.shape()), " (input)");
  }
  if (x.ndim() == 0) {
    const Operand src1 = src_in.is_scalar ? src_in : Operand(reshape(src_in.tensor, {1}));
    scatter_(reshape(x, {1}), 0, reshape(index, {1}), src1, reduce);
    return;
  }
  for (int64_t d = 0; d < x.ndim(); ++d) {
    const bool fits = (d == dim || index.shape()[d] <= x.shape()[d]) &&
                      (src_in.is_scalar || index.shape()[d] <= src_in.tensor.shape()[d]);
    EMBER_CHECK(fits, Value, name, ": index of shape ", shape_str(index.shape()), " does not fit the input of shape ",
                shape_str(x.shape()), src_in.is_scalar ? "" : " and the src of shape ",
                src_in.is_scalar ? std::string() : shape_str(src_in.tensor.shape()), " in dim ", d,
                " (index may exceed the input only along dim ", dim, ")");
  }
  if (index.numel() == 0) return;
  // Inputs that share memory with the target are read from a snapshot (rows are written in parallel).
  const Tensor idx = index.shares_storage(x) ? clone(index) : index;
  Tensor src = src_in.is_scalar ? expand(full({}, src_in.scalar, x.dtype(), x.device()), index.shape())
                                : to_dtype(src_in.tensor, x.dtype());
  if (src.shares_storage(x)) src = clone(src);
  backend_for(x.device(), name).scatter(reduce, x, dim, idx, src);
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Operand& src, Backend::ScatterReduce reduce) {
  Tensor out = clone(x);
  scatter_(out, dim, index, src, reduce);
  return out;
}

namespace {
// Checks and dispatch shared by index_add (alpha given) and index_copy; a 0-d input is seen as 1-D.
void index_along(const char* name, const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source,
                 std::optional<Scalar> alpha) {
  check_index_dtype(index, x, name);
  check_same_device(x, source, name);
  check_writable(x, name);
  dim = wrap_dim(dim, x.ndim(), name);
  EMBER_CHECK(index.ndim() <= 1, Value, name, ": index must be 1-D, got shape ", shape_str(index.shape()));
  const Tensor xv = as_1d(x), src = as_1d(source), idx = as_1d(index);
  EMBER_CHECK(src.ndim() == xv.ndim(), Value, name, ": source must have as many dims as the input, got shapes ",
              shape_str(source.shape()), " (source) and ", shape_str(x.shape()), " (input)");
  EMBER_CHECK(idx.numel() == src.shape()[dim], Value, name, ": index has ", idx.numel(), " entries but source of shape ",
              shape_str(source.shape()), " has ", src.shape()[dim], " along dim ", dim);
  for (int64_t d = 0; d < xv.ndim(); ++d) {
    EMBER_CHECK(d == dim || src.shape()[d] == xv.shape()[d], Value, name, ": source of shape ", shape_str(source.shape()),
                " does not match the input of shape ", shape_str(x.shape()), " outside dim ", dim);
  }
  if (alpha) {
    EMBER_CHECK(is_floating(x.dtype()) || alpha->kind != Scalar::Kind::Float, Type, name,
                ": alpha must be an integer for a ", dtype_name(x.dtype()), " input, got ", alpha->d);
  }
  if (idx.numel() == 0) return;
  const Tensor converted = to_dtype(src, x.dtype());
  const Tensor s = converted.shares_storage(x) ? clone(converted) : converted;
  Backend& backend = backend_for(x.device(), name);
  if (alpha) backend.index_add(xv, dim, idx, s, *alpha);
  else backend.index_copy(xv, dim, idx, s);
}
}  // namespace

void index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  index_along("index_add", x, dim, index, source, alpha);
}
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  Tensor out = clone(x);
  index_add_(out, dim, index, source, alpha);
  return out;
}
void index_copy_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  index_along("index_copy", x, dim, index, source, std::nullopt);
}
Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  Tensor out = clone(x);
  index_copy_(out, dim, index, source);
  return out;
}

// ---- flip, roll, repeat, repeat_interleave ----

Tensor flip(const Tensor& x, const Dims& dims) {
  Layout l = x.layout();
  Dims seen;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, x.ndim(), "flip");
    EMBER_CHECK(std::find(seen.begin(), seen.end(), w) == seen.end(), Value, "flip: dim ", w,
                " appears more than once in dims ", shape_str(dims));
    seen.push_back(w);
    if (x.ndim() == 0 || l.shape[w] == 0) continue;
    l.offset += (l.shape[w] - 1) * l.strides[w];
    l.strides[w] = -l.strides[w];
  }
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), "flip");
  if (x.numel() > 0) copy_into(out, x.with_layout(l));
  return out;
}

Tensor roll(const Tensor& x, const Dims& shifts, const Dims& dims) {
  if (dims.empty()) {
    EMBER_CHECK(shifts.size() == 1, Value, "roll: without dims, shifts must be a single number, got ",
                shape_str(shifts));
    return reshape(roll(reshape(x, {-1}), shifts, {0}), x.shape());
  }
  EMBER_CHECK(shifts.size() == dims.size(), Value, "roll: shifts ", shape_str(shifts), " and dims ", shape_str(dims),
              " must have the same length");
  Tensor out = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], x.ndim(), "roll");
    const int64_t n = x.ndim() == 0 ? 1 : x.shape()[d];
    if (n == 0 || x.ndim() == 0) continue;
    const int64_t s = ((shifts[i] % n) + n) % n;
    if (s == 0) continue;
    out = cat({narrow(out, d, n - s, s), narrow(out, d, 0, n - s)}, d);
  }
  return out.storage() == x.storage() ? clone(x) : out;
}

Tensor repeat(const Tensor& x, const Dims& sizes) {
  EMBER_CHECK(static_cast<int64_t>(sizes.size()) >= x.ndim(), Value, "repeat: sizes ", shape_str(sizes),
              " must have at least as many entries as the input has dims (shape ", shape_str(x.shape()), ")");
  const size_t lead = sizes.size() - static_cast<size_t>(x.ndim());
  // A view of shape (r0, s0, r1, s1, ...) with stride 0 along every r, copied, then merged.
  Dims shape, strides, final_shape;
  for (size_t i = 0; i < sizes.size(); ++i) {
    EMBER_CHECK(sizes[i] >= 0, Value, "repeat: sizes must be non-negative, got ", shape_str(sizes));
    const int64_t s = i < lead ? 1 : x.shape()[i - lead];
    shape.push_back(sizes[i]);
    strides.push_back(0);
    shape.push_back(s);
    strides.push_back(i < lead ? 0 : x.strides()[i - lead]);
    int64_t merged = 0;
    EMBER_CHECK(!mul_overflow(sizes[i], s, &merged), Value, "repeat: sizes ", shape_str(sizes), " are too large");
    final_shape.push_back(merged);
  }
  checked_numel(final_shape, "repeat");
  const Tensor spread = x.with_layout(Layout(shape, strides, x.offset()));
  return reshape(clone(spread), final_shape);
}

Tensor repeat_interleave(const Tensor& x_in, int64_t repeats, std::optional<int64_t> dim) {
  EMBER_CHECK(repeats >= 0, Value, "repeat_interleave: repeats must be non-negative, got ", repeats);
  Tensor x = dim ? as_1d(x_in) : reshape(x_in, {-1});
  const int64_t d = dim ? wrap_dim(*dim, x_in.ndim(), "repeat_interleave") : 0;
  Dims shape = x.shape();
  shape.insert(static_cast<size_t>(d + 1), repeats);
  Dims merged = x.shape();
  int64_t size = 0;
  EMBER_CHECK(!mul_overflow(merged[d], repeats, &size), Value, "repeat_interleave: repeats ", repeats, " is too large");
  merged[d] = size;
  checked_numel(merged, "repeat_interleave");
  return reshape(clone(expand(unsqueeze(x, d + 1), shape)), merged);
}

Tensor repeat_interleave(const Tensor& x_in, const Tensor& repeats, std::optional<int64_t> dim) {
  EMBER_CHECK(repeats.dtype() == DType::I64 || repeats.dtype() == DType::I32, Type,
              "repeat_interleave: repeats must be an int64 or int32 tensor, got ", repeats.describe());
  EMBER_CHECK(repeats.ndim() <= 1, Value, "repeat_interleave: repeats must be 0-d or 1-D, got shape ",
              shape_str(repeats.shape()));
  // One repeat count applies to every element (torch broadcasts it).
  if (repeats.numel() == 1) return repeat_interleave(x_in, host_scalar(repeats), dim);
  Tensor x = dim ? as_1d(x_in) : reshape(x_in, {-1});
  const int64_t d = dim ? wrap_dim(*dim, x_in.ndim(), "repeat_interleave") : 0;
  EMBER_CHECK(repeats.numel() == x.shape()[d], Value, "repeat_interleave: repeats has ", repeats.numel(),
              " entries but the input of shape ", shape_str(x_in.shape()), " has ", x.shape()[d],
              dim ? " along dim " + std::to_string(d) : std::string(" elements"));
  const Tensor counts = host_int64(repeats);
  std::vector<int64_t> picks;
  for (int64_t i = 0; i < counts.numel(); ++i) {
    const int64_t c = counts.data<int64_t>()[i];
    EMBER_CHECK(c >= 0, Value, "repeat_interleave: repeats must be non-negative, got ", c, " at position ", i);
    EMBER_CHECK(static_cast<int64_t>(picks.size()) + c <= (int64_t(1) << 40), Value,
                "repeat_interleave: repeats are too large");
    picks.insert(picks.end(), static_cast<size_t>(c), i);
  }
  const Tensor idx = from_host(picks.data(), {static_cast<int64_t>(picks.size())}, DType::I64, x.device());
  return index_select(x, d, idx);
}

// ---- one_hot, nonzero, unique, embedding ----

Tensor one_hot(const Tensor& x, int64_t num_classes) {
  EMBER_CHECK(is_integral(x.dtype()), Type, "one_hot: input must be an integer (int64) tensor of class indices, got ",
              x.describe());
  EMBER_CHECK(num_classes >= -1, Value, "one_hot: num_classes must be -1 or non-negative, got ", num_classes);
  if (num_classes == -1) {
    EMBER_CHECK(x.numel() > 0, Value, "one_hot: cannot infer num_classes from an empty tensor of shape ",
                shape_str(x.shape()), "; pass num_classes");
    num_classes = host_scalar(reduce(ReduceOp::Max, x, std::nullopt, false)) + 1;
  }
  if (x.numel() > 0) {
    const int64_t lo = host_scalar(reduce(ReduceOp::Min, x, std::nullopt, false));
    const int64_t hi = host_scalar(reduce(ReduceOp::Max, x, std::nullopt, false));
    EMBER_CHECK(lo >= 0, Index, "one_hot: class values must be non-negative, got ", lo, " in a tensor of shape ",
                shape_str(x.shape()));
    EMBER_CHECK(hi < num_classes, Index, "one_hot: class values must be smaller than num_classes = ", num_classes,
                ", got ", hi, " in a tensor of shape ", shape_str(x.shape()));
  }
  Dims shape = x.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, DType::I64, x.device());
  if (out.numel() > 0) scatter_(out, -1, unsqueeze(to_dtype(x, DType::I64), -1), Scalar::from_int(1), Backend::ScatterReduce::None);
  return out;
}

std::vector<Tensor> nonzero_tuple(const Tensor& x) {
  const Tensor coords = nonzero(as_1d(x));
  std::vector<Tensor> out;
  for (int64_t d = 0; d < coords.shape()[1]; ++d) out.push_back(contiguous(select(coords, 1, d)));
  return out;
}

UniqueResult unique(const Tensor& x) {
  const Tensor flat = reshape(x, {-1});
  const int64_t n = flat.numel();
  if (n == 0) {
    return {empty({0}, x.dtype(), x.device()), empty(x.shape(), DType::I64, x.device()),
            empty({0}, DType::I64, x.device())};
  }
  // Sort, mark where a new value starts (NaN != NaN: each NaN stays its own value, as in torch),
  // number the groups, and send each group's number back to the positions it came from.
  const SortResult s = sort(flat, 0, false);
  const Tensor differs = binary(BinaryOp::Ne, slice(s.values, 0, 1, n, 1), slice(s.values, 0, 0, n - 1, 1));
  const Tensor starts = cat({full({1}, Scalar::from_bool(true), DType::Bool, x.device()), differs}, 0);
  const Tensor group = binary(BinaryOp::Sub, cumsum(starts, 0, DType::I64), Scalar::from_int(1));
  UniqueResult r;
  r.values = masked_select(s.values, starts);
  r.inverse = empty({n}, DType::I64, x.device());
  index_copy_(r.inverse, 0, s.indices, group);
  r.inverse = reshape(r.inverse, x.shape());
  r.counts = zeros({r.values.numel()}, DType::I64, x.device());
  index_add_(r.counts, 0, group, ones({n}, DType::I64, x.device()), Scalar::from_int(1));
  return r;
}

UniqueResult unique_dim(const Tensor& x, int64_t dim_in) {
  EMBER_CHECK(x.ndim() > 0, Value, "unique: dim needs a tensor with at least 1 dim, got a 0-d tensor");
  const int64_t dim = wrap_dim(dim_in, x.ndim(), "unique");
  const int64_t n = x.shape()[dim];
  // Slices along dim as the rows of an (n, m) matrix.
  Dims order{dim};
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (d != dim) order.push_back(d);
  }
  const Tensor moved = permute(x, order);
  const Tensor rows = reshape(moved, {n, n == 0 ? 0 : x.numel() / n});
  const int64_t m = rows.shape()[1];
  // Lexicographic order of the rows: stable sorts by each column, the last column first.
  Tensor perm = arange(Scalar::from_int(0), Scalar::from_int(n), Scalar::from_int(1), DType::I64, x.device());
  for (int64_t c = m - 1; c >= 0 && n > 1; --c) {
    const Tensor key = index_select(select(rows, 1, c), 0, perm);
    perm = index_select(perm, 0, argsort(key, 0, false));
  }
  const Tensor sorted_rows = index_select(rows, 0, perm);
  Tensor starts = full({n}, Scalar::from_bool(true), DType::Bool, x.device());
  if (n > 1 && m > 0) {
    const Tensor differs = binary(BinaryOp::Ne, slice(sorted_rows, 0, 1, n, 1), slice(sorted_rows, 0, 0, n - 1, 1));
    starts = cat({full({1}, Scalar::from_bool(true), DType::Bool, x.device()), reduce(ReduceOp::Any, differs, Dims{1}, false)}, 0);
  } else if (n > 1) {
    starts = cat({full({1}, Scalar::from_bool(true), DType::Bool, x.device()),
                  full({n - 1}, Scalar::from_bool(false), DType::Bool, x.device())}, 0);
  }
  const Tensor group = binary(BinaryOp::Sub, cumsum(starts, 0, DType::I64), Scalar::from_int(1));
  UniqueResult r;
  Dims out_moved = moved.shape();
  const Tensor firsts = reshape(nonzero(starts), {-1});
  out_moved[0] = firsts.numel();
  const Tensor picked = reshape(index_select(sorted_rows, 0, firsts), out_moved);
  Dims back(order.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) back[static_cast<size_t>(order[i])] = static_cast<int64_t>(i);
  r.values = contiguous(permute(picked, back));
  r.inverse = empty({n}, DType::I64, x.device());
  if (n > 0) index_copy_(r.inverse, 0, perm, group);
  r.counts = zeros({firsts.numel()}, DType::I64, x.device());
  if (n > 0) index_add_(r.counts, 0, group, ones({n}, DType::I64, x.device()), Scalar::from_int(1));
  return r;
}

Tensor embedding(const Tensor& input, const Tensor& weight) {
  EMBER_CHECK(input.dtype() == DType::I64 || input.dtype() == DType::I32, Type,
              "embedding: input must be an int64 or int32 tensor of indices, got ", input.describe());
  EMBER_CHECK(weight.ndim() == 2, Value, "embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape ",
              shape_str(weight.shape()));
  check_same_device(input, weight, "embedding");
  Tensor rows;
  try {
    rows = index_select(weight, 0, reshape(input, {-1}));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Index) throw;
    std::string msg = e.what();
    if (msg.rfind("index_select", 0) == 0) msg = "embedding" + msg.substr(12);
    throw Error(ErrorKind::Index, msg + " (weight of shape " + shape_str(weight.shape()) + ")");
  }
  Dims shape = input.shape();
  shape.push_back(weight.shape()[1]);
  return reshape(rows, shape);
}

}  // namespace ember
