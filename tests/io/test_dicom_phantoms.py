"""Integration: read the digital phantom patients (phantoms/) and recover their ground truth.

The phantom generator writes CT, NM or PT, RTSTRUCT and truth.json independently of the readers;
these tests read the DICOM back and compare with the truth (volumes, activities, LSF, T/N).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

phantoms = pytest.importorskip("phantoms")

from dosimetry.io import check_consistency, load_series, read_rtdose, read_rtstruct, roi_mask, write_rtdose  # noqa: E402
from dosimetry.voxel.calibration import activity_in, lung_shunt_fraction, relative_calibration, tumour_to_normal_ratio  # noqa: E402


@pytest.fixture(scope="module")
def nm_exact(nm_exact_phantom):
    """NM on the CT grid, no blur, no noise: masks from the RTSTRUCT coincide with emission voxels
    (tests/conftest.py, written once per run, read only)."""
    return nm_exact_phantom, json.loads((nm_exact_phantom / "truth.json").read_text())


@pytest.fixture(scope="module")
def pt_exact(pt_exact_phantom):
    """PT on the CT grid, no blur, no noise (tests/io/conftest.py, written once per session, read only)."""
    return pt_exact_phantom, json.loads((pt_exact_phantom / "truth.json").read_text())


@pytest.fixture(scope="module")
def nm_blurred(dose_phantom):
    """The default NM phantom, 15 mm FWHM on its 4.42 mm grid (tests/conftest.py, read only). It was a
    seed-4 twin: the seed changes only noise (off) and the transport truth, not read here."""
    return dose_phantom, json.loads((dose_phantom / "truth.json").read_text())


def _val(d):
    return d["value"]


def test_rtstruct_region_volumes_within_2_percent(nm_exact):
    out, truth = nm_exact
    ct = load_series(out / "ct")
    ss = read_rtstruct(out / "rtstruct.dcm")
    assert set(ss.names) == set(truth["regions"])
    ml = float(ct.volume.voxel_volume.to("mL").magnitude)
    checked = 0
    for name, reg in truth["regions"].items():
        vol = roi_mask(ss, name, ct.volume).array.sum() * ml
        exact = _val(reg["volume"])
        if exact > 50.0:
            assert vol == pytest.approx(exact, rel=0.02), name
            checked += 1
        else:  # small tumours: voxel-centre sampling of 3.5 x 3.5 x 5 mm voxels
            assert vol == pytest.approx(exact, rel=0.10), name
    assert checked >= 5


def test_series_are_consistent(nm_exact):
    out, _ = nm_exact
    ids = [load_series(out / "ct").identity, load_series(out / "nm").identity, read_rtstruct(out / "rtstruct.dcm").identity]
    assert check_consistency(*ids) == ()


def _masks(out, grid):
    ss = read_rtstruct(out / "rtstruct.dcm")
    return {n: roi_mask(ss, n, grid) for n in ss.names}


def test_nm_relative_calibration_recovers_region_activities(nm_exact):
    out, truth = nm_exact
    nm = load_series(out / "nm").volume
    m = _masks(out, nm)
    adm = f"{_val(truth['administered'])} {truth['administered']['unit']}"
    cal = relative_calibration(nm, adm, m["Liver"], m["Lungs"])
    assert cal.lung_shunt_fraction == pytest.approx(truth["lung_shunt_fraction"], abs=2e-3)
    assert lung_shunt_fraction(nm, m["Lungs"], m["Liver"]) == pytest.approx(cal.lung_shunt_fraction)
    # The masks coincide with the label map, whose voxels hold each region's activity_voxels of the
    # volume-averaged image (boundary voxels with their centres outside hold the rest); the
    # relative calibration puts the administered activity in liver + lungs.
    r = truth["regions"]
    scale = _val(truth["administered"]) / (_val(r["Liver"]["activity_voxels"]) + _val(r["Lungs"]["activity_voxels"]))
    assert cal.lung_shunt_fraction == pytest.approx(_val(r["Lungs"]["activity_voxels"]) * scale / _val(truth["administered"]), rel=1e-3)
    for name in ("Liver", "Normal Liver", "Tumour 1", "Tumour 2", "Lungs"):
        got = activity_in(cal.activity, m[name]).to("GBq").magnitude
        assert got == pytest.approx(_val(r[name]["activity_voxels"]) * scale, rel=1e-3), name
    tn = tumour_to_normal_ratio(nm, m["Tumour 1"], m["Normal Liver"])
    assert tn == pytest.approx(truth["regions"]["Tumour 1"]["tumour_to_normal_voxels"], rel=5e-3)


def test_pt_absolute_activity_decay_corrected_to_administration(pt_exact):
    out, truth = pt_exact
    s = load_series(out / "pt")
    assert s.warnings == ()
    m = _masks(out, s.volume)
    for name in ("Body", "Liver", "Tumour 1", "Lungs"):
        got = activity_in(s.volume, m[name]).to("GBq").magnitude
        # the masks hold the image's activity_voxels; the Body mask holds everything (2 GBq)
        assert got == pytest.approx(_val(truth["regions"][name]["activity_voxels"]), rel=1e-3), name
    assert activity_in(s.volume, m["Body"]).to("GBq").magnitude == pytest.approx(_val(truth["administered"]), rel=1e-3)


def test_pt_and_nm_give_the_same_calibrated_activity(nm_exact, pt_exact):
    (nm_out, truth), (pt_out, _) = nm_exact, pt_exact
    nm = load_series(nm_out / "nm").volume
    pt = load_series(pt_out / "pt").volume
    mn, mp = _masks(nm_out, nm), _masks(pt_out, pt)
    adm = f"{_val(truth['administered'])} GBq"
    cal = relative_calibration(nm, adm, mn["Liver"], mn["Lungs"])
    r = truth["regions"]
    # NM: the administered activity in liver + lung masks; PT: what those masks hold (activity_voxels)
    scale = _val(truth["administered"]) / (_val(r["Liver"]["activity_voxels"]) + _val(r["Lungs"]["activity_voxels"]))
    for name in ("Liver", "Tumour 1", "Tumour 2", "Lungs"):
        a_nm = activity_in(cal.activity, mn[name]).to("GBq").magnitude
        a_pt = activity_in(pt, mp[name]).to("GBq").magnitude
        assert a_nm == pytest.approx(a_pt * scale, rel=2e-3), name


def test_blurred_nm_liver_activity_within_stated_tolerance(nm_blurred):
    """15 mm FWHM SPECT on its own 4.42 mm grid: whole-liver activity within 2 %, LSF within 5 %
    (measured: +0.2 % and -1.8 %). Tumours are not checked: partial-volume losses of 22 % and
    42 % for the 34 mL and 8 mL tumours are expected at this resolution without recovery correction."""
    out, truth = nm_blurred
    nm = load_series(out / "nm").volume
    m = _masks(out, nm)
    cal = relative_calibration(nm, f"{_val(truth['administered'])} GBq", m["Liver"], m["Lungs"])
    liver = activity_in(cal.activity, m["Liver"]).to("GBq").magnitude
    assert liver == pytest.approx(_val(truth["regions"]["Liver"]["activity"]), rel=0.02)
    assert cal.lung_shunt_fraction == pytest.approx(truth["lung_shunt_fraction"], rel=0.05)


def test_rtdose_written_on_phantom_reads_back(nm_exact, tmp_path):
    out, _ = nm_exact
    ct = load_series(out / "ct")
    dose = ct.volume.with_array(np.linspace(0, 250, ct.volume.array.size).reshape(ct.volume.shape), unit="Gy")
    back = read_rtdose(write_rtdose(dose, ct, tmp_path / "dose.dcm"))
    assert back.same_grid(dose)
    assert np.max(np.abs(back.array - dose.array)) <= 250 / (2**32 - 1)
