"""Dose thresholds by device and scenario, as data with their source, and the check of a plan.

Thresholds (EANM procedure guideline 2022: Weber M, Lam M, Chiesa C, et al., Eur J Nucl Med Mol
Imaging 2022;49:1682-1699, Tables 2 (glass) and 3 (resin), as summarised in the team's design
brief; the table rows could not be re-read from the primary text while writing this module):

===========  ==============  ======================  =======  ========  =========
device       scenario        figure                  bound    value     kind
===========  ==============  ======================  =======  ========  =========
glass        all             lung_dose               <=       30 Gy     safety
glass        all             cumulative_lung_dose    <=       50 Gy     safety
glass        standard        normal_liver_dose       <=       75 Gy     safety
glass        standard        tumour_dose             >=       205 Gy    efficacy
glass        segmentectomy   target_dose             >        400 Gy    efficacy
resin        all             lung_dose               <=       25 Gy     safety
resin        all             cumulative_lung_dose    <=       50 Gy     safety
resin        standard        normal_liver_dose       <=       40 Gy     safety
resin        standard        tumour_dose             >=       100 Gy    efficacy
===========  ==============  ======================  =======  ========  =========

Upper (safety) limits are inclusive: a dose equal to the limit passes, so the largest safe
activity of the partition model is itself within limits. A relative tolerance of 1e-9 absorbs
floating-point rounding at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_, quantity
from .result import LimitCheck

__all__ = ["Threshold", "THRESHOLDS", "SCENARIOS", "thresholds", "threshold_value", "check", "warnings_for"]

#: Relative tolerance for upper limits (floating-point rounding at the boundary).
RTOL = 1e-9

_EANM = "EANM 2022 procedure guideline (Weber et al., EJNMMI 49:1682), Table {t}"
_LUNG_GLASS = "TheraSphere package insert (30 Gy single treatment, 50 Gy cumulative; Ho et al., IJROBP 1997); EANM 2022 Table 2"
_LUNG_RESIN = "Resin lung limit 25 Gy per treatment (Lau et al., Int J Hepatol 2012, SIR-Spheres activity planning guide; design brief; not re-verified); 50 Gy cumulative (Ho et al., IJROBP 1997); EANM 2022 Table 3"

#: Scenarios known for each device ("standard" is the default).
SCENARIOS: Mapping[str, tuple] = {"glass": ("standard", "segmentectomy"), "resin": ("standard",)}

_FIGURE_TEXT = {
    "lung_dose": "lung dose per treatment",
    "cumulative_lung_dose": "cumulative lung dose",
    "normal_liver_dose": "normal liver dose",
    "tumour_dose": "tumour dose",
    "target_dose": "perfused-volume dose",
}


@dataclass(frozen=True)
class Threshold:
    """One dose threshold.

    Parameters
    ----------
    figure : str
        Plan figure it applies to (``"lung_dose"``, ``"tumour_dose"``, ...).
    device : str
        ``"glass"`` or ``"resin"``.
    scenarios : tuple of str
        Scenarios it applies to; ``("*",)`` for all.
    bound : str
        ``"max"`` or ``"min"``.
    value : pint.Quantity
        Threshold [Gy].
    inclusive : bool
        Whether a dose equal to the threshold meets it.
    safety : bool
        Safety limit (blocks a plan) or efficacy threshold (warns).
    source : str
        Where it comes from.
    """

    figure: str
    device: str
    scenarios: tuple
    bound: str
    value: pint.Quantity
    inclusive: bool
    safety: bool
    source: str

    def describe(self, value: pint.Quantity | None = None) -> str:
        """e.g. ``"lung dose per treatment <= 30 Gy"``."""
        v = self.value if value is None else value
        op = {("max", True): "<=", ("max", False): "<", ("min", True): ">=", ("min", False): ">"}[(self.bound, self.inclusive)]
        return f"{_FIGURE_TEXT.get(self.figure, self.figure)} {op} {v.to('Gy').magnitude:g} Gy"


#: The threshold table (see the module docstring).
THRESHOLDS: tuple = (
    Threshold("lung_dose", "glass", ("*",), "max", Q_(30.0, "Gy"), True, True, _LUNG_GLASS),
    Threshold("cumulative_lung_dose", "glass", ("*",), "max", Q_(50.0, "Gy"), True, True, _LUNG_GLASS),
    Threshold("normal_liver_dose", "glass", ("standard",), "max", Q_(75.0, "Gy"), True, True, _EANM.format(t=2) + ": whole normal liver < 75 Gy"),
    Threshold("tumour_dose", "glass", ("standard",), "min", Q_(205.0, "Gy"), True, False, _EANM.format(t=2) + ": HCC tumour >= 205 Gy"),
    Threshold("target_dose", "glass", ("segmentectomy",), "min", Q_(400.0, "Gy"), False, False, _EANM.format(t=2) + ": radiation segmentectomy > 400 Gy to the perfused volume"),
    Threshold("lung_dose", "resin", ("*",), "max", Q_(25.0, "Gy"), True, True, _LUNG_RESIN),
    Threshold("cumulative_lung_dose", "resin", ("*",), "max", Q_(50.0, "Gy"), True, True, _LUNG_RESIN),
    Threshold("normal_liver_dose", "resin", ("standard",), "max", Q_(40.0, "Gy"), True, True, _EANM.format(t=3) + ": normal perfused liver < 40 Gy (unilobar)"),
    Threshold("tumour_dose", "resin", ("standard",), "min", Q_(100.0, "Gy"), True, False, _EANM.format(t=3) + ": tumour >= 100-120 Gy (lower end used)"),
)


def _scenario(device: str, scenario: str | None) -> str:
    s = "standard" if scenario is None else str(scenario).strip().lower()
    if device not in SCENARIOS:
        raise InputError("treatment.device", f"unknown device {device!r}; allowed: {', '.join(SCENARIOS)}")
    if s not in SCENARIOS[device]:
        raise InputError("treatment.scenario", f"unknown scenario {scenario!r} for {device}; allowed: {', '.join(SCENARIOS[device])}")
    return s


def thresholds(device: str, scenario: str | None = "standard") -> tuple:
    """The thresholds that apply to ``device`` in ``scenario``.

    Raises
    ------
    InputError
        Unknown device (``treatment.device``) or scenario (``treatment.scenario``).
    """
    s = _scenario(device, scenario)
    return tuple(t for t in THRESHOLDS if t.device == device and ("*" in t.scenarios or s in t.scenarios))


def threshold_value(device: str, figure: str, scenario: str | None = "standard") -> pint.Quantity | None:
    """The value of the threshold on ``figure`` for ``device`` / ``scenario`` (None if there is none)."""
    for t in thresholds(device, scenario):
        if t.figure == figure:
            return t.value
    return None


def check(
    device: str,
    scenario: str | None = "standard",
    *,
    overrides: Mapping[str, pint.Quantity] | None = None,
    several_tumours: bool = False,
    **figures,
) -> tuple:
    """Check a plan's figures against the thresholds of ``device`` / ``scenario``.

    Parameters
    ----------
    device : str
        ``"glass"`` or ``"resin"``.
    scenario : str, optional
        Threshold scenario; default ``"standard"``.
    overrides : mapping of str to pint.Quantity, optional
        Threshold values replacing the table's, by figure name (e.g. a clinic's own lung limit).
        An override for a figure without a table row adds a safety ``max`` limit.
    several_tumours : bool
        ``tumour_dose`` holds several tumours on its first axis.
    **figures : pint.Quantity or None
        The plan's figures by name (``lung_dose=...``, ``tumour_dose=...``); None skips one.
        For several tumours (``several_tumours=True``) the lowest tumour dose is checked
        against a ``min`` threshold and the highest against a ``max``.

    Returns
    -------
    tuple of LimitCheck
    """
    overrides = dict(overrides or {})
    rows = list(thresholds(device, scenario))
    for name, val in overrides.items():
        if val is None:
            continue
        v = quantity(val, "Gy", name)
        found = False
        for i, t in enumerate(rows):
            if t.figure == name:
                rows[i] = Threshold(t.figure, t.device, t.scenarios, t.bound, v, t.inclusive, t.safety, "user override (default: " + t.source + ")")
                found = True
        if not found:
            rows.append(Threshold(name, device, ("*",), "max", v, True, True, "user override"))
    out = []
    for t in rows:
        val = figures.get(t.figure)
        if val is None:
            continue
        val = val.to(t.value.units)
        mag = np.asarray(val.magnitude, dtype=float)
        lim = t.value.magnitude
        if t.figure == "tumour_dose" and several_tumours:
            mag = mag.min(axis=0) if t.bound == "min" else mag.max(axis=0)
            val = Q_(mag if mag.ndim else float(mag), t.value.units)
        if t.bound == "max":
            tol = lim * RTOL
            passed = mag <= lim + tol if t.inclusive else mag < lim + tol
        else:
            passed = mag >= lim if t.inclusive else mag > lim
        passed = bool(passed) if np.ndim(passed) == 0 else passed
        out.append(LimitCheck(t.figure, t.describe(), val, t.value, t.bound, t.safety, passed, t.source))
    return tuple(out)


def warnings_for(checks) -> tuple:
    """One warning per failed check, naming the threshold and its source.

    For array plans the warning says how many plans fail.
    """
    out = []
    for c in checks:
        p = np.asarray(c.passed, dtype=bool)
        if np.all(p):
            continue
        kind = "SAFETY LIMIT EXCEEDED" if c.safety else "below efficacy threshold" if c.bound == "min" else "above threshold"
        if p.ndim == 0:
            if c.value.dimensionless:
                shown = f"{float(c.value.to('dimensionless').magnitude) * 100:.4g} %"
            else:
                shown = f"{float(c.value.magnitude):.4g} {c.value.units:~P}"
            out.append(f"{kind}: {c.name} {shown} fails '{c.description}' ({c.source})")
        else:
            out.append(f"{kind}: {c.name} fails '{c.description}' in {int((~p).sum())} of {p.size} plans ({c.source})")
    return tuple(out)
