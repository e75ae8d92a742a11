"""The engine: everything a simulation is made of, and nothing built on top of it.

Grid, geometry and meshes, materials, the physical terms (``terms/``, one file each, declared once), the LLG
right-hand side, the integrators, ``Simulation`` (construction, run loop, output), relax/minimize, batches of
members in one state array, the backends (NumPy, CUDA and its host emulation) and the kernels' host side,
file I/O, and the checks every entry point shares (``validation``, ``guard``, ``cost``, ``memory``).

The engine imports nothing from :mod:`micromag.apps` (tests/test_architecture.py checks it, function-level
imports included); the applications import the engine.
"""

__version__ = "0.1.0"
