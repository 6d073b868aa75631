"""Vial choice and administration time; resin volume to draw. Time zones must be explicit."""

import datetime as dt
import math

import pytest

from dosimetry.errors import InputError
from dosimetry.schedule import choose_glass_vial, glass_activity_at, glass_calibration_activity, resin_draw

ET = dt.timezone(dt.timedelta(hours=-5))
CAL = dt.datetime(2026, 11, 22, 12, 0, tzinfo=ET)  # Sunday noon Eastern
T_HALF = 64.1


def hours(h):
    return dt.timedelta(hours=h)


def test_decay_of_vial_24h():
    # issue 3: 24 h -> 0.77142 of the start
    assert glass_activity_at("5 GBq", CAL, CAL + hours(24)).to("GBq").magnitude == pytest.approx(5 * 0.77142, rel=1e-5)


def test_calibration_activity_needed():
    # 3 GBq wanted 24 h after calibration: 3 / 0.77142 = 3.88894 GBq
    assert glass_calibration_activity("3 GBq", CAL, CAL + hours(24)).magnitude == pytest.approx(3 / 0.77142, rel=1e-5)
    with pytest.raises(InputError) as e:
        glass_calibration_activity("3 GBq", CAL, CAL + dt.timedelta(days=13))
    assert e.value.field == "treatment.administration"
    with pytest.raises(InputError):
        glass_calibration_activity("3 GBq", CAL, CAL - hours(1))


def test_choose_smallest_vial_in_window():
    # 3.789 GBq: the 3 GBq vial never holds it; 5 GBq does at 64.1 * log2(5 / 3.789) = 25.65 h
    c = choose_glass_vial("3.789 GBq", CAL, earliest=CAL + hours(24))
    t = T_HALF * math.log2(5 / 3.789)
    assert c.vial.magnitude == 5
    assert c.elapsed_since_calibration.magnitude == pytest.approx(t)
    assert (c.administration_time - CAL).total_seconds() / 3600 == pytest.approx(t)
    assert c.activity_at_administration.magnitude == pytest.approx(3.789)
    assert c.sphere_count == pytest.approx(5e9 / 2500)  # the whole 5 GBq vial
    assert [v.magnitude for v, _ in c.alternatives] == [5, 7, 10, 15, 20]
    j = c.to_json()
    assert j["vial"] == {"value": 5.0, "unit": "GBq"} and j["administration_time"].endswith("-05:00")


def test_choose_next_vial_when_window_starts_later():
    # from 30 h on, 5 GBq is already below 3.789; 7 GBq reaches it at 64.1 * log2(7 / 3.789) = 56.76 h
    c = choose_glass_vial("3.789 GBq", CAL, earliest=CAL + hours(30), latest=CAL + hours(72))
    assert c.vial.magnitude == 7
    assert c.elapsed_since_calibration.magnitude == pytest.approx(T_HALF * math.log2(7 / 3.789))


def test_no_vial_fits():
    with pytest.raises(InputError) as e:  # 0.1 GBq from 3 GBq needs 64.1 * log2(30) = 314.5 h > 12 d
        choose_glass_vial("0.1 GBq", CAL)
    assert e.value.field == "treatment.administration"
    with pytest.raises(InputError):  # 25 GBq exceeds every vial at calibration
        choose_glass_vial("25 GBq", CAL)
    with pytest.raises(InputError) as e:
        choose_glass_vial("3 GBq", CAL, earliest=CAL + hours(48), latest=CAL + hours(24))
    assert e.value.field == "treatment.latest"


def test_naive_datetime_refused():
    naive = dt.datetime(2026, 11, 22, 12, 0)
    with pytest.raises(InputError, match="UTC offset"):
        choose_glass_vial("3 GBq", naive)
    with pytest.raises(InputError, match="UTC offset"):
        resin_draw("1 GBq", CAL, naive)


def test_resin_draw_24h():
    # 3 GBq in 5 mL, 24 h later: 0.6 * 0.77142 = 0.462852 GBq/mL; 1.2 GBq -> 2.5926 mL
    r = resin_draw("1.2 GBq", CAL, CAL + hours(24))
    assert r.concentration.to("GBq/mL").magnitude == pytest.approx(0.6 * 0.77142, rel=1e-5)
    assert r.volume.to("mL").magnitude == pytest.approx(1.2 / (0.6 * 0.77142), rel=1e-5)
    assert r.warnings == ()
    from dosimetry.units import from_json

    assert from_json(r.to_json()["volume"]).to("mL").magnitude == pytest.approx(r.volume.magnitude)


def test_resin_draw_across_time_zones():
    # calibration 18:00 Sydney (+10:00) = 08:00 UTC = 03:00 at -05:00: zero elapsed time
    cal = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=10)))
    adm = dt.datetime(2026, 11, 25, 3, 0, tzinfo=ET)
    r = resin_draw("1.2 GBq", cal, adm, vial_activity="3.2 GBq", vial_volume="5 mL")
    assert r.elapsed_since_calibration.magnitude == pytest.approx(0.0)
    assert r.volume.magnitude == pytest.approx(1.2 / (3.2 / 5))


def test_resin_draw_refusals_and_window_warning():
    with pytest.raises(InputError) as e:
        resin_draw("3 GBq", CAL, CAL + hours(10))
    assert e.value.field == "vial.activity"
    with pytest.raises(InputError) as e:
        resin_draw("1 GBq", CAL, CAL, vial_volume="0 mL")
    assert e.value.field == "vial.volume"
    with pytest.raises(InputError) as e:
        resin_draw("1 Gy", CAL, CAL)
    assert e.value.field == "prescribed_activity"
    r = resin_draw("0.5 GBq", CAL, CAL + hours(48))
    assert any("usable window" in w for w in r.warnings)


def test_vial_time_counts_elapsed_hours_across_dst():
    # 3.0 GBq decays to 1.5 GBq in one half-life, 64.1 h. From Saturday 2026-10-31 12:00 New York
    # time (EDT, UTC-4) that is Monday 2026-11-02 03:06 EST (UTC-5): 64.1 h of elapsed time, which is
    # 65.1 h of wall clock because the clocks went back an hour on Sunday.
    import datetime as _dt
    from zoneinfo import ZoneInfo

    from dosimetry.schedule import choose_glass_vial

    ny = ZoneInfo("America/New_York")
    cal = _dt.datetime(2026, 10, 31, 12, 0, tzinfo=ny)
    c = choose_glass_vial("1.5 GBq", cal, vials=["3 GBq"])
    assert (c.administration_time - cal.astimezone(_dt.timezone.utc)).total_seconds() / 3600 == pytest.approx(64.1)
    assert c.administration_time.utcoffset() == _dt.timedelta(hours=-5)
    assert (c.administration_time.hour, c.administration_time.minute) == (3, 6)


# -- issue 14: ordering advice inside clinic hours ------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dosimetry.schedule import ClinicHours, glass_order  # noqa: E402

SUN_29 = dt.datetime(2026, 11, 29, 12, 0, tzinfo=ET)


def test_issue_14_schedule_2_7_gbq_is_in_hours_not_sunday_night():
    # Issue 14: 2.7 GBq, calibration Sun 11-29 12:00 proposed Sunday 21:44 (3 GBq vial). Within
    # +-10 % (2.43-2.97 GBq) and weekdays 07:00-18:00:
    #   3 GBq: 64.1 log2(3 / 2.97) = 0.93 h to 64.1 log2(3 / 2.43) = 19.49 h -> Mon 07:00-07:29, best -9.5 %
    #   5 GBq: 64.1 log2(5 / 2.97) = 48.17 h (Tue 12:10) to 66.66 h (Wed 06:39) -> Tue 12:10-18:00,
    #          best at 18:00 (54 h): 5 * 2^(-54 / 64.1) = 2.7895 GBq, +3.3 %: within half the tolerance, chosen.
    o = glass_order("2.7 GBq", SUN_29)
    c = o.choice
    assert c.vial.magnitude == 5 and not c.custom
    assert (c.window_start - SUN_29).total_seconds() / 3600 == pytest.approx(T_HALF * math.log2(5 / 2.97), abs=0.01)
    assert c.window_end == dt.datetime(2026, 12, 1, 18, 0, tzinfo=ET)
    assert c.delivered.magnitude == pytest.approx(5 * 2 ** (-54 / T_HALF), rel=1e-6)
    for opt in o.options:
        assert opt.window_start.weekday() < 5 and dt.time(7) <= opt.window_start.time() and opt.window_end.time() <= dt.time(18)
        assert 2.43 - 1e-9 <= opt.delivered.magnitude <= 2.97 + 1e-9
    three = [x for x in o.options if x.vial.magnitude == 3]
    assert three[0].window_start == dt.datetime(2026, 11, 30, 7, 0, tzinfo=ET)
    assert (three[0].window_end - SUN_29).total_seconds() / 3600 == pytest.approx(T_HALF * math.log2(3 / 2.43), abs=0.01)


def test_issue_14_schedule_sunday_night_planned_needs_decision():
    o = glass_order("2.7 GBq", SUN_29, planned=dt.datetime(2026, 11, 29, 21, 44, tzinfo=ET))
    assert o.choice is None and "outside clinic hours" in o.decision and o.options


def test_cap_keeps_every_option_below_largest_safe_activity():
    # cap 2.8 GBq: the 5 GBq window starts when 5 * 2^(-t / 64.1) = 2.8 -> t = 64.1 log2(5 / 2.8) = 53.62 h
    o = glass_order("2.7 GBq", SUN_29, cap="2.8 GBq")
    five = [x for x in o.options if x.vial.magnitude == 5][0]
    assert (five.window_start - SUN_29).total_seconds() / 3600 == pytest.approx(T_HALF * math.log2(5 / 2.8), abs=0.01)
    # a cap below the tolerance band: nothing to order
    o = glass_order("2.7 GBq", SUN_29, cap="2.4 GBq")
    assert o.choice is None and "largest safe activity" in o.decision and o.options == ()


def test_clinic_hours_and_tolerance_refusals():
    with pytest.raises(InputError) as e:
        ClinicHours(days=("mon", "xyz"))
    assert e.value.field == "clinic.days"
    with pytest.raises(InputError) as e:
        ClinicHours(opens=dt.time(18), closes=dt.time(7))
    assert e.value.field == "clinic.hours"
    with pytest.raises(InputError) as e:
        glass_order("2.7 GBq", SUN_29, tolerance=0.7)
    assert e.value.field == "clinic.delivery_tolerance"


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(0.5, 18.0),
    tol=st.floats(0.02, 0.3),
    hours_after=st.floats(0.0, 240.0),
    planned=st.booleans(),
)
def test_advice_is_always_in_hours_within_tolerance_and_cap(a, tol, hours_after, planned):
    # Property: whatever is advised is inside clinic hours, the product window, the tolerance and the cap,
    # and its delivered activity follows the decay law V 2^(-t / T1/2) from its calibration.
    cap = a * 1.05
    when = SUN_29 + hours(hours_after) if planned else None
    o = glass_order(f"{a} GBq", SUN_29, planned=when, tolerance=tol, cap=f"{cap} GBq", custom=True)
    for opt in ([o.choice] if o.choice else []) + list(o.options):
        t = (opt.administration_time - SUN_29).total_seconds() / 3600
        assert 0 <= t <= 12 * 24
        assert ClinicHours().contains(opt.administration_time, ET)
        d = opt.vial.magnitude * 2 ** (-t / T_HALF)
        assert opt.delivered.magnitude == pytest.approx(d, rel=1e-6)
        assert a * (1 - tol) * (1 - 1e-9) <= d <= min(a * (1 + tol), cap) * (1 + 1e-9)
    if o.choice is None:
        assert o.decision
    elif when is not None:
        assert o.choice.administration_time == when


def test_calibration_by_convention_noon_eastern_when_none_is_given():
    # No calibration time: the TheraSphere convention (12:00 US Eastern of the calibration day).
    # Planned Wed 2026-11-25 10:00 -05:00, 3.78866 GBq: 5 GBq calibrated Tue 12:00 EST (22 h before)
    # holds 5 * 2^(-22 / 64.1) = 3.9412 GBq (+4.0 %), the closest within +-10 %.
    planned = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ET)
    o = glass_order("3.78866 GBq", None, planned=planned)
    assert o.choice.vial.magnitude == 5 and o.choice.calibration_time.isoformat() == "2026-11-24T12:00:00-05:00"
    assert o.choice.delivered.magnitude == pytest.approx(5 * 2 ** (-22 / T_HALF), rel=1e-6)
    # in July the convention's noon is EDT (-04:00): 2026-07-14 12:00-04:00 is 22 h before 2026-07-15 10:00-04:00
    summer = glass_order("3.78866 GBq", None, planned=dt.datetime(2026, 7, 15, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4))))
    assert summer.choice.calibration_time.isoformat() == "2026-07-14T12:00:00-04:00"
    with pytest.raises(InputError) as e:
        glass_order("3 GBq", None)
    assert e.value.field == "treatment.calibration"


def test_administration_before_calibration_names_the_usable_window():
    # adversarial case: planned 11:00, calibration 12:00 the same day; the decision used to say
    # "no standard vial delivers 3 GBq +-10 %: 3 GBq -> 3.033 GBq (+1.1 %)", which contradicts itself
    tz = dt.timezone(dt.timedelta(hours=-5))
    o = glass_order("3 GBq", dt.datetime(2026, 3, 6, 12, 0, tzinfo=tz), planned=dt.datetime(2026, 3, 6, 11, 0, tzinfo=tz))
    assert o.choice is None and "usable window" in o.decision and "-1.0 h after" in o.decision


def test_issue21_small_plan_orders_the_smallest_vial_not_an_old_large_one():
    """Issue 21: a 1.29 GBq plan for Wed 10:00 ordered a 10 GBq vial calibrated 8 days earlier
    (10 x 2^(-190/64.1) = 1.28 GBq, about 4 million spheres) where a physicist orders a 3 GBq vial:
    calibrated Sun 12:00 (70 h), 3 x 2^(-70/64.1) = 1.407 GBq, +9.1 %, inside the +-10 % tolerance."""
    import datetime as _dt

    from dosimetry.schedule import glass_order

    tz = _dt.timezone(_dt.timedelta(hours=-5))
    o = glass_order("1.29 GBq", None, planned=_dt.datetime(2026, 11, 25, 10, 0, tzinfo=tz))
    c = o.choice
    assert c.vial.to("GBq").magnitude == 3.0
    assert c.age.to("h").magnitude == pytest.approx(70.0)
    assert c.delivered.to("GBq").magnitude == pytest.approx(3 * 2 ** (-70 / 64.1), rel=1e-6)
    assert c.deviation == pytest.approx(3 * 2 ** (-70 / 64.1) / 1.29 - 1, rel=1e-6)
    assert "vial age 70 h (2.9 d)" in c.describe() and "million spheres" in c.describe()
    doc = c.to_json()
    assert doc["vial_age"] == {"value": pytest.approx(70.0), "unit": "h"} and doc["sphere_count"] == c.sphere_count > 0
