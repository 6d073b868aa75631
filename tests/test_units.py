"""Units: parsing at the edges, dimension checks, JSON round trip, counts kept apart from Bq."""

import json

import numpy as np
import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.units import Q_, fraction, from_json, quantity, to_json, ureg


def test_parse_mci_to_gbq():
    # 1 Ci = 3.7e10 Bq exactly, so 81 mCi = 81e-3 * 3.7e10 Bq = 2.997e9 Bq = 2.997 GBq.
    q = quantity("81 mCi", "GBq", "activity")
    assert q.units == ureg.GBq
    assert q.magnitude == pytest.approx(2.997, rel=1e-12)


@pytest.mark.parametrize(
    "text, unit, expected",
    [("1.2 kg", "g", 1200.0), ("1456 mL", "cm**3", 1456.0), ("175 cm", "m", 1.75), ("2.67 d", "h", 64.08)],
)
def test_parse_common_inputs(text, unit, expected):
    assert quantity(text, unit, "x").magnitude == pytest.approx(expected)


def test_wrong_dimension_names_field():
    with pytest.raises(InputError, match=r"^target\.volume: .*wrong dimension.*mL"):
        quantity("3 kg", "mL", "target.volume")


def test_bare_number_refused_for_dimensioned_field():
    with pytest.raises(InputError, match="target.mass: a bare number"):
        quantity(1.5, "kg", "target.mass")


def test_range_check_names_range():
    with pytest.raises(InputError, match=r"target\.mass: .*allowed \(0, inf\] kg"):
        quantity("0 kg", "kg", "target.mass", minimum=0, include_minimum=False)


def test_unparseable_text():
    with pytest.raises(InputError, match="patient.weight: cannot read"):
        quantity("seventy kilos", "kg", "patient.weight")


def test_nonfinite_refused():
    with pytest.raises(InputError, match="must be finite"):
        quantity(Q_(float("nan"), "GBq"), "GBq", "activity")


def test_foreign_registry_refused():
    other = pint.UnitRegistry()
    with pytest.raises(InputError, match="another pint registry"):
        quantity(other.Quantity(1, "GBq"), "GBq", "activity")


def test_counts_are_not_activity():
    # pint alone would accept 1/s as Bq; the package's 'cts' dimension must prevent it.
    with pytest.raises(InputError, match="wrong dimension"):
        quantity(Q_(1000, "cts/s"), "Bq", "activity")
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "cts/s").to("Bq")


@pytest.mark.parametrize("value, expected", [("5 %", 0.05), ("5%", 0.05), (0.05, 0.05), (0, 0.0), ("0 %", 0.0)])
def test_fraction_accepts_numbers_and_percent(value, expected):
    assert fraction(value, "lung.shunt_fraction") == pytest.approx(expected)


@pytest.mark.parametrize("value", [1.2, 1.0, -0.01, "120 %", "abc", Q_(1, "kg"), True, None])
def test_fraction_refusals_name_field(value):
    with pytest.raises(InputError, match="^lung.shunt_fraction: "):
        fraction(value, "lung.shunt_fraction")


def test_fraction_include_one():
    assert fraction(1.0, "f", include_one=True) == 1.0


@given(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False), st.sampled_from(["GBq", "mCi", "Gy", "mL", "Gy*kg/GBq", "Bq/mL", "cts"]))
def test_json_round_trip(value, unit):
    q = Q_(value, unit)
    obj = json.loads(json.dumps(to_json(q)))
    back = from_json(obj)
    assert back.to(unit).magnitude == pytest.approx(value, rel=1e-12)


def test_json_array_and_bad_objects():
    q = Q_(np.array([1.0, 2.0]), "Gy")
    assert to_json(q) == {"value": [1.0, 2.0], "unit": "Gy"}
    with pytest.raises(InputError, match="dose: "):
        from_json({"value": 1}, "dose")
    with pytest.raises(InputError, match="unknown unit"):
        from_json({"value": 1, "unit": "zorkmids"}, "dose")
    assert quantity({"value": 81, "unit": "mCi"}, "GBq", "a").magnitude == pytest.approx(2.997)


def test_json_writes_litre_as_capital_L_and_nonfinite_as_null():
    assert to_json(Q_(1456, "mL"))["unit"] == "mL"
    assert to_json(Q_(3, "Bq/mL"))["unit"] == "Bq/mL"
    assert to_json(Q_(np.array([1.0, np.inf, np.nan]), "Gy"))["value"] == [1.0, None, None]
    assert json.loads(json.dumps(to_json(Q_(np.array([np.nan]), "Gy")), allow_nan=False))["value"] == [None]


@pytest.mark.parametrize("text", ["3 Hz", "3 cps", "3 count/s", "3 rpm", "3 / s"])
def test_frequency_is_not_activity(text):
    # pint gives Hz, cps and 1/s the dimension of Bq; an activity must name becquerel or curie
    with pytest.raises(InputError, match="^activity: .*is not an activity"):
        quantity(text, "GBq", "activity")



def test_frequency_concentration_is_not_activity_concentration():
    with pytest.raises(InputError, match="^concentration: .*is not an activity"):
        quantity("3 Hz/mL", "Bq/mL", "concentration")
    assert quantity("3 kBq/mL", "Bq/mL", "concentration").magnitude == pytest.approx(3000)


@pytest.mark.parametrize("text", ["30 Sv", "30 mSv", "3 rem"])
def test_equivalent_dose_is_not_absorbed_dose(text):
    with pytest.raises(InputError, match="^target.dose: .*equivalent dose"):
        quantity(text, "Gy", "target.dose")


def test_dose_coefficient_in_joule_per_gbq_is_accepted():
    assert quantity("49.77 J/GBq", "Gy*kg/GBq", "K").magnitude == pytest.approx(49.77)
