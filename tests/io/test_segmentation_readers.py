"""Segmentation readers: Slicer .seg.nrrd layers, label maps, DICOM SEG; occupancy fractions by hand."""

import numpy as np
import pydicom
import pytest

from seg_factory import write_dicom_seg, write_labelmap_nrrd, write_seg_nrrd
from dosimetry.errors import InputError
from dosimetry.io.segmentation import read_label_table, read_segmentation
from dosimetry.voxel import Volume


def _grid(shape=(6, 8, 10), spacing=(2.0, 1.0, 1.0), origin=(-5.0, 3.0, 10.0)):
    return Volume(np.zeros(shape, np.float32), spacing, origin)


def test_seg_nrrd_two_layers_with_overlapping_tumours_inside_the_liver(tmp_path):
    g = _grid()
    liver = np.zeros(g.shape, bool)
    liver[1:5, 1:7, 1:9] = True
    t1 = np.zeros(g.shape, bool)
    t1[2:4, 2:4, 2:4] = True  # inside the liver: overlaps it (another layer)
    t2 = np.zeros(g.shape, bool)
    t2[2:3, 5:6, 6:8] = True
    t3 = np.zeros(g.shape, bool)
    t3[3:5, 3:5, 3:5] = True  # overlaps Tumour A ([2:4]^3) in the one voxel [3, 3, 3] (a third layer)
    lung = np.zeros(g.shape, bool)
    lung[5, :, :] = True
    write_seg_nrrd(tmp_path / "s.seg.nrrd", [[("Liver", liver), ("Lungs", lung)], [("Tumour A", t1), ("Tumour B", t2)], [("Tumour C", t3)]], g)
    seg = read_segmentation(tmp_path / "s.seg.nrrd")
    assert seg.kind == "seg.nrrd" and seg.names == ("Liver", "Lungs", "Tumour A", "Tumour B", "Tumour C")
    assert [s.layer for s in seg.segments] == [0, 0, 1, 1, 2]
    masks, notes = seg.masks(seg.names, g)
    for name, want in (("Liver", liver), ("Lungs", lung), ("Tumour A", t1), ("Tumour B", t2), ("Tumour C", t3)):
        assert np.array_equal(np.asarray(masks[name].array) > 0, want), name
    # the tumours lie inside the liver: every tumour voxel is liver too; A and C share one voxel
    assert np.all(np.asarray(masks["Liver"].array)[t1 | t2] == 1)
    assert int(np.sum((np.asarray(masks["Tumour A"].array) > 0) & (np.asarray(masks["Tumour C"].array) > 0))) == 1
    assert notes == ()
    with pytest.raises(InputError, match="no segment named 'Spleen'"):
        seg.mask("Spleen", g)


def test_occupancy_fractions_on_a_coarser_shifted_grid_by_hand(tmp_path):
    """A 2 x 2 x 2 mm cube of fine 1 mm voxels, target voxels 2 mm shifted by 0.5 mm on every axis.

    Fine voxels cover [0, 2] mm on each axis; target voxels are centred at 0.5 + 2 n, covering
    [-0.5, 1.5] and [1.5, 3.5]: per axis the cube puts 1.5 mm (0.75) in the first, 0.5 mm (0.25)
    in the second. Fractions are products: 0.75^3, 0.75^2 x 0.25, 0.75 x 0.25^2, 0.25^3.
    """
    fine = Volume(np.zeros((4, 4, 4), np.float32), (1.0, 1.0, 1.0), (0.5, 0.5, 0.5))  # centres 0.5 .. 3.5
    cube = np.zeros(fine.shape, np.uint8)
    cube[0:2, 0:2, 0:2] = 1  # fine voxels covering [0, 2] mm
    write_labelmap_nrrd(tmp_path / "l.nrrd", cube, fine)
    target = Volume(np.zeros((2, 2, 2), np.float32), (2.0, 2.0, 2.0), (0.5, 0.5, 0.5))
    seg = read_segmentation(tmp_path / "l.nrrd", labels={1: "Cube"})
    f = np.asarray(seg.mask("Cube", target).array, dtype=float)
    a, b = 0.75, 0.25
    assert f[0, 0, 0] == pytest.approx(a**3) and f[1, 0, 0] == pytest.approx(a * a * b)
    assert f[1, 1, 0] == pytest.approx(a * b * b) and f[1, 1, 1] == pytest.approx(b**3)
    assert f.sum() * 8 == pytest.approx(8.0)  # 8 mm3 conserved


def test_oblique_target_uses_subpoints_and_keeps_the_volume(tmp_path):
    fine = Volume(np.zeros((30, 30, 30), np.float32), (1.0, 1.0, 1.0), (-14.5, -14.5, -14.5))
    idx = np.indices(fine.shape).transpose(1, 2, 3, 0) - 14.5
    ball = (np.sum(idx**2, axis=-1) <= 10.0**2).astype(np.uint8)
    write_labelmap_nrrd(tmp_path / "b.nrrd", ball, fine)
    c, s = np.cos(0.4), np.sin(0.4)
    rot = np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])
    target = Volume(np.zeros((12, 12, 12), np.float32), (3.0, 3.0, 3.0), tuple(rot @ np.full(3, -16.5)), rot)
    f = read_segmentation(tmp_path / "b.nrrd", labels={1: "Ball"}).mask("Ball", target)
    assert float(np.sum(f.array)) * 27 == pytest.approx(float(ball.sum()), rel=0.01)


def test_dicom_seg_binary_and_fractional(tmp_path):
    g = Volume(np.zeros((4, 5, 6), np.float32), (2.5, 1.5, 1.5), (-3.0, 4.0, -2.0))
    m = np.zeros(g.shape, np.float32)
    m[1, 1:3, 2:5] = 1.0
    m[2, 2, 2] = 0.5
    masks = {"Tumour": g.with_array(m), "Other": g.with_array((m == 0).astype(np.float32))}
    write_dicom_seg(tmp_path / "b.dcm", masks, g, fractional=False)
    write_dicom_seg(tmp_path / "f.dcm", masks, g, fractional=True)
    b = read_segmentation(tmp_path / "b.dcm")
    assert b.kind == "dicom-seg" and b.names == ("Tumour", "Other")
    assert np.array_equal(np.asarray(b.mask("Tumour", g).array), (m > 0).astype(np.float32))
    f = read_segmentation(tmp_path / "f.dcm").mask("Tumour", g)
    assert np.asarray(f.array) == pytest.approx(np.round(m * 200) / 200)
    # orientation given per frame instead of shared (allowed by the functional-group macros)
    ds = pydicom.dcmread(str(tmp_path / "b.dcm"))
    po = ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence
    del ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence
    for f in ds.PerFrameFunctionalGroupsSequence:
        f.PlaneOrientationSequence = po
    ds.save_as(tmp_path / "pf.dcm")
    assert np.array_equal(np.asarray(read_segmentation(tmp_path / "pf.dcm").mask("Tumour", g).array), (m > 0).astype(np.float32))
    ds = pydicom.dcmread(str(tmp_path / "f.dcm"))
    ds.SegmentationFractionalType = "PROBABILITY"
    ds.save_as(tmp_path / "p.dcm")
    with pytest.raises(InputError, match="PROBABILITY"):
        read_segmentation(tmp_path / "p.dcm")


def test_rtstruct_and_other_dicom(nm_phantom):
    seg = read_segmentation(nm_phantom / "rtstruct.dcm")
    assert seg.kind == "rtstruct" and "Liver" in seg.names and "Tumour 2" in seg.names
    with pytest.raises(InputError, match="Modality"):
        read_segmentation(nm_phantom / "ct" / "CT_0001.dcm")
    with pytest.raises(InputError, match="^labels: a name table is for a label map"):
        read_segmentation(nm_phantom / "rtstruct.dcm", labels={1: "Liver"})


def test_label_tables(tmp_path):
    (tmp_path / "t.txt").write_text("# Slicer colour table\n0 Background 0 0 0 0\n")
    with pytest.raises(InputError, match="0 is background"):
        read_label_table(tmp_path / "t.txt")
    assert read_label_table({"1": "Liver", 2: "Tumour"}) == {1: "Liver", 2: "Tumour"}
    with pytest.raises(InputError, match="share one name"):
        read_label_table({1: "Liver", 2: "Liver"})


from hypothesis import given, settings, strategies as st  # noqa: E402

from dosimetry.io.segmentation import _label_fractions  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    fine=st.tuples(*[st.floats(0.5, 3.0)] * 3),
    coarse=st.tuples(*[st.floats(1.0, 6.0)] * 3),
    shift=st.tuples(*[st.floats(-3.0, 3.0)] * 3),
    flip=st.tuples(*[st.booleans()] * 3),
)
def test_box_overlap_conserves_volume_and_ignores_axis_direction(seed, fine, coarse, shift, flip):
    """Property: target grid containing the source -> sum of fractions x target voxel = segment volume;
    fractions in [0, 1]; the same boxes described with reversed axes give the same fractions."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=(5, 6, 7)).astype(np.uint8)
    src = Volume(np.zeros(labels.shape), fine, shift)
    extent = np.asarray(labels.shape) * np.asarray(fine)
    n = tuple(int(np.ceil((e + 8.0) / c)) + 1 for e, c in zip(extent, coarse))
    # target: same axes, its first voxel's corner 4 mm below the source's first corner, 4 mm beyond its last
    corner = src.index_to_world(np.array([-0.5, -0.5, -0.5])) - 4.0
    tgt = Volume(np.zeros(n), coarse, tuple(corner + src.direction @ (np.asarray(coarse) / 2)), src.direction)
    f1, f2 = _label_fractions(labels, [1, 2], src, tgt)
    assert f1.min() >= 0 and f1.max() <= 1 + 1e-12 and np.all(f1 + f2 <= 1 + 1e-9)
    vs, vt = np.prod(fine), np.prod(coarse)
    assert f1.sum() * vt == pytest.approx(np.sum(labels == 1) * vs, rel=1e-9)
    # reversed axes: flip the array and move the origin to the other end, direction negated
    arr, d, org = labels, src.direction.copy(), np.asarray(src.origin_mm, float)
    for a in range(3):
        if flip[a]:
            org = org + d[:, a] * fine[a] * (labels.shape[a] - 1)
            d[:, a] = -d[:, a]
            arr = np.flip(arr, axis=a)
    src2 = Volume(np.zeros(arr.shape), fine, tuple(org), d)
    g1, _ = _label_fractions(np.ascontiguousarray(arr), [1, 2], src2, tgt)
    assert g1 == pytest.approx(f1, abs=1e-9)
