"""Calibration of the activity image in the voxel step: relative (scaled to the administered activity)
or absolute (Bq/mL at the administration), with the checks an absolute image must pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..io.patient import PLAUSIBLE
from ..units import Q_, fraction
from ..voxel import Volume
from ..voxel.calibration import activity_in, activity_map, relative_calibration

if TYPE_CHECKING:
    from .imaging import ImagingInputs


def calibrate(inputs: ImagingInputs, grid: Volume, calibration: str, adm, liver, lung, residual_fraction, lung_shunt_fraction) -> tuple:
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
        check_absolute_time(inputs)
        activity = activity_map(grid)
        check_image_total(activity, adm, residual_fraction)
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


def check_absolute_time(inputs: ImagingInputs) -> None:
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


#: Image total / (administered x (1 - residual)) accepted for an absolute (Bq/mL) image. Y-90 PET
#: recovers about 80-110 % of the administered activity in patient and phantom studies (e.g. Willowson
#: et al., EJNMMI Phys 2015, QUEST phantom study), and a field of view that misses part of the lungs
#: or of the body lowers it further; a ratio outside [0.5, 1.5] is not a quantification error but a
#: unit, decay-correction or calibration slip (a day of decay is a factor 1.3, a MBq/kBq slip 1000).
IMAGE_TOTAL_RATIO = (0.5, 1.5)


def check_image_total(activity: Volume, administered, residual_fraction) -> None:
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
    assert r.low is not None and r.high is not None  # a bounded range (dosimetry.ranges)
    if not r.low <= total.to(r.unit).magnitude <= r.high:
        raise InputError(
            "imaging.activity",
            f"the image holds {total:.4g~P} at administration; plausible {r.low:g}-{r.high:g} {r.unit} ({r.source}): "
            "check the image unit and its reference time",
            allowed=f"[{r.low:g}, {r.high:g}] {r.unit} in the image at administration",
        )
