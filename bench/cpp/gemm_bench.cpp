// Times the CPU matrix multiply (the active ISA's kernels().gemm) on the shapes of bench/matmul.py.
//
//   ember_gemm_bench                      f32 shapes at 1 and 2 threads, then f16 / bf16 / f64 at 1024
//   ember_gemm_bench M K N [dtype] [layout] [threads]   one shape; layout "nn" (B is K x N row-major,
//                                         x @ W) or "nt" (B is W.T with W row-major N x K, nn.Linear)
//   EMBER_CPU_ISA=baseline|avx2|avx512    pick the SIMD level
// Prints the median GFLOP/s of 7 samples, each long enough to time (about 0.1 s).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "cpu/cpu_features.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

namespace {

using ember::DType;

size_t elem_size(DType dt) { return dt == DType::F64 ? 8 : dt == DType::F32 ? 4 : 2; }

std::vector<unsigned char> random_buffer(DType dt, int64_t n, uint64_t seed) {
  std::vector<unsigned char> buf(static_cast<size_t>(n) * elem_size(dt));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    const float v = dist(rng);
    unsigned char* p = buf.data() + i * elem_size(dt);
    if (dt == DType::F32) {
      std::memcpy(p, &v, 4);
    } else if (dt == DType::F64) {
      const double d = v;
      std::memcpy(p, &d, 8);
    } else {
      const uint16_t h = dt == DType::F16 ? ember::float_to_half_bits(v) : ember::float_to_bf16_bits(v);
      std::memcpy(p, &h, 2);
    }
  }
  return buf;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median GFLOP/s of C = A @ B, B in "nn" (K x N row-major) or "nt" (N x K row-major, transposed view).
double bench(int64_t M, int64_t K, int64_t N, DType dt, bool nt, int threads) {
  ember::cpu::set_num_threads(threads);
  auto a = random_buffer(dt, M * K, 1), b = random_buffer(dt, K * N, 2);
  std::vector<unsigned char> c(static_cast<size_t>(M * N) * elem_size(dt));
  ember::cpu::GemmArgs g;
  g.dtype = dt;
  g.M = M;
  g.N = N;
  g.K = K;
  g.a = a.data();
  g.a_row_stride = K;
  g.a_col_stride = 1;
  g.b = b.data();
  g.b_row_stride = nt ? 1 : N;
  g.b_col_stride = nt ? K : 1;
  g.c = c.data();
  g.c_row_stride = N;
  g.c_col_stride = 1;
  const auto gemm = ember::cpu::kernels().gemm;
  gemm(g);
  double t0 = now();
  gemm(g);
  const double once = std::max(now() - t0, 1e-7);
  const int reps = std::max(1, static_cast<int>(0.1 / once));
  std::vector<double> samples;
  for (int s = 0; s < 7; ++s) {
    t0 = now();
    for (int r = 0; r < reps; ++r) gemm(g);
    samples.push_back((now() - t0) / reps);
  }
  std::sort(samples.begin(), samples.end());
  return 2.0 * double(M) * double(N) * double(K) / samples[samples.size() / 2] / 1e9;
}

DType parse_dtype(const char* s) {
  const std::string d = s;
  if (d == "f64") return DType::F64;
  if (d == "f16") return DType::F16;
  if (d == "bf16") return DType::BF16;
  return DType::F32;
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("isa: %s\n", ember::cpu::isa_name(ember::cpu::active_isa()));
  if (argc >= 4) {
    const int64_t M = std::atoll(argv[1]), K = std::atoll(argv[2]), N = std::atoll(argv[3]);
    const DType dt = argc > 4 ? parse_dtype(argv[4]) : DType::F32;
    const bool nt = argc > 5 && std::string(argv[5]) == "nt";
    const int threads = argc > 6 ? std::atoi(argv[6]) : 1;
    std::printf("%s M=%lld K=%lld N=%lld %s threads=%d: %.1f GFLOP/s\n", ember::dtype_short_name(dt), (long long)M,
                (long long)K, (long long)N, nt ? "nt" : "nn", threads, bench(M, K, N, dt, nt, threads));
    return 0;
  }
  struct Shape { int64_t M, K, N; };
  const Shape shapes[] = {{1, 4096, 4096}, {16, 4096, 4096}, {128, 4096, 4096},
                          {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048}};
  std::printf("%-5s %5s %5s %5s %-3s %10s %10s\n", "dtype", "M", "K", "N", "B", "1 thread", "2 threads");
  for (const Shape& s : shapes) {
    for (bool nt : {false, true}) {
      if (nt && s.M == s.N) continue;  // the square shapes: the nn layout only
      const double g1 = bench(s.M, s.K, s.N, DType::F32, nt, 1);
      const double g2 = bench(s.M, s.K, s.N, DType::F32, nt, 2);
      std::printf("%-5s %5lld %5lld %5lld %-3s %10.1f %10.1f\n", "f32", (long long)s.M, (long long)s.K,
                  (long long)s.N, nt ? "nt" : "nn", g1, g2);
      std::fflush(stdout);
    }
  }
  for (DType dt : {DType::F16, DType::BF16, DType::F64}) {
    const double g1 = bench(1024, 1024, 1024, dt, false, 1);
    const double g2 = bench(1024, 1024, 1024, dt, false, 2);
    std::printf("%-5s %5d %5d %5d %-3s %10.1f %10.1f\n", ember::dtype_short_name(dt), 1024, 1024, 1024, "nn", g1, g2);
    std::fflush(stdout);
  }
  return 0;
}
