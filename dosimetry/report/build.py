"""The per-patient report: plan + (optional) voxel dosimetry -> PDF, JSON, text, RT Dose, DVH CSV.

:func:`make_report` computes everything in memory; :func:`write_report` writes the files into a
folder that is complete or absent (:func:`dosimetry.io.files.staged_directory`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..devices import device as _device
from ..imaging import BED_PARAMETERS, ImagingResult, compute_dose
from ..io.files import staged_directory, write_atomic
from ..io.patient import PatientFile
from ..isotope import Y90
from ..planning import check
from ..units import to_json
from ..voxel.dose import HU_DENSITY_CURVE
from ..workflow import METHOD_NAMES, PatientPlan, limit_overrides, plan_patient
from .content import CheckRow, DVHCurve, ReportContent, SliceImage
from .pdf import render_pdf
from .regions import dvh_csv, region_json
from .text import _cap_label, fmt, plan_status, plan_text, when

__all__ = ["Report", "make_report", "write_report", "imaging_json", "write_imaging_files"]

POINT_KERNEL_SOURCE = (
    "Monte Carlo Y-90 point kernel in ICRP soft tissue (opengate 10.1.1 / Geant4 11.4.2, project table "
    "y90_dpk_soft_tissue.txt), range-scaled by density, integrated over source and target voxels"
)
HU_DENSITY_SOURCE = "HU definition below 0 HU (air-water line); soft-tissue plateau 1.03 g/mL at 20-300 HU (contrast-independent); bone line above"


@dataclass(frozen=True)
class Report:
    """A computed report: what the files will hold.

    Parameters
    ----------
    plan : PatientPlan
    imaging : ImagingResult or None
    imaging_checks : tuple of LimitCheck
        Voxel mean doses against the same thresholds as the plan.
    content : ReportContent
        What the PDF shows.
    json : dict
        ``report.json``.
    text : str
        ``summary.txt``.
    blocked : bool
        A safety limit fails (plan or voxel dosimetry): the CLI exits with status 1.
    """

    plan: PatientPlan
    imaging: ImagingResult | None
    imaging_checks: tuple
    content: ReportContent
    json: dict
    text: str
    blocked: bool


def _sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (sorted names and contents)."""
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _flatten(doc: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows += _flatten(v, key + ".")
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, item in enumerate(v, 1):
                rows += _flatten(item, f"{key}[{i}].")
        else:
            rows.append((key, v.isoformat() if isinstance(v, _dt.datetime) else str(v)))
    return rows


def _imaging_checks(pp: PatientPlan, img: ImagingResult) -> tuple:
    roles = {}
    for r in img.regions:
        roles.setdefault(r.role, []).append(r)
    figures = {}
    if "tumour" in roles:
        figures["tumour_dose"] = min((r.stats.mean for r in roles["tumour"]), key=lambda q: q.magnitude)
    normal = roles.get("normal liver") or roles.get("liver")
    if normal:
        figures["normal_liver_dose"] = normal[0].stats.mean
    if "lung" in roles:
        lung = roles["lung"][0].stats.mean
        figures["lung_dose"] = lung
        figures["cumulative_lung_dose"] = lung + pp.patient.lung.prior_dose
    return check(pp.plan.device, pp.plan.scenario, overrides=limit_overrides(pp.patient), **figures)


def _rows_for(checks, prefix: str) -> list[CheckRow]:
    out = []
    for c in checks:
        sense = "<=" if c.bound == "max" else ">="
        out.append(CheckRow(f"{prefix}{c.description.split(' <=')[0].split(' >=')[0].split(' >')[0]}", fmt(c.value), f"{sense} {fmt(c.limit)}", bool(np.all(c.passed)), c.safety, c.source))
    return out


def _slices(img: ImagingResult, max_slices: int = 3) -> tuple:
    """Axial slices through the centre of each tumour (or the liver), dose on CT with outlines.

    Shown in the usual axial display (x, the patient's left, to the right; y, posterior, down);
    an axis-aligned grid with reversed axes is flipped to it. Returns () for an oblique grid.
    """
    dose = img.dose
    dirn = dose.direction
    if not np.allclose(np.abs(dirn), [[0, 0, 1], [0, 1, 0], [1, 0, 0]], atol=1e-3):
        return ()
    flip_x, flip_y = dirn[0, 2] < 0, dirn[1, 1] < 0

    def show(a):
        """Reorder columns and rows so that x and y increase to the right and down."""
        a = np.asarray(a)
        a = a[:, :, ::-1] if flip_x else a
        return a[:, ::-1, :] if flip_y else a

    d = show(np.asarray(dose.array, dtype=float))
    masks = {n: show(np.asarray(m.array) >= 0.5) for n, m in img.masks.items()}  # partial-volume masks
    ct = None if img.ct is None else show(np.asarray(img.ct.array, dtype=float))
    nk, nj, ni = dose.shape
    (_, sj, si) = dose.spacing_mm
    xs = np.sort(dose.index_to_world(np.stack([np.zeros(ni), np.zeros(ni), np.arange(ni)], axis=1))[:, 0])
    ys = np.sort(dose.index_to_world(np.stack([np.zeros(nj), np.arange(nj), np.zeros(nj)], axis=1))[:, 1])
    extent = (xs[0] - si / 2, xs[-1] + si / 2, ys[-1] + sj / 2, ys[0] - sj / 2)
    tumours = [r.name for r in img.regions if r.role == "tumour"]
    picks = []
    for n in tumours or list(masks)[:1]:
        area = masks[n].sum(axis=(1, 2))
        if area.any():
            k = int(np.argmax(area))
            if all(abs(k - p[0]) > 1 for p in picks):
                picks.append((k, n))
    picks = sorted(picks[:max_slices])
    # show the body only: the bounding box of CT > -500 HU (or of dose > 1 % of max) on any slice, + 15 mm
    body = (ct > -500) if ct is not None else (d > 0.01 * d.max())
    jj, ii = np.nonzero(body.any(axis=0))
    crop_x = crop_y = None
    if len(ii):
        crop_x = (xs[ii.min()] - 15, xs[ii.max()] + 15)
        crop_y = (ys[jj.max()] + 15, ys[jj.min()] - 15)
    out = []
    for k, name in picks:
        z = dose.index_to_world([k, 0, 0])[2]
        outlines = tuple((n, m[k]) for n, m in masks.items() if m[k].any() and n != "Normal liver")
        out.append(SliceImage(f"Axial slice z = {z:.1f} mm (through {name})", d[k], extent, None if ct is None else ct[k], outlines, crop_x, crop_y))
    return tuple(out)


def _plan_vs_voxel_tumours(pp: PatientPlan, img: ImagingResult) -> list[str]:
    """Notes where a tumour's voxel mean dose differs from the plan's by more than 20 %.

    Tumours are matched by order (the patient file's tumours and ``imaging.rois.tumours``).
    """
    if pp.plan.tumour_dose is None:
        return []
    planned = np.atleast_1d(pp.plan.tumour_dose.to("Gy").magnitude)
    voxel = [r for r in img.regions if r.role == "tumour"]
    if len(voxel) != len(planned):
        return []
    notes = []
    for r, d_plan in zip(voxel, planned):
        d_vox = r.stats.mean.to("Gy").magnitude
        if d_plan > 0 and abs(d_vox / d_plan - 1) > 0.2:
            notes.append(
                f"{r.name}: voxel mean dose {d_vox:.0f} Gy vs {d_plan:.0f} Gy planned ({d_vox / d_plan - 1:+.0%}); "
                f"for a {r.stats.volume.to('mL').magnitude:.0f} mL tumour this is expected from the image resolution "
                "(partial-volume effect), otherwise the uptake differs from the planned tumour-to-normal ratio"
                + (f" (image ratio {img.tumour_to_normal[r.name]:.2f})" if r.name in img.tumour_to_normal else "")
            )
    return notes


def make_report(pf: PatientFile, *, progress: Callable[[str], None] | None = None, now: _dt.datetime | None = None) -> Report:
    """Plan the patient, run the voxel dosimetry when the file has ``[imaging]``, and assemble the report.

    Parameters
    ----------
    pf : PatientFile
        Validated inputs.
    progress : callable, optional
        Called with a short message before each slow step.
    now : datetime, optional
        Report time (default: now, UTC), for reproducible output in tests.

    Returns
    -------
    Report
    """
    say = progress or (lambda m: None)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    say("planning")
    pp = plan_patient(pf)
    p = pp.plan
    img = None
    img_checks: tuple = ()
    if pf.imaging is not None:
        im = pf.imaging
        administered = im.administered if im.administered is not None else p.prescribed_activity
        img = compute_dose(
            im.activity,
            im.rtstruct,
            ct=im.ct,
            liver_roi=im.liver_roi,
            tumour_rois=im.tumour_rois,
            lung_rois=im.lung_rois,
            administered=administered,
            method=im.method,
            calibration=im.calibration,
            residual_fraction=pf.target.residual_fraction,
            allow_mismatch=im.allow_mismatch,
            progress=say,
        )
        img_checks = _imaging_checks(pp, img)

    plan_blocked = not pp.within_limits
    img_blocked = any(c.safety and not np.all(c.passed) for c in img_checks)
    blocked = plan_blocked or img_blocked
    status, _ = plan_status(pp)
    if img_blocked and not plan_blocked:
        failed = "; ".join(c.description for c in img_checks if c.safety and not np.all(c.passed))
        status = f"BLOCKED by voxel dosimetry: {failed}"
    elif not blocked and img is not None:
        status = "WITHIN LIMITS: every safety limit passes (plan and voxel dosimetry)"

    dev = _device(p.device)
    summary = [
        ("Patient", f"{pf.patient.id}" + (f"  ({pf.patient.name})" if pf.patient.name else "")),
        ("Device", f"{dev.product} ({p.device} microspheres)"),
        ("Method", METHOD_NAMES.get(p.method, p.method) + ("" if p.scenario == "standard" else f", {p.scenario}")),
        ("Prescribed activity", f"{fmt(p.prescribed_activity)} at administration"),
    ]
    if pf.treatment.administration is not None:
        summary.append(("Administration", when(pf.treatment.administration)))
    v = pp.vial
    if p.device == "glass":
        if pp.calibration_activity is not None:
            summary.append(("Activity at calibration", f"{fmt(pp.calibration_activity)} (for the planned time)"))
        if v is not None:
            summary.append(("Vial", f"{fmt(v.vial)} calibrated {when(v.calibration_time)}"))
            summary.append(("", f"holds the prescription at {when(v.administration_time)}"))
    elif v is not None:
        summary.append(("Activity at calibration", f"vial {fmt(v.vial_activity)} in {fmt(v.vial_volume)}, {when(v.calibration_time)}"))
        summary.append(("Volume to draw", f"{fmt(v.volume, 3)} ({fmt(v.concentration)} at administration)"))
    summary += [
        ("Dose coefficient K", fmt(p.dose_coefficient)),
        ("Perfused target", f"{fmt(pf.target.volume)} ({fmt(p.target_mass)})"),
        ("Lung shunt fraction", f"{p.lung_shunt_fraction:.1%}; lung mass {fmt(p.lung_mass)}"),
        (_cap_label(p), f"{fmt(p.max_safe_activity)} (set by {p.binding_constraint})"),
    ]
    if pp.sphere_count is not None:
        summary.append(("Spheres", f"{pp.sphere_count / 1e6:.3g} million"))

    checks = _rows_for(p.limits, "Plan: ") + _rows_for(img_checks, "Voxel: ")
    comparison = _plan_vs_voxel_tumours(pp, img) if img is not None else []
    warnings = list(pp.warnings) + list(pp.notes) + comparison
    voxel_rows, voxel_header, dvh_curves, markers = (), (), (), ()
    if img is not None:
        warnings += list(img.warnings)
        voxel_header = ("Region", "Volume", "Activity", "Mean", "D95", "D50", "D2", "Mean BED")
        voxel_rows = tuple(
            (
                r.name[:22],
                f"{r.stats.volume.to('mL').magnitude:.0f} mL",
                f"{r.activity.to('GBq').magnitude:.3f} GBq",
                f"{r.stats.mean.to('Gy').magnitude:.1f} Gy",
                f"{r.stats.d[95].to('Gy').magnitude:.1f} Gy",
                f"{r.stats.d[50].to('Gy').magnitude:.1f} Gy",
                f"{r.stats.d[2].to('Gy').magnitude:.1f} Gy",
                "-" if r.mean_bed is None else f"{r.mean_bed.to('Gy').magnitude:.1f} Gy",
            )
            for r in img.regions
        )
        dvh_curves = []
        for r in img.regions:
            dose_axis, frac = r.dvh.curve(400)
            dvh_curves.append(DVHCurve(r.name, dose_axis.to("Gy").magnitude, 100.0 * np.asarray(frac, dtype=float)))
        dvh_curves = tuple(dvh_curves)
        markers = tuple((c.description, float(c.limit.to("Gy").magnitude)) for c in img_checks if c.name != "cumulative_lung_dose")

    audit = [
        ("Software", f"y90-dosimetry {__version__}"),
        ("Python / platform", f"{platform.python_version()} / {platform.platform(terse=True)}"),
        ("Report generated", now.isoformat(timespec="seconds")),
    ]
    if pf.path is not None:
        audit += [("Patient file", str(pf.path)), ("Patient file SHA-256", pf.sha256 or "")]
    if pf.imaging is not None:
        for label, path in (("Activity image", pf.imaging.activity), ("CT", pf.imaging.ct), ("RTSTRUCT", pf.imaging.rtstruct)):
            if path is not None:
                audit += [(label, str(path)), (f"{label} SHA-256", _sha256_of(path))]
    audit += [(f"input {k}", val) for k, val in _flatten(pf.raw)]
    audit += [
        ("Y-90 half-life", f"{fmt(Y90.half_life)} ({Y90.source}; TheraSphere and SIR-Spheres IFUs)"),
        ("Y-90 mean beta energy", f"{fmt(Y90.mean_beta_energy)} ({Y90.source})"),
        ("Dose coefficient used by the plan", f"{fmt(p.dose_coefficient)} ({dev.sources.get('dose_coefficient', '')})"),
        ("Dose coefficient of the voxel dosimetry", f"{fmt(Y90.dose_coefficient)} = T1/2 / ln 2 x E_mean (MIRD primer)"),
    ]
    for c in list(p.limits) + list(img_checks):
        audit.append((f"Limit: {c.description}", c.source))
    if img is not None:
        audit += [
            ("Voxel method", "dose-voxel kernel convolution" if img.method == "kernel" else "local deposition"),
            ("Dose point kernel", POINT_KERNEL_SOURCE),
            ("HU to density", f"{HU_DENSITY_SOURCE}: {HU_DENSITY_CURVE}"),
            ("Density method", img.density_text),
            *((("Lung method", img.lung_text),) if img.lung_text else ()),
            ("Calibration", img.calibration),
            ("BED", "Dale's formula for a decaying source; " + "; ".join(f"{k}: a/b {fmt(a)}, T_rep {fmt(t)}" for k, (a, t) in BED_PARAMETERS.items())),
        ]

    slices = _slices(img) if img is not None else ()
    if img is not None and not slices:
        warnings.append("dose slices are not drawn: the dose grid is oblique (not axis-aligned); view rtdose.dcm in a planning system")
    content = ReportContent(
        patient_id=pf.patient.id,
        title=f"{dev.product}: {METHOD_NAMES.get(p.method, p.method)}",
        status=status,
        blocked=blocked,
        summary=tuple(summary),
        checks=tuple(checks),
        warnings=tuple(dict.fromkeys(warnings)),
        audit=tuple(audit),
        dvh=dvh_curves,
        dvh_markers=markers,
        slices=slices,
        voxel_rows=voxel_rows,
        voxel_header=voxel_header,
    )

    doc = pp.to_json()
    doc["warnings"] = doc["warnings"] + comparison
    doc["status"] = status
    doc["blocked"] = blocked
    if img is not None:
        doc["imaging"] = imaging_json(img, img_checks)
    doc["audit"] = {k: v for k, v in audit}

    text = plan_text(pp)
    if img is not None:
        from .regions import regions_text

        text += "\n\nVoxel dosimetry (" + img.calibration + ")\n"
        text += regions_text({r.name: r.stats for r in img.regions})
        if img.lung_shunt_fraction is not None:
            text += f"\nLung shunt fraction from the image: {img.lung_shunt_fraction:.1%}"
        for n, r in img.tumour_to_normal.items():
            text += f"\nTumour-to-normal ratio {n}: {r:.2f}"
        for c in img_checks:
            mark = "PASS" if np.all(c.passed) else ("FAIL" if c.safety else "BELOW")
            text += f"\n  [{mark:>5}] voxel {c.description}: {fmt(c.value)}"
        for w in list(img.warnings) + comparison:
            text += f"\n  - {w}"
    text = status + "\n\n" + text if img_blocked and not plan_blocked else text
    return Report(pp, img, tuple(img_checks), content, doc, text + "\n", blocked)


def imaging_json(img: ImagingResult, checks=None) -> dict:
    """The voxel-dosimetry figures as JSON (``regions.json`` of ``y90 dose``, ``imaging`` of report.json)."""
    doc = {
        "method": img.method,
        "density_method": img.density_text,
        "lung_method": img.lung_text,
        "calibration": img.calibration,
        "administered": None if img.administered is None else to_json(img.administered),
        "image_activity": to_json(img.image_activity),
        "lung_shunt_fraction": img.lung_shunt_fraction,
        "tumour_to_normal": img.tumour_to_normal,
        "regions": {r.name: dict(region_json(r.stats, activity=r.activity, mean_bed=r.mean_bed), role=r.role) for r in img.regions},
        "warnings": list(img.warnings),
    }
    if checks is not None:
        doc["limits"] = [c.to_json() for c in checks]
        doc["within_limits"] = not any(c.safety and not np.all(c.passed) for c in checks)
    return doc


def write_imaging_files(img: ImagingResult, folder: Path, *, regions_json: bool = False) -> None:
    """Write ``rtdose.dcm`` and ``dvh.csv`` (and ``regions.json``) of a voxel dosimetry into ``folder``."""
    from ..io import write_rtdose

    write_rtdose(img.dose, img.reference, folder / "rtdose.dcm")
    write_atomic(folder / "dvh.csv", dvh_csv({r.name: r.dvh for r in img.regions}))
    if regions_json:
        write_atomic(folder / "regions.json", json.dumps(imaging_json(img), indent=2, allow_nan=False))


def write_report(report: Report, out_dir, *, inputs=(), progress: Callable[[str], None] | None = None) -> Path:
    """Write report.pdf, report.json, summary.txt (and rtdose.dcm, dvh.csv) into ``out_dir``.

    The folder is built completely or not at all; it must not exist or be empty, and it must not
    hold any input.
    """
    say = progress or (lambda m: None)
    with staged_directory(out_dir, inputs=inputs) as tmp:
        say("writing the PDF")
        write_atomic(tmp / "report.pdf", render_pdf(report.content))
        write_atomic(tmp / "report.json", json.dumps(report.json, indent=2, allow_nan=False))
        write_atomic(tmp / "summary.txt", report.text)
        if report.imaging is not None:
            say("writing RT Dose and DVH")
            write_imaging_files(report.imaging, tmp)
    return Path(out_dir)
