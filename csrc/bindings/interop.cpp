// Zero-copy interop: numpy (buffer protocol, __array__, from_numpy, .numpy()) and DLPack.
#include <cstring>
#include <string>
#include <vector>

#include <pybind11/numpy.h>

#include "bindings/bind.h"
#include "bindings/dlpack.h"
#include "core/error.h"

namespace ember::py_bind {

namespace {

// Runs `release` with the GIL held, unless the interpreter is already gone (then the memory leaks
// rather than crashing at exit).
template <class F>
void with_gil(F&& release) {
  if (!Py_IsInitialized()) return;
  const PyGILState_STATE state = PyGILState_Ensure();
  release();
  PyGILState_Release(state);
}

// A CPU tensor over memory owned by `holder`. `first` points at element (0, ..., 0).
Tensor wrap_memory(char* first, const Dims& shape, const Dims& strides, DType dtype, std::shared_ptr<void> holder,
                   bool writable) {
  const int64_t isz = static_cast<int64_t>(itemsize(dtype));
  int64_t lo = 0, hi = 0;
  bool empty = false;
  for (size_t d = 0; d < shape.size(); ++d) {
    EMBER_CHECK(shape[d] >= 0, Value, "invalid negative dimension ", shape[d], " in an external array");
    if (shape[d] == 0) empty = true;
    const int64_t span = (shape[d] - 1) * strides[d];
    if (span < 0) lo += span; else hi += span;
  }
  if (empty) lo = hi = 0;
  const size_t nbytes = empty ? 0 : static_cast<size_t>((hi - lo + 1) * isz);
  auto storage = std::make_shared<Storage>(first + lo * isz, nbytes, Device::cpu(), std::move(holder));
  storage->set_writable(writable);
  return Tensor(storage, Layout(shape, strides, -lo), dtype);
}

DType dtype_from_format(std::string fmt, Py_ssize_t item, const char* op) {
  if (!fmt.empty() && (fmt[0] == '@' || fmt[0] == '=' || fmt[0] == '<' || fmt[0] == '|')) fmt = fmt.substr(1);
  EMBER_CHECK(fmt.empty() || fmt[0] != '>' || item == 1, Type, op, ": big-endian arrays are not supported");
  if (!fmt.empty() && fmt[0] == '>') fmt = fmt.substr(1);
  if (fmt == "f" && item == 4) return DType::F32;
  if (fmt == "d" && item == 8) return DType::F64;
  if (fmt == "e" && item == 2) return DType::F16;
  if (fmt == "?" && item == 1) return DType::Bool;
  if ((fmt == "B" || fmt == "c") && item == 1) return DType::U8;
  if (fmt == "b" && item == 1) return DType::I8;
  if ((fmt == "i" || fmt == "l" || fmt == "q") && item == 4) return DType::I32;
  if ((fmt == "i" || fmt == "l" || fmt == "q") && item == 8) return DType::I64;
  if ((fmt == "I" || fmt == "L" || fmt == "Q") && item == 4) return DType::U32;
  EMBER_THROW(Type, op, ": arrays of element format '", fmt, "' (", item,
              " bytes) are not supported; ember has float32, float16, bfloat16, float64, uint8, int8, uint32, int32, "
              "int64 and bool");
}

const char* format_of(DType d) {
  switch (d) {
    case DType::F32: return "f";
    case DType::F64: return "d";
    case DType::F16: return "e";
    case DType::Bool: return "?";
    case DType::U8: return "B";
    case DType::I8: return "b";
    case DType::U32: return "I";
    case DType::I32: return "i";
    case DType::I64: return "q";
    case DType::BF16: break;
  }
  return nullptr;
}

bool is_numpy_array(py::handle h) {
  const py::handle type = py::type::handle_of(h);
  return std::string(py::str(type.attr("__module__"))) == "numpy" &&
         std::string(py::str(type.attr("__name__"))) == "ndarray";
}

// The object's buffer, released (under the GIL) when the last owner lets go.
std::shared_ptr<Py_buffer> acquire_buffer(py::handle obj, int flags) {
  auto view = std::make_unique<Py_buffer>();
  if (PyObject_GetBuffer(obj.ptr(), view.get(), flags) != 0) throw py::error_already_set();
  return std::shared_ptr<Py_buffer>(view.release(), [](Py_buffer* v) {
    with_gil([v] { PyBuffer_Release(v); });
    delete v;
  });
}

// `forced`: the dtype to use instead of the one the buffer's format names (same element size).
Tensor wrap_python_buffer(py::handle obj, const char* op, std::optional<DType> forced = std::nullopt) {
  std::shared_ptr<Py_buffer> view = acquire_buffer(obj, PyBUF_RECORDS_RO);
  Py_buffer* raw = view.get();
  std::shared_ptr<void> holder = view;
  const DType dtype = forced ? *forced : dtype_from_format(raw->format ? raw->format : "B", raw->itemsize, op);
  EMBER_CHECK(static_cast<Py_ssize_t>(itemsize(dtype)) == raw->itemsize, Type, op, ": element size mismatch");
  Dims shape, strides;
  for (int d = 0; d < raw->ndim; ++d) {
    shape.push_back(raw->shape[d]);
    const Py_ssize_t s = raw->strides ? raw->strides[d] : 0;
    EMBER_CHECK(s % raw->itemsize == 0, Value, op, ": strides of ", s, " bytes are not a multiple of the ", raw->itemsize,
                "-byte element; make the array contiguous first (numpy.ascontiguousarray)");
    strides.push_back(s / raw->itemsize);
  }
  if (!raw->strides) strides = contiguous_strides(shape);
  return wrap_memory(static_cast<char*>(raw->buf), shape, strides, dtype, std::move(holder), !raw->readonly);
}

// ---- DLPack ----

struct ExportContext {
  Tensor tensor;
  std::vector<int64_t> shape, strides;
};

dlpack::DataType dl_dtype(DType d) {
  switch (d) {
    case DType::F32: return {dlpack::kFloat, 32, 1};
    case DType::F16: return {dlpack::kFloat, 16, 1};
    case DType::BF16: return {dlpack::kBfloat, 16, 1};
    case DType::F64: return {dlpack::kFloat, 64, 1};
    case DType::U8: return {dlpack::kUInt, 8, 1};
    case DType::I8: return {dlpack::kInt, 8, 1};
    case DType::U32: return {dlpack::kUInt, 32, 1};
    case DType::I32: return {dlpack::kInt, 32, 1};
    case DType::I64: return {dlpack::kInt, 64, 1};
    case DType::Bool: return {dlpack::kBool, 8, 1};
  }
  return {dlpack::kFloat, 32, 1};
}

DType dtype_from_dl(dlpack::DataType t) {
  EMBER_CHECK(t.lanes == 1, Type, "from_dlpack: vector dtypes (lanes=", t.lanes, ") are not supported");
  const int code = t.code, bits = t.bits;
  if (code == dlpack::kFloat && bits == 32) return DType::F32;
  if (code == dlpack::kFloat && bits == 16) return DType::F16;
  if (code == dlpack::kFloat && bits == 64) return DType::F64;
  if (code == dlpack::kBfloat && bits == 16) return DType::BF16;
  if (code == dlpack::kUInt && bits == 8) return DType::U8;
  if (code == dlpack::kInt && bits == 8) return DType::I8;
  if (code == dlpack::kUInt && bits == 32) return DType::U32;
  if (code == dlpack::kInt && bits == 32) return DType::I32;
  if (code == dlpack::kInt && bits == 64) return DType::I64;
  if (code == dlpack::kBool && bits == 8) return DType::Bool;
  EMBER_THROW(Type, "from_dlpack: DLPack dtype (code ", code, ", ", bits, " bits) is not supported by ember");
}

dlpack::Device dl_device(Device d) {
  switch (d.type) {
    case DeviceType::CPU: return {dlpack::kCPU, 0};
    case DeviceType::CUDA: return {dlpack::kCUDA, d.index};
    case DeviceType::Metal: return {dlpack::kMetal, d.index};
  }
  return {dlpack::kCPU, 0};
}

void fill_dltensor(dlpack::DLTensor& dl, ExportContext* ctx) {
  const Tensor& t = ctx->tensor;
  ctx->shape.assign(t.shape().begin(), t.shape().end());
  ctx->strides.assign(t.strides().begin(), t.strides().end());
  dl.data = t.storage()->data();
  dl.byte_offset = static_cast<uint64_t>(t.offset()) * t.itemsize();
  dl.device = dl_device(t.device());
  dl.ndim = static_cast<int32_t>(t.ndim());
  dl.dtype = dl_dtype(t.dtype());
  dl.shape = ctx->shape.data();
  dl.strides = ctx->strides.data();
}

void versioned_capsule_destructor(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor_versioned")) return;  // consumed: the consumer owns it
  auto* m = static_cast<dlpack::ManagedTensorVersioned*>(PyCapsule_GetPointer(capsule, "dltensor_versioned"));
  if (m && m->deleter) m->deleter(m);
}

void legacy_capsule_destructor(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor")) return;
  auto* m = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
  if (m && m->deleter) m->deleter(m);
}

py::object to_dlpack(const Tensor& self, py::handle stream, py::handle max_version, py::handle dl_device_arg, py::handle copy) {
  (void)stream;  // CPU tensors need no stream synchronisation
  Tensor t = self;
  if (!dl_device_arg.is_none()) {
    const py::tuple dev = dl_device_arg.cast<py::tuple>();
    const dlpack::Device mine = dl_device(t.device());
    if (dev[0].cast<int>() != mine.device_type || dev[1].cast<int>() != mine.device_id) {
      EMBER_THROW(Value, "__dlpack__: exporting to another device (dl_device=", std::string(py::str(dl_device_arg)),
                  ") is not supported; use .to(device) first");
    }
  }
  const bool force_copy = !copy.is_none() && copy.cast<bool>();
  if (force_copy) t = clone(t);
  bool versioned = false;
  if (!max_version.is_none()) versioned = max_version.cast<py::tuple>()[0].cast<int>() >= 1;
  auto* ctx = new ExportContext{t, {}, {}};
  if (versioned) {
    auto* m = new dlpack::ManagedTensorVersioned{};
    m->version = {dlpack::kMajorVersion, dlpack::kMinorVersion};
    m->manager_ctx = ctx;
    m->flags = (t.storage()->writable() ? 0 : dlpack::kFlagReadOnly) | (force_copy ? dlpack::kFlagIsCopied : 0);
    m->deleter = [](dlpack::ManagedTensorVersioned* self_) {
      delete static_cast<ExportContext*>(self_->manager_ctx);
      delete self_;
    };
    fill_dltensor(m->dl_tensor, ctx);
    return py::reinterpret_steal<py::object>(PyCapsule_New(m, "dltensor_versioned", versioned_capsule_destructor));
  }
  auto* m = new dlpack::ManagedTensor{};
  m->manager_ctx = ctx;
  m->deleter = [](dlpack::ManagedTensor* self_) {
    delete static_cast<ExportContext*>(self_->manager_ctx);
    delete self_;
  };
  fill_dltensor(m->dl_tensor, ctx);
  return py::reinterpret_steal<py::object>(PyCapsule_New(m, "dltensor", legacy_capsule_destructor));
}

Tensor tensor_from_dltensor(const dlpack::DLTensor& dl, std::shared_ptr<void> holder, bool writable) {
  EMBER_CHECK(dl.device.device_type == dlpack::kCPU || dl.device.device_type == dlpack::kCUDAHost, NotImplemented,
              "from_dlpack: only CPU tensors can be imported in this build (DLPack device type ",
              dl.device.device_type, ")");
  const DType dtype = dtype_from_dl(dl.dtype);
  EMBER_CHECK(dl.ndim >= 0, Value, "from_dlpack: negative ndim");
  Dims shape(dl.shape, dl.shape + dl.ndim);
  Dims strides = dl.strides ? Dims(dl.strides, dl.strides + dl.ndim) : contiguous_strides(shape);
  char* first = static_cast<char*>(dl.data) + dl.byte_offset;
  return wrap_memory(first, shape, strides, dtype, std::move(holder), writable);
}

Tensor from_dlpack_capsule(py::handle capsule) {
  PyObject* cap = capsule.ptr();
  if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
    auto* m = static_cast<dlpack::ManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
    EMBER_CHECK(m->version.major == dlpack::kMajorVersion, Value, "from_dlpack: unsupported DLPack major version ",
                m->version.major);
    std::shared_ptr<void> holder(m, [](void* p) {
      auto* mt = static_cast<dlpack::ManagedTensorVersioned*>(p);
      if (mt->deleter) with_gil([mt] { mt->deleter(mt); });
    });
    Tensor t = tensor_from_dltensor(m->dl_tensor, holder, !(m->flags & dlpack::kFlagReadOnly));
    PyCapsule_SetName(cap, "used_dltensor_versioned");
    return t;
  }
  if (PyCapsule_IsValid(cap, "dltensor")) {
    auto* m = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
    std::shared_ptr<void> holder(m, [](void* p) {
      auto* mt = static_cast<dlpack::ManagedTensor*>(p);
      if (mt->deleter) with_gil([mt] { mt->deleter(mt); });
    });
    Tensor t = tensor_from_dltensor(m->dl_tensor, holder, true);
    PyCapsule_SetName(cap, "used_dltensor");
    return t;
  }
  EMBER_THROW(Type, "from_dlpack: expected an object with __dlpack__ or an unused DLPack capsule");
}

Tensor from_dlpack(py::handle obj) {
  if (py::isinstance<Tensor>(obj)) return obj.cast<Tensor>();
  if (PyCapsule_CheckExact(obj.ptr())) return from_dlpack_capsule(obj);
  EMBER_CHECK(py::hasattr(obj, "__dlpack__"), Type, "from_dlpack: object of type ",
              std::string(py::str(py::type::handle_of(obj).attr("__name__"))), " does not support DLPack");
  if (py::hasattr(obj, "__dlpack_device__")) {
    const py::tuple dev = obj.attr("__dlpack_device__")();
    const int type = dev[0].cast<int>();
    EMBER_CHECK(type == dlpack::kCPU || type == dlpack::kCUDAHost, NotImplemented,
                "from_dlpack: only CPU tensors can be imported in this build (device type ", type, ")");
  }
  py::object capsule;
  try {
    capsule = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(dlpack::kMajorVersion, dlpack::kMinorVersion));
  } catch (const py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    capsule = obj.attr("__dlpack__")();
  }
  return from_dlpack_capsule(capsule);
}

Tensor bf16_numpy_to_tensor(py::handle arr, const char* op) {
  // ml_dtypes.bfloat16 arrays: reinterpret the bits as uint16, wrap, then relabel as bfloat16.
  return wrap_python_buffer(arr.attr("view")("uint16"), op, DType::BF16);
}

bool is_bf16_numpy(py::handle obj) {
  return is_numpy_array(obj) && std::string(py::str(obj.attr("dtype").attr("name"))) == "bfloat16";
}

py::object tensor_to_numpy(const Tensor& t) {
  EMBER_CHECK(t.device().is_cpu(), Type, "numpy: a tensor on ", t.device().str(),
              " cannot be viewed by numpy; call .cpu() first");
  const int64_t isz = static_cast<int64_t>(t.itemsize());
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * isz);
  // The base object keeps the storage alive as long as numpy needs it.
  auto* keep = new Tensor(t);
  py::capsule base(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  const char* fmt = format_of(t.dtype());
  py::array arr;
  if (t.dtype() == DType::BF16) {
    py::object ml;
    try {
      ml = py::module_::import("ml_dtypes");
    } catch (const py::error_already_set&) {
      EMBER_THROW(Type, "numpy: numpy has no bfloat16 dtype; call .float() first (or install ml_dtypes, which "
                  "ember then uses to return an ml_dtypes.bfloat16 array)");
    }
    arr = py::array(py::dtype("uint16"), shape, strides, t.data_ptr(), base);
    arr = arr.attr("view")(ml.attr("bfloat16"));
  } else {
    arr = py::array(py::dtype(std::string(fmt)), shape, strides, t.data_ptr(), base);
  }
  if (!t.storage()->writable()) arr.attr("setflags")(py::arg("write") = false);
  return arr;
}

// ---- buffer protocol export ----

struct ExportedBuffer {
  Tensor tensor;
  std::vector<Py_ssize_t> shape, strides;
};

int tensor_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  view->obj = nullptr;
  try {
    const Tensor& t = py::handle(self).cast<const Tensor&>();
    EMBER_CHECK(t.device().is_cpu(), Type, "buffer protocol: a tensor on ", t.device().str(),
                " has no host memory; call .cpu() first");
    const char* fmt = format_of(t.dtype());
    EMBER_CHECK(fmt, Type, "buffer protocol: bfloat16 has no buffer format; call .float() first");
    const bool writable = t.storage()->writable();
    if ((flags & PyBUF_WRITABLE) && !writable) {
      PyErr_SetString(PyExc_BufferError, "buffer protocol: the tensor wraps read-only memory");
      return -1;
    }
    if (!(flags & PyBUF_STRIDES) && !t.is_contiguous()) {
      PyErr_SetString(PyExc_BufferError, "buffer protocol: the consumer needs a contiguous tensor; call .contiguous()");
      return -1;
    }
    const int64_t isz = static_cast<int64_t>(t.itemsize());
    auto* exported = new ExportedBuffer{t, {}, {}};
    for (int64_t d = 0; d < t.ndim(); ++d) {
      exported->shape.push_back(t.shape()[d]);
      exported->strides.push_back(t.strides()[d] * isz);
    }
    view->buf = t.data_ptr();
    view->len = t.numel() * isz;
    view->readonly = !writable;
    view->itemsize = isz;
    view->format = (flags & PyBUF_FORMAT) ? const_cast<char*>(fmt) : nullptr;
    view->ndim = static_cast<int>(t.ndim());
    view->shape = (flags & PyBUF_ND) ? exported->shape.data() : nullptr;
    view->strides = (flags & PyBUF_STRIDES) ? exported->strides.data() : nullptr;
    view->suboffsets = nullptr;
    view->internal = exported;
    view->obj = self;
    Py_INCREF(self);
    return 0;
  } catch (const Error& e) {
    PyErr_SetString(e.kind() == ErrorKind::Type ? PyExc_TypeError : PyExc_BufferError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_BufferError, e.what());
  }
  return -1;
}

void tensor_releasebuffer(PyObject*, Py_buffer* view) { delete static_cast<ExportedBuffer*>(view->internal); }

// torch.frombuffer: `count` elements of `dtype` (-1: all that fit) starting `offset` bytes into a
// contiguous buffer, sharing its memory.
Tensor wrap_bytes(py::handle obj, DType dtype, int64_t count, int64_t offset) {
  std::shared_ptr<Py_buffer> view = acquire_buffer(obj, PyBUF_SIMPLE);
  Py_buffer* raw = view.get();
  std::shared_ptr<void> holder = view;
  const int64_t len = raw->len, isz = static_cast<int64_t>(itemsize(dtype));
  EMBER_CHECK(offset >= 0 && offset <= len, Value, "frombuffer: offset ", offset, " is outside the buffer of ", len,
              " bytes");
  if (count < 0) {
    EMBER_CHECK(count == -1, Value, "frombuffer: count must be -1 (all) or >= 0, got ", count);
    EMBER_CHECK((len - offset) % isz == 0, Value, "frombuffer: the ", len - offset, " bytes after offset ", offset,
                " are not a multiple of the ", isz, "-byte ", dtype_name(dtype), " element");
    count = (len - offset) / isz;
  }
  EMBER_CHECK(count <= (len - offset) / isz, Value, "frombuffer: ", count, " elements of ", dtype_name(dtype),
              " from offset ", offset, " need more than the buffer's ", len, " bytes");
  char* first = static_cast<char*>(raw->buf) + offset;
  EMBER_CHECK(count == 0 || reinterpret_cast<uintptr_t>(first) % static_cast<uintptr_t>(isz) == 0, Value,
              "frombuffer: the address at offset ", offset, " is not aligned for ", dtype_name(dtype),
              "; copy the bytes (read them as uint8) instead");
  return wrap_memory(first, {count}, {1}, dtype, std::move(holder), !raw->readonly);
}

}  // namespace

Tensor wrap_buffer(py::handle obj, const char* op) {
  if (py::isinstance<Tensor>(obj)) return obj.cast<Tensor>();
  if (is_bf16_numpy(obj)) return bf16_numpy_to_tensor(obj, op);
  if (PyObject_CheckBuffer(obj.ptr())) return wrap_python_buffer(obj, op);
  if (py::hasattr(obj, "__dlpack__")) return from_dlpack(obj);
  if (py::hasattr(obj, "__array_interface__")) {
    py::object arr = py::module_::import("numpy").attr("asarray")(obj);
    return wrap_buffer(arr, op);
  }
  EMBER_THROW(Type, op, ": object of type ", std::string(py::str(py::type::handle_of(obj).attr("__name__"))),
              " does not expose its memory (buffer protocol, __array_interface__ or DLPack)");
}

void bind_interop(py::module_& m, TensorClass& cls) {
  m.def("from_numpy", [](py::handle a) {
    EMBER_CHECK(is_numpy_array(a), Type, "from_numpy: expected a numpy.ndarray, got ",
                std::string(py::str(py::type::handle_of(a).attr("__name__"))));
    return wrap_buffer(a, "from_numpy");
  }, py::arg("ndarray"), "A tensor that shares memory with the numpy array (no copy) and keeps it alive.");
  m.def("from_dlpack", &from_dlpack, py::arg("ext_tensor"),
        "A tensor that shares memory with any object implementing the DLPack protocol (torch, numpy, jax, ...).");
  m.def("frombuffer", [](py::handle obj, std::optional<DType> dtype, int64_t count, int64_t offset) {
    if (!dtype && count == -1 && offset == 0) return wrap_buffer(obj, "frombuffer");
    return wrap_bytes(obj, dtype ? *dtype : DType::U8, count, offset);
  }, py::arg("buffer"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("count") = -1, py::arg("offset") = 0,
        "A tensor sharing the buffer's memory. Without arguments it keeps the buffer's own element format and shape;\n"
        "with dtype / count / offset (bytes) it reads `count` elements of `dtype` (-1: all) of a contiguous buffer\n"
        "as a 1-D tensor, like torch.frombuffer.");

  cls.def("numpy", &tensor_to_numpy, "A numpy array sharing this tensor's memory (CPU tensors).")
      .def("__array__", [](const Tensor& t, py::handle dtype, py::handle copy) {
        py::object arr = tensor_to_numpy(t);
        if (!dtype.is_none()) arr = arr.attr("astype")(dtype);
        if (!copy.is_none() && copy.cast<bool>()) arr = arr.attr("copy")();
        return arr;
      }, py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack__", &to_dlpack, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
           py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const Tensor& t) {
        const dlpack::Device d = dl_device(t.device());
        return py::make_tuple(d.device_type, d.device_id);
      });
  // The buffer protocol, written directly so that refusals keep ember's message (pybind11's def_buffer
  // replaces it with "Error getting buffer").
  auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  type->tp_as_buffer->bf_getbuffer = &tensor_getbuffer;
  type->tp_as_buffer->bf_releasebuffer = &tensor_releasebuffer;
  PyType_Modified(type);
}

}  // namespace ember::py_bind
