"""Issue 20: ``y90 demo`` gains the post-treatment step (y90-demo/post/ with its truth.json, and
y90-demo/verification/), and the verification report's sections: findings first, the table, the
planned and delivered DVHs overlaid."""

import json

import pytest


def test_demo_writes_the_post_treatment_study_and_its_verification(demo):
    out, code, _ = demo
    assert code == 0  # the demo's exit status is the plan's report's
    truth = json.loads((out / "post" / "truth.json").read_text())
    assert truth["post_treatment"]["tumour_ratio_factors"] == {"Tumour 2": 0.5}
    assert truth["regions"]["Liver"]["mean_dose"]["unit"] == "Gy"  # the delivered truth per region
    assert sorted(p.name for p in (out / "verification").iterdir()) == ["dvh.csv", "report.pdf", "rtdose.dcm", "summary.txt", "verification.json"]


def test_demo_verification_gives_the_administered_activity_of_the_plan_and_shows_tumour_2s_change(demo):
    out, _, _ = demo
    doc = json.loads((out / "verification" / "verification.json").read_text())
    report = json.loads((out / "report" / "report.json").read_text())
    assert doc["delivery"]["administered"]["value"] == pytest.approx(report["prescribed_activity"]["value"])
    assert doc["delivery"]["residual_fraction"] == 0.05
    ratio = {r["name"]: r["ratio"]["mean"] for r in doc["regions"]}
    # Tumour 2 halved against the others (the camera blur of the MAA and PET images blurs the half)
    assert ratio["Tumour 2"] < 0.75 * ratio["Tumour 1"] and ratio["Tumour 2"] < 0.75 * ratio["Normal liver"]
    assert [r["name"] for r in doc["regions"]][:2] == ["Liver", "Normal liver"]


def test_verification_pdf_has_findings_table_and_overlaid_dvhs(demo):
    from pypdf import PdfReader

    out, _, _ = demo
    text = PdfReader(out / "verification" / "report.pdf").pages[0].extract_text()
    assert "planned against delivered" in text.lower()
    assert "Tumour 2" in text and "delivered" in text and "planned" in text  # the legends of the overlaid DVHs
    summary = (out / "verification" / "summary.txt").read_text()
    assert summary.splitlines()[1].startswith(("ADVERSE FINDINGS", "NO ADVERSE FINDING"))


def test_demo_verification_json_validates_against_its_published_schema(demo):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_schemas import errors  # the subset validator of the report schemas, itself tested there

    from dosimetry.report.schemas import load

    out, _, _ = demo
    doc = json.loads((out / "verification" / "verification.json").read_text())
    assert errors(doc, load("verification.schema.json")) == []
    doc["regions"][0]["delivered"]["mean"] = 12.0  # a bare number where a dose is meant
    doc["regions"][1]["planned"] = {"d70": {"value": 1.0, "unit": "Gy"}}  # planned without its mean
    errs = errors(doc, load("verification.schema.json"))
    assert any("regions[0]" in e or "regions/0" in e or "[0]" in e for e in errs) and len(errs) >= 2


def test_demo_patient_file_with_a_delivery_table_validates(demo):
    import sys
    import tomllib
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_schemas import errors

    from dosimetry.report.schemas import load

    out, _, _ = demo
    text = (out / "patient" / "patient.toml").read_text() + '\n[delivery]\nadministered = "2 GBq"\nresidual_fraction = 0.05\nadministration = 2026-01-15T10:00:00-05:00\n'
    doc = json.loads(json.dumps(tomllib.loads(text), default=lambda t: t.isoformat()))
    assert errors(doc, load("patient.schema.json")) == []


def test_each_finding_is_printed_whole_in_the_verification_pdf(demo):
    """A finding longer than a line was cut at 160 characters (its source lost); it is wrapped instead."""
    from pypdf import PdfReader

    out, _, _ = demo
    text = " ".join(PdfReader(out / "verification" / "report.pdf").pages[0].extract_text().split())
    summary = (out / "verification" / "summary.txt").read_text().splitlines()
    findings = [line.strip()[2:] for line in summary if line.strip().startswith("! ")]
    assert findings, "the demo's verification has efficacy findings (Tumour 2 takes half its share)"
    for f in findings:
        assert len(f) > 160  # long enough to have been cut before
        assert " ".join(f.split()) in text, f
