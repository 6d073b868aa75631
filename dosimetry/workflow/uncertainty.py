"""The uncertainty analysis of one assessed case (issue 23).

The plan's figures are drawn through the planning function that made the plan
(:func:`dosimetry.workflow.plan.plan_call`, :func:`dosimetry.planning.uncertainty.propagate`); the
voxel figures on their region means: each region's mean dose times the activity factor (relative
calibration: the image is scaled to the activity given), the image-calibration factor (one per
image) and 1 / the region's drawn volume factor (one per region; the region's activity held, its
mass moving with its outline). That is a first-order approximation: the dose map itself is not
recomputed per draw, and a moved outline that gains or loses activity is not modelled.

The verdict stays nominal: every check keeps its pass or fail; a safety check that passes but is
crossed in more than the clinic's bound of the draws (``[uncertainty] p_exceed_bound``, default 5 %)
adds a warning, never a block.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..errors import InputError
from ..planning import verdict as _verdict
from ..planning.budget import UncertaintySettings
from ..planning.uncertainty import Interval, PlanUncertainty, attach, draw, interval_of, propagate
from ..vocabulary import Calibration, Origin, ShuntMethod
from .assess import CaseResult, figure_regions
from .plan import plan_call

__all__ = ["CaseUncertainty", "case_uncertainty"]


@dataclass(frozen=True, eq=False)
class CaseUncertainty:
    """The uncertainty of a case: the plan's (:class:`PlanUncertainty`), each voxel region's mean dose
    interval, and the bound above which a probability of crossing a limit is warned."""

    plan: PlanUncertainty
    voxel: Mapping[str, Interval]
    bound: float

    @property
    def samples(self) -> int:
        return self.plan.samples

    @property
    def seed(self) -> int:
        return self.plan.settings.seed

    def to_json(self) -> dict:
        """The plan's summary (samples, seed, level, bound, budget, ranking) and the voxel regions' intervals."""
        out = self.plan.to_json()
        out["voxel"] = [{"region": name, "mean": iv.to_json()} for name, iv in self.voxel.items()]
        return out


def _shunt_method(case: CaseResult, s: UncertaintySettings) -> ShuntMethod:
    """Planar counts -> planar; measured on the MAA SPECT/CT -> SPECT; typed -> the clinic's setting."""
    used = next((x.used for x in case.inputs if x.field == "lung.shunt_fraction"), "typed")
    return {"planar": ShuntMethod.PLANAR, "image": ShuntMethod.SPECT}.get(used, s.lung_shunt_method)


def _vial_ratio(plan_checks, vial_checks) -> float | None:
    """The glass vial at the planned time over the prescription (every scaled dose check carries it)."""
    by_name = {c.name: c for c in plan_checks}
    for c in vial_checks:
        ref = by_name.get(c.name)
        if c.origin is Origin.VIAL_AT_PLANNED_TIME and ref is not None and c.name != "cumulative_lung_dose":
            v = float(ref.value.to(c.value.units).magnitude)
            if v > 0:
                return float(c.value.magnitude) / v
    return None


def _vial_checks(pp, u: PlanUncertainty) -> tuple:
    """The vial's checks with their ``p_exceed``: the glass vial at the planned time as the plan's
    checks at its ratio; the resin usable window is not uncertain (0 or 1)."""
    ratio = _vial_ratio(pp.plan.limits, pp.vial_checks)
    at = dict(zip((c.name for c in pp.plan.limits), u.p_exceed_at(ratio))) if ratio is not None else {}
    out = []
    for c in pp.vial_checks:
        if not c.safety:
            out.append(c)
        elif c.origin is Origin.VIAL_AT_PLANNED_TIME and at.get(c.name) is not None:
            out.append(replace(c, p_exceed=at[c.name]))
        else:
            out.append(replace(c, p_exceed=0.0 if np.all(c.passed) else 1.0))
    return tuple(out)


def _voxel(case: CaseResult, u: PlanUncertainty, s: UncertaintySettings) -> tuple:
    """(region -> mean-dose interval, check -> p_exceed) of the voxel dosimetry (see the module docstring)."""
    v = case.voxel
    assert v is not None and case.plan is not None  # case_uncertainty calls this for a planned case with voxel dosimetry
    n = u.samples
    rng = np.random.default_rng([s.seed, 1])  # its own stream: the plan's draws do not depend on the images
    act = u.activity_factor if v.calibration_method is Calibration.RELATIVE else np.ones(n)
    cal = draw(s.term("image_calibration"), 1.0, n, rng) if not s.term("image_calibration").off else np.ones(n)
    factors, intervals = {}, {}
    for r in v.regions:
        roi = draw(s.term("roi_volume"), 1.0, n, rng) if not s.term("roi_volume").off else np.ones(n)
        factors[r.name] = act * cal / roi
        mean = r.stats.mean
        intervals[r.name] = interval_of(float(mean.magnitude) * factors[r.name], f"{mean.units:~}")
    regions = figure_regions(v)
    prior = case.plan.patient.lung.prior_dose
    p = {}
    for c in case.safety:
        if c.origin is not Origin.VOXEL:
            continue
        region = c.volume if c.name == "tumour_dose" else regions.get(c.name)
        scaled = _verdict.scaled([c], factors[region], prior) if region in factors else ()
        p[id(c)] = float(np.mean(~np.asarray(scaled[0].passed, dtype=bool))) if scaled else (0.0 if np.all(c.passed) else 1.0)
    return MappingProxyType(intervals), p


def _warnings(checks, bound: float, n: int) -> list:
    """A passing safety check crossed in more than ``bound`` of the draws: a warning (the verdict stays)."""
    out = []
    for c in checks:
        if c.safety and c.p_exceed is not None and np.all(c.passed) and c.p_exceed > bound:
            out.append(
                f"UNCERTAINTY: '{c.description}' ({c.origin}) is crossed in {c.p_exceed:.1%} of {n} draws of the inputs at the "
                f"prescribed activity, above the clinic's {bound:.0%} bound (the patient file's uncertainty table); the verdict stays on the nominal "
                "figures: consider a lower activity or better-measured inputs"
            )
    return out


def case_uncertainty(case: CaseResult, settings: UncertaintySettings) -> CaseResult:
    """The case with its uncertainty: intervals, each safety check's ``p_exceed``, warnings above the
    bound (see the module docstring). The status is unchanged.

    A budget whose draws cannot be made (e.g. a spread that puts most draws outside an input's
    plausible range) leaves the case without an uncertainty analysis and says so in a warning.
    """
    if not settings.enabled or case.plan is None:
        return case
    pp = case.plan
    pf, p = pp.patient, pp.plan
    fn, args, kwargs = plan_call(pf, p.device, p.method)
    try:
        u = propagate(fn, *args, nominal=p, uncertainty=settings, lung_shunt_method=_shunt_method(case, settings),
                      lung_mass_measured="mass" in (pf.raw.get("lung") or {}), **kwargs)
    except InputError as exc:
        return replace(case, warnings=case.warnings + (f"uncertainty analysis not run: {exc}",))
    plan = attach(p, u)
    vial = _vial_checks(pp, u)
    new = {id(old): c for old, c in zip(p.limits, plan.limits)} | {id(old): c for old, c in zip(pp.vial_checks, vial)}
    voxel: Mapping[str, Interval] = MappingProxyType({})
    if case.voxel is not None:
        voxel, p_voxel = _voxel(case, u, settings)
        new |= {id(c): replace(c, p_exceed=p_voxel[id(c)]) for c in case.safety if id(c) in p_voxel}
    safety = tuple(new.get(id(c), c) for c in case.safety)
    warnings = tuple(dict.fromkeys(case.warnings + tuple(_warnings(safety, settings.bound, u.samples))))
    return replace(case, plan=replace(pp, plan=plan, vial_checks=vial), safety=safety, warnings=warnings,
                   uncertainty=CaseUncertainty(u, voxel, settings.bound))
