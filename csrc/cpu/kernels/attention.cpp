// Scaled dot-product attention in the flash-attention style: queries in blocks, keys in tiles, an
// online softmax (running max m and sum l per query, output rescaled when m grows); no scores beyond
// one (keys x queries) tile exist at a time.
//
// A block's rows are (query position, query head) pairs of one kv head, position-major: with
// grouped-query attention the heads that share a kv head are rows of the same block, so every k/v
// row loaded is used by all of them (and one decode query of 4 heads is a block of 4 rows).
// Scores are computed transposed, S^T = K Q^T: queries lie in vector lanes and keys in rows, so the
// packed Q^T block is loaded as vectors, k is broadcast element by element straight from its rows
// (nothing transposed), and the softmax's max / exp / sum run across queries without horizontal
// reductions. P V then accumulates into the block's output rows, vectorised along v's head dim.
// Blocks of at most 4 rows (decode) would leave most lanes empty that way: they compute scores as
// dot products along the head dim (W keys reduced into one vector at once) and the softmax along
// the keys instead; P V is the same, each v row loaded once for all rows.
// float16 / bfloat16 k and v tiles are converted to float32 once per tile; all math is in the
// compute type (float32, or float64 in the baseline build).
//
// Decode-like calls with too few blocks to keep the threads busy split the keys: each split
// returns its (m, l, unnormalised output) and a final pass merges them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include "cpu/attention_args.h"
#include "cpu/kernel_table.h"
#include "cpu/kernels/scratch_buffer.h"
#include "cpu/kernels/dispatch.h"
#include "cpu/kernels/forward.h"
#include "cpu/kernels/vec_io.h"
#include "cpu/thread_pool.h"

namespace ember::cpu::baseline {
void attention_all_dtypes(const AttentionArgs& args);
}  // namespace ember::cpu::baseline

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

template <int N, class F>
EMBER_FORCE_INLINE void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (f(std::integral_constant<int, I>{}), ...); }(
      std::make_integer_sequence<int, N>{});
}


ScratchBuffer& thread_scratch() {
  static thread_local ScratchBuffer buffer;
  return buffer;
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// st[j * ld + i] = sum_e k_j[e] * qt[e * ld + i] for keys j < kj (<= KJ; k_j = k + j * ldk) and the
// NV * W query lanes i starting at qt / st.
template <int KJ, int NV, class C>
void scores_tile(const C* k, int64_t ldk, int kj, const C* qt, int64_t ld, int64_t E, C* st) {
  using V = Vec<C>;
  constexpr int W = V::size;
  const C* rows[KJ];
  for (int j = 0; j < KJ; ++j) rows[j] = k + (j < kj ? j : kj - 1) * ldk;  // a short tile repeats its last key
  V acc[KJ][NV];
  unroll<KJ>([&](auto j) { unroll<NV>([&](auto v) { acc[j][v] = V(0); }); });
  for (int64_t e = 0; e < E; ++e) {
    V q[NV];
    unroll<NV>([&](auto v) { q[v] = V::load(qt + e * ld + v * W); });
    unroll<KJ>([&](auto j) {
      const V kv(rows[j][e]);
      unroll<NV>([&](auto v) { acc[j][v] = em_fma(kv, q[v], acc[j][v]); });
    });
  }
  unroll<KJ>([&](auto j) {
    if (j < kj) unroll<NV>([&](auto v) { acc[j][v].store(st + j * ld + v * W); });
  });
}

// o[r * ldo + c * W + x] += sum_j p[j * ld + r] * vv[j * ldv + c * W + x] for rows r < rows (<= RM),
// NC vectors c and keys j < nk.
template <int RM, int NC, class C>
void accumulate_tile(const C* p, int64_t ld, int rows, const C* vv, int64_t ldv, int64_t nk, C* o, int64_t ldo) {
  using V = Vec<C>;
  constexpr int W = V::size;
  int row[RM];
  for (int r = 0; r < RM; ++r) row[r] = r < rows ? r : rows - 1;
  V acc[RM][NC];
  unroll<RM>([&](auto r) { unroll<NC>([&](auto c) { acc[r][c] = V::load(o + row[r] * ldo + c * W); }); });
  for (int64_t j = 0; j < nk; ++j) {
    V vb[NC];
    unroll<NC>([&](auto c) { vb[c] = V::load(vv + j * ldv + c * W); });
    unroll<RM>([&](auto r) {
      const V pb(p[j * ld + row[r]]);
      unroll<NC>([&](auto c) { acc[r][c] = em_fma(pb, vb[c], acc[r][c]); });
    });
  }
  unroll<RM>([&](auto r) {
    if (r < rows) unroll<NC>([&](auto c) { acc[r][c].store(o + r * ldo + c * W); });
  });
}

// Sums of the first 8 (or W) accumulators, one per lane: out[j] = sum of the lanes of acc[j].
template <class V, int N>
EMBER_FORCE_INLINE V lane_sums(const V (&acc)[N]) {
#if defined(__AVX2__) && !defined(__AVX512F__)
  if constexpr (N == 8 && V::size == 8 && std::is_same_v<V, Vec<float>>) {
    const __m256 t0 = _mm256_hadd_ps(acc[0].v, acc[1].v), t1 = _mm256_hadd_ps(acc[2].v, acc[3].v);
    const __m256 t2 = _mm256_hadd_ps(acc[4].v, acc[5].v), t3 = _mm256_hadd_ps(acc[6].v, acc[7].v);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return V(_mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31)));
  }
#endif
  using C = typename vec_scalar<V>::type;
  alignas(64) C sums[V::size] = {};
  for (int j = 0; j < N && j < V::size; ++j) sums[j] = reduce_add(acc[j]);
  return V::load(sums);
}

// Few query rows (decode): s[r * ld + j] = q_r . k_j (q_r = q + r * ldq, zero-padded to a multiple
// of W) for r < R and keys j < nk, as dot products along the head dim, W keys at a time. Writes
// whole vectors: s rows must have room up to nk rounded up to W.
template <class C>
void scores_few_rows(const C* k, int64_t ldk, int64_t nk, int64_t E, const C* q, int64_t ldq, int R, C* s, int64_t ld) {
  using V = Vec<C>;
  constexpr int W = V::size;
  const int64_t full = E / W * W;
  const int tail = static_cast<int>(E - full);
  for (int64_t j = 0; j < nk; j += W) {
    const int kj = static_cast<int>(std::min<int64_t>(W, nk - j));
    const C* rows[W];
    for (int i = 0; i < W; ++i) rows[i] = k + (j + (i < kj ? i : kj - 1)) * ldk;
    for (int r = 0; r < R; ++r) {
      const C* qr = q + r * ldq;
      V acc[W];
      unroll<W>([&](auto i) { acc[i] = V(0); });
      for (int64_t e = 0; e < full; e += W) {
        const V qv = V::load(qr + e);
        unroll<W>([&](auto i) { acc[i] = em_fma(V::load(rows[i] + e), qv, acc[i]); });
      }
      if (tail) {
        const V qv = V::load(qr + full);
        unroll<W>([&](auto i) { acc[i] = em_fma(V::load_partial(rows[i] + full, tail), qv, acc[i]); });
      }
      lane_sums(acc).store(s + r * ld + j);
    }
  }
}

// o[r * ldo + c * W + x] += sum_j p[r * ld + j] * vv[j * ldv + c * W + x] for RM rows, NC vectors c, keys j < nk.
template <int RM, int NC, class C>
void accumulate_rows(const C* p, int64_t ld, const C* vv, int64_t ldv, int64_t nk, C* o, int64_t ldo) {
  using V = Vec<C>;
  constexpr int W = V::size;
  V acc[RM][NC];
  unroll<RM>([&](auto r) { unroll<NC>([&](auto c) { acc[r][c] = V::load(o + r * ldo + c * W); }); });
  for (int64_t j = 0; j < nk; ++j) {
    V vb[NC];
    unroll<NC>([&](auto c) { vb[c] = V::load(vv + j * ldv + c * W); });
    unroll<RM>([&](auto r) {
      const V pb(p[r * ld + j]);
      unroll<NC>([&](auto c) { acc[r][c] = em_fma(pb, vb[c], acc[r][c]); });
    });
  }
  unroll<RM>([&](auto r) { unroll<NC>([&](auto c) { acc[r][c].store(o + r * ldo + c * W); }); });
}

// accumulate_rows over `vecs` vectors of the output rows: NC at a time, then 2, then 1.
template <int RM, int NC, class C>
void accumulate_rows_span(const C* p, int64_t ld, const C* vv, int64_t ldv, int64_t nk, C* o, int64_t ldo, int64_t vecs) {
  constexpr int W = Vec<C>::size;
  int64_t c = 0;
  for (; c + NC <= vecs; c += NC) accumulate_rows<RM, NC>(p, ld, vv + c * W, ldv, nk, o + c * W, ldo);
  if constexpr (NC > 2) {
    for (; c + 2 <= vecs; c += 2) accumulate_rows<RM, 2>(p, ld, vv + c * W, ldv, nk, o + c * W, ldo);
  }
  for (; c < vecs; ++c) accumulate_rows<RM, 1>(p, ld, vv + c * W, ldv, nk, o + c * W, ldo);
}

template <class T>
class Attention {
 public:
  using C = compute_t<T>;
  using V = Vec<C>;
  static constexpr int W = V::size;
  static constexpr int kRows = 8 * W;  // rows (query position x head) per block
  static constexpr int kKeys = 64;     // keys per tile
  static constexpr int kScoreKeys = 6, kScoreVecs = 2;
  static constexpr int kOutRows = 4, kOutVecs = 3;
  // Blocks of at most this many rows (decode without or with little grouping) use dot products
  // along the head dim instead of queries in vector lanes, which would leave most lanes empty.
  static constexpr int kFewRows = 4;

  explicit Attention(const AttentionArgs& a)
      : a_(a), group_(a.heads / a.kv_heads), E_(a.head_dim), Ev_(a.v_head_dim), Evp_(round_up(a.v_head_dim, W)) {
    rows_ = a.q_len * group_;
    blocks_ = (rows_ + kRows - 1) / kRows;
  }

  void run() const {
    const int64_t tasks = a_.batch * a_.kv_heads * blocks_;
    if (tasks == 0) return;
    const int threads = num_threads();
    // Too few blocks for the threads (decode): split the keys, in whole tiles of at least 512 keys.
    int64_t splits = 1;
    if (tasks < 4 * threads) {
      splits = std::min<int64_t>((4 * threads + tasks - 1) / tasks, a_.kv_len / 512);
      if (splits < 1) splits = 1;
    }
    if (splits == 1) {
      parallel_for(tasks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          int64_t b, kvh, blk;
          locate(t, b, kvh, blk);
          block(b, kvh, blk * kRows, 0, a_.kv_len, nullptr);
        }
      });
      return;
    }
    const int64_t split_len = round_up((a_.kv_len + splits - 1) / splits, kKeys);
    const int64_t part_size = 2 * kRows + kRows * Evp_;  // m, l, output rows
    ScratchBuffer parts;
    C* all = parts.get<C>(static_cast<size_t>(tasks * splits * part_size));
    parallel_for(tasks * splits, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        int64_t b, kvh, blk;
        locate(i / splits, b, kvh, blk);
        const int64_t s0 = (i % splits) * split_len;
        block(b, kvh, blk * kRows, std::min(s0, a_.kv_len), std::min(s0 + split_len, a_.kv_len), all + i * part_size);
      }
    });
    parallel_for(tasks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        int64_t b, kvh, blk;
        locate(t, b, kvh, blk);
        merge(b, kvh, blk * kRows, all + t * splits * part_size, splits, part_size);
      }
    });
  }

 private:
  const AttentionArgs& a_;
  int64_t group_, E_, Ev_, Evp_, rows_ = 0, blocks_ = 0;

  // Task t -> (batch, kv head, block); the last blocks (most keys under a causal mask) come first.
  void locate(int64_t t, int64_t& b, int64_t& kvh, int64_t& blk) const {
    kvh = t % a_.kv_heads;
    t /= a_.kv_heads;
    b = t % a_.batch;
    blk = blocks_ - 1 - t / a_.batch;
  }

  int block_rows(int64_t n0) const { return static_cast<int>(std::min<int64_t>(kRows, rows_ - n0)); }
  int64_t head_of(int64_t kvh, int64_t n) const { return kvh * group_ + n % group_; }
  int64_t position_of(int64_t n) const { return n / group_; }

  T* out_row(int64_t b, int64_t kvh, int64_t n) const {
    return static_cast<T*>(a_.out) + b * a_.out_stride[0] + head_of(kvh, n) * a_.out_stride[1] +
           position_of(n) * a_.out_stride[2];
  }

  // Writes o * inv_l to a row of out (inv_l == 0: zeros).
  void write_row(T* dst, const C* o, C inv_l) const {
    const V s(inv_l);
    int64_t c = 0;
    for (; c + W <= Ev_; c += W) store_vec(dst + c, V::load(o + c) * s);
    if (c < Ev_) store_vec_partial(dst + c, V::load(o + c) * s, static_cast<int>(Ev_ - c));
  }

  static C inverse(C l) { return l == C(0) ? C(0) : C(1) / l; }

  // Rows [n0, n0 + kRows) of (b, kvh) against keys [s0, s1). partial == nullptr: writes the
  // normalised output; otherwise stores (m, l, unnormalised output rows) there.
  void block(int64_t b, int64_t kvh, int64_t n0, int64_t s0, int64_t s1, C* partial) const {
    const int R = block_rows(n0);
    const int64_t Rp = round_up(R, W);
    const int64_t E = E_, Evp = Evp_, S = a_.kv_len;
    const bool few = R <= kFewRows;
    // few: q rows (R x Ep) and scores s[r * kKeys + j]; otherwise q^T (E x Rp) and st[j * Rp + r].
    const int64_t Ep = round_up(E, W), q_size = few ? R * Ep : E * Rp, ld_key = few ? 1 : Rp, ld_row = few ? kKeys : 1;
    C* qt = thread_scratch().get<C>(
        static_cast<size_t>(q_size + kKeys * kRows + kRows * Evp + kKeys * E + kKeys * Evp + 3 * kRows));
    C* st = qt + q_size;
    C* o = st + kKeys * kRows;
    C* kbuf = o + kRows * Evp;
    C* vbuf = kbuf + kKeys * E;
    C* m = vbuf + kKeys * Evp;
    C* l = m + kRows;
    C* alpha = l + kRows;

    // Rows: queries scaled and packed transposed (qt[e * Rp + r]), key limits, mask rows.
    int64_t limit[kRows];
    const char* mask_row[kRows];
    int64_t key_end = s0;
    const C scale = static_cast<C>(a_.scale);
    for (int r = 0; r < Rp; ++r) {
      if (r >= R) {
        if (!few) {
          for (int64_t e = 0; e < E; ++e) qt[e * Rp + r] = C(0);
        }
        continue;
      }
      const int64_t n = n0 + r, h = head_of(kvh, n), pos = position_of(n);
      const T* q = static_cast<const T*>(a_.q) + b * a_.q_stride[0] + h * a_.q_stride[1] + pos * a_.q_stride[2];
      if (few) {
        for (int64_t e = 0; e < Ep; ++e) qt[r * Ep + e] = e < E ? static_cast<C>(q[e]) * scale : C(0);
      } else {
        for (int64_t e = 0; e < E; ++e) qt[e * Rp + r] = static_cast<C>(q[e]) * scale;
      }
      limit[r] = a_.causal ? std::max<int64_t>(0, std::min<int64_t>(S, pos + S - a_.q_len + 1)) : S;
      limit[r] = std::min(limit[r], s1);
      key_end = std::max(key_end, limit[r]);
      if (a_.mask_kind != AttentionMaskKind::None) {
        const int64_t item = a_.mask_kind == AttentionMaskKind::Bool ? 1 : sizeof(C);
        mask_row[r] = static_cast<const char*>(a_.mask) +
                      (b * a_.mask_stride[0] + h * a_.mask_stride[1] + pos * a_.mask_stride[2]) * item;
      }
    }
    for (int r = 0; r < kRows; ++r) {
      m[r] = -std::numeric_limits<C>::infinity();
      l[r] = C(0);
    }
    for (int64_t i = 0; i < R * Evp; ++i) o[i] = C(0);

    for (int64_t j0 = s0; j0 < key_end; j0 += kKeys) {
      const int64_t nk = std::min<int64_t>(kKeys, key_end - j0);
      if (few) {
        scores_few(b, kvh, j0, nk, qt, Ep, R, kbuf, st);
      } else {
        scores(b, kvh, j0, nk, qt, Rp, R, limit, kbuf, st);
      }
      mask_scores(R, ld_key, ld_row, j0, nk, limit, mask_row, st);
      if (few) {
        online_softmax_rows(st, R, nk, m, l, alpha);
      } else {
        online_softmax(st, Rp, nk, m, l, alpha);
      }
      for (int r = 0; r < R; ++r) {
        if (alpha[r] == C(1)) continue;
        const V s(alpha[r]);
        for (int64_t c = 0; c < Evp; c += W) (V::load(o + r * Evp + c) * s).store(o + r * Evp + c);
      }
      accumulate(b, kvh, j0, nk, st, ld_key, ld_row, R, limit, vbuf, o);
    }

    if (partial) {
      std::memcpy(partial, m, kRows * sizeof(C));
      std::memcpy(partial + kRows, l, kRows * sizeof(C));
      std::memcpy(partial + 2 * kRows, o, R * Evp * sizeof(C));
      return;
    }
    for (int r = 0; r < R; ++r) write_row(out_row(b, kvh, n0 + r), o + r * Evp, inverse(l[r]));
  }

  // st[j * Rp + r] = (scale q_r) . k_{j0 + j} for j < nk.
  // Keys of the tile [j0, j0 + nk) that rows [r0, r1) may see (the causal diagonal cuts the rest).
  static int64_t keys_seen(const int64_t* limit, int R, int64_t r0, int64_t r1, int64_t j0, int64_t nk) {
    int64_t seen = 0;
    for (int64_t r = r0; r < r1 && r < R; ++r) seen = std::max(seen, limit[r] - j0);
    return std::min(seen, nk);
  }

  void scores(int64_t b, int64_t kvh, int64_t j0, int64_t nk, const C* qt, int64_t Rp, int R, const int64_t* limit,
              C* kbuf, C* st) const {
    const int64_t E = E_;
    const T* k = static_cast<const T*>(a_.k) + b * a_.k_stride[0] + kvh * a_.k_stride[1] + j0 * a_.k_stride[2];
    const C* kc;
    int64_t ldk;
    if constexpr (std::is_same_v<T, C>) {
      kc = k;
      ldk = a_.k_stride[2];
    } else {
      for (int64_t j = 0; j < nk; ++j) convert_row(k + j * a_.k_stride[2], E, kbuf + j * E, E);
      kc = kbuf;
      ldk = E;
    }
    const int64_t vecs = Rp / W;
    const V neg_inf(-std::numeric_limits<C>::infinity());
    for (int64_t v = 0; v < vecs;) {
      const int nv = vecs - v >= kScoreVecs ? kScoreVecs : 1;
      const int64_t seen = keys_seen(limit, R, v * W, (v + nv) * W, j0, nk);
      if (nv == kScoreVecs) {
        for (int64_t j = 0; j < seen; j += kScoreKeys) {
          const int kj = static_cast<int>(std::min<int64_t>(kScoreKeys, seen - j));
          scores_tile<kScoreKeys, kScoreVecs>(kc + j * ldk, ldk, kj, qt + v * W, Rp, E, st + j * Rp + v * W);
        }
      } else {
        for (int64_t j = 0; j < seen; j += 8) {
          const int kj = static_cast<int>(std::min<int64_t>(8, seen - j));
          scores_tile<8, 1>(kc + j * ldk, ldk, kj, qt + v * W, Rp, E, st + j * Rp + v * W);
        }
      }
      for (int64_t j = seen; j < nk; ++j) {
        for (int u = 0; u < nv; ++u) neg_inf.store(st + j * Rp + (v + u) * W);
      }
      v += nv;
    }
  }

  // s[r * kKeys + j] = (scale q_r) . k_{j0 + j} for j < nk, r < R (q rows Ep apart).
  void scores_few(int64_t b, int64_t kvh, int64_t j0, int64_t nk, const C* q, int64_t Ep, int R, C* kbuf, C* s) const {
    const T* k = static_cast<const T*>(a_.k) + b * a_.k_stride[0] + kvh * a_.k_stride[1] + j0 * a_.k_stride[2];
    if constexpr (std::is_same_v<T, C>) {
      scores_few_rows(k, a_.k_stride[2], nk, E_, q, Ep, R, s, kKeys);
    } else {
      for (int64_t j = 0; j < nk; ++j) convert_row(k + j * a_.k_stride[2], E_, kbuf + j * E_, E_);
      scores_few_rows<C>(kbuf, E_, nk, E_, q, Ep, R, s, kKeys);
    }
  }

  // Converts n elements of a row to the compute type into dst[0, width); width >= n, and the
  // elements in [n, width) that share the last vector become 0.
  static void convert_row(const T* src, int64_t n, C* dst, int64_t width) {
    int64_t i = 0;
    for (; i + W <= n; i += W) load_vec(src + i).store(dst + i);
    if (i < n) {
      const V x = load_vec_partial(src + i, static_cast<int>(n - i));
      if (width - i >= W) x.store(dst + i);
      else x.store_partial(dst + i, static_cast<int>(width - i));
    }
  }

  // Applies the mask and the causal / split limit to the scores of key j0 + j and row r, stored at
  // st[j * ld_key + r * ld_row].
  void mask_scores(int R, int64_t ld_key, int64_t ld_row, int64_t j0, int64_t nk, const int64_t* limit,
                   const char* const* mask_row, C* st) const {
    constexpr C kNegInf = -std::numeric_limits<C>::infinity();
    if (a_.mask_kind != AttentionMaskKind::None) {
      const bool is_bool = a_.mask_kind == AttentionMaskKind::Bool;
      const int64_t step = a_.mask_stride[3] * (is_bool ? 1 : int64_t(sizeof(C)));
      for (int r = 0; r < R; ++r) {
        const char* p = mask_row[r] + j0 * step;
        C* s = st + r * ld_row;
        if (is_bool) {
          for (int64_t j = 0; j < nk; ++j) {
            if (!p[j * step]) s[j * ld_key] = kNegInf;
          }
        } else {
          for (int64_t j = 0; j < nk; ++j) {
            C add;
            std::memcpy(&add, p + j * step, sizeof add);
            s[j * ld_key] += add;
          }
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int64_t j = std::max<int64_t>(0, limit[r] - j0); j < nk; ++j) st[j * ld_key + r * ld_row] = kNegInf;
    }
  }

  // Online softmax over one tile: m grows to the tile's max, st becomes exp(s - m), l and the
  // factor alpha = exp(m_old - m_new) for the output rows. A row with no key yet keeps m = -inf
  // and gets p = 0 (the max is taken as 0 to avoid inf - inf).
  static void online_softmax(C* st, int64_t Rp, int64_t nk, C* m, C* l, C* alpha) {
    const V neg_inf(-std::numeric_limits<C>::infinity());
    for (int64_t v = 0; v < Rp; v += W) {
      V mx = V::load(st + v);
      for (int64_t j = 1; j < nk; ++j) mx = em_max(mx, V::load(st + j * Rp + v));
      const V m_old = V::load(m + v);
      const V m_new = em_max(m_old, mx);
      const V base = em_select(m_new == neg_inf, V(0), m_new);
      V sum0(0), sum1(0);
      int64_t j = 0;
      for (; j + 2 <= nk; j += 2) {
        const V p0 = em_exp(V::load(st + j * Rp + v) - base);
        const V p1 = em_exp(V::load(st + (j + 1) * Rp + v) - base);
        p0.store(st + j * Rp + v);
        p1.store(st + (j + 1) * Rp + v);
        sum0 += p0;
        sum1 += p1;
      }
      if (j < nk) {
        const V p = em_exp(V::load(st + j * Rp + v) - base);
        p.store(st + j * Rp + v);
        sum0 += p;
      }
      const V a = em_exp(m_old - base);
      (V::load(l + v) * a + (sum0 + sum1)).store(l + v);
      m_new.store(m + v);
      a.store(alpha + v);
    }
  }

  // online_softmax for few rows stored s[r * kKeys + j]: vectors along the keys.
  static void online_softmax_rows(C* s, int R, int64_t nk, C* m, C* l, C* alpha) {
    constexpr C kNegInf = -std::numeric_limits<C>::infinity();
    const int64_t nkp = round_up(nk, W);
    for (int r = 0; r < R; ++r) {
      C* row = s + r * kKeys;
      for (int64_t j = nk; j < nkp; ++j) row[j] = kNegInf;
      V mx(kNegInf);
      for (int64_t j = 0; j < nkp; j += W) mx = em_max(mx, V::load(row + j));
      const C tile_max = reduce_max(mx), m_old = m[r];
      const C m_new = (tile_max > m_old || tile_max != tile_max) ? tile_max : m_old;
      const C base = m_new == kNegInf ? C(0) : m_new;
      const V vb(base);
      V sum(0);
      for (int64_t j = 0; j < nkp; j += W) {
        const V p = em_exp(V::load(row + j) - vb);
        p.store(row + j);
        sum += p;
      }
      alpha[r] = std::exp(m_old - base);
      l[r] = l[r] * alpha[r] + reduce_add(sum);
      m[r] = m_new;
    }
  }

  // o[r] += sum_j st[j * Rp + r] v_{j0 + j} for r < R.
  void accumulate(int64_t b, int64_t kvh, int64_t j0, int64_t nk, const C* st, int64_t ld_key, int64_t ld_row, int R,
                  const int64_t* limit, C* vbuf, C* o) const {
    const int64_t Evp = Evp_;
    const T* v = static_cast<const T*>(a_.v) + b * a_.v_stride[0] + kvh * a_.v_stride[1] + j0 * a_.v_stride[2];
    const C* vc = vbuf;
    int64_t ldv = Evp;
    if constexpr (std::is_same_v<T, C>) {
      if (Ev_ == Evp) {
        vc = v;
        ldv = a_.v_stride[2];
      }
    }
    if (vc == vbuf) {
      for (int64_t j = 0; j < nk; ++j) convert_row(v + j * a_.v_stride[2], Ev_, vbuf + j * Evp, Evp);
    }
    if (ld_key == 1) {  // few rows: p[r * ld_row + j]
      const int64_t vecs = Evp / W;
      switch (R) {
        case 1: return accumulate_rows_span<1, 8>(st, ld_row, vc, ldv, nk, o, Evp, vecs);
        case 2: return accumulate_rows_span<2, 4>(st, ld_row, vc, ldv, nk, o, Evp, vecs);
        case 3: return accumulate_rows_span<3, 3>(st, ld_row, vc, ldv, nk, o, Evp, vecs);
        default: return accumulate_rows_span<4, 3>(st, ld_row, vc, ldv, nk, o, Evp, vecs);
      }
    }
    const int64_t Rp = ld_key;
    const int64_t vecs = Evp / W;
    for (int r = 0; r < R; r += kOutRows) {
      const int rows = std::min(kOutRows, R - r);
      const int64_t seen = keys_seen(limit, R, r, r + rows, j0, nk);  // later keys have p = 0
      int64_t c = 0;
      for (; c + kOutVecs <= vecs; c += kOutVecs) {
        accumulate_tile<kOutRows, kOutVecs>(st + r, Rp, rows, vc + c * W, ldv, seen, o + r * Evp + c * W, Evp);
      }
      if (vecs - c == 2) {
        accumulate_tile<kOutRows, 2>(st + r, Rp, rows, vc + c * W, ldv, seen, o + r * Evp + c * W, Evp);
      } else if (vecs - c == 1) {
        accumulate_tile<kOutRows, 1>(st + r, Rp, rows, vc + c * W, ldv, seen, o + r * Evp + c * W, Evp);
      }
    }
  }

  // Combines the splits of one block: weights exp(m_s - max_s m_s).
  void merge(int64_t b, int64_t kvh, int64_t n0, const C* parts, int64_t splits, int64_t part_size) const {
    const int R = block_rows(n0);
    const int64_t Evp = Evp_;
    C* acc = thread_scratch().get<C>(static_cast<size_t>(Evp));
    for (int r = 0; r < R; ++r) {
      C mx = -std::numeric_limits<C>::infinity();
      for (int64_t s = 0; s < splits; ++s) mx = std::max(mx, parts[s * part_size + r]);
      if (std::isinf(mx) && mx < 0) mx = 0;
      C l = 0;
      for (int64_t c = 0; c < Evp; ++c) acc[c] = C(0);
      for (int64_t s = 0; s < splits; ++s) {
        const C* p = parts + s * part_size;
        const C w = std::exp(p[r] - mx);
        if (w == C(0)) continue;
        l += w * p[kRows + r];
        const C* o = p + 2 * kRows + r * Evp;
        const V wv(w);
        for (int64_t c = 0; c < Evp; c += W) em_fma(wv, V::load(o + c), V::load(acc + c)).store(acc + c);
      }
      write_row(out_row(b, kvh, n0 + r), acc, inverse(l));
    }
  }
};

template <class T>
void run(const AttentionArgs& args) {
  Attention<T>(args).run();
}

void attention_dispatch(const AttentionArgs& args) {
  dispatch(args.dtype, "scaled_dot_product_attention: needs a floating dtype", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_kernel_float_v<T>) {
      run<T>(args);
      return true;
    }
    return false;
  });
}

}  // namespace

#if defined(EMBER_ISA_BASELINE)
void attention_all_dtypes(const AttentionArgs& args) { attention_dispatch(args); }
void register_attention_kernels(KernelTable& table) { table.attention = &attention_all_dtypes; }
#else
namespace {
void attention_kernel(const AttentionArgs& args) {
  if (!is_simd_dtype(args.dtype)) return baseline::attention_all_dtypes(args);
  attention_dispatch(args);
}
}  // namespace
void register_attention_kernels(KernelTable& table) { table.attention = &attention_kernel; }
#endif

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
