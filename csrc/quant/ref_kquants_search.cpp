// Scale searches of the K-quant reference quantizers; see ref_kquants_search.h.
#include "quant/ref_kquants_search.h"

#include <cmath>

#include "quant/ref_util.h"

namespace ember::quant::ref {

namespace {

constexpr float kGroupMaxEps = 1e-15f;  // a group whose absmax is below this is all zeros

}  // namespace

float fit_affine(int n, int nmax, const float* x, const float* w, uint8_t* L, float* min_out, float rmin,
                 float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (!(max > min)) {  // constant non-negative group (or NaN): all codes 0, min carries the value
    for (int i = 0; i < n; ++i) L[i] = 0;
    *min_out = -min;
    return 0.f;
  }
  const float range = max - min;
  float iscale = static_cast<float>(nmax) / range;
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += w[i] * diff;
  }
  uint8_t aux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / range;
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
      aux[i] = static_cast<uint8_t>(l);
      const float fl = static_cast<float>(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      float diff = this_scale * aux[i] + this_min - x[i];
      diff = use_mad ? std::fabs(diff) : diff * diff;
      error += w[i] * diff;
    }
    if (error < best_error) {
      for (int i = 0; i < n; ++i) L[i] = aux[i];
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *min_out = -min;
  return scale;
}

float fit_symmetric(int n, int nmax, const float* x, uint8_t* L) {
  const float max = signed_absmax(x, n);
  if (!(std::fabs(max) >= kGroupMaxEps)) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float fnmax = static_cast<float>(nmax);
  // Weighted sums for one inverse scale; writes the codes when `codes` is not null.
  auto sums = [&](float iscale, float* sumlx, float* suml2, uint8_t* codes) {
    *sumlx = 0;
    *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      if (codes) codes[i] = static_cast<uint8_t>(l + nmax);
      const float fl = static_cast<float>(l);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * fl;
      *suml2 += w * fl * fl;
    }
  };
  float sumlx, suml2;
  sums(-fnmax / max, &sumlx, &suml2, L);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(fnmax + 0.1f * static_cast<float>(is)) / max;
    sums(iscale, &sumlx, &suml2, nullptr);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      sums(iscale, &sumlx, &suml2, L);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float fit_symmetric_iterative(int n, int nmax, const float* x, uint8_t* L) {
  const float max = signed_absmax(x, n);
  if (!(std::fabs(max) >= kGroupMaxEps)) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  const float iscale = -static_cast<float>(nmax) / max;
  int l_signed[32];
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    l_signed[i] = l;
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      const float li = static_cast<float>(l_signed[i]);
      float slx = sumlx - w * x[i] * li;
      if (!(slx > 0)) continue;
      float sl2 = suml2 - w * li * li;
      const int new_l = clamp_int(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (new_l == l_signed[i]) continue;
      const float fl = static_cast<float>(new_l);
      slx += w * x[i] * fl;
      sl2 += w * fl * fl;
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        l_signed[i] = new_l;
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(l_signed[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

float affine_error(int n, int nmax, const float* x, float scale, float min, uint8_t* L) {
  float error = 0;
  if (scale == 0) {
    for (int i = 0; i < n; ++i) {
      if (L) L[i] = 0;
      const float diff = -min - x[i];
      error += diff * diff;
    }
    return error;
  }
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int((x[i] + min) / scale), 0, nmax);
    if (L) L[i] = static_cast<uint8_t>(l);
    const float diff = scale * static_cast<float>(l) - min - x[i];
    error += diff * diff;
  }
  return error;
}

float symmetric_error(int n, int nmax, const float* x, float scale, uint8_t* L) {
  float error = 0;
  if (scale == 0) {
    for (int i = 0; i < n; ++i) {
      if (L) L[i] = static_cast<uint8_t>(nmax);
      error += x[i] * x[i];
    }
    return error;
  }
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(x[i] / scale), -nmax, nmax - 1);
    if (L) L[i] = static_cast<uint8_t>(l + nmax);
    const float diff = scale * static_cast<float>(l) - x[i];
    error += diff * diff;
  }
  return error;
}

float refine_affine_codes(int n, int nmax, const float* x, float d, float dmin, int code_max, int radius,
                          int* sc, int* m) {
  const int sc0 = *sc, m0 = *m;
  float best = affine_error(n, nmax, x, d * static_cast<float>(sc0), dmin * static_cast<float>(m0), nullptr);
  for (int s = sc0 - radius; s <= sc0 + radius; ++s) {
    if (s < 0 || s > code_max) continue;
    for (int mm = m0 - radius; mm <= m0 + radius; ++mm) {
      if (mm < 0 || mm > code_max || (s == sc0 && mm == m0)) continue;
      const float error =
          affine_error(n, nmax, x, d * static_cast<float>(s), dmin * static_cast<float>(mm), nullptr);
      if (error < best) {
        best = error;
        *sc = s;
        *m = mm;
      }
    }
  }
  return best;
}

float refine_symmetric_code(int n, int nmax, const float* x, float d, int code_min, int code_max, int radius,
                            int* sc) {
  const int sc0 = *sc;
  float best = symmetric_error(n, nmax, x, d * static_cast<float>(sc0), nullptr);
  for (int s = sc0 - radius; s <= sc0 + radius; ++s) {
    if (s < code_min || s > code_max || s == sc0) continue;
    const float error = symmetric_error(n, nmax, x, d * static_cast<float>(s), nullptr);
    if (error < best) {
      best = error;
      *sc = s;
    }
  }
  return best;
}

}  // namespace ember::quant::ref
