"""Issue 23: the patient file's ``[uncertainty]`` table, read strictly like every other table."""

import re
import tomllib
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import parse_patient
from dosimetry.planning.budget import DEFAULT_BUDGET
from dosimetry.vocabulary import Distribution, ShuntMethod

DOCS = Path(dosimetry.__file__).parent.parent / "docs" / "uncertainty.md"
BASE = {
    "patient": {"id": "P"},
    "treatment": {"device": "glass", "method": "mird"},
    "lung": {"shunt_fraction": 0.05},
    "target": {"volume": "1456 mL", "dose": "120 Gy"},
}


def test_without_the_table_the_defaults_apply():
    pf = parse_patient(BASE)
    assert pf.uncertainty.samples == 10_000 and pf.uncertainty.seed == 0 and dict(pf.uncertainty.budget) == dict(DEFAULT_BUDGET)


def test_the_table_of_the_docs_is_read():
    block = re.search(r"```toml\n(\[uncertainty\].*?)```", DOCS.read_text(), re.S).group(1)
    pf = parse_patient({**BASE, **tomllib.loads(block)})
    u = pf.uncertainty
    assert (u.samples, u.seed, u.bound, u.lung_shunt_method) == (10_000, 0, 0.05, ShuntMethod.PLANAR)
    assert u.term("activity").spread == 0.05 and u.term("tumour_volume").off
    assert u.term("residual_fraction").distribution is Distribution.UNIFORM and u.term("tumour_to_normal").spread == 0.30


@pytest.mark.parametrize("table, field", [
    ({"uncertainty": {"sample": 100}}, "uncertainty.sample"),
    ({"uncertainty": {"activity": "200 %"}}, "uncertainty.activity"),
    ({"uncertainty": {"tumour_volume": {"spread": "5 cts", "relative": False}}}, "uncertainty.tumour_volume.spread"),
    ({"uncertainty": "10 %"}, "uncertainty"),
])
def test_bad_tables_are_refused_naming_the_field(table, field):
    with pytest.raises(InputError) as e:
        parse_patient({**BASE, **table})
    assert e.value.field == field
