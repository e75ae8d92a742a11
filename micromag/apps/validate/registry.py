"""The validation registry: a Case is a physical setup, a reference, the quantities compared, each with a
tolerance and the reason for that tolerance. Running a case gives a Result with one Row per quantity.

A case function has the signature ``fn(quick, backend, p) -> Result`` where ``p`` is a :class:`Perturb`
(default: the unbroken physics). Tests pass a perturbation on purpose (exchange constant off by 10 %, SOT
sign flipped, ...) and check that the case then fails: a check that cannot fail is a defect.
"""
from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

PERTURBATIONS = {
    "A_scale": "exchange stiffness A multiplied by this factor in the simulation (the reference keeps the nominal A)",
    "Ms_scale": "saturation magnetization Ms multiplied by this factor in the simulation",
    "gamma_scale": "gyromagnetic ratio multiplied by this factor",
    "T_scale": "temperature multiplied by this factor",
    "theta_sign": "sign of the spin Hall angle flipped (-1)",
    "J_sign": "sign of the Zhang-Li current flipped (-1)",
    "B_sign": "sign of the applied field flipped (-1)",
    "Kperp_scale": "hard-axis anisotropy multiplied by this factor",
}


class Perturb(dict):
    """Deliberate breakages of the physics; missing keys mean 'unbroken' (scale 1, sign +1)."""

    def __init__(self, d=None):
        d = dict(d or {})
        unknown = set(d) - set(PERTURBATIONS)
        if unknown:
            raise ValueError(f"unknown perturbation(s) {sorted(unknown)}; known: {sorted(PERTURBATIONS)}")
        super().__init__(d)

    def __getattr__(self, k):
        if k in PERTURBATIONS:
            return float(self.get(k, 1.0))
        raise AttributeError(k)


@dataclass
class Row:
    """One compared quantity. ``ours``/``reference`` are numbers (or short strings for yes/no checks)."""

    quantity: str
    ours: object
    reference: object
    tolerance: str
    passed: bool
    deviation: object = None
    unit: str = ""


@dataclass
class Result:
    case: str
    status: str = "fail"  # pass | fail | unavailable | error
    rows: list = field(default_factory=list)
    series: list = field(default_factory=list)  # dicts: label, x, y, kind ('ours'|'ref'), optional ax
    xlabel: str = ""
    ylabel: str = ""
    plot: object = None  # optional callable(fig) drawing the figure itself
    note: str = ""
    wall: float = 0.0
    setup: str = ""

    @property
    def passed(self):
        return self.status == "pass"

    # helpers used by the cases -------------------------------------------------------------------
    def compare(self, quantity, ours, reference, atol=None, rtol=None, unit="", why=""):
        """Add a numeric row: passes when |ours − reference| <= atol (or <= rtol·|reference|)."""
        ours, reference = float(ours), float(reference)
        dev = abs(ours - reference)
        if rtol is not None:
            lim = rtol * abs(reference)
            tol = f"rel {rtol:.3g}"
            devshow = dev / abs(reference) if reference else math.inf
        else:
            lim = atol
            tol = f"{atol:.3g}{(' ' + unit) if unit else ''}"
            devshow = dev
        ok = bool(math.isfinite(ours) and dev <= lim)
        self.rows.append(Row(quantity, ours, reference, tol, ok, devshow, unit))
        return ok

    def check(self, quantity, ours, reference, passed, tolerance="must hold"):
        """Add a yes/no row (a qualitative requirement)."""
        self.rows.append(Row(quantity, ours, reference, tolerance, bool(passed)))
        return bool(passed)

    def add_series(self, label, x, y, kind="ours", ax=0):
        self.series.append(dict(label=label, x=np.asarray(x, float), y=np.asarray(y, float), kind=kind, ax=ax))


@dataclass
class Case:
    """A validation case.

    name, description : what is simulated.
    reference, source : what we compare against and where it comes from (a file in micromag/apps/validate/data,
        copied from ../shared/reference, or an analytic formula with its citation).
    quantity : what is compared.
    tolerance : the tolerance(s) and why (discretization, published spread between solvers, statistics).
    fn : fn(quick, backend, perturb) -> Result.
    breaks : the perturbation the case must detect (tests run it and require a failure).
    requires : modules imported by the case; an ImportError at run time makes the case 'unavailable'.
    dims : '0D' | '1D' | '2D' | '3D' (the `--full` runs on a CPU are meant for 0D-2D).
    quick_time : rough quick-form wall time on 2 loaded CPU cores (s), for the docs.
    """

    name: str
    description: str
    reference: str
    source: str
    quantity: str
    tolerance: str
    fn: object
    breaks: dict
    requires: tuple = ()
    dims: str = "0D"
    quick_time: float = 0.0

    def run(self, quick=True, backend="auto", perturb=None):
        p = Perturb(perturb)
        t0 = time.perf_counter()
        try:
            res = self.fn(quick, backend, p)
            res.status = "pass" if res.rows and all(r.passed for r in res.rows) else "fail"
        except ImportError as exc:  # a device term that does not exist (yet)
            res = Result(self.name, status="unavailable", note=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a crash is a failure, reported with its reason
            res = Result(self.name, status="error",
                         note=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
        res.case = self.name
        res.wall = time.perf_counter() - t0
        if perturb:
            res.note = (res.note + "\n" if res.note else "") + f"perturbed on purpose: {dict(perturb)}"
        return res


REGISTRY: list = []


def register(**kw):
    """Decorator: ``@register(name=..., ...)`` on a case function appends a Case to REGISTRY (fixed order)."""

    def deco(fn):
        if any(c.name == kw["name"] for c in REGISTRY):
            raise ValueError(f"duplicate case name {kw['name']}")
        REGISTRY.append(Case(fn=fn, **kw))
        return fn

    return deco


def get_case(name):
    for c in REGISTRY:
        if c.name == name:
            return c
    raise KeyError(f"no validation case {name!r}; known: {', '.join(c.name for c in REGISTRY)}")
