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
from typing import TYPE_CHECKING

import numpy as np
import pint

from ..errors import InputError
from ..units import Q_
from ..vocabulary import Role
from ..voxel.geometry import Volume

if TYPE_CHECKING:
    from ..voxel.partial_volume import GTMResult

# The correction's own computations (scipy.fft, scipy.ndimage) are imported where they run, so that
# a plan without images, which only uses plan_tumours_beside and plan_notes, never loads them (issue 22).

__all__ = ["PartialVolume", "PlanTumour", "correct_regions", "plan_tumours_beside", "plan_notes"]

#: Short names for the report lines (the full ones, with their sources, in PVC_METHODS).
_SHORT = {"gtm": "geometric transfer matrix (Rousset et al. 1998)"}

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
    gtm : dosimetry.voxel.partial_volume.GTMResult
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
        return f"{_SHORT[self.method]}, FWHM {self.fwhm.to('mm').magnitude:g} mm"


def _base(roles: dict) -> str:
    """The region the tumours are cut from: the normal liver of the territory, else the territory
    (perfused ROI, else the liver) when there are no tumours."""
    for role in (Role.NORMAL_LIVER, Role.PERFUSED, Role.LIVER):
        for n, r in roles.items():
            if r == role:
                return n
    raise InputError("imaging.partial_volume", "no liver region to correct")


def _members(masks: dict, roles: dict) -> dict:
    """The disjoint regions of the transfer matrix, by name (fractions as Volumes)."""
    tumours = [n for n, r in roles.items() if r == Role.TUMOUR]
    liver = next(n for n, r in roles.items() if r == Role.LIVER)
    out = {n: masks[n] for n in [*tumours, _base(roles)]}
    w = np.asarray(masks[liver].array, np.float64) - sum(np.asarray(out[n].array, np.float64) for n in out)
    rest = np.clip(w, 0.0, 1.0)
    if rest.sum() > 1e-3:
        out[_REST_OF_LIVER] = masks[liver].with_array(rest)
    for n, r in roles.items():
        if r == Role.LUNG:
            out[n] = masks[n]
    return out


def _parts(role: Role, tumours: list, base: str) -> list:
    """The members a union region is made of (``base`` as :func:`_base`)."""
    if role == Role.LIVER:
        return [*tumours, base, _REST_OF_LIVER]
    if role == Role.PERFUSED:
        return [*tumours, base]
    if role == Role.WHOLE_NORMAL_LIVER:
        return [base, _REST_OF_LIVER]
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
    from ..voxel.partial_volume import gtm_correct

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
    normal = _base(roles)
    for n in [*tumours, normal]:
        if not cor[n] > 0:
            raise InputError("imaging.partial_volume", f"the corrected mean of {n!r} is {cor[n]:.3g}, not positive: the image does not fit the "
                             "uniform-region model (noise, misregistration or a wrong FWHM); the plain figures stand without a correction")
    scale = sum(obs[n] * vol[n] for n in members) / sum(cor[n] * vol[n] for n in members) if relative else 1.0
    per_ml = Q_(1, activity.unit).to("MBq").magnitude / activity.voxel_volume.to("mL").magnitude
    mean, recovery = {}, {}
    for name, role in roles.items():
        parts = [name] if name in members else [p for p in _parts(role, tumours, normal) if p in members]
        c = sum(cor[p] * vol[p] for p in parts) / sum(vol[p] for p in parts)
        o = sum(obs[p] * vol[p] for p in parts) / sum(vol[p] for p in parts)
        mean[name] = Q_(c * scale * per_ml, "MBq/mL")
        recovery[name] = o / c if c > 0 else None
    ratios = {t: cor[t] / cor[normal] for t in tumours}
    doses, phis = _tumour_doses(activity, masks, tumours, normal, obs, {n: v * scale for n, v in cor.items()}, method, density)
    return PartialVolume("gtm", gtm.fwhm, mean, recovery, ratios, doses, phis, scale, gtm)


def _tumour_doses(activity: Volume, masks: dict, tumours: list, normal: str, obs: dict, cor: dict, method: str, density) -> tuple:
    """({tumour: corrected mean dose}, {tumour: phi}) by the model in :func:`correct_regions`."""
    from ..voxel.dose import local_deposition
    from ..voxel.kernel import absorbed_fraction_kernel
    from ..voxel.partial_volume import self_absorbed_fraction

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


@dataclass(frozen=True)
class PlanTumour:
    """A planned tumour dose beside the one its partial-volume corrected ratio gives.

    Attributes
    ----------
    name : str
        The tumour (its ROI).
    ratio : float
        The tumour-to-normal ratio the plan used.
    from_image : bool
        The plan's ratio was measured on the activity image (lowered by its resolution).
    dose : pint.Quantity
        The planned tumour dose [Gy].
    corrected_ratio, corrected_dose : float and pint.Quantity, or None
        The ratio with the image's measured ratios replaced by the corrected ones, and the tumour
        dose the same prescribed activity then gives (the partition of
        :mod:`dosimetry.planning.compartments`: every corrected ratio also changes the normal liver's
        share); None without a correction.
    """

    name: str
    ratio: float
    from_image: bool
    dose: pint.Quantity
    corrected_ratio: float | None = None
    corrected_dose: pint.Quantity | None = None

    def to_json(self) -> dict:
        from ..units import to_json

        return {"name": self.name, "tumour_to_normal": self.ratio, "from_image": self.from_image, "tumour_dose": to_json(self.dose.to("Gy")),
                "corrected_tumour_to_normal": self.corrected_ratio,
                "corrected_tumour_dose": None if self.corrected_dose is None else to_json(self.corrected_dose.to("Gy"))}


def plan_tumours_beside(plan, voxel, input_sources) -> tuple:
    """The plan's tumour doses with, for ratios measured on the image, the corrected figure beside
    them (:class:`PlanTumour`); () when the plan has no per-tumour ratios and doses.

    ``plan`` is a :class:`~dosimetry.workflow.plan.PatientPlan`, ``voxel`` a VoxelResult or None,
    ``input_sources`` the :class:`~dosimetry.workflow.inputs.InputSource` list of the case.
    """
    from ..planning.compartments import Compartments

    p, tumours = plan.plan, plan.patient.target.tumours
    if p.tumour_dose is None or p.tumour_to_normal is None or not tumours:
        return ()
    ratios = np.atleast_1d(np.asarray(p.tumour_to_normal, dtype=float))
    doses = np.atleast_1d(p.tumour_dose.to("Gy").magnitude)
    if ratios.ndim != 1 or len(ratios) != len(tumours) or len(doses) != len(tumours):
        return ()  # vectorized plans (several patients) are not shown
    image = {s.field for s in input_sources if s.used == "image"}
    from_image = [f"target.tumours[{i + 1}].tumour_to_normal" in image for i in range(len(tumours))]
    pv = getattr(voxel, "partial_volume", None)
    corrected = None
    if pv is not None and any(from_image) and all(t.name in pv.tumour_to_normal for t, im in zip(tumours, from_image) if im):
        corrected = np.array([pv.tumour_to_normal[t.name] if im else r for t, im, r in zip(tumours, from_image, ratios)])
        masses = np.atleast_1d(p.tumour_mass.to("kg").magnitude)

        def per_gbq(r):
            c = Compartments(k=p.dose_coefficient.to("Gy*kg/GBq").magnitude, lsf=p.lung_shunt_fraction, residual=p.residual_fraction, target_mass=p.target_mass.to("kg").magnitude,
                             tumour_mass=masses, ratio=r, several=True, liver_mass=None, liver_tumour_mass=None, lung_mass=p.lung_mass.to("kg").magnitude)
            return np.asarray(c.per_gbq()["tumour_dose"], dtype=float)

        scale = per_gbq(corrected) / per_gbq(ratios)  # same activity, same rule: only the ratios differ
    out = []
    for i, t in enumerate(tumours):
        out.append(PlanTumour(t.name, float(ratios[i]), from_image[i], Q_(float(doses[i]), "Gy"),
                              None if corrected is None else float(corrected[i]),
                              None if corrected is None else Q_(float(doses[i] * scale[i]), "Gy")))
    return tuple(out)


def plan_notes(beside: tuple, voxel) -> tuple:
    """(warnings, notes) saying which planned tumour doses rest on ratios measured on the image."""
    biased = [t for t in beside if t.from_image]
    if not biased:
        return (), ()
    pv = getattr(voxel, "partial_volume", None)
    if pv is None or biased[0].corrected_ratio is None:
        names = ", ".join(t.name for t in biased)
        return (), (f"planned tumour doses of {names} rest on tumour-to-normal ratios measured on the activity image, which its "
                    "resolution lowers (partial-volume effect: the smaller the tumour, the more), so they are low; "
                    "imaging.partial_volume = \"gtm\" with imaging.fwhm shows corrected figures beside them",)
    warnings = tuple(
        f"{t.name}: the planned {t.dose.to('Gy').magnitude:.0f} Gy rests on the image's tumour-to-normal ratio {t.ratio:.2f}, lowered by its "
        f"resolution; with the corrected ratio {t.corrected_ratio:.2f} ({pv.text}) the same activity gives "
        f"{t.corrected_dose.to('Gy').magnitude:.0f} Gy (shown beside; the plan and the verdict use the plain figures)"
        for t in biased
    )
    return warnings, ()
