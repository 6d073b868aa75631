"""Resampling between grids: exact cases for linear, nearest, fractional and activity modes."""

import numpy as np
import pytest

from dosimetry.voxel import Volume, resample_to


def test_same_grid_is_a_copy():
    v = Volume(np.arange(24.0).reshape(2, 3, 4), (2, 2, 2), unit="Bq/mL")
    r = resample_to(v, v)
    np.testing.assert_array_equal(r.array, v.array)
    assert r.array is not v.array and r.unit == v.unit


def test_integer_shift():
    a = np.arange(60.0).reshape(3, 4, 5)
    src = Volume(a, (2, 3, 4), origin_mm=(0, 0, 0))
    # reference starts one column (+x, 4 mm) and one row (+y, 3 mm) later
    ref = Volume(np.zeros((3, 4, 5)), (2, 3, 4), origin_mm=(4, 3, 0))
    r = resample_to(src, ref)
    np.testing.assert_allclose(r.array[:, :-1, :-1], a[:, 1:, 1:])
    assert np.all(r.array[:, -1, :] == 0) and np.all(r.array[:, :, -1] == 0)  # outside: fill


def test_linear_reproduces_linear_field_on_oblique_grid():
    # f(x, y, z) = 2x - y + 0.5z + 3 is reproduced exactly by trilinear interpolation
    src = Volume(np.zeros((20, 20, 20)), (2, 2, 2), origin_mm=(-20, -20, -20))
    w = src.index_to_world(np.stack(np.meshgrid(*[np.arange(20)] * 3, indexing="ij"), -1))
    src = src.with_array(2 * w[..., 0] - w[..., 1] + 0.5 * w[..., 2] + 3)
    c, s = np.cos(0.4), np.sin(0.4)
    d = np.array([[0, -s, c], [0, c, s], [1, 0, 0]], dtype=float)
    ref = Volume(np.zeros((5, 6, 7)), (1.5, 1.3, 1.1), origin_mm=(-3, -2, -4), direction=d)
    r = resample_to(src, ref)
    wr = ref.index_to_world(np.stack(np.meshgrid(*[np.arange(n) for n in ref.shape], indexing="ij"), -1))
    np.testing.assert_allclose(r.array, 2 * wr[..., 0] - wr[..., 1] + 0.5 * wr[..., 2] + 3, rtol=1e-9, atol=1e-9)


def test_nearest_mask_stays_boolean():
    m = np.zeros((4, 4, 4), bool)
    m[1:3, 1:3, 1:3] = True
    src = Volume(m, (2, 2, 2))
    ref = Volume(np.zeros((8, 8, 8)), (1, 1, 1), origin_mm=(-0.5, -0.5, -0.5))
    r = resample_to(src, ref, kind="nearest")
    assert r.array.dtype == bool
    # each source voxel becomes 2 x 2 x 2 fine voxels
    assert r.array.sum() == 8 * m.sum()


def test_fraction_of_coarse_voxel():
    m = np.zeros((2, 2, 2), bool)
    m[0, 0, 0] = m[1, 1, 1] = m[0, 1, 0] = True  # 3 of the 8 fine voxels
    src = Volume(m, (1, 1, 1))
    ref = Volume(np.zeros((1, 1, 1)), (2, 2, 2), origin_mm=(0.5, 0.5, 0.5))
    r = resample_to(src, ref, kind="fraction")
    assert r.array[0, 0, 0] == pytest.approx(3 / 8)


@pytest.mark.parametrize("unit", ["MBq", "MBq/mL", "cts"])
def test_activity_conserved(unit):
    rng = np.random.default_rng(4)
    a = np.zeros((10, 10, 10))
    a[3:7, 2:8, 4:6] = rng.random((4, 6, 2))
    src = Volume(a, (4.8, 4.8, 4.8), origin_mm=(0, 0, 0), unit=unit)
    fine = Volume(np.zeros((30, 30, 30)), (2, 2, 2), origin_mm=(-5, -5, -5))
    coarse = Volume(np.zeros((8, 8, 8)), (7.0, 7.0, 7.0), origin_mm=(-3, -3, -3))
    for ref in (fine, coarse):
        r = resample_to(src, ref, kind="activity")
        assert r.unit == src.unit
        if unit == "MBq/mL":  # the integral of the concentration is conserved
            total_in = a.sum() * src.voxel_volume.magnitude
            total_out = r.array.sum() * ref.voxel_volume.magnitude
        else:
            total_in, total_out = a.sum(), r.array.sum()
        assert total_out == pytest.approx(total_in, rel=1e-9)
    # coarse -> fine keeps the concentration of an interior voxel block
    if unit == "MBq":
        r = resample_to(src, fine, kind="activity")
        assert r.array.max() <= a.max() * fine.voxel_volume.magnitude / src.voxel_volume.magnitude * (1 + 1e-9)


def test_bad_arguments_refused():
    v = Volume(np.ones((2, 2, 2)), (1, 1, 1))
    with pytest.raises(ValueError, match="^kind: "):
        resample_to(v, v, kind="cubic")
    with pytest.raises(ValueError, match="^reference: "):
        resample_to(v, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="^volume: "):
        resample_to(v.with_array(-np.ones((2, 2, 2)), "MBq"), Volume(np.zeros((3, 3, 3)), (0.5, 0.5, 0.5)), kind="activity")
