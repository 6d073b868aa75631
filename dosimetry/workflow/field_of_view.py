"""Whether the activity image's field of view holds the lungs (:data:`LUNG_FIELD_OF_VIEW`): the share
of each segment inside a grid, from its voxels or its contours."""

from __future__ import annotations

import numpy as np

from ..voxel import Volume


#: Share of each lung ROI's volume that must lie in the activity image's field of view for the
#: image to measure the lung shunt and the lung dose. Counts of the part outside are missing from
#: C_lung, so the lung shunt reads low by about that share (1 % of a 20 % shunt is 0.2 percentage
#: points, a tenth of the 2-point SPECT-planar agreement, dosimetry.workflow.inputs.TOLERANCES):
#: 1 %, the share above which the segmentation readers already warn. Below it the lungs are taken
#: as outside the field of view (a SPECT centred on the liver commonly stops at the lung bases):
#: the shunt must come from planar counts or a typed value, and the lung ROIs serve only on the CT
#: (lung mass). A choice of this project, docs/imaging-inputs.md.
LUNG_FIELD_OF_VIEW = 0.99


def lung_shares_out_of_view(seg, lung_rois: tuple, grid: Volume, warnings: list) -> dict:
    """{lung ROI: share inside the field of view} when any lung ROI lies less than
    :data:`LUNG_FIELD_OF_VIEW` inside the activity image (then none is used on it), else {}."""
    shares = {n: share_in_view(seg, n, grid) for n in lung_rois}
    if not shares or min(shares.values()) >= LUNG_FIELD_OF_VIEW:
        return {}
    seen = ", ".join(f"{n!r} {s:.0%}" for n, s in shares.items())
    warnings.append(
        f"the activity image's field of view misses the lungs (share of each lung ROI inside it: {seen}; at least "
        f"{LUNG_FIELD_OF_VIEW:.0%} needed): the image gives no lung shunt and no lung dose; the lung shunt must come from "
        "planar counts or a typed value (the lung ROIs serve on the CT only)"
    )
    return shares


def share_in_view(seg, name: str, grid: Volume) -> float:
    """Share of a segment's volume whose points lie inside ``grid``'s field of view (voxel boxes).

    Label layers and fractional segments: the segment's voxel centres, weighted by occupancy (on a
    grid sub-sampled to at most about 2 million voxels). RTSTRUCT: the contour points, each
    contour weighted by its area (an approximation good to the contour spacing).
    """
    if seg.kind == "rtstruct":
        pts, weights = _contour_points(seg.structure_set.roi(name).contours)
    else:
        pts, weights = _segment_points(seg, name)
    if weights.sum() <= 0:
        return 0.0
    idx = grid.world_to_index(pts)
    top = np.asarray(grid.shape, dtype=float) - 0.5
    inside = np.all((idx >= -0.5) & (idx <= top), axis=-1)
    return float(weights[inside].sum() / weights.sum())


def _segment_points(seg, name: str) -> tuple:
    """(patient coordinates, weights) of a segment's voxels, sub-sampled before any copy is made."""
    s = seg.segment(name)
    src = s.fractions if s.fractions is not None else seg.layers[s.layer]
    arr = np.asarray(src.array)
    step = max(1, int(np.ceil((arr.size / 2e6) ** (1 / 3))))
    sub = arr[::step, ::step, ::step]
    w = sub.astype(np.float64) if s.fractions is not None else (sub == s.value).astype(np.float64)
    idx = np.argwhere(w > 0)
    return src.index_to_world(idx * step), w[w > 0]


def _contour_points(contours) -> tuple:
    pts, weights = [], []
    for c in contours:
        c = np.asarray(c, dtype=np.float64)
        area = 0.5 * float(np.linalg.norm(np.cross(c, np.roll(c, -1, axis=0)).sum(axis=0)))
        pts.append(c)
        weights.append(np.full(len(c), area / max(len(c), 1)))
    if not pts:
        return np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(pts), np.concatenate(weights)
