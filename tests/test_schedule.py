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
