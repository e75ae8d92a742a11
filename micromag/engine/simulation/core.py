"""The scripting API: a Simulation holds the system, the state, the terms and the integrator.

This module builds it and holds its state (the public state API), materials and parameters, terms and
observables; the rest of the class comes from its siblings: ``checkpoints`` (save and continue),
``noise`` (temperature, seeds and noise streams), ``evolution`` (step, run loop and its scheduling, run
cost, relax, minimize) and ``output`` (table and snapshot series).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backends import select_backend
from ..integrators import Stepper, get_tableau, normalize
from ..llg import LLG
from ..system import System
from ..terms import build_terms
from ..validation import check_positive
from .checkpoints import Checkpoints
from .evolution import TimeEvolution, check_tol
from .noise import ThermalNoise
from .output import Output


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


class Simulation(Checkpoints, ThermalNoise, TimeEvolution, Output):
    """A micromagnetic simulation on a regular grid.

    Parameters
    ----------
    grid : Grid
    material : Material for the whole magnet (or the default for regions not in ``materials``).
    geometry : shape or fill-fraction array (see :class:`~micromag.engine.system.System`); None = full box.
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
        from ..guard import check_int
        from ..materials import Material

        batch = check_int("batch", batch, lo=1)
        if material is not None and not isinstance(material, Material):
            raise TypeError(f"material must be a micromag Material (e.g. mm.Permalloy()), got {material!r}")
        if materials is not None and not isinstance(materials, dict):
            raise TypeError(f"materials must be a dict {{region id: Material}}, got {type(materials).__name__}")
        if not isinstance(demag, (bool, np.bool_)):
            raise TypeError(f"demag must be True or False, got {demag!r}")
        self.tol = check_tol(tol)
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
        from ..grid import Grid
        from ..memory import check_simulation

        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a micromag Grid (mm.Grid(n=..., cell=...)), got {grid!r}")
        if self.backend == "cpu":
            from .. import _jit

            _jit.warm_up(grid.ncells)  # numba's import and start-up in the background, while the terms are set up
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
        self.mtj = None     # the MTJ readout of a cell built by micromag.apps.devices (or one the user attaches)
        self.device = None  # the device builder (micromag.apps.devices) that made this simulation, if any
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
        from ..terms import material_parameters

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
            value = check_tol(value)
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
        from ..terms import material_parameters

        if name in {p.name for p in material_parameters()}:
            return self.get_parameter(name)
        raise AttributeError(f"Simulation has no attribute {name!r}")

    def _build_engine(self, m=None, t=None):
        """The backend's LLG right-hand side and the state arrays (again after unpickling)."""
        if self.backend == "cpu":
            self.xp = np
            self.llg = LLG(self.system, list(self.terms.values()), self.batch)
        else:
            from ..backends.cuda import CudaLLG, cupy_device, emulated_device

            device = cupy_device() if self.backend == "gpu" else emulated_device()
            self.xp = device.xp
            self.llg = CudaLLG(self.system, self.terms, self.batch, dtype=self.dtype, device=device)
        xp = self.xp
        self._m = xp.zeros(self._shape, dtype=self.dtype) if m is None else xp.asarray(m.astype(self.dtype))
        self._t = xp.zeros(self.batch) if t is None else xp.asarray(t)
        self._mask_dev = xp.asarray(self._mask.astype(self.dtype))
        self._weight_dev = xp.asarray(self._weight.astype(self.dtype))
        self._stepper = None

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
                    from ..backends.cuda_stepper import CudaStepper

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
        from ..backends.cuda_stepper import CudaStepper

        return CudaStepper(self.llg, integrator, tol=tol, dt=dt0, dt_min=self.dt_min, dt_max=dt_max)

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
        from ..materials import Material

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
        from ..terms import material_parameters

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
        from ..terms import build_terms, order_of

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
        from ..terms.base import Term

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
