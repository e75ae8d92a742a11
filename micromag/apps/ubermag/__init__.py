"""micromag as an Ubermag calculator: ``import micromag.apps.ubermag as mc``.

Ubermag (micromagneticmodel + discretisedfield) describes a system once; a calculator drives it. This one
runs micromag (CPU, GPU or the emulated GPU) in the Python process, no external program::

    import discretisedfield as df
    import micromagneticmodel as mm
    import micromag.apps.ubermag as mc

    system = mm.System(name="sp4")
    system.energy = mm.Exchange(A=1.3e-11) + mm.Demag()
    system.dynamics = mm.Precession(gamma0=2.211e5) + mm.Damping(alpha=0.02)
    system.m = df.Field(df.Mesh(p1=(0, 0, 0), p2=(500e-9, 125e-9, 3e-9), cell=(5e-9, 5e-9, 3e-9)),
                        nvdim=3, value=(1, 0.25, 0.1), norm=8e5)
    mc.MinDriver().drive(system)                  # system.m and system.table updated
    system.energy += mm.Zeeman(H=(-24.6e-3 / mm.consts.mu0, 4.3e-3 / mm.consts.mu0, 0))
    mc.TimeDriver().drive(system, t=1e-9, n=200)  # backend="cpu" | "gpu" | "emulate"; default "auto"
    mc.compute(system.energy.demag.energy, system)
    mc.delete(system)

Drivers: :class:`MinDriver`, :class:`RelaxDriver`, :class:`TimeDriver`, :class:`HysteresisDriver`
(:mod:`.drivers`); evolvers: :mod:`.evolvers`; the translation of each Ubermag term and its units:
:mod:`._model`. Installed with the extra ``pip install "micromag[ubermag]"``.
"""
from __future__ import annotations

from .compute import compute, delete
from .drivers import Driver, HysteresisDriver, MinDriver, RelaxDriver, TimeDriver
from .evolvers import (CGEvolver, EulerEvolver, Evolver, RungeKuttaEvolver, SpinTEvolver, SpinXferEvolver,
                       UHH_ThetaEvolver, Xf_ThermHeunEvolver, Xf_ThermSpinXferEvolver)

__all__ = ["compute", "delete", "Driver", "MinDriver", "RelaxDriver", "TimeDriver", "HysteresisDriver", "Evolver",
           "CGEvolver", "RungeKuttaEvolver", "EulerEvolver", "SpinTEvolver", "SpinXferEvolver", "UHH_ThetaEvolver",
           "Xf_ThermHeunEvolver", "Xf_ThermSpinXferEvolver"]
