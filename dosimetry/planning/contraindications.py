"""The contraindication screen: conditions the instructions for use and the guidelines name, as data.

Every row says which figure it bounds, in which scenario, whether a finding blocks the plan (a
contraindication) or is a warning, and where it comes from. :func:`screen` turns the rows that
apply into :class:`~dosimetry.planning.result.LimitCheck` objects of origin
``"contraindication screen"`` (blocks, through the one verdict rule of :mod:`.verdict`) and warning
lines. It is called by every plan (:func:`dosimetry.planning.assemble.assemble_plan`) and by the
voxel-only assessment (:func:`dosimetry.workflow.assess.assess`), so every command screens.

Sources, as read (issue 21; docs/formulas.md, "Contraindication screen"):

- TheraSphere package insert (USA, BTG / Boston Scientific, the revision filed 2014-09-24 and the
  current "Brief Summary", read on the manufacturer's site): WARNINGS list "bilirubin > 2 mg/dL"
  among the pre-treatment high-risk factors associated with serious adverse events;
  CONTRAINDICATIONS include lung shunting that could deliver more than 16.5 mCi (0.61 GBq) of Y-90
  to the lungs, and more than 70 % tumour replacement of the liver (also in the CONTRAINDICATIONS of
  the instructions for use for HCC, the 2021 premarket-approval label, as quoted by a device
  registry page): screened for glass when the whole liver volume is known.
- SIR-Spheres instructions for use (Sirtex, "approved indication" pages, US and AP): contraindicated
  with more than 20 % lung shunting on Tc-99m MAA (already a check of every resin plan,
  :func:`dosimetry.planning.assemble.shunt_check`), and with "markedly abnormal synthetic and
  excretory liver function tests" (no figure given).
- van Roekel C, PhD thesis, Utrecht University, Table 1 ("Common indications and relative and
  absolute contraindications for radioembolization"): absolute contraindication serum bilirubin
  > 34.2 umol/L (2 mg/dL); expected lung dose > 30 Gy (or 50 Gy cumulative).
- Reviews and consensus lists repeat "bilirubin greater than 2 mg/dL in the absence of a reversible
  cause"; the consensus paper this is usually attributed to (Kennedy et al., REBOC 2007) was NOT
  read here, and no source read states that segmental treatment is exempt: the screen blocks
  non-segmental treatment (the scenario issue 21 names) and makes a segmental one NEEDS A DECISION.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import numpy as np
import pint

from ..units import Q_, unit_string, to_unit
from ..vocabulary import DeviceName, Origin
from .clinical import Clinical, Extent
from .result import LimitCheck
from .verdict import headroom, passes

__all__ = ["Action", "Contraindication", "CONTRAINDICATIONS", "screen", "screen_caps"]

_TS_IFU = "TheraSphere package insert (USA; BTG / Boston Scientific, revision filed 2014-09-24)"
_THESIS = "van Roekel, PhD thesis (Utrecht), Table 1: absolute contraindication serum bilirubin > 34.2 umol/L (2 mg/dL)"
_TS_IFU_HCC = ("TheraSphere instructions for use for HCC (Boston Scientific; the 2021 premarket-approval label, "
               "CONTRAINDICATIONS: '>70% tumor replacement in the liver')")
_NOT_SEGMENTAL = (None, Extent.WHOLE_LIVER, Extent.BILOBAR, Extent.LOBAR)


class Action(str, Enum):
    """What a raised row does: BLOCK the plan (a contraindication the source states), or ask for a
    recorded DECISION (a risk factor the source names without stating a contraindication for this
    scenario): never a bare warning line under a WITHIN LIMITS verdict."""

    BLOCK = "block"
    DECIDE = "decide"


@dataclass(frozen=True)
class Contraindication:
    """One row of the screen.

    Parameters
    ----------
    name : str
        Key of the figure it bounds (``"bilirubin"``, ``"lung_activity"``).
    label : str
        What a physicist reads.
    limit : pint.Quantity
        The threshold (a finding above it, or at it when ``inclusive`` is False, is raised).
    inclusive : bool
        Whether a figure equal to the limit passes.
    action : Action
        BLOCK: a contraindication (the plan is BLOCKED); DECIDE: the plan NEEDS A DECISION.
    source : str
        Instructions for use or guideline, with edition and section.
    devices : tuple of DeviceName
        The products it applies to.
    extents : tuple
        The treatment extents it applies to (None in the tuple: also when not stated).
    """

    name: str
    label: str
    limit: pint.Quantity
    inclusive: bool
    action: Action
    source: str
    devices: tuple = tuple(DeviceName)
    extents: tuple = (None, *Extent)

    def describe(self) -> str:
        return self._description

    @cached_property
    def _description(self) -> str:  # the rows are constants: built once (issue 22, the scalar plan)
        op = "<=" if self.inclusive else "<"
        if self.limit.dimensionless:  # a fraction: in percent, as the sources write it
            return f"{self.label} {op} {self.limit.to('').magnitude * 100:g} %"
        return f"{self.label} {op} {self.limit.magnitude:g} {unit_string(self.limit)}"


#: The screen (see the module docstring for the sources as read).
CONTRAINDICATIONS: tuple = (
    Contraindication("bilirubin", "total bilirubin (non-segmental treatment)", Q_(2.0, "mg/dL"), True, Action.BLOCK,
                     _THESIS + "; " + _TS_IFU + ", WARNINGS: bilirubin > 2 mg/dL is a pre-treatment high-risk factor",
                     extents=_NOT_SEGMENTAL),
    Contraindication("bilirubin", "total bilirubin (segmental treatment)", Q_(2.0, "mg/dL"), True, Action.DECIDE,
                     _TS_IFU + ", WARNINGS: bilirubin > 2 mg/dL is a pre-treatment high-risk factor; no source read exempts "
                     "segmental treatment from the contraindication: decide and record why", extents=(Extent.SEGMENTAL,)),
    Contraindication("lung_activity", "activity shunted to the lungs", Q_(0.61, "GBq"), True, Action.BLOCK,
                     _TS_IFU + ", CONTRAINDICATIONS: lung shunting that could deliver more than 16.5 mCi (0.61 GBq) of Y-90 to the lungs",
                     devices=(DeviceName.GLASS,)),
    Contraindication("tumour_replacement", "tumour replacement of the liver (tumour volume / whole liver volume)", Q_(0.70, ""), True, Action.BLOCK,
                     _TS_IFU_HCC, devices=(DeviceName.GLASS,)),
)

#: Rows whose figure is a condition of the patient, not of the activity: raised, no activity is safe.
_CONDITIONS = ("bilirubin", "tumour_replacement")


def _figures(c: Clinical, figures: dict) -> dict:
    """The screened figures by row name: the scenario's bilirubin [mg/dL] and the ``figures`` given."""
    values = dict(figures)
    if c.bilirubin is not None:
        values["bilirubin"] = to_unit(c.bilirubin, "mg/dL")
    return values


def screen(device, clinical: Clinical | None, figures: dict) -> tuple[tuple, tuple]:
    """The contraindication checks and warnings of a scenario.

    Parameters
    ----------
    device : str or None
        ``"glass"`` or ``"resin"``; None screens the rows of both products.
    clinical : Clinical or None
        The scenario (bilirubin, extent).
    figures : dict
        Figures other than the scenario's, by row name: ``"lung_activity"`` [GBq] (prescribed
        activity x (1 - residual) x lung shunt fraction; scalar or array), ``"tumour_replacement"``
        (dimensionless: every tumour's volume over the whole liver's). A missing figure skips its row.

    Returns
    -------
    (tuple of LimitCheck, tuple of str)
        Blocking rows as safety checks (origin ``"contraindication screen"``; failing or passing,
        so the report lists what was screened); the decisions of the DECIDE rows that are raised
        (each with its figure, threshold and source), which make the status NEEDS A DECISION.
    """
    c = clinical or Clinical()
    values = _figures(c, figures)
    checks, decisions = [], []
    for row in CONTRAINDICATIONS:
        if (device is not None and device not in row.devices) or c.extent not in row.extents:
            continue
        v = values.get(row.name)
        if v is None:
            continue
        v = to_unit(v, row.limit.units)
        ok = passes(v.magnitude, row.limit.magnitude, "max", row.inclusive)
        if row.action is Action.BLOCK:
            checks.append(LimitCheck(row.name, row.describe(), v, row.limit, "max", True, ok, row.source, label=row.label,
                                     volume="-", inclusive=row.inclusive, origin=Origin.SCREEN))
        elif not np.all(ok):
            decisions.append(f"contraindication screen: {row.label} {float(np.max(v.magnitude)):.3g} {unit_string(v)} exceeds {row.describe()} ({row.source})")
    return tuple(checks), tuple(decisions)


def screen_caps(device, clinical: Clinical | None, lung_activity_per_gbq, conditions: dict | None = None) -> list:
    """The largest prepared activity each blocking row allows [GBq magnitudes], as
    :func:`dosimetry.planning.limits.caps` gives them for the dose limits: a condition of the
    patient (bilirubin from ``clinical``, ``conditions["tumour_replacement"]``) allows none when
    raised and any otherwise; the activity shunted to the lungs (``lung_activity_per_gbq`` =
    (1 - residual) x LSF per prepared GBq) allows its limit over it."""
    c = clinical or Clinical()
    values = _figures(c, conditions or {})
    out: list[tuple[str, float | np.ndarray]] = []
    for row in CONTRAINDICATIONS:
        if row.action is not Action.BLOCK or (device is not None and device not in row.devices) or c.extent not in row.extents:
            continue
        if row.name in _CONDITIONS and values.get(row.name) is not None:
            ok = passes(values[row.name].to(row.limit.units).magnitude, row.limit.magnitude, "max", row.inclusive)
            out.append((row.name, np.where(ok, np.inf, 0.0) if np.ndim(ok) else (0.0 if not ok else np.inf)))
        elif row.name == "lung_activity":
            per = np.asarray(lung_activity_per_gbq, dtype=float)
            room = headroom(to_unit(row.limit, "GBq").magnitude, row.inclusive)
            # A shunted share so small (a subnormal float) that room / per passes the largest float
            # allows any activity: the cap is inf, as for per == 0 (not a warning on overflow).
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                cap = np.where(per > 0, room / np.where(per > 0, per, 1.0), np.inf)
            out.append((row.name, float(cap) if cap.ndim == 0 else cap))
    return out
