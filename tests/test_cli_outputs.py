"""Outputs never overwrite (issue #9 item 4) and are refused in one line when unwritable (issue #10)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dosimetry
from dosimetry.cli import main

ROOT = Path(dosimetry.__file__).parent.parent
GLASS = ROOT / "dosimetry" / "examples" / "glass.toml"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_refusal(code, err):
    assert code == 2, err
    assert err.startswith("y90: error: ") and err.count("\n") == 1, err


def test_plan_refuses_to_replace_an_existing_file_without_force(tmp_path, capsys):
    notes = tmp_path / "notes.json"
    notes.write_text("my notes\n")
    code, _, err = run(capsys, "plan", str(GLASS), "--format", "json", "-o", str(notes))
    _one_line_refusal(code, err)
    assert "--force" in err and notes.read_text() == "my notes\n"
    code, _, err = run(capsys, "plan", str(GLASS), "--format", "json", "-o", str(notes), "--force")
    assert code == 0, err
    assert json.loads(notes.read_text())["patient_id"] == "EX-001"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.json"]  # no temporary file left


def test_force_never_replaces_an_input(tmp_path, capsys):
    p = tmp_path / "patient.toml"
    p.write_text(GLASS.read_text())
    code, _, err = run(capsys, "plan", str(p), "-o", str(p), "--force")
    _one_line_refusal(code, err)
    assert "would overwrite the input" in err and p.read_text() == GLASS.read_text()


@pytest.mark.parametrize("cmd", [["plan", str(GLASS)], ["decay", "3 GBq", "--elapsed", "24 h"]])
def test_directory_missing_folder_and_unwritable_outputs_are_refused(tmp_path, capsys, cmd):
    for target in (tmp_path, tmp_path / "no" / "such" / "x.txt", Path("/proc/y90-cannot-write.txt"), Path("/dev/null"), ""):
        code, _, err = run(capsys, *cmd, "-o", str(target))
        _one_line_refusal(code, err)
    assert list(tmp_path.iterdir()) == []


def test_decay_huge_negative_elapsed_is_refused_not_infinity(tmp_path, capsys):
    # before: exit 0 and "Infinity" in the JSON
    code, out, err = run(capsys, "decay", "3 GBq", "--elapsed", "-1e6 h", "--format", "json")
    _one_line_refusal(code, err)
    assert out == ""
    code, out, err = run(capsys, "decay", "3 GBq", "--from", "2099-01-01T00:00:00+00:00", "--to", "1991-01-01T00:00:00+00:00", "--format", "json")
    _one_line_refusal(code, err)


def test_decay_json_is_exact_and_has_no_nonfinite_tokens(capsys):
    # 3 GBq after one half-life (64.1 h) is 1.5 GBq: hand calculation
    code, out, err = run(capsys, "decay", "3 GBq", "--elapsed", "64.1 h", "--format", "json")
    assert code == 0, err
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))
    assert data["activity_at"]["value"] == pytest.approx(1.5, rel=1e-12)
    assert data["decay_factor"] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize("argv", [["decay", "3e9 GBq", "--elapsed", "1 h"], ["decay", "0,5 GBq", "--elapsed", "1 h"], ["decay", "3 GBq", "--elapsed", "1 456 h"],
                                  ["decay", "3 GBq", "--elapsed", "1 h", "--half-life", "6.41 h"], ["decay", "3 GBq", "--to-activity", "0 GBq"],
                                  ["decay", "3 GBq", "--from", "0001-01-01T00:00:00+00:00", "--to", "2026-01-01T00:00:00+00:00"]])
def test_decay_inputs_outside_grammar_or_range_are_refused(capsys, argv):
    code, out, err = run(capsys, *argv)
    _one_line_refusal(code, err)


def test_demo_sigterm_leaves_no_folder_and_no_staging(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "dosimetry", "--quiet", "demo", "-o", "d"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(p.name.startswith(".d.") for p in tmp_path.iterdir()):
        time.sleep(0.02)  # wait until the staging folder exists: the demo is writing
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["/proc/y90-report-dir", "/dev/null", ""])
def test_report_folder_unwritable_or_a_file_is_refused(tmp_path, capsys, target):
    code, _, err = run(capsys, "report", str(GLASS), "-o", target)
    _one_line_refusal(code, err)


def test_report_into_existing_file_is_refused(tmp_path, capsys):
    f = tmp_path / "report"
    f.write_text("keep")
    code, _, err = run(capsys, "report", str(GLASS), "-o", str(f))
    _one_line_refusal(code, err)
    assert f.read_text() == "keep"


def test_library_warnings_do_not_break_the_one_line_contract(tmp_path):
    # pydicom warns (two lines on stderr) about this bundled file's VR; the CLI prints one line.
    data = Path(os.path.dirname(__import__("pydicom").data.__file__)) / "test_files" / "SC_rgb_jpeg.dcm"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="default")
    r = subprocess.run([sys.executable, "-m", "dosimetry", "dvh", "--dose", str(data), "--rtstruct", str(data)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
