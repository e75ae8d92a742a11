"""Host emulation of micromag's CUDA kernels: the same kernel text, compiled with g++ and run on the CPU.

``EmuModule(source)`` compiles an assembled kernel source (see :func:`gpu_kernels.assemble`) together with
``cuda_emu.h`` into a shared library, cached under a directory keyed by the hash of everything that goes
into it, and launches its ``extern "C" __global__`` kernels through ctypes with NumPy arrays::

    mod = EmuModule(gpu_kernels.assemble("llg_rhs.cu", defs))
    mod.launch("llg_rhs", grid=(nblocks, B), block=(128,), args=(m, bdemag, ...))

Each kernel gets a generated C launcher that runs the grid of blocks × threads sequentially (see the
header for the supported CUDA subset). Arguments are checked against the parsed kernel signature:
pointers take C-contiguous NumPy arrays of the matching dtype (``real`` is float32, or float64 when the
source defines ``MM_DOUBLE``; ``int`` int32; ``double`` float64; ``long long`` int64) or None (NULL),
scalars are converted to the declared C type.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER = Path(__file__).resolve().parent / "cuda_emu.h"
CXX_FLAGS = ("-std=c++17", "-O1", "-shared", "-fPIC", "-ffp-contract=off", "-fno-fast-math", "-w")

_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+([A-Za-z_]\w*)\s*\(([^)]*)\)', re.S)


@dataclass(frozen=True)
class Param:
    name: str
    ctype: str  # C type as written, without __restrict__ (e.g. "const real*", "int")
    base: str  # base type: real, int, double, float, long long, unsigned int, ...
    pointer: bool


def parse_kernels(source: str) -> dict:
    """{kernel name: [Param, ...]} for every ``extern "C" __global__ void`` kernel in ``source``."""
    out = {}
    for mo in _KERNEL.finditer(source):
        params = []
        body = " ".join(mo.group(2).split())
        for raw in filter(None, (p.strip() for p in body.split(","))):
            raw = raw.replace("__restrict__", " ")
            m = re.fullmatch(r"(.*?)([A-Za-z_]\w*)\s*", raw)
            if not m:
                raise ValueError(f"cannot parse kernel parameter {raw!r} of {mo.group(1)}")
            ctype = " ".join(m.group(1).replace("*", " * ").split()).replace(" *", "*")
            pointer = "*" in ctype
            base = " ".join(w for w in ctype.replace("*", " ").split() if w not in ("const", "volatile"))
            params.append(Param(m.group(2), ctype, base, pointer))
        out[mo.group(1)] = params
    return out


_SCALAR = {
    "int": ctypes.c_int, "unsigned int": ctypes.c_uint, "unsigned": ctypes.c_uint, "long long": ctypes.c_longlong,
    "unsigned long long": ctypes.c_ulonglong, "float": ctypes.c_float, "double": ctypes.c_double,
}
_DTYPE = {
    "int": np.int32, "unsigned int": np.uint32, "unsigned": np.uint32, "long long": np.int64,
    "unsigned long long": np.uint64, "float": np.float32, "double": np.float64,
}


def cache_dir() -> Path:
    d = os.environ.get("MICROMAG_EMU_CACHE")
    if d:
        p = Path(d)
    else:
        p = Path(tempfile.gettempdir()) / f"micromag-emu-{os.getuid() if hasattr(os, 'getuid') else 'u'}"
    p.mkdir(parents=True, exist_ok=True)
    return p


def _launcher_code(kernels: dict, source: str = "") -> str:
    # kernels that synchronize run their block's threads as fibers (see cuda_emu.h); the others plainly.
    # A source that uses __syncthreads anywhere runs all its kernels with fibers (simple and safe: a device
    # function that synchronizes may be called from any kernel).
    runner = "run_grid_fibers" if "__syncthreads" in source else "run_grid"
    lines = []
    for name, params in kernels.items():
        args = ", ".join(f"*({p.ctype}*)a[{i}]" for i, p in enumerate(params))
        lines.append(
            f'extern "C" void emu_launch_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, '
            f"unsigned bz, void** a) {{\n"
            f"    emu::{runner}(gx, gy, gz, bx, by, bz, [&]() {{ {name}({args}); }});\n}}"
        )
    return "\n".join(lines) + "\n"


def build(source: str, cxx=None) -> Path:
    """Compile ``source`` (plus launchers) into a shared library; returns its (cached) path."""
    cxx = cxx or os.environ.get("CXX") or shutil.which("g++") or "g++"
    kernels = parse_kernels(source)
    if not kernels:
        raise ValueError('no extern "C" __global__ kernel in the source')
    text = '#include "cuda_emu.h"\n' + source + "\n" + _launcher_code(kernels, source)
    key = hashlib.sha256("\0".join([text, HEADER.read_text(), cxx, *CXX_FLAGS]).encode()).hexdigest()[:24]
    d = cache_dir()
    lib = d / f"emu_{key}.so"
    if lib.exists():
        return lib
    src = d / f"emu_{key}.{os.getpid()}.cpp"
    src.write_text(text)
    tmp = d / f"emu_{key}.{os.getpid()}.tmp.so"
    cmd = [cxx, *CXX_FLAGS, f"-I{HEADER.parent}", str(src), "-o", str(tmp)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"emulation build failed ({' '.join(cmd)}):\n{res.stderr[-8000:]}")
    os.replace(tmp, lib)
    src.unlink(missing_ok=True)
    return lib


def _dims(v):
    v = tuple(int(x) for x in (v if isinstance(v, (tuple, list)) else (v,)))
    if not 1 <= len(v) <= 3 or any(x < 1 for x in v):
        raise ValueError(f"grid/block dims must be 1 to 3 positive integers, got {v}")
    return v + (1,) * (3 - len(v))


class EmuModule:
    """A kernel source compiled for the host; mirrors the part of cupy.RawModule micromag uses."""

    def __init__(self, source: str):
        self.source = source
        self.kernels = parse_kernels(source)
        self.real = np.float64 if re.search(r"^#define MM_DOUBLE\b", source, re.M) else np.float32
        self.path = build(source)
        self._lib = ctypes.CDLL(str(self.path))
        self._fns = {}
        for name in self.kernels:
            fn = getattr(self._lib, f"emu_launch_{name}")
            fn.restype = None
            fn.argtypes = [ctypes.c_uint] * 6 + [ctypes.POINTER(ctypes.c_void_p)]
            self._fns[name] = fn

    def _dtype(self, base):
        if base == "real":
            return np.dtype(self.real)
        if base in _DTYPE:
            return np.dtype(_DTYPE[base])
        raise TypeError(f"unsupported kernel parameter type {base!r}")

    def _ctype(self, base):
        if base == "real":
            return ctypes.c_double if self.real == np.float64 else ctypes.c_float
        return _SCALAR[base]

    def launch(self, name, grid, block, args):
        """Run kernel ``name`` over ``grid`` blocks of ``block`` threads with ``args`` (arrays / scalars)."""
        self.prepared(name, grid, block, args)()

    def prepared(self, name, grid, block, args):
        """A callable that runs kernel ``name`` with ``args``, everything converted and checked once (the
        arrays must stay alive and in place: the callable holds their addresses)."""
        if name not in self.kernels:
            raise KeyError(f"no kernel {name!r}; the source defines {sorted(self.kernels)}")
        params = self.kernels[name]
        if len(args) != len(params):
            raise TypeError(f"{name} takes {len(params)} arguments ({', '.join(p.name for p in params)}), got {len(args)}")
        keep = []
        ptrs = (ctypes.c_void_p * len(params))()
        for i, (p, a) in enumerate(zip(params, args)):
            if p.pointer:
                if a is None:
                    cell = ctypes.c_void_p(None)
                else:
                    if not isinstance(a, np.ndarray):
                        raise TypeError(f"{name}: argument {p.name} ({p.ctype}) needs a NumPy array, got {type(a).__name__}")
                    want = self._dtype(p.base)
                    if a.dtype != want:
                        raise TypeError(f"{name}: argument {p.name} ({p.ctype}) needs dtype {want}, got {a.dtype}")
                    if not a.flags.c_contiguous:
                        raise ValueError(f"{name}: argument {p.name} must be C-contiguous")
                    if "const" not in p.ctype.split("*")[0] and not a.flags.writeable:
                        raise ValueError(f"{name}: argument {p.name} is written to but the array is read-only")
                    cell = ctypes.c_void_p(a.ctypes.data)
                    keep.append(a)
            else:
                cell = self._ctype(p.base)(a.item() if isinstance(a, np.generic) else a)
            keep.append(cell)
            ptrs[i] = ctypes.cast(ctypes.pointer(cell), ctypes.c_void_p)
        g, b = _dims(grid), _dims(block)
        fn = self._fns[name]
        dims = (*g, *b)

        def run(keep=keep):
            fn(*dims, ptrs)
        return run

    def get_function(self, name):
        """A callable ``f(grid, block, args)`` like cupy.RawModule.get_function."""
        return lambda grid, block, args: self.launch(name, grid, block, args)


__all__ = ["EmuModule", "build", "parse_kernels", "cache_dir", "HEADER", "CXX_FLAGS"]
