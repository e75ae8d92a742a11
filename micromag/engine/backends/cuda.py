"""The GPU backend: the LLG right-hand side, observables and a batched RK stepper as fused CUDA kernels
(the stepper: :mod:`micromag.engine.backends.cuda_stepper`).

Nothing here imports CuPy at module import time. The classes run on any device of
:mod:`micromag.engine.backends.device` (the GPU, the host emulation, the recording device of the host benchmark).

Nothing here knows a physical term either. The kernel tables come from the terms' declarations
(:func:`gpu_kernels.layout`), and every term is read through its public device inputs
(``device_patterns``, ``device_constants``, ``device_drives``, ``device_options``, ``host_dynamic``;
see :mod:`micromag.engine.terms.base`). Two services are provided to terms that declare them: the FFT convolution
(``convolution = True``: the demag field) and per-step white noise (``stochastic = True``: the thermal field).

Entry points
------------
``CudaLLG(system, terms, batch, dtype=np.float32, device=None)``
    ``llg(m, t, out)`` writes dm/dt (the contract of :class:`micromag.engine.llg.LLG`, arrays of ``device.xp``);
    ``llg.effective_field(m, t)``; ``llg.observe(m, t)`` (⟨m⟩, each term's energy, torque: reduced per
    member on the device, only scalars come back); ``llg.precession`` (False: precession-free relax);
    ``llg.refresh()`` (re-read the terms' settings: drives, options, materials).
``CudaStepper(llg, tableau, tol=..., dt=..., ..., graph="auto", fixed=False)`` (:mod:`.cuda_stepper`)
    ``stepper.step(m, t, t_end=None)`` advances every member with its own dt; the step-size decision stays
    on the device; finished members (t >= t_end) keep m and t bit for bit. An FSAL step of s stages is
    1 + (s − 1)·(FFT stages + 1) + 1 launches (see gpu_kernels/rk_stage.cu); with ``graph`` the whole
    step is captured once and replayed with one launch.
"""
from __future__ import annotations

import numpy as np

import gpu_kernels as gk

from ..terms.stencil import periodic_defines
from .device import Device, cupy_device, emulated_device, gpu_available, recording_device  # noqa: F401

MAX_STAGES = 7
PRECESSION_CODE = {"relax": 0, "precession": 1, "no_precession": 2}  # the kernels' int precession
NOBS_EXTRA = 5  # observe kernel outputs besides the energies: 3 (⟨m⟩) + max torque² + sum torque²


def _c_real(a, dtype):
    """A C-contiguous copy of ``a`` in ``dtype``, flattened (every upload goes through here: whatever the
    memory order of the input, the kernels read C order)."""
    return np.array(np.asarray(a, dtype=float), dtype=dtype, order="C").reshape(-1)


def pack_materials(system, material_params, dtype=np.float64):
    """The material table (nregions, ncolumns): one column per declared material parameter (three for an
    axis), in the order of ``material_params``; regions without a material or with Ms = 0 get Ms = 1 (they
    never appear in the region map, which has −1 there) so no kernel can divide by zero."""
    nreg = len(system.materials)
    cols = sum(p.size for p in material_params)
    tab = np.zeros((nreg, cols))
    c = 0
    for p in material_params:
        t = system.table(p.name)
        if p.size == 3:
            tab[:, c:c + 3] = t
        else:
            tab[:, c] = t
        if p.name == "Ms":
            tab[tab[:, c] <= 0, c] = 1.0
        c += p.size
    return tab.astype(dtype)


def region_map(system):
    """int32 (nz, ny, nx): the region of magnetic cells, −1 elsewhere."""
    return np.where(system.magnetic, system.region, -1).astype(np.int32)


# ---------------------------------------------------------------------------------------------- convolution
class _Convolution:
    """The padding-aware FFT convolution of a ``convolution`` term (demag) on a device.

    Layouts (BC = 3B, pxh = px/2+1): source rows ``src`` (nz, sy, BC, px) real with sy = ny for a film and
    the padded py for 3D grids (rows y >= ny and columns x >= nx zero forever: never written); spectra
    ``X``, ``S`` (pz, py, BC, pxh) complex; the field ``out`` (nz, sy, BC, px) real, which the term's
    kernel reads in place (no crop pass). Steps, each ONE batched plan over every member, component and
    plane: R2C along x over the nz·sy·BC rows; the y and z transforms together (a 2D plan, or 1D when only
    one is padded), out of place X → S so X keeps its zero padding; the multiply kernel in place on S; the
    inverse y/z in place; C2R along x over the kept rows into ``out``."""

    def __init__(self, device, term, batch, dtype):
        self.device, self.dtype = device, np.dtype(dtype)
        xp = device.xp
        g = term.grid
        nx, ny, nz = g.n
        px, py, pz = term.padded_shape
        self.nx, self.ny, self.nz, self.px, self.py, self.pz = nx, ny, nz, px, py, pz
        self.pxh = pxh = px // 2 + 1
        self.sy = ny if nz == 1 else py
        self.batch = batch
        BC = 3 * batch
        self.K = K = BC * pxh
        spec = term.kernel_spectra()
        shape = (pz, py, pxh)
        norm = 1.0 / (px * py * pz)  # the unnormalized inverse transforms' factor, folded into the spectra
        self.spec = {}
        for name in ("xx", "yy", "zz", "xy", "xz", "yz"):
            s = spec.get(name)
            s = np.zeros(shape) if s is None else np.asarray(s) * norm
            if s.shape != shape:
                raise ValueError(f"kernel spectrum {name} has shape {s.shape}, expected {shape}")
            self.spec[name] = xp.asarray(_c_real(s, self.dtype))
        self.thin = "xz" not in spec and "yz" not in spec
        cplx = np.complex64 if self.dtype == np.float32 else np.complex128
        nrow = nz * self.sy * BC
        self.ms = xp.asarray(_c_real(term.source_weight(), self.dtype))
        self.src = xp.zeros(nrow * px, dtype=self.dtype)
        self.out = xp.zeros(nrow * px, dtype=self.dtype)
        full = pz * py * K
        self.X = xp.zeros(full, dtype=cplx)
        transform_yz = py > 1 or pz > 1
        self.S = xp.zeros(full, dtype=cplx) if transform_yz else self.X
        fft = device.fft(self.dtype)
        self._fwd_x = fft.plan("r2c", px, nrow, 1, px, 1, pxh)
        self._inv_x = fft.plan("c2r", px, nrow, 1, pxh, 1, px)
        if py > 1 and pz > 1:
            self._yz = fft.plan("c2c", (pz, py), K, K, 1, K, 1)
        elif py > 1:
            self._yz = fft.plan("c2c", py, K, K, 1, K, 1)
        elif pz > 1:
            self._yz = fft.plan("c2c", pz, K, K, 1, K, 1)
        else:
            self._yz = None
        defs = gk.real_define(self.dtype)
        if self.thin:
            defs["MM_DEMAG_THIN"] = 1
        self.module = device.module("demag_multiply.cu", defs)
        sp = self.spec
        sv = self.S.view(self.dtype)
        self._multiply = self.module.prepare(
            "demag_multiply_planes", *device.dims(pz * py * pxh, batch), sv, sp["xx"], sp["yy"],
            sp["zz"], sp["xy"], sp["xz"], sp["yz"], pz * py, pxh, batch)

    def set_weight(self, term):
        """The source weight Ms·fill after a material change (in place: prepared launches keep pointing here)."""
        self.ms[...] = self.device.xp.asarray(_c_real(term.source_weight(), self.dtype))

    def source_launch(self, m):
        """A prepared launch writing Ms·fill·m into the source rows (the first stage and plain evaluations)."""
        d = self.device
        return self.module.prepare("demag_source", *d.dims(self.nx * self.ny * self.nz, self.batch),
                                   m, self.ms, self.src, self.nx, self.ny, self.nz, self.batch, self.px, self.sy)

    def steps(self):
        """The convolution of the current source rows into ``out``: prepared launches (FFTs and the multiply)."""
        X, S, src, out = self.X, self.S, self.src, self.out
        seq = [self._fwd_x.bind(src, 0, X, 0)]
        if self._yz is not None:
            seq.append(self._yz.bind(X, 0, S, 0))
        seq.append(self._multiply)
        if self._yz is not None:
            seq.append(self._yz.bind(S, 0, S, 0, inverse=True))
        seq.append(self._inv_x.bind(S, 0, out, 0))
        return seq

    def field_to_state(self, out):
        """Crop the field from the padded row layout into a (B, 3, nz, ny, nx) array."""
        h = self.out.reshape(self.nz, self.sy, self.batch, 3, self.px)[:, :self.ny, :, :, :self.nx]
        out[...] = h.transpose(2, 3, 0, 1, 4)
        return out


# ---------------------------------------------------------------------------------------------- RHS
class CudaLLG:
    """The fused LLG right-hand side on a device (see the module docstring).

    ``terms``: dict {name: Term} (as ``Simulation.terms``) or an iterable of Term objects, in evaluation
    order. Every term must have a kernel (``Term.kernel``); one term per name.
    """

    def __init__(self, system, terms, batch, dtype=np.float32, device=None):
        self.system = system
        self.grid = system.grid
        self.batch = int(batch)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.device = device if device is not None else cupy_device()
        self.shape = (self.batch, 3) + self.grid.shape
        self.ncell = self.grid.ncells
        self.precession = True
        self.precession_term = True  # False: no precession term, damping and torques kept (see micromag.llg)
        self.nevals = 0
        xp = self.device.xp
        from ..terms import material_parameters

        self.material_params = material_parameters()
        self.region = xp.asarray(region_map(system).reshape(-1))
        self.nreg = len(system.materials)
        mag = system.magnetic
        fw = system.fill * mag
        self.fill = xp.asarray(_c_real(fw, self.dtype))
        self.wavg = xp.asarray(_c_real(fw / fw.sum(), self.dtype))
        self.B = xp.zeros(self.shape, dtype=self.dtype)
        self._dm = xp.zeros(self.shape, dtype=self.dtype)
        self._obs = None
        self._conv = None
        self._noise = None
        self._version = None
        self._off = ()
        self.terms = {}
        self.set_terms(terms)

    # -------------------------------------------------------------------------------- terms
    @staticmethod
    def _items(terms):
        if isinstance(terms, dict):
            return list(terms.items())
        return [(getattr(t, "name", t), t) for t in terms]

    def check_term(self, term):
        """Raise NotImplementedError unless ``term`` can join this RHS (a kernel exists, one per name)."""
        if getattr(term, "kernel", None) is None:
            raise NotImplementedError(f"term {getattr(term, 'name', term)!r} has no GPU kernel in this version; "
                                      "use backend='cpu'")
        other = self.terms.get(term.name)
        if other is not None and other is not term:
            raise NotImplementedError(f"the GPU backend evaluates one term per name: a second {term.name!r} term "
                                      "is not supported; use backend='cpu'")

    def set_terms(self, terms):
        """Take over a set of terms (dict or iterable, in evaluation order), e.g. after ``Simulation.add``."""
        new = {}
        for key, t in self._items(terms):
            if isinstance(t, str) or not hasattr(t, "kernel"):
                raise TypeError(f"terms must be Term objects, got {t!r}")
            if t.kernel is None:
                raise NotImplementedError(f"term {t.name!r} has no GPU kernel in this version; use backend='cpu'")
            if t.name in new:
                raise NotImplementedError(f"the GPU backend evaluates one term per name: a second {t.name!r} term "
                                          "is not supported; use backend='cpu'")
            t.check_batch(self.batch)
            new[t.name] = t
        self.terms = new
        conv = [t for t in new.values() if getattr(t, "convolution", False)]
        if len(conv) > 1:
            raise NotImplementedError("one convolution term (demag) at most")
        if conv and (self._conv is None or self._conv_term is not conv[0]):
            self._conv = _Convolution(self.device, conv[0], self.batch, self.dtype)
            self._conv_term = conv[0]
        elif not conv:
            self._conv, self._conv_term = None, None
        self._built = None
        self.refresh()

    def _active(self):
        """The terms evaluated now (a stochastic term switched off by relax/minimize is left out)."""
        return [t for t in self.terms.values() if getattr(t, "enabled", True)]

    def ensure_current(self):
        """Rebuild when a term was switched on or off since the last refresh (``enabled``: relax and minimize
        switch the thermal field off): one pass over the terms, nothing else."""
        off = tuple(id(t) for t in self.terms.values() if not getattr(t, "enabled", True))
        if off != self._off:
            self._off = off
            self.refresh()

    # -------------------------------------------------------------------------------- inputs
    def refresh(self):
        """Re-read every term's settings: options (kernel variant), constants, static patterns and drives,
        and the material table when the system's materials changed. Called by Simulation whenever a setting
        may have changed (the start of run/relax/minimize, setters); cheap when nothing did."""
        system = self.system
        active = self._active()
        opts = tuple((t.name, tuple(t.device_options())) for t in active)
        dyn_params = bool(system.dynamic_names)
        key = (tuple(id(t) for t in active), opts, dyn_params)
        if self._built is None or self._built[0] != key:
            if self._noise is not None:  # the device's step counters back into the term before they go
                self.sync_noise_state()
            self._build(active, opts, dyn_params)
            self._built = (key,)
            self._version = None
        if self._version != system.version:
            self._upload_materials()
            self._version = system.version
        self.host_dynamic_terms = [t for t in active if t.host_dynamic()]
        self.needs_m = any(t.needs_m_on_host() for t in active)
        self._upload_static()

    def _build(self, active, opts, dyn_params):
        xp, dev = self.device.xp, self.device
        self.layout = lay = gk.layout([(t, o) for t, (_, o) in zip(active, opts)], self.material_params)
        defs = dict(gk.real_define(self.dtype))
        defs.update(lay.defines())
        if dyn_params:
            defs["MM_PARAMS_PER_MEMBER"] = 1
        defs.update(periodic_defines(self.system.grid))  # neighbour terms wrap across periodic axes
        self._defines = defs
        self.dynamic_params = dyn_params
        self.consts = xp.zeros(max(lay.nconst, 1), dtype=self.dtype)
        self.patterns = {}
        self.ptr_host = np.zeros(max(lay.nslot, 1), dtype=np.uint64)
        self.ptr = xp.asarray(self.ptr_host)
        nrow = MAX_STAGES
        self.drv = xp.zeros((nrow, self.batch, max(lay.ndrive, 1)), dtype=self.dtype)
        self._drv_host = np.zeros((nrow, self.batch, max(lay.ndrive, 1)))
        self._drv_valid = False
        stoch = [t for t in active if getattr(t, "stochastic", False)]
        if len(stoch) > 1:
            raise NotImplementedError("one stochastic term (thermal) at most")
        self._noise = self._noise_setup(stoch[0]) if stoch else None
        self.dyn_pattern_terms = [t for t in active if hasattr(t, "dynamic_patterns")]
        self.module_rhs = dev.module("llg_rhs.cu", defs, lay.includes)
        self.module_field = dev.module("llg_rhs.cu", {**defs, "MM_WRITE_FIELD": 1}, lay.includes)
        self.module_stage = None  # compiled on the stepper's first use
        self._obs = xp.zeros((self.batch, NOBS_EXTRA + len(lay.energy_terms)), dtype=np.float64)
        self.params = None
        self._launches = {}

    def _noise_setup(self, term):
        xp = self.device.xp
        st = term.noise_state()
        return dict(term=term, field=xp.zeros(self.shape, dtype=self.dtype),
                    seeds=xp.asarray(st["seeds"]), ids=xp.asarray(st["member_ids"]),
                    counter=xp.asarray(st["counters"]), module=self.device.module(
                        "thermal_noise.cu", gk.real_define(self.dtype)))

    def _upload_materials(self):
        xp = self.device.xp
        tab = pack_materials(self.system, self.material_params)
        if self.dynamic_params:
            tab = np.repeat(tab[None], self.batch, axis=0)  # (B, nreg, ncol): refreshed per evaluation
        self._params_host = tab
        if self.params is None or self.params.size != tab.size:
            self.params = xp.asarray(_c_real(tab, self.dtype))
            self._launches = {}
        else:
            self.params[...] = xp.asarray(_c_real(tab, self.dtype))
        if self._conv is not None:
            self._conv.set_weight(self._conv_term)

    def _upload_static(self):
        """Constants, static patterns (the backend's own buffers for the convolution and noise terms), the
        pointer table, and the drives when none of them depends on time."""
        xp, lay = self.device.xp, self.layout
        consts = np.zeros(max(lay.nconst, 1))
        slots = self.ptr_host.copy()
        for t in self._active():
            for name, v in t.device_constants().items():
                col, size = lay.consts[(t.name, name)]
                consts[col:col + size] = np.asarray(v, dtype=float).reshape(size)
            pats = dict(t.device_patterns())
            if getattr(t, "convolution", False):
                consts[lay.consts[(t.name, "px")][0]] = self._conv.px
                consts[lay.consts[(t.name, "sy")][0]] = self._conv.sy
                pats["field"] = None
            if getattr(t, "stochastic", False):
                pats["field"] = None
            if hasattr(t, "dynamic_patterns"):
                for name, v in t.dynamic_patterns(np.zeros(self.batch), self.batch).items():
                    pats[name] = v
            for name, v in pats.items():
                key = (t.name, name)
                if key not in lay.slots:
                    raise ValueError(f"term {t.name!r} gave pattern {name!r}, which it does not declare")
                if name == "field" and v is None:
                    arr = self._conv.out if getattr(t, "convolution", False) else self._noise["field"]
                else:
                    host = _c_real(v, self.dtype)
                    arr = self.patterns.get(key)
                    if arr is None or arr.size != host.size:
                        arr = self.patterns[key] = xp.asarray(host)
                    else:
                        arr[...] = xp.asarray(host)
                slots[lay.slots[key]] = device_pointer(arr)
        self.consts[...] = xp.asarray(consts.astype(self.dtype))
        if not np.array_equal(slots, self.ptr_host):
            self.ptr_host = slots
            self.ptr[...] = xp.asarray(slots)
        self._drv_valid = False
        if not self.host_dynamic():
            self.update_drives(np.zeros(self.batch))

    def host_dynamic(self):
        """Whether evaluations need the host every call (a drive or material parameter that depends on t or
        m): then one device→host copy per step and no CUDA graphs."""
        return bool(self.host_dynamic_terms) or self.dynamic_params

    def update_drives(self, t_rows, m=None, first_row=0):
        """Evaluate every term's drives at member times ``t_rows`` ((B,) or (R, B) host arrays, s) into rows
        ``first_row`` … of the drive table and upload them; ``m`` (a device state) only for drives that
        follow the magnetization. Time-dependent material parameters follow the first row's times."""
        t_rows = np.atleast_2d(np.asarray(t_rows, dtype=float))
        R = t_rows.shape[0]
        lay = self.layout
        D = self._drv_host
        m_host = None
        if self.needs_m and m is not None:
            m_host = np.asarray(self.device.asnumpy(m), dtype=float)
        for r in range(R):
            for t in self._active():
                for name, v in t.device_drives(t_rows[r], self.batch, m_host).items():
                    col, size = lay.drives[(t.name, name)]
                    D[first_row + r, :, col:col + size] = np.asarray(v, dtype=float).reshape(self.batch, size)
        xp = self.device.xp
        self.drv[first_row:first_row + R] = xp.asarray(D[first_row:first_row + R].astype(self.dtype))
        if self.dynamic_params:
            self._update_params(t_rows[0])
        self._drv_valid = True

    def update_patterns(self, t):
        """Upload the time-dependent patterns (a callable spatial field) at member times t (B,)."""
        xp = self.device.xp
        for term in self.dyn_pattern_terms:
            for name, v in term.dynamic_patterns(np.asarray(t, dtype=float), self.batch).items():
                self.patterns[(term.name, name)][...] = xp.asarray(_c_real(v, self.dtype))

    def _update_params(self, t):
        """The per-member material table at member times t (time-dependent material parameters)."""
        system = self.system
        system.update_dynamic(t)
        tab = self._params_host
        c = 0
        for p in self.material_params:
            mt = system.member_table(p.name)
            if mt is not None:
                tab[:, :, c] = mt
            c += p.size
        self.params[...] = self.device.xp.asarray(_c_real(tab, self.dtype))

    # -------------------------------------------------------------------------------- launches
    @property
    def convolution(self):
        """The FFT convolution service of the convolution term (demag), as a stepper launches it; or None."""
        return self._conv

    @property
    def noise(self):
        """The per-step noise buffers of the stochastic term ({"module", "field", "counter", ...}); or None."""
        return self._noise

    def cell_launch(self):
        """(grid, block) of the per-cell kernels."""
        return self.device.dims(self.ncell, self.batch)

    def rhs_args(self, m, drv_row=0):
        """The RHS kernels' common arguments after the state: (region, params, drv, consts, ptr)."""
        return (self.region, self.params, self.drv[drv_row], self.consts, self.ptr)

    def grid_dims(self):
        g = self.grid
        return (g.nx, g.ny, g.nz, self.nreg, self.batch) + tuple(g.cell)

    def _plain(self, kind, m, out, bout=None):
        """Prepared launches (cached per buffers) of one plain evaluation: the convolution, then the RHS."""
        key = (kind, id(m), id(out), id(bout))
        seq = self._launches.get(key)
        if seq is None:
            seq = []
            if self._conv is not None:
                seq.append(self._conv.source_launch(m))
                seq += self._conv.steps()
            if kind == "observe":
                seq.append(self.module_rhs.prepare(
                    "llg_observe", *self.cell_launch(), m, *self.rhs_args(m), self.fill, self.wavg, out,
                    *self.grid_dims()))
            else:
                mod = self.module_field if bout is not None else self.module_rhs
                seq.append(mod.prepare("llg_rhs", *self.cell_launch(), m, *self.rhs_args(m), out, bout,
                                       *self.grid_dims(), PRECESSION_CODE.get(kind, 0)))
            self._launches[key] = seq
        return seq

    def _prepare_eval(self, m, t):
        self.ensure_current()
        if self.host_dynamic():
            th = np.broadcast_to(np.asarray(self.device.asnumpy(t), dtype=float), (self.batch,))
            self.update_drives(th, m)
            self.update_patterns(th)
        elif not self._drv_valid:
            self.update_drives(np.zeros(self.batch))

    def __call__(self, m, t, out):
        """Write dm/dt (1/s) of m (B, 3, nz, ny, nx) at member times t (B,) into out."""
        self._check(m)
        self.nevals += 1
        self._prepare_eval(m, t)
        for ln in self._plain(self.rhs_kind(), m, out):
            ln()
        return out

    def rhs_kind(self):
        """Which right-hand side: "precession" (the full LLG), "no_precession" (without the precession term)
        or "relax" (precession-free, torques off)."""
        if not self.precession:
            return "relax"
        return "precession" if self.precession_term else "no_precession"

    def effective_field(self, m, t=None, out=None):
        """B_eff (T) of every active term, shape of m."""
        self._check(m)
        xp = self.device.xp
        t = xp.zeros(self.batch) if t is None else t
        B = self.B if out is None else out
        self._prepare_eval(m, t)
        for ln in self._plain("field", m, self._dm, B):
            ln()
        return B

    def convolve(self, m):
        """The convolution term's field (demag) of m into its padded buffer, which the fused kernels read."""
        if self._conv is None:
            raise ValueError("no demag term")
        key = ("convolve", id(m))
        seq = self._launches.get(key)
        if seq is None:
            seq = self._launches[key] = [self._conv.source_launch(m)] + self._conv.steps()
        for ln in seq:
            ln()

    def demag_field(self, m, out):
        """The convolution term's field alone (T), cropped into ``out`` (B, 3, nz, ny, nx)."""
        self.convolve(m)
        return self._conv.field_to_state(out)

    def observe(self, m, t=None):
        """Observables of every member, reduced on the device; only these scalars are copied to the host:
        {"m_avg": (B, 3), "energies": {name: (B,) J}, "max_torque": (B,) T, "rms_torque": (B,) T}
        (torque |m × B_eff| over the magnetic cells)."""
        self._check(m)
        xp = self.device.xp
        t = xp.zeros(self.batch) if t is None else t
        self._prepare_eval(m, t)
        self._obs.fill(0)
        for ln in self._plain("observe", m, self._obs):
            ln()
        o = np.asarray(self.device.asnumpy(self._obs), dtype=float)
        names = self.layout.energy_terms
        ne = len(names)
        V = self.grid.cell_volume
        nmag = max(int(self.system.magnetic.sum()), 1)
        return {"m_avg": o[:, :3].copy(), "energies": {n: o[:, 3 + i] * V for i, n in enumerate(names)},
                "max_torque": np.sqrt(o[:, 3 + ne]), "rms_torque": np.sqrt(o[:, 4 + ne] / nmag)}

    def _check(self, m):
        if m.shape != self.shape or m.dtype != self.dtype:
            raise ValueError(f"m must be {self.shape} {self.dtype}, got {m.shape} {m.dtype}")

    # -------------------------------------------------------------------------------- noise
    def noise_launch(self, dt_next, t, t_end, has_end):
        """The prepared launch of the step's white noise (None without an enabled stochastic term)."""
        nz = self._noise
        if nz is None:
            return None
        term = nz["term"]
        col = self.layout.drives[(term.name, term.noise[1])][0]
        amp_key = (term.name, term.noise[0])
        return nz["module"].prepare("thermal_noise", *self.cell_launch(), nz["field"],
                                    self.patterns[amp_key], self.drv[0], self.drv.shape[2], col, dt_next, t, t_end,
                                    int(has_end), nz["counter"], nz["seeds"], nz["ids"], self.ncell, self.batch)

    def sync_noise_state(self):
        """Copy the device's noise step counters back into the stochastic term (checkpoints, compaction)."""
        nz = self._noise
        if nz is not None:
            st = nz["term"].noise_state()
            st["counters"] = np.asarray(self.device.asnumpy(nz["counter"]), dtype=np.int64)
            nz["term"].set_noise_state(st)

    def load_noise_state(self):
        """Upload the stochastic term's identities and counters (after the term's state was set)."""
        nz = self._noise
        if nz is not None:
            xp = self.device.xp
            st = nz["term"].noise_state()
            nz["seeds"][...] = xp.asarray(st["seeds"])
            nz["ids"][...] = xp.asarray(st["member_ids"])
            nz["counter"][...] = xp.asarray(st["counters"])

    @property
    def thermal_field(self):
        """The current step's noise field buffer (B, 3, nz, ny, nx), or None."""
        return None if self._noise is None else self._noise["field"]

    def stage_module(self):
        if self.module_stage is None:
            self.module_stage = self.device.module("rk_stage.cu", self._defines, self.layout.includes)
        return self.module_stage


def device_pointer(a):
    """The device (or host) address of an array, for the pattern pointer table."""
    if isinstance(a, np.ndarray):
        return a.ctypes.data
    return int(a.data.ptr)

__all__ = ["CudaLLG", "pack_materials", "region_map", "cupy_device", "emulated_device",
           "recording_device", "gpu_available", "Device"]
