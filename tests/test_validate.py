"""`micromag validate`: every case's quick form passes, and every case fails when its physics is broken on
purpose (a check that cannot fail is a defect). One test per case, so a regression names the case."""
import numpy as np
import pytest

from micromag.validate import REGISTRY, get_case, main, add_validate_parser
from micromag.validate.report import format_table, write_report

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
    from micromag.validate.registry import Case, Result

    def needs_missing(quick, backend, p):
        import micromag.terms.does_not_exist  # noqa: F401
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
