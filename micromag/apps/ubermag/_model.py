"""Translation of a ``micromagneticmodel.System`` into a micromag :class:`~micromag.Simulation`.

Units: Ubermag gives fields H in A/m, γ0 in m/(A·s), energies in J; micromag works with B = μ0 H in T and
γ = γ0/μ0 in rad/(s·T). Array layout: discretisedfield's ``Field.array`` is (nx, ny, nz, dim), micromag's
(dim, nz, ny, nx).

Parameters given per cell (a number, a dict per subregion, a ``discretisedfield.Field`` or a function of
the position) become micromag regions: every distinct combination of the cell parameters (Ms, A, α, γ,
Ku1 and its axis, Kc1 and its axes, D) is one region with its :class:`~micromag.Material`.

Term by term (what is not listed raises NotImplementedError or ValueError naming it):

- ``Exchange(A)``: micromag's exchange (the harmonic mean of A between cells of different A, as OOMMF's
  Oxs_ExchangePtwise and MuMax3). For A given as a dict per subregion, the coupling between two
  subregions is OOMMF's Oxs_Exchange6Ngbr rule: ``A["r1:r2"]`` if given, else ``A["default"]`` (0 if
  absent); the difference to the harmonic mean is added on those faces (:class:`_terms.FaceCoupling`).
- ``Demag()``: the Newell-tensor demag (``asymptotic_radius`` is OOMMF's accuracy setting; micromag picks
  its own far-field crossover). Periodic boundaries (``Mesh(bc="x")`` etc.) sum ``pbc_images`` images per
  side (default 10) in the demag field; exchange, DMI and the Zhang–Li gradient couple the last and first
  cells along a periodic axis (explicit ``"r1:r2"`` couplings between subregions refuse PBC).
- ``Zeeman(H, func, f, t0, dt, tcl_strings)``: B = μ0 H, several terms summed, time dependence from
  :mod:`._timefunc`.
- ``UniaxialAnisotropy(K | K1, K2, u)``: Ku1 = K (K1), Ku2 = K2 (micromag's own uniaxial term, every backend).
  Its energy is reported with OOMMF's zero: K1 sin²θ = K1 (1 − (m·u)²) for K1 > 0 (Oxs_UniaxialAnisotropy's
  easy axis), micromag's −K1 (m·u)² plus K1 per magnetic cell; for K1 ≤ 0 both are |K1| (m·u)².
- ``CubicAnisotropy(K, u1, u2)``: Kc1 = K (K > 0: the axes are easy, as in OOMMF and MuMax3).
- ``DMI(D, crystalclass)``: micromag's DMI term (:class:`micromag.engine.terms.dmi.DMI`) of that class:
  Cnv_x/y/z (and legacy Cnv) as interfacial D_ind = −D (Ubermag/OOMMF write w = D(m·∇m_n − m_n ∇·m),
  MuMax3 and micromag the opposite sign), T and O as bulk D_bulk = D (w = D m·(∇×m)), D2d_x/y/z (and
  legacy D2d) as D_d2d = D; dict pairs as for exchange (class Cnv_z only). With an Exchange term, the
  free edges carry the DMI boundary condition 2A ∂m/∂n = m × W (MuMax3's ghost cells); without one the
  DMI energy alone (OOMMF's discretization) is minimized, and the RelaxDriver refuses (RuntimeError, as
  MuMax3, whose relax needs the exchange for the boundary condition).
- ``RKKY(sigma, sigma2, subregions)``: :class:`_terms.TwoSurfaceExchange` between the facing surfaces.
- ``Precession(gamma0)``, ``Damping(alpha)``: γ = γ0/μ0 and α per cell. Without Precession the LLG runs
  without its precession term as OOMMF's ``do_precess 0`` (``llg.precession_term = False``, every backend):
  dm/dt = −γα/(1+α²) m × (m × B) + (T + α m × T)/(1+α²) with OOMMF's default γ0 = 2.211e5 m/(A·s) and the
  spin-transfer torques T as with precession. A thermal field then has the temperature scaled by
  (1+α²)/α² (uniform α), so that the damping-only equation samples Boltzmann's distribution at T: Brown's
  variance is set for the full LLG, whose precession term carries 1/(1+α²) of the noise's diffusion.
- ``ZhangLi(u, beta)``: micromag's Zhang–Li torque with ξ = β and P = 1, the current density that gives
  the Ubermag velocity u (m/s, positive along the electron flow, the direction a domain wall moves):
  J = −u e Ms (1 + β²) / μB (MuMax3's u = μB P J / (e Ms (1 + ξ²))).
- ``Slonczewski(J, mp, P, Lambda, eps_prime)``: micromag's Slonczewski torque (the same formula, with
  β = ħ J / (μ0 e t Ms) and t the sample thickness along z); cells grouped by (P, Λ, ε′, sign J).
- ``system.T``: Brown's thermal field with micromag's fixed-step stochastic Heun.
- fixed subregions: their cells keep m (γ → 1e-30 rad/(s·T) and α = 0 there in time drives, frozen in the
  minimizer).
"""
from __future__ import annotations

import math
import numbers
import warnings

import discretisedfield as df
import micromagneticmodel as mm
import numpy as np

from ...engine.grid import Grid
from ...engine.materials import Material
from ...engine.simulation import Simulation
from ...engine.terms.dmi import DMI, crystal_class
from . import _terms
from ._timefunc import apply, attr, prefactor

MU0 = mm.consts.mu0
GAMMA0_DEFAULT = 2.211e5  # m/(A s): OOMMF's default gamma_G (used when there is no Precession term)
FROZEN_GAMMA = 1e-30  # rad/(s T): |dm/dt| <= 1e-30 |B| for fixed spins, below any float64 resolution of m
PBC_IMAGES = 10
_E, _HBAR, _MUB = 1.602176634e-19, 1.054571817e-34, 9.2740100783e-24  # C, J s, J/T (CODATA 2018)


def _significant(a, digits):
    """``a`` rounded to ``digits`` significant decimal digits (0 stays 0)."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore"):
        e = np.where(a != 0, np.floor(np.log10(np.abs(np.where(a != 0, a, 1.0)))), 0.0)
    scale = 10.0 ** (digits - 1 - e)
    return np.round(a * scale) / scale


def to_mm(a):
    """discretisedfield (nx, ny, nz, d) -> micromag (d, nz, ny, nx); a (nx, ny, nz, 1) scalar -> (nz, ny, nx)."""
    a = np.asarray(a, dtype=float)
    out = np.transpose(a, (3, 2, 1, 0))
    return out[0].copy() if out.shape[0] == 1 else out.copy()


def to_df(a):
    """micromag (d, nz, ny, nx) or (nz, ny, nx) -> discretisedfield (nx, ny, nz, d)."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 3:
        a = a[None]
    return np.ascontiguousarray(np.transpose(a, (3, 2, 1, 0)))


class Model:
    """An Ubermag system as a micromag Simulation, plus the bookkeeping the drivers report from.

    Parameters
    ----------
    system : micromagneticmodel.System
    backend : 'auto' (the GPU when there is one and every term has a kernel there, else the CPU), 'cpu',
        'gpu' or 'emulate'.
    fixed_subregions : names of mesh subregions whose cells keep their magnetization.
    dynamics : build the dynamics terms (Precession, Damping, STT, temperature); False for minimization.
    integrator, tol, dt, dt_min, dt_max : for the Simulation (see :class:`micromag.Simulation`).
    pbc_images : periodic images per side along periodic axes.
    """

    def __init__(self, system, backend="auto", fixed_subregions=None, dynamics=True, integrator="rk45",
                 tol=1e-5, dt=1e-13, dt_min=1e-18, dt_max=1e-11, pbc_images=PBC_IMAGES):
        m = system.m
        if not isinstance(m, df.Field) or m.nvdim != 3:
            raise ValueError("system.m must be a discretisedfield.Field with nvdim=3")
        self.system = system
        self.mesh = mesh = m.mesh
        self.n = tuple(int(v) for v in mesh.n)
        self.shape = (self.n[2], self.n[1], self.n[0])
        self.dynamics = dynamics
        self.cpu_only = []  # why the GPU backend cannot run this model (terms without a kernel)
        self.notes = []
        self._labels()
        # |M| per cell carries round-off of the stored components (~1e-16 relative); snapped to 12 digits
        # so that one Ms is one value (one region, a uniform current for a uniform u)
        Ms = _significant(to_mm(m.norm.array), 12)
        if not np.all(np.isfinite(Ms)) or Ms.max() <= 0:
            raise ValueError("the norm of system.m (Ms, A/m) must be finite and > 0 somewhere")
        self.Ms = Ms
        self.magnetic = Ms > 0
        self.frozen = self._frozen(fixed_subregions)
        pbc = self._pbc(pbc_images)
        cell = tuple(float(c) for c in mesh.cell)
        if max(cell) > 1e-3:  # OOMMF takes any size (a 1 m macrospin cell in Ubermag's tutorials)
            warnings.warn(f"cell size {cell} m: cells larger than 1 mm (micromag computes them as given; "
                          "check that the mesh is in metres)", UserWarning, stacklevel=3)
        self.grid = Grid(n=self.n, cell=cell, pbc=pbc, large_cells=True)
        self.V = self.grid.cell_volume
        self.params = {}
        self.extra = []  # (micromag term name, factory(sim)) of terms added after the Simulation is built
        self.parts = {}  # Ubermag term name -> micromag term names whose energies/fields make it up
        self.energy_offset = {}  # Ubermag term name -> constant energy density (J/m³) of OOMMF's zero
        self.zeeman = []  # (Ubermag name, B0 in T, prefactor g or None, kind)
        self.has_demag = False
        self._energy_terms(system)
        self.precession = True
        self.stt = []  # (name, factory(sim))
        self.drive_columns = []  # (table column, unit, value(t)) of the spin-transfer drives, as oommfc's
        if dynamics:
            self._dynamics(system)
        else:
            self._gamma_alpha(None, None)
        self.sim = self._build(backend, integrator, tol, dt, dt_min, dt_max)

    # ------------------------------------------------------------------ cells and subregions
    def cellvalues(self, value, nvdim, what):
        """A parameter on the cells, micromag layout: (nz, ny, nx) or (3, nz, ny, nx)."""
        mesh = self.mesh
        if isinstance(value, df.Field):
            if tuple(value.mesh.n) != self.n:
                raise ValueError(f"{what}: the field is on a mesh of {tuple(value.mesh.n)} cells, system.m on {self.n}")
            if value.nvdim != nvdim:
                raise ValueError(f"{what}: expected a field with nvdim={nvdim}, got nvdim={value.nvdim}")
            a = value.array
        else:
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if ":" not in k}
                unknown = [k for k in value if k != "default" and k not in mesh.subregions]
                if unknown:
                    raise ValueError(f"{what}: {unknown} are not subregions of the mesh ({list(mesh.subregions)})")
                value.setdefault("default", 0 if nvdim == 1 else (0, 0, 0))
            try:
                a = df.Field(mesh, nvdim=nvdim, value=value).array
            except Exception as exc:
                raise ValueError(f"{what}: cannot make a per-cell value of {value!r} ({exc})") from None
        a = to_mm(a)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} must be finite in every cell")
        return a

    def _labels(self):
        """Subregion label per cell: 0 none, k the k-th subregion (later subregions win where they overlap)."""
        names = list(self.mesh.subregions)
        self.subregion_names = names
        if names:
            self.labels = np.rint(self.cellvalues({n: k + 1 for k, n in enumerate(names)} | {"default": 0},
                                                  1, "subregions")).astype(int)
        else:
            self.labels = np.zeros(self.shape, int)

    def _frozen(self, fixed):
        frozen = np.zeros(self.shape, bool)
        for name in fixed or []:
            if name not in self.subregion_names:
                raise ValueError(f"fixed_subregions: {name!r} is not a subregion of the mesh ({self.subregion_names})")
            frozen |= self.labels == self.subregion_names.index(name) + 1
        return frozen & self.magnetic

    def _pbc(self, images):
        bc = str(getattr(self.mesh, "bc", "") or "")
        periodic = [ax for ax in "xyz" if ax in bc.lower() and bc.lower() not in ("neumann", "dirichlet")]
        if periodic and (int(images) != images or images < 1):
            raise ValueError(f"pbc_images must be an integer >= 1, got {images!r}")
        self.periodic = periodic
        return tuple(int(images) if ax in periodic else 0 for ax in "xyz")

    # ------------------------------------------------------------------ energy terms
    def _one(self, system, cls):
        terms = system.energy.get(type=cls)
        if len(terms) > 1:
            raise NotImplementedError(f"micromag takes one {cls.__name__} term per system (got {len(terms)}); "
                                      "only Zeeman terms may be repeated")
        return terms[0] if terms else None

    def _energy_terms(self, system):
        shape = self.shape
        p = self.params
        p["A"] = np.zeros(shape)
        p["Ku1"] = np.zeros(shape)
        p["Ku2"] = np.zeros(shape)
        p["u"] = np.zeros((3,) + shape)
        p["u"][2] = 1.0
        p["Kc1"] = np.zeros(shape)
        p["c1"] = np.zeros((3,) + shape)
        p["c1"][0] = 1.0
        p["c2"] = np.zeros((3,) + shape)
        p["c2"][1] = 1.0
        p["D"] = np.zeros(shape)
        known = (mm.Exchange, mm.Demag, mm.Zeeman, mm.UniaxialAnisotropy, mm.CubicAnisotropy, mm.DMI, mm.RKKY)
        for term in system.energy:
            if not isinstance(term, known):
                raise NotImplementedError(f"micromag has no {type(term).__name__} term")
        dA, dD = {}, {}
        ex = self._one(system, mm.Exchange)
        if ex is not None:
            p["A"] = self.cellvalues(ex.A, 1, "Exchange.A")
            if np.any(p["A"][self.magnetic] < 0):
                raise ValueError("Exchange.A must be >= 0 J/m inside subregions (negative values only as "
                                 "'r1:r2' couplings between subregions)")
            self.parts[ex.name] = ["exchange"]
            if isinstance(ex.A, dict):
                dA = self._pair_corrections(ex.A, p["A"], "A", harmonic=True)
                if dA:
                    self.parts[ex.name].append("exchange_faces")
        dm = self._one(system, mm.Demag)
        if dm is not None:
            self.has_demag = True
            self.parts[dm.name] = ["demag"]
        ua = self._one(system, mm.UniaxialAnisotropy)
        if ua is not None:
            K1 = attr(ua, "K")
            K1 = attr(ua, "K1") if K1 is None else K1
            if K1 is None:
                raise ValueError("UniaxialAnisotropy needs K (or K1) in J/m³")
            p["Ku1"] = self.cellvalues(K1, 1, "UniaxialAnisotropy.K")
            u = self.cellvalues(ua.u, 3, "UniaxialAnisotropy.u")
            norm = np.sqrt((u * u).sum(axis=0))
            if np.any((norm == 0) & (p["Ku1"] != 0) & self.magnetic):
                raise ValueError("UniaxialAnisotropy.u must be non-zero where K != 0")
            p["u"] = np.where(norm > 0, u / np.where(norm > 0, norm, 1), p["u"])
            self.parts[ua.name] = ["anisotropy_uniaxial"]
            # OOMMF's zero of the easy-axis energy (module docstring); J/m³ per cell
            self.energy_offset[ua.name] = np.where(self.magnetic & (p["Ku1"] > 0), p["Ku1"], 0.0)
            K2 = attr(ua, "K2")
            if K2 is not None:  # micromag's Ku2: −K2 (m·u)⁴ about the same axis, on every backend
                p["Ku2"] = self.cellvalues(K2, 1, "UniaxialAnisotropy.K2")
        ca = self._one(system, mm.CubicAnisotropy)
        if ca is not None:
            p["Kc1"] = self.cellvalues(ca.K, 1, "CubicAnisotropy.K")
            c1 = self.cellvalues(ca.u1, 3, "CubicAnisotropy.u1")
            c2 = self.cellvalues(ca.u2, 3, "CubicAnisotropy.u2")
            n1, n2 = np.sqrt((c1 * c1).sum(0)), np.sqrt((c2 * c2).sum(0))
            use = (p["Kc1"] != 0) & self.magnetic
            if np.any(use & ((n1 == 0) | (n2 == 0))):
                raise ValueError("CubicAnisotropy.u1 and u2 must be non-zero where K != 0")
            c1 = np.where(n1 > 0, c1 / np.where(n1 > 0, n1, 1), p["c1"])
            c2 = np.where(n2 > 0, c2 / np.where(n2 > 0, n2, 1), p["c2"])
            if np.any(use & (np.abs((c1 * c2).sum(0)) > 1e-6)):
                raise ValueError("CubicAnisotropy.u1 and u2 must be orthogonal")
            p["c1"] = np.where(use, c1, p["c1"])
            p["c2"] = np.where(use, c2, p["c2"])
            self.parts[ca.name] = ["anisotropy_cubic"]
        dmi = self._one(system, mm.DMI)
        self.dmi_class = None
        self.dmi_without_exchange = False
        if dmi is not None:
            cc = str(dmi.crystalclass)
            param, axis, sign = crystal_class(cc)  # ValueError naming the valid classes
            self.dmi_param = param
            self.dmi_class = {"D_ind": f"Cnv_{'xyz'[axis] if axis is not None else 'z'}", "D_bulk": "T",
                              "D_d2d": f"D2d_{'xyz'[axis] if axis is not None else 'z'}"}[param]
            # micromag's constant of the class: −D for Cnv (MuMax3's Dind sign), D for T, O and D2d
            p["D"] = sign * self.cellvalues(dmi.D, 1, "DMI.D")
            self.dmi_without_exchange = ex is None or not np.any(p["A"][self.magnetic])
            self.parts[dmi.name] = ["dmi"]
            if isinstance(dmi.D, dict):
                signed = {k: sign * v for k, v in dmi.D.items()}
                dD = self._pair_corrections(signed, p["D"], "D", harmonic=False)
                if dD and self.dmi_class != "Cnv_z":
                    raise NotImplementedError(f"DMI {cc}: explicit 'r1:r2' couplings between subregions are "
                                              "implemented for the interfacial class Cnv_z only")
                if dD:
                    self.parts[dmi.name].append("dmi_faces")
        if dA or dD:
            if self.periodic:
                raise NotImplementedError("explicit 'r1:r2' couplings between subregions with periodic boundaries")
            if dA:
                self.extra.append(("exchange_faces", lambda sim, dA=dA: _terms.FaceCoupling(sim.system, dA=dA)))
                self.cpu_only.append("Exchange with explicit couplings between subregions")
            if dD:
                self.extra.append(("dmi_faces", lambda sim, dD=dD: _terms.FaceCoupling(sim.system, dD=dD)))
                self.cpu_only.append("DMI with explicit couplings between subregions")
        for rk in system.energy.get(type=mm.RKKY):
            self._rkky(rk)
        for z in system.energy.get(type=mm.Zeeman):
            self._zeeman(z)

    def _pair_corrections(self, value, cellvals, what, harmonic):
        """Face corrections {axis: array} for the couplings between subregions that OOMMF applies (the
        'r1:r2' entry, else the dict's default, else 0) minus micromag's own (harmonic mean for A, mean for D)."""
        names = self.subregion_names
        pair = {}
        default = float(value.get("default", 0.0))
        for key, v in value.items():
            if ":" in key:
                a, b = key.split(":")
                if a not in names or b not in names:
                    raise ValueError(f"{what}[{key!r}]: {a!r} or {b!r} is not a subregion of the mesh ({names})")
                pair[frozenset((names.index(a) + 1, names.index(b) + 1))] = float(v)
        out = {}
        lab, mag = self.labels, self.magnetic
        for axis, ax in ((0, 2), (1, 1), (2, 0)):  # grid axis, array axis of (nz, ny, nx)
            if self.n[axis] < 2 or (what == "D" and axis == 2):
                continue
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[ax], hi[ax] = slice(None, -1), slice(1, None)
            lo, hi = tuple(lo), tuple(hi)
            la, lb = lab[lo], lab[hi]
            both = mag[lo] & mag[hi] & (la != lb)
            if not both.any():
                continue
            want = np.full(la.shape, default)
            for (k1k2), v in pair.items():
                ks = tuple(k1k2) if len(k1k2) == 2 else tuple(k1k2) * 2
                sel = ((la == ks[0]) & (lb == ks[1])) | ((la == ks[1]) & (lb == ks[0]))
                want[sel] = v
            a1, a2 = cellvals[lo], cellvals[hi]
            if harmonic:
                s = a1 + a2
                own = np.divide(2 * a1 * a2, s, out=np.zeros_like(s), where=s > 0)
            else:
                own = 0.5 * (a1 + a2)
            d = np.where(both, want - own, 0.0)
            if np.any(d):
                out[axis] = d
        return out

    def _rkky(self, rk):
        subs = list(rk.subregions)
        if len(subs) != 2 or any(s not in self.subregion_names for s in subs):
            raise ValueError(f"RKKY.subregions must name two subregions of the mesh ({self.subregion_names}), got {subs}")
        r1, r2 = (self.mesh.subregions[s] for s in subs)
        direction, first, second = r1.facing_surface(r2)
        axis = "xyz".index(direction)
        ax = 2 - axis
        k1 = self.subregion_names.index(subs[0] if first == r1 else subs[1]) + 1
        k2 = self.subregion_names.index(subs[1] if first == r1 else subs[0]) + 1
        in1, in2 = (self.labels == k1) & self.magnetic, (self.labels == k2) & self.magnetic
        # surface 1: the last cell of region 1 along the axis in each column; surface 2: the first of region 2
        n = self.shape[ax]
        idx = np.arange(n).reshape([-1 if a == ax else 1 for a in range(3)])
        last1 = np.where(in1, idx, -1).max(axis=ax)
        first2 = np.where(in2, idx, n).min(axis=ax)
        ok = (last1 >= 0) & (first2 < n) & (first2 > last1)
        cols = np.nonzero(ok)
        def full(pos):
            out = [None, None, None]
            others = [a for a in range(3) if a != ax]
            for a, c in zip(others, cols):
                out[a] = c
            out[ax] = pos[cols]
            return tuple(out)
        i1, i2 = full(last1), full(first2)
        sigma = float(rk.sigma)
        sigma2 = float(attr(rk, "sigma2", 0.0) or 0.0)
        self.extra.append(("rkky", lambda sim: _terms.TwoSurfaceExchange(sim.system, (i1, i2), axis, sigma, sigma2)))
        self.parts[rk.name] = ["rkky"]
        self.cpu_only.append("RKKY")

    def _zeeman(self, z):
        H = z.H
        if isinstance(H, (df.Field, dict)) or callable(H):
            B0 = MU0 * self.cellvalues(H, 3, f"Zeeman {z.name}.H")
            if not isinstance(H, df.Field) and np.ptp(B0.reshape(3, -1), axis=1).max() == 0:
                B0 = B0[:, 0, 0, 0].copy()
        else:
            B0 = MU0 * np.asarray(H, dtype=float).reshape(3)
        g = prefactor(z, f"Zeeman {z.name}")
        kind = "factor"
        tcl = attr(z, "tcl_strings")
        if isinstance(tcl, dict) and g is not None and not callable(attr(z, "func")) and attr(z, "func") is None:
            energy = tcl.get("energy", "Oxs_ScriptUZeeman")
            if energy == "Oxs_ScriptUZeeman":
                kind = "uzeeman"
            elif energy == "Oxs_TransformZeeman":
                kind = tcl.get("type", "identity")
                if kind not in ("general", "diagonal", "identity"):
                    raise ValueError(f"Zeeman {z.name}: Oxs_TransformZeeman type must be general, diagonal or identity")
            else:
                raise NotImplementedError(f"Zeeman {z.name}: tcl_strings energy {energy!r} (micromag evaluates "
                                          "Oxs_ScriptUZeeman and Oxs_TransformZeeman scripts)")
        self.zeeman.append((z.name, B0, g, kind))
        self.parts[z.name] = []

    # ------------------------------------------------------------------ dynamics
    def _gamma_alpha(self, gamma0, alpha):
        shape = self.shape
        gamma = np.full(shape, GAMMA0_DEFAULT / MU0) if gamma0 is None else gamma0 / MU0
        alpha = np.zeros(shape) if alpha is None else alpha
        if np.any(gamma < 0) or np.any(alpha < 0):
            raise ValueError("Precession.gamma0 and Damping.alpha must be >= 0")
        gamma = np.where(gamma > 0, gamma, FROZEN_GAMMA)
        gamma = np.where(self.frozen, FROZEN_GAMMA, gamma)
        alpha = np.where(self.frozen, 0.0, alpha)
        self.params["gamma"], self.params["alpha"] = gamma, alpha

    def _dynamics(self, system):
        dyn = system.dynamics
        prec = dyn.get(type=mm.Precession)
        damp = dyn.get(type=mm.Damping)
        known = (mm.Precession, mm.Damping, mm.ZhangLi, mm.Slonczewski)
        for term in dyn:
            if not isinstance(term, known):
                raise NotImplementedError(f"micromag has no {type(term).__name__} dynamics term")
        self.precession = bool(prec)
        gamma0 = self.cellvalues(prec[0].gamma0, 1, "Precession.gamma0") if prec else None
        alpha = self.cellvalues(damp[0].alpha, 1, "Damping.alpha") if damp else None
        self._gamma_alpha(gamma0, alpha)
        zl, sl = dyn.get(type=mm.ZhangLi), dyn.get(type=mm.Slonczewski)
        if zl:
            self._zhangli(zl[0])
        if sl:
            self._slonczewski(sl[0])
        self.temperature_factor = 1.0
        if system.T and not self.precession:
            a = self.params["alpha"][self.magnetic & ~self.frozen]
            if a.size and np.ptp(a) > 0:
                raise NotImplementedError("temperature without Precession with a non-uniform Damping.alpha: the "
                                          "thermal field's temperature factor (1+α²)/α² must be one number")
            a0 = float(a[0]) if a.size else 0.0
            # no damping: no noise either (Brown's variance ∝ α), as with precession
            self.temperature_factor = (1 + a0**2) / a0**2 if a0 > 0 else 1.0

    def _zhangli(self, z):
        beta = float(z.beta)
        if not math.isfinite(beta) or beta < 0:
            raise ValueError(f"ZhangLi.beta must be a finite number >= 0, got {z.beta!r}")
        u = z.u
        scalar = isinstance(u, numbers.Real) or (isinstance(u, df.Field) and u.nvdim == 1) or (
            isinstance(u, dict) and all(isinstance(v, numbers.Real) for v in u.values()))
        if scalar:
            ux = self.cellvalues(u, 1, "ZhangLi.u")
            uvec = np.stack([ux, np.zeros_like(ux), np.zeros_like(ux)])  # OOMMF's scalar u flows along x
        else:
            uvec = self.cellvalues(u, 3, "ZhangLi.u")
        # J = −u e Ms (1 + β²) / μB (P = 1), zero in fixed cells
        J = -uvec * _E * self.Ms * (1 + beta**2) / _MUB
        J = np.where(self.frozen | ~self.magnetic, 0.0, J)
        g = prefactor(z, "ZhangLi")
        flat = J.reshape(3, -1)[:, self.magnetic.reshape(-1)]
        uniform = flat.size and np.all(flat == flat[:, :1]) and not self.frozen.any()
        if g is None:
            Jarg = J
        elif uniform:
            J0 = flat[:, 0]
            Jarg = [(lambda t, c=c: float(J0[c]) * float(g(t)[0])) for c in range(3)]
        else:
            raise NotImplementedError("ZhangLi: a time-dependent u that also varies between cells (or with fixed "
                                      "subregions): micromag's Zhang–Li term takes a spatial current or a "
                                      "time-dependent uniform one")
        from ...engine.terms.zhangli import ZhangLiSTT

        u_mean = float(np.sqrt((uvec * uvec).sum(0))[self.magnetic].mean())  # m/s
        self.drive_columns.append(("average_u", "m/s", lambda t, g=g: u_mean * (1.0 if g is None else float(g(t)[0]))))

        self.stt.append(("zhangli", lambda sim: ZhangLiSTT(sim.system, Jarg, P=1.0, xi=beta)))

    def _slonczewski(self, s):
        J = self.cellvalues(s.J, 1, "Slonczewski.J")
        mp = self.cellvalues(s.mp, 3, "Slonczewski.mp")
        P = self.cellvalues(s.P, 1, "Slonczewski.P")
        lam_v = attr(s, "Lambda")
        if isinstance(lam_v, dict) and "default" not in lam_v:
            lam_v = dict(lam_v, default=1.0)  # as oommfc: Λ = 1 where no subregion sets it
        Lam = self.cellvalues(lam_v, 1, "Slonczewski.Lambda")
        eps = attr(s, "eps_prime", 0.0)
        eps = self.cellvalues(0.0 if eps is None else eps, 1, "Slonczewski.eps_prime")
        on = (J != 0) & self.magnetic & ~self.frozen
        if np.any((P[on] < 0) | (P[on] > 1)) or np.any(Lam[on] <= 0):
            raise ValueError("Slonczewski: P must lie in [0, 1] and Lambda > 0 where J != 0")
        nrm = np.sqrt((mp * mp).sum(0))
        if np.any(nrm[on] == 0):
            raise ValueError("Slonczewski.mp must be non-zero where J != 0")
        mp = np.where(nrm > 0, mp / np.where(nrm > 0, nrm, 1), np.array([0, 0, 1.0])[:, None, None, None])
        g = prefactor(s, "Slonczewski")
        J_mean = float(J[self.magnetic].mean())  # A/m²
        self.drive_columns.append(("average_J", "A/m²", lambda t, g=g: J_mean * (1.0 if g is None else float(g(t)[0]))))
        keys = np.stack([P, Lam, eps, np.sign(J)], axis=-1)[on]
        groups = np.unique(keys, axis=0) if keys.size else np.zeros((0, 4))
        if len(groups) > 1:
            self.cpu_only.append("Slonczewski with P, Lambda or eps_prime varying between cells")
        from ...engine.terms.stt import SlonczewskiSTT

        for k, (Pk, Lk, ek, sk) in enumerate(groups):
            cells = on & (P == Pk) & (Lam == Lk) & (eps == ek) & (np.sign(J) == sk)
            Jmax = float(np.abs(J[cells]).max())
            mask = np.where(cells, np.abs(J) / Jmax, 0.0)
            J0 = sk * Jmax
            Jd = J0 if g is None else (lambda t, J0=J0: J0 * float(g(t)[0]))
            self.stt.append((f"stt{k}" if k else "stt", lambda sim, Jd=Jd, Pk=Pk, Lk=Lk, ek=ek, mask=mask:
                             SlonczewskiSTT(sim.system, Jd, p=mp, P=float(Pk), Lambda=float(Lk),
                                            eps_prime=float(ek), mask=mask)))

    # ------------------------------------------------------------------ the Simulation
    def _materials(self):
        """Region map and {region: Material} from the distinct parameter combinations of the cells."""
        p = self.params
        cols = [self.Ms, p["A"], p["alpha"], p["gamma"], p["Ku1"], p["Ku2"], *p["u"], p["Kc1"], *p["c1"], *p["c2"],
                p["D"]]
        table = np.stack([c.reshape(-1) for c in cols], axis=1)
        rows, inverse = np.unique(table, axis=0, return_inverse=True)
        regions = inverse.reshape(self.shape).astype(np.int32)
        mats = {}
        for r, row in enumerate(rows):
            Ms, A, alpha, gamma, Ku1, Ku2, ux, uy, uz, Kc1, c1x, c1y, c1z, c2x, c2y, c2z, D = row
            dmi = {getattr(self, "dmi_param", "D_ind"): D}
            mats[r] = Material(Ms=Ms, A=A, alpha=alpha, gamma=gamma, Ku1=Ku1, Ku2=Ku2, anis_u=(ux, uy, uz), Kc1=Kc1,
                                   anis_c1=(c1x, c1y, c1z), anis_c2=(c2x, c2y, c2z), **dmi)
        return regions, mats

    def _build(self, backend, integrator, tol, dt, dt_min, dt_max):
        if self.cpu_only and backend not in ("auto", "cpu"):
            raise NotImplementedError(f"backend {backend!r}: {', '.join(self.cpu_only)} run on backend='cpu' only "
                                      "(micromag has no GPU kernel for them)")
        if self.cpu_only and backend == "auto":
            backend = "cpu"
            self.notes.append(f"backend cpu: {', '.join(self.cpu_only)} have no GPU kernel")
        regions, mats = self._materials()
        # double precision on every backend (the GPU's default is float32): Ubermag's stopping criteria
        # (0.1 A/m of |m × H|, ~1e-7 of typical fields) are those of OOMMF, which computes in double
        sim = Simulation(self.grid, regions=regions, materials=mats, demag=self.has_demag, backend=backend,
                             integrator=integrator, tol=tol, dt=dt, dt_min=dt_min, dt_max=dt_max,
                             dtype=np.float64)
        self.backend = sim.backend
        if self.dmi_class not in (None, "Cnv_z", "T", "D2d_z") and "dmi" in sim.terms:
            # the class of the system's DMI (the automatic term has the z classes)
            kw = {"D_ind": "interfacial", "D_d2d": "d2d"}[self.dmi_param]
            sim.remove("dmi")
            sim.add(DMI(sim.system, **{kw: self.dmi_class}))
        for name, make in self.extra:
            sim.add(make(sim), name=name)
        for name, make in self.stt:
            sim.add(make(sim), name=name)
        m = to_mm(self.system.m.array)
        norm = np.sqrt((m * m).sum(0))
        unit = np.where(self.magnetic, m / np.where(norm > 0, norm, 1), 0.0)
        sim.m = unit
        self._set_field(sim)
        if self.dynamics and self.system.T:
            sim.temperature = float(self.system.T) * self.temperature_factor
        if self.dynamics and not self.precession:
            sim.llg.precession_term = False
        return sim

    # ------------------------------------------------------------------ applied field
    def _static(self):
        return all(g is None for _, _, g, _ in self.zeeman)

    def zeeman_B(self, entry, t):
        """B (T) of one Zeeman entry at time t: (3,) or (3, nz, ny, nx)."""
        name, B0, g, kind = entry
        if g is None:
            return B0
        if kind == "uzeeman":
            return MU0 * apply(g, t, B0, kind)
        return apply(g, t, B0, kind)

    def applied(self, t):
        """The total applied field (T) at time t, (3,) or (3, nz, ny, nx)."""
        total = np.zeros(3)
        for e in self.zeeman:
            B = self.zeeman_B(e, t)
            total = total + B if (np.ndim(B) == 1 or np.ndim(total) > 1) else B + total.reshape(3, 1, 1, 1)
        return total

    def _set_field(self, sim=None):
        sim = sim or self.sim
        if not self.zeeman:
            sim.B_ext = None
        elif self._static():
            sim.B_ext = self.applied(0.0)
        else:
            sim.B_ext = self.applied

    def set_zeeman(self, name, B):
        """Add or replace a static uniform applied field ``name`` of B (T, a 3-vector), e.g. a hysteresis
        step; it is reported like the system's own Zeeman terms."""
        entry = (name, np.asarray(B, float).reshape(3), None, "factor")
        self.zeeman = [e for e in self.zeeman if e[0] != name] + [entry]
        self.parts.setdefault(name, [])
        self._set_field()

    # ------------------------------------------------------------------ results
    def m_field(self):
        """The magnetization M = Ms m (A/m) in discretisedfield layout (nx, ny, nz, 3)."""
        return to_df(self.sim.m[0] * self.Ms)

    def host_state(self):
        """(m (B, 3, nz, ny, nx) unit vectors, t (B,) in s): host copies of the simulation's state."""
        sim = self.sim
        return sim.m, np.atleast_1d(np.asarray(sim.t, dtype=float))

    def term_energy_density(self, name, m=None, t=None):
        """Energy density (J/m³, (nz, ny, nx)) of the Ubermag term ``name`` (None: all)."""
        if m is None:
            m, t = self.host_state()
        e = np.zeros(self.shape)
        for n in ([name] if name is not None else list(self.parts)):
            if n in self.energy_offset:
                e += self.energy_offset[n]
        for term, B in self._pieces(name, t):
            if term is not None:
                e += term.energy_density(m, t)[0]
            else:
                e += -(self.Ms * self.magnetic) * (m[0] * B).sum(0)
        return e

    def _pieces(self, name, t):
        """The micromag terms (term, None) and applied fields (None, B in T, (3, …)) that make up the Ubermag
        term ``name`` (None: every energy term), at time t."""
        names = [name] if name is not None else list(self.parts)
        for n in names:
            if n not in self.parts:
                raise ValueError(f"no energy term {n!r} in this system")
            for part in self.parts[n]:
                term = self.sim.terms.get(part)
                if term is not None:
                    yield term, None
            for entry in self.zeeman:
                if entry[0] == n:
                    B = self.zeeman_B(entry, float(t[0]))
                    yield None, (B if np.ndim(B) > 1 else B.reshape(3, 1, 1, 1))

    def term_energy(self, name, m=None, t=None):
        """Energy in J of the Ubermag term ``name`` (None: the total)."""
        return float(self.term_energy_density(name, m, t).sum() * self.V)

    def term_field(self, name):
        """Effective field B (T, (3, nz, ny, nx)) of the Ubermag term ``name`` (None: all energy terms)."""
        m, t = self.host_state()
        B = np.zeros((3,) + self.shape)
        for term, Bz in self._pieces(name, t):
            B += term.field(m, t)[0] if term is not None else Bz * self.magnetic
        return B

    def energies(self):
        """{Ubermag term name: energy in J} at the present state."""
        m, t = self.host_state()
        return {n: self.term_energy(n, m, t) for n in self.parts}
