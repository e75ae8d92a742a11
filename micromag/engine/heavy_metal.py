"""Heavy-metal write lines for spin-orbit-torque MRAM: materials, the line's shape and its current density.

Geometry and conventions
------------------------
The heavy metal (HM) is a thin sheet of thickness ``t_HM`` directly *below* the free layer; ẑ points from the
HM into the ferromagnet (FM). The write line is a shape in the grid's x–y plane (cell-centred coordinates of
:class:`micromag.engine.grid.Grid`, origin at the grid centre) with two electrodes. A positive current I enters the
line at electrode 0 (the source, at the higher potential) and leaves it at electrode 1.

Current density
---------------
``WriteLine.current_density(grid, I=..., heavy_metal=...)`` returns J(x, y) in the HM, A/m², shape
(2, ny, nx) (components x, y):

* the default line (no ``shape``: a straight stripe along x of the given ``width``, spanning the grid,
  electrodes at its two ends) has the uniform current density J = I / (w t_HM) x̂, exactly;
* any other shape is solved as a 2D conduction problem, ∇·(g ∇V) = 0 with g the sheet conductance
  (S per square), by finite volumes on the grid cells: g = f t_HM / ρ_HM in a cell with fill fraction f
  (sub-cell fill allowed), face conductances are harmonic means of the two cells' g, potentials are fixed
  (Dirichlet) on the two electrodes and no current leaves through any other edge (Neumann). The sparse
  system is solved directly (SciPy SuperLU), so the current through every cross-section that separates the
  electrodes equals I to round-off. The local current density in the metal is J = E / ρ_HM with E = −∇V
  at the cell centre (mean of the two face fields along each axis where both faces conduct).

Shunting through the free layer
-------------------------------
Where the (metallic) free layer lies on the line, the two films are conductors in parallel with the same
in-plane field E: J_HM = E/ρ_HM, J_FM = E/ρ_F, so a fraction g_HM / (g_HM + g_F) of the sheet current stays in
the HM, g = t/ρ (:func:`shunt_fraction`). Pass ``shunt=(rho_F, t_F, fm_fill)`` to ``current_density`` to put
the FM's sheet conductance into the 2D solve (the current crowds into the covered region and its HM part is
reduced where the FM shunts it).

Spin diffusion
--------------
For an HM of thickness t comparable to its spin-diffusion length λ_sf the spin current reaching the interface
is reduced by the factor 1 − sech(t/λ_sf) (Liu et al., arXiv:1111.3702 (2011), drift-diffusion model with a
transparent interface). :attr:`HeavyMetal.theta_eff` applies it when ``lambda_sf`` is given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .grid import Grid
from .validation import check_number

__all__ = ["HeavyMetal", "BetaW", "Pt", "Ta", "spin_diffusion_factor", "shunt_fraction", "WriteLine"]

# 1 µΩ·cm = 1e-8 Ω·m
_UOHM_CM = 1e-8


def spin_diffusion_factor(thickness, lambda_sf):
    """1 − sech(t/λ_sf): the share of the bulk spin Hall current that reaches the interface of an HM layer of
    thickness t (m) with spin-diffusion length λ_sf (m). → 1 for t ≫ λ_sf, ≈ t²/(2λ_sf²) for t ≪ λ_sf."""
    t = check_number("thickness", thickness, lo=0.0, unit="m", lo_open=True)
    lam = check_number("lambda_sf", lambda_sf, lo=0.0, unit="m", lo_open=True)
    return 1.0 - 1.0 / math.cosh(min(t / lam, 700.0))


def shunt_fraction(hm_resistivity, hm_thickness, fm_resistivity, fm_thickness):
    """Fraction of the sheet current that stays in the HM where a metallic FM of resistivity ρ_F (Ω·m) and
    thickness t_F (m) lies on it (parallel conductances, same E): g_HM / (g_HM + g_F), g = t/ρ."""
    g_hm = (check_number("hm_thickness", hm_thickness, lo=0.0, lo_open=True, unit="m")
            / check_number("hm_resistivity", hm_resistivity, lo=0.0, lo_open=True, unit="Ω·m"))
    g_f = (check_number("fm_thickness", fm_thickness, lo=0.0, lo_open=True, unit="m")
           / check_number("fm_resistivity", fm_resistivity, lo=0.0, lo_open=True, unit="Ω·m"))
    return g_hm / (g_hm + g_f)


@dataclass(frozen=True)
class HeavyMetal:
    """A heavy-metal layer, validated on construction (SI units).

    theta_sh     spin Hall angle, dimensionless, in (−1, 1); the sign convention is that of
                 :class:`micromag.engine.terms.sot.SpinOrbitTorque` (θ > 0, Pt-like: damping-like torque pushes m
                 towards σ = ẑ × ĵ with ẑ from the HM into the FM)
    resistivity  ρ in Ω·m (> 0); 1 µΩ·cm = 1e-8 Ω·m
    thickness    t_HM in m (> 0)
    lambda_sf    spin-diffusion length in m (> 0), or None to ignore spin diffusion (θ_eff = θ_SH)
    name         a label
    """

    theta_sh: float
    resistivity: float
    thickness: float
    lambda_sf: float | None = None
    name: str = field(default="", compare=False)

    def __post_init__(self):
        s = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        s("theta_sh", check_number("theta_sh", self.theta_sh, lo=-1.0, hi=1.0, lo_open=True, hi_open=True))
        s("resistivity", check_number("resistivity", self.resistivity, lo=0.0, unit="Ω·m", lo_open=True))
        if self.resistivity > 1e-2:
            raise ValueError(f"resistivity = {self.resistivity} Ω·m is implausible for a metal; it is in Ω·m "
                             f"(1 µΩ·cm = 1e-8 Ω·m)")
        s("thickness", check_number("thickness", self.thickness, lo=0.0, unit="m", lo_open=True))
        if self.thickness > 1e-3:
            raise ValueError(f"thickness = {self.thickness} m is larger than 1 mm; lengths are in metres (e.g. 5e-9)")
        s("lambda_sf", check_number("lambda_sf", self.lambda_sf, lo=0.0, unit="m", allow_none=True, lo_open=True))

    @property
    def spin_diffusion_factor(self):
        """1 − sech(t_HM/λ_sf), or 1.0 when ``lambda_sf`` is None."""
        return 1.0 if self.lambda_sf is None else spin_diffusion_factor(self.thickness, self.lambda_sf)

    @property
    def theta_eff(self):
        """Effective spin Hall angle θ_SH · (1 − sech(t_HM/λ_sf)) (θ_SH when ``lambda_sf`` is None)."""
        return self.theta_sh * self.spin_diffusion_factor

    @property
    def sheet_conductance(self):
        """t_HM / ρ in S (per square)."""
        return self.thickness / self.resistivity

    def shunt_fraction(self, fm_resistivity, fm_thickness):
        """Share of the current that stays in this HM under a metallic FM (see :func:`shunt_fraction`)."""
        return shunt_fraction(self.resistivity, self.thickness, fm_resistivity, fm_thickness)

    def with_(self, **changes):
        from dataclasses import replace

        return replace(self, **changes)


def BetaW(thickness=5e-9, **changes) -> HeavyMetal:
    """beta-phase tungsten: θ_SH = −0.30, ρ = 260 µΩ·cm (2.6e-6 Ω·m), λ_sf = 1.4 nm.

    Sources: θ from spin-torque FMR on β-W/CoFeB, |θ| = 0.30 ± 0.02 (0.33 ± 0.06 from switching), negative
    like Ta — Pai et al., Appl. Phys. Lett. 101, 122404 (2012); the same paper gives the β-phase resistivity
    of its films, about 260 µΩ·cm (β-W 200–300 µΩ·cm, α-W 20–30 µΩ·cm). λ_sf: the SOT efficiency of W
    saturates over ~1–2 nm of W; λ_sf ≈ 1.2–1.5 nm is the range reported from thickness series (e.g. Hao and
    Xiao, Phys. Rev. Applied 3, 034009 (2015)) — an approximate value, override it for your films.
    """
    return HeavyMetal(theta_sh=-0.30, resistivity=260 * _UOHM_CM, thickness=thickness, lambda_sf=1.4e-9,
                      name="beta-W").with_(**changes)


def Ta(thickness=6e-9, **changes) -> HeavyMetal:
    """beta-phase tantalum: θ_SH = −0.12, ρ = 190 µΩ·cm (1.9e-6 Ω·m), λ_sf = 1.8 nm.

    Sources: θ ≈ −0.12 to −0.15 and ρ ≈ 190 µΩ·cm for β-Ta — Liu et al., Science 336, 555 (2012);
    λ_sf ≈ 1.8 nm from inverse spin Hall / spin Hall magnetoresistance of YIG/Ta — Hahn et al., Phys. Rev. B
    87, 174417 (2013).
    """
    return HeavyMetal(theta_sh=-0.12, resistivity=190 * _UOHM_CM, thickness=thickness, lambda_sf=1.8e-9,
                      name="beta-Ta").with_(**changes)


def Pt(thickness=5e-9, **changes) -> HeavyMetal:
    """platinum: θ_SH = +0.07, ρ = 20 µΩ·cm (2.0e-7 Ω·m), λ_sf = 1.4 nm.

    Sources: θ = 0.068–0.076 from spin-torque FMR of Pt/Py — Liu, Moriyama, Ralph and Buhrman,
    Phys. Rev. Lett. 106, 036601 (2011) (published range +0.07 … +0.1); ρ of thin sputtered Pt ≈ 20 µΩ·cm
    (same work); λ_sf ≈ 1.4 nm from the Pt-thickness dependence of the torque — Liu, Buhrman and Ralph,
    arXiv:1111.3702 (2011).
    """
    return HeavyMetal(theta_sh=0.07, resistivity=20 * _UOHM_CM, thickness=thickness, lambda_sf=1.4e-9,
                      name="Pt").with_(**changes)


# ---------------------------------------------------------------------------------------------- write line
_SIDES = ("-x", "+x", "-y", "+y")


def _plane_grid(grid):
    """A one-layer grid with the same x–y cells (the line is evaluated on its mid-plane z = 0)."""
    return Grid(n=(grid.nx, grid.ny, 1), cell=(grid.cell[0], grid.cell[1], grid.cell[2]))


def _plane_fill(shape, grid):
    """(ny, nx) fill fraction of a geometry Shape on the grid's x–y plane (z = 0)."""
    g2 = _plane_grid(grid)
    return np.asarray(shape.fill_fraction(g2), dtype=float)[0]


def _magnet_footprint(system):
    """(ny, nx) boolean: cells of the x–y plane under at least one magnetic cell."""
    return np.asarray(system.magnetic).any(axis=0)


class WriteLine:
    """A heavy-metal write line in the grid's x–y plane, with two electrodes.

    shape       None: a straight stripe along x of ``width`` (m), centred at y = ``center_y``, spanning the
                grid, electrodes at its two ends (current density uniform, I/(w t), no solve); or a
                :mod:`micromag.engine.geometry` Shape (e.g. ``Polygon`` or a rotated ``Box``; evaluated on the plane
                z = 0, sub-cell fill fractions used as conductance weights), or a list of (x, y) polygon
                vertices in m, or a (ny, nx) fill-fraction array. Any non-default shape is solved.
    width       stripe width in m (default line only; default: the grid's full y extent)
    electrodes  (source, drain): each a side of the grid ('-x', '+x', '-y', '+y': the line's cells in that
                first/last column or row), a Shape (the line's cells whose centres are inside it), or a
                boolean (ny, nx) mask. Default ('-x', '+x'). Positive I flows from source to drain.
    heavy_metal the :class:`HeavyMetal` (needed for its thickness and resistivity when converting I to J;
                may also be given to :meth:`current_density`)
    """

    def __init__(self, shape=None, width=None, electrodes=None, heavy_metal=None, center_y=0.0):
        from .geometry import Shape

        self.width = None if width is None else check_number("width", width, lo=0.0, unit="m", lo_open=True)
        self.center_y = check_number("center_y", center_y, unit="m")
        if shape is not None and width is not None:
            raise ValueError("give either shape= (any line) or width= (the default straight stripe), not both")
        if shape is None:
            self.shape = None
        elif isinstance(shape, Shape):
            self.shape = shape
        elif isinstance(shape, np.ndarray) and shape.ndim == 2 and shape.shape[1] != 2:
            self.shape = np.asarray(shape, dtype=float)
        else:
            from .geometry import Polygon

            self.shape = Polygon(shape) if not isinstance(shape, np.ndarray) or shape.ndim == 2 else shape
        if isinstance(self.shape, np.ndarray):
            f = self.shape
            if not np.all(np.isfinite(f)) or f.min() < 0 or f.max() > 1:
                raise ValueError("a fill-fraction array for the line must hold values in [0, 1]")
        if electrodes is None:
            electrodes = ("-x", "+x")
        try:
            electrodes = tuple(electrodes)
        except TypeError:
            raise ValueError(f"electrodes must be a pair (source, drain), got {electrodes!r}") from None
        if len(electrodes) != 2:
            raise ValueError(f"electrodes must be a pair (source, drain), got {len(electrodes)} items")
        for i, e in enumerate(electrodes):
            if isinstance(e, str):
                if e not in _SIDES:
                    raise ValueError(f"electrodes[{i}] must be one of {_SIDES}, a Shape or a (ny, nx) mask, got {e!r}")
            elif not isinstance(e, (Shape, np.ndarray)):
                raise ValueError(f"electrodes[{i}] must be one of {_SIDES}, a Shape or a (ny, nx) mask, got {e!r}")
        if self.shape is None and electrodes not in (("-x", "+x"), ("+x", "-x")):
            raise ValueError("the default stripe runs along x: its electrodes are ('-x', '+x') or ('+x', '-x'); "
                             "for other electrodes give a shape")
        self.electrodes = electrodes
        if heavy_metal is not None and not isinstance(heavy_metal, HeavyMetal):
            raise TypeError(f"heavy_metal must be a HeavyMetal, got {type(heavy_metal).__name__}")
        self.heavy_metal = heavy_metal
        self._cache = {}

    @property
    def analytic(self):
        """True for the default straight stripe (uniform current density, no solve)."""
        return self.shape is None

    # ------------------------------------------------------------------ geometry on the grid
    def fill(self, grid):
        """(ny, nx) fill fraction of the line on the grid's x–y plane."""
        key = ("fill", grid)
        if key not in self._cache:
            if self.shape is None:
                y = grid.axis_coords(1)
                dy = grid.cell[1]
                if self.width is None:
                    fy = np.ones(grid.ny)
                else:
                    lo, hi = self.center_y - self.width / 2, self.center_y + self.width / 2
                    fy = np.clip((np.minimum(y + dy / 2, hi) - np.maximum(y - dy / 2, lo)) / dy, 0.0, 1.0)
                f = np.broadcast_to(fy[:, None], (grid.ny, grid.nx)).copy()
            elif isinstance(self.shape, np.ndarray):
                if self.shape.shape != (grid.ny, grid.nx):
                    raise ValueError(f"the line's fill array has shape {self.shape.shape}, the grid needs (ny, nx) = "
                                     f"{(grid.ny, grid.nx)}")
                f = self.shape.copy()
            else:
                f = _plane_fill(self.shape, grid)
            if not np.any(f > 0):
                raise ValueError("the write line covers no cell of the grid")
            self._cache[key] = f
        return self._cache[key]

    def stripe_width(self, grid):
        """Width of the default stripe in m as given (or the grid's y extent)."""
        return grid.size[1] if self.width is None else self.width

    def _electrode_mask(self, e, grid, conducting):
        ny, nx = grid.ny, grid.nx
        m = np.zeros((ny, nx), dtype=bool)
        if isinstance(e, str):
            if e == "-x":
                m[:, 0] = True
            elif e == "+x":
                m[:, -1] = True
            elif e == "-y":
                m[0, :] = True
            else:
                m[-1, :] = True
        elif isinstance(e, np.ndarray):
            if e.shape != (ny, nx):
                raise ValueError(f"an electrode mask has shape {e.shape}, the grid needs (ny, nx) = {(ny, nx)}")
            m = e.astype(bool).copy()
        else:
            x = grid.axis_coords(0)[None, :]
            y = grid.axis_coords(1)[:, None]
            m = np.asarray(e.inside(x, y, 0.0), dtype=bool)
        return m & conducting

    def check_overlap(self, system):
        """Raise ValueError unless the line's cells overlap the free layer's footprint."""
        f = self.fill(system.grid)
        if not np.any((f > 0) & _magnet_footprint(system)):
            raise ValueError("the write line does not touch the free layer: no cell of the line lies under a "
                             "magnetic cell; move the line or the magnet")

    # ------------------------------------------------------------------ conduction
    def _solve(self, grid, g):
        """Potential V (ny, nx) for unit source potential, sheet conductance g (S) per cell; returns (V, I1)
        with I1 the current (A) for 1 V, and the face currents (Ix (ny, nx-1), Iy (ny-1, nx)) for 1 V."""
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla
        from scipy import ndimage

        ny, nx = g.shape
        dx, dy = grid.cell[0], grid.cell[1]
        cond = g > 0
        src = self._electrode_mask(self.electrodes[0], grid, cond)
        drn = self._electrode_mask(self.electrodes[1], grid, cond)
        if not src.any():
            raise ValueError(f"the source electrode {self.electrodes[0]!r} touches no cell of the line")
        if not drn.any():
            raise ValueError(f"the drain electrode {self.electrodes[1]!r} touches no cell of the line")
        if np.any(src & drn):
            raise ValueError("the two electrodes overlap")
        # face conductances (S): harmonic mean of the two cells' sheet conductances, × (face length / distance)
        def hmean(a, b):
            s = a + b
            out = np.zeros_like(s)
            np.divide(2 * a * b, s, out=out, where=s > 0)
            return out

        gx = hmean(g[:, :-1], g[:, 1:]) * (dy / dx)  # faces between (j, i) and (j, i+1)
        gy = hmean(g[:-1, :], g[1:, :]) * (dx / dy)  # faces between (j, i) and (j+1, i)
        # connected pieces of the line (4-connected through conducting faces)
        lab, nlab = ndimage.label(cond)
        live = np.zeros(nlab + 1, dtype=bool)
        for k in np.unique(lab[src]):
            if k and np.any(drn & (lab == k)):
                live[k] = True
        if not live.any():
            raise ValueError("no conducting path joins the two electrodes through the line")
        active = live[lab] & ~src & ~drn  # unknown potentials
        fixed = np.zeros((ny, nx))
        fixed[src] = 1.0
        idx = -np.ones((ny, nx), dtype=np.int64)
        n = int(active.sum())
        idx[active] = np.arange(n)
        rows, cols, vals = [], [], []
        diag = np.zeros(n)
        rhs = np.zeros(n)
        for (G, a_sl, b_sl) in (
            (gx, (slice(None), slice(None, -1)), (slice(None), slice(1, None))),
            (gy, (slice(None, -1), slice(None)), (slice(1, None), slice(None))),
        ):
            ia, ib = idx[a_sl], idx[b_sl]
            ka = ia >= 0
            kb = ib >= 0
            has = G > 0
            # a unknown
            sel = has & ka
            np.add.at(diag, ia[sel], G[sel])
            both = has & ka & kb
            rows.append(ia[both]); cols.append(ib[both]); vals.append(-G[both])
            rows.append(ib[both]); cols.append(ia[both]); vals.append(-G[both])
            sel_b = has & kb
            np.add.at(diag, ib[sel_b], G[sel_b])
            # couplings to fixed potentials
            fa, fb = fixed[a_sl], fixed[b_sl]
            ea = has & ka & ~kb
            np.add.at(rhs, ia[ea], G[ea] * fb[ea])
            eb = has & kb & ~ka
            np.add.at(rhs, ib[eb], G[eb] * fa[eb])
        V = fixed.copy()
        if n:
            A = sp.csr_matrix((np.concatenate(vals + [diag]),
                               (np.concatenate(rows + [np.arange(n)]), np.concatenate(cols + [np.arange(n)]))),
                              shape=(n, n))
            V[active] = spla.spsolve(A.tocsc(), rhs)
        V[~live[lab]] = 0.0
        Ix = gx * (V[:, :-1] - V[:, 1:])  # A for 1 V, +x direction
        Iy = gy * (V[:-1, :] - V[1:, :])  # +y direction
        # current leaving the source
        I1 = float(self._net_out(src, Ix, Iy))
        if not I1 > 0:
            raise ValueError("no current flows between the electrodes (zero conductance path)")
        return V, I1, Ix, Iy

    @staticmethod
    def _net_out(mask, Ix, Iy):
        """Net current (A) leaving the cells in ``mask`` through their faces."""
        out = 0.0
        out += np.sum(Ix[mask[:, :-1] & ~mask[:, 1:]]) - np.sum(Ix[~mask[:, :-1] & mask[:, 1:]])
        out += np.sum(Iy[mask[:-1, :] & ~mask[1:, :]]) - np.sum(Iy[~mask[:-1, :] & mask[1:, :]])
        return out

    def _sheet(self, grid, hm, shunt):
        f = self.fill(grid)
        g = f * hm.sheet_conductance
        gF = None
        if shunt is not None:
            try:
                rho_F, t_F, fm_fill = shunt
            except (TypeError, ValueError):
                raise ValueError("shunt must be (fm_resistivity Ω·m, fm_thickness m, fm_fill (ny, nx) or a System)") from None
            rho_F = check_number("fm_resistivity", rho_F, lo=0.0, unit="Ω·m", lo_open=True)
            t_F = check_number("fm_thickness", t_F, lo=0.0, unit="m", lo_open=True)
            if hasattr(fm_fill, "magnetic"):
                fm = np.asarray(fm_fill.fill * fm_fill.magnetic).max(axis=0)
            else:
                fm = np.asarray(fm_fill, dtype=float)
                if fm.shape != (grid.ny, grid.nx):
                    raise ValueError(f"shunt fm_fill has shape {fm.shape}, the grid needs (ny, nx) = {(grid.ny, grid.nx)}")
            gF = np.where(f > 0, fm, 0.0) * (t_F / rho_F)
            g = g + gF
        return g

    def solve(self, grid, I, heavy_metal=None, shunt=None):
        """Full conduction solution for a current I (A): dict with V (V), the HM current density J (2, ny, nx)
        A/m², the face currents Ix (ny, nx−1) and Iy (ny−1, nx) in A (sheet totals, HM + shunting FM), and R
        (Ω) between the electrodes."""
        hm = self.resolve_heavy_metal(heavy_metal)
        I = check_number("I", I, unit="A")
        g = self._sheet(grid, hm, shunt)
        V1, I1, Ix1, Iy1 = self._solve(grid, g)
        s = I / I1  # volts per unit-potential solution
        V = V1 * s
        Ix, Iy = Ix1 * s, Iy1 * s
        J = self._cell_field(grid, V, g, hm)
        return {"V": V, "J": J, "Ix": Ix, "Iy": Iy, "R": 1.0 / I1}

    def _cell_field(self, grid, V, g, hm):
        """J = E/ρ_HM at cell centres, E from the face fields (mean of the conducting faces per axis)."""
        dx, dy = grid.cell[0], grid.cell[1]
        cond = g > 0
        J = np.zeros((2, grid.ny, grid.nx))
        for axis, (d, comp) in enumerate(((dx, 0), (dy, 1))):
            ax = 1 if axis == 0 else 0
            Ef = -np.diff(V, axis=ax) / d
            both = cond[:, :-1] & cond[:, 1:] if ax == 1 else cond[:-1, :] & cond[1:, :]
            Ef = np.where(both, Ef, 0.0)
            w = both.astype(float)
            s = np.zeros_like(V)
            c = np.zeros_like(V)
            if ax == 1:
                s[:, :-1] += Ef; s[:, 1:] += Ef
                c[:, :-1] += w; c[:, 1:] += w
            else:
                s[:-1, :] += Ef; s[1:, :] += Ef
                c[:-1, :] += w; c[1:, :] += w
            E = np.zeros_like(V)
            np.divide(s, c, out=E, where=c > 0)
            J[comp] = np.where(cond, E, 0.0) / hm.resistivity
        return J

    def resolve_heavy_metal(self, heavy_metal=None):
        """The HeavyMetal the line is made of: ``heavy_metal`` if given, else the line's own."""
        hm = heavy_metal if heavy_metal is not None else self.heavy_metal
        if hm is None:
            raise ValueError("the line needs its HeavyMetal (thickness, resistivity): pass heavy_metal=")
        if not isinstance(hm, HeavyMetal):
            raise TypeError(f"heavy_metal must be a HeavyMetal, got {type(hm).__name__}")
        return hm

    def current_density(self, grid, I=None, J=None, heavy_metal=None, shunt=None, system=None):
        """In-plane current density in the HM, A/m², shape (2, ny, nx) (x and y components; 0 off the line).

        Give exactly one of ``I`` (total current in A) or ``J`` (for the default stripe: its uniform current
        density in A/m²; for other shapes: the mean |J| over the free layer's footprint, which needs
        ``system``). ``shunt=(rho_F, t_F, fm_fill)`` adds the FM's parallel conductance. With ``system`` the
        line is first checked to touch the free layer.
        """
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a micromag.Grid, got {type(grid).__name__}")
        if (I is None) == (J is None):
            raise ValueError("give exactly one of I (A) or J (A/m²)")
        if system is not None:
            if system.grid != grid:
                raise ValueError("system was built on another grid")
            self.check_overlap(system)
        if self.analytic and shunt is None:
            f = self.fill(grid)
            out = np.zeros((2, grid.ny, grid.nx))
            sgn = 1.0 if self.electrodes[0] == "-x" else -1.0
            if J is not None:
                out[0] = sgn * check_number("J", J, unit="A/m²") * (f > 0)
            else:
                hm = self.resolve_heavy_metal(heavy_metal)
                out[0] = sgn * check_number("I", I, unit="A") / (self.stripe_width(grid) * hm.thickness) * (f > 0)
            return out
        if I is not None:
            return self.solve(grid, I, heavy_metal, shunt)["J"]
        if system is None:
            raise ValueError("J= for a solved line means the mean |J| under the free layer: pass system=")
        J = check_number("J", J, unit="A/m²")
        Ju = self.solve(grid, 1.0, heavy_metal, shunt)["J"]
        return Ju * (J / mean_magnitude(Ju, system))

    def pattern(self, system, heavy_metal=None, shunt=None):
        """The line's current-density pattern normalized to a mean |J| of 1 over the free layer's footprint
        (dimensionless, (2, ny, nx)): a drive J in A/m² times this is the local current density."""
        grid = system.grid
        self.check_overlap(system)
        if self.analytic and shunt is None:
            return self.current_density(grid, J=1.0)
        hm = heavy_metal if heavy_metal is not None else self.heavy_metal
        if hm is None and shunt is None:  # without shunting the pattern does not depend on ρ or t_HM
            hm = HeavyMetal(theta_sh=0.0, resistivity=1e-7, thickness=1e-9)
        hm = self.resolve_heavy_metal(hm)
        Ju = self.solve(grid, 1.0, hm, shunt)["J"]
        return Ju / mean_magnitude(Ju, system)


def mean_magnitude(Jfield, system):
    """Fill-weighted mean of |J| over the free layer's footprint (A/m² for a J field)."""
    mag = np.asarray(system.fill * system.magnetic)
    w = mag.sum(axis=0)  # (ny, nx) weight: magnet thickness covering each column
    Jmag = np.sqrt(np.sum(np.asarray(Jfield)[:2] ** 2, axis=0))
    tot = float(w.sum())
    val = float((Jmag * w).sum()) / tot if tot > 0 else 0.0
    if not val > 0:
        raise ValueError("the write line does not touch the free layer: no current flows under a magnetic cell")
    return val
