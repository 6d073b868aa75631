"""The y90 command: exit status contract, JSON keys, one-line refusals, safe output."""

import datetime as dt
import json
import math
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
    # (issue 23: the figure also carries its 95 % interval, "uncertainty")
    assert {k: data["prescribed_activity"][k] for k in ("value", "unit")} == {"value": pytest.approx(3.78866, abs=1e-5), "unit": "GBq"}
    # lung dose = 50 * 3.78866 * 0.05 / 1 kg = 9.4717 Gy
    assert data["lung_dose"]["value"] == pytest.approx(9.4717, abs=1e-4)
    for key in ("prescribed_activity", "lung_dose", "warnings", "target_dose", "binding_constraint", "max_safe_activity", "vial", "dose_coefficient"):
        assert key in data
    assert data["dose_coefficient"] == {"value": 50.0, "unit": "Gy*kg/GBq"}
    # calibration 2026-11-24 08:21: 5 GBq * 2^(-25.65 h / 64.1 h) = 3.789 GBq at administration
    assert data["vial"]["vial"] == {"value": 5.0, "unit": "GBq"}
    assert data["status"] == "WITHIN LIMITS" and data["blocked"] is False
    assert {c["name"] for c in data["safety"]} >= {"lung_dose", "cumulative_lung_dose", "whole_normal_liver_dose"}


def test_example_vial_timing_of_issue_14_needs_a_decision(tmp_path, capsys):
    # Issue 14: calibration Sun 11-22 12:00, planned Wed 11-25 10:00 (70 h). Prescription 3.78866 GBq.
    # At 70 h every standard vial holds V * 2^(-70 / 64.1) = 0.46910 V: 7 GBq -> 3.284 GBq (-13.3 %),
    # 10 GBq -> 4.691 GBq (+23.8 %): none within +-10 %, so the plan needs a decision (exit 1), not
    # "administer at 2026-11-26 05:45" (outside clinic hours) nor "order 8.077 GBq" (not orderable).
    p = write_patient(tmp_path, **{"2026-11-24T08:21:00-05:00": "2026-11-22T12:00:00-05:00"})
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["blocked"] is False and data["needs_decision"] is True
    assert data["status"] == "NEEDS A DECISION"
    assert "7 GBq -> 3.284 GBq (-13.3%)" in data["decisions"][0] and "10 GBq -> 4.691 GBq (+23.8%)" in data["decisions"][0]
    opts = {o["vial"]["value"]: o for o in data["vial"]["options"]}
    cal = dt.datetime.fromisoformat("2026-11-22T12:00:00-05:00")

    def after_cal(text):
        return (dt.datetime.fromisoformat(text) - cal).total_seconds() / 3600

    # 7 GBq: <= 1.1 A = 4.16753 GBq from 64.1 * log2(7 / 4.16753) = 47.957 h (Tue 11:57) on; in hours to 18:00
    assert after_cal(opts[7.0]["window_start"]) == pytest.approx(47.957, abs=0.02) and opts[7.0]["window_end"] == "2026-11-24T18:00:00-05:00"
    # 10 GBq: >= 0.9 A = 3.40979 GBq until 64.1 * log2(10 / 3.40979) = 99.52 h (Thu 15:31); from 07:00 (opens)
    # (<= 1.1 A from 80.9 h = Wed 20:56, after closing)
    assert opts[10.0]["window_start"] == "2026-11-26T07:00:00-05:00"
    assert after_cal(opts[10.0]["window_end"]) == pytest.approx(64.1 * math.log2(10 / (0.9 * 3.78866)), abs=0.02)
    # and, as an option to decide on, the custom dose of 3.78866 / 0.46910 = 8.0764 -> 8.0 GBq (0.5 GBq steps)
    assert [o["vial"]["value"] for o in data["vial"]["options"] if o["custom"]] == [8.0]
    for o in data["vial"]["options"]:
        for key in ("window_start", "window_end"):
            t = o[key]
            assert "07:00:00" <= t[11:19] <= "18:00:00" and len(t) == 25  # to the second, with offset
    code, out, _ = run(capsys, "plan", str(p))
    assert code == 1 and out.splitlines()[1].startswith("NEEDS A DECISION") and "Decision needed" in out
    assert "05:45" not in out and "8.077" not in out


def test_example_vial_timing_with_custom_doses_is_in_hours_advice(tmp_path, capsys):
    # Custom doses allowed: 3.78866 / 0.46917 = 8.0752 GBq needed at calibration, rounded to the
    # 0.5 GBq step: 8.0 GBq, delivering 8.0 * 0.46917 = 3.7534 GBq (-0.93 %) at the planned Wed 10:00.
    p = write_patient(tmp_path, **{"2026-11-24T08:21:00-05:00": "2026-11-22T12:00:00-05:00"})
    p.write_text(p.read_text() + "\n[clinic]\ncustom_doses = true\n")
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "WITHIN LIMITS"
    c = data["vial"]["choice"]
    assert c["vial"]["value"] == 8.0 and c["custom"] is True and c["administration_time"] == "2026-11-25T10:00:00-05:00"
    assert c["vial_activity_at_administration"]["value"] == pytest.approx(8.0 * 2 ** (-70 / 64.1), rel=1e-4)


def test_example_vial_timing_outside_clinic_hours_needs_a_decision(tmp_path, capsys):
    # Planned Sunday 10:00: outside the default weekday hours -> a decision, exit 1.
    p = write_patient(tmp_path, **{"2026-11-25T10:00:00-05:00": "2026-11-29T10:00:00-05:00", "2026-11-24T08:21:00-05:00": "2026-11-28T08:21:00-05:00"})
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert code == 1 and "outside clinic hours" in data["decisions"][0]
    # the clinic opens on Sundays: the 5 GBq vial holds the plan then (same 25.65 h as the example)
    p.write_text(p.read_text() + '\n[clinic]\ndays = ["mon", "tue", "wed", "thu", "fri", "sun"]\n')
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    assert code == 0 and json.loads(out)["vial"]["choice"]["vial"]["value"] == 5.0


def test_resin_drawn_64_h_after_calibration_is_blocked(tmp_path, capsys):
    # Issue 14: resin given 64 h after its calibration (the whole vial is drawn) exited 0 with a
    # warning; the SIR-Spheres usable window is 24 h either side of calibration: blocked, exit 1.
    text = (EXAMPLES / "resin.toml").read_text()
    for old, new in (("2026-11-25T18:00:00-05:00", "2026-11-22T18:00:00-05:00"), ('vial_activity = "3 GBq"', 'vial_activity = "3.03 GBq"')):
        assert old in text
        text = text.replace(old, new)
    p = tmp_path / "r.toml"
    p.write_text(text)
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    # 3.03 GBq * 2^(-64 / 64.1) = 1.5168 GBq in 5 mL; 1.51227 GBq prescribed -> 4.985 mL of 5 mL
    assert data["vial"]["volume"]["value"] == pytest.approx(1.51227 / (3.03 * 2 ** (-64 / 64.1) / 5), rel=1e-3)
    assert code == 1 and data["blocked"] is True
    (fail,) = [c for c in data["safety"] if not c["pass"]]
    assert fail["name"] == "time_from_calibration" and fail["value"] == {"value": pytest.approx(64.0), "unit": "h"}
    assert any("of the vial" in w for w in data["warnings"])
    # 23 h after calibration: inside the window, exit 0
    p.write_text(text.replace("2026-11-22T18:00:00-05:00", "2026-11-24T11:00:00-05:00"))
    assert run(capsys, "plan", str(p))[0] == 0


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


def test_compare_side_by_side_each_device_to_its_own_target(capsys, tmp_path):
    # Issue 14: --compare planned resin with the glass file's 120 Gy MIRD target (and glass with a
    # resin file's BSA). Each device now gets its own EANM 2022 target for HCC, lobar: the partition
    # model to the tumour threshold. M_T = 300 mL * 1.03 = 0.309 kg, M_N = 1156 * 1.03 = 1.19068 kg,
    # ratio 3: W = M_N + 3 M_T = 2.11768 kg.
    code, out, _ = run(capsys, "plan", str(GLASS), "--compare", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["glass"]["status"] == "WITHIN LIMITS" and data["resin"]["status"] == "WITHIN LIMITS"
    # glass: the file's own MIRD 120 Gy: 3.78866 GBq
    assert data["glass"]["prescribed_activity"]["value"] == pytest.approx(3.78866, abs=1e-5)
    # resin, tumour >= 100 Gy (EANM T3): A = 100 * 2.11768 / (49.67 * 3 * 0.95) = 1.49596 GBq
    assert data["resin"]["prescribed_activity"]["value"] == pytest.approx(100 * 2.11768 / (49.67 * 3 * 0.95), rel=1e-4)
    assert data["resin"]["method"] == "partition" and "tumour 100 Gy" in data["resin"]["notes"][0]
    assert data["glass"]["binding"] and data["resin"]["binding"]
    code, out, _ = run(capsys, "plan", str(EXAMPLES / "resin.toml"), "--compare", "--format", "json")
    data = json.loads(out)
    # glass for the resin file, tumour >= 205 Gy (EANM T2, HCC): A = 205 * 2.11768 / (50 * 3 * 0.95) = 3.04648 GBq
    assert data["glass"]["prescribed_activity"]["value"] == pytest.approx(205 * 2.11768 / (50 * 3 * 0.95), rel=1e-4)
    assert data["resin"]["method"] == "bsa"
    code, out, _ = run(capsys, "plan", str(GLASS), "--compare")
    assert "GLASS" in out and "RESIN" in out and "Spheres" in out and "Binding limit" in out and "Prescribed to" in out
    # no scenario target for the other device: refused, naming the key
    p = write_patient(tmp_path, **{'indication = "hcc"': 'indication = "other"'})
    code, _, err = run(capsys, "plan", str(p), "--compare")
    assert code == 2 and err.startswith("y90: error: clinical.indication:")


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
    # 64.1 * log2(7 / 4.11766) = 49.1 h (too early), the 10 GBq vial after 82.0 h; it was ordered;
    # at 70 h it holds 10 * 2^(-70/64.1) = 4.6917 GBq, +13.9 %: whole normal liver 85.4 Gy > 75 Gy.
    p = write_patient(
        tmp_path,
        **{"shunt_fraction = 0.05": "shunt_fraction = 0.0", 'method = "mird"': 'method = "partition"', 'dose = "120 Gy"': "",
           "2026-11-24T08:21:00-05:00": '2026-11-22T12:00:00-05:00\nvial = "10 GBq"'},
    )
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    assert data["prescribed_activity"]["value"] == pytest.approx(75 * 0.999 / (50 / 2.11768 * 1.19068 / 1.545), rel=1e-4)
    assert code == 1 and data["within_limits"] is False and data["needs_decision"] is False
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


# -- issue 14: CLI habits -----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["decay", "plan", "schedule", "dose", "dvh", "report", "demo"])
def test_every_subcommand_help_has_description_examples_exit_codes(capsys, command):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "exit status:" in out and f"y90 {command}" in out.split("examples:")[1]
    assert "-q, --quiet" in out and "-v, --verbose" in out


def test_quiet_and_verbose_after_the_subcommand_and_o_dash(capsys):
    code, out, err = run(capsys, "plan", str(GLASS), "-q", "-v", "--format", "json", "-o", "-")
    assert code == 0 and json.loads(out)["patient_id"] == "EX-001"
    code, out, _ = run(capsys, "decay", "5 GBq", "--elapsed", "24 h", "-o", "-")
    # 5 * 2^(-24 / 64.1) = 3.857 GBq, printed, no file called '-' written
    assert code == 0 and "3.857 GBq" in out and not Path("-").exists()
    code, _, err = run(capsys, "report", str(GLASS), "-o", "-")
    assert code == 2 and err.startswith("y90: error: -o:")


def test_demo_says_first_where_it_writes(tmp_path, capsys, monkeypatch):
    import phantoms

    def stop(*a, **k):
        raise KeyboardInterrupt  # stop before the slow part: only the first line matters here

    monkeypatch.setattr(phantoms, "make_patient", stop)
    code, out, _ = run(capsys, "demo", "-o", str(tmp_path / "d"))
    assert out.splitlines()[0] == f"y90 demo: writing a phantom patient and its report to {(tmp_path / 'd').absolute()}/"
    assert not (tmp_path / "d").exists()  # nothing partial left behind


def test_readme_gives_the_venv_step():
    readme = (Path(dosimetry.__file__).parent.parent / "README.md").read_text()
    assert "python3 -m venv .venv" in readme and ". .venv/bin/activate" in readme


def test_schedule_resin_outside_usable_window_is_blocked(capsys):
    # 2026-11-22 18:00 -> 2026-11-25 10:00 = 64 h after calibration; the window is +-24 h: exit 1.
    # 3.03 GBq * 2^(-64 / 64.1) = 1.51652 GBq in 5 mL; 1.5 GBq -> 4.9455 mL (nearly the whole vial)
    argv = ["schedule", "resin", "--activity", "1.5 GBq", "--calibration", "2026-11-22T18:00-05:00",
            "--administration", "2026-11-25T10:00-05:00", "--vial-activity", "3.03 GBq", "--format", "json"]
    code, out, _ = run(capsys, *argv)
    data = json.loads(out)
    assert code == 1 and data["blocked"] is True
    assert data["volume"]["value"] == pytest.approx(1.5 / (3.03 * 2 ** (-64 / 64.1) / 5), rel=1e-4)
    assert isinstance(data["sphere_count"], int)


def test_schedule_glass_issue_example_and_plan_json_has_named_tumours(capsys):
    code, out, _ = run(capsys, "schedule", "glass", "--activity", "2.7 GBq", "--calibration", "2026-11-29T12:00-05:00")
    assert code == 0 and "21:44" not in out and "Vial to order: 5 GBq standard vial" in out
    code, out, _ = run(capsys, "schedule", "glass", "--activity", "2.7 GBq", "--calibration", "2026-11-29T12:00-05:00",
                       "--administration", "2026-11-29T21:44-05:00")
    assert code == 1 and "NEEDS A DECISION" in out and "outside clinic hours" in out
    code, out, _ = run(capsys, "plan", str(GLASS), "--format", "json")
    data = json.loads(out)
    assert data["schema_version"] == "2.1"
    # glass example: one tumour of 300 mL, ratio 3, MIRD 120 Gy: D_T = 3 * 50 * 3.78866 * 0.95 / (1.19068 + 3 * 0.309) = 254.94 Gy
    (t,) = data["tumours"]
    assert t["name"] == "Tumour" and t["planned_dose"]["value"] == pytest.approx(3 * 50 * 3.78866 * 0.95 / 2.11768, rel=1e-4)


def test_glass_plan_without_calibration_orders_by_convention(tmp_path, capsys):
    p = write_patient(tmp_path, **{"calibration = 2026-11-24T08:21:00-05:00": "# no calibration"})
    code, out, _ = run(capsys, "plan", str(p), "--format", "json")
    data = json.loads(out)
    c = data["vial"]["choice"]
    # 5 GBq at Tue 12:00 EST, 22 h before Wed 10:00: 5 * 2^(-22 / 64.1) = 3.9412 GBq, +4.03 % of 3.78866
    assert code == 0 and c["vial"]["value"] == 5.0 and c["calibration_time"] == "2026-11-24T12:00:00-05:00"
    assert c["deviation"] == pytest.approx(5 * 2 ** (-22 / 64.1) / 3.78866 - 1, abs=1e-4)
    # the vial's activity is checked at the planned time: whole normal liver 65.49 * 1.0403 = 68.13 Gy < 75 Gy
    (wnl,) = [x for x in data["safety"] if x["origin"] == "vial at the planned time" and x["name"] == "whole_normal_liver_dose"]
    assert wnl["value"]["value"] == pytest.approx(65.49 * 5 * 2 ** (-22 / 64.1) / 3.78866, rel=1e-3)
    assert any("convention" in n for n in data["notes"])


def test_demo_reads_its_images_once(tmp_path, capsys, monkeypatch):
    # issue 22: the images read to choose the demo's vial are the report's; before, the report read
    # and placed them again (read_images called twice)
    import dosimetry.cli.demo as demo
    import dosimetry.workflow.case as case

    reads, given = [], []
    real_read = case.read_images

    def counting(*a, **k):
        reads.append(1)
        return real_read(*a, **k)

    def report(path, output, args, keep=None, images=None):
        given.append(images)  # without them, run_case would read the images again
        keep.append(None)
        return 0

    monkeypatch.setattr(case, "read_images", counting)
    monkeypatch.setattr(demo, "run_report", report)
    monkeypatch.setattr(demo, "demo_verification", lambda *a, **k: None)
    code, _, _ = run(capsys, "--quiet", "demo", "-o", str(tmp_path / "d"))
    assert code == 0 and len(reads) == 1 and given[0] is not None
    assert given[0].inputs and all(str(tmp_path / "d" / "patient") in p for p in given[0].inputs)  # read at their final paths
