// Ordering and index-movement ops: sort, argsort, topk, cumsum, cumprod, scatter, index_add,
// index_copy, flip, roll, repeat, repeat_interleave, nonzero(as_tuple), unique, one_hot, embedding.
#include "bindings/bind.h"
#include "core/error.h"
#include "core/ops_ordering.h"

namespace ember::py_bind {

namespace {

// torch.return_types-like named tuples (values, indices); created once, never freed.
py::handle g_sort_result, g_topk_result;

py::object named_pair(py::handle type, SortResult r) {
  return type(py::cast(std::move(r.values)), py::cast(std::move(r.indices)));
}

py::object sort_py(const Tensor& x, int64_t dim, bool descending, bool /*stable: always*/) {
  return named_pair(g_sort_result, nogil([&] { return sort(x, dim, descending); }));
}

Tensor argsort_py(const Tensor& x, int64_t dim, bool descending, bool /*stable: always*/) {
  return nogil([&] { return argsort(x, dim, descending); });
}

py::object topk_py(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  return named_pair(g_topk_result, nogil([&] { return topk(x, k, dim, largest, sorted); }));
}

std::optional<DType> dtype_arg(py::handle dtype) {
  if (dtype.is_none()) return std::nullopt;
  return dtype_from_py(dtype);
}

Backend::ScatterReduce reduce_arg(py::handle reduce, const char* op) {
  if (reduce.is_none()) return Backend::ScatterReduce::None;
  const std::string r = py::str(reduce);
  if (r == "add") return Backend::ScatterReduce::Add;
  if (r == "multiply") return Backend::ScatterReduce::Multiply;
  EMBER_THROW(Value, op, ": reduce must be None, 'add' or 'multiply', got '", r, "'");
}

// scatter(dim, index, src) or scatter(dim, index, value=number); returns the updated tensor.
Tensor scatter_py(const Tensor& x, int64_t dim, const Tensor& index, py::handle src, py::handle value,
                  py::handle reduce, bool in_place) {
  EMBER_CHECK(src.is_none() != value.is_none(), Type, "scatter: pass exactly one of src (a tensor or number) and value");
  const Operand operand = operand_from_py(src.is_none() ? value : src, "scatter");
  const Backend::ScatterReduce r = reduce_arg(reduce, "scatter");
  return nogil([&] {
    if (!in_place) return scatter(x, dim, index, operand, r);
    scatter_(x, dim, index, operand, r);
    return x;
  });
}

Tensor index_add_py(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, py::handle alpha,
                    bool in_place) {
  const Scalar a = scalar_from_py(alpha, "index_add");
  return nogil([&] {
    if (!in_place) return index_add(x, dim, index, source, a);
    index_add_(x, dim, index, source, a);
    return x;
  });
}

Tensor index_copy_py(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, bool in_place) {
  return nogil([&] {
    if (!in_place) return index_copy(x, dim, index, source);
    index_copy_(x, dim, index, source);
    return x;
  });
}

Tensor roll_py(const Tensor& x, py::handle shifts, py::handle dims) {
  const Dims s = dims_from_py(shifts, "roll");
  const Dims d = dims.is_none() ? Dims{} : dims_from_py(dims, "roll");
  return nogil([&] { return roll(x, s, d); });
}

Tensor repeat_interleave_impl(const Tensor& x, py::handle repeats, std::optional<int64_t> dim) {
  if (repeats.is_none()) {  // repeat_interleave(repeats_tensor): indices 0.. each repeated
    return nogil([&] {
      const Tensor counts = x.ndim() == 0 ? reshape(x, {1}) : x;
      return repeat_interleave(arange(Scalar::from_int(0), Scalar::from_int(counts.numel()), Scalar::from_int(1),
                                      DType::I64, x.device()),
                               counts, 0);
    });
  }
  if (py::isinstance<Tensor>(repeats)) {
    const Tensor r = repeats.cast<Tensor>();
    return nogil([&] { return repeat_interleave(x, r, dim); });
  }
  const int64_t r = repeats.cast<int64_t>();
  return nogil([&] { return repeat_interleave(x, r, dim); });
}

// output_size (torch's hint that saves a device sync) is checked against the result.
Tensor repeat_interleave_py(const Tensor& x, py::handle repeats, std::optional<int64_t> dim,
                            std::optional<int64_t> output_size) {
  Tensor out = repeat_interleave_impl(x, repeats, dim);
  if (output_size) {
    const int64_t got = out.ndim() == 0 ? 1 : out.shape()[dim ? wrap_dim(*dim, out.ndim(), "repeat_interleave") : 0];
    EMBER_CHECK(got == *output_size, Value, "repeat_interleave: output_size ", *output_size,
                " does not match the repeated size ", got);
  }
  return out;
}

py::object nonzero_py(const Tensor& x, bool as_tuple) {
  if (!as_tuple) return py::cast(nogil([&] { return nonzero(x); }));
  const std::vector<Tensor> cols = nogil([&] { return nonzero_tuple(x); });
  py::tuple out(cols.size());
  for (size_t i = 0; i < cols.size(); ++i) out[i] = py::cast(cols[i]);
  return out;
}

py::object unique_py(const Tensor& x, bool /*sorted: always*/, bool return_inverse, bool return_counts, py::handle dim) {
  const std::optional<int64_t> d = dim.is_none() ? std::nullopt : std::optional<int64_t>(dim.cast<int64_t>());
  UniqueResult r = nogil([&] { return d ? unique_dim(x, *d) : unique(x); });
  if (!return_inverse && !return_counts) return py::cast(r.values);
  py::list out;
  out.append(py::cast(r.values));
  if (return_inverse) out.append(py::cast(r.inverse));
  if (return_counts) out.append(py::cast(r.counts));
  return py::tuple(out);
}

}  // namespace

void bind_ordering(py::module_& m, TensorClass& cls) {
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  g_sort_result = namedtuple("sort", py::make_tuple("values", "indices")).release();
  g_topk_result = namedtuple("topk", py::make_tuple("values", "indices")).release();

  // ---- sort, argsort, topk ----
  m.def("sort", &sort_py, py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
        py::arg("stable") = false, "Sorts along dim (always stably; NaN is greatest). Returns (values, indices).");
  cls.def("sort", &sort_py, py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(), py::arg("stable") = false);
  m.def("argsort", &argsort_py, py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false,
        py::arg("stable") = false);
  cls.def("argsort", &argsort_py, py::arg("dim") = -1, py::arg("descending") = false, py::arg("stable") = false);
  m.def("topk", &topk_py, py::arg("input"), py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true,
        py::arg("sorted") = true, "The k largest (or smallest) elements along dim. Returns (values, indices).");
  cls.def("topk", &topk_py, py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);

  // ---- cumsum, cumprod ----
  auto cumsum_py = [](const Tensor& x, int64_t dim, py::handle dtype) {
    const std::optional<DType> dt = dtype_arg(dtype);
    return nogil([&] { return cumsum(x, dim, dt); });
  };
  auto cumprod_py = [](const Tensor& x, int64_t dim, py::handle dtype) {
    const std::optional<DType> dt = dtype_arg(dtype);
    return nogil([&] { return cumprod(x, dim, dt); });
  };
  m.def("cumsum", cumsum_py, py::arg("input"), py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  cls.def("cumsum", cumsum_py, py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  m.def("cumprod", cumprod_py, py::arg("input"), py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  cls.def("cumprod", cumprod_py, py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());

  // ---- scatter, scatter_add_, index_add, index_copy ----
  for (const bool in_place : {false, true}) {
    const char* name = in_place ? "scatter_" : "scatter";
    auto fn = [in_place](const Tensor& x, int64_t dim, const Tensor& index, py::handle src, py::handle value,
                         py::handle reduce) { return scatter_py(x, dim, index, src, value, reduce, in_place); };
    if (!in_place) {
      m.def(name, fn, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(),
            py::arg("value") = py::none(), py::arg("reduce") = py::none());
    }
    cls.def(name, fn, py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(),
            py::arg("value") = py::none(), py::arg("reduce") = py::none());

    auto add = [in_place](const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, py::handle alpha) {
      return index_add_py(x, dim, index, source, alpha, in_place);
    };
    auto copy = [in_place](const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
      return index_copy_py(x, dim, index, source, in_place);
    };
    if (!in_place) {
      m.def("index_add", add, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(),
            py::arg("alpha") = 1);
      m.def("index_copy", copy, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("source"));
    }
    cls.def(in_place ? "index_add_" : "index_add", add, py::arg("dim"), py::arg("index"), py::arg("source"),
            py::kw_only(), py::arg("alpha") = 1);
    cls.def(in_place ? "index_copy_" : "index_copy", copy, py::arg("dim"), py::arg("index"), py::arg("source"));
  }
  cls.def("scatter_add_", [](const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
    nogil([&] { scatter_(x, dim, index, src, Backend::ScatterReduce::Add); });
    return x;
  }, py::arg("dim"), py::arg("index"), py::arg("src"));

  // ---- flip, roll, repeat, repeat_interleave ----
  m.def("flip", [](const Tensor& x, const Dims& dims) { return nogil([&] { return flip(x, dims); }); },
        py::arg("input"), py::arg("dims"));
  cls.def("flip", [](const Tensor& x, const py::args& dims) {
    const Dims d = dims_from_args(dims, "flip");
    return nogil([&] { return flip(x, d); });
  });
  m.def("roll", &roll_py, py::arg("input"), py::arg("shifts"), py::arg("dims") = py::none());
  cls.def("roll", &roll_py, py::arg("shifts"), py::arg("dims") = py::none());
  cls.def("repeat", [](const Tensor& x, const py::args& sizes) {
    const Dims s = dims_from_args(sizes, "repeat");
    return nogil([&] { return repeat(x, s); });
  });
  m.def("repeat_interleave", &repeat_interleave_py, py::arg("input"), py::arg("repeats") = py::none(),
        py::arg("dim") = py::none(), py::kw_only(), py::arg("output_size") = py::none());
  cls.def("repeat_interleave", &repeat_interleave_py, py::arg("repeats") = py::none(), py::arg("dim") = py::none(),
          py::kw_only(), py::arg("output_size") = py::none());

  // ---- nonzero (replaces the plain binding to add as_tuple), unique ----
  m.attr("nonzero") = py::cpp_function(&nonzero_py, py::name("nonzero"), py::scope(m), py::arg("input"), py::kw_only(),
                                       py::arg("as_tuple") = false);
  cls.attr("nonzero") = py::cpp_function(&nonzero_py, py::name("nonzero"), py::is_method(cls), py::kw_only(),
                                         py::arg("as_tuple") = false);
  m.def("unique", &unique_py, py::arg("input"), py::arg("sorted") = true, py::arg("return_inverse") = false,
        py::arg("return_counts") = false, py::arg("dim") = py::none());
  cls.def("unique", &unique_py, py::arg("sorted") = true, py::arg("return_inverse") = false,
          py::arg("return_counts") = false, py::arg("dim") = py::none());

  // ---- nn.functional helpers (wrapped in python/ember/nn/functional.py) ----
  m.def("_one_hot", [](const Tensor& x, int64_t num_classes) { return nogil([&] { return one_hot(x, num_classes); }); },
        py::arg("tensor"), py::arg("num_classes") = -1);
  m.def("_embedding", [](const Tensor& input, const Tensor& weight) {
    return nogil([&] { return embedding(input, weight); });
  }, py::arg("input"), py::arg("weight"));
}

}  // namespace ember::py_bind
