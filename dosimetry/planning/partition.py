"""Partition model: tumour(s), normal liver and lungs (Ho et al., Eur J Nucl Med 1996).

With A the prepared activity, R the residual fraction, LSF the lung shunt fraction, K the dose
coefficient (resin 49.67, glass 50 Gy kg/GBq by default), M_N the normal (non-tumoral) perfused
liver mass, tumours i of mass M_Ti and tumour-to-normal uptake ratio r_i:

    D_N  = K A (1 - R) (1 - LSF) / (M_N + sum_i r_i M_Ti)
    D_Ti = r_i D_N
    D_L  = K A (1 - R) LSF / M_L

M_N = M_target - sum_i M_Ti (the perfused target contains the tumours). The residual fraction
reduces the activity reaching the patient, so it enters every dose as (1 - R).

Modes: reach a requested normal-liver dose, or a requested tumour dose (for several tumours,
the tumour with the lowest ratio receives it and the others more), or, when neither is given,
the largest activity within every safety limit: normal-liver limit, lung per treatment and
lung cumulative (prior dose included). ``binding_constraint`` names the limit that sets it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..devices import device as _device
from ..errors import InputError
from ..units import Q_, quantity
from . import _inputs as _in
from ._common import finish
from .limits import _scenario, threshold_value
from .result import Plan

__all__ = ["partition"]


def _ratio(value, field: str) -> np.ndarray:
    """Tumour-to-normal ratio(s), > 0; a list of per-patient values is taken as an array."""
    if isinstance(value, list):
        value = np.asarray(value, dtype=float)
    return np.asarray(quantity(value, "dimensionless", field, minimum=0, include_minimum=False).magnitude, dtype=float)


def _tumours(tumour, ratio, rho):
    """Masses (kg, stacked on axis 0 when several) and ratios; and whether several."""
    several = isinstance(tumour, Sequence) and not isinstance(tumour, str)
    if several:
        if not (isinstance(ratio, Sequence) and not isinstance(ratio, str)) or len(ratio) != len(tumour):
            raise InputError("target.tumour_to_normal", f"give one ratio per tumour ({len(tumour)} tumours)")
        if len(tumour) == 0:
            raise InputError("target.tumours", "at least one tumour is needed")
        ms, rs = [], []
        for i, (t, q) in enumerate(zip(tumour, ratio)):
            ms.append(_in.mass_of(t, rho, f"target.tumours[{i + 1}].mass", f"target.tumours[{i + 1}].volume", allow_zero=True).magnitude)
            rs.append(_ratio(q, f"target.tumours[{i + 1}].tumour_to_normal"))
        ms = np.stack(np.broadcast_arrays(*[np.asarray(m, dtype=float) for m in ms]))
        rs = np.stack(np.broadcast_arrays(*[np.asarray(q, dtype=float) for q in rs]))
        return ms, rs, True
    m = np.asarray(_in.mass_of(tumour, rho, "target.tumour_mass", "target.tumour_volume", allow_zero=True).magnitude, dtype=float)
    q = _ratio(ratio, "target.tumour_to_normal")
    return m, q, False


def partition(
    target,
    tumour,
    tumour_to_normal,
    lung_shunt_fraction,
    *,
    device="resin",
    normal_liver_dose=None,
    tumour_dose=None,
    density=None,
    residual_fraction=0.0,
    dose_coefficient=None,
    lung_mass="1 kg",
    prior_lung_dose="0 Gy",
    lung_limit=None,
    cumulative_lung_limit=None,
    normal_liver_limit=None,
    scenario="standard",
) -> Plan:
    """Partition-model prescription (see module docstring).

    Parameters
    ----------
    target : pint.Quantity or str
        Perfused mass [mass] or volume [volume], tumours included (``target.mass`` /
        ``target.volume``).
    tumour : pint.Quantity, str, or sequence of them
        Tumour mass or volume, >= 0 (``target.tumour_volume``); a list/tuple for several tumours
        (``target.tumours[i].volume``). Their sum must be smaller than the target.
    tumour_to_normal : float, array, or sequence of them
        Tumour-to-normal uptake ratio(s), > 0 (``target.tumour_to_normal``), one per tumour.
    lung_shunt_fraction : float, array or str
        LSF in [0, 1) (``lung.shunt_fraction``).
    device : str
        ``"resin"`` (default, K = 49.67) or ``"glass"`` (K = 50).
    normal_liver_dose : pint.Quantity, optional
        Requested normal-liver dose [Gy], > 0 (``target.normal_liver_dose``).
    tumour_dose : pint.Quantity, optional
        Requested tumour dose [Gy], > 0 (``target.tumour_dose``). At most one of the two.
    density : pint.Quantity, optional
        [g/mL]; default 1.03 g/mL (``liver.density``).
    residual_fraction : float or array
        R in [0, 1) (``target.residual_fraction``).
    dose_coefficient : pint.Quantity, optional
        K [Gy kg/GBq] (``treatment.dose_coefficient``).
    lung_mass, prior_lung_dose, lung_limit, cumulative_lung_limit
        As for :func:`dosimetry.planning.mird.mird`.
    normal_liver_limit : pint.Quantity, optional
        Normal-liver safety limit [Gy] (``target.normal_liver_limit``); default from
        :mod:`dosimetry.planning.limits` (glass 75 Gy, resin 40 Gy; none for segmentectomy).
    scenario : str
        Threshold scenario (``treatment.scenario``).

    Returns
    -------
    Plan
        With ``target_mass``, ``target_dose`` (mean over the perfused mass), ``normal_liver_mass``,
        ``normal_liver_dose``, ``tumour_mass``, ``tumour_dose`` (first axis = tumour when several),
        ``tumour_to_normal``, ``max_safe_activity`` and ``binding_constraint``;
        ``details["mode"]`` is ``"normal_liver_dose"``, ``"tumour_dose"`` or ``"max_safe"``.

    Raises
    ------
    InputError
        Invalid input, both requested doses given, or (largest-activity mode) no limit bounds
        the activity.
    """
    dev = _device(device)
    scen = _scenario(dev.name, scenario)
    if normal_liver_dose is not None and tumour_dose is not None:
        raise InputError("target.tumour_dose", "give target.normal_liver_dose or target.tumour_dose, not both")
    rho = _in.density_of(density)
    mtot = np.asarray(_in.mass_of(target, rho, "target.mass", "target.volume").magnitude, dtype=float)
    mt, ratio, several = _tumours(tumour, tumour_to_normal, rho)
    mt_sum = mt.sum(axis=0) if several else mt
    if np.any(mt_sum >= mtot):
        raise InputError(
            "target.tumours" if several else "target.tumour_volume",
            "tumour must be smaller than the perfused target (target.volume / target.mass)",
        )
    f = np.asarray(_in.lsf(lung_shunt_fraction), dtype=float)
    r = np.asarray(_in.residual(residual_fraction), dtype=float)
    k = _in.coefficient(dose_coefficient, dev.dose_coefficient)
    kk = k.magnitude
    lm = _in.lung_mass_of(lung_mass)
    prior = _in.nonneg_dose(prior_lung_dose, "lung.prior_dose")
    nl_lim = threshold_value(dev.name, "normal_liver_dose", scen) if normal_liver_limit is None else _in.positive_dose(normal_liver_limit, "target.normal_liver_limit")

    mn = mtot - mt_sum  # normal perfused liver [kg]
    weighted = mn + ((ratio * mt).sum(axis=0) if several else ratio * mt)  # M_N + sum r_i M_Ti
    dn_per_gbq = kk * (1 - r) * (1 - f) / weighted  # normal-liver Gy per prepared GBq
    r_min = ratio.min(axis=0) if several else ratio

    caps = []
    if nl_lim is not None:
        caps.append(("normal_liver_dose", nl_lim.to("Gy").magnitude / dn_per_gbq))

    if normal_liver_dose is not None:
        mode = "normal_liver_dose"
        a = _in.positive_dose(normal_liver_dose, "target.normal_liver_dose").magnitude / dn_per_gbq
    elif tumour_dose is not None:
        mode = "tumour_dose"
        a = _in.positive_dose(tumour_dose, "target.tumour_dose").magnitude / (r_min * dn_per_gbq)
    else:
        mode = "max_safe"
        a = None

    if a is None:
        # Largest safe activity: the caps from finish() need the lung caps; compute them here too.
        from .lung import max_lung_activity

        a1, a2 = max_lung_activity(
            f if f.ndim else float(f),
            device=dev,
            lung_mass=lm,
            prior_lung_dose=prior,
            lung_limit=lung_limit,
            cumulative_lung_limit=cumulative_lung_limit,
            dose_coefficient=k,
            residual_fraction=r if r.ndim else float(r),
        )
        stack = [np.asarray(a1.magnitude, float), np.asarray(a2.magnitude, float)] + [np.asarray(c[1], float) for c in caps]
        a = np.min(np.stack(np.broadcast_arrays(*stack)), axis=0)
        if np.any(np.isinf(a)):
            raise InputError(
                "target.normal_liver_dose",
                "no safety limit bounds the activity (no lung shunt and no normal-liver limit); give target.normal_liver_dose, target.tumour_dose or target.normal_liver_limit",
            )

    a = np.asarray(a, dtype=float)
    dn = a * dn_per_gbq
    dt = ratio * dn
    d_target = kk * a * (1 - r) * (1 - f) / mtot
    figures = {
        "normal_liver_dose": Q_(_in.as_array_or_float(dn), "Gy"),
        "tumour_dose": Q_(_in.as_array_or_float(dt), "Gy"),
        "target_dose": Q_(_in.as_array_or_float(d_target), "Gy"),
    }
    ov = {}
    if normal_liver_limit is not None:
        ov["normal_liver_dose"] = nl_lim
    return finish(
        method="partition",
        dev=dev,
        scenario=scen,
        prescribed=a,
        k=k,
        f=f,
        r=r,
        lung_mass=lm,
        prior=prior,
        lung_limit=lung_limit,
        cumulative_lung_limit=cumulative_lung_limit,
        extra_caps=caps,
        overrides=ov,
        figures=figures,
        several_tumours=several,
        details={"mode": mode, "density": rho, "normal_liver_limit": nl_lim, "several_tumours": several},
        target_mass=Q_(_in.as_array_or_float(mtot), "kg"),
        target_dose=figures["target_dose"],
        normal_liver_mass=Q_(_in.as_array_or_float(mn), "kg"),
        normal_liver_dose=figures["normal_liver_dose"],
        tumour_mass=Q_(_in.as_array_or_float(mt), "kg"),
        tumour_dose=figures["tumour_dose"],
        tumour_to_normal=_in.as_array_or_float(ratio),
    )
