"""Post-treatment study (issue #20 item 6): the same patient moved by a known rigid transform, in
its own frame of reference, with the delivered sphere distribution; checked against figures
computed here (transform by quaternion, partition by hand, decay factor from the half-life)."""

import datetime as dt
import json
import math
import shutil

import numpy as np
import pydicom
import pytest

from dosimetry.errors import InputError
from dosimetry.io import load_series, read_rtstruct, roi_mask
from phantoms import make_patient, make_post_arrays, make_post_treatment

PLANNING = {"radionuclide": "Tc-99m", "tumours": 4}
LN2 = math.log(2)
V = lambda a, b, c: 4.0 / 3.0 * math.pi * a * b * c / 1000.0  # noqa: E731  (mL from mm)
TUMOUR_AXES = [(20, 20, 20), (15, 12, 10), (12, 12, 12), (18, 16, 14)]
K_HAND = 64.1 * 3600 / LN2 * 0.9331e6 * 1.602176634e-19 * 1e9  # Gy kg / GBq (ICRP 107)


@pytest.fixture(scope="module")
def studies(tmp_path_factory, maa_blurred_phantom):
    """The planning study is the session's ``maa_blurred_phantom`` (``make_patient(radionuclide="Tc-99m",
    tumours=4)``: PLANNING exactly), copied here rather than written again; the post studies are written."""
    base = tmp_path_factory.mktemp("post")
    shutil.copytree(maa_blurred_phantom[0], base / "planning")
    plan = maa_blurred_phantom[1]
    assert plan.half_life.to("h").magnitude == pytest.approx(6.0067) and sum(n.startswith("Tumour") for n in plan.regions) == 4  # PLANNING's phantom
    pt = make_post_treatment(base / "post_pt", planning=PLANNING, modality="PT", fwhm_mm=0)
    nm = make_post_treatment(base / "post_nm", planning=PLANNING, modality="NM")
    return base, plan, pt, nm


def _json(base, name):
    return json.loads((base / name / "truth.json").read_text())


def _quaternion_matrix(angle_deg, axis):
    """Rotation matrix from the unit quaternion (cos a/2, sin a/2 k): independent of Rodrigues."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    w, (x, y, z) = math.cos(math.radians(angle_deg) / 2), math.sin(math.radians(angle_deg) / 2) * k
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def test_transform_is_the_stated_one(studies):
    base, *_ = studies
    t = _json(base, "post_pt")["post_treatment"]["transform_planning_to_post"]
    m = np.asarray(t["matrix"])
    # stated default: 4 degrees about (0.3, 0, 1) through the planning origin, then (12, -9, -15) mm
    np.testing.assert_allclose(m[:3, :3], _quaternion_matrix(4.0, (0.3, 0.0, 1.0)), atol=1e-12)
    np.testing.assert_array_equal(m[:3, 3], [12.0, -9.0, -15.0])
    np.testing.assert_array_equal(m[3], [0, 0, 0, 1])
    assert t["rotation_deg"] == 4.0 and "planning" in t["convention"]


def _centroid_mm(mask):
    """Centroid of a boolean mask in patient coordinates (grid axes along x, y, z)."""
    k, j, i = np.nonzero(np.asarray(mask.array, bool))
    (dz, dy, dx), (x0, y0, z0) = mask.spacing_mm, mask.origin_mm
    return np.array([x0 + dx * i.mean(), y0 + dy * j.mean(), z0 + dz * k.mean()])


@pytest.mark.parametrize("roi", ["Liver", "Tumour 1", "Tumour 2", "Tumour 4", "Lung R", "Lungs"])
def test_roi_centroids_follow_the_transform(studies, roi):
    """A ROI's centroid on the post CT (its RTSTRUCT rasterized by dosimetry.io) is the transformed
    centroid of the same ROI on the planning CT, within a voxel (3.5 x 3.5 x 5 mm)."""
    base, *_ = studies
    m = np.asarray(_json(base, "post_pt")["post_treatment"]["transform_planning_to_post"]["matrix"])
    cents = {}
    for study in ("planning", "post_pt"):
        ct = load_series(base / study / "ct").volume
        cents[study] = _centroid_mm(roi_mask(read_rtstruct(base / study / "rtstruct.dcm"), roi, ct))
    moved = m[:3, :3] @ cents["planning"] + m[:3, 3]
    assert np.all(np.abs(cents["post_pt"] - moved) <= [3.5, 3.5, 5.0]), (cents, moved)
    # and the move is real: several mm
    assert np.linalg.norm(cents["post_pt"] - cents["planning"]) > 10.0


def test_post_ct_shows_the_moved_anatomy(studies):
    base, *_ = studies
    m = np.asarray(_json(base, "post_pt")["post_treatment"]["transform_planning_to_post"]["matrix"])
    ct = load_series(base / "post_pt" / "ct").volume
    hu = np.asarray(ct.array)
    (dz, dy, dx), (x0, y0, z0) = ct.spacing_mm, ct.origin_mm

    def at(p_planning):
        x, y, z = m[:3, :3] @ np.asarray(p_planning, float) + m[:3, 3]
        return hu[round((z - z0) / dz), round((y - y0) / dy), round((x - x0) / dx)]

    assert at((-85, -15, 5)) == 40  # Tumour 1 centre
    assert at((-40, 30, -20)) == 60  # normal liver
    assert at((80, 10, 140)) == -740  # left lung centre
    assert at((0, 95, 100)) == 700  # spine


def test_own_frame_and_study_same_patient(studies):
    base, plan, pt, nm = studies
    for post in (pt, nm):
        assert post.uids["study_instance_uid"] != plan.uids["study_instance_uid"]
        assert post.uids["frame_of_reference_uid"] != plan.uids["frame_of_reference_uid"]
        assert post.post_treatment.planning_uids == {k: plan.uids[k] for k in ("study_instance_uid", "frame_of_reference_uid")}
    assert pt.uids["frame_of_reference_uid"] != nm.uids["frame_of_reference_uid"]
    folder = base / "post_pt"
    dss = [pydicom.dcmread(p) for p in sorted(folder.rglob("*.dcm"))]
    assert {d.PatientID for d in dss} == {"PHANTOM-001"} and {str(d.PatientName) for d in dss} == {"Phantom^Patient"}
    assert {d.StudyInstanceUID for d in dss} == {pt.uids["study_instance_uid"]}
    assert {d.FrameOfReferenceUID for d in dss} == {pt.uids["frame_of_reference_uid"]}
    rs = pydicom.dcmread(folder / "rtstruct.dcm")
    assert rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID == pt.uids["frame_of_reference_uid"]
    assert "post-treatment" in dss[0].StudyDescription


def _delivered_by_hand():
    """Delivered partition: 2 GBq x (1 - 0.05) = 1.9 GBq; LSF 0.08 + 0.02; ratios 4, 6/2, 3, 5."""
    a = 2.0 * (1 - 0.05)
    lsf = 0.10
    ratios = [4.0, 3.0, 3.0, 5.0]
    v_t = [V(*s) for s in TUMOUR_AXES]
    v_n = V(98, 80, 50) - sum(v_t)
    d = v_n + sum(r * v for r, v in zip(ratios, v_t))
    c_n = (1 - lsf) * a / d  # GBq/mL
    out = {"Normal Liver": c_n * v_n, "Lungs": lsf * a}
    out.update({f"Tumour {i}": r * c_n * v for i, (r, v) in enumerate(zip(ratios, v_t), 1)})
    return a, lsf, ratios, c_n, out


def test_delivered_truth_by_hand(studies):
    base, plan, pt, _ = studies
    a, lsf, ratios, c_n, act = _delivered_by_hand()
    data = _json(base, "post_pt")
    assert data["delivered"] == {"value": pytest.approx(a), "unit": "GBq"}
    assert data["administered"] == {"value": 2.0, "unit": "GBq"}
    assert data["lung_shunt_fraction"] == pytest.approx(lsf)
    post = data["post_treatment"]
    assert post["residual_fraction"] == 0.05 and post["lung_shunt_change"] == 0.02
    assert post["tumour_ratio_factors"] == {"Tumour 2": 0.5}
    assert post["planned_tumour_to_normal"] == {"Tumour 1": 4.0, "Tumour 2": 6.0, "Tumour 3": 3.0, "Tumour 4": 5.0}
    assert post["planned_lung_shunt_fraction"] == 0.08
    regions = data["regions"]
    for name, gbq in act.items():
        assert regions[name]["activity"]["value"] == pytest.approx(gbq, rel=1e-12), name
    for i, r in enumerate(ratios, 1):
        assert regions[f"Tumour {i}"]["tumour_to_normal"] == r
    # mean doses K A / (rho V): Tumour 2 now gets half its planned dose relative to normal liver
    t2 = regions["Tumour 2"]
    assert t2["mean_dose"]["value"] == pytest.approx(K_HAND * act["Tumour 2"] / (1.03e-3 * V(15, 12, 10)), rel=1e-4)
    lungs = V(48, 68, 78) + V(52, 70, 80)
    assert regions["Lungs"]["mean_dose"]["value"] == pytest.approx(K_HAND * lsf * a / (0.26e-3 * lungs), rel=1e-4)
    planned = _json(base, "planning")["regions"]
    # every region's figures are present: exact, voxel-sampled, occupancy-weighted, transport
    for name in ("Liver", "Normal Liver", "Tumour 1", "Tumour 2"):
        for key in ("mean_dose", "mean_dose_voxels", "mean_dose_occupancy", "mean_dose_transport"):
            assert regions[name][key]["unit"] == "Gy", (name, key)
    assert regions["Tumour 2"]["tumour_to_normal_voxels"] < 3.0 < planned["Tumour 2"]["tumour_to_normal_voxels"]


def test_transport_truth_is_rotation_invariant(studies):
    """Tumour 1 keeps its ratio (4) and its surroundings (normal liver within the 12 mm beta
    range): its transport / local-deposition ratio is the planning one, within the two sampling
    uncertainties (0.1 % each; 4 sigma)."""
    _, plan, pt, _ = studies
    ratio = {k: t.regions["Tumour 1"].mean_dose_transport / t.regions["Tumour 1"].mean_dose for k, t in (("plan", plan), ("post", pt))}
    sigma = math.hypot(plan.regions["Tumour 1"].mean_dose_transport_uncertainty, pt.regions["Tumour 1"].mean_dose_transport_uncertainty)
    assert ratio["post"].to("").magnitude == pytest.approx(ratio["plan"].to("").magnitude, rel=4 * sigma)


def test_pet_bqml_after_decay_correction(studies):
    """Y-90 PET in Bq/mL at the acquisition start (DecayCorrection START): decay-corrected to the
    RadiopharmaceuticalStartDateTime with the Y-90 half-life it holds the delivered 1.9 GBq, and a
    normal-liver voxel holds the hand-computed concentration."""
    base, _, pt, _ = studies
    dss = sorted((pydicom.dcmread(p) for p in (base / "post_pt" / "pt").glob("*.dcm")), key=lambda d: float(d.ImagePositionPatient[2]))
    d0 = dss[0]
    assert d0.Units == "BQML" and d0.DecayCorrection == "START" and d0.Modality == "PT"
    rp = d0.RadiopharmaceuticalInformationSequence[0]
    assert float(rp.RadionuclideTotalDose) == pytest.approx(2e9)  # administered, as the console records it
    start = dt.datetime.strptime(rp.RadiopharmaceuticalStartDateTime, "%Y%m%d%H%M%S")
    series = dt.datetime.strptime(d0.SeriesDate + d0.SeriesTime, "%Y%m%d%H%M%S")
    assert series - start == dt.timedelta(hours=20)
    assert float(rp.RadionuclideHalfLife) == pytest.approx(64.1 * 3600)
    df = math.exp(-LN2 * 20.0 / 64.1)  # Y-90, 20 h
    bqml = np.stack([d.pixel_array * float(d.RescaleSlope) for d in dss])
    assert bqml.sum() * 0.064 / df == pytest.approx(1.9e9, rel=1e-4)  # 4 mm voxels: 0.064 mL
    _, _, _, c_n, _ = _delivered_by_hand()
    m = np.asarray(_json(base, "post_pt")["post_treatment"]["transform_planning_to_post"]["matrix"])
    x, y, z = m[:3, :3] @ np.array([-40.0, 30.0, -20.0]) + m[:3, 3]  # deep in normal liver
    x0, y0, z0 = (float(v) for v in d0.ImagePositionPatient)
    voxel = bqml[round((z - z0) / 4.0), round((y - y0) / 4.0), round((x - x0) / 4.0)]
    assert voxel == pytest.approx(c_n * 1e9 * df, rel=1e-3)  # GBq/mL -> Bq/mL at the acquisition start
    # the reader finds the same activity at administration
    s = load_series(base / "post_pt" / "pt")
    assert float(np.sum(s.volume.array)) * 0.064 == pytest.approx(1.9e9, rel=1e-4)


def test_bremsstrahlung_spect_counts(studies):
    base, _, _, nm = studies
    ds = pydicom.dcmread(base / "post_nm" / "nm" / "NM_0001.dcm")
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert rp.RadionuclideCodeSequence[0].CodeMeaning == "^90^Yttrium" and ds.SeriesDescription == "Phantom Y-90 SPECT"
    # 18000 cts/MBq x 1900 MBq delivered x 2^(-20 / 64.1); the 15 mm blur conserves counts
    assert ds.CountsAccumulated == pytest.approx(18000 * 1900 * 2 ** (-20 / 64.1), rel=1e-6)
    assert nm.fwhm_mm == 15.0 and nm.image_unit == "cts"


def test_map_in_post_coordinates_holds_the_delivered_split():
    """Voxels of the post emission grid whose centres lie above z = 55 mm in planning coordinates
    (mapped back with the inverse transform) hold the lungs' activity, the others the liver's: the
    liver ends at z = 50 mm and the lungs begin at 60 mm, and no point of a voxel is farther than its
    half-diagonal (3.5 mm) from its centre."""
    p = make_post_arrays(PLANNING, modality="PT", fwhm_mm=0)
    a, lsf, *_ = _delivered_by_hand()
    act = p.activity.array
    assert act.sum() == pytest.approx(a * 1000, rel=1e-12)
    m = p.truth.post_treatment.transform.matrix
    (dz, dy, dx), (x0, y0, z0) = p.activity.spacing_mm, p.activity.origin_mm
    k, j, i = np.indices(act.shape)
    pts = np.stack([x0 + dx * i, y0 + dy * j, z0 + dz * k], axis=-1) - m[:3, 3]
    z_planning = pts @ m[:3, :3][:, 2]  # R^T (p - t), z component
    upper = z_planning > 55.0
    assert act[upper].sum() == pytest.approx(lsf * a * 1000, rel=1e-12)
    assert act[~upper].sum() == pytest.approx((1 - lsf) * a * 1000, rel=1e-12)


def test_command_line_post_treatment(tmp_path, capsys):
    from phantoms.__main__ import main

    assert main([str(tmp_path / "p"), "--radionuclide", "Tc-99m", "--post-treatment", "NM", "--residual-fraction", "2 %",
                 "--tumour-ratio-factor", "Tumour 1=0.5", "--lung-shunt-change", "0.01", "--rotation-deg", "3",
                 "--rotation-axis", "0,0,1", "--translation-mm", "5,0,-10", "--fwhm-mm", "0"]) == 0
    data = json.loads((tmp_path / "p" / "truth.json").read_text())
    post = data["post_treatment"]
    assert data["delivered"]["value"] == pytest.approx(1.96) and data["lung_shunt_fraction"] == pytest.approx(0.09)
    assert post["tumour_ratio_factors"] == {"Tumour 1": 0.5} and data["regions"]["Tumour 1"]["tumour_to_normal"] == 2.0
    assert data["regions"]["Tumour 2"]["tumour_to_normal"] == 6.0
    np.testing.assert_allclose(np.asarray(post["transform_planning_to_post"]["matrix"])[:3, :3], _quaternion_matrix(3, (0, 0, 1)), atol=1e-12)
    assert "post-treatment" in capsys.readouterr().out
    assert main([str(tmp_path / "q"), "--post-treatment", "PT", "--tumour-ratio-factor", "Tumour 7=2"]) == 2
    assert "tumour_ratio_factors" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"modality": "CT"}, "modality"),
        ({"residual_fraction": 1.5}, "residual_fraction"),
        ({"lung_shunt_change": 0.95}, "lung_shunt_change"),
        ({"lung_shunt_change": -0.1}, "lung_shunt_change"),
        ({"tumour_ratio_factors": {"Tumour 3": 2.0}}, "tumour_ratio_factors"),
        ({"tumour_ratio_factors": {"Tumour 1": 0.0}}, "tumour_ratio_factors.Tumour 1"),
        ({"transform": {"rotation_deg": 45}}, "transform.rotation_deg"),
        ({"transform": {"translation_mm": (0, 0, 150)}}, "transform.translation_mm"),
        ({"transform": {"translation_mm": (0, 0, 60)}}, "transform"),  # lungs leave the scanned range
        ({"transform": {"angle": 3}}, "transform"),
        ({"planning": 3}, "planning"),
    ],
)
def test_refusals_name_the_field(kwargs, field):
    kwargs = {"planning": {"tumours": 2}, **kwargs}
    with pytest.raises(InputError) as err:
        make_post_arrays(**kwargs)
    assert err.value.field == field


def test_post_files_conform(studies, tmp_path):
    """The post-treatment files pass the same conformance checks as the planning ones (required and
    forbidden attributes of PS3.3; dciodvfy when installed): rotated contours change nothing."""
    import importlib.util
    import shutil
    import subprocess
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_conformance", Path(__file__).resolve().parents[1] / "io" / "conformance.py")
    conformance = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conformance)
    problems = conformance.problems

    base, *_ = studies
    files = [base / "post_pt" / "ct" / "CT_0001.dcm", base / "post_pt" / "pt" / "PT_0001.dcm", base / "post_pt" / "rtstruct.dcm",
             base / "post_nm" / "nm" / "NM_0001.dcm"]
    for f in files:
        assert problems(f) == [], f
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    for f in files:
        run = subprocess.run([tool, str(f)], capture_output=True, text=True, timeout=60)
        assert [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")] == [], f


def test_post_study_is_deterministic():
    a = make_post_arrays(PLANNING, modality="NM", noise=True, seed=4)
    b = make_post_arrays(PLANNING, modality="NM", noise=True, seed=4)
    np.testing.assert_array_equal(a.image.array, b.image.array)
    np.testing.assert_array_equal(a.hu.array, b.hu.array)
    assert json.dumps(a.truth.to_json()) == json.dumps(b.truth.to_json())
