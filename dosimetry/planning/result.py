"""Result types shared by the planning models: :class:`Plan` and :class:`LimitCheck`.

A :class:`Plan` is a frozen record of one prescription (or of 10^5 of them, when the inputs were
arrays): the prescribed activity, every intermediate figure, the dose coefficient used, each
checked limit and the warnings. :meth:`Plan.to_json` gives the JSON contract of docs/cli.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import math

import numpy as np
import pint

from ..units import to_json as _q_json
from ..vocabulary import DeviceName, Method, Origin
from . import verdict as _verdict

__all__ = ["LimitCheck", "Plan"]


def _finite(x: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by None, recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, list):
        return [_finite(v) for v in x]
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    return x


def _plain(x: Any) -> Any:
    """JSON-friendly value: Quantities as {"value","unit"}, arrays as lists, numpy scalars as Python."""
    if isinstance(x, pint.Quantity):
        return _q_json(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (tuple, list)):
        return [_plain(v) for v in x]
    if isinstance(x, Mapping):
        return {k: _plain(v) for k, v in x.items()}
    return x


@dataclass(frozen=True)
class LimitCheck:
    """One dose (or other) figure of a plan checked against one threshold.

    Parameters
    ----------
    name : str
        The figure checked: ``"lung_dose"``, ``"cumulative_lung_dose"``, ``"normal_liver_dose"``,
        ``"tumour_dose"``, ``"target_dose"`` or ``"lung_shunt_fraction"``.
    description : str
        Human-readable threshold, e.g. ``"lung dose per treatment <= 30 Gy"``.
    value : pint.Quantity
        The plan's figure [Gy, or dimensionless for a fraction].
    limit : pint.Quantity
        The threshold, same dimension as ``value``.
    bound : str
        ``"max"`` (the value must not exceed the limit) or ``"min"`` (it must reach it).
    safety : bool
        True for a safety limit (a failure blocks the plan: CLI exit status 1); False for an
        efficacy threshold (a failure only warns).
    passed : bool or numpy.ndarray
        Whether the value meets the threshold (element-wise for array plans).
    source : str
        Publication or instructions for use the threshold comes from (table and row).
    label : str
        Human name of the figure, e.g. ``"whole normal liver dose"``.
    volume : str
        The volume the figure is a mean over, e.g. ``"whole non-tumoral liver"``.
    inclusive : bool
        Whether a value equal to the limit meets it.
    override : bool
        The limit is a clinic's own value, not the guideline's.
    note : str
        What was assumed to check it (e.g. the perfused normal liver stands in for the whole).
    origin : Origin
        What the value comes from: plan, vial, vial at the planned time, voxel or session.
    p_exceed : float or None
        Safety checks of an uncertainty analysis: the probability that the limit is crossed at the
        prescribed activity (:mod:`dosimetry.planning.uncertainty`); None when none was run.
    """

    name: str
    description: str
    value: pint.Quantity
    limit: pint.Quantity
    bound: str
    safety: bool
    passed: Any
    source: str
    label: str = ""
    volume: str = ""
    inclusive: bool = True
    override: bool = False
    note: str = ""
    origin: Origin = Origin.PLAN
    p_exceed: float | None = None

    def to_json(self) -> dict:
        """``{"name", "label", "description", "volume", "value", "limit", "bound", "inclusive",
        "kind", "pass", "override", "note", "source"}``, and ``p_exceed`` when an uncertainty
        analysis gave one."""
        out = {
            "name": self.name,
            "label": self.label or self.name,
            "description": self.description,
            "volume": self.volume,
            "value": _q_json(self.value),
            "limit": _q_json(self.limit),
            "bound": self.bound,
            "inclusive": self.inclusive,
            "kind": "safety" if self.safety else "efficacy",
            "pass": _plain(self.passed),
            "override": self.override,
            "note": self.note,
            "origin": self.origin,
            "source": self.source,
        }
        if self.p_exceed is not None:
            out["p_exceed"] = float(self.p_exceed)
        return _finite(out)


@dataclass(frozen=True)
class Plan:
    """A prescription and everything it was derived from.

    Activities are at the administration time. ``prescribed_activity`` is what is prepared
    (the vial or syringe); the patient receives ``delivered_activity`` = prescribed * (1 - R),
    R the residual fraction left in vial and tubing. Of the delivered activity the fraction LSF
    goes to the lungs and (1 - LSF) to the liver.

    Parameters
    ----------
    method : Method
        ``"mird"``, ``"bsa"``, ``"empirical"`` or ``"partition"`` (:class:`~dosimetry.vocabulary.Method`).
    device : DeviceName
        ``"glass"`` or ``"resin"`` (:class:`~dosimetry.vocabulary.DeviceName`).
    clinical : Clinical
        The clinical scenario the thresholds were chosen for (indication, extent, liver function).
    prescribed_activity : pint.Quantity
        Activity to prepare [GBq].
    delivered_activity : pint.Quantity
        Activity reaching the patient, prescribed * (1 - R) [GBq].
    dose_coefficient : pint.Quantity
        K used for every dose of the plan [Gy kg/GBq].
    lung_shunt_fraction, residual_fraction : float or numpy.ndarray
        LSF and R, dimensionless.
    lung_mass : pint.Quantity
        [kg].
    lung_dose : pint.Quantity
        Lung dose of this treatment [Gy].
    prior_lung_dose : pint.Quantity
        Lung dose of earlier treatments [Gy].
    cumulative_lung_dose : pint.Quantity
        prior + this treatment [Gy].
    max_safe_activity : pint.Quantity
        Largest prescribed activity within every safety limit [GBq] (inf when nothing limits).
    binding_constraint : str or numpy.ndarray
        The safety limit that sets ``max_safe_activity``.
    limits : tuple of LimitCheck
        Every checked threshold.
    warnings : tuple of str
        Everything the physicist should read (failed thresholds, reductions applied, ...).
    notes : tuple of str
        What the threshold choice assumed (a condition not stated, a missing indication, ...).
    target_mass, target_dose : pint.Quantity or None
        Perfused (treated) mass [kg] and its mean dose [Gy].
    normal_liver_mass, normal_liver_dose : pint.Quantity or None
        Non-tumoral perfused liver [kg] and its mean dose [Gy] (every method: with the
        tumour-to-normal ratios when given, uniform uptake otherwise).
    whole_normal_liver_mass, whole_normal_liver_dose : pint.Quantity or None
        Whole non-tumoral liver [kg] and its mean dose [Gy], when the whole-liver volume is known.
    tumour_mass, tumour_dose : pint.Quantity or None
        Tumour mass [kg] and dose [Gy]; for several tumours the first axis indexes the tumour.
    tumour_to_normal : float, numpy.ndarray or None
        Tumour-to-normal uptake ratio(s) used.
    details : Mapping[str, Any]
        Model-specific intermediate figures (BSA, perfused fraction, shunt reduction, ...).
    uncertainty : PlanUncertainty or None
        The figures' 95 % intervals and the inputs ranked by their share of the variance
        (:func:`dosimetry.planning.uncertainty.with_uncertainty`); None when not computed.
    """

    method: Method
    device: DeviceName
    clinical: Any
    prescribed_activity: pint.Quantity
    delivered_activity: pint.Quantity
    dose_coefficient: pint.Quantity
    lung_shunt_fraction: Any
    residual_fraction: Any
    lung_mass: pint.Quantity
    lung_dose: pint.Quantity
    prior_lung_dose: pint.Quantity
    cumulative_lung_dose: pint.Quantity
    max_safe_activity: pint.Quantity
    binding_constraint: Any
    limits: tuple = ()
    warnings: tuple = ()
    target_mass: pint.Quantity | None = None
    target_dose: pint.Quantity | None = None
    normal_liver_mass: pint.Quantity | None = None
    normal_liver_dose: pint.Quantity | None = None
    tumour_mass: pint.Quantity | None = None
    tumour_dose: pint.Quantity | None = None
    tumour_to_normal: Any = None
    whole_normal_liver_mass: pint.Quantity | None = None
    whole_normal_liver_dose: pint.Quantity | None = None
    notes: tuple = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    uncertainty: Any = None
    #: What the physicist must decide and record before the plan is given (the contraindication
    #: screen's DECIDE rows): the status is then NEEDS A DECISION, never WITHIN LIMITS.
    decisions: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "limits", tuple(self.limits))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "decisions", tuple(self.decisions))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def within_limits(self) -> Any:
        """True where every *safety* limit passes (bool, or bool array for array plans)."""
        return _verdict.within_limits(self.limits)

    @property
    def failed_limits(self) -> tuple:
        """The safety checks that fail for at least one plan."""
        return _verdict.failed(self.limits)

    def to_json(self) -> dict:
        """The plan in the JSON contract: quantities as ``{"value", "unit"}``.

        Keys always present: ``method``, ``device``, ``clinical``, ``prescribed_activity``,
        ``delivered_activity``, ``dose_coefficient``, ``lung_shunt_fraction``,
        ``residual_fraction``, ``lung_mass``, ``lung_dose``, ``prior_lung_dose``,
        ``cumulative_lung_dose``, ``max_safe_activity``, ``binding_constraint``,
        ``within_limits``, ``limits``, ``warnings``, ``details``; and, where the model has them,
        ``target_mass``, ``target_dose``, ``normal_liver_mass``, ``normal_liver_dose``,
        ``tumour_mass``, ``tumour_dose``, ``tumour_to_normal``. Non-finite numbers (an
        unbounded ``max_safe_activity``, the NaN shunt reduction of a refused resin plan) become
        ``null``.
        """
        out = {
            "method": self.method,
            "device": self.device,
            "clinical": self.clinical.to_json(),
            "prescribed_activity": _q_json(self.prescribed_activity),
            "delivered_activity": _q_json(self.delivered_activity),
            "dose_coefficient": _q_json(self.dose_coefficient),
            "lung_shunt_fraction": _plain(self.lung_shunt_fraction),
            "residual_fraction": _plain(self.residual_fraction),
            "lung_mass": _q_json(self.lung_mass),
            "lung_dose": _q_json(self.lung_dose),
            "prior_lung_dose": _q_json(self.prior_lung_dose),
            "cumulative_lung_dose": _q_json(self.cumulative_lung_dose),
            "max_safe_activity": _q_json(self.max_safe_activity),
            "binding_constraint": _plain(self.binding_constraint),
            "within_limits": _plain(self.within_limits),
            "limits": [c.to_json() for c in self.limits],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "decisions": list(self.decisions),
        }
        for key in ("target_mass", "target_dose", "normal_liver_mass", "normal_liver_dose", "whole_normal_liver_mass", "whole_normal_liver_dose", "tumour_mass", "tumour_dose", "tumour_to_normal"):
            v = getattr(self, key)
            if v is not None:
                out[key] = _plain(v)
        out["details"] = _plain(dict(self.details))
        if self.uncertainty is not None:
            for key, interval in self.uncertainty.figures.items():
                if isinstance(out.get(key), dict):
                    out[key]["uncertainty"] = interval.to_json(unit=getattr(self, key).units)
            out["uncertainty"] = self.uncertainty.to_json()
        return _finite(out)
