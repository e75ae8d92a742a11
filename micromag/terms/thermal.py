"""Thermal fluctuations: Brown's stochastic field.

    B_th = η · sqrt( 2 α kB T / (γ Ms V Δt) )          (T)

with η a standard normal vector per cell, component and time step, α the damping, kB Boltzmann's constant,
T the temperature (K), γ the gyromagnetic ratio (rad/(s·T)), Ms·V the cell's moment (A·m², Ms times the
fill-weighted cell volume) and Δt the time step (s). The field is held constant over a step (Stratonovich
calculus), which is why it needs the stochastic Heun integrator with a fixed step: the Simulation switches
to it while any member has T > 0. Brown, Phys. Rev. 130, 1677 (1963).

Reproducibility: each batch member draws from its own generator seeded by (seed, member index), so a
member's noise does not depend on which other members share the batch, and the same seed repeats a run.
"""
from __future__ import annotations

import numpy as np

from ..constants import kB
from ..drives import as_drive, drive_values
from .base import Term


class ThermalField(Term):
    """Brown's thermal field; ``temperature`` in K (a number, a per-member array or a drive of t)."""

    name = "thermal"
    stores_energy = False

    def __init__(self, system, temperature=0.0, seed=0, batch=1):
        super().__init__(system)
        self.batch = int(batch)
        self.seed = int(seed)
        alpha = system.param("alpha")
        gamma = system.param("gamma")
        MsV = system.Ms_eff * self.grid.cell_volume
        mag = system.magnetic & (MsV > 0)
        # sqrt(2 α kB / (γ Ms V)) per cell; × sqrt(T/Δt) per member and step
        self._coef = np.where(mag, np.sqrt(2 * alpha * kB / np.where(mag, gamma * MsV, 1.0)), 0.0)
        self.set_temperature(temperature)
        self.reset_rng()
        self._B = np.zeros((self.batch, 3) + self.grid.shape)
        self.enabled = True

    def set_temperature(self, temperature):
        if not callable(temperature):
            T = np.asarray(temperature, dtype=float)
            if T.ndim > 1 or not np.all(np.isfinite(T)) or np.any(T < 0):
                raise ValueError(f"temperature must be >= 0 K (a number, one per batch member, or a function of t), "
                                 f"got {temperature!r}")
            if T.ndim == 1 and T.shape[0] != self.batch:
                raise ValueError(f"temperature has {T.shape[0]} values for a batch of {self.batch} members")
        self.temperature = as_drive(temperature)

    def reset_rng(self, seed=None, seeds=None):
        """Restart the noise: member b draws from the stream (seed, b), or from (seeds[b], 0) when a list of
        per-member seeds is given (so a member's noise follows it into any batch, e.g. a sweep's chunks)."""
        if seed is not None:
            self.seed = int(seed)
        if seeds is not None:
            seeds = [int(s) for s in seeds]
            if len(seeds) != self.batch:
                raise ValueError(f"seeds has {len(seeds)} entries for a batch of {self.batch} members")
            self.rngs = [np.random.Generator(np.random.PCG64([s, 0])) for s in seeds]
        else:
            self.rngs = [np.random.Generator(np.random.PCG64([self.seed, b])) for b in range(self.batch)]

    def active(self, t=None):
        """Whether the thermal field is on: T > 0 for some member now, or T is a time-dependent drive."""
        from ..drives import DC

        if not isinstance(self.temperature, DC):
            return True
        t = np.zeros(self.batch) if t is None else t
        return bool(np.any(drive_values(self.temperature, t, self.batch) > 0))

    def begin_step(self, t, dt):
        """Draw this step's field for every member (members with dt = 0 keep theirs and draw nothing)."""
        T = drive_values(self.temperature, t, self.batch)
        dt = np.broadcast_to(np.asarray(dt, dtype=float), (self.batch,))
        for b in range(self.batch):
            if dt[b] <= 0:
                continue
            if T[b] <= 0:
                self._B[b] = 0.0
                continue
            self.rngs[b].standard_normal(out=self._B[b])
            self._B[b] *= self._coef * np.sqrt(T[b] / dt[b])

    def add_field(self, m, t, B):
        if self.enabled:
            B += self._B

    def energy_density(self, m, t):
        return np.zeros((m.shape[0],) + m.shape[2:])

    def state(self):
        """RNG states (for checkpoints)."""
        return [r.bit_generator.state for r in self.rngs]
