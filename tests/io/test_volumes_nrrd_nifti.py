"""NRRD and NIfTI geometry read from the header, checked against positions worked out by hand."""

import nibabel as nib
import nrrd
import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.io.volumes import read_nifti, read_nrrd, read_volume, write_volume


def _data():
    return np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)  # file order (i, j, k): 4 x 3 x 2


def test_nrrd_ras_space_is_turned_into_lps(tmp_path):
    # RAS header: i steps +2 mm in R (= -x LPS), j +3 mm in A (= -y), k +5 mm in S; origin (10, 20, 30) RAS.
    hdr = {"space": "right-anterior-superior", "space directions": np.diag([2.0, 3.0, 5.0]), "space origin": np.array([10.0, 20.0, 30.0]),
           "kinds": ["domain"] * 3}
    nrrd.write(str(tmp_path / "a.nrrd"), _data(), hdr, index_order="F")
    v = read_nrrd(tmp_path / "a.nrrd", unit="cts")
    assert v.shape == (2, 3, 4)  # [k, j, i]
    assert v.spacing_mm == (5.0, 3.0, 2.0)
    # sample (i, j, k) = (3, 2, 1) lies at RAS (10 + 6, 20 + 6, 30 + 5) = LPS (-16, -26, 35)
    assert v.index_to_world([1, 2, 3]) == pytest.approx([-16.0, -26.0, 35.0])
    assert v.array[1, 2, 3] == _data()[3, 2, 1]
    assert f"{v.unit:~P}" == "cts"


def test_nrrd_oblique_lps_and_round_trip_through_the_writer(tmp_path):
    c, s = np.cos(0.3), np.sin(0.3)
    dirs = np.array([[2 * c, 2 * s, 0.0], [-3 * s, 3 * c, 0.0], [0.0, 0.0, 4.0]])
    hdr = {"space": "LPS", "space directions": dirs, "space origin": np.array([-5.0, 7.0, 1.0]), "kinds": ["domain"] * 3}
    nrrd.write(str(tmp_path / "o.nhdr"), _data(), hdr, index_order="F")
    v = read_volume(tmp_path / "o.nhdr")
    # (i, j, k) = (1, 1, 1): origin + row 0 + row 1 + row 2 of the directions
    assert v.index_to_world([1, 1, 1]) == pytest.approx([-5 + 2 * c - 3 * s, 7 + 2 * s + 3 * c, 5.0])
    for name in ("back.nrrd", "back.nii.gz", "back.nii"):
        w = read_volume(write_volume(v, tmp_path / name))
        assert w.same_grid(v, tol_mm=1e-4) and np.array_equal(w.array, v.array), name


def test_nrrd_refusals(tmp_path):
    base = {"space directions": np.diag([1.0, 1.0, 1.0]), "space origin": np.zeros(3), "kinds": ["domain"] * 3}
    nrrd.write(str(tmp_path / "a.nrrd"), _data(), dict(base, space="3D-right-handed"), index_order="F")
    with pytest.raises(InputError, match="not a patient space"):
        read_nrrd(tmp_path / "a.nrrd")
    nrrd.write(str(tmp_path / "b.nrrd"), _data(), dict(base, space="LPS", **{"space directions": np.array([[1.0, 0, 0], [1.0, 1.0, 0], [0, 0, 1.0]])}), index_order="F")
    with pytest.raises(InputError, match="not orthogonal"):
        read_nrrd(tmp_path / "b.nrrd")
    (tmp_path / "c.nrrd").write_bytes(b"not an nrrd")
    with pytest.raises(InputError, match="not an NRRD"):
        read_nrrd(tmp_path / "c.nrrd")


def test_nifti_sform_first_then_qform_and_neither_refused(tmp_path):
    sform = np.array([[-2.0, 0, 0, 100.0], [0, 3.0, 0, -50.0], [0, 0, 5.0, 20.0], [0, 0, 0, 1]])  # RAS
    img = nib.Nifti1Image(_data(), sform)
    img.header.set_sform(sform, code=2)
    img.header.set_qform(np.diag([-9.0, 9.0, 9.0, 1.0]), code=1)  # ignored: sform wins (same axis directions)
    nib.save(img, str(tmp_path / "s.nii.gz"))
    v = read_nifti(tmp_path / "s.nii.gz")
    # voxel (i, j, k) = (1, 2, 1): RAS (100 - 2, -50 + 6, 20 + 5) = LPS (-98, 44, 25)
    assert v.index_to_world([1, 2, 1]) == pytest.approx([-98.0, 44.0, 25.0])
    img.header.set_sform(None, code=0)
    img.header.set_qform(sform, code=1)
    nib.save(img, str(tmp_path / "q.nii"))
    assert read_nifti(tmp_path / "q.nii").index_to_world([1, 2, 1]) == pytest.approx([-98.0, 44.0, 25.0], abs=1e-4)
    bare = nib.Nifti1Image(_data(), None)
    bare.header.set_sform(None, code=0)
    bare.header.set_qform(None, code=0)
    nib.save(bare, str(tmp_path / "none.nii"))
    with pytest.raises(InputError, match="neither sform nor qform"):
        read_nifti(tmp_path / "none.nii")


def test_nifti_scaling_is_applied(tmp_path):
    img = nib.Nifti1Image(np.ones((2, 2, 2), np.int16), np.eye(4))
    img.header.set_sform(np.eye(4), code=1)
    img.header.set_slope_inter(2.5, -1.0)
    nib.save(img, str(tmp_path / "s.nii"))
    assert np.all(read_nifti(tmp_path / "s.nii").array == pytest.approx(1.5))


from hypothesis import given, settings, strategies as st  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(
    quat=st.tuples(*[st.floats(-1, 1)] * 4).filter(lambda q: sum(x * x for x in q) > 0.1),
    spacing=st.tuples(*[st.floats(0.3, 6.0)] * 3),
    origin=st.tuples(*[st.floats(-300, 300)] * 3),
    ras=st.booleans(),
    nifti=st.booleans(),
    ijk=st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 1)),
)
def test_any_header_geometry_maps_samples_where_the_header_says(tmp_path_factory, quat, spacing, origin, ras, nifti, ijk):
    """Property: the world position of file sample (i, j, k) is origin + i d_i + j d_j + k d_k in the
    header's space, turned into LPS by the signs of x and y when the space is RAS (NIfTI: always RAS)."""
    rot = Rotation.from_quat(quat).as_matrix()
    steps = rot * np.asarray(spacing)[None, :]  # columns: step vectors of i, j, k in the header's space
    tmp = tmp_path_factory.mktemp("geo")
    if nifti:
        affine = np.eye(4)
        affine[:3, :3], affine[:3, 3] = steps, origin
        img = nib.Nifti1Image(_data(), affine)
        img.header.set_sform(affine, code=1)
        nib.save(img, str(tmp / "g.nii"))
        v, sign = read_volume(tmp / "g.nii"), np.array([-1.0, -1.0, 1.0])
    else:
        nrrd.write(str(tmp / "g.nrrd"), _data(), {"space": "RAS" if ras else "LPS", "space directions": steps.T, "space origin": np.asarray(origin),
                                                   "kinds": ["domain"] * 3}, index_order="F")
        v, sign = read_volume(tmp / "g.nrrd"), (np.array([-1.0, -1.0, 1.0]) if ras else np.ones(3))
    i, j, k = ijk
    want = sign * (np.asarray(origin) + steps @ np.array([i, j, k], float))
    tol = 1e-3 if nifti else 1e-6  # NIfTI stores the sform in float32
    assert v.index_to_world([k, j, i]) == pytest.approx(want, abs=tol * (1 + np.abs(want).max()))
    assert v.array[k, j, i] == _data()[i, j, k]
