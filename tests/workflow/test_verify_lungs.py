"""Lungs without a CT (review finding): every voxel is then 1.03 g/mL, so the voxel lung mean
understates the lung dose about 3-fold (aerated lung is about 0.3 g/mL). A limit that even this
lower bound exceeds is exceeded; a pass on it is no pass: the lungs are 'not assessed', no cap rests
on them, and no cumulative lung record is written for a later plan to read.

Hand figures: the phantom's post-treatment PET delivers 2 GBq x (1 - 5 %) = 1.9 GBq; its truth.json
gives the lung share; lung dose = A_lung x 49.77 Gy kg/GBq / m_lung (local deposition, MIRD).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_verify import _tiny  # noqa: E402

from dosimetry.errors import InputError  # noqa: E402
from dosimetry.units import Q_  # noqa: E402
from dosimetry.voxel import Volume  # noqa: E402
from dosimetry.workflow.assess import NEEDS_DECISION, assess  # noqa: E402
from dosimetry.workflow.verify import delivery_inputs, verify  # noqa: E402
from dosimetry.workflow.voxel import voxel_dose  # noqa: E402

K = 64.1 * 3600 / 0.693147 * 0.9331e6 * 1.602177e-19 * 1e9  # 49.77 Gy kg / GBq, Y-90 local deposition (ICRP 107: 0.9331 MeV, 64.1 h)


def _with_ct(inputs, lung_hu=-700.0):
    """The same image with a CT: soft tissue 40 HU, lungs lung_hu."""
    hu = np.full(inputs.activity.shape, 40.0)
    hu[np.asarray(inputs.lungs["Lungs"].array) > 0.5] = lung_hu
    from dataclasses import replace

    return replace(inputs, ct=inputs.activity.with_array(hu, "dimensionless"))  # HU, as the CT readers give it


def test_a_lung_pass_without_a_ct_is_not_assessed_and_writes_no_record():
    # 0.01 GBq, 1 % to 192 lung voxels of 0.064 mL: at 1.03 g/mL 1e-4 x 49.67 / 0.01266 kg = 0.39 Gy
    v = verify(_tiny(0.01), delivery_inputs(None, administered="0.01 GBq", residual_fraction=0.0), device="glass", method="ldm")
    lung_mass = 192 * 0.064 * 1.03 / 1000
    lung = next(r for r in v.delivered.regions if r.name == "Lungs")
    assert lung.stats.mean.to("Gy").magnitude == pytest.approx(0.01 * 0.01 * K / lung_mass, rel=0.02)
    assert not any(c.name in ("lung_dose", "cumulative_lung_dose") for c in v.checks)
    assert v.cumulative_lung_dose is None and "no CT" in v.lungs_not_assessed
    assert v.headline().startswith("LUNGS NOT ASSESSED") and not v.complete
    # the planned-against-delivered table marks the lung figure as a lower bound (review finding)
    assert [r.name for r in v.regions if r.role == "lung"] == ["Lungs (lower bound: no CT)"]
    assert v.to_json()["lungs_not_assessed"] and v.to_json()["cumulative_lung_dose"] is None


def test_a_lung_limit_exceeded_even_at_1_03_g_per_ml_stays_a_finding_marked_lower_bound():
    v = verify(_tiny(0.5), delivery_inputs(None, administered="20 GBq", residual_fraction=0.0), device="glass", method="ldm")
    lung = [c for c in v.findings if c.name == "lung_dose"]
    assert lung and "lower bound" in lung[0].description and not v.complete
    # the headline of a verification with findings still says the lungs were not assessed (review finding)
    assert v.headline().startswith("ADVERSE FINDINGS") and "LUNGS NOT ASSESSED: there is no CT" in v.headline()


def test_the_verification_schema_takes_every_headline():
    import re

    schema = json.loads((Path(__import__("dosimetry").__file__).parent / "report" / "schemas" / "verification.schema.json").read_text())
    pattern = schema["properties"]["headline"]["pattern"]
    v = verify(_tiny(0.01), delivery_inputs(None, administered="0.01 GBq", residual_fraction=0.0), device="glass", method="ldm")
    assert v.headline().startswith("LUNGS NOT ASSESSED") and re.match(pattern, v.headline())


def test_with_a_ct_the_lung_check_and_record_are_made():
    inputs = _with_ct(_tiny(0.01))
    v = verify(inputs, delivery_inputs(None, administered="0.01 GBq", residual_fraction=0.0), device="glass", method="ldm")
    assert any(c.name == "lung_dose" for c in v.checks) and v.cumulative_lung_dose is not None
    assert v.lungs_not_assessed == "" and v.complete
    assert [r.name for r in v.regions if r.role == "lung"] == ["Lungs"]
    assert v.headline().startswith("NO ADVERSE FINDING")


def test_voxel_only_assessment_without_a_ct_needs_a_decision_on_the_lungs_and_no_lung_cap():
    vr = voxel_dose(_tiny(0.01), administered=Q_(0.01, "GBq"), method="ldm")
    case = assess(voxel=vr, device="glass")
    assert case.status == NEEDS_DECISION
    assert any("no CT" in d for d in case.decisions)
    assert not any(c.name in ("lung_dose", "cumulative_lung_dose") for c in case.safety)
    with_ct = assess(voxel=voxel_dose(_with_ct(_tiny(0.01)), administered=Q_(0.01, "GBq"), method="ldm"), device="glass")
    assert any(c.name == "lung_dose" for c in with_ct.safety)
    assert not any("no CT" in d for d in with_ct.decisions)


def test_y90_verify_without_a_ct_exits_1_and_its_record_is_refused_by_a_later_plan(post_study, tmp_path, capsys):
    """The review's example: the demo's post-treatment PET verified without --ct gave lungs 4.0 Gy
    (truth about 16 Gy) and a later plan read 4.0 Gy as the prior lung dose."""
    from dosimetry.cli import main
    from dosimetry.io.patient import load_patient

    planning, post = post_study
    out = tmp_path / "v"
    code = main(["verify", str(planning / "patient.toml"), "--activity-image", str(post / "pt"), "--segmentation", str(post / "rtstruct.dcm"),
                 "--method", "ldm", "-o", str(out), "-q"])
    capsys.readouterr()
    doc = json.loads((out / "verification.json").read_text())
    assert code == 1 and doc["headline"].startswith(("LUNGS NOT ASSESSED", "ADVERSE FINDINGS"))
    assert doc["cumulative_lung_dose"] is None and "no CT" in doc["lungs_not_assessed"]
    second = tmp_path / "second.toml"
    glass = Path(__import__("dosimetry").__file__).parent / "examples" / "glass.toml"
    second.write_text(glass.read_text().replace('id = "EX-001"', f'id = "{doc["patient_id"]}"').replace(
        'prior_dose = "0 Gy"            # lung dose of earlier treatments; 0-200 Gy\n', f'prior_record = "{(out / "verification.json").as_posix()}"\n'))
    with pytest.raises(InputError, match="holds no delivered lung dose") as exc:
        load_patient(second)
    assert exc.value.field == "lung.prior_record"
