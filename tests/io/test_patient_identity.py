"""Issue 21, item 6: the identity a planning report carries (date of birth, sex, record number, the
MAA study, how the shunt was measured, who prepared the plan): optional, validated, never invented."""

import datetime as dt
import tomllib
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import parse_patient

EXAMPLES = Path(dosimetry.__file__).parent / "examples"


@pytest.fixture
def doc():
    d = tomllib.loads((EXAMPLES / "glass.toml").read_text())
    d["treatment"].pop("administration", None)
    d["treatment"].pop("calibration", None)
    return d


def test_absent_values_stay_absent(doc):
    pf = parse_patient(doc)
    assert (pf.patient.birth_date, pf.patient.sex, pf.patient.record_number) == (None, None, None)
    assert (pf.lung.shunt_method, pf.lung.maa_study_date, pf.lung.maa_series, pf.prepared_by) == (None, None, None, None)


def test_every_field_read(doc):
    doc["patient"].update(birth_date=dt.date(1956, 3, 14), sex="f", record_number="MRN 0042")
    doc["lung"].update(shunt_method="SPECT", maa_study_date=dt.date(2026, 11, 18), maa_series="MAA SPECT/CT (series 4)")
    doc["report"] = {"prepared_by": "A. Physicist, DABR"}
    pf = parse_patient(doc)
    assert pf.patient.birth_date == dt.date(1956, 3, 14) and pf.patient.sex == "F" and pf.patient.record_number == "MRN 0042"
    assert pf.lung.shunt_method == "spect" and pf.lung.maa_study_date == dt.date(2026, 11, 18) and pf.lung.maa_series == "MAA SPECT/CT (series 4)"
    assert pf.prepared_by == "A. Physicist, DABR"


@pytest.mark.parametrize("table, key, value, field", [
    ("patient", "birth_date", dt.date(2999, 1, 1), "patient.birth_date"),  # in the future
    ("patient", "birth_date", dt.date(1850, 1, 1), "patient.birth_date"),
    ("patient", "birth_date", dt.datetime(1956, 3, 14, 10, 0), "patient.birth_date"),  # a date-time, not a date
    ("patient", "birth_date", "14/03/1956", "patient.birth_date"),
    ("patient", "sex", "X", "patient.sex"),  # not a PatientSex enumerated value
    ("patient", "sex", "female", "patient.sex"),
    ("patient", "record_number", "", "patient.record_number"),
    ("lung", "shunt_method", "ct", "lung.shunt_method"),
    ("lung", "maa_study_date", dt.date(1980, 1, 1), "lung.maa_study_date"),
    ("report", "prepared_by", "", "report.prepared_by"),
    ("report", "signed_by", "x", "report.signed_by"),
])
def test_bad_values_are_refused_naming_the_field(doc, table, key, value, field):
    doc.setdefault(table, {})[key] = value
    with pytest.raises(InputError) as e:
        parse_patient(doc)
    assert e.value.field == field


def test_birth_date_after_the_study_or_the_administration_is_refused(doc):
    doc["patient"]["birth_date"] = dt.date(2026, 11, 19)
    doc["lung"]["maa_study_date"] = dt.date(2026, 11, 18)
    with pytest.raises(InputError, match="after lung.maa_study_date") as e:
        parse_patient(doc)
    assert e.value.field == "patient.birth_date"
    del doc["lung"]["maa_study_date"]
    doc["treatment"]["administration"] = dt.datetime(2026, 11, 18, 10, tzinfo=dt.timezone.utc)
    with pytest.raises(InputError, match="after treatment.administration"):
        parse_patient(doc)
    doc["patient"]["birth_date"] = dt.date(2026, 11, 18)  # the same day: a newborn, accepted
    assert parse_patient(doc).patient.birth_date == dt.date(2026, 11, 18)


def test_the_shunt_method_is_known_when_the_shunt_is_measured(doc):
    doc["lung"].update(shunt_fraction="planar", planar_counts={"lung_anterior": "1000 cts", "lung_posterior": "1200 cts",
                                                                "liver_anterior": "20000 cts", "liver_posterior": "24000 cts"})
    assert parse_patient(doc).lung.shunt_method == "planar"
    doc["lung"]["shunt_method"] = "spect"
    with pytest.raises(InputError, match="planar counts") as e:
        parse_patient(doc)
    assert e.value.field == "lung.shunt_method"
