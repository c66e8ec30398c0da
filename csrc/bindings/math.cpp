// Elementwise ops (generated from the op lists), operators, reductions, matmul and indexing.
#include "bindings/bind.h"
#include "core/error.h"

namespace ember::py_bind {

bool is_operand(py::handle h) { return py::isinstance<Tensor>(h) || is_number(h); }

Operand operand_from_py(py::handle h, const char* op) {
  if (py::isinstance<Tensor>(h)) return Operand(h.cast<Tensor>());
  if (is_number(h)) return Operand(scalar_from_py(h, op));
  EMBER_THROW(Type, op, ": expected a tensor or a number, got ", std::string(py::str(py::type::handle_of(h).attr("__name__"))));
}

namespace {

py::object binary_py(BinaryOp op, py::handle a, py::handle b) {
  const Operand oa = operand_from_py(a, op_name(op)), ob = operand_from_py(b, op_name(op));
  return py::cast(nogil([&] { return binary(op, oa, ob); }));
}

// Python operator: NotImplemented for operands we do not know, so Python tries the other side.
py::object operator_py(BinaryOp op, py::handle a, py::handle b) {
  if (!is_operand(a) || !is_operand(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  return binary_py(op, a, b);
}

py::object pow_py(py::handle a, py::handle b) {
  if (!is_operand(a) || !is_operand(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  const Operand oa = operand_from_py(a, "pow"), ob = operand_from_py(b, "pow");
  return py::cast(nogil([&] { return pow(oa, ob); }));
}

py::object inplace_py(BinaryOp op, const Tensor& self, py::handle other) {
  if (!is_operand(other)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  const Operand o = operand_from_py(other, op_name(op));
  nogil([&] { binary_(op, self, o); });
  return py::cast(self);
}

Tensor div_with_mode(py::handle a, py::handle b, std::optional<std::string> mode) {
  const Operand oa = operand_from_py(a, "div"), ob = operand_from_py(b, "div");
  return nogil([&] {
    if (!mode) return binary(BinaryOp::Div, oa, ob);
    if (*mode == "floor") return binary(BinaryOp::FloorDivide, oa, ob);
    if (*mode == "trunc") {
      const DType dt = result_type({&oa, &ob});
      EMBER_CHECK(is_floating(dt), NotImplemented, "div: rounding_mode='trunc' supports floating operands only");
      return unary(UnaryOp::Trunc, binary(BinaryOp::Div, oa, ob));
    }
    EMBER_THROW(Value, "div: rounding_mode must be None, 'floor' or 'trunc', got '", *mode, "'");
  });
}

std::optional<Dims> dims_arg(py::handle dim) {
  if (dim.is_none()) return std::nullopt;
  return dims_from_py(dim, "reduce");
}

double correction_arg(py::handle unbiased, py::handle correction) {
  if (!correction.is_none()) return correction.cast<double>();
  if (!unbiased.is_none()) return unbiased.cast<bool>() ? 1.0 : 0.0;
  return 1.0;
}

Tensor reduce_py(ReduceOp op, const Tensor& x, py::handle dim, bool keepdim, py::handle dtype) {
  const std::optional<Dims> dims = dims_arg(dim);
  std::optional<DType> dt;
  if (!dtype.is_none()) dt = dtype_from_py(dtype);
  return nogil([&] { return reduce(op, x, dims, keepdim, dt); });
}

// max(x), max(x, dim, keepdim) -> values; max(x, other_tensor) -> maximum
py::object max_min_py(ReduceOp op, const Tensor& x, py::handle dim, bool keepdim) {
  if (py::isinstance<Tensor>(dim)) {
    const Tensor o = dim.cast<Tensor>();
    return py::cast(nogil([&] { return binary(op == ReduceOp::Max ? BinaryOp::Maximum : BinaryOp::Minimum, x, o); }));
  }
  return py::cast(reduce_py(op, x, dim, keepdim, py::none()));
}

Tensor arg_py(ReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return nogil([&] { return arg_reduce(op, x, dim, keepdim); });
}

Tensor var_py(const Tensor& x, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction, bool take_sqrt) {
  const std::optional<Dims> dims = dims_arg(dim);
  const double c = correction_arg(unbiased, correction);
  return nogil([&] { return take_sqrt ? std_dev(x, dims, c, keepdim) : var(x, dims, c, keepdim); });
}

Tensor logsumexp_py(const Tensor& x, py::handle dim, bool keepdim) {
  const std::optional<Dims> dims = dims_arg(dim);
  return nogil([&] { return reduce(ReduceOp::LogSumExp, x, dims, keepdim); });
}

Tensor where_py(const Tensor& cond, py::handle a, py::handle b) {
  const Operand oa = operand_from_py(a, "where"), ob = operand_from_py(b, "where");
  return nogil([&] { return where(cond, oa, ob); });
}

Tensor clamp_py(const Tensor& x, py::handle lo, py::handle hi) {
  if (py::isinstance<Tensor>(lo) || py::isinstance<Tensor>(hi)) {
    std::optional<Tensor> tl, th;
    if (!lo.is_none()) tl = py::isinstance<Tensor>(lo) ? lo.cast<Tensor>() : full({}, scalar_from_py(lo, "clamp"), x.dtype(), x.device());
    if (!hi.is_none()) th = py::isinstance<Tensor>(hi) ? hi.cast<Tensor>() : full({}, scalar_from_py(hi, "clamp"), x.dtype(), x.device());
    return nogil([&] { return clamp_tensor(x, tl, th); });
  }
  std::optional<Scalar> sl, sh;
  if (!lo.is_none()) sl = scalar_from_py(lo, "clamp");
  if (!hi.is_none()) sh = scalar_from_py(hi, "clamp");
  return nogil([&] { return clamp(x, sl, sh); });
}

Tensor matmul_py(const Tensor& a, const Tensor& b) { return nogil([&] { return matmul(a, b); }); }

}  // namespace

void bind_math(py::module_& m, TensorClass& cls) {
  // ---- elementwise ops from the lists in core/elementwise_ops.h ----
#define EMBER_BIND_UNARY(Name, py_name)                                                              \
  m.def(#py_name, [](const Tensor& x) { return nogil([&] { return unary(UnaryOp::Name, x); }); }, \
        py::arg("input"));                                                                           \
  cls.def(#py_name, [](const Tensor& x) { return nogil([&] { return unary(UnaryOp::Name, x); }); });
  EMBER_UNARY_OPS(EMBER_BIND_UNARY)
#undef EMBER_BIND_UNARY

#define EMBER_BIND_BINARY(Name, py_name)                                                                 \
  m.def(#py_name, [](py::handle a, py::handle b) { return binary_py(BinaryOp::Name, a, b); }, py::arg("input"), \
        py::arg("other"));                                                                                \
  cls.def(#py_name, [](const Tensor& a, py::handle b) { return binary_py(BinaryOp::Name, py::cast(a), b); }, \
          py::arg("other"));                                                                              \
  cls.def(#py_name "_", [](const Tensor& a, py::handle b) { return inplace_py(BinaryOp::Name, a, b); }, py::arg("other"));
  EMBER_BINARY_OPS(EMBER_BIND_BINARY)
#undef EMBER_BIND_BINARY

  // Friendlier entry points that replace the generated ones (assigning, not adding an overload).
  m.attr("pow") = py::cpp_function([](py::handle a, py::handle b) { return pow_py(a, b); }, py::name("pow"),
                                   py::scope(m), py::arg("input"), py::arg("exponent"));
  cls.attr("pow") = py::cpp_function([](const Tensor& a, py::handle b) { return pow_py(py::cast(a), b); }, py::name("pow"),
                                     py::is_method(cls), py::arg("exponent"));
  m.attr("div") = py::cpp_function(&div_with_mode, py::name("div"), py::scope(m), py::arg("input"), py::arg("other"),
                                   py::kw_only(), py::arg("rounding_mode") = py::none());
  cls.attr("div") = py::cpp_function(
      [](const Tensor& a, py::handle b, std::optional<std::string> mode) { return div_with_mode(py::cast(a), b, mode); },
      py::name("div"), py::is_method(cls), py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none());
  m.attr("true_divide") = m.attr("div");
  m.attr("multiply") = m.attr("mul");
  m.attr("subtract") = m.attr("sub");
  m.attr("negative") = m.attr("neg");
  m.attr("absolute") = m.attr("abs");

  // ---- Python operators ----
  const std::pair<const char*, BinaryOp> ops[] = {
      {"add", BinaryOp::Add}, {"sub", BinaryOp::Sub}, {"mul", BinaryOp::Mul}, {"truediv", BinaryOp::Div},
      {"floordiv", BinaryOp::FloorDivide}, {"mod", BinaryOp::Remainder}, {"and", BinaryOp::BitwiseAnd},
      {"or", BinaryOp::BitwiseOr}, {"xor", BinaryOp::BitwiseXor}};
  for (const auto& [name, op] : ops) {
    const BinaryOp o = op;
    const std::string n = name;
    cls.def(("__" + n + "__").c_str(), [o](py::handle a, py::handle b) { return operator_py(o, a, b); }, py::is_operator());
    cls.def(("__r" + n + "__").c_str(), [o](py::handle a, py::handle b) { return operator_py(o, b, a); }, py::is_operator());
    cls.def(("__i" + n + "__").c_str(), [o](const Tensor& a, py::handle b) { return inplace_py(o, a, b); }, py::is_operator());
  }
  const std::pair<const char*, BinaryOp> compares[] = {{"__eq__", BinaryOp::Eq}, {"__ne__", BinaryOp::Ne},
                                                       {"__lt__", BinaryOp::Lt}, {"__le__", BinaryOp::Le},
                                                       {"__gt__", BinaryOp::Gt}, {"__ge__", BinaryOp::Ge}};
  for (const auto& [name, op] : compares) {
    const BinaryOp o = op;
    cls.def(name, [o](py::handle a, py::handle b) { return operator_py(o, a, b); }, py::is_operator());
  }
  cls.def("__pow__", [](py::handle a, py::handle b) { return pow_py(a, b); }, py::is_operator())
      .def("__rpow__", [](py::handle a, py::handle b) { return pow_py(b, a); }, py::is_operator())
      .def("__ipow__", [](const Tensor& a, py::handle b) -> py::object {
        if (!is_operand(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        const Operand o = operand_from_py(b, "pow");
        nogil([&] { copy_into(a, pow(a, o)); });
        return py::cast(a);
      }, py::is_operator())
      .def("__matmul__", [](const Tensor& a, py::handle b) -> py::object {
        if (!py::isinstance<Tensor>(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        return py::cast(matmul_py(a, b.cast<Tensor>()));
      }, py::is_operator())
      .def("__rmatmul__", [](const Tensor& a, py::handle b) -> py::object {
        if (!py::isinstance<Tensor>(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        return py::cast(matmul_py(b.cast<Tensor>(), a));
      }, py::is_operator())
      .def("__neg__", [](const Tensor& x) { return nogil([&] { return unary(UnaryOp::Neg, x); }); })
      .def("__pos__", [](const Tensor& x) { return x; })
      .def("__abs__", [](const Tensor& x) { return nogil([&] { return unary(UnaryOp::Abs, x); }); })
      .def("__invert__", [](const Tensor& x) { return nogil([&] { return unary(UnaryOp::BitwiseNot, x); }); });

  // ---- where, clamp, masked_fill ----
  m.def("where", &where_py, py::arg("condition"), py::arg("input"), py::arg("other"));
  cls.def("where", [](const Tensor& self, const Tensor& cond, py::handle other) { return where_py(cond, py::cast(self), other); },
          py::arg("condition"), py::arg("other"));
  m.def("clamp", &clamp_py, py::arg("input"), py::arg("min") = py::none(), py::arg("max") = py::none());
  m.attr("clip") = m.attr("clamp");
  cls.def("clamp", &clamp_py, py::arg("min") = py::none(), py::arg("max") = py::none());
  cls.def("clip", &clamp_py, py::arg("min") = py::none(), py::arg("max") = py::none());
  cls.def("clamp_", [](const Tensor& x, py::handle lo, py::handle hi) {
    const Tensor r = clamp_py(x, lo, hi);
    nogil([&] { copy_into(x, r); });
    return x;
  }, py::arg("min") = py::none(), py::arg("max") = py::none());
  auto masked_fill_py = [](const Tensor& x, const Tensor& mask, py::handle value) {
    const Operand v = operand_from_py(value, "masked_fill");
    return nogil([&] { return masked_fill(x, mask, v); });
  };
  m.def("masked_fill", masked_fill_py, py::arg("input"), py::arg("mask"), py::arg("value"));
  cls.def("masked_fill", masked_fill_py, py::arg("mask"), py::arg("value"));
  cls.def("masked_fill_", [masked_fill_py](const Tensor& x, const Tensor& mask, py::handle value) {
    const Tensor r = masked_fill_py(x, mask, value);
    nogil([&] { copy_into(x, r); });
    return x;
  }, py::arg("mask"), py::arg("value"));

  // ---- reductions ----
  const std::pair<const char*, ReduceOp> sums[] = {{"sum", ReduceOp::Sum}, {"mean", ReduceOp::Mean}, {"prod", ReduceOp::Prod}};
  for (const auto& [name, op] : sums) {
    const ReduceOp o = op;
    auto fn = [o](const Tensor& x, py::handle dim, bool keepdim, py::handle dtype) { return reduce_py(o, x, dim, keepdim, dtype); };
    m.def(name, fn, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none());
    cls.def(name, fn, py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none());
  }
  const std::pair<const char*, ReduceOp> bools[] = {{"all", ReduceOp::All}, {"any", ReduceOp::Any}};
  for (const auto& [name, op] : bools) {
    const ReduceOp o = op;
    auto fn = [o](const Tensor& x, py::handle dim, bool keepdim) { return reduce_py(o, x, dim, keepdim, py::none()); };
    m.def(name, fn, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
    cls.def(name, fn, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  }
  const std::pair<const char*, ReduceOp> extremes[] = {{"max", ReduceOp::Max}, {"min", ReduceOp::Min}};
  for (const auto& [name, op] : extremes) {
    const ReduceOp o = op;
    auto fn = [o](const Tensor& x, py::handle dim, bool keepdim) { return max_min_py(o, x, dim, keepdim); };
    m.def(name, fn, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
    cls.def(name, fn, py::arg("dim") = py::none(), py::arg("keepdim") = false);
    auto fa = [o](const Tensor& x, py::handle dim, bool keepdim) { return reduce_py(o, x, dim, keepdim, py::none()); };
    const std::string amax = o == ReduceOp::Max ? "amax" : "amin";
    m.def(amax.c_str(), fa, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
    cls.def(amax.c_str(), fa, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  }
  const std::pair<const char*, ReduceOp> args_ops[] = {{"argmax", ReduceOp::ArgMax}, {"argmin", ReduceOp::ArgMin}};
  for (const auto& [name, op] : args_ops) {
    const ReduceOp o = op;
    auto fn = [o](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_py(o, x, dim, keepdim); };
    m.def(name, fn, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
    cls.def(name, fn, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  }
  for (const bool take_sqrt : {false, true}) {
    auto fn = [take_sqrt](const Tensor& x, py::handle dim, py::handle unbiased, bool keepdim, py::handle correction) {
      return var_py(x, dim, unbiased, keepdim, correction, take_sqrt);
    };
    const char* name = take_sqrt ? "std" : "var";
    m.def(name, fn, py::arg("input"), py::arg("dim") = py::none(), py::arg("unbiased") = py::none(),
          py::arg("keepdim") = false, py::kw_only(), py::arg("correction") = py::none());
    cls.def(name, fn, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
            py::kw_only(), py::arg("correction") = py::none());
  }
  m.def("logsumexp", &logsumexp_py, py::arg("input"), py::arg("dim"), py::arg("keepdim") = false);
  cls.def("logsumexp", &logsumexp_py, py::arg("dim"), py::arg("keepdim") = false);
  for (const bool log : {false, true}) {
    auto fn = [log](const Tensor& x, int64_t dim, py::handle dtype) {
      Tensor in = dtype.is_none() ? x : to_dtype(x, dtype_from_py(dtype));
      return nogil([&] { return softmax(in, dim, log); });
    };
    const char* name = log ? "log_softmax" : "softmax";
    m.def(name, fn, py::arg("input"), py::arg("dim"), py::arg("dtype") = py::none());
    cls.def(name, fn, py::arg("dim"), py::arg("dtype") = py::none());
  }

  // ---- matmul ----
  m.def("matmul", &matmul_py, py::arg("input"), py::arg("other"));
  cls.def("matmul", &matmul_py, py::arg("other"));

  // ---- indexing ----
  auto index_select_py = [](const Tensor& x, int64_t dim, const Tensor& index) { return nogil([&] { return index_select(x, dim, index); }); };
  m.def("index_select", index_select_py, py::arg("input"), py::arg("dim"), py::arg("index"));
  cls.def("index_select", index_select_py, py::arg("dim"), py::arg("index"));
  auto gather_py = [](const Tensor& x, int64_t dim, const Tensor& index) { return nogil([&] { return gather(x, dim, index); }); };
  m.def("gather", gather_py, py::arg("input"), py::arg("dim"), py::arg("index"));
  cls.def("gather", gather_py, py::arg("dim"), py::arg("index"));
  auto scatter_add_py = [](const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
    return nogil([&] { return scatter_add(x, dim, index, src); });
  };
  m.def("scatter_add", scatter_add_py, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src"));
  cls.def("scatter_add", scatter_add_py, py::arg("dim"), py::arg("index"), py::arg("src"));
  auto masked_select_py = [](const Tensor& x, const Tensor& mask) { return nogil([&] { return masked_select(x, mask); }); };
  m.def("masked_select", masked_select_py, py::arg("input"), py::arg("mask"));
  cls.def("masked_select", masked_select_py, py::arg("mask"));
  auto nonzero_py = [](const Tensor& x) { return nogil([&] { return nonzero(x); }); };
  m.def("nonzero", nonzero_py, py::arg("input"));
  cls.def("nonzero", nonzero_py);
  auto tril_py = [](const Tensor& x, int64_t k) { return nogil([&] { return tril(x, k); }); };
  auto triu_py = [](const Tensor& x, int64_t k) { return nogil([&] { return triu(x, k); }); };
  m.def("tril", tril_py, py::arg("input"), py::arg("diagonal") = 0);
  m.def("triu", triu_py, py::arg("input"), py::arg("diagonal") = 0);
  cls.def("tril", tril_py, py::arg("diagonal") = 0);
  cls.def("triu", triu_py, py::arg("diagonal") = 0);
}

}  // namespace ember::py_bind
