"""The cell spec: the TOML reader (each error names the file and line), its validation and defaults,
and :class:`CellSpec` (the checked spec every stage reads)."""
from __future__ import annotations

import hashlib
import json
import math
import os
import re

import numpy as np

from ..sweep import SpecError, toml_key_lines, SpecLocation
from ...engine.validation import check_int, check_number
from .cell import build_cell, material_at


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
    try:  # the package's number rules (micromag.engine.validation), the error located in the file
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
    if kind == "vec3":  # a uniform applied field, T (e.g. the stray field of a reference stack: micromag.apps.stack)
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
        stack_doc = doc.pop("stack", None)  # the whole MTJ: micromag.apps.stack.Stack.from_dict checks it
        self.stack = None
        if stack_doc is not None:
            from ..stack import Stack

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
        from ..array_stats import ArraySpread
        from ..temperature import MeasuredTemperatureDependence

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
        return material_at(self.data["material"], self.data["cell"]["thickness"], T)

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
    """Read and check a cell spec (TOML); raises :class:`micromag.apps.sweep.SpecError` naming the line."""
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
