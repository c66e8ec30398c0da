#include "core/dtype.h"

#include "core/error.h"

namespace ember {

namespace {
struct DTypeInfo {
  const char* name;
  const char* short_name;
  size_t size;
  DTypeCategory category;
  bool is_signed;
};
constexpr DTypeInfo kInfo[kNumDTypes] = {
    {"float32", "f32", 4, DTypeCategory::Floating, true},
    {"float16", "f16", 2, DTypeCategory::Floating, true},
    {"bfloat16", "bf16", 2, DTypeCategory::Floating, true},
    {"float64", "f64", 8, DTypeCategory::Floating, true},
    {"uint8", "u8", 1, DTypeCategory::Integral, false},
    {"int8", "i8", 1, DTypeCategory::Integral, true},
    {"uint32", "u32", 4, DTypeCategory::Integral, false},
    {"int32", "i32", 4, DTypeCategory::Integral, true},
    {"int64", "i64", 8, DTypeCategory::Integral, true},
    {"bool", "bool", 1, DTypeCategory::Bool, false},
};
const DTypeInfo& info(DType d) { return kInfo[static_cast<int>(d)]; }

struct Alias {
  const char* name;
  DType dtype;
};
constexpr Alias kAliases[] = {
    {"float", DType::F32},   {"half", DType::F16},      {"double", DType::F64},
    {"long", DType::I64},    {"int", DType::I32},       {"bool_", DType::Bool},
    {"b1", DType::Bool},     {"?", DType::Bool},        {"bfloat", DType::BF16},
    {"float16_t", DType::F16}, {"e", DType::F16},       {"f", DType::F32},
    {"d", DType::F64},       {"<f4", DType::F32},       {"<f2", DType::F16},
    {"<f8", DType::F64},     {"|u1", DType::U8},        {"|i1", DType::I8},
    {"<u4", DType::U32},     {"<i4", DType::I32},       {"<i8", DType::I64},
    {"|b1", DType::Bool},    {"f4", DType::F32},        {"f2", DType::F16},
    {"f8", DType::F64},      {"u1", DType::U8},         {"i1", DType::I8},
    {"u4", DType::U32},      {"i4", DType::I32},        {"i8", DType::I64},
};
}  // namespace

size_t itemsize(DType d) { return info(d).size; }
const char* dtype_name(DType d) { return info(d).name; }
const char* dtype_short_name(DType d) { return info(d).short_name; }
DTypeCategory category(DType d) { return info(d).category; }
bool is_signed(DType d) { return info(d).is_signed; }

DType dtype_from_string(std::string_view name) {
  if (name.substr(0, 6) == "ember.") name.remove_prefix(6);
  if (name.substr(0, 6) == "torch.") name.remove_prefix(6);
  for (int i = 0; i < kNumDTypes; ++i) {
    if (name == kInfo[i].name || name == kInfo[i].short_name) return static_cast<DType>(i);
  }
  for (const Alias& a : kAliases) {
    if (name == a.name) return a.dtype;
  }
  EMBER_THROW(Type, "unknown dtype '", std::string(name),
              "'; expected one of float32 (f32), float16 (f16), bfloat16 (bf16), float64 (f64), "
              "uint8, int8, uint32, int32, int64, bool");
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  const DTypeCategory ca = category(a), cb = category(b);
  if (ca != cb) return ca > cb ? a : b;
  if (ca == DTypeCategory::Floating) {
    if (a == DType::F64 || b == DType::F64) return DType::F64;
    return DType::F32;  // any other mix of f32/f16/bf16
  }
  // Two distinct integer types.
  const bool sa = is_signed(a), sb = is_signed(b);
  const size_t za = itemsize(a), zb = itemsize(b);
  if (sa == sb) return za >= zb ? a : b;
  const DType s = sa ? a : b, u = sa ? b : a;
  if (itemsize(s) > itemsize(u)) return s;
  // The signed type is not wider than the unsigned one: widen to the next signed type.
  return itemsize(u) == 1 ? DType::I32 : DType::I64;  // torch: u8+i8 -> i16 (no i16 here), u32+i32 -> i64
}

}  // namespace ember
