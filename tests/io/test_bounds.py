"""io.bounds: the one table of a patient image's bounds, and the dose-memory estimate it guards."""

import numpy as np
import pytest

from dosimetry.errors import InputError, OutOfRangeError
from dosimetry.io import bounds
from dosimetry.io.dicom_elements import VOXEL_SPACING_MM as DICOM_SPACING
from dosimetry.io.bounds import BOUNDS, SPACING_MM, VOXEL_SPACING_MM, check_array, check_dose_memory, check_grid, nbytes_text
from dosimetry.voxel.memory import dose_memory_estimate


def test_every_bound_states_its_reason_and_the_dicom_readers_use_the_same_table():
    for name, b in BOUNDS.items():
        assert b.value > 0 and b.unit and len(b.reason) > 30, name
    assert DICOM_SPACING is VOXEL_SPACING_MM
    # the bound of files without a modality is the envelope of the DICOM table
    assert SPACING_MM == (min(lo for lo, _ in VOXEL_SPACING_MM.values()), max(hi for _, hi in VOXEL_SPACING_MM.values()))


def test_check_array_names_the_figure_and_the_types():
    assert check_array((512, 512, 1024), np.int16, "ct.nrrd") == 512 * 512 * 1024 * 2
    with pytest.raises(OutOfRangeError, match=r"ct.nrrd: the image would need 2 GiB \(512 x 512 x 1024 float64\)"):
        check_array((512, 512, 1024), np.float64, "ct.nrrd")
    with pytest.raises(OutOfRangeError, match="5000 samples along one axis"):
        check_array((5000, 2, 2), np.uint8, "x")
    with pytest.raises(InputError, match="complex128 .* is not read"):
        check_array((2, 2, 2), np.complex128, "x")
    with pytest.raises(OutOfRangeError, match="at least one sample"):
        check_array((2, 0, 2), np.uint8, "x")


def test_check_grid_by_hand():
    steps = np.diag([4.42, 4.42, 4.42])
    check_grid(steps, (-280.7, -280.7, -94.6), (128, 128, 80), "spect")
    for bad_steps, origin, sizes, match in [
        (np.diag([4420.0, 4.42, 4.42]), (0, 0, 0), (2, 2, 2), r"spacing \[4420.0, 4.42, 4.42\] mm"),
        (np.diag([4.42, 4.42, 4.42]), (0, 0, 0), (600, 2, 2), r"spans \[2652, 9, 9\] mm"),  # 600 x 4.42 mm
        (np.diag([4.42, 4.42, 4.42]), (0, 0, 2e7), (2, 2, 2), "lies more than 10000 mm"),
        (np.diag([4.42, np.nan, 4.42]), (0, 0, 0), (2, 2, 2), "not finite"),
        (np.diag([4.42, 4.42, 4.42]), (0, np.inf, 0), (2, 2, 2), "not finite"),
    ]:
        with pytest.raises(InputError, match=match):
            check_grid(bad_steps, origin, sizes, "f")


def test_nbytes_text():
    assert nbytes_text(812) == "812 bytes"
    assert nbytes_text(3 << 30) == "3 GiB"
    assert nbytes_text(1.5 * (1 << 20)) == "1.5 MiB"


def test_dose_memory_of_the_issue_case_is_refused_with_its_figure(monkeypatch):
    # issue: "a 512x512x600 activity image with local deposition dies at 13.7 GB" (87 bytes per voxel);
    # the estimate: 512 * 512 * 600 voxels * (64 + 8 * 5 ROIs) bytes = 16.4 GB, the CT adds 16 bytes per voxel
    need = dose_memory_estimate((600, 512, 512), n_rois=5)
    assert need == 600 * 512 * 512 * (64 + 8 * 5)
    assert need > 13.7e9
    with pytest.raises(OutOfRangeError, match=r"imaging.activity: the dose computation on this 600 x 512 x 512 activity grid would need about 15.2 GiB of memory, more than the"):
        check_dose_memory((600, 512, 512), n_rois=5)
    # a SPECT passes with room to spare
    assert check_dose_memory((80, 128, 128), ct_shape=(300, 512, 512), n_rois=5) < 2 << 30
    monkeypatch.setattr(bounds, "dose_memory_bound", lambda: 1 << 20)
    with pytest.raises(OutOfRangeError, match="more than the 1 MiB allowed"):
        check_dose_memory((80, 128, 128), n_rois=5)


def test_load_imaging_refuses_before_the_masks_when_the_dose_would_not_fit(monkeypatch, nm_phantom):
    from dosimetry.workflow.voxel import load_imaging

    calls = []
    monkeypatch.setattr(bounds, "dose_memory_bound", lambda: 1 << 20)
    import dosimetry.io.segmentation as seg

    monkeypatch.setattr(seg.Segmentation, "masks", lambda *a, **k: calls.append(a))
    with pytest.raises(OutOfRangeError, match=r"80 x 128 x 128 activity grid would need about .* MiB of memory, more than the 1 MiB allowed"):
        load_imaging(nm_phantom / "nm", nm_phantom / "rtstruct.dcm", ct=nm_phantom / "ct", liver_roi="Liver", tumour_rois=("Tumour 1",))
    assert calls == []
