"""The Landau–Lifshitz–Gilbert equation, in Landau–Lifshitz form.

    dm/dt = −γ / (1 + α²) · [ m × B_eff + α m × (m × B_eff) ]

with m the unit magnetization, B_eff the effective field in T (the sum of the terms' fields), γ the
gyromagnetic ratio in rad/(s·T) and α the Gilbert damping, both per cell. With |m| = 1,
m × (m × B) = m (m·B) − B, which is how it is evaluated (fewer operations). The precession-free form used
by ``relax()`` drops the first term and sets the prefactor to −γ (``precession = False``; torques off).

``precession_term = False`` drops only the precession term −γ/(1+α²) m × B_eff and keeps everything else
(the damping term with its 1/(1+α²), the torques): OOMMF's ``do_precess 0``, which Ubermag asks for by a
system without a Precession term.

Torques that are not fields (spin-transfer, spin-orbit) enter the Gilbert form as
dm/dt = −γ m × B + α m × dm/dt + T; solved for dm/dt with |m| = 1 this adds (T + α m × T)/(1 + α²).
Terms with a ``begin_step(t, dt)`` method (the thermal field) are told when a new step starts.
"""
from __future__ import annotations

import numpy as np

from .constants import gamma_mumax
from .terms.base import MATERIAL, Param


class LLG:
    """Right-hand side of the LLG equation for a list of field terms (demag first, then the rest add in)."""

    # the material parameters of the equation itself (the terms declare theirs)
    parameters = (
        Param("Ms", "A/m", MATERIAL, "saturation magnetization (0: not magnetic)", default=0.0, lo=0.0),
        Param("alpha", "", MATERIAL, "Gilbert damping", default=0.01, lo=0.0),
        Param("gamma", "rad/(s·T)", MATERIAL, "gyromagnetic ratio", default=gamma_mumax, lo=0.0, lo_open=True),
        Param("frozen", "", MATERIAL, "1: m held fixed (dm/dt = 0: a pinned layer), 0: dynamic", default=0.0,
              lo=0.0, hi=1.0),
    )

    def __init__(self, system, terms, batch):
        self.system = system
        self.batch = int(batch)
        self.set_terms(terms)
        shape = (batch, 3) + system.grid.shape
        self.B = np.zeros(shape)
        self._mdotB = np.zeros((batch,) + system.grid.shape)
        self._tmp = np.zeros((batch,) + system.grid.shape)
        self._T = None
        self.precession = True
        self._precession_term = True
        self.nevals = 0
        self.prepare()

    @property
    def precession_term(self):
        """False: the LLG without its precession term (OOMMF's do_precess 0; module docstring)."""
        return self._precession_term

    @precession_term.setter
    def precession_term(self, on):
        self._precession_term = bool(on)
        self.prepare()

    def prepare(self):
        """The LLG prefactors from the current materials (γ, α per cell)."""
        system = self.system
        gamma = system.param("gamma")
        alpha = system.param("alpha")
        mag = system.magnetic & (system.param("frozen") == 0)  # frozen cells: every prefactor 0, dm/dt = 0
        c_prec = np.where(mag, -gamma / (1 + alpha**2), 0.0)[None]  # (1, nz, ny, nx)
        self.c_damp = c_prec * alpha
        self.c_prec = c_prec if self._precession_term else np.zeros_like(c_prec)
        self.c_relax = np.where(mag, -gamma, 0.0)[None]
        self.c_torque = np.where(mag, 1 / (1 + alpha**2), 0.0)[None]
        self.alpha = alpha[None]
        from . import _jit

        self._jit = _jit.wanted(system.grid.ncells) and self.c_prec.shape[0] == 1

    def set_terms(self, terms):
        self.terms = list(terms)
        self.field_terms = [t for t in self.terms if not getattr(t, "is_torque", False)]
        self.torque_terms = [t for t in self.terms if getattr(t, "is_torque", False)]
        self.step_hooks = [t for t in self.terms if hasattr(t, "begin_step")]

    def begin_step(self, t, dt):
        """Called by the stepper once per step (before its first stage) with member times and steps (s)."""
        for term in self.step_hooks:
            term.begin_step(t, dt)

    def update_parameters(self, t):
        """Re-evaluate the time-dependent material parameters at member times t (s) and re-prepare the
        terms that read them (only when their values changed)."""
        changed = self.system.update_dynamic(t)
        if changed:
            for term in self.terms:
                if any(p.name in changed for p in term.parameters):
                    term.prepare()

    def effective_field(self, m, t, out=None):
        """B_eff in T, shape of m."""
        if self.system.dynamic_names:
            self.update_parameters(t)
        B = self.B if out is None else out
        B.fill(0.0)
        for term in self.field_terms:
            term.add_field(m, t, B)
        return B

    def __call__(self, m, t, out):
        """Write dm/dt (1/s) into out."""
        self.nevals += 1
        B = self.effective_field(m, t)
        if self._jit and m.flags.c_contiguous and out.flags.c_contiguous and m.dtype == np.float64:
            from ._jit import kernels

            if self.precession:
                kernels()["llg"](m, B, self.c_prec[0], self.c_damp[0], out)
                if self.torque_terms:
                    self._add_torques(m, t, out)
            else:
                kernels()["llg_relax"](m, B, self.c_relax[0], out)
            return out
        mx, my, mz = m[:, 0], m[:, 1], m[:, 2]
        Bx, By, Bz = B[:, 0], B[:, 1], B[:, 2]
        mb = self._mdotB
        np.multiply(mx, Bx, out=mb)
        mb += my * By
        mb += mz * Bz
        tmp = self._tmp
        if self.precession:
            cp, cd = self.c_prec, self.c_damp
            # out = cp (m × B) + cd (m (m·B) − B)
            for i, (j, k) in enumerate(((1, 2), (2, 0), (0, 1))):
                o = out[:, i]
                np.multiply(m[:, j], B[:, k], out=o)
                np.multiply(m[:, k], B[:, j], out=tmp)
                o -= tmp
                o *= cp
                np.multiply(m[:, i], mb, out=tmp)
                tmp -= B[:, i]
                tmp *= cd
                o += tmp
            if self.torque_terms:
                self._add_torques(m, t, out)
        else:
            cr = self.c_relax
            for i in range(3):
                o = out[:, i]
                np.multiply(m[:, i], mb, out=o)
                o -= B[:, i]
                o *= cr
        return out

    def _add_torques(self, m, t, out):
        if self._T is None:
            self._T = np.zeros_like(out)
        T = self._T
        T.fill(0.0)
        for term in self.torque_terms:
            term.add_torque(m, t, T)
        mxT = np.cross(m, T, axis=1)
        mxT *= self.alpha[:, None]
        mxT += T
        mxT *= self.c_torque[:, None]
        out += mxT

    def torque(self, m, t):
        """m × B_eff in T (the quantity a relaxed state drives to zero)."""
        B = self.effective_field(m, t)
        return np.cross(m, B, axis=1)
