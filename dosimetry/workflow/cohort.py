"""Cohorts: every case of a study through :func:`run_case`, as two tables (docs/cohort.md).

:func:`run_cohort` takes patient files, or the rows of a manifest (:func:`dosimetry.io.manifest.read_manifest`:
a patient file and overrides of its fields), and runs each case exactly as ``y90 report`` runs it:
the same :func:`run_case`, and (given ``report=dosimetry.report.build.write_case_report``, as the
CLI gives it) the same report folder. It returns one row per case and one row per region
(:mod:`.cohort_tables`) and, with ``out``, writes them as CSV and Parquet beside one folder per case.

- **Failures stay local.** A case whose inputs are refused (:class:`InputError`) or that fails
  (any other exception, or a case too large for a worker's memory) is a row with status REFUSED or
  FAILED and its one-line reason in ``error``; the other cases go on.
- **Resumable.** Each case's inputs (the SHA-256 of the patient file's bytes and of every imaging
  file it names), its overrides, the settings and the program version (:func:`program_version`)
  hash to a key (:func:`case_key`). A case folder is written into a staged sibling and renamed
  into place with its record ``cohort.json`` (key and rows) last, so a case whose folder holds a
  record of the same key is complete and is not computed again; a half-written one never is.
- **Distributed.** ``workers=0`` runs in this process; ``workers=N`` on a local Dask cluster,
  ``scheduler=ADDRESS`` on an existing one (:mod:`.cluster`); the tables do not depend on Dask.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from ..errors import InputError, OutputError
from ..io.dicom_elements import one_line
from ..io.files import check_not_input, json_text, staged_directory, write_atomic
from ..io.manifest import ManifestRow
from ..io.patient import load_patient
from ..io.tables import write_table
from .assess import WITHIN_LIMITS
from ..model import PatientFile
from .case import folder_manifest, input_digests, input_paths, run_case
from .cohort_tables import FAILED, IMAGING_HASHES, PATIENT_COLUMNS, REFUSED, REGION_COLUMNS, error_row, patient_row, region_rows

__all__ = [
    "CohortCase",
    "CaseOutcome",
    "CohortResult",
    "run_cohort",
    "cohort_cases",
    "run_one",
    "case_key",
    "program_version",
    "estimate_memory",
    "RECORD",
    "MARKER",
]

#: The record of a finished case inside its folder (written last), and the mark of a cohort folder.
RECORD, MARKER, LOCK = "cohort.json", ".y90-cohort", ".y90-cohort.lock"
RECORD_FORMAT = "y90-cohort-case/1"
#: Names that a case folder may not take (the tables and the cohort's own files).
RESERVED = {"patients.csv", "regions.csv", "patients.parquet", "regions.parquet", RECORD, MARKER, LOCK}

#: Memory of one case: a fixed part (interpreter, numpy / scipy / pydicom / matplotlib, the report)
#: plus a multiple of the images' bytes (the float64 copies of 16-bit voxels, the ROI masks on the CT
#: and activity grids, the kernel convolution). Measured peaks (benchmarks/cohort.py --memory, one
#: case in a fresh process): 265 MiB for the 128 x 128 x 64 CT phantom (8.6 MB of images), 4151 MiB
#: for the 512 x 512 x 300 CT phantom (178.5 MB of images); the constants bound both with >= 12 % margin.
CASE_MEMORY_BASE = 400 * 2**20
CASE_MEMORY_PER_IMAGE_BYTE = 25
#: A case is sent only if its estimate is at most this fraction of a worker's memory limit (Dask's
#: nanny restarts a worker at 95 %: distributed.worker.memory.terminate).
MEMORY_HEADROOM = 0.9


@dataclass(frozen=True)
class CohortCase:
    """One case: a patient file with its overrides, named.

    Parameters
    ----------
    name : str
        The case's name: its folder in the output and its task's key (the manifest's ``case``,
        else the patient file's ``patient.id``).
    patient_file : Path
    overrides : tuple of (str, value)
        Patient-file fields replaced for this case, by dotted name.
    row : int or None
        Its manifest row (None for a case given as a patient file).
    """

    name: str
    patient_file: Path
    overrides: tuple = ()
    row: int | None = None

    def known(self) -> dict:
        """The columns of its patients row known before it runs."""
        return {
            "manifest_row": self.row,
            "patient_file": str(self.patient_file),
            "overrides": "; ".join(f"{k}={_shown(v)}" for k, v in self.overrides) or None,
        }


@dataclass(frozen=True)
class CaseOutcome:
    """What one case gives back: its patients row, its region rows; ``reused`` when an earlier
    run's result was taken; ``seconds`` the wall time in this run."""

    name: str
    patient: dict
    regions: tuple = ()
    reused: bool = False
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return self.patient["status"]


@dataclass(frozen=True)
class CohortResult:
    """Every case's outcome, in the order given; the two tables; the output folder (if any)."""

    outcomes: tuple
    out: Path | None = None

    @property
    def patients(self) -> list:
        return [o.patient for o in self.outcomes]

    @property
    def regions(self) -> list:
        return [r for o in self.outcomes for r in o.regions]

    def count(self, *statuses: str) -> int:
        return sum(o.status in statuses for o in self.outcomes)

    @property
    def failed(self) -> tuple:
        """The outcomes of the cases that did not run (REFUSED or FAILED)."""
        return tuple(o for o in self.outcomes if o.status in (REFUSED, FAILED))

    @property
    def reused(self) -> int:
        return sum(o.reused for o in self.outcomes)

    @property
    def all_within_limits(self) -> bool:
        """Every case ran and is within every safety limit with nothing left to decide (exit 0)."""
        return all(o.status == WITHIN_LIMITS for o in self.outcomes)


@dataclass(frozen=True)
class _Task:
    """One case as sent to a worker (small, picklable)."""

    case: CohortCase
    out: Path | None
    report: Callable | None
    settings: tuple
    memory_limit: int | None = None


def _shown(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


# -- naming the cases ------------------------------------------------------------------------------
def load_case(case: CohortCase) -> PatientFile:
    """The case's patient file with its overrides; a refused override names its manifest row and column."""
    overrides = dict(case.overrides)
    by = f"the cohort manifest, row {case.row}" if case.row is not None else "the cohort's overrides"
    try:
        return load_patient(case.patient_file, overrides=overrides, overridden_by=by)
    except InputError as exc:
        if exc.field in overrides and case.row is not None:
            raise type(exc)(f"manifest row {case.row}, column {exc.field}", exc.message, allowed=exc.allowed) from exc
        raise


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def folder_name(name: str) -> str:
    """The case's folder name: letters, digits, ``.``, ``_``, ``-`` (others become ``_``), not hidden."""
    safe = _UNSAFE.sub("_", name.strip())[:120] or "_"
    return "_" + safe[1:] if safe.startswith(".") else safe


def cohort_cases(items: Iterable) -> tuple[list, dict]:
    """Name the cases of patient files or manifest rows, loading each patient file once.

    Returns
    -------
    (entries, patient_files)
        In the order given, a :class:`CohortCase` for each case that loads and a REFUSED
        :class:`CaseOutcome` for each that does not; the loaded patient files by case name.

    Raises
    ------
    InputError
        Two cases of one name (one patient twice without a ``case`` column to tell them apart).
    """
    entries: list[CohortCase | CaseOutcome] = []
    files: dict[str, PatientFile] = {}
    where: dict[str, str] = {}
    for i, item in enumerate(items, start=1):
        if isinstance(item, ManifestRow):
            c = CohortCase(item.case or "", item.patient_file, tuple(item.overrides), item.row)
        elif isinstance(item, CohortCase):
            c = item
        else:
            c = CohortCase("", Path(item))
        label = f"manifest row {c.row}" if c.row is not None else f"patient file {i} ({c.patient_file})"
        try:
            pf = load_case(c)
        except InputError as exc:
            name = c.name or (f"row-{c.row}" if c.row is not None else f"file-{i}")
            entries.append(CaseOutcome(name, error_row(name, REFUSED, one_line(exc, 500), **c.known())))
        else:
            c = replace(c, name=c.name or pf.patient.id)
            entries.append(c)
            files[c.name] = pf
            name = c.name
        key = folder_name(name).lower()  # case-insensitive file systems: one folder per case
        if key in RESERVED:
            raise InputError("manifest", f"{label}: the case name {name!r} is the name of one of the cohort's own files; choose another")
        if key in where:
            raise InputError("manifest", f"{where[key]} and {label} both give the case name {name!r}; name each case in a 'case' column")
        where[key] = label
    return entries, files


# -- keys and resuming ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def program_version() -> str:
    """SHA-256 of the program: every source and data file of the ``dosimetry`` package, and the
    versions of the libraries that compute (numpy, scipy, pint, pydicom, matplotlib)."""
    from importlib.metadata import PackageNotFoundError, version

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".py", ".toml", ".txt", ".json") and "__pycache__" not in f.parts:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    for lib in ("numpy", "scipy", "pint", "pydicom", "matplotlib"):
        try:
            h.update(f"{lib} {version(lib)}\0".encode())
        except PackageNotFoundError:
            h.update(f"{lib} -\0".encode())
    return h.hexdigest()


def imaging_hashes(pf: PatientFile) -> dict:
    """SHA-256 of every imaging input by column (:data:`IMAGING_HASHES`); a detached NRRD header
    (``.nhdr``) is hashed with its folder's files, where its data file lives."""
    out = {}
    for d in input_digests(pf):
        sha = d.sha256
        if d.path.lower().endswith(".nhdr"):
            folder = b"".join(folder_manifest(Path(d.path).parent))
            sha = hashlib.sha256(sha.encode() + b"\n" + folder).hexdigest()
        out[IMAGING_HASHES[d.label]] = sha
    return out


def case_key(pf: PatientFile, overrides, settings, imaging: dict | None = None) -> str:
    """The key of a case's result: SHA-256 over its inputs' bytes, overrides, settings and program."""
    doc = {
        "format": RECORD_FORMAT,
        "patient_file_sha256": pf.sha256,
        # lung.prior_record: the earlier record's lung dose is an input the file's bytes do not hold
        "prior_lung_dose_Gy": repr(float(pf.lung.prior_dose.to("Gy").magnitude)),
        "imaging": imaging_hashes(pf) if imaging is None else imaging,
        "overrides": [[k, _shown(v)] for k, v in overrides],
        "settings": [list(s) for s in settings],
        "program": program_version(),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def completed(folder: Path, key: str) -> dict | None:
    """The record of a finished case of this key in ``folder``, or None (absent, other key, partial)."""
    try:
        rec = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT or rec.get("key") != key:
        return None
    if not all((folder / f).is_file() for f in rec.get("files", [])):
        return None
    return rec


# -- memory ------------------------------------------------------------------------------------
def _image_bytes(path: Path) -> int:
    """Bytes of an image input as read: a folder's files, a .gz file's uncompressed size (gzip
    trailer, RFC 1952), a detached NRRD header's folder."""
    p = Path(path)
    if p.is_dir() or p.name.lower().endswith(".nhdr"):
        folder = p if p.is_dir() else p.parent
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    size = p.stat().st_size
    if p.name.lower().endswith(".gz") and size >= 18:
        with open(p, "rb") as fh:
            fh.seek(-4, os.SEEK_END)
            isize = int.from_bytes(fh.read(4), "little")  # size mod 2**32
        return max(isize, size * 4)  # a wrapped ISIZE (> 4 GiB) never lowers the estimate below 4x
    return size


def estimate_memory(pf: PatientFile) -> int:
    """Estimated peak memory of running and reporting the case [bytes] (:data:`CASE_MEMORY_BASE`
    plus :data:`CASE_MEMORY_PER_IMAGE_BYTE` times the bytes of its images)."""
    images = sum(_image_bytes(p) for p in input_paths(pf) if p != pf.path and Path(p).exists())
    return CASE_MEMORY_BASE + CASE_MEMORY_PER_IMAGE_BYTE * images


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


# -- one case ---------------------------------------------------------------------------------------
def run_one(task: _Task) -> CaseOutcome:
    """Run one case (on a worker or here): its earlier result if complete, else run_case, its folder, its rows."""
    t0 = time.perf_counter()
    c = task.case
    known = c.known()
    try:
        pf = load_case(c)
        known.update(patient_id=pf.patient.id, patient_file_sha256=pf.sha256)
        hashes = imaging_hashes(pf)
        key = case_key(pf, c.overrides, task.settings, hashes)
        known.update(hashes, case_key=key, program_version=program_version())
        folder = None if task.out is None else task.out / folder_name(c.name)
        done = completed(folder, key) if folder is not None else None
        if done is not None:
            return CaseOutcome(c.name, done["patient"], tuple(done["regions"]), reused=True)
        need = estimate_memory(pf)
        if task.memory_limit is not None and need > MEMORY_HEADROOM * task.memory_limit:
            why = (f"needs an estimated {_gib(need)} of memory, more than {MEMORY_HEADROOM:.0%} of the {_gib(task.memory_limit)} "
                   "memory limit of a worker; run it with fewer workers (more memory each), or alone with y90 report")
            return CaseOutcome(c.name, error_row(c.name, FAILED, why, **known), seconds=time.perf_counter() - t0)
        case = run_case(pf)
        patient = patient_row(case, case=c.name, **known)
        regions = region_rows(case, case=c.name)
        if folder is not None:
            _write_case(folder, case, pf, key, patient, regions, task)
        return CaseOutcome(c.name, patient, tuple(regions), seconds=time.perf_counter() - t0)
    except InputError as exc:
        return CaseOutcome(c.name, error_row(c.name, REFUSED, one_line(exc, 500), **known), seconds=time.perf_counter() - t0)
    except MemoryError:
        why = "out of memory; run it with fewer workers (more memory each), or alone with y90 report"
        return CaseOutcome(c.name, error_row(c.name, FAILED, why, **known), seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - any failure stays this case's row
        why = f"{type(exc).__name__}: {one_line(exc, 400)}"
        return CaseOutcome(c.name, error_row(c.name, FAILED, why, **known), seconds=time.perf_counter() - t0)


def _write_case(folder: Path, case, pf: PatientFile, key: str, patient: dict, regions: list, task: _Task) -> None:
    """The case's folder, built in a staged sibling and renamed into place; its record written last."""
    if folder.exists():  # an earlier result of another key (inputs or program changed): ours to replace
        shutil.rmtree(folder)
    with staged_directory(folder, field=folder.name) as tmp:
        if task.report is not None:
            task.report(case, pf, tmp, units=dict(task.settings)["units"])
        files = sorted(f.name for f in tmp.iterdir() if f.is_file())
        record = {"format": RECORD_FORMAT, "key": key, "case": task.case.name, "files": files, "patient": patient, "regions": regions}
        write_atomic(tmp / RECORD, json_text(record, indent=1))


# -- the output folder --------------------------------------------------------------------------------
def _open_output(out: Path, inputs: list) -> TextIO:
    """Check (or create) the output folder, lock it for this run and clear what a killed run left.

    OUT is a new or empty folder, or one written by an earlier run (it holds ``.y90-cohort``);
    it is never an input or inside one. Returns the open lock file (closed when the run ends).
    """
    check_not_input(out, inputs, "-o")
    for src in inputs:
        if out.absolute() in Path(src).absolute().parents:
            raise InputError("-o", f"{out} holds the input {src}; choose another output folder")
    try:
        if out.exists():
            if not out.is_dir():
                raise OutputError("-o", f"{out} is an existing file; expected a folder")
            if any(out.iterdir()) and not (out / MARKER).is_file():
                raise OutputError("-o", f"{out} is not empty and not a y90 cohort folder; give a new or empty folder, or the folder of an earlier run to resume it")
        else:
            out.mkdir()
        (out / MARKER).touch()
        lock = open(out / LOCK, "w")
    except OSError as exc:
        raise OutputError("-o", f"cannot use {out}: {exc.strerror or exc}") from exc
    try:
        import fcntl  # POSIX; elsewhere two runs into one OUT are not detected
    except ImportError:
        pass
    else:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lock.close()
            raise OutputError("-o", f"another y90 cohort is writing {out}; wait for it or choose another folder") from exc
    for d in out.iterdir():  # staged folders of cases that a killed run left half-written
        if d.name.startswith(".") and d.name.endswith(".partial") and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
    return lock


# -- the cohort ------------------------------------------------------------------------------------------
def run_cohort(
    cases: Iterable,
    out: str | Path | None = None,
    *,
    workers: int = 0,
    scheduler: str | None = None,
    report: Callable | None = None,
    units: str = "si",
    memory_limit: int | None = None,
    processes: bool = True,
    progress: Callable[[int, int, int], None] | None = None,
) -> CohortResult:
    """Run every case; return (and with ``out``, write) the patients and regions tables.

    Parameters
    ----------
    cases : iterable of path-like, ManifestRow or CohortCase
        Patient files, or manifest rows (:func:`dosimetry.io.manifest.read_manifest`).
    out : path-like, optional
        Folder for ``patients.csv``, ``regions.csv``, their ``.parquet`` twins and one folder per
        case (new or empty, or that of an earlier run: its complete cases are not run again).
    workers : int
        0: every case in this process (no Dask); N: a local Dask cluster of N worker processes,
        one thread each.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``) instead of a local cluster;
        its workers must reach the patient files and ``out`` at the same paths.
    report : callable, optional
        ``report(case_result, patient_file, folder, units=...)`` writes a case's report into its
        folder; the CLI gives :func:`dosimetry.report.build.write_case_report` (the folder of
        ``y90 report``). Without it a case folder holds only its record.
    units : {"si", "us"}
        Passed to ``report``.
    memory_limit : int, optional
        Bytes one worker may use (default for a local cluster: the machine's memory shared by the
        workers; with ``scheduler``: the smallest worker's limit). A case estimated above 90 % of
        it (:func:`estimate_memory`) fails as its own row instead of taking the worker down.
    processes : bool
        Local cluster workers as processes (default) or threads of this process.
    progress : callable, optional
        ``progress(done, failed, left)`` after each case.

    Raises
    ------
    InputError
        Two cases of one name; a bad ``out``; an unreachable scheduler. A case's own refusal is its row.
    """
    entries, files = cohort_cases(cases)
    named = [e for e in entries if isinstance(e, CohortCase)]
    out = None if out is None else Path(out)
    lock = None if out is None else _open_output(out, [p for pf in files.values() for p in input_paths(pf)])
    try:
        settings = (("units", units),) + ((("report", f"{report.__module__}.{report.__qualname__}"),) if report else ())

        def make_tasks(limit):
            return [_Task(c, out, report, settings, limit) for c in named]

        tally = _Tally(progress, entries)
        if workers or scheduler:
            from .cluster import run_on_dask

            outcomes = run_on_dask(make_tasks, run_one, keys=[c.name for c in named], workers=workers or None, scheduler=scheduler,
                                   memory_limit=memory_limit, processes=processes, on_result=tally, on_lost=_lost)
        else:
            outcomes = [tally(run_one(t)) for t in make_tasks(memory_limit)]
        ran = iter(outcomes)
        result = CohortResult(tuple(e if isinstance(e, CaseOutcome) else next(ran) for e in entries), out)
        if out is not None:
            write_table(out, "patients", PATIENT_COLUMNS, result.patients)
            write_table(out, "regions", REGION_COLUMNS, result.regions)
        return result
    finally:
        if lock is not None:
            lock.close()


def _lost(task: _Task, exc: BaseException) -> CaseOutcome:
    """A case whose worker died or whose result was lost (e.g. killed for exceeding its memory limit)."""
    c = task.case
    why = f"the worker running it was lost ({type(exc).__name__}: {one_line(exc, 200)}); a worker exceeding its memory limit is restarted"
    return CaseOutcome(c.name, error_row(c.name, FAILED, why, **c.known()))


class _Tally:
    """Counts the cases done (ran, whatever their verdict), failed (REFUSED or FAILED) and left, and
    calls ``progress(done, failed, left)`` at the start and after each case."""

    def __init__(self, progress, entries: list):
        self.progress = progress
        self.failed = sum(isinstance(e, CaseOutcome) for e in entries)
        self.done, self.left = 0, len(entries) - self.failed
        if progress is not None and entries:
            progress(self.done, self.failed, self.left)

    def __call__(self, outcome: CaseOutcome) -> CaseOutcome:
        self.left -= 1
        if outcome.status in (REFUSED, FAILED):
            self.failed += 1
        else:
            self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.failed, self.left)
        return outcome
