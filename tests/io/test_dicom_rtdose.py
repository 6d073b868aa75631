"""RT Dose writer and reader: round trip within the scaling step, header content, refusals."""

from __future__ import annotations

import math
import os

import numpy as np
import pydicom
import pytest
from dicom_factory import ident, write_slices

from dosimetry.io import DicomError, load_rtdose, load_series, read_rtdose, write_rtdose
from dosimetry.units import ureg
from dosimetry.voxel import Volume

RNG = np.random.default_rng(11)


@pytest.fixture
def ct(tmp_path):
    ids = ident("PAT-RT")
    write_slices(tmp_path / "ct", RNG.integers(0, 2000, size=(4, 8, 8)).astype(np.int16), ids=ids)
    return load_series(tmp_path / "ct"), ids


def _dose(shape=(5, 6, 7), direction=None, origin=(-10.0, 5.0, 20.0), scale=80.0):
    arr = RNG.random(shape) * scale
    kw = {} if direction is None else {"direction": direction}
    return Volume(arr, (3.0, 2.0, 2.5), origin, unit="Gy", **kw)


def test_round_trip_within_scaling_step(tmp_path, ct):
    series, ids = ct
    dose = _dose()
    out = write_rtdose(dose, series, tmp_path / "dose.dcm")
    ds = pydicom.dcmread(out)
    scaling = float(ds.DoseGridScaling)
    # Scaling chosen so that the maximum fits a 32-bit unsigned integer, and not much coarser.
    assert dose.array.max() / scaling <= 2**32 - 1
    assert dose.array.max() / scaling > 0.99 * (2**32 - 1)
    back = read_rtdose(out)
    assert back.same_grid(dose)
    assert back.unit == ureg.Unit("Gy")
    assert np.max(np.abs(back.array - dose.array)) <= 0.5 * scaling * (1 + 1e-9)
    # Header: units, type, identity of the source images
    assert (ds.Modality, ds.DoseUnits, ds.DoseType, ds.BitsAllocated, ds.PixelRepresentation) == ("RTDOSE", "GY", "PHYSICAL", 32, 0)
    assert ds.PatientID == "PAT-RT"
    assert ds.StudyInstanceUID == ids["StudyInstanceUID"]
    assert ds.FrameOfReferenceUID == ids["FrameOfReferenceUID"]
    assert ds.SeriesInstanceUID != series.identity.series_uid
    assert [float(x) for x in ds.GridFrameOffsetVector] == pytest.approx([0, 3, 6, 9, 12])
    assert ds.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.1.481.2"


def test_mgy_converted_and_reversed_axis_keeps_world_positions(tmp_path, ct):
    series, _ = ct
    # Axis 0 runs towards -z (anti-parallel to row x column): the writer flips it.
    d = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], float)
    dose = Volume(RNG.random((4, 3, 5)) * 5000, (2.0, 1.5, 1.0), (0.0, 0.0, 10.0), d, unit="mGy")
    back = read_rtdose(write_rtdose(dose, series, tmp_path / "d.dcm"))
    assert back.direction[:, 0] == pytest.approx([0, 0, 1])
    # Value at each world position is the same (in Gy).
    for idx in [(0, 0, 0), (3, 2, 4), (1, 2, 3)]:
        p = dose.index_to_world(idx)
        k, j, i = np.rint(back.world_to_index(p)).astype(int)
        assert back.array[k, j, i] == pytest.approx(dose.array[idx] / 1000.0, abs=1e-6)


def test_oblique_round_trip(tmp_path, ct):
    series, _ = ct
    a = math.radians(20)
    row = np.array([math.cos(a), math.sin(a), 0.0])
    col = np.array([0.0, math.cos(a), -math.sin(a)])
    col = col - (col @ row) * row
    col /= np.linalg.norm(col)
    d = np.column_stack([np.cross(row, col), col, row])
    dose = _dose(direction=d)
    back = read_rtdose(write_rtdose(dose, series, tmp_path / "d.dcm"))
    assert back.same_grid(dose, tol_mm=1e-4)
    np.testing.assert_allclose(back.array, dose.array, atol=1e-6)


def test_never_overwrites_an_input(tmp_path, ct):
    series, _ = ct
    target = series.files[0]
    before = open(target, "rb").read()
    with pytest.raises(DicomError, match="input"):
        write_rtdose(_dose(), series, target)
    assert open(target, "rb").read() == before


def test_existing_file_needs_overwrite_and_no_temp_left(tmp_path, ct):
    series, _ = ct
    out = tmp_path / "d.dcm"
    write_rtdose(_dose(), series, out)
    with pytest.raises(DicomError, match="already exists"):
        write_rtdose(_dose(), series, out)
    write_rtdose(_dose(scale=3.0), series, out, overwrite=True)
    assert read_rtdose(out).array.max() <= 3.0
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["d.dcm"]


def test_refuses_non_dose_units_and_negative(tmp_path, ct):
    series, _ = ct
    with pytest.raises(DicomError, match="not an absorbed dose"):
        write_rtdose(_dose().with_array(np.ones((5, 6, 7)), unit="Sv"), series, tmp_path / "a.dcm")
    with pytest.raises(DicomError, match="not an absorbed dose"):
        write_rtdose(_dose().with_array(np.ones((5, 6, 7)), unit="MBq"), series, tmp_path / "a.dcm")
    with pytest.raises(DicomError, match="negative"):
        write_rtdose(_dose().with_array(-np.ones((5, 6, 7)), unit="Gy"), series, tmp_path / "a.dcm")
    assert not (tmp_path / "a.dcm").exists()


def test_reference_as_path_and_zero_dose(tmp_path, ct):
    series, ids = ct
    out = write_rtdose(_dose(scale=0.0), tmp_path / "ct", tmp_path / "z.dcm")
    g = load_rtdose(out)
    assert g.identity.frame_of_reference_uid == ids["FrameOfReferenceUID"]
    assert not g.volume.array.any()


def test_reads_pydicom_rtdose_geometry():
    path = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files", "rtdose.dcm")
    with pytest.raises(DicomError, match="RELATIVE"):
        read_rtdose(path)
    g = load_rtdose(path, allow_relative=True)
    ds = pydicom.dcmread(path)
    # Independent: stored values x DoseGridScaling, frames at IPP + offset along z.
    np.testing.assert_allclose(g.volume.array, ds.pixel_array * float(ds.DoseGridScaling))
    assert g.volume.origin_mm == pytest.approx([float(x) for x in ds.ImagePositionPatient])
    off = [float(x) for x in ds.GridFrameOffsetVector]
    assert g.volume.spacing_mm == pytest.approx((off[1] - off[0], float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])))


@pytest.mark.parametrize("flip", [False, True])
def test_absolute_grid_frame_offsets(tmp_path, ct, flip):
    series, _ = ct
    # flip: column direction -y, so the slice normal row x column is -z.
    d = np.array([[0, 0, 1], [0, -1, 0], [-1, 0, 0]], float) if flip else None
    out = write_rtdose(_dose(direction=d), series, tmp_path / "d.dcm")
    ds = pydicom.dcmread(out)
    z0 = float(ds.ImagePositionPatient[2])
    nz = -1.0 if flip else 1.0
    # absolute positions: frame k at z0 + 3 k n_z
    ds.GridFrameOffsetVector = [f"{z0 + 3.0 * k * nz:.4f}" for k in range(5)]
    ds.save_as(tmp_path / "abs.dcm")
    assert read_rtdose(tmp_path / "abs.dcm").same_grid(read_rtdose(out), tol_mm=1e-3)


def test_decreasing_relative_offsets(tmp_path, ct):
    series, _ = ct
    out = write_rtdose(_dose(), series, tmp_path / "d.dcm")
    ds = pydicom.dcmread(out)
    ds.GridFrameOffsetVector = [0, -3, -6, -9, -12]
    ds.save_as(tmp_path / "dec.dcm")
    v = read_rtdose(tmp_path / "dec.dcm")
    # frame k at IPP - 3 k z: axis 0 along -z, spacing 3 mm
    assert v.direction[:, 0] == pytest.approx([0, 0, -1])
    assert v.index_to_world([4, 0, 0]) == pytest.approx(np.array([float(x) for x in ds.ImagePositionPatient]) - [0, 0, 12.0])
    ds.GridFrameOffsetVector = [0, 3, 6, 10, 12]
    ds.save_as(tmp_path / "uneven.dcm")
    with pytest.raises(DicomError, match="evenly"):
        read_rtdose(tmp_path / "uneven.dcm")


def test_reference_dataset_and_missing_frame_of_reference(tmp_path, ct):
    series, ids = ct
    ref = pydicom.dcmread(series.files[0])
    out = write_rtdose(_dose(), ref, tmp_path / "a.dcm")
    assert pydicom.dcmread(out).FrameOfReferenceUID == ids["FrameOfReferenceUID"]
    del ref.FrameOfReferenceUID
    with pytest.raises(DicomError, match="FrameOfReferenceUID"):
        write_rtdose(_dose(), ref, tmp_path / "b.dcm")
