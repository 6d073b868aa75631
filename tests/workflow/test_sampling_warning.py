"""The small-tumour warning agrees with what it predicts (issue 25, item 4): on the unblurred Y-90
SPECT phantom (4.42 mm voxels, volume-averaged emission) the bias the warning states is within 2
percentage points of the measured one for every tumour."""

import re

import pytest

from dosimetry.voxel import sampled_mean_fraction, sampling_recovery
from dosimetry.workflow.voxel import compute_dose

TUMOURS = ["Tumour 1", "Tumour 2", "Tumour 3", "Tumour 4"]


@pytest.fixture(scope="module")
def ldm(nm_unblurred_phantom):
    d, truth = nm_unblurred_phantom
    assert truth.fwhm_mm == 0 and tuple(truth.emission_grid.spacing_mm) == pytest.approx([4.42] * 3, abs=0.01)
    r = compute_dose(d / "nm", d / "rtstruct.dcm", liver_roi="Liver", tumour_rois=TUMOURS, lung_rois=["Lung L", "Lung R"], ct=d / "ct",
                     administered=truth.administered, method="ldm")
    return truth, r


def _stated(result, name) -> float:
    """The bias the warning states for ``name`` (a fraction)."""
    text = next(w for w in result.warnings if w.startswith(f"{name} ("))
    return int(re.search(r"about (\d+)% low", text).group(1)) / 100


def _calibration_scale(truth) -> float:
    """The relative calibration puts the administered activity in the liver + lung fractional masks,
    which hold activity_occupancy of each (97.1 % on this grid): every plain figure is raised by this,
    whatever the tumour (tests/workflow/test_voxel_accuracy.py)."""
    r = truth.regions
    return (truth.delivered / (r["Liver"].activity_occupancy + r["Lungs"].activity_occupancy)).to("").magnitude


@pytest.mark.parametrize("name", TUMOURS)
def test_stated_bias_within_2_points_of_the_measured(ldm, name):
    # predicted (the warning, with the measured T/N): 8.4, 15.4, 11.5, 11.8 %
    # measured, mean dose against the truth net of the calibration's +2.9 %: 8.6, 16.9, 11.9, 11.7 %
    # measured, T/N against the truth (no calibration in it): 7.5, 16.0, 10.9, 10.6 %
    truth, r = ldm
    predicted = 1 - sampled_mean_fraction(sampling_recovery(r.masks[name]), r.tumour_to_normal[name])
    assert _stated(r, name) == pytest.approx(predicted, abs=0.005 + 1e-9)  # the text rounds to 1 %
    dose = r.region(name).stats.mean.to("Gy").magnitude / _calibration_scale(truth)
    measured_dose = 1 - dose / truth.regions[name].mean_dose.to("Gy").magnitude
    measured_ratio = 1 - r.tumour_to_normal[name] / truth.regions[name].tumour_to_normal
    assert predicted == pytest.approx(measured_dose, abs=0.02)
    assert predicted == pytest.approx(measured_ratio, abs=0.02)
