"""Magnetocrystalline anisotropy: uniaxial and cubic (separate terms; both may be active at once)."""
from __future__ import annotations

import numpy as np

from .base import MATERIAL, Param, Term
from .stencil import Scratch, compress


def _coefficient(system, K, factor):
    """factor·K/Ms in magnetic cells (0 elsewhere), as a float if uniform over the grid's magnetic cells.
    K may carry a leading member axis (B, nz, ny, nx) (time-dependent parameters): the result then does too.

    The float form relies on the state convention m = 0 in empty cells (so the field there stays 0)."""
    mag = system.magnetic
    Ms = system.param("Ms")
    c = np.zeros(np.shape(K))
    np.divide(factor * K, Ms, out=c, where=np.broadcast_to(mag, c.shape))
    vals = c[..., mag]
    if np.all(vals == vals.reshape(-1)[0]):
        return float(vals.reshape(-1)[0])
    return c


def _uniform_axis(system, name):
    """The axis as a 3-tuple if it is the same in every magnetic cell, else the (3, nz, ny, nx) array."""
    u = system.uniform(name)
    if u is not None:
        return tuple(float(c) for c in u)
    return np.where(system.magnetic, system.param(name), 0.0)


class UniaxialAnisotropy(Term):
    r"""Uniaxial anisotropy with easy axis u (``anis_u``) and constants Ku1, Ku2 (J/m³).

    Energy density   e = −fill · [Ku1 (m·u)² + Ku2 (m·u)⁴]        (J/m³)
    Field (T)        B = (2 Ku1 / Ms) (m·u) u + (4 Ku2 / Ms) (m·u)³ u  = −(1/Ms) ∂(e/fill)/∂m

    Ms is the material Ms (not fill-weighted). Ku1 > 0: easy axis; Ku1 < 0: easy plane normal to u.
    Zero constants cost nothing. The field is zero in empty cells because m is zero there (state
    convention). Ku1 and Ku2 may be functions of time (``sim.Ku1 = lambda t: ...``), evaluated per member.
    """

    name = "anisotropy_uniaxial"
    kernel = "anisotropy_uniaxial.cuh"
    energy_rule = "custom"
    options = ("KU2",)
    parameters = (
        Param("Ku1", "J/m³", MATERIAL, "first-order uniaxial anisotropy constant", dynamic=True),
        Param("Ku2", "J/m³", MATERIAL, "second-order uniaxial anisotropy constant", dynamic=True),
        Param("anis_u", "", MATERIAL, "uniaxial anisotropy axis", default=(0.0, 0.0, 1.0), size=3,
              unit_vector=True),
    )

    @classmethod
    def auto(cls, system, **options):
        return cls(system) if (system.any_nonzero("Ku1") or system.any_nonzero("Ku2")) else None

    def __init__(self, system):
        super().__init__(system)
        self._scratch = Scratch()
        self.prepare()

    def prepare(self):
        """Coefficients 2Ku1/Ms, 4Ku2/Ms and the axis from the current materials (per member when a constant
        is time-dependent: the system then holds (B, nz, ny, nx) values)."""
        system = self.system
        mag = system.magnetic
        fill = system.fill
        Ku1 = np.where(mag, system.member_param("Ku1"), 0.0)
        Ku2 = np.where(mag, system.member_param("Ku2"), 0.0)
        self._has1 = bool(np.any(Ku1)) or system.is_dynamic("Ku1")
        self._has2 = bool(np.any(Ku2)) or system.is_dynamic("Ku2")
        self.active = self._has1 or self._has2
        if not self.active:
            return
        self._k1 = _coefficient(system, Ku1, 2.0) if self._has1 else 0.0
        self._k2 = _coefficient(system, Ku2, 4.0) if self._has2 else 0.0
        self._e1 = compress(-fill * Ku1) if self._has1 else 0.0
        self._e2 = compress(-fill * Ku2) if self._has2 else 0.0
        u = _uniform_axis(system, "anis_u")
        if isinstance(u, tuple):
            self._u = u
            self._comps = [(c, u[c]) for c in range(3) if u[c] != 0.0]
            if len(self._comps) == 1:  # along ±x, ±y or ±z: (m·u)u = m_c ĉ whatever the sign
                self._comps = [(self._comps[0][0], 1.0)]
        else:
            self._u = u  # (3, nz, ny, nx)
            self._comps = None

    def device_options(self):
        return ("KU2",) if self._has2 else ()

    def _projection(self, m):
        """s = m·u, shape (B, nz, ny, nx), in a scratch buffer (or a view of m)."""
        sc = self._scratch
        shape = (m.shape[0],) + m.shape[2:]
        if self._comps is None:
            t3 = sc.get("t3", m.shape, m.dtype)
            np.multiply(m, self._u, out=t3)
            s = sc.get("s", shape, m.dtype)
            np.sum(t3, axis=1, out=s)
            return s
        (c0, u0), rest = self._comps[0], self._comps[1:]
        if not rest and u0 == 1.0:
            return m[:, c0]  # a view; never written to
        s = sc.get("s", shape, m.dtype)
        np.multiply(m[:, c0], u0, out=s)
        if rest:
            tmp = sc.get("t", shape, m.dtype)
            for c, uc in rest:
                np.multiply(m[:, c], uc, out=tmp)
                s += tmp
        return s

    def add_field(self, m, t, B):
        """Add (2Ku1/Ms)(m·u)u [+ (4Ku2/Ms)(m·u)³u] (T) into ``B``."""
        if not self.active:
            return
        sc = self._scratch
        s = self._projection(m)
        g = sc.get("g", s.shape, m.dtype)  # g = k1 s + k2 s³
        if self._has2:
            np.multiply(s, s, out=g)
            g *= self._k2
            if self._has1:
                g += self._k1
            g *= s
        else:
            np.multiply(s, self._k1, out=g)
        if self._comps is None:
            t3 = sc.get("t3", m.shape, m.dtype)
            np.multiply(self._u, g[:, None], out=t3)
            B += t3
            return
        if len(self._comps) == 1 and self._comps[0][1] == 1.0:
            Bc = B[:, self._comps[0][0]]
            Bc += g
            return
        tmp = sc.get("t", s.shape, m.dtype)
        for c, uc in self._comps:
            np.multiply(g, uc, out=tmp)
            Bc = B[:, c]
            Bc += tmp

    def energy_density(self, m, t):
        """−fill [Ku1 (m·u)² + Ku2 (m·u)⁴] in J/m³, shape (B, nz, ny, nx)."""
        shape = (m.shape[0],) + m.shape[2:]
        if not self.active:
            return np.zeros(shape, dtype=m.dtype)
        s = self._projection(m)
        s2 = s * s
        if self._has2:
            e = s2 * s2
            e *= self._e2
            if self._has1:
                e += self._e1 * s2
            return e
        s2 *= self._e1
        return s2


class CubicAnisotropy(Term):
    r"""Cubic anisotropy with axes c1 = ``anis_c1``, c2 = ``anis_c2``, c3 = c1 × c2.

    With a_i = m·c_i:

    Energy density   e = fill · [Kc1 (a1²a2² + a2²a3² + a3²a1²) + Kc2 a1²a2²a3²]        (J/m³)

    Field (T), B = −(1/Ms) ∂(e/fill)/∂m = −(1/Ms) Σ_i (∂(e/fill)/∂a_i) c_i, with
    ∂(e/fill)/∂a_i = 2 a_i [Kc1 (a_j² + a_k²) + Kc2 a_j² a_k²]  ({i, j, k} = {1, 2, 3}):

        B = −(2/Ms) Σ_i a_i [Kc1 (a_j² + a_k²) + Kc2 a_j² a_k²] c_i

    Ms is the material Ms (not fill-weighted). Kc1 > 0 makes <100> easy (e = 0 along a cube axis,
    Kc1/4 along <110>, Kc1/3 + Kc2/27 along <111>). Zero constants cost nothing.
    """

    name = "anisotropy_cubic"
    kernel = "anisotropy_cubic.cuh"
    energy_rule = "custom"
    parameters = (
        Param("Kc1", "J/m³", MATERIAL, "first cubic anisotropy constant"),
        Param("Kc2", "J/m³", MATERIAL, "second cubic anisotropy constant"),
        Param("anis_c1", "", MATERIAL, "first cubic axis", default=(1.0, 0.0, 0.0), size=3, unit_vector=True),
        Param("anis_c2", "", MATERIAL, "second cubic axis (orthogonal to anis_c1)", default=(0.0, 1.0, 0.0),
              size=3, unit_vector=True),
    )

    @classmethod
    def auto(cls, system, **options):
        return cls(system) if (system.any_nonzero("Kc1") or system.any_nonzero("Kc2")) else None

    @staticmethod
    def check_material(values, where=""):
        """The two cubic axes must be orthogonal (values: {name: validated value})."""
        c1, c2 = values.get("anis_c1"), values.get("anis_c2")
        if c1 is not None and c2 is not None and abs(float(np.dot(c1, c2))) > 1e-6:
            raise ValueError(f"{where}anis_c1 {c1} and anis_c2 {c2} must be orthogonal "
                             f"(|c1·c2| = {abs(float(np.dot(c1, c2))):.3g})")

    def __init__(self, system):
        super().__init__(system)
        self._scratch = Scratch()
        self.prepare()

    def prepare(self):
        """Coefficients and axes from the current materials."""
        system = self.system
        mag = system.magnetic
        fill = system.fill
        Kc1 = np.where(mag, system.param("Kc1"), 0.0)
        Kc2 = np.where(mag, system.param("Kc2"), 0.0)
        self._has1 = bool(np.any(Kc1))
        self._has2 = bool(np.any(Kc2))
        self.active = self._has1 or self._has2
        if not self.active:
            return
        self._k1 = _coefficient(system, Kc1, -2.0) if self._has1 else 0.0
        self._k2 = _coefficient(system, Kc2, -2.0) if self._has2 else 0.0
        self._e1 = compress(fill * Kc1) if self._has1 else 0.0
        self._e2 = compress(fill * Kc2) if self._has2 else 0.0
        c1 = _uniform_axis(system, "anis_c1")
        c2 = _uniform_axis(system, "anis_c2")
        if isinstance(c1, tuple) and isinstance(c2, tuple):
            C = np.array([c1, c2, np.cross(c1, c2)])  # rows c1, c2, c3
            self._C = None if np.array_equal(C, np.eye(3)) else C
            self._CT = None if self._C is None else np.ascontiguousarray(C.T)
            self._percell = False
        else:
            c1 = np.asarray(c1 if not isinstance(c1, tuple) else np.broadcast_to(np.reshape(c1, (3, 1, 1, 1)), (3,) + self.grid.shape))
            c2 = np.asarray(c2 if not isinstance(c2, tuple) else np.broadcast_to(np.reshape(c2, (3, 1, 1, 1)), (3,) + self.grid.shape))
            self._C = np.ascontiguousarray(np.stack([c1, c2, np.cross(c1, c2, axis=0)]))  # (3, 3, nz, ny, nx)
            self._percell = True

    def _project(self, m):
        """a_i = m·c_i as (B, 3, nz, ny, nx) (m itself for the identity axes)."""
        if self._C is None:
            return m
        a = self._scratch.get("a", m.shape, m.dtype)
        if self._percell:
            np.einsum("ij...,bj...->bi...", self._C, m, out=a)
        else:
            self._rotate(self._C, m, a)
        return a

    def _rotate(self, C, x, out):
        """out[:, i] = Σ_j C[i, j] x[:, j] with component ops (deterministic; BLAS threading on these
        skinny products is erratic on few cores), skipping zero entries."""
        tmp = self._scratch.get("rot", x[:, 0].shape, x.dtype)
        for i in range(3):
            js = [j for j in range(3) if C[i, j] != 0.0]
            if not js:
                out[:, i] = 0.0
                continue
            np.multiply(x[:, js[0]], C[i, js[0]], out=out[:, i])
            for j in js[1:]:
                np.multiply(x[:, j], C[i, j], out=tmp)
                out[:, i] += tmp

    def _squares(self, a):
        sc = self._scratch
        sq = sc.get("sq", a.shape, a.dtype)
        np.multiply(a, a, out=sq)
        return sq

    def add_field(self, m, t, B):
        """Add −(2/Ms) Σ_i a_i [Kc1 (a_j² + a_k²) + Kc2 a_j² a_k²] c_i (T) into ``B``."""
        if not self.active:
            return
        sc = self._scratch
        a = self._project(m)
        sq = self._squares(a)
        g = sc.get("g", a.shape, a.dtype)
        if self._has1:
            np.add(sq[:, 1], sq[:, 2], out=g[:, 0])  # a_j² + a_k²
            np.add(sq[:, 2], sq[:, 0], out=g[:, 1])
            np.add(sq[:, 0], sq[:, 1], out=g[:, 2])
            g *= self._k1
        else:
            g.fill(0.0)
        if self._has2:
            q = sc.get("q", a.shape, a.dtype)  # a_j² a_k²
            np.multiply(sq[:, 1], sq[:, 2], out=q[:, 0])
            np.multiply(sq[:, 2], sq[:, 0], out=q[:, 1])
            np.multiply(sq[:, 0], sq[:, 1], out=q[:, 2])
            q *= self._k2
            g += q
        g *= a
        if self._C is None:
            B += g
            return
        out = sc.get("b", a.shape, a.dtype)
        if self._percell:
            np.einsum("ji...,bj...->bi...", self._C, g, out=out)
        else:
            self._rotate(self._CT, g, out)
        B += out

    def energy_density(self, m, t):
        """fill [Kc1 (a1²a2² + a2²a3² + a3²a1²) + Kc2 a1²a2²a3²] in J/m³, shape (B, nz, ny, nx)."""
        shape = (m.shape[0],) + m.shape[2:]
        if not self.active:
            return np.zeros(shape, dtype=m.dtype)
        a = self._project(m)
        sq = self._squares(a)
        p12 = sq[:, 0] * sq[:, 1]
        e = np.zeros(shape, dtype=m.dtype)
        if self._has1:
            e += p12
            e += sq[:, 1] * sq[:, 2]
            e += sq[:, 2] * sq[:, 0]
            e *= self._e1
        if self._has2:
            p12 *= sq[:, 2]
            p12 *= self._e2
            e += p12
        return e
