// Convolution front-ends: argument checks (torch's rules), output shapes, and dispatch of every
// convolution as a 2-D one (1-D gets a unit height, unbatched input a unit batch).
#include "core/backend.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/ops_conv.h"

namespace ember {

namespace {

const char* conv_name(int spatial_dims, bool transposed) {
  if (transposed) return spatial_dims == 1 ? "conv_transpose1d" : "conv_transpose2d";
  return spatial_dims == 1 ? "conv1d" : "conv2d";
}

// One value per spatial axis from an argument holding one value or one per axis.
Dims per_axis(const Dims& v, int spatial_dims, const char* op, const char* what) {
  EMBER_CHECK(v.size() == 1 || static_cast<int>(v.size()) == spatial_dims, Value, op, ": ", what,
              " must be an int or a tuple of ", spatial_dims, " ints, got ", shape_str(v));
  Dims out;
  for (int i = 0; i < spatial_dims; ++i) out.push_back(v.size() == 1 ? v[0] : v[i]);
  return out;
}

void check_all(const Dims& v, int64_t min, const char* op, const char* what) {
  for (int64_t e : v) {
    EMBER_CHECK(e >= min, Value, op, ": ", what, " must be ", min == 0 ? "non-negative" : "positive", ", got ",
                shape_str(v));
  }
}

std::string shapes(const Tensor& x, const Tensor& w) {
  return "input shape " + shape_str(x.shape()) + ", weight shape " + shape_str(w.shape());
}

// Operands as 4-D tensors: checks ranks, dtypes, devices and the bias.
struct Operands {
  Tensor x, w, bias;
  bool batched = true;
};

Operands prepare(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, int sd, bool transposed,
                 const char* op) {
  EMBER_CHECK(sd == 1 || sd == 2, Value, op, ": only 1-D and 2-D convolutions are supported");
  check_same_device(x, w, op);
  EMBER_CHECK(x.ndim() == sd + 1 || x.ndim() == sd + 2, Value, op, ": expected a ", sd + 1, "-D (unbatched) or ",
              sd + 2, "-D (batched) input, got shape ", shape_str(x.shape()));
  EMBER_CHECK(w.ndim() == sd + 2, Value, op, ": expected a ", sd + 2, "-D weight (",
              transposed ? "in_channels, out_channels / groups" : "out_channels, in_channels / groups",
              ", kernel size), got shape ", shape_str(w.shape()));
  EMBER_CHECK(x.dtype() == w.dtype(), Type, op, ": input and weight must have the same dtype, got ", x.describe(),
              " and ", w.describe());
  EMBER_CHECK(is_floating(x.dtype()), Type, op, ": expected floating-point input and weight, got ", x.describe());
  EMBER_CHECK(x.dtype() != DType::F64, NotImplemented, op,
              ": float64 is not supported (float32, float16 and bfloat16 are), got ", x.describe());
  const int64_t batch_dims = x.ndim() - sd - 1;
  for (int64_t d = batch_dims; d < x.ndim(); ++d) {
    EMBER_CHECK(x.shape()[d] > 0, Value, op, ": expected non-zero sizes in the channel and spatial dims, got ",
                shapes(x, w));
  }
  for (int64_t d = 2; d < w.ndim(); ++d) {
    EMBER_CHECK(w.shape()[d] > 0, Value, op, ": expected a non-empty kernel, got ", shapes(x, w));
  }
  Operands o;
  o.batched = batch_dims == 1;
  o.x = o.batched ? x : unsqueeze(x, 0);
  o.w = w;
  if (sd == 1) {
    o.x = unsqueeze(o.x, 2);
    o.w = unsqueeze(o.w, 2);
  }
  o.w = contiguous(o.w);
  if (bias) {
    check_same_device(x, *bias, op);
    EMBER_CHECK(bias->dtype() == x.dtype(), Type, op, ": bias must have the input's dtype, got ", bias->describe(),
                " for ", x.describe());
    o.bias = *bias;
  }
  return o;
}

void check_bias(const Operands& o, int64_t C_out, const char* op) {
  if (!o.bias.defined()) return;
  EMBER_CHECK(o.bias.ndim() == 1 && o.bias.shape()[0] == C_out, Value, op, ": expected a bias of shape (", C_out,
              ",), got ", shape_str(o.bias.shape()));
}

// Runs the 2-D convolution and gives the result the caller's rank back.
Tensor finish(Tensor out, const Operands& o, int sd) {
  if (sd == 1) out = select(out, 2, 0);
  if (!o.batched) out = select(out, 0, 0);
  return out;
}

}  // namespace

Tensor conv(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, int sd, const Dims& stride_in,
            const Dims& padding_in, const Dims& dilation_in, int64_t groups, ConvPadding mode) {
  const char* op = conv_name(sd, false);
  Operands o = prepare(x, w, bias, sd, false, op);
  const Dims stride = per_axis(stride_in, sd, op, "stride");
  const Dims dilation = per_axis(dilation_in, sd, op, "dilation");
  const Dims padding = mode == ConvPadding::Explicit ? per_axis(padding_in, sd, op, "padding") : Dims(sd, 0);
  check_all(stride, 1, op, "stride");
  check_all(dilation, 1, op, "dilation");
  check_all(padding, 0, op, "padding");
  EMBER_CHECK(groups > 0, Value, op, ": groups must be positive, got ", groups);
  const int64_t C_in = o.x.shape()[1], C_out = o.w.shape()[0];
  EMBER_CHECK(C_out % groups == 0, Value, op, ": out_channels (weight dim 0) must be divisible by groups=", groups,
              ", got ", shapes(x, w));
  EMBER_CHECK(C_in == o.w.shape()[1] * groups, Value, op, ": expected input with ", o.w.shape()[1] * groups,
              " channels (weight dim 1 times groups=", groups, "), got ", shapes(x, w));
  check_bias(o, C_out, op);
  if (mode == ConvPadding::Same) {
    for (int64_t s : stride) {
      EMBER_CHECK(s == 1, Value, op, ": padding='same' is not supported for strided convolutions, got stride ",
                  shape_str(stride));
    }
  }

  Backend::ConvParams p;
  p.groups = groups;
  Dims out_shape{o.x.shape()[0], C_out};
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t in = o.x.shape()[2 + axis], k = o.w.shape()[2 + axis];
    if (sd == 1 && axis == 0) {
      out_shape.push_back(1);
      continue;
    }
    const int a = sd == 1 ? 0 : axis;
    const int64_t span = dilation[a] * (k - 1) + 1;
    int64_t before = padding[a], after = padding[a];
    if (mode == ConvPadding::Same) {
      before = (span - 1) / 2;
      after = span - 1 - before;
    }
    const int64_t padded = in + before + after;
    EMBER_CHECK(padded >= span, Value, op, ": the kernel (", span, " wide with dilation) is larger than the padded input (",
                padded, ") along spatial dim ", a, "; ", shapes(x, w));
    out_shape.push_back((padded - span) / stride[a] + 1);
    p.stride[axis] = stride[a];
    p.padding[axis] = before;
    p.dilation[axis] = dilation[a];
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device(), op);
  if (out.numel() > 0) backend_for(x.device(), op).conv2d(o.x, o.w, o.bias, out, p);
  return finish(out, o, sd);
}

Tensor conv_transpose(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, int sd,
                      const Dims& stride_in, const Dims& padding_in, const Dims& output_padding_in, int64_t groups,
                      const Dims& dilation_in) {
  const char* op = conv_name(sd, true);
  Operands o = prepare(x, w, bias, sd, true, op);
  const Dims stride = per_axis(stride_in, sd, op, "stride");
  const Dims dilation = per_axis(dilation_in, sd, op, "dilation");
  const Dims padding = per_axis(padding_in, sd, op, "padding");
  const Dims output_padding = per_axis(output_padding_in, sd, op, "output_padding");
  check_all(stride, 1, op, "stride");
  check_all(dilation, 1, op, "dilation");
  check_all(padding, 0, op, "padding");
  check_all(output_padding, 0, op, "output_padding");
  EMBER_CHECK(groups > 0, Value, op, ": groups must be positive, got ", groups);
  const int64_t C_in = o.x.shape()[1];
  EMBER_CHECK(o.w.shape()[0] == C_in, Value, op, ": expected input with ", o.w.shape()[0],
              " channels (weight dim 0), got ", shapes(x, w));
  EMBER_CHECK(C_in % groups == 0, Value, op, ": in_channels (weight dim 0) must be divisible by groups=", groups,
              ", got ", shapes(x, w));
  const int64_t C_out = o.w.shape()[1] * groups;
  check_bias(o, C_out, op);

  Backend::ConvParams p;
  p.groups = groups;
  Dims out_shape{o.x.shape()[0], C_out};
  for (int axis = 0; axis < 2; ++axis) {
    if (sd == 1 && axis == 0) {
      out_shape.push_back(1);
      continue;
    }
    const int a = sd == 1 ? 0 : axis;
    EMBER_CHECK(output_padding[a] < stride[a] || output_padding[a] < dilation[a], Value, op,
                ": output_padding must be smaller than either stride or dilation, got output_padding ",
                shape_str(output_padding), ", stride ", shape_str(stride), ", dilation ", shape_str(dilation));
    const int64_t in = o.x.shape()[2 + axis], k = o.w.shape()[2 + axis];
    const int64_t size = (in - 1) * stride[a] - 2 * padding[a] + dilation[a] * (k - 1) + output_padding[a] + 1;
    EMBER_CHECK(size > 0, Value, op, ": the output would be empty (size ", size, " along spatial dim ", a,
                ") with padding ", shape_str(padding), "; ", shapes(x, w));
    out_shape.push_back(size);
    p.stride[axis] = stride[a];
    p.padding[axis] = padding[a];
    p.dilation[axis] = dilation[a];
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device(), op);
  if (out.numel() > 0) backend_for(x.device(), op).conv_transpose2d(o.x, o.w, o.bias, out, p);
  return finish(out, o, sd);
}

}  // namespace ember
