"""A hard-axis anisotropy, e = K⊥ (m·n)², as a term defined outside ``micromag/engine/terms`` (the Walker case).

It follows the term contract of :mod:`micromag.engine.terms.base` like any plug-in term: declared parameters, a
NumPy field and energy, and a CUDA twin (``hard_axis.cuh`` next to this file, found by absolute path), so it
runs on the GPU backend without any change to the backend.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...engine.terms.base import CONSTANT, Param, Term


class HardAxis(Term):
    r"""Hard-axis anisotropy with constant K (J/m³, > 0 makes n hard) along the unit vector n.

    Energy density   e = fill · K (m·n)²           (J/m³)
    Field (T)        B = −(2K/Ms) (m·n) n          (Ms the material Ms)
    """

    name = "hard_axis"
    kernel = str(Path(__file__).with_name("hard_axis.cuh"))
    energy_rule = "custom"
    parameters = (
        Param("K", "J/m³", CONSTANT, "hard-axis anisotropy constant"),
        Param("n", "", CONSTANT, "hard axis (unit vector)", size=3),
    )

    def __init__(self, system, K, axis):
        super().__init__(system)
        self.K = Param("K", "J/m³", CONSTANT).check(K)
        n = np.asarray(axis, float).reshape(3)
        if not np.all(np.isfinite(n)) or np.linalg.norm(n) == 0:
            raise ValueError(f"axis must be a non-zero 3-vector, got {axis!r}")
        self.n = n / np.linalg.norm(n)
        self.prepare()

    def prepare(self):
        Ms = self.system.param("Ms")
        self._c = np.divide(-2 * self.K, Ms, out=np.zeros_like(Ms), where=Ms > 0)

    def add_field(self, m, t, B):
        mn = np.einsum("bcijk,c->bijk", m, self.n)
        B += (self._c * mn)[:, None] * self.n[None, :, None, None, None]

    def energy_density(self, m, t):
        mn = np.einsum("bcijk,c->bijk", m, self.n)
        return self.K * mn**2 * self.system.fill[None] * self.system.magnetic[None]

    def device_constants(self):
        return {"K": self.K, "n": tuple(self.n)}
