"""Carry the planning ROIs onto the post-treatment study: rigid, liver-weighted registration of the
planning CT to the post-treatment CT (SimpleITK), and the ROIs moved with it.

Convention (as the phantom's truth.json, :mod:`phantoms.pose`): the 4 x 4 ``matrix`` maps planning
patient coordinates to post-treatment ones, ``[p_post; 1] = matrix @ [p_planning; 1]`` (DICOM LPS,
mm; planning frame of reference -> post-treatment frame of reference).

The registration (:func:`register_rigid`): fixed image the planning CT, moving image the
post-treatment CT, so that the transform SimpleITK returns (fixed -> moving points) *is* ``matrix``;
metric the normalized correlation of the CT numbers (insensitive to a linear change of contrast
between the two days; on the phantom it recovers the transform where Mattes mutual information stalls
at several mm), sampled only inside the planning liver grown by :data:`LIVER_MARGIN_MM` (the liver and
its surroundings decide the fit, not the legs or the table); rigid (Euler 3-D), regular-step gradient descent over a
multi-resolution pyramid; a fixed sampling seed and one thread, so two runs give the same transform.
The ROIs are moved by placing their masks at the moved position (a rigid motion changes a grid's
origin and direction, not its voxels) and resampled onto the post-treatment activity grid as
partial-volume fractions.

Quality: the final metric value; and, when the post-treatment study has its own liver ROI, the Dice
coefficient and the centroid distance of the carried liver against it (on the activity grid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pint
import scipy.ndimage

from ..errors import InputError
from ..model import PatientFile
from ..units import Q_
from ..voxel import Volume, resample_to
from ..voxel.calibration import screen_activity
from .voxel import ImagingInputs, load_imaging

__all__ = ["Registration", "register_rigid", "move_volume", "carry_masks", "carry_planning_rois", "dice", "centroid_distance", "LIVER_MARGIN_MM"]

#: Margin around the planning liver inside which the metric is sampled [mm]: the liver edge and
#: its surroundings (ribs, diaphragm, lung base, spine) pin the liver's position; 20 mm left the
#: phantom's rotation under-determined (errors up to 3 mm), 40 mm recovers it within 0.6 mm; a
#: choice of this project, measured on the phantom only.
LIVER_MARGIN_MM = 40.0
#: Fixed seed of the metric's random sampling (reproducible runs).
SEED = 20
#: Pyramid: shrink factors per level, coarse to fine (smoothing sigma [mm] = the factor, 0 at full resolution).
SHRINK_FACTORS = (4, 2, 1)
#: Share of the masked fixed voxels sampled by the metric at each level.
SAMPLING = 0.10


@dataclass(frozen=True)
class Registration:
    """The rigid transform planning -> post-treatment and its quality.

    Parameters
    ----------
    matrix : numpy.ndarray
        4 x 4, ``[p_post; 1] = matrix @ [p_planning; 1]`` (LPS, mm).
    metric : float
        Final normalized correlation metric (-1 is a perfect linear match; lower is a better fit).
    iterations : int
        Optimizer iterations at the last level.
    seed : int
    dice : float or None
        Carried planning liver against the post-treatment liver ROI (None without one).
    centroid_distance : pint.Quantity or None
        Distance between their centroids [mm].
    planning_frame, post_frame : str
        FrameOfReferenceUID (0020,0052) of the planning and post-treatment CTs ('' when not DICOM).
    """

    matrix: np.ndarray
    metric: float
    iterations: int
    seed: int = SEED
    dice: float | None = None
    centroid_distance: pint.Quantity | None = None
    planning_frame: str = ""
    post_frame: str = ""

    @property
    def rotation_deg(self) -> float:
        """Rotation angle of the transform [degrees]."""
        c = (np.trace(self.matrix[:3, :3]) - 1.0) / 2.0
        return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))

    def to_json(self) -> dict:
        return {
            "matrix": [[float(v) for v in row] for row in self.matrix],
            "convention": "[x_post, y_post, z_post, 1]^T = matrix @ [x_planning, y_planning, z_planning, 1]^T; DICOM patient coordinates (LPS) in mm",
            "planning_frame_of_reference_uid": self.planning_frame,
            "post_frame_of_reference_uid": self.post_frame,
            "rotation_deg": self.rotation_deg,
            "translation_mm": [float(v) for v in self.matrix[:3, 3]],
            "method": f"rigid (Euler 3-D), normalized correlation inside the planning liver + {LIVER_MARGIN_MM:g} mm, "
                      f"shrink factors {list(SHRINK_FACTORS)}, sampling {SAMPLING:g} with seed {self.seed}, one thread (SimpleITK)",
            "metric": self.metric,
            "iterations": self.iterations,
            "seed": self.seed,
            "liver_dice": self.dice,
            "liver_centroid_distance": None if self.centroid_distance is None else {"value": float(self.centroid_distance.to("mm").magnitude), "unit": "mm"},
        }

    def lines(self) -> list[str]:
        t = self.matrix[:3, 3]
        out = [f"rotation {self.rotation_deg:.2f} degrees, translation ({t[0]:.1f}, {t[1]:.1f}, {t[2]:.1f}) mm; metric {self.metric:.4g} after {self.iterations} iterations (seed {self.seed})"]
        if self.dice is not None and self.centroid_distance is not None:
            out.append(f"carried liver against the post-treatment liver ROI: Dice {self.dice:.3f}, centroid distance {self.centroid_distance.to('mm').magnitude:.1f} mm")
        else:
            out.append("the post-treatment study has no liver ROI: the carried ROIs are not checked against one (look at the fused check page of report.pdf)")
        return out


def _to_sitk(v: Volume):
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.ascontiguousarray(np.asarray(v.array, dtype=np.float32)))
    img.SetSpacing(tuple(float(s) for s in v.spacing_mm[::-1]))  # SimpleITK orders axes (i, j, k)
    img.SetOrigin(tuple(float(o) for o in v.origin_mm))
    img.SetDirection(tuple(float(x) for x in np.asarray(v.direction)[:, ::-1].ravel()))
    return img


def _liver_region(mask: Volume, margin_mm: float) -> Volume:
    """The mask grown by ``margin_mm`` (Euclidean distance on the mask's grid), as 0/1."""
    inside = np.asarray(mask.array, dtype=float) > 0.5
    if not inside.any():
        raise InputError("imaging.rois.liver", "the planning liver ROI is empty on the planning CT: nothing to register on")
    dist = scipy.ndimage.distance_transform_edt(~inside, sampling=mask.spacing_mm)
    return mask.with_array((dist <= margin_mm).astype(np.uint8), "dimensionless")


def register_rigid(planning_ct: Volume, post_ct: Volume, planning_liver: Volume, *, seed: int = SEED, shrink_factors=SHRINK_FACTORS) -> Registration:
    """Rigid, liver-weighted registration of the planning CT to the post-treatment CT (module docstring).

    Parameters
    ----------
    planning_ct, post_ct : Volume
        CTs in HU, each in its own frame of reference.
    planning_liver : Volume
        The planning liver ROI on the planning CT grid (the metric is sampled around it).
    seed : int
        Seed of the metric's sampling.
    shrink_factors : sequence of int
        Pyramid levels, coarse to fine (smoothing sigma = shrink factor [mm], 0 at full resolution);
        tests pass ``(4, 2)`` to stay fast.

    Returns
    -------
    Registration
        With ``matrix`` mapping planning to post-treatment coordinates.
    """
    import SimpleITK as sitk

    fixed = _to_sitk(planning_ct)
    moving = _to_sitk(post_ct)
    region = _to_sitk(_liver_region(planning_liver, LIVER_MARGIN_MM))
    region = sitk.Cast(region, sitk.sitkUInt8)
    r = sitk.ImageRegistrationMethod()
    r.SetNumberOfThreads(1)  # one thread: the metric's sums in one order, so a run is reproducible
    r.SetMetricAsCorrelation()
    r.SetMetricFixedMask(region)
    r.SetMetricSamplingStrategy(r.RANDOM)
    r.SetMetricSamplingPercentage(SAMPLING, int(seed))
    r.SetInterpolator(sitk.sitkLinear)
    r.SetOptimizerAsRegularStepGradientDescent(learningRate=2.0, minStep=1e-3, numberOfIterations=200, relaxationFactor=0.5, gradientMagnitudeTolerance=1e-8)
    r.SetOptimizerScalesFromPhysicalShift()
    r.SetShrinkFactorsPerLevel([int(f) for f in shrink_factors])
    r.SetSmoothingSigmasPerLevel([float(f) if f > 1 else 0.0 for f in shrink_factors])
    r.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    initial = sitk.CenteredTransformInitializer(fixed, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY)
    r.SetInitialTransform(initial, inPlace=False)
    t = r.Execute(fixed, moving)
    t = sitk.Euler3DTransform(sitk.CompositeTransform(t).GetNthTransform(0) if t.GetName() == "CompositeTransform" else t)
    rot = np.asarray(t.GetMatrix(), dtype=float).reshape(3, 3)
    c, tr = np.asarray(t.GetCenter()), np.asarray(t.GetTranslation())
    m = np.eye(4)
    m[:3, :3] = rot
    m[:3, 3] = c + tr - rot @ c  # T(p) = R (p - c) + c + t
    return Registration(matrix=m, metric=float(r.GetMetricValue()), iterations=int(r.GetOptimizerIteration()), seed=int(seed))


def move_volume(v: Volume, matrix) -> Volume:
    """The same voxels placed where a rigid motion takes them: ``p' = R p + t`` moves the grid's
    origin and turns its axes (``direction`` -> ``R direction``); no resampling."""
    m = np.asarray(matrix, dtype=float)
    rot, t = m[:3, :3], m[:3, 3]
    return Volume(v.array, v.spacing_mm, origin_mm=tuple(rot @ np.asarray(v.origin_mm) + t), direction=rot @ np.asarray(v.direction), unit=v.unit)


def carry_masks(masks: dict, matrix, grid: Volume) -> dict:
    """Masks of the planning study moved by ``matrix`` and resampled onto ``grid`` as partial-volume fractions."""
    out = {}
    for name, m in masks.items():
        f = m.with_array(np.clip(np.asarray(m.array, dtype=np.float64), 0.0, 1.0), "dimensionless")
        out[name] = resample_to(move_volume(f, matrix), grid, kind="fraction")
    return out


def dice(a: Volume, b: Volume) -> float:
    """Dice coefficient 2|A n B| / (|A| + |B|) of two masks on one grid (fractions thresholded at 0.5)."""
    x, y = np.asarray(a.array, dtype=float) >= 0.5, np.asarray(b.array, dtype=float) >= 0.5
    n = x.sum() + y.sum()
    return float(2.0 * np.logical_and(x, y).sum() / n) if n else float("nan")


def centroid_distance(a: Volume, b: Volume) -> pint.Quantity:
    """Distance between the (fraction-weighted) centroids of two masks on one grid [mm]."""
    def centroid(v):
        w = np.asarray(v.array, dtype=float)
        idx = np.argwhere(w > 0)
        return v.index_to_world(np.average(idx, axis=0, weights=w[w > 0]))
    return Q_(float(np.linalg.norm(centroid(a) - centroid(b))), "mm")


def _planning_images(pf: PatientFile, progress) -> ImagingInputs:
    im = pf.imaging
    if im is None or im.ct is None:
        raise InputError("register", "carrying the planning ROIs over needs the plan's images: [imaging] with its ct and segmentation")
    return load_imaging(im.activity, im.rtstruct, ct=im.ct, liver_roi=im.liver_roi, tumour_rois=im.tumour_rois, lung_rois=im.lung_rois,
                        perfused_roi=im.perfused_roi, ct_masks=True, allow_mismatch=im.allow_mismatch, progress=progress, **im.reading())


def carry_planning_rois(pf: PatientFile, activity_image, ct, *, post_segmentation=None, post_liver_roi="Liver", allow_mismatch: bool = False,
                        progress: Callable[[str], None] | None = None, seed: int = SEED, **reading) -> tuple:
    """(ImagingInputs of the post-treatment image with the planning ROIs carried over, Registration).

    Raises
    ------
    InputError
        No post-treatment CT (``imaging.ct``), or no planning CT and segmentation (``register``).
    """
    say = progress or (lambda msg: None)
    if ct is None:
        raise InputError("imaging.ct", "carrying the planning ROIs over registers the planning CT to the post-treatment CT: give the post-treatment CT")
    plan = _planning_images(pf, progress)
    masks, im = plan.ct_masks, pf.imaging
    # _planning_images refused a plan without [imaging] and its CT; ct_masks=True gives the masks on the CT
    assert masks is not None and im is not None and plan.ct is not None
    # the post-treatment image and CT, read as for a dose (its own segmentation, when given, for the check only)
    say("reading the post-treatment study")
    post = load_imaging(activity_image, post_segmentation, ct=ct, liver_roi=post_liver_roi, allow_mismatch=allow_mismatch, progress=progress, **reading) \
        if post_segmentation is not None else _post_without_rois(activity_image, ct, progress, **reading)
    say("registering the planning CT to the post-treatment CT")
    assert post.ct is not None  # the post-treatment CT was given (refused above otherwise) and read
    reg = register_rigid(plan.ct, post.ct, masks["liver"], seed=seed)
    grid = post.activity
    named = {plan.liver_name: masks["liver"], **masks["tumours"]}
    if masks.get("lungs") is not None:
        named["Lungs"] = masks["lungs"]
    if masks.get("perfused") is not None:
        named[im.perfused_roi] = masks["perfused"]
    carried = carry_masks(named, reg.matrix, grid)
    liver = carried[plan.liver_name]
    if post_segmentation is not None:
        reg = Registration(reg.matrix, reg.metric, reg.iterations, reg.seed, dice(liver, post.liver), centroid_distance(liver, post.liver),
                           _frame(plan), _frame(post))
    else:
        reg = Registration(reg.matrix, reg.metric, reg.iterations, reg.seed, planning_frame=_frame(plan), post_frame=_frame(post))
    tumours = {n: carried[n] for n in masks["tumours"]}
    lungs = {"Lungs": carried["Lungs"]} if "Lungs" in carried and np.any(np.asarray(carried["Lungs"].array) > 0) else {}
    screened = screen_activity(grid, {plan.liver_name: liver, **tumours, **lungs})
    warnings = list(post.warnings) + list(screened.warnings) + [
        f"ROIs carried over from the planning study by a rigid registration ({reg.lines()[0]}); a liver that changed shape between the studies is not followed"]
    return ImagingInputs(
        activity=screened.image, liver=liver, tumours=tumours, lungs=lungs, ct=post.ct, liver_name=plan.liver_name,
        perfused=carried.get(im.perfused_roi) if im.perfused_roi else None, perfused_name=im.perfused_roi or "",
        description=post.description, reference=post.reference, warnings=tuple(warnings), inputs=post.inputs + plan.inputs,
        identities=post.identities, at_administration=post.at_administration, time_note=post.time_note,
    ), reg


def _frame(inputs: ImagingInputs) -> str:
    return next((i.frame_of_reference_uid for i in inputs.identities if getattr(i, "frame_of_reference_uid", None)), "")


def _post_without_rois(activity_image, ct, progress, **reading) -> ImagingInputs:
    """The post-treatment activity image and CT without a segmentation (the ROIs come from the plan)."""
    from ..io import load_series
    from ..io.volumes import image_format, read_volume
    from .image_files import describe_file, describe_series, read_activity

    warnings: list[str] = []
    act, grid, at_admin, note = read_activity(activity_image, reading.get("activity_unit"), reading.get("activity_time"), reading.get("administration_time"), warnings)
    identities = [act.identity] if act is not None else []
    if image_format(ct) == "dicom":
        series = load_series(ct, modality="CT")
        warnings += list(series.warnings)
        identities.append(series.identity)
        ct_volume = series.volume
    else:
        ct_volume = read_volume(ct, unit="dimensionless", field="imaging.ct")
    empty = grid.with_array(np.zeros(grid.shape, dtype=np.float32), "dimensionless")
    return ImagingInputs(activity=grid, liver=empty, tumours={}, lungs={}, ct=ct_volume, description=describe_series(act) if act is not None else describe_file(activity_image, reading.get("activity_unit")),
                         reference=act, warnings=tuple(warnings), inputs=tuple(str(p) for p in (activity_image, ct)), identities=tuple(identities),
                         at_administration=at_admin, time_note=note)
