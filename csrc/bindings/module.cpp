#include <pybind11/pybind11.h>

#include "bindings/bind.h"
#include "core/error.h"
#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"

namespace py = pybind11;
using namespace ember;
using namespace ember::py_bind;

namespace {

void register_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* type = PyExc_RuntimeError;
      switch (e.kind()) {
        case ErrorKind::Value: type = PyExc_ValueError; break;
        case ErrorKind::Type: type = PyExc_TypeError; break;
        case ErrorKind::Index: type = PyExc_IndexError; break;
        case ErrorKind::NotImplemented: type = PyExc_NotImplementedError; break;
        case ErrorKind::Runtime: type = PyExc_RuntimeError; break;
      }
      PyErr_SetString(type, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "ember: out of memory");
    }
  });
}

void bind_dtype_and_device(py::module_& m) {
  py::class_<PyDType>(m, "dtype", "An ember element type: ember.float32, ember.bfloat16, ...")
      .def(py::init([](py::handle h) { return PyDType{dtype_from_py(h)}; }), py::arg("name"))
      .def_property_readonly("itemsize", [](const PyDType& d) { return itemsize(d.value); })
      .def_property_readonly("is_floating_point", [](const PyDType& d) { return is_floating(d.value); })
      .def_property_readonly("is_signed", [](const PyDType& d) { return is_signed(d.value); })
      .def_property_readonly("name", [](const PyDType& d) { return dtype_name(d.value); })
      .def("__repr__", [](const PyDType& d) { return std::string("ember.") + dtype_name(d.value); })
      .def("__str__", [](const PyDType& d) { return std::string("ember.") + dtype_name(d.value); })
      .def("__eq__", [](const PyDType& a, py::handle b) {
        if (py::isinstance<PyDType>(b)) return a.value == b.cast<PyDType>().value;
        if (py::isinstance<py::str>(b)) {
          try { return a.value == dtype_from_py(b); } catch (const Error&) { return false; }
        }
        return false;
      })
      .def("__hash__", [](const PyDType& d) { return static_cast<int>(d.value); })
      .def("__reduce__", [](const PyDType& d) {
        return py::make_tuple(py::module_::import("ember").attr("dtype"), py::make_tuple(dtype_name(d.value)));
      });
  for (int i = 0; i < kNumDTypes; ++i) {
    const DType d = static_cast<DType>(i);
    m.attr(dtype_name(d)) = dtype_object(d);
  }
  m.attr("bool_") = dtype_object(DType::Bool);
  m.attr("half") = dtype_object(DType::F16);
  m.attr("float") = dtype_object(DType::F32);
  m.attr("double") = dtype_object(DType::F64);
  m.attr("long") = dtype_object(DType::I64);
  m.attr("int") = dtype_object(DType::I32);

  py::class_<PyDevice>(m, "device", "A device: ember.device('cpu'), ember.device('cuda:0'), ember.device('metal')")
      .def(py::init([](py::handle h, std::optional<int> index) {
             Device d = device_from_py(h);
             if (index) d.index = *index;
             return PyDevice{d};
           }),
           py::arg("type"), py::arg("index") = py::none())
      .def_property_readonly("type", [](const PyDevice& d) {
        return d.value.type == DeviceType::CPU ? "cpu" : d.value.type == DeviceType::CUDA ? "cuda" : "metal";
      })
      .def_property_readonly("index", [](const PyDevice& d) { return d.value.index; })
      .def("__repr__", [](const PyDevice& d) { return "device(type='" + d.value.str() + "')"; })
      .def("__str__", [](const PyDevice& d) { return d.value.str(); })
      .def("__eq__", [](const PyDevice& a, py::handle b) {
        try { return a.value == device_from_py(b); } catch (const Error&) { return false; }
      })
      .def("__hash__", [](const PyDevice& d) { return static_cast<int>(d.value.type) * 1024 + d.value.index; });
}

py::dict cpu_features_dict() {
  const cpu::CpuFeatures& f = cpu::cpu_features();
  py::dict d;
  d["arch"] = f.arch;
  py::list detected;
  auto add = [&](bool has, const char* name) {
    if (has) detected.append(name);
  };
  add(f.sse2, "sse2"); add(f.ssse3, "ssse3"); add(f.sse41, "sse4.1"); add(f.avx, "avx"); add(f.avx2, "avx2");
  add(f.fma, "fma"); add(f.f16c, "f16c"); add(f.avx512f, "avx512f"); add(f.avx512bw, "avx512bw");
  add(f.avx512dq, "avx512dq"); add(f.avx512vl, "avx512vl"); add(f.avx512vnni, "avx512vnni");
  add(f.avx512bf16, "avx512bf16"); add(f.avxvnni, "avxvnni"); add(f.neon, "neon"); add(f.dotprod, "dotprod");
  add(f.i8mm, "i8mm"); add(f.fp16, "fp16");
  d["detected"] = detected;
  py::list compiled;
  for (cpu::Isa isa : cpu::runnable_isas()) compiled.append(cpu::isa_name(isa));
  d["runnable"] = compiled;
  d["active"] = cpu::isa_name(cpu::active_isa());
  return d;
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "ember core (C++)";
  m.attr("__version__") = EMBER_VERSION;
  register_errors();
  bind_dtype_and_device(m);

  TensorClass cls(m, "Tensor", py::buffer_protocol(),
                  "An n-dimensional array on a device. Views share storage; ops are eager.");
  bind_tensor(m, cls);
  bind_views(m, cls);
  bind_math(m, cls);
  bind_creation(m);
  bind_interop(m, cls);
  bind_norm(m, cls);
  bind_pool(m, cls);
  bind_conv(m, cls);
  bind_attention(m, cls);
  bind_ordering(m, cls);
  bind_quant(m);

  m.def("set_num_threads", [](int n) {
    EMBER_CHECK(n > 0, Value, "set_num_threads: expected a positive number of threads, got ", n);
    cpu::set_num_threads(n);
  }, py::arg("n"), "Sets the number of CPU threads ember's kernels use.");
  m.def("get_num_threads", &cpu::num_threads, "The number of CPU threads ember's kernels use.");
  m.def("cpu_features", &cpu_features_dict,
        "What the CPU supports ('detected'), the SIMD levels this build can run ('runnable') and the one in use ('active').");
  m.def("cuda_is_available", [] { return false; });
  m.def("cuda_device_count", [] { return 0; });
  m.def("metal_is_available", [] { return false; });
}
