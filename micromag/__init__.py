"""micromag: finite-difference micromagnetics for MRAM devices."""

# OpenMP worker threads (FFTW's and Numba's, two runtimes) sleep between parallel regions instead of spinning:
# on a 2-core machine spinning workers steal the cores from the demag convolution's block threads
# (one 512x512 right-hand side: 35 ms spinning, 20 ms passive). Set before either runtime loads; a user's
# own OMP_WAIT_POLICY wins. The thread counts of every pool: micromag.engine.threads.
from .engine.threads import configure_environment as _configure_threads

_configure_threads()
from .engine.constants import mu0  # noqa: F401
from .engine.grid import Grid  # noqa: F401
from .engine.materials import Material, Permalloy, CoFeB, CoFeB_perpendicular, Cobalt, Iron, YIG  # noqa: F401
from .apps.temperature import MeasuredTemperatureDependence  # noqa: F401
from .engine.system import System  # noqa: F401

from .engine import __version__  # noqa: F401
from .engine.geometry import (  # noqa: F401
    Box, Ellipse, Cylinder, Polygon, Ellipsoid, Layer, HalfSpace, Universe, Empty,
    union, intersection, difference, complement, rotation_matrix,
)
from .engine.simulation import Simulation  # noqa: F401
from .engine.io.ovf import OvfError, load_ovf, read_ovf, write_ovf  # noqa: F401
from .engine import drives  # noqa: F401
from .engine.drives import DC, Pulse, Sequence  # noqa: F401
from .engine.heavy_metal import HeavyMetal, BetaW, Pt, Ta, WriteLine  # noqa: F401
from .apps.readout import MTJ, SwitchDetector  # noqa: F401
from .engine.terms import (  # noqa: F401  the device terms, for sim.add(...)
    SpinOrbitTorque, OerstedField, SlonczewskiSTT, ZhangLiSTT, VCMA,
)
from .engine.mesh import Geometry, MeshError, MeshShape, from_mesh, regions_from_mesh  # noqa: F401
from .engine.batch import Batch, Threshold  # noqa: F401
from .apps.sweep import sweep  # noqa: F401  (the function; the module stays importable as micromag.apps.sweep)
from .apps import devices  # noqa: F401
from .apps.devices import SOTCell, MTJCell, STTCell, VCMACell, MTJSpec  # noqa: F401
from .apps import barrier, retention  # noqa: F401
from .apps.barrier import EnergyPath, energy_barrier  # noqa: F401
from .apps.cellreport import cell_report  # noqa: F401
from .engine.guard import SimulationDiverged  # noqa: F401
from .engine.terms import Param, Term, TorqueTerm, register  # noqa: F401  the term contract, for plug-in terms
from .engine import terms  # noqa: F401  mm.terms; import micromag.terms: the same names (micromag/terms.py)
from .engine.cost import TooLong  # noqa: F401  a run refused before it starts (its estimate is in the message)
from .engine.terms import InterlayerExchange  # noqa: F401
from .apps.stack import Coupling, Stack, StackLayer  # noqa: F401  multilayer pillars (micromag.apps.stack_report: what they do)
from .apps import stack_report  # noqa: F401
from .apps.design import design_search  # noqa: F401
