#include "core/qtensor.h"

#include "core/error.h"
#include "quant/qtype_info.h"

namespace ember {

QTensor QTensor::wrap(const Tensor& data, quant::QType type, const Dims& shape, const char* op) {
  const quant::QTypeTraits& t = quant::traits(type);
  EMBER_CHECK(data.defined() && data.dtype() == DType::U8, Type, op, ": the blocks must be a uint8 tensor, got ",
              data.defined() ? data.describe() : std::string("nothing"));
  EMBER_CHECK(data.is_contiguous(), Value, op, ": the blocks must be contiguous, got ", data.describe());
  EMBER_CHECK(!shape.empty(), Value, op, ": a ", t.name, " QTensor needs at least one dim, got shape ()");
  const int64_t numel = checked_numel(shape, op);
  EMBER_CHECK(shape.back() % t.block_size == 0, Value, op, ": the last dim of a ", t.name,
              " QTensor must be a multiple of its block size ", t.block_size, ", got shape ", shape_str(shape));
  const int64_t nbytes = numel / t.block_size * t.type_size;
  EMBER_CHECK(data.numel() == nbytes, Value, op, ": a ", t.name, " QTensor of shape ", shape_str(shape), " needs ",
              nbytes, " bytes of blocks, got ", data.numel());
  QTensor q;
  q.data_ = data.ndim() == 1 ? data : data.with_layout(Layout(Dims{nbytes}, data.offset()));
  q.type_ = type;
  q.shape_ = shape;
  q.numel_ = numel;
  q.row_bytes_ = shape.back() / t.block_size * t.type_size;
  return q;
}

const char* QTensor::type_name() const { return quant::traits(type_).name; }

std::string QTensor::describe() const {
  return std::string(type_name()) + " QTensor of shape " + shape_str(shape_) + " on " + device().str();
}

}  // namespace ember
