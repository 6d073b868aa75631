"""The ``y90`` command-line tool.

Exit status (design brief, "CLI contract"): 0 the case is within every safety limit; 1 it was
computed but a safety limit blocks it, in every command that checks limits (plan, dose, report,
demo: all go through :func:`dosimetry.workflow.assess`; the output names the limit and the largest
safe activity); 2 invalid input (one line on stderr naming the field and what is allowed).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from . import __version__
from .errors import InputError

EXIT_OK, EXIT_BLOCKED, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        raise InputError("command line", message)


def _emit(text: str, output: str | None, inputs=()) -> None:
    """Print ``text`` (also for ``-o -``) or write it atomically to ``output``."""
    if output and output != "-":
        from .io.files import write_atomic

        write_atomic(output, text if text.endswith("\n") else text + "\n", inputs=inputs, field="-o")
    else:
        print(text)


# -- decay --------------------------------------------------------------------------------------
def _cmd_decay(args) -> int:
    from .decay import activity_at, decay_factor, elapsed_between, time_to_activity
    from .units import quantity, to_json

    half_life = args.half_life
    a0 = quantity(args.activity, "GBq", "activity", minimum=0, convert=False)
    if args.to_activity is not None:
        if args.elapsed or args.start or args.end:
            raise InputError("--to-activity", "give either --to-activity or a time (--elapsed, --from/--to), not both")
        t = time_to_activity(a0, quantity(args.to_activity, "GBq", "--to-activity", minimum=0, include_minimum=False), half_life)
        result = {"activity": to_json(a0), "target_activity": to_json(quantity(args.to_activity, "GBq", "--to-activity")), "elapsed": to_json(t)}
        text = f"{a0:.4g~P} decays to {args.to_activity} after {t.to('h'):.2f~P} ({t.to('day'):.3f~P})"
    else:
        if args.elapsed and (args.start or args.end):
            raise InputError("--elapsed", "give --elapsed or --from/--to, not both")
        if args.elapsed:
            t = quantity(args.elapsed, "h", "--elapsed")
        elif args.start and args.end:
            from .io.patient import parse_datetime

            t = elapsed_between(parse_datetime(args.start, "--from"), parse_datetime(args.end, "--to"), "time")
        else:
            raise InputError("--elapsed", "missing; give --elapsed '24 h', or --from and --to date-times, or --to-activity")
        f = decay_factor(t, half_life)
        a1 = activity_at(a0, t, half_life)
        result = {"activity": to_json(a0), "elapsed": to_json(t), "decay_factor": f, "activity_at": to_json(a1)}
        text = f"{a0:.4g~P} after {t.to('h'):.2f~P}: {a1:.4g~P} (decay factor {f:.5f})"
    if half_life:
        result["half_life"] = to_json(quantity(half_life, "h", "--half-life"))
    _emit(json.dumps(result, indent=2) if args.format == "json" else text, args.output)
    return EXIT_OK


# -- plan ---------------------------------------------------------------------------------------
def _plan_json(case) -> dict:
    from .report.record import SCHEMA_VERSION, tumour_records

    doc = {"schema_version": SCHEMA_VERSION}
    doc.update(case.plan.to_json())
    doc.update(case.to_json())
    doc["within_limits"] = not case.blocked
    doc["tumours"] = tumour_records(case)
    return doc


def _cmd_plan(args) -> int:
    from .io.patient import load_patient
    from .report.text import case_text, compare_text
    from .workflow import assess, compare_devices, plan_patient

    pf = load_patient(args.patient)
    if args.compare:
        cases = tuple(assess(pp) for pp in compare_devices(pf))
        text = compare_text(*cases) if args.format == "text" else json.dumps({"glass": _plan_json(cases[0]), "resin": _plan_json(cases[1])}, indent=2, allow_nan=False)
    else:
        cases = (assess(plan_patient(pf)),)
        text = case_text(cases[0]) if args.format == "text" else json.dumps(_plan_json(cases[0]), indent=2, allow_nan=False)
    _emit(text, args.output, inputs=[args.patient])
    return EXIT_OK if all(c.actionable for c in cases) else EXIT_BLOCKED


# -- schedule -----------------------------------------------------------------------------------
def _cmd_schedule(args) -> int:
    from .io.patient import parse_datetime
    from .report.text import fmt, when
    from .schedule import resin_draw

    def t(value, name):
        return parse_datetime(value, name) if value is not None else None

    cal = t(args.calibration, "--calibration")
    adm = t(args.administration, "--administration")
    if cal is None:
        raise InputError("--calibration", "missing; give the vial calibration date-time with UTC offset")
    if args.device == "glass":
        from .report.text import glass_order_rows
        from .schedule import DEFAULT_DELIVERY_TOLERANCE, ClinicHours, glass_order

        if args.vial_volume or args.vial_activity:
            raise InputError("--vial-activity", "glass vials are chosen from the catalogue; --vial-activity/--vial-volume are for resin")
        if args.earliest or args.latest:
            raise InputError("--earliest", "replaced by clinic hours: give --clinic-hours and --clinic-days, or --administration")
        clinic = ClinicHours(**_clinic_args(args))
        tol = DEFAULT_DELIVERY_TOLERANCE if args.tolerance is None else _tolerance(args.tolerance)
        order = glass_order(args.activity, cal, planned=adm, clinic=clinic, tolerance=tol, custom=args.custom_doses)
        result = order.to_json()
        lines = [f"Glass: {fmt(order.prescribed)} prescribed; clinic hours {clinic.describe()}; tolerance +-{tol:.0%}"]
        lines += [f"  {k}: {v}" for k, v in glass_order_rows(order)]
        if order.choice is None:
            lines += [f"NEEDS A DECISION: {order.decision}"]
        others = [o for o in order.options if o != order.choice]
        lines += (["Options:" if order.choice is None else "Other options:"] + [f"  - {o.describe()}" for o in others]) if others else []
        text = "\n".join(lines)
        _emit(json.dumps(result, indent=2) if args.format == "json" else text, args.output)
        return EXIT_OK if order.choice is not None else EXIT_BLOCKED
    else:
        if adm is None:
            raise InputError("--administration", "missing; the resin volume to draw depends on the administration time")
        draw = resin_draw(args.activity, cal, adm, vial_activity=args.vial_activity, vial_volume=args.vial_volume)
        result = draw.to_json()
        text = (
            f"Resin: draw {fmt(draw.volume, 3)} from the vial ({fmt(draw.vial_activity)} in {fmt(draw.vial_volume)} at {when(cal)}; "
            f"{fmt(draw.concentration)} at {when(adm)}) for {fmt(draw.prescribed_activity)}; {draw.sphere_count / 1e6:.3g} million spheres."
        )
        text += "".join(f"\nWarning: {w}" for w in draw.warnings)
        from .devices import RESIN

        t = draw.elapsed_since_calibration.to("h").magnitude
        outside = not (RESIN.usable_from.to("h").magnitude <= t <= RESIN.usable_until.to("h").magnitude)
        result["blocked"] = outside
        if outside:
            text = f"BLOCKED: administration {t:.1f} h from calibration is outside the SIR-Spheres usable window\n" + text
        _emit(json.dumps(result, indent=2) if args.format == "json" else text, args.output)
        return EXIT_BLOCKED if outside else EXIT_OK


def _clinic_args(args) -> dict:
    import datetime as dt

    out = {}
    if args.clinic_hours:
        try:
            out["opens"], out["closes"] = (dt.time.fromisoformat(x.strip()) for x in args.clinic_hours.split("-"))
        except ValueError as exc:
            raise InputError("--clinic-hours", f'expected "HH:MM-HH:MM", e.g. 07:00-18:00; got {args.clinic_hours!r}') from exc
    if args.clinic_days:
        out["days"] = tuple(d.strip().lower()[:3] for d in args.clinic_days.split(","))
    return out


def _tolerance(text: str) -> float:
    from .units import fraction

    tol = float(fraction(text, "--tolerance", include_zero=False))
    if tol > 0.5:
        raise InputError("--tolerance", f"expected a fraction in (0, 0.5], e.g. 0.1 or '10 %'; got {text!r}")
    return tol


# -- voxel dosimetry -----------------------------------------------------------------------------
def _progress(args):
    """A progress printer for slow steps: on stderr when it is a terminal (or --verbose), never with --quiet."""
    if getattr(args, "quiet", False) or not (sys.stderr.isatty() or getattr(args, "verbose", False)):
        return None
    return lambda msg: print(f"y90: {msg}...", file=sys.stderr, flush=True)


def _cmd_dose(args) -> int:
    from .io.files import staged_directory
    from .report.build import imaging_json, write_imaging_files
    from .report.text import case_text
    from .workflow import assess, compute_dose

    inputs = [p for p in (args.activity_image, args.ct, args.rtstruct) if p]
    with staged_directory(args.output, inputs=inputs) as tmp:
        result = compute_dose(
            args.activity_image,
            args.rtstruct,
            ct=args.ct,
            liver_roi=args.liver,
            tumour_rois=args.tumour or (),
            lung_rois=args.lung or (),
            administered=args.administered,
            method=args.method,
            calibration=args.calibration,
            residual_fraction=args.residual_fraction,
            allow_mismatch=args.allow_mismatch,
            progress=_progress(args),
        )
        case = assess(voxel=result, device=args.device, prior_lung_dose=args.prior_lung_dose)
        write_imaging_files(result, tmp)
        from .io.files import write_atomic

        doc = dict(imaging_json(result), assessment=case.to_json())
        write_atomic(tmp / "regions.json", json.dumps(doc, indent=2, allow_nan=False))
    print(case_text(case))
    print(f"\nWrote {args.output}/rtdose.dcm, dvh.csv, regions.json")
    return EXIT_OK if case.actionable else EXIT_BLOCKED


def _cmd_dvh(args) -> int:
    from .errors import InputError as _IE
    from .io import check_consistency, load_rtdose, read_rtstruct, roi_mask
    from .report.regions import region_json, regions_text
    from .voxel import region_stats

    grid = load_rtdose(args.dose)
    dose = grid.volume
    rs = read_rtstruct(args.rtstruct)
    notes = list(check_consistency(grid.identity, rs.identity, allow_mismatch=args.allow_mismatch)) + list(grid.warnings)
    names = args.roi or list(rs.names)
    stats, skipped = {}, []
    for n in names:
        try:
            mask = roi_mask(rs, n, dose)
        except _IE as exc:
            if args.roi:  # asked for by name: refuse
                raise
            skipped.append(f"{n}: {exc.message}")
            continue
        stats[n] = region_stats(dose, mask)
    if args.format == "json":
        text = json.dumps({n: region_json(s) for n, s in stats.items()}, indent=2)
    else:
        text = regions_text(stats) + "".join(f"\nskipped {s}" for s in skipped) + "".join(f"\nWarning: {n}" for n in notes)
    _emit(text, args.output, inputs=[args.dose, args.rtstruct])
    return EXIT_OK


# -- report and demo ----------------------------------------------------------------------------
def _run_report(patient_path, output, args) -> int:
    from .io.files import check_not_input  # refuse a bad output folder before the slow work
    from .io.patient import load_patient
    from .report.build import render_report, write_report
    from .workflow import input_digests, run_case

    if str(output) == "-":
        raise InputError("-o", "a report is a folder of files (PDF, JSON, ...); give a folder, not '-' (standard output)")
    pf = load_patient(patient_path)
    inputs = [patient_path] + ([p for p in (pf.imaging.activity, pf.imaging.ct, pf.imaging.rtstruct) if p] if pf.imaging else [])
    check_not_input(output, inputs, "-o")
    progress = _progress(args)
    case = run_case(pf, progress=progress)
    report = render_report(case, digests=input_digests(pf), units=getattr(args, "units", "si"))
    write_report(report, output, inputs=inputs, progress=progress)
    if not args.quiet:
        print(report.text, end="")
        print(f"\nReport written to {output}/ (report.pdf, report.json, summary.txt" + (", rtdose.dcm, dvh.csv)" if report.imaging else ")"))
    return EXIT_OK if report.case.actionable else EXIT_BLOCKED


def _cmd_report(args) -> int:
    return _run_report(args.patient, args.output, args)


DEMO_PATIENT = """# Demo patient: a digital phantom (phantoms/), planned with glass microspheres by the
# partition model to a tumour dose of 205 Gy, with voxel dosimetry on its SPECT, CT and RTSTRUCT.
[patient]
id = "{patient_id}"
name = "{patient_name}"
height = "175 cm"
weight = "75 kg"

[treatment]
device = "glass"
method = "partition"
administration = 2026-01-15T10:00:00-05:00
calibration = {calibration}   # chosen so the {vial} vial holds the plan at administration

[clinical]
indication = "hcc"
extent = "whole_liver"
bilirubin = "0.8 mg/dL"
compromised_liver = false

[lung]
shunt_fraction = {lsf}
mass = "1 kg"

[liver]
volume = "{liver_ml:.1f} mL"

[target]
volume = "{liver_ml:.1f} mL"       # whole-liver treatment
tumour_dose = "205 Gy"
{tumours}
[imaging]
activity = "nm"
ct = "ct"
rtstruct = "rtstruct.dcm"
method = "kernel"
calibration = "relative"

[imaging.rois]
liver = "Liver"
tumours = [{tumour_rois}]
lungs = ["Lung L", "Lung R"]
"""


def _demo_calibration(text: str, base: Path) -> tuple[str, str]:
    """Calibration time at which the smallest standard glass vial holding the plan decays to it at administration."""
    import datetime as dt
    import tomllib

    from .decay import time_to_activity
    from .devices import GLASS
    from .io.patient import parse_patient
    from .workflow import plan_patient

    pf = parse_patient(tomllib.loads(text), base)
    a = plan_patient(pf).plan.prescribed_activity
    vial = min((v for v in GLASS.vial_activities if v >= a), key=lambda v: v.magnitude)
    hours = time_to_activity(vial, a).to("h").magnitude
    cal = pf.treatment.administration - dt.timedelta(minutes=round(hours * 60))
    return cal.isoformat(timespec="seconds"), f"{vial.magnitude:g} GBq"


def _cmd_demo(args) -> int:
    import shutil

    import phantoms

    from .io.files import write_atomic

    if args.output == "-":
        raise InputError("-o", "the demo writes a folder; give a folder name, not '-' (standard output)")
    if args.output:
        out = Path(args.output)
        if out.exists():
            raise InputError("-o", f"{out} exists; the demo never overwrites, choose a new folder")
    else:
        out = next(Path(f"y90-demo{'' if n == 1 else f'-{n}'}") for n in range(1, 10000) if not Path(f"y90-demo{'' if n == 1 else f'-{n}'}").exists())
    if not out.absolute().parent.is_dir():
        raise InputError("-o", f"parent folder {out.absolute().parent} does not exist")
    progress = _progress(args)
    if not args.quiet:
        print(f"y90 demo: writing a phantom patient and its report to {out.absolute()}/", flush=True)
    out.mkdir()
    try:
        if progress:
            progress("writing the phantom patient (CT, SPECT, RTSTRUCT)")
        truth = phantoms.make_patient(out / "patient", seed=args.seed)
        regions = truth.regions
        tumours = sorted(n for n in regions if n.startswith("Tumour"))
        tumour_tables = "".join(
            f'\n[[target.tumours]]\nname = "{n}"\nvolume = "{regions[n].volume.to("mL").magnitude:.2f} mL"\n'
            f"tumour_to_normal = {regions[n].tumour_to_normal:.3g}\n"
            for n in tumours
        )
        fields = dict(
            patient_id=truth.patient_id,
            patient_name=truth.patient_name,
            lsf=truth.lung_shunt_fraction,
            liver_ml=regions["Liver"].volume.to("mL").magnitude,
            tumours=tumour_tables,
            tumour_rois=", ".join(f'"{n}"' for n in tumours),
        )
        fields["calibration"], fields["vial"] = _demo_calibration(DEMO_PATIENT.format(calibration="2026-01-11T12:00:00-05:00", vial="", **fields), out / "patient")
        text = DEMO_PATIENT.format(**fields)
        patient_file = write_atomic(out / "patient" / "patient.toml", text)
        return _run_report(patient_file, out / "report", args)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # the demo folder is ours: leave nothing partial
        raise


# -- parser -------------------------------------------------------------------------------------
_EXIT_CODES = {
    "checks": "exit status: 0 within every safety limit; 1 blocked by a safety limit or needing a decision (vial, timing); 2 invalid input; 3 internal error",
    "plain": "exit status: 0 done; 2 invalid input; 3 internal error",
    "schedule": "exit status: 0 an in-hours vial/time (glass) or a draw (resin); 1 needs a decision (nothing fits); 2 invalid input; 3 internal error",
}

_DESCRIPTIONS = {
    "decay": ("Y-90 decay (half-life 64.1 h): the activity after a time, or the time to reach an activity.",
              ["y90 decay '5 GBq' --elapsed '24 h'", "y90 decay '5 GBq' --from 2026-11-22T12:00-05:00 --to 2026-11-25T10:00-05:00",
               "y90 decay '10 GBq' --to-activity '3.8 GBq'"], "plain"),
    "plan": ("Plan a patient file: prescribed activity, every compartment's dose, every safety check, the glass vial to "
             "order and when to give it (inside clinic hours) or the resin volume to draw.",
             ["y90 plan dosimetry/examples/glass.toml", "y90 plan patient.toml --format json -o -",
              "y90 plan patient.toml --compare     # glass and resin, each to its own target"], "checks"),
    "schedule": ("Glass: which vial to order, calibrated when, and the in-hours window in which it delivers the "
                 "prescription within the tolerance. Resin: the volume to draw at the administration time.",
                 ["y90 schedule glass --activity '2.7 GBq' --calibration 2026-11-29T12:00-05:00",
                  "y90 schedule glass --activity '3.8 GBq' --calibration 2026-11-22T12:00-05:00 --administration 2026-11-25T10:00-05:00",
                  "y90 schedule resin --activity '1.5 GBq' --calibration 2026-11-25T18:00-05:00 --administration 2026-11-25T10:00-05:00 --vial-activity '3.05 GBq'"],
                 "schedule"),
    "dose": ("Voxel dosimetry: absorbed-dose map from a SPECT/PET activity image, CT and RT Structure Set, checked "
             "against the safety limits; writes rtdose.dcm, dvh.csv and regions.json.",
             ["y90 dose --activity-image spect/ --ct ct/ --rtstruct rs.dcm --tumour 'Tumour 1' --administered '2.1 GBq' --device glass -o out/"],
             "checks"),
    "dvh": ("Per-ROI dose figures (mean, D95, V100 ...) of an RT Dose file.",
            ["y90 dvh --dose rtdose.dcm --rtstruct rs.dcm", "y90 dvh --dose rtdose.dcm --rtstruct rs.dcm --format json -o -"], "plain"),
    "report": ("Per-patient report: report.pdf (page 1 to sign, DVH, dose on CT, audit trail), report.json, summary.txt, "
               "and rtdose.dcm and dvh.csv when the patient file has imaging.",
               ["y90 report patient.toml -o report/", "y90 report patient.toml -o report/ --units us   # activities also in mCi"], "checks"),
    "demo": ("Write a digital phantom patient (CT, SPECT, RTSTRUCT) and its full report, to see what y90 does.",
             ["y90 demo", "y90 demo -o my-demo --units us"], "checks"),
}


def _sub(sub, name: str, help: str):
    """A subcommand parser with a description, examples, exit codes and -q/-v of its own."""
    text, examples, codes = _DESCRIPTIONS[name]
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + _EXIT_CODES[codes]
    sp = sub.add_parser(name, help=help, description=text, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="more detail; tracebacks of internal errors")
    sp.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress indication or summary")
    return sp


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="y90", description="Y-90 radioembolization planning and dosimetry (glass and resin microspheres).")
    p.add_argument("--version", action="version", version=f"y90-dosimetry {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail; show tracebacks of internal errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress indication")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = _sub(sub, "decay", help="Y-90 decay: activity after a time, or time to reach an activity")
    d.add_argument("activity", help="activity at the reference time, e.g. '3 GBq' or '81 mCi'")
    d.add_argument("--elapsed", help="time since the reference, e.g. '24 h' (negative: before)")
    d.add_argument("--from", dest="start", help="reference date-time with UTC offset, e.g. 2026-11-22T12:00:00-05:00")
    d.add_argument("--to", dest="end", help="later date-time with UTC offset")
    d.add_argument("--to-activity", help="activity to reach: prints the time it takes")
    d.add_argument("--half-life", default=None, help="override the Y-90 half-life (default 64.1 h)")
    d.add_argument("--format", choices=("text", "json"), default="text")
    d.add_argument("-o", "--output", help="write to FILE instead of the terminal ('-': standard output)")
    d.set_defaults(func=_cmd_decay)

    pl = _sub(sub, "plan", help="prescribed activity for the patient file's device and method")
    pl.add_argument("patient", help="patient TOML file (docs/patient-file.md)")
    pl.add_argument("--compare", action="store_true", help="plan with glass and with resin side by side")
    pl.add_argument("--format", choices=("text", "json"), default="text")
    pl.add_argument("-o", "--output", help="write to FILE instead of the terminal ('-': standard output)")
    pl.set_defaults(func=_cmd_plan)

    sc = _sub(sub, "schedule", help="glass vial and time, or resin volume to draw")
    sc.add_argument("device", choices=("glass", "resin"))
    sc.add_argument("--activity", required=True, help="prescribed activity at administration, e.g. '3.8 GBq'")
    sc.add_argument("--calibration", help="vial calibration date-time with UTC offset")
    sc.add_argument("--administration", help="administration date-time with UTC offset")
    sc.add_argument("--earliest", help=argparse.SUPPRESS)
    sc.add_argument("--latest", help=argparse.SUPPRESS)
    sc.add_argument("--clinic-hours", help="glass: local opening hours, default 07:00-18:00")
    sc.add_argument("--clinic-days", help="glass: administration days, default mon,tue,wed,thu,fri")
    sc.add_argument("--tolerance", help="glass: accepted delivered-activity difference, default 0.10 (+-10 %%)")
    sc.add_argument("--custom-doses", action="store_true", help="glass: allow custom doses (0.5 GBq steps; verify with the manufacturer)")
    sc.add_argument("--vial-activity", help="resin: vial activity at calibration (default 3 GBq)")
    sc.add_argument("--vial-volume", help="resin: vial volume (default 5 mL)")
    sc.add_argument("--format", choices=("text", "json"), default="text")
    sc.add_argument("-o", "--output", help="write to FILE instead of the terminal ('-': standard output)")
    sc.set_defaults(func=_cmd_schedule)

    ds = _sub(sub, "dose", help="absorbed-dose map from an activity image, CT and RTSTRUCT")
    ds.add_argument("--activity-image", required=True, help="folder of the NM or PT activity image")
    ds.add_argument("--ct", help="CT folder (density from HU; without it 1.03 g/mL everywhere)")
    ds.add_argument("--rtstruct", required=True, help="RT Structure Set file")
    ds.add_argument("--administered", help="administered activity, e.g. '2.1 GBq' (relative calibration)")
    ds.add_argument("--method", choices=("ldm", "kernel"), default="kernel", help="local deposition or kernel convolution (default)")
    ds.add_argument("--calibration", choices=("relative", "absolute"), default="relative")
    ds.add_argument("--liver", default="Liver", help="liver ROI name (default 'Liver')")
    ds.add_argument("--tumour", action="append", help="tumour ROI name (repeat for several)")
    ds.add_argument("--lung", action="append", help="lung ROI name (repeat for several)")
    ds.add_argument("--residual-fraction", default=0.0, type=float, help="activity left in vial and tubing, [0, 1)")
    ds.add_argument("--device", choices=("glass", "resin"), help="device whose safety limits apply (default: both devices' limits, the stricter binds)")
    ds.add_argument("--prior-lung-dose", default="0 Gy", help="lung dose of earlier treatments, for the cumulative lung limit (default 0 Gy)")
    ds.add_argument("--allow-mismatch", action="store_true", help="accept series of different patient / study / frame of reference")
    ds.add_argument("-o", "--output", required=True, help="output folder (created; must not exist or be empty)")
    ds.set_defaults(func=_cmd_dose)

    dv = _sub(sub, "dvh", help="per-ROI dose figures of an RT Dose file")
    dv.add_argument("--dose", required=True, help="RT Dose file")
    dv.add_argument("--rtstruct", required=True, help="RT Structure Set file")
    dv.add_argument("--roi", action="append", help="ROI name (repeat; default every ROI on the dose grid)")
    dv.add_argument("--allow-mismatch", action="store_true", help="accept a structure set of another patient / study / frame of reference")
    dv.add_argument("--format", choices=("text", "json"), default="text")
    dv.add_argument("-o", "--output", help="write to FILE instead of the terminal ('-': standard output)")
    dv.set_defaults(func=_cmd_dvh)

    rp = _sub(sub, "report", help="per-patient report: PDF, JSON, text (+ RT Dose and DVH with imaging)")
    rp.add_argument("patient", help="patient TOML file")
    rp.add_argument("-o", "--output", required=True, help="output folder (created; must not exist or be empty)")
    rp.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on page 1")
    rp.set_defaults(func=_cmd_report)

    dm = _sub(sub, "demo", help="write a phantom patient and its report (the README's first command)")
    dm.add_argument("-o", "--output", help="demo folder to create (default: ./y90-demo, ./y90-demo-2, ...)")
    dm.add_argument("--seed", type=int, default=0, help="phantom seed (default 0)")
    dm.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on page 1")
    dm.set_defaults(func=_cmd_demo)
    return p


def main(argv=None) -> int:
    """Entry point of the ``y90`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = "--verbose" in argv or "-v" in argv
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            build_parser().print_help()
            return EXIT_INVALID
        return args.func(args)
    except InputError as exc:
        print(f"y90: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("y90: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug, not a user error: still one line unless --verbose
        if verbose:
            traceback.print_exc()
        print(f"y90: internal error: {type(exc).__name__}: {exc} (run with --verbose for details; please report it)", file=sys.stderr)
        return EXIT_INTERNAL
