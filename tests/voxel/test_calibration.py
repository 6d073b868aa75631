"""Activity calibration: hand-computed sums, LSF and T/N ratios, invariances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.units import Q_, ureg
from dosimetry.voxel import Volume
from dosimetry.voxel.calibration import activity_in, activity_map, lung_shunt_fraction, relative_calibration, tumour_to_normal_ratio


def _phantom():
    """10 x 10 x 10 grid of 2 mm voxels: liver block 500 voxels x 10 cts, lung block 100 voxels x 5 cts,
    1 cts elsewhere (400 voxels outside both)."""
    a = np.ones((10, 10, 10))
    liver = np.zeros(a.shape, bool)
    lung = np.zeros(a.shape, bool)
    liver[:5] = True
    lung[6:7] = True
    a[liver] = 10.0
    a[lung] = 5.0
    img = Volume(a, (2.0, 2.0, 2.0), unit="cts")
    return img, img.with_array(liver, "dimensionless"), img.with_array(lung, "dimensionless")


def test_liver_only_calibration_hand_numbers():
    img, liver, _ = _phantom()
    cal = relative_calibration(img, "2 GBq", liver, residual_fraction="5 %")
    # delivered 2 * 0.95 = 1.9 GBq on 500 * 10 = 5000 cts -> 0.38 MBq/cts
    assert cal.factor.to("MBq/cts").magnitude == pytest.approx(1900.0 / 5000.0)
    assert activity_in(cal.activity, liver).to("GBq").magnitude == pytest.approx(1.9)
    assert cal.activity.unit == ureg.Unit("MBq")
    assert cal.lung_shunt_fraction == 0.0 and cal.mode == "liver"
    # outside voxels scaled by the same factor: 1 cts -> 0.38 MBq
    assert cal.activity.array[9, 0, 0] == pytest.approx(0.38)


def test_liver_plus_lungs_measures_lsf():
    img, liver, lung = _phantom()
    cal = relative_calibration(img, Q_(3.0, "GBq"), liver, lung)
    # 5000 liver + 500 lung counts = 3 GBq; LSF = 500 / 5500
    assert cal.lung_shunt_fraction == pytest.approx(500 / 5500)
    assert activity_in(cal.activity, lung).to("GBq").magnitude == pytest.approx(3.0 * 500 / 5500)
    assert activity_in(cal.activity, liver).to("GBq").magnitude == pytest.approx(3.0 * 5000 / 5500)
    assert cal.lung_activity.to("GBq").magnitude == pytest.approx(3.0 * 500 / 5500)


def test_given_lsf_scales_liver_to_remaining_activity():
    img, liver, _ = _phantom()
    cal = relative_calibration(img, "2 GBq", liver, lung_shunt_fraction=0.1, residual_fraction=0.02)
    # liver = 2 * 0.98 * 0.9 = 1.764 GBq
    assert activity_in(cal.activity, liver).to("GBq").magnitude == pytest.approx(1.764)
    assert cal.lung_activity.to("GBq").magnitude == pytest.approx(2 * 0.98 * 0.1)


def test_concentration_image_uses_voxel_volume():
    img, liver, _ = _phantom()
    conc = img.with_array(img.array, "cts/mL")  # 8 uL voxels: content = value * 0.008 mL
    cal = relative_calibration(conc, "1 GBq", liver)
    assert activity_in(cal.activity, liver).to("GBq").magnitude == pytest.approx(1.0)
    assert cal.factor.to("MBq/cts").magnitude == pytest.approx(1000.0 / (5000 * 0.008))


def test_lung_shunt_fraction_hand():
    img, liver, lung = _phantom()
    assert lung_shunt_fraction(img, lung, liver) == pytest.approx(500 / 5500)


def test_overlapping_or_empty_masks_refused():
    img, liver, lung = _phantom()
    with pytest.raises(ValueError, match="overlaps"):
        lung_shunt_fraction(img, liver, liver)
    with pytest.raises(ValueError, match="empty"):
        relative_calibration(img, "1 GBq", liver.with_array(np.zeros(img.shape, bool)))
    with pytest.raises(ValueError, match="grid"):
        relative_calibration(img, "1 GBq", Volume(np.ones((2, 2, 2), bool), (1, 1, 1)))
    with pytest.raises(InputError, match="administered_activity"):
        relative_calibration(img, "1 cts", liver)
    with pytest.raises(InputError, match="residual_fraction"):
        relative_calibration(img, "1 GBq", liver, residual_fraction=1.2)


def test_activity_map_from_bq_per_ml():
    v = Volume(np.full((2, 2, 2), 1000.0), (2.0, 5.0, 10.0), unit="kBq/mL")  # voxel 0.1 mL
    m = activity_map(v)
    assert m.unit == ureg.Unit("MBq")
    np.testing.assert_allclose(m.array, 1000.0 * 0.1 / 1000.0)  # 1000 kBq/mL * 0.1 mL = 0.1 MBq
    with pytest.raises(ValueError, match="calibrate"):
        activity_map(v.with_array(v.array, "cts"))


def test_tumour_to_normal_ratio_hand():
    a = np.full((4, 4, 4), 2.0)
    t = np.zeros(a.shape, bool)
    t[0, 0, :2] = True
    a[t] = 8.0
    n = ~t
    img = Volume(a, (1, 1, 1), unit="cts")
    assert tumour_to_normal_ratio(img, img.with_array(t), img.with_array(n)) == pytest.approx(4.0)


@settings(max_examples=25, deadline=None)
@given(st.floats(1e-3, 1e6), st.floats(0.1, 20.0))
def test_calibration_independent_of_count_scale(scale, gbq):
    img, liver, lung = _phantom()
    a = relative_calibration(img, Q_(gbq, "GBq"), liver, lung)
    b = relative_calibration(img.with_array(img.array * scale), Q_(gbq, "GBq"), liver, lung)
    np.testing.assert_allclose(a.activity.array, b.activity.array, rtol=1e-9)
    total = activity_in(b.activity, liver) + activity_in(b.activity, lung)
    assert total.to("GBq").magnitude == pytest.approx(gbq)
