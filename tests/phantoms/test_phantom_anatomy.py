"""Analytic shapes of the phantom: volumes, sections, voxelization, validation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantoms.anatomy import Anatomy, Ellipsoid, EllipticCylinder, default_anatomy, label_map, polygon_size, polygon_vertices
from phantoms.anatomy import LABEL_BODY, LABEL_NORMAL_LIVER, LABEL_TUMOUR_BASE


def test_ellipsoid_volume_is_four_thirds_pi_abc():
    e = Ellipsoid((1.0, 2.0, 3.0), (98.0, 80.0, 50.0))
    assert e.volume_mm3 == pytest.approx(4.0 / 3.0 * math.pi * 98 * 80 * 50, rel=1e-14)
    # 4/3 pi 98 80 50 = 1 642 005.8 mm^3: a liver of 1.64 L
    assert e.volume_mm3 / 1000 == pytest.approx(1642.0058, abs=1e-3)


@settings(max_examples=30, deadline=None)
@given(
    a=st.floats(1, 200), b=st.floats(1, 200), c=st.floats(1, 200),
    z0=st.floats(-300, 300), z1=st.floats(-300, 300), cz=st.floats(-100, 100),
)
def test_ellipsoid_slab_volume_matches_numerical_integration(a, b, c, z0, z1, cz):
    lo, hi = min(z0, z1), max(z0, z1)
    e = Ellipsoid((0.0, 0.0, cz), (a, b, c))
    # independent: midpoint rule on the cross-section area pi a b (1 - u^2/c^2) over the clipped slab
    u_lo, u_hi = max(lo - cz, -c), min(hi - cz, c)
    if u_hi <= u_lo:
        expected = 0.0
    else:
        n = 20000
        u = u_lo + (np.arange(n) + 0.5) * (u_hi - u_lo) / n
        expected = float(np.sum(math.pi * a * b * (1 - (u / c) ** 2)) * (u_hi - u_lo) / n)
    assert e.volume_between_mm3(lo, hi) == pytest.approx(expected, rel=1e-6, abs=1e-6 * a * b * c)


def test_whole_slab_gives_whole_volume_and_cylinder_volume():
    e = Ellipsoid((0, 0, 10), (3, 4, 5))
    assert e.volume_between_mm3(-100, 100) == pytest.approx(4 / 3 * math.pi * 60, rel=1e-12)
    assert EllipticCylinder((0, 95), (16, 16)).volume_between_mm3(-80, 240) == pytest.approx(math.pi * 256 * 320)


def test_section_lies_on_the_surface():
    e = Ellipsoid((-55, -5, 0), (98, 80, 50))
    cx, cy, ax, ay, theta = e.section(30.0)
    # at z = 30 the scale is sqrt(1 - (30/50)^2) = 0.8
    assert (cx, cy, theta) == (-55, -5, 0.0)
    assert ax == pytest.approx(98 * 0.8) and ay == pytest.approx(80 * 0.8)
    assert e.section(50.0001) is None


def test_label_map_sphere_volume_converges():
    # a 20 mm sphere voxelized at 1 mm by the voxel-centre rule: volume within 1 %
    anat = default_anatomy((Ellipsoid((-85, -15, 5), (20, 20, 20)),), -80, 240)
    xs = np.arange(-110.0, -59.0, 1.0)
    ys = np.arange(-40.0, 11.0, 1.0)
    zs = np.arange(-20.0, 31.0, 1.0)
    lab = label_map(anat, xs, ys, zs)
    n = np.count_nonzero(lab == LABEL_TUMOUR_BASE + 1)
    assert n == pytest.approx(4 / 3 * math.pi * 20**3, rel=0.01)
    # tumour voxels replace liver voxels (priority), and all other voxels here are liver
    assert set(np.unique(lab)) <= {LABEL_NORMAL_LIVER, LABEL_TUMOUR_BASE + 1, LABEL_BODY}


def test_label_map_point_membership_matches_implicit_equation():
    anat = default_anatomy((), -80, 240)
    rng = np.random.default_rng(3)
    xs = np.sort(rng.uniform(-200, 200, 40))
    ys = np.sort(rng.uniform(-150, 150, 30))
    zs = rng.uniform(-60, 60, 10)
    lab = label_map(anat, xs, ys, zs)
    z, y, x = np.meshgrid(zs, ys, xs, indexing="ij")
    f = ((x + 55) / 98) ** 2 + ((y + 5) / 80) ** 2 + (z / 50) ** 2
    # away from the surface (outside the polygon/ellipse band) membership is the implicit equation
    clear = np.abs(f - 1) > 1e-3
    assert clear.mean() > 0.99
    np.testing.assert_array_equal((lab == LABEL_NORMAL_LIVER)[clear], (f <= 1)[clear])


def test_voxel_membership_follows_the_written_polygon():
    # The liver section at z = 0 is the ellipse of semi-axes 98 x 80 around (-55, -5); its polygon
    # has n vertices at angles 2 pi j / n. The midpoint of the first edge is inside the polygon's
    # boundary; a point halfway between that midpoint and the ellipse is inside the ellipse but
    # outside the polygon, so it must be labelled outside the liver.
    anat = default_anatomy((), -80, 240)
    n = polygon_size(98.0, 80.0)
    h = ((98 - 80) / 178) ** 2
    assert n == math.ceil(math.pi * 178 * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h))))  # 1 mm spacing
    t = math.pi / n  # half-way angle between vertex 0 and vertex 1
    edge_mid = np.array([-55 + 98 * (1 + math.cos(2 * t)) / 2, -5 + 80 * math.sin(2 * t) / 2])
    on_ellipse = np.array([-55 + 98 * math.cos(t), -5 + 80 * math.sin(t)])
    between = (edge_mid + on_ellipse) / 2
    assert ((between[0] + 55) / 98) ** 2 + ((between[1] + 5) / 80) ** 2 < 1  # inside the ellipse
    just_in = edge_mid + (edge_mid - on_ellipse) * 0.5
    for point, expected in ((between, 1), (just_in, LABEL_NORMAL_LIVER)):
        lab = label_map(anat, np.array([point[0]]), np.array([point[1]]), np.array([0.0]))
        assert lab[0, 0, 0] == expected
    verts = polygon_vertices(-55, -5, 98, 80)
    assert len(verts) == n
    np.testing.assert_allclose(((verts[:, 0] + 55) / 98) ** 2 + ((verts[:, 1] + 5) / 80) ** 2, 1, atol=1e-12)


def test_validate_refuses_tumour_outside_liver_and_overlaps():
    with pytest.raises(ValueError, match="inside the liver"):
        default_anatomy((Ellipsoid((40, 0, 0), (20, 20, 20)),), -80, 240).validate()
    with pytest.raises(ValueError, match="overlaps tumour 1"):
        default_anatomy(
            (Ellipsoid((-60, -5, 0), (15, 15, 15)), Ellipsoid((-40, -5, 0), (10, 10, 10))), -80, 240
        ).validate()
    with pytest.raises(ValueError, match="scanned range"):
        default_anatomy((), 0, 240).validate()
    with pytest.raises(ValueError, match="semi_axes_mm"):
        Ellipsoid((0, 0, 0), (1, 0, 1))


def _rotation_z_then_x(az, ax):
    """R = Rx(ax) Rz(az) from the two elementary rotations [deg] (independent of phantoms.pose)."""
    a, b = math.radians(az), math.radians(ax)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return rx @ rz


def _inside(p, centre, axes, r):
    """((R^T (p - c)) / axes)^2 summed: the rotated ellipsoid's equation, written here."""
    q = (np.asarray(p, float) - centre) @ r
    return ((q / axes) ** 2).sum(axis=-1)


ROT = _rotation_z_then_x(30.0, 20.0)
CENTRE, AXES = np.array([5.0, -3.0, 2.0]), np.array([30.0, 18.0, 12.0])


def test_rotated_section_polygon_lies_on_the_surface():
    e = Ellipsoid(tuple(CENTRE), tuple(AXES), ROT)
    for z in (-8.0, 0.0, 3.3, 11.0):
        cx, cy, ax, ay, theta = e.section(z)
        verts = polygon_vertices(cx, cy, ax, ay, theta)
        pts = np.column_stack([verts, np.full(len(verts), z)])
        np.testing.assert_allclose(_inside(pts, CENTRE, AXES, ROT), 1.0, atol=1e-9)
    # the planes beyond the ellipsoid's z extent miss it: h = |row z of R diag(axes)|
    h = float(np.linalg.norm(ROT[2] * AXES))
    assert e.z_range == pytest.approx((2.0 - h, 2.0 + h))
    assert e.section(2.0 + h + 1e-6) is None and e.section(2.0 + h - 1e-3) is not None


def test_rotated_slab_volume_by_point_counting():
    # the part of the rotated ellipsoid between z = -4 and z = 9, counted on a 0.25 mm lattice
    e = Ellipsoid(tuple(CENTRE), tuple(AXES), ROT)
    s = 0.25
    g = np.arange(-32.0, 32.0, s) + s / 2
    zs = np.arange(-4.0, 9.0, s) + s / 2
    count = 0
    for z in zs:
        x, y = np.meshgrid(g + CENTRE[0], g + CENTRE[1])
        count += np.count_nonzero(_inside(np.stack([x, y, np.full_like(x, z)], -1), CENTRE, AXES, ROT) <= 1)
    assert e.volume_between_mm3(-4.0, 9.0) == pytest.approx(count * s**3, rel=2e-3)
    assert e.volume_between_mm3(-100.0, 100.0) == pytest.approx(4 / 3 * math.pi * 30 * 18 * 12, rel=1e-12)


def test_rotated_label_map_follows_the_equation():
    anat = default_anatomy((), -80, 240)
    anat = Anatomy(anat.body, Ellipsoid((-55, -5, 0), (98, 80, 50), ROT), anat.lung_l, anat.lung_r, None, (), -80, 240)
    rng = np.random.default_rng(5)
    xs = np.sort(rng.uniform(-170, 60, 50))
    ys = np.sort(rng.uniform(-100, 100, 40))
    zs = rng.uniform(-60, 60, 12)
    lab = label_map(anat, xs, ys, zs)
    z, y, x = np.meshgrid(zs, ys, xs, indexing="ij")
    f = _inside(np.stack([x, y, z], -1), np.array([-55.0, -5.0, 0.0]), np.array([98.0, 80.0, 50.0]), ROT)
    clear = np.abs(f - 1) > 1e-3
    np.testing.assert_array_equal((lab == LABEL_NORMAL_LIVER)[clear], (f <= 1)[clear])
    assert np.count_nonzero(lab == LABEL_NORMAL_LIVER) > 1000


def test_tilted_cylinder_volume_and_section():
    # the spine tilted by 20 degrees about x: axial sections are ellipses stretched by 1 / cos 20
    r = _rotation_z_then_x(0.0, 20.0)
    c = EllipticCylinder((0.0, 95.0), (16.0, 16.0), r)
    cx, cy, ax, ay, theta = c.section(50.0)
    assert sorted((ax, ay)) == pytest.approx([16.0, 16.0 / math.cos(math.radians(20))])
    # the axis direction is R e_z = (0, -sin 20, cos 20): at z = 50 it has moved by -50 tan 20 in y
    assert (cx, cy) == pytest.approx((0.0, 95.0 - 50 * math.tan(math.radians(20))))
    assert c.volume_between_mm3(0.0, 100.0) == pytest.approx(math.pi * 256 * 100 / math.cos(math.radians(20)))


@pytest.mark.parametrize("n", [2, 16384, 16385, 16386, 32769, 100_000])
def test_rotated_in_blocks_is_the_whole_product_bit_for_bit(n):
    from phantoms.anatomy import _rotated
    from phantoms.pose import DEFAULT_POST_TRANSFORM, RigidTransform

    rng = np.random.default_rng(n)
    p = rng.normal(size=(n, 3)) * (98.0, 80.0, 50.0) + (-55.0, -5.0, 0.0)
    for rotation in (DEFAULT_POST_TRANSFORM.rotation, RigidTransform(27.0, (1.0, -2.0, 0.5), (0.0, 0.0, 0.0)).rotation):
        rt = np.asarray(rotation).T
        assert _rotated(p, rt).tobytes() == (p @ rt).tobytes()
