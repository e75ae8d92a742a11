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

    @classmethod
    def parameter_names(cls):
        return [f.name for f in fields(cls) if f.name != "name"]


# ---------------------------------------------------------------------------------------------
# Presets. Values are typical room-temperature literature values; the source of each is given.


def Permalloy(**changes) -> Material:
    """Ni80Fe20 with the µMAG standard-problem values: Ms = 8.0e5 A/m, A = 1.3e-11 J/m, no anisotropy.

    Source: µMAG standard problems 2-4 (NIST, https://www.ctcms.nist.gov/~rdm/mumag.org.html); α = 0.01 is a
    typical measured damping of Py films (e.g. Schoen et al., PRB 95, 134410 (2017): 0.006-0.01).
    """
    return Material(Ms=8.0e5, A=1.3e-11, alpha=0.01, name="Permalloy").with_(**changes)


def CoFeB(**changes) -> Material:
    """In-plane Co40Fe40B20 (annealed, a few nm): Ms = 1.1e6 A/m, A = 1.5e-11 J/m, α = 0.006.

    Sources: Ms from Liu et al., Science 336, 555 (2012) (μ0Ms ≈ 1.4 T range for CoFeB, 1.1e6 A/m for thin
    films with a dead layer); A and α from Conca et al., Appl. Phys. Lett. 104, 182407 (2014)
    (A ≈ 1.5e-11 J/m, α ≈ 0.004-0.006 after annealing).
    """
    return Material(Ms=1.1e6, A=1.5e-11, alpha=0.006, name="CoFeB").with_(**changes)


def CoFeB_perpendicular(thickness=1.3e-9, Ki=1.3e-3, **changes) -> Material:
    """Perpendicular CoFeB on MgO: interface anisotropy Ki = 1.3e-3 J/m² folded into Ku1 = Ki / thickness
    along z, Ms = 1.257e6 A/m (μ0Ms = 1.58 T), A = 1.5e-11 J/m, α = 0.027.

    Source: Ikeda et al., Nat. Mater. 9, 721 (2010) (Ki ≈ 1.3 mJ/m², μ0Ms = 1.58 T, α ≈ 0.027 at 1.3 nm);
    A as in :func:`CoFeB`. ``thickness`` in m (0.5-3 nm is where the interface term dominates).
    """
    t = _finite("thickness", thickness, lo=0.0, lo_open=True, unit="m")
    return Material(
        Ms=1.257e6, A=1.5e-11, alpha=0.027, Ku1=Ki / t, anis_u=(0, 0, 1), name="CoFeB-perp"
    ).with_(**changes)


def Cobalt(**changes) -> Material:
    """hcp Co with c-axis along z: Ms = 1.4e6 A/m, A = 3.0e-11 J/m, Ku1 = 5.2e5 J/m³.

    Source: Coey, Magnetism and Magnetic Materials (CUP 2010), table of intrinsic properties; the same A and
    Ku1 are the Bloch-wall example in ../shared/reference/analytic.md. α = 0.01.
    """
    return Material(Ms=1.4e6, A=3.0e-11, alpha=0.01, Ku1=5.2e5, anis_u=(0, 0, 1), name="Co").with_(**changes)


def Iron(**changes) -> Material:
    """bcc Fe: Ms = 1.71e6 A/m, A = 2.1e-11 J/m, cubic Kc1 = 4.8e4 J/m³ with <100> axes along x, y, z.

    Source: Coey, Magnetism and Magnetic Materials (CUP 2010). α = 0.002 (Fe films, e.g. Schoen et al.,
    Nat. Phys. 12, 839 (2016) range).
    """
    return Material(Ms=1.71e6, A=2.1e-11, alpha=0.002, Kc1=4.8e4, name="Fe").with_(**changes)


def YIG(**changes) -> Material:
    """Y3Fe5O12: Ms = 1.4e5 A/m, A = 3.65e-12 J/m, α = 1e-4, cubic Kc1 = -610 J/m³.

    Sources: Klingler et al., J. Phys. D 48, 015001 (2015) (Ms = 1.4e5 A/m, A = 3.65e-12 J/m);
    Hansen, J. Appl. Phys. 45, 3638 (1974) (Kc1 ≈ -610 J/m³ at room temperature); α of good films ~1e-4.
    """
    return Material(Ms=1.4e5, A=3.65e-12, alpha=1e-4, Kc1=-610.0, name="YIG").with_(**changes)
