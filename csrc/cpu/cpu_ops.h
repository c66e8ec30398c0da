// CPU implementations that live in baseline translation units (not per-ISA kernels).
#pragma once
#include "core/backend.h"

namespace ember::cpu {

void index_select(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst);
void gather(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst);
void scatter_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src);
void triangle(const Tensor& src, const Tensor& dst, int64_t k, bool lower);
void matmul(const Tensor& a, const Tensor& b, const Tensor& dst);
void random_uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high);
void random_normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std);
void fill(const Tensor& dst, Scalar value);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& dst);
void arange(const Tensor& dst, Scalar start, Scalar step);

}  // namespace ember::cpu
