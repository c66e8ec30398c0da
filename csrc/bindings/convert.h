// Python <-> C++ conversions shared by every binding file: dtypes, devices, numbers, shapes.
#pragma once
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/ops.h"

namespace ember::py_bind {

namespace py = pybind11;

// The Python objects ember.float32, ember.device("cpu"), ...
struct PyDType {
  DType value;
};
struct PyDevice {
  Device value;
};

py::object dtype_object(DType d);
DType dtype_from_py(py::handle h);
Device device_from_py(py::handle h);
bool is_number(py::handle h);
bool is_numpy_scalar(py::handle h);
Scalar scalar_from_py(py::handle h, const char* op);
py::object scalar_to_py(const Tensor& t);  // numel()==1 tensor -> Python number
// An int, or a tuple / list / Size of ints; `op` names the caller in errors.
Dims dims_from_py(py::handle h, const char* op);
// Shape arguments given either as f(2, 3) or f((2, 3)).
Dims dims_from_args(const py::args& args, const char* op);
py::tuple dims_to_tuple(const Dims& d);

// Runs f with the GIL released (kernels may take a while; other Python threads keep running).
template <class F>
auto nogil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

}  // namespace ember::py_bind

namespace pybind11::detail {

template <>
struct type_caster<ember::DType> {
  PYBIND11_TYPE_CASTER(ember::DType, const_name("ember.dtype"));
  bool load(handle src, bool) {
    if (src.is_none()) return false;
    value = ember::py_bind::dtype_from_py(src);
    return true;
  }
  static handle cast(ember::DType d, return_value_policy, handle) {
    return ember::py_bind::dtype_object(d).release();
  }
};

template <>
struct type_caster<ember::Device> {
  PYBIND11_TYPE_CASTER(ember::Device, const_name("ember.device"));
  bool load(handle src, bool) {
    if (src.is_none()) return false;
    value = ember::py_bind::device_from_py(src);
    return true;
  }
  static handle cast(ember::Device d, return_value_policy, handle) {
    return pybind11::cast(ember::py_bind::PyDevice{d}).release();
  }
};

template <>
struct type_caster<ember::Scalar> {
  PYBIND11_TYPE_CASTER(ember::Scalar, const_name("Number"));
  bool load(handle src, bool) {
    if (!ember::py_bind::is_number(src)) return false;
    value = ember::py_bind::scalar_from_py(src, "argument");
    return true;
  }
  static handle cast(const ember::Scalar& s, return_value_policy, handle) {
    if (s.kind == ember::Scalar::Kind::Bool) return pybind11::bool_(s.b).release();
    if (s.kind == ember::Scalar::Kind::Int) return pybind11::int_(s.i).release();
    return pybind11::float_(s.d).release();
  }
};

template <>
struct type_caster<ember::Dims> {
  PYBIND11_TYPE_CASTER(ember::Dims, const_name("Sequence[int]"));
  bool load(handle src, bool) {
    if (!(PyIndex_Check(src.ptr()) || PyTuple_Check(src.ptr()) || PyList_Check(src.ptr()))) return false;
    value = ember::py_bind::dims_from_py(src, "argument");
    return true;
  }
  static handle cast(const ember::Dims& d, return_value_policy, handle) {
    return ember::py_bind::dims_to_tuple(d).release();
  }
};

}  // namespace pybind11::detail
