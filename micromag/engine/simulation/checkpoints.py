"""Checkpoints of a :class:`~micromag.engine.simulation.Simulation`: write everything needed to continue a run,
rebuild a Simulation from it, or restore the state into one built again."""
from __future__ import annotations

import io
import pickle

import numpy as np


class _FlatLayout(pickle.Unpickler):
    """Reads recipes pickled before the package was split into ``micromag.engine`` and ``micromag.apps``
    (issue 18): a class pickled as ``micromag.<module>`` is found at ``micromag.engine.<module>`` or, for
    what an application attached (a cell's readout), ``micromag.apps.<module>``."""

    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except ModuleNotFoundError:
            rest = module.partition(".")[2]
            if not module.startswith("micromag.") or rest.startswith(("engine.", "apps.")):
                raise
            try:
                return super().find_class(f"micromag.engine.{rest}", name)
            except ModuleNotFoundError:
                return super().find_class(f"micromag.apps.{rest}", name)


class Checkpoints:
    """Part of :class:`~micromag.engine.simulation.Simulation`: checkpoints (pickling, save, load, restore)."""

    _ENGINE = ("llg", "_stepper", "xp", "_m", "_t", "_mask_dev", "_weight_dev", "_tf", "_tables", "_series")

    def __getstate__(self):
        self._sync_noise()
        state = {k: v for k, v in self.__dict__.items() if k not in self._ENGINE}
        state["_m_host"], state["_t_host"] = self.host(self._m).astype(self.dtype), self.host(self._t)
        return state

    def __setstate__(self, state):
        m, t = state.pop("_m_host"), state.pop("_t_host")
        frozen = state.pop("_frozen", True)
        object.__setattr__(self, "__dict__", {**self.__dict__, **state, "_frozen": False})
        self._tables, self._tf = {}, {}
        self._build_engine(m, t)
        self._frozen = frozen

    def save_checkpoint(self, path):
        """Write everything needed to continue this run (m, t, the step size and the integrator's cached
        first stage, drives, RNG states) to ``path`` atomically. If the simulation holds something that cannot
        be pickled (a lambda drive, say), only the state is saved: restore it with
        :meth:`restore_checkpoint` on a Simulation built again by the same script."""
        st = self._stepper
        self._sync_noise()
        m, t = self.host(self._m), self.host(self._t)
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))):
            raise ValueError(f"checkpoint {path} not written: the state holds NaN or infinite values (m or t), "
                             "which could not be continued; restore an earlier checkpoint")
        dt = None if st is None else self.host(st.dt)
        if dt is not None:  # a member frozen by a failure gets a fresh try at the initial step on resume
            dt = np.where(np.isfinite(dt), dt, self._dt0)
        state = {
            "format": "micromag-checkpoint-2",
            "m": m.astype(self.dtype), "t": t,
            "dt": dt,
            "k0": self.host(st.k[0]) if st is not None and st.k0_valid else None,
            # the noise identity and step counts of every member (the same on every backend)
            "thermal": self.terms["thermal"].noise_state() if "thermal" in self.terms else None,
        }
        try:
            state["recipe"] = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # lambdas, open files, ...
            state["recipe"], state["recipe_error"] = None, f"{type(exc).__name__}: {exc}"
        from ..io.atomic import atomic_write

        return atomic_write(path, lambda f: pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def _read_checkpoint(path):
        try:
            with open(path, "rb") as f:
                state = pickle.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"checkpoint {path} does not exist") from None
        except Exception as exc:
            raise ValueError(f"checkpoint {path} is unreadable ({type(exc).__name__}: {exc})") from None
        if not isinstance(state, dict) or state.get("format") != "micromag-checkpoint-2":
            raise ValueError(f"{path} is not a micromag checkpoint (of this version)")
        missing = [k for k in ("m", "t", "dt", "k0", "thermal", "recipe") if k not in state]
        if missing:
            raise ValueError(f"checkpoint {path} is incomplete: it lacks {missing} (written by another program or "
                             "damaged); write it again with sim.save_checkpoint(path)")
        m, t = state["m"], state["t"]
        if not (isinstance(m, np.ndarray) and m.ndim == 5 and m.shape[1] == 3 and isinstance(t, np.ndarray)
                and t.shape == (m.shape[0],)):
            raise ValueError(f"checkpoint {path} is damaged: m must be an array (B, 3, nz, ny, nx) and t one time "
                             "per member")
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(t))):
            raise ValueError(f"checkpoint {path} holds a non-finite state (NaN or inf in m or t): it cannot be "
                             "continued")
        norm = np.sqrt(np.sum(np.asarray(m, dtype=float) ** 2, axis=1))
        if np.any(np.abs(norm[norm > 0] - 1) > 1e-3) or not np.all(norm.reshape(len(norm), -1).max(axis=1) > 0):
            raise ValueError(f"checkpoint {path} is damaged: m must be a unit vector in every magnetic cell "
                             f"(|m| ranges {norm.min():.3g}..{norm.max():.3g}, and a member with m = 0 everywhere "
                             "has no magnet)")
        return state

    @classmethod
    def load_checkpoint(cls, path):
        """A Simulation rebuilt from a checkpoint written by :meth:`save_checkpoint`, ready to continue."""
        state = cls._read_checkpoint(path)
        if state["recipe"] is None:
            raise ValueError(f"checkpoint {path} holds only the state ({state.get('recipe_error')}): build the "
                             "Simulation with your script and call sim.restore_checkpoint(path)")
        try:
            sim = _FlatLayout(io.BytesIO(state["recipe"])).load()
        except Exception as exc:  # noqa: BLE001 - a damaged recipe can fail in any way unpickling can
            raise ValueError(f"checkpoint {path} is damaged: its simulation recipe cannot be rebuilt "
                             f"({type(exc).__name__}: {exc})") from exc
        if not isinstance(sim, cls):
            raise ValueError(f"checkpoint {path} is damaged: its recipe is a {type(sim).__name__}, not a Simulation")
        sim._restore_state(state, path)
        return sim

    def restore_checkpoint(self, path):
        """Load the state saved by :meth:`save_checkpoint` into this (identically built) Simulation."""
        self._restore_state(self._read_checkpoint(path), path)
        return self

    def _restore_state(self, state, path):
        if state["m"].shape != self._shape:
            raise ValueError(f"checkpoint {path} holds m of shape {state['m'].shape}, this simulation needs {self._shape}")
        xp = self.xp
        self._m[...] = xp.asarray(state["m"].astype(self.dtype))
        self._t[...] = xp.asarray(state["t"])
        self._restored_t = self.host(self._t)  # a continued run may cut output written after this time
        if state["thermal"] is not None and "thermal" in self.terms:
            self.terms["thermal"].set_noise_state(state["thermal"])
            if self.backend != "cpu":
                self.llg.load_noise_state()
        self._stepper = None
        if state["dt"] is not None:
            st = self.stepper
            st.dt[...] = xp.asarray(state["dt"])
            if state["k0"] is not None and st.tab.fsal:
                st.k[0][...] = xp.asarray(state["k0"].astype(self.dtype))
                st.k0_valid = True
