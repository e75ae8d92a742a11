r"""The sign-off report of an MRAM cell: ``micromag cell SPEC.toml --out DIR`` and ``mm.cell_report(...)``.

From a TOML description of the cell (write route STT, SOT or VCMA; free layer shape, stack and material;
junction; drive; read bias) it computes, on the cell's own micromagnetic model:

1. Δ(T) over the operating range (default −40 … 150 °C): the minimum-energy path between the two states
   (:func:`micromag.energy_barrier`) of the free layer with its material at T (:meth:`Material.at`), the
   standing fields of the cell (the in-plane bias of a VCMA or type-z SOT cell) included;
2. the retention verdict (:func:`micromag.retention.retention_verdict`) at the hot corner for the array
   size and failure budget of the spec;
3. the critical current: STT, Ic0/Jc0 from the zero-temperature linear stability of the parallel state
   (the growth rate of a small tilt against the drive, batch over the drive, its zero); SOT, the switching
   threshold from a batch over J with a slow (quasi-static) ramp; each beside its macrospin formula; VCMA,
   the voltage that cancels the effective anisotropy; and the figure of merit Δ/Ic0;
4. switching time and write energy against the drive (zero temperature, one batch member per drive, from
   the rms thermal angle 1/√Δ);
5. the write-error rate against the drive at the operating temperature with Clopper–Pearson intervals
   (thermal batches of ``wer_members`` members per drive, run by :mod:`micromag.sweep`);
6. the read disturb at the read bias (thermally activated model, Δ(I) = Δ (1 − I/Ic0)²) and the largest
   read current within the disturb budget;
7. the TMR read margin (R_P, R_AP, the read currents of both states and their difference);
8. retention and read disturb at every temperature of Δ(T), the read bias's VCMA lowering K during the read
   (:mod:`micromag.corners`); with ``[array]`` the spread of Δ over the array and the array-level failure
   probabilities, optionally with ECC (:mod:`micromag.array_stats`);
9. the write-error tail (STT): the Butler/Sun WER(I) form fitted to the WER counts and extrapolated to
   1e-6 … 1e-9 with likelihood-ratio intervals; Ic(τ) over ``pulse_widths`` in the precessional
   (fitted switching times) and thermally activated regimes (:mod:`micromag.write_errors`);
10. the material set (each value and its source, :mod:`micromag.provenance`) and a table of the method,
   members and uncertainty behind every number (:mod:`micromag.signoff` writes these sections).

It writes ``DIR/report.md`` with PNG plots, ``DIR/figures.json`` (the data of every figure),
``DIR/saddle.vti`` (the saddle at the operating temperature, for ParaView). Every finished piece of work is
appended at once to ``DIR/stages.jsonl`` (and the WER ensembles to ``DIR/wer/results.jsonl``) with the
resumable log of :mod:`micromag.sweep`, so a killed run started again with the same command continues where
it stopped. ``--quick`` runs a reduced form (fewer temperatures, drives, members and images; the spec's
``[quick]`` table overrides): a few minutes on 2 CPU cores.

The spec (every key is checked; an unknown or missing key is an error that names the key and its line)::

    [cell]
    name = "pSTT-40nm"
    write = "stt"                 # "stt" | "sot" | "vcma"
    diameter = 40e-9              # m (a disc), or size = [length, width] (an ellipse)
    thickness = 1.3e-9            # free-layer thickness, m
    cell = 3.5e-9                 # in-plane cell size, m
    tilt_deg = 0.0                # SOT: element against the current; easy_axis = "z" | "long" (SOT)
    B_ext = [0, 0, 0.02]          # T, optional: a uniform applied field (e.g. a reference stack's offset)

    [material]                    # free layer: a preset, then overrides (SI)
    preset = "CoFeB_perpendicular"   # Permalloy, CoFeB, CoFeB_perpendicular, Cobalt, Iron, YIG
    Ki = 1.3e-3                   # J/m² (CoFeB_perpendicular only)
    # Ms, A, alpha, Ku1, Tc, T_ref, Ms_exponent, nK, nA

    [mtj]                         # RA_P (Ω·m²), TMR, t_ox (m), eps_r, V_half (V), P, Lambda
    [sot]                         # heavy_metal ("BetaW", "Ta", "Pt"), hm_thickness (m), B_x (T), xi_FL
    [vcma]                        # xi (J/(V·m)), B_x (T)

    [write]
    drive = [0.4, 0.6, 0.8]       # |V| (STT: P → AP, negative bias applied; VCMA) or J in A/m² (SOT)
    pulse = 5e-9                  # s (flat top), rise = 50e-12 s, settle = 2e-9 s after the pulse
    temperature = 300.0           # K, the operating temperature of the write and read figures
    wer_members = 64              # thermal members per drive
    dt = 1e-13                    # s, the stochastic Heun step
    pulse_widths = [0.5e-9, ..., 100e-9]   # s, the pulse widths of Ic(τ)

    [measured]                    # the film's measured temperature dependence (replaces Tc, nK, nA):
    T = [223.15, 300.0, 433.15]   # K, strictly increasing, covering every temperature of the report
    Ms = [...]                    # A/m;  K_eff = [...] (J/m³, the film's) or Ku1 = [...];  A = [...] (J/m,
    source = "..."                # optional: else A ∝ Ms^nA); see micromag.temperature
    [array]                       # sigma_diameter (m), sigma_K (relative, of Ku1), or diameters = [...] /
                                  # K_scales = [...]; method "scaled" | "coherent"; word_bits, ecc_bits (ECC);
                                  # samples, seed. Perpendicular discs only.
    [read]                        # V_read (V), t_read (s), n_reads, budget (read-disturb budget)
    [retention]                   # temperatures (K), T_hot (K), years, n_bits, fail_budget, tau0 (s)
    [barrier]                     # images, tol_torque (T), max_iter, cell (m: the barrier's own grid,
                                  # default [cell] cell; at most √(A/Ku1) so that a wall is resolved)
    [quick]                       # --quick overrides: cell, drive, wer_members, temperatures, images,
                                  # pulse, settle, delay
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import time
import warnings

import numpy as np

from . import signoff
from .constants import kB
from .sweep import ResultsLog, SpecError, toml_key_lines, SpecLocation, workers_arg
from .validation import check_int, check_number

__all__ = ["CellSpec", "load_cell_spec", "cell_report", "build_cell", "wer_build", "add_cell_parser"]

# ---------------------------------------------------------------------------------------------- the spec
KEYS = {
    "cell": {"name", "write", "diameter", "size", "thickness", "cell", "tilt_deg", "easy_axis", "B_ext"},
    "material": {"preset", "Ki", "Ms", "A", "alpha", "Ku1", "Tc", "T_ref", "Ms_exponent", "nK", "nA", "gamma"},
    "mtj": {"RA_P", "TMR", "t_ox", "eps_r", "V_half", "P", "Lambda"},
    "sot": {"heavy_metal", "hm_thickness", "B_x", "xi_FL"},
    "vcma": {"xi", "B_x"},
    "write": {"drive", "pulse", "rise", "settle", "delay", "temperature", "wer_members", "dt", "pulse_widths"},
    "read": {"V_read", "t_read", "n_reads", "budget"},
    "retention": {"temperatures", "T_hot", "years", "n_bits", "fail_budget", "tau0"},
    "barrier": {"images", "tol_torque", "max_iter", "cell"},
    "quick": {"cell", "drive", "wer_members", "temperatures", "images", "pulse", "settle", "delay"},
    "measured": {"T", "Ms", "Ku1", "K_eff", "A", "source"},
    "array": {"sigma_diameter", "sigma_K", "diameters", "K_scales", "samples", "seed", "method", "word_bits",
              "ecc_bits"},
}
REQUIRED = {"cell": ("write", "thickness", "cell"), "write": ("drive", "pulse"), "read": ("V_read", "t_read")}
DEFAULTS = {
    "cell": {"name": "cell", "tilt_deg": 0.0},
    "material": {"preset": "CoFeB_perpendicular"},
    "mtj": {"RA_P": 5e-12, "TMR": 1.5, "t_ox": 1.0e-9, "eps_r": 9.8, "P": 0.6, "Lambda": 1.0},
    "sot": {"heavy_metal": "BetaW", "hm_thickness": 5e-9, "B_x": 0.0, "xi_FL": 0.0},
    "vcma": {"xi": 1e-13, "B_x": 0.1},
    "write": {"rise": 50e-12, "settle": 2e-9, "delay": 0.5e-9, "temperature": 300.0, "wer_members": 64,
              "dt": 1e-13, "pulse_widths": [0.5e-9, 1e-9, 2e-9, 5e-9, 10e-9, 20e-9, 50e-9, 100e-9]},
    "read": {"n_reads": 1e15, "budget": 1e-9},
    "retention": {"temperatures": [233.15, 273.15, 300.0, 358.15, 398.15, 423.15], "T_hot": 423.15,
                  "years": 10.0, "n_bits": 1048576, "fail_budget": 1e-6, "tau0": 1e-9},
    "barrier": {"images": 12, "tol_torque": 1e-4, "max_iter": 30000},
}
PRESETS = ("Permalloy", "CoFeB", "CoFeB_perpendicular", "Cobalt", "Iron", "YIG")
HEAVY_METALS = ("BetaW", "Ta", "Pt")
# how each value is checked: (kind, positive); kind "num", "int", "list", "str", "vec2"
_KIND = {
    ("cell", "diameter"): "pos", ("cell", "thickness"): "pos", ("cell", "cell"): "pos", ("cell", "tilt_deg"): "num",
    ("cell", "size"): "vec2", ("write", "pulse"): "pos", ("write", "rise"): "nonneg", ("write", "settle"): "nonneg",
    ("cell", "B_ext"): "vec3",
    ("write", "delay"): "nonneg", ("write", "temperature"): "pos", ("write", "wer_members"): "int",
    ("write", "dt"): "pos", ("write", "drive"): "list", ("read", "V_read"): "num", ("read", "t_read"): "pos",
    ("read", "n_reads"): "pos", ("read", "budget"): "prob", ("retention", "temperatures"): "listpos",
    ("retention", "T_hot"): "pos", ("retention", "years"): "pos", ("retention", "n_bits"): "int",
    ("retention", "fail_budget"): "prob", ("retention", "tau0"): "pos", ("barrier", "images"): "int3",
    ("barrier", "tol_torque"): "pos", ("barrier", "max_iter"): "int", ("barrier", "cell"): "pos", ("mtj", "RA_P"): "pos",
    ("mtj", "TMR"): "nonneg", ("mtj", "t_ox"): "pos", ("mtj", "eps_r"): "pos", ("mtj", "V_half"): "pos",
    ("mtj", "P"): "prob1", ("mtj", "Lambda"): "pos", ("sot", "hm_thickness"): "pos", ("sot", "B_x"): "num",
    ("sot", "xi_FL"): "num", ("vcma", "xi"): "num", ("vcma", "B_x"): "num", ("quick", "cell"): "pos",
    ("quick", "drive"): "list", ("quick", "wer_members"): "int", ("quick", "temperatures"): "listpos",
    ("quick", "images"): "int3", ("quick", "pulse"): "pos", ("quick", "settle"): "nonneg", ("quick", "delay"): "nonneg",
    ("write", "pulse_widths"): "listpos", ("measured", "T"): "list", ("measured", "Ms"): "list",
    ("measured", "Ku1"): "list", ("measured", "K_eff"): "list", ("measured", "A"): "list", ("measured", "source"): "str",
    ("array", "sigma_diameter"): "num", ("array", "sigma_K"): "num", ("array", "diameters"): "list",
    ("array", "K_scales"): "list", ("array", "samples"): "int", ("array", "seed"): "int0", ("array", "method"): "str",
    ("array", "word_bits"): "int", ("array", "ecc_bits"): "int0",
}


_RANGES = {"num": {}, "pos": dict(lo=0.0, lo_open=True), "nonneg": dict(lo=0.0),
           "prob": dict(lo=0.0, hi=1.0, lo_open=True, hi_open=True), "prob1": dict(lo=0.0, hi=1.0, lo_open=True)}


def _check_value(where, table, key, v):
    kind = _KIND.get((table, key))
    if table == "material" and key != "preset":
        kind = "num"

    def bad(msg):
        return where.error(table, key, f"{key} {msg}, got {v!r}")

    isnum = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)  # noqa: E731
    try:  # the package's number rules (micromag.validation), the error located in the file
        if kind in _RANGES:
            return check_number(key, v, **_RANGES[kind])
        if kind in ("int", "int3", "int0"):
            return check_int(key, v, lo={"int3": 3, "int0": 0}.get(kind, 1))
    except ValueError as exc:
        raise where.error(table, key, str(exc)) from None
    if kind == "str":
        if not isinstance(v, str):
            raise bad("must be a string")
        return v
    if kind in ("list", "listpos"):
        if not isinstance(v, list) or not v or not all(isnum(x) for x in v):
            raise bad("must be a non-empty list of numbers")
        if kind == "listpos" and any(x <= 0 for x in v):
            raise bad("must hold numbers > 0")
        if key == "drive" and any(x <= 0 for x in v):
            raise bad("must hold drive magnitudes > 0 (V, or A/m² for SOT)")
        return [float(x) for x in v]
    if kind == "vec3":  # a uniform applied field, T (e.g. the stray field of a reference stack: micromag.stack)
        if not isinstance(v, list) or len(v) != 3 or not all(isnum(x) for x in v):
            raise bad("must be [Bx, By, Bz] in T")
        return [float(x) for x in v]
    if kind == "vec2":
        if not isinstance(v, list) or len(v) != 2 or not all(isnum(x) and x > 0 for x in v):
            raise bad("must be [length, width] in m, both > 0")
        return [float(x) for x in v]
    return v


class CellSpec:
    """A validated cell description: ``self.data[table][key]`` with the defaults filled in."""

    def __init__(self, doc, path="<spec>", lines=None, quick=False):
        where = SpecLocation(path, lines or {})
        self.path = path
        self.quick = bool(quick)
        doc = dict(doc)
        stack_doc = doc.pop("stack", None)  # the whole MTJ: micromag.stack.Stack.from_dict checks it
        self.stack = None
        if stack_doc is not None:
            from .stack import Stack

            try:
                self.stack = Stack.from_dict(stack_doc)
            except (ValueError, TypeError, KeyError) as exc:
                raise SpecError(f"{path}: [stack]: {exc}") from None
        for t, body in doc.items():
            if t not in KEYS:
                raise where.error(t, None, f"unknown table [{t}] (known: {sorted(KEYS)} and stack)")
            if not isinstance(body, dict):
                raise where.error(t, None, f"[{t}] must be a table")
            for k in body:
                if k not in KEYS[t]:
                    raise where.error(t, k, f"unknown key {k!r} in [{t}] (known: {sorted(KEYS[t])})")
        for t, keys in REQUIRED.items():
            if t not in doc:
                raise SpecError(f"{path}: the spec needs a [{t}] table with {', '.join(keys)}")
            for k in keys:
                if k not in doc[t]:
                    raise where.error(t, None, f"[{t}] needs {k}")
        cell = doc["cell"]
        if ("diameter" in cell) == ("size" in cell):
            raise where.error("cell", "diameter" if "diameter" in cell else None,
                              "[cell] needs exactly one of diameter (a disc) or size = [length, width] (an ellipse)")
        data = {t: dict(DEFAULTS.get(t, {})) for t in KEYS}
        for t, body in doc.items():
            for k, v in body.items():
                data[t][k] = _check_value(where, t, k, v)
        c = data["cell"]
        if c["write"] not in ("stt", "sot", "vcma"):
            raise where.error("cell", "write", f"write must be 'stt', 'sot' or 'vcma', got {c['write']!r}")
        if c.get("easy_axis", "z") not in ("z", "long"):
            raise where.error("cell", "easy_axis", f"easy_axis must be 'z' or 'long', got {c['easy_axis']!r}")
        if c.get("easy_axis") == "long" and c["write"] != "sot":
            raise where.error("cell", "easy_axis", "an in-plane ('long') easy axis is supported for SOT cells only")
        if data["material"]["preset"] not in PRESETS:
            raise where.error("material", "preset", f"preset must be one of {list(PRESETS)}, got "
                              f"{data['material']['preset']!r}")
        if "Ki" in data["material"] and data["material"]["preset"] != "CoFeB_perpendicular":
            raise where.error("material", "Ki", "Ki applies to preset = 'CoFeB_perpendicular' only (give Ku1)")
        if data["sot"]["heavy_metal"] not in HEAVY_METALS:
            raise where.error("sot", "heavy_metal", f"heavy_metal must be one of {list(HEAVY_METALS)}, got "
                              f"{data['sot']['heavy_metal']!r}")
        if quick:
            q = data["quick"]
            data["retention"]["temperatures"] = q.get("temperatures", _thin(data["retention"]["temperatures"], 3))
            data["write"]["drive"] = q.get("drive", _thin(data["write"]["drive"], 3))
            data["write"]["wer_members"] = q.get("wer_members", min(16, data["write"]["wer_members"]))
            data["barrier"]["images"] = q.get("images", min(10, data["barrier"]["images"]))
            for k in ("cell",):
                if k in q:
                    data["cell"][k] = q[k]
            for k in ("pulse", "settle", "delay"):
                if k in q:
                    data["write"][k] = q[k]
        data["quick"] = {}
        if stack_doc is not None:
            data["stack"] = stack_doc
        self.where = where
        self.data = data
        self._check_measured_and_array(where, data)
        # the material and the device are built once here, so that a bad value fails before any work
        try:
            self.material()
            build_cell(self.data, drive=0.0)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise SpecError(f"{path}: the cell cannot be built: {exc}") from None
        if data["retention"]["T_hot"] not in data["retention"]["temperatures"]:
            data["retention"]["temperatures"] = sorted(data["retention"]["temperatures"] + [data["retention"]["T_hot"]])
        Tc = None if data["material"].get("measured") else self.material().Tc  # a table has its own range
        for T in data["retention"]["temperatures"] + [data["write"]["temperature"]]:
            if Tc is not None and T >= Tc:
                raise where.error("retention", "temperatures", f"temperature {T:g} K is at or above the Curie "
                                  f"temperature Tc = {Tc:g} K of the free layer (allowed: (0, Tc))")

    def _check_measured_and_array(self, where, data):
        """The [measured] table (monotonic in T, covering every temperature of the report) and the [array]
        spread (sigma >= 0, ECC smaller than the word), checked before any work."""
        from .array_stats import ArraySpread
        from .temperature import MeasuredTemperatureDependence

        meas = data.pop("measured")
        if meas:
            if "T" not in meas or "Ms" not in meas:
                raise where.error("measured", None, "[measured] needs T (K) and Ms (A/m), and one of Ku1 or K_eff (J/m³)")
            try:
                tab = MeasuredTemperatureDependence(**meas)
            except ValueError as exc:
                key = next((k for k in ("T", "Ms", "Ku1", "K_eff", "A") if str(exc).startswith(k)), "T")
                raise where.error("measured", key, f"[measured] {exc}") from None
            temps = sorted(set(data["retention"]["temperatures"]) | {data["retention"]["T_hot"],
                                                                      data["write"]["temperature"]})
            try:
                tab.check_covers(temps, "operating temperatures ([retention] temperatures, T_hot, [write] temperature)")
            except ValueError as exc:
                raise where.error("measured", "T", f"[measured] {exc}") from None
            data["material"]["measured"] = meas
        arr = data["array"]
        if arr:
            method = arr.get("method", "scaled")
            if method not in ("scaled", "coherent"):
                raise where.error("array", "method", f"method must be 'scaled' or 'coherent', got {method!r}")
            if "diameter" not in data["cell"] or data["cell"].get("easy_axis", "z") != "z":
                raise where.error("array", None, "[array] statistics need a perpendicular disc ([cell] diameter; the "
                                  "closed-form cell is a cylinder)")
            try:
                ArraySpread(**{k: v for k, v in arr.items() if k not in ("method", "word_bits", "ecc_bits")})
            except ValueError as exc:
                key = next((k for k in ("sigma_diameter", "sigma_K", "diameters", "K_scales", "samples")
                            if k in str(exc)), None)
                raise where.error("array", key, f"[array] {exc}") from None
            if "ecc_bits" in arr and "word_bits" not in arr:
                raise where.error("array", "ecc_bits", "ecc_bits needs word_bits (the bits of one ECC word)")
            if arr.get("ecc_bits", 0) >= arr.get("word_bits", math.inf):
                raise where.error("array", "ecc_bits", f"ecc_bits = {arr['ecc_bits']} must be smaller than word_bits = "
                                  f"{arr['word_bits']} (allowed: 0 <= ecc_bits < word_bits)")

    def material(self, T=None):
        return _material(self.data["material"], self.data["cell"]["thickness"], T)

    @property
    def hash(self):
        return hashlib.sha256(json.dumps(self.data, sort_keys=True).encode()).hexdigest()[:16]


def _thin(values, n):
    """n values of a sorted list: both ends and evenly spread picks between."""
    v = sorted(values)
    if len(v) <= n:
        return v
    idx = np.unique(np.round(np.linspace(0, len(v) - 1, n)).astype(int))
    return [v[i] for i in idx]


def load_cell_spec(path, quick=False):
    """Read and check a cell spec (TOML); raises :class:`micromag.sweep.SpecError` naming the line."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = os.fspath(path)
    try:
        text = open(path, "rb").read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"cell spec {path} does not exist") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f"{path}, line {m.group(1)}" if m else path
        raise SpecError(f"{where}: the spec does not parse as TOML: {msg}") from None
    return CellSpec(doc, path=path, lines=toml_key_lines(text), quick=quick)


# ---------------------------------------------------------------------------------------------- the cell
def _material_set(spec):
    """Every value of the free layer's material with its source (:func:`micromag.provenance.material_sources`)."""
    from .provenance import material_sources

    m = spec.data["material"]
    overrides = {k: spec.where("material", k) for k in m if k not in ("preset", "measured")}
    return material_sources(m["preset"], spec.material(), overrides)


def _material(m, thickness, T=None):
    from . import materials

    from .temperature import MeasuredTemperatureDependence

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


def _easy(spec):
    """The easy axis in the grid frame: z, or x for an in-plane SOT element (turned onto the grid's x)."""
    return np.array([1.0, 0.0, 0.0]) if spec["cell"].get("easy_axis", "z") == "long" else np.array([0.0, 0.0, 1.0])


def _device(spec, drive, T_material=None, temperature=None, batch=1, backend="auto", m0=None, tilt0_deg=0.0,
            pulse=None):
    """The micromag device builder of the spec (drive: a number, per-member array or a Drive)."""
    from . import devices, drives, geometry, heavy_metal

    c, w = spec["cell"], spec["write"]
    B0 = np.asarray(c.get("B_ext", (0.0, 0.0, 0.0)), float)  # [cell] B_ext: a uniform applied field, T
    mat = _material(spec["material"], c["thickness"], T_material)
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
    spec = spec.data if isinstance(spec, CellSpec) else spec
    dev = _device(spec, drive, T_material, temperature, batch, backend, tilt0_deg=tilt0_deg, pulse=pulse)
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


# ---------------------------------------------------------------------------------------------- helpers
def _say(progress, msg):
    if progress:
        print(f"micromag cell: {msg}", file=sys.stderr, flush=True)


def _stage_key(spec_hash, name, params):
    return hashlib.sha256(json.dumps({"spec": spec_hash, "stage": name, "params": params}, sort_keys=True,
                                     default=str).encode()).hexdigest()[:20]


class _Stages:
    """Finished pieces of work in ``DIR/stages/results.jsonl``: the sweep's :class:`ResultsLog` (one fsynced
    JSON line per stage, each key written once, a line cut by a kill dropped on resume)."""

    def __init__(self, out, spec_hash):
        folder = os.path.join(out, "stages")
        os.makedirs(folder, exist_ok=True)
        try:
            self.log = ResultsLog(folder, spec_hash, resume=True)
        except ValueError as exc:
            raise ValueError(f"{out} holds a report of another cell spec (or of the other --quick setting): use "
                             f"another --out ({exc})") from None
        self.hash = spec_hash
        self.n = len(self.log.done)

    def get(self, name, params):
        rec = self.log.done.get(_stage_key(self.hash, name, params))
        return None if rec is None else rec["rows"][0]

    def put(self, name, params, result):
        clean = json.loads(json.dumps(result, default=_jsonable))
        self.log.write(_stage_key(self.hash, name, params), self.n, {"stage": name, **params}, [clean])
        self.n += 1
        return clean

    def close(self):
        self.log.close()


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.bool_):
        return bool(x)
    raise TypeError(f"{type(x).__name__} is not JSON-able")


def _finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------- stages
def _coherent(spec, T, backend):
    """Energies of uniform states in zero applied field (the macrospin quantities, K_eff V): E(hard) − E(easy)
    for the in-plane and out-of-plane hard directions, J; the volume (m³), Ms (A/m) and footprint (m²)."""
    sim = build_cell(spec, 0.0, T_material=T, backend=backend)
    sim.B_ext = None  # an in-plane bias (VCMA, SOT type z) is not part of K_eff
    easy = _easy(spec)
    hard_ip = np.array([0.0, 1.0, 0.0]) if easy[0] == 1 else np.array([1.0, 0.0, 0.0])
    hard_z = np.array([0.0, 0.0, 1.0]) if easy[0] == 1 else np.array([1.0, 0.0, 0.0])
    E = []
    for d in (easy, hard_ip, hard_z):
        sim.m = tuple(d)
        E.append(float(sim.energy()))
    fill = sim.system.fill * sim.system.magnetic
    V = float(fill.sum() * sim.grid.cell_volume)
    Ms = float(sim.system.Ms_eff.sum() / fill.sum())
    return {"E_hard_inplane_J": E[1] - E[0], "E_hard_z_J": E[2] - E[0], "volume_m3": V, "Ms_A_per_m": Ms,
            "area_m2": float(fill.max(axis=0).sum() * sim.grid.cell[0] * sim.grid.cell[1])}


def stage_delta(spec, T, backend, images, tol, max_iter, progress, path=None, save_dir=None):
    """Δ at temperature T: the barrier between the two easy-axis states of the cell, material at T."""
    from .barrier import energy_barrier

    if spec.get("barrier", {}).get("cell"):  # the barrier's own (finer) grid: walls must be resolved there
        spec = {k: dict(v) for k, v in spec.items()}
        spec["cell"]["cell"] = spec["barrier"]["cell"]
    sim = build_cell(spec, 0.0, T_material=T, backend=backend)
    easy = _easy(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = energy_barrier(sim, tuple(easy), tuple(-easy), images=images, tol_torque=tol, max_iter=max_iter,
                           path=path, progress=progress)
    notes = sorted({str(w.message) for w in caught})
    if save_dir is not None:
        p.plot(os.path.join(save_dir, "energy_path.png"), T=T,
               title=f"minimum-energy path at {T:g} K ({T - 273.15:.0f} °C)")
        p.save_saddle(os.path.join(save_dir, "saddle.vti"))
    coh = _coherent(spec, T, backend)
    coherent_J = coh["E_hard_inplane_J"] if _easy(spec)[0] == 1 else min(coh["E_hard_inplane_J"], coh["E_hard_z_J"])
    # the attempt frequency from the landscape (Langer's harmonic rate for the LLG), next to the fixed τ0
    f0, f0_note = None, None
    try:
        f0 = p.attempt_frequency(None, T)
        f0_note = p.rate["message"]
    except (RuntimeError, ValueError) as exc:
        f0_note = str(exc)
    sc = p.saddle_check or {}
    flags = []
    if p.barrier > coherent_J * (1 + 1e-3):
        flags.append(f"barrier {p.barrier:.4g} J above K_eff V = {coherent_J:.4g} J (uniform states): not a lowest path")
    if sc and not sc.get("passed"):
        flags.append("saddle check failed: " + sc.get("message", ""))
    return {"T_K": T, "barrier_J": p.barrier, "delta": p.delta(T), "barrier_back_J": p.barrier_back,
            "converged": p.converged, "status": p.status, "barrier_spread_J": _finite(p.barrier_spread),
            "barrier_uncertainty_J": _finite(getattr(p, "barrier_uncertainty_J", float("nan"))),
            "candidates": p.candidates, "start": p.start, "coherent_bound_J": p.coherent_bound_J,
            "saddle_check_passed": sc.get("passed"), "saddle_check": sc.get("message"),
            "f0_Hz": f0, "f0_note": f0_note, "flags": flags,
            "iterations": p.iterations, "cell_m": spec["cell"]["cell"], "wall_s": p.wall_s, "saddle_index": p.saddle_index,
            "energies_J": p.energies.tolist(), "s_rad": p.s.tolist(), "coherent_J": coherent_J, "warnings": notes}, p


def _growth_rates(spec, drives, T, backend, duration, samples=120):
    """Zero-temperature growth rate (1/s) of a small tilt of the easy-axis state against the drive (one batch
    member per drive): the slope of ln |m⊥| while |m⊥| < 0.3."""
    easy = _easy(spec)
    sign = -1.0 if spec["cell"]["write"] == "stt" else 1.0
    sim = build_cell(spec, sign * np.asarray(drives, dtype=float), T_material=T, batch=len(drives), backend=backend,
                     tilt0_deg=2.0, tol=1e-7)
    ts, perp = [], []
    for k in range(samples + 1):
        if k:
            sim.run(duration / samples, progress=False)
        m = np.asarray(sim.m_avg).reshape(-1, 3)
        ts.append(float(np.atleast_1d(sim.t)[0]))
        perp.append(np.sqrt(np.maximum(1.0 - (m @ easy) ** 2, 1e-30)))
    ts, perp = np.array(ts), np.array(perp)
    rates = []
    for b in range(len(drives)):
        ok = perp[:, b] < 0.3
        n = int(np.argmin(ok)) if not ok.all() else len(ok)
        n = max(n, 3)
        rates.append(float(np.polyfit(ts[:n], np.log(perp[:n, b]), 1)[0]))
    return np.array(rates), ts, perp


def stage_stack(stack, T, mtj, backend):
    """The ``[stack]`` of a cell spec at T (K): :func:`micromag.stack_report.stack_summary` (offset field,
    free-layer macrospin, Δ_P and Δ_AP, closed-form Ic0 both ways, SAF spin-flop fields) with the spec's P and
    Λ, and Ic0 both ways from the free layer's dynamics in the offset field map
    (:func:`micromag.stack_report.critical_currents_simulated`) where the stack has a reference layer."""
    from . import stack_report

    out = stack_report.stack_summary(stack, T=T, backend=backend, P=mtj["P"], Lambda=mtj["Lambda"])
    if "Ic0_A" in out:
        sim = stack_report.critical_currents_simulated(stack, P=mtj["P"], Lambda=mtj["Lambda"], backend=backend)
        out["Ic0_simulated_A"] = {k: sim[k] for k in ("P->AP", "AP->P")}
    return out


def stage_critical(spec, T, coh, backend, progress):
    """Ic0 / Jc0 (STT), the switching threshold (SOT) or the anisotropy-cancelling voltage (VCMA), with the
    macrospin formulas beside. The formulas take the energetic K_eff V of the uniform states; for a single
    cell the simulated STT Ic0 equals 2eαK_eff V/(ħε) to 0.1 % (tests/test_cellreport.py). On a disc the
    partly filled edge cells count less in the energy (fill-weighted) than in the dynamics (every cell's own
    LLG), so the two differ by a few % (+5 % for the 40 nm example cell)."""
    from . import retention as ret

    c, mt = spec["cell"], spec["mtj"]
    mat = _material(spec["material"], c["thickness"], T)
    area, V, Ms = coh["area_m2"], coh["volume_m3"], coh["Ms_A_per_m"]
    E_coh = coh["E_hard_inplane_J"] if _easy(spec)[0] == 1 else min(coh["E_hard_inplane_J"], coh["E_hard_z_J"])
    K_eff = E_coh / V
    B_K = 2 * K_eff / Ms
    R_P = mt["RA_P"] / area
    out = {"K_eff_J_per_m3": K_eff, "B_K_T": B_K, "area_m2": area, "R_P_ohm": R_P}
    if c["write"] in ("stt", "vcma"):
        Ic_ms = ret.stt_critical_current(K_eff, V, mat.alpha, P=mt["P"], Lambda=mt["Lambda"], state="P")
        out.update({"Ic0_macrospin_A": Ic_ms, "Jc0_macrospin_A_per_m2": Ic_ms / area})
    if c["write"] == "vcma":
        xi = spec["vcma"]["xi"]
        out["V_cancel_V"] = K_eff * mt["t_ox"] * c["thickness"] / xi if xi != 0 else None
        out["method"] = "VCMA: V at which ΔK = −ξV/(t_ox t_F) cancels K_eff (closed form); Ic0 of the read STT: macrospin"
        out["Ic0_A"] = out["Ic0_macrospin_A"]
        return out
    if c["write"] == "stt":
        Vc_est = Ic_ms * R_P
        drives = Vc_est * np.array([0.4, 0.7, 1.0, 1.3])
        tau_D = (1 + mat.alpha**2) / (mat.alpha * mat.gamma * max(B_K, 1e-3))
        _say(progress, f"Ic0: growth rates of a 2° tilt at {len(drives)} biases over {3 * tau_D * 1e9:.2g} ns (T = 0)")
        rates, ts, perp = _growth_rates(spec, drives, T, backend, 3 * tau_D)
        slope, icpt = np.polyfit(drives, rates, 1)
        Vc = -icpt / slope
        Ic0 = Vc / R_P
        out.update({"method": "linear stability of the parallel state: zero of the growth rate of a small tilt "
                    "against the bias (T = 0)", "drives_V": drives.tolist(), "growth_rates_per_s": rates.tolist(),
                    "Vc0_V": Vc, "Ic0_A": Ic0, "Jc0_A_per_m2": Ic0 / area,
                    "Ic0_sim_over_macrospin": Ic0 / Ic_ms})
        return out
    # SOT: batch over J with a slow ramp, the final state decides (T = 0)
    s = spec["sot"]
    from . import heavy_metal

    hm = getattr(heavy_metal, s["heavy_metal"])(thickness=s["hm_thickness"])
    theta = hm.theta_eff
    if _easy(spec)[0] == 1:
        B_d = 2 * coh["E_hard_z_J"] / (Ms * V) - B_K
        J_ms = ret.sot_critical_current_density_inplane(mat.alpha, Ms, c["thickness"], theta, B_K, max(B_d, 0.0))
        formula = "Liu et al. 2012 (type y, easy axis along σ)" if c["tilt_deg"] % 180 == 90 else \
            "Liu et al. 2012 type-y formula (a guide only: the easy axis is not along σ)"
    else:
        formula = "Lee et al. 2013 (type z with B_x)"
        if B_K / 2 > abs(s["B_x"]) / math.sqrt(2):
            J_ms = ret.sot_critical_current_density_perpendicular(Ms, c["thickness"], theta, B_K, s["B_x"])
        else:  # outside the formula's range: scan about the field-free value
            J_ms = ret.sot_critical_current_density_perpendicular(Ms, c["thickness"], theta, B_K, 0.0)
            formula += f": not applicable (B_x/√2 >= B_K/2 = {B_K / 2:.3g} T), the scan starts from its B_x = 0 value"
    out.update({"Jc_macrospin_A_per_m2": J_ms, "formula": formula})
    lo, hi = 0.3 * J_ms, 2.0 * J_ms
    Js_all, sw_all = [], []
    bracket = None
    refined = 0
    for rnd in range(5):
        Js = np.linspace(lo, hi, 7)
        _say(progress, f"SOT threshold, round {rnd + 1}: {len(Js)} currents {lo:.3g} … {hi:.3g} A/m², 1 ns ramp (T = 0)")
        sw = _sot_switched(spec, Js, T, backend)
        Js_all += Js.tolist()
        sw_all += sw.tolist()
        if not sw.any():  # the threshold lies above: look higher
            lo, hi = hi, 2 * hi
            continue
        if sw.all():  # below: look lower
            lo, hi = lo / 2, lo
            continue
        k = int(np.argmax(sw))  # the first current that switched
        lo, hi = float(Js[max(k - 1, 0)]), float(Js[k])
        bracket = (lo, hi)
        refined += 1
        if refined == 2:
            break
    order = np.argsort(Js_all)
    Js_all, sw_all = np.array(Js_all)[order], np.array(sw_all)[order]
    Jc = None if bracket is None else 0.5 * (bracket[0] + bracket[1])
    dev = _device(spec, 1.0, T)
    I_per_J = float(dev.line_current(1.0))
    out.update({"method": "switching threshold (final state) from batches over J with a 1 ns ramp, 2 ns hold, 1 ns "
                "fall and 4 ns relaxation (T = 0)", "J_scan_A_per_m2": Js_all.tolist(), "switched": [bool(x) for x in sw_all],
                "Jc_A_per_m2": Jc, "Jc_bracket_A_per_m2": None if bracket is None else list(bracket),
                "Ic_A": None if Jc is None else Jc * I_per_J, "Ic_macrospin_A": J_ms * I_per_J,
                "line_current_per_J_m2": I_per_J,
                "Jc_sim_over_macrospin": None if Jc is None else Jc / J_ms})
    # the read current still passes the junction: its STT critical current, macrospin (an in-plane layer
    # adds half its out-of-plane demagnetizing field)
    B_d_read = max(2 * coh["E_hard_z_J"] / (Ms * V) - B_K, 0.0) if _easy(spec)[0] == 1 else 0.0
    Ic_read = ret.stt_critical_current(K_eff, V, mat.alpha, P=mt["P"], Lambda=mt["Lambda"], state="P",
                                       B_d=B_d_read, Ms=Ms)
    out["Ic0_A"] = Ic_read
    out["Ic0_note"] = "read STT through the junction (macrospin formula)"
    return out


def _sot_switched(spec, Js, T, backend):
    from .drives import Pulse

    easy = _easy(spec)
    sim = build_cell(spec, Pulse(np.asarray(Js, dtype=float), width=3e-9, rise=1e-9, fall=1e-9), T_material=T,
                     batch=len(Js), backend=backend, tilt0_deg=1.0)
    sim.run(8e-9, progress=False)  # 4 ns after the pulse: a weakly damped layer settles slowly
    m = np.asarray(sim.m_avg).reshape(-1, 3)
    return (m @ easy) < 0


def stage_switching(spec, T, coh_delta, backend, progress):
    """Switching time and write energy against the drive at T = 0 (one member per drive, from the rms
    thermal angle 1/√Δ of the coherent barrier)."""
    c, w = spec["cell"], spec["write"]
    drives = np.asarray(w["drive"], dtype=float)
    tilt = math.degrees(1.0 / math.sqrt(max(coh_delta, 1.0)))
    sign = -1.0 if c["write"] == "stt" else 1.0
    sim = build_cell(spec, sign * drives, T_material=T, batch=len(drives), backend=backend, tilt0_deg=tilt,
                     pulse=w["pulse"])
    easy = _easy(spec)
    total = w["pulse"] + w["rise"] + w["settle"]
    every = 5e-12
    n = int(math.ceil(total / every))
    t_sw = np.full(len(drives), np.nan)
    prev = np.asarray(sim.m_avg).reshape(-1, 3) @ easy
    t_prev = 0.0
    _say(progress, f"switching time: {len(drives)} drives, {total * 1e9:.3g} ns at T = 0 (start {tilt:.2g}° off the axis)")
    for k in range(n):
        sim.run(every, progress=False)
        t = float(np.atleast_1d(sim.t)[0])
        now = np.asarray(sim.m_avg).reshape(-1, 3) @ easy
        hit = np.isnan(t_sw) & (now < 0) & (prev >= 0)
        t_sw[hit] = t_prev + (t - t_prev) * prev[hit] / (prev[hit] - now[hit])
        prev, t_prev = now, t
    final = prev
    dev = sim.device
    E = []
    for d, ts, fin in zip(drives, t_sw, final):
        if c["write"] == "sot":
            I = float(dev.line_current(d))
            E.append(I * I * dev.line_resistance * (w["pulse"]))
        else:
            R_P, R_AP = dev.R_P, dev.R_AP
            on = w["pulse"]
            tp = on if not np.isfinite(ts) else min(ts, on)
            joule = d * d * (tp / R_P + (on - tp) / R_AP)
            E.append(joule + (dev.cv2_energy(d) if c["write"] == "vcma" else 0.0))
    return {"drives": drives.tolist(), "t_switch_s": [_finite(x) for x in t_sw],
            "final_m_easy": [float(x) for x in final], "switched": [bool(x < 0) for x in final],
            "write_energy_J": E, "tilt0_deg": tilt,
            "energy_model": "SOT: I² R_line × pulse; STT: V² (t_sw/R_P + (pulse − t_sw)/R_AP); VCMA: C V² + Joule"}


def stage_wer(spec, T, out, backend, workers, progress):
    """WER against the drive: thermal ensembles through the resumable sweep (one point per drive)."""
    from . import retention as ret
    from .sweep import Spec, run_sweep

    w = spec["write"]
    easy = _easy(spec)
    q = "mx" if easy[0] == 1 else "mz"
    # a precessional (VCMA) or field-assisted (SOT type z: m is pulled in-plane, the field and the falling edge
    # decide) write may cross and cross back: there the final state decides; STT keeps pushing once past
    precessional = spec["cell"]["write"] in ("vcma", "sot")
    cell = json.dumps({k: v for k, v in spec.items() if k != "quick"}, sort_keys=True)
    sw = Spec(build="micromag.cellreport:wer_build", params={"drive": list(w["drive"])},
              fixed={"cell": cell, "T": w["temperature"], "pulse": w["pulse"], "delay": w["delay"], "dt": w["dt"],
                     "backend": backend},
              duration=w["delay"] + w["pulse"] + 2 * w["rise"] + w["settle"], every=10e-12,
              detect={"quantity": q, "threshold": -0.5, "below": True, "stop": not precessional},
              repeats=int(w["wer_members"]), name="wer")
    rows = run_sweep(sw, out=os.path.join(out, "wer"), resume=True, workers=workers, progress=progress, plot=False)
    table = []
    for d in w["drive"]:
        rs = [r for r in rows if float(r["drive"]) == float(d)]
        n = len(rs)
        k = sum((r[q] > 0) if precessional else (not r["switched"]) for r in rs)
        lo, hi = ret.binomial_interval(k, n, 0.95)
        ts = [r["t_switch"] - w["delay"] for r in rs if r["switched"] and r.get("t_switch") is not None]
        table.append({"drive": d, "N": n, "errors": k, "WER": k / n, "CI95_low": lo, "CI95_high": hi,
                      "t_switch_mean_s": float(np.mean(ts)) if ts else None,
                      "t_switch_std_s": float(np.std(ts)) if len(ts) > 1 else None})
    how = f"final <{q}> < 0 after pulse + settle" if precessional else f"<{q}> below −0.5 during pulse + settle"
    return {"T_K": w["temperature"], "switch": how, "table": table}


def stage_read(spec, delta_op, Ic0, area, T, K_eff=None):
    """Read disturb (thermally activated model) and the TMR read margin at the read bias. With ``K_eff``
    (J/m³, the coherent anisotropy at T) the VCMA of the read bias lowers the barrier and Ic0 during the read
    (:func:`micromag.corners.vcma_read_lowering`; perpendicular cells)."""
    from . import retention as ret

    dK = _read_dK(spec)
    if K_eff is not None and K_eff > 0:
        delta_op = max(delta_op * (K_eff - dK) / K_eff, 0.0)
        Ic0 = Ic0 * max(K_eff - dK, 0.0) / K_eff

    r, mt = spec["read"], spec["mtj"]
    V = abs(r["V_read"])
    tmr0 = mt["TMR"]
    tmr = tmr0 / (1 + (V / mt["V_half"]) ** 2) if mt.get("V_half") else tmr0
    R_P = mt["RA_P"] / area
    R_AP = R_P * (1 + tmr)
    I_P, I_AP = V / R_P, V / R_AP
    # a read at +V drives electrons into the free layer: its STT favours P and pushes on the AP state;
    # ε(AP)/ε(P) = Λ² for Slonczewski's angular form, so Ic0(AP) = Ic0(P) / Λ²
    Ic0_AP = abs(Ic0) / mt["Lambda"] ** 2
    if Ic0_AP == 0:  # the read bias cancels the anisotropy
        return {"T_K": T, "V_read_V": V, "t_read_s": r["t_read"], "TMR_at_V_read": tmr, "R_P_ohm": R_P,
                "R_AP_ohm": R_AP, "I_read_P_A": I_P, "I_read_AP_A": I_AP, "delta_I_A": I_P - I_AP,
                "read_margin": (I_P - I_AP) / I_P, "Ic0_disturbed_state_A": 0.0, "I_over_Ic0": math.inf,
                "delta_at_T": 0.0, "P_disturb_one_read": 1.0, "n_reads": r["n_reads"], "P_disturb_n_reads": 1.0,
                "budget": r["budget"], "passes": False, "I_read_max_A": 0.0, "V_read_max_V": 0.0, "dK_read_J_per_m3": dK,
                "model": "the VCMA of the read bias cancels K_eff: the read writes"}
    worst_I = I_AP
    P1 = ret.read_disturb_probability(delta_op, worst_I, Ic0_AP, r["t_read"], tau0=spec["retention"]["tau0"])
    Pn = ret.read_disturb_probability(delta_op, worst_I, Ic0_AP, r["t_read"], tau0=spec["retention"]["tau0"],
                                      n_reads=r["n_reads"])
    Imax = ret.max_read_current(delta_op, Ic0_AP, r["t_read"], r["budget"], tau0=spec["retention"]["tau0"],
                                n_reads=r["n_reads"])
    return {"T_K": T, "V_read_V": V, "t_read_s": r["t_read"], "TMR_at_V_read": tmr, "R_P_ohm": R_P, "R_AP_ohm": R_AP,
            "I_read_P_A": I_P, "I_read_AP_A": I_AP, "delta_I_A": I_P - I_AP, "read_margin": (I_P - I_AP) / I_P,
            "Ic0_disturbed_state_A": Ic0_AP, "I_over_Ic0": worst_I / Ic0_AP, "delta_at_T": delta_op,
            "P_disturb_one_read": P1, "n_reads": r["n_reads"], "P_disturb_n_reads": Pn, "budget": r["budget"],
            "passes": bool(Pn <= r["budget"]), "I_read_max_A": Imax,
            "V_read_max_V": Imax * R_AP, "dK_read_J_per_m3": dK if K_eff else 0.0,
            "model": "Δ(I) = Δ_V (1 − I/Ic0)², τ = τ0 e^Δ(I); the AP state under +V_read"
            + (f"; Δ_V, Ic0 lowered by the read bias's VCMA dK = {dK:.3g} J/m³" if K_eff and dK else "")}


def _read_dK(spec):
    """The VCMA lowering of K during a read (J/m³): |ξ V_read|/(t_ox t_F) for a perpendicular cell, 0 for an
    in-plane one (VCMA acts on the out-of-plane hard axis, not on the in-plane barrier)."""
    from .corners import vcma_read_lowering

    if _easy(spec)[0] == 1:
        return 0.0
    return vcma_read_lowering(spec["vcma"]["xi"], spec["read"]["V_read"], spec["mtj"]["t_ox"], spec["cell"]["thickness"])


# ---------------------------------------------------------------------------------------------- the report
def cell_report(spec, out, quick=False, backend="auto", workers=None, progress=True):
    """Compute the sign-off report of the cell ``spec`` (a path to a TOML spec or a :class:`CellSpec`) into
    the folder ``out`` (see the module docstring); returns the dict written to ``out/figures.json``. Runs
    again into the same folder continue where a previous run stopped."""
    from . import retention as ret

    if not isinstance(spec, CellSpec):
        spec = load_cell_spec(spec, quick=quick)
    elif quick and not spec.quick:
        raise ValueError("pass quick=True to load_cell_spec (the [quick] overrides are applied when it is read)")
    d = spec.data
    out = os.path.abspath(os.fspath(out))
    os.makedirs(out, exist_ok=True)
    from .io.atomic import atomic_write

    atomic_write(os.path.join(out, "cell.json"), [json.dumps({"spec": d, "hash": spec.hash, "source": spec.path,
                                                              "quick": spec.quick}, indent=1).encode()])
    stages = _Stages(out, spec.hash)
    t0 = time.perf_counter()
    T_op = d["write"]["temperature"]
    temps = sorted(set(d["retention"]["temperatures"]) | {T_op})
    b = d["barrier"]
    _say(progress, f"{d['cell']['name']} ({d['cell']['write'].upper()}): {len(stages.log.done)} stages already done in "
         f"{out}")
    try:
        # ------------------------------------------------ Δ(T)
        deltas, prev = {}, None
        for T in sorted(temps, key=lambda x: abs(x - T_op)):  # the operating point first: its path seeds the rest
            params = {"T": T, "images": b["images"], "tol": b["tol_torque"], "max_iter": b["max_iter"]}
            rec = stages.get("delta", params)
            if rec is None:
                _say(progress, f"Δ({T:g} K = {T - 273.15:.0f} °C): minimum-energy path, {b['images']} images")
                rec, prev = stage_delta(d, T, backend, b["images"], b["tol_torque"], b["max_iter"], progress, prev,
                                        save_dir=out if T == T_op else None)
                stages.put("delta", params, rec)
                _say(progress, f"Δ({T:g} K) = {rec['delta']:.4g} ({rec['status']}, {rec['iterations']} iterations, "
                     f"{rec['wall_s']:.1f} s)")
            deltas[T] = rec
        Ts = np.array(sorted(deltas))
        D = np.array([deltas[T]["delta"] for T in Ts])
        rt = d["retention"]
        verdict = ret.retention_verdict(deltas[rt["T_hot"]]["delta"], T=rt["T_hot"], years=rt["years"],
                                        n_bits=rt["n_bits"], fail_budget=rt["fail_budget"], tau0=rt["tau0"])
        f0_hot = deltas[rt["T_hot"]].get("f0_Hz")
        verdict_f0 = ret.retention_verdict(deltas[rt["T_hot"]]["delta"], T=rt["T_hot"], years=rt["years"],
                                           n_bits=rt["n_bits"], fail_budget=rt["fail_budget"],
                                           tau0=1.0 / f0_hot) if f0_hot else None
        delta_op = deltas[T_op]["delta"]
        # ------------------------------------------------ critical current
        coh = _coherent(d, T_op, backend)
        rec = stages.get("critical", {"T": T_op})
        if rec is None:
            rec = stages.put("critical", {"T": T_op}, stage_critical(d, T_op, coh, backend, progress))
        crit = rec
        Ic0 = crit.get("Ic0_A")
        # the write current of the figure of merit: STT Ic0; SOT the simulated line current (else macrospin);
        # a VCMA write is voltage-driven and has none
        I_write = {"stt": Ic0, "sot": crit.get("Ic_A") or crit.get("Ic_macrospin_A"), "vcma": None}[d["cell"]["write"]]
        # ------------------------------------------------ the whole MTJ ([stack]): offset field, Δ_P/Δ_AP, Ic0 both ways
        stack_rec = None
        if spec.stack is not None:
            stack_rec = stages.get("stack", {"T": T_op})
            if stack_rec is None:
                _say(progress, "stack: offset field, Δ_P and Δ_AP, Ic0 both ways (closed form and simulated)")
                stack_rec = stages.put("stack", {"T": T_op}, stage_stack(spec.stack, T_op, d["mtj"], backend))
        fom = ret.figure_of_merit(delta_op, I_write) if I_write else None
        # ------------------------------------------------ switching time and energy (T = 0)
        rec = stages.get("switching", {"T": T_op})
        if rec is None:
            coh_delta = (coh["E_hard_inplane_J"] if _easy(d)[0] == 1 else min(coh["E_hard_inplane_J"],
                                                                              coh["E_hard_z_J"])) / (kB * T_op)
            rec = stages.put("switching", {"T": T_op}, stage_switching(d, T_op, coh_delta, backend, progress))
        switching = rec
        # ------------------------------------------------ WER (the sweep resumes itself)
        rec = stages.get("wer", {"T": T_op})
        if rec is None:
            _say(progress, f"WER: {len(d['write']['drive'])} drives × {d['write']['wer_members']} thermal members at "
                 f"{T_op:g} K ({d['write']['delay'] * 1e9:.2g} ns to thermalize, then the pulse)")
            rec = stages.put("wer", {"T": T_op}, stage_wer(d, T_op, out, backend, workers, progress))
        wer = rec
        # ------------------------------------------------ read
        read = stage_read(d, delta_op, Ic0, coh["area_m2"], T_op, K_eff=crit["K_eff_J_per_m3"]) if Ic0 else None
        # ------------------------------------------------ every temperature, the array, the write tails
        corners = signoff.corners(spec, deltas, coh, crit, read)
        tails = signoff.write_tails(d, spec.material(d["write"]["temperature"]).alpha, wer, switching, crit, delta_op)
    finally:
        stages.close()
    figures = {
        "cell": {"name": d["cell"]["name"], "write": d["cell"]["write"], "spec_hash": spec.hash, "quick": spec.quick},
        "delta_vs_T": {"T_K": Ts.tolist(), "delta": D.tolist(), "barrier_J": [deltas[T]["barrier_J"] for T in Ts],
                       "coherent_J": [deltas[T]["coherent_J"] for T in Ts],
                       "status": [deltas[T]["status"] for T in Ts],
                       "barrier_spread_J": [deltas[T]["barrier_spread_J"] for T in Ts],
                       "barrier_uncertainty_J": [deltas[T].get("barrier_uncertainty_J") for T in Ts],
                       "f0_Hz": [deltas[T].get("f0_Hz") for T in Ts],
                       "saddle_check_passed": [deltas[T].get("saddle_check_passed") for T in Ts],
                       "flags": [deltas[T].get("flags", []) for T in Ts],
                       "delta_required_at_T_hot": verdict.delta_required, "T_hot_K": rt["T_hot"]},
        "energy_path": {"T_K": T_op, "s_rad": deltas[T_op]["s_rad"], "energies_J": deltas[T_op]["energies_J"]},
        "retention": verdict.to_dict(),
        "retention_computed_f0": verdict_f0.to_dict() if verdict_f0 else None,
        "critical": crit, "figure_of_merit_per_uA": fom, "delta_at_T_op": delta_op, "stack": stack_rec,
        "switching": switching, "wer": wer, "read": read, "corners": corners, "write_tails": tails,
        "material_set": _material_set(spec),
        "wall_s_this_run": time.perf_counter() - t0,
    }
    pngs = _plots(out, figures, d)
    atomic_write(os.path.join(out, "figures.json"), [json.dumps(figures, indent=1, default=_jsonable).encode()])
    _write_markdown(out, figures, d, pngs, spec)
    _say(progress, f"report: {os.path.join(out, 'report.md')} ({time.perf_counter() - t0:.1f} s)")
    return figures


def _plots(out, f, d):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .io.atomic import atomic_write

    def save(fig, name):
        fig.tight_layout()
        atomic_write(os.path.join(out, name), lambda fh: fig.savefig(fh, format="png"))
        return name

    def new(w=5.8, h=4.0):
        fig = Figure(figsize=(w, h), dpi=110)
        FigureCanvasAgg(fig)
        return fig, fig.add_subplot(1, 1, 1)

    pngs = {}
    dv = f["delta_vs_T"]
    fig, ax = new()
    T = np.array(dv["T_K"])
    ax.plot(T - 273.15, dv["delta"], "o-", label="Δ = E_b / k_B T (minimum-energy path)")
    ax.plot(T - 273.15, np.array(dv["coherent_J"]) / (kB * T), "s--", alpha=0.6,
            label="coherent rotation K_eff V / k_B T (zero field)")
    ax.axhline(dv["delta_required_at_T_hot"], color="C3", ls=":", label=f"required at {dv['T_hot_K'] - 273.15:.0f} °C")
    ax.axvline(dv["T_hot_K"] - 273.15, color="C3", alpha=0.3)
    ax.set_xlabel("T (°C)")
    ax.set_ylabel("Δ")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{d['cell']['name']}: thermal stability", fontsize=10)
    pngs["delta"] = save(fig, "delta_vs_T.png")
    sw = f["switching"]
    fig = Figure(figsize=(9.0, 3.8), dpi=110)
    FigureCanvasAgg(fig)
    a1, a2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    unit = "A/m²" if d["cell"]["write"] == "sot" else "V"
    x = np.array(sw["drives"])
    ts = np.array([np.nan if v is None else v for v in sw["t_switch_s"]], dtype=float)
    a1.plot(x, ts * 1e9, "o-")
    a1.set_xlabel(f"drive ({unit})")
    a1.set_ylabel("switching time (ns), T = 0")
    a1.grid(True, alpha=0.3)
    a2.plot(x, np.array(sw["write_energy_J"]) * 1e15, "o-", color="C1")
    a2.set_xlabel(f"drive ({unit})")
    a2.set_ylabel("write energy (fJ)")
    a2.grid(True, alpha=0.3)
    pngs["switching"] = save(fig, "switching.png")
    tab = f["wer"]["table"]
    fig, ax = new()
    x = np.array([r["drive"] for r in tab])
    wer = np.array([r["WER"] for r in tab])
    lo = np.array([r["CI95_low"] for r in tab])
    hi = np.array([r["CI95_high"] for r in tab])
    e = wer > 0
    if e.any():
        ax.errorbar(x[e], wer[e], yerr=[wer[e] - lo[e], hi[e] - wer[e]], fmt="o", capsize=3, label="WER, 95 % CI")
    if (~e).any():
        ax.plot(x[~e], hi[~e], "v", color="C3", label="no error: 95 % upper bound")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-6, 0.3 * min([v for v in np.r_[lo[e], hi] if v > 0] or [0.01])), 1.5)
    ax.set_xlabel(f"drive ({unit})")
    ax.set_ylabel("write error rate")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"WER at {f['wer']['T_K']:g} K, {tab[0]['N']} members per drive", fontsize=10)
    pngs["wer"] = save(fig, "wer.png")
    cr = f["critical"]
    if "growth_rates_per_s" in cr:
        fig, ax = new()
        ax.plot(cr["drives_V"], np.array(cr["growth_rates_per_s"]) * 1e-9, "o", label="growth rate of a small tilt")
        xx = np.linspace(0, max(cr["drives_V"]) * 1.05, 50)
        p = np.polyfit(cr["drives_V"], cr["growth_rates_per_s"], 1)
        ax.plot(xx, np.polyval(p, xx) * 1e-9, "-", alpha=0.6, label=f"fit: V_c0 = {cr['Vc0_V']:.3g} V")
        ax.axhline(0, color="k", lw=0.8)
        ax.axvline(cr["Ic0_macrospin_A"] * cr["R_P_ohm"], color="C3", ls=":", label="macrospin V_c0")
        ax.set_xlabel("|bias| (V)")
        ax.set_ylabel("growth rate (1/ns)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        pngs["critical"] = save(fig, "critical.png")
    elif "J_scan_A_per_m2" in cr:
        fig, ax = new()
        ax.plot(cr["J_scan_A_per_m2"], np.array(cr["switched"], dtype=float), "o")
        ax.axvline(cr["Jc_macrospin_A_per_m2"], color="C3", ls=":", label="macrospin J_c")
        ax.set_xlabel("J (A/m²)")
        ax.set_ylabel("switched (T = 0, slow ramp)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        pngs["critical"] = save(fig, "critical.png")
    return pngs


def _fmt(x, unit="", digits=4):
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    return f"{x:.{digits}g}{' ' + unit if unit else ''}"


def _write_markdown(out, f, d, pngs, spec):
    from .io.atomic import atomic_write

    c, rv, cr, rd = d["cell"], f["retention"], f["critical"], f["read"]
    L = [f"# Cell report: {c['name']} ({c['write'].upper()}){' — quick form' if spec.quick else ''}", "",
         f"Spec `{spec.path}` (hash {spec.hash}); free layer "
         f"{'disc ' + _fmt(c['diameter'] * 1e9) + ' nm' if 'diameter' in c else 'ellipse ' + ' × '.join(_fmt(v * 1e9) for v in c['size']) + ' nm'}"
         f", {_fmt(c['thickness'] * 1e9)} nm thick, cells of {_fmt(c['cell'] * 1e9)} nm; operating temperature "
         f"{_fmt(d['write']['temperature'])} K. All numbers come from the micromagnetic model of this cell; "
         "the data of every figure is in `figures.json`.", "",
         "## Verdict", "",
         f"- **Retention**: {'PASS' if rv['passes'] else 'FAIL'} — Δ({_fmt(rv['T'], digits=5)} K) = {_fmt(rv['delta'])} against "
         f"{_fmt(rv['delta_required'])} required for {_fmt(rv['years'])} years of {rv['n_bits']} bits with a failure "
         f"budget of {_fmt(rv['fail_budget'])} (τ0 = {_fmt(rv['tau0'])} s; P_fail = {_fmt(rv['failure_probability'], digits=3)}).",
         ]
    rf = f.get("retention_computed_f0")
    if rf:
        L.append(f"- **Retention, attempt frequency from the landscape**: {'PASS' if rf['passes'] else 'FAIL'} — "
                 f"f0 = {_fmt(1.0 / rf['tau0'], 'Hz', 3)} (Langer's harmonic rate for the LLG at {_fmt(rf['T'], digits=5)} K; "
                 f"τ0 = {_fmt(rf['tau0'])} s): Δ required {_fmt(rf['delta_required'])}, P_fail = "
                 f"{_fmt(rf['failure_probability'], digits=3)}.")
    for T, fl in zip(f["delta_vs_T"]["T_K"], f["delta_vs_T"].get("flags", [])):
        for x in fl:
            L.append(f"- **WARNING** Δ({_fmt(T, digits=5)} K): {x}")
    if rd:
        L.append(f"- **Read disturb**: {'PASS' if rd['passes'] else 'FAIL'} — {_fmt(rd['n_reads'])} reads of "
                 f"{_fmt(rd['t_read_s'] * 1e9)} ns at {_fmt(rd['V_read_V'])} V flip a bit with P = "
                 f"{_fmt(rd['P_disturb_n_reads'], digits=3)} (budget {_fmt(rd['budget'])}); largest read bias within "
                 f"the budget {_fmt(rd['V_read_max_V'], 'V')}.")
    L += signoff.md_verdict(f, d)
    L += signoff.md_material(f)
    L += ["", "## Thermal stability", "", f"![Δ(T)]({pngs['delta']})", "",
          "| T (K) | T (°C) | E_b (J) | Δ | ± (uncertainty) | K_eff V / k_B T (coherent, zero field) | string | saddle check | f0 (Hz) |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    dv = f["delta_vs_T"]
    nT = len(dv["T_K"])
    for T, D, Eb, Ec, st, sp, un, ok, f0 in zip(dv["T_K"], dv["delta"], dv["barrier_J"], dv["coherent_J"], dv["status"],
                                                dv["barrier_spread_J"], dv.get("barrier_uncertainty_J", [None] * nT),
                                                dv.get("saddle_check_passed", [None] * nT), dv.get("f0_Hz", [None] * nT)):
        u = un if un is not None else (sp / 2 if sp is not None and math.isfinite(sp) else None)
        spd = "—" if u is None else _fmt(u / (kB * T), digits=2)
        chk = "—" if ok is None else ("passed" if ok else "**FAILED**")
        L.append(f"| {_fmt(T, digits=5)} | {_fmt(T - 273.15, digits=3)} | {_fmt(Eb)} | {_fmt(D)} | {spd} | {_fmt(Ec / (kB * T))} | {st} | {chk} | {_fmt(f0, digits=3) if f0 else '—'} |")
    L += ["", f"Barrier: string method with a climbing image (`micromag.energy_barrier`) on {_fmt(d['barrier'].get('cell', c['cell']) * 1e9)} nm "
          f"cells, material at each T by `Material.at(T)`; 'settled': the barrier stopped changing (± half its "
          "last variation) while the saddle torque stayed above tol_torque (the grid's pinning ripple). "
          f"The minimum-energy path at {_fmt(f['energy_path']['T_K'])} K:", "",
          "![energy path](energy_path.png)", "", "Its saddle is in `saddle.vti` (ParaView).", "",
          "## Critical current and write efficiency", ""]
    if c["write"] == "stt":
        L += [f"- Ic0 = {_fmt(cr['Ic0_A'] * 1e6, 'µA')}, Jc0 = {_fmt(cr['Jc0_A_per_m2'], 'A/m²')}, V_c0 = "
              f"{_fmt(cr['Vc0_V'], 'V')} ({cr['method']})",
              f"- macrospin: Ic0 = 2eα K_eff V/(ħε) = {_fmt(cr['Ic0_macrospin_A'] * 1e6, 'µA')} (ratio simulated / "
              f"macrospin {_fmt(cr['Ic0_sim_over_macrospin'], digits=3)}; K_eff = {_fmt(cr['K_eff_J_per_m3'], 'J/m³')})"]
    elif c["write"] == "sot":
        br = cr["Jc_bracket_A_per_m2"]
        L += [f"- J_c = {_fmt(cr['Jc_A_per_m2'], 'A/m²')} ("
              + (f"bracket {_fmt(br[0])} … {_fmt(br[1])}" if br else "no bracket: none or all of the scanned currents switched")
              + f"), I_c = {_fmt(None if cr['Ic_A'] is None else cr['Ic_A'] * 1e6, 'µA')} in the line ({cr['method']})",
              f"- macrospin ({cr['formula']}): J_c = {_fmt(cr['Jc_macrospin_A_per_m2'], 'A/m²')}",
              f"- read-path STT Ic0 (macrospin) = {_fmt(cr['Ic0_A'] * 1e6, 'µA')}"]
    else:
        L += [f"- V at which VCMA cancels K_eff = {_fmt(cr['K_eff_J_per_m3'], 'J/m³')}: {_fmt(cr['V_cancel_V'], 'V')}",
              f"- read-path STT Ic0 (macrospin) = {_fmt(cr['Ic0_A'] * 1e6, 'µA')}"]
    if c["write"] == "vcma":
        L.append("- figure of merit Δ/Ic0: none (a VCMA write is driven by a voltage; see the write energy)")
    else:
        L.append(f"- figure of merit Δ({_fmt(d['write']['temperature'])} K)/I_c = {_fmt(f['figure_of_merit_per_uA'], '1/µA')}"
                 + (" (I_c: the write current in the line)" if c["write"] == "sot" else ""))
    if "critical" in pngs:
        L += ["", f"![critical]({pngs['critical']})"]
    st = f.get("stack")
    if st:
        off = st.get("offset_field_T", {}).get("mean")
        L += ["", "## The whole MTJ ([stack])", "",
              f"- offset field on the free layer (mean): {_fmt(None if off is None else off[2] * 1e3, 'mT')} along z"]
        if "delta" in st:
            L.append(f"- Δ_P = {_fmt(st['delta']['macrospin']['P'])}, Δ_AP = {_fmt(st['delta']['macrospin']['AP'])} at "
                     f"{_fmt(st['delta']['T_K'])} K (macrospin in the offset field, h = {_fmt(st['delta']['h'], digits=3)})")
        if "Ic0_A" in st:
            sim = st.get("Ic0_simulated_A", {})
            L.append("- Ic0 P→AP = " + _fmt(st["Ic0_A"]["P->AP"] * 1e6, "µA") + " closed form, "
                     + _fmt(sim.get("P->AP", float("nan")) * 1e6, "µA") + " simulated; AP→P = "
                     + _fmt(st["Ic0_A"]["AP->P"] * 1e6, "µA") + " closed form, "
                     + _fmt(sim.get("AP->P", float("nan")) * 1e6, "µA") + " simulated")
        for pair, B in st.get("spin_flop_field_T", {}).items():
            L.append(f"- SAF {pair} spin-flop field: {_fmt(B, 'T') if isinstance(B, float) else B}")
    sw = f["switching"]
    unit = "A/m²" if c["write"] == "sot" else "V"
    L += ["", "## Switching time and write energy (T = 0)", "", f"![switching]({pngs['switching']})", "",
          f"From {_fmt(sw['tilt0_deg'], digits=3)}° off the easy axis (the rms thermal angle); energy: {sw['energy_model']}.",
          "", f"| drive ({unit}) | t_switch (ns) | energy (fJ) | switched |", "| --- | --- | --- | --- |"]
    for x, t, E, s in zip(sw["drives"], sw["t_switch_s"], sw["write_energy_J"], sw["switched"]):
        L.append(f"| {_fmt(x)} | {_fmt(None if t is None else t * 1e9)} | {_fmt(E * 1e15)} | {_fmt(s)} |")
    w = f["wer"]
    L += ["", f"## Write-error rate at {_fmt(w['T_K'])} K", "", f"![WER]({pngs['wer']})", "",
          f"Switched: {w['switch']}; thermal members with seeds 0…N−1, 95 % Clopper–Pearson intervals.", "",
          f"| drive ({unit}) | N | errors | WER | 95 % CI | mean t_switch (ns) |", "| --- | --- | --- | --- | --- | --- |"]
    for r in w["table"]:
        L.append(f"| {_fmt(r['drive'])} | {r['N']} | {r['errors']} | {_fmt(r['WER'], digits=3)} | "
                 f"{_fmt(r['CI95_low'], digits=3)} … {_fmt(r['CI95_high'], digits=3)} | "
                 f"{_fmt(None if r['t_switch_mean_s'] is None else r['t_switch_mean_s'] * 1e9, digits=3)} |")
    if rd:
        L += ["", "## Read", "",
              f"- bias {_fmt(rd['V_read_V'], 'V')} for {_fmt(rd['t_read_s'] * 1e9, 'ns')}: TMR {_fmt(rd['TMR_at_V_read'] * 100, '%')}, "
              f"R_P = {_fmt(rd['R_P_ohm'], 'Ω')}, R_AP = {_fmt(rd['R_AP_ohm'], 'Ω')}",
              f"- read currents I_P = {_fmt(rd['I_read_P_A'] * 1e6, 'µA')}, I_AP = {_fmt(rd['I_read_AP_A'] * 1e6, 'µA')}: "
              f"margin ΔI = {_fmt(rd['delta_I_A'] * 1e6, 'µA')} ({_fmt(rd['read_margin'] * 100, '%', 3)} of I_P)",
              f"- disturb ({rd['model']}): I/Ic0 = {_fmt(rd['I_over_Ic0'], digits=3)}, Δ = {_fmt(rd['delta_at_T'])}; "
              f"one read P = {_fmt(rd['P_disturb_one_read'], digits=3)}, {_fmt(rd['n_reads'])} reads P = "
              f"{_fmt(rd['P_disturb_n_reads'], digits=3)}"]
    L += signoff.md_corners(f, d) + signoff.md_tails(f) + signoff.md_used(f, d)
    L += ["", "---", f"micromag cell report; this run {f['wall_s_this_run']:.1f} s."]
    atomic_write(os.path.join(out, "report.md"), ["\n".join(L).encode() + b"\n"])


# ---------------------------------------------------------------------------------------------- CLI
def cmd_cell(args):
    if args.backend:
        os.environ["MICROMAG_BACKEND"] = args.backend
    spec = load_cell_spec(args.spec, quick=args.quick)  # every check happens here, before any work
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.spec)),
                                   f"cell-{spec.data['cell']['name']}{'-quick' if args.quick else ''}")
    try:
        cell_report(spec, out, quick=args.quick, backend=args.backend or "auto", workers=args.workers,
                    progress=not args.quiet)
    except RuntimeError as exc:  # some WER points failed: the rest is kept, running again retries them
        print(f"micromag cell: {exc}", file=sys.stderr)
        return 1
    return 0


def add_cell_parser(subparsers):
    """Add ``micromag cell SPEC.toml [--out DIR] [--quick]`` to the CLI."""
    s = subparsers.add_parser(
        "cell", help="the sign-off report of an MRAM cell (Δ(T), retention, Ic0, WER, read disturb) from a TOML spec",
        description="Compute the sign-off report of the cell in SPEC into OUT/report.md (PNG plots, figures.json, "
        "saddle.vti). Finished work is kept in OUT: running the same command again continues a killed run.")
    s.add_argument("spec", help="the cell spec (.toml); see examples/cells/")
    s.add_argument("--out", default=None, help="output folder (default: cell-NAME next to the spec)")
    s.add_argument("--quick", action="store_true", help="the reduced form (minutes on 2 CPU cores)")
    s.add_argument("--backend", choices=("auto", "cpu", "gpu"), default=None)
    s.add_argument("--workers", type=workers_arg, default=None, help="processes for the WER ensembles (default: cores)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    s.set_defaults(func=cmd_cell)
    return s
