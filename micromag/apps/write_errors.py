r"""Write-error tails and the critical current against the pulse width: fits of simulated data to their
physical forms, with the extrapolation and its confidence interval stated.

**WER(I) of a spin-transfer write** (macrospin, precessional regime i = I/Ic0 > 1, pulse τ; Butler et al.,
IEEE Trans. Magn. 48, 4684 (2012), after Sun, Phys. Rev. B 62, 570 (2000)):

    WER(i, τ) = 1 − exp[ −(π² Δ / 4) · (i − 1) / (i e^{2 (i − 1) τ / τ_D} − 1) ]

Derivation: the polar angle grows as dθ/dt ≈ θ (i − 1)/τ_D from a Boltzmann start, P(θ0 < θ) = 1 − e^{−Δθ²};
a bit is written when θ reaches π/2 within τ, so WER = P(θ0 < θ_c(τ)) = 1 − exp(−Δ θ_c²) with θ_c = π/2 at
τ = 0 and θ_c² → (π²/4) ((i − 1)/i) e^{−2(i−1)τ/τ_D} for long pulses (the exponential tail that the
extrapolation rests on). Δ is the barrier's at the write temperature (not fitted); the critical drive x_c
(i = x/x_c; x the bias in V or the current) and τ_D are fitted by maximum likelihood to the binomial counts
(k errors of N members per drive). The confidence region is the likelihood-ratio region
2 (ℓ_max − ℓ) <= χ²₂(0.95) = 5.99 over (x_c, τ_D) (Wilks), scanned on a grid; every derived number (WER at a
drive, the drive for a target WER) is given with its min … max over the region: a simultaneous 95 %
interval, which is wide where the data (WER down to ~1/N) say little about the tail.

**Ic(τ)**: precessional regime (τ ≲ 10 τ_D): the macrospin goes from the rms thermal angle θ0 to the
equator in t_sw = τ_D F(i, θ0) (:func:`switch_time_factor`, exact for dθ/dt = sin θ (i − cos θ)/τ_D; its
small-angle limit is Sun's t_sw = τ_D ln(π/2θ0)/(i − 1)), so a pulse τ switches when F(i, θ0) <= τ/τ_D:
Ic(τ) = Ic0 i(τ) (:func:`fit_precessional` fits x_c and τ_D to simulated switching times). Thermally activated regime (τ ≳ 10 ns, Koch, Katine & Sun, PRL 92, 088302
(2004)): a pulse switches half the bits when τ = τ0 e^{Δ(1−i)^n}, i.e.

    Ic(τ) = Ic0 (1 − (ln(τ/τ0) / Δ)^{1/n})        (n = 1 Koch's form; n = 2 a perpendicular layer)

which is linear in x = ln(τ/τ0)^{1/n} (:func:`fit_ic_thermal`: Ic0 the intercept, Δ = (Ic0/|slope|)^n).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["wer_form", "fit_wer", "switch_time_factor", "fit_precessional", "ic_precessional", "fit_ic_thermal",
           "ic_thermal"]

CHI2_2DOF_95 = 5.991464547107979  # χ²₂ quantile at 0.95 (scipy.stats.chi2.ppf(0.95, 2))


def wer_form(x, x_c, tau_D, tau, delta):
    """WER of the Butler/Sun form at drive x (array) for the critical drive x_c, τ_D (s), pulse τ (s) and
    Δ; 1 where i = x/x_c <= 1 (the precessional form says nothing below threshold: counted as failing)."""
    i = np.asarray(x, dtype=float) / x_c
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        arg = 2.0 * (i - 1.0) * tau / tau_D
        frac = np.where(i > 1.0, (i - 1.0) / (i * np.exp(np.minimum(arg, 700.0)) - 1.0), np.inf)
        w = -np.expm1(-(math.pi**2 * delta / 4.0) * frac)
    return np.where(i > 1.0, w, 1.0)


def _loglik(W, k, n):
    W = np.clip(W, 1e-300, 1.0 - 1e-16)
    return np.sum(k * np.log(W) + (n - k) * np.log1p(-W), axis=-1)


def _drive_for(target, x_c, tau_D, tau, delta):
    """The drive x at which the form gives WER = target (vectorized over x_c, τ_D; bisection in i)."""
    q = -math.log1p(-target) * 4.0 / (math.pi**2 * delta)  # (i−1)/(i e^{2(i−1)τ/τ_D} − 1) = q
    x_c, tau_D = np.broadcast_arrays(np.asarray(x_c, dtype=float), np.asarray(tau_D, dtype=float))
    lo = np.full(x_c.shape, 1.0 + 1e-12)
    hi = np.full(x_c.shape, 1e3)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        with np.errstate(over="ignore"):
            f = (mid - 1.0) / (mid * np.exp(np.minimum(2.0 * (mid - 1.0) * tau / tau_D, 700.0)) - 1.0)
        big = f > q  # f decreases with i: still above the target means i too small
        lo = np.where(big, mid, lo)
        hi = np.where(big, hi, mid)
    return 0.5 * (lo + hi) * x_c


def fit_wer(drives, errors, members, tau, delta, x_c_range, tau_D_range, targets=(1e-6, 1e-9),
            at=None, grid=241):
    """Fit the Butler/Sun form to WER counts (``errors`` of ``members`` at each of ``drives``) for a pulse
    ``tau`` (s) and the stability Δ = ``delta`` at the write temperature.

    x_c_range, tau_D_range: the (low, high) ranges scanned for the critical drive and τ_D (s, log-spaced);
    the confidence region is clipped to them (the report states them). ``at``: drives at which to give the
    extrapolated WER (default the drives). Returns a dict: the MLE x_c, tau_D, the region's x_c and τ_D
    ranges, for each target the drive with its 95 % interval, WER at ``at`` with its interval, whether the
    MLE sits on the edge of the scanned ranges (then the region is bounded by the ranges, not by the data),
    the deviance (goodness of fit, −2 ln of the likelihood ratio against the saturated model) and its degrees
    of freedom."""
    x = np.asarray(drives, dtype=float)
    k = np.asarray(errors, dtype=float)
    n = np.asarray(members, dtype=float)
    if x.ndim != 1 or not (x.size == k.size == n.size) or x.size < 2:
        raise ValueError("drives, errors and members must be equal-length lists (at least two drives)")
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n) or np.any(x <= 0):
        raise ValueError("need drives > 0 and 0 <= errors <= members, members >= 1")
    for name, r in (("x_c_range", x_c_range), ("tau_D_range", tau_D_range)):
        if len(r) != 2 or not 0 < r[0] < r[1]:
            raise ValueError(f"{name} must be (low, high) with 0 < low < high, got {r!r}")
    tau, delta = float(tau), float(delta)
    if not (tau > 0 and delta > 0):
        raise ValueError(f"tau (s) and delta must be > 0, got {tau!r}, {delta!r}")
    XC, TD = np.meshgrid(np.geomspace(*x_c_range, grid), np.geomspace(*tau_D_range, grid), indexing="ij")
    W = wer_form(x[None, None, :], XC[..., None], TD[..., None], tau, delta)
    ll = _loglik(W, k, n)
    j = np.unravel_index(int(np.argmax(ll)), ll.shape)
    llmax = float(ll[j])
    region = 2.0 * (llmax - ll) <= CHI2_2DOF_95
    xc_r, td_r = XC[region], TD[region]
    at = x if at is None else np.atleast_1d(np.asarray(at, dtype=float))
    sat = _loglik(np.where(n > 0, k / n, 0.5), k, n)
    out = {"x_c": float(XC[j]), "tau_D_s": float(TD[j]), "x_c_region": [float(xc_r.min()), float(xc_r.max())],
           "tau_D_region_s": [float(td_r.min()), float(td_r.max())], "x_c_range": list(map(float, x_c_range)),
           "tau_D_range_s": list(map(float, tau_D_range)),
           "on_edge": bool(j[0] in (0, grid - 1) or j[1] in (0, grid - 1) or region[[0, -1], :].any()
                           or region[:, [0, -1]].any()),
           "deviance": float(2.0 * (sat - llmax)), "dof": int(x.size - 2), "tau_s": tau, "delta": delta,
           "members": int(n.sum()), "form": "Butler et al. 2012: WER = 1 − exp[−(π²Δ/4)(i−1)/(i e^{2(i−1)τ/τ_D} − 1)]",
           "ci": "likelihood-ratio region 2Δℓ <= 5.99 (95 %, 2 parameters), simultaneous min … max"}
    out["targets"] = []
    for tg in targets:
        xr = _drive_for(tg, xc_r, td_r, tau, delta)
        out["targets"].append({"WER": float(tg), "drive": float(_drive_for(tg, XC[j], TD[j], tau, delta)),
                               "drive_CI95": [float(xr.min()), float(xr.max())]})
    out["at"] = []
    for xa in at:
        wr = wer_form(xa, xc_r, td_r, tau, delta)
        out["at"].append({"drive": float(xa), "WER": float(wer_form(xa, XC[j], TD[j], tau, delta)),
                          "WER_CI95": [float(wr.min()), float(wr.max())]})
    return out


def switch_time_factor(i, theta0):
    """F(i, θ0) = ∫_{θ0}^{π/2} dθ / (sin θ (i − cos θ)): the time (in units of τ_D) for the perpendicular
    macrospin dθ/dt = sin θ (i − cos θ)/τ_D (damping-like spin torque, i = I/Ic0) to go from θ0 to the
    equator; by partial fractions in x = cos θ (x0 = cos θ0):

        F = −ln(1 − x0)/(2(i − 1)) + ln(1 + x0)/(2(i + 1)) − ln(i/(i − x0))/(i² − 1),   i > 1

    (inf for i <= 1: the torque never destabilizes the state). Its leading term ln(2/θ0²)/(2(i − 1)) is
    Sun's small-angle law; the other two are the large-angle part of the trajectory."""
    i = np.asarray(i, dtype=float)
    x0 = math.cos(float(theta0))
    with np.errstate(divide="ignore", invalid="ignore"):
        F = (-math.log1p(-x0) / (2 * (i - 1)) + math.log1p(x0) / (2 * (i + 1))
             - np.log(i / (i - x0)) / (i * i - 1))
    return np.where(i > 1, F, np.inf)


def _i_for_time(tau_ratio, theta0):
    """The i > 1 with F(i, θ0) = tau_ratio (F falls monotonically from inf at i = 1): bisection on ln(i − 1)."""
    lo, hi = np.full(np.shape(tau_ratio), -30.0), np.full(np.shape(tau_ratio), 10.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        slow = switch_time_factor(1 + np.exp(mid), theta0) > tau_ratio
        lo, hi = np.where(slow, mid, lo), np.where(slow, hi, mid)
    return 1 + np.exp(0.5 * (lo + hi))


def fit_precessional(drives, t_switch, theta0, t_offset=0.0):
    """Fit the macrospin switching time t_sw = t_offset + τ_D F(x/x_c, θ0) (:func:`switch_time_factor`) to
    switching times (s) at drives x from the start angle θ0 (rad; the rms thermal angle 1/√Δ), by least
    squares in ln t_sw over (x_c, τ_D). ``t_offset``: the part of the pulse's rise that does not drive (rise/2
    of a linear rise). Returns x_c, τ_D with standard errors (Jacobian covariance), and :func:`ic_precessional`
    gives Ic(τ) = x_c i(τ) with F(i, θ0) = (τ − t_offset)/τ_D. Needs at least three switched drives."""
    from scipy.optimize import least_squares

    x = np.asarray(drives, dtype=float)
    t = np.asarray(t_switch, dtype=float) - float(t_offset)
    ok = np.isfinite(t) & (t > 0)
    x, t = x[ok], t[ok]
    if x.size < 3:
        raise ValueError(f"fit_precessional needs at least three drives that switched, got {x.size}")
    # start: Sun's linear law 1/t ∝ x − x_c
    a, b = np.polyfit(x, 1.0 / t, 1)
    xc0 = min(-b / a if a > 0 and -b / a > 0 else 0.5 * x.min(), 0.99 * x.min())
    td0 = float(np.median(t / switch_time_factor(x / xc0, theta0)))

    def resid(p):
        xc, ltd = p[0], p[1]
        return np.log(np.exp(ltd) * switch_time_factor(x / xc, theta0)) - np.log(t)

    r = least_squares(resid, [xc0, math.log(td0)], bounds=([1e-12 * x.min(), -60.0], [x.min() * (1 - 1e-9), 0.0]))
    dof = max(x.size - 2, 1)
    s2 = float(r.fun @ r.fun) / dof
    try:
        cov = s2 * np.linalg.inv(r.jac.T @ r.jac)
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    x_c, tau_D = float(r.x[0]), float(math.exp(r.x[1]))
    return {"x_c": x_c, "tau_D_s": tau_D, "x_c_stderr": float(math.sqrt(max(cov[0, 0], 0))),
            "tau_D_stderr_s": float(tau_D * math.sqrt(max(cov[1, 1], 0))), "theta0_rad": float(theta0),
            "t_offset_s": float(t_offset), "points": int(x.size), "rms_log_residual": float(math.sqrt(s2)),
            "form": "t_sw = τ_D F(x/x_c, θ0), the perpendicular macrospin's time to the equator (Sun 2000, exact "
                    "in θ)"}


def ic_precessional(tau, fit):
    """Ic(τ) (the drive's unit) of a :func:`fit_precessional` result: the drive whose switching time from θ0
    equals the pulse τ (s)."""
    ratio = (np.asarray(tau, dtype=float) - fit["t_offset_s"]) / fit["tau_D_s"]
    return fit["x_c"] * _i_for_time(np.maximum(ratio, 1e-12), fit["theta0_rad"])


def ic_thermal(tau, Ic0, delta, tau0=1e-9, n=1.0):
    """Ic(τ) = Ic0 (1 − (ln(τ/τ0)/Δ)^{1/n}) for τ >= τ0 (the thermally activated regime), A (or the drive's unit)."""
    L = np.log(np.asarray(tau, dtype=float) / tau0)
    if np.any(L < 0):
        raise ValueError(f"the thermal form holds for pulses longer than τ0 = {tau0:g} s")
    return Ic0 * (1.0 - (L / delta) ** (1.0 / n))


def fit_ic_thermal(tau, Ic, tau0=1e-9, n=1.0, conf=0.95):
    """Fit Ic(τ) = Ic0 (1 − (ln(τ/τ0)/Δ)^{1/n}) to critical currents ``Ic`` at pulse widths ``tau`` (s, all
    >= τ0; τ0 and n given): ordinary least squares of Ic against x = ln(τ/τ0)^{1/n}. Returns Ic0 and Δ with
    ``conf`` intervals (Student t on the regression; Δ's by the delta method) and the residual rms."""
    from scipy.stats import t as student

    tau, Ic = np.asarray(tau, dtype=float), np.asarray(Ic, dtype=float)
    if tau.size != Ic.size or tau.size < 3:
        raise ValueError("fit_ic_thermal needs at least three (tau, Ic) pairs of equal length")
    if np.any(tau < tau0):
        raise ValueError(f"every pulse width must be >= tau0 = {tau0:g} s (the thermally activated regime)")
    x = np.log(tau / tau0) ** (1.0 / n)
    A = np.vstack([np.ones_like(x), x]).T
    (Ic0, slope), *_ = np.linalg.lstsq(A, Ic, rcond=None)
    r = Ic - A @ np.array([Ic0, slope])
    dof = tau.size - 2
    s2 = float(r @ r) / dof if dof > 0 else 0.0
    cov = s2 * np.linalg.inv(A.T @ A)
    delta = (-Ic0 / slope) ** n
    g = n * delta * np.array([1.0 / Ic0, -1.0 / slope])  # ∂Δ/∂(Ic0, slope)
    q = float(student.ppf(0.5 + conf / 2, max(dof, 1)))
    se_I, se_D = math.sqrt(max(cov[0, 0], 0)), math.sqrt(max(g @ cov @ g, 0))
    return {"Ic0": float(Ic0), "delta": float(delta), "Ic0_CI": [float(Ic0 - q * se_I), float(Ic0 + q * se_I)],
            "delta_CI": [float(delta - q * se_D), float(delta + q * se_D)], "tau0_s": float(tau0), "n": float(n),
            "rms_residual": float(math.sqrt(s2)), "points": int(tau.size),
            "form": f"Ic(τ) = Ic0 (1 − (ln(τ/τ0)/Δ)^(1/{n:g})) (Koch, Katine & Sun 2004)"}
