"""Tables written as CSV and Parquet twins (the cohort's ``patients`` and ``regions``).

A table is a list of columns ``(name, kind)`` and rows (dicts by column name; a missing value is
None). Kinds: ``"text"``, ``"number"`` (float64; inf allowed), ``"integer"``, ``"flag"`` (boolean).
The CSV holds the same values as the Parquet file: numbers written with ``repr`` (the shortest
text that reads back to the same float), a missing value as an empty cell, flags as true / false.
Both files are written atomically (:func:`dosimetry.io.files.write_atomic`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from .files import write_atomic

__all__ = ["KINDS", "csv_text", "parquet_bytes", "write_table"]

KINDS = ("text", "number", "integer", "flag")


def _cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "flag":
        return "true" if value else "false"
    if kind == "number":
        return repr(float(value))
    if kind == "integer":
        return str(int(value))
    return str(value)


def csv_text(columns: Sequence[tuple[str, str]], rows: Sequence[dict]) -> str:
    """The table as CSV text (header line, then one line per row)."""
    lines = [_csv_line([name for name, _ in columns])]
    lines += [_csv_line([_cell(r.get(name), kind) for name, kind in columns]) for r in rows]
    return "".join(lines)


def _csv_line(cells: list[str]) -> str:
    """One CSV line ending in LF. The cells are quoted as for CRLF line ends, so that a cell holding a
    bare CR or LF is quoted (a writer with LF line ends alone leaves a bare CR unquoted, which every
    reader then takes for the end of the row)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue()[:-2] + "\n"


def parquet_bytes(columns: Sequence[tuple[str, str]], rows: Sequence[dict]) -> bytes:
    """The table as a Parquet file (pyarrow; columns typed by kind, missing values as nulls)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"text": pa.string(), "number": pa.float64(), "integer": pa.int64(), "flag": pa.bool_()}
    convert = {"text": str, "number": float, "integer": int, "flag": bool}
    arrays = [
        pa.array([None if r.get(name) is None else convert[kind](r[name]) for r in rows], type=types[kind])
        for name, kind in columns
    ]
    table = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def write_table(folder: str | Path, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[dict]) -> tuple[Path, Path]:
    """Write ``folder/name.csv`` and ``folder/name.parquet`` (each atomically, replacing an older one)."""
    unknown = sorted({k for _, k in columns} - set(KINDS))
    if unknown:
        raise ValueError(f"unknown column kind {unknown[0]!r}; expected one of {KINDS}")
    folder = Path(folder)
    parquet = parquet_bytes(columns, rows)
    return (
        write_atomic(folder / f"{name}.csv", csv_text(columns, rows), field=f"{name}.csv", force=True),
        write_atomic(folder / f"{name}.parquet", parquet, field=f"{name}.parquet", force=True),
    )
