// Convolution as a GEMM: y[g] (C_out/groups x OH*OW) = w[g] (C_out/groups x K) @ im2col(x)[g] (K x OH*OW),
// K = C_in/groups * KH * KW, accumulated in float32 with the GEMM's register-blocked micro-kernel.
//
// The im2col matrix is never built whole: each work item (image, group, tile of output positions)
// writes its K x tile columns straight into the micro-kernel's packed B panels, one KC block at a
// time, in a per-thread buffer of at most KC x tile floats (~256 KiB). Weights are packed once per
// call into MR-row panels shared by all threads. A 1x1, stride-1, unpadded convolution over a
// spatially contiguous input packs its B panels straight from x (it is exactly a GEMM).
// Depthwise convolutions (one input channel per group) go to conv_depthwise.cpp instead.
#include <algorithm>
#include <cstdint>
#include <new>

#include "cpu/conv_args.h"
#include "cpu/gemm/gemm_kernels.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {
namespace conv {

void depthwise(const ConvArgs& a);  // conv_depthwise.cpp

namespace {

using gemm::kMicroKernels;
using gemm::kMR;
using gemm::kNR;
using gemm::RowPanels;
using gemm::row_panels;
using gemm::Shape;
using gemm::Vec;

constexpr int MR = kMR<float>, NR = kNR<float>;
constexpr int64_t KC = Shape<float>::KC, MC = Shape<float>::MC;
// B tile budget: KC x tile floats stay in L2 next to MC x KC of packed weights.
constexpr int64_t kTileBytes = 256 * 1024;
constexpr int64_t kMaxTile = 2048;

// A float buffer, 64-byte aligned, grown on demand and kept for the next call; its size is
// reported to the workspace counter.
struct Scratch {
  float* ptr = nullptr;
  int64_t capacity = 0;
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { release(); }
  void release() {
    if (!ptr) return;
    ::operator delete(ptr, std::align_val_t(64));
    conv_workspace_changed(-capacity * int64_t(sizeof(float)));
    ptr = nullptr;
    capacity = 0;
  }
  float* get(int64_t n) {
    if (n > capacity) {
      release();
      ptr = static_cast<float*>(::operator new(static_cast<size_t>(n) * sizeof(float), std::align_val_t(64)));
      capacity = n;
      conv_workspace_changed(n * int64_t(sizeof(float)));
    }
    return ptr;
  }
};

struct ThreadScratch {
  Scratch b;       // packed B panels of one tile
  Scratch row;     // one im2col row of a tile
  Scratch c;       // float32 C tile for 16-bit outputs
  Scratch weight;  // the calling thread's: packed weights of the current call
};
ThreadScratch& scratch() {
  static thread_local ThreadScratch s;
  return s;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// First row of panel p (p == count(): the end) in a block cut by `plan`.
int64_t panel_row(const RowPanels& plan, int64_t p) {
  if (p <= plan.full) return p * MR;
  return plan.full * MR + plan.tail1 + (p > plan.full + 1 ? plan.tail2 : 0);
}

template <class S>
struct Problem {
  const ConvArgs& a;
  const S* x;
  const S* w;
  int64_t Cin_g, Cout_g, K, P, KK;
  bool direct_b;  // 1x1, stride 1, no padding, spatially contiguous x: B panels come from x itself
  bool y_dense;   // y's (OH, OW) plane is contiguous: C tiles can be written in place

  explicit Problem(const ConvArgs& args)
      : a(args), x(static_cast<const S*>(args.x)), w(static_cast<const S*>(args.w)) {
    Cin_g = a.C_in / a.groups;
    Cout_g = a.C_out / a.groups;
    KK = a.KH * a.KW;
    K = Cin_g * KK;
    P = a.OH * a.OW;
    direct_b = KK == 1 && a.stride_h == 1 && a.stride_w == 1 && a.pad_h == 0 && a.pad_w == 0 && a.OH == a.H &&
               a.OW == a.W && a.x_strides[3] == 1 && a.x_strides[2] == a.W;
    y_dense = a.y_strides[3] == 1 && (a.OH == 1 || a.y_strides[2] == a.OW);
  }
};

// Writes `len` values of im2col row (kh, kw) for output positions (oh, ow .. ow + len - 1) of one
// input channel plane xc into d.
template <class S>
void fill_segment(const Problem<S>& p, const S* xc, int64_t kh, int64_t kw, int64_t oh, int64_t ow, int64_t len,
                  float* d) {
  const ConvArgs& a = p.a;
  const int64_t ih = oh * a.stride_h - a.pad_h + kh * a.dil_h;
  if (ih < 0 || ih >= a.H) {
    for (int64_t t = 0; t < len; ++t) d[t] = 0.0f;
    return;
  }
  const S* row = xc + ih * a.x_strides[2];
  const int64_t xs = a.x_strides[3], sw = a.stride_w;
  const int64_t iw0 = ow * sw - a.pad_w + kw * a.dil_w;  // input column of t = 0
  // Columns t in [lo, hi) read x; the rest are padding.
  const int64_t lo = std::min(len, iw0 >= 0 ? int64_t(0) : ceil_div(-iw0, sw));
  const int64_t hi = std::max(lo, std::min(len, iw0 >= a.W ? int64_t(0) : ceil_div(a.W - iw0, sw)));
  int64_t t = 0;
  for (; t < lo; ++t) d[t] = 0.0f;
  if (sw == 1 && xs == 1) {
    const S* s = row + iw0;
    constexpr int VW = Vec<float>::W;
    for (; t + VW <= hi; t += VW) Vec<float>::store(d + t, Vec<float>::load(s + t));
    for (; t < hi; ++t) d[t] = gemm::to_f32(s[t]);
  } else if (sw == 2 && xs == 1) {
    const S* s = row + iw0;
    for (; t < hi; ++t) d[t] = gemm::to_f32(s[2 * t]);
  } else {
    for (; t < hi; ++t) d[t] = gemm::to_f32(row[(iw0 + t * sw) * xs]);
  }
  for (; t < len; ++t) d[t] = 0.0f;
}

// Packs rows [k0, k0 + kc) x output positions [j0, j0 + cols) of image n, group g's im2col matrix
// into NR-column panels (panel q at bp + q * kc * NR, zero-padded past `cols`). Each row is first
// gathered into `row` (one segment per output row the tile touches), then cut into the panels.
template <class S>
void pack_im2col(const Problem<S>& p, int64_t n, int64_t g, int64_t k0, int64_t kc, int64_t j0, int64_t cols,
                 float* row, float* bp) {
  const ConvArgs& a = p.a;
  const S* xg = p.x + n * a.x_strides[0] + g * p.Cin_g * a.x_strides[1];
  if (p.direct_b) {
    gemm::pack_b<float>(xg + k0 * a.x_strides[1] + j0, a.x_strides[1], int64_t(1), kc, cols, bp);
    return;
  }
  const int64_t npanels = ceil_div(cols, NR);
  for (int64_t t = cols; t < npanels * NR; ++t) row[t] = 0.0f;
  const int64_t oh_first = j0 / a.OW, oh_last = (j0 + cols - 1) / a.OW;
  int64_t ci = k0 / p.KK, kh = (k0 % p.KK) / a.KW, kw = k0 % a.KW;
  for (int64_t r = 0; r < kc; ++r) {
    const S* xc = xg + ci * a.x_strides[1];
    for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
      const int64_t begin = std::max(j0, oh * a.OW), end = std::min(j0 + cols, (oh + 1) * a.OW);
      fill_segment(p, xc, kh, kw, oh, begin - oh * a.OW, end - begin, row + (begin - j0));
    }
    float* d = bp + r * NR;
    for (int64_t q = 0; q < npanels; ++q, d += kc * NR) {
      for (int v = 0; v < NR; v += Vec<float>::W) Vec<float>::store(d + v, Vec<float>::load(row + q * NR + v));
    }
    if (++kw == a.KW) {
      kw = 0;
      if (++kh == a.KH) {
        kh = 0;
        ++ci;
      }
    }
  }
}

// How the work is cut: items = N x groups x tiles x m_parts, each computing a block of output
// channels (whole MR panels of the packed weights) over a tile of output positions.
struct Plan {
  int64_t tile, tiles, m_parts, panels, items;
  RowPanels rows;
};

Plan make_plan(int64_t N, int64_t groups, int64_t Cout_g, int64_t K, int64_t P, int nthreads) {
  Plan plan{};
  plan.rows = row_panels<float>(Cout_g);
  plan.panels = plan.rows.count();
  const int64_t kc = std::min(K, KC);
  int64_t tile = std::clamp<int64_t>(kTileBytes / int64_t(sizeof(float)) / std::max<int64_t>(kc, 1) / NR * NR, NR,
                                     kMaxTile);
  const int64_t images = N * groups;
  // Smaller tiles until every thread has a few items (not below one panel).
  while (tile > NR && images * ceil_div(P, tile) < 4 * int64_t(nthreads)) tile = std::max<int64_t>(NR, tile / 2 / NR * NR);
  plan.tile = tile;
  plan.tiles = ceil_div(P, tile);
  const int64_t items = images * plan.tiles;
  plan.m_parts = 1;
  if (items < 2 * int64_t(nthreads)) plan.m_parts = std::min(plan.panels, ceil_div(2 * int64_t(nthreads), items));
  plan.items = items * plan.m_parts;
  return plan;
}

template <class S>
void conv_gemm(const ConvArgs& a) {
  const Problem<S> p(a);
  if (p.P == 0 || a.C_out == 0 || a.N == 0) return;
  const S* bias = static_cast<const S*>(a.bias);
  S* y = static_cast<S*>(a.y);
  const Plan plan = make_plan(a.N, a.groups, p.Cout_g, p.K, p.P, num_threads());

  // Packed weights: per group, per KC block, the panels of all Cout_g rows (MR x kc each).
  const int64_t group_stride = plan.panels * MR * p.K;
  float* wp = scratch().weight.get(std::max<int64_t>(a.groups * group_stride, 1));
  const int64_t kblocks = ceil_div(p.K, KC);
  parallel_for(a.groups * kblocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t g = i / kblocks, pc = (i % kblocks) * KC, kc = std::min(KC, p.K - pc);
      gemm::pack_a<float>(p.w + g * p.Cout_g * p.K + pc, p.K, int64_t(1), p.Cout_g, kc,
                          wp + g * group_stride + pc * plan.panels * MR);
    }
  });

  constexpr int64_t kChunkPanels = std::max<int64_t>(1, MC / MR);
  parallel_for(plan.items, 1, [&](int64_t begin, int64_t end) {
    ThreadScratch& ts = scratch();
    for (int64_t item = begin; item < end; ++item) {
      int64_t rest = item;
      const int64_t part = rest % plan.m_parts;
      rest /= plan.m_parts;
      const int64_t tile = rest % plan.tiles;
      rest /= plan.tiles;
      const int64_t g = rest % a.groups, n = rest / a.groups;
      const int64_t p0 = plan.panels * part / plan.m_parts, p1 = plan.panels * (part + 1) / plan.m_parts;
      if (p0 == p1) continue;
      const int64_t r0 = panel_row(plan.rows, p0), r1 = std::min(p.Cout_g, panel_row(plan.rows, p1));
      const int64_t j0 = tile * plan.tile, cols = std::min(plan.tile, p.P - j0);
      const int64_t co0 = g * p.Cout_g + r0;
      S* yblock = y + n * a.y_strides[0] + co0 * a.y_strides[1] + j0;  // when y_dense

      float* c;
      int64_t ldc;
      if (std::is_same_v<S, float> && p.y_dense) {
        c = reinterpret_cast<float*>(yblock);
        ldc = a.y_strides[1];
      } else {
        c = ts.c.get((r1 - r0) * plan.tile);
        ldc = cols;
      }
      if (p.K == 0) {
        for (int64_t r = 0; r < r1 - r0; ++r)
          for (int64_t j = 0; j < cols; ++j) c[r * ldc + j] = 0.0f;
      }
      const int64_t tile_padded = ceil_div(plan.tile, NR) * NR;
      float* row = ts.row.get(tile_padded);
      float* bp = ts.b.get(std::min(p.K, KC) * tile_padded);
      for (int64_t pc = 0; pc < p.K; pc += KC) {
        const int64_t kc = std::min(KC, p.K - pc);
        pack_im2col(p, n, g, pc, kc, j0, cols, row, bp);
        const float* ablock = wp + g * group_stride + pc * plan.panels * MR;
        for (int64_t ic = p0; ic < p1; ic += kChunkPanels) {
          const int64_t ic_end = std::min(p1, ic + kChunkPanels);
          for (int64_t jr = 0; jr < cols; jr += NR) {
            const int nr = static_cast<int>(std::min<int64_t>(NR, cols - jr));
            const float* bpanel = bp + (jr / NR) * kc * NR;
            for (int64_t q = ic; q < ic_end; ++q) {
              const int mr = plan.rows.rows(q, MR);
              float* ci = c + (panel_row(plan.rows, q) - r0) * ldc + jr;
              kMicroKernels<float>[mr](kc, ablock + q * MR * kc, bpanel, ci, ldc, 1, mr, nr, pc > 0, nullptr);
            }
          }
        }
      }
      // Epilogue: bias, rounding to the output dtype, scattering to a strided y.
      for (int64_t r = 0; r < r1 - r0; ++r) {
        float* crow = c + r * ldc;
        if (bias) {
          const float b = gemm::to_f32(bias[(co0 + r) * a.bias_stride]);
          for (int64_t j = 0; j < cols; ++j) crow[j] += b;
        }
        if (p.y_dense) {
          if (crow != reinterpret_cast<float*>(yblock + r * a.y_strides[1])) {
            gemm::convert_row(yblock + r * a.y_strides[1], crow, cols);
          }
          continue;
        }
        S* yc = y + n * a.y_strides[0] + (co0 + r) * a.y_strides[1];
        int64_t oh = j0 / a.OW, ow = j0 % a.OW;
        for (int64_t j = 0; j < cols; ++j) {
          yc[oh * a.y_strides[2] + ow * a.y_strides[3]] = gemm::from_compute<S>(crow[j]);
          if (++ow == a.OW) {
            ow = 0;
            ++oh;
          }
        }
      }
    }
  });
}

void conv_kernel(const ConvArgs& a) {
  if (a.groups > 1 && a.C_in == a.groups) {
    depthwise(a);
    return;
  }
  switch (a.dtype) {
    case DType::F32: conv_gemm<float>(a); break;
    case DType::F16: conv_gemm<f16>(a); break;
    case DType::BF16: conv_gemm<bf16>(a); break;
    default: kernel_error(kKernelTypeError, "conv: dtype not supported (needs float32, float16 or bfloat16)");
  }
}

}  // namespace
}  // namespace conv

void register_conv_kernels(KernelTable& table) { table.conv = &conv::conv_kernel; }

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
