"""Ubermag drivers that run micromag: MinDriver, RelaxDriver, TimeDriver, HysteresisDriver.

Each ``drive(system, ...)`` follows micromagneticmodel's ExternalDriver: a folder
``<dirname>/<system.name>/drive-<N>/`` with ``info.json`` (what was asked, when, how long), ``m0.omf`` (the
start, OVF 2.0) and, in MuMax3's layout (micromag's table is MuMax3's format), ``<name>.out/table.txt``
(one row per stage, step or field, flushed row by row) and ``<name>.out/m000000.ovf``, ... (M in A/m after
each stage). Then ``system.m`` takes the final magnetization and ``system.table`` the table
(``ubermagtable.Table``), as oommfc and mumax3c do, and ``micromagneticdata`` reads the folder.

Options of ``drive`` besides the ExternalDriver's (``dirname``, ``append``, ``ovf_format`` 'bin8' | 'bin4' |
'txt', ``verbose``: 0 silent, >= 1 a progress bar or lines): ``backend`` ('auto' default: the GPU when there
is one, see :class:`~micromag.apps.ubermag._model.Model`), ``fixed_subregions`` (names whose cells keep m),
``output_step`` (MinDriver: a table row every iteration), ``pbc_images`` (periodic images per side),
``n_threads`` (accepted for oommfc scripts and ignored: micromag.engine.threads sets each pool's threads from the work
and the CPUs available; ``MICROMAG_THREADS`` overrides).

Table columns (SI): ``t`` (s, TimeDriver), ``iteration`` (MinDriver/RelaxDriver), ``B_hysteresis`` (|B|, mT)
and ``Bx_hysteresis``, ... (HysteresisDriver); ``mx``, ``my``, ``mz`` (the mean unit magnetization over the
magnetic cells), ``E`` (J) and ``E_<term>`` per energy term, ``Bx_<zeeman>``, ``By_<zeeman>``, ``Bz_<zeeman>``
(the mean applied field of each Zeeman term, mT as OOMMF writes them), ``max_mxHxm`` (max |m × H_eff| in
A/m), and with spin-transfer torques oommfc's ``average_u`` (mean |u|, m/s, Zhang–Li) and ``average_J``
(mean J, A/m², Slonczewski) at the row's time. info.json's ``success`` is true only when the drive met
its criterion (see :meth:`Driver._update_info_json`).
"""
from __future__ import annotations

import math
import pathlib
import warnings

import micromagneticmodel as mm
import numpy as np
import ubermagtable as ut

from ...engine.io.ovf import write_ovf
from ...engine.progress import Progress
from ...engine.table import Table
from . import evolvers as ev
from ._model import MU0, Model, to_mm

FORMATS = {"bin8": "binary8", "bin4": "binary4", "txt": "text"}
_COMMON = ("backend", "fixed_subregions", "output_step", "pbc_images", "n_threads", "compute", "save", "overwrite")


def _fmt(ovf_format):
    if ovf_format not in FORMATS:
        raise ValueError(f"ovf_format must be one of {sorted(FORMATS)}, got {ovf_format!r}")
    return FORMATS[ovf_format]


class Driver(mm.ExternalDriver):
    """Base class: runs micromag in place of an external program (see the module docstring)."""

    backend = "auto"
    _extra_kwargs = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ ExternalDriver hooks
    def drive_kwargs_setup(self, drive_kwargs):
        allowed = set(_COMMON) | set(self._extra_kwargs)
        unknown = sorted(k for k in drive_kwargs if k not in allowed)
        if unknown:
            raise TypeError(f"{type(self).__name__}.drive() got unexpected arguments {unknown}; allowed: "
                            f"{sorted(allowed)}")
        self._checkargs(drive_kwargs)
        drive_kwargs.setdefault("fixed_subregions", None)
        drive_kwargs.setdefault("output_step", False)
        drive_kwargs.setdefault("backend", getattr(self, "backend", "auto"))
        drive_kwargs.setdefault("pbc_images", 10)

    def schedule_kwargs_setup(self, schedule_kwargs):
        raise NotImplementedError("micromag.apps.ubermag drives run in this Python process; to use a job scheduler, "
                                  "submit a Python script that calls drive()")

    def schedule(self, system, cmd, header, *args, **kwargs):
        """Not supported: micromag runs in this process (RuntimeError, as a failed submission)."""
        raise RuntimeError("micromag.apps.ubermag cannot schedule drives: it runs inside this Python process (and "
                           "Ubermag's systems cannot be pickled for a job); submit a Python script that calls "
                           f"drive() with {cmd!r} instead")

    def _checkargs(self, kwargs):
        pass

    def _update_info_json(self, start_time, end_time, success):
        """info.json's ``success``: the drive ran *and* met the driver's own criterion (MinDriver, RelaxDriver,
        HysteresisDriver: max |m × H| below ``stopping_mxHxm`` at the end of every stage; a warning says
        when not); plus the criterion reached, under ``micromag``."""
        import json

        met = bool(getattr(self, "_criterion_met", True))
        super()._update_info_json(start_time, end_time, bool(success) and met)
        crit = getattr(self, "_criterion", None)
        if crit is not None:
            with open("info.json", encoding="utf-8") as f:
                info = json.load(f)
            info["micromag"] = dict(crit, criterion_met=met)
            with open("info.json", "w", encoding="utf-8") as f:
                json.dump(info, f)

    def _check_system(self, system):
        if len(system.energy) == 0:
            raise RuntimeError("System's energy is not defined")

    def _schedule_commands(self, system, runner):  # pragma: no cover - schedule() refuses first
        raise NotImplementedError

    def _write_input_files(self, system, ovf_format="bin8", **kwargs):
        self._criterion_met = True  # set False by a stage that ends above its stopping criterion
        self._criterion = None
        self._format = _fmt(ovf_format)
        self._model = self._make_model(system, **kwargs)
        out = pathlib.Path(f"{system.name}.out")
        out.mkdir(exist_ok=True)
        self._out = out
        self._nsnap = 0
        write_ovf("m0.omf", to_mm(system.m.array), cell=tuple(system.m.mesh.cell), origin=_centre(system),
                  fmt=self._format, title="m", valuelabels=("m_x", "m_y", "m_z"), valueunits=("A/m",) * 3,
                  desc="micromag: initial magnetization of this drive")

    def _read_data(self, system):
        system.m.array = self._model.m_field()
        system.table = ut.Table.fromfile(str(self._out / "table.txt"), x=self._x)

    # ------------------------------------------------------------------ helpers for the subclasses
    def _make_model(self, system, backend="auto", fixed_subregions=None, pbc_images=10, **kwargs):
        return Model(system, backend=backend, fixed_subregions=fixed_subregions, dynamics=False,
                     pbc_images=pbc_images)

    def _columns(self, first):
        mod = self._model
        cols = list(first) + [("mx", ""), ("my", ""), ("mz", ""), ("E_total", "J")]
        cols += [(f"E_{n}", "J") for n in mod.parts]
        for name, *_ in mod.zeeman:
            cols += [(f"B{c}_{name}", "mT") for c in "xyz"]  # OOMMF's Zeeman columns are in mT
        cols += [("max_mxHxm", "A/m")]
        cols += [(name, unit) for name, unit, _ in getattr(mod, "drive_columns", ())]
        self._t_column = all(c != "t" for c, _ in first)
        if self._t_column:  # MuMax3's tables always have t (micromagneticdata reads this layout with x = "t")
            cols += [("t", "s")]
        return cols

    def _open_table(self, first):
        self._table = Table(self._out / "table.txt", self._columns(first))

    def _row(self, first_values):
        mod = self._model
        m, t = mod.host_state()
        w = mod.magnetic.astype(float)
        mavg = (m[0] * w).reshape(3, -1).sum(1) / w.sum()
        es = [mod.term_energy(n, m, t) for n in mod.parts]
        bs = []
        for entry in mod.zeeman:
            B = mod.zeeman_B(entry, float(t[0]))
            B = (B * w).reshape(3, -1).sum(1) / w.sum() if np.ndim(B) > 1 else B
            bs += [1e3 * float(b) for b in B]  # mT
        free = mod.magnetic & ~mod.frozen  # fixed spins are not part of the criterion
        tq = np.sqrt((np.cross(m[0], mod.term_field(None), axis=0) ** 2).sum(0))
        tq = float(tq[free].max()) / MU0 if free.any() else 0.0
        drives = [f(float(t[0])) for _, _, f in getattr(mod, "drive_columns", ())]
        tcol = [float(t[0])] if self._t_column else []
        self._output(self._table.write, list(first_values) + list(mavg) + [sum(es)] + es + bs + [tq] + drives + tcol)

    def _snapshot(self, system):
        mod = self._model
        path = self._out / f"m{self._nsnap:06d}.ovf"
        self._output(write_ovf, path, mod.sim.m[0] * mod.Ms, cell=tuple(system.m.mesh.cell), origin=_centre(system),
                     fmt=self._format, title="m", valuelabels=("m_x", "m_y", "m_z"), valueunits=("A/m",) * 3,
                     desc=f"micromag {type(self).__name__}, snapshot {self._nsnap}")
        self._nsnap += 1

    def _output(self, write, *args, **kwargs):
        """Table rows and snapshots are written (and fsync'ed) on one background thread, in order, while the
        solver goes on: a drive with a row and an OVF file per stage no longer waits for the disk (on a busy
        machine ~10 ms per fsync, a quarter of an SP4 drive). Errors surface at the next write or at the end;
        :meth:`_close_output` waits for every file before the drive returns."""
        w = getattr(self, "_writer", None)
        if w is None:
            w = self._writer = _BackgroundWriter()
        w.submit(write, *args, **kwargs)

    def _close_output(self):
        """Wait for the files of this drive (raising the first write error), then close the table."""
        w, self._writer = getattr(self, "_writer", None), None
        try:
            if w is not None:
                w.close()
        finally:
            self._table.close()

    def _minimize(self, system, tol_T, verbose, on_iteration=None, label="minimize"):
        from ...engine.relax import relax

        mod = self._model
        max_iter = int(getattr(self, "total_iteration_limit", 0) or getattr(self, "stage_iteration_limit", 0)
                       or 20000)
        # like OOMMF's CG, whose last line minimization ends far below the criterion: descend on toward
        # tol/1000 while the torque still falls (patience: 200 iterations without a 10 % gain) ...
        tq, info = relax(mod.sim, tol_torque=tol_T * 1e-3, progress=verbose >= 1, frozen=mod.frozen,
                         max_iter=max_iter, patience=200, on_iteration=on_iteration, label=label, polish=False)
        if float(np.max(tq)) >= tol_T:  # ... and where that stalls above the criterion, the full relax()
            n0 = info["field_evaluations"]
            tq, info = relax(mod.sim, tol_torque=tol_T, progress=verbose >= 1, frozen=mod.frozen,
                             max_iter=max_iter, on_iteration=on_iteration, label=label)
            info["field_evaluations"] += n0
        self.info = info
        worst = float(np.max(tq))
        met = worst < tol_T
        self._criterion_met = bool(getattr(self, "_criterion_met", True) and met)
        self._criterion = {"stopping_mxHxm": tol_T / MU0, "max_mxHxm": worst / MU0}
        if not met:
            warnings.warn(f"{type(self).__name__}: stopped with max |m × H| = {worst / MU0:.3g} A/m, above "
                          f"stopping_mxHxm = {tol_T / MU0:g} A/m: the state is not converged", RuntimeWarning,
                          stacklevel=4)
        return info

    def _tol(self):
        v = getattr(self, "stopping_mxHxm", 0.1)  # A/m, oommfc's default
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"stopping_mxHxm must be a number > 0 in A/m, got {v!r}")
        return MU0 * float(v)

    def _evolver(self, allowed, default):
        evo = getattr(self, "evolver", None)
        if evo is None:
            return default()
        if not isinstance(evo, allowed):
            raise TypeError(f"Cannot use {type(evo).__name__} for evolver of {type(self).__name__} (allowed: "
                            f"{', '.join(c.__name__ for c in allowed)})")
        return evo


class _BackgroundWriter:
    """One thread that runs file writes in the order they were submitted; at most :attr:`depth` pending (a
    drive that outruns the disk waits instead of holding every snapshot in memory)."""

    depth = 8

    def __init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(1, thread_name_prefix="micromag-ubermag-output")
        self._pending = []

    def submit(self, write, *args, **kwargs):
        self._collect(block=len(self._pending) >= self.depth)
        self._pending.append(self._pool.submit(write, *args, **kwargs))

    def _collect(self, block=False):
        while self._pending and (block or self._pending[0].done()):
            f = self._pending.pop(0)
            block = False
            f.result()  # a failed write raises here, in the solver's thread

    def close(self):
        try:
            while self._pending:
                self._pending.pop(0).result()
        finally:
            self._pool.shutdown(wait=True)


def _centre(system):
    r = system.m.mesh.region
    return tuple(0.5 * (float(a) + float(b)) for a, b in zip(r.pmin, r.pmax))


class MinDriver(Driver):
    """Energy minimization to max |m × H_eff| < ``stopping_mxHxm`` (A/m, default 0.1) with micromag's
    minimizer (:mod:`micromag.engine.relax`); ``evolver`` may be a :class:`CGEvolver`. ``total_iteration_limit``
    bounds the iterations (default 20000)."""

    _allowed_attributes = ["evolver", "stopping_mxHxm", "stage_iteration_limit", "total_iteration_limit",
                           "stage_count", "stage_count_check", "checkpoint_file", "checkpoint_interval",
                           "checkpoint_disposal", "start_iteration", "start_stage", "start_stage_iteration",
                           "start_stage_start_time", "start_stage_elapsed_time", "start_last_timestep",
                           "normalize_aveM_output", "report_max_spin_angle", "report_wall_time", "backend"]
    label = "MinDriver"

    def _call(self, system, runner=None, verbose=1, output_step=False, **kwargs):
        self._evolver((ev.CGEvolver,), ev.CGEvolver)
        self._open_table([("iteration", "")])
        tol = self._tol()
        cb = (lambda it, tq: self._row([it])) if output_step else None  # a row per iteration
        info = self._minimize(system, tol, verbose, on_iteration=cb, label=self.label)
        if not output_step:
            self._row([info["field_evaluations"]])
        self._snapshot(system)
        self._close_output()

    @property
    def _x(self):
        return "iteration"


class RelaxDriver(MinDriver):
    """Relaxation to where the precession-free LLG stops (``sim.relax()``, :mod:`micromag.engine.relax`), to
    max |m × H_eff| < ``stopping_mxHxm`` (A/m, default 0.1)."""

    _allowed_attributes = MinDriver._allowed_attributes + ["MinimizerStop", "DemagAccuracy", "Headroom", "LastErr",
                                                           "MaxErr", "RelaxTorqueThreshold", "NEval", "PeakErr"]
    label = "RelaxDriver"

    def _call(self, system, runner=None, verbose=1, output_step=False, **kwargs):
        if self._model.dmi_without_exchange:
            raise RuntimeError("RelaxDriver: DMI needs an Exchange term with A > 0 (its boundary condition "
                               "2A ∂m/∂n = m × W involves A; MuMax3 refuses the same); MinDriver minimizes the "
                               "DMI energy alone")
        thr = getattr(self, "RelaxTorqueThreshold", None)  # MuMax3's name, in T
        if thr is not None and not hasattr(self, "stopping_mxHxm"):
            self.stopping_mxHxm = float(thr) / MU0
        super()._call(system, runner=runner, verbose=verbose, output_step=output_step, **kwargs)


class HysteresisDriver(MinDriver):
    """A hysteresis loop: for each applied field of ``Hmin``→``Hmax``→``Hmin`` in ``n`` steps each (or
    ``Hsteps=[[H_start, H_end, n], ...]``, A/m), minimize as :class:`MinDriver`. The loop's field is an
    extra uniform Zeeman term ``hysteresis`` on top of the system's own; a segment's first field is skipped
    when it equals the previous segment's last (as OOMMF)."""

    _extra_kwargs = ("Hmin", "Hmax", "n", "Hsteps")
    label = "HysteresisDriver"

    def _checkargs(self, kwargs):
        if any(k in kwargs for k in ("Hmin", "Hmax", "n")) and "Hsteps" in kwargs:
            raise ValueError("Cannot define both (Hmin, Hmax, n) and Hsteps.")
        if all(k in kwargs for k in ("Hmin", "Hmax", "n")):
            kwargs["Hsteps"] = [[kwargs["Hmin"], kwargs["Hmax"], kwargs["n"]],
                                [kwargs["Hmax"], kwargs["Hmin"], kwargs["n"]]]
            for k in ("Hmin", "Hmax", "n"):
                kwargs.pop(k)
        if "Hsteps" not in kwargs:
            raise ValueError("HysteresisDriver.drive needs (Hmin, Hmax, n) or Hsteps")
        for step in kwargs["Hsteps"]:
            if len(step) != 3:
                raise ValueError("Each item of Hsteps must have 3 entries: H_start, H_end, n.")
            a, b, n = step
            for h in (a, b):
                if np.shape(h) != (3,) or not np.all(np.isfinite(np.asarray(h, float))):
                    raise ValueError(f"H_start and H_end must be 3-vectors in A/m, got {h!r}")
            if not isinstance(n, (int, np.integer)) or n < 2:
                raise ValueError(f"n must be an integer >= 2 (points per segment, ends included), got {n!r}")

    def _fields(self, Hsteps):
        pts = []
        for a, b, n in Hsteps:
            seg = np.linspace(np.asarray(a, float), np.asarray(b, float), int(n))
            for k, h in enumerate(seg):
                if k == 0 and pts and np.allclose(h, pts[-1], rtol=0, atol=1e-12 * max(1.0, np.abs(h).max())):
                    continue
                pts.append(h)
        return pts

    def _call(self, system, runner=None, verbose=1, Hsteps=None, **kwargs):
        self._evolver((ev.CGEvolver,), ev.CGEvolver)
        fields = self._fields(Hsteps)
        mod = self._model
        mod.set_zeeman("hysteresis", np.zeros(3))
        self._open_table([("B_hysteresis", "mT")])
        tol = self._tol()
        prog = Progress("HysteresisDriver", len(fields), enabled=verbose >= 1)
        for k, H in enumerate(fields):
            B = MU0 * np.asarray(H)
            mod.set_zeeman("hysteresis", B)
            self._minimize(system, tol, 0)
            self._row([1e3 * float(np.linalg.norm(B))])  # mT, as OOMMF
            self._snapshot(system)
            prog.update(k + 1, f"field {k + 1}/{len(fields)}: B = ({B[0]:.4g}, {B[1]:.4g}, {B[2]:.4g}) T")
        prog.done(f"{len(fields)} fields")
        self._close_output()

    @property
    def _x(self):
        return "B_hysteresis"


class TimeDriver(Driver):
    """Time evolution for ``t`` seconds in ``n`` stages (a table row and an OVF snapshot after each), the
    LLG with the system's dynamics terms. ``evolver``: one of the time evolvers of :mod:`.evolvers`
    (default: adaptive RK45; at T > 0 a thermal evolver must be given, as in oommfc).
    ``stopping_dm_dt`` (deg/ns): the drive ends early, after the stage at whose end max |dm/dt| is below it."""

    _allowed_attributes = ["evolver", "stopping_dm_dt", "stage_iteration_limit", "total_iteration_limit",
                           "stage_count_check", "checkpoint_file", "checkpoint_interval", "checkpoint_disposal",
                           "start_iteration", "start_stage", "start_stage_iteration", "start_stage_start_time",
                           "start_stage_elapsed_time", "start_last_timestep", "normalize_aveM_output",
                           "report_max_spin_angle", "report_wall_time", "backend"]
    _extra_kwargs = ("t", "n")

    def _checkargs(self, kwargs):
        if "t" not in kwargs or "n" not in kwargs:
            raise ValueError("TimeDriver.drive needs t (s) and n (number of stages)")
        t, n = kwargs["t"], kwargs["n"]
        if not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
            raise ValueError(f"Cannot drive with t={t!r}: t must be a number > 0 (s).")
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise ValueError(f"Cannot drive with type(n)={type(n)}: n must be an integer.")
        if n <= 0:
            raise ValueError(f"Cannot drive with n={n}: n must be >= 1.")

    def _check_system(self, system):
        if len(system.dynamics) == 0:
            raise RuntimeError("System's dynamics is not defined")
        if len(system.energy) == 0:
            raise RuntimeError("System's energy is not defined")

    def _make_model(self, system, backend="auto", fixed_subregions=None, pbc_images=10, t=None, n=None, **kw):
        evo = self._evolver(ev.TIME_EVOLVERS, ev.RungeKuttaEvolver)
        if system.T > 0 and not isinstance(evo, (ev.UHH_ThetaEvolver, ev.Xf_ThermHeunEvolver,
                                                 ev.Xf_ThermSpinXferEvolver)):
            raise RuntimeError("For simulations at finite temperature (system.T > 0) the evolver must be specified "
                               "explicitly: UHH_ThetaEvolver, Xf_ThermHeunEvolver or Xf_ThermSpinXferEvolver")
        opts = _evolver_options(evo)
        mod = Model(system, backend=backend, fixed_subregions=fixed_subregions, dynamics=True,
                    pbc_images=pbc_images, **opts)
        if isinstance(evo, ev.EulerEvolver) and getattr(evo, "start_dt", None) is None:
            dm = float(getattr(evo, "start_dm", 0.01))  # deg, OOMMF's default
            rate = _max_dmdt(mod)
            if rate > 0:
                mod.sim.dt = min(max(math.radians(dm) / rate, mod.sim.dt_min), mod.sim.dt_max)
        for _, _, g, _ in mod.zeeman:  # Tcl scripts see OOMMF's stages
            if hasattr(g, "stage_length"):
                g.stage_length = t / n
        return mod

    def _call(self, system, runner=None, verbose=1, t=None, n=None, **kwargs):
        mod = self._model
        sim = mod.sim
        sim.t = 0.0
        self._open_table([("t", "s")])
        stage = t / n
        stop = getattr(self, "stopping_dm_dt", None)
        prog = Progress("TimeDriver", t, enabled=verbose >= 1)
        chunks = max(1, math.ceil(20 / n))  # at least ~20 progress updates in a drive
        marks = {"k": 0, "t": 0.0}

        def at_mark(sim_):
            # one run for the whole drive, this called at each of its n·chunks marks: no per-stage start-up of
            # a run (checks, thread limits, a fresh first stage of the integrator), which cost an SP4 drive of
            # 100 stages ~10 % over the native API
            marks["k"] += 1
            k, j = divmod(marks["k"], chunks)
            if j:
                prog.update((k + j / chunks) * stage, f"t = {(k + j / chunks) * stage:.4g} s, stage {k + 1}/{n}")
                return False
            t_k = marks["t"] = k * stage  # the stage ends at k t / n exactly (the run lands there up to round-off)
            prog.update(t_k, f"t = {t_k:.4g} s, stage {k}/{n}")
            self._row([t_k])
            self._snapshot(system)
            return stop is not None and k < n and _max_dmdt(mod) * 180 / math.pi * 1e-9 < float(stop)

        try:
            sim.run(t, every=stage / chunks, stop=at_mark, progress=False)
            sim.t = marks["t"]
        finally:
            self._close_output()
        prog.done(f"t = {sim.t:.4g} s")

    @property
    def _x(self):
        return "t"


def _evolver_options(evo):
    """Simulation options (integrator, tol, dt, dt_min, dt_max) from a time evolver's attributes."""
    s = evo.settings()
    opts = {}
    if isinstance(evo, (ev.UHH_ThetaEvolver, ev.Xf_ThermHeunEvolver, ev.Xf_ThermSpinXferEvolver)):
        dt = s.get("fixed_timestep")
        if dt is None and s.get("min_timestep") is not None and s.get("min_timestep") == s.get("max_timestep"):
            dt = s["min_timestep"]
        opts["dt"] = float(dt) if dt is not None else 1e-13
        if not opts["dt"] > 0:
            raise ValueError(f"fixed_timestep must be > 0 s, got {dt!r}")
        return opts
    method = str(s.get("method", "rkf54"))
    if isinstance(evo, ev.EulerEvolver):
        opts["integrator"] = "rk23"
    else:
        table = {"rkf54": "rkf54", "rkf54m": "rk45", "rkf54s": "rkf54s", "rk2": "rk23", "rk4": "rk4"}
        if method not in table:
            raise ValueError(f"RungeKuttaEvolver.method must be one of {sorted(table)}, got {method!r}")
        opts["integrator"] = table[method]
    if s.get("start_dt") is not None:
        opts["dt"] = float(s["start_dt"])
    if s.get("min_timestep") is not None:
        opts["dt_min"] = float(s["min_timestep"])
    if s.get("max_timestep") is not None:
        opts["dt_max"] = float(s["max_timestep"])
    if s.get("absolute_step_error") is not None:
        opts["tol"] = math.radians(float(s["absolute_step_error"]))
    return opts


def _max_dmdt(mod):
    """Largest |dm/dt| in rad/s of the model's present state (one RHS evaluation)."""
    sim = mod.sim
    xp = sim.xp
    state = sim.state
    out = xp.empty_like(state.m)
    sim.llg(state.m, state.t, out)
    n = xp.sqrt((out * out).sum(axis=1)).max()
    return float(n if xp is np else xp.asnumpy(n))
