"""Issue 24: `y90 cohort MANIFEST -o OUT [--workers N | --scheduler ADDRESS]`: exit status 0 when every
case is within limits, 1 when one is blocked or failed (saying how many), 2 for invalid input."""

import csv
import shutil
from pathlib import Path

import pytest

import dosimetry
from dosimetry.cli import main

EXAMPLES = Path(dosimetry.__file__).parent / "examples"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def study(tmp_path):
    shutil.copy(EXAMPLES / "glass.toml", tmp_path / "glass.toml")
    return tmp_path


def _manifest(d: Path, *lines: str) -> Path:
    p = d / "study.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_all_within_limits_exits_0_with_tables_and_reports(study, capsys):
    m = _manifest(study, "patient_file,case,target.dose", "glass.toml,a,", "glass.toml,b,110 Gy")
    code, out, err = run(capsys, "cohort", str(m), "-o", str(study / "out"), "--workers", "0")
    assert code == 0, err
    assert "2 cases: 2 within limits, 0 blocked" in out
    assert err.splitlines()[-1] == "y90 cohort: 2 done, 0 failed, 0 left"
    for f in ("patients.csv", "regions.csv", "patients.parquet", "regions.parquet", "a/report.pdf", "b/report.json", "b/summary.txt"):
        assert (study / "out" / f).is_file(), f
    with open(study / "out" / "patients.csv", newline="") as fh:
        assert [(r["case"], r["patient_id"], r["status"], r["error"]) for r in csv.DictReader(fh)] == [
            ("a", "EX-001", "WITHIN LIMITS", ""), ("b", "EX-001", "WITHIN LIMITS", "")]
    with open(study / "out" / "regions.csv", newline="") as fh:
        assert {"patient_id", "region", "mean_dose_Gy"} <= set(csv.DictReader(fh).fieldnames)


def test_a_refused_and_a_blocked_case_exit_1_and_say_how_many(study, capsys):
    m = _manifest(study, "patient_file,case,target.dose", "glass.toml,a,", "glass.toml,b,150 Gy", "glass.toml,c,-3 Gy")
    code, out, err = run(capsys, "cohort", str(m), "-o", str(study / "out"), "--workers", "0")
    assert code == 1
    assert "3 cases: 1 within limits, 1 blocked, 0 needing a decision, 1 refused, 0 failed" in out
    assert "y90 cohort: c (manifest row 4): REFUSED: manifest row 4, column target.dose:" in err
    assert err.splitlines()[-1] == "y90 cohort: 2 of 3 cases blocked, needing a decision or failed"
    code, out, err = run(capsys, "cohort", str(m), "-o", str(study / "out"), "--workers", "0", "-q")  # resumed, quiet
    assert (code, out) == (1, "") and err == "y90 cohort: 2 of 3 cases blocked, needing a decision or failed\n"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "not allowed with argument"),
        (["--workers", "-1"], "expected an integer in [0, 256]"),
        (["--workers", "two"], "expected an integer in [0, 256]"),
    ],
)
def test_bad_flags_exit_2(study, capsys, argv, words):
    m = _manifest(study, "patient_file", "glass.toml")
    code, out, err = run(capsys, "cohort", str(m), "-o", str(study / "out"), *argv)
    assert code == 2 and words in err and len(err.splitlines()) == 1
    assert not (study / "out").exists()


def test_invalid_manifests_and_outputs_exit_2_before_any_case_runs(study, capsys):
    m = _manifest(study, "patient,dose", "glass.toml,1 Gy")
    code, _, err = run(capsys, "cohort", str(m), "-o", str(study / "out"))
    assert code == 2 and err.startswith("y90: error: manifest:") and "patient_file" in err
    m = _manifest(study, "patient_file", "glass.toml", "glass.toml")
    code, _, err = run(capsys, "cohort", str(m), "-o", str(study / "out"))
    assert code == 2 and "both give the case name 'EX-001'" in err
    (study / "taken").mkdir()
    (study / "taken" / "notes.txt").write_text("mine")
    m = _manifest(study, "patient_file", "glass.toml")
    code, _, err = run(capsys, "cohort", str(m), "-o", str(study / "taken"), "--workers", "0")
    assert code == 2 and "not a y90 cohort folder" in err and (study / "taken" / "notes.txt").read_text() == "mine"
    code, _, err = run(capsys, "cohort", str(m), "-o", str(study), "--workers", "0")  # the inputs' own folder
    assert code == 2 and "holds the input" in err
    assert not (study / "out").exists()


def test_help_names_the_interface(capsys):
    with pytest.raises(SystemExit):
        main(["cohort", "--help"])
    out = capsys.readouterr().out
    for words in ("MANIFEST", "--workers", "--scheduler", "-o OUTPUT", "patient_file", "exit status: 0"):
        assert words.lower() in out.lower()
