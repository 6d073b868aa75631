"""The earlier treatment's lung dose read from its ``y90 verify`` record (``[lung] prior_record``).

Hand plan (dosimetry/examples/glass.toml): glass MIRD, target 1456 mL x 1.03 g/mL = 1.49968 kg,
120 Gy, lung shunt 5 %, no residual: A = 120 x 1.49968 / (50 x 0.95) = 3.78867 GBq, and this
treatment's lung dose 50 x 3.78867 x 0.05 / 1 kg = 9.47166 Gy (Gy kg / GBq 50: TheraSphere IFU).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import load_patient

GLASS = Path(dosimetry.__file__).parent / "examples" / "glass.toml"
LUNG_DOSE_HAND = 50 * (120 * 1.456 * 1.03 / (50 * 0.95)) * 0.05 / 1.0


def _record(folder: Path, cumulative, patient_id="EX-001", schema="y90-verification", administration=None, version=2) -> Path:
    doc = {"schema": schema, "schema_version": version, "patient_id": patient_id, "administration": administration,
           "prior_lung_dose": {"value": 0.0, "unit": "Gy"}, "cumulative_lung_dose": cumulative}
    p = folder / "verification-1" / "verification.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(doc))
    return p


def _patient(folder: Path, lung_lines: str) -> Path:
    text = GLASS.read_text().replace('prior_dose = "0 Gy"            # lung dose of earlier treatments; 0-200 Gy\n', lung_lines)
    assert lung_lines in text
    p = folder / "second" / "patient.toml"
    p.parent.mkdir()
    p.write_text(text)
    return p


def _plan_json(path: Path, capsys) -> dict:
    from dosimetry.cli import main

    code = main(["plan", str(path), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    return dict(doc, exit_code=code)


def test_the_record_cumulative_lung_dose_is_the_prior_dose_of_the_next_plan(tmp_path, capsys):
    _record(tmp_path, {"value": 12.5, "unit": "Gy"})
    p = _patient(tmp_path, 'prior_record = "../verification-1/verification.json"\n')
    pf = load_patient(p)
    assert pf.lung.prior_dose.to("Gy").magnitude == pytest.approx(12.5)
    assert any("verification-1/verification.json" in w for w in pf.warnings)
    doc = _plan_json(p, capsys)
    assert doc["prior_lung_dose"]["value"] == pytest.approx(12.5)
    assert doc["cumulative_lung_dose"]["value"] == pytest.approx(12.5 + LUNG_DOSE_HAND, rel=1e-6)
    assert doc["status"] == "WITHIN LIMITS"


def test_a_record_near_the_cumulative_limit_blocks_the_plan(tmp_path, capsys):
    """45 Gy before + 9.47 Gy now = 54.5 Gy > 50 Gy (cumulative lung limit, Ho 1997)."""
    _record(tmp_path, {"value": 45.0, "unit": "Gy"})
    doc = _plan_json(_patient(tmp_path, 'prior_record = "../verification-1/verification.json"\n'), capsys)
    assert 45.0 + LUNG_DOSE_HAND > 50
    assert doc["status"] != "WITHIN LIMITS" and doc["exit_code"] != 0
    # the largest safe activity leaves 5 Gy to the lungs: 5 Gy x 1 kg / (50 Gy kg/GBq x 0.05) = 2 GBq
    assert doc["max_safe_activity"]["value"] == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("record, words", [
    ({"value": 12.5, "unit": "Gy", "pid": "OTHER-7"}, "record of patient 'OTHER-7'"),
    (None, "holds no delivered lung dose"),
    ({"value": 12.5, "unit": "GBq"}, "expected Gy"),
    ({"value": -3.0, "unit": "Gy"}, "outside [0, 1000) Gy"),
])
def test_a_record_that_cannot_give_the_lung_dose_is_refused(tmp_path, record, words):
    pid = (record or {}).pop("pid", "EX-001")
    _record(tmp_path, record, patient_id=pid)
    p = _patient(tmp_path, 'prior_record = "../verification-1/verification.json"\n')
    with pytest.raises(InputError) as exc:
        load_patient(p)
    assert exc.value.field == "lung.prior_record" and words in str(exc.value)


def test_not_a_verification_record_missing_or_both_sources_are_refused(tmp_path):
    _record(tmp_path, {"value": 1.0, "unit": "Gy"}, schema="y90-report")
    p = _patient(tmp_path, 'prior_record = "../verification-1/verification.json"\n')
    with pytest.raises(InputError, match="not a y90 verify record") as exc:
        load_patient(p)
    assert exc.value.field == "lung.prior_record"
    (tmp_path / "verification-1" / "verification.json").write_text("{not json")
    with pytest.raises(InputError, match="is not JSON"):
        load_patient(p)
    (tmp_path / "verification-1" / "verification.json").unlink()
    with pytest.raises(InputError, match="cannot read") as exc:
        load_patient(p)
    assert exc.value.field == "lung.prior_record"
    q = tmp_path / "both"
    q.mkdir()
    _record(q, {"value": 1.0, "unit": "Gy"})
    both = _patient(q, 'prior_dose = "3 Gy"\nprior_record = "../verification-1/verification.json"\n')
    with pytest.raises(InputError, match="not both"):
        load_patient(both)


def test_the_record_y90_verify_wrote_is_read_back(post_study, tmp_path):
    """The record of the demo patient's own verification (y90 verify on its post-treatment PET)."""
    from dosimetry.cli import main

    planning, post = post_study
    out = tmp_path / "verification"
    code = main(["verify", str(planning / "patient.toml"), "--activity-image", str(post / "pt"), "--segmentation", str(post / "rtstruct.dcm"),
                 "--ct", str(post / "ct"), "--method", "ldm", "-o", str(out), "-q"])
    assert code in (0, 1)
    written = json.loads((out / "verification.json").read_text())
    pid = written["patient_id"]
    text = GLASS.read_text().replace('id = "EX-001"', f'id = "{pid}"').replace(
        'prior_dose = "0 Gy"            # lung dose of earlier treatments; 0-200 Gy\n', f'prior_record = "{(out / "verification.json").as_posix()}"\n')
    p = tmp_path / "second.toml"
    p.write_text(text)
    pf = load_patient(p)
    assert written["cumulative_lung_dose"]["unit"] == "Gy"
    import datetime as dt
    assert dt.datetime.fromisoformat(written["administration"]).tzinfo is not None  # the treatment's time is recorded
    assert pf.lung.prior_dose.to("Gy").magnitude == pytest.approx(written["cumulative_lung_dose"]["value"])
    assert pf.lung.prior_dose.to("Gy").magnitude > 0


def test_a_changed_record_changes_the_cohort_case_key(tmp_path):
    """The patient file's bytes are the same; the record it points at is not: the cohort must not
    reuse the result computed with the old prior lung dose."""
    from dosimetry.workflow.cohort import case_key

    rec = _record(tmp_path, {"value": 12.5, "unit": "Gy"})
    p = _patient(tmp_path, 'prior_record = "../verification-1/verification.json"\n')
    first = load_patient(p)
    rec.write_text(rec.read_text().replace("12.5", "20.0"))
    second = load_patient(p)
    assert first.sha256 == second.sha256
    assert case_key(first, (), (), imaging={}) != case_key(second, (), (), imaging={})


@pytest.mark.parametrize("recorded, refused", [
    ("2026-10-20T09:30:00-04:00", None),   # a month before the plan's 2026-11-25T10:00:00-05:00
    ("2026-11-25T10:00:00-05:00", "not before this plan's administration"),    # the same treatment
    ("2026-12-02T10:00:00-05:00", "not before this plan's administration"),    # a later one
    ("2026-10-20T09:30:00", "has no UTC offset"),          # cannot be ordered
])
def test_a_record_must_come_before_the_plan(tmp_path, recorded, refused):
    _record(tmp_path, {"value": 12.5, "unit": "Gy"}, administration=recorded)
    p = _patient(tmp_path, 'prior_record = "../verification-1/verification.json"\n')
    if not refused:
        assert load_patient(p).lung.prior_dose.to("Gy").magnitude == pytest.approx(12.5)
        return
    with pytest.raises(InputError, match=refused) as exc:
        load_patient(p)
    assert exc.value.field == "lung.prior_record"


@pytest.mark.parametrize("version", [1, None, "2", True])
def test_a_record_before_schema_version_2_is_refused(tmp_path, version):
    """Review finding: version-1 records of y90 verify without a CT hold a lung dose at 1.03 g/mL
    (about 3-fold understated), and they were read as the prior dose."""
    _record(tmp_path, {"value": 4.7, "unit": "Gy"}, version=version)
    p = _patient(tmp_path, 'prior_record = "../verification-1/verification.json"\n')
    with pytest.raises(InputError, match="schema_version") as exc:
        load_patient(p)
    assert exc.value.field == "lung.prior_record"
