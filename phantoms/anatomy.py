"""Analytic anatomy of the digital phantom patient: ellipsoids and an elliptic cylinder.

Every region is an axis-aligned analytic shape in the DICOM patient coordinate system (LPS,
millimetres: +x towards the patient's left, +y posterior, +z superior), so that its volume, its
cross-section on any axial plane and whether a point lies inside are exact formulas:

* ellipsoid with centre (cx, cy, cz) and semi-axes (a, b, c):
  ``((x-cx)/a)^2 + ((y-cy)/b)^2 + ((z-cz)/c)^2 <= 1``, volume ``4/3 pi a b c``; the part between
  two axial planes has volume ``pi a b [u - u^3 / (3 c^2)]`` evaluated between ``u = z - cz``
  limits clipped to [-c, c] (integral of the cross-section area ``pi a b (1 - u^2/c^2)``);
* elliptic cylinder along z with semi-axes (a, b): cross-section area ``pi a b``.

Voxelization (:func:`label_map`) uses the voxel-centre rule: a voxel belongs to the
highest-priority region whose shape contains its centre (tumours > liver > lungs > spine > body).
"Contains" is tested against the very polygon written to the RTSTRUCT on that plane
(:func:`polygon_size` vertices at equal parameter steps, inscribed in the analytic ellipse), so
that contours rasterized at voxel centres give back exactly the label map. The polygon lies
within ``a (1 - cos(pi / n))`` of the ellipse, e.g. 0.005 mm for a 98 mm semi-axis.

Rotated shapes (the post-treatment study, :mod:`phantoms.post`): a shape may carry a rotation
matrix whose columns are its principal axes in patient coordinates (``None``: axis-aligned, the
planning phantom; the axis-aligned formulas above are then used unchanged). With
``Q = R diag(1/a^2, 1/b^2, 1/c^2) R^T`` the ellipsoid is ``(p - c)^T Q (p - c) <= 1``; its
half-extent along z is ``h = |row z of R diag(a, b, c)|``, the part between two axial planes has
volume ``pi (a b c / h) [u - u^3 / (3 h^2)]`` (the section area is quadratic in z for any
orientation), and its section on the plane z is the ellipse ``(q - q0)^T Q_xy (q - q0) <= 1 - dz^2 / h^2``
in (x, y) with centre ``q0 = (cx, cy) - dz Q_xy^-1 Q_xy,z`` and semi-axes ``sqrt(s / eig(Q_xy))``
(minimizing the quadratic form over x, y at fixed z; ``dz = z - cz``). An elliptic cylinder is the
same with ``1/c^2 = 0``: every axial section has ``s = 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Ellipsoid",
    "EllipticCylinder",
    "Anatomy",
    "LABEL_OUTSIDE",
    "LABEL_BODY",
    "LABEL_SPINE",
    "LABEL_LUNG_L",
    "LABEL_LUNG_R",
    "LABEL_NORMAL_LIVER",
    "LABEL_TUMOUR_BASE",
    "default_anatomy",
    "label_map",
    "polygon_size",
    "polygon_vertices",
    "CONTOUR_POINT_SPACING_MM",
]

#: Integer labels of the voxel model (uint8). Tumour i (1-based) has label LABEL_TUMOUR_BASE + i.
LABEL_OUTSIDE = 0
LABEL_BODY = 1
LABEL_SPINE = 2
LABEL_LUNG_L = 3
LABEL_LUNG_R = 4
LABEL_NORMAL_LIVER = 5
LABEL_TUMOUR_BASE = 10


def _rotation(value):
    """A proper rotation matrix as a tuple of rows, or None for the identity (axis-aligned)."""
    if value is None:
        return None
    r = np.asarray(value, dtype=float)
    if r.shape != (3, 3) or not np.all(np.isfinite(r)):
        raise ValueError(f"rotation: expected a 3 x 3 rotation matrix, got {value!r}")
    if not np.allclose(r @ r.T, np.eye(3), atol=1e-9) or np.linalg.det(r) < 0:
        raise ValueError("rotation: not a proper rotation (orthonormal, determinant +1)")
    if np.array_equal(r, np.eye(3)):
        return None
    return tuple(tuple(float(v) for v in row) for row in r)


def _quadric_section(centre, q, z: float):
    """Axial section at plane z of the quadric (p - centre)^T q (p - centre) <= 1 (module docstring).

    Returns ``(cx, cy, ax, ay, theta)``: centre, semi-axes and the angle of the ``ax`` axis from
    +x [rad], or None when the plane misses the shape.
    """
    qxy, qz = q[:2, :2], q[:2, 2]
    dz = z - centre[2]
    w = np.linalg.solve(qxy, qz)
    s = 1.0 - max(dz * dz * float(q[2, 2] - qz @ w), 0.0)
    if s <= 0.0:
        return None
    lam, vec = np.linalg.eigh(qxy)  # ascending eigenvalues: the longer semi-axis first
    theta = math.atan2(vec[1, 0], vec[0, 0])
    if theta <= -math.pi / 2 or theta > math.pi / 2:  # an axis, not a direction: keep (-pi/2, pi/2]
        theta = theta - math.copysign(math.pi, theta)
    return (float(centre[0] - dz * w[0]), float(centre[1] - dz * w[1]), math.sqrt(s / lam[0]), math.sqrt(s / lam[1]), theta)


#: Rows of one product ``p @ R^T`` in :func:`_rotated`: 16384 x 3 x 3 multiply-adds stay below
#: OpenBLAS's threading threshold for dgemm (m n k <= 4 x 65536), so each product runs on the calling
#: thread instead of waking (and spinning) the BLAS threads; on a shared 2-core machine a 100 000-point
#: product took 30 ms of CPU threaded against 1 ms in blocks (issue 22).
_ROWS_PER_PRODUCT = 16384


def _rotated(p: np.ndarray, rt: np.ndarray) -> np.ndarray:
    """``p @ rt`` for p (n, 3), in blocks of :data:`_ROWS_PER_PRODUCT` rows.

    Each row of a matrix product is computed from that row alone, so the blocks give the product's
    own values (checked bit for bit against the whole product, tests/phantoms/test_phantom_anatomy.py).
    A block of one row would be a vector-matrix product (another BLAS routine), so a last row left
    alone joins the block before it.
    """
    n = len(p)
    if n <= _ROWS_PER_PRODUCT:
        return p @ rt
    starts = list(range(0, n, _ROWS_PER_PRODUCT))
    if n - starts[-1] == 1:
        starts.pop()
    return np.concatenate([p[a:b] @ rt for a, b in zip(starts, starts[1:] + [n])])


@dataclass(frozen=True)
class Ellipsoid:
    """Ellipsoid in patient space, axis-aligned unless rotated.

    Parameters
    ----------
    centre_mm : tuple of 3 float
        Centre (x, y, z) [mm], LPS.
    semi_axes_mm : tuple of 3 float
        Semi-axes (a, b, c) [mm], all > 0: along x, y, z when axis-aligned, else along the
        columns of ``rotation``.
    rotation : 3 x 3 rotation matrix, optional
        Columns = the principal axes in patient coordinates; None (default) = axis-aligned.
    """

    centre_mm: tuple
    semi_axes_mm: tuple
    rotation: tuple | None = None

    def __post_init__(self):
        c = tuple(float(v) for v in self.centre_mm)
        s = tuple(float(v) for v in self.semi_axes_mm)
        if len(c) != 3 or not all(math.isfinite(v) for v in c):
            raise ValueError(f"centre_mm: expected 3 finite values in mm, got {self.centre_mm!r}")
        if len(s) != 3 or not all(math.isfinite(v) and v > 0 for v in s):
            raise ValueError(f"semi_axes_mm: expected 3 finite values > 0 mm, got {self.semi_axes_mm!r}")
        object.__setattr__(self, "centre_mm", c)
        object.__setattr__(self, "semi_axes_mm", s)
        object.__setattr__(self, "rotation", _rotation(self.rotation))

    @property
    def matrix(self) -> np.ndarray:
        """Rotation matrix R (identity when axis-aligned)."""
        return np.eye(3) if self.rotation is None else np.asarray(self.rotation)

    def quadric(self) -> np.ndarray:
        """Q = R diag(1 / semi_axes^2) R^T: inside is (p - centre)^T Q (p - centre) <= 1."""
        r = self.matrix
        return r @ np.diag(1.0 / np.asarray(self.semi_axes_mm) ** 2) @ r.T

    @property
    def volume_mm3(self) -> float:
        """Whole volume 4/3 pi a b c [mm^3]."""
        a, b, c = self.semi_axes_mm
        return 4.0 / 3.0 * math.pi * a * b * c

    @property
    def half_height(self) -> float:
        """Half-extent along z [mm]: c when axis-aligned (module docstring)."""
        if self.rotation is None:
            return self.semi_axes_mm[2]
        return float(np.linalg.norm(self.matrix[2] * np.asarray(self.semi_axes_mm)))

    @property
    def z_range(self) -> tuple:
        """(lowest, highest) z of the shape [mm]."""
        h = self.half_height
        return (self.centre_mm[2] - h, self.centre_mm[2] + h)

    def volume_between_mm3(self, z_lo: float, z_hi: float) -> float:
        """Volume of the part with z_lo <= z <= z_hi [mm^3] (analytic, see module docstring)."""
        a, b, c = self.semi_axes_mm
        h = self.half_height
        u0 = min(max(z_lo - self.centre_mm[2], -h), h)
        u1 = min(max(z_hi - self.centre_mm[2], -h), h)
        if u1 <= u0:
            return 0.0
        f = lambda u: u - u**3 / (3.0 * h * h)  # noqa: E731
        area = math.pi * a * b if self.rotation is None else math.pi * a * b * c / h
        return area * (f(u1) - f(u0))

    def section(self, z: float):
        """Axial cross-section at plane z: (cx, cy, ax, ay, theta) [mm, rad], or None when it misses.

        ``theta`` is the angle of the ``ax`` semi-axis from +x (0 for an axis-aligned ellipsoid).
        """
        if self.rotation is not None:
            return _quadric_section(self.centre_mm, self.quadric(), z)
        a, b, c = self.semi_axes_mm
        s = 1.0 - ((z - self.centre_mm[2]) / c) ** 2
        if s <= 0.0:
            return None
        r = math.sqrt(s)
        return (self.centre_mm[0], self.centre_mm[1], a * r, b * r, 0.0)

    def implicit(self, x, y, z):
        """sum(((R^T (p - centre)) / semi_axes)^2): <= 1 inside (broadcasts over arrays)."""
        (cx, cy, cz), (a, b, c) = self.centre_mm, self.semi_axes_mm
        if self.rotation is None:
            return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + ((z - cz) / c) ** 2
        r = self.rotation
        dx, dy, dz = x - cx, y - cy, z - cz
        return sum(((r[0][k] * dx + r[1][k] * dy + r[2][k] * dz) / s) ** 2 for k, s in enumerate((a, b, c)))

    def from_unit(self, points: np.ndarray) -> np.ndarray:
        """Patient coordinates of points given in the unit ball's frame, shape (n, 3) [mm]."""
        p = np.asarray(points, dtype=float) * np.asarray(self.semi_axes_mm)
        if self.rotation is not None:
            p = _rotated(p, self.matrix.T)
        return p + np.asarray(self.centre_mm)

    def surface_points(self, n_theta: int = 41, n_phi: int = 80) -> np.ndarray:
        """Points on the surface, shape (n, 3) [mm], for containment checks."""
        th = np.linspace(0.0, math.pi, n_theta)
        ph = np.linspace(0.0, 2 * math.pi, n_phi, endpoint=False)
        t, p = np.meshgrid(th, ph, indexing="ij")
        unit = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
        return self.from_unit(unit)

    def shrunk(self, margin_mm: float) -> "Ellipsoid":
        """The same ellipsoid with every semi-axis reduced by margin_mm (for inside-with-margin tests)."""
        return Ellipsoid(self.centre_mm, tuple(s - margin_mm for s in self.semi_axes_mm), self.rotation)

    def grown(self, margin_mm: float) -> "Ellipsoid":
        """The same ellipsoid with every semi-axis increased by margin_mm."""
        return Ellipsoid(self.centre_mm, tuple(s + margin_mm for s in self.semi_axes_mm), self.rotation)

    def moved(self, transform) -> "Ellipsoid":
        """The ellipsoid after a rigid motion p -> R p + t (:class:`phantoms.pose.RigidTransform`)."""
        r = transform.rotation
        return Ellipsoid(tuple(transform.apply(self.centre_mm)), self.semi_axes_mm, r @ self.matrix)


@dataclass(frozen=True)
class EllipticCylinder:
    """Elliptic cylinder, infinite along its axis (clipped to the scanned range by the caller).

    Parameters
    ----------
    centre_mm : tuple of 2 float
        Where the axis crosses the plane z = 0: (x, y) [mm].
    semi_axes_mm : tuple of 2 float
        Semi-axes (a, b) of the cross-section [mm]: along x and y when axis-aligned, else along
        the first two columns of ``rotation``.
    rotation : 3 x 3 rotation matrix, optional
        Columns = the cross-section axes and the cylinder axis; None (default) = along z.
    """

    centre_mm: tuple
    semi_axes_mm: tuple
    rotation: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "rotation", _rotation(self.rotation))

    @property
    def matrix(self) -> np.ndarray:
        return np.eye(3) if self.rotation is None else np.asarray(self.rotation)

    def quadric(self) -> np.ndarray:
        """Q = R diag(1/a^2, 1/b^2, 0) R^T about the axis point (cx, cy, 0)."""
        a, b = self.semi_axes_mm
        r = self.matrix
        return r @ np.diag([1.0 / a**2, 1.0 / b**2, 0.0]) @ r.T

    def volume_between_mm3(self, z_lo: float, z_hi: float) -> float:
        """pi a b (z_hi - z_lo) / |cos tilt| [mm^3] (tilt: the axis against z)."""
        a, b = self.semi_axes_mm
        if self.rotation is None:
            return math.pi * a * b * max(0.0, z_hi - z_lo)
        return math.pi * a * b * max(0.0, z_hi - z_lo) / abs(self.rotation[2][2])

    def section(self, z: float):
        """Axial cross-section (cx, cy, ax, ay, theta) [mm, rad]; the same on every plane when axis-aligned."""
        if self.rotation is not None:
            return _quadric_section((self.centre_mm[0], self.centre_mm[1], 0.0), self.quadric(), z)
        return (self.centre_mm[0], self.centre_mm[1], self.semi_axes_mm[0], self.semi_axes_mm[1], 0.0)

    def implicit(self, x, y, z):
        """((q_1)/a)^2 + ((q_2)/b)^2 with q = R^T (p - axis point): <= 1 inside."""
        (cx, cy), (a, b) = self.centre_mm, self.semi_axes_mm
        if self.rotation is None:
            return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + 0.0 * z
        r = self.rotation
        dx, dy = x - cx, y - cy
        return sum(((r[0][k] * dx + r[1][k] * dy + r[2][k] * z) / s) ** 2 for k, s in enumerate((a, b)))

    def grown(self, margin_mm: float) -> "EllipticCylinder":
        """The same cylinder with both semi-axes increased by margin_mm."""
        return EllipticCylinder(self.centre_mm, tuple(s + margin_mm for s in self.semi_axes_mm), self.rotation)

    def moved(self, transform) -> "EllipticCylinder":
        """The cylinder after a rigid motion p -> R p + t; its axis must not become horizontal."""
        r = transform.rotation @ self.matrix
        p = transform.apply((self.centre_mm[0], self.centre_mm[1], 0.0))
        w = r[:, 2]
        if abs(w[2]) < 0.5:
            raise ValueError("rotation: tilts the spine by more than 60 degrees")
        p = p - (p[2] / w[2]) * w  # the axis point on z = 0
        return EllipticCylinder((float(p[0]), float(p[1])), self.semi_axes_mm, r)


@dataclass(frozen=True)
class Anatomy:
    """All shapes of one phantom patient.

    Parameters
    ----------
    body : Ellipsoid
        Outer body contour (soft tissue); clipped to the scanned z range [z_lo, z_hi].
    liver : Ellipsoid
        Whole liver, tumours included.
    lung_l, lung_r : Ellipsoid
        Left (+x) and right (-x) lungs.
    spine : EllipticCylinder or None
        Vertebral column (bone), clipped to the scanned z range; None for no bone.
    tumours : tuple of Ellipsoid
        Tumours, each strictly inside the liver, pairwise disjoint.
    z_lo, z_hi : float
        Scanned z range [mm] (outer faces of the first and last CT slices).
    """

    body: Ellipsoid
    liver: Ellipsoid
    lung_l: Ellipsoid
    lung_r: Ellipsoid
    spine: EllipticCylinder | None
    tumours: tuple
    z_lo: float
    z_hi: float

    def validate(self, margin_mm: float = 2.0) -> None:
        """Check the shapes are nested / disjoint as the label priorities assume.

        Tumours inside the liver with ``margin_mm``, tumours pairwise apart, liver and lungs
        apart and inside the body, organs inside the scanned z range. Checked on dense surface
        samples (a tumour at least 2 mm inside the liver, etc.).

        Raises
        ------
        ValueError
            Naming the offending shape(s).
        """
        inner_liver = self.liver.shrunk(margin_mm)
        for i, t in enumerate(self.tumours, 1):
            p = t.surface_points()
            if np.any(inner_liver.implicit(*p.T) > 1.0):
                raise ValueError(f"tumours[{i - 1}]: tumour {i} must lie inside the liver with a {margin_mm} mm margin")
            for j, u in enumerate(self.tumours[:i - 1], 1):
                if np.any(u.grown(margin_mm).implicit(*p.T) <= 1.0) or np.any(
                    t.grown(margin_mm).implicit(*u.surface_points().T) <= 1.0
                ):
                    raise ValueError(f"tumours[{i - 1}]: tumour {i} overlaps tumour {j} (or is within {margin_mm} mm)")
        organs = {"liver": self.liver, "lung_l": self.lung_l, "lung_r": self.lung_r}
        for name, o in organs.items():
            p = o.surface_points()
            if np.any(self.body.shrunk(margin_mm).implicit(*p.T) > 1.0):
                raise ValueError(f"{name}: must lie inside the body")
            zl, zh = o.z_range
            if zl < self.z_lo + margin_mm or zh > self.z_hi - margin_mm:
                raise ValueError(f"{name}: z range {zl:.1f}..{zh:.1f} mm is not inside the scanned range")
            for other_name, other in organs.items():
                if other is not o and np.any(other.grown(margin_mm).implicit(*p.T) <= 1.0):
                    raise ValueError(f"{name}: overlaps {other_name}")
            if self.spine is not None and np.any(self.spine.grown(margin_mm).implicit(*p.T) <= 1.0):
                raise ValueError(f"{name}: overlaps the spine")

    def moved(self, transform, z_lo: float | None = None, z_hi: float | None = None) -> "Anatomy":
        """Every shape after the rigid motion ``transform`` (:class:`phantoms.pose.RigidTransform`),
        scanned over [z_lo, z_hi] (default: the same range)."""
        return Anatomy(
            body=self.body.moved(transform),
            liver=self.liver.moved(transform),
            lung_l=self.lung_l.moved(transform),
            lung_r=self.lung_r.moved(transform),
            spine=None if self.spine is None else self.spine.moved(transform),
            tumours=tuple(t.moved(transform) for t in self.tumours),
            z_lo=self.z_lo if z_lo is None else float(z_lo),
            z_hi=self.z_hi if z_hi is None else float(z_hi),
        )


def default_anatomy(tumours: tuple, z_lo: float, z_hi: float, bone: bool = True) -> Anatomy:
    """The standard adult-sized phantom with the given tumours.

    Shapes (LPS, mm): body ellipsoid centre (0, 0, 85), semi-axes (170, 120, 450), i.e. a trunk
    34 x 24 cm; liver centre (-55, -5, 0), semi-axes (98, 80, 50): 4/3 pi 98 80 50 = 1642.1 mL
    (adult livers are about 1.5-1.8 L); right lung centre (-80, 10, 140), semi-axes (52, 70, 80):
    1219.8 mL; left lung centre (80, 10, 140), semi-axes (48, 68, 78): 1066.4 mL; spine an elliptic
    cylinder at (0, 95) of radius 16 mm.
    """
    return Anatomy(
        body=Ellipsoid((0.0, 0.0, 85.0), (170.0, 120.0, 450.0)),
        liver=Ellipsoid((-55.0, -5.0, 0.0), (98.0, 80.0, 50.0)),
        lung_l=Ellipsoid((80.0, 10.0, 140.0), (48.0, 68.0, 78.0)),
        lung_r=Ellipsoid((-80.0, 10.0, 140.0), (52.0, 70.0, 80.0)),
        spine=EllipticCylinder((0.0, 95.0), (16.0, 16.0)) if bone else None,
        tumours=tuple(tumours),
        z_lo=float(z_lo),
        z_hi=float(z_hi),
    )


#: Target spacing of contour points along the perimeter [mm].
CONTOUR_POINT_SPACING_MM = 1.0


def polygon_size(ax: float, ay: float, spacing_mm: float = CONTOUR_POINT_SPACING_MM) -> int:
    """Number of vertices of the polygon approximating the ellipse with semi-axes ax, ay [mm].

    About one vertex per ``spacing_mm`` of perimeter (Ramanujan's approximation of the ellipse
    perimeter), at least 32 and at most 2048.
    """
    h = ((ax - ay) / (ax + ay)) ** 2
    perimeter = math.pi * (ax + ay) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))
    return int(min(2048, max(32, math.ceil(perimeter / spacing_mm))))


def polygon_vertices(cx: float, cy: float, ax: float, ay: float, theta: float = 0.0) -> np.ndarray:
    """Vertices (x, y) [mm] of the section polygon, counter-clockwise, shape (n, 2).

    Vertex j is at parameter angle t = 2 pi j / n: (cx + ax cos t, cy + ay sin t) on the ellipse,
    or, for an ellipse whose ``ax`` axis makes the angle ``theta`` with +x,
    (cx, cy) + ax cos t (cos theta, sin theta) + ay sin t (-sin theta, cos theta).
    """
    n = polygon_size(ax, ay)
    t = 2 * math.pi * np.arange(n) / n
    if theta == 0.0:
        return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=1)
    u, v = ax * np.cos(t), ay * np.sin(t)
    c, s = math.cos(theta), math.sin(theta)
    return np.stack([cx + u * c - v * s, cy + u * s + v * c], axis=1)


def _inside_polygon(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Inside the regular n-gon inscribed in the unit circle with a vertex at angle 0.

    (u, v) are coordinates scaled to the unit circle; the affine map x -> (x - cx) / ax (after
    rotating by -theta for a rotated section) takes the section polygon to this n-gon. A point at radius r and angle theta is inside when its
    projection on the normal of its sector's edge, r cos(theta - theta_mid), is <= cos(pi / n).
    """
    step = 2 * math.pi / n
    theta = np.arctan2(v, u) % (2 * math.pi)
    mid = (np.floor(theta / step) + 0.5) * step
    return u * np.cos(mid) + v * np.sin(mid) <= math.cos(math.pi / n)


def _section_mask(shape, z, xs, ys):
    """Voxel centres inside the shape's cross-section at plane z.

    Returns ``(rows, cols, mask)`` with ``mask`` the boolean sub-array of the bounding box
    ``[rows, cols]`` (xs and ys increasing), or None when the plane misses the shape.
    """
    sec = shape.section(z)
    if sec is None:
        return None
    cx, cy, ax, ay, theta = sec
    c, s = math.cos(theta), math.sin(theta)
    ex, ey = (ax, ay) if theta == 0.0 else (math.hypot(ax * c, ay * s), math.hypot(ax * s, ay * c))  # half-extents
    i0, i1 = np.searchsorted(xs, cx - ex, side="left"), np.searchsorted(xs, cx + ex, side="right")
    j0, j1 = np.searchsorted(ys, cy - ey, side="left"), np.searchsorted(ys, cy + ey, side="right")
    if i1 <= i0 or j1 <= j0:
        return None
    if theta == 0.0:
        u = np.broadcast_to((xs[None, i0:i1] - cx) / ax, (j1 - j0, i1 - i0))
        v = np.broadcast_to((ys[j0:j1, None] - cy) / ay, (j1 - j0, i1 - i0))
    else:  # coordinates along the section's own axes, scaled to the unit circle
        dx, dy = xs[None, i0:i1] - cx, ys[j0:j1, None] - cy
        u = (dx * c + dy * s) / ax
        v = (dy * c - dx * s) / ay
    n = polygon_size(ax, ay)
    r2 = u * u + v * v
    # inside the n-gon's inscribed circle (radius cos(pi/n)): inside; outside the unit circle:
    # outside; only the thin band between needs the exact polygon test
    m = r2 <= math.cos(math.pi / n) ** 2
    band = ~m & (r2 <= 1.0)
    if band.any():
        m[band] = _inside_polygon(u[band], v[band], n)
    return slice(j0, j1), slice(i0, i1), m


def label_map(anatomy: Anatomy, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray) -> np.ndarray:
    """Voxel-centre label map on an axial grid.

    Parameters
    ----------
    anatomy : Anatomy
        The shapes.
    xs, ys, zs : numpy.ndarray
        Voxel-centre coordinates along columns (x), rows (y) and slices (z) [mm].

    Returns
    -------
    numpy.ndarray
        uint8 labels, shape (len(zs), len(ys), len(xs)), indexed [slice, row, column].
    """
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if np.any(np.diff(xs) <= 0) or np.any(np.diff(ys) <= 0):
        raise ValueError("xs, ys: voxel-centre coordinates must increase")
    out = np.zeros((len(zs), len(ys), len(xs)), dtype=np.uint8)
    # lowest priority first; later assignments win
    layers: list[tuple[Ellipsoid | EllipticCylinder, int, bool]] = [(anatomy.body, LABEL_BODY, True)]
    if anatomy.spine is not None:
        layers.append((anatomy.spine, LABEL_SPINE, True))
    layers += [
        (anatomy.lung_l, LABEL_LUNG_L, False),
        (anatomy.lung_r, LABEL_LUNG_R, False),
        (anatomy.liver, LABEL_NORMAL_LIVER, False),
    ]
    layers += [(t, LABEL_TUMOUR_BASE + i, False) for i, t in enumerate(anatomy.tumours, 1)]
    for k, z in enumerate(np.asarray(zs, dtype=float)):
        sl = out[k]
        for shape, label, clipped in layers:
            if clipped and not (anatomy.z_lo <= z <= anatomy.z_hi):
                continue
            hit = _section_mask(shape, z, xs, ys)
            if hit is not None:
                rows, cols, m = hit
                sl[rows, cols][m] = label
    return out
