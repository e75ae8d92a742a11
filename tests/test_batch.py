"""mm.Batch: a batch equals its members run one by one (bit for bit on the CPU), per-member steps,
early stops, chunks, compaction and bad input."""
import numpy as np
import pytest

import micromag as mm
from micromag.engine.batch import Batch, Threshold

pytestmark = pytest.mark.usefixtures("each_backend")  # every test on backend cpu and emulate

GRID = mm.Grid(n=(4, 4, 1), cell=(3e-9, 3e-9, 1.5e-9))
MAT = mm.Material(Ms=1.0e6, A=5e-12, alpha=0.3, Ku1=1e6, anis_u=(0, 0, 1))
M0 = (0.2, 0.0, 1.0)


def build(B):
    sim = mm.Simulation(GRID, material=MAT, batch=B)
    sim.m = M0
    return sim


def single(B_ext=None, temperature=None, seed=None, m0=None):
    sim = build(1)
    if m0 is not None:
        sim.m = m0
    if B_ext is not None:
        sim.B_ext = B_ext
    if temperature is not None:
        sim.temperature = temperature
    if seed is not None:
        sim.seed = seed
    return sim


MEMBERS = [
    {"B_ext": (0, 0, -3.0)},                     # switches early
    {"B_ext": (0.02, 0, 0.1)},                   # easy, stays
    {"B_ext": (0, 0, -1.5), "m0": (0.2, 0.1, 1)},  # switches later
    {"B_ext": (0.5, 0.0, 0.3), "duration": 60e-12},  # own, shorter duration
]


def test_batch_equals_single_runs_bitwise():
    res = Batch(build, MEMBERS, check_every=10e-12).run(100e-12)
    for mem, r in zip(MEMBERS, res):
        one = single(mem["B_ext"], m0=mem.get("m0"))
        one.run(mem.get("duration", 100e-12), every=10e-12, progress=False)
        assert np.array_equal(r["m"], one.m[0])
        assert r["t"] == one.t
        assert r["steps"] == one._stepper.nsteps
        assert not r["stopped"]


def test_members_that_stop_early_equal_single_runs_and_stop_costing_steps():
    stop = Threshold("mz", 0.0, below=True)
    b = Batch(build, MEMBERS, stop=stop, check_every=10e-12)
    res = b.run(100e-12)
    assert [r["stopped"] for r in res] == [True, False, True, False]
    assert res[0]["t"] < res[2]["t"] < 100e-12
    assert res[0]["t_stop"] <= res[0]["t"] and res[0]["t_stop"] > res[0]["t"] - 10e-12
    assert res[0]["m_avg"][2] < 0
    assert b.nbuilds >= 2  # the chunk was compacted when half of it had finished
    # each member alone, through the same code path and through Simulation.run up to its stop time
    for k, (mem, r) in enumerate(zip(MEMBERS, res)):
        alone = Batch(build, [mem], stop=stop, check_every=10e-12).run(100e-12)[0]
        assert np.array_equal(alone["m"], r["m"]) and alone["t"] == r["t"] and alone["steps"] == r["steps"]
        assert alone["t_stop"] == r["t_stop"] or (np.isnan(alone["t_stop"]) and np.isnan(r["t_stop"]))
        one = single(mem["B_ext"], m0=mem.get("m0"))
        one.run(r["t"], every=10e-12, progress=False)
        assert np.array_equal(one.m[0], r["m"]), k


def test_thermal_members_with_seeds_equal_single_runs():
    members = [{"temperature": 300.0, "seed": 7, "B_ext": (0, 0, -0.2)},
               {"temperature": 50.0, "seed": 7},
               {"temperature": 300.0, "seed": 8},
               {"temperature": 0.0, "B_ext": (0, 0, 0.1)}]  # T = 0: its own chunk with the adaptive integrator

    def build_dt(B):
        sim = build(B)
        sim.dt = 2e-14
        return sim

    res = Batch(build_dt, members, check_every=5e-12).run(20e-12)
    assert res[3]["chunk"] != res[0]["chunk"]
    for mem, r in zip(members, res):
        one = single(mem.get("B_ext"), temperature=mem["temperature"], seed=mem.get("seed"))
        one.dt = 2e-14
        one.run(20e-12, every=5e-12, progress=False)
        assert np.array_equal(r["m"], one.m[0])
    assert not np.array_equal(res[0]["m"], res[2]["m"])  # different seeds, different noise
    # without explicit seeds, member i draws (sim.seed, i) whatever the chunking
    mems = [{"temperature": 300.0} for _ in range(3)]
    a = Batch(build_dt, mems).run(10e-12)
    b = Batch(build_dt, mems, chunk=1).run(10e-12)
    for x, y in zip(a, b):
        assert np.array_equal(x["m"], y["m"])
    assert not np.array_equal(a[0]["m"], a[1]["m"])


def test_per_member_time_steps_stiff_and_easy():
    """The easy member takes in the batch exactly the steps it takes alone."""
    stiff, easy = {"B_ext": (20.0, 0, 0)}, {"B_ext": (0, 0.01, 0.05)}
    res = Batch(build, [stiff, easy]).run(50e-12)
    alone = [Batch(build, [m]).run(50e-12)[0] for m in (stiff, easy)]
    assert res[1]["steps"] == alone[1]["steps"] and res[0]["steps"] == alone[0]["steps"]
    assert res[0]["steps"] > 1.5 * res[1]["steps"]
    one = single(easy["B_ext"])
    one.run(50e-12, progress=False)
    assert one._stepper.nsteps == res[1]["steps"]


def test_chunks_give_the_same_results():
    mems = [{"B_ext": (0, 0, -0.2 * k)} for k in range(5)]
    a = Batch(build, mems).run(30e-12)
    b = Batch(build, mems, chunk=2).run(30e-12)
    assert sorted({r["chunk"] for r in b}) == [0, 1, 2]
    for x, y in zip(a, b):
        assert np.array_equal(x["m"], y["m"])


def test_custom_setter_and_build_with_members():
    seen = {}

    def set_alpha_field(sim, values):  # a per-member drive through a user hook
        seen["v"] = list(values)
        sim.B_ext = np.array([(0, 0, v) for v in values])

    res = Batch(build, [{"Bz": -1.0}, {"Bz": 0.2}], setters={"Bz": set_alpha_field}).run(20e-12)
    assert seen["v"] == [-1.0, 0.2]
    ref = Batch(build, [{"B_ext": (0, 0, -1.0)}, {"B_ext": (0, 0, 0.2)}]).run(20e-12)
    assert np.array_equal(res[0]["m"], ref[0]["m"])

    def build2(B, members):
        sim = build(B)
        sim.B_ext = np.array([(0, 0, m["Bz"]) for m in members])
        return sim

    res2 = Batch(build2, [{"Bz": -1.0}, {"Bz": 0.2}], setters={"Bz": lambda sim, v: None}).run(20e-12)
    assert np.array_equal(res2[0]["m"], ref[0]["m"])


def test_bad_input():
    with pytest.raises(ValueError, match="current"):
        Batch(build, [{"current": 1e11}])
    with pytest.raises(ValueError, match="at least one"):
        Batch(build, [])
    with pytest.raises(ValueError, match="temperature"):
        Batch(build, [{"temperature": -1}])
    with pytest.raises(ValueError, match="batch=2"):
        Batch(lambda B: build(1), 2).run(1e-12)
    with pytest.raises(ValueError, match="chunk"):
        Batch(build, 2, chunk=0)
    with pytest.raises(ValueError, match="quantity"):
        Threshold("mq")


def test_thermal_members_stopping_early_survive_compaction():
    def build_dt(B):
        sim = build(B)
        sim.dt = 2e-14
        return sim

    mems = [{"temperature": 300.0, "B_ext": (0, 0, -3.0)}, {"temperature": 300.0, "B_ext": (0, 0, -3.0)},
            {"temperature": 300.0}, {"temperature": 300.0, "seed": 3}]
    b = Batch(build_dt, mems, stop=Threshold(), check_every=5e-12)
    a = b.run(40e-12)
    c = Batch(build_dt, mems, stop=Threshold(), check_every=5e-12, chunk=1).run(40e-12)
    assert [r["stopped"] for r in a] == [True, True, False, False] and b.nbuilds >= 3
    for x, y in zip(a, c):
        assert np.array_equal(x["m"], y["m"]) and x["steps"] == y["steps"]
