"""Issue 9: one case, one verdict, whatever the method or the command.

Every expected number is a hand calculation written here (K = 50 Gy kg/GBq glass, 49.67 resin;
liver density 1.03 g/mL; EANM 2022 Tables 2 and 3 for the limits).
"""

import numpy as np
import pytest

import dosimetry
import dosimetry.planning
from dosimetry.planning import bsa, empirical, mird, partition
from dosimetry.voxel import Volume
from dosimetry.workflow import ImagingInputs, assess, voxel_dose


def test_glass_mird_whole_liver_100_gy_is_blocked_by_the_normal_liver_limit():
    # whole liver 1750 mL, no tumour: normal liver (whole = perfused) 100 Gy > 75 Gy (EANM 2022 T2)
    p = mird("100 Gy", "1750 mL", 0.0, device="glass", liver="1750 mL")
    assert p.whole_normal_liver_dose.to("Gy").magnitude == pytest.approx(100.0)
    assert not p.within_limits
    (failed,) = p.failed_limits
    assert failed.name == "whole_normal_liver_dose" and failed.description == "whole normal liver dose < 75 Gy"
    # largest safe activity: 75 Gy * 0.999 * 1.8025 kg / 50 = 2.70105 GBq (not "unlimited", not lungs only)
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(75 * 0.999 * 1.8025 / 50)
    assert p.binding_constraint == "whole_normal_liver_dose"


def test_resin_bsa_whole_liver_shows_and_checks_its_implied_normal_liver_dose():
    # BSA 175 cm / 75 kg = 1.90311 m2 -> A = 1.70311 GBq (tumour 0 mL); LSF 5 %: no reduction.
    # normal liver = 49.67 * 1.70311 * 0.95 / (1750 mL * 1.03 g/mL) = 44.585 Gy > 40 Gy (EANM 2022 T3)
    p = bsa("175 cm", "75 kg", "1750 mL", "0 mL", 0.05, device="resin")
    a = 0.20247 * 1.75**0.725 * 75**0.425 - 0.2
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(a)
    assert p.normal_liver_dose.to("Gy").magnitude == pytest.approx(49.67 * a * 0.95 / 1.8025)
    assert p.normal_liver_dose.to("Gy").magnitude == pytest.approx(44.585, abs=1e-3)
    assert [c.name for c in p.failed_limits] == ["normal_liver_dose"]
    e = empirical("1750 mL", "0 mL", 0.05, device="resin")  # 2.0 GBq: 52.4 Gy, blocked as well
    assert e.normal_liver_dose.to("Gy").magnitude == pytest.approx(49.67 * 2.0 * 0.95 / 1.8025)
    assert not e.within_limits


def test_every_method_reports_and_checks_the_same_figures():
    plans = [
        mird("100 Gy", "1000 mL", 0.05, device="resin", tumour="100 mL", tumour_to_normal=3.0, liver="1600 mL"),
        bsa("175 cm", "75 kg", "1600 mL", "100 mL", 0.05, target="1000 mL", liver_tumour="100 mL", tumour_to_normal=3.0, device="resin"),
        partition("1000 mL", "100 mL", 3.0, 0.05, device="resin", liver="1600 mL"),
    ]
    for p in plans:
        for fig in ("target_dose", "normal_liver_dose", "whole_normal_liver_dose", "tumour_dose", "lung_dose"):
            assert getattr(p, fig) is not None, (p.method, fig)
        assert {c.name for c in p.limits if c.safety} == {"lung_dose", "cumulative_lung_dose", "normal_liver_dose", "lung_shunt_fraction"}
        # same physics: normal liver = 49.67 * A * 0.95 / (0.927 kg + 3 * 0.103 kg)
        a = p.prescribed_activity.to("GBq").magnitude
        assert p.normal_liver_dose.to("Gy").magnitude == pytest.approx(49.67 * a * 0.95 / (0.927 + 0.309))
        assert p.whole_normal_liver_dose.to("Gy").magnitude == pytest.approx(p.normal_liver_dose.to("Gy").magnitude * 900 / 1500)


def test_glass_lobar_plan_passes_the_whole_liver_limit_and_bilirubin_applies_50_gy():
    # lobar: 875 mL perfused of a 1750 mL liver, no shunt: perfused normal liver 100 Gy,
    # whole normal liver 100 * 875 / 1750 = 50 Gy < 75 Gy: within limits (the guideline's volume)
    p = mird("100 Gy", "875 mL", 0.0, device="glass", liver="1750 mL", clinical={"extent": "lobar", "bilirubin": "0.8 mg/dL"})
    assert p.normal_liver_dose.to("Gy").magnitude == pytest.approx(100.0)
    assert p.whole_normal_liver_dose.to("Gy").magnitude == pytest.approx(50.0)
    assert p.within_limits
    # bilirubin 1.5 mg/dL: EANM 2022 T2 footnote: < 50 Gy; 50 Gy does not pass a strict "<"
    q = mird("100 Gy", "875 mL", 0.0, device="glass", liver="1750 mL", clinical={"extent": "lobar", "bilirubin": "1.5 mg/dL"})
    (nl,) = [c for c in q.limits if c.name == "whole_normal_liver_dose"]
    assert nl.limit.to("Gy").magnitude == 50.0 and "bilirubin" in nl.source
    assert not q.within_limits
    r = mird("90 Gy", "875 mL", 0.0, device="glass", liver="1750 mL", clinical={"bilirubin": "1.5 mg/dL"})
    assert r.within_limits  # 45 Gy < 50 Gy


def test_compromised_bilobar_resin_liver_gets_30_gy():
    # resin whole-liver partition, normal liver at 35 Gy: passes < 40 Gy, fails < 30 Gy when compromised
    ok = partition("1500 mL", "100 mL", 3.0, 0.05, device="resin", normal_liver_dose="35 Gy", clinical={"extent": "bilobar", "compromised_liver": False})
    bad = partition("1500 mL", "100 mL", 3.0, 0.05, device="resin", normal_liver_dose="35 Gy", clinical={"extent": "bilobar", "compromised_liver": True})
    assert ok.within_limits and not bad.within_limits
    assert [c.limit.magnitude for c in bad.failed_limits] == [30.0]


def test_override_is_shown_as_an_override():
    p = mird("100 Gy", "875 mL", 0.0, device="glass", liver="1750 mL", normal_liver_limit="45 Gy")
    (nl,) = [c for c in p.limits if c.name == "whole_normal_liver_dose"]
    assert nl.override and nl.limit.magnitude == 45 and "clinic override" in nl.source and "< 75 Gy" in nl.source
    assert not p.within_limits  # 50 Gy > 45 Gy


def _phantom_inputs(lung_activity: float, ct: bool = False):
    """A 3-region activity image in memory: liver block, one tumour voxel block, lung block; with
    ``ct`` a CT of 40 HU everywhere (1.03 g/mL on the soft-tissue plateau: the same densities as
    without a CT, but the lung dose counts as measured)."""
    shape = (10, 10, 10)
    a = np.zeros(shape, np.float32)
    liver = np.zeros(shape, bool)
    liver[2:8, 2:8, 2:6] = True
    tumour = np.zeros(shape, bool)
    tumour[4:6, 4:6, 3:5] = True
    lung = np.zeros(shape, bool)
    lung[2:8, 2:8, 7:9] = True
    a[liver] = 1.0
    a[tumour] = 4.0
    a[lung] = lung_activity
    vol = Volume(a, (4.0, 4.0, 4.0), unit="cts")
    mask = lambda m: vol.with_array(m, unit="dimensionless")  # noqa: E731
    hu = vol.with_array(np.full(shape, 40.0), "dimensionless") if ct else None
    return ImagingInputs(activity=vol, liver=mask(liver), tumours={"T": mask(tumour)}, lungs={"Lung": mask(lung)}, ct=hu)


def test_voxel_dose_runs_on_in_memory_arrays_and_assess_blocks_on_a_voxel_limit():
    # local deposition, density 1.03 g/mL: D = K A_voxel / m_voxel with K = Y-90 complete-decay coefficient
    inputs = _phantom_inputs(lung_activity=0.0)
    v = voxel_dose(inputs, administered="0.01 GBq", method="ldm")  # 8.7 mL of liver: about 45 Gy
    case = assess(voxel=v, device="glass")
    assert not case.blocked
    liver_vox = (6 * 6 * 4 - 2 * 2 * 2)
    # complete-decay coefficient T1/2 / ln 2 * E_mean = 64.1 h * 3600 / ln 2 * 1e9 * 0.9331 MeV * 1.602e-13 J/MeV
    k = 64.1 * 3600 / np.log(2) * 1e9 * 0.9331 * 1.602176634e-13  # 49.77 Gy kg/GBq
    normal_mass = liver_vox * 0.064 * 1.03 / 1000  # kg: 0.064 mL voxels
    # normal liver holds 136 of (136 + 8 * 4) = 136/168 of 1 GBq
    d_normal = k * 0.01 * (136 / 168) / normal_mass
    (nl,) = [c for c in case.safety if c.name == "whole_normal_liver_dose"]
    assert nl.value.to("Gy").magnitude == pytest.approx(d_normal, rel=1e-4)
    # 0.02 GBq: normal liver about 90 Gy > 75 Gy -> blocked by the voxel check
    hot = assess(voxel=voxel_dose(inputs, administered="0.02 GBq", method="ldm"), device="glass")
    assert hot.blocked and hot.status == "BLOCKED"
    assert any(c.origin == "voxel" and c.name == "whole_normal_liver_dose" for c in hot.failed)
    assert hot.max_safe_activity.to("GBq").magnitude == pytest.approx(0.02 * 75 * 0.999 / (2 * d_normal), rel=2e-3)


def test_the_job_is_importable_from_one_place():
    for name in dosimetry.__all__:
        assert getattr(dosimetry, name) is not None
    assert dosimetry.assess is assess


def test_predictive_voxel_objectives_reach_the_tumour_threshold_within_the_limits():
    """Issue 12: the activity reaching a tumour mean (or D70) target, naming what binds.

    Dose is linear in activity: the activity reaching 'mean >= X' is administered * X / mean."""
    inputs = _phantom_inputs(lung_activity=0.2)
    v = voxel_dose(inputs, administered="0.01 GBq", method="ldm")
    case = assess(voxel=v, device="glass", clinical=dosimetry.planning.clinical(indication="hcc"))
    by = {o["objective"]: o for o in case.objectives}
    mean_t = v.region("T").stats.mean.to("Gy").magnitude
    o = by["T mean >= 205 Gy"]
    assert o["activity_to_reach"].to("GBq").magnitude == pytest.approx(0.01 * 205 / mean_t, rel=1e-6)
    # the normal liver mean binds the largest safe activity: 0.01 GBq * 75 * 0.999 / normal-liver mean
    normal = v.region("Normal liver").stats.mean.to("Gy").magnitude
    assert o["largest_safe_activity"].to("GBq").magnitude == pytest.approx(0.01 * 75 * 0.999 / normal, rel=1e-6)
    assert o["reachable_within_limits"] == (o["activity_to_reach"] <= o["largest_safe_activity"])
    # in JSON every activity carries its unit (docs/cli.md: every quantity is {value, unit})
    (j,) = [x for x in case.to_json()["voxel_objectives"] if x["objective"] == "T mean >= 205 Gy"]
    assert j["activity_to_reach"] == {"value": pytest.approx(0.01 * 205 / mean_t, rel=1e-6), "unit": "GBq"}
    assert j["largest_safe_activity"]["unit"] == "GBq"
    assert "T D70 >= 205 Gy" in by


def test_prior_lung_dose_has_the_patient_files_range():
    # the library refuses what the patient file refuses (0-200 Gy), whichever command calls it
    from dosimetry.errors import InputError

    with pytest.raises(InputError, match="lung.prior_dose") as e:
        assess(voxel=voxel_dose(_phantom_inputs(0.0), administered="0.01 GBq", method="ldm"), prior_lung_dose="500 Gy")
    assert "200" in str(e.value)


def test_a_value_outside_its_usual_band_is_warned_once():
    # the patient file and the planning function both check target.volume; the plan lists it once,
    # under the field the file gave (not again as a derived target.mass)
    import tomllib
    from pathlib import Path

    from dosimetry.io.patient import parse_patient
    from dosimetry.workflow import plan_case

    base = (Path(dosimetry.__file__).parent / "examples" / "glass.toml").read_text()
    small = base.replace('volume = "1456 mL"', 'volume = "5 mL"').replace('tumour_volume = "300 mL"', 'tumour_volume = "1 mL"')
    warnings = plan_case(parse_patient(tomllib.loads(small))).plan.warnings
    about = [w for w in warnings if w.startswith(("target.volume", "target.mass"))]
    assert len(about) == 1 and about[0].startswith("target.volume = 5 mL")
