// The CPU matrix multiply (kernels_for(isa).gemm) against a naive double-precision reference, for
// every SIMD level this CPU runs, 1 and 2 threads, all four float dtypes, and operands with any
// strides: transposed, padded, negative, zero (broadcast), batched with a broadcast batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/half.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

namespace {

using ember::DType;
using ember::cpu::GemmArgs;

// ---- values in a dtype's storage ----------------------------------------------------------------------
size_t elem_size(DType dt) { return dt == DType::F64 ? 8 : dt == DType::F32 ? 4 : 2; }

double load(DType dt, const std::vector<unsigned char>& buf, int64_t index) {
  const unsigned char* p = buf.data() + index * elem_size(dt);
  switch (dt) {
    case DType::F32: { float v; std::memcpy(&v, p, 4); return v; }
    case DType::F64: { double v; std::memcpy(&v, p, 8); return v; }
    case DType::F16: { uint16_t v; std::memcpy(&v, p, 2); return ember::half_bits_to_float(v); }
    case DType::BF16: { uint16_t v; std::memcpy(&v, p, 2); return ember::bf16_bits_to_float(v); }
    default: return 0;
  }
}

void store(DType dt, std::vector<unsigned char>& buf, int64_t index, double value) {
  unsigned char* p = buf.data() + index * elem_size(dt);
  switch (dt) {
    case DType::F32: { float v = static_cast<float>(value); std::memcpy(p, &v, 4); break; }
    case DType::F64: { std::memcpy(p, &value, 8); break; }
    case DType::F16: { uint16_t v = ember::float_to_half_bits(static_cast<float>(value)); std::memcpy(p, &v, 2); break; }
    case DType::BF16: { uint16_t v = ember::float_to_bf16_bits(static_cast<float>(value)); std::memcpy(p, &v, 2); break; }
    default: break;
  }
}

// Unit roundoff of the accumulation and of the final rounding to the output dtype.
double accum_eps(DType dt) { return dt == DType::F64 ? std::ldexp(1.0, -53) : std::ldexp(1.0, -24); }
double output_eps(DType dt) {
  switch (dt) {
    case DType::F16: return std::ldexp(1.0, -11);
    case DType::BF16: return std::ldexp(1.0, -8);
    default: return 0;
  }
}

// ---- strided operands ---------------------------------------------------------------------------------
enum class Lay { RowMajor, ColMajor, RowPadded, ColPadded, Strided, NegRows, NegCols, NegBoth, ZeroRow, ZeroCol };
constexpr Lay kAllLays[] = {Lay::RowMajor, Lay::ColMajor, Lay::RowPadded, Lay::ColPadded, Lay::Strided,
                            Lay::NegRows,  Lay::NegCols,  Lay::NegBoth,   Lay::ZeroRow,   Lay::ZeroCol};
constexpr int kOutputLays = 8;  // the first 8 give every element its own address

const char* lay_name(Lay l) {
  static const char* names[] = {"row", "col", "rowpad", "colpad", "strided", "negrows", "negcols", "negboth", "zerorow", "zerocol"};
  return names[static_cast<int>(l)];
}

struct Operand {
  int64_t rows = 0, cols = 0, batch = 1;
  int64_t rs = 0, cs = 0, bs = 0, offset = 0;
  std::vector<unsigned char> buf;
  int64_t size = 0;  // elements in buf
  std::string desc;

  int64_t index(int64_t b, int64_t i, int64_t j) const { return offset + b * bs + i * rs + j * cs; }
};

// Lays out a batch of rows x cols matrices. broadcast_batch: batch stride 0; negative_batch: the
// batch walks backwards.
Operand make_operand(DType dt, int64_t batch, int64_t rows, int64_t cols, Lay lay, bool broadcast_batch,
                     bool negative_batch) {
  Operand op;
  op.rows = rows;
  op.cols = cols;
  op.batch = batch;
  const int64_t r = std::max<int64_t>(rows, 1), c = std::max<int64_t>(cols, 1);
  switch (lay) {
    case Lay::RowMajor: op.rs = c; op.cs = 1; break;
    case Lay::ColMajor: op.rs = 1; op.cs = r; break;
    case Lay::RowPadded: op.rs = c + 3; op.cs = 1; break;
    case Lay::ColPadded: op.rs = 1; op.cs = r + 5; break;
    case Lay::Strided: op.rs = 3 * c + 1; op.cs = 3; break;
    case Lay::NegRows: op.rs = -c; op.cs = 1; break;
    case Lay::NegCols: op.rs = 1; op.cs = -(r + 2); break;
    case Lay::NegBoth: op.rs = -(2 * c + 1); op.cs = -2; break;
    case Lay::ZeroRow: op.rs = 0; op.cs = 1; break;
    case Lay::ZeroCol: op.rs = 1; op.cs = 0; break;
  }
  int64_t lo = 0, hi = 0;  // extent of one matrix
  if (rows > 0 && cols > 0) {
    for (int64_t i : {int64_t(0), rows - 1})
      for (int64_t j : {int64_t(0), cols - 1}) {
        lo = std::min(lo, i * op.rs + j * op.cs);
        hi = std::max(hi, i * op.rs + j * op.cs);
      }
  }
  const int64_t extent = hi - lo + 1 + 2;  // a gap of 2 between matrices
  op.bs = broadcast_batch ? 0 : (negative_batch ? -extent : extent);
  const int64_t blo = std::min<int64_t>(0, (batch - 1) * op.bs), bhi = std::max<int64_t>(0, (batch - 1) * op.bs);
  op.offset = 3 - lo - blo;  // 3 guard elements in front
  op.size = op.offset + hi + bhi + 1 + 3;
  op.buf.assign(op.size * elem_size(dt), 0);
  op.desc = std::string(lay_name(lay)) + (broadcast_batch ? "/bcast" : "") + (negative_batch ? "/negbatch" : "");
  return op;
}

void fill_random(DType dt, Operand& op, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (int64_t i = 0; i < op.size; ++i) store(dt, op.buf, i, dist(rng));
}

struct Problem {
  DType dt = DType::F32;
  int64_t batch = 1, M = 0, N = 0, K = 0;
  Operand a, b, c;
};

GemmArgs args_of(Problem& p) {
  GemmArgs g;
  g.dtype = p.dt;
  g.batch = p.batch;
  g.M = p.M;
  g.N = p.N;
  g.K = p.K;
  const size_t es = elem_size(p.dt);
  g.a = p.a.buf.data() + p.a.offset * es;
  g.a_batch_stride = p.a.bs;
  g.a_row_stride = p.a.rs;
  g.a_col_stride = p.a.cs;
  g.b = p.b.buf.data() + p.b.offset * es;
  g.b_batch_stride = p.b.bs;
  g.b_row_stride = p.b.rs;
  g.b_col_stride = p.b.cs;
  g.c = p.c.buf.data() + p.c.offset * es;
  g.c_batch_stride = p.c.bs;
  g.c_row_stride = p.c.rs;
  g.c_col_stride = p.c.cs;
  return g;
}

struct Reference {
  std::vector<double> value, abs_sum;  // per (b, i, j)
};

Reference reference(const Problem& p) {
  Reference r;
  r.value.assign(p.batch * p.M * p.N, 0.0);
  r.abs_sum.assign(p.batch * p.M * p.N, 0.0);
  std::vector<double> arow(p.K), bcol(p.K * p.N);
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t k = 0; k < p.K; ++k)
      for (int64_t j = 0; j < p.N; ++j) bcol[j * p.K + k] = load(p.dt, p.b.buf, p.b.index(b, k, j));
    for (int64_t i = 0; i < p.M; ++i) {
      for (int64_t k = 0; k < p.K; ++k) arow[k] = load(p.dt, p.a.buf, p.a.index(b, i, k));
      for (int64_t j = 0; j < p.N; ++j) {
        double s = 0, s_abs = 0;
        const double* bc = bcol.data() + j * p.K;
        for (int64_t k = 0; k < p.K; ++k) {
          s += arow[k] * bc[k];
          s_abs += std::fabs(arow[k] * bc[k]);
        }
        r.value[(b * p.M + i) * p.N + j] = s;
        r.abs_sum[(b * p.M + i) * p.N + j] = s_abs;
      }
    }
  }
  return r;
}

std::string describe(const Problem& p, ember::cpu::Isa isa, int threads) {
  return std::string(ember::dtype_short_name(p.dt)) + " isa=" + ember::cpu::isa_name(isa) +
         " threads=" + std::to_string(threads) + " batch=" + std::to_string(p.batch) + " M=" + std::to_string(p.M) +
         " N=" + std::to_string(p.N) + " K=" + std::to_string(p.K) + " A=" + p.a.desc + " B=" + p.b.desc +
         " C=" + p.c.desc;
}

// Runs the product on a fresh C (filled with 0xff bytes: NaN in every float dtype) and checks every
// element: written ones against the reference, the others still 0xff.
void check(Problem& p, const Reference& ref, ember::cpu::Isa isa, int threads, int* failures) {
  std::fill(p.c.buf.begin(), p.c.buf.end(), static_cast<unsigned char>(0xff));
  ember::cpu::set_num_threads(threads);
  const GemmArgs g = args_of(p);
  ember::cpu::kernels_for(isa).gemm(g);
  const size_t es = elem_size(p.dt);
  std::vector<char> written(p.c.size, 0);
  const double ueps = accum_eps(p.dt), oeps = output_eps(p.dt);
  int reported = 0;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        const int64_t idx = p.c.index(b, i, j);
        written[idx] = 1;
        const double got = load(p.dt, p.c.buf, idx);
        const double want = ref.value[(b * p.M + i) * p.N + j];
        // f16 outputs below 2^-14 are subnormal: absolute spacing 2^-24.
        const double bound = double(p.K + 4) * ueps * ref.abs_sum[(b * p.M + i) * p.N + j] +
                             2 * oeps * std::fabs(want) + (p.dt == DType::F16 ? std::ldexp(1.0, -24) : 1e-300);
        if (!(std::fabs(got - want) <= bound)) {
          if (reported++ < 3)
            ADD_FAILURE() << describe(p, isa, threads) << ": C[" << b << "," << i << "," << j << "] = " << got
                          << ", want " << want << " (bound " << bound << ")";
          ++*failures;
        }
      }
  for (int64_t idx = 0; idx < p.c.size; ++idx) {
    if (written[idx]) continue;
    for (size_t q = 0; q < es; ++q) {
      if (p.c.buf[idx * es + q] != 0xff) {
        if (reported++ < 4) ADD_FAILURE() << describe(p, isa, threads) << ": wrote outside C at element " << idx;
        ++*failures;
        break;
      }
    }
  }
}

class ThreadGuard {
 public:
  ThreadGuard() : saved_(ember::cpu::num_threads()) {}
  ~ThreadGuard() { ember::cpu::set_num_threads(saved_); }

 private:
  int saved_;
};

constexpr DType kDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16};

Problem make_problem(DType dt, int64_t batch, int64_t M, int64_t N, int64_t K, Lay la, Lay lb, Lay lc,
                     bool bcast_a, bool bcast_b, bool neg_batch_c, std::mt19937_64& rng) {
  Problem p;
  p.dt = dt;
  p.batch = batch;
  p.M = M;
  p.N = N;
  p.K = K;
  p.a = make_operand(dt, batch, M, K, la, bcast_a, false);
  p.b = make_operand(dt, batch, K, N, lb, bcast_b, false);
  p.c = make_operand(dt, batch, M, N, lc, false, neg_batch_c);
  fill_random(dt, p.a, rng);
  fill_random(dt, p.b, rng);
  return p;
}

// Every runnable ISA, 1 and 2 threads.
void check_all(Problem& p, int* failures) {
  const Reference ref = reference(p);
  for (ember::cpu::Isa isa : ember::cpu::runnable_isas())
    for (int threads : {1, 2}) check(p, ref, isa, threads, failures);
}

TEST(Gemm, RandomShapesAndLayouts) {
  ThreadGuard guard;
  std::mt19937_64 rng(1234);
  const int64_t dims[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 15, 16, 17, 24, 31, 33, 48, 50, 65, 97};
  const int64_t kdims[] = {0, 1, 2, 3, 5, 8, 16, 17, 63, 100, 191, 193, 255, 257, 300};
  auto pick = [&](const auto& arr) { return arr[rng() % (sizeof(arr) / sizeof(arr[0]))]; };
  int failures = 0;
  for (DType dt : kDTypes) {
    for (int iter = 0; iter < 120 && failures == 0; ++iter) {
      const int64_t batch = (rng() % 4 == 0) ? 1 + rng() % 4 : 1;
      const int64_t M = pick(dims), N = pick(dims), K = pick(kdims);
      const Lay la = kAllLays[rng() % 10], lb = kAllLays[rng() % 10], lc = kAllLays[rng() % kOutputLays];
      Problem p = make_problem(dt, batch, M, N, K, la, lb, lc, batch > 1 && rng() % 3 == 0,
                               batch > 1 && rng() % 3 == 0, batch > 1 && rng() % 3 == 0, rng);
      check_all(p, &failures);
    }
  }
  EXPECT_EQ(failures, 0);
}

// Every layout pair for A and B, on shapes with partial register tiles.
TEST(Gemm, AllLayoutPairs) {
  ThreadGuard guard;
  std::mt19937_64 rng(99);
  int failures = 0;
  for (DType dt : kDTypes)
    for (Lay la : kAllLays)
      for (Lay lb : kAllLays) {
        const Lay lc = kAllLays[rng() % kOutputLays];
        Problem p = make_problem(dt, 1, 19, 37, 45, la, lb, lc, false, false, false, rng);
        check_all(p, &failures);
      }
  EXPECT_EQ(failures, 0);
}

// M == 1 and N == 1 (GEMV in both layouts of B), and small M with B contiguous along K.
TEST(Gemm, VectorAndSmallM) {
  ThreadGuard guard;
  std::mt19937_64 rng(7);
  int failures = 0;
  for (DType dt : kDTypes) {
    for (Lay lb : {Lay::RowMajor, Lay::ColMajor, Lay::RowPadded, Lay::ColPadded, Lay::Strided, Lay::NegRows,
                   Lay::NegCols, Lay::ZeroRow, Lay::ZeroCol}) {
      for (Lay lc : {Lay::RowMajor, Lay::ColMajor, Lay::Strided}) {
        // x @ B with M == 1: sizes around the vector widths and the y block (2048), threads split N.
        for (auto [K, N] : {std::pair<int64_t, int64_t>{1, 1}, {300, 1}, {1, 300}, {7, 5}, {33, 70}, {517, 1031}, {65, 4100}}) {
          Problem p = make_problem(dt, 1, 1, N, K, Lay::RowMajor, lb, lc, false, false, false, rng);
          check_all(p, &failures);
        }
        // B @ x with N == 1 (transposed into the M == 1 path).
        for (auto [M, K] : {std::pair<int64_t, int64_t>{300, 1}, {129, 257}, {1031, 64}}) {
          Problem p = make_problem(dt, 1, M, 1, K, Lay::ColMajor, Lay::RowMajor, lc, false, false, false, rng);
          check_all(p, &failures);
          Problem q = make_problem(dt, 1, M, 1, K, Lay::RowMajor, lb, lc, false, false, false, rng);
          check_all(q, &failures);
        }
        // Small M (batched decode).
        for (int64_t M : {2, 3, 4, 5, 7, 9, 16}) {
          Problem p = make_problem(dt, 1, M, 131, 259, Lay::RowMajor, lb, lc, false, false, false, rng);
          check_all(p, &failures);
        }
        if (failures) break;
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

// Shapes past the cache blocks (KC, MC, NC and the 16-bit scratch chunks) so every loop runs more
// than once and ends with a partial block.
TEST(Gemm, LargerThanCacheBlocks) {
  ThreadGuard guard;
  std::mt19937_64 rng(42);
  int failures = 0;
  for (DType dt : kDTypes) {
    {
      Problem p = make_problem(dt, 1, 150, 3100, 530, Lay::RowMajor, Lay::RowMajor, Lay::RowMajor, false, false, false, rng);
      check_all(p, &failures);
    }
    {
      Problem p = make_problem(dt, 1, 610, 70, 600, Lay::ColMajor, Lay::ColMajor, Lay::RowPadded, false, false, false, rng);
      check_all(p, &failures);
    }
    {
      Problem p = make_problem(dt, 1, 300, 1600, 520, Lay::RowMajor, Lay::ColMajor, Lay::ColMajor, false, false, false, rng);
      check_all(p, &failures);
    }
  }
  EXPECT_EQ(failures, 0);
}

// Many small products (attention: (S x D) @ (D x S) per head), with broadcast operands.
TEST(Gemm, Batched) {
  ThreadGuard guard;
  std::mt19937_64 rng(5);
  int failures = 0;
  for (DType dt : kDTypes) {
    for (int64_t batch : {2, 3, 8, 17}) {
      Problem p = make_problem(dt, batch, 23, 23, 16, Lay::RowMajor, Lay::ColMajor, Lay::RowMajor, false, false, false, rng);
      check_all(p, &failures);
      Problem q = make_problem(dt, batch, 1, 40, 64, Lay::RowMajor, Lay::ColMajor, Lay::RowMajor, true, false, true, rng);
      check_all(q, &failures);
      Problem r = make_problem(dt, batch, 70, 33, 40, Lay::RowPadded, Lay::RowMajor, Lay::ColMajor, false, true, false, rng);
      check_all(r, &failures);
      Problem s = make_problem(dt, batch, 130, 1, 90, Lay::RowMajor, Lay::RowMajor, Lay::RowMajor, false, true, false, rng);
      check_all(s, &failures);
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(Gemm, EmptyDimensions) {
  ThreadGuard guard;
  std::mt19937_64 rng(3);
  int failures = 0;
  for (DType dt : kDTypes) {
    for (auto [batch, M, N, K] : {std::array<int64_t, 4>{0, 4, 4, 4}, {2, 0, 5, 3}, {2, 5, 0, 3}, {3, 5, 6, 0},
                                  {1, 1, 1, 0}, {1, 1, 9, 0}, {1, 9, 1, 0}}) {
      Problem p = make_problem(dt, batch, M, N, K, Lay::RowMajor, Lay::RowMajor, Lay::Strided, false, false, false, rng);
      check_all(p, &failures);
    }
  }
  EXPECT_EQ(failures, 0);
}

// Infinities and NaNs in the inputs reach C (no shortcut skips a zero multiplier).
TEST(Gemm, NonFiniteInputsPropagate) {
  ThreadGuard guard;
  for (ember::cpu::Isa isa : ember::cpu::runnable_isas()) {
    for (auto [M, N, K] : {std::array<int64_t, 3>{1, 40, 30}, {3, 40, 30}, {40, 40, 30}}) {
      for (bool b_trans : {false, true}) {
        std::vector<float> a(M * K, 0.0f), b(K * N, 1.0f), c(M * N, -1.0f);
        b[(b_trans ? 5 * K + 7 : 7 * N + 5)] = std::numeric_limits<float>::quiet_NaN();  // B[7, 5]
        GemmArgs g;
        g.dtype = DType::F32;
        g.M = M;
        g.N = N;
        g.K = K;
        g.a = a.data();
        g.a_row_stride = K;
        g.a_col_stride = 1;
        g.b = b.data();
        g.b_row_stride = b_trans ? 1 : N;
        g.b_col_stride = b_trans ? K : 1;
        g.c = c.data();
        g.c_row_stride = N;
        g.c_col_stride = 1;
        ember::cpu::kernels_for(isa).gemm(g);
        for (int64_t i = 0; i < M; ++i) {
          EXPECT_TRUE(std::isnan(c[i * N + 5])) << ember::cpu::isa_name(isa) << " M=" << M;
          EXPECT_EQ(c[i * N + 4], 0.0f);
        }
      }
    }
  }
}

// With K == 1 the f32 product of two f16 (or bf16) values is exact, so C must be exactly that product
// rounded once to nearest even, as core/half.h rounds: checks every path's final rounding bit for
// bit, including subnormal results, overflow to infinity and NaN.
TEST(Gemm, SixteenBitOutputRoundsOnceToNearestEven) {
  ThreadGuard guard;
  std::mt19937_64 rng(11);
  for (DType dt : {DType::F16, DType::BF16}) {
    for (auto [M, N, b_trans] : {std::tuple<int64_t, int64_t, bool>{64, 67, false}, {1, 131, false}, {7, 45, true},
                                  {40, 40, true}}) {
      std::vector<uint16_t> a(M), b(N), c(M * N);
      for (auto& v : a) v = static_cast<uint16_t>(rng());
      for (auto& v : b) v = static_cast<uint16_t>(rng());
      // Keep a few exact values in: ties, subnormal products, overflow.
      if (dt == DType::F16) {
        a[0] = 0x3c00;                // 1
        if (N > 3) { b[1] = 0x0001; b[2] = 0x7bff; b[3] = 0x3c01; }  // 2^-24, 65504, 1 + 2^-10
      }
      auto to_f = [&](uint16_t h) { return dt == DType::F16 ? ember::half_bits_to_float(h) : ember::bf16_bits_to_float(h); };
      auto round = [&](float f) { return dt == DType::F16 ? ember::float_to_half_bits(f) : ember::float_to_bf16_bits(f); };
      for (ember::cpu::Isa isa : ember::cpu::runnable_isas()) {
        for (int threads : {1, 2}) {
          ember::cpu::set_num_threads(threads);
          GemmArgs g;
          g.dtype = dt;
          g.M = M;
          g.N = N;
          g.K = 1;
          g.a = a.data();
          g.a_row_stride = 1;
          g.a_col_stride = 1;
          g.b = b.data();
          g.b_row_stride = b_trans ? 1 : N;
          g.b_col_stride = 1;
          g.c = c.data();
          g.c_row_stride = N;
          g.c_col_stride = 1;
          ember::cpu::kernels_for(isa).gemm(g);
          int bad = 0;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              const float prod = to_f(a[i]) * to_f(b[j]);
              const uint16_t want = round(prod);
              const uint16_t got = c[i * N + j];
              // NaN payloads aside; +0 and -0 both pass (0 + (-0) is +0 where products are summed
              // after rounding, -0 where an FMA adds the exact product).
              const bool same = got == want || (std::isnan(prod) && std::isnan(to_f(got))) || to_f(got) == to_f(want);
              if (!same && bad++ < 3)
                ADD_FAILURE() << ember::dtype_short_name(dt) << " " << ember::cpu::isa_name(isa) << " M=" << M
                              << " C[" << i << "," << j << "] bits " << std::hex << got << ", want " << want;
            }
        }
      }
    }
  }
}

TEST(Gemm, UnsupportedDtypeThrows) {
  std::vector<int32_t> a(4, 1), b(4, 1), c(4, 0);
  GemmArgs g;
  g.dtype = DType::I32;
  g.M = g.N = g.K = 2;
  g.a = a.data();
  g.b = b.data();
  g.c = c.data();
  g.a_row_stride = g.b_row_stride = g.c_row_stride = 2;
  g.a_col_stride = g.b_col_stride = g.c_col_stride = 1;
  for (ember::cpu::Isa isa : ember::cpu::runnable_isas()) {
    EXPECT_THROW(ember::cpu::kernels_for(isa).gemm(g), ember::Error);
  }
}

}  // namespace
