"""The package's single pint unit registry and helpers for parsing and serialising quantities.

Every public function of y90-dosimetry takes and returns :class:`pint.Quantity` objects built from
:data:`ureg`. Strings such as ``"81 mCi"`` or ``"1.2 kg"`` are accepted at the edges
(patient files, the command line) through :func:`quantity`.

Detected counts are a dimension of their own (``cts``), so that a count rate (``cts/s``) can
never be silently taken for an activity (``Bq``), which pint would otherwise allow because it
defines the becquerel as one per second.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pint

from .errors import InputError, InputTypeError, OutOfRangeError, QuantityFormatError, UnitError

class _Registry(pint.UnitRegistry):
    """pint's registry, remembering how it split each unit name into prefix, name and suffix.

    pint caches parsed unit expressions only for unit names it defines without a prefix, so
    "mL" or "GBq" were split again at every quantity made from a string (a walk over every
    prefix and suffix: most of the time of one scalar plan, issue 22). The split of a name, and
    the parse of a unit expression, depend only on the definitions: both are kept until the
    next definition.
    """

    def parse_unit_name(self, unit_name: str, case_sensitive: bool | None = None):
        names = self.__dict__.setdefault("_y90_unit_names", {})
        key = (unit_name, case_sensitive)
        if key not in names:
            names[key] = super().parse_unit_name(unit_name, case_sensitive)
        return names[key]

    def _parse_units_as_container(self, input_string: str, as_delta: bool = True, case_sensitive: bool = True):
        # the same memory for whole unit expressions ("mL", "Gy*kg/GBq"); a UnitsContainer is immutable
        parsed = self.__dict__.setdefault("_y90_unit_texts", {})
        key = (input_string, as_delta, case_sensitive)
        if key not in parsed:
            parsed[key] = super()._parse_units_as_container(input_string, as_delta, case_sensitive)
        return parsed[key]

    def define(self, definition):
        self.__dict__.pop("_y90_unit_names", None)
        self.__dict__.pop("_y90_unit_texts", None)
        for name in ("dimensionality_of", "same_dimension", "_same_dimension_factor", "_linear_factor"):
            if name in globals():  # a new definition may change a unit's dimension or factor
                globals()[name].cache_clear()
        return super().define(definition)


def _registry() -> pint.UnitRegistry:
    """The registry, built from pint's cache of its parsed definitions when it can be.

    pint parses its definitions file at every start (about 2 s of a command's start-up, issue 22)
    unless given a cache folder (``cache_folder=":auto:"``: the user's cache directory, e.g.
    ~/.cache/pint, keyed by the definitions' hash). Where that folder cannot be made or read,
    or when the environment variable ``Y90_UNITS_CACHE`` is ``0``, the definitions are parsed
    as before: the units are the same either way.
    """
    if os.environ.get("Y90_UNITS_CACHE", "1") != "0":
        try:
            return _Registry(cache_folder=":auto:")
        except Exception:  # an unwritable home, a damaged cache file: parse the definitions instead
            pass
    return _Registry()


#: The one unit registry of the package. Never create another: quantities from different
#: registries cannot be combined.
ureg = _registry()
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
    "parse_quantity_text",
    "to_unit",
    "new_quantity",
    "QUANTITY_FORM",
    "FRACTION_FORM",
]


# pint gives activity and frequency, and absorbed and equivalent dose, the same dimensions. These
# name sets keep them apart at the edges (design brief, "Units pitfalls"): an activity must be
# written in becquerel or curie, never hertz or counts per second; an absorbed dose never in sievert.
_ACTIVITY_NAMES = frozenset({"becquerel", "curie", "rutherford"})
_EQUIVALENT_DOSE_NAMES = frozenset({"sievert", "rem"})


@functools.lru_cache(maxsize=512)
def _unit_names(units) -> frozenset:
    """Base names of the units in ``units`` (a UnitsContainer) without prefixes, e.g. {'becquerel', 'liter'} for MBq/mL."""
    out = set()
    for name in units:
        parsed = ureg.parse_unit_name(name)
        out.add(parsed[0][1] if parsed else name)
    return frozenset(out)


@functools.lru_cache(maxsize=512)
def dimensionality_of(units):
    """``ureg.get_dimensionality(units)`` of a UnitsContainer (what ``Quantity.dimensionality`` gives),
    remembered per container: a plan compares the dimensions of the same few units dozens of times (issue 22)."""
    return ureg._get_dimensionality(units)


@functools.lru_cache(maxsize=512)
def same_dimension(units, other) -> bool:
    """Whether two UnitsContainers have one dimension (``q.dimensionality == u.dimensionality``), remembered per pair."""
    return dimensionality_of(units) == dimensionality_of(other)


@functools.lru_cache(maxsize=512)
def _unit(text: str):
    """``ureg.Unit(text)``, remembered: a unit written in a string is parsed once per process (issue 22)."""
    return ureg.Unit(text)


# -- the one quantity grammar -------------------------------------------------------------------
# Text typed by a user (patient file, command line) must be "<decimal number> <unit>": an optional
# sign, digits with "." as the decimal mark, an optional exponent, then a unit that the registry
# knows. No thousands separators, no decimal comma, no arithmetic: only the unit text is given to
# pint, never the number, so "1 456 mL", "0,05", "2%5 Gy" or "10**400 Gy" cannot be read as a
# different number (issue #10).
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?"
_NAME = r"[A-Za-z\u00b5\u03bc\u00b0\u03a9_]+"  # unit names and prefixes, e.g. mL, \u00b5Ci, degC
_FACTOR = rf"{_NAME}(?:(?:\^|\*\*)[+-]?[1-4])?"  # with a small integer power: cm^2, m**3
_UNIT = rf"(?:1\s*)?/?\s*{_FACTOR}(?:\s*[*/\u00b7]\s*{_FACTOR}|\s+{_FACTOR})*"
_QUANTITY_RE = re.compile(rf"(?P<number>{_NUMBER})\s*(?P<unit>{_UNIT})?", re.ASCII)  # ASCII digits and spaces only
_FRACTION_RE = re.compile(rf"(?P<number>{_NUMBER})\s*(?P<percent>%)?", re.ASCII)
#: Longest text accepted as a quantity (a guard against pathological input).
_MAX_TEXT = 64
QUANTITY_FORM = "a decimal number and a unit, e.g. '81 mCi', '1456 mL', '1.2e3 MBq' ('.' as decimal mark, no separators or arithmetic)"
FRACTION_FORM = "a number in [0, 1) or a percentage, e.g. 0.05 or '5 %' ('.' as decimal mark)"


def _number(text: str, field: str, form: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise QuantityFormatError(field, f"{text!r} is not a finite number; expected {form}", allowed=form)
    return value


def parse_quantity_text(text: str, field: str) -> pint.Quantity:
    """Read ``"<decimal number> <unit>"`` strictly (see the module's grammar); pint sees only the unit.

    Parameters
    ----------
    text : str
        E.g. ``"81 mCi"``, ``"-24 h"``, ``"1.5e3 MBq"``, ``"0.5"`` (dimensionless).
    field : str
        Name of the input, used in error messages.

    Returns
    -------
    pint.Quantity
        The quantity in the unit written (dimensionless when no unit is written).

    Raises
    ------
    QuantityFormatError
        Anything else: decimal comma, separators, arithmetic, unknown unit, missing number.
    """
    try:
        value, unit = _parsed_text(text) if isinstance(text, str) else _parsed_text.__wrapped__(text)
    except QuantityFormatError as exc:  # the same refusal, naming this field
        raise exc.renamed(field) from exc.__cause__
    return new_quantity(value, unit)


@functools.lru_cache(maxsize=1024)
def _parsed_text(text: str) -> tuple:
    """(number, unit) of a quantity text, remembered: the same text is read once per process (issue 22).

    Refusals (:class:`QuantityFormatError`, field left empty) are not remembered; the caller names its field.
    """
    field = ""
    s = text.strip(" \t") if isinstance(text, str) else ""
    m = _QUANTITY_RE.fullmatch(s) if len(s) <= _MAX_TEXT else None
    if m is None:
        raise QuantityFormatError(field, f"cannot read {text!r}; expected {QUANTITY_FORM}", allowed=QUANTITY_FORM)
    value = _number(m["number"], field, QUANTITY_FORM)
    unit_text = (m["unit"] or "").strip()
    if unit_text.startswith("/"):
        unit_text = "1" + unit_text
    try:
        unit = _unit(unit_text) if unit_text else ureg.dimensionless
    except Exception as exc:  # pint raises several error types for unknown names
        raise QuantityFormatError(field, f"unknown unit {unit_text!r} in {text!r}; expected {QUANTITY_FORM}", allowed=QUANTITY_FORM) from exc
    hidden = _pure_number_factor(unit)
    if hidden:
        raise QuantityFormatError(
            field,
            f"{text!r}: the unit hides a pure number ({hidden}), which would multiply the value; write the value "
            f"in one unit, e.g. '3 GBq', '0.5 kg'",
            allowed=QUANTITY_FORM,
        )
    return value, unit


@functools.lru_cache(maxsize=512)
def _pure_number_factor(unit) -> str | None:
    """The part of a unit expression that is a pure number, or None (issue #10's "no arithmetic").

    pint reads dimensionless units as numbers: '3 GBq*pi' would be 9.42 GBq, '0.5 kg*turn' 3.14 kg,
    '3 GBq*percent' 0.03 GBq, '3 GBq*cm/inch' 1.18 GBq. Refused: any factor that is dimensionless
    on its own and is not 1 (pi, turn, degree, percent, ppm, ...; a count is 1) and any group of
    factors whose dimensions cancel to a number other than 1 (cm/inch, MBq*s). None of the
    project's units has such a group (GBq/mL, Gy*kg/GBq, Bq/mL/cts, mg/dL, m^2, ...).
    """
    comps = list(unit._units.items())
    dims = [ureg.Unit(name).dimensionality ** exp for name, exp in comps]
    for size in range(1, len(comps) + 1):
        for group in itertools.combinations(range(len(comps)), size):
            total = dims[group[0]]
            for k in group[1:]:
                total = total * dims[k]
            if not total:
                q = ureg.Quantity(1.0)
                for k in group:
                    q = q * ureg.Quantity(1.0, comps[k][0]) ** comps[k][1]
                factor = q.to("dimensionless").magnitude
                if not math.isclose(factor, 1.0, rel_tol=1e-12):  # a count (1) or h/h changes nothing
                    return " * ".join(f"{comps[k][0]}^{comps[k][1]:g}" if comps[k][1] != 1 else comps[k][0] for k in group)
    return None


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
    scalar: bool = False,
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
    scalar : bool
        Refuse arrays (one value is meant, e.g. in the patient file or on the command line).

    Returns
    -------
    pint.Quantity
        The validated quantity.

    Raises
    ------
    InputError
        Unparseable text, wrong dimension, non-finite value or value out of range.
    """
    target = _unit(unit) if isinstance(unit, str) else ureg.Unit(unit)
    if isinstance(value, Mapping):
        value = from_json(value, field, scalar=scalar)
    if isinstance(value, str):
        q = parse_quantity_text(value, field)
    elif isinstance(value, pint.Quantity):
        if value._REGISTRY is not ureg:
            raise InputError(field, "quantity comes from another pint registry; use dosimetry.units.ureg")
        q = value
    elif isinstance(value, (int, float, np.ndarray, np.number)) and not isinstance(value, (bool, np.bool_)):
        if target.dimensionless:
            q = new_quantity(value, target._units) if type(value) is float else ureg.Quantity(value, target)
        else:
            raise UnitError(field, f"a bare number {value!r} has no unit; give {_describe(unit)}, e.g. '{value} {unit}'", expected=str(unit))
    else:
        raise InputTypeError(field, f"expected {_describe(unit)}, got {type(value).__name__} {_short(value)}", allowed=QUANTITY_FORM)
    if scalar and np.ndim(q.magnitude) != 0:
        raise InputTypeError(field, f"expected one value ({QUANTITY_FORM}), got an array", allowed=QUANTITY_FORM)
    if not same_dimension(q._units, target._units):
        raise UnitError(field, f"{q:~P} has the wrong dimension; expected {_describe(unit)}", expected=str(unit))
    _check_kind(q, target, field)
    qc, mag = _converted(q, target, value, field)
    _check_range(q, mag, target, field, minimum, maximum, include_minimum, include_maximum)
    return qc if convert else q


def _converted(q: pint.Quantity, target, value, field: str) -> tuple:
    """(``q`` in ``target``, its finite magnitude as a float or float array); refuses non-finite values."""
    factor = _linear_factor(q._units, target._units)
    if factor is not None and type(q._magnitude) is float:
        # a Python float times a float never raises (numpy's errstate does not apply); overflow gives inf, refused below
        qc = new_quantity(q._magnitude * factor, target._units)
        if not math.isfinite(qc._magnitude):
            raise InputError(field, "must be finite")
        return qc, qc._magnitude
    try:
        with np.errstate(over="raise", invalid="raise"):
            # pint's conversion is the magnitude times its (cached) factor; offset units (degC) go through pint
            qc = q.to(target) if factor is None else new_quantity(q._magnitude * factor, target._units)
            mag = qc._magnitude if type(qc._magnitude) is float else np.asarray(qc.magnitude, dtype=float)
    except (FloatingPointError, OverflowError, TypeError, ValueError) as exc:
        raise InputError(field, f"{_short(value)} is not a finite number of {target:~P}") from exc
    if not (math.isfinite(mag) if isinstance(mag, float) else mag.dtype != object and np.all(np.isfinite(mag))):
        raise InputError(field, "must be finite")
    return qc, mag


def new_quantity(magnitude, unit) -> pint.Quantity:
    """``ureg.Quantity(magnitude, unit)``, ``unit`` a unit text, Unit or UnitsContainer.

    A Python float magnitude gets exactly what pint's constructor stores (the float and the unit
    container; tests/test_units.py compares them) without its checks for other magnitude and unit
    types, which cost more than the arithmetic of a scalar plan (issue 22). Anything else goes
    through pint.
    """
    units = _unit(unit)._units if isinstance(unit, str) else unit._units if isinstance(unit, pint.Unit) else unit
    if type(magnitude) is not float or not isinstance(units, pint.util.UnitsContainer):
        return ureg.Quantity(magnitude, units)
    q = object.__new__(Q_)
    q._magnitude = magnitude
    q._units = units
    return q


def to_unit(q: pint.Quantity, unit) -> pint.Quantity:
    """``q.to(unit)``: the same magnitude (pint's own factor times the magnitude), the same new Quantity.

    A float magnitude in a unit pair seen before skips pint's conversion machinery (the factor is
    remembered per pair; a scalar plan converts the same few units dozens of times, issue 22).
    Arrays, offset units (degC) and other registries go through pint.
    """
    target = _unit(unit) if isinstance(unit, str) else unit
    if type(q._magnitude) is float and isinstance(target, pint.Unit) and q._REGISTRY is ureg:
        factor = _same_dimension_factor(q._units, target._units)
        if factor is not None:
            return new_quantity(q._magnitude * factor, target._units)
    return q.to(target)


@functools.lru_cache(maxsize=512)
def _linear_factor(src, dst) -> float | None:
    """The factor pint multiplies a magnitude by to convert ``src`` units to ``dst`` (same dimension),
    or None when the conversion is not a pure factor (offset units such as degC). Remembered per pair:
    a scalar plan converts the same few units many times (issue 22)."""
    one, zero = ureg.Quantity(1.0, src).to(dst).magnitude, ureg.Quantity(0.0, src).to(dst).magnitude
    if zero != 0.0 or not isinstance(one, float):
        return None
    return one


@functools.lru_cache(maxsize=512)
def _same_dimension_factor(src, dst) -> float | None:
    """:func:`_linear_factor` of two units of one dimension, else None (one remembered lookup for :func:`to_unit`)."""
    return _linear_factor(src, dst) if same_dimension(src, dst) else None


def _check_range(q, mag, target, field: str, minimum, maximum, include_minimum: bool, include_maximum: bool) -> None:
    """Refuse magnitudes ``mag`` (in ``target``) outside [minimum, maximum] (ends as included)."""
    any_ = bool if type(mag) is float else np.any  # a scalar compares to a bool: no numpy reduction
    low = minimum is not None and any_(mag < minimum if include_minimum else mag <= minimum)
    high = maximum is not None and any_(mag > maximum if include_maximum else mag >= maximum)
    if low or high:
        lo = "[" if include_minimum else "("
        hi = "]" if include_maximum else ")"
        rng = f"{lo}{'-inf' if minimum is None else minimum}, {'inf' if maximum is None else maximum}{hi} {target:~P}"
        raise OutOfRangeError(field, f"{_short(q)} is out of range; allowed {rng}", allowed=rng)


def _check_kind(q: pint.Quantity, target, field: str) -> None:
    """Units pint takes as one dimension but that are not the same quantity: Bq vs Hz / cps, Gy vs Sv."""
    have, want = _unit_names(q._units), _unit_names(target._units)
    if want & _ACTIVITY_NAMES and not have & _ACTIVITY_NAMES:
        raise InputError(field, f"{q:~P} is not an activity; write it in Bq or Ci (hertz and counts per second are not becquerels)")
    if have & _EQUIVALENT_DOSE_NAMES and not want & _EQUIVALENT_DOSE_NAMES:
        raise InputError(field, f"{q:~P} is an equivalent dose; absorbed dose must be given in Gy (never converted from Sv)")


def fraction(
    value: Any,
    field: str,
    *,
    include_one: bool = False,
    include_zero: bool = True,
    scalar: bool = False,
) -> np.ndarray | float:
    """Parse a fraction given as a number in [0, 1) or a percentage string such as ``"5 %"``.

    Parameters
    ----------
    value : float, array, str, mapping or pint.Quantity
        A plain number (``0.05``), a string holding a plain decimal number (``"0.05"``) or a
        decimal number followed by ``%`` (``"5 %"``, ``"5%"``), ``{"value": 5, "unit": "%"}``, or a
        dimensionless Quantity. Decimal commas, separators and arithmetic are refused.
    field : str
        Name of the input, used in error messages.
    include_one, include_zero : bool
        Whether 1 and 0 are allowed (default: [0, 1)).
    scalar : bool
        Refuse arrays and lists (one value is meant, e.g. in the patient file).

    Returns
    -------
    float or numpy.ndarray
        The fraction, dimensionless.

    Raises
    ------
    InputError
        Not a number or percentage, or outside the allowed range.
    """
    lo = "[0" if include_zero else "(0"
    hi = "1]" if include_one else "1)"
    form = f"a number in {lo}, {hi} or a percentage, e.g. 0.05 or '5 %' ('.' as decimal mark)"
    if isinstance(value, Mapping):
        value = from_json(value, field, scalar=True)
    if isinstance(value, str):
        s = value.strip(" \t")
        m = _FRACTION_RE.fullmatch(s) if len(s) <= _MAX_TEXT else None
        if m is None:
            raise QuantityFormatError(field, f"cannot read {value!r} as a fraction; expected {form}", allowed=form)
        value = _number(m["number"], field, form) / (100.0 if m["percent"] else 1.0)
    if isinstance(value, pint.Quantity):
        if value._REGISTRY is not ureg:
            raise InputError(field, "quantity comes from another pint registry; use dosimetry.units.ureg")
        if not value.dimensionless:
            raise InputError(field, f"{value:~P} is not a fraction; expected {form}", allowed=form)
        value = value.to("dimensionless").magnitude
    if type(value) is float and math.isfinite(value) and (0 <= value if include_zero else 0 < value) and (value <= 1 if include_one else value < 1):
        return value  # one number inside the range: what the checks below return for it (float of a 0-d array)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.ndarray, np.number, list, tuple)):
        raise InputTypeError(field, f"expected {form}, got {_short(value)}", allowed=form)
    if scalar and not isinstance(value, (int, float, np.number)):
        raise InputTypeError(field, f"expected one value ({form}), got {_short(value)}", allowed=form)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputTypeError(field, f"expected {form}, got {_short(value)}", allowed=form) from exc
    if not np.all(np.isfinite(arr)):
        raise InputError(field, f"must be finite; allowed {lo}, {hi}", allowed=f"{lo}, {hi}")
    bad = (arr < 0 if include_zero else arr <= 0) | (arr > 1 if include_one else arr >= 1)
    if np.any(bad):
        shown = _short(value) if arr.ndim == 0 else "some values"
        raise OutOfRangeError(field, f"{shown} is out of range; allowed {lo}, {hi} (a fraction, e.g. 0.05 or '5 %')", allowed=f"{lo}, {hi}")
    return float(arr) if arr.ndim == 0 else arr


def _short(value: Any, limit: int = 40) -> str:
    """A short repr for messages (a hostile input must not flood the terminal)."""
    text = f"{value:~P}" if isinstance(value, pint.Quantity) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    value: Any
    if isinstance(mag, np.ndarray):
        arr = np.asarray(mag, dtype=float)
        # JSON has no NaN or infinity: encode them as null.
        cells = np.where(np.isfinite(arr), arr, np.nan).astype(object)
        cells[~np.isfinite(arr)] = None
        value = cells.tolist()
    else:
        value = float(mag)
        if math.isnan(value) or math.isinf(value):
            value = None
    return {"value": value, "unit": unit_string(q)}


def from_json(obj: Mapping, field: str = "quantity", *, scalar: bool = False) -> pint.Quantity:
    """Decode ``{"value": x, "unit": "GBq"}`` into a Quantity.

    ``value`` must be a finite number (or, unless ``scalar``, a flat list of finite numbers);
    ``unit`` a unit string of the registry (``""`` or ``"dimensionless"`` for none).

    Raises
    ------
    InputError
        Missing or extra keys, a value that is text, a boolean, a table or not finite, or an
        unknown unit.
    """
    form = '{"value": number, "unit": "..."}, e.g. {"value": 81, "unit": "mCi"}'
    if not isinstance(obj, Mapping) or "value" not in obj or "unit" not in obj:
        raise InputTypeError(field, f"expected an object {form}", allowed=form)
    extra = sorted(str(k) for k in obj if k not in ("value", "unit"))
    if extra:
        raise InputError(field, f"unknown key {extra[0]!r}; expected {form}", allowed=form)
    v, u = obj["value"], obj["unit"]

    def number_ok(x):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            return False
        try:
            return math.isfinite(float(x))
        except OverflowError:  # an integer beyond float range (TOML integers are unbounded in tomllib)
            return False

    if isinstance(v, list) and not scalar:
        if not v or not all(number_ok(x) for x in v):
            raise InputTypeError(field, f"value must be a list of finite numbers; expected {form}", allowed=form)
        v = np.asarray(v, dtype=float)
    elif not number_ok(v):
        raise InputTypeError(field, f"value {_short(v)} is not a finite number; expected {form}", allowed=form)
    if not isinstance(u, str):
        raise InputTypeError(field, f"unit {_short(u)} is not text; expected {form}", allowed=form)
    if u.strip() in ("", "dimensionless"):
        unit = ureg.dimensionless
    elif u.strip() == "%":
        unit = ureg.percent
    else:
        m = re.fullmatch(_UNIT, u.strip(), re.ASCII) if len(u) <= _MAX_TEXT else None
        try:
            if m is None:
                raise ValueError(u)
            unit = ureg.Unit(("1" + u.strip()) if u.strip().startswith("/") else u.strip())
        except Exception as exc:
            raise QuantityFormatError(field, f"unknown unit {_short(u)}; expected {form}", allowed=form) from exc
        hidden = _pure_number_factor(unit)
        if hidden:
            raise QuantityFormatError(field, f"unit {_short(u)} hides a pure number ({hidden}); expected {form}", allowed=form)
    return ureg.Quantity(v, unit)
