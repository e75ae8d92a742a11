"""OVF 2.0 / 1.0 files: round trips, Ubermag (discretisedfield) interoperability, hand-made fixtures in the
styles of MuMax3 and OOMMF, and clear errors for bad files."""
import os
import re

import numpy as np
import pytest

import micromag as mm
from micromag.engine.io import ovf
from micromag.engine.io.ovf import OvfError, load_ovf, read_ovf, write_ovf

DATA = os.path.join(os.path.dirname(__file__), "data", "ovf")

# the cell values of the hand-made fixtures (3 x 2 x 1 cells of 5 x 5 x 3 nm), listed x fastest then y
FIXTURE_VECTORS = np.array([(1, 0, 0), (0, 1, 0), (0, 0, 1), (-1, 0, 0), (0.6, 0.8, 0), (0, -0.6, -0.8)], float)
FIXTURE = FIXTURE_VECTORS.T.reshape(3, 1, 2, 3)  # (3, nz, ny, nx)
FIXTURE_CELL = (5e-9, 5e-9, 3e-9)


def random_field(shape=(3, 4, 3, 5), seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def grid():
    return mm.Grid(n=(5, 3, 4), cell=(2e-9, 3e-9, 4e-9))


# ------------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("fmt", ["binary4", "binary8", "text"])
def test_round_trip(tmp_path, fmt):
    g, a = grid(), random_field()
    path = tmp_path / f"m_{fmt}.ovf"
    write_ovf(path, a, grid=g, fmt=fmt, desc="line one\nline two")
    f = read_ovf(path)
    assert f.array.dtype == np.float64 and f.array.shape == (3, 4, 3, 5)
    if fmt == "binary4":
        np.testing.assert_array_equal(f.array, a.astype(np.float32))
    else:  # binary 8 and text with 17 significant digits are exact
        np.testing.assert_array_equal(f.array, a)
    assert f.n == g.n and f.cell == g.cell and f.origin == (0.0, 0.0, 0.0)
    assert f.version == "2.0" and f.fmt == fmt and f.valuedim == 3
    assert f.grid() == g
    assert f.title == "m" and f.valuelabels == ("m_x", "m_y", "m_z") and f.valueunits == ("", "", "")
    assert f.header["desc"] == "line one\nline two"
    np.testing.assert_allclose(f.pmin, [-5e-9, -4.5e-9, -8e-9], rtol=1e-15)
    np.testing.assert_array_equal(load_ovf(path, g), f.array)
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_header_as_oommf_writes_it(tmp_path):
    path = tmp_path / "m.ovf"
    write_ovf(path, random_field(), grid=grid(), fmt="binary4", origin=(1e-9, 0, 0))
    raw = path.read_bytes()
    head = raw[:raw.index(b"# Begin: Data Binary 4\n")].decode()
    lines = head.splitlines()
    assert lines[0] == "# OOMMF OVF 2.0"
    for rec in ["# Segment count: 1", "# Begin: Segment", "# Begin: Header", "# End: Header", "# Title: m",
                "# meshtype: rectangular", "# meshunit: m", "# xmin: -4e-09", "# xmax: 6e-09", "# zmin: -8e-09",
                "# valuedim: 3", "# valuelabels: m_x m_y m_z", "# valueunits: {} {} {}", "# ybase: -3e-09",
                "# xnodes: 5", "# ynodes: 3", "# znodes: 4", "# xstepsize: 2e-09", "# zstepsize: 4e-09"]:
        assert rec in lines, rec
    xbase = [ln for ln in lines if ln.startswith("# xbase:")]
    assert len(xbase) == 1 and float(xbase[0].split(":")[1]) == pytest.approx(-3e-9, rel=1e-12)
    start = len(head) + len("# Begin: Data Binary 4\n")
    assert np.frombuffer(raw, "<f4", 1, start)[0] == 1234567.0
    assert raw.endswith(b"\n# End: Data Binary 4\n# End: Segment\n")
    assert len(raw) == start + 4 * (1 + 3 * 60) + len(b"\n# End: Data Binary 4\n# End: Segment\n")
    f = read_ovf(path)
    np.testing.assert_allclose(f.origin, (1e-9, 0.0, 0.0), rtol=1e-12, atol=1e-24)
    # x runs fastest in the file: the second record is cell (i=1, j=0, k=0)
    a = f.array
    np.testing.assert_array_equal(np.frombuffer(raw, "<f4", 3, start + 4 + 12), a[:, 0, 0, 1].astype(np.float32))

    path8 = tmp_path / "m8.ovf"
    write_ovf(path8, random_field(), grid=grid(), fmt="binary8")
    raw8 = path8.read_bytes()
    i = raw8.index(b"# Begin: Data Binary 8\n") + len(b"# Begin: Data Binary 8\n")
    assert np.frombuffer(raw8, "<f8", 1, i)[0] == 123456789012345.0
    assert raw8.endswith(b"# End: Data Binary 8\n# End: Segment\n")


def test_scalar_field_and_labels(tmp_path):
    a = random_field((4, 3, 5))
    path = tmp_path / "e.ovf"
    write_ovf(path, a, grid=grid(), fmt="text", title="Exchange energy density", valueunits="J/m3")
    f = read_ovf(path)
    assert f.valuedim == 1 and f.array.shape == (1, 4, 3, 5)
    np.testing.assert_array_equal(f.array[0], a)
    assert f.valuelabels == ("Exchange energy density",) and f.valueunits == ("J/m3",)
    assert "# valuelabels: {Exchange energy density}" in path.read_text()
    with pytest.raises(OvfError, match=re.escape(str(path)) + ".*wrong valuedim"):
        load_ovf(path)


def test_write_accepts_batch_of_one_and_checks_arguments(tmp_path):
    g, a = grid(), random_field()
    write_ovf(tmp_path / "b.ovf", a[None], grid=g, fmt="binary8")
    np.testing.assert_array_equal(load_ovf(tmp_path / "b.ovf"), a)
    with pytest.raises(ValueError, match="does not match"):
        write_ovf(tmp_path / "x.ovf", a[:, :2], grid=g)
    with pytest.raises(ValueError, match="cell size"):
        write_ovf(tmp_path / "x.ovf", a)
    with pytest.raises(ValueError, match="fmt"):
        write_ovf(tmp_path / "x.ovf", a, grid=g, fmt="binary2")
    bad = a.copy()
    bad[0, 1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_ovf(tmp_path / "x.ovf", bad, grid=g)
    assert not os.path.exists(tmp_path / "x.ovf")
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        write_ovf(tmp_path / "no_such_folder" / "x.ovf", a, grid=g)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    g, a = grid(), random_field()
    path = tmp_path / "m.ovf"
    write_ovf(path, a, grid=g, fmt="binary8")
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ovf.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_ovf(path, 2 * a, grid=g, fmt="binary8")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.ovf"]
    write_ovf(path, 2 * a, grid=g, fmt="binary8")  # overwriting works
    np.testing.assert_array_equal(load_ovf(path), 2 * a)


def test_load_into_simulation(tmp_path):
    g = mm.Grid(n=(3, 2, 1), cell=FIXTURE_CELL)
    sim = mm.Simulation(g, material=mm.Permalloy(), demag=False)
    sim.m = load_ovf(os.path.join(DATA, "mumax3_m_binary4.ovf"), grid=g)
    np.testing.assert_allclose(sim.m[0], FIXTURE, atol=1e-7)
    path = tmp_path / "out.ovf"
    write_ovf(path, sim.m[0], grid=g, fmt="binary8")
    np.testing.assert_array_equal(load_ovf(path, g), sim.m[0])
    # a file for another grid fails before anything reaches the simulation
    other = mm.Grid(n=(3, 2, 2), cell=FIXTURE_CELL)
    sim2 = mm.Simulation(other, material=mm.Permalloy(), demag=False)
    with pytest.raises(OvfError, match="wrong size for the grid"):
        sim2.m = load_ovf(path, grid=other)
    np.testing.assert_array_equal(sim2.m[0, 0], 1.0)


# ------------------------------------------------------------------------------------------- fixtures
def test_mumax3_binary4_fixture():
    path = os.path.join(DATA, "mumax3_m_binary4.ovf")
    f = read_ovf(path)
    assert f.version == "2.0" and f.fmt == "binary4"
    assert f.n == (3, 2, 1) and f.cell == FIXTURE_CELL
    np.testing.assert_allclose(f.origin, (7.5e-9, 5e-9, 1.5e-9), rtol=1e-15)
    np.testing.assert_array_equal(f.array, FIXTURE.astype(np.float32))
    assert f.title == "m" and f.valueunits == ("1", "1", "1")
    assert f.header["desc"] == "Total simulation time: 0 s"
    assert f.grid() == mm.Grid(n=(3, 2, 1), cell=FIXTURE_CELL)


def test_oommf_text_fixture():
    f = read_ovf(os.path.join(DATA, "oommf_text.ovf"))
    assert f.version == "2.0" and f.fmt == "text" and f.n == (3, 2, 1) and f.cell == FIXTURE_CELL
    np.testing.assert_array_equal(f.array, 8e5 * FIXTURE)
    assert f.valuelabels == ("Magnetization_x", "Magnetization_y", "Magnetization_z")
    assert f.valueunits == ("A/m",) * 3
    assert f.header["desc"].splitlines()[0] == "Oxs vector field output"


def test_ovf1_binary8_fixture():
    f = read_ovf(os.path.join(DATA, "ovf1_binary8.omf"))
    assert f.version == "1.0" and f.fmt == "binary8" and f.n == (3, 2, 1)
    assert f.cell == FIXTURE_CELL  # meshunit nm converted to m
    np.testing.assert_allclose(f.origin, (7.5e-9, 5e-9, 1.5e-9), rtol=1e-15)
    np.testing.assert_allclose(f.array, 8e5 * FIXTURE, rtol=1e-15)  # valuemultiplier 1000 applied
    assert f.title == "Oxs_TimeDriver::Magnetization"  # '##' comment stripped
    assert f.valueunits == ("A/m",) * 3


def test_ovf1_text(tmp_path):
    raw = open(os.path.join(DATA, "ovf1_binary8.omf"), "rb").read()
    head = raw[:raw.index(b"# Begin: Data Binary 8")].decode()
    rows = "\n".join(" ".join(repr(float(800.0 * c)) for c in v) for v in FIXTURE_VECTORS)
    path = tmp_path / "ovf1.omf"
    path.write_text(head + "# Begin: Data Text\n" + rows + "\n# End: Data Text\n# End: Segment\n")
    f = read_ovf(path)
    assert f.version == "1.0" and f.fmt == "text"
    np.testing.assert_allclose(f.array, 8e5 * FIXTURE, rtol=1e-15)
    # OVF 1.0 binary is big-endian: little-endian data fail the check value with a hint
    le = raw.replace(np.array([ovf.CHECK8], ">f8").tobytes(), np.array([ovf.CHECK8], "<f8").tobytes())
    path.write_bytes(le)
    _raises(path, "check value.*byte order")


def test_fixture_generator_is_reproducible(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(DATA, "make_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "HERE", str(tmp_path))
    mod.mumax3_binary4()
    mod.ovf1_binary8()
    for name in ("mumax3_m_binary4.ovf", "ovf1_binary8.omf"):
        with open(os.path.join(DATA, name), "rb") as fh:
            assert (tmp_path / name).read_bytes() == fh.read(), name


def test_crlf_comments_and_case_insensitive_keys(tmp_path):
    text = open(os.path.join(DATA, "oommf_text.ovf")).read()
    text = text.replace("# xnodes: 3", "# X Nodes: 3  ## comment after a record")
    text = text.replace("# Begin: Data Text", "# BEGIN: data text")
    text = text.replace("# meshtype", "## a comment line\n#    \n# MeshType")
    text = text.replace("  0.000000000000000 800000.0000000000 0.000000000000000",
                        "  0.000000000000000 800000.0000000000 ## comment inside text data\n 0.0")
    path = tmp_path / "crlf.ovf"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    f = read_ovf(path)
    np.testing.assert_array_equal(f.array, 8e5 * FIXTURE)
    assert f.header["xnodes"] == "3" and f.header["meshtype"] == "rectangular"

    # binary with CRLF line ends in the header
    raw = open(os.path.join(DATA, "mumax3_m_binary4.ovf"), "rb").read()
    i = raw.index(b"# Begin: Data Binary 4\n") + len(b"# Begin: Data Binary 4\n")
    crlf = raw[:i].replace(b"\n", b"\r\n") + raw[i:]
    path = tmp_path / "crlf_b4.ovf"
    path.write_bytes(crlf)
    np.testing.assert_array_equal(read_ovf(path).array, FIXTURE.astype(np.float32))


# ------------------------------------------------------------------------------------------- Ubermag
@pytest.mark.parametrize("fmt", ["binary4", "binary8", "text"])
def test_discretisedfield_reads_our_files(tmp_path, fmt):
    df = pytest.importorskip("discretisedfield")
    g, a = grid(), random_field()
    path = tmp_path / "m.ovf"
    write_ovf(path, a, grid=g, fmt=fmt)
    field = df.Field.from_file(str(path))
    assert tuple(field.mesh.n) == g.n
    np.testing.assert_allclose(field.mesh.cell, g.cell, rtol=1e-12)
    np.testing.assert_allclose(field.mesh.region.pmin, [-5e-9, -4.5e-9, -8e-9], rtol=1e-12)
    expected = a.transpose(3, 2, 1, 0)  # discretisedfield indexes [i, j, k, component]
    if fmt == "binary4":
        np.testing.assert_array_equal(field.array, expected.astype(np.float32))
    else:
        np.testing.assert_array_equal(field.array, expected)


def test_discretisedfield_reads_our_scalar_file(tmp_path):
    df = pytest.importorskip("discretisedfield")
    a = random_field((4, 3, 5))
    path = tmp_path / "s.ovf"
    write_ovf(path, a, grid=grid(), fmt="binary8", title="E")
    field = df.Field.from_file(str(path))
    assert field.nvdim == 1
    np.testing.assert_array_equal(field.array[..., 0], a.transpose(2, 1, 0))


@pytest.mark.parametrize("rep", ["bin4", "bin8", "txt"])
def test_we_read_discretisedfield_files(tmp_path, rep):
    df = pytest.importorskip("discretisedfield")
    mesh = df.Mesh(p1=(0, 0, 0), p2=(10e-9, 9e-9, 8e-9), cell=(2e-9, 3e-9, 4e-9))
    value = random_field((5, 3, 2, 3), seed=3)  # discretisedfield order [i, j, k, c]
    field = df.Field(mesh, nvdim=3, value=value)
    path = tmp_path / f"df_{rep}.ovf"
    field.to_file(str(path), representation=rep)
    f = read_ovf(path)
    assert f.n == (5, 3, 2)
    np.testing.assert_allclose(f.cell, (2e-9, 3e-9, 4e-9), rtol=1e-12)
    np.testing.assert_allclose(f.origin, (5e-9, 4.5e-9, 4e-9), rtol=1e-12)
    expected = value.transpose(3, 2, 1, 0)
    if rep == "bin4":
        np.testing.assert_array_equal(f.array, expected.astype(np.float32))
    else:
        np.testing.assert_array_equal(f.array, expected)
    np.testing.assert_array_equal(load_ovf(path, grid=mm.Grid(n=(5, 3, 2), cell=(2e-9, 3e-9, 4e-9))), f.array)


@pytest.mark.parametrize("name", ["mumax3_m_binary4.ovf", "oommf_text.ovf"])
def test_discretisedfield_agrees_on_fixtures(name):
    df = pytest.importorskip("discretisedfield")
    path = os.path.join(DATA, name)
    field = df.Field.from_file(path)
    np.testing.assert_array_equal(field.array, read_ovf(path).array.transpose(3, 2, 1, 0))


# ------------------------------------------------------------------------------------------- bad input
def _write(tmp_path, name, fmt="binary8"):
    path = tmp_path / name
    write_ovf(path, random_field(), grid=grid(), fmt=fmt)
    return path


def _data_start(raw, rep):
    tag = f"# Begin: Data {rep}\n".encode()
    return raw.index(tag) + len(tag)


def _raises(path, what, func=read_ovf, *args):
    with pytest.raises(OvfError, match=re.escape(str(path)) + ".*" + what) as info:
        func(path, *args)
    assert info.value.path == str(path)
    return info.value


def test_missing_empty_and_unknown_files(tmp_path):
    _raises(tmp_path / "nope.ovf", "no such file")
    _raises(tmp_path / "nope.ovf", "no such file", load_ovf)
    empty = tmp_path / "empty.ovf"
    empty.write_bytes(b"")
    _raises(empty, "empty")
    junk = tmp_path / "junk.ovf"
    junk.write_text("solid mesh\nfacet normal 0 0 1\n")
    _raises(junk, "not an OVF file")
    _raises(tmp_path, "folder")


@pytest.mark.parametrize("fmt,rep", [("binary4", "Binary 4"), ("binary8", "Binary 8")])
def test_truncated_binary(tmp_path, fmt, rep):
    path = _write(tmp_path, "t.ovf", fmt)
    raw = path.read_bytes()
    start = _data_start(raw, rep)
    path.write_bytes(raw[:start + 100])
    _raises(path, "truncated data")
    path.write_bytes(raw[:start + 2])
    _raises(path, "truncated data")
    path.write_bytes(raw[:start - 10])
    _raises(path, "ends inside the header")
    # the data complete but the end marker cut off
    path.write_bytes(raw[:raw.rindex(b"# End: Data")])
    _raises(path, "truncated")


def test_truncated_text(tmp_path):
    path = _write(tmp_path, "t.ovf", "text")
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    _raises(path, "truncated")
    lines = raw.split(b"\n")
    i = lines.index(b"# End: Data Text")
    path.write_bytes(b"\n".join(lines[:i - 1] + lines[i:]))  # one record missing
    _raises(path, "truncated data.*180")
    path.write_bytes(raw.replace(b"# End: Data Text", b"1 2 3\n# End: Data Text"))
    _raises(path, "more data than")
    lines[lines.index(b"# Begin: Data Text") + 1] = b"0.1 0.2 0.3x"
    path.write_bytes(b"\n".join(lines))
    _raises(path, "bad number '0.3x'")


@pytest.mark.parametrize("fmt,rep", [("binary4", "Binary 4"), ("binary8", "Binary 8")])
def test_corrupt_check_value(tmp_path, fmt, rep):
    path = _write(tmp_path, "c.ovf", fmt)
    raw = bytearray(path.read_bytes())
    start = _data_start(bytes(raw), rep)
    raw[start] ^= 0x55
    path.write_bytes(bytes(raw))
    _raises(path, "wrong binary check value")
    _raises(path, "wrong binary check value", load_ovf)
    # big-endian data in an OVF 2.0 file: the message says so
    raw = bytearray(path.read_bytes())
    size = 4 if fmt == "binary4" else 8
    raw[start:start + size] = np.array([ovf.CHECK4 if size == 4 else ovf.CHECK8], f">f{size}").tobytes()
    path.write_bytes(bytes(raw))
    _raises(path, "check value.*byte order")


@pytest.mark.parametrize("fmt,rep", [("binary4", "Binary 4"), ("binary8", "Binary 8"), ("text", "Text")])
def test_nan_and_inf_in_data(tmp_path, fmt, rep):
    path = _write(tmp_path, "n.ovf", fmt)
    raw = path.read_bytes()
    if fmt == "text":
        lines = raw.split(b"\n")
        i = lines.index(b"# Begin: Data Text") + 1 + 7  # cell 7 = (i=2, j=1, k=0)
        lines[i] = b"0.5 nan 0.5"
        path.write_bytes(b"\n".join(lines))
    else:
        size = 4 if fmt == "binary4" else 8
        start = _data_start(raw, rep) + size * (1 + 3 * 7 + 1)
        bad = np.array([np.inf], f"<f{size}").tobytes()
        path.write_bytes(raw[:start] + bad + raw[start + size:])
    e = _raises(path, "NaN or infinite")
    assert "i=2, j=1, k=0" in str(e)


def test_wrong_valuedim_and_grid(tmp_path):
    path = _write(tmp_path, "g.ovf")
    g = grid()
    _raises(path, "wrong size for the grid", load_ovf, mm.Grid(n=(5, 3, 3), cell=g.cell))
    _raises(path, "wrong cell size", load_ovf, mm.Grid(n=g.n, cell=(2e-9, 3e-9, 4.1e-9)))
    load_ovf(path, mm.Grid(n=g.n, cell=(2e-9 * (1 + 1e-9), 3e-9, 4e-9)))  # within 1e-6 relative
    # the header claims a different valuedim than the data hold
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"# valuedim: 3", b"# valuedim: 2"))
    _raises(path, "longer than the header")
    path.write_bytes(raw.replace(b"# valuedim: 3", b"# valuedim: 4"))
    _raises(path, "truncated data")
    path.write_bytes(raw.replace(b"# xnodes: 5", b"# xnodes: 6"))
    _raises(path, "truncated data")


def test_bad_headers(tmp_path):
    path = _write(tmp_path, "h.ovf")
    raw = path.read_bytes()
    cases = [
        (raw.replace(b"# Begin: Data Binary 8", b"# Begin: Data Binary 2"), "unknown data representation"),
        (raw.replace(b"# meshtype: rectangular", b"# meshtype: irregular"), "irregular"),
        (raw.replace(b"# xnodes: 5\n", b""), "'xnodes' is missing"),
        (raw.replace(b"# ynodes: 3", b"# ynodes: three"), "'ynodes'"),
        (raw.replace(b"# zstepsize: 4e-09", b"# zstepsize: -4e-09"), "'zstepsize'"),
        (raw.replace(b"# zstepsize: 4e-09", b"# zstepsize: nan"), "'zstepsize'"),
        (raw.replace(b"# meshunit: m", b"# meshunit: parsec"), "meshunit"),
        (raw.replace(b"# valuedim: 3\n", b""), "'valuedim' is missing"),
        (raw.replace(b"# valuedim: 3", b"valuedim: 3"), "must start with '#'"),
        (raw.replace(b"# OOMMF OVF 2.0", b"# OOMMF OVF 3.0"), "not an OVF file"),
        (raw.replace(b"# OOMMF OVF 2.0", b"# OOMMF: irregular mesh v1.0"), "irregular"),
    ]
    for content, what in cases:
        path.write_bytes(content)
        _raises(path, what)
