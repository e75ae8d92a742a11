"""The GPU backend: the LLG right-hand side, observables and a batched RK stepper as fused CUDA kernels.

Nothing here imports CuPy at module import time. The classes run on any device of
:mod:`micromag.backends.device` (the GPU, the host emulation, the recording device of the host benchmark).

Nothing here knows a physical term either. The kernel tables come from the terms' declarations
(:func:`gpu_kernels.layout`), and every term is read through its public device inputs
(``device_patterns``, ``device_constants``, ``device_drives``, ``device_options``, ``host_dynamic``;
see :mod:`micromag.terms.base`). Two services are provided to terms that declare them: the FFT convolution
(``convolution = True``: the demag field) and per-step white noise (``stochastic = True``: the thermal field).

Entry points
------------
``CudaLLG(system, terms, batch, dtype=np.float32, device=None)``
    ``llg(m, t, out)`` writes dm/dt (the contract of :class:`micromag.llg.LLG`, arrays of ``device.xp``);
    ``llg.effective_field(m, t)``; ``llg.observe(m, t)`` (⟨m⟩, each term's energy, torque: reduced per
    member on the device, only scalars come back); ``llg.precession`` (False: precession-free relax);
    ``llg.refresh()`` (re-read the terms' settings: drives, options, materials).
``CudaStepper(llg, tableau, tol=..., dt=..., ..., graph="auto", fixed=False)``
    ``stepper.step(m, t, t_end=None)`` advances every member with its own dt; the step-size decision stays
    on the device; finished members (t >= t_end) keep m and t bit for bit. An FSAL step of s stages is
    1 + (s − 1)·(FFT stages + 1) + 1 launches (see gpu_kernels/rk_stage.cu); with ``graph`` the whole
    step is captured once and replayed with one launch.
"""
from __future__ import annotations

import numpy as np

import gpu_kernels as gk

from ..integrators import get_tableau
from ..terms.stencil import periodic_defines
from .device import Device, cupy_device, emulated_device, gpu_available, recording_device  # noqa: F401

MAX_STAGES = 7
_PRECESSION_CODE = {"relax": 0, "precession": 1, "no_precession": 2}  # the kernels' int precession
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
                slots[lay.slots[key]] = _pointer(arr)
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
    def _grid(self):
        """(grid, block) of the per-cell kernels."""
        return self.device.dims(self.ncell, self.batch)

    def rhs_args(self, m, drv_row=0):
        """The RHS kernels' common arguments after the state: (region, params, drv, consts, ptr)."""
        return (self.region, self.params, self.drv[drv_row], self.consts, self.ptr)

    def _dims(self):
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
                    "llg_observe", *self._grid(), m, *self.rhs_args(m), self.fill, self.wavg, out,
                    *self._dims()))
            else:
                mod = self.module_field if bout is not None else self.module_rhs
                seq.append(mod.prepare("llg_rhs", *self._grid(), m, *self.rhs_args(m), out, bout,
                                       *self._dims(), _PRECESSION_CODE.get(kind, 0)))
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
        return nz["module"].prepare("thermal_noise", *self._grid(), nz["field"],
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


_SEEN_NEVER, _SEEN_ONCE = object(), object()


def _pointer(a):
    """The device (or host) address of an array, for the pattern pointer table."""
    if isinstance(a, np.ndarray):
        return a.ctypes.data
    return int(a.data.ptr)


# ---------------------------------------------------------------------------------------------- stepper
class CudaStepper:
    """Batched explicit RK stepper on the device with a time step per member (twin of
    :class:`micromag.integrators.Stepper`: same tableaux, controller and renormalization).

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
        self.kp = xp.asarray(np.array([_pointer(k) for k in self.k], dtype=np.uint64))
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
        conv = f._conv
        s = tab.stages
        adaptive = tab.adaptive and not self.fixed
        dyn = f.host_dynamic()
        grid, blk = f._grid()
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
                f.drv[row], f.consts, f.ptr, *f._dims(), _PRECESSION_CODE[f.rhs_kind()]))
            first = False
        # the solution: FSAL -> the last stage's input; else written by the last stage into the other buffer
        ysol = (m if s == 1 else self.Y[(s - 1) % 2]) if tab.fsal else self.Y[s % 2]
        nz = f._noise
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


__all__ = ["CudaLLG", "CudaStepper", "pack_materials", "region_map", "cupy_device", "emulated_device",
           "recording_device", "gpu_available", "Device"]
