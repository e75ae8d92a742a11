"""Every file reader names the problem (issue 22, item 3): mutated files give one error that names the file.

Each reader gets a valid file it wrote (or a shipped one) and many mutations of it: flipped and inserted
bytes, truncations, deleted and repeated spans, and hostile values in place of numbers (nan, 1e300, -1, 0,
a word). A reader may accept a mutation only with a sane result; otherwise it must raise a ValueError or
OSError (FileFormatError, OvfError, MeshError, SpecError are ValueErrors) whose message names the file.
Anything else (a KeyError, IndexError, zlib.error, struct.error, an XML ParseError, a bare message) is an
unnamed error and fails the test. CI runs a few hundred mutations; ``--runslow`` runs thousands.
"""
from __future__ import annotations

import os
import pickle
import random
import re
import shutil

import numpy as np
import pytest

import micromag as mm
from micromag.engine.io.ovf import read_ovf, write_ovf
from micromag.engine.io.vtk import read_pvd, read_vti, write_pvd, write_vti
from micromag.engine.table import read_table

HOSTILE = [b"nan", b"inf", b"-inf", b"1e300", b"-1", b"0", b"1e-300", b"", b"abc", b"99999999999999999999", b"-0"]


def _mutate(raw: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(7)
    n = len(raw)
    if n == 0:
        return b"x"
    if kind == 0:  # flip a few bytes
        b = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(n)] = rng.randrange(256)
        return bytes(b)
    if kind == 1:  # truncate
        return raw[:rng.randrange(n)]
    if kind == 2:  # delete a span
        i = rng.randrange(n)
        return raw[:i] + raw[i + rng.randint(1, 64):]
    if kind == 3:  # repeat a span
        i = rng.randrange(n)
        return raw[:i] + raw[i:i + rng.randint(1, 64)] * 2 + raw[i + 64:]
    if kind == 4:  # insert random bytes
        i = rng.randrange(n)
        return raw[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + raw[i:]
    # replace a number (in the text part of the file) with a hostile value
    head = raw[:4096]
    nums = list(re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", head))
    if not nums:
        return raw[::-1]
    m = rng.choice(nums)
    return raw[:m.start()] + rng.choice(HOSTILE) + raw[m.end():]


def _named(exc, path):
    """The error a user may see: a ValueError/OSError that names the file."""
    if not isinstance(exc, (ValueError, OSError)):
        return False
    text = str(exc)
    return os.fspath(path) in text or os.path.basename(os.fspath(path)) in text


# ---------------------------------------------------------------------------------------------- valid files
def _grid():
    return mm.Grid(n=(4, 3, 2), cell=(2e-9, 3e-9, 1e-9))


def _m():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(3, 2, 3, 4))
    return m / np.linalg.norm(m, axis=0)


def make_ovf(folder, fmt):
    p = os.path.join(folder, f"m_{fmt}.ovf")
    write_ovf(p, _m(), grid=_grid(), fmt=fmt)
    return p


def make_vti(folder, compress):
    p = os.path.join(folder, f"m_{compress}.vti")
    write_vti(p, _grid(), {"m": _m(), "region": np.zeros((2, 3, 4), dtype=np.int32)}, time=1e-11,
              compress=compress)
    return p


def make_pvd(folder):
    p = os.path.join(folder, "series.pvd")
    write_pvd(p, [(0.0, "a_000000.vti"), (5e-11, "a_000001.vti")])
    return p


def make_table(folder):
    p = os.path.join(folder, "table.txt")
    with open(p, "w") as f:
        f.write("# t (s)\tmx ()\tmy ()\tmz ()\n")
        for i in range(5):
            f.write(f"{i * 1e-12:.6e}\t{0.1 * i:.6e}\t{0.2:.6e}\t{0.3:.6e}\n")
    return p


def make_checkpoint(folder):
    sim = mm.Simulation(_grid(), material=mm.Material(Ms=8e5, A=1.3e-11, alpha=0.5), backend="cpu")
    sim.m = (1, 0.2, 0.1)
    p = os.path.join(folder, "state.ckpt")
    sim.save_checkpoint(p)
    return p


def make_cell_spec(folder):
    src = os.path.join(os.path.dirname(__file__), "..", "examples", "cells", "stt_pmtj_40nm.toml")
    p = os.path.join(folder, "cell.toml")
    shutil.copy(src, p)
    return p


def make_mesh(folder):
    src = os.path.join(os.path.dirname(__file__), "..", "geometries", "mtj_ellipse.msh")
    p = os.path.join(folder, "mesh.msh")
    shutil.copy(src, p)
    return p


# ---------------------------------------------------------------------------------------------- readers
def read_ovf_checked(p):
    f = read_ovf(p)
    assert np.all(np.isfinite(f.array)) and f.array.shape[1:] == tuple(reversed(f.n))


def read_vti_checked(p):
    d = read_vti(p)
    shape = tuple(reversed(d["n"]))
    for a in d["cell_data"].values():
        assert a.shape[-3:] == shape


def read_pvd_checked(p):
    for t, f in read_pvd(p):
        assert np.isfinite(t) and isinstance(f, str)


def read_table_checked(p):
    names, data = read_table(p)
    assert data.ndim == 2 and data.shape[1] == len(names)


def read_checkpoint_checked(p):
    mm.Simulation.load_checkpoint(p)


def read_cell_spec_checked(p):
    from micromag.apps.cellreport import load_cell_spec

    load_cell_spec(p, quick=True)


def read_mesh_checked(p):
    from micromag.engine.mesh import read_mesh

    read_mesh(p)


READERS = {
    "ovf-binary4": (lambda d: make_ovf(d, "binary4"), read_ovf_checked),
    "ovf-binary8": (lambda d: make_ovf(d, "binary8"), read_ovf_checked),
    "ovf-text": (lambda d: make_ovf(d, "text"), read_ovf_checked),
    "vti-raw": (lambda d: make_vti(d, False), read_vti_checked),
    "vti-zlib": (lambda d: make_vti(d, True), read_vti_checked),
    "pvd": (make_pvd, read_pvd_checked),
    "table": (make_table, read_table_checked),
    "checkpoint": (make_checkpoint, read_checkpoint_checked),
    "cell-spec": (make_cell_spec, read_cell_spec_checked),
    "mesh": (make_mesh, read_mesh_checked),
}


def _count(request):
    return 2000 if request.config.getoption("--runslow") else 40


@pytest.mark.parametrize("kind", sorted(READERS))
def test_mutated_files_give_named_errors(kind, tmp_path, request):
    make, read = READERS[kind]
    good = make(str(tmp_path))
    read(good)  # the valid file reads
    raw = open(good, "rb").read()
    rng = random.Random(f"{kind}-22")
    unnamed = []
    for i in range(_count(request)):
        p = str(tmp_path / f"fuzz_{i}{os.path.splitext(good)[1]}")
        with open(p, "wb") as f:
            f.write(_mutate(raw, rng))
        try:
            read(p)
        except AssertionError as exc:  # the reader accepted it and returned nonsense
            unnamed.append(f"{p}: accepted with a wrong result ({exc})")
        except Exception as exc:  # noqa: BLE001 - what kind of error is the point of the test
            if not _named(exc, p):
                unnamed.append(f"{type(exc).__name__}: {str(exc)[:160]}")
        finally:
            os.unlink(p)
    assert not unnamed, f"{len(unnamed)} unnamed errors, e.g. {unnamed[:5]}"


@pytest.mark.parametrize("kind", sorted(READERS))
def test_missing_and_empty_files_are_named(kind, tmp_path):
    _, read = READERS[kind]
    for p in (str(tmp_path / "nope.bin"), str(tmp_path)):
        with pytest.raises((ValueError, OSError)) as e:
            read(p)
        assert _named(e.value, p), str(e.value)
    empty = tmp_path / "empty.dat"
    empty.write_bytes(b"")
    with pytest.raises((ValueError, OSError)) as e:
        read(str(empty))
    assert _named(e.value, str(empty)), str(e.value)


def test_checkpoint_with_zero_m_is_refused(tmp_path):
    p = make_checkpoint(str(tmp_path))
    with open(p, "rb") as f:
        state = pickle.load(f)
    state["m"][...] = 0.0
    with open(p, "wb") as f:
        pickle.dump(state, f)
    with pytest.raises(ValueError, match="unit"):
        mm.Simulation.load_checkpoint(p)


def test_ovf_with_absurd_cell_size_is_refused(tmp_path):
    p = make_ovf(str(tmp_path), "text")
    text = open(p).read()
    text = re.sub(r"# xstepsize: \S+", "# xstepsize: 1e300", text)
    open(p, "w").write(text)
    with pytest.raises(ValueError, match="xstepsize"):
        read_ovf(p)


# ---------------------------------------------------------------------------------------------- the CLI
def test_cli_names_a_corrupt_file_without_traceback(tmp_path, capsys):
    from micromag.apps.cli import main

    bad = tmp_path / "broken.vti"
    bad.write_bytes(b"<?xml version='1.0'?><VTKFile type='ImageData'><ImageData WholeExtent='0 2")
    assert main(["convert", str(bad), str(tmp_path / "out.npy")]) == 2
    err = capsys.readouterr().err
    assert "broken.vti" in err and "Traceback" not in err
    with pytest.raises(ValueError, match="broken.vti"):  # --debug: the error itself, traceback and all
        main(["--debug", "convert", str(bad), str(tmp_path / "out.npy")])


def test_cli_plot_of_an_all_nan_table_fails(tmp_path, capsys):
    from micromag.apps.cli import main

    p = tmp_path / "table.txt"
    p.write_text("# t (s)\tmx ()\tmy ()\tmz ()\n0\tnan\tnan\tnan\n1e-12\tnan\tnan\tnan\n")
    assert main(["plot", str(p), "-o", str(tmp_path / "t.png")]) == 2
    assert "no finite value" in capsys.readouterr().err
    assert not (tmp_path / "t.png").exists()


def test_cli_run_keeps_the_script_traceback(tmp_path, capsys):
    from micromag.apps.cli import main

    script = tmp_path / "user.py"
    script.write_text("def inner():\n    raise ValueError('my own bug')\n\ninner()\n")
    assert main(["run", str(script)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "inner" in err and "my own bug" in err


def test_cli_unexpected_error_is_one_line(tmp_path, capsys, monkeypatch):
    from micromag.apps import cli

    def boom(args):
        raise KeyError("surprise")

    monkeypatch.setattr(cli, "_cmd_info", boom)
    assert cli.main(["info"]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "--debug" in err and "Traceback" not in err
