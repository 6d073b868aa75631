"""Radioactive decay of Y-90 (or any nuclide): activity at a time, decay factors, cumulated activity.

All functions broadcast over numpy arrays inside Quantities. Times are pint Quantities; a negative
elapsed time means a time *before* the reference (decay backwards, e.g. from administration to
calibration). Formulae: A(t) = A0 exp(-lambda t), lambda = ln 2 / T1/2;
cumulated activity A~(t) = A0 (1 - exp(-lambda t)) / lambda (MIRD primer, Loevinger et al. 1991).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pint

from .errors import InputError, OutOfRangeError
from .isotope import Y90
from .ranges import COMMAND_RANGES, plausible_quantity
from .units import Q_, quantity

__all__ = [
    "decay_factor",
    "activity_at",
    "time_to_activity",
    "cumulated_activity",
    "fraction_delivered",
    "elapsed_between",
    "MAX_CALIBRATION_GAP",
    "check_time_gap",
]

#: Largest gap between a time and the reference its activity is decayed from (administration and
#: vial calibration; an activity image's reference time and the administration): 30 days, about 11
#: half-lives (activity factor 5e-4). The device windows (glass up to 12 days after calibration,
#: resin +-24 h) are checked by the schedule.
MAX_CALIBRATION_GAP = _dt.timedelta(days=30)


def check_time_gap(time: _dt.datetime, reference: _dt.datetime, field: str, reference_field: str, *, after_only: bool = False,
                   reference_name: str = "the vial calibration") -> None:
    """Refuse a ``time`` more than :data:`MAX_CALIBRATION_GAP` from ``reference`` (the one 30-day rule).

    ``after_only``: only a time after the reference is checked (an image's reference time after the
    administration); otherwise the gap either way (administration and vial calibration).
    """
    days = (time - reference).total_seconds() / 86400
    limit = MAX_CALIBRATION_GAP.days
    if after_only and days > limit:
        factor = 2.0 ** (days * 24.0 / Y90.half_life.to("h").magnitude)
        raise OutOfRangeError(field, f"is {days:.1f} days after {reference_name}; plausible within {limit} days "
                              f"(decay correction by a factor {factor:.3g} would magnify any error)", allowed=f"[0, {limit}] days after {reference_field}")
    if not after_only and abs(days) > limit:
        raise OutOfRangeError(field, f"{days:.1f} days from {reference_name}; plausible within +-{limit} days", allowed=f"+-{limit} days from {reference_field}")


def _half_life(half_life) -> pint.Quantity:
    """The half-life [h]: Y-90's by default. A half-life given as a quantity must be in
    ``COMMAND_RANGES["half_life"]`` ([60, 70] h, Y-90; the same range as ``y90 decay --half-life``),
    so that a slip ("6 h" for "64 h") is refused; another nuclide is named by passing the nuclide
    itself (an object with a ``half_life``, e.g. :class:`dosimetry.isotope.Radionuclide`), whose
    tabulated half-life is used as it is."""
    if half_life is None:
        return Y90.half_life
    if hasattr(half_life, "half_life"):
        return quantity(half_life.half_life, "h", "half_life", minimum=0, include_minimum=False)
    return plausible_quantity(half_life, COMMAND_RANGES["half_life"], "half_life", scalar=False)


def _elapsed(elapsed, field: str = "elapsed") -> pint.Quantity:
    """An elapsed time [h] in ``COMMAND_RANGES["elapsed"]`` ([-2400, 2400] h, as ``y90 decay --elapsed``):
    beyond it the factor over- or underflows and no vial is in use."""
    return plausible_quantity(elapsed, COMMAND_RANGES["elapsed"], field, scalar=False)


def decay_factor(elapsed, half_life=None) -> np.ndarray | float:
    """Fraction of activity remaining after ``elapsed``: exp(-ln 2 * t / T1/2).

    Parameters
    ----------
    elapsed : pint.Quantity or str
        Time since the reference [time] in [-2400, 2400] h; negative values give factors above 1.
    half_life : pint.Quantity or nuclide, optional
        Half-life [time] in [60, 70] h (``COMMAND_RANGES["half_life"]``), or a nuclide object with a
        ``half_life`` (any nuclide); default Y-90, 64.1 h.

    Returns
    -------
    float or numpy.ndarray
        Dimensionless decay factor.

    Raises
    ------
    InputError
        Elapsed time or half-life outside its plausible range (``dosimetry.ranges.COMMAND_RANGES``).
    """
    t = _elapsed(elapsed)
    th = _half_life(half_life)
    out = np.exp(-np.log(2) * (t / th).to("dimensionless").magnitude)
    return float(out) if np.ndim(out) == 0 else out


def activity_at(activity, elapsed, half_life=None) -> pint.Quantity:
    """Activity after ``elapsed`` (before it, when negative).

    Parameters
    ----------
    activity : pint.Quantity or str
        Activity at the reference time [activity], >= 0.
    elapsed : pint.Quantity or str
        Time since the reference [time] in [-2400, 2400] h (``COMMAND_RANGES["elapsed"]``).
    half_life : pint.Quantity or nuclide, optional
        Half-life [time] in [60, 70] h (``COMMAND_RANGES["half_life"]``), or a nuclide object with a
        ``half_life`` (any nuclide); default Y-90, 64.1 h.

    Returns
    -------
    pint.Quantity
        Activity in the unit of ``activity``.
    """
    a0 = quantity(activity, "Bq", "activity", minimum=0, convert=False)
    return a0 * decay_factor(elapsed, half_life)


def time_to_activity(activity, target, half_life=None) -> pint.Quantity:
    """Time for ``activity`` to decay to ``target``: t = T1/2 * log2(A0 / A).

    Parameters
    ----------
    activity : pint.Quantity or str
        Activity at the reference time [activity], > 0.
    target : pint.Quantity or str
        Activity sought [activity], > 0. A target above ``activity`` gives a negative time
        (the moment before the reference when the activity was that high).
    half_life : pint.Quantity or nuclide, optional
        Half-life [time] in [60, 70] h (``COMMAND_RANGES["half_life"]``), or a nuclide object with a
        ``half_life`` (any nuclide); default Y-90, 64.1 h.

    Returns
    -------
    pint.Quantity
        Time [h].
    """
    a0 = quantity(activity, "GBq", "activity", minimum=0, include_minimum=False)
    a1 = quantity(target, "GBq", "target", minimum=0, include_minimum=False)
    th = _half_life(half_life)
    t = (th * np.log2((a0 / a1).to("dimensionless").magnitude)).to("h")
    r = COMMAND_RANGES["elapsed"]
    if np.any(np.abs(t.magnitude) > r.high):
        raise OutOfRangeError("target", f"the activity reaches it more than {r.high:g} h from the reference, outside the plausible elapsed range [{r.low:g}, {r.high:g}] h ({r.source})")
    return t


def fraction_delivered(elapsed, half_life=None) -> np.ndarray | float:
    """Fraction of the complete-decay dose delivered by ``elapsed``: 1 - exp(-lambda t).

    Parameters
    ----------
    elapsed : pint.Quantity or str
        Time since administration [time], in [0, 2400] h.
    half_life : pint.Quantity or nuclide, optional
        Half-life [time] in [60, 70] h (``COMMAND_RANGES["half_life"]``), or a nuclide object with a
        ``half_life`` (any nuclide); default Y-90, 64.1 h.

    Returns
    -------
    float or numpy.ndarray
        Dimensionless fraction in [0, 1).
    """
    t = quantity(elapsed, "h", "elapsed", minimum=0)
    t = _elapsed(t)
    out = -np.expm1(-np.log(2) * (t / _half_life(half_life)).to("dimensionless").magnitude)
    return float(out) if np.ndim(out) == 0 else out


def cumulated_activity(activity, duration=None, half_life=None) -> pint.Quantity:
    """Number of decays (time-integrated activity) from the reference time on.

    Parameters
    ----------
    activity : pint.Quantity or str
        Activity at the reference time [activity], >= 0.
    duration : pint.Quantity or str, optional
        Integration time [time] in [0, 2400] h; default: complete decay (infinity).
    half_life : pint.Quantity or nuclide, optional
        Half-life [time] in [60, 70] h (``COMMAND_RANGES["half_life"]``), or a nuclide object with a
        ``half_life`` (any nuclide); default Y-90, 64.1 h.

    Returns
    -------
    pint.Quantity
        Cumulated activity [GBq h]. For complete decay A0 * T1/2 / ln 2.
    """
    a0 = quantity(activity, "GBq", "activity", minimum=0)
    th = _half_life(half_life)
    tau = th / np.log(2)
    if duration is None:
        return (a0 * tau).to("GBq * h")
    return (a0 * tau * fraction_delivered(duration, half_life)).to("GBq * h")


def elapsed_between(start: _dt.datetime, end: _dt.datetime, field: str = "time") -> pint.Quantity:
    """Elapsed time from ``start`` to ``end`` [h]; both must carry a time zone.

    Raises
    ------
    InputError
        A naive datetime (no UTC offset), which would make the interval ambiguous.
    """
    for name, t in (("start", start), ("end", end)):
        if not isinstance(t, _dt.datetime):
            raise InputError(f"{field}.{name}", f"expected a date-time, got {t!r}")
        if t.tzinfo is None or t.utcoffset() is None:
            raise InputError(f"{field}.{name}", f"{t.isoformat()} has no UTC offset; write e.g. 2026-11-25T10:00:00-05:00")
    # In UTC: subtracting two times that share a zoneinfo zone would count wall-clock hours and
    # miss a daylight-saving change.
    utc = _dt.timezone.utc
    return Q_((end.astimezone(utc) - start.astimezone(utc)).total_seconds() / 3600.0, "h")
