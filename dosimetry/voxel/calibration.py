"""Activity calibration of emission images: pure array functions over Volumes and masks.

* **Relative** calibration (Tc-99m MAA SPECT for prediction, Y-90 bremsstrahlung SPECT after
  treatment): one factor scales the whole count image so that the counts in the liver (or in
  liver + lungs) equal the activity that reached the patient, A_del = A_adm * (1 - R), with R the
  residual fraction left in vial and tubing (EANM 2022 guideline, Weber et al., section on
  activity calculation; partition model: Ho et al. 1996). With a lung shunt fraction given (e.g.
  from planar MAA), the liver receives A_del * (1 - LSF) and the lungs A_del * LSF.
* **Absolute** calibration (Y-90 PET in Bq/mL, decay-corrected to administration by
  :func:`dosimetry.io.load_series`): :func:`activity_map` only changes the unit to activity per
  voxel; :func:`activity_in` gives the activity in a region.
* **Lung shunt fraction** from MAA counts: LSF = C_lung / (C_lung + C_liver) (EANM 2022; the
  SIR-Spheres and TheraSphere instructions for use define it on counts in lung and liver ROIs).
* **Tumour-to-normal ratio**: :func:`dosimetry.voxel.metrics.tumour_to_normal_ratio`, re-exported.
* **Values as scanners write them** (:func:`screen_activity`, one rule for DICOM, NRRD and NIfTI,
  applied once the ROIs are on the image grid): small negative values are kept out of the dose,
  NaN outside every ROI is no activity, anything else is refused (docs/imaging-inputs.md).

Masks are Volumes on the image grid with boolean or fractional ([0, 1]) values, e.g. from
:func:`dosimetry.io.rasterize_roi`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_, fraction, quantity, unit_string
from .geometry import Volume
from .metrics import tumour_to_normal_ratio

__all__ = [
    "Calibration",
    "relative_calibration",
    "lung_shunt_fraction",
    "activity_map",
    "activity_in",
    "tumour_to_normal_ratio",
    "screen_activity",
    "ScreenedImage",
    "MAX_NEGATIVE_SHARE",
]


def _image(image, name: str) -> np.ndarray:
    if not isinstance(image, Volume):
        raise ValueError(f"{name}: expected a Volume, got {type(image).__name__}")
    a = np.asarray(image.array, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains non-finite values")
    return a


def _weights(mask, like: Volume, name: str) -> np.ndarray:
    if not isinstance(mask, Volume):
        raise ValueError(f"{name}: expected a mask Volume (boolean or fractions in [0, 1]), got {type(mask).__name__}")
    if not mask.same_grid(like):
        raise ValueError(f"{name}: grid (shape, spacing, origin or direction) differs from the image grid; resample it first")
    w = np.asarray(mask.array)
    w = w.astype(np.float64) if w.dtype == bool else np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)) or w.min() < 0 or w.max() > 1:
        raise ValueError(f"{name}: mask values must be booleans or fractions in [0, 1]")
    if not np.any(w > 0):
        raise ValueError(f"{name}: mask is empty")
    return w


def _content_unit(image: Volume) -> tuple[float, pint.Unit]:
    """(factor, unit) giving the content of one voxel: concentrations are multiplied by the voxel volume."""
    dims = Q_(1, image.unit).dimensionality
    if dims.get("[length]", 0) == -3:
        q = (Q_(1.0, image.unit) * image.voxel_volume).to_reduced_units()
        return float(q.magnitude), q.units
    return 1.0, image.unit


def _sum_in(a: np.ndarray, w: np.ndarray) -> float:
    return float(np.dot(a.ravel(), w.ravel()))


def activity_map(image: Volume) -> Volume:
    """Activity per voxel [MBq] from an activity or activity-concentration image.

    Parameters
    ----------
    image : Volume
        Activity concentration (Bq/mL-like) or activity per voxel (Bq-like).

    Returns
    -------
    Volume
        Same grid, unit MBq (per voxel), float64.

    Raises
    ------
    ValueError
        Counts or any other unit that is not an activity (concentration).
    """
    a = _image(image, "image")
    f, u = _content_unit(image)
    q = Q_(1.0, u)
    if q.dimensionality != Q_(1, "Bq").dimensionality or "[detected_counts]" in Q_(1, image.unit).dimensionality:
        raise ValueError(f"image: unit {image.unit:~P} is not an activity or activity concentration; calibrate counts first")
    return image.with_array(a * (f * float(q.to("MBq").magnitude)), unit="MBq")


def activity_in(image: Volume, mask: Volume) -> pint.Quantity:
    """Activity (or counts) inside a mask: sum of voxel contents weighted by the mask.

    Parameters
    ----------
    image : Volume
        Activity per voxel, activity concentration, or counts.
    mask : Volume
        Boolean or fractional mask on the same grid.

    Returns
    -------
    pint.Quantity
        In MBq for activity images, in the image's content unit otherwise (e.g. cts).
    """
    a = _image(image, "image")
    w = _weights(mask, image, "mask")
    f, u = _content_unit(image)
    q = Q_(_sum_in(a, w) * f, u)
    return q.to("MBq") if q.dimensionality == Q_(1, "Bq").dimensionality and "[detected_counts]" not in Q_(1, u).dimensionality else q


def lung_shunt_fraction(counts: Volume, lung_mask: Volume, liver_mask: Volume) -> float:
    """Lung shunt fraction from MAA counts: LSF = C_lung / (C_lung + C_liver).

    Parameters
    ----------
    counts : Volume
        Tc-99m MAA SPECT (counts, or any activity-proportional image), finite.
    lung_mask, liver_mask : Volume
        Non-overlapping masks on the image grid (lungs: both lungs together); fractional masks may share a voxel whose fractions sum to <= 1.

    Returns
    -------
    float
        Dimensionless fraction in [0, 1].

    Raises
    ------
    ValueError
        Overlapping or empty masks, negative or zero total counts.
    """
    a = _image(counts, "counts")
    wl = _weights(lung_mask, counts, "lung_mask")
    wv = _weights(liver_mask, counts, "liver_mask")
    if np.any(wl + wv > 1.0 + 1e-6):  # fractional masks may share a boundary voxel
        raise ValueError("lung_mask: overlaps liver_mask; the lung and liver regions must be disjoint")
    cl, cv = _sum_in(a, wl), _sum_in(a, wv)
    if cl < 0 or cv < 0 or cl + cv <= 0:
        raise ValueError(f"counts: lung ({cl:.4g}) and liver ({cv:.4g}) sums must be >= 0 with a positive total")
    return cl / (cl + cv)


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`relative_calibration`.

    Attributes
    ----------
    activity : Volume
        Activity per voxel [MBq] at the administration time (whole image, one factor).
    factor : pint.Quantity
        Activity per unit of image content, e.g. [MBq/cts].
    delivered_activity : pint.Quantity
        A_adm * (1 - R) [GBq].
    liver_activity, lung_activity : pint.Quantity
        Activity attributed to liver and lungs [GBq]; the lung value is A_del * LSF.
    lung_shunt_fraction : float
        From the image (liver + lungs mode), as given, or 0 (liver-only mode).
    mode : str
        ``"liver"``, ``"liver+lungs"`` or ``"liver, given LSF"``.
    """

    activity: Volume
    factor: pint.Quantity
    delivered_activity: pint.Quantity
    liver_activity: pint.Quantity
    lung_activity: pint.Quantity
    lung_shunt_fraction: float
    mode: str


def relative_calibration(
    counts: Volume,
    administered_activity,
    liver_mask: Volume,
    lung_mask: Volume | None = None,
    *,
    residual_fraction=0.0,
    lung_shunt_fraction=None,
) -> Calibration:
    """Scale a count image so that its organ contents equal the delivered activity.

    Three modes:

    * liver only (no ``lung_mask``, no ``lung_shunt_fraction``): counts in the liver = A_del;
    * liver + lungs (``lung_mask`` given): counts in liver and lungs = A_del, and the lung shunt
      fraction is measured, LSF = C_lung / (C_lung + C_liver);
    * given LSF (``lung_shunt_fraction``, e.g. from planar MAA, for bremsstrahlung SPECT whose lung
      counts are unreliable): counts in the liver = A_del * (1 - LSF). The reported lung activity
      is A_del * LSF; the image's lung voxels are scaled by the same single factor as everything
      else and are *not* forced to that value.

    Parameters
    ----------
    counts : Volume
        Emission image (cts, or any activity-proportional unit), finite.
    administered_activity : pint.Quantity or str
        Activity administered [activity], > 0, at the time the map should refer to.
    liver_mask : Volume
        Liver (or perfused territory) mask on the image grid.
    lung_mask : Volume, optional
        Both lungs, disjoint from the liver mask.
    residual_fraction : float or str
        Fraction R of the activity left in vial and tubing, [0, 1) (e.g. 0.05 or "5 %").
    lung_shunt_fraction : float or str, optional
        Known LSF in [0, 1); excludes measuring it (``lung_mask`` is then only used for reporting).

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        Bad activity or fractions.
    ValueError
        Bad masks, or no positive counts in the calibration region.
    """
    a = _image(counts, "counts")
    adm = quantity(administered_activity, "GBq", "administered_activity", minimum=0, include_minimum=False)
    r = fraction(residual_fraction, "residual_fraction")
    delivered = adm * (1.0 - r)
    wv = _weights(liver_mask, counts, "liver_mask")
    wl = _weights(lung_mask, counts, "lung_mask") if lung_mask is not None else None
    if wl is not None and np.any(wl + wv > 1.0 + 1e-6):
        raise ValueError("lung_mask: overlaps liver_mask; the lung and liver regions must be disjoint")
    f, u = _content_unit(counts)
    cv = _sum_in(a, wv) * f
    cl = _sum_in(a, wl) * f if wl is not None else 0.0
    factor, lsf, mode = _calibration_factor(delivered, cv, cl, u, lung=wl is not None, lung_shunt_fraction=lung_shunt_fraction)
    factor_mbq = (factor * Q_(1.0, u)).to("MBq") / Q_(1.0, u)
    scale = float(factor_mbq.magnitude) * f
    act = counts.with_array(a * scale, unit="MBq")
    return Calibration(
        activity=act,
        factor=factor_mbq,
        delivered_activity=delivered.to("GBq"),
        liver_activity=(delivered * (1.0 - lsf)).to("GBq"),
        lung_activity=(delivered * lsf).to("GBq"),
        lung_shunt_fraction=float(lsf),
        mode=mode,
    )


def _calibration_factor(delivered, cv: float, cl: float, u, *, lung: bool, lung_shunt_fraction) -> tuple:
    """(activity per image unit, lung shunt fraction, mode) of :func:`relative_calibration` from the
    image contents of the liver ``cv`` and the lungs ``cl`` [in ``u``]."""
    if lung_shunt_fraction is not None:
        lsf = fraction(lung_shunt_fraction, "lung_shunt_fraction")
        if cv <= 0:
            raise ValueError("counts: no positive counts in the liver mask; cannot calibrate")
        factor = delivered * (1.0 - lsf) / Q_(cv, u)
        mode = "liver, given LSF"
    elif lung:
        if cv + cl <= 0 or cv < 0 or cl < 0:
            raise ValueError(f"counts: liver ({cv:.4g}) and lung ({cl:.4g}) sums must be >= 0 with a positive total")
        lsf = cl / (cv + cl)
        factor = delivered / Q_(cv + cl, u)
        mode = "liver+lungs"
    else:
        if cv <= 0:
            raise ValueError("counts: no positive counts in the liver mask; cannot calibrate")
        lsf = 0.0
        factor = delivered / Q_(cv, u)
        mode = "liver"
    return factor, lsf, mode


#: Largest share of an emission image's counts that its negative voxels may hold, as
#: sum(|negative values|) / sum(positive values). Iterative reconstructions with scatter or
#: background subtraction write small negative values in cold voxels (a Tc-99m MAA SPECT: 461 of
#: 2.6 million voxels at -1 or -2 counts, 0.002 % of the counts; issue 18). They are noise and are
#: set to 0 (no activity). Setting them to 0 adds at most this share of the counts to any ROI, so
#: a count ratio (lung shunt, tumour-to-normal) moves by at most 1 % of the image's counts: for the
#: lung shunt at most 1 percentage point, half the 2 points by which SPECT and planar shunts
#: routinely differ (dosimetry.workflow.inputs.TOLERANCES). Beyond it the negatives are not noise
#: but a wrong rescale, an intercept or an over-subtraction, and the image is refused. A choice of
#: this project, documented in docs/imaging-inputs.md.
MAX_NEGATIVE_SHARE = 0.01


@dataclass(frozen=True)
class ScreenedImage:
    """An emission image after :func:`screen_activity`.

    Attributes
    ----------
    image : Volume
        The image, float64, negative and NaN voxels set to 0 (the input itself when it had none).
    warnings : tuple of str
        What was set to 0 and its share of the image.
    negative_share : float
        sum(|negative values|) / sum(positive values) before screening.
    nan_voxels : int
        NaN voxels (all outside every ROI) set to 0.
    """

    image: Volume
    warnings: tuple
    negative_share: float
    nan_voxels: int


def _roi_weights(rois: dict, like: Volume) -> dict:
    return {n: _weights(m, like, f"ROI {n!r}") for n, m in rois.items()}


def _refuse_nan_in_rois(nan: np.ndarray, weights: dict, image: Volume, field: str) -> None:
    hit = {n: int(np.count_nonzero(nan & (w > 0))) for n, w in weights.items()}
    hit = {n: k for n, k in hit.items() if k}
    if hit:
        where = ", ".join(f"{k} voxels of {n!r}" for n, k in hit.items())
        raise InputError(
            field,
            f"NaN (no value) inside the ROIs: {where}; the activity there is unknown, so no dose can be computed for them "
            "(NaN is accepted only outside every ROI, where a masked reconstruction writes it)",
            allowed="finite values inside every ROI",
        )


def _refuse_negative_totals(a: np.ndarray, weights: dict, unit, field: str) -> None:
    for n, w in weights.items():
        total = float(np.dot(a.ravel(), w.ravel()))
        if total < 0:
            raise InputError(
                field,
                f"ROI {n!r} holds a negative total ({total:.4g} {unit_string(Q_(1, unit))}): an activity cannot be negative; "
                "check the reconstruction (background or scatter over-subtracted) or the rescale intercept",
                allowed="a total >= 0 in every ROI",
            )


def screen_activity(image: Volume, rois: dict, *, field: str = "imaging.activity") -> ScreenedImage:
    """The one rule for negative and NaN values of an emission image (every format, after reading).

    * ``+-inf`` anywhere, and NaN inside any ROI (weight > 0): refused.
    * NaN outside every ROI (a masked reconstruction): no activity (0), with a warning.
    * Negative values: set to 0 with a warning stating their share of the counts,
      sum(|negative|) / sum(positive); refused when that share exceeds
      :data:`MAX_NEGATIVE_SHARE`, or when any ROI's total (negatives included) is below 0.

    Parameters
    ----------
    image : Volume
        Counts or activity (concentration), any real dtype (int16 counts, float64 Bq/mL).
    rois : dict of str to Volume
        Every ROI on the image grid (boolean or fractional masks).
    field : str
        Field named by the refusals.

    Returns
    -------
    ScreenedImage

    Raises
    ------
    InputError
        As above, naming ``field``, the ROI and the share.
    """
    if not isinstance(image, Volume):
        raise ValueError(f"image: expected a Volume, got {type(image).__name__}")
    raw = np.asarray(image.array)
    if raw.dtype.kind not in "biuf":
        raise InputError(field, f"values of type {raw.dtype} are not numbers")
    if raw.dtype.kind != "f":
        neg = raw < 0
        nan = None
    else:
        if np.isinf(raw).any():
            raise InputError(field, f"{int(np.isinf(raw).sum())} voxels are infinite; an activity is a finite number", allowed="finite values")
        nan = np.isnan(raw)
        nan = nan if nan.any() else None
        neg = raw < 0  # False where NaN
    if nan is None and not neg.any():
        return ScreenedImage(image, (), 0.0, 0)
    weights = _roi_weights(rois, image)  # only for an image that needs screening
    if nan is not None:
        _refuse_nan_in_rois(nan, weights, image, field)
    a = np.array(raw, dtype=np.float64)
    warnings = []
    if nan is not None:
        a[nan] = 0.0
        warnings.append(f"{int(nan.sum())} voxels ({100 * nan.mean():.3g} % of the image) hold NaN (no value), all outside the ROIs: taken as no activity")
    share = 0.0
    if neg.any():
        _refuse_negative_totals(a, weights, image.unit, field)
        positive, negative = float(a[a > 0].sum()), float(-a[neg].sum())
        share = negative / positive if positive > 0 else float("inf")
        if share > MAX_NEGATIVE_SHARE:
            raise InputError(
                field,
                f"{int(neg.sum())} negative voxels hold {100 * share:.3g} % of the image's counts ({negative:.4g} against {positive:.4g} {unit_string(Q_(1, image.unit))}); "
                f"reconstruction noise stays below {MAX_NEGATIVE_SHARE:.0%}: check the rescale (slope, intercept) or the background subtraction",
                allowed=f"negative values summing to at most {MAX_NEGATIVE_SHARE:.0%} of the positive ones",
            )
        lo, hi = float(a[neg].min()), float(a[neg].max())
        unit = unit_string(Q_(1, image.unit))
        warnings.append(
            f"{int(neg.sum())} voxels ({100 * neg.mean():.2g} % of the image) hold negative values ({lo:.4g} to {hi:.4g} {unit}), "
            f"{100 * share:.2g} % of the image's counts (reconstruction noise, below {MAX_NEGATIVE_SHARE:.0%}): set to 0, no activity"
        )
        a[neg] = 0.0
    return ScreenedImage(image.with_array(a), tuple(warnings), share, 0 if nan is None else int(nan.sum()))
