"""The package's single pint unit registry and helpers for parsing and serialising quantities.

Every public function of y90-dosimetry takes and returns :class:`pint.Quantity` objects built from
:data:`ureg`. Strings such as ``"81 mCi"`` or ``"1.2 kg"`` are accepted at the edges
(patient files, the command line) through :func:`quantity`.

Detected counts are a dimension of their own (``cts``), so that a count rate (``cts/s``) can
never be silently taken for an activity (``Bq``), which pint would otherwise allow because it
defines the becquerel as one per second.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pint

from .errors import InputError

#: The one unit registry of the package. Never create another: quantities from different
#: registries cannot be combined.
ureg = pint.UnitRegistry()
# Detector counts get their own base dimension (see module docstring).
ureg.define("detected_count = [detected_counts] = cts")
ureg.formatter.default_format = "~P"

Q_ = ureg.Quantity
Quantity = pint.Quantity

__all__ = [
    "ureg",
    "Q_",
    "Quantity",
    "quantity",
    "fraction",
    "to_json",
    "from_json",
    "unit_string",
]


# pint gives activity and frequency, and absorbed and equivalent dose, the same dimensions. These
# name sets keep them apart at the edges (design brief, "Units pitfalls"): an activity must be
# written in becquerel or curie, never hertz or counts per second; an absorbed dose never in sievert.
_ACTIVITY_NAMES = frozenset({"becquerel", "curie", "rutherford"})
_EQUIVALENT_DOSE_NAMES = frozenset({"sievert", "rem"})


def _unit_names(unit) -> set:
    """Base names of the units in ``unit`` without prefixes, e.g. {'becquerel', 'liter'} for MBq/mL."""
    out = set()
    for name in unit._units:
        parsed = ureg.parse_unit_name(name)
        out.add(parsed[0][1] if parsed else name)
    return out


def _describe(unit: str) -> str:
    dim = ureg.Quantity(1, unit).dimensionality
    return f"a quantity convertible to {unit} (dimension {dim})"


def quantity(
    value: Any,
    unit: str,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
    convert: bool = True,
) -> pint.Quantity:
    """Parse and validate a physical quantity.

    Parameters
    ----------
    value : pint.Quantity, str, or mapping
        ``Quantity`` from :data:`ureg`, a string such as ``"81 mCi"``, or a JSON mapping
        ``{"value": 81, "unit": "mCi"}``. Bare numbers are refused unless ``unit`` is
        dimensionless, because a number without a unit is ambiguous.
    unit : str
        The unit the value must be convertible to, e.g. ``"GBq"``; the result is expressed in it
        when ``convert`` is true.
    field : str
        Name of the input, used in error messages.
    minimum, maximum : float, optional
        Allowed range, in ``unit``. Arrays are checked element-wise.
    include_minimum, include_maximum : bool
        Whether the bounds themselves are allowed.
    convert : bool
        Return the value converted to ``unit`` (default) or in its own unit.

    Returns
    -------
    pint.Quantity
        The validated quantity.

    Raises
    ------
    InputError
        Unparseable text, wrong dimension, non-finite value or value out of range.
    """
    target = ureg.Unit(unit)
    if isinstance(value, Mapping):
        value = from_json(value, field)
    if isinstance(value, str):
        try:
            q = ureg.Quantity(value.strip())
        except Exception as exc:  # pint raises several error types for bad text
            raise InputError(field, f"cannot read {value!r} as {_describe(unit)}") from exc
        if not isinstance(q, pint.Quantity):
            q = ureg.Quantity(q, "dimensionless")
    elif isinstance(value, pint.Quantity):
        if value._REGISTRY is not ureg:
            raise InputError(field, "quantity comes from another pint registry; use dosimetry.units.ureg")
        q = value
    elif isinstance(value, (int, float, np.ndarray, np.number)) and not isinstance(value, bool):
        if target.dimensionless:
            q = ureg.Quantity(value, target)
        else:
            raise InputError(field, f"a bare number {value!r} has no unit; give {_describe(unit)}, e.g. '{value} {unit}'")
    else:
        raise InputError(field, f"expected {_describe(unit)}, got {type(value).__name__}")
    if q.dimensionality != target.dimensionality:
        raise InputError(field, f"{q:~P} has the wrong dimension; expected {_describe(unit)}")
    have, want = _unit_names(q.units), _unit_names(target)
    if want & _ACTIVITY_NAMES and not have & _ACTIVITY_NAMES:
        raise InputError(field, f"{q:~P} is not an activity; write it in Bq or Ci (hertz and counts per second are not becquerels)")
    if have & _EQUIVALENT_DOSE_NAMES and not want & _EQUIVALENT_DOSE_NAMES:
        raise InputError(field, f"{q:~P} is an equivalent dose; absorbed dose must be given in Gy (never converted from Sv)")
    qc = q.to(target)
    mag = np.asarray(qc.magnitude, dtype=float)
    if not np.all(np.isfinite(mag)):
        raise InputError(field, "must be finite")
    lo = "[" if include_minimum else "("
    hi = "]" if include_maximum else ")"
    rng = f"{lo}{'-inf' if minimum is None else minimum}, {'inf' if maximum is None else maximum}{hi} {target:~P}"
    if minimum is not None:
        bad = mag < minimum if include_minimum else mag <= minimum
        if np.any(bad):
            raise InputError(field, f"{q:~P} is out of range; allowed {rng}")
    if maximum is not None:
        bad = mag > maximum if include_maximum else mag >= maximum
        if np.any(bad):
            raise InputError(field, f"{q:~P} is out of range; allowed {rng}")
    return qc if convert else q


def fraction(
    value: Any,
    field: str,
    *,
    include_one: bool = False,
    include_zero: bool = True,
) -> np.ndarray | float:
    """Parse a fraction given as a number in [0, 1] or a percentage string such as ``"5 %"``.

    Parameters
    ----------
    value : float, array, str or pint.Quantity
        A plain number (``0.05``), a string with a percent sign (``"5 %"``, ``"5%"``), or a
        dimensionless Quantity.
    field : str
        Name of the input, used in error messages.
    include_one, include_zero : bool
        Whether 1 and 0 are allowed (default: [0, 1)).

    Returns
    -------
    float or numpy.ndarray
        The fraction, dimensionless.

    Raises
    ------
    InputError
        Not a number or percentage, or outside the allowed range.
    """
    if isinstance(value, str):
        text = value.strip().replace("%", " percent")
        try:
            q = ureg.Quantity(text)
        except Exception as exc:
            raise InputError(field, f"cannot read {value!r} as a fraction (e.g. 0.05 or '5 %')") from exc
        if not isinstance(q, pint.Quantity):
            q = ureg.Quantity(q, "dimensionless")
        value = q
    if isinstance(value, pint.Quantity):
        if not value.dimensionless:
            raise InputError(field, f"{value:~P} is not a fraction (e.g. 0.05 or '5 %')")
        value = value.to("dimensionless").magnitude
    if isinstance(value, bool) or not isinstance(value, (int, float, np.ndarray, np.number, list, tuple)):
        raise InputError(field, f"expected a fraction (e.g. 0.05 or '5 %'), got {value!r}")
    arr = np.asarray(value, dtype=float)
    lo = "[0" if include_zero else "(0"
    hi = "1]" if include_one else "1)"
    if not np.all(np.isfinite(arr)):
        raise InputError(field, f"must be finite; allowed {lo}, {hi}")
    bad = (arr < 0 if include_zero else arr <= 0) | (arr > 1 if include_one else arr >= 1)
    if np.any(bad):
        shown = value if arr.ndim == 0 else "some values"
        raise InputError(field, f"{shown} is out of range; allowed {lo}, {hi} (a fraction, e.g. 0.05 or '5 %')")
    return float(arr) if arr.ndim == 0 else arr


def unit_string(unit: pint.Unit | pint.Quantity) -> str:
    """Short, parseable text for a unit, e.g. ``"GBq"`` or ``"Gy * kg / GBq"``."""
    u = unit.units if isinstance(unit, pint.Quantity) else unit
    text = f"{u:~C}"
    # pint abbreviates litre as "l"; clinical convention (and SI brochure) writes "L" / "mL".
    text = re.sub(r"(?<![A-Za-z])([munpkdc]?)l(?![A-Za-z])", lambda m: m.group(1) + "L", text)
    return text or "dimensionless"


def to_json(q: pint.Quantity) -> dict:
    """Encode a Quantity as ``{"value": number or list, "unit": str}``.

    Parameters
    ----------
    q : pint.Quantity
        Scalar or array quantity.

    Returns
    -------
    dict
        ``{"value": ..., "unit": ...}`` with plain Python numbers, JSON-serialisable.
    """
    mag = q.magnitude
    if isinstance(mag, np.ndarray):
        arr = np.asarray(mag, dtype=float)
        # JSON has no NaN or infinity: encode them as null.
        value = np.where(np.isfinite(arr), arr, np.nan).astype(object)
        value[~np.isfinite(arr)] = None
        value = value.tolist()
    else:
        value = float(mag)
        if math.isnan(value) or math.isinf(value):
            value = None
    return {"value": value, "unit": unit_string(q)}


def from_json(obj: Mapping, field: str = "quantity") -> pint.Quantity:
    """Decode ``{"value": x, "unit": "GBq"}`` into a Quantity.

    Raises
    ------
    InputError
        Missing keys or an unknown unit.
    """
    if not isinstance(obj, Mapping) or "value" not in obj or "unit" not in obj:
        raise InputError(field, 'expected an object {"value": number, "unit": "..."}')
    try:
        unit = ureg.Unit(obj["unit"]) if obj["unit"] not in ("", "dimensionless") else ureg.dimensionless
    except Exception as exc:
        raise InputError(field, f"unknown unit {obj['unit']!r}") from exc
    return ureg.Quantity(np.asarray(obj["value"], dtype=float) if isinstance(obj["value"], list) else obj["value"], unit)
