"""Format dispatch of the voxel step's inputs: the activity image (DICOM NM / PT, or NRRD / NIfTI in a
declared unit) and the CT (DICOM, or NRRD / NIfTI in HU), and what the activity image is."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..io import load_series
from ..io.series import ImageSeries
from ..io.volumes import image_format, read_volume
from .activity_units import non_dicom_activity


def read_activity(path, unit, activity_time, administration_time, warnings: list) -> tuple:
    """(ImageSeries or None, Volume, at_administration, note) of the activity image, DICOM or NRRD / NIfTI.

    A DICOM image is read without requiring the administration time (``require_administration=False``):
    its values may then refer to the acquisition, which a relative calibration accepts and an
    absolute one refuses (:func:`dosimetry.workflow.voxel.voxel_dose`), naming what the header lacks.
    """
    if image_format(path) != "dicom":
        grid, at_admin, note = non_dicom_activity(path, unit, activity_time, administration_time, warnings)
        return None, grid, at_admin, note
    if unit is not None:
        raise InputError("imaging.activity_unit", "only for NRRD / NIfTI activity images; a DICOM image states its unit (Units, RealWorldValueMapping)")
    if activity_time is not None:
        raise InputError("imaging.activity_time", "only for NRRD / NIfTI activity images in Bq/mL; a DICOM image states its reference time (DecayCorrection, RadiopharmaceuticalStartDateTime)")
    act = load_series(path, require_administration=False)
    warnings += list(act.warnings)
    modality = str(act.header.get("Modality", "")).upper()
    if modality not in ("NM", "PT"):
        raise InputError("imaging.activity", f"{path} is a {modality or 'non-image'} series; the activity image must be NM (SPECT) or PT (PET)")
    return act, act.volume, act.at_administration, act.time_note


def read_ct(path, warnings: list, identities: list):
    """The CT in HU: a DICOM series (its warnings and identity added to the lists), or an NRRD / NIfTI
    volume in HU, as Slicer and NIfTI CTs hold it."""
    if image_format(path) == "dicom":
        ct_series = load_series(path, modality="CT")
        warnings += list(ct_series.warnings)
        identities.append(ct_series.identity)
        return ct_series.volume
    return read_volume(path, unit="dimensionless", field="imaging.ct")  # HU, as Slicer and NIfTI CTs hold


def describe_file(path, unit) -> dict:
    """What a non-DICOM activity image is, as far as it is declared (NRRD / NIfTI carry no modality)."""
    return {
        "modality": "not stated (NRRD / NIfTI)",
        "radionuclide": "not stated",
        "acquisition_date": "",
        "study_date": "",
        "series_number": "",
        "series_uid": "",
        "series_description": f"{Path(path).name}, declared unit {unit}",
    }


def describe_series(series: ImageSeries) -> dict:
    """What an activity image is: Modality (0008,0060), radionuclide (RadionuclideCodeSequence or
    Radionuclide), AcquisitionDate (0008,0022) or SeriesDate, StudyDate (0008,0020), SeriesNumber
    (0020,0011), SeriesInstanceUID (0020,000E), SeriesDescription (0008,103E)."""
    h = series.header
    return {
        "modality": str(h.get("Modality", "")),
        "radionuclide": series.radionuclide or "not stated",
        "acquisition_date": str(h.get("AcquisitionDate", "") or h.get("SeriesDate", "") or ""),
        "study_date": str(h.get("StudyDate", "") or ""),
        "series_number": str(h.get("SeriesNumber", "") or ""),
        "series_uid": str(h.get("SeriesInstanceUID", "")),
        "series_description": str(h.get("SeriesDescription", "")),
    }
