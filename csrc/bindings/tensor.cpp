// Tensor attributes and conversions.
#include <cstring>

#include "bindings/bind.h"
#include "core/convert.h"
#include "core/error.h"

namespace ember::py_bind {

namespace {

// Python value of one element at `p`.
py::object element_to_py(const char* p, DType dtype) {
  return visit_dtype(dtype, [&](auto tag) -> py::object {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::is_same_v<T, bool>) return py::bool_(v);
    else if constexpr (std::is_integral_v<T>) return py::int_(v);
    else if constexpr (std::is_floating_point_v<T>) return py::float_(static_cast<double>(v));
    else return py::float_(static_cast<double>(static_cast<float>(v)));
  });
}

py::object list_level(const char* base, const Dims& shape, const Dims& strides, size_t dim, size_t isz, DType dtype) {
  if (dim == shape.size()) return element_to_py(base, dtype);
  py::list out(shape[dim]);
  for (int64_t i = 0; i < shape[dim]; ++i) {
    out[i] = list_level(base + i * strides[dim] * static_cast<int64_t>(isz), shape, strides, dim + 1, isz, dtype);
  }
  return out;
}

Tensor cpu_view(const Tensor& t) { return t.device().is_cpu() ? t : to_device(t, Device::cpu()); }

// to(dtype), to(device), to(device, dtype), to(other_tensor), with dtype= / device= keywords.
Tensor tensor_to(const Tensor& self, const py::args& args, const py::kwargs& kwargs) {
  std::optional<DType> dtype;
  std::optional<Device> device;
  bool copy = false;
  for (py::handle a : args) {
    if (py::isinstance<Tensor>(a)) {
      const Tensor& o = a.cast<const Tensor&>();
      dtype = o.dtype();
      device = o.device();
    } else if (py::isinstance<PyDevice>(a) ||
               (py::isinstance<py::str>(a) && [&] { try { device_from_py(a); return true; } catch (const Error&) { return false; } }())) {
      device = device_from_py(a);
    } else {
      dtype = dtype_from_py(a);
    }
  }
  for (auto item : kwargs) {
    const std::string key = py::str(item.first);
    if (key == "dtype") { if (!item.second.is_none()) dtype = dtype_from_py(item.second); }
    else if (key == "device") { if (!item.second.is_none()) device = device_from_py(item.second); }
    else if (key == "copy") copy = item.second.cast<bool>();
    else if (key == "non_blocking") {}
    else EMBER_THROW(Type, "to: unexpected keyword argument '", key, "'");
  }
  return nogil([&] {
    Tensor out = self;
    if (device) out = to_device(out, *device);
    if (dtype) out = to_dtype(out, *dtype);
    if (copy && out.shares_storage(self)) out = clone(out);
    return out;
  });
}

}  // namespace

py::object tensor_to_list(const Tensor& t) {
  const Tensor c = cpu_view(t);
  return list_level(static_cast<const char*>(c.data_ptr()), c.shape(), c.strides(), 0, c.itemsize(), c.dtype());
}

py::object scalar_to_py(const Tensor& t) {
  EMBER_CHECK(t.numel() == 1, Value, "item: only a tensor with one element can be converted to a Python number, got ",
              t.describe());
  const Tensor c = cpu_view(t);
  return element_to_py(static_cast<const char*>(c.data_ptr()), c.dtype());
}

void bind_tensor(py::module_&, TensorClass& cls) {
  cls.def_property_readonly("shape", [](const Tensor& t) { return dims_to_tuple(t.shape()); })
      .def_property_readonly("dtype", [](const Tensor& t) { return t.dtype(); })
      .def_property_readonly("device", [](const Tensor& t) { return t.device(); })
      .def_property_readonly("ndim", &Tensor::ndim)
      .def_property_readonly("itemsize", [](const Tensor& t) { return t.itemsize(); })
      .def_property_readonly("nbytes", [](const Tensor& t) { return t.numel() * static_cast<int64_t>(t.itemsize()); })
      .def_property_readonly("is_cpu", [](const Tensor& t) { return t.device().is_cpu(); })
      .def_property_readonly("is_cuda", [](const Tensor& t) { return t.device().type == DeviceType::CUDA; })
      .def("dim", &Tensor::ndim)
      .def("numel", &Tensor::numel)
      .def("element_size", [](const Tensor& t) { return t.itemsize(); })
      .def("size", [](const Tensor& t, std::optional<int64_t> dim) -> py::object {
        if (dim) return py::int_(t.size(*dim));
        return dims_to_tuple(t.shape());
      }, py::arg("dim") = py::none())
      .def("stride", [](const Tensor& t, std::optional<int64_t> dim) -> py::object {
        if (dim) {
          EMBER_CHECK(t.ndim() > 0, Index, "stride: a 0-d tensor has no dims");
          return py::int_(t.strides()[wrap_dim(*dim, t.ndim(), "stride")]);
        }
        return dims_to_tuple(t.strides());
      }, py::arg("dim") = py::none())
      .def("storage_offset", &Tensor::offset)
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); })
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("__len__", [](const Tensor& t) {
        EMBER_CHECK(t.ndim() > 0, Type, "len() of a 0-d tensor");
        return t.shape()[0];
      })
      .def("to", &tensor_to)
      .def("type", [](const Tensor& t, py::handle dtype) -> py::object {
        if (dtype.is_none()) return py::str(std::string("ember.") + dtype_name(t.dtype()));
        return py::cast(nogil([&] { return to_dtype(t, dtype_from_py(dtype)); }));
      }, py::arg("dtype") = py::none())
      .def("cpu", [](const Tensor& t) { return nogil([&] { return to_device(t, Device::cpu()); }); })
      .def("cuda", [](const Tensor& t, int index) { return nogil([&] { return to_device(t, Device{DeviceType::CUDA, index}); }); },
           py::arg("device") = 0)
      .def("contiguous", [](const Tensor& t) { return nogil([&] { return contiguous(t); }); })
      .def("clone", [](const Tensor& t) { return nogil([&] { return clone(t); }); })
      .def("detach", [](const Tensor& t) { return t; })
      .def("copy_", [](const Tensor& t, py::handle src) {
        const Tensor s = py::isinstance<Tensor>(src) ? src.cast<Tensor>() : tensor_from_data(src, t.dtype(), t.device());
        nogil([&] { copy_into(t, s); });
        return t;
      }, py::arg("src"))
      .def("fill_", [](const Tensor& t, py::handle value) {
        const Scalar v = scalar_from_py(value, "fill_");
        nogil([&] { fill_(t, v); });
        return t;
      }, py::arg("value"))
      .def("zero_", [](const Tensor& t) {
        nogil([&] { fill_(t, Scalar::from_int(0)); });
        return t;
      })
      .def("item", [](const Tensor& t) { return scalar_to_py(t); })
      .def("tolist", [](const Tensor& t) { return tensor_to_list(t); })
      .def("__float__", [](const Tensor& t) { return py::float_(scalar_to_py(t)); })
      .def("__int__", [](const Tensor& t) { return py::int_(scalar_to_py(t)); })
      .def("__index__", [](const Tensor& t) {
        EMBER_CHECK(!is_floating(t.dtype()) && t.dtype() != DType::Bool && t.numel() == 1, Type,
                    "only integer tensors of a single element can be converted to an index, got ", t.describe());
        return py::int_(scalar_to_py(t));
      })
      .def("__bool__", [](const Tensor& t) {
        EMBER_CHECK(t.numel() == 1, Value, "the truth value of a tensor with ", t.numel(),
                    " elements is ambiguous; use .any() or .all()");
        return py::bool_(scalar_to_py(t)).cast<bool>();
      })
      .def("__hash__", [](const Tensor& t) { return reinterpret_cast<intptr_t>(&t); });

  // Casting shorthands, as in torch.
  const std::pair<const char*, DType> casts[] = {
      {"float", DType::F32}, {"double", DType::F64}, {"half", DType::F16}, {"bfloat16", DType::BF16},
      {"int", DType::I32},   {"long", DType::I64},   {"bool", DType::Bool}, {"byte", DType::U8}, {"char", DType::I8}};
  for (const auto& [name, dtype] : casts) {
    const DType d = dtype;
    cls.def(name, [d](const Tensor& t) { return nogil([&] { return to_dtype(t, d); }); });
  }
}

}  // namespace ember::py_bind
