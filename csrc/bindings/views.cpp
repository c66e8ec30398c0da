// View methods and indexing (__getitem__ / __setitem__).
#include "bindings/bind.h"
#include "core/error.h"

namespace ember::py_bind {

namespace {

struct IndexResult {
  Tensor view;                   // after all basic indices
  std::optional<Tensor> advanced;  // one integer index tensor ...
  int64_t advanced_dim = -1;     // ... applied along this dim of `view`
  std::optional<Tensor> mask;    // or a bool mask over all of `view`
};

bool is_advanced(py::handle h) {
  return py::isinstance<Tensor>(h) || PyList_Check(h.ptr()) || PyTuple_Check(h.ptr()) ||
         (!is_number(h) && (py::hasattr(h, "__array_interface__") || py::hasattr(h, "__dlpack__")));
}

Tensor index_tensor(py::handle h) {
  if (py::isinstance<Tensor>(h)) return h.cast<Tensor>();
  // An empty list selects nothing (numpy and torch treat it as an integer index).
  if (PyList_Check(h.ptr()) && PyList_GET_SIZE(h.ptr()) == 0) return empty({0}, DType::I64, Device::cpu());
  return tensor_from_data(h, std::nullopt, std::nullopt);
}

int64_t index_value(py::handle h) {
  py::object idx = py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr()));
  if (!idx) throw py::error_already_set();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx.ptr(), &overflow);
  EMBER_CHECK(!overflow, Index, "index ", std::string(py::str(idx)), " is out of range (beyond int64)");
  return v;
}

IndexResult apply_index(const Tensor& self, py::handle index) {
  py::tuple items = PyTuple_Check(index.ptr()) ? py::reinterpret_borrow<py::tuple>(index) : py::make_tuple(index);
  // Dims consumed by explicit entries, to size the Ellipsis.
  int64_t consumed = 0;
  bool seen_ellipsis = false;
  for (py::handle it : items) {
    if (it.is_none()) continue;
    if (it.ptr() == Py_Ellipsis) {
      EMBER_CHECK(!seen_ellipsis, Index, "an index can only have a single ellipsis ('...')");
      seen_ellipsis = true;
      continue;
    }
    if (py::isinstance<Tensor>(it) && it.cast<const Tensor&>().dtype() == DType::Bool) {
      consumed += std::max<int64_t>(it.cast<const Tensor&>().ndim(), 1);
      continue;
    }
    ++consumed;
  }
  EMBER_CHECK(consumed <= self.ndim(), Index, "too many indices for a tensor of dimension ", self.ndim(), " (got ",
              consumed, ")");
  IndexResult r;
  Tensor v = self;
  int64_t d = 0;
  for (py::handle it : items) {
    if (it.is_none()) {
      v = unsqueeze(v, d);
      ++d;
    } else if (it.ptr() == Py_Ellipsis) {
      d += self.ndim() - consumed;
    } else if (PySlice_Check(it.ptr())) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(it.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
      EMBER_CHECK(step > 0, Value, "slicing with a negative step is not supported (got step ", step, "); use flip()");
      v = slice(v, d, start, stop, step);
      ++d;
    } else if (PyBool_Check(it.ptr())) {
      EMBER_THROW(Index, "indexing with a Python bool is not supported");
    } else if (PyLong_Check(it.ptr()) || is_numpy_scalar(it)) {
      EMBER_CHECK(d < v.ndim(), Index, "too many indices for a tensor of dimension ", self.ndim());
      v = select(v, d, index_value(it));
    } else if (is_advanced(it)) {
      Tensor idx = index_tensor(it);
      if (idx.dtype() == DType::Bool) {
        EMBER_CHECK(items.size() == 1, NotImplemented,
                    "a bool mask index must be the only index (got it with other indices)");
        r.mask = idx;
        d += std::max<int64_t>(idx.ndim(), 1);
        continue;
      }
      EMBER_CHECK(!r.advanced, NotImplemented, "indexing with more than one integer tensor or list is not supported yet");
      EMBER_CHECK(!is_floating(idx.dtype()), Index, "tensors used as indices must be integer or bool, got ", idx.describe());
      if (idx.dtype() != DType::I64 && idx.dtype() != DType::I32) idx = to_dtype(idx, DType::I64);
      r.advanced = idx;
      r.advanced_dim = d;
      ++d;
    } else {
      EMBER_THROW(Index, "unsupported index of type ", std::string(py::str(py::type::handle_of(it).attr("__name__"))),
                  "; use ints, slices, None, ..., or integer/bool tensors");
    }
  }
  r.view = v;
  return r;
}

Tensor getitem(const Tensor& self, py::handle index) {
  IndexResult r = apply_index(self, index);
  if (r.mask) {
    const Tensor& m = *r.mask;
    EMBER_CHECK(m.ndim() <= r.view.ndim(), Index, "mask of shape ", shape_str(m.shape()), " has more dims than the tensor");
    for (int64_t i = 0; i < m.ndim(); ++i) {
      EMBER_CHECK(m.shape()[i] == r.view.shape()[i], Index, "the mask shape ", shape_str(m.shape()),
                  " does not match the indexed tensor's shape ", shape_str(r.view.shape()), " at dim ", i);
    }
    return nogil([&] {
      // Leading dims flattened and selected; trailing dims kept.
      Dims flat_shape{-1};
      for (int64_t i = m.ndim(); i < r.view.ndim(); ++i) flat_shape.push_back(r.view.shape()[i]);
      const Tensor flat = reshape(r.view, flat_shape);
      const Tensor rows = nonzero(reshape(m, {-1}));
      return index_select(flat, 0, reshape(rows, {-1}));
    });
  }
  if (!r.advanced) return r.view;
  const Tensor& idx = *r.advanced;
  return nogil([&] {
    Tensor picked = index_select(r.view, r.advanced_dim, reshape(idx, {-1}));
    if (idx.ndim() == 1) return picked;
    if (idx.ndim() == 0) return squeeze(picked, {r.advanced_dim});
    return unflatten(picked, r.advanced_dim, idx.shape());
  });
}

Tensor value_tensor(py::handle value, const Tensor& like) {
  if (py::isinstance<Tensor>(value)) return value.cast<Tensor>();
  return tensor_from_data(value, like.dtype(), like.device());
}

void setitem(const Tensor& self, py::handle index, py::handle value) {
  IndexResult r = apply_index(self, index);
  const Tensor v = value_tensor(value, self);
  nogil([&] {
    if (r.mask) {
      const Tensor& m = *r.mask;
      EMBER_CHECK(v.ndim() == 0 || v.numel() == 1, NotImplemented,
                  "assigning through a bool mask supports a single value only, got shape ", shape_str(v.shape()));
      Tensor mask = m;
      while (mask.ndim() < r.view.ndim()) mask = unsqueeze(mask, mask.ndim());
      copy_into(r.view, masked_fill(r.view, mask, reshape(v, {})));
      return;
    }
    if (!r.advanced) {
      copy_into(r.view, v);
      return;
    }
    // One integer index along a dim: assign each selected slice.
    const Tensor idx = contiguous(to_device(reshape(*r.advanced, {-1}), Device::cpu()));
    Dims target = r.view.shape();
    target[r.advanced_dim] = idx.numel();
    const Tensor src = broadcast_to(v, target);
    const int64_t size = r.view.shape()[r.advanced_dim];
    for (int64_t j = 0; j < idx.numel(); ++j) {
      int64_t i = idx.dtype() == DType::I64 ? idx.data<int64_t>()[j] : idx.data<int32_t>()[j];
      EMBER_CHECK(i >= -size && i < size, Index, "index ", i, " is out of bounds for dim ", r.advanced_dim, " with size ", size);
      copy_into(select(r.view, r.advanced_dim, i), select(src, r.advanced_dim, j));
    }
  });
}

}  // namespace

void bind_views(py::module_& m, TensorClass& cls) {
  cls.def("reshape", [](const Tensor& t, const py::args& shape) {
        const Dims dims = dims_from_args(shape, "reshape");
        return nogil([&] { return reshape(t, dims); });
      })
      .def("view", [](const Tensor& t, const py::args& shape) {
        // view(dtype) reinterprets the bytes; view(*shape) reshapes without copying.
        if (shape.size() == 1 && !PyIndex_Check(shape[0].ptr()) && !py::isinstance<py::sequence>(shape[0])) {
          return view_dtype(t, dtype_from_py(shape[0]));
        }
        return view(t, dims_from_args(shape, "view"));
      })
      .def("as_strided", &as_strided, py::arg("size"), py::arg("stride"), py::arg("storage_offset") = py::none())
      .def("transpose", &transpose, py::arg("dim0"), py::arg("dim1"))
      .def("swapaxes", &transpose, py::arg("axis0"), py::arg("axis1"))
      .def("permute", [](const Tensor& t, const py::args& dims) { return permute(t, dims_from_args(dims, "permute")); })
      .def_property_readonly("T", &reverse_dims)
      .def_property_readonly("mT", &matrix_transpose)
      .def("t", [](const Tensor& t) {
        EMBER_CHECK(t.ndim() <= 2, Value, "t: expects a tensor with <= 2 dims, got shape ", shape_str(t.shape()));
        return reverse_dims(t);
      })
      .def("narrow", &narrow, py::arg("dim"), py::arg("start"), py::arg("length"))
      .def("expand", [](const Tensor& t, const py::args& sizes) { return expand(t, dims_from_args(sizes, "expand")); })
      .def("expand_as", [](const Tensor& t, const Tensor& o) { return expand(t, o.shape()); }, py::arg("other"))
      .def("broadcast_to", &broadcast_to, py::arg("shape"))
      .def("squeeze", [](const Tensor& t, std::optional<Dims> dim) { return squeeze(t, dim ? *dim : Dims{}); },
           py::arg("dim") = py::none())
      .def("unsqueeze", &unsqueeze, py::arg("dim"))
      .def("flatten", &flatten, py::arg("start_dim") = 0, py::arg("end_dim") = -1)
      .def("unflatten", &unflatten, py::arg("dim"), py::arg("sizes"))
      .def("chunk", &chunk, py::arg("chunks"), py::arg("dim") = 0)
      .def("split", [](const Tensor& t, py::handle size, int64_t dim) {
        if (PyIndex_Check(size.ptr())) return split(t, size.cast<int64_t>(), dim);
        return split_sizes(t, dims_from_py(size, "split"), dim);
      }, py::arg("split_size_or_sections"), py::arg("dim") = 0)
      .def("unbind", &unbind, py::arg("dim") = 0)
      .def("__getitem__", &getitem)
      .def("__setitem__", &setitem);

  m.def("as_strided", &as_strided, py::arg("input"), py::arg("size"), py::arg("stride"),
        py::arg("storage_offset") = py::none(),
        "A view of input's storage with the given shape, strides and offset (elements); checked against the storage.");
  m.def("reshape", [](const Tensor& t, const Dims& shape) { return nogil([&] { return reshape(t, shape); }); },
        py::arg("input"), py::arg("shape"));
  m.def("transpose", &transpose, py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  m.def("permute", &permute, py::arg("input"), py::arg("dims"));
  m.def("narrow", &narrow, py::arg("input"), py::arg("dim"), py::arg("start"), py::arg("length"));
  m.def("broadcast_to", &broadcast_to, py::arg("input"), py::arg("shape"));
  m.def("squeeze", [](const Tensor& t, std::optional<Dims> dim) { return squeeze(t, dim ? *dim : Dims{}); },
        py::arg("input"), py::arg("dim") = py::none());
  m.def("unsqueeze", &unsqueeze, py::arg("input"), py::arg("dim"));
  m.def("flatten", &flatten, py::arg("input"), py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  m.def("unflatten", &unflatten, py::arg("input"), py::arg("dim"), py::arg("sizes"));
  m.def("chunk", &chunk, py::arg("input"), py::arg("chunks"), py::arg("dim") = 0);
  m.def("split", [](const Tensor& t, py::handle size, int64_t dim) {
    if (PyIndex_Check(size.ptr())) return split(t, size.cast<int64_t>(), dim);
    return split_sizes(t, dims_from_py(size, "split"), dim);
  }, py::arg("tensor"), py::arg("split_size_or_sections"), py::arg("dim") = 0);
  m.def("unbind", &unbind, py::arg("input"), py::arg("dim") = 0);
  m.def("broadcast_shapes", [](const py::args& shapes) {
    Dims out;
    for (py::handle s : shapes) out = broadcast_shapes(out, dims_from_py(s, "broadcast_shapes"), "broadcast_shapes");
    return dims_to_tuple(out);
  });
}

}  // namespace ember::py_bind
