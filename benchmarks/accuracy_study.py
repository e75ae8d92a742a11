"""Accuracy study of the adaptive step control: field evaluations against the error of <m>(t).

    python benchmarks/accuracy_study.py [--quick] [--problems sp4 sp5 mram macrospin]
                                        [--integrators rk45 rkf54 rkf54s] [--tols 1e-4 1e-5 1e-6 1e-7]
                                        [--controllers] [--json PATH]

For every problem, integrator and tol: run the problem on the CPU backend, record <m>(t) at the problem's
output times, the field evaluations (``sim.llg.nevals``), steps, rejected steps and wall time, and compare
<m>(t) with a reference run of the same problem at a tight tolerance (RK45, tol 1e-10, dt_max 1e-12: its
own error is far below every figure here; the macrospin is compared with its closed-form solution as
well). The error reported is max over the output times of max_i |<m_i>(t) − <m_i>_ref(t)| (dimensionless)
and the same at the final time.

Problems (every one starts from a fixed state, so all runs of a problem integrate the same trajectory):

``sp4``        µMAG standard problem 4, field 1, 128×32×1 cells (3.9 × 3.9 × 3 nm), α = 0.02: 1 ns from the
               s-state (minimized once, to 1e-7 T), <m> every 10 ps.  Exchange-stiff: the step sits at the
               integrator's stability limit.
``sp5``        µMAG standard problem 5 (spin-transfer torque, Zhang–Li): Py 100 × 100 × 10 nm in 40×40×1
               cells, α = 0.1, ξ = 0.05, P·J = 1e12 A/m² along x, from the relaxed vortex, 1 ns, every 10 ps.
``mram``       Slonczewski spin-transfer switching of a perpendicular free layer (an MRAM bit): 40 × 40 ×
               1.5 nm in 16×16×1 cells, Ms = 1.1e6 A/m, A = 2e-11 J/m, Ku1 = 1e6 J/m³ along z, α = 0.01,
               P = 0.6, J = 2e11 A/m² with p = +z, from m tilted 3° off −z; 2 ns, every 10 ps (it switches).
``macrospin``  one cell, no demag, 1 T along z, α = 0.01, m(0) = (1, 0, 0.1) normalized, dt_max 1e-10 s:
               1 ns, every 10 ps (28 precession periods). Nothing stiff: the step is set by accuracy alone.

``--controllers`` adds variants of the controller on sp4 and macrospin with the default integrator
(implemented here, not in the package): headroom 0.9 instead of 0.8; a PI controller (Gustafsson:
fac = (tol/err)^(0.7/k) (err_prev/tol)^(0.4/k), k = q + 1); the RMS error norm over cells (SciPy's
choice) instead of the max norm (MuMax3's and OOMMF's); and OOMMF's rate control (the error per step
compared with min(1 °/ns, 0.01 max|dm/dt|) · dt, exponent 1/4) at OOMMF's default settings.

Results: ``benchmarks/results/accuracy-<host>-<date>.json`` and a Markdown table beside it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

import micromag as mm  # noqa: E402
from micromag.engine.integrators import Stepper, normalize  # noqa: E402

GAMMA_SP = 2.211e5 / mm.mu0  # the µMAG γ0 over μ0, rad/(s·T)
REF = dict(integrator="rk45", tol=1e-10, dt_max=1e-12)


# ---------------------------------------------------------------------------------------------- problems
def _sp4(integrator, tol, **kw):
    g = mm.Grid(n=(128, 32, 1), cell=(500e-9 / 128, 125e-9 / 32, 3e-9))
    mat = mm.Material(Ms=8.0e5, A=1.3e-11, alpha=0.02, gamma=GAMMA_SP)
    sim = mm.Simulation(g, material=mat, backend="cpu", integrator=integrator, tol=tol, **kw)
    sim.m = _start("sp4", sim)
    sim.B_ext = (-24.6e-3, 4.3e-3, 0.0)
    return sim


def _sp5(integrator, tol, **kw):
    from micromag.engine.terms.zhangli import ZhangLiSTT

    g = mm.Grid(n=(40, 40, 1), cell=(2.5e-9, 2.5e-9, 10e-9))
    mat = mm.Material(Ms=8.0e5, A=1.3e-11, alpha=0.1, gamma=GAMMA_SP)
    sim = mm.Simulation(g, material=mat, backend="cpu", integrator=integrator, tol=tol, **kw)
    sim.m = _start("sp5", sim)
    sim.add(ZhangLiSTT(sim.system, J=(1e12, 0.0, 0.0), P=1.0, xi=0.05))
    return sim


def _mram(integrator, tol, **kw):
    from micromag.engine.terms.stt import SlonczewskiSTT

    g = mm.Grid(n=(16, 16, 1), cell=(2.5e-9, 2.5e-9, 1.5e-9))
    mat = mm.Material(Ms=1.1e6, A=2e-11, alpha=0.01, Ku1=1e6, anis_u=(0, 0, 1))
    sim = mm.Simulation(g, material=mat, backend="cpu", integrator=integrator, tol=tol, **kw)
    th = math.radians(3.0)
    sim.m = (math.sin(th), 0.0, -math.cos(th))
    sim.add(SlonczewskiSTT(sim.system, J=2e11, p=(0, 0, 1), P=0.6))
    return sim


def _macrospin(integrator, tol, **kw):
    kw.setdefault("dt_max", 1e-10)
    g = mm.Grid(n=(1, 1, 1), cell=(5e-9, 5e-9, 5e-9))
    mat = mm.Material(Ms=8e5, A=0.0, alpha=0.01, gamma=GAMMA_SP)
    sim = mm.Simulation(g, material=mat, backend="cpu", demag=False, integrator=integrator, tol=tol, **kw)
    sim.m = (1.0, 0.0, 0.1)
    sim.B_ext = (0.0, 0.0, 1.0)
    return sim


def macrospin_exact(t):
    """Gilbert-form solution for a field B along z: polar angle θ(t) from tan(θ/2) = tan(θ0/2) e^(−αγBt/(1+α²)),
    azimuth φ(t) = γ B t/(1 + α²) (counter-clockwise for γ > 0); m(0) = (1, 0, 0.1)/|.|."""
    alpha, B = 0.01, 1.0
    th0 = math.acos(0.1 / math.sqrt(1.01))
    w = GAMMA_SP * B / (1 + alpha**2)
    th = 2 * np.arctan(np.tan(th0 / 2) * np.exp(-alpha * w * t))
    return np.stack([np.sin(th) * np.cos(w * t), np.sin(th) * np.sin(w * t), np.cos(th)], axis=-1)


PROBLEMS = {
    "sp4": (_sp4, 1e-9, 1e-11),
    "sp5": (_sp5, 1e-9, 1e-11),
    "mram": (_mram, 2e-9, 1e-11),
    "macrospin": (_macrospin, 1e-9, 1e-11),
}
_STARTS = {}


def _start(name, sim):
    """The fixed start state of a problem (computed once per process)."""
    if name not in _STARTS:
        if name == "sp4":
            sim.m = (1, 0.1, 0)
            sim.minimize(tol_torque=1e-7, progress=False)
        elif name == "sp5":
            sim.m = lambda x, y, z: (-y, x, 10e-9 + 0 * z)  # the grid is centred on the origin
            sim.minimize(tol_torque=1e-7, progress=False)
        _STARTS[name] = np.array(sim.m, copy=True)
    return _STARTS[name]


def run_problem(name, integrator, tol, duration=None, stepper=None, **kw):
    build, dur, every = PROBLEMS[name]
    dur = dur if duration is None else duration
    sim = build(integrator, tol, **kw)
    if stepper is not None:  # a controller variant (this file), in place of the package's stepper
        sim._stepper = stepper(sim)
        sim._stepper.thermal = False
    n0 = sim.llg.nevals
    ts = np.arange(1, int(round(dur / every)) + 1) * every
    traj = []
    t0 = time.perf_counter()
    for t in ts:
        sim.run(t - sim.t, progress=False)
        traj.append(np.array(sim.m_avg, dtype=float))
    wall = time.perf_counter() - t0
    st = sim._stepper
    return {"t": ts, "m": np.array(traj), "evals": int(sim.llg.nevals - n0), "steps": int(st.nsteps),
            "rejected": int(st.nrejected), "wall_s": wall}


# ---------------------------------------------------------------------------------------------- controller variants
class VariantStepper(Stepper):
    """Stepper with a different controller, for the study only: ``headroom``, ``pi`` (Gustafsson's PI
    control), ``norm`` ("max" or "rms" over cells) or ``oommf`` (OOMMF's rate control, default settings)."""

    def __init__(self, *a, pi=False, norm="max", oommf=False, **kw):
        super().__init__(*a, **kw)
        self.pi, self.norm, self.oommf = pi, norm, oommf
        self.err_prev = np.full(self.shape[0], np.nan)

    def step(self, m, t, t_end=None):
        tab = self.tab
        B = m.shape[0]
        dt = self.dt.copy()
        if t_end is not None:
            rem = np.asarray(t_end, dtype=float) - t
            dt = np.minimum(dt, rem)
            dt = np.where(rem <= dt * (1 + 1e-9), rem, dt)
            dt = np.maximum(dt, 0.0)
        active = dt > 0
        if not active.any():
            return active
        k = self.k
        if not (tab.fsal and self.k0_valid):
            self._eval(m, t, k[0])
        for i in range(1, tab.stages):
            self._combine(m, dt, tab.a[i], i, self.y)
            self._eval(self.y, t + tab.c[i] * dt, k[i])
        mnew = self.y
        ev = np.zeros_like(m)
        for ej, kj in zip(tab.e, k):
            if ej:
                ev += (dt * ej)[:, None, None, None, None] * kj
        cellerr = np.sqrt(np.einsum("bc...,bc...->b...", ev, ev)).reshape(B, -1)
        if self.norm == "rms":
            mag = (self.mask.reshape(-1) > 0) if self.mask is not None else slice(None)
            err = np.sqrt((cellerr[:, mag] ** 2).mean(axis=1))
        else:
            err = cellerr.max(axis=1)
        q = tab.err_order
        if self.oommf:  # OOMMF: error per step against min(1 deg/ns, 0.01 max|dm/dt|) dt, and 0.2 deg absolute
            kmax = np.sqrt(np.einsum("bc...,bc...->b...", k[0], k[0])).reshape(B, -1).max(axis=1)
            allowed = np.minimum(math.radians(1.0) * 1e9, 0.01 * kmax) * dt
            accept = (err <= allowed) & (err <= math.radians(0.2))
            fac = np.minimum((allowed / np.maximum(err, 1e-300)) ** (1.0 / q),
                             (math.radians(0.2) / np.maximum(err, 1e-300)) ** (1.0 / (q + 1)))
        else:
            accept = err <= self.tol
            ratio = self.tol / np.maximum(err, 1e-300)
            if self.pi:
                prev = np.where(np.isfinite(self.err_prev), self.err_prev, err)
                fac = ratio ** (0.7 / (q + 1)) * (np.maximum(prev, 1e-300) / self.tol) ** (0.4 / (q + 1))
            else:
                fac = ratio ** (1.0 / (q + 1))
        fac = np.clip(self.headroom * fac, 0.2, 2.0)
        newdt = np.clip(dt * fac, self.dt_min, self.dt_max)
        newdt = np.where(accept & (dt < self.dt), np.maximum(newdt, self.dt), newdt)
        self.dt = np.where(active, newdt, self.dt)
        self.err_prev = np.where(accept, err, self.err_prev)
        accept &= active
        self.nrejected += int((active & ~accept).sum())
        if accept.any():
            m[accept] = normalize(mnew[accept], self.mask)
            k[0][accept] = k[-1][accept]
        t += np.where(accept, dt, 0.0)
        self.k0_valid = True
        self.nsteps += 1
        return accept


def variant(**opts):
    headroom = opts.pop("headroom", 0.8)

    def make(sim):
        return VariantStepper(sim.llg, sim.integrator, sim._shape, mask=sim._mask, tol=sim.tol, dt=sim._dt0,
                              dt_min=sim.dt_min, dt_max=sim.dt_max, headroom=headroom, **opts)
    return make


CONTROLLERS = {
    "package (I control, headroom 0.8, max norm)": {},
    "same, reimplemented here (check)": {"_variant": {}},
    "headroom 0.9": {"_variant": {"headroom": 0.9}},
    "PI control (0.7, 0.4)": {"_variant": {"pi": True}},
    "RMS norm over cells": {"_variant": {"norm": "rms"}},
    "OOMMF rate control (1 deg/ns, 0.01 max|dm/dt|, 0.2 deg)": {"_variant": {"oommf": True}},
}


# ---------------------------------------------------------------------------------------------- main
def errors(r, ref):
    d = np.abs(r["m"] - ref["m"]).max(axis=1)
    return float(d.max()), float(d[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    ap.add_argument("--integrators", nargs="+", default=["rk45", "rkf54", "rkf54s"])
    ap.add_argument("--tols", nargs="+", type=float, default=[1e-4, 1e-5, 1e-6, 1e-7])
    ap.add_argument("--controllers", action="store_true", help="also the controller variants (sp4, macrospin)")
    ap.add_argument("--quick", action="store_true", help="0.2 ns per problem (a smoke test of the script)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    now = datetime.datetime.now(datetime.timezone.utc)
    out = Path(args.json) if args.json else HERE / "results" / f"accuracy-{socket.gethostname()}-{now:%Y%m%d}.json"
    res = {"benchmark": "benchmarks/accuracy_study.py", "command": " ".join(["python", *sys.argv]),
           "date": now.isoformat(timespec="seconds"), "loadavg_start": list(os.getloadavg()),
           "reference": REF, "default": {"integrator": "see micromag.Simulation"}, "runs": [], "controllers": []}
    for name in args.problems:
        dur = 0.2e-9 if args.quick else None
        ref = run_problem(name, duration=dur, **REF)
        row = {"problem": name, "integrator": "reference " + REF["integrator"], "tol": REF["tol"],
               "evals": ref["evals"], "steps": ref["steps"], "rejected": ref["rejected"], "wall_s": ref["wall_s"],
               "m_final": ref["m"][-1].tolist()}
        if name == "macrospin":
            ex = macrospin_exact(ref["t"])
            row["err_vs_exact"] = float(np.abs(ref["m"] - ex).max())
        res["runs"].append(row)
        print(f"{name}: reference {ref['evals']} evals, {ref['wall_s']:.1f} s, <m>(end) {ref['m'][-1]}"
              + (f", vs exact {row['err_vs_exact']:.1e}" if "err_vs_exact" in row else ""), flush=True)
        dur_ns = (ref["t"][-1]) * 1e9
        for integ in args.integrators:
            for tol in args.tols:
                r = run_problem(name, integ, tol, duration=dur)
                emax, eend = errors(r, ref)
                res["runs"].append({"problem": name, "integrator": integ, "tol": tol, "evals": r["evals"],
                                    "evals_per_ns": r["evals"] / dur_ns, "steps": r["steps"],
                                    "rejected": r["rejected"], "wall_s": r["wall_s"], "err_max": emax,
                                    "err_end": eend, "m_final": r["m"][-1].tolist()})
                print(f"  {integ:7s} tol {tol:7.0e}: {r['evals']:6d} evals ({r['evals'] / dur_ns:7.0f}/ns), "
                      f"{r['steps']:5d} steps, {r['rejected']:3d} rejected, {r['wall_s']:6.2f} s, "
                      f"err max {emax:.1e}, at end {eend:.1e}", flush=True)
        if args.controllers and name in ("sp4", "macrospin"):
            import inspect

            sig = inspect.signature(mm.Simulation).parameters  # the package's default integrator and tol
            integ, dtol = sig["integrator"].default, sig["tol"].default
            # the macrospin is accuracy-limited: compare work against error over a range of tol
            tols = [dtol] if name == "sp4" else sorted({dtol * 10, dtol, dtol / 10, dtol / 100}, reverse=True)
            for label, spec in CONTROLLERS.items():
                stepper = variant(**spec["_variant"]) if "_variant" in spec else None
                for tol in tols:
                    r = run_problem(name, integ, tol, duration=dur, stepper=stepper)
                    emax, eend = errors(r, ref)
                    res["controllers"].append({"problem": name, "integrator": integ, "tol": tol, "controller": label,
                                               "evals": r["evals"], "steps": r["steps"], "rejected": r["rejected"],
                                               "wall_s": r["wall_s"], "err_max": emax, "err_end": eend})
                    print(f"  [{integ} tol {tol:g}] {label:58s}: {r['evals']:6d} evals, {r['rejected']:3d} "
                          f"rejected, err max {emax:.1e}", flush=True)
        res["loadavg_end"] = list(os.getloadavg())
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
    write_markdown(res, out.with_suffix(".md"))
    print(f"written {out} and {out.with_suffix('.md')}")
    return 0


def write_markdown(res, path):
    lines = [f"# Accuracy study ({res['date']}, `{res['command']}`)", "",
             f"Load average at start {res['loadavg_start']}, at end {res.get('loadavg_end')}. Error: max over the "
             "output times of max_i |<m_i> − <m_i>_ref| against RK45 at tol 1e-10, dt_max 1e-12.", "",
             "| problem | integrator | tol | evals | evals/ns | rejected | err max | err at end |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in res["runs"]:
        if "err_max" not in r:
            extra = f" (vs exact {r['err_vs_exact']:.1e})" if "err_vs_exact" in r else ""
            lines.append(f"| {r['problem']} | {r['integrator']} | {r['tol']:g} | {r['evals']} | | {r['rejected']} | "
                         f"0{extra} | |")
            continue
        lines.append(f"| {r['problem']} | {r['integrator']} | {r['tol']:g} | {r['evals']} | {r['evals_per_ns']:.0f} | "
                     f"{r['rejected']} | {r['err_max']:.1e} | {r['err_end']:.1e} |")
    if res["controllers"]:
        lines += ["", "| problem | controller | evals | rejected | err max | err at end |", "|---|---|---:|---:|---:|---:|"]
        for r in res["controllers"]:
            lines.append(f"| {r['problem']} ({r['integrator']}, tol {r['tol']:g}) | {r['controller']} | {r['evals']} | "
                         f"{r['rejected']} | {r['err_max']:.1e} | {r['err_end']:.1e} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
