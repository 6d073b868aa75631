"""Plan inputs measured on images (dosimetry.voxel.measure) against hand-computed values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.voxel import Volume
from dosimetry.voxel.measure import (
    image_lung_shunt_fraction,
    lung_mass_from_ct,
    measure_plan_inputs,
    roi_volume,
    tumour_to_normal_ratios,
)

SP = (2.0, 2.0, 2.0)  # 8 mm^3 = 0.008 mL voxels


def vol(values, unit="cts"):
    return Volume(np.asarray(values, dtype=float).reshape(1, 1, -1), SP, unit=unit)


def mask(values):
    return Volume(np.asarray(values).reshape(1, 1, -1), SP)


# voxels:          0     1     2     3     4     5     6
IMAGE = [10.0, 10.0, 40.0, 40.0, 10.0, 30.0, 0.0]
LUNG = [False, False, False, False, False, True, False]
LIVER = [True, True, True, True, True, False, False]
TUMOUR = [False, False, True, True, False, False, False]


def test_lsf_hand_computed():
    # lung 30 counts, liver 10+10+40+40+10 = 110: LSF = 30 / 140
    lsf = image_lung_shunt_fraction(vol(IMAGE), mask(LUNG), mask(LIVER))
    assert lsf.to("dimensionless").magnitude == pytest.approx(30 / 140, rel=1e-12)


def test_lsf_same_for_concentration_and_activity_units():
    for unit in ("cts", "Bq/mL", "MBq", "cts/s"):
        lsf = image_lung_shunt_fraction(vol(IMAGE, unit), mask(LUNG), mask(LIVER))
        assert lsf.magnitude == pytest.approx(30 / 140, rel=1e-12)


def test_lsf_fractional_masks_hand_computed():
    # lung covers half of voxel 4 and all of voxel 5; liver the other half of voxel 4
    lung = mask([0, 0, 0, 0, 0.5, 1.0, 0])
    liver = mask([1, 1, 1, 1, 0.5, 0, 0])
    lsf = image_lung_shunt_fraction(vol(IMAGE), lung, liver)
    # lung 5 + 30 = 35; liver 10 + 10 + 40 + 40 + 5 = 105
    assert lsf.magnitude == pytest.approx(35 / 140, rel=1e-12)


def test_tn_hand_computed_normal_is_perfused_minus_tumours():
    # perfused = voxels 1..4; tumour = 2, 3 (density 40); normal = 1, 4 (density 10): T/N = 4
    perfused = mask([False, True, True, True, True, False, False])
    r = tumour_to_normal_ratios(vol(IMAGE), {"T1": mask(TUMOUR)}, perfused)
    assert r["T1"].magnitude == pytest.approx(4.0, rel=1e-12)


def test_tn_fractional_hand_computed():
    # tumour: voxel 2 fully, voxel 1 at 0.5 -> tumour density (40 + 0.5*10) / 1.5 = 30
    # normal = perfused (voxels 0, 1, 2 at 1) minus tumour: voxel 0 at 1, voxel 1 at 0.5 -> density 10
    img = vol([10.0, 10.0, 40.0, 0, 0, 0, 0])
    r = tumour_to_normal_ratios(img, {"T": mask([0, 0.5, 1.0, 0, 0, 0, 0])}, mask([1, 1, 1, 0, 0, 0, 0]))
    assert r["T"].magnitude == pytest.approx(30 / 10, rel=1e-12)


def test_volumes_and_lung_mass_hand_computed():
    m = measure_plan_inputs(
        vol(IMAGE),
        liver_mask=mask(LIVER),
        lung_mask=mask(LUNG),
        tumour_masks={"T1": mask(TUMOUR)},
        perfused_mask=mask([False, True, True, True, True, False, False]),
        # CT: -740 HU everywhere in the lung voxel -> 0.0012 + 0.9988 * 0.26 g/mL (air-water line)
        ct=vol([0, 0, 0, 0, 0, -740, -1000], unit="dimensionless"),
        ct_masks={"lungs": mask(LUNG)},
    )
    assert m.volumes_grid == "image"
    assert m.whole_liver_volume.to("mL").magnitude == pytest.approx(5 * 0.008)
    assert m.perfused_volume.to("mL").magnitude == pytest.approx(4 * 0.008)
    assert m.tumour_volumes["T1"].to("mL").magnitude == pytest.approx(2 * 0.008)
    assert m.normal_liver_volume.to("mL").magnitude == pytest.approx(2 * 0.008)
    assert m.lung_shunt_fraction.magnitude == pytest.approx(30 / 140)
    assert m.tumour_to_normal["T1"].magnitude == pytest.approx(4.0)
    rho = 0.0012 + (1.0 - 0.0012) * (1 - 740 / 1000)  # g/mL on the line (-1000, 0.0012)-(0, 1)
    assert m.lung_mass.to("g").magnitude == pytest.approx(rho * 0.008, rel=1e-6)
    assert m.lung_counts.to("cts").magnitude == pytest.approx(30)
    assert m.liver_counts.to("cts").magnitude == pytest.approx(110)
    assert m.warnings == ()


def test_lung_mass_default_curve_is_water_at_0_hu():
    # 10 x 10 x 10 voxels of 1 mL at 0 HU -> 1000 g
    ct = Volume(np.zeros((10, 10, 10)), (10.0, 10.0, 10.0))
    m = Volume(np.ones((10, 10, 10), bool), (10.0, 10.0, 10.0))
    assert lung_mass_from_ct(ct, m).to("kg").magnitude == pytest.approx(1.0, rel=1e-6)


def test_tumour_outside_perfused_warns():
    m = measure_plan_inputs(
        vol(IMAGE), liver_mask=mask(LIVER), lung_mask=mask(LUNG), tumour_masks={"T1": mask(TUMOUR)},
        perfused_mask=mask([True, True, True, False, True, False, False]),
    )
    assert any("T1" in w and "50.0 %" in w for w in m.warnings)


def test_roi_volume():
    assert roi_volume(mask([0.25, 0.5, 1, 0, 0, 0, 0])).to("mL").magnitude == pytest.approx(1.75 * 0.008)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(lung=mask([0, 0, 0, 0, 1, 1, 0]).array.astype(bool)), "lung_mask"),  # overlaps the liver
        (dict(image=vol(IMAGE, "Gy")), "image"),
        (dict(image=vol([-1, 0, 0, 0, 0, 0, 0])), "image"),
        (dict(lung=np.zeros(7, bool)), "lung_mask"),
        (dict(lung=np.full(7, 1.5)), "lung_mask"),
    ],
)
def test_lsf_refusals(kwargs, field):
    image = kwargs.get("image", vol(IMAGE))
    lung = mask(kwargs["lung"]) if "lung" in kwargs else mask(LUNG)
    with pytest.raises(InputError) as e:
        image_lung_shunt_fraction(image, lung, mask(LIVER))
    assert e.value.field == field


def test_grid_mismatch_refused():
    other = Volume(np.ones((1, 1, 7), bool), (2.0, 2.0, 3.0))
    with pytest.raises(InputError, match="resample"):
        image_lung_shunt_fraction(vol(IMAGE), other, mask(LIVER))


def test_no_normal_liver_left_refused():
    with pytest.raises(InputError) as e:
        tumour_to_normal_ratios(vol(IMAGE), {"T1": mask(TUMOUR)}, mask(TUMOUR))
    assert e.value.field == "perfused_mask"


def test_overlapping_tumours_refused():
    with pytest.raises(InputError) as e:
        tumour_to_normal_ratios(vol(IMAGE), {"A": mask(TUMOUR), "B": mask(TUMOUR)}, mask(LIVER))
    assert e.value.field == "tumour_masks"


def test_ct_without_lung_mask_refused():
    with pytest.raises(InputError) as e:
        measure_plan_inputs(vol(IMAGE), liver_mask=mask(LIVER), lung_mask=mask(LUNG), ct=vol(np.zeros(7), "dimensionless"))
    assert e.value.field == "ct_masks"


def test_volumes_from_ct_grid_masks():
    # CT grid of 1 mm voxels (0.001 mL): liver 3 voxels, tumour 1 voxel -> normal 2 voxels
    fine = lambda v: Volume(np.asarray(v).reshape(1, 1, -1), (1.0, 1.0, 1.0))  # noqa: E731
    ct = Volume(np.full((1, 1, 4), -740.0), (1.0, 1.0, 1.0))
    m = measure_plan_inputs(
        vol(IMAGE), liver_mask=mask(LIVER), lung_mask=mask(LUNG), tumour_masks={"T1": mask(TUMOUR)}, ct=ct,
        ct_masks={"lungs": fine([0, 0, 0, 1]), "liver": fine([1, 1, 1, 0]), "tumours": {"T1": fine([0, 0.5, 0.5, 0])}},
    )
    assert m.volumes_grid == "CT"
    assert m.whole_liver_volume.to("mL").magnitude == pytest.approx(0.003)
    assert m.tumour_volumes["T1"].to("mL").magnitude == pytest.approx(0.001)
    assert m.normal_liver_volume.to("mL").magnitude == pytest.approx(0.002)
    assert m.tumour_to_normal["T1"].magnitude == pytest.approx(4.0)  # still on the image grid
    with pytest.raises(InputError) as e:
        measure_plan_inputs(vol(IMAGE), liver_mask=mask(LIVER), lung_mask=mask(LUNG), tumour_masks={"T1": mask(TUMOUR)}, ct=ct,
                            ct_masks={"lungs": fine([0, 0, 0, 1]), "liver": fine([1, 1, 1, 0])})
    assert e.value.field == "ct_masks.tumours"


@settings(max_examples=40, deadline=None)
@given(
    c_lung=st.floats(0, 1e4), c_liver=st.floats(1e-3, 1e4), c_t=st.floats(0, 1e4), c_n=st.floats(1e-3, 1e4),
    scale=st.floats(1e-3, 1e3),
)
def test_properties_uniform_regions(c_lung, c_liver, c_t, c_n, scale):
    """Uniform regions: LSF = lung content / total; T/N = c_t / c_n; both invariant under scaling."""
    img = [c_n, c_n, c_t, c_t, c_n, c_lung, 0.0]
    lsf = image_lung_shunt_fraction(vol(img), mask(LUNG), mask(LIVER)).magnitude
    liver_total = 3 * c_n + 2 * c_t
    assert lsf == pytest.approx(c_lung / (c_lung + liver_total), rel=1e-9, abs=1e-15)
    assert 0.0 <= lsf <= 1.0
    scaled = image_lung_shunt_fraction(vol(np.asarray(img) * scale), mask(LUNG), mask(LIVER)).magnitude
    assert scaled == pytest.approx(lsf, rel=1e-9, abs=1e-15)
    r = tumour_to_normal_ratios(vol(img), {"T": mask(TUMOUR)}, mask(LIVER))["T"].magnitude
    assert r == pytest.approx(c_t / c_n, rel=1e-9, abs=1e-12)


def test_lung_mass_bad_curve_and_unit_refused():
    ct = vol([0, 0, 0, 0, 0, -740, -1000], unit="dimensionless")
    with pytest.raises(InputError) as e:
        lung_mass_from_ct(ct, mask(LUNG), curve=((0, 1.0), (-1000, 0.0012)))
    assert e.value.field == "curve"
    with pytest.raises(InputError) as e:
        lung_mass_from_ct(vol(np.zeros(7), "g/mL"), mask(LUNG))
    assert e.value.field == "ct"


def test_perfused_on_one_grid_only_refused():
    fine = lambda v: Volume(np.asarray(v).reshape(1, 1, -1), (1.0, 1.0, 1.0))  # noqa: E731
    ct = Volume(np.full((1, 1, 4), -740.0), (1.0, 1.0, 1.0))
    with pytest.raises(InputError) as e:
        measure_plan_inputs(vol(IMAGE), liver_mask=mask(LIVER), lung_mask=mask(LUNG), perfused_mask=mask(LIVER), ct=ct,
                            ct_masks={"lungs": fine([0, 0, 0, 1]), "liver": fine([1, 1, 1, 0])})
    assert e.value.field == "ct_masks.perfused"
