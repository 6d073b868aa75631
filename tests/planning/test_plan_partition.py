"""Partition model: hand-computed values, modes, several tumours, binding constraints."""

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.planning import mird, partition

RHO = 1.03
MTOT = 1456 * RHO / 1000  # 1.49968 kg
MT = 300 * RHO / 1000  # 0.309 kg
MN = MTOT - MT  # 1.19068 kg
W = MN + 3.0 * MT  # 2.11768 kg (M_N + r M_T)
# EANM 2022 normal-liver limits are strict ("< 40 Gy", "< 75 Gy"): the largest safe activity is
# taken 0.1 % below them (dosimetry.planning.limits.STRICT_MARGIN).
S = 1 - 0.001


def test_resin_largest_safe_activity_normal_liver_binds():
    # resin NL limit < 40 Gy: A = 40 * 0.999 * 2.11768 / (49.67 * 0.95) = 1.79336 GBq
    p = partition("1456 mL", "300 mL", 3.0, 0.05, device="resin")
    a = 40 * S * W / (49.67 * 0.95)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(a)
    assert p.normal_liver_dose.to("Gy").magnitude == pytest.approx(40.0 * S)
    assert p.tumour_dose.to("Gy").magnitude == pytest.approx(120.0 * S)
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(49.67 * a * 0.05)
    assert p.target_dose.to("Gy").magnitude == pytest.approx(49.67 * a * 0.95 / MTOT)
    assert p.binding_constraint == "normal_liver_dose"
    assert p.max_safe_activity.magnitude == pytest.approx(a)
    assert p.within_limits
    assert p.details["mode"] == "max_safe"
    assert p.normal_liver_mass.magnitude == pytest.approx(MN)


def test_lung_binds_at_high_shunt_glass():
    # Glass, LSF 30 %: lung cap 30 / (50 * 0.3) = 2.0 GBq; normal-liver cap 75 * W / (50 * 0.7) with
    # W = M_N + r M_T = 2.1177 kg gives 4.538 GBq, so the lung binds.
    p = partition("1456 mL", "300 mL", 3.0, 0.30, device="glass")
    assert p.binding_constraint == "lung_dose"
    assert p.prescribed_activity.magnitude == pytest.approx(30 / (50 * 0.3))
    assert p.lung_dose.magnitude == pytest.approx(30.0)
    assert p.within_limits


def test_resin_shunt_over_20_percent_blocks_every_resin_model():
    # SIR-Spheres IFU: LSF > 20 % contraindicates resin, for the partition and MIRD models too.
    for p in (partition("1456 mL", "300 mL", 3.0, 0.25, normal_liver_dose="20 Gy", device="resin"), mird("120 Gy", "1456 mL", 0.21, device="resin")):
        assert not p.within_limits
        assert p.binding_constraint == "lung_shunt_fraction"
        assert p.max_safe_activity.magnitude == 0.0
    # exactly 20 % is still allowed
    assert partition("1456 mL", "300 mL", 3.0, 0.20, normal_liver_dose="20 Gy", device="resin").within_limits


def test_cumulative_lung_binds_with_prior_dose():
    # LSF 15 %, prior 40 Gy: room 10 Gy -> 10 / (49.67 * 0.15) = 1.34219 GBq, below the lung cap
    # 25 / (49.67 * 0.15) = 3.355 and the normal-liver cap 40 * 2.1177 / (49.67 * 0.85) = 2.006 GBq
    p = partition("1456 mL", "300 mL", 3.0, 0.15, prior_lung_dose="40 Gy", device="resin")
    assert p.binding_constraint == "cumulative_lung_dose"
    assert p.prescribed_activity.magnitude == pytest.approx(10 / (49.67 * 0.15))
    assert p.cumulative_lung_dose.magnitude == pytest.approx(50.0)
    assert p.within_limits


def test_prior_dose_at_cumulative_limit_gives_zero():
    p = partition("1456 mL", "300 mL", 3.0, 0.05, prior_lung_dose="50 Gy", device="resin")
    assert p.prescribed_activity.magnitude == pytest.approx(0.0, abs=1e-6)  # 1e-9 rounding room only
    assert p.binding_constraint == "cumulative_lung_dose"


def test_normal_liver_dose_mode_glass():
    # glass, D_N = 40 Gy: A = 40 * W / (50 * 0.95)
    p = partition("1456 mL", "300 mL", 3.0, 0.05, device="glass", normal_liver_dose="40 Gy", clinical={"indication": "hcc"})
    assert p.prescribed_activity.magnitude == pytest.approx(40 * W / (50 * 0.95))
    assert p.dose_coefficient.magnitude == 50
    assert p.tumour_dose.magnitude == pytest.approx(120.0)
    assert any("205 Gy" in w for w in p.warnings)  # efficacy warning, not a block
    assert p.within_limits


def test_tumour_dose_mode_glass():
    # D_T = 205 Gy, r = 3 -> D_N = 68.333 Gy (< 75 Gy); A = 68.333 * W / (50 * 0.95) = 3.04654 GBq
    p = partition("1456 mL", "300 mL", 3.0, 0.05, device="glass", tumour_dose="205 Gy", clinical={"indication": "hcc"})
    assert p.prescribed_activity.magnitude == pytest.approx(205 / 3 * W / (50 * 0.95))
    assert p.normal_liver_dose.magnitude == pytest.approx(205 / 3)
    assert p.within_limits and p.warnings == ()
    # no whole-liver volume: the whole-normal-liver limit is checked on the perfused normal liver
    assert p.binding_constraint == "whole_normal_liver_dose"  # what caps the activity: 75 * 0.999 * W / 47.5
    assert p.max_safe_activity.magnitude == pytest.approx(75 * S * W / 47.5)
    (nl,) = [c for c in p.limits if c.name == "whole_normal_liver_dose"]
    assert "perfused normal liver" in nl.note


def test_tumour_dose_mode_resin_blocked_by_normal_liver():
    p = partition("1456 mL", "300 mL", 3.0, 0.05, tumour_dose="205 Gy", device="resin")
    assert p.normal_liver_dose.magnitude == pytest.approx(205 / 3)  # > 40 Gy resin
    assert not p.within_limits
    assert p.max_safe_activity.magnitude == pytest.approx(40 * S * W / (49.67 * 0.95))
    assert any("BLOCKED" in w and "perfused normal liver dose < 40 Gy" in w for w in p.warnings)


def test_several_tumours():
    # tumours 100 mL (r 2) and 200 mL (r 4); W = M_N + 2*0.103 + 4*0.206 = 2.22068 kg
    # tumour dose 205 Gy to the lowest-ratio tumour -> D_N = 102.5 Gy; A = 102.5 * W / 47.5
    w = MN + 2 * 0.103 + 4 * 0.206
    p = partition("1456 mL", ["100 mL", "200 mL"], [2.0, 4.0], 0.05, device="glass", tumour_dose="205 Gy")
    assert p.prescribed_activity.magnitude == pytest.approx(102.5 * w / 47.5)
    assert p.tumour_dose.magnitude == pytest.approx([205.0, 410.0])
    assert p.tumour_mass.magnitude == pytest.approx([0.103, 0.206])
    assert p.normal_liver_mass.magnitude == pytest.approx(MN)
    assert not p.within_limits  # 102.5 Gy > 75 Gy normal liver
    j = p.to_json()
    assert j["tumour_dose"]["value"] == pytest.approx([205.0, 410.0])


def test_single_tumour_list_equals_scalar():
    a = partition("1456 mL", ["300 mL"], [3.0], 0.05, device="resin")
    b = partition("1456 mL", "300 mL", 3.0, 0.05, device="resin")
    assert a.prescribed_activity.magnitude == pytest.approx(b.prescribed_activity.magnitude)


def test_residual_fraction_enters_every_dose():
    p = partition("1456 mL", "300 mL", 3.0, 0.05, residual_fraction=0.2, normal_liver_dose="40 Gy", device="resin")
    assert p.prescribed_activity.magnitude == pytest.approx(40 * W / (49.67 * 0.95 * 0.8))
    assert p.lung_dose.magnitude == pytest.approx(49.67 * p.prescribed_activity.magnitude * 0.8 * 0.05)


def test_energy_balance():
    # K * A_delivered = D_N M_N + sum D_T M_T + D_L M_L (all the energy is deposited somewhere)
    p = partition("1456 mL", ["100 mL", "200 mL"], [2.0, 4.0], 0.12, device="glass", lung_mass="0.9 kg", normal_liver_dose="50 Gy")
    k = p.dose_coefficient.magnitude
    lhs = k * p.delivered_activity.magnitude
    rhs = p.normal_liver_dose.magnitude * MN + float(np.dot(p.tumour_dose.magnitude, [0.103, 0.206])) + p.lung_dose.magnitude * 0.9
    assert lhs == pytest.approx(rhs)


def test_normal_liver_limit_override_and_none_for_segmentectomy():
    p = partition("1456 mL", "300 mL", 3.0, 0.05, normal_liver_limit="30 Gy", device="resin")
    assert p.normal_liver_dose.magnitude == pytest.approx(30.0)
    # segmentectomy of 300 mL in a 1800 mL liver: the whole normal liver (1750 mL) binds at < 75 Gy
    q = partition("300 mL", "50 mL", 3.0, 0.05, device="glass", liver="1800 mL", clinical={"extent": "segmental"})
    assert q.binding_constraint == "whole_normal_liver_dose"
    assert q.whole_normal_liver_dose.magnitude == pytest.approx(75.0 * S)
    assert q.normal_liver_dose.magnitude == pytest.approx(75.0 * S * 1750 / 250)


def test_unbounded_refused():
    with pytest.raises(InputError) as e:
        partition("300 mL", "50 mL", 3.0, 0.0, device="resin", clinical={"extent": "segmental"})
    assert e.value.field == "target.normal_liver_dose"


def _base(**kw):
    args = dict(target="1456 mL", tumour="300 mL", tumour_to_normal=3.0, lung_shunt_fraction=0.05)
    args.update(kw)
    args.setdefault("device", "resin")
    return partition(args.pop("target"), args.pop("tumour"), args.pop("tumour_to_normal"), args.pop("lung_shunt_fraction"), **args)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(target="0 mL"), "target.volume"),
        (dict(target="-1 kg"), "target.mass"),
        (dict(target="1.5 GBq"), "target.mass"),
        (dict(tumour="1456 mL"), "target.tumour_volume"),
        (dict(tumour="2000 mL"), "target.tumour_volume"),
        (dict(tumour="-5 mL"), "target.tumour_volume"),
        (dict(tumour=["1000 mL", "500 mL"], tumour_to_normal=[2, 3]), "target.tumours"),
        (dict(tumour=["100 mL", "200 mL"], tumour_to_normal=[2]), "target.tumour_to_normal"),
        (dict(tumour=["100 mL", "200 mL"], tumour_to_normal=[2, 0]), "target.tumours[2].tumour_to_normal"),
        (dict(tumour_to_normal=0.0), "target.tumour_to_normal"),
        (dict(tumour_to_normal=-2.0), "target.tumour_to_normal"),
        (dict(lung_shunt_fraction=1.0), "lung.shunt_fraction"),
        (dict(lung_shunt_fraction="120 %"), "lung.shunt_fraction"),
        (dict(lung_shunt_fraction="5 Gy"), "lung.shunt_fraction"),
        (dict(normal_liver_dose="40 Gy", tumour_dose="200 Gy"), "target.tumour_dose"),
        (dict(normal_liver_dose="0 Gy"), "target.normal_liver_dose"),
        (dict(tumour_dose="200 GBq"), "target.tumour_dose"),
        (dict(lung_mass="0 kg"), "lung.mass"),
        (dict(prior_lung_dose="-1 Gy"), "lung.prior_dose"),
        (dict(dose_coefficient="0 Gy*kg/GBq"), "treatment.dose_coefficient"),
        (dict(dose_coefficient="50 Gy"), "treatment.dose_coefficient"),
        (dict(density="0 g/mL"), "liver.density"),
        (dict(residual_fraction=-0.1), "target.residual_fraction"),
        (dict(lung_limit="-3 Gy"), "lung.limit"),
        (dict(cumulative_lung_limit="0 Gy"), "lung.cumulative_limit"),
        (dict(normal_liver_limit="0 Gy"), "target.normal_liver_limit"),
        (dict(device="holmium"), "treatment.device"),
        (dict(clinical={"extent": "whole-body"}), "clinical.extent"),
    ],
)
def test_partition_refusals(kwargs, field):
    with pytest.raises(InputError) as e:
        _base(**kwargs)
    assert e.value.field == field
    assert str(e.value).startswith(field + ":")
