"""Cost of the run loop's guards (issue 11): wall time per step of ``Simulation.run`` with and without them.

    python benchmarks/bench_guard.py                 # this checkout
    PYTHONPATH=/old/checkout python benchmarks/bench_guard.py   # the same loop before the guards

The guards look at the (B,) step sizes every 8 steps and at the state every 256 steps (only for a stepper
without ``keeps_finite``); the fixed-step integrators also check the norm of the new state (one pass).
Reported: best of 5 repetitions, microseconds per step, for a small film (where per-step overhead shows
most) and a larger one.
"""
import time

import numpy as np

import micromag as mm


def per_step(n, integrator, duration, reps=5):
    best = np.inf
    for _ in range(reps):
        grid = mm.Grid(n=n, cell=(4e-9, 4e-9, 3e-9))
        sim = mm.Simulation(grid, material=mm.Permalloy(alpha=0.05), backend="cpu", integrator=integrator,
                            dt=2e-14)
        sim.m = (1, 0.3, 0.1)
        sim.B_ext = (0, 0.05, 0)
        sim.run(1e-13, progress=False)  # warm up (FFT plans, caches)
        st = sim.stepper
        s0 = st.nsteps
        t0 = time.perf_counter()
        sim.run(duration, progress=False)
        best = min(best, (time.perf_counter() - t0) / (st.nsteps - s0))
    return best * 1e6, st.nsteps - s0


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    for n in ((8, 8, 1), (64, 64, 1)):
        for integ, dur in (("rk45", 2e-10), ("rk4", 1e-11)):
            us, steps = per_step(n, integ, dur)
            print(f"{n[0]}x{n[1]}x{n[2]} {integ}: {us:8.1f} us/step ({steps} steps)")
    # the guard's own cost per step, measured directly (independent of the machine's load on the steps)
    try:
        from micromag.engine.guard import RunGuard
    except ImportError:  # a checkout before the guards
        raise SystemExit(0)
    import timeit

    for n in ((8, 8, 1), (64, 64, 1)):
        sim = mm.Simulation(mm.Grid(n=n, cell=(4e-9, 4e-9, 3e-9)), material=mm.Permalloy(), backend="cpu")
        st = sim.stepper
        g = RunGuard(sim, st, sim.state.m, sim.state.t)
        g.new_target(np.array([1.0]))
        k = 20000
        us = timeit.timeit(g.after_step, number=k) / k * 1e6
        flat = sim._m.reshape(1, -1)
        us_fixed = timeit.timeit(lambda: np.isfinite(np.einsum("ij,ij->i", flat, flat)), number=2000) / 2000 * 1e6
        print(f"{n[0]}x{n[1]}x{n[2]}: RunGuard.after_step {us:.2f} us/step; fixed-step finiteness check "
              f"{us_fixed:.2f} us/step")
