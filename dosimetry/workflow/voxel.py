"""Voxel step of the main job: activity image + CT + ROIs -> calibrated activity -> dose -> figures.

:func:`load_imaging` is the only part that reads files; :func:`voxel_dose` is a pure computation
over Volumes and masks (no paths), so it runs on in-memory arrays as well as on DICOM.

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

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pint

from ..errors import InputError
from ..io import check_consistency, load_series, roi_fractions, roi_mask
from ..io.patient import PLAUSIBLE
from ..vocabulary import Calibration, Role
from ..io.bounds import check_dose_memory
from ..io.segmentation import read_segmentation
from ..io.volumes import image_format, read_volume
from ..io.series import ImageSeries
from ..units import Q_, fraction, quantity
from ..voxel.placement import check_activity_placement
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
from ..voxel.calibration import activity_in, activity_map, relative_calibration, screen_activity
from ..voxel.measure import containment_warnings
from ..voxel.metrics import SAMPLING_WARNING
from ..voxel.partial_volume import check_partial_volume
from .partial_volume import correct_regions

__all__ = ["RegionResult", "VoxelResult", "ImagingResult", "ImagingInputs", "load_imaging", "voxel_dose", "compute_dose", "describe_series", "measure_images",
           "roi_masks_on", "share_in_view", "BED_PARAMETERS", "AIR_DENSITY", "LUNG_FIELD_OF_VIEW"]

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
class ImagingInputs:
    """The imaging inputs of one voxel dosimetry, in memory (no paths).

    Parameters
    ----------
    activity : Volume
        The activity image (counts, or Bq/mL for PET) on its own grid; the dose grid.
    liver : Volume
        Whole-liver mask on the activity grid, tumours included (the territory when no
        ``perfused`` mask is given).
    tumours, lungs : dict of str to Volume
        Tumour and lung masks on the activity grid, by ROI name.
    ct : Volume or None
        CT in HU on its own grid.
    liver_name : str
        Name of the liver ROI.
    perfused : Volume or None
        Perfused-territory mask on the activity grid (None: the liver ROI is the territory).
    ct_masks : dict or None
        The same ROIs on the CT grid (``"liver"``, ``"perfused"``, ``"tumours"``, ``"lungs"``), for
        volumes and the lung mass measured where the ROIs were drawn.
    description : dict
        What the activity image is: modality, radionuclide, acquisition date, series UID.
    reference : ImageSeries or None
        The activity series (header for the RT Dose written from the result); None for an
        NRRD / NIfTI activity image (no RT Dose then: the dose is written as NRRD / NIfTI).
    warnings : tuple of str
        What reading found (consistency, rasterization).
    inputs : tuple of str
        The files read, for the audit trail.
    identities : tuple of DicomIdentity
        Patient, study, series and frame-of-reference UIDs of every series read (report.json).
    perfused_name : str
        Name of the perfused-territory ROI ('' without one).
    lungs_out_of_view : dict
        {lung ROI: share inside the field of view} when the activity image misses the lungs
        (:data:`LUNG_FIELD_OF_VIEW`); ``lungs`` is then empty and the lung ROIs are on the CT only.
    at_administration : bool
        Values in Bq/mL refer to the administration time (an absolute calibration needs it); an
        in-memory image is taken to refer to it, as :func:`voxel_dose` documents.
    time_note : str
        Why they do not ('' when they do, or for counts).
    """

    activity: Volume
    liver: Volume
    tumours: dict
    lungs: dict
    ct: Volume | None = None
    liver_name: str = "Liver"
    perfused: Volume | None = None
    ct_masks: dict | None = None
    description: dict = field(default_factory=dict)
    reference: ImageSeries | None = None
    warnings: tuple = ()
    inputs: tuple = ()
    identities: tuple = ()
    perfused_name: str = ""
    lungs_out_of_view: dict = field(default_factory=dict)
    at_administration: bool = True
    time_note: str = ""


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


def _is_bool(m: Volume) -> bool:
    return np.asarray(m.array).dtype == bool


def _union(masks: list[Volume]) -> Volume:
    """Union of masks: logical or for boolean masks; min(1, sum of weights) for occupancy fractions
    (the ROIs joined, e.g. two lungs sharing a boundary voxel, are disjoint tissue)."""
    if all(_is_bool(m) for m in masks):
        arr = np.zeros(masks[0].shape, dtype=bool)
        for m in masks:
            arr |= np.asarray(m.array, dtype=bool)
        return masks[0].with_array(arr)
    acc = np.zeros(masks[0].shape, dtype=np.float64)
    for m in masks:
        acc += np.asarray(m.array, dtype=np.float64)
    return masks[0].with_array(np.minimum(acc, 1.0).astype(np.float32))


def _minus(a: Volume, b: Volume) -> Volume:
    """``a`` without ``b``: a & ~b for boolean masks, clip(w_a - w_b, 0, 1) for fractions (as docs/imaging-inputs.md, normal liver)."""
    if _is_bool(a) and _is_bool(b):
        return a.with_array(np.asarray(a.array, bool) & ~np.asarray(b.array, bool))
    w = np.asarray(a.array, dtype=np.float64) - np.asarray(b.array, dtype=np.float64)
    return a.with_array(np.clip(w, 0.0, 1.0).astype(np.float32))


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
        if r is None or r <= 1.0 or _is_bool(m):
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
    if _is_bool(tumour) and _is_bool(normal):
        return tumour_to_normal_ratio(image, tumour, normal)
    a = np.asarray(image.array, dtype=np.float64).ravel()
    wt = np.asarray(tumour.array, dtype=np.float64).ravel()
    wn = np.asarray(normal.array, dtype=np.float64).ravel()
    cn = float(a @ wn) / float(wn.sum())
    if cn <= 0:
        raise InputError("imaging", "no activity in the normal liver; the tumour-to-normal ratio is undefined")
    return float(a @ wt) / float(wt.sum()) / cn


#: Units a non-DICOM activity image may be declared in (``--activity-unit``, ``[imaging] activity_unit``).
ACTIVITY_UNITS = {"counts": "cts", "cts": "cts", "Bq/mL": "Bq/mL", "kBq/mL": "kBq/mL", "MBq/mL": "MBq/mL"}


def activity_unit(text) -> str:
    """The unit of :data:`ACTIVITY_UNITS` that ``text`` names; case-insensitive except the SI prefix.

    ``counts`` / ``cts`` and the ``bq`` / ``ml`` letters may be written in any case; the prefix of
    Bq keeps its case, because ``m`` (milli) and ``M`` (mega) differ by 10^9: ``mBq/mL`` is refused
    (not in the list), ``MBq/mL`` and ``MBQ/ML`` are MBq/mL, ``kBq/mL`` and ``KBQ/ML`` are kBq/mL.
    """
    t = str(text).strip()
    if t.lower() in ("counts", "cts"):
        return "cts"
    prefix = t[:-5] if t.lower().endswith("bq/ml") else None
    found = {"": "Bq/mL", "k": "kBq/mL", "K": "kBq/mL", "M": "MBq/mL"}.get(prefix) if prefix is not None else None
    if found is None:
        hint = " (milli-becquerel is not accepted; for mega write MBq/mL)" if prefix == "m" else ""
        raise InputError("imaging.activity_unit", f"{str(text)[:40]!r} is not allowed{hint}; choose one of counts, Bq/mL, kBq/mL, MBq/mL", allowed="counts, Bq/mL, kBq/mL, MBq/mL")
    return found


def _non_dicom_activity(path, unit, activity_time, administration_time, warnings: list) -> tuple:
    """Read an NRRD / NIfTI activity image in its declared unit: (Volume, at_administration, note).

    Values in Bq are decay-corrected to the administration when ``activity_time`` says when they
    refer to; without it they are read as they are and only a relative calibration (which scales
    the image as a whole) may use them: ``note`` says why an absolute one may not. Negative and NaN
    values are ruled on later, with the ROIs (:func:`dosimetry.voxel.calibration.screen_activity`).
    """
    from ..decay import check_time_gap, decay_factor, elapsed_between

    if unit is None:
        raise InputError("imaging.activity_unit", f"{path} is NRRD / NIfTI, which does not state its unit; declare it: one of {', '.join(ACTIVITY_UNITS)}")
    vol = read_volume(path, unit=activity_unit(unit), field="imaging.activity", finite=False)  # NaN / inf judged by screen_activity
    if vol.unit == Q_(1, "cts").units:
        if activity_time is not None:
            raise InputError("imaging.activity_time", "only for an activity image in Bq/mL; an image in counts is calibrated relatively and has no reference time")
        return vol, False, ""
    # Activity: the values must refer to the administration time (as PET after the reader's decay correction).
    if activity_time is None:
        return vol, False, f"{Path(path).name} is in {activity_unit(unit)} but the time its values refer to is not given"
    if activity_time == "administration":
        return vol, True, ""
    if administration_time is None:
        raise InputError("imaging.administration_time", "needed to decay-correct an activity image referring to " + activity_time.isoformat())
    # the gap is checked on the times themselves, before any decay is computed
    check_time_gap(activity_time, administration_time, "imaging.activity_time", "imaging.administration_time",
                   after_only=True, reference_name="the administration")
    elapsed = elapsed_between(administration_time, activity_time, "imaging.activity_time")
    if elapsed.magnitude < 0:
        raise InputError("imaging.activity_time", "is before the administration time")
    # A(t_admin) = A(t_ref) exp(+lambda (t_ref - t_admin)), Y-90 half-life (dosimetry.isotope.Y90)
    warnings.append(f"activity image decay-corrected from {activity_time.isoformat()} to the administration ({elapsed:.4g~P} of Y-90 decay)")
    return vol.with_array(np.asarray(vol.array, dtype=np.float64) / decay_factor(elapsed)), True, ""


def load_imaging(
    activity_image,
    segmentation,
    *,
    liver_roi: str,
    tumour_rois=(),
    lung_rois=(),
    ct=None,
    perfused_roi: str | None = None,
    ct_masks: bool = False,
    partial_volume: bool = True,
    allow_mismatch: bool = False,
    progress: Callable[[str], None] | None = None,
    activity_unit: str | None = None,
    activity_time=None,
    administration_time=None,
    labels=None,
) -> ImagingInputs:
    """Read the activity image, CT and segmentation, and put the ROIs on the activity grid.

    Parameters
    ----------
    activity_image : path-like
        DICOM folder (or file) of the activity image: NM (counts) or PT (Bq/mL); or an NRRD
        (``.nrrd``, ``.nhdr``) or NIfTI (``.nii``, ``.nii.gz``) file with ``activity_unit``.
    segmentation : path-like
        RT Structure Set, DICOM SEG, Slicer ``.seg.nrrd``, or a label map (NRRD / NIfTI) with
        ``labels``. ROI names are the ROI / segment names.
    liver_roi : str or sequence of str
        Name of the whole-liver ROI, tumours included (the territory when no ``perfused_roi`` is
        given); or the names of its parts (joined, the region is then called "Liver"), as a label
        map has one label per voxel (e.g. liver parenchyma and tumours).
    tumour_rois, lung_rois : sequence of str
        ROI names of the tumours and of the lungs (several lung ROIs are joined).
    ct : path-like, optional
        CT (DICOM folder, NRRD or NIfTI in HU): density from HU and display.
    perfused_roi : str, optional
        Name of the perfused-territory ROI, tumours included (a lobar or segmental treatment;
        default: the liver ROI is the territory). Tumour-to-normal ratios and the normal-liver
        dose refer to it minus the tumours; it must lie inside the liver ROI.
    ct_masks : bool
        Also rasterize the ROIs on the CT grid (for image-measured volumes and lung mass).
    partial_volume : bool
        ROI masks on the activity grid as partial-volume fractions (default) or voxel-centre
        booleans (only for images whose activity is itself defined by voxel centres, e.g. phantoms
        on the CT grid).
    allow_mismatch : bool
        Accept series whose patient / study / frame of reference differ (explicit override).
    progress : callable, optional
        Called with a short message before each slow step.
    activity_unit : str, optional
        Unit of a non-DICOM activity image: ``counts`` (relative calibration) or an activity
        concentration (``Bq/mL``, ``kBq/mL``, ``MBq/mL``). Required for NRRD / NIfTI,
        refused for DICOM (whose header states it).
    activity_time : "administration" or datetime, optional
        Time the values of a non-DICOM activity image in Bq refer to.
    administration_time : datetime, optional
        Needed when ``activity_time`` is a date-time (decay correction to administration).
    labels : dict or path-like, optional
        Name table of a label-map segmentation.

    Raises
    ------
    InputError
        Unreadable or inconsistent inputs, undeclared unit, unknown ROI, segmentation off the image.
    """
    say = progress or (lambda msg: None)
    warnings: list[str] = []
    say("reading the activity image")
    identities = []
    act, grid, at_admin, time_note = _read_activity(activity_image, activity_unit, activity_time, administration_time, warnings)
    if act is not None:
        identities.append(act.identity)
    ct_volume = None
    if ct is not None:
        say("reading the CT")
        if image_format(ct) == "dicom":
            ct_series = load_series(ct, modality="CT")
            warnings += list(ct_series.warnings)
            identities.append(ct_series.identity)
            ct_volume = ct_series.volume
        else:
            ct_volume = read_volume(ct, unit="dimensionless", field="imaging.ct")  # HU, as Slicer and NIfTI CTs hold
    say("reading the segmentation")
    seg = read_segmentation(segmentation, labels=labels)
    warnings += list(seg.warnings)
    if seg.identity is not None:
        identities.append(seg.identity)
    if len(identities) > 1:
        warnings += list(check_consistency(*identities, allow_mismatch=allow_mismatch))
    non_dicom = [str(p) for p in (activity_image, ct, segmentation) if p is not None and image_format(p) != "dicom"]
    if non_dicom:
        warnings.append(
            "no patient, study or frame-of-reference identifiers in " + ", ".join(non_dicom) + ": the inputs are taken to be of one patient, in one patient space"
        )
    say("putting the regions on the activity grid")
    liver_parts = (liver_roi,) if isinstance(liver_roi, str) else tuple(liver_roi)
    if not liver_parts:
        raise InputError("imaging.rois.liver", "expected the name of the liver ROI (or the names of its parts)")
    _check_roles(liver_parts, tuple(tumour_rois), tuple(lung_rois), perfused_roi)
    out_of_view = _lungs_out_of_view(seg, tuple(lung_rois), grid, warnings)
    in_view_lungs = () if out_of_view else tuple(lung_rois)
    extra = [perfused_roi] if perfused_roi else []
    check_dose_memory(grid.shape, ct_shape=None if ct_volume is None else ct_volume.shape, n_rois=len(liver_parts) + len(tumour_rois) + len(in_view_lungs) + len(extra))
    masks = _masks_on(seg, [*liver_parts, *tumour_rois, *in_view_lungs, *extra], grid, fractions=partial_volume, warnings=warnings)
    # A liver given in parts (a label map has one label per voxel: e.g. liver parenchyma + tumours) is their union.
    liver = masks[liver_parts[0]] if len(liver_parts) == 1 else _union([masks[n] for n in liver_parts])
    tumours = {n: masks[n] for n in tumour_rois}
    perfused = None if perfused_roi is None else masks[perfused_roi]
    _check_inside_liver(liver, tumours, grid)
    if perfused is not None:
        _check_inside_liver(liver, {perfused_roi: perfused}, grid, role="perfused territory", field="imaging.rois.perfused")
    _check_lungs_outside_liver(liver, {n: masks[n] for n in in_view_lungs}, grid)
    if perfused is not None:
        warnings += list(containment_warnings(liver, perfused, tumours))
    screened = screen_activity(grid, masks)
    warnings += list(screened.warnings)
    warnings += check_activity_placement(screened.image, liver, {n: masks[n] for n in in_view_lungs}, ct_volume)
    on_ct = _ct_masks(seg, liver_parts, tuple(tumour_rois), tuple(lung_rois), perfused_roi, ct_volume, warnings) if ct_masks and ct_volume is not None else None
    return ImagingInputs(
        activity=screened.image,
        liver=liver,
        tumours=tumours,
        lungs={n: masks[n] for n in in_view_lungs},
        ct=ct_volume,
        liver_name=liver_parts[0] if len(liver_parts) == 1 else "Liver",
        perfused=perfused,
        perfused_name=perfused_roi or "",
        ct_masks=on_ct,
        description=describe_series(act) if act is not None else describe_file(activity_image, activity_unit),
        reference=act,
        warnings=tuple(warnings),
        inputs=tuple(str(Path(p)) for p in (activity_image, segmentation, ct) if p is not None),
        identities=tuple(identities),
        lungs_out_of_view=out_of_view,
        at_administration=at_admin,
        time_note=time_note,
    )


def _read_activity(path, unit, activity_time, administration_time, warnings: list) -> tuple:
    """(ImageSeries or None, Volume, at_administration, note) of the activity image, DICOM or NRRD / NIfTI.

    A DICOM image is read without requiring the administration time (``require_administration=False``):
    its values may then refer to the acquisition, which a relative calibration accepts and an
    absolute one refuses (:func:`voxel_dose`), naming what the header lacks.
    """
    if image_format(path) != "dicom":
        grid, at_admin, note = _non_dicom_activity(path, unit, activity_time, administration_time, warnings)
        return None, grid, at_admin, note
    if unit is not None:
        raise InputError("imaging.activity_unit", "only for NRRD / NIfTI activity images; a DICOM image states its unit (Units, RealWorldValueMapping)")
    if activity_time is not None:
        raise InputError("imaging.activity_time", "only for NRRD / NIfTI activity images in Bq/mL; a DICOM image states its reference time (DecayCorrection, RadiopharmaceuticalStartDateTime)")
    act = load_series(path, require_administration=False)
    warnings += list(act.warnings)
    modality = str(act.header.get("Modality", "")).upper()
    if modality not in ("NM", "PT"):
        raise InputError("imaging.activity", f"{path} is a {modality or 'non-image'} series; the activity image must be NM (SPECT) or PT (PET)")
    return act, act.volume, act.at_administration, act.time_note


def _ct_masks(seg, liver_parts, tumour_rois, lung_rois, perfused_roi, ct_volume, warnings) -> dict:
    """The ROIs on the CT grid, where they were drawn (volumes and lung mass measured there)."""
    names = [*liver_parts, *tumour_rois, *lung_rois] + ([perfused_roi] if perfused_roi else [])
    on_ct = _masks_on(seg, names, ct_volume, fractions=False, warnings=warnings)
    return {
        "liver": on_ct[liver_parts[0]] if len(liver_parts) == 1 else _union([on_ct[n] for n in liver_parts]),
        "perfused": None if perfused_roi is None else on_ct[perfused_roi],
        "tumours": {n: on_ct[n] for n in tumour_rois},
        "lungs": _union([on_ct[n] for n in lung_rois]) if lung_rois else None,
    }


#: Share of each lung ROI's volume that must lie in the activity image's field of view for the
#: image to measure the lung shunt and the lung dose. Counts of the part outside are missing from
#: C_lung, so the lung shunt reads low by about that share (1 % of a 20 % shunt is 0.2 percentage
#: points, a tenth of the 2-point SPECT-planar agreement, dosimetry.workflow.inputs.TOLERANCES):
#: 1 %, the share above which the segmentation readers already warn. Below it the lungs are taken
#: as outside the field of view (a SPECT centred on the liver commonly stops at the lung bases):
#: the shunt must come from planar counts or a typed value, and the lung ROIs serve only on the CT
#: (lung mass). A choice of this project, docs/imaging-inputs.md.
LUNG_FIELD_OF_VIEW = 0.99


def _lungs_out_of_view(seg, lung_rois: tuple, grid: Volume, warnings: list) -> dict:
    """{lung ROI: share inside the field of view} when any lung ROI lies less than
    :data:`LUNG_FIELD_OF_VIEW` inside the activity image (then none is used on it), else {}."""
    shares = {n: share_in_view(seg, n, grid) for n in lung_rois}
    if not shares or min(shares.values()) >= LUNG_FIELD_OF_VIEW:
        return {}
    seen = ", ".join(f"{n!r} {s:.0%}" for n, s in shares.items())
    warnings.append(
        f"the activity image's field of view misses the lungs (share of each lung ROI inside it: {seen}; at least "
        f"{LUNG_FIELD_OF_VIEW:.0%} needed): the image gives no lung shunt and no lung dose; the lung shunt must come from "
        "planar counts or a typed value (the lung ROIs serve on the CT only)"
    )
    return shares


def share_in_view(seg, name: str, grid: Volume) -> float:
    """Share of a segment's volume whose points lie inside ``grid``'s field of view (voxel boxes).

    Label layers and fractional segments: the segment's voxel centres, weighted by occupancy (on a
    grid sub-sampled to at most about 2 million voxels). RTSTRUCT: the contour points, each
    contour weighted by its area (an approximation good to the contour spacing).
    """
    if seg.kind == "rtstruct":
        pts, weights = _contour_points(seg.structure_set.roi(name).contours)
    else:
        pts, weights = _segment_points(seg, name)
    if weights.sum() <= 0:
        return 0.0
    idx = grid.world_to_index(pts)
    top = np.asarray(grid.shape, dtype=float) - 0.5
    inside = np.all((idx >= -0.5) & (idx <= top), axis=-1)
    return float(weights[inside].sum() / weights.sum())


def _segment_points(seg, name: str) -> tuple:
    """(patient coordinates, weights) of a segment's voxels, sub-sampled before any copy is made."""
    s = seg.segment(name)
    src = s.fractions if s.fractions is not None else seg.layers[s.layer]
    arr = np.asarray(src.array)
    step = max(1, int(np.ceil((arr.size / 2e6) ** (1 / 3))))
    sub = arr[::step, ::step, ::step]
    w = sub.astype(np.float64) if s.fractions is not None else (sub == s.value).astype(np.float64)
    idx = np.argwhere(w > 0)
    return src.index_to_world(idx * step), w[w > 0]


def _contour_points(contours) -> tuple:
    pts, weights = [], []
    for c in contours:
        c = np.asarray(c, dtype=np.float64)
        area = 0.5 * float(np.linalg.norm(np.cross(c, np.roll(c, -1, axis=0)).sum(axis=0)))
        pts.append(c)
        weights.append(np.full(len(c), area / max(len(c), 1)))
    if not pts:
        return np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(pts), np.concatenate(weights)


#: Registration check of the segmentation against the CT (issue 16): density [g/mL] below which a
#: voxel is lung or air (inflated lung about 0.26 g/mL, ICRU 46; 0.5 g/mL is about -500 HU on
#: HU_DENSITY_CURVE) and at or above which it is soft tissue (fat 0.95, soft tissue 1.0-1.06 g/mL,
#: ICRU 46; 0.9 g/mL is about -100 HU), and the share of an ROI's volume beyond which the ROI is
#: said to be off the CT. A liver never has lung density; the lung ROI's vessels and its boundary
#: voxels on a 4-5 mm grid are about 1 % soft tissue in the phantom and a few % in patients, so
#: lungs get a wider margin. On the phantom a 50 mm shift puts 33-68 % of each lung ROI on soft
#: tissue (tests/workflow/test_registration_warning.py).
REGISTRATION_LUNG_DENSITY = Q_(0.5, "g/mL")
REGISTRATION_TISSUE_DENSITY = Q_(0.9, "g/mL")
REGISTRATION_SHARE = {"liver": 0.10, "lung": 0.20}


def _registration_warnings(density: Volume, liver_name: str, liver: Volume, lungs: dict) -> list[str]:
    """Warn when the liver ROI lies largely on lung or air, or a lung ROI on soft tissue, in the CT:
    the segmentation may not be registered with the CT (NRRD / NIfTI carry no frame of reference)."""
    rho = np.asarray(density.array, np.float64) * float(Q_(1, density.unit).to("g/mL").magnitude)
    low = rho < REGISTRATION_LUNG_DENSITY.to("g/mL").magnitude
    tissue = rho >= REGISTRATION_TISSUE_DENSITY.to("g/mL").magnitude
    checks = [(liver_name, liver, low, "liver", "lung or air (< 0.5 g/mL)")]
    checks += [(n, m, tissue, "lung", "soft tissue (>= 0.9 g/mL)") for n, m in lungs.items()]
    out = []
    for name, mask, wrong, role, what in checks:
        w = np.asarray(mask.array, np.float64)
        if w.sum() <= 0:
            continue
        share = float((w * wrong).sum() / w.sum())
        if share > REGISTRATION_SHARE[role]:
            out.append(
                f"{share:.0%} of the {role} ROI {name!r} has the CT density of {what}: the segmentation may not be registered with the CT "
                f"(more than {REGISTRATION_SHARE[role]:.0%} is unusual); check it on the CT before using the doses"
            )
    return out


#: Smallest share of a tumour ROI's volume that must lie inside the liver ROI. The liver ROI holds the
#: tumours (docs/voxel.md, "ROI roles"): a tumour mostly outside it is a wrong ROI (a lung, the
#: other lobe's territory), whose counts would then be neither liver nor lung in the relative
#: calibration. 10 % of slack covers contours drawn a little past the liver capsule. The share is
#: measured with the partial-volume fractions, voxel by voxel min(w_tumour, w_liver): for nested
#: contours that is the tumour's own fraction (100 %), and for touching ones it can only over-state.
MIN_TUMOUR_IN_LIVER = 0.90

#: Largest share of a lung ROI's volume that may lie inside the liver ROI. The right lung base and
#: the liver dome share boundary voxels on a SPECT grid (about 0.5-2 % of a lung at 4-5 mm voxels);
#: a larger certain overlap, voxel by voxel max(0, w_lung + w_liver - 1), is a wrong ROI or a
#: misregistered segmentation, and its counts cannot be both lung shunt and liver uptake.
MAX_LUNG_IN_LIVER = 0.10


def _check_roles(liver_parts: tuple, tumours: tuple, lungs: tuple, perfused: str | None) -> None:
    """Refuse an ROI named in two roles (or twice in one): one region cannot be liver and lung,
    tumour and lung, or the whole liver and one of its tumours. A tumour may be one of the liver's
    parts (a label map's liver is parenchyma + tumours), but not every part."""
    for field_, names in (("imaging.rois.liver", liver_parts), ("imaging.rois.tumours", tumours), ("imaging.rois.lungs", lungs)):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InputError(field_, f"ROI {twice[0]!r} is named twice; name each ROI once")
    for n in lungs:
        if n in liver_parts or n == perfused:
            raise InputError("imaging.rois.lungs", f"ROI {n!r} is also the liver{' (perfused territory)' if n == perfused else ''}; a lung ROI must be a separate region")
        if n in tumours:
            raise InputError("imaging.rois.tumours", f"ROI {n!r} is also a lung ROI; give each ROI one role (liver, tumour or lung)")
    if tumours and all(p in tumours for p in liver_parts):
        raise InputError("imaging.rois.tumours", f"ROI {liver_parts[0]!r} is the liver ROI; a tumour must be a region inside the liver, not the liver itself")


def _share_mL(grid: Volume, w) -> float:
    return float(np.sum(w)) * grid.voxel_volume.to("mL").magnitude


def _check_inside_liver(liver: Volume, rois: dict, grid: Volume, *, role: str = "tumour", field: str = "imaging.rois.tumours") -> None:
    """Refuse a tumour (or perfused-territory) ROI with less than :data:`MIN_TUMOUR_IN_LIVER` of its
    volume in the liver ROI: the liver ROI holds the territory and its tumours."""
    wl = np.asarray(liver.array, np.float64)
    for n, m in rois.items():
        wt = np.asarray(m.array, np.float64)
        total = wt.sum()
        if total <= 0:
            continue  # an empty ROI is refused by the reader or reported as empty
        inside = float(np.minimum(wt, wl).sum() / total)
        if inside < MIN_TUMOUR_IN_LIVER:
            raise InputError(
                field,
                f"{role} ROI {n!r} ({_share_mL(grid, wt):.4g} mL) lies {inside:.0%} inside the liver ROI; a {role} must lie inside the liver ROI "
                f"(at least {MIN_TUMOUR_IN_LIVER:.0%} of its volume): is it the right ROI?",
                allowed=f">= {MIN_TUMOUR_IN_LIVER:.0%} of the {role} volume inside the liver ROI",
            )


def _check_lungs_outside_liver(liver: Volume, lungs: dict, grid: Volume) -> None:
    """Refuse a lung ROI with more than :data:`MAX_LUNG_IN_LIVER` of its volume surely inside the liver ROI."""
    wl = np.asarray(liver.array, np.float64)
    for n, m in lungs.items():
        w = np.asarray(m.array, np.float64)
        total = w.sum()
        if total <= 0:
            continue
        overlap = float(np.clip(w + wl - 1.0, 0.0, None).sum() / total)
        if overlap > MAX_LUNG_IN_LIVER:
            raise InputError(
                "imaging.rois.lungs",
                f"lung ROI {n!r} ({_share_mL(grid, w):.4g} mL) lies {overlap:.0%} inside the liver ROI; lungs and liver must be separate regions "
                f"(at most {MAX_LUNG_IN_LIVER:.0%} overlap at their boundary): is it the right ROI, or is the segmentation misregistered?",
                allowed=f"<= {MAX_LUNG_IN_LIVER:.0%} of the lung volume inside the liver ROI",
            )


def roi_masks_on(seg, names, grid: Volume, warnings: list) -> dict:
    """The named ROIs of a segmentation on ``grid`` as ``y90 dose`` puts them on the activity grid
    (partial-volume fractions): ``y90 dvh`` uses it, so both give the same figures."""
    return _masks_on(seg, names, grid, fractions=True, warnings=warnings)


def _masks_on(seg, names, grid: Volume, *, fractions: bool, warnings: list) -> dict:
    """The named ROIs of a segmentation on ``grid``: RTSTRUCT contours as partial-volume fractions
    (or voxel-centre booleans), other segmentations as occupancy fractions."""
    names = list(dict.fromkeys(names))
    if seg.kind == "rtstruct":
        raster = roi_fractions if fractions else roi_mask
        return {n: raster(seg.structure_set, n, grid) for n in names}
    masks, notes = seg.masks(names, grid)
    warnings += list(notes)
    return masks


def describe_file(path, unit) -> dict:
    """What a non-DICOM activity image is, as far as it is declared (NRRD / NIfTI carry no modality)."""
    return {
        "modality": "not stated (NRRD / NIfTI)",
        "radionuclide": "not stated",
        "acquisition_date": "",
        "series_uid": "",
        "series_description": f"{Path(path).name}, declared unit {unit}",
    }


def describe_series(series: ImageSeries) -> dict:
    """What an activity image is: Modality (0008,0060), radionuclide (RadionuclideCodeSequence or
    Radionuclide), AcquisitionDate (0008,0022) or SeriesDate, SeriesInstanceUID (0020,000E)."""
    h = series.header
    return {
        "modality": str(h.get("Modality", "")),
        "radionuclide": series.radionuclide or "not stated",
        "acquisition_date": str(h.get("AcquisitionDate", "") or h.get("SeriesDate", "") or ""),
        "series_uid": str(h.get("SeriesInstanceUID", "")),
        "series_description": str(h.get("SeriesDescription", "")),
    }


def compute_dose(
    activity_image,
    rtstruct,
    *,
    liver_roi: str,
    tumour_rois=(),
    lung_rois=(),
    ct=None,
    perfused_roi: str | None = None,
    administered=None,
    method: str = "kernel",
    density_method: str = "ct_curve",
    lung_method: str = "density_divided",
    partial_volume: bool = True,
    calibration: str = "relative",
    residual_fraction=0.0,
    allow_mismatch: bool = False,
    progress: Callable[[str], None] | None = None,
    pv_correction: str | None = None,
    fwhm=None,
    **reading,
) -> VoxelResult:
    """:func:`load_imaging` then :func:`voxel_dose` (parameters as theirs).

    ``rtstruct`` is the segmentation (RTSTRUCT, DICOM SEG, ``.seg.nrrd`` or a label map);
    ``reading`` passes ``activity_unit``, ``activity_time``, ``administration_time`` and
    ``labels`` to :func:`load_imaging`.
    """
    _check_options(method, calibration, density_method, lung_method)
    check_partial_volume(pv_correction, fwhm)  # before the slow reading
    unknown = sorted(set(reading) - {"activity_unit", "activity_time", "administration_time", "labels"})
    if unknown:
        raise TypeError(f"compute_dose() got an unexpected keyword argument {unknown[0]!r}")
    inputs = load_imaging(
        activity_image, rtstruct, liver_roi=liver_roi, tumour_rois=tumour_rois, lung_rois=lung_rois, ct=ct, perfused_roi=perfused_roi,
        allow_mismatch=allow_mismatch, progress=progress, partial_volume=partial_volume, **reading,
    )
    return voxel_dose(
        inputs, administered=administered, method=method, density_method=density_method, lung_method=lung_method,
        calibration=calibration, residual_fraction=residual_fraction, progress=progress, pv_correction=pv_correction, fwhm=fwhm,
    )


def _check_options(method: str, calibration: str, density_method: str = "ct_curve", lung_method: str = "density_divided") -> None:
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
    warnings: list[str] = list(inputs.warnings)
    liver, tumours = inputs.liver, dict(inputs.tumours)
    lung = _union(list(inputs.lungs.values())) if inputs.lungs else None
    roi_masks = {inputs.liver_name: liver, **tumours, **inputs.lungs, **({"perfused": inputs.perfused} if inputs.perfused is not None else {})}
    screened = screen_activity(inputs.activity, roi_masks)  # no-op on an image load_imaging has screened
    grid = screened.image
    warnings += list(screened.warnings)
    if lung is not None and np.any(np.asarray(lung.array, np.float64) + np.asarray(liver.array, np.float64) > 1.0 + 1e-6):
        warnings.append("lung and liver ROIs overlap on the activity grid; overlapping voxels count as liver for calibration")
        lung = _minus(lung, liver)
    adm = quantity(administered, "GBq", "administered", minimum=0, include_minimum=False) if administered is not None else None
    activity, lsf, cal_text = _calibrate(inputs, grid, calibration, adm, liver, lung, residual_fraction, lung_shunt_fraction)
    in_roi = np.asarray(_union([liver, *tumours.values()] + ([lung] if lung is not None else [])).array) > 0
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
    say("dose-volume figures")
    regions, masks, ratios, normal_name = _regions(inputs, grid, dose, activity, lung)
    warnings += _sampling_warnings(grid, tumours, ratios)
    pvc = None
    if pv_method is not None:
        say("partial-volume correction (geometric transfer matrix)")
        pvc = correct_regions(activity, masks, {r.name: r.role for r in regions}, fwhm=pv_fwhm, method=method, density=density,
                              relative=Calibration.parse(calibration, "calibration") == Calibration.RELATIVE)
    return VoxelResult(
        dose=dose,
        activity=activity,
        ct=ct_on_grid,
        masks=masks,
        regions=tuple(regions),
        administered=adm,
        image_activity=Q_(float(np.sum(activity.array)) * float(Q_(1, activity.unit).to("GBq").magnitude), "GBq"),
        calibration=cal_text,
        calibration_method=Calibration.parse(calibration, "calibration"),
        lung_shunt_fraction=lsf,
        tumour_to_normal=ratios,
        method=method,
        warnings=tuple(dict.fromkeys(warnings)),
        reference=inputs.reference,
        inputs=inputs.inputs,
        identities=inputs.identities,
        density_method=density_method,
        lung_method=lung_method if lung is not None else None,
        lung_density=lung_density,
        territory=inputs.perfused_name or inputs.liver_name,
        normal_reference=normal_name,
        lungs_out_of_view=dict(inputs.lungs_out_of_view),
        partial_volume=pvc,
    )


def _calibrate(inputs: ImagingInputs, grid: Volume, calibration: str, adm, liver, lung, residual_fraction, lung_shunt_fraction) -> tuple:
    """(activity map [MBq], lung shunt fraction or None, text) by the relative or absolute calibration."""
    try:
        if calibration == "relative":
            if adm is None:
                raise InputError("administered", "relative calibration needs the administered activity (e.g. --administered '2.1 GBq')")
            given = None if lung_shunt_fraction is None else fraction(lung_shunt_fraction, "lung_shunt_fraction")
            cal = relative_calibration(grid, adm, liver, lung, residual_fraction=residual_fraction, lung_shunt_fraction=given)
            lsf = cal.lung_shunt_fraction if (lung is not None and given is None) else None  # measured on the image only
            text = f"relative ({cal.mode}): {adm:.4g~P} administered x (1 - {residual_fraction:g} residual) in the image"
            if given is not None:
                text += f"; lung shunt {given:.2%} (not measured on this image)"
            return cal.activity, lsf, text
        if Q_(1, grid.unit).dimensionality != Q_(1, "Bq/mL").dimensionality:
            raise InputError("calibration", f"absolute calibration needs an image in Bq/mL (PT Units BQML); this image is in {grid.unit:~P}")
        _check_absolute_time(inputs)
        activity = activity_map(grid)
        _check_image_total(activity, adm, residual_fraction)
        lsf = None
        if lung is not None:
            cl = activity_in(activity, lung).to("GBq").magnitude
            cv = activity_in(activity, liver).to("GBq").magnitude
            lsf = cl / (cl + cv) if cl + cv > 0 else None
        return activity, lsf, "absolute (Bq/mL decay-corrected to administration)"
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("imaging", str(exc)) from exc


def _check_absolute_time(inputs: ImagingInputs) -> None:
    """An absolute calibration takes the Bq/mL as the activity at the administration: refuse values
    whose reference time is unknown, saying why; a relative calibration needs no time."""
    if inputs.at_administration:
        return
    dicom = inputs.reference is not None
    fix = ("a DICOM header with DecayCorrection and RadiopharmaceuticalStartDateTime" if dicom
           else "the time ('administration', or the date-time the values refer to, with the administration time)")
    raise InputError(
        "calibration" if dicom else "imaging.activity_time",
        f"absolute calibration takes the image's Bq/mL as the activity at the administration, so it needs the time the values refer to: "
        f"{inputs.time_note or 'not stated'}. Give {fix}, or use relative calibration, which scales the image to the administered activity and needs no time",
    )


def _density(inputs: ImagingInputs, grid: Volume, liver, tumours: dict, in_roi, density_method: str, say) -> tuple:
    """(density, CT on the activity grid or None, warnings): from the CT, else 1.03 g/mL."""
    if inputs.ct is None:
        return Q_(1.03, "g/mL"), None, ["no CT: density 1.03 g/mL everywhere, so lung dose is underestimated (lung density is about 0.3 g/mL)"]
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
    warnings = _registration_warnings(density, inputs.liver_name, liver, inputs.lungs)
    if density_method == "liver_nominal":
        density = with_nominal_density(density, _union([liver, *tumours.values()]))
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
    union = _union(list(tumours.values())) if tumours else None
    territory = perfused if perfused is not None else liver
    normal = _minus(territory, union) if union is not None else None
    normal_name = "Normal liver" if perfused is None else "Perfused normal liver"
    add(inputs.liver_name, "liver", liver)
    if perfused is not None:
        add(inputs.perfused_name or "Perfused territory", "perfused", perfused)
    has_normal = normal is not None and np.any(normal.array)
    if has_normal:
        add(normal_name, "normal liver", normal)
    if perfused is not None and union is not None:
        whole = _minus(liver, union)
        if np.any(whole.array):
            add("Whole normal liver", "whole normal liver", whole)
    for n, m in tumours.items():
        add(n, "tumour", m)
    if lung is not None:
        lung_rois = tuple(inputs.lungs)
        add(lung_rois[0] if len(lung_rois) == 1 else "Lungs", "lung", lung)  # the union of the lung ROIs
    ratios = {n: _tumour_to_normal(grid, m, normal) for n, m in tumours.items()} if has_normal else {}
    return regions, masks, ratios, normal_name if has_normal else ""


#: Image total / (administered x (1 - residual)) accepted for an absolute (Bq/mL) image. Y-90 PET
#: recovers about 80-110 % of the administered activity in patient and phantom studies (e.g. Willowson
#: et al., EJNMMI Phys 2015, QUEST phantom study), and a field of view that misses part of the lungs
#: or of the body lowers it further; a ratio outside [0.5, 1.5] is not a quantification error but a
#: unit, decay-correction or calibration slip (a day of decay is a factor 1.3, a MBq/kBq slip 1000).
IMAGE_TOTAL_RATIO = (0.5, 1.5)


def _check_image_total(activity: Volume, administered, residual_fraction) -> None:
    """Refuse an absolute image whose total activity at administration is implausible: against
    the administered activity (:data:`IMAGE_TOTAL_RATIO`) if given, else against the patient file's
    plausible administered range (``PLAUSIBLE["imaging.administered"]``, dosimetry.io.patient)."""
    total = Q_(float(np.sum(activity.array)), activity.unit).to("GBq")
    if administered is not None:
        expected = administered.to("GBq") * (1.0 - fraction(residual_fraction, "residual_fraction"))
        ratio = float((total / expected).to("").magnitude)
        lo, hi = IMAGE_TOTAL_RATIO
        if not lo <= ratio <= hi:
            raise InputError(
                "imaging.activity",
                f"the image holds {total:.4g~P} at administration, {ratio:.3g} x the {expected:.4g~P} administered (net of residual); "
                f"plausible {lo:g}-{hi:g} x: check the image unit, its reference time and the administered activity",
                allowed=f"[{lo:g}, {hi:g}] x the administered activity",
            )
        return
    r = PLAUSIBLE["imaging.administered"]
    if not r.low <= total.to(r.unit).magnitude <= r.high:
        raise InputError(
            "imaging.activity",
            f"the image holds {total:.4g~P} at administration; plausible {r.low:g}-{r.high:g} {r.unit} ({r.source}): "
            "check the image unit and its reference time",
            allowed=f"[{r.low:g}, {r.high:g}] {r.unit} in the image at administration",
        )


def measure_images(inputs: ImagingInputs):
    """The plan inputs the planning images give (:func:`dosimetry.voxel.measure.measure_plan_inputs`).

    Count ratios (lung shunt, tumour-to-normal) on the activity image; volumes and lung mass on the
    CT grid when the ROIs were rasterized there (``load_imaging(..., ct_masks=True)``). Without lung
    ROIs in the field of view there is no image lung shunt (the measurements say why), and the
    lung mass still comes from the lung ROIs on the CT.
    """
    from ..voxel.measure import measure_plan_inputs

    ct_masks = None
    if inputs.ct_masks is not None:
        ct_masks = {k: v for k, v in inputs.ct_masks.items() if v is not None}
    return measure_plan_inputs(
        inputs.activity,
        liver_mask=inputs.liver,
        lung_mask=_union(list(inputs.lungs.values())) if inputs.lungs else None,
        tumour_masks=inputs.tumours,
        perfused_mask=inputs.perfused,
        ct=inputs.ct if ct_masks else None,
        ct_masks=ct_masks,
        lung_note=_lung_note(inputs),
    )


def _lung_note(inputs: ImagingInputs) -> str:
    """Why the activity image gives no lung shunt ('' when it has lungs in view)."""
    if inputs.lungs:
        return ""
    if inputs.lungs_out_of_view:
        seen = ", ".join(f"{n!r} {s:.0%}" for n, s in inputs.lungs_out_of_view.items())
        return f"the activity image's field of view misses the lungs (share of each lung ROI inside it: {seen})"
    return "no lung ROI is given for the activity image (imaging.rois.lungs)"
