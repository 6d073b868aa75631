"""Partial-volume correction on the blurred MAA phantom (issue 25): corrected tumour-to-normal ratios
and tumour mean doses against the phantom's ground truth, the plain figures unchanged."""

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.units import Q_
from dosimetry.workflow.voxel import load_imaging, voxel_dose

TUMOURS = ["Tumour 1", "Tumour 2", "Tumour 3", "Tumour 4"]


@pytest.fixture(scope="module")
def maa(maa_blurred_phantom):
    d, truth = maa_blurred_phantom
    assert truth.fwhm_mm == 10.0  # the demo's camera
    inputs = load_imaging(d / "nm", d / "rtstruct.dcm", liver_roi="Liver", tumour_rois=TUMOURS, lung_rois=["Lung L", "Lung R"], ct=d / "ct")
    kw = dict(administered=truth.administered)
    res = {
        "plain": voxel_dose(inputs, method="kernel", **kw),
        "kernel": voxel_dose(inputs, method="kernel", pv_correction="gtm", fwhm=Q_(10, "mm"), **kw),
        "ldm": voxel_dose(inputs, method="ldm", pv_correction="gtm", fwhm="10 mm", **kw),
    }
    return truth, res, inputs


def _tolerance(truth, name):
    """5 % for tumours of 15 mL and more, 10 % for 7-15 mL (issue 25)."""
    v = truth.regions[name].volume.to("mL").magnitude
    assert v >= 7
    return 0.05 if v >= 15 else 0.10


@pytest.mark.parametrize("name", TUMOURS)
def test_corrected_tumour_to_normal_against_the_truth(maa, name):
    # measured: +0.0, -0.9, +1.3, +0.8 % (plain: -17.5, -34.8, -26.3, -24.6 %)
    truth, res, _ = maa
    r = truth.regions[name].tumour_to_normal
    corrected = res["kernel"].partial_volume.tumour_to_normal[name]
    assert corrected == pytest.approx(r, rel=_tolerance(truth, name))
    assert res["ldm"].partial_volume.tumour_to_normal[name] == pytest.approx(corrected, rel=1e-9)  # no dose in it
    assert abs(res["plain"].tumour_to_normal[name] / r - 1) > 0.15  # the plain ratio is blur-biased: the test can fail


@pytest.mark.parametrize("name", TUMOURS)
def test_corrected_tumour_mean_dose_against_the_transport_truth(maa, name):
    # kernel against the transport truth: measured -0.4, -1.6, +0.3, -0.0 % (plain -10, -27, -18, -17 %)
    truth, res, _ = maa
    got = res["kernel"].partial_volume.tumour_mean_dose[name].to("Gy").magnitude
    expected = truth.regions[name].mean_dose_transport.to("Gy").magnitude
    assert got == pytest.approx(expected, rel=_tolerance(truth, name))
    assert res["plain"].region(name).stats.mean.to("Gy").magnitude < 0.92 * expected


@pytest.mark.parametrize("name", TUMOURS)
def test_corrected_local_deposition_dose_against_the_local_truth(maa, name):
    # local deposition against the local-deposition truth K c_T / rho: measured +0.1, -0.8, +1.4, +0.8 %
    truth, res, _ = maa
    got = res["ldm"].partial_volume.tumour_mean_dose[name].to("Gy").magnitude
    assert got == pytest.approx(truth.regions[name].mean_dose.to("Gy").magnitude, rel=_tolerance(truth, name))


def test_corrected_concentrations_and_recovery(maa):
    # the normal liver's corrected concentration is the truth's (0.988 MBq/mL for 2 GBq, LSF 8 %);
    # recovery = plain / corrected mean of the image: hot tumours < 1, the smaller the lower
    truth, res, _ = maa
    pv = res["kernel"].partial_volume
    assert pv.corrected_mean["Normal liver"].to("MBq/mL").magnitude == pytest.approx(truth.regions["Normal Liver"].concentration.to("MBq/mL").magnitude, rel=0.01)
    for n in TUMOURS:
        assert pv.corrected_mean[n].to("MBq/mL").magnitude == pytest.approx(truth.regions[n].concentration.to("MBq/mL").magnitude, rel=_tolerance(truth, n))
        assert 0.5 < pv.recovery[n] < 0.85
    assert pv.recovery["Tumour 2"] < pv.recovery["Tumour 1"]
    assert set(pv.corrected_mean) == {r.name for r in res["kernel"].regions}


def test_plain_figures_unchanged_by_the_option(maa):
    _, res, _ = maa
    a, b = res["plain"], res["kernel"]
    assert a.partial_volume is None
    assert a.tumour_to_normal == b.tumour_to_normal and a.lung_shunt_fraction == b.lung_shunt_fraction
    assert a.warnings == b.warnings
    np.testing.assert_array_equal(a.dose.array, b.dose.array)
    for ra, rb in zip(a.regions, b.regions):
        assert ra.name == rb.name and ra.stats == rb.stats and ra.activity == rb.activity


def test_correction_needs_a_fwhm_and_a_known_method(maa):
    with pytest.raises(InputError) as e:
        voxel_dose(None, pv_correction="gtm")
    assert e.value.field == "imaging.fwhm" and "never guessed" in e.value.message
    with pytest.raises(InputError) as e:
        voxel_dose(None, pv_correction="rbv", fwhm="10 mm")
    assert e.value.field == "imaging.partial_volume"
    with pytest.raises(InputError) as e:
        voxel_dose(None, fwhm="10 mm")
    assert e.value.field == "imaging.fwhm"
    for bad in ("10", "0 mm", "10 cm", "1 GBq"):
        with pytest.raises(InputError) as e:
            voxel_dose(None, pv_correction="gtm", fwhm=bad)
        assert e.value.field == "imaging.fwhm", bad


def test_without_tumours_the_liver_and_lungs_are_corrected(maa):
    # no tumour ROI: the liver (tumours inside it) is one region; the lungs keep their own
    from dataclasses import replace

    truth, _, inputs = maa
    r = voxel_dose(replace(inputs, tumours={}), method="ldm", pv_correction="GTM", fwhm="10 mm", administered=truth.administered)
    pv = r.partial_volume
    assert set(pv.corrected_mean) == {"Liver", "Lungs"} and pv.tumour_to_normal == {}
    lungs = truth.regions["Lungs"]
    assert pv.corrected_mean["Lungs"].to("MBq/mL").magnitude == pytest.approx(lungs.activity.to("MBq").magnitude / lungs.volume.to("mL").magnitude, rel=0.05)
