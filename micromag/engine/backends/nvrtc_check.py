"""Compile micromag's CUDA kernel sources with NVRTC without a GPU (``cuda.bindings.nvrtc``).

This is how CI checks that every kernel source compiles for the target architectures with the exact
options the CuPy backend uses at run time (:data:`RUNTIME_OPTIONS`; CuPy adds the architecture itself).
NVRTC comes from the ``nvidia-cuda-nvrtc`` wheel; ``cuda.bindings`` finds it through ``cuda-pathfinder``.
If that fails, :func:`_preload_wheel_nvrtc` loads the library from the wheel's directory first.
"""
from __future__ import annotations

import ctypes
import glob
import os
import sys

# Options shared by the run-time compilation (cupy.RawModule, micromag.engine.backends.cuda) and this check.
# No fast-math: the kernels must agree with the NumPy backend to float32 precision.
RUNTIME_OPTIONS = ("--std=c++17",)

# Architectures CI compiles for (A100 / H100 class).
CHECK_ARCHS = ("sm_80", "sm_90")


class NvrtcError(RuntimeError):
    """NVRTC failed; the message holds the compiler log."""


def _preload_wheel_nvrtc():
    """Load libnvrtc from an installed nvidia-cuda-nvrtc wheel (path hint for cuda.bindings)."""
    for base in sys.path:
        for pat in ("nvidia/cuda_nvrtc/lib/libnvrtc.so*", "nvidia/cu*/lib/libnvrtc.so*"):
            for lib in sorted(glob.glob(os.path.join(base, pat))):
                if "builtins" in os.path.basename(lib):
                    continue
                try:
                    ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
                    return lib
                except OSError:
                    continue
    return None


def load_nvrtc():
    """The ``cuda.bindings.nvrtc`` module with a working library (raises ImportError if unavailable)."""
    from cuda.bindings import nvrtc  # ImportError when cuda-bindings is missing

    try:
        err, *_ = nvrtc.nvrtcVersion()
    except Exception:  # library not found by cuda-pathfinder
        if _preload_wheel_nvrtc() is None:
            raise ImportError("cuda.bindings is installed but libnvrtc was not found: pip install nvidia-cuda-nvrtc")
        err, *_ = nvrtc.nvrtcVersion()
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise ImportError(f"NVRTC unusable: {err}")
    return nvrtc


def nvrtc_version():
    nvrtc = load_nvrtc()
    _, major, minor = nvrtc.nvrtcVersion()
    return major, minor


def compile_source(source: str, arch: str = "sm_80", options=RUNTIME_OPTIONS, name: str = "kernel.cu") -> bytes:
    """Compile ``source`` for ``arch`` (``sm_XX``: cubin, ``compute_XX``: PTX) with ``options``; returns the
    binary. Raises :class:`NvrtcError` with the NVRTC log on failure (warnings are in ``.log`` of the
    returned object's caller via :func:`compile_with_log`)."""
    return compile_with_log(source, arch, options, name)[0]


def compile_with_log(source: str, arch: str = "sm_80", options=RUNTIME_OPTIONS, name: str = "kernel.cu"):
    """(binary, log) of compiling ``source``; see :func:`compile_source`."""
    nvrtc = load_nvrtc()
    ok = nvrtc.nvrtcResult.NVRTC_SUCCESS
    err, prog = nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], [])
    if err != ok:
        raise NvrtcError(f"nvrtcCreateProgram failed: {err}")
    try:
        opts = [f"--gpu-architecture={arch}".encode()] + [o.encode() for o in options]
        (cerr,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        _, size = nvrtc.nvrtcGetProgramLogSize(prog)
        # a mutable buffer: NVRTC writes into it (b" " * 1 would be CPython's shared one-byte b" " object,
        # and overwriting that corrupts every later use of b" " in the process)
        buf = bytearray(size)
        nvrtc.nvrtcGetProgramLog(prog, buf)
        log = bytes(buf).decode(errors="replace").rstrip("\x00").strip()
        if cerr != ok:
            raise NvrtcError(f"NVRTC failed to compile {name} for {arch} with {list(options)}:\n{log}")
        if arch.startswith("sm_"):
            _, n = nvrtc.nvrtcGetCUBINSize(prog)
            out = bytearray(n)
            nvrtc.nvrtcGetCUBIN(prog, out)
        else:
            _, n = nvrtc.nvrtcGetPTXSize(prog)
            out = bytearray(n)
            nvrtc.nvrtcGetPTX(prog, out)
        return bytes(out), log
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


__all__ = ["RUNTIME_OPTIONS", "CHECK_ARCHS", "NvrtcError", "load_nvrtc", "nvrtc_version", "compile_source",
           "compile_with_log"]
