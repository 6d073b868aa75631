"""Issue 20: post-treatment verification, planned against delivered.

On the phantom (post-treatment Y-90 PET, unblurred, local deposition) the delivered mean doses are
checked against the delivered truth of its truth.json (3 % liver and normal liver, 5 % lungs, 10 %
tumours of 15 mL and more); the stated departure from the plan (Tumour 2 takes half its planned
ratio; the lung shunt +2 points) shows in the table; on a clinic's files (float64 Bq/mL PET with
NaN and negative voxels, a Slicer .seg.nrrd, a typed plan) the delivered doses are computed by hand.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
import clinic_files as c  # noqa: E402

from dosimetry.errors import InputError  # noqa: E402
from dosimetry.io.patient import load_patient, parse_patient  # noqa: E402
from dosimetry.units import Q_  # noqa: E402
from dosimetry.voxel import Volume  # noqa: E402
from dosimetry.workflow import run_case  # noqa: E402
from dosimetry.workflow.verify import delivery_inputs, load_post, verify  # noqa: E402
from dosimetry.workflow.voxel import ImagingInputs  # noqa: E402

LN2 = math.log(2)
K_HAND = 64.1 * 3600 / LN2 * 0.9331e6 * 1.602176634e-19 * 1e9  # Gy kg / GBq (ICRP 107: 64.1 h, 0.9331 MeV)
TRUTH_NAMES = {"Normal liver": "Normal Liver"}


@pytest.fixture(scope="module")
def verified(post_study):
    planning, post = post_study
    pf = load_patient(planning / "patient.toml")
    inputs, _ = load_post(pf, post / "pt", post / "rtstruct.dcm", ct=post / "ct", liver_roi="Liver", tumour_rois=("Tumour 1", "Tumour 2"),
                          lung_rois=("Lung L", "Lung R"))
    v = verify(inputs, delivery_inputs(pf), planned=run_case(pf), method="ldm")
    truth = json.loads((post / "truth.json").read_text())
    return v, truth


@pytest.mark.parametrize("region, tolerance", [("Liver", 0.03), ("Normal liver", 0.03), ("Lungs", 0.05), ("Tumour 1", 0.10)])
def test_delivered_mean_dose_matches_the_delivered_truth(verified, region, tolerance):
    v, truth = verified
    r = next(r for r in v.regions if r.name == region)
    expected = truth["regions"][TRUTH_NAMES.get(region, region)]["mean_dose"]["value"]
    assert r.delivered["mean"].to("Gy").magnitude == pytest.approx(expected, rel=tolerance)


def test_tumour_1_is_at_least_15_mL_so_its_10_percent_applies(verified):
    _, truth = verified
    assert truth["regions"]["Tumour 1"]["volume"]["value"] >= 15.0


def test_the_table_shows_tumour_2_taking_half_its_planned_share(verified):
    """The phantom's stated change: Tumour 2's tumour-to-normal ratio is halved, Tumour 1's kept, so
    relative to the normal liver's delivered/planned ratio Tumour 2's is 0.5 and Tumour 1's 1."""
    v, truth = verified
    assert truth["post_treatment"]["tumour_ratio_factors"] == {"Tumour 2": 0.5}
    ratio = {r.name: r.ratio("mean") for r in v.regions}
    assert ratio["Tumour 2"] / ratio["Normal liver"] == pytest.approx(0.5, abs=0.1)
    assert ratio["Tumour 1"] / ratio["Normal liver"] == pytest.approx(1.0, abs=0.1)
    assert all(r.planned_source == "planning voxel dosimetry" for r in v.regions)


def test_the_delivered_lung_shunt_is_the_planned_one_plus_2_points(verified):
    v, truth = verified
    doc = v.to_json()["delivery"]
    planned = truth["post_treatment"]["planned_lung_shunt_fraction"]
    assert doc["lung_shunt_fraction"] == pytest.approx(planned + 0.02, abs=0.005)
    assert doc["delivered"] == {"value": pytest.approx(1.9), "unit": "GBq"}  # 2 GBq x (1 - 5 %)


def test_verification_json_regions_hold_planned_and_delivered_figures_with_units(verified):
    v, _ = verified
    doc = json.loads(json.dumps(v.to_json()))
    tumour = next(r for r in doc["regions"] if r["name"] == "Tumour 1")
    assert tumour["role"] == "tumour" and set(tumour["delivered"]) == {"mean", "d70", "d95", "v100"}
    assert tumour["delivered"]["mean"]["unit"] == "Gy" and tumour["planned"]["d70"]["unit"] == "Gy"
    liver = next(r for r in doc["regions"] if r["name"] == "Liver")
    assert "v100" not in liver["delivered"]
    d, p = liver["delivered"]["mean"]["value"], liver["planned"]["mean"]["value"]
    assert liver["difference"]["mean"]["value"] == pytest.approx(d - p) and liver["ratio"]["mean"] == pytest.approx(d / p)


def test_cumulative_lung_dose_is_the_prior_plus_the_delivered_lung_mean(verified):
    v, _ = verified
    lung = next(r for r in v.regions if r.role == "lung")
    assert v.cumulative_lung_dose.to("Gy").magnitude == pytest.approx(lung.delivered["mean"].to("Gy").magnitude)  # the demo's prior is 0 Gy


# -- adverse findings: the one pass rule, stated with limit and source, never a vial verdict ---------------------------
def test_tumours_under_the_efficacy_threshold_are_findings_with_their_source(verified):
    v, _ = verified
    findings = {c.volume: c for c in v.findings}
    t2 = next(r for r in v.regions if r.name == "Tumour 2").delivered["mean"].to("Gy").magnitude
    assert t2 < 205 and "Tumour 2" in findings  # glass HCC: tumour >= 205 Gy (EANM 2022)
    assert not findings["Tumour 2"].safety and "EANM 2022" in findings["Tumour 2"].source
    doc = v.to_json()
    assert "vial" not in json.dumps(doc["adverse_findings"]).lower() and doc["headline"].startswith("ADVERSE FINDINGS")
    assert all(c["origin"] == "delivered" for c in doc["checks"])


def _tiny(lung_share: float = 0.1):
    """An in-memory post-treatment image: 1000 cts per liver voxel, lung voxels with lung_share of the liver's total."""
    a = np.zeros((10, 10, 10))
    liver = np.zeros(a.shape, bool)
    liver[1:5, 1:9, 1:9] = True
    lung = np.zeros(a.shape, bool)
    lung[6:9, 1:9, 1:9] = True
    a[liver] = 1000.0
    a[lung] = 1000.0 * liver.sum() * lung_share / ((1 - lung_share) * lung.sum())
    g = Volume(a, (4.0, 4.0, 4.0), unit="cts")
    m = lambda x: g.with_array(x.astype(np.float32), "dimensionless")  # noqa: E731
    return ImagingInputs(activity=g, liver=m(liver), tumours={}, lungs={"Lungs": m(lung)})


def test_a_delivered_lung_dose_over_the_limit_is_a_safety_finding_naming_limit_and_source():
    """20 GBq, half of it in 0.77 kg of lung at 1.03 g/mL (no CT): the lung mean is far above 30 Gy."""
    d = delivery_inputs(None, administered="20 GBq", residual_fraction=0.0)
    v = verify(_tiny(0.5), d, device="glass", method="ldm")
    lung = [c for c in v.findings if c.name == "lung_dose"]
    assert lung and lung[0].safety and v.findings[0].safety  # safety findings first
    assert "30 Gy" in v.finding_text(lung[0]) and "TheraSphere" in v.finding_text(lung[0])


@settings(max_examples=15, deadline=None)
@given(st.floats(0.5, 20.0), st.floats(0.0, 0.3))
def test_relative_delivered_doses_scale_with_administered_times_one_minus_residual(administered, residual):
    """Hand figure: liver activity A (1 - R) (1 - 0.1) over 256 voxels of 0.064 mL at 1.03 g/mL, local deposition."""
    v = verify(_tiny(0.1), delivery_inputs(None, administered=Q_(administered, "GBq"), residual_fraction=residual), device="glass", method="ldm")
    liver_kg = 256 * 0.064 * 1.03 / 1000  # 4 mm voxels: 0.064 mL; g -> kg
    expected = K_HAND * administered * (1 - residual) * 0.9 / liver_kg
    assert v.regions[0].delivered["mean"].to("Gy").magnitude == pytest.approx(expected, rel=2e-3)


# -- the delivery inputs: flags over [delivery], never guessed ---------------------------------------------------------
def _pf(extra: str = ""):
    doc = tomllib.loads((Path(__file__).parents[2] / "dosimetry/examples/glass.toml").read_text() + extra)
    return parse_patient(doc, ".")


def test_relative_calibration_without_the_administered_activity_is_refused():
    with pytest.raises(InputError) as e:
        delivery_inputs(_pf(), calibration="relative")
    assert e.value.field == "administered"


def test_flag_wins_over_delivery_table_and_the_source_says_which():
    pf = _pf('\n[delivery]\nadministered = "3 GBq"\nresidual_fraction = "4 %"\nadministration = 2026-11-25T10:05:00-05:00\n')
    d = delivery_inputs(pf)
    assert d.administered == Q_(3, "GBq") and d.residual_fraction == pytest.approx(0.04) and d.sources["administered"] == "delivery.administered"
    d = delivery_inputs(pf, administered="2.5 GBq")
    assert d.administered == Q_(2.5, "GBq") and d.sources["administered"] == "--administered"
    assert d.delivered.to("GBq").magnitude == pytest.approx(2.4)


def test_without_a_measured_residual_the_planned_one_is_used_and_labelled():
    d = delivery_inputs(_pf(), administered="3 GBq")
    assert d.sources["residual_fraction"].startswith("target.residual_fraction (planned, not measured)")


@pytest.mark.parametrize("table, field", [('administered = "3000 GBq"', "delivery.administered"), ("residual_fraction = 0.7", "delivery.residual_fraction"),
                                          ("residue = 0.1", "delivery.residue"), ('administration = "yesterday"', "delivery.administration")])
def test_delivery_table_refuses_bad_values_naming_the_field(table, field):
    with pytest.raises(InputError) as e:
        _pf(f"\n[delivery]\n{table}\n")
    assert e.value.field == field


# -- a clinic's files: Y-90 PET float64 Bq/mL, Slicer .seg.nrrd, typed plan (no planning images) ------------------------
TYPED_PLAN = """
[patient]
id = "CLINIC-7"
height = "170 cm"
weight = "70 kg"

[treatment]
device = "glass"
method = "partition"
administration = 2026-11-25T10:00:00-05:00

[clinical]
indication = "hcc"
extent = "lobar"

[lung]
shunt_fraction = 0.06

[liver]
volume = "1500 mL"

[target]
volume = "1000 mL"
tumour_dose = "205 Gy"

[[target.tumours]]
name = "tumor 1"
volume = "18.75 mL"
tumour_to_normal = 4.4

[[target.tumours]]
name = "tumor 2"
volume = "18 mL"
tumour_to_normal = 3.7

[delivery]
administered = "2.6 GBq"
residual_fraction = 0.05
administration = 2026-11-25T10:00:00-05:00
"""


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    d = c.write_clinic(tmp_path_factory.mktemp("clinic_verify"))
    (d / "patient.toml").write_text(TYPED_PLAN)
    return d


def test_real_shaped_pet_with_a_slicer_segmentation_and_a_typed_plan_end_to_end(clinic, tmp_path, capsys):
    """Absolute calibration, local deposition, no CT (1.03 g/mL): mean dose = K x concentration / density,
    by hand; the NaN outside the body and the two negative voxels are screened as for a plan."""
    from dosimetry.cli import main

    out = tmp_path / "verification"
    code = main(["verify", str(clinic / "patient.toml"), "--activity-image", str(clinic / "pet.nrrd"), "--activity-unit", "Bq/mL",
                 "--activity-time", "administration", "--calibration", "absolute", "--segmentation", str(clinic / "rois.seg.nrrd"),
                 "--liver", "liver", "--perfused", "perfused volume", "--method", "ldm", "-o", str(out)])
    text = capsys.readouterr().out
    assert code in (0, 1)
    assert sorted(p.name for p in out.iterdir()) == ["dose.nrrd", "dvh.csv", "report.pdf", "summary.txt", "verification.json"]
    doc = json.loads((out / "verification.json").read_text())
    regions = {r["name"]: r for r in doc["regions"]}
    gy = lambda bq_per_ml: K_HAND * bq_per_ml * 1e-9 / 1.03e-3  # noqa: E731  GBq/kg x Gy kg/GBq
    assert regions["tumor 1"]["delivered"]["mean"]["value"] == pytest.approx(gy(c.PET["tumor 1"]), rel=2e-3)
    assert regions["tumor 2"]["delivered"]["mean"]["value"] == pytest.approx(gy(c.PET["tumor 2"]), rel=2e-3)
    assert regions["Perfused normal liver"]["delivered"]["mean"]["value"] == pytest.approx(gy(c.PET["normal"]), rel=2e-3)
    # the typed plan gives tumour and normal-liver means only; the whole liver of a lobar plan has no planned figure
    assert set(regions["tumor 1"]["planned"]) == {"mean"} and regions["tumor 1"]["planned_source"] == "plan (compartment model)"
    assert regions["liver"]["planned"] is None
    # image total at administration, by hand: 963.25 mL x 2e6 + 18.75 mL x 2e7 + 18 mL x 8e6 Bq
    total = (963.25 * 2e6 + 18.75 * 2e7 + 18 * 8e6) * 1e-9
    assert doc["delivery"]["image_activity"]["value"] == pytest.approx(total, rel=1e-6)
    assert doc["delivery"]["image_to_delivered"] == pytest.approx(total / (2.6 * 0.95), rel=1e-6)
    assert doc["cumulative_lung_dose"] is None  # the PET misses the lungs
    # ... so the lungs are not assessed, the headline says so and the exit status is not a clean one
    assert doc["lungs_not_assessed"] and code == 1 and "LUNGS NOT ASSESSED" in doc["headline"]
    assert "Post-treatment verification, patient CLINIC-7" in text


def test_verify_refuses_an_existing_output_and_a_missing_segmentation(clinic, tmp_path, capsys):
    from dosimetry.cli import main

    base = ["verify", str(clinic / "patient.toml"), "--activity-image", str(clinic / "pet.nrrd"), "--activity-unit", "Bq/mL"]
    assert main(base + ["-o", str(tmp_path / "a")]) == 2
    assert "--segmentation" in capsys.readouterr().err
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("keep")
    assert main(base + ["--segmentation", str(clinic / "rois.seg.nrrd"), "--liver", "liver", "-o", str(tmp_path / "b")]) == 2
    assert (tmp_path / "b" / "x").read_text() == "keep"


def test_verify_names_the_flag_of_a_missing_administered_activity(clinic, tmp_path, capsys):
    from dosimetry.cli import main

    (tmp_path / "p.toml").write_text(TYPED_PLAN.replace('administered = "2.6 GBq"\n', ""))
    code = main(["verify", str(tmp_path / "p.toml"), "--activity-image", str(clinic / "pet.nrrd"), "--activity-unit", "Bq/mL",
                 "--segmentation", str(clinic / "rois.seg.nrrd"), "--liver", "liver", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "--administered" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_post_treatment_images_of_another_patient_are_refused(post_study):
    """PatientID (0010,0020) of the post-treatment series against patient.id; --allow-mismatch overrides."""
    import dataclasses

    planning, post = post_study
    pf = load_patient(planning / "patient.toml")
    other = dataclasses.replace(pf, patient=dataclasses.replace(pf.patient, id="SOMEONE-ELSE"))
    with pytest.raises(InputError) as e:
        load_post(other, post / "pt", post / "rtstruct.dcm", ct=post / "ct")
    assert e.value.field == "patient.id" and "PHANTOM-001" in str(e.value)
    inputs, _ = load_post(other, post / "pt", post / "rtstruct.dcm", ct=post / "ct", allow_mismatch=True)
    assert inputs.liver_name == "Liver"


def test_post_treatment_images_of_another_sex_are_refused_by_the_one_identity_rule(post_study):
    """The post-treatment images are checked as the planning images are (workflow/identity.py):
    PatientID, and PatientSex (0010,0040) 'O' of the phantom against a patient file saying 'F'."""
    import dataclasses

    planning, post = post_study
    pf = load_patient(planning / "patient.toml")
    other = dataclasses.replace(pf, patient=dataclasses.replace(pf.patient, sex="F"))
    with pytest.raises(InputError) as e:
        load_post(other, post / "pt", post / "rtstruct.dcm", ct=post / "ct")
    assert e.value.field == "patient.sex" and "post-treatment images' PatientSex (0010,0040)" in str(e.value) and "--allow-mismatch" in str(e.value)
    inputs, _ = load_post(other, post / "pt", post / "rtstruct.dcm", ct=post / "ct", allow_mismatch=True)
    assert any(w.startswith("patient.sex 'F' in the patient file") and "--allow-mismatch overrides" in w for w in inputs.warnings)


def test_register_without_planning_images_names_the_flag(clinic, tmp_path, capsys):
    from dosimetry.cli import main

    code = main(["verify", str(clinic / "patient.toml"), "--activity-image", str(clinic / "pet.nrrd"), "--activity-unit", "Bq/mL",
                 "--ct", str(clinic / "ct.nrrd"), "--register", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("y90: error: --register:") and "[imaging]" in err


def test_relative_calibration_of_a_pet_missing_the_lungs_uses_the_plans_lung_shunt(clinic):
    """By hand: the liver holds 2.6 GBq x (1 - 5 %) x (1 - 6 % planned shunt); the perfused normal liver its
    share of the image's liver activity (963.25 mL x 2e6 of the total), over 963.25 mL x 1.03 g/mL."""
    pf = load_patient(clinic / "patient.toml")
    inputs, _ = load_post(pf, clinic / "pet.nrrd", clinic / "rois.seg.nrrd", liver_roi="liver", perfused_roi="perfused volume",
                          tumour_rois=("tumor 1", "tumor 2"), activity_unit="Bq/mL")
    v = verify(inputs, delivery_inputs(pf), planned=run_case(pf), method="ldm")
    share = 963.25 * 2e6 / (963.25 * 2e6 + 18.75 * 2e7 + 18 * 8e6)
    expected = K_HAND * 2.6 * 0.95 * 0.94 * share / (963.25 * 1.03e-3)
    normal = next(r for r in v.regions if r.name == "Perfused normal liver")
    assert normal.delivered["mean"].to("Gy").magnitude == pytest.approx(expected, rel=2e-3)
    assert any("planned lung shunt (6.0%)" in n for n in v.notes)
    assert normal.planned["mean"].to("Gy").magnitude > 0 and normal.planned_source == "plan (compartment model)"


def test_a_planned_tumour_missing_on_the_post_treatment_study_is_named(clinic):
    pf = load_patient(clinic / "patient.toml")
    inputs, _ = load_post(pf, clinic / "pet.nrrd", clinic / "rois.seg.nrrd", liver_roi="liver", tumour_rois=("tumor 1",), activity_unit="Bq/mL")
    v = verify(inputs, delivery_inputs(pf), planned=run_case(pf), method="ldm")
    assert any("'tumor 2'" in n and "not compared" in n for n in v.notes)
