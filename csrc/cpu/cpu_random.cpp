// Random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011),
// keyed by the seed. Element i of a call draws from counter (offset + i / per_block) independently of
// every other element, so results do not depend on the thread count, and a CUDA kernel can produce
// the same stream.
//   float32/f16/bf16 uniform: 4 values per counter, u = (x >> (32 - b)) * 2^-b in [0, 1) with b the
//   dtype's significand bits (24, 11, 8), so u never rounds up to 1 in the output dtype
//   float64 uniform: 2 values per counter, 53 bits from two words
//   normal (Box-Muller, cosine branch): 2 values per counter, each from its own pair of words
#include <cmath>

#include "core/convert.h"
#include "core/error.h"
#include "cpu/cpu_ops.h"
#include "cpu/philox.h"
#include "cpu/thread_pool.h"

namespace ember::cpu {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

template <class F>
void fill_contiguous(const Tensor& dst, F&& value_at) {
  EMBER_CHECK(is_floating(dst.dtype()), Type, "random: dtype ", dtype_name(dst.dtype()), " is not a floating dtype");
  EMBER_DISPATCH_FLOAT(dst.dtype(), "random", {
    scalar_t* out = dst.data<scalar_t>();
    parallel_for(dst.numel(), 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = convert<scalar_t>(value_at(i));
    });
  });
}

}  // namespace

void random_uniform(const Tensor& dst, uint64_t seed, uint64_t offset, double low, double high) {
  const double span = high - low;
  if (dst.dtype() == DType::F64) {
    fill_contiguous(dst, [&](int64_t i) {
      const PhiloxBlock r = philox4x32_10(offset + static_cast<uint64_t>(i) / 2, seed);
      const uint32_t hi = r.v[2 * (i % 2)], lo = r.v[2 * (i % 2) + 1];
      const uint64_t bits = ((static_cast<uint64_t>(hi) << 32) | lo) >> 11;
      return low + span * (static_cast<double>(bits) * 0x1.0p-53);
    });
    return;
  }
  const int bits = dst.dtype() == DType::F16 ? 11 : dst.dtype() == DType::BF16 ? 8 : 24;
  const double unit = std::ldexp(1.0, -bits);
  fill_contiguous(dst, [&](int64_t i) {
    const PhiloxBlock r = philox4x32_10(offset + static_cast<uint64_t>(i) / 4, seed);
    const double u = static_cast<double>(r.v[i % 4] >> (32 - bits)) * unit;
    return low + span * u;
  });
}

void random_normal(const Tensor& dst, uint64_t seed, uint64_t offset, double mean, double std) {
  fill_contiguous(dst, [&](int64_t i) {
    const PhiloxBlock r = philox4x32_10(offset + static_cast<uint64_t>(i) / 2, seed);
    const uint32_t w0 = r.v[2 * (i % 2)], w1 = r.v[2 * (i % 2) + 1];
    const double u1 = (static_cast<double>(w0) + 1.0) * 0x1.0p-32;  // (0, 1]: log is finite
    const double u2 = static_cast<double>(w1) * 0x1.0p-32;
    return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  });
}

}  // namespace ember::cpu
