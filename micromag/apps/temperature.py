r"""Measured temperature dependence of a magnetic film: tables of Ms(T), K(T) and A(T), interpolated.

The power laws of :meth:`micromag.Material.at` (Bloch-type Ms(T) with a Curie temperature, Callen–Callen
K ∝ Ms^nK, A ∝ Ms^nA) carry approximate exponents; an engineer who has measured the film enters the
measurement instead::

    table = MeasuredTemperatureDependence(
        T=[200, 250, 300, 350, 400, 450],                 # K, strictly increasing
        Ms=[1.30e6, 1.28e6, 1.25e6, 1.22e6, 1.18e6, 1.14e6],   # A/m
        K_eff=[3.1e5, 2.9e5, 2.7e5, 2.4e5, 2.2e5, 1.9e5],      # J/m³ (or Ku1=[...])
        A=None,                                           # J/m (None: A ∝ Ms(T)^nA of the material)
        source="VSM + FMR of wafer W12, 2026-11")
    mat = mm.CoFeB_perpendicular(measured=table)          # Material.at(T) now reads the table

Interpolation between the measured points is shape-preserving cubic (PCHIP, Fritsch & Carlson, SIAM J.
Numer. Anal. 17, 238 (1980)): it passes through every point, keeps a monotonic table monotonic and adds
no overshoot. Outside [T_min, T_max] there is no extrapolation: a ValueError names the range.

K_eff is the effective perpendicular anisotropy of the continuous film (what a hard-axis loop of the film
gives): K_eff = Ku1 − μ0 Ms²/2 (thin-film shape anisotropy), so Ku1(T) = K_eff(T) + μ0 Ms(T)²/2 is what
the micromagnetic model (which computes the demagnetizing field of the real cell itself) receives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine.constants import mu0

__all__ = ["MeasuredTemperatureDependence"]


def _column(name, values, n, unit, lo=None, lo_open=False):
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers in {unit}, got {values!r}") from None
    if a.ndim != 1 or a.size != n:
        raise ValueError(f"{name} must hold one value per temperature ({n} values), got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must hold finite numbers in {unit}, got {values!r}")
    if lo is not None and (np.any(a <= lo) if lo_open else np.any(a < lo)):
        raise ValueError(f"{name} holds a value outside the allowed range {'(' if lo_open else '['}{lo:g}, inf) "
                         f"{unit}: {a.tolist()}")
    return tuple(float(x) for x in a)


@dataclass(frozen=True)
class MeasuredTemperatureDependence:
    """Measured Ms(T) (A/m), Ku1(T) or K_eff(T) (J/m³) and optionally A(T) (J/m) of a film at the
    temperatures T (K, strictly increasing, at least two), with the ``source`` of the data.

    Give exactly one of ``Ku1`` (the uniaxial constant the model takes) and ``K_eff`` (the film's effective
    anisotropy, Ku1 = K_eff + μ0 Ms²/2). ``A`` = None leaves the exchange stiffness to the material's
    power law A ∝ Ms(T)^nA. Every column is checked on construction (finite; Ms > 0, A >= 0; the same
    length as T), and a temperature outside [T_min, T_max] raises ValueError naming the range.
    """

    T: tuple
    Ms: tuple
    Ku1: tuple | None = None
    K_eff: tuple | None = None
    A: tuple | None = None
    source: str = ""

    def __post_init__(self):
        s = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        try:
            T = np.asarray(self.T, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"T must be a list of temperatures in K, got {self.T!r}") from None
        if T.ndim != 1 or T.size < 2:
            raise ValueError(f"T must list at least two temperatures (K), got {self.T!r}")
        if not np.all(np.isfinite(T)) or np.any(T < 0):
            raise ValueError(f"T must hold temperatures in [0, inf) K, got {T.tolist()}")
        if np.any(np.diff(T) <= 0):
            k = int(np.argmax(np.diff(T) <= 0))
            raise ValueError(f"T must be strictly increasing (monotonic in T), but T[{k}] = {T[k]:g} K is followed "
                             f"by T[{k + 1}] = {T[k + 1]:g} K")
        n = T.size
        s("T", tuple(float(x) for x in T))
        s("Ms", _column("Ms", self.Ms, n, "A/m", lo=0.0, lo_open=True))
        if (self.Ku1 is None) == (self.K_eff is None):
            raise ValueError("give exactly one of Ku1 (J/m³, the uniaxial constant) and K_eff (J/m³, the film's "
                             "effective anisotropy Ku1 − μ0 Ms²/2)")
        if self.Ku1 is not None:
            s("Ku1", _column("Ku1", self.Ku1, n, "J/m³"))
        else:
            s("K_eff", _column("K_eff", self.K_eff, n, "J/m³"))
        if self.A is not None:
            s("A", _column("A", self.A, n, "J/m", lo=0.0))
        s("source", str(self.source))

    # -------------------------------------------------------------------------------------- range
    @property
    def T_min(self):
        return self.T[0]

    @property
    def T_max(self):
        return self.T[-1]

    def check_T(self, T, what="T"):
        """T as a float if it lies in [T_min, T_max] (K); a ValueError naming the measured range otherwise."""
        try:
            T = float(T)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a temperature in K, got {T!r}") from None
        if not math.isfinite(T) or not self.T_min <= T <= self.T_max:
            raise ValueError(f"{what} = {T!r} K is outside the measured range [{self.T_min:g}, {self.T_max:g}] K of "
                             f"the temperature table{' (' + self.source + ')' if self.source else ''}: no "
                             "extrapolation; measure to there or narrow the operating range")
        return T

    def check_covers(self, temperatures, what="operating temperatures"):
        """Raise ValueError unless every one of ``temperatures`` (K) lies in the measured range."""
        bad = [float(t) for t in temperatures if not self.T_min <= float(t) <= self.T_max]
        if bad:
            raise ValueError(f"the temperature table covers [{self.T_min:g}, {self.T_max:g}] K but the {what} "
                             f"include {', '.join(f'{t:g}' for t in bad)} K: measure to there or narrow the range")

    # -------------------------------------------------------------------------------------- values
    def _interp(self, column, T):
        from scipy.interpolate import PchipInterpolator

        return float(PchipInterpolator(np.asarray(self.T), np.asarray(column))(T))

    def Ms_at(self, T):
        """Ms(T) in A/m (PCHIP through the measured points)."""
        return self._interp(self.Ms, self.check_T(T))

    def Ku1_at(self, T):
        """Ku1(T) in J/m³: the table's Ku1, or K_eff(T) + μ0 Ms(T)²/2."""
        T = self.check_T(T)
        if self.Ku1 is not None:
            return self._interp(self.Ku1, T)
        return self._interp(self.K_eff, T) + 0.5 * mu0 * self.Ms_at(T) ** 2

    def K_eff_at(self, T):
        """K_eff(T) = Ku1(T) − μ0 Ms(T)²/2 in J/m³ (the continuous film's)."""
        T = self.check_T(T)
        if self.K_eff is not None:
            return self._interp(self.K_eff, T)
        return self._interp(self.Ku1, T) - 0.5 * mu0 * self.Ms_at(T) ** 2

    def A_at(self, T):
        """A(T) in J/m, or None when the table has no A column."""
        return None if self.A is None else self._interp(self.A, self.check_T(T))

    def rows(self):
        """The table as dicts (T_K, Ms_A_per_m, Ku1_J_per_m3 or K_eff_J_per_m3, A_J_per_m) for a report."""
        out = []
        for k, T in enumerate(self.T):
            r = {"T_K": T, "Ms_A_per_m": self.Ms[k]}
            if self.Ku1 is not None:
                r["Ku1_J_per_m3"] = self.Ku1[k]
            else:
                r["K_eff_J_per_m3"] = self.K_eff[k]
            if self.A is not None:
                r["A_J_per_m"] = self.A[k]
            out.append(r)
        return out

    @classmethod
    def from_power_law(cls, material, T, keff=False, source=None):
        """The table that the power-law model of ``material`` (a Material with Tc) gives at the temperatures
        T (K): a reference for the table path, and a start for a measurement template."""
        ats = [material.at(t) for t in T]
        Ms = [m.Ms for m in ats]
        K = [m.Ku1 - (0.5 * mu0 * m.Ms**2 if keff else 0.0) for m in ats]
        return cls(T=tuple(T), Ms=Ms, **({"K_eff": K} if keff else {"Ku1": K}), A=[m.A for m in ats],
                   source=source or f"power-law model of {material.name or 'the material'} (Tc = {material.Tc:g} K)")
