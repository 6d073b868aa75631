"""Volume-averaged emission: the fraction of each emission voxel that an analytic shape fills.

A camera's reconstructed voxel estimates the mean activity concentration over the voxel (before
its resolution blur), so the phantom's activity map gives voxel i of the emission grid

    a_i = sum_R A_R f_R(i) / sum_j f_R(j)                                         [MBq]

over the regions R that hold activity (normal liver, tumours, left and right lung), with A_R the
region's true activity and ``f_R(i)`` the occupancy: the fraction of voxel i's volume inside R.
Since ``sum_j f_R(j) v`` (v the voxel volume) is the region's volume up to the quadrature error
below, ``a_i / v`` is the volume average of the continuous concentration over the voxel; the
normalization makes the map hold each region's activity exactly (to float precision).

Occupancy of an ellipsoid (:func:`shape_occupancy`):

* a voxel entirely inside gets f = 1, one entirely outside 0. For an axis-aligned ellipsoid this
  is exact: scaled by the semi-axes about the centre, the voxel is a box and the ellipsoid the
  unit ball (inside when the box's farthest corner is, outside when its nearest point is). For a
  rotated one, a voxel whose centre lies farther than the voxel's half-diagonal ``h`` from the
  surface is decided by its centre: the scaled radius ``rho(p) = |D^-1 R^T (p - c)|`` (1 on the
  surface) changes by at most ``|dp| / min(semi-axes)``, so ``|rho(centre) - 1| >
  h / min(semi-axes)`` decides;
* the other voxels (a shell about the surface) are integrated: on each of ``n x n`` lines through
  the voxel along the grid axis closest to the surface normal at the voxel centre (at the centres
  of an n x n lattice across the two other axes) the chord of the ellipsoid is exact (the roots
  of a quadratic), clipped to the voxel; ``f`` is the mean chord length over the lines divided by
  the voxel's length along that axis (midpoint rule across the lattice). Along the normal the
  surface is a smooth graph over the lattice plane, so no line grazes it.

Accuracy with :data:`SUBSAMPLES` = 8 lines per axis (more for shapes smaller than two voxels
across), measured against exact fractions (``tests/phantoms/test_phantom_emission.py``): per-voxel
error below 2e-3 of a voxel (1.7e-3 for a 9 mm sphere on 4.42 mm voxels), region volumes within
0.1 % of the analytic ones (1e-5 for the liver, up to 9e-4 for 2-10 mm spheres).

Regions: the liver and the tumours are ellipsoids, the normal liver is ``f_liver - sum f_tumour``
(the tumours lie inside the liver), the lungs are ``f_lung_L + f_lung_R``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .anatomy import Anatomy, Ellipsoid

__all__ = ["SUBSAMPLES", "Occupancy", "shape_occupancy", "region_occupancy", "active_regions"]

#: Lines per axis across x and y through each surface voxel (64 exact chords per voxel).
SUBSAMPLES = 8


@dataclass(frozen=True, eq=False)
class Occupancy:
    """Fraction of each voxel of a grid inside a region, stored for the voxels where it is > 0.

    Attributes
    ----------
    shape : tuple of 3 int
        Grid shape (slices, rows, columns).
    index : numpy.ndarray
        Flat (C-order) indices of the voxels with a fraction > 0, ascending, int64.
    fraction : numpy.ndarray
        Their fractions, in (0, 1], float64.
    """

    shape: tuple
    index: np.ndarray
    fraction: np.ndarray

    def dense(self) -> np.ndarray:
        """The fractions as a full float64 array of ``shape``."""
        out = np.zeros(int(np.prod(self.shape)))
        out[self.index] = self.fraction
        return out.reshape(self.shape)

    @property
    def total(self) -> float:
        """Sum of the fractions: the region's volume in voxels."""
        return float(self.fraction.sum())

    def combine(self, other: "Occupancy", sign: float) -> "Occupancy":
        """``self + sign * other`` voxel by voxel, clipped to [0, 1], zeros dropped."""
        idx = _sorted_union(self.index, other.index)
        f = np.zeros(idx.size)
        f[np.searchsorted(idx, self.index)] += self.fraction
        f[np.searchsorted(idx, other.index)] += sign * other.fraction
        f = np.clip(f, 0.0, 1.0)
        keep = f > 0.0
        return Occupancy(self.shape, idx[keep], f[keep])


def _sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.union1d(a, b)`` of two ascending index arrays: their values sorted, each once (the same
    array; a sort and a comparison with the neighbour instead of numpy's hashing unique, 13x faster
    on a liver's 25 000 indices)."""
    c = np.concatenate([a, b])
    c.sort()
    keep = np.empty(len(c), dtype=bool)
    keep[:1] = True
    np.not_equal(c[1:], c[:-1], out=keep[1:])
    return c[keep]


def _axes(grid):
    (nk, nj, ni), (dz, dy, dx), (x0, y0, z0) = grid.shape, grid.spacing_mm, grid.origin_mm
    return (nk, nj, ni), (dz, dy, dx), (x0, y0, z0)


def _index_range(lo: float, hi: float, origin: float, step: float, n: int, axis: str) -> tuple:
    """Voxels [i0, i1) whose extent meets [lo, hi]; the shape must lie inside the grid."""
    i0 = math.floor((lo - origin) / step + 0.5)
    i1 = math.floor((hi - origin) / step + 0.5) + 1
    if i0 < 0 or i1 > n:
        raise ValueError(f"emission grid: a shape with activity reaches beyond the grid along {axis}")
    return i0, i1


def _chord_fractions(e: Ellipsoid, centres: np.ndarray, spacing_xyz, axis: int, n: int) -> np.ndarray:
    """Mean over n x n lines along ``axis`` of the chord inside the ellipsoid / voxel length, per voxel.

    ``centres`` (m, 3) are voxel centres (x, y, z); the lines cross the voxel along ``axis``
    (0 = x, 1 = y, 2 = z) at the centres of an n x n lattice over the two other axes. On a line
    ``p = p0 + u e_axis`` (p0 - c with component 0 along the axis, u measured from the ellipsoid's
    centre plane) the quadric is ``A u^2 + 2 B u + C <= 0`` with A = Q[axis, axis],
    B = sum_j Q[axis, j] d_j, C = d^T Q d - 1 (d = p0 - c across the axis).
    """
    q = e.quadric()
    j, k = [a for a in range(3) if a != axis]
    off = (np.arange(n) + 0.5) / n - 0.5
    oj, ok = np.meshgrid(off * spacing_xyz[j], off * spacing_xyz[k], indexing="ij")
    c = np.asarray(e.centre_mm)
    dj = centres[:, j:j + 1] - c[j] + oj.ravel()[None, :]  # (m, n*n)
    dk = centres[:, k:k + 1] - c[k] + ok.ravel()[None, :]
    # The arithmetic of b = Q_aj dj + Q_ak dk, C = Q_jj dj dj + 2 Q_jk dj dk + Q_kk dk dk - 1,
    # disc = b b - A C, root = sqrt(max(disc, 0)), lo = (-b - root) / A - shift, hi = (-b + root) / A - shift,
    # length = max(min(hi, half) - max(lo, -half), 0) where disc > 0 (else 0), in that order, the
    # operations done in place on (m, n*n) buffers (the same values with 4 arrays instead of ~25).
    a = q[axis, axis]
    b = q[axis, j] * dj
    t = q[axis, k] * dk
    b += t
    cc = q[j, j] * dj
    cc *= dj
    np.multiply(2.0 * q[j, k], dj, out=t)
    t *= dk
    cc += t
    np.multiply(q[k, k], dk, out=t)
    t *= dk
    cc += t
    cc -= 1.0
    disc = np.multiply(b, b, out=dj)
    cc *= a
    disc -= cc  # b b - A C
    root = np.clip(disc, 0.0, None, out=cc)
    np.sqrt(root, out=root)
    shift = centres[:, axis:axis + 1] - c[axis]  # u at the voxel centre
    np.negative(b, out=b)  # -b
    lo = np.subtract(b, root, out=t)  # chord ends relative to the voxel centre
    lo /= a
    lo -= shift
    hi = np.add(b, root, out=root)
    hi /= a
    hi -= shift
    half = spacing_xyz[axis] / 2.0
    length = np.minimum(hi, half, out=hi)
    length -= np.maximum(lo, -half, out=lo)
    np.clip(length, 0.0, None, out=length)
    length[~(disc > 0.0)] = 0.0
    length /= spacing_xyz[axis]
    return length.mean(axis=1)


def _classify(e: Ellipsoid, xs, ys, zs, spacing_xyz) -> tuple:
    """(inside, surface) boolean arrays over the voxels of the box ``zs x ys x xs``: whole voxels,
    and voxels that may be cut by the surface (all others are empty).

    Axis-aligned ellipsoid: exact. Scaled by the semi-axes about the centre, the voxel is a box and
    the ellipsoid the unit ball; the box is inside when its farthest corner is, outside when its
    nearest point is. Rotated: the scaled radius at the voxel centre with the Lipschitz margin
    (module docstring).
    """
    c, s = np.asarray(e.centre_mm), np.asarray(e.semi_axes_mm)
    if e.rotation is None:
        near2: float | np.ndarray = 0.0
        far2: float | np.ndarray = 0.0
        for axis, coords in enumerate((xs, ys, zs)):
            lo = (coords - spacing_xyz[axis] / 2 - c[axis]) / s[axis]
            hi = (coords + spacing_xyz[axis] / 2 - c[axis]) / s[axis]
            near = np.where(lo > 0, lo, np.where(hi < 0, hi, 0.0))
            far = np.maximum(np.abs(lo), np.abs(hi))
            shape = [1, 1, 1]
            shape[2 - axis] = -1  # x -> last array axis
            near2 = near2 + (near * near).reshape(shape)
            far2 = far2 + (far * far).reshape(shape)
        inside = far2 <= 1.0
        return inside, ~inside & (near2 < 1.0)
    rho = np.sqrt(e.implicit(xs[None, None, :], ys[None, :, None], zs[:, None, None]))
    band = 0.5 * math.sqrt(sum(v * v for v in spacing_xyz)) / min(e.semi_axes_mm)
    inside = rho <= 1.0 - band
    return inside, ~inside & (rho < 1.0 + band)


def shape_occupancy(e: Ellipsoid, grid, n: int = SUBSAMPLES) -> Occupancy:
    """Occupancy of an ellipsoid on an axial grid (module docstring for the method).

    Parameters
    ----------
    e : Ellipsoid
        The shape (axis-aligned or rotated).
    grid : GridInfo
        Axial grid (shape, spacing_mm (dz, dy, dx), origin_mm (x, y, z) of voxel [0, 0, 0]).
    n : int
        Lines per axis through each surface voxel; raised for a shape smaller than two voxels
        across (to ``ceil(2 n voxel / min semi-axis)``), whose surface curves within a voxel.

    Returns
    -------
    Occupancy
    """
    shape, (dz, dy, dx), (x0, y0, z0) = _axes(grid)
    n = max(n, math.ceil(2 * n * max(dz, dy, dx) / min(e.semi_axes_mm)))
    m = e.matrix * np.asarray(e.semi_axes_mm)  # columns: the semi-axis vectors
    ext = np.linalg.norm(m, axis=1)  # half-extents along x, y, z
    c = np.asarray(e.centre_mm)
    k0, k1 = _index_range(c[2] - ext[2], c[2] + ext[2], z0, dz, shape[0], "z")
    j0, j1 = _index_range(c[1] - ext[1], c[1] + ext[1], y0, dy, shape[1], "y")
    i0, i1 = _index_range(c[0] - ext[0], c[0] + ext[0], x0, dx, shape[2], "x")
    zs = z0 + dz * np.arange(k0, k1)
    ys = y0 + dy * np.arange(j0, j1)
    xs = x0 + dx * np.arange(i0, i1)
    inside, surface = _classify(e, xs, ys, zs, (dx, dy, dz))
    kk, jj, ii = np.nonzero(surface)
    centres = np.column_stack([xs[ii], ys[jj], zs[kk]])
    # chords along the axis closest to the surface normal (the gradient of the quadric), so that
    # within a voxel the surface is a smooth graph over the lattice plane and no line grazes it
    normal = np.abs((centres - c) @ e.quadric())
    along = np.argmax(normal, axis=1)
    frac = np.empty(len(centres))
    for axis in range(3):
        sel = along == axis
        if sel.any():
            frac[sel] = _chord_fractions(e, centres[sel], (dx, dy, dz), axis, n)
    ki, ji, ii_in = np.nonzero(inside)
    idx = np.concatenate([
        np.ravel_multi_index((ki + k0, ji + j0, ii_in + i0), shape),
        np.ravel_multi_index((kk + k0, jj + j0, ii + i0), shape),
    ]).astype(np.int64)
    f = np.concatenate([np.ones(ki.size), frac])
    order = np.argsort(idx, kind="stable")
    idx, f = idx[order], f[order]
    keep = f > 0.0
    return Occupancy(tuple(shape), idx[keep], f[keep])


def active_regions(anatomy: Anatomy) -> list:
    """Names of the regions that hold activity: normal liver, each tumour, each lung (body and
    spine hold none)."""
    return ["Normal Liver"] + [f"Tumour {i}" for i in range(1, len(anatomy.tumours) + 1)] + ["Lung L", "Lung R"]


def region_occupancy(anatomy: Anatomy, grid, n: int = SUBSAMPLES) -> dict:
    """Occupancy of every region that holds activity, and of Liver and Lungs.

    Returns
    -------
    dict
        "Liver", "Normal Liver" (liver minus the tumours), "Tumour i", "Lung L", "Lung R",
        "Lungs" -> :class:`Occupancy`.
    """
    liver = shape_occupancy(anatomy.liver, grid, n)
    out = {"Liver": liver}
    normal = liver
    for i, t in enumerate(anatomy.tumours, 1):
        out[f"Tumour {i}"] = shape_occupancy(t, grid, n)
        normal = normal.combine(out[f"Tumour {i}"], -1.0)
    out["Normal Liver"] = normal
    out["Lung L"] = shape_occupancy(anatomy.lung_l, grid, n)
    out["Lung R"] = shape_occupancy(anatomy.lung_r, grid, n)
    out["Lungs"] = out["Lung L"].combine(out["Lung R"], 1.0)
    return out
