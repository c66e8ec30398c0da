#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(_WIN32)
#include <malloc.h>
#endif

namespace ember {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;

void* aligned_alloc_bytes(size_t alignment, size_t nbytes) {
#if defined(_WIN32)
  return _aligned_malloc(nbytes, alignment);
#else
  void* p = nullptr;
  if (posix_memalign(&p, alignment, nbytes) != 0) return nullptr;
  return p;
#endif
}

void aligned_free(void* p) {
#if defined(_WIN32)
  _aligned_free(p);
#else
  std::free(p);
#endif
}
}  // namespace

std::shared_ptr<Storage> allocate_host(size_t nbytes) {
  const bool huge = nbytes >= 2 * kHugePage;
  const size_t alignment = huge ? kHugePage : 64;
  // Never ask for zero bytes: every storage has a valid, unique pointer.
  const size_t request = nbytes == 0 ? alignment : (nbytes + alignment - 1) / alignment * alignment;
  void* p = aligned_alloc_bytes(alignment, request);
  if (!p) EMBER_THROW(Runtime, "out of memory: failed to allocate ", nbytes, " bytes on cpu");
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge) madvise(p, request, MADV_HUGEPAGE);
#endif
  std::shared_ptr<void> holder(p, aligned_free);
  return std::make_shared<Storage>(p, nbytes, Device::cpu(), std::move(holder));
}

}  // namespace ember
