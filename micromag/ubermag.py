"""``micromag.ubermag``: the Ubermag calculator under its documented name, ``import micromag.ubermag as mc``.

The calculator lives in :mod:`micromag.apps.ubermag` (drivers, evolvers, the translation of each Ubermag
term); this module gives its public names under the documented path, the same objects: ``MinDriver``,
``RelaxDriver``, ``TimeDriver``, ``HysteresisDriver``, ``compute``, ``delete`` and the evolvers.
"""
from __future__ import annotations

from .apps import ubermag as _calculator
from .apps.ubermag import *  # noqa: F401,F403
from .apps.ubermag import __all__  # noqa: F401


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(f"module 'micromag.ubermag' has no attribute {name!r}")
    return getattr(_calculator, name)
