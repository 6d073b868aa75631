"""Array inputs: 10^5 patients in one call, element-wise equal to scalar calls, well under 1 s."""

import time

import numpy as np
import pytest

from dosimetry.planning import bsa, empirical, mird, partition
from dosimetry.units import Q_

N = 100_000


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(3)
    return dict(
        vol=Q_(rng.uniform(500, 2500, N), "mL"),
        f=rng.uniform(0, 0.3, N),
        d=Q_(rng.uniform(80, 150, N), "Gy"),
        ratio=rng.uniform(1, 6, N),
        h=Q_(rng.uniform(150, 200, N), "cm"),
        w=Q_(rng.uniform(45, 120, N), "kg"),
    )


def _timed(fn):
    fn()  # warm-up
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def test_vectorised_mird_matches_scalar_and_is_fast(cohort):
    c = cohort
    p, dt = _timed(lambda: mird(c["d"], c["vol"], c["f"], device="glass"))
    print(f"mird 1e5 patients: {dt * 1e3:.1f} ms")
    assert dt < 1.0
    assert p.prescribed_activity.shape == (N,)
    for i in (0, 17, N - 1):
        s = mird(c["d"][i], c["vol"][i], float(c["f"][i]), device="glass")
        assert p.prescribed_activity.magnitude[i] == pytest.approx(s.prescribed_activity.magnitude)
        assert p.within_limits[i] == s.within_limits
        assert p.binding_constraint[i] == s.binding_constraint
    # hand formula on the whole array
    m = c["vol"].magnitude * 1.03 / 1000
    assert np.allclose(p.prescribed_activity.magnitude, c["d"].magnitude * m / (50 * (1 - c["f"])))


def test_vectorised_partition_and_resin(cohort):
    c = cohort
    p, dt = _timed(lambda: partition(c["vol"], c["vol"] * 0.2, c["ratio"], c["f"], device="resin"))
    print(f"partition 1e5 patients: {dt * 1e3:.1f} ms")
    assert dt < 1.0
    # resin: every plan within limits except those with LSF > 20 % (contraindicated, SIR-Spheres IFU)
    assert np.array_equal(np.asarray(p.within_limits), c["f"] <= 0.20)
    for i in (0, 5, N - 1):
        s = partition(c["vol"][i], c["vol"][i] * 0.2, float(c["ratio"][i]), float(c["f"][i]), device="resin")
        assert p.prescribed_activity.magnitude[i] == pytest.approx(s.prescribed_activity.magnitude)
        assert p.binding_constraint[i] == s.binding_constraint
    q, dt2 = _timed(lambda: bsa(c["h"], c["w"], c["vol"] * 1.2, c["vol"] * 0.2, c["f"], target=c["vol"], liver_tumour=c["vol"] * 0.2, device="resin"))
    print(f"bsa 1e5 patients: {dt2 * 1e3:.1f} ms")
    assert dt2 < 1.0
    # LSF > 20 % blocks exactly those plans
    assert np.array_equal(~np.asarray(q.within_limits) & (c["f"] > 0.2), c["f"] > 0.2)
    e, dt3 = _timed(lambda: empirical(c["vol"] * 1.2, c["vol"] * 0.2, c["f"], device="resin"))
    assert dt3 < 1.0
    j = p.to_json()
    assert len(j["prescribed_activity"]["value"]) == N and len(j["within_limits"]) == N


def test_every_plan_serialises_to_json():
    import json

    plans = [
        mird("120 Gy", "1456 mL", 0.0, device="glass"),
        mird(Q_([100.0, 120.0], "Gy"), Q_([1000.0, 1456.0], "mL"), [0.05, 0.3], device="glass"),
        bsa("175 cm", "75 kg", "1800 mL", "300 mL", 0.25, target="1000 mL", liver_tumour="300 mL", device="resin"),
        empirical(Q_([1800.0, 1500.0], "mL"), Q_([300.0, 900.0], "mL"), [0.05, 0.12], device="resin"),
        partition("1456 mL", ["100 mL", "200 mL"], [2.0, 4.0], 0.05, device="glass"),
        partition(Q_([1456.0, 900.0], "mL"), [Q_([100.0, 50.0], "mL"), "20 mL"], [[2.0, 3.0], 5.0], [0.05, 0.1], device="resin"),
    ]
    for p in plans:
        j = json.loads(json.dumps(p.to_json(), allow_nan=False))
        for key in ("prescribed_activity", "lung_dose", "dose_coefficient", "max_safe_activity"):
            assert set(j[key]) == {"value", "unit"}
        assert isinstance(j["warnings"], list) and isinstance(j["limits"], list)
