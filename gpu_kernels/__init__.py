"""CUDA C sources of micromag's GPU backend, and the helper that assembles a compilable kernel source.

The files here are the kernels' single source of truth: the CuPy backend compiles them with NVRTC, the CI
compiles them with NVRTC without a GPU (``tests/test_kernels_nvrtc.py``) and runs them on the CPU through
the host emulation (``micromag.emulation``, ``tests/test_kernels_emulation.py``). See README.md.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
"""Directory holding the ``.cu`` / ``.cuh`` files."""

# Columns of the per-region parameter table (params[r * MM_NPARAM + column]); the kernels see them as the
# defines MM_P_<NAME>. Axes take three consecutive columns (x, y, z).
PARAM_COLUMNS = (
    "MS", "A", "ALPHA", "GAMMA", "KU1", "UX", "UY", "UZ", "KC1", "KC2",
    "C1X", "C1Y", "C1Z", "C2X", "C2Y", "C2Z", "DIND",
)
NPARAM = len(PARAM_COLUMNS)

# Material attribute (micromag.materials.Material) feeding each column; an axis fills three columns.
PARAM_SOURCES = (
    ("Ms", "MS"), ("A", "A"), ("alpha", "ALPHA"), ("gamma", "GAMMA"), ("Ku1", "KU1"), ("anis_u", "UX"),
    ("Kc1", "KC1"), ("Kc2", "KC2"), ("anis_c1", "C1X"), ("anis_c2", "C2X"), ("D_ind", "DIND"),
)

# Per-member scalar drives evaluated on the host per RHS call (or once, when constant), one row per member of
# the (B, MM_NDRIVE) array ``drv``; the kernels see the columns as MM_D_<NAME>.
DRIVE_COLUMNS = (
    "SOT_J",                            # SOT current density (A/m^2)
    "OE_J",                             # Oersted drive (A/m^2)
    "STT_J", "STT_PX", "STT_PY", "STT_PZ",  # Slonczewski current density (A/m^2), polarizer (per member)
    "VCMA_DK",                          # VCMA anisotropy change Delta K = -xi V / (t_ox t_F) (J/m^3)
    "ZL_JX", "ZL_JY", "ZL_JZ",          # Zhang-Li current density (A/m^2), uniform per member
)
NDRIVE = len(DRIVE_COLUMNS)

# Term constants (one small real array ``tsc``); the kernels see them as MM_S_<NAME>.
SCALAR_COLUMNS = (
    "SOT_XI",                                   # field-like / damping-like ratio xi_FL
    "STT_EPSP", "STT_ENUM", "STT_EA", "STT_EB",  # eps', and eps = ENUM / (EA + EB m.p)
    "ZL_XI",                                    # Zhang-Li non-adiabaticity
    "VCMA_UX", "VCMA_UY", "VCMA_UZ",            # VCMA axis
)
NSCALAR = len(SCALAR_COLUMNS)

# Kernel source files and the kernels (extern "C" __global__ functions) each defines.
KERNELS = {
    "llg_rhs.cu": ("llg_rhs",),
    "rk_stage.cu": ("rk_combine", "rk_error", "rk_prepare", "rk_control", "rk_commit"),
    "demag_multiply.cu": ("demag_multiply", "demag_source", "demag_multiply_planes"),
    "thermal_noise.cu": ("thermal_noise", "thermal_advance"),
}

# Term switches of llg_rhs.cu: term name (as in micromag.terms.REGISTRY) -> define.
TERM_DEFINES = {
    "demag": "MM_HAS_DEMAG",
    "exchange": "MM_HAS_EXCHANGE",
    "anisotropy_uniaxial": "MM_HAS_ANIS_U",
    "anisotropy_cubic": "MM_HAS_ANIS_C",
    "dmi": "MM_HAS_DMI",
    "zeeman": "MM_HAS_ZEEMAN",
    "oersted": "MM_HAS_OERSTED",
    "vcma": "MM_HAS_VCMA",
    "thermal": "MM_HAS_THERMAL",
    "sot": "MM_HAS_SOT",
    "stt": "MM_HAS_STT",
    "zhangli": "MM_HAS_ZHANGLI",
}
# The MRAM device terms (fields: oersted, vcma, thermal; Gilbert-form torques: sot, stt, zhangli).
MRAM_TERMS = ("oersted", "vcma", "thermal", "sot", "stt", "zhangli")
# Further switches: MM_WRITE_FIELD (llg_rhs also writes B_eff), MM_EXCHANGE_SCALE (per-region-pair exchange
# factors), MM_ZEEMAN_SPATIAL[_BATCH] (a spatial applied field), MM_DEMAG_THIN (demag_multiply: Nxz = Nyz = 0),
# MM_DEMAG_PLANES (llg_rhs reads bdemag in the demag FFT's padded row layout), MM_STT_P_SPATIAL (a per-cell
# STT polarizer), MM_ZHANGLI_SPATIAL[_BATCH] (a per-cell Zhang-Li current density).
OPTION_DEFINES = ("MM_WRITE_FIELD", "MM_EXCHANGE_SCALE", "MM_ZEEMAN_SPATIAL", "MM_ZEEMAN_SPATIAL_BATCH",
                  "MM_DEMAG_THIN", "MM_DEMAG_PLANES", "MM_STT_P_SPATIAL", "MM_ZHANGLI_SPATIAL",
                  "MM_ZHANGLI_SPATIAL_BATCH")

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.M)


def source_path(name) -> Path:
    p = SOURCE_DIR / name
    if not p.is_file():
        raise FileNotFoundError(f"no kernel source {name!r} in {SOURCE_DIR}")
    return p


def _inline(name, seen):
    text = source_path(name).read_text()
    text = text.replace("#pragma once", "")

    def repl(mo):
        inc = mo.group(1)
        if inc in seen:
            return f"// (already included: {inc})"
        seen.add(inc)
        return f"// ---- begin {inc}\n{_inline(inc, seen)}\n// ---- end {inc}"

    return _INCLUDE.sub(repl, text)


def defines_for(dtype="float32", terms=(), options=()):
    """The define dict for a real type (``float32``/``float64``), active term names and option switches."""
    import numpy as np

    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"kernel real type must be float32 or float64, got {dt}")
    d = {}
    if dt == np.float64:
        d["MM_DOUBLE"] = 1
    for t in terms:
        if t not in TERM_DEFINES:
            raise ValueError(f"unknown term {t!r}; the kernels know {sorted(TERM_DEFINES)}")
        d[TERM_DEFINES[t]] = 1
    for o in options:
        if o not in OPTION_DEFINES:
            raise ValueError(f"unknown kernel option {o!r}; known: {OPTION_DEFINES}")
        d[o] = 1
    return d


def assemble(name, defines=None) -> str:
    """The full source of kernel file ``name`` with ``defines`` (dict name -> value, or names) prepended and
    the local includes inlined: the exact text NVRTC and the host emulation compile."""
    if defines is None:
        defines = {}
    elif not isinstance(defines, dict):
        defines = {k: 1 for k in defines}
    head = [f"// micromag kernel source {name} (assembled by gpu_kernels.assemble)"]
    for k in sorted(defines):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise ValueError(f"bad define name {k!r}")
        head.append(f"#define {k} {defines[k]}")
    head.append(f"#define MM_NPARAM {NPARAM}")
    for i, col in enumerate(PARAM_COLUMNS):
        head.append(f"#define MM_P_{col} {i}")
    head.append(f"#define MM_NDRIVE {NDRIVE}")
    for i, col in enumerate(DRIVE_COLUMNS):
        head.append(f"#define MM_D_{col} {i}")
    head.append(f"#define MM_NSCALAR {NSCALAR}")
    for i, col in enumerate(SCALAR_COLUMNS):
        head.append(f"#define MM_S_{col} {i}")
    return "\n".join(head) + "\n" + _inline(name, {name}) + "\n"


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:20]


__all__ = ["SOURCE_DIR", "PARAM_COLUMNS", "NPARAM", "PARAM_SOURCES", "DRIVE_COLUMNS", "NDRIVE", "SCALAR_COLUMNS",
           "NSCALAR", "KERNELS", "TERM_DEFINES", "MRAM_TERMS", "OPTION_DEFINES", "source_path", "defines_for",
           "assemble", "source_hash"]
