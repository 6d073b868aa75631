"""voxel_dose warns when the segmentation does not sit on the CT (issue 16, item 4): a liver ROI on
lung density, a lung ROI on soft tissue. NRRD / NIfTI carry no frame of reference, so a label map
shifted by 50 mm was accepted with only a "low CT density inside ROIs" note (lung mean dose halved)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from dosimetry.io import load_series, read_rtstruct, roi_mask
from dosimetry.io.volumes import write_volume
from dosimetry.voxel import Volume
from dosimetry.workflow.voxel import load_imaging, voxel_dose

sys.path.insert(0, str(Path(__file__).parents[1] / "io"))
from seg_factory import write_labelmap_nrrd  # noqa: E402

NAMES = {1: "Liver", 2: "Lung L", 3: "Lung R"}


def _registration(warnings):
    return [w for w in warnings if "may not be registered with the CT" in w]


def _dose(d, seg, lungs=("Lung L", "Lung R")):
    inputs = load_imaging(d / "spect.nrrd", seg, ct=d / "ct.nrrd", labels=NAMES, liver_roi="Liver", lung_rois=lungs, activity_unit="counts")
    return voxel_dose(inputs, administered="2 GBq", method="ldm")


@pytest.fixture
def slabs(tmp_path):
    # 10 x 10 x 10 voxels of 4 mm; CT slices 0-5 soft tissue (40 HU, 1.0 g/mL), slices 6-9 lung (-800 HU, 0.2 g/mL)
    g = Volume(np.ones((10, 10, 10)), (4.0, 4.0, 4.0), (0.0, 0.0, 0.0), unit="cts")
    write_volume(g, tmp_path / "spect.nrrd")
    hu = np.full(g.shape, 40.0)
    hu[6:] = -800.0
    write_volume(g.with_array(hu, unit="dimensionless"), tmp_path / "ct.nrrd")
    return tmp_path, g


def test_registered_slabs_give_no_warning(slabs):
    d, g = slabs
    lab = np.zeros(g.shape, np.uint8)
    lab[1:6] = 1  # liver on soft tissue
    lab[6:10, :, :5] = 2  # lungs on lung
    lab[6:10, :, 5:] = 3
    write_labelmap_nrrd(d / "lab.nrrd", lab, g)
    assert _registration(_dose(d, d / "lab.nrrd").warnings) == []


def test_a_liver_on_lung_density_is_named(slabs):
    d, g = slabs
    lab = np.zeros(g.shape, np.uint8)
    lab[2:7] = 1  # slices 2-6: slice 6 (1 of 5, 20 %) on lung density, above the 10 % share
    lab[7:10, :, :5] = 2  # slices 7-9 on lung
    lab[7:10, :, 5:] = 3
    write_labelmap_nrrd(d / "lab.nrrd", lab, g)
    assert _registration(_dose(d, d / "lab.nrrd").warnings) == [
        "20% of the liver ROI 'Liver' has the CT density of lung or air (< 0.5 g/mL): the segmentation may not be registered with the CT "
        "(more than 10% is unusual); check it on the CT before using the doses"
    ]


def test_a_lung_on_soft_tissue_is_named(slabs):
    d, g = slabs
    lab = np.zeros(g.shape, np.uint8)
    lab[0:3] = 1
    lab[4:10, :, :5] = 2  # slices 4-9: 4 and 5 (2 of 6, 33 %) on soft tissue, above the 20 % share
    lab[7:10, :, 5:] = 3  # slices 7-9: none on soft tissue
    write_labelmap_nrrd(d / "lab.nrrd", lab, g)
    got = _registration(_dose(d, d / "lab.nrrd").warnings)
    assert len(got) == 1 and got[0].startswith("33% of the lung ROI 'Lung L' has the CT density of soft tissue (>= 0.9 g/mL)")


@pytest.fixture(scope="module")
def phantom(tmp_path_factory, maa_phantom):
    d = tmp_path_factory.mktemp("registration")
    p = maa_phantom  # make_patient(seed=7, radionuclide="Tc-99m"), shared read-only
    nm = load_series(p / "nm").volume
    write_volume(nm, d / "spect.nrrd")
    write_volume(load_series(p / "ct").volume, d / "ct.nrrd")
    rs = read_rtstruct(p / "rtstruct.dcm")
    lab = np.zeros(nm.shape, np.uint8)
    for value, name in NAMES.items():
        lab[np.asarray(roi_mask(rs, name, nm).array, bool)] = value
    write_labelmap_nrrd(d / "lab.nrrd", lab, nm)
    x, y, z = nm.origin_mm
    write_labelmap_nrrd(d / "shifted.nrrd", lab, Volume(lab, nm.spacing_mm, (x + 50.0, y, z), direction=nm.direction))
    return d


def test_the_tester_label_map_shifted_by_50_mm(phantom):
    assert _registration(_dose(phantom, phantom / "lab.nrrd").warnings) == []
    got = _registration(_dose(phantom, phantom / "shifted.nrrd").warnings)
    assert [w.split(" has ")[0].split(" of the ")[1] for w in got] == ["lung ROI 'Lung L'", "lung ROI 'Lung R'"], got
