"""`y90 dose` refusals of issue 16: ROIs in the wrong role, reference time far from the administration,
errors naming the command's flags, unit spelling, a time given for counts. Each refusal exits 2 with
one line on stderr and writes nothing."""

import pytest

from dosimetry.cli import main
from dosimetry.io import load_series
from dosimetry.io.volumes import write_volume

ADMIN = "2026-01-15T10:00+01:00"


@pytest.fixture(scope="module")
def patient(tmp_path_factory, maa_phantom):
    d = tmp_path_factory.mktemp("dose_inputs")
    p = maa_phantom  # make_patient(seed=7, radionuclide="Tc-99m"), shared read-only
    write_volume(load_series(p / "nm").volume, d / "spect.nrrd")  # the counts, declared in each test
    return d, p


def _dicom(p, out, *rois):
    return ["--quiet", "dose", "--activity-image", str(p / "nm"), "--ct", str(p / "ct"), "--rtstruct", str(p / "rtstruct.dcm"),
            "--administered", "2 GBq", "--device", "glass", "--method", "ldm", "-o", str(out), *rois]


def _nrrd(d, p, out, *extra):
    return ["--quiet", "dose", "--activity-image", str(d / "spect.nrrd"), "--rtstruct", str(p / "rtstruct.dcm"), "--administered", "2 GBq",
            "--lung", "Lung L", "--lung", "Lung R", "--method", "ldm", "-o", str(out), *extra]


def _refused(capsys, out, code, start):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("y90: error: " + start), err
    assert err.count("\n") == 1 and not out.exists()
    return err


@pytest.mark.parametrize(
    "rois, start",
    [
        # the tester's example: exit 0 WITHIN LIMITS with "Tumour-to-normal ratio Lung L: 0.06"
        (["--liver", "Liver", "--tumour", "Lung L", "--lung", "Lung R"], "--tumour: tumour ROI 'Lung L' (1065 mL) lies 0% inside the liver ROI"),
        (["--tumour", "Tumour 1", "--lung", "Tumour 1"], "--tumour: ROI 'Tumour 1' is also a lung ROI"),
        (["--liver", "Liver", "--lung", "Liver"], "--lung: ROI 'Liver' is also the liver"),
    ],
)
def test_rois_in_the_wrong_role_are_refused(patient, tmp_path, capsys, rois, start):
    d, p = patient
    out = tmp_path / "out"
    _refused(capsys, out, main(_dicom(p, out, *rois)), start)


@pytest.mark.parametrize(
    "extra, start",
    [
        # the tester's example: 213 days -> decay factor 2^80, liver mean 2.9e28 Gy, exit 1, files written
        (["--activity-unit", "Bq/mL", "--activity-time", "2026-08-16T10:00+01:00", "--administration-time", ADMIN],
         "--activity-time: is 213.0 days after the administration; plausible within 30 days"),
        (["--activity-unit", "Bq/mL", "--activity-time", "2026-01-15T09:00+01:00", "--administration-time", ADMIN], "--activity-time: is before the administration time"),
        (["--activity-unit", "Bq/mL", "--activity-time", "2026-01-16T09:00+01:00"], "--administration-time: needed to decay-correct"),
        # issue 18: only an absolute calibration needs the time (a relative one scales the image)
        (["--activity-unit", "Bq/mL", "--calibration", "absolute"], "--activity-time: absolute calibration takes the image's Bq/mL as the activity at the administration"),
        ([], "--activity-unit: "),
        (["--activity-unit", "mBq/mL", "--activity-time", "administration"], "--activity-unit: 'mBq/mL' is not allowed (milli-becquerel is not accepted"),
        # counts need no reference time: was silently ignored
        (["--activity-unit", "counts", "--activity-time", "administration"], "--activity-time: only for an activity image in Bq/mL"),
    ],
)
def test_reading_errors_name_the_flags(patient, tmp_path, capsys, extra, start):
    d, p = patient
    out = tmp_path / "out"
    err = _refused(capsys, out, main(_nrrd(d, p, out, *extra)), start)
    assert "imaging." not in err


@pytest.mark.parametrize("unit", ["bq/ml", "BQ/mL", "Counts"])
def test_documented_units_in_any_case(patient, tmp_path, capsys, unit):
    d, p = patient
    out = tmp_path / "out"
    time = [] if unit == "Counts" else ["--activity-time", "Administration"]
    assert main(_nrrd(d, p, out, "--activity-unit", unit, *time)) in (0, 1), capsys.readouterr().err
    assert (out / "dose.nrrd").is_file()
