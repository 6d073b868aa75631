"""Issue 23: `--seed N`, `--samples N` and `--uncertainty KEY=VALUE` on `y90 plan` and `y90 report`."""

import json
from pathlib import Path

import pytest

import dosimetry
from dosimetry.cli import main

GLASS = Path(dosimetry.__file__).parent / "examples" / "glass.toml"
RESIN = Path(dosimetry.__file__).parent / "examples" / "resin.toml"


def plan_json(capsys, *flags, path=GLASS):
    code = main(["plan", str(path), "--format", "json", "--samples", "1000", *flags])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_same_seed_same_numbers_other_seed_other_numbers(capsys):
    _, a, _ = plan_json(capsys, "--seed", "5")
    _, b, _ = plan_json(capsys, "--seed", "5")
    _, c, _ = plan_json(capsys, "--seed", "6")
    assert a == b
    assert a["uncertainty"]["seed"] == 5 and a["uncertainty"]["samples"] == 1000
    assert a["prescribed_activity"]["uncertainty"] != c["prescribed_activity"]["uncertainty"]


def test_plan_json_has_intervals_and_probabilities_and_the_verdict_is_nominal(capsys):
    code, doc, _ = plan_json(capsys)
    assert code == 0 and doc["status"] == "WITHIN LIMITS"  # a warning above the bound never blocks
    assert any(w.startswith("UNCERTAINTY:") for w in doc["warnings"])
    assert set(doc["lung_dose"]["uncertainty"]) == {"median", "low", "high", "level", "samples"}
    assert all("p_exceed" in c for c in doc["safety"]) and all("p_exceed" in c for c in doc["limits"] if c["kind"] == "safety")


def test_samples_zero_switches_it_off(capsys):
    code, doc, _ = plan_json(capsys, "--samples", "0")
    assert code == 0 and doc["uncertainty"] is None
    assert "uncertainty" not in doc["lung_dose"] and all("p_exceed" not in c for c in doc["safety"])
    assert not any(w.startswith("UNCERTAINTY:") for w in doc["warnings"])


def test_uncertainty_flags_override_the_budget(capsys):
    _, doc, _ = plan_json(capsys, "--uncertainty", "activity=off", "--uncertainty", "residual_fraction=uniform:0.01:absolute",
                          "--uncertainty", "lung_shunt_method=spect", "--uncertainty", "p_exceed_bound=50%")
    budget = {b["input"]: b for b in doc["uncertainty"]["budget"]}
    assert "activity" not in budget and "lung_shunt_spect" in budget
    assert budget["residual_fraction"]["distribution"] == "uniform" and budget["residual_fraction"]["spread"] == 0.01
    assert budget["residual_fraction"]["relative"] is False and doc["uncertainty"]["p_exceed_bound"] == 0.5
    assert not any(w.startswith("UNCERTAINTY:") for w in doc["warnings"])


def test_text_output_has_the_section(capsys):
    assert main(["plan", str(RESIN), "--samples", "500", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "Uncertainty (500 draws of the inputs (seed 2)" in out
    assert "Chance each safety limit is crossed at the prescribed activity" in out


@pytest.mark.parametrize("flags, field", [
    (["--samples", "5"], "--samples"),
    (["--samples", "many"], "--samples"),
    (["--seed", "-3"], "--seed"),
    (["--uncertainty", "activity"], "--uncertainty"),
    (["--uncertainty", "activty=5%"], "--uncertainty.activty"),
    (["--uncertainty", "activity=normal:5%:sideways"], "--uncertainty"),
    (["--uncertainty", "tumour_to_normal=lognormal:0.2:absolute"], "--uncertainty.tumour_to_normal.spread"),
])
def test_bad_flags_are_refused_in_one_line(capsys, flags, field):
    code = main(["plan", str(GLASS), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"y90: error: {field}: ") and err.count("\n") == 1, err


def test_report_takes_the_same_flags(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["--quiet", "report", str(GLASS), "-o", str(out), "--seed", "3", "--samples", "400"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["uncertainty"]["seed"] == 3 and rep["uncertainty"]["samples"] == 400
