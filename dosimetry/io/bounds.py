"""Plausible bounds of a patient image, checked on a file's header before a voxel is read: ONE table.

Every reader of an image or a segmentation (NRRD and ``.nhdr``, NIfTI, Slicer ``.seg.nrrd``, label
maps and their name tables, DICOM SEG) checks the sizes, spacing, directions, origin, units, data
type and the bytes its header promises against :data:`BOUNDS` before it allocates the array, and
refuses a file beyond them by name with the figure it would need (:func:`check_grid`,
:func:`check_array`). The same table bounds the memory of a dose computation
(:func:`check_dose_memory`) and the DICOM readers' voxel spacings (:data:`VOXEL_SPACING_MM`).
``docs/slicer-ai-inputs.md`` lists the table.

The bounds are a patient's, not a format's: a whole-body CT at 0.5 mm, a SPECT, a PET, a
segmentation on any of their grids fit with room to spare; a unit slip (metres written as mm), a
corrupt header or a decompression bomb does not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, OutOfRangeError

__all__ = [
    "Bound",
    "BOUNDS",
    "VOXEL_SPACING_MM",
    "SPACING_MM",
    "DTYPES",
    "check_grid",
    "check_array",
    "check_dose_memory",
    "dose_memory_bound",
    "nbytes_text",
]


@dataclass(frozen=True)
class Bound:
    """One bound: its value, the unit it is stated in, and why it is where it is."""

    value: float
    unit: str
    reason: str


_MiB = 1 << 20
_GiB = 1 << 30

#: The plausible bounds of a patient image file (name -> Bound). The readers use nothing else.
BOUNDS = {
    "axis_voxels": Bound(4096, "voxels", "samples along one axis: a 0.5 mm whole-body CT (1.9 m) has 3800 slices; 512-1024 in-plane (scanner manuals)"),
    "voxels": Bound(512 * 512 * 1024, "voxels", "samples of one image: 512 x 512 x 1024 (a whole-body CT at 1-2 mm slices; SPECT 128^3 and PET 256^2 x 400 are far below)"),
    "image_bytes": Bound(_GiB, "bytes", "the array the header promises: 512 x 512 x 1024 at 4 bytes (float32); int16 CTs take half"),
    "header_bytes": Bound(8 * _MiB, "bytes", "an NRRD header or NIfTI header with extensions; a Slicer .seg.nrrd of 300 segments has about 100 KB"),
    "file_bytes": Bound(_GiB + 16 * _MiB, "bytes", "a file on disk: the largest image plus its header (gzip can grow incompressible data by 0.03 %)"),
    "table_bytes": Bound(_MiB, "bytes", "a label name table (Slicer colour table or JSON): 65,535 labels of 16 characters"),
    "trailing_bytes": Bound(_MiB, "bytes", "bytes a NIfTI file may hold after its voxels (an NRRD none: its data end its file)"),
    "stream_check": Bound(128 * _MiB, "bytes", "gzip data above this size are decompressed once without being kept (length and CRC checked) before the array is allocated, so a bomb is refused in little memory"),
    "spacing_low": Bound(0.05, "mm", "smallest voxel: micro-CT of a specimen is finer, no patient image is (DICOM table VOXEL_SPACING_MM)"),
    "spacing_high": Bound(30.0, "mm", "largest voxel: thick CT slices reach 20 mm, SPECT 10 mm (DICOM table VOXEL_SPACING_MM)"),
    "extent_mm": Bound(2500.0, "mm", "field of view along one axis (voxels x spacing): a patient is shorter than 2.5 m"),
    "origin_mm": Bound(10_000.0, "mm", "|x|, |y|, |z| of the first voxel: a patient lies within a few metres of the scanner's isocentre"),
    "dose_memory": Bound(8 * _GiB, "bytes", "memory a dose computation may take (dosimetry.voxel.memory estimate): a 16 GB workstation, and never more than 3/4 of this machine's memory"),
}

#: Plausible voxel spacing [mm] of a DICOM image per modality and direction ("row" for
#: PixelSpacing, "slice" between slices), (low, high). Clinical CT: 0.2-1 mm in-plane, 0.5-10 mm
#: slices (single thick slices up to 20 mm exist); SPECT 2-10 mm; PET 2-5 mm; planning-system dose
#: grids 1-5 mm (scanner and TPS manuals). A spacing outside is a slip (a factor 10, a wrong unit)
#: that would scale every voxel volume, hence every activity concentration and dose. Their
#: envelope is :data:`SPACING_MM`, the bound of files that do not say their modality.
VOXEL_SPACING_MM = {
    ("CT", "row"): (0.05, 7.0),  # up to a CT for attenuation correction on a SPECT-like grid
    ("CT", "slice"): (0.05, 30.0),
    ("PT", "row"): (0.5, 15.0),
    ("PT", "slice"): (0.5, 15.0),
    ("NM", "row"): (0.5, 15.0),
    ("NM", "slice"): (0.5, 15.0),
    ("RTDOSE", "row"): (0.1, 15.0),
    ("RTDOSE", "slice"): (0.1, 15.0),
    ("SEG", "row"): (0.05, 30.0),
    ("SEG", "slice"): (0.05, 30.0),
}

#: Voxel spacing of NRRD / NIfTI / .seg.nrrd / DICOM SEG grids: the envelope of :data:`VOXEL_SPACING_MM`.
SPACING_MM = (BOUNDS["spacing_low"].value, BOUNDS["spacing_high"].value)

#: Voxel data types read: integers and IEEE floats. Complex, RGB, 16- and 128-bit floats and
#: bit fields are no patient image this package uses.
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")


def nbytes_text(n: float) -> str:
    """A byte count for a message: ``"3.2 GiB"``, ``"512 MiB"``, ``"812 bytes"``."""
    n = float(n)
    for unit, size in (("TiB", 1 << 40), ("GiB", _GiB), ("MiB", _MiB), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} bytes"


def _limit(name: str) -> float:
    return BOUNDS[name].value


def check_array(sizes, dtype, field: str, what: str = "the image") -> int:
    """Refuse an array a header promises before it is allocated; returns its size in bytes.

    Parameters
    ----------
    sizes : sequence of int
        Samples per axis (every axis: spatial, list of layers, time).
    dtype : numpy dtype or str
        The stored type (checked against :data:`DTYPES`).
    field : str
        The file, for the message.

    Raises
    ------
    OutOfRangeError
        An axis of 0 samples, more than ``axis_voxels`` on a spatial axis, more than ``voxels`` in
        all, or more than ``image_bytes``.
    InputError
        A data type outside :data:`DTYPES`.
    """
    dt = np.dtype(dtype)
    if dt.name not in DTYPES:
        raise InputError(field, f"voxel type {dt.name} ({dt.str}) is not read; allowed: {', '.join(DTYPES)}", allowed=", ".join(DTYPES))
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 1 for s in sizes):
        raise OutOfRangeError(field, f"sizes {sizes}: every axis needs at least one sample", allowed=">= 1 sample per axis")
    axis = int(_limit("axis_voxels"))
    if max(sizes) > axis:
        raise OutOfRangeError(field, f"sizes {sizes}: {max(sizes)} samples along one axis; a patient image has at most {axis}", allowed=f"<= {axis} per axis")
    voxels = int(np.prod(np.asarray(sizes, dtype=object)))
    nbytes = voxels * dt.itemsize
    if voxels > _limit("voxels") or nbytes > _limit("image_bytes"):
        raise OutOfRangeError(
            field,
            f"{what} would need {nbytes_text(nbytes)} ({' x '.join(map(str, sizes))} {dt.name}); refused before reading: "
            f"a patient image has at most {int(_limit('voxels')):,} voxels and {nbytes_text(_limit('image_bytes'))}",
            allowed=f"<= {nbytes_text(_limit('image_bytes'))}",
        )
    return nbytes


def check_grid(steps, origin, sizes, field: str, *, spacing=SPACING_MM) -> None:
    """Refuse a grid outside a patient's bounds: non-finite or zero steps, spacing, field of view, origin.

    Parameters
    ----------
    steps : array (3, 3)
        Rows: the vector [mm] between neighbouring samples along each spatial axis.
    origin : array (3,)
        Centre of the first sample [mm].
    sizes : sequence of 3 int
        Samples along each spatial axis.
    field : str
        The file (and header field), for the message.
    spacing : (low, high)
        Plausible spacing [mm] (default :data:`SPACING_MM`).
    """
    vec = np.asarray(steps, dtype=float)
    org = np.asarray(origin, dtype=float)
    if vec.shape != (3, 3) or not np.all(np.isfinite(vec)):
        raise InputError(field, "the voxel step vectors (directions x spacing) are missing or not finite; the geometry is unknown")
    if org.shape != (3,) or not np.all(np.isfinite(org)):
        raise InputError(field, f"the origin {np.asarray(origin).ravel()[:3].tolist()} is missing or not finite; the geometry is unknown")
    step = np.linalg.norm(vec, axis=1)
    lo, hi = spacing
    if np.any(step < lo) or np.any(step > hi):
        raise OutOfRangeError(field, f"voxel spacing {[float(f'{s:.6g}') for s in step]} mm is outside the plausible [{lo:g}, {hi:g}] mm of a patient image (a unit slip?)",
                              allowed=f"[{lo:g}, {hi:g}] mm")
    extent = step * np.asarray(sizes, dtype=float)
    if np.any(extent > _limit("extent_mm")):
        raise OutOfRangeError(field, f"the grid spans {[round(float(e)) for e in extent]} mm; a patient image spans at most {_limit('extent_mm'):g} mm per axis",
                              allowed=f"<= {_limit('extent_mm'):g} mm per axis")
    if np.any(np.abs(org) > _limit("origin_mm")):
        raise OutOfRangeError(field, f"the origin {[float(f'{x:.6g}') for x in org]} mm lies more than {_limit('origin_mm'):g} mm from the scanner's centre (a unit slip?)",
                              allowed=f"|origin| <= {_limit('origin_mm'):g} mm")


def dose_memory_bound() -> int:
    """Bytes a dose computation may take: ``BOUNDS["dose_memory"]``, at most 3/4 of the physical memory."""
    bound = int(_limit("dose_memory"))
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: the table's figure alone
        return bound
    return min(bound, int(physical * 3 // 4)) if physical > 0 else bound


def check_dose_memory(activity_shape, *, ct_shape=None, n_rois: int = 1, field: str = "imaging.activity") -> int:
    """Refuse, before the work, a dose computation whose estimated memory exceeds :func:`dose_memory_bound`.

    The estimate is :func:`dosimetry.voxel.memory.dose_memory_estimate` (one function, updated when
    the computation's footprint changes). Returns the estimate in bytes.
    """
    from ..voxel.memory import dose_memory_estimate

    need = dose_memory_estimate(activity_shape, ct_shape=ct_shape, n_rois=n_rois)
    bound = dose_memory_bound()
    if need > bound:
        shape = " x ".join(str(int(n)) for n in activity_shape)
        raise OutOfRangeError(
            field,
            f"the dose computation on this {shape} activity grid would need about {nbytes_text(need)} of memory, more than the {nbytes_text(bound)} allowed; "
            f"resample the activity image to a coarser grid (SPECT / PET resolution, e.g. 4 mm)",
            allowed=f"<= {nbytes_text(bound)} estimated",
        )
    return need
