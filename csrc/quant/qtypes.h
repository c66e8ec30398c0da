// The storage types of quantized weights (ggml's block formats plus f32 / f16 / bf16 rows). The enum
// values are ggml's type ids, as GGUF files store them. Kernel TUs may include this header: it holds
// the enum and plain constants only.
#pragma once
#include <cstdint>

namespace ember::quant {

enum class QType : int32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ4_NL = 20,
  IQ4_XS = 23,
  BF16 = 30,
};

constexpr int kQTypeCount = 17;

struct QTypeTraits {
  QType type;
  const char* name;     // lowercase, as ember.QTYPES lists it
  int32_t block_size;   // elements per block
  int32_t type_size;    // bytes per block
  bool is_float;        // f32 / f16 / bf16 rows, not blocks
};

}  // namespace ember::quant
