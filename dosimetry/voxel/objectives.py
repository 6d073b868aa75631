"""Activity from voxel objectives: the largest activity meeting every voxel safety limit, or the
activity reaching a tumour target, naming the objective that binds.

With microspheres the dose map is linear in the administered activity A: ``D = A d`` with ``d``
the dose per unit activity (e.g. the MAA SPECT scaled to 1 GBq, through
:func:`dosimetry.voxel.local_deposition` or :func:`dosimetry.voxel.convolve_dose`). The metrics
used here are positively homogeneous of degree 1 in the dose: the mean, and D_x (sorting the
voxels by dose does not change when every dose is multiplied by A > 0). So an objective
``metric(D) <= L`` (limit) or ``metric(D) >= T`` (target) is met exactly from/up to

    A = value / metric(d)

and the largest activity meeting every limit is the smallest of these; the objective reaching
it binds (the partition model's "binding constraint", EANM 2022 guideline, Weber et al., Eur J
Nucl Med Mol Imaging 49:1682; the same reasoning over voxel metrics). A limit whose ROI gets no
dose never binds (its activity is infinite). Limits are passed in as data (name, ROI, metric,
bound, value); none is built in. For a cumulative limit with an earlier treatment, pass the
remaining room (limit minus the prior dose) as the value of a ``mean`` objective.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_, quantity
from .geometry import Volume
from .measure import mask_weights
from .metrics import dvh

__all__ = ["VoxelObjective", "ActivitySolution", "objective_metric", "solve_activity"]

_METRIC = re.compile(r"^(mean|D(\d+(?:\.\d+)?))$")


@dataclass(frozen=True)
class VoxelObjective:
    """One voxel objective: ``metric(dose in roi) <= value`` (bound "max") or ``>= value`` ("min").

    Parameters
    ----------
    name : str
        Shown as the binding objective, e.g. ``"lungs mean <= 30 Gy"``.
    roi : Volume
        Boolean or fractional mask on the dose grid.
    metric : str
        ``"mean"`` (volume-weighted mean dose) or ``"Dx"`` with x in [0, 100], e.g. ``"D70"``
        (minimum dose to the hottest x % of the ROI, :meth:`dosimetry.voxel.metrics.DVH.dose_at`).
    bound : str
        ``"max"`` for a safety limit, ``"min"`` for a target.
    value : pint.Quantity or str
        The limit or target [Gy], >= 0.
    """

    name: str
    roi: Volume
    metric: str
    bound: str
    value: pint.Quantity

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("objective.name", "expected a non-empty name")
        f = f"objectives[{self.name!r}]"
        if not isinstance(self.roi, Volume):
            raise InputError(f"{f}.roi", f"expected a mask Volume, got {type(self.roi).__name__}")
        m = _METRIC.match(str(self.metric))
        if m is None or (m.group(2) is not None and not 0 <= float(m.group(2)) <= 100):
            raise InputError(f"{f}.metric", f"{self.metric!r}: allowed 'mean' or 'Dx' with x in [0, 100], e.g. 'D70'")
        if self.bound not in ("max", "min"):
            raise InputError(f"{f}.bound", f"{self.bound!r}: allowed 'max' (limit) or 'min' (target)")
        object.__setattr__(self, "value", quantity(self.value, "Gy", f"{f}.value", minimum=0))


@dataclass(frozen=True)
class ActivitySolution:
    """Result of :func:`solve_activity`.

    Attributes
    ----------
    activity : pint.Quantity
        The solved activity [GBq]: the largest meeting every limit, or the target's when the limits
        allow it.
    binding : str
        Name of the objective that sets ``activity``.
    max_safe_activity : pint.Quantity
        Largest activity meeting every limit [GBq] (inf when no limit constrains it).
    target_activity : pint.Quantity or None
        Activity at which the target is exactly reached [GBq]; None without a target.
    target_met : bool or None
        Whether the target is reachable within the limits; None without a target.
    objective_activities : dict of str to pint.Quantity
        Per objective, the activity at which it is exactly met [GBq] (inf if its ROI gets no dose).
    doses : dict of str to pint.Quantity
        Per objective, its metric at ``activity`` [Gy].
    """

    activity: pint.Quantity
    binding: str
    max_safe_activity: pint.Quantity
    target_activity: pint.Quantity | None
    target_met: bool | None
    objective_activities: dict
    doses: dict


def _per_activity(dose_per_activity) -> Volume:
    """The dose-per-activity map as a Gy map for 1 GBq, validated."""
    if not isinstance(dose_per_activity, Volume):
        raise InputError("dose_per_activity", f"expected a Volume in Gy/GBq, got {type(dose_per_activity).__name__}")
    scale = quantity(Q_(1.0, dose_per_activity.unit), "Gy/GBq", "dose_per_activity").magnitude
    d = np.asarray(dose_per_activity.array, dtype=np.float64) * float(scale)
    if not np.all(np.isfinite(d)) or d.min() < 0:
        raise InputError("dose_per_activity", "values must be finite and >= 0 Gy/GBq")
    return dose_per_activity.with_array(d, "Gy")


def objective_metric(dose: Volume, objective: VoxelObjective) -> pint.Quantity:
    """The objective's metric of a dose map [Gy] (mean or D_x over its ROI)."""
    w = mask_weights(objective.roi, dose, f"objectives[{objective.name!r}].roi")
    if objective.metric == "mean":
        to_gy = float(Q_(1, dose.unit).to("Gy").magnitude)
        d = np.asarray(dose.array, dtype=np.float64)
        if to_gy != 1.0:  # x * 1.0 is x: a map in Gy (solve_activity's) is not copied for each objective (issue 22)
            d = d * to_gy
        return Q_(float(np.dot(d.ravel(), w.ravel()) / w.sum()), "Gy")
    return dvh(dose, objective.roi).dose_at(float(objective.metric[1:]))


def solve_activity(dose_per_activity: Volume, limits: Sequence, target: VoxelObjective | None = None) -> ActivitySolution:
    """Largest activity meeting every voxel limit, or the activity reaching a target within them.

    Parameters
    ----------
    dose_per_activity : Volume
        Absorbed dose per unit administered activity [Gy/GBq], >= 0 (dose is linear in activity).
    limits : sequence of VoxelObjective
        Safety limits (bound ``"max"``), e.g. normal liver mean <= 40 Gy, lungs mean <= 30 Gy.
    target : VoxelObjective, optional
        Target (bound ``"min"``), e.g. tumour D70 >= 205 Gy or tumour mean >= 120 Gy.

    Returns
    -------
    ActivitySolution
        Without a target: ``activity`` = the largest safe activity, ``binding`` = the limit that
        sets it. With a target: ``activity`` = min(target activity, largest safe activity),
        ``binding`` = the target when it is reachable, else the limit that stops it.

    Raises
    ------
    InputError
        Bad objectives (a limit with bound "min", a target with bound "max", names repeated), a
        target ROI without dose, or no limit constraining the activity when no target is given.
    """
    d1 = _per_activity(dose_per_activity)
    limits = list(limits)
    names = [o.name for o in limits] + ([target.name] if target is not None else [])
    if len(set(names)) != len(names):
        raise InputError("limits", "objective names must be unique")
    acts: dict[str, float] = {}
    per_gbq: dict[str, float] = {}
    for o in limits:
        if not isinstance(o, VoxelObjective):
            raise InputError("limits", f"expected VoxelObjective items, got {type(o).__name__}")
        if o.bound != "max":
            raise InputError(f"objectives[{o.name!r}].bound", "a safety limit has bound 'max'; pass a target as target=")
        m = objective_metric(d1, o).magnitude
        per_gbq[o.name] = m
        acts[o.name] = o.value.magnitude / m if m > 0 else math.inf
    if limits:
        binding_limit = min(acts, key=acts.__getitem__)
        a_safe = acts[binding_limit]
    else:
        binding_limit, a_safe = None, math.inf
    a_target: float | None = None
    if target is not None:
        if not isinstance(target, VoxelObjective) or target.bound != "min":
            raise InputError("target", "expected a VoxelObjective with bound 'min'")
        m = objective_metric(d1, target).magnitude
        if m <= 0:
            raise InputError(f"objectives[{target.name!r}].roi", "the target ROI receives no dose; no activity reaches the target")
        per_gbq[target.name] = m
        a_target = target.value.magnitude / m
        acts[target.name] = a_target
    if target is None:
        if binding_limit is None or math.isinf(a_safe):
            raise InputError("limits", "no limit constrains the activity (no limits, or their ROIs receive no dose)")
        activity, binding, met = a_safe, binding_limit, None
    elif a_target is not None and a_target <= a_safe:  # a_target is set whenever target is
        activity, binding, met = a_target, target.name, True
    else:
        assert binding_limit is not None  # the target needs more than a finite limit allows
        activity, binding, met = a_safe, binding_limit, False
    return ActivitySolution(
        activity=Q_(activity, "GBq"),
        binding=binding,
        max_safe_activity=Q_(a_safe, "GBq"),
        target_activity=None if a_target is None else Q_(a_target, "GBq"),
        target_met=met,
        objective_activities={n: Q_(a, "GBq") for n, a in acts.items()},
        doses={n: Q_(activity * m, "Gy") for n, m in per_gbq.items()},
    )
