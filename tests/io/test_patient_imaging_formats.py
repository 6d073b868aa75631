"""[imaging] keys of issue 13: segmentation (rtstruct its alias), labels, activity_unit / time, dose_format."""

import datetime as dt
import tomllib
from pathlib import Path

import pytest

import dosimetry
from dosimetry.errors import InputError
from dosimetry.io.patient import parse_patient

EXAMPLES = Path(dosimetry.__file__).parent / "examples"


@pytest.fixture
def doc(tmp_path):
    (tmp_path / "spect.nrrd").write_bytes(b"")
    (tmp_path / "rois.seg.nrrd").write_bytes(b"")
    (tmp_path / "labels.txt").write_text("1 Liver\n")
    d = tomllib.loads((EXAMPLES / "glass.toml").read_text())
    d["imaging"] = {"activity": "spect.nrrd", "segmentation": "rois.seg.nrrd", "activity_unit": "Bq/mL",
                    "activity_time": "2026-01-15T12:00:00+01:00", "administration_time": "2026-01-15T10:00:00+01:00",
                    "rois": {"liver": ["Liver parenchyma", "Tumour"], "tumours": ["Tumour"]}, "dose_format": "nifti"}
    return d


def test_new_keys_are_read(doc, tmp_path):
    im = parse_patient(doc, tmp_path).imaging
    assert im.segmentation == tmp_path / "rois.seg.nrrd" and im.activity == tmp_path / "spect.nrrd"
    assert im.liver_roi == ("Liver parenchyma", "Tumour") and im.dose_format == "nifti"
    r = im.reading()
    assert r["activity_unit"] == "Bq/mL"
    assert r["activity_time"] - r["administration_time"] == dt.timedelta(hours=2)
    doc["imaging"]["activity_time"] = "administration"
    doc["imaging"]["labels"] = "labels.txt"
    im = parse_patient(doc, tmp_path).imaging
    assert im.activity_time == "administration" and im.labels == tmp_path / "labels.txt"


def test_rtstruct_is_the_old_name_and_not_both(doc, tmp_path):
    doc["imaging"]["rtstruct"] = doc["imaging"].pop("segmentation")
    assert parse_patient(doc, tmp_path).imaging.rtstruct == tmp_path / "rois.seg.nrrd"
    doc["imaging"]["segmentation"] = "rois.seg.nrrd"
    with pytest.raises(InputError, match="^imaging.segmentation: give the segmentation once"):
        parse_patient(doc, tmp_path)


@pytest.mark.parametrize("key, value, message", [
    ("dose_format", "dicom", "^imaging.dose_format: an RT Dose needs DICOM"),
    ("dose_format", "png", "^imaging.dose_format: 'png' is not allowed"),
    ("activity_time", "2026-01-15T12:00:00", "^imaging.activity_time: .* no UTC offset"),
    ("activity", "missing.nii", "^imaging.activity: 'missing.nii' is not an existing"),
])
def test_refusals(doc, tmp_path, key, value, message):
    doc["imaging"][key] = value
    with pytest.raises(InputError, match=message):
        parse_patient(doc, tmp_path)
