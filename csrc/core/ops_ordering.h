// Front-ends of the ordering and index-movement ops (issue #3): sort, topk, cumulative ops,
// scatter / index_add / index_copy, flip, roll, repeat, one_hot, unique, embedding.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "core/ops.h"

namespace ember {

struct SortResult {
  Tensor values;
  Tensor indices;  // int64
};

// Stable in every case (`stable` is accepted for torch's signature); NaN sorts as the greatest value.
SortResult sort(const Tensor& x, int64_t dim, bool descending);
Tensor argsort(const Tensor& x, int64_t dim, bool descending);
// The k largest (or smallest) along dim; ties go to the lower index.
SortResult topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted);

// Integer and bool inputs give int64 (torch's rule) unless `dtype` is given; x is cast to dtype first.
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype);
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype);

// scatter with a tensor src or a number (expanded to index's shape); reduce None / Add / Multiply.
void scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Operand& src, Backend::ScatterReduce reduce);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Operand& src, Backend::ScatterReduce reduce);
void index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha);
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha);
void index_copy_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);

Tensor flip(const Tensor& x, const Dims& dims);
// dims empty: x is flattened, rolled and reshaped back (shifts then has one entry).
Tensor roll(const Tensor& x, const Dims& shifts, const Dims& dims);
Tensor repeat(const Tensor& x, const Dims& sizes);
// dim nullopt: over the flattened input.
Tensor repeat_interleave(const Tensor& x, int64_t repeats, std::optional<int64_t> dim);
Tensor repeat_interleave(const Tensor& x, const Tensor& repeats, std::optional<int64_t> dim);

// int64 output of x's shape + (num_classes,); num_classes -1 means max(x) + 1.
Tensor one_hot(const Tensor& x, int64_t num_classes);
// nonzero as a tuple of 1-D index tensors, one per dim of x (a 0-d x counts as 1-D).
std::vector<Tensor> nonzero_tuple(const Tensor& x);

struct UniqueResult {
  Tensor values;
  Tensor inverse;  // x's shape, int64
  Tensor counts;   // int64
};
// Sorted unique values of the flattened x.
UniqueResult unique(const Tensor& x);
// Unique slices along dim, in lexicographic order; inverse and counts have x.size(dim) / (count,) entries.
UniqueResult unique_dim(const Tensor& x, int64_t dim);

// Rows of weight (2-D) picked by an int64 / int32 index of any shape: out shape = input.shape + (D,).
Tensor embedding(const Tensor& input, const Tensor& weight);

}  // namespace ember
