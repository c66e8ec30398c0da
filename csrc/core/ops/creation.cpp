// Creation, conversion, copies and random tensors.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include "core/error.h"
#include "core/ops.h"

namespace ember {

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.device() == b.device(), Value, op, ": expected all tensors on the same device, got ",
              a.device().str(), " and ", b.device().str());
}

void check_writable(const Tensor& t, const char* op) {
  EMBER_CHECK(t.storage()->writable(), Value, op, ": the destination tensor is read-only (it wraps read-only "
              "memory such as a read-only numpy array or a memory-mapped file); clone() it first");
  for (int64_t d = 0; d < t.ndim(); ++d) {
    EMBER_CHECK(t.strides()[d] != 0 || t.shape()[d] <= 1, Value, op,
                ": the destination has several elements at one memory location (an expanded view of shape ",
                shape_str(t.shape()), " with stride 0 in dim ", d, "); clone() it first");
  }
}

Tensor empty(const Dims& shape, DType dtype, Device device) { return Tensor::empty(shape, dtype, device, "empty"); }

Tensor full(const Dims& shape, Scalar value, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device, "full");
  if (out.numel() > 0) backend_for(device, "full").fill(out, value);
  return out;
}

Tensor zeros(const Dims& shape, DType dtype, Device device) { return full(shape, Scalar::from_int(0), dtype, device); }
Tensor ones(const Dims& shape, DType dtype, Device device) { return full(shape, Scalar::from_int(1), dtype, device); }

void fill_(const Tensor& dst, Scalar value) {
  check_writable(dst, "fill_");
  if (dst.numel() > 0) backend_for(dst.device(), "fill_").fill(dst, value);
}

Tensor arange(Scalar start, Scalar end, Scalar step, std::optional<DType> dtype, Device device) {
  const bool integral = start.kind != Scalar::Kind::Float && end.kind != Scalar::Kind::Float &&
                        step.kind != Scalar::Kind::Float;
  const DType dt = dtype ? *dtype : (integral ? DType::I64 : kDefaultFloat);
  int64_t n = 0;
  if (integral && !is_floating(dt)) {
    const int64_t s = start.to_int(), e = end.to_int(), st = step.to_int();
    EMBER_CHECK(st != 0, Value, "arange: step must be nonzero");
    EMBER_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), Value, "arange: the range [", s, ", ", e,
                ") is inconsistent with the sign of step ", st);
    const uint64_t span = st > 0 ? static_cast<uint64_t>(e) - static_cast<uint64_t>(s)
                                 : static_cast<uint64_t>(s) - static_cast<uint64_t>(e);
    const uint64_t abs_step = st > 0 ? static_cast<uint64_t>(st) : 0 - static_cast<uint64_t>(st);
    const uint64_t count = span / abs_step + (span % abs_step != 0);
    EMBER_CHECK(count <= static_cast<uint64_t>(INT64_MAX), Value, "arange: too many elements");
    n = static_cast<int64_t>(count);
  } else {
    const double s = start.to_double(), e = end.to_double(), st = step.to_double();
    EMBER_CHECK(st != 0 && std::isfinite(st) && std::isfinite(s) && std::isfinite(e), Value,
                "arange: start, end and step must be finite and step nonzero");
    EMBER_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), Value, "arange: the range [", s, ", ", e,
                ") is inconsistent with the sign of step ", st);
    const double count = std::ceil((e - s) / st);
    EMBER_CHECK(count < 9.0e18, Value, "arange: too many elements");
    n = static_cast<int64_t>(count);
  }
  Tensor out = Tensor::empty({n}, dt, device, "arange");
  if (n > 0) backend_for(device, "arange").arange(out, start, step);
  return out;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  EMBER_CHECK(steps >= 0, Value, "linspace: number of steps must be non-negative, got ", steps);
  Tensor host = Tensor::empty({steps}, DType::F64, Device::cpu(), "linspace");
  double* values = host.data<double>();
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  const int64_t half = steps / 2;
  for (int64_t i = 0; i < steps; ++i) {
    // Both ends exact: the first half counts up from start, the second down from end.
    values[i] = i < half ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
  }
  if (steps == 1) values[0] = start;
  return to_dtype(to_device(host, device), dtype);
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  EMBER_CHECK(n >= 0 && m >= 0, Value, "eye: sizes must be non-negative, got ", n, " and ", m);
  Tensor out = zeros({n, m}, dtype, device);
  const int64_t diag = std::min(n, m);
  if (diag > 0) {
    // The diagonal is a strided view with stride m + 1.
    Tensor d = out.with_layout(Layout({diag}, {m + 1}, 0));
    fill_(d, Scalar::from_int(1));
  }
  return out;
}

Tensor from_host(const void* data, const Dims& shape, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device, "tensor");
  if (out.numel() > 0) backend_for(device, "tensor").copy_from_host(data, out);
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = Tensor::empty_like(x, dtype, "to");
  if (x.numel() > 0) backend_for(x.device(), "to").copy(x, out);
  return out;
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), "contiguous");
  backend_for(x.device(), "contiguous").copy(x, out);
  return out;
}

Tensor clone(const Tensor& x) {
  Tensor out = Tensor::empty_like(x, x.dtype(), "clone");
  if (x.numel() > 0) backend_for(x.device(), "clone").copy(x, out);
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  backend_for(device, "to");  // raises a clear error when the target is not available
  const Tensor src = contiguous(x);
  if (x.device().is_cpu()) return from_host(src.data_ptr(), src.shape(), src.dtype(), device);
  Tensor host = Tensor::empty(src.shape(), src.dtype(), Device::cpu(), "to");
  if (src.numel() > 0) backend_for(src.device(), "to").copy_to_host(src, host.data_ptr());
  return device.is_cpu() ? host : to_device(host, device);
}

namespace {
bool may_overlap(const Tensor& a, const Tensor& b) {
  if (!a.shares_storage(b) || a.numel() == 0 || b.numel() == 0) return false;
  const auto [alo, ahi] = a.layout().extent();
  const auto [blo, bhi] = b.layout().extent();
  const int64_t ia = static_cast<int64_t>(a.itemsize()), ib = static_cast<int64_t>(b.itemsize());
  return alo * ia < bhi * ib && blo * ib < ahi * ia;
}
}  // namespace

void copy_into(const Tensor& dst, const Tensor& src_in) {
  check_writable(dst, "copy_");
  Tensor src = src_in;
  if (src.device() != dst.device()) src = to_device(src, dst.device());
  EMBER_CHECK(broadcast_shapes(src.shape(), dst.shape(), "copy_") == dst.shape(), Value, "copy_: source of shape ",
              shape_str(src.shape()), " cannot be broadcast to the destination shape ", shape_str(dst.shape()));
  if (dst.numel() == 0) return;
  // A source that overlaps the destination in another layout is read from a snapshot.
  if (may_overlap(dst, src) && !(dst.layout() == src.layout() && dst.dtype() == src.dtype())) src = clone(src);
  if (dst.layout().strides == src.layout().strides && dst.shape() == src.shape() &&
      dst.storage() == src.storage() && dst.offset() == src.offset() && dst.dtype() == src.dtype()) {
    return;  // copying a tensor onto itself
  }
  const Tensor expanded = src.shape() == dst.shape() ? src : src.with_layout(src.layout().expand(dst.shape()));
  backend_for(dst.device(), "copy_").copy(expanded, dst);
}

Tensor cat(const std::vector<Tensor>& tensors_in, int64_t dim) {
  EMBER_CHECK(!tensors_in.empty(), Value, "cat: expected a non-empty list of tensors");
  // Legacy rule shared with torch: 1-D empty tensors are skipped.
  std::vector<Tensor> tensors;
  for (const Tensor& t : tensors_in) {
    if (!(t.ndim() == 1 && t.numel() == 0)) tensors.push_back(t);
  }
  if (tensors.empty()) return tensors_in[0];
  const Tensor& first = tensors[0];
  EMBER_CHECK(first.ndim() > 0, Value, "cat: zero-dimensional tensors cannot be concatenated");
  dim = wrap_dim(dim, first.ndim(), "cat");
  DType dtype = first.dtype();
  Dims shape = first.shape();
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_same_device(first, t, "cat");
    EMBER_CHECK(t.ndim() == first.ndim(), Value, "cat: tensor ", i, " has ", t.ndim(), " dims, expected ", first.ndim());
    for (int64_t d = 0; d < first.ndim(); ++d) {
      EMBER_CHECK(d == dim || t.shape()[d] == shape[d], Value, "cat: sizes of tensors must match except in dim ",
                  dim, "; tensor ", i, " has shape ", shape_str(t.shape()), ", tensor 0 has ", shape_str(first.shape()));
    }
    dtype = promote_types(dtype, t.dtype());
    total += t.shape()[dim];
  }
  shape[dim] = total;
  Tensor out = Tensor::empty(shape, dtype, first.device(), "cat");
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    const int64_t n = t.shape()[dim];
    if (n > 0) backend_for(out.device(), "cat").copy(t, out.with_layout(out.layout().narrow(dim, offset, n)));
    offset += n;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), Value, "stack: expected a non-empty list of tensors");
  dim = wrap_dim(dim, tensors[0].ndim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].shape() == tensors[0].shape(), Value, "stack: expects each tensor to be equal size, but got ",
                shape_str(tensors[0].shape()), " at entry 0 and ", shape_str(tensors[i].shape()), " at entry ", i);
    parts.push_back(unsqueeze(tensors[i], dim));
  }
  return cat(parts, dim);
}

static Tensor triangle(const Tensor& x, int64_t k, bool lower) {
  const char* op = lower ? "tril" : "triu";
  EMBER_CHECK(x.ndim() >= 2, Value, op, ": input must have at least 2 dims, got shape ", shape_str(x.shape()));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device(), op);
  if (x.numel() > 0) backend_for(x.device(), op).triangle(x, out, k, lower);
  return out;
}
Tensor tril(const Tensor& x, int64_t k) { return triangle(x, k, true); }
Tensor triu(const Tensor& x, int64_t k) { return triangle(x, k, false); }

// ---- random ----
namespace {
constexpr uint64_t kDefaultSeed = 67280421310721ull;
std::mutex g_rng_mutex;
uint64_t g_seed = kDefaultSeed;
uint64_t g_offset = 0;

// Reserves `counters` Philox counters and returns (seed, first counter).
std::pair<uint64_t, uint64_t> reserve_counters(uint64_t counters) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  const uint64_t start = g_offset;
  g_offset += counters;
  return {g_seed, start};
}

void check_random_dtype(DType dtype, const char* op) {
  EMBER_CHECK(is_floating(dtype), Type, op, ": dtype ", dtype_name(dtype), " is not supported (needs a floating dtype)");
}
}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  g_seed = seed;
  g_offset = 0;
}

uint64_t initial_seed() {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  return g_seed;
}

Tensor uniform(const Dims& shape, double low, double high, DType dtype, Device device) {
  check_random_dtype(dtype, "rand");
  Tensor out = Tensor::empty(shape, dtype, device, "rand");
  const uint64_t per = dtype == DType::F64 ? 2 : 4;
  const auto [seed, offset] = reserve_counters((static_cast<uint64_t>(out.numel()) + per - 1) / per);
  if (out.numel() > 0) backend_for(device, "rand").random_uniform(out, seed, offset, low, high);
  return out;
}

Tensor normal(const Dims& shape, double mean, double std, DType dtype, Device device) {
  check_random_dtype(dtype, "randn");
  EMBER_CHECK(std >= 0, Value, "normal: std must be non-negative, got ", std);
  Tensor out = Tensor::empty(shape, dtype, device, "randn");
  const auto [seed, offset] = reserve_counters((static_cast<uint64_t>(out.numel()) + 1) / 2);
  if (out.numel() > 0) backend_for(device, "randn").random_normal(out, seed, offset, mean, std);
  return out;
}

Tensor rand(const Dims& shape, DType dtype, Device device) { return uniform(shape, 0.0, 1.0, dtype, device); }
Tensor randn(const Dims& shape, DType dtype, Device device) { return normal(shape, 0.0, 1.0, dtype, device); }

}  // namespace ember
