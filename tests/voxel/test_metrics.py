"""DVH, D_x, V_x, BED, EUD and T/N ratio against hand-computed values on small arrays."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dosimetry.units import Q_
from dosimetry.voxel import Volume, bed, dvh, eud, mean_bed, region_stats, sampled_mean_fraction, sampling_recovery, tumour_to_normal_ratio

SP = (2.0, 2.0, 2.0)  # 8 mm^3 = 0.008 mL voxels


def vol(values, unit="Gy"):
    return Volume(np.asarray(values, dtype=float).reshape(1, 1, -1), SP, unit=unit)


def mask(values):
    return Volume(np.asarray(values).reshape(1, 1, -1), SP)


def test_dvh_hand_computed():
    d = vol([10, 20, 30, 40, 99])
    m = mask([True, True, True, True, False])  # the 99 Gy voxel is outside
    h = dvh(d, m)
    assert h.mean.to("Gy").magnitude == pytest.approx(25.0)
    assert h.min.magnitude == 10 and h.max.magnitude == 40
    assert h.volume.to("mL").magnitude == pytest.approx(4 * 0.008)
    # V(d) = fraction with dose >= d
    assert h.volume_fraction(Q_(0, "Gy")) == 1.0
    assert h.volume_fraction(Q_(20, "Gy")) == 0.75
    assert h.volume_fraction(Q_(25, "Gy")) == 0.5
    assert h.volume_fraction(Q_(40, "Gy")) == 0.25
    assert h.volume_fraction(Q_(40.001, "Gy")) == 0.0
    assert h.volume_fraction(Q_(2000, "cGy")) == 0.75
    # D_x = minimum dose of the hottest x %: hottest 25 % = {40}; 50 % = {40, 30};
    # 60 % needs 2.4 voxels -> 3 voxels {40, 30, 20}; 100 % = all
    assert h.dose_at(0).magnitude == 40
    assert h.dose_at(25).magnitude == 40
    assert h.dose_at(50).magnitude == 30
    assert h.dose_at(60).magnitude == 20
    assert h.dose_at(75).magnitude == 20
    assert h.dose_at(100).magnitude == 10
    np.testing.assert_array_equal(h.dose_at([25, 50, 100]).magnitude, [40, 30, 10])


def test_fractional_mask_weights():
    d = vol([10, 20])
    m = mask([0.5, 1.0])
    h = dvh(d, m)
    assert h.mean.magnitude == pytest.approx((0.5 * 10 + 20) / 1.5)
    assert h.volume_fraction(Q_(15, "Gy")) == pytest.approx(1 / 1.5)
    assert h.dose_at(50).magnitude == 20  # the 20 Gy voxel alone is 66.7 % of the volume
    assert h.dose_at(80).magnitude == 10


def test_region_stats_defaults():
    d = vol(np.arange(1, 101))  # 1..100 Gy
    s = region_stats(d, mask(np.ones(100, bool)))
    assert s.mean.magnitude == pytest.approx(50.5)
    # hottest 2 % = {100, 99} -> D2 = 99; D50 = 51; D70 = 31; D95 = 6; D98 = 3
    assert [s.d[x].magnitude for x in (2, 50, 70, 95, 98)] == [99, 51, 31, 6, 3]
    # V100 = 1 voxel of 100; V150 = V205 = 0
    assert s.v[100] == pytest.approx(0.01) and s.v[150] == 0 and s.v[205] == 0


def test_dvh_curve_for_display():
    h = dvh(vol([0, 10]), mask([True, True]))
    dose, frac = h.curve(11)
    assert dose.magnitude[-1] == 10
    assert frac[0] == 1.0 and frac[5] == 0.5 and frac[-1] == 0.5


def test_bed_worked_example():
    # Dale: BED = D (1 + D T_rep / ((T_rep + T_phys) a/b)) = 100 (1 + 100 * 2.5 / (66.6 * 2.5)) = 250.15
    b = bed(Q_(100, "Gy"), Q_(2.5, "Gy"), Q_(2.5, "h"), Q_(64.1, "h"))
    assert b.to("Gy").magnitude == pytest.approx(250.15, abs=0.005)
    assert bed(Q_(100, "Gy"), Q_(2.5, "Gy"), Q_(150, "min")).magnitude == pytest.approx(250.15, abs=0.005)


def test_bed_map_and_regional_mean():
    d = vol([100.0, 0.0, 50.0])
    m = mask([True, True, False])
    bmap = bed(d, Q_(2.5, "Gy"), Q_(2.5, "h"))
    g = 2.5 / (66.6 * 2.5)
    np.testing.assert_allclose(bmap.array.ravel(), [100 * (1 + 100 * g), 0.0, 50 * (1 + 50 * g)])
    # mean of the BED map (not BED of the mean dose 50 Gy)
    assert mean_bed(d, m, Q_(2.5, "Gy"), Q_(2.5, "h")).magnitude == pytest.approx(100 * (1 + 100 * g) / 2)


def test_eud_hand_values():
    # uniform dose -> EUD = dose
    assert eud(vol([30, 30, 30]), mask([1, 1, 1]), Q_(0.05, "1/Gy")).magnitude == pytest.approx(30)
    # two voxels 0 and 10 Gy, alpha 0.1/Gy: EUD = -ln((1 + e^-1) / 2) / 0.1 = 3.7989 Gy
    e = eud(vol([0, 10]), mask([True, True]), Q_(0.1, "1/Gy")).magnitude
    assert e == pytest.approx(-math.log((1 + math.exp(-1)) / 2) / 0.1)
    assert e == pytest.approx(3.7989, abs=1e-4)


def test_tumour_to_normal_ratio():
    a = vol([8, 0, 1, 1, 2, 5], unit="cts")
    t = mask([True, True, False, False, False, False])  # mean 4
    n = mask([False, False, True, True, True, False])  # mean 4/3
    assert tumour_to_normal_ratio(a, t, n) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="^normal_mask: "):
        tumour_to_normal_ratio(a, t, mask([True, False, True, False, False, False]))
    with pytest.raises(ValueError, match="^tumour_mask: "):
        tumour_to_normal_ratio(a, mask([False] * 6), n)
    with pytest.raises(ValueError, match="^activity: "):
        tumour_to_normal_ratio(vol([8, 0, 1, 1, -2, 5], "cts"), t, n)
    # partial-volume masks may share a boundary voxel (fractions summing to <= 1), not more
    tf = mask([1.0, 0.5, 0, 0, 0, 0])
    nf = mask([0, 0.5, 1.0, 1.0, 1.0, 0])
    # tumour: (8 + 0.5 * 0) / 1.5 = 16/3; normal: (0.5 * 0 + 1 + 1 + 2) / 3.5 = 8/7 -> ratio 14/3
    assert tumour_to_normal_ratio(a, tf, nf) == pytest.approx(14.0 / 3.0)
    with pytest.raises(ValueError, match="^normal_mask: overlaps"):
        tumour_to_normal_ratio(a, tf, mask([0, 0.6, 1.0, 1.0, 1.0, 0]))


def test_bad_masks_and_doses_refused():
    d = vol([1, 2, 3])
    with pytest.raises(ValueError, match="^mask: "):
        dvh(d, mask([False, False, False]))
    with pytest.raises(ValueError, match="^mask: "):
        dvh(d, mask([True, True]))  # other shape
    with pytest.raises(ValueError, match="^mask: "):
        dvh(d, Volume(np.ones((1, 1, 3), bool), (2, 2, 3)))  # other spacing
    with pytest.raises(ValueError, match="^mask: "):
        dvh(d, mask([0.5, 2.0, 1.0]))
    with pytest.raises(ValueError, match="^dose: "):
        dvh(vol([1, 2, 3], unit="MBq"), mask([1, 1, 1]))
    with pytest.raises(ValueError, match="^dose: "):
        dvh(vol([1, np.nan, 3]), mask([1, 1, 1]))
    with pytest.raises(ValueError, match="^percent: "):
        dvh(d, mask([1, 1, 1])).dose_at(101)
    with pytest.raises(ValueError, match="^alpha_beta: "):
        bed(Q_(10, "Gy"), Q_(0, "Gy"), Q_(2.5, "h"))


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, 12, elements=st.floats(0, 500)), st.floats(0, 100), st.floats(0, 100))
def test_dx_vx_consistency(values, x1, x2):
    h = dvh(vol(values), mask(np.ones(12, bool)))
    lo, hi = sorted((x1, x2))
    # D_x is non-increasing in x, and at least x % of the volume receives D_x or more
    assert h.dose_at(lo).magnitude >= h.dose_at(hi).magnitude
    assert h.volume_fraction(h.dose_at(hi)) >= hi / 100 - 1e-12
    # and D_x is the largest such dose: a voxel dose above it covers less than x %
    above = values[values > h.dose_at(hi).magnitude]
    if above.size:
        assert h.volume_fraction(Q_(above.min(), "Gy")) < hi / 100 + 1e-12 or hi == 0


def test_sampling_recovery_of_a_half_voxel_shifted_cube():
    # A 2 x 2 x 2-voxel cube shifted half a voxel on every axis covers 3 voxels per axis with
    # fractions 0.5, 1, 0.5: sum f = 8, sum f^2 = (0.25 + 1 + 0.25)^3 = 3.375, s = 0.421875.
    f1 = np.array([0.5, 1.0, 0.5])
    f = np.zeros((5, 5, 5))
    f[1:4, 1:4, 1:4] = f1[:, None, None] * f1[None, :, None] * f1[None, None, :]
    mask = Volume(f.astype(np.float32), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))
    s = sampling_recovery(mask)
    assert s == pytest.approx(3.375 / 8.0)
    # voxel-averaged image of a uniform cube (c_T = 6) in a uniform surrounding (c_N = 1): its
    # occupancy-weighted mean is c_N + (c_T - c_N) s, i.e. the fraction (1 + 5 s) / 6 of c_T
    a = f * 6.0 + (1.0 - f) * 1.0
    weighted = float((f * a).sum() / f.sum())
    assert weighted / 6.0 == pytest.approx(sampled_mean_fraction(s, 6.0))
    assert sampled_mean_fraction(s, 6.0) == pytest.approx((1 + 5 * 0.421875) / 6)
    # whole voxels (a boolean mask) recover fully
    assert sampling_recovery(Volume(f > 0.99, (4.0, 4.0, 4.0), (0.0, 0.0, 0.0))) == 1.0
    with pytest.raises(ValueError, match="ratio"):
        sampled_mean_fraction(s, 0.0)


# --- issue 22: the DVH selects the mask's voxels without a float64 copy and computes its cumulative volume once ---


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, (4, 5, 6), elements=st.sampled_from([0.0, 0.25, float(np.float32(1e-7)), 0.5, 1.0, float(np.float32(0.999)), 0.125])), st.sampled_from(["float32", "float64", "bool", "uint8"]))
def test_dvh_voxels_and_weights_are_those_of_the_float64_mask(w, kind):
    from dosimetry.voxel.metrics import _mask_voxels

    if kind == "bool":
        w = w > 0.3
    elif kind != "float32":
        w = w.astype(kind)
    dose = Volume(np.arange(120, dtype=float).reshape(4, 5, 6) % 7, (2.0, 2.0, 2.0), unit="Gy")
    mask = dose.with_array(w, unit="dimensionless")
    full = np.asarray(w, dtype=np.float64)
    if not np.any(full > 0):
        with pytest.raises(ValueError, match="mask is empty"):
            _mask_voxels(mask, dose)
        return
    sel, wts = _mask_voxels(mask, dose)
    assert np.array_equal(sel, full > 0) and wts.dtype == np.float64 and np.array_equal(wts, full[full > 0])
    # the figures from the weights by hand: volume, weighted mean
    h = dvh(dose, mask)
    assert h.volume.to("mL").magnitude == pytest.approx(full.sum() * 8.0 / 1000.0, rel=1e-12)
    assert h.mean.to("Gy").magnitude == pytest.approx((full * dose.array).sum() / full.sum(), rel=1e-12)


def test_each_dvh_has_its_own_cumulative_volume():
    # the cumulative volume is remembered per DVH: another region (or the same voxels with other
    # weights) never reuses it
    dose = Volume(np.arange(8, dtype=float).reshape(2, 2, 2), (1.0, 1.0, 1.0), unit="Gy")
    a = dvh(dose, dose.with_array(np.ones((2, 2, 2), bool), unit="dimensionless"))
    w = np.zeros((2, 2, 2), np.float32)
    w[1] = 1.0  # doses 4..7
    b = dvh(dose, dose.with_array(w, unit="dimensionless"))
    assert a.dose_at(50).to("Gy").magnitude == 4.0 and a.volume_fraction(Q_(6, "Gy")) == 0.25
    assert b.dose_at(50).to("Gy").magnitude == 6.0 and b.volume_fraction(Q_(6, "Gy")) == 0.5
    assert a.dose_at(50).to("Gy").magnitude == 4.0  # a again, after b
