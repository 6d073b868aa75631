"""Issue 18, item 1: one rule for negative and NaN values of an emission image, every format.

Shares computed by hand: share = sum(|negative values|) / sum(positive values).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.voxel import Volume
from dosimetry.voxel.calibration import MAX_NEGATIVE_SHARE, screen_activity


def _vol(a, unit="cts"):
    return Volume(np.asarray(a), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), unit=unit)


def _roi(shape, sl):
    m = np.zeros(shape, bool)
    m[sl] = True
    return _vol(m, "dimensionless")


def test_int16_counts_with_noise_negatives_are_set_to_zero_with_their_share():
    # 10 x 10 x 10 counts of 100, liver ROI the first 5 slices; three voxels outside it hold -1, -2, -1
    a = np.full((10, 10, 10), 100, np.int16)
    a[9, 9, 9], a[9, 9, 8], a[9, 8, 9] = -1, -2, -1
    s = screen_activity(_vol(a), {"liver": _roi(a.shape, np.s_[:5])})
    out = np.asarray(s.image.array)
    assert out.dtype == np.float64 and out.min() == 0.0
    assert out[9, 9, 9] == out[9, 9, 8] == out[9, 8, 9] == 0.0 and out[0, 0, 0] == 100.0
    # 4 cts of 997 x 100 = 99700 cts: 4.012e-5 = 0.004 %
    assert s.negative_share == pytest.approx(4 / 99700)
    assert len(s.warnings) == 1 and "3 voxels" in s.warnings[0] and "0.004 % of the image's counts" in s.warnings[0]


def test_a_clean_image_is_returned_as_it_is():
    a = np.full((3, 3, 3), 5.0)
    v = _vol(a)
    s = screen_activity(v, {"liver": _roi(a.shape, np.s_[:2])})
    assert s.image is v and s.warnings == () and s.negative_share == 0.0


def test_negatives_beyond_the_bound_are_refused():
    # 100 voxels of 100 cts, one at -101: share 101 / 9900 = 1.02 % > 1 %
    a = np.full((100, 1, 1), 100.0)
    a[0] = -101.0
    with pytest.raises(InputError, match=r"^imaging.activity: 1 negative voxels hold 1.02 % of the image's counts") as e:
        screen_activity(_vol(a), {"liver": _roi(a.shape, np.s_[50:])})
    assert "1%" in e.value.allowed
    a[0] = -99.0  # 99 / 9900 = 1 %: accepted
    assert screen_activity(_vol(a), {"liver": _roi(a.shape, np.s_[50:])}).negative_share == pytest.approx(MAX_NEGATIVE_SHARE)


def test_a_negative_total_in_an_roi_is_refused():
    # lung ROI of two voxels holding 1 and -3: total -2 although the image's share is small
    a = np.full((1000, 1, 1), 100.0)
    a[0], a[1] = 1.0, -3.0
    with pytest.raises(InputError, match=r"ROI 'lung' holds a negative total \(-2 cts\)"):
        screen_activity(_vol(a), {"liver": _roi(a.shape, np.s_[500:]), "lung": _roi(a.shape, np.s_[:2])})


def test_nan_outside_every_roi_is_no_activity():
    a = np.full((4, 5, 5), 2.0e6)
    a[0] = np.nan  # a masked reconstruction: 25 of 100 voxels
    s = screen_activity(_vol(a, "Bq/mL"), {"liver": _roi(a.shape, np.s_[1:])})
    assert s.nan_voxels == 25 and np.asarray(s.image.array)[0].sum() == 0.0 and np.isfinite(s.image.array).all()
    assert "25 voxels (25 % of the image) hold NaN" in s.warnings[0]


@pytest.mark.parametrize("bad", [np.nan])
def test_nan_inside_an_roi_is_refused_naming_it(bad):
    a = np.full((4, 5, 5), 2.0e6)
    a[0] = np.nan
    a[2, 2, 2] = bad
    with pytest.raises(InputError, match=r"NaN \(no value\) inside the ROIs: 1 voxels of 'tumor 1'"):
        screen_activity(_vol(a, "Bq/mL"), {"liver": _roi(a.shape, np.s_[1:2]), "tumor 1": _roi(a.shape, np.s_[2:])})


def test_infinite_values_are_refused():
    a = np.full((2, 2, 2), 1.0)
    a[0, 0, 0] = np.inf
    with pytest.raises(InputError, match="infinite"):
        screen_activity(_vol(a), {"liver": _roi(a.shape, np.s_[1:])})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=400), min_size=8, max_size=200), st.integers(0, 7))
def test_screened_image_holds_exactly_the_positive_counts(values, cut):
    a = np.asarray(values, np.float64).reshape(-1, 1, 1)
    if (a > 0).sum() == 0:
        a[0] = 1.0
    roi = _roi(a.shape, np.s_[cut: cut + 1])
    negative, positive = -a[a < 0].sum(), a[a > 0].sum()
    try:
        s = screen_activity(_vol(a), {"roi": roi})
    except InputError:
        assert negative / positive > MAX_NEGATIVE_SHARE or a[cut, 0, 0] < 0
        return
    out = np.asarray(s.image.array)
    assert out.min() >= 0 and out.sum() == pytest.approx(positive)
    assert s.negative_share == pytest.approx(negative / positive)
