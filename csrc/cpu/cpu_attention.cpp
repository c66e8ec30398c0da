// Scaled dot-product attention on the CPU: turns the tensors into an AttentionArgs for the kernel
// (cpu/kernels/attention.cpp). q, k and v whose head dim is not contiguous are copied first.
#include "core/ops.h"
#include "cpu/cpu_backend.h"
#include "cpu/kernel_table.h"

namespace ember::cpu {

namespace {
// x itself when its last dim has stride 1 (or size <= 1), else a contiguous copy.
Tensor unit_last_stride(const Tensor& x) {
  const int64_t n = x.ndim();
  if (x.shape()[n - 1] <= 1 || x.strides()[n - 1] == 1) return x;
  return contiguous(x);
}

void copy_strides(const Tensor& t, int64_t (&dst)[3]) {
  for (int d = 0; d < 3; ++d) dst[d] = t.strides()[d];
}
}  // namespace

void scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                  const std::optional<Tensor>& mask, bool causal, double scale, const Tensor& dst) {
  const Tensor q = unit_last_stride(q_in), k = unit_last_stride(k_in), v = unit_last_stride(v_in);
  AttentionArgs a;
  a.dtype = q.dtype();
  a.batch = q.shape()[0];
  a.heads = q.shape()[1];
  a.q_len = q.shape()[2];
  a.head_dim = q.shape()[3];
  a.kv_heads = k.shape()[1];
  a.kv_len = k.shape()[2];
  a.v_head_dim = v.shape()[3];
  a.q = q.data_ptr();
  a.k = k.data_ptr();
  a.v = v.data_ptr();
  a.out = dst.data_ptr();
  copy_strides(q, a.q_stride);
  copy_strides(k, a.k_stride);
  copy_strides(v, a.v_stride);
  copy_strides(dst, a.out_stride);
  if (mask) {
    a.mask_kind = mask->dtype() == DType::Bool ? AttentionMaskKind::Bool : AttentionMaskKind::Float;
    a.mask = mask->data_ptr();
    for (int d = 0; d < 4; ++d) a.mask_stride[d] = mask->strides()[d];
  }
  a.scale = scale;
  a.causal = causal;
  kernels().attention(a);
}

}  // namespace ember::cpu
