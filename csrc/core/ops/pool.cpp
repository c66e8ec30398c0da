// Pooling, resampling, padding and pixel-shuffle front-ends. Pooling and resampling run on
// (N, C, H, W) views (1-d ops get H == 1, unbatched inputs N == 1); padding and pixel shuffles are
// copies between views.
#include <array>
#include <string>

#include "core/error.h"
#include "core/ops_pool.h"
#include "core/pool_math.h"

namespace ember {

namespace {

using Pair = std::array<int64_t, 2>;

std::string pair_str(const Pair& p, int spatial) {
  if (spatial == 1) return std::to_string(p[1]);
  std::string s = "(";
  s += std::to_string(p[0]);
  s += ", ";
  s += std::to_string(p[1]);
  s += ")";
  return s;
}

// x as (N, C, H, W); `batched` says whether x had the batch dim.
Tensor to_planes(const Tensor& x, int spatial, const char* op, bool* batched) {
  const int64_t nd = x.ndim();
  EMBER_CHECK(nd == spatial + 1 || nd == spatial + 2, Value, op, ": expected a ", spatial + 1, "-D (C, ",
              spatial == 1 ? "L" : "H, W", ") or ", spatial + 2, "-D (N, C, ", spatial == 1 ? "L" : "H, W",
              ") input, got shape ", shape_str(x.shape()));
  *batched = nd == spatial + 2;
  for (int64_t d = *batched ? 1 : 0; d < nd; ++d) {
    EMBER_CHECK(x.shape()[d] > 0, Value, op, ": expected non-zero sizes in every dim but the batch dim, got shape ",
                shape_str(x.shape()));
  }
  Tensor t = *batched ? x : unsqueeze(x, 0);
  return spatial == 1 ? unsqueeze(t, 2) : t;
}

// The (N, C, OH, OW) result back in the caller's rank.
Tensor from_planes(const Tensor& out, int spatial, bool batched) {
  Tensor t = spatial == 1 ? squeeze(out, {2}) : out;
  return batched ? t : squeeze(t, {0});
}

// A window argument as (H, W); 1-d ops get `h_default` for H.
Pair window_arg(const Dims& v, int spatial, int64_t h_default, const char* what, const char* op) {
  EMBER_CHECK(v.size() == 1 || static_cast<int>(v.size()) == spatial, Value, op, ": ", what, " must be an int",
              spatial == 2 ? " or a pair of ints" : "", ", got ", shape_str(v));
  if (spatial == 1) return {h_default, v[0]};
  return {v[0], v.size() == 1 ? v[0] : v[1]};
}

struct Window {
  Backend::PoolWindow w;
  Pair out;
};

// Checks a pooling window against the input like torch's pool2d_shape_check and returns the output size.
Window pool_window(const Tensor& planes, const Tensor& x, int spatial, const Dims& kernel, const Dims& stride,
                   const Dims& padding, const Dims& dilation, bool ceil_mode, const char* op) {
  const Pair k = window_arg(kernel, spatial, 1, "kernel_size", op);
  const Pair s = stride.empty() ? k : window_arg(stride, spatial, 1, "stride", op);
  const Pair p = window_arg(padding, spatial, 0, "padding", op);
  const Pair d = window_arg(dilation, spatial, 1, "dilation", op);
  // Bounded so that the window arithmetic (dilation * kernel, stride * output) cannot overflow.
  constexpr int64_t kMax = int64_t(1) << 31;
  for (const Pair* v : {&k, &s, &p, &d}) {
    EMBER_CHECK((*v)[0] < kMax && (*v)[1] < kMax, Value, op, ": window arguments must be below 2^31, got kernel_size=",
                pair_str(k, spatial), ", stride=", pair_str(s, spatial), ", padding=", pair_str(p, spatial),
                ", dilation=", pair_str(d, spatial));
  }
  EMBER_CHECK(k[0] > 0 && k[1] > 0, Value, op, ": kernel_size must be positive, got ", pair_str(k, spatial));
  EMBER_CHECK(s[0] > 0 && s[1] > 0, Value, op, ": stride must be positive, got ", pair_str(s, spatial));
  EMBER_CHECK(d[0] > 0 && d[1] > 0, Value, op, ": dilation must be positive, got ", pair_str(d, spatial));
  EMBER_CHECK(p[0] >= 0 && p[1] >= 0, Value, op, ": padding must be non-negative, got ", pair_str(p, spatial));
  EMBER_CHECK(p[0] <= k[0] / 2 && p[1] <= k[1] / 2, Value, op, ": padding should be at most half of the kernel size, but got padding=",
              pair_str(p, spatial), " and kernel_size=", pair_str(k, spatial), " for the input of shape ", shape_str(x.shape()));
  Window win;
  for (int i = 0; i < 2; ++i) {
    win.w.kernel[i] = k[i];
    win.w.stride[i] = s[i];
    win.w.padding[i] = p[i];
    win.w.dilation[i] = d[i];
    win.out[i] = pool_math::pooled_size(planes.shape()[2 + i], k[i], s[i], p[i], d[i], ceil_mode);
  }
  EMBER_CHECK(win.out[0] >= 1 && win.out[1] >= 1, Value, op, ": input of shape ", shape_str(x.shape()),
              " is too small for kernel_size=", pair_str(k, spatial), ", stride=", pair_str(s, spatial), ", padding=",
              pair_str(p, spatial), ", dilation=", pair_str(d, spatial), ": the output size would be ",
              pair_str(win.out, spatial));
  return win;
}

// Output planes (N, C, oh, ow): channels-last when the input planes are a dense channels-last tensor
// (torch keeps that memory format too, and the kernels then write whole vectors of channels), else
// contiguous.
Tensor empty_planes(const Tensor& planes, int64_t oh, int64_t ow, DType dtype, const char* op) {
  const Dims& n = planes.shape();
  const bool channels_last = n[1] > 1 && planes.strides()[1] == 1 && !planes.is_contiguous() &&
                             planes.layout().is_non_overlapping_and_dense();
  if (!channels_last) return Tensor::empty({n[0], n[1], oh, ow}, dtype, planes.device(), op);
  return permute(Tensor::empty({n[0], oh, ow, n[1]}, dtype, planes.device(), op), {0, 3, 1, 2});
}

void check_float(const Tensor& x, const char* op) {
  EMBER_CHECK(is_floating(x.dtype()), Type, op, ": expected a floating input, got ", x.describe());
}

}  // namespace

std::pair<Tensor, Tensor> max_pool(const Tensor& x, int spatial, const Dims& kernel, const Dims& stride,
                                   const Dims& padding, const Dims& dilation, bool ceil_mode, bool return_indices) {
  const char* op = spatial == 1 ? "max_pool1d" : "max_pool2d";
  EMBER_CHECK(x.dtype() != DType::Bool, Type, op, ": bool inputs are not supported, got ", x.describe());
  bool batched = false;
  const Tensor planes = to_planes(x, spatial, op, &batched);
  const Window win = pool_window(planes, x, spatial, kernel, stride, padding, dilation, ceil_mode, op);
  Tensor out = empty_planes(planes, win.out[0], win.out[1], x.dtype(), op);
  Tensor indices = return_indices ? empty_planes(planes, win.out[0], win.out[1], DType::I64, op) : Tensor();
  if (out.numel() > 0) backend_for(x.device(), op).max_pool2d(planes, win.w, out, indices);
  return {from_planes(out, spatial, batched), return_indices ? from_planes(indices, spatial, batched) : Tensor()};
}

Tensor avg_pool(const Tensor& x, int spatial, const Dims& kernel, const Dims& stride, const Dims& padding,
                bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  const char* op = spatial == 1 ? "avg_pool1d" : "avg_pool2d";
  check_float(x, op);
  EMBER_CHECK(!divisor_override || *divisor_override != 0, Value, op, ": divisor_override must be non-zero");
  bool batched = false;
  const Tensor planes = to_planes(x, spatial, op, &batched);
  const Window win = pool_window(planes, x, spatial, kernel, stride, padding, {1}, ceil_mode, op);
  Tensor out = empty_planes(planes, win.out[0], win.out[1], x.dtype(), op);
  if (out.numel() > 0) {
    backend_for(x.device(), op).avg_pool2d(planes, win.w, count_include_pad, divisor_override.value_or(0), out);
  }
  return from_planes(out, spatial, batched);
}

Tensor adaptive_avg_pool(const Tensor& x, int spatial, const std::vector<std::optional<int64_t>>& output_size) {
  const char* op = spatial == 1 ? "adaptive_avg_pool1d" : "adaptive_avg_pool2d";
  check_float(x, op);
  EMBER_CHECK(output_size.size() == 1 || static_cast<int>(output_size.size()) == spatial, Value, op,
              ": output_size must have ", spatial, spatial == 1 ? " entry" : " entries (or one for all), got ",
              output_size.size());
  bool batched = false;
  const Tensor planes = to_planes(x, spatial, op, &batched);
  Pair out{1, 1};
  for (int i = 0; i < spatial; ++i) {
    const std::optional<int64_t>& o = output_size[output_size.size() == 1 ? 0 : i];
    const int64_t dim = 4 - spatial + i;
    out[2 - spatial + i] = o ? *o : planes.shape()[dim];
    EMBER_CHECK(!o || *o >= 0, Value, op, ": output_size must be non-negative, got ", *o, " for input shape ",
                shape_str(x.shape()));
  }
  Tensor result = empty_planes(planes, out[0], out[1], x.dtype(), op);
  if (result.numel() > 0) backend_for(x.device(), op).adaptive_avg_pool2d(planes, result);
  return from_planes(result, spatial, batched);
}

Tensor interpolate(const Tensor& x, const Dims& size, std::string_view mode, bool align_corners,
                   const std::vector<double>& scales) {
  const char* op = "interpolate";
  const int64_t nd = x.ndim();
  const std::string m(mode);
  Backend::ResampleMode rm = Backend::ResampleMode::Nearest;
  if (m == "nearest-exact") {
    rm = Backend::ResampleMode::NearestExact;
  } else if (m == "linear" || m == "bilinear") {
    rm = Backend::ResampleMode::Linear;
  } else if (m == "bicubic" || m == "trilinear") {
    EMBER_THROW(NotImplemented, op, ": mode '", m, "' is not implemented (supported: nearest, nearest-exact, linear, bilinear, area)");
  } else if (m != "nearest" && m != "area") {
    EMBER_THROW(Value, op, ": unknown mode '", m, "' (supported: nearest, nearest-exact, linear, bilinear, area)");
  }
  if (nd == 5) EMBER_THROW(NotImplemented, op, ": 5-D (volumetric) inputs are not implemented, got shape ", shape_str(x.shape()));
  EMBER_CHECK(nd == 3 || nd == 4, Value, op, ": expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape ",
              shape_str(x.shape()));
  EMBER_CHECK(m != "linear" || nd == 3, Value, op, ": mode 'linear' needs a 3-D input, got shape ", shape_str(x.shape()));
  EMBER_CHECK(m != "bilinear" || nd == 4, Value, op, ": mode 'bilinear' needs a 4-D input, got shape ", shape_str(x.shape()));
  const int spatial = static_cast<int>(nd - 2);
  EMBER_CHECK(static_cast<int>(size.size()) == spatial, Value, op, ": expected ", spatial, " output sizes for input shape ",
              shape_str(x.shape()), ", got ", shape_str(size));
  for (int i = 0; i < spatial; ++i) {
    EMBER_CHECK(x.shape()[2 + i] > 0 && size[i] > 0, Value, op, ": input and output sizes must be greater than 0, got input shape ",
                shape_str(x.shape()), " and output size ", shape_str(size));
  }
  if (m == "area") {
    std::vector<std::optional<int64_t>> out(size.begin(), size.end());
    return adaptive_avg_pool(x, spatial, out);
  }
  if (rm == Backend::ResampleMode::Linear) check_float(x, op);
  const Tensor planes = spatial == 1 ? unsqueeze(x, 2) : x;
  Tensor out = empty_planes(planes, spatial == 1 ? 1 : size[0], size[spatial - 1], x.dtype(), op);
  auto scale_at = [&](int i) { return i < static_cast<int>(scales.size()) ? scales[i] : 0.0; };
  const double scale_h = spatial == 1 ? 0.0 : scale_at(0), scale_w = scale_at(spatial - 1);
  if (out.numel() > 0) backend_for(x.device(), op).resample2d(planes, rm, align_corners, scale_h, scale_w, out);
  return spatial == 1 ? squeeze(out, {2}) : out;
}

namespace {

// A view of `t` along `dim` starting at position `start` with `length` elements and `step` between
// them (negative steps walk backwards, which is how reflection reads).
Tensor strided_run(const Tensor& t, int64_t dim, int64_t start, int64_t length, int64_t step) {
  Layout l = t.layout();
  l.offset += start * l.strides[dim];
  l.shape[dim] = length;
  l.strides[dim] *= step;
  return t.with_layout(l);
}

}  // namespace

Tensor pad(const Tensor& x, const Dims& pad, std::string_view mode_in, std::optional<Scalar> value) {
  const char* op = "pad";
  const std::string mode(mode_in);
  const int64_t nd = x.ndim();
  EMBER_CHECK(mode == "constant" || mode == "reflect" || mode == "replicate" || mode == "circular", Value, op,
              ": mode must be 'constant', 'reflect', 'replicate' or 'circular', got '", mode, "'");
  EMBER_CHECK(pad.size() % 2 == 0, Value, op, ": the padding must have an even length (pairs of left, right), got ",
              shape_str(pad));
  EMBER_CHECK(static_cast<int64_t>(pad.size()) <= 2 * nd, Value, op, ": padding ", shape_str(pad),
              " has more than two entries per dim of the input of shape ", shape_str(x.shape()));
  const bool constant = mode == "constant";
  EMBER_CHECK(constant || !value || value->to_double() == 0.0, Value, op, ": mode '", mode,
              "' does not take a value argument");
  const int64_t npad = static_cast<int64_t>(pad.size()) / 2;
  // Negative amounts crop the input first; what is left pads with non-negative amounts.
  Tensor src = x;
  Dims lo(nd, 0), hi(nd, 0), out_shape = x.shape();
  for (int64_t i = 0; i < npad; ++i) {
    const int64_t d = nd - 1 - i, n = x.shape()[d];
    const int64_t l = pad[2 * i], r = pad[2 * i + 1];
    EMBER_CHECK(l > -(int64_t(1) << 62) && l < (int64_t(1) << 62) && r > -(int64_t(1) << 62) && r < (int64_t(1) << 62),
                Value, op, ": padding ", shape_str(pad), " is too large for the input of shape ", shape_str(x.shape()));
    out_shape[d] = n + l + r;
    EMBER_CHECK(out_shape[d] >= 0, Value, op, ": padding (", l, ", ", r, ") of dim ", d, " of the input of shape ",
                shape_str(x.shape()), " gives a negative size ", out_shape[d]);
    const int64_t crop_l = l < 0 ? -l : 0, crop_r = r < 0 ? -r : 0;
    EMBER_CHECK(crop_l + crop_r <= n, Value, op, ": negative padding (", l, ", ", r, ") crops more than the ", n,
                " elements of dim ", d, " of the input of shape ", shape_str(x.shape()));
    if (crop_l + crop_r > 0) src = narrow(src, d, crop_l, n - crop_l - crop_r);
    lo[d] = l > 0 ? l : 0;
    hi[d] = r > 0 ? r : 0;
    const int64_t kept = src.shape()[d];
    if (mode == "reflect") {
      EMBER_CHECK(lo[d] < kept && hi[d] < kept, Value, op, ": reflect padding (", l, ", ", r, ") of dim ", d,
                  " must be less than that dim's size, input shape ", shape_str(x.shape()));
    } else if (mode == "replicate") {
      EMBER_CHECK(kept > 0 || lo[d] + hi[d] == 0, Value, op, ": replicate padding of dim ", d,
                  " needs a non-empty dim, input shape ", shape_str(x.shape()));
    } else if (mode == "circular") {
      EMBER_CHECK(lo[d] <= kept && hi[d] <= kept, Value, op, ": circular padding (", l, ", ", r, ") of dim ", d,
                  " wraps around more than once for the input of shape ", shape_str(x.shape()));
    }
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device(), op);
  if (out.numel() == 0) return out;
  Backend& be = backend_for(x.device(), op);
  // `filled` is the part of out written so far: the interior, then widened dim by dim.
  Layout interior = out.layout();  // built by hand: narrow() may normalise the offset of an empty view
  for (int64_t d = 0; d < nd; ++d) {
    interior.offset += lo[d] * interior.strides[d];
    interior.shape[d] = src.shape()[d];
  }
  Tensor filled = out.with_layout(interior);
  if (filled.numel() > 0) be.copy(src, filled);
  for (int64_t i = 0; i < npad; ++i) {
    const int64_t d = nd - 1 - i, n = src.shape()[d], l = lo[d], r = hi[d];
    if (l + r == 0) continue;
    Layout wide = filled.layout();  // `filled` widened to the whole of dim d
    wide.offset -= l * wide.strides[d];
    wide.shape[d] = out_shape[d];
    const Tensor region = out.with_layout(wide);
    const Tensor left = narrow(region, d, 0, l), right = narrow(region, d, l + n, r);
    if (constant) {
      const Scalar v = value.value_or(Scalar::from_int(0));
      if (l > 0) be.fill(left, v);
      if (r > 0) be.fill(right, v);
    } else if (region.numel() > 0) {
      // Sources lie in the interior of dim d, never in the slab they write.
      Tensor from_left, from_right;
      if (mode == "reflect") {
        from_left = strided_run(region, d, 2 * l, l, -1);
        from_right = strided_run(region, d, l + n - 2, r, -1);
      } else if (mode == "replicate") {
        from_left = strided_run(region, d, l, l, 0);
        from_right = strided_run(region, d, l + n - 1, r, 0);
      } else {
        from_left = strided_run(region, d, n, l, 1);
        from_right = strided_run(region, d, l, r, 1);
      }
      if (l > 0) be.copy(from_left, left);
      if (r > 0) be.copy(from_right, right);
    }
    filled = region;
  }
  return out;
}

namespace {

void check_shuffle_input(const Tensor& x, int64_t factor, const char* op, const char* what) {
  EMBER_CHECK(x.ndim() >= 3, Value, op, ": expected an input of at least 3 dims (*, C, H, W), got shape ",
              shape_str(x.shape()));
  EMBER_CHECK(factor > 0, Value, op, ": ", what, " must be positive, got ", factor);
}

}  // namespace

namespace {

// out[..., c, h * r + i, w * r + j] = in[..., c * r * r + i * r + j, h, w] (`shuffled` is the tensor
// with the big spatial dims): r * r copies between (..., C, H, W) views, each with whole rows of W
// as its inner loop (one copy over the permuted 6-d view would run over dims of size r instead).
void shuffle_copies(const Tensor& packed, const Tensor& shuffled, int64_t r, bool to_shuffled, const char* op) {
  const int64_t b = packed.ndim() - 3;
  const int64_t c = shuffled.shape()[b], h = packed.shape()[b + 1], w = packed.shape()[b + 2];
  Dims split(packed.shape().begin(), packed.shape().begin() + b), spread = split;
  for (int64_t v : {c, r, r, h, w}) split.push_back(v);
  for (int64_t v : {c, h, r, w, r}) spread.push_back(v);
  const Tensor p = reshape(packed, split), s = reshape(shuffled, spread);
  Backend& be = backend_for(packed.device(), op);
  for (int64_t i = 0; i < r; ++i) {
    for (int64_t j = 0; j < r; ++j) {
      const Tensor pv = select(select(p, b + 1, i), b + 1, j);
      const Tensor sv = select(select(s, b + 2, i), b + 3, j);
      if (to_shuffled) be.copy(pv, sv);
      else be.copy(sv, pv);
    }
  }
}

}  // namespace

Tensor pixel_shuffle(const Tensor& x, int64_t r) {
  const char* op = "pixel_shuffle";
  check_shuffle_input(x, r, op, "upscale_factor");
  const int64_t nd = x.ndim(), c = x.shape()[nd - 3], h = x.shape()[nd - 2], w = x.shape()[nd - 1];
  EMBER_CHECK(c % (r * r) == 0, Value, op, ": the channel dim (", c, ") of the input of shape ", shape_str(x.shape()),
              " must be divisible by upscale_factor squared (", r * r, ")");
  Dims shape(x.shape().begin(), x.shape().end() - 3);
  for (int64_t v : {c / (r * r), h * r, w * r}) shape.push_back(v);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device(), op);
  if (out.numel() > 0) shuffle_copies(x, out, r, true, op);
  return out;
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
  const char* op = "pixel_unshuffle";
  check_shuffle_input(x, r, op, "downscale_factor");
  const int64_t nd = x.ndim(), c = x.shape()[nd - 3], h = x.shape()[nd - 2], w = x.shape()[nd - 1];
  EMBER_CHECK(h % r == 0 && w % r == 0, Value, op, ": the height and width (", h, ", ", w, ") of the input of shape ",
              shape_str(x.shape()), " must be divisible by downscale_factor (", r, ")");
  Dims shape(x.shape().begin(), x.shape().end() - 3);
  for (int64_t v : {c * r * r, h / r, w / r}) shape.push_back(v);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device(), op);
  if (out.numel() > 0) shuffle_copies(out, x, r, false, op);
  return out;
}

}  // namespace ember
