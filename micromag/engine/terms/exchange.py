"""Heisenberg exchange on the 6-neighbour finite-difference stencil."""
from __future__ import annotations

import numpy as np

from .base import MATERIAL, Param, Term
from .stencil import AXES, Scratch, bond_weights, compress, faces, fill_weights



class Exchange(Term):
    r"""Exchange interaction, 6-neighbour discrete Laplacian.

    Energy density (continuum)  e = A |∇m|²  (J/m³), A the exchange stiffness in J/m.

    Field, in Tesla, of magnetic cell i:

        B_i = (2 / Ms_i) Σ_j A_ij (m_j − m_i) / d_ij²

    over the (up to) six face neighbours j that are magnetic; Ms_i is the material Ms (not weighted by the
    fill fraction) and d_ij the cell size along the face normal. Between cells of different A the face
    coupling is the harmonic mean A_ij = 2 A_i A_j / (A_i + A_j) (0 if either is 0), optionally multiplied
    by a per-region-pair factor (``region_scale``). There is no coupling across the grid edge nor into
    cells that are not magnetic: free (Neumann, ∂m/∂n = 0) boundaries. Along a periodic axis (grid.pbc)
    the last and first cells are face neighbours like any other pair (:mod:`micromag.engine.terms.stencil`). An
    axis with a single cell contributes nothing (periodic or not: the cell is its own neighbour).

    Partly filled cells (fill f < 1, a smoothed edge): each face carries the weight w_ij = min(f_i, f_j)
    and the field of cell i is divided by f_i,

        B_i = (2 / (Ms_i f_i)) Σ_j w_ij A_ij (m_j − m_i) / d_ij²,

    (:func:`micromag.terms.stencil.fill_weights`), so that the field stays the exact gradient of the energy
    below (MuMax3 leaves the field unweighted, which no energy has as its gradient: a minimum-energy path,
    a saddle's Hessian and a Langer rate need one). With every cell full this is the formula above.

    Energy density (discrete)  e_i = −½ Ms_eff,i m_i·B_i, Ms_eff = Ms·fill. The total
    E = V Σ_i e_i = V Σ_faces w_ij A_ij |m_i − m_j|² / d_ij², whose gradient is exactly −Ms_eff V B (the
    field is linear in m and the stencil symmetric).

    Parameters
    ----------
    system : System
    region_scale : optional dict ``{(r1, r2): s}`` multiplying the coupling A_ij on faces between regions
        r1 and r2 (either order; r1 != r2), e.g. ``{(0, 1): 0.0}`` to decouple two regions.

    The DMI term adds the exchange part of the DMI boundary condition itself, so this term stays
    a pure Neumann term (see :mod:`micromag.engine.terms.dmi`).
    """

    name = "exchange"
    kernel = "exchange.cuh"
    energy_rule = "quadratic"
    needs_neighbours = True
    options = ("SCALE", "FILL")
    parameters = (
        Param("A", "J/m", MATERIAL, "exchange stiffness", default=0.0, lo=0.0),
        Param("scale", "", "pattern", "per-region-pair coupling factors (nregions, nregions), with region_scale"),
        Param("fill", "", "pattern", "fill fraction f of every cell (nz, ny, nx), with partly filled cells: "
              "face weight min(f_i, f_j), field over f_i"),
    )

    @classmethod
    def auto(cls, system, **options):
        return cls(system) if system.any_nonzero("A") else None

    def __init__(self, system, region_scale=None):
        super().__init__(system)
        scale = {}
        for key, s in dict(region_scale or {}).items():
            try:
                r1, r2 = (int(r) for r in key)
            except (TypeError, ValueError):
                raise ValueError(f"region_scale keys must be pairs of region ids (r1, r2), got {key!r}") from None
            s = float(s)
            if not np.isfinite(s) or s < 0:
                raise ValueError(f"region_scale[{key!r}] must be a finite number >= 0, got {s!r}")
            scale[(min(r1, r2), max(r1, r2))] = s
        self.region_scale = scale
        self._scratch = Scratch()
        self.prepare()

    def prepare(self):
        """The face coefficients A_ij/d² (and 2/Ms) from the current materials."""
        system, g, scale = self.system, self.grid, self.region_scale
        mag = system.magnetic
        A = np.where(mag, system.param("A"), 0.0)
        Ms = system.param("Ms")
        fill = self._fill = fill_weights(system)
        two_over_Ms = np.zeros(g.shape)
        np.divide(2.0, Ms if fill is None else Ms * fill, out=two_over_Ms, where=mag)
        region = system.region
        Ms_u = system.uniform("Ms")
        # with one Ms everywhere (and every cell full) fold 2/Ms into the face coefficient and add into B
        self._direct = Ms_u is not None and fill is None
        self._two_over_Ms = two_over_Ms
        self._faces = []  # (lo, hi, coefficient (float or face array), scratch key, flat x layout?, row wrap)
        for axis5, gaxis in AXES:
            for lo, hi, wrap_face in faces(g, axis5, gaxis):
                lo3, hi3 = lo[2:], hi[2:]
                Ai, Aj = A[lo3], A[hi3]
                s = Ai + Aj
                Aij = np.zeros_like(Ai)
                np.divide(2.0 * Ai * Aj, s, out=Aij, where=s > 0)
                if scale:
                    ri, rj = region[lo3], region[hi3]
                    for (r1, r2), f in scale.items():
                        sel = ((ri == r1) & (rj == r2)) | ((ri == r2) & (rj == r1))
                        Aij[sel] *= f
                if fill is not None:
                    Aij = Aij * bond_weights(fill, lo3, hi3)
                if not np.any(Aij):
                    continue
                k = Aij / g.cell[gaxis] ** 2
                if self._direct:
                    k = k * (2.0 / Ms_u)
                k = compress(k)
                if axis5 == 4 and not wrap_face:
                    # x faces on the flattened (B, 3, N) state: contiguous runs, offset 1; the N − 1 "faces"
                    # include the row wraps (last cell of a row, first of the next), which get coefficient 0
                    wrap = None
                    if isinstance(k, float):
                        wrap = g.nx if g.ny * g.nz > 1 else None
                    else:
                        kf = np.zeros(g.shape)
                        kf[..., :-1] = k
                        k = kf.reshape(-1)[:-1].copy()
                    flat = (slice(None), slice(None))
                    self._faces.append((flat + (slice(None, -1),), flat + (slice(1, None),), k, "dx", True, wrap))
                else:
                    self._faces.append((lo, hi, k, f"d{axis5}{'w' if wrap_face else ''}", False, None))
        # one coefficient per axis (uniform material, full box): the compiled stencil of micromag.engine._jit
        from .. import _jit

        per_axis = {4: 0.0, 3: 0.0, 2: 0.0}
        uniform = self._direct
        for lo, hi, k, key, flat, wrap in self._faces:
            if not isinstance(k, float):
                uniform = False
            elif key.endswith("w"):
                uniform = False  # the compiled stencil has free edges only
            else:
                per_axis[4 if flat else int(key[1:])] = k
        self._jit_k = (per_axis[4], per_axis[3], per_axis[2]) if uniform and self._faces and _jit.wanted(g.ncells) else None

    # ------------------------------------------------------------------ device inputs
    def device_options(self):
        return tuple(o for o, on in (("SCALE", self.region_scale), ("FILL", self._fill is not None)) if on)

    def device_patterns(self):
        out = {} if self._fill is None else {"fill": self._fill}
        if self.region_scale:
            n = len(self.system.materials)
            t = np.ones((n, n))
            for (r1, r2), s in self.region_scale.items():
                if max(r1, r2) < n:
                    t[r1, r2] = t[r2, r1] = s
            out["scale"] = t
        return out

    # ------------------------------------------------------------------ field
    def add_field(self, m, t, B):
        """Add the exchange field (T) of ``m`` into ``B``."""
        if not self._faces:
            return
        sc = self._scratch
        nb = m.shape[0]
        if not m.flags.c_contiguous:
            m = np.ascontiguousarray(m)
        if self._jit_k is not None and B.flags.c_contiguous and m.dtype == np.float64 and B.dtype == np.float64:
            from .._jit import kernels

            kernels()["exchange_uniform"](m, B, *self._jit_k)
            return
        if self._direct and B.flags.c_contiguous:
            H = B
        else:
            H = sc.get("H", m.shape, m.dtype)
            H.fill(0.0)
        mf = m.reshape(nb, 3, -1)
        Hf = H.reshape(nb, 3, -1)
        for lo, hi, k, key, flat, wrap in self._faces:
            src, dst = (mf, Hf) if flat else (m, H)
            shi = src[hi]
            d = sc.get(key, shi.shape, m.dtype)
            np.subtract(shi, src[lo], out=d)  # m_j − m_i on every face
            if not (isinstance(k, float) and k == 1.0):
                np.multiply(d, k, out=d)
            if wrap:
                d[..., wrap - 1::wrap] = 0.0
            v = dst[lo]
            v += d
            v = dst[hi]
            v -= d
        if H is not B:
            if not self._direct:
                np.multiply(H, self._two_over_Ms, out=H)
            B += H
