"""The scripting API: a Simulation holds the system, the state, the terms and the integrator."""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

from .backends import select_backend
from .integrators import Stepper, get_tableau, normalize
from .llg import LLG
from .progress import Progress
from .system import System
from .table import Table
from .terms import build_terms
from .threads import during_run
from .validation import check_positive


MAX_MARKS = 1e9  # table/snapshot times of one run (each costs at least one step and one row)


def _stop_flags(value, batch):
    """A ``stop(sim)`` callback's answer as (B,) bools: True/False, or one per member; anything else (a string,
    a number, None) is an error, never taken as true."""
    a = np.asarray(value)
    if a.dtype != bool or a.ndim > 1 or (a.ndim == 1 and a.shape[0] not in (1, batch)):
        raise TypeError(f"stop(sim) must return True/False or {batch} bools (one per member), got {value!r}")
    return np.broadcast_to(a.reshape(-1) if a.ndim else a, (batch,))


def _check_tol(tol):
    v = check_positive("tol", tol, unit="(dimensionless: largest error of the unit vector m per step)")
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


@dataclass(frozen=True)
class State:
    """The live state of a :class:`Simulation` on its backend: arrays of ``sim.xp`` (NumPy on the CPU, the
    device's arrays on the GPU or in emulation), advanced in place by the integrators and solvers.

    m     magnetization unit vectors, shape (B, 3, nz, ny, nx), dimensionless; 0 outside the magnet
    t     simulated time of each member, shape (B,), s
    mask  1 in magnetic cells, 0 elsewhere, shape (nz, ny, nx), in the state's dtype
    """

    m: object
    t: object
    mask: object


# what cannot change once a Simulation is built, and how to get there instead
FIXED_AFTER_BUILD = {
    "grid": "build a new Simulation(grid, ...) and carry the state over (sim.save_ovf / mm.load_ovf(path, grid=...))",
    "system": "build a new Simulation with the geometry, regions and materials you want",
    "terms": "add or remove terms with sim.add(term) and sim.remove(name); material parameters change with "
             "sim.set_parameter(...) or sim.material = ...",
    "backend": "choose it when building: mm.Simulation(..., backend='gpu'), or micromag run --backend",
    "batch": "build a Simulation with batch=B, or run members with mm.Batch",
    "dtype": "choose it when building: mm.Simulation(..., dtype='float64')",
    "zeeman": "set the applied field with sim.B_ext = ...",
}


class Simulation:
    """A micromagnetic simulation on a regular grid.

    Parameters
    ----------
    grid : Grid
    material : Material for the whole magnet (or the default for regions not in ``materials``).
    geometry : shape or fill-fraction array (see :class:`~micromag.system.System`); None = full box.
    regions, materials : region map / painted shapes and ``{region_id: Material}``.
    batch : number B of independent copies integrated together (state shape (B, 3, nz, ny, nx)).
    backend : 'auto' | 'cpu' | 'gpu' | 'emulate' ('emulate': the GPU backend's kernels and host code run on
              the CPU through the host emulation; the same results as 'gpu', slowly; for tests and checks).
    demag : include the demagnetizing field (default True).
    integrator : 'rkf54s' (default: Dormand–Prince RK5(4)7FS, the pair with the largest stability region for
          weakly damped precession, so the fewest evaluations where exchange limits the step), 'rkf54'
          (RK5(4)7FC, OOMMF's default), 'rk45' (Dormand–Prince RK5(4)7FM, as MuMax3), 'rk23', 'rk4', 'heun',
          'euler'.
    tol : largest per-cell error of the unit vector m per step for adaptive integrators (dimensionless;
          default 1e-5, chosen by benchmarks/accuracy_study.py as the loosest tol whose error of <m>(t) is
          below 1e-6 in SP4, SP5 and an STT switching and below that of OOMMF's default error control in an
          accuracy-limited macrospin; lower it where accuracy rather than stability limits the step: there
          rkf54s's error is ~7e-4 over 28 precession periods at 1e-5, ~8e-5 at 1e-6).
    dt : initial step (adaptive) or fixed step (rk4, euler), s.
    dt_min, dt_max : bounds of the adaptive step, s.
    dtype : float32 or float64; default float64 on the CPU and in emulation, float32 on the GPU.

    Material parameters can be read and changed like attributes (``sim.alpha``, ``sim.Ku1 = 3e5``,
    ``sim.material = ...``); an attribute that does not exist is an error naming the nearest one.
    """

    def __init__(self, grid, material=None, geometry=None, regions=None, materials=None, batch=1,
                 backend="auto", demag=True, integrator="rkf54s", tol=1e-5, dt=1e-13, dt_min=1e-18, dt_max=1e-11,
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
        self._dt0 = check_positive("dt", dt, "s")
        self.dt_min = check_positive("dt_min", dt_min, "s")
        self.dt_max = check_positive("dt_max", dt_max, "s")
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
        if self.backend == "cpu":
            from . import _jit

            _jit.warm_up(grid.ncells)  # numba's import and start-up in the background, while the terms are set up
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
        self.mtj = None     # the MTJ readout of a cell built by micromag.devices (or one the user attaches)
        self.device = None  # the device builder (micromag.devices) that made this simulation, if any
        self._frozen = True

    def __setattr__(self, name, value):
        if self.__dict__.get("_frozen", False):
            if name in FIXED_AFTER_BUILD:
                raise AttributeError(f"sim.{name} cannot change after the Simulation is built: "
                                     f"{FIXED_AFTER_BUILD[name]}")
            if name in ("tol", "dt_min", "dt_max"):
                self._set_step_bound(name, value)
                return
        if name.startswith("_") or name in self.__dict__ or hasattr(type(self), name) \
                or not self.__dict__.get("_frozen", False):
            object.__setattr__(self, name, value)
            return
        from .terms import material_parameters

        if name in {p.name for p in material_parameters()}:
            self.set_parameter(name, value)
            return
        import difflib

        known = sorted({n for n in dir(type(self)) if not n.startswith("_")} | set(self.__dict__) -
                       {n for n in self.__dict__ if n.startswith("_")} | {p.name for p in material_parameters()})
        near = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise AttributeError(f"Simulation has no attribute {name!r}: assigning it would change nothing{hint}")

    def _set_step_bound(self, name, value):
        """``sim.tol``/``dt_min``/``dt_max`` = value: checked as in the constructor (and dt_min <= dt_max);
        the stepper is rebuilt with the new bounds at the next step."""
        if name == "tol":
            value = _check_tol(value)
        else:
            value = check_positive(name, value, "s")
            lo, hi = (value, self.dt_max) if name == "dt_min" else (self.dt_min, value)
            if lo > hi:
                raise ValueError(f"dt_min = {lo:g} s must not exceed dt_max = {hi:g} s")
            self._stepper = None
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # material parameters read like attributes: sim.alpha, sim.Ku1 (only reached for unknown names)
        if name.startswith("_"):
            raise AttributeError(name)
        from .terms import material_parameters

        if name in {p.name for p in material_parameters()}:
            return self.get_parameter(name)
        raise AttributeError(f"Simulation has no attribute {name!r}")

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
        xp = self.xp
        self._m = xp.zeros(self._shape, dtype=self.dtype) if m is None else xp.asarray(m.astype(self.dtype))
        self._t = xp.zeros(self.batch) if t is None else xp.asarray(t)
        self._mask_dev = xp.asarray(self._mask.astype(self.dtype))
        self._weight_dev = xp.asarray(self._weight.astype(self.dtype))
        self._stepper = None

    # ------------------------------------------------------------------ checkpoints
    _ENGINE = ("llg", "_stepper", "xp", "_m", "_t", "_mask_dev", "_weight_dev", "_tf", "_tables", "_series")

    def __getstate__(self):
        self._sync_noise()
        state = {k: v for k, v in self.__dict__.items() if k not in self._ENGINE}
        state["_m_host"], state["_t_host"] = self.host(self._m).astype(self.dtype), self.host(self._t)
        return state

    def __setstate__(self, state):
        m, t = state.pop("_m_host"), state.pop("_t_host")
        frozen = state.pop("_frozen", True)
        object.__setattr__(self, "__dict__", {**self.__dict__, **state, "_frozen": False})
        self._tables, self._tf = {}, {}
        self._build_engine(m, t)
        self._frozen = frozen

    def save_checkpoint(self, path):
        """Write everything needed to continue this run (m, t, the step size and the integrator's cached
        first stage, drives, RNG states) to ``path`` atomically. If the simulation holds something that cannot
        be pickled (a lambda drive, say), only the state is saved: restore it with
        :meth:`restore_checkpoint` on a Simulation built again by the same script."""
        import pickle

        st = self._stepper
        self._sync_noise()
        m, t = self.host(self._m), self.host(self._t)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))):
            raise ValueError(f"checkpoint {path} not written: the state holds NaN or infinite values (m or t), "
                             "which could not be continued; restore an earlier checkpoint")
        dt = None if st is None else self.host(st.dt)
        if dt is not None:  # a member frozen by a failure gets a fresh try at the initial step on resume
            dt = np.where(np.isfinite(dt), dt, self._dt0)
        state = {
            "format": "micromag-checkpoint-2",
            "m": m.astype(self.dtype), "t": t,
            "dt": dt,
            "k0": self.host(st.k[0]) if st is not None and st.k0_valid else None,
            # the noise identity and step counts of every member (the same on every backend)
            "thermal": self.terms["thermal"].noise_state() if "thermal" in self.terms else None,
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
        if not isinstance(state, dict) or state.get("format") != "micromag-checkpoint-2":
            raise ValueError(f"{path} is not a micromag checkpoint (of this version)")
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
        norm = np.sqrt(np.sum(np.asarray(m, dtype=float) ** 2, axis=1))
        if np.any(np.abs(norm[norm > 0] - 1) > 1e-3) or not np.all(norm.reshape(len(norm), -1).max(axis=1) > 0):
            raise ValueError(f"checkpoint {path} is damaged: m must be a unit vector in every magnetic cell "
                             f"(|m| ranges {norm.min():.3g}..{norm.max():.3g}, and a member with m = 0 everywhere "
                             "has no magnet)")
        return state

    @classmethod
    def load_checkpoint(cls, path):
        """A Simulation rebuilt from a checkpoint written by :meth:`save_checkpoint`, ready to continue."""
        import pickle

        state = cls._read_checkpoint(path)
        if state["recipe"] is None:
            raise ValueError(f"checkpoint {path} holds only the state ({state.get('recipe_error')}): build the "
                             "Simulation with your script and call sim.restore_checkpoint(path)")
        try:
            sim = pickle.loads(state["recipe"])
        except Exception as exc:  # noqa: BLE001 - a damaged recipe can fail in any way unpickling can
            raise ValueError(f"checkpoint {path} is damaged: its simulation recipe cannot be rebuilt "
                             f"({type(exc).__name__}: {exc})") from exc
        if not isinstance(sim, cls):
            raise ValueError(f"checkpoint {path} is damaged: its recipe is a {type(sim).__name__}, not a Simulation")
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
        self._restored_t = self.host(self._t)  # a continued run may cut output written after this time
        if state["thermal"] is not None and "thermal" in self.terms:
            self.terms["thermal"].set_noise_state(state["thermal"])
            if self.backend != "cpu":
                self.llg.load_noise_state()
        self._stepper = None
        if state["dt"] is not None:
            st = self.stepper
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

    # ------------------------------------------------------------------ the public state API
    # What solvers and applications (relax, minimize, batch, guard, the Ubermag layer, io) use to advance
    # and read the state in place; everything else in the class builds on these too.
    @property
    def state(self):
        """The live state on the backend (:class:`State`: ``m`` (B, 3, nz, ny, nx), ``t`` (B,) in s, ``mask``
        (nz, ny, nx)), arrays of ``sim.xp`` that integrators advance in place. Write into them, never rebind;
        call :meth:`state_changed` after writing."""
        return State(self._m, self._t, self._mask_dev)

    def host(self, a):
        """A NumPy float64 copy of an array of this simulation's backend (``sim.state.m``, ``stepper.dt``)."""
        return np.asarray(a if self.xp is np else self.llg.device.asnumpy(a), dtype=float).copy()

    def state_changed(self):
        """Say that ``sim.state`` or a term's settings were changed directly: the stepper drops its cached
        first stage (FSAL), and the GPU backend takes the terms' settings over again."""
        if self._stepper is not None:
            self._stepper.invalidate()
        if self.backend != "cpu":
            self.llg.refresh()

    @property
    def stepper(self):
        """The integrator for the present settings, built on first use and again when ``integrator``,
        ``tol``, ``dt`` or the thermal field change (a thermal field selects stochastic Heun with the fixed
        step ``dt``). ``stepper.step(m, t, t_end=None)`` advances ``sim.state.m``/``.t`` by one step per
        member; its ``dt`` ((B,), s) is the next step of each member; ``nsteps``/``nevals`` count steps and
        field evaluations."""
        thermal = self._thermal_on()
        if self._stepper is None or self._stepper.tol != self.tol or getattr(self._stepper, "thermal", False) != thermal:
            if thermal:  # stochastic Heun: fixed step, no FSAL, the noise held over the step
                if self.backend == "cpu":
                    self._stepper = Stepper(self.llg, "heun", self._shape, mask=self._mask, tol=self.tol,
                                            dt=self._dt0, dt_min=self._dt0, dt_max=self._dt0, fixed=True)
                else:
                    from .backends.cuda import CudaStepper

                    self._stepper = CudaStepper(self.llg, "heun", tol=self.tol, dt=self._dt0, dt_min=self._dt0,
                                                dt_max=self._dt0, fixed=True)
            else:
                self._stepper = self.new_stepper(self._tableau, self.tol, self.dt_max)
            self._stepper.thermal = thermal
        return self._stepper

    def new_stepper(self, integrator, tol, dt_max):
        """A stepper of this simulation's present ``llg`` that is not kept (a solver's own integration, e.g.
        relax's precession-free polishing): ``integrator`` a name or tableau, ``tol`` the per-step error of
        m (dimensionless), ``dt_max`` in s; it starts at the initial step ``dt`` (within [dt_min, dt_max]) and
        keeps ``dt_min``."""
        dt0 = min(max(self._dt0, self.dt_min), dt_max)  # a first step beyond the bounds would break them
        if self.backend == "cpu":
            return Stepper(self.llg, integrator, self._shape, mask=self._mask, tol=tol, dt=dt0,
                           dt_min=self.dt_min, dt_max=dt_max)
        from .backends.cuda import CudaStepper

        return CudaStepper(self.llg, integrator, tol=tol, dt=dt0, dt_min=self.dt_min, dt_max=dt_max)

    def _sync_noise(self):
        """The device's noise step counters into the thermal term (before anything reads its state)."""
        if self.backend != "cpu" and "thermal" in self.terms and hasattr(self, "llg"):
            self.llg.sync_noise_state()

    @property
    def m(self):
        """Magnetization unit vectors, a copy of shape (B, 3, nz, ny, nx) (zero outside the magnet)."""
        return self.host(self._m)

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
        self.state_changed()

    @property
    def t(self):
        """Simulated time in s (a float, or an array of B times for a batch)."""
        t = self.host(self._t)
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
        self.state_changed()

    @property
    def B_ext(self):
        return self.zeeman.B_ext

    @B_ext.setter
    def B_ext(self, value):
        """Applied field in T: a 3-vector, a (B, 3) array, a spatial field, or a function of t (s)."""
        self.zeeman.set(value)
        self.zeeman.check_batch(self.batch)
        self.state_changed()

    @property
    def dt(self):
        """Current (next) time step in s."""
        dt = self.host(self.stepper.dt)
        return float(dt[0]) if self.batch == 1 else dt

    @dt.setter
    def dt(self, value):
        self._dt0 = check_positive("dt", value, "s")
        self._stepper = None

    # ------------------------------------------------------------------ materials and parameters
    @property
    def material(self):
        """The default material (of every region without its own). Assigning a new Material takes effect at
        once, on every backend: sim.material = mm.Material(...) between runs."""
        return self.system.default_material

    @material.setter
    def material(self, value):
        from .materials import Material

        if not isinstance(value, Material):
            raise TypeError(f"material must be a micromag Material (e.g. mm.Permalloy()), got {value!r}")
        self.system.set_materials(material=value)
        self._materials_changed()

    @property
    def materials(self):
        """{region: Material} of every region (a copy; assign a dict to change some regions)."""
        return {r: m for r, m in enumerate(self.system.materials) if m is not None}

    @materials.setter
    def materials(self, value):
        if not isinstance(value, dict):
            raise TypeError(f"materials must be a dict {{region: Material}}, got {type(value).__name__}")
        self.system.set_materials(materials=value)
        self._materials_changed()

    def set_parameter(self, name, value, region=None):
        """Set one material parameter (``alpha``, ``Ku1``, ``Ms``, ...; SI units as in :class:`Material`) in
        every region or in ``region``. ``sim.alpha = 0.008`` is the same as ``sim.set_parameter("alpha",
        0.008)``. Ku1 and Ku2 may be functions of time f(t) (t in s), evaluated per member at every step."""
        self.system.set_parameter(name, value, region=region)
        self._materials_changed()

    def get_parameter(self, name):
        """The parameter's value if it is the same in every magnetic region, else {region: value}."""
        from .terms import material_parameters

        if name not in {p.name for p in material_parameters()}:
            raise AttributeError(f"{name!r} is not a material parameter")
        funcs = self.system.dynamic_functions(name)
        if funcs:
            return dict(funcs) if len(funcs) > 1 else funcs[0][1]
        vals = {r: getattr(m, name) for r, m in enumerate(self.system.materials)
                if m is not None and r in set(np.unique(self.system.region[self.system.magnetic]).tolist())}
        uniq = {v for v in vals.values()}
        return next(iter(uniq)) if len(uniq) == 1 else vals

    def _materials_changed(self):
        """Re-derive everything that depends on material parameters, on every backend."""
        from .terms import build_terms, order_of

        for auto_name, term in build_terms(self.system, demag="demag" in self.terms).items():
            if auto_name not in self.terms:  # a term that was not needed before (e.g. Ku1 was 0)
                self.terms[auto_name] = term
        for term in self.terms.values():
            term.prepare()
        object.__setattr__(self, "terms", dict(sorted(self.terms.items(), key=lambda kv: (order_of(kv[1].name), 0))))
        if self.backend == "cpu":
            self.llg.prepare()
        self._set_engine_terms()
        self.state_changed()

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
        term.check_batch(self.batch)
        if self.backend != "cpu":
            self.llg.check_term(term)  # NotImplementedError for a term without a GPU kernel
        if term.name in self.terms and self.terms[term.name] is not term and name is None:
            # one term per name on every backend: a second one replaces nothing silently
            raise ValueError(f"the simulation already has a {term.name!r} term; remove it first "
                             f"(sim.remove({term.name!r})) or pass name= for a second one (CPU backend only)")
        name = name or term.name
        if name in self.terms and self.terms[name] is not term:
            raise ValueError(f"a term named {name!r} exists already")
        self.terms[name] = term
        self._set_engine_terms()
        return term

    def remove(self, name):
        """Remove the term ``name`` (a key of ``sim.terms``); returns it."""
        if name not in self.terms:
            raise KeyError(f"no term {name!r}; the simulation has {list(self.terms)}")
        if name == "zeeman":
            raise ValueError("the Zeeman term stays (set sim.B_ext = None to switch the field off)")
        term = self.terms.pop(name)
        self._set_engine_terms()
        return term

    def _set_engine_terms(self):
        if self.backend == "cpu":
            self.llg.set_terms(self.terms.values())
        else:
            self.llg.set_terms(self.terms)
        self._stepper = None

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
        self.state_changed()

    @property
    def seed(self):
        """Seed of the thermal noise; each member draws from its own stream (seed, member)."""
        return self._seed

    @seed.setter
    def seed(self, value):
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be an integer in [0, 2**64), got {value!r}") from None
        if v != value or not 0 <= v < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {value!r}")
        self._seed = v
        if "thermal" in self.terms:
            self.terms["thermal"].reset_rng(self._seed)
            if self.backend != "cpu":
                self.llg.load_noise_state()
        self.state_changed()

    def noise_state(self):
        """The thermal noise identity and step count of every member ({"seeds", "member_ids", "counters"}),
        or None without a thermal term. Same on every backend: a member continues its own noise stream when
        this state moves with it (batch compaction, checkpoints)."""
        th = self.terms.get("thermal")
        if th is None:
            return None
        self._sync_noise()
        return th.noise_state()

    def set_noise_state(self, state, rows=None):
        """Take over a :meth:`noise_state` (all members, or its rows ``rows``: one per member here)."""
        th = self.terms.get("thermal")
        if th is None or state is None:
            return
        th.set_noise_state(state, rows=rows)
        if self.backend != "cpu":
            self.llg.load_noise_state()

    def set_noise(self, seeds=None, member_ids=None):
        """The thermal noise identity of each member: member b draws the stream (seeds[b], member_ids[b])
        (defaults: sim.seed, and b). A member's noise then follows it into any batch: the Batch runner
        passes each member's index in the whole batch (or its own seed). Step counts restart at 0."""
        th = self.terms.get("thermal")
        if th is None:
            raise ValueError("set_noise needs a thermal term: set sim.temperature first")
        if seeds is None:
            th.reset_rng(self._seed, member_ids=member_ids)
        else:
            th.reset_rng(seeds=seeds, member_ids=member_ids)
        if self.backend != "cpu":
            self.llg.load_noise_state()
        self.state_changed()

    def _thermal_on(self):
        th = self.terms.get("thermal")
        return th is not None and th.active(self.host(self._t))

    # ------------------------------------------------------------------ observables
    def _avg(self, m):
        return np.einsum("bcijk,ijk->bc", m, self._weight)

    @property
    def m_avg(self):
        """Average magnetization over the magnet (fill-weighted): (3,) or (B, 3)."""
        if self.xp is np:
            a = self._avg(self._m)
        else:  # reduced on the device: only (B, 3) numbers come back
            a = self.host((self._m * self._weight_dev).reshape(self.batch, 3, -1).sum(axis=2))
        return a[0] if self.batch == 1 else a

    def _energies(self):
        """{name: (B,) J} of every term that stores energy, on the backend itself (the GPU reduces per
        member and copies back only the totals)."""
        if self.backend == "cpu":
            m, t = self._m, self._t
            return {name: term.energy(m, t) for name, term in self.energy_terms().items()}
        obs = self.llg.observe(self._m, self._t)["energies"]
        return {name: obs[term.name] for name, term in self.energy_terms().items()}

    def energies(self):
        """Energy of each term in J: {name: float or (B,) array}."""
        return {n: (float(e[0]) if self.batch == 1 else e) for n, e in self._energies().items()}

    def energy_terms(self):
        """{name: term} of the terms that store energy (not torques, not the random thermal field)."""
        return {n: t for n, t in self.terms.items()
                if getattr(t, "stores_energy", True) and not getattr(t, "is_torque", False)}

    def energy(self):
        """Total energy in J (float, or (B,) for a batch)."""
        return sum(self.energies().values())

    def effective_field(self):
        """B_eff in T, shape (B, 3, nz, ny, nx)."""
        return self.host(self.llg.effective_field(self._m, self._t))

    def _torque_stats(self):
        """(largest |m × B_eff| per member (B,), mean of |m × B_eff|² over all members and magnetic cells),
        in T and T² (reduced on the device on the GPU backend)."""
        if self.backend == "cpu":
            B = self.llg.effective_field(self._m, self._t)
            tq = np.cross(self._m, B, axis=1)
            tq *= (self.system.param("frozen") == 0)  # a layer held fixed (Material.frozen) does not count
            n2 = (tq * tq).sum(axis=1).reshape(self.batch, -1)
            return np.sqrt(n2.max(axis=1)), float(n2[:, self.system.magnetic.reshape(-1)].mean())
        o = self.llg.observe(self._m, self._t)
        return o["max_torque"], float(np.mean(o["rms_torque"] ** 2))

    def max_torque(self):
        """Largest |m × B_eff| over the magnet (the cells that may move: layers with Material.frozen = 1 are left
        out), in T, per member."""
        n = self._torque_stats()[0]
        return float(n[0]) if self.batch == 1 else n

    # ------------------------------------------------------------------ time evolution
    @during_run  # BLAS on one thread while stepping (micromag.threads)
    def step(self, n=1):
        """Take n >= 1 integrator steps (accepted or not). Raises :class:`~micromag.guard.SimulationDiverged`
        (the last good state kept) if a member's state stopped being finite."""
        from .guard import RunGuard, check_int

        n = check_int("n (the number of steps)", n, lo=1)
        self.tol = _check_tol(self.tol)
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
        from .integrators import growth_factor, stability_limit

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
        ``steps``, ``evaluations``, ``seconds`` (wall time on this backend; see :mod:`micromag.cost`) and the
        field figures of :meth:`precession_frequency_bound` it used."""
        from . import cost
        from .integrators import stability_limit

        st = self.stepper
        longest = float(np.max(self._durations(duration)))
        fixed = bool(getattr(st, "fixed", False))
        f = self.precession_frequency_bound()
        rho = stability_limit(st.tab, f["alpha"]) if f["omega"] > 0 and not fixed else None
        steps = cost.run_steps(longest, fixed, self._dt0, self.dt_max, f["omega"], rho)
        evals = steps * st.tab.stages
        seconds = evals * cost.eval_seconds(self.grid.ncells * self.batch, self.backend)
        return {"steps": steps, "evaluations": evals, "seconds": seconds, **f}

    @during_run  # BLAS on one thread while stepping (micromag.threads)
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
        while the others run on; then :class:`~micromag.guard.SimulationDiverged` is raised naming the likely
        cause. A fixed-step integrator warns first when its step is clearly unstable for the present field.
        allow_long : start even when :meth:`run_cost` says the run takes longer than ``MICROMAG_MAX_HOURS``
              (default 2 h); otherwise such a run is refused before any step with the estimate.
        """
        from . import memory
        from .guard import RunGuard

        B = self.batch
        dur = self._durations(duration)
        self.tol = _check_tol(self.tol)
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
        from . import cost

        from .guard import PLAUSIBLE_FIELD, field_report

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

    def _open_series(self, out, members, append=False):
        from .io.vtk import open_series

        out = self._out_dir(out)
        key = os.path.abspath(out)
        if not hasattr(self, "_series"):
            self._series = {}
        if key not in self._series:  # first run into this folder: an existing series there is an error
            _make_out(out)
            t = self.host(self._t)
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

    @during_run  # BLAS on one thread while stepping (micromag.threads)
    def relax(self, tol_torque=1e-5, max_time=50e-9, progress=True):
        """Relax to a local energy minimum: the state where the precession-free LLG,
        dm/dt = −γ m × (m × B_eff), stops, with the drives held at the present time (torques and thermal
        noise off).

        Descends along the precession-free LLG direction with capped Barzilai–Borwein steps (one field
        evaluation per iteration, no cell turning more than 0.2 rad per iteration, so the state stays in
        the basin the flow is in), then, only for members that stall, polishes with precession-free RK23
        the way MuMax3 relaxes (see :mod:`micromag.relax`). Each batch member stops when its own largest
        |m × B_eff| is below ``tol_torque`` (T); ``max_time`` (s) bounds the relaxation clock of the
        polishing. Returns the largest final torque over all members in T (warns if above the target).
        """
        from .relax import relax_simulation

        self._check_tolerance(check_positive("tol_torque", tol_torque, unit="T"))
        return relax_simulation(self, tol_torque, max_time, progress)

    def _check_tolerance(self, tol_torque):
        """Refuse a torque criterion (T) below what this dtype resolves at the present field."""
        from . import cost

        f = self.precession_frequency_bound()
        if math.isfinite(f["B_max"]):
            cost.check_tolerance("tol_torque", tol_torque, f["B_max"], float(np.finfo(self.dtype).eps))

    @during_run  # BLAS on one thread while stepping (micromag.threads)
    def minimize(self, tol_torque=1e-6, max_iter=100000, progress=True):
        """Minimize the energy by steepest descent with Barzilai–Borwein steps (no dynamics).

        Update (a norm-preserving Cayley step, as in Exl et al., J. Appl. Phys. 115, 17D118 (2014)):
        m ← [(4 − τ²|m×B|²) m + 4τ (B − (m·B) m)] / (4 + τ²|m×B|²), τ in 1/T alternating the two BB
        formulas per member. Stops when max |m × B_eff| < ``tol_torque`` (T). Returns the final max torque.
        """
        from .guard import SimulationDiverged, check_int, describe
        from .minimize import minimize_bb

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
                             xp=self.xp)
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
            cols += [(f"E_{name}", "J") for name in self.energy_terms()]
            cols += [("B_extx", "T"), ("B_exty", "T"), ("B_extz", "T")]
            cols += [(n, u) for n, u, _ in self._extra_columns]
            existing = [os.path.exists(os.path.join(out, n)) for n in names]
            if any(existing) and not append:
                raise FileExistsError(f"{os.path.join(out, names[existing.index(True)])} exists; choose another "
                                      "out= folder, remove it, or pass append=True to continue it")
            t = self.host(self._t)
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
        t = self.host(self._t)
        if not any(t[b] > tab.last_t for b, tab in enumerate(self._table_files[key])):
            return
        mavg = np.asarray(self.m_avg).reshape(self.batch, 3)
        es = self._energies()
        etot = sum(es.values()) if es else np.zeros(self.batch)
        bext = self.zeeman.average(t)
        extra = []
        if self._extra_columns:
            m = self.host(self._m)  # user columns get the host state
            for name, _, fn in self._extra_columns:
                v = np.broadcast_to(np.asarray(fn(m, t), dtype=float), (self.batch,))
                extra.append(v)
        for b, tab in enumerate(self._table_files[key]):
            if not t[b] > tab.last_t:  # a member that did not advance (stopped, frozen, continued) gets no row
                continue
            row = [t[b], *mavg[b], etot[b], *(es[n][b] for n in es), *bext[b], *(x[b] for x in extra)]
            tab.write(row)
        self._tables[key] += 1
