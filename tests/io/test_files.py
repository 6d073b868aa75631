"""io.files: atomic writes, refusals of unwritable or existing outputs, JSON without NaN/Infinity."""

import json
import math

import pytest

from dosimetry.errors import InputError, OutputError
from dosimetry.io.files import check_output_file, json_text, staged_directory, write_atomic


def test_write_atomic_turns_os_errors_into_one_output_error(tmp_path):
    with pytest.raises(OutputError, match="^x: "):
        write_atomic("/proc/y90-x.txt", "a", field="x")
    (tmp_path / "f").write_text("old")
    with pytest.raises(OutputError, match="exists"):
        write_atomic(tmp_path / "f", "new")
    write_atomic(tmp_path / "f", "new", force=True)
    assert (tmp_path / "f").read_text() == "new"
    assert isinstance(OutputError("a", "b"), InputError)


def test_json_text_writes_null_for_nonfinite():
    text = json_text({"a": math.inf, "b": [1.0, -math.inf, math.nan], "c": {"d": 2}})
    assert json.loads(text) == {"a": None, "b": [1.0, None, None], "c": {"d": 2}}
    assert "Infinity" not in text and "NaN" not in text


def test_staged_directory_leaves_nothing_after_interrupt(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with staged_directory(out) as tmp:
            (tmp / "half.txt").write_text("x")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_check_output_file_refusals(tmp_path):
    (tmp_path / "exists.txt").write_text("x")
    for path, needle in [(tmp_path, "is a directory"), (tmp_path / "exists.txt", "--force"), (tmp_path / "no" / "f.txt", "does not exist"),
                         ("/dev/null", "not a regular file"), ("", "expected a file name"), ("a\0b", "expected a file name")]:
        with pytest.raises(OutputError, match=needle):
            check_output_file(path)
    assert check_output_file(tmp_path / "exists.txt", force=True) == tmp_path / "exists.txt"
