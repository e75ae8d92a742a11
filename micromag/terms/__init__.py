"""Physical terms: one file each, holding parameters, field, energy density and energy together.

The registry below decides which terms a simulation needs from its materials. Adding a term means: its
file here, its CUDA device function in ``gpu_kernels/``, and one entry in ``REGISTRY``.
"""
from __future__ import annotations

from .base import Term  # noqa: F401


def _demag(system, demag=True, **kw):
    if not demag:
        return None
    from .demag import Demag

    return Demag(system)


def _exchange(system, **kw):
    if not system.any_nonzero("A"):
        return None
    from .exchange import Exchange

    return Exchange(system)


def _uniaxial(system, **kw):
    if not system.any_nonzero("Ku1"):
        return None
    from .anisotropy import UniaxialAnisotropy

    return UniaxialAnisotropy(system)


def _cubic(system, **kw):
    if not (system.any_nonzero("Kc1") or system.any_nonzero("Kc2")):
        return None
    from .anisotropy import CubicAnisotropy

    return CubicAnisotropy(system)


def _dmi(system, **kw):
    if not system.any_nonzero("D_ind"):
        return None
    from .dmi import InterfacialDMI

    return InterfacialDMI(system)


def _zeeman(system, **kw):
    from .zeeman import Zeeman

    return Zeeman(system)


# Order matters only for readability of tables: demag first, then each term adds into the same buffer.
REGISTRY = {
    "demag": _demag,
    "exchange": _exchange,
    "anisotropy_uniaxial": _uniaxial,
    "anisotropy_cubic": _cubic,
    "dmi": _dmi,
    "zeeman": _zeeman,
}


def build_terms(system, **options):
    """The active terms of ``system`` as an ordered dict {name: term}."""
    terms = {}
    for name, make in REGISTRY.items():
        term = make(system, **options)
        if term is not None:
            terms[name] = term
    return terms


def __getattr__(name):
    # the term classes, imported on first use (the demag kernel pulls in scipy.fft)
    where = {"Exchange": "exchange", "Demag": "demag", "UniaxialAnisotropy": "anisotropy",
             "CubicAnisotropy": "anisotropy", "InterfacialDMI": "dmi", "Zeeman": "zeeman",
             "ThermalField": "thermal", "SpinOrbitTorque": "sot", "OerstedField": "oersted",
             "SlonczewskiSTT": "stt", "ZhangLiSTT": "zhangli", "VCMA": "vcma"}
    if name in where:
        import importlib

        return getattr(importlib.import_module(f".{where[name]}", __name__), name)
    raise AttributeError(name)
