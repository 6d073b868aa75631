"""The ROI masks of the voxel step: putting a segmentation's ROIs on a grid (partial-volume fractions
or voxel-centre booleans) and joining or subtracting masks."""

from __future__ import annotations

import numpy as np

from ..io import roi_fractions, roi_mask
from ..voxel import Volume


def is_bool(m: Volume) -> bool:
    return np.asarray(m.array).dtype == bool


def union(masks: list[Volume]) -> Volume:
    """Union of masks: logical or for boolean masks; min(1, sum of weights) for occupancy fractions
    (the ROIs joined, e.g. two lungs sharing a boundary voxel, are disjoint tissue)."""
    if all(is_bool(m) for m in masks):
        arr = np.zeros(masks[0].shape, dtype=bool)
        for m in masks:
            arr |= np.asarray(m.array, dtype=bool)
        return masks[0].with_array(arr)
    acc = np.zeros(masks[0].shape, dtype=np.float64)
    for m in masks:
        acc += np.asarray(m.array, dtype=np.float64)
    return masks[0].with_array(np.minimum(acc, 1.0).astype(np.float32))


def minus(a: Volume, b: Volume) -> Volume:
    """``a`` without ``b``: a & ~b for boolean masks, clip(w_a - w_b, 0, 1) for fractions (as docs/imaging-inputs.md, normal liver)."""
    if is_bool(a) and is_bool(b):
        return a.with_array(np.asarray(a.array, bool) & ~np.asarray(b.array, bool))
    w = np.asarray(a.array, dtype=np.float64) - np.asarray(b.array, dtype=np.float64)
    return a.with_array(np.clip(w, 0.0, 1.0).astype(np.float32))


def roi_masks_on(seg, names, grid: Volume, warnings: list) -> dict:
    """The named ROIs of a segmentation on ``grid`` as ``y90 dose`` puts them on the activity grid
    (partial-volume fractions): ``y90 dvh`` uses it, so both give the same figures."""
    return masks_on(seg, names, grid, fractions=True, warnings=warnings)


def masks_on(seg, names, grid: Volume, *, fractions: bool, warnings: list) -> dict:
    """The named ROIs of a segmentation on ``grid``: RTSTRUCT contours as partial-volume fractions
    (or voxel-centre booleans), other segmentations as occupancy fractions (booleans when not
    ``fractions`` and the label map lies on ``grid``, where they are exact: issue 22)."""
    names = list(dict.fromkeys(names))
    if seg.kind == "rtstruct":
        raster = roi_fractions if fractions else roi_mask
        return {n: raster(seg.structure_set, n, grid) for n in names}
    masks, notes = seg.masks(names, grid, exact_as_bool=not fractions)
    warnings += list(notes)
    return masks


def masks_on_ct(seg, liver_parts, tumour_rois, lung_rois, perfused_roi, ct_volume, warnings) -> dict:
    """The ROIs on the CT grid, where they were drawn (volumes and lung mass measured there)."""
    names = [*liver_parts, *tumour_rois, *lung_rois] + ([perfused_roi] if perfused_roi else [])
    on_ct = masks_on(seg, names, ct_volume, fractions=False, warnings=warnings)
    return {
        "liver": on_ct[liver_parts[0]] if len(liver_parts) == 1 else union([on_ct[n] for n in liver_parts]),
        "perfused": None if perfused_roi is None else on_ct[perfused_roi],
        "tumours": {n: on_ct[n] for n in tumour_rois},
        "lungs": union([on_ct[n] for n in lung_rois]) if lung_rois else None,
    }
