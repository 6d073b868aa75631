"""Issue 26: segmentations (.seg.nrrd, label maps and their name tables, DICOM SEG) refuse cleanly and
find names as people type them; the orientation of the activity against the ROIs cannot silently mirror.

Each example of the issue is one test that failed on the main branch before the change.
"""

import tracemalloc
import unicodedata

import nrrd
import numpy as np
import pydicom
import pytest

from seg_factory import write_dicom_seg, write_labelmap_nrrd, write_seg_nrrd
from dosimetry.errors import InputError
from dosimetry.io import load_series
from dosimetry.io.segmentation import read_label_table, read_segmentation
from dosimetry.io.volumes import write_volume
from dosimetry.voxel import Volume
from dosimetry.workflow.voxel import load_imaging, voxel_dose

ROIS = dict(liver_roi="Liver", tumour_rois=("Tumour 1", "Tumour 2"), lung_rois=("Lung L", "Lung R"))


def _grid(shape=(6, 8, 10), spacing=(2.0, 1.0, 1.0), origin=(-5.0, 3.0, 10.0)):
    return Volume(np.zeros(shape, np.float32), spacing, origin)


def _box(g, sl):
    m = np.zeros(g.shape, bool)
    m[sl] = True
    return m


# --- names as people type them ---------------------------------------------------------------------
def _utf8_name(path, placeholder: str, name: str):
    """Put a UTF-8 segment name into a .seg.nrrd header, as 3D Slicer writes it (pynrrd writes ASCII only)."""
    raw = path.read_bytes()
    end = raw.index(b"\n\n") + 2
    path.write_bytes(raw[:end].replace(placeholder.encode(), name.encode("utf-8")) + raw[end:])


def test_segment_name_with_a_non_ascii_letter_is_found(tmp_path):
    # issue: "a segment name with a non-ASCII letter ("Leber ü") is not found"
    g = _grid()
    write_seg_nrrd(tmp_path / "s.seg.nrrd", [[("LEBER_PLACEHOLDER", _box(g, np.s_[1:5, 1:7, 1:9]))], [("Tumor", _box(g, np.s_[2:4, 2:4, 2:4]))]], g)
    _utf8_name(tmp_path / "s.seg.nrrd", "LEBER_PLACEHOLDER", "Leber \u00fc")  # NFC, as Slicer stores it
    seg = read_segmentation(tmp_path / "s.seg.nrrd")
    assert seg.names == ("Leber \u00fc", "Tumor")
    nfd = unicodedata.normalize("NFD", "Leber \u00fc")  # as a macOS terminal or file name gives it
    assert nfd != "Leber \u00fc"
    for asked in ("Leber \u00fc", nfd, " Leber \u00fc"):
        masks, _ = seg.masks([asked], g)
        assert int(np.asarray(masks[asked].array).sum()) == 4 * 6 * 8, asked  # keyed by the name as asked


def test_label_table_names_in_nfc_and_not_utf8_refused(tmp_path):
    (tmp_path / "t.txt").write_bytes("1 Leber_\u00fc 128 0 0 255\n".encode("utf-8"))
    assert read_label_table(tmp_path / "t.txt") == {1: "Leber_\u00fc"}
    (tmp_path / "j.json").write_text('{"1": "Leber u\u0308"}', encoding="utf-8")
    assert read_label_table(tmp_path / "j.json") == {1: "Leber \u00fc"}
    # issue: "a label table that is not UTF-8" was an internal error
    (tmp_path / "l1.txt").write_bytes("1 Leber_\u00fc\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"l1.txt is not UTF-8 text \(byte 8"):
        read_label_table(tmp_path / "l1.txt")
    (tmp_path / "big.txt").write_bytes(b"# x\n" * 400_000)
    with pytest.raises(InputError, match="holds 1.53 MiB, more than the 1 MiB of a plausible label name table"):
        read_label_table(tmp_path / "big.txt")
    for bad in ('["Liver"]', '{"1": ["Liver"]}', '{"99999999999999999999": "Liver"}', "[" * 100_000):
        (tmp_path / "b.json").write_text(bad)
        with pytest.raises(InputError, match="labels"):
            read_label_table(tmp_path / "b.json")


def test_label_map_with_a_non_regular_file_is_refused(tmp_path):
    import os

    os.mkfifo(tmp_path / "labels.txt")
    g = _grid()
    write_labelmap_nrrd(tmp_path / "l.nrrd", _box(g, np.s_[1:3, 1:3, 1:3]).astype(np.uint8), g)
    with pytest.raises(InputError, match="not a regular file"):
        read_segmentation(tmp_path / "l.nrrd", labels=tmp_path / "labels.txt")


# --- DICOM SEG ------------------------------------------------------------------------------------
@pytest.fixture()
def seg_file(tmp_path):
    g = Volume(np.zeros((6, 16, 16), np.float32), (2.0, 1.5, 1.5), (-10.0, -12.0, 30.0))
    masks = {"Liver": g.with_array(_box(g, np.s_[1:5, 2:12, 2:12]).astype(np.float32)), "Tumour": g.with_array(_box(g, np.s_[2:4, 4:8, 4:8]).astype(np.float32))}
    p = tmp_path / "seg.dcm"
    write_dicom_seg(p, masks, g)
    return p, g


def _edit_seg(path, edit):
    ds = pydicom.dcmread(str(path))
    edit(ds)
    ds.save_as(str(path), enforce_file_format=True)
    return path


def test_dicom_seg_reads_each_segment_on_its_slab(seg_file):
    p, g = seg_file
    seg = read_segmentation(p)
    assert seg.names == ("Liver", "Tumour")
    liver = seg.segment("Liver").fractions
    assert liver.shape == (4, 16, 16)  # slices 1-4 only: memory follows the frames, not the volume
    masks, _ = seg.masks(["Liver", "Tumour"], g)
    assert int(np.asarray(masks["Liver"].array).sum()) == 4 * 10 * 10
    assert int(np.asarray(masks["Tumour"].array).sum()) == 2 * 4 * 4


@pytest.mark.parametrize("edit, match", [
    # issue: "DICOM SEG frames that do not fill the volume (reshape)"
    (lambda ds: setattr(ds, "PixelData", ds.PixelData[: len(ds.PixelData) // 2]), "PixelData"),
    # issue: "zero pixel spacing"
    (lambda ds: setattr(ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0], "PixelSpacing", [0, 0]), "PixelSpacing"),
    # issue: "non-orthonormal orientation"
    (lambda ds: setattr(ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0], "ImageOrientationPatient", [1, 0, 0, 1, 1, 0]), "ImageOrientationPatient.*orthogonal"),
    (lambda ds: setattr(ds, "NumberOfFrames", 3), "NumberOfFrames"),
    (lambda ds: setattr(ds.PerFrameFunctionalGroupsSequence[0].SegmentIdentificationSequence[0], "ReferencedSegmentNumber", 9), "ReferencedSegmentNumber"),
    (lambda ds: setattr(ds.PerFrameFunctionalGroupsSequence[0].PlanePositionSequence[0], "ImagePositionPatient", [0, 0, float("nan")]), "finite"),
    (lambda ds: setattr(ds, "Rows", 0), "Rows"),
])
def test_dicom_seg_damage_is_one_line(seg_file, edit, match):
    p, _ = seg_file
    _edit_seg(p, edit)
    with pytest.raises(InputError, match=match) as info:
        read_segmentation(p)
    assert str(p) in str(info.value) and "\n" not in str(info.value)


def test_dicom_seg_frames_a_kilometre_apart_are_refused_in_little_memory(seg_file):
    # issue: "frames 1 km apart (a 15.3 GiB allocation)"
    p, _ = seg_file

    def far(ds):
        last = ds.PerFrameFunctionalGroupsSequence[-1].PlanePositionSequence[0]
        last.ImagePositionPatient = [last.ImagePositionPatient[0], last.ImagePositionPatient[1], 1_000_000.0]

    _edit_seg(p, far)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"frames span 99\d+ mm|spans at most"):
            read_segmentation(p)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 50 << 20


# --- orientation: the activity must sit where the ROIs say -------------------------------------------
@pytest.fixture(scope="module")
def slicer_case(nm_phantom, tmp_path_factory):
    """The NM phantom as a Slicer user saves it: SPECT and CT as NRRD, the ROIs as a .seg.nrrd on the SPECT grid."""
    out = tmp_path_factory.mktemp("slicer_case")
    inputs = load_imaging(nm_phantom / "nm", nm_phantom / "rtstruct.dcm", partial_volume=False, **ROIS)
    write_volume(load_series(nm_phantom / "nm").volume, out / "spect.nrrd")
    write_volume(load_series(nm_phantom / "ct").volume, out / "ct.nrrd")
    arr = {n: np.asarray(m.array) > 0 for n, m in {"Liver": inputs.liver, **inputs.tumours, **inputs.lungs}.items()}
    write_seg_nrrd(out / "rois.seg.nrrd", [[("Liver", arr["Liver"])], [(n, arr[n]) for n in ("Tumour 1", "Tumour 2", "Lung L", "Lung R")]], inputs.activity)
    return out


def test_nrrd_labelled_ras_holding_lps_numbers_is_refused(slicer_case, tmp_path):
    # issue: "an NRRD labelled RAS whose numbers are LPS is accepted without a word: Tumour 1 reads 0.0 Gy
    # (165.5 Gy with the right orientation), the liver 46.5 Gy"
    right = load_imaging(slicer_case / "spect.nrrd", slicer_case / "rois.seg.nrrd", ct=slicer_case / "ct.nrrd", activity_unit="counts", **ROIS)
    assert voxel_dose(right, administered="2 GBq", method="ldm").region("Tumour 1").stats.mean.to("Gy").magnitude > 100
    assert not any("counts lie" in w for w in right.warnings)
    data, header = nrrd.read(str(slicer_case / "spect.nrrd"), index_order="F")
    header["space"] = "right-anterior-superior"  # the numbers stay LPS
    nrrd.write(str(tmp_path / "lie.nrrd"), data, header, index_order="F")
    with pytest.raises(InputError, match=r"imaging.activity: 22% of the activity image's counts lie in the liver ROI as read, 82% if the image is read with x and y mirrored"):
        load_imaging(tmp_path / "lie.nrrd", slicer_case / "rois.seg.nrrd", ct=slicer_case / "ct.nrrd", activity_unit="counts", **ROIS)


def test_activity_array_stored_the_other_way_round_is_refused(slicer_case, tmp_path):
    data, header = nrrd.read(str(slicer_case / "spect.nrrd"), index_order="F")
    nrrd.write(str(tmp_path / "flip.nrrd"), np.ascontiguousarray(data[::-1]), header, index_order="F")  # column order reversed, header kept
    with pytest.raises(InputError, match="if the image is read (with its column|mirrored left-right)"):
        load_imaging(tmp_path / "flip.nrrd", slicer_case / "rois.seg.nrrd", activity_unit="counts", **ROIS)


def test_one_voxel_activity_image_is_refused(slicer_case, tmp_path):
    # issue: "a one-voxel image likewise" (every ROI inside one voxel, WITHIN LIMITS)
    data, header = nrrd.read(str(slicer_case / "spect.nrrd"), index_order="F")
    c = [s // 2 for s in data.shape]
    header["space origin"] = np.asarray(header["space origin"]) + np.asarray(header["space directions"]).T @ np.asarray(c, float)
    nrrd.write(str(tmp_path / "one.nrrd"), data[c[0]:c[0] + 1, c[1]:c[1] + 1, c[2]:c[2] + 1].copy(), header, index_order="F")
    with pytest.raises(InputError, match=r"segment 'Liver': (99\.\d+|100\.0)% of its .* mL lies outside the image grid"):
        load_imaging(tmp_path / "one.nrrd", slicer_case / "rois.seg.nrrd", activity_unit="counts", **ROIS)
