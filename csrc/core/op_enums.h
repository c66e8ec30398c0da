// Op identifiers shared by front-ends, backends and kernels. Kernel TUs include this (not backend.h).
#pragma once
#include <cstdint>

#include "core/elementwise_ops.h"

namespace ember {

enum class UnaryOp : uint8_t {
#define EMBER_ENUM_ENTRY(Name, py) Name,
  EMBER_UNARY_OPS(EMBER_ENUM_ENTRY)
#undef EMBER_ENUM_ENTRY
};
enum class BinaryOp : uint8_t {
#define EMBER_ENUM_ENTRY(Name, py) Name,
  EMBER_BINARY_OPS(EMBER_ENUM_ENTRY)
#undef EMBER_ENUM_ENTRY
};
const char* op_name(UnaryOp op);   // the Python name
const char* op_name(BinaryOp op);

enum class ReduceOp : uint8_t { Sum, Mean, Prod, Max, Min, ArgMax, ArgMin, All, Any, Var, LogSumExp };
const char* op_name(ReduceOp op);

struct ReduceArgs {
  double correction = 1.0;  // Var: divide by N - correction
};

}  // namespace ember
