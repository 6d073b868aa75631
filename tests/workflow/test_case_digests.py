"""Issue 19: the audit's SHA-256 of an input is what ``sha256sum`` prints, and a folder's is stated.

A file's digest is the SHA-256 of its bytes (it was the hash of its name and bytes, which no tool
reproduces). A folder (a DICOM series) gets the SHA-256 of its ``sha256sum`` lines, names in byte
order; docs/cli.md ("Audit digests") gives the shell line that reproduces it, and the test runs
that very line from the docs when GNU coreutils and findutils are there.
"""

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dosimetry.workflow.case import _digest, folder_manifest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

# file name -> content; names chosen so that byte order differs from a natural or case-blind sort
FILES = {
    "a.dcm": b"DICM lower-case a",
    "B.dcm": b"DICM upper-case B",
    "10.dcm": b"DICM ten",
    "9.dcm": b"DICM nine",
    "_x.dcm": b"",
}
BYTE_ORDER = ["10.dcm", "9.dcm", "B.dcm", "_x.dcm", "a.dcm"]  # '1' < '9' < 'B' < '_' < 'a' in ASCII


@pytest.fixture
def series(tmp_path):
    d = tmp_path / "ct series"
    d.mkdir()
    for name, data in FILES.items():
        (d / name).write_bytes(data)
    (d / "sub").mkdir()  # a sub-folder is not part of the series
    (d / "sub" / "other.dcm").write_bytes(b"not hashed")
    return d


def test_a_file_digest_is_the_sha256_of_its_bytes(tmp_path):
    f = tmp_path / "rtstruct.dcm"
    f.write_bytes(b"\x00" * 128 + b"DICM" + bytes(range(256)))
    d = _digest("segmentation", f)
    assert d.sha256 == hashlib.sha256(b"\x00" * 128 + b"DICM" + bytes(range(256))).hexdigest()
    assert d.files is None and d.label == "segmentation" and d.path == str(f)
    # the known SHA-256 of the empty string (FIPS 180-4 test vector)
    (tmp_path / "empty").write_bytes(b"")
    assert _digest("x", tmp_path / "empty").sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_a_folder_digest_is_the_sha256_of_its_sha256sum_lines_in_byte_order(series):
    lines = [f"{hashlib.sha256(FILES[n]).hexdigest()}  {n}\n" for n in BYTE_ORDER]
    assert folder_manifest(series) == tuple(line.encode() for line in lines)
    d = _digest("CT", series)
    assert d.sha256 == hashlib.sha256("".join(lines).encode()).hexdigest()
    assert d.files == 5


def test_a_changed_byte_or_name_changes_the_folder_digest(series):
    before = _digest("CT", series).sha256
    (series / "9.dcm").write_bytes(b"DICM nine!")
    changed = _digest("CT", series).sha256
    (series / "9.dcm").write_bytes(FILES["9.dcm"])
    assert _digest("CT", series).sha256 == before != changed
    (series / "9.dcm").rename(series / "09.dcm")
    assert _digest("CT", series).sha256 != before


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum program")
def test_sha256sum_reproduces_the_file_digest(tmp_path):
    f = tmp_path / "image.nii.gz"
    f.write_bytes(bytes(range(256)) * 40)
    out = subprocess.run(["sha256sum", str(f)], capture_output=True, text=True, check=True).stdout
    assert _digest("activity image", f).sha256 == out.split()[0]


def _docs_one_liner() -> str:
    """The shell line of docs/cli.md, "Audit digests" (the ```bash block after that heading)."""
    text = DOCS.read_text()
    section = text[text.index("### Audit digests"):]
    return re.search(r"```bash\n(.*?)\n```", section, re.S).group(1)


@pytest.mark.skipif(
    any(shutil.which(p) is None for p in ("bash", "find", "sort", "xargs", "sha256sum")),
    reason="needs bash and GNU find, sort, xargs, sha256sum",
)
def test_the_shell_line_in_the_docs_reproduces_the_folder_digest(series):
    line = _docs_one_liner()
    assert line.startswith("cd ct/ && ")
    command = line.replace("cd ct/ && ", "cd \"$1\" && ", 1)
    out = subprocess.run(["bash", "-c", command, "digest", str(series)], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == _digest("CT", series).sha256
