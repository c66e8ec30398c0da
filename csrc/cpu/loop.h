// Walking an ElementwiseLoop. Header-only and ISA-safe: kernel TUs instantiate it in their own
// inline namespace.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cpu/kernel_args.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

// Calls f(char* const* ptrs, const int64_t* inner_strides, int64_t count) for each run of the
// innermost dim that falls in the linear range [begin, end) of the iteration space.
template <class F>
void for_each_run(const ElementwiseLoop& loop, int64_t begin, int64_t end, F&& f) {
  const int nops = loop.nops;
  if (loop.ndim == 0) {
    const int64_t zero[kMaxLoopOperands] = {};
    if (begin < end) f(loop.data, zero, int64_t(1));
    return;
  }
  const int last = loop.ndim - 1;
  const int64_t inner = loop.shape[last];
  int64_t idx[kMaxLoopDims];
  int64_t rem = begin;
  for (int d = last; d >= 0; --d) {
    idx[d] = rem % loop.shape[d];
    rem /= loop.shape[d];
  }
  int64_t inner_strides[kMaxLoopOperands];
  for (int op = 0; op < nops; ++op) inner_strides[op] = loop.strides[op][last];
  char* ptrs[kMaxLoopOperands];
  int64_t pos = begin;
  while (pos < end) {
    for (int op = 0; op < nops; ++op) {
      int64_t off = 0;
      for (int d = 0; d <= last; ++d) off += idx[d] * loop.strides[op][d];
      ptrs[op] = loop.data[op] + off;
    }
    const int64_t count = std::min(inner - idx[last], end - pos);
    f(static_cast<char* const*>(ptrs), static_cast<const int64_t*>(inner_strides), count);
    pos += count;
    idx[last] += count;
    for (int d = last; d > 0 && idx[d] == loop.shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// Runs for_each_run over the whole loop, split across the thread pool in ranges of >= grain items.
template <class F>
void parallel_runs(const ElementwiseLoop& loop, int64_t grain, F&& f) {
  if (loop.numel <= 0) return;
  parallel_for(loop.numel, grain, [&](int64_t begin, int64_t end) { for_each_run(loop, begin, end, f); });
}

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
