#pragma once
#include <cstddef>
#include <memory>

#include "core/device.h"

namespace ember {

// A block of device memory. `holder` owns it: for memory ember allocated, its deleter frees it; for
// wrapped memory (a numpy array, a DLPack tensor, a mapped file) it keeps the real owner alive.
class Storage {
 public:
  Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> holder)
      : data_(data), nbytes_(nbytes), device_(device), holder_(std::move(holder)) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Whether the memory may be written (a read-only numpy array or mapping is wrapped read-only).
  bool writable() const { return writable_; }
  void set_writable(bool w) { writable_ = w; }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  std::shared_ptr<void> holder_;
  bool writable_ = true;
};

// Host memory aligned to 64 bytes; large blocks are 2 MiB aligned and asked to use huge pages.
std::shared_ptr<Storage> allocate_host(size_t nbytes);

}  // namespace ember
