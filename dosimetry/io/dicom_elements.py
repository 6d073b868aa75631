"""DICOM elements as the readers use them: the file header read safely, element values (text, numbers,
dates), the patient/study identity of a file, pixel data, and the DICOM error types.

Every failure to read or interpret a file is turned into an :class:`~dosimetry.errors.InputError`
(or its subclass :class:`DicomError`) whose field names the file and the DICOM attribute, so that
the command-line tool prints one line and never a traceback.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset

from ..errors import InputError
from ..voxel.geometry import Volume
from .bounds import VOXEL_SPACING_MM as _VOXEL_SPACING_MM

__all__ = [
    "DicomError",
    "DicomWarning",
    "ImageSeries",
    "DicomIdentity",
    "check_consistency",
    "identity_of",
    "read_dataset",
    "NotDicomError",
]


class DicomError(InputError):
    """A DICOM file that cannot be used: unreadable, truncated, inconsistent or unsupported.

    ``field`` is ``"<file>: <Attribute>"`` (or a series description) and ``message`` says what
    is wrong and what is allowed. Both are kept to one line (decoder messages span several).
    """

    def __init__(self, field: str, message: str, **kwargs):
        super().__init__(" ".join(str(field).split()), " ".join(str(message).split()), **kwargs)


class NotDicomError(DicomError):
    """A file that is not DICOM at all (no DICM prefix, no SOP class or modality): a stray file in a
    series folder is skipped; given alone it is refused."""


@dataclass(frozen=True)
class DicomIdentity:
    """Who and where an object belongs to, for consistency checks between series.

    Parameters
    ----------
    source : str
        File or directory the object was read from (for messages).
    modality : str
        DICOM Modality, e.g. ``"CT"``, ``"PT"``, ``"NM"``, ``"RTSTRUCT"``, ``"RTDOSE"``.
    patient_id, patient_name : str
        PatientID (0010,0020) and PatientName (0010,0010).
    study_uid : str
        StudyInstanceUID (0020,000D).
    series_uid : str
        SeriesInstanceUID (0020,000E).
    frame_of_reference_uid : str
        FrameOfReferenceUID (0020,0052); for an RTSTRUCT, the one of its
        ReferencedFrameOfReferenceSequence / StructureSetROISequence.
    birth_date, sex : str
        PatientBirthDate (0010,0030) as written (DA, ``YYYYMMDD``) and PatientSex (0010,0040);
        '' when absent (compared with the patient file, dosimetry.workflow.identity).
    """

    source: str
    modality: str
    patient_id: str
    patient_name: str
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str
    birth_date: str = ""
    sex: str = ""


class DicomWarning(UserWarning):
    """A DICOM header value that was accepted but deserves the user's attention."""


@dataclass(frozen=True)
class ImageSeries:
    """An image series read from DICOM.

    Attributes
    ----------
    volume : Volume
        The image: HU (dimensionless) for CT, Bq/mL at administration time for PT, ``cts`` (or
        Bq/mL when calibrated) for NM.
    identity : DicomIdentity
        Patient, study, series and frame of reference, for :func:`check_consistency` and the writer.
    files : tuple of str
        The files read, in slice order.
    warnings : tuple of str
        Everything accepted with reservations.
    reference_time : datetime or None
        Time the PT values refer to (the administration, RadiopharmaceuticalStartDateTime, on the
        header's clock), None for CT/NM.
    radionuclide : str
        Radionuclide named in the header ('' when absent).
    header : pydicom.dataset.Dataset
        Header of the first file (without pixel data), used as the reference of written objects.
    at_administration : bool
        The values are an activity concentration referred to the administration time (PT after
        decay correction; NM in Bq/mL whose DecayCorrection (0054,1102) says so). False for counts
        and for values whose reference time the header does not give (``time_note`` says why).
    time_note : str
        Why the values are not referred to the administration ('' when they are, or are counts).
    """

    volume: Volume
    identity: DicomIdentity
    files: tuple
    warnings: tuple
    reference_time: datetime | None
    radionuclide: str
    header: Dataset
    at_administration: bool = False
    time_note: str = ""


def _label(path) -> str:
    return os.fspath(path) if path is not None else "<dataset>"


@dataclass(frozen=True)
class PixelLocation:
    """Where the native (uncompressed) pixel values of a file start, and how many bytes they take."""

    offset: int
    nbytes: int
    big_endian: bool


def read_header(path) -> tuple[Dataset, PixelLocation | None, bool]:
    """Read a file's header, and locate its pixel data without reading it.

    Returns
    -------
    (dataset without PixelData, PixelLocation or None, has_pixel_data)
        The location is None for encapsulated (compressed) data or an unusual layout; the
        caller then reads the whole file with :func:`read_dataset`.
    """
    p = Path(path)
    if not p.is_file():
        raise DicomError(str(p), "no such file")
    try:
        with open(p, "rb") as fh:
            try:
                ds = pydicom.dcmread(fh, stop_before_pixels=True, force=False)
            except pydicom.errors.InvalidDicomError:
                full = read_dataset(p)  # no preamble: read the bare data set the slow way
                return full, None, _PIXEL_DATA in full
            pos = fh.tell()
            head = fh.read(12)
    except DicomError:
        raise
    except Exception as exc:
        raise DicomError(str(p), f"cannot read the file, it may be truncated or damaged ({type(exc).__name__}: {one_line(exc)})") from exc
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    if len(head) < 8:
        return ds, None, False
    le_tag = head[:4] == b"\xe0\x7f\x10\x00"
    be_tag = head[:4] == b"\x7f\xe0\x00\x10"
    if not (le_tag or be_tag):
        return ds, None, False
    if ts not in _UNCOMPRESSED:
        return ds, None, True
    if ts == "1.2.840.10008.1.2":  # implicit VR little endian: tag, 4-byte length
        length, start = int.from_bytes(head[4:8], "little"), pos + 8
    elif head[4:6] in (b"OW", b"OB"):  # explicit VR: tag, VR, 2 reserved, 4-byte length
        length, start = int.from_bytes(head[8:12], "big" if be_tag else "little"), pos + 12
    else:
        return ds, None, True
    if length == 0xFFFFFFFF:
        return ds, None, True
    return ds, PixelLocation(start, length, be_tag), True


def read_pixels_into(path, loc: PixelLocation, buffer: np.ndarray) -> None:
    """Read ``buffer.nbytes`` native pixel bytes of a file straight into a contiguous array."""
    if buffer.nbytes > loc.nbytes:
        raise DicomError(f"{path}: PixelData", f"{loc.nbytes} bytes, expected {buffer.nbytes}: inconsistent Rows/Columns/BitsAllocated")
    try:
        with open(path, "rb") as fh:
            fh.seek(loc.offset)
            n = fh.readinto(buffer.data.cast("B"))  # buffer.data: the array's memoryview
    except OSError as exc:
        raise DicomError(f"{path}: PixelData", f"cannot read ({exc})") from exc
    if n != buffer.nbytes:
        raise DicomError(f"{path}: PixelData", f"{n} bytes, expected {buffer.nbytes}: the file is truncated")
    if loc.big_endian and buffer.dtype.itemsize > 1:
        buffer.byteswap(inplace=True)


def read_dataset(path, *, stop_before_pixels: bool = False) -> Dataset:
    """Read one DICOM file, turning every pydicom failure into a :class:`DicomError`.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    stop_before_pixels : bool
        Skip the pixel data (header only).

    Returns
    -------
    pydicom.dataset.Dataset

    Raises
    ------
    DicomError
        Missing, unreadable, not DICOM, or truncated file.
    """
    p = Path(path)
    if not p.is_file():
        raise DicomError(str(p), "no such file")
    try:
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=stop_before_pixels, force=False)
        except pydicom.errors.InvalidDicomError as exc:
            # No preamble / file meta: accept a bare data set only if it names its SOP class or modality.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    ds = pydicom.dcmread(p, stop_before_pixels=stop_before_pixels, force=True)
                    ok = bool(str(ds.get("SOPClassUID", "") or "").strip() or str(ds.get("Modality", "") or "").strip())
                except Exception:
                    ok = False
            if not ok:
                raise NotDicomError(str(p), "not a DICOM file (no DICM prefix and no SOPClassUID/Modality)") from exc
    except DicomError:
        raise
    except Exception as exc:  # EOFError, struct.error, OSError ...: truncated or damaged file
        raise DicomError(str(p), f"cannot read the file, it may be truncated or damaged ({type(exc).__name__}: {one_line(exc)})") from exc
    return ds


def header_only(ds: Dataset) -> Dataset:
    """A new dataset with every element of ``ds`` except PixelData (elements are shared, not copied)."""
    out = Dataset()
    for elem in ds:
        if elem.tag != 0x7FE00010:
            out.add(elem)
    if hasattr(ds, "file_meta"):
        out.file_meta = ds.file_meta
    return out


@lru_cache(maxsize=None)
def _tag(keyword: str):
    """Tag of a DICOM keyword (cached: a pure function of the DICOM dictionary)."""
    return tag_for_keyword(keyword)


_PIXEL_DATA = 0x7FE00010
_TEXT_VRS = {"CS", "UI", "SH", "LO", "DA", "TM", "DT", "AS", "LT", "ST"}
_NUM_VRS = {"DS", "IS"}
_BIN_VRS = {"US": "u2", "SS": "i2", "UL": "u4", "SL": "i4"}


def value(ds: Dataset, keyword: str):
    """An attribute's value, or None.

    Fast path for the few attributes read from every slice: a still-unconverted (raw) element of
    a simple VR (decimal/integer strings, codes, UIDs, unsigned shorts) is decoded directly from
    its bytes, which is several times faster than pydicom's general conversion. Anything else
    goes through pydicom.
    """
    tag = _tag(keyword)
    try:
        elem = ds.get_item(tag) if tag is not None else None
    except Exception:
        elem = None
    if elem is None:
        return None
    if getattr(elem, "is_raw", False) and isinstance(elem.value, (bytes, bytearray)):
        vr = elem.VR or dictionary_VR(elem.tag)
        raw = bytes(elem.value)
        if vr in _NUM_VRS:
            parts = raw.decode("ascii", "replace").strip(" \0").split("\\")
            try:
                nums = [float(x) for x in parts if x.strip()]
            except ValueError:
                nums = None
            if nums is not None:
                if not nums:
                    return None
                if vr == "IS" and all(x.is_integer() for x in nums):
                    nums = [int(x) for x in nums]
                return nums[0] if len(nums) == 1 else nums
        elif vr in _TEXT_VRS:
            txt = raw.decode("ascii", "replace").strip(" \0")
            return txt.split("\\") if "\\" in txt else txt
        elif vr in _BIN_VRS:
            arr = np.frombuffer(raw, dtype=("<" if elem.is_little_endian else ">") + _BIN_VRS[vr]).tolist()
            return None if not arr else (arr[0] if len(arr) == 1 else arr)
    return ds.get(keyword, None)


def get(ds: Dataset, keyword: str, source, *, required: bool = True, default=None):
    """Value of an attribute, or a :class:`DicomError` naming file and attribute when missing."""
    try:
        v = value(ds, keyword)
    except Exception as exc:  # malformed value (bad VR content)
        raise DicomError(f"{_label(source)}: {keyword}", f"cannot decode the value ({one_line(exc)})") from exc
    if v is None or (isinstance(v, (str, bytes)) and len(v) == 0) or (
        isinstance(v, (list, tuple, pydicom.multival.ConstrainedList)) and len(v) == 0
    ):
        if required:
            raise DicomError(f"{_label(source)}: {keyword}", "required attribute is missing or empty")
        return default
    return v


@overload
def floats(ds: Dataset, keyword: str, source, n: int | None = None, *, required: Literal[True] = True, default: None = None) -> np.ndarray: ...
@overload
def floats(ds: Dataset, keyword: str, source, n: int | None = None, *, required: bool = True, default) -> np.ndarray: ...
@overload
def floats(ds: Dataset, keyword: str, source, n: int | None = None, *, required: bool = True, default: None = None) -> np.ndarray | None: ...


def floats(ds: Dataset, keyword: str, source, n: int | None = None, *, required: bool = True, default=None) -> np.ndarray | None:
    """A numeric (multi-)value as a float array, checking its length and finiteness."""
    v = get(ds, keyword, source, required=required, default=None)
    if v is None:
        return None if default is None else np.asarray(default, dtype=float)
    try:
        arr = np.atleast_1d(np.asarray([float(x) for x in (v if isinstance(v, (list, tuple, pydicom.multival.ConstrainedList)) else [v])], dtype=float))
    except (TypeError, ValueError) as exc:
        raise DicomError(f"{_label(source)}: {keyword}", f"expected numbers, got {v!r}") from exc
    if n is not None and arr.size != n:
        raise DicomError(f"{_label(source)}: {keyword}", f"expected {n} values, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise DicomError(f"{_label(source)}: {keyword}", f"values must be finite, got {v!r}")
    return arr


def text(ds: Dataset, keyword: str, default: str = "") -> str:
    """An attribute as a stripped string ('' when absent)."""
    try:
        v = value(ds, keyword)
    except Exception:
        return default
    if v is None:
        return default
    if isinstance(v, list):
        return "\\".join(str(x) for x in v).strip()
    return str(v).strip()


def identity_of(ds: Dataset, source) -> DicomIdentity:
    """The :class:`DicomIdentity` of a dataset (frame of reference looked up in RT objects too)."""
    modality = text(ds, "Modality")
    for_uid = text(ds, "FrameOfReferenceUID")
    if not for_uid and "ReferencedFrameOfReferenceSequence" in ds:
        seq = ds.ReferencedFrameOfReferenceSequence
        if len(seq):
            for_uid = text(seq[0], "FrameOfReferenceUID")
    return DicomIdentity(
        source=_label(source),
        modality=modality,
        patient_id=text(ds, "PatientID"),
        patient_name=text(ds, "PatientName"),
        study_uid=text(ds, "StudyInstanceUID"),
        series_uid=text(ds, "SeriesInstanceUID"),
        frame_of_reference_uid=for_uid,
        birth_date=text(ds, "PatientBirthDate"),
        sex=text(ds, "PatientSex"),
    )


_CHECKED = (
    ("patient_id", "PatientID"),
    ("study_uid", "StudyInstanceUID"),
    ("frame_of_reference_uid", "FrameOfReferenceUID"),
)


def check_consistency(*identities: DicomIdentity, allow_mismatch: bool = False, check_study: bool = True) -> tuple[str, ...]:
    """Check that several DICOM objects belong to the same patient, study and frame of reference.

    Parameters
    ----------
    *identities : DicomIdentity
        From :func:`load_series`, :func:`read_rtstruct`, :func:`read_rtdose` (``.identity``).
    allow_mismatch : bool
        Explicit override: report mismatches as warnings instead of refusing.
    check_study : bool
        Compare StudyInstanceUID too (default). A CT and a PET from different studies of the same
        patient and frame of reference are legitimate in some workflows; pass ``False`` then.

    Returns
    -------
    tuple of str
        Warnings (mismatches when ``allow_mismatch``, and missing identifiers).

    Raises
    ------
    DicomError
        A PatientID, StudyInstanceUID or FrameOfReferenceUID differs and ``allow_mismatch`` is false.
        The field names the attribute and the message lists the sources with their values.
    """
    warnings: list[str] = []
    if len(identities) < 2:
        return ()
    for attr, keyword in _CHECKED:
        if attr == "study_uid" and not check_study:
            continue
        values = {getattr(i, attr) for i in identities if getattr(i, attr)}
        missing = [i.source for i in identities if not getattr(i, attr)]
        if missing:
            warnings.append(f"{keyword} missing in {', '.join(missing)}; consistency could not be checked")
        if len(values) > 1:
            detail = "; ".join(f"{i.modality or '?'} {i.source}: {getattr(i, attr)!r}" for i in identities)
            msg = f"differs between the inputs ({detail})"
            if not allow_mismatch:
                raise DicomError(keyword, msg + "; they must come from the same patient and frame of reference (override explicitly if you are sure)")
            warnings.append(f"{keyword} {msg}; accepted because the mismatch check was overridden")
    return tuple(warnings)


def parse_da_tm(date: str, time: str) -> _dt.datetime | None:
    """Combine a DICOM DA ('YYYYMMDD') and TM ('HHMMSS.FFFFFF', parts optional) into a naive datetime."""
    date = (date or "").strip()
    time = (time or "").strip().replace(":", "")
    if len(date) != 8 or not date.isdigit() or not time:
        return None
    try:
        main, _, frac = time.partition(".")
        hh = int(main[0:2])
        mm = int(main[2:4]) if len(main) >= 4 else 0
        ss = int(main[4:6]) if len(main) >= 6 else 0
        us = int((frac + "000000")[:6]) if frac else 0
        return _dt.datetime(int(date[0:4]), int(date[4:6]), int(date[6:8]), hh, mm, ss, us)
    except ValueError:
        return None


def parse_dt(value: str) -> _dt.datetime | None:
    """A DICOM DT ('YYYYMMDDHHMMSS.FFFFFF&ZZXX') as a naive datetime in the file's local clock.

    A UTC offset suffix is dropped: every time of one PET header is on the same clock, and only
    differences between them are used.
    """
    v = (value or "").strip()
    for sign in ("+", "-"):
        if sign in v[8:]:
            v = v[: 8 + v[8:].index(sign)]
    if len(v) < 8:
        return None
    return parse_da_tm(v[:8], v[8:] or "000000")


_UNCOMPRESSED = {
    "1.2.840.10008.1.2": "<",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1": "<",  # Explicit VR Little Endian
    "1.2.840.10008.1.2.2": ">",  # Explicit VR Big Endian (retired)
}


def pixel_array(ds: Dataset, source) -> np.ndarray:
    """Stored pixel values (before rescale) of a monochrome image, frames first when multi-frame.

    Uncompressed data are viewed straight from the PixelData bytes (no copy, no decoder
    overhead); anything else goes through pydicom's decoders.
    """
    label = _label(source)
    if _PIXEL_DATA not in ds:
        raise DicomError(f"{label}: PixelData", "the file has no pixel data")
    spp = count(ds, "SamplesPerPixel", source, default=1)
    if spp != 1:
        raise DicomError(f"{label}: SamplesPerPixel", f"{spp} samples per pixel; only monochrome images are supported")
    rows = count(ds, "Rows", source)
    cols = count(ds, "Columns", source)
    frames = count(ds, "NumberOfFrames", source, default=1)
    bits = count(ds, "BitsAllocated", source, maximum=64)
    signed = pixel_representation(ds, source) == 1
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "1.2.840.10008.1.2"))
    try:
        if ts in _UNCOMPRESSED and bits in (8, 16, 32) and int(value(ds, "BitsStored") or bits) == bits:
            dtype = np.dtype(f"{_UNCOMPRESSED[ts]}{'i' if signed else 'u'}{bits // 8}")
            elem = ds.get_item(_PIXEL_DATA)
            raw = elem.value if isinstance(elem.value, (bytes, bytearray)) else ds.PixelData
            n = rows * cols * frames
            if len(raw) < n * dtype.itemsize:
                raise DicomError(f"{label}: PixelData", f"{len(raw)} bytes, expected {n * dtype.itemsize} for {frames} x {rows} x {cols} x {bits} bit: the file is truncated")
            arr = np.frombuffer(raw, dtype=dtype, count=n)
        else:
            arr = ds.pixel_array
    except DicomError:
        raise
    except Exception as exc:
        raise DicomError(f"{label}: PixelData", f"cannot decode the pixel data ({type(exc).__name__}: {one_line(exc)})") from exc
    if arr.size != frames * rows * cols:
        raise DicomError(f"{label}: PixelData", f"{arr.size} values decoded, expected {frames} x {rows} x {cols} (NumberOfFrames x Rows x Columns)")
    return arr.reshape(frames, rows, cols)


def pixel_representation(ds: Dataset, source) -> int:
    """PixelRepresentation (0028,0103): 0 unsigned, 1 two's complement; absent means 0."""
    v = get(ds, "PixelRepresentation", source, required=False, default=0)
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)) or v not in (0, 1):
        raise DicomError(f"{_label(source)}: PixelRepresentation", f"{str(v)[:40]!r}; expected 0 (unsigned) or 1 (signed)")
    return int(v)


def orientation(ds: Dataset, source, keyword: str = "ImageOrientationPatient") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row direction, column direction and slice normal (row x column) from an orientation.

    Raises
    ------
    DicomError
        Not two unit vectors at right angles (tolerance 1e-3).
    """
    iop = floats(ds, keyword, source, 6)
    r, c = iop[:3], iop[3:]
    if abs(np.linalg.norm(r) - 1) > 1e-3 or abs(np.linalg.norm(c) - 1) > 1e-3 or abs(r @ c) > 1e-3:
        raise DicomError(f"{_label(source)}: {keyword}", f"{list(iop)} is not two orthogonal unit vectors")
    r = r / np.linalg.norm(r)
    c = c - (c @ r) * r
    c = c / np.linalg.norm(c)
    return r, c, np.cross(r, c)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line (decoder messages can span many lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def damaged(label: str, exc: BaseException, what: str = "DICOM header") -> DicomError:
    """A :class:`DicomError` for an exception pydicom raised on a damaged header, naming the attribute.

    pydicom names the element as ``(gggg,eeee)`` in its messages; the keyword is looked up in the
    DICOM dictionary so that the one line says e.g. ``nm.dcm: ImageType``.
    """
    import re

    from pydicom.datadict import keyword_for_tag

    where = label
    m = re.search(r"\(([0-9A-Fa-f]{4}),\s*([0-9A-Fa-f]{4})\)", str(exc))
    if m:
        tag = int(m.group(1) + m.group(2), 16)
        where = f"{label}: {keyword_for_tag(tag) or f'({m.group(1)},{m.group(2)})'}"
    return DicomError(where, f"damaged or unsupported {what} ({type(exc).__name__}: {one_line(exc)})")


#: Plausible voxel spacing per modality: the table of :mod:`.bounds` (one table for every reader).
VOXEL_SPACING_MM = _VOXEL_SPACING_MM


def check_spacing(values, modality: str, where: str, direction: str = "row") -> None:
    """Refuse voxel spacings outside :data:`VOXEL_SPACING_MM` for the modality, naming the attribute."""
    lo, hi = VOXEL_SPACING_MM[(modality, direction)]
    arr = np.abs(np.asarray(values, dtype=float))
    if np.any(arr < lo) or np.any(arr > hi):
        what = "pixel" if direction == "row" else "slice"
        raise DicomError(where, f"{[round(float(x), 6) for x in arr]} mm is outside the plausible {modality} {what} spacing [{lo:g}, {hi:g}] mm")


def count(ds: Dataset, keyword: str, source, *, default: int | None = None, maximum: int = 1 << 16) -> int:
    """A single positive integer such as Rows, Columns or NumberOfFrames.

    Parameters
    ----------
    default : int, optional
        Used when the attribute is absent (e.g. NumberOfFrames 1); without it the attribute is required.
    maximum : int
        Largest plausible value (65536: the largest US value).

    Raises
    ------
    DicomError
        Missing (without default), multi-valued, not an integer, 0 or negative, or above ``maximum``.
    """
    v = get(ds, keyword, source, required=default is None, default=None)
    if v is None:
        assert default is not None  # get refuses a missing attribute without a default
        return int(default)
    where = f"{_label(source)}: {keyword}"
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
        raise DicomError(where, f"{len(v)} values {list(v)[:4]!r}; expected one integer >= 1")
    try:
        x = float(v)
    except (TypeError, ValueError) as exc:
        raise DicomError(where, f"{str(v)[:40]!r} is not an integer") from exc
    if not (x == int(x) if np.isfinite(x) else False) or not 1 <= x <= maximum:
        raise DicomError(where, f"{str(v)[:40]!r} is out of range; expected an integer in [1, {maximum}]")
    return int(x)


def check_finite(arr: np.ndarray, where: str, what: str) -> None:
    """Refuse non-finite values (after a rescale that overflowed), naming the attribute."""
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise DicomError(where, f"values are not finite after rescaling ({what} too large?)")


def number(ds: Dataset, keyword: str, f, default: float) -> float:
    """A single finite number (default when absent)."""
    v = floats(ds, keyword, f, 1, required=False)
    return default if v is None else float(v[0])
