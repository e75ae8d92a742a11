r"""Array statistics of an MRAM bit: the spread of Δ across an array and the array-level failure probabilities.

Cells of one array differ: the diameter (lithography, σ_d a few % of d) and the anisotropy (the interface
K_i of CoFeB/MgO varies with the oxidation and the thickness, σ_K/K a few %). The weakest bits decide the
array, so a sign-off needs the distribution of Δ, not only its nominal value.

Closed form (coherent rotation of a perpendicular disc of diameter d, thickness t; the macrospin):

    K_eff(d, s) = s · Ku1 − (μ0 Ms²/2) (N_z − N_x)(t/d)         (J/m³; s = K/K_nominal, the anisotropy spread)
    Δ(d, s)     = c · max(K_eff, 0) · (π d²/4) t / (k_B T)

with N_z, N_x the magnetometric demagnetizing factors of the cylinder (:func:`cylinder_demag_factors`), and
c = 1 (method "coherent") or c = Δ_MEP / Δ_coherent of the nominal cell (method "scaled": the micromagnetic
barrier of the nominal cell carried over the spread by the closed form's ratio; the approximation is that
the nucleation reduction Δ_MEP/Δ_coherent is the same for all cells of the spread).

Array probabilities for n_bits independent bits whose Δ is drawn from the spread, each failing with p(Δ)
(a thermally activated flip in the time t: p = 1 − exp(−t e^{−Δ}/τ0)):

    p̄ = E_spread[p(Δ)]                 (quadrature over the Gaussian (d, s), or the mean over a list)
    P_array = 1 − (1 − p̄)^n_bits        (exact for independent, identically distributed bits)

With an error-correcting code of t correctable bits per word of w bits (w including the check bits):

    P_word = P(Binomial(w, p̄) > t),     P_array = 1 − (1 − P_word)^(n_bits / w).

The expectation p̄ is computed by a product trapezoid rule on ±10 σ of each Gaussian with 241 nodes each
(the tail beyond carries a weight < 1e-22; for the 40 nm example cell doubling the nodes changes p̄ by
< 1e-12 relative: the trapezoid rule converges geometrically for a smooth Gaussian integrand), so the rare
weak bits are integrated, not sampled; the samples
(:meth:`ArraySpread.sample`) give the histogram of Δ for the report.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..engine.constants import kB, mu0

__all__ = ["ArraySpread", "cylinder_demag_factors", "CoherentDisc", "array_failure_probability",
           "word_failure_probability", "bit_failure_probability", "delta_quantiles"]


# ---------------------------------------------------------------------------------------------- demag
def cylinder_demag_factors(diameter, thickness):
    """Magnetometric demagnetizing factors (N_x = N_y, N_z) of a circular cylinder of ``diameter`` (m,
    array) and ``thickness`` (m, along z):

        N_z = (2R/L) ∫_0^∞ J1(x)² (1 − e^{−x L/R}) / x² dx,   N_x = (1 − N_z)/2

    (the energy of the two charged faces in Hankel space; R = d/2, L = t). Reproduces N_z = 0.3116 for L = 2R
    (Chen, Brug & Goldfarb, IEEE Trans. Magn. 27, 3601 (1991)) and the thin-disc limit
    N_z = 1 − (2L/(πd)) (ln(4d/L) − 1/2). Trapezoid on x ∈ [0, 500] (dx = 0.01) plus the tail 1/(2π X²)
    (the oscillating remainder is O(1/X³) ~ 1e-8)."""
    from scipy.special import j1

    d = np.atleast_1d(np.asarray(diameter, dtype=float))
    t = float(thickness)
    if np.any(~np.isfinite(d)) or np.any(d <= 0) or not (math.isfinite(t) and t > 0):
        raise ValueError(f"diameter and thickness must be > 0 m, got {diameter!r}, {thickness!r}")
    X = 500.0
    x = np.linspace(1e-9, X, 50001)
    w = j1(x) ** 2 / x**2
    a = (2 * t / d)[:, None]  # L/R
    f = w[None, :] * -np.expm1(-x[None, :] * a)
    integral = np.trapezoid(f, x, axis=1) + 1.0 / (2 * np.pi * X**2)
    Nz = 2.0 / (2 * t / d) * integral
    Nz = np.clip(Nz, 0.0, 1.0)
    Nx = 0.5 * (1.0 - Nz)
    return (Nx, Nz) if np.ndim(diameter) else (float(Nx[0]), float(Nz[0]))


@functools.lru_cache(maxsize=64)
def _dN_spline(lo, hi, thickness):
    """N_z − N_x on 64 diameters in [lo, hi] (m), a cubic spline in ln d (relative error < 1e-7)."""
    from scipy.interpolate import CubicSpline

    grid = np.geomspace(lo, hi, 64)
    Nx, Nz = cylinder_demag_factors(grid, thickness)
    return CubicSpline(np.log(grid), Nz - Nx)


# ---------------------------------------------------------------------------------------------- the spread
@dataclass(frozen=True)
class ArraySpread:
    """The cell-to-cell spread of an array.

    sigma_diameter  standard deviation of the diameter, m (>= 0; Gaussian about the nominal diameter)
    sigma_K         relative standard deviation of the anisotropy Ku1 (= K_i/t for an interface anisotropy),
                    dimensionless (>= 0; Gaussian about 1)
    diameters       a list of measured diameters (m, > 0) to use instead of the Gaussian, or None
    K_scales        a list of measured K/K_nominal (> 0), paired with ``diameters`` (or alone), or None
    samples         cells drawn for the histogram of Δ (>= 1; the probabilities are integrated, not sampled)
    seed            of the random generator (numpy PCG64)
    """

    sigma_diameter: float = 0.0
    sigma_K: float = 0.0
    diameters: tuple | None = None
    K_scales: tuple | None = None
    samples: int = 10000
    seed: int = 0

    def __post_init__(self):
        s = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        for k in ("sigma_diameter", "sigma_K"):
            v = getattr(self, k)
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{k} must be a number, got {v!r}") from None
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"{k} = {v!r} is outside the allowed range [0, inf)"
                                 f"{' m' if k == 'sigma_diameter' else ' (relative)'}")
            s(k, v)
        if self.sigma_K >= 1.0:
            raise ValueError(f"sigma_K = {self.sigma_K!r} is outside the allowed range [0, 1) (relative to K)")
        for k in ("diameters", "K_scales"):
            v = getattr(self, k)
            if v is not None:
                a = np.asarray(v, dtype=float)
                if a.ndim != 1 or a.size < 1 or not np.all(np.isfinite(a)) or np.any(a <= 0):
                    raise ValueError(f"{k} must be a non-empty list of numbers > 0, got {v!r}")
                s(k, tuple(float(x) for x in a))
        if self.diameters is not None and self.K_scales is not None and len(self.diameters) != len(self.K_scales):
            raise ValueError(f"diameters ({len(self.diameters)}) and K_scales ({len(self.K_scales)}) must pair up: "
                             "give them the same length")
        if self.listed and (self.sigma_diameter or self.sigma_K):
            raise ValueError("give either the Gaussian (sigma_diameter, sigma_K) or the lists (diameters, K_scales), "
                             "not both")
        if isinstance(self.samples, bool) or not float(self.samples).is_integer() or self.samples < 1:
            raise ValueError(f"samples must be an integer >= 1, got {self.samples!r}")
        s("samples", int(self.samples))

    @property
    def listed(self):
        return self.diameters is not None or self.K_scales is not None

    @property
    def distribution(self):
        return "values" if self.listed else "gaussian"

    def describe(self, diameter):
        if self.listed:
            n = len(self.diameters or self.K_scales)
            return f"{n} listed cells ({'diameters' if self.diameters else ''}{' and ' if self.diameters and self.K_scales else ''}{'K/K0' if self.K_scales else ''})"
        return (f"Gaussian: σ_d = {self.sigma_diameter * 1e9:.3g} nm ({100 * self.sigma_diameter / diameter:.3g} % of "
                f"{diameter * 1e9:.3g} nm), σ_K/K = {100 * self.sigma_K:.3g} %")

    def nodes(self, diameter, n=241, width=10.0):
        """Quadrature nodes and weights over the spread: (d, s, w) arrays with sum(w) = 1. Gaussian: a product
        trapezoid rule on ±``width`` σ (cells of d <= 0 are dropped with their weight: they have no
        barrier and count as failed through p(Δ = 0)); lists: the listed cells, equal weights."""
        if self.listed:
            m = len(self.diameters or self.K_scales)
            d = np.asarray(self.diameters if self.diameters else [diameter] * m, dtype=float)
            s = np.asarray(self.K_scales if self.K_scales else [1.0] * m, dtype=float)
            return d, s, np.full(m, 1.0 / m)
        zd = np.linspace(-width, width, n) if self.sigma_diameter > 0 else np.zeros(1)
        zs = np.linspace(-width, width, n) if self.sigma_K > 0 else np.zeros(1)

        def w1(z):
            if z.size == 1:
                return np.ones(1)
            w = np.exp(-0.5 * z * z)
            w[[0, -1]] *= 0.5
            return w / w.sum()

        D, S = np.meshgrid(diameter + self.sigma_diameter * zd, 1.0 + self.sigma_K * zs, indexing="ij")
        W = np.outer(w1(zd), w1(zs))
        return D.ravel(), S.ravel(), W.ravel()

    def sample(self, diameter, n=None):
        """Cells drawn from the spread: (d, s) arrays of ``n`` (default ``samples``; lists: the listed cells)."""
        if self.listed:
            d, s, _ = self.nodes(diameter)
            return d, s
        rng = np.random.default_rng(self.seed)
        n = self.samples if n is None else int(n)
        d = diameter + self.sigma_diameter * rng.standard_normal(n)
        s = 1.0 + self.sigma_K * rng.standard_normal(n)
        return d, s


# ---------------------------------------------------------------------------------------------- the cell
@dataclass(frozen=True)
class CoherentDisc:
    """The closed-form perpendicular disc of the module docstring at one temperature: diameter (m, nominal),
    thickness (m), Ms (A/m), Ku1 (J/m³) at T (K); ``scale`` = c (1: coherent; Δ_MEP/Δ_coherent: scaled)."""

    diameter: float
    thickness: float
    Ms: float
    Ku1: float
    T: float
    scale: float = 1.0

    def __post_init__(self):
        for k in ("diameter", "thickness", "Ms", "T", "scale"):
            v = float(getattr(self, k))
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"{k} = {v!r} is outside the allowed range (0, inf)")

    def _dN(self, d):
        """N_z − N_x for the diameters d (tabulated on a fine grid over the range of d, interpolated)."""
        d = np.asarray(d, dtype=float)
        lo, hi = max(float(np.min(d)), 1e-3 * self.diameter), max(float(np.max(d)), 1e-3 * self.diameter)
        if hi - lo < 1e-6 * self.diameter:
            Nx, Nz = cylinder_demag_factors(np.array([lo]), self.thickness)
            return np.full(d.shape, float(Nz[0] - Nx[0]))
        return _dN_spline(lo, hi, float(self.thickness))(np.log(np.maximum(d, lo)))

    def K_eff(self, d=None, s=1.0, dK=0.0):
        """K_eff(d, s) − dK in J/m³ (dK: a lowering, e.g. the VCMA of a read bias)."""
        d = self.diameter if d is None else d
        return np.asarray(s) * self.Ku1 - 0.5 * mu0 * self.Ms**2 * self._dN(d) - dK

    def delta(self, d=None, s=1.0, dK=0.0):
        """Δ(d, s) = c max(K_eff − dK, 0) (π d²/4) t / (k_B T); d <= 0 gives 0."""
        d = np.asarray(self.diameter if d is None else d, dtype=float)
        V = np.pi * np.maximum(d, 0.0) ** 2 / 4 * self.thickness
        out = self.scale * np.maximum(self.K_eff(np.where(d > 0, d, self.diameter), s, dK), 0.0) * V / (kB * self.T)
        return np.where(d > 0, out, 0.0)


# ---------------------------------------------------------------------------------------------- probabilities
def _p_flip(delta, t, tau0):
    return -np.expm1(-t / tau0 * np.exp(-np.asarray(delta, dtype=float)))


def bit_failure_probability(delta_fn, spread, diameter, t, tau0=1e-9):
    """p̄ = E_spread[1 − exp(−t e^{−Δ(d,s)}/τ0)]: the probability that a bit drawn from the array fails within
    t s (``delta_fn(d, s)`` -> Δ, vectorized; τ0 in s)."""
    d, s, w = spread.nodes(diameter)
    return float(np.sum(w * _p_flip(delta_fn(d, s), t, tau0)))


def word_failure_probability(p_bit, word_bits, ecc_bits):
    """P(more than ``ecc_bits`` of the ``word_bits`` bits of a word fail) for independent bits failing with
    p_bit: the binomial tail (scipy.stats.binom.sf, accurate for tiny p)."""
    from scipy.stats import binom

    w, t = _int("word_bits", word_bits, 1), _int("ecc_bits", ecc_bits, 0)
    if t >= w:
        raise ValueError(f"ecc_bits = {t} must be smaller than word_bits = {w} (a code cannot correct the whole word)")
    return float(binom.sf(t, w, float(p_bit)))


def array_failure_probability(p_bit, n_bits, word_bits=None, ecc_bits=0):
    """P(the array fails) = 1 − (1 − p̄)^n_bits without ECC, 1 − (1 − P_word)^(n_bits/word_bits) with it."""
    n = _int("n_bits", n_bits, 1)
    if word_bits is None:
        if ecc_bits:
            raise ValueError("ecc_bits needs word_bits (the bits of one ECC word)")
        return _any_of(float(p_bit), n)
    return _any_of(word_failure_probability(p_bit, word_bits, ecc_bits), math.ceil(n / int(word_bits)))


def _any_of(p, n):
    """1 − (1 − p)^n without cancellation (1 for p >= 1)."""
    return 1.0 if p >= 1.0 else float(-np.expm1(n * np.log1p(-p)))


def _int(name, v, lo):
    if isinstance(v, bool) or not float(v).is_integer() or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def delta_quantiles(delta_fn, spread, diameter, q=(1e-6, 1e-3, 0.5)):
    """Quantiles of Δ over the spread from the quadrature nodes (weighted), for q in (0, 1)."""
    d, s, w = spread.nodes(diameter)
    D = np.asarray(delta_fn(d, s), dtype=float)
    order = np.argsort(D)
    c = np.cumsum(w[order])
    return [float(D[order][min(np.searchsorted(c, x), len(c) - 1)]) for x in q]
