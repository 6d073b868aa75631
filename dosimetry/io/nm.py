"""NM reconstructed tomography (one multi-frame file) into an :class:`ImageSeries`.

Geometry from DetectorInformationSequence (DICOM PS3.3 C.8.4.11), slice spacing from
SpacingBetweenSlices / SliceThickness, values from the RealWorldValueMappingSequence
(C.7.6.16.2.11) or RescaleSlope/Intercept with Units (0054,1001) when the vendor writes it. An
image in Bq/mL (quantitative SPECT) is referred to the administration by its DecayCorrection
(0054,1102); without one its reference time is unknown. Negative values are kept (the workflow
screens them once the ROIs are known). See docs/dicom.md.

Radionuclide (RadiopharmaceuticalInformationSequence, C.8.4.10 NM Isotope): read from
RadionuclideCodeSequence CodeMeaning, else Radiopharmaceutical / Radionuclide text. An image of
another radionuclide than Y-90 (a Tc-99m MAA SPECT) is accepted as a *relative* image in counts
(its distribution predicts the microspheres'); it is refused as an activity concentration (header
in Bq/mL, or a calibration given), because that would be its own nuclide's activity, never a Y-90
activity, unless ``allow_other_radionuclide`` is set.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from ..units import Q_, ureg
from ..voxel.geometry import Volume
from ..isotope import Y90
from .dicom_elements import DicomError, ImageSeries, check_finite, check_spacing, count, floats, header_only, identity_of, number, orientation, pixel_array, text
from .pet import _Y90_RE, administration_time, apply_calibration, decay_factors

__all__ = ["read_nm", "nm_radionuclide"]


# RealWorldValueMapping MeasurementUnitsCodeSequence (UCUM codes) to pint units.
_UCUM = {"bq/ml": "Bq/mL", "kbq/ml": "kBq/mL", "mbq/ml": "MBq/mL", "{counts}": "cts", "counts": "cts", "{cnts}": "cts", "cnts": "cts", "{counts}/s": "cts/s", "cps": "cts/s"}


_TC99M_RE = re.compile(r"(?i)(\^?99m\^?\s*-?\s*(tc|technetium)\b)|(\b(tc|technetium)\s*-?\s*99m\b)")


def nm_radionuclide(ds: Dataset) -> str:
    """Radionuclide named by an NM header: ``"Y-90"``, ``"Tc-99m"``, another name as written, or ''.

    Reads RadiopharmaceuticalInformationSequence[0] > RadionuclideCodeSequence[0] > CodeMeaning
    (0008,0104), then Radiopharmaceutical (0018,0031) and Radionuclide (0018,0030).
    """
    if "RadiopharmaceuticalInformationSequence" not in ds or not len(ds.RadiopharmaceuticalInformationSequence):
        return ""
    rinfo = ds.RadiopharmaceuticalInformationSequence[0]
    names = []
    if "RadionuclideCodeSequence" in rinfo and len(rinfo.RadionuclideCodeSequence):
        names.append(text(rinfo.RadionuclideCodeSequence[0], "CodeMeaning"))
    names += [text(rinfo, "Radiopharmaceutical"), text(rinfo, "Radionuclide")]
    names = [x for x in names if x]
    if any(_Y90_RE.search(x) for x in names):
        return "Y-90"
    if any(_TC99M_RE.search(x) for x in names):
        return "Tc-99m"
    return names[0] if names else ""


def read_nm(f: Path, ds: Dataset, notes, calibration, allow_other_radionuclide: bool = False, require_administration: bool = True) -> ImageSeries:
    """An NM RECON TOMO multi-frame dataset (with pixel data) as an :class:`ImageSeries`.

    ``notes`` are warnings carried over from the file listing; ``calibration`` as in
    :func:`dosimetry.io.load_series` (stored unit -> Bq/mL). Values in ``cts`` without it. An image
    of a radionuclide other than Y-90 (e.g. Tc-99m MAA) is read in counts only (module docstring).
    """
    warnings = list(notes)
    itype = [str(x).upper() for x in (ds.get("ImageType", []) or [])]
    if len(itype) >= 3 and itype[2] not in ("RECON TOMO", "RECON GATED TOMO"):
        raise DicomError(f"{f}: ImageType", f"{itype[2]!r} is not a reconstructed tomogram (RECON TOMO); projections and planar images cannot be used")
    if len(itype) < 3:
        warnings.append(f"{f}: ImageType does not say RECON TOMO; read as reconstructed slices")
    geo = ds
    if "DetectorInformationSequence" in ds and len(ds.DetectorInformationSequence):
        geo = ds.DetectorInformationSequence[0]
        if len(ds.DetectorInformationSequence) > 1:
            warnings.append(f"{f}: several DetectorInformationSequence items; the first gives the geometry")
    if "ImagePositionPatient" not in geo or "ImageOrientationPatient" not in geo:
        if "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds:
            geo = ds
        else:
            raise DicomError(f"{f}: DetectorInformationSequence", "no ImagePositionPatient/ImageOrientationPatient; the image cannot be placed in patient space")
    r, c, n = orientation(geo, f)
    ipp = floats(geo, "ImagePositionPatient", f, 3)
    ps = floats(ds, "PixelSpacing", f, 2)
    sp = floats(ds, "SpacingBetweenSlices", f, required=False)
    if sp is None:
        sp = floats(ds, "SliceThickness", f, 1)
    if sp[0] == 0 or np.any(ps <= 0):
        raise DicomError(f"{f}: SpacingBetweenSlices", "slice or pixel spacing is 0")
    check_spacing(ps, "NM", f"{f}: PixelSpacing")
    check_spacing(sp[:1], "NM", f"{f}: SpacingBetweenSlices", "slice")
    # Frames follow the slice normal row x column; a negative SpacingBetweenSlices reverses it.
    sign = 1.0 if sp[0] > 0 else -1.0
    frames = count(ds, "NumberOfFrames", f, default=1)
    nslices = count(ds, "NumberOfSlices", f, default=0) if ds.get("NumberOfSlices", None) is not None else None
    if nslices is not None and nslices != frames:
        raise DicomError(f"{f}: NumberOfSlices", f"{nslices} slices but {frames} frames (several energy windows or time slots?); export one reconstruction per file")
    raw = pixel_array(ds, f)
    slope, inter, unit = _nm_values(ds, f)
    nuclide = nm_radionuclide(ds)
    if nuclide and nuclide != "Y-90" and (calibration is not None or unit.dimensionality == Q_(1, "Bq/mL").dimensionality):
        if not allow_other_radionuclide:
            raise DicomError(
                f"{f}: RadionuclideCodeSequence",
                f"the image is of {nuclide}, not Y-90: it is read as a relative (counts) image only, never as a Y-90 "
                "activity; use relative calibration (no calibration factor), or pass allow_other_radionuclide=True",
            )
        warnings.append(f"{nuclide} image read as an activity concentration (accepted by override): not a Y-90 activity")
    if unit.dimensionality == Q_(1, "Bq/mL").dimensionality:
        if calibration is not None:
            raise DicomError("calibration", f"{f} is already in {unit:~P}")
        scale = 1.0
    else:
        scale, unit = apply_calibration(unit, calibration, "calibration")
    decay, at_admin, time_note = 1.0, False, ""
    if nuclide and nuclide != "Y-90":
        time_note = f"{f}: an image of {nuclide} holds no Y-90 activity at any time"
    elif unit.dimensionality == Q_(1, "Bq/mL").dimensionality:
        decay, at_admin, time_note = _nm_decay(ds, f, require_administration, warnings)
    with np.errstate(over="ignore", invalid="ignore"):
        arr = raw.astype(np.float64) * (slope * scale * decay) + inter * scale * decay
    check_finite(arr, f"{f}: RescaleSlope", "RescaleSlope/RealWorldValueSlope")
    direction = np.column_stack([sign * n, c, r])
    vol = Volume(arr, (abs(float(sp[0])), float(ps[0]), float(ps[1])), tuple(ipp), direction, unit)
    return ImageSeries(vol, identity_of(ds, f), (os.fspath(f),), tuple(warnings), None, nuclide, header_only(ds), at_admin, time_note)


# NM Units (0054,1001), when a vendor writes it (as in the PET Series module, C.8.9.1.1.3).
_NM_UNITS = {"BQML": "Bq/mL", "CNTS": "cts", "PROPCNTS": "cts"}


def _nm_values(ds: Dataset, f) -> tuple:
    """(slope, intercept, unit) of the stored values: RealWorldValueMappingSequence (PS3.3
    C.7.6.16.2.11) with MeasurementUnitsCodeSequence, else RescaleSlope/RescaleIntercept with the
    Units (0054,1001) the header names (counts when absent). A unit not listed is refused by name,
    and so is a Units that contradicts the real-world value mapping."""
    units = text(ds, "Units").upper()
    if units and units not in _NM_UNITS:
        raise DicomError(f"{f}: Units", f"{units!r} is not supported for NM; expected {', '.join(_NM_UNITS)}")
    named = ureg.Unit(_NM_UNITS[units]) if units else None
    if "RealWorldValueMappingSequence" in ds and len(ds.RealWorldValueMappingSequence):
        rw = ds.RealWorldValueMappingSequence[0]
        slope = float(floats(rw, "RealWorldValueSlope", f"{f}: RealWorldValueMappingSequence", 1)[0])
        inter = number(rw, "RealWorldValueIntercept", f"{f}: RealWorldValueMappingSequence", 0.0)
        unit = ureg.Unit("cts")
        if "MeasurementUnitsCodeSequence" in rw and len(rw.MeasurementUnitsCodeSequence):
            code = text(rw.MeasurementUnitsCodeSequence[0], "CodeValue").lower()
            if code not in _UCUM:
                raise DicomError(f"{f}: MeasurementUnitsCodeSequence", f"unit {code!r} is not supported; expected counts or Bq/ml")
            unit = ureg.Unit(_UCUM[code])
        if named is not None and Q_(1, named).dimensionality != Q_(1, unit).dimensionality:
            raise DicomError(f"{f}: Units", f"{units!r} contradicts the RealWorldValueMapping unit {unit:~P}; which one holds is not stated")
    else:
        slope = number(ds, "RescaleSlope", f, 1.0)
        inter = number(ds, "RescaleIntercept", f, 0.0)
        unit = named or ureg.Unit("cts")
    if not slope > 0:
        raise DicomError(f"{f}: RescaleSlope", f"{slope:g}; an activity image needs a slope > 0 (RescaleSlope or RealWorldValueSlope)")
    return slope, inter, unit


def _nm_decay(ds: Dataset, f, require_administration: bool, warnings: list) -> tuple:
    """(factor, at_administration, note) of an NM image in Bq/mL (quantitative SPECT).

    DecayCorrection (0054,1102), as the PET Series module defines it (C.8.9.1.1.5): ADMIN, values
    at the administration; START, values at the acquisition start (AcquisitionDate/Time, else
    SeriesDate/Time), referred to the administration (RadiopharmaceuticalStartDateTime) with the
    Y-90 half-life. NONE or absent: the header does not refer the values to a time the dose can use,
    so they are read as they are and only a relative calibration can use them (never guessed).
    """
    dc = text(ds, "DecayCorrection").upper()
    if dc not in ("", "ADMIN", "START", "NONE"):
        raise DicomError(f"{f}: DecayCorrection", f"{dc!r} is not one of START, ADMIN, NONE")
    if not dc or dc == "NONE":
        return 1.0, False, (f"{f}: the NM image in Bq/mL states no decay correction (DecayCorrection {dc or 'absent'}): "
                            "the time its values refer to is not known")
    if dc == "ADMIN":
        return 1.0, True, ""
    rinfo = ds.RadiopharmaceuticalInformationSequence[0] if "RadiopharmaceuticalInformationSequence" in ds and len(ds.RadiopharmaceuticalInformationSequence) else None
    lam = math.log(2) / float(Y90.half_life.to("s").magnitude)
    factors, at_admin, note = decay_factors([(f, ds)], "START", administration_time(ds, rinfo), lam, require_administration, warnings)
    return float(factors[0]), at_admin, note
