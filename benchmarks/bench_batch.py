"""Batch throughput: 1, 16, 256 and 1024 members of a 64×64×1 film integrated together.

    python benchmarks/bench_batch.py [--sizes 1 16 256 1024] [--steps 10] [--backend cpu] [--json PATH]

Each member is a 256 × 256 × 2 nm Permalloy film (64 × 64 × 1 cells of 4 nm, demag and exchange on,
α = 0.02) starting at m = (1, 0.1, 0.05), with its own applied field (members differ: fields spread over
0–50 mT in several directions), integrated by ``mm.Batch`` with RK45 (per-member adaptive steps) for
the simulated time that the first member needs for ``--steps`` steps. Reported per batch size B:

- ``build s``: building the batch Simulation (demag kernel, buffers) and applying the member settings;
- ``run s``: wall time of the integration;
- ``member-steps/s``: Σ over members of the steps taken / run time (how many single-member steps the batch
  replaces per second);
- ``cell-RHS/s``: cells × members × right-hand-side evaluations / run time (the MuMax3 throughput metric);
- ``speed-up``: member-steps/s relative to B = 1.

Results go to ``benchmarks/results/batch-<host>-<date>.json``. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import micromag as mm  # noqa: E402
from micromag.engine.batch import Batch  # noqa: E402

GRID = mm.Grid(n=(64, 64, 1), cell=(4e-9, 4e-9, 2e-9))


def members(B):
    rng = np.random.default_rng(1)
    d = rng.normal(size=(B, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    amp = np.linspace(0.0, 0.05, B) if B > 1 else np.array([0.02])
    return [{"B_ext": tuple(a * v)} for a, v in zip(amp, d)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 1024])
    ap.add_argument("--steps", type=int, default=10, help="steps of the B = 1 run that fix the simulated time")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)

    def build(B):
        sim = mm.Simulation(GRID, material=mm.Permalloy(alpha=0.02), batch=B, backend=a.backend)
        sim.m = (1.0, 0.1, 0.05)
        return sim

    # simulated time: what one member covers in --steps steps (after a warm-up that fills caches)
    probe = build(1)
    probe.B_ext = members(1)[0]["B_ext"]
    probe.step(a.steps)
    duration = float(probe.t)
    print(f"64x64x1 film, {a.backend}, RK45, {duration * 1e12:.3g} ps per member "
          f"({a.steps} steps of a single member); {os.cpu_count()} cores")
    print(f"{'B':>6} {'build s':>9} {'run s':>9} {'steps':>8} {'member-steps/s':>15} {'cell-RHS/s':>12} {'speed-up':>9}")
    rows, base = [], None
    for B in a.sizes:
        mem = members(B)
        t0 = time.perf_counter()
        build(B)
        t_build = time.perf_counter() - t0
        batch = Batch(build, mem, chunk=B, keep_m=False)
        t0 = time.perf_counter()
        res = batch.run(duration)
        wall = time.perf_counter() - t0
        t_run = wall - t_build  # Batch.run builds the chunk itself
        steps = sum(r["steps"] for r in res)
        ms = steps / t_run
        cr = batch.member_evals * GRID.ncells / t_run if hasattr(GRID, "ncells") else \
            batch.member_evals * int(np.prod(GRID.shape)) / t_run
        base = base or ms
        rows.append(dict(B=B, build_s=t_build, run_s=t_run, steps=steps, member_steps_per_s=ms,
                         cell_rhs_per_s=cr, speedup=ms / base, member_evals=batch.member_evals))
        print(f"{B:6d} {t_build:9.3f} {t_run:9.3f} {steps:8d} {ms:15.1f} {cr:12.3g} {ms / base:9.2f}", flush=True)
    out = a.json or str(HERE / "results" / f"batch-{'ci' if os.environ.get('CI') else socket.gethostname()}-"
                        f"{datetime.date.today():%Y%m%d}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"grid": [64, 64, 1], "backend": a.backend, "duration_s": duration, "python": platform.python_version(),
                   "numpy": np.__version__, "cpu_count": os.cpu_count(), "rows": rows}, f, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
