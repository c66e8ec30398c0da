// Attention ops (issue #3).
#include "bindings/bind.h"
#include "core/error.h"
#include "core/ops_attention.h"

namespace ember::py_bind {

void bind_attention(py::module_& m, TensorClass&) {
  m.def(
      "scaled_dot_product_attention",
      [](const Tensor& q, const Tensor& k, const Tensor& v, std::optional<Tensor> attn_mask, double dropout_p,
         bool is_causal, std::optional<double> scale, bool enable_gqa) {
        EMBER_CHECK(dropout_p == 0.0, Value, "scaled_dot_product_attention: dropout_p must be 0 (ember is inference-only), got ",
                    dropout_p);
        return nogil([&] { return scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale, enable_gqa); });
      },
      py::arg("query"), py::arg("key"), py::arg("value"), py::arg("attn_mask") = py::none(), py::arg("dropout_p") = 0.0,
      py::arg("is_causal") = false, py::arg("scale") = py::none(), py::arg("enable_gqa") = true);
}

}  // namespace ember::py_bind
