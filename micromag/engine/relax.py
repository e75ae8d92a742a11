"""``Simulation.relax()``: to the nearest energy minimum, to a torque target, in few field evaluations.

relax() ends in a state where every magnetic cell satisfies

    |m × B_eff| < tol_torque        (T)

with the drives held at the simulation's present time, torques (STT, SOT) and thermal noise off: a fixed
point of the precession-free LLG, dm/dt = −γ m × (m × B_eff). It gets there in two phases.

1. **Descent along the precession-free LLG direction** d = −m × (m × B) = B − (m·B) m. The precession-free
   LLG is the gradient flow of the energy (d is −∂E/∂m projected on the sphere, divided by Ms V), so
   following d with long steps reaches the minimum the flow is heading to, without resolving the flow's
   transient. Each iteration is one field evaluation:

       m ← [(4 − τ²|m×B|²) m + 4τ d] / (4 + τ²|m×B|²)          (a Cayley step: |m| = 1 exactly)

   with τ (1/T) from the two Barzilai–Borwein formulas in turn, τ1 = (s·s)/(s·y), τ2 = (s·y)/(y·y),
   s = Δm, y = −Δd (Barzilai & Borwein, IMA J. Numer. Anal. 8, 141 (1988); for micromagnetics Exl et al.,
   J. Appl. Phys. 115, 17D118 (2014)), capped so that no cell turns by more than ``max_angle`` (0.2 rad)
   per iteration (where the BB estimate is negative, on concave stretches of the energy, the capped step
   is taken): far from equilibrium the step follows the flow's direction in short pieces, so the
   state cannot jump over an energy barrier into another basin; near the minimum the cap is inactive and
   the BB steps converge superlinearly. Every batch member has its own τ and stops on its own: a member
   whose largest torque is below ``tol_torque`` is not moved again.

   Cells where a term declares a stiff self-coupling (``Term.local_stiffness``: the DMI boundary condition,
   D²/(2A Ms) = 5e8 T with A = 1e-21 J/m) take the semi-implicit step τ (I + τ|Q|)⁻¹ d instead of τ d, Q
   their local 2×2 Hessian on the tangent plane (:mod:`micromag.engine.stiff_cells`), and the BB formulas
   see y less Q s: the stiff directions converge by Newton steps, the step length is set by the rest.

2. **Precession-free polishing** (only for members phase 1 left unconverged: its iteration budget spent
   or no progress in ``patience`` iterations, which happens on very flat or rugged landscapes): the
   precession-free LLG integrated with adaptive RK23 on a relaxation clock of its own, the way MuMax3's
   Relax() does — first while the torque falls, then with the step tolerance divided by √2 each time the
   mean torque stops falling (an adaptive step at the edge of stability leaves a torque floor
   ~ tol/(γ dt)), down to 1e-9, or until ``max_time`` s of relaxation time.

Cost on µMAG standard problem 4 (the s-state at 128×32×1, tol_torque = 1e-5 T): see
``benchmarks/bench_relax.py`` and ``benchmarks/results/relax-*.json`` (phase 1 alone converges there).

A field evaluation is counted in ``sim.llg.nevals`` as in every other solver.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .minimize import bb_estimate
from .progress import Progress
from .stiff_cells import LocalStiffness
from .validation import check_positive


class _HeldTime:
    """The LLG right-hand side with every drive held at fixed member times (the relaxation clock of phase
    2 is not the simulation's time); everything else is the wrapped object's. The GPU backend evaluates
    host drives (and time-dependent patterns) through ``update_drives``/``update_patterns``: held too."""

    def __init__(self, llg, t):
        self._llg, self._t = llg, t

    def __call__(self, m, t, out):
        return self._llg(m, self._t, out)

    def effective_field(self, m, t=None, out=None):
        return self._llg.effective_field(m, self._t, out)

    @property
    def nevals(self):  # the count lives in the wrapped engine (a stepper adds to it)
        return self._llg.nevals

    @nevals.setter
    def nevals(self, value):
        self._llg.nevals = value

    # the GPU backend evaluates host drives through these (at stage times, here all frozen)
    def update_drives(self, t_rows, m=None, first_row=0):
        th = np.asarray(self._llg.device.asnumpy(self._t), dtype=float)
        rows = np.broadcast_to(th, np.atleast_2d(np.asarray(t_rows)).shape)
        return self._llg.update_drives(rows, m=m, first_row=first_row)

    def update_patterns(self, t):
        return self._llg.update_patterns(np.asarray(self._llg.device.asnumpy(self._t), dtype=float))

    def __getattr__(self, name):
        return getattr(self._llg, name)


def _torque_sq(llg, m, t, free):
    """(|m × B|² per cell (B, nz, ny, nx), the descent direction d = B − (m·B) m) for the free cells."""
    B = llg.effective_field(m, t)
    llg.nevals += 1  # one field evaluation, the cost unit of every solver
    mb = (m * B).sum(axis=1, keepdims=True)
    d = B - mb * m
    d *= free
    return (d * d).sum(axis=1), d


def descend(llg, m, t, free, tol_torque, max_iter=20000, patience=2000, tau0=1e-4, max_angle=0.2, xp=np,
            prog=None, active=None, on_iteration=None, stiff=None):
    """Phase 1 (see the module docstring): move ``m`` (arrays of ``xp``, changed in place) down the
    precession-free LLG direction with capped Barzilai–Borwein steps until every member's largest
    |m × B_eff| over the ``free`` cells (a (nz, ny, nx) 0/1 array) is below ``tol_torque`` (T).

    ``active`` (bool (B,), host) limits the members that move; converged members stop moving.
    ``on_iteration(it, torque)`` is called after every field evaluation (torque: host (B,) in T).
    ``stiff`` (:class:`~micromag.engine.stiff_cells.LocalStiffness`): cells whose stiff self-coupling the
    step treats implicitly.
    Returns (largest torque per member in T as a host array (B,), iterations, converged (B,) bool).
    """
    nb = m.shape[0]
    active = np.ones(nb, bool) if active is None else np.array(active, bool)
    converged = np.zeros(nb, bool)
    tau = xp.full(nb, tau0, dtype=m.dtype)
    best = np.full(nb, np.inf)
    since_best = np.zeros(nb, np.int64)
    m_old = d_old = None
    tq = np.full(nb, np.inf)
    tq0 = None
    it = 0
    m_best, tq_best = m.copy(), np.full(nb, np.inf)  # BB is not monotone: the best state seen is kept
    for it in range(1, max_iter + 1):
        tsq, d = _torque_sq(llg, m, t, free)
        tmax_dev = xp.sqrt(tsq.reshape(nb, -1).max(axis=1))
        tq = np.asarray(tmax_dev if xp is np else xp.asnumpy(tmax_dev), dtype=float).reshape(nb)
        tq = np.where(np.isfinite(tq), tq, np.inf)
        if tq0 is None:
            tq0 = tq.copy()
        better = tq < tq_best
        if better.any():
            m_best[...] = xp.where(xp.asarray(better).reshape((nb,) + (1,) * (m.ndim - 1)), m, m_best)
            tq_best = np.where(better, tq, tq_best)
        if on_iteration is not None:
            on_iteration(it, tq)
        converged |= tq < tol_torque
        improved = tq < 0.9 * best
        best = np.where(improved, tq, best)
        since_best = np.where(improved, 0, since_best + 1)
        active &= ~converged & (since_best < patience)  # no progress in `patience` iterations: phase 2's
        if prog is not None and prog.due():
            worst = float(tq[~converged].max()) if (~converged).any() else float(tq.max())
            prog.update(_fraction(float(tq0.max()), worst, tol_torque),
                        f"max torque {worst:.3g} T (target {tol_torque:g} T), {it} field evaluations")
        if not active.any():
            break
        if d_old is not None:
            new, ok = bb_estimate(m, m_old, d, d_old, it, xp, implicit=None if stiff is None else stiff.hessian_times)
            # negative curvature along the step (s·y < 0: the energy is concave there, far from a minimum):
            # no BB estimate; take the largest step the cap allows, which still goes downhill
            tau = xp.where(ok, new, xp.inf if stiff is None else 10 * tau).astype(m.dtype)
        go = xp.asarray(active)
        if stiff is None:
            # cap the rotation: τ |d| <= max_angle in every cell of the member
            tau = xp.minimum(tau, max_angle / xp.maximum(tmax_dev, 1e-300)).astype(m.dtype)
            u = xp.where(go, tau, 0).reshape((nb,) + (1,) * (m.ndim - 1)) * d
        else:
            u = stiff.step(m, d, tau)
            umax = xp.sqrt((u * u).sum(axis=1).reshape(nb, -1).max(axis=1))
            scale = xp.minimum(1.0, max_angle / xp.maximum(umax, 1e-300))  # the same cap on the step taken
            tau = (tau * scale).astype(m.dtype)
            u *= xp.where(go, scale, 0).reshape((nb,) + (1,) * (m.ndim - 1))
        m_old = m.copy()
        d_old = d
        tt = (u * u).sum(axis=1, keepdims=True)
        new_m = (4 - tt) * m + 4 * u
        new_m /= (4 + tt)
        # the update keeps |m| = 1 only up to round-off, which would build up
        new_m /= xp.maximum(xp.sqrt((new_m * new_m).sum(axis=1, keepdims=True)), 1e-30)
        # members that stopped, frozen and empty cells keep their values bit for bit
        keep = ~go.reshape((nb,) + (1,) * (m.ndim - 1)) | ~free.astype(bool)
        m[...] = xp.where(keep, m_old, new_m)
    # members that did not converge end in the best state seen (BB is not monotone; after the budget
    # the last update has not even been evaluated)
    back = ~converged
    if back.any():
        m[...] = xp.where(xp.asarray(back).reshape((nb,) + (1,) * (m.ndim - 1)), m_best, m)
        tq = np.where(back, tq_best, tq)
    return tq, it, converged


def _fraction(tq0, tq, tol):
    """Progress as the fraction of the way from the first torque to the target on a log scale."""
    if not (tq0 > tol and tq > 0 and math.isfinite(tq0)):
        return 1.0 if tq < tol else 0.0
    return min(1.0, max(0.0, math.log(tq0 / max(tq, tol)) / math.log(tq0 / tol)))


def relax(sim, tol_torque=1e-5, max_time=50e-9, progress=True, frozen=None, max_iter=20000, patience=2000,
          on_iteration=None, label="relax", polish=True):
    """Relax ``sim`` (a :class:`~micromag.Simulation`) as described in the module docstring.

    tol_torque : target of the largest |m × B_eff| in T, per member.
    max_time : relaxation time budget of the dynamic phase 2, s (phase 1 does not use it).
    frozen : optional bool array (nz, ny, nx): cells that keep their m (fixed spins); they are excluded
        from the torque criterion.
    max_iter, patience : phase 1 budget and how many iterations without a 10 % gain of a member's torque
        send it to phase 2.
    on_iteration : optional ``f(iteration, torque (B,) in T)`` called after each descent iteration.
    label : the progress label.
    polish : False skips phase 2 (members the descent leaves unconverged stay so).

    Returns (the largest final torque in T per member as a host array (B,), info dict with
    ``field_evaluations``, ``descent_iterations``, ``dynamic_evaluations`` and ``converged`` (B,)).
    """
    xp = sim.xp
    state = sim.state  # the live m and t, changed in place
    free = state.mask
    if frozen is None:  # the layers held fixed by their material (Material.frozen = 1)
        held = sim.system.magnetic & (sim.system.param("frozen") != 0)
        frozen = held if held.any() else None
    if frozen is not None:
        frozen = np.asarray(frozen, dtype=bool)
        if frozen.shape != sim.grid.shape:
            raise ValueError(f"frozen must be a bool array of the grid shape {sim.grid.shape}, got {frozen.shape}")
        free = free * xp.asarray((~frozen).astype(free.dtype))
    if not bool((free > 0).any()):
        raise ValueError("every magnetic cell is frozen: nothing to relax")
    engine = sim.llg
    n0 = engine.nevals
    th = sim.terms.get("thermal")
    prog = Progress(label, 1.0, enabled=progress)
    if th is not None:
        th.enabled = False
    t_held = xp.asarray(state.t).copy()
    m = state.m
    stiff = LocalStiffness.of_terms(sim.terms.values(), sim.grid.shape, xp)
    try:
        tq, iters, conv = descend(engine, m, t_held, free, tol_torque, max_iter=max_iter, patience=patience,
                                  xp=xp, prog=prog, on_iteration=on_iteration, stiff=stiff)
        n1 = engine.nevals
        if not np.all(np.isfinite(tq)):  # no state with a finite torque: m is back at the start; say why
            from .guard import check_torque

            check_torque(sim, float("nan"), label)
        if polish and not conv.all():
            tq = _polish(sim, tol_torque, max_time, free, conv, prog)
            conv = tq < tol_torque
    finally:
        if th is not None:
            th.enabled = True
        sim.llg = engine
        engine.precession = True
    sim.state_changed()
    info = dict(field_evaluations=engine.nevals - n0, descent_iterations=iters,
                dynamic_evaluations=engine.nevals - n1, converged=conv)
    prog.done(f"max torque {float(tq.max()):.3g} T after {info['field_evaluations']} field evaluations")
    return tq, info


def _polish(sim, tol_torque, max_time, free, done, prog):
    """Phase 2 for the members not in ``done``: MuMax3-style precession-free RK23 (module docstring).
    Returns the final largest torque per member (host (B,))."""
    xp = sim.xp
    nb = sim.batch
    engine = sim.llg
    state = sim.state
    sim.llg = _HeldTime(engine, xp.asarray(state.t).copy())
    try:
        st = sim.new_stepper("rk23", 1e-4, 1e-10)
    finally:
        sim.llg = engine
    m = state.m
    keep = m.copy()
    fixed = ~free.astype(bool)  # frozen and empty cells
    t = xp.zeros(nb)
    # members already converged do not move: their clock starts at its end
    t_end_host = np.where(done, 0.0, max_time)
    t_end = xp.asarray(t_end_host)
    engine.precession = False
    held = state.t
    host = (lambda a: np.asarray(a if xp is np else xp.asnumpy(a), dtype=float))

    def torques():
        B = engine.effective_field(m, held)
        engine.nevals += 1
        tq = xp.cross(m, B, axis=1)
        n2 = ((tq * tq).sum(axis=1) * free).reshape(nb, -1)
        return host(xp.sqrt(n2.max(axis=1))), host(n2.mean(axis=1))

    def steps(n=3):
        for _ in range(n):
            st.step(m, t, t_end=t_end)
        if fixed.any():  # fixed spins back to their values (they moved only within the steps)
            m[:, :, fixed] = keep[:, :, fixed]
        return bool((t >= t_end).all())

    def finish(tq):
        """Members below the target stop: their clock's end moves to their present time."""
        nonlocal t_end, t_end_host
        newly = tq < tol_torque
        if newly.any():
            t_end_host = np.where(newly, np.minimum(t_end_host, host(t)), t_end_host)
            t_end = xp.asarray(t_end_host)

    start = m.copy()
    tq, T1 = torques()
    tq_start = tq.copy()
    finish(tq)
    tq0 = float(tq.max())
    finished = bool((t >= t_end).all())
    # first while the mean torque falls, then with a tighter step tolerance each time it stops falling
    while not finished:
        T0 = np.full(nb, np.inf)
        while not finished and np.any(T1 < T0):
            finished = steps()
            T0 = T1
            tq, T1 = torques()
            finish(tq)
            finished = finished or bool((t >= t_end).all())
            if prog.due():
                worst = float(tq[tq >= tol_torque].max()) if (tq >= tol_torque).any() else float(tq.max())
                prog.update(_fraction(tq0, worst, tol_torque),
                            f"max torque {worst:.3g} T (target {tol_torque:g} T), step tolerance {st.tol:.2g} "
                            f"(dynamic polishing)")
        if st.tol <= 1e-9 or not np.all(np.isfinite(tq)):
            break
        st.tol /= math.sqrt(2)
    bad = ~np.isfinite(tq) | (tq > tq_start)  # a stiff problem (dt below dt_min) can blow up: undo it
    if bad.any():
        m[...] = xp.where(xp.asarray(bad).reshape((nb,) + (1,) * (m.ndim - 1)), start, m)
        tq = np.where(bad, tq_start, tq)
        warnings.warn("relax(): the dynamic polishing did not lower the torque (a stiff problem: fields of very "
                      "different size); the state is the descent's best", RuntimeWarning, stacklevel=4)
    return tq


def relax_simulation(sim, tol_torque=1e-5, max_time=50e-9, progress=True):
    """What ``Simulation.relax`` does: validate, relax, warn when a member did not converge, and return the
    largest final torque in T over all members (a float)."""
    tol_torque = check_positive("tol_torque", tol_torque, unit="T")
    max_time = check_positive("max_time", max_time, unit="s")
    tq, info = relax(sim, tol_torque, max_time, progress)
    worst = float(np.max(tq))
    if worst >= tol_torque:
        warnings.warn(f"relax() stopped with max torque {worst:.3g} T, above tol_torque = {tol_torque:g} T "
                      "(step tolerance exhausted or max_time reached): the state is not converged",
                      RuntimeWarning, stacklevel=3)
    return worst
