"""Time evolution of a :class:`~micromag.engine.simulation.Simulation`: steps, the run loop and its schedule of
table rows and snapshots, the run-cost bound and stability check, relax and minimize."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..progress import Progress
from ..threads import during_run
from ..validation import check_positive


MAX_MARKS = 1e9  # table/snapshot times of one run (each costs at least one step and one row)


def _stop_flags(value, batch):
    """A ``stop(sim)`` callback's answer as (B,) bools: True/False, or one per member; anything else (a string,
    a number, None) is an error, never taken as true."""
    a = np.asarray(value)
    if a.dtype != bool or a.ndim > 1 or (a.ndim == 1 and a.shape[0] not in (1, batch)):
        raise TypeError(f"stop(sim) must return True/False or {batch} bools (one per member), got {value!r}")
    return np.broadcast_to(a.reshape(-1) if a.ndim else a, (batch,))


def check_tol(tol):
    """``tol`` of the adaptive integrators checked: in (0, 1), dimensionless."""
    v = check_positive("tol", tol, unit="(dimensionless: largest error of the unit vector m per step)")
    if v >= 1:
        raise ValueError(f"tol must lie in (0, 1) (dimensionless: the largest error of the unit vector m per "
                         f"step; typical 1e-5 .. 1e-3), got {tol!r}")
    return v


class TimeEvolution:
    """Part of :class:`~micromag.engine.simulation.Simulation`: step, run, relax, minimize."""

    # ------------------------------------------------------------------ time evolution
    @during_run  # BLAS on one thread while stepping (micromag.engine.threads)
    def step(self, n=1):
        """Take n >= 1 integrator steps (accepted or not). Raises :class:`~micromag.engine.guard.SimulationDiverged`
        (the last good state kept) if a member's state stopped being finite."""
        from ..guard import RunGuard, check_int

        n = check_int("n (the number of steps)", n, lo=1)
        self.tol = check_tol(self.tol)
        st = self.stepper
        self._retry_frozen(st)
        guard = RunGuard(self, st, self._m, self._t)
        for _ in range(n):
            st.step(self._m, self._t)
        guard.check(state=True)
        err = guard.error("step")
        if err is not None:
            raise err

    def _retry_frozen(self, st):
        """A member frozen by an earlier failure gets a fresh try at the initial step (its field may have
        been changed since)."""
        xp = self.xp
        bad = ~xp.isfinite(st.dt)
        if bool(bad.any()):
            st.dt[...] = xp.where(bad, self._dt0, st.dt)
            st.invalidate()

    def _durations(self, duration):
        """One duration per member (s), checked."""
        B = self.batch
        try:
            if np.asarray(duration).dtype.kind not in "iuf":  # True, "1e-9", None: not a time
                raise TypeError
            d = np.asarray(duration, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"duration must be a time in s (a number, or {B} numbers, one per member), "
                             f"got {duration!r}") from None
        if d.ndim > 1 or (d.ndim == 1 and d.shape[0] not in (1, B)):
            raise ValueError(f"duration must be one number or {B} numbers (one per batch member) in s, got "
                             f"{d.shape[0] if d.ndim == 1 else d.shape} values")
        d = np.broadcast_to(d.reshape(-1) if d.ndim else d, (B,)).copy()
        for v in d:
            check_positive("duration", v, "s")
        return d

    @staticmethod
    def _schedule(durations, every, snapshot_every):
        """The marks of a run, lazily: (offset from the start in s, is a table time, is a snapshot time), in
        order; times closer than 1e-9 of the finest interval merge. Memory O(1), however many marks."""
        import heapq

        longest = float(max(durations))

        def ticks(step, tab):
            if step is None:
                return
            n = int(math.floor(longest / step * (1 + 1e-12)))
            for i in range(n):
                yield (step * (i + 1), tab, not tab)

        ends = sorted((float(d), every is None, False) for d in durations)
        eps = 1e-9 * min(x for x in (every, snapshot_every, longest) if x)
        cur = None
        for x, is_tab, is_snap in heapq.merge(ticks(every, True), ticks(snapshot_every, False), ends):
            if cur is not None and x - cur[0] <= eps:
                cur = (cur[0], cur[1] or is_tab, cur[2] or is_snap)
                continue
            if cur is not None:
                yield cur
            cur = (x, is_tab, is_snap)
        if cur is not None:
            yield cur

    def precession_frequency_bound(self):
        """The fastest rate of the linearized LLG on the grid now, one field evaluation: a dict with ``omega``
        = max over regions of γ (B_max + B_ex)/√(1 + α²) rad/s (|λ| for λ = γB(−α + i)/(1 + α²)), ``alpha``
        the damping of that region, ``B_max`` = max |B_eff| (T) and ``B_ex`` = (2A/Ms) Σ 4/d_i² (T, the
        exchange field of the shortest spin wave). ``omega`` is 0 when there is no magnetic cell or the field
        is not finite."""
        sysm = self.system
        regions = np.unique(sysm.region[sysm.magnetic])
        Ms = sysm.table("Ms")[regions]
        ok = Ms > 0
        regions, Ms = regions[ok], Ms[ok]
        if not len(regions):
            return {"omega": 0.0, "alpha": 0.0, "B_max": 0.0, "B_ex": 0.0}
        A = sysm.table("A")[regions]
        gamma = sysm.table("gamma")[regions]
        alpha = sysm.table("alpha")[regions]
        g = self.grid
        k2 = sum(4.0 / d**2 for n, d, p in zip(g.n, g.cell, g.pbc) if n > 1 or p > 0)
        b_ex_r = 2 * A / Ms * k2
        Bf = self.llg.effective_field(self._m, self._t)
        with np.errstate(all="ignore"):
            b_max = math.sqrt(float((Bf * Bf).sum(axis=1).max()))
        # |λ| of the linearized LLG, λ = γ B (−α + i)/(1 + α²), per region; the largest decides
        rate = gamma / np.sqrt(1 + alpha**2) * (b_max + b_ex_r)
        r = int(np.argmax(rate))
        omega = float(rate[r]) if math.isfinite(b_max) else 0.0
        return {"omega": omega, "alpha": float(alpha[r]), "B_max": b_max, "B_ex": float(np.max(b_ex_r))}

    def _stability_check(self, st, longest):
        """Before a fixed-step run: warn when the step is clearly unstable. A mode with eigenvalue
        λ = ω (−α + i)/(1 + α²) (ω from :meth:`precession_frequency_bound`) grows by |R(λ dt)| per step
        (R: the tableau's stability function); the warning fires when that growth compounds to more than a
        factor 1000 over the run (an error seeded at 1e-3 then reaches order 1)."""
        from ..integrators import growth_factor, stability_limit

        xp = self.xp
        f = self.precession_frequency_bound()
        omega, alpha = f["omega"], f["alpha"]
        dt = float(xp.nanmax(st.dt)) if xp is not np else float(np.nanmax(st.dt))
        if not (omega > 0 and dt > 0):
            return
        rho = omega * dt
        u = complex(-alpha, 1.0) / math.sqrt(1 + alpha * alpha)
        growth = growth_factor(st.tab, rho * u)
        nsteps = max(1.0, longest / dt)
        if growth > 1 and nsteps * math.log(growth) > math.log(1e3):
            lim = stability_limit(st.tab, alpha)
            safe = (f"dt <= {lim / omega:.3g} s" if lim > 0
                    else "a smaller dt (it is unstable for undamped modes at any step)")
            warnings.warn(f"the fixed step dt = {dt:g} s of integrator {st.tab.name!r} is unstable here: the largest "
                          f"precession frequency γ(|B_eff| + B_ex) = {omega:.3g} rad/s (α = {alpha:g}) gives "
                          f"ω·dt = {rho:.3g}, beyond the stability limit {lim:.3g} of {st.tab.name}; errors grow by "
                          f"{growth:.3g} per step. Use {safe}, or an adaptive integrator (rk45)", RuntimeWarning,
                          stacklevel=3)

    def run_cost(self, duration):
        """Lower bounds of what ``run(duration)`` costs, before it starts (one field evaluation): a dict with
        ``steps``, ``evaluations``, ``seconds`` (wall time on this backend; see :mod:`micromag.engine.cost`) and the
        field figures of :meth:`precession_frequency_bound` it used."""
        from .. import cost
        from ..integrators import stability_limit

        st = self.stepper
        longest = float(np.max(self._durations(duration)))
        fixed = bool(getattr(st, "fixed", False))
        f = self.precession_frequency_bound()
        rho = stability_limit(st.tab, f["alpha"]) if f["omega"] > 0 and not fixed else None
        steps = cost.run_steps(longest, fixed, self._dt0, self.dt_max, f["omega"], rho)
        evals = steps * st.tab.stages
        seconds = evals * cost.eval_seconds(self.grid.ncells * self.batch, self.backend)
        return {"steps": steps, "evaluations": evals, "seconds": seconds, **f}

    @during_run  # BLAS on one thread while stepping (micromag.engine.threads)
    def run(self, duration, out=None, every=None, progress=True, snapshot_every=None, snapshot_members=None,
            snapshot_extra=(), stop=None, append=False, allow_long=False):
        """Integrate the LLG equation for ``duration`` seconds (a number, or one per batch member).

        out : folder for ``table.txt`` (``table_0000.txt``, ... for a batch) and snapshots (created if needed;
              a second run into the same folder by the same Simulation appends; an existing table or
              series from elsewhere is an error, never overwritten).
        every : table interval in s (rows at t0, t0 + every, ...; default: only start and end).
        snapshot_every : interval in s of ParaView snapshots (``m_000000.vti``, ... and ``m.pvd``, rewritten
              atomically after every frame); ``snapshot_members`` picks batch members (default all);
              ``snapshot_extra=("B_eff", "energy")`` adds the effective field and energy densities.
        stop : ``stop(sim) -> bool per member``, checked at every table/snapshot time: members for which it
              is true end there (their time stops advancing).
        append : continue the table and series already in ``out`` (after ``load_checkpoint``/
              ``restore_checkpoint``: the rows and frames after the checkpoint's time, written by the run
              that was interrupted, are removed first -- atomically -- so every time appears exactly once).

        A member whose state stops being finite, or whose step collapses, is frozen at its last good state
        while the others run on; then :class:`~micromag.engine.guard.SimulationDiverged` is raised naming the likely
        cause. A fixed-step integrator warns first when its step is clearly unstable for the present field.
        allow_long : start even when :meth:`run_cost` says the run takes longer than ``MICROMAG_MAX_HOURS``
              (default 2 h); otherwise such a run is refused before any step with the estimate.
        """
        from .. import memory
        from ..guard import RunGuard

        B = self.batch
        dur = self._durations(duration)
        self.tol = check_tol(self.tol)
        if every is not None:
            every = check_positive("every", every, "s")
            if every < self.dt_min:
                raise ValueError(f"every = {every:g} s is below dt_min = {self.dt_min:g} s: every table row would "
                                 "need a step shorter than the smallest one; choose every >= dt_min")
        if snapshot_every is not None:
            snapshot_every = check_positive("snapshot_every", snapshot_every, "s")
            if out is None:
                raise ValueError("snapshot_every needs out= (the folder of the ParaView series)")
            if snapshot_every < self.dt_min:
                raise ValueError(f"snapshot_every = {snapshot_every:g} s is below dt_min = {self.dt_min:g} s")
        if snapshot_members is not None:
            snapshot_members = list(np.atleast_1d(snapshot_members))
            bad = [b for b in snapshot_members if not (isinstance(b, (int, np.integer)) and not isinstance(b, bool)
                                                       and 0 <= int(b) < B)]
            if bad or not snapshot_members:
                raise ValueError(f"snapshot_members must list batch members 0..{B - 1} (this batch has {B}), got "
                                 f"{bad or snapshot_members!r}")
            snapshot_members = [int(b) for b in snapshot_members]
        longest = float(dur.max())
        nmarks = max(longest / every if every else 0, longest / snapshot_every if snapshot_every else 0)
        if nmarks > MAX_MARKS:
            raise ValueError(f"run({longest:g}) with every = {every} s and snapshot_every = {snapshot_every} s has "
                             f"{nmarks:.3g} table/snapshot times, each at least one step: more than {MAX_MARKS:.0e}; "
                             "raise every / snapshot_every")
        if out is not None:  # the files this schedule writes must fit on the disk (checked before any row)
            rows = (longest / every if every else 1) + 2
            nser = B if snapshot_members is None else len(list(snapshot_members))
            frames = (longest / snapshot_every + 2) * nser if snapshot_every else 0
            ncol = 8 + len(self.energy_terms()) + len(self._extra_columns)
            memory.check_output(rows * B, ncol, frames, self.grid.ncells * (20 + 12 * len(tuple(snapshot_extra)))
                                + 4096, self._out_dir(out), what=f"run({longest:g})")
        self._check_time_resolution(dur)
        field = self._check_run_cost(dur, allow_long)  # before any file is opened
        table = self._open_table(out, append) if out is not None else None
        series = self._open_series(out, snapshot_members, append) if snapshot_every is not None else None
        st = self.stepper
        self._retry_frozen(st)
        self.llg.precession = True
        if self.backend != "cpu":
            self.llg.refresh()  # settings changed on the terms directly (term.J = ...) are taken over
        xp = self.xp
        t0 = self.host(self._t)
        t_end = t0 + dur
        if getattr(st, "fixed", False):
            self._stability_check(st, longest)
        marks = self._schedule(dur, every, snapshot_every)
        if table is not None:
            self._write_row(table)  # the start, unless the table already has this time (a continued run)
        if series is not None:
            self._write_snapshots(series, snapshot_extra)
        guard = RunGuard(self, st, self._m, self._t)
        guard.check_field(B_max=field["B_max"])  # 1e5 T is nearly always a unit mistake: say so before the slow run
        prog = Progress("run", longest, enabled=progress)
        forced0 = getattr(st, "nforced", 0)
        steps0 = st.nsteps
        for mark, is_tab, is_snap in marks:
            target = np.minimum(t0 + mark, t_end)
            target_dev = xp.asarray(target)
            guard.new_target(target)
            burst = 1
            while bool((self._t < target_dev).any()):  # one scalar back from the device per burst
                # on a device the steps of a burst are issued without waiting for the device: a member that
                # reaches the target is masked (its remaining steps of the burst do nothing), so a burst
                # may overshoot in work, never in time; it doubles while the target is still ahead
                for _ in range(burst):
                    st.step(self._m, self._t, t_end=target_dev)
                    frozen = guard.after_step()
                    if frozen is not None:  # these members end here, at their last good state
                        t_end = np.where(frozen, self.host(self._t), t_end)
                        target = np.minimum(target, t_end)
                        target_dev = xp.asarray(target)
                        guard.new_target(target)
                        break
                if xp is not np:
                    burst = min(2 * burst, 16)
                if prog.due():
                    tmin = float(self._t.min())
                    rate = st.nsteps / max(prog.elapsed(), 1e-9)
                    prog.update(tmin - float(t0.min()), f"t = {tmin:.4g} s  dt = {float(xp.nanmin(st.dt)):.3g} s  "
                                f"steps {st.nsteps - steps0} of >= {field['steps']:.3g} estimated ({rate:.0f}/s)")
            frozen = guard.check(state=guard.keep)  # every table/check time sees the whole state
            if frozen is not None:
                t_end = np.where(frozen, self.host(self._t), t_end)
            if stop is not None:
                done = _stop_flags(stop(self), B)
                t_end = np.where(done, np.minimum(t_end, self.host(self._t)), t_end)
            last = bool(np.all(self.host(self._t) >= t_end))
            if table is not None and (is_tab or last):
                self._write_row(table)
            if series is not None and (is_snap or last):
                self._write_snapshots(series, snapshot_extra)
            if last:
                break
        prog.done(f"{st.nsteps} steps, {st.nevals} field evaluations")
        err = guard.error("run")
        if err is not None:
            raise err
        forced = getattr(st, "nforced", 0) - forced0
        if forced:
            warnings.warn(f"{forced} steps were taken at dt_min = {self.dt_min:g} s with an error above tol = "
                          f"{self.tol:g}: lower dt_min or raise tol", RuntimeWarning, stacklevel=2)
        return self

    def _check_time_resolution(self, dur):
        """Refuse a run that float64 time cannot resolve: at t the spacing of doubles is ulp(t); a run shorter
        than 1000 ulp (sim.t = 1e10 s, run(1e-12)) would end at once or in a handful of rounded steps."""
        t0 = self.host(self._t)
        ulp = np.spacing(np.abs(t0))
        bad = np.nonzero(1000 * ulp > dur)[0]
        if len(bad):
            b = int(bad[0])
            raise ValueError(f"t = {t0[b]:g} s is too large for run({dur[b]:g}): time in float64 is resolved to "
                             f"{ulp[b]:.3g} s there, so the run could not advance; set sim.t to the time since a "
                             "nearby origin (e.g. sim.t = 0)")

    def _check_run_cost(self, dur, allow_long):
        from .. import cost

        from ..guard import PLAUSIBLE_FIELD, field_report

        c = self.run_cost(dur)
        fixed = bool(getattr(self.stepper, "fixed", False))
        cause = ""
        if c["B_max"] > PLAUSIBLE_FIELD:
            cause = f" (largest from the {field_report(self)[1]})"
        why = (f"fixed step dt = {self._dt0:g} s" if fixed else
               f"steps <= min(dt_max = {self.dt_max:g} s, stability limit / ω) with ω = {c['omega']:.3g} rad/s from "
               f"|B_eff| up to {c['B_max']:.3g} T{cause} and the exchange field {c['B_ex']:.3g} T")
        cost.check(f"run({float(np.max(dur)):g})", c["seconds"], allow_long,
                   detail=f"at least {c['steps']:.3g} steps ({why}), {c['evaluations']:.3g} field evaluations of "
                   f"{self.grid.ncells * self.batch} cells on {self.backend}",
                   advice="Shorten the run, raise dt / dt_max, or check the field and parameter magnitudes.")
        return c

    @during_run  # BLAS on one thread while stepping (micromag.engine.threads)
    def relax(self, tol_torque=1e-5, max_time=50e-9, progress=True):
        """Relax to a local energy minimum: the state where the precession-free LLG,
        dm/dt = −γ m × (m × B_eff), stops, with the drives held at the present time (torques and thermal
        noise off).

        Descends along the precession-free LLG direction with capped Barzilai–Borwein steps (one field
        evaluation per iteration, no cell turning more than 0.2 rad per iteration, so the state stays in
        the basin the flow is in), then, only for members that stall, polishes with precession-free RK23
        the way MuMax3 relaxes (see :mod:`micromag.engine.relax`). Each batch member stops when its own largest
        |m × B_eff| is below ``tol_torque`` (T); ``max_time`` (s) bounds the relaxation clock of the
        polishing. Returns the largest final torque over all members in T (warns if above the target).
        """
        from ..relax import relax_simulation

        self._check_tolerance(check_positive("tol_torque", tol_torque, unit="T"))
        return relax_simulation(self, tol_torque, max_time, progress)

    def _check_tolerance(self, tol_torque):
        """Refuse a torque criterion (T) below what this dtype resolves at the present field, less the stiff
        self-couplings the descent treats implicitly (micromag.engine.stiff_cells: they vanish at the minimum,
        a DMI edge term of 5e8 T on a random start, say)."""
        from .. import cost
        from ..stiff_cells import LocalStiffness

        B = self.llg.effective_field(self._m, self._t)
        stiff = LocalStiffness.of_terms(self.terms.values(), self.grid.shape, self.xp)
        if stiff is not None:
            B = B - stiff.field(self._m)
        with np.errstate(all="ignore"):
            b_max = math.sqrt(float((B * B).sum(axis=1).max()))
        if math.isfinite(b_max):
            cost.check_tolerance("tol_torque", tol_torque, b_max, float(np.finfo(self.dtype).eps))

    @during_run  # BLAS on one thread while stepping (micromag.engine.threads)
    def minimize(self, tol_torque=1e-6, max_iter=100000, progress=True):
        """Minimize the energy by steepest descent with Barzilai–Borwein steps (no dynamics).

        Update (a norm-preserving Cayley step, as in Exl et al., J. Appl. Phys. 115, 17D118 (2014)):
        m ← [(4 − τ²|m×B|²) m + 4τ (B − (m·B) m)] / (4 + τ²|m×B|²), τ in 1/T alternating the two BB
        formulas per member. Stops when max |m × B_eff| < ``tol_torque`` (T). Returns the final max torque.
        """
        from ..guard import SimulationDiverged, check_int, describe
        from ..minimize import minimize_bb
        from ..stiff_cells import LocalStiffness

        tol_torque = check_positive("tol_torque", tol_torque, unit="T")
        max_iter = check_int("max_iter", max_iter, lo=1)
        if np.any(self.system.param("frozen")[self.system.magnetic] != 0):
            raise ValueError("minimize() moves every magnetic cell; this system holds layers with frozen = 1 "
                             "(fixed): use relax(), which keeps them fixed")
        self._check_tolerance(tol_torque)
        th = self.terms.get("thermal")
        if th is not None:
            th.enabled = False
        try:
            tq = minimize_bb(self.llg, self._m, self._t, self._mask_dev, tol_torque, max_iter, progress,
                             xp=self.xp, stiff=LocalStiffness.of_terms(self.terms.values(), self.grid.shape, self.xp))
        except SimulationDiverged as exc:  # m is back at the last state with a finite torque
            self.state_changed()
            members = list(exc.members) or list(range(self.batch))
            t = np.atleast_1d(np.asarray(self.t, dtype=float))
            msg, B, name = describe(self, members, [t[b] for b in members], "non-finite", "minimize")
            raise SimulationDiverged(msg, members, [t[b] for b in members], "non-finite", B, name) from None
        finally:
            if th is not None:
                th.enabled = True
        self.state_changed()
        if tq >= tol_torque:
            warnings.warn(f"minimize() stopped after {max_iter} iterations with max torque {tq:.3g} T, above "
                          f"tol_torque = {tol_torque:g} T: the state is not converged", RuntimeWarning, stacklevel=2)
        return tq
