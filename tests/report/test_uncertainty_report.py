"""Issue 23: what the user sees of the uncertainty analysis in report.json, the PDF and summary.txt
(the demo: a partition plan of a phantom with voxel dosimetry)."""

import json

from pypdf import PdfReader


def _rep(demo):
    out, _, _ = demo
    return json.loads((out / "report" / "report.json").read_text())


def test_report_json_gives_every_figure_its_interval_and_every_safety_check_its_probability(demo):
    rep = _rep(demo)
    u = rep["uncertainty"]
    assert u["samples"] == 10_000 and u["seed"] == 0 and u["level"] == 0.95 and u["p_exceed_bound"] == 0.05
    for key in ("prescribed_activity", "lung_dose", "normal_liver_dose", "whole_normal_liver_dose"):
        iv = rep[key]["uncertainty"]
        assert set(iv) == {"median", "low", "high", "level", "samples"} and iv["level"] == 0.95 and iv["samples"] == 10_000
    # several tumours: lists in the figure's unit, and each tumour's record carries its own
    assert len(rep["tumours"]) == 2 and "tumour_dose" not in rep  # issue 21: by name only
    for i, t in enumerate(rep["tumours"]):
        iv = t["planned_dose"]["uncertainty"]
        assert set(iv) == {"median", "low", "high", "level", "samples"} and iv["level"] == 0.95 and iv["samples"] == 10_000
        assert iv["low"] <= t["planned_dose"]["value"] <= iv["high"]
        assert "uncertainty" in t["voxel_mean_dose"]
    assert rep["safety"] and all(0 <= c["p_exceed"] <= 1 for c in rep["safety"])
    assert any(c["origin"] == "voxel" for c in rep["safety"])
    assert all("p_exceed" not in c for c in rep["efficacy"])
    # the voxel regions' mean doses, with the region's name
    regions = {r["name"]: r for r in rep["imaging"]["regions"]}
    assert {v["region"] for v in u["voxel"]} == set(regions)
    for r in regions.values():
        assert r["mean"]["uncertainty"]["low"] <= r["mean"]["value"] <= r["mean"]["uncertainty"]["high"]
    # the inputs ranked, per figure and per tumour, with the budget drawn and its sources
    ranked = {(x["figure"], x["tumour"]) for x in u["ranking"]}
    assert {("prescribed_activity", None), ("lung_dose", None), ("tumour_dose", 1), ("tumour_dose", 2)} <= ranked
    for x in u["ranking"]:
        assert abs(sum(s["share"] for s in x["shares"]) - 1) < 1e-9 or all(s["share"] == 0 for s in x["shares"])
    # the demo measures the shunt on the MAA SPECT/CT and the lung mass on the CT
    assert {"lung_shunt_spect", "lung_mass"} <= {b["input"] for b in u["budget"]}
    assert all(b["source"] for b in u["budget"])


def test_the_pdf_has_one_line_per_limit_on_page_1_and_a_page_of_intervals(demo):
    out, _, _ = demo
    pages = [p.extract_text() for p in PdfReader(out / "report" / "report.pdf").pages]
    first = "\n".join(p for p in pages if "page 1" in p or "(continued)" in p)
    assert "Chance each safety limit is crossed at the prescribed activity" in first
    assert "lung dose (this treatment) <= 30 Gy (plan):" in first
    page = next(p for p in pages if "Uncertainty of the plan" in p)
    assert "95 % interval" in page and "Prescribed activity" in page and "Tumour 1 dose" in page
    audit = "\n".join(pages[-2:])
    assert "Uncertainty analysis" in audit and "Allred" in audit


def test_summary_has_the_uncertainty_section(demo):
    out, _, _ = demo
    text = (out / "report" / "summary.txt").read_text()
    assert "Uncertainty (10000 draws of the inputs (seed 0)" in text
    assert "Chance each safety limit is crossed at the prescribed activity" in text
    assert "Largest shares of the variance" in text
