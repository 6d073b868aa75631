"""Issue 23: the uncertainty analysis of a case: every safety check's p_exceed, warnings above the
clinic's bound, the verdict unchanged, the glass vial at the planned time, voxel region means."""

import math
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType, SimpleNamespace

import numpy as np
import pytest

import dosimetry
from dosimetry.io.patient import load_patient
from dosimetry.planning.budget import DEFAULT_BUDGET, UncertaintySettings, uncertainty_settings
from dosimetry.planning.result import LimitCheck
from dosimetry.units import Q_
from dosimetry.vocabulary import Calibration, Distribution, Origin, Role, Status
from dosimetry.workflow import run_case
from dosimetry.workflow.uncertainty import _voxel

EXAMPLES = Path(dosimetry.__file__).parent / "examples"
FAST = UncertaintySettings(samples=2000)


def phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


@pytest.fixture(scope="module")
def glass():
    return load_patient(EXAMPLES / "glass.toml")


def test_every_safety_check_gets_its_probability_and_the_verdict_stays(glass):
    off = run_case(glass, uncertainty=UncertaintySettings(samples=0))
    case = run_case(glass, uncertainty=FAST)
    assert off.uncertainty is None and all(c.p_exceed is None for c in off.safety)
    assert case.status == off.status == Status.WITHIN_LIMITS
    assert [c.passed for c in case.safety] == [c.passed for c in off.safety]
    assert all(0.0 <= c.p_exceed <= 1.0 for c in case.safety)
    assert case.uncertainty.samples == 2000 and case.uncertainty.seed == 0
    # the plan's own checks carry the same probabilities (plan JSON "limits" and case "safety")
    by_name = {c.name: c.p_exceed for c in case.plan.plan.limits if c.safety}
    assert all(by_name[c.name] == c.p_exceed for c in case.safety if c.origin is Origin.PLAN)


def test_a_probability_above_the_bound_warns_and_never_blocks(glass):
    # the example's whole normal liver (65 Gy nominal, limit < 75 Gy) is crossed in about 1 draw in 8
    case = run_case(glass, uncertainty=FAST)
    wnl = next(c for c in case.safety if c.name == "whole_normal_liver_dose")
    assert wnl.passed and 0.05 < wnl.p_exceed < 0.5
    assert any(w.startswith("UNCERTAINTY: 'whole normal liver dose < 75 Gy'") for w in case.warnings)
    assert not case.blocked and case.actionable
    relaxed = run_case(glass, uncertainty=uncertainty_settings({"p_exceed_bound": "50 %"}, base=FAST))
    assert not any(w.startswith("UNCERTAINTY") for w in relaxed.warnings)


def test_the_patient_files_table_is_used_by_default(glass):
    pf = replace(glass, uncertainty=uncertainty_settings({"samples": 300, "seed": 9}))
    case = run_case(pf)
    assert case.uncertainty.samples == 300 and case.uncertainty.seed == 9


def test_the_shunt_term_follows_how_the_shunt_was_measured(glass):
    case = run_case(glass, uncertainty=FAST)  # typed: the clinic's method, planar by default
    assert "lung_shunt_planar" in {t.name for t in case.uncertainty.plan.terms}
    spect = run_case(glass, uncertainty=uncertainty_settings({"lung_shunt_method": "spect"}, base=FAST))
    assert "lung_shunt_spect" in {t.name for t in spect.uncertainty.plan.terms}
    # the example gives lung.mass: the measured lung mass term, not the 1 kg convention's
    assert "lung_mass" in {t.name for t in case.uncertainty.plan.terms}


def test_the_glass_vial_at_the_planned_time_is_checked_at_its_own_activity(glass):
    # a 7 GBq vial given whole at the planned time holds more than the prescription: its checks scale
    pf = replace(glass, treatment=replace(glass.treatment, vial=Q_(7, "GBq")))
    case = run_case(pf, uncertainty=FAST)
    vial = [c for c in case.safety if c.origin is Origin.VIAL_AT_PLANNED_TIME]
    assert vial, "the vial's checks are shown when it differs from the prescription"
    ratio = float(vial[0].value.magnitude) / float(next(c for c in case.plan.plan.limits if c.name == vial[0].name).value.magnitude)
    assert ratio > 1.001
    at = dict(zip((c.name for c in case.plan.plan.limits), case.uncertainty.plan.p_exceed_at(ratio)))
    for c in vial:
        assert c.p_exceed == at[c.name]
        plan_p = next(x.p_exceed for x in case.plan.plan.limits if x.name == c.name)
        assert c.p_exceed >= plan_p  # more activity, at least as likely to cross


def _voxel_case(mean_gy, limit_gy, calibration=Calibration.RELATIVE):
    lung = LimitCheck("lung_dose", f"lung dose (this treatment) <= {limit_gy} Gy", Q_(mean_gy, "Gy"), Q_(limit_gy, "Gy"), "max", True,
                      mean_gy <= limit_gy, "test", label="lung dose", volume="lungs", origin=Origin.VOXEL)
    region = SimpleNamespace(name="Lungs", role=Role.LUNG, stats=SimpleNamespace(mean=Q_(mean_gy, "Gy")))
    voxel = SimpleNamespace(regions=(region,), calibration_method=calibration)
    plan = SimpleNamespace(patient=SimpleNamespace(lung=SimpleNamespace(prior_dose=Q_(0, "Gy"))))
    return SimpleNamespace(voxel=voxel, safety=(lung,), plan=plan), lung


def _only(**terms):
    budget = {k: replace(t, spread=0.0) for k, t in DEFAULT_BUDGET.items()}
    for name, changes in terms.items():
        budget[name] = replace(DEFAULT_BUDGET[name], **changes)
    return UncertaintySettings(budget=MappingProxyType(budget), samples=100_000)


def test_voxel_region_means_with_only_the_roi_volume_uncertain():
    """D = D0 / v, v normal (1, 0.1): quantiles D0 / (1 +- 1.96 x 0.1); P(D > 25 Gy) = P(v < 0.8) = Phi(-2)."""
    s = _only(roi_volume=dict(distribution=Distribution.NORMAL, spread=0.10))
    case, lung = _voxel_case(20.0, 25.0)
    u = SimpleNamespace(samples=s.samples, activity_factor=np.ones(s.samples))
    intervals, p = _voxel(case, u, s)
    iv = intervals["Lungs"]
    assert iv.low.to("Gy").magnitude == pytest.approx(20 / (1 + 1.959964 * 0.1), rel=3e-3)
    assert iv.high.to("Gy").magnitude == pytest.approx(20 / (1 - 1.959964 * 0.1), rel=3e-3)
    expected = phi(-2.0)
    assert p[id(lung)] == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / s.samples))


def test_voxel_region_means_with_the_activity_and_calibration():
    """Relative calibration: D = D0 x activity factor x calibration factor; absolute: no activity factor."""
    s = _only(image_calibration=dict(distribution=Distribution.NORMAL, spread=0.05))
    n = s.samples
    act = np.full(n, 1.10)  # the activity given 10 % above the activity measured, in every draw
    case, _ = _voxel_case(20.0, 30.0)
    iv = _voxel(case, SimpleNamespace(samples=n, activity_factor=act), s)[0]["Lungs"]
    assert iv.median.to("Gy").magnitude == pytest.approx(22.0, rel=2e-3)
    assert iv.high.to("Gy").magnitude == pytest.approx(22.0 * (1 + 1.959964 * 0.05), rel=3e-3)
    case, _ = _voxel_case(20.0, 30.0, Calibration.ABSOLUTE)
    iv = _voxel(case, SimpleNamespace(samples=n, activity_factor=act), s)[0]["Lungs"]
    assert iv.median.to("Gy").magnitude == pytest.approx(20.0, rel=2e-3)
