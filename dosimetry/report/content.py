"""What a per-patient report shows, independent of how it is rendered (text, JSON, PDF)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .page1 import SignedPage

__all__ = ["CheckRow", "DVHCurve", "SliceImage", "ReportContent"]


@dataclass(frozen=True)
class CheckRow:
    """One figure against one limit, as shown to the physicist.

    Parameters
    ----------
    label : str
        What is checked, e.g. ``"Lung dose (this treatment)"``.
    value : str
        The figure with its unit, e.g. ``"9.5 Gy"``.
    limit : str
        The threshold with its sense, e.g. ``"<= 30 Gy"``.
    passed : bool
        Whether the figure meets the threshold.
    safety : bool
        A safety limit (failure blocks the plan) or an efficacy threshold (failure warns).
    source : str
        Where the threshold comes from.
    """

    label: str
    value: str
    limit: str
    passed: bool
    safety: bool
    source: str = ""


@dataclass(frozen=True)
class DVHCurve:
    """A cumulative DVH: ``volume_pct[i]`` % of the region receives at least ``dose_gy[i]`` Gy."""

    name: str
    dose_gy: np.ndarray
    volume_pct: np.ndarray


@dataclass(frozen=True)
class SliceImage:
    """One slice (axial, coronal or sagittal) of dose [Gy] fused on CT [HU], with region outlines.

    ``extent_mm`` is (left, right, bottom, top) in patient millimetres for ``imshow``.
    """

    title: str
    dose_gy: np.ndarray
    extent_mm: tuple
    ct_hu: np.ndarray | None = None
    outlines: tuple = ()  # (name, 2-D boolean mask) pairs
    crop_x: tuple | None = None  # (left, right) mm shown
    crop_y: tuple | None = None  # (bottom, top) mm shown
    orientation: tuple = ("R", "L", "A", "P")  # patient direction at the image left, right, top, bottom
    axis_labels: tuple = ("x [mm]", "y [mm]")
    isodoses: tuple = ()  # (label, Gy) isodose lines to draw
    row: str = ""  # the structure the slice goes through (one page row per structure)


@dataclass(frozen=True)
class ReportContent:
    """Everything one patient report shows."""

    patient_id: str
    title: str
    status: str
    blocked: bool
    checks: tuple  # CheckRow
    warnings: tuple  # str
    audit: tuple  # (label, value) pairs, last page
    dvh: tuple = ()  # DVHCurve
    dvh_markers: tuple = ()  # (label, dose in Gy)
    slices: tuple = ()  # SliceImage
    voxel_rows: tuple = ()  # per-ROI table rows: (ROI, volume, mean, D95, D50, D2, V100...) as text
    voxel_header: tuple = ()
    page1: SignedPage | None = None  # dosimetry.report.page1.SignedPage
    notes: tuple = ()  # str: what was assumed
    uncertainty: object = None  # dosimetry.report.uncertainty.UncertaintyContent: its own page
