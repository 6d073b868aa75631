"""Plain-text summaries: what ``y90 plan`` prints and ``summary.txt`` holds."""

from __future__ import annotations

import numpy as np
import pint

from ..devices import device as _device
from ..units import unit_string
from ..workflow import METHOD_NAMES, PatientPlan

__all__ = ["fmt", "when", "plan_status", "plan_text", "compare_text"]


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


def plan_status(pp: PatientPlan) -> tuple[str, bool]:
    """(One-line status, blocked?) for a plan."""
    p = pp.plan
    if pp.within_limits:
        return "WITHIN LIMITS: every safety limit passes", False
    if p.within_limits:  # the prescription is safe, the vial at the planned time is not
        return f"BLOCKED by the vial timing: at the planned administration the vial would exceed {'; '.join(pp.schedule_failures)}", True
    failed = "; ".join(c.description for c in p.failed_limits) or "a safety limit"
    return f"BLOCKED by {failed}. {_cap_label(p)} {fmt(p.max_safe_activity)} (set by {p.binding_constraint})", True


def _cap_label(p) -> str:
    """Partition plans know every compartment; the other models only the lungs."""
    return "Largest safe activity" if p.method == "partition" else "Largest safe activity (lung limits only)"


def _rows(pp: PatientPlan) -> list[tuple[str, str]]:
    p, pf = pp.plan, pp.patient
    dev = _device(p.device)
    rows = [
        ("Device", f"{p.device} ({dev.product})"),
        ("Method", METHOD_NAMES.get(p.method, p.method)),
        ("Prescribed activity", f"{fmt(p.prescribed_activity)} at administration"),
    ]
    if p.residual_fraction:
        rows.append(("Delivered activity", f"{fmt(p.delivered_activity)} (residual {p.residual_fraction:.1%})"))
    if pf.treatment.administration is not None:
        rows.append(("Administration", when(pf.treatment.administration)))
    rows.append(("Dose coefficient K", fmt(p.dose_coefficient)))
    if p.target_mass is not None:
        rows.append(("Perfused target", f"{fmt(pf.target.volume)}, {fmt(p.target_mass)}"))
    if p.target_dose is not None:
        rows.append(("Target mean dose", fmt(p.target_dose)))
    if p.tumour_dose is not None:
        names = [t.name for t in pf.target.tumours]
        doses = np.atleast_1d(p.tumour_dose.to("Gy").magnitude)
        label = ", ".join(f"{n} {d:.4g} Gy" for n, d in zip(names, doses)) if len(doses) == len(names) else fmt(p.tumour_dose)
        rows.append(("Tumour dose", label))
    if p.normal_liver_dose is not None:
        rows.append(("Normal liver dose", fmt(p.normal_liver_dose)))
    rows.append(("Lung shunt fraction", f"{p.lung_shunt_fraction:.1%}"))
    rows.append(("Lung dose", f"{fmt(p.lung_dose)} (lung mass {fmt(p.lung_mass)})"))
    if p.prior_lung_dose.magnitude:
        rows.append(("Cumulative lung dose", f"{fmt(p.cumulative_lung_dose)} (prior {fmt(p.prior_lung_dose)})"))
    rows.append((_cap_label(p), f"{fmt(p.max_safe_activity)} (set by {p.binding_constraint})"))
    v = pp.vial
    if v is not None and p.device == "glass":
        rows.append(("Vial (smallest standard)", f"{fmt(v.vial)} calibrated {when(v.calibration_time)}"))
        rows.append(("Vial holds prescription at", f"{when(v.administration_time)} ({fmt(v.elapsed_since_calibration)} after calibration)"))
        if pp.calibration_activity is not None:
            rows.append(("Activity needed at calibration", f"{fmt(pp.calibration_activity)} for the planned administration time"))
    elif v is not None:
        rows.append(("Vial", f"{fmt(v.vial_activity)} in {fmt(v.vial_volume)} calibrated {when(v.calibration_time)}"))
        rows.append(("Volume to draw", f"{fmt(v.volume, 3)} ({fmt(v.concentration)} at administration)"))
    if pp.sphere_count is not None:
        rows.append(("Spheres", f"{pp.sphere_count / 1e6:.3g} million"))
    return rows


def plan_text(pp: PatientPlan) -> str:
    """Human-readable plan: status, figures, limits, warnings."""
    status, _ = plan_status(pp)
    lines = [f"Patient {pp.patient.patient.id}", status, ""]
    rows = _rows(pp)
    width = max(len(r[0]) for r in rows) + 2
    lines += [f"  {k:<{width}}{v}" for k, v in rows]
    lines += ["", "Limits"]
    for c in pp.plan.limits:
        mark = "PASS" if np.all(c.passed) else ("FAIL" if c.safety else "BELOW")
        lines.append(f"  [{mark:>5}] {c.description}: {fmt(c.value)}" + ("" if c.safety else " (efficacy)"))
    lines += ["", "Warnings"] + ([f"  - {w}" for w in pp.warnings] or ["  none"])
    if pp.notes:
        lines += ["", "Notes"] + [f"  - {n}" for n in pp.notes]
    return "\n".join(lines)


def compare_text(glass: PatientPlan, resin: PatientPlan) -> str:
    """Glass and resin plans of one patient side by side."""
    g, r = dict(_rows(glass)), dict(_rows(resin))
    keys = []
    for k, _ in _rows(glass) + _rows(resin):
        if k not in keys:
            keys.append(k)
    w0 = max(len(k) for k in keys) + 2
    w1 = max([len(g.get(k, "-")) for k in keys] + [20]) + 2
    lines = [f"Patient {glass.patient.patient.id}: glass vs resin", "", f"  {'':<{w0}}{'GLASS':<{w1}}RESIN"]
    lines += [f"  {k:<{w0}}{g.get(k, '-'):<{w1}}{r.get(k, '-')}" for k in keys]
    lines.append(f"  {'Status':<{w0}}{plan_status(glass)[0].split(':')[0]:<{w1}}{plan_status(resin)[0].split(':')[0]}")
    lines.append("")
    for name, pp in (("glass", glass), ("resin", resin)):
        for wmsg in pp.warnings:
            lines.append(f"  {name}: {wmsg}")
    return "\n".join(lines)
