"""A small DICOM conformance check: the attributes each IOD we write must (or must not) hold.

The rows are the Type 1 and Type 2 attributes of the modules the project writes (DICOM PS3.3,
2024 edition; module tables cited per row) plus the conditional rules that independent
validators (dciodvfy from dicom3tools, dcmtk) reported on earlier versions. It is the always-run
stand-in for ``dciodvfy``, which CI may lack. Type 1: present and not empty. Type 2: present
(may be empty).
"""

from __future__ import annotations

import pydicom

# (keyword, type) per module; PS3.3 section in the comment.
_PATIENT = [("PatientName", 2), ("PatientID", 2), ("PatientBirthDate", 2), ("PatientSex", 2)]  # C.7.1.1
_STUDY = [("StudyInstanceUID", 1), ("StudyDate", 2), ("StudyTime", 2), ("ReferringPhysicianName", 2), ("StudyID", 2), ("AccessionNumber", 2)]  # C.7.2.1
_SERIES = [("Modality", 1), ("SeriesInstanceUID", 1), ("SeriesNumber", 2)]  # C.7.3.1
_FRAME = [("FrameOfReferenceUID", 1), ("PositionReferenceIndicator", 2)]  # C.7.4.1
_EQUIPMENT = [("Manufacturer", 2)]  # C.7.5.1
_SOP = [("SOPClassUID", 1), ("SOPInstanceUID", 1)]  # C.12.1
_PIXEL = [("SamplesPerPixel", 1), ("PhotometricInterpretation", 1), ("Rows", 1), ("Columns", 1), ("BitsAllocated", 1),
          ("BitsStored", 1), ("HighBit", 1), ("PixelRepresentation", 1), ("PixelData", 1)]  # C.7.6.3
_PLANE = [("PixelSpacing", 1), ("ImageOrientationPatient", 1), ("ImagePositionPatient", 1)]  # C.7.6.2
_IMAGE_SERIES = [("Laterality", 2)]  # C.7.3.1, 2C: required by validators for these images

REQUIRED = {
    "CT": _PATIENT + _STUDY + _SERIES + _IMAGE_SERIES + _FRAME + _EQUIPMENT + _SOP + _PIXEL + _PLANE
    + [("PatientPosition", 2), ("ImageType", 1), ("RescaleIntercept", 1), ("RescaleSlope", 1), ("KVP", 2),
       ("AcquisitionNumber", 2), ("SliceThickness", 2), ("InstanceNumber", 2)],  # C.8.2.1
    "NM": _PATIENT + _STUDY + _SERIES + _IMAGE_SERIES + _FRAME + _EQUIPMENT + _SOP + _PIXEL
    + [("PatientOrientationCodeSequence", 2), ("PatientGantryRelationshipCodeSequence", 2),  # C.8.4.6
       ("ImageType", 1), ("NumberOfFrames", 1), ("FrameIncrementPointer", 1), ("SliceVector", 1), ("NumberOfSlices", 1),
       ("EnergyWindowInformationSequence", 2), ("RadiopharmaceuticalInformationSequence", 2),  # C.8.4.10
       ("DetectorInformationSequence", 2), ("RotationInformationSequence", 2), ("SpacingBetweenSlices", 2)],
    "PT": _PATIENT + _STUDY + _SERIES + _IMAGE_SERIES + _FRAME + _EQUIPMENT + _SOP + _PIXEL + _PLANE
    + [("PatientOrientationCodeSequence", 2), ("PatientGantryRelationshipCodeSequence", 2),  # C.8.4.6
       ("Units", 1), ("CountsSource", 1), ("SeriesType", 1), ("CorrectedImage", 2), ("DecayCorrection", 1),  # C.8.9.1
       ("RadiopharmaceuticalInformationSequence", 2), ("ImageIndex", 1), ("FrameReferenceTime", 1),
       ("ActualFrameDuration", 1), ("RescaleSlope", 1), ("RescaleIntercept", 1)],  # C.8.9.4
    "RTSTRUCT": _PATIENT + _STUDY + _SERIES + _FRAME + _EQUIPMENT + _SOP
    + [("OperatorsName", 2), ("StructureSetLabel", 1), ("StructureSetDate", 2), ("StructureSetTime", 2),  # C.8.8.1, C.8.8.5
       ("StructureSetROISequence", 1), ("ROIContourSequence", 1), ("RTROIObservationsSequence", 1)],
    "RTDOSE": _PATIENT + _STUDY + _SERIES + _FRAME + _EQUIPMENT + _SOP + _PIXEL + _PLANE
    + [("OperatorsName", 2), ("NumberOfFrames", 1), ("FrameIncrementPointer", 1), ("GridFrameOffsetVector", 1),  # C.8.8.1
       ("DoseUnits", 1), ("DoseType", 1), ("DoseSummationType", 1), ("DoseGridScaling", 1)],  # C.8.8.3
}

#: (modality, keyword, reason) of attributes that shall NOT be present.
FORBIDDEN = [
    ("NM", "PatientPosition", "not with PatientOrientationCodeSequence (PS3.3 C.7.3.1)"),
    ("PT", "PatientPosition", "not with PatientOrientationCodeSequence (PS3.3 C.7.3.1)"),
    ("NM", "ActualFrameDuration", "top level only for STATIC / WHOLE BODY NM images (PS3.3 C.8.4.9)"),
]

#: Study-level attributes whose value must equal the source images' (RT Dose written from them).
SAME_AS_STUDY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientWeight", "StudyInstanceUID",
                 "StudyDate", "StudyTime", "StudyID", "StudyDescription", "FrameOfReferenceUID")


def problems(path, *, study=None) -> list[str]:
    """Conformance problems of one file (empty list: conformant to the rows above)."""
    ds = pydicom.dcmread(str(path))
    modality = str(ds.get("Modality", ""))
    out = []
    if modality not in REQUIRED:
        return [f"Modality {modality!r} has no table"]
    for kw, typ in REQUIRED[modality]:
        if kw not in ds:
            out.append(f"missing Type {typ} {kw}")
        elif typ == 1 and (ds[kw].value is None or ds[kw].value == "" or (hasattr(ds[kw].value, "__len__") and len(ds[kw].value) == 0)):
            out.append(f"empty Type 1 {kw}")
    for mod, kw, why in FORBIDDEN:
        if mod == modality and kw in ds:
            out.append(f"{kw} present: {why}")
    if "file_meta" not in dir(ds) or ds.file_meta.get("MediaStorageSOPClassUID") != ds.get("SOPClassUID"):
        out.append("File Meta MediaStorageSOPClassUID differs from SOPClassUID")
    if study is not None:
        for kw in SAME_AS_STUDY:
            if kw in study and str(ds.get(kw, "")) != str(study.get(kw)):
                out.append(f"{kw} {ds.get(kw)!r} differs from the study's {study.get(kw)!r}")
    return out
