"""Batches: many members of one grid and geometry integrated together in one state array.

    batch = mm.Batch(build, members=[{"B_ext": (0, 0, -0.1), "seed": 1}, {"temperature": 300}, ...],
                     stop=mm.Threshold("mz", 0.0), check_every=10e-12)
    results = batch.run(1e-9)          # one dict per member, in the order of ``members``

``build(B)`` (or ``build(B, members)``, then it also gets the chunk's member dicts) returns a
:class:`~micromag.Simulation` built with ``batch=B``: the template every chunk is made from. Each member
dict sets per-member values through named setters:

``B_ext``        uniform applied field in T, a 3-vector (the chunk gets a (B, 3) field);
``temperature``  K (Brown's thermal field; the chunk switches to stochastic Heun);
``seed``         the member's thermal noise is the stream of a single run with ``sim.seed = seed``;
                 without it, member i of the Batch draws from the stream (sim.seed, i), whatever the chunk;
``m0``           initial magnetization: a 3-vector or a (3, nz, ny, nx) array;
``duration``     the member's own run time in s (default: ``run``'s duration);
anything else    through ``setters={name: f(sim, values)}``, ``values`` the list over the chunk's members
                 (e.g. a per-member pulse amplitude: ``sim.terms["sot"].J = Pulse(amplitude=values, ...)``).

Members are integrated with their own time steps (the stepper is per member). A member is finished when
its time is reached or ``stop`` says so at a check (every ``check_every`` s of simulated time); a finished
member takes no more steps, and when half of a chunk has finished the remaining members are moved into a
smaller batch (on the CPU the finished ones then stop costing work; the move carries m, t, the step size,
the FSAL stage and the RNG state, so nothing changes in the numbers). Members with T > 0 and members with
T = 0 need different integrators (stochastic Heun with a fixed step vs. adaptive RK), so they are put in
separate chunks. On the CPU a batch reproduces the same members run one by one bit for bit.

When there are more members than ``chunk`` (default: what fits in half the free GPU memory; on the CPU,
what fits in a working set of about 64 MiB, see :func:`auto_chunk`), they run in successive chunks.
"""
from __future__ import annotations

import inspect
import math
import time

import numpy as np

from .guard import RunGuard
from .validation import check_int, check_positive

BUILTIN = ("B_ext", "temperature", "seed", "m0", "duration")


class Threshold:
    """A stop condition on the average magnetization: ``quantity`` ('mx', 'my', 'mz') below (or above,
    with ``below=False``) ``threshold``. As a stop condition of a :class:`Batch`, the crossing time is
    interpolated linearly between the two checks around it."""

    _COMP = {"mx": 0, "my": 1, "mz": 2}

    def __init__(self, quantity="mz", threshold=0.0, below=True):
        if quantity not in self._COMP:
            raise ValueError(f"quantity must be one of {sorted(self._COMP)}, got {quantity!r}")
        self.quantity, self.threshold, self.below = quantity, float(threshold), bool(below)

    def value(self, sim):
        m = np.asarray(sim.m_avg).reshape(-1, 3)
        return m[:, self._COMP[self.quantity]]

    def test(self, v):
        v = np.asarray(v, dtype=float)
        return v < self.threshold if self.below else v > self.threshold

    def __call__(self, sim):
        return self.test(self.value(sim))

    def __repr__(self):
        return f"Threshold({self.quantity!r}, {self.threshold!r}, below={self.below})"


def _host_mem_available():
    from .memory import host_available

    avail = host_available()
    return 4 * 2**30 if avail is None else avail


def bytes_per_member(grid, itemsize=8, stages=7, demag=True):
    """A generous estimate of the memory one member needs: state, RK stages, field buffers, demag pads."""
    cells = int(np.prod(grid.shape))
    vectors = stages + 8  # k_i, y, err, m, B, torque scratch, ...
    b = cells * 3 * itemsize * vectors
    if demag:
        b += cells * 8 * 3 * 2 * itemsize * 2  # zero-padded real input + complex spectra
    return b


CPU_WORKING_SET = 64 * 2**20  # bytes: on the CPU a batch larger than the caches only adds memory traffic


def auto_chunk(sim, n):
    """Members per chunk for ``n`` members on ``sim``'s backend: what fits in half the free GPU memory; on
    the CPU, what fits in about 64 MiB of working set (NumPy gains from batching small systems, where the
    per-call overhead dominates, and loses once a batch spills out of the caches) and in host memory."""
    per = bytes_per_member(sim.grid, sim.dtype.itemsize, demag="demag" in sim.terms)
    if sim.backend == "gpu":
        free, _ = sim.llg.device.xp.cuda.runtime.memGetInfo()
        budget = 0.5 * free
    else:
        budget = min(0.5 * _host_mem_available(), CPU_WORKING_SET)
    return int(max(1, min(n, budget // max(per, 1))))


def _kwargs_ok(fn, name):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return name in sig.parameters or any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())


class Batch:
    """Members of one grid integrated together (see the module docstring).

    Parameters
    ----------
    build : ``build(B)`` or ``build(B, members)`` -> Simulation with ``batch=B``.
    members : list of dicts (or an int n: n members with the template's settings).
    chunk : members per chunk (None: automatic).
    stop : ``stop(sim) -> bool per member`` (e.g. :class:`Threshold`), checked every ``check_every`` s.
    check_every : s of simulated time between checks (None: only at the end).
    halt : whether a member for which ``stop`` is true stops (True) or only has the time recorded.
    setters : ``{name: f(sim, values)}`` for member keys other than the built-in ones.
    keep_m : keep each member's final magnetization (3, nz, ny, nx) in its result.
    compact : move the remaining members into a smaller batch when half of a chunk has finished.
    """

    def __init__(self, build, members, chunk=None, stop=None, check_every=None, halt=True, setters=None,
                 keep_m=True, compact=True):
        if not callable(build):
            raise TypeError("build must be a function build(B) -> Simulation with batch=B")
        if isinstance(members, (int, np.integer)) and not isinstance(members, bool):
            from .memory import NotEnoughMemory, check_points

            try:  # the member list (and a result row each) must fit before it is built
                check_points(float(members), 1)
            except NotEnoughMemory as exc:
                raise ValueError(f"a Batch of {int(members):,} members: {str(exc).replace('the sweep', 'it')}") from None
            members = [{} for _ in range(int(members))]
        members = [dict(m) for m in members]
        if not members:
            raise ValueError("a Batch needs at least one member")
        self.build = build
        self._build_members = _kwargs_ok(build, "members")
        self.members = members
        self.setters = dict(setters or {})
        known = set(BUILTIN) | set(self.setters)
        for i, mem in enumerate(members):
            unknown = sorted(set(mem) - known)
            if unknown:
                raise ValueError(f"member {i} sets {unknown}: not a member setting (known: {sorted(known)}; "
                                 "add setters={name: f(sim, values)} for other drives)")
            if "temperature" in mem:
                try:
                    T = float(mem["temperature"])
                except (TypeError, ValueError):
                    T = math.nan
                if not math.isfinite(T) or T < 0:
                    raise ValueError(f"member {i}: temperature must be a number >= 0 K, got {mem['temperature']!r}")
            if "seed" in mem:
                check_int(f"member {i}: seed", mem["seed"], lo=0, hi=2**64 - 1)
            if "duration" in mem:
                try:
                    d = float(mem["duration"])
                except (TypeError, ValueError):
                    d = math.nan
                if not math.isfinite(d) or d <= 0:
                    raise ValueError(f"member {i}: duration must be a number > 0 s, got {mem['duration']!r}")
        for name in self.setters:
            have = [name in mem for mem in members]
            if any(have) and not all(have):
                raise ValueError(f"setting {name!r} is given for some members but not for member "
                                 f"{have.index(False)}: give it for all")
        if chunk is not None and (int(chunk) != chunk or chunk < 1):
            raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
        self.chunk = None if chunk is None else int(chunk)
        self.stop = stop
        self.check_every = None if check_every is None else check_positive("check_every", check_every, "s")
        self.halt = bool(halt)
        self.keep_m = bool(keep_m)
        self.compact = bool(compact)
        self.nbuilds = 0
        self.member_evals = 0  # RHS evaluations × members evaluated (the work actually done)

    # ------------------------------------------------------------------ building chunks
    def _make(self, idx):
        """A Simulation for the members with global indices ``idx``, all member settings applied."""
        from .memory import NotEnoughMemory

        mems = [self.members[i] for i in idx]
        n = len(idx)
        try:
            sim = self.build(n, members=mems) if self._build_members else self.build(n)
        except NotEnoughMemory as exc:
            fit = int(n * exc.available / exc.need) if exc.need and exc.available else 0
            raise NotEnoughMemory(f"a Batch chunk of {n} members does not fit: {exc}. Pass chunk={max(1, fit)} "
                                  "(or fewer) to mm.Batch to run the members in smaller chunks" if fit >= 1 else
                                  f"a Batch chunk of {n} members does not fit, not even one member: {exc}",
                                  exc.need, exc.available, exc.where) from None
        self.nbuilds += 1
        if getattr(sim, "batch", None) != n:
            raise ValueError(f"build({n}) returned {type(sim).__name__} with batch = {getattr(sim, 'batch', None)}; "
                             f"build must return a Simulation with batch={n}")
        if any("B_ext" in m for m in mems):
            base = sim.B_ext
            vals = []
            for m in mems:
                v = m.get("B_ext", base if base is not None else (0.0, 0.0, 0.0))
                v = np.asarray(v, dtype=float)
                if v.shape != (3,):
                    raise ValueError(f"member B_ext must be a 3-vector in T, got shape {v.shape}")
                vals.append(v)
            sim.B_ext = np.array(vals)
        if any("temperature" in m for m in mems):
            base = sim.temperature
            base = 0.0 if base is None else base
            T = []
            for j, m in enumerate(mems):
                if "temperature" in m:
                    T.append(float(m["temperature"]))
                else:
                    from .drives import DC

                    if not isinstance(base, DC):
                        raise ValueError("members without a temperature need a constant template temperature")
                    T.append(float(np.broadcast_to(base.amplitude, (n,))[j]))  # this member's own
            sim.temperature = np.array(T)
        if any("m0" in m for m in mems):
            from .integrators import normalize

            shape3 = (3,) + sim.grid.shape
            for j, m in enumerate(mems):
                if "m0" in m:
                    v = np.asarray(m["m0"], dtype=float)
                    if v.shape == (3,):
                        v = np.broadcast_to(v[:, None, None, None], shape3)
                    if v.shape != shape3 or not np.all(np.isfinite(v)):
                        raise ValueError(f"member m0 must be a finite 3-vector or an array of shape {shape3}")
                    # the same operations as the ``sim.m`` setter, on this member only
                    one = np.array(v[None], dtype=float)
                    if np.any(np.sqrt((one**2).sum(axis=1))[:, sim.system.magnetic] < 1e-12):
                        raise ValueError("member m0 has zero length in a magnetic cell")
                    normalize(one, sim.system.magnetic.astype(float), out=one)
                    sim.state.m[j] = sim.xp.asarray(one[0].astype(sim.dtype))
        for name, fn in self.setters.items():
            if name in mems[0]:
                fn(sim, [m[name] for m in mems])
        if sim.terms.get("thermal") is not None:
            # member i draws from (seed_i, 0) if it has a seed (the stream of a single run), else (sim.seed, i)
            sim.set_noise(seeds=[int(m["seed"]) if "seed" in m else sim.seed for m in mems],
                          member_ids=[0 if "seed" in m else i for i, m in zip(idx, mems)])
        sim.state_changed()
        return sim

    def _groups(self):
        """Member indices grouped by integrator kind (T > 0 given, T = 0 given, not given)."""
        groups = {}
        for i, m in enumerate(self.members):
            key = None if "temperature" not in m else float(m["temperature"]) > 0
            groups.setdefault(key, []).append(i)
        return list(groups.values())

    # ------------------------------------------------------------------ running
    def run(self, duration, check_every=None, progress=True):
        """Integrate every member for ``duration`` s (or its own ``duration``); returns one dict per member:

        ``index``, ``t`` (final time, s), ``stopped`` (stop condition became true), ``t_stop`` (when, s;
        interpolated for a :class:`Threshold`; NaN if never), ``m_avg`` (3,), ``energy`` (J, final total),
        ``steps`` / ``accepted`` / ``rejected`` (this member's own step counts), ``chunk``, ``chunk_size``,
        ``wall`` (s, the chunk's wall time divided among its members), ``m`` (final state, if keep_m),
        ``diverged`` (the member's state stopped being finite or its step collapsed: it was stopped at its
        last good state, which ``t``, ``m_avg``, ``energy`` and ``m`` describe, while the others went on) and
        ``error`` (why, naming the likely cause; None if it did not diverge).
        """
        duration = check_positive("duration", duration, "s")
        check_every = self.check_every if check_every is None else check_positive("check_every", check_every, "s")
        results = [None] * len(self.members)
        from .progress import Progress

        prog = Progress("batch", len(self.members), enabled=progress)
        chunk_no = 0
        for group in self._groups():
            size = self.chunk
            start = 0
            while start < len(group):
                if size is None:
                    probe = self._make(group[:1])
                    size = auto_chunk(probe, len(group))
                    del probe
                idx = group[start:start + size]
                t0 = time.perf_counter()
                res = self._run_chunk(idx, duration, check_every)
                wall = time.perf_counter() - t0
                for i, r in zip(idx, res):
                    r.update(chunk=chunk_no, chunk_size=len(idx), wall=wall / len(idx))
                    results[i] = r
                prog.update(sum(r is not None for r in results),
                            f"chunk {chunk_no} ({len(idx)} members) in {wall:.3g} s")
                chunk_no += 1
                start += size
        prog.done(f"{len(self.members)} members in {chunk_no} chunks")
        return results

    def _run_chunk(self, idx, duration, every):
        sim = self._make(idx)
        n = len(idx)
        dur = np.array([float(self.members[i].get("duration", duration)) for i in idx])
        st = sim.stepper
        state = sim.state  # the live m and t, advanced in place
        sim.llg.precession = True
        t0 = sim.host(state.t)
        t_end = t0 + dur
        maxdur = float(dur.max())

        def schedule():  # lazily: a tiny check_every must not build a list of billions of times
            if every is None:
                yield maxdur
                return
            nmarks = int(math.floor(maxdur / every * (1 + 1e-12)))
            for i in range(nmarks):
                yield every * (i + 1)
            if nmarks == 0 or maxdur - every * nmarks > 1e-9 * every:
                yield maxdur

        marks = schedule()
        # per global member bookkeeping, indexed by position in idx
        res = [dict(index=i, stopped=False, t_stop=float("nan"), diverged=False, error=None) for i in idx]
        self._steps, self._acc = np.zeros(n, np.int64), np.zeros(n, np.int64)
        pos = np.arange(n)            # position (in idx) of each row of the current sim
        done = np.zeros(n, bool)      # per row of the current sim
        stop = self.stop
        interp = stop is not None and hasattr(stop, "value") and hasattr(stop, "test")
        prev_v = prev_t = None
        if interp:
            prev_v, prev_t = np.asarray(stop.value(sim), float), t0.copy()
        exact = sim.backend == "cpu"
        xp = sim.xp
        guard = RunGuard(sim, st, state.m, state.t)
        for mark in marks:
            t_now = sim.host(state.t)
            target = np.minimum(t0 + mark, t_end)
            target = np.where(done, t_now, target)
            target_dev = xp.asarray(target)
            guard.new_target(target)
            while True:
                behind = state.t < target_dev
                if not bool(behind.any()):
                    break
                idle = None
                if exact and not bool(behind.all()):
                    idle = ~behind
                    saved = state.m[idle].copy()  # a member that takes no step keeps its bits exactly
                acc = st.step(state.m, state.t, t_end=target_dev)
                if idle is not None:
                    state.m[idle] = saved
                b = sim.host(behind).astype(bool)
                a = b if acc is None else sim.host(acc).astype(bool)
                self._steps[pos[b]] += 1
                self._acc[pos[a & b]] += 1
                frozen = guard.after_step()
                if frozen is not None:  # these members stop here, at their last good state; the others go on
                    t_end, target = self._diverged(sim, guard, frozen, pos, res, t_end, target)
                    target_dev = xp.asarray(target)
                    guard.new_target(target)
            frozen = guard.check(state=guard.keep)
            if frozen is not None:
                t_end, target = self._diverged(sim, guard, frozen, pos, res, t_end, target)
            t_now = sim.host(state.t)
            finishing = (~done) & (t_now >= t_end)
            if stop is not None:
                live = ~done
                if interp:
                    v = np.asarray(stop.value(sim), float)
                    hit = np.asarray(stop.test(v), bool)
                else:
                    v, hit = None, np.asarray(stop(sim), bool).reshape(-1)
                if hit.shape != (len(pos),):
                    raise ValueError(f"stop(sim) returned shape {hit.shape}; expected one bool per member ({len(pos)})")
                for row in np.nonzero(live & hit)[0]:
                    r = res[pos[row]]
                    if r["stopped"]:
                        continue
                    r["stopped"] = True
                    ts = t_now[row]
                    if interp and np.isfinite(prev_v[row]) and v[row] != prev_v[row]:
                        frac = (stop.threshold - prev_v[row]) / (v[row] - prev_v[row])
                        if 0.0 <= frac <= 1.0:
                            ts = prev_t[row] + frac * (t_now[row] - prev_t[row])
                    r["t_stop"] = float(ts)
                    if self.halt:
                        finishing[row] = True
                if interp:
                    prev_v, prev_t = v, t_now.copy()
            if finishing.any():
                self._record(sim, pos, finishing, res)
                done |= finishing
            if done.all():
                break
            live = ~done
            if self.compact and live.sum() <= len(pos) // 2:
                self.member_evals += getattr(sim.llg, "nevals", 0) * sim.batch
                sim, st = self._compacted(sim, st, idx, pos, live)
                pos, done = pos[live], done[live]
                t0, t_end = t0[live], t_end[live]
                if interp:
                    prev_v, prev_t = prev_v[live], prev_t[live]
                xp = sim.xp
                state = sim.state
                guard = RunGuard(sim, st, state.m, state.t)
        if not done.all():
            self._record(sim, pos, ~done, res)
        self.member_evals += getattr(sim.llg, "nevals", 0) * sim.batch
        return res

    @staticmethod
    def _diverged(sim, guard, frozen, pos, res, t_end, target):
        """Members ``frozen`` by the guard: their result says why; they finish at their last good time."""
        t_now = sim.host(sim.state.t)
        for row in np.nonzero(frozen)[0]:
            r = res[pos[row]]
            r["diverged"] = True
            r["error"] = guard.member_message(int(row), what="Batch.run")
        t_end = np.where(frozen, t_now, t_end)
        return t_end, np.minimum(target, t_end)

    def _record(self, sim, pos, rows, res):
        m = sim.m
        t = sim.host(sim.state.t)
        mavg = np.asarray(sim.m_avg).reshape(-1, 3)
        E = np.broadcast_to(np.asarray(sim.energy(), dtype=float), (sim.batch,))
        for row in np.nonzero(rows)[0]:
            r = res[pos[row]]
            r.update(t=float(t[row]), m_avg=mavg[row].copy(), energy=float(E[row]))
            p = pos[row]
            r.update(steps=int(self._steps[p]), accepted=int(self._acc[p]),
                     rejected=int(self._steps[p] - self._acc[p]))
            if self.keep_m:
                r["m"] = m[row].copy()

    def _compacted(self, sim, st, idx, pos, live):
        """A new Simulation holding only the ``live`` rows of ``sim``, in the same numerical state."""
        rows = np.nonzero(live)[0]
        new = self._make([idx[p] for p in pos[rows]])
        sel = rows if sim.xp is np else sim.xp.asarray(rows)
        new.state.m[...] = new.xp.asarray(sim.state.m[sel])
        new.state.t[...] = new.xp.asarray(sim.state.t[sel])
        new.set_noise_state(sim.noise_state(), rows=rows)  # each member keeps its own noise stream
        nst = new.stepper
        nst.dt[...] = new.xp.asarray(st.dt[sel])
        if st.tab.fsal and st.k0_valid:
            nst.k[0][...] = new.xp.asarray(st.k[0][sel])
            nst.k0_valid = True
        new.llg.precession = True
        return new, nst


def run_batch(build, members, duration, **kw):
    """Shorthand: ``Batch(build, members, **kw).run(duration)`` (duration in s, one number or one per member)."""
    check_every = kw.pop("check_every", None)
    return Batch(build, members, check_every=check_every, **kw).run(duration)


__all__ = ["Batch", "Threshold", "auto_chunk", "bytes_per_member", "run_batch"]
