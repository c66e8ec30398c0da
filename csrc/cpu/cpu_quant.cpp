// The CPU backend's quantized ops (issue #4): rows through the scalar reference, matmul through the
// per-ISA kernels.
#include <algorithm>
#include <optional>

#include "core/error.h"
#include "core/ops.h"
#include "core/qtensor.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_ops.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"
#include "quant/reference.h"

namespace ember::cpu {

namespace {

// Rows per parallel_for chunk: about 64 KiB of floats each.
int64_t row_grain(int64_t row_length) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_length)); }

}  // namespace

void quantize(const Tensor& src, const QTensor& dst) {
  const int64_t k = dst.row_length(), row_bytes = dst.row_bytes();
  const float* x = src.data<float>();
  char* out = static_cast<char*>(dst.data().data_ptr());
  parallel_for(dst.rows(), row_grain(k), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) quant::quantize_row(dst.type(), x + r * k, out + r * row_bytes, k);
  });
}

void dequantize(const QTensor& src, const Tensor& dst) {
  const int64_t k = src.row_length(), row_bytes = src.row_bytes();
  const char* blocks = static_cast<const char*>(src.data().data_ptr());
  float* y = dst.data<float>();
  parallel_for(src.rows(), row_grain(k), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) quant::dequantize_row(src.type(), blocks + r * row_bytes, y + r * k, k);
  });
}

namespace {

// Batches at least this large multiply float-row weights (f32 / f16 / bf16) with the GEMM.
constexpr int64_t kFloatWeightGemmRows = 16;

// w's rows as a (N, K) tensor of their own dtype over the same bytes, when the bytes are aligned.
std::optional<Tensor> float_weight_view(const QTensor& w) {
  DType dtype;
  switch (w.type()) {
    case quant::QType::F32: dtype = DType::F32; break;
    case quant::QType::F16: dtype = DType::F16; break;
    case quant::QType::BF16: dtype = DType::BF16; break;
    default: return std::nullopt;
  }
  const Tensor& bytes = w.data();
  const int64_t size = static_cast<int64_t>(itemsize(dtype));
  if (bytes.offset() % size != 0 || reinterpret_cast<uintptr_t>(bytes.data_ptr()) % size != 0) return std::nullopt;
  return Tensor(bytes.storage(), Layout(Dims{w.shape()[0], w.shape()[1]}, bytes.offset() / size), dtype);
}

}  // namespace

void qmatmul(const Tensor& x, const QTensor& w, const Tensor& dst) {
  if (x.shape()[0] >= kFloatWeightGemmRows) {
    if (const std::optional<Tensor> wf = float_weight_view(w)) {
      const Tensor wx = to_dtype(*wf, x.dtype());
      matmul(x, wx.with_layout(wx.layout().transpose(0, 1)), dst);
      return;
    }
  }
  QMatmulArgs a;
  a.wtype = w.type();
  a.w = w.data().data_ptr();
  a.w_row_bytes = w.row_bytes();
  a.N = w.shape()[0];
  a.K = w.shape()[1];
  a.M = x.shape()[0];
  a.dtype = x.dtype();
  a.x = x.data_ptr();
  a.x_row_stride = x.strides()[0];
  a.y = dst.data_ptr();
  a.y_row_stride = dst.strides()[0];
  kernels().qmatmul(a);
}

void qembedding(const Tensor& ids, const QTensor& w, const Tensor& dst) {
  const int64_t n = ids.numel(), rows = w.shape()[0], k = w.row_length(), row_bytes = w.row_bytes();
  const int64_t* id = ids.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    EMBER_CHECK(id[i] >= 0 && id[i] < rows, Index, "qembedding: index ", id[i], " is out of range for a table of ",
                rows, " rows (", w.describe(), ")");
  }
  const char* blocks = static_cast<const char*>(w.data().data_ptr());
  float* y = dst.data<float>();
  parallel_for(n, row_grain(k), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      quant::dequantize_row(w.type(), blocks + id[i] * row_bytes, y + i * k, k);
    }
  });
}

}  // namespace ember::cpu
