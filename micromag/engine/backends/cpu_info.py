"""What the CPU backend runs on this machine, in the lines ``micromag info`` prints: the FFT engine of the
demag convolution, the compiled (Numba) kernels and the thread count of each pool."""
from __future__ import annotations

import os


def cpu_path_lines():
    """What the CPU backend runs: the FFT engine of the demag convolution, the compiled kernels, and the
    thread count of each pool (micromag.engine.threads)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import _jit, threads
    from ..terms.demag import fft_engine

    def ver(pkg):
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    lines = []
    env_fft = os.environ.get("MICROMAG_FFT", "").strip()
    try:
        engine = fft_engine("auto")
        if engine == "fftw":
            why = f"pyfftw {ver('pyfftw')}"
        elif env_fft:
            why = f"the NumPy/SciPy path, chosen by MICROMAG_FFT={env_fft}"
        else:
            why = "the NumPy/SciPy path: pyfftw does not import (pip install pyfftw for the fast path)"
        lines.append(f"fft      {engine} ({why})")
    except ValueError as exc:
        lines.append(f"fft      error: {exc}")
    try:
        mode = _jit.mode()
        nb = ver("numba")
        if mode == "off":
            lines.append(f"jit      off (MICROMAG_JIT={os.environ.get('MICROMAG_JIT')}: NumPy kernels)")
        elif nb is None:
            lines.append("jit      off (numba not installed: NumPy kernels; pip install numba for the fast path)")
        elif mode == "on":
            lines.append(f"jit      numba {nb} on every grid (MICROMAG_JIT={os.environ.get('MICROMAG_JIT')})")
        else:
            lines.append(f"jit      numba {nb} on grids of at least {_jit.MIN_CELLS} cells (NumPy below)")
    except ValueError as exc:
        lines.append(f"jit      error: {exc}")
    try:
        lines.extend(threads.describe())
        tp = ver("threadpoolctl")
        lines.append(f"         threadpoolctl {tp}" if tp else
                     "         threadpoolctl not installed: BLAS keeps its own thread count while stepping")
    except ValueError as exc:
        lines.append(f"threads  error: {exc}")
    return lines
