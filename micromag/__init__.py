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
from .engine.terms import (  # noqa: F401  the device terms, for sim.add(...)
    SpinOrbitTorque, OerstedField, SlonczewskiSTT, ZhangLiSTT, VCMA,
)
from .engine.mesh import Geometry, MeshError, MeshShape, from_mesh, regions_from_mesh  # noqa: F401
from .engine.batch import Batch, Threshold  # noqa: F401
from .engine.guard import SimulationDiverged  # noqa: F401
from .engine.terms import Param, Term, TorqueTerm, register  # noqa: F401  the term contract, for plug-in terms
from .engine import terms  # noqa: F401  mm.terms; import micromag.terms: the same names (micromag/terms.py)
from .engine.cost import TooLong  # noqa: F401  a run refused before it starts (its estimate is in the message)
from .engine.terms import InterlayerExchange  # noqa: F401

# The applications (micromag.apps) are imported when first named: `import micromag` for a simulation then
# loads the engine only (0.1-0.2 s less of every script's start-up).
_APPS = {
    "MeasuredTemperatureDependence": ("temperature", "MeasuredTemperatureDependence"),
    "MTJ": ("readout", "MTJ"), "SwitchDetector": ("readout", "SwitchDetector"),
    "sweep": ("sweep", "sweep"),  # the function; the module stays importable as micromag.apps.sweep
    "devices": ("devices", None), "SOTCell": ("devices", "SOTCell"), "MTJCell": ("devices", "MTJCell"),
    "STTCell": ("devices", "STTCell"), "VCMACell": ("devices", "VCMACell"), "MTJSpec": ("devices", "MTJSpec"),
    "barrier": ("barrier", None), "retention": ("retention", None),
    "EnergyPath": ("barrier", "EnergyPath"), "energy_barrier": ("barrier", "energy_barrier"),
    "cell_report": ("cellreport", "cell_report"),
    "Coupling": ("stack", "Coupling"), "Stack": ("stack", "Stack"), "StackLayer": ("stack", "StackLayer"),
    "stack_report": ("stack_report", None),  # multilayer pillars: what they do
    "design_search": ("design", "design_search"),
}


def __getattr__(name):
    if name not in _APPS:
        raise AttributeError(f"module 'micromag' has no attribute {name!r}")
    import importlib

    module, attr = _APPS[name]
    obj = importlib.import_module(f".apps.{module}", __name__)
    value = obj if attr is None else getattr(obj, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_APPS))
