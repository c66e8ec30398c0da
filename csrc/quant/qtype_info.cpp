#include "quant/qtype_info.h"

#include <cctype>

#include "quant/blocks.h"

namespace ember::quant {

namespace {
constexpr QTypeTraits kTraits[kQTypeCount] = {
    {QType::F32, "f32", 1, 4, true},
    {QType::F16, "f16", 1, 2, true},
    {QType::BF16, "bf16", 1, 2, true},
    {QType::Q4_0, "q4_0", QK4_0, sizeof(block_q4_0), false},
    {QType::Q4_1, "q4_1", QK4_1, sizeof(block_q4_1), false},
    {QType::Q5_0, "q5_0", QK5_0, sizeof(block_q5_0), false},
    {QType::Q5_1, "q5_1", QK5_1, sizeof(block_q5_1), false},
    {QType::Q8_0, "q8_0", QK8_0, sizeof(block_q8_0), false},
    {QType::Q8_1, "q8_1", QK8_1, sizeof(block_q8_1), false},
    {QType::Q2_K, "q2_k", QK_K, sizeof(block_q2_K), false},
    {QType::Q3_K, "q3_k", QK_K, sizeof(block_q3_K), false},
    {QType::Q4_K, "q4_k", QK_K, sizeof(block_q4_K), false},
    {QType::Q5_K, "q5_k", QK_K, sizeof(block_q5_K), false},
    {QType::Q6_K, "q6_k", QK_K, sizeof(block_q6_K), false},
    {QType::Q8_K, "q8_k", QK_K, sizeof(block_q8_K), false},
    {QType::IQ4_NL, "iq4_nl", QK4_NL, sizeof(block_iq4_nl), false},
    {QType::IQ4_XS, "iq4_xs", QK_K, sizeof(block_iq4_xs), false},
};
}  // namespace

const QTypeTraits* all_qtypes() { return kTraits; }

const QTypeTraits& traits(QType type) {
  for (const QTypeTraits& t : kTraits)
    if (t.type == type) return t;
  return kTraits[0];  // unreachable for a valid QType
}

std::optional<QType> qtype_from_name(std::string_view name) {
  for (const QTypeTraits& t : kTraits) {
    std::string_view n = t.name;
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i)
      same = n[i] == std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return t.type;
  }
  return std::nullopt;
}

std::optional<QType> qtype_from_ggml(int32_t ggml_type) {
  for (const QTypeTraits& t : kTraits)
    if (static_cast<int32_t>(t.type) == ggml_type) return t.type;
  return std::nullopt;
}

const char* qtype_names() {
  return "f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q8_1, q2_k, q3_k, q4_k, q5_k, q6_k, q8_k, iq4_nl, iq4_xs";
}

}  // namespace ember::quant
