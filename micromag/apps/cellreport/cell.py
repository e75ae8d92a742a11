"""The cell of a spec: its material set (and at a temperature), the device (SOT, STT or VCMA cell) built
from it, and the build functions of the stages and of the WER sweep."""
from __future__ import annotations

import json
import math

import numpy as np



def material_set(spec):
    """Every value of the free layer's material with its source (:func:`micromag.apps.provenance.material_sources`)."""
    from ..provenance import material_sources

    m = spec.data["material"]
    overrides = {k: spec.where("material", k) for k in m if k not in ("preset", "measured")}
    return material_sources(m["preset"], spec.material(), overrides)


def material_at(m, thickness, T=None):
    from ...engine import materials

    from ..temperature import MeasuredTemperatureDependence

    m = dict(m)
    preset = m.pop("preset")
    meas = m.pop("measured", None)
    if preset == "CoFeB_perpendicular":
        mat = materials.CoFeB_perpendicular(thickness=thickness, Ki=m.pop("Ki", 1.3e-3))
    else:
        mat = getattr(materials, preset)()
    mat = mat.with_(**m) if m else mat
    if meas:  # the measured film: its values at T_ref are the table's (the table must cover T_ref)
        tab = MeasuredTemperatureDependence(**meas)
        T_ref = tab.check_T(mat.T_ref, "the material's T_ref")
        A = tab.A_at(T_ref)
        mat = mat.with_(measured=tab, Ms=tab.Ms_at(T_ref), Ku1=tab.Ku1_at(T_ref), **({} if A is None else {"A": A}))
        return mat if T is None else mat.at(T)
    return mat if T is None or mat.Tc is None else mat.at(T)


def easy_axis_of(spec):
    """The easy axis in the grid frame: z, or x for an in-plane SOT element (turned onto the grid's x)."""
    return np.array([1.0, 0.0, 0.0]) if spec["cell"].get("easy_axis", "z") == "long" else np.array([0.0, 0.0, 1.0])


def make_device(spec, drive, T_material=None, temperature=None, batch=1, backend="auto", m0=None, tilt0_deg=0.0,
            pulse=None):
    """The micromag device builder of the spec (drive: a number, per-member array or a Drive)."""
    from .. import devices
    from ...engine import drives, geometry, heavy_metal

    c, w = spec["cell"], spec["write"]
    B0 = np.asarray(c.get("B_ext", (0.0, 0.0, 0.0)), float)  # [cell] B_ext: a uniform applied field, T
    mat = material_at(spec["material"], c["thickness"], T_material)
    size = (c["diameter"], c["diameter"]) if "diameter" in c else tuple(c["size"])
    mt = spec["mtj"]
    mtj = devices.MTJSpec(RA_P=mt["RA_P"], TMR=mt["TMR"], t_ox=mt["t_ox"], eps_r=mt["eps_r"], V_half=mt.get("V_half"))
    if pulse is not None:
        drive = drives.Pulse(drive, width=pulse, rise=w["rise"], start=w.get("_start", 0.0))
    if c["write"] in ("stt", "vcma"):
        kw = dict(size=size, thickness=c["thickness"], material=mat, cell=c["cell"], mtj=mtj, P=mt["P"],
                  Lambda=mt["Lambda"], m0_tilt_deg=tilt0_deg, temperature=temperature, batch=batch, backend=backend)
        if c["write"] == "stt":
            return devices.MTJCell(V=drive, stt=True, xi_vcma=0.0, B_ext=tuple(B0) if B0.any() else None, **kw)
        return devices.MTJCell(V=drive, stt=True, xi_vcma=spec["vcma"]["xi"],
                               B_ext=tuple(B0 + (spec["vcma"]["B_x"], 0, 0)), **kw)
    s = spec["sot"]
    hm = getattr(heavy_metal, s["heavy_metal"])(thickness=s["hm_thickness"])
    tilt = c["tilt_deg"]
    easy = c.get("easy_axis", "z")
    if m0 is None:  # the easy axis tilted by tilt0_deg towards the element's y
        a = math.radians(tilt0_deg)
        m0 = (0.0, math.sin(a), math.cos(a)) if easy == "z" else (math.cos(a), math.sin(a), 0.0)
    return devices.SOTCell(free_layer=geometry.Ellipse(size), thickness=c["thickness"], material=mat, heavy_metal=hm,
                           tilt_deg=tilt, rotation_deg=-tilt, easy_axis=easy, cell=c["cell"], mtj=mtj, J=drive,
                           xi_FL=s["xi_FL"], B_ext=tuple(B0 + (s["B_x"], 0.0, 0.0)), m0=m0, temperature=temperature,
                           batch=batch, backend=backend)


def build_cell(spec, drive=0.0, T_material=None, temperature=None, batch=1, backend="auto", tilt0_deg=0.0,
               pulse=None, **sim_options):
    """A Simulation of the cell of ``spec`` (a :class:`CellSpec` or its ``data``) with the write drive
    ``drive`` (V or A/m²; a Pulse of that amplitude when ``pulse`` s is given), the free layer's material at
    ``T_material`` K (None: as stored), thermal field at ``temperature`` K."""
    spec = getattr(spec, "data", spec)  # a CellSpec (spec.py) or its data
    dev = make_device(spec, drive, T_material, temperature, batch, backend, tilt0_deg=tilt0_deg, pulse=pulse)
    sim = dev.build(**sim_options)
    sim.device = dev
    return sim


def wer_build(cell, drive, T, pulse, delay, dt, backend="auto", batch=1):
    """The build function of the WER sweep (importable by name for the sweep's worker processes): the cell
    at temperature T (K, material at T and thermal field) with a pulse of amplitude ``drive`` (s: ``pulse``
    flat top, starting after ``delay`` s of thermalization), stochastic Heun step ``dt`` s."""
    spec = json.loads(cell) if isinstance(cell, str) else cell
    spec = {k: dict(v) for k, v in spec.items()}
    spec["write"]["_start"] = delay
    sign = -1.0 if spec["cell"]["write"] == "stt" else 1.0  # STT writes P → AP with a negative bias
    return build_cell(spec, drive=sign * drive, T_material=T, temperature=T, batch=batch, backend=backend,
                      pulse=pulse, dt=dt)
