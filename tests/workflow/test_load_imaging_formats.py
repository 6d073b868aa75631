"""load_imaging with an NRRD activity image in Bq/mL: declared reference time, decay correction by hand."""

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.io.volumes import write_volume
from dosimetry.voxel import Volume
from dosimetry.workflow.voxel import load_imaging

sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
from seg_factory import write_labelmap_nrrd  # noqa: E402

ADMIN = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.fixture
def files(tmp_path):
    g = Volume(np.full((4, 5, 6), 1000.0), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), unit="Bq/mL")
    write_volume(g, tmp_path / "pet.nrrd")
    lab = np.zeros(g.shape, np.uint8)
    lab[1:3, 1:4, 1:5] = 1
    write_labelmap_nrrd(tmp_path / "lab.nrrd", lab, g)
    return tmp_path


def _load(files, **kw):
    return load_imaging(files / "pet.nrrd", files / "lab.nrrd", liver_roi="Liver", labels={1: "Liver"}, activity_unit="Bq/mL", **kw)


def test_values_at_administration_are_kept(files):
    a = _load(files, activity_time="administration").activity
    assert np.all(a.array == 1000.0) and a.unit == Volume(np.zeros((1, 1, 1)), (1, 1, 1), unit="Bq/mL").unit


def test_values_two_hours_later_are_decay_corrected_back(files):
    a = _load(files, activity_time=ADMIN + dt.timedelta(hours=2), administration_time=ADMIN)
    # A(admin) = A(t) * 2^(t / T1/2), T1/2 = 64.1 h (Y-90, ICRP-107): 1000 * 2^(2 / 64.1) = 1021.86 Bq/mL
    assert np.asarray(a.activity.array) == pytest.approx(1000.0 * 2 ** (2 / 64.1), rel=1e-9)
    assert any("decay-corrected" in w for w in a.warnings)


def test_time_refusals(files):
    with pytest.raises(InputError, match="^imaging.administration_time: "):
        _load(files, activity_time=ADMIN)
    with pytest.raises(InputError, match="^imaging.activity_time: is before the administration"):
        _load(files, activity_time=ADMIN - dt.timedelta(hours=1), administration_time=ADMIN)


def test_unit_for_a_dicom_image_is_refused(tmp_path):
    (tmp_path / "nm").mkdir()
    with pytest.raises(InputError, match="^imaging.activity_unit: only for NRRD"):
        load_imaging(tmp_path / "nm", tmp_path / "x.dcm", liver_roi="Liver", activity_unit="counts")
