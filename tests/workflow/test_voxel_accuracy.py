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


@pytest.mark.parametrize("method", ["ldm", "kernel"])
def test_normal_liver_mean_within_2_percent(pet, method):
    truth, res = pet
    got = res[method].region("Normal liver").stats.mean.to("Gy").magnitude
    assert got == pytest.approx(_truth(truth, "Normal Liver", method), rel=0.02)


@pytest.mark.parametrize("method", ["ldm", "kernel"])
def test_tumour_means_low_by_no_more_than_voxel_sampling(pet, method):
    # The voxel mean of a small tumour is low by the mixing of its boundary voxels with normal
    # liver; the uniform-uptake sampling model (dosimetry.voxel.sampled_mean_fraction, at the
    # prescribed T/N) bounds that loss. Measured: LDM -3.6 to -9.9 %, kernel (against the
    # transport truth) -2.5 to -8.0 %; the sampling model predicts -7.6 to -11.9 %. Normal liver
    # +1.0 % (LDM), +1.3 % (kernel).
    truth, res = pet
    r = res[method]
    for name in TUMOURS:
        got = r.region(name).stats.mean.to("Gy").magnitude / _truth(truth, name, method) - 1
        bound = sampled_mean_fraction(sampling_recovery(r.masks[name]), truth.regions[name].tumour_to_normal) - 1
        assert bound - 0.02 <= got <= 0.01, (name, got, bound)


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
