"""The scripting API: a Simulation holds the system, the state, the terms and the integrator."""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from .backends import select_backend
from .integrators import Stepper, get_tableau, normalize
from .llg import LLG
from .progress import Progress
from .system import System
from .table import Table
from .terms import build_terms


def _positive(name, v, unit="s", allow_zero=False):
    if isinstance(v, (bool, np.bool_, str, bytes)):  # float(True) = 1 s, float("1e-9") would pass silently
        raise ValueError(f"{name} must be a number in {unit}, got {v!r}")
    try:
        v = float(v)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number in {unit}, got {v!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0 {unit}, got {v!r}")
    return v


MAX_MARKS = 1e9  # table/snapshot times of one run (each costs at least one step and one row)


def _check_tol(tol):
    v = _positive("tol", tol, unit="(dimensionless: largest error of the unit vector m per step)")
    if v >= 1:
        raise ValueError(f"tol must lie in (0, 1) (dimensionless: the largest error of the unit vector m per "
                         f"step; typical 1e-5 .. 1e-3), got {tol!r}")
    return v


def _make_out(out):
    """Create the output folder ``out``; an existing file of that name is an error naming ``out``."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out = {os.fspath(out)!r} is an existing file, not a folder: give a folder for the "
                         "table and snapshots")
    os.makedirs(out, exist_ok=True)


class _FrozenTime:
    """The LLG right-hand side with every drive held at fixed member times (for ``relax``, whose own clock
    is a relaxation clock, not the simulation's time); everything else is the wrapped object's."""

    def __init__(self, llg, t):
        self._llg, self._t = llg, t

    def __call__(self, m, t, out):
        return self._llg(m, self._t, out)

    def effective_field(self, m, t=None, out=None):
        return self._llg.effective_field(m, self._t, out)

    def __getattr__(self, name):
        return getattr(self._llg, name)


class Simulation:
    """A micromagnetic simulation on a regular grid.

    Parameters
    ----------
    grid : Grid
    material : Material for the whole magnet (or the default for regions not in ``materials``).
    geometry : shape or fill-fraction array (see :class:`~micromag.system.System`); None = full box.
    regions, materials : region map / painted shapes and ``{region_id: Material}``.
    batch : number B of independent copies integrated together (state shape (B, 3, nz, ny, nx)).
    backend : 'auto' | 'cpu' | 'gpu'.
    demag : include the demagnetizing field (default True).
    integrator : 'rk45' (Dormand–Prince, default), 'rk23', 'rk4', 'heun', 'euler'.
    tol : largest per-cell error of the unit vector m per step for adaptive integrators (dimensionless;
          default 1e-5, as MuMax3).
    dt : initial step (adaptive) or fixed step (rk4, euler), s.
    dt_min, dt_max : bounds of the adaptive step, s.
    dtype : float32 or float64; default float64 on the CPU and in emulation, float32 on the GPU.
    """

    def __init__(self, grid, material=None, geometry=None, regions=None, materials=None, batch=1,
                 backend="auto", demag=True, integrator="rk45", tol=1e-5, dt=1e-13, dt_min=1e-18, dt_max=1e-11,
                 dtype=None):
        # every argument is checked before any work (the demag kernel, the engine) starts
        from .guard import check_int
        from .materials import Material

        batch = check_int("batch", batch, lo=1)
        if material is not None and not isinstance(material, Material):
            raise TypeError(f"material must be a micromag Material (e.g. mm.Permalloy()), got {material!r}")
        if materials is not None and not isinstance(materials, dict):
            raise TypeError(f"materials must be a dict {{region id: Material}}, got {type(materials).__name__}")
        if not isinstance(demag, (bool, np.bool_)):
            raise TypeError(f"demag must be True or False, got {demag!r}")
        self.tol = _check_tol(tol)
        self._dt0 = _positive("dt", dt)
        self.dt_min = _positive("dt_min", dt_min)
        self.dt_max = _positive("dt_max", dt_max)
        if self.dt_min > self.dt_max:
            raise ValueError(f"dt_min = {self.dt_min:g} s must not exceed dt_max = {self.dt_max:g} s")
        self.integrator = integrator
        self.backend = select_backend(backend)
        self.batch = int(batch)
        if self.backend == "cpu":
            if dtype not in (None, np.float64, "float64"):
                raise ValueError(f"dtype on the CPU backend must be float64, got {dtype!r}")
            dtype_ = np.dtype(np.float64)
        else:
            default = np.float32 if self.backend == "gpu" else np.float64
            try:
                dtype_ = np.dtype(default if dtype is None else dtype)
            except TypeError:
                dtype_ = None
            if dtype_ not in (np.float32, np.float64):
                raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        from .grid import Grid
        from .memory import check_simulation

        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a micromag Grid (mm.Grid(n=..., cell=...)), got {grid!r}")
        check_simulation(grid, self.batch, self._tableau.stages, bool(demag), self.backend, dtype_)
        self.system = System(grid, material=material, geometry=geometry, regions=regions, materials=materials)
        self.grid = grid
        self._shape = (self.batch, 3) + grid.shape
        self._mask = self.system.magnetic.astype(float)
        self._weight = (self.system.fill * self.system.magnetic) / float((self.system.fill * self.system.magnetic).sum())
        self.terms = build_terms(self.system, demag=bool(demag))
        self.zeeman = self.terms["zeeman"]
        self.dtype = dtype_
        self._build_engine()
        self.m = (1.0, 0.0, 0.0)
        self._tables = {}
        self._seed = 0
        self._extra_columns = []

    def _build_engine(self, m=None, t=None):
        """The backend's LLG right-hand side and the state arrays (again after unpickling)."""
        if self.backend == "cpu":
            self.xp = np
            self.llg = LLG(self.system, list(self.terms.values()), self.batch)
        else:
            from .backends.cuda import CudaLLG, cupy_device, emulated_device

            device = cupy_device() if self.backend == "gpu" else emulated_device()
            self.xp = device.xp
            self.llg = CudaLLG(self.system, self.terms, self.batch, dtype=self.dtype, device=device)
            if self.zeeman.B_ext is not None:
                self.llg.set_B_ext(self.zeeman.B_ext)
        xp = self.xp
        self._m = xp.zeros(self._shape, dtype=self.dtype) if m is None else xp.asarray(m.astype(self.dtype))
        self._t = xp.zeros(self.batch) if t is None else xp.asarray(t)
        self._mask_dev = xp.asarray(self._mask.astype(self.dtype))
        self._stepper = None

    # ------------------------------------------------------------------ checkpoints
    _ENGINE = ("llg", "_stepper", "xp", "_m", "_t", "_mask_dev", "_tf", "_tables", "_series")

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in self._ENGINE}
        state["_m_host"], state["_t_host"] = self._host(self._m).astype(self.dtype), self._host(self._t)
        return state

    def __setstate__(self, state):
        m, t = state.pop("_m_host"), state.pop("_t_host")
        self.__dict__.update(state)
        self._tables, self._tf = {}, {}
        self._build_engine(m, t)

    def save_checkpoint(self, path):
        """Write everything needed to continue this run (m, t, the step size and the integrator's cached
        first stage, drives, RNG states) to ``path`` atomically. If the simulation holds something that cannot
        be pickled (a lambda drive, say), only the state is saved: restore it with
        :meth:`restore_checkpoint` on a Simulation built again by the same script."""
        import pickle

        st = self._stepper
        m, t = self._host(self._m), self._host(self._t)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))):
            raise ValueError(f"checkpoint {path} not written: the state holds NaN or infinite values (m or t), "
                             "which could not be continued; restore an earlier checkpoint")
        dt = None if st is None else self._host(st.dt)
        if dt is not None:  # a member frozen by a failure gets a fresh try at the initial step on resume
            dt = np.where(np.isfinite(dt), dt, self._dt0)
        state = {
            "format": "micromag-checkpoint-1",
            "m": m.astype(self.dtype), "t": t,
            "dt": dt,
            "k0": self._host(st.k[0]) if st is not None and st.k0_valid else None,
            "thermal": self.terms["thermal"].state() if "thermal" in self.terms else None,
            # the GPU's thermal noise is keyed by per-member step counters (Philox), not the CPU's streams
            "thermal_counter": (self._host(self.llg._th["counter"]).astype(np.int64)
                                if self.backend != "cpu" and getattr(self.llg, "_th", None) else None),
        }
        try:
            state["recipe"] = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # lambdas, open files, ...
            state["recipe"], state["recipe_error"] = None, f"{type(exc).__name__}: {exc}"
        from .io.atomic import atomic_write

        return atomic_write(path, lambda f: pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def _read_checkpoint(path):
        import pickle

        try:
            with open(path, "rb") as f:
                state = pickle.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"checkpoint {path} does not exist") from None
        except Exception as exc:
            raise ValueError(f"checkpoint {path} is unreadable ({type(exc).__name__}: {exc})") from None
        if not isinstance(state, dict) or state.get("format") != "micromag-checkpoint-1":
            raise ValueError(f"{path} is not a micromag checkpoint")
        missing = [k for k in ("m", "t", "dt", "k0", "thermal", "recipe") if k not in state]
        if missing:
            raise ValueError(f"checkpoint {path} is incomplete: it lacks {missing} (written by another program or "
                             "damaged); write it again with sim.save_checkpoint(path)")
        m, t = state["m"], state["t"]
        if not (isinstance(m, np.ndarray) and m.ndim == 5 and m.shape[1] == 3 and isinstance(t, np.ndarray)
                and t.shape == (m.shape[0],)):
            raise ValueError(f"checkpoint {path} is damaged: m must be an array (B, 3, nz, ny, nx) and t one time "
                             "per member")
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))):
            raise ValueError(f"checkpoint {path} holds a non-finite state (NaN or inf in m or t): it cannot be "
                             "continued")
        return state

    @classmethod
    def load_checkpoint(cls, path):
        """A Simulation rebuilt from a checkpoint written by :meth:`save_checkpoint`, ready to continue."""
        import pickle

        state = cls._read_checkpoint(path)
        if state["recipe"] is None:
            raise ValueError(f"checkpoint {path} holds only the state ({state.get('recipe_error')}): build the "
                             "Simulation with your script and call sim.restore_checkpoint(path)")
        sim = pickle.loads(state["recipe"])
        sim._restore_state(state, path)
        return sim

    def restore_checkpoint(self, path):
        """Load the state saved by :meth:`save_checkpoint` into this (identically built) Simulation."""
        self._restore_state(self._read_checkpoint(path), path)
        return self

    def _restore_state(self, state, path):
        if state["m"].shape != self._shape:
            raise ValueError(f"checkpoint {path} holds m of shape {state['m'].shape}, this simulation needs {self._shape}")
        xp = self.xp
        self._m[...] = xp.asarray(state["m"].astype(self.dtype))
        self._t[...] = xp.asarray(state["t"])
        self._restored_t = self._host(self._t)  # a continued run may cut output written after this time
        if state["thermal"] is not None and "thermal" in self.terms:
            for r, s in zip(self.terms["thermal"].rngs, state["thermal"]):
                r.bit_generator.state = s
        if state.get("thermal_counter") is not None and getattr(self.llg, "_th", None):
            self.llg._th["counter"][...] = xp.asarray(state["thermal_counter"])
        self._stepper = None
        if state["dt"] is not None:
            st = self._get_stepper()
            st.dt[...] = xp.asarray(state["dt"])
            if state["k0"] is not None and st.tab.fsal:
                st.k[0][...] = xp.asarray(state["k0"].astype(self.dtype))
                st.k0_valid = True

    # ------------------------------------------------------------------ state
    @property
    def integrator(self):
        return self._tableau.name

    @integrator.setter
    def integrator(self, name):
        self._tableau = get_tableau(name)
        self._stepper = None

    def _new_stepper(self, tableau, tol, dt_max):
        if self.backend == "cpu":
            return Stepper(self.llg, tableau, self._shape, mask=self._mask, tol=tol, dt=self._dt0,
                           dt_min=self.dt_min, dt_max=dt_max)
        from .backends.cuda import CudaStepper

        return CudaStepper(self.llg, tableau, tol=tol, dt=self._dt0, dt_min=self.dt_min, dt_max=dt_max)

    def _get_stepper(self):
        thermal = self._thermal_on()
        if self._stepper is None or self._stepper.tol != self.tol or getattr(self._stepper, "thermal", False) != thermal:
            if thermal:  # stochastic Heun: fixed step, no FSAL, the noise held over the step
                self._stepper = Stepper(self.llg, "heun", self._shape, mask=self._mask, tol=self.tol, dt=self._dt0,
                                        dt_min=self._dt0, dt_max=self._dt0, fixed=True) if self.backend == "cpu" else \
                    self.llg.fixed_stepper("heun", self._dt0, self.tol)
            else:
                self._stepper = self._new_stepper(self._tableau, self.tol, self.dt_max)
            self._stepper.thermal = thermal
        return self._stepper

    def _host(self, a):
        """A NumPy float64 copy of a state array."""
        return np.asarray(a if self.xp is np else self.llg.device.asnumpy(a), dtype=float).copy()

    def _changed(self):
        if self._stepper is not None:
            self._stepper.invalidate()

    @property
    def m(self):
        """Magnetization unit vectors, a copy of shape (B, 3, nz, ny, nx) (zero outside the magnet)."""
        return self._host(self._m)

    @m.setter
    def m(self, value):
        g = self.grid
        if callable(value):
            x, y, z = g.coords()
            comps = value(x, y, z)
            arr = np.stack([np.broadcast_to(np.asarray(c, float), g.shape) for c in comps])
        else:
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"m must be a 3-vector, an array of unit vectors or a function (x, y, z) -> "
                                 f"(mx, my, mz), got {value!r}") from None
            if arr.shape == (3,):
                arr = np.broadcast_to(arr[:, None, None, None], (3,) + g.shape)
        if arr.shape == (3,) + g.shape:
            arr = np.broadcast_to(arr, self._shape)
        elif arr.shape == (self.batch, 3):
            arr = np.broadcast_to(arr[:, :, None, None, None], self._shape)
        if arr.shape != self._shape:
            raise ValueError(f"m must be a 3-vector, a (B, 3) array, an array of shape {(3,) + g.shape} or "
                             f"{self._shape}, or a function (x, y, z) -> (mx, my, mz); got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("m contains NaN or infinite values")
        # the length through the largest component: (1e200, 1e200, 0) must not overflow to inf (and give 0)
        scale = np.abs(arr).max(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.where(scale > 0, arr / np.where(scale > 0, scale, 1.0), 0.0)
        norm = np.sqrt((unit**2).sum(axis=1)) * scale[:, 0]
        if np.any(norm[:, self.system.magnetic] < 1e-12):
            raise ValueError("m has zero length in a magnetic cell: every cell of the magnet needs a direction")
        if np.abs(norm[:, self.system.magnetic] - 1).max() > 4e-16:  # unit vectors (a restored state) stay bitwise
            m = np.array(unit, dtype=float)
            normalize(m, self._mask, out=m)
        else:
            m = np.array(arr, dtype=float)
            m *= self._mask
        self._m[...] = self.xp.asarray(m.astype(self.dtype))
        self._changed()

    @property
    def t(self):
        """Simulated time in s (a float, or an array of B times for a batch)."""
        t = self._host(self._t)
        return float(t[0]) if self.batch == 1 else t

    @t.setter
    def t(self, value):
        try:
            v = np.asarray(value, dtype=float)
            v = np.broadcast_to(v, (self.batch,))
        except (TypeError, ValueError):
            raise ValueError(f"t must be a time in s (a number, or {self.batch} numbers, one per member), "
                             f"got {value!r}") from None
        if not np.all(np.isfinite(v)):
            raise ValueError(f"t must be a finite time in s, got {value!r}")
        self._t[...] = self.xp.asarray(v)
        self._changed()

    @property
    def B_ext(self):
        return self.zeeman.B_ext

    @B_ext.setter
    def B_ext(self, value):
        """Applied field in T: a 3-vector, a (B, 3) array, a spatial field, or a function of t (s)."""
        self.zeeman.set(value)
        if self.backend != "cpu":
            self.llg.set_B_ext(value)
        self._changed()

    @property
    def dt(self):
        """Current (next) time step in s."""
        dt = self._host(self._get_stepper().dt)
        return float(dt[0]) if self.batch == 1 else dt

    @dt.setter
    def dt(self, value):
        self._dt0 = _positive("dt", value)
        self._stepper = None

    # ------------------------------------------------------------------ terms
    def add(self, term, name=None):
        """Add a term built on ``sim.system`` (e.g. a spin-orbit torque); returns it.

        Must happen before the first table row of an output folder (the table's columns are fixed then).
        """
        from .terms.base import Term

        if not isinstance(term, Term):
            raise TypeError(f"add() takes a micromag Term, got {type(term).__name__}")
        if term.system is not self.system:
            raise ValueError("the term was built for another system: build it with sim.system")
        if self.backend != "cpu":
            self.llg.check_term(term)  # NotImplementedError for a term without a GPU kernel
        name = name or term.name
        base, k = name, 2
        while name in self.terms:
            name, k = f"{base}{k}", k + 1
        self.terms[name] = term
        self.llg.set_terms(self.terms.values())
        self._stepper = None
        return term

    def table_add(self, name, unit, func):
        """Add a table column (MuMax3's TableAdd): ``func(m, t)`` gets the host state (B, 3, nz, ny, nx) and
        times (B,) in s and returns one value per member. Anything with ``table_columns()`` and
        ``table_values(m, t)`` (an MTJ readout, say) may be passed as ``name`` instead, with unit and func None.
        """
        if hasattr(name, "table_columns") and unit is None and func is None:
            obj = name
            cols = obj.table_columns()
            for k, (n, u) in enumerate(cols):
                self.table_add(n, u, lambda m, t, k=k, obj=obj: np.asarray(obj.table_values(m, t))[:, k])
            return
        if not callable(func):
            raise TypeError("table_add needs a callable func(m, t) -> one value per member")
        if self._tables:
            raise RuntimeError("add table columns before the first table row is written")
        self._extra_columns.append((str(name), str(unit), func))

    @property
    def temperature(self):
        """Temperature in K (a number, one per member, or a drive of t); > 0 switches on Brown's thermal field
        and the fixed-step stochastic Heun integrator with step ``sim.dt``."""
        th = self.terms.get("thermal")
        return None if th is None else th.temperature

    @temperature.setter
    def temperature(self, value):
        from .terms.thermal import ThermalField

        th = self.terms.get("thermal")
        if th is None:
            th = ThermalField(self.system, value, seed=self._seed, batch=self.batch)
            self.add(th)
        else:
            th.set_temperature(value)
        self._changed()

    @property
    def seed(self):
        """Seed of the thermal noise; each member draws from its own stream (seed, member)."""
        return self._seed

    @seed.setter
    def seed(self, value):
        self._seed = int(value)
        if "thermal" in self.terms:
            self.terms["thermal"].reset_rng(self._seed)

    def _thermal_on(self):
        th = self.terms.get("thermal")
        return th is not None and th.active(self._host(self._t))

    # ------------------------------------------------------------------ observables
    def _avg(self, m):
        return np.einsum("bcijk,ijk->bc", m, self._weight)

    @property
    def m_avg(self):
        """Average magnetization over the magnet (fill-weighted): (3,) or (B, 3)."""
        a = self._avg(self._host(self._m))
        return a[0] if self.batch == 1 else a

    def energies(self):
        """Energy of each term in J: {name: float or (B,) array} (evaluated by the NumPy terms)."""
        out = {}
        m, t = self._host(self._m), self._host(self._t)
        for name, term in self._energy_terms().items():
            e = term.energy(m, t)
            out[name] = float(e[0]) if self.batch == 1 else e
        return out

    def _energy_terms(self):
        """Terms that store energy (not torques, not the random thermal field)."""
        return {n: t for n, t in self.terms.items()
                if getattr(t, "stores_energy", True) and not getattr(t, "is_torque", False)}

    def energy(self):
        """Total energy in J (float, or (B,) for a batch)."""
        return sum(self.energies().values())

    def effective_field(self):
        """B_eff in T, shape (B, 3, nz, ny, nx)."""
        return self._host(self.llg.effective_field(self._m, self._t))

    def _torques(self, t=None):
        """(max, mean square) of |m × B_eff| in T over all members, on the backend's arrays."""
        xp = self.xp
        B = self.llg.effective_field(self._m, self._t if t is None else t)
        tq = xp.cross(self._m, B, axis=1)
        n2 = (tq * tq).sum(axis=1).reshape(self.batch, -1)
        return n2

    def max_torque(self):
        """Largest |m × B_eff| over the magnet, in T, per member."""
        n = np.sqrt(self._host(self._torques().max(axis=1)))
        return float(n[0]) if self.batch == 1 else n

    # ------------------------------------------------------------------ time evolution
    def step(self, n=1):
        """Take n >= 1 integrator steps (accepted or not). Raises :class:`~micromag.guard.SimulationDiverged`
        (the last good state kept) if a member's state stopped being finite."""
        from .guard import RunGuard, check_int

        n = check_int("n (the number of steps)", n, lo=1)
        self.tol = _check_tol(self.tol)
        st = self._get_stepper()
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
            _positive("duration", v)
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

    def _stability_check(self, st, longest):
        """Before a fixed-step run: warn when the step is clearly unstable. The largest precession frequency
        is estimated as ω = γ (max |B_eff| + B_ex), B_ex = (2A/Ms) Σ 4/d_i² (T) the exchange field of the
        shortest spin wave on the grid; a mode with eigenvalue λ = ω (−α + i)/(1 + α²) grows by |R(λ dt)| per
        step (R: the tableau's stability function); the warning fires when that growth compounds to more than
        a factor 1000 over the run (an error seeded at 1e-3 then reaches order 1)."""
        from .integrators import growth_factor, stability_limit

        xp = self.xp
        sysm = self.system
        regions = np.unique(sysm.region[sysm.magnetic])
        Ms = sysm.table("Ms")[regions]
        ok = Ms > 0
        regions, Ms = regions[ok], Ms[ok]
        if not len(regions):
            return
        A = sysm.table("A")[regions]
        gamma = float(sysm.table("gamma")[regions].max())
        alpha = float(sysm.table("alpha")[regions].min())
        g = self.grid
        k2 = sum(4.0 / d**2 for n, d, p in zip(g.n, g.cell, g.pbc) if n > 1 or p > 0)
        b_ex = float(np.max(2 * A / Ms)) * k2
        Bf = self.llg.effective_field(self._m, self._t)
        b_max = math.sqrt(float((Bf * Bf).sum(axis=1).max()))
        dt = float(xp.nanmax(st.dt)) if xp is not np else float(np.nanmax(st.dt))
        if not (math.isfinite(b_max) and dt > 0):
            return
        omega = gamma * (b_max + b_ex)
        rho = omega * dt
        u = complex(-alpha, 1.0) / math.sqrt(1 + alpha * alpha)
        growth = growth_factor(st.tab, rho * u)
        nsteps = max(1.0, longest / dt)
        if growth > 1 and nsteps * math.log(growth) > math.log(1e3):
            lim = stability_limit(st.tab, alpha)
            safe = (f"dt <= {lim / omega:.3g} s" if lim > 0
                    else "a smaller dt (it is unstable for undamped modes at any step)")
            warnings.warn(f"the fixed step dt = {dt:g} s of integrator {st.tab.name!r} is unstable here: the largest "
                          f"precession frequency γ(|B_eff| + B_ex) = {omega:.3g} rad/s (|B_eff| up to {b_max:.3g} T, "
                          f"exchange stiffness field {b_ex:.3g} T, α = {alpha:g}) gives ω·dt = {rho:.3g}, beyond "
                          f"the stability limit {lim:.3g} of {st.tab.name}; errors grow by {growth:.3g} per step. Use "
                          f"{safe}, or an adaptive integrator (rk45)", RuntimeWarning, stacklevel=3)

    def run(self, duration, out=None, every=None, progress=True, snapshot_every=None, snapshot_members=None,
            snapshot_extra=(), stop=None, append=False):
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
        while the others run on; then :class:`~micromag.guard.SimulationDiverged` is raised naming the likely
        cause. A fixed-step integrator warns first when its step is clearly unstable for the present field.
        """
        from . import memory
        from .guard import RunGuard

        B = self.batch
        dur = self._durations(duration)
        self.tol = _check_tol(self.tol)
        if every is not None:
            every = _positive("every", every)
            if every < self.dt_min:
                raise ValueError(f"every = {every:g} s is below dt_min = {self.dt_min:g} s: every table row would "
                                 "need a step shorter than the smallest one; choose every >= dt_min")
        if snapshot_every is not None:
            snapshot_every = _positive("snapshot_every", snapshot_every)
            if out is None:
                raise ValueError("snapshot_every needs out= (the folder of the ParaView series)")
            if snapshot_every < self.dt_min:
                raise ValueError(f"snapshot_every = {snapshot_every:g} s is below dt_min = {self.dt_min:g} s")
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
            ncol = 8 + len(self._energy_terms()) + len(self._extra_columns)
            memory.check_output(rows * B, ncol, frames, self.grid.ncells * (20 + 12 * len(tuple(snapshot_extra)))
                                + 4096, self._out_dir(out), what=f"run({longest:g})")
        table = self._open_table(out, append) if out is not None else None
        series = self._open_series(out, snapshot_members, append) if snapshot_every is not None else None
        st = self._get_stepper()
        self._retry_frozen(st)
        self.llg.precession = True
        xp = self.xp
        t0 = self._host(self._t)
        t_end = t0 + dur
        if getattr(st, "fixed", False):
            self._stability_check(st, longest)
        marks = self._schedule(dur, every, snapshot_every)
        if table is not None:
            self._write_row(table)  # the start, unless the table already has this time (a continued run)
        if series is not None:
            self._write_snapshots(series, snapshot_extra)
        guard = RunGuard(self, st, self._m, self._t)
        guard.check_field()  # a field of 1e5 T is nearly always a unit mistake: say so before the slow run
        prog = Progress("run", longest, enabled=progress)
        forced0 = getattr(st, "nforced", 0)
        for mark, is_tab, is_snap in marks:
            target = np.minimum(t0 + mark, t_end)
            target_dev = xp.asarray(target)
            guard.new_target(target)
            while bool((self._t < target_dev).any()):  # one scalar back from the device per step
                st.step(self._m, self._t, t_end=target_dev)
                frozen = guard.after_step()
                if frozen is not None:  # these members end here, at their last good state
                    t_end = np.where(frozen, self._host(self._t), t_end)
                    target = np.minimum(target, t_end)
                    target_dev = xp.asarray(target)
                    guard.new_target(target)
                if prog.due():
                    tmin = float(self._t.min())
                    rate = st.nsteps / max(prog.elapsed(), 1e-9)
                    prog.update(tmin - float(t0.min()), f"t = {tmin:.4g} s  dt = {float(xp.nanmin(st.dt)):.3g} s  "
                                f"steps {st.nsteps} ({rate:.0f}/s)")
            frozen = guard.check(state=guard.keep)  # every table/check time sees the whole state
            if frozen is not None:
                t_end = np.where(frozen, self._host(self._t), t_end)
            if stop is not None:
                done = np.broadcast_to(np.asarray(stop(self), dtype=bool), (B,))
                t_end = np.where(done, np.minimum(t_end, self._host(self._t)), t_end)
            last = bool(np.all(self._host(self._t) >= t_end))
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

    def _open_series(self, out, members, append=False):
        from .io.vtk import open_series

        out = self._out_dir(out)
        key = os.path.abspath(out)
        if not hasattr(self, "_series"):
            self._series = {}
        if key not in self._series:  # first run into this folder: an existing series there is an error
            _make_out(out)
            t = self._host(self._t)
            self._series[key] = open_series(self, out, members=members, resume=append,
                                            after=t if append else None, may_cut=self._may_cut(t))
        return self._series[key]

    def _write_snapshots(self, series, extra):
        from .io.vtk import write_snapshots

        write_snapshots(series, self, extra=tuple(extra))

    def _out_dir(self, out):
        out = os.fspath(out)
        if not os.path.isabs(out) and os.environ.get("MICROMAG_OUT"):  # `micromag run --out DIR`
            out = os.path.join(os.environ["MICROMAG_OUT"], out)
        return out

    def save_ovf(self, path, fmt="binary4", member=0):
        """Write m of one member to an OVF 2.0 file (binary4, binary8 or text), atomically."""
        from .guard import check_int
        from .io.ovf import write_ovf

        member = check_int("member", member, lo=0, hi=self.batch - 1)
        write_ovf(path, self.m[member], grid=self.grid, fmt=fmt, desc=f"Total simulation time: {self.t if self.batch == 1 else self.t[member]} s")
        return path

    def relax(self, tol_torque=1e-5, max_time=50e-9, progress=True):
        """Relax to a local energy minimum with the precession-free LLG, dm/dt = −γ m × (m × B_eff).

        Integrates with RK23 the way MuMax3 relaxes: first while the energy falls; then, since an
        adaptive step at the edge of stability leaves a noise floor of torque ~ tol/(γ dt), the step
        tolerance is divided by √2 each time the mean torque stops falling, down to 1e-9. Stops early
        when the largest |m × B_eff| is below ``tol_torque`` (T) in every member, or after ``max_time``
        s of relaxation time. Returns the final largest torque in T.
        """
        from .guard import check_stepper, check_torque

        tol_torque = _positive("tol_torque", tol_torque, unit="T")
        max_time = _positive("max_time", max_time)
        xp = self.xp
        # the drives stay at the simulation's present time; relaxation runs on a clock of its own
        engine = self.llg
        self.llg = _FrozenTime(engine, xp.asarray(self._t).copy())
        try:
            st = self._new_stepper("rk23", 1e-4, 1e-10)
        finally:
            self.llg = engine
        t = xp.zeros(self.batch)
        t_end = xp.full(self.batch, max_time)
        prog = Progress("relax", 1.0, enabled=progress)

        def steps(n=3):
            for _ in range(n):
                st.step(self._m, t, t_end=t_end)
            check_stepper(self, st, "relax")
            return bool((t >= max_time).all())

        def torques():
            n2 = self._torques()
            return check_torque(self, math.sqrt(float(n2.max())), "relax"), float(n2.mean())

        self.llg.precession = False
        th = self.terms.get("thermal")
        if th is not None:
            th.enabled = False
        try:
            done = steps()
            E0 = float(np.sum(self.energy()))
            done = done or steps()
            E1 = float(np.sum(self.energy()))
            k = 0
            while E1 < E0 and not done:
                done = steps()
                E0, E1 = E1, float(np.sum(self.energy()))
                k += 1
                if k % 10 == 0 and torques()[0] < tol_torque:  # already there: no need to wait for the noise
                    break
            tq_max, T1 = torques()
            while st.tol > 1e-9 and tq_max >= tol_torque and not done:
                st.tol /= math.sqrt(2)
                T0 = np.inf
                while T1 < T0 and tq_max >= tol_torque and not done:
                    done = steps()
                    T0 = T1
                    tq_max, T1 = torques()
                prog.update(min(1.0, math.log(max(tq_max, tol_torque)) / math.log(tol_torque)) if tol_torque < 1 else 1.0,
                            f"max torque {tq_max:.3g} T (target {tol_torque:g} T), step tolerance {st.tol:.2g}")
        finally:
            self.llg.precession = True
            if th is not None:
                th.enabled = True
        self._changed()
        prog.done(f"max torque {tq_max:.3g} T after {st.nevals} field evaluations")
        if tq_max >= tol_torque:
            warnings.warn(f"relax() stopped with max torque {tq_max:.3g} T, above tol_torque = {tol_torque:g} T "
                          "(step tolerance exhausted or max_time reached): the state is not converged",
                          RuntimeWarning, stacklevel=2)
        return tq_max

    def minimize(self, tol_torque=1e-6, max_iter=100000, progress=True):
        """Minimize the energy by steepest descent with Barzilai–Borwein steps (no dynamics).

        Update (a norm-preserving Cayley step, as in Exl et al., J. Appl. Phys. 115, 17D118 (2014)):
        m ← [(4 − τ²|m×B|²) m + 4τ (B − (m·B) m)] / (4 + τ²|m×B|²), τ in 1/T alternating the two BB
        formulas per member. Stops when max |m × B_eff| < ``tol_torque`` (T). Returns the final max torque.
        """
        from .guard import SimulationDiverged, check_int, describe
        from .minimize import minimize_bb

        tol_torque = _positive("tol_torque", tol_torque, unit="T")
        max_iter = check_int("max_iter", max_iter, lo=1)
        th = self.terms.get("thermal")
        if th is not None:
            th.enabled = False
        try:
            tq = minimize_bb(self.llg, self._m, self._t, self._mask_dev, tol_torque, max_iter, progress,
                             xp=self.xp)
        except SimulationDiverged as exc:  # m is back at the last state with a finite torque
            self._changed()
            members = list(exc.members) or list(range(self.batch))
            t = np.atleast_1d(np.asarray(self.t, dtype=float))
            msg, B, name = describe(self, members, [t[b] for b in members], "non-finite", "minimize")
            raise SimulationDiverged(msg, members, [t[b] for b in members], "non-finite", B, name) from None
        finally:
            if th is not None:
                th.enabled = True
        self._changed()
        if tq >= tol_torque:
            warnings.warn(f"minimize() stopped after {max_iter} iterations with max torque {tq:.3g} T, above "
                          f"tol_torque = {tol_torque:g} T: the state is not converged", RuntimeWarning, stacklevel=2)
        return tq

    # ------------------------------------------------------------------ output
    def _may_cut(self, t):
        """Whether output after the times ``t`` may be removed: only by a run continuing from a checkpoint
        restored into this Simulation (at those very times), i.e. output the interrupted run wrote."""
        r = getattr(self, "_restored_t", None)
        return r is not None and np.array_equal(np.asarray(r), np.asarray(t))

    def _open_table(self, out, append=False):
        out = self._out_dir(out)
        _make_out(out)
        names = ["table.txt"] if self.batch == 1 else [f"table_{b:04d}.txt" for b in range(self.batch)]
        key = os.path.abspath(out)
        if key not in self._table_files:
            cols = [("t", "s"), ("mx", ""), ("my", ""), ("mz", ""), ("E_total", "J")]
            cols += [(f"E_{name}", "J") for name in self._energy_terms()]
            cols += [("B_extx", "T"), ("B_exty", "T"), ("B_extz", "T")]
            cols += [(n, u) for n, u, _ in self._extra_columns]
            existing = [os.path.exists(os.path.join(out, n)) for n in names]
            if any(existing) and not append:
                raise FileExistsError(f"{os.path.join(out, names[existing.index(True)])} exists; choose another "
                                      "out= folder, remove it, or pass append=True to continue it")
            t = self._host(self._t)
            cut = self._may_cut(t)
            self._table_files[key] = [Table(os.path.join(out, n), cols, append=append,
                                            after=float(t[b]) if append else None, may_cut=cut)
                                      for b, n in enumerate(names)]
            self._tables[key] = 1 if append and all(existing) else 0  # a continued table has its first row
        return key

    @property
    def _table_files(self):
        if not hasattr(self, "_tf"):
            self._tf = {}
        return self._tf

    def _write_row(self, key):
        t = self._host(self._t)
        if not any(t[b] > tab.last_t for b, tab in enumerate(self._table_files[key])):
            return
        m = self._host(self._m)
        mavg = self._avg(m)
        es = {name: term.energy(m, t) for name, term in self._energy_terms().items()}
        etot = sum(es.values())
        bext = self.zeeman.average(t)
        extra = []
        for name, _, fn in self._extra_columns:
            v = np.broadcast_to(np.asarray(fn(m, t), dtype=float), (self.batch,))
            extra.append(v)
        for b, tab in enumerate(self._table_files[key]):
            if not t[b] > tab.last_t:  # a member that did not advance (stopped, frozen, continued) gets no row
                continue
            row = [t[b], *mavg[b], etot[b], *(es[n][b] for n in es), *bext[b], *(x[b] for x in extra)]
            tab.write(row)
        self._tables[key] += 1
