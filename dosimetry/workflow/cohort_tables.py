"""The cohort's two tables (docs/cohort.md): one row per case, one row per region per case.

Pure: a :class:`~dosimetry.workflow.CaseResult` in, rows (dicts of text, floats, integers, flags)
out; no files, no Dask. Units are in the column names (``mean_dose_Gy``, ``volume_mL``,
``prescribed_activity_GBq``, ``V100_percent``); a figure that does not exist for a case (no
imaging, no tumour, nothing limits the activity) is None (an empty cell, a Parquet null). Every
number is finite.
"""

from __future__ import annotations

import math

import numpy as np

from ..voxel.metrics import D_PERCENT, V_DOSE_GY

__all__ = ["PATIENT_COLUMNS", "REGION_COLUMNS", "IMAGING_HASHES", "patient_row", "region_rows", "error_row", "REFUSED", "FAILED"]

#: Status of a case that did not run: its inputs were refused (InputError: the patient file, an
#: override, an image), or it failed otherwise (an internal error, memory, a lost worker). A case
#: that ran has the status of its CaseResult: WITHIN LIMITS, BLOCKED or NEEDS A DECISION.
REFUSED, FAILED = "REFUSED", "FAILED"

#: Column of the patients table holding the SHA-256 of each imaging input (as the report's audit
#: trail gives it: a file's as ``sha256sum`` prints it, a folder's that of its ``sha256sum`` lines),
#: by the label of :func:`dosimetry.workflow.input_digests`.
IMAGING_HASHES = {
    "activity image": "activity_image_sha256",
    "CT": "ct_sha256",
    "segmentation": "segmentation_sha256",
    "label names": "label_names_sha256",
}

#: (name, kind) of every column of patients.csv / patients.parquet, in order.
PATIENT_COLUMNS = (
    ("case", "text"),
    ("patient_id", "text"),
    ("manifest_row", "integer"),
    ("patient_file", "text"),
    ("overrides", "text"),
    ("status", "text"),
    ("error", "text"),
    ("device", "text"),
    ("method", "text"),
    ("indication", "text"),
    ("extent", "text"),
    ("prescribed_activity_GBq", "number"),
    ("delivered_activity_GBq", "number"),
    ("max_safe_activity_GBq", "number"),
    ("binding_limit", "text"),
    ("failed_checks", "text"),
    ("failed_checks_count", "integer"),
    ("needs_decision", "flag"),
    ("lung_shunt_fraction", "number"),
    ("lung_mass_kg", "number"),
    ("lung_dose_Gy", "number"),
    ("cumulative_lung_dose_Gy", "number"),
    ("target_dose_Gy", "number"),
    ("normal_liver_dose_Gy", "number"),
    ("whole_normal_liver_dose_Gy", "number"),
    ("voxel_dosimetry", "flag"),
    ("warnings_count", "integer"),
    ("patient_file_sha256", "text"),
    *((name, "text") for name in IMAGING_HASHES.values()),
    ("case_key", "text"),
    ("program_version", "text"),
)

#: (name, kind) of every column of regions.csv / regions.parquet, in order.
REGION_COLUMNS = (
    ("case", "text"),
    ("patient_id", "text"),
    ("region", "text"),
    ("role", "text"),
    ("volume_mL", "number"),
    ("activity_GBq", "number"),
    ("mean_dose_Gy", "number"),
    ("min_dose_Gy", "number"),
    ("max_dose_Gy", "number"),
    *((f"D{x:g}_Gy", "number") for x in D_PERCENT),
    *((f"V{x:g}_percent", "number") for x in V_DOSE_GY),
    ("mean_BED_Gy", "number"),
    ("tumour_to_normal", "number"),
)


def _number(q, unit: str | None = None) -> float | None:
    """A scalar quantity (or number) as a finite float in ``unit``; None if absent, not scalar or not finite."""
    if q is None:
        return None
    m = np.asarray(q.to(unit).magnitude if unit else getattr(q, "magnitude", q), dtype=float)
    if m.size != 1:
        return None
    x = float(m.reshape(-1)[0])
    return x if math.isfinite(x) else None


def _text(value) -> str | None:
    if value is None:
        return None
    v = np.asarray(value)
    return str(v.reshape(-1)[0]) if v.size == 1 else None


def _value(choice) -> str | None:
    """An enumerated choice (Indication, Extent) as the patient file writes it (``"hcc"``)."""
    return None if choice is None else str(getattr(choice, "value", choice))


def error_row(case: str, status: str, error: str, **known) -> dict:
    """The row of a case that did not run (REFUSED or FAILED), with what is known of it."""
    return dict(known, case=case, status=status, error=error)


def patient_row(case_result, *, case: str, hashes: dict | None = None, **known) -> dict:
    """One row of the patients table from an assessed case (with a plan).

    Parameters
    ----------
    case_result : CaseResult
        From :func:`dosimetry.workflow.run_case`.
    case : str
        The case's name.
    hashes : dict, optional
        ``patient_file_sha256``, the imaging hashes (:data:`IMAGING_HASHES`), ``case_key``,
        ``program_version``.
    **known
        Further columns (``manifest_row``, ``patient_file``, ``overrides``).
    """
    c = case_result
    p = c.plan.plan
    row = dict(known, **(hashes or {}))
    row.update(
        case=case,
        patient_id=c.patient_id,
        status=c.status,
        error=None,
        device=p.device,
        method=p.method,
        indication=_value(c.clinical.indication),
        extent=_value(c.clinical.extent),
        prescribed_activity_GBq=_number(p.prescribed_activity, "GBq"),
        delivered_activity_GBq=_number(p.delivered_activity, "GBq"),
        max_safe_activity_GBq=_number(c.max_safe_activity, "GBq"),
        binding_limit=_text(c.binding),
        failed_checks="; ".join(f"{k.description} ({k.origin})" for k in c.failed) or None,
        failed_checks_count=len(c.failed),
        needs_decision=c.needs_decision,
        lung_shunt_fraction=_number(p.lung_shunt_fraction),
        lung_mass_kg=_number(p.lung_mass, "kg"),
        lung_dose_Gy=_number(p.lung_dose, "Gy"),
        cumulative_lung_dose_Gy=_number(p.cumulative_lung_dose, "Gy"),
        target_dose_Gy=_number(p.target_dose, "Gy"),
        normal_liver_dose_Gy=_number(p.normal_liver_dose, "Gy"),
        whole_normal_liver_dose_Gy=_number(p.whole_normal_liver_dose, "Gy"),
        voxel_dosimetry=c.voxel is not None,
        warnings_count=len(c.warnings),
    )
    return row


def region_rows(case_result, *, case: str) -> list[dict]:
    """One row per region of the case's voxel dosimetry (none without imaging)."""
    v = case_result.voxel
    if v is None:
        return []
    rows = []
    for r in v.regions:
        s = r.stats
        row = {
            "case": case,
            "patient_id": case_result.patient_id,
            "region": r.name,
            "role": _value(r.role),
            "volume_mL": _number(s.volume, "mL"),
            "activity_GBq": _number(r.activity, "GBq"),
            "mean_dose_Gy": _number(s.mean, "Gy"),
            "min_dose_Gy": _number(s.min, "Gy"),
            "max_dose_Gy": _number(s.max, "Gy"),
            "mean_BED_Gy": _number(r.mean_bed, "Gy"),
            "tumour_to_normal": _number(v.tumour_to_normal.get(r.name)) if _value(r.role) == "tumour" else None,
        }
        row.update({f"D{x:g}_Gy": _number(s.d.get(x), "Gy") for x in D_PERCENT})
        row.update({f"V{x:g}_percent": None if s.v.get(x) is None else _number(100.0 * float(s.v[x])) for x in V_DOSE_GY})
        rows.append(row)
    return rows
