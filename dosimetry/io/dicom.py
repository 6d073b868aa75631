"""DICOM in and out, one import away: series readers, RTSTRUCT masks, RT Dose reader and writer.

The implementation lives in :mod:`.series` (CT/PT slice stacks), :mod:`.pet` (PET units and decay
correction), :mod:`.nm` (NM tomography), :mod:`.rtstruct`, :mod:`.rtdose` and :mod:`.dicom_elements`
(file reading, header values, identities); see docs/dicom.md.
"""

from .dicom_elements import DicomError, DicomIdentity, check_consistency, read_dataset
from .rtdose import DoseGrid, load_rtdose, read_rtdose, write_rtdose
from .rtstruct import Roi, StructureSet, list_rois, rasterize_roi, read_rtstruct, roi_fractions, roi_mask
from .series import DicomWarning, ImageSeries, list_files, load_series, read_series

__all__ = [
    "DicomError",
    "DicomIdentity",
    "DicomWarning",
    "DoseGrid",
    "ImageSeries",
    "Roi",
    "StructureSet",
    "check_consistency",
    "list_files",
    "list_rois",
    "load_rtdose",
    "load_series",
    "rasterize_roi",
    "read_dataset",
    "read_rtdose",
    "read_rtstruct",
    "read_series",
    "roi_fractions",
    "roi_mask",
    "write_rtdose",
]
