// Compiled once per SIMD level: fills a KernelTable with that level's kernels.
#include "cpu/kernel_table.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

#define EMBER_DECLARE_PART(part) void register_##part##_kernels(KernelTable& table);
EMBER_CPU_KERNEL_PARTS(EMBER_DECLARE_PART)
EMBER_CPU_CONV_KERNEL_PARTS(EMBER_DECLARE_PART)
EMBER_CPU_QUANT_KERNEL_PARTS(EMBER_DECLARE_PART)
#undef EMBER_DECLARE_PART

void register_kernels(KernelTable& table) {
#define EMBER_CALL_PART(part) register_##part##_kernels(table);
  EMBER_CPU_KERNEL_PARTS(EMBER_CALL_PART)
  EMBER_CPU_CONV_KERNEL_PARTS(EMBER_CALL_PART)
  EMBER_CPU_QUANT_KERNEL_PARTS(EMBER_CALL_PART)
#undef EMBER_CALL_PART
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
