"""Magnetic materials: SI parameters, validated when they are made, and presets with sources."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

from .terms import declared_material_parameters, on_change, registered
from .validation import check_number as _finite


@dataclass(frozen=True)
class Material:
    """A magnetic material, all in SI. Its fields are the material parameters the LLG and the registered terms
    declare (``micromag.engine.terms.material_parameters()``): each is a keyword argument with the declared default,
    validated on construction against the declared range (a ValueError names the parameter, its range and
    unit), and a term registered later (``micromag.register``) adds its own. ``Ms`` is required.

    Declared parameters (name, unit, allowed range, default; the term that reads it):

    {declared}

    Temperature (used only by :meth:`at`; the values above hold at ``T_ref``):

    Tc           Curie temperature, K (> T_ref; None: no temperature model, ``at`` refuses)
    T_ref        temperature at which Ms, A, Ku1, Kc1, Kc2 are given, K (default 300)
    Ms_exponent  exponent p of the Bloch-type law Ms(T) ∝ 1 − (T/Tc)^p (> 0; default 3/2, Bloch)
    nK           Callen–Callen exponent of Ku1: Ku1 ∝ (Ms(T)/Ms)^nK (> 0; 3 for single-ion uniaxial
                 anisotropy, l(l+1)/2 with l = 2; interfacial CoFeB/MgO is measured nearer 2)
    nA           exponent of the exchange stiffness: A ∝ (Ms(T)/Ms)^nA (> 0; 2 in mean field)
    measured     a :class:`micromag.apps.temperature.MeasuredTemperatureDependence` (tables of Ms(T), Ku1(T) or
                 K_eff(T), optionally A(T), from a measurement of the film) or None; when given, ``at`` takes
                 Ms, Ku1 (and A) from the table instead of the power laws, and refuses T outside its range
    """

    Ms: float  # required; declared (unit, range) by the LLG. The other declared parameters are added below.
    Tc: float | None = None
    T_ref: float = 300.0
    Ms_exponent: float = 1.5
    nK: float = 3.0
    nA: float = 2.0
    measured: object = None
    name: str = field(default="", compare=False)

    def __post_init__(self):
        values = {}
        for p in material_parameters():
            values[p.name] = p.check(getattr(self, p.name))
            object.__setattr__(self, p.name, values[p.name])
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
            raise ValueError(f"measured must be a MeasuredTemperatureDependence (micromag.apps.temperature), got "
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
        A(T) are the table's, interpolated (:class:`micromag.apps.temperature.MeasuredTemperatureDependence`);
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
# Material's declared fields: derived from the registry on import and again whenever a term is registered
# or unregistered (micromag.engine.terms.on_change), so a term's new material parameter is a keyword of Material.

_HAND = tuple(fields(Material))  # the fields written in the class: Ms, the temperature model, name
_DOC = Material.__doc__
# what @dataclass generates (removed before it runs again with the new fields)
_GENERATED = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__match_args__",
              "__dataclass_fields__", "__dataclass_params__")
_INSTALLED = []  # names of the declared fields now on the class
_DECLARED = []   # material_parameters() as the class was last built


def material_parameters():
    """The declared material parameters (:class:`~micromag.engine.terms.base.Param`) Material validates now."""
    return list(_DECLARED)


def _copy(f, kw_only):
    return field(default=f.default, default_factory=f.default_factory, init=f.init, repr=f.repr, hash=f.hash,
                 compare=f.compare, metadata=f.metadata, kw_only=kw_only)


def _install():
    """(Re)build Material's dataclass fields: Ms, then every declared parameter (keyword-only, with its
    declared default), then the temperature model and the name (keyword-only)."""
    cls = Material
    hand = {f.name for f in _HAND}
    declared = declared_material_parameters()
    for p, owner in declared:
        if p.name in hand and p.name != "Ms":
            raise ValueError(f"term {owner!r} declares a material parameter {p.name!r}, which is a field of Material "
                             "itself (the temperature model or the name): give it another name")
    new = [(p, owner) for p, owner in declared if p.name not in hand]
    for attr in _GENERATED + tuple(_INSTALLED):
        if attr in cls.__dict__:
            delattr(cls, attr)
    first, *rest = _HAND
    annotations, specs = {first.name: first.type}, {first.name: _copy(first, False)}
    for p, owner in new:
        annotations[p.name] = "tuple" if p.size == 3 else "float"
        default = tuple(float(c) for c in p.default) if p.size == 3 else p.default
        specs[p.name] = field(default=default, kw_only=True, metadata={"param": p, "term": owner})
    for f in rest:
        annotations[f.name], specs[f.name] = f.type, _copy(f, True)
    cls.__annotations__ = annotations
    for name, spec in specs.items():
        setattr(cls, name, spec)
    dataclass(frozen=True)(cls)
    _INSTALLED[:] = [p.name for p, _ in new]
    _DECLARED[:] = [p for p, _ in declared]
    if _DOC is not None:  # None under python -OO
        cls.__doc__ = _DOC.replace("{declared}", parameter_table("text").replace("\n", "\n    "))


def parameter_table(fmt="markdown"):
    """The declared material parameters as a table: ``fmt="markdown"`` (the README's table) or ``"text"``
    (Material's docstring). One row each: name, SI unit, allowed range, default, the term that declares it,
    what it is."""
    rows = []
    for p, owner in declared_material_parameters():
        default = "required" if p.name == "Ms" else (str(tuple(p.default)) if p.size == 3 else f"{p.default:g}")
        rng = "non-zero 3-vector, normalized" if p.unit_vector else p.range_text()
        if p.unit and rng.endswith(" " + p.unit):
            rng = rng[: -len(p.unit) - 1]
        doc = p.doc + (" (may be a function of t)" if p.dynamic else "")
        rows.append((f"{p.name}", p.unit or "1", rng, default, owner, doc))
    if fmt == "text":
        w = [max(len(r[i]) for r in rows) for i in range(5)]
        return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r[:5])) + "  " + r[5] for r in rows)
    if fmt != "markdown":
        raise ValueError(f"fmt must be 'markdown' or 'text', got {fmt!r}")
    head = ["| parameter | unit | allowed range | default | term | what it is |",
            "| --- | --- | --- | --- | --- | --- |"]
    return "\n".join(head + [f"| `{r[0]}` | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |" for r in rows])


_install()
on_change(_install)


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
