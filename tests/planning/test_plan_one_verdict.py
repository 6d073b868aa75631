"""One verdict whatever the entry point: the patient file and the library accept and refuse the
same values, field by field (dosimetry.ranges.PLAUSIBLE)."""

import copy
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import parse_patient
from dosimetry.planning import mird, partition

GLASS = tomllib.loads((Path(dosimetry.__file__).parent / "examples" / "glass.toml").read_text())


def _file_accepts(dotted, value) -> bool:
    d = copy.deepcopy(GLASS)
    table, key = dotted.split(".")
    d[table][key] = value
    try:
        parse_patient(d)
        return True
    except InputError as exc:
        assert exc.field == dotted, str(exc)
        return False


def _library_accepts(call, field) -> bool:
    try:
        call()
        return True
    except InputError as exc:
        assert exc.field == field, str(exc)
        return False


BASE = dict(dose="120 Gy", target="1456 mL", lung_shunt_fraction=0.05, device="glass")

#: field -> (value strategy, text written in the file, library call)
CASES = {
    "lung.mass": (st.floats(0.01, 8.0), lambda x: f"{x!r} kg", lambda v: mird(**BASE, lung_mass=v)),
    "liver.density": (st.floats(0.5, 1.5), lambda x: f"{x!r} g/mL", lambda v: mird(**BASE, density=v)),
    "treatment.dose_coefficient": (st.floats(30.0, 70.0), lambda x: f"{x!r} Gy*kg/GBq", lambda v: mird(**BASE, dose_coefficient=v)),
    "target.residual_fraction": (st.floats(0.0, 0.9), lambda x: x, lambda v: mird(**BASE, residual_fraction=v)),
    "target.dose": (st.floats(1.0, 3000.0), lambda x: f"{x!r} Gy", lambda v: mird(v, "1456 mL", 0.05, device="glass")),
    "lung.prior_dose": (st.floats(0.0, 300.0), lambda x: f"{x!r} Gy", lambda v: mird(**BASE, prior_lung_dose=v)),
    "target.tumour_to_normal": (st.floats(0.01, 80.0), lambda x: x, lambda v: partition("1456 mL", "300 mL", v, 0.05, device="glass", tumour_dose="205 Gy")),
}


@pytest.mark.parametrize("field", sorted(CASES))
@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_the_file_and_the_library_agree(field, data):
    strategy, text, call = CASES[field]
    x = data.draw(strategy)
    value = text(x)
    assert _file_accepts(field, value) == _library_accepts(lambda: call(value), field)
