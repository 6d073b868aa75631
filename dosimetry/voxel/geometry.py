"""Image geometry: a :class:`Volume` is a 3-D array placed in patient space, with its unit.

Conventions (the DICOM patient coordinate system, LPS, millimetres):

* ``array`` is indexed ``[k, j, i]`` = ``[slice, row, column]``, as a stack of pydicom
  ``pixel_array`` slices.
* ``spacing_mm[a]`` is the distance between voxel centres along array axis ``a``.
* ``origin_mm`` is the patient position (x, y, z) of the centre of voxel ``[0, 0, 0]``
  (DICOM ImagePositionPatient of the first slice).
* ``direction[:, a]`` is the unit vector, in patient space, of array axis ``a``. For an axial
  DICOM series: column 2 (i, along a row) is the first ImageOrientationPatient triplet, column 1
  (j, down a column) the second, column 0 (k) the slice normal in the order of the slices.

World position of index (k, j, i): ``origin_mm + direction @ ([k, j, i] * spacing_mm)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pint

from ..units import Q_, ureg

__all__ = ["Volume"]


def _unit(u) -> pint.Unit:
    if isinstance(u, pint.Unit):
        return u
    if isinstance(u, pint.Quantity):
        return u.units  # type: ignore[return-value]  # pint types .units as PlainUnit; from our registry it is a pint.Unit
    return ureg.Unit(u)


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image on a regular grid in patient space.

    Parameters
    ----------
    array : numpy.ndarray
        Voxel values, shape (nk, nj, ni) = (slices, rows, columns).
    spacing_mm : tuple of 3 float
        Voxel centre spacing along axes 0, 1, 2 [mm], all > 0.
    origin_mm : tuple of 3 float, optional
        Patient position of voxel [0, 0, 0] centre [mm]; default (0, 0, 0).
    direction : numpy.ndarray, optional
        3 x 3 orthonormal matrix, column ``a`` = patient-space direction of axis ``a``;
        default: axis 0 along +z, axis 1 along +y, axis 2 along +x.
    unit : str or pint.Unit, optional
        Unit of the voxel values, e.g. ``"Bq/mL"``, ``"Gy"``, ``"cts"``, ``"dimensionless"``
        (Hounsfield units and masks are dimensionless).
    """

    array: np.ndarray
    spacing_mm: tuple
    origin_mm: tuple = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    unit: pint.Unit = ureg.dimensionless

    def __post_init__(self):
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            raise ValueError(f"array: expected a 3-D array, got shape {arr.shape}")
        sp = tuple(float(s) for s in np.asarray(self.spacing_mm, dtype=float).ravel())
        if len(sp) != 3 or not all(np.isfinite(sp)) or min(sp) <= 0:
            raise ValueError(f"spacing_mm: expected 3 finite values > 0 mm, got {self.spacing_mm!r}")
        org = tuple(float(s) for s in np.asarray(self.origin_mm, dtype=float).ravel())
        if len(org) != 3 or not all(np.isfinite(org)):
            raise ValueError(f"origin_mm: expected 3 finite values in mm, got {self.origin_mm!r}")
        d = np.asarray(self.direction, dtype=float)
        if d.shape != (3, 3) or not np.allclose(d.T @ d, np.eye(3), atol=1e-4):
            raise ValueError("direction: expected a 3 x 3 orthonormal matrix (columns = axis directions)")
        object.__setattr__(self, "array", arr)
        object.__setattr__(self, "spacing_mm", sp)
        object.__setattr__(self, "origin_mm", org)
        object.__setattr__(self, "direction", d)
        object.__setattr__(self, "unit", _unit(self.unit))

    # -- basic properties -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """Array shape (nk, nj, ni)."""
        return self.array.shape

    @property
    def quantity(self) -> pint.Quantity:
        """The voxel values as a Quantity array (no copy)."""
        return Q_(self.array, self.unit)

    @property
    def voxel_volume(self) -> pint.Quantity:
        """Volume of one voxel [mL]."""
        return Q_(float(np.prod(self.spacing_mm)) / 1000.0, "mL")

    @property
    def affine(self) -> np.ndarray:
        """4 x 4 matrix mapping homogeneous index (k, j, i, 1) to patient (x, y, z, 1) [mm]."""
        a = np.eye(4)
        a[:3, :3] = self.direction * np.asarray(self.spacing_mm)[None, :]
        a[:3, 3] = self.origin_mm
        return a

    # -- coordinates ------------------------------------------------------------------------
    def index_to_world(self, index) -> np.ndarray:
        """Patient coordinates [mm] of (fractional) indices, shape (..., 3) in (k, j, i) order."""
        idx = np.asarray(index, dtype=float)
        return idx @ (self.direction * np.asarray(self.spacing_mm)[None, :]).T + np.asarray(self.origin_mm)

    def world_to_index(self, point) -> np.ndarray:
        """Fractional (k, j, i) indices of patient points [mm], shape (..., 3)."""
        p = np.asarray(point, dtype=float) - np.asarray(self.origin_mm)
        return (p @ self.direction) / np.asarray(self.spacing_mm)

    def same_grid(self, other: "Volume", tol_mm: float = 1e-3) -> bool:
        """True when ``other`` has the same shape, spacing, origin and direction (within tol)."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing_mm, other.spacing_mm, atol=tol_mm)
            and np.allclose(self.origin_mm, other.origin_mm, atol=tol_mm)
            and np.allclose(self.direction, other.direction, atol=1e-6)
        )

    def with_array(self, array, unit=None) -> "Volume":
        """Same grid, new values (and unit, if given)."""
        return Volume(array, self.spacing_mm, self.origin_mm, self.direction, self.unit if unit is None else unit)
