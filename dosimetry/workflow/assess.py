"""One case, one verdict: every safety check of the plan and of the voxel dosimetry in one place.

:func:`assess` takes a plan (:class:`~dosimetry.workflow.plan.PatientPlan`) and/or a voxel
dosimetry (:class:`~dosimetry.workflow.voxel.VoxelResult`) and returns a :class:`CaseResult`:

- every safety check (plan, the glass vial at the planned time, voxel mean doses) with its value,
  limit, the volume it applies to, its source and pass/fail, in one list;
- the efficacy thresholds apart from safety;
- one status: *blocked* when any safety check fails, *within limits* otherwise;
- the largest safe activity over every limit (plan and voxel; all doses are linear in the
  activity) and the limit that binds.

``y90 plan``, ``y90 dose`` and ``y90 report`` all go through :func:`assess`, so the verdict does
not depend on the command or the method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pint

from ..ranges import PLAUSIBLE, plausible_quantity
from ..planning import limits as _limits
from ..planning import verdict as _verdict
from ..planning import contraindications as _screen
from ..planning.clinical import Clinical
from ..units import Q_, to_json
from ..vocabulary import Calibration, DeviceName, Origin, Role, Status
from .partial_volume import plan_notes, plan_tumours_beside
from .plan import PatientPlan

if TYPE_CHECKING:  # workflow.uncertainty imports this module; the voxel workflow (pydicom, scipy) only where it runs (issue 22)
    from .uncertainty import CaseUncertainty
    from .voxel import VoxelResult

__all__ = ["CaseResult", "assess", "figure_regions", "lung_dose_measured", "lungs_not_measured", "voxel_limit_checks", "WITHIN_LIMITS", "BLOCKED", "NEEDS_DECISION"]

WITHIN_LIMITS, BLOCKED, NEEDS_DECISION = Status.WITHIN_LIMITS, Status.BLOCKED, Status.NEEDS_DECISION

#: Voxel tumour doses that differ from the plan's by more than this are explained in a note.
PLAN_VOXEL_TOLERANCE = 0.20


@dataclass(frozen=True)
class CaseResult:
    """The verdict on one case.

    Parameters
    ----------
    patient_id : str or None
        Patient ID of the patient file (None for a voxel dosimetry without one).
    device : str or None
        ``"glass"``, ``"resin"``, or None (voxel dosimetry with no device: both devices' limits).
    clinical : Clinical
        The scenario the thresholds were chosen for.
    plan : PatientPlan or None
    voxel : VoxelResult or None
    safety : tuple of LimitCheck
        Every safety check; ``origin`` says plan, vial or voxel.
    efficacy : tuple of LimitCheck
        Efficacy thresholds (reported apart; they never block).
    max_safe_activity : pint.Quantity or None
        Largest activity within every safety limit [GBq] (inf when nothing limits).
    binding : str or None
        The limit that sets it, as human text.
    warnings : tuple of str
        What the physicist must read.
    notes : tuple of str
        What was assumed (conditions not stated, fallbacks).
    inputs : tuple of InputSource
        Where each plan input comes from (typed, image, planar) and how typed and image compare.
    imaging : dict or None
        What the activity image is (modality, radionuclide, acquisition date, series UID).
    """

    patient_id: str | None
    device: str | None
    clinical: Clinical
    plan: PatientPlan | None
    voxel: VoxelResult | None
    safety: tuple
    efficacy: tuple
    max_safe_activity: pint.Quantity | None
    binding: str | None
    warnings: tuple = ()
    notes: tuple = ()
    inputs: tuple = ()
    imaging: dict | None = None
    decisions: tuple = ()
    objectives: tuple = ()
    #: The uncertainty analysis (:mod:`dosimetry.workflow.uncertainty`): intervals and the chance that
    #: each limit is crossed; None when it was not run. It never changes the status.
    uncertainty: CaseUncertainty | None = None
    #: The plan's tumour doses, and beside them those of the partial-volume corrected ratios
    #: (:class:`dosimetry.workflow.partial_volume.PlanTumour`); () without per-tumour plan doses.
    partial_volume_plan: tuple = ()

    @property
    def needs_decision(self) -> bool:
        """Within every safety limit, but something is left to decide (:attr:`decisions` says what:
        no vial or timing delivers the plan as given, or a figure was not assessed)."""
        return not self.blocked and bool(self.decisions)

    @property
    def actionable(self) -> bool:
        """Within every safety limit and nothing left to decide: the only case that exits 0."""
        return not self.blocked and not self.decisions

    @property
    def failed(self) -> tuple:
        """The safety checks that fail."""
        return _verdict.failed(self.safety)

    @property
    def blocked(self) -> bool:
        return self.status is Status.BLOCKED

    @property
    def status(self) -> Status:
        """BLOCKED, NEEDS A DECISION or WITHIN LIMITS (:func:`dosimetry.planning.verdict.status`)."""
        return _verdict.status(self.safety, self.decisions)

    def headline(self) -> str:
        """One line that cannot be misread: the status and why."""
        if self.blocked:
            failed = "; ".join(f"{c.description} ({c.origin})" for c in self.failed)
            cap = "" if self.max_safe_activity is None else f". Largest safe activity {_fmt_gbq(self.max_safe_activity)} (set by {self.binding})"
            return f"{BLOCKED} by {failed}{cap}"
        n = len(self.safety)
        if self.decisions:  # the decision itself is the reason (a vial, a time, a figure not assessed)
            more = f" (and {len(self.decisions) - 1} more)" if len(self.decisions) > 1 else ""
            return f"{NEEDS_DECISION}: {self.decisions[0]}{more}; all {n} safety checks pass (see: Decision needed)"
        return f"{WITHIN_LIMITS}: all {n} safety checks pass" + (" (plan and voxel dosimetry)" if self.plan and self.voxel else "")

    def to_json(self) -> dict:
        """``status``, ``blocked``, ``safety``, ``efficacy``, ``max_safe_activity``, ``binding``, ..."""
        return {
            "status": self.status,
            "blocked": self.blocked,
            "headline": self.headline(),
            "device": self.device,
            "clinical": self.clinical.to_json(),
            "safety": [c.to_json() for c in self.safety],
            "efficacy": [c.to_json() for c in self.efficacy],
            "max_safe_activity": None if self.max_safe_activity is None else to_json(self.max_safe_activity),
            "binding": self.binding,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "plan_inputs": [s.to_json() for s in self.inputs],
            "activity_image": self.imaging,
            "voxel_objectives": [{k: to_json(v) if isinstance(v, pint.Quantity) else v for k, v in o.items()} for o in self.objectives],
            "needs_decision": self.needs_decision,
            "decisions": list(self.decisions),
            "uncertainty": None if self.uncertainty is None else self.uncertainty.to_json(),
            # null unless WITHIN LIMITS: a BLOCKED or undecided case has nothing to administer (issue 21)
            "activity_to_administer": to_json(self.plan.activity_to_administer) if self.plan is not None and self.actionable else None,
        }


def _fmt_gbq(q) -> str:
    m = float(q.to("GBq").magnitude)
    return "unlimited" if math.isinf(m) else f"{m:.4g} GBq"


def figure_regions(v: VoxelResult) -> dict:
    """The voxel region whose mean dose stands for each figure: normal liver (the normal-liver region,
    the territory minus tumours, else the liver), whole normal liver (its own region when a perfused
    territory is given, else the normal liver), target (the perfused territory, else the liver),
    lungs; tumours by their own names."""
    roles: dict = {}
    for r in v.regions:
        roles.setdefault(r.role, []).append(r)
    out = {}
    normal = roles.get(Role.NORMAL_LIVER) or roles.get(Role.LIVER)
    whole = roles.get(Role.WHOLE_NORMAL_LIVER) or normal
    if normal:
        out["normal_liver_dose"], out["whole_normal_liver_dose"] = normal[0].name, (whole or normal)[0].name
    target = roles.get(Role.PERFUSED) or roles.get(Role.LIVER)
    if target:
        out["target_dose"] = target[0].name
    if Role.LUNG in roles:
        out["lung_dose"] = out["cumulative_lung_dose"] = roles[Role.LUNG][0].name
    return out


#: Why a voxel lung mean is not a lung dose without a CT (the 1.03 g/mL put in every voxel, against
#: about 0.3 g/mL of aerated lung: ICRU Report 44 / ICRP 89 lung densities).
NO_CT_LUNGS = ("there is no CT: the lung density is unknown, and the voxel lung mean at 1.03 g/mL understates the lung dose "
               "about 3-fold (aerated lung is about 0.3 g/mL)")


def lung_dose_measured(v: VoxelResult) -> bool:
    """Whether the voxel dosimetry's lung region gives a lung dose: a lung ROI and a CT for its
    density. Without a CT every voxel is 1.03 g/mL and the lung mean is only a lower bound of the
    lung dose: a limit it exceeds is exceeded, but no pass, cap, objective or cumulative record may
    rest on it."""
    return v.ct is not None and any(r.role == Role.LUNG for r in v.regions)


_LUNG_FIGURES = ("lung_dose", "cumulative_lung_dose")


def _lower_bound_lungs(v: VoxelResult, checks: list) -> list:
    """Without a CT (:func:`lung_dose_measured`), a lung check that passes on the understated lung
    mean is dropped (the lungs are then not assessed); one that fails stays, marked a lower bound."""
    if lung_dose_measured(v):
        return checks
    out = []
    for c in checks:
        if c.name not in _LUNG_FIGURES:
            out.append(c)
        elif not bool(np.all(c.passed)):
            out.append(replace(c, description=f"{c.description} (lower bound: no CT, lungs at 1.03 g/mL)"))
    return out


def _voxel_figures(v: VoxelResult, prior: float) -> tuple:
    """The voxel mean doses by figure, per-tumour doses, and notes on what stands for what."""
    means = {r.name: r.stats.mean for r in v.regions}
    figures, notes = {}, []
    for figure, region in figure_regions(v).items():
        figures[figure] = means[region] + Q_(prior, "Gy") if figure == "cumulative_lung_dose" else means[region]
    regions = figure_regions(v)
    if "normal_liver_dose" in figures:
        territory = "perfused ROI" if any(r.role == Role.PERFUSED for r in v.regions) else "liver ROI, the territory"
        notes.append(f"voxel normal-liver dose: mean over the {regions['normal_liver_dose']} region ({territory} minus tumours)")
        if regions["whole_normal_liver_dose"] != regions["normal_liver_dose"]:
            notes.append(f"voxel whole normal liver dose: mean over the {regions['whole_normal_liver_dose']} region (liver ROI minus tumours)")
    tumours = {r.name: r.stats.mean for r in v.regions if r.role == Role.TUMOUR}
    return figures, tumours, notes


def _voxel_checks(v: VoxelResult, rows, prior: float, corrected: bool = False) -> tuple:
    figures, tumours, notes = _voxel_figures(v, prior)
    pv = getattr(v, "partial_volume", None)
    if corrected and pv is not None:  # the clinic's opt-in: efficacy (tumour doses) only, never a safety figure
        tumours = {n: pv.tumour_mean_dose.get(n, d) for n, d in tumours.items()}
        notes.append(f"voxel tumour-dose thresholds checked on the partial-volume corrected tumour doses ({pv.text}; clinical.corrected_tumour_doses)")
    checks = []
    several_devices = len({t.device for t in rows}) > 1
    for t in rows:
        if t.figure == "tumour_dose":
            for name, dose in tumours.items():
                c = _limits.check([t], {"tumour_dose": dose})[0]
                checks.append(replace(c, label=f"{name} dose", description=c.description.replace("tumour dose", f"{name} dose"), volume=name, origin=Origin.VOXEL))
            continue
        for c in _limits.check([t], figures):
            desc = f"{c.description} ({t.device})" if several_devices else c.description
            checks.append(replace(c, description=desc, origin=Origin.VOXEL, note=""))
    return _lower_bound_lungs(v, checks), figures, notes


def voxel_limit_checks(voxel: VoxelResult, *, device=None, clinical: Clinical | None = None, overrides: dict | None = None, prior_lung_dose="0 Gy") -> tuple:
    """(safety checks, efficacy checks, notes) of a voxel dosimetry's mean doses against the thresholds
    of the device and scenario: the checks :func:`assess` makes, without its status, caps or
    objectives (post-treatment verification states a failed check as a finding, not a verdict)."""
    device = None if device is None else _limits._device_name(device)
    prior = float(plausible_quantity(prior_lung_dose, PLAUSIBLE["lung.prior_dose"], "lung.prior_dose").to("Gy").magnitude)
    rows, row_notes = _rows_for(device, clinical or Clinical(), overrides)
    checks, _, notes = _voxel_checks(voxel, rows, prior)
    return tuple(c for c in checks if c.safety), tuple(c for c in checks if not c.safety), tuple(row_notes) + tuple(notes)


def _voxel_objectives(v: VoxelResult, rows, prior: float) -> tuple:
    """Predictive voxel dosimetry: the activity at which each tumour reaches its threshold (mean and
    D70), within the voxel safety limits (normal-liver and lung means), by
    :func:`dosimetry.voxel.objectives.solve_activity` (dose is linear in activity). Relative
    calibration only: the dose map per GBq is the dose map / the administered activity."""
    from ..voxel.objectives import VoxelObjective, solve_activity

    if v.administered is None or v.calibration_method is not Calibration.RELATIVE or not rows:
        return ()
    a = float(v.administered.to("GBq").magnitude)
    per_gbq = v.dose.with_array(np.asarray(v.dose.array, dtype=np.float64) / a, "Gy/GBq")
    roles = {r.role: r.name for r in v.regions}
    normal = roles.get(Role.NORMAL_LIVER) or roles.get(Role.LIVER)
    whole = roles.get(Role.WHOLE_NORMAL_LIVER) or normal

    def room(t, used=0.0):
        return Q_(max(float(t.headroom(used)), 0.0), "Gy")

    limits = []
    for t in rows:
        if not t.safety or t.bound != "max" or t.value.dimensionless:
            continue
        if t.figure in ("normal_liver_dose", "whole_normal_liver_dose") and normal:
            region = whole if t.figure == "whole_normal_liver_dose" else normal
            limits.append(VoxelObjective(f"{region} mean {t.operator} {t.value.to('Gy').magnitude:g} Gy", v.masks[region], "mean", "max", room(t)))
        elif t.figure in ("lung_dose", "cumulative_lung_dose") and Role.LUNG in roles and lung_dose_measured(v):
            lung = roles[Role.LUNG]
            prior_gy = prior if t.figure == "cumulative_lung_dose" else 0.0
            limits.append(VoxelObjective(f"{lung} mean {t.operator} {t.value.to('Gy').magnitude:g} Gy" + (" (cumulative)" if prior_gy else ""), v.masks[lung], "mean", "max", room(t, prior_gy)))
    if not limits:
        return ()
    unique: dict[str, VoxelObjective] = {}
    for o in limits:  # the first objective of each name
        unique.setdefault(o.name, o)
    limits = list(unique.values())
    out = []
    for t in rows:
        if t.figure != "tumour_dose" or t.safety:
            continue
        for r in v.regions:
            if r.role != Role.TUMOUR:
                continue
            for metric in ("mean", "D70"):
                target = VoxelObjective(f"{r.name} {metric} >= {t.value.to('Gy').magnitude:g} Gy", v.masks[r.name], metric, "min", t.value)
                sol = solve_activity(per_gbq, limits, target)
                out.append({
                    "objective": target.name,
                    "activity_to_reach": None if sol.target_activity is None or not np.isfinite(sol.target_activity.magnitude) else sol.target_activity.to("GBq"),
                    "reachable_within_limits": bool(sol.target_met),
                    "largest_safe_activity": sol.max_safe_activity.to("GBq"),
                    "binding": sol.binding,
                })
    return tuple(out)


def _voxel_caps(v: VoxelResult, checks) -> list:
    """Largest administered activity each voxel safety limit allows (relative calibration only)."""
    if v.administered is None or v.calibration_method is not Calibration.RELATIVE:
        return []
    a = float(v.administered.to("GBq").magnitude)
    caps = []
    for c in checks:
        if not c.safety or c.bound != "max" or c.value.dimensionless:
            continue
        if c.name in _LUNG_FIGURES and not lung_dose_measured(v):
            continue  # a cap from an understated lung dose would allow too much
        value, used = float(np.max(c.value.to("Gy").magnitude)), 0.0
        if c.name == "cumulative_lung_dose":
            lung = next((x for x in checks if x.name == "lung_dose"), None)
            if lung is None:
                continue
            used, value = value - float(lung.value.to("Gy").magnitude), float(lung.value.to("Gy").magnitude)
        room = _verdict.headroom(float(c.limit.to("Gy").magnitude), c.inclusive, used)
        caps.append((f"{c.description} (voxel)", a * max(room, 0.0) / value if value > 0 else math.inf))
    return caps


def _plan_vs_voxel(pp: PatientPlan, v: VoxelResult) -> list:
    """Notes where a tumour's voxel mean dose differs from the plan's by more than 20 %."""
    p = pp.plan
    if p.tumour_dose is None:
        return []
    planned = np.atleast_1d(p.tumour_dose.to("Gy").magnitude)
    voxel = [r for r in v.regions if r.role == Role.TUMOUR]
    if len(voxel) != len(planned):
        return []
    out = []
    for r, d_plan in zip(voxel, planned):
        d_vox = r.stats.mean.to("Gy").magnitude
        if d_plan > 0 and abs(d_vox / d_plan - 1) > PLAN_VOXEL_TOLERANCE:
            ratio = v.tumour_to_normal.get(r.name)
            out.append(
                f"{r.name}: voxel mean dose {d_vox:.0f} Gy vs {d_plan:.0f} Gy planned ({d_vox / d_plan - 1:+.0%}); "
                f"for a {r.stats.volume.to('mL').magnitude:.0f} mL tumour this is expected from the image resolution "
                "(partial-volume effect), otherwise the uptake differs from the planned tumour-to-normal ratio"
                + (f" (image ratio {ratio:.2f})" if ratio is not None else "")
            )
    return out


def _rows_for(device, clinical, overrides) -> tuple:
    if device is not None:
        return _limits.applicable(device, clinical, overrides)
    rows, notes = [], ["no device given: the safety limits of both glass and resin are checked (the stricter binds); give the device for its own limits"]
    for dev in DeviceName:
        r, n = _limits.applicable(dev, clinical, overrides)
        rows += [replace(t, source=f"{dev}: {t.source}") for t in r if t.safety]
    return tuple(rows), tuple(notes)


def assess(
    plan: PatientPlan | None = None,
    voxel: VoxelResult | None = None,
    *,
    device: str | None = None,
    clinical: Clinical | None = None,
    overrides: dict | None = None,
    prior_lung_dose="0 Gy",
    patient_id: str | None = None,
    input_sources=(),
    input_warnings=(),
    imaging: dict | None = None,
) -> CaseResult:
    """The verdict on a case: every safety check, efficacy apart, one status, the largest safe activity.

    Parameters
    ----------
    plan : PatientPlan, optional
        A plan (its patient file gives device, clinical scenario, overrides and prior lung dose).
    voxel : VoxelResult, optional
        A voxel dosimetry, checked against the same thresholds (mean doses per region).
    device : str, optional
        Without a plan: ``"glass"`` or ``"resin"`` (None checks both devices' safety limits).
    clinical : Clinical, optional
        Without a plan: the scenario.
    overrides : dict, optional
        Without a plan: a clinic's own limits (keys as :func:`dosimetry.planning.limits.applicable`).
    prior_lung_dose : pint.Quantity or str
        Without a plan: lung dose of earlier treatments, for the cumulative lung limit.
    patient_id : str, optional
        Without a plan: the patient ID to report.
    input_sources, input_warnings : sequence
        Where the plan inputs come from (:func:`dosimetry.workflow.inputs.resolve_inputs`).
    imaging : dict, optional
        What the activity image is (:func:`dosimetry.workflow.voxel.describe_series`).

    Returns
    -------
    CaseResult
    """
    if plan is None and voxel is None:
        raise ValueError("assess needs a plan, a voxel dosimetry, or both")
    parts = _Parts(warnings=list(input_warnings))
    if plan is not None:
        device, clinical, overrides, prior, patient_id = _add_plan(parts, plan)
    else:
        device, clinical, prior = _without_plan(parts, device, clinical, prior_lung_dose, voxel)
    if voxel is not None:
        _add_voxel(parts, voxel, plan, _rows_for(device, clinical, overrides), prior, corrected=bool(clinical and clinical.corrected_tumour_doses))
    beside = _beside_the_plan(parts, plan, voxel, input_sources, device, clinical, overrides)
    amax = binding = None
    if parts.caps:
        binding, a = min(parts.caps, key=lambda c: c[1])
        amax = Q_(a, "GBq")
        if math.isinf(a):
            binding = "no limit binds"
    return CaseResult(
        patient_id=patient_id,
        device=device,
        clinical=clinical or Clinical(),
        plan=plan,
        voxel=voxel,
        safety=tuple(parts.safety),
        efficacy=tuple(parts.efficacy),
        max_safe_activity=amax,
        binding=binding,
        warnings=tuple(dict.fromkeys(parts.warnings)),
        notes=tuple(dict.fromkeys(parts.notes)),
        inputs=tuple(input_sources),
        imaging=imaging,
        decisions=tuple(dict.fromkeys(parts.decisions)),
        objectives=parts.objectives,
        partial_volume_plan=beside,
    )


def _voxel_lung_activity(voxel: VoxelResult | None) -> tuple:
    """(the activity in the lung region [GBq] or None, that activity per administered GBq): the
    contraindication screen's ``lung_activity`` figure of a voxel dosimetry (the activity does not
    depend on density, so a CT is not needed). The ratio is 0 (no cap) unless the image is
    calibrated relative to a known administered activity, as for :func:`_voxel_caps`."""
    if voxel is None:
        return None, 0.0
    lung = next((r for r in voxel.regions if r.role == Role.LUNG), None)
    if lung is None:
        return None, 0.0
    a = lung.activity.to("GBq")
    if voxel.administered is None or voxel.calibration_method is not Calibration.RELATIVE:
        return a, 0.0
    return a, float(a.magnitude / voxel.administered.to("GBq").magnitude)


def _voxel_conditions(voxel: VoxelResult | None) -> dict:
    """``{"tumour_replacement": tumour ROI volumes / liver ROI volume}`` of a voxel dosimetry (the
    contraindication screen's figure; empty without a liver or tumour region)."""
    if voxel is None:
        return {}
    liver = next((r for r in voxel.regions if r.role == Role.LIVER), None)
    tumours = [r.stats.volume.to("mL").magnitude for r in voxel.regions if r.role == Role.TUMOUR]
    if liver is None or not tumours or not liver.stats.volume.magnitude > 0:
        return {}
    return {"tumour_replacement": Q_(float(sum(tumours) / liver.stats.volume.to("mL").magnitude), "")}


def _without_plan(parts, device, clinical, prior_lung_dose, voxel: VoxelResult | None = None) -> tuple:
    """(device name or None, scenario, prior lung dose [Gy]) of a voxel dosimetry assessed without a
    plan; the scenario's contraindication screen added to ``parts`` (a plan screens itself:
    planning.assemble), with the activity in the voxel lung region as its lung-activity figure."""
    device = None if device is None else _limits._device_name(device)
    clinical = clinical or Clinical()
    # the patient file's plausible range (0-200 Gy), so the library and every command agree
    prior = float(plausible_quantity(prior_lung_dose, PLAUSIBLE["lung.prior_dose"], "lung.prior_dose").to("Gy").magnitude)
    lung_activity, per_gbq = _voxel_lung_activity(voxel)
    conditions = _voxel_conditions(voxel)
    figures = dict(conditions, **({} if lung_activity is None else {"lung_activity": lung_activity}))
    screened, screen_decisions = _screen.screen(device, clinical, figures)
    parts.safety += list(screened)
    parts.decisions += list(screen_decisions)
    parts.caps += [(_limits.FIGURE_LABELS.get(n, n), float(np.min(a))) for n, a in _screen.screen_caps(device, clinical, per_gbq, conditions)]
    return device, clinical, prior


def _beside_the_plan(parts, plan, voxel, input_sources, device, clinical, overrides) -> tuple:
    """The plan's tumour doses with their partial-volume corrected figures beside (warnings and notes
    added to ``parts``; efficacy on corrected doses only when the clinic opted in)."""
    beside = plan_tumours_beside(plan, voxel, input_sources) if plan is not None else ()
    pv_warnings, pv_notes = plan_notes(beside, voxel)
    parts.warnings += list(pv_warnings)
    parts.notes += list(pv_notes)
    _corrected_plan_efficacy(parts, beside, device, clinical, overrides)
    return beside


@dataclass
class _Parts:
    """What :func:`assess` gathers from the plan and the voxel dosimetry."""

    safety: list = field(default_factory=list)
    efficacy: list = field(default_factory=list)
    caps: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    decisions: list = field(default_factory=list)
    objectives: tuple = ()


def _corrected_plan_efficacy(parts: _Parts, beside: tuple, device, clinical, overrides) -> None:
    """The clinic's opt-in (``clinical.corrected_tumour_doses``): the plan's tumour-dose threshold
    (efficacy, never blocking) is checked on the doses of the corrected ratios; safety is untouched."""
    if not (clinical and clinical.corrected_tumour_doses):
        return
    if not any(t.corrected_dose is not None for t in beside):
        if beside or parts.efficacy:
            parts.notes.append("clinical.corrected_tumour_doses is set but no partial-volume correction was made (imaging.partial_volume): "
                               "the tumour doses are judged on the plain figures")
        return
    rows = [t for t in _limits.applicable(device, clinical, overrides)[0] if t.figure == "tumour_dose" and not t.safety]
    doses = Q_(np.array([(t.corrected_dose if t.corrected_dose is not None else t.dose).to("Gy").magnitude for t in beside]), "Gy")
    new = [replace(c, note="partial-volume corrected tumour-to-normal ratios (clinical.corrected_tumour_doses)")
           for c in _limits.check(rows, {"tumour_dose": doses}, several_tumours=True)]
    old = [i for i, c in enumerate(parts.efficacy) if c.name == "tumour_dose" and c.origin == Origin.PLAN]
    at = old[0] if old else len(parts.efficacy)
    kept = [c for i, c in enumerate(parts.efficacy) if i not in old]
    parts.efficacy = kept[:at] + new + kept[at:]


def _add_plan(parts: _Parts, plan: PatientPlan) -> tuple:
    """The plan's checks, cap, warnings and notes; returns its device, scenario, overrides, prior lung dose [Gy] and patient ID."""
    pf, p = plan.patient, plan.plan
    parts.safety += [c for c in p.limits if c.safety] + list(plan.vial_checks)
    parts.decisions += list(plan.decisions)
    parts.efficacy += [c for c in p.limits if not c.safety]
    parts.caps.append((_limits.FIGURE_LABELS.get(str(p.binding_constraint), str(p.binding_constraint)) + " limit (plan)", float(np.min(p.max_safe_activity.to("GBq").magnitude))))
    parts.warnings += list(plan.warnings)
    parts.notes += list(p.notes) + list(plan.notes)
    return p.device, p.clinical, pf.overrides, float(pf.lung.prior_dose.to("Gy").magnitude), pf.patient.id


def lungs_not_measured(voxel: VoxelResult) -> str:
    """Why the voxel dosimetry gives no lung dose (:func:`lung_dose_measured` is False)."""
    if voxel.lungs_out_of_view:
        return "the activity image's field of view misses the lungs"
    if not any(r.role == Role.LUNG for r in voxel.regions):
        return "the voxel dosimetry has no lung ROI"
    return NO_CT_LUNGS


def _add_voxel(parts: _Parts, voxel: VoxelResult, plan: PatientPlan | None, rows_notes: tuple, prior: float, corrected: bool = False) -> None:
    """The voxel dosimetry's checks against the same thresholds, its caps, objectives and notes."""
    rows, row_notes = rows_notes
    checks, _, vnotes = _voxel_checks(voxel, rows, prior, corrected)
    parts.safety += [c for c in checks if c.safety]
    parts.efficacy += [c for c in checks if not c.safety]
    parts.caps += _voxel_caps(voxel, [c for c in checks if c.safety])
    parts.objectives = _voxel_objectives(voxel, rows, prior)
    parts.warnings += list(voxel.warnings)
    parts.notes += ([] if plan is not None else list(row_notes)) + vnotes
    if plan is not None:
        parts.notes += _plan_vs_voxel(plan, voxel)
    elif not lung_dose_measured(voxel):
        # a missing ROI must not read as a passed check: without a plan nothing else checks the lungs
        why = lungs_not_measured(voxel)
        needs_ct = not voxel.lungs_out_of_view and any(r.role == Role.LUNG for r in voxel.regions)  # the lungs are there, their density is not
        fix = "give the CT (--ct)" if needs_ct else "give lung ROIs in the field of view"
        parts.decisions.append(f"lung dose not assessed: {why} and there is no plan; "
                               f"{fix} (or plan the case with a planar or typed lung shunt) before calling it within limits")
