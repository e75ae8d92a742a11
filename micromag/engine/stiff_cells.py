"""Cells whose field has a stiff self-coupling, B_i ⊇ M_i m_i (T), treated implicitly by the descent.

A DMI boundary condition with a tiny exchange constant puts D²/(2 A Ms) (5e8 T for D = 1e-3 J/m²,
A = 1e-21 J/m, Ms = 1e6 A/m) on the edge cells, against ~1 T in the bulk: an explicit step small enough
for the edge cells barely moves the rest. On the tangent plane of m_i the energy's local Hessian (field
units, T) is

    Q_i = P (μ I − M_i) P,      μ = m_i·M_i m_i,   P = I − m_i m_iᵀ,

and the descent's step on those cells is the semi-implicit one, u = τ (I + τ |Q_i|)⁻¹ d (|Q| with the
absolute eigenvalues of the 2×2 tangent block: a Newton step along the stiff directions, the explicit step
τ d along the soft ones); the Barzilai–Borwein estimates see the change of the gradient less Q s, the
curvature of what is treated explicitly.
"""
from __future__ import annotations

import numpy as np


class LocalStiffness:
    """The summed self-couplings ``M`` (n, 3, 3) of the terms that declare one (``Term.local_stiffness``), at
    n cells of a (nz, ny, nx) grid, as arrays of ``xp``."""

    def __init__(self, cells, M, xp=np):
        self.xp = xp
        self.cells = tuple(xp.asarray(c) for c in cells)
        self.M = xp.asarray(M)

    @classmethod
    def of_terms(cls, terms, shape, xp=np):
        """From every term's ``local_stiffness()`` (summed where cells coincide); None when no term has one."""
        parts = [s for s in (t.local_stiffness() for t in terms) if s is not None]
        if not parts:
            return None
        flat = np.concatenate([np.ravel_multi_index(tuple(np.asarray(c) for c in cells), shape)
                               for cells, _ in parts])
        mats = np.concatenate([np.moveaxis(np.asarray(M, dtype=float), -1, 0) for _, M in parts])  # (n, 3, 3)
        uniq, inv = np.unique(flat, return_inverse=True)
        M = np.zeros((uniq.size, 3, 3))
        np.add.at(M, inv, mats)
        return cls(np.unravel_index(uniq, shape), M, xp)

    def _at(self, a):
        """Values of a (B, 3, nz, ny, nx) array at the cells, as (B, n, 3)."""
        k, j, i = self.cells
        return self.xp.moveaxis(a[:, :, k, j, i], 1, 2)

    def _put(self, a, v):
        k, j, i = self.cells
        a[:, :, k, j, i] = self.xp.moveaxis(v, 2, 1)

    def _apply(self, v):
        """M v for v (B, n, 3)."""
        return self.xp.einsum("nab,xnb->xna", self.M, v)

    def field(self, m):
        """M m at the cells (zero elsewhere), shaped like ``m`` (T)."""
        out = self.xp.zeros_like(m)
        self._put(out, self._apply(self._at(m)))
        return out

    def hessian_times(self, m, s):
        """Q s at the cells (zero elsewhere), shaped like ``m``: the local curvature of the energy along the
        step ``s`` (T)."""
        xp = self.xp
        mc, sc = self._at(m), self._at(s)
        mu = (mc * self._apply(mc)).sum(axis=-1, keepdims=True)
        v = sc - (mc * sc).sum(axis=-1, keepdims=True) * mc
        w = mu * v - self._apply(v)
        w -= (mc * w).sum(axis=-1, keepdims=True) * mc
        out = xp.zeros_like(m)
        self._put(out, w)
        return out

    def step(self, m, d, tau):
        """u = τ (I + τ |Q|)⁻¹ d at the cells and τ d elsewhere (``tau`` (B,) per member, 1/T); ``d`` tangent."""
        xp = self.xp
        u = tau.reshape((-1,) + (1,) * (d.ndim - 1)) * d
        mc, dc = self._at(m), self._at(d)
        # a tangent basis e1, e2 per cell: e1 ⟂ m from the axis least aligned with m
        ax = xp.argmin(xp.abs(mc), axis=-1)
        a = (xp.arange(3) == ax[..., None]).astype(mc.dtype)
        e1 = xp.cross(mc, a)
        e1 /= xp.sqrt((e1 * e1).sum(axis=-1, keepdims=True))
        e2 = xp.cross(mc, e1)
        mu = (mc * self._apply(mc)).sum(axis=-1)
        Me1, Me2 = self._apply(e1), self._apply(e2)
        q11 = mu - (e1 * Me1).sum(axis=-1)
        q22 = mu - (e2 * Me2).sum(axis=-1)
        q12 = -(e1 * Me2).sum(axis=-1)
        half = 0.5 * (q11 - q22)
        r = xp.sqrt(half * half + q12 * q12)
        lp, lm = 0.5 * (q11 + q22) + r, 0.5 * (q11 + q22) - r
        # spectral projector on λ+ (any split when λ+ = λ−: both get the same factor then)
        safe = xp.where(r > 0, 2 * r, 1.0)
        p11 = xp.where(r > 0, (q11 - lm) / safe, 0.5)
        p22 = xp.where(r > 0, (q22 - lm) / safe, 0.5)
        p12 = xp.where(r > 0, q12 / safe, 0.0)
        t = tau[:, None]
        cp, cm = t / (1 + t * xp.abs(lp)), t / (1 + t * xp.abs(lm))
        d1, d2 = (e1 * dc).sum(axis=-1), (e2 * dc).sum(axis=-1)
        pd1, pd2 = p11 * d1 + p12 * d2, p12 * d1 + p22 * d2  # P+ d
        u1 = cp * pd1 + cm * (d1 - pd1)
        u2 = cp * pd2 + cm * (d2 - pd2)
        self._put(u, u1[..., None] * e1 + u2[..., None] * e2)
        return u
