// Quantized matmul (issue #4): y = x @ dequantize(W).T. Placeholder: dequantizes each weight block
// through the scalar reference and takes float dot products; the integer-dot kernels replace it.
#include "core/half.h"
#include "cpu/kernel_table.h"
#include "cpu/thread_pool.h"
#include "quant/blocks.h"
#include "quant/reference.h"

namespace ember::cpu {
inline namespace EMBER_ISA_NS {

namespace {

float load_float(DType dtype, const void* p, int64_t i) {
  if (dtype == DType::F16) return half_bits_to_float(static_cast<const uint16_t*>(p)[i]);
  if (dtype == DType::BF16) return bf16_bits_to_float(static_cast<const uint16_t*>(p)[i]);
  return static_cast<const float*>(p)[i];
}

void store_float(DType dtype, void* p, int64_t i, float v) {
  if (dtype == DType::F16) static_cast<uint16_t*>(p)[i] = float_to_half_bits(v);
  else if (dtype == DType::BF16) static_cast<uint16_t*>(p)[i] = float_to_bf16_bits(v);
  else static_cast<float*>(p)[i] = v;
}

int64_t element_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

void qmatmul_reference(const QMatmulArgs& a) {
  constexpr int64_t kChunk = quant::QK_K;  // a multiple of every block size
  parallel_for(a.N, 8, [&](int64_t n0, int64_t n1) {
    float w[kChunk];
    for (int64_t n = n0; n < n1; ++n) {
      const char* row = static_cast<const char*>(a.w) + n * a.w_row_bytes;
      for (int64_t m = 0; m < a.M; ++m) {
        const char* x = static_cast<const char*>(a.x) + m * a.x_row_stride * element_size(a.dtype);
        double acc = 0;
        for (int64_t k0 = 0; k0 < a.K; k0 += kChunk) {
          const int64_t len = a.K - k0 < kChunk ? a.K - k0 : kChunk;
          quant::dequantize_row(a.wtype, row + k0 * a.w_row_bytes / a.K, w, len);
          for (int64_t k = 0; k < len; ++k) acc += static_cast<double>(w[k]) * load_float(a.dtype, x, k0 + k);
        }
        char* y = static_cast<char*>(a.y) + m * a.y_row_stride * element_size(a.dtype);
        store_float(a.dtype, y, n, static_cast<float>(acc));
      }
    }
  });
}

}  // namespace

void register_quant_kernels(KernelTable& table) { table.qmatmul = qmatmul_reference; }

}  // namespace EMBER_ISA_NS
}  // namespace ember::cpu
