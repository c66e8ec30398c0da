// A quantized weight: raw ggml blocks in a uint8 tensor, the block type, and the logical shape (the
// last dim holds whole blocks; each row of the last dim is row_bytes() bytes of blocks).
#pragma once
#include <string>

#include "core/tensor.h"
#include "quant/qtypes.h"

namespace ember {

class QTensor {
 public:
  QTensor() = default;
  // Wraps `data` (uint8, contiguous, exactly the bytes the shape needs) without copying.
  static QTensor wrap(const Tensor& data, quant::QType type, const Dims& shape, const char* op = "QTensor");

  bool defined() const { return data_.defined(); }
  const Tensor& data() const { return data_; }
  quant::QType type() const { return type_; }
  const char* type_name() const;
  const Dims& shape() const { return shape_; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  int64_t nbytes() const { return data_.numel(); }
  Device device() const { return data_.device(); }
  int64_t row_length() const { return shape_.empty() ? 1 : shape_.back(); }
  int64_t rows() const { return row_length() == 0 ? 0 : numel_ / row_length(); }
  int64_t row_bytes() const { return row_bytes_; }
  std::string describe() const;  // "q4_0 QTensor of shape (4096, 4096) on cpu"

 private:
  Tensor data_;
  quant::QType type_ = quant::QType::F32;
  Dims shape_;
  int64_t numel_ = 0;
  int64_t row_bytes_ = 0;
};

}  // namespace ember
