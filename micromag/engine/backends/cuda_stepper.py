"""The GPU backend's batched RK stepper (:class:`CudaStepper`): every member with its own time step, the
step-size decision on the device, a step's launches captured once as a CUDA graph and replayed. The
right-hand side it steps is :class:`~micromag.engine.backends.cuda.CudaLLG`."""
from __future__ import annotations

import numpy as np

from ..integrators import get_tableau
from .cuda import MAX_STAGES, PRECESSION_CODE, device_pointer

_SEEN_NEVER, _SEEN_ONCE = object(), object()


class CudaStepper:
    """Batched explicit RK stepper on the device with a time step per member (twin of
    :class:`micromag.engine.integrators.Stepper`: same tableaux, controller and renormalization).

    ``dt`` (next step per member), ``t`` and the step's results live on the device; ``step`` does not
    synchronize unless a drive depends on time (then one device→host copy of t and dt per step, to evaluate
    the drives at every stage time). Members with t >= t_end are masked on the device (not accepted: their m
    and t stay bit-identical). ``nrejected``, ``nforced`` (steps taken at dt_min with an error above tol)
    are counted per member on the device and summed when read.

    ``graph``: True, False or "auto" (default: on where the device supports it and no drive needs the host).
    A step's launches are captured once per (state buffers, end time given, FSAL stage known) and replayed
    with one launch; ``graph_error`` says why capture was not used when it fails.

    ``fixed=True``: no error control, every active member is accepted and dt stays as set (the stochastic
    Heun of the thermal field).
    """

    def __init__(self, llg, tableau="rk45", tol=1e-5, dt=1e-14, dt_min=1e-18, dt_max=1e-10, headroom=0.8,
                 graph="auto", fixed=False):
        self.f = llg
        self.device = dev = llg.device
        xp = dev.xp
        self.tab = get_tableau(tableau)
        self.fixed = bool(fixed) or not self.tab.adaptive
        if self.tab.stages > MAX_STAGES:
            raise ValueError(f"at most {MAX_STAGES} stages")
        self.tol, self.dt_min, self.dt_max, self.headroom = float(tol), float(dt_min), float(dt_max), float(headroom)
        if graph not in (True, False, "auto"):
            raise ValueError(f"graph must be True, False or 'auto', got {graph!r}")
        self.graph = graph
        self.graph_error = None
        B = llg.batch
        self.shape = llg.shape
        self.dt = xp.asarray(np.broadcast_to(np.asarray(dt, dtype=float), (B,)).copy())
        s = self.tab.stages
        self.k = [xp.zeros(self.shape, dtype=llg.dtype) for _ in range(s)]
        self.Y = [xp.zeros(self.shape, dtype=llg.dtype) for _ in range(2)]
        self.kp = xp.asarray(np.array([device_pointer(k) for k in self.k], dtype=np.uint64))
        tab = np.zeros((MAX_STAGES + 2, MAX_STAGES))
        for i, row in enumerate(self.tab.a):
            tab[i, :len(row)] = row
        tab[MAX_STAGES, :s] = self.tab.b
        if self.tab.adaptive:
            tab[MAX_STAGES + 1, :s] = self.tab.e
        self.tabdev = xp.asarray(tab.reshape(-1))
        self.err = xp.zeros(B)
        self.dt_used = xp.zeros(B)
        self.accept = xp.zeros(B, dtype=np.int32)
        self.t_end = xp.zeros(B)
        self._nrej = xp.zeros(B, dtype=np.int64)
        self._nforced = xp.zeros(B, dtype=np.int64)
        self.forced_streak = xp.zeros(B, dtype=np.int64)  # consecutive steps forced at dt_min, per member
        self._t_end_src = None
        self.k0_valid = False
        self.nsteps = 0
        self.nevals = 0
        self._programs = {}
        self._graphs = {}
        self.graph_launches = 0
        self.graph_size = None  # launches in the last replayed graph (recording and emulated devices)

    # -------------------------------------------------------------------------------- counters
    keeps_finite = True  # a non-finite step is never committed (see gpu_kernels/rk_stage.cu, rk_finish)

    @property
    def last_err(self):
        """(B,) error estimate of the last step (NaN: non-finite)."""
        return self.err

    @property
    def nrejected(self):
        return int(np.asarray(self.device.asnumpy(self._nrej)).sum())

    @property
    def nforced(self):
        return int(np.asarray(self.device.asnumpy(self._nforced)).sum())

    def invalidate(self):
        """Forget the cached first stage (m, t or a setting changed outside the stepper)."""
        self.k0_valid = False

    # -------------------------------------------------------------------------------- the program
    def _program(self, m, t, has_end, need_k0):
        """The launches of one step as a list of callables (host callbacks only where drives need the host)."""
        key = (id(m), id(t), has_end, need_k0, id(self.f.layout), self.f.rhs_kind(), self.tol, self.dt_min,
               self.dt_max, self.headroom, id(self.f.params), id(self.f.drv), self.f.host_dynamic(), self.f.needs_m)
        prog = self._programs.get(key)
        if prog is not None:
            return prog
        f, tab = self.f, self.tab
        mod = f.stage_module()
        conv = f.convolution
        s = tab.stages
        adaptive = tab.adaptive and not self.fixed
        dyn = f.host_dynamic()
        grid, blk = f.cell_launch()
        px, sy = (conv.px, conv.sy) if conv is not None else (1, 1)
        src, ms = (conv.src, conv.ms) if conv is not None else (None, None)
        prog = []
        noise = f.noise_launch(self.dt, t, self.t_end, has_end)
        if noise is not None:
            prog.append(noise)
        first = True
        for i in range(s):
            if i == 0 and not need_k0:
                # k_0 known (FSAL): only the combination Y_1 and its source rows
                yin, yout = m, self.Y[1]
                eval_ = 0
            else:
                yin = m if i == 0 else self.Y[i % 2]
                yout = self.Y[(i + 1) % 2]
                eval_ = 1
                if dyn and (f.needs_m or f.dyn_pattern_terms or f.dynamic_params) and i > 0:
                    prog.append(_HostStage(self, i, yin))
                if conv is not None:
                    if i == 0:
                        prog.append(conv.source_launch(m))
                    prog += conv.steps()
            row = i if dyn else 0
            prog.append(mod.prepare(
                "rk_stage", grid, blk, m, yin, yout, self.kp, self.tabdev, i, s, eval_, 1 if tab.fsal else 0,
                1 if adaptive else 0, self.dt, t, self.t_end, int(has_end), self.dt_used, 1 if first else 0,
                self.err, ms, src, px, sy, 1 if (conv is not None and i + 1 < s) else 0, f.region, f.params,
                f.drv[row], f.consts, f.ptr, *f.grid_dims(), PRECESSION_CODE[f.rhs_kind()]))
            first = False
        # the solution: FSAL -> the last stage's input; else written by the last stage into the other buffer
        ysol = (m if s == 1 else self.Y[(s - 1) % 2]) if tab.fsal else self.Y[s % 2]
        nz = f.noise
        prog.append(mod.prepare(
            "rk_finish", grid, blk, m, ysol, self.k[0], self.k[-1], f.region, self.err, self.dt_used, self.dt, t,
            self.accept, self._nrej, self._nforced, self.forced_streak, None if nz is None else nz["counter"],
            0 if nz is None else 1,
            1 if adaptive else 0, 1 if tab.fsal else 0, self.tol, self.dt_min, self.dt_max, self.headroom,
            tab.err_order, f.ncell, f.batch))
        prog = (prog, (s - (0 if need_k0 else 1)))
        self._programs[key] = prog
        return prog

    def graph_enabled(self):
        """Whether this step would replay a captured graph (the ``graph`` setting resolved)."""
        if self.graph is False or self.f.host_dynamic():
            return False
        if self.device.kind == "emulation" and self.graph == "auto":
            return False
        return True

    def step(self, m, t, t_end=None):
        """One step for every member, in place on m (state) and t (device float64 (B,)); returns the device
        int32 array of members that advanced. Members with t >= t_end stay put (m and t bit-identical).
        ``t_end`` is copied to the device when a new array object is passed."""
        has_end = t_end is not None
        if has_end and t_end is not self._t_end_src:
            xp = self.device.xp
            te = t_end if isinstance(t_end, xp.ndarray) else np.broadcast_to(np.asarray(t_end, dtype=float),
                                                                             (self.shape[0],))
            self.t_end[...] = xp.asarray(te, dtype=np.float64)
            self._t_end_src = t_end
        self.f.ensure_current()
        need_k0 = not (self.tab.fsal and self.k0_valid)
        prog, nev = self._program(m, t, has_end, need_k0)
        if self.f.host_dynamic():
            self._host_begin(m, t)
        if self.graph_enabled():
            # a program runs eagerly the first time it is seen (anything lazy in CuPy -- module loading, a
            # plan's first use -- happens then, outside the capture) and is captured the second time
            key = id(prog)
            g = self._graphs.get(key, _SEEN_NEVER)
            if g is _SEEN_NEVER:
                self._graphs[key] = _SEEN_ONCE
                g = None
            elif g is _SEEN_ONCE:
                try:
                    g = self.device.capture(lambda: [ln() for ln in prog])
                except Exception as exc:  # an old CuPy, a non-capturable cuFFT, ...: stay eager
                    self.graph_error = f"{type(exc).__name__}: {exc}"
                    g = None
                self._graphs[key] = g
            if g is not None:
                g.launch()
                self.graph_launches += 1
                self.graph_size = len(g.launches) if g.native is None else None
            else:
                for ln in prog:
                    ln()
        else:
            for ln in prog:
                ln()
        self.f.nevals += nev
        self.nevals += nev
        self.k0_valid = bool(self.tab.fsal)
        self.nsteps += 1
        return self.accept

    # -------------------------------------------------------------------------------- host-evaluated drives
    def _host_begin(self, m, t):
        """Before a step whose drives need the host: the member times and steps (one device→host copy, the
        same rule as the device's), and every stage's drives at t + c_i·dt uploaded as rows of the table."""
        dev, f = self.device, self.f
        th = np.asarray(dev.asnumpy(t), dtype=float)
        dt = np.asarray(dev.asnumpy(self.dt), dtype=float)
        if self._t_end_src is not None:
            rem = np.asarray(dev.asnumpy(self.t_end), dtype=float) - th
            h = np.minimum(dt, rem)
            h = np.where(rem <= h * (1 + 1e-9), rem, h)
            h = np.maximum(h, 0.0)
        else:
            h = dt
        self._host_t, self._host_h = th, h
        rows = np.stack([th + c * h for c in self.tab.c])
        f.update_drives(rows, m=m)  # row 0 with the state itself; later rows are redone per stage if needed
        f.update_patterns(rows[0])


class _HostStage:
    """Host work before stage i > 0 of a step whose inputs need the host per stage: a drive that follows the
    stage state (the MTJ current), a time-dependent pattern or material parameter, at t + c_i·dt."""

    def __init__(self, stepper, i, state):
        self.stepper, self.i, self.state = stepper, i, state

    def __call__(self):
        st = self.stepper
        f = st.f
        ts = st._host_t + st.tab.c[self.i] * st._host_h
        if f.needs_m or f.dynamic_params:
            f.update_drives(ts, m=self.state, first_row=self.i)
        f.update_patterns(ts)


__all__ = ["CudaStepper"]
