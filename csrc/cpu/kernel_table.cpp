#include "cpu/kernel_table.h"

#include "core/error.h"

namespace ember::cpu {

namespace baseline { void register_kernels(KernelTable& table); }
#if defined(EMBER_HAVE_ISA_AVX2)
namespace avx2 { void register_kernels(KernelTable& table); }
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
namespace avx512 { void register_kernels(KernelTable& table); }
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
namespace dotprod { void register_kernels(KernelTable& table); }
#endif

namespace {
KernelTable build(Isa isa) {
  KernelTable t;
  baseline::register_kernels(t);
  switch (isa) {
    case Isa::Baseline: break;
#if defined(EMBER_HAVE_ISA_AVX2)
    case Isa::Avx2: avx2::register_kernels(t); break;
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
    case Isa::Avx512: avx512::register_kernels(t); break;
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
    case Isa::Dotprod: dotprod::register_kernels(t); break;
#endif
    default: break;
  }
  return t;
}
}  // namespace

const KernelTable& kernels_for(Isa isa) {
  static const KernelTable tables[4] = {build(Isa::Baseline), build(Isa::Avx2), build(Isa::Avx512), build(Isa::Dotprod)};
  bool runnable = false;
  for (Isa r : runnable_isas()) runnable |= r == isa;
  EMBER_CHECK(runnable, Value, "cpu kernels for ISA '", isa_name(isa), "' are not built or this CPU cannot run them");
  return tables[static_cast<int>(isa)];
}

const KernelTable& kernels() {
  static const KernelTable& active = kernels_for(active_isa());
  return active;
}

static_assert(kKernelValueError == static_cast<int>(ErrorKind::Value) &&
              kKernelTypeError == static_cast<int>(ErrorKind::Type) &&
              kKernelIndexError == static_cast<int>(ErrorKind::Index) &&
              kKernelRuntimeError == static_cast<int>(ErrorKind::Runtime) &&
              kKernelNotImplemented == static_cast<int>(ErrorKind::NotImplemented));

void kernel_error(int error_kind, const char* message) {
  throw Error(static_cast<ErrorKind>(error_kind), message);
}

}  // namespace ember::cpu
