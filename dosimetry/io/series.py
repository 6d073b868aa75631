"""Read one DICOM image series (CT, PT or NM tomography) into a :class:`~dosimetry.voxel.Volume`.

* **CT** and **PT**: one file per slice. Slices are sorted by their position along the slice
  normal n = row x column of ImageOrientationPatient (DICOM PS3.3 C.7.6.2.1.1), so axis 0 of the
  Volume runs along +n. Missing, duplicate, unevenly spaced or sheared (gantry tilt) slices and
  files from several series are refused. Oblique orientations are kept exactly in
  ``Volume.direction``. Stored values are rescaled with each slice's RescaleSlope/Intercept.
  CT values are Hounsfield units (dimensionless).
* **PT** values are converted to Bq/mL (Units BQML) and decay-corrected to the administration time
  (RadiopharmaceuticalStartDateTime) whatever the header's DecayCorrection (START, ADMIN, NONE).
* Emission values are returned as stored and rescaled: negative values (reconstruction noise) are
  kept; the workflow's one rule for negative and NaN values applies once the ROIs are known
  (:func:`dosimetry.voxel.calibration.screen_activity`).
* **NM** reconstructed tomography: one multi-frame file; geometry from
  DetectorInformationSequence (ImagePositionPatient, ImageOrientationPatient), slice spacing from
  SpacingBetweenSlices (else SliceThickness), values from RescaleSlope/Intercept or the
  RealWorldValueMappingSequence, in detector counts ``cts`` unless a calibration is given.

Warnings (e.g. a half-life in the header that differs from Y-90's) are returned in
:attr:`ImageSeries.warnings` by :func:`load_series`; :func:`read_series`, which returns only the
Volume, re-emits them through the :mod:`warnings` module as :class:`DicomWarning`.
"""

from __future__ import annotations

import os
import warnings as _warnings
from functools import lru_cache
from pathlib import Path
from typing import cast

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from ..units import ureg
from ..voxel.geometry import Volume
from .dicom_elements import (
    DicomError,
    NotDicomError,
    DicomWarning,
    ImageSeries,
    check_finite,
    check_spacing,
    count,
    damaged,
    floats,
    header_only,
    identity_of,
    orientation,
    pixel_array,
    read_dataset,
    read_header,
    read_pixels_into,
    text,
    value,
)
from .nm import read_nm
from .pet import pet_values

__all__ = ["DicomWarning", "ImageSeries", "load_series", "read_series", "list_files"]


# ----------------------------------------------------------------------------------------------
# files


def list_files(path_or_files) -> list[Path]:
    """The files of a directory (not recursive, hidden files and DICOMDIR skipped) or a given list."""
    if isinstance(path_or_files, (str, os.PathLike)):
        p = Path(path_or_files)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".") and f.name.upper() != "DICOMDIR")
            if not files:
                raise DicomError(str(p), "the directory contains no files")
            return files
        if p.is_file():
            return [p]
        raise DicomError(str(p), "no such file or directory")
    files = [Path(f) for f in path_or_files]
    if not files:
        raise DicomError("files", "no files given")
    return files


def _read_all(files: list[Path]) -> tuple[list[tuple[Path, Dataset]], list[str], dict]:
    """Headers of all files (pixel data located, not read), skipping stray non-DICOM files."""
    out: list = []
    skipped: list = []
    other: list = []
    locs: dict = {}
    memo: dict = {}
    for f in files:
        try:
            ds, loc, has_pixels = read_header(f)
        except NotDicomError:
            if len(files) > 1:
                skipped.append(f.name)  # stray non-DICOM file in a series directory
                continue
            raise
        mod = _text_remembered(memo, ds, "Modality").upper()
        if not mod or not _text_remembered(memo, ds, "SOPClassUID"):
            raise DicomError(f"{f}: Modality", "header incomplete (no Modality or SOPClassUID): truncated or damaged file")
        if not has_pixels:
            if mod in _NON_IMAGE and len(files) > 1:
                other.append(f"{f.name} ({mod})")  # e.g. an RTSTRUCT exported with the CT
                continue
            raise DicomError(f"{f}: PixelData", "missing: not an image, or a truncated file")
        out.append((f, ds))
        locs[f] = loc
    if not out:
        raise DicomError(str(files[0].parent), "no DICOM image files found")
    notes = [f"skipped {len(skipped)} non-DICOM file(s): {', '.join(skipped[:5])}"] if skipped else []
    if other:
        notes.append(f"skipped {len(other)} non-image DICOM object(s): {', '.join(other[:5])}")
    return out, notes, locs


_NON_IMAGE = {"RTSTRUCT", "RTPLAN", "RTRECORD", "SR", "KO", "PR", "REG", "SEG", "DOC", "OT"}


def _select_series(items, series_uid: str | None, label: str):
    groups: dict[str, list] = {}
    memo: dict = {}
    for f, ds in items:
        groups.setdefault(_text_remembered(memo, ds, "SeriesInstanceUID"), []).append((f, ds))
    if series_uid is not None:
        if series_uid not in groups:
            raise DicomError(f"{label}: SeriesInstanceUID", f"series {series_uid!r} not found; present: {sorted(groups)}")
        return groups[series_uid]
    if len(groups) > 1:
        desc = "; ".join(
            f"{uid or '<none>'} ({text(g[0][1], 'Modality') or '?'} '{text(g[0][1], 'SeriesDescription')}', {len(g)} file(s))"
            for uid, g in groups.items()
        )
        raise DicomError(f"{label}: SeriesInstanceUID", f"files of {len(groups)} series are mixed ({desc}); give one series (or series_uid=)")
    return next(iter(groups.values()))


def _check_one_patient(items, label: str) -> None:
    """Every file of one series must name the same patient and frame of reference."""
    memo: dict = {}
    for keyword in ("Modality", "PatientID", "StudyInstanceUID", "FrameOfReferenceUID"):
        values: dict[str, str] = {}
        for f, ds in items:
            values.setdefault(_text_remembered(memo, ds, keyword), f.name)
        if len(values) > 1:
            shown = "; ".join(f"{v or '<empty>'!r} ({name})" for v, name in list(values.items())[:4])
            raise DicomError(f"{label}: {keyword}", f"differs between files of one series ({shown}); a series belongs to one patient, study and frame of reference")


# ----------------------------------------------------------------------------------------------
# public API


def load_series(
    path_or_files,
    *,
    calibration=None,
    series_uid: str | None = None,
    modality: str | None = None,
    allow_other_radionuclide: bool = False,
    half_life=None,
    spacing_tolerance: float = 0.01,
    require_administration: bool = True,
) -> ImageSeries:
    """Read one CT, PT or NM image series.

    Parameters
    ----------
    path_or_files : str, os.PathLike or sequence of them
        A directory holding the series (non-DICOM files are skipped), one file (single-slice CT/PT
        or an NM multi-frame file), or a list of files.
    calibration : pint.Quantity or str, optional
        Factor turning the stored unit into an activity concentration, e.g. ``"12.5 Bq/mL/cts"``
        for PT Units CNTS or for NM counts [activity/volume per stored unit]. For PT Units BQML only
        a dimensionless cross-calibration factor is accepted. Refused for CT.
    series_uid : str, optional
        SeriesInstanceUID to pick when a directory holds several series.
    modality : str, optional
        Expected Modality (``"CT"``, ``"PT"``, ``"NM"``); anything else is refused.
    allow_other_radionuclide : bool
        PT: accept a radionuclide other than Y-90 (explicit override). Its header half-life is
        then used for decay correction. NM: an image of another radionuclide (Tc-99m MAA) is
        always read in counts (a relative image); this override is needed only to read it in
        Bq/mL (header or ``calibration``), which is then that nuclide's activity, not Y-90's.
    half_life : pint.Quantity or str, optional
        PT: half-life for decay correction [time]; default Y-90, 64.1 h (:data:`dosimetry.isotope.Y90`).
    spacing_tolerance : float
        Allowed deviation of the slice spacing, as a fraction of the mean spacing (default 1 %,
        at least 0.01 mm).
    require_administration : bool
        PT (and NM in Bq/mL with DecayCorrection START): refuse values that cannot be referred to
        the administration time (no RadiopharmaceuticalStartDateTime). False reads them as they
        are, with ``ImageSeries.at_administration`` False and ``time_note`` saying why: enough
        for a relative calibration, which scales the image as a whole.

    Returns
    -------
    ImageSeries
        The Volume with its identity, files, warnings and PT reference time.

    Raises
    ------
    DicomError
        Unreadable or truncated files, mixed series, missing or uneven slices, unsupported modality,
        units or decay correction, non-Y-90 radionuclide without override; the field names the file
        and attribute.
    """
    files = list_files(path_or_files)
    label = os.fspath(path_or_files) if isinstance(path_or_files, (str, os.PathLike)) else f"{len(files)} files from {files[0].parent}"
    try:
        return _load(files, label, calibration, series_uid, modality, allow_other_radionuclide, half_life, spacing_tolerance, require_administration)
    except DicomError:
        raise
    except (MemoryError, RecursionError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a damaged header (bad VR code, undecodable value) that pydicom trips on
        raise damaged(label, exc) from exc


def _load(files, label, calibration, series_uid, modality, allow_other_radionuclide, half_life, spacing_tolerance, require_administration=True) -> ImageSeries:
    items, notes, locs = _read_all(files)
    items = _select_series(items, series_uid, label)
    _check_one_patient(items, label)
    mod = text(items[0][1], "Modality").upper()
    if modality is not None and mod != modality.upper():
        raise DicomError(f"{items[0][0]}: Modality", f"is {mod!r}, expected {modality.upper()!r}")
    if mod in ("CT", "PT"):
        if mod == "CT" and calibration is not None:
            raise DicomError("calibration", "a CT series takes no activity calibration")
        return _slice_stack(items, locs, mod, label, notes, calibration, allow_other_radionuclide, half_life, spacing_tolerance, require_administration)
    if mod == "NM":
        if len(items) != 1:
            raise DicomError(label, f"{len(items)} NM files in one series; expected one reconstructed multi-frame file")
        return read_nm(items[0][0], read_dataset(items[0][0]), notes, calibration, allow_other_radionuclide, require_administration)
    if mod == "RTDOSE":
        raise DicomError(f"{items[0][0]}: Modality", "is RTDOSE; read it with read_rtdose()")
    raise DicomError(f"{items[0][0]}: Modality", f"{mod or '<missing>'} is not supported; expected CT, PT or NM")


def read_series(path_or_files, *, calibration=None, **kwargs) -> Volume:
    """Read one CT, PT or NM image series into a Volume (see :func:`load_series` for parameters).

    Warnings are emitted through the :mod:`warnings` module as :class:`DicomWarning`; use
    :func:`load_series` to get them as a list together with the patient identity.

    Returns
    -------
    Volume
        HU (dimensionless) for CT; Bq/mL at administration for PT; cts or Bq/mL for NM.
    """
    s = load_series(path_or_files, calibration=calibration, **kwargs)
    for w in s.warnings:
        _warnings.warn(w, DicomWarning, stacklevel=2)
    return s.volume


# ----------------------------------------------------------------------------------------------
# CT / PT slice stacks


def _slice_spacing(items, d, pos, n, label, tol, warnings: list) -> float:
    """The slice spacing [mm] of slices sorted along the normal ``n`` (positions ``d`` along it):
    refused with duplicate, missing or uneven slices, or positions off the normal (gantry tilt);
    a single slice's from SpacingBetweenSlices or SliceThickness."""
    first_path, first = items[0]
    if len(items) > 1:
        gaps = np.diff(d)
        dup = np.flatnonzero(gaps < 1e-3)
        if dup.size:
            a, b = items[dup[0]][0].name, items[dup[0] + 1][0].name
            raise DicomError(f"{label}: ImagePositionPatient", f"two slices at the same position {d[dup[0]]:.3f} mm ({a}, {b}); several acquisitions mixed?")
        spacing = float(np.median(gaps))
        allowed = max(tol * spacing, 0.01)
        bad = np.flatnonzero(np.abs(gaps - spacing) > allowed)
        if bad.size:
            b0 = bad[0]
            ratio = gaps[b0] / spacing
            what = (
                f"{int(round(ratio)) - 1} missing slice(s)"
                if abs(ratio - round(ratio)) * spacing <= allowed and round(ratio) >= 2
                else "uneven slice spacing"
            )
            raise DicomError(
                f"{label}: ImagePositionPatient",
                f"{what}: gap of {gaps[b0]:.3f} mm between slice positions {d[b0]:.3f} and {d[b0 + 1]:.3f} mm "
                f"(files {items[b0][0].name}, {items[b0 + 1][0].name}), expected {spacing:.3f} +- {allowed:.3f} mm",
            )
        lateral = (pos - pos[0]) - np.outer(d - d[0], n)
        if np.max(np.linalg.norm(lateral, axis=1)) > max(0.01, tol * spacing):
            raise DicomError(
                f"{label}: ImagePositionPatient",
                "slice positions do not lie along the slice normal (gantry tilt or sheared grid); resample the series first",
            )
    else:
        sp = floats(first, "SpacingBetweenSlices", first_path, required=False)
        if sp is None:
            sp = floats(first, "SliceThickness", first_path, 1)
        spacing = abs(float(sp[0]))
        if spacing <= 0:
            raise DicomError(f"{first_path}: SliceThickness", "single slice without a positive SliceThickness or SpacingBetweenSlices")
        warnings.append(f"{label}: single-slice series; slice spacing taken from the header ({spacing:g} mm)")
    return spacing


def _slice_stack(items, locs, mod, label, notes, calibration, allow_other, half_life, tol, require_administration=True) -> ImageSeries:
    warnings = list(notes)
    first_path, first = items[0]
    rows, cols = count(first, "Rows", first_path), count(first, "Columns", first_path)
    r, c, n = orientation(first, first_path)
    ps = floats(first, "PixelSpacing", first_path, 2)
    if np.any(ps <= 0):
        raise DicomError(f"{first_path}: PixelSpacing", f"must be > 0, got {list(ps)}")
    iop0 = np.concatenate([r, c])
    iop_text, ps_text = _raw_text(first, "ImageOrientationPatient"), _raw_text(first, "PixelSpacing")
    pos = np.empty((len(items), 3))
    memo: dict = {}
    for idx, (f, ds) in enumerate(items):
        if _remembered(memo, ds, ("NumberOfFrames",), lambda: count(ds, "NumberOfFrames", f, default=1)) != 1:
            raise DicomError(f"{f}: NumberOfFrames", "enhanced multi-frame CT/PT is not supported; export one file per slice")
        if _remembered(memo, ds, ("Rows", "Columns"), lambda: (count(ds, "Rows", f), count(ds, "Columns", f))) != (rows, cols):
            raise DicomError(f"{f}: Rows/Columns", f"{value(ds, 'Rows')} x {value(ds, 'Columns')} differs from {rows} x {cols} in {first_path.name}")
        if idx:
            # the same decimal-string bytes as the first slice (checked above) are the same numbers: parsed only when they differ
            if (iop_text is None or _raw_text(ds, "ImageOrientationPatient") != iop_text) and np.max(
                np.abs(floats(ds, "ImageOrientationPatient", f, 6) - iop0)
            ) > 1e-4:
                raise DicomError(f"{f}: ImageOrientationPatient", f"differs from {first_path.name}; all slices must share one orientation")
            if (ps_text is None or _raw_text(ds, "PixelSpacing") != ps_text) and np.max(np.abs(floats(ds, "PixelSpacing", f, 2) - ps)) > 1e-4:
                raise DicomError(f"{f}: PixelSpacing", f"differs from {first_path.name}")
        pos[idx] = floats(ds, "ImagePositionPatient", f, 3)
    d = pos @ n
    order = np.argsort(d, kind="stable")
    d, pos = d[order], pos[order]
    items = [items[i] for i in order]
    spacing = _slice_spacing(items, d, pos, n, label, tol, warnings)

    dtype: type[np.floating]
    if mod == "CT":
        dtype = np.float32
        unit, scale = ureg.dimensionless, 1.0
        rtype = text(first, "RescaleType")
        if rtype and rtype.upper() not in ("HU", "US"):
            warnings.append(f"{first_path}: RescaleType is {rtype!r}, read as Hounsfield units")
        factors = np.ones(len(items))
        reference_time, nuclide, at_admin, time_note = None, "", False, ""
    else:
        dtype = np.float64
        units_raw = text(first, "Units").upper()
        unit, scale, factors, reference_time, nuclide, pw, at_admin, time_note = pet_values(
            items, label, units_raw, calibration, allow_other, half_life, require_administration)
        warnings.extend(pw)

    # RescaleSlope/Intercept are Type 1 in the CT Image and PET Image modules (PS3.3 C.8.2.1,
    # C.8.9.4): a slice without them would silently be read with slope 1 and intercept 0.
    # Each is read once: required, one finite number (every slice's slope, then every intercept).
    # (Parsed once per distinct undecoded value: :func:`_remembered`.)
    raw_slopes = np.array([_remembered(memo, ds, ("RescaleSlope",), lambda: floats(ds, "RescaleSlope", f, 1)[0]) for f, ds in items])
    raw_inters = np.array([_remembered(memo, ds, ("RescaleIntercept",), lambda: floats(ds, "RescaleIntercept", f, 1)[0]) for f, ds in items])
    if not np.all(raw_slopes > 0):  # zero or negative: an image of nothing, or inverted (HU, activity)
        k = int(np.argmin(raw_slopes > 0))
        raise DicomError(f"{items[k][0]}: RescaleSlope", f"{raw_slopes[k]:g}; expected a slope > 0")
    with np.errstate(over="ignore", invalid="ignore"):
        slopes = raw_slopes * scale * factors
        inters = raw_inters * scale * factors
        if not (np.all(np.isfinite(slopes)) and np.all(np.isfinite(inters))):
            raise DicomError(f"{label}: RescaleSlope", "slope or intercept times the unit and decay factors is not finite")
        out = _stack_pixels(items, locs, rows, cols, slopes, inters, dtype, integer_ok=(mod == "CT"))
    check_finite(out, f"{label}: RescaleSlope", "RescaleSlope/RescaleIntercept")
    if mod == "CT":
        _check_hounsfield(out, label)
        if np.ptp(inters) > 0 or np.ptp(slopes) > 0:
            warnings.append(f"{label}: RescaleSlope/RescaleIntercept differ between slices (slopes {np.min(slopes):g} to {np.max(slopes):g}, intercepts {np.min(inters):g} to {np.max(inters):g}); check the CT")
    check_spacing(ps, mod, f"{first_path}: PixelSpacing")
    check_spacing([spacing], mod, f"{label}: {'ImagePositionPatient' if len(items) > 1 else 'SliceThickness'}", "slice")
    direction = np.column_stack([n, c, r])
    vol = Volume(out, (spacing, float(ps[0]), float(ps[1])), tuple(pos[0]), direction, unit)
    return ImageSeries(vol, identity_of(first, label), tuple(os.fspath(f) for f, _ in items), tuple(warnings), reference_time, nuclide, header_only(first),
                       at_admin, time_note)


#: CT plausibility: air is -1000 HU, cortical bone up to about 3000 HU; only metal goes above 4000 HU.
#: A CT whose values are above it in more than 5 % of the voxels has a wrong RescaleIntercept or
#: RescaleSlope, and would make every density (hence every dose) wrong.
HU_CEILING, HU_CEILING_FRACTION = 4000.0, 0.05


def _check_hounsfield(values: np.ndarray, label: str) -> None:
    if values.max() <= HU_CEILING:  # nothing above the ceiling (the usual case): no CT-sized boolean array
        return
    above = float(np.count_nonzero(values > HU_CEILING)) / values.size
    if above > HU_CEILING_FRACTION:
        raise DicomError(
            f"{label}: RescaleIntercept",
            f"{100 * above:.3g} % of the CT is above {HU_CEILING:g} HU (metal); the RescaleIntercept/RescaleSlope cannot give Hounsfield units",
        )


def _raw_text(ds: Dataset, keyword: str) -> bytes | None:
    """The undecoded bytes of a decimal-string attribute (e.g. ImageOrientationPatient), or None
    when pydicom has already decoded it or it is absent; equal bytes are equal values."""
    try:
        elem = ds.get_item(keyword)
    except Exception:
        return None
    if elem is None or not getattr(elem, "is_raw", False) or not isinstance(elem.value, (bytes, bytearray)):
        return None
    return bytes(elem.value)


@lru_cache(maxsize=None)
def _tag_of(keyword: str):
    return tag_for_keyword(keyword)


_ABSENT = ("absent",)


def _raw_key(ds: Dataset, keyword: str):
    """What decides a numeric attribute's value as read from the file: (VR, little endian, undecoded
    bytes); ``_ABSENT`` when the attribute is absent; None when pydicom has already decoded it (then
    the caller parses it). Equal keys of one tag are equal values (the same bytes read the same way)."""
    try:
        elem = ds.get_item(_tag_of(keyword))
    except Exception:
        return None
    if elem is None:
        return _ABSENT
    if not getattr(elem, "is_raw", False) or not isinstance(elem.value, (bytes, bytearray)):
        return None
    return (elem.VR, elem.is_little_endian, bytes(elem.value))


def _remembered(memo: dict, ds: Dataset, keywords: tuple, parse):
    """``parse()``, remembered in ``memo`` by the raw keys of ``keywords`` (:func:`_raw_key`).

    Most slices of a series carry the same bytes for their rows, columns, bit layout and rescale
    attributes: those are parsed and checked once, on the first slice that has them (issue 22). A
    slice whose bytes differ is parsed and checked itself, so a refusal still names its file.
    Only numeric attributes (US, IS, DS) are read this way: their value does not depend on the
    character set.
    """
    keys = tuple(_raw_key(ds, k) for k in keywords)
    if any(k is None for k in keys):
        return parse()
    key = (keywords, keys)
    if key not in memo:
        memo[key] = parse()
    return memo[key]


def _text_remembered(memo: dict, ds: Dataset, keyword: str) -> str:
    """:func:`~dosimetry.io.dicom_elements.text` of an attribute, remembered in ``memo`` by its raw key
    (:func:`_raw_key`): the UIDs and codes every slice of a series repeats are decoded once. A value
    of another VR than UI or CS (e.g. PatientID, LO) is keyed on the SpecificCharacterSet too."""
    key = _raw_key(ds, keyword)
    if key is None or key is _ABSENT or key[0] not in ("UI", "CS"):
        charset = _raw_key(ds, "SpecificCharacterSet")
        if key is None or charset is None:
            return text(ds, keyword)
        key = (key, charset)
    k = (keyword, key)
    if k not in memo:
        memo[k] = text(ds, keyword)
    return memo[k]


def _native_layout(ds: Dataset, loc):
    """(dtype, bits_stored) of values readable straight from the file, else None."""
    if loc is None:
        return None
    bits = value(ds, "BitsAllocated")
    if bits not in (8, 16, 32) or value(ds, "SamplesPerPixel") not in (None, 1):
        return None
    stored = value(ds, "BitsStored") or bits
    if not isinstance(stored, int) or not 1 <= stored <= bits:
        return None
    rep = value(ds, "PixelRepresentation")
    if rep not in (None, 0, 1):
        return None  # the general path refuses it, naming the attribute
    signed = rep == 1
    return np.dtype(f"{'i' if signed else 'u'}{bits // 8}"), stored


#: The attributes :func:`_native_layout` reads.
_LAYOUT = ("BitsAllocated", "SamplesPerPixel", "BitsStored", "PixelRepresentation")


def _value_range(dtype: np.dtype, stored: int) -> tuple[int, int]:
    if dtype.kind == "i":
        return -(1 << (stored - 1)), (1 << (stored - 1)) - 1
    return 0, (1 << stored) - 1


def _clean_bits(plane: np.ndarray, stored: int) -> None:
    """Keep only the BitsStored low bits (DICOM PS3.5 8.1.1): mask unsigned, sign-extend signed."""
    bits = plane.dtype.itemsize * 8
    if stored >= bits:
        return
    if plane.dtype.kind == "u":
        plane &= (1 << stored) - 1
    else:
        shift = bits - stored
        np.left_shift(plane, shift, out=plane)
        np.right_shift(plane, shift, out=plane)  # arithmetic shift: sign extension


def _stack_pixels(items, locs, rows, cols, slopes, inters, dtype, integer_ok) -> np.ndarray:
    """Stored values of every slice, rescaled, in one (nk, rows, cols) array.

    Native pixel data are read straight from each file into the output (or a scratch buffer),
    without building pydicom's pixel arrays. CT values stay int16 when that is exact (slope 1,
    integer intercept, result within int16), otherwise float32 (CT) or float64 (PT).
    """
    nk = len(items)
    memo: dict = {}
    layouts = [
        _remembered(memo, ds, _LAYOUT, lambda: _native_layout(ds, locs.get(f))) if locs.get(f) is not None else None for f, ds in items
    ]
    integer = (
        integer_ok
        and np.all(slopes == 1.0)
        and np.all(inters == np.round(inters))
        and all(lay is not None and lay[0].kind in "iu" and lay[0].itemsize <= 2 for lay in layouts)
    )
    if integer:
        out = np.empty((nk, rows, cols), dtype=np.int16)
        scratch: dict[np.dtype, np.ndarray] = {}
        overflow = False
        for k, (f, ds) in enumerate(items):
            d, stored = cast(tuple, layouts[k])  # every layout is known on this path (``integer`` above)
            direct = d == np.int16
            if direct:
                plane = out[k]
            else:
                plane = scratch.setdefault(d, np.empty((rows, cols), d))
            read_pixels_into(f, locs[f], plane)
            _clean_bits(plane, stored)
            b = int(inters[k])
            lo, hi = _value_range(d, stored)
            # The stored range decides whether the sum can leave int16; only then look at the values.
            if (lo + b < -32768 and int(plane.min()) + b < -32768) or (hi + b > 32767 and int(plane.max()) + b > 32767):
                overflow = True
                break
            if b or not direct:
                np.add(plane, b if direct else np.int32(b), out=out[k], casting="unsafe")
        if not overflow:
            return out
        dtype = np.float32  # values do not fit int16: fall back to the general path
    out = np.empty((nk, rows, cols), dtype=dtype)
    scratch = {}
    for k, (f, ds) in enumerate(items):
        lay = layouts[k]
        if lay is not None:
            d, stored = lay
            raw = scratch.setdefault(d, np.empty((rows, cols), d))
            read_pixels_into(f, locs[f], raw)
            _clean_bits(raw, stored)
        else:
            raw = pixel_array(read_dataset(f), f)[0]  # compressed or unusual layout: pydicom decodes
        np.multiply(raw, slopes[k], out=out[k], casting="unsafe")
        if inters[k] != 0.0:
            out[k] += inters[k]
    return out
