"""`y90 dose --partial-volume gtm --fwhm` (issue 25): corrected figures beside the plain ones in regions.json."""

import json

import pytest

from dosimetry.cli import main

TUMOURS = ["Tumour 1", "Tumour 2", "Tumour 3", "Tumour 4"]


def _args(p, out, *extra):
    tumours = [x for n in TUMOURS for x in ("--tumour", n)]
    return ["--quiet", "dose", "--activity-image", str(p / "nm"), "--ct", str(p / "ct"), "--rtstruct", str(p / "rtstruct.dcm"),
            "--administered", "2 GBq", *tumours, "--lung", "Lung L", "--lung", "Lung R", "--method", "ldm", "-o", str(out), *extra]


@pytest.fixture(scope="module")
def written(maa_blurred_phantom, tmp_path_factory):
    p, truth = maa_blurred_phantom
    base = tmp_path_factory.mktemp("cli_pvc")
    assert main(_args(p, base / "plain")) in (0, 1)
    assert main(_args(p, base / "gtm", "--partial-volume", "gtm", "--fwhm", "10 mm")) in (0, 1)
    load = lambda name: json.loads((base / name / "regions.json").read_text())  # noqa: E731
    return truth, load("plain"), load("gtm")


def test_regions_gain_corrected_figures(written):
    truth, _, doc = written
    assert doc["partial_volume"]["method"] == "gtm" and doc["partial_volume"]["fwhm"] == {"value": 10.0, "unit": "mm"}
    for name, region in doc["regions"].items():
        assert region["corrected_mean"]["unit"] == "MBq/mL" and region["corrected_mean"]["value"] > 0, name
        assert 0 < region["recovery"] < 1.2, name
    for n in TUMOURS:
        r = doc["regions"][n]
        assert r["corrected_tumour_to_normal"] == pytest.approx(truth.regions[n].tumour_to_normal, rel=0.10)
        assert r["corrected_mean_dose"]["unit"] == "Gy"
        assert r["corrected_tumour_to_normal"] > r["tumour_to_normal"]
    assert "corrected_tumour_to_normal" not in doc["regions"]["Normal liver"]


def test_plain_figures_and_assessment_unchanged(written):
    _, plain, doc = written
    assert "partial_volume" not in plain and "corrected_mean" not in plain["regions"]["Liver"]
    assert plain["assessment"] == doc["assessment"]
    for name, region in plain["regions"].items():
        assert {k: v for k, v in doc["regions"][name].items() if not k.startswith(("corrected", "recovery"))} == region


@pytest.mark.parametrize("extra, flag", [(["--partial-volume", "gtm"], "--fwhm"), (["--fwhm", "10 mm"], "--fwhm"),
                                         (["--partial-volume", "gtm", "--fwhm", "10"], "--fwhm")])
def test_refusals_name_the_flag(maa_blurred_phantom, tmp_path, capsys, extra, flag):
    p, _ = maa_blurred_phantom
    out = tmp_path / "dose"
    assert main(_args(p, out, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"y90: {flag}: ") or f"{flag}: " in err
    assert err.count("\n") == 1 and not out.exists()
