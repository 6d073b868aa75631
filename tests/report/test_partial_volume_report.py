"""Issue 25 in the report: the demo's page 1 shows corrected ratios beside the plain ones; the plan's
tumour doses say they rest on blur-biased ratios; the clinic's opt-in changes efficacy only."""

import json
from dataclasses import replace

import pytest
from pypdf import PdfReader

from dosimetry.io.patient import load_patient
from dosimetry.planning.clinical import clinical
from dosimetry.workflow.case import run_case
from dosimetry.report.page1 import signed_page

TRUTH = {"Tumour 1": 4.0, "Tumour 2": 6.0}  # the demo phantom's prescribed ratios (docs/phantoms.md)


def test_demo_report_json_has_corrected_figures_beside(demo):
    out, _, _ = demo
    rep = json.loads((out / "report" / "report.json").read_text())
    tumours = {t["name"]: t for t in rep["tumours"]}
    for name, r in TRUTH.items():
        t = tumours[name]
        assert t["tumour_to_normal_from_image"] is True
        assert t["tumour_to_normal"] < 0.9 * r  # blur-biased: 3.36 and 3.99 measured
        assert t["corrected_tumour_to_normal"] == pytest.approx(r, rel=0.05)
        assert t["corrected_planned_dose"]["value"] > 1.1 * t["planned_dose"]["value"]
    regions = {r["name"]: r for r in rep["imaging"]["regions"]}
    assert regions["Tumour 1"]["corrected_tumour_to_normal"] == pytest.approx(4.0, rel=0.05)
    assert rep["imaging"]["partial_volume"]["fwhm"] == {"value": 10.0, "unit": "mm"}


def test_demo_page1_shows_corrected_ratios_beside(demo):
    out, _, _ = demo
    text = " ".join(PdfReader(out / "report" / "report.pdf").pages[0].extract_text().split())
    assert "Partial-volume correction" in text and "the verdict uses the plain figures" in text
    assert text.count("partial-volume corrected") >= 2
    rep = json.loads((out / "report" / "report.json").read_text())
    for t in rep["tumours"]:
        assert f"{t['corrected_tumour_to_normal']:#.3g}" in text and f"{t['tumour_to_normal']:.3g}" in text


@pytest.fixture(scope="module")
def cases(demo):
    out, _, _ = demo
    pf = load_patient(out / "patient" / "patient.toml")
    plain = run_case(pf, uncertainty=replace(pf.uncertainty, samples=0) if pf.uncertainty is not None else None)
    c = pf.clinical
    opted = replace(pf, clinical=clinical(c.indication, c.extent, c.bilirubin, c.compromised_liver, corrected_tumour_doses=True))
    return plain, run_case(opted, uncertainty=replace(pf.uncertainty, samples=0) if pf.uncertainty is not None else None)


def test_plan_tumour_doses_state_their_blur_biased_ratios(cases):
    plain, _ = cases
    warned = [w for w in plain.warnings if "rests on the image's tumour-to-normal ratio" in w]
    assert len(warned) == 2 and all("shown beside; the plan and the verdict use the plain figures" in w for w in warned)
    for t in plain.partial_volume_plan:
        assert t.from_image and t.corrected_ratio == pytest.approx(TRUTH[t.name], rel=0.05)


def test_opt_in_changes_the_tumour_efficacy_checks_only(cases):
    plain, opted = cases
    assert [c.to_json() for c in plain.safety] == [c.to_json() for c in opted.safety]
    assert plain.status == opted.status and plain.max_safe_activity == opted.max_safe_activity
    p_eff = {(c.name, c.origin, c.label): c for c in plain.efficacy}
    o_eff = {(c.name, c.origin, c.label): c for c in opted.efficacy}
    assert p_eff.keys() == o_eff.keys()
    plan_key = next(k for k in p_eff if k[0] == "tumour_dose" and k[1] == "plan")
    corrected = min(t.corrected_dose.to("Gy").magnitude for t in opted.partial_volume_plan)
    assert o_eff[plan_key].value.to("Gy").magnitude == pytest.approx(corrected)
    assert o_eff[plan_key].value > p_eff[plan_key].value
    for k in (k for k in p_eff if k[1] == "voxel"):
        name = k[2].removesuffix(" dose")
        assert o_eff[k].value.to("Gy").magnitude == pytest.approx(opted.voxel.partial_volume.tumour_mean_dose[name].to("Gy").magnitude)
    page = signed_page(opted)
    shown = " ".join(v for _, rows in page.sections for _, v in rows)
    assert "BY THE CLINIC'S CHOICE" in shown and "judged on partial-volume corrected figures" in shown
