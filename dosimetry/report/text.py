"""Plain-text summaries: what ``y90 plan`` prints and ``summary.txt`` holds."""

from __future__ import annotations

import numpy as np
import pint

from ..devices import device as _device
from ..schedule import ResinDraw
from ..units import unit_string
from ..workflow import METHOD_NAMES, CaseResult
from ..workflow.plan import VIAL_RATIO_SHOWN

__all__ = ["dicom_date", "fmt", "when", "case_text", "compare_text", "check_line", "input_line", "input_value", "session_text", "glass_order_rows", "decision_lines"]


def fmt(q, digits: int = 4) -> str:
    """A quantity as short text with ``digits`` significant figures; ``-`` for None."""
    if q is None:
        return "-"
    if isinstance(q, pint.Quantity):
        m = q.magnitude
        if np.ndim(m) > 0:
            return ", ".join(fmt(type(q)(float(v), q.units), digits) for v in np.ravel(m))
        if not np.isfinite(m):
            return "unlimited" if m > 0 else "-"
        if q.dimensionless:
            return f"{float(q.to('dimensionless').magnitude) * 100:.{digits}g} %"
        unit = unit_string(q).replace("*", "·")
        return f"{m:.{digits}g} {unit}"
    return f"{q:.{digits}g}" if isinstance(q, float) else str(q)


def when(t) -> str:
    """A date-time to the minute with its UTC offset, e.g. ``2026-11-25 10:00 -05:00``."""
    return t.strftime("%Y-%m-%d %H:%M ") + t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:]


def _pct(x: float) -> str:
    """A relative difference as ``+4.1%``; never ``-0.0%``."""
    return f"{0.0 if abs(x) < 5e-4 else x:+.1%}"


def _tumour_text(names, dose) -> str:
    """``Tumour 1 205 Gy, Tumour 2 243 Gy``; one tumour named "Tumour" reads ``205 Gy``."""
    doses = np.atleast_1d(dose.to("Gy").magnitude)
    if len(doses) != len(names):
        return fmt(dose)
    if len(names) == 1 and names[0].strip().lower() in ("tumour", "tumor", "tumours", "tumors"):
        return f"{doses[0]:.4g} Gy"
    return ", ".join(f"{n} {d:.4g} Gy" for n, d in zip(names, doses))


def _rows(case: CaseResult) -> list[tuple[str, str]]:
    pp = case.plan
    assert pp is not None  # written for a planned case
    p, pf = pp.plan, pp.patient
    dev = _device(p.device)
    at_vial = pp.doses_at_vial
    rows = [
        ("Clinical scenario", p.clinical.describe()),
        ("Device", f"{p.device} ({dev.product})"),
        ("Method", METHOD_NAMES.get(p.method, p.method)),
    ]
    if case.status != "WITHIN LIMITS":
        rows.append(("Activity to administer", f"NONE: {case.status} (do not treat as planned)"))
        rows.append(("Planned activity", f"{fmt(p.prescribed_activity)} at administration (not to be given)"))
    else:
        rows.append(("Activity to administer", f"{fmt(pp.activity_to_administer)} at administration" + (" (the whole vial)" if at_vial else "")))
        if at_vial:
            rows.append(("Planned activity", f"{fmt(p.prescribed_activity)} (vial {_pct(at_vial['ratio'] - 1)})"))
    if p.residual_fraction:
        given = at_vial["activity_reaching_patient"] if at_vial else p.delivered_activity
        rows.append(("Activity reaching the patient", f"{fmt(given)} (residual {p.residual_fraction:.1%})"))
    if pf.treatment.administration is not None:
        rows.append(("Administration", when(pf.treatment.administration)))
    rows.append(("Dose coefficient K", fmt(p.dose_coefficient)))
    if p.target_mass is not None:
        rows.append(("Perfused target", f"{fmt(pf.target.volume)}, {fmt(p.target_mass)}"))

    def dose_row(label, key, text):
        if at_vial and key in at_vial and abs(at_vial["ratio"] - 1) > VIAL_RATIO_SHOWN:
            other = _tumour_text(names, at_vial[key]) if key == "tumour_dose" else fmt(at_vial[key])
            text += f" (plan); {other} at the vial"
        rows.append((label, text))

    names = [t.name for t in pf.target.tumours]
    if p.target_dose is not None:
        dose_row("Target mean dose", "target_dose", fmt(p.target_dose))
    if p.tumour_dose is not None:
        dose_row("Tumour dose", "tumour_dose", _tumour_text(names, p.tumour_dose))
    if p.normal_liver_dose is not None:
        dose_row("Perfused normal liver dose", "normal_liver_dose", fmt(p.normal_liver_dose))
    if p.whole_normal_liver_dose is not None:
        dose_row("Whole normal liver dose", "whole_normal_liver_dose", fmt(p.whole_normal_liver_dose))
    rows.append(("Lung shunt fraction", f"{p.lung_shunt_fraction:.1%}"))
    dose_row("Lung dose", "lung_dose", fmt(p.lung_dose))
    rows[-1] = (rows[-1][0], rows[-1][1] + f" (lung mass {fmt(p.lung_mass)})")
    if p.prior_lung_dose.magnitude:
        dose_row("Cumulative lung dose", "cumulative_lung_dose", f"{fmt(p.cumulative_lung_dose)}")
        rows[-1] = (rows[-1][0], rows[-1][1] + f" (prior {fmt(p.prior_lung_dose)})")
    rows.append(("Largest safe activity", f"{fmt(case.max_safe_activity)} (set by {case.binding})"))
    v = pp.vial
    if v is not None and dev.whole_vial:
        rows += glass_order_rows(v)
    elif isinstance(v, ResinDraw):  # drawn to need (the devices that are not given whole)
        rows.append(("Vial", f"{fmt(v.vial_activity)} in {fmt(v.vial_volume)} calibrated {when(v.calibration_time)}"))
        rows.append(("Volume to draw", f"{fmt(v.volume, 3)} ({fmt(v.concentration)} at administration)"))
    if pp.sphere_count is not None:
        rows.append(("Spheres", f"{pp.sphere_count / 1e6:.3g} million"))
    return rows


def glass_order_rows(order) -> list[tuple[str, str]]:
    """The glass ordering advice as (label, text) rows: what to order, when to give it, what it delivers."""
    c = order.choice
    if c is None:
        return [("Vial order", "NEEDS A DECISION (options below)")]
    kind = "custom dose" if c.custom else "standard vial"
    rows = [("Vial to order", f"{fmt(c.vial)} {kind}, calibrated {when(c.calibration_time)}; "
                              f"vial age {c.age.to('h').magnitude:.0f} h ({c.age.to('day').magnitude:.1f} d) at administration, "
                              f"{c.sphere_count / 1e6:.2g} million spheres")]
    if order.planned is not None:
        rows.append(("Administer", f"{when(c.administration_time)} (in-hours window for this vial {when(c.window_start)} to {when(c.window_end)})"))
    else:
        rows.append(("Administer", f"between {when(c.window_start)} and {when(c.window_end)}; best {when(c.administration_time)}"))
    rows.append(("Vial activity at administration", f"{fmt(c.delivered)} ({_pct(c.deviation)} of the prescription; tolerance +-{order.tolerance:.0%})"))
    return rows


def decision_lines(case: CaseResult) -> list[str]:
    """What needs deciding and the options, as text lines."""
    if not case.decisions:
        return []
    lines = ["Decision needed"] + [f"  - {d}" for d in case.decisions]
    order = case.plan.vial if case.plan is not None else None
    opts = getattr(order, "options", ()) if order is not None and order.__class__.__name__ == "GlassOrder" else ()
    if opts:
        lines.append("  Options (each inside clinic hours and the tolerance, below the largest safe activity):")
        lines += [f"    * {o.describe()}" for o in opts]
    return lines + [""]


def check_line(c) -> str:
    """``[ PASS] lung dose (this treatment) <= 30 Gy: 9.5 Gy`` (with origin and override)."""
    mark = "PASS" if np.all(c.passed) else ("FAIL" if c.safety else "NOT REACHED")
    extra = (" (override)" if c.override else "") + (f" [{c.origin}]" if c.origin != "plan" else "")
    return f"  [{mark:>4}] {c.description}: {fmt(c.value)}{extra}" + (f"; {c.note}" if c.note else "")


def input_value(src, q) -> str:
    """One value of a plan input as it reads: a tumour-to-normal ratio as a ratio (``3.00``), never
    a percentage; a lung shunt fraction in %; other quantities with their unit."""
    if q is None:
        return "-"
    if src.field.endswith("tumour_to_normal"):
        return f"{float(q.to('dimensionless').magnitude):.2f}"
    return fmt(q)


def input_line(src) -> str:
    """``  lung shunt fraction: 7.9 % (image)`` with the typed value when both are known."""
    line = f"  {src.label}: {input_value(src, src.value)} ({src.used})"
    if src.typed is not None and src.image is not None:
        line += f"; typed {input_value(src, src.typed)}, image {input_value(src, src.image)}" + ("" if src.agree else f" DISAGREE (tolerance {src.tolerance})")
    return line


def image_text(im: dict) -> str:
    """What the activity image is: DICOM modality, radionuclide, date and series; an NRRD / NIfTI
    file by its name and declared unit (it states no modality, radionuclide or date)."""
    if not im.get("series_uid"):
        return f"{im.get('series_description', '')} (NRRD / NIfTI: modality, radionuclide and date not stated)"
    return f"{im['modality']} {im['radionuclide']}, acquired {dicom_date(im['acquisition_date']) or 'date not stated'}, series {im['series_uid']}"


#: Printed for an identifying value neither the patient file nor the images give (never invented).
NOT_GIVEN = "not given"
_SEXES = {"F": "female", "M": "male", "O": "other"}  # PatientSex (0010,0040) enumerated values
_SHUNT_METHODS = {"planar": "planar scintigraphy", "spect": "SPECT/CT"}


def identity_rows(pf, image: str = "") -> list[tuple[str, str]]:
    """(label, text) rows of what identifies the patient and the plan (issue 21, item 6): the
    patient with date of birth, sex and record number; the MAA study (date, series; ``image``: what
    the activity image is) and how the lung shunt was measured; who prepared the plan. "not given"
    where neither the patient file nor the images say."""
    lung = pf.lung
    maa = ", ".join(x for x in (lung.maa_study_date.isoformat() if lung.maa_study_date else "", lung.maa_series or "") if x) or NOT_GIVEN
    how = _SHUNT_METHODS.get(lung.shunt_method or "", NOT_GIVEN)
    return [("Patient", identity_line(pf).removeprefix("Patient ")),
            ("MAA study, shunt method", maa + (f": {image}" if image else "") + f"; lung shunt measured by {how}"),
            ("Plan prepared by", prepared_by(pf))]


def prepared_by(pf) -> str:
    """Who prepared the plan (``[report] prepared_by``), or "not given"."""
    return pf.prepared_by or NOT_GIVEN


def identity_line(pf) -> str:
    """The patient in one line: ``Patient EX-001 (Doe, Jane), born 1956-03-14, sex F, record MRN-1``."""
    p = pf.patient
    name = (p.name or "").replace("^", ", ").strip(", ")
    sex = f"{_SEXES[p.sex]} ({p.sex})" if p.sex else NOT_GIVEN
    return (f"Patient {p.id}" + (f" ({name})" if name else "") + f"; born {p.birth_date.isoformat() if p.birth_date else NOT_GIVEN}"
            + f"; sex {sex}; record number {p.record_number or NOT_GIVEN}")


def dicom_date(da: str) -> str:
    """A DICOM DA value (AcquisitionDate (0008,0022), SeriesDate (0008,0021)) ``YYYYMMDD`` as
    ``YYYY-MM-DD``; anything else unchanged (issue 21: no raw ``20260115`` on a report)."""
    da = (da or "").strip()
    return f"{da[:4]}-{da[4:6]}-{da[6:8]}" if len(da) == 8 and da.isdigit() else da


def voxel_ratio_lines(v) -> list[str]:
    """The territory and the tumour-to-normal ratios (as ratios), saying what they refer to."""
    roles = {r.role: r.name for r in v.regions}
    lines = []
    if "perfused" in roles:
        lines.append(f"Perfused territory: {roles['perfused']} (normal-liver dose and ratios against {v.normal_reference}; "
                     f"whole-liver figures: {roles.get('liver')}, {roles.get('whole normal liver', '-')})")
    ref = v.normal_reference or "normal liver"
    pv = getattr(v, "partial_volume", None)

    def beside(n):  # issue 25: the corrected figures beside the plain ones, never instead
        if pv is None or n not in pv.tumour_to_normal:
            return ""
        return (f"; partial-volume corrected {pv.tumour_to_normal[n]:.2f}, mean dose {pv.tumour_mean_dose[n].to('Gy').magnitude:.4g} Gy, "
                f"recovery {pv.recovery[n]:.2f}")

    if pv is not None:
        lines.append(f"Partial-volume correction: {pv.text}, shown beside the plain figures (the verdict uses the plain ones "
                     "unless clinical.corrected_tumour_doses)")
    return lines + [f"Tumour-to-normal ratio {n} (against {ref}): {r:.2f}{beside(n)}" for n, r in v.tumour_to_normal.items()]


def case_text(case: CaseResult) -> str:
    """Human-readable verdict: status, plan figures, safety checks, efficacy apart, warnings, notes."""
    head = identity_line(case.plan.patient) if case.plan is not None else f"Patient {case.patient_id or '-'}"
    lines = [head, case.headline(), ""]
    if case.plan is not None:
        rows = _rows(case) + identity_rows(case.plan.patient)[1:]
        width = max(len(r[0]) for r in rows) + 2
        lines += [f"  {k:<{width}}{v}" for k, v in rows] + [""]
    if case.imaging:
        lines += [f"Activity image: {image_text(case.imaging)}", ""]
    if case.inputs:
        lines += ["Plan inputs (typed or measured on the images)"] + [input_line(x) for x in case.inputs] + [""]
    if case.voxel is not None:
        from .regions import regions_text

        v = case.voxel
        lines += ["Voxel dosimetry (" + v.calibration + ")", f"Density: {v.density_text}"]
        lines += [f"Lungs: {v.lung_text}"] if v.lung_text else []
        lines += [regions_text({r.name: r.stats for r in v.regions})]
        if v.lung_shunt_fraction is not None:
            lines.append(f"Lung shunt fraction from the image: {v.lung_shunt_fraction:.1%}")
        lines += voxel_ratio_lines(v) + [""]
    lines += decision_lines(case)
    lines += ["Safety checks"] + [check_line(c) for c in case.safety]
    lines += ["", "Efficacy (reported apart: never blocks, never makes a plan safe)"] + ([check_line(c) for c in case.efficacy] or ["  none applies"])
    if case.objectives:
        lines += ["", "Voxel objectives (predictive: the activity at which each is reached, within the voxel safety limits)"]
        for o in case.objectives:
            reach = "-" if o["activity_to_reach"] is None else f"{o['activity_to_reach'].to('GBq').magnitude:.4g} GBq"
            stop = "" if o["reachable_within_limits"] else f"; NOT within the limits (stopped by {o['binding']} at {o['largest_safe_activity'].to('GBq').magnitude:.4g} GBq)"
            lines.append(f"  {o['objective']}: {reach}{stop}")
    from .uncertainty import text_lines

    lines += [""] + text_lines(case) if getattr(case, "uncertainty", None) is not None else []
    lines += ["", "Warnings"] + ([f"  - {w}" for w in case.warnings] or ["  none"])
    if case.notes:
        lines += ["", "Notes"] + [f"  - {n}" for n in case.notes]
    return "\n".join(lines)


#: Width of a value column of ``--compare`` and of its wrapped warning lines (issue 21: the table was 230+ characters wide).
COMPARE_CELL = 44
COMPARE_LINE = 100


def compare_text(glass: CaseResult, resin: CaseResult) -> str:
    """Glass and resin plans of one patient side by side, each to its own target, with its binding
    limit; cells wrap at :data:`COMPARE_CELL` characters so that the table fits a terminal."""
    import textwrap

    def rows(case):
        return [("Prescribed to", case.plan.basis or "-")] + _rows(case) + [("Binding limit", case.binding or "-"), ("Status", str(case.status))]

    g, r = dict(rows(glass)), dict(rows(resin))
    keys = []
    for k, _ in rows(glass) + rows(resin):
        if k not in keys:
            keys.append(k)
    w0 = max(len(k) for k in keys) + 2
    w1 = COMPARE_CELL + 2
    lines = [f"Patient {glass.patient_id}: glass vs resin", "", f"  {'':<{w0}}{'GLASS':<{w1}}RESIN"]
    for k in keys:
        left = textwrap.wrap(g.get(k, "-"), COMPARE_CELL) or ["-"]
        right = textwrap.wrap(r.get(k, "-"), COMPARE_CELL) or ["-"]
        for n in range(max(len(left), len(right))):
            lines.append(f"  {k if n == 0 else '':<{w0}}{left[n] if n < len(left) else '':<{w1}}{right[n] if n < len(right) else ''}".rstrip())
    lines.append("")
    for name, case in (("glass", glass), ("resin", resin)):
        for c in case.failed:
            lines += textwrap.wrap(f"{name}: FAIL {c.description}: {fmt(c.value)}", COMPARE_LINE, initial_indent="  ", subsequent_indent="    ")
        for wmsg in case.warnings:
            lines += textwrap.wrap(f"{name}: {wmsg}", COMPARE_LINE, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)


_DOSE_KEYS = (("target_dose", "perfused volume"), ("tumour_dose", "tumour"), ("normal_liver_dose", "perfused normal liver"),
              ("whole_normal_liver_dose", "whole normal liver"), ("lung_dose", "lungs"))


def territory_rows(case) -> list[tuple[str, str]]:
    """A territory of a session as (label, text) rows: what to administer (or why not), the vial and
    timing, and every compartment dose at the plan and, with a glass vial, at the vial's activity."""
    pp = case.plan
    p = pp.plan
    names = [t.name for t in pp.patient.target.tumours]
    rows = []
    for label, value in _rows(case):
        if label in ("Activity to administer", "Planned activity", "Vial to order", "Administer", "Vial activity at administration", "Volume to draw", "Vial", "Largest safe activity"):
            rows.append((label, value))
    at_vial = pp.doses_at_vial or {}
    doses = []
    for key, label in _DOSE_KEYS:
        v = getattr(p, key)
        if v is None:
            continue
        text = _tumour_text(names, v) if key == "tumour_dose" else fmt(v)
        if key in at_vial:
            text += f" ({_tumour_text(names, at_vial[key]) if key == 'tumour_dose' else fmt(at_vial[key])} at the vial)"
        doses.append(f"{label} {text}")
    rows.append(("Compartment doses", "; ".join(doses)))
    return rows


def session_text(result) -> str:
    """Several territories of one session: each territory's verdict, then the summed doses."""
    s = result.session
    lines = [f"Patient {result.cases[0].patient_id}: {len(result.names)} territories in one session", result.headline(), ""]
    for name, case in zip(result.names, result.cases):
        p = case.plan.plan
        lines.append(f"Territory {name}: {p.device}, {METHOD_NAMES.get(p.method, p.method)}, {fmt(p.prescribed_activity)}: {case.status}")
        lines += [f"    {k}: {v}" for k, v in territory_rows(case)]
        lines += [check_line(c) for c in case.safety if c.origin != "voxel"]
        lines += [("  " + x) if x else "" for x in decision_lines(case)]
        lines.append("")
    lines.append("Session (summed over the territories)")
    lines.append(f"  lung dose {fmt(s.lung_dose)}; cumulative {fmt(s.cumulative_lung_dose)} (prior {fmt(s.prior_lung_dose)})")
    if s.whole_normal_liver_dose is not None:
        lines.append(f"  whole normal liver dose {fmt(s.whole_normal_liver_dose)}")
    lines += [check_line(c) for c in s.limits]
    if s.notes:
        lines += ["", "Notes"] + [f"  - {n}" for n in s.notes]
    return "\n".join(lines)
