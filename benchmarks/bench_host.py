"""Host cost of the GPU backend per RK45 step, measured without a GPU.

    python benchmarks/bench_host.py [--n 256] [--steps 400] [--json PATH]

Runs the GPU backend (``micromag.engine.backends.cuda``: CudaLLG + CudaStepper, float32) on a *recording device*
(:func:`micromag.engine.backends.device.recording_device`): NumPy arrays, kernels parsed but never run, FFTs not
run; every kernel launch and FFT call is counted. The problem is a 256×256×1 Permalloy film (4 nm cells)
with exchange, demag and an applied field, Dormand–Prince RK45 with FSAL, no end time, batch 1.

What it measures is micromag's own host code: the time ``CudaStepper.step`` spends issuing one step (CuPy's
own per-launch cost, a few µs per kernel on a real GPU, comes on top on the direct path and is what CUDA
graphs remove),

- ``direct``: every launch issued from Python (the eager path);
- ``graph``: the step replayed from a captured graph (one replay call per step);

and the launches per step. On a real GPU a 256² RK45 step is ~60 µs of memory traffic on an H100, so the
host must issue a step in less than that for the card never to wait: goals (CI machine, 2 cores) direct
≤ 300 µs, graph ≤ 20 µs, launches ≤ 40. The last line printed is exactly
``host per RK45 step: direct X us, graph Y us; launches per step: N``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

GOALS = {"direct_us": 300.0, "graph_us": 20.0, "launches": 40}


def build(n):
    import micromag as mm
    from micromag.engine.backends.cuda import CudaLLG, recording_device
    from micromag.engine.terms import build_terms

    grid = mm.Grid((n, n, 1), (4e-9, 4e-9, 4e-9))
    system = mm.System(grid, material=mm.Permalloy(alpha=0.02))
    terms = build_terms(system)  # demag, exchange, zeeman
    terms["zeeman"].set((1e-3, 0.0, 0.0))
    dev = recording_device()
    llg = CudaLLG(system, terms, batch=1, dtype=np.float32, device=dev)
    return llg, dev


def measure(llg, dev, graph, steps):
    from micromag.engine.backends.cuda_stepper import CudaStepper

    st = CudaStepper(llg, "rk45", tol=1e-5, dt=1e-13, graph=graph)
    m = np.zeros(llg.shape, dtype=np.float32)
    m[:, 0] = 1.0
    t = np.zeros(1)
    for _ in range(5):  # the first step evaluates k0 and builds (and, graph: captures) the step's launches
        st.step(m, t)
    l0, g0 = dev.launches, dev.graph_launches
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(steps):
            st.step(m, t)
        best = min(best, (time.perf_counter() - t0) / steps)
    nsteps = 5 * steps
    per_step_launches = (dev.launches - l0) / nsteps
    replays = (dev.graph_launches - g0) / nsteps
    if graph:  # a replayed step runs the launches it recorded: count them in the graph itself
        per_step_launches = st.graph_size
    return {"us_per_step": best * 1e6, "launches_per_step": per_step_launches, "replays_per_step": replays,
            "graph_error": st.graph_error}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256, help="film size n x n x 1 (default 256)")
    ap.add_argument("--steps", type=int, default=400, help="steps per timing repeat (default 400)")
    ap.add_argument("--json", default=None, help="write the results here (default: no file)")
    args = ap.parse_args(argv)
    llg, dev = build(args.n)
    direct = measure(llg, dev, False, args.steps)
    graph = measure(llg, dev, True, args.steps)
    res = {"what": f"host cost per RK45 step of the GPU backend, {args.n}x{args.n}x1, exchange + demag + Zeeman, "
                   "float32, recording device (no kernel or FFT runs)",
           "date": datetime.date.today().isoformat(), "machine": platform.node(), "cpus": os.cpu_count(),
           "python": platform.python_version(), "direct": direct, "graph": graph, "goals": GOALS}
    print(f"direct: {direct['us_per_step']:.1f} us per step, {direct['launches_per_step']:.1f} launches per step")
    print(f"graph:  {graph['us_per_step']:.1f} us per step, {graph['replays_per_step']:.2f} replays per step "
          f"({graph['launches_per_step']} launches in the graph)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    print(f"host per RK45 step: direct {direct['us_per_step']:.0f} us, graph {graph['us_per_step']:.0f} us; "
          f"launches per step: {direct['launches_per_step']:.0f}")
    return res


if __name__ == "__main__":
    main()
