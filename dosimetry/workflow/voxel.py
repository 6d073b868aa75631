"""Voxel step of the main job: activity image + CT + ROIs -> calibrated activity -> dose -> figures.

:func:`load_imaging` is the only part that reads files; :func:`voxel_dose` is a pure computation
over Volumes and masks (no paths), so it runs on in-memory arrays as well as on DICOM.

The steps (design brief, "Voxel dosimetry"):

1. (:func:`load_imaging`) read the activity image (NM counts or PT Bq/mL), the CT (optional) and
   the RT Structure Set, check that they belong to one patient, study and frame of reference, and
   rasterize the ROIs onto the activity image grid (dose is computed on that grid);
2. (:func:`voxel_dose`, from here on) calibrate: *relative* (scale counts so that liver + lungs, or the liver alone, hold the
   administered activity times (1 - residual fraction)) or *absolute* (PET in Bq/mL, already decay
   corrected to the administration time by the reader);
3. density: CT resampled to the activity grid through the HU-to-density curve, or 1.03 g/mL;
4. dose for complete decay by local deposition or dose-voxel-kernel convolution;
5. per ROI: volume, activity, mean / min / max, D_x, V_x, mean BED, and the DVH; the image-based
   lung shunt fraction and tumour-to-normal ratios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pint

from ..errors import InputError
from ..io import check_consistency, load_series, read_rtstruct, roi_mask
from ..io.series import ImageSeries
from ..units import Q_, quantity
from ..voxel import (
    DVH,
    RegionStats,
    Volume,
    convolve_dose,
    density_from_hu,
    dvh,
    local_deposition,
    mean_bed,
    region_stats,
    resample_to,
    tumour_to_normal_ratio,
)
from ..voxel.calibration import activity_in, activity_map, relative_calibration

__all__ = ["RegionResult", "VoxelResult", "ImagingResult", "ImagingInputs", "load_imaging", "voxel_dose", "compute_dose", "BED_PARAMETERS", "AIR_DENSITY"]

#: Voxels of the CT density map below this and outside every ROI are air (outside the body, bowel
#: gas): activity there is an imaging artefact (resolution blur, misregistration) and dividing its
#: energy by the mass of air would give absurd doses, so no dose is reported there. Inside the
#: liver, tumour and lung ROIs the real density is always used, however low (emphysematous lung is
#: below -950 HU, about 0.05 g/mL), and a warning says so. Inflated lung is about 0.26 g/mL (ICRU 46).
AIR_DENSITY = Q_(0.05, "g/mL")

#: Radiobiological parameters for the mean BED per region role (design brief, "Radiobiology"):
#: normal liver alpha/beta 2.5 Gy, repair half-time 2.5 h; tumour alpha/beta 10 Gy, 1.5 h
#: (Dale 1985 formula; values as used in Y-90 radioembolization BED studies, e.g. Cremonesi et
#: al., Front Oncol 2014). Lungs are not given a BED.
BED_PARAMETERS = {
    "liver": (Q_(2.5, "Gy"), Q_(2.5, "h")),
    "normal liver": (Q_(2.5, "Gy"), Q_(2.5, "h")),
    "tumour": (Q_(10.0, "Gy"), Q_(1.5, "h")),
}


@dataclass(frozen=True)
class RegionResult:
    """Dose figures of one ROI.

    Parameters
    ----------
    name : str
        ROI name (``"Normal liver"`` is derived: liver minus tumours).
    role : str
        ``"liver"``, ``"normal liver"``, ``"tumour"`` or ``"lung"``.
    stats : RegionStats
        Volume [mL], mean / min / max [Gy], D_x [Gy], V_x (fractions).
    activity : pint.Quantity
        Activity in the region at administration [GBq].
    mean_bed : pint.Quantity or None
        Mean BED [Gy] with :data:`BED_PARAMETERS` for the role.
    dvh : DVH
        The cumulative DVH, exact on voxel doses.
    """

    name: str
    role: str
    stats: RegionStats
    activity: pint.Quantity
    mean_bed: pint.Quantity | None
    dvh: DVH


@dataclass(frozen=True)
class ImagingInputs:
    """The imaging inputs of one voxel dosimetry, in memory (no paths).

    Parameters
    ----------
    activity : Volume
        The activity image (counts, or Bq/mL for PET) on its own grid; the dose grid.
    liver : Volume
        Liver (or perfused territory) mask on the activity grid, tumours included.
    tumours, lungs : dict of str to Volume
        Tumour and lung masks on the activity grid, by ROI name.
    ct : Volume or None
        CT in HU on its own grid.
    liver_name : str
        Name of the liver ROI.
    reference : ImageSeries or None
        The activity series (header for the RT Dose written from the result).
    warnings : tuple of str
        What reading found (consistency, rasterization).
    inputs : tuple of str
        The files read, for the audit trail.
    identities : tuple of DicomIdentity
        Patient, study, series and frame-of-reference UIDs of every series read (report.json).
    """

    activity: Volume
    liver: Volume
    tumours: dict
    lungs: dict
    ct: Volume | None = None
    liver_name: str = "Liver"
    reference: ImageSeries | None = None
    warnings: tuple = ()
    inputs: tuple = ()
    identities: tuple = ()


@dataclass(frozen=True)
class VoxelResult:
    """Everything the voxel dosimetry produced."""

    dose: Volume
    activity: Volume
    ct: Volume | None
    masks: dict
    regions: tuple
    administered: pint.Quantity | None
    image_activity: pint.Quantity
    calibration: str
    lung_shunt_fraction: float | None
    tumour_to_normal: dict
    method: str
    warnings: tuple
    reference: ImageSeries
    inputs: tuple
    identities: tuple = ()

    def region(self, name: str) -> RegionResult:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)


ImagingResult = VoxelResult  # the name used before the workflow package


def _union(masks: list[Volume]) -> Volume:
    arr = np.zeros(masks[0].shape, dtype=bool)
    for m in masks:
        arr |= np.asarray(m.array, dtype=bool)
    return masks[0].with_array(arr)


def load_imaging(
    activity_image,
    rtstruct,
    *,
    liver_roi: str,
    tumour_rois=(),
    lung_rois=(),
    ct=None,
    allow_mismatch: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImagingInputs:
    """Read the activity image, CT and RT Structure Set, and rasterize the ROIs on the activity grid.

    Parameters
    ----------
    activity_image : path-like
        Folder (or file) of the activity image: NM (counts) or PT (Bq/mL).
    rtstruct : path-like
        RT Structure Set file.
    liver_roi : str
        Name of the whole-liver (or perfused territory) ROI, tumours included.
    tumour_rois, lung_rois : sequence of str
        ROI names of the tumours and of the lungs (several lung ROIs are joined).
    ct : path-like, optional
        CT folder: density from HU and display.
    allow_mismatch : bool
        Accept series whose patient / study / frame of reference differ (explicit override).
    progress : callable, optional
        Called with a short message before each slow step.

    Raises
    ------
    InputError
        Unreadable or inconsistent DICOM, unknown ROI.
    """
    say = progress or (lambda msg: None)
    warnings: list[str] = []
    say("reading the activity image")
    act = load_series(activity_image)
    warnings += list(act.warnings)
    modality = str(act.header.get("Modality", "")).upper()
    if modality not in ("NM", "PT"):
        raise InputError("imaging.activity", f"{activity_image} is a {modality or 'non-image'} series; the activity image must be NM (SPECT) or PT (PET)")
    ct_series = None
    if ct is not None:
        say("reading the CT")
        ct_series = load_series(ct, modality="CT")
        warnings += list(ct_series.warnings)
    say("reading the structure set")
    rs = read_rtstruct(rtstruct)
    warnings += list(rs.warnings)
    identities = [act.identity, rs.identity] + ([ct_series.identity] if ct_series else [])
    warnings += list(check_consistency(*identities, allow_mismatch=allow_mismatch))
    grid = act.volume
    say("rasterizing regions")
    return ImagingInputs(
        activity=grid,
        liver=roi_mask(rs, liver_roi, grid),
        tumours={n: roi_mask(rs, n, grid) for n in tumour_rois},
        lungs={n: roi_mask(rs, n, grid) for n in lung_rois},
        ct=None if ct_series is None else ct_series.volume,
        liver_name=liver_roi,
        reference=act,
        warnings=tuple(warnings),
        inputs=tuple(str(Path(p)) for p in (activity_image, rtstruct, ct) if p is not None),
        identities=tuple(identities),
    )


def compute_dose(
    activity_image,
    rtstruct,
    *,
    liver_roi: str,
    tumour_rois=(),
    lung_rois=(),
    ct=None,
    administered=None,
    method: str = "kernel",
    calibration: str = "relative",
    residual_fraction=0.0,
    allow_mismatch: bool = False,
    progress: Callable[[str], None] | None = None,
) -> VoxelResult:
    """:func:`load_imaging` then :func:`voxel_dose` (parameters as theirs)."""
    _check_options(method, calibration)
    inputs = load_imaging(
        activity_image, rtstruct, liver_roi=liver_roi, tumour_rois=tumour_rois, lung_rois=lung_rois, ct=ct, allow_mismatch=allow_mismatch, progress=progress
    )
    return voxel_dose(inputs, administered=administered, method=method, calibration=calibration, residual_fraction=residual_fraction, progress=progress)


def _check_options(method: str, calibration: str) -> None:
    if method not in ("kernel", "ldm"):
        raise InputError("method", f"{method!r} is not allowed; choose kernel or ldm")
    if calibration not in ("relative", "absolute"):
        raise InputError("calibration", f"{calibration!r} is not allowed; choose relative or absolute")


def voxel_dose(
    inputs: ImagingInputs,
    *,
    administered=None,
    method: str = "kernel",
    calibration: str = "relative",
    residual_fraction=0.0,
    progress: Callable[[str], None] | None = None,
) -> VoxelResult:
    """Absorbed dose map and per-ROI figures from in-memory imaging inputs (no file I/O).

    Parameters
    ----------
    inputs : ImagingInputs
        Activity image, masks on its grid, CT (see :func:`load_imaging`).
    administered : pint.Quantity or str, optional
        Administered activity [GBq]; required for relative calibration.
    method : str
        ``"kernel"`` (dose-voxel kernel convolution) or ``"ldm"`` (local deposition).
    calibration : str
        ``"relative"`` or ``"absolute"`` (an image in Bq/mL only).
    residual_fraction : float
        Fraction of the administered activity left in vial and tubing, [0, 1).
    progress : callable, optional
        Called with a short message before each slow step.

    Returns
    -------
    VoxelResult

    Raises
    ------
    InputError
        Calibration impossible, CT not covering the ROIs, bad parameters.
    """
    say = progress or (lambda msg: None)
    _check_options(method, calibration)
    warnings: list[str] = list(inputs.warnings)
    grid = inputs.activity
    liver = inputs.liver
    liver_roi = inputs.liver_name
    tumours = dict(inputs.tumours)
    lung_rois = tuple(inputs.lungs)
    lungs = list(inputs.lungs.values())
    lung = _union(lungs) if lungs else None
    tumour_union = _union(list(tumours.values())) if tumours else None
    normal = liver.with_array(np.asarray(liver.array, bool) & ~np.asarray(tumour_union.array, bool)) if tumour_union is not None else None
    if lung is not None and np.any(np.asarray(lung.array, bool) & np.asarray(liver.array, bool)):
        warnings.append("lung and liver ROIs overlap on the activity grid; overlapping voxels count as liver for calibration")
        lung = lung.with_array(np.asarray(lung.array, bool) & ~np.asarray(liver.array, bool))

    adm = quantity(administered, "GBq", "administered", minimum=0, include_minimum=False) if administered is not None else None
    lsf = None
    try:
        if calibration == "relative":
            if adm is None:
                raise InputError("administered", "relative calibration needs the administered activity (e.g. --administered '2.1 GBq')")
            cal = relative_calibration(grid, adm, liver, lung, residual_fraction=residual_fraction)
            activity = cal.activity
            lsf = cal.lung_shunt_fraction if lung is not None else None
            cal_text = f"relative ({cal.mode}): {adm:.4g~P} administered x (1 - {residual_fraction:g} residual) in the image"
        else:
            if Q_(1, grid.unit).dimensionality != Q_(1, "Bq/mL").dimensionality:
                raise InputError("calibration", f"absolute calibration needs an image in Bq/mL (PT Units BQML); this image is in {grid.unit:~P}")
            activity = activity_map(grid)
            if lung is not None:
                cl = activity_in(activity, lung).to("GBq").magnitude
                cv = activity_in(activity, liver).to("GBq").magnitude
                lsf = cl / (cl + cv) if cl + cv > 0 else None
            cal_text = "absolute (PET Bq/mL decay-corrected to administration)"
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("imaging", str(exc)) from exc

    in_roi = np.asarray(_union([liver, *tumours.values()] + ([lung] if lung is not None else [])).array)
    density = Q_(1.03, "g/mL")
    ct_on_grid = None
    if inputs.ct is not None:
        say("resampling the CT to the activity grid")
        ct_on_grid = resample_to(inputs.ct, grid, kind="linear", fill=-1000.0)
        ones = inputs.ct.with_array(np.ones(inputs.ct.shape, np.float32))
        covered = np.asarray(resample_to(ones, grid, kind="linear", fill=0.0).array) >= 0.5
        outside = in_roi & ~covered
        if outside.any():
            raise InputError(
                "imaging.ct",
                f"the CT does not cover {int(outside.sum())} voxels ({outside.sum() * grid.voxel_volume.to('mL').magnitude:.1f} mL) "
                "of the liver, tumour or lung ROIs; their density would be unknown",
            )
        density = density_from_hu(ct_on_grid)
    else:
        warnings.append("no CT: density 1.03 g/mL everywhere, so lung dose is underestimated (lung density is about 0.3 g/mL)")

    say("computing dose (" + ("kernel convolution" if method == "kernel" else "local deposition") + ")")
    dose = convolve_dose(activity, density=density) if method == "kernel" else local_deposition(activity, density=density)
    if isinstance(density, Volume):
        low = np.asarray(density.array) < AIR_DENSITY.to(density.unit).magnitude
        if (low & in_roi).any():
            n = int((low & in_roi).sum())
            warnings.append(
                f"{n} voxels ({n * grid.voxel_volume.to('mL').magnitude:.1f} mL) inside the ROIs have CT density below "
                f"{AIR_DENSITY:~P} (emphysema or gas); their dose uses that low density"
            )
        air = low & ~in_roi
        if air.any():
            a = np.asarray(activity.array, dtype=float)
            share = float(a[air].sum() / a.sum()) if a.sum() > 0 else 0.0
            d = np.array(dose.array, dtype=dose.array.dtype)
            d[air] = 0
            dose = dose.with_array(d)
            if share > 1e-3:
                warnings.append(f"{share:.1%} of the image activity lies in air outside the ROIs (CT density < {AIR_DENSITY:~P}); no dose is reported there")

    say("dose-volume figures")
    regions = []

    def add(name, role, mask):
        bp = BED_PARAMETERS.get(role)
        regions.append(
            RegionResult(
                name=name,
                role=role,
                stats=region_stats(dose, mask),
                activity=activity_in(activity, mask).to("GBq"),
                mean_bed=mean_bed(dose, mask, *bp) if bp else None,
                dvh=dvh(dose, mask),
            )
        )

    masks = {liver_roi: liver}
    add(liver_roi, "liver", liver)
    if normal is not None and np.any(normal.array):
        masks["Normal liver"] = normal
        add("Normal liver", "normal liver", normal)
    for n, m in tumours.items():
        masks[n] = m
        add(n, "tumour", m)
    if lung is not None:
        name = lung_rois[0] if len(lung_rois) == 1 else "Lungs"  # the union of the lung ROIs
        masks[name] = lung
        add(name, "lung", lung)

    ratios = {}
    if normal is not None and np.any(normal.array):
        for n, m in tumours.items():
            ratios[n] = tumour_to_normal_ratio(grid, m, normal)

    return VoxelResult(
        dose=dose,
        activity=activity,
        ct=ct_on_grid,
        masks=masks,
        regions=tuple(regions),
        administered=adm,
        image_activity=Q_(float(np.sum(activity.array)) * float(Q_(1, activity.unit).to("GBq").magnitude), "GBq"),
        calibration=cal_text,
        lung_shunt_fraction=lsf,
        tumour_to_normal=ratios,
        method=method,
        warnings=tuple(dict.fromkeys(warnings)),
        reference=inputs.reference,
        inputs=inputs.inputs,
        identities=inputs.identities,
    )
