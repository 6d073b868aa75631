"""Page 1, the page a physicist signs: what is given, to whom, where, and whether it is safe.

Sections: patient and indication; treatment (device, method, site, vessel); the written directive
(activity to administer, prescribed dose, vial order or volume to draw, residual fraction); every
compartment's volume, mass, tumour-to-normal ratio and planned dose; safety checks with limit and
source; efficacy apart; decisions and warnings. Labels are words, never code identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..devices import device as _device
from ..schedule import ResinDraw
from ..vocabulary import Origin
from ..workflow import METHOD_NAMES, CaseResult
from .text import dicom_date, fmt, glass_order_rows, identity_rows, image_text, input_value, prepared_by, when
from .uncertainty import page1_lines

__all__ = ["SignedPage", "signed_page", "activity_text", "STATUS_KINDS"]

#: Overall status -> how the banner shows it.
STATUS_KINDS = {"WITHIN LIMITS": "ok", "NEEDS A DECISION": "decision", "BLOCKED": "blocked"}

#: Column headings of the compartment table (the last only when a glass vial is given whole).
COMPARTMENT_HEADER = ("Compartment", "Volume", "Mass", "T/N ratio", "Planned dose")
VIAL_DOSE_HEADER = "Dose at the vial"  # at 0.80 of the page width it ends inside the margin


#: 1 mCi = 37 MBq (definition of the curie: 3.7e10 Bq).
MBQ_PER_MCI = 37.0

_ORIGIN = {"plan": "plan", "vial at the planned time": "vial at the planned time", "vial": "vial", "voxel": "voxel dosimetry",
           "contraindication screen": "screen"}


@dataclass(frozen=True)
class SignedPage:
    """What page 1 shows (rendered by :mod:`dosimetry.report.pdf`).

    Parameters
    ----------
    status, status_kind, status_line : str
        ``"BLOCKED"`` / ``"NEEDS A DECISION"`` / ``"WITHIN LIMITS"``, its kind (blocked / decision /
        ok) and one sentence why.
    sections : tuple of (heading, ((label, value), ...))
        Patient, treatment and the written directive.
    compartments : tuple of tuple of str
        (compartment, volume, mass, tumour-to-normal, planned dose[, dose at the vial]) rows.
    compartment_header : tuple of str
        The column headings of ``compartments``.
    safety, efficacy : tuple of (label, value, limit, result, source)
    decisions : tuple of str
        What must be decided, and the options.
    signatures : tuple of str
        Blank fields to sign.
    prepared_by : str
        Who prepared the plan (or "not given"), printed above the signatures.
    uncertainty : tuple of str
        One line per safety limit: the chance it is crossed at the prescribed activity.
    """

    status: str
    status_kind: str
    status_line: str
    sections: tuple
    compartments: tuple
    safety: tuple
    efficacy: tuple
    decisions: tuple
    signatures: tuple = ("Prescriber (authorized user)", "Medical physicist")
    uncertainty: tuple = ()
    compartment_header: tuple = COMPARTMENT_HEADER
    prepared_by: str = ""


def activity_text(q, units: str = "si") -> str:
    """An activity in GBq, with mCi when ``units == "us"`` (1 mCi = 37 MBq)."""
    if q is None:
        return "-"
    text = fmt(q.to("GBq"))
    if units == "us":
        text += f" ({float(q.to('MBq').magnitude) / MBQ_PER_MCI:.4g} mCi)"
    return text


def _prescribed_dose(p, pf) -> str:
    method = p.method
    if method == "partition":
        if pf.target.tumour_dose is not None:
            return f"tumour mean dose {fmt(pf.target.tumour_dose)} (partition model)"
        if pf.target.normal_liver_dose is not None:
            return f"normal liver dose {fmt(pf.target.normal_liver_dose)} (partition model)"
    if method == "mird" and pf.target.dose is not None:
        return f"perfused volume mean dose {fmt(pf.target.dose)} (MIRD single compartment)"
    if method in ("bsa", "empirical"):
        return f"activity by the {METHOD_NAMES.get(method, method)} (no dose prescribed); it gives the perfused volume {fmt(p.target_dose)}"
    return f"{METHOD_NAMES.get(method, method)}: perfused volume mean dose {fmt(p.target_dose)}"


def not_to_give(case: CaseResult, units: str = "si") -> tuple:
    """(label, text) rows that replace the activity to administer when the case is BLOCKED or NEEDS A
    DECISION: why not, the largest safe activity, and what to change instead (issue 21)."""
    assert case.plan is not None  # page 1's directive is a plan's
    p = case.plan.plan
    if case.blocked:
        why = "; ".join(f"{c.label or c.description} fails ({_ORIGIN.get(c.origin, c.origin)})" for c in case.failed)
    else:
        why = "; ".join(case.decisions)
    rows = [("Activity to administer", f"NONE: {case.status} (do not treat as planned)"), ("Reason", why),
            ("Planned activity (not to be given)", activity_text(p.prescribed_activity, units) + " at administration")]
    amax = case.max_safe_activity
    if amax is not None and np.isfinite(float(amax.to("GBq").magnitude)):
        rows.append(("Largest safe activity", f"{activity_text(amax, units)} (set by the {case.binding})"))
    rows.append(("What to change", what_to_change(case, units)))
    return tuple(rows)


def what_to_change(case: CaseResult, units: str = "si") -> str:
    """What to change instead, for a BLOCKED or undecided case (one sentence)."""
    amax = case.max_safe_activity
    finite = amax is not None and np.isfinite(float(amax.to("GBq").magnitude)) and float(amax.to("GBq").magnitude) > 0
    if case.blocked:
        screen = [c for c in case.failed if c.origin == Origin.SCREEN]
        if screen:
            return ("a contraindication applies (" + "; ".join(c.description for c in screen) + "): treat only after the cause is "
                    "corrected or with a selective (segmental) approach the guideline allows, and record the decision")
        if finite:
            return (f"re-plan at or below {activity_text(amax, units)} (a lower prescribed dose, a smaller perfused territory, or "
                    "a vial and time that deliver less), then issue a new report")
        return "no activity is safe as planned: change the territory or correct the shunt, then re-plan"
    options = getattr(case.plan.vial, "options", ()) if case.plan is not None else ()
    if options:
        return "choose one of the vial options below (or change the planned time), then issue a new report"
    return "resolve the decision above (inputs, vial or timing), then issue a new report"


def _directive(case: CaseResult, units: str) -> tuple:
    pp = case.plan
    assert pp is not None  # written for a planned case
    p, pf = pp.plan, pp.patient
    whole_vial = _device(p.device).whole_vial
    choice = getattr(pp.vial, "choice", None) if whole_vial else None
    if case.status != "WITHIN LIMITS":
        rows = list(not_to_give(case, units))
    elif choice is not None:
        rows = [
            ("Activity to administer", activity_text(pp.activity_to_administer, units) + " (the whole vial, at administration)"),
            ("Planned activity", activity_text(p.prescribed_activity, units) + f" (vial {_pct(choice.deviation)}; compartment doses at both below)"),
        ]
    else:
        rows = [("Activity to administer", activity_text(p.prescribed_activity, units) + " at administration")]
    rows += [
        ("Prescribed dose", _prescribed_dose(p, pf)),
        ("Target mean dose", f"{fmt(p.target_dose)} over the perfused volume (at the planned activity)"),
    ]
    stated = "residual_fraction" in (pf.raw.get("target") or {})
    rows.append(("Residual fraction", f"{p.residual_fraction:.1%}" + ("" if stated else " (DEFAULT: not given in the patient file)")))
    if case.status == "WITHIN LIMITS":
        rows.append(("Activity reaching the patient", activity_text(pp.activity_to_administer * (1 - float(p.residual_fraction)), units) + " (after the residual fraction)"))
    tr = pf.treatment
    if tr.administration is not None:
        rows.append(("Planned administration", when(tr.administration)))
    v = pp.vial
    if v is not None and whole_vial:
        rows += [(k, v_) for k, v_ in glass_order_rows(v) if k != "Vial activity at administration"]  # given above
    elif isinstance(v, ResinDraw):  # drawn to need (the devices that are not given whole)
        measured = tr.vial_activity is not None
        rows.append(("Resin vial", f"{activity_text(v.vial_activity, units)} in {fmt(v.vial_volume)} at {when(v.calibration_time)}"
                     + ("" if measured else " (DEFAULT nominal, +-10 %: measure it)")))
        rows.append(("Volume to draw", f"{fmt(v.volume, 3)} ({fmt(v.concentration)} at administration)"))
        rows.append(("Verify in the dose calibrator", f"{activity_text(v.prescribed_activity, units)} in the syringe before administration"))
    if pp.sphere_count is not None:
        rows.append(("Spheres", f"{pp.sphere_count / 1e6:.3g} million"))
    return tuple(rows)


def _pct(x: float) -> str:
    """A relative difference as ``+4.1%``; never ``-0.0%`` (below 0.05 % it reads ``+0.0%``)."""
    return f"{0.0 if abs(x) < 5e-4 else x:+.1%}"


def _compartments(case: CaseResult) -> tuple:
    pp = case.plan
    assert pp is not None  # written for a planned case
    p, pf = pp.plan, pp.patient
    rho = pf.liver.density
    at_vial = pp.doses_at_vial or {}

    def mass(vol):
        return "-" if vol is None else fmt((vol * rho).to("kg"))

    def vial(key, i=None):
        if not at_vial:
            return ()
        v = at_vial.get(key)
        if v is None:
            return ("-",)
        if i is not None:
            return (f"{float(np.atleast_1d(v.to('Gy').magnitude)[i]):.4g} Gy",)
        return (fmt(v),)

    rows = []
    if pf.liver.volume is not None:
        rows.append(("Whole liver", fmt(pf.liver.volume), mass(pf.liver.volume), "", "-") + (("-",) if at_vial else ()))
    rows.append(("Perfused target (treated volume)", fmt(pf.target.volume), fmt(p.target_mass), "", fmt(p.target_dose)) + vial("target_dose"))
    ratio = p.tumour_to_normal
    doses = [] if p.tumour_dose is None else list(np.atleast_1d(p.tumour_dose.to("Gy").magnitude))
    for i, t in enumerate(pf.target.tumours):
        r = t.tumour_to_normal if t.tumour_to_normal is not None else (ratio if np.ndim(ratio) == 0 and ratio is not None else None)
        named = len(doses) == len(pf.target.tumours)
        d = f"{doses[i]:.4g} Gy" if named else "-"
        rows.append((t.name, fmt(t.volume), mass(t.volume), "-" if r is None else f"{float(r):.3g}", d) + (vial("tumour_dose", i) if named else vial("-")))
        rows += [row + (("",) if at_vial else ()) for row in _corrected_row(case, t.name)]
    if p.normal_liver_mass is not None:
        rows.append(("Normal liver, perfused", "-", fmt(p.normal_liver_mass), "1", fmt(p.normal_liver_dose)) + vial("normal_liver_dose"))
    if p.whole_normal_liver_mass is not None:
        rows.append(("Normal liver, whole", "-", fmt(p.whole_normal_liver_mass), "", fmt(p.whole_normal_liver_dose)) + vial("whole_normal_liver_dose"))
    rows.append(("Lungs", "-", fmt(p.lung_mass), f"shunt {p.lung_shunt_fraction:.1%}", fmt(p.lung_dose)) + vial("lung_dose"))
    if p.prior_lung_dose.magnitude:
        rows.append(("Lungs, cumulative", "-", "", f"prior {fmt(p.prior_lung_dose)}", fmt(p.cumulative_lung_dose)) + vial("cumulative_lung_dose"))
    return tuple(rows)


def _corrected_row(case: CaseResult, name: str) -> list:
    """Beside a tumour whose planned dose rests on the image's blur-lowered ratio: the corrected ratio
    and the dose it gives (issue 25: shown beside, never instead)."""
    t = next((x for x in case.partial_volume_plan if x.name == name and x.from_image), None)
    if t is None:
        return []
    if t.corrected_ratio is None:
        return [("  ratio from the image: blur-lowered", "", "", "", "")]
    return [("  partial-volume corrected", "", "", f"{t.corrected_ratio:#.3g}", f"{t.corrected_dose.to('Gy').magnitude:.4g} Gy")]


def _check(c) -> tuple:
    op = {("max", True): "<=", ("max", False): "<", ("min", True): ">=", ("min", False): ">"}[(c.bound, c.inclusive)]
    passed = bool(np.all(c.passed))
    result = "PASS" if passed else ("FAIL" if c.safety else "NOT REACHED")
    label = f"{c.label or c.description} ({_ORIGIN.get(c.origin, c.origin)})" + (" [clinic's limit]" if c.override else "")
    source = c.source + (f"; {c.note}" if c.note else "")
    return (label, fmt(c.value), f"{op} {fmt(c.limit)}", result, source)


def input_kind(field: str) -> str:
    """``target.tumours[2].volume`` -> ``tumour volumes``: a one-line list of the measured inputs."""
    if field.endswith("tumour_to_normal"):
        return "tumour-to-normal ratios"
    if field.startswith("target.tumours"):
        return "tumour volumes"
    return {"lung.shunt_fraction": "lung shunt", "lung.mass": "lung mass", "liver.volume": "liver volume", "target.volume": "perfused volume"}.get(field, field)


def _image_rows(case: CaseResult) -> tuple:
    """The planning image, and which plan inputs were measured on it (issue 12: the report says which)."""
    rows = []
    if case.imaging and not case.imaging.get("series_uid"):  # a DICOM image is said in the MAA study row
        rows.append(("Activity image", image_text(case.imaging)))
    pv = getattr(case.voxel, "partial_volume", None)
    if pv is not None:
        if case.clinical.corrected_tumour_doses:
            rows.append(("Partial-volume correction", f"{pv.text}: corrected figures shown beside the plain ones; BY THE CLINIC'S CHOICE "
                         "(clinical.corrected_tumour_doses) the tumour-dose thresholds are checked on the corrected doses, although the "
                         "EANM 2022 thresholds were derived from uncorrected means; every safety check uses the plain figures"))
        else:
            rows.append(("Partial-volume correction", f"{pv.text}: corrected figures shown beside the plain ones; the verdict uses "
                         "the plain figures (the EANM 2022 thresholds were derived from uncorrected means)"))
    measured = [s for s in case.inputs if s.used == "image"]
    if measured:
        rows.append(("Measured on the images", ", ".join(dict.fromkeys(input_kind(s.field) for s in measured))))
    for s in case.inputs:
        if s.used == "planar":
            rows.append(("Lung shunt fraction", f"{float(s.value.magnitude):.2%} from planar counts (geometric mean)"))
        if s.typed is not None and s.image is not None and not s.agree:
            rows.append((s.label[:1].upper() + s.label[1:], f"typed {input_value(s, s.typed)}, image {input_value(s, s.image)}: DISAGREE beyond {s.tolerance} (the typed value is used)"))
    return tuple(rows)


def signed_page(case: CaseResult, units: str = "si") -> SignedPage:
    """Page 1 content of an assessed case with a plan."""
    pp = case.plan
    assert pp is not None  # written for a planned case
    p, pf = pp.plan, pp.patient
    dev = _device(p.device)
    tr_raw = pf.raw.get("treatment") or {}
    im = case.imaging or {}
    image = f"{im['modality']} {im['radionuclide']}, acquired {dicom_date(im['acquisition_date']) or '-'}" if im.get("series_uid") else ""
    patient = (
        *identity_rows(pf, image)[:2],  # who prepared the plan: above the signatures
        ("Indication and scenario", p.clinical.describe()),
        ("Device, method", f"{dev.product} ({p.device} microspheres); {METHOD_NAMES.get(p.method, p.method)}"),
        ("Treatment site / territory", str(tr_raw.get("site", "")) or "________________________________"),
        ("Vessel (catheter position)", str(tr_raw.get("vessel", "")) or "________________________________"),
    )
    patient += _image_rows(case)
    status = case.status
    if case.blocked:
        line = "Do not treat as planned: " + "; ".join(f"{c.label or c.description} fails ({_ORIGIN.get(c.origin, c.origin)})" for c in case.failed)
        if case.max_safe_activity is not None and any(c.origin != "vial" for c in case.failed):
            line += f". Largest safe activity {activity_text(case.max_safe_activity, units)}, set by the {case.binding}."
    elif case.decisions:
        opts = getattr(pp.vial, "options", ()) if pp.vial is not None and pp.vial.__class__.__name__ == "GlassOrder" else ()
        line = "Every safety check passes, but a decision is needed: " + "; ".join(case.decisions) + (": choose an option below." if opts else ".")
    else:
        line = f"All {len(case.safety)} safety checks pass. Largest safe activity {activity_text(case.max_safe_activity, units)}, set by the {case.binding}."
    short = [c for c in case.efficacy if not np.all(c.passed)]
    if short:  # issue 21: a tumour below its threshold is said on page 1, in the banner
        line += " Efficacy NOT REACHED: " + "; ".join(f"{c.label or c.description} {fmt(c.value)} ({_ORIGIN.get(c.origin, c.origin)})" for c in short) + "."
    decisions = list(case.decisions)
    opts = getattr(pp.vial, "options", ()) if pp.vial is not None and pp.vial.__class__.__name__ == "GlassOrder" and case.decisions else ()
    decisions += [f"Option: {o.describe()}" for o in opts]
    return SignedPage(
        status=status,
        status_kind=STATUS_KINDS[status],
        status_line=line,
        sections=(("Patient and treatment", patient), ("Written directive", _directive(case, units))),
        compartments=_compartments(case),
        compartment_header=COMPARTMENT_HEADER + ((VIAL_DOSE_HEADER,) if pp.doses_at_vial else ()),
        safety=tuple(_check(c) for c in case.safety),
        efficacy=tuple(_check(c) for c in case.efficacy),
        decisions=tuple(decisions),
        uncertainty=page1_lines(case),
        prepared_by=prepared_by(pf),
    )
