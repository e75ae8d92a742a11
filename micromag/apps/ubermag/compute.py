"""``compute(func, system)`` and ``delete(system)``, as oommfc and mumax3c have them."""
from __future__ import annotations

import datetime
import json
import os
import shutil

import discretisedfield as df
import micromagneticmodel as mm
import ubermagutil as uu

from ._model import MU0, Model, to_df


def _new_run_folder(system, dirname, mode, append):
    """``<dirname>/<system.name>/<mode>-<N>``, N one past the highest existing (0 for the first), created;
    ``system.<mode>_number`` set to N. The layout of micromagneticmodel's drivers (its ExternalDriver does
    the same in a private helper); with ``append=False`` an existing system folder is an error."""
    import pathlib

    system_dir = pathlib.Path(dirname, system.name)
    if system_dir.exists() and not append:
        raise FileExistsError(f"Directory {system.name=} already exists. To append drives to it, pass append=True.")
    numbers = [int(p.name.split("-")[1]) for p in system_dir.glob(f"{mode}-*") if p.name.split("-")[1].isdigit()]
    n = max(numbers) + 1 if numbers else 0
    setattr(system, f"{mode}_number", n)
    workdir = system_dir / f"{mode}-{n}"
    workdir.mkdir(parents=True)
    return workdir


def compute(func, system, /, dirname=".", append=True, backend="auto", verbose=1, **kwargs):
    """The value of ``func`` for ``system`` at its present magnetization.

    ``func`` is ``energy``, ``density`` or ``effective_field`` of an energy term (``system.energy.zeeman``)
    or of the whole energy (``system.energy``). Returns the energy in J (float), the energy density in J/m³
    (a scalar ``discretisedfield.Field``) or the effective field H_eff in A/m (a vector field), on
    ``system.m.mesh`` (subregions kept). Each call makes a folder ``<dirname>/<name>/compute-<N>`` with an
    ``info.json`` of what was computed and the result (scalars) or its OVF file. ``kwargs`` accepts
    oommfc's ``n_threads``, ``runner`` and ``ovf_format`` (no effect here).
    """
    what = getattr(func, "__name__", None)
    owner = getattr(func, "__self__", None)
    if what not in ("energy", "density", "effective_field") or not isinstance(owner, (mm.Energy, mm.EnergyTerm)):
        raise ValueError(f"Computing the value of {func} is not supported: pass energy, density or "
                         "effective_field of system.energy or of one of its terms")
    unknown = sorted(k for k in kwargs if k not in ("n_threads", "runner", "ovf_format"))
    if unknown:
        raise TypeError(f"compute() got unexpected arguments {unknown}")
    name = None if isinstance(owner, mm.Energy) else owner.name
    if name is not None and name not in [t.name for t in system.energy]:
        raise ValueError(f"{name!r} is not an energy term of this system")
    workdir = _new_run_folder(system, dirname, "compute", append)
    model = Model(system, backend=backend, dynamics=False)
    if what == "energy":
        result = model.term_energy(name)
        out = {"value": result, "unit": "J"}
    elif what == "density":
        result = df.Field(system.m.mesh, nvdim=1, value=to_df(model.term_energy_density(name)))
        out = {"unit": "J/m^3", "file": "density.ovf"}
    else:
        result = df.Field(system.m.mesh, nvdim=3, value=to_df(model.term_field(name) / MU0))
        out = {"unit": "A/m", "file": "effective_field.ovf"}
    with uu.changedir(workdir):
        if "file" in out:
            result.to_file(out["file"])
        info = {"compute_number": system.compute_number, "adapter": "micromag.apps.ubermag",
                "date": datetime.datetime.now().isoformat(timespec="seconds"),
                "func": f"{'energy' if name is None else name}.{what}", "backend": model.backend, **out}
        with open("info.json", "w", encoding="utf-8") as f:
            json.dump(info, f)
    return result


def delete(system, silent=False):
    """Delete the folder ``<system.name>`` with every drive and compute of ``system`` (in the working
    directory) and reset ``system.drive_number``. A missing folder is FileNotFoundError unless ``silent``."""
    if os.path.exists(system.name):
        shutil.rmtree(system.name)
        system.drive_number = 0
    elif not silent:
        raise FileNotFoundError(f"Directory {system.name} does not exist.")
