"""``y90 cohort``: every case of a manifest through the same job as ``y90 report``, on a Dask cluster
(docs/cohort.md): tables and one report folder per case."""

from __future__ import annotations

import argparse
import sys

from .flags import subcommand
from .output import EXIT_BLOCKED, EXIT_OK


def add_parser(sub) -> None:
    co = subcommand(
        sub, "cohort", help="every case of a manifest (CSV of patient files) on a Dask cluster: tables and reports",
        description="Every case of a study through the same job as y90 report: a manifest (CSV: a patient_file column, paths "
                    "relative to the manifest, and optional columns overriding patient-file fields by dotted name) runs on a "
                    "local Dask cluster (or --scheduler); OUT gets patients.csv and regions.csv (and Parquet twins) and one "
                    "report folder per case. Running again into the same OUT resumes: finished cases are not recomputed.",
        examples=["y90 cohort study.csv -o study-out/", "y90 cohort study.csv -o study-out/ --workers 2",
                  "y90 cohort study.csv -o study-out/ --scheduler tcp://10.0.0.5:8786"],
        codes="cohort",
    )
    co.add_argument("manifest", help="CSV with a patient_file column (docs/cohort.md)")
    co.add_argument("-o", "--output", required=True, help="output folder (new, empty, or that of an earlier run to resume)")
    where = co.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, help="local Dask worker processes (default: the number of cores; 0: no Dask, in this process)")
    where.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786 (its workers must reach the files)")
    co.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on each report's page 1")
    co.set_defaults(func=run)


def _workers(text: str) -> int:
    """``cohort --workers``: 0 (in this process) to 256 worker processes."""
    n = int(text) if text.strip().isdigit() else -1
    if not 0 <= n <= 256:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer in [0, 256]")
    return n


def run(args) -> int:
    """Every case of a manifest through run_case (docs/cohort.md); 0 all within limits, 1 any blocked / failed."""
    from ..io.manifest import read_manifest
    from ..report.build import write_case_report
    from ..workflow.cluster import default_workers
    from ..workflow.cohort import run_cohort

    rows = read_manifest(args.manifest)
    workers = args.workers if args.workers is not None else (0 if args.scheduler else default_workers())
    show = None if args.quiet else CohortProgress()
    result = run_cohort(rows, args.output, workers=workers, scheduler=args.scheduler, report=write_case_report, units=args.units, progress=show)
    if show is not None:
        show.end()
    if not args.quiet:
        _summary(result, args.output)
    if result.all_within_limits:
        return EXIT_OK
    n = len(result.outcomes) - result.count("WITHIN LIMITS")
    print(f"y90 cohort: {n} of {len(result.outcomes)} cases blocked, needing a decision or failed", file=sys.stderr)
    return EXIT_BLOCKED


def _summary(result, output) -> None:
    """Each failed case on stderr; the counts of each status and where the tables are on stdout."""
    from ..workflow.cohort import FAILED, REFUSED

    for o in result.failed:
        where = f" (manifest row {o.patient['manifest_row']})" if o.patient.get("manifest_row") else ""
        print(f"y90 cohort: {o.name}{where}: {o.status}: {o.patient['error']}", file=sys.stderr)
    counts = {s: result.count(s) for s in ("WITHIN LIMITS", "BLOCKED", "NEEDS A DECISION")}
    print(f"{len(result.outcomes)} cases: {counts['WITHIN LIMITS']} within limits, {counts['BLOCKED']} blocked, "
          f"{counts['NEEDS A DECISION']} needing a decision, {result.count(REFUSED)} refused, {result.count(FAILED)} failed"
          + (f" ({result.reused} taken from the earlier run)" if result.reused else ""))
    print(f"Tables written to {output}/ (patients.csv, regions.csv, patients.parquet, regions.parquet); one report folder per case")


class CohortProgress:
    """``done / failed / left`` on stderr: one line rewritten in place on a terminal, a line per case otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, failed: int, left: int) -> None:
        line = f"y90 cohort: {done} done, {failed} failed, {left} left"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr)
