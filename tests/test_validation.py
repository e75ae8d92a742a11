"""micromag.engine.validation: the one set of number checks that function arguments and term declarations share."""
import numpy as np
import pytest

from micromag.engine.terms.base import MATERIAL, Param
from micromag.engine.validation import (check_int, check_number, check_numbers, check_positive, check_probability,
                                 check_unit_rows, check_vector3, range_text)


def test_number_in_range_with_open_and_closed_bounds():
    assert check_number("P", 1.0, lo=0.0, hi=1.0) == 1.0
    assert check_number("P", np.float32(0.5), lo=0.0, hi=1.0) == 0.5
    with pytest.raises(ValueError, match=r"^P = 1.0 is outside the allowed range \[0, 1\)$"):
        check_number("P", 1.0, lo=0.0, hi=1.0, hi_open=True)
    with pytest.raises(ValueError, match=r"t_F = 0 is outside the allowed range \(0, inf\) m"):
        check_number("t_F", 0, lo=0.0, lo_open=True, unit="m")
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="xi_FL"):
            check_number("xi_FL", bad)
    assert check_number("V_half", None, allow_none=True) is None


@pytest.mark.parametrize("value", [True, np.bool_(False), "1e-9", b"1", None, [1.0], object()])
def test_only_numbers_are_numbers(value):
    with pytest.raises(ValueError, match=r"dt must be a number in s, got"):
        check_number("dt", value, unit="s")


def test_positive_probability_and_arrays():
    assert check_positive("dt", 1e-13, "s") == 1e-13
    assert check_positive("delta", 0, allow_zero=True) == 0.0
    with pytest.raises(ValueError, match=r"dt = 0 is outside the allowed range \(0, inf\) s"):
        check_positive("dt", 0, "s")
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        check_probability("wer", 1.0)
    a = check_numbers("delta", [40.0, 60.0], lo=0.0)
    assert isinstance(a, np.ndarray) and a.tolist() == [40.0, 60.0]
    assert check_numbers("delta", 40) == 40.0
    with pytest.raises(ValueError, match="delta"):
        check_numbers("delta", [40.0, -1.0], lo=0.0)


def test_integers_vectors_and_directions():
    assert check_int("batch", 3.0, lo=1) == 3
    for bad in (True, 2.5, 0, "3"):
        with pytest.raises(ValueError, match=r"batch must be an integer >= 1"):
            check_int("batch", bad, lo=1)
    with pytest.raises(ValueError, match=r"member must be an integer in \[0, 0\]"):
        check_int("member", 1, lo=0, hi=0)
    np.testing.assert_allclose(check_vector3("p", (0, 3, 4), unit_vector=True), [0, 0.6, 0.8])
    with pytest.raises(ValueError, match="non-zero length"):
        check_vector3("p", (0, 0, 0), unit_vector=True)
    with pytest.raises(ValueError, match="3-vector"):
        check_vector3("B_ext", (1, 2))
    rows = check_unit_rows(np.array([[2.0, 0, 0], [0, 0, -5.0]]), 1, "p")
    np.testing.assert_allclose(rows, [[1, 0, 0], [0, 0, -1]])


def test_param_check_uses_the_same_rules_and_words():
    """A term's declared range is checked and reported exactly as a function argument's."""
    ku = Param("Ku1", "J/m³", MATERIAL, lo=0.0)
    assert ku.range_text() == range_text(0.0, None, unit="J/m³") == "[0, inf) J/m³"
    with pytest.raises(ValueError) as a:
        ku.check(-1.0)
    with pytest.raises(ValueError) as b:
        check_number("Ku1", -1.0, lo=0.0, unit="J/m³")
    assert str(a.value) == str(b.value)
    with pytest.raises(ValueError, match="Ku1 must be a number"):
        ku.check(True)
    axis = Param("anis_u", "", MATERIAL, size=3, unit_vector=True)
    assert axis.check((0, 0, 2)) == (0.0, 0.0, 1.0)
