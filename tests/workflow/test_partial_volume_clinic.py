"""`y90 dose --partial-volume` on files shaped as a clinic's (issue 25): a lobar MAA SPECT as int16
counts in NRRD, blurred by a 10 mm FWHM camera, a Slicer .seg.nrrd with the perfused lobe and
segment names as typed, the lungs outside the field of view, noise negatives."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from dosimetry.cli import main

sys.path.insert(0, str(Path(__file__).parent))
import clinic_files as c  # noqa: E402

# tests/workflow/clinic_files.py: tumour-to-normal 4.41 and 3.72 against the perfused normal liver
RATIOS = {"tumor 1": 4.41, "tumor 2": 3.72}


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    d = c.write_clinic(tmp_path_factory.mktemp("clinic_pvc"))
    counts = 10.0 * np.maximum(c.maa_counts(), 0)  # x 10: int16 rounding below 0.05 % of the normal liver
    sigma = 10.0 / (2 * np.sqrt(2 * np.log(2))) / c.SPACING  # the camera, 10 mm FWHM on 5 mm voxels
    blurred = np.rint(ndimage.gaussian_filter(counts, sigma, mode="constant")).astype(np.int16)
    for idx, v in c.NOISE.items():
        blurred[idx] = v
    c.write_image(d / "spect10.nrrd", blurred, blurred.shape, np.int16)
    return d


def _dose(d, out, *extra):
    return main(["--quiet", "dose", "--activity-image", str(d / "spect10.nrrd"), "--activity-unit", "counts", "--ct", str(d / "ct.nrrd"),
                 "--segmentation", str(d / "rois.seg.nrrd"), "--liver", "liver", "--perfused", "perfused volume", "--tumour", "tumor 1",
                 "--tumour", "tumor 2", "--administered", "2 GBq", "--method", "ldm", "-o", str(out), *extra])


def test_corrected_ratios_on_a_clinic_s_files(clinic, tmp_path):
    assert _dose(clinic, tmp_path / "plain") in (0, 1)
    assert _dose(clinic, tmp_path / "gtm", "--partial-volume", "gtm", "--fwhm", "10 mm") in (0, 1)
    plain = json.loads((tmp_path / "plain" / "regions.json").read_text())["regions"]
    doc = json.loads((tmp_path / "gtm" / "regions.json").read_text())
    regions = doc["regions"]
    for name, r in RATIOS.items():
        assert plain[name]["tumour_to_normal"] < 0.85 * r  # the camera's blur: about 0.7 of the ratio
        assert regions[name]["tumour_to_normal"] == plain[name]["tumour_to_normal"]
        assert regions[name]["corrected_tumour_to_normal"] == pytest.approx(r, rel=0.01)
    # the lobe outside the territory holds no MAA: the whole normal liver's corrected concentration is
    # the perfused normal liver's x 7706 / 11706 (volumes in clinic_files.py)
    ratio = regions["Whole normal liver"]["corrected_mean"]["value"] / regions["Perfused normal liver"]["corrected_mean"]["value"]
    assert ratio == pytest.approx(7706 / 11706, rel=0.01)
    assert doc["partial_volume"]["condition_number"] < 10
