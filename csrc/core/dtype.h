#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/half.h"

namespace ember {

// Order is part of the ABI of the kernel tables; append new types at the end.
enum class DType : uint8_t { F32, F16, BF16, F64, U8, I8, U32, I32, I64, Bool };
constexpr int kNumDTypes = 10;

enum class DTypeCategory : uint8_t { Bool = 0, Integral = 1, Floating = 2 };

size_t itemsize(DType dtype);
const char* dtype_name(DType dtype);       // "float32"
const char* dtype_short_name(DType dtype); // "f32"
// Accepts "float32", "f32", "float", "half", "bf16", "bool", "int64", "long", ... Throws TypeError.
DType dtype_from_string(std::string_view name);
DTypeCategory category(DType dtype);
inline bool is_floating(DType d) { return category(d) == DTypeCategory::Floating; }
inline bool is_integral(DType d) { return category(d) == DTypeCategory::Integral; }
bool is_signed(DType d);

// torch's promotion table, restricted to ember's types (no int16: uint8 with int8 gives int32).
DType promote_types(DType a, DType b);

// The dtype that float-only ops (exp, true division, mean, ...) compute integer inputs in.
constexpr DType kDefaultFloat = DType::F32;

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<f16> { static constexpr DType value = DType::F16; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::BF16; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::U8; };
template <> struct dtype_of<int8_t> { static constexpr DType value = DType::I8; };
template <> struct dtype_of<uint32_t> { static constexpr DType value = DType::U32; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };

// Calls f(T{}) with T the C++ type of `d` (a generic lambda then branches with `if constexpr`).
template <class F>
decltype(auto) visit_dtype(DType d, F&& f) {
  switch (d) {
    case DType::F32: return f(float{});
    case DType::F16: return f(f16{});
    case DType::BF16: return f(bf16{});
    case DType::F64: return f(double{});
    case DType::U8: return f(uint8_t{});
    case DType::I8: return f(int8_t{});
    case DType::U32: return f(uint32_t{});
    case DType::I32: return f(int32_t{});
    case DType::I64: return f(int64_t{});
    case DType::Bool: break;
  }
  return f(bool{});
}

}  // namespace ember

// Runs the body with `scalar_t` bound to the C++ type of `dtype`. The *_FLOAT variant covers
// f32/f64/f16/bf16 only; the others raise a TypeError that names `op_name` and the dtype.
#define EMBER_DTYPE_CASE(enum_value, type, ...) \
  case ::ember::DType::enum_value: {            \
    using scalar_t = type;                      \
    __VA_ARGS__;                                \
    break;                                      \
  }

#define EMBER_DISPATCH_ALL(dtype, op_name, ...)                                        \
  switch (dtype) {                                                                      \
    EMBER_DTYPE_CASE(F32, float, __VA_ARGS__)                                           \
    EMBER_DTYPE_CASE(F16, ::ember::f16, __VA_ARGS__)                                    \
    EMBER_DTYPE_CASE(BF16, ::ember::bf16, __VA_ARGS__)                                  \
    EMBER_DTYPE_CASE(F64, double, __VA_ARGS__)                                          \
    EMBER_DTYPE_CASE(U8, uint8_t, __VA_ARGS__)                                          \
    EMBER_DTYPE_CASE(I8, int8_t, __VA_ARGS__)                                           \
    EMBER_DTYPE_CASE(U32, uint32_t, __VA_ARGS__)                                        \
    EMBER_DTYPE_CASE(I32, int32_t, __VA_ARGS__)                                         \
    EMBER_DTYPE_CASE(I64, int64_t, __VA_ARGS__)                                         \
    EMBER_DTYPE_CASE(Bool, bool, __VA_ARGS__)                                           \
  }

#define EMBER_DISPATCH_FLOAT(dtype, op_name, ...)                                               \
  switch (dtype) {                                                                               \
    EMBER_DTYPE_CASE(F32, float, __VA_ARGS__)                                                    \
    EMBER_DTYPE_CASE(F16, ::ember::f16, __VA_ARGS__)                                             \
    EMBER_DTYPE_CASE(BF16, ::ember::bf16, __VA_ARGS__)                                           \
    EMBER_DTYPE_CASE(F64, double, __VA_ARGS__)                                                   \
    default:                                                                                     \
      EMBER_THROW(Type, op_name, ": dtype ", ::ember::dtype_name(dtype), " is not supported (needs a floating dtype)"); \
  }
