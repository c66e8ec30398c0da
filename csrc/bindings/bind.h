// Declarations shared by the binding files; each file binds one area of the API.
#pragma once
#include <optional>

#include "bindings/convert.h"

namespace ember::py_bind {

using TensorClass = py::class_<Tensor>;

void bind_tensor(py::module_& m, TensorClass& cls);    // attributes, conversions, repr support
void bind_views(py::module_& m, TensorClass& cls);     // views, __getitem__, __setitem__
void bind_math(py::module_& m, TensorClass& cls);      // elementwise, operators, reductions, matmul, indexing
void bind_creation(py::module_& m);                    // tensor(), zeros(), rand(), cat(), ...
void bind_interop(py::module_& m, TensorClass& cls);   // numpy, buffer protocol, DLPack
void bind_norm(py::module_& m, TensorClass& cls);      // layer/rms/group norm, glu, rope (issue #3)
void bind_pool(py::module_& m, TensorClass& cls);      // pooling, interpolate, pad, pixel shuffles
void bind_conv(py::module_& m, TensorClass& cls);      // conv1d / conv2d / conv_transpose1d / conv_transpose2d
void bind_attention(py::module_& m, TensorClass& cls);  // scaled_dot_product_attention (issue #3)
void bind_ordering(py::module_& m, TensorClass& cls);  // sort, topk, cumsum, scatter, flip, unique, ... (issue #3)
void bind_quant(py::module_& m);                       // QTensor, quantize, qmatmul, qembedding (issue #4)

bool is_operand(py::handle h);
Operand operand_from_py(py::handle h, const char* op);
// ember.tensor(data): nested sequences, numbers, numpy arrays, buffers or tensors; always copies.
Tensor tensor_from_data(py::handle data, std::optional<DType> dtype, std::optional<Device> device);
// A CPU tensor that wraps (does not copy) a numpy array or any buffer-protocol object.
Tensor wrap_buffer(py::handle obj, const char* op);
py::object tensor_to_list(const Tensor& t);

}  // namespace ember::py_bind
