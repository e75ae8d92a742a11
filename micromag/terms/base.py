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
        """This term's effective field alone (T), a new array shaped like ``m``."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        B = np.zeros_like(m)
        self.add_field(m, t, B)
        return B

    def energy(self, m, t=None):
        """Total energy in J per batch member, shape (B,)."""
        t = np.zeros(m.shape[0]) if t is None else np.broadcast_to(np.asarray(t, float), (m.shape[0],))
        e = self.energy_density(m, t)
        return e.reshape(e.shape[0], -1).sum(axis=1) * self.grid.cell_volume


def quadratic_energy_density(term, m, t):
    """e = -½ Ms_eff m·B for a field linear in m (exchange, demag, uniaxial anisotropy)."""
    B = term.field(m, t)
    return -0.5 * term.system.Ms_eff * np.einsum("bcijk,bcijk->bijk", m, B)
