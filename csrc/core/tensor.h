// Tensor = shared Storage + Layout + dtype. Copying a Tensor copies the handle, not the data.
#pragma once
#include <memory>

#include "core/dtype.h"
#include "core/layout.h"
#include "core/storage.h"

namespace ember {

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, Layout layout, DType dtype)
      : storage_(std::move(storage)), layout_(std::move(layout)), dtype_(dtype) {}

  // Uninitialised memory of the given shape on the device. `op` names the caller in errors.
  static Tensor empty(const Dims& shape, DType dtype, Device device, const char* op = "empty");
  // Same shape and dtype; strides follow `like` where it is dense (a permuted tensor stays permuted).
  static Tensor empty_like(const Tensor& like, DType dtype, const char* op = "empty_like");

  bool defined() const { return storage_ != nullptr; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  const Layout& layout() const { return layout_; }
  const Dims& shape() const { return layout_.shape; }
  const Dims& strides() const { return layout_.strides; }
  int64_t offset() const { return layout_.offset; }
  int64_t ndim() const { return layout_.ndim(); }
  int64_t numel() const { return layout_.numel(); }
  int64_t size(int64_t dim) const;  // accepts negative dims
  DType dtype() const { return dtype_; }
  size_t itemsize() const { return ember::itemsize(dtype_); }
  Device device() const { return storage_->device(); }
  bool is_contiguous() const { return layout_.is_contiguous(); }

  void* data_ptr() const {
    return static_cast<char*>(storage_->data()) + layout_.offset * static_cast<int64_t>(itemsize());
  }
  template <class T>
  T* data() const { return static_cast<T*>(data_ptr()); }

  // A view over the same storage with another layout (the caller checked that it stays in bounds).
  Tensor with_layout(Layout layout) const { return Tensor(storage_, std::move(layout), dtype_); }
  bool shares_storage(const Tensor& o) const { return storage_ == o.storage_; }
  std::string describe() const;  // "float32 tensor of shape (2, 3) on cpu"

 private:
  std::shared_ptr<Storage> storage_;
  Layout layout_;
  DType dtype_ = DType::F32;
};

}  // namespace ember
