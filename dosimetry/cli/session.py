"""``y90 session``: several territories of one patient in one session, one patient file each."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from .flags import subcommand, text_output
from .output import EXIT_BLOCKED, EXIT_OK, emit, progress


def add_parser(sub) -> None:
    se = subcommand(
        sub, "session", help="several territories of one patient in one session: one patient file per territory",
        description="Several territories (vessels) of one patient in one session, one patient file each: every territory's "
                    "plan and checks, and the summed lung and whole-normal-liver doses against their limits.",
        examples=["y90 session right-lobe.toml segment-3.toml", "y90 session a.toml b.toml --format json -o -"],
        codes="checks",
    )
    se.add_argument("patients", nargs="+", help="two or more patient TOML files, one per territory (same patient)")
    se.add_argument("--pdf", metavar="FILE", help="write one signable PDF of the session: the session page (summed doses, one status, "
                                                   "signatures), then each territory's page 1 (never overwrites a patient file)")
    text_output(se)
    se.set_defaults(func=run)


def run(args) -> int:
    from ..io.patient import load_patient
    from ..report.text import session_text
    from ..workflow import plan_session
    from ..workflow.session import check_distinct_files

    check_distinct_files(args.patients, "territories")  # the library's check (plan_session), before the names
    check_territory_names(args.patients)
    result = plan_session([load_patient(p) for p in args.patients], progress=progress(args))
    text = session_text(result) if args.format == "text" else json.dumps(result.to_json(), indent=2, allow_nan=False)
    emit(text, args.output, inputs=list(args.patients), force=args.force)
    if args.pdf:
        _write_pdf(result, args.pdf, args.patients, args.force)
    return EXIT_OK if result.actionable else EXIT_BLOCKED


def check_territory_names(paths) -> None:
    """Territories are named after their files (without .toml): two files of one name are refused."""
    seen: dict[str, str] = {}
    for p in paths:
        name = Path(p).stem
        if name in seen:
            raise InputError(
                "territories",
                f"{seen[name]} and {p} both give the territory name {name!r} (territories are named after their "
                f"file names); rename one file, e.g. {name}-right.toml and {name}-left.toml",
            )
        seen[name] = p


def _write_pdf(result, path, inputs, force: bool) -> None:
    """The session's PDF (:func:`dosimetry.report.session.render_session_pdf`), written whole or not
    at all, never over an input (:func:`dosimetry.io.files.write_atomic`)."""
    from ..io.files import write_atomic
    from ..report.session import render_session_pdf

    write_atomic(Path(path), render_session_pdf(result), inputs=list(inputs), field="--pdf", force=force)
