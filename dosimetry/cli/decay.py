"""``y90 decay``: the Y-90 activity after a time, or the time to reach an activity."""

from __future__ import annotations

from ..errors import InputError
from .flags import subcommand, text_output
from .output import EXIT_OK, emit, json_doc


def add_parser(sub) -> None:
    d = subcommand(
        sub, "decay", help="Y-90 decay: activity after a time, or time to reach an activity",
        description="Y-90 decay (half-life 64.1 h): the activity after a time, or the time to reach an activity.",
        examples=["y90 decay '5 GBq' --elapsed '24 h'", "y90 decay '5 GBq' --from 2026-11-22T12:00-05:00 --to 2026-11-25T10:00-05:00",
                  "y90 decay '10 GBq' --to-activity '3.8 GBq'"],
        codes="plain",
    )
    d.add_argument("activity", help="activity at the reference time, e.g. '3 GBq' or '81 mCi'")
    d.add_argument("--elapsed", help="time since the reference, e.g. '24 h' (negative: before)")
    d.add_argument("--from", dest="start", help="reference date-time with UTC offset, e.g. 2026-11-22T12:00:00-05:00")
    d.add_argument("--to", dest="end", help="later date-time with UTC offset")
    d.add_argument("--to-activity", help="activity to reach: prints the time it takes")
    d.add_argument("--half-life", default=None, help="override the Y-90 half-life (default 64.1 h)")
    text_output(d)
    d.set_defaults(func=run)


def _quantity(value, key: str, name: str):
    """A quantity within the plausible range of the decay command (io.patient.COMMAND_RANGES)."""
    from ..io.patient import COMMAND_RANGES, plausible_quantity

    return plausible_quantity(value, COMMAND_RANGES[key], name)


def run(args) -> int:
    from ..units import to_json

    half_life = _quantity(args.half_life, "half_life", "--half-life") if args.half_life is not None else None
    a0 = _quantity(args.activity, "activity", "activity")
    unit = _typed_unit(args.activity, a0)
    if args.to_activity is not None:
        result, text = _time_to(args, a0, half_life, unit)
    else:
        result, text = _activity_after(args, a0, half_life, unit)
    if half_life is not None:
        result["half_life"] = to_json(half_life)
    _in_input_unit(unit, result)
    emit(json_doc(result) if args.format == "json" else text, args.output, force=args.force)
    return EXIT_OK


def _typed_unit(typed, q):
    """The unit an activity was typed in (``"81 mCi"`` -> mCi); a Quantity's own unit."""
    from ..units import parse_quantity_text

    return parse_quantity_text(str(typed), "activity").units if isinstance(typed, str) else q.units


def _shown(q, unit) -> str:
    """An activity in the unit typed, with GBq beside it when that is another unit: '62.48 mCi (2.312 GBq)'."""
    from ..units import unit_string

    gbq = f"{q.to('GBq').magnitude:.4g} GBq"
    typed = q.to(unit)
    return gbq if unit_string(typed) == "GBq" else f"{typed.magnitude:.4g} {unit_string(typed)} ({gbq})"


def _in_input_unit(unit, result: dict) -> None:
    """Issue 21: ``y90 decay "81 mCi"`` answers in the unit typed too (JSON ``in_input_unit``)."""
    from ..units import Q_, unit_string

    if unit_string(Q_(1, unit)) == "GBq":
        return
    shown = {k: Q_(v["value"], v["unit"]).to(unit) for k, v in result.items() if isinstance(v, dict) and v.get("unit") == "GBq"}
    result["in_input_unit"] = {k: {"value": float(q.magnitude), "unit": unit_string(q)} for k, q in shown.items()}


def _time_to(args, a0, half_life, unit) -> tuple[dict, str]:
    """``--to-activity``: the time ``a0`` takes to decay to it."""
    from ..decay import time_to_activity
    from ..units import to_json

    if args.elapsed is not None or args.start or args.end:
        raise InputError("--to-activity", "give either --to-activity or a time (--elapsed, --from/--to), not both")
    target = _quantity(args.to_activity, "activity", "--to-activity")
    if not target.magnitude > 0:
        raise InputError("--to-activity", "must be > 0 (Y-90 never decays to zero)", allowed="(0, 1000] GBq")
    t = time_to_activity(a0, target, half_life)
    _quantity(t, "elapsed", "--to-activity")
    result = {"activity": to_json(a0), "target_activity": to_json(target), "elapsed": to_json(t)}
    shown = _shown(target, _typed_unit(args.to_activity, target))
    return result, f"{_shown(a0, unit)} decays to {shown} after {t.to('h'):.2f~P} ({t.to('day'):.3f~P})"


def _activity_after(args, a0, half_life, unit) -> tuple[dict, str]:
    """``--elapsed`` or ``--from``/``--to``: the activity of ``a0`` after that time."""
    from ..decay import activity_at, decay_factor, elapsed_between
    from ..io.patient import parse_datetime
    from ..units import to_json

    if args.elapsed is not None and (args.start or args.end):
        raise InputError("--elapsed", "give --elapsed or --from/--to, not both")
    if args.elapsed is not None:
        t = _quantity(args.elapsed, "elapsed", "--elapsed")
    elif args.start and args.end:
        t = elapsed_between(parse_datetime(args.start, "--from"), parse_datetime(args.end, "--to"), "time")
        _quantity(t, "elapsed", "--to")
    else:
        raise InputError("--elapsed", "missing; give --elapsed '24 h', or --from and --to date-times, or --to-activity")
    f = decay_factor(t, half_life)
    a1 = activity_at(a0, t, half_life)
    result = {"activity": to_json(a0), "elapsed": to_json(t), "decay_factor": float(f), "activity_at": to_json(a1)}
    return result, f"{_shown(a0, unit)} after {t.to('h'):.2f~P}: {_shown(a1, unit)} (decay factor {f:.5g})"
