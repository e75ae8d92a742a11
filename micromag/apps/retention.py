r"""Retention, read disturb and write efficiency of an MRAM bit: from a barrier to a sign-off number.

Thermally activated reversal (Néel–Brown): a bit with thermal stability factor Δ = E_b / (k_B T) flips at
the mean rate 1/τ with

    τ = τ0 · exp(Δ)                                   (s; τ0 the attempt time, 1 ns by default)

so the probability that it has flipped after a time t, and that one of N independent bits has, are

    P_1 = 1 − exp(−t/τ),       P_N = 1 − exp(−N t/τ).

A current I through the junction below the zero-temperature critical current Ic0 lowers the barrier (the
thermally activated model of spin-transfer switching, Koch, Katine & Sun, Phys. Rev. Lett. 92, 088302
(2004); Li & Zhang, Phys. Rev. B 69, 134416 (2004)):

    Δ(I) = Δ · (1 − I/Ic0)^n        n = 2 for a perpendicular (axially symmetric) free layer, where the
                                     spin torque acts on the polar angle exactly like a field along the
                                     axis of strength (I/Ic0)·B_K (Taniguchi & Imamura, Phys. Rev. B 83,
                                     054432 (2011)); n = 1 is Koch's in-plane form

and a read of duration t_read flips the cell with P = 1 − exp(−t_read / (τ0 e^{Δ(I)})). For the axially
symmetric macrospin the rate is also known without the high-barrier approximation: :func:`escape_time`
(the exact mean first-passage time of Brown's Fokker–Planck equation) and :func:`axial_flip_probability`
(its time-dependent solution), which are what the thermal batch simulations are checked against.

Critical currents of the macrospin (T = 0, the instability of the initial state):

* STT, perpendicular:   Ic0 = (2 e α / (ħ ε)) · K_eff V,   ε = P Λ² / ((Λ² + 1) ± (Λ² − 1)) (= P/2 for
  Λ = 1; + from the parallel state, − from the antiparallel one; Slonczewski's efficiency as in
  :class:`micromag.SlonczewskiSTT`).
* SOT, perpendicular (type z) with an in-plane field B_x along the current (Lee et al., Appl. Phys. Lett.
  102, 112410 (2013)):   Jc = (2e/ħ) (Ms t_F / θ) (B_K/2 − B_x/√2).
* SOT, in-plane with the easy axis along σ (type y; Liu et al., Science 336, 555 (2012)):
  Jc0 = (2e/ħ) (α Ms t_F / θ) (B_K + B_d/2), B_d = μ0 M_eff the out-of-plane demagnetizing field.

The write-efficiency figure of merit is Δ / Ic0 in 1/µA.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..engine.constants import e as e_charge, gamma_mumax, hbar, kB
from ..engine.validation import check_int, check_numbers, check_probability

SECONDS_PER_YEAR = 365.25 * 24 * 3600.0
"""A Julian year in s (the unit of retention specifications)."""


def kelvin(celsius):
    """T in K for a temperature in °C (array or number)."""
    return np.asarray(celsius, dtype=float) + 273.15 if np.ndim(celsius) else float(celsius) + 273.15


def _pos(name, v, unit="", allow_zero=False):
    """A number or an array of numbers, all finite and > 0 (>= 0 with ``allow_zero``)."""
    return check_numbers(name, v, lo=0.0, lo_open=not allow_zero, unit=unit)


def _count(name, v):
    return float(check_int(name, v, lo=1))


_prob = check_probability


# ---------------------------------------------------------------------------------------------- retention
def thermal_stability(barrier, T):
    """Δ = E_b / (k_B T) for a barrier in J at temperature T in K (> 0)."""
    return _pos("barrier", barrier, "J", allow_zero=True) / (kB * _pos("T", T, "K"))


def retention_time(delta, tau0=1e-9):
    """Mean time to a thermally activated flip, τ = τ0 exp(Δ), in s (τ0 in s)."""
    return _pos("tau0", tau0, "s") * np.exp(_pos("delta", delta, allow_zero=True))


def flip_probability(delta, t, tau0=1e-9, n_bits=1):
    """Probability that a bit (or at least one of ``n_bits`` independent bits) of stability Δ flips within
    t seconds: 1 − exp(−N t / (τ0 e^Δ)) (computed with expm1, accurate down to 1e-300)."""
    delta = _pos("delta", delta, allow_zero=True)
    t = _pos("t", t, "s", allow_zero=True)
    rate = _count("n_bits", n_bits) * t / _pos("tau0", tau0, "s") * np.exp(-np.asarray(delta, dtype=float))
    p = -np.expm1(-rate)
    return float(p) if np.ndim(p) == 0 else p


def required_delta(t, n_bits=1, fail_budget=1e-6, tau0=1e-9):
    """The smallest Δ for which no more than a fraction ``fail_budget`` of arrays of ``n_bits`` bits loses a
    bit within t seconds: Δ_min = ln(N t / τ0) − ln(−ln(1 − budget))."""
    t = _pos("t", t, "s")
    n = _count("n_bits", n_bits)
    b = _prob("fail_budget", fail_budget)
    return math.log(n * t / _pos("tau0", tau0, "s")) - math.log(-math.log1p(-b))


@dataclass
class RetentionVerdict:
    """The retention sign-off: whether Δ at the hot corner keeps an array for the required time."""

    passes: bool
    delta: float            # Δ at T (dimensionless)
    delta_required: float   # the smallest Δ that meets the budget
    margin: float           # delta − delta_required
    T: float                # K
    years: float
    n_bits: int
    fail_budget: float
    failure_probability: float  # P(at least one of n_bits flips within `years` at T)
    retention_time: float   # τ0 e^Δ of one bit, s
    tau0: float             # s

    def to_dict(self):
        return asdict(self)

    def __str__(self):
        return (f"{'PASS' if self.passes else 'FAIL'}: Δ({self.T:g} K) = {self.delta:.4g} against the {self.delta_required:.4g} "
                f"needed for {self.years:g} years of {self.n_bits} bits with a failure budget of {self.fail_budget:g} "
                f"(P_fail = {self.failure_probability:.3g}, margin {self.margin:+.3g})")


def retention_verdict(delta, T=kelvin(150.0), years=10.0, n_bits=1, fail_budget=1e-6, tau0=1e-9):
    """The retention verdict of an array: ``delta`` is Δ at the temperature T (K; default 150 °C), or a
    function Δ(T); the array holds ``n_bits`` bits for ``years`` years with probability of failure (any bit
    flipped) at most ``fail_budget``. Returns a :class:`RetentionVerdict`."""
    T = _pos("T", T, "K")
    d = float(delta(T)) if callable(delta) else _pos("delta", delta, allow_zero=True)
    t = _pos("years", years, "years") * SECONDS_PER_YEAR
    n = int(_count("n_bits", n_bits))
    req = required_delta(t, n, fail_budget, tau0)
    p = flip_probability(d, t, tau0, n)
    return RetentionVerdict(passes=bool(d >= req), delta=d, delta_required=req, margin=d - req, T=T, years=float(years),
                            n_bits=n, fail_budget=float(fail_budget), failure_probability=p,
                            retention_time=float(retention_time(d, tau0)), tau0=float(tau0))


# ---------------------------------------------------------------------------------------------- read disturb
def read_disturb_probability(delta, I_read, Ic0, t_read, tau0=1e-9, exponent=2.0, n_reads=1, n_bits=1):
    """Probability that reading (current I_read in A for t_read s, ``n_reads`` times, on each of ``n_bits``
    bits) flips at least one bit, in the thermally activated model:
    P = 1 − exp(−n_reads n_bits t_read / (τ0 exp(Δ (1 − I/Ic0)^n))), n = ``exponent``.
    Δ is the zero-current stability at the read temperature; I_read and Ic0 must have the same sign (the
    read current pushes towards the reversal); |I_read| >= |Ic0| switches the cell: P = 1."""
    delta = _pos("delta", delta, allow_zero=True)
    Ic0 = float(Ic0)
    if not math.isfinite(Ic0) or Ic0 == 0:
        raise ValueError(f"Ic0 must be a finite non-zero current in A, got {Ic0!r}")
    i = np.asarray(I_read, dtype=float) / Ic0
    if not np.all(np.isfinite(i)) or np.any(i < 0):
        raise ValueError("I_read must be finite and of the sign of Ic0 (a read current that pushes against the "
                         "reversal lowers no barrier: give it as 0)")
    n = _pos("exponent", exponent)
    d_eff = delta * np.clip(1.0 - i, 0.0, None) ** n
    p = flip_probability(d_eff, _pos("t_read", t_read, "s", allow_zero=True), tau0,
                         _count("n_reads", n_reads) * _count("n_bits", n_bits))
    p = np.where(i >= 1.0, 1.0, p)  # at or above Ic0 the read current writes
    return float(p) if p.ndim == 0 else p


def max_read_current(delta, Ic0, t_read, budget, tau0=1e-9, exponent=2.0, n_reads=1, n_bits=1):
    """The largest read current (A, same sign as Ic0) for which :func:`read_disturb_probability` stays within
    ``budget``: I = Ic0 (1 − (Δ_min/Δ)^(1/n)), Δ_min = required_delta(n_reads n_bits t_read, budget); 0 when
    even a zero current misses the budget."""
    dmin = required_delta(_pos("t_read", t_read, "s") * _count("n_reads", n_reads), n_bits, budget, tau0)
    delta = _pos("delta", delta)
    if dmin >= delta:
        return 0.0
    return float(Ic0) * (1.0 - (max(dmin, 0.0) / delta) ** (1.0 / _pos("exponent", exponent)))


# ---------------------------------------------------------------------------------------------- the macrospin
def _tau_N(delta, alpha, B_K, gamma):
    """Brown's free-diffusion time τ_N = (1 + α²) μ / (2 α γ k_B T) with μ/(k_B T) = 2Δ/B_K, in s."""
    return (1 + alpha**2) * delta / (alpha * gamma * B_K)


def escape_time(delta, i=0.0, alpha=0.01, B_K=1.0, gamma=gamma_mumax, method="exact", x_abs=0.0):
    """Mean time (s) for an axially symmetric uniaxial macrospin (stability Δ at zero drive, anisotropy field
    B_K = 2K/Ms in T, damping α, γ in rad/(s·T)) to leave the well at m_z = +1 for m_z < ``x_abs``, driven
    towards reversal by a reduced current i = I/Ic0 (or a field along −z of i·B_K; 0 <= i < 1).

    method="brown": the high-barrier limit (Brown 1963; Coffey & Kalmykov, J. Appl. Phys. 112, 121301 (2012))
        τ = (1 + α²)/(α γ B_K) · √(π/Δ) e^{Δ(1−i)²} / ((1 − i)(1 − i²)).
    method="exact": the mean first-passage time of Brown's Fokker–Planck equation in x = m_z with the
        reduced potential φ(x) = Δ (1 − x² + 2 i x), D(x) = (1 − x²)/(2 τ_N),
        τ = 2 τ_N ∫_{x_abs}^{1} dx e^{φ(x)}/(1 − x²) ∫_x^1 e^{−φ(y)} dy,   τ_N = (1 + α²) Δ / (α γ B_K),
        by quadrature on a fine grid in θ (relative accuracy ~1e-6).
    """
    delta = _pos("delta", delta)
    i = float(i)
    if not 0.0 <= i < 1.0:
        raise ValueError(f"i = I/Ic0 = {i!r} is outside the allowed range [0, 1)")
    alpha, B_K, gamma = _pos("alpha", alpha), _pos("B_K", B_K, "T"), _pos("gamma", gamma, "rad/(s·T)")
    if method == "brown":
        return (1 + alpha**2) / (alpha * gamma * B_K) * math.sqrt(math.pi / delta) * math.exp(delta * (1 - i) ** 2) \
            / ((1 - i) * (1 - i * i))
    if method != "exact":
        raise ValueError(f"method must be 'exact' or 'brown', got {method!r}")
    theta_abs = math.acos(max(-1.0, min(1.0, float(x_abs))))
    th = np.linspace(0.0, theta_abs, 200001)
    x = np.cos(th)
    phi = delta * (1 - x * x + 2 * i * x)
    phi0 = phi.max()
    # inner(θ) = ∫_0^θ e^{−φ} sin θ' dθ' (= ∫_x^1 e^{−φ(y)} dy), scaled by e^{phi(θ=0)}
    f = np.exp(-(phi - phi[0])) * np.sin(th)
    inner = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(th))])
    s = np.sin(th)
    g = np.where(s > 0, np.exp(phi - phi0) * inner / np.where(s > 0, s, 1.0), 0.0)  # dx/(1−x²) = dθ/sinθ
    outer = float(np.sum(0.5 * (g[1:] + g[:-1]) * np.diff(th)))
    return 2 * _tau_N(delta, alpha, B_K, gamma) * outer * math.exp(phi0 - phi[0])


def axial_flip_probability(t, delta, i=0.0, alpha=0.01, B_K=1.0, gamma=gamma_mumax, x_abs=0.0, cells=1500):
    """P(m_z has gone below ``x_abs`` by time t) for the macrospin of :func:`escape_time` that starts at
    m_z = +1: the time-dependent solution of Brown's Fokker–Planck equation
    ∂W/∂t = ∂_x[D(x) (∂_x W + W ∂_x φ)] on [x_abs, 1] (Scharfetter–Gummel finite volumes, which keep the
    Boltzmann distribution exact; zero flux at x = 1, absorbing at x_abs), solved by diagonalizing the
    generator (symmetric under W = u e^{−φ/2} by detailed balance).
    Includes the transient from the start at the pole, where 1 − exp(−t/τ) does not. t in s (array)."""
    delta = _pos("delta", delta)
    i = float(i)
    if not 0.0 <= i < 1.0:
        raise ValueError(f"i = I/Ic0 = {i!r} is outside the allowed range [0, 1)")
    t = np.atleast_1d(_pos("t", t, "s", allow_zero=True))
    tau_N = _tau_N(delta, _pos("alpha", alpha), _pos("B_K", B_K, "T"), _pos("gamma", gamma, "rad/(s·T)"))
    n = int(cells)
    edges = np.linspace(float(x_abs), 1.0, n + 1)
    h = edges[1] - edges[0]
    xc = 0.5 * (edges[1:] + edges[:-1])
    phi = delta * (1 - xc * xc + 2 * i * xc)

    def bern(z):
        z = np.asarray(z, dtype=float)
        out = np.ones_like(z)
        nz = np.abs(z) > 1e-12
        out[nz] = z[nz] / np.expm1(z[nz])
        return out

    # flux from cell k to k+1 (towards x = 1) in units of 1/τ_N: F = D/h [B(Δφ) W_k − B(−Δφ) W_{k+1}],
    # Δφ = φ_{k+1} − φ_k, B(z) = z/(e^z − 1): zero for W ∝ e^{−φ}
    Df = (1 - edges[1:-1] ** 2) / 2.0 / h
    dphi = np.diff(phi)
    a = Df * bern(dphi) / h   # coefficient of W_k in the flux k -> k+1, per unit length
    b = Df * bern(-dphi) / h  # coefficient of W_{k+1}
    main = np.zeros(n)
    main[:-1] -= a
    main[1:] -= b
    # absorbing at x_abs: the flux out of cell 0 through the lower edge, W = 0 there (half a cell away)
    D0 = (1 - edges[0] ** 2) / 2.0
    dphi0 = phi[0] - (delta * (1 - edges[0] ** 2 + 2 * i * edges[0]))
    main[0] -= D0 * float(bern(np.array([-dphi0]))[0]) / (0.5 * h) / h
    # detailed balance makes the generator symmetric under W = u / q, q = e^{φ/2}: diagonalize it once
    from scipy.linalg import eigh_tridiagonal

    q = np.exp(0.5 * (phi - phi.max()))
    off = np.sqrt(a * b)
    lam, vec = eigh_tridiagonal(main, off)
    u0 = np.zeros(n)
    u0[-1] = q[-1] / h  # all the probability at the pole
    c = vec.T @ u0
    weights = (vec / q[:, None]).sum(axis=0) * h  # ∫ W dx of each mode
    out = np.array([1.0 - float(np.sum(weights * c * np.exp(lam * tk / tau_N))) for tk in t])
    return out if out.size > 1 else float(out[0])


def stt_critical_current(K_eff, volume, alpha, P=0.6, Lambda=1.0, state="P", B_d=0.0, Ms=None):
    """Zero-temperature critical current Ic0 in A of a macrospin (K_eff in J/m³, volume in m³):
    Ic0 = 2 e α (K_eff + Ms B_d / 4) V / (ħ ε) with ε = P Λ² / ((Λ² + 1) + (Λ² − 1) s), s = +1 from the
    parallel state (``state="P"``: P → AP), −1 from the antiparallel one. For a perpendicular layer B_d = 0
    (Ic0 = 2eα K_eff V/(ħε)); for an in-plane one B_d = μ0 M_eff, the out-of-plane demagnetizing field in T
    (Ms in A/m then needed), enters as B_K + B_d/2 (Sun, Phys. Rev. B 62, 570 (2000)). The magnitude; the sign
    follows the torque convention of :class:`micromag.SlonczewskiSTT` (P → AP needs electrons from the free
    layer, J < 0)."""
    if state not in ("P", "AP"):
        raise ValueError(f"state must be 'P' or 'AP', got {state!r}")
    L2 = _pos("Lambda", Lambda) ** 2
    P = float(P)
    if not 0 < P <= 1:
        raise ValueError(f"P = {P!r} is outside the allowed range (0, 1]")
    eps = P * L2 / ((L2 + 1) + (L2 - 1) * (1 if state == "P" else -1))
    K = _pos("K_eff", K_eff, "J/m³")
    if B_d:
        if Ms is None:
            raise ValueError("Ms (A/m) is needed with B_d")
        K += _pos("Ms", Ms, "A/m") * _pos("B_d", B_d, "T") / 4
    return 2 * e_charge * _pos("alpha", alpha) * K * _pos("volume", volume, "m³") / (hbar * eps)


def sot_critical_current_density_perpendicular(Ms, t_F, theta, B_K, B_x):
    """Lee et al. (2013): Jc = (2e/ħ)(Ms t_F/|θ|)(B_K/2 − |B_x|/√2) in A/m² for a perpendicular layer (Ms in A/m,
    t_F in m, B_K = 2K_eff/Ms and the in-plane field B_x along the current in T; |B_x| < B_K/√2)."""
    Ms, t_F, B_K = _pos("Ms", Ms, "A/m"), _pos("t_F", t_F, "m"), _pos("B_K", B_K, "T")
    th = abs(float(theta))
    if not 0 < th < 1:
        raise ValueError(f"theta = {theta!r}: |θ| must lie in (0, 1)")
    return 2 * e_charge / hbar * Ms * t_F / th * (B_K / 2 - abs(float(B_x)) / math.sqrt(2))


def sot_critical_current_density_inplane(alpha, Ms, t_F, theta, B_K, B_d):
    """Type-y (easy axis along σ) in-plane layer: Jc0 = (2e/ħ)(α Ms t_F/|θ|)(B_K + B_d/2) in A/m², B_K the
    in-plane anisotropy field and B_d = μ0 M_eff the out-of-plane demagnetizing field (T)."""
    th = abs(float(theta))
    if not 0 < th < 1:
        raise ValueError(f"theta = {theta!r}: |θ| must lie in (0, 1)")
    return 2 * e_charge / hbar * _pos("alpha", alpha) * _pos("Ms", Ms, "A/m") * _pos("t_F", t_F, "m") / th * (
        _pos("B_K", B_K, "T", allow_zero=True) + _pos("B_d", B_d, "T", allow_zero=True) / 2)


def figure_of_merit(delta, Ic0):
    """Write efficiency Δ / Ic0 in 1/µA (Ic0 in A)."""
    return _pos("delta", delta, allow_zero=True) / (abs(float(Ic0)) * 1e6)


# ---------------------------------------------------------------------------------------------- statistics
def binomial_interval(k, n, conf=0.95):
    """Exact (Clopper–Pearson) two-sided interval (low, high) for a probability with k events in n trials."""
    from scipy.stats import beta

    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k = {k}, n = {n}")
    a = 1.0 - _prob("conf", conf)
    low = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return low, high
