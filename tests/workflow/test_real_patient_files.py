"""Issue 18: a clinic's own files, from the MAA study to the plan (files shaped as scanners and 3D
Slicer write them: tests/workflow/clinic_files.py). Every example quoted in the issue is a test here;
each failed on main before the change (noted per test). Figures are computed by hand in the tests.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
import clinic_files as c  # noqa: E402

from dosimetry.cli import main  # noqa: E402
from dosimetry.errors import InputError  # noqa: E402
from dosimetry.io.patient import parse_patient  # noqa: E402
from dosimetry.voxel import HU_DENSITY_CURVE  # noqa: E402
from dosimetry.workflow import assess, plan_case, plan_inputs  # noqa: E402
from dosimetry.workflow.voxel import load_imaging, voxel_dose  # noqa: E402

TUMOURS = ("tumor 1", "tumor 2")
# Counts of the MAA SPECT (clinic_files): whole liver C = 7706 x 100 + 150 x 441 + 144 x 372
C_LIVER = 7706 * 100 + 150 * 441 + 144 * 372  # = 890318 cts
WHOLE_NORMAL_MEAN = 100 * 7706 / 11706  # cts per voxel of the whole normal liver (the other lobe holds none)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    d = c.write_clinic(tmp_path_factory.mktemp("clinic"))
    c.write_dicom_nm(d / "nm.dcm", c.maa_counts())
    clean = np.maximum(c.maa_counts(), 0)  # without the noise voxels: what main could read, so its tests fail for their own reason
    c.write_image(d / "spect_clean.nrrd", clean, clean.shape, np.int16)
    return d


def _maa(clinic, fmt="nrrd", **kw):
    image, unit = {"nrrd": (clinic / "spect.nrrd", {"activity_unit": "counts"}), "clean": (clinic / "spect_clean.nrrd", {"activity_unit": "counts"}),
                   "dicom": (clinic / "nm.dcm", {})}[fmt]
    return load_imaging(image, clinic / "rois.seg.nrrd", liver_roi="liver", tumour_rois=TUMOURS, **unit, **kw)


# -- item 1: negative and NaN voxels, one rule for every format ---------------------------------------
@pytest.mark.parametrize("fmt", ["nrrd", "dicom"])
def test_maa_spect_with_noise_negatives_is_read_with_the_same_warning_in_every_format(clinic, fmt):
    """Was: NRRD refused ('activity values must be finite and >= 0 (min -2)'), DICOM clipped by the reader."""
    inputs = _maa(clinic, fmt)
    a = np.asarray(inputs.activity.array)
    assert a.min() == 0.0 and a.sum() == C_LIVER  # the three noise voxels (-1, -2, -1) set to 0
    # 3 of 48000 voxels; 4 cts of 890318 = 0.00045 % of the counts
    note = [w for w in inputs.warnings if "negative values" in w]
    assert note == ["3 voxels (0.0063 % of the image) hold negative values (-2 to -1 cts), 0.00045 % of the image's counts "
                    "(reconstruction noise, below 1%): set to 0, no activity"]


@pytest.mark.parametrize("fmt", ["nrrd", "dicom"])
def test_negatives_beyond_one_percent_are_refused_in_every_format(clinic, tmp_path, fmt):
    """Was: refused for NRRD (any negative), accepted for DICOM (clipped by the reader)."""
    counts = c.maa_counts()
    # 4 x 32 x 36 = 4608 body voxels below the liver at -10 cts (two noise voxels among them), and the
    # noise voxel at -1 cts above it: 4609 voxels, 46081 cts = 5.18 % of the 890318 positive counts
    counts[26:30, 4:36, 2:38] = -10
    if fmt == "nrrd":
        image = c.write_image(tmp_path / "spect.nrrd", counts, counts.shape, np.int16)
        kw = {"activity_unit": "counts"}
    else:
        image, kw = c.write_dicom_nm(tmp_path / "nm.dcm", counts), {}
    with pytest.raises(InputError, match=r"^imaging.activity: 4609 negative voxels hold 5.18 % of the image's counts"):
        load_imaging(image, clinic / "rois.seg.nrrd", liver_roi="liver", tumour_rois=TUMOURS, **kw)


def test_pet_nan_outside_the_body_is_no_activity_and_relative_calibration_needs_no_time(clinic):
    """Was: refused twice ('finite and >= 0', then '--activity-time' for a relative calibration)."""
    inputs = load_imaging(clinic / "pet.nrrd", clinic / "rois.seg.nrrd", liver_roi="liver", tumour_rois=TUMOURS, activity_unit="Bq/mL",
                          perfused_roi="perfused volume")
    # 30 slices x (40 x 40 - 32 x 36) voxels outside the body box = 13440 of 48000
    assert "13440 voxels (28 % of the image) hold NaN (no value), all outside the ROIs: taken as no activity" in inputs.warnings
    r = voxel_dose(inputs, administered="2.6 GBq", method="ldm")
    # relative: the liver holds 2.6 GBq, tumor 1 its share of the Bq/mL x volume: 150 x 2e7 / (7706 x 2e6 + 150 x 2e7 + 144 x 8e6)
    share = 150 * 2e7 / (7706 * 2e6 + 150 * 2e7 + 144 * 8e6)
    assert r.region("tumor 1").activity.to("GBq").magnitude == pytest.approx(2.6 * share, rel=1e-9)
    assert r.tumour_to_normal == pytest.approx({"tumor 1": 10.0, "tumor 2": 4.0}, rel=1e-12)


def test_nan_inside_an_roi_is_refused(clinic, tmp_path):
    pet = c.pet_bqml()
    pet[10, 15, 10] = np.nan  # inside tumor 1
    c.write_image(tmp_path / "pet.nrrd", pet, pet.shape, np.float64)
    with pytest.raises(InputError, match=r"NaN \(no value\) inside the ROIs: 1 voxels of 'liver', 1 voxels of 'tumor 1'"):
        load_imaging(tmp_path / "pet.nrrd", clinic / "rois.seg.nrrd", liver_roi="liver", tumour_rois=TUMOURS, activity_unit="Bq/mL")


# -- item 4: relative calibration needs no time; absolute does, and says why -----------------------------
def test_absolute_calibration_needs_the_time_and_says_why(clinic):
    inputs = load_imaging(clinic / "pet.nrrd", clinic / "rois.seg.nrrd", liver_roi="liver", tumour_rois=TUMOURS, activity_unit="Bq/mL")
    with pytest.raises(InputError) as e:
        voxel_dose(inputs, calibration="absolute", method="ldm")
    assert e.value.field == "imaging.activity_time"
    assert "needs the time the values refer to" in e.value.message and "relative calibration, which scales the image" in e.value.message
    at_admin = load_imaging(clinic / "pet.nrrd", clinic / "rois.seg.nrrd", liver_roi="liver", tumour_rois=TUMOURS, activity_unit="Bq/mL",
                            activity_time="administration")
    r = voxel_dose(at_admin, calibration="absolute", method="ldm")
    # 150 voxels x 0.125 mL x 2e7 Bq/mL = 0.375 GBq in tumor 1
    assert r.region("tumor 1").activity.to("GBq").magnitude == pytest.approx(0.375, rel=1e-9)


# -- item 2: the perfused territory ---------------------------------------------------------------------
def test_lobar_maa_ratios_refer_to_the_perfused_normal_liver(clinic):
    """The issue's example: 6.70 / 5.65 against the whole liver minus tumours, 4.41 / 3.72 against the
    perfused normal liver. Was: no perfused territory in the voxel dosimetry."""
    lobar = voxel_dose(_maa(clinic, "clean", perfused_roi="perfused volume"), administered="2 GBq", method="ldm")
    assert lobar.tumour_to_normal == pytest.approx({"tumor 1": 4.41, "tumor 2": 3.72}, rel=1e-12)
    assert lobar.normal_reference == "Perfused normal liver" and lobar.territory == "perfused volume"
    whole = voxel_dose(_maa(clinic, "clean"), administered="2 GBq", method="ldm")
    assert whole.tumour_to_normal == pytest.approx({"tumor 1": 441 / WHOLE_NORMAL_MEAN, "tumor 2": 372 / WHOLE_NORMAL_MEAN}, rel=1e-12)
    assert [f"{r:.2f}" for r in whole.tumour_to_normal.values()] == ["6.70", "5.65"]
    roles = {r.role: r for r in lobar.regions}
    assert roles["perfused"].name == "perfused volume" and roles["perfused"].stats.volume.to("mL").magnitude == pytest.approx(1000.0)
    assert roles["normal liver"].name == "Perfused normal liver" and roles["normal liver"].stats.volume.to("mL").magnitude == pytest.approx(963.25)
    assert roles["whole normal liver"].stats.volume.to("mL").magnitude == pytest.approx(11706 * 0.125)
    # LDM, uniform density: the whole normal liver's mean dose is the perfused one's x 7706 / 11706
    ratio = roles["whole normal liver"].stats.mean / roles["normal liver"].stats.mean
    assert float(ratio) == pytest.approx(7706 / 11706, rel=1e-9)
    case = assess(voxel=lobar, device="resin")
    check = {ch.name: ch for ch in case.safety}
    assert check["normal_liver_dose"].value == roles["normal liver"].stats.mean  # perfused normal liver, labelled so
    assert "perfused normal liver" in check["normal_liver_dose"].description


def test_y90_dose_perfused_flag_writes_the_ratios_against_the_perfused_normal_liver(clinic, tmp_path, capsys):
    """Was: 'unrecognized arguments: --perfused' (exit 2)."""
    out = tmp_path / "out"
    code = main(["--quiet", "dose", "--activity-image", str(clinic / "spect.nrrd"), "--activity-unit", "counts", "--segmentation", str(clinic / "rois.seg.nrrd"),
                 "--liver", "liver", "--perfused", "perfused volume", "--tumour", "tumor 1", "--tumour", "tumor 2", "--administered", "2 GBq",
                 "--method", "ldm", "-o", str(out)])
    text = capsys.readouterr().out
    assert code == 1  # the lungs are not assessed: a decision
    assert "Tumour-to-normal ratio tumor 1 (against Perfused normal liver): 4.41" in text and "%" not in text.split("Tumour-to-normal ratio tumor 2")[1].splitlines()[0]
    doc = json.loads((out / "regions.json").read_text())
    assert doc["tumour_to_normal"] == pytest.approx({"tumor 1": 4.41, "tumor 2": 3.72})
    assert doc["tumour_to_normal_reference"] == "Perfused normal liver" and doc["territory"] == "perfused volume"
    t1 = doc["regions"]["tumor 1"]
    assert t1["name"] == "tumor 1" and t1["tumour_to_normal"] == pytest.approx(4.41) and t1["volume"] == {"value": pytest.approx(18.75), "unit": "mL"}
    assert doc["regions"]["Whole normal liver"]["role"] == "whole normal liver" and set(doc["regions"]["liver"]["mean"]) == {"value", "unit"}


# -- item 3: plan inputs from whatever the study has ------------------------------------------------------
PATIENT = """
[patient]
id = "LOBAR-01"
[treatment]
device = "glass"
method = "partition"
[clinical]
indication = "hcc"
extent = "lobar"
bilirubin = "0.8 mg/dL"
[lung]
shunt_fraction = "planar"
mass = "1 kg"
[lung.planar_counts]
lung_anterior = "40000 cts"
lung_posterior = "90000 cts"
liver_anterior = "1000000 cts"
liver_posterior = "640000 cts"
[liver]
volume = "image"
[target]
volume = "image"
tumour_dose = "205 Gy"
[[target.tumours]]
name = "tumor 1"
volume = "image"
tumour_to_normal = "image"
[[target.tumours]]
name = "tumor 2"
volume = "image"
tumour_to_normal = "image"
[imaging]
activity = "spect.nrrd"
activity_unit = "counts"
ct = "ct.nrrd"
segmentation = "rois.seg.nrrd"
method = "ldm"
[imaging.rois]
liver = "liver"
perfused = "perfused volume"
tumours = ["tumor 1", "tumor 2"]
"""


def _patient(clinic, text=PATIENT):
    return parse_patient(tomllib.loads(text), clinic)


def test_partition_plan_with_planar_shunt_and_image_ratios_on_a_lobar_territory(clinic):
    """The usual clinical combination; was refused ('plan inputs written "image" need the lung ROIs')."""
    case = plan_case(_patient(clinic))
    p = case.plan.plan
    by = {s.field: s for s in case.inputs}
    # planar shunt: GM lungs sqrt(40000 x 90000) = 60000, liver sqrt(1e6 x 640000) = 800000 -> LSF = 60000 / 860000
    lsf = 60000 / 860000
    assert by["lung.shunt_fraction"].used == "planar" and p.lung_shunt_fraction == pytest.approx(lsf, rel=1e-12)
    assert by["target.volume"].value.to("mL").magnitude == pytest.approx(1000.0)  # perfused volume, 8000 x 0.125 mL
    assert by["liver.volume"].value.to("mL").magnitude == pytest.approx(1500.0)
    assert [by[f"target.tumours[{i}].tumour_to_normal"].value.magnitude for i in (1, 2)] == pytest.approx([4.41, 3.72], rel=1e-12)
    # partition model (Ho 1996; design brief), glass K = 50 Gy kg/GBq, density 1.03 g/mL, no residual:
    # D_T2 = 205 Gy for the lowest ratio r2 = 3.72 -> D_N = 205 / 3.72
    # M_T1 = 18.75 mL x 1.03 = 0.0193125 kg, M_T2 = 18 mL x 1.03 = 0.01854 kg, M_N = 1.03 kg - M_T1 - M_T2
    k, r1, r2 = 50.0, 4.41, 3.72
    mt1, mt2 = 18.75 * 1.03e-3, 18.0 * 1.03e-3
    mn = 1000 * 1.03e-3 - mt1 - mt2
    d_n = 205.0 / r2
    a = d_n * (mn + r1 * mt1 + r2 * mt2) / (k * (1 - lsf))  # D_N = K A (1 - LSF) / (M_N + sum r_i M_Ti)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(a, rel=1e-9)
    assert a == pytest.approx(1.3581, abs=1e-4)
    assert p.normal_liver_dose.to("Gy").magnitude == pytest.approx(d_n, rel=1e-9)  # 55.11 Gy, not the 205 / 5.65 = 36.3 Gy of the whole liver
    assert list(np.atleast_1d(p.tumour_dose.to("Gy").magnitude)) == pytest.approx([r1 * d_n, 205.0], rel=1e-9)
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(k * a * lsf / 1.0, rel=1e-9)  # D_L = K A LSF / M_L, M_L 1 kg typed
    # whole normal liver (glass limit 75 Gy): K A (1 - LSF) f_normal / M_whole normal, all the normal liver's activity in its perfused part
    assert p.whole_normal_liver_dose.to("Gy").magnitude == pytest.approx(d_n * mn / (1500 * 1.03e-3 - mt1 - mt2), rel=1e-9)
    # the SPECT misses the lungs: its relative calibration takes the planar shunt, the liver holds A (1 - LSF)
    v = case.voxel
    assert "given LSF" in v.calibration and v.lung_shunt_fraction is None
    assert v.region("liver").activity.to("GBq").magnitude == pytest.approx(a * (1 - lsf), rel=1e-6)
    assert case.status == "WITHIN LIMITS"


def test_image_shunt_from_a_spect_that_misses_the_lungs_is_refused_naming_planar(clinic):
    text = PATIENT.replace('shunt_fraction = "planar"', 'shunt_fraction = "image"').split("[lung.planar_counts]")[0] + "[liver]" + PATIENT.split("[liver]")[1]
    text = text.replace('tumours = ["tumor 1", "tumor 2"]', 'tumours = ["tumor 1", "tumor 2"]\nlungs = ["lung left", "lung right"]')
    with pytest.raises(InputError) as e:
        plan_inputs(_patient(clinic, text))
    assert e.value.field == "lung.shunt_fraction"
    assert "field of view misses the lungs" in e.value.message and '"planar"' in e.value.message


def test_lung_mass_from_the_ct_when_the_spect_misses_the_lungs(clinic):
    text = PATIENT.replace('mass = "1 kg"', 'mass = "image"').replace('tumours = ["tumor 1", "tumor 2"]', 'tumours = ["tumor 1", "tumor 2"]\nlungs = ["lung left", "lung right"]')
    pi = plan_inputs(_patient(clinic, text))
    # 2 x 8960 voxels x 0.125 mL at -750 HU: rho = 0.0012 + (1 - 0.0012) x 250 / 1000 g/mL on the air-water line
    rho = np.interp(-750.0, *zip(*HU_DENSITY_CURVE))
    assert rho == pytest.approx(0.0012 + 0.9988 * 0.25)
    assert pi.patient.lung.mass.to("kg").magnitude == pytest.approx(2 * 8960 * 0.125 * rho / 1000, rel=1e-6)
    assert pi.patient.lung.shunt_fraction == pytest.approx(60000 / 860000)
    assert any("field of view misses the lungs" in w for w in pi.imaging.warnings)


def test_image_shunt_with_the_lungs_in_view(tmp_path):
    d = c.write_clinic(tmp_path / "c", lungs_in_view=True)
    text = PATIENT.replace('shunt_fraction = "planar"', 'shunt_fraction = "image"').split("[lung.planar_counts]")[0] + "[liver]" + PATIENT.split("[liver]")[1]
    text = text.replace('tumours = ["tumor 1", "tumor 2"]', 'tumours = ["tumor 1", "tumor 2"]\nlungs = ["lung left", "lung right"]')
    pi = plan_inputs(_patient(d, text))
    # 2 x 8960 lung voxels at 8 cts against 890318 cts in the liver
    assert pi.patient.lung.shunt_fraction == pytest.approx(143360 / (143360 + C_LIVER), rel=1e-12)


# -- item 5: y90 dvh reads what y90 dose writes; the same ROI figures ------------------------------------
def _dose_then_dvh(tmp_path, capsys, dose_args, dvh_args, dose_file):
    out = tmp_path / "out"
    assert main(["--quiet", "dose", *dose_args, "--method", "ldm", "--administered", "2 GBq", "-o", str(out)]) in (0, 1)
    capsys.readouterr()
    assert main(["--quiet", "dvh", "--dose", str(out / dose_file), *dvh_args, "--format", "json"]) == 0
    dvh = json.loads(capsys.readouterr().out)
    dose = json.loads((out / "regions.json").read_text())["regions"]
    return dose, dvh


@pytest.mark.parametrize("dose_format, dose_file", [("nrrd", "dose.nrrd"), ("nifti", "dose.nii.gz")])
def test_dose_and_dvh_give_the_same_roi_figures_nrrd_nifti(clinic, tmp_path, capsys, dose_format, dose_file):
    """Was: y90 dvh read only an RT Dose and an RTSTRUCT."""
    rois = ["--liver", "liver", "--perfused", "perfused volume", "--tumour", "tumor 1", "--tumour", "tumor 2"]
    dose, dvh = _dose_then_dvh(tmp_path, capsys, ["--activity-image", str(clinic / "spect.nrrd"), "--activity-unit", "counts", "--ct", str(clinic / "ct.nrrd"),
                                                  "--segmentation", str(clinic / "rois.seg.nrrd"), "--dose-format", dose_format, *rois],
                               ["--segmentation", str(clinic / "rois.seg.nrrd")], dose_file)
    for n in ("liver", "perfused volume", "tumor 1", "tumor 2"):
        for key in ("mean", "volume", "D70", "max"):
            assert dvh[n][key]["value"] == pytest.approx(dose[n][key]["value"], rel=1e-6), (n, key)  # float32 map


def test_dose_and_dvh_give_the_same_roi_figures_label_map(clinic, tmp_path, capsys):
    from seg_factory import write_labelmap_nifti

    m = c.masks(c.SHAPE_SPECT)
    lab = np.zeros(c.SHAPE_SPECT, np.int16)
    lab[m["liver"]] = 1
    lab[m["tumor 1"]], lab[m["tumor 2"]] = 2, 3
    write_labelmap_nifti(tmp_path / "labels.nii.gz", lab, c.grid(c.SHAPE_SPECT))
    (tmp_path / "labels.txt").write_text("1 liver_parenchyma 200 100 100 255\n2 tumor_1 255 0 0 255\n3 tumor_2 0 255 0 255\n")
    seg = ["--segmentation", str(tmp_path / "labels.nii.gz"), "--labels", str(tmp_path / "labels.txt")]
    dose, dvh = _dose_then_dvh(tmp_path, capsys, ["--activity-image", str(clinic / "spect.nrrd"), "--activity-unit", "counts", *seg,
                                                  "--liver", "liver_parenchyma", "--liver", "tumor_1", "--liver", "tumor_2",
                                                  "--tumour", "tumor_1", "--tumour", "tumor_2"], seg, "dose.nrrd")
    for n in ("tumor_1", "tumor_2"):
        assert dvh[n]["mean"]["value"] == pytest.approx(dose[n]["mean"]["value"], rel=1e-6)


def test_dose_and_dvh_give_the_same_roi_figures_rt_dose_rtstruct(dose_phantom, tmp_path, capsys):
    p = dose_phantom
    rois = ["--tumour", "Tumour 1", "--lung", "Lung L"]
    dose, dvh = _dose_then_dvh(tmp_path, capsys, ["--activity-image", str(p / "nm"), "--ct", str(p / "ct"), "--rtstruct", str(p / "rtstruct.dcm"), *rois],
                               ["--rtstruct", str(p / "rtstruct.dcm"), "--roi", "Liver", "--roi", "Tumour 1", "--roi", "Lung L"], "rtdose.dcm")
    for n in ("Liver", "Tumour 1", "Lung L"):
        assert dvh[n]["mean"]["value"] == pytest.approx(dose[n]["mean"]["value"], rel=1e-5), n  # RT Dose: scaled integers
        assert dvh[n]["volume"]["value"] == pytest.approx(dose[n]["volume"]["value"], rel=1e-9), n


def test_dvh_of_a_dose_map_without_a_unit_needs_it_declared(clinic, tmp_path, capsys):
    d = c.write_image(tmp_path / "dose.nrrd", np.ones(c.SHAPE_SPECT), c.SHAPE_SPECT, np.float32)  # no value_unit key
    code = main(["--quiet", "dvh", "--dose", str(d), "--segmentation", str(clinic / "rois.seg.nrrd"), "--roi", "liver"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("y90: error: --dose-unit: ") and "does not state the unit" in err
    assert main(["--quiet", "dvh", "--dose", str(d), "--dose-unit", "cGy", "--segmentation", str(clinic / "rois.seg.nrrd"), "--roi", "liver", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["liver"]["mean"] == {"value": pytest.approx(0.01), "unit": "Gy"}


# -- item 6: headlines name the real reason; ratios print as ratios --------------------------------------
def test_post_treatment_pet_without_lung_rois_names_the_lung_dose_in_its_headline(clinic, tmp_path, capsys):
    """Was: 'NEEDS A DECISION: ... the vial or timing cannot deliver the plan as given'."""
    code = main(["--quiet", "dose", "--activity-image", str(clinic / "pet.nrrd"), "--activity-unit", "Bq/mL", "--activity-time", "administration",
                 "--segmentation", str(clinic / "rois.seg.nrrd"), "--liver", "liver", "--tumour", "tumor 1", "--calibration", "absolute",
                 "--method", "ldm", "--device", "glass", "-o", str(tmp_path / "out")])
    headline = capsys.readouterr().out.splitlines()[1]
    assert code == 1
    assert headline.startswith("NEEDS A DECISION: lung dose not assessed: the voxel dosimetry has no lung ROI") and "vial" not in headline


def test_headline_of_a_voxel_dosimetry_without_lungs_names_the_lung_dose():
    """The same rule in the library: the decision is the headline's reason (was the vial or timing)."""
    from dosimetry.voxel import Volume
    from dosimetry.workflow.voxel import ImagingInputs

    a = np.zeros((6, 6, 6))
    a[1:5, 1:5, 1:5] = 100.0
    liver = np.zeros(a.shape, bool)
    liver[1:5, 1:5, 1:5] = True
    grid = Volume(a, (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), unit="cts")
    v = voxel_dose(ImagingInputs(activity=grid, liver=grid.with_array(liver, "dimensionless"), tumours={}, lungs={}), administered="0.1 MBq", method="ldm")
    case = assess(voxel=v, device="glass")
    assert case.status == "NEEDS A DECISION"
    assert case.headline().startswith("NEEDS A DECISION: lung dose not assessed: the voxel dosimetry has no lung ROI and there is no plan")
    assert "vial" not in case.headline()


def test_tumour_to_normal_ratios_print_as_ratios(clinic):
    """The issue's 'typed 300 %, image 400.5 %': now 'typed 3.00, image 4.00' (page 1, text, warning)."""
    from dosimetry.report.page1 import signed_page
    from dosimetry.report.text import case_text

    text = PATIENT.replace('activity = "spect.nrrd"\nactivity_unit = "counts"', 'activity = "pet.nrrd"\nactivity_unit = "Bq/mL"')
    text = text.replace('name = "tumor 2"\nvolume = "image"\ntumour_to_normal = "image"', 'name = "tumor 2"\nvolume = "image"\ntumour_to_normal = 3.0')
    case = plan_case(_patient(clinic, text))
    rows = dict(r for _, section in signed_page(case).sections for r in section)
    assert rows["Tumor 2 tumour-to-normal ratio"] == "typed 3.00, image 4.00: DISAGREE beyond +/-20 % (the typed value is used)"
    assert "tumor 2 tumour-to-normal ratio: typed 3.00 but the image gives 4.00 (beyond +/-20 %)" in " ".join(case.warnings)
    assert "  tumor 2 tumour-to-normal ratio: 3.00 (typed); typed 3.00, image 4.00 DISAGREE (tolerance +/-20 %)" in case_text(case).splitlines()


def test_dose_and_dvh_give_the_same_roi_figures_dicom_seg(clinic, tmp_path, capsys):
    from seg_factory import write_dicom_seg

    g = c.grid(c.SHAPE_SPECT)
    m = c.masks(c.SHAPE_SPECT)
    write_dicom_seg(tmp_path / "seg.dcm", {n: g.with_array(m[n], "dimensionless") for n in ("liver", "perfused volume", *TUMOURS)}, g)
    seg = ["--segmentation", str(tmp_path / "seg.dcm")]
    dose, dvh = _dose_then_dvh(tmp_path, capsys, ["--activity-image", str(clinic / "spect.nrrd"), "--activity-unit", "counts", *seg,
                                                  "--liver", "liver", "--perfused", "perfused volume", "--tumour", "tumor 1", "--tumour", "tumor 2"],
                               seg, "dose.nrrd")
    for n in ("liver", "perfused volume", *TUMOURS):
        assert dvh[n]["mean"]["value"] == pytest.approx(dose[n]["mean"]["value"], rel=1e-6), n
    assert dose["Perfused normal liver"]["volume"]["value"] == pytest.approx(963.25)


def test_share_of_a_lung_roi_in_the_field_of_view_for_label_layers_and_contours(clinic, tmp_path):
    """A SPECT of 42 slices covers 10 of the 20 lung slices (z 32:52): half of each lung ROI, so the
    lungs are outside its field of view (< 99 %); a SPECT of 52 slices holds them whole."""
    from dicom_factory import rect, write_rtstruct

    from dosimetry.io.segmentation import read_segmentation
    from dosimetry.workflow.voxel import LUNG_FIELD_OF_VIEW, share_in_view

    half, whole = c.grid((42, 40, 40)), c.grid((52, 40, 40))
    seg = read_segmentation(clinic / "rois.seg.nrrd")
    # rectangles on the voxel-box edges of lung left (x 3:19, y 6:34) on each slice plane z = 5 k mm, k = 32..51
    x0, x1, y0, y1 = 3 * 5 - 2.5, 19 * 5 - 2.5, 6 * 5 - 2.5, 34 * 5 - 2.5
    write_rtstruct(tmp_path / "rs.dcm", {"lung left": [rect(x0, x1, y0, y1, 5.0 * k) for k in range(32, 52)]})
    rs = read_segmentation(tmp_path / "rs.dcm")
    for s in (seg, rs):
        assert share_in_view(s, "lung left", half) == pytest.approx(0.5, abs=1e-9)
        assert share_in_view(s, "lung left", whole) == pytest.approx(1.0)
    assert 0.5 < LUNG_FIELD_OF_VIEW
