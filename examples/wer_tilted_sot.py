"""Write-error rate (WER) of the tilted CoFeB / beta-W SOT cell at room temperature.

What is simulated
-----------------
The cell of ``examples/sot_tilted_betaW.py``: a 100 × 40 × 1.5 nm in-plane CoFeB ellipse (``mm.CoFeB()``,
easy axis = long axis) on a 5 nm beta-W line (θ_eff = −0.283), its long axis tilted by 45° against the
current, no applied field, the Oersted field of the line included. For the simulation the whole device is
turned by −45° on the grid (``rotation_deg = −tilt``): the ellipse then lies along the grid's x axis (fewer
cells, no staircase) and the current runs at −45° — the same physics as the tilted cell, with the easy
axis along x so that "switched" is simply ⟨mx⟩ < −0.5.

At ``--T`` (300 K) every run has Brown's thermal field (stochastic Heun, fixed step ``--dt``). Because
α = 0.006 would need tens of ns to thermalize the start, each member's initial magnetization is drawn from
the Boltzmann distribution of the macrospin about the easy axis instead (harmonic approximation: in-plane
and out-of-plane angles Gaussian with variance kT/k, the stiffnesses k from the micromagnetic energy of
uniformly tilted states; at 300 K, 4 nm cells: k_φ ≈ 60 kT, i.e. a barrier Δ ≈ 30 kT and a 7° spread in plane,
1.5° out of plane). A trapezoidal pulse of current density J (``--pulse`` FWHM, 50 ps edges; 20 ps
in ``--quick``) is applied, followed by ``--settle`` s without current.

For every J, ``--N`` members with thermal seeds 0..N−1 run as one batch through
``mm.sweep(build, {"J": [...]}, repeats=N)`` (each J is one sweep point; the points are spread over
``--workers`` processes). A member is *switched* when ⟨mx⟩ < −0.5 (well past the hard axis, in the
reversed well) within pulse + settle; it is then stopped (no more work). A *write error* is a member that
has not switched by the end of pulse + settle. WER = errors / N with its exact (Clopper–Pearson) 95 %
binomial interval. Every J uses the same N seeds and initial states (common random numbers: the WER
curve is smoother, but the points are not independent samples of one another).

The sweep is resumable: its record is ``OUT/sweep/results.jsonl`` (one line per finished J) and
``OUT/sweep/results.csv`` (one row per member: switched, t_switch, final m, steps, wall time). Running the
same command again only computes the J's that are missing (add J's freely; changing N, T, the pulse, the
cell or dt needs ``--fresh`` or another ``--out``). From it the script writes ``OUT/wer.csv`` (J, N,
errors, WER, CI_low, CI_high, mean switching time) and ``OUT/wer.png`` (log WER against J, 95 % intervals
as error bars; points with no error drawn at their upper bound with a ▼). ``OUT`` is ``--out``
(default ``out/wer``) below ``$MICROMAG_OUT`` when that is set.

Runtimes measured on 2 CPU cores (2 workers, NumPy backend):
  ``--quick`` (10 nm cells, 13 × 7 grid with 47 magnetic cells, N = 4, J = 5e11, 7e11, 1e12, 0.5 ns pulse
      + 0.2 ns, dt = 1e-13 s): ~20 s in all (3–14 s per J);
  default (4 nm cells, 28 × 13 grid with 226 magnetic cells, N = 16, J = 4e11, 6e11, 8e11, 1e12, 1 ns pulse
      + 0.5 ns, dt = 1e-13 s): ~2.4 min in all (40–100 s per J; the low J's, whose errors run the full
      1.55 ns, cost most). It gave WER = 7/16, 3/16, 0/16, 0/16 (upper bounds 0.21 at 8e11 and 1e12).
The cost is ∝ N × (steps until switched): a WER of 1e-3 needs N in the thousands per current, which is
what the GPU is for (``--backend gpu``: one worker, each J's N members in one batch on the device; not
measured here).

    python examples/wer_tilted_sot.py [--quick] [--N 16] [--J 4e11 6e11 8e11 1e12] [--T 300]
                                      [--pulse 1e-9] [--out out/wer] [--backend auto|cpu|gpu] [--fresh]
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import sys
import time

import numpy as np

KB = 1.380649e-23  # J/K
SWITCH_MX = -0.5   # switched: <mx> below this (easy axis along grid x)


# ------------------------------------------------------------------------------------------- statistics
def clopper_pearson(k, n, conf=0.95):
    """Exact (Clopper–Pearson) two-sided binomial interval for k successes in n trials: (low, high)."""
    from scipy.stats import beta

    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k = {k}, n = {n}")
    a = 1.0 - conf
    low = 0.0 if k == 0 else float(beta.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a / 2, k + 1, n - k))
    return low, high


# ------------------------------------------------------------------------------------------- the cell
def _uniform(u, v, w, phi, theta):
    """Unit vectors cosθ (cosφ u + sinφ v) + sinθ w for arrays phi, theta: shape (n, 3)."""
    phi, theta = np.atleast_1d(phi)[:, None], np.atleast_1d(theta)[:, None]
    return np.cos(theta) * (np.cos(phi) * u + np.sin(phi) * v) + np.sin(theta) * w


def boltzmann_start(sim, u, T, n, seed=2024, delta=0.05):
    """n initial directions about the easy axis u, Boltzmann-distributed in the harmonic (macrospin)
    approximation at T: in-plane angle φ ~ N(0, kT/k_φ), out-of-plane angle θ ~ N(0, kT/k_θ), with
    k = 2 (E(δ) − E(0)) / δ² from the energy of uniformly turned states. Returns (n, 3) and (k_φ, k_θ)."""
    u = np.asarray(u, float)
    w = np.array([0.0, 0.0, 1.0])
    v = np.cross(w, u)

    def energy(phi, theta):
        sim.m = _uniform(u, v, w, phi, theta)[0]
        return float(np.atleast_1d(sim.energy())[0])

    E0 = energy(0.0, 0.0)
    k_phi = 2 * (energy(delta, 0.0) - E0) / delta**2
    k_theta = 2 * (energy(0.0, delta) - E0) / delta**2
    if not (k_phi > 0 and k_theta > 0):
        raise RuntimeError(f"the easy axis is not an energy minimum (k_phi = {k_phi:.3g}, k_theta = {k_theta:.3g} J)")
    rng = np.random.default_rng(seed)
    ang = rng.standard_normal((n, 2)) * np.sqrt(KB * T / np.array([k_phi, k_theta]))
    return _uniform(u, v, w, ang[:, 0], ang[:, 1]), (k_phi, k_theta)


def build(J, T=300.0, pulse=1e-9, rise=50e-12, cell=4e-9, dt=1e-13, tilt=45.0, init_seed=2024, batch=1):
    """The tilted cell (turned so that its easy axis is grid x) driven by a pulse of J A/m², at T K, with
    ``batch`` members starting from Boltzmann-distributed directions: the sweep's build function."""
    import micromag as mm
    from micromag.apps import devices

    dev = devices.SOTCell(
        size=(100e-9, 40e-9), thickness=1.5e-9, material=mm.CoFeB(), heavy_metal=mm.BetaW(thickness=5e-9),
        tilt_deg=tilt, rotation_deg=-tilt, easy_axis="long", cell=cell, J=mm.Pulse(J, width=pulse, rise=rise),
        oersted=True, temperature=T if T > 0 else None, batch=batch, backend="auto")
    sim = dev.build(dt=dt)
    if T > 0:
        m0, _ = boltzmann_start(sim, dev.easy_axis, T, batch, seed=init_seed)
        sim.m = m0
    return sim


# ------------------------------------------------------------------------------------------- analysis
def wer_table(rows, conf=0.95):
    """Per J: dict(J, N, errors, WER, CI_low, CI_high, t_switch_mean) from the sweep's rows."""
    by_J = {}
    for r in rows:
        by_J.setdefault(float(r["J"]), []).append(r)
    out = []
    for J in sorted(by_J):
        rs = by_J[J]
        n = len(rs)
        k = sum(not r["switched"] for r in rs)
        lo, hi = clopper_pearson(k, n, conf)
        ts = [r["t_switch"] for r in rs if r["switched"] and r.get("t_switch") is not None]
        out.append({"J": J, "N": n, "errors": k, "WER": k / n, "CI_low": lo, "CI_high": hi,
                    "t_switch_mean": float(np.mean(ts)) if ts else float("nan")})
    return out


def write_csv(path, table):
    cols = ["J", "N", "errors", "WER", "CI_low", "CI_high", "t_switch_mean"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in table:
            w.writerow({c: (f"{r[c]:.6g}" if isinstance(r[c], float) else r[c]) for c in cols})


def plot_wer(path, table, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    J = np.array([r["J"] for r in table])
    k = np.array([r["errors"] for r in table])
    wer = np.array([r["WER"] for r in table])
    lo = np.array([r["CI_low"] for r in table])
    hi = np.array([r["CI_high"] for r in table])
    fig, ax = plt.subplots(figsize=(5.8, 4.3))
    e = k > 0
    if e.any():
        ax.errorbar(J[e], wer[e], yerr=[wer[e] - lo[e], hi[e] - wer[e]], fmt="o", color="C0", capsize=3,
                    label="WER, 95 % Clopper–Pearson")
    if (~e).any():
        ax.plot(J[~e], hi[~e], "v", color="C3", ms=8, label="no error: 95 % upper bound")
        for x, h in zip(J[~e], hi[~e]):
            ax.annotate("", xy=(x, h / 3), xytext=(x, h), arrowprops=dict(arrowstyle="->", color="C3", lw=1))
    ax.plot(J, np.where(e, wer, np.nan), "-", color="C0", alpha=0.5)
    ax.set_yscale("log")
    vals = np.r_[lo[e], wer[e], hi[~e] / 3]
    vals = vals[vals > 0]
    ax.set_ylim(max(1e-7, 0.5 * vals.min()) if vals.size else 0.1, 1.5)
    ax.set_xlabel("current density in the W, J (A/m²)")
    ax.set_ylabel("write error rate")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------------------------------- driver
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, default=None, help="thermal runs per current density (default 16; 4 quick)")
    p.add_argument("--J", type=float, nargs="+", default=None,
                   help="current densities in the W, A/m² (default 4e11 6e11 8e11 1e12; 5e11 7e11 1e12 quick)")
    p.add_argument("--T", type=float, default=300.0, help="temperature, K (default 300)")
    p.add_argument("--pulse", type=float, default=None, help="pulse width (FWHM), s (default 1e-9; 0.5e-9 quick)")
    p.add_argument("--settle", type=float, default=None, help="time after the pulse, s (default 0.5e-9; 0.2e-9 quick)")
    p.add_argument("--cell", type=float, default=None, help="cell size, m (default 4e-9; 10e-9 quick)")
    p.add_argument("--dt", type=float, default=1e-13, help="fixed time step of stochastic Heun, s (default 1e-13)")
    p.add_argument("--out", default=os.path.join("out", "wer"))
    p.add_argument("--backend", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--workers", type=int, default=None,
                   help="processes, one J each (default: the usable cores on the CPU, 1 on a GPU)")
    p.add_argument("--fresh", action="store_true", help="delete OUT first (default: resume the sweep in OUT)")
    p.add_argument("--quick", action="store_true", help="tiny CPU smoke run: 10 nm cells, N = 4, 3 currents")
    args = p.parse_args(argv)

    q = args.quick
    N = args.N if args.N is not None else (4 if q else 16)
    Js = args.J if args.J is not None else ([5e11, 7e11, 1e12] if q else [4e11, 6e11, 8e11, 1e12])
    pulse = args.pulse if args.pulse is not None else (0.5e-9 if q else 1e-9)
    settle = args.settle if args.settle is not None else (0.2e-9 if q else 0.5e-9)
    cell = args.cell if args.cell is not None else (10e-9 if q else 4e-9)
    rise = 20e-12 if q else 50e-12
    if N < 1:
        p.error("--N must be >= 1")
    if any(not (j > 0 and math.isfinite(j)) for j in Js):
        p.error("--J values must be positive numbers (A/m²)")
    if args.T < 0 or pulse <= 0 or settle < 0 or args.dt <= 0:
        p.error("--T >= 0, --pulse > 0, --settle >= 0 and --dt > 0 are required")

    if args.backend != "auto":
        os.environ["MICROMAG_BACKEND"] = args.backend  # read by backend='auto' in this process and the workers
    import micromag as mm
    from micromag.engine.backends import select_backend

    backend = select_backend("auto")
    workers = args.workers or (1 if backend == "gpu" else len(os.sched_getaffinity(0)))

    out_dir = os.path.join(os.environ.get("MICROMAG_OUT", ""), args.out)
    if args.fresh and os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    sweep_dir = os.path.join(out_dir, "sweep")

    probe = build(Js[0], T=args.T, pulse=pulse, rise=rise, cell=cell, dt=args.dt, batch=1)
    g = probe.grid
    end = pulse + rise  # the pulse is back to zero here
    duration = end + settle
    print(f"tilted 45° CoFeB ellipse on β-W at T = {args.T:g} K: grid {g.n} ({cell * 1e9:g} nm cells, "
          f"{int(probe.system.magnetic.sum())} magnetic), backend {probe.backend}, {workers} worker(s)")
    print(f"N = {N} runs × {len(Js)} current densities, pulse {pulse * 1e9:g} ns (edges {rise * 1e12:g} ps) + "
          f"{settle * 1e9:g} ns settle, dt = {args.dt:g} s ({duration / args.dt:.0f} steps per run at most); "
          f"switched: <mx> < {SWITCH_MX} (easy axis = grid x)")
    print(f"sweep record: {sweep_dir}/results.csv (resumable; rerun the same command to continue)", flush=True)
    del probe

    t0 = time.perf_counter()
    try:
        rows = mm.sweep(
            os.path.abspath(__file__) + ":build", params={"J": [float(j) for j in Js]}, out=sweep_dir,
            duration=duration, every=min(10e-12, duration),
            detect={"quantity": "mx", "threshold": SWITCH_MX, "below": True, "stop": True},
            fixed={"T": float(args.T), "pulse": float(pulse), "rise": float(rise), "cell": float(cell),
                   "dt": float(args.dt)},
            repeats=N, workers=workers, resume=True, progress=True, plot=False)
    except ValueError as exc:
        if "different sweep spec" in str(exc):
            sys.exit(f"{exc}\n(--N, --T, --pulse, --settle, --cell or --dt differ from the sweep in {sweep_dir}: "
                     "add --fresh to start over)")
        raise
    wall = time.perf_counter() - t0

    want = {float(j) for j in Js}
    table = wer_table([r for r in rows if float(r["J"]) in want])
    print(f"\n{'J (A/m²)':>10} {'N':>6} {'errors':>6} {'WER':>8} {'95% CI':>21} {'<t_sw> (ns)':>11}")
    for r in table:
        ts = r["t_switch_mean"]
        print(f"{r['J']:10.3g} {r['N']:6d} {r['errors']:6d} {r['WER']:8.3g} "
              f"[{r['CI_low']:8.3g}, {r['CI_high']:8.3g}] {ts * 1e9 if math.isfinite(ts) else float('nan'):11.3f}")
    write_csv(os.path.join(out_dir, "wer.csv"), table)
    plot_wer(os.path.join(out_dir, "wer.png"), table,
             f"tilted CoFeB/β-W SOT cell, T = {args.T:g} K, {pulse * 1e9:g} ns pulse, N = {N} per point")
    print(f"\n{wall:.1f} s for the sweep; wrote {os.path.join(out_dir, 'wer.csv')} and wer.png")


if __name__ == "__main__":
    main()
