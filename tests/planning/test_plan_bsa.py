"""Resin BSA and empirical methods, shunt reduction table."""

import math

import numpy as np
import pytest

from dosimetry.errors import InputError
from dosimetry.planning import body_surface_area, bsa, empirical, resin_shunt_reduction


def test_dubois_issue_value():
    # issue 3: 175 cm / 75 kg -> 1.9031 m2; DuBois' own form 0.007184 H(cm)^0.725 W^0.425
    s = body_surface_area("175 cm", "75 kg").to("m**2").magnitude
    assert s == pytest.approx(1.9031, abs=5e-5)
    assert s == pytest.approx(0.007184 * 175**0.725 * 75**0.425, rel=1e-4)
    assert body_surface_area("68.9 inch", "165.3 lb").to("m**2").magnitude == pytest.approx(
        0.20247 * (68.9 * 0.0254) ** 0.725 * (165.3 * 0.45359237) ** 0.425
    )


def test_bsa_whole_liver():
    # A = (1.90311 - 0.2) + 300/1800 = 1.86978 GBq; LSF 5 % -> no reduction
    p = bsa("175 cm", "75 kg", "1800 mL", "300 mL", 0.05, device="resin")
    bsa_val = 0.20247 * 1.75**0.725 * 75**0.425
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(bsa_val - 0.2 + 300 / 1800)
    assert p.details["perfused_fraction"] == 1.0
    assert p.details["shunt_reduction"] == 0.0
    assert p.dose_coefficient.magnitude == 49.67
    assert p.lung_dose.to("Gy").magnitude == pytest.approx(49.67 * (bsa_val - 0.2 + 300 / 1800) * 0.05)
    # issue 9: the BSA activity implies a normal-liver dose, shown and checked. Uniform uptake (no
    # tumour-to-normal ratio): 49.67 * 1.86978 * 0.95 / (1800 mL * 1.03 g/mL) = 47.58 Gy > 40 Gy.
    d_n = 49.67 * (bsa_val - 0.2 + 300 / 1800) * 0.95 / 1.854
    assert p.normal_liver_dose.to("Gy").magnitude == pytest.approx(d_n)
    assert not p.within_limits
    assert p.binding_constraint == "normal_liver_dose"
    assert p.max_safe_activity.to("GBq").magnitude == pytest.approx(40 * 0.999 * 1.854 / (49.67 * 0.95))


def test_bsa_lobar_and_shunt_reduction():
    # lobar: x 1456/1800; LSF 12 % -> x 0.8: 1.86978 * 0.80889 * 0.8 = 1.20995 GBq
    p = bsa("175 cm", "75 kg", "1800 mL", "300 mL", "12 %", target="1456 mL", liver_tumour="300 mL", device="resin")
    whole = 0.20247 * 1.75**0.725 * 75**0.425 - 0.2 + 300 / 1800
    assert p.details["whole_liver_activity"].magnitude == pytest.approx(whole)
    assert p.prescribed_activity.to("GBq").magnitude == pytest.approx(whole * 1456 / 1800 * 0.8)
    assert p.details["unreduced_activity"].magnitude == pytest.approx(whole * 1456 / 1800)
    assert any("reduced by 20 %" in w for w in p.warnings)
    assert p.within_limits


def test_bsa_residual():
    p = bsa("175 cm", "75 kg", "1800 mL", "300 mL", 0.05, residual_fraction=0.2, device="resin")
    whole = 0.20247 * 1.75**0.725 * 75**0.425 - 0.2 + 300 / 1800
    assert p.prescribed_activity.magnitude == pytest.approx(whole / 0.8)
    assert p.delivered_activity.magnitude == pytest.approx(whole)


@pytest.mark.parametrize(
    "lsf, expected",
    [(0.0, 0.0), (0.0999, 0.0), (0.10, 0.2), ("10 %", 0.2), (0.1499, 0.2), (0.15, 0.4), ("15 %", 0.4), (0.20, 0.4), ("20 %", 0.4)],
)
def test_shunt_table_boundaries(lsf, expected):
    assert resin_shunt_reduction(lsf) == expected


def test_shunt_over_20_percent_blocks():
    with pytest.raises(InputError, match=r"lung.shunt_fraction: .*contraindicated.*allowed \[0, 0.2\]"):
        resin_shunt_reduction(0.2001)  # the IFU table has no reduction above 20 % (returned NaN before)
    p = bsa("175 cm", "75 kg", "1800 mL", "300 mL", "25 %", device="resin")
    assert p.within_limits is False
    assert p.binding_constraint == "lung_shunt_fraction"
    assert p.max_safe_activity.magnitude == 0.0
    assert any("20 %" in w and "BLOCKED" in w for w in p.warnings)
    e = empirical("1800 mL", "300 mL", 0.21, device="resin")
    assert e.within_limits is False


def test_shunt_table_vectorised():
    r = resin_shunt_reduction(np.array([0.05, 0.12, 0.17, 0.2]))
    assert r.tolist() == [0.0, 0.2, 0.4, 0.4]
    with pytest.raises(InputError, match="some values are above 20 %"):
        resin_shunt_reduction(np.array([0.05, 0.3]))


@pytest.mark.parametrize(
    "tumour, gbq", [("0 mL", 2.0), ("449.9 mL", 2.0), ("450 mL", 2.5), ("900 mL", 2.5), ("900.1 mL", 3.0), ("1500 mL", 3.0)]
)
def test_empirical_tiers(tumour, gbq):
    # liver 1800 mL: 25 % = 450 mL, 50 % = 900 mL; both ends of 25-50 % give 2.5 GBq
    p = empirical("1800 mL", tumour, 0.05, device="resin")
    assert p.prescribed_activity.to("GBq").magnitude == gbq


def test_empirical_with_reduction():
    assert empirical("1800 mL", "300 mL", 0.16, device="resin").prescribed_activity.magnitude == pytest.approx(2.0 * 0.6)


def test_bsa_methods_refuse_glass():
    with pytest.raises(InputError) as e:
        bsa("175 cm", "75 kg", "1800 mL", "300 mL", 0.05, device="glass")
    assert e.value.field == "treatment.method"
    with pytest.raises(InputError) as e:
        empirical("1800 mL", "300 mL", 0.05, device="glass")
    assert e.value.field == "treatment.method"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(height="0 cm"), "patient.height"),
        (dict(height="75 kg"), "patient.height"),
        (dict(weight="-3 kg"), "patient.weight"),
        (dict(weight="175 cm"), "patient.weight"),
        (dict(liver="0 mL"), "liver.volume"),
        (dict(liver="3 Gy"), "liver.mass"),
        (dict(tumour="-1 mL"), "target.tumour_volume"),
        (dict(tumour="1800 mL"), "target.tumour_volume"),
        (dict(target="2000 mL"), "target.volume"),
        (dict(target="250 mL"), "target.tumour_volume"),
        (dict(lung_shunt_fraction=1.0), "lung.shunt_fraction"),
        (dict(lung_shunt_fraction=-0.1), "lung.shunt_fraction"),
        (dict(residual_fraction=1.0), "target.residual_fraction"),
        (dict(clinical={"extent": "segmentectomy"}), "clinical.extent"),
        (dict(device="holmium"), "treatment.device"),
    ],
)
def test_bsa_refusals(kwargs, field):
    args = dict(height="175 cm", weight="75 kg", liver="1800 mL", tumour="300 mL", lung_shunt_fraction=0.05)
    args.update(kwargs)
    with pytest.raises(InputError) as e:
        bsa(args.pop("height"), args.pop("weight"), args.pop("liver"), args.pop("tumour"), args.pop("lung_shunt_fraction"), **{"device": "resin", **args})
    assert e.value.field == field
