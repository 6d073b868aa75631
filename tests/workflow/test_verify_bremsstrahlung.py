"""Issue 20, bremsstrahlung: a Y-90 bremsstrahlung SPECT (NM, counts) as the post-treatment image.

Bremsstrahlung SPECT is not quantitative by itself; the relative calibration scales its counts to
the activity delivered, administered x (1 - residual) = 2 GBq x 0.95 = 1.9 GBq, shared as the counts
are shared. On an unblurred, noise-free phantom the delivered mean doses then match the phantom's
delivered truth (its truth.json, computed from the activities it placed, not by this code), and the
same figures come out of ``y90 verify`` on the NM folder as a user runs it.
"""

from __future__ import annotations

import json

import pytest

import phantoms

TRUTH_NAMES = {"Normal liver": "Normal Liver"}


@pytest.fixture(scope="module")
def bremsstrahlung(post_study, tmp_path_factory):
    planning, _ = post_study
    post = tmp_path_factory.mktemp("brems") / "post"
    phantoms.make_post_treatment(post, planning={"radionuclide": "Tc-99m", "fwhm_mm": 0.0}, modality="NM", fwhm_mm=0.0)
    return planning, post


@pytest.fixture(scope="module")
def verified(bremsstrahlung, tmp_path_factory):
    """verification.json of ``y90 verify`` on the NM folder, as a user runs it (local deposition)."""
    from dosimetry.cli import main

    planning, post = bremsstrahlung
    out = tmp_path_factory.mktemp("brems-verify") / "verification"
    code = main(["verify", str(planning / "patient.toml"), "--activity-image", str(post / "nm"), "--segmentation", str(post / "rtstruct.dcm"),
                 "--ct", str(post / "ct"), "--method", "ldm", "-o", str(out), "-q"])
    assert code in (0, 1)  # 1: adverse findings (Tumour 2 takes half its planned share)
    return out, json.loads((out / "verification.json").read_text()), json.loads((post / "truth.json").read_text())


def test_the_phantom_wrote_counts_not_activity(bremsstrahlung):
    import pydicom

    _, post = bremsstrahlung
    first = pydicom.dcmread(next((post / "nm").iterdir()))
    assert first.Modality == "NM" and str(getattr(first, "Units", "CNTS")).upper() in ("CNTS", "COUNTS")


@pytest.mark.parametrize("region, tolerance", [("Liver", 0.03), ("Normal liver", 0.03), ("Lungs", 0.05), ("Tumour 1", 0.10)])
def test_relative_calibration_of_counts_gives_the_delivered_truth(verified, region, tolerance):
    _, doc, truth = verified
    r = next(r for r in doc["regions"] if r["name"] == region)
    expected = truth["regions"][TRUTH_NAMES.get(region, region)]["mean_dose"]["value"]
    assert r["delivered"]["mean"]["unit"] == "Gy"
    assert r["delivered"]["mean"]["value"] == pytest.approx(expected, rel=tolerance)


def test_the_counts_are_scaled_to_the_delivered_activity(verified):
    out, doc, _ = verified
    assert doc["delivery"]["delivered"] == {"value": pytest.approx(2.0 * (1 - 0.05)), "unit": "GBq"}
    assert any(out.glob("*.pdf"))
