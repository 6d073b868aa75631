"""Vial choice and administration time: decay from calibration to treatment.

Glass (TheraSphere): a whole vial of a standard size (activity stated at calibration) is
administered, so the question is which vial and when: vial V decays to the prescribed activity A
after t* = T1/2 log2(V / A) (decay law, MIRD primer), which must fall within the product's usable
window after calibration and the clinic's window [earliest, latest]. The activity needed at
calibration for an administration time t is A / exp(-ln 2 t / T1/2).

Resin (SIR-Spheres): the prescribed activity is drawn from a stock vial of activity A_cal at
calibration in volume V_vial: volume = A / (A_cal exp(-ln 2 t / T1/2) / V_vial).

All times are timezone-aware :class:`datetime.datetime` (a naive time is refused).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import pint

from .decay import decay_factor, elapsed_between, time_to_activity
from .devices import GLASS, RESIN, sphere_count
from .errors import InputError
from .units import Q_, quantity, to_json

__all__ = [
    "GlassVialChoice",
    "ResinDraw",
    "glass_activity_at",
    "glass_calibration_activity",
    "choose_glass_vial",
    "resin_draw",
]


def _iso(t: _dt.datetime) -> str:
    return t.isoformat()


def _after(t: _dt.datetime, hours: float) -> _dt.datetime:
    """``t`` plus elapsed ``hours``, added in UTC (a daylight-saving change is elapsed time too), in ``t``'s zone."""
    return (t.astimezone(_dt.timezone.utc) + _dt.timedelta(hours=float(hours))).astimezone(t.tzinfo)


def _aware(t: _dt.datetime, field: str) -> None:
    """Refuse a naive datetime (no UTC offset), naming ``field``."""
    if not isinstance(t, _dt.datetime):
        raise InputError(field, f"expected a date-time with UTC offset, got {t!r}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise InputError(field, f"{t.isoformat()} has no UTC offset; write e.g. 2026-11-25T10:00:00-05:00")


@dataclass(frozen=True)
class GlassVialChoice:
    """A glass vial and the administration time at which it holds the prescribed activity.

    Parameters
    ----------
    vial : pint.Quantity
        Nominal vial activity at calibration [GBq].
    calibration_time, administration_time : datetime.datetime
        Timezone-aware.
    elapsed_since_calibration : pint.Quantity
        [h].
    activity_at_administration : pint.Quantity
        Vial activity at the administration time [GBq] (equals the prescription).
    prescribed_activity : pint.Quantity
        [GBq].
    sphere_count : float
        Spheres in the vial.
    alternatives : tuple of (pint.Quantity, datetime.datetime)
        Every vial that fits the window, with its administration time.
    """

    vial: pint.Quantity
    calibration_time: _dt.datetime
    administration_time: _dt.datetime
    elapsed_since_calibration: pint.Quantity
    activity_at_administration: pint.Quantity
    prescribed_activity: pint.Quantity
    sphere_count: float
    alternatives: tuple = ()

    def to_json(self) -> dict:
        """JSON contract: quantities as {"value", "unit"}, times as ISO 8601 with offset."""
        return {
            "device": "glass",
            "vial": to_json(self.vial),
            "calibration_time": _iso(self.calibration_time),
            "administration_time": _iso(self.administration_time),
            "elapsed_since_calibration": to_json(self.elapsed_since_calibration),
            "activity_at_administration": to_json(self.activity_at_administration),
            "prescribed_activity": to_json(self.prescribed_activity),
            "sphere_count": self.sphere_count,
            "alternatives": [{"vial": to_json(v), "administration_time": _iso(t)} for v, t in self.alternatives],
        }


@dataclass(frozen=True)
class ResinDraw:
    """Volume to draw from a resin stock vial.

    Parameters
    ----------
    volume : pint.Quantity
        Volume to draw [mL].
    vial_activity : pint.Quantity
        Vial activity at calibration [GBq].
    vial_volume : pint.Quantity
        [mL].
    calibration_time, administration_time : datetime.datetime
        Timezone-aware.
    elapsed_since_calibration : pint.Quantity
        [h]; negative before calibration.
    activity_at_administration : pint.Quantity
        Whole-vial activity at the administration time [GBq].
    concentration : pint.Quantity
        [GBq/mL] at the administration time.
    prescribed_activity : pint.Quantity
        [GBq].
    sphere_count : float
        Spheres drawn.
    warnings : tuple of str
        E.g. administration outside the product's usable window.
    """

    volume: pint.Quantity
    vial_activity: pint.Quantity
    vial_volume: pint.Quantity
    calibration_time: _dt.datetime
    administration_time: _dt.datetime
    elapsed_since_calibration: pint.Quantity
    activity_at_administration: pint.Quantity
    concentration: pint.Quantity
    prescribed_activity: pint.Quantity
    sphere_count: float
    warnings: tuple = ()

    def to_json(self) -> dict:
        """JSON contract: quantities as {"value", "unit"}, times as ISO 8601 with offset."""
        return {
            "device": "resin",
            "volume": to_json(self.volume),
            "vial": to_json(self.vial_activity),
            "vial_volume": to_json(self.vial_volume),
            "calibration_time": _iso(self.calibration_time),
            "administration_time": _iso(self.administration_time),
            "elapsed_since_calibration": to_json(self.elapsed_since_calibration),
            "activity_at_administration": to_json(self.activity_at_administration),
            "concentration": to_json(self.concentration),
            "prescribed_activity": to_json(self.prescribed_activity),
            "sphere_count": self.sphere_count,
            "warnings": list(self.warnings),
        }


def glass_activity_at(vial, calibration_time: _dt.datetime, administration_time: _dt.datetime) -> pint.Quantity:
    """Activity of a glass vial at the administration time [GBq].

    Parameters
    ----------
    vial : pint.Quantity or str
        Vial activity at calibration [activity], > 0.
    calibration_time, administration_time : datetime.datetime
        Timezone-aware.
    """
    v = quantity(vial, "GBq", "vial.activity", minimum=0, include_minimum=False)
    t = elapsed_between(calibration_time, administration_time, "treatment.administration")
    return v * decay_factor(t)


def glass_calibration_activity(prescribed, calibration_time: _dt.datetime, administration_time: _dt.datetime) -> pint.Quantity:
    """Activity needed at calibration to hold ``prescribed`` at the administration time [GBq].

    A_cal = A / exp(-ln 2 t / T1/2), t = administration - calibration.

    Raises
    ------
    InputError
        Administration outside the glass usable window (``treatment.administration``).
    """
    a = quantity(prescribed, "GBq", "prescribed_activity", minimum=0, include_minimum=False)
    t = elapsed_between(calibration_time, administration_time, "treatment.administration")
    _check_window(t, GLASS)
    return (a / decay_factor(t)).to("GBq")


def _check_window(t: pint.Quantity, dev) -> None:
    lo, hi = dev.usable_from.to("h").magnitude, dev.usable_until.to("h").magnitude
    if not (lo - 1e-9 <= t.to("h").magnitude <= hi + 1e-9):
        raise InputError(
            "treatment.administration",
            f"{t.to('h').magnitude:.1f} h after calibration is outside the {dev.product} usable window "
            f"[{lo:g} h, {hi:g} h] ({dev.sources.get('usable_until', dev.sources.get('usable_window', ''))})",
        )


def choose_glass_vial(
    prescribed,
    calibration_time: _dt.datetime,
    earliest: _dt.datetime | None = None,
    latest: _dt.datetime | None = None,
    *,
    vials=None,
) -> GlassVialChoice:
    """The smallest glass vial that decays to ``prescribed`` within the allowed window.

    The window is the product's usable window after calibration (0 to 12 days for TheraSphere)
    intersected with [earliest, latest]. Vial V holds the prescribed activity A at
    t* = T1/2 log2(V / A) after calibration; the smallest V whose t* falls in the window is
    chosen (the earliest administration and the fewest spheres); the others are listed as
    alternatives.

    Parameters
    ----------
    prescribed : pint.Quantity or str
        Prescribed activity at administration [activity], > 0.
    calibration_time : datetime.datetime
        Calibration time of the vials, timezone-aware.
    earliest, latest : datetime.datetime, optional
        The clinic's window, timezone-aware; default the product window.
    vials : sequence of pint.Quantity, optional
        Vial sizes at calibration; default the TheraSphere sizes 3-20 GBq.

    Raises
    ------
    InputError
        No vial fits (``treatment.administration``), naive datetimes, bad activity.
    """
    a = quantity(prescribed, "GBq", "prescribed_activity", minimum=0, include_minimum=False)
    _aware(calibration_time, "treatment.calibration")
    sizes = GLASS.vial_activities if vials is None else tuple(quantity(v, "GBq", "vial.activity", minimum=0, include_minimum=False) for v in vials)
    lo = GLASS.usable_from.to("h").magnitude
    hi = GLASS.usable_until.to("h").magnitude
    if earliest is not None:
        lo = max(lo, elapsed_between(calibration_time, earliest, "treatment.earliest").magnitude)
    if latest is not None:
        hi = min(hi, elapsed_between(calibration_time, latest, "treatment.latest").magnitude)
    if hi < lo:
        raise InputError("treatment.latest", "the administration window is empty (latest before earliest, or outside the product window)")
    fits = []
    for v in sorted(sizes, key=lambda q: q.magnitude):
        t_star = time_to_activity(v, a).to("h").magnitude
        if lo - 1e-9 <= t_star <= hi + 1e-9:
            fits.append((v, t_star))
    if not fits:
        raise InputError(
            "treatment.administration",
            f"no vial ({', '.join(f'{v.magnitude:g}' for v in sizes)} GBq at calibration) holds {a.magnitude:.4g} GBq "
            f"between {lo:.1f} h and {hi:.1f} h after calibration",
        )
    v, t_star = fits[0]
    when = _after(calibration_time, t_star)
    alts = tuple((vv, _after(calibration_time, tt)) for vv, tt in fits)
    act = (v * decay_factor(Q_(t_star, "h"))).to("GBq")
    return GlassVialChoice(
        vial=v,
        calibration_time=calibration_time,
        administration_time=when,
        elapsed_since_calibration=Q_(t_star, "h"),
        activity_at_administration=act,
        prescribed_activity=a,
        sphere_count=float(sphere_count(GLASS, act, Q_(t_star, "h"))),
        alternatives=alts,
    )


def resin_draw(
    prescribed,
    calibration_time: _dt.datetime,
    administration_time: _dt.datetime,
    vial_activity=None,
    vial_volume=None,
) -> ResinDraw:
    """Volume to draw from a resin vial to hold ``prescribed`` at the administration time.

    volume = A / (A_cal exp(-ln 2 t / T1/2) / V_vial).

    Parameters
    ----------
    prescribed : pint.Quantity or str
        Prescribed activity [activity], > 0.
    calibration_time, administration_time : datetime.datetime
        Timezone-aware.
    vial_activity : pint.Quantity or str, optional
        Vial activity at calibration [activity]; default 3 GBq (SIR-Spheres). Use the measured
        or labelled value: the nominal is +-10 %.
    vial_volume : pint.Quantity or str, optional
        [volume]; default 5 mL (SIR-Spheres).

    Raises
    ------
    InputError
        The vial holds less than the prescription at that time (``vial.activity``), naive
        datetimes, bad quantities.
    """
    a = quantity(prescribed, "GBq", "prescribed_activity", minimum=0, include_minimum=False)
    va = RESIN.vial_activities[0] if vial_activity is None else quantity(vial_activity, "GBq", "vial.activity", minimum=0, include_minimum=False)
    vv = RESIN.vial_volume if vial_volume is None else quantity(vial_volume, "mL", "vial.volume", minimum=0, include_minimum=False)
    t = elapsed_between(calibration_time, administration_time, "treatment.administration")
    now = (va * decay_factor(t)).to("GBq")
    if a.magnitude > now.magnitude * (1 + 1e-12):
        raise InputError(
            "vial.activity",
            f"the vial holds {now.magnitude:.4g} GBq at administration ({t.magnitude:.1f} h after calibration), less than the {a.magnitude:.4g} GBq prescribed",
        )
    conc = (now / vv).to("GBq/mL")
    vol = (a / conc).to("mL")
    warn = []
    lo, hi = RESIN.usable_from.to("h").magnitude, RESIN.usable_until.to("h").magnitude
    if not (lo <= t.magnitude <= hi):
        warn.append(f"administration {t.magnitude:.1f} h from calibration is outside the usable window [{lo:g} h, {hi:g} h] ({RESIN.sources['usable_window']})")
    if vol.magnitude < 0.1:
        warn.append(f"volume to draw {vol.magnitude:.3f} mL is very small; measure the drawn activity in the dose calibrator")
    return ResinDraw(
        volume=vol,
        vial_activity=va,
        vial_volume=vv,
        calibration_time=calibration_time,
        administration_time=administration_time,
        elapsed_since_calibration=t,
        activity_at_administration=now,
        concentration=conc,
        prescribed_activity=a,
        sphere_count=float(sphere_count(RESIN, a, t)),
        warnings=tuple(warn),
    )
