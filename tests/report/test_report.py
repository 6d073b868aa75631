"""`y90 report` and `y90 demo`: files, figures against the phantom truth, refusals, no partial output."""

import json
import re

import numpy as np
import pydicom
import pytest
from pypdf import PdfReader

from pathlib import Path

import dosimetry
from dosimetry.cli import main

EXAMPLES_DIR = Path(dosimetry.__file__).parent / "examples"


def test_demo_writes_every_file(demo):
    out, code, _ = demo
    assert code == 0
    assert sorted(p.name for p in (out / "report").iterdir()) == ["dvh.csv", "report.json", "report.pdf", "rtdose.dcm", "summary.txt"]
    assert (out / "patient" / "patient.toml").is_file() and (out / "patient" / "truth.json").is_file()


def test_demo_plan_against_hand_partition_model(demo):
    out, _, _ = demo
    rep = json.loads((out / "report" / "report.json").read_text())
    used = {x["field"]: x for x in rep["plan_inputs"]}
    # issue 12: every plan input of the demo is measured on its Tc-99m MAA SPECT/CT
    assert {x["used"] for x in rep["plan_inputs"]} == {"image"}
    lsf = used["lung.shunt_fraction"]["value"]["value"]
    v_target = used["target.volume"]["value"]["value"]
    v_t = [used[f"target.tumours[{i}].volume"]["value"]["value"] for i in (1, 2)]
    r = [used[f"target.tumours[{i}].tumour_to_normal"]["value"]["value"] for i in (1, 2)]
    lung_kg = used["lung.mass"]["value"]["value"]
    # Partition model, glass K = 50 Gy kg/GBq, tumour dose 205 Gy to the lowest-ratio tumour:
    # D_N = 205 / r_min; A = D_N (M_N + sum r_i M_Ti) / (K (1 - LSF)), masses = volumes x 1.03 g/mL.
    rho = 1.03e-3  # kg/mL
    m_n = (v_target - sum(v_t)) * rho
    a = (205.0 / min(r)) * (m_n + sum(ri * vi * rho for ri, vi in zip(r, v_t))) / (50.0 * (1 - lsf))
    assert rep["prescribed_activity"]["unit"] == "GBq"
    assert rep["prescribed_activity"]["value"] == pytest.approx(a, rel=1e-9)
    assert rep["lung_dose"]["value"] == pytest.approx(50.0 * a * lsf / lung_kg, rel=1e-9)
    assert rep["within_limits"] is True and rep["blocked"] is False
    for key in ("prescribed_activity", "lung_dose", "warnings", "normal_liver_dose", "binding_constraint", "max_safe_activity", "vial", "dose_coefficient"):
        assert key in rep
    # issue 21: tumour doses only by name (report.json), never as an unnamed array beside the list
    assert "tumour_dose" not in rep and "tumour_mass" not in rep
    assert [t["name"] for t in rep["tumours"]] == ["Tumour 1", "Tumour 2"] and rep["tumours"][0]["planned_dose"]["value"] == pytest.approx(205.0)


def test_demo_plan_takes_its_inputs_from_the_images(demo):
    """Issue 12: in the demo's report the plan's tumour-to-normal ratios and lung mass equal the image's."""
    out, _, _ = demo
    truth = json.loads((out / "patient" / "truth.json").read_text())
    rep = json.loads((out / "report" / "report.json").read_text())
    image_ratios = {t["name"]: t["ratio"] for t in rep["imaging"]["tumour_to_normal"]}
    assert [t["tumour_to_normal"] for t in rep["tumours"]] == pytest.approx([image_ratios["Tumour 1"], image_ratios["Tumour 2"]], rel=1e-6)
    assert rep["lung_mass"]["value"] == pytest.approx(truth["plan_inputs"]["lung_mass"]["value"], rel=0.02)  # the CT's lungs
    assert rep["lung_shunt_fraction"] == pytest.approx(truth["lung_shunt_fraction"], abs=0.005)
    a = rep["activity_image"]
    assert a["modality"] == "NM" and a["radionuclide"] == "Tc-99m" and a["acquisition_date"] and a["series_uid"]
    nm = pydicom.dcmread(next((out / "patient" / "nm").iterdir()), stop_before_pixels=True)
    assert a["series_uid"] == nm.SeriesInstanceUID
    assert "Tc-99m" in (out / "report" / "summary.txt").read_text()


def test_demo_voxel_figures_against_truth(demo):
    out, _, _ = demo
    truth = json.loads((out / "patient" / "truth.json").read_text())
    rep = json.loads((out / "report" / "report.json").read_text())
    img = rep["imaging"]
    img = dict(img, regions={r["name"]: r for r in img["regions"]})  # regions are a list by name
    # relative calibration: liver + lungs hold the activity given: the whole glass vial at the planned
    # administration (within the delivery tolerance of the prescription), not the prescription itself
    total = img["regions"]["Liver"]["activity"]["value"] + img["regions"]["Lungs"]["activity"]["value"]
    given = rep["vial"]["choice"]["vial_activity_at_administration"]["value"]
    assert total == pytest.approx(given, rel=1e-9)
    assert given == pytest.approx(rep["prescribed_activity"]["value"], rel=0.10)
    assert img["lung_shunt_fraction"] == pytest.approx(truth["lung_shunt_fraction"], abs=0.01)
    assert img["regions"]["Liver"]["volume"]["value"] == pytest.approx(truth["regions"]["Liver"]["volume"]["value"], rel=0.02)
    # scaled to the planned activity, the true mean liver dose is truth * A_plan / A_truth (K 49.77 vs
    # 50 aside); the blurred SPECT keeps the big liver's mean within 5 %
    scale = rep["prescribed_activity"]["value"] / truth["administered"]["value"]
    assert img["regions"]["Liver"]["mean"]["value"] == pytest.approx(truth["regions"]["Liver"]["mean_dose"]["value"] * scale, rel=0.05)


def test_demo_pdf_has_pages_and_key_text(demo):
    out, _, _ = demo
    rep = json.loads((out / "report" / "report.json").read_text())
    reader = PdfReader(out / "report" / "report.pdf")
    assert len(reader.pages) >= 4  # summary, DVH, dose slices, audit trail
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "PHANTOM-001" in text
    assert f"{rep['prescribed_activity']['value']:.4g} GBq" in text
    assert "dose-volume histograms" in text and "Dose on CT" in text and "Audit trail" in text
    assert "SHA-256" in text


def test_demo_rtdose_matches_json(demo):
    out, _, _ = demo
    ds = pydicom.dcmread(out / "report" / "rtdose.dcm")
    assert ds.Modality == "RTDOSE" and ds.DoseUnits == "GY" and ds.DoseType == "PHYSICAL"
    dose = ds.pixel_array.astype(float) * float(ds.DoseGridScaling)
    rep = json.loads((out / "report" / "report.json").read_text())
    assert dose.max() == pytest.approx(max(r["max"]["value"] for r in rep["imaging"]["regions"]), rel=1e-4)
    ct = pydicom.dcmread(next((out / "patient" / "ct").iterdir()))
    assert ds.PatientID == ct.PatientID and ds.FrameOfReferenceUID == ct.FrameOfReferenceUID


def test_demo_is_fast(demo):
    _, _, seconds = demo
    # The demo's CPU time (time.process_time; was its wall time, which grows with other processes on a
    # shared machine and under pytest -n 2: 70 s at load 6-7 for a 20 s demo). The demo is mostly one thread,
    # so on a quiet machine its CPU and wall times agree (18.4 s wall, 20.9 s CPU on 2026-12-07).
    assert seconds < 60  # the target is 20 s; measured figure in the closing note


def test_demo_never_overwrites(demo, capsys):
    out, _, _ = demo
    code = main(["demo", "-o", str(out)])
    assert code == 2 and "never overwrites" in capsys.readouterr().err


def _patient(tmp_path, demo, **edits):
    src = demo[0] / "patient"
    text = (src / "patient.toml").read_text()
    text = text.replace('activity = "nm"', f'activity = "{src / "nm"}"').replace('ct = "ct"', f'ct = "{src / "ct"}"')
    text = text.replace('rtstruct = "rtstruct.dcm"', f'rtstruct = "{src / "rtstruct.dcm"}"')
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    p = tmp_path / "patient.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('lungs = ["Lung L", "Lung R"]', 'lungs = ["Lung L", "Lung Q"]', "no ROI named 'Lung Q'"),
        ('method = "kernel"', 'method = "monte carlo"', "imaging.method: "),
        ('mass = "image"', 'mass = "1 L"', "lung.mass: "),
        ("[imaging]\nactivity = ", "[imaging]\nactivity = \"missing-folder\"\nx_activity = ", "imaging.x_activity"),
    ],
)
def test_bad_patient_files_exit_2_without_partial_output(tmp_path, demo, capsys, old, new, message):
    p = _patient(tmp_path, demo, **{old: new})
    out = tmp_path / "report"
    code = main(["--quiet", "report", str(p), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and err.count("\n") == 1
    assert not out.exists()
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".report")]  # no staged leftovers


def test_missing_imaging_folder(tmp_path, demo, capsys):
    p = _patient(tmp_path, demo)
    p.write_text(p.read_text().replace(str(demo[0] / "patient" / "nm"), str(tmp_path / "gone")))
    code = main(["report", str(p), "-o", str(tmp_path / "r")])
    assert code == 2 and "imaging.activity: " in capsys.readouterr().err


def test_report_blocked_exit_1(tmp_path, demo, capsys):
    # LSF 0.5: planned lung dose = 50 * A * 0.5 far above 30 Gy
    p = _patient(tmp_path, demo, **{'shunt_fraction = "image"': "shunt_fraction = 0.5"})
    code = main(["report", str(p), "-o", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 1 and "BLOCKED" in out
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    assert rep["blocked"] is True and rep["within_limits"] is False


def test_slices_are_shown_in_standard_orientation_for_flipped_grids():
    # A dose grid whose column axis runs towards -x: the hot voxel at world x = +10 mm must be
    # drawn right of x = 0 after reorientation, i.e. at the column whose centre is +10 mm.
    from dosimetry.workflow.voxel import ImagingResult, RegionResult
    from dosimetry.report.build import _slices
    from dosimetry.voxel import Volume, dvh, region_stats
    from dosimetry.units import Q_

    direction = np.array([[0, 0, -1.0], [0, 1.0, 0], [1.0, 0, 0]])  # axis 2 -> -x
    arr = np.zeros((3, 5, 5))
    # origin x = +20, spacing 10 mm, axis 2 -> -x: column i sits at x = 20 - 10 i; x = +10 is i = 1
    arr[1, 2, 1] = 100.0
    dose = Volume(arr, (10.0, 10.0, 10.0), (20.0, -20.0, 0.0), direction, "Gy")
    mask = dose.with_array(arr > 0, "dimensionless")
    reg = RegionResult("Tumour 1", "tumour", region_stats(dose, mask), Q_(1, "GBq"), None, dvh(dose, mask))
    img = ImagingResult(dose, dose, None, {"Tumour 1": mask}, (reg,), None, Q_(1, "GBq"), "", None, {}, "kernel", (), None, ())
    sl, coronal, sagittal = _slices(img)  # axial, coronal, sagittal through the tumour
    assert coronal.title.startswith("Coronal") and sagittal.title.startswith("Sagittal")
    left, right = sl.extent_mm[0], sl.extent_mm[1]
    assert (left, right) == (-25.0, 25.0)
    col = int(np.argmax(sl.dose_gy.max(axis=0)))
    assert left + (col + 0.5) * (right - left) / 5 == pytest.approx(10.0)


def test_report_explains_voxel_tumour_dose_below_plan(tmp_path, demo):
    # A typed ratio of 6 for Tumour 2 (the image says about 4): the plan gives it 205 * 6 / r_1 Gy,
    # far above its voxel mean; the report must say why rather than leave it unexplained, and flag
    # the typed ratio against the image's.
    p = _patient(tmp_path, demo)
    text = p.read_text()
    k = text.rindex('tumour_to_normal = "image"')
    p.write_text(text[:k] + "tumour_to_normal = 6.0" + text[k + len('tumour_to_normal = "image"'):])
    assert main(["--quiet", "report", str(p), "-o", str(tmp_path / "r")]) == 0
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    r1 = {x["field"]: x for x in rep["plan_inputs"]}["target.tumours[1].tumour_to_normal"]["value"]["value"]
    assert rep["tumours"][1]["planned_dose"]["value"] == pytest.approx(205 * 6 / r1, rel=1e-6)
    notes = [w for w in rep["notes"] if w.startswith("Tumour 2: voxel mean dose")]
    assert len(notes) == 1 and "partial-volume" in notes[0]
    assert any(w.startswith("Tumour 2 tumour-to-normal ratio: typed") for w in rep["warnings"])
    assert "partial-volume" in (tmp_path / "r" / "summary.txt").read_text()


# -- issue 14: page 1 a physicist signs --------------------------------------------------------
def _page1_text(pdf):
    reader = PdfReader(pdf)
    return reader.pages[0].extract_text()


def test_page1_has_written_directive_compartments_and_one_status(demo):
    import re

    out, _, _ = demo
    rep = json.loads((out / "report" / "report.json").read_text())
    text = _page1_text(out / "report" / "report.pdf")
    for field in ("Activity to administer", "Prescribed dose", "Treatment site / territory", "Vessel (catheter position)",
                  "Prescriber (authorized user)", "Medical physicist", "Residual fraction", "Whole liver", "Tumour 1", "Tumour 2",
                  "T/N ratio", "Normal liver, whole", "Target mean dose"):
        assert field in text, field
    assert text.count("OVERALL STATUS") == 1 and "OVERALL STATUS: WITHIN LIMITS" in text
    # issue 14: "activity at calibration" next to "vial 5 GBq" left unclear which is ordered; an
    # efficacy "BELOW" sat under a green headline
    assert "Activity at calibration" not in text and "BELOW" not in text and "Vial to order" in text
    # the residual fraction was not in the demo's patient file: the default is said to be one
    assert "DEFAULT: not given in the patient file" in text
    # Tumour 2: partition model, planned dose 205 * r2 / r1 (ratios measured on the MAA SPECT); its
    # volume, measured on the CT, times 1.03 g/mL
    (t1, t2) = rep["tumours"]
    planned = 205 * t2["tumour_to_normal"] / t1["tumour_to_normal"]
    assert f"{planned:.4g} Gy" in text and f"{t2['volume']['value'] * 1.03e-3:.4g} kg" in text
    # no code identifiers in the human-readable pages (snake_case or dotted keys)
    reader = PdfReader(out / "report" / "report.pdf")
    human = "\n".join(p.extract_text() for p in reader.pages if "Audit trail" not in p.extract_text())
    assert re.findall(r"\b[A-Za-z]+_[A-Za-z_]+\b|\b[a-z]+\.[a-z_]+\b", human) == []
    # efficacy is a separate table from safety, and "NOT REACHED" never reads as a failure of safety
    assert "Efficacy (reported apart" not in text[: text.index("Safety checks (any")]
    assert rep["status"] == "WITHIN LIMITS"


def test_page1_in_us_units_shows_mci(tmp_path):
    out = tmp_path / "r"
    code = main(["--quiet", "report", str(EXAMPLES_DIR / "glass.toml"), "-o", str(out), "--units", "us"])
    assert code == 0
    text = _page1_text(out / "report.pdf")
    # 3.78866 GBq = 3788.66 MBq / 37 MBq/mCi = 102.4 mCi
    assert "3.789 GBq (102.4 mCi)" in text


def test_blocked_page1_banner_says_do_not_treat(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text((EXAMPLES_DIR / "glass.toml").read_text().replace("shunt_fraction = 0.05", "shunt_fraction = 0.20"))
    out = tmp_path / "r"
    assert main(["--quiet", "report", str(p), "-o", str(out)]) == 1
    text = _page1_text(out / "report.pdf")
    assert "OVERALL STATUS: BLOCKED" in text and "Do not treat as planned" in text and "WITHIN LIMITS" not in text


def test_resin_page1_draw_and_defaults_said(tmp_path):
    # Resin example without the measured vial activity nor the residual fraction: page 1 says both
    # defaults. Draw at 8 h before calibration: 3 GBq * 2^(8 / 64.1) = 3.2720 GBq in 5 mL = 0.65441 GBq/mL;
    # 1.51231 GBq (BSA, see tests/workflow/test_bsa_involvement.py) -> 2.3109 mL.
    text = re.sub(r"^(vial_activity|residual_fraction) = .*\n", "", (EXAMPLES_DIR / "resin.toml").read_text(), flags=re.M)
    p = tmp_path / "r.toml"
    p.write_text(text)
    out = tmp_path / "r"
    assert main(["--quiet", "report", str(p), "-o", str(out)]) == 0
    page = _page1_text(out / "report.pdf")
    assert "DEFAULT nominal" in page and "DEFAULT: not given in the patient file" in page
    assert "Volume to draw" in page and "2.31 mL" in page and "Verify in the dose calibrator" in page
    rep = json.loads((out / "report.json").read_text())
    assert rep["vial"]["volume"]["value"] == pytest.approx(1.51231 / (3 * 2 ** (8 / 64.1) / 5), rel=1e-4)


def test_page1_glass_whole_vial_is_the_activity_to_administer(tmp_path):
    # No calibration time: 5 GBq at Tue 12:00 EST, given Wed 10:00 (22 h): 5 * 2^(-22 / 64.1) = 3.941 GBq
    # is administered (the whole vial), planned 3.789 GBq; residual 5 %: 3.941 * 0.95 = 3.744 GBq reaches the patient.
    text = (EXAMPLES_DIR / "glass.toml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("calibration ="))
    text = text.replace("residual_fraction = 0.0", "residual_fraction = 0.05")
    p = tmp_path / "g.toml"
    p.write_text(text)
    out = tmp_path / "r"
    main(["--quiet", "report", str(p), "-o", str(out)])
    page = _page1_text(out / "report.pdf")
    delivered = 5 * 2 ** (-22 / 64.1)
    assert f"{delivered:.4g} GBq (the whole vial, at administration)" in page
    assert f"{delivered * 0.95:.4g} GBq (after the residual fraction)" in page
