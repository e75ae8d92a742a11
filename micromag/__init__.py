"""micromag: finite-difference micromagnetics for MRAM devices."""

# OpenMP worker threads (FFTW's and Numba's, two runtimes) sleep between parallel regions instead of spinning:
# on a 2-core machine spinning workers steal the cores from the demag convolution's block threads
# (one 512x512 right-hand side: 35 ms spinning, 20 ms passive). Set before either runtime loads; a user's
# own OMP_WAIT_POLICY wins. The thread counts of every pool: micromag.threads.
from .threads import configure_environment as _configure_threads

_configure_threads()
from .constants import mu0  # noqa: F401
from .grid import Grid  # noqa: F401
from .materials import Material, Permalloy, CoFeB, CoFeB_perpendicular, Cobalt, Iron, YIG  # noqa: F401
from .temperature import MeasuredTemperatureDependence  # noqa: F401
from .system import System  # noqa: F401

__version__ = "0.1.0"
from .geometry import (  # noqa: F401
    Box, Ellipse, Cylinder, Polygon, Ellipsoid, Layer, HalfSpace, Universe, Empty,
    union, intersection, difference, complement, rotation_matrix,
)
from .simulation import Simulation  # noqa: F401
from .io.ovf import OvfError, load_ovf, read_ovf, write_ovf  # noqa: F401
from . import drives  # noqa: F401
from .drives import DC, Pulse, Sequence  # noqa: F401
from .heavy_metal import HeavyMetal, BetaW, Pt, Ta, WriteLine  # noqa: F401
from .readout import MTJ, SwitchDetector  # noqa: F401
from .terms import (  # noqa: F401  the device terms, for sim.add(...)
    SpinOrbitTorque, OerstedField, SlonczewskiSTT, ZhangLiSTT, VCMA,
)
from .mesh import Geometry, MeshError, MeshShape, from_mesh, regions_from_mesh  # noqa: F401
from .batch import Batch, Threshold  # noqa: F401
from .sweep import sweep  # noqa: F401  (the function; the module stays importable as micromag.sweep)
from . import devices  # noqa: F401
from .devices import SOTCell, MTJCell, STTCell, VCMACell, MTJSpec  # noqa: F401
from . import barrier, retention  # noqa: F401
from .barrier import EnergyPath, energy_barrier  # noqa: F401
from .cellreport import cell_report  # noqa: F401
from .guard import SimulationDiverged  # noqa: F401
from .terms import Param, Term, TorqueTerm, register  # noqa: F401  the term contract, for plug-in terms
from .cost import TooLong  # noqa: F401  a run refused before it starts (its estimate is in the message)
from .terms import InterlayerExchange  # noqa: F401
from .stack import Coupling, Stack, StackLayer  # noqa: F401  multilayer pillars (micromag.stack_report: what they do)
from . import stack_report  # noqa: F401
from .design import design_search  # noqa: F401
