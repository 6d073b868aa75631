"""Issue 19: the audit trail of the demo report names each input with a SHA-256 anyone can recompute.

The expected values are computed here from the files' bytes with hashlib, and with the
``sha256sum`` program where the machine has it; before issue 19 the report's "SHA-256" of a file
was the hash of its name followed by its bytes, which neither reproduces.
"""

import hashlib
import json
import shutil
import subprocess

import pytest
from pypdf import PdfReader


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder(d) -> str:
    """The stated folder digest (docs/cli.md, Audit digests), written out here on its own."""
    names = sorted((f.name for f in d.iterdir() if f.is_file()), key=str.encode)
    return _sha("".join(f"{_sha((d / n).read_bytes())}  {n}\n" for n in names).encode())


def _input_files(out):
    rep = json.loads((out / "report" / "report.json").read_text())
    return {f["role"]: f for f in rep["audit"]["input_files"]}


def test_report_json_file_digests_are_the_sha256_of_the_bytes(demo):
    out, _, _ = demo
    files = _input_files(out)
    patient = out / "patient"
    assert files["segmentation"]["sha256"] == _sha((patient / "rtstruct.dcm").read_bytes())
    assert files["segmentation"]["of"] == "file" and "files" not in files["segmentation"]
    assert files["patient_file"]["sha256"] == _sha((patient / "patient.toml").read_bytes())
    assert files["patient_file"]["of"] == "file"


def test_report_json_folder_digests_follow_the_stated_manifest(demo):
    out, _, _ = demo
    files = _input_files(out)
    for role, folder in (("ct", "ct"), ("activity_image", "nm")):  # CT one file a slice, NM one multi-frame file
        d = out / "patient" / folder
        assert files[role]["sha256"] == _folder(d)
        assert files[role]["of"] == "folder"
        assert files[role]["files"] == sum(1 for f in d.iterdir() if f.is_file())
    assert files["ct"]["files"] > 1


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum program")
def test_sha256sum_prints_the_digests_the_report_shows(demo):
    out, _, _ = demo
    files = _input_files(out)
    patient = out / "patient"
    run = subprocess.run(["sha256sum", "rtstruct.dcm", "patient.toml"], cwd=patient, capture_output=True, text=True, check=True)
    printed = dict(reversed(line.split("  ", 1)) for line in run.stdout.splitlines())
    assert printed["rtstruct.dcm"] == files["segmentation"]["sha256"]
    assert printed["patient.toml"] == files["patient_file"]["sha256"]
    # the CT folder: sha256sum over its files in byte order, then sha256sum of those lines
    names = sorted((f.name for f in (patient / "ct").iterdir()), key=str.encode)
    lines = subprocess.run(["sha256sum", *names], cwd=patient / "ct", capture_output=True, check=True).stdout
    assert _sha(lines) == files["ct"]["sha256"]


def test_pdf_audit_trail_shows_each_digest_and_what_it_is_of(demo):
    out, _, _ = demo
    files = _input_files(out)
    text = "".join(p.extract_text() for p in PdfReader(out / "report" / "report.pdf").pages)
    flat = "".join(text.split())  # a long hash may be wrapped in the PDF
    for f in files.values():
        assert f["sha256"] in flat
    assert f"CT SHA-256 is of the sha256sum lines of its {files['ct']['files']} files" in text
