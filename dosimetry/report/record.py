"""report.json: the record a record system can rely on (dosimetry/report/schemas/report.schema.json).

- ``schema_version`` first; every key snake_case (the audit trail included);
- tumours by name, with their volume, mass, tumour-to-normal ratio and planned dose;
- the DICOM UIDs of every input series and of the RT Dose written (filled in by
  :func:`dosimetry.report.build.write_report` once the file exists);
- times in ISO 8601 to the second with their UTC offset; counts as integers.
"""

from __future__ import annotations

import datetime as _dt
import platform
import re
from typing import Any

import numpy as np

from .. import __version__
from ..devices import device as _device
from ..isotope import Y90
from ..units import to_json
from .regions import corrected_json, partial_volume_json, region_json

__all__ = ["SCHEMA_VERSION", "identity_json", "report_record", "tumour_records", "dicom_record", "snake"]

#: Version of the report.json layout; bump the major number on any incompatible change.
SCHEMA_VERSION = "2.1"


def identity_json(pf) -> dict:
    """``patient``, ``maa_study`` and ``prepared_by`` of report.json (2.1, issue 21 item 6): what the
    patient file gives or the images' headers (dosimetry.workflow.identity); null when neither does."""
    p, lung = pf.patient, pf.lung
    iso = lambda d: None if d is None else d.isoformat()  # noqa: E731
    return {
        "patient": {"id": p.id, "name": p.name, "birth_date": iso(p.birth_date), "sex": p.sex, "record_number": p.record_number},
        "maa_study": {"date": iso(lung.maa_study_date), "series": lung.maa_series, "shunt_method": lung.shunt_method},
        "prepared_by": pf.prepared_by,
    }


def snake(text: str) -> str:
    """``"Patient file SHA-256"`` -> ``"patient_file_sha_256"``; ``"D95"`` -> ``"d95"``."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(text)).strip("_").lower()
    return s if s and s[0].isalpha() else f"k_{s}"


def _iso(v):
    """Datetimes to ISO 8601 to the second; everything else unchanged (recursively)."""
    if isinstance(v, _dt.datetime):
        return v.isoformat(timespec="seconds")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _iso(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_iso(x) for x in v]
    return v


def tumour_records(case) -> list:
    """Every tumour of the patient file by name: volume, mass, ratio, planned dose (and voxel mean dose)."""
    pp = case.plan
    p, pf = pp.plan, pp.patient
    tumours = pf.target.tumours
    doses = [] if p.tumour_dose is None else list(np.atleast_1d(p.tumour_dose.to("Gy").magnitude))
    masses = [] if p.tumour_mass is None else list(np.atleast_1d(p.tumour_mass.to("kg").magnitude))
    voxel = {}
    if case.voxel is not None:
        voxel = {r.name: r for r in case.voxel.regions if r.role == "tumour"}
    out = []
    for i, t in enumerate(tumours):
        rec = {
            "name": t.name,
            "volume": to_json(t.volume.to("mL")),
            "mass": {"value": float(masses[i]), "unit": "kg"} if len(masses) == len(tumours) else None,
            "tumour_to_normal": t.tumour_to_normal,
            "planned_dose": {"value": float(doses[i]), "unit": "Gy"} if len(doses) == len(tumours) else None,
        }
        at_vial = pp.doses_at_vial
        if at_vial is not None and "tumour_dose" in at_vial and len(doses) == len(tumours):
            rec["dose_at_vial_activity"] = {"value": float(np.atleast_1d(at_vial["tumour_dose"].to("Gy").magnitude)[i]), "unit": "Gy"}
        if t.name in voxel:
            rec["voxel_mean_dose"] = to_json(voxel[t.name].stats.mean.to("Gy"))
        beside = next((b for b in getattr(case, "partial_volume_plan", ()) if b.name == t.name), None)
        if beside is not None:  # issue 25: the plan's ratio from the image, and the corrected figures beside it
            rec["tumour_to_normal_from_image"] = beside.from_image
            if beside.corrected_ratio is not None:
                rec["corrected_tumour_to_normal"] = beside.corrected_ratio
                rec["corrected_planned_dose"] = to_json(beside.corrected_dose.to("Gy"))
        _tumour_uncertainty(case, rec, i, len(tumours), voxel.get(t.name))
        out.append(rec)
    return out


def _tumour_uncertainty(case, rec: dict, i: int, n: int, region) -> None:
    """The tumour's planned (and voxel mean) dose gains its 95 % interval (issue 23)."""
    u = getattr(case, "uncertainty", None)
    if u is None:
        return
    iv = u.plan.figures.get("tumour_dose")
    if iv is not None and rec["planned_dose"] is not None:
        doc = iv.to_json("Gy")
        pick = (lambda x: x[i]) if isinstance(doc["median"], list) else (lambda x: x)
        rec["planned_dose"]["uncertainty"] = dict(doc, median=pick(doc["median"]), low=pick(doc["low"]), high=pick(doc["high"]))
    if region is not None and region.name in u.voxel:
        rec["voxel_mean_dose"]["uncertainty"] = u.voxel[region.name].to_json("Gy")


def dicom_record(img) -> dict:
    """UIDs of every input series (and a slot for the RT Dose written)."""
    if img is None:
        return {"inputs": [], "rt_dose": None}
    inputs = [
        {
            "modality": i.modality,
            "patient_id": i.patient_id,
            "study_instance_uid": i.study_uid,
            "series_instance_uid": i.series_uid,
            "frame_of_reference_uid": i.frame_of_reference_uid,
        }
        for i in getattr(img, "identities", ()) or ()
    ]
    return {"inputs": inputs, "rt_dose": None}


def _imaging(img, uncertainty=None) -> dict:
    """The voxel figures with regions as a list by name and lower-case DVH keys (d95, v100); each
    region's mean dose with its 95 % interval when an uncertainty analysis was run."""
    regions = []
    for r in img.regions:
        rec = {snake(k): v for k, v in region_json(r.stats, activity=r.activity, mean_bed=r.mean_bed).items()}
        if uncertainty is not None and r.name in uncertainty.voxel and isinstance(rec.get("mean"), dict):
            rec["mean"]["uncertainty"] = uncertainty.voxel[r.name].to_json(rec["mean"]["unit"])
        rec.update(corrected_json(getattr(img, "partial_volume", None), r.name))
        regions.append(dict(name=r.name, role=r.role, **rec))
    pv = getattr(img, "partial_volume", None)
    return {
        "method": img.method,
        "calibration": img.calibration,
        "administered": None if img.administered is None else to_json(img.administered),
        "image_activity": to_json(img.image_activity),
        "lung_shunt_fraction": img.lung_shunt_fraction,
        "territory": img.territory,
        "tumour_to_normal_reference": img.normal_reference,
        "tumour_to_normal": [{"name": n, "ratio": r} for n, r in img.tumour_to_normal.items()],
        "regions": regions,
        **({"partial_volume": partial_volume_json(pv)} if pv is not None else {}),
        "warnings": list(img.warnings),
    }


def _audit(case, now: _dt.datetime, digests, sources: dict) -> dict:
    pp = case.plan
    p, pf = pp.plan, pp.patient
    dev = _device(p.device)
    files = []
    if pf.path is not None:
        files.append({"role": "patient_file", "path": str(pf.path), "sha256": pf.sha256 or "", "of": "file"})
    for d in digests:  # a folder: the SHA-256 of its sha256sum lines (InputDigest, docs/cli.md)
        of = {"of": "file"} if d.files is None else {"of": "folder", "files": d.files}
        files.append({"role": snake(d.label), "path": d.path, "sha256": d.sha256, **of})
    return {
        "software": f"y90-dosimetry {__version__}",
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "report_generated": now.isoformat(timespec="seconds"),
        "input_files": files,
        "patient_file_values": _iso(pf.raw),
        "constants": {
            "y90_half_life": dict(to_json(Y90.half_life), source=Y90.source),
            "y90_mean_beta_energy": dict(to_json(Y90.mean_beta_energy), source=Y90.source),
            "plan_dose_coefficient": dict(to_json(p.dose_coefficient), source=dev.sources.get("dose_coefficient", "")),
            "voxel_dose_coefficient": dict(to_json(Y90.dose_coefficient), source="T1/2 / ln 2 x E_mean (MIRD primer)"),
        },
        "limit_sources": [{"name": c.name, "description": c.description, "origin": c.origin, "source": c.source} for c in case.safety + case.efficacy],
        "methods": {snake(k): v for k, v in sources.items()},
    }


def report_record(case, now: _dt.datetime, digests=(), sources: dict | None = None) -> dict:
    """report.json for an assessed case with a plan (see the module docstring)."""
    pp = case.plan
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    doc.update(pp.to_json())
    doc.update(identity_json(pp.patient))
    doc.update(case.to_json())
    doc["within_limits"] = not case.blocked
    doc["tumours"] = tumour_records(case)
    for key in ("tumour_dose", "tumour_mass", "tumour_to_normal"):  # only by name, in "tumours" (issue 21)
        doc.pop(key, None)
    if pp.sphere_count is not None:
        doc["sphere_count"] = int(round(pp.sphere_count))
    if case.voxel is not None:
        doc["imaging"] = _imaging(case.voxel, getattr(case, "uncertainty", None))
    doc["dicom"] = dicom_record(case.voxel)
    doc["audit"] = _audit(case, now, digests, sources or {})
    return _iso(doc)
