"""Write a phantom patient as DICOM: CT series, NM multi-frame SPECT or PT series, RT Structure Set.

Each file is a DICOM Part 10 file (128-byte preamble, "DICM", File Meta Information group 2) in
Explicit VR Little Endian, holding the mandatory modules of its IOD (DICOM PS3.3):

* CT Image (A.3): Patient, General Study, General Series, Frame of Reference, General Equipment,
  General Image, Image Plane, Image Pixel, CT Image, SOP Common. Stored value = HU + 1024,
  RescaleIntercept -1024, RescaleSlope 1.
* NM Image (A.5), Image Type ``ORIGINAL\\PRIMARY\\RECON TOMO\\EMISSION``: one multi-frame file,
  Frame Increment Pointer -> Slice Vector (0054,0080) (C.8.4.8.1), NM Detector module with
  ImagePositionPatient / ImageOrientationPatient of the first frame (C.8.4.10), NM
  Reconstruction module SpacingBetweenSlices / SliceThickness (C.8.4.12), NM Isotope module
  (EnergyWindowInformationSequence, RadiopharmaceuticalInformationSequence), NM TOMO Acquisition
  (RotationInformationSequence). Counts = stored value x RescaleSlope (not part of the NM IOD
  but written by most vendors) and, equivalently, a RealWorldValueMappingSequence item in UCUM
  ``{counts}``.
* PET Image (A.21): PET Series (Units BQML, DecayCorrection START, CorrectedImage), PET Isotope
  (RadiopharmaceuticalInformationSequence with RadiopharmaceuticalStartDateTime,
  RadionuclideTotalDose [Bq], RadionuclideHalfLife [s], RadionuclideCodeSequence), PET Image
  (RescaleSlope per slice, RescaleIntercept 0, FrameReferenceTime, ActualFrameDuration,
  DecayFactor, ImageIndex).
* RT Structure Set (A.19): Structure Set (ReferencedFrameOfReferenceSequence with the CT contour
  images, StructureSetROISequence), ROI Contour (ROIContourSequence with CLOSED_PLANAR contours,
  each with a ContourImageSequence referencing the CT slice it lies on), RT ROI Observations.

Y-90 is coded SCT 14691008 "^90^Yttrium" (DICOM PS3.16 CID 4020, PET Radionuclide); Tc-99m
(the MAA SPECT of a predictive phantom) SRT C-163A8 "^99m^Technetium" (CID 18), with a 20 %
photopeak energy window at 140.5 keV (see :data:`phantoms.spec.TC99M`).
"""

from __future__ import annotations

import datetime as _dt
import functools
import struct
from copy import deepcopy
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset, validate_file_meta
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import correct_ambiguous_vr, write_data_element
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from .anatomy import polygon_vertices

__all__ = [
    "CT_IMAGE_STORAGE",
    "NM_IMAGE_STORAGE",
    "PET_IMAGE_STORAGE",
    "RT_STRUCTURE_SET_STORAGE",
    "make_uids",
    "write_ct",
    "write_nm",
    "write_pt",
    "write_rtstruct",
    "contour_points",
]

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
#: Detached Study Management SOP Class, referenced from RT Referenced Study Sequence (PS3.3 C.8.8.5).
DETACHED_STUDY_MANAGEMENT = "1.2.840.10008.3.1.2.3.1"
_MANUFACTURER = "y90-dosimetry phantoms"


# --- value formatting -------------------------------------------------------------------------
def _ds(x: float) -> str:
    """Decimal String of at most 16 characters (PS3.5 6.2)."""
    x = float(x)
    if x == 0.0:
        return "0"
    for digits in (12, 11, 10, 9, 8):
        s = format(x, f".{digits}g")
        if len(s) <= 16:
            return s
    raise ValueError(f"cannot format {x!r} as a DICOM DS")


def _da(t: _dt.datetime) -> str:
    return t.strftime("%Y%m%d")


def _tm(t: _dt.datetime) -> str:
    return t.strftime("%H%M%S") + (f".{t.microsecond:06d}" if t.microsecond else "")


def _dtm(t: _dt.datetime) -> str:
    return _da(t) + _tm(t)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue = value
    c.CodingSchemeDesignator = scheme
    c.CodeMeaning = meaning
    return c


# --- UIDs --------------------------------------------------------------------------------------
def make_uids(anatomy_key: str, emission_key: str, n_ct: int, n_em: int) -> dict:
    """Deterministic UIDs from the parameter digests (pydicom generate_uid with entropy sources).

    Patient-level UIDs (study, frame of reference, CT, RTSTRUCT) depend only on the anatomy, so an
    NM and a PT phantom of the same patient share them; emission UIDs depend on the emission
    parameters too.
    """
    a = lambda role: generate_uid(entropy_srcs=[anatomy_key, role])  # noqa: E731
    e = lambda role: generate_uid(entropy_srcs=[emission_key, role])  # noqa: E731
    return {
        "study": a("study"),
        "frame_of_reference": a("frame-of-reference"),
        "ct_series": a("ct-series"),
        "ct_instances": [a(f"ct-{k}") for k in range(n_ct)],
        "rtstruct_series": a("rtstruct-series"),
        "rtstruct_instance": a("rtstruct"),
        "emission_series": e("emission-series"),
        "emission_instances": [e(f"emission-{k}") for k in range(n_em)],
    }


# --- common modules ----------------------------------------------------------------------------
def _base(hdr: dict, sop_class: str, sop_uid: str, modality: str, series_uid: str, series_number: int,
          description: str, when: _dt.datetime) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    # SOP Common
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.InstanceCreationDate = _da(when)
    ds.InstanceCreationTime = _tm(when)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    # General Study
    ds.StudyDate = _da(hdr["study_datetime"])
    ds.StudyTime = _tm(hdr["study_datetime"])
    ds.AccessionNumber = ""
    ds.Modality = modality
    ds.Manufacturer = _MANUFACTURER
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = hdr.get("study_description", "Y-90 radioembolization phantom")
    ds.SeriesDescription = description
    ds.ManufacturerModelName = "phantoms.make_patient"
    # Patient
    ds.PatientName = hdr["patient_name"]
    ds.PatientID = hdr["patient_id"]
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientWeight = "70"
    ds.StudyInstanceUID = hdr["uids"]["study"]
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.SeriesDate = _da(when)
    ds.SeriesTime = _tm(when)
    # General Series Laterality (0020,0060), Type 2C: empty, the liver and the chest are not paired
    # structures (PS3.3 C.7.3.1); validators (dciodvfy) want it present.
    if modality in ("CT", "NM", "PT"):
        ds.Laterality = ""
    # PatientPosition (0018,5100) belongs to the General Series of CT only: NM and PET state the
    # position in PatientOrientationCodeSequence instead and shall not have both (PS3.3 C.7.3.1,
    # C.8.4.6); an RT Structure Set has neither.
    if modality == "CT":
        ds.PatientPosition = "HFS"
    return ds


def _patient_orientation(ds: Dataset) -> None:
    """NM/PET Patient Orientation module (PS3.3 C.8.4.6) for head first supine (HFS).

    Codes: recumbent SCT 102538003 (CID 19), modifier supine SCT 40199007 (CID 20), gantry
    relationship headfirst SCT 102540008 (CID 21), DICOM PS3.16.
    """
    orient = _code("102538003", "SCT", "recumbent")
    orient.PatientOrientationModifierCodeSequence = Sequence([_code("40199007", "SCT", "supine")])
    ds.PatientOrientationCodeSequence = Sequence([orient])
    ds.PatientGantryRelationshipCodeSequence = Sequence([_code("102540008", "SCT", "headfirst")])


def _image_plane(ds: Dataset, spacing_row_col, position, z_thickness: float) -> None:
    ds.PixelSpacing = [_ds(spacing_row_col[0]), _ds(spacing_row_col[1])]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.SliceThickness = _ds(z_thickness)


def _pixels_u16(ds: Dataset, rows: int, cols: int) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0


def _save(ds: Dataset, path: Path) -> None:
    pydicom.dcmwrite(str(path), ds, enforce_file_format=True)


_GROUP_LENGTH, _MEDIA_SOP_INSTANCE = 0x00020000, 0x00020003  # File Meta Information Group Length, Media Storage SOP Instance UID


class _Series:
    """The files of one series, which differ from its first file in a few elements only (the SOP
    instance UID, the slice position, the pixels, ...): the first file's elements are encoded once
    and each file is written as those bytes with its own elements put in their place.

    The bytes are pydicom's own (``write_data_element`` of each element in Explicit VR Little
    Endian, after the ambiguous-VR correction ``dcmwrite`` applies; the File Meta Information as
    ``dcmwrite(..., enforce_file_format=True)`` writes it), in increasing tag order (PS3.5 7.1):
    each file is byte for byte what ``dcmwrite`` writes of the same dataset (tests/phantoms/test_write_series.py),
    without building and validating ~40 elements per slice again (issue 22).
    """

    def __init__(self, first: Dataset):
        self._first = first
        self._encoding = first.get("SpecificCharacterSet", pydicom.charset.default_encoding)
        correct_ambiguous_vr(first, True)  # in place (the dataset is the series' own): the VRs dcmwrite writes
        self._common = {int(tag): self.encoded(first[tag]) for tag in first.keys() if not (tag.element == 0 and tag.group > 6)}
        # File Meta Information as write_file_meta_info(enforce_standard=True) writes it: validated
        # (the version and implementation elements added), then its group length first
        meta = deepcopy(first.file_meta)
        validate_file_meta(meta, enforce_standard=True)
        self._meta = {int(e.tag): self.encoded(e) for e in meta if int(e.tag) not in (_GROUP_LENGTH, _MEDIA_SOP_INSTANCE)}

    def encoded(self, elem) -> bytes:
        """``elem`` encoded by pydicom's ``write_data_element`` (Explicit VR Little Endian, this series' character set)."""
        fp = DicomBytesIO()
        fp.is_implicit_VR, fp.is_little_endian = False, True
        write_data_element(fp, elem, self._encoding)
        return fp.getvalue()

    def write(self, path: Path, uid: str, own: list, extra: dict | None = None) -> None:
        """Write the file of SOP instance ``uid`` whose elements are the first file's, with ``own``'s
        (DataElements of the VR ``dcmwrite`` writes) and ``extra``'s (tag -> the element already encoded)."""
        meta = dict(self._meta)
        meta[_MEDIA_SOP_INSTANCE] = self.encoded(DataElement(_MEDIA_SOP_INSTANCE, "UI", uid))
        meta_body = b"".join(meta[tag] for tag in sorted(meta))
        encoded = dict(self._common)
        for elem in own:
            encoded[elem.tag] = self.encoded(elem)
        encoded.update(extra or {})
        with open(path, "wb") as f:
            f.write(self._first.preamble + b"DICM")
            f.write(self.encoded(DataElement(_GROUP_LENGTH, "UL", len(meta_body))))
            f.write(meta_body)
            f.write(b"".join(encoded[tag] for tag in sorted(encoded)))


def _radiopharmaceutical(hdr: dict) -> Dataset:
    """RadiopharmaceuticalInformationSequence item of the imaged radionuclide (``hdr["nuclide"]``)."""
    nuc = hdr["nuclide"]
    item = Dataset()
    item.Radiopharmaceutical = nuc.radiopharmaceutical
    item.RadiopharmaceuticalStartTime = _tm(hdr["administration_datetime"])
    item.RadiopharmaceuticalStartDateTime = _dtm(hdr["administration_datetime"])
    item.RadionuclideTotalDose = _ds(hdr["administered_bq"])
    item.RadionuclideHalfLife = _ds(hdr["half_life_s"])
    if nuc.positron_fraction is not None:
        item.RadionuclidePositronFraction = _ds(nuc.positron_fraction)
    item.RadionuclideCodeSequence = Sequence([_code(*nuc.code)])
    return item


def _axes(grid):
    (nk, nj, ni), (dz, dy, dx), (x0, y0, z0) = grid.shape, grid.spacing_mm, grid.origin_mm
    return nk, nj, ni, dz, dy, dx, x0, y0, z0


# --- CT ----------------------------------------------------------------------------------------
def write_ct(folder: Path, hu: np.ndarray, grid, hdr: dict) -> list:
    """One CT Image file per axial slice, ``CT_0001.dcm`` ... in increasing z.

    Parameters
    ----------
    folder : pathlib.Path
        Existing empty folder.
    hu : numpy.ndarray
        CT numbers [HU], shape (slices, rows, columns), >= -1024.
    grid : GridInfo
        CT geometry.
    hdr : dict
        Patient, study and UID information (built by :func:`phantoms.make_patient`).

    Returns
    -------
    list of str
        File names written.
    """
    nk, nj, ni, dz, dy, dx, x0, y0, z0 = _axes(grid)
    when = hdr["study_datetime"]
    stored = (np.asarray(hu, dtype=np.int32) + 1024).clip(0, 65535).astype("<u2")
    series = _Series(_ct_dataset(hdr, grid, when, 0, stored[0]))  # the elements every slice shares, encoded once
    names = []
    for k in range(nk):
        name = f"CT_{k + 1:04d}.dcm"
        series.write(folder / name, hdr["uids"]["ct_instances"][k], _ct_own(hdr, grid, k, stored[k]))
        names.append(name)
    return names


def _slice_own(uid: str, grid, k: int, pixels: np.ndarray) -> list:
    """The elements every image slice ``k`` has of its own, as :func:`_ct_dataset` and :func:`_pt_dataset`
    set them: SOPInstanceUID, InstanceNumber, ImagePositionPatient, SliceLocation and PixelData (OW:
    16 bits allocated), built as DataElements of their VR (without a Dataset's per-attribute lookups)."""
    nk, nj, ni, dz, dy, dx, x0, y0, z0 = _axes(grid)
    z = z0 + k * dz
    return [
        DataElement(0x00080018, "UI", uid),  # SOPInstanceUID
        DataElement(0x00200013, "IS", k + 1),  # InstanceNumber
        DataElement(0x00200032, "DS", [_ds(v) for v in (x0, y0, z)]),  # ImagePositionPatient
        DataElement(0x00201041, "DS", _ds(z)),  # SliceLocation
        DataElement(0x7FE00010, "OW", pixels.tobytes()),  # PixelData
    ]


def _ct_own(hdr: dict, grid, k: int, stored_k: np.ndarray) -> list:
    """The elements of CT slice ``k`` that differ from slice to slice (as :func:`_ct_dataset` sets them)."""
    return _slice_own(hdr["uids"]["ct_instances"][k], grid, k, stored_k)


def _ct_dataset(hdr: dict, grid, when: _dt.datetime, k: int, stored_k: np.ndarray) -> Dataset:
    """The whole CT Image dataset of slice ``k`` (``stored_k``: its stored values, HU + 1024)."""
    nk, nj, ni, dz, dy, dx, x0, y0, z0 = _axes(grid)
    uid = hdr["uids"]["ct_instances"][k]
    ds = _base(hdr, CT_IMAGE_STORAGE, uid, "CT", hdr["uids"]["ct_series"], 1, "Phantom CT", when)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionDate = _da(when)
    ds.AcquisitionTime = _tm(when)
    ds.ContentDate = _da(when)
    ds.ContentTime = _tm(when)
    ds.KVP = "120"
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = k + 1
    ds.FrameOfReferenceUID = hdr["uids"]["frame_of_reference"]
    ds.PositionReferenceIndicator = ""
    z = z0 + k * dz
    _image_plane(ds, (dy, dx), (x0, y0, z), dz)
    ds.SpacingBetweenSlices = _ds(dz)
    ds.SliceLocation = _ds(z)
    _pixels_u16(ds, nj, ni)
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.PixelData = stored_k.tobytes()
    return ds


def _u16_scale(values: np.ndarray, integer_ok: bool):
    """Stored uint16 values and slope so that values ~= stored * slope."""
    vmax = float(values.max()) if values.size else 0.0
    if vmax <= 0.0:
        return np.zeros(values.shape, "<u2"), 1.0
    if integer_ok and vmax <= 65535 and np.all(values == np.round(values)):
        return values.astype("<u2"), 1.0
    slope = vmax / 65535.0
    return np.round(values / slope).clip(0, 65535).astype("<u2"), slope


# --- NM ----------------------------------------------------------------------------------------
def write_nm(path: Path, counts: np.ndarray, grid, hdr: dict) -> None:
    """One multi-frame NM Image (RECON TOMO) file holding the SPECT counts.

    Parameters
    ----------
    path : pathlib.Path
        File to create.
    counts : numpy.ndarray
        Counts per voxel [cts], shape (slices, rows, columns), >= 0; frame k is slice k.
    grid : GridInfo
        Emission geometry; frames go towards +z.
    hdr : dict
        Patient, study, timing and UID information.
    """
    nk, nj, ni, dz, dy, dx, x0, y0, z0 = _axes(grid)
    when = hdr["acquisition_datetime"]
    uid = hdr["uids"]["emission_instances"][0]
    nuc = hdr["nuclide"]
    title = "Phantom Tc-99m MAA SPECT" if nuc.name == "Tc-99m" else "Phantom Y-90 SPECT"
    ds = _base(hdr, NM_IMAGE_STORAGE, uid, "NM", hdr["uids"]["emission_series"], 2, title, when)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    ds.AcquisitionDate = _da(when)
    ds.AcquisitionTime = _tm(when)
    ds.ContentDate = _da(when)
    ds.ContentTime = _tm(when)
    ds.InstanceNumber = 1
    ds.FrameOfReferenceUID = hdr["uids"]["frame_of_reference"]
    ds.PositionReferenceIndicator = ""
    _patient_orientation(ds)
    # Image Pixel / NM Image Pixel
    _pixels_u16(ds, nj, ni)
    ds.PixelSpacing = [_ds(dy), _ds(dx)]
    # Multi-frame / NM Multi-frame: frames indexed by Slice Vector for RECON TOMO
    ds.NumberOfFrames = nk
    ds.FrameIncrementPointer = pydicom.tag.Tag(0x0054, 0x0080)
    ds.SliceVector = list(range(1, nk + 1))
    ds.NumberOfSlices = nk
    ds.NumberOfEnergyWindows = 1
    ds.NumberOfDetectors = 1
    ds.NumberOfRotations = 1
    # NM Isotope
    win = Dataset()
    rng = Dataset()
    rng.EnergyWindowLowerLimit = _ds(nuc.window_kev[0])  # keV (phantoms.spec: Tc-99m 20 % photopeak, Y-90 bremsstrahlung)
    rng.EnergyWindowUpperLimit = _ds(nuc.window_kev[1])
    win.EnergyWindowRangeSequence = Sequence([rng])
    win.EnergyWindowName = nuc.window_name
    ds.EnergyWindowInformationSequence = Sequence([win])
    ds.RadiopharmaceuticalInformationSequence = Sequence([_radiopharmaceutical(hdr)])
    # NM Detector: geometry of the reconstructed volume (required for RECON TOMO)
    det = Dataset()
    det.CollimatorGridName = nuc.collimator
    det.CollimatorType = "PARA"
    det.FocalDistance = ""
    det.ImagePositionPatient = [_ds(x0), _ds(y0), _ds(z0)]
    det.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.DetectorInformationSequence = Sequence([det])
    # NM TOMO Acquisition
    rot = Dataset()
    rot.StartAngle = "0"
    rot.AngularStep = "3"
    rot.RotationDirection = "CW"
    rot.ScanArc = "360"
    rot.ActualFrameDuration = int(round(hdr["duration_s"] * 1000.0 / 120))
    rot.NumberOfFramesInRotation = 120
    rot.TableTraverse = "0"
    ds.RotationInformationSequence = Sequence([rot])
    ds.TypeOfDetectorMotion = "STEP AND SHOOT"
    # NM Reconstruction
    ds.SpacingBetweenSlices = _ds(dz)
    ds.SliceThickness = _ds(dz)
    ds.ReconstructionDiameter = _ds(ni * dx)
    ds.ConvolutionKernel = "Gaussian"
    # NM Image: no top-level ActualFrameDuration, it is Type 1C for STATIC / WHOLE BODY images only
    # (PS3.3 C.8.4.9); a RECON TOMO image holds it per rotation (RotationInformationSequence).
    ds.CountsAccumulated = int(round(float(np.sum(counts))))
    stored, slope = _u16_scale(np.asarray(counts, dtype=float), integer_ok=True)
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = _ds(slope)
    rw = Dataset()
    rw.add_new(0x00409216, "US", 0)  # Real World Value First Value Mapped
    rw.add_new(0x00409211, "US", 65535)  # Real World Value Last Value Mapped
    rw.RealWorldValueIntercept = 0.0
    rw.RealWorldValueSlope = float(_ds(slope))
    rw.LUTExplanation = "Counts"
    rw.LUTLabel = "COUNTS"
    rw.MeasurementUnitsCodeSequence = Sequence([_code("{counts}", "UCUM", "Counts")])
    ds.RealWorldValueMappingSequence = Sequence([rw])
    ds.PixelData = stored.tobytes()
    _save(ds, path)


# --- PT ----------------------------------------------------------------------------------------
def write_pt(folder: Path, bqml: np.ndarray, grid, hdr: dict) -> list:
    """One PET Image file per slice, ``PT_0001.dcm`` ... in increasing z, Units BQML.

    Pixel values x RescaleSlope = activity concentration [Bq/mL] at the acquisition start
    (SeriesDate/SeriesTime = AcquisitionDate/AcquisitionTime), DecayCorrection START.

    Parameters
    ----------
    folder : pathlib.Path
        Existing empty folder.
    bqml : numpy.ndarray
        Activity concentration [Bq/mL], shape (slices, rows, columns), >= 0.
    grid : GridInfo
        Emission geometry.
    hdr : dict
        Patient, study, timing and UID information.

    Returns
    -------
    list of str
        File names written.
    """
    nk = grid.shape[0]
    when = hdr["acquisition_datetime"]
    series = None
    names = []
    for k in range(nk):
        stored, slope = _u16_scale(np.asarray(bqml[k], dtype=float), integer_ok=False)
        if series is None:  # the elements every slice shares, encoded once
            series = _Series(_pt_dataset(hdr, grid, when, k, stored, slope))
        name = f"PT_{k + 1:04d}.dcm"
        series.write(folder / name, hdr["uids"]["emission_instances"][k], _pt_own(hdr, grid, k, stored, slope))
        names.append(name)
    return names


def _pt_own(hdr: dict, grid, k: int, stored: np.ndarray, slope: float) -> list:
    """The elements of PET slice ``k`` that differ from slice to slice (as :func:`_pt_dataset` sets them)."""
    return _slice_own(hdr["uids"]["emission_instances"][k], grid, k, stored) + [
        DataElement(0x00281053, "DS", _ds(slope)),  # RescaleSlope
        DataElement(0x00541330, "US", k + 1),  # ImageIndex
    ]


def _pt_dataset(hdr: dict, grid, when: _dt.datetime, k: int, stored: np.ndarray, slope: float) -> Dataset:
    """The whole PET Image dataset of slice ``k`` (``stored`` x ``slope``: its Bq/mL, :func:`_u16_scale`)."""
    nk, nj, ni, dz, dy, dx, x0, y0, z0 = _axes(grid)
    uid = hdr["uids"]["emission_instances"][k]
    ds = _base(hdr, PET_IMAGE_STORAGE, uid, "PT", hdr["uids"]["emission_series"], 2, "Phantom Y-90 PET", when)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.AcquisitionDate = _da(when)
    ds.AcquisitionTime = _tm(when)
    ds.ContentDate = _da(when)
    ds.ContentTime = _tm(when)
    ds.InstanceNumber = k + 1
    ds.FrameOfReferenceUID = hdr["uids"]["frame_of_reference"]
    ds.PositionReferenceIndicator = ""
    _patient_orientation(ds)
    # PET Series
    ds.Units = "BQML"
    ds.CountsSource = "EMISSION"
    ds.SeriesType = ["STATIC", "IMAGE"]
    ds.CorrectedImage = ["DECY", "ATTN", "SCAT", "DTIM", "RAN", "NORM"]
    ds.DecayCorrection = "START"
    ds.RandomsCorrectionMethod = "DLYD"
    ds.AttenuationCorrectionMethod = "CTAC"
    ds.ReconstructionMethod = "OSEM"
    ds.CollimatorType = "NONE"
    ds.NumberOfSlices = nk
    # PET Isotope
    ds.RadiopharmaceuticalInformationSequence = Sequence([_radiopharmaceutical(hdr)])
    # Image Plane / Pixel
    z = z0 + k * dz
    _image_plane(ds, (dy, dx), (x0, y0, z), dz)
    ds.SliceLocation = _ds(z)
    _pixels_u16(ds, nj, ni)
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = _ds(slope)
    # PET Image: pixel values refer to the series (acquisition start) time
    ds.FrameReferenceTime = "0"
    ds.ActualFrameDuration = int(round(hdr["duration_s"] * 1000.0))
    ds.DecayFactor = "1"
    ds.ImageIndex = k + 1
    ds.PixelData = stored.tobytes()
    return ds


# --- RTSTRUCT ----------------------------------------------------------------------------------
def contour_points(cx: float, cy: float, ax: float, ay: float, theta: float, z: float, hole: bool = False) -> np.ndarray:
    """Points of the section polygon at plane z, shape (n, 3) [mm].

    The vertices of :func:`phantoms.anatomy.polygon_vertices` (on the ellipse with centre
    (cx, cy), semi-axes ax, ay and the ``ax`` axis at angle theta from +x), counter-clockwise in
    (x, y); clockwise for holes.
    """
    xy = polygon_vertices(cx, cy, ax, ay, theta)
    if hole:
        xy = np.concatenate([xy[:1], xy[:0:-1]])
    return np.column_stack([xy, np.full(len(xy), float(z))])


_CONTOUR_DATA = pydicom.tag.Tag(0x3006, 0x0050)


def _raw_ds(tag, text: bytes) -> RawDataElement:
    """A DS element of already encoded ``text`` (pydicom's per-value DS objects are slow for large
    contours), padded with a space to even length."""
    if len(text) % 2:
        text += b" "
    return RawDataElement(tag, "DS", len(text), text, 0, False, True)


class _ContourText:
    """ContourData (3006,0050) values: ``x\\y\\z`` of each vertex with ``%.10g`` (at most 16
    characters, PS3.5 6.2), as :func:`contour_points` orders them.

    Every value is formatted by the same ``%`` operator as before; what is saved is formatting the
    same value twice: the vertices of a section (:func:`phantoms.anatomy.polygon_vertices` of its
    (cx, cy, ax, ay, theta)) are formatted once per section, whichever ROI or plane repeats it (the
    liver in Liver and Normal Liver, a tumour in its ROI and as a hole, each lung in Lungs, the
    straight spine on every plane), and a plane's z once per contour (issue 22).
    """

    def __init__(self):
        self._xy: dict = {}

    def __call__(self, section: tuple, z: float, hole: bool) -> tuple:
        """(number of points, the encoded value) of the contour of ``section`` on plane ``z``."""
        key = struct.pack("<5d", *section)  # the exact values (0.0 and -0.0 format differently)
        xy = self._xy.get(key)
        if xy is None:
            v = polygon_vertices(*section)
            xy = self._xy[key] = ("%.10g\\%.10g\n" * len(v) % tuple(v.ravel().tolist())).split("\n")[:-1]
        if hole:  # clockwise: the first vertex, then the others backwards (contour_points)
            xy = xy[:1] + xy[:0:-1]
        zs = "%.10g" % float(z)
        return len(xy), (("\\" + zs + "\\").join(xy) + "\\" + zs).encode("ascii")


_COLOURS = {
    "Body": (200, 180, 160), "Liver": (160, 80, 40), "Normal Liver": (200, 120, 60), "Lung L": (80, 160, 220),
    "Lung R": (60, 120, 200), "Lungs": (70, 140, 210), "Spine": (230, 230, 230),
}


def write_rtstruct(path: Path, rois: list, ct_grid, hdr: dict) -> None:
    """RT Structure Set with one ROI per region, contoured on every CT slice plane it crosses.

    The file is byte for byte what ``dcmwrite`` writes of :func:`_rtstruct_dataset` (the whole
    dataset, tests/phantoms/test_write_series.py); the ~600 contour items are encoded from a few
    pieces each encoded once by pydicom (the plane's ContourImageSequence, the geometric type, the
    point counts and numbers) with the explicit lengths ``dcmwrite`` gives a new sequence and its
    items (PS3.5 7.5), instead of building and validating two datasets per contour (issue 22).

    Parameters
    ----------
    path : pathlib.Path
        File to create.
    rois : list of (name, interpreted_type, outer_shapes, hole_shapes)
        Shapes have ``section(z) -> (cx, cy, ax, ay, theta) or None``; every outer section is one
        contour and every hole section one more contour inside it.
    ct_grid : GridInfo
        The CT geometry; contours lie on its slice planes and reference its SOP instances.
    hdr : dict
        Patient, study and UID information.
    """
    ds, image_ref, contours = _rtstruct_parts(rois, ct_grid, hdr)
    series = _Series(ds)
    encoded = functools.lru_cache(maxsize=None)(lambda tag, vr, value: series.encoded(DataElement(tag, vr, value)))
    planes = {}  # plane k -> its ContourImageSequence, encoded
    items = []
    for item, roi_contours in zip(ds.ROIContourSequence, contours):
        body = []
        for number, (k, n, text) in enumerate(roi_contours, 1):
            if k not in planes:
                planes[k] = series.encoded(DataElement(0x30060016, "SQ", Sequence([image_ref(k)])))
            body.append(_item(b"".join([
                planes[k], encoded(0x30060042, "CS", "CLOSED_PLANAR"), encoded(0x30060046, "IS", n),
                encoded(0x30060048, "IS", number), _contour_data(text) or series.encoded(_raw_ds(_CONTOUR_DATA, text)),
            ])))
        parts = {int(e.tag): series.encoded(e) for e in item}
        parts[0x30060040] = _sequence(0x30060040, body)  # ContourSequence
        items.append(_item(b"".join(parts[t] for t in sorted(parts))))
    series.write(path, ds.SOPInstanceUID, [], {0x30060039: _sequence(0x30060039, items)})  # ROIContourSequence


def _contour_data(text: bytes) -> bytes | None:
    """The ContourData (3006,0050) element of encoded ``text`` as ``write_data_element`` writes the
    element of :func:`_raw_ds` in Explicit VR Little Endian (tag, "DS", 2-byte length, the value padded
    to even length), or None for a value over 64 KiB (pydicom writes that one as UN: left to it)."""
    if len(text) % 2:
        text += b" "
    if len(text) > 0xFFFF:
        return None
    return b"\x06\x30\x50\x00DS" + struct.pack("<H", len(text)) + text


def _item(body: bytes) -> bytes:
    """A sequence item of explicit length (PS3.5 7.5.1), as ``dcmwrite`` writes one."""
    return b"\xfe\xff\x00\xe0" + struct.pack("<I", len(body)) + body


def _sequence(tag: int, items: list) -> bytes:
    """An SQ element of explicit length in Explicit VR Little Endian (PS3.5 7.1.2), as ``dcmwrite`` writes one."""
    body = b"".join(items)
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"SQ\x00\x00" + struct.pack("<I", len(body)) + body


def _rtstruct_dataset(rois: list, ct_grid, hdr: dict) -> Dataset:
    """The whole RT Structure Set dataset that :func:`write_rtstruct` writes (for the tests), built
    element by element: one dataset per contour, its ContourData encoded (:func:`_raw_ds`)."""
    ds, image_ref, contours = _rtstruct_parts(rois, ct_grid, hdr)
    for item, roi_contours in zip(ds.ROIContourSequence, contours):
        items = []
        for number, (k, n, text) in enumerate(roi_contours, 1):
            c = Dataset()
            c.ContourImageSequence = Sequence([image_ref(k)])
            c.ContourGeometricType = "CLOSED_PLANAR"
            c.NumberOfContourPoints = n
            c.ContourNumber = number
            c[_CONTOUR_DATA] = _raw_ds(_CONTOUR_DATA, text)
            # already encoded (explicit VR little endian): pydicom writes the raw ContourData as is
            c.set_original_encoding(False, True, c._character_set)
            items.append(c)
        item.ContourSequence = Sequence(items)
    return ds


def _rtstruct_parts(rois: list, ct_grid, hdr: dict) -> tuple:
    """(dataset, image_ref, contours): the RT Structure Set without the ContourSequence of its
    ROIContourSequence items; ``image_ref(k)``, the ContourImageSequence item of CT plane k; and per
    ROI its contours as (plane k, number of points, encoded ContourData), outer sections and holes
    on each plane in order."""
    nk, nj, ni, dz, dy, dx, x0, y0, z0 = _axes(ct_grid)
    when = hdr["study_datetime"] + _dt.timedelta(hours=1)
    uids = hdr["uids"]
    ds = _base(hdr, RT_STRUCTURE_SET_STORAGE, uids["rtstruct_instance"], "RTSTRUCT", uids["rtstruct_series"], 3,
               "Phantom structures (analytic)", when)
    ds.InstanceNumber = 1
    ds.OperatorsName = ""
    ds.StructureSetLabel = "PHANTOM"
    ds.StructureSetName = "Analytic phantom contours"
    ds.StructureSetDate = _da(when)
    ds.StructureSetTime = _tm(when)

    def image_ref(k):
        r = Dataset()
        r.ReferencedSOPClassUID = CT_IMAGE_STORAGE
        r.ReferencedSOPInstanceUID = uids["ct_instances"][k]
        return r

    series = Dataset()
    series.SeriesInstanceUID = uids["ct_series"]
    series.ContourImageSequence = Sequence([image_ref(k) for k in range(nk)])
    study = Dataset()
    study.ReferencedSOPClassUID = DETACHED_STUDY_MANAGEMENT
    study.ReferencedSOPInstanceUID = uids["study"]
    study.RTReferencedSeriesSequence = Sequence([series])
    frame = Dataset()
    frame.FrameOfReferenceUID = uids["frame_of_reference"]
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    # Frame of Reference module at top level (allowed in the RT Structure Set IOD since PS3.3 2014c)
    ds.FrameOfReferenceUID = uids["frame_of_reference"]
    ds.PositionReferenceIndicator = ""

    text = _ContourText()
    sections: dict = {}  # (shape, plane k) -> its section: a shape in several ROIs is cut once per plane

    def section(shape, k):
        key = (id(shape), k)
        if key not in sections:
            sections[key] = shape.section(z0 + k * dz)
        return sections[key]

    roi_items, contour_items, obs_items, contours = [], [], [], []
    for number, (name, itype, outers, holes) in enumerate(rois, 1):
        roi = Dataset()
        roi.ROINumber = number
        roi.ReferencedFrameOfReferenceUID = uids["frame_of_reference"]
        roi.ROIName = name
        roi.ROIGenerationAlgorithm = "AUTOMATIC"
        roi_items.append(roi)
        found = []
        for k in range(nk):
            z = z0 + k * dz
            for shapes, is_hole in ((outers, False), (holes, True)):
                for shape in shapes:
                    sec = section(shape, k)
                    if sec is not None:
                        found.append((k, *text(sec, z, is_hole)))
        contours.append(found)
        item = Dataset()
        item.ROIDisplayColor = list(_COLOURS.get(name, (220, 40, 40) if itype == "GTV" else (128, 128, 128)))
        item.ReferencedROINumber = number
        contour_items.append(item)
        obs = Dataset()
        obs.ObservationNumber = number
        obs.ReferencedROINumber = number
        obs.ROIObservationLabel = name
        obs.RTROIInterpretedType = itype
        obs.ROIInterpreter = ""
        obs_items.append(obs)
    ds.StructureSetROISequence = Sequence(roi_items)
    ds.ROIContourSequence = Sequence(contour_items)
    ds.RTROIObservationsSequence = Sequence(obs_items)
    return ds, image_ref, contours
