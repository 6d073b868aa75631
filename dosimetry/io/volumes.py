"""NRRD and NIfTI images: read into a :class:`Volume` in DICOM patient coordinates (LPS), and write.

Readers: ``pynrrd`` (NRRD ``.nrrd`` / ``.nhdr``, the format of 3D Slicer) and ``nibabel`` (NIfTI-1
and NIfTI-2, ``.nii`` / ``.nii.gz``, the format of TotalSegmentator and most AI pipelines). The
geometry comes from the header only, never guessed:

* **NRRD** (format spec, teem.sourceforge.net/nrrd/format.html): ``space`` must name a patient
  space (``left-posterior-superior`` / ``LPS``, ``right-anterior-superior`` / ``RAS``,
  ``left-anterior-superior`` / ``LAS``); ``space directions`` gives, per array axis, the vector
  between neighbouring samples, ``space origin`` the position of the first sample's centre;
  ``space units`` must be mm when given.
* **NIfTI** (NIfTI-1 header, nifti.nimh.nih.gov/nifti-1): the sform when ``sform_code`` > 0, else
  the qform when ``qform_code`` > 0 (the order of the NIfTI-1 standard's "method 3 then 2"); a
  header with neither is refused (nibabel's fallback affine would be a guess). The affine maps
  voxel centres (i, j, k) to RAS+ millimetres (``xyzt_units`` must be mm or unknown);
  ``scl_slope`` / ``scl_inter`` are applied.

RAS to LPS: x and y change sign (DICOM PS3.3 C.7.6.2.1.1 is LPS). A Volume holds
``array[k, j, i]`` with ``i`` the fastest file axis, as for DICOM.

Sheared (non-orthogonal) directions are refused: a Volume's axes are orthonormal.

Both readers check the header against the bounds of a patient image (:mod:`.bounds`: sizes,
spacing, field of view, origin, data type, bytes) before one voxel is read, read regular files
only, bounded in bytes (:mod:`.nrrd_file`, :mod:`.nifti_file`, :mod:`.reading`), and refuse NaN or
infinite voxel values (a CT or dose map; an emission image is screened by
voxel.calibration.screen_activity, the one rule for negative and NaN emission voxels).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..voxel.geometry import Volume
from .files import write_atomic
from .nifti_file import read_nifti_raw
from .nrrd_file import LPS_FROM, nrrd_geometry, read_nrrd_data, read_nrrd_header

__all__ = ["is_nrrd", "is_nifti", "image_format", "read_volume", "read_nrrd", "read_nifti", "read_nifti_raw", "write_volume", "nrrd_geometry", "LPS_FROM"]

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def is_nrrd(path) -> bool:
    """True for ``.nrrd`` and ``.nhdr`` files (a ``.seg.nrrd`` is an NRRD too)."""
    return Path(path).name.lower().endswith((".nrrd", ".nhdr"))


def is_nifti(path) -> bool:
    """True for ``.nii`` and ``.nii.gz`` files."""
    return Path(path).name.lower().endswith((".nii", ".nii.gz"))


def image_format(path) -> str:
    """``"nrrd"``, ``"nifti"`` or ``"dicom"`` (anything else: a DICOM file or folder)."""
    return "nrrd" if is_nrrd(path) else "nifti" if is_nifti(path) else "dicom"


def _volume_from_axes(array_fast_first: np.ndarray, vectors_lps: np.ndarray, origin_lps, field: str, unit) -> Volume:
    """Volume from an array indexed (i, j, k) (fastest first) and the LPS step vector of each axis."""
    vec = np.asarray(vectors_lps, dtype=float)
    spacing = np.linalg.norm(vec, axis=1)
    if not np.all(np.isfinite(vec)) or np.any(spacing <= 0):
        raise InputError(field, "the voxel step vectors are missing, zero or not finite; the geometry is unknown")
    unit_vec = vec / spacing[:, None]
    gram = unit_vec @ unit_vec.T
    if not np.allclose(gram, np.eye(3), atol=1e-4):
        raise InputError(field, "the voxel axes are not orthogonal (sheared grid); resample the image to an orthogonal grid first")
    arr = np.ascontiguousarray(np.transpose(array_fast_first, (2, 1, 0)))
    # Volume axis a = file axis 2 - a (array[k, j, i], i fastest).
    direction = np.column_stack([unit_vec[2], unit_vec[1], unit_vec[0]])
    # Orthonormalize exactly (header vectors are often rounded to 6 digits).
    u, _, vt = np.linalg.svd(direction)
    return Volume(arr, (spacing[2], spacing[1], spacing[0]), tuple(float(x) for x in origin_lps), u @ vt, unit)


# --- NRRD --------------------------------------------------------------------------------------
def _nrrd():
    try:
        import nrrd
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise InputError("nrrd", "reading NRRD needs the package pynrrd (pip install pynrrd)") from exc
    return nrrd


def _finite(data: np.ndarray, field: str, finite: bool = True) -> np.ndarray:
    """Refuse NaN or infinite voxel values when ``finite`` (a CT or dose map holds finite numbers).

    An emission image is read with ``finite=False``: its NaN and infinite voxels are judged by the
    one rule for emission images, :func:`dosimetry.voxel.calibration.screen_activity` (NaN outside
    every ROI is a masked reconstruction; NaN inside an ROI and infinities are refused there).
    """
    if finite and data.dtype.kind == "f":
        bad = np.size(data) - int(np.count_nonzero(np.isfinite(data)))
        if bad:
            raise InputError(field, f"{bad:,} voxel(s) hold NaN or infinite values; an image must hold finite numbers")
    return data


def read_nrrd(path, *, unit="dimensionless", field: str | None = None, finite: bool = True) -> Volume:
    """Read a 3-D NRRD image into a Volume (LPS).

    The header is checked against the bounds of a patient image (:mod:`.bounds`) before the voxels
    are read (:mod:`.nrrd_file`).

    Parameters
    ----------
    path : path-like
        ``.nrrd`` or ``.nhdr`` file.
    unit : str or pint.Unit
        Unit of the voxel values (NRRD has no standard unit field; the caller declares it).
    field : str, optional
        Name used in error messages (default: the path).

    Raises
    ------
    InputError
        Unreadable, truncated or corrupt file, not 3-D, no patient space, sheared axes, units
        other than mm, sizes / spacing / origin outside a patient's bounds, NaN or infinite values.
    """
    field = field or os.fspath(path)
    h = read_nrrd_header(path, field)
    if len(h.sizes) != 3:
        raise InputError(field, f"expected a 3-D image, got {len(h.sizes)} dimensions (a segmentation? use --segmentation)")
    data = _finite(read_nrrd_data(h, field), field, finite)
    return _volume_from_axes(data, h.vectors, h.origin, field, unit)


# --- NIfTI -------------------------------------------------------------------------------------
def _nibabel():
    try:
        import nibabel
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise InputError("nifti", "reading NIfTI needs the package nibabel (pip install nibabel)") from exc
    return nibabel


def read_nifti(path, *, unit="dimensionless", field: str | None = None, finite: bool = True) -> Volume:
    """Read a 3-D NIfTI image into a Volume (LPS); see :mod:`.nifti_file` for the header checks and geometry."""
    field = field or os.fspath(path)
    data, lps = read_nifti_raw(path, field)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(field, f"expected a 3-D image, got shape {data.shape}")
    return _volume_from_axes(_finite(np.asarray(data), field, finite), lps[:3, :3].T, lps[:3, 3], field, unit)


def read_volume(path, *, unit="dimensionless", field: str | None = None, finite: bool = True) -> Volume:
    """Read an NRRD or NIfTI image (by its extension); ``finite=False`` keeps NaN / inf voxels for the caller's rule."""
    if is_nrrd(path):
        return read_nrrd(path, unit=unit, field=field, finite=finite)
    if is_nifti(path):
        return read_nifti(path, unit=unit, field=field, finite=finite)
    raise InputError(field or os.fspath(path), "not an NRRD (.nrrd, .nhdr) or NIfTI (.nii, .nii.gz) file")


# --- writing -----------------------------------------------------------------------------------
def _file_axes(volume: Volume):
    """(array indexed (i, j, k), LPS step vectors of i, j, k as rows, origin)."""
    arr = np.transpose(np.asarray(volume.array), (2, 1, 0))
    vec = np.stack([volume.direction[:, a] * volume.spacing_mm[a] for a in (2, 1, 0)])
    return arr, vec, np.asarray(volume.origin_mm, dtype=float)


def write_volume(volume: Volume, path, *, overwrite: bool = False, description: str = "") -> Path:
    """Write a Volume as NRRD (``.nrrd``, space LPS) or NIfTI (``.nii`` / ``.nii.gz``, sform and qform code 1 = scanner).

    The values are written as float32 in the Volume's unit (the caller names it in ``description``,
    NRRD ``content`` or NIfTI ``descrip``; NRRD also gets a ``value_unit:=...`` key-value pair). Atomic: written to a
    temporary file and renamed into place; an existing file is refused unless ``overwrite``.
    """
    out = Path(path)
    if out.exists() and not overwrite:
        raise InputError(os.fspath(out), "already exists; choose another name")
    arr, vec, origin = _file_axes(volume)
    arr = np.asarray(arr, dtype=np.float32)
    import tempfile

    suffix = ".nii.gz" if out.name.lower().endswith(".nii.gz") else out.suffix
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        t = Path(tmp) / ("out" + suffix)
        if is_nrrd(out):
            header = {"space": "left-posterior-superior", "space directions": vec, "space origin": origin,
                      "kinds": ["domain"] * 3, "encoding": "gzip", "content": description or "y90-dosimetry",
                      # a key-value pair: the NRRD field "units" names the units of the axes, not of the values
                      "value_unit": f"{volume.unit:~P}"}
            _nrrd().write(os.fspath(t), arr, header, index_order="F")
        elif is_nifti(out):
            nib = _nibabel()
            affine = np.eye(4)
            affine[:3, :3] = _RAS_TO_LPS @ vec.T
            affine[:3, 3] = _RAS_TO_LPS @ origin
            img = nib.Nifti1Image(arr, affine)
            img.header.set_xyzt_units("mm")
            img.header.set_sform(affine, code=1)
            img.header.set_qform(affine, code=1)
            img.header["descrip"] = (description or f"y90-dosimetry [{volume.unit:~P}]")[:79].encode("ascii", "replace")
            nib.save(img, os.fspath(t))
        else:
            raise InputError(os.fspath(out), "the file name must end in .nrrd, .nii or .nii.gz")
        return write_atomic(out, t.read_bytes(), field=os.fspath(out))
