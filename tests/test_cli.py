"""The y90 command: exit status contract, JSON keys, one-line refusals, safe output."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dosimetry
from dosimetry.cli import main

EXAMPLES = Path(dosimetry.__file__).parent / "examples"
GLASS = EXAMPLES / "glass.toml"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_patient(tmp_path, text=None, **replace):
    text = text or GLASS.read_text()
    for old, new in replace.items():
        old = old.replace("__", " ")
        assert old in text, old
        text = text.replace(old, new)
    p = tmp_path / "patient.toml"
    p.write_text(text)
    return p


def test_plan_within_limits_exit_0_and_hand_value(capsys):
    code, out, err = run(capsys, "plan", str(GLASS), "--format", "json")
    assert code == 0 and err == ""
    data = json.loads(out)
    # 120 Gy * 1456 mL * 1.03 g/mL / (50 Gy kg/GBq * 0.95) = 179.9616 / 47.5 = 3.78866 GBq
    assert data["prescribed_activity"] == {"value": pytest.approx(3.78866, abs=1e-5), "unit": "GBq"}
    # lung dose = 50 * 3.78866 * 0.05 / 1 kg = 9.4717 Gy
    assert data["lung_dose"]["value"] == pytest.approx(9.4717, abs=1e-4)
    for key in ("prescribed_activity", "lung_dose", "warnings", "target_dose", "binding_constraint", "max_safe_activity", "vial", "dose_coefficient"):
        assert key in data
    assert data["dose_coefficient"] == {"value": 50.0, "unit": "Gy*kg/GBq"}
    # calibration 2026-11-24 08:21: 5 GBq * 2^(-25.65 h / 64.1 h) = 3.789 GBq at administration
    assert data["vial"]["vial"] == {"value": 5.0, "unit": "GBq"}
    assert data["status"] == "WITHIN LIMITS" and data["blocked"] is False
    assert {c["name"] for c in data["safety"]} >= {"lung_dose", "cumulative_lung_dose", "whole_normal_liver_dose"}


def test_example_vial_timing_of_issue_14_is_blocked(tmp_path, capsys):
    # Issue 14: calibration 11-22 12:00, the 10 GBq vial holds 4.691 GBq at the planned 11-25 10:00
    # (+23.8 %, 10 * 2^(-70 h / 64.1 h)): the whole normal liver gets 65.49 * 1.2381 = 81.09 Gy > 75 Gy.
    p = write_patient(tmp_path, **{"2026-11-24T08:21:00-05:00": "2026-11-22T12:00:00-05:00"})
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["blocked"] is True
    (vial,) = [c for c in data["safety"] if c["origin"] == "vial at the planned time" and not c["pass"]]
    assert vial["name"] == "whole_normal_liver_dose"
    assert vial["value"]["value"] == pytest.approx(65.49 * 10 * 2 ** (-70 / 64.1) / 3.78866, abs=0.02)


def test_blocked_plan_exit_1_names_limit_and_max_safe_activity(tmp_path, capsys):
    p = write_patient(tmp_path, **{"shunt_fraction = 0.05": "shunt_fraction = 0.20"})
    code, out, _ = run(capsys, "plan", str(p))
    assert code == 1
    # A = 120 * 1.49968 / (50 * 0.8) = 4.4990 GBq; lung dose = 50 * 4.499 * 0.2 = 44.99 Gy > 30 Gy
    # largest safe activity = 30 Gy / (50 Gy kg/GBq * 0.2 / 1 kg) = 3.0 GBq
    assert "BLOCKED by lung dose (this treatment) <= 30 Gy (plan)" in out
    assert "Largest safe activity 3 GBq" in out
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["within_limits"] is False
    assert data["max_safe_activity"]["value"] == pytest.approx(3.0)
    assert data["lung_dose"]["value"] == pytest.approx(44.9904, abs=1e-3)


def test_prior_lung_dose_counts(tmp_path, capsys):
    p = write_patient(tmp_path, **{'prior_dose = "0 Gy"': 'prior_dose = "45 Gy"'})
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    # cumulative 45 + 9.47 = 54.47 Gy > 50 Gy; largest safe = (50 - 45) / (50 * 0.05) = 2.0 GBq
    assert code == 1
    data = json.loads(out)
    assert data["cumulative_lung_dose"]["value"] == pytest.approx(54.4717, abs=1e-3)
    assert data["max_safe_activity"]["value"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("shunt_fraction = 0.05", "shunt_fraction = 1.2", "lung.shunt_fraction"),
        ('volume = "1456 mL"', 'volume = "-1456 mL"', "target.volume"),
        ('device = "glass"', 'device = "ceramic"', "treatment.device"),
        ('dose = "120 Gy"', 'dose = "120 GBq"', "target.dose"),
        ('tumour_volume = "300 mL"', 'tumour_volume = "1500 mL"', "target.tumour_volume"),
    ],
)
def test_invalid_input_exit_2_one_line(tmp_path, capsys, old, new, field):
    p = write_patient(tmp_path, **{old.replace(" ", "__"): new})
    code, out, err = run(capsys, "plan", str(p))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"y90: error: {field}: ")


def test_compare_side_by_side(capsys):
    code, out, _ = run(capsys, "plan", str(GLASS), "--compare", "--format", "json")
    data = json.loads(out)
    # issue 9: resin at 120 Gy gives the perfused normal liver 84.98 Gy (tumour-to-normal 3, see
    # tests/planning/test_plan_mird.py) against the resin < 40 Gy limit: one device blocked -> exit 1
    assert code == 1
    assert data["glass"]["status"] == "WITHIN LIMITS" and data["resin"]["status"] == "BLOCKED"
    # resin MIRD with K = 49.67: 179.9616 / (49.67 * 0.95) = 3.81384 GBq
    assert data["resin"]["prescribed_activity"]["value"] == pytest.approx(3.81384, abs=1e-5)
    assert data["glass"]["prescribed_activity"]["value"] == pytest.approx(3.78866, abs=1e-5)
    code, out, _ = run(capsys, "plan", str(GLASS), "--compare")
    assert "GLASS" in out and "RESIN" in out and "Spheres" in out


def test_output_file_written_and_input_protected(tmp_path, capsys):
    out_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(GLASS), "--format", "json", "-o", str(out_file))[0] == 0
    assert json.loads(out_file.read_text())["patient_id"] == "EX-001"
    p = write_patient(tmp_path)
    before = p.read_text()
    code, _, err = run(capsys, "plan", str(p), "-o", str(p))
    assert code == 2 and "would overwrite the input" in err
    assert p.read_text() == before


def test_decay_and_schedule(capsys):
    code, out, _ = run(capsys, "decay", "5 GBq", "--elapsed", "24 h", "--format", "json")
    assert code == 0
    # 5 GBq * exp(-ln2 * 24 / 64.1) = 5 * 0.771418 = 3.85709 GBq
    assert json.loads(out)["activity_at"]["value"] == pytest.approx(3.85709, abs=1e-5)
    code, out, _ = run(capsys, "schedule", "resin", "--activity", "1.5 GBq", "--calibration", "2026-11-25T10:00:00-05:00",
                       "--administration", "2026-11-25T10:00:00-05:00", "--format", "json")
    # at calibration: 3 GBq in 5 mL = 0.6 GBq/mL; 1.5 GBq -> 2.5 mL
    assert code == 0 and json.loads(out)["volume"]["value"] == pytest.approx(2.5)


@pytest.mark.parametrize(
    "argv, field",
    [
        (["decay", "5 kg", "--elapsed", "1 h"], "activity"),
        (["decay", "5 GBq"], "--elapsed"),
        (["schedule", "glass", "--activity", "3 GBq"], "--calibration"),
        (["schedule", "resin", "--activity", "3 GBq", "--calibration", "2026-11-25T10:00:00"], "--calibration"),
        (["plan", "does-not-exist.toml"], "patient file"),
        (["frobnicate"], "command line"),
    ],
)
def test_cli_refusals(capsys, argv, field):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith(f"y90: error: {field}: ") and err.count("\n") == 1


def test_module_entry_point_no_traceback(tmp_path):
    p = write_patient(tmp_path, **{"shunt_fraction = 0.05": "shunt_fraction = 1.2"})
    r = subprocess.run([sys.executable, "-m", "dosimetry", "plan", str(p)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.startswith("y90: error: lung.shunt_fraction:")


def test_glass_vial_timing_that_would_exceed_a_limit_blocks(tmp_path, capsys):
    # Partition, LSF 0, largest safe activity: whole normal liver just below its < 75 Gy limit.
    # W = M_N + r M_T = 1.19068 + 3 * 0.309 = 2.11768 kg; whole normal liver 1500 mL * 1.03 = 1.545 kg:
    # 50 / 2.11768 * 1.19068 / 1.545 = 18.1960 Gy/GBq -> A = 75 * 0.999 / 18.1960 = 4.11766 GBq.
    # Calibration 11-22 12:00, planned 11-25 10:00 (70 h): the 7 GBq vial reaches A after
    # 64.1 * log2(7 / 4.11766) = 49.1 h (too early), the 10 GBq vial after 82.0 h, so it is chosen;
    # at 70 h it holds 10 * 2^(-70/64.1) = 4.6917 GBq, +13.9 %: whole normal liver 85.4 Gy > 75 Gy.
    p = write_patient(
        tmp_path,
        **{"shunt_fraction = 0.05": "shunt_fraction = 0.0", 'method = "mird"': 'method = "partition"', 'dose = "120 Gy"': "",
           "2026-11-24T08:21:00-05:00": "2026-11-22T12:00:00-05:00"},
    )
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert data["prescribed_activity"]["value"] == pytest.approx(75 * 0.999 / (50 / 2.11768 * 1.19068 / 1.545), rel=1e-4)
    assert data["vial"]["vial"]["value"] == 10.0
    assert code == 1 and data["within_limits"] is False
    assert data["schedule_failures"] == ["whole normal liver dose < 75 Gy"]
    assert any("holds 4.691 GBq" in w and "+13.9%" in w for w in data["warnings"])
    code, out, _ = run(capsys, "plan", str(p))
    assert code == 1 and "BLOCKED by whole normal liver dose < 75 Gy (vial at the planned time)" in out


def test_blocked_resin_plan_has_no_vial(tmp_path, capsys):
    text = (EXAMPLES / "resin.toml").read_text().replace("shunt_fraction = 0.05", "shunt_fraction = 0.25")
    p = tmp_path / "r.toml"
    p.write_text(text)
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["vial"] is None
    assert any("plan is blocked" in n for n in data["notes"])


def test_clinic_lung_limit_applies(tmp_path, capsys):
    # lung dose 9.4717 Gy (see above) against a clinic limit of 9 Gy: blocked, and the largest safe
    # activity is 9 / (50 * 0.05 / 1 kg) = 3.6 GBq.
    p = write_patient(tmp_path, **{'prior_dose = "0 Gy"': 'prior_dose = "0 Gy"\nlimit = "9 Gy"'})
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["max_safe_activity"]["value"] == pytest.approx(3.6)
    lung = [c for c in data["limits"] if c["name"] == "lung_dose"][0]
    assert lung["limit"]["value"] == 9.0 and "clinic override" in lung["source"] and lung["override"] is True
