"""Devices: product data and sphere counts, checked against hand calculations."""

import math

import numpy as np
import pytest

from dosimetry.devices import GLASS, RESIN, activity_per_sphere, device, sphere_count
from dosimetry.errors import InputError
from dosimetry.units import Q_


def test_glass_vials_and_coefficient():
    assert [v.to("GBq").magnitude for v in GLASS.vial_activities] == [3, 5, 7, 10, 15, 20]
    assert GLASS.dose_coefficient.to("Gy*kg/GBq").magnitude == 50.0
    assert not GLASS.drawn_to_need
    assert GLASS.usable_until.to("day").magnitude == pytest.approx(12.0)


def test_resin_vial_and_coefficient():
    assert RESIN.vial_activities[0].to("GBq").magnitude == 3.0
    assert RESIN.vial_tolerance == 0.10
    assert RESIN.vial_volume.to("mL").magnitude == 5.0
    assert RESIN.drawn_to_need
    assert RESIN.dose_coefficient.to("Gy*kg/GBq").magnitude == 49.67


def test_activity_per_sphere_at_calibration():
    # glass: 3 GBq / 1.2e6 spheres = 2500 Bq; resin: 3 GBq / 44e6 = 68.18 Bq
    assert GLASS.activity_per_sphere_at_calibration.to("Bq").magnitude == pytest.approx(2500.0)
    assert RESIN.activity_per_sphere_at_calibration.to("Bq").magnitude == pytest.approx(3e9 / 44e6)


def test_sphere_count_at_calibration_and_after_one_half_life():
    assert sphere_count("glass", "3 GBq") == pytest.approx(1.2e6)
    assert sphere_count("glass", "20 GBq") == pytest.approx(8.0e6)
    # after one half-life each sphere carries half, so the same activity needs twice the spheres
    assert sphere_count(GLASS, Q_(3, "GBq"), Q_(64.1, "h")) == pytest.approx(2.4e6)
    assert activity_per_sphere("glass", "64.1 h").to("Bq").magnitude == pytest.approx(1250.0)
    # 24 h: decay factor exp(-ln2 * 24/64.1) = 0.77142 (issue 3)
    assert sphere_count("resin", "1 GBq", "24 h") == pytest.approx(1e9 / (3e9 / 44e6 * math.exp(-math.log(2) * 24 / 64.1)))


def test_sphere_count_mci_and_arrays():
    n = sphere_count("glass", Q_(np.array([81.08108108, 0.0]), "mCi"))  # 81.08 mCi = 3 GBq
    assert n == pytest.approx([1.2e6, 0.0], rel=1e-6)


@pytest.mark.parametrize("name", ["GLASS", " Resin "])
def test_device_lookup_case_insensitive(name):
    assert device(name).name == name.strip().lower()


@pytest.mark.parametrize("bad", ["holmium", "", None, 3])
def test_unknown_device_refused(bad):
    with pytest.raises(InputError) as e:
        device(bad)
    assert e.value.field == "treatment.device"
    assert "glass" in e.value.message and "resin" in e.value.message


def test_sphere_count_refuses_wrong_dimension_and_negative():
    with pytest.raises(InputError, match="activity"):
        sphere_count("glass", "3 Gy")
    with pytest.raises(InputError, match="activity"):
        sphere_count("glass", "-1 GBq")
    with pytest.raises(InputError, match="activity"):
        sphere_count("glass", "3 cts/s")


def test_devices_are_frozen():
    with pytest.raises(Exception):
        GLASS.dose_coefficient = Q_(49, "Gy*kg/GBq")
