#include "cpu/loop_builder.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"

namespace ember::cpu {

namespace {

struct DimEntry {
  int64_t size;
  int64_t strides[kMaxLoopOperands];  // bytes
};

// Orders dims outermost first by the operands' memory order, merges mergeable neighbours and writes
// the result into shape/strides arrays of at most kMaxLoopDims entries.
int coalesce(SmallVec<DimEntry, 8>& dims, int nops, int64_t* shape_out,
             int64_t (*strides_out)[kMaxLoopDims], int stride_rows, const char* op) {
  std::stable_sort(dims.begin(), dims.end(), [nops](const DimEntry& a, const DimEntry& b) {
    for (int k = 0; k < nops; ++k) {
      const int64_t sa = std::llabs(a.strides[k]), sb = std::llabs(b.strides[k]);
      if (sa != sb) return sa > sb;
    }
    return false;
  });
  SmallVec<DimEntry, 8> merged;
  for (size_t i = dims.size(); i-- > 0;) {  // innermost first
    const DimEntry& d = dims[i];
    if (!merged.empty()) {
      DimEntry& inner = merged.back();
      bool ok = true;
      for (int k = 0; k < nops; ++k) ok &= d.strides[k] == inner.strides[k] * inner.size;
      if (ok) {
        inner.size *= d.size;
        continue;
      }
    }
    merged.push_back(d);
  }
  const int n = static_cast<int>(merged.size());
  EMBER_CHECK(n <= kMaxLoopDims, NotImplemented, op, ": the operands' layouts leave ", n,
              " dims that cannot be merged; at most ", kMaxLoopDims, " are supported (call .contiguous() first)");
  for (int i = 0; i < n; ++i) {
    const DimEntry& d = merged[n - 1 - i];
    shape_out[i] = d.size;
    for (int k = 0; k < stride_rows; ++k) strides_out[k][i] = d.strides[k];
  }
  return n;
}

}  // namespace

ElementwiseLoop make_loop(std::initializer_list<const Tensor*> operands, const char* op) {
  ElementwiseLoop loop;
  loop.nops = static_cast<int>(operands.size());
  const Tensor& out = **operands.begin();
  const Dims& shape = out.shape();
  int k = 0;
  for (const Tensor* t : operands) loop.data[k++] = static_cast<char*>(t->data_ptr());
  loop.numel = out.numel();
  if (loop.numel == 0) return loop;
  SmallVec<DimEntry, 8> dims;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    DimEntry e{shape[d], {}};
    k = 0;
    for (const Tensor* t : operands) e.strides[k++] = t->strides()[d] * static_cast<int64_t>(t->itemsize());
    dims.push_back(e);
  }
  loop.ndim = coalesce(dims, loop.nops, loop.shape, loop.strides, loop.nops, op);
  return loop;
}

ReduceLoop make_reduce_loop(const Tensor& dst, const Tensor& src, const Dims& reduced, const char* op) {
  ReduceLoop r;
  Layout kept = src.layout();
  SmallVec<DimEntry, 8> inner;
  int64_t inner_numel = 1;
  for (int64_t d : reduced) {
    inner_numel *= src.shape()[d];
    if (src.shape()[d] != 1) {
      DimEntry e{src.shape()[d], {src.strides()[d] * static_cast<int64_t>(src.itemsize())}};
      inner.push_back(e);
    }
    kept.shape[d] = 1;
  }
  const Tensor src_kept = src.with_layout(kept);
  r.outer = make_loop({&dst, &src_kept}, op);
  r.inner_numel = inner_numel;
  if (inner_numel == 0) return r;
  int64_t strides_tmp[1][kMaxLoopDims];
  r.inner_ndim = coalesce(inner, 1, r.inner_shape, strides_tmp, 1, op);
  for (int i = 0; i < r.inner_ndim; ++i) r.inner_strides[i] = strides_tmp[0][i];
  return r;
}

SoftmaxLoop make_softmax_loop(const Tensor& dst, const Tensor& src, int64_t dim, const char* op) {
  SoftmaxLoop s;
  s.length = src.shape()[dim];
  s.dst_stride = dst.strides()[dim] * static_cast<int64_t>(dst.itemsize());
  s.src_stride = src.strides()[dim] * static_cast<int64_t>(src.itemsize());
  Layout dl = dst.layout(), sl = src.layout();
  dl.shape[dim] = 1;
  sl.shape[dim] = 1;
  const Tensor d = dst.with_layout(dl), sv = src.with_layout(sl);
  s.outer = make_loop({&d, &sv}, op);
  return s;
}

}  // namespace ember::cpu
