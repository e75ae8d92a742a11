"""Devices the GPU backend runs on: the GPU (CuPy), the host emulation (NumPy + g++), and a recording device.

A device provides an array module (``xp``), compiled kernel modules (:meth:`Device.module`, cached by their
defines: a source is assembled and compiled once per distinct set), batched strided FFTs (:meth:`Device.fft`),
and graph capture (:meth:`Device.capture`): a step recorded once and replayed with one call.

- :func:`cupy_device`: CuPy arrays, NVRTC through ``cupy.RawModule``, cuFFT plans, CUDA graphs.
- :func:`emulated_device`: NumPy arrays, the same kernel text compiled by g++ with the emulation header
  (:mod:`micromag.engine.emulation`), numpy.fft on strided views; a "graph" replays the recorded launches, so CI
  checks that a step holds nothing but launches.
- :func:`recording_device`: NumPy arrays, kernels parsed but never run, FFTs not run: it counts launches and
  measures the host's own time per step (``benchmarks/bench_host.py``).

Every launch goes through a prepared :class:`Launch` (arguments converted once), so the per-step host cost
is one Python call per kernel.
"""
from __future__ import annotations

import numpy as np

import gpu_kernels as gk

from .nvrtc_check import RUNTIME_OPTIONS

MAX_GRID_Y = 65535  # CUDA's limit of gridDim.y: larger batches are tiled (kernels loop over members)


class Launch:
    """A kernel launch with its arguments converted once; calling it runs (or records) the launch."""

    __slots__ = ("device", "name", "grid", "block", "args", "_run")

    def __init__(self, device, name, grid, block, args, run):
        self.device, self.name, self.grid, self.block, self.args, self._run = device, name, grid, block, args, run

    def __call__(self):
        dev = self.device
        if dev._recording is not None:
            dev._recording.append(self)
            return
        dev.launches += 1
        self._run()


class _Module:
    """A compiled kernel source: ``prepare(name, grid, block, *args)`` returns a :class:`Launch`."""

    def __init__(self, device, source, raw):
        from ..emulation import parse_kernels

        self.device = device
        self.source = source
        self.raw = raw
        self.kernels = parse_kernels(source)
        self.real = np.dtype(np.float64 if "#define MM_DOUBLE" in source else np.float32)
        self._dummies = {}

    def _dtype(self, base):
        if base == "real":
            return self.real
        return np.dtype({"int": np.int32, "long long": np.int64, "double": np.float64, "float": np.float32,
                         "unsigned long long": np.uint64, "unsigned int": np.uint32}[base])

    def convert(self, name, args):
        params = self.kernels[name]
        if len(args) != len(params):
            raise TypeError(f"{name} takes {len(params)} arguments ({', '.join(p.name for p in params)}), "
                            f"got {len(args)}")
        conv = []
        for p, a in zip(params, args):
            dt = self._dtype(p.base)
            if p.pointer:
                if a is None:
                    a = self._dummies.get(dt)
                    if a is None:
                        a = self._dummies[dt] = self.device.xp.zeros(1, dtype=dt)
                elif a.dtype != dt:
                    raise TypeError(f"{name}: {p.name} needs {dt}, got {a.dtype}")
                conv.append(a)
            else:
                conv.append(dt.type(a))
        return tuple(conv)

    def prepare(self, name, grid, block, *args):
        if name not in self.kernels:
            raise KeyError(f"no kernel {name!r} in this module; it defines {sorted(self.kernels)}")
        conv = self.convert(name, args)
        grid, block = tuple(int(x) for x in grid), tuple(int(x) for x in block)
        return Launch(self.device, name, grid, block, conv, self.device._runner(self, name, grid, block, conv))

    def __call__(self, name, grid, block, *args):
        """Launch at once (tools and tests; the backend's hot paths use prepared launches)."""
        self.prepare(name, grid, block, *args)()


class Graph:
    """A captured sequence of launches; ``launch()`` replays it (one host call)."""

    def __init__(self, device, launches, native=None):
        self.device, self.launches, self.native = device, list(launches), native

    def launch(self):
        dev = self.device
        dev.graph_launches += 1
        if self.native is not None:
            self.native.launch(dev.stream)
            return
        if dev.kind == "recording":
            return
        for ln in self.launches:
            ln._run()
        dev.launches += len(self.launches)


class Device:
    """An array module plus a kernel compiler, an FFT service and graph capture (see the module docstring)."""

    kind = "base"

    def __init__(self, name, xp, block=256, max_blocks=8192):
        self.name, self.xp = name, xp
        self.block, self.max_blocks = block, max_blocks
        self._modules = {}
        self._recording = None
        self.launches = 0        # launches run (eagerly or inside replayed graphs)
        self.graph_launches = 0  # graph replays
        self.compiles = 0

    @property
    def emulated(self):
        return self.kind != "cupy"

    # ------------------------------------------------------------------ kernels
    def module(self, file, defines, includes=()):
        """The compiled module of kernel file ``file`` with ``defines`` (dict) and term ``includes``, cached by
        exactly these (the source is assembled and compiled only on the first request)."""
        key = (file, tuple(sorted(defines.items())), tuple(includes))
        mod = self._modules.get(key)
        if mod is None:
            src = gk.assemble(file, defines, includes)
            mod = self._modules[key] = _Module(self, src, self._compile(src))
            self.compiles += 1
        return mod

    def block_for(self, n):
        """Threads per block for n items per member: the device's block (a power of two, <= 256, which the
        block reductions assume)."""
        return self.block

    def grid(self, n, members=1):
        """Launch grid for n items per member (kernels are grid-stride over items and member-strided over
        gridDim.y, so any block count and any batch size work)."""
        return (max(1, min(self.max_blocks, -(-int(n) // self.block_for(n)))), max(1, min(int(members), MAX_GRID_Y)))

    def dims(self, n, members=1):
        """(grid, block) of a launch over n items per member."""
        return self.grid(n, members), (self.block_for(n),)

    def asnumpy(self, a):
        return np.asarray(a)

    # ------------------------------------------------------------------ graphs
    def capture(self, body):
        """Run ``body()`` in capture mode and return a :class:`Graph` of what it launched (nothing runs)."""
        self._recording = []
        try:
            body()
            launches = self._recording
        finally:
            self._recording = None
        return Graph(self, launches)

    # ------------------------------------------------------------------ FFTs
    def fft(self, real):
        """A strided batched FFT service for real dtype ``real`` (see :class:`StridedFFT`)."""
        return StridedFFT(self, real)


class StridedFFT:
    """Batched 1D or 2D transforms in cuFFT's advanced layout on flat buffers.

    ``plan(kind, n, batch, sstride, sdist, dstride, ddist)`` with ``n`` an int (1D) or a pair (nz, ny) (2D,
    the last axis at stride ``stride`` and the first at ``n[1]·stride``) and ``kind`` ``r2c``/``c2c``/``c2r``
    returns a plan whose ``bind(src, soff, dst, doff, inverse=False)`` is a prepared :class:`Launch`:
    transform ``j`` of ``batch`` reads element ``i`` at ``src[soff + j·sdist + i·sstride]`` and writes
    ``dst[doff + j·ddist + i·dstride]``.
    Inverses are unnormalized (as cuFFT). Plans are made once per layout (on the GPU with their work area;
    64-bit plans past 2³¹ elements)."""

    def __init__(self, device, real):
        self.device = device
        self.real = np.dtype(real)
        self.cplx = np.dtype(np.complex64 if self.real == np.float32 else np.complex128)
        self.plans = {}

    def plan(self, kind, n, batch, sstride, sdist, dstride, ddist):
        key = (kind, n, batch, sstride, sdist, dstride, ddist)
        p = self.plans.get(key)
        if p is None:
            p = self.plans[key] = self._make(kind, n, batch, sstride, sdist, dstride, ddist)
        return p

    def _make(self, kind, n, batch, sstride, sdist, dstride, ddist):
        dims = (n,) if isinstance(n, int) else tuple(n)
        last = dims[-1]
        nin = dims[:-1] + ((last // 2 + 1) if kind == "c2r" else last,)
        nout = dims[:-1] + ((last // 2 + 1) if kind == "r2c" else last,)
        dev = self.device
        if dev.kind == "recording":
            return _Plan(dev, kind, lambda src, soff, dst, doff, inverse: _noop)
        if dev.kind == "emulation":
            return _Plan(dev, kind, _numpy_fft(kind, dims, nin, nout, batch, sstride, sdist, dstride, ddist))
        return _Plan(dev, kind, _cufft(self.real, kind, dims, nin, nout, batch, sstride, sdist, dstride, ddist))


class _Plan:
    """A planned transform; ``bind(src, soff, dst, doff, inverse=False)`` -> a prepared :class:`Launch`."""

    def __init__(self, device, kind, make_run):
        self.device, self.kind, self._make_run = device, kind, make_run

    def bind(self, src, soff, dst, doff, inverse=False):
        return Launch(self.device, f"fft_{self.kind}", (1,), (1,), (), self._make_run(src, soff, dst, doff, inverse))


def _strided_view(a, off, batch, dims, stride, dist, writeable):
    from numpy.lib.stride_tricks import as_strided

    s = a.itemsize
    if len(dims) == 1:
        return as_strided(a[off:], shape=(batch, dims[0]), strides=(dist * s, stride * s), writeable=writeable)
    return as_strided(a[off:], shape=(batch, dims[0], dims[1]), strides=(dist * s, dims[1] * stride * s, stride * s),
                      writeable=writeable)


def _numpy_fft(kind, dims, nin, nout, batch, sstride, sdist, dstride, ddist):
    axes = tuple(range(1, len(dims) + 1))

    def make_run(src, soff, dst, doff, inverse):
        def run():
            a = _strided_view(src, soff, batch, nin, sstride, sdist, False)
            if kind == "r2c":
                r = np.fft.rfftn(a, axes=axes)
            elif kind == "c2r":
                r = np.fft.irfftn(a, s=dims, axes=axes, norm="forward")
            elif inverse:
                r = np.fft.ifftn(a, axes=axes, norm="forward")
            else:
                r = np.fft.fftn(a, axes=axes)
            _strided_view(dst, doff, batch, nout, dstride, ddist, True)[...] = r
        return run
    return make_run


def _cufft(real, kind, dims, nin, nout, batch, sstride, sdist, dstride, ddist):
    from cupy.cuda import cufft

    single = real == np.float32
    ftype = {"r2c": cufft.CUFFT_R2C if single else cufft.CUFFT_D2Z,
             "c2r": cufft.CUFFT_C2R if single else cufft.CUFFT_Z2D,
             "c2c": cufft.CUFFT_C2C if single else cufft.CUFFT_Z2Z}[kind]
    span_in = sdist * (batch - 1) + sstride * (int(np.prod(nin)) - 1) + 1
    span_out = ddist * (batch - 1) + dstride * (int(np.prod(nout)) - 1) + 1
    if max(span_in, span_out) >= 2**31:
        # a 64-bit plan (cufftXtMakePlanMany): element offsets past 2^31; types as NumPy dtypes, CuPy maps them
        rt, ct = np.dtype(real), np.dtype(np.complex64 if single else np.complex128)
        itype, otype = {"r2c": (rt, ct), "c2r": (ct, rt), "c2c": (ct, ct)}[kind]
        plan = cufft.XtPlanNd(list(dims), list(nin), sstride, sdist, itype, list(nout), dstride, ddist, otype,
                              batch, ct, order="C", last_axis=-1, last_size=None)
    else:
        plan = cufft.PlanNd(list(dims), list(nin), sstride, sdist, list(nout), dstride, ddist, ftype, batch, "C",
                            -1, None)

    def make_run(src, soff, dst, doff, inverse):
        direction = cufft.CUFFT_INVERSE if inverse else cufft.CUFFT_FORWARD
        a, b = src[soff:], dst[doff:]
        return lambda: plan.fft(a, b, direction)
    return make_run


# ---------------------------------------------------------------------------------------------- devices
class CupyDevice(Device):
    kind = "cupy"

    def __init__(self, block=256):
        import cupy

        super().__init__("cupy", cupy, block=block)
        self.stream = None

    def _compile(self, src):
        import cupy

        return cupy.RawModule(code=src, options=tuple(RUNTIME_OPTIONS), backend="nvrtc")

    def _runner(self, module, name, grid, block, args):
        fn = module.raw.get_function(name)
        return lambda: fn(grid, block, args)

    def asnumpy(self, a):
        return self.xp.asnumpy(a) if isinstance(a, self.xp.ndarray) else np.asarray(a)

    def capture(self, body):
        """A CUDA graph of ``body()`` captured on a private stream (nothing runs); replayed with one launch,
        ordered after the current stream by events."""
        import cupy

        if self.stream is None:
            self.stream = cupy.cuda.Stream(non_blocking=True)
        with self.stream:
            self.stream.begin_capture()
            try:
                body()
            finally:
                g = self.stream.end_capture()
        return _CupyGraph(self, g)


class _CupyGraph(Graph):
    def __init__(self, device, graph):
        super().__init__(device, [], native=graph)

    def launch(self):
        import cupy

        dev = self.device
        cur = cupy.cuda.get_current_stream()
        dev.stream.wait_event(cur.record())
        self.native.launch(dev.stream)
        cur.wait_event(dev.stream.record())
        dev.graph_launches += 1


class EmulatedDevice(Device):
    kind = "emulation"

    def __init__(self, block=32, max_blocks=4):
        super().__init__("emulation", np, block=block, max_blocks=max_blocks)

    def block_for(self, n):
        # the smallest power of two that holds n (a macrospin batch runs one thread per block, not 32 that
        # have nothing to do), at most the device's block
        b = 1
        while b < min(int(n), self.block):
            b *= 2
        return b

    def _compile(self, src):
        from ..emulation import EmuModule

        return EmuModule(src)

    def _runner(self, module, name, grid, block, args):
        return module.raw.prepared(name, grid, block, args)


class RecordingDevice(Device):
    """Counts launches and runs nothing (the host-loop benchmark). Kernels are parsed, not compiled."""

    kind = "recording"

    def __init__(self, block=256, max_blocks=8192):
        super().__init__("recording", np, block=block, max_blocks=max_blocks)

    def _compile(self, src):
        return None

    def _runner(self, module, name, grid, block, args):
        return _noop


def _noop():
    return None


def cupy_device(block=256):
    """The GPU through CuPy (imported here, not at module import)."""
    return CupyDevice(block=block)


def emulated_device(block=32, max_blocks=4):
    """The host emulation (NumPy + g++); small default launch to exercise the grid-stride loops."""
    return EmulatedDevice(block=block, max_blocks=max_blocks)


def recording_device():
    return RecordingDevice()


def gpu_available():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


__all__ = ["Device", "Launch", "Graph", "StridedFFT", "cupy_device", "emulated_device", "recording_device",
           "gpu_available", "MAX_GRID_Y"]
