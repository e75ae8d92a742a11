"""micromag.apps.sweep: specs, local runs, resume after a kill, tables, bad input."""
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sw = importlib.import_module("micromag.apps.sweep")  # the module (mm.sweep may be the function)

DATA = Path(__file__).parent / "data" / "sweep"
ROOT = Path(__file__).resolve().parent.parent
BUILD = f"{DATA / 'macrospin.py'}:build"
VOLATILE = ("wall_s",)


def stable(rows):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_spec_sweep_writes_rows_tables_and_plot(tmp_path):
    spec = sw.load_spec(DATA / "small.toml")
    assert spec.values["Bz"] == pytest.approx([-3.0, -2.5, -2.0, -1.5, -1.0, -0.5])
    rows = sw.run_sweep(spec, out=tmp_path / "o", progress=False)
    assert [r["Bz"] for r in rows] == spec.values["Bz"]
    assert [r["switched"] for r in rows] == [True, True, True, True, False, False]
    sw_t = [r["t_switch"] for r in rows if r["switched"]]
    assert sw_t == sorted(sw_t)  # a weaker field switches later
    assert all(r["mz"] < 0 for r in rows[:4]) and all(r["energy_used"] > 0 for r in rows)
    import csv

    with open(tmp_path / "o" / "results.csv") as f:
        got = list(csv.DictReader(f))
    assert len(got) == 6 and {"Bz", "switched", "t_switch", "mx", "my", "mz", "energy_used", "wall_s"} <= set(got[0])
    try:
        import pyarrow.parquet as pq
    except ImportError:
        pq = None
    if pq is not None:
        t = pq.read_table(tmp_path / "o" / "results.parquet")
        assert t.num_rows == 6 and t.column("Bz").to_pylist() == spec.values["Bz"]
    assert (tmp_path / "o" / "error_rate.png").stat().st_size > 1000
    # a second run into the same folder needs --resume; with it nothing runs again
    with pytest.raises(FileExistsError, match="resume"):
        sw.run_sweep(spec, out=tmp_path / "o", progress=False)
    again = sw.run_sweep(spec, out=tmp_path / "o", resume=True, progress=False)
    assert again == rows


def test_python_api_product_ensemble_and_pool(tmp_path):
    params = {"Bz": [-2.0, -0.5], "Bx": [0.0, 0.05]}
    rows = sw.sweep(BUILD, params, out=tmp_path / "a", duration=40e-12, every=5e-12,
                    detect={"quantity": "mz", "threshold": 0.0}, workers=1)
    assert [(r["Bz"], r["Bx"]) for r in rows] == [(-2.0, 0.0), (-2.0, 0.05), (-0.5, 0.0), (-0.5, 0.05)]
    assert (tmp_path / "a" / "phase.png").exists()
    pooled = sw.sweep(BUILD, params, out=tmp_path / "b", duration=40e-12, every=5e-12,
                      detect={"quantity": "mz", "threshold": 0.0}, workers=2, plot=False)
    assert stable(pooled) == stable(rows)
    # a thermal ensemble: one row per member, seeds 0..N-1, members differ
    ens = sw.sweep(BUILD, {"Bz": [-0.5]}, out=tmp_path / "c", duration=10e-12, every=5e-12, fixed={"T": 300.0},
                   repeats=3, workers=1, plot=False)
    assert [(r["member"], r["seed"]) for r in ens] == [(0, 0), (1, 1), (2, 2)]
    assert len({r["mx"] for r in ens}) == 3
    # zip mode
    z = sw.sweep(BUILD, {"Bz": [-2.0, -0.5], "Bx": [0.0, 0.05]}, out=tmp_path / "d", duration=10e-12, mode="zip",
                 workers=1, plot=False)
    assert [(r["Bz"], r["Bx"]) for r in z] == [(-2.0, 0.0), (-0.5, 0.05)]


KILL_SPEC = f"""
[sweep]
build = "{BUILD}"
duration = 1e-9
every = 20e-12
workers = 1

[params]
Bz = [-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4]

[detect]
stop = false
"""


def _lines(path):
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_killed_sweep_resumes_every_point_exactly_once(tmp_path):
    spec_path = write(tmp_path, KILL_SPEC)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "micromag.apps.sweep", str(spec_path), "--out", str(out), "-q", "--no-plot"]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.PIPE)
    res = out / "results.jsonl"
    t0 = time.time()
    while _lines(res) < 3 and proc.poll() is None and time.time() - t0 < 60:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _lines(res)
    assert 3 <= done_before < 8, "the sweep should have been killed part way"
    assert not (out / "results.csv").exists()  # it really died before the end
    r = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in res.read_text().splitlines()]
    assert sorted(rec["point"] for rec in recs) == list(range(8))  # every point exactly once
    assert len({rec["key"] for rec in recs}) == 8
    # the same results as a sweep that was never interrupted
    ref = sw.run_sweep(sw.load_spec(spec_path), out=tmp_path / "ref", progress=False, plot=False)
    assert stable(sw.read_results(out)) == stable(ref)


def test_resume_drops_a_cut_line_and_refuses_another_spec(tmp_path):
    spec = sw.load_spec(DATA / "small.toml")
    out = tmp_path / "o"
    full = sw.run_sweep(spec, out=out, progress=False, plot=False)
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    (out / "results.jsonl").write_bytes(b"".join(lines[:2]) + lines[2][:40])  # killed in mid-write
    again = sw.run_sweep(spec, out=out, resume=True, progress=False, plot=False)
    assert stable(again) == stable(full)
    recs = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["point"] for r in recs) == list(range(6))
    other = sw.Spec(build=spec.build, params={"Bz": [-1.0]}, duration=50e-12)
    with pytest.raises(ValueError, match="different sweep spec"):
        sw.run_sweep(other, out=out, resume=True, progress=False)


BAD = [
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\n\n[params]\nBz = [-1.0]\nJ = [1e11, 2e11]\n",
     r"line 7: unknown parameter 'J'"),
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\n\n[params]\nBz = {{start = -1, stop = 0, num = 0}}\n",
     r"line 6: range 'Bz' is empty"),
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\n[params]\nBz = []\n", r"line 5: parameter 'Bz' has an empty"),
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\n[params]\nBz = [-1.0,\n", r"line \d+.*does not parse"),
    ("[sweep]\nbuild = \"{b}\"\nduraton = 1e-11\n[params]\nBz = [1]\n", r"line 3: unknown key 'duraton'"),
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\n[params]\nBx = [1]\n", r"line 2: build .* needs \['Bz'\]"),
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\nrepeats = 0\n[params]\nBz = [1]\n", r"line 4: repeats"),
    ("[sweep]\nbuild = \"{b}\"\nduration = -1\n[params]\nBz = [1]\n", r"line 3: duration = -1 is outside the allowed range \(0, inf\)"),
    ("[sweep]\nbuild = \"nowhere.py:build\"\nduration = 1e-11\n", r"line 2: cannot load build"),
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\n[params]\nBz = [1]\n[detect]\nquantity = \"mw\"\n",
     r"line 7: quantity"),
    ("[sweep]\nbuild = \"{b}\"\nduration = 1e-11\n[parms]\nBz = [1]\n", r"line 4: unknown table"),
]


@pytest.mark.parametrize("text,match", BAD)
def test_bad_spec_names_the_line_before_anything_runs(tmp_path, text, match):
    p = write(tmp_path, text.format(b=BUILD))
    with pytest.raises(sw.SpecError, match=match):
        sw.load_spec(p)
    # through the command: exit status 2, the message on stderr, no output folder made
    r = subprocess.run([sys.executable, "-m", "micromag.apps.sweep", str(p), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, cwd=ROOT) if match.startswith("line 7: unknown") else None
    if r is not None:
        assert r.returncode == 2 and "unknown parameter 'J'" in r.stderr and str(p) in r.stderr
        assert not (tmp_path / "o").exists()


def test_add_sweep_parser():
    import argparse

    p = argparse.ArgumentParser(prog="micromag")
    sub = p.add_subparsers(dest="command")
    sw.add_sweep_parser(sub)
    a = p.parse_args(["sweep", "s.toml", "--out", "d", "--resume", "--scheduler", "tcp://127.0.0.1:8786"])
    assert (a.spec, a.out, a.resume, a.scheduler, a.func) == ("s.toml", "d", True, "tcp://127.0.0.1:8786",
                                                              sw.cmd_sweep)


def test_example_spec_parses():
    spec = sw.load_spec(ROOT / "examples" / "sweep_spec.toml")
    assert len(spec.points()) > 1 and np.all(np.isfinite([spec.duration]))


def test_build_named_by_the_flat_layout_still_loads(tmp_path):
    """A spec written before the package was split into micromag.engine and micromag.apps names its build
    function ``micromag.sweep:demo_cell`` (or ``micromag.cellreport:wer_build``): it loads from the new place."""
    assert sw.load_callable("micromag.sweep:demo_cell") is sw.demo_cell
    assert sw.load_callable("micromag.apps.sweep:demo_cell") is sw.demo_cell
    from micromag.apps.cellreport import wer_build

    assert sw.load_callable("micromag.cellreport:wer_build") is wer_build
    with pytest.raises(ModuleNotFoundError):
        sw.load_callable("micromag.no_such_module:f")
    p = tmp_path / "old.toml"
    p.write_text('[sweep]\nbuild = "micromag.sweep:demo_cell"\nduration = 1e-12\n[params]\nBz = [0.1]\n')
    assert sw.load_spec(p).build == "micromag.sweep:demo_cell"
