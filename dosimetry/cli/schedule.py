"""``y90 schedule``: the glass vial to order and when to give it, or the resin volume to draw."""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..vocabulary import DeviceName
from .flags import command_range, subcommand, text_output
from .output import EXIT_BLOCKED, EXIT_OK, emit, json_doc


def add_parser(sub) -> None:
    sc = subcommand(
        sub, "schedule", help="glass vial and time, or resin volume to draw",
        description="Glass: which vial to order, calibrated when, and the in-hours window in which it delivers the "
                    "prescription within the tolerance. Resin: the volume to draw at the administration time.",
        examples=["y90 schedule glass --activity '2.7 GBq' --calibration 2026-11-29T12:00-05:00",
                  "y90 schedule glass --activity '3.8 GBq' --calibration 2026-11-22T12:00-05:00 --administration 2026-11-25T10:00-05:00",
                  "y90 schedule resin --activity '1.5 GBq' --calibration 2026-11-25T18:00-05:00 --administration 2026-11-25T10:00-05:00 --vial-activity '3.05 GBq'"],
        codes="schedule",
    )
    sc.add_argument("device", choices=tuple(DeviceName))
    sc.add_argument("--activity", required=True, type=command_range("prescribed_activity"), help="prescribed activity at administration, e.g. '3.8 GBq'")
    sc.add_argument("--calibration", help="vial calibration date-time with UTC offset")
    sc.add_argument("--administration", help="administration date-time with UTC offset")
    sc.add_argument("--earliest", help=argparse.SUPPRESS)
    sc.add_argument("--latest", help=argparse.SUPPRESS)
    sc.add_argument("--clinic-hours", help="local opening hours, default 07:00-18:00 (glass and resin: an administration outside them needs a decision)")
    sc.add_argument("--clinic-days", help="administration days, default mon,tue,wed,thu,fri (3-letter or full day names)")
    sc.add_argument("--tolerance", help="glass: accepted delivered-activity difference, default 0.10 (+-10 %%)")
    sc.add_argument("--custom-doses", action="store_true", help="glass: allow custom doses (0.5 GBq steps; verify with the manufacturer)")
    sc.add_argument("--vial-activity", type=command_range("resin_vial_activity"), help="resin: vial activity at calibration (default 3 GBq)")
    sc.add_argument("--vial-volume", type=command_range("vial_volume"), help="resin: vial volume (default 5 mL)")
    text_output(sc)
    sc.set_defaults(func=run)


def run(args) -> int:
    from ..devices import device
    from ..io.patient import parse_datetime

    cal = parse_datetime(args.calibration, "--calibration") if args.calibration is not None else None
    adm = parse_datetime(args.administration, "--administration") if args.administration is not None else None
    if cal is None:
        raise InputError("--calibration", "missing; give the vial calibration date-time with UTC offset")
    if adm is not None:  # the patient file's rule and constant (io.patient.MAX_CALIBRATION_GAP)
        from ..io.patient import check_calibration_gap

        check_calibration_gap(adm, cal, "--administration", "--calibration")
    clinic = _clinic(args)
    if device(args.device).whole_vial:
        return _glass(args, cal, adm, clinic)
    return _resin(args, cal, adm, clinic)


def _glass(args, cal, adm, clinic) -> int:
    """The glass vial to order (catalogue), its calibration and the in-hours window."""
    from ..report.text import fmt, glass_order_rows
    from ..schedule import DEFAULT_DELIVERY_TOLERANCE, glass_order

    if args.vial_volume or args.vial_activity:
        raise InputError("--vial-activity", "glass vials are chosen from the catalogue; --vial-activity/--vial-volume are for resin")
    if args.earliest or args.latest:
        raise InputError("--earliest", "replaced by clinic hours: give --clinic-hours and --clinic-days, or --administration")
    tol = DEFAULT_DELIVERY_TOLERANCE if args.tolerance is None else _tolerance(args.tolerance)
    order = glass_order(args.activity, cal, planned=adm, clinic=clinic, tolerance=tol, custom=args.custom_doses)
    lines = [f"Glass: {fmt(order.prescribed)} prescribed; clinic hours {clinic.describe()}; tolerance +-{tol:.0%}"]
    lines += [f"  {k}: {v}" for k, v in glass_order_rows(order)]
    if order.choice is None:
        lines += [f"NEEDS A DECISION: {order.decision}"]
    others = [o for o in order.options if o != order.choice]
    lines += (["Options:" if order.choice is None else "Other options:"] + [f"  - {o.describe()}" for o in others]) if others else []
    emit(json_doc(order.to_json()) if args.format == "json" else "\n".join(lines), args.output, force=args.force)
    return EXIT_OK if order.choice is not None else EXIT_BLOCKED


def _resin(args, cal, adm, clinic) -> int:
    """The resin volume to draw at the administration, inside the usable window and clinic hours."""
    from ..devices import RESIN
    from ..report.text import fmt, when
    from ..schedule import resin_draw

    if adm is None:
        raise InputError("--administration", "missing; the resin volume to draw depends on the administration time")
    draw = resin_draw(args.activity, cal, adm, vial_activity=args.vial_activity, vial_volume=args.vial_volume)
    result = draw.to_json()
    text = (
        f"Resin: draw {fmt(draw.volume, 3)} from the vial ({fmt(draw.vial_activity)} in {fmt(draw.vial_volume)} at {when(cal)}; "
        f"{fmt(draw.concentration)} at {when(adm)}) for {fmt(draw.prescribed_activity)}; {draw.sphere_count / 1e6:.3g} million spheres."
    )
    text += "".join(f"\nWarning: {w}" for w in draw.warnings)
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
    emit(json_doc(result) if args.format == "json" else text, args.output, force=args.force)
    return EXIT_BLOCKED if outside or not in_hours else EXIT_OK


def _clinic(args):
    """The clinic hours of ``y90 schedule`` (default weekdays 07:00-18:00), errors naming the flags."""
    from ..schedule import ClinicHours

    try:
        return ClinicHours(**_clinic_args(args))
    except InputError as exc:
        raise exc.renamed({"clinic.hours": "--clinic-hours", "clinic.days": "--clinic-days"}.get(exc.field, exc.field)) from exc


def _clinic_args(args) -> dict:
    """--clinic-hours / --clinic-days read by the patient file's [clinic] parsers (io.patient)."""
    from ..io.patient import parse_clinic_days, parse_clinic_hours

    out: dict[str, object] = {}
    if args.clinic_hours is not None:
        out["opens"], out["closes"] = parse_clinic_hours(args.clinic_hours, "--clinic-hours")
    if args.clinic_days is not None:
        out["days"] = parse_clinic_days(args.clinic_days.split(",") if args.clinic_days.strip() else [], "--clinic-days")
    return out


def _tolerance(text: str) -> float:
    from ..units import fraction

    tol = float(fraction(text, "--tolerance", include_zero=False))
    if tol > 0.5:
        raise InputError("--tolerance", f"expected a fraction in (0, 0.5], e.g. 0.1 or '10 %'; got {text!r}")
    return tol
