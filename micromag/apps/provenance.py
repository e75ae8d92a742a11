"""Where each number of a material comes from: the rows of the report's material table.

A value is either the preset's (its source is the literature cited in the preset's docstring: the
"Source(s):" paragraph for Ms, A, α and the anisotropy, the "Temperature model" paragraph for Tc and the
exponents), an override in the cell spec (its file and line), or a measured table (its ``source``).
"""
from __future__ import annotations

import re

__all__ = ["material_sources", "preset_sources"]

UNITS = {"Ms": "A/m", "A": "J/m", "alpha": "", "Ku1": "J/m³", "Ki": "J/m²", "Kc1": "J/m³", "gamma": "rad/(s·T)",
         "Tc": "K", "T_ref": "K", "Ms_exponent": "", "nK": "", "nA": ""}
_TEMPERATURE = ("Tc", "T_ref", "Ms_exponent", "nK", "nA")


def preset_sources(preset):
    """(values source, temperature-model source) of a preset material function, from its docstring."""
    from ..engine import materials

    doc = " ".join((getattr(materials, preset).__doc__ or "").split())
    m = re.search(r"Sources?:\s*(.*?)(?=Temperature model|$)", doc)
    t = re.search(r"(Temperature model.*?)(?=$)", doc)
    values = m.group(1).strip() if m else f"preset {preset} (no source in its docstring)"
    temp = t.group(1).strip() if t else f"preset {preset} (no temperature model stated)"
    return f"preset {preset}: {values}", f"preset {preset}: {temp}"


def material_sources(preset, material, overrides, spec_lines=None):
    """Rows {name, value, unit, source} for the material's values at T_ref. ``overrides``: {name: where}
    for values the spec sets (where: "file, line N"); a material with a ``measured`` table takes Ms, Ku1 (and
    A when tabulated) from it."""
    vals, temp = preset_sources(preset)
    tab = material.measured
    rows = []
    names = ["Ms", "A", "alpha", "Ku1", "gamma"]
    if tab is None:
        names += [n for n in _TEMPERATURE if not (n == "Tc" and material.Tc is None)]
    else:
        names += ["T_ref"]
    for name in names:
        v = getattr(material, name)
        if name in overrides:
            src = f"spec ({overrides[name]})"
        elif tab is not None and (name in ("Ms", "Ku1") or (name == "A" and tab.A is not None)):
            src = (f"measured table at T_ref = {material.T_ref:g} K ({tab.source or 'no source given'}; "
                   f"{len(tab.T)} points, {tab.T_min:g}–{tab.T_max:g} K, PCHIP)")
        elif name == "gamma":
            src = "MuMax3's γ (micromag.engine.constants.gamma_mumax)"
        elif name in _TEMPERATURE:
            src = temp
        else:
            src = vals
            if name == "Ku1" and "Ki" in overrides:
                src = f"Ki / thickness, Ki from the spec ({overrides['Ki']})"
        rows.append({"name": name, "value": float(v) if v is not None else None, "unit": UNITS.get(name, ""),
                     "source": src})
    if tab is not None:
        rows.append({"name": "temperature dependence", "value": None, "unit": "",
                     "source": f"measured table ({tab.source or 'no source given'}): "
                     + ("Ms, Ku1" if tab.Ku1 is not None else "Ms, K_eff") + (", A" if tab.A is not None else
                                                                             " (A ∝ Ms^nA)")})
    return rows
