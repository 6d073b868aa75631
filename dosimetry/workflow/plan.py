"""Planning step of the main job: a validated patient file -> plan -> vial and timing.

The verdict is not made here but in :mod:`dosimetry.workflow.assess`, which every command uses.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace

import numpy as np

from .. import planning
from ..devices import device as _device
from ..devices import sphere_count
from ..errors import InputError
from ..io.patient import PatientFile
from ..isotope import Y90
from ..planning.clinical import Extent
from ..planning.result import Plan
from ..schedule import GlassVialChoice, ResinDraw, choose_glass_vial, glass_activity_at, glass_calibration_activity, resin_draw
from ..units import to_json

__all__ = ["PatientPlan", "plan_patient", "compare_devices", "clinical_of", "METHOD_NAMES"]

#: Relative difference between a glass vial's activity at the planned administration time and the
#: prescription that is accepted without a warning (1 %, of the order of dose-calibrator accuracy).
VIAL_TOLERANCE = 0.01

METHOD_NAMES = {
    "mird": "MIRD single compartment",
    "bsa": "BSA method",
    "empirical": "empirical method",
    "partition": "partition model",
}


@dataclass(frozen=True)
class PatientPlan:
    """A patient's plan with its vial and timing.

    Parameters
    ----------
    patient : PatientFile
        The validated inputs.
    plan : Plan
        The prescription and every figure behind it.
    vial : GlassVialChoice or ResinDraw or None
        Vial and timing, when the patient file gives the calibration (and administration) time.
    calibration_activity : pint.Quantity or None
        Glass: activity needed at calibration for the planned administration time [GBq].
    sphere_count : float or None
        Spheres administered (at the administration time when known, else at calibration).
    notes : tuple of str
        Why a vial or timing figure is missing.
    schedule_warnings : tuple of str
        Why the vial or timing cannot deliver the prescription (the plan itself stands).
    schedule_failures : tuple of str
        Safety limits that the chosen vial would exceed if given at the planned administration
        time; any makes the plan blocked.
    """

    patient: PatientFile
    plan: Plan
    vial: GlassVialChoice | ResinDraw | None = None
    calibration_activity: object = None
    sphere_count: float | None = None
    notes: tuple = ()
    schedule_warnings: tuple = ()
    schedule_failures: tuple = ()

    @property
    def within_limits(self) -> bool:
        """Every safety limit passes, for the prescription and for the vial at the planned time."""
        return bool(self.plan.within_limits) and not self.schedule_failures

    @property
    def warnings(self) -> tuple:
        extra = tuple(getattr(self.vial, "warnings", ()) or ())
        return tuple(self.plan.warnings) + extra + tuple(self.schedule_warnings)

    def to_json(self) -> dict:
        """The JSON contract of docs/cli.md: the plan's keys plus patient, vial and timing."""
        out = {"patient_id": self.patient.patient.id}
        out.update(self.plan.to_json())
        out["warnings"] = list(self.warnings)
        out["vial"] = self.vial.to_json() if self.vial is not None else None
        if self.calibration_activity is not None:
            out["calibration_activity"] = to_json(self.calibration_activity)
        out["sphere_count"] = self.sphere_count
        if self.patient.treatment.administration is not None:
            out["administration_time"] = self.patient.treatment.administration.isoformat()
        out["notes"] = list(self.notes)
        out["within_limits"] = self.within_limits
        out["schedule_failures"] = list(self.schedule_failures)
        return out


def clinical_of(pf: PatientFile):
    """The patient file's clinical scenario; the extent is whole liver when the target is the whole liver."""
    c = pf.clinical
    if c.extent is None and pf.liver.volume is not None:
        if abs(float((pf.target.volume / pf.liver.volume).to("dimensionless").magnitude) - 1.0) <= 0.01:
            c = replace(c, extent=Extent.WHOLE_LIVER)
    return c


def _model(pf: PatientFile, device: str, method: str) -> Plan:
    t, lung, liver, tr = pf.target, pf.lung, pf.liver, pf.treatment
    tumours = [x.volume for x in t.tumours]
    ratios = [x.tumour_to_normal for x in t.tumours]
    if len(tumours) == 1:
        tumours, ratios = tumours[0], ratios[0]
    elif not tumours:
        tumours, ratios = None, None
    if isinstance(ratios, list) and any(r is None for r in ratios):
        ratios = None  # uniform uptake unless every tumour has its ratio
    common = dict(
        device=device,
        liver_tumour=liver.tumour_volume,
        clinical=clinical_of(pf),
        density=liver.density,
        residual_fraction=t.residual_fraction,
        dose_coefficient=tr.dose_coefficient,
        lung_mass=lung.mass,
        prior_lung_dose=lung.prior_dose,
        lung_limit=lung.limit,
        cumulative_lung_limit=lung.cumulative_limit,
        normal_liver_limit=t.normal_liver_limit,
    )
    if method == "mird":
        if t.dose is None:
            raise InputError("target.dose", "missing required key (the mird method prescribes a mean dose to the perfused volume)")
        return planning.mird(t.dose, t.mass, lung.shunt_fraction, tumour=tumours, tumour_to_normal=ratios, liver=liver.volume, **common)
    if method == "bsa":
        return planning.bsa(pf.patient.height, pf.patient.weight, liver.volume, t.tumour_volume, lung.shunt_fraction, target=t.volume,
                            tumour_to_normal=ratios if not isinstance(ratios, list) else None, **common)
    if method == "empirical":
        if t.volume is not None and liver.volume is not None and abs(float((t.volume / liver.volume).to("dimensionless").magnitude) - 1) > 0.01:
            raise InputError("target.volume", "the empirical method treats the whole liver; target.volume must equal liver.volume (use bsa for lobar treatment)")
        return planning.empirical(liver.volume, t.tumour_volume, lung.shunt_fraction, tumour_to_normal=ratios if not isinstance(ratios, list) else None, **common)
    if method == "partition":
        return planning.partition(
            t.volume,
            tumours,
            ratios,
            lung.shunt_fraction,
            normal_liver_dose=t.normal_liver_dose,
            tumour_dose=t.tumour_dose,
            liver=liver.volume,
            **common,
        )
    raise InputError("treatment.method", f"unknown method {method!r}")


def _schedule(pf: PatientFile, plan: Plan):
    """Vial, calibration activity, sphere count and notes for a computed plan."""
    tr = pf.treatment
    a = plan.prescribed_activity
    notes = []
    vial = cal_activity = None
    if not np.isfinite(a.magnitude) or a.magnitude <= 0:
        return None, None, None, ("no activity to schedule",), (), ()
    if not plan.within_limits:
        return None, None, None, ("no vial or timing: the plan is blocked by a safety limit",), (), ()
    warnings, failures = [], []
    try:
        if plan.device == "glass":
            if tr.calibration is not None:
                # The smallest standard vial that holds the prescription at or after the planned time,
                # or up to 1 % less at it (it reached the prescription within the last 0.92 h).
                earliest = None
                if tr.administration is not None:
                    earliest = tr.administration - _dt.timedelta(hours=float(Y90.half_life.to("h").magnitude * np.log2(1 + VIAL_TOLERANCE)))
                vial = choose_glass_vial(a, tr.calibration, earliest=earliest)
                if tr.administration is not None:
                    cal_activity = glass_calibration_activity(a, tr.calibration, tr.administration)
                    failures = _vial_at_planned_time(plan, vial, tr, cal_activity, warnings)
            else:
                notes.append("vial choice needs treatment.calibration (the vial calibration date-time)")
        else:
            if tr.calibration is not None and tr.administration is not None:
                vial = resin_draw(a, tr.calibration, tr.administration, vial_activity=tr.vial_activity)
            else:
                notes.append("volume to draw needs treatment.calibration and treatment.administration")
    except InputError as exc:
        # The prescription stands; the vial or timing cannot deliver it. Say so loudly.
        warnings.append(f"VIAL: {exc}")
    if vial is not None:
        spheres = vial.sphere_count
    else:
        spheres = float(sphere_count(_device(plan.device), a))
        notes.append("sphere count assumes administration at calibration")
    return vial, cal_activity, spheres, tuple(notes), tuple(warnings), tuple(failures)


def _vial_at_planned_time(plan: Plan, vial: GlassVialChoice, tr, cal_activity, warnings: list) -> list:
    """Warn when the glass vial reaches the prescription at another time than the planned one.

    A glass vial is given whole, so at the planned administration time it delivers its decayed
    activity, not the prescription; every dose then scales by that ratio (doses are linear in
    activity). Returns the safety limits that would fail at the planned time.
    """
    at_planned = glass_activity_at(vial.vial, tr.calibration, tr.administration)
    ratio = float((at_planned / plan.prescribed_activity).to("dimensionless").magnitude)
    if abs(ratio - 1.0) <= VIAL_TOLERANCE:
        return []
    failing = [c.description for c in plan.limits if c.safety and c.bound == "max" and not c.value.dimensionless and _fails_scaled(c, plan, ratio)]
    msg = (
        f"VIAL: the {vial.vial:.4g~P} vial holds the prescribed {plan.prescribed_activity:.4g~P} at "
        f"{vial.administration_time.isoformat(timespec='minutes')}, not at the planned administration "
        f"{tr.administration.isoformat(timespec='minutes')}, when it holds {at_planned.to('GBq'):.4g~P} "
        f"({ratio - 1:+.1%}; every dose scales by {ratio:.3f})"
    )
    if failing:
        msg += "; given then it would exceed: " + ", ".join(failing)
    msg += f". Administer at the vial time, or order {cal_activity.to('GBq'):.4g~P} at calibration for the planned time."
    warnings.append(msg)
    return failing


def _fails_scaled(c, plan: Plan, ratio: float) -> bool:
    """Whether a safety check fails when every dose of this treatment scales by ``ratio``."""
    if c.name == "cumulative_lung_dose":
        value = plan.prior_lung_dose.to("Gy").magnitude + plan.lung_dose.to("Gy").magnitude * ratio
    else:
        value = c.value.to(c.limit.units).magnitude * ratio
    lim = c.limit.magnitude
    return bool(np.any(value > lim * (1 + 1e-9) if c.inclusive else value >= lim))


def plan_patient(pf: PatientFile, *, device: str | None = None, method: str | None = None) -> PatientPlan:
    """Plan a patient with the device and method of the patient file (or those given).

    Parameters
    ----------
    pf : PatientFile
        Validated inputs (:func:`dosimetry.io.patient.load_patient`).
    device, method : str, optional
        Override ``treatment.device`` / ``treatment.method`` (used by :func:`compare_devices`).

    Returns
    -------
    PatientPlan
        The plan, vial and timing.

    Raises
    ------
    InputError
        Missing or invalid inputs for the chosen model, or no vial that fits the window.
    """
    device = device or pf.treatment.device
    method = method or pf.treatment.method
    plan = _model(pf, device, method)
    vial, cal, spheres, notes, warnings, failures = _schedule(pf, plan)
    if plan.tumour_to_normal is None and method != "partition":
        notes = notes + ("no tumour-to-normal ratio given: the normal-liver dose assumes uniform uptake over the perfused volume",)
    warnings = tuple(getattr(pf, "warnings", ())) + tuple(warnings)  # inputs outside their usual range (io.patient.PLAUSIBLE)
    return PatientPlan(pf, plan, vial, cal, spheres, notes, warnings, failures)


def compare_devices(pf: PatientFile) -> tuple[PatientPlan, PatientPlan]:
    """Plan the same patient with glass and with resin microspheres.

    Both devices use the patient file's method where both support it (mird, partition). A
    resin-only method (bsa, empirical) is compared against glass MIRD at ``target.dose``; the
    dose coefficient override, if any, is not carried across devices (each uses its own K), nor
    are the vial calibration time and vial activity, which belong to the patient file's product.

    Returns
    -------
    tuple of PatientPlan
        (glass, resin).
    """
    method = pf.treatment.method
    from dataclasses import replace

    def for_device(dev: str) -> PatientFile:
        if dev == pf.treatment.device:
            return replace(pf, treatment=replace(pf.treatment, dose_coefficient=None))
        return replace(pf, treatment=replace(pf.treatment, dose_coefficient=None, calibration=None, vial_activity=None))

    if method in ("bsa", "empirical"):
        if pf.target.dose is None:
            raise InputError("target.dose", f"--compare with the resin {method} method needs target.dose for the glass MIRD plan")
        glass = plan_patient(for_device("glass"), device="glass", method="mird")
    else:
        glass = plan_patient(for_device("glass"), device="glass", method=method)
    resin = plan_patient(for_device("resin"), device="resin", method=method)
    return glass, resin
