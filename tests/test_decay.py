"""Decay: hand-computed values and properties (monotone, composes, linear)."""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dosimetry.decay import (
    activity_at,
    cumulated_activity,
    decay_factor,
    elapsed_between,
    fraction_delivered,
    time_to_activity,
)
from dosimetry.errors import InputError
from dosimetry.units import Q_

hours = st.floats(min_value=0, max_value=2000, allow_nan=False)


def test_decay_to_24h():
    # exp(-ln2 * 24 / 64.1) = exp(-0.259521) = 0.77142
    assert decay_factor("24 h") == pytest.approx(0.77142, abs=5e-6)


def test_eleven_days_deliver_94_24_percent():
    # 1 - exp(-ln2 * 264 / 64.1) = 1 - 0.057569 = 0.942431
    assert fraction_delivered("11 d") == pytest.approx(0.9424, abs=5e-5)


def test_activity_at_units_and_backwards():
    a = activity_at("5 GBq", "64.1 h")
    assert a.to("GBq").magnitude == pytest.approx(2.5)
    assert activity_at("5 GBq", "-64.1 h").to("GBq").magnitude == pytest.approx(10.0)
    assert activity_at("81 mCi", "0 h").units == Q_(1, "mCi").units


def test_half_life_override():
    assert decay_factor("64.2 h", half_life="64.2 h") == pytest.approx(0.5)


def test_time_to_activity():
    # 20 GBq -> 5 GBq is two half-lives.
    assert time_to_activity("20 GBq", "5 GBq").to("h").magnitude == pytest.approx(128.2)
    assert time_to_activity("5 GBq", "20 GBq").to("h").magnitude == pytest.approx(-128.2)


def test_cumulated_activity():
    # complete decay: A0 * T/ln2 = 1 GBq * 92.4768 h
    assert cumulated_activity("1 GBq").to("GBq*h").magnitude == pytest.approx(64.1 / math.log(2))
    # one half-life: half the complete-decay total
    assert cumulated_activity("1 GBq", "64.1 h").to("GBq*h").magnitude == pytest.approx(0.5 * 64.1 / math.log(2))


def test_vectorized():
    t = Q_(np.array([0.0, 64.1, 128.2]), "h")
    np.testing.assert_allclose(decay_factor(t), [1.0, 0.5, 0.25])
    a = activity_at(Q_(np.array([2.0, 4.0, 8.0]), "GBq"), t)
    np.testing.assert_allclose(a.to("GBq").magnitude, [2.0, 2.0, 2.0])


@given(hours, hours)
def test_decay_composes(a, b):
    assume(abs(a + b) <= 2400)  # the plausible elapsed range (dosimetry.ranges.COMMAND_RANGES)
    assert decay_factor(Q_(a + b, "h")) == pytest.approx(decay_factor(Q_(a, "h")) * decay_factor(Q_(b, "h")), rel=1e-9, abs=1e-300)


@given(hours, st.floats(min_value=1e-3, max_value=100, allow_nan=False))
def test_decay_monotone(a, dt_h):
    assert decay_factor(Q_(a + dt_h, "h")) < decay_factor(Q_(a, "h")) or decay_factor(Q_(a, "h")) == 0.0


@given(hours)
def test_delivered_plus_remaining_is_one(t):
    assert fraction_delivered(Q_(t, "h")) + decay_factor(Q_(t, "h")) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: decay_factor("5 GBq"), "elapsed"),
        (lambda: decay_factor(24), "elapsed"),
        (lambda: activity_at("-1 GBq", "1 h"), "activity"),
        (lambda: activity_at("1 Gy", "1 h"), "activity"),
        (lambda: time_to_activity("0 GBq", "1 GBq"), "activity"),
        (lambda: fraction_delivered("-1 h"), "elapsed"),
        (lambda: decay_factor("1 h", half_life="0 h"), "half_life"),
        (lambda: decay_factor("1 h", half_life="6 h"), "half_life"),
    ],
)
def test_refusals(call, field):
    with pytest.raises(InputError, match=f"^{field}: "):
        call()


def test_elapsed_between_requires_timezone():
    tz = dt.timezone(dt.timedelta(hours=-5))
    t0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=tz)
    t1 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc)  # 05:00 EST
    assert elapsed_between(t0, t1).to("h").magnitude == pytest.approx(65.0)
    with pytest.raises(InputError, match="no UTC offset"):
        elapsed_between(t0, dt.datetime(2026, 11, 25, 10, 0))


def test_elapsed_across_daylight_saving_change():
    # US clocks go back on 2026-11-01 at 02:00: noon Oct 31 to noon Nov 2 is 49 h, not 48 h.
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    t0 = dt.datetime(2026, 10, 31, 12, 0, tzinfo=ny)
    t1 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=ny)
    assert elapsed_between(t0, t1).to("h").magnitude == pytest.approx(49.0)
