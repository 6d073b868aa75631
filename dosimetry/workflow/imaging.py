"""Reading the voxel step's inputs: :func:`load_imaging` reads the activity image, the CT and the
segmentation, checks that they belong together, and puts the ROIs on the activity grid
(:class:`ImagingInputs`); :func:`measure_images` gives the plan inputs the planning images measure.

The only part of the voxel step that reads files; :func:`dosimetry.workflow.voxel.voxel_dose` is a
pure computation over what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..io import check_consistency
from ..io.bounds import check_dose_memory
from ..io.segmentation import read_segmentation
from ..io.series import ImageSeries
from ..io.volumes import image_format
from ..voxel import Volume
from ..voxel.calibration import screen_activity
from ..voxel.measure import containment_warnings
from ..voxel.placement import check_activity_placement
from .field_of_view import lung_shares_out_of_view
from .image_files import describe_file, describe_series, read_activity, read_ct
from .masks import masks_on, masks_on_ct, union
from .roi_roles import check_inside_liver, check_lungs_outside_liver, check_roles


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
class _ImageFiles:
    """What :func:`_read_files` read: the activity image (its series, None for NRRD / NIfTI, and its
    volume), the CT volume, the segmentation and the identities of every DICOM series."""

    series: ImageSeries | None
    grid: Volume
    at_administration: bool
    time_note: str
    ct: Volume | None
    segmentation: object
    identities: tuple


def load_imaging(
    activity_image,
    segmentation,
    *,
    liver_roi: str | Sequence[str],
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
        ``labels`` (its name table, dict or path). ROI names are the ROI / segment names.
    liver_roi : str or sequence of str
        The whole-liver ROI, tumours included (the territory without ``perfused_roi``); or its parts,
        joined into "Liver" (a label map has one label per voxel: e.g. parenchyma and tumours).
    tumour_rois, lung_rois : sequence of str
        ROI names of the tumours and of the lungs (several lung ROIs are joined).
    ct : path-like, optional
        CT (DICOM folder, NRRD or NIfTI in HU): density from HU and display.
    perfused_roi : str, optional
        The perfused territory, tumours included, inside the liver ROI (lobar or segmental treatment):
        tumour-to-normal ratios and the normal-liver dose refer to it minus the tumours.
    ct_masks : bool
        Also rasterize the ROIs on the CT grid (for image-measured volumes and lung mass).
    partial_volume : bool
        ROI masks on the activity grid as partial-volume fractions (default) or voxel-centre
        booleans (only for images whose activity is itself defined by voxel centres, e.g. phantoms).
    allow_mismatch : bool
        Accept series whose patient / study / frame of reference differ (explicit override).
    progress : callable, optional
        Called with a short message before each slow step.
    activity_unit, activity_time, administration_time : optional
        Non-DICOM activity image only (a DICOM header states them): its unit, ``counts`` or
        ``Bq/mL``, ``kBq/mL``, ``MBq/mL`` (required); the time its Bq values refer to
        (``"administration"`` or a datetime); the administration datetime, to decay-correct to it.

    Raises
    ------
    InputError
        Unreadable or inconsistent inputs, undeclared unit, unknown ROI, segmentation off the image.
    """
    say = progress or (lambda msg: None)
    warnings: list[str] = []
    files = _read_files(activity_image, segmentation, ct, say, warnings, allow_mismatch=allow_mismatch, activity_unit=activity_unit,
                        activity_time=activity_time, administration_time=administration_time, labels=labels)
    say("putting the regions on the activity grid")
    rois = _place_rois(files, liver_roi, tuple(tumour_rois), tuple(lung_rois), perfused_roi, partial_volume=partial_volume, warnings=warnings)
    screened = screen_activity(files.grid, rois.pop("all_masks"))
    warnings += [*screened.warnings, *check_activity_placement(screened.image, rois["liver"], rois["lungs"], files.ct)]
    liver_parts, lungs = rois.pop("liver_parts"), tuple(lung_rois)
    on_ct = masks_on_ct(files.segmentation, liver_parts, tuple(tumour_rois), lungs, perfused_roi, files.ct, warnings) if ct_masks and files.ct is not None else None
    return ImagingInputs(
        activity=screened.image,
        ct=files.ct,
        ct_masks=on_ct,
        description=describe_series(files.series) if files.series is not None else describe_file(activity_image, activity_unit),
        reference=files.series,
        warnings=tuple(warnings),
        inputs=tuple(str(Path(p)) for p in (activity_image, segmentation, ct) if p is not None),
        identities=files.identities,
        at_administration=files.at_administration,
        time_note=files.time_note,
        **rois,
    )


def _read_files(activity_image, segmentation, ct, say, warnings: list, *, allow_mismatch: bool, activity_unit, activity_time,
                administration_time, labels) -> _ImageFiles:
    """Read the activity image, the CT and the segmentation, and check that they are of one patient,
    study and frame of reference (DICOM), or say that NRRD / NIfTI inputs cannot show it."""
    say("reading the activity image")
    identities = []
    act, grid, at_admin, time_note = read_activity(activity_image, activity_unit, activity_time, administration_time, warnings)
    if act is not None:
        identities.append(act.identity)
    ct_volume = None
    if ct is not None:
        say("reading the CT")
        ct_volume = read_ct(ct, warnings, identities)
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
    return _ImageFiles(act, grid, at_admin, time_note, ct_volume, seg, tuple(identities))


def _place_rois(files: _ImageFiles, liver_roi, tumour_rois: tuple, lung_rois: tuple, perfused_roi, *, partial_volume: bool, warnings: list) -> dict:
    """The ROIs on the activity grid, each checked against its role: the :class:`ImagingInputs` fields
    of the regions, with ``all_masks`` (every ROI by name, for the screening of the image) and
    ``liver_parts`` (the names the liver is joined from)."""
    seg, grid = files.segmentation, files.grid
    liver_parts = (liver_roi,) if isinstance(liver_roi, str) else tuple(liver_roi)
    if not liver_parts:
        raise InputError("imaging.rois.liver", "expected the name of the liver ROI (or the names of its parts)")
    check_roles(liver_parts, tumour_rois, lung_rois, perfused_roi)
    out_of_view = lung_shares_out_of_view(seg, lung_rois, grid, warnings)
    in_view_lungs = () if out_of_view else lung_rois
    extra = [perfused_roi] if perfused_roi else []
    check_dose_memory(grid.shape, ct_shape=None if files.ct is None else files.ct.shape, n_rois=len(liver_parts) + len(tumour_rois) + len(in_view_lungs) + len(extra))
    masks = masks_on(seg, [*liver_parts, *tumour_rois, *in_view_lungs, *extra], grid, fractions=partial_volume, warnings=warnings)
    # A liver given in parts (a label map has one label per voxel: e.g. liver parenchyma + tumours) is their union.
    liver = masks[liver_parts[0]] if len(liver_parts) == 1 else union([masks[n] for n in liver_parts])
    tumours = {n: masks[n] for n in tumour_rois}
    perfused = None if perfused_roi is None else masks[perfused_roi]
    check_inside_liver(liver, tumours, grid)
    if perfused is not None:
        check_inside_liver(liver, {perfused_roi: perfused}, grid, role="perfused territory", field="imaging.rois.perfused")
    check_lungs_outside_liver(liver, {n: masks[n] for n in in_view_lungs}, grid)
    if perfused is not None:
        warnings += list(containment_warnings(liver, perfused, tumours))
    return dict(liver=liver, tumours=tumours, lungs={n: masks[n] for n in in_view_lungs}, perfused=perfused, perfused_name=perfused_roi or "",
                liver_name=liver_parts[0] if len(liver_parts) == 1 else "Liver", lungs_out_of_view=out_of_view,
                all_masks=masks, liver_parts=liver_parts)


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
        lung_mask=union(list(inputs.lungs.values())) if inputs.lungs else None,
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
