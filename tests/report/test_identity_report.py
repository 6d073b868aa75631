"""Issue 21, item 6: page 1, report.json, the session PDF and the verification header carry the date
of birth, sex, record number, the MAA study, how the shunt was measured and who prepared the plan;
"not given" where neither the patient file nor the images say (never invented)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from types import SimpleNamespace

from pypdf import PdfReader

from dosimetry.io.patient import load_patient
from dosimetry.report.build import render_report
from dosimetry.report.pdf import render_pdf
from dosimetry.report.schemas import load
from dosimetry.report.verification import patient_line
from dosimetry.workflow import run_case

GLASS = Path(__file__).parents[2] / "dosimetry" / "examples" / "glass.toml"
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
IDENTITY = {
    'weight = "75 kg"': 'weight = "75 kg"\nbirth_date = 1956-03-14\nsex = "F"\nrecord_number = "MRN-0042"',
    'prior_dose = "0 Gy"': 'prior_dose = "0 Gy"\nshunt_method = "planar"\nmaa_study_date = 2026-11-18\nmaa_series = "MAA planar (series 3)"',
}


def _file(tmp_path, name="patient.toml", extra="", **replace) -> Path:
    text = GLASS.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    p = tmp_path / name
    p.write_text(text + extra)
    return p


def _page1(rep) -> str:
    return " ".join(PdfReader(io.BytesIO(render_pdf(rep.content))).pages[0].extract_text().split())


def test_page1_and_json_carry_the_identity(tmp_path):
    rep = render_report(run_case(load_patient(_file(tmp_path, extra='\n[report]\nprepared_by = "A. Physicist"\n', **IDENTITY)), uncertainty=None), now=NOW)
    text = _page1(rep)
    assert "Patient EX-001; born 1956-03-14; sex female (F); record number MRN-0042" in text
    assert "MAA study, shunt method 2026-11-18, MAA planar (series 3); lung shunt measured by planar scintigraphy" in text
    assert "Plan prepared by: A. Physicist" in text
    doc = rep.json
    assert doc["schema_version"] == "2.1"
    assert doc["patient"] == {"id": "EX-001", "name": None, "birth_date": "1956-03-14", "sex": "F", "record_number": "MRN-0042"}
    assert doc["maa_study"] == {"date": "2026-11-18", "series": "MAA planar (series 3)", "shunt_method": "planar"}
    assert doc["prepared_by"] == "A. Physicist"
    from test_schemas import errors  # the suite's own JSON Schema checker

    assert errors(_json(doc), load("report.schema.json")) == []
    assert "born 1956-03-14" in rep.text and "Plan prepared by" in rep.text


def _json(doc):
    import json

    return json.loads(json.dumps(doc, default=str))


def test_absent_values_are_printed_not_given(tmp_path):
    rep = render_report(run_case(load_patient(_file(tmp_path)), uncertainty=None), now=NOW)
    text = _page1(rep)
    assert "born not given; sex not given; record number not given" in text
    assert "MAA study, shunt method not given; lung shunt measured by not given" in text and "Plan prepared by: not given" in text
    assert rep.json["patient"]["birth_date"] is None and rep.json["maa_study"] == {"date": None, "series": None, "shunt_method": None}


def test_session_pdf_and_verification_header_show_the_patient(tmp_path, capsys):
    from dosimetry.cli import main

    one_liver = {'density = "1.03 g/mL"          # default 1.03 g/mL; 0.9-1.2 g/mL': 'density = "1.03 g/mL"\ntumour_volume = "600 mL"'}  # both tumours
    right = _file(tmp_path, "right.toml", **{**IDENTITY, **one_liver, 'volume = "1456 mL"': 'volume = "800 mL"'})
    left = _file(tmp_path, "left.toml", **{**IDENTITY, **one_liver, 'volume = "1456 mL"': 'volume = "500 mL"'})
    pdf = tmp_path / "session.pdf"
    main(["--quiet", "session", str(right), str(left), "--pdf", str(pdf)])
    first = " ".join(PdfReader(pdf).pages[0].extract_text().split())
    assert "EX-001; born 1956-03-14; sex female (F); record number MRN-0042" in first
    other = _file(tmp_path, "other.toml", **{**one_liver, 'volume = "1456 mL"': 'volume = "500 mL"'})  # no date of birth
    assert main(["--quiet", "session", str(right), str(other)]) == 2
    assert "patient.birth_date" in capsys.readouterr().err
    pf = load_patient(right)
    v = SimpleNamespace(planned=SimpleNamespace(plan=SimpleNamespace(patient=pf)), patient_id="EX-001")
    assert patient_line(v) == "EX-001; born 1956-03-14; sex female (F); record number MRN-0042"
    assert patient_line(SimpleNamespace(planned=None, patient_id=None)) == "not given (no PatientID in the inputs)"
