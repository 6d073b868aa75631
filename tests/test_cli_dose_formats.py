"""`y90 dose` and `y90 report` with NRRD / NIfTI images and segmentations (issue 13)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from dosimetry.cli import main
from dosimetry.io import load_rtdose, load_series, read_rtstruct, roi_mask
from dosimetry.io.volumes import read_volume, write_volume
sys.path.insert(0, str(Path(__file__).parent / "io"))
from seg_factory import write_seg_nrrd  # noqa: E402

ROI_ARGS = ["--tumour", "Tumour 1", "--tumour", "Tumour 2", "--lung", "Lung L", "--lung", "Lung R", "--method", "ldm", "--administered", "2 GBq"]


@pytest.fixture(scope="module")
def forms(tmp_path_factory, dose_phantom):
    """The session's default NM phantom (tests/conftest.py, read only; it was a seed-21 copy of it: the seed
    changes only noise, which is off, and the transport truth, not read here) and its images as NRRD /
    NIfTI / .seg.nrrd in this module's own folder, where the tests also write their outputs."""
    d = tmp_path_factory.mktemp("cli_formats")
    p = dose_phantom
    nm, ct = load_series(p / "nm").volume, load_series(p / "ct").volume
    write_volume(nm, d / "spect.nrrd")
    write_volume(ct, d / "ct.nii.gz")
    rs = read_rtstruct(p / "rtstruct.dcm")
    m = {n: np.asarray(roi_mask(rs, n, nm).array, bool) for n in ("Liver", "Tumour 1", "Tumour 2", "Lung L", "Lung R")}
    write_seg_nrrd(d / "rois.seg.nrrd", [[("Liver", m["Liver"])], [(n, m[n]) for n in ("Tumour 1", "Tumour 2", "Lung L", "Lung R")]], nm)
    return d, p


def _means(out):
    doc = json.loads((out / "regions.json").read_text())
    return {n: r["mean"]["value"] for n, r in doc["regions"].items()}


def test_nrrd_activity_and_seg_nrrd_through_the_cli(forms, capsys):
    d, p = forms
    code = main(["--quiet", "dose", "--activity-image", str(p / "nm"), "--ct", str(p / "ct"), "--rtstruct", str(p / "rtstruct.dcm"), *ROI_ARGS,
                 "--dose-format", "nifti", "-o", str(d / "dicom_out")])
    assert code in (0, 1)
    assert capsys.readouterr().out.splitlines()[0] == "Patient PHANTOM-001"  # PatientID (0010,0020) of the DICOM inputs
    code = main(["--quiet", "dose", "--activity-image", str(d / "spect.nrrd"), "--activity-unit", "counts", "--ct", str(d / "ct.nii.gz"),
                 "--segmentation", str(d / "rois.seg.nrrd"), *ROI_ARGS, "-o", str(d / "nrrd_out")])
    assert code in (0, 1)
    assert capsys.readouterr().out.splitlines()[0] == "Patient not given (no DICOM PatientID in the inputs)"  # was "Patient -"
    assert (d / "nrrd_out" / "dose.nrrd").is_file() and not (d / "nrrd_out" / "rtdose.dcm").exists()
    import nrrd

    header = nrrd.read_header(str(d / "nrrd_out" / "dose.nrrd"))
    assert header["value_unit"] == "Gy" and "units" not in header and header["space"] == "left-posterior-superior"
    # the same yes/no masks through the library's DICOM path (the CLI rasterizes RTSTRUCT contours as
    # partial-volume fractions, which the binary .seg.nrrd written above cannot hold)
    from dosimetry.workflow import compute_dose

    ref = compute_dose(p / "nm", p / "rtstruct.dcm", ct=p / "ct", liver_roi="Liver", tumour_rois=("Tumour 1", "Tumour 2"), lung_rois=("Lung L", "Lung R"),
                       method="ldm", administered="2 GBq", partial_volume=False)
    want, got = {r.name: r.stats.mean.to("Gy").magnitude for r in ref.regions}, _means(d / "nrrd_out")
    assert set(got) == set(want)
    for n in want:
        assert got[n] == pytest.approx(want[n], rel=0.005), n
    # the NIfTI dose of the DICOM run is the dose map on the SPECT grid, in Gy, as the NRRD one (the
    # NIfTI CT's float32 affine moves the CT interpolation by up to 0.5 HU: differences < 0.1 % of the max)
    # The DICOM run's partial-volume ROIs differ from the yes/no .seg.nrrd masks at the boundaries, so
    # the relative calibration (liver + lungs hold 2 GBq) scales the two maps by slightly different
    # factors: the maps must be proportional (one factor, within float32 and the CT affine's 0.5 HU),
    # and the air rule (no dose below 0.05 g/mL outside every ROI) may differ in boundary voxels.
    a, b = read_volume(d / "dicom_out" / "dose.nii.gz"), read_volume(d / "nrrd_out" / "dose.nrrd")
    assert a.same_grid(b, tol_mm=1e-3)
    av, bv = np.asarray(a.array, float), np.asarray(b.array, float)
    both = (av > 1e-3 * av.max()) & (bv > 1e-3 * bv.max())
    assert both.sum() > 0.9 * (av > 1e-3 * av.max()).sum()
    ratio = bv[both] / av[both]
    assert np.percentile(np.abs(ratio / np.median(ratio) - 1), 90) < 1e-5  # one scale factor ...
    assert np.max(np.abs(ratio / np.median(ratio) - 1)) < 1e-2  # ... but at the few voxels where the NIfTI CT's float32 affine moves the density
    assert abs(np.median(ratio) - 1) < 0.02


def test_rt_dose_and_nifti_dose_hold_the_same_map(forms):
    d, p = forms
    out = d / "rtdose_out"
    main(["--quiet", "dose", "--activity-image", str(p / "nm"), "--rtstruct", str(p / "rtstruct.dcm"), *ROI_ARGS, "-o", str(out)])
    out2 = d / "nifti_out"
    main(["--quiet", "dose", "--activity-image", str(p / "nm"), "--rtstruct", str(p / "rtstruct.dcm"), *ROI_ARGS, "--dose-format", "nifti", "-o", str(out2)])
    rt = load_rtdose(out / "rtdose.dcm").volume
    ni = read_volume(out2 / "dose.nii.gz")
    assert rt.same_grid(ni, tol_mm=1e-3)
    assert np.max(np.abs(np.asarray(rt.array) - np.asarray(ni.array))) < 1e-4 * float(np.max(rt.array))


@pytest.mark.parametrize("extra, message", [
    ([], "--activity-unit: "),  # issue 16: the flag, was the patient-file key imaging.activity_unit
    # issue 18: a relative calibration needs no time; an absolute one does, and says why
    (["--activity-unit", "Bq/mL", "--calibration", "absolute"], "--activity-time: absolute calibration takes the image's Bq/mL as the activity at the administration"),
    (["--activity-unit", "counts", "--dose-format", "dicom"], "--dose-format: an RT Dose needs DICOM"),
    (["--activity-unit", "furlongs"], "--activity-unit: 'furlongs' is not allowed"),
])
def test_refusals_one_line_exit_2_no_output(forms, tmp_path, capsys, extra, message):
    d, _ = forms
    code = main(["--quiet", "dose", "--activity-image", str(d / "spect.nrrd"), "--segmentation", str(d / "rois.seg.nrrd"), *ROI_ARGS, *extra,
                 "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_report_from_a_patient_file_with_nrrd_inputs(forms, tmp_path, capsys):
    d, _ = forms
    text = (Path(__file__).parents[1] / "dosimetry" / "examples" / "glass.toml").read_text()
    text = text.split("[imaging]")[0] + f"""
[imaging]
activity = "{d / 'spect.nrrd'}"
activity_unit = "counts"
ct = "{d / 'ct.nii.gz'}"
segmentation = "{d / 'rois.seg.nrrd'}"
method = "ldm"
dose_format = "nifti"

[imaging.rois]
liver = "Liver"
tumours = ["Tumour 1"]
lungs = ["Lung L", "Lung R"]
"""
    (tmp_path / "p.toml").write_text(text)
    code = main(["--quiet", "report", str(tmp_path / "p.toml"), "-o", str(tmp_path / "out")])
    assert code in (0, 1)
    assert (tmp_path / "out" / "dose.nii.gz").is_file() and not (tmp_path / "out" / "rtdose.dcm").exists()
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "Tumour 1" in json.dumps(doc)
