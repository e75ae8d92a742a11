"""Interfacial Dzyaloshinskii-Moriya interaction (thin film, symmetry broken along z), with its boundary
condition at free edges."""
from __future__ import annotations

import numpy as np

from .base import MATERIAL, Param, Term
from .exchange import Scratch, scalar_if_uniform, face_slices


class InterfacialDMI(Term):
    r"""Interfacial DMI, MuMax3's convention for the sign of D (``D_ind``, J/m²).

    Energy density (continuum)   e = D (m_z ∇·m − (m·∇) m_z)
                                   = D (m_z ∂x m_x − m_x ∂x m_z + m_z ∂y m_y − m_y ∂y m_z)
    Field (T), −(1/Ms) δE/δm:     B = (2D/Ms) (∂x m_z, ∂y m_z, −∂x m_x − ∂y m_y)

    **Bulk.** Central differences, ∂x f_i ≈ (f_{i+1} − f_{i−1}) / (2 dx), i.e. per x-face between cells i
    and j = i+1 with face constant D_f:  B_x,i += D_f/(Ms_i dx) m_z,j,  B_x,j −= D_f/(Ms_j dx) m_z,i,
    B_z,i −= D_f/(Ms_i dx) m_x,j,  B_z,j += D_f/(Ms_j dx) m_x,i  (and the same with y, m_y along y).
    Between cells of different D the face uses the average D_f = (D_i + D_j)/2. No z derivatives enter.

    **Boundary condition.** The surface term of the variation of A|∇m|² + e gives, at a free edge with
    outward normal n (in-plane),

        2A ∂m/∂n = −D (n_x m_z, n_y m_z, −n_x m_x − n_y m_y) = −D (ẑ × n) × m,

    i.e. ∂m/∂n = (D/2A) (n̂ × ẑ) × m, or ∂x m = (D/2A)(−m_z, 0, m_x) and ∂y m = (D/2A)(0, −m_z, m_y) on
    every edge (this is MuMax3's "D m_z + 2A ∂x m_x = 0"; the form (D/2A)(ẑ × n̂) × m quoted in places has
    the opposite orientation of the cross product and does not follow from this energy; the edge-tilt test
    in tests/test_terms.py checks the sign against the exact 1D solution). A free edge is the grid edge or
    a face to a cell that is not magnetic, along an axis with at least two cells (an axis of one cell has
    no gradient along it, as for exchange: an nx × 1 × 1 chain models a film infinite along y; MuMax3
    would put ghost cells there too unless y is periodic). It is imposed with a ghost cell: for the
    missing neighbour at x ± dx of edge cell i,

        m_ghost = m_i ± dx ∂x m = m_i ± κ (−m_z, 0, m_x)_i,   κ = D_i dx / (2 A_i)

    (y: m_i ± κ_y (0, −m_z, m_y)_i). The ghost enters both the DMI central difference and the exchange
    Laplacian (2A/(Ms dx²))(m_ghost − m_i). Summing the two, the parts linear in m_i that are antisymmetric
    cancel exactly, and the ghost is equivalent to: *DMI central difference with the missing neighbour
    taken as zero, plus*

        B_i += (D_i² / (2 A_i Ms_i)) (m_x, 0, m_z)   per free x-face,   (0, m_y, m_z) per free y-face.

    This term adds that sum (exchange correction included), so :class:`~micromag.terms.exchange.Exchange`
    stays a pure Neumann term and Exchange + InterfacialDMI is MuMax3's ghost-cell discretization. Cells
    with A = 0 get no boundary correction (no exchange, no boundary condition to impose). Using this term
    without the Exchange term therefore makes no physical sense when D ≠ 0 at an edge.

    **Energy.** The field is linear in m and the operator is symmetric in the Ms·V inner product (the bulk
    coupling D_f/dx is the same seen from both cells; the edge part is diagonal), so

        e_i = −½ Ms_eff,i m_i·B_DMI,i

    is the exact discrete energy whose gradient is the field (E = V Σ e, B = −∂E/∂m_i / (Ms_i V) for fill
    1). Per x-face it is V (D_f/dx)(m_z,i m_x,j − m_x,i m_z,j) (the midpoint rule of the continuum
    density), plus −V D_i²/(4A_i) (m_x² + m_z²) per free x-face of edge cells (−V D_i²/(4A_i)(m_y² + m_z²)
    per free y-face): an O(dx) energy per unit edge length that vanishes with refinement. With partial
    fill the field is not fill-weighted, so the energy is then the fill-weighted sum only.

    Note: in a strip one cell wide inside a larger grid (empty cells on both sides) both ghost cells act,
    giving −V D²/(2A)(m_x² + m_z²) per cell, twice the exact narrow-strip continuum value −V D²/(4A)(...).
    """

    name = "dmi"
    kernel = "dmi.cuh"
    energy_rule = "quadratic"
    needs_neighbours = True
    parameters = (Param("D_ind", "J/m²", MATERIAL, "interfacial DMI constant"),)

    @classmethod
    def auto(cls, system, **options):
        return cls(system) if system.any_nonzero("D_ind") else None

    def __init__(self, system):
        super().__init__(system)
        self._scratch = Scratch()
        self.prepare()

    def prepare(self):
        """Face and edge coefficients from the current materials (D_ind, A, Ms)."""
        system, g = self.system, self.grid
        mag = system.magnetic
        D = np.where(mag, system.param("D_ind"), 0.0)
        self.active = bool(np.any(D))
        self._faces = []
        self._edges = []
        self._Ms_eff = system.Ms_eff
        if not self.active:
            return
        A = np.where(mag, system.param("A"), 0.0)
        Ms = system.param("Ms")
        inv_Ms = np.zeros(g.shape)
        np.divide(1.0, Ms, out=inv_Ms, where=mag)
        # boundary diagonal w = D²/(2 A Ms) per free face (0 where A = 0)
        w_cell = np.zeros(g.shape)
        np.divide(D * D, 2.0 * A * np.where(mag, Ms, 1.0), out=w_cell, where=mag & (A > 0))
        nfree = {}
        # x (state axis 4, component 0) and y (state axis 3, component 1)
        for axis5, gaxis, comp in ((4, 0, 0), (3, 1, 1)):
            ax3 = axis5 - 2
            d = g.cell[gaxis]
            # count missing neighbours per cell along this axis (grid edge or non-magnetic neighbour)
            pad = [(0, 0)] * 3
            pad[ax3] = (1, 1)
            mp = np.pad(mag, pad, constant_values=False)
            lo3 = [slice(None)] * 3
            hi3 = [slice(None)] * 3
            lo3[ax3] = slice(None, -2)
            hi3[ax3] = slice(2, None)
            if g.n[gaxis] < 2:  # no gradient along a one-cell axis: no faces, no ghost cells
                nfree[comp] = np.zeros(g.shape, dtype=int)
                continue
            nfree[comp] = mag * ((~mp[tuple(lo3)]).astype(int) + (~mp[tuple(hi3)]).astype(int))
            lo, hi = face_slices(axis5)
            lo3, hi3 = lo[2:], hi[2:]
            both = mag[lo3] & mag[hi3]
            Df = np.where(both, 0.5 * (D[lo3] + D[hi3]), 0.0) / d
            if not np.any(Df):
                continue
            cL = scalar_if_uniform(Df * inv_Ms[lo3])
            cR = scalar_if_uniform(Df * inv_Ms[hi3])
            if comp == 0:
                # x faces on the flattened (B, N) component arrays (contiguous, offset 1); the row wraps
                # (last cell of a row, first of the next) must get coefficient 0
                wrap = None
                if isinstance(cL, float) and isinstance(cR, float):
                    wrap = g.nx if g.ny * g.nz > 1 else None
                else:
                    cL, cR = (self._flat_x(c, g) for c in (cL, cR))
                sl = ((slice(None), slice(None, -1)), (slice(None), slice(1, None)))
                self._faces.append((True, sl[0], sl[1], comp, cL, cR, wrap))
            else:
                self._faces.append((False, (slice(None),) + lo3, (slice(None),) + hi3, comp, cL, cR, None))
        # edge-cell diagonal: B_x += wx m_x, B_y += wy m_y, B_z += (wx + wy) m_z
        wx = w_cell * nfree[0]
        wy = w_cell * nfree[1]
        for comp, w in ((0, wx), (1, wy), (2, wx + wy)):
            idx = np.nonzero(w)
            if idx[0].size:
                self._edges.append((comp, idx, w[idx]))

    @staticmethod
    def _flat_x(c, g):
        """(nz, ny, nx−1) x-face coefficients (or a float) → length N−1 over the flattened grid, 0 at wraps."""
        cf = np.zeros(g.shape)
        cf[..., :-1] = c
        return cf.reshape(-1)[:-1].copy()

    def add_field(self, m, t, B):
        """Add the DMI field including the exchange part of the edge boundary condition (T) into ``B``."""
        if not self.active:
            return
        sc = self._scratch
        nb = m.shape[0]
        if not m.flags.c_contiguous:
            m = np.ascontiguousarray(m)
        H = B if B.flags.c_contiguous else sc.get("H", m.shape, m.dtype)
        if H is not B:
            H.fill(0.0)
        mf, Hf = m.reshape(nb, 3, -1), H.reshape(nb, 3, -1)
        for flat, lo, hi, comp, cL, cR, wrap in self._faces:
            src, dst = (mf, Hf) if flat else (m, H)
            mz, Bz, mc, Bc = src[:, 2], dst[:, 2], src[:, comp], dst[:, comp]
            tmp = sc.get(("t", comp), mc[hi].shape, m.dtype)
            # B_c,i += cL m_z,j ; B_c,j −= cR m_z,i ; B_z,i −= cL m_c,j ; B_z,j += cR m_c,i
            for f, a, b, sign, c in ((mz, hi, lo, 1, cL), (mz, lo, hi, -1, cR), (mc, hi, lo, -1, cL), (mc, lo, hi, 1, cR)):
                np.multiply(f[a], c, out=tmp)
                if wrap:
                    tmp[..., wrap - 1::wrap] = 0.0
                v = (Bc if f is mz else Bz)[b]
                if sign > 0:
                    v += tmp
                else:
                    v -= tmp
        for comp, (k, j, i), w in self._edges:
            H[:, comp, k, j, i] += w * m[:, comp, k, j, i]
        if H is not B:
            B += H

    def energy_density(self, m, t):
        """−½ Ms_eff m·B_DMI in J/m³, shape (B, nz, ny, nx) (exact discrete energy, see the class doc)."""
        e = np.zeros((m.shape[0],) + m.shape[2:], dtype=m.dtype)
        if not self.active:
            return e
        F = self._scratch.get("F", m.shape, m.dtype)
        F.fill(0.0)
        self.add_field(m, t, F)
        np.einsum("bc...,bc...->b...", m, F, out=e)
        e *= -0.5 * self._Ms_eff
        return e
