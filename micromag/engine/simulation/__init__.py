"""The Simulation: one class, written in one module per concern.

``core``         construction, the state and its public API, materials and parameters, terms, observables
``checkpoints``  save_checkpoint / load_checkpoint / restore_checkpoint
``noise``        temperature, seed and the noise streams of the members
``evolution``    step, run (its loop and schedule of rows and snapshots), run_cost, relax, minimize
``output``       the table and the snapshot series of a run, save_ovf
"""
from .core import FIXED_AFTER_BUILD, State, Simulation  # noqa: F401
