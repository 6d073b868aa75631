"""Small synthetic DICOM objects for the reader tests, written with plain pydicom.

Geometry is written from first principles (DICOM PS3.3 C.7.6.2): slice k of a series with
orientation (row, col) and normal n = row x col sits at ImagePositionPatient = origin + k * dz * n.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
PET_IMAGE = "1.2.840.10008.5.1.4.1.1.128"
NM_IMAGE = "1.2.840.10008.5.1.4.1.1.20"
RTSTRUCT = "1.2.840.10008.5.1.4.1.1.481.3"


def ident(patient="PAT1", study=None, frame=None):
    """A patient / study / frame-of-reference triple."""
    return {"PatientID": patient, "StudyInstanceUID": study or generate_uid(), "FrameOfReferenceUID": frame or generate_uid()}


def _base(sop_class, ids, modality, series_uid):
    meta = FileMetaDataset()
    uid = generate_uid()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid
    ds.Modality = modality
    ds.PatientName = "Test^Phantom"
    ds.PatientID = ids["PatientID"]
    ds.StudyInstanceUID = ids["StudyInstanceUID"]
    ds.FrameOfReferenceUID = ids["FrameOfReferenceUID"]
    ds.SeriesInstanceUID = series_uid
    ds.StudyDate = "20261120"
    ds.StudyTime = "090000"
    return ds


def _image(ds, plane: np.ndarray, signed=True):
    ds.Rows, ds.Columns = plane.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = plane.astype("<i2" if signed else "<u2").tobytes()


def write_slices(
    directory,
    stored: np.ndarray,
    *,
    modality="CT",
    spacing=(2.0, 1.0, 1.0),
    origin=(0.0, 0.0, 0.0),
    row=(1.0, 0.0, 0.0),
    col=(0.0, 1.0, 0.0),
    slope=1.0,
    intercept=-1024.0,
    ids=None,
    series_uid=None,
    extra=None,
    per_slice=None,
    names=None,
    signed=True,
):
    """Write a (nk, nj, ni) int array as one file per slice; returns the file paths in k order.

    ``slope`` may be a sequence (one per slice). ``extra(ds)`` and ``per_slice(ds, k)`` edit headers.
    File names are scrambled so that name order is not slice order.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ids = ids or ident()
    series_uid = series_uid or generate_uid()
    row, col = np.asarray(row, float), np.asarray(col, float)
    n = np.cross(row, col)
    nk = stored.shape[0]
    slopes = np.broadcast_to(np.asarray(slope, float), (nk,))
    paths = []
    for k in range(nk):
        ds = _base(CT_IMAGE if modality == "CT" else PET_IMAGE, ids, modality, series_uid)
        ipp = np.asarray(origin, float) + k * spacing[0] * n
        ds.ImagePositionPatient = [f"{x:.6f}" for x in ipp]
        ds.ImageOrientationPatient = [f"{x:.8f}" for x in np.concatenate([row, col])]
        ds.PixelSpacing = [spacing[1], spacing[2]]
        ds.SliceThickness = spacing[0]
        ds.RescaleSlope = f"{slopes[k]:.10g}"
        ds.RescaleIntercept = intercept
        ds.InstanceNumber = k + 1
        _image(ds, stored[k], signed=signed)
        if extra:
            extra(ds)
        if per_slice:
            per_slice(ds, k)
        name = names[k] if names else f"img_{(k * 7919) % 1000:04d}_{k}.dcm"
        p = directory / name
        ds.save_as(p, enforce_file_format=True)
        paths.append(p)
    return paths


def pet_header(
    units="BQML",
    decay="START",
    series_time="110000",
    admin="20261120090000",
    nuclide="^90^Yttrium",
    half_life_s=64.1 * 3600,
):
    """An ``extra`` callback filling the PET Image / Isotope modules."""

    def extra(ds):
        ds.Units = units
        ds.DecayCorrection = decay
        ds.SeriesDate = "20261120"
        ds.SeriesTime = series_time
        ds.AcquisitionDate = "20261120"
        ds.AcquisitionTime = series_time
        info = Dataset()
        if admin is not None:
            info.RadiopharmaceuticalStartDateTime = admin
        if half_life_s is not None:
            info.RadionuclideHalfLife = f"{half_life_s:.6g}"
        if nuclide is not None:
            code = Dataset()
            code.CodeValue = "C-1xxxx"
            code.CodingSchemeDesignator = "SRT"
            code.CodeMeaning = nuclide
            info.RadionuclideCodeSequence = Sequence([code])
        ds.RadiopharmaceuticalInformationSequence = Sequence([info])

    return extra


def write_nm(
    path,
    stored: np.ndarray,
    *,
    spacing=(4.0, 4.0, 4.0),
    origin=(-100.0, -100.0, -50.0),
    row=(1.0, 0.0, 0.0),
    col=(0.0, 1.0, 0.0),
    slope=None,
    rwv=None,
    image_type=("ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"),
    ids=None,
    spacing_keyword="SpacingBetweenSlices",
    number_of_slices=None,
):
    """Write an NM reconstructed multi-frame file; geometry in DetectorInformationSequence."""
    ids = ids or ident()
    ds = _base(NM_IMAGE, ids, "NM", generate_uid())
    ds.ImageType = list(image_type)
    ds.NumberOfFrames = stored.shape[0]
    ds.NumberOfSlices = stored.shape[0] if number_of_slices is None else number_of_slices
    det = Dataset()
    det.ImagePositionPatient = list(origin)
    det.ImageOrientationPatient = list(row) + list(col)
    ds.DetectorInformationSequence = Sequence([det])
    ds.PixelSpacing = [spacing[1], spacing[2]]
    setattr(ds, spacing_keyword, spacing[0])
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = 0
    if rwv is not None:
        item = Dataset()
        item.RealWorldValueSlope = rwv[0]
        item.RealWorldValueIntercept = rwv[1]
        unit = Dataset()
        unit.CodeValue = rwv[2]
        unit.CodingSchemeDesignator = "UCUM"
        unit.CodeMeaning = rwv[2]
        item.MeasurementUnitsCodeSequence = Sequence([unit])
        ds.RealWorldValueMappingSequence = Sequence([item])
    _image(ds, stored, signed=False)
    ds.save_as(path, enforce_file_format=True)
    return Path(path)


def write_rtstruct(path, rois: dict, ids=None, geometric_type="CLOSED_PLANAR"):
    """Write an RTSTRUCT; ``rois`` maps names to lists of (N, 3) contour arrays [mm]."""
    ids = ids or ident()
    ds = _base(RTSTRUCT, ids, "RTSTRUCT", generate_uid())
    ds.StructureSetLabel = "test"
    ds.StructureSetDate = "20261120"
    ref = Dataset()
    ref.FrameOfReferenceUID = ids["FrameOfReferenceUID"]
    ds.ReferencedFrameOfReferenceSequence = Sequence([ref])
    ssroi, roic, obs = Sequence(), Sequence(), Sequence()
    for num, (name, contours) in enumerate(rois.items(), start=1):
        s = Dataset()
        s.ROINumber = num
        s.ROIName = name
        s.ReferencedFrameOfReferenceUID = ids["FrameOfReferenceUID"]
        s.ROIGenerationAlgorithm = "MANUAL"
        ssroi.append(s)
        rc = Dataset()
        rc.ReferencedROINumber = num
        rc.ROIDisplayColor = [255, 0, 0]
        seq = Sequence()
        for c in contours:
            c = np.asarray(c, float)
            it = Dataset()
            it.ContourGeometricType = geometric_type
            it.NumberOfContourPoints = len(c)
            it.ContourData = [f"{x:.6g}" for x in c.ravel()]
            seq.append(it)
        if seq:
            rc.ContourSequence = seq
        roic.append(rc)
        o = Dataset()
        o.ObservationNumber = num
        o.ReferencedROINumber = num
        o.RTROIInterpretedType = "ORGAN"
        obs.append(o)
    ds.StructureSetROISequence = ssroi
    ds.ROIContourSequence = roic
    ds.RTROIObservationsSequence = obs
    ds.save_as(path, enforce_file_format=True)
    return Path(path)


def circle(cx, cy, z, r, n=720):
    """Closed polygon approximating a circle in the plane z [mm]."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t), np.full(n, float(z))])


def rect(x0, x1, y0, y1, z):
    """Closed rectangle in the plane z [mm]."""
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], float)


ADMIN = dt.datetime(2026, 11, 20, 9, 0, 0)
