// Normalisation, gated activation and rotary-embedding bindings (issue #3); ember.nn.functional wraps
// them with torch.nn.functional's signatures.
#include "bindings/bind.h"
#include "core/error.h"
#include "core/ops_norm.h"

namespace ember::py_bind {

namespace {

Tensor optional_tensor(py::handle h, const char* what, const char* op) {
  if (h.is_none()) return Tensor();
  EMBER_CHECK(py::isinstance<Tensor>(h), Type, op, ": ", what, " must be an ember.Tensor or None, got ",
              std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  return h.cast<Tensor>();
}

RopeLayout rope_layout(const std::string& s, const char* op) {
  if (s == "bhsd") return RopeLayout::BHSD;
  if (s == "bshd") return RopeLayout::BSHD;
  EMBER_THROW(Value, op, ": layout must be 'bhsd' (batch, heads, seq, head_dim) or 'bshd' (batch, seq, heads, head_dim), got '",
              s, "'");
}

}  // namespace

void bind_norm(py::module_& m, TensorClass&) {
  m.def("layer_norm", [](const Tensor& x, py::handle shape, py::handle weight, py::handle bias, double eps) {
    const Dims ns = dims_from_py(shape, "layer_norm");
    const Tensor w = optional_tensor(weight, "weight", "layer_norm"), b = optional_tensor(bias, "bias", "layer_norm");
    return nogil([&] { return layer_norm(x, ns, w, b, eps); });
  }, py::arg("input"), py::arg("normalized_shape"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
     py::arg("eps") = 1e-5);
  m.def("rms_norm", [](const Tensor& x, py::handle shape, py::handle weight, std::optional<double> eps) {
    const Dims ns = dims_from_py(shape, "rms_norm");
    const Tensor w = optional_tensor(weight, "weight", "rms_norm");
    return nogil([&] { return rms_norm(x, ns, w, eps); });
  }, py::arg("input"), py::arg("normalized_shape"), py::arg("weight") = py::none(), py::arg("eps") = py::none());
  m.def("group_norm", [](const Tensor& x, int64_t groups, py::handle weight, py::handle bias, double eps) {
    const Tensor w = optional_tensor(weight, "weight", "group_norm"), b = optional_tensor(bias, "bias", "group_norm");
    return nogil([&] { return group_norm(x, groups, w, b, eps); });
  }, py::arg("input"), py::arg("num_groups"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
     py::arg("eps") = 1e-5);
  m.def("glu", [](const Tensor& x, int64_t dim) { return nogil([&] { return glu(x, dim); }); }, py::arg("input"),
        py::arg("dim") = -1);
  for (const bool interleaved : {false, true}) {
    const char* name = interleaved ? "rope_interleaved" : "rope";
    m.def(name, [interleaved, name](const Tensor& x, const Tensor& cos, const Tensor& sin, const std::string& layout) {
      const RopeLayout l = rope_layout(layout, name);
      return nogil([&] { return rope(x, cos, sin, interleaved, l); });
    }, py::arg("x"), py::arg("cos"), py::arg("sin"), py::arg("layout") = "bhsd");
  }
}

}  // namespace ember::py_bind
