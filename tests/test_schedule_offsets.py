"""Issue 26: ``y90 schedule`` compares clinic hours with UTC offsets as times with offsets.

Each example of the issue is one test that failed on the main branch before the change.
"""

import datetime as dt

import pytest

from dosimetry.cli import main
from dosimetry.errors import InputError
from dosimetry.schedule import ClinicHours, glass_order

GLASS = ["schedule", "glass", "--activity", "2.7 GBq", "--calibration", "2026-11-29T12:00-05:00"]
RESIN = ["schedule", "resin", "--activity", "1.5 GBq", "--calibration", "2026-11-25T18:00-05:00", "--administration", "2026-11-25T10:00-05:00"]


def run(capsys, *argv):
    code = main(list(argv))
    c = capsys.readouterr()
    return code, c.out, c.err


def test_glass_windows_lie_in_the_clinics_own_hours(capsys):
    # issue: "clinic hours written with a UTC offset lose the offset": 07:00+01:00 is 01:00-05:00
    code, out, _ = run(capsys, *GLASS, "--clinic-hours", "07:00+01:00-18:00+01:00")
    assert code == 0 and "07:00-18:00 UTC+01:00" in out
    assert "between 2026-11-30 01:00 -05:00" in out  # the first in-hours moment on the clinic's clock


def test_glass_order_by_hand():
    clinic = ClinicHours(opens=dt.time(7, tzinfo=dt.timezone(dt.timedelta(hours=1))), closes=dt.time(18, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    cal = dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    order = glass_order("2.7 GBq", cal, clinic=clinic)
    for opt in order.options:  # every window within 07:00-18:00 at UTC+01:00, whatever the output zone
        for t in (opt.window_start, opt.window_end):
            local = t.astimezone(dt.timezone(dt.timedelta(hours=1)))
            assert dt.time(7) <= local.time() <= dt.time(18) and local.weekday() < 5


def test_resin_administration_on_the_clinics_clock(capsys):
    # 10:00-05:00 is 16:00+01:00: inside 07:00-18:00+01:00, outside 07:00-15:00+01:00
    code, out, err = run(capsys, *RESIN, "--clinic-hours", "07:00+01:00-18:00+01:00")
    assert code == 0 and "NEEDS A DECISION" not in out, err
    code, out, _ = run(capsys, *RESIN, "--clinic-hours", "07:00+01:00-15:00+01:00")
    assert code == 1 and "NEEDS A DECISION" in out and "07:00-15:00 UTC+01:00" in out


@pytest.mark.parametrize("hours", ["07:00-18:00+01:00", "07:00+01:00-18:00"])
def test_mixing_naive_and_offset_clinic_hours_is_one_line(capsys, hours):
    # issue: "clinic hours mixing naive and offset times (TypeError)"
    for argv in (GLASS, RESIN):
        code, _, err = run(capsys, *argv, "--clinic-hours", hours)
        assert code == 2 and err.startswith("y90: error: --clinic-hours: give both") and err.count("\n") == 1


def test_offsets_outside_the_civil_range_are_refused_everywhere(capsys):
    # issue: "an offset of +23:59 is accepted"
    for argv, flag in ((GLASS + ["--clinic-hours", "07:00+23:59-18:00+23:59"], "--clinic-hours"),
                       (["schedule", "glass", "--activity", "2.7 GBq", "--calibration", "2026-11-29T12:00+23:59"], "--calibration"),
                       (["decay", "5 GBq", "--from", "2026-11-22T12:00-13:00", "--to", "2026-11-25T10:00-05:00"], "--from")):
        code, _, err = run(capsys, *argv)
        assert code == 2 and f"{flag}: UTC offset" in err and "-12:00 to +14:00" in err
    with pytest.raises(InputError, match="treatment.calibration: UTC offset \\+23:59"):
        glass_order("2.7 GBq", dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone(dt.timedelta(hours=23, minutes=59))))
