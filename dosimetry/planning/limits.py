"""Dose thresholds as the guideline states them, as data, and the check of a plan's figures.

Every row of :data:`THRESHOLDS` says which figure it bounds, over which volume, in which scenario
(device, indication, extent, liver function), with which bound (inclusive or strict) and where it
comes from (publication, table, row). :func:`applicable` picks the rows for a
:class:`~dosimetry.planning.clinical.Clinical` scenario, :func:`check` compares figures with them and
:func:`caps` turns the safety limits into the largest activity each allows (every figure is linear
in the activity).

Sources (EANM: Weber M, Lam M, Chiesa C, et al. EANM procedure guideline for the treatment of liver
cancer and liver metastases with intra-arterial radioactive compounds. Eur J Nucl Med Mol Imaging
2022;49:1682-1699; Table 2 glass, Table 3 resin, read in the PMC copy PMC8940802):

======  ========================  =============================  =====================  ==========================
device  figure                    scenario                       bound                  source
======  ========================  =============================  =====================  ==========================
glass   lung dose                 all                            <= 30 Gy               TheraSphere IFU
glass   cumulative lung dose      all                            <= 50 Gy               Ho 1997 (common practice)
glass   whole normal liver        not segmental, bili <= 1.1     < 75 Gy                EANM T2 (range 50/90)
glass   whole normal liver        bilirubin > 1.1 mg/dL          < 50 Gy                EANM T2 footnote ***
glass   tumour (mean)             HCC / ICC / colorectal         >= 205 / 260 / 189 Gy  EANM T2
glass   perfused volume           segmental                      >= 400 Gy (T2: > 400)  EANM T2 segmentectomy
resin   lung dose                 all                            <= 25 Gy               (not re-verified)
resin   cumulative lung dose      all                            <= 50 Gy               Ho 1997 (common practice)
resin   perfused normal liver     lobar, or not compromised      < 40 Gy                EANM T3 unilobar/bilobar
resin   perfused normal liver     bilobar/whole, compromised     < 30 Gy                EANM T3 bilobar **
resin   tumour (mean)             HCC / ICC / colorectal         >= 100 Gy              EANM T3 (100-120; > 100)
resin   perfused volume           segmental                      >= 150 Gy (T3: > 150)  EANM T3 segmentectomy
======  ========================  =============================  =====================  ==========================

Policy (docs/formulas.md, "Thresholds"):

- Safety limits use the bound the source writes (``<`` strict, ``<=`` inclusive); a relative
  tolerance of 1e-9 absorbs floating-point rounding of inclusive limits. The largest safe activity
  under a strict limit is taken 0.1 % below it (:data:`STRICT_MARGIN`).
- Efficacy thresholds are read as "reaches at least" (``>=``), so that a plan prescribed at the
  threshold meets it (EANM writes "> 400 Gy" for segmentectomy).
- A condition that is not stated (bilirubin, compromised liver) applies the base row and adds a
  note naming the key that would select the stricter one; an indication that is not stated, or one
  the guideline has no row for (neuroendocrine, other), gives no tumour threshold and a note.
- The glass whole-normal-liver limit needs the whole-liver mass; without it the perfused normal
  liver dose (never lower) is checked instead, with a note.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_, quantity, unit_string, to_unit
from .clinical import Clinical, Extent, Indication
from .result import LimitCheck
from .verdict import RTOL, STRICT_MARGIN, headroom, passes
from ..vocabulary import DeviceName

__all__ = [
    "Condition",
    "Threshold",
    "THRESHOLDS",
    "FIGURE_LABELS",
    "RTOL",
    "STRICT_MARGIN",
    "applicable",
    "check",
    "caps",
    "threshold_value",
    "warnings_for",
]

# RTOL and STRICT_MARGIN: how a bound passes and the room it leaves are ruled once, in .verdict.

_EANM = "EANM 2022 procedure guideline (Weber et al., EJNMMI 49:1682)"
_T2, _T3 = _EANM + ", Table 2 (glass)", _EANM + ", Table 3 (resin)"
_LUNG_GLASS = "TheraSphere instructions for use: lung dose above 30 Gy in a single treatment (radiation pneumonitis)"
_LUNG_CUM = "50 Gy cumulative lung dose over sequential treatments (Ho et al., Int J Radiat Oncol Biol Phys 1997; common practice, not in the EANM tables)"
_LUNG_RESIN = "resin lung limit 25 Gy per treatment (Lau et al., Int J Hepatol 2012; design brief; not re-verified against the SIR-Spheres IFU, which states only the 20 % shunt contraindication)"

#: Human text of each figure (never a code name in what a physicist reads).
FIGURE_LABELS: Mapping[str, str] = {
    "lung_dose": "lung dose (this treatment)",
    "cumulative_lung_dose": "cumulative lung dose",
    "whole_normal_liver_dose": "whole normal liver dose",
    "normal_liver_dose": "perfused normal liver dose",
    "tumour_dose": "tumour dose",
    "target_dose": "perfused volume dose",
    "lung_shunt_fraction": "lung shunt fraction",
    "bilirubin": "total bilirubin (contraindication screen)",
    "lung_activity": "activity shunted to the lungs (contraindication screen)",
    "tumour_replacement": "tumour replacement of the liver (contraindication screen)",
}

#: The volume each figure is a mean over.
FIGURE_VOLUMES: Mapping[str, str] = {
    "lung_dose": "lungs",
    "cumulative_lung_dose": "lungs, all treatments",
    "whole_normal_liver_dose": "whole non-tumoral liver",
    "normal_liver_dose": "perfused non-tumoral liver",
    "tumour_dose": "tumour (mean; the lowest of several)",
    "target_dose": "perfused volume",
    "lung_shunt_fraction": "-",
}


class Condition(str, enum.Enum):
    """A liver-function condition that selects a stricter row."""

    BILIRUBIN_ABOVE_1_1 = "total bilirubin > 1.1 mg/dL"
    COMPROMISED_BILOBAR = "bilobar or whole-liver treatment of a pretreated or compromised liver"

    def holds(self, c: Clinical):
        """True, False, or None when the scenario does not say."""
        if self is Condition.BILIRUBIN_ABOVE_1_1:
            return None if c.bilirubin is None else bool(to_unit(c.bilirubin, "mg/dL").magnitude > 1.1)
        if c.extent is Extent.LOBAR or c.extent is Extent.SEGMENTAL:
            return False
        return c.compromised_liver

    @property
    def key(self) -> str:
        return "clinical.bilirubin" if self is Condition.BILIRUBIN_ABOVE_1_1 else "clinical.compromised_liver"


ALL_INDICATIONS = (None, *Indication)
NOT_SEGMENTAL = (None, Extent.WHOLE_LIVER, Extent.BILOBAR, Extent.LOBAR)


@dataclass(frozen=True)
class Threshold:
    """One threshold of the guideline.

    Parameters
    ----------
    figure : str
        Plan figure it bounds (a key of :data:`FIGURE_LABELS`).
    device : str
        ``"glass"`` or ``"resin"``.
    bound : str
        ``"max"`` (must not exceed) or ``"min"`` (must reach).
    value : pint.Quantity
        Threshold [Gy, or dimensionless for a fraction].
    inclusive : bool
        Whether a figure equal to the threshold meets it.
    safety : bool
        Safety limit (a failure blocks) or efficacy threshold (a failure is reported apart).
    source : str
        Publication or instructions for use, with table and row.
    indications : tuple
        Indications it applies to (None in the tuple: also when not stated).
    extents : tuple
        Extents it applies to (None in the tuple: also when not stated).
    when : Condition or None
        Applies only when this condition holds.
    unless : Condition or None
        Applies unless this condition holds (when unknown it applies, with a note).
    override : bool
        A clinic's own value replaced the guideline's.
    """

    figure: str
    device: str
    bound: str
    value: pint.Quantity
    inclusive: bool
    safety: bool
    source: str
    indications: tuple = ALL_INDICATIONS
    extents: tuple = (None, *Extent)
    when: Condition | None = None
    unless: Condition | None = None
    override: bool = False

    @property
    def label(self) -> str:
        return FIGURE_LABELS.get(self.figure, self.figure)

    @property
    def volume(self) -> str:
        return FIGURE_VOLUMES.get(self.figure, "-")

    @property
    def operator(self) -> str:
        return {("max", True): "<=", ("max", False): "<", ("min", True): ">=", ("min", False): ">"}[(self.bound, self.inclusive)]

    def describe(self) -> str:
        """e.g. ``"whole normal liver dose < 75 Gy"``."""
        return self._described

    # A threshold is immutable (``replace`` makes a new one): its text and Gy value are computed once
    # (issue 22: every plan describes and converts every applicable threshold).
    @functools.cached_property
    def _described(self) -> str:
        v = self.value
        shown = f"{to_unit(v, 'dimensionless').magnitude * 100:g} %" if self.dimensionless else f"{to_unit(v, 'Gy').magnitude:g} Gy"
        return f"{self.label} {self.operator} {shown}"

    @functools.cached_property
    def dimensionless(self) -> bool:
        """The threshold is a fraction, not a dose."""
        return bool(self.value.dimensionless)

    @functools.cached_property
    def _gy_value(self) -> float:
        return to_unit(self.value, "Gy").magnitude

    def passes(self, value):
        """Whether a figure (magnitude in the threshold's unit, or an array of them) meets it."""
        return passes(value, self.value.magnitude, self.bound, self.inclusive)

    def headroom(self, used=0.0):
        """The largest figure [Gy magnitude] an activity may be sized to under this ``max`` limit."""
        return headroom(self._gy_value, self.inclusive, used)

    def applies(self, device: str, c: Clinical) -> bool:
        if self.device != device or c.indication not in self.indications or c.extent not in self.extents:
            return False
        if self.when is not None and self.when.holds(c) is not True:
            return False
        return not (self.unless is not None and self.unless.holds(c) is True)


def _gy(x):
    return Q_(float(x), "Gy")


#: The EANM 2022 table of each device.
_TABLE = {DeviceName.GLASS: _T2, DeviceName.RESIN: _T3}

_TUMOUR = {  # (device, indication) -> (Gy, source row)
    (DeviceName.GLASS, Indication.HCC): (205, "HCC, lobectomy / unilobar / bilobar: tumour >= 205 Gy (DOSISPHERE-01)"),
    (DeviceName.GLASS, Indication.ICC): (260, "ICC, lobectomy / unilobar / bilobar: tumour >= 260 Gy"),
    (DeviceName.GLASS, Indication.COLORECTAL): (189, "mCRC, lobectomy / unilobar / bilobar: tumour >= 189 Gy"),
    (DeviceName.RESIN, Indication.HCC): (100, "HCC: tumour >= 100-120 Gy (lower end used)"),
    (DeviceName.RESIN, Indication.ICC): (100, "ICC: tumour >= 100-120 Gy (lower end used)"),
    (DeviceName.RESIN, Indication.COLORECTAL): (100, "mCRC: tumour > 100 Gy (metabolic complete response; Levillain et al.)"),
}

#: The threshold table (see the module docstring).
THRESHOLDS: tuple = (
    Threshold("lung_dose", DeviceName.GLASS, "max", _gy(30), True, True, _LUNG_GLASS),
    Threshold("cumulative_lung_dose", DeviceName.GLASS, "max", _gy(50), True, True, _LUNG_CUM),
    Threshold("whole_normal_liver_dose", DeviceName.GLASS, "max", _gy(75), False, True, _T2 + ", whole normal liver < 75 Gy (range 50/90)", unless=Condition.BILIRUBIN_ABOVE_1_1),
    Threshold("whole_normal_liver_dose", DeviceName.GLASS, "max", _gy(50), False, True, _T2 + ", footnote ***: total bilirubin > 1.1 mg/dL, upper threshold 50 Gy", when=Condition.BILIRUBIN_ABOVE_1_1),
    Threshold("target_dose", DeviceName.GLASS, "min", _gy(400), True, False, _T2 + ", segmentectomy: perfused volume > 400 Gy", extents=(Extent.SEGMENTAL,)),
    Threshold("lung_dose", DeviceName.RESIN, "max", _gy(25), True, True, _LUNG_RESIN),
    Threshold("cumulative_lung_dose", DeviceName.RESIN, "max", _gy(50), True, True, _LUNG_CUM),
    Threshold("normal_liver_dose", DeviceName.RESIN, "max", _gy(40), False, True, _T3 + ", unilobar / bilobar: normal perfused liver < 40 Gy", extents=NOT_SEGMENTAL, unless=Condition.COMPROMISED_BILOBAR),
    Threshold("normal_liver_dose", DeviceName.RESIN, "max", _gy(30), False, True, _T3 + ", bilobar, footnote **: < 30 Gy in pretreated patients or compromised liver function", extents=NOT_SEGMENTAL, when=Condition.COMPROMISED_BILOBAR),
    Threshold("target_dose", DeviceName.RESIN, "min", _gy(150), True, False, _T3 + ", segmentectomy: perfused volume > 150 Gy", extents=(Extent.SEGMENTAL,)),
    *(
        Threshold("tumour_dose", dev, "min", _gy(v), True, False, _TABLE[dev] + ", " + row, indications=(ind,), extents=NOT_SEGMENTAL)
        for (dev, ind), (v, row) in _TUMOUR.items()
    ),
)

_OVERRIDE_KEYS = {
    "lung_dose": ("lung_dose",),
    "cumulative_lung_dose": ("cumulative_lung_dose",),
    "normal_liver": ("whole_normal_liver_dose", "normal_liver_dose"),
    "normal_liver_dose": ("whole_normal_liver_dose", "normal_liver_dose"),
}


def _device_name(device) -> DeviceName:
    name = device if isinstance(device, str) else getattr(device, "name", device)  # a str, DeviceName or Device
    if isinstance(name, str) and name in tuple(DeviceName):
        return DeviceName(name)
    raise InputError("treatment.device", f"unknown device {device!r}; allowed: {DeviceName.allowed()}", allowed=DeviceName.allowed())


def applicable(device, clinical: Clinical | None = None, overrides: Mapping[str, pint.Quantity] | None = None) -> tuple:
    """The thresholds of ``device`` in the ``clinical`` scenario, and notes on what was assumed.

    Parameters
    ----------
    device : str or Device
        ``"glass"`` or ``"resin"``.
    clinical : Clinical, optional
        The scenario; default nothing stated.
    overrides : mapping, optional
        A clinic's own limits [Gy] by key: ``"lung_dose"``, ``"cumulative_lung_dose"``,
        ``"normal_liver"`` (replaces the device's normal-liver limit, whatever volume it is on).
        They are marked as overrides in every check.

    Returns
    -------
    (tuple of Threshold, tuple of str)
    """
    dev = _device_name(device)
    c = clinical or Clinical()
    rows = [t for t in THRESHOLDS if t.applies(dev, c)]
    notes = []
    for t in rows:
        if t.unless is not None and t.unless.holds(c) is None:
            stricter = next(s for s in THRESHOLDS if s.device == dev and s.figure == t.figure and s.when is t.unless)
            notes.append(f"{t.unless.key.split('.')[1].replace('_', ' ')} not stated ({t.unless.key}): {t.describe()} applied; {stricter.describe()} applies when {t.unless.value}")
    if not any(t.figure == "tumour_dose" for t in rows) and c.extent is not Extent.SEGMENTAL:
        if c.indication is None:
            notes.append("indication not stated (clinical.indication): no tumour dose threshold is applied")
        else:
            notes.append(f"EANM 2022 gives no {dev} tumour dose threshold for {c.indication.label}: none is applied")
    if c.extent is Extent.SEGMENTAL and not any(t.figure in ("normal_liver_dose", "whole_normal_liver_dose") for t in rows):
        notes.append(f"EANM 2022 gives no normal-liver limit for a {dev} segmentectomy: none is applied")
    for key, val in (overrides or {}).items():
        if val is None:
            continue
        if key not in _OVERRIDE_KEYS:
            raise InputError("overrides", f"unknown limit {key!r}; allowed: lung_dose, cumulative_lung_dose, normal_liver")
        field = {"lung_dose": "lung.limit", "cumulative_lung_dose": "lung.cumulative_limit"}.get(key, "target.normal_liver_limit")
        v = quantity(val, "Gy", field, minimum=0, include_minimum=False)
        hit = False
        for i, t in enumerate(rows):
            if t.figure in _OVERRIDE_KEYS[key] and t.safety:
                rows[i] = replace(t, value=v, inclusive=True, override=True, source=f"clinic override ({field}); guideline: {t.describe()}, {t.source}")
                hit = True
        if not hit:
            figure = _OVERRIDE_KEYS[key][-1]
            rows.append(Threshold(figure, dev, "max", v, True, True, f"clinic override ({field})", override=True))
    return tuple(rows), tuple(notes)


def threshold_value(device, figure: str, clinical: Clinical | None = None) -> pint.Quantity | None:
    """The value of the applicable threshold on ``figure`` (None if there is none)."""
    rows, _ = applicable(device, clinical)
    return next((t.value for t in rows if t.figure == figure), None)


def _figure_for(t: Threshold, figures: Mapping) -> tuple:
    """(value, note) of the figure a threshold bounds; the whole-liver fallback is named."""
    val = figures.get(t.figure)
    if val is None and t.figure == "whole_normal_liver_dose" and figures.get("normal_liver_dose") is not None:
        return figures["normal_liver_dose"], "whole-liver volume not given (liver.volume): checked on the perfused normal liver, which is never lower"
    return val, ""


def check(thresholds, figures: Mapping[str, pint.Quantity | None], *, several_tumours: bool = False) -> tuple:
    """Compare figures with thresholds.

    Parameters
    ----------
    thresholds : sequence of Threshold
        From :func:`applicable`.
    figures : mapping of str to pint.Quantity or None
        The figures by name; a missing or None figure skips its thresholds.
    several_tumours : bool
        ``tumour_dose`` holds several tumours on axis 0: the lowest is checked against a minimum.

    Returns
    -------
    tuple of LimitCheck
    """
    out = []
    for t in thresholds:
        val, note = _figure_for(t, figures)
        if val is None:
            continue
        val = to_unit(val, t.value.units)
        mag = np.asarray(val.magnitude, dtype=float)
        if t.figure == "tumour_dose" and several_tumours:
            mag = mag.min(axis=0) if t.bound == "min" else mag.max(axis=0)
            val = Q_(mag if mag.ndim else float(mag), t.value.units)
        passed = t.passes(mag)
        out.append(LimitCheck(t.figure, t.describe(), val, t.value, t.bound, t.safety, passed, t.source, label=t.label, volume=t.volume, inclusive=t.inclusive, override=t.override, note=note))
    return tuple(out)


def caps(thresholds, per_gbq: Mapping[str, np.ndarray], prior_lung_dose=0.0) -> list:
    """The largest prepared activity each safety ``max`` limit allows [GBq magnitudes].

    Parameters
    ----------
    thresholds : sequence of Threshold
    per_gbq : mapping of str to array
        Dose per prepared GBq of each figure [Gy/GBq] (:meth:`Compartments.per_gbq`).
    prior_lung_dose : float or array
        Lung dose of earlier treatments [Gy], for the cumulative lung limit.

    Returns
    -------
    list of (figure, array)
        Infinite where the figure gets no dose; 0 where a prior dose already exceeds the limit.
    """
    out = []
    for t in thresholds:
        if not (t.safety and t.bound == "max") or t.dimensionless:
            continue
        figure = t.figure
        if figure == "cumulative_lung_dose":
            per, room = per_gbq.get("lung_dose"), t.headroom(prior_lung_dose)
        else:
            room = t.headroom()
            per = per_gbq.get(figure)
            if per is None and figure == "whole_normal_liver_dose":
                per = per_gbq.get("normal_liver_dose")
        if per is None:
            continue
        per = np.asarray(per, dtype=float)
        if figure == "tumour_dose":
            per = per.max(axis=0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cap = np.where(per > 0, np.maximum(room, 0.0) / np.where(per > 0, per, 1.0), np.where(np.asarray(room) >= 0, np.inf, 0.0))
        out.append((figure, cap))
    return out


def warnings_for(checks) -> tuple:
    """One line per failed check, naming the threshold and its source (array plans: how many fail)."""
    out = []
    for c in checks:
        if c.passed is True:  # one plan that passes (a bool): nothing to say, no numpy reduction (issue 22)
            continue
        p = np.asarray(c.passed, dtype=bool)
        if np.all(p):
            continue
        kind = "SAFETY LIMIT EXCEEDED" if c.safety else "below efficacy threshold" if c.bound == "min" else "above threshold"
        if p.ndim == 0:
            if c.value.dimensionless:
                shown = f"{float(to_unit(c.value, 'dimensionless').magnitude) * 100:.4g} %"
            else:
                shown = f"{float(c.value.magnitude):.4g} {unit_string(c.value)}"
            out.append(f"{kind}: {c.label} {shown} fails '{c.description}' ({c.source})")
        else:
            out.append(f"{kind}: {c.label} fails '{c.description}' in {int((~p).sum())} of {p.size} plans ({c.source})")
    return tuple(out)
