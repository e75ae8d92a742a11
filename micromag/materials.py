"""Magnetic materials: SI parameters, validated when they are made, and presets with sources."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

from .constants import gamma_mumax


def _finite(name, v, lo=None, lo_open=False, hi=None, hi_open=False, unit=""):
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number{unit and ' in ' + unit}, got {v!r}") from None
    rng = f"{'(' if lo_open else '['}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{')' if hi_open or hi is None else ']'}"
    bad = not math.isfinite(v)
    if lo is not None:
        bad |= v <= lo if lo_open else v < lo
    if hi is not None:
        bad |= v >= hi if hi_open else v > hi
    if bad:
        raise ValueError(f"{name} = {v!r} is outside the allowed range {rng}{' ' + unit if unit else ''}")
    return v


_DECLARED = None


def _declared():
    """The material parameters declared by the LLG and the registered terms (cached)."""
    global _DECLARED
    if _DECLARED is None:
        from .terms import material_parameters

        _DECLARED = tuple(material_parameters())
    return _DECLARED


@dataclass(frozen=True)
class Material:
    """A magnetic material, all in SI. Each field is declared (unit, range) by the term that reads it
    (``micromag.terms.material_parameters()``), and validated from that declaration on construction.

    Ms      saturation magnetization, A/m (>= 0; 0 only for a non-magnetic region)       (LLG)
    A       exchange stiffness, J/m (>= 0)                                                (exchange)
    alpha   Gilbert damping, dimensionless (>= 0)                                         (LLG)
    Ku1, Ku2  uniaxial anisotropy constants, J/m³; energy density −Ku1 (m·u)² − Ku2 (m·u)⁴  (anisotropy_uniaxial)
    anis_u  uniaxial easy axis (normalized on construction)
    Kc1, Kc2  cubic anisotropy constants, J/m³; energy density                            (anisotropy_cubic)
            Kc1 (a1²a2² + a2²a3² + a3²a1²) + Kc2 a1²a2²a3², with ai = m·ci
    anis_c1, anis_c2  first two cubic axes (c3 = c1 × c2); must be orthogonal
    D_ind   interfacial DMI constant, J/m²; energy density D (mz ∇·m − (m·∇) mz)           (dmi)
    gamma   gyromagnetic ratio γ, rad/(s·T) (γ0 = μ0 γ in m/(A·s)); default MuMax3's 1.7595e11  (LLG)

    Temperature (used only by :meth:`at`; the values above hold at ``T_ref``):

    Tc           Curie temperature, K (> T_ref; None: no temperature model, ``at`` refuses)
    T_ref        temperature at which Ms, A, Ku1, Kc1, Kc2 are given, K (default 300)
    Ms_exponent  exponent p of the Bloch-type law Ms(T) ∝ 1 − (T/Tc)^p (> 0; default 3/2, Bloch)
    nK           Callen–Callen exponent of Ku1: Ku1 ∝ (Ms(T)/Ms)^nK (> 0; 3 for single-ion uniaxial
                 anisotropy, l(l+1)/2 with l = 2; interfacial CoFeB/MgO is measured nearer 2)
    nA           exponent of the exchange stiffness: A ∝ (Ms(T)/Ms)^nA (> 0; 2 in mean field)
    measured     a :class:`micromag.temperature.MeasuredTemperatureDependence` (tables of Ms(T), Ku1(T) or
                 K_eff(T), optionally A(T), from a measurement of the film) or None; when given, ``at`` takes
                 Ms, Ku1 (and A) from the table instead of the power laws, and refuses T outside its range
    """

    Ms: float
    A: float = 0.0
    alpha: float = 0.01
    Ku1: float = 0.0
    Ku2: float = 0.0
    anis_u: tuple = (0.0, 0.0, 1.0)
    Kc1: float = 0.0
    Kc2: float = 0.0
    anis_c1: tuple = (1.0, 0.0, 0.0)
    anis_c2: tuple = (0.0, 1.0, 0.0)
    D_ind: float = 0.0
    gamma: float = gamma_mumax
    Tc: float | None = None
    T_ref: float = 300.0
    Ms_exponent: float = 1.5
    nK: float = 3.0
    nA: float = 2.0
    measured: object = None
    name: str = field(default="", compare=False)

    def __post_init__(self):
        values = {}
        for p in _declared():
            if hasattr(self, p.name):
                values[p.name] = p.check(getattr(self, p.name))
                object.__setattr__(self, p.name, values[p.name])
        from .terms import registered

        for cls in registered():
            check = getattr(cls, "check_material", None)
            if check is not None:
                check(values)
        # the temperature model (not a term's parameter: only Material.at reads these)
        s = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        s("T_ref", _finite("T_ref", self.T_ref, lo=0.0, unit="K"))
        if self.Tc is not None:
            s("Tc", _finite("Tc", self.Tc, lo=self.T_ref, lo_open=True, unit="K (the Curie temperature must "
                            f"exceed T_ref = {self.T_ref:g} K)"))
        s("Ms_exponent", _finite("Ms_exponent", self.Ms_exponent, lo=0.0, lo_open=True))
        s("nK", _finite("nK", self.nK, lo=0.0, lo_open=True))
        s("nA", _finite("nA", self.nA, lo=0.0, lo_open=True))
        if self.measured is not None and not all(hasattr(self.measured, k) for k in ("Ms_at", "Ku1_at", "check_T")):
            raise ValueError(f"measured must be a MeasuredTemperatureDependence (micromag.temperature), got "
                             f"{type(self.measured).__name__}")

    @property
    def anis_c3(self):
        return tuple(float(c) for c in np.cross(self.anis_c1, self.anis_c2))

    def with_(self, **changes) -> "Material":
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    @property
    def exchange_length(self):
        """lex = sqrt(2A / (μ0 Ms²)) in m."""
        from .constants import mu0

        return math.sqrt(2 * self.A / (mu0 * self.Ms**2)) if self.Ms > 0 else math.inf

    def Ms_ratio(self, T):
        """Ms(T)/Ms(T_ref): (1 − (T/Tc)^p) / (1 − (T_ref/Tc)^p), p = ``Ms_exponent`` (dimensionless), or with a
        ``measured`` table Ms_table(T)/Ms."""
        if self.measured is not None:
            return self.measured.Ms_at(T) / self.Ms
        T = self._check_T(T)
        p = self.Ms_exponent
        return (1.0 - (T / self.Tc) ** p) / (1.0 - (self.T_ref / self.Tc) ** p)

    def _check_T(self, T):
        if self.measured is not None:
            return self.measured.check_T(T)
        if self.Tc is None:
            raise ValueError(f"material {self.name or 'Material'} has no Curie temperature: give Tc= (K) to use "
                             "the temperature model (Material.at)")
        try:
            T = float(T)
        except (TypeError, ValueError):
            raise ValueError(f"T must be a temperature in K, got {T!r}") from None
        if not math.isfinite(T) or T < 0 or T >= self.Tc:
            raise ValueError(f"T = {T!r} K is outside the allowed range [0, Tc) = [0, {self.Tc:g}) K of material "
                             f"{self.name or 'Material'}")
        return T

    def at(self, T) -> "Material":
        """The material at temperature T (K): a copy whose values hold at T (its T_ref = T).

        Power-law model (0 <= T < Tc), with m(T) = Ms(T)/Ms(T_ref) = (1 − (T/Tc)^p) / (1 − (T_ref/Tc)^p)
        (Bloch-type law, p = Ms_exponent):

            Ms(T)  = Ms · m
            Ku1(T) = Ku1 · m^nK                 (Callen & Callen, J. Phys. Chem. Solids 27, 1271 (1966))
            A(T)   = A · m^nA
            Ku2(T) = Ku2 · m^10, Kc1(T) = Kc1 · m^10, Kc2(T) = Kc2 · m^21   (Callen–Callen l(l+1)/2 for l = 4,
                                                 4 and 6; no parameter)

        Measured (``measured`` set; T in the table's range): Ms(T), Ku1(T) (or K_eff(T) + μ0 Ms(T)²/2) and
        A(T) are the table's, interpolated (:class:`micromag.temperature.MeasuredTemperatureDependence`);
        without an A column A = A · m^nA, and Ku2, Kc1, Kc2 follow m^10, m^10, m^21 as above, with
        m = Ms_table(T)/Ms.

        α, γ, D_ind and the axes are kept (no model is applied to them). Raises ValueError for T outside the
        allowed range (the table's, or [0, Tc)), or a material with neither Tc nor a table.
        """
        T = self._check_T(T)
        m = self.Ms_ratio(T)
        if self.measured is not None:
            A_T = self.measured.A_at(T)
            return replace(self, Ms=self.measured.Ms_at(T), Ku1=self.measured.Ku1_at(T), Ku2=self.Ku2 * m ** 10,
                           A=self.A * m ** self.nA if A_T is None else A_T, Kc1=self.Kc1 * m ** 10,
                           Kc2=self.Kc2 * m ** 21, T_ref=float(T))
        return replace(self, Ms=self.Ms * m, Ku1=self.Ku1 * m ** self.nK, Ku2=self.Ku2 * m ** 10,
                       A=self.A * m ** self.nA, Kc1=self.Kc1 * m ** 10, Kc2=self.Kc2 * m ** 21, T_ref=float(T))

    @classmethod
    def parameter_names(cls):
        return [f.name for f in fields(cls) if f.name not in ("name", "measured")]


# ---------------------------------------------------------------------------------------------
# Presets. Values are typical room-temperature literature values; the source of each is given.


def Permalloy(**changes) -> Material:
    """Ni80Fe20 with the µMAG standard-problem values: Ms = 8.0e5 A/m, A = 1.3e-11 J/m, no anisotropy.

    Source: µMAG standard problems 2-4 (NIST, https://www.ctcms.nist.gov/~rdm/mumag.org.html); α = 0.01 is a
    typical measured damping of Py films (e.g. Schoen et al., PRB 95, 134410 (2017): 0.006-0.01).
    Temperature model: Tc = 850 K, approximate (Ni–Fe alloys near 80 % Ni order at 840–870 K, Bozorth,
    Ferromagnetism (1951)); A ∝ Ms² (nA = 2, mean field); Ms, A hold at T_ref = 300 K.
    """
    return Material(Ms=8.0e5, A=1.3e-11, alpha=0.01, Tc=850.0, nA=2.0, name="Permalloy").with_(**changes)


def CoFeB(**changes) -> Material:
    """In-plane Co40Fe40B20 (annealed, a few nm): Ms = 1.1e6 A/m, A = 1.5e-11 J/m, α = 0.006.

    Sources: Ms from Liu et al., Science 336, 555 (2012) (μ0Ms ≈ 1.4 T range for CoFeB, 1.1e6 A/m for thin
    films with a dead layer); A and α from Conca et al., Appl. Phys. Lett. 104, 182407 (2014)
    (A ≈ 1.5e-11 J/m, α ≈ 0.004-0.006 after annealing).
    Temperature model: Tc = 1000 K, approximate (annealed CoFeB; the CoFe-rich bcc alloys order well above
    1000 K, boron and a few-nm thickness lower it: fit Tc to your own Ms(T) for a sign-off); nA = 2.
    """
    return Material(Ms=1.1e6, A=1.5e-11, alpha=0.006, Tc=1000.0, nA=2.0, name="CoFeB").with_(**changes)


def CoFeB_perpendicular(thickness=1.3e-9, Ki=1.3e-3, **changes) -> Material:
    """Perpendicular CoFeB on MgO: interface anisotropy Ki = 1.3e-3 J/m² folded into Ku1 = Ki / thickness
    along z, Ms = 1.257e6 A/m (μ0Ms = 1.58 T), A = 1.5e-11 J/m, α = 0.027.

    Source: Ikeda et al., Nat. Mater. 9, 721 (2010) (Ki ≈ 1.3 mJ/m², μ0Ms = 1.58 T, α ≈ 0.027 at 1.3 nm);
    A as in :func:`CoFeB`. ``thickness`` in m (0.5-3 nm is where the interface term dominates).

    Temperature model (values at T_ref = 300 K): Tc = 750 K, approximate (a ~1 nm CoFeB film on MgO has a
    Curie temperature well below the bulk alloy's; fit it to your film); nK = 2 for the interfacial
    anisotropy, approximate: measured scaling exponents of the CoFeB/MgO interface anisotropy lie near 2,
    below the single-ion Callen–Callen 3 (Sato et al., Phys. Rev. B 98, 214428 (2018) trace this to a
    two-site anisotropic exchange at the interface); nA = 2 (mean field).
    """
    t = _finite("thickness", thickness, lo=0.0, lo_open=True, unit="m")
    return Material(
        Ms=1.257e6, A=1.5e-11, alpha=0.027, Ku1=Ki / t, anis_u=(0, 0, 1), Tc=750.0, nK=2.0, nA=2.0,
        name="CoFeB-perp"
    ).with_(**changes)


def Cobalt(**changes) -> Material:
    """hcp Co with c-axis along z: Ms = 1.4e6 A/m, A = 3.0e-11 J/m, Ku1 = 5.2e5 J/m³.

    Source: Coey, Magnetism and Magnetic Materials (CUP 2010), table of intrinsic properties; the same A and
    Ku1 are the Bloch-wall example in ../shared/reference/analytic.md. α = 0.01.
    Temperature model: Tc = 1388 K (Coey, same table); nK = 3 (Callen–Callen single-ion value; hcp Co's
    measured K1(T) departs from it, so treat Ku1(T) as approximate); nA = 2.
    """
    return Material(Ms=1.4e6, A=3.0e-11, alpha=0.01, Ku1=5.2e5, anis_u=(0, 0, 1), Tc=1388.0, nK=3.0, nA=2.0,
                    name="Co").with_(**changes)


def Iron(**changes) -> Material:
    """bcc Fe: Ms = 1.71e6 A/m, A = 2.1e-11 J/m, cubic Kc1 = 4.8e4 J/m³ with <100> axes along x, y, z.

    Source: Coey, Magnetism and Magnetic Materials (CUP 2010). α = 0.002 (Fe films, e.g. Schoen et al.,
    Nat. Phys. 12, 839 (2016) range).
    Temperature model: Tc = 1044 K (Coey); cubic constants follow Callen–Callen m^10 (see :meth:`Material.at`,
    approximate for Fe); nA = 2.
    """
    return Material(Ms=1.71e6, A=2.1e-11, alpha=0.002, Kc1=4.8e4, Tc=1044.0, nA=2.0, name="Fe").with_(**changes)


def YIG(**changes) -> Material:
    """Y3Fe5O12: Ms = 1.4e5 A/m, A = 3.65e-12 J/m, α = 1e-4, cubic Kc1 = -610 J/m³.

    Sources: Klingler et al., J. Phys. D 48, 015001 (2015) (Ms = 1.4e5 A/m, A = 3.65e-12 J/m);
    Hansen, J. Appl. Phys. 45, 3638 (1974) (Kc1 ≈ -610 J/m³ at room temperature); α of good films ~1e-4.
    Temperature model: Tc = 560 K (Coey, Magnetism and Magnetic Materials); nA = 2. A ferrimagnet's Ms(T) is
    not a Bloch law near Tc: approximate above ~400 K.
    """
    return Material(Ms=1.4e5, A=3.65e-12, alpha=1e-4, Kc1=-610.0, Tc=560.0, nA=2.0, name="YIG").with_(**changes)
