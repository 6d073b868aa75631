"""Issue 19: meaning in types, not strings: the vocabularies, device behaviour as data, error types."""

import json
import re
from pathlib import Path

import pytest

import dosimetry
from dosimetry.devices import DEVICES, GLASS, RESIN
from dosimetry.errors import InputError, UnitError
from dosimetry.vocabulary import Calibration, DeviceName, Method, Origin, Role, Status

PACKAGE = Path(dosimetry.__file__).parent


def test_a_member_is_its_text_so_the_outputs_keep_their_strings():
    assert DeviceName.GLASS == "glass" and f"{Status.BLOCKED}" == "BLOCKED" and str(Origin.VIAL_AT_PLANNED_TIME) == "vial at the planned time"
    assert json.dumps({"device": DeviceName.RESIN, "status": Status.NEEDS_DECISION}) == '{"device": "resin", "status": "NEEDS A DECISION"}'
    assert {Role.TUMOUR: 1}["tumour"] == 1  # looked up by its text


def test_input_text_is_normalised_once_and_anything_else_refused_naming_the_field():
    assert DeviceName.parse(" Glass ", "treatment.device") is DeviceName.GLASS
    assert Method.parse("MIRD", "treatment.method") is Method.MIRD
    assert Calibration.parse("Relative", "imaging.calibration") is Calibration.RELATIVE
    with pytest.raises(InputError, match=r"^treatment.device: 'glas' is not allowed; choose one of glass, resin") as e:
        DeviceName.parse("glas", "treatment.device")
    assert e.value.allowed == "glass, resin"


def test_the_patient_file_reads_its_words_into_the_vocabularies():
    from dosimetry.io.patient import parse_patient

    pf = parse_patient({"patient": {"id": "P"}, "treatment": {"device": "Resin", "method": "Partition"}, "lung": {"shunt_fraction": 0.05},
                        "target": {"volume": "1000 mL", "tumour_volume": "100 mL", "tumour_to_normal": 3.0}})
    assert pf.treatment.device is DeviceName.RESIN and pf.treatment.method is Method.PARTITION


def test_device_behaviour_is_data_on_the_device():
    # SIR-Spheres IFU: BSA and empirical methods, shunt above 20 % contraindicated, drawn to need
    assert RESIN.methods == (Method.MIRD, Method.BSA, Method.EMPIRICAL, Method.PARTITION) and RESIN.shunt_limit == 0.20
    assert not RESIN.whole_vial
    # TheraSphere IFU: MIRD (and partition), a whole vial given, no shunt contraindication (lung dose limits)
    assert GLASS.methods == (Method.MIRD, Method.PARTITION) and GLASS.shunt_limit is None and GLASS.whole_vial
    assert set(DEVICES) == set(DeviceName)


def test_a_glass_bsa_plan_is_refused_by_the_device_data():
    from dosimetry.planning import bsa

    with pytest.raises(InputError, match="^treatment.method: the bsa method is for resin microspheres only; for glass use mird or partition"):
        bsa("175 cm", "75 kg", "1600 mL", "100 mL", 0.05, device="glass")


def test_no_code_branches_on_a_device_name():
    """The behaviour of a product is an attribute of its Device (methods, shunt_limit, whole_vial):
    no comparison with the words "glass" or "resin" is left outside devices.py."""
    pattern = re.compile(r"""(==|!=|\bis|\bin)\s*\(?\s*["'](glass|resin)["']|["'](glass|resin)["']\s*(==|!=|\bin\b)""")
    found = [f"{p.relative_to(PACKAGE)}:{n}" for p in PACKAGE.rglob("*.py") if p.name not in ("devices.py", "vocabulary.py")
             for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line.split("#")[0])]
    assert not found, found


def test_a_mass_field_that_takes_a_volume_is_told_apart_by_the_error_type_not_its_message():
    from dosimetry.planning._inputs import mass_of

    with pytest.raises(UnitError, match=r"^target.mass: a bare number 3 has no unit.*\(or a volume for target.volume\)") as e:
        mass_of(3, None, "target.mass", "target.volume")
    assert e.value.expected == "kg"
    with pytest.raises(UnitError, match="wrong dimension"):
        mass_of("3 GBq", None, "target.mass", "target.volume")


def test_a_stray_file_in_a_dicom_folder_is_told_apart_by_its_error_type(tmp_path):
    from dosimetry.io.dicom_elements import DicomError, NotDicomError, read_header

    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(NotDicomError) as e:
        read_header(tmp_path / "notes.txt")
    assert isinstance(e.value, DicomError) and isinstance(e.value, InputError)


def test_an_error_renamed_for_a_flag_keeps_its_type_message_and_fields():
    e = UnitError("imaging.administered", "a bare number 2 has no unit", allowed="GBq", expected="GBq")
    r = e.renamed("--administered")
    assert type(r) is UnitError and str(r) == "--administered: a bare number 2 has no unit"
    assert (r.field, r.message, r.allowed, r.expected) == ("--administered", e.message, "GBq", "GBq")
    assert e.field == "imaging.administered"  # the original is unchanged
    import pickle

    p = pickle.loads(pickle.dumps(r))
    assert (type(p), p.field, p.expected) == (UnitError, "--administered", "GBq")


def test_the_compare_text_reads_the_basis_field_not_a_note():
    """Before, compare_text found what each device was prescribed to by parsing the planner's note
    "prescribed to ..."; the plan now carries it as a field (PatientPlan.basis)."""
    from dataclasses import replace

    from dosimetry.io.patient import load_patient
    from dosimetry.report.text import compare_text
    from dosimetry.workflow import compare_case

    glass, resin = compare_case(load_patient(PACKAGE / "examples" / "glass.toml"))
    assert glass.plan.basis.startswith("the patient file's prescription") and resin.plan.basis.startswith("resin's own target")
    quiet = [replace(c, plan=replace(c.plan, notes=()), notes=()) for c in (glass, resin)]
    assert "Prescribed to" in compare_text(*quiet) and "resin's own target" in compare_text(*quiet)


def test_the_patient_file_and_the_dose_flags_build_the_same_voxel_settings(tmp_path):
    """Issue 19: one settings object for voxel dosimetry, built by [imaging] and by y90 dose's flags."""
    import datetime as dt

    from dosimetry.cli import build_parser
    from dosimetry.cli.dose import settings as _dose_settings
    from dosimetry.io.patient import parse_patient
    from dosimetry.model import VoxelSettings

    (tmp_path / "spect.nrrd").write_bytes(b"x")
    (tmp_path / "rois.seg.nrrd").write_bytes(b"x")
    doc = {"patient": {"id": "P"}, "treatment": {"device": "glass", "method": "mird"}, "lung": {"shunt_fraction": 0.05},
           "target": {"volume": "1000 mL", "dose": "120 Gy"},
           "imaging": {"activity": "spect.nrrd", "segmentation": "rois.seg.nrrd", "rois": {"liver": "Liver"}, "method": "ldm",
                       "calibration": "Relative", "administered": "2.1 GBq", "activity_unit": "Bq/mL",
                       "activity_time": "2026-01-16T09:00:00+01:00", "administration_time": "2026-01-15T10:00:00+01:00"}}
    from_file = parse_patient(doc, tmp_path).imaging.settings
    args = build_parser().parse_args(["dose", "--activity-image", "spect.nrrd", "--segmentation", "rois.seg.nrrd", "--method", "ldm",
                                      "--calibration", "relative", "--administered", "2.1 GBq", "--activity-unit", "Bq/mL",
                                      "--activity-time", "2026-01-16T09:00:00+01:00", "--administration-time", "2026-01-15T10:00:00+01:00", "-o", "out"])
    from_flags = _dose_settings(args)
    assert isinstance(from_file, VoxelSettings) and isinstance(from_flags, VoxelSettings)
    assert from_file.calibration is from_flags.calibration is Calibration.RELATIVE
    assert from_file.reading() == from_flags.reading() == {"activity_unit": "Bq/mL", "activity_time": dt.datetime.fromisoformat("2026-01-16T09:00:00+01:00"),
                                                           "administration_time": dt.datetime.fromisoformat("2026-01-15T10:00:00+01:00")}
    assert from_file.method == from_flags.method == "ldm"
    assert parse_patient(doc, tmp_path).imaging.method == "ldm"  # the options read as [imaging] attributes too
