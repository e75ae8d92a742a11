"""Thermal fluctuations: Brown's stochastic field.

    B_th = η · sqrt( 2 α kB T / (γ Ms V Δt) )          (T)

with η a standard normal vector per cell, component and time step, α the damping, kB Boltzmann's constant,
T the temperature (K), γ the gyromagnetic ratio (rad/(s·T)), Ms·V the cell's moment (A·m², Ms times the
fill-weighted cell volume) and Δt the time step (s). The field is held constant over a step (Stratonovich
calculus), which is why it needs the stochastic Heun integrator with a fixed step: the Simulation switches
to it while any member has T > 0. Brown, Phys. Rev. 130, 1677 (1963).

Reproducibility: the normals come from the counter-based generator shared by every backend
(:mod:`micromag.engine.philox`), keyed by the member's seed, its identity (``member id``: its index in the whole
batch or sweep) and the number of steps it has taken. A member's noise therefore does not depend on which
other members share the array, on batch compaction or chunking, or on a checkpoint/resume, and the same
seed repeats a run on the CPU and on the GPU (to float precision).
"""
from __future__ import annotations

import numpy as np

from ..constants import kB
from ..drives import as_drive, drive_values
from ..philox import normals3
from .base import DRIVE, PATTERN, Param, Term, drive_is_static


T_MAX = 1e4  # K: above every Curie temperature (Co 1388 K); a larger temperature is a unit or sign mistake


def check_temperatures(T, t):
    """The temperatures (K) a drive gave at member times ``t`` (s), checked: in [0, T_MAX], finite."""
    T = np.asarray(T, dtype=float)
    bad = ~(np.isfinite(T) & (T >= 0) & (T <= T_MAX))
    if np.any(bad):
        b = int(np.flatnonzero(bad)[0])
        tb = float(np.broadcast_to(np.asarray(t, dtype=float), T.shape)[b])
        raise ValueError(f"temperature = {float(T.flat[b]):g} K at t = {tb:g} s (member {b}) is outside [0, {T_MAX:g}] K: "
                         "the temperature drive must give Kelvin >= 0")
    return T


class ThermalField(Term):
    """Brown's thermal field; ``temperature`` in K (a number, a per-member array or a drive of t).

    ``seed``: the seed of every member (member b then draws the stream (seed, b)); ``reset_rng(seeds=...)``
    gives each member a seed of its own (stream (seed_b, 0): that of a single run with ``sim.seed = seed_b``).
    """

    name = "thermal"
    kernel = "thermal.cuh"
    energy_rule = None
    stores_energy = False
    stochastic = True
    noise = ("coef", "T")  # the backend's white-noise kernel: field = coef[c] sqrt(T[b] / dt[b]) eta
    drive_sources = {"T": "temperature"}
    parameters = (
        Param("coef", "T·s^½/K^½", PATTERN, "sqrt(2 α kB / (γ Ms V)) per cell"),
        Param("T", "K", DRIVE, "temperature of each member", lo=0.0, hi=T_MAX),
        Param("field", "T", PATTERN, "the step's thermal field (B, 3, nz, ny, nx), written by the backend"),
    )

    def __init__(self, system, temperature=0.0, seed=0, batch=1):
        super().__init__(system)
        self.batch = int(batch)
        self.seed = int(seed)
        self.prepare()
        self.set_temperature(temperature)
        self.reset_rng()
        self._B = np.zeros((self.batch, 3) + self.grid.shape)
        self.enabled = True

    def prepare(self):
        """The amplitude sqrt(2 α kB / (γ Ms V)) per cell from the current materials."""
        system = self.system
        alpha = system.param("alpha")
        gamma = system.param("gamma")
        MsV = system.Ms_eff * self.grid.cell_volume
        mag = system.magnetic & (MsV > 0)
        self._coef = np.where(mag, np.sqrt(2 * alpha * kB / np.where(mag, gamma * MsV, 1.0)), 0.0)

    def set_temperature(self, temperature):
        if not callable(temperature):
            try:
                T = np.asarray(temperature, dtype=float)
            except (TypeError, ValueError):
                T = np.array(np.nan)
            if T.ndim > 1 or not np.all(np.isfinite(T)) or np.any(T < 0) or np.any(T > T_MAX):
                raise ValueError(f"temperature must be in [0, {T_MAX:g}] K (a number, one per batch member, or a "
                                 f"function of t), got {temperature!r}")
            if T.ndim == 1 and T.shape[0] != self.batch:
                raise ValueError(f"temperature has {T.shape[0]} values for a batch of {self.batch} members")
        self.temperature = as_drive(temperature)

    # ------------------------------------------------------------------ the noise identity
    def reset_rng(self, seed=None, seeds=None, member_ids=None):
        """Restart the noise: member b draws from the stream (seed, b), or from (seeds[b], 0) when a list of
        per-member seeds is given (the stream of a single run with that seed, so a member's noise follows
        it into any batch), or from (seed, member_ids[b]) (its index in a larger batch). Step counts go to 0."""
        if seed is not None:
            self.seed = int(seed)
        B = self.batch
        if seeds is not None:
            seeds = [int(s) for s in seeds]
            if len(seeds) != B:
                raise ValueError(f"seeds has {len(seeds)} entries for a batch of {B} members")
            self.seeds = np.array([s & 0xFFFFFFFFFFFFFFFF for s in seeds], dtype=np.uint64)
            ids = np.zeros(B, dtype=np.uint32) if member_ids is None else member_ids
        else:
            self.seeds = np.full(B, self.seed & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
            ids = np.arange(B) if member_ids is None else member_ids
        ids = np.asarray(ids)
        if ids.shape != (B,) or np.any(ids < 0) or np.any(ids >= 2**32):
            raise ValueError(f"member_ids must be {B} integers in [0, 2**32)")
        self.member_ids = ids.astype(np.uint32)
        self.counters = np.zeros(B, dtype=np.int64)

    def noise_state(self):
        """{"seeds", "member_ids", "counters"}: the member identities and step counts (copies)."""
        return {"seeds": self.seeds.copy(), "member_ids": self.member_ids.copy(), "counters": self.counters.copy()}

    def set_noise_state(self, state, rows=None):
        """Take over identities and step counts (all, or rows ``rows`` of ``state``: batch compaction)."""
        sel = slice(None) if rows is None else np.asarray(rows)
        seeds = np.asarray(state["seeds"], dtype=np.uint64)[sel]
        if seeds.shape != (self.batch,):
            raise ValueError(f"noise state holds {seeds.shape[0]} members, this term has {self.batch}")
        self.seeds = seeds.copy()
        self.member_ids = np.asarray(state["member_ids"], dtype=np.uint32)[sel].copy()
        self.counters = np.asarray(state["counters"], dtype=np.int64)[sel].copy()

    def state(self):
        """Noise state (for checkpoints)."""
        return self.noise_state()

    def check_batch(self, batch):
        if batch != self.batch:
            raise ValueError(f"the thermal term was built for {self.batch} members, the batch has {batch}")

    # ------------------------------------------------------------------ NumPy
    def active(self, t=None):
        """Whether the thermal field is on: T > 0 for some member now, or T is a time-dependent drive."""
        if not drive_is_static(self.temperature):
            return True
        t = np.zeros(self.batch) if t is None else t
        return bool(np.any(drive_values(self.temperature, t, self.batch) > 0))

    def device_drives(self, t, batch, m=None):
        drives = super().device_drives(t, batch, m)
        check_temperatures(drives["T"], t)
        return drives

    def begin_step(self, t, dt):
        """Draw this step's field for every member (members with dt = 0 keep theirs and draw nothing)."""
        T = check_temperatures(drive_values(self.temperature, t, self.batch), t)
        dt = np.broadcast_to(np.asarray(dt, dtype=float), (self.batch,))
        act = np.nonzero(dt > 0)[0]
        if act.size == 0:
            return
        eta = normals3(self.grid.ncells, self.member_ids[act], self.counters[act], self.seeds[act])
        for j, b in enumerate(act):
            if T[b] <= 0:
                self._B[b] = 0.0
            else:
                self._B[b] = (self._coef * np.sqrt(T[b] / dt[b]))[None] * eta[j].reshape((3,) + self.grid.shape)
        self.counters[act] += 1

    def add_field(self, m, t, B):
        if self.enabled:
            B += self._B

    # ------------------------------------------------------------------ device inputs
    def device_patterns(self):
        return {"coef": self._coef}

