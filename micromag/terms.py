"""``micromag.terms``: the term contract under its public name, for plug-in terms and ``python -m micromag.terms``.

The terms live in :mod:`micromag.engine.terms` (one file each, with the contract in ``base.py``); this module
gives every public name of that package under the documented path: ``Term``, ``TorqueTerm``, ``Param`` and
the kinds ``MATERIAL``/``PATTERN``/``DRIVE``/``CONSTANT``, ``register``/``unregister``, ``REGISTRY``,
``term_class``, ``material_parameters``, ``term_table`` and the term classes (``Demag``, ``SpinOrbitTorque``,
...), the same objects as the engine's. Submodules are imported by their engine path
(``micromag.engine.terms.base``, ``micromag.engine.terms.stencil``).

``python -m micromag.terms`` rewrites the tables generated from the registry in README.md and
gpu_kernels/README.md.
"""
from __future__ import annotations

import sys

from .engine import terms as _engine_terms


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(f"module 'micromag.terms' has no attribute {name!r}")
    return getattr(_engine_terms, name)


def __dir__():
    return sorted(n for n in dir(_engine_terms) if not n.startswith("_"))


if __name__ == "__main__":
    from .engine.terms.__main__ import main

    main(*sys.argv[1:])
