"""Issue 18, item 1: units and decay-correction references as vendors write them, read or refused
by name (NM Units, RealWorldValueMapping, DecayCorrection ADMIN / START / NONE; PT without an
administration time for a relative calibration). Factors computed by hand with T1/2 = 64.1 h."""

import math

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom_factory import pet_header, write_nm, write_slices
from dosimetry.errors import InputError
from dosimetry.io import load_series
from dosimetry.units import Q_

STORED = (np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4) + 1) * 10
LAMBDA = math.log(2) / (64.1 * 3600)  # Y-90, 1/s


def _nm(tmp_path, **attrs):
    p = write_nm(tmp_path / "nm.dcm", STORED, slope=1.0)
    ds = pydicom.dcmread(p)
    for k, v in attrs.items():
        setattr(ds, k, v)
    ds.save_as(p, enforce_file_format=True)
    return p


def _radiopharmaceutical(admin="20261120090000", nuclide="^90^Yttrium"):
    info = Dataset()
    if admin:
        info.RadiopharmaceuticalStartDateTime = admin
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "C-1xxxx", "SRT", nuclide
    info.RadionuclideCodeSequence = Sequence([code])
    return Sequence([info])


def test_nm_without_units_is_counts_for_a_relative_calibration(tmp_path):
    s = load_series(_nm(tmp_path))
    assert s.volume.unit == Q_(1, "cts").units
    assert not s.at_administration and s.time_note == ""
    np.testing.assert_array_equal(s.volume.array, STORED)


def test_nm_units_bqml_admin_is_at_administration(tmp_path):
    s = load_series(_nm(tmp_path, Units="BQML", DecayCorrection="ADMIN"))
    assert f"{s.volume.unit:~P}".lower() == "bq/ml" and s.at_administration
    np.testing.assert_array_equal(s.volume.array, STORED)


def test_nm_bqml_start_is_decay_corrected_to_administration(tmp_path):
    # administered 09:00, acquisition starts 11:00 (2 h): A(admin) = A(start) 2^(2 / 64.1) = 1.0218626 A(start)
    p = _nm(tmp_path, Units="BQML", DecayCorrection="START", AcquisitionDate="20261120", AcquisitionTime="110000",
            RadiopharmaceuticalInformationSequence=_radiopharmaceutical())
    s = load_series(p)
    assert s.at_administration
    np.testing.assert_allclose(s.volume.array, STORED * math.exp(LAMBDA * 7200), rtol=1e-12)
    assert math.exp(LAMBDA * 7200) == pytest.approx(2 ** (2 / 64.1), rel=1e-12) == pytest.approx(1.0218626, abs=1e-7)


def test_nm_bqml_without_decay_correction_is_read_but_not_at_administration(tmp_path):
    s = load_series(_nm(tmp_path, Units="BQML"))
    assert not s.at_administration and "DecayCorrection absent" in s.time_note
    np.testing.assert_array_equal(s.volume.array, STORED)


def test_nm_start_without_administration_time(tmp_path):
    p = _nm(tmp_path, Units="BQML", DecayCorrection="START", AcquisitionDate="20261120", AcquisitionTime="110000",
            RadiopharmaceuticalInformationSequence=_radiopharmaceutical(admin=None))
    with pytest.raises(InputError, match="RadiopharmaceuticalStartDateTime: missing"):
        load_series(p)
    s = load_series(p, require_administration=False)  # a relative calibration needs no time
    assert not s.at_administration and "no RadiopharmaceuticalStartDateTime" in s.time_note
    np.testing.assert_array_equal(s.volume.array, STORED)


@pytest.mark.parametrize("attrs, attribute", [
    ({"Units": "SUVBW"}, "Units"),
    ({"Units": "BQML", "DecayCorrection": "DECAY"}, "DecayCorrection"),
])
def test_nm_units_and_decay_correction_outside_the_standard_are_refused_by_name(tmp_path, attrs, attribute):
    with pytest.raises(InputError) as e:
        load_series(_nm(tmp_path, **attrs))
    assert e.value.field.endswith(attribute)


def test_nm_units_contradicting_the_real_world_value_mapping_are_refused(tmp_path):
    p = write_nm(tmp_path / "nm.dcm", STORED, rwv=(2.0, 0.0, "Bq/ml"))
    ds = pydicom.dcmread(p)
    ds.Units = "CNTS"
    ds.save_as(p, enforce_file_format=True)
    with pytest.raises(InputError, match="contradicts the RealWorldValueMapping"):
        load_series(p)


def test_pet_without_administration_time_is_readable_for_a_relative_calibration(tmp_path):
    stored = np.full((3, 2, 2), 100, np.int16)
    write_slices(tmp_path / "pt", stored, modality="PT", intercept=0.0, extra=pet_header(decay="START", admin=None))
    with pytest.raises(InputError, match="RadiopharmaceuticalStartDateTime: missing"):
        load_series(tmp_path / "pt")
    s = load_series(tmp_path / "pt", require_administration=False)
    assert not s.at_administration and "DecayCorrection START" in s.time_note
    np.testing.assert_array_equal(s.volume.array, stored)  # values at the series start, as stored


def test_pet_decay_none_without_administration_time_is_referred_to_the_first_frame(tmp_path):
    # frames at 11:00, 11:10, 11:20 (600 s apart), no frame duration: factor exp(lambda (t_k - t_0))
    stored = np.full((3, 2, 2), 100, np.int16)
    times = ["110000", "111000", "112000"]

    def per_slice(ds, k):
        ds.AcquisitionTime = times[k]

    write_slices(tmp_path / "pt", stored, modality="PT", intercept=0.0, extra=pet_header(decay="NONE", admin=None), per_slice=per_slice)
    s = load_series(tmp_path / "pt", require_administration=False)
    assert not s.at_administration
    got = np.asarray(s.volume.array)[:, 0, 0]
    np.testing.assert_allclose(got, 100 * np.exp(LAMBDA * np.array([0.0, 600.0, 1200.0])), rtol=1e-12)
