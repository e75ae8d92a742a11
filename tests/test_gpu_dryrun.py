"""tests/test_gpu.py runs only where there is a GPU; this runs it here on the emulated device (through the
stand-in in tests/_fake_cupy.py), in a subprocess, so the GPU test file cannot rot between GPU sessions."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

CODE = r"""
import sys
sys.path.insert(0, {here!r})
import _fake_cupy  # noqa: F401  (installs the stand-in before anything imports cupy)
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning", {target!r}]))
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="the host emulation needs g++")
def test_gpu_test_file_runs_on_the_emulated_device():
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed: tests/test_gpu.py runs for real")
    except Exception:
        pass
    code = CODE.format(here=str(HERE), target=str(HERE / "test_gpu.py"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=HERE.parent,
                       env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "skipped" not in r.stdout.splitlines()[-1], r.stdout[-2000:]
