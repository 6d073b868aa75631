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

# The example patient's compartments (dosimetry/examples/glass.toml): tumour 300 mL at
# tumour-to-normal 3 in the target, whole liver 1800 mL. Hand calculation (partition formulas):
# M_N = 1156 mL * 1.03 = 1.19068 kg, M_T = 0.309 kg, whole normal liver M_WN = 1500 mL * 1.03 = 1.545 kg;
# perfused normal liver Gy per GBq = 50 * 0.95 / (1.19068 + 3 * 0.309) = 22.4303,
# whole normal liver Gy per GBq = 22.4303 * 1.19068 / 1.545 = 17.2863 -> 65.49 Gy at A_ISSUE;
# the glass whole-normal-liver limit is < 75 Gy (EANM 2022 Table 2), so its cap is
# 75 * (1 - 0.001) / 17.2863 = 4.3343 GBq (0.1 % below a strict limit).
EX = dict(tumour="300 mL", tumour_to_normal=3.0, liver="1800 mL")
WN_PER_GBQ = 50 * 0.95 / (1.19068 + 3 * 0.309) * 1.19068 / 1.545


def test_issue_glass_value():
    p = mird("120 Gy", "1456 mL", 0.05, device="glass", **EX)
    assert A_ISSUE == pytest.approx(3.7887, abs=5e-5)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(3.789, abs=5e-4)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(A_ISSUE, rel=1e-12)
    assert p.dose_coefficient.to("Gy*kg/GBq").magnitude == 50
    assert p.target_mass.to("kg").magnitude == pytest.approx(M)
    # lung: 50 * 3.788665 * 0.05 / 1 kg = 9.4717 Gy
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * A_ISSUE * 0.05)
    # issue 9: the largest safe activity counts every limit, not only the lungs (30 / 2.5 = 12 GBq)
    assert p.whole_normal_liver_dose.to("Gy").magnitude == pytest.approx(WN_PER_GBQ * A_ISSUE, rel=1e-4)
    assert p.whole_normal_liver_dose.to("Gy").magnitude == pytest.approx(65.49, abs=0.01)
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(75 * 0.999 / WN_PER_GBQ, rel=1e-4)
    assert p.binding_constraint == "whole_normal_liver_dose"
    assert p.within_limits is True
    assert p.warnings == ()


def test_mass_and_units_alternatives():
    a = mird("120 Gy", Q_(1.49968, "kg"), "5 %", device="glass").prescribed_activity
    b = mird(Q_(12000, "cGy"), Q_(1.456, "L"), 0.05, device="glass").prescribed_activity
    assert a.to("GBq").magnitude == pytest.approx(A_ISSUE)
    assert b.to("GBq").magnitude == pytest.approx(A_ISSUE)
    # 3.788665 GBq = 102.40 mCi
    assert a.to("mCi").magnitude == pytest.approx(A_ISSUE / 0.037)


def test_residual_fraction_raises_prepared_activity():
    # A = 179.9616 / (50 * 0.95 * 0.9) = 4.20963 GBq; delivered = A * 0.9 = the R = 0 activity
    p = mird("120 Gy", "1456 mL", 0.05, residual_fraction=0.1, device="glass")
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(A_ISSUE / 0.9)
    assert p.delivered_activity.to("GBq").magnitude == pytest.approx(A_ISSUE)
    # lung dose uses the delivered activity
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * A_ISSUE * 0.05)


def test_resin_mird_uses_49_67_and_override():
    p = mird("120 Gy", "1456 mL", 0.05, device="resin")
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(120 * M / (49.67 * 0.95))
    q = mird("120 Gy", "1456 mL", 0.05, dose_coefficient="49.77 Gy*kg/GBq", device="glass")
    assert q.prescribed_activity.to("GBq").magnitude == pytest.approx(120 * M / (49.77 * 0.95))
    assert q.dose_coefficient.magnitude == 49.77


def test_lung_limit_blocks():
    # LSF 20 %: A = 179.9616 / (50 * 0.8) = 4.49904 GBq, lung 50 * 4.49904 * 0.2 = 44.99 Gy > 30 Gy
    p = mird("120 Gy", "1456 mL", 0.20, device="glass", **EX)
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * (120 * M / 40) * 0.2)
    assert p.within_limits is False
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(30 / (50 * 0.2))  # 3 GBq
    assert p.binding_constraint == "lung_dose"
    assert any("BLOCKED" in w and "30 Gy" in w for w in p.warnings)
    assert [c.name for c in p.failed_limits] == ["lung_dose", "lung_activity"]  # issue 21: 4.499 GBq x 0.2 = 0.90 GBq to the lungs > 0.61 GBq (TheraSphere IFU)


def test_prior_lung_dose_counts():
    # prior 40 Gy: cumulative room 10 Gy -> 10 / (50 * 0.05) = 4 GBq, binding cumulative
    p = mird("120 Gy", "1456 mL", 0.05, prior_lung_dose="40 Gy", device="glass", **EX)
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(4.0)
    assert p.binding_constraint == "cumulative_lung_dose"
    assert p.cumulative_lung_dose.to("Gy").magnitude == pytest.approx(40 + 50 * A_ISSUE * 0.05)
    assert p.within_limits is True
    # prior 45 Gy: room 5 Gy < 9.47 Gy -> blocked, max 2 GBq
    q = mird("120 Gy", "1456 mL", 0.05, prior_lung_dose="45 Gy", device="glass", **EX)
    assert q.within_limits is False
    assert q.max_safe_activity.to("GBq").magnitude == pytest.approx(2.0)


def test_lung_mass_and_limit_override():
    p = mird("120 Gy", "1456 mL", 0.05, lung_mass="0.8 kg", lung_limit="10 Gy", device="glass", **EX)
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(50 * A_ISSUE * 0.05 / 0.8)
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(10 * 0.8 / (50 * 0.05))
    assert p.within_limits is False
    lung = [c for c in p.limits if c.name == "lung_dose"][0]
    assert lung.limit.magnitude == 10 and "override" in lung.source


def test_zero_shunt_has_no_lung_cap():
    p = mird("120 Gy", "1456 mL", 0.0, device="glass", **EX)
    assert p.lung_dose.magnitude == 0
    # no lung cap; the whole normal liver binds: 50 / 2.11768 * 0.770667 = 18.1960 Gy/GBq
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(75 * 0.999 / (50 / 2.11768 * 1.19068 / 1.545), rel=1e-4)
    assert p.binding_constraint == "whole_normal_liver_dose"
    q = mird("120 Gy", "1456 mL", 0.0, device="glass", normal_liver_limit="500 Gy", **EX)  # the largest plausible limit
    assert q.binding_constraint == "whole_normal_liver_dose"  # an override is still a limit
    assert np.isfinite(q.max_safe_activity.magnitude)


def test_segmentectomy_threshold():
    seg = dict(liver="1750 mL", clinical={"extent": "segmental", "indication": "hcc"})
    low = mird("300 Gy", "100 mL", 0.02, device="glass", **seg)
    high = mird("450 Gy", "100 mL", 0.02, device="glass", **seg)
    assert low.within_limits and high.within_limits  # efficacy thresholds do not block
    assert any("400 Gy" in w for w in low.warnings)
    assert not any("400 Gy" in w for w in high.warnings)
    # whole normal liver: 300 Gy * 100 / 1750 = 17.14 Gy, far below 75 Gy
    assert low.whole_normal_liver_dose.to("Gy").magnitude == pytest.approx(300 * 100 / 1750)


def test_segmentectomy_at_400_gy_meets_the_threshold():
    # issue 9: a 400 Gy radiation segmentectomy meets ">= 400 Gy" (it was BELOW with a strict ">")
    p = mird("400 Gy", "100 mL", 0.02, device="glass", liver="1750 mL", clinical={"extent": "segmental"})
    seg = [c for c in p.limits if c.name == "target_dose"][0]
    assert seg.description == "perfused volume dose >= 400 Gy"
    assert seg.passed is True and not seg.safety
    assert p.within_limits


def test_to_json_contract():
    p = mird("120 Gy", "1456 mL", 0.05, device="glass", **EX)
    j = json.loads(json.dumps(p.to_json()))
    assert j["prescribed_activity"] == {"value": pytest.approx(A_ISSUE), "unit": "GBq"}
    assert j["lung_dose"]["unit"] == "Gy"
    assert j["target_dose"] == {"value": 120.0, "unit": "Gy"}
    assert j["dose_coefficient"]["value"] == 50.0
    assert j["within_limits"] is True and j["warnings"] == []
    assert j["binding_constraint"] == "whole_normal_liver_dose"
    assert j["max_safe_activity"]["value"] == pytest.approx(75 * 0.999 / WN_PER_GBQ, rel=1e-4)
    names = {c["name"] for c in j["limits"]}
    assert names == {"lung_dose", "cumulative_lung_dose", "whole_normal_liver_dose", "lung_activity", "tumour_replacement"}  # issue 21: the TheraSphere IFU lung activity and tumour replacement (the whole liver is given)
    for c in j["limits"]:
        assert set(c) >= {"name", "value", "limit", "pass", "source", "kind"}
