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


@dataclass(frozen=True)
class Ellipsoid:
    """Axis-aligned ellipsoid in patient space.

    Parameters
    ----------
    centre_mm : tuple of 3 float
        Centre (x, y, z) [mm], LPS.
    semi_axes_mm : tuple of 3 float
        Semi-axes (a, b, c) along x, y, z [mm], all > 0.
    """

    centre_mm: tuple
    semi_axes_mm: tuple

    def __post_init__(self):
        c = tuple(float(v) for v in self.centre_mm)
        s = tuple(float(v) for v in self.semi_axes_mm)
        if len(c) != 3 or not all(math.isfinite(v) for v in c):
            raise ValueError(f"centre_mm: expected 3 finite values in mm, got {self.centre_mm!r}")
        if len(s) != 3 or not all(math.isfinite(v) and v > 0 for v in s):
            raise ValueError(f"semi_axes_mm: expected 3 finite values > 0 mm, got {self.semi_axes_mm!r}")
        object.__setattr__(self, "centre_mm", c)
        object.__setattr__(self, "semi_axes_mm", s)

    @property
    def volume_mm3(self) -> float:
        """Whole volume 4/3 pi a b c [mm^3]."""
        a, b, c = self.semi_axes_mm
        return 4.0 / 3.0 * math.pi * a * b * c

    @property
    def z_range(self) -> tuple:
        """(lowest, highest) z of the shape [mm]."""
        return (self.centre_mm[2] - self.semi_axes_mm[2], self.centre_mm[2] + self.semi_axes_mm[2])

    def volume_between_mm3(self, z_lo: float, z_hi: float) -> float:
        """Volume of the part with z_lo <= z <= z_hi [mm^3] (analytic, see module docstring)."""
        a, b, c = self.semi_axes_mm
        u0 = min(max(z_lo - self.centre_mm[2], -c), c)
        u1 = min(max(z_hi - self.centre_mm[2], -c), c)
        if u1 <= u0:
            return 0.0
        f = lambda u: u - u**3 / (3.0 * c * c)  # noqa: E731
        return math.pi * a * b * (f(u1) - f(u0))

    def section(self, z: float):
        """Axial cross-section at plane z: (cx, cy, ax, ay) [mm], or None when it misses."""
        a, b, c = self.semi_axes_mm
        s = 1.0 - ((z - self.centre_mm[2]) / c) ** 2
        if s <= 0.0:
            return None
        r = math.sqrt(s)
        return (self.centre_mm[0], self.centre_mm[1], a * r, b * r)

    def implicit(self, x, y, z):
        """sum(((p - centre) / semi_axes)^2): <= 1 inside (broadcasts over arrays)."""
        (cx, cy, cz), (a, b, c) = self.centre_mm, self.semi_axes_mm
        return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + ((z - cz) / c) ** 2

    def surface_points(self, n_theta: int = 41, n_phi: int = 80) -> np.ndarray:
        """Points on the surface, shape (n, 3) [mm], for containment checks."""
        th = np.linspace(0.0, math.pi, n_theta)
        ph = np.linspace(0.0, 2 * math.pi, n_phi, endpoint=False)
        t, p = np.meshgrid(th, ph, indexing="ij")
        (cx, cy, cz), (a, b, c) = self.centre_mm, self.semi_axes_mm
        return np.stack(
            [cx + a * np.sin(t) * np.cos(p), cy + b * np.sin(t) * np.sin(p), cz + c * np.cos(t)], axis=-1
        ).reshape(-1, 3)

    def shrunk(self, margin_mm: float) -> "Ellipsoid":
        """The same ellipsoid with every semi-axis reduced by margin_mm (for inside-with-margin tests)."""
        return Ellipsoid(self.centre_mm, tuple(s - margin_mm for s in self.semi_axes_mm))

    def grown(self, margin_mm: float) -> "Ellipsoid":
        """The same ellipsoid with every semi-axis increased by margin_mm."""
        return Ellipsoid(self.centre_mm, tuple(s + margin_mm for s in self.semi_axes_mm))


@dataclass(frozen=True)
class EllipticCylinder:
    """Elliptic cylinder along z, infinite in z (clipped to the scanned range by the caller).

    Parameters
    ----------
    centre_mm : tuple of 2 float
        Axis position (x, y) [mm].
    semi_axes_mm : tuple of 2 float
        Semi-axes (a, b) along x and y [mm].
    """

    centre_mm: tuple
    semi_axes_mm: tuple

    def volume_between_mm3(self, z_lo: float, z_hi: float) -> float:
        """pi a b (z_hi - z_lo) [mm^3]."""
        a, b = self.semi_axes_mm
        return math.pi * a * b * max(0.0, z_hi - z_lo)

    def section(self, z: float):
        """Axial cross-section (cx, cy, ax, ay) [mm]; the same on every plane."""
        return (self.centre_mm[0], self.centre_mm[1], self.semi_axes_mm[0], self.semi_axes_mm[1])

    def implicit(self, x, y, z):
        """((x-cx)/a)^2 + ((y-cy)/b)^2: <= 1 inside."""
        (cx, cy), (a, b) = self.centre_mm, self.semi_axes_mm
        return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + 0.0 * z


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
            if self.spine is not None and np.any(
                EllipticCylinder(self.spine.centre_mm, tuple(s + margin_mm for s in self.spine.semi_axes_mm)).implicit(*p.T)
                <= 1.0
            ):
                raise ValueError(f"{name}: overlaps the spine")


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


def polygon_vertices(cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
    """Vertices (x, y) [mm] of the section polygon, counter-clockwise, shape (n, 2).

    Vertex j is at parameter angle 2 pi j / n: (cx + ax cos t, cy + ay sin t), on the ellipse.
    """
    n = polygon_size(ax, ay)
    t = 2 * math.pi * np.arange(n) / n
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=1)


def _inside_polygon(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Inside the regular n-gon inscribed in the unit circle with a vertex at angle 0.

    (u, v) are coordinates scaled to the unit circle; the affine map x -> (x - cx) / ax takes
    the section polygon to this n-gon. A point at radius r and angle theta is inside when its
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
    cx, cy, ax, ay = sec
    i0, i1 = np.searchsorted(xs, cx - ax, side="left"), np.searchsorted(xs, cx + ax, side="right")
    j0, j1 = np.searchsorted(ys, cy - ay, side="left"), np.searchsorted(ys, cy + ay, side="right")
    if i1 <= i0 or j1 <= j0:
        return None
    u = np.broadcast_to((xs[None, i0:i1] - cx) / ax, (j1 - j0, i1 - i0))
    v = np.broadcast_to((ys[j0:j1, None] - cy) / ay, (j1 - j0, i1 - i0))
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
    layers = [(anatomy.body, LABEL_BODY, True)]
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
