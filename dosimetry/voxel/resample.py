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

__all__ = ["resample_to", "covered_by", "sample_nearest", "KINDS"]

KINDS = ("linear", "nearest", "fraction", "activity")

_ACTIVITY = Q_(1, "Bq").dimensionality


def _index_map(source: Volume, reference: Volume) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, offset): source index = matrix @ reference index + offset."""
    m = np.linalg.inv(source.affine) @ reference.affine
    return m[:3, :3], m[:3, 3]


def _axis_aligned(matrix: np.ndarray) -> bool:
    """True when ``matrix`` (3 x 3) maps each output axis to one input axis of the same index: every
    off-diagonal element exactly 0, so that scipy's coordinate along axis a is ``x_a * m_aa + offset_a``."""
    return matrix.shape == (3, 3) and not np.any(matrix[~np.eye(3, dtype=bool)])


def _axis_samples(values: np.ndarray, scale: float, offset: float, n_out: int, *, order: int, cval: float) -> np.ndarray:
    """What :func:`scipy.ndimage.affine_transform` gives along one axis: ``values`` (one per source
    index) sampled at ``scale * x + offset`` for x = 0 .. n_out - 1, ``cval`` where it leaves the axis."""
    return scipy.ndimage.affine_transform(values, np.array([[scale]]), offset=[offset], output_shape=(n_out,), order=order, mode="constant", cval=cval)


def _picker(index: np.ndarray):
    """``index`` as a slice when it steps by +1 or -1 (a view instead of a gather), else itself."""
    if index.size > 1 and (index[1] - index[0]) in (1, -1) and np.all(np.diff(index) == index[1] - index[0]):
        step = int(index[1] - index[0])
        stop = int(index[-1]) + step
        return slice(int(index[0]), None if stop < 0 else stop, step)
    return index


def sample_nearest(arr, matrix, offset, output_shape, *, cval: float = 0.0) -> np.ndarray:
    """``scipy.ndimage.affine_transform(arr, matrix, offset=offset, output_shape=output_shape, order=0,
    mode="constant", cval=cval)``, the same array bit for bit.

    When ``matrix`` is diagonal (every off-diagonal element exactly 0: grids with the same axes, a
    mirror, a scale) each axis is sampled on its own: scipy's source index along each axis (the same
    call on that axis's index array) picks the voxels, ``arr[k][:, j][:, :, i]`` (a slice where the
    indices step by one), and ``cval`` fills the voxels off the source along any axis (issue 22:
    about 10 x less work on the demo's grids).
    Any other matrix, or a ``cval`` the array's type cannot hold exactly, goes to scipy.
    """
    arr = np.asarray(arr)
    matrix = np.asarray(matrix, dtype=np.float64)
    offset = np.asarray(offset, dtype=np.float64)
    output_shape = tuple(int(n) for n in output_shape)
    try:
        exact_fill = arr.dtype.kind in "fiu" and bool(np.array(cval, dtype=arr.dtype) == cval)
    except (OverflowError, ValueError):
        exact_fill = False
    if arr.ndim != 3 or min(arr.shape) < 1 or offset.shape != (3,) or not _axis_aligned(matrix) or not exact_fill:
        return scipy.ndimage.affine_transform(arr, matrix, offset=offset, output_shape=output_shape, order=0, mode="constant", cval=cval)
    picks = [_axis_samples(np.arange(arr.shape[a], dtype=np.float64), float(matrix[a, a]), float(offset[a]), output_shape[a], order=0, cval=-1.0)
             for a in range(3)]
    # along each axis the points on the source are one run (the coordinate is monotonic in the index)
    runs = [np.flatnonzero(p >= 0) for p in picks]
    out = np.full(output_shape, cval, dtype=arr.dtype)
    if any(r.size == 0 for r in runs):
        return out
    dst = tuple(slice(int(r[0]), int(r[-1]) + 1) for r in runs)
    k, j, i = (_picker(p[d].astype(np.intp)) for p, d in zip(picks, dst))
    out[dst] = arr[k][:, j][:, :, i]
    if arr.dtype.kind == "f":
        out[dst] += 0.0  # scipy adds the picked value to 0.0: -0.0 becomes 0.0
    return out


def covered_by(source: Volume, reference: Volume) -> np.ndarray:
    """Boolean array on the reference grid: True where ``resample_to`` of an array of ones on the
    source grid (``kind="linear"``, ``fill=0``) gives at least 0.5, i.e. where the reference voxel
    centre lies on the source grid (scipy samples a point off the source along any axis as the fill).

    With the grids' axes aligned (a diagonal index map) this is the product of the three axes'
    coverages, each from scipy's own one-dimensional sampling; otherwise the whole resampling runs.
    """
    if source.same_grid(reference, tol_mm=1e-6):
        return np.ones(reference.shape, dtype=bool)  # resample_to copies the array on the same grid
    matrix, offset = _index_map(source, reference)
    if _axis_aligned(matrix):
        along = [_axis_samples(np.ones(source.shape[a]), float(matrix[a, a]), float(offset[a]), reference.shape[a], order=1, cval=0.0) for a in range(3)]
        # scipy fills the whole point as soon as one axis leaves the source (no blending toward the
        # fill): then each axis's coverage is 0 or 1 (to round-off), and a point inside on every axis
        # is 1 (to round-off) in three dimensions too
        if all(bool(np.all((a == 0.0) | (np.abs(a - 1.0) < 1e-9))) for a in along):
            on = [a > 0.0 for a in along]
            return on[0][:, None, None] & on[1][None, :, None] & on[2][None, None, :]
    ones = source.with_array(np.broadcast_to(np.float32(1.0), source.shape))
    return np.asarray(resample_to(ones, reference, kind="linear", fill=0.0).array) >= 0.5


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
        if order == 0 and arr.dtype == np.float64:
            tmp[...] = sample_nearest(arr, matrix, offset + matrix @ d, reference.shape, cval=0.0)
        else:
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
        if order == 0:
            out = sample_nearest(src, matrix, offset, reference.shape, cval=fill)
        else:
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
