"""The per-patient report: renders a :class:`~dosimetry.workflow.CaseResult` as PDF, JSON, text,
RT Dose and DVH CSV.

:func:`render_report` only renders (it computes no dose and checks no limit: the verdict is the
CaseResult's); :func:`write_report` writes the files into a folder that is complete or absent
(:func:`dosimetry.io.files.staged_directory`).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..devices import device as _device
from ..io.files import staged_directory, write_atomic
from ..isotope import Y90
from ..units import Q_, to_json
from ..voxel.dose import HU_DENSITY_CURVE
from ..workflow import BED_PARAMETERS, METHOD_NAMES, CaseResult, VoxelResult, input_digests, input_paths
from .content import CheckRow, DVHCurve, ReportContent, SliceImage
from .page1 import signed_page
from .pdf import render_pdf
from .record import report_record
from .regions import corrected_json, dvh_csv, partial_volume_json, region_json
from .text import case_text, fmt
from .uncertainty import audit_rows, uncertainty_content

__all__ = ["Report", "render_report", "write_report", "write_case_report", "imaging_json", "write_imaging_files", "write_dose_files", "check_rows"]

POINT_KERNEL_SOURCE = (
    "Monte Carlo Y-90 point kernel in ICRP soft tissue (opengate 10.1.1 / Geant4 11.4.2, project table "
    "y90_dpk_soft_tissue.txt), range-scaled by density, integrated over source and target voxels"
)
HU_DENSITY_SOURCE = "HU definition below 0 HU (air-water line); soft-tissue plateau 1.03 g/mL at 20-300 HU (contrast-independent); bone line above"


@dataclass(frozen=True)
class Report:
    """A rendered report: what the files will hold.

    Parameters
    ----------
    case : CaseResult
        The assessed case (plan, voxel dosimetry, every check, one status).
    content : ReportContent
        What the PDF shows.
    json : dict
        ``report.json``.
    text : str
        ``summary.txt``.
    """

    case: CaseResult
    content: ReportContent
    json: dict
    text: str

    @property
    def blocked(self) -> bool:
        """A safety limit fails (plan, vial or voxel dosimetry): the CLI exits with status 1."""
        return self.case.blocked

    @property
    def imaging(self) -> VoxelResult | None:
        return self.case.voxel


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


_ORIGIN = {"plan": "Plan", "vial at the planned time": "Vial at planned time", "voxel": "Voxel"}


def check_rows(checks) -> list[CheckRow]:
    """One table row per check: its origin and figure, value, limit with its bound, pass/fail."""
    out = []
    for c in checks:
        label = f"{_ORIGIN.get(c.origin, c.origin)}: {c.label or c.name}" + (" (override)" if c.override else "")
        op = {("max", True): "<=", ("max", False): "<", ("min", True): ">=", ("min", False): ">"}[(c.bound, c.inclusive)]
        source = c.source + (f"; {c.note}" if c.note else "")
        out.append(CheckRow(label, fmt(c.value), f"{op} {fmt(c.limit)}", bool(np.all(c.passed)), c.safety, source))
    return out


def _slices(img: VoxelResult, max_slices: int = 3, isodoses=()) -> tuple:
    """Axial, coronal and sagittal slices through the centre of each tumour (or of the liver).

    Shown in the radiological convention: the patient's right on the image left (x, the patient's
    left, increases to the right), anterior up on axial views (y, posterior, increases down) and
    superior up on coronal and sagittal views; sagittal views have anterior on the left. An
    axis-aligned grid with reversed axes is flipped to it. Returns () for an oblique grid.
    """
    dose = img.dose
    dirn = dose.direction
    if not np.allclose(np.abs(dirn), [[0, 0, 1], [0, 1, 0], [1, 0, 0]], atol=1e-3):
        return ()
    flip_x, flip_y, flip_z = dirn[0, 2] < 0, dirn[1, 1] < 0, dirn[2, 0] > 0

    def show(a):
        """Reorder so that x and y increase to the right and down, and z decreases down (superior up)."""
        a = np.asarray(a)
        a = a[:, :, ::-1] if flip_x else a
        a = a[:, ::-1, :] if flip_y else a
        return a[::-1, :, :] if flip_z else a

    d = show(np.asarray(dose.array, dtype=float))
    masks = {n: show(np.asarray(m.array) >= 0.5) for n, m in img.masks.items() if n != "Normal liver"}  # partial-volume masks
    ct = None if img.ct is None else show(np.asarray(img.ct.array, dtype=float))
    nk, nj, ni = dose.shape
    (sk, sj, si) = dose.spacing_mm
    world = dose.index_to_world
    xs = np.sort(world(np.stack([np.zeros(ni), np.zeros(ni), np.arange(ni)], axis=1))[:, 0])
    ys = np.sort(world(np.stack([np.zeros(nj), np.arange(nj), np.zeros(nj)], axis=1))[:, 1])
    zs = np.sort(world(np.stack([np.arange(nk), np.zeros(nk), np.zeros(nk)], axis=1))[:, 2])[::-1]  # superior first
    ex = (xs[0] - si / 2, xs[-1] + si / 2)
    ey = (ys[-1] + sj / 2, ys[0] - sj / 2)  # bottom (posterior), top (anterior)
    ez = (zs[-1] - sk / 2, zs[0] + sk / 2)  # bottom (inferior), top (superior)
    tumours = [r.name for r in img.regions if r.role == "tumour" and r.name in masks]
    names = sorted(tumours, key=lambda n: -masks[n].sum())[:max_slices] if tumours else [n for n in masks][:1]
    # show the body only: the bounding box of CT > -500 HU (or of dose > 1 % of max), + 15 mm
    body = (ct > -500) if ct is not None else (d > 0.01 * d.max())
    kk, jj, ii = np.nonzero(body)
    crop_x = (xs[ii.min()] - 15, xs[ii.max()] + 15) if len(ii) else None
    crop_y = (ys[jj.max()] + 15, ys[jj.min()] - 15) if len(jj) else None
    out = []
    for name in names:
        k, j, i = (int(round(c)) for c in np.argwhere(masks[name]).mean(axis=0))
        cuts = (
            ("Axial", np.s_[k, :, :], (ex[0], ex[1], ey[0], ey[1]), ("R", "L", "A", "P"), ("x [mm]", "y [mm]"), crop_x, crop_y, f"z = {zs[k]:.1f} mm"),
            ("Coronal", np.s_[:, j, :], (ex[0], ex[1], ez[0], ez[1]), ("R", "L", "S", "I"), ("x [mm]", "z [mm]"), crop_x, None, f"y = {ys[j]:.1f} mm"),
            ("Sagittal", np.s_[:, :, i], (ey[1], ey[0], ez[0], ez[1]), ("A", "P", "S", "I"), ("y [mm]", "z [mm]"), crop_y[::-1] if crop_y else None, None, f"x = {xs[i]:.1f} mm"),
        )
        for plane, cut, extent, letters, labels, cx, cy, where in cuts:
            outlines = tuple((n, m[cut]) for n, m in masks.items() if m[cut].any())
            out.append(
                SliceImage(f"{plane} through {name} centre ({where})", d[cut], extent, None if ct is None else ct[cut], outlines, cx, cy,
                           orientation=letters, axis_labels=labels, isodoses=tuple(isodoses), row=name)
            )
    return tuple(out)


def _isodoses(case: CaseResult) -> list:
    """(label, Gy) of the isodose lines drawn on the dose slices: the voxel limits and thresholds."""
    out: dict[float, str] = {}
    for c in case.safety + case.efficacy:
        if c.origin == "voxel" and c.name in ("normal_liver_dose", "whole_normal_liver_dose", "tumour_dose", "target_dose"):
            gy = float(c.limit.to("Gy").magnitude)
            out.setdefault(gy, f"{gy:g} Gy ({'tumour' if c.name == 'tumour_dose' else c.label or c.name})")
    return sorted(((v, k) for k, v in out.items()), key=lambda x: x[1])


def _audit(case: CaseResult, now: _dt.datetime, digests) -> list:
    pp = case.plan
    assert pp is not None  # written for a planned case
    p, pf = pp.plan, pp.patient
    dev = _device(p.device)
    audit = [
        ("Software", f"y90-dosimetry {__version__}"),
        ("Python / platform", f"{platform.python_version()} / {platform.platform(terse=True)}"),
        ("Report generated", now.isoformat(timespec="seconds")),
    ]
    if pf.path is not None:
        audit += [("Patient file", str(pf.path)), ("Patient file SHA-256", pf.sha256 or "")]
    for d in digests:  # a file: as sha256sum prints it; a folder: docs/cli.md, "Audit digests"
        audit += [(d.label, d.path), (f"{d.label} SHA-256", d.sha256)]
        if d.files is not None:
            audit.append((f"{d.label} SHA-256 is of", f"the sha256sum lines of its {d.files} file{'' if d.files == 1 else 's'}, names in byte order"))
    audit += [(f"input {k}", val) for k, val in _flatten(pf.raw)]
    audit += [
        ("Y-90 half-life", f"{fmt(Y90.half_life)} ({Y90.source}; TheraSphere and SIR-Spheres IFUs)"),
        ("Y-90 mean beta energy", f"{fmt(Y90.mean_beta_energy)} ({Y90.source})"),
        ("Dose coefficient used by the plan", f"{fmt(p.dose_coefficient)} ({dev.sources.get('dose_coefficient', '')})"),
        ("Dose coefficient of the voxel dosimetry", f"{fmt(Y90.dose_coefficient)} = T1/2 / ln 2 x E_mean (MIRD primer)"),
    ]
    # each limit once (the plan's, the vial's and the voxel check share one description and source)
    audit += list(dict.fromkeys((f"Limit: {c.description}", c.source) for c in case.safety + case.efficacy))
    audit += audit_rows(case)
    img = case.voxel
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
    return audit


def _voxel_content(img: VoxelResult, case: CaseResult) -> tuple:
    header = ("Region", "Volume", "Activity", "Mean", "D95", "D50", "D2", "Mean BED")
    rows = tuple(
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
    curves = []
    for r in img.regions:
        dose_axis, frac = r.dvh.curve(400)
        curves.append(DVHCurve(r.name, dose_axis.to("Gy").magnitude, 100.0 * np.asarray(frac, dtype=float)))
    voxel_checks = [c for c in case.safety + case.efficacy if c.origin == "voxel" and c.name != "cumulative_lung_dose"]
    markers = tuple(dict.fromkeys((c.description, float(c.limit.to("Gy").magnitude)) for c in voxel_checks))
    return header, rows, tuple(curves), markers


def render_report(case: CaseResult, *, now: _dt.datetime | None = None, digests=(), units: str = "si") -> Report:
    """Render an assessed case (with a plan) as PDF content, JSON and text.

    Parameters
    ----------
    case : CaseResult
        From :func:`dosimetry.workflow.run_case` or :func:`dosimetry.workflow.assess`.
    now : datetime, optional
        Report time (default: now, UTC), for reproducible output in tests.
    digests : sequence of InputDigest
        The imaging inputs for the audit trail (:func:`dosimetry.workflow.input_digests`).
    units : {"si", "us"}
        ``"us"`` adds mCi to every activity on page 1.

    Returns
    -------
    Report
    """
    if case.plan is None:
        raise ValueError("a report needs a plan")
    now = now or _dt.datetime.now(_dt.timezone.utc)
    pp, img = case.plan, case.voxel
    p = pp.plan
    dev = _device(p.device)
    warnings = list(case.warnings)
    voxel_header, voxel_rows, dvh_curves, markers = ((), (), (), ())
    if img is not None:
        voxel_header, voxel_rows, dvh_curves, markers = _voxel_content(img, case)
    slices = _slices(img, isodoses=_isodoses(case)) if img is not None else ()
    if img is not None and not slices:
        warnings.append("dose slices are not drawn: the dose grid is oblique (not axis-aligned); view rtdose.dcm in a planning system")
    audit = _audit(case, now, digests)
    content = ReportContent(
        patient_id=pp.patient.patient.id,
        title=f"{dev.product}: {METHOD_NAMES.get(p.method, p.method)}",
        status=case.headline(),
        blocked=case.blocked,
        checks=tuple(check_rows(case.safety) + check_rows(case.efficacy)),
        warnings=tuple(dict.fromkeys(warnings)),
        notes=tuple(case.notes),
        page1=signed_page(case, units),
        audit=tuple(audit),
        dvh=dvh_curves,
        dvh_markers=markers,
        slices=slices,
        voxel_rows=voxel_rows,
        voxel_header=voxel_header,
        uncertainty=uncertainty_content(case),
    )
    methods = {}
    if img is not None:
        methods = {k: v for k, v in audit if k in ("Voxel method", "Dose point kernel", "HU to density", "Calibration", "BED")}
    doc = report_record(case, now, digests, methods)
    return Report(case, content, doc, case_text(case) + "\n")


def imaging_json(img: VoxelResult) -> dict:
    """The voxel-dosimetry figures as JSON (``regions.json`` of ``y90 dose``, ``imaging`` of report.json)."""
    doc = {
        "method": img.method,
        "density_method": img.density_text,
        "lung_method": img.lung_text,
        "calibration": img.calibration,
        "administered": None if img.administered is None else to_json(img.administered),
        "image_activity": to_json(img.image_activity),
        "lung_shunt_fraction": img.lung_shunt_fraction,
        "territory": img.territory,
        "tumour_to_normal_reference": img.normal_reference,
        "tumour_to_normal": img.tumour_to_normal,
        "regions": {r.name: _region_doc(r, img) for r in img.regions},
        "warnings": list(img.warnings),
    }
    pv = getattr(img, "partial_volume", None)
    if pv is not None:
        doc["partial_volume"] = partial_volume_json(pv)
    return doc


def _region_doc(r, img: VoxelResult) -> dict:
    """One region of ``regions.json``: its name, role, figures and (a tumour) its tumour-to-normal ratio."""
    doc = dict(name=r.name, role=r.role, **region_json(r.stats, activity=r.activity, mean_bed=r.mean_bed))
    if r.name in img.tumour_to_normal:
        doc["tumour_to_normal"] = img.tumour_to_normal[r.name]
    doc.update(corrected_json(getattr(img, "partial_volume", None), r.name))
    return doc


#: File name of the dose map per format (``--dose-format``, ``[imaging] dose_format``).
DOSE_FILES = {"dicom": "rtdose.dcm", "nrrd": "dose.nrrd", "nifti": "dose.nii.gz"}


def dose_format_for(img: VoxelResult, dose_format: str | None = None) -> str:
    """The dose format asked for, else RT Dose for DICOM inputs and the activity image's own format otherwise.

    An RT Dose needs the patient, study and frame of reference of DICOM source images: it is refused
    for an NRRD / NIfTI activity image rather than written with invented identifiers.
    """
    from ..errors import InputError
    from ..io.volumes import image_format

    fmt = dose_format or ("dicom" if img.reference is not None else image_format(img.inputs[0]) if img.inputs else "nrrd")
    if fmt not in DOSE_FILES:
        raise InputError("--dose-format", f"{fmt!r} is not allowed; choose one of {', '.join(DOSE_FILES)}")
    if fmt == "dicom" and img.reference is None:
        raise InputError("--dose-format", "an RT Dose needs DICOM source images (patient, study, frame of reference); with an NRRD / NIfTI activity image choose nrrd or nifti")
    return fmt


def write_imaging_files(img: VoxelResult, folder: Path, *, regions_json: bool = False, dose_format: str | None = None) -> str:
    """Write the dose map (``rtdose.dcm``, ``dose.nrrd`` or ``dose.nii.gz``, see :func:`dose_format_for`)
    and ``dvh.csv`` (and ``regions.json``) of a voxel dosimetry into ``folder``; return the dose file name."""
    from ..io import write_rtdose
    from ..io.volumes import write_volume

    fmt = dose_format_for(img, dose_format)
    name = DOSE_FILES[fmt]
    if fmt == "dicom":
        write_rtdose(img.dose, img.reference, folder / name)
    else:
        gy = img.dose.with_array(np.asarray(img.dose.array, dtype=np.float64) * float(Q_(1, img.dose.unit).to("Gy").magnitude), "Gy")
        write_volume(gy, folder / name, description="Y-90 absorbed dose [Gy]")
    write_atomic(folder / "dvh.csv", dvh_csv({r.name: r.dvh for r in img.regions}))
    if regions_json:
        write_atomic(folder / "regions.json", json.dumps(imaging_json(img), indent=2, allow_nan=False))
    return name


def write_dose_files(case: CaseResult, folder: Path, *, dose_format: str | None = None) -> str:
    """``y90 dose``'s outputs of a voxel case (:func:`dosimetry.workflow.run_voxel_case`) into ``folder``:
    the dose map and ``dvh.csv`` (:func:`write_imaging_files`) and ``regions.json``, the figures
    (:func:`imaging_json`) with the case's ``assessment``; return the dose file name."""
    img = case.voxel
    assert img is not None  # a voxel case (run_voxel_case)
    name = write_imaging_files(img, folder, dose_format=dose_format)
    doc = dict(imaging_json(img), assessment=case.to_json())
    write_atomic(folder / "regions.json", json.dumps(doc, indent=2, allow_nan=False))
    return name


def _rtdose_uids(path: Path) -> dict:
    """SOPInstanceUID (0008,0018), SeriesInstanceUID (0020,000E), StudyInstanceUID (0020,000D) and
    FrameOfReferenceUID (0020,0052) of the RT Dose just written."""
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return {
        "file": path.name,
        "sop_instance_uid": str(ds.SOPInstanceUID),
        "series_instance_uid": str(ds.SeriesInstanceUID),
        "study_instance_uid": str(ds.StudyInstanceUID),
        "frame_of_reference_uid": str(ds.FrameOfReferenceUID),
    }


def write_report(report: Report, out_dir, *, inputs=(), progress: Callable[[str], None] | None = None, dose_format: str | None = None) -> Path:
    """Write report.pdf, report.json, summary.txt (and rtdose.dcm, dvh.csv) into ``out_dir``.

    The folder is built completely or not at all; it must not exist or be empty, and it must not
    hold any input.
    """
    say = progress or (lambda m: None)
    with staged_directory(out_dir, inputs=inputs) as tmp:
        say("writing the PDF")
        write_atomic(tmp / "report.pdf", render_pdf(report.content))
        doc = report.json
        if report.imaging is not None:
            say("writing RT Dose and DVH")
            write_imaging_files(report.imaging, tmp, dose_format=dose_format)
            if dose_format_for(report.imaging, dose_format) == "dicom":
                doc = dict(doc, dicom=dict(doc["dicom"], rt_dose=_rtdose_uids(tmp / "rtdose.dcm")))
        write_atomic(tmp / "report.json", json.dumps(doc, indent=2, allow_nan=False))
        write_atomic(tmp / "summary.txt", report.text)
    return Path(out_dir)


def write_case_report(case: CaseResult, pf, out_dir, *, units: str = "si", progress: Callable[[str], None] | None = None) -> Report:
    """Render the case of a patient file and write its folder, as ``y90 report`` does (and ``y90 cohort``
    for each case): report.pdf, report.json, summary.txt, and the dose map and dvh.csv with imaging.

    Parameters
    ----------
    case : CaseResult
        :func:`dosimetry.workflow.run_case` of ``pf``.
    pf : PatientFile
        The patient file as loaded (its imaging inputs are hashed for the audit trail).
    out_dir : path-like
        The report folder (must not exist or be empty; built completely or not at all).
    """
    report = render_report(case, digests=input_digests(pf), units=units)
    write_report(report, out_dir, inputs=input_paths(pf), progress=progress, dose_format=pf.imaging.dose_format if pf.imaging else None)
    return report
