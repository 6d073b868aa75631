"""`y90 dose` and `y90 dvh` on a phantom: files written, round trip through RT Dose, refusals."""

import json

import pydicom
import pytest

from dosimetry.cli import main


@pytest.fixture(scope="module")
def patient(dose_phantom):
    return dose_phantom  # tests/conftest.py: written once per session


def dose_args(p, out, *extra):
    return ["--quiet", "dose", "--activity-image", str(p / "nm"), "--ct", str(p / "ct"), "--rtstruct", str(p / "rtstruct.dcm"),
            "--administered", "2 GBq", "--tumour", "Tumour 1", "--lung", "Lung L", "--lung", "Lung R", "--device", "glass", "-o", str(out), *extra]


@pytest.fixture(scope="module")
def dose_2gbq(patient, tmp_path_factory):
    """`y90 dose` with the default arguments (kernel, 2 GBq, glass), run once for the tests that only read
    its output: (exit code, output folder)."""
    out = tmp_path_factory.mktemp("dose_2gbq") / "dose"
    return main(dose_args(patient, out)), out


def test_dose_then_dvh_round_trip(patient, tmp_path, capsys):
    out = tmp_path / "dose"
    assert main(dose_args(patient, out, "--method", "ldm")) == 0
    assert sorted(f.name for f in out.iterdir()) == ["dvh.csv", "regions.json", "rtdose.dcm"]
    regions = json.loads((out / "regions.json").read_text())["regions"]
    truth = json.loads((patient / "truth.json").read_text())["regions"]
    # liver + lungs hold the administered 2 GBq (relative calibration)
    assert regions["Liver"]["activity"]["value"] + regions["Lungs"]["activity"]["value"] == pytest.approx(2.0, rel=1e-9)
    assert regions["Liver"]["volume"]["value"] == pytest.approx(truth["Liver"]["volume"]["value"], rel=0.02)
    capsys.readouterr()
    # dvh of the written RT Dose gives the same liver mean within the 32-bit scaling step
    assert main(["dvh", "--dose", str(out / "rtdose.dcm"), "--rtstruct", str(patient / "rtstruct.dcm"), "--roi", "Liver", "--format", "json"]) == 0
    dvh = json.loads(capsys.readouterr().out)
    assert dvh["Liver"]["mean"]["value"] == pytest.approx(regions["Liver"]["mean"]["value"], rel=1e-6)
    header = (out / "dvh.csv").read_text().splitlines()[0]
    assert header.startswith("dose_Gy,") and '"Liver volume_%"' in header


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda a: [x for x in a if x not in ("--administered", "2 GBq")], "administered: relative calibration needs"),
        (lambda a: [("Tumour 9" if x == "Tumour 1" else x) for a_ in [a] for x in a_], "no ROI named 'Tumour 9'"),
        (lambda a: [("2 Gy" if x == "2 GBq" else x) for x in a], "administered: "),
    ],
)
def test_dose_refusals_leave_no_output(patient, tmp_path, capsys, edit, message):
    out = tmp_path / "dose"
    code = main(edit(dose_args(patient, out)))
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not out.exists() and not any(p.name.startswith(".dose") for p in tmp_path.iterdir())


def test_dose_refuses_output_inside_input(patient, capsys):
    code = main(dose_args(patient, patient / "ct" / "out"))
    assert code == 2 and "lies inside the input folder" in capsys.readouterr().err
    assert not (patient / "ct" / "out").exists()
    code = main(dose_args(patient, patient))
    assert code == 2 and "not an empty folder" in capsys.readouterr().err


def test_dvh_unknown_roi(patient, dose_2gbq, capsys):
    code, out = dose_2gbq
    assert code == 0
    assert main(["dvh", "--dose", str(out / "rtdose.dcm"), "--rtstruct", str(patient / "rtstruct.dcm"), "--roi", "Kidney"]) == 2
    assert "no ROI named 'Kidney'" in capsys.readouterr().err


def test_dvh_refuses_structure_set_of_another_patient(patient, dose_2gbq, tmp_path, capsys):
    # the same structure set as another patient's: a copy with that patient's PatientID
    other = pydicom.dcmread(patient / "rtstruct.dcm")
    assert other.PatientID != "PHANTOM-002"
    other.PatientID = "PHANTOM-002"
    other.save_as(tmp_path / "rtstruct.dcm")
    code, out = dose_2gbq
    assert code == 0
    args = ["dvh", "--dose", str(out / "rtdose.dcm"), "--rtstruct", str(tmp_path / "rtstruct.dcm"), "--roi", "Liver"]
    assert main(args) == 2
    assert "PatientID" in capsys.readouterr().err
    assert main(args + ["--allow-mismatch"]) == 0


def test_dose_checks_the_limits_and_exits_1_when_one_fails(patient, dose_2gbq, tmp_path, capsys):
    """Issue 9: `y90 dose` goes through the same assessment as `y90 plan` and `y90 report`."""
    # 2 GBq gives the lungs a voxel mean of about 12.7 Gy; 6 GBq three times that, about 38 Gy > 30 Gy
    # (dose is linear in the administered activity with relative calibration).
    code, d0 = dose_2gbq
    assert code == 0
    regions_2gbq = json.loads((d0 / "regions.json").read_text())["regions"]
    lung_2gbq, normal_2gbq = regions_2gbq["Lungs"]["mean"]["value"], regions_2gbq["Normal liver"]["mean"]["value"]
    args = dose_args(patient, tmp_path / "d1")
    args[args.index("2 GBq")] = "6 GBq"
    code = main(args)
    out = capsys.readouterr().out
    assert code == 1
    assert "BLOCKED by lung dose (this treatment) <= 30 Gy (voxel)" in out
    doc = json.loads((tmp_path / "d1" / "regions.json").read_text())
    (lung,) = [c for c in doc["assessment"]["safety"] if c["name"] == "lung_dose"]
    assert lung["pass"] is False and lung["value"]["value"] == pytest.approx(3 * lung_2gbq, rel=1e-4)
    assert lung["value"]["value"] > 30
    # largest safe activity: the smaller of 6 GBq * 30 / lung dose and 6 GBq * 75 * 0.999 / normal liver
    # (glass whole normal liver < 75 Gy, strict: 0.1 % below it)
    caps = (6 * 30 / (3 * lung_2gbq), 6 * 75 * 0.999 / (3 * normal_2gbq))
    assert doc["assessment"]["max_safe_activity"]["value"] == pytest.approx(min(caps), rel=1e-4)
    # without a device both devices' limits apply: resin's < 40 Gy perfused normal liver fails at 2 GBq
    args = dose_args(patient, tmp_path / "d2")
    i = args.index("--device")
    del args[i:i + 2]
    assert main(args) == 1
    assert "perfused normal liver dose < 40 Gy (resin)" in capsys.readouterr().out
def test_dose_names_density_and_lung_methods(patient, tmp_path, capsys):
    out = tmp_path / "scaled"
    assert main(dose_args(patient, out, "--density-method", "liver_nominal", "--lung-method", "density_scaled")) == 0
    doc = json.loads((out / "regions.json").read_text())
    assert doc["density_method"].startswith("nominal 1.03 g/mL inside the liver and tumour ROIs")
    assert doc["lung_method"].startswith("kernel range-scaled to the mean lung density")
    assert "30 %" in doc["lung_method"]


def test_dose_without_lung_rois_is_not_within_limits(patient, tmp_path, capsys):
    # adversarial case: no --lung -> the lung dose is never checked; the verdict must not be
    # "WITHIN LIMITS" (exit 0) but a decision naming the missing lung assessment (exit 1)
    args = [a for a in dose_args(patient, tmp_path / "d") if a not in ("--lung", "Lung L", "Lung R", "--quiet")]
    capsys.readouterr()
    assert main(args) == 1
    out = capsys.readouterr()
    assert "NEEDS A DECISION" in out.out + out.err and "lung dose not assessed" in out.out + out.err
