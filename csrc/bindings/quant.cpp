// Quantized weights (issue #4): ember.QTensor, quantize, qmatmul, qembedding, QTYPES.
#include "bindings/bind.h"
#include "core/error.h"
#include "core/ops_quant.h"
#include "quant/qtype_info.h"

namespace ember::py_bind {

namespace {

quant::QType qtype_from_py(py::handle h, const char* op) {
  EMBER_CHECK(py::isinstance<py::str>(h), Type, op, ": the quantized type must be a name such as 'q4_k', got ",
              std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  const std::string name = h.cast<std::string>();
  const auto t = quant::qtype_from_name(name);
  EMBER_CHECK(t.has_value(), Value, op, ": unknown quantized type '", name, "'; expected one of ", quant::qtype_names());
  return *t;
}

py::tuple qtype_table() {
  py::list rows;
  for (int i = 0; i < quant::kQTypeCount; ++i) {
    const quant::QTypeTraits& t = quant::all_qtypes()[i];
    rows.append(py::make_tuple(t.name, static_cast<int>(t.type), t.block_size, t.type_size));
  }
  return py::tuple(rows);
}

}  // namespace

void bind_quant(py::module_& m) {
  py::class_<QTensor>(m, "QTensor",
                      "A quantized weight: ggml blocks (a uint8 tensor), their type and the logical shape.")
      .def(py::init([](const Tensor& data, py::handle qtype, py::handle shape) {
             return QTensor::wrap(data, qtype_from_py(qtype, "QTensor"), dims_from_py(shape, "QTensor"));
           }),
           py::arg("data"), py::arg("qtype"), py::arg("shape"),
           "Wraps raw blocks (a contiguous uint8 tensor of exactly the bytes the shape needs) without copying.")
      .def_property_readonly("data", &QTensor::data, "The blocks, a 1-D uint8 tensor.")
      .def_property_readonly("qtype", [](const QTensor& q) { return std::string(q.type_name()); })
      .def_property_readonly("shape", [](const QTensor& q) { return dims_to_tuple(q.shape()); })
      .def_property_readonly("ndim", &QTensor::ndim)
      .def_property_readonly("nbytes", &QTensor::nbytes)
      .def_property_readonly("device", &QTensor::device)
      .def("numel", &QTensor::numel)
      .def("dequantize", [](const QTensor& q, DType dtype) { return nogil([&] { return dequantize(q, dtype); }); },
           py::arg("dtype") = DType::F32, "The weights as a tensor of `dtype`.")
      .def("to", [](const QTensor& q, Device device) {
             return QTensor::wrap(to_device(q.data(), device), q.type(), q.shape(), "QTensor.to");
           }, py::arg("device"))
      .def("__repr__", [](const QTensor& q) {
        return "ember.QTensor(" + std::string(q.type_name()) + ", shape=" + shape_str(q.shape()) + ", device='" +
               q.device().str() + "')";
      });
  m.def("quantize", [](const Tensor& x, py::handle qtype) {
    const quant::QType t = qtype_from_py(qtype, "quantize");
    return nogil([&] { return quantize(x, t); });
  }, py::arg("input"), py::arg("qtype"), "Quantizes the rows of `input` (last dim a multiple of the block size).");
  m.def("qmatmul", [](const Tensor& x, const QTensor& w) { return nogil([&] { return qmatmul(x, w); }); },
        py::arg("input"), py::arg("weight"), "input @ weight.dequantize().T with 8-bit rounded activations.");
  m.def("qembedding", [](const Tensor& ids, const QTensor& w, DType dtype) {
    return nogil([&] { return qembedding(ids, w, dtype); });
  }, py::arg("input"), py::arg("weight"), py::arg("dtype") = DType::F32,
     "Rows `input` of the quantized table `weight`, dequantized.");
  m.def("_qtype_table", &qtype_table);
}

}  // namespace ember::py_bind
