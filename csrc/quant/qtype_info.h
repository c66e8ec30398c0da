// Look-ups over the quantized storage types (defined in qtype_info.cpp; not for kernel TUs).
#pragma once
#include <optional>
#include <string_view>

#include "quant/qtypes.h"

namespace ember::quant {

// Every type, in ember.QTYPES order.
const QTypeTraits* all_qtypes();
const QTypeTraits& traits(QType type);
std::optional<QType> qtype_from_name(std::string_view name);   // lowercase names, case-insensitive
std::optional<QType> qtype_from_ggml(int32_t ggml_type);
// The comma-separated names, for error messages.
const char* qtype_names();

// Bytes of one row of `row_length` elements; row_length must be a multiple of the block size.
inline int64_t row_bytes(QType type, int64_t row_length) {
  const QTypeTraits& t = traits(type);
  return row_length / t.block_size * t.type_size;
}

}  // namespace ember::quant
