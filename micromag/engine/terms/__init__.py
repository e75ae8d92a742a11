"""Physical terms: one file each, holding the declared parameters, field, energy density and energy together.

Every term follows the contract of :mod:`micromag.engine.terms.base` and has one name (``Term.name``): the key in
``sim.terms``, in ``REGISTRY`` and in the table columns, and the prefix of its CUDA device function.

Adding a term
-------------
1. ``micromag/engine/terms/<name>.py``: a subclass of :class:`~micromag.engine.terms.base.Term` (or ``TorqueTerm``) with
   ``name``, ``kernel = "<name>.cuh"``, ``kind``, ``energy_rule`` and ``parameters`` (:class:`~.base.Param`
   declarations: name, SI unit, kind, range), its NumPy ``add_field``/``add_torque`` (``energy_density``
   only for the "custom" energy rule; the others follow from the field), ``prepare()`` for what depends on
   material parameters, and the device inputs it declared (``device_patterns``, ``device_constants``,
   ``device_drives``, ``host_dynamic``).
2. ``gpu_kernels/<name>.cuh``: ``vec3 <name>_field(const Cell& x)`` (or ``<name>_torque``), reading its
   inputs through the generated names ``MM_P_<PARAM>`` (material), ``MM_D_<NAME>_<PARAM>`` (drive),
   ``MM_S_<NAME>_<PARAM>`` (constant) and ``MM_PTR_<NAME>_<PARAM>`` (pattern) — see ``gpu_kernels/common.cuh``.
3. One line in ``REGISTRY`` below (name → module and class), or ``register(cls)`` for a plug-in.

Nothing else changes. Derived from the declarations: the GPU backend (``micromag/engine/backends/cuda.py``) and the
kernel assembly (``gpu_kernels.layout``); :class:`~micromag.Material`'s fields, their validation and
documentation (a new MATERIAL parameter is a new keyword of ``Material``); the per-region tables of
:class:`~micromag.System`; the NumPy energy (``energy_rule``); the field scales the run-time guard reports
(:meth:`~.base.Term.field_scale`); which terms an energy-barrier clone rebuilds; the tables of material
parameters and terms in README.md and gpu_kernels/README.md (for a term in ``REGISTRY``, rewrite them with
``python -m micromag.engine.terms``; tests/test_materials.py checks them). ``tests/test_term_contract.py`` adds a
term with a new material parameter this way on both backends.

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
    "dmi": ("dmi", "DMI"),
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
_LISTENERS = []  # callbacks run after register()/unregister() (what derives from the registry rebuilds)


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
    known = {p.name: (p, owner) for p, owner in declared_material_parameters() if owner != cls.name}
    for p in cls.material_parameters():
        if p.name in known and known[p.name][0] != p:
            raise ValueError(f"term {cls.name!r} declares the material parameter {p.name!r} differently from term "
                             f"{known[p.name][1]!r} ({known[p.name][0]}): give it another name or the same declaration")
    previous = _EXTRA.get(cls.name)
    _EXTRA[cls.name] = cls
    try:
        _changed()
    except Exception:  # what derives from the registry refused the term: leave the registry as it was
        if previous is None:
            del _EXTRA[cls.name]
        else:
            _EXTRA[cls.name] = previous
        _changed()
        raise
    return cls


def unregister(name):
    """Remove a term registered with :func:`register` (the built-in ones stay)."""
    if name in REGISTRY:
        raise ValueError(f"{name!r} is a built-in term (REGISTRY); only plug-in terms can be unregistered")
    if _EXTRA.pop(name, None) is None:
        raise KeyError(f"no plug-in term {name!r}; registered plug-ins: {sorted(_EXTRA)}")
    _changed()


def on_change(callback):
    """Call ``callback()`` after every :func:`register` / :func:`unregister` (what is derived from the
    declarations, such as :class:`~micromag.Material`'s fields, rebuilds itself this way)."""
    _LISTENERS.append(callback)


def _changed():
    for callback in _LISTENERS:
        callback()


def registered():
    """Every registered term class, in evaluation order."""
    return [term_class(n) for n in list(REGISTRY) + [n for n in _EXTRA if n not in REGISTRY]]


def order_of(name):
    """Position of a term name in the evaluation order (unregistered names go last)."""
    names = list(REGISTRY) + [n for n in _EXTRA if n not in REGISTRY]
    return names.index(name) if name in names else len(names)


def declared_material_parameters():
    """[(Param, owner)]: every material parameter (kind MATERIAL) once, with the name of what declares it
    first ("llg" for the LLG's Ms, alpha, gamma; else the term's name), in the order of
    :func:`material_parameters`."""
    from ..llg import LLG

    out, seen = [], set()
    for owner in [LLG] + registered():
        for p in owner.parameters:
            if p.kind == MATERIAL and p.name not in seen:
                seen.add(p.name)
                out.append((p, "llg" if owner is LLG else owner.name))
    return out


def material_parameters():
    """The material parameters (:class:`Param`, kind MATERIAL) of the LLG and of every registered term,
    in a fixed order: the columns of the material table, the fields of :class:`~micromag.Material` and what
    it validates."""
    return [p for p, _ in declared_material_parameters()]


def term_table():
    """The registered terms as a Markdown table (the READMEs' term lists, checked by a test): name, class,
    kind, energy rule, its material parameters, its other declared inputs (drives, constants, patterns) and
    its CUDA file."""
    rows = ["| term | class | kind | energy | material parameters | other inputs | kernel |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for cls in registered():
        mats = ", ".join(f"`{p.name}` ({p.unit or '1'})" for p in cls.material_parameters()) or "—"
        other = ", ".join(f"{p.kind} `{p.name}`" for p in cls.parameters if p.kind != MATERIAL) or "—"
        kernel = f"`{cls.kernel}`" if cls.kernel else "none (CPU only)"
        rows.append(f"| `{cls.name}` | `{cls.__name__}` | {cls.kind} | {cls.energy_rule or 'none'} | {mats} | {other} "
                    f"| {kernel} |")
    return "\n".join(rows)


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
