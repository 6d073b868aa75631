"""A CT/PT slice's numeric attributes parsed once per distinct undecoded value (issue 22):
another value is never taken for a remembered one.

:func:`dosimetry.io.series._remembered` keys each attribute on its VR, byte order and bytes; these
tests give slices that differ from the first in exactly those attributes and check that each
slice is read with its own value (values computed here from the stored arrays) or refused
naming its own file.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from dicom_factory import ident, write_slices
from pydicom.uid import generate_uid

from dosimetry.io import DicomError, load_series, read_series

RNG = np.random.default_rng(22)


def test_each_slice_rescaled_with_its_own_intercept_and_slope(tmp_path):
    st = RNG.integers(0, 3000, size=(4, 3, 5)).astype(np.int16)
    inters = [-1024.0, -1000.0, -1024.0, -1000.5]

    def per(ds, k):
        ds.RescaleIntercept = f"{inters[k]:g}"

    write_slices(tmp_path / "i", st, per_slice=per)
    s = load_series(tmp_path / "i")
    np.testing.assert_array_equal(s.volume.array, st.astype(np.float64) + np.array(inters)[:, None, None])
    assert any("differ between slices" in w for w in s.warnings)
    slopes = [1.0, 0.5, 1.0, 0.5]
    write_slices(tmp_path / "s", st, slope=slopes, intercept=-1024.0)
    s = load_series(tmp_path / "s")
    np.testing.assert_array_equal(s.volume.array, st * np.array(slopes)[:, None, None] - 1024.0)
    assert any("slopes 0.5 to 1, intercepts -1024 to -1024" in w for w in s.warnings)  # the slopes that differ are named


def test_the_same_number_written_differently_is_the_same_number(tmp_path):
    st = RNG.integers(0, 3000, size=(3, 2, 2)).astype(np.int16)
    texts = ["-1024", "-1024.0", "-1.024e3"]

    def per(ds, k):
        ds.RescaleIntercept = texts[k]

    write_slices(tmp_path, st, per_slice=per)
    s = load_series(tmp_path)
    np.testing.assert_array_equal(s.volume.array, st.astype(int) - 1024)
    assert not any("differ between slices" in w for w in s.warnings)


def test_each_slice_masked_with_its_own_bits_stored(tmp_path):
    v = RNG.integers(0, 4096, size=(4, 3, 3)).astype(np.uint16)

    def bits(ds, k):
        if k % 2:
            ds.BitsStored, ds.HighBit = 12, 11

    # odd slices: 12 bits stored, junk in the high bits; even slices: 16 bits, no junk
    stored = np.where((np.arange(4) % 2 == 1)[:, None, None], v | 0xF000, v).astype(np.uint16)
    write_slices(tmp_path, stored, intercept=-1024, signed=False, per_slice=bits)
    np.testing.assert_array_equal(read_series(tmp_path).array, v.astype(int) - 1024)


def test_a_slice_of_another_size_is_refused_naming_it(tmp_path):
    ids, uid = ident(), generate_uid()
    write_slices(tmp_path, RNG.integers(0, 3000, size=(3, 4, 4)).astype(np.int16), ids=ids, series_uid=uid)
    write_slices(tmp_path, RNG.integers(0, 3000, size=(1, 4, 5)).astype(np.int16), origin=(0.0, 0.0, 6.0), ids=ids, series_uid=uid,
                 names=["z_last.dcm"])
    with pytest.raises(DicomError, match="Rows/Columns") as e:
        load_series(tmp_path)
    assert e.value.field.endswith("z_last.dcm: Rows/Columns") and "4 x 5 differs from 4 x 4" in e.value.message


def test_equal_bytes_in_another_byte_order_are_another_value(tmp_path):
    # Columns 512 little endian is the bytes 00 02; the same bytes big endian are 2 (and Rows 257 is
    # 01 01 either way). A big-endian slice of 257 x 2 pixels after little-endian slices of 257 x 512
    # must be refused as another size, not read as 512 columns.
    from pydicom.uid import ExplicitVRBigEndian

    st = RNG.integers(0, 3000, size=(2, 257, 512)).astype(np.int16)
    ids, uid = ident(), generate_uid()
    write_slices(tmp_path, st, ids=ids, series_uid=uid)
    small = RNG.integers(0, 3000, size=(1, 257, 2)).astype(np.int16)

    def be(ds, k):
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
        ds.PixelData = small[k].astype(">i2").tobytes()

    write_slices(tmp_path, small, origin=(0.0, 0.0, 4.0), ids=ids, series_uid=uid, per_slice=be, names=["z_big_endian.dcm"])
    raw = pydicom.dcmread(tmp_path / "z_big_endian.dcm", stop_before_pixels=True)
    assert raw.get_item("Columns").value == b"\x00\x02"  # the same bytes as 512 little endian
    with pytest.raises(DicomError, match="Rows/Columns") as e:
        load_series(tmp_path)
    assert e.value.field.endswith("z_big_endian.dcm: Rows/Columns") and "257 x 2 differs from 257 x 512" in e.value.message


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "FrameOfReferenceUID", "PatientID"])
def test_a_slice_of_another_study_frame_or_patient_is_refused(tmp_path, keyword):
    # the UIDs and codes every slice repeats are decoded once per distinct value: another value is still seen
    ids, uid = ident(), generate_uid()

    def other(ds, k):
        if k == 3:
            setattr(ds, keyword, "OTHER1" if keyword == "PatientID" else generate_uid())

    write_slices(tmp_path, RNG.integers(0, 3000, size=(4, 2, 2)).astype(np.int16), ids=ids, series_uid=uid, per_slice=other)
    with pytest.raises(DicomError, match="differs between files of one series") as e:
        load_series(tmp_path)
    assert e.value.field.endswith(keyword)
