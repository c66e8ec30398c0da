// Tensor creation from Python: ember.tensor(), zeros(), arange(), rand(), cat(), ...
#include <vector>

#include "bindings/bind.h"
#include "core/error.h"

namespace ember::py_bind {

namespace {

enum class ValueKind { Bool = 0, Int = 1, Float = 2 };

struct NestedData {
  Dims shape;
  std::vector<double> floats;
  std::vector<int64_t> ints;
  ValueKind kind = ValueKind::Bool;
  bool any_value = false;
};

bool is_nested_sequence(py::handle h) { return PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()); }

void infer_shape(py::handle h, Dims& shape) {
  while (is_nested_sequence(h)) {
    const int64_t n = static_cast<int64_t>(py::len(h));
    shape.push_back(n);
    if (n == 0) return;
    h = py::reinterpret_borrow<py::sequence>(h)[0];
  }
  if (py::isinstance<Tensor>(h)) {
    for (int64_t d : h.cast<const Tensor&>().shape()) shape.push_back(d);
  }
}

void collect(py::handle h, NestedData& out, size_t level) {
  if (level < out.shape.size() && is_nested_sequence(h)) {
    const int64_t n = static_cast<int64_t>(py::len(h));
    EMBER_CHECK(n == out.shape[level], Value, "tensor: expected a sequence of length ", out.shape[level], " at dim ",
                level, " (got ", n, "); nested lists must be rectangular");
    for (py::handle item : h) collect(item, out, level + 1);
    return;
  }
  if (py::isinstance<Tensor>(h)) {
    const Tensor& t = h.cast<const Tensor&>();
    const Dims rest(out.shape.begin() + level, out.shape.end());
    EMBER_CHECK(t.shape() == rest, Value, "tensor: a nested tensor of shape ", shape_str(t.shape()),
                " does not fit the expected shape ", shape_str(rest), " at dim ", level);
    const Tensor host = to_device(t, Device::cpu());
    out.any_value = true;
    if (is_floating(t.dtype())) out.kind = ValueKind::Float;
    else if (t.dtype() != DType::Bool && out.kind == ValueKind::Bool) out.kind = ValueKind::Int;
    const Tensor as_f64 = contiguous(to_dtype(host, DType::F64));
    const Tensor as_i64 = contiguous(to_dtype(host, DType::I64));
    for (int64_t i = 0; i < t.numel(); ++i) {
      out.floats.push_back(as_f64.data<double>()[i]);
      out.ints.push_back(as_i64.data<int64_t>()[i]);
    }
    return;
  }
  EMBER_CHECK(level == out.shape.size(), Value, "tensor: found a number where a sequence of length ", out.shape[level],
              " was expected at dim ", level, "; nested lists must be rectangular");
  EMBER_CHECK(is_number(h), Type, "tensor: cannot convert an element of type ",
              std::string(py::str(py::type::handle_of(h).attr("__name__"))), " to a number");
  const Scalar s = scalar_from_py(h, "tensor");
  out.any_value = true;
  if (s.kind == Scalar::Kind::Float) out.kind = ValueKind::Float;
  else if (s.kind == Scalar::Kind::Int && out.kind == ValueKind::Bool) out.kind = ValueKind::Int;
  out.floats.push_back(s.to_double());
  out.ints.push_back(s.kind == Scalar::Kind::Float ? 0 : s.i);
}

Tensor from_nested(py::handle data, std::optional<DType> dtype, Device device) {
  NestedData nd;
  infer_shape(data, nd.shape);
  checked_numel(nd.shape, "tensor");
  collect(data, nd, 0);
  // No element at all (ember.tensor([])): float32, like torch.
  const DType target = dtype ? *dtype
                             : !nd.any_value ? kDefaultFloat
                             : nd.kind == ValueKind::Float ? kDefaultFloat
                             : nd.kind == ValueKind::Int   ? DType::I64
                                                           : DType::Bool;
  // Integers travel as int64 so values beyond 2^53 stay exact; anything with a float as float64.
  if (nd.kind == ValueKind::Float) return to_dtype(from_host(nd.floats.data(), nd.shape, DType::F64, device), target);
  return to_dtype(from_host(nd.ints.data(), nd.shape, DType::I64, device), target);
}

Device device_or_cpu(const std::optional<Device>& d) { return d ? *d : Device::cpu(); }

DType dtype_or(const std::optional<DType>& d, DType fallback) { return d ? *d : fallback; }

std::vector<Tensor> tensor_list(py::handle seq, const char* op) {
  std::vector<Tensor> out;
  EMBER_CHECK(py::isinstance<py::sequence>(seq) && !py::isinstance<Tensor>(seq), Type, op,
              ": expected a sequence of tensors");
  for (py::handle h : seq) {
    EMBER_CHECK(py::isinstance<Tensor>(h), Type, op, ": expected a sequence of tensors, got an element of type ",
                std::string(py::str(py::type::handle_of(h).attr("__name__"))));
    out.push_back(h.cast<Tensor>());
  }
  return out;
}

}  // namespace

Tensor tensor_from_data(py::handle data, std::optional<DType> dtype, std::optional<Device> device) {
  if (py::isinstance<Tensor>(data)) {
    const Tensor& t = data.cast<const Tensor&>();
    return nogil([&] {
      Tensor out = clone(device ? to_device(t, *device) : t);
      return dtype ? to_dtype(out, *dtype) : out;
    });
  }
  if (is_numpy_scalar(data)) return tensor_from_data(py::module_::import("numpy").attr("asarray")(data), dtype, device);
  if (is_number(data)) {
    const Scalar s = scalar_from_py(data, "tensor");
    return full({}, s, dtype ? *dtype : s.default_dtype(), device_or_cpu(device));
  }
  if (!is_nested_sequence(data) && (PyObject_CheckBuffer(data.ptr()) || py::hasattr(data, "__array_interface__") ||
                                    py::hasattr(data, "__dlpack__"))) {
    const Tensor wrapped = wrap_buffer(data, "tensor");
    return nogil([&] {
      Tensor out = to_device(wrapped, device_or_cpu(device));
      out = out.shares_storage(wrapped) ? clone(out) : out;
      return dtype ? to_dtype(out, *dtype) : out;
    });
  }
  EMBER_CHECK(is_nested_sequence(data), Type, "tensor: cannot build a tensor from an object of type ",
              std::string(py::str(py::type::handle_of(data).attr("__name__"))));
  return from_nested(data, dtype, device_or_cpu(device));
}

void bind_creation(py::module_& m) {
  m.def("tensor", &tensor_from_data, py::arg("data"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none(),
        "A new tensor holding a copy of `data` (nested lists, numbers, numpy arrays or tensors).");
  m.def("as_tensor", [](py::handle data, std::optional<DType> dtype, std::optional<Device> device) -> Tensor {
    if (py::isinstance<Tensor>(data)) {
      Tensor t = data.cast<Tensor>();
      if (device) t = to_device(t, *device);
      return dtype ? to_dtype(t, *dtype) : t;
    }
    return tensor_from_data(data, dtype, device);
  }, py::arg("data"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none());

  auto shaped = [&m](const char* name, auto make) {
    m.def(name, [make](const py::args& size, std::optional<DType> dtype, std::optional<Device> device) {
      const Dims shape = dims_from_args(size, "shape");
      return nogil([&] { return make(shape, dtype_or(dtype, kDefaultFloat), device_or_cpu(device)); });
    }, py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none());
    const std::string like_name = std::string(name) + "_like";
    m.def(like_name.c_str(), [make](const Tensor& t, std::optional<DType> dtype, std::optional<Device> device) {
      return nogil([&] { return make(t.shape(), dtype ? *dtype : t.dtype(), device ? *device : t.device()); });
    }, py::arg("input"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  };
  shaped("zeros", [](const Dims& s, DType d, Device dev) { return zeros(s, d, dev); });
  shaped("ones", [](const Dims& s, DType d, Device dev) { return ones(s, d, dev); });
  shaped("empty", [](const Dims& s, DType d, Device dev) { return empty(s, d, dev); });
  shaped("rand", [](const Dims& s, DType d, Device dev) { return rand(s, d, dev); });
  shaped("randn", [](const Dims& s, DType d, Device dev) { return randn(s, d, dev); });

  m.def("full", [](const Dims& size, py::handle fill_value, std::optional<DType> dtype, std::optional<Device> device) {
    const Scalar value = scalar_from_py(fill_value, "full");
    return nogil([&] { return full(size, value, dtype ? *dtype : value.default_dtype(), device_or_cpu(device)); });
  }, py::arg("size"), py::arg("fill_value"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("full_like", [](const Tensor& t, py::handle fill_value, std::optional<DType> dtype, std::optional<Device> device) {
    const Scalar value = scalar_from_py(fill_value, "full_like");
    return nogil([&] { return full(t.shape(), value, dtype ? *dtype : t.dtype(), device ? *device : t.device()); });
  }, py::arg("input"), py::arg("fill_value"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none());

  m.def("arange", [](Scalar start, std::optional<Scalar> end, Scalar step, std::optional<DType> dtype, std::optional<Device> device) {
    const Scalar s = end ? start : Scalar::from_int(0);
    const Scalar e = end ? *end : start;
    return nogil([&] { return arange(s, e, step, dtype, device_or_cpu(device)); });
  }, py::arg("start"), py::arg("end") = py::none(), py::arg("step") = Scalar::from_int(1), py::kw_only(),
     py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("linspace", [](double start, double end, int64_t steps, std::optional<DType> dtype, std::optional<Device> device) {
    return nogil([&] { return linspace(start, end, steps, dtype_or(dtype, kDefaultFloat), device_or_cpu(device)); });
  }, py::arg("start"), py::arg("end"), py::arg("steps"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("eye", [](int64_t n, std::optional<int64_t> m_cols, std::optional<DType> dtype, std::optional<Device> device) {
    return nogil([&] { return eye(n, m_cols ? *m_cols : n, dtype_or(dtype, kDefaultFloat), device_or_cpu(device)); });
  }, py::arg("n"), py::arg("m") = py::none(), py::kw_only(), py::arg("dtype") = py::none(), py::arg("device") = py::none());

  m.def("manual_seed", [](py::int_ seed) {
    // Any Python int: reduced modulo 2^64 like torch does with negative seeds.
    const unsigned long long v = PyLong_AsUnsignedLongLongMask(seed.ptr());
    manual_seed(v);
  }, py::arg("seed"), "Seeds the Philox4x32-10 generator behind rand/randn.");
  m.def("initial_seed", &initial_seed);

  m.def("cat", [](py::handle tensors, int64_t dim) {
    const std::vector<Tensor> list = tensor_list(tensors, "cat");
    return nogil([&] { return cat(list, dim); });
  }, py::arg("tensors"), py::arg("dim") = 0);
  m.attr("concat") = m.attr("cat");
  m.attr("concatenate") = m.attr("cat");
  m.def("stack", [](py::handle tensors, int64_t dim) {
    const std::vector<Tensor> list = tensor_list(tensors, "stack");
    return nogil([&] { return stack(list, dim); });
  }, py::arg("tensors"), py::arg("dim") = 0);

  m.def("promote_types", [](DType a, DType b) { return promote_types(a, b); }, py::arg("type1"), py::arg("type2"));
  m.def("result_type", [](py::handle a, py::handle b) {
    const Operand oa = operand_from_py(a, "result_type"), ob = operand_from_py(b, "result_type");
    return result_type({&oa, &ob});
  }, py::arg("tensor1"), py::arg("tensor2"));
}

}  // namespace ember::py_bind
