"""Activity solved from voxel objectives (dosimetry.voxel.objectives) against hand calculations."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosimetry.errors import InputError
from dosimetry.units import Q_
from dosimetry.voxel import Volume
from dosimetry.voxel.objectives import VoxelObjective, solve_activity

SP = (2.0, 2.0, 2.0)


def dmap(values, unit="Gy/GBq"):
    return Volume(np.asarray(values, dtype=float).reshape(1, 1, -1), SP, unit=unit)


def mask(values):
    return Volume(np.asarray(values).reshape(1, 1, -1), SP)


# dose per GBq:       normal liver (0-3)       tumour (4-7)          lungs (8-9)
D = dmap([10, 20, 30, 40, 100, 200, 300, 400, 4, 8])
NORMAL = mask([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
TUMOUR = mask([0, 0, 0, 0, 1, 1, 1, 1, 0, 0])
LUNGS = mask([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])


def lim(name, roi, metric, value):
    return VoxelObjective(name, roi, metric, "max", Q_(value, "Gy"))


def test_max_safe_activity_hand_computed():
    # normal liver mean 25 Gy/GBq -> 40 Gy at 1.6 GBq; lungs mean 6 Gy/GBq -> 30 Gy at 5 GBq;
    # normal liver D50 (hottest 50 %: {40, 30}) = 30 Gy/GBq -> 70 Gy at 2.333 GBq
    s = solve_activity(D, [lim("lungs mean", LUNGS, "mean", 30), lim("normal mean", NORMAL, "mean", 40),
                           lim("normal D50", NORMAL, "D50", 70)])
    assert s.activity.to("GBq").magnitude == pytest.approx(1.6)
    assert s.binding == "normal mean"
    assert s.objective_activities["lungs mean"].magnitude == pytest.approx(5.0)
    assert s.objective_activities["normal D50"].magnitude == pytest.approx(70 / 30)
    assert s.doses["normal mean"].to("Gy").magnitude == pytest.approx(40.0)
    assert s.doses["lungs mean"].magnitude == pytest.approx(1.6 * 6)
    assert s.target_met is None and s.target_activity is None


def test_lung_binds_when_shunt_is_high():
    lungs_hot = dmap([10, 20, 30, 40, 100, 200, 300, 400, 40, 40])
    s = solve_activity(lungs_hot, [lim("lungs mean", LUNGS, "mean", 30), lim("normal mean", NORMAL, "mean", 40)])
    assert s.binding == "lungs mean" and s.activity.magnitude == pytest.approx(0.75)


def test_target_d70_reached_within_limits():
    # tumour D70 per GBq: hottest 70 % of 4 voxels = 2.8 -> 3 voxels {400, 300, 200} -> 200 Gy/GBq
    t = VoxelObjective("tumour D70", TUMOUR, "D70", "min", Q_(205, "Gy"))
    s = solve_activity(D, [lim("normal mean", NORMAL, "mean", 40)], target=t)
    assert s.activity.magnitude == pytest.approx(205 / 200)
    assert s.binding == "tumour D70" and s.target_met is True
    assert s.max_safe_activity.magnitude == pytest.approx(1.6)


def test_target_mean_blocked_by_limit():
    # tumour mean 250 Gy/GBq; 500 Gy needs 2 GBq; normal liver mean allows 1.6 GBq
    t = VoxelObjective("tumour mean", TUMOUR, "mean", "min", Q_(500, "Gy"))
    s = solve_activity(D, [lim("normal mean", NORMAL, "mean", 40)], target=t)
    assert s.activity.magnitude == pytest.approx(1.6)
    assert s.binding == "normal mean" and s.target_met is False
    assert s.target_activity.magnitude == pytest.approx(2.0)
    assert s.doses["tumour mean"].magnitude == pytest.approx(1.6 * 250)


def test_units_converted():
    s = solve_activity(dmap(np.asarray(D.array).ravel(), "mGy/MBq"), [lim("normal mean", NORMAL, "mean", 40)])
    assert s.activity.to("GBq").magnitude == pytest.approx(1.6)


def test_limit_without_dose_never_binds():
    s = solve_activity(dmap([10, 20, 30, 40, 100, 200, 300, 400, 0, 0]),
                       [lim("lungs mean", LUNGS, "mean", 30), lim("normal mean", NORMAL, "mean", 40)])
    assert math.isinf(s.objective_activities["lungs mean"].magnitude) and s.binding == "normal mean"


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: VoxelObjective("x", NORMAL, "D170", "max", Q_(1, "Gy")), "objectives['x'].metric"),
        (lambda: VoxelObjective("x", NORMAL, "median", "max", Q_(1, "Gy")), "objectives['x'].metric"),
        (lambda: VoxelObjective("x", NORMAL, "mean", "below", Q_(1, "Gy")), "objectives['x'].bound"),
        (lambda: VoxelObjective("x", NORMAL, "mean", "max", Q_(1, "Sv")), "objectives['x'].value"),
        (lambda: VoxelObjective("x", NORMAL, "mean", "max", Q_(-1, "Gy")), "objectives['x'].value"),
        (lambda: solve_activity(D, []), "limits"),
        (lambda: solve_activity(dmap(np.zeros(10)), [lim("n", NORMAL, "mean", 40)]), "limits"),
        (lambda: solve_activity(dmap(np.asarray(D.array).ravel(), "Gy"), [lim("n", NORMAL, "mean", 40)]), "dose_per_activity"),
        (lambda: solve_activity(D, [VoxelObjective("t", TUMOUR, "mean", "min", Q_(1, "Gy"))]), "objectives['t'].bound"),
        (lambda: solve_activity(D, [lim("n", NORMAL, "mean", 40), lim("n", LUNGS, "mean", 30)]), "limits"),
        (lambda: solve_activity(dmap(np.zeros(10)), [], target=VoxelObjective("t", TUMOUR, "mean", "min", Q_(1, "Gy"))),
         "objectives['t'].roi"),
    ],
)
def test_refusals(make, field):
    with pytest.raises(InputError) as e:
        make()
    assert e.value.field == field


@settings(max_examples=40, deadline=None)
@given(
    d=st.lists(st.floats(0.01, 1e3), min_size=10, max_size=10),
    limit_n=st.floats(1, 100), limit_l=st.floats(1, 100), x=st.sampled_from(["mean", "D70", "D95", "D0"]),
)
def test_solution_meets_every_limit_and_binds_exactly(d, limit_n, limit_l, x):
    """At the solved activity every limit holds and the binding one is met with equality."""
    dm = dmap(d)
    limits = [lim("normal", NORMAL, x, limit_n), lim("lungs", LUNGS, "mean", limit_l)]
    s = solve_activity(dm, limits)
    a = s.activity.magnitude
    s2 = solve_activity(dmap(np.asarray(d) * a), limits)  # the same map scaled to the solution: 1 GBq
    for o in limits:
        assert s.doses[o.name].magnitude <= o.value.magnitude * (1 + 1e-9)
    assert s.doses[s.binding].magnitude == pytest.approx({"normal": limit_n, "lungs": limit_l}[s.binding], rel=1e-9)
    assert s2.activity.magnitude == pytest.approx(1.0, rel=1e-9)
