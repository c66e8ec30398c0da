// The compute kernels of the CPU matrix multiply, compiled once per SIMD level:
//   - the register-blocked micro-kernel (MR x NR tile of C from packed A and B panels),
//   - packing of A into MR-row panels and B into NR-column panels (any strides, dtype conversion),
//   - the dot-product kernel (rows of A against columns of B stored contiguously along K: x @ W.T),
//   - the row-accumulate GEMV kernel (x @ W with W's rows contiguous along N).
// Included only by csrc/cpu/gemm/*.cpp.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "cpu/gemm/gemm_simd.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {
namespace gemm {

// ---- register blocking and cache blocking per ISA ------------------------------------------------
// MR rows x NV vectors of C live in registers (an MR x NR tile, NR = NV * vector width). KC: depth of
// one packed block; MC: rows of A per packed block (MC x KC stays in L2); NC: columns of B per packed
// block (KC x NC in L3). KCL / MCL replace KC / MC when M >= kLargeM.
//
// Measured on Zen 3 (AVX2): KC well past the textbook "KC x NR panel of B in half of L1" wins,
// because every KC block costs a load and store of the whole C tile (from L3 or memory for large
// C), while the B panel streams from L2 fine with the A prefetch in the micro-kernel. KC = 768 with
// MC = 48 keeps A's block at 144 KiB; for large M, KC = 1024 with MC = 72 (288 KiB) is 2-3% faster
// still, while for small M the smaller B block is. The other ISAs use similar proportions,
// untuned (no such machine here).
template <class T>
struct Shape;

#if defined(EMBER_GEMM_AVX512)
// 32 zmm registers: 24 accumulators, 2 for B, the broadcast of A.
template <> struct Shape<float> {
  static constexpr int MR = 12, NV = 2;
  static constexpr int64_t KC = 384, MC = 192, NC = 3072, KCL = 384, MCL = 192;
};
template <> struct Shape<double> {
  static constexpr int MR = 12, NV = 2;
  static constexpr int64_t KC = 384, MC = 96, NC = 1536, KCL = 384, MCL = 96;
};
#elif defined(EMBER_GEMM_AVX2)
// 16 ymm registers: 12 accumulators, 2 for B, 1 broadcast.
template <> struct Shape<float> {
  static constexpr int MR = 6, NV = 2;
  static constexpr int64_t KC = 768, MC = 48, NC = 3072, KCL = 1024, MCL = 72;
};
template <> struct Shape<double> {
  static constexpr int MR = 6, NV = 2;
  static constexpr int64_t KC = 512, MC = 36, NC = 1536, KCL = 512, MCL = 36;
};
#elif defined(EMBER_GEMM_SSE2)
// 16 xmm registers and no FMA: 8 accumulators, 2 for B, a broadcast and the product.
template <> struct Shape<float> {
  static constexpr int MR = 4, NV = 2;
  static constexpr int64_t KC = 512, MC = 96, NC = 2048, KCL = 512, MCL = 96;
};
template <> struct Shape<double> {
  static constexpr int MR = 4, NV = 2;
  static constexpr int64_t KC = 512, MC = 48, NC = 1024, KCL = 512, MCL = 48;
};
#elif defined(EMBER_GEMM_NEON)
// 32 q registers: 24 accumulators, A loaded as vectors (lanes broadcast by fmla by-element), 3 for B.
template <> struct Shape<float> {
  static constexpr int MR = 8, NV = 3;
  static constexpr int64_t KC = 512, MC = 96, NC = 2040, KCL = 512, MCL = 96;
};
template <> struct Shape<double> {
  static constexpr int MR = 8, NV = 3;
  static constexpr int64_t KC = 384, MC = 64, NC = 1020, KCL = 384, MCL = 64;
};
#else
template <> struct Shape<float> {
  static constexpr int MR = 4, NV = 4;
  static constexpr int64_t KC = 256, MC = 64, NC = 1024, KCL = 256, MCL = 64;
};
template <> struct Shape<double> {
  static constexpr int MR = 4, NV = 4;
  static constexpr int64_t KC = 256, MC = 64, NC = 512, KCL = 256, MCL = 64;
};
#endif

constexpr int64_t kLargeM = 256;

template <class T>
constexpr int kMR = Shape<T>::MR;
template <class T>
constexpr int kNR = Shape<T>::NV * Vec<T>::W;

// Unrolls f(std::integral_constant<int, I>) for I in [0, N).
template <int N, class F>
EMBER_FORCE_INLINE void static_for(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (f(std::integral_constant<int, I>{}), ...); }(
      std::make_integer_sequence<int, N>{});
}

EMBER_FORCE_INLINE void prefetch_write(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1, 3);
#else
  (void)p;
#endif
}
EMBER_FORCE_INLINE void prefetch_l1(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 3);
#else
  (void)p;
#endif
}
EMBER_FORCE_INLINE void prefetch_l2(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 2);
#else
  (void)p;
#endif
}

// ---- micro-kernel ----------------------------------------------------------------------------------
// C[0:mr, 0:nr] (+)= A_panel (MR x kc, stored k-major: a[k * MR + i]) @ B_panel (kc x NR: b[k * NR + j]),
// computing RM <= MR rows of the panel (mr <= RM; see row_panels for how panels are cut). `accumulate` adds to C instead of overwriting it (later KC blocks). C is never read
// when it is false, so it may hold garbage (NaN) on entry. `b_next` (may be null): the next packed
// panel of B, prefetched into L2 one line per step, so that the next call does not wait for it to
// come from L3.
template <class T, int RM>
EMBER_GEMM_NOINLINE void micro_kernel(int64_t kc, const T* EMBER_GEMM_RESTRICT a, const T* EMBER_GEMM_RESTRICT b,
                                      T* c, int64_t rs_c, int64_t cs_c, int mr, int nr, bool accumulate,
                                      const T* b_next) {
  using VT = Vec<T>;
  using V = typename VT::V;
  constexpr int MR = Shape<T>::MR, NV = Shape<T>::NV, W = VT::W, NR = NV * W;
  static_assert(RM >= 1 && RM <= MR, "RM must be in [1, MR]");
  V acc[RM][NV];
  static_for<RM>([&](auto i) { static_for<NV>([&](auto j) { acc[i][j] = VT::zero(); }); });
  if (cs_c == 1) {
    static_for<RM>([&](auto i) {
      prefetch_write(c + i * rs_c);
      prefetch_write(c + i * rs_c + NR - 1);
    });
  }

  auto step = [&] {
    // A streams from L2; software prefetch 16 steps ahead (+2% on Zen 3). The address may lie past
    // the end of the panel (prefetches never fault), so it is computed as an integer.
    prefetch_l1(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(a) + 16 * MR * sizeof(T)));
#if defined(EMBER_GEMM_NEON)
    // A's column of values is loaded as vectors; fmla by element broadcasts each lane.
    constexpr int AV = (RM + W - 1) / W;
    static_assert(MR % W == 0, "the NEON micro-kernel needs MR to be a multiple of the vector width");
    V bv[NV], av[AV];
    static_for<NV>([&](auto j) { bv[j] = VT::load(b + j * W); });
    static_for<AV>([&](auto v) { av[v] = VT::load(a + v * W); });
    static_for<RM>([&](auto i) {
      constexpr int lane = decltype(i)::value % W, vec = decltype(i)::value / W;
      static_for<NV>([&](auto j) {
        if constexpr (std::is_same_v<T, float>) {
          acc[i][j] = vfmaq_laneq_f32(acc[i][j], bv[j], av[vec], lane);
        } else {
          acc[i][j] = vfmaq_laneq_f64(acc[i][j], bv[j], av[vec], lane);
        }
      });
    });
#else
    V bv[NV];
    static_for<NV>([&](auto j) { bv[j] = VT::load(b + j * W); });
    static_for<RM>([&](auto i) {
      const V av = VT::set1(a[i]);
      static_for<NV>([&](auto j) { acc[i][j] = VT::fma(av, bv[j], acc[i][j]); });
    });
#endif
    a += MR;
    b += NR;
  };
  if (b_next) {
    // One line per step: the whole panel when a row of it is at most a line, every other line of
    // it (the adjacent-line prefetcher fetches the pair) when it is two.
    constexpr int64_t kStep = NR * sizeof(T) >= 64 ? NR : 64 / sizeof(T);
    const int64_t lines = std::min(kc, (kc * NR + kStep - 1) / kStep);
    int64_t k = 0;
    for (; k < lines; ++k) {
      prefetch_l2(b_next + k * kStep);
      step();
    }
    for (; k < kc; ++k) step();
  } else {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 4
#endif
    for (int64_t k = 0; k < kc; ++k) step();
  }

  if (mr == RM && nr == NR && cs_c == 1) {
    static_for<RM>([&](auto i) {
      T* row = c + i * rs_c;
      static_for<NV>([&](auto j) {
        V v = acc[i][j];
        if (accumulate) v = VT::add(v, VT::load(row + j * W));
        VT::store(row + j * W, v);
      });
    });
    return;
  }
  alignas(64) T tile[RM * NR];
  static_for<RM>([&](auto i) { static_for<NV>([&](auto j) { VT::store(tile + i * NR + j * W, acc[i][j]); }); });
  const int rows = std::min(mr, RM), cols = std::min(nr, NR);
  for (int i = 0; i < rows; ++i) {
    T* row = c + i * rs_c;
    if (accumulate) {
      for (int j = 0; j < cols; ++j) row[j * cs_c] += tile[i * NR + j];
    } else {
      for (int j = 0; j < cols; ++j) row[j * cs_c] = tile[i * NR + j];
    }
  }
}

template <class T>
using MicroKernelFn = void (*)(int64_t, const T*, const T*, T*, int64_t, int64_t, int, int, bool, const T*);

// kMicroKernels<T>[r]: the micro-kernel computing r rows, r in [1, MR].
template <class T, int... R>
constexpr std::array<MicroKernelFn<T>, sizeof...(R) + 1> make_micro_kernels(std::integer_sequence<int, R...>) {
  return {nullptr, &micro_kernel<T, R + 1>...};
}
template <class T>
constexpr auto kMicroKernels = make_micro_kernels<T>(std::make_integer_sequence<int, Shape<T>::MR>{});

// ---- in-register transposes used by packing ----------------------------------------------------------
// Trans<T>::block reads TB source vectors src[j * ld + k] (j, k < TB), converts them to T and writes
// dst[k * ldd + j]. TB == 1 means "no vector transpose on this ISA".
template <class T>
struct Trans {
  static constexpr int TB = 1;
  static constexpr bool kPartial = false;
  template <class S>
  static EMBER_FORCE_INLINE void block(const S* src, int64_t, T* dst, int64_t) {
    dst[0] = to_compute<T>(src[0]);
  }
};

#if defined(EMBER_GEMM_AVX512) || defined(EMBER_GEMM_AVX2)
EMBER_FORCE_INLINE __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
EMBER_FORCE_INLINE __m256 load8(const f16* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
EMBER_FORCE_INLINE __m256 load8(const bf16* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
template <>
struct Trans<float> {
  static constexpr int TB = 8;
  static constexpr bool kPartial = true;  // has block_rows
  template <class S>
  static EMBER_FORCE_INLINE void block(const S* src, int64_t ld, float* dst, int64_t ldd) {
    const __m256 r0 = load8(src), r1 = load8(src + ld), r2 = load8(src + 2 * ld), r3 = load8(src + 3 * ld);
    const __m256 r4 = load8(src + 4 * ld), r5 = load8(src + 5 * ld), r6 = load8(src + 6 * ld),
                 r7 = load8(src + 7 * ld);
    transpose_store(r0, r1, r2, r3, r4, r5, r6, r7, dst, ldd, 8);
  }
  // Only `rows` (1..8) source vectors: the missing ones repeat the last, and only `rows` values of
  // each output vector are stored (dst[k * ldd + j] for j < rows).
  template <class S>
  static EMBER_FORCE_INLINE void block_rows(const S* src, int64_t ld, int rows, float* dst, int64_t ldd) {
    auto row = [&](int i) { return load8(src + (i < rows ? i : rows - 1) * ld); };
    transpose_store(row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7), dst, ldd, rows);
  }
  // Stores the first n (1..8) lanes of v. (Not vmaskmovps: it is microcoded and slow on AMD.)
  static EMBER_FORCE_INLINE void store_n(float* dst, __m256 v, int n) {
    __m128 part = _mm256_castps256_ps128(v);
    if (n >= 4) {
      _mm_storeu_ps(dst, part);
      part = _mm256_extractf128_ps(v, 1);
      dst += 4;
      n -= 4;
      if (n == 4) {
        _mm_storeu_ps(dst, part);
        return;
      }
    }
    if (n >= 2) {
      _mm_storel_pi(reinterpret_cast<__m64*>(dst), part);
      part = _mm_movehl_ps(part, part);
      dst += 2;
      n -= 2;
    }
    if (n) _mm_store_ss(dst, part);
  }
  static EMBER_FORCE_INLINE void transpose_store(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 r4, __m256 r5,
                                                 __m256 r6, __m256 r7, float* dst, int64_t ldd, int lanes) {
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    auto put = [&](int k, __m256 v) {
      if (lanes == 8) {
        _mm256_storeu_ps(dst + k * ldd, v);
      } else {
        store_n(dst + k * ldd, v, lanes);
      }
    };
    put(0, _mm256_permute2f128_ps(s0, s4, 0x20));
    put(1, _mm256_permute2f128_ps(s1, s5, 0x20));
    put(2, _mm256_permute2f128_ps(s2, s6, 0x20));
    put(3, _mm256_permute2f128_ps(s3, s7, 0x20));
    put(4, _mm256_permute2f128_ps(s0, s4, 0x31));
    put(5, _mm256_permute2f128_ps(s1, s5, 0x31));
    put(6, _mm256_permute2f128_ps(s2, s6, 0x31));
    put(7, _mm256_permute2f128_ps(s3, s7, 0x31));
  }
};
template <>
struct Trans<double> {
  static constexpr int TB = 4;
  static constexpr bool kPartial = false;
  static EMBER_FORCE_INLINE void block(const double* src, int64_t ld, double* dst, int64_t ldd) {
    const __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + ld);
    const __m256d r2 = _mm256_loadu_pd(src + 2 * ld), r3 = _mm256_loadu_pd(src + 3 * ld);
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(dst + 0 * ldd, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(dst + 1 * ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(dst + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(dst + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
  }
};
#elif defined(EMBER_GEMM_SSE2) || defined(EMBER_GEMM_NEON)
template <>
struct Trans<float> {
  static constexpr int TB = 4;
  static constexpr bool kPartial = false;
  template <class S>
  static EMBER_FORCE_INLINE void block(const S* src, int64_t ld, float* dst, int64_t ldd) {
    using VT = Vec<float>;
    auto r0 = VT::load(src), r1 = VT::load(src + ld), r2 = VT::load(src + 2 * ld), r3 = VT::load(src + 3 * ld);
#if defined(EMBER_GEMM_SSE2)
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(dst + 0 * ldd, r0);
    _mm_storeu_ps(dst + 1 * ldd, r1);
    _mm_storeu_ps(dst + 2 * ldd, r2);
    _mm_storeu_ps(dst + 3 * ldd, r3);
#else
    const float32x4x2_t t01 = vtrnq_f32(r0, r1), t23 = vtrnq_f32(r2, r3);
    vst1q_f32(dst + 0 * ldd, vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0])));
    vst1q_f32(dst + 1 * ldd, vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1])));
    vst1q_f32(dst + 2 * ldd, vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0])));
    vst1q_f32(dst + 3 * ldd, vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1])));
#endif
  }
};
template <>
struct Trans<double> {
  static constexpr int TB = 2;
  static constexpr bool kPartial = false;
  static EMBER_FORCE_INLINE void block(const double* src, int64_t ld, double* dst, int64_t ldd) {
#if defined(EMBER_GEMM_SSE2)
    const __m128d r0 = _mm_loadu_pd(src), r1 = _mm_loadu_pd(src + ld);
    _mm_storeu_pd(dst, _mm_unpacklo_pd(r0, r1));
    _mm_storeu_pd(dst + ldd, _mm_unpackhi_pd(r0, r1));
#else
    const float64x2_t r0 = vld1q_f64(src), r1 = vld1q_f64(src + ld);
    vst1q_f64(dst, vzip1q_f64(r0, r1));
    vst1q_f64(dst + ldd, vzip2q_f64(r0, r1));
#endif
  }
};
#endif

// Writes dst[k * ldd + j] = src[j * ld + k * inc] for j < cols (<= P), k < kc; zero for j in [cols, P).
// `src` columns are j * ld apart, consecutive k are inc apart (inc == 1 uses the vector transposes).
template <class T, int P, class S>
EMBER_FORCE_INLINE void pack_panel(const S* src, int64_t ld, int64_t inc, int64_t kc, int cols, T* dst) {
  constexpr int TB = Trans<T>::TB;
  if (cols == P) {
    if (ld == 1) {  // the P values of one k are contiguous: straight (converting) copies
      for (int64_t k = 0; k < kc; ++k) {
        const S* s = src + k * inc;
        T* d = dst + k * P;
        if constexpr (P % Vec<T>::W == 0 && !std::is_same_v<S, T>) {
          for (int j = 0; j < P; j += Vec<T>::W) Vec<T>::store(d + j, Vec<T>::load(s + j));
        } else {
          for (int j = 0; j < P; ++j) d[j] = to_compute<T>(s[j]);
        }
      }
      return;
    }
    if (inc == 1) {  // each column is contiguous along k: transpose TB x TB blocks
      int64_t k = 0;
      if constexpr (TB > 1 && P % TB == 0) {
        for (; k + TB <= kc; k += TB) {
          for (int j = 0; j < P; j += TB) Trans<T>::block(src + j * ld + k, ld, dst + k * P + j, P);
        }
      } else if constexpr (Trans<T>::kPartial) {
        for (; k + TB <= kc; k += TB) {
          for (int j = 0; j < P; j += TB) {
            if (j + TB <= P) {
              Trans<T>::block(src + j * ld + k, ld, dst + k * P + j, P);
            } else {
              Trans<T>::block_rows(src + j * ld + k, ld, P - j, dst + k * P + j, P);
            }
          }
        }
      }
      for (; k < kc; ++k) {
        for (int j = 0; j < P; ++j) dst[k * P + j] = to_compute<T>(src[j * ld + k]);
      }
      return;
    }
    for (int64_t k = 0; k < kc; ++k) {
      for (int j = 0; j < P; ++j) dst[k * P + j] = to_compute<T>(src[j * ld + k * inc]);
    }
    return;
  }
  for (int64_t k = 0; k < kc; ++k) {
    T* d = dst + k * P;
    for (int j = 0; j < cols; ++j) d[j] = to_compute<T>(src[j * ld + k * inc]);
    for (int j = cols; j < P; ++j) d[j] = T(0);
  }
}

// How the rows of an MC block are cut into panels: `full` panels of MR rows, then up to two panels
// of tail1 and tail2 rows. A short last panel has too few accumulators to hide the FMA latency
// (2 rows x 2 vectors = 4 chains: half speed on AVX2), so when the remainder would give fewer than
// 8 chains, the last full panel and the remainder are split into two panels of about equal height.
struct RowPanels {
  int64_t full;
  int tail1, tail2;
  int64_t count() const { return full + (tail1 > 0) + (tail2 > 0); }
  int rows(int64_t p, int mr) const { return p < full ? mr : (p == full ? tail1 : tail2); }
};
template <class T>
RowPanels row_panels(int64_t mc) {
  constexpr int MR = kMR<T>, NV = Shape<T>::NV;
  const int64_t full = mc / MR;
  const int rem = static_cast<int>(mc % MR);
  if (rem == 0) return {full, 0, 0};
  if (full > 0 && rem * NV < 8) {
    const int t = MR + rem;
    return {full - 1, (t + 1) / 2, t / 2};
  }
  return {full, rem, 0};
}

// Packs the mc x kc block of A (element (i, k) at a[i * rs + k * cs]) into the panels of
// row_panels(mc), each MR x kc, k-major, zero-padded rows.
template <class T, class S>
void pack_a(const S* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, T* dst) {
  constexpr int MR = kMR<T>;
  const RowPanels plan = row_panels<T>(mc);
  for (int64_t p = 0, n = plan.count(); p < n; ++p) {
    const int rows = plan.rows(p, MR);
    pack_panel<T, MR>(a, rs, cs, kc, rows, dst);
    a += rows * rs;
    dst += MR * kc;
  }
}

// Packs the kc x nc block of B (element (k, j) at b[k * rs + j * cs]) into ceil(nc / NR) panels of
// kc x NR, k-major, zero-padded columns.
template <class T, class S>
void pack_b(const S* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, T* dst) {
  constexpr int NR = kNR<T>;
  const int64_t full = nc - nc % NR;
  if (cs == 1 && full > 0) {
    // Rows of B are contiguous: read 8 rows at a time front to back (8 sequential streams, which
    // the hardware prefetcher follows; one panel at a time would hop rows and pages) and scatter
    // their NR-wide pieces to the panels.
    constexpr int64_t KB = 8;
    for (int64_t k0 = 0; k0 < kc; k0 += KB) {
      const int64_t kb = std::min(KB, kc - k0);
      T* d = dst + k0 * NR;
      for (int64_t j = 0; j < full; j += NR, d += NR * kc) {
        for (int64_t k = 0; k < kb; ++k) {
          const S* src = b + (k0 + k) * rs + j;
          if constexpr (NR % Vec<T>::W == 0 && !std::is_same_v<S, T>) {
            for (int q = 0; q < NR; q += Vec<T>::W) Vec<T>::store(d + k * NR + q, Vec<T>::load(src + q));
          } else {
            for (int q = 0; q < NR; ++q) d[k * NR + q] = to_compute<T>(src[q]);
          }
        }
      }
    }
    if (full < nc) pack_panel<T, NR>(b + full, 1, rs, kc, static_cast<int>(nc - full), dst + full * kc);
    return;
  }
  for (int64_t j = 0; j < nc; j += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j));
    pack_panel<T, NR>(b + j * cs, cs, rs, kc, cols, dst);
    dst += NR * kc;
  }
}

// ---- dot-product kernel: both operands contiguous along K ----------------------------------------------
// out[i][j] = sum_k x[i * ldx + k] * w[j * ldw + k] for i < RM, j < RN. x is in the compute type,
// w in its storage type (converted on load).
template <class T>
struct DotShape;
#if defined(EMBER_GEMM_AVX512) || defined(EMBER_GEMM_NEON)
template <> struct DotShape<float> { static constexpr int RM = 4, RN = 4; };
template <> struct DotShape<double> { static constexpr int RM = 4, RN = 4; };
#elif defined(EMBER_GEMM_AVX2)
template <> struct DotShape<float> { static constexpr int RM = 4, RN = 3; };
template <> struct DotShape<double> { static constexpr int RM = 4, RN = 3; };
#else
template <> struct DotShape<float> { static constexpr int RM = 2, RN = 4; };
template <> struct DotShape<double> { static constexpr int RM = 2, RN = 4; };
#endif

template <int RM, int RN, class T, class S>
EMBER_FORCE_INLINE void dot_block(const T* EMBER_GEMM_RESTRICT x, int64_t ldx, const S* EMBER_GEMM_RESTRICT w,
                                  int64_t ldw, int64_t K, T (&out)[RM][RN]) {
  using VT = Vec<T>;
  using V = typename VT::V;
  constexpr int W = VT::W;
  // A single row needs more than RN independent accumulation chains to hide the FMA latency.
  constexpr int U = (RM == 1) ? 2 : 1;
  V acc[U][RM][RN];
  static_for<U>([&](auto u) {
    static_for<RM>([&](auto i) { static_for<RN>([&](auto j) { acc[u][i][j] = VT::zero(); }); });
  });
  int64_t k = 0;
  if constexpr (W > 1) {
    for (; k + U * W <= K; k += U * W) {
      static_for<U>([&](auto u) {
        V wv[RN];
        static_for<RN>([&](auto j) { wv[j] = VT::load(w + j * ldw + k + u * W); });
        static_for<RM>([&](auto i) {
          const V xv = VT::load(x + i * ldx + k + u * W);
          static_for<RN>([&](auto j) { acc[u][i][j] = VT::fma(xv, wv[j], acc[u][i][j]); });
        });
      });
    }
  }
  T tail[RM][RN];
  static_for<RM>([&](auto i) {
    static_for<RN>([&](auto j) {
      V s = acc[0][i][j];
      static_for<U - 1>([&](auto u) { s = VT::add(s, acc[u + 1][i][j]); });
      tail[i][j] = VT::sum(s);
    });
  });
  for (; k < K; ++k) {
    static_for<RM>([&](auto i) {
      const T xv = x[i * ldx + k];
      static_for<RN>([&](auto j) { tail[i][j] += xv * to_compute<T>(w[j * ldw + k]); });
    });
  }
  static_for<RM>([&](auto i) { static_for<RN>([&](auto j) { out[i][j] = tail[i][j]; }); });
}

// ---- row-accumulate kernel: Y[m, 0:n] = sum_k X[m, k] * B[k, 0:n], B contiguous along n --------------
// For GEMV (M == 1, x @ W) and a few rows. Each pass takes R rows of B and updates the rows of Y
// (which stay in L1/L2) RB at a time: a vector of each of the R rows of B is loaded once and used
// for the RB rows of Y, so Y is loaded and stored once per R rows of B. B comes from memory for
// the first pass over it and from cache for the other rows of X.
template <int RB, int R, class T, class S>
EMBER_FORCE_INLINE void rows_step(const T* x, int64_t ldx, const S* const (&rows)[R], int64_t nv, T* y,
                                  int64_t ldy) {
  using VT = Vec<T>;
  using V = typename VT::V;
  constexpr int W = VT::W;
  V xv[RB][R];
  static_for<RB>([&](auto m) { static_for<R>([&](auto r) { xv[m][r] = VT::set1(x[m * ldx + r]); }); });
  for (int64_t j = 0; j < nv; j += W) {
    V bv[R];
    static_for<R>([&](auto r) { bv[r] = VT::load(rows[r] + j); });
    static_for<RB>([&](auto m) {
      V v = VT::load(y + m * ldy + j);
      static_for<R>([&](auto r) { v = VT::fma(xv[m][r], bv[r], v); });
      VT::store(y + m * ldy + j, v);
    });
  }
}

template <class T, class S>
void rows_kernel(int64_t M, int64_t K, const T* EMBER_GEMM_RESTRICT x, int64_t ldx, const S* b, int64_t rs,
                 int64_t n, T* EMBER_GEMM_RESTRICT y, int64_t ldy) {
  constexpr int W = Vec<T>::W;
  // One row: 8 rows of B per pass (more streams from memory in flight). Pairs of rows: 4 rows of B
  // (2 x 4 broadcasts + 4 vectors of B + 2 of Y fit in 16 registers).
  constexpr int R = 8, R2 = 4;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t j = 0; j < n; ++j) y[m * ldy + j] = T(0);
  const int64_t nv = n - n % W;
  auto scalar_tail = [&](int64_t k, int rcount, int64_t m) {
    for (int64_t j = nv; j < n; ++j) {
      T v = y[m * ldy + j];
      for (int r = 0; r < rcount; ++r) v += x[m * ldx + k + r] * to_compute<T>(b[(k + r) * rs + j]);
      y[m * ldy + j] = v;
    }
  };
  int64_t k = 0;
  if (M == 1) {
    for (; k + R <= K; k += R) {
      const S* rows[R];
      static_for<R>([&](auto r) { rows[r] = b + (k + r) * rs; });
      rows_step<1, R>(x + k, ldx, rows, nv, y, ldy);
      scalar_tail(k, R, 0);
    }
  } else {
    for (; k + R2 <= K; k += R2) {
      const S* rows[R2];
      static_for<R2>([&](auto r) { rows[r] = b + (k + r) * rs; });
      int64_t m = 0;
      for (; m + 2 <= M; m += 2) rows_step<2, R2>(x + m * ldx + k, ldx, rows, nv, y + m * ldy, ldy);
      if (m < M) rows_step<1, R2>(x + m * ldx + k, ldx, rows, nv, y + m * ldy, ldy);
      for (m = 0; m < M; ++m) scalar_tail(k, R2, m);
    }
  }
  for (; k < K; ++k) {
    const S* rows[1] = {b + k * rs};
    for (int64_t m = 0; m < M; ++m) {
      rows_step<1, 1>(x + m * ldx + k, ldx, rows, nv, y + m * ldy, ldy);
      scalar_tail(k, 1, m);
    }
  }
}

}  // namespace gemm
}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
