#!/usr/bin/env python3
"""Fits the float32 polynomial coefficients used by csrc/cpu/simd/vec_math.h.

Each approximation is a weighted minimax fit (Lawson's iteratively reweighted least squares on a
Chebyshev grid) against mpmath references, with the coefficients rounded to float32 one at a time
from the lowest order up (each rounding is followed by a refit of the remaining ones). The script then
evaluates every polynomial the way the C++ code does (float32 Horner with a fused or an unfused
multiply-add) and prints the simulated error in float32 ulps next to the C++ constants.

    python3 scripts/fit_vecmath.py            # prints the constants for vec_math.h
    python3 scripts/fit_vecmath.py --check    # also simulates the float32 evaluation (max ulp)

vec_math.h evaluates tan's polynomial in double (the others in float32), so "tan" in the --check table
is the float32 figure, an upper bound for the header's use.

Needs numpy and mpmath. Deterministic: the same versions give the same output.
"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 40
F32 = np.float32


def cheb_grid(a, b, n=4000):
    k = np.arange(n)
    x = np.cos(np.pi * (k + 0.5) / n)
    return np.sort((a + b) / 2 + (b - a) / 2 * x)


def lawson(A, y, w, iters=400):
    """argmin_c max_i |w_i (A c - y)_i| by Lawson's algorithm (returns the best iterate)."""
    n = len(y)
    lw = np.ones(n) / n
    best = None
    for _ in range(iters):
        sw = np.sqrt(lw)
        c, *_ = np.linalg.lstsq(A * (sw * w)[:, None], y * sw * w, rcond=None)
        e = np.abs(w * (A @ c - y))
        m = e.max()
        if best is None or m < best[0]:
            best = (m, c)
        lw = lw * e
        lw /= lw.sum()
    return best


def fit_rounded(A, y, w):
    """Fits all columns of A, then fixes the coefficients to float32 one by one (lowest first)."""
    ncol = A.shape[1]
    fixed = []
    for k in range(ncol):
        rest = A[:, k:]
        yk = y - (A[:, :k] @ np.array(fixed, dtype=np.float64) if k else 0)
        _, c = lawson(rest, yk, w)
        fixed.append(float(F32(c[0])))
    model = np.abs(w * (A @ np.array(fixed) - y)).max()
    return [F32(c) for c in fixed], model


def horner(coeffs, x, fused):
    """float32 Horner: ((c_n x + c_{n-1}) x + ...) + c_0, every step rounded like the C++ code."""
    acc = F32(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = fma(acc, x, F32(c), fused)
    return acc


def fma(a, b, c, fused):
    if fused:  # exact product in float64, then one rounding (double rounding is rare and harmless here)
        return F32(np.float64(a) * np.float64(b) + np.float64(c))
    return F32(F32(a * b) + c)


def ulp_err(approx, ref):
    ref = np.asarray(ref, dtype=np.float64)
    e = np.floor(np.log2(np.maximum(np.abs(ref), 2.0**-126)))
    return np.abs(np.asarray(approx, dtype=np.float64) - ref) / 2.0 ** (e - 23)


def mpv(f, xs):
    return np.array([float(f(mp.mpf(float(x)))) for x in xs])


def fnum(v):
    return f"{float(v):.9g}f"  # 9 significant digits round-trip a float32


def fit_all():
    out = {}
    # exp(r) = 1 + (r + r^2 P(r)), |r| <= ln2/2 (+ margin for the rounded reduction)
    xs = cheb_grid(-0.3467, 0.3467)
    xs = xs[xs != 0]
    ex = mpv(mp.exp, xs)
    A = np.stack([xs**p for p in range(5)], 1)
    c, m = fit_rounded(A, (ex - 1 - xs) / xs**2, xs**2 / ex)
    out["exp"] = (c, m, "exp(r) = 1 + (r + r^2 P(r)), |r| <= ln2/2; model error relative to exp(r)")

    # expm1(r) = r + r^2 P(r), relative to expm1(r)
    em = mpv(mp.expm1, xs)
    A = np.stack([xs**p for p in range(6)], 1)
    c, m = fit_rounded(A, (em - xs) / xs**2, xs**2 / np.abs(em))
    out["expm1"] = (c, m, "expm1(r) = r + r^2 P(r), |r| <= ln2/2; relative to expm1(r)")

    # log1p(f) = f - f^2/2 + f^3 R(f), f in [sqrt(1/2)-1, sqrt(2)-1]
    xs = cheb_grid(np.sqrt(0.5) - 1 - 1e-4, np.sqrt(2) - 1 + 1e-4)
    xs = xs[xs != 0]
    lg = mpv(mp.log1p, xs)
    A = np.stack([xs**p for p in range(8)], 1)
    c, m = fit_rounded(A, (lg - xs + xs**2 / 2) / xs**3, xs**3 / np.abs(lg))
    out["log"] = (c, m, "log1p(f) = f - f^2/2 + f^3 R(f), f in [sqrt(.5)-1, sqrt(2)-1]; relative")

    # tanh(a) = a + a^3 Q(a^2), 0 <= a <= 0.625
    xs = cheb_grid(0, 0.625)
    th = mpv(mp.tanh, xs)
    A = np.stack([xs ** (2 * p) for p in range(5)], 1)
    c, m = fit_rounded(A, (th - xs) / xs**3, xs**3 / th)
    out["tanh"] = (c, m, "tanh(a) = a + a^3 Q(a^2), 0 <= a < 0.625; relative")

    # erf(a) = a + a F(a^2), 0 <= a <= 0.9
    xs = cheb_grid(0, 0.9)
    ef = mpv(mp.erf, xs)
    A = np.stack([xs ** (2 * p) for p in range(7)], 1)
    c, m = fit_rounded(A, (ef - xs) / xs, xs / ef)
    out["erf_small"] = (c, m, "erf(a) = a + a F(a^2), 0 <= a < 0.9; relative")

    # erf(a) = 1 - exp(q(a)), 0.9 <= a <= 3.92 (erf rounds to 1 in float32 above ~3.83)
    xs = cheb_grid(0.9, 3.92)
    lerfc = mpv(lambda t: mp.log(mp.erfc(t)), xs)
    erfc = mpv(mp.erfc, xs)
    A = np.stack([xs**p for p in range(7)], 1)
    c, m = fit_rounded(A, lerfc, erfc)
    out["erf_large"] = (c, m, "log(erfc(a)) = q(a), 0.9 <= a <= 3.92; absolute error of erf")

    # sin(r) = r + r^3 S(r^2), cos(r) = 1 - r^2/2 + r^4 C(r^2), tan(r) = r + r^3 T(r^2), |r| <= pi/4
    xs = cheb_grid(0, np.pi / 4 + 1e-4)
    xs = xs[xs != 0]
    sv = mpv(mp.sin, xs)
    A = np.stack([xs ** (2 * p) for p in range(3)], 1)
    c, m = fit_rounded(A, (sv - xs) / xs**3, xs**3 / sv)
    out["sin"] = (c, m, "sin(r) = r + r^3 S(r^2), |r| <= pi/4; relative")
    cv = mpv(mp.cos, xs)
    A = np.stack([xs ** (2 * p) for p in range(3)], 1)
    c, m = fit_rounded(A, (cv - 1 + xs**2 / 2) / xs**4, xs**4 / cv)
    out["cos"] = (c, m, "cos(r) = 1 - r^2/2 + r^4 C(r^2), |r| <= pi/4; relative")
    tv = mpv(mp.tan, xs)
    A = np.stack([xs ** (2 * p) for p in range(7)], 1)
    c, m = fit_rounded(A, (tv - xs) / xs**3, xs**3 / tv)
    out["tan"] = (c, m, "tan(r) = r + r^3 T(r^2), |r| <= pi/4; relative")
    return out


def simulate(fits):
    """float32 evaluation of each polynomial, as in vec_math.h; max error in ulps (fused, unfused)."""
    res = {}
    rng = np.random.default_rng(1)

    def run(name, xs, ref, evaluate):
        errs = []
        for fused in (True, False):
            errs.append(ulp_err(np.array([evaluate(F32(x), fused) for x in xs]), ref).max())
        res[name] = errs

    c = fits["exp"][0]
    xs = np.concatenate([np.linspace(-0.3466, 0.3466, 3001), rng.uniform(-0.3466, 0.3466, 3000)]).astype(F32)
    run("exp", xs, mpv(mp.exp, xs),
        lambda r, f: F32(F32(1) + fma(F32(r * r), horner(c, r, f), r, f)))
    c = fits["expm1"][0]
    run("expm1", xs[xs != 0], mpv(mp.expm1, xs[xs != 0]),
        lambda r, f: fma(F32(r * r), horner(c, r, f), r, f))
    c = fits["log"][0]
    xs = np.concatenate([np.linspace(0.7072, 1.4141, 3001), rng.uniform(0.7072, 1.4141, 3000)]).astype(F32)
    xs = xs[xs != 1]

    def logm(m, f):
        x = F32(m - F32(1))
        z = F32(x * x)
        y = F32(F32(x * z) * horner(c, x, f))
        y = fma(F32(-0.5), z, y, f)
        return F32(x + y)
    run("log (m in [.707,1.414])", xs, mpv(mp.log, xs), logm)
    c = fits["tanh"][0]
    xs = np.concatenate([np.linspace(1e-4, 0.625, 3001), rng.uniform(0, 0.625, 3000)]).astype(F32)
    xs = xs[xs != 0]
    run("tanh (a < 0.625)", xs, mpv(mp.tanh, xs),
        lambda a, f: fma(F32(a * F32(a * a)), horner(c, F32(a * a), f), a, f))
    c = fits["erf_small"][0]
    xs = np.concatenate([np.linspace(1e-4, 0.9, 3001), rng.uniform(0, 0.9, 3000)]).astype(F32)
    xs = xs[xs != 0]
    run("erf (a < 0.9)", xs, mpv(mp.erf, xs), lambda a, f: fma(a, horner(c, F32(a * a), f), a, f))
    c = fits["erf_large"][0]
    xs = np.concatenate([np.linspace(0.9, 3.92, 3001), rng.uniform(0.9, 3.92, 3000)]).astype(F32)
    # exp(q) rounded once (the vector exp is ~1 ulp; this ignores that part)
    run("erf (0.9 <= a <= 3.92)", xs, mpv(mp.erf, xs),
        lambda a, f: F32(F32(1) - F32(np.exp(np.float64(horner(c, a, f))))))
    xs = np.concatenate([np.linspace(1e-4, np.pi / 4, 3001), rng.uniform(0, np.pi / 4, 3000)]).astype(F32)
    xs = xs[xs != 0]
    cs, cc, ct = fits["sin"][0], fits["cos"][0], fits["tan"][0]
    run("sin (|r| <= pi/4)", xs, mpv(mp.sin, xs),
        lambda r, f: fma(F32(r * F32(r * r)), horner(cs, F32(r * r), f), r, f))
    run("cos (|r| <= pi/4)", xs, mpv(mp.cos, xs),
        lambda r, f: fma(F32(r * r), fma(F32(r * r), horner(cc, F32(r * r), f), F32(-0.5), f), F32(1), f))
    run("tan (|r| <= pi/4)", xs, mpv(mp.tan, xs),
        lambda r, f: fma(F32(r * F32(r * r)), horner(ct, F32(r * r), f), r, f))
    return res


def main():
    fits = fit_all()
    print("// namespace detail::k of csrc/cpu/simd/vec_math.h (coefficients lowest order first)")
    for name, (c, m, what) in fits.items():
        print(f"// {what}; model error {m:.3g}")
        print(f"inline constexpr float {name}[{len(c)}] = {{" + ", ".join(fnum(v) for v in c) + "};")
    # pi/2 in three parts for the double-precision argument reduction of sin/cos/tan: the first two have
    # 33 significant bits so that n * part is exact in double for n < 2^20.
    pio2 = mp.pi / 2

    def top_bits(x, bits):
        scale = mp.mpf(2) ** (bits - 1 - mp.floor(mp.log(abs(x), 2)))
        return mp.floor(x * scale) / scale

    p1 = top_bits(pio2, 33)
    p2 = top_bits(pio2 - p1, 33)
    p3 = mp.mpf(float(pio2 - p1 - p2))
    print(f"inline constexpr double pio2_1 = {float(p1).hex()};")
    print(f"inline constexpr double pio2_2 = {float(p2).hex()};")
    print(f"inline constexpr double pio2_3 = {float(p3).hex()};  // pi/2 - sum: {float(pio2 - p1 - p2 - p3):.3g}")
    print(f"inline constexpr double two_over_pi = {float(2 / mp.pi).hex()};")
    if "--check" in sys.argv:
        print()
        print("simulated float32 evaluation, max ulp (fused fma / separate mul+add):")
        for name, (a, b) in simulate(fits).items():
            print(f"  {name:28s} {a:6.3f} {b:6.3f}")


if __name__ == "__main__":
    main()
