"""Issue 24: the cohort manifest: a patient_file column, overrides by dotted name, as spreadsheets write CSV."""

import datetime as dt
from pathlib import Path

import pytest

from dosimetry.errors import InputError
from dosimetry.io.manifest import cell_value, read_manifest


def _write(tmp_path, text: str, encoding="utf-8") -> Path:
    p = tmp_path / "m.csv"
    p.write_bytes(text.encode(encoding))
    return p


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.08", 0.08),
        ("150 Gy", "150 Gy"),
        ("hcc", "hcc"),
        ('"hcc"', "hcc"),
        ("true", True),
        ("3", 3),
        ("2026-01-15T10:00:00-05:00", dt.datetime(2026, 1, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
        ('["Lung L", "Lung R"]', ["Lung L", "Lung R"]),
        ("5 # a comment", "5 # a comment"),  # never a hidden comment: the text is kept (and refused by the parser)
        ("1\nx = 2", "1\nx = 2"),  # never a second key
        ("  0.1  ", 0.1),
    ],
)
def test_a_cell_is_what_the_patient_file_would_hold(text, value):
    assert cell_value(text) == value


def test_rows_paths_relative_to_the_manifest_and_overrides(tmp_path):
    (tmp_path / "sub").mkdir()
    p = _write(tmp_path / "sub", "patient_file,case,target.tumour_dose,lung.shunt_fraction\n"
                                 "a.toml,A,205 Gy,\n\n../b.toml,,,0.12\n")
    rows = read_manifest(p)
    assert [(r.row, r.patient_file, r.overrides, r.case) for r in rows] == [
        (2, tmp_path / "sub" / "a.toml", (("target.tumour_dose", "205 Gy"),), "A"),
        (4, tmp_path / "sub" / ".." / "b.toml", (("lung.shunt_fraction", 0.12),), None),  # row 3 blank: skipped, rows keep the spreadsheet's numbers
    ]


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_spreadsheet_csv_byte_order_mark_and_separators(tmp_path, sep):
    p = _write(tmp_path, f"Patient_File {sep} target.dose\r\na.toml{sep}120 Gy\r\n", encoding="utf-8-sig")
    (row,) = read_manifest(p)
    assert row.patient_file == tmp_path / "a.toml" and row.overrides == (("target.dose", "120 Gy"),)


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("file,target.dose\na.toml,1 Gy\n", "manifest", "no patient_file column"),
        ("patient_file,notes\na.toml,x\n", "manifest column 'notes'", "unknown column"),
        ("patient_file,Target Dose\na.toml,x\n", "manifest column 'target dose'", "dotted name"),
        ("patient_file,target.dose,target.dose\na.toml,1 Gy,2 Gy\n", "manifest column 'target.dose'", "twice"),
        ("patient_file,case\na.toml,x,extra\n", "manifest row 2", "3 cells"),
        ("patient_file,case\n,x\n", "manifest row 2", "patient_file is empty"),
        ("patient_file\n", "manifest", "no case"),
        ("", "manifest", "no patient_file column"),
    ],
)
def test_a_bad_manifest_is_refused_naming_row_or_column(tmp_path, text, field, words):
    with pytest.raises(InputError) as exc:
        read_manifest(_write(tmp_path, text))
    assert exc.value.field == field and words in exc.value.message


def test_unreadable_manifests(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_manifest(tmp_path / "none.csv")
    with pytest.raises(InputError, match="not a regular file"):
        read_manifest(tmp_path)
    with pytest.raises(InputError, match="not UTF-8"):
        read_manifest(_write(tmp_path, "patient_file\nk\u00e9.toml\n", encoding="latin-1"))
