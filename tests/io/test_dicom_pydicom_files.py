"""pydicom's bundled test files: each loads, or is refused with a DicomError (never a traceback).

Only files shipped inside the pydicom wheel are used (no download).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
import pytest

from dosimetry.io import DicomError, load_rtdose, load_series, rasterize_roi, read_rtstruct
from dosimetry.voxel import Volume

DATA = Path(os.path.dirname(pydicom.data.__file__)) / "test_files"
ALL = sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix not in (".txt", ".json", ".gz", ".dump", ".icc", ".py") and p.name != "README")


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(DATA)))
def test_every_bundled_file_loads_or_is_refused_cleanly(path):
    for reader in (load_series, read_rtstruct, load_rtdose):
        try:
            reader(path)
        except DicomError as exc:
            assert str(exc).strip() and "\n" not in str(exc)


def test_ct_small_values_and_geometry():
    path = DATA / "CT_small.dcm"
    s = load_series(path)
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(s.volume.array[0], expected)
    assert s.volume.origin_mm == pytest.approx([float(x) for x in ds.ImagePositionPatient])
    assert s.volume.spacing_mm[1:] == pytest.approx([float(x) for x in ds.PixelSpacing])


def test_multi_slice_ct_series_loads_in_position_order():
    d = DATA / "dicomdirtests" / "98892001" / "CT5N"
    v = load_series(d).volume
    dss = [pydicom.dcmread(p) for p in sorted(d.iterdir())]
    z = sorted(float(ds.ImagePositionPatient[2]) for ds in dss)
    assert v.shape[0] == len(dss) == 5
    assert v.spacing_mm[0] == pytest.approx(z[1] - z[0])
    for ds in dss:
        k = int(round(v.world_to_index([float(x) for x in ds.ImagePositionPatient])[0]))
        np.testing.assert_array_equal(v.array[k], ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept))


def test_sparse_ct_series_refused_as_missing_slices():
    with pytest.raises(DicomError, match="missing slice"):
        load_series(DATA / "dicomdirtests" / "77654033" / "CT2")


def test_bundled_rtstruct_lists_and_rasterizes_body():
    ss = read_rtstruct(DATA / "rtstruct.dcm")
    assert ss.names == ("patient", "Isocenter 1", "Isocenter 2")
    body = ss.roi("patient")
    assert len(body.contours) == 3
    zs = sorted(float(c[0, 2]) for c in body.contours)
    # Grid covering the contours; the body mask is non-empty on the contoured planes.
    g = Volume(np.zeros((5, 80, 90)), (10.0, 5.0, 5.0), (-220.0, -200.0, zs[0] - 10.0))
    m = rasterize_roi(body, g)
    assert m.array.any()
    with pytest.raises(DicomError, match="empty ROI"):
        rasterize_roi(ss.roi("Isocenter 1"), g)


@pytest.mark.parametrize("name", ["JPEG-lossy.dcm", "JPEG2000.dcm", "JPGExtended.dcm"])
def test_bundled_nm_whole_body_refused_as_not_tomographic(name):
    with pytest.raises(DicomError, match="RECON TOMO"):
        load_series(DATA / name)


def test_compressed_ct_decoded_by_pydicom_equals_its_pixel_array():
    path = DATA / "693_J2KI.dcm"
    ds = pydicom.dcmread(path)
    try:
        expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    except Exception:  # no JPEG 2000 decoder installed: the reader must refuse cleanly instead
        with pytest.raises(DicomError, match="PixelData"):
            load_series(path)
        return
    np.testing.assert_array_equal(load_series(path).volume.array[0], expected)
