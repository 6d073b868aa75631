"""``y90 plan``: the prescribed activity of a patient file, every compartment's dose and safety check."""

from __future__ import annotations

import json

from . import uncertainty
from .flags import subcommand, text_output
from .output import EXIT_BLOCKED, EXIT_OK, emit, progress


def add_parser(sub) -> None:
    pl = subcommand(
        sub, "plan", help="prescribed activity for the patient file's device and method",
        description="Plan a patient file: prescribed activity, every compartment's dose, every safety check, the glass vial to "
                    "order and when to give it (inside clinic hours) or the resin volume to draw. Inputs written \"image\" are "
                    "measured on the planning SPECT/CT of [imaging].",
        examples=["y90 plan dosimetry/examples/glass.toml", "y90 plan patient.toml --format json -o -",
                  "y90 plan patient.toml --compare     # glass and resin, each to its own target"],
        codes="checks",
    )
    pl.add_argument("patient", help="patient TOML file (docs/patient-file.md)")
    pl.add_argument("--compare", action="store_true", help="plan with glass and with resin side by side")
    uncertainty.add_flags(pl)
    text_output(pl)
    pl.set_defaults(func=run)


def plan_json(case) -> dict:
    """The JSON document of ``y90 plan``: the plan, the assessment, the verdict and the tumours."""
    from ..report.record import SCHEMA_VERSION, identity_json, tumour_records

    doc: dict[str, object] = {"schema_version": SCHEMA_VERSION}
    doc.update(case.plan.to_json())
    doc.update(identity_json(case.plan.patient))
    doc.update(case.to_json())
    doc["within_limits"] = not case.blocked
    doc["tumours"] = tumour_records(case)
    return doc


def run(args) -> int:
    from ..io.patient import load_patient
    from ..report.text import case_text, compare_text
    from ..workflow import compare_case, plan_case

    pf = load_patient(args.patient)
    u = uncertainty.settings(args, pf)
    cases: tuple
    if args.compare:
        cases = compare_case(pf, progress=progress(args), uncertainty=u)
        text = compare_text(*cases) if args.format == "text" else json.dumps({"glass": plan_json(cases[0]), "resin": plan_json(cases[1])}, indent=2, allow_nan=False)
    else:
        cases = (plan_case(pf, progress=progress(args), uncertainty=u),)
        text = case_text(cases[0]) if args.format == "text" else json.dumps(plan_json(cases[0]), indent=2, allow_nan=False)
    emit(text, args.output, inputs=[args.patient], force=args.force)
    return EXIT_OK if all(c.actionable for c in cases) else EXIT_BLOCKED
