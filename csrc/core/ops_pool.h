// ---- pool (issue #3) ----
// Pooling, resampling, padding and pixel shuffles with torch.nn.functional's semantics. Pooling and
// interpolation take (N, C, *spatial) or unbatched (C, *spatial) inputs; `spatial` is 1 or 2.
#pragma once
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ops.h"

namespace ember {

// Window arguments hold 1 or `spatial` values; an empty stride means the kernel size.
// Returns (values, indices); indices is undefined unless return_indices.
std::pair<Tensor, Tensor> max_pool(const Tensor& x, int spatial, const Dims& kernel, const Dims& stride,
                                   const Dims& padding, const Dims& dilation, bool ceil_mode, bool return_indices);
Tensor avg_pool(const Tensor& x, int spatial, const Dims& kernel, const Dims& stride, const Dims& padding,
                bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override);
// One entry per spatial dim (or one for all); nullopt keeps that dim's input size.
Tensor adaptive_avg_pool(const Tensor& x, int spatial, const std::vector<std::optional<int64_t>>& output_size);
// size: the output size of each spatial dim; scales: the scale factors the caller gave, which enter
// the source index math like in torch (empty, or <= 0 entries, when the size was given directly).
// mode: "nearest", "nearest-exact", "linear" (3-D), "bilinear" (4-D) or "area".
Tensor interpolate(const Tensor& x, const Dims& size, std::string_view mode, bool align_corners,
                   const std::vector<double>& scales);
// pad: (last dim left, last dim right, next-to-last left, ...); negative amounts crop.
// mode: "constant" (with value, default 0), "reflect", "replicate" or "circular".
Tensor pad(const Tensor& x, const Dims& pad, std::string_view mode, std::optional<Scalar> value);
Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);
Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor);

}  // namespace ember
