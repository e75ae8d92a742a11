"""CUDA C sources of micromag's GPU backend, and the helpers that assemble a compilable kernel source.

The files here are the kernels' single source of truth: the CuPy backend compiles them with NVRTC, the CI
compiles them with NVRTC without a GPU (``tests/test_kernels_nvrtc.py``) and runs them on the CPU through
the host emulation (``micromag.engine.emulation``, ``tests/test_kernels_emulation.py``). See README.md.

Nothing about a physical term is written here: :func:`layout` derives the kernel's tables (material
columns, drive and constant columns, pattern pointer slots, option switches, the X-macro lists of field and
torque terms) from the terms' own declarations (``micromag.engine.terms.base.Param``), and :func:`assemble`
prepends them as ``#define`` lines and inlines the term files. Adding a term never touches this file.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
"""Directory holding the ``.cu`` / ``.cuh`` files."""

# Kernel source files and the kernels (extern "C" __global__ functions) each defines.
KERNELS = {
    "llg_rhs.cu": ("llg_rhs", "llg_observe"),
    "rk_stage.cu": ("rk_begin", "rk_stage", "rk_finish"),
    "demag_multiply.cu": ("demag_source", "demag_multiply_planes"),
    "thermal_noise.cu": ("thermal_noise", "noise_normals"),
}

# Option switches that are not a term's: MM_DOUBLE (real = double), MM_WRITE_FIELD (llg_rhs also writes
# B_eff), MM_PARAMS_PER_MEMBER (one material table per member: time-dependent parameters).
GLOBAL_OPTIONS = ("MM_DOUBLE", "MM_WRITE_FIELD", "MM_PARAMS_PER_MEMBER")

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.M)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\([A-Za-z_][A-Za-z0-9_]*\))?")


def source_path(name) -> Path:
    """The file of kernel source ``name``: a file in this directory, or an absolute path (a term defined
    outside the package keeps its kernel file next to its Python file)."""
    p = Path(name)
    if not p.is_absolute():
        p = SOURCE_DIR / name
    if not p.is_file():
        raise FileNotFoundError(f"no kernel source {name!r} (looked in {SOURCE_DIR})")
    return p


def _inline(name, seen, cache):
    text = cache.get(name)
    if text is None:
        text = cache[name] = source_path(name).read_text().replace("#pragma once", "")

    def repl(mo):
        inc = mo.group(1)
        if inc in seen:
            return f"// (already included: {inc})"
        seen.add(inc)
        return f"// ---- begin {inc}\n{_inline(inc, seen, cache)}\n// ---- end {inc}"

    return _INCLUDE.sub(repl, text)


_FILES = {}  # file text cache: the sources do not change while a process runs


# ---------------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Layout:
    """The kernel tables of one set of active terms (see :func:`layout`).

    ``params``   material column of every declared material parameter: {name: (first column, size)}
    ``drives``   {(term, param): (first column, size)} of the per-member drive table
    ``consts``   {(term, param): (first column, size)} of the term-constant array
    ``slots``    {(term, param): slot} of the pattern pointer table
    ``terms``    ((name, kind, energy rule, kernel file), ...) in evaluation order
    ``options``  the defines switched on (term options and global ones)
    """

    params: dict
    drives: dict
    consts: dict
    slots: dict
    terms: tuple
    options: tuple
    neighbours: bool
    nparam: int
    ndrive: int
    nconst: int
    nslot: int
    key: tuple = field(default=(), compare=False)

    @property
    def field_terms(self):
        return [t for t in self.terms if t[1] == "field"]

    @property
    def torque_terms(self):
        return [t for t in self.terms if t[1] == "torque"]

    @property
    def energy_terms(self):
        """Names of the terms whose energy the observe kernel computes, in the order of its output."""
        return [t[0] for t in self.terms if t[1] == "field" and t[2] is not None]

    def defines(self):
        """The layout as a {define: value} dict (what :func:`assemble` prepends)."""
        d = {"MM_NPARAM": self.nparam, "MM_NDRIVE": max(self.ndrive, 1), "MM_NCONST": max(self.nconst, 1),
             "MM_NSLOT": max(self.nslot, 1), "MM_NENERGY": len(self.energy_terms)}
        for name, (col, _) in self.params.items():
            d[f"MM_P_{name.upper()}"] = col
        for (t, p), (col, _) in self.drives.items():
            d[f"MM_D_{t.upper()}_{p.upper()}"] = col
        for (t, p), (col, _) in self.consts.items():
            d[f"MM_S_{t.upper()}_{p.upper()}"] = col
        for (t, p), slot in self.slots.items():
            d[f"MM_PTR_{t.upper()}_{p.upper()}"] = slot
        for name, kind, rule, _ in self.terms:
            d[f"MM_HAS_{name.upper()}"] = 1
        for o in self.options:
            d[o] = 1
        if self.neighbours:
            d["MM_NEED_NEIGHBOURS"] = 1
        if self.torque_terms:
            d["MM_HAS_TORQUES"] = 1
        d["MM_FIELD_TERMS(X)"] = " ".join(f"X({n})" for n, *_ in self.field_terms) or "/* none */"
        d["MM_TORQUE_TERMS(X)"] = " ".join(f"X({n})" for n, *_ in self.torque_terms) or "/* none */"
        d["MM_FIELDS_NO_ENERGY(X)"] = " ".join(f"X({n})" for n, k, rule, _ in self.field_terms
                                                if rule is None) or "/* none */"
        d["MM_ENERGY_TERMS(X)"] = " ".join(
            f"X({i}, {n}, {rule})" for i, (n, kind, rule, _) in enumerate(
                t for t in self.field_terms if t[2] is not None)) or "/* none */"
        return d

    @property
    def includes(self):
        """The term kernel files, in evaluation order (inlined into llg_rhs.cu)."""
        return tuple(dict.fromkeys(t[3] for t in self.terms))


def layout(term_classes_and_options, material_params):
    """The :class:`Layout` of active terms.

    ``term_classes_and_options``: [(term class or instance, options)] in evaluation order, where options are
    the names from the term's ``options`` switched on (define ``MM_<TERM>_<OPTION>``).
    ``material_params``: the ordered material :class:`~micromag.engine.terms.base.Param` declarations of every
    registered term and the LLG (the table has the same columns whatever is active)."""
    params, col = {}, 0
    for p in material_params:
        params[p.name] = (col, p.size)
        col += p.size
    drives, consts, slots, terms, options = {}, {}, {}, [], []
    nd = nc = ns = 0
    neighbours = False
    for term, opts in term_classes_and_options:
        name = term.name
        if term.kernel is None:
            raise ValueError(f"term {name!r} has no CUDA kernel (kernel = None)")
        for p in term.parameters:
            key = (name, p.name)
            if p.kind == "drive":
                drives[key] = (nd, p.size)
                nd += p.size
            elif p.kind == "constant":
                consts[key] = (nc, p.size)
                nc += p.size
            elif p.kind == "pattern":
                slots[key] = ns
                ns += 1
        for o in opts:
            if o not in term.options:
                raise ValueError(f"term {name!r} has no kernel option {o!r} (declared: {term.options})")
            options.append(f"MM_{name.upper()}_{o.upper()}")
        neighbours = neighbours or bool(term.needs_neighbours)
        terms.append((name, term.kind, term.energy_rule, term.kernel))
    key = (tuple(terms), tuple(options), tuple((p.name, p.size) for p in material_params))
    return Layout(params, drives, consts, slots, tuple(terms), tuple(options), neighbours, col, nd, nc, ns, key)


# ---------------------------------------------------------------------------------------------- sources
def assemble(name, defines=None, includes=()) -> str:
    """The full source of kernel file ``name`` with ``defines`` (dict name -> value, or names; function-like
    macros such as ``MM_FIELD_TERMS(X)`` allowed) prepended, the term files ``includes`` inserted at the
    ``// @terms`` line, and every local include inlined once: the exact text NVRTC and the emulation compile."""
    if defines is None:
        defines = {}
    elif not isinstance(defines, dict):
        defines = {k: 1 for k in defines}
    head = [f"// micromag kernel source {name} (assembled by gpu_kernels.assemble)"]
    for k in sorted(defines):
        if not _NAME.fullmatch(k):
            raise ValueError(f"bad define name {k!r}")
        head.append(f"#define {k} {defines[k]}")
    text = source_path(name).read_text()
    if includes:
        if "// @terms" not in text:
            raise ValueError(f"{name} has no '// @terms' line for the term files")
        text = text.replace("// @terms", "\n".join(f'#include "{f}"' for f in includes))
    _FILES[name] = text
    body = _inline(name, {name}, _FILES)
    _FILES.pop(name, None)
    return "\n".join(head) + "\n" + body + "\n"


def real_define(dtype):
    """{"MM_DOUBLE": 1} for float64, {} for float32 (ValueError otherwise)."""
    import numpy as np

    dt = np.dtype(dtype)
    if dt == np.float64:
        return {"MM_DOUBLE": 1}
    if dt == np.float32:
        return {}
    raise ValueError(f"kernel real type must be float32 or float64, got {dt}")


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:20]


__all__ = ["SOURCE_DIR", "KERNELS", "GLOBAL_OPTIONS", "Layout", "layout", "source_path", "assemble",
           "real_define", "source_hash"]
