"""The landscape of a barrier: a copy of a Simulation with only the energy terms (no torques, no noise) and
any batch size."""
from __future__ import annotations

import copy

import numpy as np

from ...engine.validation import check_int

__all__ = ["member0", "clone_simulation"]


def member0(value):
    """A per-member setting of a batch-1 simulation as the single value (so it broadcasts to a new batch)."""
    if value is None or callable(value):
        return value
    a = np.asarray(value, dtype=float)
    if a.ndim in (2, 5) and a.shape[0] == 1:
        return a[0]
    return value


def clone_simulation(sim, batch):
    """A new :class:`~micromag.engine.simulation.Simulation` that holds the same energy landscape as ``sim`` with
    ``batch`` members.

    Copied: grid, geometry (fill fractions), region map and materials, backend and dtype, whether demag is
    on, the integrator settings (integrator, tol, dt_min, dt_max), the applied field ``B_ext`` (a vector, a
    spatial field or a function of t; all members at ``sim``'s time) and every *added energy term* (VCMA, an
    Oersted field, ...: a deep copy bound to the new system, whose precomputed arrays are the same because
    the system is). Left out: torque terms (spin-transfer, spin-orbit, Zhang–Li) and the thermal field,
    which store no energy. The magnetization of every member is +x (set it with ``clone.m = ...``).

    ``sim`` must have ``batch=1`` (a batch's per-member settings have no single value to copy).
    """
    from ...engine.simulation import Simulation

    if not isinstance(sim, Simulation):
        raise TypeError(f"sim must be a micromag Simulation, got {type(sim).__name__}")
    if sim.batch != 1:
        raise ValueError(f"sim has batch = {sim.batch}: give a simulation with batch=1 (the clone makes its own "
                         "batch)")
    batch = check_int("batch", batch, lo=1)
    system = sim.system
    materials = {r: mat for r, mat in enumerate(system.materials) if mat is not None}
    clone = Simulation(sim.grid, material=system.default_material, geometry=system.fill, regions=system.region,
                       materials=materials, batch=int(batch), backend=sim.backend, demag="demag" in sim.terms,
                       integrator=sim.integrator, tol=sim.tol, dt_min=sim.dt_min, dt_max=sim.dt_max,
                       dtype=sim.dtype)
    clone.t = sim.t
    if sim.B_ext is not None:
        clone.B_ext = member0(sim.B_ext)
    memo = {id(system): clone.system, id(sim.grid): clone.grid}
    for name, term in sim.terms.items():
        if name in clone.terms:  # built by the clone's constructor from the same materials (a term's ``auto``)
            continue
        if getattr(term, "is_torque", False) or getattr(term, "stochastic", False) \
                or not getattr(term, "stores_energy", True):
            continue
        clone.add(copy.deepcopy(term, dict(memo)), name=name)
    return clone
