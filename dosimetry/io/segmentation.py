"""Segmentations beside the RT Structure Set: Slicer ``.seg.nrrd``, label maps (NRRD / NIfTI with a
name table) and DICOM SEG (binary and fractional).

:func:`read_segmentation` reads any of them (or an RTSTRUCT) into a :class:`Segmentation`:
segment names and, for each, a mask on the segmentation's own grid. :meth:`Segmentation.mask`
puts a segment on any target grid (the activity image): as **occupancy fractions** in [0, 1]
when the grids differ (the mean of the source mask over n x n x n sub-points of each target
voxel, n = ceil(target spacing / source spacing) per axis, at most 8: the same idea as the
fractional RTSTRUCT masks and ``resample_to(kind="fraction")``), never a nearest-neighbour guess.
All segments of one label layer are averaged in one pass (a helper of its own here:
``_label_fractions``; the lead may unify it with ``dosimetry.voxel.resample``).

Formats
-------
* **Slicer .seg.nrrd** (3D Slicer "Segmentation" NRRD, slicer.readthedocs.io, "Segmentation
  file format"): a 3-D (one layer) or 4-D (layers x i x j x k) label array; per segment the
  header keys ``SegmentN_Name``, ``SegmentN_Layer`` (default 0) and ``SegmentN_LabelValue``
  (default N + 1). Segments on different layers may overlap.
* **Label map**: a 3-D integer NRRD or NIfTI; 0 is background, every other value present must
  be named in the table (``{value: name}``, or a file: Slicer colour table lines
  ``value name [r g b a]``, ``#`` comments, or a JSON object ``{"1": "Liver"}``).
* **DICOM SEG** (PS3.3 A.51, C.8.20): SegmentSequence (SegmentNumber, SegmentLabel), frames
  located by PerFrameFunctionalGroupsSequence (SegmentIdentificationSequence,
  PlanePositionSequence) on the shared PlaneOrientation / PixelMeasures; BINARY (1 bit) or
  FRACTIONAL (value / MaximumFractionalValue; PROBABILITY is refused: not an occupancy).
* **RTSTRUCT**: delegated to :mod:`.rtstruct` (fractional rasterization).

A segmentation whose grid does not overlap the target image is refused; a segment of which more
than 1 % lies outside the target gives a warning, more than 50 % is refused.

Every file is checked before it is read (:mod:`.bounds`, :mod:`.reading`): a regular file, a header
within a patient image's bounds; segment and label names are compared in Unicode NFC (:mod:`.names`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.ndimage
from pydicom.dataset import Dataset

from ..errors import InputError
from ..units import ureg
from ..voxel.geometry import Volume
from .dicom_elements import DicomError, check_spacing, count, floats, identity_of, orientation, pixel_array, read_dataset, text
from .rtstruct import StructureSet, read_rtstruct, roi_mask
from .bounds import BOUNDS, check_array, check_grid
from .names import find_name, name_key
from .nifti_file import read_nifti_raw
from .nrrd_file import read_nrrd_raw
from .reading import read_text, regular_file
from .volumes import _volume_from_axes, is_nifti, is_nrrd

__all__ = ["Segment", "Segmentation", "read_segmentation", "read_label_table", "SEG_SOP_CLASS", "OUTSIDE_WARNING", "OUTSIDE_REFUSAL"]

#: Segmentation Storage SOP Class UID (PS3.4 B.5).
SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
#: Share of a segment's volume outside the target grid above which a warning is given (project choice).
OUTSIDE_WARNING = 0.01
#: Share above which it is refused: an image that misses most of an ROI (a one-voxel image, a field
#: of view that cuts off the liver) would report the dose of the part it sees as the ROI's (project choice).
OUTSIDE_REFUSAL = 0.50
_MAX_SUB = 8


@dataclass(frozen=True)
class Segment:
    """One named segment: ``layer == value`` (label layers) or ``fractions`` (a mask Volume in [0, 1])."""

    name: str
    layer: int = 0
    value: int = 1
    fractions: Volume | None = None


@dataclass(frozen=True)
class Segmentation:
    """Named segments on the grid(s) they were drawn on.

    Attributes
    ----------
    path : str
    kind : str
        ``"seg.nrrd"``, ``"labelmap"``, ``"dicom-seg"`` or ``"rtstruct"``.
    segments : tuple of Segment
    layers : tuple of Volume
        Integer label layers (empty for DICOM SEG and RTSTRUCT).
    identity : DicomIdentity or None
        Patient, study, frame of reference (DICOM SEG and RTSTRUCT only).
    warnings : tuple of str
    """

    path: str
    kind: str
    segments: tuple
    layers: tuple = ()
    identity: object = None
    warnings: tuple = ()
    structure_set: StructureSet | None = dc_field(default=None, repr=False)

    @property
    def names(self) -> tuple:
        return tuple(s.name for s in self.segments)

    def segment(self, name: str) -> Segment:
        """The segment called ``name``: exact match, else equal in Unicode NFC, else equal ignoring case
        (:func:`~dosimetry.io.names.find_name`); more than one match is refused."""
        hits = find_name(name, self.names)
        if len(hits) > 1:
            raise InputError("segmentation", f"{len(hits)} segments of {self.path} match {name!r} ({', '.join(repr(self.names[i]) for i in hits)}); rename them so that one is meant")
        if not hits:
            raise InputError("segmentation", f"no segment named {name!r} in {self.path}; segments: {', '.join(self.names)}")
        return self.segments[hits[0]]

    def masks(self, names, target: Volume, *, exact_as_bool: bool = False) -> tuple[dict, tuple]:
        """({name as asked: fractional mask Volume on ``target``}, warnings) for the named segments.

        ``exact_as_bool``: a label map on ``target``'s own grid gives boolean masks (its occupancies
        are exactly 0 or 1) instead of float32: 1 byte a voxel on a CT grid, not 4 (issue 22)."""
        segs = [(n, self.segment(n)) for n in names]
        out, notes = {}, []
        if self.kind == "rtstruct":
            assert self.structure_set is not None  # read_segmentation keeps it for every RTSTRUCT
            for n, s in segs:
                out[n] = roi_mask(self.structure_set, s.name, target)
            return out, ()
        by_layer: dict = {}
        for n, s in segs:
            if s.fractions is not None:
                _check_overlap(s.fractions, target, self.path)
                src = np.asarray(s.fractions.array, dtype=np.float64)
                frac = _fractions(src, s.fractions, target)
                out[n] = target.with_array(frac.astype(np.float32), "dimensionless")
                notes += _outside_note(s.name, src.sum() * s.fractions.voxel_volume.magnitude, frac.sum() * target.voxel_volume.magnitude)
            else:
                by_layer.setdefault(s.layer, []).append((n, s))
        for layer, members in by_layer.items():
            lab = self.layers[layer]
            _check_overlap(lab, target, self.path)
            values = [s.value for _, s in members]
            fracs = _label_fractions(np.asarray(lab.array), values, lab, target)
            for (n, s), frac in zip(members, fracs):
                exact = exact_as_bool and frac.dtype == bool
                out[n] = target.with_array(frac if exact else frac.astype(np.float32), "dimensionless")
                src_ml = float(np.count_nonzero(np.asarray(lab.array) == s.value)) * lab.voxel_volume.magnitude
                notes += _outside_note(s.name, src_ml, frac.sum() * target.voxel_volume.magnitude)
        for n, m in out.items():
            if not np.any(np.asarray(m.array) > 0):
                raise InputError("segmentation", f"segment {n!r} of {self.path} covers no voxel of the image")
        return out, tuple(notes)

    def mask(self, name: str, target: Volume) -> Volume:
        """One segment as a fractional mask on ``target``'s grid."""
        return self.masks([name], target)[0][name]


# --- resampling onto the target grid ------------------------------------------------------------
def _index_map(source: Volume, target: Volume):
    m = np.linalg.inv(source.affine) @ target.affine
    return m[:3, :3], m[:3, 3]


def _sub_offsets(source: Volume, target: Volume) -> np.ndarray:
    """Sub-point offsets (target voxel units) sampling each target voxel; n = max(4, ceil(2 target / source spacing))."""
    inv = np.linalg.inv(source.affine)[:3, :3]
    n = []
    for a in range(3):
        step = np.abs(inv @ (target.direction[:, a] * target.spacing_mm[a]))
        n.append(min(_MAX_SUB, max(4, int(math.ceil(2 * float(step.max()) - 1e-9)))))
    axes = [(np.arange(k) + 0.5) / k - 0.5 for k in n]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def _overlap_1d(n_src: int, start: float, d_src: float, n_tgt: int, d_tgt: float):
    """Sparse (n_tgt x n_src) matrix: length of source voxel i inside target voxel j / d_tgt.

    Source voxel i spans ``start + i d_src -+ d_src / 2`` and target voxel j ``j d_tgt -+ d_tgt / 2``
    along one axis (mm, target coordinates).
    """
    import scipy.sparse

    lo_s = start + np.arange(n_src) * d_src - d_src / 2
    hi_s = lo_s + d_src
    rows, cols, vals = [], [], []
    j_lo = np.floor((lo_s + d_tgt / 2) / d_tgt).astype(int)
    j_hi = np.floor((hi_s + d_tgt / 2) / d_tgt).astype(int)
    for off in range(int((j_hi - j_lo).max(initial=0)) + 1):
        j = j_lo + off
        lo_t, hi_t = j * d_tgt - d_tgt / 2, j * d_tgt + d_tgt / 2
        ov = np.minimum(hi_s, hi_t) - np.maximum(lo_s, lo_t)
        ok = (ov > 0) & (j >= 0) & (j < n_tgt)
        rows.append(j[ok]); cols.append(np.flatnonzero(ok)); vals.append(ov[ok] / d_tgt)
    return scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_tgt, n_src))


def _flipped_to(arr: np.ndarray, source: Volume, target: Volume):
    """(array, Volume) of the source with its axes reversed where they point against the target's,
    or None when the axes are not the same lines (oblique or permuted: no exact overlap path).

    A NIfTI label map in RAS order (dcm2niix, TotalSegmentator) often runs its rows opposite to the
    DICOM image: reversing an axis keeps every voxel box where it is.
    """
    dots = np.einsum("ia,ia->a", source.direction, target.direction)
    if not np.allclose(np.abs(dots), 1.0, atol=1e-6):
        return None
    origin = np.asarray(source.origin_mm, dtype=float)
    for a in np.flatnonzero(dots < 0):
        arr = np.flip(arr, axis=int(a))
        origin = origin + source.direction[:, a] * source.spacing_mm[a] * (source.shape[a] - 1)
    return arr, Volume(np.empty((1, 1, 1)), source.spacing_mm, tuple(origin), target.direction)


def _box_fractions(mask: np.ndarray, source: Volume, target: Volume) -> np.ndarray:
    """Exact occupancy of each target voxel by a mask of source-voxel boxes (grids with the same axes).

    The overlap of two boxes with parallel faces is the product of three 1-D overlaps, so the
    fraction is ``W0 (x) W1 (x) W2`` applied to the mask (each W from :func:`_overlap_1d`).
    Only the mask's bounding box is used.
    """
    nz = [np.flatnonzero(np.any(mask, axis=tuple(b for b in range(3) if b != a))) for a in range(3)]
    if any(len(x) == 0 for x in nz):
        return np.zeros(target.shape)
    lo = [int(x[0]) for x in nz]
    hi = [int(x[-1]) + 1 for x in nz]
    arr = np.asarray(mask[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], dtype=np.float64)
    shift = np.asarray(source.origin_mm) - np.asarray(target.origin_mm)
    for a in range(3):
        start = float(shift @ target.direction[:, a]) + lo[a] * source.spacing_mm[a]
        w = _overlap_1d(arr.shape[a], start, source.spacing_mm[a], target.shape[a], target.spacing_mm[a])
        moved = np.moveaxis(arr, a, 0)
        out = w @ moved.reshape(moved.shape[0], -1)
        arr = np.moveaxis(np.asarray(out).reshape((target.shape[a],) + moved.shape[1:]), 0, a)
    return arr


def _label_fractions(labels: np.ndarray, values, source: Volume, target: Volume) -> list:
    """Occupancy of each label value in every target voxel.

    Grids with the same axes (up to reversed directions): exact box overlap (:func:`_box_fractions`). Otherwise (oblique to
    each other): the mean of the nearest source label over n x n x n sub-points per target voxel,
    n = max(4, ceil(2 x target / source spacing)) per axis, at most 8.
    """
    if source.same_grid(target, tol_mm=1e-6):
        return [labels == v for v in values]  # exact: booleans (the caller makes them float32 where it needs)
    flipped = _flipped_to(labels, source, target)
    if flipped is not None:
        arr, src = flipped
        return [np.clip(_box_fractions(arr == v, src, target), 0.0, 1.0) for v in values]
    matrix, offset = _index_map(source, target)
    subs = _sub_offsets(source, target)
    acc = [np.zeros(target.shape, np.float64) for _ in values]
    tmp = np.empty(target.shape, dtype=labels.dtype)
    for d in subs:
        scipy.ndimage.affine_transform(labels, matrix, offset=offset + matrix @ d, output_shape=target.shape, output=tmp, order=0, mode="constant", cval=0)
        for a, v in zip(acc, values):
            a += tmp == v
    return [a / len(subs) for a in acc]


def _fractions(src: np.ndarray, source: Volume, target: Volume) -> np.ndarray:
    """Mean of a fractional mask over each target voxel (exact box overlap or sub-points, as labels)."""
    if source.same_grid(target, tol_mm=1e-6):
        return src.copy()
    flipped = _flipped_to(src, source, target)
    if flipped is not None:
        return np.clip(_box_fractions(flipped[0], flipped[1], target), 0.0, 1.0)
    matrix, offset = _index_map(source, target)
    acc = np.zeros(target.shape, np.float64)
    subs = _sub_offsets(source, target)
    for d in subs:
        acc += scipy.ndimage.affine_transform(src, matrix, offset=offset + matrix @ d, output_shape=target.shape, order=0, mode="constant", cval=0.0)
    return np.clip(acc / len(subs), 0.0, 1.0)


def _box(vol: Volume):
    ext = [(-0.5, n - 0.5) for n in vol.shape]
    corners = np.array([[a, b, c] for a in ext[0] for b in ext[1] for c in ext[2]])
    return corners


def _check_overlap(source: Volume, target: Volume, path: str) -> None:
    """Refuse a segmentation grid that does not overlap the target grid at all."""
    idx = target.world_to_index(source.index_to_world(_box(source)))
    lo, hi = idx.min(axis=0), idx.max(axis=0)
    top = np.asarray(target.shape) - 0.5
    if np.any(hi < -0.5) or np.any(lo > top):
        raise InputError(
            "segmentation",
            f"the grid of {path} does not overlap the image (segmentation box {np.round(source.index_to_world(_box(source)).min(0), 1).tolist()} to "
            f"{np.round(source.index_to_world(_box(source)).max(0), 1).tolist()} mm, LPS); check that both are in one patient space",
        )


def _outside_note(name: str, source_ml: float, target_ml: float) -> list:
    """A warning when more than OUTSIDE_WARNING of a segment lies off the target grid; refused above OUTSIDE_REFUSAL."""
    if source_ml > 0 and 1 - target_ml / source_ml > OUTSIDE_REFUSAL:
        raise InputError(
            "segmentation",
            f"segment {name!r}: {1 - target_ml / source_ml:.1%} of its {source_ml:.1f} mL lies outside the image grid; "
            f"the image does not cover it (at most {OUTSIDE_REFUSAL:.0%} may lie outside)",
            allowed=f"<= {OUTSIDE_REFUSAL:.0%} outside the image",
        )
    if source_ml > 0 and 1 - target_ml / source_ml > OUTSIDE_WARNING:
        return [f"segment {name!r}: {1 - target_ml / source_ml:.1%} of its {source_ml:.1f} mL lies outside the image grid"]
    return []


# --- label tables ------------------------------------------------------------------------------
def read_label_table(table) -> dict:
    """``{value: name}`` from a dict, a JSON file or a Slicer colour table (``value name r g b a``).

    A file is read as UTF-8 text of at most ``BOUNDS["table_bytes"]`` (a regular file only);
    names are kept in Unicode NFC (:mod:`.names`).
    """
    items: Iterable[tuple[Any, Any]]
    if isinstance(table, dict):
        items = table.items()
    else:
        p = Path(table)
        txt = read_text(p, "labels", limit=BOUNDS["table_bytes"].value, what="label name table")
        if p.suffix.lower() == ".json":
            try:
                items = json.loads(txt).items()
            except (ValueError, AttributeError, RecursionError) as exc:
                raise InputError("labels", f"{p} is not a JSON object {{\"1\": \"Liver\", ...}}") from exc
        else:
            pairs: list[tuple[str, str]] = []
            for n, line in enumerate(txt.splitlines(), 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split()
                if len(parts) < 2:
                    raise InputError("labels", f"{p} line {n}: expected 'value name [r g b a]'")
                pairs.append((parts[0], parts[1]))
            items = pairs
    out = {}
    for k, v in items:
        try:
            key = int(k)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError("labels", f"label value {str(k)[:20]!r} is not an integer") from exc
        if not 0 < key <= _MAX_LABEL or not isinstance(v, str) or not v.strip() or not v.strip().isprintable():
            raise InputError("labels", f"label {str(k)[:20]!r}: values are integers 1 to {_MAX_LABEL} with a non-empty printable name (0 is background)")
        out[key] = name_key(v)
    if len(set(out.values())) != len(out):
        raise InputError("labels", "two label values share one name")
    return out


#: Largest label value of a name table (a label map holds at most 32-bit labels; Slicer uses 16 bits).
_MAX_LABEL = 2**31 - 1


# --- readers -----------------------------------------------------------------------------------
def _integer_labels(arr: np.ndarray, field: str) -> np.ndarray:
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InputError(field, "a label map holds integer values; this one has fractions")
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise InputError(field, f"a label map holds integers, got {arr.dtype}")
    if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
        raise InputError(field, "negative label values")
    return arr


def _read_seg_nrrd(path, field: str) -> Segmentation:
    data, h = read_nrrd_raw(path, field)
    header, vectors, origin, spatial = h.fields, h.vectors, h.origin, h.spatial
    data = np.asarray(data)
    if data.ndim == 3:
        layers_fast = [data]
    elif data.ndim == 4 and len(spatial) == 3:
        list_axis = [a for a in range(4) if a not in spatial][0]
        layers_fast = [data[(slice(None),) * list_axis + (n,)] for n in range(data.shape[list_axis])]  # views, no gather
    else:
        raise InputError(field, f"expected a 3-D or 4-D segmentation, got {data.ndim} dimensions")
    layers = tuple(_volume_from_axes(_integer_labels(a, field), vectors, origin, field, "dimensionless") for a in layers_fast)
    segs = []
    n = 0
    while f"Segment{n}_ID" in header or f"Segment{n}_Name" in header:
        name = str(header.get(f"Segment{n}_Name", header.get(f"Segment{n}_ID"))).strip()
        try:
            layer = int(header.get(f"Segment{n}_Layer", 0))
            value = int(header.get(f"Segment{n}_LabelValue", n + 1))
        except ValueError as exc:
            raise InputError(f"{field}: Segment{n}", "Layer and LabelValue must be integers") from exc
        if not 0 <= layer < len(layers):
            raise InputError(f"{field}: Segment{n}_Layer", f"{layer} is not one of the {len(layers)} layers")
        segs.append(Segment(name, layer, value))
        n += 1
    if not segs:
        raise InputError(field, "no SegmentN_Name keys: not a Slicer segmentation (for a label map give its name table)")
    _unique(segs, field)
    warnings = []
    for s in segs:
        if not np.any(np.asarray(layers[s.layer].array) == s.value):
            warnings.append(f"segment {s.name!r} of {path} is empty")
    return Segmentation(os.fspath(path), "seg.nrrd", tuple(segs), layers, None, tuple(warnings))


def _unique(segs, field):
    names = [name_key(s.name) for s in segs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(field, f"segment names must be unique; repeated: {', '.join(dup)}")


def _read_labelmap(path, table, field: str) -> Segmentation:
    names = read_label_table(table)
    if is_nrrd(path):
        data, h = read_nrrd_raw(path, field)
        if np.asarray(data).ndim != 3:
            raise InputError(field, "a label map is 3-D")
        vol = _volume_from_axes(_integer_labels(np.asarray(data), field), h.vectors, h.origin, field, "dimensionless")
    else:
        data, lps = read_nifti_raw(path, field)
        data = np.asarray(data)
        if data.ndim == 4 and data.shape[3] == 1:
            data = data[..., 0]
        if data.ndim != 3:
            raise InputError(field, "a label map is 3-D")
        vol = _volume_from_axes(_integer_labels(data, field), lps[:3, :3].T, lps[:3, 3], field, "dimensionless")
    present = set(np.unique(np.asarray(vol.array)).tolist()) - {0}
    missing = sorted(present - set(names))
    if missing:
        raise InputError(f"{field}: labels", f"label values {missing} are in the image but not in the name table (named: {sorted(names)})")
    segs = tuple(Segment(n, 0, v) for v, n in sorted(names.items()))
    warnings = tuple(f"label {v} ({n!r}) is named but absent from {path}" for v, n in sorted(names.items()) if v not in present)
    return Segmentation(os.fspath(path), "labelmap", segs, (vol,), None, warnings)


def _seg_scale(ds, field: str) -> tuple[str, float]:
    """(SegmentationType, factor from stored value to occupancy) of a DICOM SEG (PS3.3 C.8.20.2)."""
    seg_type = text(ds, "SegmentationType").upper()
    if seg_type not in ("BINARY", "FRACTIONAL"):
        raise DicomError(f"{field}: SegmentationType", f"{seg_type[:20]!r}; allowed BINARY or FRACTIONAL")
    if seg_type == "BINARY":
        return seg_type, 1.0
    if text(ds, "SegmentationFractionalType").upper() != "OCCUPANCY":
        raise DicomError(f"{field}: SegmentationFractionalType", "only OCCUPANCY fractions are volumes; PROBABILITY is not an occupancy")
    if not ds.get("MaximumFractionalValue"):
        raise DicomError(f"{field}: MaximumFractionalValue", "missing or zero")
    return seg_type, 1.0 / count(ds, "MaximumFractionalValue", field, maximum=255)


def _seg_frames(ds, field: str):
    """(orientation group, pixel measures group, segment number and position of every frame, {number: label})."""
    try:
        shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else Dataset()
        per_frame = ds.PerFrameFunctionalGroupsSequence
        if not len(per_frame):
            raise DicomError(f"{field}: PerFrameFunctionalGroupsSequence", "no frames")

        def group(name, frame=None):  # a functional group of the frame, else the shared one
            src = frame if frame is not None and name in frame else shared if name in shared else per_frame[0]
            if name not in src:
                raise DicomError(f"{field}: {name}", "missing from the shared and per-frame functional groups")
            return src.get(name)[0]

        for f in per_frame[1:]:
            for name in ("PlaneOrientationSequence", "PixelMeasuresSequence"):
                if name in f and f.get(name)[0] != group(name):
                    raise DicomError(f"{field}: {name}", "differs between frames; one grid is required")
        numbers = [int(group("SegmentIdentificationSequence", f).ReferencedSegmentNumber) for f in per_frame]
        positions = np.array([floats(group("PlanePositionSequence", f), "ImagePositionPatient", field, 3) for f in per_frame])
        labels = {int(s.SegmentNumber): name_key(str(s.SegmentLabel)) for s in ds.SegmentSequence}
        return group("PlaneOrientationSequence"), group("PixelMeasuresSequence"), numbers, positions, labels
    except DicomError:
        raise
    except Exception as exc:  # pydicom raises many kinds (missing items, bad values)
        raise DicomError(field, f"not a readable DICOM SEG (shared / per-frame functional groups, SegmentSequence): {type(exc).__name__}: {' '.join(str(exc).split())[:160]}") from exc


def _slice_grid(positions: np.ndarray, normal: np.ndarray, measures, field: str):
    """(slice index of every frame, number of slices, slice step [mm], origin) of frames stacked along ``normal``."""
    d = positions @ normal
    inplane = positions - np.outer(d, normal)
    if np.abs(inplane - inplane[0]).max() > 0.01:
        raise DicomError(f"{field}: ImagePositionPatient", "frames are not stacked along the normal of one plane")
    uniq = np.unique(np.round(d, 3))
    given = floats(measures, "SpacingBetweenSlices", field, 1, required=False)
    thickness = floats(measures, "SliceThickness", field, 1, required=False)
    step = float(given[0]) if given is not None and given[0] > 0 else float(np.min(np.diff(uniq))) if len(uniq) > 1 else float(thickness[0]) if thickness is not None else 0.0
    if not step > 0:
        raise DicomError(f"{field}: SpacingBetweenSlices", "cannot find the slice spacing")
    check_spacing([step], "SEG", f"{field}: SpacingBetweenSlices", "slice")
    pos = (d - uniq[0]) / step
    extent = float(pos.max()) * step
    if extent > BOUNDS["extent_mm"].value:
        raise DicomError(f"{field}: ImagePositionPatient", f"the frames span {extent:.0f} mm; a patient image spans at most {BOUNDS['extent_mm'].value:g} mm")
    if np.abs(pos - np.round(pos)).max() > 0.01:
        raise DicomError(f"{field}: ImagePositionPatient", f"frame positions are not on a {step:g} mm slice grid")
    pos = np.round(pos).astype(int)
    return pos, int(pos.max()) + 1, step, inplane[0] + uniq[0] * normal


def _read_dicom_seg(ds, path, field: str) -> Segmentation:
    """Segments of a DICOM SEG as fraction Volumes, each on the slab of slices its frames cover.

    Checked before the pixels are decoded: Rows, Columns, NumberOfFrames (the frames' bytes),
    ImageOrientationPatient (two orthogonal unit vectors), PixelSpacing and the slice step (plausible
    spacings, ``SEG`` rows of ``VOXEL_SPACING_MM``), the span of the frames and the origin
    (``BOUNDS``), and that every frame names a segment of the SegmentSequence.
    """
    seg_type, scale = _seg_scale(ds, field)
    po, measures, numbers, positions, labels = _seg_frames(ds, field)
    rows, cols = count(ds, "Rows", field), count(ds, "Columns", field)
    nframes = count(ds, "NumberOfFrames", field, default=len(numbers), maximum=int(BOUNDS["axis_voxels"].value) * 64)
    if nframes != len(numbers):
        raise DicomError(f"{field}: NumberOfFrames", f"{nframes}, but the PerFrameFunctionalGroupsSequence has {len(numbers)} items")
    unknown = sorted(set(numbers) - set(labels))
    if unknown:
        raise DicomError(f"{field}: ReferencedSegmentNumber", f"frames name segment(s) {unknown[:5]} that the SegmentSequence does not define")
    row, col, normal = orientation(po, field)
    ps = floats(measures, "PixelSpacing", field, 2)
    check_spacing(ps, "SEG", f"{field}: PixelSpacing")
    check_array((nframes, rows, cols), np.float32, field, "the SEG frames")
    pos, nk, step, origin = _slice_grid(positions, normal, measures, field)
    check_grid(np.stack([normal * step, col * ps[0], row * ps[1]]), origin, (nk, rows, cols), field)
    pixels = pixel_array(ds, path)  # checks the decoded size against NumberOfFrames x Rows x Columns
    direction = np.column_stack([normal, col, row])
    segs, warnings = [], []
    numbers = np.asarray(numbers)
    for number, name in sorted(labels.items()):
        mine = np.flatnonzero(numbers == number)
        k0, k1 = (int(pos[mine].min()), int(pos[mine].max())) if mine.size else (0, 0)
        arr = np.zeros((k1 - k0 + 1, rows, cols), np.float32)
        for f in mine:
            value = pixels[f] * scale if seg_type == "FRACTIONAL" else (pixels[f] > 0)
            np.maximum(arr[pos[f] - k0], value, out=arr[pos[f] - k0])
        if not mine.size:
            warnings.append(f"segment {name!r} of {path} has no frame (empty)")
        vol = Volume(np.clip(arr, 0, 1), (step, ps[0], ps[1]), tuple(origin + k0 * step * normal), direction, ureg.dimensionless)
        segs.append(Segment(name, fractions=vol))
    _unique(segs, field)
    return Segmentation(os.fspath(path), "dicom-seg", tuple(segs), (), identity_of(ds, path), tuple(warnings))


def read_segmentation(path, *, labels=None) -> Segmentation:
    """Read an RT Structure Set, a DICOM SEG, a Slicer ``.seg.nrrd`` or a label map (with ``labels``).

    Parameters
    ----------
    path : path-like
        The segmentation file.
    labels : dict or path-like, optional
        Name table of a label map (``{value: name}``, a JSON object or a Slicer colour table).
        Required for a label map; an NRRD with ``SegmentN_Name`` keys needs none.

    Raises
    ------
    InputError
        Unreadable file, unknown kind, label value without a name, duplicate names.
    """
    field = os.fspath(path)
    regular_file(path, field, what="segmentation file")
    if is_nrrd(path):
        if labels is None:
            return _read_seg_nrrd(path, field)
        return _read_labelmap(path, labels, field)
    if is_nifti(path):
        if labels is None:
            raise InputError(f"{field}: labels", "a NIfTI label map needs its name table (--labels FILE or [imaging] labels)")
        return _read_labelmap(path, labels, field)
    if labels is not None:
        raise InputError("labels", f"a name table is for a label map (NRRD / NIfTI); {path} is DICOM and names its own segments")
    ds = read_dataset(path)
    modality = text(ds, "Modality").upper()
    if modality == "SEG" or text(ds, "SOPClassUID") == SEG_SOP_CLASS:
        return _read_dicom_seg(ds, path, field)
    if modality == "RTSTRUCT":
        rs = read_rtstruct(path)
        return Segmentation(rs.path, "rtstruct", tuple(Segment(n) for n in rs.names), (), rs.identity, rs.warnings, rs)
    raise DicomError(f"{field}: Modality", f"is {modality or 'empty'}; a segmentation is an RTSTRUCT, a SEG, a .seg.nrrd or a label map")
