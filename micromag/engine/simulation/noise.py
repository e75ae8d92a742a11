"""The thermal noise of a :class:`~micromag.engine.simulation.Simulation`: temperature, seed, and the noise
identity and step count of every member (the same on every backend)."""
from __future__ import annotations


class ThermalNoise:
    """Part of :class:`~micromag.engine.simulation.Simulation`: temperature and noise streams."""

    def _sync_noise(self):
        """The device's noise step counters into the thermal term (before anything reads its state)."""
        if self.backend != "cpu" and "thermal" in self.terms and hasattr(self, "llg"):
            self.llg.sync_noise_state()

    @property
    def temperature(self):
        """Temperature in K (a number, one per member, or a drive of t); > 0 switches on Brown's thermal field
        and the fixed-step stochastic Heun integrator with step ``sim.dt``."""
        th = self.terms.get("thermal")
        return None if th is None else th.temperature

    @temperature.setter
    def temperature(self, value):
        from ..terms.thermal import ThermalField

        th = self.terms.get("thermal")
        if th is None:
            th = ThermalField(self.system, value, seed=self._seed, batch=self.batch)
            self.add(th)
        else:
            th.set_temperature(value)
        self.state_changed()

    @property
    def seed(self):
        """Seed of the thermal noise; each member draws from its own stream (seed, member)."""
        return self._seed

    @seed.setter
    def seed(self, value):
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be an integer in [0, 2**64), got {value!r}") from None
        if v != value or not 0 <= v < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {value!r}")
        self._seed = v
        if "thermal" in self.terms:
            self.terms["thermal"].reset_rng(self._seed)
            if self.backend != "cpu":
                self.llg.load_noise_state()
        self.state_changed()

    def noise_state(self):
        """The thermal noise identity and step count of every member ({"seeds", "member_ids", "counters"}),
        or None without a thermal term. Same on every backend: a member continues its own noise stream when
        this state moves with it (batch compaction, checkpoints)."""
        th = self.terms.get("thermal")
        if th is None:
            return None
        self._sync_noise()
        return th.noise_state()

    def set_noise_state(self, state, rows=None):
        """Take over a :meth:`noise_state` (all members, or its rows ``rows``: one per member here)."""
        th = self.terms.get("thermal")
        if th is None or state is None:
            return
        th.set_noise_state(state, rows=rows)
        if self.backend != "cpu":
            self.llg.load_noise_state()

    def set_noise(self, seeds=None, member_ids=None):
        """The thermal noise identity of each member: member b draws the stream (seeds[b], member_ids[b])
        (defaults: sim.seed, and b). A member's noise then follows it into any batch: the Batch runner
        passes each member's index in the whole batch (or its own seed). Step counts restart at 0."""
        th = self.terms.get("thermal")
        if th is None:
            raise ValueError("set_noise needs a thermal term: set sim.temperature first")
        if seeds is None:
            th.reset_rng(self._seed, member_ids=member_ids)
        else:
            th.reset_rng(seeds=seeds, member_ids=member_ids)
        if self.backend != "cpu":
            self.llg.load_noise_state()
        self.state_changed()

    def _thermal_on(self):
        th = self.terms.get("thermal")
        return th is not None and th.active(self.host(self._t))
