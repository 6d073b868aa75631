"""CT / PT / NM series readers: geometry, values, decay correction and refusals."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from dicom_factory import ident, pet_header, write_nm, write_slices

from dosimetry.errors import InputError
from dosimetry.io import DicomError, DicomWarning, check_consistency, load_series, read_series
from dosimetry.units import ureg

RNG = np.random.default_rng(5)
LAM_Y90 = math.log(2) / (64.1 * 3600.0)  # 1/s, ICRP-107 half-life 64.1 h


def _stored(shape=(5, 6, 7)):
    return RNG.integers(0, 3000, size=shape).astype(np.int16)


# ----------------------------------------------------------------------------------------- CT


def test_ct_values_geometry_and_sorting(tmp_path):
    st = _stored()
    # Slices written with scrambled file names; slope 0.5, intercept -1024 -> HU = 0.5 s - 1024.
    write_slices(tmp_path, st, spacing=(2.5, 0.8, 0.9), origin=(-10.0, 20.0, 30.0), slope=0.5, intercept=-1024)
    s = load_series(tmp_path)
    v = s.volume
    assert v.shape == st.shape
    assert v.unit == ureg.dimensionless
    np.testing.assert_array_equal(v.array, st * 0.5 - 1024.0)
    assert v.spacing_mm == pytest.approx((2.5, 0.8, 0.9))
    # voxel (k, j, i) centre = (x0 + 0.9 i, y0 + 0.8 j, z0 + 2.5 k) for an axial series
    assert v.index_to_world([3, 2, 4]) == pytest.approx([-10.0 + 0.9 * 4, 20.0 + 0.8 * 2, 30.0 + 2.5 * 3])
    assert s.identity.modality == "CT"
    assert len(s.files) == 5


def test_ct_slices_sorted_along_normal_not_by_name(tmp_path):
    st = _stored((4, 3, 3))
    # Slice 0 written with the name that sorts last.
    write_slices(tmp_path, st, names=["d.dcm", "c.dcm", "b.dcm", "a.dcm"], intercept=0)
    v = read_series(tmp_path)
    np.testing.assert_array_equal(v.array, st.astype(float))


def test_ct_oblique_orientation(tmp_path):
    a = math.radians(25.0)
    row = (1.0, 0.0, 0.0)
    col = (0.0, math.cos(a), math.sin(a))  # tilted about x
    st = _stored((3, 4, 5))
    paths = write_slices(tmp_path, st, row=row, col=col, spacing=(3.0, 1.5, 2.0), origin=(5.0, -5.0, 12.0), intercept=0)
    v = read_series(tmp_path)
    n = np.cross(row, col)
    for k in range(3):
        ipp = np.array([5.0, -5.0, 12.0]) + 3.0 * k * n
        # pixel (j=2, i=3) of slice k: IPP + 2.0 * 3 * row + 1.5 * 2 * col
        expected = ipp + 3 * 2.0 * np.array(row) + 2 * 1.5 * np.array(col)
        assert v.index_to_world([k, 2, 3]) == pytest.approx(expected, abs=1e-5)
    assert len(paths) == 3


def test_ct_missing_slice_refused(tmp_path):
    paths = write_slices(tmp_path, _stored((6, 3, 3)))
    paths[3].unlink()
    with pytest.raises(DicomError, match="1 missing slice"):
        load_series(tmp_path)


def test_ct_uneven_spacing_refused(tmp_path):
    def shift(ds, k):
        if k == 4:
            z = float(ds.ImagePositionPatient[2]) + 0.6
            ds.ImagePositionPatient = [0, 0, z]

    write_slices(tmp_path, _stored((6, 3, 3)), per_slice=shift)
    with pytest.raises(DicomError, match="uneven slice spacing"):
        load_series(tmp_path)


def test_ct_duplicate_position_refused(tmp_path):
    def dup(ds, k):
        if k == 2:
            ds.ImagePositionPatient = [0, 0, 2.0]  # same as slice 1

    write_slices(tmp_path, _stored((4, 3, 3)), per_slice=dup)
    with pytest.raises(DicomError, match="same position"):
        load_series(tmp_path)


def test_gantry_tilt_refused(tmp_path):
    def tilt(ds, k):
        ds.ImagePositionPatient = [0, 0.5 * k, 2.0 * k]

    write_slices(tmp_path, _stored((4, 3, 3)), per_slice=tilt)
    with pytest.raises(DicomError, match="gantry tilt"):
        load_series(tmp_path)


def test_mixed_series_refused_and_selectable(tmp_path):
    ids = ident()
    write_slices(tmp_path, _stored((3, 3, 3)), ids=ids, series_uid="1.2.3.1", names=["a1", "a2", "a3"])
    write_slices(tmp_path, _stored((2, 3, 3)), ids=ids, series_uid="1.2.3.2", names=["b1", "b2"])
    with pytest.raises(DicomError, match="2 series are mixed"):
        load_series(tmp_path)
    assert load_series(tmp_path, series_uid="1.2.3.2").volume.shape == (2, 3, 3)


def test_truncated_file_refused_with_its_name(tmp_path):
    paths = write_slices(tmp_path, _stored((3, 8, 8)))
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) - 60])
    with pytest.raises(DicomError) as err:
        load_series(tmp_path)
    assert paths[1].name in str(err.value)
    assert isinstance(err.value, InputError)


def test_header_only_truncation_refused(tmp_path):
    paths = write_slices(tmp_path, _stored((3, 8, 8)))
    paths[0].write_bytes(paths[0].read_bytes()[:200])
    with pytest.raises(DicomError, match=paths[0].name):
        load_series(tmp_path)


def test_stray_non_dicom_file_skipped(tmp_path):
    write_slices(tmp_path, _stored((3, 3, 3)))
    (tmp_path / "notes.txt").write_text("not an image")
    s = load_series(tmp_path)
    assert s.volume.shape == (3, 3, 3)
    assert any("skipped 1 non-DICOM" in w for w in s.warnings)


def test_empty_directory_and_missing_path(tmp_path):
    with pytest.raises(DicomError, match="no files"):
        load_series(tmp_path)
    with pytest.raises(DicomError, match="no such"):
        load_series(tmp_path / "nope")


def test_modality_expectation(tmp_path):
    write_slices(tmp_path, _stored((2, 3, 3)))
    with pytest.raises(DicomError, match="expected 'PT'"):
        load_series(tmp_path, modality="PT")
    with pytest.raises(DicomError, match="no activity calibration"):
        load_series(tmp_path, calibration="2 Bq/mL/cts")


# ----------------------------------------------------------------------------------------- PT


def _pet(tmp_path, st, slope=0.01, **kw):
    write_slices(tmp_path, st, modality="PT", slope=slope, intercept=0, extra=pet_header(**kw))


def test_pet_bqml_start_decay_corrected_to_administration(tmp_path):
    st = _stored((3, 4, 4))
    _pet(tmp_path, st, slope=0.25, series_time="110000", admin="20261120090000")
    s = load_series(tmp_path)
    # Values refer to 11:00 (series start); back to 09:00 administration: x exp(lambda * 2 h).
    expected = st * 0.25 * math.exp(LAM_Y90 * 7200.0)
    np.testing.assert_allclose(s.volume.array, expected, rtol=1e-12)
    assert s.volume.unit == ureg.Unit("Bq/mL")
    assert s.reference_time.hour == 9


def test_pet_admin_not_rescaled(tmp_path):
    st = _stored((3, 4, 4))
    _pet(tmp_path, st, slope=0.5, decay="ADMIN")
    np.testing.assert_allclose(read_series(tmp_path).array, st * 0.5, rtol=1e-12)


def test_pet_none_uses_acquisition_time_and_frame_duration(tmp_path):
    st = _stored((2, 3, 3))

    def per(ds, k):
        ds.AcquisitionTime = ["100000", "103000"][k]
        ds.ActualFrameDuration = 600000  # ms = 10 min

    write_slices(tmp_path, st, modality="PT", slope=1.0, intercept=0, extra=pet_header(decay="NONE"), per_slice=per)
    v = read_series(tmp_path)
    T = 600.0
    avg = (1 - math.exp(-LAM_Y90 * T)) / (LAM_Y90 * T)  # mean of exp(-lambda t) over the frame
    for k, dt_s in enumerate([3600.0, 5400.0]):
        np.testing.assert_allclose(v.array[k], st[k] * math.exp(LAM_Y90 * dt_s) / avg, rtol=1e-12)


def test_pet_counts_refused_without_calibration_and_scaled_with_it(tmp_path):
    st = _stored((2, 3, 3))
    _pet(tmp_path, st, slope=1.0, units="CNTS", decay="ADMIN")
    with pytest.raises(DicomError, match="CNTS"):
        load_series(tmp_path)
    v = read_series(tmp_path, calibration="2.5 Bq/mL/cts")
    np.testing.assert_allclose(v.array, st * 2.5)
    with pytest.raises(DicomError, match="calibration"):
        load_series(tmp_path, calibration="2.5 Bq/cts")  # not a concentration


def test_pet_unknown_units_refused(tmp_path):
    _pet(tmp_path, _stored((2, 3, 3)), units="GML")
    with pytest.raises(DicomError, match="Units"):
        load_series(tmp_path)


def test_pet_non_y90_refused_without_override(tmp_path):
    st = _stored((2, 3, 3))
    _pet(tmp_path, st, slope=1.0, nuclide="^18^Fluorine", half_life_s=6586.2, series_time="100000")
    with pytest.raises(DicomError, match="not Y-90"):
        load_series(tmp_path)
    s = load_series(tmp_path, allow_other_radionuclide=True)
    # With the override the header half-life (F-18, 6586.2 s) is used for the 1 h correction.
    np.testing.assert_allclose(s.volume.array, st * 2 ** (3600.0 / 6586.2), rtol=1e-9)
    assert any("not Y-90" in w for w in s.warnings)


def test_pet_half_life_mismatch_warns(tmp_path):
    _pet(tmp_path, _stored((2, 3, 3)), half_life_s=66.0 * 3600)
    with pytest.warns(DicomWarning, match="differs from Y-90"):
        read_series(tmp_path)


def test_pet_unnamed_nuclide_with_foreign_half_life_refused(tmp_path):
    _pet(tmp_path, _stored((2, 3, 3)), nuclide=None, half_life_s=6586.2)
    with pytest.raises(DicomError, match="RadionuclideHalfLife"):
        load_series(tmp_path)


def test_pet_missing_administration_time_refused(tmp_path):
    _pet(tmp_path, _stored((2, 3, 3)), admin=None)
    with pytest.raises(DicomError, match="RadiopharmaceuticalStartDateTime"):
        load_series(tmp_path)


def test_pet_unknown_decay_correction_refused(tmp_path):
    _pet(tmp_path, _stored((2, 3, 3)), decay="WEIRD")
    with pytest.raises(DicomError, match="DecayCorrection"):
        load_series(tmp_path)


def test_pet_per_slice_rescale_slopes(tmp_path):
    st = _stored((3, 2, 2))
    write_slices(tmp_path, st, modality="PT", slope=[0.1, 0.2, 0.4], intercept=0, extra=pet_header(decay="ADMIN"))
    v = read_series(tmp_path)
    for k, m in enumerate([0.1, 0.2, 0.4]):
        np.testing.assert_allclose(v.array[k], st[k] * m)


# ----------------------------------------------------------------------------------------- NM


def test_nm_multiframe_geometry_and_rescale(tmp_path):
    st = RNG.integers(0, 500, size=(6, 5, 4)).astype(np.uint16)
    p = write_nm(tmp_path / "nm.dcm", st, spacing=(4.42, 4.42, 4.42), origin=(-100.0, -90.0, -50.0), slope=2.0)
    s = load_series(p)
    v = s.volume
    assert v.unit == ureg.Unit("cts")
    np.testing.assert_allclose(v.array, st * 2.0)
    # Frame k at IPP + 4.42 k (row x col = +z for an axial orientation).
    assert v.index_to_world([5, 1, 2]) == pytest.approx([-100.0 + 2 * 4.42, -90.0 + 4.42, -50.0 + 5 * 4.42])


def test_nm_real_world_value_mapping_and_slice_thickness(tmp_path):
    st = RNG.integers(0, 500, size=(3, 4, 4)).astype(np.uint16)
    p = write_nm(tmp_path / "nm.dcm", st, rwv=(0.5, 1.0, "Bq/ml"), spacing_keyword="SliceThickness", spacing=(3.0, 4.0, 4.0))
    v = read_series(p)
    assert v.unit == ureg.Unit("Bq/mL")
    assert v.spacing_mm == pytest.approx((3.0, 4.0, 4.0))
    np.testing.assert_allclose(v.array, st * 0.5 + 1.0)


def test_nm_calibration_to_concentration(tmp_path):
    st = RNG.integers(0, 500, size=(3, 4, 4)).astype(np.uint16)
    p = write_nm(tmp_path / "nm.dcm", st)
    v = read_series(p, calibration="3 kBq/mL/cts")
    np.testing.assert_allclose(v.array, st * 3000.0)
    assert v.unit == ureg.Unit("Bq/mL")


def test_nm_projections_refused(tmp_path):
    st = RNG.integers(0, 10, size=(3, 4, 4)).astype(np.uint16)
    p = write_nm(tmp_path / "nm.dcm", st, image_type=("ORIGINAL", "PRIMARY", "TOMO", "EMISSION"))
    with pytest.raises(DicomError, match="RECON TOMO"):
        load_series(p)


def test_nm_several_windows_refused(tmp_path):
    st = RNG.integers(0, 10, size=(4, 4, 4)).astype(np.uint16)
    p = write_nm(tmp_path / "nm.dcm", st, number_of_slices=2)
    with pytest.raises(DicomError, match="NumberOfSlices"):
        load_series(p)


# ----------------------------------------------------------------------------- consistency


def test_consistency_mismatch_refused_unless_overridden(tmp_path):
    a = ident("P1")
    b = dict(a, FrameOfReferenceUID="1.2.3.999")
    write_slices(tmp_path / "ct", _stored((2, 3, 3)), ids=a)
    write_nm(tmp_path / "nm.dcm", RNG.integers(0, 9, size=(2, 3, 3)).astype(np.uint16), ids=b)
    ct, nm = load_series(tmp_path / "ct"), load_series(tmp_path / "nm.dcm")
    with pytest.raises(DicomError, match="FrameOfReferenceUID") as err:
        check_consistency(ct.identity, nm.identity)
    assert "1.2.3.999" in str(err.value)
    w = check_consistency(ct.identity, nm.identity, allow_mismatch=True)
    assert len(w) == 1 and "FrameOfReferenceUID" in w[0]


def test_consistency_other_patient_refused(tmp_path):
    write_slices(tmp_path / "a", _stored((2, 3, 3)), ids=ident("P1"))
    write_slices(tmp_path / "b", _stored((2, 3, 3)), ids=ident("P2"))
    with pytest.raises(DicomError, match="PatientID"):
        check_consistency(load_series(tmp_path / "a").identity, load_series(tmp_path / "b").identity)


def test_consistency_same_inputs_pass(tmp_path):
    ids = ident("P1")
    write_slices(tmp_path / "a", _stored((2, 3, 3)), ids=ids)
    write_nm(tmp_path / "nm.dcm", RNG.integers(0, 9, size=(2, 3, 3)).astype(np.uint16), ids=ids)
    assert check_consistency(load_series(tmp_path / "a").identity, load_series(tmp_path / "nm.dcm").identity) == ()


def test_read_series_emits_warnings(tmp_path):
    write_slices(tmp_path, _stored((1, 3, 3)))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        read_series(tmp_path)
    assert any(issubclass(r.category, DicomWarning) and "single-slice" in str(r.message) for r in rec)


def test_ct_integer_and_float_storage(tmp_path):
    # slope 1 / intercept -1024: exact int16; values are HU either way.
    st = _stored((2, 3, 3))
    write_slices(tmp_path / "a", st, intercept=-1024)
    v = read_series(tmp_path / "a")
    assert v.array.dtype == np.int16
    np.testing.assert_array_equal(v.array, st.astype(int) - 1024)
    # Intercept pushing values beyond int16: float32, still exact. (One voxel of 100, like metal:
    # a CT with more than 5 % of its voxels above 4000 HU is refused as implausible, issue #10.)
    big = np.zeros((4, 5, 5), np.int16)
    big[2, 3, 4] = 32000
    write_slices(tmp_path / "b", big, intercept=1000)
    w = read_series(tmp_path / "b")
    assert w.array.dtype == np.float32
    np.testing.assert_array_equal(w.array, big.astype(np.float32) + 1000.0)
    assert w.array[2, 3, 4] == 33000.0


def test_ct_unsigned_storage(tmp_path):
    st = RNG.integers(0, 4096, size=(3, 4, 4)).astype(np.uint16)
    write_slices(tmp_path, st, intercept=-1024, signed=False)
    v = read_series(tmp_path)
    assert v.array.dtype == np.int16
    np.testing.assert_array_equal(v.array, st.astype(int) - 1024)
    write_slices(tmp_path / "b", st, slope=0.5, intercept=-1024, signed=False)
    np.testing.assert_array_equal(read_series(tmp_path / "b").array, st * 0.5 - 1024)


def test_ct_bits_stored_12_masks_high_bits_and_sign_extends(tmp_path):
    # Unsigned 12-bit values with junk in the 4 high bits (old overlay planes): only the low 12 count.
    v = RNG.integers(0, 4096, size=(2, 3, 3)).astype(np.uint16)

    def bits12(ds, k):
        ds.BitsStored = 12
        ds.HighBit = 11

    write_slices(tmp_path / "u", v | 0xF000, intercept=-1024, signed=False, per_slice=bits12)
    np.testing.assert_array_equal(read_series(tmp_path / "u").array, v.astype(int) - 1024)
    # Signed 12-bit: 0x0FFB is -5, 0x07FF is 2047.
    raw = np.array([[[0x0FFB, 0x07FF], [0x0800, 0]]] * 2, dtype=np.uint16).view(np.int16)
    write_slices(tmp_path / "s", raw, intercept=0, per_slice=bits12)
    np.testing.assert_array_equal(read_series(tmp_path / "s").array, [[[-5, 2047], [-2048, 0]]] * 2)


def test_big_endian_pixels(tmp_path):
    from pydicom.uid import ExplicitVRBigEndian

    st = (np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4) * 100 - 500).astype(np.int16)

    def be(ds, k):
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
        ds.PixelData = st[k].astype(">i2").tobytes()

    write_slices(tmp_path / "i", st, intercept=-1024, per_slice=be)
    np.testing.assert_array_equal(read_series(tmp_path / "i").array, st.astype(int) - 1024)
    write_slices(tmp_path / "f", st, slope=0.5, intercept=-1024, per_slice=be)
    np.testing.assert_array_equal(read_series(tmp_path / "f").array, st * 0.5 - 1024)


def test_pet_half_life_override(tmp_path):
    st = _stored((2, 3, 3))
    _pet(tmp_path, st, slope=1.0, series_time="110000")
    v = read_series(tmp_path, half_life="64.2 h")
    np.testing.assert_allclose(v.array, st * 2 ** (2.0 / 64.2), rtol=1e-12)


def test_rtstruct_and_other_objects_in_series_directory_skipped(tmp_path):
    from dicom_factory import rect, write_rtstruct

    ids = ident()
    write_slices(tmp_path, _stored((3, 3, 3)), ids=ids)
    write_rtstruct(tmp_path / "rs.dcm", {"A": [rect(0, 1, 0, 1, 0)]}, ids=ids)
    s = load_series(tmp_path)
    assert s.volume.shape == (3, 3, 3)
    assert any("RTSTRUCT" in w for w in s.warnings)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st_  # noqa: E402


@settings(max_examples=12, deadline=None)
@given(
    st_.lists(st_.floats(-1, 1), min_size=4, max_size=4).filter(lambda q: 0.1 < sum(x * x for x in q)),
    st_.floats(0.5, 5.0),
    st_.floats(0.3, 3.0),
    st_.booleans(),
)
def test_any_orientation_places_every_pixel(tmp_path_factory, quat, dz, dxy, reverse_names):
    """Random rotations: voxel (k, j, i) is at IPP_k + i dxy row + j dxy col (PS3.3 C.7.6.2.1.1)."""
    q = np.asarray(quat) / np.linalg.norm(quat)
    w, x, y, z = q
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    row, col = rot[:, 0], rot[:, 1]
    d = tmp_path_factory.mktemp("rot")
    stored = _stored((3, 2, 3))
    names = ["c", "b", "a"] if reverse_names else ["a", "b", "c"]
    write_slices(d, stored, row=row, col=col, spacing=(dz, dxy, dxy), origin=(3.0, -7.0, 11.0), intercept=0, names=names)
    v = read_series(d)
    n = np.cross(row, col)
    for k in range(3):
        for j in range(2):
            for i in range(3):
                p = np.array([3.0, -7.0, 11.0]) + k * dz * n + i * dxy * row + j * dxy * col
                kk, jj, ii = np.rint(v.world_to_index(p)).astype(int)
                assert v.index_to_world([kk, jj, ii]) == pytest.approx(p, abs=1e-4)
                assert v.array[kk, jj, ii] == stored[k, j, i]
