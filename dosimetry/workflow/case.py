"""The whole job for one patient file: plan, voxel dosimetry when ``[imaging]`` is given, assessment."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from ..io.patient import PatientFile
from .assess import CaseResult, assess
from .plan import plan_patient
from .voxel import compute_dose

__all__ = ["run_case", "input_digests"]


def run_case(pf: PatientFile, *, progress: Callable[[str], None] | None = None) -> CaseResult:
    """Plan the patient, run the voxel dosimetry of its ``[imaging]`` (if any), and assess both.

    The voxel dosimetry uses the administered activity of ``[imaging]``, or else the plan's
    prescribed activity (a predictive dosimetry of the plan).

    Returns
    -------
    CaseResult
        One verdict over every safety check of the plan and of the voxel dosimetry.
    """
    say = progress or (lambda m: None)
    say("planning")
    pp = plan_patient(pf)
    img = None
    if pf.imaging is not None:
        im = pf.imaging
        img = compute_dose(
            im.activity,
            im.rtstruct,
            ct=im.ct,
            liver_roi=im.liver_roi,
            tumour_rois=im.tumour_rois,
            lung_rois=im.lung_rois,
            administered=im.administered if im.administered is not None else pp.plan.prescribed_activity,
            method=im.method,
            calibration=im.calibration,
            residual_fraction=pf.target.residual_fraction,
            allow_mismatch=im.allow_mismatch,
            progress=say,
            **im.reading(),
        )
    return assess(pp, img)


def _sha256_of(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (sorted names and contents)."""
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def input_digests(pf: PatientFile) -> tuple:
    """(label, path, SHA-256) of every imaging input of the patient file, for the audit trail."""
    if pf.imaging is None:
        return ()
    out = []
    labels = pf.imaging.labels if isinstance(pf.imaging.labels, Path) else None
    for label, path in (("activity image", pf.imaging.activity), ("CT", pf.imaging.ct), ("segmentation", pf.imaging.rtstruct), ("label names", labels)):
        if path is not None:
            out.append((label, str(path), _sha256_of(path)))
    return tuple(out)
