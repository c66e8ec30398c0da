// Pooling, resampling, padding and pixel shuffles. The torch.nn.functional names and defaults live
// in python/ember/nn/functional.py; these are the entry points it wraps.
#include "bindings/bind.h"
#include "core/error.h"
#include "core/ops_pool.h"

namespace ember::py_bind {

namespace {

Dims stride_arg(py::handle stride, const char* op) {
  if (stride.is_none()) return {};
  return dims_from_py(stride, op);
}

// An int, None, or a sequence of ints / None.
std::vector<std::optional<int64_t>> output_size_arg(py::handle h) {
  std::vector<std::optional<int64_t>> out;
  auto one = [&](py::handle v) {
    if (v.is_none()) out.emplace_back(std::nullopt);
    else out.emplace_back(py::cast<int64_t>(v));
  };
  if (py::isinstance<py::sequence>(h) && !py::isinstance<py::str>(h)) {
    for (py::handle v : h) one(v);
  } else {
    one(h);
  }
  return out;
}

}  // namespace

void bind_pool(py::module_& m, TensorClass&) {
  for (const int spatial : {1, 2}) {
    const std::string sfx = spatial == 1 ? "1d" : "2d";
    const std::string max_name = "max_pool" + sfx;
    m.def(("_" + max_name).c_str(),
          [spatial, max_name](const Tensor& x, py::handle kernel, py::handle stride, py::handle padding, py::handle dilation,
                              bool ceil_mode, bool return_indices) -> py::object {
            const char* op = max_name.c_str();
            const Dims k = dims_from_py(kernel, op), s = stride_arg(stride, op), p = dims_from_py(padding, op),
                       d = dims_from_py(dilation, op);
            auto [out, idx] = nogil([&] { return max_pool(x, spatial, k, s, p, d, ceil_mode, return_indices); });
            if (return_indices) return py::make_tuple(out, idx);
            return py::cast(out);
          },
          py::arg("input"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
          py::arg("ceil_mode"), py::arg("return_indices"));
    const std::string avg_name = "avg_pool" + sfx;
    m.def(("_" + avg_name).c_str(),
          [spatial, avg_name](const Tensor& x, py::handle kernel, py::handle stride, py::handle padding, bool ceil_mode,
                              bool count_include_pad, std::optional<int64_t> divisor_override) {
            const char* op = avg_name.c_str();
            const Dims k = dims_from_py(kernel, op), s = stride_arg(stride, op), p = dims_from_py(padding, op);
            return nogil([&] { return avg_pool(x, spatial, k, s, p, ceil_mode, count_include_pad, divisor_override); });
          },
          py::arg("input"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"),
          py::arg("count_include_pad"), py::arg("divisor_override"));
    const std::string adaptive_name = "adaptive_avg_pool" + sfx;
    m.def(("_" + adaptive_name).c_str(),
          [spatial, adaptive_name](const Tensor& x, py::handle output_size) {
            const auto size = output_size_arg(output_size);
            return nogil([&] { return adaptive_avg_pool(x, spatial, size); });
          },
          py::arg("input"), py::arg("output_size"));
  }
  m.def("_interpolate",
        [](const Tensor& x, const Dims& size, const std::string& mode, bool align_corners, const std::vector<double>& scales) {
          return nogil([&] { return interpolate(x, size, mode, align_corners, scales); });
        },
        py::arg("input"), py::arg("size"), py::arg("mode"), py::arg("align_corners"), py::arg("scales"));
  m.def("_pad",
        [](const Tensor& x, py::handle pad_arg, const std::string& mode, py::handle value) {
          const Dims p = dims_from_py(pad_arg, "pad");
          std::optional<Scalar> v;
          if (!value.is_none()) v = scalar_from_py(value, "pad");
          return nogil([&] { return pad(x, p, mode, v); });
        },
        py::arg("input"), py::arg("pad"), py::arg("mode"), py::arg("value"));
  m.def("pixel_shuffle", [](const Tensor& x, int64_t r) { return nogil([&] { return pixel_shuffle(x, r); }); },
        py::arg("input"), py::arg("upscale_factor"));
  m.def("pixel_unshuffle", [](const Tensor& x, int64_t r) { return nogil([&] { return pixel_unshuffle(x, r); }); },
        py::arg("input"), py::arg("downscale_factor"));
}

}  // namespace ember::py_bind
