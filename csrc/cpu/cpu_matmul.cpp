// Batched matmul on the CPU: merges batch dims, folds a broadcast weight's batch into M, and hands
// single-stride batches to the GEMM kernel.
#include "core/error.h"
#include "cpu/cpu_ops.h"
#include "cpu/kernel_table.h"

namespace ember::cpu {

namespace {
struct BatchDim {
  int64_t size, a, b, c;
};
}  // namespace

void matmul(const Tensor& a, const Tensor& b, const Tensor& dst) {
  const int64_t nd = dst.ndim();
  GemmArgs g;
  g.dtype = dst.dtype();
  g.M = a.shape()[nd - 2];
  g.K = a.shape()[nd - 1];
  g.N = b.shape()[nd - 1];
  g.a = a.data_ptr();
  g.b = b.data_ptr();
  g.c = dst.data_ptr();
  g.a_row_stride = a.strides()[nd - 2];
  g.a_col_stride = a.strides()[nd - 1];
  g.b_row_stride = b.strides()[nd - 2];
  g.b_col_stride = b.strides()[nd - 1];
  g.c_row_stride = dst.strides()[nd - 2];
  g.c_col_stride = dst.strides()[nd - 1];
  if (dst.numel() == 0) return;

  // Batch dims of size > 1, merged where all three operands allow it (innermost first).
  SmallVec<BatchDim, 6> dims;
  for (int64_t d = nd - 3; d >= 0; --d) {
    const BatchDim cur{dst.shape()[d], a.strides()[d], b.strides()[d], dst.strides()[d]};
    if (cur.size == 1) continue;
    if (!dims.empty()) {
      BatchDim& in = dims.back();
      if (cur.a == in.a * in.size && cur.b == in.b * in.size && cur.c == in.c * in.size) {
        in.size *= cur.size;
        continue;
      }
    }
    dims.push_back(cur);
  }
  // One batch dim whose weight is broadcast: when A and C rows continue across the batch, it is
  // one big (batch*M, K) @ (K, N) product — the shape of every linear layer.
  if (dims.size() == 1 && dims[0].b == 0 && dims[0].a == g.M * g.a_row_stride &&
      dims[0].c == g.M * g.c_row_stride) {
    g.M *= dims[0].size;
    dims.clear();
  }
  const KernelTable& k = kernels();
  if (dims.empty()) {
    k.gemm(g);
    return;
  }
  const BatchDim inner = dims[0];
  g.batch = inner.size;
  g.a_batch_stride = inner.a;
  g.b_batch_stride = inner.b;
  g.c_batch_stride = inner.c;
  // Remaining (outer) batch dims: iterate them one product at a time.
  int64_t outer = 1;
  for (size_t i = 1; i < dims.size(); ++i) outer *= dims[i].size;
  const size_t isz = dst.itemsize();
  for (int64_t o = 0; o < outer; ++o) {
    int64_t rem = o, off_a = 0, off_b = 0, off_c = 0;
    for (size_t i = 1; i < dims.size(); ++i) {
      const int64_t idx = rem % dims[i].size;
      rem /= dims[i].size;
      off_a += idx * dims[i].a;
      off_b += idx * dims[i].b;
      off_c += idx * dims[i].c;
    }
    GemmArgs gi = g;
    gi.a = static_cast<const char*>(g.a) + off_a * static_cast<int64_t>(isz);
    gi.b = static_cast<const char*>(g.b) + off_b * static_cast<int64_t>(isz);
    gi.c = static_cast<char*>(g.c) + off_c * static_cast<int64_t>(isz);
    k.gemm(gi);
  }
}

}  // namespace ember::cpu
