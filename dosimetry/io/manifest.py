"""The cohort manifest of ``y90 cohort`` (docs/cohort.md): a CSV with one row per case.

Columns:

- ``patient_file`` (required): the patient TOML file, relative to the manifest's folder;
- ``case`` (optional): the case's name (its folder in the output); default the file's ``patient.id``;
- any patient-file field by its dotted name (``target.tumour_dose``, ``lung.shunt_fraction``):
  a non-empty cell overrides the file's value for that row (an empty cell keeps the file's).

A cell is read as a TOML value when it is one on its own line (``0.08``, ``true``,
``2026-01-15T10:00:00-05:00``, ``"hcc"``, ``["Lung L", "Lung R"]``), otherwise as text
(``150 Gy``, ``hcc``), so a cell holds what the patient file would hold for that key, and the
patient-file parser validates it as it validates the file.

The manifest may be comma-, semicolon- or tab-separated (the header decides), UTF-8 with or without
the byte-order mark that spreadsheet programs write.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["ManifestRow", "read_manifest", "cell_value", "MAX_MANIFEST_BYTES", "MAX_ROWS"]

#: Largest manifest read (bytes) and most rows: far above a study of a few thousand cases.
MAX_MANIFEST_BYTES = 20_000_000
MAX_ROWS = 100_000

_DOTTED = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_FORM = "patient_file, case, or a patient-file field by its dotted name (e.g. target.tumour_dose)"


@dataclass(frozen=True)
class ManifestRow:
    """One case of the manifest.

    Parameters
    ----------
    row : int
        Line of the CSV as a spreadsheet numbers it (the header is row 1).
    patient_file : Path
        The patient file, resolved against the manifest's folder.
    overrides : tuple of (str, value)
        The row's non-empty override cells: (dotted field name, value as TOML reads it).
    case : str or None
        The ``case`` cell, when the column is given and the cell is not empty.
    """

    row: int
    patient_file: Path
    overrides: tuple = ()
    case: str | None = None


def cell_value(text: str) -> Any:
    """A manifest cell as the patient file would hold it: a TOML value, else the text itself.

    >>> cell_value("0.08"), cell_value("150 Gy"), cell_value("true"), cell_value('"hcc"')
    (0.08, '150 Gy', True, 'hcc')
    """
    text = text.strip()
    if any(c in text for c in "\r\n") or ("#" in text and text[:1] not in "\"'"):
        return text  # one value, no comment: never let a cell add keys or hide text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _read_text(path: Path) -> str:
    """The manifest's text (a regular file of at most MAX_MANIFEST_BYTES, UTF-8)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise InputError("manifest", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputError("manifest", f"{path} is not a regular file; expected a CSV file")
    if st.st_size > MAX_MANIFEST_BYTES:
        raise InputError("manifest", f"{path} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        return path.read_bytes()[: MAX_MANIFEST_BYTES + 1].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("manifest", f"{path} is not UTF-8 text (save it as CSV UTF-8)") from exc
    except OSError as exc:
        raise InputError("manifest", f"cannot read {path}: {exc.strerror or exc}") from exc


def _header(text: str, path: Path) -> tuple[list[str], str]:
    """The column names and the delimiter: the one of , ; TAB that gives a ``patient_file`` column."""
    first = text.splitlines()[0] if text.strip() else ""
    for delimiter in (",", ";", "\t"):
        names = [c.strip().lower() for c in next(csv.reader([first], delimiter=delimiter), [])]
        if "patient_file" in names:
            return names, delimiter
    raise InputError("manifest", f"{path} has no patient_file column in its first line (the header); columns: {_FORM}")


def _check_columns(names: list[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise InputError(f"manifest column {name!r}", "appears twice in the header")
        seen.add(name)
        if name not in ("patient_file", "case") and not _DOTTED.fullmatch(name):
            raise InputError(f"manifest column {name!r}", f"unknown column; expected {_FORM}")


def read_manifest(path: str | Path) -> tuple[ManifestRow, ...]:
    """Read and check a cohort manifest.

    Raises
    ------
    InputError
        Unreadable file, no ``patient_file`` column, an unknown or repeated column, a row with more
        cells than the header or without a patient file, more than MAX_ROWS rows.
    """
    p = Path(path)
    text = _read_text(p)
    names, delimiter = _header(text, p)
    _check_columns(names)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader)
    rows: list = []
    for cells in reader:
        n = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names):
            raise InputError(f"manifest row {n}", f"has {len(cells)} cells, the header {len(names)} columns")
        if len(rows) >= MAX_ROWS:
            raise InputError("manifest", f"more than {MAX_ROWS} rows")
        rec = dict(zip(names, (c.strip() for c in cells)))
        if not rec.get("patient_file"):
            raise InputError(f"manifest row {n}", "patient_file is empty; every row names its patient file")
        overrides = tuple((k, cell_value(v)) for k, v in rec.items() if k not in ("patient_file", "case") and v)
        rows.append(ManifestRow(n, p.parent / rec["patient_file"], overrides, rec.get("case") or None))
    if not rows:
        raise InputError("manifest", f"{p} lists no case (only a header)")
    return tuple(rows)
