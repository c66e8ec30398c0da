// The CPU backend's normalisation and rotary-embedding ops: tensors to kernel arguments.
#include "core/half.h"
#include "cpu/cpu_backend.h"
#include "cpu/kernel_table.h"
#include "cpu/loop_builder.h"

namespace ember::cpu {

namespace {
// True when the defined ones of weight and bias hold `dtype` (the front-end passes both in one dtype).
bool holds_dtype(const Tensor& weight, const Tensor& bias, DType dtype) {
  const Tensor& p = weight.defined() ? weight : bias;
  return p.defined() && p.dtype() == dtype;
}
}  // namespace

void layer_norm(const Tensor& src, const Tensor& weight, const Tensor& bias, double eps, bool rms, const Tensor& dst) {
  const int64_t last = src.ndim() - 1;
  RowNormArgs a;
  a.dtype = src.dtype();
  a.rms = rms;
  a.eps = eps;
  a.length = src.shape()[last];
  a.weight = weight.defined() ? weight.data_ptr() : nullptr;
  a.bias = bias.defined() ? bias.data_ptr() : nullptr;
  a.affine_in_input_dtype = holds_dtype(weight, bias, src.dtype());
  Layout dl = dst.layout(), sl = src.layout();
  dl.shape[last] = 1;
  sl.shape[last] = 1;
  const Tensor row_starts_dst = dst.with_layout(dl), row_starts_src = src.with_layout(sl);
  a.rows = make_loop({&row_starts_dst, &row_starts_src}, rms ? "rms_norm" : "layer_norm");
  kernels().row_norm(a);
}

void group_norm(const Tensor& src, int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                const Tensor& dst) {
  GroupNormArgs a;
  a.dtype = src.dtype();
  a.eps = eps;
  a.batch = src.shape()[0];
  a.groups = groups;
  a.channels = src.shape()[1] / groups;
  a.spatial = src.shape()[1] == 0 ? 0 : src.numel() / (a.batch * src.shape()[1]);
  a.src = src.data_ptr();
  a.dst = dst.data_ptr();
  a.weight = weight.defined() ? weight.data_ptr() : nullptr;
  a.bias = bias.defined() ? bias.data_ptr() : nullptr;
  a.affine_in_input_dtype = holds_dtype(weight, bias, src.dtype());
  kernels().group_norm(a);
}

namespace {

// (seq, head_dim) tables of the compute type C for the interleaved kernel: cos as (c0, c0, c1, c1, ...),
// sin as (-s0, s0, -s1, s1, ...), from (seq, head_dim / 2) tables of type P.
template <class P, class C>
void expand_pairs(const Tensor& cos, const Tensor& sin, const Tensor& cos2, const Tensor& sin2) {
  const int64_t n = cos.numel();
  const P* c = cos.data<P>();
  const P* s = sin.data<P>();
  C* c2 = cos2.data<C>();
  C* s2 = sin2.data<C>();
  for (int64_t i = 0; i < n; ++i) {
    const C ci = static_cast<C>(c[i]), si = static_cast<C>(s[i]);
    c2[2 * i] = c2[2 * i + 1] = ci;
    s2[2 * i] = -si;
    s2[2 * i + 1] = si;
  }
}

}  // namespace

void rope(const Tensor& src, const Tensor& cos, const Tensor& sin, bool interleaved, const Tensor& dst) {
  RopeArgs a;
  a.dtype = src.dtype();
  a.interleaved = interleaved;
  a.batch = src.shape()[0];
  a.heads = src.shape()[1];
  a.seq = src.shape()[2];
  a.head_dim = src.shape()[3];
  a.src = src.data_ptr();
  a.dst = dst.data_ptr();
  for (int d = 0; d < 3; ++d) {
    a.src_strides[d] = src.strides()[d];
    a.dst_strides[d] = dst.strides()[d];
  }
  Tensor cos2, sin2;
  if (interleaved) {
    const DType compute = src.dtype() == DType::F64 ? DType::F64 : DType::F32;
    cos2 = Tensor::empty({a.seq, a.head_dim}, compute, cos.device(), "rope_interleaved");
    sin2 = Tensor::empty({a.seq, a.head_dim}, compute, cos.device(), "rope_interleaved");
    switch (cos.dtype()) {
      case DType::F64: expand_pairs<double, double>(cos, sin, cos2, sin2); break;
      case DType::F16: expand_pairs<f16, float>(cos, sin, cos2, sin2); break;
      case DType::BF16: expand_pairs<bf16, float>(cos, sin, cos2, sin2); break;
      default: expand_pairs<float, float>(cos, sin, cos2, sin2); break;
    }
    a.cos = cos2.data_ptr();
    a.sin = sin2.data_ptr();
  } else {
    a.tables_in_input_dtype = cos.dtype() == src.dtype();
    a.cos = cos.data_ptr();
    a.sin = sin.data_ptr();
  }
  kernels().rope(a);
}

void glu(const Tensor& a, const Tensor& b, const Tensor& dst) {
  kernels().glu(dst.dtype(), make_loop({&dst, &a, &b}, "glu"));
}

}  // namespace ember::cpu
