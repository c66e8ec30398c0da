#include "bindings/convert.h"

#include <string>

#include "core/error.h"

namespace ember::py_bind {

namespace {
py::object& dtype_table(int i) {
  static py::object* table = new py::object[kNumDTypes];  // leaked on purpose: lives until exit
  return table[i];
}
}  // namespace

py::object dtype_object(DType d) {
  py::object& o = dtype_table(static_cast<int>(d));
  if (!o) o = py::cast(PyDType{d});
  return o;
}

DType dtype_from_py(py::handle h) {
  if (py::isinstance<PyDType>(h)) return h.cast<PyDType>().value;
  if (py::isinstance<py::str>(h)) return dtype_from_string(h.cast<std::string>());
  if (PyType_Check(h.ptr())) {
    if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return DType::F64;
    if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return DType::I64;
    if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return DType::Bool;
    // numpy scalar types (np.float32, np.bool_) and ml_dtypes.bfloat16 carry their name.
    if (py::hasattr(h, "__name__")) return dtype_from_string(h.attr("__name__").cast<std::string>());
  }
  // numpy.dtype instances have .name; torch.float32 prints as "torch.float32".
  const std::string module = py::str(py::type::handle_of(h).attr("__module__"));
  if (module.rfind("numpy", 0) == 0 && py::hasattr(h, "name")) return dtype_from_string(h.attr("name").cast<std::string>());
  if (module.rfind("torch", 0) == 0) return dtype_from_string(py::str(h).cast<std::string>());
  EMBER_THROW(Type, "expected a dtype (ember.float32, 'float32', numpy or torch dtype), got ",
              std::string(py::str(py::repr(h))));
}

Device device_from_py(py::handle h) {
  if (py::isinstance<PyDevice>(h)) return h.cast<PyDevice>().value;
  if (py::isinstance<py::str>(h)) return Device::parse(h.cast<std::string>());
  const std::string module = py::str(py::type::handle_of(h).attr("__module__"));
  if (module.rfind("torch", 0) == 0) return Device::parse(py::str(h).cast<std::string>());
  EMBER_THROW(Type, "expected a device ('cpu', 'cuda:0', 'metal' or ember.device), got ", std::string(py::str(py::repr(h))));
}

bool is_numpy_scalar(py::handle h) {
  static PyObject* generic = nullptr;  // numpy.generic, once numpy has been imported by someone
  if (!generic) {
    PyObject* np = PyImport_GetModule(py::str("numpy").ptr());
    if (!np) {
      PyErr_Clear();
      return false;
    }
    generic = PyObject_GetAttrString(np, "generic");
    Py_DECREF(np);
    if (!generic) {
      PyErr_Clear();
      return false;
    }
  }
  return PyObject_IsInstance(h.ptr(), generic) == 1;
}

bool is_number(py::handle h) {
  return PyBool_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) || is_numpy_scalar(h);
}

Scalar scalar_from_py(py::handle h, const char* op) {
  if (PyBool_Check(h.ptr())) return Scalar::from_bool(h.ptr() == Py_True);
  if (PyLong_Check(h.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (overflow) EMBER_THROW(Value, op, ": integer ", std::string(py::str(h)), " does not fit in int64");
    return Scalar::from_int(v);
  }
  if (PyFloat_Check(h.ptr())) return Scalar::from_double(PyFloat_AsDouble(h.ptr()));
  if (is_numpy_scalar(h)) {
    py::object item = h.attr("item")();
    if (PyBool_Check(item.ptr()) || PyLong_Check(item.ptr()) || PyFloat_Check(item.ptr())) return scalar_from_py(item, op);
  }
  EMBER_THROW(Type, op, ": expected a number, got ", std::string(py::str(py::type::handle_of(h).attr("__name__"))));
}

Dims dims_from_py(py::handle h, const char* op) {
  Dims out;
  if (PyIndex_Check(h.ptr()) && !PyBool_Check(h.ptr())) {
    out.push_back(py::cast<int64_t>(py::reinterpret_borrow<py::object>(PyNumber_Index(h.ptr()))));
    return out;
  }
  if (!(PyTuple_Check(h.ptr()) || PyList_Check(h.ptr()) || py::isinstance<py::sequence>(h)) || py::isinstance<py::str>(h)) {
    EMBER_THROW(Type, op, ": expected an int or a sequence of ints, got ", std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  }
  for (py::handle item : h) {
    EMBER_CHECK(PyIndex_Check(item.ptr()) && !PyBool_Check(item.ptr()), Type, op, ": expected a sequence of ints, got an element of type ",
                std::string(py::str(py::type::handle_of(item).attr("__name__"))));
    py::object idx = py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr()));
    if (!idx) throw py::error_already_set();
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(idx.ptr(), &overflow);
    EMBER_CHECK(!overflow, Value, op, ": dimension ", std::string(py::str(idx)), " does not fit in int64");
    out.push_back(v);
  }
  return out;
}

Dims dims_from_args(const py::args& args, const char* op) {
  if (args.size() == 1 && !PyIndex_Check(args[0].ptr())) return dims_from_py(args[0], op);
  return dims_from_py(args, op);
}

py::tuple dims_to_tuple(const Dims& d) {
  py::tuple t(d.size());
  for (size_t i = 0; i < d.size(); ++i) t[i] = py::int_(d[i]);
  return t;
}

}  // namespace ember::py_bind
