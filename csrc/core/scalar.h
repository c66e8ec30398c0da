#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace ember {

// A Python number crossing into C++: bool, int or float, without a dtype of its own.
struct Scalar {
  enum class Kind : uint8_t { Bool, Int, Float };
  Kind kind = Kind::Int;
  bool b = false;
  int64_t i = 0;
  double d = 0.0;

  Scalar() = default;
  static Scalar from_bool(bool v) { Scalar s; s.kind = Kind::Bool; s.b = v; s.i = v; s.d = v; return s; }
  static Scalar from_int(int64_t v) { Scalar s; s.kind = Kind::Int; s.b = v != 0; s.i = v; s.d = static_cast<double>(v); return s; }
  static Scalar from_double(double v) { Scalar s; s.kind = Kind::Float; s.b = v != 0; s.i = (v > -9.2e18 && v < 9.2e18) ? static_cast<int64_t>(v) : 0; s.d = v; return s; }

  DTypeCategory category() const {
    return kind == Kind::Bool ? DTypeCategory::Bool : kind == Kind::Int ? DTypeCategory::Integral : DTypeCategory::Floating;
  }
  // The dtype a Python number gets on its own: bool, int64 or float32 (torch's defaults).
  DType default_dtype() const {
    return kind == Kind::Bool ? DType::Bool : kind == Kind::Int ? DType::I64 : kDefaultFloat;
  }
  double to_double() const { return kind == Kind::Float ? d : static_cast<double>(i); }
  int64_t to_int() const { return i; }
};

}  // namespace ember
