"""In-memory phantom: truth volumes, activity partition, doses, counts, determinism, refusals.

Expected values are computed here from the written-out formulas, not taken from the code.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.units import Q_
from phantoms import make_arrays

LN2 = math.log(2)
# Y-90: T1/2 64.1 h, mean beta energy 0.9331 MeV (ICRP 107);
# K = T1/2 / ln2 * E = 64.1 * 3600 s / ln 2 * 0.9331e6 eV * 1.602176634e-19 J/eV per Bq,
# times 1e9 Bq/GBq -> Gy kg / GBq.
K_HAND = 64.1 * 3600 / LN2 * 0.9331e6 * 1.602176634e-19 * 1e9
V = lambda a, b, c: 4.0 / 3.0 * math.pi * a * b * c / 1000.0  # noqa: E731  (mL from mm)


@pytest.fixture(scope="module")
def nm():
    return make_arrays()


@pytest.fixture(scope="module")
def nm_sharp():
    return make_arrays(fwhm_mm=0, tumours=4, lung_shunt_fraction=0.12, administered="3 GBq")


def test_dose_coefficient_hand_value():
    assert K_HAND == pytest.approx(49.77, abs=0.01)


def test_truth_volumes_are_analytic(nm):
    r = nm.truth.regions
    v_liver = V(98, 80, 50)
    v_t1 = V(20, 20, 20)
    v_t2 = V(15, 12, 10)
    assert r["Liver"].volume.to("mL").magnitude == pytest.approx(v_liver, rel=1e-12)
    assert r["Tumour 1"].volume.to("mL").magnitude == pytest.approx(v_t1, rel=1e-12)
    assert r["Tumour 2"].volume.to("mL").magnitude == pytest.approx(v_t2, rel=1e-12)
    assert r["Normal Liver"].volume.to("mL").magnitude == pytest.approx(v_liver - v_t1 - v_t2, rel=1e-12)
    assert r["Lung L"].volume.to("mL").magnitude == pytest.approx(V(48, 68, 78), rel=1e-12)
    assert r["Lung R"].volume.to("mL").magnitude == pytest.approx(V(52, 70, 80), rel=1e-12)
    assert 1500 <= v_liver <= 1800
    # voxelized volumes close to the analytic ones for big regions (voxel-centre rule)
    for name in ("Liver", "Lungs", "Normal Liver"):
        assert r[name].volume_voxels.to("mL").magnitude == pytest.approx(r[name].volume.to("mL").magnitude, rel=0.01)
        assert r[name].volume_voxels_ct.to("mL").magnitude == pytest.approx(r[name].volume.to("mL").magnitude, rel=0.01)


def test_partition_by_hand(nm):
    # 2 GBq, LSF 0.08, tumours r = 4 (sphere 20 mm) and 6 (15 x 12 x 10 mm)
    v_t1, v_t2 = V(20, 20, 20), V(15, 12, 10)
    v_n = V(98, 80, 50) - v_t1 - v_t2
    liver_gbq = 2.0 * (1 - 0.08)
    d = v_n + 4 * v_t1 + 6 * v_t2
    c_n = liver_gbq / d  # GBq/mL in normal liver
    r = nm.truth.regions
    assert r["Normal Liver"].activity.to("GBq").magnitude == pytest.approx(c_n * v_n, rel=1e-12)
    assert r["Tumour 1"].activity.to("GBq").magnitude == pytest.approx(4 * c_n * v_t1, rel=1e-12)
    assert r["Tumour 2"].activity.to("GBq").magnitude == pytest.approx(6 * c_n * v_t2, rel=1e-12)
    assert r["Lungs"].activity.to("GBq").magnitude == pytest.approx(0.16, rel=1e-12)
    v_ll, v_lr = V(48, 68, 78), V(52, 70, 80)
    assert r["Lung L"].activity.to("GBq").magnitude == pytest.approx(0.16 * v_ll / (v_ll + v_lr), rel=1e-12)
    assert r["Body"].activity.to("GBq").magnitude == pytest.approx(2.0, rel=1e-12)
    assert r["Spine"].activity.to("GBq").magnitude == 0.0
    # concentration ratio of the continuous truth is exactly r
    assert (r["Tumour 1"].concentration / r["Normal Liver"].concentration).to("").magnitude == pytest.approx(4.0)


def test_true_doses_by_hand(nm):
    r = nm.truth.regions
    v_t1 = V(20, 20, 20)
    a_t1 = r["Tumour 1"].activity.to("GBq").magnitude
    # D = K A / (rho V): rho 1.03 g/mL -> kg = 1.03e-3 * mL
    assert r["Tumour 1"].mean_dose.to("Gy").magnitude == pytest.approx(K_HAND * a_t1 / (1.03e-3 * v_t1), rel=1e-4)
    lungs = V(48, 68, 78) + V(52, 70, 80)
    assert r["Lungs"].mean_dose.to("Gy").magnitude == pytest.approx(K_HAND * 0.16 / (0.26e-3 * lungs), rel=1e-4)
    assert r["Body"].mean_dose is None and r["Spine"].density is None


# Emission-grid slabs that separate the lungs from the liver: the liver ends at z = 50 mm, the lungs
# begin at z = 60 mm, and an NM voxel (4.42 mm) reaches 2.21 mm above and below its centre.
def _lung_slab(p):
    g = p.truth.emission_grid
    zc = g.origin_mm[2] + g.spacing_mm[0] * np.arange(g.shape[0])
    return (zc - g.spacing_mm[0] / 2 >= 55.0)[:, None, None]


def test_activity_map_sums(nm_sharp):
    """Volume-averaged emission: the map holds the administered activity, the lungs' slab exactly
    LSF of it and the liver's the rest; voxels labelled outside or spine hold nothing (the organs
    are more than a voxel away from the skin and the spine)."""
    a = nm_sharp.activity.array  # MBq per voxel at administration
    lab = nm_sharp.labels.array
    assert nm_sharp.activity.unit == Q_(1, "MBq").units
    assert a.sum() == pytest.approx(3000.0, rel=1e-12)
    lungs = np.broadcast_to(_lung_slab(nm_sharp), a.shape)
    assert a[lungs].sum() / a.sum() == pytest.approx(0.12, rel=1e-12)
    reg = nm_sharp.truth.regions
    assert a[~lungs].sum() / 1000 == pytest.approx(reg["Liver"].activity.to("GBq").magnitude, rel=1e-12)
    assert a[lungs].sum() / 1000 == pytest.approx(reg["Lungs"].activity.to("GBq").magnitude, rel=1e-12)
    assert a[np.isin(lab, [0, 2])].sum() == 0.0
    # boundary voxels labelled body by their centres hold part of the organs' activity
    assert a[lab == 1].sum() > 0


def test_local_deposition_on_voxels_equals_mean_dose_voxels(nm_sharp):
    a = nm_sharp.activity.array
    lab = nm_sharp.labels.array
    vox_ml = np.prod(nm_sharp.labels.spacing_mm) / 1000.0
    for name, rho in (("Normal Liver", 1.03), ("Tumour 3", 1.03), ("Lung R", 0.26)):
        reg = nm_sharp.truth.regions[name]
        mask = np.isin(lab, reg.labels)
        d = K_HAND * (a[mask] / 1000.0) / (rho * vox_ml / 1000.0)  # Gy per voxel
        assert d.mean() == pytest.approx(reg.mean_dose_voxels.to("Gy").magnitude, rel=1e-4), name
        # and the voxelized dose is close to the analytic one
        assert d.mean() == pytest.approx(reg.mean_dose.to("Gy").magnitude, rel=0.15), name
    t = nm_sharp.truth.regions["Tumour 3"]
    conc_t = a[lab == 13].mean()
    conc_n = a[lab == 5].mean()
    assert conc_t / conc_n == pytest.approx(t.tumour_to_normal_voxels, rel=1e-9)
    assert t.tumour_to_normal == 3.0


def test_nm_counts_equal_sensitivity_times_activity(nm):
    # 18000 cts/MBq x 2000 MBq x exp(-ln2 20/64.1); the Gaussian blur conserves counts
    expected = 18000 * 2000 * math.exp(-LN2 * 20 / 64.1)
    assert nm.image.array.sum() == pytest.approx(expected, rel=1e-6)
    assert nm.truth.activity_at_acquisition.to("GBq").magnitude == pytest.approx(2 * math.exp(-LN2 * 20 / 64.1))
    # blur spreads: the peak is lower than the unblurred peak
    sharp_peak = nm.activity.array.max() * 18000 * math.exp(-LN2 * 20 / 64.1)
    assert nm.image.array.max() < 0.9 * sharp_peak


def test_pt_image_is_concentration_at_acquisition():
    pt = make_arrays(modality="PT", fwhm_mm=0, acquisition_delay="30 h")
    vox_ml = 4.0**3 / 1000
    df = math.exp(-LN2 * 30 / 64.1)
    # Bq/mL x mL = Bq at the acquisition start
    assert pt.image.array.sum() * vox_ml == pytest.approx(2e9 * df, rel=1e-9)
    # voxels wholly in normal liver (all 8 corners inside the convex liver, and outside both
    # tumours' bounding boxes) hold the normal-liver concentration A_N / V_N (analytic, by hand
    # below), up to the 1e-5 by which the map's quadrature volume of the normal liver differs
    # from the analytic one (the map holds A_N exactly over the occupied volume)
    g = pt.truth.emission_grid
    k, j, i = np.indices(g.shape)
    x, y, z = (g.origin_mm[0] + 4.0 * i, g.origin_mm[1] + 4.0 * j, g.origin_mm[2] + 4.0 * k)
    whole = np.ones(g.shape, bool)
    for sx in (-2, 2):
        for sy in (-2, 2):
            for sz in (-2, 2):
                whole &= ((x + sx + 55) / 98) ** 2 + ((y + sy + 5) / 80) ** 2 + ((z + sz) / 50) ** 2 <= 1
    for (cx, cy, cz), (a, b, c) in (((-85, -15, 5), (20, 20, 20)), ((-15, 20, -10), (15, 12, 10))):
        whole &= (np.abs(x - cx) > a + 2) | (np.abs(y - cy) > b + 2) | (np.abs(z - cz) > c + 2)
    v_t1, v_t2 = V(20, 20, 20), V(15, 12, 10)
    v_n = V(98, 80, 50) - v_t1 - v_t2
    c_n = 2e9 * 0.92 / (v_n + 4 * v_t1 + 6 * v_t2)  # Bq/mL at administration
    assert whole.sum() > 15000
    np.testing.assert_allclose(pt.image.array[whole], c_n * df, rtol=1e-4)


def test_noise_is_seeded_poisson():
    a = make_arrays(noise=True, seed=7)
    b = make_arrays(noise=True, seed=7)
    c = make_arrays(noise=True, seed=8)
    np.testing.assert_array_equal(a.image.array, b.image.array)
    assert not np.array_equal(a.image.array, c.image.array)
    assert np.all(a.image.array == np.round(a.image.array))
    expected = 18000 * 2000 * math.exp(-LN2 * 20 / 64.1)
    # Poisson total has standard deviation sqrt(expected)
    assert abs(a.image.array.sum() - expected) < 5 * math.sqrt(expected)


@settings(max_examples=6, deadline=None)
@given(lsf=st.floats(0, 0.5), r1=st.floats(0.5, 20), r2=st.floats(0.5, 20), adm=st.floats(0.1, 10))
def test_property_sums_and_shunt(lsf, r1, r2, adm):
    tumours = [
        {"centre_mm": (-85, -15, 5), "radius_mm": 20, "ratio": r1},
        {"centre_mm": (-15, 20, -10), "semi_axes_mm": (15, 12, 10), "ratio": r2},
    ]
    p = make_arrays(fwhm_mm=0, lung_shunt_fraction=lsf, tumours=tumours, administered=Q_(adm, "GBq"))
    a = p.activity.array
    assert a.sum() == pytest.approx(adm * 1000, rel=1e-10)
    assert a[np.broadcast_to(_lung_slab(p), a.shape)].sum() == pytest.approx(lsf * adm * 1000, rel=1e-10, abs=1e-12)
    reg = p.truth.regions
    ratio = (reg["Tumour 2"].concentration / reg["Normal Liver"].concentration).to("").magnitude
    assert ratio == pytest.approx(r2, rel=1e-10)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"lung_shunt_fraction": 1.2}, "lung_shunt_fraction"),
        ({"administered": "2 Gy"}, "administered"),
        ({"administered": 2.0}, "administered"),
        ({"modality": "MR"}, "modality"),
        ({"size": "huge"}, "size"),
        ({"tumours": 9}, "tumours"),
        ({"tumours": [{"centre_mm": (60, 0, 0), "radius_mm": 20, "ratio": 3}]}, "tumours[0]"),
        ({"tumours": [{"centre_mm": (-85, -15, 5), "radius_mm": 10, "ratio": -1}]}, "tumours[0].ratio"),
        ({"tumours": [{"centre_mm": (-85, -15, 5), "ratio": 2}]}, "tumours[0]"),
        ({"tumours": [{"centre_mm": (-60, -5, 0), "radius_mm": 15, "ratio": 2},
                      {"centre_mm": (-40, -5, 0), "radius_mm": 10, "ratio": 2}]}, "tumours[1]"),
        ({"tumours": [{"centre_mm": (-60, -5, 0), "radius_mm": 0.5, "ratio": 2}]}, "tumours"),
        ({"fwhm_mm": -1}, "fwhm_mm"),
        ({"seed": -3}, "seed"),
        ({"hu": {"liver": 5000}}, "hu.liver"),
        ({"density": {"lung": "0.3 g"}}, "density.lung"),
        ({"patient_id": ""}, "patient_id"),
        ({"contrast": "yes"}, "contrast"),
    ],
)
def test_refusals_name_the_field(kwargs, field):
    with pytest.raises(InputError) as err:
        make_arrays(**kwargs)
    assert err.value.field == field


def test_contrast_option_changes_only_the_liver_ct_number():
    plain = make_arrays(fwhm_mm=0)
    enhanced = make_arrays(fwhm_mm=0, contrast=True)
    hu_p, hu_e = np.asarray(plain.hu.array), np.asarray(enhanced.hu.array)
    changed = hu_p != hu_e
    # normal liver 60 HU -> 120 HU (portal-venous enhancement); nothing else moves
    assert changed.any()
    assert set(np.unique(hu_p[changed])) == {60} and set(np.unique(hu_e[changed])) == {120}
    np.testing.assert_array_equal(plain.activity.array, enhanced.activity.array)
    assert plain.truth.regions["Liver"].mean_dose == enhanced.truth.regions["Liver"].mean_dose
    # an explicit hu override still wins over the contrast preset
    assert make_arrays(fwhm_mm=0, contrast=True, hu={"liver": 150}).truth.hu["liver"] == 150


@pytest.mark.parametrize("sigma", [[0.96, 0.96, 0.96], [0.4, 1.7, 0.6], [2.5, 0.2, 3.1]])
def test_blur_over_the_activity_box_equals_the_whole_grid_bit_for_bit(sigma):
    from scipy import ndimage

    from phantoms.patient import _blurred

    rng = np.random.default_rng(int(sigma[1] * 10))
    for box in [(slice(10, 30), slice(5, 20), slice(12, 40)), (slice(0, 3), slice(25, 32), slice(0, 48)), (slice(7, 8), slice(9, 10), slice(47, 48))]:
        counts = np.zeros((30, 32, 48))
        counts[box] = rng.gamma(2.0, 50.0, counts[box].shape) * (rng.random(counts[box].shape) < 0.7)
        whole = ndimage.gaussian_filter(counts, sigma=sigma, mode="constant", cval=0.0, truncate=4.0)
        assert _blurred(counts, sigma).tobytes() == whole.tobytes()
    assert _blurred(np.zeros((4, 5, 6)), sigma).tobytes() == np.zeros((4, 5, 6)).tobytes()
