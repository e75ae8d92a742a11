"""Field evaluations of ``sim.relax()`` on the µMAG standard problem 4 s-state, against OOMMF's minimizer.

    python benchmarks/bench_relax.py                       # this checkout, backends cpu and emulate
    python benchmarks/bench_relax.py --before DIR          # also another checkout (e.g. the one before the
                                                           # new relax) in a subprocess, for before/after
    python benchmarks/bench_relax.py --json PATH

SP4: 500 × 125 × 3 nm Permalloy (Ms = 8e5 A/m, A = 1.3e-11 J/m), 128×32×1 cells, m = (1, 0.1, 0), no
field; ``sim.relax()`` with its default target, max |m × B_eff| < 1e-5 T. A *field evaluation* is one
evaluation of B_eff (demag FFT, exchange, ...): every call of ``llg.effective_field``, which is also what
``llg(m, t, out)`` does first on the CPU backend, so RHS evaluations of the RK steps and the torque checks
are all counted. The target (from the issue): at most twice OOMMF's 574 evaluations of its CG minimizer
to the same state (quoted, not measured here), i.e. <= 1148. The final <m>, energy and torque are kept
so the state can be compared with ``minimize()`` and MuMax3's relaxed <m> = (0.96697, 0.12527, 0).

Results go to ``benchmarks/results/relax-<host>-<date>.json`` with the machine and the date.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OOMMF_EVALS = 574  # quoted in the issue (OOMMF CG minimizer on the SP4 s-state), not measured here


def measure(backend, n=(128, 32, 1)):
    """One relax() and one minimize() of the SP4 s-state in this process's micromag."""
    import numpy as np

    import micromag as mm

    grid = mm.Grid(n=n, cell=(500e-9 / n[0], 125e-9 / n[1], 3e-9))
    mat = mm.Material(Ms=8.0e5, A=1.3e-11, alpha=0.02, gamma=2.211e5 / mm.mu0)
    out = {"backend": backend, "n": list(n), "micromag_path": os.path.dirname(mm.__file__)}
    for method in ("relax", "minimize"):
        sim = mm.Simulation(grid, material=mat, backend=backend)
        sim.m = (1, 0.1, 0)
        llg = sim.llg
        count = [0]
        inner = llg.effective_field

        def counted(*a, **k):
            count[0] += 1
            return inner(*a, **k)

        llg.effective_field = counted  # every B_eff evaluation (llg() on the CPU goes through it too)
        if backend != "cpu":  # the device RHS computes B_eff inside its kernel: count those calls too
            base = type(llg)

            class Counted(base):
                def __call__(self, m, t, out):
                    count[0] += 1
                    return base.__call__(self, m, t, out)

            llg.__class__ = Counted
        n0 = llg.nevals
        t0 = time.perf_counter()
        tq = getattr(sim, method)(tol_torque=1e-5, progress=False)
        wall = time.perf_counter() - t0
        out[method] = {
            "field_evaluations": count[0],
            "llg_nevals": llg.nevals - n0,
            "wall_s": wall,
            "max_torque_T": float(np.max(tq)),
            "m_avg": [float(v) for v in sim.m_avg],
            "energy_J": float(sim.energy()),
        }
    r, mi = out["relax"], out["minimize"]
    out["relax_vs_minimize_max_dm"] = float(np.abs(np.subtract(r["m_avg"], mi["m_avg"])).max())
    return out


def _machine():
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"hostname": socket.gethostname(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "loadavg": load}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["cpu", "emulate"])
    ap.add_argument("--before", default=None, help="another checkout to measure in a subprocess (before)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:  # measure in this interpreter and print JSON (used for --before)
        print(json.dumps([measure(b) for b in args.backends]))
        return 0
    sys.path.insert(0, str(HERE.parent))  # benchmark this checkout, installed or not
    res = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": _machine(),
           "case": "SP4 s-state, 128x32x1, m0 = (1, 0.1, 0), tol_torque = 1e-5 T",
           "oommf_cg_evaluations_quoted": OOMMF_EVALS, "target_evaluations": 2 * OOMMF_EVALS,
           "command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:]))}
    res["after"] = [measure(b) for b in args.backends]
    if args.before:
        env = dict(os.environ, PYTHONPATH=str(Path(args.before).resolve()))
        # the old relax exists on the CPU backend in any checkout; measure it there only
        p = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--_child", "--backends", "cpu"],
                           env=env, capture_output=True, text=True, timeout=3600, cwd=str(Path(args.before)))
        if p.returncode != 0:
            print(p.stderr, file=sys.stderr)
            return 1
        res["before"] = json.loads(p.stdout.strip().splitlines()[-1])
        res["before_checkout"] = str(Path(args.before).resolve())
    for tag in ("before", "after"):
        for r in res.get(tag, []):
            print(f"{tag:6s} {r['backend']:8s} relax: {r['relax']['field_evaluations']:6d} field evaluations "
                  f"{r['relax']['wall_s']:6.2f} s  max torque {r['relax']['max_torque_T']:.3g} T  "
                  f"<m> = {r['relax']['m_avg'][0]:.6f} {r['relax']['m_avg'][1]:.6f}   minimize: "
                  f"{r['minimize']['field_evaluations']} evaluations; |<m> relax - minimize| = "
                  f"{r['relax_vs_minimize_max_dm']:.2g}")
    print(f"target: <= {2 * OOMMF_EVALS} field evaluations (2 x OOMMF's {OOMMF_EVALS}, quoted)")
    path = args.json
    if path is None:
        host = "ci" if os.environ.get("CI") else (socket.gethostname().split(".")[0] or "host")
        path = HERE / "results" / f"relax-{host}-{datetime.date.today().strftime('%Y%m%d')}.json"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
