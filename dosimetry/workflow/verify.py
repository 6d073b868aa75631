"""Post-treatment verification: the dose delivered, set beside the dose planned (``y90 verify``).

The EANM operating procedure for Y-90 dosimetry (Chiesa et al., EJNMMI Physics 2021, 8:77) asks
that the absorbed dose be computed before and after treatment, because the Tc-99m MAA distribution
can differ from the spheres'; Council Directive 2013/59/Euratom (art. 56) asks that the delivered
exposure be verified. The steps:

1. the delivered dose: the post-treatment Y-90 PET (Bq/mL) or bremsstrahlung SPECT (counts) through
   the same voxel dosimetry as a plan (:func:`dosimetry.workflow.voxel.voxel_dose`), calibrated
   *absolute* (PET Bq/mL decay-corrected to administration; the image total is checked against
   the activity delivered) or *relative* to the activity delivered, administered x (1 - measured
   residual), with the lung share from the post-treatment image, or from the plan when the image
   misses the lungs;
2. planned against delivered per region (:func:`compare_regions`): mean dose, D70, D95 and, for
   tumours, V100 (the fraction of the region receiving at least 100 Gy); the difference
   (delivered - planned) and the ratio (delivered / planned). The planned figures are those of the
   planning voxel dosimetry when the plan had images (the predictive MAA dose), otherwise the plan's
   compartment doses (mean only);
3. adverse findings (:attr:`Verification.findings`): the delivered mean doses against the same
   thresholds as the plan (:func:`dosimetry.workflow.assess.voxel_limit_checks`, the one pass rule
   of :mod:`dosimetry.planning.verdict`): a safety limit exceeded, a tumour under its efficacy
   threshold. After the treatment there is nothing to block and no vial to judge: a failed check is
   stated as a finding, with its limit and source, never as a verdict on the plan.

:func:`verify` is pure (Volumes and results in, no files); the CLI reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pint

from ..errors import InputError
from ..model import PatientFile
from ..planning.result import LimitCheck
from ..units import Q_, fraction, quantity, to_json
from ..vocabulary import Calibration, Origin, Role
from ..voxel import Volume, resample_to
from .identity import post_identity
from .assess import CaseResult, lung_dose_measured, lungs_not_measured, voxel_limit_checks
from .voxel import ImagingInputs, VoxelResult, load_imaging, voxel_dose

__all__ = ["DeliveryInputs", "RegionComparison", "Verification", "verify", "compare_regions", "delivery_inputs", "load_post", "METRICS", "V100_DOSE"]

#: The figures compared per region: mean dose, D70 and D95 (the least dose to the hottest 70 % and
#: 95 % of the region; D70 is the figure of the glass dose-response studies, e.g. Garin et al.,
#: Lancet Gastroenterol Hepatol 2021, DOSISPHERE-01) and, for tumours, V100.
METRICS = ("mean", "d70", "d95", "v100")
#: V100: the fraction of a tumour receiving at least 100 Gy (a dose level of
#: :data:`dosimetry.voxel.metrics.V_DOSE_GY`, the resin tumour threshold of the EANM 2022 guideline),
#: not 100 % of a prescription.
V100_DOSE = Q_(100.0, "Gy")


@dataclass(frozen=True)
class DeliveryInputs:
    """What was given and how the post-treatment image is calibrated (shown and audited).

    Parameters
    ----------
    administered : pint.Quantity or None
        Activity administered [GBq] (relative calibration needs it; absolute checks the image total with it).
    residual_fraction : float
        Measured fraction of ``administered`` left in the vial and delivery set, [0, 0.5].
    calibration : Calibration
        Relative (scaled to ``administered x (1 - residual)``) or absolute (Bq/mL at administration).
    sources : dict
        Where each value comes from (``"--administered"``, ``"delivery.administered"``, ...).
    """

    administered: pint.Quantity | None
    residual_fraction: float
    calibration: Calibration
    sources: dict = field(default_factory=dict)

    @property
    def delivered(self) -> pint.Quantity | None:
        """administered x (1 - residual) [GBq]: the activity that reached the patient."""
        return None if self.administered is None else (self.administered * (1.0 - self.residual_fraction)).to("GBq")

    def to_json(self) -> dict:
        return {
            "administered": None if self.administered is None else to_json(self.administered),
            "residual_fraction": self.residual_fraction,
            "delivered": None if self.delivered is None else to_json(self.delivered),
            "calibration": self.calibration,
            "sources": dict(self.sources),
        }


def delivery_inputs(pf: PatientFile | None, *, administered=None, residual_fraction=None, calibration="relative") -> DeliveryInputs:
    """The delivery figures: a flag wins over the patient file's ``[delivery]`` table (the source says which).

    The residual is the measured one (``--residual`` or ``delivery.residual_fraction``); without it
    the plan's ``target.residual_fraction`` is used and the source says it was not measured.

    Raises
    ------
    InputError
        A relative calibration without the administered activity (``--administered`` or
        ``delivery.administered``): after treatment it is recorded, never guessed from the plan.
    """
    cal = Calibration.parse(calibration, "calibration")
    d = pf.delivery if pf is not None else None
    sources = {}
    adm = None
    if administered is not None:
        adm, sources["administered"] = quantity(administered, "GBq", "administered", minimum=0, include_minimum=False), "--administered"
    elif d is not None and d.administered is not None:
        adm, sources["administered"] = d.administered, "delivery.administered"
    if adm is None and cal is Calibration.RELATIVE:
        raise InputError("administered", "relative calibration of the post-treatment image needs the activity administered: "
                         "give --administered or delivery.administered in the patient file (it is never taken from the plan)")
    if residual_fraction is not None:
        r, sources["residual_fraction"] = float(fraction(residual_fraction, "residual_fraction")), "--residual"
    elif d is not None and d.residual_fraction is not None:
        r, sources["residual_fraction"] = float(d.residual_fraction), "delivery.residual_fraction"
    elif pf is not None:
        r, sources["residual_fraction"] = float(pf.target.residual_fraction), "target.residual_fraction (planned, not measured)"
    else:
        r, sources["residual_fraction"] = 0.0, "not given (0)"
    if not 0.0 <= r <= 0.5:
        raise InputError("residual_fraction", f"{r:g} is out of range", allowed="[0, 0.5]")
    return DeliveryInputs(None if adm is None else adm.to("GBq"), r, cal, sources)


@dataclass(frozen=True)
class RegionComparison:
    """One region, planned against delivered.

    Parameters
    ----------
    name : str
        Region name (as on the post-treatment study).
    role : Role
    planned, delivered : dict or None
        {metric: Quantity} for :data:`METRICS` (``v100`` for tumours only, dimensionless);
        ``planned`` is None where the plan has no figure for the region.
    planned_source : str
        ``"planning voxel dosimetry"``, ``"plan (compartment model)"`` or ``""``.
    """

    name: str
    role: Role
    planned: dict | None
    delivered: dict
    planned_source: str = ""

    def difference(self, metric: str) -> pint.Quantity | None:
        """delivered - planned (None when either is missing)."""
        if not self.planned or self.planned.get(metric) is None or self.delivered.get(metric) is None:
            return None
        return (self.delivered[metric] - self.planned[metric].to(self.delivered[metric].units))

    def ratio(self, metric: str) -> float | None:
        """delivered / planned (None when either is missing or planned is zero)."""
        if not self.planned or self.planned.get(metric) is None or self.delivered.get(metric) is None:
            return None
        p = float(self.planned[metric].to(self.delivered[metric].units).magnitude)
        return None if p == 0 else float(self.delivered[metric].magnitude) / p

    def to_json(self) -> dict:
        def figures(d):
            return None if d is None else {k: to_json(v) for k, v in d.items()}

        shown = [m for m in METRICS if m in self.delivered]
        return {
            "name": self.name,
            "role": self.role,
            "planned": figures(self.planned),
            "delivered": figures(self.delivered),
            "difference": None if self.planned is None else {m: _json_or_none(self.difference(m)) for m in shown},
            "ratio": None if self.planned is None else {m: self.ratio(m) for m in shown},
            "planned_source": self.planned_source,
        }


def _json_or_none(q: pint.Quantity | None):
    """{value, unit} of a quantity, or None."""
    return None if q is None else to_json(q)


def _region_figures(r) -> dict:
    """{metric: Quantity} of a voxel region (RegionResult)."""
    s = r.stats
    out = {"mean": s.mean.to("Gy"), "d70": r.dvh.dose_at(70).to("Gy"), "d95": r.dvh.dose_at(95).to("Gy")}
    if r.role == Role.TUMOUR:
        out["v100"] = Q_(float(r.dvh.volume_fraction(V100_DOSE)), "")
    return out


_UNIQUE_ROLES = (Role.LIVER, Role.NORMAL_LIVER, Role.WHOLE_NORMAL_LIVER, Role.PERFUSED, Role.LUNG)


def _planned_voxel(case: CaseResult) -> dict:
    """Planning voxel regions by name, and by role for the roles a case has once."""
    if case.voxel is None:
        return {}
    out = {("name", r.name): r for r in case.voxel.regions}
    for role in _UNIQUE_ROLES:
        of_role = [r for r in case.voxel.regions if r.role == role]
        if len(of_role) == 1:
            out[("role", role)] = of_role[0]
    return out


def _planned_compartments(case: CaseResult) -> dict:
    """The plan's compartment mean doses by role, and its tumours by name (no planning images)."""
    if case.plan is None:
        return {}
    p, pf = case.plan.plan, case.plan.patient
    out = {}

    def put(key, q):
        if q is not None and np.ndim(q.magnitude) == 0 and np.isfinite(q.magnitude):
            out[key] = {"mean": q.to("Gy")}

    put(("role", Role.NORMAL_LIVER), p.normal_liver_dose)
    put(("role", Role.WHOLE_NORMAL_LIVER), p.whole_normal_liver_dose)
    put(("role", Role.PERFUSED), p.target_dose)
    if pf.liver.volume is not None and abs(float((pf.target.volume / pf.liver.volume).to("").magnitude) - 1.0) <= 0.01:
        put(("role", Role.LIVER), p.target_dose)  # whole-liver treatment: the target is the liver ROI
    put(("role", Role.LUNG), p.lung_dose)
    if p.tumour_dose is not None:
        doses = np.atleast_1d(p.tumour_dose.to("Gy").magnitude)
        for t, d in zip(pf.target.tumours, doses):
            put(("name", t.name), Q_(float(d), "Gy"))
    return out


def compare_regions(planned: CaseResult | None, delivered: VoxelResult) -> tuple:
    """Planned against delivered for every region of the delivered dosimetry (:class:`RegionComparison`).

    A region is matched to the plan by its name, else (liver, normal liver, whole normal liver,
    perfused territory, lungs) by its role. Tumours match by name only.
    """
    vox = _planned_voxel(planned) if planned is not None else {}
    comp = _planned_compartments(planned) if planned is not None else {}
    out = []
    for r in delivered.regions:
        keys = [("name", r.name)] + ([("role", r.role)] if r.role in _UNIQUE_ROLES else [])
        # without a CT the lung mean is a lower bound (assess.lung_dose_measured): the table says so
        shown = f"{r.name} (lower bound: no CT)" if r.role == Role.LUNG and not lung_dose_measured(delivered) else r.name
        hit = next((vox[k] for k in keys if k in vox and (k[0] == "name" or vox[k].role == r.role)), None)
        if hit is not None and hit.role == r.role:
            out.append(RegionComparison(shown, r.role, _region_figures(hit), _region_figures(r), "planning voxel dosimetry"))
            continue
        figs = next((comp[k] for k in keys if k in comp), None)
        out.append(RegionComparison(shown, r.role, figs, _region_figures(r), "plan (compartment model)" if figs else ""))
    return tuple(out)


@dataclass(frozen=True)
class Verification:
    """Planned against delivered, for one treatment.

    Parameters
    ----------
    patient_id : str or None
    planned : CaseResult or None
        The plan as assessed (its voxel dosimetry when it had images).
    delivered : VoxelResult
        The delivered dose (dose map, regions, calibration).
    delivery : DeliveryInputs
    regions : tuple of RegionComparison
    checks : tuple of LimitCheck
        The delivered mean doses against every threshold (origin ``delivered``).
    prior_lung_dose, cumulative_lung_dose : pint.Quantity or None
        Lung dose of earlier treatments, and with this one's delivered lung mean added: the figure
        to carry into the patient file of a later treatment (``lung.prior_dose``).
    registration : object or None
        The registration that carried the planning ROIs (:class:`dosimetry.workflow.registration.Registration`).
    difference_map : Volume or None
        Delivered minus planned dose [Gy] on the delivered grid, when the registration carries the
        planning voxel dose over (the planning dose moved by the transform, resampled linearly).
    warnings, notes : tuple of str
    lungs_not_assessed : str
        Why the delivered lung dose is not known ("" when it is): no lung ROI, lungs out of the
        image's field of view, or no CT for the lung density. The headline says so, and the exit
        status is not the one of a clean verification.
    """

    patient_id: str | None
    planned: CaseResult | None
    delivered: VoxelResult
    delivery: DeliveryInputs
    regions: tuple
    checks: tuple
    prior_lung_dose: pint.Quantity | None = None
    cumulative_lung_dose: pint.Quantity | None = None
    registration: Any = None  # Registration (workflow.registration), when the ROIs were carried over
    warnings: tuple = ()
    notes: tuple = ()
    difference_map: Volume | None = None
    lungs_not_assessed: str = ""

    @property
    def administration_text(self) -> str | None:
        """When this treatment was given (ISO 8601 with its UTC offset): ``delivery.administration``,
        else the plan's ``treatment.administration``; None when the patient file gives neither. A later
        plan that reads this record (``lung.prior_record``) checks that it comes before it."""
        pf = self.planned.plan.patient if self.planned is not None and self.planned.plan is not None else None
        if pf is None:
            return None
        when = (pf.delivery.administration if pf.delivery is not None else None) or pf.treatment.administration
        return None if when is None else when.isoformat()

    @property
    def complete(self) -> bool:
        """No adverse finding, and every safety figure assessed (the lungs included)."""
        return not self.findings and not self.lungs_not_assessed

    @property
    def findings(self) -> tuple:
        """The failed checks: delivered doses over a safety limit first, then tumours under an efficacy threshold."""
        failed = [c for c in self.checks if not bool(np.all(c.passed))]
        return tuple(sorted(failed, key=lambda c: not c.safety))

    def finding_text(self, c: LimitCheck) -> str:
        v = c.value.to(c.limit.units)
        kind = "over the safety limit" if c.safety else "under the efficacy threshold"
        return (f"delivered {c.label or c.name} {float(np.max(v.magnitude) if c.bound == 'max' else np.min(v.magnitude)):.1f} {c.limit.units:~P} "
                f"{kind}: {c.description} ({c.source})")

    def headline(self) -> str:
        """One line: the adverse findings, or that there are none (never a verdict on a vial or a plan)."""
        f = self.findings
        if not f and self.lungs_not_assessed:
            return (f"LUNGS NOT ASSESSED: {self.lungs_not_assessed}; no adverse finding in the {sum(c.safety for c in self.checks)} "
                    "safety limits checked (give a lung ROI in view and a CT, or assess the lung dose otherwise)")
        if not f:
            return f"NO ADVERSE FINDING: the delivered doses are within the {sum(c.safety for c in self.checks)} safety limits and meet the efficacy thresholds checked"
        n_s = sum(c.safety for c in f)
        lungs = f"; LUNGS NOT ASSESSED: {self.lungs_not_assessed}" if self.lungs_not_assessed else ""
        return f"ADVERSE FINDINGS: {n_s} safety limit(s) exceeded, {len(f) - n_s} efficacy threshold(s) not reached (see findings){lungs}"

    def to_json(self) -> dict:
        d = self.delivered
        return {
            "schema": "y90-verification",
            "schema_version": 2,  # 2: lungs_not_assessed, administration
            "patient_id": self.patient_id,
            "administration": self.administration_text,
            "headline": self.headline(),
            "adverse_findings": [dict(c.to_json(), text=self.finding_text(c)) for c in self.findings],
            "delivery": dict(self.delivery.to_json(), image_activity=to_json(d.image_activity),
                             image_to_delivered=None if self.delivery.delivered is None else float((d.image_activity / self.delivery.delivered).to("").magnitude),
                             calibration_text=d.calibration,
                             lung_shunt_fraction=d.lung_shunt_fraction,
                             planned_lung_shunt_fraction=None if self.planned is None or self.planned.plan is None else _plain(self.planned.plan.plan.lung_shunt_fraction)),
            "method": d.method,
            "density_method": d.density_text,
            "regions": [r.to_json() for r in self.regions],
            "checks": [c.to_json() for c in self.checks],
            "prior_lung_dose": None if self.prior_lung_dose is None else to_json(self.prior_lung_dose),
            "cumulative_lung_dose": None if self.cumulative_lung_dose is None else to_json(self.cumulative_lung_dose),
            "lungs_not_assessed": self.lungs_not_assessed or None,
            "registration": None if self.registration is None else self.registration.to_json(),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "inputs": list(d.inputs),
        }


def _plain(x):
    return float(x) if np.ndim(x) == 0 else [float(v) for v in np.ravel(x)]


def _comparison_notes(planned, regions) -> list[str]:
    """What the comparison could not cover: planned tumours without a region of that name, no plan."""
    notes = []
    missing = [n for n in _planned_tumours(planned) if n not in {r.name for r in regions}]
    if missing:
        notes.append(f"planned tumour(s) {', '.join(map(repr, missing))} have no region of that name on the post-treatment study: not compared")
    if planned is None or (planned.plan is None and planned.voxel is None):
        notes.append("no plan to compare with: delivered figures only")
    return notes


def verify(
    post: ImagingInputs,
    delivery: DeliveryInputs,
    *,
    planned: CaseResult | None = None,
    device=None,
    clinical=None,
    overrides: dict | None = None,
    prior_lung_dose="0 Gy",
    method: str = "kernel",
    density_method: str = "ct_curve",
    lung_method: str = "density_divided",
    registration=None,
    progress: Callable[[str], None] | None = None,
) -> Verification:
    """The delivered dose of the post-treatment image, compared with the plan (no file I/O).

    Parameters
    ----------
    post : ImagingInputs
        The post-treatment activity image with its ROIs on its grid (its own segmentation, or the
        planning ROIs carried over by a registration).
    delivery : DeliveryInputs
        Administered activity, measured residual, calibration (:func:`delivery_inputs`).
    planned : CaseResult, optional
        The plan as assessed (:func:`dosimetry.workflow.run_case`); gives the planned figures, and
        the device, scenario, limits and prior lung dose when it has a plan.
    device, clinical, overrides, prior_lung_dose
        Without a plan: whose thresholds apply (as :func:`dosimetry.workflow.assess`).
    method, density_method, lung_method
        As :func:`dosimetry.workflow.voxel_dose`.
    registration : Registration, optional
        Shown with the result when the ROIs were carried over.

    Returns
    -------
    Verification
    """
    notes: list[str] = []
    plan = planned.plan if planned is not None else None
    if plan is not None:
        pf = plan.patient
        device, clinical, overrides, prior_lung_dose = plan.plan.device, plan.plan.clinical, pf.overrides, pf.lung.prior_dose
    lsf = None
    if not post.lungs and delivery.calibration is Calibration.RELATIVE and plan is not None:
        # the image misses the lungs: the liver holds A (1 - R) (1 - LSF) with the plan's shunt
        lsf = float(np.ravel(plan.plan.lung_shunt_fraction)[0])
        notes.append(f"the post-treatment image has no lungs in view: the liver is taken to hold the delivered activity less the planned lung shunt ({lsf:.1%})")
    delivered = voxel_dose(post, administered=delivery.administered, method=method, density_method=density_method, lung_method=lung_method,
                           calibration=delivery.calibration, residual_fraction=delivery.residual_fraction, lung_shunt_fraction=lsf, progress=progress)
    safety, efficacy, check_notes = voxel_limit_checks(delivered, device=device, clinical=clinical, overrides=overrides, prior_lung_dose=prior_lung_dose)
    checks = tuple(replace(c, origin=Origin.DELIVERED) for c in safety + efficacy)
    prior = quantity(prior_lung_dose, "Gy", "lung.prior_dose", minimum=0)
    lung = next((r for r in delivered.regions if r.role == Role.LUNG), None) if lung_dose_measured(delivered) else None
    cumulative = None if lung is None else (prior + lung.stats.mean).to("Gy")
    not_assessed = "" if lung is not None else lungs_not_measured(delivered)
    if lung is None:
        notes.append(f"no delivered lung dose is reported ({not_assessed}): the cumulative lung record is not updated")
    if planned is not None and planned.voxel is not None and planned.voxel.method != method:
        notes.append(f"the planned voxel figures were computed by {planned.voxel.method}, the delivered ones by {method}: "
                     "part of a difference is the method's (give the same method to compare the distributions alone)")
    regions = compare_regions(planned, delivered)
    notes += _comparison_notes(planned, regions)
    return Verification(
        patient_id=(plan.patient.patient.id if plan is not None else None) or _image_patient(delivered),
        planned=planned,
        delivered=delivered,
        delivery=delivery,
        regions=regions,
        checks=checks,
        prior_lung_dose=prior.to("Gy"),
        cumulative_lung_dose=cumulative,
        lungs_not_assessed=not_assessed,
        registration=registration,
        difference_map=_difference_map(planned, delivered, registration),
        warnings=tuple(dict.fromkeys(delivered.warnings)),
        notes=tuple(dict.fromkeys(notes + list(check_notes))),
    )


def _difference_map(planned: CaseResult | None, delivered: VoxelResult, registration) -> Volume | None:
    """Delivered - planned dose [Gy] on the delivered grid: the planning voxel dose placed where the
    registration moves it (:func:`dosimetry.workflow.registration.move_volume`), resampled linearly."""
    if registration is None or planned is None or planned.voxel is None:
        return None
    from .registration import move_volume

    gy = lambda v: v.with_array(np.asarray(v.array, dtype=np.float64) * float(Q_(1, v.unit).to("Gy").magnitude), "Gy")  # noqa: E731
    moved = resample_to(move_volume(gy(planned.voxel.dose), registration.matrix), delivered.dose, kind="linear", fill=0.0)
    return moved.with_array(np.asarray(gy(delivered.dose).array) - np.asarray(moved.array), "Gy")


def _planned_tumours(case: CaseResult | None) -> list:
    """Names of the plan's tumours (its voxel regions, else its [[target.tumours]])."""
    if case is None:
        return []
    if case.voxel is not None:
        return [r.name for r in case.voxel.regions if r.role == Role.TUMOUR]
    return [t.name for t in case.plan.patient.target.tumours] if case.plan is not None else []


def _image_patient(v: VoxelResult) -> str | None:
    return next((i.patient_id for i in v.identities if getattr(i, "patient_id", None)), None)


def load_post(pf: PatientFile, activity_image, segmentation=None, *, ct=None, register: bool = False, allow_mismatch: bool = False,
              progress: Callable[[str], None] | None = None, liver_roi="Liver", tumour_rois=(), lung_rois=(), perfused_roi=None, **reading) -> tuple:
    """(ImagingInputs, Registration or None) of the post-treatment study.

    Without ``register`` the ROIs are the post-treatment ``segmentation``'s (read by
    :func:`dosimetry.workflow.voxel.load_imaging`). With it, the planning ROIs of ``pf``'s
    ``[imaging]`` are carried over by a rigid registration of the planning CT to the
    post-treatment ``ct`` (:func:`dosimetry.workflow.registration.carry_planning_rois`); the
    post-treatment segmentation, when given, is read for its liver only, to measure the registration.

    Raises
    ------
    InputError
        The post-treatment images belong to another PatientID than ``patient.id`` (unless
        ``allow_mismatch``), or ``register`` without a post-treatment CT or planning images.
    """
    rois = dict(liver_roi=liver_roi, tumour_rois=tumour_rois, lung_rois=lung_rois, perfused_roi=perfused_roi)
    if not register:
        post = load_imaging(activity_image, segmentation, ct=ct, allow_mismatch=allow_mismatch, progress=progress, **rois, **reading)
        registration = None
    else:
        from .registration import carry_planning_rois

        post, registration = carry_planning_rois(pf, activity_image, ct, post_segmentation=segmentation, allow_mismatch=allow_mismatch,
                                                 progress=progress, post_liver_roi=liver_roi, **reading)
    # PatientID, birth date and sex against the patient file: the one identity rule (workflow/identity.py)
    overridden = post_identity(pf, post, allow_mismatch)
    if overridden:
        post = replace(post, warnings=tuple(post.warnings) + overridden)
    return post, registration
