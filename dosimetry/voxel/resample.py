"""Resampling one :class:`Volume` onto another's grid, through the two index-to-world affines.

For every voxel centre of the reference grid, the source index is
``inv(A_source) @ A_reference @ (k, j, i, 1)`` (both affines from :attr:`Volume.affine`), and the
source is interpolated there with :func:`scipy.ndimage.affine_transform` (the affine form of
``map_coordinates``: no coordinate arrays are held in memory). Points outside the source grid
get ``fill`` (0 by default).

Kinds
-----
``"linear"``   images (CT in HU, densities, dose): trilinear interpolation.
``"nearest"``  label masks: nearest source voxel; boolean in, boolean out.
``"fraction"`` masks: fraction of each reference voxel covered by the mask, the mean of the
               nearest-neighbour mask over n x n x n sub-points of the reference voxel,
               n = ceil(reference spacing / source spacing) per axis (at most 8).
``"activity"`` activity maps: the concentration (activity / source voxel volume) averaged over
               sub-points as above with trilinear interpolation, times the reference voxel
               volume; when the reference grid contains the whole source grid the result is
               scaled so that the total activity is conserved exactly. Concentration units
               (Bq/mL) are averaged without the volume factors.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage

from ..units import Q_
from .geometry import Volume

__all__ = ["resample_to", "KINDS"]

KINDS = ("linear", "nearest", "fraction", "activity")

_ACTIVITY = Q_(1, "Bq").dimensionality


def _index_map(source: Volume, reference: Volume) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, offset): source index = matrix @ reference index + offset."""
    m = np.linalg.inv(source.affine) @ reference.affine
    return m[:3, :3], m[:3, 3]


def _sub_offsets(source: Volume, reference: Volume, max_n: int = 8) -> np.ndarray:
    """Sub-point offsets (in reference voxel units) that sample each reference voxel."""
    n = []
    for a in range(3):
        # the reference axis a expressed in source voxels: length of the mapped unit step
        step = np.abs(np.linalg.inv(source.affine)[:3, :3] @ (reference.direction[:, a] * reference.spacing_mm[a]))
        n.append(min(max_n, max(1, int(math.ceil(float(step.max()) - 1e-9)))))
    axes = [(np.arange(k) + 0.5) / k - 0.5 for k in n]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid


def _mean_over_subpoints(arr, source, reference, order) -> np.ndarray:
    matrix, offset = _index_map(source, reference)
    subs = _sub_offsets(source, reference)
    acc = np.zeros(reference.shape, dtype=np.float64)
    tmp = np.empty(reference.shape, dtype=np.float64)
    for d in subs:
        scipy.ndimage.affine_transform(
            arr, matrix, offset=offset + matrix @ d, output_shape=reference.shape, output=tmp, order=order, mode="constant", cval=0.0
        )
        acc += tmp
    acc /= len(subs)
    return acc


def _inside(source: Volume, reference: Volume) -> bool:
    """True when every source voxel lies inside the reference grid's extent."""
    ext = [(-0.5, n - 0.5) for n in source.shape]
    corners = np.array([[a, b, c] for a in ext[0] for b in ext[1] for c in ext[2]])
    idx = reference.world_to_index(source.index_to_world(corners))
    hi = np.asarray(reference.shape) - 0.5
    return bool(np.all(idx >= -0.5 - 1e-6) and np.all(idx <= hi[None, :] + 1e-6))


def resample_to(volume: Volume, reference: Volume, *, kind: str = "linear", fill: float = 0.0) -> Volume:
    """Resample ``volume`` onto the grid of ``reference``.

    Parameters
    ----------
    volume : Volume
        Image, mask or activity map to resample (any unit).
    reference : Volume
        Supplies the target grid (shape, spacing [mm], origin [mm], direction); its values are
        not used.
    kind : {"linear", "nearest", "fraction", "activity"}
        Interpolation, see the module docstring.
    fill : float
        Value for points outside the source grid ("linear" and "nearest" only) [volume unit].

    Returns
    -------
    Volume
        On the reference grid: same unit as ``volume`` ("fraction": dimensionless in [0, 1];
        "activity": same unit, per-voxel units rescaled to the new voxel volume).
    """
    if not isinstance(volume, Volume):
        raise ValueError(f"volume: expected a Volume, got {type(volume).__name__}")
    if not isinstance(reference, Volume):
        raise ValueError(f"reference: expected a Volume, got {type(reference).__name__}")
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    arr = np.asarray(volume.array)
    if volume.same_grid(reference, tol_mm=1e-6):
        return reference.with_array(arr.copy(), volume.unit)
    matrix, offset = _index_map(volume, reference)
    if kind in ("linear", "nearest"):
        order = 1 if kind == "linear" else 0
        src = arr.astype(np.float64) if arr.dtype == bool else arr
        out = scipy.ndimage.affine_transform(
            src, matrix, offset=offset, output_shape=reference.shape, order=order, mode="constant", cval=fill
        )
        if arr.dtype == bool:
            out = out > 0.5
        return reference.with_array(out, volume.unit)
    if kind == "fraction":
        src = np.asarray(arr, dtype=np.float64)
        if src.min() < 0 or src.max() > 1:
            raise ValueError("volume: a mask for kind='fraction' must hold values in [0, 1]")
        out = np.clip(_mean_over_subpoints(src, volume, reference, order=0), 0.0, 1.0)
        return reference.with_array(out, "dimensionless")
    # activity
    src = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(src)) or src.min() < 0:
        raise ValueError("volume: activity must be finite and >= 0")
    # per-voxel amounts (Bq, cts, cts/s) versus concentrations (Bq/mL, ...)
    dims = Q_(1, volume.unit).dimensionality
    per_voxel = dims in (_ACTIVITY, Q_(1, "cts").dimensionality, Q_(1, "cts/s").dimensionality)
    conc = src / volume.voxel_volume.to("mL").magnitude if per_voxel else src
    out = _mean_over_subpoints(conc, volume, reference, order=1)
    if per_voxel:
        out *= reference.voxel_volume.to("mL").magnitude
        total_in = src.sum()
        total_out = out.sum()
        if _inside(volume, reference) and total_out > 0:
            out *= total_in / total_out
    else:
        # conserve the integral of the concentration over the volume
        if _inside(volume, reference) and out.sum() > 0:
            out *= (src.sum() * volume.voxel_volume.to("mL").magnitude) / (out.sum() * reference.voxel_volume.to("mL").magnitude)
    return reference.with_array(out, volume.unit)
