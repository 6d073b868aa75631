"""Voxel dose against phantom ground truth (issue #11): local deposition against the
local-deposition truth, kernel convolution against the transport truth (phantoms.transport), on an
unblurred Y-90 PET phantom (4 mm grid, contours on 5 mm CT planes)."""

import pytest

from dosimetry.voxel import sampled_mean_fraction, sampling_recovery
from dosimetry.workflow.voxel import compute_dose
from phantoms import make_patient

TUMOURS = ["Tumour 1", "Tumour 2", "Tumour 3", "Tumour 4"]


@pytest.fixture(scope="module")
def pet(tmp_path_factory):
    out = tmp_path_factory.mktemp("pet_unblurred") / "patient"
    truth = make_patient(out, modality="PT", fwhm_mm=0, tumours=4)
    res = {
        m: compute_dose(out / "pt", out / "rtstruct.dcm", liver_roi="Liver", tumour_rois=TUMOURS, lung_rois=["Lung L", "Lung R"],
                        ct=out / "ct", administered=truth.administered, method=m, calibration="relative")
        for m in ("ldm", "kernel")
    }
    return truth, res


def _truth(truth, name, method):
    r = truth.regions[name]
    return (r.mean_dose if method == "ldm" else r.mean_dose_transport).to("Gy").magnitude


def _scale(truth):
    """Relative calibration of the unblurred, volume-averaged image: the administered activity is put
    in the liver + lung fractional masks, which hold activity_occupancy of each (97.4 % of it: the
    boundary voxels' parts outside the organs hold the rest), so every figure scales by this."""
    r = truth.regions
    return (truth.delivered / (r["Liver"].activity_occupancy + r["Lungs"].activity_occupancy)).to("").magnitude


@pytest.mark.parametrize("method", ["ldm", "kernel"])
def test_normal_liver_mean_within_2_percent(pet, method):
    # measured: LDM +1.3 %, kernel +1.7 % (the relative calibration's +2.7 %, less the boundary
    # voxels' share of the body outside the liver)
    truth, res = pet
    got = res[method].region("Normal liver").stats.mean.to("Gy").magnitude
    assert got == pytest.approx(_truth(truth, "Normal Liver", method), rel=0.02)


@pytest.mark.parametrize("name", TUMOURS + ["Normal Liver"])
def test_local_deposition_is_the_volume_averaged_image_mean(pet, name):
    # The image's voxels hold volume averages, so local deposition over a fractional ROI gives the
    # occupancy-weighted mean of the unblurred image (truth mean_dose_occupancy), scaled by the
    # relative calibration. The ROI's fractions come from contours on 5 mm CT planes, not from the
    # exact shapes: measured -0.4, +0.2, -0.2, +0.5 % for the tumours, 0.0 % for the normal liver.
    truth, res = pet
    got = res["ldm"].region("Normal liver" if name == "Normal Liver" else name).stats.mean.to("Gy").magnitude
    expected = truth.regions[name].mean_dose_occupancy.to("Gy").magnitude * _scale(truth)
    assert got == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("method", ["ldm", "kernel"])
def test_tumour_means_low_by_no_more_than_voxel_sampling(pet, method):
    # The voxel mean of a small tumour is low by the mixing of its boundary voxels with normal
    # liver: truth sampled_mean_fraction (exact occupancy, the warning's uniform-uptake model
    # (1 + (r - 1) s) / r with the exact s), raised by the relative calibration's scale. Measured
    # against that: LDM within 0.5 %; the kernel (against the transport truth) 1.6-3.1 pp higher, the
    # betas' escape being in both. Measured against the plain truth: LDM -5.3, -11.4, -8.8, -7.2 %,
    # kernel -3.3, -8.4, -6.0, -4.9 %, sampling -7.4, -13.8, -11.0, -10.0 %.
    truth, res = pet
    r = res[method]
    for name in TUMOURS:
        got = r.region(name).stats.mean.to("Gy").magnitude / _truth(truth, name, method) - 1
        bound = truth.regions[name].sampled_mean_fraction * _scale(truth) - 1
        assert bound - 0.01 <= got <= bound + 0.04, (name, got, bound)
        # the warning's model on the RTSTRUCT's fractions is within 3.5 pp of the exact one
        model = sampled_mean_fraction(sampling_recovery(r.masks[name]), truth.regions[name].tumour_to_normal)
        assert model == pytest.approx(truth.regions[name].sampled_mean_fraction, abs=0.035), name


def test_kernel_and_transport_truth_agree_better_than_local_deposition(pet):
    # the kernel is compared with a truth that has the betas' escape in it; local deposition's
    # truth does not: the kernel's errors are the smaller ones for every tumour
    truth, res = pet
    for name in TUMOURS:
        e_k = abs(res["kernel"].region(name).stats.mean.to("Gy").magnitude / _truth(truth, name, "kernel") - 1)
        e_l = abs(res["ldm"].region(name).stats.mean.to("Gy").magnitude / _truth(truth, name, "ldm") - 1)
        assert e_k < e_l, name


def test_small_tumours_are_flagged(pet):
    _, res = pet
    text = " ".join(res["kernel"].warnings)
    assert "Tumour 2 (" in text and "lower bounds" in text
