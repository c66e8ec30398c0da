#include <pybind11/pybind11.h>

#include "cpu/cpu_features.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
  m.doc() = "ember core (C++)";
  m.def("active_isa", [] { return ember::cpu::isa_name(ember::cpu::active_isa()); });
}
