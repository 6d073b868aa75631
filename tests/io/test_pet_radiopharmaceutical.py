"""Every slice of one PET series names the same radionuclide and administration (0054,0016).

The radionuclide, its half-life and the administration time are read from the first slice; a series whose
other slices say otherwise (found by the issue 22 review: a Y-90 PET with one slice naming ^18^Fluorine was
read as Y-90) is refused, naming the slice's file and the element.
"""

import numpy as np
import pytest

from dicom_factory import pet_header, write_slices
from dosimetry.io import DicomError, load_series

RNG = np.random.default_rng(22)


def _series(tmp_path, per_slice=None):
    st = RNG.integers(0, 30000, size=(5, 4, 3)).astype(np.int16)
    write_slices(tmp_path, st, modality="PT", slope=0.5, intercept=0.0, extra=pet_header(), per_slice=per_slice)
    return st


def _info(ds):
    return ds.RadiopharmaceuticalInformationSequence[0]


@pytest.mark.parametrize("change", [
    lambda ds: setattr(_info(ds).RadionuclideCodeSequence[0], "CodeMeaning", "^18^Fluorine"),
    lambda ds: setattr(_info(ds), "RadionuclideHalfLife", "6586.2"),
    lambda ds: setattr(_info(ds), "RadiopharmaceuticalStartDateTime", "20261120100000"),
    lambda ds: delattr(ds, "RadiopharmaceuticalInformationSequence"),
], ids=["nuclide", "half-life", "administration", "absent"])
def test_a_slice_naming_another_radiopharmaceutical_is_refused(tmp_path, change):
    def per(ds, k):
        if k == 2:
            change(ds)

    _series(tmp_path, per)
    with pytest.raises(DicomError) as e:
        load_series(tmp_path)
    assert e.value.field.endswith("RadiopharmaceuticalInformationSequence")
    assert "every slice of one PET series" in str(e.value)


def test_slices_that_agree_are_read(tmp_path):
    st = _series(tmp_path)
    s = load_series(tmp_path)
    assert s.radionuclide == "^90^Yttrium"
    np.testing.assert_allclose(s.volume.array.shape, st.shape)
