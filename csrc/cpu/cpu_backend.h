#pragma once
#include "core/backend.h"

namespace ember::cpu {

// The process-wide CPU backend.
Backend& cpu_backend();

// ---- ordering (issue #3): csrc/cpu/cpu_ordering.cpp ----
void sort(const Tensor& src, int64_t dim, bool descending, const Tensor& values, const Tensor& indices);
void topk(const Tensor& src, int64_t dim, int64_t k, bool largest, bool sorted, const Tensor& values,
          const Tensor& indices);
void cumulative(Backend::CumulativeOp op, const Tensor& src, int64_t dim, const Tensor& dst);
void scatter(Backend::ScatterReduce reduce, const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);
void index_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha);
void index_copy(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace ember::cpu
