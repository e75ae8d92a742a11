"""Backend selection. The NumPy backend is the reference and the CPU fallback.

- ``cpu``: NumPy/SciPy, float64.
- ``gpu``: CuPy raw CUDA kernels (``gpu_kernels/``), float32 by default; needs CuPy and an NVIDIA GPU.
- ``auto``: ``gpu`` when CuPy finds a usable device, else ``cpu`` (saying so in one line).
- ``emulate``: the GPU backend's kernels compiled by g++ and run on the CPU (slow; for tests).
"""
from __future__ import annotations

import os
import sys

BACKENDS = ("auto", "cpu", "gpu", "emulate")


def gpu_status():
    """(whether CuPy finds a usable CUDA device, why not: "" when it does)."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return False, f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"CuPy finds no usable CUDA device ({exc})"
    return (n > 0), ("no CUDA device" if n == 0 else "")


def select_backend(name="auto", quiet=False):
    """Return 'cpu', 'gpu' or 'emulate' for ``name`` in {'auto', 'cpu', 'gpu', 'emulate'}."""
    name = str(name).lower()
    if name == "auto" and os.environ.get("MICROMAG_BACKEND"):  # `micromag run --backend`
        name = os.environ["MICROMAG_BACKEND"].lower()
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name in ("cpu", "emulate"):
        return name
    ok, why = gpu_status()
    if name == "gpu":
        if not ok:
            raise RuntimeError(f"backend='gpu' needs CuPy and an NVIDIA GPU: {why}. "
                               "Install with pip install -e '.[cuda12]' or '.[cuda13]', or use backend='cpu'")
        return "gpu"
    if ok:
        return "gpu"
    global _told
    if not quiet and not _told:
        print(f"micromag: no GPU ({why}); running on the CPU", file=sys.stderr)
        _told = True
    return "cpu"


_told = False
