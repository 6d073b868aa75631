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
import warnings
from pathlib import Path

from . import __version__
from .errors import InputError

EXIT_OK, EXIT_BLOCKED, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3


def _lower(text: str) -> str:
    """Choices are read case-insensitively, as the patient file reads them ("Glass", "MIRD")."""
    return text.strip().lower()


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2; text choices case-insensitive."""

    def error(self, message):  # noqa: D401 - argparse API
        raise InputError("command line", message)

    def add_argument(self, *args, **kwargs):
        if kwargs.get("choices") and "type" not in kwargs and all(isinstance(c, str) for c in kwargs["choices"]):
            kwargs["type"] = _lower
        return super().add_argument(*args, **kwargs)


def _emit(text: str, output: str | None, inputs=(), force: bool = False) -> None:
    """Print ``text`` (also for ``-o -``) or write it atomically to ``output`` (an existing file only with ``force``)."""
    if output is not None and output != "-":
        from .io.files import write_atomic

        write_atomic(output, text if text.endswith("\n") else text + "\n", inputs=inputs, field="-o", force=force)
    else:
        print(text)


def _json(obj) -> str:
    """JSON text for the terminal or ``-o``: non-finite numbers as null, never NaN/Infinity tokens."""
    from .io.files import json_text

    return json_text(obj, indent=2)


def _check_output(args) -> None:
    """Refuse a bad ``-o FILE`` (exists without --force, a folder, unwritable) before any work."""
    if getattr(args, "output", None) is not None and hasattr(args, "force"):
        from .io.files import check_not_input, check_output_file

        inputs = [getattr(args, k) for k in ("patient", "dose", "rtstruct") if getattr(args, k, None)]
        check_not_input(args.output, inputs, "-o")
        check_output_file(args.output, force=args.force, field="-o")


# -- decay --------------------------------------------------------------------------------------
def _check_elapsed(t, name: str) -> None:
    """An elapsed time within the plausible range of the decay command (io.patient.COMMAND_RANGES)."""
    from .io.patient import COMMAND_RANGES, plausible_quantity

    plausible_quantity(t, COMMAND_RANGES["elapsed"], name)


def _cmd_decay(args) -> int:
    from .units import to_json
    from .decay import activity_at, decay_factor, elapsed_between, time_to_activity
    from .io.patient import COMMAND_RANGES, parse_datetime, plausible_quantity

    def q(value, key, name):
        return plausible_quantity(value, COMMAND_RANGES[key], name)

    half_life = q(args.half_life, "half_life", "--half-life") if args.half_life is not None else None
    a0 = q(args.activity, "activity", "activity")
    if args.to_activity is not None:
        if args.elapsed is not None or args.start or args.end:
            raise InputError("--to-activity", "give either --to-activity or a time (--elapsed, --from/--to), not both")
        target = q(args.to_activity, "activity", "--to-activity")
        if not target.magnitude > 0:
            raise InputError("--to-activity", "must be > 0 (Y-90 never decays to zero)", allowed="(0, 1000] GBq")
        t = time_to_activity(a0, target, half_life)
        _check_elapsed(t, "--to-activity")
        result = {"activity": to_json(a0), "target_activity": to_json(target), "elapsed": to_json(t)}
        text = f"{a0:.4g~P} decays to {target:.4g~P} after {t.to('h'):.2f~P} ({t.to('day'):.3f~P})"
    else:
        if args.elapsed is not None and (args.start or args.end):
            raise InputError("--elapsed", "give --elapsed or --from/--to, not both")
        if args.elapsed is not None:
            t = q(args.elapsed, "elapsed", "--elapsed")
        elif args.start and args.end:
            t = elapsed_between(parse_datetime(args.start, "--from"), parse_datetime(args.end, "--to"), "time")
            _check_elapsed(t, "--to")
        else:
            raise InputError("--elapsed", "missing; give --elapsed '24 h', or --from and --to date-times, or --to-activity")
        f = decay_factor(t, half_life)
        a1 = activity_at(a0, t, half_life)
        result = {"activity": to_json(a0), "elapsed": to_json(t), "decay_factor": float(f), "activity_at": to_json(a1)}
        text = f"{a0:.4g~P} after {t.to('h'):.2f~P}: {a1:.4g~P} (decay factor {f:.5g})"
    if half_life is not None:
        result["half_life"] = to_json(half_life)
    _emit(_json(result) if args.format == "json" else text, args.output, force=args.force)
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
    from .workflow import compare_case, plan_case

    pf = load_patient(args.patient)
    u = _uncertainty(args, pf)
    if args.compare:
        cases = compare_case(pf, progress=_progress(args), uncertainty=u)
        text = compare_text(*cases) if args.format == "text" else json.dumps({"glass": _plan_json(cases[0]), "resin": _plan_json(cases[1])}, indent=2, allow_nan=False)
    else:
        cases = (plan_case(pf, progress=_progress(args), uncertainty=u),)
        text = case_text(cases[0]) if args.format == "text" else json.dumps(_plan_json(cases[0]), indent=2, allow_nan=False)
    _emit(text, args.output, inputs=[args.patient], force=args.force)
    return EXIT_OK if all(c.actionable for c in cases) else EXIT_BLOCKED


def _uncertainty(args, pf):
    """``--samples``, ``--seed`` and ``--uncertainty KEY=VALUE`` over the patient file's ``[uncertainty]``,
    read by the same parser (:func:`dosimetry.planning.budget.uncertainty_settings`)."""
    from .planning.budget import uncertainty_settings

    table = {}
    for item in getattr(args, "uncertainty", None) or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError("--uncertainty", f"expected KEY=VALUE (e.g. activity=5% or tumour_volume=lognormal:20%), got {item[:60]!r}")
        table[key.strip()] = _spec(value.strip())
    s = uncertainty_settings(table, "--uncertainty", base=pf.uncertainty)
    flags = {"samples": getattr(args, "samples", None), "seed": getattr(args, "uncertainty_seed", None)}
    try:
        return uncertainty_settings({k: v for k, v in flags.items() if v is not None}, "--uncertainty", base=s)
    except InputError as exc:
        raise exc.renamed({"--uncertainty.samples": "--samples", "--uncertainty.seed": "--seed"}.get(exc.field, exc.field)) from exc


def _spec(text: str):
    """``--uncertainty`` values: ``DIST:SPREAD[:absolute|:relative]`` (a term) or a plain value.

    ``normal:5%`` -> ``{"distribution": "normal", "spread": "5%"}``; ``uniform:0.02:absolute`` adds
    ``"relative": false``; ``5%``, ``off``, ``spect``, ``10000`` are passed as written.
    """
    parts = text.split(":")
    if len(parts) == 1:
        return text
    out = {"distribution": parts[0], "spread": parts[1]}
    if len(parts) == 3 and parts[2].lower() in ("absolute", "relative"):
        out["relative"] = parts[2].lower() == "relative"
    elif len(parts) > 2:
        raise InputError("--uncertainty", f"expected DISTRIBUTION:SPREAD[:absolute], e.g. normal:5% or normal:0.02:absolute; got {text[:60]!r}")
    return out


def _uncertainty_flags(sp) -> None:
    """``--seed``, ``--samples`` and ``--uncertainty`` of ``plan`` and ``report`` (docs/uncertainty.md)."""
    sp.add_argument("--seed", dest="uncertainty_seed", help="seed of the uncertainty analysis (default 0, or [uncertainty] seed): the same seed gives the same numbers")
    sp.add_argument("--samples", help="draws of the uncertainty analysis (default 10000; 0 switches it off)")
    sp.add_argument("--uncertainty", action="append", metavar="KEY=VALUE",
                    help="override the uncertainty budget, as [uncertainty] does: TERM=SPREAD (e.g. activity=5%%), TERM=DIST:SPREAD[:absolute] "
                         "(e.g. residual_fraction=normal:0.01:absolute), TERM=off, p_exceed_bound=10%%, lung_shunt_method=spect; repeat")


# -- session ------------------------------------------------------------------------------------
def _cmd_session(args) -> int:
    from .io.patient import load_patient
    from .report.text import session_text
    from .workflow import plan_session

    from .workflow.session import check_distinct_files

    check_distinct_files(args.patients, "territories")  # the library's check (plan_session), before the names
    _check_territory_names(args.patients)
    result = plan_session([load_patient(p) for p in args.patients], progress=_progress(args))
    text = session_text(result) if args.format == "text" else json.dumps(result.to_json(), indent=2, allow_nan=False)
    _emit(text, args.output, inputs=list(args.patients), force=args.force)
    return EXIT_OK if result.actionable else EXIT_BLOCKED


def _check_territory_names(paths) -> None:
    """Territories are named after their files (without .toml): two files of one name are refused."""
    seen = {}
    for p in paths:
        name = Path(p).stem
        if name in seen:
            raise InputError(
                "territories",
                f"{seen[name]} and {p} both give the territory name {name!r} (territories are named after their "
                f"file names); rename one file, e.g. {name}-right.toml and {name}-left.toml",
            )
        seen[name] = p


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
    if adm is not None:  # the patient file's rule and constant (io.patient.MAX_CALIBRATION_GAP)
        from .io.patient import check_calibration_gap

        check_calibration_gap(adm, cal, "--administration", "--calibration")
    clinic = _clinic(args)
    from .devices import device

    if device(args.device).whole_vial:
        from .report.text import glass_order_rows
        from .schedule import DEFAULT_DELIVERY_TOLERANCE, glass_order

        if args.vial_volume or args.vial_activity:
            raise InputError("--vial-activity", "glass vials are chosen from the catalogue; --vial-activity/--vial-volume are for resin")
        if args.earliest or args.latest:
            raise InputError("--earliest", "replaced by clinic hours: give --clinic-hours and --clinic-days, or --administration")
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
        _emit(_json(result) if args.format == "json" else text, args.output, force=args.force)
        return EXIT_OK if order.choice is not None else EXIT_BLOCKED
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

    elapsed = draw.elapsed_since_calibration.to("h").magnitude
    outside = not (RESIN.usable_from.to("h").magnitude <= elapsed <= RESIN.usable_until.to("h").magnitude)
    result["blocked"] = outside
    # As for glass, the administration must fall inside clinic hours (default weekdays 07:00-18:00).
    decision = clinic.outside(adm)
    in_hours = decision is None
    result["clinic_hours"] = clinic.describe()
    result["needs_decision"] = not in_hours
    result["decision"] = decision
    if not in_hours:
        text += f"\nNEEDS A DECISION: {result['decision']}"
    if outside:
        text = f"BLOCKED: administration {elapsed:.1f} h from calibration is outside the SIR-Spheres usable window\n" + text
    _emit(_json(result) if args.format == "json" else text, args.output, force=args.force)
    return EXIT_BLOCKED if outside or not in_hours else EXIT_OK


def _clinic(args):
    """The clinic hours of ``y90 schedule`` (default weekdays 07:00-18:00), errors naming the flags."""
    from .schedule import ClinicHours

    try:
        return ClinicHours(**_clinic_args(args))
    except InputError as exc:
        raise exc.renamed({"clinic.hours": "--clinic-hours", "clinic.days": "--clinic-days"}.get(exc.field, exc.field)) from exc


def _clinic_args(args) -> dict:
    """--clinic-hours / --clinic-days read by the patient file's [clinic] parsers (io.patient)."""
    from .io.patient import parse_clinic_days, parse_clinic_hours

    out = {}
    if args.clinic_hours is not None:
        out["opens"], out["closes"] = parse_clinic_hours(args.clinic_hours, "--clinic-hours")
    if args.clinic_days is not None:
        out["days"] = parse_clinic_days(args.clinic_days.split(",") if args.clinic_days.strip() else [], "--clinic-days")
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

    inputs = [p for p in (args.activity_image, args.ct, args.segmentation, args.labels) if p]
    _check_output_folder(args.output, inputs, "the dose output (dose map, dvh.csv, regions.json)")
    settings = _dose_settings(args)
    liver = args.liver or ["Liver"]
    scenario = _dose_clinical(args)  # refuse a bad scenario or prior lung dose before the slow work
    prior_lung_dose = _prior_lung_dose(args.prior_lung_dose)
    from .io.volumes import image_format

    if args.dose_format == "dicom" and image_format(args.activity_image) != "dicom":
        raise InputError("--dose-format", "an RT Dose needs DICOM source images (patient, study, frame of reference); with an NRRD / NIfTI activity image choose nrrd or nifti")
    with _dose_flags(), staged_directory(args.output, inputs=inputs) as tmp:
        result = compute_dose(
            args.activity_image,
            args.segmentation,
            ct=args.ct,
            liver_roi=liver[0] if len(liver) == 1 else tuple(liver),
            tumour_rois=args.tumour or (),
            lung_rois=args.lung or (),
            perfused_roi=args.perfused,
            allow_mismatch=settings.allow_mismatch,
            progress=_progress(args),
            **settings.dosimetry(residual_fraction=args.residual_fraction),
            **settings.reading(),
        )
        case = assess(voxel=result, device=args.device, clinical=scenario, prior_lung_dose=prior_lung_dose, patient_id=_patient_id(result))
        dose_name = write_imaging_files(result, tmp, dose_format=settings.dose_format)
        from .io.files import write_atomic

        doc = dict(imaging_json(result), assessment=case.to_json())
        write_atomic(tmp / "regions.json", json.dumps(doc, indent=2, allow_nan=False))
    text = case_text(case)
    if case.patient_id is None:  # NRRD / NIfTI inputs carry no PatientID (0010,0020)
        text = "Patient not given (no DICOM PatientID in the inputs)" + text[text.index("\n"):]
    print(text)
    print(f"\nWrote {args.output}/{dose_name}, dvh.csv, regions.json")
    return EXIT_OK if case.actionable else EXIT_BLOCKED


def _dose_settings(args):
    """``y90 dose``'s flags as the :class:`~dosimetry.model.VoxelSettings` the patient file's [imaging] builds."""
    from .io.patient import parse_datetime
    from .model import VoxelSettings

    when = None
    if args.activity_time is not None:
        text = args.activity_time.strip()
        when = "administration" if text.lower() == "administration" else parse_datetime(text, "--activity-time")
    admin = parse_datetime(args.administration_time, "--administration-time") if args.administration_time is not None else None
    return VoxelSettings(method=args.method, density_method=args.density_method, lung_method=args.lung_method, calibration=args.calibration,
                         administered=args.administered, allow_mismatch=args.allow_mismatch, labels=args.labels, activity_unit=args.activity_unit,
                         activity_time=when, administration_time=admin, dose_format=args.dose_format)


#: ``y90 dose``'s flag for each field key its library calls name in their errors (the patient file's
#: [imaging] keys, and voxel_dose's own arguments): an error is re-raised naming the flag.
_DOSE_FLAGS = {
    "imaging.activity_unit": "--activity-unit",
    "imaging.activity_time": "--activity-time",
    "imaging.administration_time": "--administration-time",
    "imaging.administered": "--administered",
    "imaging.activity": "--activity-image",
    "imaging.segmentation": "--segmentation",
    "imaging.rtstruct": "--segmentation",
    "imaging.labels": "--labels",
    "imaging.rois.liver": "--liver",
    "imaging.rois.tumours": "--tumour",
    "imaging.rois.lungs": "--lung",
    "imaging.rois.perfused": "--perfused",
    "imaging.ct": "--ct",
    "imaging.calibration": "--calibration",
    "administered": "--administered",
    "residual_fraction": "--residual-fraction",
    "calibration": "--calibration",
}


class _dose_flags:
    """Context of ``y90 dose``'s reading and computing: an InputError naming a library field key is
    re-raised naming the command's flag (:meth:`dosimetry.errors.InputError.renamed`; the message is
    the library's own)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if not isinstance(exc, InputError) or exc.field not in _DOSE_FLAGS:
            return False
        raise exc.renamed(_DOSE_FLAGS[exc.field]) from exc


#: ``y90 dose`` flags of the patient file's [clinical] keys (docs/patient-file.md), same parser.
_CLINICAL_FLAGS = {"indication": "--indication", "extent": "--extent", "bilirubin": "--bilirubin", "compromised_liver": "--compromised-liver"}


def _dose_clinical(args):
    """The clinical scenario of ``y90 dose``, read by :func:`dosimetry.planning.clinical.clinical` (as the
    patient file's [clinical] table), errors naming the flag instead of ``clinical.<key>``."""
    from .planning.clinical import clinical

    given = {k: getattr(args, k) for k in _CLINICAL_FLAGS if getattr(args, k, None) is not None}
    try:
        return clinical(**given)
    except InputError as exc:
        raise exc.renamed(_CLINICAL_FLAGS.get(exc.field.removeprefix("clinical."), exc.field)) from exc


def _prior_lung_dose(text: str):
    """``--prior-lung-dose``: the plausible range of the patient file's ``lung.prior_dose`` (io.patient.PLAUSIBLE)."""
    from .io.patient import PLAUSIBLE, plausible_quantity

    return plausible_quantity(text, PLAUSIBLE["lung.prior_dose"], "--prior-lung-dose")


def _patient_id(result) -> str | None:
    """PatientID (0010,0020) of the first input series that states one (None for NRRD / NIfTI only)."""
    return next((i.patient_id for i in result.identities if getattr(i, "patient_id", None)), None)


def _cmd_dvh(args) -> int:
    """Per-ROI figures of a dose map that ``y90 dose`` wrote (RT Dose, NRRD, NIfTI), on any segmentation
    it reads (RTSTRUCT, DICOM SEG, .seg.nrrd, label map with --labels): the ROIs are put on the dose
    grid as ``y90 dose`` puts them on the activity grid (partial-volume fractions), so the figures agree."""
    from .io import check_consistency
    from .io.dosemap import read_dose_map
    from .io.segmentation import read_segmentation
    from .report.regions import region_json, regions_text
    from .voxel import region_stats
    from .workflow.voxel import roi_masks_on

    for flag, path in (("--dose", args.dose), ("--segmentation", args.segmentation)):
        if Path(path).is_dir():
            raise InputError(flag, f"{path} is a folder; expected a file ({'a dose map' if flag == '--dose' else 'a segmentation'})")
    with _dvh_flags():
        dm = read_dose_map(args.dose, unit=args.dose_unit)
        seg = read_segmentation(args.segmentation, labels=args.labels)
    dose = dm.volume
    notes = list(dm.warnings) + list(seg.warnings)
    if dm.identity is not None and seg.identity is not None:
        notes += list(check_consistency(dm.identity, seg.identity, allow_mismatch=args.allow_mismatch))
    else:
        notes.append("the dose map or the segmentation carries no patient or frame-of-reference identifiers: they are taken to be of one patient, in one patient space")
    stats, skipped = {}, []
    for n in args.roi or list(seg.names):
        try:
            mask = roi_masks_on(seg, [n], dose, notes)[n]
        except InputError as exc:
            if args.roi:  # asked for by name: refuse
                raise
            skipped.append(f"{n}: {exc.message}")
            continue
        stats[n] = region_stats(dose, mask)
    if args.format == "json":
        text = _json({n: dict(region_json(s), name=n) for n, s in stats.items()})
    else:
        text = regions_text(stats) + "".join(f"\nskipped {s}" for s in skipped) + "".join(f"\nWarning: {n}" for n in dict.fromkeys(notes))
    _emit(text, args.output, inputs=[args.dose, args.segmentation] + ([args.labels] if args.labels else []), force=args.force)
    return EXIT_OK


class _dvh_flags:
    """``y90 dvh``: an InputError naming a library field is re-raised naming the command's flag."""

    FLAGS = {"dose": "--dose", "dose_unit": "--dose-unit", "segmentation": "--segmentation", "imaging.labels": "--labels", "labels": "--labels"}

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if not isinstance(exc, InputError) or exc.field not in self.FLAGS:
            return False
        raise exc.renamed(self.FLAGS[exc.field]) from exc


# -- report and demo ----------------------------------------------------------------------------
def _check_output_folder(output, inputs, what: str = "the output") -> None:
    """Refuse a bad output folder of ``dose`` / ``report`` before the slow work: ``-`` (standard
    output), an existing file, a path that resolves (symbolic links followed) into an input."""
    from .errors import OutputError
    from .io.files import check_not_input

    if str(output) == "-":
        raise InputError("-o", f"{what} is a folder of files; give a folder, not '-' (standard output)")
    try:
        is_file = Path(output).exists() and not Path(output).is_dir()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        raise OutputError("-o", f"{output} is an existing file; expected a folder (a new one, or an empty one)")
    check_not_input(output, inputs, "-o")


def _run_report(patient_path, output, args) -> int:
    from .io.patient import load_patient
    from .report.build import DOSE_FILES, dose_format_for, write_case_report
    from .workflow import input_paths, run_case

    if str(output) == "-":
        raise InputError("-o", "a report is a folder of files (PDF, JSON, ...); give a folder, not '-' (standard output)")
    pf = load_patient(patient_path)
    _check_output_folder(output, input_paths(pf), "a report")
    progress = _progress(args)
    case = run_case(pf, progress=progress, uncertainty=_uncertainty(args, pf))
    report = write_case_report(case, pf, output, units=getattr(args, "units", "si"), progress=progress)
    if not args.quiet:
        print(report.text, end="")
        dose_file = DOSE_FILES[dose_format_for(report.imaging, pf.imaging.dose_format)] if report.imaging else None
        print(f"\nReport written to {output}/ (report.pdf, report.json, summary.txt" + (f", {dose_file}, dvh.csv)" if report.imaging else ")"))
    return EXIT_OK if report.case.actionable else EXIT_BLOCKED


def _cmd_report(args) -> int:
    return _run_report(args.patient, args.output, args)


DEMO_PATIENT = """# Demo patient: a digital phantom (phantoms/) planned from its Tc-99m MAA SPECT/CT, like a clinic
# does: the lung shunt fraction, the lung mass, the volumes and the tumour-to-normal ratios are
# measured on the images ("image"). Glass microspheres, partition model, 205 Gy to the tumours;
# the voxel dosimetry is the MAA SPECT scaled to the planned activity (predictive).
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
shunt_fraction = "image"   # lung ROIs / (lungs + liver) on the MAA SPECT
mass = "image"             # lung ROIs on the CT through the HU-to-density curve

[liver]
volume = "image"

[target]
volume = "image"           # whole-liver treatment: the liver ROI
tumour_dose = "205 Gy"
{tumours}
[imaging]
activity = "nm"            # Tc-99m MAA SPECT
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
    from .workflow import plan_inputs, plan_patient

    pf = parse_patient(tomllib.loads(text), base)
    a = plan_patient(plan_inputs(pf).patient).plan.prescribed_activity
    vial = min((v for v in GLASS.vial_activities if v >= a), key=lambda v: v.magnitude)
    hours = time_to_activity(vial, a).to("h").magnitude
    cal = pf.treatment.administration - dt.timedelta(minutes=round(hours * 60))
    return cal.isoformat(timespec="seconds"), f"{vial.magnitude:g} GBq"


def write_demo_patient(folder, *, seed: int = 0, **phantom) -> Path:
    """Write a phantom patient (CT, Tc-99m MAA SPECT, RTSTRUCT; ``phantoms.make_patient`` with
    ``phantom`` keyword arguments, e.g. ``patient_id``, ``noise``, ``lung_shunt_fraction``) and its
    patient file ``DEMO_PATIENT`` into the new ``folder``; return the patient file's path.

    The patient file plans from the images; its vial calibration is set so that the smallest glass
    vial holding the plan decays to it at administration. (``y90 demo``, tests and benchmarks.)
    """
    import phantoms

    from .io.files import write_atomic

    folder = Path(folder)
    truth = phantoms.make_patient(folder, seed=seed, radionuclide="Tc-99m", **phantom)
    tumours = sorted(n for n in truth.regions if n.startswith("Tumour"))
    tumour_tables = "".join(
        f'\n[[target.tumours]]\nname = "{n}"          # its ROI\nvolume = "image"\ntumour_to_normal = "image"\n'
        for n in tumours
    )
    fields = dict(
        patient_id=truth.patient_id,
        patient_name=truth.patient_name,
        tumours=tumour_tables,
        tumour_rois=", ".join(f'"{n}"' for n in tumours),
    )
    fields["calibration"], fields["vial"] = _demo_calibration(DEMO_PATIENT.format(calibration="2026-01-11T12:00:00-05:00", vial="", **fields), folder)
    return write_atomic(folder / "patient.toml", DEMO_PATIENT.format(**fields))


def _cmd_demo(args) -> int:
    """Write the phantom patient into a hidden sibling folder, rename it into place, then report.

    Nothing partial is left behind: the staging folder is removed on any error, Ctrl-C or SIGTERM,
    and the demo folder itself is removed if the report then fails or is interrupted.
    """
    import shutil

    from .io.files import staged_directory

    if args.output == "-":
        raise InputError("-o", "the demo writes a folder; give a folder name, not '-' (standard output)")
    if args.output is not None:
        out = Path(args.output)
        if out.exists() or out.is_symlink():
            raise InputError("-o", f"{out} exists; the demo never overwrites, choose a new folder")
    else:
        out = next(Path(f"y90-demo{'' if n == 1 else f'-{n}'}") for n in range(1, 10000) if not Path(f"y90-demo{'' if n == 1 else f'-{n}'}").exists())
    progress = _progress(args)
    if not args.quiet:
        print(f"y90 demo: writing a phantom patient and its report to {out.absolute()}/", flush=True)
    with staged_directory(out, field="-o") as tmp:
        if progress:
            progress("writing the phantom patient (CT, Tc-99m MAA SPECT, RTSTRUCT)")
        write_demo_patient(tmp / "patient", seed=args.seed)
    try:
        return _run_report(out / "patient" / "patient.toml", out / "report", args)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # the demo folder is ours: leave nothing partial
        raise


# -- cohort -------------------------------------------------------------------------------------
def _cmd_cohort(args) -> int:
    """Every case of a manifest through run_case (docs/cohort.md); 0 all within limits, 1 any blocked / failed."""
    from .io.manifest import read_manifest
    from .report.build import write_case_report
    from .workflow.cluster import default_workers
    from .workflow.cohort import FAILED, REFUSED, run_cohort

    rows = read_manifest(args.manifest)
    workers = args.workers if args.workers is not None else (0 if args.scheduler else default_workers())
    show = None if args.quiet else _cohort_progress()
    result = run_cohort(rows, args.output, workers=workers, scheduler=args.scheduler, report=write_case_report, units=args.units, progress=show)
    if show is not None:
        show.end()
    failed = result.failed
    if not args.quiet:
        for o in failed:
            where = f" (manifest row {o.patient['manifest_row']})" if o.patient.get("manifest_row") else ""
            print(f"y90 cohort: {o.name}{where}: {o.status}: {o.patient['error']}", file=sys.stderr)
        counts = {s: result.count(s) for s in ("WITHIN LIMITS", "BLOCKED", "NEEDS A DECISION")}
        print(f"{len(result.outcomes)} cases: {counts['WITHIN LIMITS']} within limits, {counts['BLOCKED']} blocked, "
              f"{counts['NEEDS A DECISION']} needing a decision, {result.count(REFUSED)} refused, {result.count(FAILED)} failed"
              + (f" ({result.reused} taken from the earlier run)" if result.reused else ""))
        print(f"Tables written to {args.output}/ (patients.csv, regions.csv, patients.parquet, regions.parquet); one report folder per case")
    if result.all_within_limits:
        return EXIT_OK
    n = len(result.outcomes) - result.count("WITHIN LIMITS")
    print(f"y90 cohort: {n} of {len(result.outcomes)} cases blocked, needing a decision or failed", file=sys.stderr)
    return EXIT_BLOCKED


class _cohort_progress:
    """``done / failed / left`` on stderr: one line rewritten in place on a terminal, a line per case otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, failed: int, left: int) -> None:
        line = f"y90 cohort: {done} done, {failed} failed, {left} left"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr)


# -- parser -------------------------------------------------------------------------------------
def _checked(key: str):
    """An argparse ``type`` checking a quantity flag against the patient file's grammar and range.

    The text is returned unchanged (the command parses it again); a refusal keeps its message.
    """

    def parse(text: str) -> str:
        from .io.patient import PLAUSIBLE, plausible_quantity

        try:
            plausible_quantity(text, PLAUSIBLE[key], key)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from exc
        return text

    return parse


def _command_range(key: str):
    """An argparse ``type`` for a flag with a range in ``io.patient.COMMAND_RANGES`` (or the resin vial's)."""

    def parse(text: str) -> str:
        from .io.patient import COMMAND_RANGES, VIAL_ACTIVITY, plausible_quantity

        try:
            plausible_quantity(text, VIAL_ACTIVITY["resin"] if key == "resin_vial_activity" else COMMAND_RANGES[key], key)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from exc
        return text

    return parse


def _seed(text: str) -> int:
    """``demo --seed``: the phantom seed, an integer >= 0 (checked before anything is written or printed)."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 0")
    return n


def _workers(text: str) -> int:
    """``cohort --workers``: 0 (in this process) to 256 worker processes."""
    n = int(text) if text.strip().isdigit() else -1
    if not 0 <= n <= 256:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer in [0, 256]")
    return n


def _residual_fraction(text: str) -> float:
    """``--residual-fraction``: the patient file's grammar and plausible range (target.residual_fraction)."""
    from .io.patient import _plausible_fraction

    try:
        return _plausible_fraction(text, "target.residual_fraction", "--residual-fraction", None)
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from exc


_EXIT_CODES = {
    "checks": "exit status: 0 within every safety limit; 1 blocked by a safety limit or needing a decision (vial, timing); 2 invalid input; 3 internal error",
    "plain": "exit status: 0 done; 2 invalid input; 3 internal error",
    "cohort": "exit status: 0 every case ran and is within every safety limit; 1 a case is blocked, needs a decision, or was refused or failed (the output says how many); 2 invalid input; 3 internal error",
    "schedule": "exit status: 0 an in-hours vial/time (glass) or a draw (resin); 1 needs a decision (nothing fits) or outside the resin window; 2 invalid input; 3 internal error",
}

_DESCRIPTIONS = {
    "decay": ("Y-90 decay (half-life 64.1 h): the activity after a time, or the time to reach an activity.",
              ["y90 decay '5 GBq' --elapsed '24 h'", "y90 decay '5 GBq' --from 2026-11-22T12:00-05:00 --to 2026-11-25T10:00-05:00",
               "y90 decay '10 GBq' --to-activity '3.8 GBq'"], "plain"),
    "plan": ("Plan a patient file: prescribed activity, every compartment's dose, every safety check, the glass vial to "
             "order and when to give it (inside clinic hours) or the resin volume to draw. Inputs written \"image\" are "
             "measured on the planning SPECT/CT of [imaging].",
             ["y90 plan dosimetry/examples/glass.toml", "y90 plan patient.toml --format json -o -",
              "y90 plan patient.toml --compare     # glass and resin, each to its own target"], "checks"),
    "session": ("Several territories (vessels) of one patient in one session, one patient file each: every territory's "
                "plan and checks, and the summed lung and whole-normal-liver doses against their limits.",
                ["y90 session right-lobe.toml segment-3.toml", "y90 session a.toml b.toml --format json -o -"], "checks"),
    "schedule": ("Glass: which vial to order, calibrated when, and the in-hours window in which it delivers the "
                 "prescription within the tolerance. Resin: the volume to draw at the administration time.",
                 ["y90 schedule glass --activity '2.7 GBq' --calibration 2026-11-29T12:00-05:00",
                  "y90 schedule glass --activity '3.8 GBq' --calibration 2026-11-22T12:00-05:00 --administration 2026-11-25T10:00-05:00",
                  "y90 schedule resin --activity '1.5 GBq' --calibration 2026-11-25T18:00-05:00 --administration 2026-11-25T10:00-05:00 --vial-activity '3.05 GBq'"],
                 "schedule"),
    "dose": ("Voxel dosimetry: absorbed-dose map from a SPECT/PET activity image (DICOM, NRRD or NIfTI), CT and a "
             "segmentation (RTSTRUCT, DICOM SEG, .seg.nrrd, label map), checked against the safety limits; writes the "
             "dose (RT Dose, NRRD or NIfTI), dvh.csv and regions.json.",
             ["y90 dose --activity-image spect/ --ct ct/ --segmentation rs.dcm --tumour 'Tumour 1' --administered '2.1 GBq' --device glass -o out/",
              "y90 dose --activity-image spect.nrrd --activity-unit counts --segmentation rois.seg.nrrd --tumour 'Tumour 1' --administered '2.1 GBq' -o out/"],
             "checks"),
    "dvh": ("Per-ROI dose figures (mean, D95, V100 ...) of an RT Dose file.",
            ["y90 dvh --dose rtdose.dcm --rtstruct rs.dcm", "y90 dvh --dose rtdose.dcm --rtstruct rs.dcm --format json -o -"], "plain"),
    "report": ("Per-patient report: report.pdf (page 1 to sign, DVH, dose on CT, audit trail), report.json, summary.txt, "
               "and the dose map and dvh.csv when the patient file has imaging.",
               ["y90 report patient.toml -o report/", "y90 report patient.toml -o report/ --units us   # activities also in mCi"], "checks"),
    "cohort": ("Every case of a study through the same job as y90 report: a manifest (CSV: a patient_file column, paths "
               "relative to the manifest, and optional columns overriding patient-file fields by dotted name) runs on a "
               "local Dask cluster (or --scheduler); OUT gets patients.csv and regions.csv (and Parquet twins) and one "
               "report folder per case. Running again into the same OUT resumes: finished cases are not recomputed.",
               ["y90 cohort study.csv -o study-out/", "y90 cohort study.csv -o study-out/ --workers 2",
                "y90 cohort study.csv -o study-out/ --scheduler tcp://10.0.0.5:8786"], "cohort"),
    "demo": ("Write a digital phantom patient (CT, Tc-99m MAA SPECT, RTSTRUCT), plan it from its images and write its "
             "full report, to see what y90 does.",
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


def _text_output(sp) -> None:
    """--format text|json and -o FILE|- [--force]: the output flags of every text-producing subcommand."""
    sp.add_argument("--format", choices=("text", "json"), default="text")
    sp.add_argument("-o", "--output", help="write to FILE instead of the terminal ('-': standard output; an existing FILE only with --force)")
    sp.add_argument("--force", action="store_true", help="replace an existing -o FILE (atomically)")


def build_parser() -> argparse.ArgumentParser:
    from .vocabulary import DeviceName

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
    _text_output(d)
    d.set_defaults(func=_cmd_decay)

    pl = _sub(sub, "plan", help="prescribed activity for the patient file's device and method")
    pl.add_argument("patient", help="patient TOML file (docs/patient-file.md)")
    pl.add_argument("--compare", action="store_true", help="plan with glass and with resin side by side")
    _uncertainty_flags(pl)
    _text_output(pl)
    pl.set_defaults(func=_cmd_plan)

    se = _sub(sub, "session", help="several territories of one patient in one session: one patient file per territory")
    se.add_argument("patients", nargs="+", help="two or more patient TOML files, one per territory (same patient)")
    _text_output(se)
    se.set_defaults(func=_cmd_session)

    sc = _sub(sub, "schedule", help="glass vial and time, or resin volume to draw")
    sc.add_argument("device", choices=tuple(DeviceName))
    sc.add_argument("--activity", required=True, type=_command_range("prescribed_activity"), help="prescribed activity at administration, e.g. '3.8 GBq'")
    sc.add_argument("--calibration", help="vial calibration date-time with UTC offset")
    sc.add_argument("--administration", help="administration date-time with UTC offset")
    sc.add_argument("--earliest", help=argparse.SUPPRESS)
    sc.add_argument("--latest", help=argparse.SUPPRESS)
    sc.add_argument("--clinic-hours", help="local opening hours, default 07:00-18:00 (glass and resin: an administration outside them needs a decision)")
    sc.add_argument("--clinic-days", help="administration days, default mon,tue,wed,thu,fri (3-letter or full day names)")
    sc.add_argument("--tolerance", help="glass: accepted delivered-activity difference, default 0.10 (+-10 %%)")
    sc.add_argument("--custom-doses", action="store_true", help="glass: allow custom doses (0.5 GBq steps; verify with the manufacturer)")
    sc.add_argument("--vial-activity", type=_command_range("resin_vial_activity"), help="resin: vial activity at calibration (default 3 GBq)")
    sc.add_argument("--vial-volume", type=_command_range("vial_volume"), help="resin: vial volume (default 5 mL)")
    _text_output(sc)
    sc.set_defaults(func=_cmd_schedule)

    ds = _sub(sub, "dose", help="absorbed-dose map from an activity image, CT and segmentation")
    ds.add_argument("--activity-image", required=True, help="NM or PT DICOM folder, or an NRRD (.nrrd, .nhdr) / NIfTI (.nii, .nii.gz) file with --activity-unit")
    ds.add_argument("--ct", help="CT: DICOM folder, NRRD or NIfTI in HU (density from HU; without it 1.03 g/mL everywhere)")
    ds.add_argument("--segmentation", "--rtstruct", dest="segmentation", required=True,
                    help="RT Structure Set, DICOM SEG, Slicer .seg.nrrd, or a label map (NRRD / NIfTI, with --labels); ROI names are the segment names")
    ds.add_argument("--labels", help="name table of a label map: 'value name [r g b a]' lines (Slicer colour table) or a JSON object")
    ds.add_argument("--activity-unit", help="unit of an NRRD / NIfTI activity image: counts, Bq/mL, kBq/mL or MBq/mL (never guessed)")
    ds.add_argument("--activity-time", help="time the values of an activity image in Bq/mL refer to: 'administration' or a date-time with UTC offset")
    ds.add_argument("--administration-time", help="administration date-time with UTC offset (decay correction of --activity-time)")
    ds.add_argument("--dose-format", choices=("dicom", "nrrd", "nifti"), help="dose map as RT Dose (default for DICOM inputs), NRRD or NIfTI (default: the activity image's format)")
    ds.add_argument("--administered", type=_checked("imaging.administered"), help="administered activity, e.g. '2.1 GBq' (relative calibration)")
    ds.add_argument("--method", choices=("ldm", "kernel"), default="kernel", help="local deposition or kernel convolution (default)")
    ds.add_argument("--density-method", choices=("ct_curve", "liver_nominal"), default="ct_curve",
                    help="CT curve everywhere (default) or 1.03 g/mL inside the liver and tumour ROIs")
    ds.add_argument("--lung-method", choices=("density_divided", "density_scaled"), default="density_divided",
                    help="lung kernel: soft-tissue kernel divided by density (default) or range-scaled to the lung density")
    ds.add_argument("--calibration", choices=("relative", "absolute"), default="relative")
    ds.add_argument("--liver", action="append", help="liver ROI name (default 'Liver'); repeat to join its parts (label map: parenchyma and tumours)")
    ds.add_argument("--tumour", action="append", help="tumour ROI name (repeat for several)")
    ds.add_argument("--lung", action="append", help="lung ROI name (repeat for several; leave out when the image's field of view misses the lungs)")
    ds.add_argument("--perfused", help="perfused-territory ROI name (lobar or segmental treatment, tumours included): tumour-to-normal ratios and the "
                    "normal-liver dose refer to it minus the tumours; the whole liver's figures are kept apart")
    ds.add_argument("--residual-fraction", default=0.0, type=_residual_fraction, help="activity left in vial and tubing, e.g. 0.02 or '2 %%' (at most 50 %%)")
    ds.add_argument("--device", choices=tuple(DeviceName), help="device whose safety limits apply (default: both devices' limits, the stricter binds)")
    ds.add_argument("--prior-lung-dose", default="0 Gy", help="lung dose of earlier treatments, for the cumulative lung limit (default 0 Gy; as lung.prior_dose)")
    ds.add_argument("--indication", help="clinical.indication: hcc, icc, colorectal, neuroendocrine or other (tumour thresholds)")
    ds.add_argument("--extent", help="clinical.extent: whole_liver, bilobar, lobar or segmental")
    ds.add_argument("--bilirubin", help="clinical.bilirubin: serum total bilirubin, e.g. '1.5 mg/dL' or '26 umol/L'")
    ds.add_argument("--compromised-liver", action=argparse.BooleanOptionalAction, default=None,
                    help="clinical.compromised_liver: pretreated or compromised liver (--no-compromised-liver: not)")
    ds.add_argument("--allow-mismatch", action="store_true", help="accept series of different patient / study / frame of reference")
    ds.add_argument("-o", "--output", required=True, help="output folder (created; must not exist or be empty)")
    ds.set_defaults(func=_cmd_dose)

    dv = _sub(sub, "dvh", help="per-ROI dose figures of a dose map (RT Dose, NRRD or NIfTI)")
    dv.add_argument("--dose", required=True, help="dose map written by y90 dose: RT Dose (rtdose.dcm), NRRD (dose.nrrd) or NIfTI (dose.nii.gz)")
    dv.add_argument("--segmentation", "--rtstruct", dest="segmentation", required=True,
                    help="RT Structure Set, DICOM SEG, Slicer .seg.nrrd, or a label map (NRRD / NIfTI, with --labels)")
    dv.add_argument("--labels", help="name table of a label map: 'value name [r g b a]' lines (Slicer colour table) or a JSON object")
    dv.add_argument("--dose-unit", help="unit of an NRRD / NIfTI dose map that does not state it: Gy, cGy or mGy (y90 dose writes Gy and says so)")
    dv.add_argument("--roi", action="append", help="ROI name (repeat; default every ROI on the dose grid)")
    dv.add_argument("--allow-mismatch", action="store_true", help="accept a segmentation of another patient / study / frame of reference")
    _text_output(dv)
    dv.set_defaults(func=_cmd_dvh)

    rp = _sub(sub, "report", help="per-patient report: PDF, JSON, text (+ RT Dose and DVH with imaging)")
    rp.add_argument("patient", help="patient TOML file")
    rp.add_argument("-o", "--output", required=True, help="output folder (created; must not exist or be empty)")
    rp.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on page 1")
    _uncertainty_flags(rp)
    rp.set_defaults(func=_cmd_report)

    co = _sub(sub, "cohort", help="every case of a manifest (CSV of patient files) on a Dask cluster: tables and reports")
    co.add_argument("manifest", help="CSV with a patient_file column (docs/cohort.md)")
    co.add_argument("-o", "--output", required=True, help="output folder (new, empty, or that of an earlier run to resume)")
    where = co.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, help="local Dask worker processes (default: the number of cores; 0: no Dask, in this process)")
    where.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786 (its workers must reach the files)")
    co.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on each report's page 1")
    co.set_defaults(func=_cmd_cohort)

    dm = _sub(sub, "demo", help="write a phantom patient and its report (the README's first command)")
    dm.add_argument("-o", "--output", help="demo folder to create (default: ./y90-demo, ./y90-demo-2, ...)")
    dm.add_argument("--seed", type=_seed, default=0, help="phantom seed (default 0)")
    dm.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on page 1")
    dm.set_defaults(func=_cmd_demo)
    return p


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup (staged folders, temporary files) runs."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _shown(path) -> str:
    from .io.files import display_path

    return display_path(path)


def _one_line(text: str, limit: int = 500) -> str:
    """Messages from decoders can span lines: the CLI contract is one line on stderr."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def main(argv=None) -> int:
    """Entry point of the ``y90`` command; returns the exit status."""
    import signal
    import threading

    argv = sys.argv[1:] if argv is None else list(argv)
    if hasattr(sys.stdout, "reconfigure"):  # a file name that is not UTF-8, quoted in a summary, is printed with escapes
        sys.stdout.reconfigure(errors="backslashreplace")
    verbose = "--verbose" in argv or "-v" in argv
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    with warnings.catch_warnings():
        if not verbose:
            # Library warnings (pydicom on odd headers, numpy) would print several lines on stderr;
            # the readers check every value they use and return their own notes, which the
            # commands print. --verbose shows them.
            warnings.simplefilter("ignore")
        return _run(argv, verbose, previous)


def _run(argv, verbose: bool, previous) -> int:
    import signal

    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            build_parser().print_help()
            return EXIT_INVALID
        _check_output(args)
        return args.func(args)
    except InputError as exc:
        print(f"y90: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except _Terminated:
        print("y90: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("y90: interrupted", file=sys.stderr)
        return 130
    except RecursionError as exc:  # pathological nesting in an input that a reader did not catch
        print(f"y90: error: input nested too deeply to be read ({_one_line(exc, 200)})", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # the system refused a read or a write: disk full, permissions, I/O error
        where = f": {_one_line(_shown(exc.filename), 200)}" if getattr(exc, "filename", None) else ""
        print(f"y90: error: {exc.strerror or type(exc).__name__}{where}", file=sys.stderr)
        return EXIT_INVALID
    except MemoryError:
        print("y90: error: not enough memory for this input (a larger image than this machine can hold?)", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # a bug, not a user error: still one line unless --verbose
        if verbose:
            traceback.print_exc()
        print(f"y90: internal error: {type(exc).__name__}: {_one_line(exc, 300)} (run with --verbose for details; please report it)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
