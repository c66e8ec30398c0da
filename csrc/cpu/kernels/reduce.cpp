#include "cpu/kernel_table.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

void register_reduce_kernels(KernelTable&) {}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
