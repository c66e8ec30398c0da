// The scale searches behind the K-quant reference quantizers (ref_kquants.cpp), defined in
// ref_kquants_search.cpp. They follow the methods of ggml's ggml-quants.c (make_qx_quants,
// make_q3_quants, make_qkx2_quants): pick a sub-block scale (and min) from a few candidate inverse
// scales by weighted least squares. The callers then quantize those scales to 4 or 6 bits against one
// f16 super-block scale and polish each sub-block's codes against the stored values (refine_*).
#pragma once
#include <cstdint>

namespace ember::quant::ref {

// Asymmetric fit x ~ scale * L - min, L in [0, nmax], min >= 0, minimizing sum w * |err| (use_mad)
// or sum w * err^2, over the inverse scales (nmax + rmin + rdelta * is) / (max - min), is = 0..nstep.
// Returns the scale; *min_out = min. L receives the codes of the best candidate.
float fit_affine(int n, int nmax, const float* x, const float* w, uint8_t* L, float* min_out, float rmin,
                 float rdelta, int nstep, bool use_mad);

// Symmetric fit x ~ scale * (L - nmax), L in [0, 2 nmax), weights x^2, over the inverse scales
// -(nmax + 0.1 is) / max, is = -9..9. Returns the (signed) scale.
float fit_symmetric(int n, int nmax, const float* x, uint8_t* L);

// Q3_K's symmetric fit: weights x^2, starting from -nmax / max, then up to 5 passes that move single
// codes while the weighted fit improves. Returns the (signed) scale; L in [0, 2 nmax).
float fit_symmetric_iterative(int n, int nmax, const float* x, uint8_t* L);

// Squared error of the n values of x against scale * l - min, l = clamp(round((x + min) / scale), 0,
// nmax); the codes go to L when L is not null. A zero scale reproduces -min everywhere.
float affine_error(int n, int nmax, const float* x, float scale, float min, uint8_t* L);

// Squared error of x against scale * l, l = clamp(round(x / scale), -nmax, nmax - 1); the codes
// l + nmax go to L when not null.
float symmetric_error(int n, int nmax, const float* x, float scale, uint8_t* L);

// Given the stored super-block scales d, dmin and a sub-block's codes (sc, m) in [0, code_max],
// tries the codes within +-radius of each and keeps the pair with the smallest squared error
// (ties keep the original). Returns the error of the kept pair.
float refine_affine_codes(int n, int nmax, const float* x, float d, float dmin, int code_max, int radius,
                          int* sc, int* m);

// The same for a signed scale code sc in [code_min, code_max] of a symmetric sub-block.
float refine_symmetric_code(int n, int nmax, const float* x, float d, int code_min, int code_max, int radius,
                            int* sc);

}  // namespace ember::quant::ref
