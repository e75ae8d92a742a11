"""micromag.engine.progress: a redrawn bar on a terminal, periodic lines elsewhere, the same interface for both."""
import io

import numpy as np
import pytest

import micromag as mm
from micromag.engine.progress import Progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("MICROMAG_PROGRESS", raising=False)


def test_not_a_terminal_gives_periodic_lines():
    out = io.StringIO()
    p = Progress("run", 2.0, stream=out, interval=0.0)
    assert p.mode == "line" and p.due()
    p.update(0.5, "t = 5e-10 s")
    p.update(1.0, "t = 1e-9 s")
    p.done("42 steps")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[run]  25.0%") and lines[0].endswith("t = 5e-10 s")
    assert lines[1].startswith("[run]  50.0%") and "ETA" in lines[1]
    assert lines[2].startswith("[run] done in") and lines[2].endswith("42 steps")
    assert "\r" not in out.getvalue()  # a log gets whole lines, never carriage returns


def test_lines_are_throttled_by_the_interval():
    out = io.StringIO()
    p = Progress("relax", 1.0, stream=out, interval=3600.0)
    assert not p.due()
    for k in range(100):
        p.update(k / 100)
    p.done()
    assert out.getvalue() == ""  # nothing within the interval, and a short call closes silently


def test_terminal_gets_a_redrawn_bar_with_eta_and_details():
    out = _Tty()
    p = Progress("run", 1e-9, stream=out)
    assert p.mode == "bar" and p.interval == Progress.BAR_INTERVAL
    p._last -= 1.0  # as if a redraw interval had passed
    p.update(0.25e-9, "t = 2.5e-10 s  steps 100 (5000/s)")
    p.done("400 steps")
    text = out.getvalue()
    assert "\r" in text  # redrawn in place
    assert "run:  25.0%" in text and "t = 2.5e-10 s  steps 100 (5000/s)" in text
    assert "run: 100.0%" in text and "400 steps" in text
    assert "<" in text  # elapsed<remaining (the ETA)


def test_disabled_and_env_off_print_nothing(monkeypatch):
    out = _Tty()
    p = Progress("run", 1.0, enabled=False, stream=out, interval=0.0)
    p.update(0.5, "x")
    p.done("y")
    monkeypatch.setenv("MICROMAG_PROGRESS", "off")
    q = Progress("run", 1.0, stream=out, interval=0.0)
    q.update(0.5, "x")
    q.done("y")
    assert out.getvalue() == ""
    monkeypatch.setenv("MICROMAG_PROGRESS", "line")
    assert Progress("run", 1.0, stream=out).mode == "line"  # forced lines on a terminal


def test_bad_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="mode"):
        Progress("run", 1.0, mode="fancy")


@pytest.mark.parametrize("call", ["run", "relax", "minimize"])
def test_simulation_calls_report_progress(call, monkeypatch, capsys):
    """run, relax and minimize all report through Progress (forced to lines with no throttling)."""
    monkeypatch.setenv("MICROMAG_PROGRESS", "line")
    monkeypatch.setattr(Progress, "__init__", _eager(Progress.__init__))
    grid = mm.Grid(n=(8, 4, 1), cell=(5e-9, 5e-9, 3e-9))
    sim = mm.Simulation(grid, material=mm.Permalloy(alpha=0.5), backend="cpu")
    sim.m = (1, 1, 0.2)
    {"run": lambda: sim.run(5e-12), "relax": lambda: sim.relax(), "minimize": lambda: sim.minimize()}[call]()
    err = capsys.readouterr().err
    assert f"[{call}]" in err and "%" in err


def _eager(init):
    def wrapped(self, *a, **k):
        init(self, *a, **k)
        self.interval = 0.0
    return wrapped


def test_batch_reports_progress(monkeypatch, capsys):
    monkeypatch.setenv("MICROMAG_PROGRESS", "line")
    monkeypatch.setattr(Progress, "__init__", _eager(Progress.__init__))
    grid = mm.Grid(n=(4, 4, 1), cell=(5e-9, 5e-9, 3e-9))
    b = mm.Batch(lambda n: mm.Simulation(grid, material=mm.Permalloy(alpha=0.5), batch=n, backend="cpu"),
                 [dict(m0=(1, 0, 0)), dict(m0=(0, 1, 0))])
    res = b.run(2e-12, progress=True)
    assert len(res) == 2 and np.all(np.isfinite([r["t"] for r in res]))
    assert "[batch]" in capsys.readouterr().err


class _FakeNotebook:
    """What a Jupyter front end (and nbclient, for nbconvert --execute) does with display messages: a
    display_data output is stored in the cell; an update_display_data with the same id replaces it. The
    stored outputs are what a saved .ipynb holds."""

    def __init__(self):
        self.outputs = []  # [display_id, mime bundle]

    def display(self, obj, display_id=None):
        from IPython.core.formatters import format_display_data

        did = f"id{len(self.outputs)}"
        self.outputs.append([did, format_display_data(obj)[0]])
        nb = self

        class Handle:
            def update(self, new):
                for out in nb.outputs:
                    if out[0] == did:
                        out[1] = format_display_data(new)[0]

        return Handle()


def test_notebook_keeps_the_final_state_in_the_saved_output(monkeypatch):
    """A saved or converted notebook used to show tqdm's widget fallback, "0.0%": the widget state is not
    saved. The notebook mode updates one display, whose last state (100 %) is what the .ipynb keeps."""
    pytest.importorskip("IPython")
    nbformat = pytest.importorskip("nbformat")
    import IPython.display

    import micromag.engine.progress as pg

    fake = _FakeNotebook()
    monkeypatch.setattr(IPython.display, "display", fake.display)
    monkeypatch.setattr(pg, "_in_jupyter", lambda: True)
    p = Progress("run", 1e-9)
    assert p.mode == "notebook"
    p._last -= 1.0
    p.update(0.25e-9, "t = 2.5e-10 s")
    assert len(fake.outputs) == 1 and "25.0%" in fake.outputs[0][1]["text/plain"]
    p._last -= 1.0
    p.update(0.5e-9, "t = 5e-10 s")
    p.done("400 steps")
    assert len(fake.outputs) == 1  # one output, updated in place
    data = fake.outputs[0][1]
    assert data["text/plain"].startswith("[run] 100.0%  done in") and data["text/plain"].endswith("400 steps")
    assert 'value="100.0"' in data["text/html"]
    # the saved notebook, converted to text the way nbconvert does, says 100 %, never 0 %
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("sim.run(1e-9)", outputs=[
        nbformat.v4.new_output("display_data", data=data)]))
    nbformat.validate(nb)
    nbconvert = pytest.importorskip("nbconvert")
    md, _ = nbconvert.MarkdownExporter().from_notebook_node(nb)
    assert "100.0%" in md and "0.0%" not in md.replace("100.0%", "")


def test_notebook_call_without_updates_shows_the_end(monkeypatch):
    """A call that lasted a redraw interval but never updated: the display is created at done() with the
    final state; a call shorter than that shows nothing (as in a terminal)."""
    pytest.importorskip("IPython")
    import IPython.display

    import micromag.engine.progress as pg

    fake = _FakeNotebook()
    monkeypatch.setattr(IPython.display, "display", fake.display)
    monkeypatch.setattr(pg, "_in_jupyter", lambda: True)
    Progress("relax", 1.0).done("converged")
    assert fake.outputs == []
    p = Progress("relax", 1.0)
    p.t0 -= 1.0
    p.done("converged")
    assert [o[1]["text/plain"][:14] for o in fake.outputs] == ["[relax] 100.0%"]
