"""µMAG standard problem 4, field 1, against the OOMMF trace and MuMax3's figures.

The trace is the package's own copy (micromag/apps/validate/data, copied verbatim from the project's shared
reference folder with its SHA-256 in SOURCES.md), so a fresh clone passes on any machine.

Tolerances and why:
- relaxed s-state at 128×32×1 vs MuMax3's (0.96697, 0.12527, 0): 2e-4 per component — both solvers stop
  at a small but finite torque; the minimum itself is the same discretized problem.
- on OOMMF's own mesh (2.5 × 2.5 × 3 nm, 200×50×1), <m>(t) for t ≤ 0.3 ns to 1e-4: same mesh, same
  exact Newell demag, so the only differences are the relaxed state and integrator errors (we measured
  6e-7 over the first 100 ps and about 2e-5 by 0.3 ns after relaxing to a torque of 1e-7 T); the reference
  README says same-mesh solvers agree to about 1e-3, so 1e-4 is ten times tighter than that.
- first zero crossing of <mx> vs OOMMF's 0.1385 ns: 2 ps on the same mesh, 3 ps on 128×32 (mesh effect).
- <m>(1 ns) at 128×32 vs MuMax3 at 128×32: 0.02 — the trajectory after 0.3 ns is sensitive (the reference
  README: cross-code comparisons over the whole nanosecond use 0.02–0.03).
"""

import numpy as np

import micromag as mm
from micromag.engine.table import read_table
from micromag.apps.validate.cases import data_path

REF = data_path("oommf_field1_2.5nm.txt")
FIELD1 = (-24.6e-3, 4.3e-3, 0.0)


def sp4_sim(nx, ny):
    grid = mm.Grid(n=(nx, ny, 1), cell=(500e-9 / nx, 125e-9 / ny, 3e-9))
    mat = mm.Material(Ms=8.0e5, A=1.3e-11, alpha=0.02, gamma=2.211e5 / mm.mu0)
    sim = mm.Simulation(grid, material=mat, backend="cpu")
    sim.m = (1, 0.1, 0)
    return sim


def reference():
    return np.loadtxt(REF)


def zero_crossing(ts, mx):
    s = np.sign(mx)
    i = np.where(s[:-1] * s[1:] < 0)[0][0]
    return ts[i] - mx[i] * (ts[i + 1] - ts[i]) / (mx[i + 1] - mx[i])


def test_sp4_relaxed_state_minimize_and_relax_agree_with_mumax3():
    sim = sp4_sim(128, 32)
    assert sim.minimize(progress=False) < 1e-5
    np.testing.assert_allclose(sim.m_avg, [0.96697, 0.12527, 0.0], atol=2e-4)
    sim2 = sp4_sim(128, 32)
    assert sim2.relax(progress=False) < 1e-5
    np.testing.assert_allclose(sim2.m_avg, [0.96697, 0.12527, 0.0], atol=2e-4)
    # the same minimum: at a torque of 1e-5 T the soft mode of the s-state is still free by ~1e-4 in <m>
    # (round-off alone moves a relax() stop that far), so both are driven below 1e-6 T before comparing
    assert sim2.relax(tol_torque=1e-6, progress=False) < 1e-6
    np.testing.assert_allclose(sim2.m_avg, sim.m_avg, atol=5e-5)


def test_sp4_field1_on_oommf_mesh_first_300ps():
    ref = reference()
    sim = sp4_sim(200, 50)
    sim.minimize(tol_torque=1e-7, progress=False)  # a looser stop leaves ~1e-4 of slow-mode error in <m>
    sim.B_ext = FIELD1
    ts, ms = [], []
    for _ in range(30):
        sim.run(10e-12, progress=False)
        ts.append(sim.t)
        ms.append(sim.m_avg)
    ts, ms = np.array(ts), np.array(ms)
    r = np.array([np.interp(ts, ref[:, 0], ref[:, i]) for i in (1, 2, 3)]).T
    dev = np.abs(ms - r).max()
    assert dev < 1e-4, dev
    t0 = zero_crossing(ts, ms[:, 0])
    assert abs(t0 - zero_crossing(ref[:, 0], ref[:, 1])) < 2e-12
    assert abs(t0 - 0.1385e-9) < 2e-12


def test_sp4_field1_full_nanosecond_128x32(tmp_path):
    ref = reference()
    sim = sp4_sim(128, 32)
    sim.minimize(progress=False)
    sim.B_ext = FIELD1
    sim.run(1e-9, out=tmp_path, every=10e-12, progress=False)
    names, data = read_table(tmp_path / "table.txt")
    assert names[:4] == ["t", "mx", "my", "mz"]
    assert data.shape[0] == 101
    np.testing.assert_allclose(data[:, 0], np.arange(101) * 10e-12, rtol=0, atol=1e-21)
    t0 = zero_crossing(data[:, 0], data[:, 1])
    assert abs(t0 - 0.1385e-9) < 3e-12
    # early trajectory vs OOMMF on a finer mesh (3.9 vs 2.5 nm cells): the mesh effect is ~2e-3
    early = data[:, 0] <= 0.25e-9
    r = np.array([np.interp(data[early, 0], ref[:, 0], ref[:, i]) for i in (1, 2, 3)]).T
    assert np.abs(data[early, 1:4] - r).max() < 4e-3
    np.testing.assert_allclose(sim.m_avg, [-0.98461, 0.12604, 0.04327], atol=0.02)
    # energy columns: total = sum of the terms
    iE = names.index("E_total")
    parts = [i for i, n in enumerate(names) if n.startswith("E_") and n != "E_total"]
    # (10 significant digits in the table; terms partly cancel, so compare on the scale of the terms)
    scale = np.abs(data[:, parts]).max()
    np.testing.assert_allclose(data[:, iE], data[:, parts].sum(axis=1), rtol=0, atol=1e-8 * scale)
