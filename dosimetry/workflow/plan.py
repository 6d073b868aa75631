"""Planning step of the main job: a validated patient file -> plan -> vial and timing.

The verdict is not made here but in :mod:`dosimetry.workflow.assess`, which every command uses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pint

from .. import planning
from ..devices import device as _device
from ..devices import sphere_count
from ..errors import InputError
from ..model import PatientFile
from ..planning.result import Plan
from ..decay import elapsed_between
from ..devices import RESIN
from ..planning import verdict as _verdict
from ..planning.result import LimitCheck
from ..vocabulary import DeviceName, Method, Origin
from ..schedule import GlassOrder, ResinDraw, glass_activity_at, glass_order, resin_draw
from ..units import Q_, to_json

__all__ = ["PatientPlan", "plan_patient", "plan_call", "compare_devices", "clinical_of", "METHOD_NAMES"]

#: Human name of each method (:attr:`dosimetry.vocabulary.Method.label`).
METHOD_NAMES = {m: m.label for m in Method}


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
        Glass: the ordering advice; resin: the volume to draw (needs the calibration time).
    calibration_activity : pint.Quantity or None
        Glass: activity needed at calibration for the planned administration time [GBq].
    sphere_count : float or None
        Spheres administered (at the administration time when known, else at calibration).
    notes : tuple of str
        Why a vial or timing figure is missing.
    schedule_warnings : tuple of str
        Why the vial or timing cannot deliver the prescription (the plan itself stands).
    decisions : tuple of str
        Why no vial or timing delivers the prescription as planned (the plan needs a decision).
    vial_checks : tuple of LimitCheck
        Safety checks of the vial: resin, administration inside the usable window; glass, the
        plan's safety limits when the whole vial is given at the planned time (any failure blocks).
    basis : str or None
        What the plan was prescribed to, when :func:`compare_devices` chose it (also the first note).
    """

    patient: PatientFile
    plan: Plan
    vial: GlassOrder | ResinDraw | None = None
    calibration_activity: pint.Quantity | None = None
    sphere_count: float | None = None
    notes: tuple = ()
    schedule_warnings: tuple = ()
    decisions: tuple = ()
    vial_checks: tuple = ()
    basis: str | None = None

    @property
    def needs_decision(self) -> bool:
        """No vial or timing delivers the prescription as planned: the clinic must choose (exit 1)."""
        return bool(self.decisions)

    @property
    def vial_at_planned_time(self):
        """Glass: (vial activity at calibration [GBq], calibration time) of the vial given whole at the
        planned administration (chosen or ordered), else None."""
        tr = self.patient.treatment
        if not _device(self.plan.device).whole_vial or tr.administration is None:
            return None
        if isinstance(self.vial, GlassOrder) and self.vial.choice is not None:  # a whole-vial device's order
            return self.vial.vial, self.vial.calibration_time
        if tr.vial is not None and tr.calibration is not None:
            return tr.vial, tr.calibration
        return None

    @property
    def vial_activity(self):
        """Glass: the whole vial's activity at the administration time [GBq] (the activity that will
        be given; the prescription is what the plan asked for), else None. The chosen option's
        activity at its administration time, or the vial already ordered decayed to the planned time."""
        if not _device(self.plan.device).whole_vial:
            return None
        choice = getattr(self.vial, "choice", None)
        if choice is not None and getattr(choice, "delivered", None) is not None:
            return choice.delivered.to("GBq")
        held, when = self.vial_at_planned_time, self.patient.treatment.administration
        if held is None or when is None:
            return None
        return glass_activity_at(held[0], held[1], when).to("GBq")

    @property
    def doses_at_vial(self) -> dict | None:
        """Every compartment's dose when the glass vial is given whole (:attr:`vial_activity`), None
        without a vial: ``activity`` (the vial at administration), ``activity_reaching_patient`` (after
        the residual fraction), ``ratio`` (vial / prescription) and each dose of the plan scaled by the
        ratio (doses are linear in the activity; the cumulative lung dose adds the prior dose
        unscaled: :func:`dosimetry.planning.verdict.scaled_figure`)."""
        given = self.vial_activity
        p = self.plan
        if given is None or np.ndim(p.prescribed_activity.magnitude) or not float(p.prescribed_activity.magnitude) > 0:
            return None
        ratio = float((given / p.prescribed_activity).to("dimensionless").magnitude)
        out = {"activity": given, "activity_reaching_patient": (given * (1 - float(p.residual_fraction))).to("GBq"), "ratio": ratio}
        for key in ("target_dose", "tumour_dose", "normal_liver_dose", "whole_normal_liver_dose", "lung_dose", "cumulative_lung_dose"):
            v = getattr(p, key)
            if v is not None:
                out[key] = _verdict.scaled_figure(key, v, ratio, p.prior_lung_dose)
        return out

    def _vial_json(self, at_vial: dict) -> dict:
        """:attr:`doses_at_vial` as JSON: tumour doses by name (never an unnamed array)."""
        doc = {k: (round(v, 6) if k == "ratio" else to_json(v)) for k, v in at_vial.items() if k != "tumour_dose"}
        if "tumour_dose" in at_vial:
            names = [t.name for t in self.patient.target.tumours]
            doses = np.atleast_1d(at_vial["tumour_dose"].to("Gy").magnitude)
            names = names if len(names) == len(doses) else [f"tumour {i + 1}" for i in range(len(doses))]
            doc["tumours"] = [{"name": n, "dose": {"value": float(d), "unit": "Gy"}} for n, d in zip(names, doses)]
        return doc

    @property
    def activity_to_administer(self):
        """What the written directive gives [GBq]: the glass vial's activity at administration, or
        the prescription (resin, drawn to it)."""
        v = self.vial_activity
        return v if v is not None else self.plan.prescribed_activity

    @property
    def checks(self) -> tuple:
        """Every check of the plan and of its vial."""
        return tuple(self.plan.limits) + tuple(self.vial_checks)

    @property
    def schedule_failures(self) -> tuple:
        """The safety limits the glass vial would exceed if given at the planned administration time."""
        return tuple(c.description for c in _verdict.failed(self.vial_checks) if c.origin is Origin.VIAL_AT_PLANNED_TIME)

    @property
    def within_limits(self) -> bool:
        """Every safety limit passes, for the prescription and for its vial (the one rule of
        :mod:`dosimetry.planning.verdict`)."""
        return bool(_verdict.within_limits(self.checks))

    @property
    def warnings(self) -> tuple:
        extra = tuple(getattr(self.vial, "warnings", ()) or ())
        # a value outside its usual band is warned by the patient file and by the planning function alike
        return tuple(dict.fromkeys(tuple(self.plan.warnings) + extra + tuple(self.schedule_warnings)))

    def to_json(self) -> dict:
        """The JSON contract of docs/cli.md: the plan's keys plus patient, vial and timing."""
        out: dict[str, Any] = {"patient_id": self.patient.patient.id}
        out.update(self.plan.to_json())
        out["warnings"] = list(self.warnings)
        out["vial"] = self.vial.to_json() if self.vial is not None else None
        if self.calibration_activity is not None:
            out["calibration_activity"] = to_json(self.calibration_activity)
        out["sphere_count"] = self.sphere_count
        if self.patient.treatment.administration is not None:
            out["administration_time"] = self.patient.treatment.administration.isoformat(timespec="seconds")
        out["notes"] = list(self.notes)
        out["within_limits"] = self.within_limits
        out["schedule_failures"] = list(self.schedule_failures)
        out["needs_decision"] = self.needs_decision
        out["decisions"] = list(self.decisions)
        at_vial = self.doses_at_vial
        out["doses_at_vial_activity"] = None if at_vial is None else self._vial_json(at_vial)
        return out


def clinical_of(pf: PatientFile):
    """The patient file's clinical scenario (:attr:`dosimetry.model.PatientFile.scenario`)."""
    return pf.scenario


def _model(pf: PatientFile, device: str, method: str) -> Plan:
    fn, args, kwargs = plan_call(pf, device, method)
    return fn(*args, **kwargs)


def plan_call(pf: PatientFile, device: str, method: str) -> tuple:
    """The planning function of ``method`` and its arguments for the patient file: ``(fn, args, kwargs)``.

    :func:`plan_patient` calls it; the uncertainty analysis (:mod:`dosimetry.workflow.uncertainty`)
    calls the same function with drawn inputs, so both go through one piece of code.
    """
    t, lung, liver = pf.target, pf.lung, pf.liver
    # one Quantity (and ratio) for one tumour, lists for several, None for none: as the planning functions take them
    volumes = [x.volume for x in t.tumours]
    given = [x.tumour_to_normal for x in t.tumours]
    tumours: list[pint.Quantity] | pint.Quantity | None = volumes
    ratios: list[float | None] | float | None = given
    if len(volumes) == 1:
        tumours, ratios = volumes[0], given[0]
    elif not volumes:
        tumours, ratios = None, None
    if isinstance(ratios, list) and any(r is None for r in ratios):
        ratios = None  # uniform uptake unless every tumour has its ratio
    common = {"settings": pf.plan_settings(device)}
    if method == "mird":
        if t.dose is None:
            raise InputError("target.dose", "missing required key (the mird method prescribes a mean dose to the perfused volume)")
        # the perfused mass as written: target.mass if typed, else target.volume (mird takes either, with
        # liver.density), so a value outside its usual band is warned once, under the field the file gave
        typed_mass = "mass" in ((getattr(pf, "raw", None) or {}).get("target") or {})
        perfused = t.mass if typed_mass or t.volume is None else t.volume
        return planning.mird, (t.dose, perfused, lung.shunt_fraction), dict(tumour=tumours, tumour_to_normal=ratios, liver=liver.volume, **common)
    if method == "bsa":
        lobar = t.volume is not None and liver.volume is not None and abs(float((t.volume / liver.volume).to("").magnitude) - 1) > 0.01
        if lobar and liver.tumour_volume is None:
            raise InputError(
                "liver.tumour_volume",
                "missing: a lobar or selective BSA plan takes the tumour involvement of the whole liver (every tumour in it, "
                "SIR-Spheres IFU) before the lobe fraction; give it (equal to target.tumour_volume if all tumours are in the target)",
            )
        return planning.bsa, (pf.patient.height, pf.patient.weight, liver.volume, t.tumour_volume, lung.shunt_fraction), dict(
            target=t.volume, tumour_to_normal=ratios if not isinstance(ratios, list) else None, **common)
    if method == "empirical":
        if t.volume is not None and liver.volume is not None and abs(float((t.volume / liver.volume).to("dimensionless").magnitude) - 1) > 0.01:
            raise InputError("target.volume", "the empirical method treats the whole liver; target.volume must equal liver.volume (use bsa for lobar treatment)")
        return planning.empirical, (liver.volume, t.tumour_volume, lung.shunt_fraction), dict(
            tumour_to_normal=ratios if not isinstance(ratios, list) else None, **common)
    if method == "partition":
        return planning.partition, (t.volume, tumours, ratios, lung.shunt_fraction), dict(
            normal_liver_dose=t.normal_liver_dose, tumour_dose=t.tumour_dose, liver=liver.volume, **common)
    raise InputError("treatment.method", f"unknown method {method!r}")


def _schedule(pf: PatientFile, plan: Plan):
    """Vial, calibration activity, sphere count, notes, warnings, decisions and vial checks for a plan."""
    tr = pf.treatment
    a = plan.prescribed_activity
    notes: list[str] = []
    warnings: list[str] = []
    decisions: list[str] = []
    checks: list[LimitCheck] = []
    vial: GlassOrder | ResinDraw | None = None
    if not np.isfinite(a.magnitude) or a.magnitude <= 0:
        return None, None, None, ("no activity to schedule",), (), (), ()
    if not plan.within_limits:
        return None, None, None, ("no vial or timing: the plan is blocked by a safety limit",), (), (), ()
    try:
        if _device(plan.device).whole_vial:
            if tr.calibration is not None or tr.administration is not None:
                if tr.calibration is None:
                    notes.append("vial calibration time chosen by the manufacturer's convention (12:00 US Eastern time on the "
                                 "calibration day; verify against the current instructions for use)")
                vial = glass_order(
                    a, tr.calibration, planned=tr.administration, clinic=pf.clinic, tolerance=pf.delivery_tolerance,
                    cap=Q_(float(np.min(plan.max_safe_activity.to("GBq").magnitude)), "GBq"), custom=pf.custom_doses,
                    ordered=tr.vial if tr.calibration is not None else None,
                )
                if vial.choice is None:
                    assert vial.decision is not None  # an order without a choice says why (schedule.glass_order)
                    decisions.append(vial.decision)
                pp_like = PatientPlan(pf, plan, vial)
                if pp_like.vial_at_planned_time is not None:
                    held, cal = pp_like.vial_at_planned_time
                    checks += _vial_at_planned_time(plan, held, replace(tr, calibration=cal), warnings)
            else:
                notes.append("vial choice needs the vial calibration time or the planned administration time")
        else:
            if tr.vial_activity is None:
                notes.append(f"resin vial activity not given: the nominal {RESIN.vial_activities[0]:~P} (+-10 %) is used; "
                             "give the vial activity measured in the dose calibrator in the patient file")
            if tr.calibration is not None and tr.administration is not None:
                checks.append(_resin_window_check(elapsed_between(tr.calibration, tr.administration, "treatment.administration")))
                vial = resin_draw(a, tr.calibration, tr.administration, vial_activity=tr.vial_activity)
                outside = pf.clinic.outside(tr.administration)
                if outside:  # as for glass ([clinic] hours and days)
                    decisions.append(outside)
                if vial.volume > 0.9 * vial.vial_volume:
                    warnings.append(f"the draw takes {float((vial.volume / vial.vial_volume).to('').magnitude):.0%} of the vial: "
                                    "no margin for what stays in the vial and the delivery set")
            else:
                notes.append("volume to draw needs treatment.calibration and treatment.administration")
    except InputError as exc:
        # The prescription stands; the vial or timing cannot deliver it: a decision is needed.
        decisions.append(exc.message)
    if vial is not None and vial.sphere_count is not None:
        spheres = int(vial.sphere_count)
    else:
        spheres = int(round(float(sphere_count(_device(plan.device), a))))
        notes.append("sphere count assumes administration at calibration")
    return vial, None, spheres, tuple(notes), tuple(warnings), tuple(decisions), tuple(checks)


def _resin_window_check(elapsed) -> LimitCheck:
    """The resin administration must fall in the product's usable window around calibration."""
    t = elapsed.to("h")
    lo, hi = RESIN.usable_from.to("h"), RESIN.usable_until.to("h")
    before = t < lo
    return LimitCheck(
        name="time_from_calibration",
        description=f"administration from {-lo.magnitude:g} h before to {hi.magnitude:g} h after the vial calibration",
        value=t,
        limit=lo if before else hi,
        bound="min" if before else "max",
        safety=True,
        passed=bool(lo <= t <= hi),
        source=RESIN.sources["usable_window"],
        label="time from vial calibration",
        volume="vial",
        origin=Origin.VIAL,
    )


#: A glass vial whose activity at the planned time is within this fraction of the prescription is
#: not listed among the checks when every scaled check passes (display only: a failing scaled check
#: always blocks, whatever the ratio).
VIAL_RATIO_SHOWN = 1e-3


def _vial_at_planned_time(plan: Plan, held, tr, warnings: list) -> tuple:
    """The safety checks of the plan when the glass vial ``held`` is given whole at the planned time.

    A glass vial is given whole, so at the planned administration time it delivers its decayed
    activity, not the prescription; every dose then scales by that ratio (doses are linear in
    activity; :func:`dosimetry.planning.verdict.scaled`). Returns the checks to show: every failing
    one, and all of them when the ratio differs from 1 by more than :data:`VIAL_RATIO_SHOWN`.
    """
    at_planned = glass_activity_at(held, tr.calibration, tr.administration)
    ratio = float((at_planned / plan.prescribed_activity).to("dimensionless").magnitude)
    note = f"the {held.to('GBq').magnitude:g} GBq vial holds {ratio:.3f} x the prescription at the planned administration"
    checks = _verdict.scaled(plan.limits, ratio, plan.prior_lung_dose, origin=Origin.VIAL_AT_PLANNED_TIME, note=note)
    failing = _verdict.failed(checks)
    if failing:
        warnings.append(
            f"the {held:.4g~P} vial holds {at_planned.to('GBq'):.4g~P} at the planned administration "
            f"{tr.administration.isoformat(timespec='minutes')} ({ratio - 1:+.1%}; every dose scales by {ratio:.3f}); "
            "given then it would exceed: " + ", ".join(c.description for c in failing)
        )
    return checks if abs(ratio - 1.0) > VIAL_RATIO_SHOWN else failing


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
    vial, cal, spheres, notes, warnings, decisions, checks = _schedule(pf, plan)
    if plan.tumour_to_normal is None and method != "partition":
        notes = notes + ("no tumour-to-normal ratio given: the normal-liver dose assumes uniform uptake over the perfused volume",)
    warnings = tuple(getattr(pf, "warnings", ())) + tuple(warnings)  # inputs outside their usual range (io.patient.PLAUSIBLE)
    if "residual_fraction" not in (pf.raw.get("target") or {}):
        notes = notes + (f"residual fraction not given: {pf.target.residual_fraction:.0%} assumed (activity left in the vial and delivery set); "
                         "give the measured residual fraction in the patient file (resin losses of several percent are reported)",)
    decisions = tuple(plan.decisions) + tuple(decisions)  # the screen's first, then the vial's and the time's
    return PatientPlan(pf, plan, vial, cal, spheres, notes, warnings, decisions, checks)


def fmt_gy(q) -> str:
    return f"{q.to('Gy').magnitude:g} Gy"


def _own_target(pf: PatientFile, dev: str) -> tuple[PatientFile, str, str]:
    """The patient file re-targeted to ``dev``'s own efficacy threshold of the scenario.

    Segmental: the perfused-volume threshold (EANM 2022 T2 glass > 400 Gy, T3 resin > 150 Gy) by
    MIRD. Otherwise, with tumours of known tumour-to-normal ratio: the tumour threshold (T2 glass
    205 / 260 / 189 Gy, T3 resin 100 Gy) by the partition model. Returns the file, the method and a
    sentence saying what was prescribed.
    """
    from ..planning import limits as _limits

    rows, _ = _limits.applicable(dev, clinical_of(pf))
    eff = {r.figure: r for r in rows if not r.safety and r.bound == "min"}
    tg = pf.target
    if "target_dose" in eff:
        d = eff["target_dose"].value
        return replace(pf, target=replace(tg, dose=d)), "mird", f"perfused volume {fmt_gy(d)} ({eff['target_dose'].source})"
    has_ratios = tg.tumours and all(t.tumour_to_normal is not None for t in tg.tumours)
    if "tumour_dose" in eff and has_ratios:
        d = eff["tumour_dose"].value
        return replace(pf, target=replace(tg, tumour_dose=d, normal_liver_dose=None)), "partition", f"tumour {fmt_gy(d)} ({eff['tumour_dose'].source})"
    raise InputError(
        "clinical.indication",
        f"--compare plans {dev} to its own target for the scenario; give clinical.indication (hcc, icc, colorectal) "
        "and tumours with tumour_to_normal, or clinical.extent = \"segmental\"",
    )


def compare_devices(pf: PatientFile) -> tuple[PatientPlan, PatientPlan]:
    """Plan the same patient with glass and with resin microspheres, each to its own target.

    The patient file's device keeps the file's method and target. The other device is planned to
    its own efficacy threshold of the clinical scenario (:func:`_own_target`), never to the other
    device's (a resin BSA activity or a glass MIRD dose are not transferable). Each uses its own
    dose coefficient K and its own safety limits; the vial calibration time and activity belong to
    the file's product and are not carried across.

    Returns
    -------
    tuple of PatientPlan
        (glass, resin); each one's ``notes`` start with what it was prescribed to.
    """
    out: dict[DeviceName, PatientPlan] = {}
    for dev in DeviceName:
        if dev == pf.treatment.device:
            q = replace(pf, treatment=replace(pf.treatment, dose_coefficient=None))
            pp = plan_patient(q, device=dev, method=pf.treatment.method)
            basis = f"the patient file's prescription ({METHOD_NAMES[Method(pf.treatment.method)]})"
        else:
            q, method, what = _own_target(pf, dev)
            q = replace(q, treatment=replace(q.treatment, dose_coefficient=None, calibration=None, vial_activity=None, vial=None))
            pp = plan_patient(q, device=dev, method=method)
            basis = f"{dev}'s own target for the scenario: {what}, {METHOD_NAMES[Method(method)]}"
        out[dev] = replace(pp, basis=basis, notes=(f"prescribed to {basis}",) + pp.notes)
    return out[DeviceName.GLASS], out[DeviceName.RESIN]
