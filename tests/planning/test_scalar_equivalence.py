"""The planning methods give exactly what they gave before the scalar-plan rework (issue 22).

The rework (one validation at the edge, the planning arithmetic on floats/ndarrays, the result's
Quantities built once) must change no figure, no refusal and no warning. This module holds many
calls of every planning method (strings, Quantities, arrays, several tumours, glass and resin, the
shared settings, refusals) and their full output recorded on main before the rework
(``tests/planning/data/plans_recorded.json.gz``): every float as ``float.hex``, every unit, every
string (warnings, notes, check descriptions), every refusal's type, field, allowed range and
message, and every Python warning. Recorded with::

    python tests/planning/test_scalar_equivalence.py --record
"""

from __future__ import annotations

import dataclasses
import enum
import gzip
import itertools
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pint
import pytest

from dosimetry import planning
from dosimetry.errors import InputError
from dosimetry.units import Q_

RECORD = Path(__file__).with_name("data") / "plans_recorded.json.gz"


def encode(x):
    """A JSON-able, exact image of ``x`` (floats as hex, arrays element by element)."""
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return ["s", repr(x), type(x).__name__]
    if isinstance(x, float):
        return ["f", float.hex(x)]
    if isinstance(x, enum.Enum):
        return ["e", repr(x)]
    if isinstance(x, np.generic):
        return ["g", type(x).__name__, encode(x.item())]
    if isinstance(x, np.ndarray):
        return ["a", str(x.dtype), list(x.shape), [encode(v) for v in x.ravel().tolist()]]
    if isinstance(x, pint.Quantity):
        return ["q", str(x.units), type(x.magnitude).__name__, encode(x.magnitude)]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return ["d", type(x).__name__, {f.name: encode(getattr(x, f.name)) for f in dataclasses.fields(x)}]
    if isinstance(x, dict):
        return ["m", [[encode(k), encode(v)] for k, v in x.items()]]
    if isinstance(x, (list, tuple)):
        return ["l", type(x).__name__, [encode(v) for v in x]]
    return ["r", type(x).__name__, repr(x)]


def outcome(call):
    """The encoded result of ``call()``, or its refusal; with the Python warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = ["ok", encode(call())]
        except InputError as exc:
            out = ["refused", type(exc).__name__, exc.field, exc.allowed, getattr(exc, "expected", None), exc.message, str(exc)]
        except Exception as exc:  # TypeError for a misspelt keyword; anything else is recorded as it is
            out = ["raised", type(exc).__name__, str(exc)]
    return out + [[f"{w.category.__name__}: {w.message}" for w in caught]]


def _cases() -> dict:
    """name -> call (a zero-argument function); deterministic."""
    cases = {}
    gy = lambda *v: Q_(np.array(v, dtype=float), "Gy")  # noqa: E731
    # mird: a product of inputs, sampled by a seeded generator
    doses = ["120 Gy", Q_(120, "Gy"), Q_(95.5, "Gy"), "250 Gy", "15 Gy", "1200 Gy", gy(80, 120, 150)]
    targets = ["1456 mL", "1.5 kg", Q_(1500.0, "g"), "0.35 L", "8 mL", Q_(np.array([900.0, 1456.0, 2100.0]), "mL"), "5000 mL"]
    lsfs = [0.05, "5 %", 0.0, 0.12, 0.22, 0.6, np.array([0.03, 0.1, 0.25]), "0.08"]
    tumours = [None, "300 mL", ["100 mL", "50 mL"], Q_(0.3, "kg"), "0 mL", Q_(np.array([100.0, 300.0, 500.0]), "mL")]
    ratios = [None, 3.0, [3.0, 2.0], np.array([1.5, 3.0, 6.0]), 0.5]
    livers = [None, "1800 mL", "2.2 kg", "6000 mL"]
    extra = [{}, {"residual_fraction": 0.02}, {"density": "1.05 g/mL"}, {"dose_coefficient": "49.67 Gy*kg/GBq"},
             {"lung_mass": "0.9 kg"}, {"prior_lung_dose": "10 Gy"}, {"clinical": {"indication": "hcc", "extent": "lobar"}},
             {"clinical": {"indication": "colorectal", "extent": "whole_liver", "bilirubin": "1.5 mg/dL"}},
             {"lung_limit": "20 Gy", "normal_liver_limit": "40 Gy"}, {"cumulative_lung_limit": "40 Gy", "prior_lung_dose": "25 Gy"},
             {"liver_tumour": "500 mL"}, {"residual_fraction": np.array([0.0, 0.05, 0.2])}, {"clinical": {"compromised_liver": True}}]
    rng = np.random.default_rng(22)
    for i in range(260):
        d, t, f, tu, r, lv, ex, dev = (x[rng.integers(len(x))] for x in (doses, targets, lsfs, tumours, ratios, livers, extra, ["glass", "resin"]))
        if r is not None and tu is None:
            tu = "300 mL"
        if isinstance(r, list) != isinstance(tu, list):
            r = None if not isinstance(tu, list) else [3.0, 2.0]
        cases[f"mird/{i}"] = lambda d=d, t=t, f=f, tu=tu, r=r, lv=lv, ex=ex, dev=dev: planning.mird(
            d, t, f, tumour=tu, tumour_to_normal=r, liver=lv, device=dev, **ex)
    cases["mird/readme"] = lambda: planning.mird("120 Gy", "1456 mL", 0.05, device="glass", tumour="300 mL", tumour_to_normal=3.0, liver="1800 mL")
    cases["mird/settings"] = lambda: planning.mird("120 Gy", "1456 mL", 0.05, settings=planning.PlanSettings(device="resin", lung_mass="0.8 kg"))
    # partition
    for i, (mode, tu, r, dev, lv) in enumerate(itertools.product(
            [{}, {"normal_liver_dose": "40 Gy"}, {"tumour_dose": "200 Gy"}, {"normal_liver_dose": gy(30, 40, 60)}],
            ["300 mL", ["100 mL", "50 mL", "20 mL"], Q_(np.array([100.0, 300.0, 500.0]), "mL")],
            [4.0, [3.0, 2.0, 5.0], np.array([1.5, 3.0, 6.0])], ["glass", "resin"], [None, "1800 mL"])):
        if isinstance(r, list) != isinstance(tu, list):
            continue
        cases[f"partition/{i}"] = lambda mode=mode, tu=tu, r=r, dev=dev, lv=lv: planning.partition(
            "1456 mL", tu, r, 0.07, liver=lv, device=dev, **mode)
    # bsa and empirical (resin), and their refusals for glass
    for i, (h, w, lv, tu, f, tg, r) in enumerate(itertools.product(
            ["170 cm", Q_(1.82, "m")], ["70 kg", "150 lb"], ["1800 mL", "2.5 kg"], ["300 mL", "0 mL", "1200 mL"], [0.05, 0.15, 0.25],
            [None, "900 mL"], [None, 3.0])):
        cases[f"bsa/{i}"] = lambda h=h, w=w, lv=lv, tu=tu, f=f, tg=tg, r=r: planning.bsa(h, w, lv, tu, f, target=tg, tumour_to_normal=r, device="resin",
                                                                                    **({"liver_tumour": tu} if tg else {}))
        if tg is None and isinstance(h, str):
            cases[f"empirical/{i}"] = lambda lv=lv, tu=tu, f=f, r=r: planning.empirical(lv, tu, f, tumour_to_normal=r, device="resin")
    cases["bsa/glass"] = lambda: planning.bsa("170 cm", "70 kg", "1800 mL", "300 mL", 0.05, device="glass")
    cases["bsa/arrays"] = lambda: planning.bsa(Q_(np.array([150.0, 170.0, 190.0]), "cm"), "70 kg", "1800 mL", "300 mL", np.array([0.05, 0.1, 0.3]), device="resin")
    cases["empirical/glass"] = lambda: planning.empirical("1800 mL", "300 mL", 0.05, device="glass")
    # refusals and edge inputs of the shared validation (each a field, a range and a message)
    base = dict(dose="120 Gy", target="1456 mL", lsf=0.05)
    bad = {
        "dose_comma": {"dose": "120,5 Gy"}, "dose_letter": {"dose": "12O Gy"}, "dose_sv": {"dose": "120 Sv"}, "dose_bare": {"dose": 120},
        "dose_plain_text": {"dose": "120"}, "dose_zero": {"dose": "0 Gy"}, "dose_neg": {"dose": "-5 Gy"}, "dose_huge": {"dose": "3000 Gy"},
        "dose_nan": {"dose": Q_(float("nan"), "Gy")}, "dose_inf": {"dose": Q_(float("inf"), "Gy")}, "dose_mass": {"dose": "120 kg"},
        "dose_list": {"dose": ["120 Gy"]}, "dose_mapping": {"dose": {"value": 120, "unit": "Gy"}}, "dose_bad_mapping": {"dose": {"value": 120}},
        "dose_array_nan": {"dose": gy(120, float("nan"))}, "dose_rad": {"dose": "12000 rad"}, "dose_pi": {"dose": "120 Gy*pi"},
        "target_zero": {"target": "0 mL"}, "target_big": {"target": "20000 mL"}, "target_dose_unit": {"target": "1 Gy"},
        "target_bare": {"target": 1456}, "target_mass_small": {"target": "0.5 g"}, "target_mass_big": {"target": "13 kg"},
        "target_text": {"target": "a lot"}, "target_none": {"target": None}, "target_area": {"target": "3 m^2"},
        "target_mapping": {"target": {"value": 1.456, "unit": "L"}}, "target_negative": {"target": "-4 mL"}, "target_bool": {"target": True},
        "target_nan_array": {"target": Q_(np.array([1000.0, float("nan")]), "mL")},
        "lsf_one": {"lsf": 1.0}, "lsf_neg": {"lsf": -0.1}, "lsf_pct": {"lsf": "12 %"}, "lsf_pct_big": {"lsf": "120 %"}, "lsf_comma": {"lsf": "0,05"},
        "lsf_text": {"lsf": "five"}, "lsf_q": {"lsf": Q_(0.05, "")}, "lsf_qpct": {"lsf": Q_(5, "percent")}, "lsf_bool": {"lsf": True},
        "lsf_list": {"lsf": [0.05, 0.1]}, "lsf_nan": {"lsf": float("nan")}, "lsf_mapping": {"lsf": {"value": 5, "unit": "%"}}, "lsf_int": {"lsf": 0},
        "lsf_unit": {"lsf": "5 mL"}, "lsf_none": {"lsf": None},
        "shape_mismatch": {"dose": gy(80, 120), "target": Q_(np.array([900.0, 1456.0, 2100.0]), "mL")},
        "shape_lsf": {"lsf": np.array([0.05, 0.1]), "target": Q_(np.array([900.0, 1456.0, 2100.0]), "mL")},
        "shape_2d": {"dose": Q_(np.array([[80.0], [120.0]]), "Gy"), "target": Q_(np.array([900.0, 1456.0, 2100.0]), "mL")},
    }
    for name, over in bad.items():
        a = {**base, **over}
        cases[f"refuse/{name}"] = lambda a=a: planning.mird(a["dose"], a["target"], a["lsf"], device="glass")
    kw_bad = {
        "tumour_too_big": {"tumour": "1500 mL"}, "tumour_neg": {"tumour": "-1 mL"}, "tumours_sum": {"tumour": ["800 mL", "700 mL"]},
        "tumours_zero": {"tumour": ["0 mL", "50 mL"]}, "ratio_no_tumour": {"tumour_to_normal": 3.0}, "ratio_zero": {"tumour": "300 mL", "tumour_to_normal": 0.0},
        "ratio_neg": {"tumour": "300 mL", "tumour_to_normal": -2.0}, "ratio_text": {"tumour": "300 mL", "tumour_to_normal": "3"},
        "ratio_big": {"tumour": "300 mL", "tumour_to_normal": 100.0}, "ratios_count": {"tumour": ["100 mL", "50 mL"], "tumour_to_normal": [3.0]},
        "ratio_list_single": {"tumour": "300 mL", "tumour_to_normal": [3.0, 2.0]}, "tumour_bare": {"tumour": 300},
        "liver_small": {"liver": "1000 mL"}, "liver_big": {"liver": "20000 mL"}, "liver_bad": {"liver": "1800 Gy"}, "liver_bare": {"liver": 1800},
        "liver_tumour_small": {"tumour": "300 mL", "liver": "1800 mL", "liver_tumour": "100 mL"},
        "liver_tumour_big": {"liver": "1800 mL", "liver_tumour": "1900 mL"}, "liver_tumour_no_liver": {"liver_tumour": "100 mL"},
        "density_low": {"density": "0.5 g/mL"}, "density_bare": {"density": 1.03}, "density_warn": {"density": "1.15 g/mL"},
        "k_low": {"dose_coefficient": "40 Gy*kg/GBq"}, "k_unit": {"dose_coefficient": "50 Gy"}, "residual_high": {"residual_fraction": 0.6},
        "residual_warn": {"residual_fraction": 0.2}, "residual_text": {"residual_fraction": "2 %"}, "residual_neg": {"residual_fraction": -0.01},
        "lung_mass_low": {"lung_mass": "0.05 kg"}, "lung_mass_vol": {"lung_mass": "1000 mL"}, "lung_mass_warn": {"lung_mass": "3 kg"},
        "prior_neg": {"prior_lung_dose": "-1 Gy"}, "prior_big": {"prior_lung_dose": "300 Gy"}, "prior_sv": {"prior_lung_dose": "5 Sv"},
        "lung_limit_zero": {"lung_limit": "0 Gy"}, "lung_limit_warn": {"lung_limit": "40 Gy"}, "nl_limit_big": {"normal_liver_limit": "600 Gy"},
        "clinical_bad_key": {"clinical": {"stage": 3}}, "clinical_bad_type": {"clinical": 3}, "clinical_bad_ind": {"clinical": {"indication": "lung"}},
        "clinical_bilirubin": {"clinical": {"bilirubin": "3 mg/dL"}}, "device_bad": {"device": "plastic"}, "device_none": {"device": None},
        "unknown_kw": {"lung_mas": "1 kg"}, "target_shape_liver": {"liver": Q_(np.array([1800.0, 1900.0]), "mL"), "target": Q_(np.array([900.0, 1000.0, 1100.0]), "mL")},
        "tumour_shape": {"tumour": Q_(np.array([100.0, 200.0]), "mL"), "target": Q_(np.array([900.0, 1000.0, 1100.0]), "mL")},
        "ratio_shape": {"tumour": "100 mL", "tumour_to_normal": np.array([1.0, 2.0]), "target": Q_(np.array([900.0, 1000.0, 1100.0]), "mL")},
        "liver_tumour_shape": {"liver": "2000 mL", "liver_tumour": Q_(np.array([100.0, 200.0]), "mL"), "target": Q_(np.array([900.0, 1000.0, 1100.0]), "mL")},
        "other_registry": {"target": pint.UnitRegistry().Quantity(1456, "mL")},
        "target_resin_blocked": {"device": "resin", "lsf": 0.25},
        "glass_blocked_lung": {"lsf": 0.4, "dose": "200 Gy"},
    }
    for name, over in kw_bad.items():
        kw = {"device": "glass", **over}
        t = kw.pop("target", "1456 mL")
        f = kw.pop("lsf", 0.05)
        d = kw.pop("dose", "120 Gy")
        cases[f"refuse_kw/{name}"] = lambda kw=kw, t=t, f=f, d=d: planning.mird(d, t, f, **kw)
    cases["refuse/partition_both"] = lambda: planning.partition("1456 mL", "300 mL", 3.0, 0.05, normal_liver_dose="40 Gy", tumour_dose="100 Gy", device="glass")
    cases["refuse/partition_no_ratio"] = lambda: planning.partition("1456 mL", "300 mL", None, 0.05, device="glass")
    cases["refuse/partition_no_tumour"] = lambda: planning.partition("1456 mL", "0 mL", 3.0, 0.05, device="glass")
    cases["refuse/partition_unbounded"] = lambda: planning.partition("1456 mL", "300 mL", 3.0, 0.0, device="glass", clinical={"indication": "other"})
    cases["refuse/partition_nld_range"] = lambda: planning.partition("1456 mL", "300 mL", 3.0, 0.05, normal_liver_dose="3000 Gy", device="glass")
    cases["refuse/bsa_height"] = lambda: planning.bsa("20 cm", "70 kg", "1800 mL", "300 mL", 0.05, device="resin")
    cases["refuse/bsa_small"] = lambda: planning.bsa("50 cm", "3 kg", "1800 mL", "300 mL", 0.05, device="resin")
    cases["refuse/bsa_no_liver_tumour"] = lambda: planning.bsa("170 cm", "70 kg", "1800 mL", "300 mL", 0.05, target="900 mL", device="resin")
    cases["refuse/empirical_shape"] = lambda: planning.empirical("1800 mL", Q_(np.array([100.0, 300.0]), "mL"), np.array([0.05, 0.1, 0.2]), device="resin")
    # the uncertainty of a plan goes through the same function (seeded, few draws)
    cases["uncertainty/mird"] = lambda: planning.with_uncertainty(planning.mird, "120 Gy", "1456 mL", 0.05, device="glass", tumour="300 mL",
                                                                  tumour_to_normal=3.0, liver="1800 mL",
                                                                  uncertainty=planning.UncertaintySettings(samples=200, seed=3))
    cases["session"] = lambda: planning.combine_territories(
        [planning.mird("120 Gy", "900 mL", 0.05, device="glass"), planning.mird("150 Gy", "500 mL", 0.05, device="glass")], ["right", "left"])
    return cases


CASES = _cases()


def record() -> dict:
    return {name: outcome(call) for name, call in CASES.items()}


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(gzip.decompress(RECORD.read_bytes()))


def test_every_case_recorded(recorded):
    assert sorted(recorded) == sorted(CASES)


def test_the_record_holds_plans_refusals_and_warnings(recorded):
    kinds = [v[0] for v in recorded.values()]
    assert kinds.count("ok") > 300 and kinds.count("refused") > 80
    assert any("BLOCKED" in json.dumps(v) for v in recorded.values())
    assert any("out of the usual" in json.dumps(v) or "usual" in json.dumps(v) for v in recorded.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_output_as_recorded(name, recorded):
    assert outcome(CASES[name]) == recorded[name]


if __name__ == "__main__":
    if "--record" in sys.argv:
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_bytes(gzip.compress(json.dumps(record(), sort_keys=True).encode(), mtime=0))
        print(f"{len(CASES)} cases recorded in {RECORD}")
