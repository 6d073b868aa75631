"""Issue 24: overrides replace patient-file fields before validation: the same plan as the edited
file, the same refusal as the edited file, and the report's warnings say what was replaced."""

import shutil
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import load_patient
from dosimetry.workflow import plan_patient

GLASS = Path(dosimetry.__file__).parent / "examples" / "glass.toml"


def _edited(tmp_path, old: str, new: str) -> Path:
    p = tmp_path / "edited.toml"
    text = GLASS.read_text()
    assert old in text
    p.write_text(text.replace(old, new))
    return p


def test_an_override_plans_as_the_edited_file(tmp_path):
    over = load_patient(GLASS, overrides={"target.dose": "150 Gy", "lung.shunt_fraction": 0.1})
    text = GLASS.read_text().replace('dose = "120 Gy"', 'dose = "150 Gy"').replace("shunt_fraction = 0.05", "shunt_fraction = 0.1")
    (tmp_path / "both.toml").write_text(text)
    both = load_patient(tmp_path / "both.toml")
    a, b = plan_patient(over).plan, plan_patient(both).plan
    # and by hand (MIRD, glass IFU): A = D M / (50 (1 - LSF)) with M = 1456 mL x 1.03 g/mL
    assert a.prescribed_activity.to("GBq").magnitude == pytest.approx(150 * 1.456 * 1.03 / (50 * 0.9))
    assert a.prescribed_activity == b.prescribed_activity and a.lung_dose == b.lung_dose
    # the file's own bytes are what is hashed (the overrides are recorded apart)
    assert over.sha256 == load_patient(GLASS).sha256 and over.path == GLASS
    assert over.warnings[-2:] == (
        "target.dose = '150 Gy' set by overrides (the file gives '120 Gy')",
        "lung.shunt_fraction = 0.1 set by overrides (the file gives 0.05)",
    )


def test_a_bad_override_is_refused_as_in_the_file(tmp_path):
    with pytest.raises(InputError) as in_file:
        load_patient(_edited(tmp_path, "shunt_fraction = 0.05", "shunt_fraction = 1.5"))
    with pytest.raises(InputError) as over:
        load_patient(GLASS, overrides={"lung.shunt_fraction": 1.5})
    assert (over.value.field, over.value.message) == (in_file.value.field, in_file.value.message)


def test_an_unknown_key_or_a_path_through_a_non_table_is_refused(tmp_path):
    with pytest.raises(InputError) as exc:
        load_patient(GLASS, overrides={"target.dos": "1 Gy"})
    assert exc.value.field == "target.dos" and "unknown key" in exc.value.message
    with pytest.raises(InputError) as exc:
        load_patient(GLASS, overrides={"target.dose.value": 1})
    assert exc.value.field == "target.dose.value" and "target.dose is not a table" in exc.value.message
    with pytest.raises(InputError) as exc:
        load_patient(GLASS, overrides={"dose": 1})
    assert exc.value.field == "dose" and "dotted field name" in exc.value.message


def test_the_file_itself_is_never_changed(tmp_path):
    shutil.copy(GLASS, tmp_path / "g.toml")
    before = (tmp_path / "g.toml").read_bytes()
    load_patient(tmp_path / "g.toml", overrides={"target.dose": "150 Gy"})
    assert (tmp_path / "g.toml").read_bytes() == before
