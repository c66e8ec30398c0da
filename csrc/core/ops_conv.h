// Convolution front-ends (torch.nn.functional.conv1d / conv2d / conv_transpose1d / conv_transpose2d).
#pragma once
#include <optional>

#include "core/tensor.h"

namespace ember {

enum class ConvPadding { Explicit, Valid, Same };

// x: (N, C_in, *spatial) or unbatched (C_in, *spatial); `spatial_dims` is 1 or 2. stride, padding,
// dilation (and output_padding) hold one value for every axis or one per axis. padding_mode Same
// pads so that the output has the input's size (the odd extra element after the end, like torch);
// Valid pads nothing; both ignore `padding`.
Tensor conv(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, int spatial_dims, const Dims& stride,
            const Dims& padding, const Dims& dilation, int64_t groups, ConvPadding padding_mode = ConvPadding::Explicit);
// w: (C_in, C_out / groups, *kernel). Output size per axis:
// (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.
Tensor conv_transpose(const Tensor& x, const Tensor& w, const std::optional<Tensor>& bias, int spatial_dims,
                      const Dims& stride, const Dims& padding, const Dims& output_padding, int64_t groups,
                      const Dims& dilation);

}  // namespace ember
