// What the CPU can do, read once at start-up, and which compiled SIMD level the kernels use.
#pragma once
#include <string>
#include <vector>

namespace ember::cpu {

// Compiled SIMD levels. x86-64: Baseline (SSE2), Avx2 (AVX2+FMA+F16C), Avx512 (F/BW/DQ/VL, VNNI where
// present). arm64: Baseline is NEON; Dotprod adds the int8 dot product (used by quantized kernels).
enum class Isa { Baseline, Avx2, Avx512, Dotprod };

struct CpuFeatures {
  std::string arch;  // "x86_64", "arm64", or "other"
  bool sse2 = false, ssse3 = false, sse41 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512vnni = false,
       avx512bf16 = false, avxvnni = false;
  bool neon = false, dotprod = false, i8mm = false, fp16 = false;
};

const CpuFeatures& cpu_features();
const char* isa_name(Isa isa);
// ISAs compiled into this build and runnable on this CPU, lowest first.
std::vector<Isa> runnable_isas();
// The ISA the kernels run with: the best runnable one, capped by EMBER_CPU_ISA
// ("baseline", "avx2", "avx512", "dotprod") when that is set.
Isa active_isa();

}  // namespace ember::cpu
