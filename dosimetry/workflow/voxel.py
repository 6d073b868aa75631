"""Voxel step of the main job: activity image + CT + ROIs -> calibrated activity -> dose -> figures.

:func:`load_imaging` (:mod:`.imaging`) is the only part that reads files; :func:`voxel_dose`, here,
is a pure computation over Volumes and masks (no paths), so it runs on in-memory arrays as well as
on DICOM. This module holds the dose orchestration and its results; the steps it calls live in
modules named for what they hold: :mod:`.image_files` (format dispatch), :mod:`.activity_units`
(declared units, decay correction), :mod:`.masks` (ROIs on a grid), :mod:`.roi_roles` (role and
registration checks), :mod:`.field_of_view` (lungs in view), :mod:`.image_calibration` (relative or
absolute calibration). Their public names are importable from here as before.

The steps (design brief, "Voxel dosimetry"):

1. (:func:`load_imaging`) read the activity image (NM counts or PT Bq/mL, NRRD / NIfTI in a
   declared unit), the CT (optional) and the segmentation, check that they belong to one patient,
   study and frame of reference, and put the ROIs onto the activity image grid (dose is computed on
   that grid) as partial-volume fractions (:func:`dosimetry.io.roi_fractions`, about 1 mm
   sub-sampling); then apply the one rule for negative and NaN values of every format
   (:func:`dosimetry.voxel.calibration.screen_activity`), and note whether the lungs lie in the
   field of view (:data:`LUNG_FIELD_OF_VIEW`);
2. (:func:`voxel_dose`, from here on) calibrate: *relative* (scale the image, counts or Bq/mL, so
   that liver + lungs, or the liver alone, hold the administered activity times (1 - residual
   fraction), times (1 - LSF) for a planar or typed shunt; no reference time needed) or *absolute*
   (Bq/mL referring to the administration time: PET decay-corrected by the reader, NM by its
   DecayCorrection, NRRD / NIfTI by the declared activity time);
3. density (named method, :data:`dosimetry.voxel.DENSITY_METHODS`): CT resampled to the activity
   grid through the HU-to-density curve, optionally 1.03 g/mL inside the liver and tumour ROIs;
   1.03 g/mL everywhere without CT;
4. dose for complete decay by local deposition or dose-voxel-kernel convolution, lungs by a named
   method (:data:`dosimetry.voxel.LUNG_METHODS`);
5. per ROI: volume, activity, mean / min / max, D_x, V_x, mean BED, and the DVH; the whole liver,
   the perfused territory and its normal liver (territory minus tumours, the reference of the
   tumour-to-normal ratios and of the normal-liver dose), the whole normal liver apart; the
   image-based lung shunt fraction.
"""



from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pint

from ..errors import InputError
from ..io.series import ImageSeries
from ..units import Q_, quantity
from ..vocabulary import Calibration, Role
from ..voxel import (
    DENSITY_METHODS,
    DVH,
    LUNG_METHODS,
    RegionStats,
    Volume,
    convolve_dose,
    density_from_hu,
    dvh,
    local_deposition,
    lung_kernel_dose,
    mean_bed,
    region_stats,
    resample_to,
    sampled_mean_fraction,
    sampling_recovery,
    tumour_to_normal_ratio,
    with_nominal_density,
)
from ..voxel.calibration import activity_in, screen_activity
from ..voxel.metrics import SAMPLING_WARNING
from ..voxel.partial_volume import check_partial_volume
from ..voxel.resample import covered_by
from .activity_units import ACTIVITY_UNITS, activity_unit
from .field_of_view import LUNG_FIELD_OF_VIEW, share_in_view
from .image_calibration import IMAGE_TOTAL_RATIO, calibrate
from .image_files import describe_file, describe_series
from .imaging import ImagingInputs, load_imaging, measure_images
from .masks import is_bool, minus, roi_masks_on, union
from .partial_volume import correct_regions
from .roi_roles import (
    MAX_LUNG_IN_LIVER,
    MIN_TUMOUR_IN_LIVER,
    REGISTRATION_LUNG_DENSITY,
    REGISTRATION_SHARE,
    REGISTRATION_TISSUE_DENSITY,
    registration_warnings,
)

__all__ = ["RegionResult", "VoxelResult", "ImagingResult", "ImagingInputs", "load_imaging", "voxel_dose", "compute_dose", "describe_series", "measure_images",
           "roi_masks_on", "share_in_view", "BED_PARAMETERS", "AIR_DENSITY", "LUNG_FIELD_OF_VIEW", "MAX_LUNG_IN_LIVER", "MIN_TUMOUR_IN_LIVER",
           "ACTIVITY_UNITS", "activity_unit", "describe_file", "IMAGE_TOTAL_RATIO", "REGISTRATION_LUNG_DENSITY", "REGISTRATION_TISSUE_DENSITY",
           "REGISTRATION_SHARE"]

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
    "perfused": (Q_(2.5, "Gy"), Q_(2.5, "h")),
    "normal liver": (Q_(2.5, "Gy"), Q_(2.5, "h")),
    "whole normal liver": (Q_(2.5, "Gy"), Q_(2.5, "h")),
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
    reference: ImageSeries | None
    inputs: tuple
    density_method: str = "ct_curve"
    lung_method: str | None = None
    lung_density: pint.Quantity | None = None
    #: How the image was calibrated (``calibration`` is the same as text for the reader).
    calibration_method: Calibration = Calibration.RELATIVE
    territory: str = ""
    normal_reference: str = "Normal liver"
    lungs_out_of_view: dict = field(default_factory=dict)
    #: Partial-volume corrected figures, beside the plain ones (None without a correction).
    partial_volume: object = None

    @property
    def density_text(self) -> str:
        """One line for the report: which density was used."""
        if self.ct is None:
            return "no CT: 1.03 g/mL everywhere"
        return DENSITY_METHODS[self.density_method]

    @property
    def lung_text(self) -> str | None:
        """One line for the report: how the lungs were handled (None without lung ROIs)."""
        if self.lung_method is None:
            return None
        if self.method == "ldm":
            return "local deposition, energy divided by the local density"
        text = LUNG_METHODS[self.lung_method]
        return text if self.lung_density is None else f"{text}; lung density {self.lung_density.to('g/mL').magnitude:.3g} g/mL"
    identities: tuple = ()

    def region(self, name: str) -> RegionResult:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)


ImagingResult = VoxelResult  # the name used before the workflow package


def _sampling_warnings(grid: Volume, tumours: dict, ratios: dict) -> list[str]:
    """Tumours small for the grid: the voxel mean under-states the true mean by sampling alone.

    Expected ratio (voxel mean / true mean) ``(1 + (R - 1) s) / R`` with ``s`` the occupancy
    recovery (:func:`dosimetry.voxel.sampling_recovery`) and R the measured T/N (itself lowered by
    the same effect, so the figure is a lower bound on the bias); camera blur adds to it.
    """
    out = []
    spacing = " x ".join(f"{v:.3g}" for v in grid.spacing_mm)
    for n, m in tumours.items():
        r = ratios.get(n)
        if r is None or r <= 1.0 or is_bool(m):
            continue
        low = 1.0 - sampled_mean_fraction(sampling_recovery(m), r)
        if low >= SAMPLING_WARNING:
            vol = float(np.asarray(m.array, np.float64).sum()) * grid.voxel_volume.to("mL").magnitude
            out.append(
                f"{n} ({vol:.3g} mL) is small for the {spacing} mm activity grid: its boundary voxels mix with normal liver, "
                f"which alone puts its mean dose about {low:.0%} low (uniform uptake, T/N {r:.3g}, local deposition); "
                "camera blur adds to this, so read its mean dose and D70 as lower bounds"
            )
    return out


def _tumour_to_normal(image: Volume, tumour: Volume, normal: Volume) -> float:
    """T/N = (C_T / W_T) / (C_N / W_N) (partition model, Ho et al. 1996; docs/imaging-inputs.md).

    Boolean masks go to :func:`dosimetry.voxel.tumour_to_normal_ratio`; occupancy fractions
    share boundary voxels between tumour and normal liver (normal = clip(liver - tumours)), which
    that function refuses as an overlap, so the weighted means are taken here.
    """
    if is_bool(tumour) and is_bool(normal):
        return tumour_to_normal_ratio(image, tumour, normal)
    a = np.asarray(image.array, dtype=np.float64).ravel()
    wt = np.asarray(tumour.array, dtype=np.float64).ravel()
    wn = np.asarray(normal.array, dtype=np.float64).ravel()
    cn = float(a @ wn) / float(wn.sum())
    if cn <= 0:
        raise InputError("imaging", "no activity in the normal liver; the tumour-to-normal ratio is undefined")
    return float(a @ wt) / float(wt.sum()) / cn


def compute_dose(activity_image, segmentation, **options) -> VoxelResult:
    """:func:`load_imaging` then :func:`voxel_dose`, for scripts and tests.

    ``segmentation`` is the RTSTRUCT, DICOM SEG, ``.seg.nrrd`` or label map; ``options`` are the
    keyword arguments of the two (``liver_roi``, ``ct``, ``activity_unit``, ..., ``administered``,
    ``method``, ...), each passed to the one that takes it (``progress`` to both). The method options
    are checked before any file is read. (``y90 dose`` and ``y90 report`` run
    :mod:`dosimetry.workflow.case`, which calls the same two.)
    """
    unknown = sorted(set(options) - _LOAD_OPTIONS - _DOSE_OPTIONS)
    if unknown:
        raise TypeError(f"compute_dose() got an unexpected keyword argument {unknown[0]!r}")
    dosing = {k: v for k, v in options.items() if k in _DOSE_OPTIONS}
    _check_options(**{k: v for k, v in dosing.items() if k in ("method", "calibration", "density_method", "lung_method")})
    check_partial_volume(dosing.get("pv_correction"), dosing.get("fwhm"))  # before the slow reading
    inputs = load_imaging(activity_image, segmentation, **{k: v for k, v in options.items() if k in _LOAD_OPTIONS})
    return voxel_dose(inputs, **dosing)


def _check_options(method: str = "kernel", calibration: str = "relative", density_method: str = "ct_curve", lung_method: str = "density_divided") -> None:
    if method not in ("kernel", "ldm"):
        raise InputError("method", f"{method!r} is not allowed; choose kernel or ldm")
    if density_method not in DENSITY_METHODS:
        raise InputError("density_method", f"{density_method!r} is not allowed; choose {' or '.join(DENSITY_METHODS)}")
    if lung_method not in LUNG_METHODS:
        raise InputError("lung_method", f"{lung_method!r} is not allowed; choose {' or '.join(LUNG_METHODS)}")
    if calibration not in ("relative", "absolute"):
        raise InputError("calibration", f"{calibration!r} is not allowed; choose relative or absolute")


def voxel_dose(
    inputs: ImagingInputs,
    *,
    administered=None,
    method: str = "kernel",
    density_method: str = "ct_curve",
    lung_method: str = "density_divided",
    calibration: str = "relative",
    residual_fraction=0.0,
    lung_shunt_fraction=None,
    progress: Callable[[str], None] | None = None,
    pv_correction: str | None = None,
    fwhm=None,
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
    density_method : str
        ``"ct_curve"`` (HU-to-density curve everywhere) or ``"liver_nominal"`` (1.03 g/mL inside
        the liver and tumour ROIs, partial voxels blended); see :data:`dosimetry.voxel.DENSITY_METHODS`.
    lung_method : str
        ``"density_divided"`` or ``"density_scaled"`` (kernel method with lung ROIs only); see
        :data:`dosimetry.voxel.LUNG_METHODS`.
    calibration : str
        ``"relative"`` (scale the image to the administered activity: counts or Bq/mL, no time
        needed) or ``"absolute"`` (an image in Bq/mL referring to the administration time).
    residual_fraction : float
        Fraction of the administered activity left in vial and tubing, [0, 1).
    lung_shunt_fraction : float, optional
        Relative calibration of an image without lungs in view (planar or typed shunt): the liver
        holds A (1 - R) (1 - LSF) (:func:`dosimetry.voxel.calibration.relative_calibration`).
    progress : callable, optional
        Called with a short message before each slow step.
    pv_correction, fwhm : str and pint.Quantity, optional
        Partial-volume correction ``"gtm"`` and the camera's FWHM: corrected figures beside the plain ones
        (:func:`dosimetry.workflow.partial_volume.correct_regions`; the plain ones are unchanged).

    Returns
    -------
    VoxelResult
        Regions: the liver ROI (role ``liver``), the perfused territory (``perfused``, when
        given), the normal liver of the territory (``normal liver``: territory minus tumours, the
        reference of every tumour-to-normal ratio), the whole normal liver (``whole normal liver``,
        liver minus tumours, when a perfused territory is given), tumours, lungs.

    Raises
    ------
    InputError
        Calibration impossible, CT not covering the ROIs, bad parameters.
    """
    say = progress or (lambda msg: None)
    _check_options(method, calibration, density_method, lung_method)
    pv_method, pv_fwhm = check_partial_volume(pv_correction, fwhm)
    d = _dose_map(inputs, administered, method=method, density_method=density_method, lung_method=lung_method, calibration=calibration,
                  residual_fraction=residual_fraction, lung_shunt_fraction=lung_shunt_fraction, say=say)
    say("dose-volume figures")
    result = _figures(inputs, d, method=method, density_method=density_method, lung_method=lung_method, calibration=calibration)
    if pv_method is None:
        return result
    say("partial-volume correction (geometric transfer matrix)")
    pvc = correct_regions(d.activity, result.masks, {r.name: r.role for r in result.regions}, fwhm=pv_fwhm, method=method,
                          density=d.density, relative=result.calibration_method == Calibration.RELATIVE)
    return replace(result, partial_volume=pvc)


@dataclass(frozen=True)
class _DoseMap:
    """What :func:`_dose_map` computed: the screened image (the grid), the calibrated activity, the
    dose, the CT on the grid, the joined lung mask and the warnings so far."""

    grid: Volume
    activity: Volume
    administered: pint.Quantity | None
    lung_shunt_fraction: float | None
    calibration_text: str
    dose: Volume
    ct_on_grid: Volume | None
    lung: Volume | None
    lung_density: pint.Quantity | None
    warnings: list
    density: object = None  # the density map of the dose (pint.Quantity or Volume)


def _dose_map(inputs: ImagingInputs, administered, *, method: str, density_method: str, lung_method: str, calibration: str,
              residual_fraction, lung_shunt_fraction, say) -> _DoseMap:
    """Screen and calibrate the image, then the density and the dose for complete decay (steps 2-4)."""
    warnings: list[str] = list(inputs.warnings)
    liver, tumours = inputs.liver, dict(inputs.tumours)
    lung = union(list(inputs.lungs.values())) if inputs.lungs else None
    roi_masks = {inputs.liver_name: liver, **tumours, **inputs.lungs, **({"perfused": inputs.perfused} if inputs.perfused is not None else {})}
    screened = screen_activity(inputs.activity, roi_masks)  # no-op on an image load_imaging has screened
    grid = screened.image
    warnings += list(screened.warnings)
    if lung is not None and np.any(np.asarray(lung.array, np.float64) + np.asarray(liver.array, np.float64) > 1.0 + 1e-6):
        warnings.append("lung and liver ROIs overlap on the activity grid; overlapping voxels count as liver for calibration")
        lung = minus(lung, liver)
    adm = quantity(administered, "GBq", "administered", minimum=0, include_minimum=False) if administered is not None else None
    activity, lsf, cal_text = calibrate(inputs, grid, calibration, adm, liver, lung, residual_fraction, lung_shunt_fraction)
    in_roi = np.asarray(union([liver, *tumours.values()] + ([lung] if lung is not None else [])).array) > 0
    density, ct_on_grid, dwarn = _density(inputs, grid, liver, tumours, in_roi, density_method, say)
    warnings += dwarn
    say("computing dose (" + ("kernel convolution" if method == "kernel" else "local deposition") + ")")
    lung_density = None
    if method == "ldm":
        dose = local_deposition(activity, density=density)
    elif lung is not None and np.any(np.asarray(lung.array) > 0):
        dose, lung_density = lung_kernel_dose(activity, lung, density=density, method=lung_method)
    else:
        dose = convolve_dose(activity, density=density)
    dose, awarn = _air_rule(dose, activity, density, in_roi, grid)
    warnings += awarn
    return _DoseMap(grid, activity, adm, lsf, cal_text, dose, ct_on_grid, lung, lung_density, warnings, density)


def _figures(inputs: ImagingInputs, d: _DoseMap, *, method: str, density_method: str, lung_method: str, calibration: str) -> VoxelResult:
    """Per-region figures of the dose map (step 5) and the :class:`VoxelResult`."""
    regions, masks, ratios, normal_name = _regions(inputs, d.grid, d.dose, d.activity, d.lung)
    warnings = d.warnings + _sampling_warnings(d.grid, dict(inputs.tumours), ratios)
    return VoxelResult(
        dose=d.dose,
        activity=d.activity,
        ct=d.ct_on_grid,
        masks=masks,
        regions=tuple(regions),
        administered=d.administered,
        image_activity=Q_(float(np.sum(d.activity.array)) * float(Q_(1, d.activity.unit).to("GBq").magnitude), "GBq"),
        calibration=d.calibration_text,
        calibration_method=Calibration.parse(calibration, "calibration"),
        lung_shunt_fraction=d.lung_shunt_fraction,
        tumour_to_normal=ratios,
        method=method,
        warnings=tuple(dict.fromkeys(warnings)),
        reference=inputs.reference,
        inputs=inputs.inputs,
        identities=inputs.identities,
        density_method=density_method,
        lung_method=lung_method if d.lung is not None else None,
        lung_density=d.lung_density,
        territory=inputs.perfused_name or inputs.liver_name,
        normal_reference=normal_name,
        lungs_out_of_view=dict(inputs.lungs_out_of_view),
    )


def _density(inputs: ImagingInputs, grid: Volume, liver, tumours: dict, in_roi, density_method: str, say) -> tuple:
    """(density, CT on the activity grid or None, warnings): from the CT, else 1.03 g/mL."""
    if inputs.ct is None:
        return Q_(1.03, "g/mL"), None, ["no CT: density 1.03 g/mL everywhere, so lung dose is underestimated (lung density is about 0.3 g/mL)"]
    say("resampling the CT to the activity grid")
    ct_on_grid = resample_to(inputs.ct, grid, kind="linear", fill=-1000.0)
    covered = covered_by(inputs.ct, grid)  # resample_to of ones >= 0.5, axis by axis where it can (issue 22)
    outside = in_roi & ~covered
    if outside.any():
        raise InputError(
            "imaging.ct",
            f"the CT does not cover {int(outside.sum())} voxels ({outside.sum() * grid.voxel_volume.to('mL').magnitude:.1f} mL) "
            "of the liver, tumour or lung ROIs; their density would be unknown",
        )
    density = density_from_hu(ct_on_grid)
    warnings = registration_warnings(density, inputs.liver_name, liver, inputs.lungs)
    if density_method == "liver_nominal":
        density = with_nominal_density(density, union([liver, *tumours.values()]))
    return density, ct_on_grid, warnings


def _air_rule(dose: Volume, activity: Volume, density, in_roi, grid: Volume) -> tuple:
    """No dose in air outside every ROI (:data:`AIR_DENSITY`); (dose, warnings)."""
    if not isinstance(density, Volume):
        return dose, []
    warnings = []
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
    return dose, warnings


def _regions(inputs: ImagingInputs, grid: Volume, dose: Volume, activity: Volume, lung) -> tuple:
    """(regions, masks, tumour-to-normal ratios, name of the normal region they refer to).

    The normal liver is the territory (perfused ROI, else the liver ROI) minus the tumours: every
    tumour-to-normal ratio and the normal-liver dose refer to it. With a perfused ROI the whole
    liver's normal part (liver minus tumours) is a region of its own, labelled so.
    """
    regions, masks = [], {}

    def add(name, role, mask):
        bp = BED_PARAMETERS.get(role)
        masks[name] = mask
        regions.append(RegionResult(name=name, role=Role(role), stats=region_stats(dose, mask), activity=activity_in(activity, mask).to("GBq"),
                                    mean_bed=mean_bed(dose, mask, *bp) if bp else None, dvh=dvh(dose, mask)))

    liver, tumours, perfused = inputs.liver, dict(inputs.tumours), inputs.perfused
    tumour_union = union(list(tumours.values())) if tumours else None
    territory = perfused if perfused is not None else liver
    normal = minus(territory, tumour_union) if tumour_union is not None else None
    normal_name = "Normal liver" if perfused is None else "Perfused normal liver"
    add(inputs.liver_name, "liver", liver)
    if perfused is not None:
        add(inputs.perfused_name or "Perfused territory", "perfused", perfused)
    has_normal = normal is not None and np.any(normal.array)
    if has_normal:
        add(normal_name, "normal liver", normal)
    if perfused is not None and tumour_union is not None:
        whole = minus(liver, tumour_union)
        if np.any(whole.array):
            add("Whole normal liver", "whole normal liver", whole)
    for n, m in tumours.items():
        add(n, "tumour", m)
    if lung is not None:
        lung_rois = tuple(inputs.lungs)
        add(lung_rois[0] if len(lung_rois) == 1 else "Lungs", "lung", lung)  # the union of the lung ROIs
    ratios = {n: _tumour_to_normal(grid, m, normal) for n, m in tumours.items()} if has_normal and normal is not None else {}
    return regions, masks, ratios, normal_name if has_normal else ""


#: The keyword arguments of :func:`load_imaging` and of :func:`voxel_dose` (:func:`compute_dose` passes each to its own).
_LOAD_OPTIONS = frozenset(inspect.signature(load_imaging).parameters) - {"activity_image", "segmentation"}
_DOSE_OPTIONS = frozenset(inspect.signature(voxel_dose).parameters) - {"inputs"}
