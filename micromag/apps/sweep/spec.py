"""A sweep spec: the TOML reader (each error names the file and line), its validation, and the
:class:`Spec` every point runs from."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import itertools
import json
import math
import os
import re
import sys

import numpy as np

from ...engine.validation import check_number


RESULTS = "results.jsonl"
ERRORS = "errors.jsonl"
SWEEP_KEYS = {"name", "build", "duration", "every", "out", "repeats", "mode", "workers", "retries", "energy",
              "cupy_cache", "batch"}
DETECT_KEYS = {"quantity", "threshold", "below", "stop"}
RANGE_KEYS = {"start", "stop", "num", "step", "log"}


class SpecError(ValueError):
    """A sweep spec that cannot run (the message names the file and line)."""


def toml_key_lines(text):
    """{(table, key): line number} for the ``key = ...`` lines of a TOML file (and table headers)."""
    lines, table, npoints = {}, "", 0
    for no, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        m = re.match(r"^\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]", s)
        if m:
            table = f"{m.group(1)}#{npoints}"
            npoints += 1
            lines[(table, None)] = no
            continue
        m = re.match(r"^\[\s*([A-Za-z0-9_.\-]+)\s*\]", s)
        if m:
            table = m.group(1)
            lines.setdefault((table, None), no)
            continue
        m = re.match(r"""^("([^"]*)"|'([^']*)'|[A-Za-z0-9_\-]+)\s*=""", s)
        if m:
            key = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(1)
            lines.setdefault((table, key), no)
    return lines


class SpecLocation:
    """Where a key of a spec file is: ``where(table, key)`` gives "file, line N" (or "file [table]"), and
    ``where.error(table, key, msg)`` the :class:`SpecError` that names it."""

    def __init__(self, path, lines):
        self.path, self.lines = path, lines

    def __call__(self, table, key=None):
        no = self.lines.get((table, key)) or self.lines.get((table, None))
        return f"{self.path}, line {no}" if no else f"{self.path} [{table}]"

    def error(self, table, key, msg):
        return SpecError(f"{self(table, key)}: {msg}")


def _num(where, table, key, v, positive=True):
    try:
        return check_number(key, v, lo=0.0 if positive else None, lo_open=True)
    except ValueError as exc:
        raise where.error(table, key, str(exc)) from None


def _values(where, name, v):
    """The list of values of one swept parameter."""
    if isinstance(v, list):
        if not v:
            raise where.error("params", name, f"parameter {name!r} has an empty list of values")
        for x in v:
            if isinstance(x, (dict, list)):
                raise where.error("params", name, f"parameter {name!r}: values must be numbers, strings or booleans")
        return list(v)
    if isinstance(v, dict):
        bad = sorted(set(v) - RANGE_KEYS)
        if bad:
            raise where.error("params", name, f"range {name!r} has unknown keys {bad} (use start, stop and num or "
                              "step, optionally log = true)")
        if "start" not in v or "stop" not in v:
            raise where.error("params", name, f"range {name!r} needs start and stop")
        a = _num(where, "params", name, v["start"], positive=False)
        b = _num(where, "params", name, v["stop"], positive=False)
        if "num" in v and "step" in v:
            raise where.error("params", name, f"range {name!r} gives both num and step: give one of them")
        if "num" in v:
            n = v["num"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise where.error("params", name, f"range {name!r} is empty: num must be an integer >= 1, got {n!r}")
            _fits(where, name, n)
            if v.get("log", False):
                if a <= 0 or b <= 0:
                    raise where.error("params", name, f"log range {name!r} needs start and stop > 0")
                return [float(x) for x in np.geomspace(a, b, n)]
            return [float(x) for x in np.linspace(a, b, n)]
        if "step" in v:
            st = _num(where, "params", name, v["step"], positive=False)
            if st == 0 or (b - a) / st < 0:
                raise where.error("params", name, f"range {name!r} is empty: step {st!r} does not lead from "
                                  f"{a!r} to {b!r}")
            count = math.floor((b - a) / st + 1e-9) + 1  # a float: 1e13 values must be refused, not listed
            _fits(where, name, count)
            n = int(count)
            return [a + i * st for i in range(n)]
        raise where.error("params", name, f"range {name!r} needs num or step")
    if isinstance(v, (int, float, str, bool)):
        return [v]
    raise where.error("params", name, f"parameter {name!r} must be a list or a range table, got {v!r}")


def _fits(where, name, n):
    """Refuse a range of ``n`` values whose list could not fit in memory (before it is built)."""
    from ...engine.memory import NotEnoughMemory, check_points

    try:
        check_points(n, 1)
    except NotEnoughMemory as exc:
        raise where.error("params", name, f"range {name!r} has {n:.4g} values: {exc}") from None


def load_callable(ref, base_dir=None, what="build"):
    """``"file.py:func"`` (relative to base_dir) or ``"package.module:func"`` -> the function."""
    if callable(ref):
        return ref
    if not isinstance(ref, str) or ":" not in ref:
        raise ValueError(f"{what} must be 'module:function' or 'script.py:function', got {ref!r}")
    mod, _, fn = ref.rpartition(":")
    if mod.endswith(".py") or os.sep in mod or "/" in mod:
        path = mod if os.path.isabs(mod) or base_dir is None else os.path.join(base_dir, mod)
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{what} script {path} does not exist")
        name = "micromag_sweep_" + hashlib.sha1(path.encode()).hexdigest()[:12]
        module = sys.modules.get(name)
        if module is None:
            d = os.path.dirname(path)
            if d not in sys.path:
                sys.path.insert(0, d)
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
    else:
        module = _import_module(mod)
    f = getattr(module, fn, None)
    if not callable(f):
        raise ValueError(f"{what}: {mod} has no function {fn!r}")
    return f



def _import_module(name):
    """``importlib.import_module(name)``; a module named by its place before the package was split into
    ``micromag.engine`` and ``micromag.apps`` (``micromag.sweep``, ``micromag.cellreport``: spec files written
    before issue 18) is found at its place now."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        head, _, rest = name.partition(".")
        if head != "micromag" or not rest or rest.startswith(("engine.", "apps.")):
            raise
        for layer in ("apps", "engine"):
            try:
                return importlib.import_module(f"micromag.{layer}.{rest}")
            except ModuleNotFoundError:
                continue
        raise

def _ref_name(ref):
    if callable(ref):
        return f"{getattr(ref, '__module__', '?')}:{getattr(ref, '__qualname__', repr(ref))}"
    return str(ref)


def _abs_ref(ref, base_dir):
    if isinstance(ref, str) and ":" in ref:
        mod, _, fn = ref.rpartition(":")
        if mod.endswith(".py") or "/" in mod or os.sep in mod:
            return f"{os.path.abspath(os.path.join(base_dir, mod))}:{fn}"
    return ref


class Spec:
    """A validated sweep: everything needed to run every point (plain data, picklable)."""

    def __init__(self, build, params, duration, every=None, detect=None, fixed=None, repeats=1, mode="product",
                 points=None, name="sweep", out=None, workers=None, retries=2, energy=None, cupy_cache=None,
                 where=None, batch=None):
        self.build, self.name, self.out = build, str(name), out
        self.duration, self.every = duration, every
        self.detect, self.fixed = detect, dict(fixed or {})
        self.params, self.mode, self.explicit = dict(params or {}), mode, points
        self.repeats, self.workers, self.retries, self.energy = repeats, workers, retries, energy
        self.cupy_cache = None if cupy_cache is None else str(cupy_cache)
        self.batch = batch
        self.where = where or SpecLocation("<sweep>", {})
        self._validate()

    # ---------------------------------------------------------------- checks (all before anything runs)
    def _validate(self):
        w = self.where
        self.duration = _num(w, "sweep", "duration", self.duration)
        if self.every is not None:
            self.every = _num(w, "sweep", "every", self.every)
            if self.every > self.duration:
                raise w.error("sweep", "every", f"every ({self.every} s) is longer than duration ({self.duration} s)")
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, int) or self.repeats < 1:
            raise w.error("sweep", "repeats", f"repeats must be an integer >= 1, got {self.repeats!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise w.error("sweep", "workers", f"workers must be an integer >= 1, got {self.workers!r}")
        if self.batch is not None and (isinstance(self.batch, bool) or not isinstance(self.batch, int)
                                       or self.batch < 1):
            raise w.error("sweep", "batch", f"batch (members integrated at once) must be an integer >= 1, got "
                          f"{self.batch!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise w.error("sweep", "retries", f"retries must be an integer >= 0, got {self.retries!r}")
        if self.mode not in ("product", "zip"):
            raise w.error("sweep", "mode", f"mode must be 'product' or 'zip', got {self.mode!r}")
        if self.detect is not None:
            d = dict(self.detect)
            bad = sorted(set(d) - DETECT_KEYS)
            if bad:
                raise w.error("detect", bad[0], f"unknown key {bad[0]!r} in [detect] (known: {sorted(DETECT_KEYS)})")
            q = d.get("quantity", "mz")
            if q not in ("mx", "my", "mz"):
                raise w.error("detect", "quantity", f"quantity must be 'mx', 'my' or 'mz', got {q!r}")
            thr = _num(w, "detect", "threshold", d.get("threshold", 0.0), positive=False)
            for k in ("below", "stop"):
                if not isinstance(d.get(k, True), bool):
                    raise w.error("detect", k, f"{k} must be true or false, got {d[k]!r}")
            self.detect = {"quantity": q, "threshold": thr, "below": d.get("below", True), "stop": d.get("stop", True)}
        self.values = {}
        for name, v in self.params.items():
            self.values[name] = _values(w, name, v)
        if self.mode == "zip" and self.values:
            lens = {n: len(v) for n, v in self.values.items()}
            if len(set(lens.values())) > 1:
                name = next(n for n in lens if lens[n] != next(iter(lens.values())))
                raise w.error("params", name, f"mode = 'zip' needs lists of one length, got {lens}")
        if self.explicit is not None:
            if not isinstance(self.explicit, list) or not self.explicit:
                raise w.error("points", None, "points must be a non-empty list of tables ([[points]] with "
                              "name = value lines)")
            for k, p in enumerate(self.explicit):
                if not isinstance(p, dict):
                    raise w.error("points", None, f"points[{k}] is {p!r}: every point must be a table of "
                                  "parameter values ([[points]] then name = value, or points = [{J = 1e11}, ...])")
                both = sorted(set(p) & set(self.values))
                if both:
                    raise w.error("params", both[0], f"parameter(s) {both} are set both in points[{k}] and in "
                                  "[params]: each point is combined with every [params] value, so set each "
                                  "parameter in one place only")
            if self.mode == "zip" and self.values:
                raise w.error("sweep", "mode", "mode = 'zip' pairs the [params] lists with each other; with "
                              "[[points]] the [params] values are combined with every point (mode 'product')")
        # the number of points, before any list of them is built
        lens = [len(v) for v in self.values.values()]
        if self.mode == "zip" and lens:
            count = float(lens[0])
        else:
            count = float(np.prod([float(n) for n in lens])) if lens else 1.0
        if self.explicit is not None:
            count *= len(self.explicit)
        from ...engine.memory import NotEnoughMemory, check_points

        try:
            check_points(count, len(self.values) + len(self.fixed))
        except NotEnoughMemory as exc:
            raise w.error("params", None, str(exc)) from None
        overlap = sorted(set(self.fixed) & set(self.values))
        if overlap:
            raise w.error("params", overlap[0], f"{overlap[0]!r} is both fixed and swept")
        # the build function and its arguments
        try:
            fn = load_callable(self.build)
        except Exception as exc:
            raise w.error("sweep", "build", f"cannot load build {self.build!r}: {type(exc).__name__}: {exc}") from None
        names = set(self.fixed) | set(self.values)
        for k, p in enumerate(self.explicit or []):
            names |= set(p)
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        if sig is not None:
            ps = sig.parameters
            var_kw = any(p.kind == p.VAR_KEYWORD for p in ps.values())
            takes = [n for n, p in ps.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            if not var_kw:
                for n in sorted(names):
                    if n not in ps:
                        table = "fixed" if n in self.fixed else "params"
                        if self.explicit and n not in self.fixed and n not in self.values:
                            k = next(i for i, p in enumerate(self.explicit) if n in p)
                            table = f"points#{k}"
                        raise w.error(table, n, f"unknown parameter {n!r}: {_ref_name(self.build)} takes "
                                      f"({', '.join(takes)})")
            required = [n for n, p in ps.items() if p.default is p.empty
                        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "batch"]
            missing = [n for n in required if n not in names]
            if missing:
                raise w.error("sweep", "build", f"build {_ref_name(self.build)} needs {missing}: give them in "
                              "[params] or [fixed]")
            if self.repeats > 1 and "batch" not in ps and not var_kw:
                raise w.error("sweep", "repeats", f"repeats = {self.repeats} needs a build function with a batch= "
                              "argument (the number of members)")
        if self.energy is not None:
            try:
                load_callable(self.energy, what="energy")
            except Exception as exc:
                raise w.error("sweep", "energy", f"cannot load energy {self.energy!r}: {exc}") from None

    # ---------------------------------------------------------------- points
    def points(self):
        """The list of parameter dicts, in sweep order."""
        if self.explicit is not None:
            pts = [dict(p) for p in self.explicit]
            if self.values:
                pts = [{**p, **dict(zip(self.values, combo))} for p in pts
                       for combo in itertools.product(*self.values.values())]
            return pts
        if not self.values:
            return [{}]
        names = list(self.values)
        if self.mode == "zip":
            return [dict(zip(names, combo)) for combo in zip(*self.values.values())]
        return [dict(zip(names, combo)) for combo in itertools.product(*self.values.values())]

    def settings(self):
        """What besides the point's parameters decides a run's result (hashed into every key)."""
        return {"build": _ref_name(self.build), "duration": self.duration, "every": self.every,
                "detect": self.detect, "fixed": self.fixed, "repeats": self.repeats,
                "energy": None if self.energy is None else _ref_name(self.energy)}

    @property
    def spec_hash(self):
        return hashlib.sha256(json.dumps(self.settings(), sort_keys=True, default=str).encode()).hexdigest()[:16]

    def key(self, params):
        s = json.dumps({"spec": self.spec_hash, "params": params}, sort_keys=True, default=str)
        return hashlib.sha256(s.encode()).hexdigest()[:20]

    def payload(self):
        """The plain dict a worker needs to run points."""
        return {"build": self.build, "duration": self.duration, "every": self.every, "detect": self.detect,
                "fixed": self.fixed, "repeats": self.repeats, "energy": self.energy, "cupy_cache": self.cupy_cache,
                "batch": self.batch}


def load_spec(path):
    """Read and check a sweep spec (TOML); raises :class:`SpecError` naming the line of what is wrong."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"sweep spec {path} does not exist") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            msg = msg[:m.start()].strip()
            raise SpecError(f"{path}, line {m.group(1)}, column {m.group(2)}: the spec does not parse as TOML: "
                            f"{msg}") from None
        if "(at end of document)" in msg:
            last = len(text.rstrip("\n").splitlines()) or 1
            raise SpecError(f"{path}, line {last} (end of file): the spec does not parse as TOML: "
                            f"{msg.replace('(at end of document)', '').strip()}") from None
        raise SpecError(f"{path}: the spec does not parse as TOML: {msg}") from None
    where = SpecLocation(path, toml_key_lines(text))
    known_tables = {"sweep", "params", "fixed", "detect", "points"}
    for t in doc:
        if t not in known_tables:
            raise where.error(t, None, f"unknown table or key [{t}] (known: {sorted(known_tables)})")
    sw = doc.get("sweep")
    if not isinstance(sw, dict):
        raise SpecError(f"{path}: no [sweep] table (it needs at least build = \"...\" and duration = ...)")
    for k in sw:
        if k not in SWEEP_KEYS:
            raise where.error("sweep", k, f"unknown key {k!r} in [sweep] (known: {sorted(SWEEP_KEYS)})")
    for k in ("build", "duration"):
        if k not in sw:
            raise where.error("sweep", None, f"[sweep] needs {k}")
    base = os.path.dirname(os.path.abspath(path))
    out = sw.get("out")
    if out is not None and not os.path.isabs(out):
        out = os.path.normpath(os.path.join(base, out))
    for t in ("params", "fixed", "detect"):
        if t in doc and not isinstance(doc[t], dict):
            raise where.error(t, None, f"[{t}] must be a table")
    return Spec(build=_abs_ref(sw["build"], base), params=doc.get("params", {}), duration=sw["duration"],
                every=sw.get("every"), detect=doc.get("detect"), fixed=doc.get("fixed", {}),
                repeats=sw.get("repeats", 1), mode=sw.get("mode", "product"), points=doc.get("points"),
                name=sw.get("name", os.path.splitext(os.path.basename(path))[0]), out=out,
                workers=sw.get("workers"), retries=sw.get("retries", 2),
                energy=None if sw.get("energy") is None else _abs_ref(sw["energy"], base),
                cupy_cache=sw.get("cupy_cache"), where=where, batch=sw.get("batch"))
