// Quantized matmul (issue #4): y[m, n] = sum_k x[m, k] * W[n, k], W stored as quantized blocks.
//
// Block types with an integer dot product (legacy_qdot_kernel / kquant_qdot_kernel, quant_dot.h):
//   1. the M activation rows are converted to f32 (f16 / bf16 x, per row, in a per-thread scratch) and
//      quantized once, up front, to the kernel's activation type (Q8_0 / Q8_1 / Q8_K) into one shared
//      buffer; rows are quantized in parallel when M > 1;
//   2. threads split the output columns (weight rows) in chunks through parallel_for:
//      - M == 1 (GEMV, decode): each chunk is a run of weight rows dotted with the one activation row;
//        the dot kernel takes them in tiles of several weight rows that share each activation load.
//        Memory-bandwidth bound: every weight byte is read once.
//      - M > 1: each chunk is a run of panels of kPanelRows weight rows, swept once per block of
//        activation rows that fits in L2 (kActBlockBytes); each panel is dotted with the whole block
//        (the dot kernel tiles it into register blocks of weight rows x activation rows, each weight
//        block loaded once per tile), so the panel stays in L1/L2 and the activations stay in L2.
//   Results accumulate in f32 and are written in x's dtype (16-bit y goes through an f32 tile).
// Row types (F32 / F16 / BF16 weights) and block types without an integer kernel (Q8_1 and Q8_K
// weights, or a family not built yet) take the float path: weight rows are converted / dequantized to
// f32 a few at a time and dotted in float with the f32 activation rows.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

#include "core/half.h"
#include "cpu/kernel_table.h"
#include "cpu/kernels/scratch_buffer.h"
#include "cpu/kernels/quant_dot.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/thread_pool.h"
#include "quant/blocks.h"
#include "quant/reference.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

using quant::QType;

// ---- scratch: 64-byte aligned, grown on demand, kept per thread for the next call -----------------

struct Scratch {
  ScratchBuffer shared;  // the calling thread's: quantized (or f32) activation rows for all workers
  ScratchBuffer row;     // one f32 activation row being converted
  ScratchBuffer wrows;   // f32 weight rows of the float path
  ScratchBuffer out;     // f32 output tile for 16-bit y
};

Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}

int64_t element_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

// x row (F32 / F16 / BF16) to f32.
void load_row(DType dtype, const void* src, float* dst, int64_t k) {
  using V = Vec<float>;
  if (dtype == DType::F32) {
    std::memcpy(dst, src, static_cast<size_t>(k) * sizeof(float));
    return;
  }
  int64_t i = 0;
  if (dtype == DType::F16) {
    const f16* s = static_cast<const f16*>(src);
    for (; i + V::size <= k; i += V::size) load_vec(s + i).store(dst + i);
    if (i < k) load_vec_partial(s + i, static_cast<int>(k - i)).store_partial(dst + i, static_cast<int>(k - i));
  } else {
    const bf16* s = static_cast<const bf16*>(src);
    for (; i + V::size <= k; i += V::size) load_vec(s + i).store(dst + i);
    if (i < k) load_vec_partial(s + i, static_cast<int>(k - i)).store_partial(dst + i, static_cast<int>(k - i));
  }
}

// n f32 values to a y row of dtype F16 / BF16.
void store_row16(DType dtype, void* dst, const float* src, int64_t n) {
  using V = Vec<float>;
  int64_t i = 0;
  if (dtype == DType::F16) {
    f16* d = static_cast<f16*>(dst);
    for (; i + V::size <= n; i += V::size) store_vec(d + i, V::load(src + i));
    if (i < n) store_vec_partial(d + i, V::load_partial(src + i, static_cast<int>(n - i)), static_cast<int>(n - i));
  } else {
    bf16* d = static_cast<bf16*>(dst);
    for (; i + V::size <= n; i += V::size) store_vec(d + i, V::load(src + i));
    if (i < n) store_vec_partial(d + i, V::load_partial(src + i, static_cast<int>(n - i)), static_cast<int>(n - i));
  }
}

// Activation block geometry: elements and bytes per block.
void activation_block(QType type, int64_t* elems, int64_t* bytes) {
  if (type == QType::Q8_K) {
    *elems = quant::QK_K;
    *bytes = sizeof(quant::block_q8_K);
  } else if (type == QType::Q8_1) {
    *elems = quant::QK8_1;
    *bytes = sizeof(quant::block_q8_1);
  } else {
    *elems = quant::QK8_0;
    *bytes = sizeof(quant::block_q8_0);
  }
}

const char* x_row(const QMatmulArgs& a, int64_t m) {
  return static_cast<const char*>(a.x) + m * a.x_row_stride * element_size(a.dtype);
}
char* y_row(const QMatmulArgs& a, int64_t m) {
  return static_cast<char*>(a.y) + m * a.y_row_stride * element_size(a.dtype);
}

// Rows [m0, m0 + cm) x columns [n0, n0 + cn) of y from a dot call writing f32 with the given layout.
template <class F>
void dot_into_y(const QMatmulArgs& a, int64_t m0, int64_t cm, int64_t n0, int64_t cn, F&& dot) {
  if (a.dtype == DType::F32) {
    dot(reinterpret_cast<float*>(y_row(a, m0)) + n0, a.y_row_stride);
    return;
  }
  float* tmp = scratch().out.get<float>(cm * cn);
  dot(tmp, cn);
  for (int64_t m = 0; m < cm; ++m) store_row16(a.dtype, y_row(a, m0 + m) + n0 * 2, tmp + m * cn, cn);
}

// ---- block types with an integer dot kernel --------------------------------------------------------
constexpr int64_t kGemvRows = 16;   // weight rows per GEMV work unit
constexpr int64_t kPanelRows = 16;  // weight rows per batched work unit (one panel)
constexpr int64_t kActBlockBytes = 160 << 10;  // quantized activation rows kept in L2 per sweep

void qmatmul_int(const QMatmulArgs& a, const QDotKernel& kern) {
  const int64_t K = a.K, M = a.M, N = a.N, wrb = a.w_row_bytes;
  int64_t ablk, abytes;
  activation_block(kern.activation_type, &ablk, &abytes);
  const int64_t arb = K / ablk * abytes;  // bytes of one quantized activation row
  char* act = scratch().shared.get<char>(M * arb);

  // 1. quantize the activation rows.
  auto quantize_rows = [&](int64_t m0, int64_t m1) {
    float* row = a.dtype == DType::F32 ? nullptr : scratch().row.get<float>(K);
    for (int64_t m = m0; m < m1; ++m) {
      const float* src = reinterpret_cast<const float*>(x_row(a, m));
      if (row) {
        load_row(a.dtype, x_row(a, m), row, K);
        src = row;
      }
      kern.quantize_activation(src, act + m * arb, K);
    }
  };
  if (M == 1) quantize_rows(0, 1);
  else parallel_for(M, std::max<int64_t>(1, 16384 / K), quantize_rows);

  const char* w = static_cast<const char*>(a.w);
  const int max_nw = static_cast<int>(std::min<int64_t>(kern.max_nw, 1 << 20));
  const int max_nx = static_cast<int>(std::min<int64_t>(kern.max_nx, 1 << 20));

  if (M == 1) {
    // 2a. GEMV: units of kGemvRows weight rows; at least ~64 KiB of weights per chunk.
    const int64_t units = (N + kGemvRows - 1) / kGemvRows;
    const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, kGemvRows * wrb));
    parallel_for(units, grain, [&](int64_t u0, int64_t u1) {
      const int64_t n0 = u0 * kGemvRows, n1 = std::min(N, u1 * kGemvRows);
      dot_into_y(a, 0, 1, n0, n1 - n0, [&](float* out, int64_t) {
        for (int64_t n = n0; n < n1; n += max_nw) {
          const int cn = static_cast<int>(std::min<int64_t>(max_nw, n1 - n));
          kern.dot(K, w + n * wrb, wrb, cn, act, arb, 1, out + (n - n0), 0);
        }
      });
    });
    return;
  }

  // 2b. batched: each thread's chunk of weight panels (kPanelRows rows) is swept once per block of
  // activation rows sized to stay in L2 (the quantized rows are bytes: arb each); within a sweep each
  // panel is dotted with the whole block, the dot kernel tiling it into register blocks.
  const int64_t act_block = std::clamp<int64_t>(kActBlockBytes / arb, 4, M);
  const int64_t units = (N + kPanelRows - 1) / kPanelRows;
  parallel_for(units, 1, [&](int64_t u0, int64_t u1) {
    const int64_t r0 = u0 * kPanelRows, r1 = std::min(N, u1 * kPanelRows);
    for (int64_t m0 = 0; m0 < M; m0 += act_block) {
      const int64_t cm = std::min(act_block, M - m0);
      for (int64_t n0 = r0; n0 < r1; n0 += kPanelRows) {
        const int64_t cn = std::min(kPanelRows, r1 - n0);
        dot_into_y(a, m0, cm, n0, cn, [&](float* out, int64_t os) {
          for (int64_t j = 0; j < cm; j += max_nx) {
            const int cx = static_cast<int>(std::min<int64_t>(max_nx, cm - j));
            for (int64_t i = 0; i < cn; i += max_nw) {
              const int cw = static_cast<int>(std::min<int64_t>(max_nw, cn - i));
              kern.dot(K, w + (n0 + i) * wrb, wrb, cw, act + (m0 + j) * arb, arb, cx, out + j * os + i, os);
            }
          }
        });
      }
    }
  });
}

// ---- float path: row types and block types without an integer kernel -------------------------------
// One weight row to f32.
void weight_row_f32(QType type, const char* row, float* dst, int64_t k) {
  switch (type) {
    case QType::F32: std::memcpy(dst, row, static_cast<size_t>(k) * sizeof(float)); return;
    case QType::F16: load_row(DType::F16, row, dst, k); return;
    case QType::BF16: load_row(DType::BF16, row, dst, k); return;
    case QType::Q8_1: {
      const quant::block_q8_1* b = reinterpret_cast<const quant::block_q8_1*>(row);
      for (int64_t i = 0; i < k / quant::QK8_1; ++i) {
        const float d = half_bits_to_float(b[i].d);
        for (int j = 0; j < quant::QK8_1; ++j) dst[i * quant::QK8_1 + j] = d * static_cast<float>(b[i].qs[j]);
      }
      return;
    }
    case QType::Q8_K: {
      const quant::block_q8_K* b = reinterpret_cast<const quant::block_q8_K*>(row);
      for (int64_t i = 0; i < k / quant::QK_K; ++i)
        for (int j = 0; j < quant::QK_K; ++j) dst[i * quant::QK_K + j] = b[i].d * static_cast<float>(b[i].qs[j]);
      return;
    }
    default: quant::dequantize_row(type, row, dst, k); return;
  }
}

float dot_f32(const float* a, const float* b, int64_t k) {
  using V = Vec<float>;
  V s0, s1;
  int64_t i = 0;
  for (; i + 2 * V::size <= k; i += 2 * V::size) {
    s0 = em_fma(V::load(a + i), V::load(b + i), s0);
    s1 = em_fma(V::load(a + i + V::size), V::load(b + i + V::size), s1);
  }
  for (; i + V::size <= k; i += V::size) s0 = em_fma(V::load(a + i), V::load(b + i), s0);
  if (i < k) {
    const int r = static_cast<int>(k - i);
    s1 = em_fma(V::load_partial(a + i, r), V::load_partial(b + i, r), s1);
  }
  return reduce_add(s0 + s1);
}

// f32 activation rows: x itself when it is f32, else converted once into the shared scratch.
const float* f32_rows(const QMatmulArgs& a, int64_t* row_stride) {
  if (a.dtype == DType::F32) {
    *row_stride = a.x_row_stride;
    return reinterpret_cast<const float*>(a.x);
  }
  const int64_t K = a.K;
  float* buf = scratch().shared.get<float>(a.M * K);
  parallel_for(a.M, std::max<int64_t>(1, 16384 / K), [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) load_row(a.dtype, x_row(a, m), buf + m * K, K);
  });
  *row_stride = K;
  return buf;
}

void qmatmul_float(const QMatmulArgs& a) {
  const int64_t K = a.K, M = a.M, N = a.N, wrb = a.w_row_bytes;
  int64_t xs;
  const float* xf = f32_rows(a, &xs);
  constexpr int64_t kRows = 4;
  const int64_t units = (N + kRows - 1) / kRows;
  const char* w = static_cast<const char*>(a.w);
  parallel_for(units, std::max<int64_t>(1, 65536 / (kRows * K * M)), [&](int64_t u0, int64_t u1) {
    float* wf = scratch().wrows.get<float>(kRows * K);
    for (int64_t n0 = u0 * kRows; n0 < std::min(N, u1 * kRows); n0 += kRows) {
      const int64_t cn = std::min(kRows, N - n0);
      for (int64_t i = 0; i < cn; ++i) weight_row_f32(a.wtype, w + (n0 + i) * wrb, wf + i * K, K);
      for (int64_t m = 0; m < M; ++m) {
        float r[kRows];
        for (int64_t i = 0; i < cn; ++i) r[i] = dot_f32(wf + i * K, xf + m * xs, K);
        if (a.dtype == DType::F32) std::memcpy(reinterpret_cast<float*>(y_row(a, m)) + n0, r, cn * sizeof(float));
        else store_row16(a.dtype, y_row(a, m) + n0 * 2, r, cn);
      }
    }
  });
}

// ---- batches: dequantized weight chunks through the f32 GEMM -----------------------------------------
// From kQuantGemmMinRows activation rows on (quant_args.h), the weight is dequantized to f32 a chunk of rows at a time
// and each chunk is multiplied with the GEMM. On one Zen 3 core the f32 GEMM runs at ~90 GFLOP/s while
// the integer block dots reach ~48 GOP/s at M = 128, so this is faster for prompts, and the
// activations keep full precision (no 8-bit rounding): prompt logits match a float model closely.
constexpr int64_t kDequantChunkFloats = 1 << 18;  // 1 MiB of f32 weights per chunk

void qmatmul_dequant_gemm(const QMatmulArgs& a) {
  const int64_t K = a.K, M = a.M, N = a.N, wrb = a.w_row_bytes;
  int64_t xs;
  const float* xf = f32_rows(a, &xs);
  float* yf = a.dtype == DType::F32 ? static_cast<float*>(a.y) : scratch().out.get<float>(M * N);
  const int64_t ys = a.dtype == DType::F32 ? a.y_row_stride : N;
  const int64_t chunk = std::min(N, std::max<int64_t>(16, kDequantChunkFloats / K / 16 * 16));
  float* wf = scratch().wrows.get<float>(chunk * K);
  const char* w = static_cast<const char*>(a.w);
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t cn = std::min(chunk, N - n0);
    parallel_for(cn, std::max<int64_t>(1, 16384 / K), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) weight_row_f32(a.wtype, w + (n0 + r) * wrb, wf + r * K, K);
    });
    GemmArgs g;
    g.dtype = DType::F32;
    g.M = M;
    g.N = cn;
    g.K = K;
    g.a = xf;
    g.a_row_stride = xs;
    g.a_col_stride = 1;
    g.b = wf;  // B[k][n] = chunk row n, element k
    g.b_row_stride = 1;
    g.b_col_stride = K;
    g.c = yf + n0;
    g.c_row_stride = ys;
    g.c_col_stride = 1;
    kernels().gemm(g);
  }
  if (a.dtype != DType::F32) {
    parallel_for(M, std::max<int64_t>(1, 16384 / N), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) store_row16(a.dtype, y_row(a, m), yf + m * N, N);
    });
  }
}

void qmatmul(const QMatmulArgs& a) {
  if (a.M <= 0 || a.N <= 0) return;
  if (a.K <= 0) {
    for (int64_t m = 0; m < a.M; ++m) std::memset(y_row(a, m), 0, static_cast<size_t>(a.N * element_size(a.dtype)));
    return;
  }
  if (a.M >= kQuantGemmMinRows) return qmatmul_dequant_gemm(a);
  QDotKernel kern = legacy_qdot_kernel(a.wtype);
  if (!kern.dot) kern = kquant_qdot_kernel(a.wtype);
  if (kern.dot && kern.quantize_activation) {
    int64_t ablk, abytes;
    activation_block(kern.activation_type, &ablk, &abytes);
    if (a.K % ablk == 0) return qmatmul_int(a, kern);
  }
  qmatmul_float(a);
}

}  // namespace

void register_quant_kernels(KernelTable& table) { table.qmatmul = qmatmul; }

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
