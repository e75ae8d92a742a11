"""CPU benchmark of micromag: right-hand-side throughput and µMAG standard problem 4 end to end.

    python benchmarks/bench_cpu.py [--quick] [--json PATH] [--no-peers]

(a) One LLG right-hand side, ``sim.llg(m, t, out)`` (Permalloy of SP4, demag on, the default terms), at
    100×25×1, 128×32×1, 512×512×1 and 128×128×16 (and 200×50×1, the second size the issue quotes for
    magnum.np): best of N after warm-up, in ms/RHS and cell-RHS/s (cells × RHS evaluations / wall second,
    the MuMax3 metric), with the share of each term.
(b) SP4 at 128×32×1 and 100×25×1: ``relax()`` and ``minimize()`` timed separately from m = (1, 0.1, 0),
    then 1 ns in the field of case 1 from the relaxed state with a table row every 10 ps (into a temp
    dir): wall times, RHS evaluations (``sim.llg.nevals``) and the final <m>.
(c) magnum.np, when ``import magnumnp`` works: the same SP4 and RHS sizes through
    ``benchmarks/peers/magnumnp_sp4.py``, one subprocess per case with a timeout, and the ratios.
(d) The OOMMF figures quoted in the issue (not measured here), for comparison.
(e) Everything to JSON, by default ``benchmarks/results/cpu-<host>-<date>.json``.

Timings are wall-clock on a machine that may be shared: the load average before and after is kept in
the JSON, and a loaded machine makes every figure (magnum.np's OpenMP threads most of all) slower.
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
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not

import numpy as np  # noqa: E402
import scipy  # noqa: E402

import micromag as mm  # noqa: E402

# µMAG SP4 Permalloy; gamma is the µMAG γ0 = 2.211e5 m/(A s) over μ0, as in examples/sp4.py
PERMALLOY_SP4 = dict(Ms=8.0e5, A=1.3e-11, alpha=0.02, gamma=2.211e5 / mm.mu0)
SP4_FIELD = (-24.6e-3, 4.3e-3, 0.0)  # T, field 1
MUMAX3_128x32 = {"m_relaxed": (0.96697, 0.12527, 0.0), "m_final": (-0.98461, 0.12604, 0.04327)}

# (n, cell, is it one of the issue's four sizes)
RHS_SIZES = [
    ((100, 25, 1), (5e-9, 5e-9, 3e-9), True),
    ((128, 32, 1), (500e-9 / 128, 125e-9 / 32, 3e-9), True),
    ((200, 50, 1), (2.5e-9, 2.5e-9, 3e-9), False),
    ((512, 512, 1), (5e-9, 5e-9, 3e-9), True),
    ((128, 128, 16), (5e-9, 5e-9, 5e-9), True),
]

# Quoted in the issue; NOT measured by this script.
QUOTED = {
    "oommf": {
        "source": "issue (quoted, not measured): OOMMF, 2-core machine, 2 threads, SP4 128x32x1",
        "sp4_128x32_relax_s": 0.8,
        "sp4_128x32_run_s": 5.5,
        "sp4_128x32_run_evals": 5401,
        "ms_per_rhs_range": [0.6, 0.9],
    },
    "magnumnp": {
        "source": "issue (quoted, not measured): magnum.np CPU build, 2-core machine, float64",
        "ms_per_rhs_100x25x1": 2.0,
        "ms_per_rhs_200x50x1": 5.9,
        "sp4_100x25_total_s": 36.0,
    },
}


# ---------------------------------------------------------------------------------------------- helpers
def machine_info():
    info = {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "micromag": getattr(mm, "__version__", None),
        "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                      "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")},
        "scipy_fft_workers_default": _fft_workers(),
        "dtype": "float64",
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "version")}
                               for p in threadpool_info()]
    except Exception:
        pass
    return info


def _fft_workers():
    try:
        import scipy.fft as sfft

        return sfft.get_workers()
    except Exception:
        return None


def loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def git_commit():
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return None, None
        d = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip(), bool(d.stdout.strip()) if d.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def best_of(f, repeats, min_time, warmup=3):
    """Per-call wall time of f(): batches of k calls (k chosen so a batch lasts >= min_time), best of
    ``repeats`` batches. Returns (best, median, k)."""
    for _ in range(warmup):
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
    per.sort()
    return per[0], per[len(per) // 2], k


def fmt_n(n):
    return "x".join(str(v) for v in n)


def rate(x):
    return f"{x / 1e6:8.2f} M" if x >= 1e6 else f"{x / 1e3:8.1f} k"


# ---------------------------------------------------------------------------------------------- (a) RHS
def bench_rhs(n, cell, repeats, min_time):
    t0 = time.perf_counter()
    grid = mm.Grid(n=n, cell=cell)
    sim = mm.Simulation(grid, material=mm.Material(**PERMALLOY_SP4), backend="cpu")
    setup_s = time.perf_counter() - t0
    demag = sim.terms.get("demag")
    rng = np.random.default_rng(1)
    m0 = rng.normal(size=(3,) + grid.shape) + np.array([3.0, 0.3, 0.0])[:, None, None, None]
    sim.m = m0
    sim.B_ext = SP4_FIELD
    m = sim.m
    t = np.zeros(1)
    out = np.empty_like(m)
    best, med, k = best_of(lambda: sim.llg(m, t, out), repeats, min_time)
    cells = int(np.prod(n))
    terms = {}
    B = np.zeros_like(m)
    for name, term in sim.terms.items():
        tb, _, _ = best_of(lambda: term.add_field(m, t, B), max(2, repeats // 2), min_time / 2, warmup=1)
        terms[name] = tb * 1e3
    return {
        "n": list(n), "cell": list(cell), "cells": cells, "issue_size": None,
        "setup_s": setup_s,
        "newell_from_cache": getattr(demag, "loaded_from_cache", None),
        "terms": list(sim.terms),
        "calls_per_batch": k, "repeats": repeats,
        "ms_per_rhs": best * 1e3, "ms_per_rhs_median": med * 1e3,
        "cell_rhs_per_s": cells / best,
        "term_ms": terms,
        "llg_algebra_ms": max(best * 1e3 - sum(terms.values()), 0.0),
    }


# ---------------------------------------------------------------------------------------------- (b) SP4
class _FieldCounter:
    """Counts calls of ``llg.effective_field`` (RHS evaluations, torque checks, and the minimizer's field
    evaluations, which ``llg.nevals`` does not see)."""

    def __init__(self, llg):
        self.f, self.n = llg.effective_field, 0
        llg.effective_field = self

    def __call__(self, *a, **kw):
        self.n += 1
        return self.f(*a, **kw)


def sp4_sim(nx, ny):
    grid = mm.Grid(n=(nx, ny, 1), cell=(500e-9 / nx, 125e-9 / ny, 3e-9))
    sim = mm.Simulation(grid, material=mm.Material(**PERMALLOY_SP4), backend="cpu")
    return sim, _FieldCounter(sim.llg)


def bench_sp4(nx, ny, duration, do_minimize=True):
    r = {"n": [nx, ny, 1], "cells": nx * ny, "duration_s": duration, "table_every_s": 10e-12}
    t_all = time.perf_counter()
    sim, fc = sp4_sim(nx, ny)
    r["setup_s"] = time.perf_counter() - t_all
    sim.m = (1, 0.1, 0)

    n0 = sim.llg.nevals
    t0 = time.perf_counter()
    tq = sim.relax(progress=False)
    r["relax_s"] = time.perf_counter() - t0
    r["relax_evals"] = sim.llg.nevals - n0
    r["relax_field_evals"] = fc.n
    r["relax_max_torque_T"] = float(tq)
    r["m_relaxed"] = [float(v) for v in sim.m_avg]
    r["E_relaxed_J"] = float(sim.energy())

    sim.B_ext = SP4_FIELD
    n0, f0 = sim.llg.nevals, fc.n
    with tempfile.TemporaryDirectory(prefix="bench_sp4_") as d:
        t0 = time.perf_counter()
        sim.run(duration, out=d, every=10e-12, progress=False)
        r["run_s"] = time.perf_counter() - t0
        with open(os.path.join(d, "table.txt")) as f:
            r["table_rows"] = sum(1 for line in f if line.strip() and not line.startswith("#"))
    r["run_evals"] = sim.llg.nevals - n0
    r["run_field_evals"] = fc.n - f0
    st = getattr(sim, "_stepper", None)
    if st is not None:
        r["run_steps"] = int(st.nsteps)
        r["run_rejected"] = int(st.nrejected)
    r["m_final"] = [float(v) for v in sim.m_avg]
    r["ms_per_rhs_run"] = r["run_s"] / max(r["run_evals"], 1) * 1e3
    r["total_s"] = time.perf_counter() - t_all  # setup + relax + run (+ the table)

    if do_minimize:
        sim2, fc2 = sp4_sim(nx, ny)
        sim2.m = (1, 0.1, 0)
        n0 = sim2.llg.nevals
        t0 = time.perf_counter()
        tq = sim2.minimize(progress=False)
        r["minimize_s"] = time.perf_counter() - t0
        r["minimize_evals"] = sim2.llg.nevals - n0  # llg.nevals: the minimizer does not call llg()
        r["minimize_field_evals"] = fc2.n
        r["minimize_max_torque_T"] = float(tq)
        r["m_minimized"] = [float(v) for v in sim2.m_avg]
        r["E_minimized_J"] = float(sim2.energy())
    return r


# ---------------------------------------------------------------------------------------------- (c) peers
def magnumnp_available():
    """Whether magnum.np imports, checked in a subprocess (its import sets torch defaults globally)."""
    code = "import os; os.environ.setdefault('CUDA_DEVICE', '-1'); import magnumnp"
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return False, "import timed out"
    return r.returncode == 0, (r.stderr.strip().splitlines() or [""])[-1][:300]


def run_peer(args, timeout):
    """Run benchmarks/peers/magnumnp_sp4.py with ``args``; the parsed JSON, or {'error': ...}."""
    with tempfile.TemporaryDirectory(prefix="bench_peer_") as d:
        path = os.path.join(d, "r.json")
        cmd = [sys.executable, str(HERE / "peers" / "magnumnp_sp4.py"), *args, "--json", path]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s", "args": args}
        wall = time.perf_counter() - t0
        if p.returncode != 0 or not os.path.exists(path):
            tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
            return {"error": f"exit {p.returncode}", "stderr_tail": tail, "args": args}
        with open(path) as f:
            r = json.load(f)
        r["process_wall_s"] = wall
        return r


# ---------------------------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short version (< 1 min): fewer repeats, SP4 at "
                    "100x25 with a 0.1 ns run, magnum.np RHS at 100x25 only")
    ap.add_argument("--json", default=None, help="output path (default benchmarks/results/cpu-<host>-<date>.json)")
    ap.add_argument("--no-peers", action="store_true", help="skip magnum.np even when installed")
    ap.add_argument("--peer-timeout", type=float, default=900.0, help="seconds per magnum.np case (default 900)")
    args = ap.parse_args(argv)

    now = datetime.datetime.now(datetime.timezone.utc)
    commit, dirty = git_commit()
    res = {
        "benchmark": "micromag CPU (benchmarks/bench_cpu.py)",
        "command": " ".join(["python", "benchmarks/bench_cpu.py", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "date": now.isoformat(timespec="seconds"),
        "git_commit": commit,
        "git_dirty": dirty,
        "machine": machine_info(),
        "loadavg_start": loadavg(),
        "quoted": QUOTED,
    }
    mi = res["machine"]
    print(f"micromag CPU benchmark  {res['date']}  commit {commit or 'unknown'}{' (+local changes)' if dirty else ''}")
    print(f"{mi.get('cpu_model', mi['processor'])}, {mi['cpu_count']} CPUs, Python {mi['python']}, "
          f"numpy {mi['numpy']}, scipy {mi['scipy']}, float64; load average {res['loadavg_start']}")
    if res["loadavg_start"] and res["loadavg_start"][0] > 0.5:
        print("WARNING: the machine is busy (1-min load average > 0.5): timings will be pessimistic")

    repeats, min_time = (3, 0.05) if args.quick else (7, 0.3)

    # (a) RHS ------------------------------------------------------------------------------------------
    print("\n(a) one LLG right-hand side, sim.llg(m, t, out): Permalloy, demag + exchange + Zeeman")
    print(f"  {'size':>11} {'cells':>8} {'ms/RHS':>9} {'cell-RHS/s':>12}  {'demag':>8} {'exch':>8} {'zeeman':>8} "
          f"{'llg':>8}  (ms; setup s)")
    res["rhs"] = []
    for n, cell, issue in RHS_SIZES:
        r = bench_rhs(n, cell, repeats, min_time)
        r["issue_size"] = issue
        res["rhs"].append(r)
        tm = r["term_ms"]
        print(f"  {fmt_n(n):>11} {r['cells']:8d} {r['ms_per_rhs']:9.3f} {rate(r['cell_rhs_per_s']):>12}  "
              f"{tm.get('demag', 0):8.3f} {tm.get('exchange', 0):8.3f} {tm.get('zeeman', 0):8.3f} "
              f"{r['llg_algebra_ms']:8.3f}  ({r['setup_s']:.2f} s{'' if r['newell_from_cache'] else ', tensor computed'})"
              + ("" if issue else "   [extra size]"))

    # (b) SP4 ------------------------------------------------------------------------------------------
    duration = 0.1e-9 if args.quick else 1e-9
    sizes = [(100, 25)] if args.quick else [(128, 32), (100, 25)]
    print(f"\n(b) SP4 field 1: relax (and, separately, minimize) from m = (1, 0.1, 0), then {duration * 1e9:g} ns "
          "with <m> every 10 ps")
    res["sp4"] = []
    for nx, ny in sizes:
        r = bench_sp4(nx, ny, duration)
        res["sp4"].append(r)
        print(f"  {nx}x{ny}x1: setup {r['setup_s']:.2f} s | relax {r['relax_s']:.2f} s, {r['relax_evals']} RHS, "
              f"max torque {r['relax_max_torque_T']:.2g} T | minimize {r['minimize_s']:.2f} s, "
              f"{r['minimize_evals']} RHS (llg.nevals), {r['minimize_field_evals']} field evals | run {r['run_s']:.2f} s, {r['run_evals']} RHS "
              f"({r['ms_per_rhs_run']:.3f} ms/RHS, {r.get('run_steps', '?')} steps)")
        print(f"      relax+run end to end {r['total_s']:.2f} s; <m> relaxed ({', '.join(f'{v:.5f}' for v in r['m_relaxed'])})"
              f", minimized ({', '.join(f'{v:.5f}' for v in r['m_minimized'])}), "
              f"final ({', '.join(f'{v:.5f}' for v in r['m_final'])})")
        if (nx, ny) == (128, 32) and duration == 1e-9:
            print(f"      MuMax3 at 128x32: relaxed {MUMAX3_128x32['m_relaxed']}, final {MUMAX3_128x32['m_final']}")

    # (c) magnum.np ------------------------------------------------------------------------------------
    res["peers"] = {}
    if args.no_peers:
        print("\n(c) magnum.np: skipped (--no-peers)")
    else:
        ok, why = magnumnp_available()
        if not ok:
            print(f"\n(c) magnum.np: not available ({why}); pip install torch==2.13.0 magnumnp")
            res["peers"]["magnumnp"] = {"available": False, "reason": why}
        else:
            print("\n(c) magnum.np (PyTorch CPU build, float64), same cases, each in its own process")
            peer = {"available": True, "rhs": [], "sp4": []}
            res["peers"]["magnumnp"] = peer
            ours = {tuple(r["n"]): r for r in res["rhs"]}
            peer_rhs = [(100, 25, 1)] if args.quick else [n for n, _, _ in RHS_SIZES]
            prep, pmin = ("3", "0.05") if args.quick else ("5", "0.3")
            for n in peer_rhs:
                r = run_peer(["--rhs", fmt_n(n), "--repeats", prep, "--min-time", pmin], args.peer_timeout)
                r["n"] = list(n)
                if "error" not in r:
                    r["ratio_vs_micromag"] = r["ms_per_rhs"] / ours[n]["ms_per_rhs"]
                    print(f"  RHS {fmt_n(n):>11}: {r['ms_per_rhs']:9.3f} ms/RHS {rate(r['cell_rhs_per_s'])} cell-RHS/s "
                          f"(first call {r['first_call_s']:.1f} s, {r['torch_threads']} threads)  "
                          f"magnum.np / micromag = {r['ratio_vs_micromag']:.2f}x")
                else:
                    print(f"  RHS {fmt_n(n):>11}: {r['error']}")
                peer["rhs"].append(r)
            if not args.quick:
                ours_sp4 = {tuple(r["n"][:2]): r for r in res["sp4"]}
                for nx, ny in [(100, 25), (128, 32)]:
                    r = run_peer(["--sp4", f"{nx}x{ny}", "--duration", repr(duration)], args.peer_timeout)
                    r["n"] = [nx, ny, 1]
                    if "error" not in r:
                        o = ours_sp4[(nx, ny)]
                        r["ratio_total_vs_micromag"] = r["total_s"] / o["total_s"]
                        if "minimize_s" in o:
                            r["ratio_total_vs_micromag_minimize"] = r["total_s"] / (o["minimize_s"] + o["run_s"])
                        r["ratio_relax_vs_micromag"] = r["relax_s"] / o["relax_s"]
                        r["ratio_run_vs_micromag"] = r["run_s"] / o["run_s"]
                        print(f"  SP4 {nx}x{ny}x1: relax {r['relax_s']:.2f} s ({r['relax_evals']} RHS), run "
                              f"{r['run_s']:.2f} s ({r['run_evals']} RHS, {r['ms_per_rhs_run']:.3f} ms/RHS), total "
                              f"{r['total_s']:.2f} s (process {r['process_wall_s']:.1f} s incl. import/compile); "
                              f"final <m> ({', '.join(f'{v:.5f}' for v in r['m_final'])})")
                        print(f"      magnum.np / micromag: total {r['ratio_total_vs_micromag']:.2f}x, relax "
                              f"{r['ratio_relax_vs_micromag']:.2f}x, run {r['ratio_run_vs_micromag']:.2f}x")
                    else:
                        print(f"  SP4 {nx}x{ny}x1: {r['error']}")
                    peer["sp4"].append(r)

    # (d) quoted anchors and the goals -----------------------------------------------------------------
    q = QUOTED["oommf"]
    print(f"\n(d) quoted in the issue, NOT measured here: OOMMF (2 threads) SP4 128x32x1 relax {q['sp4_128x32_relax_s']} s, "
          f"1 ns run {q['sp4_128x32_run_s']} s ({q['sp4_128x32_run_evals']} RHS, {q['ms_per_rhs_range'][0]}-"
          f"{q['ms_per_rhs_range'][1]} ms/RHS); magnum.np {QUOTED['magnumnp']['ms_per_rhs_100x25x1']} ms/RHS at "
          f"100x25x1, {QUOTED['magnumnp']['ms_per_rhs_200x50x1']} ms at 200x50x1, SP4 100x25 "
          f"{QUOTED['magnumnp']['sp4_100x25_total_s']} s end to end")
    goals = {}
    s128 = next((r for r in res["sp4"] if r["n"][:2] == [128, 32] and r["duration_s"] == 1e-9), None)
    if s128:
        goals["sp4_128x32_relax_vs_oommf"] = s128["relax_s"] / q["sp4_128x32_relax_s"]
        goals["sp4_128x32_run_vs_oommf"] = s128["run_s"] / q["sp4_128x32_run_s"]
        goals["sp4_128x32_relax_plus_run_vs_oommf"] = (s128["relax_s"] + s128["run_s"]) / (
            q["sp4_128x32_relax_s"] + q["sp4_128x32_run_s"])
        goals["ms_per_rhs_run_128x32"] = s128["ms_per_rhs_run"]
        if "minimize_s" in s128:  # what examples/sp4.py does: minimize, then run
            goals["sp4_128x32_minimize_plus_run_vs_oommf"] = (s128["minimize_s"] + s128["run_s"]) / (
                q["sp4_128x32_relax_s"] + q["sp4_128x32_run_s"])
            print(f"  goal  SP4 128x32 (minimize + run, as examples/sp4.py) no slower than OOMMF: "
                  f"{s128['minimize_s'] + s128['run_s']:.2f} s vs {q['sp4_128x32_relax_s'] + q['sp4_128x32_run_s']:.1f} s "
                  f"({goals['sp4_128x32_minimize_plus_run_vs_oommf']:.2f}x) -> "
                  f"{'MET' if goals['sp4_128x32_minimize_plus_run_vs_oommf'] <= 1 else 'NOT MET'}")
        print(f"  goal  SP4 128x32 no slower than OOMMF: relax {s128['relax_s']:.2f} s vs {q['sp4_128x32_relax_s']} s "
              f"({goals['sp4_128x32_relax_vs_oommf']:.2f}x), run {s128['run_s']:.2f} s vs {q['sp4_128x32_run_s']} s "
              f"({goals['sp4_128x32_run_vs_oommf']:.2f}x)  -> "
              f"{'MET' if goals['sp4_128x32_relax_plus_run_vs_oommf'] <= 1 else 'NOT MET'} (time / OOMMF's; <= 1 meets it)")
    peer = res["peers"].get("magnumnp") or {}
    ps = [r for r in peer.get("sp4", []) if "error" not in r]
    if ps:
        worst = min(r["ratio_total_vs_micromag"] for r in ps)
        goals["sp4_speedup_vs_magnumnp_min"] = worst
        print(f"  floor SP4 >= 2x faster than magnum.np side by side (our relax + run): {worst:.2f}x -> "
              f"{'MET' if worst >= 2 else 'NOT MET'}")
        if all("ratio_total_vs_micromag_minimize" in r for r in ps):
            worst_m = min(r["ratio_total_vs_micromag_minimize"] for r in ps)
            goals["sp4_speedup_vs_magnumnp_min_minimize"] = worst_m
            print(f"  floor SP4 >= 2x faster than magnum.np side by side (our minimize + run): {worst_m:.2f}x -> "
                  f"{'MET' if worst_m >= 2 else 'NOT MET'}")
    pr = next((r for r in peer.get("rhs", []) if r.get("n") == [512, 512, 1] and "error" not in r), None)
    if pr:
        goals["rhs_512x512_speedup_vs_magnumnp"] = pr["ratio_vs_micromag"]
        print(f"  floor RHS at 512x512x1 no slower than magnum.np: {pr['ratio_vs_micromag']:.2f}x -> "
              f"{'MET' if pr['ratio_vs_micromag'] >= 1 else 'NOT MET'}")
    res["goals"] = goals

    # (e) JSON -----------------------------------------------------------------------------------------
    res["loadavg_end"] = loadavg()
    path = args.json
    if path is None:
        host = "ci" if os.environ.get("CI") else (socket.gethostname().split(".")[0] or "host")
        host = "".join(c if c.isalnum() or c in "-_" else "-" for c in host)
        path = HERE / "results" / f"cpu-{host}-{now.strftime('%Y%m%d')}{'-quick' if args.quick else ''}.json"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print(f"\nresults written to {path}  (load average at end {res['loadavg_end']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
