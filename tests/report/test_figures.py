"""Dose-on-CT figures of the report (issue 14): three planes through each tumour centre, orientation
letters, a dose colour map and outline colours that cannot be confused with CT grey or bone,
isodose lines at the limits."""

import matplotlib
import numpy as np
import pytest

from dosimetry.io.patient import load_patient
from dosimetry.report import pdf
from dosimetry.report.build import _isodoses, _slices
from dosimetry.workflow import run_case


@pytest.fixture(scope="module")
def demo_case(demo):
    out, _, _ = demo
    return run_case(load_patient(out / "patient" / "patient.toml"))


def test_three_planes_through_each_tumour_centre(demo_case):
    img = demo_case.voxel
    slices = _slices(img, isodoses=_isodoses(demo_case))
    tumours = [r.name for r in img.regions if r.role == "tumour"]
    assert sorted({s.row for s in slices}) == sorted(tumours)
    for name in tumours:
        planes = [s for s in slices if s.row == name]
        assert [s.title.split()[0] for s in planes] == ["Axial", "Coronal", "Sagittal"]
        for s in planes:
            outline = dict(s.outlines)
            assert name in outline and outline[name].any()  # the cut goes through the tumour
        assert [s.orientation for s in planes] == [("R", "L", "A", "P"), ("R", "L", "S", "I"), ("A", "P", "S", "I")]


def test_axial_view_is_radiological(demo_case):
    # The phantom's liver lies on the patient's right (DICOM x < 0): with R on the image left, the
    # liver outline must fall mostly in the left half of the axial image.
    s = next(x for x in _slices(demo_case.voxel) if x.title.startswith("Axial"))
    liver = dict(s.outlines)["Liver"]
    cols = np.nonzero(liver)[1]
    assert np.mean(cols) < liver.shape[1] / 2
    left, right = s.extent_mm[:2]
    assert left < right  # x (towards the patient's left) increases to the right


def test_isodoses_at_the_limits(demo_case):
    # glass, HCC, whole liver: tumour >= 205 Gy (EANM 2022 T2) and whole normal liver < 75 Gy
    assert [gy for _, gy in _isodoses(demo_case)] == [75.0, 205.0]


def _rgb(c):
    return np.array(matplotlib.colors.to_rgb(c))


def test_dose_colours_are_not_ct_grey_and_outlines_not_bone():
    top = np.array(matplotlib.colormaps[pdf._DOSE_CMAP](1.0)[:3])
    # the hottest dose is saturated (HSV saturation near 1), not pale like CT grey (inferno ends in
    # (0.99, 1.0, 0.64): saturation 0.36, every channel > 0.6)
    sat = (top.max() - top.min()) / top.max()
    assert sat > 0.9 and top.min() < 0.3
    inferno = np.array(matplotlib.colormaps["inferno"](1.0)[:3])
    assert not ((inferno.max() - inferno.min()) / inferno.max() > 0.9 and inferno.min() < 0.3)  # the old map fails
    cols = [_rgb(c) for c in pdf._OUTLINE]
    for c in cols:
        assert c.max() - c.min() > 0.5  # saturated: neither white (bone) nor grey (soft tissue)
    for i in range(len(cols)):
        for j in range(i + 1, len(cols)):
            assert np.abs(cols[i] - cols[j]).sum() > 0.4  # distinct from each other
