// Attention front-ends: argument checks, shapes, dtypes, dispatch.
#include <cmath>

#include "core/error.h"
#include "core/ops.h"
#include "core/ops_attention.h"

namespace ember {

namespace {
constexpr const char* kSdpa = "scaled_dot_product_attention";

std::string shapes_str(const Tensor& q, const Tensor& k, const Tensor& v) {
  return "query " + shape_str(q.shape()) + ", key " + shape_str(k.shape()) + ", value " + shape_str(v.shape());
}

// The mask as a (B, H, L, S) view (stride 0 where it broadcasts), bool or the compute float type.
Tensor prepare_mask(const Tensor& mask_in, const Dims& scores, DType compute, const Tensor& q, const Tensor& k,
                    const Tensor& v) {
  check_same_device(q, mask_in, kSdpa);
  EMBER_CHECK(mask_in.dtype() == DType::Bool || is_floating(mask_in.dtype()), Type, kSdpa,
              ": attn_mask must be bool or floating, got ", dtype_name(mask_in.dtype()));
  const int64_t n = static_cast<int64_t>(scores.size());
  bool fits = mask_in.ndim() <= n;
  for (int64_t i = 0; fits && i < mask_in.ndim(); ++i) {
    const int64_t m = mask_in.shape()[mask_in.ndim() - 1 - i], s = scores[n - 1 - i];
    fits = m == s || m == 1;
  }
  EMBER_CHECK(fits, Value, kSdpa, ": attn_mask of shape ", shape_str(mask_in.shape()),
              " does not broadcast to the attention scores ", shape_str(scores), " (", shapes_str(q, k, v), ")");
  Tensor mask = mask_in.dtype() == DType::Bool ? mask_in : to_dtype(mask_in, compute);
  while (mask.ndim() < 4) mask = unsqueeze(mask, 0);
  Dims full = scores;
  while (static_cast<int64_t>(full.size()) < 4) full.insert(0, 1);
  return expand(mask, full);
}
}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                    const std::optional<Tensor>& attn_mask, bool is_causal,
                                    std::optional<double> scale, bool enable_gqa) {
  check_same_device(q_in, k_in, kSdpa);
  check_same_device(q_in, v_in, kSdpa);
  EMBER_CHECK(is_floating(q_in.dtype()) && k_in.dtype() == q_in.dtype() && v_in.dtype() == q_in.dtype(), Type, kSdpa,
              ": query, key and value must share one floating dtype, got ", dtype_name(q_in.dtype()), ", ",
              dtype_name(k_in.dtype()), " and ", dtype_name(v_in.dtype()));
  const int64_t nd = q_in.ndim();
  EMBER_CHECK((nd == 3 || nd == 4) && k_in.ndim() == nd && v_in.ndim() == nd, Value, kSdpa,
              ": expected query, key and value all 4-D (batch, heads, seq, head_dim) or all 3-D (heads, seq, "
              "head_dim), got ", shapes_str(q_in, k_in, v_in));
  const Tensor q = nd == 3 ? unsqueeze(q_in, 0) : q_in;
  const Tensor k = nd == 3 ? unsqueeze(k_in, 0) : k_in;
  const Tensor v = nd == 3 ? unsqueeze(v_in, 0) : v_in;
  const int64_t B = q.shape()[0], H = q.shape()[1], L = q.shape()[2], E = q.shape()[3];
  const int64_t Hk = k.shape()[1], S = k.shape()[2], Ev = v.shape()[3];
  EMBER_CHECK(k.shape()[0] == B && v.shape()[0] == B, Value, kSdpa, ": batch sizes differ: ",
              shapes_str(q_in, k_in, v_in));
  EMBER_CHECK(k.shape()[3] == E, Value, kSdpa, ": query and key head_dim differ: ", shapes_str(q_in, k_in, v_in));
  EMBER_CHECK(v.shape()[1] == Hk && v.shape()[2] == S, Value, kSdpa,
              ": key and value must have the same heads and sequence length: ", shapes_str(q_in, k_in, v_in));
  if (enable_gqa) {
    EMBER_CHECK(Hk > 0 ? H % Hk == 0 : H == 0, Value, kSdpa, ": key/value heads (", Hk,
                ") must divide query heads (", H, "): ", shapes_str(q_in, k_in, v_in));
  } else {
    EMBER_CHECK(Hk == H, Value, kSdpa, ": query and key/value heads differ (", H, " vs ", Hk,
                ") and enable_gqa is False: ", shapes_str(q_in, k_in, v_in));
  }
  const DType dtype = q.dtype();
  const DType compute = dtype == DType::F64 ? DType::F64 : DType::F32;
  std::optional<Tensor> mask;
  if (attn_mask) {
    const Dims scores = nd == 3 ? Dims{H, L, S} : Dims{B, H, L, S};
    mask = prepare_mask(*attn_mask, scores, compute, q_in, k_in, v_in);
  }
  const double sc = scale ? *scale : (E > 0 ? 1.0 / std::sqrt(static_cast<double>(E)) : 1.0);

  Tensor out = Tensor::empty({B, H, L, Ev}, dtype, q.device(), kSdpa);
  if (out.numel() > 0) backend_for(q.device(), kSdpa).scaled_dot_product_attention(q, k, v, mask, is_causal, sc, out);
  return nd == 3 ? squeeze(out, {0}) : out;
}

}  // namespace ember
