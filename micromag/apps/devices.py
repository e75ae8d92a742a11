r"""Device builders for MRAM cells: a free layer on a heavy-metal line (SOT) or in a tunnel junction (STT, VCMA).

A builder collects the physical description of a cell (free-layer shape and material, heavy metal, tilt,
junction, drive), validates it up front, puts it on a grid, and :meth:`build` returns a ready
:class:`~micromag.engine.simulation.Simulation` with the write torque, the readout column and the initial state.

Frames
------
* **grid frame**: the simulation's x, y, z.
* **device frame**: x̂ along the write current (``rotation_deg`` turns the whole device, line included, on
  the grid; 0 by default, so device frame = grid frame). ``B_ext`` is given in this frame.
* **element frame**: the free layer's own axes (``tilt_deg`` turns the element against the current; its
  anisotropy axis, the MTJ reference direction and the initial magnetization, all given in the element
  frame, turn with it). The element's angle on the grid is ``rotation_deg + tilt_deg`` (right-hand rule
  about +z, as :meth:`micromag.engine.geometry.Shape.rotate`).

SOT cell types (Fukami et al., Nat. Nanotechnol. 11, 621 (2016)), from the easy axis u in the device frame:
``"z"`` (perpendicular), ``"x"`` (in-plane, along the current), ``"y"`` (in-plane, across the current:
along σ), ``"xy"`` (in-plane, tilted: the easy axis has components along both, which lets the damping-like
torque switch the cell deterministically without a field).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine.drives import Pulse, as_drive, drive_values
from ..engine.geometry import Box, Ellipse, Shape, rotation_matrix
from ..engine.grid import Grid
from ..engine.heavy_metal import BetaW, HeavyMetal, WriteLine, mean_magnitude
from ..engine.materials import CoFeB, CoFeB_perpendicular, Material

__all__ = ["MTJSpec", "SOTCell", "MTJCell", "cell_type", "ohmic_energy_from_table", "EPS0", "EPS_MGO"]

EPS0 = 8.8541878128e-12  # vacuum permittivity, F/m
EPS_MGO = 9.8  # relative permittivity of MgO (bulk value; thin-film barriers are quoted at 8–10)


# ---------------------------------------------------------------------------------------- validation
# one number check for the whole package (names the parameter and the allowed range)
from ..engine.validation import check_number, check_vector3  # noqa: E402


def _length(name, v):
    x = check_number(name, v, lo=0.0, unit="m", lo_open=True)
    if x > 1e-3:
        raise ValueError(f"{name} = {x} m is larger than 1 mm; lengths are in metres (e.g. 100e-9)")
    return x


def _angle(name, v):
    return check_number(name, v, unit="degrees")


# ---------------------------------------------------------------------------------------- MTJ spec
@dataclass(frozen=True)
class MTJSpec:
    """What a builder needs to know about the tunnel junction on the free layer.

    RA_P    resistance–area product of the parallel state, Ω·m² (5 Ω·µm² = 5e-12)
    TMR     (R_AP − R_P)/R_P (1.5 for 150 %)
    p_ref   reference-layer direction in the element frame; None = the easy axis (the cell starts parallel)
    area    junction area in m² (None: the free layer's footprint)
    t_ox    MgO barrier thickness in m (for the capacitance C = ε0 ε_r A / t_ox and the VCMA term)
    eps_r   relative permittivity of the barrier (MgO ≈ 9.8)
    V_half  bias at which the TMR has halved, V (None: bias-independent TMR)
    """

    RA_P: float = 5e-12
    TMR: float = 1.5
    p_ref: object = None
    area: float | None = None
    t_ox: float = 1.0e-9
    eps_r: float = EPS_MGO
    V_half: float | None = None

    def __post_init__(self):
        s = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        s("RA_P", check_number("RA_P", self.RA_P, lo=0.0, unit="Ω·m²", lo_open=True))
        if self.RA_P > 1e-6:
            raise ValueError(f"RA_P = {self.RA_P} Ω·m² is implausible; it is in Ω·m² (1 Ω·µm² = 1e-12 Ω·m²)")
        s("TMR", check_number("TMR", self.TMR, lo=0.0))
        if self.p_ref is not None:
            s("p_ref", tuple(check_vector3("p_ref", self.p_ref, unit_vector=True)))
        if self.area is not None:
            s("area", check_number("area", self.area, lo=0.0, unit="m²", lo_open=True))
        s("t_ox", _length("t_ox", self.t_ox))
        s("eps_r", check_number("eps_r", self.eps_r, lo=0.0, lo_open=True))
        if self.V_half is not None:
            s("V_half", check_number("V_half", self.V_half, lo=0.0, unit="V", lo_open=True))

    def capacitance(self, area):
        """Barrier capacitance ε0 ε_r A / t_ox in F for a junction area A (m²)."""
        return EPS0 * self.eps_r * area / self.t_ox


def _mtj_spec(mtj):
    if mtj is None or isinstance(mtj, MTJSpec):
        return mtj
    if isinstance(mtj, dict):
        return MTJSpec(**mtj)
    raise TypeError(f"mtj must be None, an MTJSpec or a dict of its fields (RA_P, TMR, p_ref, ...), got "
                    f"{type(mtj).__name__}")


# ---------------------------------------------------------------------------------------- helpers
def cell_type(easy_axis_device, tol_deg=1.0):
    """'z', 'x', 'y' or 'xy' for an easy axis given in the device frame (x̂ along the current)."""
    u = check_vector3("easy_axis", easy_axis_device, unit_vector=True)
    ip = math.hypot(u[0], u[1])
    if abs(u[2]) >= ip:
        return "z"
    phi = math.degrees(math.atan2(u[1], u[0])) % 180.0
    if min(phi, 180.0 - phi) <= tol_deg:
        return "x"
    if abs(phi - 90.0) <= tol_deg:
        return "y"
    return "xy"


def ohmic_energy_from_table(path, V="V_MTJ", I="I_MTJ", member=None):
    """∫ V(t) I(t) dt in J from two table columns (trapezoid rule over the table rows)."""
    from ..engine.table import read_table

    import os

    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "table.txt" if member is None else f"table_{member:04d}.txt")
    names, data = read_table(path)
    for c in (V, I):
        if c not in names:
            raise ValueError(f"{path} has no column {c!r}; available: {names}")
    t = data[:, names.index("t")]
    p = data[:, names.index(V)] * data[:, names.index(I)]
    return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))


def _rotated_extent(shape, R, base_bounds=None, n=201):
    """Half extents (hx, hy) of ``shape`` turned by the 3×3 matrix R, from a fine sampling of the shape's
    x–y cross-section at z = 0 (tight for any shape, unlike a rotated bounding box)."""
    b = np.asarray(shape.bounds() if base_bounds is None else base_bounds, dtype=float)
    if not np.all(np.isfinite(b[:2])):
        raise ValueError("the free layer must be bounded in x and y (a finite shape)")
    xs = np.linspace(b[0, 0], b[0, 1], n)
    ys = np.linspace(b[1, 0], b[1, 1], n)
    X, Y = np.meshgrid(xs, ys)
    ins = shape.inside(X, Y, 0.0)
    if not ins.any():
        raise ValueError("the free layer shape holds no point in its z = 0 plane (check its size and centre)")
    P = np.stack([X[ins], Y[ins]])
    Q = R[:2, :2] @ P
    h = 0.5 * max(xs[1] - xs[0], ys[1] - ys[0])  # sampling resolution: add it so the hull is not undercut
    return (float(np.abs(Q[0]).max()) + h, float(np.abs(Q[1]).max()) + h)


def _ncells(half, d):
    """Cells needed to cover [−half, half] (symmetric about the grid centre), one margin cell each side."""
    return int(math.ceil(2.0 * half / d * (1 - 1e-9))) + 2


def _resolve_axis(easy_axis, long_axis, material, name="easy_axis"):
    if easy_axis is None:
        if material.Ku1 != 0.0:
            return np.asarray(material.anis_u, dtype=float)
        easy_axis = "long"
    if isinstance(easy_axis, str):
        key = easy_axis.lower()
        if key == "long":
            return long_axis.copy()
        if key in ("x", "y", "z"):
            return np.eye(3)[("x", "y", "z").index(key)]
        raise ValueError(f"{name} must be 'long', 'x', 'y', 'z' or a 3-vector (element frame), got {easy_axis!r}")
    return check_vector3(name, easy_axis, unit_vector=True)


class _Cell:
    """Shared geometry handling: free layer in the element frame, put on a grid at angle ``angle``."""

    def _setup_geometry(self, free_layer, size, thickness, cell, cells_per_length, angle_deg, device_deg):
        self.thickness = _length("thickness", thickness)
        if free_layer is None:
            try:
                a, b = size
            except (TypeError, ValueError):
                raise ValueError(f"size must be (length, width) in m, got {size!r}") from None
            a, b = _length("size[0] (length)", a), _length("size[1] (width)", b)
            self.size = (a, b)
            free_layer = Ellipse((a, b))
        else:
            if not isinstance(free_layer, Shape) and not hasattr(free_layer, "fill_fraction"):
                raise TypeError(f"free_layer must be a micromag geometry Shape, got {type(free_layer).__name__}")
            b = np.asarray(free_layer.bounds(), dtype=float)
            if not np.all(np.isfinite(b[:2])):
                raise ValueError("the free layer must be bounded in x and y (a finite shape)")
            self.size = (float(b[0, 1] - b[0, 0]), float(b[1, 1] - b[1, 0]))
        self.free_layer = free_layer
        self.long_axis = np.array([1.0, 0.0, 0.0]) if self.size[0] >= self.size[1] else np.array([0.0, 1.0, 0.0])
        # cell size
        if cells_per_length is not None:
            if int(cells_per_length) != cells_per_length or cells_per_length < 1:
                raise ValueError(f"cells_per_length must be an integer >= 1, got {cells_per_length!r}")
            d = max(self.size) / int(cells_per_length)
            cell = (d, d, None)
        if np.ndim(cell) == 0:
            d = _length("cell", cell)
            cell = (d, d, None)
        try:
            dx, dy, dz = cell
        except (TypeError, ValueError):
            raise ValueError(f"cell must be a length (m) or (dx, dy, dz), got {cell!r}") from None
        dx, dy = _length("cell[0] (dx)", dx), _length("cell[1] (dy)", dy)
        if dz is None:
            nz = max(1, int(math.ceil(self.thickness / min(dx, dy, 4e-9) - 1e-9)))
            dz = self.thickness / nz
        else:
            dz = _length("cell[2] (dz)", dz)
            nz = int(round(self.thickness / dz))
            if nz < 1 or abs(nz * dz - self.thickness) > 1e-3 * self.thickness:
                raise ValueError(f"the free-layer thickness {self.thickness} m is not a whole number of cells "
                                 f"dz = {dz} m")
            dz = self.thickness / nz
        self.cell = (dx, dy, dz)
        self.angle_deg = angle_deg  # element on the grid
        self.R_elem = rotation_matrix(angle_deg, "z")  # element frame -> grid frame
        self.R_dev = rotation_matrix(device_deg, "z")  # device frame -> grid frame
        hx, hy = _rotated_extent(free_layer, self.R_elem)
        self._half_extent = (hx, hy)
        self.grid = Grid(n=(_ncells(hx, dx), _ncells(hy, dy), nz), cell=self.cell)
        self.shape = free_layer.rotate(angle_deg) if angle_deg != 0 else free_layer
        self.fill = np.asarray(self.shape.fill_fraction(self.grid), dtype=float)
        if not np.any(self.fill > 0):
            raise ValueError("the free layer covers no cell of the grid")

    def _material(self, material, default, easy_axis, Ku1):
        if material is None:
            material = default
        if not isinstance(material, Material):
            raise TypeError(f"material must be a micromag Material, got {type(material).__name__}")
        self.easy_axis_element = _resolve_axis(easy_axis, self.long_axis, material)
        self.easy_axis = self.R_elem @ self.easy_axis_element  # grid frame
        self.easy_axis[np.abs(self.easy_axis) < 1e-15] = 0.0
        K = material.Ku1 if Ku1 is None else check_number("Ku1", Ku1, unit="J/m³")
        self.material = material.with_(Ku1=K, anis_u=tuple(self.easy_axis))

    def _elem_vec(self, name, v, default):
        """A direction given in the element frame, returned in the grid frame."""
        a = default if v is None else check_vector3(name, v, unit_vector=True)
        out = self.R_elem @ a
        out[np.abs(out) < 1e-15] = 0.0
        return out

    def _dev_field(self, B_ext):
        """B_ext given in the device frame -> grid frame (a 3-vector, (B, 3) array or function of t)."""
        if B_ext is None:
            return None
        R = self.R_dev
        if callable(B_ext):
            return lambda t, f=B_ext: R @ check_vector3("B_ext(t)", f(t))
        a = np.asarray(B_ext, dtype=float)
        if a.shape == (3,):
            return tuple(R @ check_vector3("B_ext", a))
        if a.ndim == 2 and a.shape[1] == 3:
            if not np.all(np.isfinite(a)):
                raise ValueError("B_ext must be finite")
            return a @ R.T
        raise ValueError(f"B_ext must be a 3-vector (T, device frame), a (B, 3) array or a function of t, got shape {a.shape}")

    @property
    def footprint_area(self):
        """Area of the free layer's footprint on the grid, m² (fill-weighted)."""
        g = self.grid
        return float(self.fill.max(axis=0).sum() * g.cell[0] * g.cell[1])

    def _new_sim(self, backend, **kw):
        from ..engine.simulation import Simulation

        return Simulation(self.grid, material=self.material, geometry=self.fill, batch=self.batch,
                          backend=backend, **kw)

    def build(self, relax=False, **sim_options):
        """A :class:`~micromag.engine.simulation.Simulation` of this cell (``sim_options`` go to its constructor:
        integrator, tol, dt, ...), on the cell's backend (every device term has its GPU kernel).

        ``relax=True`` relaxes the initial state (precession-free, ``sim.relax``) with the write drives
        switched off (``relax`` runs on its own clock, at which a pulse could otherwise be on), then sets
        t = 0.
        """
        sim = self._build(self.backend, dict(sim_options))
        if relax:
            from ..engine.drives import DC

            saved = []
            for term in sim.terms.values():
                for attr in ("J", "V"):
                    if hasattr(term, attr) and getattr(term, attr) is not None and attr in vars(term):
                        saved.append((term, attr, getattr(term, attr)))
                        setattr(term, attr, DC(0.0))
            try:
                sim.relax(progress=False)
            finally:
                for term, attr, v in saved:
                    setattr(term, attr, v)
            sim.t = 0.0
        return sim


# ---------------------------------------------------------------------------------------- SOT cell
class SOTCell(_Cell):
    r"""A spin-orbit-torque MRAM cell: a free layer on a heavy-metal write line, optionally tilted.

    Parameters
    ----------
    free_layer : a :mod:`micromag.engine.geometry` Shape in the element frame (centred on the origin), or None for an
        ellipse of ``size``.
    size : (length, width) in m of the default ellipse (length along the element's x).
    thickness : free-layer thickness t_F in m (> 0); the grid has nz·dz = t_F.
    material : the free layer (default :func:`micromag.CoFeB`, in-plane).
    heavy_metal : a :class:`~micromag.engine.heavy_metal.HeavyMetal` (default ``BetaW()``, 5 nm); its θ_eff is used.
    line_width : width of the write line in m (default: the element's extent across the current plus one
        cell each side, rounded up to whole cells; the line then covers the whole grid width).
    line_offset : position of the line's centre across the current, m (device frame).
    tilt_deg : angle of the element against the current (right-hand rule about +z).
    rotation_deg : angle of the whole device (line, current, element) on the grid; 0 = current along +x.
    easy_axis : 'long' | 'x' | 'y' | 'z' | a 3-vector, in the element frame (turns with the tilt); default
        the material's anis_u when it has Ku1 ≠ 0, else 'long'.
    Ku1 : uniaxial anisotropy constant in J/m³ along the easy axis (default the material's Ku1; 0 leaves the
        shape anisotropy alone).
    cell : in-plane cell size in m (dx = dy) or (dx, dy, dz) (dz must divide t_F; default 4 nm and one layer
        per ≤ 4 nm of thickness); or ``cells_per_length`` cells along the element's longer side.
    mtj : None, an :class:`MTJSpec` or a dict (RA_P, TMR, p_ref, ...): adds the read junction and its
        ``R_MTJ`` table column. (The SOT write current does not pass through it.)
    J : current density in the heavy metal, A/m²: a number, per-member array, drive (``Pulse``) or f(t). For
        a solved line it is the mean |J| under the free layer.
    xi_FL : field-like / damping-like ratio.
    B_ext : applied field in T, device frame (x̂ along the current).
    m0 : initial magnetization in the element frame (default +easy axis).
    temperature : K (> 0 switches on the thermal field and the fixed-step Heun integrator).
    batch, backend : as for :class:`~micromag.engine.simulation.Simulation`.
    solve_conduction : False: uniform current density along the line (exact for a straight stripe);
        True: the line's current pattern from the 2D conduction solve (crowding, direction per cell).
    shunt : with ``solve_conduction``, let the metallic free layer (resistivity ``fm_resistivity``, Ω·m)
        shunt part of the current.
    oersted : add the Oersted field of the line (Biot–Savart of the HM current sheet).
    line_length : length of the line in m for the write resistance (default the grid's extent along the
        current: the modelled stretch of line).
    demag : include the demagnetizing field.

    Validation happens here, before any run: t_F > 0, θ in (−1, 1) (through HeavyMetal), a line that
    touches the free layer, and an element whose every cell lies on the line (a tilt or offset that moves it
    off the line is an error).
    """

    def __init__(self, free_layer=None, size=(100e-9, 40e-9), thickness=1.5e-9, material=None, heavy_metal=None,
                 line_width=None, line_offset=0.0, tilt_deg=0.0, rotation_deg=0.0, easy_axis=None, Ku1=None,
                 cell=4e-9, cells_per_length=None, mtj=None, J=0.0, xi_FL=0.0, B_ext=None, m0=None,
                 temperature=None, batch=1, backend="auto", solve_conduction=False, shunt=False,
                 fm_resistivity=1.6e-6, oersted=False, line_length=None, demag=True):
        self.tilt_deg = _angle("tilt_deg", tilt_deg)
        self.rotation_deg = _angle("rotation_deg", rotation_deg)
        self._setup_geometry(free_layer, size, thickness, cell, cells_per_length,
                             self.rotation_deg + self.tilt_deg, self.rotation_deg)
        self._material(material, CoFeB(), easy_axis, Ku1)
        if heavy_metal is None:
            heavy_metal = BetaW()
        if not isinstance(heavy_metal, HeavyMetal):
            raise TypeError(f"heavy_metal must be a HeavyMetal (e.g. mm.BetaW(thickness=5e-9)), got "
                            f"{type(heavy_metal).__name__}")
        self.heavy_metal = heavy_metal
        self.xi_FL = check_number("xi_FL", xi_FL)
        self.J = as_drive(J)
        self.batch = int(batch)
        self.backend = backend
        self.solve_conduction = bool(solve_conduction)
        self.shunt = bool(shunt)
        self.fm_resistivity = check_number("fm_resistivity", fm_resistivity, lo=0.0, unit="Ω·m", lo_open=True)
        self.oersted = bool(oersted)
        self.demag = bool(demag)
        self.temperature = None if temperature is None else check_number("temperature", temperature, lo=0.0, unit="K")
        self.mtj = _mtj_spec(mtj)
        self.B_ext = self._dev_field(B_ext)
        self.m0 = self._elem_vec("m0", m0, self.easy_axis_element)
        # the line, in the device frame then turned by rotation_deg
        dx = self.cell[0]
        hx_dev, hy_dev = _rotated_extent(self.free_layer, rotation_matrix(self.tilt_deg, "z"))
        self._half_dev = (hx_dev, hy_dev)
        self.line_width = _ncells(hy_dev, dx) * dx if line_width is None else _length("line_width", line_width)
        self.line_offset = check_number("line_offset", line_offset, unit="m")
        self.current_direction = self.R_dev @ np.array([1.0, 0.0, 0.0])
        self.current_direction[np.abs(self.current_direction) < 1e-15] = 0.0
        self.line = self._make_line()
        self._check_line()
        g = self.grid
        ext = g.nx * g.cell[0] if abs(self.current_direction[0]) >= abs(self.current_direction[1]) else g.ny * g.cell[1]
        self.line_length = ext if line_length is None else _length("line_length", line_length)

    # ------------------------------------------------------------------ line
    def _make_line(self):
        w, off, rot = self.line_width, self.line_offset, self.rotation_deg
        if rot % 360.0 == 0.0 and not self.solve_conduction:
            return WriteLine(width=w, center_y=off, heavy_metal=self.heavy_metal)
        r = rot % 360.0
        if r == 90.0 or r == 270.0:  # exact, no rotated sampling
            stripe = Box((w, None, None), center=tuple(self.R_dev @ np.array([0.0, off, 0.0])))
        elif r == 0.0 or r == 180.0:
            stripe = Box((None, w, None), center=(0.0, off if r == 0.0 else -off, 0.0))
        else:
            stripe = Box((None, w, None), center=(0.0, off, 0.0)).rotate(rot)
        c, s = self.current_direction[0], self.current_direction[1]
        if abs(c) >= abs(s):
            el = ("-x", "+x") if c > 0 else ("+x", "-x")
        else:
            el = ("-y", "+y") if s > 0 else ("+y", "-y")
        return WriteLine(shape=stripe, electrodes=el, heavy_metal=self.heavy_metal)

    def _check_line(self):
        g = self.grid
        try:
            lf = self.line.fill(g)
        except ValueError:
            lf = np.zeros((g.ny, g.nx))
        foot = self.fill.max(axis=0)
        on = foot > 0
        if not np.any(on & (lf > 0)):
            raise ValueError(f"the write line (width {self.line_width:.3g} m, offset {self.line_offset:.3g} m) does "
                             "not touch the free layer: no cell of the line lies under the magnet; move or widen "
                             "the line")
        off = on & (lf <= 0)
        if off.any():
            share = float(foot[off].sum() / foot.sum())
            raise ValueError(f"the element (tilt {self.tilt_deg:g}°) does not fit on the write line of width "
                             f"{self.line_width:.3g} m: {100 * share:.1f} % of its footprint lies off the line; "
                             "widen the line (line_width) or reduce the tilt or the offset")
        self.line.check_overlap(_FootprintSystem(g, self.fill))

    # ------------------------------------------------------------------ properties
    @property
    def type(self):
        """'z', 'x', 'y' or 'xy': the easy axis against the current (see the module docstring)."""
        return cell_type(self.R_dev.T @ self.easy_axis)

    @property
    def sigma(self):
        """Spin polarization σ = ẑ × ĵ of the current in the grid frame."""
        return np.cross([0.0, 0.0, 1.0], self.current_direction)

    def _current_per_J(self):
        """(I per unit drive J in A per A/m², line resistance in Ω over ``line_length``)."""
        hm = self.heavy_metal
        if not self.solve_conduction:
            return self.line_width * hm.thickness, hm.resistivity * self.line_length / (self.line_width * hm.thickness)
        sol = self.line.solve(self.grid, 1.0, hm, self._shunt_arg())
        Jm = mean_magnitude(sol["J"], _FootprintSystem(self.grid, self.fill))
        return 1.0 / Jm, sol["R"]

    @property
    def line_resistance(self):
        """Resistance of the heavy-metal line, Ω (ρ L / (w t_HM) for the stripe; the solved R otherwise)."""
        return self._current_per_J()[1]

    def line_current(self, J):
        """Write current I in A carried by the line at drive level J (A/m²)."""
        return self._current_per_J()[0] * np.asarray(J, dtype=float)

    def write_energy(self, duration=None, n=20001):
        """Joule energy ∫ I(t)² R dt in J of the write pulse in the line (per member for a batch drive),
        integrated over [0, duration] (default: the end of a ``Pulse`` drive)."""
        if duration is None:
            if not isinstance(self.J, Pulse):
                raise ValueError("give duration= (s): the drive is not a Pulse with a known end")
            duration = self.J.end
        duration = check_number("duration", duration, lo=0.0, unit="s", lo_open=True)
        per_J, R = self._current_per_J()
        t = np.linspace(0.0, duration, int(n))
        Jt = np.stack([drive_values(self.J, np.full(self.batch, ti), self.batch) for ti in t])  # (n, B)
        P = (per_J * Jt) ** 2 * R
        E = np.sum(0.5 * (P[1:] + P[:-1]) * np.diff(t)[:, None], axis=0)
        return float(E[0]) if self.batch == 1 else E

    def _shunt_arg(self):
        if not (self.shunt and self.solve_conduction):
            return None
        return (self.fm_resistivity, self.thickness, _FootprintSystem(self.grid, self.fill))

    # ------------------------------------------------------------------ build
    def _build(self, backend, sim_options):
        from .readout import MTJ
        from ..engine.terms.oersted import OerstedField
        from ..engine.terms.sot import SpinOrbitTorque

        sim_options.setdefault("demag", self.demag)
        sim = self._new_sim(backend, **sim_options)
        if self.solve_conduction:
            pat = self.line.pattern(sim.system, heavy_metal=self.heavy_metal, shunt=self._shunt_arg())
            sot = SpinOrbitTorque(sim.system, J=self.J, heavy_metal=self.heavy_metal, xi_FL=self.xi_FL,
                                  t_F=self.thickness, current_field=pat)
        else:
            sot = SpinOrbitTorque(sim.system, J=self.J, heavy_metal=self.heavy_metal, xi_FL=self.xi_FL,
                                  t_F=self.thickness, direction=tuple(self.current_direction))
        sim.add(sot)
        if self.oersted:
            sim.add(OerstedField(sim.system, self.line, J=self.J, heavy_metal=self.heavy_metal,
                                 shunt=self._shunt_arg()))
        sim.table_add("J_HM", "A/m2", lambda m, t, d=self.J, nb=self.batch: drive_values(d, t, nb))
        if self.mtj is not None:
            p = self._elem_vec("p_ref", self.mtj.p_ref, self.easy_axis_element)
            sim.mtj = MTJ(sim.system, RA_P=self.mtj.RA_P, TMR=self.mtj.TMR, area=self.mtj.area, p_ref=tuple(p),
                          V_half=self.mtj.V_half)
            sim.table_add(sim.mtj, None, None)
        else:
            sim.mtj = None
        if self.B_ext is not None:
            sim.B_ext = self.B_ext
        if self.temperature:
            sim.temperature = self.temperature
        sim.m = tuple(self.m0)
        sim.device = self
        return sim


class _FootprintSystem:
    """The two attributes of a System that the write line's checks read (fill, magnetic, grid)."""

    def __init__(self, grid, fill):
        self.grid = grid
        self.fill = fill
        self.magnetic = fill > 0


# ---------------------------------------------------------------------------------------- MTJ cell
class MTJCell(_Cell):
    r"""A two-terminal MTJ cell written through the junction: spin-transfer torque and/or VCMA.

    Parameters
    ----------
    free_layer, size, thickness, cell, cells_per_length, tilt_deg : as :class:`SOTCell` (default a 40 nm
        disc, 1.3 nm thick).
    material : default :func:`micromag.CoFeB_perpendicular` of that thickness (Ki = 1.3 mJ/m²).
    easy_axis, Ku1 : as :class:`SOTCell` (default the material's: perpendicular).
    mtj : an :class:`MTJSpec` (or dict); required (default RA_P = 5 Ω·µm², TMR = 150 %, p_ref = easy axis,
        t_ox = 1 nm).
    V : bias voltage across the junction, V (number, per-member array, drive, f(t)); the current is V/R(m).
        V > 0 drives electrons from the reference into the free layer: the STT then favours the parallel
        state; with ξ > 0 it lowers the perpendicular anisotropy (VCMA).
    stt : add the Slonczewski torque of the bias current (polarization ``P``, asymmetry ``Lambda``,
        field-like ``eps_prime``).
    xi_vcma : VCMA coefficient ξ in J/(V·m) (e.g. 1e-13 = 100 fJ/(V·m)); 0 = no VCMA term.
    B_ext : applied field in T (grid frame). m0 : initial magnetization (element frame; default +easy
        axis tilted by ``m0_tilt_deg`` towards +x of the element — a stand-in for the thermal angle at T = 0).
    """

    def __init__(self, free_layer=None, size=(40e-9, 40e-9), thickness=1.3e-9, material=None, easy_axis=None,
                 Ku1=None, cell=4e-9, cells_per_length=None, tilt_deg=0.0, mtj=None, V=0.0, stt=True, P=0.6,
                 Lambda=1.0, eps_prime=0.0, xi_vcma=0.0, B_ext=None, m0=None, m0_tilt_deg=0.0, temperature=None,
                 batch=1, backend="auto", demag=True):
        self.tilt_deg = _angle("tilt_deg", tilt_deg)
        self._setup_geometry(free_layer, size, thickness, cell, cells_per_length, self.tilt_deg, 0.0)
        self._material(material, CoFeB_perpendicular(thickness=self.thickness), easy_axis, Ku1)
        self.mtj = _mtj_spec(mtj) if mtj is not None else MTJSpec()
        self.V = as_drive(V)
        self.stt = bool(stt)
        self.P = check_number("P", P, lo=0.0, hi=1.0)
        self.Lambda = check_number("Lambda", Lambda, lo=0.0, lo_open=True)
        self.eps_prime = check_number("eps_prime", eps_prime)
        self.xi_vcma = check_number("xi_vcma", xi_vcma, unit="J/(V·m)")
        self.B_ext = self._dev_field(B_ext)
        m = self.easy_axis_element if m0 is None else check_vector3("m0", m0, unit_vector=True)
        tilt = math.radians(_angle("m0_tilt_deg", m0_tilt_deg))
        if tilt:
            perp = np.cross(m, [0.0, 1.0, 0.0])
            if np.linalg.norm(perp) < 1e-9:
                perp = np.cross(m, [0.0, 0.0, 1.0])
            perp /= np.linalg.norm(perp)
            m = math.cos(tilt) * m + math.sin(tilt) * perp
        self.m0 = self.R_elem @ m
        self.temperature = None if temperature is None else check_number("temperature", temperature, lo=0.0, unit="K")
        self.batch = int(batch)
        self.backend = backend
        self.demag = bool(demag)

    @property
    def area(self):
        """Junction area in m² (the MTJ spec's, else the free layer's footprint)."""
        return self.footprint_area if self.mtj.area is None else self.mtj.area

    @property
    def capacitance(self):
        """Barrier capacitance ε0 ε_r A / t_ox in F."""
        return self.mtj.capacitance(self.area)

    def cv2_energy(self, V):
        """C V² in J for a pulse of amplitude V (volts): charging and discharging the junction once."""
        return self.capacitance * float(V) ** 2

    @property
    def R_P(self):
        return self.mtj.RA_P / self.area

    @property
    def R_AP(self):
        return self.mtj.RA_P * (1 + self.mtj.TMR) / self.area

    def _build(self, backend, sim_options):
        from .readout import MTJ
        from ..engine.terms.stt import SlonczewskiSTT
        from ..engine.terms.vcma import VCMA

        sim_options.setdefault("demag", self.demag)
        sim = self._new_sim(backend, **sim_options)
        p = self._elem_vec("p_ref", self.mtj.p_ref, self.easy_axis_element)
        mtj = MTJ(sim.system, RA_P=self.mtj.RA_P, TMR=self.mtj.TMR, area=self.mtj.area, p_ref=tuple(p),
                  V_bias=self.V, V_half=self.mtj.V_half)
        sim.mtj = mtj
        if self.stt:
            sim.add(SlonczewskiSTT(sim.system, J=mtj, p=tuple(p), P=self.P, Lambda=self.Lambda,
                                   eps_prime=self.eps_prime, t_F=self.thickness))
        if self.xi_vcma != 0.0:
            sim.add(VCMA(sim.system, V=self.V, xi=self.xi_vcma, t_ox=self.mtj.t_ox, t_F=self.thickness,
                         axis=tuple(self.easy_axis)))
        sim.table_add(mtj, None, None)
        if self.B_ext is not None:
            sim.B_ext = self.B_ext
        if self.temperature:
            sim.temperature = self.temperature
        sim.m = tuple(self.m0)
        sim.device = self
        return sim


def STTCell(**kw):
    """An :class:`MTJCell` written by spin-transfer torque alone (no VCMA)."""
    kw.setdefault("xi_vcma", 0.0)
    kw.setdefault("stt", True)
    return MTJCell(**kw)


def VCMACell(xi_vcma=1e-13, **kw):
    """An :class:`MTJCell` written by VCMA (ξ = 100 fJ/(V·m) by default); the STT of the bias current is kept
    (pass ``stt=False`` to drop it)."""
    return MTJCell(xi_vcma=xi_vcma, **kw)


__all__ += ["STTCell", "VCMACell"]
