"""Conformance of every DICOM file type the project writes: CT, NM, PT, RTSTRUCT (phantoms) and RT Dose.

Two checks: ``conformance.problems`` (the required / forbidden attributes of PS3.3, always run) and
``dciodvfy`` from Debian's dicom3tools when it is installed (skipped otherwise).
"""

import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from conformance import problems
from dosimetry.io import load_series, write_rtdose

DCIODVFY = shutil.which("dciodvfy")

#: dciodvfy errors we knowingly leave, with the reason (reported to the lead in docs/dicom.md):
#: RECORD requires a Referenced Treatment Record Sequence (PS3.3 C.8.8.3) and every other
#: DoseSummationType a Referenced RT Plan or Plan Overview; a radioembolization has neither.
KNOWN = {"RTDOSE": ("ReferencedTreatmentRecordSequence",)}


@pytest.fixture(scope="module")
def written(nm_phantom, pt_phantom, tmp_path_factory):
    out = tmp_path_factory.mktemp("conformance")
    nm = load_series(nm_phantom / "nm")
    dose = nm.volume.with_array(np.linspace(0, 80, nm.volume.array.size).reshape(nm.volume.shape), unit="Gy")
    write_rtdose(dose, nm, out / "rtdose.dcm")
    return {
        "CT": nm_phantom / "ct" / "CT_0001.dcm",
        "NM": nm_phantom / "nm" / "NM_0001.dcm",
        "PT": pt_phantom / "pt" / "PT_0001.dcm",
        "RTSTRUCT": nm_phantom / "rtstruct.dcm",
        "RTDOSE": out / "rtdose.dcm",
    }


@pytest.mark.parametrize("kind", ["CT", "NM", "PT", "RTSTRUCT", "RTDOSE"])
def test_required_attributes(written, kind):
    study = pydicom.dcmread(str(written["CT"]), stop_before_pixels=True) if kind == "RTDOSE" else None
    assert problems(written[kind], study=study) == []


def test_the_check_finds_the_defects_of_the_old_writers(written, tmp_path):
    """The check can fail: the attributes the validators flagged, put back, are reported."""
    ds = pydicom.dcmread(str(written["NM"]))
    ds.PatientPosition = "HFS"
    ds.ActualFrameDuration = 1200000
    del ds.Laterality
    ds.save_as(tmp_path / "nm.dcm")
    found = problems(tmp_path / "nm.dcm")
    assert any("PatientPosition" in p for p in found) and any("ActualFrameDuration" in p for p in found) and any("Laterality" in p for p in found)
    ds = pydicom.dcmread(str(written["RTDOSE"]))
    del ds.OperatorsName
    ds.StudyDescription = "another"
    ds.save_as(tmp_path / "d.dcm")
    found = problems(tmp_path / "d.dcm", study=pydicom.dcmread(str(written["CT"])))
    assert any("OperatorsName" in p for p in found) and any("StudyDescription" in p for p in found)


def _dciodvfy(path) -> list[str]:
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (Debian package dicom3tools) is not installed")
@pytest.mark.parametrize("kind", ["CT", "NM", "PT", "RTSTRUCT", "RTDOSE"])
def test_dciodvfy_reports_no_error(written, kind, tmp_path):
    path = written[kind]
    if kind == "RTDOSE":
        # dciodvfy (dicom3tools 1.00.snapshot) aborts on 32-bit OW pixel data (assertion in
        # attrothr.cc); the module checks do not depend on the pixel width, so validate a copy
        # re-encoded in 16 bits (RT Dose allows 16 or 32, PS3.3 C.8.8.3.4.1).
        ds = pydicom.dcmread(str(path))
        ds.PixelData = (ds.pixel_array >> 16).astype("<u2").tobytes()
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        path = tmp_path / "rtdose16.dcm"
        ds.save_as(path)
    errors = [e for e in _dciodvfy(path) if not any(k in e for k in KNOWN.get(kind, ()))]
    assert errors == []
