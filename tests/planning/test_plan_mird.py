"""Single-compartment (MIRD) model: issue 3 hand values."""

import json

import numpy as np
import pytest

from dosimetry.planning import mird
from dosimetry.units import Q_

# Hand calculation (issue 3): M = 1456 mL * 1.03 g/mL = 1.49968 kg;
# A = 120 Gy * 1.49968 kg / (50 Gy kg/GBq * (1 - 0.05)) = 179.9616 / 47.5 = 3.788665 GBq
M = 1456 * 1.03 / 1000
A_ISSUE = 120 * M / (50 * 0.95)


def test_issue_glass_value():
    p = mird("120 Gy", "1456 mL", 0.05)
    assert A_ISSUE == pytest.approx(3.7887, abs=5e-5)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(3.789, abs=5e-4)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(A_ISSUE, rel=1e-12)
    assert p.dose_coefficient.to("Gy*kg/GBq").magnitude == 50
    assert p.target_mass.to("kg").magnitude == pytest.approx(M)
    # lung: 50 * 3.788665 * 0.05 / 1 kg = 9.4717 Gy
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * A_ISSUE * 0.05)
    # max activity: the 30 Gy lung limit, 30 / (50 * 0.05) = 12 GBq
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(12.0)
    assert p.binding_constraint == "lung_dose"
    assert p.within_limits is True
    assert p.warnings == ()


def test_mass_and_units_alternatives():
    a = mird("120 Gy", Q_(1.49968, "kg"), "5 %").prescribed_activity
    b = mird(Q_(12000, "cGy"), Q_(1.456, "L"), 0.05).prescribed_activity
    assert a.to("GBq").magnitude == pytest.approx(A_ISSUE)
    assert b.to("GBq").magnitude == pytest.approx(A_ISSUE)
    # 3.788665 GBq = 102.40 mCi
    assert a.to("mCi").magnitude == pytest.approx(A_ISSUE / 0.037)


def test_residual_fraction_raises_prepared_activity():
    # A = 179.9616 / (50 * 0.95 * 0.9) = 4.20963 GBq; delivered = A * 0.9 = the R = 0 activity
    p = mird("120 Gy", "1456 mL", 0.05, residual_fraction=0.1)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(A_ISSUE / 0.9)
    assert p.delivered_activity.to("GBq").magnitude == pytest.approx(A_ISSUE)
    # lung dose uses the delivered activity
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * A_ISSUE * 0.05)


def test_resin_mird_uses_49_67_and_override():
    p = mird("120 Gy", "1456 mL", 0.05, device="resin")
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(120 * M / (49.67 * 0.95))
    q = mird("120 Gy", "1456 mL", 0.05, dose_coefficient="49.77 Gy*kg/GBq")
    assert q.prescribed_activity.to("GBq").magnitude == pytest.approx(120 * M / (49.77 * 0.95))
    assert q.dose_coefficient.magnitude == 49.77


def test_lung_limit_blocks():
    # LSF 20 %: A = 179.9616 / (50 * 0.8) = 4.49904 GBq, lung 50 * 4.49904 * 0.2 = 44.99 Gy > 30 Gy
    p = mird("120 Gy", "1456 mL", 0.20)
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * (120 * M / 40) * 0.2)
    assert p.within_limits is False
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(30 / (50 * 0.2))  # 3 GBq
    assert p.binding_constraint == "lung_dose"
    assert any("BLOCKED" in w and "30 Gy" in w for w in p.warnings)
    assert [c.name for c in p.failed_limits] == ["lung_dose"]


def test_prior_lung_dose_counts():
    # prior 40 Gy: cumulative room 10 Gy -> 10 / (50 * 0.05) = 4 GBq, binding cumulative
    p = mird("120 Gy", "1456 mL", 0.05, prior_lung_dose="40 Gy")
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(4.0)
    assert p.binding_constraint == "cumulative_lung_dose"
    assert p.cumulative_lung_dose.to("Gy").magnitude == pytest.approx(40 + 50 * A_ISSUE * 0.05)
    assert p.within_limits is True
    # prior 45 Gy: room 5 Gy < 9.47 Gy -> blocked, max 2 GBq
    q = mird("120 Gy", "1456 mL", 0.05, prior_lung_dose="45 Gy")
    assert q.within_limits is False
    assert q.max_safe_activity.to("GBq").magnitude == pytest.approx(2.0)


def test_lung_mass_and_limit_override():
    p = mird("120 Gy", "1456 mL", 0.05, lung_mass="0.8 kg", lung_limit="10 Gy")
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * A_ISSUE * 0.05 / 0.8)
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(10 * 0.8 / (50 * 0.05))
    assert p.within_limits is False
    lung = [c for c in p.limits if c.name == "lung_dose"][0]
    assert lung.limit.magnitude == 10 and "override" in lung.source


def test_zero_shunt_has_no_lung_cap():
    p = mird("120 Gy", "1456 mL", 0.0)
    assert p.lung_dose.magnitude == 0
    assert np.isinf(p.max_safe_activity.magnitude)
    assert p.binding_constraint == "none"


def test_segmentectomy_threshold():
    low = mird("300 Gy", "100 mL", 0.02, scenario="segmentectomy")
    high = mird("450 Gy", "100 mL", 0.02, scenario="segmentectomy")
    assert low.within_limits and high.within_limits  # efficacy thresholds do not block
    assert any("400 Gy" in w for w in low.warnings)
    assert not any("400 Gy" in w for w in high.warnings)


def test_to_json_contract():
    p = mird("120 Gy", "1456 mL", 0.05)
    j = json.loads(json.dumps(p.to_json()))
    assert j["prescribed_activity"] == {"value": pytest.approx(A_ISSUE), "unit": "GBq"}
    assert j["lung_dose"]["unit"] == "Gy"
    assert j["target_dose"] == {"value": 120.0, "unit": "Gy"}
    assert j["dose_coefficient"]["value"] == 50.0
    assert j["within_limits"] is True and j["warnings"] == []
    assert j["binding_constraint"] == "lung_dose"
    assert j["max_safe_activity"]["value"] == pytest.approx(12.0)
    names = {c["name"] for c in j["limits"]}
    assert names == {"lung_dose", "cumulative_lung_dose"}
    for c in j["limits"]:
        assert set(c) >= {"name", "value", "limit", "pass", "source", "kind"}
