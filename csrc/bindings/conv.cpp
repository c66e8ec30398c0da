// Convolutions: ember.conv1d / conv2d / conv_transpose1d / conv_transpose2d with torch's arguments.
#include "bindings/bind.h"
#include "core/error.h"
#include "core/ops_conv.h"
#include "cpu/cpu_backend.h"

namespace ember::py_bind {

namespace {

// padding: an int, a tuple of ints, or "same" / "valid".
ConvPadding padding_from_py(py::handle h, Dims& explicit_padding, const char* op) {
  if (py::isinstance<py::str>(h)) {
    const std::string s = py::cast<std::string>(h);
    if (s == "same") return ConvPadding::Same;
    if (s == "valid") return ConvPadding::Valid;
    EMBER_THROW(Value, op, ": padding must be an int, a tuple of ints, 'same' or 'valid', got '", s, "'");
  }
  explicit_padding = dims_from_py(h, op);
  return ConvPadding::Explicit;
}

template <int SD>
Tensor conv_py(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, py::handle stride,
               py::handle padding, py::handle dilation, int64_t groups) {
  const char* op = SD == 1 ? "conv1d" : "conv2d";
  Dims pad{0};
  const ConvPadding mode = padding_from_py(padding, pad, op);
  const Dims s = dims_from_py(stride, op), d = dims_from_py(dilation, op);
  return nogil([&] { return conv(x, w, bias, SD, s, pad, d, groups, mode); });
}

template <int SD>
Tensor conv_transpose_py(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, py::handle stride,
                         py::handle padding, py::handle output_padding, int64_t groups, py::handle dilation) {
  const char* op = SD == 1 ? "conv_transpose1d" : "conv_transpose2d";
  const Dims s = dims_from_py(stride, op), p = dims_from_py(padding, op), op_pad = dims_from_py(output_padding, op);
  const Dims d = dims_from_py(dilation, op);
  return nogil([&] { return conv_transpose(x, w, bias, SD, s, p, op_pad, groups, d); });
}

}  // namespace

void bind_conv(py::module_& m, TensorClass&) {
  m.def("conv1d", &conv_py<1>, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("stride") = 1, py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1);
  m.def("conv2d", &conv_py<2>, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("stride") = 1, py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1);
  m.def("conv_transpose1d", &conv_transpose_py<1>, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("stride") = 1, py::arg("padding") = 0, py::arg("output_padding") = 0, py::arg("groups") = 1,
        py::arg("dilation") = 1);
  m.def("conv_transpose2d", &conv_transpose_py<2>, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(),
        py::arg("stride") = 1, py::arg("padding") = 0, py::arg("output_padding") = 0, py::arg("groups") = 1,
        py::arg("dilation") = 1);
  // Test hooks: bytes of scratch the CPU convolution kernels hold, the peak since the last reset.
  m.def("_conv_workspace_bytes", &cpu::conv_workspace_bytes);
  m.def("_conv_workspace_peak_bytes", &cpu::conv_workspace_peak_bytes);
  m.def("_reset_conv_workspace_peak", &cpu::reset_conv_workspace_peak);
}

}  // namespace ember::py_bind
