"""examples/wer_tilted_sot.py: the quick run writes wer.csv and wer.png; the Clopper–Pearson helper."""
import csv
import importlib.util
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "wer_tilted_sot.py")


def _example_module():
    spec = importlib.util.spec_from_file_location("wer_tilted_sot_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # the script runs nothing on import (main() is behind __name__)
    return mod


def test_clopper_pearson_known_values():
    cp = _example_module().clopper_pearson
    lo, hi = cp(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.3085, abs=1e-4)
    assert hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-10)  # closed form for k = 0
    lo, hi = cp(5, 10)
    assert lo == pytest.approx(0.1871, abs=1e-4) and hi == pytest.approx(0.8129, abs=1e-4)
    lo, hi = cp(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10), rel=1e-10)
    lo, hi = cp(1, 1000)
    assert lo == pytest.approx(2.53e-5, rel=1e-2) and hi == pytest.approx(5.56e-3, rel=1e-2)
    with pytest.raises(ValueError):
        cp(3, 2)


def test_wer_example_quick(tmp_path):
    env = dict(os.environ, MICROMAG_OUT=str(tmp_path), MPLBACKEND="Agg", MICROMAG_BACKEND="cpu")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, EXAMPLE, "--quick", "--backend", "cpu"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=180)
    wall = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    assert "micromag sweep: [3/3]" in r.stderr  # the sweep's progress lines
    out = tmp_path / "out" / "wer"  # --out is relative: it lands below $MICROMAG_OUT
    assert (out / "wer.png").stat().st_size > 1000
    assert (out / "sweep" / "results.csv").exists()
    with open(out / "wer.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    for c in ("J", "N", "errors", "WER", "CI_low", "CI_high"):
        assert c in rows[0], c
    for row in rows:
        J, N, k = float(row["J"]), int(row["N"]), int(row["errors"])
        wer, lo, hi = float(row["WER"]), float(row["CI_low"]), float(row["CI_high"])
        assert 1e11 <= J <= 1e12 and N == 4 and 0 <= k <= N
        assert wer == pytest.approx(k / N)
        assert 0.0 <= lo <= wer <= hi <= 1.0
    print(f"quick WER run: {wall:.1f} s")  # ~20 s on 2 free cores

    # resumable: the same command again finds every point done and only rewrites the tables
    r2 = subprocess.run([sys.executable, EXAMPLE, "--quick", "--backend", "cpu"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=120)
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert "3 already done, 0 to run" in r2.stderr
    with open(out / "wer.csv") as f:
        assert list(csv.DictReader(f)) == rows
