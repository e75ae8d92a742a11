import math

import numpy as np
import pytest

import micromag as mm


@pytest.mark.parametrize("kw,name", [
    (dict(Ms=-1.0), "Ms"), (dict(Ms=float("nan")), "Ms"), (dict(Ms=8e5, A=-1e-11), "A"),
    (dict(Ms=8e5, alpha=-0.1), "alpha"), (dict(Ms=8e5, alpha=float("inf")), "alpha"),
    (dict(Ms=8e5, gamma=0.0), "gamma"), (dict(Ms=8e5, anis_u=(0, 0, 0)), "anis_u"),
    (dict(Ms=8e5, anis_c1=(1, 0, 0), anis_c2=(1, 1, 0)), "orthogonal"),
    (dict(Ms=8e5, Ku1=float("nan")), "Ku1"), (dict(Ms=8e5, D_ind="x"), "D_ind"),
])
def test_bad_material_names_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        mm.Material(**kw)


def test_axes_are_normalized_and_c3_is_right_handed():
    mat = mm.Material(Ms=1e6, anis_u=(0, 0, 2), anis_c1=(0, 2, 0), anis_c2=(0, 0, 3))
    assert mat.anis_u == (0, 0, 1)
    assert np.allclose(mat.anis_c3, (1, 0, 0))


def test_presets_and_exchange_length():
    py = mm.Permalloy()
    assert py.exchange_length == pytest.approx(5.686e-9, rel=1e-3)  # analytic.md
    assert mm.CoFeB_perpendicular(thickness=1.3e-9).Ku1 == pytest.approx(1.3e-3 / 1.3e-9)
    for preset in (mm.Permalloy, mm.CoFeB, mm.Cobalt, mm.Iron, mm.YIG):
        m = preset()
        assert m.Ms > 0 and m.A > 0 and preset.__doc__ and "Source" in preset.__doc__
    assert mm.Permalloy(alpha=0.5).alpha == 0.5
    with pytest.raises(ValueError, match="thickness"):
        mm.CoFeB_perpendicular(thickness=0)


@pytest.mark.parametrize("kw,name", [
    (dict(n=(0, 1, 1), cell=(1e-9,) * 3), "n"), (dict(n=(2, 2), cell=(1e-9,) * 3), "n"),
    (dict(n=(2, 2, 1), cell=(1e-9, -1e-9, 1e-9)), "cell"), (dict(n=(2, 2, 1), cell=(5, 5, 5)), "metres"),
    (dict(n=(2, 2, 1), cell=(1e-9,) * 3, pbc=(-1, 0, 0)), "pbc"),
])
def test_bad_grid(kw, name):
    with pytest.raises(ValueError, match=name):
        mm.Grid(**kw)


def test_grid_coordinates_are_centred():
    g = mm.Grid(n=(4, 2, 1), cell=(1e-9, 2e-9, 3e-9))
    assert np.allclose(g.axis_coords(0), [-1.5e-9, -0.5e-9, 0.5e-9, 1.5e-9])
    assert g.cell_volume == pytest.approx(6e-27) and g.shape == (1, 2, 4)
    assert math.isclose(g.size[1], 4e-9)
