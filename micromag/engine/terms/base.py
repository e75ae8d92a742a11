"""The contract every physical term follows: what it declares, what it computes, what a backend may read.

A term is built once for a :class:`~micromag.engine.system.System`, then evaluated many times. All arrays follow
the state layout of the design: magnetization ``m`` is ``(B, 3, nz, ny, nx)`` (B batch members, unit
vectors, zero in empty cells), time ``t`` is ``(B,)`` seconds, fields are Tesla (B = μ0 H) with the same
layout as ``m``, energy densities are J/m³ with shape ``(B, nz, ny, nx)`` and already weighted by the cell
fill fraction, so the total energy is ``sum(e) · cell volume``.

The declaration
---------------
Each term class declares, once:

``name``        its one name: the key in ``sim.terms`` and in the registry, the table column ``E_<name>``,
                the prefix of its CUDA device functions (``<name>_field`` / ``<name>_torque``) and of its
                kernel defines (``MM_HAS_<NAME>``).
``kernel``      its CUDA twin, a file in ``gpu_kernels/`` (None: no GPU kernel; the GPU backend refuses it).
``kind``        ``"field"`` (adds to B_eff) or ``"torque"`` (a Gilbert-form torque that is no field).
``energy_rule`` how its energy density follows from its own field B_t: ``"quadratic"`` (−½ Ms_eff m·B_t,
                a field linear in m), ``"linear"`` (−Ms_eff m·B_t, an applied field), ``"custom"`` (the
                kernel file defines ``<name>_energy``), or None (stores no energy: torques, noise).
``parameters``  its :class:`Param` declarations: name, SI unit, kind, default and allowed range.

Parameter kinds: ``MATERIAL`` (a per-region column of the material table; :class:`Material`'s fields, their
defaults, validation and documentation are generated from these declarations, so a new one is a new
``Material`` keyword),
``PATTERN`` (a static per-cell array uploaded once), ``DRIVE`` (a per-member value evaluated on the host
from the term's drive: a current density, a voltage, a field), ``CONSTANT`` (one number per term).

From the declarations the GPU backend derives the kernel's column tables and defines
(:func:`gpu_kernels.layout`), the packing of its device buffers and the checkpoint content; a backend reads a
term only through the public methods below, never its private attributes.

What a term implements
----------------------
NumPy (the reference): ``prepare()`` (recompute what depends on material parameters; called on
construction and again when a material changes), ``add_field(m, t, B)`` or ``add_torque(m, t, T)``.
``energy_density(m, t)`` follows from ``energy_rule`` and ``add_field`` by default (:func:`rule_energy`);
only a "custom" term writes its own.

Device inputs (public, read by every non-NumPy backend): ``device_patterns()`` {pattern name: array},
``device_constants()`` {constant name: number}, ``device_drives(t, batch, m=None)`` {drive name: (B,) or
(B, 3) values at member times t}, ``device_options()`` (names from ``options`` switched on), and
``host_dynamic()`` (whether the drives change with t or m, so that they must be evaluated every call) and
``needs_m_on_host()`` (a drive depends on m: the MTJ-controlled current).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_number, check_vector3, range_text

MATERIAL, PATTERN, DRIVE, CONSTANT = "material", "pattern", "drive", "constant"
KINDS = (MATERIAL, PATTERN, DRIVE, CONSTANT)


@dataclass(frozen=True)
class Param:
    """One declared parameter of a term.

    name     physics name as the user writes it (``Ku1``, ``J``, ``xi_FL``)
    unit     SI unit ("" for dimensionless)
    kind     MATERIAL, PATTERN, DRIVE or CONSTANT
    doc      one line: what it is
    default  the value when not given (materials)
    lo, hi   allowed range (None: unbounded); ``lo_open``/``hi_open`` exclude the bound
    size     1, or 3 for a vector (a material axis fills three columns, a drive three values per member,
             a pattern has shape (3, nz, ny, nx))
    unit_vector  a material axis, normalized on input
    dynamic  a material parameter that may also be a function of time t (s), evaluated per member
    """

    name: str
    unit: str
    kind: str
    doc: str = ""
    default: object = 0.0
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    size: int = 1
    unit_vector: bool = False
    dynamic: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.size not in (1, 3):
            raise ValueError(f"Param {self.name}: size must be 1 or 3")

    @property
    def column(self):
        """The name of its kernel column/define: ``Ku1`` → ``KU1``."""
        return self.name.upper()

    def range_text(self):
        if self.unit_vector:
            return "a 3-vector of non-zero length (normalized)"
        return range_text(self.lo, self.hi, self.lo_open, self.hi_open, self.unit)

    def check(self, value, where=""):
        """The validated value (float, or a tuple for vectors); ValueError naming the parameter, its allowed
        range and unit otherwise (the rules of :mod:`micromag.engine.validation`)."""
        label = f"{where}{self.name}"
        if self.size == 3:
            return tuple(float(c) for c in check_vector3(label, value, unit_vector=self.unit_vector))
        return check_number(label, value, self.lo, self.hi, self.lo_open, self.hi_open, self.unit)


class Term:
    """Base class of a field term (see the module docstring for the contract). Subclasses set the class
    attributes and implement ``prepare``, ``add_field`` and ``energy_density``; ``field`` and ``energy`` come
    for free."""

    name = "term"
    kernel = None
    kind = "field"
    energy_rule = "quadratic"
    parameters: tuple = ()
    options: tuple = ()
    needs_neighbours = False
    stochastic = False
    stores_energy = True
    # {declared drive name: attribute holding a micromag.engine.drives drive}: drives evaluated generically
    # (device_drives, host_dynamic and check_batch below); a term with other drives overrides those
    drive_sources: dict = {}

    def __init__(self, system):
        self.system = system
        self.grid = system.grid

    # ------------------------------------------------------------------ declarations
    @classmethod
    def params_of(cls, kind):
        return tuple(p for p in cls.parameters if p.kind == kind)

    @classmethod
    def material_parameters(cls):
        return cls.params_of(MATERIAL)

    @classmethod
    def field_scale(cls, table, Ms, grid):
        """(label, T): the largest field this term's material parameters can give, whatever the state (the
        run-time guard names it when a run diverges), or None. ``table(name)`` gives the parameter's values
        in the magnetic regions, ``Ms`` (A/m) theirs. Derived from the declared units: an energy density
        K (J/m³) gives 2|K|/Ms, an interface constant D (J/m²) 2|D|/(Ms d_min), a stiffness A (J/m)
        (2|A|/Ms) Σ 4/d² over the grid's non-trivial axes (the shortest spin wave); summed over the term's
        parameters, largest over the regions."""
        k2 = sum(4.0 / d**2 for n, d, p in zip(grid.n, grid.cell, grid.pbc) if n > 1 or p > 0)
        per_unit = {3: ("2|{}|/Ms", 1.0), 2: ("2|{}|/(Ms d)", 1.0 / min(grid.cell)), 1: ("2|{}|/Ms Σ4/d²", k2)}
        texts, total = [], 0.0
        with np.errstate(all="ignore"):  # a parameter off by orders of magnitude is what the guard reports
            for p in cls.material_parameters():
                power = ENERGY_UNITS.get(p.unit)
                if power is None or p.size != 1:
                    continue
                text, factor = per_unit[power]
                texts.append(text.format(p.name))
                total = total + 2.0 * np.abs(np.asarray(table(p.name), dtype=float)) / Ms * factor
        if not texts:
            return None
        return f"{cls.name} ({' + '.join(texts)})", float(np.max(total))

    # ------------------------------------------------------------------ NumPy
    def prepare(self):
        """Recompute everything derived from the system's material parameters (a no-op by default)."""

    def add_field(self, m, t, B):
        """Add this term's effective field (T) into ``B`` in place."""
        raise NotImplementedError

    def energy_density(self, m, t):
        """Energy density in J/m³, shape (B, nz, ny, nx), weighted by fill fraction, from the declared
        ``energy_rule`` and this term's own field B_t (T): "quadratic" −½ Ms_eff m·B_t, "linear" −Ms_eff m·B_t,
        None 0 (Ms_eff = Ms × fill, A/m). A "custom" term implements its own."""
        return rule_energy(self, m, t)

    def local_stiffness(self):
        """The part of this term's field that couples each cell to itself and is stiff: ``(cells, M)`` with
        ``cells`` the (k, j, i) index arrays of n cells and ``M`` (3, 3, n) symmetric, B_i ⊇ M_i m_i (T per
        unit m), or None (the default). The minimizer (:mod:`micromag.engine.relax`) treats it implicitly,
        so a stiff local term (a DMI boundary condition with a tiny A) does not limit its steps."""
        return None

    def field(self, m, t=None):
        """This term's effective field alone (T) at member times ``t`` (s, default 0), shaped like ``m``."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        B = np.zeros_like(m)
        self.add_field(m, t, B)
        return B

    def energy(self, m, t=None):
        """Total energy in J per batch member at times ``t`` (s, default 0), shape (B,)."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        e = self.energy_density(m, t)
        return e.reshape(e.shape[0], -1).sum(axis=1) * self.grid.cell_volume

    # ------------------------------------------------------------------ device inputs (public)
    def device_patterns(self):
        """{pattern name: array} of every PATTERN parameter in use: (nz, ny, nx), (3, nz, ny, nx) or, for a
        per-member pattern, (B, 3, nz, ny, nx); absent names are not used by the kernel."""
        return {}

    def device_constants(self):
        """{constant name: number, or 3-tuple for size-3 constants}."""
        return {}

    def device_drives(self, t, batch, m=None):
        """{drive name: (B,) or (B, 3) values} at member times ``t`` (s); ``m`` (host) only when
        :meth:`needs_m_on_host`."""
        from ..drives import member_values

        return {name: member_values(name, getattr(self, attr), t, batch) for name, attr in self.drive_sources.items()}

    def device_options(self):
        """Names (from ``options``) of the kernel variants this term's settings need."""
        return ()

    def host_dynamic(self):
        """Whether the drives depend on time or on m (evaluated on the host every call; no CUDA graphs)."""
        return any(not drive_is_static(getattr(self, attr)) for attr in self.drive_sources.values())

    def needs_m_on_host(self):
        """Whether a drive depends on the magnetization (one device→host copy of m per evaluation)."""
        return False

    def check_batch(self, batch):
        """Raise ValueError when the term's per-member settings do not fit a batch of ``batch`` members."""
        from ..drives import member_values

        for name, attr in self.drive_sources.items():
            member_values(name, getattr(self, attr), np.zeros(batch), batch)


class TorqueTerm(Term):
    """Base class of a torque that is not the gradient of an energy (spin-transfer and spin-orbit torques).

    ``add_torque(m, t, T)`` adds the torque in Gilbert form, T in 1/s, into ``T``: the LLG equation is
    dm/dt = −γ m × B_eff + α m × dm/dt + T, which :class:`~micromag.engine.llg.LLG` turns into Landau–Lifshitz
    form as dm/dt += (T + α m × T)/(1 + α²). Torques are off during ``relax()`` and ``minimize()``.
    Their energy density is zero (they do work, but store none: ``energy_rule = None``).
    """

    kind = "torque"
    energy_rule = None
    stores_energy = False
    is_torque = True

    def add_field(self, m, t, B):  # a torque adds no effective field
        return None

    def add_torque(self, m, t, T):
        raise NotImplementedError

    def torque(self, m, t=None):
        """This term's Gilbert-form torque alone (1/s) at member times ``t`` (s, default 0), shaped like ``m``."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        T = np.zeros_like(m)
        self.add_torque(m, t, T)
        return T


def rule_energy(term, m, t):
    """The energy density (J/m³, (B, nz, ny, nx)) that ``term.energy_rule`` gives from the term's own field:
    the NumPy twin of the kernels' ``MM_ENERGY_<rule>`` (gpu_kernels/common.cuh)."""
    rule = term.energy_rule
    e = np.zeros((m.shape[0],) + m.shape[2:], dtype=m.dtype)
    if rule is None:
        return e
    if rule not in ENERGY_FACTOR:
        raise NotImplementedError(f"term {term.name!r} declares energy_rule = {rule!r}: it implements "
                                  "energy_density itself")
    B = np.zeros_like(m)
    term.add_field(m, t, B)
    np.einsum("bc...,bc...->b...", m, B, out=e)
    e *= ENERGY_FACTOR[rule] * term.system.Ms_eff
    return e


# the units of a material parameter that is an energy: J/m³ (a density), J/m² (an interface), J/m (a stiffness)
ENERGY_UNITS = {"J/m³": 3, "J/m^3": 3, "J/m²": 2, "J/m^2": 2, "J/m": 1}

# energy density = factor × Ms_eff m·B_t for the declared rules that follow from the field alone
ENERGY_FACTOR = {"quadratic": -0.5, "linear": -1.0}


def drive_is_static(drive):
    """Whether a drive (micromag.engine.drives) is a constant level (evaluated once, not every call)."""
    from ..drives import DC

    return drive is None or isinstance(drive, DC)
