"""The contract every physical term follows.

A term is built once for a :class:`~micromag.system.System` (precomputing what it can), then evaluated many
times. All arrays follow the state layout of the design: magnetization ``m`` is ``(B, 3, nz, ny, nx)``
(B batch members, unit vectors, zero in empty cells), time ``t`` is ``(B,)`` seconds, fields are Tesla
(B = μ0 H) with the same layout as ``m``, energy densities are J/m³ with shape ``(B, nz, ny, nx)`` and
already weighted by the cell fill fraction, so the total energy is ``sum(e) · cell volume``.
"""
from __future__ import annotations

import numpy as np


class Term:
    """Base class of a field term. Subclasses set ``name`` and implement ``add_field`` and
    ``energy_density``; ``field`` and ``energy`` come for free."""

    name = "term"

    def __init__(self, system):
        self.system = system
        self.grid = system.grid

    def add_field(self, m, t, B):
        """Add this term's effective field (T) into ``B`` in place."""
        raise NotImplementedError

    def energy_density(self, m, t):
        """Energy density in J/m³, shape (B, nz, ny, nx), weighted by fill fraction."""
        raise NotImplementedError

    def field(self, m, t=None):
        """This term's effective field alone (T) at member times ``t`` (s, default 0), shaped like ``m``."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        B = np.zeros_like(m)
        self.add_field(m, t, B)
        return B

    def energy(self, m, t=None):
        """Total energy in J per batch member at times ``t`` (s, default 0), shape (B,)."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        e = self.energy_density(m, t)
        return e.reshape(e.shape[0], -1).sum(axis=1) * self.grid.cell_volume


class TorqueTerm(Term):
    """Base class of a torque that is not the gradient of an energy (spin-transfer and spin-orbit torques).

    ``add_torque(m, t, T)`` adds the torque in Gilbert form, T in 1/s, into ``T``: the LLG equation is
    dm/dt = −γ m × B_eff + α m × dm/dt + T, which :class:`~micromag.llg.LLG` turns into Landau–Lifshitz
    form as dm/dt += (T + α m × T)/(1 + α²). Torques are off during ``relax()`` and ``minimize()``.
    Their energy density is zero (they do work, but store none).
    """

    is_torque = True

    def add_field(self, m, t, B):  # a torque adds no effective field
        return None

    def add_torque(self, m, t, T):
        raise NotImplementedError

    def torque(self, m, t=None):
        """This term's Gilbert-form torque alone (1/s) at member times ``t`` (s, default 0), shaped like ``m``."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        T = np.zeros_like(m)
        self.add_torque(m, t, T)
        return T

    def energy_density(self, m, t):
        return np.zeros((m.shape[0],) + m.shape[2:])
