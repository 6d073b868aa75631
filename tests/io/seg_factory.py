"""Writers of segmentation files for the tests, independent of dosimetry.io's readers.

Each writes the masks of a dict ``{name: Volume}`` (boolean or fractional, all on one grid)
straight with pynrrd, nibabel or pydicom, with the geometry worked out here from the Volume's
affine (so a reader bug is not cancelled by a shared helper).
"""

from __future__ import annotations

import numpy as np
import nibabel as nib
import nrrd
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def _fast_first(arr):
    """Volume array [k, j, i] -> file order (i, j, k)."""
    return np.transpose(np.asarray(arr), (2, 1, 0))


def _steps_lps(vol):
    """Rows: LPS vector of one step along i, j, k."""
    return np.stack([vol.direction[:, 2] * vol.spacing_mm[2], vol.direction[:, 1] * vol.spacing_mm[1], vol.direction[:, 0] * vol.spacing_mm[0]])


def write_seg_nrrd(path, layers, grid, space="RAS"):
    """Slicer .seg.nrrd. ``layers``: list of lists of (name, bool mask array [k, j, i]); value = position + 1."""
    sign = np.array([-1.0, -1.0, 1.0]) if space == "RAS" else np.ones(3)
    data = np.zeros((len(layers),) + grid.shape[::-1], np.uint8)
    header = {"space": "right-anterior-superior" if space == "RAS" else "left-posterior-superior",
              "space directions": np.vstack([np.full(3, np.nan), _steps_lps(grid) * sign]),
              "space origin": np.asarray(grid.origin_mm) * sign, "kinds": ["list", "domain", "domain", "domain"], "encoding": "gzip"}
    n = 0
    for layer, members in enumerate(layers):
        for value, (name, mask) in enumerate(members, 1):
            data[layer][_fast_first(mask) > 0] = value
            header[f"Segment{n}_ID"] = f"Segment_{n + 1}"
            header[f"Segment{n}_Name"] = name
            header[f"Segment{n}_Layer"] = str(layer)
            header[f"Segment{n}_LabelValue"] = str(value)
            n += 1
    nrrd.write(str(path), data, header, index_order="F")


def write_labelmap_nifti(path, labels, grid):
    """NIfTI label map (int16) with an sform in RAS; ``labels`` array [k, j, i]."""
    affine = np.eye(4)
    ras = np.diag([-1.0, -1.0, 1.0])
    affine[:3, :3] = ras @ _steps_lps(grid).T
    affine[:3, 3] = ras @ np.asarray(grid.origin_mm)
    img = nib.Nifti1Image(_fast_first(labels).astype(np.int16), affine)
    img.header.set_sform(affine, code=2)
    img.header.set_qform(None, code=0)
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))


def write_labelmap_nrrd(path, labels, grid):
    nrrd.write(str(path), _fast_first(labels).astype(np.uint8), {"space": "left-posterior-superior", "space directions": _steps_lps(grid),
                                                                  "space origin": np.asarray(grid.origin_mm), "kinds": ["domain"] * 3}, index_order="F")


def write_dicom_seg(path, masks: dict, grid, ref: Dataset | None = None, fractional: bool = False):
    """A DICOM SEG (PS3.3 A.51) of axial-stack masks; one frame per segment and non-empty slice."""
    meta = FileMetaDataset()
    uid = generate_uid()
    meta.MediaStorageSOPClassUID = SEG_SOP_CLASS
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = SEG_SOP_CLASS, uid, "SEG"
    for kw in ("PatientName", "PatientID", "StudyInstanceUID", "FrameOfReferenceUID"):
        setattr(ds, kw, ref.get(kw) if ref is not None else ("X" if kw.startswith("Patient") else generate_uid()))
    ds.SeriesInstanceUID = generate_uid()
    ds.Rows, ds.Columns = grid.shape[1], grid.shape[2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    if fractional:
        ds.SegmentationType, ds.SegmentationFractionalType, ds.MaximumFractionalValue = "FRACTIONAL", "OCCUPANCY", 200
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
    else:
        ds.SegmentationType = "BINARY"
        ds.BitsAllocated = ds.BitsStored = 1
        ds.HighBit = 0
    shared = Dataset()
    po = Dataset()
    po.ImageOrientationPatient = [float(x) for x in np.concatenate([grid.direction[:, 2], grid.direction[:, 1]])]
    pm = Dataset()
    pm.PixelSpacing = [grid.spacing_mm[1], grid.spacing_mm[2]]
    pm.SliceThickness = grid.spacing_mm[0]
    pm.SpacingBetweenSlices = grid.spacing_mm[0]
    shared.PlaneOrientationSequence = Sequence([po])
    shared.PixelMeasuresSequence = Sequence([pm])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    segs, frames, pixels = [], [], []
    for number, (name, mask) in enumerate(masks.items(), 1):
        s = Dataset()
        s.SegmentNumber, s.SegmentLabel, s.SegmentAlgorithmType = number, name, "MANUAL"
        segs.append(s)
        m = np.asarray(mask.array, dtype=np.float64)
        for k in range(grid.shape[0]):
            if not np.any(m[k] > 0):
                continue
            f = Dataset()
            si = Dataset()
            si.ReferencedSegmentNumber = number
            pp = Dataset()
            pp.ImagePositionPatient = [float(x) for x in grid.index_to_world([k, 0, 0])]
            f.SegmentIdentificationSequence = Sequence([si])
            f.PlanePositionSequence = Sequence([pp])
            frames.append(f)
            pixels.append(np.round(m[k] * 200).astype(np.uint8) if fractional else (m[k] > 0))
    ds.SegmentSequence = Sequence(segs)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.NumberOfFrames = len(frames)
    stack = np.stack(pixels)
    ds.PixelData = stack.tobytes() if fractional else pydicom.pixels.pack_bits(stack.astype(np.uint8))
    pydicom.dcmwrite(str(path), ds, enforce_file_format=True)
