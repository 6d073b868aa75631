"""The written DICOM files: standard structure, consistent UIDs, geometry, values, contours, safety."""

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import UID, ExplicitVRLittleEndian

import phantoms
from dosimetry.errors import InputError
from phantoms import make_arrays, make_patient

LN2 = math.log(2)


@pytest.fixture(scope="module")
def nm_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("nm") / "patient"
    truth = make_patient(out)
    return out, truth


@pytest.fixture(scope="module")
def pt_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("pt") / "patient"
    truth = make_patient(out, modality="PT", fwhm_mm=0, tumours=3)
    return out, truth


@pytest.fixture(scope="module")
def nm_rtstruct(nm_dir):
    return pydicom.dcmread(nm_dir[0] / "rtstruct.dcm")


def _read_all(folder: Path):
    return [pydicom.dcmread(p) for p in sorted(folder.rglob("*.dcm"))]


def test_layout_and_truth_json(nm_dir, pt_dir):
    out, truth = nm_dir
    assert sorted(p.name for p in out.iterdir()) == ["ct", "nm", "rtstruct.dcm", "truth.json"]
    assert len(list((out / "ct").glob("CT_*.dcm"))) == 64
    assert [p.name for p in (out / "nm").iterdir()] == ["NM_0001.dcm"]
    data = json.loads((out / "truth.json").read_text())
    assert data == json.loads(json.dumps(truth.to_json()))
    assert data["administered"] == {"value": 2.0, "unit": "GBq"}
    assert data["regions"]["Liver"]["volume"]["unit"] == "mL"
    assert set(data["regions"]) == {"Body", "Liver", "Normal Liver", "Tumour 1", "Tumour 2", "Lung L", "Lung R",
                                    "Lungs", "Spine"}
    pout, _ = pt_dir
    assert len(list((pout / "pt").glob("PT_*.dcm"))) == 88
    # nothing else left next to the patient (no temporary folder)
    assert [p.name for p in out.parent.iterdir()] == ["patient"]


def test_file_meta_and_sop_common(nm_dir, pt_dir):
    for out in (nm_dir[0], pt_dir[0]):
        for ds in _read_all(out):
            assert ds.preamble == b"\x00" * 128
            assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
            assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
            assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
            for uid in (ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID):
                assert UID(uid).is_valid


def test_uids_and_patient_consistent(nm_dir, nm_rtstruct):
    out, truth = nm_dir
    dss = [pydicom.dcmread(p) for p in sorted(out.rglob("*.dcm")) if p.name != "rtstruct.dcm"] + [nm_rtstruct]
    assert len({d.PatientID for d in dss}) == 1 and dss[0].PatientID == "PHANTOM-001"
    assert len({d.StudyInstanceUID for d in dss}) == 1
    assert len({d.SOPInstanceUID for d in dss}) == len(dss)
    images = [d for d in dss if d.Modality in ("CT", "NM")]
    assert {d.FrameOfReferenceUID for d in images} == {truth.uids["frame_of_reference_uid"]}
    rs = nm_rtstruct
    ref = rs.ReferencedFrameOfReferenceSequence[0]
    assert ref.FrameOfReferenceUID == truth.uids["frame_of_reference_uid"]
    assert {r.ReferencedFrameOfReferenceUID for r in rs.StructureSetROISequence} == {ref.FrameOfReferenceUID}
    study = ref.RTReferencedStudySequence[0]
    assert study.ReferencedSOPInstanceUID == rs.StudyInstanceUID
    series = study.RTReferencedSeriesSequence[0]
    cts = {d.SOPInstanceUID: d for d in dss if d.Modality == "CT"}
    assert series.SeriesInstanceUID == next(iter(cts.values())).SeriesInstanceUID
    assert {c.ReferencedSOPInstanceUID for c in series.ContourImageSequence} == set(cts)
    # every contour references the CT slice whose plane it lies on
    for roi in rs.ROIContourSequence:
        for c in roi.ContourSequence:
            ct = cts[c.ContourImageSequence[0].ReferencedSOPInstanceUID]
            zs = np.asarray(c.ContourData, dtype=float)[2::3]
            assert np.all(zs == float(ct.ImagePositionPatient[2]))


def test_same_patient_as_pt_shares_study_and_ct(nm_dir, tmp_path):
    _, truth = nm_dir
    t2 = make_patient(tmp_path / "p", modality="PT")
    for key in ("study_instance_uid", "frame_of_reference_uid", "ct_series_instance_uid"):
        assert t2.uids[key] == truth.uids[key]
    assert t2.uids["emission_series_instance_uid"] != truth.uids["emission_series_instance_uid"]


def test_ct_geometry_and_hu(nm_dir):
    out, _ = nm_dir
    arrays = make_arrays()
    cts = sorted(_read_all(out / "ct"), key=lambda d: int(d.InstanceNumber))
    z = np.array([float(d.ImagePositionPatient[2]) for d in cts])
    np.testing.assert_allclose(np.diff(z), 5.0)
    assert z[0] == pytest.approx(80 - 31.5 * 5)  # 64 slices centred on z = 80 mm
    d0 = cts[0]
    assert d0.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert [float(v) for v in d0.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    assert [float(v) for v in d0.PixelSpacing] == [3.5, 3.5]
    assert float(d0.SliceThickness) == 5.0
    assert float(d0.ImagePositionPatient[0]) == pytest.approx(-63.5 * 3.5)
    hu = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in cts])
    np.testing.assert_array_equal(hu, arrays.hu.array)
    # CT numbers of the tissues at known points: liver centre (-55, -5, 0), lung centre (80, 10, 140)
    def at(x, y, zz):
        k = int(round((zz - z[0]) / 5.0))
        i = int(round((x + 63.5 * 3.5) / 3.5))
        j = int(round((y + 63.5 * 3.5) / 3.5))
        return hu[k, j, i]
    assert at(-55, -5, 2.5) == 60
    assert at(80, 10, 142.5) == -740
    assert at(0, 95, 2.5) == 700
    assert at(-85, -15, 2.5) == 40  # tumour 1
    assert at(200, 0, 2.5) == -1000


def test_nm_multiframe_header_and_counts(nm_dir):
    out, truth = nm_dir
    ds = pydicom.dcmread(out / "nm" / "NM_0001.dcm")
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.20"
    assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    assert int(ds.NumberOfFrames) == 80 == int(ds.NumberOfSlices)
    assert ds.FrameIncrementPointer == pydicom.tag.Tag(0x0054, 0x0080)
    assert list(ds.SliceVector) == list(range(1, 81))
    det = ds.DetectorInformationSequence[0]
    assert [float(v) for v in det.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    x0 = -63.5 * 4.42
    np.testing.assert_allclose([float(v) for v in det.ImagePositionPatient], [x0, x0, 80 - 39.5 * 4.42], atol=1e-6)
    assert float(ds.SpacingBetweenSlices) == 4.42 == float(ds.SliceThickness)
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert rp.RadionuclideCodeSequence[0].CodeMeaning == "^90^Yttrium"
    assert float(rp.RadionuclideHalfLife) == pytest.approx(64.1 * 3600)
    counts = ds.pixel_array.astype(float) * float(ds.RescaleSlope)
    assert counts.shape == (80, 128, 128)
    rw = ds.RealWorldValueMappingSequence[0]
    assert rw.RealWorldValueSlope == pytest.approx(float(ds.RescaleSlope))
    assert rw.MeasurementUnitsCodeSequence[0].CodeValue == "{counts}"
    # counts summed over the field = sensitivity x activity at acquisition (blur conserves counts)
    expected = 18000 * 2000 * math.exp(-LN2 * 20 / 64.1)
    assert counts.sum() == pytest.approx(expected, rel=1e-4)
    assert truth.sensitivity.to("cts/MBq").magnitude == 18000
    # stored values reproduce the float image within half a quantization step
    arrays = make_arrays()
    assert np.max(np.abs(counts - arrays.image.array)) <= float(ds.RescaleSlope) / 2 + 1e-9


def test_nm_noise_written_as_integer_counts(tmp_path):
    make_patient(tmp_path / "n", noise=True, seed=5, tumours=0)
    ds = pydicom.dcmread(tmp_path / "n" / "nm" / "NM_0001.dcm")
    assert float(ds.RescaleSlope) == 1.0
    expected = 18000 * 2000 * math.exp(-LN2 * 20 / 64.1)
    assert abs(ds.pixel_array.sum(dtype=np.int64) - expected) < 5 * math.sqrt(expected)


def test_pt_header_and_decay_corrected_activity(pt_dir):
    out, truth = pt_dir
    dss = sorted(_read_all(out / "pt"), key=lambda d: int(d.InstanceNumber))
    d0 = dss[0]
    assert d0.SOPClassUID == "1.2.840.10008.5.1.4.1.1.128"
    assert d0.Units == "BQML" and d0.DecayCorrection == "START" and d0.CountsSource == "EMISSION"
    assert "DECY" in d0.CorrectedImage and float(d0.RescaleIntercept) == 0
    rp = d0.RadiopharmaceuticalInformationSequence[0]
    assert float(rp.RadionuclideTotalDose) == 2e9
    assert rp.RadionuclideCodeSequence[0].CodeValue == "14691008"
    start = dt.datetime.strptime(rp.RadiopharmaceuticalStartDateTime, "%Y%m%d%H%M%S")
    series = dt.datetime.strptime(d0.SeriesDate + d0.SeriesTime, "%Y%m%d%H%M%S")
    assert series - start == dt.timedelta(hours=20)
    z = np.array([float(d.ImagePositionPatient[2]) for d in dss])
    np.testing.assert_allclose(np.diff(z), 4.0)
    assert [int(d.ImageIndex) for d in dss] == list(range(1, 89))
    bqml = np.stack([d.pixel_array * float(d.RescaleSlope) for d in dss])
    # decay-correct from the acquisition start back to administration, as a reader must
    lam = LN2 / float(rp.RadionuclideHalfLife)
    to_admin = math.exp(lam * (series - start).total_seconds())
    total_bq = bqml.sum() * 4.0**3 / 1000 * to_admin
    assert total_bq == pytest.approx(2e9, rel=1e-4)
    # noise-free, unblurred: the slab above z = 54 mm (the liver ends at 50 mm, the lungs begin at
    # 60 mm, a 4 mm voxel reaches 2 mm past its centre) holds LSF of the activity (16-bit storage: 1e-4)
    arrays = make_arrays(modality="PT", fwhm_mm=0, tumours=3)
    lungs = bqml[z - 2.0 >= 54.0].sum() / bqml.sum()
    assert lungs == pytest.approx(0.08, rel=1e-4)
    np.testing.assert_allclose(bqml, arrays.image.array, rtol=0, atol=float(max(float(d.RescaleSlope) for d in dss)))


# (centre, semi-axes) of the analytic shapes, written out independently of the package
SHAPES = {
    "Liver": [((-55, -5, 0), (98, 80, 50))],
    "Tumour 1": [((-85, -15, 5), (20, 20, 20))],
    "Tumour 2": [((-15, 20, -10), (15, 12, 10))],
    "Lung L": [((80, 10, 140), (48, 68, 78))],
    "Lung R": [((-80, 10, 140), (52, 70, 80))],
    "Body": [((0, 0, 85), (170, 120, 450))],
}
SHAPES["Lungs"] = SHAPES["Lung L"] + SHAPES["Lung R"]
SHAPES["Normal Liver"] = SHAPES["Liver"] + SHAPES["Tumour 1"] + SHAPES["Tumour 2"]


def _roi_contours(rs):
    names = {r.ROINumber: r.ROIName for r in rs.StructureSetROISequence}
    out = {}
    for item in rs.ROIContourSequence:
        out[names[item.ReferencedROINumber]] = [
            np.asarray(c.ContourData, dtype=float).reshape(-1, 3) for c in item.ContourSequence
        ]
    return out


def test_rtstruct_structure(nm_dir, nm_rtstruct):
    out, truth = nm_dir
    rs = nm_rtstruct
    assert rs.SOPClassUID == "1.2.840.10008.5.1.4.1.1.481.3" and rs.Modality == "RTSTRUCT"
    names = [r.ROIName for r in rs.StructureSetROISequence]
    assert names == list(truth.regions)
    obs = {o.ReferencedROINumber: o.RTROIInterpretedType for o in rs.RTROIObservationsSequence}
    types = {r.ROIName: obs[r.ROINumber] for r in rs.StructureSetROISequence}
    assert types["Body"] == "EXTERNAL" and types["Tumour 1"] == "GTV" and types["Liver"] == "ORGAN"
    for item in rs.ROIContourSequence:
        for c in item.ContourSequence:
            assert c.ContourGeometricType == "CLOSED_PLANAR"
            assert int(c.NumberOfContourPoints) * 3 == len(c.ContourData)


def test_contour_points_on_analytic_surfaces(nm_rtstruct):
    contours = _roi_contours(nm_rtstruct)
    for name, shapes in SHAPES.items():
        for pts in contours[name]:
            x, y, z = pts.T
            f = [((x - c[0]) / s[0]) ** 2 + ((y - c[1]) / s[1]) ** 2 + ((z - c[2]) / s[2]) ** 2 for c, s in shapes]
            # each contour lies on one of the ROI's surfaces (10-digit DS values)
            assert min(np.max(np.abs(fi - 1)) for fi in f) < 1e-7, name
    for pts in contours["Spine"]:
        assert np.allclose(np.hypot(pts[:, 0], pts[:, 1] - 95), 16, atol=1e-7)


def _area(pts):
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_contour_volumes_match_truth(nm_dir, nm_rtstruct):
    out, truth = nm_dir
    contours = _roi_contours(nm_rtstruct)
    for name, reg in truth.regions.items():
        # signed shoelace areas: holes are written clockwise, so they subtract
        vol = sum(_area(p) for p in contours[name]) * 5.0 / 1000.0  # mL, slice spacing 5 mm
        if reg.volume.to("mL").magnitude > 50:
            assert vol == pytest.approx(reg.volume.to("mL").magnitude, rel=0.02), name


def test_deterministic_bytes(tmp_path):
    a = make_patient(tmp_path / "a", seed=3, noise=True, modality="PT")
    b = make_patient(tmp_path / "b", seed=3, noise=True, modality="PT")
    assert a.uids == b.uids
    fa = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    fb = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert fa == fb
    for rel in fa:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    c = make_patient(tmp_path / "c", seed=4, noise=True, modality="PT")
    assert c.uids["study_instance_uid"] != a.uids["study_instance_uid"]


def test_refuses_to_overwrite(tmp_path):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(InputError, match="refusing to overwrite") as err:
        make_patient(out)
    assert err.value.field == "out_dir"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError):
        make_patient(afile)
    with pytest.raises(InputError, match="parent"):
        make_patient(tmp_path / "missing" / "p")
    # an existing empty folder is accepted
    empty = tmp_path / "empty"
    empty.mkdir()
    make_patient(empty, tumours=0, bone=False)
    assert (empty / "truth.json").exists()


def test_failure_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(phantoms.write, "write_rtstruct", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        make_patient(tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


def test_command_line(tmp_path, capsys):
    from phantoms.__main__ import main

    assert main([str(tmp_path / "p"), "--modality", "PT", "--tumours", "1", "--lung-shunt-fraction", "5 %"]) == 0
    data = json.loads((tmp_path / "p" / "truth.json").read_text())
    assert data["modality"] == "PT" and data["lung_shunt_fraction"] == pytest.approx(0.05)
    assert "Tumour 1" in capsys.readouterr().out
    assert main([str(tmp_path / "p")]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_emission_on_ct_grid_masks_from_contours_recover_activity_exactly(tmp_path):
    """With emission_grid="ct" and no blur, RTSTRUCT polygons rasterized on the CT grid (here with
    matplotlib's point-in-polygon, independent of the package) select exactly the activity in truth."""
    from matplotlib.path import Path as MplPath

    out = tmp_path / "p"
    truth = make_patient(out, emission_grid="ct", fwhm_mm=0, tumours=4)
    ds = pydicom.dcmread(out / "nm" / "NM_0001.dcm")
    counts = ds.pixel_array.astype(float) * float(ds.RescaleSlope)
    det = ds.DetectorInformationSequence[0]
    x0, y0, z0 = (float(v) for v in det.ImagePositionPatient)
    dz = float(ds.SpacingBetweenSlices)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    nk, nj, ni = counts.shape
    ct0 = pydicom.dcmread(out / "ct" / "CT_0001.dcm")
    assert [float(v) for v in ct0.ImagePositionPatient] == [x0, y0, z0] and nk == 64
    xx, yy = np.meshgrid(x0 + dx * np.arange(ni), y0 + dy * np.arange(nj))
    centres = np.column_stack([xx.ravel(), yy.ravel()])
    contours = _roi_contours(pydicom.dcmread(out / "rtstruct.dcm"))
    # relative calibration: counts in liver + lungs scaled to the administered activity
    def mask_of(name):
        m = np.zeros(counts.shape, bool)
        for pts in contours[name]:
            k = int(round((pts[0, 2] - z0) / dz))
            inside = MplPath(pts[:, :2]).contains_points(centres).reshape(nj, ni)
            m[k] ^= inside  # even-odd rule: holes toggle
        return m
    masks = {name: mask_of(name) for name in ("Liver", "Lungs", "Tumour 1", "Tumour 4", "Normal Liver")}
    # the masks are exactly the voxel model's label masks
    arrays = make_arrays(emission_grid="ct", fwhm_mm=0, tumours=4)
    for name, m in masks.items():
        np.testing.assert_array_equal(m, np.isin(arrays.labels.array, truth.regions[name].labels), err_msg=name)
    scale = 2.0 / counts[masks["Liver"] | masks["Lungs"]].sum()  # GBq per count
    # Volume-averaged emission: the voxel-centre masks hold each region's activity_voxels (the
    # map summed over the label map's voxels), not the region's whole activity (part of it lies in
    # boundary voxels whose centres are outside). Scaled so that liver + lungs hold 2 GBq:
    # expected = activity_voxels x 2 GBq / (activity_voxels of Liver + Lungs).
    r = truth.regions
    held = (r["Liver"].activity_voxels + r["Lungs"].activity_voxels).to("GBq").magnitude
    # 16-bit storage: a voxel is off by at most RescaleSlope / 2, so a region of mean value v by
    # at most RescaleSlope / 2 / v; the lungs (lowest counts, ~740 steps) bound this at 7e-4
    for name, m in masks.items():
        expected = r[name].activity_voxels.to("GBq").magnitude * 2.0 / held
        assert counts[m].sum() * scale == pytest.approx(expected, rel=1e-3), name
    lsf = counts[masks["Lungs"]].sum() / counts.sum()
    assert lsf == pytest.approx((r["Lungs"].activity_voxels / truth.delivered).to("").magnitude, rel=1e-3)
    # before storage (in memory) the recovery is exact
    img = arrays.image.array
    scale = 2.0 / img[masks["Liver"] | masks["Lungs"]].sum()
    for name, m in masks.items():
        expected = r[name].activity_voxels.to("GBq").magnitude * 2.0 / held
        assert img[m].sum() * scale == pytest.approx(expected, rel=1e-12), name
    # and the region's whole activity is within the voxel-centre masks' reach only to a few
    # percent: the boundary voxels outside hold 1-3 % of the large organs (here on 3.5 x 3.5 x 5 mm)
    for name in ("Liver", "Lungs"):
        assert 0.95 < (r[name].activity_voxels / r[name].activity).to("").magnitude < 1.0, name
