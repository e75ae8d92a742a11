"""Multilayer stacks in one simulation: a perpendicular MTJ with its reference layer and SAF.

A :class:`Stack` lists the layers from the bottom up (thickness, role, material), patterns each to the
pillar (or its own in-plane shape) and builds ONE :class:`~micromag.Simulation` on one grid: the layers
interact through the full demagnetizing field of the whole stack (the stray field of the reference stack on
the free layer comes from the same FFT; non-magnetic layers are empty cells), through interlayer (RKKY)
exchange across a spacer (:class:`~micromag.engine.terms.interlayer.InterlayerExchange`: bilinear J1, biquadratic
J2, J/m²), and through ordinary exchange where two magnetic layers touch. A layer may be held fixed
(``fixed=True``: its material gets ``frozen = 1``, dm/dt = 0 there) or be dynamic.

Roles: ``free``, ``reference``, ``hard`` (``pinned``) are magnetic and need a material; ``spacer``,
``barrier`` (the tunnel barrier), ``heavy_metal``, ``cap``, ``seed`` are not magnetic. A spacer layer with a
non-zero ``J1``/``J2`` couples the nearest magnetic layers below and above it; explicit couplings between
two named magnetic layers may be given too (``couplings=[(below, above, J1, J2)]``).

The grid: in-plane cells of ``cell`` (m) over the pillar's bounding box; along z one cell size ``dz`` for
the whole stack, every layer an integer number of cells (``dz`` is chosen automatically as the largest
divisor of the layer thicknesses within 2 %, or given). Every error (overlapping layers, a coupling across
a magnetic layer, a pillar smaller than two cells, a thickness that is no multiple of dz) is raised when the
Stack is made, before any work.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAGNETIC_ROLES = ("free", "reference", "hard", "pinned")
NONMAGNETIC_ROLES = ("spacer", "barrier", "heavy_metal", "cap", "seed")
ROLES = MAGNETIC_ROLES + NONMAGNETIC_ROLES
THICKNESS_RTOL = 0.02  # a layer may differ from an integer number of z cells by this fraction of a cell


def _positive(name, v, unit="m"):
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number in {unit}, got {v!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} = {v!r} is outside the allowed range (0, inf) {unit}")
    return v


def _unit3(name, v):
    a = np.asarray(v, dtype=float).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)) or np.linalg.norm(a) == 0:
        raise ValueError(f"{name} must be a non-zero 3-vector, got {v!r}")
    return tuple(float(c) for c in a / np.linalg.norm(a))


@dataclass(frozen=True)
class StackLayer:
    """One layer of a :class:`Stack`.

    name      unique label ("FL", "RL", "Ru", ...)
    thickness m (> 0)
    role      one of ``ROLES``: free, reference, hard, pinned (magnetic) or spacer, barrier, heavy_metal,
              cap, seed (not magnetic)
    material  a :class:`~micromag.Material` (magnetic roles only)
    fixed     hold its magnetization fixed (default: True for ``pinned``, False otherwise)
    m0        initial (and, if fixed, permanent) magnetization direction, default +z
    shape     its own in-plane shape (anything with ``fill_fraction``; unbounded in z), default the pillar
    J1, J2    interlayer exchange across this spacer, J/m² (non-magnetic roles only): E/area = −J1 m1·m2 −
              J2 (m1·m2)² between the nearest magnetic layers below and above
    z         bottom of the layer in m from the bottom of the stack (default: on top of the previous layer)
    """

    name: str
    thickness: float
    role: str
    material: object = None
    fixed: bool | None = None
    m0: tuple = (0.0, 0.0, 1.0)
    shape: object = None
    J1: float = 0.0
    J2: float = 0.0
    z: float | None = None

    def __post_init__(self):
        from ..engine.materials import Material

        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a layer's name must be a non-empty string, got {self.name!r}")
        where = f"layer {self.name!r}: "
        if self.role not in ROLES:
            raise ValueError(f"{where}role = {self.role!r} is not one of {ROLES}")
        object.__setattr__(self, "thickness", _positive(f"{where}thickness", self.thickness))
        if self.role in MAGNETIC_ROLES:
            if not isinstance(self.material, Material) or not self.material.Ms > 0:
                raise ValueError(f"{where}a {self.role} layer needs a material with Ms > 0 (a micromag Material)")
            if self.J1 or self.J2:
                raise ValueError(f"{where}J1/J2 belong to the spacer between two magnetic layers, not to a "
                                 f"{self.role} layer")
        else:
            if self.material is not None:
                raise ValueError(f"{where}a {self.role} layer is not magnetic: give no material")
            if self.fixed:
                raise ValueError(f"{where}only a magnetic layer can be fixed")
        for nm in ("J1", "J2"):
            v = getattr(self, nm)
            if not (isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and math.isfinite(v)):
                raise ValueError(f"{where}{nm} must be a finite number in J/m², got {v!r}")
            object.__setattr__(self, nm, float(v))
        fixed = (self.role == "pinned") if self.fixed is None else self.fixed
        if not isinstance(fixed, (bool, np.bool_)):
            raise ValueError(f"{where}fixed must be True or False, got {self.fixed!r}")
        object.__setattr__(self, "fixed", bool(fixed))
        object.__setattr__(self, "m0", _unit3(f"{where}m0", self.m0))
        if self.shape is not None and not hasattr(self.shape, "fill_fraction"):
            raise ValueError(f"{where}shape must be a micromag shape (e.g. mm.Ellipse), got {self.shape!r}")
        if self.z is not None:
            z = float(self.z)
            if not (math.isfinite(z) and z >= 0):
                raise ValueError(f"{where}z = {self.z!r} must be >= 0 m (the bottom of the layer)")
            object.__setattr__(self, "z", z)

    @property
    def magnetic(self):
        return self.role in MAGNETIC_ROLES


@dataclass(frozen=True)
class Coupling:
    """Interlayer exchange between magnetic layers ``below`` and ``above`` (names): J1, J2 in J/m²."""

    below: str
    above: str
    J1: float
    J2: float = 0.0


class Stack:
    """A multilayer pillar (see the module docstring).

    Parameters
    ----------
    layers : list of :class:`StackLayer`, bottom to top.
    diameter : m, the pillar (a disc); or ``shape``: any in-plane shape (unbounded in z, e.g. mm.Ellipse).
    cell : in-plane cell size, m (dx = dy).
    dz : z cell size, m (default: the largest common divisor of the thicknesses within 2 %, at least 0.1 nm).
    couplings : further interlayer couplings, [(below, above, J1, J2)] or :class:`Coupling`; J in J/m².
    B_ext : a uniform applied field, T (3-vector).
    """

    def __init__(self, layers, diameter=None, shape=None, cell=2.0e-9, dz=None, couplings=(), B_ext=None):
        from ..engine.geometry import Cylinder

        layers = list(layers)
        if not layers or not all(isinstance(la, StackLayer) for la in layers):
            raise ValueError("layers must be a non-empty list of StackLayer, bottom to top")
        names = [la.name for la in layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"layer names must be unique; repeated: {dup}")
        if not any(la.magnetic for la in layers):
            raise ValueError("the stack holds no magnetic layer")
        self.layers = tuple(layers)
        self.cell = _positive("cell", cell)
        if (diameter is None) == (shape is None):
            raise ValueError("give the pillar as diameter= (m) or shape= (an in-plane shape), one of them")
        if shape is None:
            diameter = _positive("diameter", diameter)
            shape = Cylinder(diameter)
        elif not hasattr(shape, "fill_fraction"):
            raise ValueError(f"shape must be a micromag shape (e.g. mm.Ellipse), got {shape!r}")
        self.diameter = diameter
        self.shape = shape
        self.B_ext = None if B_ext is None else tuple(float(c) for c in np.asarray(B_ext, float).reshape(3))
        if self.B_ext is not None and not np.all(np.isfinite(self.B_ext)):
            raise ValueError(f"B_ext must be a finite 3-vector in T, got {B_ext!r}")
        # z positions: bottom of each layer, overlaps refused
        z, bottoms = 0.0, []
        for i, la in enumerate(layers):
            b = z if la.z is None else la.z
            if i and b < z - 1e-15:
                raise ValueError(f"layers {layers[i - 1].name!r} and {la.name!r} overlap: {la.name!r} starts at "
                                 f"{b * 1e9:.4g} nm, below the top of {layers[i - 1].name!r} at {z * 1e9:.4g} nm")
            bottoms.append(b)
            z = b + la.thickness
        self.height = z
        self.bottoms = tuple(bottoms)
        self.dz = self._choose_dz(dz)
        self._planes = {}
        for la, b in zip(layers, bottoms):
            k0 = int(round(b / self.dz))
            n = int(round(la.thickness / self.dz))
            self._planes[la.name] = (k0, k0 + n)
        nz = int(round(self.height / self.dz))
        # in-plane grid over the bounding box of the pillar and of every layer's own shape
        extent = 0.0
        for s in [shape] + [la.shape for la in layers if la.shape is not None]:
            b = np.asarray(s.bounds(), float)[:2]
            if not np.all(np.isfinite(b)):
                raise ValueError(f"the in-plane shape {s!r} is unbounded: give a finite pillar")
            extent = max(extent, 2 * float(np.abs(b).max()))
        n_xy = int(math.ceil(extent / self.cell - 1e-9))
        if extent < 2 * self.cell * (1 - 1e-9):
            raise ValueError(f"the pillar ({extent * 1e9:.4g} nm across) is smaller than two cells of "
                             f"cell = {self.cell * 1e9:.4g} nm: make cell at most {extent / 2 * 1e9:.4g} nm")
        from ..engine.grid import Grid

        self.grid = Grid(n=(n_xy, n_xy, nz), cell=(self.cell, self.cell, self.dz))
        self.couplings = self._couplings(couplings)

    # ------------------------------------------------------------------ construction
    def _choose_dz(self, dz):
        thick = [(la.name, la.thickness) for la in self.layers]
        thick += [(f"gap below {la.name}", b - (self.bottoms[i - 1] + self.layers[i - 1].thickness))
                  for i, (la, b) in enumerate(zip(self.layers, self.bottoms)) if i and la.z is not None]
        thick = [(n, t) for n, t in thick if t > 1e-15]

        def fits(d):
            return all(abs(t / d - round(t / d)) <= THICKNESS_RTOL and round(t / d) >= 1 for _, t in thick)

        if dz is not None:
            dz = _positive("dz", dz)
            bad = [(n, t) for n, t in thick if not (abs(t / dz - round(t / dz)) <= THICKNESS_RTOL and round(t / dz) >= 1)]
            if bad:
                n, t = bad[0]
                raise ValueError(f"{n}: thickness {t * 1e9:.4g} nm is not a whole number of z cells dz = "
                                 f"{dz * 1e9:.4g} nm (within {THICKNESS_RTOL:.0%}); choose dz dividing every layer")
            return dz
        tmin = min(t for _, t in thick)
        for n in range(1, 200):
            d = tmin / n
            if d < 1e-10:
                break
            if fits(d):
                return d
        raise ValueError("no z cell size >= 0.1 nm divides every layer thickness "
                         f"{[round(t * 1e9, 4) for _, t in thick]} nm within {THICKNESS_RTOL:.0%}: give dz=")

    def _couplings(self, extra):
        """[(lower layer, upper layer, J1, J2)] from the spacers and ``extra``; adjacency checked."""
        order = {la.name: i for i, la in enumerate(self.layers)}
        out = []
        for i, la in enumerate(self.layers):
            if la.magnetic or not (la.J1 or la.J2):
                continue
            below = [x for x in self.layers[:i] if x.magnetic]
            above = [x for x in self.layers[i + 1:] if x.magnetic]
            if not below or not above:
                raise ValueError(f"spacer {la.name!r} has J1/J2 but no magnetic layer {'below' if not below else 'above'} it")
            out.append((below[-1].name, above[0].name, la.J1, la.J2))
        for c in extra:
            c = c if isinstance(c, Coupling) else Coupling(*c)
            for nm in (c.below, c.above):
                if nm not in order:
                    raise ValueError(f"coupling {c.below!r}-{c.above!r}: no layer named {nm!r}")
                if not self.layer(nm).magnetic:
                    raise ValueError(f"coupling {c.below!r}-{c.above!r}: layer {nm!r} is not magnetic")
            lo, hi = sorted((order[c.below], order[c.above]))
            if lo == hi:
                raise ValueError(f"coupling {c.below!r}-{c.above!r}: a layer cannot couple to itself")
            between = [x.name for x in self.layers[lo + 1:hi] if x.magnetic]
            if between:
                raise ValueError(f"coupling {c.below!r}-{c.above!r} is between non-adjacent magnetic layers: "
                                 f"{between} lie between them (interlayer exchange couples neighbours across a spacer)")
            out.append((self.layers[lo].name, self.layers[hi].name, float(c.J1), float(c.J2)))
        seen = {}
        for b, a, *_ in out:
            for key in ((b, "up"), (a, "down")):
                if key in seen:
                    raise ValueError(f"layer {key[0]!r} is coupled {key[1]}ward twice ({seen[key]} and {b}-{a})")
                seen[key] = f"{b}-{a}"
        for b, a, *_ in out:
            if self._planes[a][0] <= self._planes[b][1]:
                raise ValueError(f"coupling {b!r}-{a!r}: the layers touch; interlayer exchange needs a spacer")
        return tuple(out)

    # ------------------------------------------------------------------ queries
    def layer(self, name):
        for la in self.layers:
            if la.name == name:
                return la
        raise KeyError(f"no layer named {name!r}; layers: {[la.name for la in self.layers]}")

    def layer_of_role(self, role):
        """The (first) layer of ``role`` (ValueError naming the roles present if there is none)."""
        for la in self.layers:
            if la.role == role:
                return la
        raise ValueError(f"the stack has no {role!r} layer; roles: {[la.role for la in self.layers]}")

    def planes(self, name):
        """(first, end) z-plane indices of layer ``name`` (cells k with first <= k < end)."""
        self.layer(name)
        return self._planes[name]

    def in_plane_fill(self, layer=None):
        """Fill fraction (ny, nx) of the pillar, or of ``layer``'s own shape."""
        from ..engine.grid import Grid

        s = self.shape
        if layer is not None and self.layer(layer).shape is not None:
            s = self.layer(layer).shape
        g2 = Grid(n=(self.grid.nx, self.grid.ny, 1), cell=self.grid.cell)
        return np.asarray(s.fill_fraction(g2), float)[0]

    def fill(self):
        """Fill fraction (nz, ny, nx) of the magnetic cells (0 in non-magnetic layers)."""
        f = np.zeros(self.grid.shape)
        for la in self.layers:
            if la.magnetic:
                k0, k1 = self._planes[la.name]
                f[k0:k1] = self.in_plane_fill(la.name)[None]
        return f

    def mask(self, name):
        """Bool (nz, ny, nx): the magnetic cells of layer ``name``."""
        k0, k1 = self.planes(name)
        out = np.zeros(self.grid.shape, bool)
        out[k0:k1] = self.in_plane_fill(name)[None] > 0
        return out

    def free_layers(self):
        """The layers of role ``free`` (a double-interface free layer is two, coupled across a spacer)."""
        return [la for la in self.layers if la.role == "free"]

    def free_mask(self):
        """Bool (nz, ny, nx): the magnetic cells of every free layer."""
        fl = self.free_layers()
        if not fl:
            raise ValueError(f"the stack has no free layer (role 'free'); roles: {[la.role for la in self.layers]}")
        return np.any([self.mask(la.name) for la in fl], axis=0)

    def magnetic_layers(self):
        return [la for la in self.layers if la.magnetic]

    def initial_m(self):
        """The stack's initial magnetization (3, nz, ny, nx): each layer's m0."""
        m = np.zeros((3,) + self.grid.shape)
        for la in self.magnetic_layers():
            k0, k1 = self._planes[la.name]
            m[:, k0:k1] = np.asarray(la.m0)[:, None, None, None]
        return m

    def __repr__(self):
        rows = ", ".join(f"{la.name}({la.role}, {la.thickness * 1e9:.3g} nm)" for la in self.layers)
        return f"Stack([{rows}], grid {self.grid.n}, cell {self.cell * 1e9:.3g} x {self.dz * 1e9:.3g} nm)"

    # ------------------------------------------------------------------ the simulation
    def simulation(self, backend="auto", demag=True, batch=1, m=None, layers=None, B_ext=None, **sim_options):
        """One :class:`~micromag.Simulation` of the whole stack (or of the magnetic ``layers`` named), with the
        interlayer exchange added and m set to the layers' m0 (or ``m``); ``B_ext`` (T) adds to the stack's
        uniform field and may be a (3, nz, ny, nx) map. Region r is the r-th magnetic layer."""
        from ..engine.simulation import Simulation
        from ..engine.terms.interlayer import InterlayerExchange

        keep = [la.name for la in self.magnetic_layers()] if layers is None else list(layers)
        for nm in keep:
            if not self.layer(nm).magnetic:
                raise ValueError(f"layers: {nm!r} is not a magnetic layer")
        fill = np.zeros(self.grid.shape)
        regions = np.zeros(self.grid.shape, np.int32)
        materials = {}
        for r, la in enumerate(self.magnetic_layers()):
            mat = la.material.with_(frozen=1.0) if la.fixed else la.material.with_(frozen=0.0)
            materials[r] = mat
            if la.name in keep:
                k0, k1 = self._planes[la.name]
                fill[k0:k1] = self.in_plane_fill(la.name)[None]
                regions[k0:k1] = r
        sim = Simulation(self.grid, geometry=fill, regions=regions, materials=materials, batch=batch,
                         backend=backend, demag=demag, **sim_options)
        pairs = [c for c in self.couplings if c[0] in keep and c[1] in keep]
        if pairs:
            sim.add(InterlayerExchange(sim.system, [(self._planes[b][1] - 1, self._planes[a][0], J1, J2)
                                                    for b, a, J1, J2 in pairs]))
        sim.m = self.initial_m() if m is None else m
        field = np.zeros(3) if self.B_ext is None else np.asarray(self.B_ext)
        if B_ext is not None:
            B = np.asarray(B_ext, float)
            field = (field.reshape(3, 1, 1, 1) + B) if B.ndim == 4 else field + B.reshape(3)
        if np.any(field):
            sim.B_ext = field
        return sim

    # ------------------------------------------------------------------ the spec (TOML) form
    @classmethod
    def from_toml(cls, path, materials=None):
        """The Stack of the ``[stack]`` table of a TOML file (a cell spec; see :meth:`from_dict`)."""
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        with open(path, "rb") as f:
            try:
                doc = tomllib.load(f)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"{path}: the file does not parse as TOML: {exc}") from None
        if "stack" not in doc:
            raise ValueError(f"{path} has no [stack] table")
        return cls.from_dict(doc["stack"], materials=materials)

    @classmethod
    def from_dict(cls, d, materials=None):
        """A Stack from a dict (the ``[stack]`` table of a cell spec)::

            [stack]
            diameter = 40e-9          # m
            cell = 2e-9               # m (in-plane)
            dz = 0.5e-9               # m (optional)
            B_ext = [0, 0, 0.01]      # T (optional)
            [[stack.layer]]           # bottom to top
            name = "HL"; role = "hard"; thickness = 2e-9; material = "Cobalt"; m0 = [0, 0, -1]
            fixed = true; Ku1 = 8e5   # overrides of the material preset (SI)
            [[stack.layer]]
            name = "Ru"; role = "spacer"; thickness = 0.5e-9; J1 = -1e-3

        ``material``: a preset name (Permalloy, CoFeB, CoFeB_perpendicular, Cobalt, Iron, YIG) or a key of
        ``materials`` ({name: Material}); the other numeric keys of a layer (Ms, A, alpha, Ku1, ...) override
        it. Unknown keys are errors naming the layer."""
        from ..engine import materials as presets
        from ..engine.materials import Material

        d = dict(d)
        allowed = {"diameter", "size", "cell", "dz", "B_ext", "layer", "coupling"}
        unknown = set(d) - allowed
        if unknown:
            raise ValueError(f"[stack]: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        layer_keys = {"name", "role", "thickness", "material", "fixed", "m0", "J1", "J2", "z", "Ki"}
        mat_keys = set(Material.parameter_names())
        layers = []
        for i, ld in enumerate(d.get("layer", [])):
            ld = dict(ld)
            where = f"[[stack.layer]] {i + 1} ({ld.get('name', '?')})"
            bad = set(ld) - layer_keys - mat_keys
            if bad:
                raise ValueError(f"{where}: unknown keys {sorted(bad)}")
            for req in ("name", "role", "thickness"):
                if req not in ld:
                    raise ValueError(f"{where}: missing key {req!r}")
            mat = None
            over = {k: ld.pop(k) for k in list(ld) if k in mat_keys}
            ki = ld.pop("Ki", None)
            if "material" in ld:
                key = ld.pop("material")
                if materials and key in materials:
                    mat = materials[key]
                elif key == "CoFeB_perpendicular":
                    mat = presets.CoFeB_perpendicular(thickness=ld["thickness"], **({} if ki is None else {"Ki": ki}))
                elif key in ("Permalloy", "CoFeB", "Cobalt", "Iron", "YIG"):
                    mat = getattr(presets, key)()
                else:
                    raise ValueError(f"{where}: material {key!r} is not a preset (Permalloy, CoFeB, "
                                     "CoFeB_perpendicular, Cobalt, Iron, YIG) nor given in materials=")
                if over:
                    mat = mat.with_(**over)
            elif over:
                mat = Material(**over)
            try:
                layers.append(StackLayer(material=mat, **ld))
            except TypeError as exc:
                raise ValueError(f"{where}: {exc}") from None
        kw = {}
        if "size" in d:
            from ..engine.geometry import Ellipse

            kw["shape"] = Ellipse(tuple(d["size"]))
        else:
            kw["diameter"] = d.get("diameter")
        couplings = [(c["below"], c["above"], c["J1"], c.get("J2", 0.0)) for c in d.get("coupling", [])]
        return cls(layers, cell=d.get("cell", 2e-9), dz=d.get("dz"), B_ext=d.get("B_ext"), couplings=couplings,
                   **kw)


def layer_average(sim, stack, name):
    """Fill-weighted average m of layer ``name`` in ``sim`` (a Simulation of ``stack``): (3,) or (B, 3)."""
    w = stack.mask(name) * sim.system.fill
    m = sim.m
    a = np.einsum("bckji,kji->bc", m, w) / w.sum()
    return a[0] if sim.batch == 1 else a
