"""Lung dose, lung caps, the threshold table and its check; MIRD refusals."""

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.planning import THRESHOLDS, check, lung_dose, lung_limits, max_lung_activity, mird, thresholds
from dosimetry.planning.limits import warnings_for
from dosimetry.units import Q_


def test_lung_dose_hand_values():
    # glass: 50 * 4 GBq * 0.1 / 1 kg = 20 Gy; resin 49.67 * 4 * 0.1 = 19.868 Gy
    assert lung_dose("4 GBq", 0.1).to("Gy").magnitude == pytest.approx(20.0)
    assert lung_dose("4 GBq", 0.1, device="resin").to("Gy").magnitude == pytest.approx(19.868)
    # residual 25 %, lung 0.8 kg: 50 * 4 * 0.75 * 0.1 / 0.8 = 18.75 Gy
    assert lung_dose("4 GBq", "10 %", "0.8 kg", residual_fraction=0.25).magnitude == pytest.approx(18.75)
    assert lung_dose("108.108 mCi", 0.1).magnitude == pytest.approx(20.0, rel=1e-5)


def test_default_lung_limits():
    assert [q.magnitude for q in lung_limits("glass")] == [30.0, 50.0]
    assert [q.magnitude for q in lung_limits("resin")] == [25.0, 50.0]
    assert [q.magnitude for q in lung_limits("resin", "30 Gy", "60 Gy")] == [30.0, 60.0]


def test_max_lung_activity():
    a1, a2 = max_lung_activity(0.1, prior_lung_dose="35 Gy")
    assert a1.magnitude == pytest.approx(30 / 5.0)  # 6 GBq
    assert a2.magnitude == pytest.approx(15 / 5.0)  # 3 GBq
    b1, b2 = max_lung_activity(np.array([0.0, 0.2]), device="resin")
    assert np.isinf(b1.magnitude[0]) and b1.magnitude[1] == pytest.approx(25 / (49.67 * 0.2))


def test_threshold_table_is_data_with_sources():
    assert len(THRESHOLDS) >= 9
    for t in THRESHOLDS:
        assert t.source and t.value.units == Q_(1, "Gy").units
    glass = {(t.figure, t.value.magnitude) for t in thresholds("glass")}
    assert {("lung_dose", 30.0), ("cumulative_lung_dose", 50.0), ("tumour_dose", 205.0), ("normal_liver_dose", 75.0)} <= glass
    resin = {(t.figure, t.value.magnitude) for t in thresholds("resin")}
    assert {("lung_dose", 25.0), ("normal_liver_dose", 40.0), ("tumour_dose", 100.0)} <= resin
    seg = {(t.figure, t.value.magnitude) for t in thresholds("glass", "segmentectomy")}
    assert ("target_dose", 400.0) in seg and ("normal_liver_dose", 75.0) not in seg


def test_check_names_threshold_in_warning():
    checks = check("glass", tumour_dose=Q_(150, "Gy"), lung_dose=Q_(31, "Gy"), normal_liver_dose=Q_(75, "Gy"))
    by = {c.name: c for c in checks}
    assert by["tumour_dose"].passed is False and not by["tumour_dose"].safety
    assert by["lung_dose"].passed is False and by["lung_dose"].safety
    assert by["normal_liver_dose"].passed is True  # equal to the limit passes (inclusive)
    w = warnings_for(checks)
    assert any("tumour dose >= 205 Gy" in x and "EANM 2022" in x for x in w)
    assert any("lung dose per treatment <= 30 Gy" in x for x in w)
    # segmentectomy: strictly above 400 Gy
    (seg,) = [c for c in check("glass", "segmentectomy", target_dose=Q_(400, "Gy")) if c.name == "target_dose"]
    assert seg.passed is False


def test_check_refuses_unknown_scenario():
    with pytest.raises(InputError) as e:
        check("resin", "segmentectomy", lung_dose=Q_(1, "Gy"))
    assert e.value.field == "treatment.scenario"


@pytest.mark.parametrize(
    "args, kwargs, field",
    [
        (("0 Gy", "1456 mL", 0.05), {}, "target.dose"),
        (("-120 Gy", "1456 mL", 0.05), {}, "target.dose"),
        (("120 GBq", "1456 mL", 0.05), {}, "target.dose"),
        (("120", "1456 mL", 0.05), {}, "target.dose"),
        (("120 Gy", "0 mL", 0.05), {}, "target.volume"),
        (("120 Gy", "-1.5 kg", 0.05), {}, "target.mass"),
        (("120 Gy", "1456 cm", 0.05), {}, "target.mass"),
        (("120 Gy", 1456, 0.05), {}, "target.mass"),
        (("120 Gy", "1456 mL", 1.0), {}, "lung.shunt_fraction"),
        (("120 Gy", "1456 mL", 1.5), {}, "lung.shunt_fraction"),
        (("120 Gy", "1456 mL", -0.01), {}, "lung.shunt_fraction"),
        (("120 Gy", "1456 mL", "abc"), {}, "lung.shunt_fraction"),
        (("120 Gy", "1456 mL", 0.05), {"residual_fraction": 1.0}, "target.residual_fraction"),
        (("120 Gy", "1456 mL", 0.05), {"lung_mass": "-1 kg"}, "lung.mass"),
        (("120 Gy", "1456 mL", 0.05), {"lung_mass": "1 L"}, "lung.mass"),
        (("120 Gy", "1456 mL", 0.05), {"prior_lung_dose": "-5 Gy"}, "lung.prior_dose"),
        (("120 Gy", "1456 mL", 0.05), {"density": "-1 g/mL"}, "liver.density"),
        (("120 Gy", "1456 mL", 0.05), {"device": "yttrium"}, "treatment.device"),
        (("120 Gy", "1456 mL", 0.05), {"scenario": "nope"}, "treatment.scenario"),
    ],
)
def test_mird_refusals(args, kwargs, field):
    with pytest.raises(InputError) as e:
        mird(*args, **kwargs)
    assert e.value.field == field


def test_prior_dose_at_the_cumulative_limit_with_vanishing_shunt_is_consistent():
    # Found by hypothesis: prior 50 Gy (the cumulative limit) and LSF 1.5e-28. The lung gets
    # 50 * A * 1.5e-28 Gy, so the plan passes the inclusive check, and its largest safe activity
    # must then not be below the prescription (it was 0 before the fix).
    from dosimetry.planning import mird

    p = mird("10 Gy", "50 mL", 1.467455908900622e-28, device="glass", prior_lung_dose="50 Gy")
    assert p.within_limits
    assert p.prescribed_activity.magnitude <= p.max_safe_activity.magnitude
