"""Resin BSA for a lobar treatment: the tumour involvement is the whole liver's (issue 14)."""

import tomllib
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import parse_patient
from dosimetry.workflow import plan_patient

RESIN = (Path(dosimetry.__file__).parent / "examples" / "resin.toml").read_text()
# DuBois BSA for 175 cm, 75 kg: 0.20247 * 1.75^0.725 * 75^0.425 = 0.20247 * 1.50036 * 6.26426 = 1.90294 m^2
BSA = 0.20247 * 1.75**0.725 * 75**0.425


def plan(text):
    return plan_patient(parse_patient(tomllib.loads(text), Path(".")))


def test_lobar_bsa_uses_every_tumour_of_the_whole_liver():
    # 300 mL in the treated lobe and 200 mL more in the other: involvement 500 / 1800 = 0.27778, then
    # the lobe fraction 1456 / 1800: A = (1.90294 - 0.2 + 0.27778) * 0.80889 = 1.60219 GBq (LSF 5 %: no reduction).
    text = RESIN.replace('tumour_volume = "300 mL"   # every', 'tumour_volume = "500 mL"   # every')
    pp = plan(text)
    assert pp.plan.prescribed_activity.to("GBq").magnitude == pytest.approx((BSA - 0.2 + 500 / 1800) * 1456 / 1800, rel=1e-5)
    assert pp.plan.details["tumour_involvement"] == pytest.approx(500 / 1800)
    # the example (all tumours in the target): (1.90294 - 0.2 + 300 / 1800) * 0.80889 = 1.51231 GBq
    assert plan(RESIN).plan.prescribed_activity.to("GBq").magnitude == pytest.approx((BSA - 0.2 + 300 / 1800) * 1456 / 1800, rel=1e-5)


def test_lobar_bsa_without_the_whole_liver_tumour_volume_is_refused():
    text = RESIN.replace('tumour_volume = "300 mL"   # every tumour in the whole liver: the BSA tumour involvement (here all are in the target)\n', "")
    with pytest.raises(InputError) as e:
        plan(text)
    assert e.value.field == "liver.tumour_volume"
