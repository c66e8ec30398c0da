// Elementwise front-ends: type promotion, broadcasting, output allocation.
#include "core/error.h"
#include "core/ops.h"

namespace ember {

namespace {

enum class Kind { Float, Numeric, Bitwise, Arith, Compare };

#define EMBER_COUNT(Name, py) +1
constexpr int kUnaryFloatCount = 0 EMBER_UNARY_FLOAT_OPS(EMBER_COUNT);
constexpr int kUnaryNumericCount = 0 EMBER_UNARY_NUMERIC_OPS(EMBER_COUNT);
constexpr int kBinaryArithCount = 0 EMBER_BINARY_ARITH_OPS(EMBER_COUNT);
constexpr int kBinaryFloatCount = 0 EMBER_BINARY_FLOAT_OPS(EMBER_COUNT);
constexpr int kBinaryCompareCount = 0 EMBER_BINARY_COMPARE_OPS(EMBER_COUNT);
#undef EMBER_COUNT

Kind kind_of(UnaryOp op) {
  const int i = static_cast<int>(op);
  if (i < kUnaryFloatCount) return Kind::Float;
  if (i < kUnaryFloatCount + kUnaryNumericCount) return Kind::Numeric;
  return Kind::Bitwise;
}

Kind kind_of(BinaryOp op) {
  int i = static_cast<int>(op);
  if (i < kBinaryArithCount) return Kind::Arith;
  i -= kBinaryArithCount;
  if (i < kBinaryFloatCount) return Kind::Float;
  i -= kBinaryFloatCount;
  if (i < kBinaryCompareCount) return Kind::Compare;
  return Kind::Bitwise;
}

// torch's combine_categories: `higher` comes from the higher-priority operand group.
DType combine(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return *lower;
  if (!lower) return *higher;
  if (is_floating(*higher)) return *higher;
  if (*higher == DType::Bool || is_floating(*lower)) return promote_types(*higher, *lower);
  return *higher;
}

void update(std::optional<DType>& slot, DType d) { slot = slot ? promote_types(*slot, d) : d; }

std::string operand_str(const Operand& o) {
  if (o.is_scalar) return o.scalar.kind == Scalar::Kind::Float ? "float" : o.scalar.kind == Scalar::Kind::Int ? "int" : "bool";
  return o.tensor.describe();
}

// The tensor to compute with: cast to `dtype`, or a 0-d tensor holding the scalar.
Tensor materialize(const Operand& o, DType dtype, Device device) {
  if (o.is_scalar) return full({}, o.scalar, dtype, device);
  return to_dtype(o.tensor, dtype);
}

Device device_of(const Operand& a, const Operand& b, const char* op) {
  EMBER_CHECK(!a.is_scalar || !b.is_scalar, Type, op, ": expected at least one tensor operand");
  if (!a.is_scalar && !b.is_scalar) check_same_device(a.tensor, b.tensor, op);
  return a.is_scalar ? b.tensor.device() : a.tensor.device();
}

Dims shape_of(const Operand& o) { return o.is_scalar ? Dims{} : o.tensor.shape(); }

// Output for inputs that already have the output's shape: keep their dense permutation if they agree.
Tensor allocate_like_inputs(const Dims& shape, DType dtype, Device device, const Tensor& a, const Tensor& b) {
  if (a.shape() == shape && (b.ndim() == 0 || (b.shape() == shape && b.strides() == a.strides())))
    return Tensor::empty_like(a, dtype, "elementwise");
  if (b.shape() == shape && a.ndim() == 0) return Tensor::empty_like(b, dtype, "elementwise");
  return Tensor::empty(shape, dtype, device, "elementwise");
}

struct BinaryPlan {
  DType compute;
  DType out;
};

BinaryPlan plan_binary(BinaryOp op, DType common, const Operand& a, const Operand& b) {
  const char* name = op_name(op);
  switch (kind_of(op)) {
    case Kind::Arith:
      if (common == DType::Bool && op != BinaryOp::Add && op != BinaryOp::Mul && op != BinaryOp::Maximum &&
          op != BinaryOp::Minimum) {
        EMBER_THROW(Type, name, ": not supported for bool operands (", operand_str(a), ", ", operand_str(b),
                    ")", op == BinaryOp::Sub ? "; use ^ or logical_xor instead" : "");
      }
      return {common, common};
    case Kind::Float: {
      const DType c = is_floating(common) ? common : kDefaultFloat;
      return {c, c};
    }
    case Kind::Compare:
      return {common, DType::Bool};
    case Kind::Bitwise:
      EMBER_CHECK(!is_floating(common), Type, name, ": only integer and bool operands are supported, got ",
                  operand_str(a), " and ", operand_str(b));
      return {common, common};
    default:
      break;
  }
  return {common, common};
}

}  // namespace

DType result_type(const std::vector<const Operand*>& operands) {
  std::optional<DType> dim_result, zero_result, wrapped_result;
  for (const Operand* o : operands) {
    if (o->is_scalar) update(wrapped_result, o->scalar.default_dtype());
    else if (o->tensor.ndim() == 0) update(zero_result, o->tensor.dtype());
    else update(dim_result, o->tensor.dtype());
  }
  if (!dim_result && !zero_result) return *wrapped_result;
  if (!dim_result) return combine(zero_result, wrapped_result);
  if (!zero_result && !wrapped_result) return *dim_result;
  const DType lower = !zero_result ? *wrapped_result : !wrapped_result ? *zero_result : combine(zero_result, wrapped_result);
  return combine(dim_result, lower);
}

Tensor unary(UnaryOp op, const Tensor& x) {
  const char* name = op_name(op);
  Tensor in = x;
  switch (kind_of(op)) {
    case Kind::Float:
      if (!is_floating(x.dtype())) in = to_dtype(x, kDefaultFloat);
      break;
    case Kind::Numeric:
      EMBER_CHECK(x.dtype() != DType::Bool, Type, name, ": not supported for bool tensors (", x.describe(), ")");
      break;
    case Kind::Bitwise:
      EMBER_CHECK(!is_floating(x.dtype()), Type, name, ": only integer and bool tensors are supported, got ", x.describe());
      break;
    default:
      break;
  }
  Tensor out = Tensor::empty_like(in, in.dtype(), name);
  if (out.numel() > 0) backend_for(in.device(), name).unary(op, in, out);
  return out;
}

Tensor binary(BinaryOp op, const Operand& a, const Operand& b) {
  const char* name = op_name(op);
  const Device device = device_of(a, b, name);
  const DType common = result_type({&a, &b});
  const BinaryPlan plan = plan_binary(op, common, a, b);
  const Dims shape = broadcast_shapes(shape_of(a), shape_of(b), name);
  const Tensor ta = materialize(a, plan.compute, device), tb = materialize(b, plan.compute, device);
  Tensor out = allocate_like_inputs(shape, plan.out, device, ta, tb);
  if (out.numel() == 0) return out;
  const Tensor ea = ta.shape() == shape ? ta : expand(ta, shape);
  const Tensor eb = tb.shape() == shape ? tb : expand(tb, shape);
  backend_for(device, name).binary(op, ea, eb, out);
  return out;
}

void binary_(BinaryOp op, const Tensor& a, const Operand& b) {
  const char* name = op_name(op);
  check_writable(a, name);
  const Operand oa(a);
  device_of(oa, b, name);
  const DType common = result_type({&oa, &b});
  const BinaryPlan plan = plan_binary(op, common, oa, b);
  EMBER_CHECK(category(plan.out) <= category(a.dtype()), Type, name, "_: the result dtype ", dtype_name(plan.out),
              " cannot be written in place into ", a.describe());
  const Dims shape = broadcast_shapes(a.shape(), shape_of(b), name);
  EMBER_CHECK(shape == a.shape(), Value, name, "_: the broadcast shape ", shape_str(shape),
              " does not match the in-place tensor's shape ", shape_str(a.shape()));
  if (a.numel() == 0) return;
  const bool aliased = !b.is_scalar && b.tensor.shares_storage(a) && b.tensor.layout() != a.layout();
  if (plan.out != a.dtype() || plan.compute != a.dtype() || aliased) {
    copy_into(a, binary(op, oa, b));
    return;
  }
  const Tensor tb = materialize(b, plan.compute, a.device());
  const Tensor eb = tb.shape() == shape ? tb : expand(tb, shape);
  backend_for(a.device(), name).binary(op, a, eb, a);
}

Tensor where(const Tensor& cond_in, const Operand& a, const Operand& b) {
  const Tensor cond = cond_in.dtype() == DType::Bool ? cond_in : binary(BinaryOp::Ne, cond_in, Scalar::from_int(0));
  const Device device = cond.device();
  if (!a.is_scalar) check_same_device(cond, a.tensor, "where");
  if (!b.is_scalar) check_same_device(cond, b.tensor, "where");
  const DType dtype = result_type({&a, &b});
  const Dims shape = broadcast_shapes(broadcast_shapes(cond.shape(), shape_of(a), "where"), shape_of(b), "where");
  const Tensor ta = materialize(a, dtype, device), tb = materialize(b, dtype, device);
  Tensor out = Tensor::empty(shape, dtype, device, "where");
  if (out.numel() == 0) return out;
  backend_for(device, "where").where(expand(cond, shape), expand(ta, shape), expand(tb, shape), out);
  return out;
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  EMBER_CHECK(min || max, Value, "clamp: at least one of min and max must be given");
  EMBER_CHECK(x.dtype() != DType::Bool, Type, "clamp: not supported for bool tensors");
  Tensor out = x;
  if (min) out = binary(BinaryOp::Maximum, out, *min);
  if (max) out = binary(BinaryOp::Minimum, out, *max);
  return out;
}

Tensor clamp_tensor(const Tensor& x, const std::optional<Tensor>& min, const std::optional<Tensor>& max) {
  EMBER_CHECK(min || max, Value, "clamp: at least one of min and max must be given");
  Tensor out = x;
  if (min) out = binary(BinaryOp::Maximum, out, *min);
  if (max) out = binary(BinaryOp::Minimum, out, *max);
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Operand& value) {
  EMBER_CHECK(mask.dtype() == DType::Bool, Type, "masked_fill: mask must be a bool tensor, got ", mask.describe());
  EMBER_CHECK(value.is_scalar || value.tensor.ndim() == 0, Value,
              "masked_fill: value must be a number or a 0-d tensor, got ", operand_str(value));
  const Dims shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  EMBER_CHECK(shape == x.shape(), Value, "masked_fill: mask of shape ", shape_str(mask.shape()),
              " cannot be broadcast to the input's shape ", shape_str(x.shape()));
  const Tensor v = materialize(value, x.dtype(), x.device());
  return where(mask, v, x);
}

Tensor pow(const Operand& base, const Operand& exponent) {
  if (!base.is_scalar && exponent.is_scalar) {
    const DType dtype = result_type({&base, &exponent});
    const Scalar e = exponent.scalar;
    if (!is_floating(dtype) && e.kind != Scalar::Kind::Float) {
      EMBER_CHECK(e.to_int() >= 0, Value, "pow: integers to negative integer powers are not allowed");
    }
    const double ev = e.to_double();
    const Tensor x = to_dtype(base.tensor, dtype);
    if (ev == 2.0 && dtype != DType::Bool) return unary(UnaryOp::Square, x);
    if (ev == 1.0) return clone(x);
    if (is_floating(dtype) && ev == 0.5) return unary(UnaryOp::Sqrt, x);
    if (is_floating(dtype) && ev == -1.0) return unary(UnaryOp::Reciprocal, x);
    if (is_floating(dtype) && ev == -0.5) return unary(UnaryOp::Rsqrt, x);
  }
  return binary(BinaryOp::Pow, base, exponent);
}

}  // namespace ember
