"""The decay functions refuse what ``y90 decay`` refuses (dosimetry.ranges.COMMAND_RANGES)."""

import math
import warnings

import numpy as np
import pytest

from dosimetry.decay import activity_at, cumulated_activity, decay_factor, fraction_delivered, time_to_activity
from dosimetry.errors import OutOfRangeError
from dosimetry.ranges import COMMAND_RANGES
from dosimetry.units import Q_


def test_elapsed_beyond_the_plausible_range_is_refused_not_inf():
    # was inf GBq with an overflow warning: 3 * 2^(1e6 / 64.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(OutOfRangeError, match=r"^elapsed: .*\[-2400, 2400\] h"):
            activity_at("3 GBq", "-1e6 h")
    with pytest.raises(OutOfRangeError, match=r"^elapsed: "):
        decay_factor("2401 h")
    with pytest.raises(OutOfRangeError, match=r"^elapsed: "):
        fraction_delivered("3000 h")
    with pytest.raises(OutOfRangeError, match=r"^elapsed: "):
        cumulated_activity("3 GBq", "1e5 h")
    with pytest.raises(OutOfRangeError, match=r"^elapsed: "):
        decay_factor(Q_([0.0, 1e4], "h"))


def test_elapsed_at_the_ends_of_the_range():
    # 2^(2400 / 64.1) by hand
    assert activity_at("3 GBq", "-2400 h").to("GBq").magnitude == pytest.approx(3 * 2 ** (2400 / 64.1), rel=1e-9)
    assert decay_factor("2400 h") == pytest.approx(math.exp(-math.log(2) * 2400 / 64.1), rel=1e-9)


@pytest.mark.parametrize("half_life", ["6 h", "59.9 h", "70.1 h", "64 d"])
def test_half_life_outside_60_70_h_is_refused(half_life):
    with pytest.raises(OutOfRangeError, match=r"^half_life: .*\[60, 70\] h"):
        decay_factor("1 h", half_life=half_life)
    with pytest.raises(OutOfRangeError, match=r"^half_life: "):
        time_to_activity("3 GBq", "1 GBq", half_life=half_life)
    with pytest.raises(OutOfRangeError, match=r"^half_life: "):
        cumulated_activity("3 GBq", half_life=half_life)


def test_half_life_inside_the_range():
    # 3 GBq * 64.2 h / ln 2 = 277.87 GBq h
    assert cumulated_activity("3 GBq", half_life="64.2 h").to("GBq*h").magnitude == pytest.approx(3 * 64.2 / math.log(2))


def test_time_to_activity_beyond_the_elapsed_range_is_refused():
    with pytest.raises(OutOfRangeError, match=r"^target: .*elapsed range"):
        time_to_activity("1000 GBq", "1e-20 GBq")  # 64.1 * log2(1e23) = 4884 h
    assert time_to_activity("3 GBq", "1.5 GBq").to("h").magnitude == pytest.approx(64.1)


def test_the_library_and_the_command_share_the_ranges():
    r = COMMAND_RANGES["elapsed"]
    assert (r.low, r.high) == (-2400, 2400)
    assert np.all(np.isfinite(decay_factor(Q_(np.linspace(r.low, r.high, 11), "h"))))


def test_another_nuclide_is_named_by_the_nuclide_itself():
    from dosimetry.isotope import Radionuclide

    # Tc-99m (ENSDF 6.0067 h): one half-life halves the activity; as a bare "6.0067 h" it is refused
    tc = Radionuclide("Tc-99m", Q_(6.0067, "h"), Q_(0.0, "MeV") + Q_(1e-6, "MeV"))
    assert decay_factor("6.0067 h", tc) == pytest.approx(0.5)
    assert cumulated_activity("1 GBq", "6.0067 h", tc).to("GBq*h").magnitude == pytest.approx(0.5 * 6.0067 / math.log(2))
    with pytest.raises(OutOfRangeError, match=r"^half_life: "):
        decay_factor("6.0067 h", "6.0067 h")


def test_the_30_day_rule_is_written_once(monkeypatch):
    """Issue 19: the gap between administration and vial calibration (patient file, y90 schedule) and
    between an activity image's reference time and the administration (load_imaging) is one rule,
    dosimetry.decay.check_time_gap with MAX_CALIBRATION_GAP: changing it changes every entry point."""
    import datetime as _dt

    import dosimetry.decay as decay
    import dosimetry.workflow.voxel as voxel
    from dosimetry.errors import OutOfRangeError
    from dosimetry.io.patient import check_calibration_gap

    t0 = _dt.datetime(2026, 1, 1, 12, tzinfo=_dt.timezone.utc)
    check_calibration_gap(t0 + _dt.timedelta(days=11), t0, "a", "c")  # 11 days < 30 days
    monkeypatch.setattr(decay, "MAX_CALIBRATION_GAP", _dt.timedelta(days=10))
    with pytest.raises(OutOfRangeError, match="plausible within"):
        check_calibration_gap(t0 + _dt.timedelta(days=11), t0, "a", "c")
    with pytest.raises(OutOfRangeError, match="is 11.0 days after the administration; plausible within 10 days"):
        decay.check_time_gap(t0 + _dt.timedelta(days=11), t0, "imaging.activity_time", "imaging.administration_time",
                             after_only=True, reference_name="the administration")
    assert "MAX_CALIBRATION_GAP" not in vars(voxel)
