"""RT Dose: read a dose grid from another system, write ours (Gy, PHYSICAL, 32-bit integers).

Reading (DICOM PS3.3 C.8.8.3 RT Dose Module): frames are placed along the slice normal
n = row x column at ImagePositionPatient + GridFrameOffsetVector[f] * n. Offsets are relative to
the first frame when their first value is 0, otherwise absolute z positions (allowed only for
axial orientation). The grid must be evenly spaced. Values = stored * DoseGridScaling, DoseUnits
GY (RELATIVE is refused: it cannot be turned into Gy).

Writing: the dose Volume's grid with axis 0 along n (reversed if needed), the patient / study /
frame of reference of the source images, DoseGridScaling chosen so the maximum dose fits an
unsigned 32-bit integer; written to a temporary file in the destination directory and renamed
into place with :func:`os.replace`, so a reader never sees a partial file.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

from ..units import Q_, ureg
from ..voxel.geometry import Volume
from .files import write_atomic
from .dicom_elements import DicomError, DicomIdentity, check_spacing, damaged, floats, get, identity_of, orientation, pixel_array, pixel_representation, read_dataset, text
from .series import ImageSeries

__all__ = ["RTDOSE_SOP_CLASS", "DoseGrid", "read_rtdose", "load_rtdose", "write_rtdose"]

#: RT Dose Storage SOP Class UID (DICOM PS3.4 B.5).
RTDOSE_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.481.2"
_UINT32_MAX = 2**32 - 1


@dataclass(frozen=True)
class DoseGrid:
    """An RT Dose read from DICOM: the dose Volume [Gy] with identity and warnings."""

    volume: Volume
    identity: DicomIdentity
    dose_type: str
    summation_type: str
    scaling: float
    warnings: tuple = ()


def load_rtdose(path, *, allow_relative: bool = False) -> DoseGrid:
    """Read an RT Dose file into a :class:`DoseGrid` (dose in Gy).

    Parameters
    ----------
    path : str or os.PathLike
        RTDOSE file.
    allow_relative : bool
        Accept DoseUnits RELATIVE and return it as a dimensionless Volume (for geometry checks
        and comparisons only; it is not an absorbed dose).

    Returns
    -------
    DoseGrid

    Raises
    ------
    DicomError
        Not an RT Dose, unreadable or truncated, DoseUnits not GY, DoseType ERROR, uneven or
        absolute offsets on a non-axial grid.
    """
    ds = read_dataset(path)
    label = os.fspath(path)
    try:
        return _load_rtdose(ds, label, allow_relative)
    except DicomError:
        raise
    except (MemoryError, RecursionError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a damaged header that pydicom trips on
        raise damaged(label, exc, "RT Dose header") from exc


def _load_rtdose(ds, label: str, allow_relative: bool) -> DoseGrid:
    if text(ds, "Modality").upper() != "RTDOSE":
        raise DicomError(f"{label}: Modality", f"is {text(ds, 'Modality') or '<missing>'}, not RTDOSE")
    warnings = []
    units = text(ds, "DoseUnits").upper()
    if units == "RELATIVE" and allow_relative:
        warnings.append(f"{label}: DoseUnits RELATIVE, returned dimensionless")
    elif units != "GY":
        raise DicomError(f"{label}: DoseUnits", f"{units or '<missing>'} cannot be read as absorbed dose; only GY is accepted")
    dtype = text(ds, "DoseType").upper()
    if dtype == "ERROR":
        raise DicomError(f"{label}: DoseType", "ERROR (a dose difference map) is not a dose")
    if dtype == "EFFECTIVE":
        warnings.append(f"{label}: DoseType EFFECTIVE (biologically weighted), read as Gy")
    scaling = float(floats(ds, "DoseGridScaling", label, 1, required=False, default=[1.0])[0])
    if not scaling > 0:
        raise DicomError(f"{label}: DoseGridScaling", f"must be > 0, got {scaling}")
    r, c, n = orientation(ds, label)
    ipp = floats(ds, "ImagePositionPatient", label, 3)
    ps = floats(ds, "PixelSpacing", label, 2)
    if np.any(ps <= 0):
        raise DicomError(f"{label}: PixelSpacing", f"must be > 0, got {list(ps)}")
    raw = pixel_array(ds, label)
    if pixel_representation(ds, label) == 1 and raw.size and raw.min() < 0:
        # PS3.3 C.8.8.3.4.3: signed pixels are for DoseType ERROR (refused above); a dose is >= 0.
        raise DicomError(f"{label}: PixelRepresentation", f"signed pixel data with negative values (min {int(raw.min())}); an absorbed dose cannot be negative")
    nf = raw.shape[0]
    if nf > 1:
        off = floats(ds, "GridFrameOffsetVector", label)
        if off.size != nf:
            raise DicomError(f"{label}: GridFrameOffsetVector", f"{off.size} offsets for {nf} frames")
        if off[0] != 0.0:
            if not np.allclose(n, [0, 0, 1], atol=1e-6) and not np.allclose(n, [0, 0, -1], atol=1e-6):
                raise DicomError(f"{label}: GridFrameOffsetVector", "absolute offsets (first value not 0) are only defined for axial grids")
            off = (off - ipp[2]) * n[2]  # absolute z positions -> distances along n (n_z = +-1)
        gaps = np.diff(off)
        step = float(np.median(gaps))
        if step == 0 or np.any(np.abs(gaps - step) > max(1e-3, 1e-3 * abs(step))):
            raise DicomError(f"{label}: GridFrameOffsetVector", f"frames are not evenly spaced ({list(off[:6])}...)")
        origin = ipp + off[0] * n
        if step < 0:
            n = -n
            step = -step
    else:
        step = float(floats(ds, "SliceThickness", label, 1, required=False, default=[1.0])[0])
        if step == 0:
            raise DicomError(f"{label}: SliceThickness", "0 for a single-frame dose grid; expected the slice thickness in mm (> 0)")
        origin = ipp
        warnings.append(f"{label}: single-frame dose grid; slice spacing taken as {step:g} mm")
    check_spacing(ps, "RTDOSE", f"{label}: PixelSpacing")
    check_spacing([step], "RTDOSE", f"{label}: {'GridFrameOffsetVector' if nf > 1 else 'SliceThickness'}", "slice")
    with np.errstate(over="ignore", invalid="ignore"):
        arr = raw.astype(np.float64) * scaling
    if not np.all(np.isfinite(arr)):
        raise DicomError(f"{label}: DoseGridScaling", f"{scaling:g} makes the doses non-finite")
    vol = Volume(arr, (abs(step), float(ps[0]), float(ps[1])), tuple(origin), np.column_stack([n, c, r]), ureg.Unit("Gy" if units == "GY" else "dimensionless"))
    return DoseGrid(vol, identity_of(ds, label), dtype, text(ds, "DoseSummationType").upper(), scaling, tuple(warnings))


def read_rtdose(path) -> Volume:
    """Read an RT Dose file into a Volume [Gy] (see :func:`load_rtdose`)."""
    return load_rtdose(path).volume


# ----------------------------------------------------------------------------------------------
# writer

#: Patient, General Study, Patient Study and Frame of Reference attributes copied from the source
#: images, so that the RT Dose carries what the rest of the study has (PS3.3 C.7.1.1, C.7.2.1,
#: C.7.2.2, C.7.4.1).
_COPIED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "StudyDescription",
    "IssuerOfPatientID",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "FrameOfReferenceUID",
    "PositionReferenceIndicator",
)


def _reference(reference) -> tuple[Dataset, list[str]]:
    """(header dataset, input files) of the source images."""
    if isinstance(reference, ImageSeries):
        return reference.header, list(reference.files)
    if isinstance(reference, Dataset):
        files = [reference.filename] if isinstance(getattr(reference, "filename", None), (str, os.PathLike)) else []
        return reference, files
    if isinstance(reference, (str, os.PathLike)):
        p = Path(reference)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            for f in files:
                try:
                    return read_dataset(f, stop_before_pixels=True), [os.fspath(x) for x in files]
                except DicomError:
                    continue
            raise DicomError(os.fspath(p), "no DICOM file to take the patient and frame of reference from")
        return read_dataset(p, stop_before_pixels=True), [os.fspath(p)]
    raise DicomError("reference", f"expected an ImageSeries, a pydicom Dataset or a path, got {type(reference).__name__}")


def _ds_str(x: float) -> str:
    """A DS (decimal string, at most 16 characters) for x."""
    for digits in range(10, 2, -1):
        s = f"{x:.{digits}g}"
        if len(s) <= 16:
            return s
    raise ValueError(f"cannot write {x!r} as a DICOM decimal string")


def _dose_grid_scaling(dmax: float) -> tuple[float, str]:
    """Scaling factor (as written, DS <= 16 chars) such that dmax / scaling <= 2**32 - 1."""
    if dmax <= 0:
        return 1.0, "1"
    s = dmax / _UINT32_MAX
    for bump in (1.0, 1 + 1e-9, 1 + 1e-7, 1 + 1e-5):
        txt = _ds_str(s * bump)
        val = float(txt)
        if dmax / val <= _UINT32_MAX:
            return val, txt
    raise ValueError("cannot choose a DoseGridScaling")  # not reached


def write_rtdose(
    dose: Volume,
    reference,
    path,
    *,
    overwrite: bool = False,
    summation_type: str = "RECORD",
    series_description: str = "Y-90 absorbed dose",
    instance_time: _dt.datetime | None = None,
) -> Path:
    """Write a dose Volume as a DICOM RT Dose file.

    Parameters
    ----------
    dose : Volume
        Absorbed dose, unit convertible to Gy (Sv and other J/kg names are refused), finite, >= 0.
    reference : ImageSeries, pydicom.Dataset, str or os.PathLike
        The source images (series, one of their datasets, a file or a directory): patient,
        study and FrameOfReferenceUID are copied from it.
    path : str or os.PathLike
        Output file. Its directory must exist.
    overwrite : bool
        Replace an existing file (never one of the reference's input files).
    summation_type : str
        DoseSummationType; default ``RECORD`` (no Referenced RT Plan is needed, PS3.3 C.8.8.3).
    series_description : str
        SeriesDescription of the new series.
    instance_time : datetime, optional
        InstanceCreationDate/Time; default now (local clock).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InputError
        Wrong unit, negative or non-finite dose, output path is an input file or exists without
        ``overwrite``, reference without patient or frame of reference.
    """
    d = _dose_in_gy(dose)
    out = Path(path)
    ref, inputs = _reference(reference)
    _check_output(out, inputs, overwrite)
    for kw in ("PatientID", "StudyInstanceUID", "FrameOfReferenceUID"):
        get(ref, kw, getattr(ref, "filename", None) or "reference")
    ds = _rtdose_header(ref, instance_time or _dt.datetime.now(), series_description)
    _add_dose_grid(ds, dose, d, summation_type)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return write_atomic(out, buf.getvalue(), field=str(path), force=overwrite)


def _dose_in_gy(dose: Volume) -> np.ndarray:
    """The dose values in Gy, refusing another unit (Sv included), non-finite or negative values."""
    if not isinstance(dose, Volume):
        raise DicomError("dose", f"expected a Volume, got {type(dose).__name__}")
    u = dose.unit
    # pint defines Sv (and rem) as J/kg like Gy: refuse them by name, never convert Sv to Gy.
    if Q_(1, u).dimensionality != Q_(1, "Gy").dimensionality or re.search(r"sievert|\brem\b|roentgen_equivalent", repr(u)):
        raise DicomError("dose", f"unit {u:~P} is not an absorbed dose (Gy)")
    d = np.asarray(dose.array, dtype=np.float64) * float(Q_(1, u).to("Gy").magnitude)
    if not np.all(np.isfinite(d)):
        raise DicomError("dose", "contains non-finite values")
    if d.min() < 0:
        raise DicomError("dose", f"contains negative values (min {d.min():.3g} Gy); RT Dose stores doses >= 0")
    return d


def _check_output(out: Path, inputs, overwrite: bool) -> None:
    """Refuse an output that is one of the reference's input files, exists without ``overwrite``, or
    whose folder does not exist."""
    target = os.path.realpath(out)
    for f in inputs:
        if os.path.realpath(f) == target:
            raise DicomError(os.fspath(out), "is one of the input images; refusing to overwrite an input file")
    if out.exists() and not overwrite:
        raise DicomError(os.fspath(out), "already exists; choose another name or pass overwrite=True")
    if not out.parent.is_dir():
        raise DicomError(os.fspath(out), f"directory {out.parent} does not exist")


def _rtdose_header(ref, now: _dt.datetime, series_description: str) -> Dataset:
    """File meta, SOP, patient / study / frame of reference copied from ``ref``, and the RT Series."""
    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(RTDOSE_SOP_CLASS)
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = RTDOSE_SOP_CLASS
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    for kw in _COPIED:
        if kw in ref and ref.get(kw) is not None:
            setattr(ds, kw, ref.get(kw))
    for kw in ("StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName", "PatientBirthDate", "PatientSex", "PatientName"):
        if kw not in ds:
            setattr(ds, kw, "")
    if "PositionReferenceIndicator" not in ds:
        ds.PositionReferenceIndicator = ""
    ds.Modality = "RTDOSE"
    ds.OperatorsName = ""  # RT Series, Type 2 (PS3.3 C.8.8.1): present, empty (no operator)
    ds.Manufacturer = "y90-dosimetry"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SeriesDescription = series_description
    return ds


def _add_dose_grid(ds: Dataset, dose: Volume, d: np.ndarray, summation_type: str) -> None:
    """Image plane, multi-frame, pixel and RT Dose attributes of the dose ``d`` [Gy] on ``dose``'s grid."""
    # Geometry: axis 0 along +n = row x column so GridFrameOffsetVector increases from 0.
    col_dir = dose.direction[:, 1]
    row_dir = dose.direction[:, 2]
    n = np.cross(row_dir, col_dir)
    origin = np.asarray(dose.origin_mm, dtype=float)
    if float(n @ dose.direction[:, 0]) < 0:
        d = d[::-1]
        origin = origin + dose.direction[:, 0] * dose.spacing_mm[0] * (dose.shape[0] - 1)
    nk, nj, ni = d.shape
    scaling, scaling_txt = _dose_grid_scaling(float(d.max()))
    stored = np.rint(d / scaling)
    np.clip(stored, 0, _UINT32_MAX, out=stored)
    stored = stored.astype("<u4")
    # Image plane and multi-frame (PS3.3 C.7.6.2, C.7.6.6, C.8.8.3).
    ds.ImagePositionPatient = [_ds_str(x) for x in origin]
    ds.ImageOrientationPatient = [_ds_str(x) for x in np.concatenate([row_dir, col_dir])]
    ds.PixelSpacing = [_ds_str(dose.spacing_mm[1]), _ds_str(dose.spacing_mm[2])]
    ds.SliceThickness = _ds_str(dose.spacing_mm[0])
    ds.NumberOfFrames = nk
    ds.FrameIncrementPointer = 0x3004000C  # GridFrameOffsetVector
    ds.GridFrameOffsetVector = [_ds_str(k * dose.spacing_mm[0]) for k in range(nk)]
    ds.Rows, ds.Columns = nj, ni
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 32
    ds.BitsStored = 32
    ds.HighBit = 31
    ds.PixelRepresentation = 0
    ds.DoseUnits = "GY"
    ds.DoseType = "PHYSICAL"
    ds.DoseSummationType = summation_type
    ds.DoseGridScaling = scaling_txt
    ds.PixelData = stored.tobytes()
