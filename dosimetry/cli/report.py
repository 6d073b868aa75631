"""``y90 report``: the per-patient report folder (PDF, JSON, text, and the dose map and DVH with imaging)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from . import uncertainty
from .flags import subcommand
from .output import EXIT_BLOCKED, EXIT_OK, check_output_folder, progress


def add_parser(sub) -> None:
    rp = subcommand(
        sub, "report", help="per-patient report: PDF, JSON, text (+ RT Dose and DVH with imaging)",
        description="Per-patient report: report.pdf (page 1 to sign, DVH, dose on CT, audit trail), report.json, summary.txt, "
                    "and the dose map and dvh.csv when the patient file has imaging.",
        examples=["y90 report patient.toml -o report/", "y90 report patient.toml -o report/ --units us   # activities also in mCi"],
        codes="checks",
    )
    rp.add_argument("patient", help="patient TOML file")
    rp.add_argument("-o", "--output", required=True, help="output folder (created; must not exist or be empty)")
    rp.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on page 1")
    uncertainty.add_flags(rp)
    rp.set_defaults(func=run)


def run(args) -> int:
    return run_report(args.patient, args.output, args)


def run_report(patient_path, output, args, keep: list | None = None, images=None) -> int:
    """Plan, check and report one patient file into the folder ``output`` (``y90 report`` and ``y90 demo``;
    ``images``: its ``[imaging]`` images already read, see :func:`dosimetry.workflow.run_case`)."""
    from ..io.patient import load_patient
    from ..report.build import DOSE_FILES, dose_format_for, write_case_report
    from ..workflow import input_paths, run_case

    if str(output) == "-":
        raise InputError("-o", "a report is a folder of files (PDF, JSON, ...); give a folder, not '-' (standard output)")
    pf = load_patient(patient_path)
    check_output_folder(output, input_paths(pf), "a report")
    show = progress(args)
    case = run_case(pf, progress=show, uncertainty=uncertainty.settings(args, pf), images=images)
    if keep is not None:
        keep.append(case)  # y90 demo verifies the treatment against this plan
    report = write_case_report(case, pf, output, units=getattr(args, "units", "si"), progress=show)
    if not args.quiet:
        print(report.text, end="")
        dose_file = DOSE_FILES[dose_format_for(report.imaging, pf.imaging.dose_format if pf.imaging is not None else None)] if report.imaging else None
        print(f"\nReport written to {output}/ (report.pdf, report.json, summary.txt" + (f", {dose_file}, dvh.csv)" if report.imaging else ")"))
    else:  # issue 21: even quiet, one line says where the report is
        print(f"{report.case.status}: report written to {Path(output).absolute()}/")
    return EXIT_OK if report.case.actionable else EXIT_BLOCKED
