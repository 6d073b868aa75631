"""The remembered parses and conversions of dosimetry.units (issue 22) give what pint gives.

Each shortcut is compared with pint's own path on the same input, so that a pint upgrade that
changes what a Quantity holds, or a cache keyed on too little, fails here.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dosimetry.errors import OutOfRangeError, QuantityFormatError
from dosimetry.units import Q_, new_quantity, parse_quantity_text, quantity, to_unit, ureg

UNIT_PAIRS = [("mCi", "GBq"), ("mL", "L"), ("g", "kg"), ("Gy", "Gy"), ("cGy", "Gy"), ("Gy*kg/GBq", "J/GBq"), ("mg/dL", "g/L"), ("degC", "K"), ("%", "dimensionless")]


@pytest.mark.parametrize("src, dst", UNIT_PAIRS)
@given(x=st.floats(-1e12, 1e12, allow_nan=False))
def test_to_unit_is_pints_conversion_bit_for_bit(src, dst, x):
    q = Q_(x, src)
    ours, pints = to_unit(q, dst), q.to(dst)
    assert ours.units == pints.units
    assert ours.magnitude == pints.magnitude or (math.isnan(ours.magnitude) and math.isnan(pints.magnitude))
    assert ours is not q  # a new Quantity, as pint's .to gives


def test_to_unit_offset_units_go_through_pint():
    # 20 degC is 293.15 K, not 20 times a factor
    assert to_unit(Q_(20.0, "degC"), "K").magnitude == pytest.approx(293.15)
    assert to_unit(Q_(0.0, "degC"), "K").magnitude == pytest.approx(273.15)


def test_to_unit_arrays_and_wrong_dimension():
    a = Q_(np.array([1.0, 2.0]), "mCi")
    assert np.array_equal(to_unit(a, "GBq").magnitude, a.to("GBq").magnitude)
    with pytest.raises(Exception):
        to_unit(Q_(1.0, "Gy"), "GBq")


def test_new_quantity_holds_what_pint_holds():
    for mag, unit in ((1.5, "GBq"), (0.0, "Gy*kg/GBq"), (-2.0, "dimensionless"), (np.float64(3.0), "mL"), (np.arange(3.0), "kg"), (4, "Gy")):
        ours, pints = new_quantity(mag, unit), Q_(mag, unit)
        assert type(ours) is type(pints)
        assert ours.units == pints.units and type(ours.magnitude) is type(pints.magnitude)
        assert np.array_equal(ours.magnitude, pints.magnitude)
        assert ours.__dict__.keys() == pints.__dict__.keys()
        assert (ours * 2).to("mL" if unit == "mL" else unit).magnitude is not None


def test_parse_cache_names_each_callers_field():
    # the same bad text refused twice names the field of each call, not the first one remembered
    for field in ("target.volume", "liver.volume"):
        with pytest.raises(QuantityFormatError) as err:
            parse_quantity_text("1,5 L", field)
        assert err.value.field == field
    # and the same good text gives equal, separate quantities
    a, b = parse_quantity_text("81 mCi", "x"), parse_quantity_text("81 mCi", "y")
    assert a == b and a is not b
    a._magnitude = 1.0  # a caller changing its quantity does not change the next parse
    assert parse_quantity_text("81 mCi", "z").magnitude == 81.0


def test_quantity_range_and_finiteness_on_the_fast_path():
    assert quantity("2997.0 MBq", "GBq", "a").magnitude == Q_(2997.0, "MBq").to("GBq").magnitude
    with pytest.raises(OutOfRangeError):
        quantity("31 GBq", "GBq", "a", maximum=30)
    with pytest.raises(OutOfRangeError):
        quantity("30 GBq", "GBq", "a", maximum=30, include_maximum=False)
    assert quantity("30 GBq", "GBq", "a", maximum=30).magnitude == 30.0
    with pytest.raises(Exception):
        quantity("1e308 GBq", "MBq", "a")  # 1e311 MBq is not finite
    assert quantity(Q_(25.0, "degC"), "K", "t").magnitude == pytest.approx(298.15)
    assert quantity("5 mL", "mL", "v", convert=True).units == ureg.mL


# -- the remembered dimension of a unit and the one-lookup factor (issue 22, third pass) ---------
DIM_UNITS = ["mL", "L", "cm**3", "kg", "g", "Gy", "Sv", "GBq", "Hz", "Gy*kg/GBq", "J/GBq", "g/mL", "kg/m**3", "dimensionless", "%", "degC", "K", "m**2", "cm"]


@given(a=st.sampled_from(DIM_UNITS), b=st.sampled_from(DIM_UNITS))
def test_remembered_dimensions_are_pints_for_every_pair(a, b):
    # every pair in any order, the caches warmed by the others: an entry is never taken for another pair
    from dosimetry.units import _same_dimension_factor, dimensionality_of, same_dimension

    ua, ub = ureg.Unit(a)._units, ureg.Unit(b)._units
    assert dimensionality_of(ua) == Q_(1.0, a).dimensionality
    same = Q_(1.0, a).dimensionality == Q_(1.0, b).dimensionality
    assert same_dimension(ua, ub) is same
    factor = _same_dimension_factor(ua, ub)
    if not same:
        assert factor is None
    elif "degC" not in (a, b) or a == b:
        assert factor == Q_(1.0, a).to(b).magnitude
        assert to_unit(Q_(3.7, a), b).magnitude == Q_(3.7, a).to(b).magnitude


def test_a_volume_mass_is_pints_product_bit_for_bit():
    # mass_of: (v * density).to("kg") computed as pint computes it, for floats and arrays
    from dosimetry.planning._inputs import mass_of

    for v, rho in [("1456 mL", Q_(1.03, "g/mL")), ("0.35 L", Q_(1.05, "g/mL")), (Q_(np.array([900.0, 1456.3]), "mL"), Q_(1.1, "g/mL")),
                   (Q_(77.7, "cm**3"), Q_(np.array([0.95, 1.2]), "g/mL"))]:
        q = quantity(v, "mL", "target.volume")
        expected = (q * rho).to("kg")
        got = mass_of(v, rho, "target.mass", "target.volume")
        assert got.units == expected.units
        assert np.array_equal(np.asarray(got.magnitude), np.asarray(expected.magnitude))
        assert type(got.magnitude) is type(expected.magnitude)
