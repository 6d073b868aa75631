"""load_imaging with an NRRD activity image in Bq/mL: declared reference time, decay correction by hand."""

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.units import Q_
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


# -- issue 16: reference-time gap, counts with a time, DICOM with a time, unit spelling ------------------
def test_reference_time_beyond_30_days_is_refused(files):
    # the tester's example: 213 days -> decay factor 2^(213 x 24 / 64.1) = 2^79.8, liver mean 2.9e28 Gy
    with pytest.raises(InputError, match=r"^imaging.activity_time: is 213.0 days after the administration; plausible within 30 days") as e:
        _load(files, activity_time=ADMIN + dt.timedelta(days=213), administration_time=ADMIN)
    assert e.value.allowed == "[0, 30] days after imaging.administration_time"
    with pytest.raises(InputError, match=r"^imaging.activity_time: is 30.0 days"):
        _load(files, activity_time=ADMIN + dt.timedelta(days=30, seconds=1), administration_time=ADMIN)
    # 30 days is the patient file's calibration gap (io.patient.MAX_CALIBRATION_GAP): 1000 x 2^(720 / 64.1) Bq/mL
    a = _load(files, activity_time=ADMIN + dt.timedelta(days=30), administration_time=ADMIN).activity
    assert np.asarray(a.array) == pytest.approx(1000.0 * 2 ** (720 / 64.1), rel=1e-9)


def test_a_time_for_counts_or_for_dicom_is_refused(files, tmp_path):
    with pytest.raises(InputError, match="^imaging.activity_time: only for an activity image in Bq/mL"):
        load_imaging(files / "pet.nrrd", files / "lab.nrrd", liver_roi="Liver", labels={1: "Liver"}, activity_unit="counts", activity_time="administration")
    (tmp_path / "nm").mkdir()
    with pytest.raises(InputError, match="^imaging.activity_time: only for NRRD / NIfTI"):
        load_imaging(tmp_path / "nm", tmp_path / "x.dcm", liver_roi="Liver", activity_time="administration")


@pytest.mark.parametrize("text, factor", [("bq/ml", 1.0), ("BQ/ML", 1.0), ("Bq/mL", 1.0), ("KBQ/ML", 1e3), ("kbq/ml", 1e3), ("MBq/mL", 1e6), ("MBQ/ml", 1e6), ("Counts", None), ("CTS", None)])
def test_activity_unit_spelling_is_case_insensitive_but_the_prefix(files, text, factor):
    kw = {} if factor is None else {"activity_time": "administration"}
    a = load_imaging(files / "pet.nrrd", files / "lab.nrrd", liver_roi="Liver", labels={1: "Liver"}, activity_unit=text, **kw).activity
    if factor is None:
        assert a.unit == Q_(1, "cts").units
    else:  # 1000 values of the declared unit, in Bq/mL
        assert float((Q_(1, a.unit) * float(np.asarray(a.array).flat[0])).to("Bq/mL").magnitude) == pytest.approx(1000.0 * factor)


@pytest.mark.parametrize("text", ["mBq/mL", "mbq/ml", "GBq/mL", "Bq", "count"])
def test_other_activity_units_are_refused(files, text):
    with pytest.raises(InputError, match="^imaging.activity_unit: .* is not allowed"):
        load_imaging(files / "pet.nrrd", files / "lab.nrrd", liver_roi="Liver", labels={1: "Liver"}, activity_unit=text, activity_time="administration")


# -- issue 16: total activity of an absolute image ------------------------------------------------------
@pytest.fixture
def pet(tmp_path):
    # 10 x 10 x 10 voxels of 4 mm: 1000 x 0.064 mL = 64 mL at 3.125e7 Bq/mL -> 2.0 GBq in the image
    g = Volume(np.full((10, 10, 10), 3.125e7), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), unit="Bq/mL")
    write_volume(g, tmp_path / "pet.nrrd")
    write_labelmap_nrrd(tmp_path / "lab.nrrd", np.ones(g.shape, np.uint8), g)
    return tmp_path


def _absolute(d, administered=None, residual=0.0, **reading):
    from dosimetry.workflow.voxel import voxel_dose

    reading = reading or {"activity_time": "administration"}
    inputs = load_imaging(d / "pet.nrrd", d / "lab.nrrd", liver_roi="Liver", labels={1: "Liver"}, activity_unit="Bq/mL", **reading)
    return voxel_dose(inputs, administered=administered, calibration="absolute", method="ldm", residual_fraction=residual)


@pytest.mark.parametrize("administered, residual", [(None, 0.0), ("2 GBq", 0.0), ("4 GBq", 0.0), ("1.34 GBq", 0.0), ("2.5 GBq", 0.2)])
def test_plausible_image_totals_are_accepted(pet, administered, residual):
    r = _absolute(pet, administered, residual)
    assert r.image_activity.to("GBq").magnitude == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize(
    "administered, text",
    [("1 GBq", "2 x the 1 GBq administered"), ("4.1 GBq", "0.488 x the 4.1 GBq"), ("2 MBq", "1e\\+03 x the 0.002 GBq"), ("5 GBq", "0.4 x")],
)
def test_image_total_far_from_the_administered_is_refused(pet, administered, text):
    with pytest.raises(InputError, match="^imaging.activity: the image holds 2 GBq at administration, " + text):
        _absolute(pet, administered)


def test_image_total_outside_the_plausible_range_is_refused(pet):
    # 20 days later: x 2^(480 / 64.1) = 179.57 -> 359.1 GBq at administration, above 30 GBq (io.patient PLAUSIBLE)
    with pytest.raises(InputError, match=r"^imaging.activity: the image holds 359.1 GBq at administration; plausible 0.1-30 GBq"):
        _absolute(pet, None, activity_time=ADMIN + dt.timedelta(days=20), administration_time=ADMIN)
    assert 2.0 * 2 ** (480 / 64.1) == pytest.approx(359.1, abs=0.05)


from hypothesis import given, strategies as st  # noqa: E402

from dosimetry.workflow.voxel import activity_unit  # noqa: E402


@given(st.sampled_from(["", "k", "K", "M", "m"]), st.lists(st.booleans(), min_size=5, max_size=5), st.sampled_from(["", " "]))
def test_activity_unit_letters_fold_but_the_prefix_does_not(prefix, upper, pad):
    body = "".join(c.upper() if u else c.lower() for c, u in zip("bq/ml", upper))
    text = pad + prefix + body + pad
    want = {"": "Bq/mL", "k": "kBq/mL", "K": "kBq/mL", "M": "MBq/mL"}.get(prefix)
    if want is None:  # "m" is milli: 1e-9 of mega, never read as MBq/mL
        with pytest.raises(InputError, match="milli-becquerel is not accepted"):
            activity_unit(text)
    else:
        assert activity_unit(text) == want
