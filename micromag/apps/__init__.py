"""The applications built on the engine (:mod:`micromag.engine`): MRAM devices and their readout, the cell
sign-off report, energy barriers, retention, temperature and corner studies, array statistics, write-error
fits, multilayer stacks and the design search, sweeps on one machine or a cluster, the validation suite,
the Ubermag calculator, plots, ParaView and the command line.

Applications import the engine and each other, never the other way round (tests/test_architecture.py).
"""
