// 64-byte aligned scratch memory for kernel TUs, grown on demand and kept (per thread, by its owner)
// between calls. Defined inside the level's namespace, so each SIMD level has its own copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

struct ScratchBuffer {
  void* ptr = nullptr;
  size_t capacity = 0;
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { release(); }
  void release() {
    if (ptr) ::operator delete(ptr, std::align_val_t(64));
    ptr = nullptr;
    capacity = 0;
  }
  // Room for `count` elements of T plus 64 bytes of slack (vector loads may run past the end).
  template <class T>
  T* get(size_t count) {
    const size_t bytes = (count * sizeof(T) + 127) & ~size_t(63);
    if (bytes > capacity) {
      release();
      ptr = ::operator new(bytes, std::align_val_t(64));
      capacity = bytes;
    }
    return static_cast<T*>(ptr);
  }
};

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
