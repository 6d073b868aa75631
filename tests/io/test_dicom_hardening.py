"""DICOM readers refuse cleanly (issue #10): one line naming file and attribute, never a traceback.

Each case is one of the classes found by the adversarial run; each failed (internal error, or a
silently wrong grid) before the change.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_factory import ident, pet_header, write_nm, write_slices

from dosimetry.io import DicomError, load_rtdose, load_series, write_rtdose
from dosimetry.voxel import Volume

DATA = Path(os.path.dirname(pydicom.data.__file__)) / "test_files"


def _refused(fn, *args, attribute=None):
    with pytest.raises(DicomError) as err:
        fn(*args)
    text = str(err.value)
    assert "\n" not in text and len(text) < 600, text
    if attribute:
        assert attribute in err.value.field, text
    return err.value


def _edit(path, **attrs):
    ds = pydicom.dcmread(path)
    for k, v in attrs.items():
        setattr(ds, k, v)
    ds.save_as(path, enforce_file_format=True)


# -- NM ---------------------------------------------------------------------------------------
@pytest.fixture
def nm(tmp_path):
    stored = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5) * 10
    return write_nm(tmp_path / "nm.dcm", stored)


def test_nm_two_valued_number_of_frames(nm):
    _edit(nm, NumberOfFrames="3\\3")
    _refused(load_series, nm, attribute="NumberOfFrames")


@pytest.mark.parametrize("attr, value", [("NumberOfFrames", "0"), ("Rows", 0), ("Columns", 0), ("NumberOfFrames", "-3"), ("NumberOfFrames", "2.5")])
def test_nm_empty_or_bad_counts_refused(nm, attr, value):
    _edit(nm, **{attr: value})
    _refused(load_series, nm, attribute=attr)


def test_nm_damaged_vr_code_is_one_line(nm):
    data = bytearray(nm.read_bytes())
    # ImageType (0008,0008) in explicit VR little endian: tag bytes then 'CS'
    i = data.find(b"\x08\x00\x08\x00CS")
    assert i > 0
    data[i + 4 : i + 6] = b"ZZ"  # before: NotImplementedError (internal error)
    nm.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = load_series(nm)
        except DicomError as exc:
            assert "\n" not in str(exc) and str(nm) in str(exc)
            return
    # read: then it must be read exactly (the damaged element is not one the reader relies on)
    assert np.array_equal(v.volume.array[0, 0], np.arange(5) * 10.0)


def test_nm_negative_values_are_read_as_stored(tmp_path):
    # stored 0..59 with intercept -20: -20..39. The reader keeps them (issue 18: one rule for every
    # format, dosimetry.voxel.calibration.screen_activity, applied once the ROIs are known).
    stored = np.arange(60, dtype=np.uint16).reshape(3, 4, 5)
    p = write_nm(tmp_path / "nm.dcm", stored, slope=1.0)
    _edit(p, RescaleIntercept="-20")
    s = load_series(p)
    np.testing.assert_array_equal(s.volume.array, stored.astype(float) - 20)
    assert not [w for w in s.warnings if "negative" in w]


def test_nm_huge_slope_is_refused_naming_the_attribute(nm):
    _edit(nm, RescaleSlope="1e308", RescaleIntercept="0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy overflow warning either
        _refused(load_series, nm, attribute="RescaleSlope")


# -- PT / CT series ---------------------------------------------------------------------------
def test_pet_negative_values_are_read_as_stored(tmp_path):
    stored = np.array([[[10, -5], [3, 2]], [[-1, 4], [0, 6]]], dtype=np.int16)
    write_slices(tmp_path / "pt", stored, modality="PT", intercept=0.0, extra=pet_header(decay="ADMIN"))
    s = load_series(tmp_path / "pt")
    np.testing.assert_array_equal(s.volume.array, stored)


def test_mixed_patient_id_inside_a_series_is_refused(tmp_path):
    stored = np.zeros((4, 3, 3), dtype=np.int16)

    def other_patient(ds, k):
        if k == 2:
            ds.PatientID = "SOMEONE-ELSE"

    write_slices(tmp_path / "ct", stored, per_slice=other_patient)
    e = _refused(load_series, tmp_path / "ct", attribute="PatientID")
    assert "SOMEONE-ELSE" in e.message


def test_pet_slope_overflow_refused(tmp_path):
    write_slices(tmp_path / "pt", np.full((3, 2, 2), 30000, np.int16), modality="PT", slope=1e308, intercept=0.0, extra=pet_header(decay="ADMIN"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _refused(load_series, tmp_path / "pt", attribute="RescaleSlope")


def test_ct_two_valued_rows_refused(tmp_path):
    paths = write_slices(tmp_path / "ct", np.zeros((3, 2, 2), np.int16))
    _edit(paths[0], Rows=[2, 2])
    _refused(load_series, tmp_path / "ct", attribute="Rows")


# -- RT Dose ----------------------------------------------------------------------------------
@pytest.fixture
def rtdose(tmp_path):
    ids = ident("PAT-HD")
    write_slices(tmp_path / "ct", np.zeros((4, 6, 6), dtype=np.int16), ids=ids)
    ct = load_series(tmp_path / "ct")
    arr = np.arange(3 * 4 * 5, dtype=float).reshape(3, 4, 5)  # 0..59 Gy
    return write_rtdose(Volume(arr, (2.0, 1.0, 1.0), (0.0, 0.0, 0.0), unit="Gy"), ct, tmp_path / "dose.dcm"), arr


def test_rtdose_zero_pixel_spacing_refused(rtdose):
    path, _ = rtdose
    _edit(path, PixelSpacing=[0, 0])
    _refused(load_rtdose, path, attribute="PixelSpacing")


@pytest.mark.parametrize("attr, value", [("NumberOfFrames", "0"), ("Rows", 0), ("NumberOfFrames", "3\\3")])
def test_rtdose_empty_grid_refused(rtdose, attr, value):
    # before: NumberOfFrames 0 or Rows 0 gave an empty dose grid and exit 0
    path, _ = rtdose
    _edit(path, **{attr: value})
    _refused(load_rtdose, path, attribute=attr)


def test_rtdose_signed_pixels_read_per_pixel_representation(rtdose):
    path, arr = rtdose
    ds = pydicom.dcmread(path)
    scaling = float(ds.DoseGridScaling)
    stored = np.frombuffer(ds.PixelData, "<u4").astype(np.int64) // 4  # fits a signed 32-bit integer
    # signed 32-bit, all values non-negative: read exactly, value = stored * DoseGridScaling
    ds.PixelRepresentation = 1
    ds.PixelData = stored.astype("<i4").tobytes()
    ds.save_as(path, enforce_file_format=True)
    np.testing.assert_array_equal(load_rtdose(path).volume.array.ravel(), stored * scaling)
    assert load_rtdose(path).volume.array.max() == pytest.approx(arr.max() / 4, rel=1e-6)
    # a negative signed value is not a dose: refused, never read as a negative dose
    s = stored.copy()
    s[7] = -5
    ds.PixelData = s.astype("<i4").tobytes()
    ds.save_as(path, enforce_file_format=True)
    _refused(load_rtdose, path, attribute="PixelRepresentation")


def test_rtdose_huge_scaling_refused(rtdose):
    path, _ = rtdose
    _edit(path, DoseGridScaling="1e308")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _refused(load_rtdose, path, attribute="DoseGridScaling")


# -- compressed pixel data: decoder messages become one line ----------------------------------
@pytest.mark.parametrize("name", ["MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEG2000.dcm", "JPEGLSNearLossless_16.dcm"])
def test_corrupt_compressed_pixel_data_is_one_line(tmp_path, name):
    src = DATA / name
    if not src.exists():
        pytest.skip(f"{name} not bundled with this pydicom")
    ds = pydicom.dcmread(src)
    ds.Modality = "CT"  # so that the reader goes as far as decoding the pixel data
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    if "RescaleSlope" not in ds:
        ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
    for keyword, v in (("ImageOrientationPatient", [1, 0, 0, 0, 1, 0]), ("ImagePositionPatient", [0, 0, 0]), ("PixelSpacing", [1, 1]), ("SliceThickness", 1)):
        if keyword not in ds:
            setattr(ds, keyword, v)
    frames = bytearray(ds.PixelData)
    mid = len(frames) // 2
    frames[mid : mid + 64] = bytes(range(64))  # damage the middle of the code stream
    frames[16:48] = b"\xff" * 32
    ds.PixelData = bytes(frames)
    p = tmp_path / name
    ds.save_as(p)
    e = _refused(load_series, p, attribute="PixelData")
    assert "cannot decode" in e.message


# -- RTSTRUCT -----------------------------------------------------------------------------------
def _square(z):
    return np.array([[0, 0, z], [10, 0, z], [10, 10, z], [0, 10, z]], float)


def test_rtstruct_duplicate_roi_number_refused(tmp_path):
    from dicom_factory import write_rtstruct

    from dosimetry.io import read_rtstruct

    p = write_rtstruct(tmp_path / "rs.dcm", {"Liver": [_square(0.0)], "Tumour": [_square(2.0)]})
    ds = pydicom.dcmread(p)
    ds.StructureSetROISequence[1].ROINumber = 1  # both ROIs now claim number 1
    ds.save_as(p, enforce_file_format=True)
    _refused(read_rtstruct, p, attribute="ROINumber")


def test_rtstruct_two_rois_with_the_asked_name_refused(tmp_path):
    from dicom_factory import write_rtstruct

    from dosimetry.io import read_rtstruct

    p = write_rtstruct(tmp_path / "rs.dcm", {"Liver": [_square(0.0)], "Other": [_square(2.0)]})
    ds = pydicom.dcmread(p)
    ds.StructureSetROISequence[1].ROIName = "Liver"
    ds.save_as(p, enforce_file_format=True)
    ss = read_rtstruct(p)
    _refused(ss.roi, "Liver", attribute="ROIName")


@pytest.mark.parametrize("modality", ["CT", "PT"])
@pytest.mark.parametrize("slope", ["0", "-1"])
def test_zero_or_negative_rescale_slope_refused(tmp_path, modality, slope):
    # before: a CT with slope -1 inverted every HU (densities, hence doses, wrong); a PT with
    # slope 0 read as an image of nothing
    extra = pet_header(decay="ADMIN") if modality == "PT" else None
    paths = write_slices(tmp_path / "s", np.full((3, 2, 2), 100, np.int16), modality=modality, intercept=0.0, extra=extra)
    _edit(paths[1], RescaleSlope=slope)
    _refused(load_series, tmp_path / "s", attribute="RescaleSlope")


def test_ct_with_an_intercept_that_cannot_give_hounsfield_units_is_refused(tmp_path):
    # stored 0..1000 with intercept +1e5: every voxel 1e5 HU, densities (and doses) absurd
    stored = np.arange(27, dtype=np.int16).reshape(3, 3, 3) * 37
    write_slices(tmp_path / "bad", stored, intercept=1e5)
    _refused(load_series, tmp_path / "bad", attribute="RescaleIntercept")
    # a little metal (1 voxel of 27 = 3.7 % above 4000 HU) is accepted and read exactly
    metal = stored.copy()
    metal[1, 1, 1] = 6000
    write_slices(tmp_path / "ok", metal, intercept=-1024.0)
    np.testing.assert_array_equal(load_series(tmp_path / "ok").volume.array, metal - 1024)


@pytest.mark.parametrize("admin, decay", [("00010101090000", "START"), ("20250101090000", "START"), ("20250101090000", "NONE")])
def test_pet_administration_long_before_acquisition_refused(tmp_path, admin, decay):
    # before: year 1 overflowed math.exp (internal error); a year earlier multiplied every value by 2**137
    write_slices(tmp_path / "pt", np.full((3, 2, 2), 100, np.int16), modality="PT", intercept=0.0, extra=pet_header(decay=decay, admin=admin))
    _refused(load_series, tmp_path / "pt", attribute="RadiopharmaceuticalStartDateTime" if decay == "START" else "AcquisitionTime")


@pytest.mark.parametrize("keyword, value", [("StudyInstanceUID", "1.2.3.4"), ("Modality", "MR"), ("FrameOfReferenceUID", "1.2.3.5")])
def test_one_slice_of_another_study_modality_or_frame_inside_a_series_is_refused(tmp_path, keyword, value):
    def edit(ds, k):
        if k == 1:
            setattr(ds, keyword, value)

    write_slices(tmp_path / "ct", np.zeros((3, 2, 2), np.int16), per_slice=edit)
    _refused(load_series, tmp_path / "ct", attribute=keyword)


@pytest.mark.parametrize("keyword", ["RescaleIntercept", "RescaleSlope"])
def test_ct_slice_without_rescale_is_refused(tmp_path, keyword):
    # before: read with intercept 0 (a +1024 HU shift of that slice) without a word
    def drop(ds, k):
        if k == 1:
            delattr(ds, keyword)

    write_slices(tmp_path / "ct", np.zeros((3, 2, 2), np.int16), per_slice=drop)
    _refused(load_series, tmp_path / "ct", attribute=keyword)


def test_ct_intercepts_that_differ_between_slices_are_read_exactly_with_a_warning(tmp_path):
    def edit(ds, k):
        if k == 1:
            ds.RescaleIntercept = "2.5"

    stored = np.full((3, 2, 2), 100, np.int16)
    write_slices(tmp_path / "ct", stored, per_slice=edit)
    s = load_series(tmp_path / "ct")
    np.testing.assert_array_equal(s.volume.array[:, 0, 0], [100 - 1024, 102.5, 100 - 1024])
    assert any("differ between slices" in w for w in s.warnings)


def test_implausible_voxel_spacing_refused(tmp_path, rtdose):
    # a factor-10 slip in the SPECT pixel size would scale every voxel volume (hence every dose) by 100
    p = write_nm(tmp_path / "nm.dcm", np.ones((3, 4, 5), np.uint16), spacing=(4.42, 44.2, 44.2))
    _refused(load_series, p, attribute="PixelSpacing")
    p = write_nm(tmp_path / "nm2.dcm", np.ones((3, 4, 5), np.uint16), spacing=(0.442, 4.42, 4.42))
    _refused(load_series, p, attribute="SpacingBetweenSlices")
    write_slices(tmp_path / "ct7", np.zeros((3, 2, 2), np.int16), spacing=(2.0, 9.8, 9.8))  # 10 x 0.98 mm
    _refused(load_series, tmp_path / "ct7", attribute="PixelSpacing")
    path, _ = rtdose
    _edit(path, PixelSpacing=[0.01, 0.01])
    _refused(load_rtdose, path, attribute="PixelSpacing")


def test_slice_orientation_and_spacing_compared_by_value_not_text(tmp_path):
    # issue 22 compares each slice's undecoded text with the first slice's, parsing only when the
    # texts differ: the same numbers written differently are accepted, a different number refused
    def same_values(ds, k):
        if k == 1:
            ds.ImageOrientationPatient = ["1.000", "0", "0.0", "0", "1.0", "0"]
            ds.PixelSpacing = [f"{float(v):.4f}" for v in ds.PixelSpacing]

    write_slices(tmp_path / "ct", np.zeros((3, 2, 2), np.int16), per_slice=same_values)
    assert load_series(tmp_path / "ct").volume.array.shape == (3, 2, 2)

    for keyword, edit in (("ImageOrientationPatient", lambda ds: setattr(ds, "ImageOrientationPatient", ["1", "0", "0", "0", "0.99", "0.141"])),
                          ("PixelSpacing", lambda ds: setattr(ds, "PixelSpacing", [f"{float(v) * 1.01:.4f}" for v in ds.PixelSpacing]))):
        write_slices(tmp_path / keyword, np.zeros((3, 2, 2), np.int16), per_slice=lambda ds, k, edit=edit: edit(ds) if k == 2 else None)
        _refused(load_series, tmp_path / keyword, attribute=keyword)


def test_ct_above_the_hu_ceiling_counted_only_when_present(tmp_path):
    # the maximum is looked at first; a CT with 2 of 12 voxels (17 %) above 4000 HU is still refused
    stored = np.zeros((3, 2, 2), np.int16)
    stored[1, 0, :] = 6000
    write_slices(tmp_path / "ct", stored)
    _refused(load_series, tmp_path / "ct", attribute="RescaleIntercept")
