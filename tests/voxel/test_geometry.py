"""Volume geometry: index <-> world against hand-computed positions."""

import numpy as np
import pytest

from dosimetry.voxel import Volume


def test_axial_index_to_world():
    v = Volume(np.zeros((4, 5, 6)), spacing_mm=(5.0, 2.0, 3.0), origin_mm=(-10.0, -20.0, 100.0))
    # default direction: axis 2 (i) -> +x, axis 1 (j) -> +y, axis 0 (k) -> +z
    # index (k=2, j=1, i=3): x = -10 + 3*3 = -1, y = -20 + 1*2 = -18, z = 100 + 2*5 = 110
    np.testing.assert_allclose(v.index_to_world([2, 1, 3]), [-1.0, -18.0, 110.0])
    np.testing.assert_allclose(v.world_to_index([-1.0, -18.0, 110.0]), [2, 1, 3])
    assert v.voxel_volume.to("mL").magnitude == pytest.approx(0.03)


def test_oblique_round_trip():
    c, s = np.cos(0.3), np.sin(0.3)
    d = np.array([[0, -s, c], [0, c, s], [1, 0, 0]], dtype=float)  # rotation about z
    v = Volume(np.zeros((3, 3, 3)), (2.0, 1.0, 1.0), (1.0, 2.0, 3.0), d)
    idx = np.array([[0.5, 1.5, 2.0], [2.0, 0.0, 1.0]])
    np.testing.assert_allclose(v.world_to_index(v.index_to_world(idx)), idx, atol=1e-12)
    # i = 1 step moves by (c, s, 0) mm
    np.testing.assert_allclose(v.index_to_world([0, 0, 1]) - v.index_to_world([0, 0, 0]), [c, s, 0], atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(array=np.zeros((2, 2)), spacing_mm=(1, 1, 1)), "array"),
        (dict(array=np.zeros((2, 2, 2)), spacing_mm=(1, 0, 1)), "spacing_mm"),
        (dict(array=np.zeros((2, 2, 2)), spacing_mm=(1, 1)), "spacing_mm"),
        (dict(array=np.zeros((2, 2, 2)), spacing_mm=(1, 1, 1), direction=np.ones((3, 3))), "direction"),
    ],
)
def test_bad_geometry_refused(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        Volume(**kwargs)
