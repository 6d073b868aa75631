"""PET decay correction START with a reprocessed series (SeriesTime after the acquisition)."""

import datetime as dt
import shutil

import pydicom
import pytest

from dosimetry.io import load_series
from dosimetry.voxel.calibration import activity_map


def _total_gbq(series) -> float:
    a = activity_map(series.volume)
    return float(a.array.sum()) * float((1 * a.unit).to("GBq").magnitude)


def test_series_time_after_acquisition_falls_back_to_acquisition_time(pt_exact_phantom, tmp_path):
    src = pt_exact_phantom  # PT on the CT grid, unblurred (was a seed-2 twin: the seed changes only noise, off); read only
    assert _total_gbq(load_series(src / "pt")) == pytest.approx(2.0, rel=1e-4)
    moved = tmp_path / "pt2"
    shutil.copytree(src / "pt", moved)
    for f in moved.iterdir():
        ds = pydicom.dcmread(f)
        t = dt.datetime.strptime(ds.SeriesDate + ds.SeriesTime.split(".")[0], "%Y%m%d%H%M%S") + dt.timedelta(hours=24)
        ds.SeriesDate, ds.SeriesTime = t.strftime("%Y%m%d"), t.strftime("%H%M%S")
        ds.save_as(f)
    s = load_series(moved)
    # Using the later SeriesTime would over-correct by exp(ln2 * 24 / 64.1) = 1.296 (2.593 GBq).
    assert _total_gbq(s) == pytest.approx(2.0, rel=1e-4)
    assert any("SeriesTime" in w and "reprocessed" in w for w in s.warnings)
