"""Energy terms that Ubermag systems use and micromag's core has not: small NumPy terms (CPU backend).

All follow micromag's :class:`~micromag.engine.terms.base.Term` contract: fields in T (B = μ0 H) added into the
field buffer, energy densities in J/m³ of shape (B, nz, ny, nx). Each is linear-or-polynomial in m with an
exact discrete energy whose gradient is the field (tests/test_ubermag_terms.py checks the gradient by
finite differences and the energy against closed forms).

- :class:`FaceCoupling` — extra exchange ΔA (J/m) and interfacial-DMI ΔD (J/m², micromag's D_ind sign) on
  chosen faces: Ubermag's explicit couplings between subregions (``A={"r1": .., "r2": .., "r1:r2": ..}``),
  which OOMMF applies on the faces between the two regions instead of micromag's harmonic mean of A (and
  mean of D).
- :class:`TwoSurfaceExchange` — RKKY coupling across a spacer (OOMMF's Oxs_TwoSurfaceExchange, Ubermag's
  ``RKKY``): energy −σ m1·m2 − σ2 (m1·m2)² per unit area between facing surface cells.
"""
from __future__ import annotations

import numpy as np

from ...engine.terms.base import Term

# (state axis of a (B, 3, nz, ny, nx) array, grid axis index) for x, y, z
_AXES = ((4, 0), (3, 1), (2, 2))


def _faces(axis5):
    lo = [slice(None)] * 5
    hi = [slice(None)] * 5
    lo[axis5], hi[axis5] = slice(None, -1), slice(1, None)
    return tuple(lo), tuple(hi)


def _inv_Ms(system):
    Ms = system.param("Ms")
    out = np.zeros_like(Ms)
    np.divide(1.0, Ms, out=out, where=system.magnetic)
    return out


class FaceCoupling(Term):
    r"""Extra exchange and interfacial DMI on selected faces (between two subregions).

    For a face between cells i and j (neighbours along axis a, cell size d_a) with extra exchange ΔA (J/m):

        B_i += (2 ΔA / Ms_i) (m_j − m_i) / d_a²,   energy ΔA V |m_i − m_j|² / d_a²   (V the cell volume)

    and with extra interfacial DMI ΔD (J/m², micromag's D_ind convention, see
    :class:`~micromag.engine.terms.dmi.DMI`) on an x-face (i the lower cell, j = i + 1):

        B_x,i += ΔD m_z,j / (Ms_i dx),  B_x,j −= ΔD m_z,i / (Ms_j dx),
        B_z,i −= ΔD m_x,j / (Ms_i dx),  B_z,j += ΔD m_x,i / (Ms_j dx),
        energy V (ΔD / dx) (m_z,i m_x,j − m_x,i m_z,j)

    (y-faces the same with m_y and dy; DMI has no z-faces). Both fields are linear in m and symmetric, so
    the energy density is e_i = −½ Ms_i m_i·B_i (J/m³) and E = V Σ e_i.

    Parameters
    ----------
    system : System
    dA : dict {axis (0, 1, 2): array of the face shape}: ΔA per face in J/m (the face shape is the grid
        shape with one fewer cell along the axis), or None.
    dD : same for ΔD in J/m² (axes 0 and 1 only), or None.
    """

    name = "face_coupling"

    def __init__(self, system, dA=None, dD=None):
        super().__init__(system)
        g = self.grid
        self._inv = _inv_Ms(system)[None]
        self._Ms = system.param("Ms") * system.fill * system.magnetic
        self._ex, self._dm = [], []
        for axis5, gaxis in _AXES:
            lo, hi = _faces(axis5)
            d = g.cell[gaxis]
            if dA is not None and gaxis in dA and np.any(dA[gaxis]):
                self._ex.append((lo, hi, np.asarray(dA[gaxis], float)[None, None] * 2.0 / d**2))
            if dD is not None and gaxis in dD and np.any(dD[gaxis]):
                if gaxis == 2:
                    raise ValueError("interfacial DMI has no coupling along z")
                self._dm.append((lo, hi, gaxis, np.asarray(dD[gaxis], float)[None] / d))
        self.active = bool(self._ex or self._dm)

    def add_field(self, m, t, B):
        inv = self._inv
        for lo, hi, c in self._ex:
            diff = (m[hi] - m[lo]) * c
            B[lo] += diff * _pick(inv, lo)
            B[hi] -= diff * _pick(inv, hi)
        for lo, hi, gaxis, c in self._dm:
            k = gaxis  # the in-plane component that pairs with m_z on this axis: m_x on x-faces, m_y on y-faces
            ml, mh = m[lo], m[hi]
            il, ih = _pick(inv, lo)[:, 0], _pick(inv, hi)[:, 0]
            B[lo][:, k] += c * mh[:, 2] * il
            B[hi][:, k] -= c * ml[:, 2] * ih
            B[lo][:, 2] -= c * mh[:, k] * il
            B[hi][:, 2] += c * ml[:, k] * ih

    def energy_density(self, m, t):
        B = np.zeros_like(m)
        self.add_field(m, t, B)
        return -0.5 * self._Ms * (m * B).sum(axis=1)


def _pick(inv, sl):
    """1/Ms (1, nz, ny, nx) cut like a face slice of the 5-D state, shaped (1, 1, ...) to broadcast."""
    return inv[(slice(None),) + sl[2:]][:, None]


class TwoSurfaceExchange(Term):
    r"""RKKY-type coupling of two surfaces across a spacer (OOMMF's Oxs_TwoSurfaceExchange).

    Each cell i of surface 1 is paired with the cell j of surface 2 facing it along the normal axis a;
    per pair the energy is

        E_ij = S (−σ m_i·m_j − σ2 (m_i·m_j)²)      (J; S the cell face area normal to a, σ in J/m², σ2 in J/m²)

    σ > 0 favours parallel, σ < 0 antiparallel alignment. The field on cell i (T) is
    B_i = −∂E/∂m_i / (Ms_i V) = (σ + 2σ2 m_i·m_j) m_j / (Ms_i d_a), likewise on j; each cell of a pair is
    given half the pair energy as its density, E_ij / (2 V) (J/m³).

    Parameters
    ----------
    system : System
    pairs : (idx1, idx2): two tuples of index arrays (iz, iy, ix) of equal length, the paired cells.
    axis : the normal axis (0 = x, 1 = y, 2 = z).
    sigma, sigma2 : J/m².
    """

    name = "rkky"

    def __init__(self, system, pairs, axis, sigma, sigma2=0.0):
        super().__init__(system)
        self.i1, self.i2 = (tuple(np.asarray(a, int) for a in p) for p in pairs)
        if len(self.i1[0]) != len(self.i2[0]) or len(self.i1[0]) == 0:
            raise ValueError("the two RKKY surfaces must have the same, non-zero number of facing cells")
        self.sigma, self.sigma2 = float(sigma), float(sigma2)
        d = self.grid.cell[axis]
        inv = _inv_Ms(system)
        self._c1 = inv[self.i1] / d  # 1/(Ms d) per pair, T per (J/m²)
        self._c2 = inv[self.i2] / d
        self._d = d

    def _m(self, m, idx):
        return m[(slice(None), slice(None)) + idx]  # (B, 3, npairs)

    def add_field(self, m, t, B):
        m1, m2 = self._m(m, self.i1), self._m(m, self.i2)
        k = self.sigma + 2 * self.sigma2 * (m1 * m2).sum(axis=1, keepdims=True)  # J/m²
        B[(slice(None), slice(None)) + self.i1] += k * self._c1 * m2
        B[(slice(None), slice(None)) + self.i2] += k * self._c2 * m1

    def energy_density(self, m, t):
        m1, m2 = self._m(m, self.i1), self._m(m, self.i2)
        p = (m1 * m2).sum(axis=1)
        e = (-self.sigma * p - self.sigma2 * p**2) / (2 * self._d)  # J/m³ for each of the two cells
        out = np.zeros((m.shape[0],) + m.shape[2:])
        out[(slice(None),) + self.i1] += e
        out[(slice(None),) + self.i2] += e
        return out
