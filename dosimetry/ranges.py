"""Plausible ranges of every input, as data with their sources (one table for every entry point).

The patient file (:mod:`dosimetry.io.patient`), the command line and the library functions
(:mod:`dosimetry.planning`, :mod:`dosimetry.decay`) check their inputs against the same table, so that
one input gets one verdict whatever the entry point. Outside ``[low, high]`` an input is refused
(:class:`~dosimetry.errors.OutOfRangeError` naming the field, the range and its source); outside
``[warn_low, warn_high]`` it is accepted with a warning. The table is printed in docs/patient-file.md.

This module sits in the lowest layer (next to :mod:`dosimetry.units`) so that every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pint

from .errors import OutOfRangeError
from .units import fraction, quantity

__all__ = [
    "Plausible",
    "PLAUSIBLE",
    "VIAL_ACTIVITY",
    "COMMAND_RANGES",
    "plausible_quantity",
    "plausible_fraction",
    "check_number",
    "range_text",
    "warn_range",
]


# --------------------------------------------------------------------------------------------
# Plausible ranges of every quantity of the patient file (issue #10), as data with their sources.
# Outside [low, high] the input is refused (a typo or a unit slip, e.g. "2 MBq" for "2 GBq");
# outside [warn_low, warn_high] it is accepted with a warning, where a clinic can legitimately go.
# The same table is printed in docs/patient-file.md.


@dataclass(frozen=True)
class Plausible:
    """Plausible range of one input: refused outside [low, high], warned outside [warn_low, warn_high]."""

    unit: str
    low: float | None
    high: float | None
    source: str
    warn_low: float | None = None
    warn_high: float | None = None
    include_low: bool = True
    include_high: bool = True


PLAUSIBLE: dict[str, Plausible] = {
    "patient.height": Plausible("cm", 30, 250, "physiology (adult and child stature)", 120, 220),
    "patient.weight": Plausible("kg", 2, 350, "physiology", 30, 200),
    "treatment.dose_coefficient": Plausible("Gy*kg/GBq", 45, 55, "ICRP-107 Y-90 data give 49.67-49.8; IFUs use 50 (design brief)"),
    "lung.shunt_fraction": Plausible("", 0, 1, "definition (a fraction)", None, 0.5, include_high=False),
    "lung.mass": Plausible("kg", 0.1, 5, "ICRP 89 reference lung about 1 kg; CT-based 0.5-2 kg", 0.5, 2.0),
    "lung.prior_dose": Plausible("Gy", 0, 200, "4x the 50 Gy cumulative lung limit (Ho 1997, IFUs)"),
    "lung.limit": Plausible("Gy", 0, 100, "IFU lung limit 30 Gy (glass), 25 Gy (resin); above 30 Gy is warned", None, 30, include_low=False),
    "lung.cumulative_limit": Plausible("Gy", 0, 200, "IFU cumulative lung limit 50 Gy; above it is warned", None, 50, include_low=False),
    "liver.volume": Plausible("mL", 100, 10000, "physiology: adult liver 1-2 L, hepatomegaly with tumour up to about 6 L", 700, 4000),
    "liver.tumour_volume": Plausible("mL", 0, 10000, "as liver.volume: every tumour of the whole liver"),
    "liver.density": Plausible("g/mL", 0.9, 1.2, "ICRP 89 liver 1.05 g/mL; convention 1.03 g/mL (design brief)", 1.0, 1.1),
    "target.volume": Plausible("mL", 1, 10000, "a segment (about 10 mL) to a whole enlarged liver", 10, 4000),
    "target.mass": Plausible("kg", 0.0009, 12, "as target.volume [1, 10000] mL at liver.density [0.9, 1.2] g/mL", 0.01, 4.1),
    "target.tumour_volume": Plausible("mL", 0, 10000, "as target.volume; must be smaller than it"),
    "target.tumours.volume": Plausible("mL", 0, 10000, "as target.volume; must be smaller than it", 0.5, None, include_low=False),
    "target.tumour_to_normal": Plausible(
        "", 0.1, 50, "Tc-99m MAA tumour-to-normal ratios reported about 0.5-20 (Ho 1996; EANM 2022 sec. partition model)", 0.5, 20, include_low=True
    ),
    "target.dose": Plausible("Gy", 0, 2000, "EANM 2022 Table 2: 80-150 Gy perfused, segmentectomy >= 400 Gy; below 20 or above 1000 Gy is warned", 20, 1000, include_low=False),
    "target.normal_liver_dose": Plausible("Gy", 0, 2000, "EANM 2022 Tables 2-3: normal liver < 40-75 Gy; below 5 or above 150 Gy is warned", 5, 150, include_low=False),
    "target.tumour_dose": Plausible("Gy", 0, 5000, "EANM 2022 Tables 2-3: tumour >= 100-205 Gy; below 50 or above 1000 Gy is warned", 50, 1000, include_low=False),
    "target.residual_fraction": Plausible("", 0, 0.5, "vial and tubing residue: a few % (glass and resin IFUs); above 10 % is warned", None, 0.1),
    "target.normal_liver_limit": Plausible("Gy", 0, 500, "EANM 2022 Tables 2-3: 30-75 Gy; above 75 Gy is warned", None, 75, include_low=False),
    "imaging.administered": Plausible("GBq", 0.1, 30, "treatments give about 0.3-20 GBq (largest glass vial 20 GBq); a value in MBq is a unit slip", 0.3, 20),
}

#: Vial activity at calibration per device (``treatment.vial_activity``): refused outside [low, high].
VIAL_ACTIVITY: dict[str, Plausible] = {
    "glass": Plausible("GBq", 3, 20, "TheraSphere IFU: vials of 3-20 GBq at calibration (custom sizes in 0.5 GBq steps)"),
    "resin": Plausible("GBq", 2.7, 3.3, "SIR-Spheres IFU: 3 GBq +-10 % at calibration"),
}

#: Plausible ranges of the command line's own inputs (``y90 decay``, ``y90 schedule``; docs/cli.md).
COMMAND_RANGES: dict[str, Plausible] = {
    "prescribed_activity": Plausible("GBq", 0.1, 30, "treatments give about 0.3-20 GBq (largest glass vial 20 GBq); a value in MBq is a unit slip"),
    "vial_volume": Plausible("mL", 1, 10, "SIR-Spheres IFU: 3 GBq in 5 mL of water per vial"),
    "activity": Plausible("GBq", 0, 1000, "50x the largest glass vial (20 GBq, TheraSphere IFU)"),
    "elapsed": Plausible("h", -2400, 2400, "+-100 days, 37 Y-90 half-lives (a factor 1.4e11): beyond any use of a vial"),
    "half_life": Plausible("h", 60, 70, "Y-90 half-life 64.0-64.2 h in ICRP-107, the IFUs and EANM 2022 (design brief)"),
}


def _range(r: Plausible | str) -> Plausible:
    return PLAUSIBLE[r] if isinstance(r, str) else r


def plausible_quantity(value: Any, r: Plausible | str, fieldname: str, warns: list | None = None, *, scalar: bool = True) -> pint.Quantity:
    """A quantity (strict grammar) inside the plausible range ``r`` (a :class:`Plausible` or a key of
    :data:`PLAUSIBLE`), expressed in ``r.unit``.

    Parameters
    ----------
    value : pint.Quantity, str or mapping
        The input (see :func:`dosimetry.units.quantity`).
    r : Plausible or str
        The range, or its key in :data:`PLAUSIBLE`.
    fieldname : str
        Name used in errors and warnings, e.g. ``"lung.mass"``.
    warns : list, optional
        Values outside the warning band are described here (one line per field).
    scalar : bool
        Refuse arrays (the patient file and the command line); the library passes False so that
        array inputs broadcast, every element being checked.

    Raises
    ------
    InputError
        Not a quantity of ``r.unit``'s dimension, or outside [r.low, r.high] (the message names the
        range and its source).
    """
    r = _range(r)
    try:
        q = quantity(
            value, r.unit, fieldname, minimum=r.low, maximum=r.high, include_minimum=r.include_low, include_maximum=r.include_high, scalar=scalar
        )
    except OutOfRangeError as exc:
        raise OutOfRangeError(fieldname, f"{exc.message} (plausible range; {r.source})", allowed=exc.allowed) from exc
    mag = q._magnitude if type(q._magnitude) is float else np.asarray(q.magnitude, dtype=float)
    warn_range(mag, r, fieldname, f"{float(mag):g} {r.unit}" if isinstance(mag, float) or mag.ndim == 0 else "some values", warns)
    return q


def plausible_fraction(value: Any, r: Plausible | str, fieldname: str, warns: list | None = None, *, scalar: bool = True):
    """A fraction (number, percentage, array) inside the plausible range ``r``; a refusal names that
    range, not the generic [0, 1) of :func:`dosimetry.units.fraction`."""
    r = _range(r)
    try:
        x = fraction(value, fieldname, scalar=scalar)
    except OutOfRangeError as exc:
        allowed = range_text(r)
        shown = f"{str(value)[:40]} is" if np.ndim(value) == 0 else "some values are"
        raise OutOfRangeError(fieldname, f"{shown} out of the plausible range {allowed} ({r.source})", allowed=allowed) from exc
    return check_number(x, r, fieldname, warns)


def _fmt(x) -> str:
    return "inf" if x is None else f"{x:g}"


def range_text(r: Plausible) -> str:
    """The refusal range as text, e.g. ``[45, 55] Gy*kg/GBq`` or ``(0, 100] Gy``."""
    lo = "[" if r.include_low else "("
    hi = "]" if r.include_high else ")"
    return f"{lo}{'-inf' if r.low is None else _fmt(r.low)}, {_fmt(r.high)}{hi}{' ' + r.unit if r.unit else ''}"


def warn_range(x, r: Plausible, fieldname: str, shown: str, warns: list | None) -> None:
    """Append a warning to ``warns`` when ``x`` (number or array, in ``r.unit``) leaves the usual band."""
    if warns is None:
        return
    a = x if type(x) is float else np.asarray(x, dtype=float)
    any_ = bool if type(a) is float else np.any  # one number: compared without a numpy reduction (issue 22)
    if (r.warn_low is not None and any_(a < r.warn_low)) or (r.warn_high is not None and any_(a > r.warn_high)):
        band = f"[{'-inf' if r.warn_low is None else _fmt(r.warn_low)}, {_fmt(r.warn_high)}]{' ' + r.unit if r.unit else ''}"
        said = f"{fieldname}: some values are" if np.ndim(a) else f"{fieldname} = {shown} is"
        warns.append(f"{said} outside the usual range {band} ({r.source}); check it")


def check_number(x, r: Plausible | str, fieldname: str, warns: list | None = None, *, slack: float = 0.0):
    """``x`` (number or array, in ``r.unit``) inside the range ``r``; returned unchanged.

    ``slack`` widens the bounds by that relative amount (for a value derived by a unit
    conversion, e.g. a mass from a volume, that may round across a bound).
    """
    r = _range(r)
    a = x if type(x) is float else np.asarray(x, dtype=float)
    any_ = bool if type(a) is float else np.any  # one number: compared without a numpy reduction (issue 22)
    lo = None if r.low is None else r.low - slack * abs(r.low)
    hi = None if r.high is None else r.high + slack * abs(r.high)
    bad_low = lo is not None and any_(a < lo if r.include_low else a <= lo)
    bad_high = hi is not None and any_(a > hi if r.include_high else a >= hi)
    if bad_low or bad_high:
        allowed = range_text(r)
        shown = f"{float(a):g}{' ' + r.unit if r.unit else ''} is" if np.ndim(a) == 0 else "some values are"
        raise OutOfRangeError(fieldname, f"{shown} out of the plausible range {allowed} ({r.source})", allowed=allowed)
    warn_range(a, r, fieldname, f"{float(a):g}" if np.ndim(a) == 0 else "some values", warns)
    return x
