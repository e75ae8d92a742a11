"""ParaView pictures of a run: the shipped ``view.py`` script and the launcher of ``micromag view``.

``view.py`` runs inside ParaView's own Python (``pvpython``, not this interpreter); :func:`find_pvpython`
finds it and :func:`render` runs it offscreen, under ``xvfb-run`` where there is no display and ParaView
was built for X (Linux distribution packages).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "view.py")

_GUESSES = (  # where installers put ParaView's pvpython
    "/Applications/ParaView*.app/Contents/bin/pvpython",
    "/opt/ParaView*/bin/pvpython",
    "/usr/local/ParaView*/bin/pvpython",
    os.path.expanduser("~/ParaView*/bin/pvpython"),
    "C:/Program Files/ParaView*/bin/pvpython.exe",
)


def find_pvpython():
    """The path of ``pvpython``: ``$MICROMAG_PVPYTHON``, then ``PATH``, then the usual install folders
    (newest version first); None if there is none."""
    env = os.environ.get("MICROMAG_PVPYTHON")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    found = shutil.which("pvpython")
    if found:
        return found
    for pattern in _GUESSES:
        hits = sorted(glob.glob(pattern), reverse=True)
        if hits:
            return hits[0]
    return None


def command(run, args=(), pvpython=None):
    """The command line that renders ``run`` (a folder with a .pvd, or a .pvd/.vti file) offscreen."""
    pv = pvpython or find_pvpython()
    if pv is None:
        raise FileNotFoundError(
            "pvpython (ParaView's Python) was not found: install ParaView (paraview.org, or e.g. "
            "`apt-get install paraview python3-paraview xvfb`), put its bin folder on PATH, or set "
            "MICROMAG_PVPYTHON to the pvpython executable")
    cmd = [pv, "--force-offscreen-rendering", SCRIPT, os.fspath(run), *map(str, args)]
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24"] + cmd  # an X build of ParaView needs a display
    return cmd


def render(run, args=(), pvpython=None, timeout=None):
    """Run ``view.py`` on ``run``; returns the finished :class:`subprocess.CompletedProcess` (output captured)."""
    if not os.path.exists(run):
        raise FileNotFoundError(f"{run}: no such run folder or file")
    cmd = command(run, args, pvpython)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 and cmd[0] == "xvfb-run" and "Xvfb" in r.stderr + r.stdout:
        # `xvfb-run -a` picks a display number racily: another Xvfb starting at the same time takes it
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r
