"""Planar lung shunt fraction by the geometric mean of anterior and posterior views, by hand."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.planning.lung import planar_lung_shunt_fraction
from dosimetry.units import Q_


def test_geometric_mean_hand_computed():
    # lungs: sqrt(40 000 * 90 000) = 60 000; liver: sqrt(1 000 000 * 640 000) = 800 000
    # LSF = 60 000 / 860 000 = 0.069767...
    lsf = planar_lung_shunt_fraction("40000 cts", "90000 cts", "1000000 cts", "640000 cts")
    assert lsf.to("dimensionless").magnitude == pytest.approx(60000 / 860000, rel=1e-12)
    assert lsf.to("percent").magnitude == pytest.approx(6.9767, abs=1e-4)


def test_geometric_not_arithmetic_mean():
    # arithmetic means would give 65 000 / (65 000 + 820 000) = 7.345 %; the IFU method gives 6.977 %
    lsf = planar_lung_shunt_fraction(Q_(40000, "cts"), Q_(90000, "cts"), Q_(1e6, "cts"), Q_(640000, "cts"))
    assert lsf.magnitude != pytest.approx(65000 / 885000, rel=1e-3)


def test_count_rates_and_arrays():
    lsf = planar_lung_shunt_fraction(Q_([100, 0], "cts/s"), Q_([400, 0], "cts/s"), Q_([800, 10], "cts/s"), Q_([800, 10], "cts/s"))
    # sqrt(100 * 400) = 200; 200 / (200 + 800) = 0.2; no lung counts -> 0
    np.testing.assert_allclose(lsf.magnitude, [0.2, 0.0])


@pytest.mark.parametrize(
    "args, field",
    [
        (("1 MBq", "1 cts", "1 cts", "1 cts"), "lung.planar_counts.lung_anterior"),
        ((1000, "1 cts", "1 cts", "1 cts"), "lung.planar_counts.lung_anterior"),
        (("1 cts", "-1 cts", "1 cts", "1 cts"), "lung.planar_counts.lung_posterior"),
        (("1 cts", "1 cts", Q_(1, "cts/s"), "1 cts"), "lung.planar_counts.liver_anterior"),
        (("0 cts", "0 cts", "0 cts", "5 cts"), "lung.planar_counts"),
    ],
)
def test_refusals(args, field):
    with pytest.raises(InputError) as e:
        planar_lung_shunt_fraction(*args)
    assert e.value.field == field


@settings(max_examples=50, deadline=None)
@given(la=st.floats(0, 1e7), lp=st.floats(0, 1e7), ha=st.floats(1, 1e7), hp=st.floats(1, 1e7), k=st.floats(1e-3, 1e3))
def test_properties(la, lp, ha, hp, k):
    """In [0, 1), equal to the formula, invariant when every view is scaled (acquisition time)."""
    lsf = planar_lung_shunt_fraction(Q_(la, "cts"), Q_(lp, "cts"), Q_(ha, "cts"), Q_(hp, "cts")).magnitude
    gl, gv = math.sqrt(la * lp), math.sqrt(ha * hp)
    assert lsf == pytest.approx(gl / (gl + gv), rel=1e-9, abs=1e-15)
    assert 0 <= lsf < 1
    scaled = planar_lung_shunt_fraction(Q_(la * k, "cts"), Q_(lp * k, "cts"), Q_(ha * k, "cts"), Q_(hp * k, "cts")).magnitude
    assert scaled == pytest.approx(lsf, rel=1e-9, abs=1e-15)
