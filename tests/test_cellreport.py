"""The cell sign-off report (micromag.apps.cellreport, ``micromag cell``): the spec reader's errors, a whole
report of a small cell, its resumption after an interruption, and its physical stages on both backends."""
import json
import math
import os

import numpy as np
import pytest

from micromag.apps import cellreport as cr
from micromag.apps.cellreport import report as cr_report
from micromag.apps import retention as ret
from micromag.apps.sweep import SpecError

TINY = """\
[cell]
name = "tiny"
write = "stt"
diameter = 12e-9
thickness = 1.3e-9
cell = 3e-9

[material]
preset = "CoFeB_perpendicular"
Ki = 1.3e-3

[mtj]
RA_P = 5e-12
TMR = 1.5

[write]
drive = [0.4, 1.0]
pulse = 1e-9
settle = 0.2e-9
delay = 0.05e-9
wer_members = 4

[read]
V_read = 0.1
t_read = 10e-9

[retention]
temperatures = [233.15, 300.0]
T_hot = 423.15

[barrier]
images = 7
tol_torque = 1e-3
"""


def _spec(tmp_path, text=TINY, name="cell.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------------------------------------- the spec
@pytest.mark.parametrize("edit,match", [
    (("cell = 3e-9", "cell = 3e-9\ncolour = \"red\""), r"line 7: unknown key 'colour' in \[cell\]"),
    (("[read]", "[reed]"), r"line 23: unknown table \[reed\]"),
    (("thickness = 1.3e-9\n", ""), r"line 1: \[cell\] needs thickness"),
    (("thickness = 1.3e-9", "thickness = -1.3e-9"), r"line 5: thickness = -1.3e-09 is outside the allowed range \(0, inf\)"),
    (("diameter = 12e-9", "diameter = 12e-9\nsize = [20e-9, 10e-9]"), r"exactly one of diameter"),
    (('write = "stt"', 'write = "sttt"'), r"line 3: write must be 'stt', 'sot' or 'vcma'"),
    (('preset = "CoFeB_perpendicular"', 'preset = "Unobtainium"'), r"line 9: preset must be one of"),
    (("wer_members = 4", "wer_members = 2.5"), r"line 21: wer_members must be an integer"),
    (("images = 7", "images = 2"), r"images must be an integer >= 3"),
    (("temperatures = [233.15, 300.0]", "temperatures = [233.15, 800.0]"), r"Curie temperature"),
    (("drive = [0.4, 1.0]", "drive = []"), r"drive must be a non-empty list"),
    # a measured table not monotonic in T, or not covering the operating range; a bad array spread or ECC
    (("[barrier]", "[measured]\nT = [200.0, 350.0, 300.0, 450.0]\nMs = [1.3e6, 1.2e6, 1.25e6, 1.1e6]\n"
      "K_eff = [3e5, 2.5e5, 2.7e5, 2e5]\n\n[barrier]"), r"line 32: \[measured\] T must be strictly increasing"),
    (("[barrier]", "[measured]\nT = [250.0, 300.0, 450.0]\nMs = [1.3e6, 1.25e6, 1.1e6]\nK_eff = [3e5, 2.7e5, 2e5]\n\n"
      "[barrier]"), r"line 32: \[measured\] the temperature table covers \[250, 450\] K but the operating "
                    r"temperatures .* include 233.15 K"),
    (("[barrier]", "[array]\nsigma_diameter = -1e-9\n\n[barrier]"),
     r"line 32: \[array\] sigma_diameter = -1e-09 is outside the allowed range \[0, inf\) m"),
    (("[barrier]", "[array]\nsigma_K = 0.01\nword_bits = 8\necc_bits = 8\n\n[barrier]"),
     r"line 34: ecc_bits = 8 must be smaller than word_bits = 8"),
])
def test_bad_spec_names_key_and_line(tmp_path, edit, match):
    old, new = edit
    assert old in TINY
    with pytest.raises(SpecError, match=match):
        cr.load_cell_spec(_spec(tmp_path, TINY.replace(old, new, 1)))


def test_array_needs_a_disc(tmp_path):
    text = TINY.replace("diameter = 12e-9", "size = [14e-9, 10e-9]").replace("[barrier]", "[array]\nsigma_K = 0.01\n\n[barrier]")
    with pytest.raises(SpecError, match=r"\[array\] statistics need a perpendicular disc"):
        cr.load_cell_spec(_spec(tmp_path, text))


def test_measured_table_in_the_spec(tmp_path):
    """A [measured] table replaces the power laws: the material at each temperature is the table's (K_eff
    plus the film's μ0Ms²/2), its values at T_ref are the table's, and the report names its source."""
    from micromag.engine.constants import mu0

    T = [200.0, 260.0, 300.0, 360.0, 430.0]
    Ms = [1.33e6, 1.29e6, 1.257e6, 1.20e6, 1.12e6]
    K_eff = [3.4e5, 3.0e5, 2.7e5, 2.25e5, 1.7e5]
    text = TINY.replace("[barrier]", f"[measured]\nT = {T}\nMs = {Ms}\nK_eff = {K_eff}\nsource = \"wafer W7\"\n\n[barrier]")
    spec = cr.load_cell_spec(_spec(tmp_path, text))
    assert spec.material().Ms == 1.257e6 and spec.material().T_ref == 300.0
    for t, m, k in zip(T, Ms, K_eff):
        mat = spec.material(t)
        assert mat.Ms == pytest.approx(m, rel=1e-12) and mat.Ku1 == pytest.approx(k + 0.5 * mu0 * m * m, rel=1e-12)
    rows = {r["name"]: r for r in cr.material_set(spec)}
    assert "wafer W7" in rows["Ms"]["source"] and "wafer W7" in rows["Ku1"]["source"]
    assert "Ikeda" in rows["alpha"]["source"]  # α stays the preset's, cited


def test_missing_table_and_toml_errors(tmp_path):
    with pytest.raises(SpecError, match=r"needs a \[read\] table"):
        cr.load_cell_spec(_spec(tmp_path, TINY.split("[read]")[0]))
    with pytest.raises(SpecError, match="line 3.*TOML"):
        cr.load_cell_spec(_spec(tmp_path, "[cell]\nname = 'x'\nwrite = \n"))
    with pytest.raises(FileNotFoundError):
        cr.load_cell_spec(tmp_path / "nope.toml")


def test_quick_form_and_defaults(tmp_path):
    s = cr.load_cell_spec(_spec(tmp_path, TINY + "\n[quick]\nwer_members = 2\n"), quick=True)
    assert s.data["write"]["wer_members"] == 2 and s.data["retention"]["temperatures"][-1] == 423.15
    assert s.data["mtj"]["P"] == 0.6 and s.data["retention"]["years"] == 10.0
    full = cr.load_cell_spec(_spec(tmp_path, TINY + "\n[quick]\nwer_members = 2\n"))
    assert full.hash != s.hash and full.data["write"]["wer_members"] == 4


def test_example_cells_are_valid():
    here = os.path.join(os.path.dirname(__file__), "..", "examples", "cells")
    names = sorted(f for f in os.listdir(here) if f.endswith(".toml"))
    assert {"stt", "sot", "vcma"} <= {cr.load_cell_spec(os.path.join(here, f)).data["cell"]["write"] for f in names}


def test_cli_reports_a_bad_spec(tmp_path, capsys):
    from micromag.apps.cli import main

    assert main(["cell", str(_spec(tmp_path, TINY.replace("cell = 3e-9", "cell = 3e-9\nfoo = 1"))), "--quick"]) == 2
    assert "line 7: unknown key 'foo'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- stages
@pytest.mark.parametrize("backend", ["cpu", "emulate"])
def test_stages_on_both_backends(tmp_path, backend):
    """The cell stages on a one-cell "disc" (3 nm, one magnetic cell: a macrospin, demag included): its
    barrier is exactly the coherent-rotation energy K_eff V of the uniform states, and the STT critical
    current from the linear stability of the parallel state is the macrospin 2eα K_eff V/(ħ P/2)."""
    s = cr.load_cell_spec(_spec(tmp_path, TINY.replace("diameter = 12e-9", "diameter = 3e-9")
                                .replace("thickness = 1.3e-9", "thickness = 1.0e-9"))).data
    rec, path = cr.stage_delta(s, 300.0, backend, 7, 1e-4, 20000, False)
    assert rec["converged"]
    assert rec["barrier_J"] == pytest.approx(rec["coherent_J"], rel=1e-6)  # a converged saddle (test_barrier)
    coh = cr.coherent_energies(s, 300.0, backend)
    crit = cr.stage_critical(s, 300.0, coh, backend, False)
    # the formula is the linear-stability threshold to first order in α (α² = 7e-4); the linear fit of four
    # growth rates over 3 τ_D places the zero to a few 0.1 %: 1 %
    assert crit["Ic0_A"] == pytest.approx(crit["Ic0_macrospin_A"], rel=0.01)
    assert np.all(np.diff(crit["growth_rates_per_s"]) > 0)


ARRAY = "[array]\nsigma_diameter = 0.5e-9\nsigma_K = 0.01\nword_bits = 72\necc_bits = 1\n\n[barrier]"


def test_whole_report_and_resume(tmp_path, monkeypatch):
    spec = _spec(tmp_path, TINY.replace("[barrier]", ARRAY))
    out = tmp_path / "out"
    # an interruption after the barriers, the critical current and the switching stage (as a kill would
    # leave it: their lines are in stages/results.jsonl, nothing else)
    real_wer = cr.stage_wer

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cr_report, "stage_wer", killed)  # the stages as the report calls them
    with pytest.raises(KeyboardInterrupt):
        cr.cell_report(spec, out, backend="cpu", workers=1, progress=False)
    lines = (out / "stages" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 5 and not (out / "report.md").exists()  # 3 temperatures, critical, switching
    # running again does none of that again
    monkeypatch.setattr(cr_report, "stage_wer", real_wer)
    for name in ("stage_delta", "stage_critical", "stage_switching"):
        monkeypatch.setattr(cr_report, name, lambda *a, **k: pytest.fail("a finished stage ran again"))
    cr.cell_report(spec, out, backend="cpu", workers=1, progress=False)
    assert len((out / "stages" / "results.jsonl").read_text().splitlines()) == 6
    for name in ("report.md", "figures.json", "delta_vs_T.png", "energy_path.png", "switching.png", "wer.png",
                 "critical.png", "saddle.vti", "cell.json"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "figures.json").read_text())
    dv = data["delta_vs_T"]
    assert dv["T_K"] == [233.15, 300.0, 423.15] and np.all(np.diff(dv["delta"]) < 0)
    # the verdict is the retention module's, for the hot corner's Δ
    v = ret.retention_verdict(dv["delta"][-1], T=423.15, years=10, n_bits=1048576, fail_budget=1e-6)
    assert data["retention"]["passes"] == v.passes and data["retention"]["delta_required"] == pytest.approx(v.delta_required)
    assert [r["N"] for r in data["wer"]["table"]] == [4, 4]
    lo, hi = data["wer"]["table"][0]["CI95_low"], data["wer"]["table"][0]["CI95_high"]
    assert 0 <= lo <= data["wer"]["table"][0]["WER"] <= hi <= 1
    rd = data["read"]
    assert rd["R_AP_ohm"] == pytest.approx(rd["R_P_ohm"] * 2.5) and rd["delta_I_A"] > 0
    assert data["figure_of_merit_per_uA"] == pytest.approx(data["delta_at_T_op"] / (data["critical"]["Ic0_A"] * 1e6))
    text = (out / "report.md").read_text()
    assert "Retention" in text and "Write-error rate" in text and "![WER](wer.png)" in text
    for section in ("## Material set", "## Retention and read disturb at every temperature", "### Array statistics",
                    "## Write-error tails and pulse width", "## What this report used"):
        assert section in text, section
    # every temperature: the hot corner's verdict is the retention stage's, the operating point's read disturb
    # is the read stage's (both with the read bias's VCMA, dK = ξ V/(t_ox t_F) = 1e-13 × 0.1 / (1e-9 × 1.3e-9))
    co = data["corners"]
    assert [r["T_K"] for r in co["rows"]] == dv["T_K"]
    assert co["dK_read_J_per_m3"] == pytest.approx(1e-13 * 0.1 / (1e-9 * 1.3e-9))
    assert co["rows"][-1]["retention_passes"] == data["retention"]["passes"]
    assert co["rows"][1]["P_disturb_n_reads"] == pytest.approx(rd["P_disturb_n_reads"])
    assert co["rows"][1]["delta_during_read"] == pytest.approx(rd["delta_at_T"])
    for r in co["rows"]:
        assert 0 <= r["array_P_retention_fail"] <= 1 and r["array_delta_q1e-6"] < r["array_delta_median"]
    tails = data["write_tails"]
    assert [t["WER"] for t in tails["wer_fit"]["targets"]] == [1e-6, 1e-9]
    assert len(tails["thermal"]["Ic_A"]) == 7  # the default pulse widths >= τ0 = 1 ns
    assert {r["name"] for r in data["material_set"]} >= {"Ms", "A", "alpha", "Ku1", "Tc"}
    # another spec into the same folder is refused, naming the folder
    other = _spec(tmp_path, TINY.replace("diameter = 12e-9", "diameter = 14e-9"), "other.toml")
    with pytest.raises(ValueError, match="another cell spec"):
        cr.cell_report(other, out, backend="cpu", workers=1, progress=False)
    assert math.isfinite(data["critical"]["Ic0_A"])


# ---------------------------------------------------------------------------------------------- long forms
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(args, cwd, timeout=1500):
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg")
    return subprocess.Popen([sys.executable, "-m", "micromag.apps.cli", "cell", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    """A real kill (SIGKILL) after two finished stages; the same command then finishes the report without
    redoing them."""
    import time

    spec = _spec(tmp_path)
    out = tmp_path / "out"
    p = _cli([str(spec), "--out", str(out), "--workers", "1", "--backend", "cpu"], tmp_path)
    log = out / "stages" / "results.jsonl"
    t0 = time.time()
    while time.time() - t0 < 600:
        if log.exists() and len(log.read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    p.kill()
    p.wait()
    done = len(log.read_text().splitlines())
    assert done >= 2 and not (out / "report.md").exists()
    p = _cli([str(spec), "--out", str(out), "--workers", "1", "--backend", "cpu"], tmp_path)
    _, err = p.communicate(timeout=900)
    assert p.returncode == 0, err[-2000:]
    assert f"{done} stages already done" in err
    keys = [json.loads(line)["key"] for line in log.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == 6 and (out / "report.md").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["stt_pmtj_40nm", "sot_tilted_betaW", "vcma_pmtj_40nm"])
def test_example_cells_quick(tmp_path, name):
    """`micromag cell --quick` on the example cells (a few minutes each on 2 CPU cores)."""
    p = _cli([os.path.join(ROOT, "examples", "cells", f"{name}.toml"), "--out", str(tmp_path / name), "--quick"],
             tmp_path)
    _, err = p.communicate(timeout=1500)
    assert p.returncode == 0, err[-3000:]
    data = json.loads((tmp_path / name / "figures.json").read_text())
    assert len(data["delta_vs_T"]["delta"]) == 3 and all(d > 0 for d in data["delta_vs_T"]["delta"])
    assert "Retention" in (tmp_path / name / "report.md").read_text()
