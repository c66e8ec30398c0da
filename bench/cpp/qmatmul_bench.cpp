// Times kernels().qmatmul on random q4_0 / q8_0 weights: weight GB/s at M = 1 (decode, memory-bound)
// and GFLOP/s (2 M N K per call) at larger M (prompt). Also a plain read of a buffer of the same size,
// for the machine's memory bandwidth.
//   ember_qmatmul_bench [N K] [threads...]   (default 4096 4096, threads 1 2)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "cpu/cpu_features.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F>
double best_of(F&& f, double min_seconds = 0.3) {
  f();
  double best = 1e30, start = now();
  int runs = 0;
  while (runs < 3 || now() - start < min_seconds) {
    const double t0 = now();
    f();
    best = std::min(best, now() - t0);
    ++runs;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ember;
  const int64_t N = argc > 2 ? std::atoll(argv[1]) : 4096, K = argc > 2 ? std::atoll(argv[2]) : 4096;
  std::vector<int> threads;
  for (int i = 3; i < argc; ++i) threads.push_back(std::atoi(argv[i]));
  if (threads.empty()) threads = {1, 2};
  std::printf("isa %s, N %lld, K %lld\n", cpu::isa_name(cpu::active_isa()), static_cast<long long>(N),
              static_cast<long long>(K));
  std::mt19937 rng(1);
  std::vector<float> x(static_cast<size_t>(512 * K));
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  std::vector<float> y(static_cast<size_t>(512 * N));
  std::vector<int64_t> bench_ms = {1, 2, 4, 8, 16, 32, 128, 512};
  if (const char* e = std::getenv("QMM_M")) bench_ms = {std::atoll(e)};
  struct T { quant::QType type; const char* name; int bytes; };
  for (const T& t : {T{quant::QType::Q4_0, "q4_0", 18}, T{quant::QType::Q8_0, "q8_0", 34}}) {
    const int64_t wrb = K / 32 * t.bytes;
    std::vector<unsigned char> w(static_cast<size_t>(N * wrb));
    for (auto& b : w) b = static_cast<unsigned char>(rng());
    for (int64_t i = 0; i < N * K / 32; ++i) {
      const uint16_t d = float_to_half_bits(0.01f);
      std::memcpy(w.data() + i * t.bytes, &d, 2);
    }
    for (int th : threads) {
      cpu::set_num_threads(th);
      const double tread = best_of([&] {
        uint64_t s = 0;
        cpu::parallel_for(static_cast<int64_t>(w.size() / 8), 8192, [&](int64_t b, int64_t e) {
          uint64_t acc = 0;
          const uint64_t* p = reinterpret_cast<const uint64_t*>(w.data());
          for (int64_t i = b; i < e; ++i) acc += p[i];
          if (acc == 42) std::printf(" ");
        });
        (void)s;
      });
      for (int64_t M : bench_ms) {
        cpu::QMatmulArgs a;
        a.wtype = t.type;
        a.w = w.data();
        a.w_row_bytes = wrb;
        a.N = N;
        a.K = K;
        a.M = M;
        a.dtype = DType::F32;
        a.x = x.data();
        a.x_row_stride = K;
        a.y = y.data();
        a.y_row_stride = N;
        const double sec = best_of([&] { cpu::kernels().qmatmul(a); });
        std::printf("%s threads %d M %4lld: %8.3f ms  weights %6.2f GB/s (plain read %6.2f GB/s)  %7.1f GFLOP/s\n",
                    t.name, th, static_cast<long long>(M), sec * 1e3, w.size() / sec * 1e-9, w.size() / tread * 1e-9,
                    2.0 * M * N * K / sec * 1e-9);
      }
    }
  }
  return 0;
}
