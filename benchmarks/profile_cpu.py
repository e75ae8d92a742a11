"""Where micromag's CPU time goes in SP4: cProfile of relax(), minimize() and the 1 ns run.

    python benchmarks/profile_cpu.py [--cells 128 32] [--duration 1e-9] [--top 25] [--phase relax run]

Prints the functions with the largest own time (tottime) and the largest cumulative time per phase.
cProfile adds overhead per Python call, so use bench_cpu.py for the wall times and this for the shares.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import micromag as mm  # noqa: E402

PERMALLOY_SP4 = dict(Ms=8.0e5, A=1.3e-11, alpha=0.02, gamma=2.211e5 / mm.mu0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, nargs=2, default=(128, 32), metavar=("NX", "NY"))
    ap.add_argument("--duration", type=float, default=1e-9)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--phase", nargs="+", default=["relax", "minimize", "run"], choices=["relax", "minimize", "run"])
    args = ap.parse_args(argv)
    nx, ny = args.cells

    def new():
        g = mm.Grid(n=(nx, ny, 1), cell=(500e-9 / nx, 125e-9 / ny, 3e-9))
        s = mm.Simulation(g, material=mm.Material(**PERMALLOY_SP4), backend="cpu")
        s.m = (1, 0.1, 0)
        return s

    sim = new()
    for phase in args.phase:
        pr = cProfile.Profile()
        if phase == "relax":
            pr.runcall(sim.relax, progress=False)
        elif phase == "minimize":
            pr.runcall(new().minimize, progress=False)
        else:
            if "relax" not in args.phase:
                sim.minimize(progress=False)
            sim.B_ext = (-24.6e-3, 4.3e-3, 0.0)
            with tempfile.TemporaryDirectory() as d:
                pr.runcall(sim.run, args.duration, out=d, every=10e-12, progress=False)
        for key in ("tottime", "cumulative"):
            s = io.StringIO()
            pstats.Stats(pr, stream=s).strip_dirs().sort_stats(key).print_stats(args.top)
            text = s.getvalue()
            start = text.find("   ncalls")
            head = [ln for ln in text[:start].splitlines() if "function calls" in ln]
            print(f"==== {phase} at {nx}x{ny}x1, sorted by {key}: {head[0].strip() if head else ''}")
            print(text[start:].rstrip() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
