// Run-time CPU facts the quantized kernels read (declared in cpu/kernels/quant_dot.h, which only
// kernel TUs include; defined here once, in a baseline TU).
#include "cpu/cpu_features.h"

namespace ember::cpu {

bool cpu_has_avx512_vnni() {
  static const bool has = [] {
    const CpuFeatures& f = cpu_features();
    return f.avx512f && f.avx512vl && f.avx512bw && f.avx512vnni;
  }();
  return has;
}

}  // namespace ember::cpu
