"""MTJ readout (tunnel magnetoresistance integrated over the junction) and a switching detector.

Simulation integration (for the table): ``MTJ.table_columns()`` gives ``[(name, unit), ...]`` and
``MTJ.table_values(m, t)`` a (B, k) array for states m (B, 3, nz, ny, nx) at member times t (B,);
``SwitchDetector.check(sim)`` is meant to be called after every step or table row, and
``SwitchDetector.table_columns()`` / ``table_values()`` give its result. Until the table does that itself,
:func:`run_monitored` runs a simulation in chunks and records both.
"""
from __future__ import annotations

import math

import numpy as np

from ..engine.drives import as_drive
from ..engine.terms.stt import member_values
from ..engine.validation import check_number, check_unit_rows


class MTJ:
    r"""A magnetic tunnel junction on top of (or below) the free layer.

    Parameters
    ----------
    system : System (the free layer; ``sim.system``).
    RA_P : resistance–area product of the parallel state, Ω·m² (> 0; e.g. 5 Ω·µm² = 5e-12 Ω·m²).
    TMR : tunnel magnetoresistance ratio (R_AP − R_P)/R_P, >= 0 (1.46 for 146 %).
    area : the junction: None (the whole footprint of the magnet), a number (the junction area in m²:
        the footprint's cell conductances are scaled so that it has that area, e.g. for a macrospin), or
        a mask of the junction — a shape with ``fill_fraction(grid)``, or an array of weights in [0, 1] of
        shape (ny, nx) or (nz, ny, nx) (reduced over z by the maximum).
    p_ref : reference-layer magnetization direction (normalized).
    V_bias : bias voltage (V): None, a number, per-member values, a drive or f(t); gives the current
        I = V / R and the current density V G / area used by :class:`~micromag.engine.terms.stt.SlonczewskiSTT`
        when that term is given ``J=mtj``.
    V_half : optional bias at which the TMR has halved, V (> 0): TMR(V) = TMR / (1 + (V / V_half)²).
    layer : z-layer index whose magnetization faces the barrier; None averages cos θ over z (fill-weighted).

    Model (cosine law of the conductance: Slonczewski, PRB 39, 6995 (1989); Jullière, Phys. Lett. 54A,
    225 (1975) for the TMR of the two collinear states)
    -----------------------------------------------------------------------------------------------------
        g_P = 1 / RA_P,  g_AP = 1 / (RA_P (1 + TMR))        (conductance per area, S/m²)
        g(θ) = (g_P + g_AP)/2 + (g_P − g_AP)/2 · cos θ,  cos θ = m · p_ref
        G = Σ_cells a_i g(θ_i),   R = 1 / G

    a_i is the footprint area of column i (dx dy times its fill and junction weight, scaled to ``area``
    when that is a number). The columns conduct in parallel. Uniform P: R = RA_P / A; uniform AP:
    R = RA_P (1 + TMR) / A; uniform 90°: R = 2 RA_P (1 + TMR) / ((2 + TMR) A).
    """

    def __init__(self, system, RA_P, TMR, area=None, p_ref=(0.0, 0.0, 1.0), V_bias=None, V_half=None, layer=None):
        self.system = system
        g = system.grid
        self.RA_P = check_number("RA_P", RA_P, lo=0.0, lo_open=True, unit="Ω·m²")
        self.TMR = check_number("TMR", TMR, lo=0.0)
        self.V_half = None if V_half is None else check_number("V_half", V_half, lo=0.0, lo_open=True, unit="V")
        try:
            p = np.array(p_ref, dtype=float).reshape(3)
        except (TypeError, ValueError):
            raise ValueError(f"p_ref must be a 3-vector, got {p_ref!r}") from None
        self.p_ref = check_unit_rows(p, 0, "p_ref")
        self.V_bias = None if V_bias is None else as_drive(V_bias)
        fillmag = np.where(system.magnetic, system.fill, 0.0)  # (nz, ny, nx)
        if layer is None:
            wz = fillmag
            self.layer = None
        else:
            if int(layer) != layer or not (-g.nz <= layer < g.nz):
                raise ValueError(f"layer must be an integer z index in [{-g.nz}, {g.nz}), got {layer!r}")
            self.layer = int(layer)
            wz = np.zeros_like(fillmag)
            wz[self.layer] = fillmag[self.layer]
        colw = wz.sum(axis=0)
        # weights that turn the state into a per-column cos θ: Σ_z wz m / Σ_z wz
        self._wz = np.divide(wz, colw, out=np.zeros_like(wz), where=colw > 0)
        foot = wz.max(axis=0)  # footprint fill of each column (ny, nx)
        cell_area = g.cell[0] * g.cell[1]
        if area is None or np.ndim(area) == 0 and not hasattr(area, "fill_fraction"):
            junction = np.ones_like(foot)
        else:
            junction = self._mask(area)
        a = foot * junction * cell_area
        if a.sum() <= 0:
            raise ValueError("the junction holds no magnetic cell (area/mask does not overlap the magnet)")
        if area is not None and np.ndim(area) == 0 and not hasattr(area, "fill_fraction"):
            A = check_number("area", area, lo=0.0, lo_open=True, unit="m²")
            a *= A / a.sum()
        self.area = float(a.sum())
        self._a = a  # (ny, nx), m²
        self.g_P = 1.0 / self.RA_P
        self.g_AP = 1.0 / (self.RA_P * (1.0 + self.TMR))

    def _mask(self, area):
        g = self.system.grid
        if hasattr(area, "fill_fraction"):
            w = np.asarray(area.fill_fraction(g), dtype=float)
        else:
            w = np.asarray(area, dtype=float)
        if w.shape == g.shape:
            w = w.max(axis=0)
        if w.shape != (g.ny, g.nx):
            raise ValueError(f"area mask must have shape (ny, nx) = {(g.ny, g.nx)} or (nz, ny, nx) = {g.shape}, "
                             f"got {w.shape}")
        if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1:
            raise ValueError("area mask weights must lie in [0, 1]")
        return w

    # ------------------------------------------------------------------ physics
    @property
    def R_P(self):
        """Parallel-state resistance RA_P / area, Ω."""
        return self.RA_P / self.area

    @property
    def R_AP(self):
        """Antiparallel-state resistance RA_P (1 + TMR) / area, Ω (zero bias)."""
        return self.RA_P * (1.0 + self.TMR) / self.area

    def _g_AP(self, t, nb):
        if self.V_half is None or self.V_bias is None or t is None:
            return np.full(nb, self.g_AP)
        V = member_values("V_bias", self.V_bias, t, nb)
        tmr = self.TMR / (1.0 + (V / self.V_half) ** 2)
        return self.g_P / (1.0 + tmr)

    def cos_theta(self, m):
        """cos θ = m·p_ref per column, (B, ny, nx) (z-averaged with the fill weights)."""
        m = np.asarray(m, dtype=float)
        if m.ndim != 5 or m.shape[1:] != (3,) + self.system.grid.shape:
            raise ValueError(f"m must have shape (B, 3, nz, ny, nx) with (nz, ny, nx) = {self.system.grid.shape}, got {m.shape}")
        mp = np.einsum("bcijk,c->bijk", m, self.p_ref)
        return np.einsum("bijk,ijk->bjk", mp, self._wz)

    def conductance(self, m, t=None):
        """Total conductance G = Σ a_i g(θ_i) in S, shape (B,)."""
        c = self.cos_theta(m)
        nb = c.shape[0]
        gap = self._g_AP(None if t is None else np.broadcast_to(np.asarray(t, float), (nb,)), nb)
        ca = np.einsum("bjk,jk->b", c, self._a)
        mean = 0.5 * (self.g_P + gap) * self.area
        half = 0.5 * (self.g_P - gap)
        return mean + half * ca

    def resistance(self, m, t=None):
        """MTJ resistance R = 1/G in Ω, shape (B,)."""
        return 1.0 / self.conductance(m, t)

    def voltage(self, t, nb):
        if self.V_bias is None:
            return np.zeros(nb)
        return member_values("V_bias", self.V_bias, np.broadcast_to(np.asarray(t, float), (nb,)), nb)

    def current(self, m, t):
        """Current I = V G through the junction, A, (B,) (zero without V_bias)."""
        return self.voltage(t, m.shape[0]) * self.conductance(m, t)

    def current_density(self, m, t):
        """Mean current density through the junction, V G / area in A/m², (B,): J > 0 for V > 0."""
        return self.current(m, t) / self.area

    # ------------------------------------------------------------------ table
    def table_columns(self):
        """Columns this readout adds to the table: [(name, unit), ...]."""
        cols = [("R_MTJ", "Ohm")]
        if self.V_bias is not None:
            cols += [("V_MTJ", "V"), ("I_MTJ", "A")]
        return cols

    def table_values(self, m, t):
        """Values for :meth:`table_columns`, shape (B, k)."""
        m = np.asarray(m, dtype=float)
        nb = m.shape[0]
        t = np.broadcast_to(np.asarray(t, dtype=float), (nb,))
        G = self.conductance(m, t)
        cols = [1.0 / G]
        if self.V_bias is not None:
            V = self.voltage(t, nb)
            cols += [V, V * G]
        return np.stack(cols, axis=1)


class SwitchDetector:
    """Time at which a quantity first crosses a threshold, per batch member.

    Parameters
    ----------
    quantity : 'mx', 'my' or 'mz' (the magnet's average), an :class:`MTJ` (its resistance), or a function
        ``f(sim) -> (B,)`` (or a number for B = 1).
    threshold : the level (same units as the quantity), finite.
    direction : 'down' (crossing from above to at-or-below) or 'up' (from below to at-or-above).

    A member is armed while its value is on the starting side of the threshold; the first crossing
    between two checks (t0, q0) → (t1, q1) is recorded at the linearly interpolated time
    t0 + (threshold − q0)(t1 − t0)/(q1 − q0). A member that starts past the threshold is not counted until
    it has come back and crossed. Members never switched have t_switch = NaN.
    """

    def __init__(self, quantity="mz", threshold=0.0, direction="down"):
        if isinstance(quantity, str):
            if quantity not in ("mx", "my", "mz"):
                raise ValueError(f"quantity must be 'mx', 'my', 'mz', an MTJ or a function of sim, got {quantity!r}")
        elif not (callable(quantity) or isinstance(quantity, MTJ)):
            raise ValueError(f"quantity must be 'mx', 'my', 'mz', an MTJ or a function of sim, got {quantity!r}")
        if direction not in ("down", "up"):
            raise ValueError(f"direction must be 'down' or 'up', got {direction!r}")
        self.quantity = quantity
        self.threshold = check_number("threshold", threshold)
        self.direction = direction
        self.reset()

    def reset(self):
        self._t0 = None
        self._q0 = None
        self.t_switch = None

    @property
    def switched(self):
        """(B,) bool: whether each member has crossed (None before the first check)."""
        return None if self.t_switch is None else np.isfinite(self.t_switch)

    def value(self, sim):
        """The monitored quantity for the simulation's current state, (B,)."""
        q = self.quantity
        if isinstance(q, str):
            avg = np.atleast_2d(sim.m_avg)
            return avg[:, "xyz".index(q[1])]
        if isinstance(q, MTJ):
            return q.resistance(sim.m, np.atleast_1d(sim.t))
        v = np.atleast_1d(np.asarray(q(sim), dtype=float))
        return v

    def check(self, sim):
        """Evaluate the quantity at the simulation's state and time and record crossings."""
        return self.observe(np.atleast_1d(np.asarray(sim.t, dtype=float)), self.value(sim))

    def _past(self, q):
        return q <= self.threshold if self.direction == "down" else q >= self.threshold

    def observe(self, t, q):
        """Record a sample: member times t (B,) in s, values q (B,). Returns t_switch (B,)."""
        q = np.atleast_1d(np.asarray(q, dtype=float))
        t = np.broadcast_to(np.atleast_1d(np.asarray(t, dtype=float)), q.shape).copy()
        if not np.all(np.isfinite(q)):
            raise ValueError("the monitored quantity is not finite")
        if self.t_switch is None:
            self.t_switch = np.full(q.shape, np.nan)
            self._armed = ~self._past(q)
        elif q.shape != self.t_switch.shape:
            raise ValueError(f"got {q.shape[0]} values, the detector follows {self.t_switch.shape[0]} members")
        else:
            new = self._armed & np.isnan(self.t_switch) & self._past(q)
            if np.any(new):
                dq = q - self._q0
                frac = np.divide(self.threshold - self._q0, dq, out=np.ones_like(q), where=dq != 0)
                frac = np.clip(frac, 0.0, 1.0)
                ts = self._t0 + frac * (t - self._t0)
                self.t_switch[new] = ts[new]
            self._armed |= ~self._past(q)
        self._t0, self._q0 = t, q
        return self.t_switch

    def table_columns(self):
        return [("t_switch", "s")]

    def table_values(self):
        """(B, 1): the crossing time, NaN where not (yet) switched."""
        return self.t_switch[:, None].copy()


def run_monitored(sim, duration, every, detectors=(), mtj=None, stop_when_switched=False):
    """Run ``sim`` for ``duration`` s in chunks of ``every`` s, checking the detectors after each chunk.

    Returns (t, values): t (n, B) chunk-end member times and, if ``mtj`` is given, its table values
    (n, B, k) (else None). Stops early when ``stop_when_switched`` and every detector has switched every
    member. The crossing-time resolution is set by ``every`` (linear interpolation in between).
    """
    duration = check_number("duration", duration, lo=0.0, lo_open=True, unit="s")
    every = check_number("every", every, lo=0.0, lo_open=True, unit="s")
    for d in detectors:
        if d.t_switch is None:
            d.check(sim)
    ts, vals = [], []
    n = max(1, int(math.ceil(duration / every * (1 - 1e-12))))
    done = 0.0
    for i in range(n):
        step = min(every, duration - done)
        if step <= 0:
            break
        sim.run(step, progress=False)
        done += step
        for d in detectors:
            d.check(sim)
        t = np.atleast_1d(np.asarray(sim.t, dtype=float))
        ts.append(t)
        if mtj is not None:
            vals.append(mtj.table_values(sim.m, t))
        if stop_when_switched and detectors and all(bool(np.all(d.switched)) for d in detectors):
            break
    return np.array(ts), (np.array(vals) if mtj is not None else None)
