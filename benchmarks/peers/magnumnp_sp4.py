"""magnum.np (PyPI ``magnumnp``, PyTorch) on the CPU: the peer side of ``benchmarks/bench_cpu.py``.

Run by bench_cpu.py in a subprocess (one case per process, with a timeout), or by hand:

    python benchmarks/peers/magnumnp_sp4.py --rhs 100x25x1 --json /tmp/rhs.json
    python benchmarks/peers/magnumnp_sp4.py --sp4 128x32 --json /tmp/sp4.json

``--rhs NXxNYxNZ``: wall time of one LLG right-hand side ``LLGSolver.dm(t, m, state)`` with demag, exchange
and a Zeeman field (Permalloy, Ms = 8e5 A/m, A = 1.3e-11 J/m, alpha = 0.02), best of N after warm-up; the
first call (which builds the demag kernel and runs ``torch.compile`` of the exchange field) is reported
separately.

``--sp4 NXxNY``: µMAG standard problem 4 (500 × 125 × 3 nm) the way magnum.np's own SP4 demo does it:
the demo's initial state (m = +x inside, +y on the two end columns), ``LLGSolver([demag, exchange]).relax``
(RKF45 with alpha = 1 internally, 10 ps steps until max|dm/dt|/gamma < 100 A/m), then alpha = 0.02,
field mu0 H = (-24.6, 4.3, 0) mT and 100 calls of ``llg.step(state, 1e-11)`` (1 ns, <m> recorded every
10 ps). Every call of the right-hand side is counted.

The result is one JSON object written to ``--json``. The package is imported with ``CUDA_DEVICE=-1`` (CPU).
Note: magnum.np uses gamma = 2.21276e5 m/(A s), micromag's SP4 uses the µMAG 2.211e5 (0.08 % apart).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def _size(s, n):
    parts = tuple(int(v) for v in s.lower().split("x"))
    if len(parts) != n or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected {n} positive integers joined by 'x', got {s!r}")
    return parts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--rhs", type=lambda s: _size(s, 3), metavar="NXxNYxNZ")
    g.add_argument("--sp4", type=lambda s: _size(s, 2), metavar="NXxNY")
    p.add_argument("--duration", type=float, default=1e-9, help="SP4 run time in s (default 1 ns)")
    p.add_argument("--repeats", type=int, default=5, help="RHS: timed batches (best is kept)")
    p.add_argument("--min-time", type=float, default=0.3, help="RHS: seconds per timed batch at least")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    p.add_argument("--json", required=True, help="where to write the result")
    args = p.parse_args(argv)

    os.environ.setdefault("CUDA_DEVICE", "-1")  # CPU, and no probing subprocess at import
    t0 = time.perf_counter()
    import torch
    import magnumnp as mn

    mn.set_log_level(40)  # warnings and errors only
    import_s = time.perf_counter() - t0
    if args.threads:
        torch.set_num_threads(args.threads)
    res = {
        "package": "magnumnp",
        "version": getattr(mn, "__version__", None),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(torch.get_default_device()) if hasattr(torch, "get_default_device") else "cpu",
        "dtype": str(torch.get_default_dtype()),
        "python": platform.python_version(),
        "import_s": import_s,
    }
    if args.rhs:
        res.update(rhs(mn, torch, args.rhs, args.repeats, args.min_time))
    else:
        res.update(sp4(mn, torch, args.sp4, args.duration))
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
    return 0


class _Counted:
    """Wraps the right-hand side to count its calls."""

    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *a, **kw):
        self.n += 1
        return self.f(*a, **kw)


def _llg(mn, terms, **kw):
    llg = mn.LLGSolver(terms, **kw)
    counted = _Counted(llg.dm)
    llg.dm = counted  # relax() calls self.dm directly ...
    llg._solver._f = counted  # ... the ODE solver holds the bound method it was built with
    return llg, counted


def rhs(mn, torch, n, repeats, min_time):
    mesh = mn.Mesh(n, (5e-9, 5e-9, 3e-9) if n[2] == 1 else (5e-9, 5e-9, 5e-9))
    state = mn.State(mesh)
    state.material = {"Ms": 8e5, "A": 1.3e-11, "alpha": 0.02}
    gen = torch.Generator(device="cpu").manual_seed(1)
    m = torch.randn(n + (3,), generator=gen, dtype=torch.float64) + torch.tensor([3.0, 0.3, 0.0])
    state.m = m / m.norm(dim=-1, keepdim=True)
    ext = mn.ExternalField([-24.6e-3 / mn.constants.mu_0, 4.3e-3 / mn.constants.mu_0, 0.0])
    llg = mn.LLGSolver([mn.DemagField(), mn.ExchangeField(), ext])
    x = state.m.clone()

    def f():
        return llg.dm(state.t, x, state)

    t0 = time.perf_counter()
    f()  # demag kernel + torch.compile of the exchange field
    first = time.perf_counter() - t0
    for _ in range(3):
        f()
    k = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            f()
        el = time.perf_counter() - t0
        if el >= min_time or k >= 1 << 16:
            break
        k = max(2 * k, int(k * min_time / max(el, 1e-9)) + 1)
    per = [el / k]
    for _ in range(max(repeats - 1, 0)):
        t0 = time.perf_counter()
        for _ in range(k):
            f()
        per.append((time.perf_counter() - t0) / k)
    cells = n[0] * n[1] * n[2]
    best = min(per)
    return {"case": "rhs", "n": list(n), "cells": cells, "first_call_s": first, "calls_per_batch": k,
            "ms_per_rhs": best * 1e3, "ms_per_rhs_median": sorted(per)[len(per) // 2] * 1e3,
            "cell_rhs_per_s": cells / best}


def sp4(mn, torch, n2, duration):
    nx, ny = n2
    t_all = time.perf_counter()
    mesh = mn.Mesh((nx, ny, 1), (500e-9 / nx, 125e-9 / ny, 3e-9))
    state = mn.State(mesh)
    state.material = {"Ms": 8e5, "A": 1.3e-11, "alpha": 0.02}
    demag, exchange = mn.DemagField(), mn.ExchangeField()
    ext = mn.ExternalField([-24.6e-3 / mn.constants.mu_0, 4.3e-3 / mn.constants.mu_0, 0.0])
    # the demo's start, which relaxes into the s-state
    state.m = state.Constant([0.0, 0.0, 0.0])
    state.m[1:-1, :, :, 0] = 1.0
    state.m[(-1, 0), :, :, 1] = 1.0
    setup_s = time.perf_counter() - t_all

    llg, cnt = _llg(mn, [demag, exchange])
    t0 = time.perf_counter()
    converged = llg.relax(state)
    relax_s = time.perf_counter() - t0
    relax_evals = cnt.n
    m_relaxed = [float(v) for v in state.m.mean(dim=(0, 1, 2))]

    state.material["alpha"] = 0.02
    llg, cnt = _llg(mn, [demag, exchange, ext])
    rows = [[float(state.t)] + m_relaxed]
    nsteps = int(round(duration / 1e-11))
    eps = 1e-15
    t0 = time.perf_counter()
    while float(state.t) < duration - eps:
        llg.step(state, 1e-11)
        rows.append([float(state.t)] + [float(v) for v in state.m.mean(dim=(0, 1, 2))])
    run_s = time.perf_counter() - t0
    total_s = time.perf_counter() - t_all
    return {"case": "sp4", "n": [nx, ny, 1], "cells": nx * ny, "setup_s": setup_s,
            "relax_s": relax_s, "relax_evals": relax_evals, "relax_converged": bool(converged),
            "m_relaxed": m_relaxed, "run_s": run_s, "run_evals": cnt.n, "run_table_steps": nsteps,
            "ms_per_rhs_run": run_s / max(cnt.n, 1) * 1e3, "m_final": rows[-1][1:], "total_s": total_s,
            "table_rows": len(rows)}


if __name__ == "__main__":
    sys.exit(main())
