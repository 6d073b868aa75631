"""Issue 26: outputs of killed runs are cleaned by the next run; I/O errors and odd file names are one line.

Each example of the issue is one test that failed on the main branch before the change.
"""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dosimetry.cli import main
from dosimetry.errors import OutputError
from dosimetry.io.files import STAGING_MARK, display_path, staged_directory

EXAMPLES = Path(__file__).parent.parent.parent / "dosimetry" / "examples"

_STAGE_AND_WAIT = """
import os, signal, sys, time
from dosimetry.io.files import staged_directory
with staged_directory(sys.argv[1]) as tmp:
    (tmp / "report.pdf").write_bytes(b"%PDF- half")
    print(tmp, flush=True)
    if sys.argv[2] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)
"""


def _stage_in_child(out, how):
    child = subprocess.Popen([sys.executable, "-c", _STAGE_AND_WAIT, str(out), how], stdout=subprocess.PIPE, text=True)
    staging = Path(child.stdout.readline().strip())
    return child, staging


def test_a_staging_folder_left_by_a_killed_run_is_removed_by_the_next_run(tmp_path):
    # issue: "a SIGKILL during y90 report leaves a hidden staging folder that the next run neither removes nor reports"
    child, staging = _stage_in_child(tmp_path / "report", "kill")
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    mark = staging.with_name(staging.name + STAGING_MARK)  # beside the folder: the folder holds only the output
    assert staging.is_dir() and mark.is_file() and staging.name.startswith(".report.")
    with staged_directory(tmp_path / "report2") as tmp:
        (tmp / "a.txt").write_text("x")
    assert not staging.exists() and not mark.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report2"]


def test_a_staging_folder_of_a_live_run_or_not_ours_is_left_alone(tmp_path):
    child, staging = _stage_in_child(tmp_path / "report", "wait")
    try:
        foreign = tmp_path / ".photos.abc.partial"
        foreign.mkdir()  # no mark: not this tool's
        with staged_directory(tmp_path / "other"):
            pass
        assert staging.is_dir() and foreign.is_dir()
    finally:
        child.kill()
        child.wait(10)


def test_y90_report_after_a_killed_report_leaves_only_the_report(tmp_path, capsys):
    child, staging = _stage_in_child(tmp_path / "r1", "kill")
    child.wait(10)
    code = main(["--quiet", "report", str(EXAMPLES / "glass.toml"), "-o", str(tmp_path / "r2")])
    assert code in (0, 1), capsys.readouterr().err
    assert not staging.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["r2"]


def test_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    # issue: "a full disk (exit 3 instead of one line)"
    import dosimetry.report.build as build

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / ".r.x.partial" / "report.pdf"))

    monkeypatch.setattr(build, "render_pdf", full)
    code = main(["--quiet", "report", str(EXAMPLES / "glass.toml"), "-o", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing partial
    with pytest.raises(OutputError, match="No space left on device"):
        with staged_directory(tmp_path / "s"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_any_os_error_of_a_command_is_one_line(capsys, monkeypatch):
    import dosimetry.cli.plan as plan_command

    def broken(args):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/data/ct.nrrd")

    monkeypatch.setattr(plan_command, "run", broken)
    assert main(["plan", str(EXAMPLES / "glass.toml")]) == 2
    assert capsys.readouterr().err == "y90: error: Permission denied: /data/ct.nrrd\n"


def test_a_patient_path_with_undecodable_bytes_does_not_break_the_pdf(tmp_path, capsys):
    # issue: "a path with undecodable bytes in the PDF" was an internal error
    folder = os.fsencode(tmp_path) + b"/p\xff\xfe"
    os.mkdir(folder)
    with open(folder + b"/patient.toml", "wb") as fh:
        fh.write((EXAMPLES / "glass.toml").read_bytes())
    code = main(["report", os.fsdecode(folder + b"/patient.toml"), "-o", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    pdf = (tmp_path / "r" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and "internal error" not in err
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(str(tmp_path / "r" / "report.pdf")).pages)
    assert "p\\xff\\xfe/patient.toml" in text  # the audit trail names the file, its odd bytes escaped
    assert display_path(os.fsdecode(folder)).endswith("/p\\xff\\xfe")


def test_a_staged_folder_built_inside_another_holds_only_the_output(tmp_path):
    # y90 cohort stages a case folder and writes the report into it with a staged folder of its own
    with staged_directory(tmp_path / "case") as outer:
        with staged_directory(outer) as inner:
            (inner / "report.pdf").write_bytes(b"%PDF-")
        assert [p.name for p in outer.iterdir()] == ["report.pdf"]
    assert [p.name for p in tmp_path.iterdir()] == ["case"]
