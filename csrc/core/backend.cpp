#include "core/backend.h"

#include "core/error.h"
#include "core/qtensor.h"
#include "cpu/cpu_backend.h"

namespace ember {

namespace {
Backend* g_backends[3] = {nullptr, nullptr, nullptr};

const char* kUnaryNames[] = {
#define EMBER_NAME_ENTRY(Name, py) #py,
    EMBER_UNARY_OPS(EMBER_NAME_ENTRY)
#undef EMBER_NAME_ENTRY
};
const char* kBinaryNames[] = {
#define EMBER_NAME_ENTRY(Name, py) #py,
    EMBER_BINARY_OPS(EMBER_NAME_ENTRY)
#undef EMBER_NAME_ENTRY
};
const char* kReduceNames[] = {"sum", "mean", "prod", "max", "min", "argmax", "argmin", "all", "any", "var", "logsumexp"};
}  // namespace

const char* op_name(UnaryOp op) { return kUnaryNames[static_cast<int>(op)]; }
const char* op_name(BinaryOp op) { return kBinaryNames[static_cast<int>(op)]; }
const char* op_name(ReduceOp op) { return kReduceNames[static_cast<int>(op)]; }

void register_backend(DeviceType type, Backend* backend) { g_backends[static_cast<int>(type)] = backend; }
bool backend_available(DeviceType type) {
  return type == DeviceType::CPU || g_backends[static_cast<int>(type)] != nullptr;
}

Backend& backend_for(Device device, const char* op) {
  if (device.type == DeviceType::CPU) return cpu::cpu_backend();
  Backend* b = g_backends[static_cast<int>(device.type)];
  if (!b) {
    const char* why = device.type == DeviceType::CUDA
                          ? "this build of ember has no CUDA backend (or no CUDA device is present)"
                          : "this build of ember has no Metal backend (Metal needs macOS on Apple silicon)";
    EMBER_THROW(Runtime, op, ": device ", device.str(), " is not available: ", why);
  }
  return *b;
}

void Backend::missing(const char* op, const Tensor& t) const {
  EMBER_THROW(NotImplemented, op, ": no ", name(), " kernel for ", dtype_name(t.dtype()), " on ", t.device().str());
}

void Backend::copy_from_host(const void*, const Tensor& dst) { missing("copy_from_host", dst); }
void Backend::copy_to_host(const Tensor& src, void*) { missing("copy_to_host", src); }
void Backend::copy(const Tensor& src, const Tensor&) { missing("copy", src); }
void Backend::fill(const Tensor& dst, Scalar) { missing("fill", dst); }
void Backend::unary(UnaryOp op, const Tensor& src, const Tensor&) { missing(op_name(op), src); }
void Backend::binary(BinaryOp op, const Tensor& a, const Tensor&, const Tensor&) { missing(op_name(op), a); }
void Backend::where(const Tensor&, const Tensor& a, const Tensor&, const Tensor&) { missing("where", a); }
void Backend::reduce(ReduceOp op, const Tensor& src, const Dims&, const Tensor&, const ReduceArgs&) {
  missing(op_name(op), src);
}
void Backend::softmax(const Tensor& src, int64_t, bool log, const Tensor&) {
  missing(log ? "log_softmax" : "softmax", src);
}
void Backend::matmul(const Tensor& a, const Tensor&, const Tensor&) { missing("matmul", a); }
void Backend::index_select(const Tensor& src, int64_t, const Tensor&, const Tensor&) { missing("index_select", src); }
void Backend::gather(const Tensor& src, int64_t, const Tensor&, const Tensor&) { missing("gather", src); }
void Backend::scatter_add(const Tensor& dst, int64_t, const Tensor&, const Tensor&) { missing("scatter_add", dst); }
void Backend::arange(const Tensor& dst, Scalar, Scalar) { missing("arange", dst); }
void Backend::triangle(const Tensor& src, const Tensor&, int64_t, bool lower) { missing(lower ? "tril" : "triu", src); }
void Backend::random_uniform(const Tensor& dst, uint64_t, uint64_t, double, double) { missing("rand", dst); }
void Backend::random_normal(const Tensor& dst, uint64_t, uint64_t, double, double) { missing("randn", dst); }

// ---- norm (issue #3) ----
void Backend::layer_norm(const Tensor& src, const Tensor&, const Tensor&, double, bool rms, const Tensor&) {
  missing(rms ? "rms_norm" : "layer_norm", src);
}
void Backend::group_norm(const Tensor& src, int64_t, const Tensor&, const Tensor&, double, const Tensor&) {
  missing("group_norm", src);
}
void Backend::rope(const Tensor& src, const Tensor&, const Tensor&, bool interleaved, const Tensor&) {
  missing(interleaved ? "rope_interleaved" : "rope", src);
}
void Backend::glu(const Tensor& a, const Tensor&, const Tensor&) { missing("glu", a); }
// ---- pool (issue #3) ----
void Backend::max_pool2d(const Tensor& src, const PoolWindow&, const Tensor&, const Tensor&) { missing("max_pool2d", src); }
void Backend::avg_pool2d(const Tensor& src, const PoolWindow&, bool, int64_t, const Tensor&) { missing("avg_pool2d", src); }
void Backend::adaptive_avg_pool2d(const Tensor& src, const Tensor&) { missing("adaptive_avg_pool2d", src); }
void Backend::resample2d(const Tensor& src, ResampleMode, bool, double, double, const Tensor&) { missing("interpolate", src); }
// ---- conv (issue #3) ----
void Backend::conv2d(const Tensor& x, const Tensor&, const Tensor&, const Tensor&, const ConvParams&) { missing("conv2d", x); }
void Backend::conv_transpose2d(const Tensor& x, const Tensor&, const Tensor&, const Tensor&, const ConvParams&) {
  missing("conv_transpose2d", x);
}
// ---- attention (issue #3) ----
void Backend::scaled_dot_product_attention(const Tensor& q, const Tensor&, const Tensor&, const std::optional<Tensor>&,
                                           bool, double, const Tensor&) {
  missing("scaled_dot_product_attention", q);
}
// ---- ordering (issue #3) ----
void Backend::sort(const Tensor& src, int64_t, bool, const Tensor&, const Tensor&) { missing("sort", src); }
void Backend::topk(const Tensor& src, int64_t, int64_t, bool, bool, const Tensor&, const Tensor&) { missing("topk", src); }
void Backend::cumulative(CumulativeOp op, const Tensor& src, int64_t, const Tensor&) {
  missing(op == CumulativeOp::Sum ? "cumsum" : "cumprod", src);
}
void Backend::scatter(ScatterReduce, const Tensor& dst, int64_t, const Tensor&, const Tensor&) { missing("scatter", dst); }
void Backend::index_add(const Tensor& dst, int64_t, const Tensor&, const Tensor&, Scalar) { missing("index_add", dst); }
void Backend::index_copy(const Tensor& dst, int64_t, const Tensor&, const Tensor&) { missing("index_copy", dst); }
// ---- quant (issue #4) ----
void Backend::quantize(const Tensor& src, const QTensor&) { missing("quantize", src); }
void Backend::dequantize(const QTensor& src, const Tensor&) { missing("dequantize", src.data()); }
void Backend::qmatmul(const Tensor& x, const QTensor&, const Tensor&) { missing("qmatmul", x); }
void Backend::qembedding(const Tensor&, const QTensor& w, const Tensor&) { missing("qembedding", w.data()); }

}  // namespace ember
