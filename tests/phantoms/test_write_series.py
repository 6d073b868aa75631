"""The CT and PET series are written from their common elements encoded once (phantoms.write._Series,
issue 22): each file must be what pydicom's dcmwrite writes of the whole dataset, built element by
element as before, byte for byte and element for element."""

import datetime as dt
from pathlib import Path

import numpy as np
import pydicom
import pytest

from phantoms import write as w
from phantoms.spec import Y90_IMAGE
from phantoms.truth import GridInfo


def _hdr(n_ct: int, n_em: int) -> dict:
    when = dt.datetime(2026, 1, 16, 9, 30, 15, 250000)
    return {
        "patient_id": "PH-ß1",
        "patient_name": "Müller^Jürgen",  # ISO_IR 100 (latin-1) characters in a PN
        "uids": w.make_uids("anatomy-key", "emission-key", n_ct, n_em),
        "study_datetime": when,
        "acquisition_datetime": when + dt.timedelta(hours=20),
        "administration_datetime": when - dt.timedelta(hours=2),
        "administered_bq": 2.75e9,
        "half_life_s": 230400.0,
        "nuclide": Y90_IMAGE,
        "duration_s": 1200.0,
        "study_description": "Y-90 radioembolization phantom, post-treatment",
    }


GRID = GridInfo((5, 6, 7), (2.5, 1.25, 1.25), (-3.75, -3.125, 72.5))


def _same_files(path: Path, whole: pydicom.Dataset, tmp_path: Path) -> None:
    reference = tmp_path / ("reference-" + path.name)
    pydicom.dcmwrite(str(reference), whole, enforce_file_format=True)  # as the phantoms were written before
    assert path.read_bytes() == reference.read_bytes()
    a, b = pydicom.dcmread(path), pydicom.dcmread(reference)
    assert a.file_meta == b.file_meta
    assert [e.tag for e in a] == [e.tag for e in b]
    for ea, eb in zip(a, b):
        assert (ea.VR, ea.value) == (eb.VR, eb.value), ea.tag
    if "PixelData" in b:
        assert np.array_equal(a.pixel_array, b.pixel_array)


def test_ct_slices_equal_dcmwrite_of_the_whole_dataset(tmp_path):
    hdr = _hdr(GRID.shape[0], 1)
    hu = np.random.default_rng(1).integers(-1024, 3000, GRID.shape)
    names = w.write_ct(tmp_path, hu, GRID, hdr)
    stored = (hu.astype(np.int32) + 1024).clip(0, 65535).astype("<u2")
    assert names == [f"CT_{k:04d}.dcm" for k in range(1, 6)]
    for k, name in enumerate(names):
        _same_files(tmp_path / name, w._ct_dataset(hdr, GRID, hdr["study_datetime"], k, stored[k]), tmp_path)
        assert np.array_equal(pydicom.dcmread(tmp_path / name).pixel_array.astype(int) - 1024, hu[k])


def test_pet_slices_equal_dcmwrite_of_the_whole_dataset(tmp_path):
    hdr = _hdr(1, GRID.shape[0])
    bqml = np.random.default_rng(2).gamma(2.0, 5000.0, GRID.shape)
    bqml[2] = 0.0  # an empty slice: slope 1
    names = w.write_pt(tmp_path, bqml, GRID, hdr)
    slopes = set()
    for k, name in enumerate(names):
        stored, slope = w._u16_scale(bqml[k], integer_ok=False)
        slopes.add(slope)
        _same_files(tmp_path / name, w._pt_dataset(hdr, GRID, hdr["acquisition_datetime"], k, stored, slope), tmp_path)
        ds = pydicom.dcmread(tmp_path / name)
        assert ds.ImageIndex == k + 1 and float(ds.ImagePositionPatient[2]) == pytest.approx(72.5 + 2.5 * k)
        assert np.allclose(ds.pixel_array * float(ds.RescaleSlope), bqml[k], rtol=0, atol=float(ds.RescaleSlope))
    assert len(slopes) == 5  # the per-slice slope is each file's own


def test_each_file_has_its_own_uid_in_the_file_meta(tmp_path):
    hdr = _hdr(GRID.shape[0], 1)
    w.write_ct(tmp_path, np.zeros(GRID.shape), GRID, hdr)
    seen = [pydicom.dcmread(p) for p in sorted(tmp_path.glob("CT_*.dcm"))]
    assert [d.SOPInstanceUID for d in seen] == hdr["uids"]["ct_instances"]
    assert [d.file_meta.MediaStorageSOPInstanceUID for d in seen] == hdr["uids"]["ct_instances"]


# --- RT Structure Set (phantoms.write.write_rtstruct, issue 22: encoded from pieces, not per-contour datasets)
def _anatomy(moved: bool):
    from phantoms.anatomy import default_anatomy
    from phantoms.pose import DEFAULT_POST_TRANSFORM
    from phantoms.spec import make_spec

    spec = make_spec(tumours=3)
    anatomy = default_anatomy(tuple(t.shape for t in spec.tumours), -80.0, 240.0)
    return anatomy.moved(DEFAULT_POST_TRANSFORM) if moved else anatomy


@pytest.mark.parametrize("moved", [False, True], ids=["planning", "rotated"])
def test_rtstruct_equals_dcmwrite_of_the_whole_dataset(tmp_path, moved):
    from phantoms.patient import _rois

    grid = GridInfo((24, 8, 8), (7.0, 3.5, 3.5), (-12.25, -12.25, -72.0))  # every ROI, holes on a few planes
    hdr = _hdr(grid.shape[0], 1)
    rois = _rois(_anatomy(moved))
    path = tmp_path / "rtstruct.dcm"
    w.write_rtstruct(path, rois, grid, hdr)
    whole = w._rtstruct_dataset(rois, grid, hdr)
    _same_files(path, whole, tmp_path)
    ds = pydicom.dcmread(path)
    names = [r.ROIName for r in ds.StructureSetROISequence]
    assert names[:3] == ["Body", "Liver", "Normal Liver"] and "Tumour 3" in names and names[-1] == "Spine"
    normal = ds.ROIContourSequence[2].ContourSequence
    assert len(normal) > len(ds.ROIContourSequence[1].ContourSequence)  # the tumours' holes
    assert [int(c.ContourNumber) for c in normal] == list(range(1, len(normal) + 1))
    for c in normal:
        assert len(c.ContourData) == 3 * int(c.NumberOfContourPoints)
        k = hdr["uids"]["ct_instances"].index(c.ContourImageSequence[0].ReferencedSOPInstanceUID)
        assert float(c.ContourData[2]) == pytest.approx(-72.0 + 7.0 * k)


@pytest.mark.parametrize("section", [
    (-55.0, -5.0, 97.3, 79.1, 0.0),
    (-0.0, 0.0, 3.25, 2.5, 0.0),  # -0.0 is written "-0", 0.0 "0": not the same section
    (12.000000001, -9.5, 40.0, 20.0, 0.0698),
    (1e-7, 123456.789, 0.4, 0.3, -1.2),
])
@pytest.mark.parametrize("hole", [False, True])
def test_contour_text_is_each_value_formatted_with_percent_10g(section, hole):
    texts = w._ContourText()
    for z in (-72.0, 0.0, -0.0, 13.3, 1e-9):
        pts = w.contour_points(*section, z, hole=hole)
        n, text = texts(section, z, hole)
        assert n == len(pts)
        assert text == "\\".join("%.10g" % v for v in pts.ravel().tolist()).encode("ascii")  # the values written before
    other = (0.0, -0.0) + section[2:] if section[:2] == (-0.0, 0.0) else None
    if other is not None:  # a cached section is never reused for another one
        assert texts(other, 1.0, hole)[1] == "\\".join("%.10g" % v for v in w.contour_points(*other, 1.0, hole=hole).ravel().tolist()).encode()


@pytest.mark.filterwarnings("ignore:The value for the data element")  # pydicom, writing the long ones as UN
@pytest.mark.parametrize("n", [0, 1, 2, 13, 65_534, 65_535, 65_536, 70_001])
def test_contour_data_element_is_pydicoms(n):
    text = (b"1.25\\" * (n // 5 + 1))[:n]
    mine = w._contour_data(text)
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_data_element

    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = False, True
    write_data_element(fp, w._raw_ds(w._CONTOUR_DATA, text), "ISO_IR 100")
    theirs = fp.getvalue()
    if n + n % 2 > 0xFFFF:
        assert mine is None  # left to pydicom
    else:
        assert mine == theirs
