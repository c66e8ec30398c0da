// Placeholder until the K-quant dot products land (Q2_K..Q6_K, IQ4_XS): no kernel, so the driver
// takes its float path for those types.
#include "cpu/kernels/quant_dot.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

QDotKernel kquant_qdot_kernel(quant::QType) { return {}; }

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
