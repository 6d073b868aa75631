"""The declared unit of an NRRD / NIfTI activity image (:data:`ACTIVITY_UNITS`) and the decay
correction of its values to the administration time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.volumes import read_volume
from ..units import Q_


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


def non_dicom_activity(path, unit, activity_time, administration_time, warnings: list) -> tuple:
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
