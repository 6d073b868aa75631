"""Y-90 data: the complete-decay dose coefficient derived by hand from its inputs."""

import math

import pytest

from dosimetry.errors import InputError
from dosimetry.isotope import LIVER_DENSITY, Y90, Radionuclide
from dosimetry.units import Q_


def test_dose_coefficient_hand_calculation():
    # K = (T1/2 / ln 2) * E_mean per GBq.
    # decays per GBq = 1e9 /s * 64.1 h * 3600 s/h / ln 2 = 3.32919e14
    decays = 1e9 * 64.1 * 3600 / math.log(2)
    joules = decays * 0.9331 * 1.602176634e-13  # MeV -> J
    assert joules == pytest.approx(49.77, abs=0.01)  # J per GBq = Gy kg / GBq
    assert Y90.dose_coefficient.to("Gy*kg/GBq").magnitude == pytest.approx(joules, rel=1e-9)


def test_half_life_override():
    y = Y90.with_half_life("64.2 h")
    assert y.half_life.magnitude == 64.2
    assert y.dose_coefficient.magnitude == pytest.approx(Y90.dose_coefficient.magnitude * 64.2 / 64.1)


def test_decay_constant_and_mean_life():
    assert Y90.decay_constant.to("1/h").magnitude == pytest.approx(0.693147 / 64.1, rel=1e-5)
    assert Y90.mean_life.to("h").magnitude == pytest.approx(92.4768, rel=1e-5)


def test_liver_density():
    assert LIVER_DENSITY.to("kg/L").magnitude == pytest.approx(1.03)


def test_bad_half_life_refused():
    with pytest.raises(InputError, match="half_life"):
        Radionuclide("X", Q_(0, "h"), Q_(1, "MeV"))
    with pytest.raises(InputError, match="half_life"):
        Radionuclide("X", Q_(1, "MeV"), Q_(1, "MeV"))
