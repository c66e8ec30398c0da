#include "cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif
#if defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace ember::cpu {

namespace {

#if defined(__x86_64__) || defined(_M_X64)
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(sub));
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(regs[i]);
#else
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}
unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}

void detect_x86(CpuFeatures& f) {
  f.arch = "x86_64";
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  cpuid(1, 0, r);
  const unsigned ecx1 = r[2], edx1 = r[3];
  f.sse2 = edx1 & (1u << 26);
  f.ssse3 = ecx1 & (1u << 9);
  f.sse41 = ecx1 & (1u << 19);
  const bool osxsave = ecx1 & (1u << 27);
  const unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;           // XMM and YMM state
  const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;      // plus opmask and ZMM state
  f.avx = os_avx && (ecx1 & (1u << 28));
  f.fma = f.avx && (ecx1 & (1u << 12));
  f.f16c = f.avx && (ecx1 & (1u << 29));
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    const unsigned ebx7 = r[1], ecx7 = r[2];
    f.avx2 = f.avx && (ebx7 & (1u << 5));
    if (os_avx512) {
      f.avx512f = ebx7 & (1u << 16);
      f.avx512dq = ebx7 & (1u << 17);
      f.avx512bw = ebx7 & (1u << 30);
      f.avx512vl = ebx7 & (1u << 31);
      f.avx512vnni = ecx7 & (1u << 11);
    }
    cpuid(7, 1, r);
    f.avxvnni = f.avx2 && (r[0] & (1u << 4));
    f.avx512bf16 = os_avx512 && (r[0] & (1u << 5));
  }
}
#endif

#if defined(__aarch64__) || defined(_M_ARM64)
void detect_arm(CpuFeatures& f) {
  f.arch = "arm64";
  f.neon = true;
#if defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  const unsigned long hw2 = getauxval(AT_HWCAP2);
  f.dotprod = hw & (1ul << 20);  // HWCAP_ASIMDDP
  f.fp16 = hw & (1ul << 10);     // HWCAP_ASIMDHP
  f.i8mm = hw2 & (1ul << 13);    // HWCAP2_I8MM
#elif defined(__APPLE__)
  auto flag = [](const char* name) {
    int v = 0;
    size_t size = sizeof v;
    return sysctlbyname(name, &v, &size, nullptr, 0) == 0 && v != 0;
  };
  f.dotprod = flag("hw.optional.arm.FEAT_DotProd");
  f.fp16 = flag("hw.optional.arm.FEAT_FP16");
  f.i8mm = flag("hw.optional.arm.FEAT_I8MM");
#endif
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
  f.arch = "other";
#if defined(__x86_64__) || defined(_M_X64)
  detect_x86(f);
#elif defined(__aarch64__) || defined(_M_ARM64)
  detect_arm(f);
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Baseline: return "baseline";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Dotprod: return "dotprod";
  }
  return "?";
}

std::vector<Isa> runnable_isas() {
  const CpuFeatures& f = cpu_features();
  std::vector<Isa> out{Isa::Baseline};
#if defined(EMBER_HAVE_ISA_AVX2)
  if (f.avx2 && f.fma && f.f16c) out.push_back(Isa::Avx2);
#endif
#if defined(EMBER_HAVE_ISA_AVX512)
  if (f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) out.push_back(Isa::Avx512);
#endif
#if defined(EMBER_HAVE_ISA_DOTPROD)
  if (f.dotprod) out.push_back(Isa::Dotprod);
#endif
  (void)f;
  return out;
}

Isa active_isa() {
  static const Isa chosen = [] {
    const std::vector<Isa> isas = runnable_isas();
    Isa best = isas.back();
    if (const char* cap = std::getenv("EMBER_CPU_ISA")) {
      for (Isa isa : isas) {
        if (std::strcmp(cap, isa_name(isa)) == 0) best = isa;
      }
    }
    return best;
  }();
  return chosen;
}

}  // namespace ember::cpu
