// Dense matrix multiply on the CPU: C[b] = A[b] @ B[b] for f32, f64, f16 and bf16 (the 16-bit types
// are converted to f32 while packing, accumulate in f32 and are rounded once when C is written).
// Any element strides: 0 broadcasts, negative walks backwards.
//
// Paths, chosen per matrix (N == 1 is transposed into M == 1, a column-major C into a row-major C^T):
//   - M <= 4 with B contiguous along N (x @ W): rows of B accumulate into the rows of C, vectorized
//     along N; nothing is packed (GEMV and batched decode).
//   - M <= 32 with B contiguous along K (x @ W.T, the nn.Linear layout): dot products of a few rows
//     of A with a few columns of B at once, vectorized along K; only A (small) is copied.
//   - otherwise the BLIS method: KC x NC blocks of B packed into NR-column panels, MC x KC blocks
//     of A into MR-row panels, a register-blocked MR x NR micro-kernel (gemm_kernels.h).
// Threads split the output (by columns or rows, each with its own packing buffers), or K for the
// row-accumulate path (whole rows of B per thread stream faster; partial sums are added), or the
// batch when there are enough small matrices.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>  // madvise: declarations only, nothing compiled per ISA
#endif

#include "cpu/gemm/gemm_kernels.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {
namespace gemm {
namespace {


// ---- per-thread scratch: 64-byte aligned, grown on demand, kept for the next call ----------------
struct Buffer {
  // Buffers of 1 MiB and more are aligned to 2 MiB and, on Linux, offered transparent huge pages:
  // a packed block of B spans thousands of 4 KiB pages, more than the L2 TLB holds.
  static constexpr size_t kHuge = size_t(2) << 20;
  void* ptr = nullptr;
  size_t capacity = 0;
  size_t alignment = 64;
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }
  void release() {
    if (ptr) ::operator delete(ptr, std::align_val_t(alignment));
    ptr = nullptr;
    capacity = 0;
  }
  template <class T>
  T* get(int64_t count) {
    size_t bytes = (static_cast<size_t>(count) * sizeof(T) + 127) & ~size_t(63);
    if (bytes > capacity) {
      release();
      const bool huge = bytes >= (kHuge >> 1);
      if (huge) bytes = (bytes + kHuge - 1) & ~(kHuge - 1);
      alignment = huge ? kHuge : 64;
      ptr = ::operator new(bytes, std::align_val_t(alignment));
      capacity = bytes;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (huge) madvise(ptr, bytes, MADV_HUGEPAGE);
#endif
    }
    return static_cast<T*>(ptr);
  }
};

struct ThreadBuffers {
  Buffer a, b, c;  // packed A, packed B, f32 C scratch / y
  Buffer shared;   // data the calling thread prepares for all workers (packed x / A rows)
  Buffer partial;  // the calling thread's: per-thread partial sums of a split-K product
};

ThreadBuffers& buffers() {
  static thread_local ThreadBuffers tls;
  return tls;
}

// One matrix product with element strides; S is the storage type of all three operands.
template <class S>
struct Mat {
  int64_t M, N, K;
  const S* a;
  int64_t rs_a, cs_a;
  const S* b;
  int64_t rs_b, cs_b;
  S* c;
  int64_t rs_c, cs_c;
};

// C^T = B^T A^T: swaps the roles of rows and columns.
template <class S>
Mat<S> transposed(const Mat<S>& p) {
  return Mat<S>{p.N, p.M, p.K, p.b, p.cs_b, p.rs_b, p.a, p.cs_a, p.rs_a, p.c, p.cs_c, p.rs_c};
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
int64_t iabs(int64_t x) { return x < 0 ? -x : x; }

// Splits [0, n) into `parts` ranges aligned to `align` (except the end); returns the start of `part`.
int64_t split_point(int64_t n, int parts, int part, int64_t align) {
  if (part >= parts) return n;
  const int64_t units = (n + align - 1) / align;
  return std::min(n, units * part / parts * align);
}

// Threads worth using for `work` multiply-adds (each thread should get enough to pay for waking it).
int threads_for(double work, double min_per_thread, int max_threads) {
  const double t = work / min_per_thread;
  if (t < 2) return 1;
  return static_cast<int>(std::min<double>(max_threads, t));
}

// ---- blocked GEMM (packing + micro-kernel) ----------------------------------------------------------

// C (compute type T, strides rs_c / cs_c) = A @ B over the whole K for an M x N block.
template <class T, class S>
void gemm_blocked(int64_t M, int64_t N, int64_t K, const S* a, int64_t rs_a, int64_t cs_a, const S* b,
                  int64_t rs_b, int64_t cs_b, T* c, int64_t rs_c, int64_t cs_c, ThreadBuffers& buf) {
  constexpr int MR = kMR<T>, NR = kNR<T>;
  const bool large = M >= kLargeM;
  const int64_t KC = large ? Shape<T>::KCL : Shape<T>::KC, MC = large ? Shape<T>::MCL : Shape<T>::MC;
  constexpr int64_t NC = Shape<T>::NC;
  const int64_t kc_max = std::min(K, KC);
  const int64_t nc_max = std::min(round_up(N, NR), NC);
  const int64_t mc_max = std::min(round_up(M, MR), MC);
  T* bp = buf.b.get<T>(kc_max * nc_max);
  T* ap = buf.a.get<T>(kc_max * mc_max);
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      pack_b<T>(b + pc * rs_b + jc * cs_b, rs_b, cs_b, kc, nc, bp);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        pack_a<T>(a + ic * rs_a + pc * cs_a, rs_a, cs_a, mc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          const T* bpanel = bp + jr * kc;
          const T* bnext = jr + NR < nc ? bpanel + NR * kc : nullptr;
          T* cj = c + ic * rs_c + (jc + jr) * cs_c;
          const RowPanels plan = row_panels<T>(mc);
          T* ci = cj;
          for (int64_t p = 0, np = plan.count(); p < np; ++p) {
            const int mr = plan.rows(p, MR);
            kMicroKernels<T>[mr](kc, ap + p * MR * kc, bpanel, ci, rs_c, cs_c, mr, nr, pc > 0,
                                 p == 0 ? bnext : nullptr);
            ci += mr * rs_c;
          }
        }
      }
    }
  }
}

// Rows [m0, m1) x columns [n0, n1) of C. 16-bit C goes through an f32 scratch so that it is
// rounded once, after the whole K has been summed.
template <class T, class S>
void gemm_region(const Mat<S>& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  ThreadBuffers& buf = buffers();
  if constexpr (std::is_same_v<T, S>) {
    gemm_blocked<T, S>(m1 - m0, n1 - n0, p.K, p.a + m0 * p.rs_a, p.rs_a, p.cs_a, p.b + n0 * p.cs_b, p.rs_b, p.cs_b,
                       p.c + m0 * p.rs_c + n0 * p.cs_c, p.rs_c, p.cs_c, buf);
  } else {
    constexpr int64_t kChunkCols = Shape<T>::NC;
    constexpr int64_t kChunkRows = 384;  // >= kLargeM: the chunks get the large-M blocking
    for (int64_t j = n0; j < n1; j += kChunkCols) {
      const int64_t nc = std::min(kChunkCols, n1 - j);
      for (int64_t i = m0; i < m1; i += kChunkRows) {
        const int64_t mc = std::min(kChunkRows, m1 - i);
        T* scratch = buf.c.get<T>(mc * nc);
        gemm_blocked<T, S>(mc, nc, p.K, p.a + i * p.rs_a, p.rs_a, p.cs_a, p.b + j * p.cs_b, p.rs_b, p.cs_b,
                           scratch, nc, 1, buf);
        for (int64_t r = 0; r < mc; ++r) {
          S* crow = p.c + (i + r) * p.rs_c + j * p.cs_c;
          const T* srow = scratch + r * nc;
          if (p.cs_c == 1) {
            convert_row(crow, srow, nc);
          } else {
            for (int64_t q = 0; q < nc; ++q) crow[q * p.cs_c] = from_compute<S>(srow[q]);
          }
        }
      }
    }
  }
}

template <class T, class S>
void gemm_packed(const Mat<S>& p, int nthreads) {
  constexpr int MR = kMR<T>, NR = kNR<T>;
  const double work = double(p.M) * double(p.N) * double(p.K);
  nthreads = threads_for(work, 64.0 * 64 * 64, nthreads);
  // Thread grid tm x tn: packing cost ~ tn * M * K (each column group packs all of its rows of A)
  // + tm * N * K (each row group packs its B); keep parts at least one register tile wide.
  int tm = 1, tn = nthreads;
  double best = -1;
  for (int cand_m = 1; cand_m <= nthreads; ++cand_m) {
    if (nthreads % cand_m) continue;
    const int cand_n = nthreads / cand_m;
    if (cand_m > 1 && p.M < int64_t(cand_m) * MR) continue;
    if (cand_n > 1 && p.N < int64_t(cand_n) * NR) continue;
    const double cost = double(cand_n) * double(p.M) + double(cand_m) * double(p.N);
    if (best < 0 || cost < best) {
      best = cost;
      tm = cand_m;
      tn = cand_n;
    }
  }
  if (best < 0) tm = tn = 1;
  const int parts = tm * tn;
  if (parts == 1) {
    gemm_region<T, S>(p, 0, p.M, 0, p.N);
    return;
  }
  parallel_for(parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int im = static_cast<int>(t) / tn, in = static_cast<int>(t) % tn;
      const int64_t m0 = split_point(p.M, tm, im, MR), m1 = split_point(p.M, tm, im + 1, MR);
      const int64_t n0 = split_point(p.N, tn, in, NR), n1 = split_point(p.N, tn, in + 1, NR);
      if (m0 < m1 && n0 < n1) gemm_region<T, S>(p, m0, m1, n0, n1);
    }
  });
}

// ---- GEMV and small-M paths ----------------------------------------------------------------------------

// Rows of A (m x K) converted to T, contiguous: returns a pointer usable with ld = K.
template <class T, class S>
const T* contiguous_rows(const Mat<S>& p, int64_t m, Buffer& buf) {
  if constexpr (std::is_same_v<T, S>) {
    if (p.cs_a == 1 && (m == 1 || p.rs_a == p.K)) return p.a;
  }
  T* x = buf.get<T>(m * p.K);
  for (int64_t i = 0; i < m; ++i) {
    const S* row = p.a + i * p.rs_a;
    T* d = x + i * p.K;
    if (p.cs_a == 1) {
      for (int64_t k = 0; k < p.K; ++k) d[k] = to_compute<T>(row[k]);
    } else {
      for (int64_t k = 0; k < p.K; ++k) d[k] = to_compute<T>(row[k * p.cs_a]);
    }
  }
  return x;
}

// C[0:M, n0:n1] from rows x (M x K, ld K) and B contiguous along K (column j at b + j * cs_b).
template <class T, class S, int RM, int RN>
void dot_columns(const Mat<S>& p, const T* x, int64_t n0, int64_t n1) {
  int64_t n = n0;
  auto run = [&](auto rn_tag) {
    constexpr int rn = decltype(rn_tag)::value;
    const S* w = p.b + n * p.cs_b;
    int64_t m = 0;
    auto rows = [&](auto rm_tag) {
      constexpr int rm = decltype(rm_tag)::value;
      T out[rm][rn];
      dot_block<rm, rn>(x + m * p.K, p.K, w, p.cs_b, p.K, out);
      for (int i = 0; i < rm; ++i) {
        for (int j = 0; j < rn; ++j) p.c[(m + i) * p.rs_c + (n + j) * p.cs_c] = from_compute<S>(out[i][j]);
      }
      m += rm;
    };
    while (p.M - m >= RM) rows(std::integral_constant<int, RM>{});
    if constexpr (RM > 1) {
      // Remaining rows one at a time keeps the instantiation count down; they are few.
      while (m < p.M) rows(std::integral_constant<int, 1>{});
    }
    n += rn;
  };
  while (n1 - n >= RN) run(std::integral_constant<int, RN>{});
  while (n < n1) run(std::integral_constant<int, 1>{});
}

// M rows (small) times B stored contiguously along K.
template <class T, class S>
void gemm_dot(const Mat<S>& p, int nthreads) {
  const T* x = contiguous_rows<T>(p, p.M, buffers().shared);
  const double bytes = double(p.N) * double(p.K) * sizeof(S);
  nthreads = threads_for(bytes * double(p.M), 256.0 * 1024, nthreads);
  auto body = [&](int64_t n0, int64_t n1) {
    if (p.M == 1) {
      dot_columns<T, S, 1, 8>(p, x, n0, n1);
    } else {
      dot_columns<T, S, DotShape<T>::RM, DotShape<T>::RN>(p, x, n0, n1);
    }
  };
  if (nthreads <= 1) {
    body(0, p.N);
    return;
  }
  parallel_for(nthreads, 1, [&](int64_t begin, int64_t end) {
    body(split_point(p.N, nthreads, static_cast<int>(begin), 16), split_point(p.N, nthreads, static_cast<int>(end), 16));
  });
}

// Few rows of A with B contiguous along N (x @ W): Y = X @ B accumulated row by row of B, no packing.
template <class T, class S>
void gemm_rows(const Mat<S>& p, int nthreads) {
  const T* x = contiguous_rows<T>(p, p.M, buffers().shared);
  // Columns per pass: Y's block (16 KiB per row for f32) stays in cache while all of K streams by.
  constexpr int64_t kBlock = 4096;
  const double bytes = double(p.N) * double(p.K) * sizeof(S);
  nthreads = threads_for(bytes * double(p.M), 256.0 * 1024, nthreads);
  auto body = [&](int64_t n0, int64_t n1) {
    const bool direct = std::is_same_v<T, S> && p.cs_c == 1;
    const int64_t block = std::min(kBlock, n1 - n0);
    T* y = direct ? nullptr : buffers().c.template get<T>(p.M * block);
    for (int64_t j = n0; j < n1; j += kBlock) {
      const int64_t n = std::min(kBlock, n1 - j);
      if constexpr (std::is_same_v<T, S>) {
        if (direct) {
          rows_kernel<T, S>(p.M, p.K, x, p.K, p.b + j * p.cs_b, p.rs_b, n, p.c + j, p.rs_c);
          continue;
        }
      }
      rows_kernel<T, S>(p.M, p.K, x, p.K, p.b + j * p.cs_b, p.rs_b, n, y, block);
      for (int64_t m = 0; m < p.M; ++m) {
        if (p.cs_c == 1) {
          convert_row(p.c + m * p.rs_c + j, y + m * block, n);
        } else {
          for (int64_t q = 0; q < n; ++q) p.c[m * p.rs_c + (j + q) * p.cs_c] = from_compute<S>(y[m * block + q]);
        }
      }
    }
  };
  if (nthreads <= 1) {
    body(0, p.N);
    return;
  }
  if (p.K >= 64 * nthreads) {
    // Threads split K, not N: each reads whole rows of B, so its streams from memory are long and
    // contiguous (a thread reading half of every row gets markedly less bandwidth). The partial
    // sums (M x N per thread) are added at the end.
    const int64_t mn = p.M * p.N;
    T* part = buffers().partial.template get<T>(int64_t(nthreads) * mn);
    parallel_for(nthreads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t k0 = split_point(p.K, nthreads, static_cast<int>(t), 8);
        const int64_t k1 = split_point(p.K, nthreads, static_cast<int>(t) + 1, 8);
        T* y = part + t * mn;
        for (int64_t j = 0; j < p.N; j += kBlock) {
          const int64_t n = std::min(kBlock, p.N - j);
          rows_kernel<T, S>(p.M, k1 - k0, x + k0, p.K, p.b + k0 * p.rs_b + j * p.cs_b, p.rs_b, n, y + j, p.N);
        }
      }
    });
    for (int t = 1; t < nthreads; ++t) {
      const T* src = part + t * mn;
      for (int64_t i = 0; i < mn; ++i) part[i] += src[i];
    }
    for (int64_t m = 0; m < p.M; ++m) {
      if (p.cs_c == 1) {
        convert_row(p.c + m * p.rs_c, part + m * p.N, p.N);
      } else {
        for (int64_t q = 0; q < p.N; ++q) p.c[m * p.rs_c + q * p.cs_c] = from_compute<S>(part[m * p.N + q]);
      }
    }
    return;
  }
  parallel_for(nthreads, 1, [&](int64_t begin, int64_t end) {
    body(split_point(p.N, nthreads, static_cast<int>(begin), 16), split_point(p.N, nthreads, static_cast<int>(end), 16));
  });
}

// Largest M for which the row-accumulate path beats packing B (B contiguous along N), and for
// which the dot-product path does (B contiguous along K); measured on Zen 3.
constexpr int64_t kRowsMaxM = 4;
constexpr int64_t kDotMaxM = 32;

template <class T, class S>
void gemm_one(Mat<S> p, int nthreads) {
  if (p.M == 0 || p.N == 0) return;
  if (p.K == 0) {
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) p.c[i * p.rs_c + j * p.cs_c] = from_compute<S>(T(0));
    return;
  }
  // Normalize: a single column becomes a single row; a column-major C becomes a row-major C^T.
  if ((p.N == 1 && p.M > 1) || (p.M > 1 && p.N > 1 && iabs(p.cs_c) != 1 && iabs(p.rs_c) == 1)) p = transposed(p);
  if (p.cs_b == 1 && p.M <= kRowsMaxM && p.N > 1) {
    gemm_rows<T, S>(p, nthreads);
    return;
  }
  if (p.rs_b == 1 && p.M <= kDotMaxM && p.K > 1) {
    gemm_dot<T, S>(p, nthreads);
    return;
  }
  gemm_packed<T, S>(p, nthreads);
}

template <class S>
void gemm_typed(const GemmArgs& args) {
  using T = std::conditional_t<std::is_same_v<S, double>, double, float>;
  const S* a = static_cast<const S*>(args.a);
  const S* b = static_cast<const S*>(args.b);
  S* c = static_cast<S*>(args.c);
  auto mat = [&](int64_t i) {
    return Mat<S>{args.M, args.N, args.K,
                  a + i * args.a_batch_stride, args.a_row_stride, args.a_col_stride,
                  b + i * args.b_batch_stride, args.b_row_stride, args.b_col_stride,
                  c + i * args.c_batch_stride, args.c_row_stride, args.c_col_stride};
  };
  const int nthreads = num_threads();
  const double work = double(args.M) * double(args.N) * double(std::max<int64_t>(args.K, 1));
  // Parallel over the batch when there are enough matrices to keep every thread busy and each is
  // small enough that splitting it would cost more than it gains.
  const bool batch_parallel = nthreads > 1 && args.batch > 1 && !in_parallel_region() &&
                              (args.batch >= 4 * int64_t(nthreads) || args.batch % nthreads == 0 ||
                               work < 256.0 * 256 * 256);
  if (batch_parallel) {
    parallel_for(args.batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) gemm_one<T, S>(mat(i), 1);
    });
    return;
  }
  for (int64_t i = 0; i < args.batch; ++i) gemm_one<T, S>(mat(i), nthreads);
}

void gemm_kernel(const GemmArgs& args) {
  const DType dt = args.dtype;
  if (dt != DType::F32 && dt != DType::F64 && dt != DType::F16 && dt != DType::BF16) {
    kernel_error(kKernelTypeError, "matmul: dtype not supported (needs float32, float64, float16 or bfloat16)");
  }
  if (args.batch <= 0 || args.M <= 0 || args.N <= 0) return;
  switch (dt) {
    case DType::F32: gemm_typed<float>(args); break;
    case DType::F64: gemm_typed<double>(args); break;
    case DType::F16: gemm_typed<f16>(args); break;
    case DType::BF16: gemm_typed<bf16>(args); break;
    default: break;
  }
}

}  // namespace
}  // namespace gemm

void register_gemm_kernels(KernelTable& table) { table.gemm = &gemm::gemm_kernel; }

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
