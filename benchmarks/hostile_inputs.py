"""Count how micromag treats hostile inputs: named errors, hangs, silent results (issue 11).

    python benchmarks/hostile_inputs.py                      # the micromag on sys.path (this checkout)
    PYTHONPATH=/path/to/old/checkout python benchmarks/hostile_inputs.py --label before

Every case is a small action a new user might take (a bad argument, an absurd magnitude, a resumed run,
a killed sweep). Each ends in one of:

ok       the right outcome: a bad input refused with an error that names the parameter (its keyword in
         the message), or an extreme but valid input that finishes with a finite, correct state (a
         warning is fine), or a diverging one stopped with a clear error naming the cause;
unnamed  an error whose message does not name the parameter or the cause (bare MemoryError, KeyError, ...);
hang     still running after the time limit (``--limit``, default 10 s; SIGALRM interrupts it);
silent   it returned, but with a wrong or no-op result and no error: NaN or zeroed state, time running
         backwards in the table, a bad argument accepted, an orphaned process, a stale temporary.

Cases run in this process, one after the other, with the address space limited (``--mem-gib``, default 8)
so that a missing memory check fails fast instead of filling the machine. The process-hygiene case
starts ``micromag sweep`` in a subprocess and SIGKILLs it.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

import numpy as np


class Hang(BaseException):
    pass


@contextlib.contextmanager
def limit(seconds):
    def boom(signum, frame):
        raise Hang()

    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


CASES = []


def case(name, bad, keyword=None, check=None):
    """Register ``fn``. bad: the input is invalid and must be refused (message must contain keyword).
    Otherwise the result must pass ``check(result) -> bool`` (or an error naming ``keyword`` is also ok)."""
    def deco(fn):
        CASES.append((name, bad, keyword, check, fn))
        return fn
    return deco


def add(name, bad, keyword, fn, check=None):
    CASES.append((name, bad, keyword, check, fn))


# ---------------------------------------------------------------------------------------------- helpers
def mm():
    import micromag

    return micromag


def grid(n=(8, 8, 1)):
    return mm().Grid(n=n, cell=(4e-9, 4e-9, 3e-9))


def sim(**kw):
    mat = kw.pop("material", None) or mm().Permalloy()
    s = mm().Simulation(kw.pop("grid", None) or grid(), material=mat, backend="cpu", **kw)
    s.m = (1, 0.1, 0.05)
    return s


def finite(s):
    return bool(np.all(np.isfinite(s.m))) and bool(np.all(np.isfinite(np.atleast_1d(s.t))))


BAD_NUMBERS = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, "a", None, True, [1.0, 2.0], 1e400]


def build_cases():
    M = mm()
    # ---------------------------------------------------------------- Grid
    for key in ("n", "cell", "pbc"):
        for axis in range(3):
            for v in BAD_NUMBERS + ([2.5] if key != "cell" else [1.0]):
                good = {"n": [8, 8, 1], "cell": [4e-9, 4e-9, 3e-9], "pbc": [0, 0, 0]}
                vals = list(good[key])
                vals[axis] = v
                if key == "pbc" and isinstance(v, float) and v == 0.0:
                    continue  # 0 images is valid
                if key == "cell" and v == 1.0:
                    kw = dict(good, **{key: vals})  # 1 m cells: refused as "larger than 1 mm"
                else:
                    kw = dict(good, **{key: vals})
                add(f"Grid({key}[{axis}]={v!r})", True, key,
                    lambda kw=kw: M.Grid(n=kw["n"], cell=kw["cell"], pbc=kw["pbc"]))
    # ---------------------------------------------------------------- Simulation arguments
    sim_bad = {
        "batch": BAD_NUMBERS + [2.5, "3"],
        "tol": BAD_NUMBERS + [2.0, 1.0],
        "dt": BAD_NUMBERS, "dt_min": BAD_NUMBERS, "dt_max": BAD_NUMBERS,
        "demag": ["maybe", 1.5, None, "yes"],
        "integrator": ["rk9", None, 3, ""],
        "backend": ["tpu", None, 3],
        "dtype": ["float16", np.int32, "x"],
        "material": ["Permalloy", 3, {"Ms": 8e5}],
    }
    for key, vals in sim_bad.items():
        for v in vals:
            if key == "demag" and v is None:
                continue
            kw = {key: v}
            add(f"Simulation({key}={v!r})", True, key,
                lambda kw=kw: M.Simulation(grid(), **({"material": M.Permalloy()} if "material" not in kw else {}),
                                           **({"backend": "cpu"} if "backend" not in kw else {}), **kw))
    # ---------------------------------------------------------------- run / step / minimize / relax arguments
    for v in BAD_NUMBERS + [[1e-12, 2e-12]]:
        add(f"run(duration={v!r})", True, "duration", lambda v=v: sim().run(v, progress=False))
    for key in ("every", "snapshot_every"):
        for v in BAD_NUMBERS:
            if v is None:
                continue
            add(f"run({key}={v!r})", True, key,
                lambda key=key, v=v: sim().run(1e-12, progress=False, **{key: v}, out=tempfile.mkdtemp()))
    for v in [-3, 0, 2.5, "a", None, float("nan")]:
        add(f"step({v!r})", True, "n", lambda v=v: sim().step(v))
    for v in [-5, 0, 2.5, "a", None, float("inf")]:
        add(f"minimize(max_iter={v!r})", True, "max_iter", lambda v=v: sim().minimize(max_iter=v, progress=False))
    for key in ("tol_torque",):
        for v in BAD_NUMBERS:
            add(f"minimize({key}={v!r})", True, key, lambda key=key, v=v: sim().minimize(progress=False, **{key: v}))
            add(f"relax({key}={v!r})", True, key, lambda key=key, v=v: sim().relax(progress=False, **{key: v}))
    for v in BAD_NUMBERS:
        add(f"relax(max_time={v!r})", True, "max_time", lambda v=v: sim().relax(max_time=v, progress=False))
    # ---------------------------------------------------------------- state setters
    for v in [(np.nan, 0, 0), (np.inf, 0, 0), (0, 0, 0), "abc", (1, 2), np.ones((3, 2, 2, 2))]:
        add(f"sim.m = {v if not isinstance(v, np.ndarray) else 'array' + str(v.shape)}", True, "m",
            lambda v=v: setattr(sim(), "m", v))

    def huge_m():
        s = sim()
        s.m = (1e200, 1e200, 0)
        return s
    add("sim.m = (1e200, 1e200, 0)", False, "m", huge_m,
        check=lambda s: np.allclose(s.m_avg, [2**-0.5, 2**-0.5, 0]))
    for v in [float("nan"), float("inf"), "a", [1, 2, 3]]:
        add(f"sim.t = {v!r}", True, "t", lambda v=v: setattr(sim(), "t", v))

    def t_nan_run():
        s = sim()
        try:
            s.t = float("nan")
        except ValueError:
            raise
        s.run(1e-12, progress=False)
        return s
    add("sim.t = nan then run()", True, "t", t_nan_run)

    def tol_later():
        s = sim()
        s.tol = 2.0
        s.run(1e-12, progress=False)
        return s
    add("sim.tol = 2.0 then run()", True, "tol", tol_later)
    for v in [5, -1, 1.5, "a"]:
        add(f"save_ovf(member={v!r})", True, "member",
            lambda v=v: sim().save_ovf(os.path.join(tempfile.mkdtemp(), "m.ovf"), member=v))
    # ---------------------------------------------------------------- magnitudes: the hang triggers
    def run_with(material=None, B=None, duration=1e-13, **kw):
        s = sim(material=material, **kw)
        if B is not None:
            s.B_ext = B
        s.run(duration, progress=False)
        return s

    for B in (1e4, 1e5):
        add(f"B_ext = ({B:g}, 0, 0) T, run(1e-13)", False, "field",
            lambda B=B: run_with(B=(B, 0, 0), duration=1e-13), check=finite)
    for B in (1e200, 1e300):
        add(f"B_ext = ({B:g}, 0, 0) T, run", False, "zeeman", lambda B=B: run_with(B=(B, 0, 0)), check=finite)
    add("B_ext(t) jumping to 1e6 T, run", False, "field",
        lambda: run_with(material=M.Permalloy(alpha=0.001),
                         B=lambda t: (0.0, 0.0, 1e6 if t > 1e-13 else 0.0), duration=1.05e-13), check=finite)
    for kw, word in ((dict(Ms=1e30), "Ms"), (dict(Ms=1e25), "Ms"), (dict(Ku1=1e300), "Ku1"), (dict(Ku1=1e250), "Ku1"),
                     (dict(A=1e10), "exchange"), (dict(Kc1=1e300), "Kc1")):
        add(f"Permalloy({kw}), run", False, word.split("1")[0] if word != "exchange" else "exchange",
            lambda kw=kw: run_with(material=M.Permalloy(**kw)), check=finite)

    def collapse():
        return run_with(B=(0, 0, 1.0), duration=1e-8, tol=1e-12, dt=1e-13, dt_min=1e-13, dt_max=1e-11)
    add("every step forced at dt_min (tol 1e-12, dt_min 1e-13), run(1e-8)", False, "tol", collapse,
        check=lambda s: False)

    def minimize_huge():
        s = sim()
        s.B_ext = (1e200, 0, 0)
        s.minimize(progress=False)
        return s
    add("minimize() with B_ext = 1e200 T", False, "zeeman", minimize_huge, check=finite)

    def relax_huge():
        s = sim(material=M.Permalloy(Ku1=1e300))
        s.relax(progress=False)
        return s
    add("relax() with Ku1 = 1e300", False, "anisotropy", relax_huge, check=finite)

    def nan_checkpoint():
        s = sim()
        s._m[0, 0, 0, 0, 0] = np.nan
        p = os.path.join(tempfile.mkdtemp(), "c.pkl")
        s.save_checkpoint(p)
        return os.path.exists(p)
    add("save_checkpoint of a NaN state", True, "NaN", nan_checkpoint)

    def rk4_unstable():
        s = sim(integrator="rk4", dt=1e-11)
        s.B_ext = (0, 0, 10.0)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            s.run(1e-10, progress=False)
        return any("unstable" in str(x.message) for x in w)
    add("rk4 at dt = 1e-11 s in 10 T", False, "unstable", rk4_unstable, check=bool)

    def batch_member():
        res = M.Batch(lambda B: sim(batch=B), [{"B_ext": (0, 0.02, 0)}, {"B_ext": (1e300, 0, 0)}],
                      check_every=5e-12).run(10e-12)
        return res
    add("Batch with one member at 1e300 T", False, "zeeman", batch_member,
        check=lambda res: np.isfinite(res[0]["m_avg"]).all() and abs(res[0]["t"] - 10e-12) < 1e-20
        and (res[1].get("diverged") is True))
    # ---------------------------------------------------------------- memory
    add("Simulation 4096x4096x64", True, "cells",
        lambda: M.Simulation(M.Grid(n=(4096, 4096, 64), cell=(1e-9,) * 3), material=M.Permalloy(), backend="cpu"))
    add("Simulation 1024x1024x32", True, "cells",
        lambda: M.Simulation(M.Grid(n=(1024, 1024, 32), cell=(2e-9,) * 3), material=M.Permalloy(), backend="cpu"))
    add("Simulation 1024x1024x1 batch=4096", True, "cells",
        lambda: M.Simulation(M.Grid(n=(1024, 1024, 1), cell=(2e-9,) * 3), material=M.Permalloy(), backend="cpu",
                             batch=4096))
    add("run(1e-12, every=1e-22)", True, "every", lambda: sim().run(1e-12, every=1e-22, progress=False))
    add("run(1e-3, every=1e-18)", True, "every", lambda: sim().run(1e-3, every=1e-18, progress=False))
    # ---------------------------------------------------------------- checkpoints and outputs
    def ckpt_without(key):
        s = sim()
        d = tempfile.mkdtemp()
        p = os.path.join(d, "c.pkl")
        s.save_checkpoint(p)
        with open(p, "rb") as f:
            st = pickle.load(f)
        st.pop(key, None)
        with open(p, "wb") as f:
            pickle.dump(st, f)
        return M.Simulation.load_checkpoint(p)
    for key in ("recipe", "m", "t", "dt"):
        add(f"checkpoint without {key!r}", True, key, lambda key=key: ckpt_without(key))

    def out_is_file():
        d = tempfile.mkdtemp()
        p = os.path.join(d, "afile")
        open(p, "w").close()
        sim().run(1e-12, out=p, progress=False)
    add("run(out= an existing file)", True, "out", out_is_file)

    def resume_duplicates():
        d = tempfile.mkdtemp()
        a = sim()
        a.run(8e-12, out=d, every=2e-12, snapshot_every=4e-12, progress=False)
        a.save_checkpoint(os.path.join(d, "c.pkl"))
        a.run(6e-12, out=d, every=2e-12, snapshot_every=4e-12, progress=False)  # lost to the kill
        b = M.Simulation.load_checkpoint(os.path.join(d, "c.pkl"))
        b.run(8e-12, out=d, every=2e-12, snapshot_every=4e-12, progress=False, append=True)
        from micromag.engine.io.vtk import read_pvd
        from micromag.engine.table import read_table

        t = read_table(os.path.join(d, "table.txt"))[1][:, 0]
        tp = [x for x, _ in read_pvd(os.path.join(d, "m.pvd"))]
        return bool(np.all(np.diff(t) > 0)) and bool(np.all(np.diff(tp) > 0))
    add("resume after a kill: load_checkpoint + run(append=True)", False, "checkpoint", resume_duplicates,
        check=bool)

    def stale_tmp():
        d = tempfile.mkdtemp()
        a = sim()
        a.run(4e-12, out=d, every=2e-12, snapshot_every=2e-12, progress=False)
        a.save_checkpoint(os.path.join(d, "c.pkl"))
        open(os.path.join(d, ".table.txt.999999999.0123abcd.tmp"), "w").close()
        open(os.path.join(d, "m_000042.vti"), "w").close()
        b = M.Simulation.load_checkpoint(os.path.join(d, "c.pkl"))
        b.run(2e-12, out=d, every=2e-12, snapshot_every=2e-12, progress=False, append=True)
        return not any(f.endswith(".tmp") or f == "m_000042.vti" for f in os.listdir(d))
    add("resume with a stale .tmp and an unlisted frame", False, "tmp", stale_tmp, check=bool)
    # ---------------------------------------------------------------- sweep specs
    sweep = __import__("importlib").import_module("micromag.apps.sweep")

    def spec(text):
        d = tempfile.mkdtemp()
        p = os.path.join(d, "s.toml")
        with open(p, "w") as f:
            f.write(text)
        return sweep.load_spec(p).points()
    head = '[sweep]\nbuild = "micromag.apps.sweep:demo_cell"\nduration = 1e-12\n'
    add("sweep points = [1, 2]", True, "points", lambda: spec('points = [1, 2]\n' + head))
    add("sweep range step 1e-13", True, "points",
        lambda: spec(head + "[params]\nBz = {start = 0.0, stop = 1.0, step = 1e-13}\n"))
    add("sweep range num 1e12", True, "points",
        lambda: spec(head + "[params]\nBz = {start = 0.0, stop = 1.0, num = 1000000000000}\n"))
    add("sweep 1e5 x 1e5 product", True, "points",
        lambda: spec(head + "[params]\nBz = {start = 0.0, stop = 1.0, num = 100000}\n"
                            "Bx = {start = 0.0, stop = 1.0, num = 100000}\n"))
    for key, v in (("workers", 0), ("workers", -1), ("repeats", 0), ("duration", -1.0), ("retries", -1)):
        add(f"sweep {key} = {v}", True, key, lambda key=key, v=v: spec(head.replace("duration = 1e-12",
                                                                                      f"duration = 1e-12\n{key} = {v}"
                                                                                      if key != "duration" else
                                                                                      f"duration = {v}")
                                                                      + "[params]\nBz = [0.1]\n"))

    # ---------------------------------------------------------------- CLI
    def cli(*args, timeout=60):
        r = subprocess.run([sys.executable, "-m", "micromag.apps.cli", *args], capture_output=True, text=True,
                           timeout=timeout, env=os.environ.copy())
        return r

    def cli_workers0():
        d = tempfile.mkdtemp()
        p = os.path.join(d, "s.toml")
        with open(p, "w") as f:
            f.write(head + "[params]\nBz = [0.1]\n")
        r = cli("sweep", p, "--workers", "0", "--out", os.path.join(d, "o"))
        if r.returncode == 0:
            return "accepted"
        raise ValueError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit status only")
    add("micromag sweep --workers 0", True, "workers", cli_workers0)

    def cli_version():
        r = cli("--version")
        if r.returncode != 0:
            raise ValueError(r.stderr.strip().splitlines()[-1])
        return r.stdout
    add("micromag --version", False, "version", cli_version, check=lambda out: "micromag" in out)

    def cli_report():
        t0 = time.time()
        r = cli("validate", "--report", "/proc/micromag-nowhere/report", "--only", "macrospin_precession",
                timeout=300)
        if r.returncode != 0 and time.time() - t0 < 20 and "report" in r.stderr and "[validate]" not in r.stderr:
            raise ValueError(r.stderr)  # refused before running: named
        return r.stderr[-300:]
    add("micromag validate --report /unwritable", True, "report", cli_report)

    def sweep_orphans():
        d = tempfile.mkdtemp()
        p = os.path.join(d, "s.toml")
        with open(p, "w") as f:
            f.write('[sweep]\nbuild = "micromag.apps.sweep:demo_cell"\nduration = 1e-6\nworkers = 2\n'
                    "[params]\nBz = [0.1, 0.2, 0.3]\n")
        env = dict(os.environ, MICROMAG_BACKEND="cpu")
        proc = subprocess.Popen([sys.executable, "-m", "micromag.apps.cli", "sweep", p, "--out", os.path.join(d, "o")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        kids, t0 = [], time.time()
        while time.time() - t0 < 60 and len(kids) < 3:
            time.sleep(0.2)
            kids = children(proc.pid)
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t0 = time.time()
        while time.time() - t0 < 5 and any(alive(k) for k in kids):
            time.sleep(0.1)
        left = [k for k in kids if alive(k)]
        for k in left:
            with contextlib.suppress(OSError):
                os.kill(k, signal.SIGKILL)
        return not left and len(kids) >= 2
    add("SIGKILL micromag sweep (2 workers): children gone within 5 s", False, "worker", sweep_orphans, check=bool)
    build_issue22_cases(M, head, spec, cli)


def build_issue22_cases(M, head, spec, cli):
    """The examples of issue 22: setters that were accepted and ignored, runs that could not end, readers and
    messages that did not name the cause. Tagged "[22]" (``--only [22]``; CI runs them, tests/test_hostile.py)."""
    def setter(name, value, then_run=False):
        def fn():
            s = sim()
            setattr(s, name, value)
            if then_run:
                s.run(1e-12, progress=False)
            return s
        return fn

    # silent: accepted and ignored or misread
    add("[22] sim.material = None", True, "material", setter("material", None))
    add("[22] sim.grid = another grid", True, "grid", setter("grid", grid((4, 4, 1))))
    add("[22] sim.terms = {}", True, "terms", setter("terms", {}))
    add("[22] sim.backend = 'gpu' after construction", True, "backend", setter("backend", "gpu"))
    add("[22] sim.dt_min = -1", True, "dt_min", setter("dt_min", -1.0))
    add("[22] sim.dt_min = 1e-9 > dt_max", True, "dt_min", setter("dt_min", 1e-9))
    add("[22] sim.dt_max = nan", True, "dt_max", setter("dt_max", float("nan")))
    add("[22] sim.temperature = 1e12", True, "temperature", setter("temperature", 1e12))
    add("[22] sim.temperature = lambda t: -300, run", True, "temperature",
        setter("temperature", lambda t: -300.0, then_run=True))
    add("[22] sim.t = 1e10, run(1e-12)", True, "t", setter("t", 1e10, then_run=True))
    add("[22] run(stop=lambda s: 'yes')", True, "stop",
        lambda: sim().run(2e-12, every=1e-12, stop=lambda s: "yes", progress=False))
    for seed in (-1, 1.7):
        add(f"[22] Batch member seed {seed}", True, "seed",
            lambda seed=seed: M.Batch(lambda B: sim(batch=B), [{"seed": seed}]).run(1e-12))
    add("[22] energy_barrier(via=(nan, 0, 0))", True, "via",
        lambda: M.energy_barrier(sim(), (1, 0, 0), (-1, 0, 0), images=4, via=(float("nan"), 0, 0), max_iter=5))
    add("[22] energy_barrier(path=wrong shape)", True, "path",
        lambda: M.energy_barrier(sim(), (1, 0, 0), (-1, 0, 0), images=4, path=np.ones((2, 3, 1, 2, 2)),
                                 max_iter=5))

    def ckpt_zero():
        s = sim()
        d = tempfile.mkdtemp()
        p = os.path.join(d, "c.pkl")
        s.save_checkpoint(p)
        with open(p, "rb") as f:
            st = pickle.load(f)
        st["m"][...] = 0.0
        with open(p, "wb") as f:
            pickle.dump(st, f)
        return M.Simulation.load_checkpoint(p).run(1e-12, progress=False)
    add("[22] checkpoint with m = 0, loaded and run", True, "m", ckpt_zero)

    def relax_ms():
        s = sim(material=M.Permalloy(Ms=1e30))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a warning that it did not converge is the answer
            return s.relax(progress=False)
    add("[22] relax() with Ms = 1e30", True, "tol_torque", relax_ms)

    def ovf_huge_step():
        from micromag.engine.io.ovf import read_ovf, write_ovf

        d = tempfile.mkdtemp()
        p = os.path.join(d, "m.ovf")
        write_ovf(p, np.ones((3, 1, 2, 2)), grid=grid((2, 2, 1)), fmt="text")
        text = open(p).read()
        import re as _re

        open(p, "w").write(_re.sub(r"# xstepsize: \S+", "# xstepsize: 1e300", text))
        return read_ovf(p)
    add("[22] OVF with xstepsize 1e300", True, "xstepsize", ovf_huge_step)
    add("[22] sweep range with num and step", True, "num",
        lambda: spec(head + "[params]\nBz = {start = 0.0, stop = 1.0, num = 3, step = 0.5}\n"))
    add("[22] [[points]] beside [params] setting the same name", True, "points",
        lambda: spec(head + "[params]\nBz = [0.1]\n[[points]]\nBz = 0.5\n"))

    def plot_nan():
        d = tempfile.mkdtemp()
        p = os.path.join(d, "table.txt")
        open(p, "w").write("# t (s)\tmx ()\tmy ()\tmz ()\n0\tnan\tnan\tnan\n1e-12\tnan\tnan\tnan\n")
        r = cli("plot", p, "-o", os.path.join(d, "t.png"))
        if r.returncode != 0:
            raise ValueError(r.stderr)
        return r
    add("[22] micromag plot of an all-NaN table", True, "finite", plot_nan)

    def cell_workers():
        r = cli("cell", "examples/cells/stt_pmtj_40nm.toml", "--workers", "-1", "--out", tempfile.mkdtemp())
        if r.returncode != 0 and "--workers" in r.stderr:
            raise ValueError(r.stderr)
        return r
    add("[22] micromag cell --workers -1", True, "workers", cell_workers)
    # endless: refused before they start
    add("[22] rk4 dt = 1e-18, run(1e-9)", True, "steps",
        lambda: sim(integrator="rk4", dt=1e-18).run(1e-9, progress=False))
    add("[22] dt_max = 1e-17, run(1e-9)", True, "steps", lambda: sim(dt_max=1e-17).run(1e-9, progress=False))

    def field_1e6():
        s = sim()
        s.B_ext = (1e6, 0, 0)
        return s.run(1e-9, progress=False)
    add("[22] B_ext = 1e6 T, run(1e-9)", True, "steps", field_1e6)
    add("[22] minimize(tol_torque=1e-300)", True, "tol_torque", lambda: sim().minimize(tol_torque=1e-300, progress=False))
    add("[22] energy_barrier(images=10**9)", True, "images",
        lambda: M.energy_barrier(sim(), (1, 0, 0), (-1, 0, 0), images=10**9))
    add("[22] Batch(build, 10**9)", True, "members", lambda: M.Batch(lambda B: sim(batch=B), 10**9))
    # unclear: the message must say the real cause
    add("[22] Grid pbc=(10**9, 0, 0)", True, "pbc",
        lambda: M.Simulation(M.Grid(n=(8, 8, 1), cell=(4e-9, 4e-9, 3e-9), pbc=(10**9, 0, 0)),
                             material=M.Permalloy(), backend="cpu"))
    add("[22] sim.dt_max = nan: named as dt_max", True, "dt_max", setter("dt_max", float("nan"), then_run=True))
    add("[22] run(out='/proc/nope')", True, "/proc/nope", lambda: sim().run(1e-12, out="/proc/nope", progress=False))
    add("[22] snapshot_members=[5] with one member", True, "snapshot_members",
        lambda: sim().run(1e-12, out=tempfile.mkdtemp(), snapshot_every=1e-12, snapshot_members=[5], progress=False))
    add("[22] bow-tie polygon (filled by its even-odd rule, not refused as collinear)", False, "polygon",
        lambda: M.Polygon([(-5e-9, -5e-9), (5e-9, 5e-9), (5e-9, -5e-9), (-5e-9, 5e-9)], thickness=1e-9),
        check=lambda p: p.fill_fraction(M.Grid(n=(10, 10, 1), cell=(1e-9, 1e-9, 1e-9))).sum() > 40)

    def run_failing_script():
        d = tempfile.mkdtemp()
        p = os.path.join(d, "user.py")
        open(p, "w").write("def inner():\n    raise ValueError('my bug')\n\ninner()\n")
        r = cli("run", p)
        if "Traceback" in r.stderr and "inner" in r.stderr:
            raise ValueError("traceback kept: " + r.stderr.splitlines()[-1])
        return r
    add("[22] micromag run of a failing script keeps the traceback", True, "traceback", run_failing_script)


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except OSError:
                pass
    return kids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def classify(bad, keyword, check, fn, seconds):
    """(outcome, detail)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                with limit(seconds):
                    res = fn()
        except Hang:
            return "hang", f"still running after {seconds} s"
        except BaseException as exc:  # noqa: BLE001 - SystemExit of a library counts too
            msg = f"{type(exc).__name__}: {exc}"
            if keyword and keyword.lower() in str(exc).lower():
                return "ok", msg[:160]
            return "unnamed", msg[:160] + " | " + traceback.format_exception_only(type(exc), exc)[-1].strip()[:80]
    warned = [str(x.message) for x in w]
    if bad:
        return "silent", f"accepted (returned {type(res).__name__}){' with warning' if warned else ''}"
    try:
        good = bool(check(res)) if check else True
    except Exception as exc:  # noqa: BLE001
        good, warned = False, warned + [f"check failed: {exc}"]
    if good:
        return "ok", "finished correctly" + (" (warned)" if warned else "")
    return "silent", "wrong or no-op result" + (f"; warnings: {warned[0][:80]}" if warned else "")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", default="this checkout")
    p.add_argument("--limit", type=float, default=10.0, help="seconds before a case counts as a hang")
    p.add_argument("--mem-gib", type=float, default=8.0, help="address-space limit of this process (GiB)")
    p.add_argument("--only", default=None, help="run only the cases whose name contains this text")
    args = p.parse_args(argv)
    import resource

    lim = int(args.mem_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (lim, resource.getrlimit(resource.RLIMIT_AS)[1]))
    os.environ.setdefault("MICROMAG_BACKEND", "cpu")
    os.environ.setdefault("MICROMAG_CACHE", tempfile.mkdtemp())
    import micromag

    build_cases()
    counts = {"ok": 0, "unnamed": 0, "hang": 0, "silent": 0}
    t0 = time.time()
    print(f"# micromag at {os.path.dirname(micromag.__file__)} ({args.label})")
    for name, bad, keyword, check, fn in CASES:
        if args.only and args.only not in name:
            continue
        outcome, detail = classify(bad, keyword, check, fn, args.limit)
        counts[outcome] += 1
        if outcome != "ok":
            print(f"{outcome:8s} {name}: {detail}")
    n = sum(counts.values())
    print(f"\n{args.label}: {n} inputs in {time.time() - t0:.0f} s -- ok (named error or right result) "
          f"{counts['ok']}, unnamed errors {counts['unnamed']}, hangs {counts['hang']}, silent {counts['silent']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
