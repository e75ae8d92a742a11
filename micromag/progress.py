"""A periodic progress line for long runs (stderr, at most one line every ``interval`` seconds)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label, total, enabled=True, interval=2.0, stream=None):
        self.label, self.total, self.enabled, self.interval = label, float(total), enabled, interval
        self.stream = stream or sys.stderr
        self.t0 = self._last = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.t0

    def due(self):
        """Whether the next update would print (lets callers skip computing the line)."""
        return self.enabled and time.perf_counter() - self._last >= self.interval

    def update(self, done, extra=""):
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self.t0
        frac = min(max(done / self.total, 0.0), 1.0) if self.total > 0 else 1.0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("inf")
        print(f"[{self.label}] {100 * frac:5.1f}%  elapsed {elapsed:6.1f} s  ETA {eta:6.1f} s  {extra}",
              file=self.stream, flush=True)

    def done(self, extra=""):
        if self.enabled and time.perf_counter() - self.t0 >= self.interval:
            print(f"[{self.label}] done in {time.perf_counter() - self.t0:.1f} s  {extra}", file=self.stream, flush=True)
