"""Several tumours in a plan of arrays (one plan per element): each tumour's dose belongs to its own plan.

Found with the recorded plans of issue 22: numpy aligns trailing axes, so 3 tumours given as single
volumes against 3 plans (an array of 3 doses) paired tumour i with plan i (a silent mix of plans), and 2
tumours against 3 plans stopped with numpy's broadcast error instead of a plan. The expected figures are
the partition arithmetic written out here (EANM 2022, Weber et al.; MIRD pamphlet 22 partition model).
"""

import numpy as np
import pytest

from dosimetry import planning
from dosimetry.units import Q_

DENSITY = 1.03  # g/mL, the planning default (liver tissue; ICRU 46)
K_GLASS = 50.0  # Gy kg / GBq (MIRD; TheraSphere IFU)


def _hand(dose_gy, target_ml, lsf, tumours_ml, ratios):
    """Prescribed activity [GBq] and tumour doses [Gy] by hand: A = D M / (K (1 - LSF)); the liver share
    K A (1 - LSF) spread over M_N + sum(r_i m_i) gives the normal-liver dose; tumour i gets r_i times it."""
    m = target_ml * DENSITY / 1000.0
    a = dose_gy * m / (K_GLASS * (1 - lsf))
    mt = [v * DENSITY / 1000.0 for v in tumours_ml]
    weighted = (m - sum(mt)) + sum(r * x for r, x in zip(ratios, mt))
    normal = K_GLASS * a * (1 - lsf) / weighted
    return a, [r * normal for r in ratios]


@pytest.mark.parametrize("tumours,ratios", [([100.0, 50.0, 200.0], [3.0, 2.0, 4.0]), ([100.0, 50.0], [3.0, 2.0])])
def test_each_plan_keeps_its_own_tumour_doses(tumours, ratios):
    doses = [80.0, 120.0, 150.0]
    plan = planning.mird(Q_(np.array(doses), "Gy"), "1456 mL", 0.05, tumour=[f"{v} mL" for v in tumours],
                         tumour_to_normal=ratios, device="glass")
    got = plan.tumour_dose.to("Gy").magnitude
    assert got.shape == (len(tumours), len(doses))  # tumours first, then the plans
    for j, d in enumerate(doses):
        a, want = _hand(d, 1456.0, 0.05, tumours, ratios)
        assert plan.prescribed_activity.to("GBq").magnitude[j] == pytest.approx(a, rel=1e-12)
        assert got[:, j] == pytest.approx(want, rel=1e-12)


def test_lowest_tumour_checked_per_plan():
    """The tumour minimum (glass HCC lobar: >= 205 Gy) is checked on each plan's lowest tumour."""
    doses = [80.0, 120.0, 150.0]
    plan = planning.mird(Q_(np.array(doses), "Gy"), "1456 mL", 0.05, tumour=["100 mL", "50 mL"], tumour_to_normal=[3.0, 2.0],
                         device="glass", clinical={"indication": "hcc", "extent": "lobar"})
    check = next(c for c in plan.limits if c.name == "tumour_dose")
    lowest = [min(_hand(d, 1456.0, 0.05, [100.0, 50.0], [3.0, 2.0])[1]) for d in doses]
    assert check.value.to("Gy").magnitude == pytest.approx(lowest, rel=1e-12)
    assert list(check.passed) == [x >= 205.0 for x in lowest]


def test_partition_array_of_normal_liver_doses_with_three_tumours():
    """partition reaching 3 normal-liver doses (3 plans) with 3 tumours: plan j's tumours are r_i times its own
    normal-liver dose (before: tumour i took plan i's)."""
    nld = [30.0, 40.0, 60.0]
    ratios = [3.0, 2.0, 5.0]
    plan = planning.partition("1456 mL", ["100 mL", "50 mL", "20 mL"], ratios, 0.07, device="glass",
                              normal_liver_dose=Q_(np.array(nld), "Gy"))
    got = plan.tumour_dose.to("Gy").magnitude
    assert got.shape == (3, 3)
    for j, n in enumerate(nld):
        assert got[:, j] == pytest.approx([r * n for r in ratios], rel=1e-12)
