"""SP4 as a user's script: relax, then 1 ns with a table row every 10 ps (bench_cpu's sp4 problem)."""
import os, sys, tempfile, time
t0 = time.perf_counter()
import micromag as mm
MU0 = 4e-7 * 3.141592653589793
sim = mm.Simulation(mm.Grid(n=(128, 32, 1), cell=(500e-9 / 128, 125e-9 / 32, 3e-9)),
                    material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.02, gamma=2.211e5 / MU0), backend="cpu")
sim.m = (1, 0.1, 0)
sim.relax(tol_torque=MU0 * 0.1, progress=False)
sim.B_ext = (-24.6e-3, 4.3e-3, 0)
sim.run(1e-9, every=10e-12, out=tempfile.mkdtemp(), progress=False)
print(f"in-process {time.perf_counter() - t0:.2f} s, m = {sim.m_avg}, micromag from {os.path.dirname(mm.__file__)}")
