"""report.json and the patient file against their published JSON Schemas (dosimetry/report/schemas/).

The schemas use a small subset of JSON Schema 2020-12 (type, enum, const, required, properties,
additionalProperties, items, pattern, minimum, maximum, minLength, anyOf, local $ref). The
validator below implements exactly that subset, so the tests need no extra dependency; it is
itself tested on documents that must fail.
"""

import datetime as dt
import json
import re
import tomllib
from pathlib import Path

import pytest

import dosimetry
from dosimetry.report import schemas

EXAMPLES = Path(dosimetry.__file__).parent / "examples"

_TYPES = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


def errors(doc, schema, root=None, path="$"):
    """Every violation of ``schema`` by ``doc``, as 'path: message' strings."""
    root = root or schema
    out = []
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        out += errors(doc, root["$defs"][ref.split("/")[-1]], root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](doc) for t in types):
            return out + [f"{path}: expected {types}, got {type(doc).__name__}"]
    if "enum" in schema and doc not in schema["enum"]:
        out.append(f"{path}: {doc!r} not in {schema['enum']}")
    if "const" in schema and doc != schema["const"]:
        out.append(f"{path}: {doc!r} != {schema['const']!r}")
    if "anyOf" in schema and all(errors(doc, s, root, path) for s in schema["anyOf"]):
        out.append(f"{path}: matches none of anyOf")
    if isinstance(doc, str):
        if "pattern" in schema and not re.search(schema["pattern"], doc):
            out.append(f"{path}: {doc!r} does not match {schema['pattern']}")
        if len(doc) < schema.get("minLength", 0):
            out.append(f"{path}: shorter than {schema['minLength']}")
    if _TYPES["number"](doc):
        if "minimum" in schema and doc < schema["minimum"]:
            out.append(f"{path}: {doc} < {schema['minimum']}")
        if "maximum" in schema and doc > schema["maximum"]:
            out.append(f"{path}: {doc} > {schema['maximum']}")
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        out += [f"{path}: missing {k!r}" for k in schema.get("required", []) if k not in doc]
        for k, v in doc.items():
            if k in props:
                out += errors(v, props[k], root, f"{path}.{k}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{path}: unexpected key {k!r}")
    if isinstance(doc, list) and "items" in schema:
        for i, v in enumerate(doc):
            out += errors(v, schema["items"], root, f"{path}[{i}]")
    return out


def load(name):
    return schemas.load(name)


def toml_as_json(path):
    """A patient file as JSON data: TOML date-times become ISO 8601 strings."""

    def conv(x):
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, list):
            return [conv(v) for v in x]
        if isinstance(x, (dt.datetime, dt.date, dt.time)):
            return x.isoformat()
        return x

    return conv(tomllib.loads(Path(path).read_text()))


def snake_keys(doc, path="$"):
    """Keys that are not snake_case, anywhere in ``doc``."""
    bad = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", k):
                bad.append(f"{path}.{k}")
            bad += snake_keys(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            bad += snake_keys(v, f"{path}[{i}]")
    return bad


def test_demo_report_json_validates_and_names_tumours(demo):
    out, _, _ = demo
    rep = json.loads((out / "report" / "report.json").read_text())
    assert errors(rep, load("report.schema.json")) == []
    assert rep["schema_version"] == "2.1" and list(rep)[0] == "schema_version"
    # the demo writes two tumours; they are named, with their planned dose (partition model: Tumour 1
    # at the 205 Gy prescription, Tumour 2 at 205 * r2 / r1 by its higher uptake ratio, the ratios
    # measured on the MAA SPECT)
    assert [t["name"] for t in rep["tumours"]] == ["Tumour 1", "Tumour 2"]
    r1, r2 = (t["tumour_to_normal"] for t in rep["tumours"])
    assert r2 > r1 and rep["tumours"][1]["planned_dose"]["value"] == pytest.approx(205 * r2 / r1, rel=1e-6)
    assert isinstance(rep["sphere_count"], int) and isinstance(rep["vial"]["sphere_count"], int)
    assert snake_keys(rep) == []  # the audit trail included


def test_demo_report_json_links_to_the_dicom_it_read_and_wrote(demo):
    import pydicom

    out, _, _ = demo
    rep = json.loads((out / "report" / "report.json").read_text())
    by_mod = {s["modality"]: s for s in rep["dicom"]["inputs"]}
    ct = pydicom.dcmread(next((out / "patient" / "ct").iterdir()), stop_before_pixels=True)
    rs = pydicom.dcmread(out / "patient" / "rtstruct.dcm", stop_before_pixels=True)
    nm = pydicom.dcmread(next((out / "patient" / "nm").iterdir()), stop_before_pixels=True)
    assert by_mod["CT"]["series_instance_uid"] == ct.SeriesInstanceUID
    assert by_mod["RTSTRUCT"]["series_instance_uid"] == rs.SeriesInstanceUID
    assert by_mod["NM"]["series_instance_uid"] == nm.SeriesInstanceUID and by_mod["NM"]["study_instance_uid"] == nm.StudyInstanceUID
    dose = pydicom.dcmread(out / "report" / "rtdose.dcm", stop_before_pixels=True)
    assert rep["dicom"]["rt_dose"]["sop_instance_uid"] == dose.SOPInstanceUID
    assert rep["dicom"]["rt_dose"]["series_instance_uid"] == dose.SeriesInstanceUID


def test_times_are_to_the_second(demo):
    out, _, _ = demo
    text = (out / "report" / "report.json").read_text()
    # no fractional seconds anywhere (issue 14: times carried microseconds)
    assert not re.search(r"T\d\d:\d\d:\d\d\.\d", text)
    assert re.search(r'"administration_time": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"', text)


@pytest.mark.parametrize("path", [EXAMPLES / "glass.toml", EXAMPLES / "resin.toml"])
def test_example_patient_files_validate(path):
    assert errors(toml_as_json(path), load("patient.schema.json")) == []


def test_demo_patient_file_validates(demo):
    out, _, _ = demo
    assert errors(toml_as_json(out / "patient" / "patient.toml"), load("patient.schema.json")) == []


def test_validator_rejects_what_the_schemas_forbid(demo):
    out, _, _ = demo
    rep = json.loads((out / "report" / "report.json").read_text())
    schema = load("report.schema.json")
    bad = dict(rep, sphere_count=19907791.83)  # the float count of issue 14
    assert any("sphere_count" in e for e in errors(bad, schema))
    bad = {k: v for k, v in rep.items() if k != "schema_version"}
    assert any("schema_version" in e for e in errors(bad, schema))
    bad = dict(rep, administration_time="2026-01-15T10:00:00.123456-05:00")
    assert any("administration_time" in e for e in errors(bad, schema))
    bad = dict(rep, tumours=[{"volume": {"value": 1, "unit": "mL"}}])
    assert any("name" in e for e in errors(bad, schema))
    patient = toml_as_json(EXAMPLES / "glass.toml")
    patient["treatment"]["device"] = "ceramic"
    patient["lung"]["shunt"] = 0.1
    errs = errors(patient, load("patient.schema.json"))
    assert any("ceramic" in e for e in errs) and any("shunt" in e for e in errs)


@pytest.mark.parametrize("name", schemas.NAMES)
def test_schemas_are_package_data_read_through_importlib_resources(name):
    # the installed package carries the schemas (the wheel, not only a source checkout): the file
    # is found next to the loader module and parses to the same document load() returns
    from importlib import resources

    res = resources.files("dosimetry.report.schemas").joinpath(name)
    assert res.is_file()
    doc = json.loads(res.read_bytes())
    assert doc == schemas.load(name)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith("/dosimetry/report/schemas/" + name)
    assert doc["type"] == "object" and doc["required"]


def test_an_unknown_schema_name_is_refused_with_the_names_allowed():
    from dosimetry.errors import InputError

    with pytest.raises(InputError) as e:
        schemas.load("../../pyproject.toml")
    assert e.value.field == "schema" and e.value.allowed == ", ".join(schemas.NAMES)
