"""Physical terms: one file each, holding the declared parameters, field, energy density and energy together.

Every term follows the contract of :mod:`micromag.terms.base` and has one name (``Term.name``): the key in
``sim.terms``, in ``REGISTRY`` and in the table columns, and the prefix of its CUDA device function.

Adding a term
-------------
1. ``micromag/terms/<name>.py``: a subclass of :class:`~micromag.terms.base.Term` (or ``TorqueTerm``) with
   ``name``, ``kernel = "<name>.cuh"``, ``kind``, ``energy`` and ``parameters`` (:class:`~.base.Param`
   declarations: name, SI unit, kind, range), its NumPy ``add_field``/``add_torque`` and
   ``energy_density``, ``prepare()`` for what depends on material parameters, and the device inputs it
   declared (``device_patterns``, ``device_constants``, ``device_drives``, ``host_dynamic``).
2. ``gpu_kernels/<name>.cuh``: ``vec3 <name>_field(const Cell& x)`` (or ``<name>_torque``), reading its
   inputs through the generated names ``MM_P_<PARAM>`` (material), ``MM_D_<NAME>_<PARAM>`` (drive),
   ``MM_S_<NAME>_<PARAM>`` (constant) and ``MM_PTR_<NAME>_<PARAM>`` (pattern) — see ``gpu_kernels/common.cuh``.
3. One line in ``REGISTRY`` below (name → module and class).

Nothing else changes: the GPU backend (``micromag/backends/cuda.py``) and the kernel assembly
(``gpu_kernels.layout``) read only the declarations and the public device inputs.
``tests/test_term_contract.py`` adds a term this way on both backends.

A term with an ``auto(system, **options)`` class method is built automatically from the materials (it
returns None where it is not needed); the others are added by the user (``sim.add(...)``).
"""
from __future__ import annotations

import importlib

from .base import CONSTANT, DRIVE, MATERIAL, PATTERN, Param, Term, TorqueTerm  # noqa: F401

# name -> (module, class), in evaluation order (demag first, then each field term adds into the same B).
REGISTRY = {
    "demag": ("demag", "Demag"),
    "exchange": ("exchange", "Exchange"),
    "anisotropy_uniaxial": ("anisotropy", "UniaxialAnisotropy"),
    "anisotropy_cubic": ("anisotropy", "CubicAnisotropy"),
    "dmi": ("dmi", "InterfacialDMI"),
    "zeeman": ("zeeman", "Zeeman"),
    "oersted": ("oersted", "OerstedField"),
    "vcma": ("vcma", "VCMA"),
    "thermal": ("thermal", "ThermalField"),
    "sot": ("sot", "SpinOrbitTorque"),
    "stt": ("stt", "SlonczewskiSTT"),
    "zhangli": ("zhangli", "ZhangLiSTT"),
    "interlayer": ("interlayer", "InterlayerExchange"),
}

_EXTRA = {}  # terms registered at run time (register())


def term_class(name):
    """The class registered under ``name``."""
    if name in _EXTRA:
        return _EXTRA[name]
    if name not in REGISTRY:
        raise KeyError(f"no term {name!r}; registered: {sorted(list(REGISTRY) + list(_EXTRA))}")
    mod, cls = REGISTRY[name]
    return getattr(importlib.import_module(f".{mod}", __name__), cls)


def register(cls):
    """Register a term class defined elsewhere (a plug-in; the built-in ones are in ``REGISTRY``)."""
    if not (isinstance(cls, type) and issubclass(cls, Term)):
        raise TypeError(f"register() takes a Term subclass, got {cls!r}")
    if cls.name in REGISTRY and term_class(cls.name) is not cls:
        raise ValueError(f"a term named {cls.name!r} is already registered")
    _EXTRA[cls.name] = cls
    return cls


def registered():
    """Every registered term class, in evaluation order."""
    return [term_class(n) for n in list(REGISTRY) + [n for n in _EXTRA if n not in REGISTRY]]


def order_of(name):
    """Position of a term name in the evaluation order (unregistered names go last)."""
    names = list(REGISTRY) + [n for n in _EXTRA if n not in REGISTRY]
    return names.index(name) if name in names else len(names)


def material_parameters():
    """The material parameters (:class:`Param`, kind MATERIAL) of the LLG and of every registered term,
    in a fixed order: the columns of the material table, and what :class:`~micromag.Material` validates."""
    from ..llg import LLG

    out, seen = [], set()
    for owner in [LLG] + registered():
        for p in owner.parameters:
            if p.kind == MATERIAL and p.name not in seen:
                seen.add(p.name)
                out.append(p)
    return out


def build_terms(system, **options):
    """The automatically needed terms of ``system`` (those with ``auto``) as an ordered dict {name: term}."""
    terms = {}
    for cls in registered():
        auto = getattr(cls, "auto", None)
        if auto is None:
            continue
        term = auto(system, **options)
        if term is not None:
            terms[cls.name] = term
    return terms


def __getattr__(name):
    # the term classes, imported on first use (the demag kernel pulls in scipy.fft)
    for key, (mod, cls) in REGISTRY.items():
        if cls == name:
            return term_class(key)
    raise AttributeError(name)
