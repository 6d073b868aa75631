"""Does the activity sit where the ROIs say? A check of the counts against the segmentation and the CT.

An activity image whose header mislabels its patient space (an NRRD written in LPS but labelled
RAS, a NIfTI whose qform mirrors the image) is read without any error: every voxel is where the
header says, only the header is wrong. NRRD and NIfTI carry no frame of reference to compare, so
the check is made on the counts, the one thing such an error cannot hide:

* the **share of the counts inside the liver ROI** (after a hepatic-artery injection most of
  them: 82 % in the MAA phantom, 22 % when its image is read mirrored, RAS for LPS). The same
  share is computed as if the image were read in each other plausible frame (the x and y signs of
  the patient space flipped, as RAS for LPS; left-right or anterior-posterior alone; each image
  axis reversed). When one of them holds markedly more of the counts (:data:`MIRROR_GAIN` and
  :data:`MIRROR_RATIO`), the image and the segmentation are in mirrored frames: refused, naming
  the frame that fits. The liver alone is compared, not liver and lungs: a reversed slice order
  moves the liver's counts into the lungs' ROIs above it;
* the **share of the counts inside the liver and lung ROIs**: below :data:`ROI_SHARE_WARNING` a
  warning (89 % in the MAA phantom; the rest is free pertechnetate, scatter and noise);
* with a CT, the **share of the counts inside the body** (CT above :data:`BODY_HU`; outside the
  CT is not body): below :data:`BODY_SHARE_WARNING` the activity image and the CT are not in one
  frame (warning).

For an image read correctly the liver share as read is the largest (the liver's counts are in the
liver ROI; any other frame moves them off it), so the refusal cannot fire on a correct image
unless its liver ROI holds almost nothing, which the warning reports.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .geometry import Volume
from .resample import sample_nearest

__all__ = ["check_activity_placement", "ROI_SHARE_WARNING", "MIRROR_GAIN", "MIRROR_RATIO", "BODY_HU", "BODY_SHARE_WARNING"]

#: Share of the counts inside the liver and lung ROIs below which a warning is given (project
#: choice: 0.89 in the MAA phantom, 0.22 when its image is read mirrored (RAS for LPS); Y-90 PET
#: noise and bremsstrahlung scatter lower it in patients).
ROI_SHARE_WARNING = 0.50
#: An other frame holding at least this much more of the counts (absolute share) ...
MIRROR_GAIN = 0.25
#: ... and at least this many times the share as read, means the frames are mirrored (refused).
MIRROR_RATIO = 1.5
#: CT number above which a voxel is body: air is -1000 HU, inflated lung -850 to -700 HU (ICRU 46
#: densities on the HU curve of docs/voxel.md); the few lung voxels below -900 HU hold few counts.
BODY_HU = -900.0
#: Share of the counts inside the body below which the activity image and the CT are said not to be in one frame.
BODY_SHARE_WARNING = 0.50
_MAX_SAMPLES = 4_000_000  # voxels evaluated (a larger grid is sampled with a stride)


def _moved(roi: np.ndarray, grid: Volume):
    """(description, the ROI weights as the image would see them) for each other frame the image could be meant in.

    World sign flips (the patient-space labels) are sampled at the nearest voxel (scipy's
    ``affine_transform``, ``order=0``; axis by axis when the grid's axes are the patient axes:
    :func:`~.resample.sample_nearest`); axis reversals (an array stored the other way round) are exact flips.
    """
    a = grid.affine
    inv = np.linalg.inv(a)
    for signs, what in (((-1, -1, 1), "with x and y mirrored (a header saying RAS for LPS data, or LPS for RAS)"),
                        ((-1, 1, 1), "mirrored left-right"),
                        ((1, -1, 1), "mirrored anterior-posterior")):
        m = inv @ np.diag([*signs, 1.0]) @ a
        yield what, sample_nearest(roi, m[:3, :3], m[:3, 3], roi.shape, cval=0.0)
    for ax, name in enumerate(("slice (k)", "row (j)", "column (i)")):
        yield f"with its {name} axis reversed", np.flip(roi, axis=ax)


def _strided(vol: Volume, arrays):
    """Arrays and grid sampled every ``s``-th voxel so that at most _MAX_SAMPLES remain."""
    s = max(1, math.ceil((np.prod(vol.shape) / _MAX_SAMPLES) ** (1 / 3)))
    if s == 1:
        return vol, arrays
    sub = tuple(slice(None, None, s) for _ in range(3))
    small = Volume(np.empty((1, 1, 1)), tuple(x * s for x in vol.spacing_mm), vol.origin_mm, vol.direction)
    shape = np.asarray(arrays[0])[sub].shape
    return Volume(np.zeros(shape, np.uint8), small.spacing_mm, small.origin_mm, small.direction), [np.asarray(x)[sub] for x in arrays]


def _body_share(act: np.ndarray, grid: Volume, ct: Volume) -> float:
    """Share of the counts on voxels the CT shows as body; outside the CT is not body."""
    m = np.linalg.inv(ct.affine) @ grid.affine  # activity index -> CT index
    hu = sample_nearest(np.asarray(ct.array), m[:3, :3], m[:3, 3], grid.shape, cval=-1000.0)
    body = hu > BODY_HU
    return float(act[body].sum() / act.sum())


def check_activity_placement(activity: Volume, liver: Volume, lungs: dict, ct: Volume | None = None, *, field: str = "imaging.activity") -> list:
    """Refuse an activity image in a frame mirrored against its ROIs; warn when its counts lie off the ROIs or the body.

    Parameters
    ----------
    activity : Volume
        The activity image (counts or Bq/mL).
    liver : Volume
        The liver ROI on the activity grid (fractions in [0, 1]).
    lungs : dict of str -> Volume
        The lung ROIs on the activity grid.
    ct : Volume, optional
        The CT in HU (any grid).

    Returns
    -------
    list of str
        Warnings.

    Raises
    ------
    InputError
        Another frame of the image puts markedly more of its counts into the ROIs (module docstring).
    """
    liver_w = np.asarray(liver.array, np.float64)
    roi = np.array(liver_w, np.float64)  # one copy (the liver's float64 weights are used below as they are)
    for m in lungs.values():
        roi += np.asarray(m.array, np.float64)
    np.clip(roi, 0.0, 1.0, out=roi)
    grid, (act, wl, roi) = _strided(activity, [np.clip(np.asarray(activity.array, np.float64), 0.0, None), liver_w, roi])
    total = float(act.sum())
    if not total > 0:
        return []
    share = float((act * wl).sum() / total)
    best, best_what = share, None
    for what, moved in _moved(wl, grid):
        alt = float((act * moved).sum() / total)
        if alt > best:
            best, best_what = alt, what
    if best_what is not None and best >= share + MIRROR_GAIN and best >= MIRROR_RATIO * share:
        raise InputError(
            field,
            f"{share:.0%} of the activity image's counts lie in the liver ROI as read, {best:.0%} if the image is read {best_what}: "
            f"the image and the segmentation are in mirrored frames; check the NRRD 'space' / NIfTI qform-sform of both files",
            allowed=f"no other frame holding {MIRROR_GAIN:.0%} more of the counts",
        )
    notes = []
    in_rois = float((act * roi).sum() / total)
    if in_rois < ROI_SHARE_WARNING:
        notes.append(f"only {in_rois:.0%} of the activity image's counts lie in the liver and lung ROIs (usually most of them): check that the image and the segmentation are of one patient, in one frame")
    if ct is not None:
        body = _body_share(act, grid, ct)
        if body < BODY_SHARE_WARNING:
            notes.append(f"only {body:.0%} of the activity image's counts lie inside the body on the CT (above {BODY_HU:g} HU): the activity image and the CT may not be in one frame")
    return notes
