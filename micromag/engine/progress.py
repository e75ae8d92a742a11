"""Progress of long runs: a redrawn bar in a terminal or Jupyter, a periodic line in logs.

Every long-running call (``Simulation.run``, ``relax``, ``minimize``, ``Batch.run``, sweeps, ``micromag
validate``, the Ubermag drivers) reports through :class:`Progress`:

- **terminal** (the stream is a TTY): a tqdm bar, redrawn in place at most every 0.2 s, with the
  percentage, elapsed time, ETA and the caller's details (simulated time, time step, steps/s, torque, ...);
- **Jupyter** (an IPython kernel): one cell output (an IPython display with an id) updated in place with
  an HTML bar and the same text line. No widget: a widget's state is not in the saved ``.ipynb``, so a
  saved or converted notebook (nbconvert, GitHub's viewer) showed the widget's first frame, "0.0%". A
  display update is: the final state (100 %, the caller's final details) is what the notebook keeps;
- **anything else** (a log file, CI, a pipe): one plain line at most every ``interval`` seconds (2 s), so
  logs stay readable and grep-able::

      [run]  42.0%  elapsed    8.1 s  ETA   11.2 s  t = 4.2e-10 s  dt = 2.1e-13 s  steps 2000 (247/s)

``MICROMAG_PROGRESS=bar|notebook|line|off`` overrides the choice (e.g. ``line`` in a terminal multiplexer that
records output, ``off`` to silence every run).
"""
from __future__ import annotations

import math
import os
import sys
import time

_MODES = ("auto", "bar", "notebook", "line", "off")


def _in_jupyter():
    """True inside an IPython kernel (Jupyter notebook or lab), where stderr is not a TTY but can redraw."""
    ip = sys.modules.get("IPython")
    if ip is None:
        return False
    try:
        shell = ip.get_ipython()
    except Exception:  # an IPython too old or half imported: be conservative
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _fmt_seconds(s):
    if not math.isfinite(s):
        return "?"
    s = max(0.0, s)
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Progress of one long call.

    Parameters
    ----------
    label : short name shown before the bar or line (``"run"``, ``"relax"``, ...).
    total : the amount of work, in the caller's unit (simulated seconds for ``run``, 1.0 for a fraction,
        a number of members or points); ``update(done)`` reports how much of it is done.
    enabled : False prints nothing at all.
    interval : seconds between two plain lines (default 2 s); the bar redraws every 0.2 s.
    stream : where to write (default ``sys.stderr``).
    mode : ``"auto"`` (bar on a TTY, a display in Jupyter, else lines), ``"bar"``, ``"notebook"``,
        ``"line"`` or ``"off"``; the
        environment variable ``MICROMAG_PROGRESS`` overrides ``"auto"``.

    The interface is what every caller uses: ``due()`` (whether an update would show now, so a caller can
    skip building its detail string), ``update(done, extra)``, ``done(extra)`` and ``elapsed()`` (s).
    """

    BAR_INTERVAL = 0.2  # s between redraws of a bar

    def __init__(self, label, total, enabled=True, interval=2.0, stream=None, mode="auto"):
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        self.label, self.total, self.enabled = label, float(total), bool(enabled)
        self.stream = stream or sys.stderr
        self.t0 = self._last = time.perf_counter()
        self._closed = False
        self._bar = None
        if mode == "auto":
            env = os.environ.get("MICROMAG_PROGRESS", "").strip().lower()
            mode = env if env in _MODES[1:] else (
                "notebook" if stream is None and _in_jupyter() else "bar" if _isatty(self.stream) else "line")
        if mode == "off":
            self.enabled = False
        self.mode = mode
        self.interval = self.BAR_INTERVAL if mode in ("bar", "notebook") else float(interval)
        self._handle = None  # the IPython display of the notebook mode (created on first show)

    # ------------------------------------------------------------------ the bar (created on first show)
    def _open_bar(self):
        from tqdm import tqdm
        total = self.total if self.total > 0 else 1.0
        # the numbers n/total are in the caller's unit (s of simulated time, a fraction): not shown; the
        # percentage, elapsed time and ETA are, and the caller's details (rates, t, torque) as the postfix
        self._bar = tqdm(total=total, desc=self.label, file=self.stream, leave=True, dynamic_ncols=True,
                         smoothing=0.0, mininterval=0.0, miniters=0,
                         bar_format="{desc}: {percentage:5.1f}%|{bar}| {elapsed}<{remaining}{postfix}")
        return self._bar

    # ------------------------------------------------------------------ interface
    def elapsed(self):
        """Wall time since this Progress was made, s."""
        return time.perf_counter() - self.t0

    def due(self):
        """Whether the next update would show (lets callers skip computing the detail string)."""
        return self.enabled and not self._closed and time.perf_counter() - self._last >= self.interval

    def update(self, done, extra=""):
        """Report ``done`` (in the unit of ``total``) with a detail string; shown at most every interval."""
        if not self.enabled or self._closed:
            return
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        frac = min(max(done / self.total, 0.0), 1.0) if self.total > 0 else 1.0
        if self.mode == "notebook":
            self._show(frac, now - self.t0, extra)
            return
        if self.mode == "bar":
            bar = self._bar or self._open_bar()
            bar.set_postfix_str(extra, refresh=False)
            step = frac * bar.total - bar.n
            if step > 0:
                bar.update(step)  # redraws (with the new details)
            else:
                bar.refresh()
            return
        elapsed = now - self.t0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("inf")
        print(f"[{self.label}] {100 * frac:5.1f}%  elapsed {elapsed:6.1f} s  ETA {eta:6.1f} s  {extra}",
              file=self.stream, flush=True)

    def _show(self, frac, elapsed, extra, final=False):
        """Notebook mode: create or update the cell's display (text/plain and text/html)."""
        view = _NotebookView(self.label, frac, elapsed, extra, final)
        if self._handle is None:
            from IPython.display import display

            self._handle = display(view, display_id=True)
        else:
            self._handle.update(view)

    def write(self, message):
        """Print a message without breaking the bar (a line of its own above it)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def abort(self):
        """Close without a final line or a completed bar (the work did not finish: the caller says why)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()

    def done(self, extra="", always=False):
        """Close: a bar is completed with the final details; in line mode, one closing line if the call
        lasted at least one interval (short calls stay silent) or ``always`` (a summary the user must see
        however quick the call was: a sweep's tally)."""
        if not self.enabled or self._closed:
            return
        self._closed = True
        wall = time.perf_counter() - self.t0
        long_enough = always or wall >= self.interval
        if self.mode == "notebook" and (self._handle is not None or long_enough):
            # the last update is what a saved notebook shows, so it must say 100 % (a call shorter than
            # one redraw shows nothing, as in a terminal)
            self._show(1.0, wall, extra, final=True)
        elif self.mode == "bar" and (self._bar is not None or long_enough):
            bar = self._bar or self._open_bar()  # (a call shorter than one redraw shows no bar at all)
            bar.set_postfix_str(extra, refresh=False)
            bar.update(bar.total - bar.n)
            bar.close()
        elif self.mode == "line" and long_enough:
            print(f"[{self.label}] done in {_fmt_seconds(wall)}  {extra}", file=self.stream, flush=True)


class _NotebookView:
    """One state of a notebook progress display: a text line (``text/plain``, what nbconvert's text
    formats and a terminal viewer show) and an HTML bar (``text/html``)."""

    def __init__(self, label, frac, elapsed, extra, final):
        self.label, self.frac, self.elapsed, self.extra, self.final = label, frac, elapsed, extra, final

    def text(self):
        if self.final:
            return f"[{self.label}] 100.0%  done in {_fmt_seconds(self.elapsed)}  {self.extra}".rstrip()
        f = self.frac
        eta = self.elapsed * (1 - f) / f if f > 0 else float("inf")
        return (f"[{self.label}] {100 * f:5.1f}%  elapsed {_fmt_seconds(self.elapsed)}  "
                f"ETA {_fmt_seconds(eta)}  {self.extra}").rstrip()

    def __repr__(self):
        return self.text()

    def _repr_html_(self):
        from html import escape

        pct = 100.0 if self.final else 100 * self.frac
        return (f'<div style="font-family:monospace">{escape(self.text())}<br>'
                f'<progress value="{pct:.1f}" max="100" style="width:60%"></progress></div>')
