"""`micromag validate`: every case's quick form passes, and every case fails when its physics is broken on
purpose (a check that cannot fail is a defect). One test per case, so a regression names the case."""
import numpy as np
import pytest

from micromag.apps.validate import REGISTRY, get_case, main, add_validate_parser
from micromag.apps.validate.report import format_table, write_report

NAMES = [c.name for c in REGISTRY]


def _explain(res):
    return format_table([res]) + ("\n" + res.note if res.note else "")


def test_registry_order_and_records():
    assert NAMES[:4] == ["demag_prisms", "macrospin_precession", "kittel", "bloch_wall"]
    assert len(set(NAMES)) == len(NAMES)
    for c in REGISTRY:
        for field in (c.description, c.reference, c.source, c.quantity, c.tolerance):
            assert isinstance(field, str) and len(field) > 20, (c.name, field)
        assert c.breaks, f"{c.name} names no perturbation it must detect"


@pytest.mark.parametrize("name", NAMES)
def test_quick_case_passes(name):
    res = get_case(name).run(quick=True, backend="cpu")
    if res.status == "unavailable":
        pytest.skip(f"{name} unavailable: {res.note}")
    assert res.status == "pass", _explain(res)
    assert res.rows and all(np.isfinite(r.ours) for r in res.rows if isinstance(r.ours, float))


@pytest.mark.parametrize("name", NAMES)
def test_quick_case_fails_when_physics_is_broken(name):
    case = get_case(name)
    res = case.run(quick=True, backend="cpu", perturb=case.breaks)
    if res.status == "unavailable":
        pytest.skip(f"{name} unavailable: {res.note}")
    assert res.status == "fail", f"{name} did not detect {case.breaks}:\n" + _explain(res)


def test_unavailable_term_is_reported_not_passed(monkeypatch):
    from micromag.apps.validate.registry import Case, Result

    def needs_missing(quick, backend, p):
        import micromag.engine.terms.does_not_exist  # noqa: F401
        return Result("x")

    res = Case("missing", "d" * 30, "r" * 30, "s" * 30, "q" * 30, "t" * 30, needs_missing, {"A_scale": 2}).run()
    assert res.status == "unavailable" and "does_not_exist" in res.note


def test_cli_report_and_exit_status(tmp_path, capsys):
    import argparse

    p = argparse.ArgumentParser()
    add_validate_parser(p.add_subparsers(dest="command"))
    args = p.parse_args(["validate", "--quick", "--backend", "cpu", "--only", "demag_prisms", "bloch_wall",
                         "--report", str(tmp_path / "rep")])
    assert args.func is main
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "demag_prisms" in out and "bloch_wall" in out and "pass" in out
    md = (tmp_path / "rep" / "README.md").read_text()
    assert "(demag_prisms.png)" in md and "(bloch_wall.png)" in md
    assert (tmp_path / "rep" / "bloch_wall.png").stat().st_size > 1000
    assert main(p.parse_args(["validate", "--only", "no_such_case"])) == 2


def test_failing_case_gives_nonzero_exit(monkeypatch, capsys):
    import argparse

    case = get_case("bloch_wall")
    orig = case.run
    monkeypatch.setattr(case, "run", lambda quick=True, backend="auto", perturb=None: orig(quick, backend, {"A_scale": 1.1}))
    p = argparse.ArgumentParser()
    add_validate_parser(p.add_subparsers(dest="command"))
    assert main(p.parse_args(["validate", "--only", "bloch_wall"])) == 1
    assert "FAIL" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------- SP2
def test_sp2_single_cell_gives_the_uniform_limit():
    """One cell is the Stoner–Wohlfarth particle in the prism's demag field: <m>·h = 0 at 0.057065 Ms."""
    from micromag.apps.validate import cases
    from micromag.apps.validate.registry import Perturb

    sim, h, Ms = cases._sp2_loop(Perturb(None), 0.5, (1, 1), "cpu", None)
    rem, hc, why = cases._sp2_hc(sim, h, Ms)
    assert why == "" and abs(rem[0] - 1) < 1e-6
    assert abs(-hc - 0.057065) < 1.2e-5


def test_sp2_descent_converges_past_the_branch_end():
    """At H = −0.0575 Ms the branch is gone (it ends at 0.057144 Ms); the unbounded BB step of
    Simulation.minimize diverged here (torque ~40 T after 1e5 iterations). The capped descent must reach the
    reversed state."""
    import math
    from micromag.engine.constants import mu0
    from micromag.apps.validate import cases
    from micromag.apps.validate.registry import Perturb

    sim, h, Ms = cases._sp2_loop(Perturb(None), 0.5, (10, 2), "cpu", None)
    sim.B_ext = tuple(mu0 * -0.057 * Ms * h)
    assert cases._sp2_descend(sim) < 1e-6
    assert 0 < sim.m_avg @ h < 0.02  # still on the branch, just before <m>·h = 0
    sim.B_ext = tuple(mu0 * -0.0575 * Ms * h)
    tq = cases._sp2_descend(sim)
    assert tq < 1e-6 and math.isfinite(tq)
    assert sim.m_avg @ h < -0.7


def test_sp2_unconverged_trial_fails_the_case(monkeypatch):
    """An unconverged state's <m>·h is not evidence either way: the search must stop and the case fail."""
    import math
    from micromag.apps.validate import cases

    monkeypatch.setattr(cases, "_sp2_descend", lambda sim, tol_torque=1e-6, **kw: 40.0)
    res = get_case("sp2").run(quick=True, backend="cpu")
    assert res.status == "fail" and "converged" in res.note
    row = [r for r in res.rows if r.quantity.startswith("Hc/Ms")]
    assert not row or not math.isfinite(row[0].ours)
