"""Plan inputs measured on the images: lung shunt, tumour-to-normal ratios, volumes, lung mass.

Pure functions over :class:`~dosimetry.voxel.geometry.Volume` images and masks (no file I/O).
Masks are boolean or fractional (occupancy weights in [0, 1]) Volumes on the grid of the image
they are applied to. With weights w_i, image values c_i and voxel volume v (docs/imaging-inputs.md):

* **Lung shunt fraction** (Tc-99m MAA SPECT/CT): ``LSF = C_lung / (C_lung + C_liver)``, with
  ``C_roi = sum_i w_i c_i`` (EANM 2022 guideline, Weber et al., Eur J Nucl Med Mol Imaging
  49:1682, section "Lung shunt fraction"; Dezarn et al., AAPM TG-144, Med Phys 38:4824, 2011).
* **Tumour-to-normal ratio** (partition model, Ho et al., Eur J Nucl Med 23:947, 1996):
  ``T/N = (C_T / W_T) / (C_N / W_N)``, mean count densities, with ``W = sum_i w_i``; the normal
  liver of a territory is the perfused ROI minus every tumour,
  ``w_N = clip(w_P - sum_T w_T, 0, 1)``.
* **Volume** of a ROI: ``V = v sum_i w_i``.
* **Lung mass** from the CT: ``M = v sum_i w_i rho(HU_i)``, with ``rho`` the project's
  piecewise-linear HU-to-density curve :data:`dosimetry.voxel.dose.HU_DENSITY_CURVE`
  (the air-water line below 0 HU is the definition of the Hounsfield scale).

The ratios are independent of the image's calibration: any image proportional to the activity
(counts ``cts``, count rate, Bq, Bq/mL, ...) gives the same numbers. Refusals raise
:class:`dosimetry.errors.InputError` naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_
from .dose import HU_DENSITY_CURVE, checked_hu_curve, hu_to_density
from .geometry import Volume

__all__ = [
    "ImageMeasurements",
    "mask_weights",
    "roi_volume",
    "roi_counts",
    "image_lung_shunt_fraction",
    "normal_liver_weights",
    "tumour_to_normal_ratios",
    "lung_mass_from_ct",
    "roi_volumes",
    "measure_plan_inputs",
    "TUMOUR_OUTSIDE_PERFUSED_TOLERANCE",
    "containment_warnings",
]

#: Share of a tumour's volume allowed outside the perfused ROI before a warning (1 %): contours
#: drawn separately rarely nest exactly on the voxel grid. An assumption of this project.
TUMOUR_OUTSIDE_PERFUSED_TOLERANCE = 0.01

# Images proportional to activity: counts, count rate, activity, and each per unit volume.
_PROPORTIONAL = tuple(
    Q_(1, u).dimensionality for u in ("cts", "cts/s", "Bq", "cts/mL", "cts/s/mL", "Bq/mL")
)


def _volume(v, name: str) -> Volume:
    if not isinstance(v, Volume):
        raise InputError(name, f"expected a dosimetry.voxel.Volume, got {type(v).__name__}")
    return v


def mask_weights(mask, like: Volume, name: str) -> np.ndarray:
    """Occupancy weights in [0, 1] (float64) of a boolean or fractional mask on ``like``'s grid.

    Raises
    ------
    InputError
        Not a Volume, another grid, values outside [0, 1] or non-finite, or an empty mask.
    """
    return _mask(mask, like, name).astype(np.float64)


def _mask(mask, like: Volume, name: str) -> np.ndarray:
    """The mask's own array, checked as :func:`mask_weights` checks it, not copied: a boolean mask
    on a CT grid stays one byte a voxel (the measurements below count it, issue 22)."""
    _volume(mask, name)
    if not mask.same_grid(like):
        raise InputError(name, "grid (shape, spacing, origin or direction) differs from the image grid; resample it first")
    m = np.asarray(mask.array)
    if m.dtype == bool:
        if not m.any():
            raise InputError(name, "mask is empty")
        return m
    lo, hi = (m.min(), m.max()) if m.size else (np.nan, np.nan)  # each reduced once (issue 22)
    if m.size == 0 or not np.isfinite(lo) or not np.isfinite(hi) or lo < 0 or hi > 1:
        raise InputError(name, "mask values must be booleans or occupancy fractions in [0, 1]")
    if not hi > 0:
        raise InputError(name, "mask is empty")
    return m


def _total(m: np.ndarray) -> float:
    """``sum_i w_i`` of a checked mask (a boolean mask: its voxels counted)."""
    return float(np.count_nonzero(m)) if m.dtype == bool else float(np.sum(m, dtype=np.float64))


def _content(a: np.ndarray, m: np.ndarray) -> float:
    """``sum_i w_i a_i`` over the voxels of a checked mask only (float64)."""
    if m.dtype == bool:
        return float(np.sum(a[m], dtype=np.float64))
    idx = np.flatnonzero(m)
    return float(np.dot(a.ravel()[idx].astype(np.float64), m.ravel()[idx].astype(np.float64)))


def _overlap(*masks: np.ndarray) -> bool:
    """True where the weights of disjoint regions add up above 1 in some voxel."""
    if all(m.dtype == bool for m in masks):
        seen = np.zeros(masks[0].shape, bool)
        for m in masks:
            if np.any(seen & m):
                return True
            seen |= m
        return False
    return bool(np.any(sum(np.asarray(m, np.float64) for m in masks) > 1.0 + 1e-6))


def _minus(a: np.ndarray, b: list) -> np.ndarray:
    """``clip(w_a - sum_b w_b, 0, 1)`` (the normal liver of a territory): ``a & ~(b_1 | ...)`` for booleans."""
    if a.dtype == bool and all(m.dtype == bool for m in b):
        out = a.copy()
        for m in b:
            out &= ~m
        return out
    return np.clip(np.asarray(a, np.float64) - sum((np.asarray(m, np.float64) for m in b), np.zeros(a.shape)), 0.0, 1.0)


def _image_values(image, name: str) -> np.ndarray:
    """The image's own array (not copied), checked: proportional to the activity, finite, >= 0."""
    _volume(image, name)
    if Q_(1, image.unit).dimensionality not in _PROPORTIONAL:
        raise InputError(
            name,
            f"unit {image.unit:~P} is not counts, count rate, activity or one of these per volume; "
            "an image proportional to the activity is required",
        )
    a = np.asarray(image.array)
    if a.size == 0 or not np.isfinite(np.float64(a.min())) or not np.isfinite(np.float64(a.max())) or a.min() < 0:
        raise InputError(name, "values must be finite and >= 0")
    return a


def roi_volume(mask: Volume) -> pint.Quantity:
    """Volume of a ROI [mL]: voxel volume times the sum of the mask weights.

    Parameters
    ----------
    mask : Volume
        Boolean or fractional mask.
    """
    w = _mask(mask, _volume(mask, "mask"), "mask")
    return (_total(w) * mask.voxel_volume).to("mL")


def roi_counts(image: Volume, mask: Volume, name: str = "mask") -> pint.Quantity:
    """Weighted sum of the image content in a ROI, ``sum_i w_i c_i``.

    Concentration images (per mL) are multiplied by the voxel volume, so the result is counts,
    a count rate or an activity.
    """
    a = _image_values(image, "image")
    w = _mask(mask, image, name)
    total = Q_(_content(a, w), image.unit)
    if Q_(1, image.unit).dimensionality.get("[length]", 0) == -3:
        total = total * image.voxel_volume
    return total.to_reduced_units()  # type: ignore[return-value]  # pint types it PlainQuantity; it is our registry's Quantity


def image_lung_shunt_fraction(image: Volume, lung_mask: Volume, liver_mask: Volume) -> pint.Quantity:
    """Lung shunt fraction from a SPECT/CT: ``C_lung / (C_lung + C_liver)``.

    Parameters
    ----------
    image : Volume
        Tc-99m MAA SPECT (counts, or any activity-proportional unit), values >= 0.
    lung_mask : Volume
        Both lungs (one mask; add left and right), on the image grid.
    liver_mask : Volume
        Whole liver (tumours included), on the image grid.

    Returns
    -------
    pint.Quantity
        Dimensionless fraction in [0, 1].

    Raises
    ------
    InputError
        Masks overlapping (weights summing above 1 in a voxel), empty masks, no counts.
    """
    a = _image_values(image, "image")
    wl = _mask(lung_mask, image, "lung_mask")
    wv = _mask(liver_mask, image, "liver_mask")
    if _overlap(wl, wv):
        raise InputError("lung_mask", "overlaps liver_mask (weights add up above 1 in some voxels); the regions must be disjoint")
    cl, cv = _content(a, wl), _content(a, wv)
    if cl + cv <= 0:
        raise InputError("image", "no counts in the lung and liver ROIs; the lung shunt fraction is undefined")
    return Q_(cl / (cl + cv), "dimensionless")


def normal_liver_weights(perfused_mask: Volume, tumour_masks: Mapping) -> np.ndarray:
    """Weights of the perfused normal liver: ``clip(w_P - sum_T w_T, 0, 1)``."""
    return np.asarray(_normal_liver(perfused_mask, tumour_masks), dtype=np.float64)


def _normal_liver(perfused_mask: Volume, tumour_masks: Mapping) -> np.ndarray:
    """:func:`normal_liver_weights` as booleans when every mask is boolean."""
    wp = _mask(perfused_mask, perfused_mask, "perfused_mask")
    return _minus(wp, [_mask(m, perfused_mask, f"tumour_masks[{n!r}]") for n, m in tumour_masks.items()])


def tumour_to_normal_ratios(image: Volume, tumour_masks: Mapping, perfused_mask: Volume) -> dict:
    """Tumour-to-normal count-density ratio of every tumour in a perfused territory.

    Parameters
    ----------
    image : Volume
        MAA SPECT (or any activity-proportional image), values >= 0.
    tumour_masks : mapping of str to Volume
        Tumour ROIs on the image grid, by name; they must not overlap each other.
    perfused_mask : Volume
        Perfused territory (whole liver for a whole-liver treatment), tumours included.

    Returns
    -------
    dict of str to pint.Quantity
        Dimensionless T/N per tumour, in the order given.

    Raises
    ------
    InputError
        No tumour, overlapping tumours, no normal liver left, or no counts in it.
    """
    a = _image_values(image, "image")
    if not isinstance(tumour_masks, Mapping) or not tumour_masks:
        raise InputError("tumour_masks", "expected a non-empty mapping of tumour name to mask")
    weights = {n: _mask(m, image, f"tumour_masks[{n!r}]") for n, m in tumour_masks.items()}
    if len(weights) > 1 and _overlap(*weights.values()):
        raise InputError("tumour_masks", "tumours overlap (weights add up above 1 in some voxels)")
    _mask(perfused_mask, image, "perfused_mask")
    wn = _normal_liver(perfused_mask, tumour_masks)
    n_total = _total(wn)
    if n_total <= 0:
        raise InputError("perfused_mask", "nothing is left of the perfused ROI once the tumours are removed")
    dn = _content(a, wn) / n_total
    if dn <= 0:
        raise InputError("image", "no counts in the perfused normal liver; the tumour-to-normal ratio is undefined")
    return {n: Q_(_content(a, w) / _total(w) / dn, "dimensionless") for n, w in weights.items()}


def lung_mass_from_ct(ct: Volume, lung_mask: Volume, curve=HU_DENSITY_CURVE) -> pint.Quantity:
    """Lung mass from a CT in HU: ``v sum_i w_i rho(HU_i)`` [kg].

    Parameters
    ----------
    ct : Volume
        CT numbers [HU] (dimensionless), as read from CT Image Storage (RescaleSlope/Intercept
        applied, (0028,1053)/(0028,1052)).
    lung_mask : Volume
        Both lungs on the CT grid.
    curve : sequence of (HU, g/mL)
        HU-to-density calibration; default :data:`dosimetry.voxel.dose.HU_DENSITY_CURVE`.

    Returns
    -------
    pint.Quantity
        [kg].
    """
    _volume(ct, "ct")
    if not ct.unit.dimensionless:
        raise InputError("ct", f"expected Hounsfield units (dimensionless), got unit {ct.unit:~P}")
    w = _mask(lung_mask, ct, "lung_mask")
    try:
        pts = checked_hu_curve(ct, curve)
    except InputError:
        raise
    except ValueError as exc:  # checked_hu_curve names the argument: "curve: ..." or "ct: ..."
        name, _, msg = str(exc).partition(": ")
        raise InputError(name, msg) from exc
    # Only the lung voxels are converted (the curve is elementwise): the CT is never copied (issue 22).
    idx = np.flatnonzero(w)
    rho = hu_to_density(np.asarray(ct.array).ravel()[idx], pts).astype(np.float64)
    grams = float(np.dot(rho, w.ravel()[idx].astype(np.float64))) * float(ct.voxel_volume.to("mL").magnitude)
    return Q_(grams, "g").to("kg")


def roi_volumes(liver_mask: Volume, perfused_mask: Volume | None = None, tumour_masks: Mapping | None = None) -> dict:
    """Whole-liver, perfused, perfused-normal-liver and tumour volumes [mL] from masks on one grid.

    Parameters
    ----------
    liver_mask : Volume
        Whole liver, tumours included.
    perfused_mask : Volume, optional
        Perfused territory; default the whole liver.
    tumour_masks : mapping of str to Volume, optional
        Tumours of the territory.

    Returns
    -------
    dict
        ``{"whole_liver": V, "perfused": V, "normal_liver": V, "tumours": {name: V}}``; normal
        liver = perfused minus tumours (:func:`normal_liver_weights`).
    """
    perfused = liver_mask if perfused_mask is None else perfused_mask
    tumour_masks = dict(tumour_masks or {})
    wl = _mask(liver_mask, _volume(liver_mask, "liver_mask"), "liver_mask")
    wp = _mask(perfused, liver_mask, "perfused_mask")
    v = liver_mask.voxel_volume
    tumours = {n: (_total(_mask(m, liver_mask, f"tumour_masks[{n!r}]")) * v).to("mL") for n, m in tumour_masks.items()}
    return {
        "whole_liver": (_total(wl) * v).to("mL"),
        "perfused": (_total(wp) * v).to("mL"),
        "normal_liver": (_total(_normal_liver(perfused, tumour_masks)) * v).to("mL"),
        "tumours": tumours,
    }


def containment_warnings(liver_mask: Volume, perfused_mask: Volume | None, tumour_masks: Mapping) -> list:
    """Warnings for a perfused ROI outside the liver, or tumours outside the perfused ROI (> 1 %)."""
    out = []
    wl = _mask(liver_mask, liver_mask, "liver_mask")
    wp = wl if perfused_mask is None else _mask(perfused_mask, liver_mask, "perfused_mask")
    tol = TUMOUR_OUTSIDE_PERFUSED_TOLERANCE
    if perfused_mask is not None and _total(_minus(wp, [wl])) > tol * _total(wp):
        out.append("perfused ROI extends more than 1 % of its volume outside the liver ROI")
    for n, m in tumour_masks.items():
        wt = _mask(m, liver_mask, f"tumour_masks[{n!r}]")
        outside = _total(_minus(wt, [wp]))
        if outside > tol * _total(wt):
            out.append(f"tumour {n!r}: {100 * outside / _total(wt):.1f} % of its volume lies outside the perfused ROI")
    return out


@dataclass(frozen=True)
class ImageMeasurements:
    """Plan inputs measured on a Tc-99m MAA SPECT/CT (one perfused territory).

    Attributes
    ----------
    lung_shunt_fraction : pint.Quantity or None
        C_lung / (C_lung + C_liver), dimensionless; None when the image has no lung ROI in view
        (``lung_shunt_note`` says why).
    tumour_to_normal : dict of str to pint.Quantity
        T/N per tumour (count density in the tumour over that in the perfused normal liver).
    perfused_volume, normal_liver_volume, whole_liver_volume : pint.Quantity
        [mL]; normal liver = perfused minus tumours.
    tumour_volumes : dict of str to pint.Quantity
        [mL] per tumour.
    volumes_grid : str
        ``"CT"`` when the volumes come from masks on the CT grid, ``"image"`` otherwise.
    lung_mass : pint.Quantity or None
        [kg] from the CT and the lung ROI on the CT grid; None without a CT or without lung ROIs.
    lung_counts, liver_counts : pint.Quantity
        Image content in the lung (None without lungs in view) and whole-liver ROIs (cts for a
        count image).
    warnings : tuple of str
        Accepted with reservations (e.g. a tumour partly outside the perfused ROI).
    lung_shunt_note : str
        Why the image gives no lung shunt ('' when it does).
    """

    lung_shunt_fraction: pint.Quantity | None
    tumour_to_normal: dict
    perfused_volume: pint.Quantity
    normal_liver_volume: pint.Quantity
    whole_liver_volume: pint.Quantity
    tumour_volumes: dict
    volumes_grid: str
    lung_mass: pint.Quantity | None
    lung_counts: pint.Quantity | None
    liver_counts: pint.Quantity
    warnings: tuple = field(default=())
    lung_shunt_note: str = ""


_CT_MASK_KEYS = {"liver", "lungs", "perfused", "tumours"}


def measure_plan_inputs(
    image: Volume,
    *,
    liver_mask: Volume,
    lung_mask: Volume | None = None,
    tumour_masks: Mapping | None = None,
    perfused_mask: Volume | None = None,
    ct: Volume | None = None,
    ct_masks: Mapping | None = None,
    curve=HU_DENSITY_CURVE,
    lung_note: str = "",
) -> ImageMeasurements:
    """Every plan input the images give, for one perfused territory.

    Count ratios (LSF, T/N) are measured on the emission image with the masks on its grid.
    Volumes come from the masks on the CT grid when ``ct_masks`` is given (the grid the ROIs were
    drawn on, finer than the SPECT's), else from the image-grid masks. The lung mass needs the CT.

    Parameters
    ----------
    image : Volume
        Tc-99m MAA SPECT, counts (or activity-proportional), values >= 0.
    liver_mask : Volume
        Whole liver (tumours included) on the image grid.
    lung_mask : Volume, optional
        Both lungs on the image grid; None when the image has no lungs in view (a SPECT centred on
        the liver): no lung shunt then (``lung_note`` says why), the lung mass still comes from the
        CT when ``ct_masks`` has ``"lungs"``.
    tumour_masks : mapping of str to Volume, optional
        Tumours of this territory on the image grid.
    perfused_mask : Volume, optional
        Perfused territory on the image grid; default the whole liver.
    ct : Volume, optional
        CT in HU (requires ``ct_masks``; the lung mass needs ``"lungs"`` among them).
    ct_masks : mapping, optional
        The same ROIs on the CT grid: ``"lungs"`` (for the lung mass; a centre-rule boolean mask
        is advised, see docs/imaging-inputs.md), ``"liver"``, ``"perfused"`` and ``"tumours"``
        (a mapping by the same names) for the volumes.
    curve : sequence of (HU, g/mL)
        HU-to-density curve for the lung mass.
    lung_note : str
        Why there is no lung mask (reported as ``lung_shunt_note``).

    Returns
    -------
    ImageMeasurements
    """
    tumour_masks = dict(tumour_masks or {})
    lsf = None if lung_mask is None else image_lung_shunt_fraction(image, lung_mask, liver_mask)
    ratios = tumour_to_normal_ratios(image, tumour_masks, liver_mask if perfused_mask is None else perfused_mask) if tumour_masks else {}
    warnings = containment_warnings(liver_mask, perfused_mask, tumour_masks)
    mass = None
    if ct_masks is not None:
        if not isinstance(ct_masks, Mapping) or set(ct_masks) - _CT_MASK_KEYS:
            raise InputError("ct_masks", f"expected a mapping with keys among {sorted(_CT_MASK_KEYS)}")
        if ct is None:
            raise InputError("ct", "masks on the CT grid were given without the CT")
    if ct is not None:
        if not ct_masks:
            raise InputError("ct_masks", "the lung mass needs the lung ROI on the CT grid (ct_masks['lungs'])")
        if ct_masks.get("lungs") is not None:
            mass = lung_mass_from_ct(ct, ct_masks["lungs"], curve)
    vols, grid = _volumes(liver_mask, perfused_mask, tumour_masks, ct_masks)
    return ImageMeasurements(
        lung_shunt_fraction=lsf,
        tumour_to_normal=ratios,
        perfused_volume=vols["perfused"],
        normal_liver_volume=vols["normal_liver"],
        whole_liver_volume=vols["whole_liver"],
        tumour_volumes={n: vols["tumours"][n] for n in tumour_masks},
        volumes_grid=grid,
        lung_mass=mass,
        lung_counts=None if lung_mask is None else roi_counts(image, lung_mask, "lung_mask"),
        liver_counts=roi_counts(image, liver_mask, "liver_mask"),
        warnings=tuple(warnings),
        lung_shunt_note="" if lung_mask is not None else (lung_note or "no lung ROI on the activity image"),
    )


def _volumes(liver_mask: Volume, perfused_mask, tumour_masks: dict, ct_masks) -> tuple:
    """(ROI volumes, the grid they were measured on: "CT" when the ROIs are given on the CT grid,
    else "image"), for :func:`measure_plan_inputs`."""
    if ct_masks is not None and "liver" in ct_masks:
        ct_tumours = dict(ct_masks.get("tumours") or {})
        if set(ct_tumours) != set(tumour_masks):
            raise InputError("ct_masks.tumours", "must name the same tumours as tumour_masks")
        if (ct_masks.get("perfused") is None) != (perfused_mask is None):
            raise InputError("ct_masks.perfused", "give the perfused ROI on both grids, or on neither")
        vols, grid = roi_volumes(ct_masks["liver"], ct_masks.get("perfused"), ct_tumours), "CT"
    else:
        vols, grid = roi_volumes(liver_mask, perfused_mask, tumour_masks), "image"
    return vols, grid
