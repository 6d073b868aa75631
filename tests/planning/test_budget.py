"""Issue 23: the uncertainty budget as data, its docs table, and the one strict parser of
``[uncertainty]`` and ``--uncertainty``."""

import re
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError, OutOfRangeError
from dosimetry.planning.budget import DEFAULT_BUDGET, LEVEL, UncertaintySettings, uncertainty_settings
from dosimetry.vocabulary import Distribution, ShuntMethod

DOCS = Path(dosimetry.__file__).parent.parent / "docs" / "uncertainty.md"


def test_every_input_of_the_issue_has_a_term_with_a_source():
    # vial or dose-calibrator activity, residual, lung shunt by its method, lung mass, volumes,
    # tumour-to-normal ratios, the image calibration, the dose coefficient
    assert {"activity", "residual_fraction", "lung_shunt_planar", "lung_shunt_spect", "lung_mass", "lung_mass_assumed", "perfused_volume",
            "liver_volume", "tumour_volume", "tumour_to_normal", "image_calibration", "roi_volume", "dose_coefficient"} == set(DEFAULT_BUDGET)
    for t in DEFAULT_BUDGET.values():
        assert t.source and t.basis in ("published", "derived from a published figure", "project choice") and t.spread > 0
        # every published or derived figure names a publication (author and year, or the IFU)
        if t.basis != "project choice":
            assert re.search(r"(19|20)\d\d|IFU", t.source), t.name


def test_derived_figures_follow_from_their_published_numbers():
    # 80 % of results within +-10 %: a normal SD of 10 % / z(0.90)
    assert DEFAULT_BUDGET["activity"].spread == pytest.approx(0.10 / 1.2816, abs=5e-4)
    # Allred 2018: planar up to 44 %, SPECT/CT within 13 %, each read as the 95 % bound
    assert DEFAULT_BUDGET["lung_shunt_planar"].spread == pytest.approx(0.44 / 1.96, abs=5e-3)
    assert DEFAULT_BUDGET["lung_shunt_spect"].spread == pytest.approx(0.13 / 1.96, abs=5e-4)
    # K conventions 49.67 to 50 Gy kg/GBq
    assert DEFAULT_BUDGET["dose_coefficient"].spread == pytest.approx((50 - 49.67) / 49.67, abs=1e-4)
    assert LEVEL == 0.95


def test_the_docs_table_is_the_default_budget():
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_]+)` \| [^|]+ \| ([^|]+) \|", DOCS.read_text(), re.M)}
    assert set(rows) == set(DEFAULT_BUDGET)
    for name, t in DEFAULT_BUDGET.items():
        assert rows[name].strip() == t.describe(), name
        assert t.basis in DOCS.read_text()


def test_defaults():
    s = UncertaintySettings()
    assert s.samples == 10_000 and s.seed == 0 and s.bound == 0.05 and s.lung_shunt_method is ShuntMethod.PLANAR and s.enabled
    assert not UncertaintySettings(samples=0).enabled


def test_a_table_overrides_terms_and_settings():
    s = uncertainty_settings({
        "samples": 2000, "seed": 42, "p_exceed_bound": "10 %", "lung_shunt_method": "SPECT",
        "activity": "5 %",
        "tumour_volume": "off",
        "residual_fraction": {"distribution": "uniform", "spread": 0.03, "relative": False},
        "tumour_to_normal": {"spread": "30 %"},
        "perfused_volume": {"spread": "50 mL", "relative": False},
    })
    assert (s.samples, s.seed, s.bound, s.lung_shunt_method) == (2000, 42, 0.10, ShuntMethod.SPECT)
    assert s.term("activity").spread == 0.05 and s.term("activity").distribution is Distribution.NORMAL
    assert s.term("activity").basis == "clinic setting"
    assert s.term("tumour_volume").off
    r = s.term("residual_fraction")
    assert (r.distribution, r.spread, r.relative) == (Distribution.UNIFORM, 0.03, False)
    assert s.term("tumour_to_normal").distribution is Distribution.LOGNORMAL and s.term("tumour_to_normal").spread == 0.30
    assert s.term("perfused_volume").spread == 50.0 and not s.term("perfused_volume").relative
    assert s.term("lung_mass") == DEFAULT_BUDGET["lung_mass"]  # untouched


def test_a_command_line_override_keeps_the_files_distribution():
    base = uncertainty_settings({"tumour_volume": {"distribution": "lognormal", "spread": "20 %"}})
    s = uncertainty_settings({"tumour_volume": "30 %"}, "--uncertainty", base=base)
    assert s.term("tumour_volume").distribution is Distribution.LOGNORMAL and s.term("tumour_volume").spread == 0.30


@pytest.mark.parametrize("table, field, kind", [
    ({"activty": "5 %"}, "uncertainty.activty", InputError),
    ({"samples": 10}, "uncertainty.samples", OutOfRangeError),
    ({"samples": 2_000_000}, "uncertainty.samples", OutOfRangeError),
    ({"samples": True}, "uncertainty.samples", InputError),
    ({"samples": 1.5}, "uncertainty.samples", InputError),
    ({"seed": -1}, "uncertainty.seed", OutOfRangeError),
    ({"p_exceed_bound": 0}, "uncertainty.p_exceed_bound", InputError),
    ({"p_exceed_bound": "150 %"}, "uncertainty.p_exceed_bound", InputError),
    ({"lung_shunt_method": "ct"}, "uncertainty.lung_shunt_method", InputError),
    ({"activity": "60 %"}, "uncertainty.activity", OutOfRangeError),
    ({"activity": "-5 %"}, "uncertainty.activity", InputError),
    ({"activity": {"spread": 0.05, "relative": False}}, "uncertainty.activity.spread", InputError),
    ({"tumour_to_normal": {"spread": 0.5, "relative": False}}, "uncertainty.tumour_to_normal.spread", InputError),
    ({"activity": {"distribution": "cauchy"}}, "uncertainty.activity.distribution", InputError),
    ({"activity": {"sd": "5 %"}}, "uncertainty.activity.sd", InputError),
    ({"perfused_volume": {"relative": False}}, "uncertainty.perfused_volume.spread", InputError),
    ({"perfused_volume": {"spread": "50 kg", "relative": False}}, "uncertainty.perfused_volume.spread", InputError),
    ({"perfused_volume": {"spread": 50, "relative": False}}, "uncertainty.perfused_volume.spread", InputError),
    ({"residual_fraction": {"spread": 0.8, "relative": False}}, "uncertainty.residual_fraction.spread", InputError),
    ({"lung_mass": {"relative": "yes", "spread": "1 kg"}}, "uncertainty.lung_mass.relative", InputError),
])
def test_refusals_name_the_field(table, field, kind):
    with pytest.raises(kind) as e:
        uncertainty_settings(table)
    assert e.value.field == field
