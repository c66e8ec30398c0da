#include "cpu/cpu_backend.h"

#include <cstring>

#include "core/error.h"
#include "core/qtensor.h"
#include "cpu/cpu_ops.h"
#include "cpu/kernel_table.h"
#include "cpu/loop_builder.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {

namespace {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  std::shared_ptr<Storage> allocate(size_t nbytes, Device) override { return allocate_host(nbytes); }

  void copy_from_host(const void* src, const Tensor& dst) override {
    if (dst.numel() > 0) std::memcpy(dst.data_ptr(), src, dst.numel() * dst.itemsize());
  }
  void copy_to_host(const Tensor& src, void* dst) override {
    if (src.numel() > 0) std::memcpy(dst, src.data_ptr(), src.numel() * src.itemsize());
  }

  void copy(const Tensor& src, const Tensor& dst) override {
    if (dst.numel() == 0) return;
    if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
      const int64_t nbytes = dst.numel() * static_cast<int64_t>(dst.itemsize());
      char* d = static_cast<char*>(dst.data_ptr());
      const char* s = static_cast<const char*>(src.data_ptr());
      if (d == s) return;
      parallel_for(nbytes, int64_t(1) << 20, [&](int64_t b, int64_t e) { std::memmove(d + b, s + b, e - b); });
      return;
    }
    kernels().cast(src.dtype(), dst.dtype(), make_loop({&dst, &src}, "copy"));
  }

  void fill(const Tensor& dst, Scalar value) override { cpu::fill(dst, value); }

  void unary(UnaryOp op, const Tensor& src, const Tensor& dst) override {
    kernels().unary(op, src.dtype(), make_loop({&dst, &src}, op_name(op)));
  }

  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dst) override {
    kernels().binary(op, a.dtype(), make_loop({&dst, &a, &b}, op_name(op)));
  }

  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& dst) override {
    cpu::where(cond, a, b, dst);
  }

  void reduce(ReduceOp op, const Tensor& src, const Dims& reduced, const Tensor& dst, const ReduceArgs& args) override {
    kernels().reduce(op, src.dtype(), make_reduce_loop(dst, src, reduced, op_name(op)), args);
  }

  void softmax(const Tensor& src, int64_t dim, bool log, const Tensor& dst) override {
    kernels().softmax(src.dtype(), log, make_softmax_loop(dst, src, dim, log ? "log_softmax" : "softmax"));
  }

  void matmul(const Tensor& a, const Tensor& b, const Tensor& dst) override { cpu::matmul(a, b, dst); }
  void index_select(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst) override {
    cpu::index_select(src, dim, index, dst);
  }
  void gather(const Tensor& src, int64_t dim, const Tensor& index, const Tensor& dst) override {
    cpu::gather(src, dim, index, dst);
  }
  void scatter_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src) override {
    cpu::scatter_add(dst, dim, index, src);
  }
  void arange(const Tensor& dst, Scalar start, Scalar step) override { cpu::arange(dst, start, step); }
  void triangle(const Tensor& src, const Tensor& dst, int64_t k, bool lower) override {
    cpu::triangle(src, dst, k, lower);
  }
  void random_uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high) override {
    cpu::random_uniform(dst, seed, offset, low, high);
  }
  void random_normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std) override {
    cpu::random_normal(dst, seed, offset, mean, std);
  }

  // ---- norm (issue #3) ----
  void layer_norm(const Tensor& src, const Tensor& weight, const Tensor& bias, double eps, bool rms,
                  const Tensor& dst) override {
    cpu::layer_norm(src, weight, bias, eps, rms, dst);
  }
  void group_norm(const Tensor& src, int64_t groups, const Tensor& weight, const Tensor& bias, double eps,
                  const Tensor& dst) override {
    cpu::group_norm(src, groups, weight, bias, eps, dst);
  }
  void rope(const Tensor& src, const Tensor& cos, const Tensor& sin, bool interleaved, const Tensor& dst) override {
    cpu::rope(src, cos, sin, interleaved, dst);
  }
  void glu(const Tensor& a, const Tensor& b, const Tensor& dst) override { cpu::glu(a, b, dst); }
  // ---- pool (issue #3) ----
  void max_pool2d(const Tensor& src, const PoolWindow& w, const Tensor& dst, const Tensor& indices) override {
    cpu::max_pool2d(src, w, dst, indices);
  }
  void avg_pool2d(const Tensor& src, const PoolWindow& w, bool count_include_pad, int64_t divisor_override,
                  const Tensor& dst) override {
    cpu::avg_pool2d(src, w, count_include_pad, divisor_override, dst);
  }
  void adaptive_avg_pool2d(const Tensor& src, const Tensor& dst) override { cpu::adaptive_avg_pool2d(src, dst); }
  void resample2d(const Tensor& src, ResampleMode mode, bool align_corners, double scale_h, double scale_w,
                  const Tensor& dst) override {
    cpu::resample2d(src, mode, align_corners, scale_h, scale_w, dst);
  }
  // ---- conv (issue #3) ----
  void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst, const ConvParams& p) override {
    cpu::conv2d(x, w, bias, dst, p);
  }
  void conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& dst,
                        const ConvParams& p) override {
    cpu::conv_transpose2d(x, w, bias, dst, p);
  }
  // ---- attention (issue #3) ----
  void scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::optional<Tensor>& mask,
                                    bool causal, double scale, const Tensor& dst) override {
    cpu::scaled_dot_product_attention(q, k, v, mask, causal, scale, dst);
  }
  // ---- ordering (issue #3) ----
  void sort(const Tensor& src, int64_t dim, bool descending, const Tensor& values, const Tensor& indices) override {
    cpu::sort(src, dim, descending, values, indices);
  }
  void topk(const Tensor& src, int64_t dim, int64_t k, bool largest, bool sorted, const Tensor& values,
            const Tensor& indices) override {
    cpu::topk(src, dim, k, largest, sorted, values, indices);
  }
  void cumulative(CumulativeOp op, const Tensor& src, int64_t dim, const Tensor& dst) override {
    cpu::cumulative(op, src, dim, dst);
  }
  void scatter(ScatterReduce reduce, const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src) override {
    cpu::scatter(reduce, dst, dim, index, src);
  }
  void index_add(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha) override {
    cpu::index_add(dst, dim, index, src, alpha);
  }
  void index_copy(const Tensor& dst, int64_t dim, const Tensor& index, const Tensor& src) override {
    cpu::index_copy(dst, dim, index, src);
  }
  // ---- quant (issue #4) ----
  void quantize(const Tensor& src, const QTensor& dst) override { cpu::quantize(src, dst); }
  void dequantize(const QTensor& src, const Tensor& dst) override { cpu::dequantize(src, dst); }
  void qmatmul(const Tensor& x, const QTensor& w, const Tensor& dst) override { cpu::qmatmul(x, w, dst); }
  void qembedding(const Tensor& ids, const QTensor& w, const Tensor& dst) override { cpu::qembedding(ids, w, dst); }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend* backend = new CpuBackend();  // never destroyed: used until process exit
  return *backend;
}

}  // namespace ember::cpu
