"""Units: parsing at the edges, dimension checks, JSON round trip, counts kept apart from Bq."""

import json

import numpy as np
import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dosimetry.errors import InputError, QuantityFormatError
from dosimetry.units import Q_, fraction, from_json, parse_quantity_text, quantity, to_json, ureg


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


# -- issue #10: one strict quantity grammar ---------------------------------------------------
# Each of these was read as a *different number* by the old parser (pint evaluated the text):
# "0,05" -> 0, "1 456 mL" -> 456 mL, "5 %%" -> 0.0005, "GBq" -> 1 GBq, "2%5 Gy" -> 0.1 Gy.
@pytest.mark.parametrize("text", ["\u0663 mL", "1456\u00a0mL", "\uff11 mL", "1456 mL\n", "1 456 mL", "1'456 mL", "1,456 mL", "1_456 mL", "mL", "1456", "1456 mL mL/mL kg", "1e400 mL", "nan mL", "inf mL", "1456 mL + 3 mL", "(1456) mL", "1456 * mL", "0x10 mL", "1456 ml;"])
def test_volume_text_outside_the_grammar_is_refused(text):
    with pytest.raises(InputError, match=r"^target\.volume: "):
        quantity(text, "mL", "target.volume")


@pytest.mark.parametrize("text", ["GBq", "2%5 Gy", "10**400 Gy", "10**10**10 Gy", "2 * 3 Gy", "2^3 Gy", "1e5000 Gy", "--3 Gy", "3 Gy Gy/Gy + 1", "3 Gy 2"])
def test_dose_text_with_arithmetic_or_no_number_is_refused(text):
    with pytest.raises(InputError, match=r"^target\.dose: "):
        quantity(text, "Gy" if "GBq" not in text else "GBq", "target.dose")


@pytest.mark.parametrize("text", ["0,05", "5 %%", "5 % %", "%5", "5 percent", "0.05 Gy", "1/20", "5e-2%%", "0.0.5", ""])
def test_fraction_text_outside_the_grammar_is_refused(text):
    with pytest.raises(InputError, match=r"^lung\.shunt_fraction: "):
        fraction(text, "lung.shunt_fraction")


@pytest.mark.parametrize(
    "text, expected",
    [("0.05", 0.05), (".05", 0.05), ("5e-2", 0.05), ("5 %", 0.05), ("5.5%", 0.055), ("+5 %", 0.05), ("0", 0.0), ("99 %", 0.99)],
)
def test_fraction_text_in_the_grammar(text, expected):
    assert fraction(text, "f") == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    "text, unit, expected",
    [("1456 mL", "mL", 1456.0), ("-24 h", "h", -24.0), ("+24 h", "h", 24.0), ("1.5e3 MBq", "GBq", 1.5), (".5 Gy", "Gy", 0.5),
     ("2.5E-1 kg", "g", 250.0), ("1.2 m^2", "m**2", 1.2), ("1.2 m**2", "m**2", 1.2), ("12.5 Bq/mL/cts", "Bq/mL/cts", 12.5), ("50 Gy*kg/GBq", "Gy*kg/GBq", 50.0),
     ("3GBq", "GBq", 3.0), ("  3  GBq  ", "GBq", 3.0), ("27 mCi", "GBq", 0.999)],
)
def test_quantity_text_in_the_grammar_is_read_exactly(text, unit, expected):
    assert quantity(text, unit, "x").magnitude == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "obj",
    [{"value": "5", "unit": "Gy"}, {"value": True, "unit": "Gy"}, {"value": [1.0, 2.0], "unit": "Gy"}, {"value": {"a": 1}, "unit": "Gy"},
     {"value": 5, "unit": 5}, {"value": 5, "unit": True}, {"value": 5, "unit": "Gy + 3"}, {"value": float("inf"), "unit": "Gy"},
     {"value": 5, "unit": "Gy", "extra": 1}, {"value": 5, "unit": "10**400 Gy"}],
)
def test_value_unit_table_goes_through_the_same_check(obj):
    with pytest.raises(InputError, match=r"^target\.dose: "):
        quantity(obj, "Gy", "target.dose", scalar=True)


def test_arrays_refused_where_one_value_is_meant():
    with pytest.raises(InputError, match=r"^lung\.shunt_fraction: .*one value"):
        fraction([0.05, 0.1], "lung.shunt_fraction", scalar=True)
    with pytest.raises(InputError, match=r"^target\.dose: "):
        quantity(np.array([1.0, 2.0]), "dimensionless", "target.dose", scalar=True)
    # the vectorised library API keeps its arrays
    assert fraction([0.05, 0.1], "f").tolist() == [0.05, 0.1]


def test_error_subclasses_carry_the_allowed_form():
    from dosimetry.errors import InputTypeError, OutOfRangeError, QuantityFormatError

    with pytest.raises(QuantityFormatError) as exc:
        quantity("1 456 mL", "mL", "v")
    assert "decimal number" in exc.value.allowed and isinstance(exc.value, ValueError)
    with pytest.raises(OutOfRangeError) as exc:
        fraction("120 %", "f")
    assert exc.value.allowed == "[0, 1)"
    with pytest.raises(InputTypeError) as exc:
        fraction([0.1], "f", scalar=True)
    assert isinstance(exc.value, TypeError) and isinstance(exc.value, InputError)


# Property: any text is either refused with InputError or read exactly as the decimal it spells.
_units = st.sampled_from(["GBq", "MBq", "mCi", "Gy", "mL", "kg", "h", "%", ""])
_decimal = st.from_regex(r"[+-]?([0-9]{1,6}(\.[0-9]{0,6})?|\.[0-9]{1,6})([eE][+-]?[0-9]{1,2})?", fullmatch=True)


@given(_decimal, st.sampled_from(["GBq", "MBq", "mCi", "Gy", "mL", "kg", "h"]), st.sampled_from(["", " ", "  "]))
def test_property_valid_quantity_text_is_read_exactly(number, unit, sep):
    q = quantity(f"{number}{sep}{unit}", unit, "x", convert=False)
    assert q.magnitude == float(number)  # exactly Python's reading of the decimal, not pint's arithmetic
    assert q.units == ureg.Unit(unit)


@given(st.text(alphabet="0123456789.,'_ eE+-*/^%()GBqmLkgyh", max_size=20), st.sampled_from(["GBq", "Gy", "mL"]))
def test_property_any_text_is_refused_or_read_exactly(text, unit):
    import re

    try:
        q = quantity(text, unit, "x", convert=False)
    except InputError:
        return
    m = re.fullmatch(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*", text)
    assert m is not None, text
    assert q.magnitude == float(m.group(1))
    assert q.units == ureg.Unit(m.group(2))


@given(st.text(alphabet="0123456789.,'_ eE+-*/^%", max_size=16))
def test_property_any_fraction_text_is_refused_or_read_exactly(text):
    import re

    try:
        f = fraction(text, "x")
    except InputError:
        return
    m = re.fullmatch(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)\s*", text)
    assert m is not None, text
    assert f == float(m.group(1)) / (100.0 if m.group(2) else 1.0)
    assert 0 <= f < 1


@pytest.mark.parametrize(
    "text, unit",
    [
        ("3 GBq*pi", "GBq"),  # pint would read 9.42 GBq
        ("3 GBq*turn", "GBq"),  # 18.85 GBq
        ("3 GBq*percent", "GBq"),  # 0.03 GBq
        ("3 GBq*cm/inch", "GBq"),  # 1.18 GBq
        ("0.5 kg*turn", "kg"),  # a lung mass of 3.14 kg would pass every lung limit
        ("463.5 mL*pi", "mL"),
        ("2 GBq*degree", "GBq"),
        ("2 GBq*ppm", "GBq"),
        ("5 MBq*s", "dimensionless"),  # dimensions that cancel
    ],
)
def test_units_hiding_a_pure_number_are_refused(text, unit):
    # issue #10's "no arithmetic": a dimensionless factor inside the unit multiplies the value
    with pytest.raises(QuantityFormatError, match="pure number"):
        quantity(text, unit, "x")
    with pytest.raises(QuantityFormatError, match="pure number"):
        quantity({"value": 3, "unit": text.split(" ", 1)[1]}, unit, "x")


@pytest.mark.parametrize("text", ["49.67 Gy*kg/GBq", "2.5 Bq/mL/cts", "1.5 mg/dL", "25 umol/L", "1.8 m^2", "1.03 g/mL", "0.2 GBq/mL"])
def test_the_project_units_have_no_pure_number(text):
    assert parse_quantity_text(text, "x").magnitude == float(text.split()[0])
