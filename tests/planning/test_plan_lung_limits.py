"""Lung dose, lung caps, the threshold table and its check; MIRD refusals."""

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.planning import THRESHOLDS, applicable, check, clinical, lung_dose, lung_limits, max_lung_activity, mird
from dosimetry.planning.limits import warnings_for
from dosimetry.units import Q_


def test_lung_dose_hand_values():
    # glass: 50 * 4 GBq * 0.1 / 1 kg = 20 Gy; resin 49.67 * 4 * 0.1 = 19.868 Gy
    assert lung_dose("4 GBq", 0.1, device="glass").to("Gy").magnitude == pytest.approx(20.0)
    assert lung_dose("4 GBq", 0.1, device="resin").to("Gy").magnitude == pytest.approx(19.868)
    # residual 25 %, lung 0.8 kg: 50 * 4 * 0.75 * 0.1 / 0.8 = 18.75 Gy
    assert lung_dose("4 GBq", "10 %", "0.8 kg", residual_fraction=0.25, device="glass").magnitude == pytest.approx(18.75)
    assert lung_dose("108.108 mCi", 0.1, device="glass").magnitude == pytest.approx(20.0, rel=1e-5)


def test_default_lung_limits():
    assert [q.magnitude for q in lung_limits("glass")] == [30.0, 50.0]
    assert [q.magnitude for q in lung_limits("resin")] == [25.0, 50.0]
    assert [q.magnitude for q in lung_limits("resin", "30 Gy", "60 Gy")] == [30.0, 60.0]


def test_max_lung_activity():
    a1, a2 = max_lung_activity(0.1, prior_lung_dose="35 Gy", device="glass")
    assert a1.magnitude == pytest.approx(30 / 5.0)  # 6 GBq
    assert a2.magnitude == pytest.approx(15 / 5.0)  # 3 GBq
    b1, b2 = max_lung_activity(np.array([0.0, 0.2]), device="resin")
    assert np.isinf(b1.magnitude[0]) and b1.magnitude[1] == pytest.approx(25 / (49.67 * 0.2))


def test_threshold_table_is_data_with_sources():
    assert len(THRESHOLDS) >= 9
    for t in THRESHOLDS:
        assert t.source and t.value.units == Q_(1, "Gy").units
    hcc = {"indication": "hcc"}
    glass = {(t.figure, t.value.magnitude, t.operator) for t in applicable("glass", clinical(**hcc))[0]}
    assert {("lung_dose", 30.0, "<="), ("cumulative_lung_dose", 50.0, "<="), ("tumour_dose", 205.0, ">="), ("whole_normal_liver_dose", 75.0, "<")} <= glass
    resin = {(t.figure, t.value.magnitude, t.operator) for t in applicable("resin", clinical(**hcc))[0]}
    assert {("lung_dose", 25.0, "<="), ("normal_liver_dose", 40.0, "<"), ("tumour_dose", 100.0, ">=")} <= resin
    seg = {(t.figure, t.value.magnitude) for t in applicable("glass", clinical(extent="segmental", indication="hcc"))[0]}
    assert ("target_dose", 400.0) in seg and ("tumour_dose", 205.0) not in seg


def test_limits_follow_the_scenario():
    """Issue 9: EANM 2022 Table 2 / 3 rows by indication, extent and liver function."""
    def nl(device, **c):
        rows, notes = applicable(device, clinical(**c))
        (row,) = [t for t in rows if t.figure in ("whole_normal_liver_dose", "normal_liver_dose")]
        return row.figure, row.value.to("Gy").magnitude, notes

    assert nl("glass", bilirubin="0.9 mg/dL")[:2] == ("whole_normal_liver_dose", 75.0)
    assert nl("glass", bilirubin="1.5 mg/dL")[:2] == ("whole_normal_liver_dose", 50.0)
    assert nl("glass", bilirubin="25.7 umol/L")[:2] == ("whole_normal_liver_dose", 50.0)  # 1.5 mg/dL
    fig, val, notes = nl("glass")
    assert val == 75.0 and any("clinical.bilirubin" in n for n in notes)  # base row, named assumption
    assert nl("resin", extent="lobar", compromised_liver=True)[:2] == ("normal_liver_dose", 40.0)
    assert nl("resin", extent="bilobar", compromised_liver=True)[:2] == ("normal_liver_dose", 30.0)
    assert nl("resin", extent="whole_liver", compromised_liver=False)[:2] == ("normal_liver_dose", 40.0)
    tumour = {ind: [t.value.magnitude for t in applicable("glass", clinical(indication=ind))[0] if t.figure == "tumour_dose"] for ind in ("hcc", "icc", "colorectal", "neuroendocrine")}
    assert tumour == {"hcc": [205.0], "icc": [260.0], "colorectal": [189.0], "neuroendocrine": []}
    _, notes = applicable("glass", clinical(indication="neuroendocrine"))
    assert any("no glass tumour dose threshold for neuroendocrine" in n for n in notes)


def test_check_names_threshold_in_warning():
    rows, _ = applicable("glass", clinical(indication="hcc"))
    checks = check(rows, {"tumour_dose": Q_(150, "Gy"), "lung_dose": Q_(31, "Gy"), "whole_normal_liver_dose": Q_(75, "Gy")})
    by = {c.name: c for c in checks}
    assert by["tumour_dose"].passed is False and not by["tumour_dose"].safety
    assert by["lung_dose"].passed is False and by["lung_dose"].safety
    assert by["whole_normal_liver_dose"].passed is False  # EANM writes "< 75 Gy": 75 Gy fails
    assert check(rows, {"whole_normal_liver_dose": Q_(74.99, "Gy")})[0].passed is True
    assert check(rows, {"lung_dose": Q_(30, "Gy")})[0].passed is True  # "<= 30 Gy": inclusive
    w = warnings_for(checks)
    assert any("tumour dose >= 205 Gy" in x and "EANM 2022" in x for x in w)
    assert any("lung dose (this treatment) <= 30 Gy" in x for x in w)
    (seg,) = [c for c in check(applicable("glass", clinical(extent="segmental"))[0], {"target_dose": Q_(400, "Gy")}) if c.name == "target_dose"]
    assert seg.passed is True


def test_unknown_scenario_values_are_refused():
    with pytest.raises(InputError) as e:
        clinical(extent="segmentectomy")
    assert e.value.field == "clinical.extent"
    with pytest.raises(InputError) as e:
        clinical(bilirubin="3 Gy")
    assert e.value.field == "clinical.bilirubin"


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
        (("120 Gy", "1456 mL", 0.05), {"clinical": {"extent": "nope"}}, "clinical.extent"),
    ],
)
def test_mird_refusals(args, kwargs, field):
    with pytest.raises(InputError) as e:
        mird(*args, **{"device": "glass", **kwargs})
    assert e.value.field == field


def test_prior_dose_at_the_cumulative_limit_with_vanishing_shunt_is_consistent():
    # Found by hypothesis: prior 50 Gy (the cumulative limit) and LSF 1.5e-28. The lung gets
    # 50 * A * 1.5e-28 Gy, so the plan passes the inclusive check, and its largest safe activity
    # must then not be below the prescription (it was 0 before the fix).
    from dosimetry.planning import mird

    p = mird("10 Gy", "50 mL", 1.467455908900622e-28, device="glass", prior_lung_dose="50 Gy")
    assert p.within_limits
    assert p.prescribed_activity.magnitude <= p.max_safe_activity.magnitude
