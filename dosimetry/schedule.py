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
from dataclasses import dataclass, replace

import numpy as np
import pint

from .decay import decay_factor, elapsed_between, time_to_activity
from .devices import GLASS, RESIN, sphere_count
from .errors import InputError, OutOfRangeError
from .isotope import Y90
from .units import Q_, quantity, to_json

__all__ = [
    "ClinicHours",
    "UTC_OFFSETS",
    "check_utc_offset",
    "DEFAULT_DELIVERY_TOLERANCE",
    "VialOption",
    "GlassOrder",
    "glass_order",
    "calibration_times",
    "GlassVialChoice",
    "ResinDraw",
    "glass_activity_at",
    "glass_calibration_activity",
    "choose_glass_vial",
    "resin_draw",
]


def _iso(t: _dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def _after(t: _dt.datetime, hours: float) -> _dt.datetime:
    """``t`` plus elapsed ``hours``, added in UTC (a daylight-saving change is elapsed time too), in ``t``'s zone."""
    return (t.astimezone(_dt.timezone.utc) + _dt.timedelta(hours=float(hours))).astimezone(t.tzinfo)


def _aware(t: _dt.datetime, field: str) -> None:
    """Refuse a naive datetime (no UTC offset) or an offset outside :data:`UTC_OFFSETS`, naming ``field``."""
    if not isinstance(t, _dt.datetime):
        raise InputError(field, f"expected a date-time with UTC offset, got {t!r}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise InputError(field, f"{t.isoformat()} has no UTC offset; write e.g. 2026-11-25T10:00:00-05:00")
    check_utc_offset(t.utcoffset(), field)


#: The UTC offsets in civil use: UTC-12:00 (Baker Island) to UTC+14:00 (Line Islands), IANA tz
#: database. An offset outside is a typing slip (+23:59, -05:00 written as +50:00) that would move
#: an administration by a day.
UTC_OFFSETS = (_dt.timedelta(hours=-12), _dt.timedelta(hours=14))


def _offset_text(off: _dt.timedelta) -> str:
    minutes = int(off.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def check_utc_offset(offset: _dt.timedelta | None, field: str) -> None:
    """Refuse a UTC offset outside :data:`UTC_OFFSETS` (-12:00 to +14:00), naming ``field``."""
    if offset is not None and not UTC_OFFSETS[0] <= offset <= UTC_OFFSETS[1]:
        raise OutOfRangeError(field, f"UTC offset {_offset_text(offset)} is outside the offsets in use, -12:00 to +14:00", allowed="UTC-12:00 to UTC+14:00")


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
            "sphere_count": int(round(self.sphere_count)),
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

    Superseded for advice by :func:`glass_order` (clinic hours, tolerance, safety cap); kept for
    the library API: it gives the exact decay time, which may fall outside clinic hours.

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


# -- ordering a glass vial a clinic can follow ---------------------------------------------------

#: Relative difference between the delivered activity and the prescription accepted when a whole
#: glass vial is given (+-10 %). A clinic's convention, not a published limit: configurable
#: (``[clinic] delivery_tolerance``); every safety limit is still checked at the delivered activity.
DEFAULT_DELIVERY_TOLERANCE = 0.10

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ClinicHours:
    """When the clinic administers: weekdays and opening hours (default Mon-Fri 07:00-18:00 local).

    Opening and closing times are either both without a UTC offset, in the local time of the
    planned administration (or of the vial calibration when no administration is planned; a
    daylight-saving change between them is not modelled), or both with one and the same UTC offset
    (``07:00+01:00``): the clinic's own clock, to which every time is converted before it is
    compared. One time with an offset and one without is refused, as is an offset outside
    :data:`UTC_OFFSETS`.

    Parameters
    ----------
    days : tuple of str
        Lower-case day abbreviations, ``"mon"`` ... ``"sun"``.
    opens, closes : datetime.time
        Opening and closing times, ``opens < closes``.
    """

    days: tuple = ("mon", "tue", "wed", "thu", "fri")
    opens: _dt.time = _dt.time(7, 0)
    closes: _dt.time = _dt.time(18, 0)

    def __post_init__(self):
        bad = [d for d in self.days if d not in _DAYS]
        if bad or not self.days:
            raise InputError("clinic.days", f"expected a non-empty list of {', '.join(_DAYS)}; got {list(self.days)!r}")
        off_open, off_close = self.opens.utcoffset(), self.closes.utcoffset()
        if (off_open is None) != (off_close is None):
            raise InputError("clinic.hours", "give both opening and closing times with a UTC offset (e.g. 07:00+01:00-18:00+01:00) or neither (local time of the administration)")
        if off_open is not None and off_close is not None:  # both or neither (above)
            if off_open != off_close:
                raise InputError("clinic.hours", f"opening and closing times have different UTC offsets ({_offset_text(off_open)}, {_offset_text(off_close)}); one clinic has one clock")
            check_utc_offset(off_open, "clinic.hours")
        if not self._opens < self._closes:
            raise InputError("clinic.hours", f"opening {self.opens:%H:%M} must be before closing {self.closes:%H:%M}")

    @property
    def _opens(self) -> _dt.time:
        return self.opens.replace(tzinfo=None)

    @property
    def _closes(self) -> _dt.time:
        return self.closes.replace(tzinfo=None)

    @property
    def zone(self) -> _dt.tzinfo | None:
        """The clinic's clock when its hours carry a UTC offset, else None (local time of each administration)."""
        off = self.opens.utcoffset()
        return None if off is None else _dt.timezone(off)

    def describe(self) -> str:
        off = self.opens.utcoffset()  # None exactly when zone is None
        clock = "local" if off is None else f"UTC{_offset_text(off)}"
        return f"{', '.join(d.capitalize() for d in self.days)} {self.opens:%H:%M}-{self.closes:%H:%M} {clock}"

    def contains(self, t: _dt.datetime, tz) -> bool:
        """``t`` inside the clinic's days and hours, on the clinic's clock (or ``tz`` when its hours have no offset)."""
        local = t.astimezone(self.zone or tz)
        return _DAYS[local.weekday()] in self.days and self._opens <= local.time() <= self._closes

    def outside(self, planned: _dt.datetime) -> str | None:
        """Why ``planned`` needs a decision (outside the days or hours, on the clinic's clock or else the
        local time of its own UTC offset), or None inside clinic hours: the same rule for glass and resin."""
        if self.contains(planned, planned.tzinfo):
            return None
        return f"the planned administration {_hm(planned)} is outside clinic hours ({self.describe()})"

    def intervals(self, start: _dt.datetime, end: _dt.datetime, tz) -> list:
        """The in-hours parts of [start, end] (on the clinic's clock, else local time ``tz``), in order, in ``tz``."""
        clock = self.zone or tz
        out: list[tuple[_dt.datetime, _dt.datetime]] = []
        day = start.astimezone(clock).date()
        while True:
            o = _dt.datetime.combine(day, self._opens, clock)
            if o > end:
                return out
            c = _dt.datetime.combine(day, self._closes, clock)
            if _DAYS[day.weekday()] in self.days:
                a, b = max(o, start), min(c, end)
                if a <= b:
                    out.append((a.astimezone(tz), b.astimezone(tz)))
            day += _dt.timedelta(days=1)


@dataclass(frozen=True)
class VialOption:
    """A glass vial and an in-hours window in which it delivers the prescription within tolerance.

    Parameters
    ----------
    vial : pint.Quantity
        Activity at calibration [GBq].
    custom : bool
        A custom dose (not one of the standard sizes).
    calibration_time : datetime.datetime
    window_start, window_end : datetime.datetime
        In-hours administration window (delivered activity within tolerance and the safety cap).
    administration_time : datetime.datetime
        The time of the window at which the delivered activity is closest to the prescription.
    delivered : pint.Quantity
        Vial activity at ``administration_time`` [GBq].
    deviation : float
        delivered / prescribed - 1.
    """

    vial: pint.Quantity
    custom: bool
    calibration_time: _dt.datetime
    window_start: _dt.datetime
    window_end: _dt.datetime
    administration_time: _dt.datetime
    delivered: pint.Quantity
    deviation: float

    def describe(self) -> str:
        kind = "custom dose" if self.custom else "standard vial"
        dev = 0.0 if abs(self.deviation) < 5e-4 else self.deviation
        age = f"vial age {self.age.to('h').magnitude:.0f} h ({self.age.to('day').magnitude:.1f} d), {self.sphere_count / 1e6:.2g} million spheres"
        if self.window_start == self.window_end:
            return (
                f"order the {self.vial.to('GBq').magnitude:g} GBq {kind} calibrated {_hm(self.calibration_time)}; administer at "
                f"{_hm(self.administration_time)}: {self.delivered.to('GBq').magnitude:.3f} GBq, {dev:+.1%}; {age}"
            )
        return (
            f"order the {self.vial.to('GBq').magnitude:g} GBq {kind} calibrated {_hm(self.calibration_time)}; administer "
            f"{_hm(self.window_start)} to {_hm(self.window_end)} (best {_hm(self.administration_time)}: "
            f"{self.delivered.to('GBq').magnitude:.3f} GBq, {dev:+.1%}; {age})"
        )

    def to_json(self) -> dict:
        return {
            "vial": to_json(self.vial),
            "custom": self.custom,
            "calibration_time": _iso_s(self.calibration_time),
            "window_start": _iso_s(self.window_start),
            "window_end": _iso_s(self.window_end),
            "administration_time": _iso_s(self.administration_time),
            "vial_activity_at_administration": to_json(self.delivered),
            "deviation": round(self.deviation, 6),
            "vial_age": to_json(self.age),
            "sphere_count": self.sphere_count,
        }

    @property
    def age(self) -> pint.Quantity:
        """Time from the vial's calibration to the administration [h]."""
        return Q_((self.administration_time - self.calibration_time).total_seconds() / 3600.0, "h")

    @property
    def sphere_count(self) -> int:
        """Spheres in the vial: its activity at administration over the activity per sphere then
        (:func:`dosimetry.devices.sphere_count`)."""
        return int(round(float(sphere_count(GLASS, self.delivered, self.age))))


def _iso_s(t: _dt.datetime) -> str:
    """ISO 8601 to the second, with offset."""
    return t.isoformat(timespec="seconds")


def _hm(t: _dt.datetime) -> str:
    z = t.strftime("%z")
    return t.strftime("%a %Y-%m-%d %H:%M ") + z[:3] + ":" + z[3:]


@dataclass(frozen=True)
class GlassOrder:
    """Ordering advice for a glass (TheraSphere) vial.

    Parameters
    ----------
    prescribed : pint.Quantity
        Prescribed activity at administration [GBq].
    tolerance : float
        Accepted relative difference of the delivered activity.
    cap : pint.Quantity or None
        Largest safe activity of the plan [GBq]: no option delivers more.
    clinic : ClinicHours
    planned : datetime.datetime or None
        The planned administration time.
    choice : VialOption or None
        The advice; None when the plan needs a decision.
    options : tuple of VialOption
        What the clinic can choose from (in-hours windows of every vial), when a decision is needed.
    decision : str or None
        Why a decision is needed (None when ``choice`` is given).
    """

    prescribed: pint.Quantity
    tolerance: float
    cap: pint.Quantity | None
    clinic: ClinicHours
    planned: _dt.datetime | None
    choice: VialOption | None
    options: tuple = ()
    decision: str | None = None

    # the attributes the plan, the vial check and the report read, as for GlassVialChoice
    @property
    def vial(self):
        return None if self.choice is None else self.choice.vial

    @property
    def calibration_time(self):
        return None if self.choice is None else self.choice.calibration_time

    @property
    def administration_time(self):
        return None if self.choice is None else self.choice.administration_time

    @property
    def activity_at_administration(self):
        return None if self.choice is None else self.choice.delivered

    @property
    def elapsed_since_calibration(self):
        if self.choice is None:
            return None
        return Q_((self.choice.administration_time - self.choice.calibration_time).total_seconds() / 3600.0, "h")

    @property
    def sphere_count(self):
        if self.choice is None:
            return None
        return int(round(float(sphere_count(GLASS, self.choice.delivered, self.elapsed_since_calibration))))

    @property
    def warnings(self) -> tuple:
        return ()

    def advice(self) -> str:
        if self.choice is not None:
            return self.choice.describe()
        return f"needs a decision: {self.decision}"

    def to_json(self) -> dict:
        return {
            "device": "glass",
            "prescribed_activity": to_json(self.prescribed),
            "delivery_tolerance": self.tolerance,
            "largest_safe_activity": None if self.cap is None or not np.isfinite(self.cap.magnitude) else to_json(self.cap),
            "clinic_hours": self.clinic.describe(),
            "planned_administration": None if self.planned is None else _iso_s(self.planned),
            "needs_decision": self.choice is None,
            "decision": self.decision,
            "choice": None if self.choice is None else self.choice.to_json(),
            "vial": None if self.vial is None else to_json(self.vial),
            "sphere_count": self.sphere_count,
            "options": [o.to_json() for o in self.options],
        }


def _hours(cal: _dt.datetime, t: _dt.datetime) -> float:
    return (t - cal).total_seconds() / 3600.0


def _option(v: pint.Quantity, custom: bool, cal: _dt.datetime, a: float, lo_act: float, hi_act: float, clinic, tz, dev) -> list:
    """Every in-hours window in which vial ``v`` delivers between lo_act and hi_act [GBq]."""
    th = Y90.half_life.to("h").magnitude
    vm = v.to("GBq").magnitude
    if vm < lo_act:
        return []
    # decay law A(t) = V 2^(-t / T1/2): A(t) <= hi from t_from on, >= lo until t_to (MIRD primer)
    t_from = max(th * np.log2(vm / hi_act), 0.0, dev.usable_from.to("h").magnitude)
    t_to = min(th * np.log2(vm / lo_act), dev.usable_until.to("h").magnitude)
    if t_to < t_from:
        return []
    t_exact = th * np.log2(vm / a) if vm >= a else 0.0
    out = []
    for s, e in clinic.intervals(_after(cal, t_from), _after(cal, t_to), tz):
        best = min(max(t_exact, _hours(cal, s)), _hours(cal, e))
        delivered = vm * 2.0 ** (-best / th)
        out.append(VialOption(v, custom, cal, s, e, _after(cal, best).astimezone(tz), Q_(delivered, "GBq"), delivered / a - 1.0))
    return out


def _convention_zone(cat):
    """The catalogue's calibration time zone (a fixed UTC-05:00 if the zone database is missing)."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(cat.calibration_zone)
    except Exception:  # no tz database on this system
        return _dt.timezone(_dt.timedelta(hours=-5))


def calibration_times(planned: _dt.datetime) -> list:
    """Calibration times by the catalogue's convention (12:00 US Eastern on each day) from which a
    vial can be given at ``planned`` (0 to 12 days before it, the usable window), latest first."""
    from .devices import GLASS_CATALOGUE as cat

    zone = _convention_zone(cat)
    day = planned.astimezone(zone).date()
    out = []
    for n in range(0, int(GLASS.usable_until.to("day").magnitude) + 2):
        cal = _dt.datetime.combine(day - _dt.timedelta(days=n), cat.calibration_time_of_day, zone)
        t = _hours(cal, planned)
        if GLASS.usable_from.to("h").magnitude <= t <= GLASS.usable_until.to("h").magnitude:
            out.append(cal)
    return out


def glass_order(
    prescribed,
    calibration_time: _dt.datetime | None,
    *,
    planned: _dt.datetime | None = None,
    clinic: ClinicHours | None = None,
    tolerance: float = DEFAULT_DELIVERY_TOLERANCE,
    cap=None,
    custom: bool = False,
    ordered=None,
) -> GlassOrder:
    """Which glass vial to order, calibrated when, and when to administer it (inside clinic hours).

    A whole vial V calibrated at C delivers V 2^(-(t - C) / T1/2) at time t. The advice is a vial
    whose delivered activity is within ``tolerance`` of the prescription (and never above ``cap``,
    the plan's largest safe activity) at an in-hours time inside the product's usable window:

    - with a planned time: the standard vial closest to the prescription at that time; else a
      custom dose (when ``custom``), rounded to the custom-dose step;
    - without one: the earliest in-hours window that comes within half the tolerance of the
      prescription (else the earliest window).

    When nothing fits, ``choice`` is None, ``decision`` says why and ``options`` lists what the
    clinic can do instead: the plan needs a decision.

    Parameters
    ----------
    prescribed : pint.Quantity or str
        Prescribed activity at administration [activity], > 0.
    calibration_time : datetime.datetime or None
        Calibration time of the vial to order, timezone-aware; None: chosen among the calibration
        times of the catalogue's convention (:func:`calibration_times`), which needs ``planned``.
    planned : datetime.datetime, optional
        Planned administration time.
    clinic : ClinicHours, optional
        Default weekdays 07:00-18:00 local.
    tolerance : float
        Accepted |delivered / prescribed - 1|, in (0, 0.5]; default 0.10.
    cap : pint.Quantity or str, optional
        Largest safe activity [activity]: the delivered activity never exceeds it.
    custom : bool
        Whether custom doses may be ordered (``GLASS_CATALOGUE``).
    ordered : pint.Quantity or str, optional
        A vial already ordered [activity at calibration]: it is assessed instead of a choice.

    Raises
    ------
    InputError
        Bad activity, tolerance or times.
    """
    from .devices import GLASS_CATALOGUE

    if calibration_time is None:
        return _order_by_convention(prescribed, planned, clinic=clinic, tolerance=tolerance, cap=cap, custom=custom, ordered=ordered)
    a_q = quantity(prescribed, "GBq", "prescribed_activity", minimum=0, include_minimum=False)
    a = float(a_q.magnitude)
    _aware(calibration_time, "treatment.calibration")
    if planned is not None:
        _aware(planned, "treatment.administration")
    if not (0 < float(tolerance) <= 0.5):
        raise InputError("clinic.delivery_tolerance", f"expected a fraction in (0, 0.5], got {tolerance!r}")
    clinic = clinic or ClinicHours()
    tz = (planned or calibration_time).tzinfo
    lo_act, hi_act, cap_q = _delivery_band(a, tolerance, cap)
    base = dict(prescribed=a_q, tolerance=float(tolerance), cap=cap_q, clinic=clinic, planned=planned)
    if hi_act < lo_act:
        why = (f"the largest safe activity {hi_act:.3f} GBq is below the tolerance band "
               f"({lo_act:.3f} GBq = prescription -{tolerance:.0%}); lower the prescription")
        return GlassOrder(choice=None, decision=why, **base)
    sizes = GLASS_CATALOGUE.standard
    if ordered is not None:
        sizes = (quantity(ordered, "GBq", "treatment.vial", minimum=0, include_minimum=False),)
    windows = [w for v in sizes for w in _option(v, False, calibration_time, a, lo_act, hi_act, clinic, tz, GLASS)]
    if planned is None:
        if windows:
            # the earliest window that reaches within half the tolerance; else the earliest
            best = min(windows, key=lambda o: (abs(o.deviation) > tolerance / 2, o.window_start))
            return GlassOrder(choice=best, options=tuple(windows), **base)
        return GlassOrder(choice=None, decision=_no_window(sizes, lo_act, hi_act, clinic), **base)
    return _order_at_planned(a, sizes, windows, calibration_time, planned, clinic, tz, lo_act, hi_act, tolerance=tolerance, custom=custom, ordered=ordered, base=base)


def _delivery_band(a: float, tolerance: float, cap) -> tuple:
    """(lowest, highest delivered activity [GBq], cap): the prescription ``a`` [GBq] +- ``tolerance``,
    never above ``cap`` (the plan's largest safe activity)."""
    cap_q = None if cap is None else quantity(cap, "GBq", "largest safe activity", minimum=0)
    lo_act = a * (1 - tolerance)
    hi_act = a * (1 + tolerance)
    if cap_q is not None and np.isfinite(cap_q.magnitude):
        hi_act = min(hi_act, float(cap_q.magnitude))
    return lo_act, hi_act, cap_q


def _order_at_planned(a: float, sizes, windows, calibration_time, planned, clinic, tz, lo_act: float, hi_act: float, *, tolerance: float,
                      custom: bool, ordered, base: dict) -> GlassOrder:
    """:func:`glass_order` with a planned time: the standard vial closest to the prescription then, else
    a custom dose (when allowed), else no choice and why (``a`` and the band ``lo_act``-``hi_act`` in GBq)."""
    th = Y90.half_life.to("h").magnitude
    # a planned time: it must be in clinic hours and a vial must deliver within tolerance then
    t = _hours(calibration_time, planned)
    at_planned = [w for w in windows if w.window_start <= planned <= w.window_end]
    if not clinic.contains(planned, tz):
        why = clinic.outside(planned)
    elif at_planned:
        best = min(at_planned, key=lambda o: abs(o.vial.magnitude * 2.0 ** (-t / th) / a - 1))
        d = float(best.vial.to("GBq").magnitude) * 2.0 ** (-t / th)
        return GlassOrder(choice=replace(best, administration_time=planned, delivered=Q_(d, "GBq"), deviation=d / a - 1), options=tuple(windows), **base)
    elif not GLASS.usable_from.to("h").magnitude <= t <= GLASS.usable_until.to("h").magnitude:
        why = (f"the planned {_hm(planned)} is {t:.1f} h after the vial's calibration, outside the {GLASS.product} usable window "
               f"[{GLASS.usable_from.to('h').magnitude:g} h, {GLASS.usable_until.to('h').magnitude:g} h] after calibration: "
               "choose a calibration time before the administration")
    else:
        held = ", ".join(f"{v.to('GBq').magnitude:g} GBq -> {v.to('GBq').magnitude * 2.0 ** (-t / th):.3f} GBq ({v.to('GBq').magnitude * 2.0 ** (-t / th) / a - 1:+.1%})" for v in sizes)
        what = "the ordered vial" if ordered is not None else "no standard vial"
        why = (f"{what} delivers {a:.3f} GBq +-{tolerance:.0%}" + (f" (at most {hi_act:.3f} GBq, the largest safe activity)" if hi_act < a * (1 + tolerance) else "")
               + f" at the planned {_hm(planned)}: {held}")
    custom_opt = None
    if ordered is None:
        custom_opt = _custom(a, lo_act, hi_act, calibration_time, planned, clinic, tz)
        if custom and custom_opt is not None and clinic.contains(planned, tz):
            return GlassOrder(choice=custom_opt, options=tuple(windows), **base)
    options = tuple(windows) + ((custom_opt,) if custom_opt is not None and not custom else ())
    return GlassOrder(choice=None, options=options, decision=why, **base)


def _order_by_convention(prescribed, planned, **kw) -> GlassOrder:
    """The order for ``planned`` over every conventional calibration time: the smallest vial that
    delivers the prescription within the tolerance (the latest calibration of that size: the youngest
    vial); else the latest time's decision."""
    if planned is None:
        raise InputError("treatment.calibration", "give the vial calibration time, or the planned administration to choose one")
    _aware(planned, "treatment.administration")
    orders = [glass_order(prescribed, cal, planned=planned, **kw) for cal in calibration_times(planned)]
    chosen = [(o, o.choice) for o in orders if o.choice is not None]
    if chosen:
        # as a physicist orders (issue 21): the smallest vial that delivers within the tolerance, then
        # the youngest vial (fewest days of decay; min keeps the first, latest, calibration on a tie)
        return min(chosen, key=lambda oc: float(oc[1].vial.to("GBq").magnitude))[0]
    return orders[0]


def _no_window(sizes, lo_act, hi_act, clinic) -> str:
    names = ", ".join(f"{v.to('GBq').magnitude:g}" for v in sizes)
    return (f"no vial ({names} GBq) delivers between {lo_act:.3f} and {hi_act:.3f} GBq "
            f"inside clinic hours ({clinic.describe()}) and the product's usable window")


def _custom(a, lo_act, hi_act, cal, planned, clinic, tz) -> VialOption | None:
    """The custom dose, rounded to the catalogue step, that delivers the prescription at the planned time."""
    from .devices import GLASS_CATALOGUE

    cat = GLASS_CATALOGUE
    th = Y90.half_life.to("h").magnitude
    t = _hours(cal, planned)
    if not (GLASS.usable_from.to("h").magnitude <= t <= GLASS.usable_until.to("h").magnitude) or not clinic.contains(planned, tz):
        return None
    step = float(cat.custom_step.to("GBq").magnitude)
    need = a / 2.0 ** (-t / th)
    v = round(need / step) * step
    v = min(max(v, float(cat.custom_min.to("GBq").magnitude)), float(cat.custom_max.to("GBq").magnitude))
    d = v * 2.0 ** (-t / th)
    if not (lo_act <= d <= hi_act):
        return None
    return VialOption(Q_(v, "GBq"), True, cal, planned, planned, planned, Q_(d, "GBq"), d / a - 1)
