"""Partial-volume correction of a voxel dosimetry's region figures, shown beside the plain ones.

:func:`correct_regions` takes the calibrated activity map and the ROI masks of a
:class:`~dosimetry.workflow.voxel.VoxelResult` and returns, for every region, the corrected mean
activity concentration and the recovery (plain / corrected), and for every tumour the corrected
tumour-to-normal ratio and mean dose. It never changes the plain figures (docs/partial-volume.md).

The regions the transfer matrix needs are disjoint and hold all the activity: the tumours, the
normal liver of the territory, the rest of the liver (outside the territory), the lungs, and the
rest of the field of view (:data:`dosimetry.voxel.partial_volume.REST`). The liver, perfused and
whole-normal-liver regions are unions of these; their corrected mean is the volume-weighted mean
of their parts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_
from ..vocabulary import Role
from ..voxel import Volume, absorbed_fraction_kernel, local_deposition
from ..voxel.partial_volume import PVC_METHODS, GTMResult, gtm_correct, self_absorbed_fraction

__all__ = ["PartialVolume", "correct_regions"]

#: Name of the liver outside the territory and the tumours, a region of the transfer matrix only.
_REST_OF_LIVER = "(liver outside the territory and tumours)"


@dataclass(frozen=True)
class PartialVolume:
    """Corrected figures beside the plain ones (never instead of them).

    Attributes
    ----------
    method : str
        ``"gtm"``.
    fwhm : pint.Quantity
        The camera FWHM used [mm].
    corrected_mean : dict of str to pint.Quantity
        Corrected mean activity concentration at administration [MBq/mL] of every region.
    recovery : dict of str to float or None
        Plain mean / corrected mean of the image over each region (the recovery coefficient,
        before the calibration is re-applied; < 1 for a hot tumour).
    tumour_to_normal : dict of str to float
        Corrected tumour-to-normal ratio of each tumour (against the same normal liver as the plain one).
    tumour_mean_dose : dict of str to pint.Quantity
        Corrected mean absorbed dose of each tumour [Gy], by the dose method of the plain figures.
    self_absorbed_fraction : dict of str to float
        Beta self-absorbed fraction of each tumour (kernel method only).
    calibration_scale : float
        Factor re-applying a relative calibration to the corrected image (1 for absolute).
    gtm : GTMResult
        The transfer matrix and its solution.
    """

    method: str
    fwhm: pint.Quantity
    corrected_mean: dict
    recovery: dict
    tumour_to_normal: dict
    tumour_mean_dose: dict
    self_absorbed_fraction: dict
    calibration_scale: float
    gtm: GTMResult

    @property
    def text(self) -> str:
        """One line for the report: the method and FWHM."""
        return f"{PVC_METHODS[self.method]}, FWHM {self.fwhm.to('mm').magnitude:g} mm"


def _members(masks: dict, roles: dict) -> dict:
    """The disjoint regions of the transfer matrix, by name (fractions as float64 Volumes)."""
    tumours = [n for n, r in roles.items() if r == Role.TUMOUR]
    normal = next(n for n, r in roles.items() if r == Role.NORMAL_LIVER)
    liver = next(n for n, r in roles.items() if r == Role.LIVER)
    out = {n: masks[n] for n in [*tumours, normal]}
    w = np.asarray(masks[liver].array, np.float64) - sum(np.asarray(out[n].array, np.float64) for n in out)
    rest = np.clip(w, 0.0, 1.0)
    if rest.sum() > 1e-3:
        out[_REST_OF_LIVER] = masks[liver].with_array(rest)
    for n, r in roles.items():
        if r == Role.LUNG:
            out[n] = masks[n]
    return out


def _parts(role: Role, names: tuple, tumours: list, normal: str) -> list:
    """The members a union region is made of."""
    if role == Role.LIVER:
        return [*tumours, normal, _REST_OF_LIVER]
    if role == Role.PERFUSED:
        return [*tumours, normal]
    if role == Role.WHOLE_NORMAL_LIVER:
        return [normal, _REST_OF_LIVER]
    return []


def correct_regions(activity: Volume, masks: dict, roles: dict, *, fwhm, method: str, density, relative: bool) -> PartialVolume:
    """Corrected figures of a voxel dosimetry (:data:`PVC_METHODS` ``"gtm"``).

    Parameters
    ----------
    activity : Volume
        The calibrated activity map [MBq per voxel at administration].
    masks, roles : dict
        The result's ROI masks and each region's :class:`~dosimetry.vocabulary.Role`, by name.
    fwhm : pint.Quantity
        Camera FWHM.
    method : str
        Dose method of the plain figures (``"kernel"`` or ``"ldm"``).
    density : pint.Quantity or Volume
        The density map of the plain dose.
    relative : bool
        The map was relatively calibrated: the liver and lungs (the regions other than the rest of
        the field of view) are scaled again to hold what the plain calibration put in them.

    The corrected mean dose of a tumour is ``g_T c'_T`` (local deposition) or
    ``g_T [F c'_N + phi_T (c'_T - c'_N)]`` (kernel), with ``g_T`` the plain local-deposition mean
    dose per unit plain concentration (``K / rho``), ``F`` the kernel's energy sum, ``phi_T`` the
    tumour's beta self-absorbed fraction (:func:`dosimetry.voxel.partial_volume.self_absorbed_fraction`)
    and ``c'_N`` the corrected normal liver: the tumour is taken to lie in normal liver.
    """
    members = _members(masks, roles)
    try:
        gtm = gtm_correct(activity, members, fwhm)
    except InputError as exc:
        raise exc.renamed("imaging.partial_volume") from exc
    except ValueError as exc:
        raise InputError("imaging.partial_volume", str(exc)) from exc
    vol = {n: float(np.asarray(m.array, np.float64).sum()) for n, m in members.items()}
    obs = {n: float(gtm.observed_mean(n).magnitude) for n in members}
    cor = {n: float(gtm.corrected_mean(n).magnitude) for n in members}
    tumours = [n for n, r in roles.items() if r == Role.TUMOUR]
    normal = next(n for n, r in roles.items() if r == Role.NORMAL_LIVER)
    for n in [*tumours, normal]:
        if not cor[n] > 0:
            raise InputError("imaging.partial_volume", f"the corrected mean of {n!r} is {cor[n]:.3g}, not positive: the image does not fit the "
                             "uniform-region model (noise, misregistration or a wrong FWHM); the plain figures stand without a correction")
    scale = sum(obs[n] * vol[n] for n in members) / sum(cor[n] * vol[n] for n in members) if relative else 1.0
    per_ml = Q_(1, activity.unit).to("MBq").magnitude / activity.voxel_volume.to("mL").magnitude
    mean, recovery = {}, {}
    for name, role in roles.items():
        parts = [name] if name in members else [p for p in _parts(role, tuple(members), tumours, normal) if p in members]
        c = sum(cor[p] * vol[p] for p in parts) / sum(vol[p] for p in parts)
        o = sum(obs[p] * vol[p] for p in parts) / sum(vol[p] for p in parts)
        mean[name] = Q_(c * scale * per_ml, "MBq/mL")
        recovery[name] = o / c if c > 0 else None
    ratios = {t: cor[t] / cor[normal] for t in tumours}
    doses, phis = _tumour_doses(activity, masks, tumours, normal, obs, {n: v * scale for n, v in cor.items()}, method, density)
    return PartialVolume("gtm", gtm.fwhm, mean, recovery, ratios, doses, phis, scale, gtm)


def _tumour_doses(activity: Volume, masks: dict, tumours: list, normal: str, obs: dict, cor: dict, method: str, density) -> tuple:
    """({tumour: corrected mean dose}, {tumour: phi}) by the model in :func:`correct_regions`."""
    ldm = np.asarray(local_deposition(activity, density=density).array, np.float64)
    doses, phis = {}, {}
    for t in tumours:
        w = np.asarray(masks[t].array, np.float64)
        if not obs[t] > 0:
            raise InputError("imaging.partial_volume", f"{t!r} holds no activity in the image; its corrected dose is undefined")
        g = float(np.vdot(w, ldm)) / w.sum() / obs[t]  # Gy per unit of the plain concentration: K / rho
        if method == "ldm":
            doses[t] = Q_(g * cor[t], "Gy")
            continue
        f = float(absorbed_fraction_kernel(activity).sum())
        phi = self_absorbed_fraction(masks[t])
        phis[t] = phi
        doses[t] = Q_(g * (f * cor[normal] + phi * (cor[t] - cor[normal])), "Gy")
    return doses, phis
