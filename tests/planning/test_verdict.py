"""Issue 19: each safety rule once (dosimetry.planning.verdict), and the inconsistencies its copies had.

Every expected figure is written out by hand: K = 50 Gy kg/GBq (glass IFU), lung mass 1 kg,
Y-90 half-life 64.1 h, the relative tolerance of inclusive limits 1e-9 (a plan sized to its cap
sits at half of it above the limit).
"""

import datetime as dt
import math

import numpy as np
import pytest

from dosimetry.io.patient import parse_patient
from dosimetry.planning import mird, verdict
from dosimetry.planning.result import LimitCheck
from dosimetry.units import Q_
from dosimetry.vocabulary import Origin, Status
from dosimetry.workflow import assess, plan_patient, voxel_dose
from dosimetry.workflow.plan import VIAL_RATIO_SHOWN


def _check(value, limit=30.0, bound="max", inclusive=True, safety=True, name="lung_dose"):
    return LimitCheck(name, f"{name} {limit}", Q_(value, "Gy"), Q_(limit, "Gy"), bound, safety, verdict.passes(value, limit, bound, inclusive), "test", inclusive=inclusive)


def test_passes_inclusive_strict_and_minimum_bounds():
    assert verdict.passes(30.0, 30.0, "max", True)
    assert verdict.passes(30.0 * (1 + 0.9e-9), 30.0, "max", True)  # rounding at the boundary
    assert not verdict.passes(30.0 * (1 + 2e-9), 30.0, "max", True)
    assert not verdict.passes(75.0, 75.0, "max", False)  # EANM "< 75 Gy"
    assert verdict.passes(205.0 * (1 - 0.9e-9), 205.0, "min", True)
    assert not verdict.passes(400.0, 400.0, "min", False)
    assert verdict.passes(np.array([29.0, 31.0]), 30.0, "max", True).tolist() == [True, False]


def test_headroom_is_half_the_tolerance_above_an_inclusive_limit_and_0_1_percent_below_a_strict_one():
    assert verdict.headroom(30.0, True) == 30.0 * (1 + 0.5e-9)
    assert verdict.headroom(75.0, False) == pytest.approx(74.925, rel=1e-15)
    assert verdict.headroom(50.0, True, used=20.0) == pytest.approx(50.0 * (1 + 0.5e-9) - 20.0, rel=1e-15)
    # a figure sized to its headroom passes its check
    assert verdict.passes(verdict.headroom(30.0, True), 30.0, "max", True)


def test_scaled_checks_scale_this_treatment_and_keep_the_prior_lung_dose():
    # lung 20 Gy this treatment, 15 Gy before: cumulative 35 Gy; given at 1.6 x: 32 Gy and 15 + 32 = 47 Gy
    lsf = LimitCheck("lung_shunt_fraction", "lsf", Q_(0.1, ""), Q_(0.2, ""), "max", True, True, "t")
    checks = (_check(20.0), _check(35.0, 50.0, name="cumulative_lung_dose"), lsf)
    out = verdict.scaled(checks, 1.6, Q_(15.0, "Gy"), origin=Origin.VIAL_AT_PLANNED_TIME)
    assert [c.name for c in out] == ["lung_dose", "cumulative_lung_dose"]  # a fraction does not scale
    assert out[0].value.magnitude == pytest.approx(32.0) and not out[0].passed
    assert out[1].value.magnitude == pytest.approx(47.0) and out[1].passed
    assert {c.origin for c in out} == {Origin.VIAL_AT_PLANNED_TIME}


def test_status_is_one_rule():
    ok, bad = _check(20.0), _check(31.0)
    assert verdict.status([ok]) is Status.WITHIN_LIMITS and verdict.status([ok]) == "WITHIN LIMITS"
    assert verdict.status([ok], ["no vial fits"]) is Status.NEEDS_DECISION
    assert verdict.status([ok, bad], ["no vial fits"]) is Status.BLOCKED
    eff = _check(100.0, 205.0, "min", safety=False, name="tumour_dose")  # efficacy never blocks
    assert not eff.passed and verdict.status([ok, eff]) is Status.WITHIN_LIMITS


def test_a_plan_sized_to_its_inclusive_cap_passes_in_plan_and_in_the_voxel_assessment():
    """Before: the voxel caps of assess left the whole tolerance (RTOL) above an inclusive limit, the
    plan caps half of it (RTOL/2): a case scaled to its voxel cap sat on the edge of its check."""
    from tests.workflow.test_assess import _phantom_inputs

    v = voxel_dose(_phantom_inputs(lung_activity=3.0, ct=True), administered="0.01 GBq", method="ldm")
    case = assess(voxel=v, device="glass")
    lung = v.region("Lung").stats.mean.to("Gy").magnitude
    assert "lung dose" in case.binding
    # 0.01 GBq x 30 Gy (1 + 0.5e-9) / lung mean: the same headroom as planning.limits.caps
    assert case.max_safe_activity.to("GBq").magnitude == pytest.approx(0.01 * 30 * (1 + 0.5e-9) / lung, rel=1e-13)
    at_cap = assess(voxel=voxel_dose(_phantom_inputs(lung_activity=3.0, ct=True), administered=case.max_safe_activity, method="ldm"), device="glass")
    assert not at_cap.blocked
    # a plan at its cap (partition, lung binding) passes as well
    p = mird(Q_(30 * (1 + 0.5e-9), "Gy") * 1.0, "1000 mL", 0.0, device="glass")  # no shunt: normal liver only
    assert p.within_limits


def _glass_file(calibration: dt.datetime) -> dict:
    return {
        "patient": {"id": "V1"},
        "treatment": {"device": "glass", "method": "partition", "vial": "3 GBq",
                      "administration": dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
                      "calibration": calibration},
        "lung": {"shunt_fraction": 0.3},
        "target": {"volume": "1000 mL", "tumour_volume": "100 mL", "tumour_to_normal": 3.0},
    }


def test_vial_at_the_planned_time_is_one_rule_in_plan_and_assess():
    """Before: the plan ignored a vial within 1e-6 of the prescription (plan.py) while assess checked
    it at any ratio: a plan at its lung cap given with a vial holding 5e-7 more passed as a plan
    (PatientPlan.within_limits) and was blocked as a case. Now both use verdict.scaled."""
    adm = _glass_file(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))["treatment"]["administration"]
    # partition, largest safe activity: lung 30 Gy (inclusive) binds at 30 (1 + 0.5e-9) / (50 x 0.3) GBq
    a = 30 * (1 + 0.5e-9) / (50 * 0.3)
    hours = 64.1 / math.log(2) * math.log(3.0 / (a * (1 + 5e-7)))  # 3 GBq decays to a (1 + 5e-7)
    cal = adm - dt.timedelta(hours=hours)
    pp = plan_patient(parse_patient(_glass_file(cal)))
    assert pp.plan.prescribed_activity.to("GBq").magnitude == pytest.approx(a, rel=1e-12)
    assert pp.plan.within_limits
    case = assess(pp)
    assert case.blocked
    assert not pp.within_limits  # the same verdict as the case
    (lung,) = [c for c in pp.vial_checks if c.name == "lung_dose"]
    assert lung.origin is Origin.VIAL_AT_PLANNED_TIME and not lung.passed
    assert lung.value.to("Gy").magnitude == pytest.approx(30 * (1 + 5e-7), rel=1e-9)


def test_a_vial_within_the_display_tolerance_is_not_listed_when_it_passes():
    adm = _glass_file(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))["treatment"]["administration"]
    a = 30 * (1 + 0.5e-9) / (50 * 0.3)
    for excess, shown in ((-0.5 * VIAL_RATIO_SHOWN, False), (-2 * VIAL_RATIO_SHOWN, True)):
        hours = 64.1 / math.log(2) * math.log(3.0 / (a * (1 + excess)))
        pp = plan_patient(parse_patient(_glass_file(adm - dt.timedelta(hours=hours))))
        assert pp.within_limits
        assert bool([c for c in pp.vial_checks if c.origin is Origin.VIAL_AT_PLANNED_TIME]) is shown


def test_plan_settings_bundle_is_the_same_plan_as_the_keywords():
    from dosimetry.planning import PlanSettings, partition

    ps = PlanSettings(device="resin", lung_mass="0.9 kg", prior_lung_dose="10 Gy", residual_fraction=0.02)
    a = partition("1000 mL", "100 mL", 3.0, 0.05, settings=ps)
    b = partition("1000 mL", "100 mL", 3.0, 0.05, device="resin", lung_mass="0.9 kg", prior_lung_dose="10 Gy", residual_fraction=0.02)
    assert a.prescribed_activity == b.prescribed_activity and a.lung_mass.to("kg").magnitude == pytest.approx(0.9)
    # a keyword replaces the bundle's value; a misspelt one and a missing device are refused as Python refuses them
    c = partition("1000 mL", "100 mL", 3.0, 0.05, settings=ps, lung_mass="1.1 kg")
    assert c.lung_mass.to("kg").magnitude == pytest.approx(1.1)
    with pytest.raises(TypeError, match="lung_mas"):
        partition("1000 mL", "100 mL", 3.0, 0.05, device="resin", lung_mas="1 kg")
    with pytest.raises(TypeError, match="device"):
        mird("100 Gy", "1000 mL", 0.05)


def test_a_resin_plan_outside_the_usable_window_is_blocked_as_a_plan_and_as_a_case():
    """Before: PatientPlan.within_limits ignored the resin usable-window check (origin "vial") that
    blocks the case; every result type now asks verdict.within_limits of the same checks."""
    tz = dt.timezone(dt.timedelta(hours=-5))
    doc = {"patient": {"id": "R1"},
           "treatment": {"device": "resin", "method": "partition", "vial_activity": "3 GBq",
                         "calibration": dt.datetime(2026, 3, 2, 18, 0, tzinfo=tz), "administration": dt.datetime(2026, 3, 4, 10, 0, tzinfo=tz)},
           "lung": {"shunt_fraction": 0.05},
           "target": {"volume": "1000 mL", "tumour_volume": "100 mL", "tumour_to_normal": 3.0, "normal_liver_dose": "30 Gy"}}
    pp = plan_patient(parse_patient(doc))  # 40 h after calibration; SIR-Spheres IFU window -24 h to +24 h
    (window,) = [c for c in pp.vial_checks if c.name == "time_from_calibration"]
    assert window.value.to("h").magnitude == pytest.approx(40.0) and not window.passed and window.origin is Origin.VIAL
    assert pp.plan.within_limits  # the prescription itself is within its dose limits
    assert not pp.within_limits and assess(pp).status is Status.BLOCKED
