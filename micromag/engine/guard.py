"""Run-time guards shared by every integration loop: non-finite state, a collapsing step, no progress.

An integration loop (``Simulation.run``, ``Simulation.relax``, :class:`micromag.engine.batch.Batch`) asks a
:class:`RunGuard` after its steps whether any member has gone wrong. A member goes wrong when

* its state or step became non-finite (NaN/inf in m, in the error estimate or in dt; the stepper marks such
  a member by a NaN ``dt`` and leaves its m and t at the last good values, see :mod:`micromag.engine.integrators`),
* its step collapsed: ``COLLAPSE_STEPS`` consecutive steps accepted only because dt had reached dt_min (the
  error above ``tol`` every time), or
* its simulated time did not advance over ``COLLAPSE_STEPS`` steps while it had time left to run.

A field above ``PLAUSIBLE_FIELD`` (1e4 T) is not an error -- the adaptive step resolves it, slowly -- but it
is warned about (at the start of a run, and again when the mean step falls below ``SLOW_DT``): it is
nearly always a unit mistake (an H in A/m given as B_ext in T) or a parameter off by orders of magnitude.

Such a member is frozen at its last good state (its m and t stay usable: ``save_checkpoint`` and
``save_ovf`` still work) and reported through :class:`SimulationDiverged`, whose message names the likely
cause (the largest field, in T, and the term it comes from; the step tolerance), the last good time and
what to change. The checks cost nothing measurable per step: the finiteness of the (B,) step sizes is
looked at every ``DT_STEPS`` steps, the whole state only every ``STATE_STEPS`` steps and only for a stepper
that does not promise finite states itself (``keeps_finite``); nothing is copied to the host per step.
"""
from __future__ import annotations

import math

import numpy as np

from .validation import check_finite, check_int  # noqa: F401  (part of this module's API too)

DT_STEPS = 8          # steps between looks at dt (a NaN-marked member takes no steps meanwhile)
STATE_STEPS = 256     # steps between full-state checks (steppers without keeps_finite only)
COLLAPSE_STEPS = 1000  # consecutive forced steps (or steps without progress) that count as a collapse
PLAUSIBLE_FIELD = 1e4  # T: above this a field is almost surely a unit or magnitude mistake (magnets: < ~1e3 T)
SLOW_DT = 1e-16        # s: a mean step this short makes the loop look at the field magnitude again


class SimulationDiverged(RuntimeError):
    """The integration produced a non-finite state or its step collapsed.

    Attributes: ``members`` (indices of the batch members that went wrong), ``t_good`` (their last good
    times, s), ``reason`` ('non-finite', 'collapse' or 'stalled'), ``max_field`` (largest |B| in T at the
    last good state, or None) and ``field_term`` (the term it comes from)."""

    def __init__(self, message, members=(), t_good=(), reason="non-finite", max_field=None, field_term=None):
        super().__init__(message)
        self.members = tuple(int(b) for b in members)
        self.t_good = tuple(float(t) for t in t_good)
        self.reason = reason
        self.max_field = max_field
        self.field_term = field_term


_REASONS = {
    "non-finite": "the state could not be kept finite (NaN or inf in the state or the step's error estimate)",
    "collapse": f"the step collapsed: {COLLAPSE_STEPS} consecutive steps were taken at dt_min with an error above tol",
    "stalled": f"the simulated time did not advance over {COLLAPSE_STEPS} steps",
    "minimize": "the torque |m × B_eff| is not finite",
}


def _magnitude(v):
    """Largest |v| over the cells of a (B, 3, ...) field, without overflowing for huge values."""
    s = float(np.nanmax(np.abs(v))) if v.size else 0.0
    if not math.isfinite(s):
        return math.inf
    if s == 0:
        return 0.0
    u = v / s
    return s * math.sqrt(float(np.nanmax((u * u).sum(axis=1))))


def parameter_fields(sim):
    """The field scales (T) the material parameters imply, whatever the state: {label: T}, one per registered
    term that has one (:meth:`~micromag.engine.terms.base.Term.field_scale`, derived from the declared units: μ0 Ms
    for demag, 2|K|/Ms for an anisotropy constant in J/m³, (2A/Ms) Σ 4/d_i² for a stiffness in J/m (the
    shortest spin wave on the grid), 2|D|/(Ms d_min) for an interface constant in J/m²), each the largest
    over the magnetic regions."""
    from .terms import registered

    sysm, g = sim.system, sim.grid
    regions = np.unique(sysm.region[sysm.magnetic])
    Ms = sysm.table("Ms")[regions]
    regions, Ms = regions[Ms > 0], Ms[Ms > 0]
    if not len(regions):
        return {}
    out = {}
    for cls in registered():
        scale = cls.field_scale(lambda k: sysm.table(k)[regions], Ms, g)
        if scale is not None:
            out[scale[0]] = scale[1]
    return out


def field_report(sim, members=None):
    """(largest |B| in T, what gives it, largest γ in rad/(s·T)) at ``sim``'s present state: the fields of
    the NumPy terms (torque terms as their equivalent field |T|/γ) and the parameters' field scales
    (:func:`parameter_fields`)."""
    members = list(range(sim.batch)) if members is None else list(members)
    try:
        m = sim.m  # all members: per-member drives are built for the whole batch
        t = np.atleast_1d(np.asarray(sim.t, dtype=float))
        gamma = float(np.max(sim.system.table("gamma")))
    except Exception:  # noqa: BLE001 - a diagnosis must never hide the real error
        return None, None, None
    best, name = 0.0, None
    try:
        for label, v in parameter_fields(sim).items():
            v = v if math.isfinite(v) else math.inf
            if v > best:
                best, name = v, label
    except Exception:  # noqa: BLE001
        pass
    with np.errstate(all="ignore"):
        for tname, term in sim.terms.items():
            try:
                if getattr(term, "is_torque", False):
                    v = term.torque(m, t) / gamma
                elif getattr(term, "stores_energy", True):
                    v = term.field(m, t)
                else:
                    continue
                mag = _magnitude(v[members])
            except Exception:  # noqa: BLE001
                continue
            if mag > best or (name is None and mag >= best):
                best, name = mag, f"{tname} term"
    return best, name, gamma


def describe(sim, members, t_good, reason, what="run"):
    """The message of a :class:`SimulationDiverged` for ``members`` of ``sim`` (at their last good state)."""
    B, name, gamma = field_report(sim, members)
    tol = getattr(sim, "tol", None)
    who = "" if sim.batch == 1 else (f"member {members[0]}" if len(members) == 1 else f"members {list(members)}") + ": "
    tg = ", ".join(f"{t:.6g}" for t in t_good)
    text = _REASONS["minimize" if what == "minimize" else reason]
    parts = [f"{what}() stopped: {who}{text}; the last good state is kept at t = {tg} s "
             "(save_checkpoint / save_ovf still work)."]
    if B is not None and name is not None:
        if math.isfinite(B) and B > 0:
            period = 2 * math.pi / (gamma * B)
            parts.append(f"The largest field is {B:.3g} T, from the {name} (precession period {period:.3g} s"
                         + (f"; dt_min = {sim.dt_min:g} s)." if what != "minimize" else ")."))
        elif not math.isfinite(B):
            parts.append(f"The field of the {name} is not finite.")
    cause = ("Likely cause: a field or material parameter of unphysical magnitude (B_ext in T, Ms in A/m, Ku1 in "
             "J/m³, a current density in A/m²; fields in magnets stay below ~1e3 T)")
    if what != "minimize" and tol is not None:
        cause += (f", or a step tolerance tol = {tol:g} too loose for this field (lower tol)" if reason != "collapse"
                  else f"; if the field is right, raise tol = {tol:g} or lower dt_min = {sim.dt_min:g} s")
    parts.append(cause + ".")
    return " ".join(parts), B, name


class RunGuard:
    """Watches one integration loop over ``sim``'s state ``m`` and times ``t`` (backend arrays) driven by
    the stepper ``st``. Call :meth:`after_step` after every step and :meth:`new_target` when the loop's
    target times change; both return a host bool array of members newly frozen (or None)."""

    def __init__(self, sim, st, m, t):
        self.sim, self.st, self.m, self.t = sim, st, m, t
        self.xp = sim.xp
        B = m.shape[0]
        self.frozen = np.zeros(B, bool)
        self.reason = {}
        self.t_good = {}
        self.n = 0
        self.keep = not getattr(st, "keeps_finite", False)
        self._good_m = m.copy() if self.keep else None
        self._good_t = t.copy() if self.keep else None
        self._t_ref = None
        self._target = None
        self._n_ref = 0
        self._next_state = STATE_STEPS
        self._next_collapse = COLLAPSE_STEPS

    def _host(self, a):
        return self.sim.host(a)

    def check_field(self, t_now=None, B_max=None):
        """Warn (once) when the effective field exceeds ``PLAUSIBLE_FIELD``; one field evaluation on the
        backend, one scalar back (none when the caller has ``B_max``, max |B_eff| in T, already)."""
        if getattr(self, "_warned_field", False):
            return
        sim = self.sim
        if B_max is not None:
            b = float(B_max) ** 2
        else:
            try:
                Bf = sim.llg.effective_field(self.m, self.t)
                with np.errstate(all="ignore"):
                    b = float((Bf * Bf).sum(axis=1).max())
            except Exception:  # noqa: BLE001 - only a warning
                return
        if not (b > PLAUSIBLE_FIELD**2):
            return
        import warnings

        self._warned_field = True
        B, name, gamma = field_report(sim)
        src = f" (largest from the {name})" if name else ""
        tt = np.atleast_1d(self._host(self.t))
        warnings.warn(f"the effective field reaches {math.sqrt(b):.3g} T{src} at t = {float(tt.min()):.4g} s, "
                      f"far above any field in a magnet (< ~1e3 T): check the units (B_ext is in T, not A/m or Oe; "
                      f"Ms in A/m; Ku1 in J/m³). The adaptive step has to resolve a precession period of "
                      f"{2 * math.pi / (gamma * math.sqrt(b)):.3g} s, so the run will be slow",
                      RuntimeWarning, stacklevel=3)

    def new_target(self, target_host):
        """The loop now steps every member towards ``target_host`` (s, (B,))."""
        self._target = np.asarray(target_host, dtype=float).copy()
        self._t_ref = self._host(self.t)
        self._n_ref = self.n

    def after_step(self):
        self.n += 1
        if self.n % DT_STEPS:
            return None
        periodic = self.n >= self._next_state
        collapse = self.n >= self._next_collapse
        if periodic:
            self._next_state = self.n + STATE_STEPS
            self._slow_check()
        if collapse:
            self._next_collapse = self.n + COLLAPSE_STEPS
        return self.check(state=self.keep and periodic, collapse=collapse)

    def _slow_check(self):
        """Every STATE_STEPS steps: a mean step below SLOW_DT (of a member still running) is a reason to
        look at the field magnitude (warned once if implausible)."""
        if getattr(self, "_warned_field", False) or self._target is None:
            return
        t_now = self._host(self.t)
        ref = getattr(self, "_slow_ref", None)
        self._slow_ref = (t_now, self.n)
        if ref is None or ref[0].shape != t_now.shape:
            return
        run = (t_now < self._target) & ~self.frozen
        adv = (t_now - ref[0])[run]
        if adv.size and float(adv.min()) < SLOW_DT * (self.n - ref[1]):
            self.check_field()

    def check(self, state=True, collapse=False):
        """Look now (``state``: also at every cell of m). Returns the members newly frozen, or None."""
        xp = self.xp
        new = np.zeros_like(self.frozen)
        bad_dt = ~self._host(xp.isfinite(self.st.dt)).astype(bool)
        bad_m = np.zeros_like(new)
        if state:
            B = self.m.shape[0]
            bad_m = ~self._host(xp.isfinite(self.m.reshape(B, -1)).all(axis=1)).astype(bool)
            if self.keep:
                good = ~(bad_m | bad_dt | self.frozen)
                if good.all():
                    self._good_m[...] = self.m
                    self._good_t[...] = self.t
                elif good.any():
                    sel = np.nonzero(good)[0] if xp is np else xp.asarray(np.nonzero(good)[0])
                    self._good_m[sel] = self.m[sel]
                    self._good_t[sel] = self.t[sel]
        for b in np.nonzero((bad_dt | bad_m) & ~self.frozen)[0]:
            new[b] = True
            self.reason[b] = "non-finite"
        if collapse and self._target is not None:
            t_now = self._host(self.t)
            streak = getattr(self.st, "forced_streak", None)
            # dt_min = dt_max pins the step on purpose: steps "at dt_min" are then no sign of a collapse
            if streak is not None and getattr(self.st, "dt_min", 0) < getattr(self.st, "dt_max", 1):
                for b in np.nonzero(self._host(streak) >= COLLAPSE_STEPS)[0]:
                    if not self.frozen[b] and not new[b]:
                        new[b], self.reason[b] = True, "collapse"
            if self.n - self._n_ref >= COLLAPSE_STEPS:
                stalled = (t_now <= self._t_ref) & (t_now < self._target)
                if stalled.any():  # a stepper that rejects a non-finite error forever: say why
                    err = getattr(self.st, "last_err", getattr(self.st, "err", None))
                    try:
                        nonfinite = ~np.isfinite(self._host(err)).astype(bool) if err is not None else stalled & False
                    except Exception:  # noqa: BLE001
                        nonfinite = stalled & False
                for b in np.nonzero(stalled)[0]:
                    if not self.frozen[b] and not new[b]:
                        new[b], self.reason[b] = True, "non-finite" if nonfinite[b] else "stalled"
                self._t_ref, self._n_ref = t_now, self.n
        if not new.any():
            return None
        self._freeze(new)
        return new

    def _freeze(self, new):
        xp = self.xp
        rows = np.nonzero(new)[0]
        sel = rows if xp is np else xp.asarray(rows)
        restored = False
        if self.keep:
            # back to the last checked state: a stepper without keeps_finite may have committed NaN
            bad = ~self._host(xp.isfinite(self.m[sel].reshape(len(rows), -1)).all(axis=1)).astype(bool)
            if bad.any():
                r = rows[bad]
                s = r if xp is np else xp.asarray(r)
                self.m[s] = self._good_m[s]
                self.t[s] = self._good_t[s]
                restored = True
        self.st.dt[sel] = xp.nan  # the stepper takes no more steps for these members
        t = self._host(self.t)
        for b in rows:
            self.t_good[int(b)] = float(t[b])
        self.frozen |= new
        if restored and hasattr(self.st, "invalidate"):
            self.st.invalidate()  # (only then: the others' cached stages stay, so they go on bit for bit)

    def error(self, what="run"):
        """The :class:`SimulationDiverged` for every frozen member (None if none)."""
        members = [int(b) for b in np.nonzero(self.frozen)[0]]
        if not members:
            return None
        reasons = [self.reason[b] for b in members]
        reason = max(set(reasons), key=reasons.count)
        tg = [self.t_good[b] for b in members]
        msg, B, name = describe(self.sim, members, tg, reason, what)
        return SimulationDiverged(msg, members, tg, reason, B, name)

    def member_message(self, b, what="run"):
        """The reason text for one frozen member (for a Batch result)."""
        msg, _, _ = describe(self.sim, [b], [self.t_good[b]], self.reason[b], what)
        return msg


def check_stepper(sim, st, what="relax"):
    """Raise :class:`SimulationDiverged` if any member of ``st`` holds a NaN step (the stepper's mark of a
    member whose state could not stay finite); ``sim`` keeps its last good state."""
    xp = sim.xp
    bad = ~sim.host(xp.isfinite(st.dt)).astype(bool)
    if bad.any():
        members = [int(b) for b in np.nonzero(bad)[0]]
        t = np.atleast_1d(np.asarray(sim.t, dtype=float))
        tg = [float(t[b]) for b in members]
        msg, B, name = describe(sim, members, tg, "non-finite", what)
        raise SimulationDiverged(msg, members, tg, "non-finite", B, name)


def check_torque(sim, value, what="relax"):
    """``value`` (a largest torque, T) if finite; else :class:`SimulationDiverged` for every member."""
    if math.isfinite(value):
        return value
    members = list(range(sim.batch))
    t = np.atleast_1d(np.asarray(sim.t, dtype=float))
    tg = [float(t[b]) for b in members]
    msg, B, name = describe(sim, members, tg, "non-finite", what)
    raise SimulationDiverged(msg.replace("the state could not be kept finite (NaN or inf in the state or the "
                                         "step's error estimate)", "the torque |m × B_eff| is not finite"),
                             members, tg, "non-finite", B, name)


__all__ = ["SimulationDiverged", "RunGuard", "check_stepper", "check_torque", "check_finite", "check_int", "describe",
           "field_report", "COLLAPSE_STEPS"]
