"""Resin (SIR-Spheres) body-surface-area and empirical prescriptions.

BSA method (SIR-Spheres IFU):
    A_whole (GBq) = (BSA - 0.2) + V_tumour / V_liver,
    BSA (m^2) = 0.20247 * H(m)^0.725 * W(kg)^0.425  (DuBois & DuBois 1916, in SI units),
    lobar / selective treatment: A = A_whole * V_perfused / V_liver.
Empirical (legacy) method (SIR-Spheres IFU): 2.0 / 2.5 / 3.0 GBq for tumour involvement
V_tumour / V_liver below 25 %, from 25 % to 50 % (both ends included), above 50 %.
Lung shunt (SIR-Spheres IFU): the activity is reduced by 0 / 20 / 40 % for LSF < 10 % /
10-15 % / 15-20 %; above 20 % the plan is blocked (see :mod:`dosimetry.planning.lung`).

The activity so found is what the patient is to receive; the activity to prepare is that divided
by (1 - R), R the residual fraction left in vial and tubing.
"""

from __future__ import annotations

import numpy as np
import pint

from ..devices import device as _device
from ..errors import InputError
from ..units import Q_, quantity
from . import _inputs as _in
from ._common import finish
from .limits import _scenario
from .lung import resin_shunt_reduction
from .result import Plan

__all__ = ["body_surface_area", "bsa", "empirical", "EMPIRICAL_TIERS"]

#: Empirical method (SIR-Spheres IFU): (involvement upper bound, activity GBq); <25 %: 2.0,
#: 25-50 % (inclusive): 2.5, >50 %: 3.0.
EMPIRICAL_TIERS = ((0.25, 2.0), (0.50, 2.5), (np.inf, 3.0))


def body_surface_area(height, weight) -> pint.Quantity:
    """DuBois body surface area, BSA = 0.20247 H(m)^0.725 W(kg)^0.425 [m^2].

    DuBois D, DuBois EF, Arch Intern Med 1916;17:863 (0.007184 H(cm)^0.725 W(kg)^0.425,
    rewritten for H in metres: 0.007184 * 100^0.725 = 0.20247).

    Parameters
    ----------
    height : pint.Quantity or str
        [length], > 0 (``patient.height``).
    weight : pint.Quantity or str
        Body mass [mass], > 0 (``patient.weight``).
    """
    h = quantity(height, "m", "patient.height", minimum=0, include_minimum=False).magnitude
    w = quantity(weight, "kg", "patient.weight", minimum=0, include_minimum=False).magnitude
    return Q_(_in.as_array_or_float(0.20247 * np.power(h, 0.725) * np.power(w, 0.425)), "m**2")


def _resin_only(dev, method):
    if dev.name != "resin":
        raise InputError("treatment.method", f"the {method} method is for resin microspheres only; for glass use mird or partition")


def _volumes(liver, tumour, density, target=None):
    rho = _in.density_of(density)
    ml = _in.mass_of(liver, rho, "liver.mass", "liver.volume")
    mt = _in.mass_of(tumour, rho, "target.tumour_mass", "target.tumour_volume", allow_zero=True)
    if np.any(_mag(mt) >= _mag(ml)):
        raise InputError("target.tumour_volume", "tumour must be smaller than the whole liver (liver.volume, tumour included)")
    mp = None
    if target is not None:
        mp = _in.mass_of(target, rho, "target.mass", "target.volume")
        if np.any(_mag(mp) > _mag(ml) * (1 + 1e-12)):
            raise InputError("target.volume", "perfused volume must not exceed the whole liver volume (liver.volume)")
        if np.any(_mag(mt) >= _mag(mp)):
            raise InputError("target.tumour_volume", "tumour must be smaller than the perfused target")
    return rho, ml, mt, mp


def _mag(q):
    return np.asarray(q.to("kg").magnitude, dtype=float)


def _resin_plan(method, dev, scen, a_patient, f, r, k, lung_mass, prior, lung_limit, cumulative_lung_limit, details, warnings, target_mass):
    red = np.asarray(resin_shunt_reduction(f), dtype=float)
    blocked = np.isnan(red)
    a_red = a_patient * (1 - np.where(blocked, 0.0, red))
    a_prep = a_red / (1 - np.asarray(r))
    warn = list(warnings)
    if np.any(red[~blocked] > 0) if red.ndim else (not blocked and red > 0):
        if red.ndim == 0:
            warn.append(f"activity reduced by {red * 100:.0f} % for lung shunt {float(f) * 100:.1f} % (SIR-Spheres IFU)")
        else:
            warn.append(f"activity reduced for lung shunt in {int((red[~blocked] > 0).sum())} plans (SIR-Spheres IFU)")
    d = dict(details)
    d["shunt_reduction"] = _in.as_array_or_float(red)
    d["unreduced_activity"] = Q_(_in.as_array_or_float(a_patient), "GBq")
    return finish(
        method=method,
        dev=dev,
        scenario=scen,
        prescribed=a_prep,
        k=k,
        f=f,
        r=r,
        lung_mass=lung_mass,
        prior=prior,
        lung_limit=lung_limit,
        cumulative_lung_limit=cumulative_lung_limit,
        warnings=warn,
        details=d,
        target_mass=target_mass,
    )


def bsa(
    height,
    weight,
    liver,
    tumour,
    lung_shunt_fraction,
    *,
    target=None,
    device="resin",
    density=None,
    residual_fraction=0.0,
    dose_coefficient=None,
    lung_mass="1 kg",
    prior_lung_dose="0 Gy",
    lung_limit=None,
    cumulative_lung_limit=None,
    scenario="standard",
) -> Plan:
    """Resin BSA-method activity, lobar scaling and lung-shunt reduction.

    Parameters
    ----------
    height : pint.Quantity or str
        [length] (``patient.height``).
    weight : pint.Quantity or str
        [mass] (``patient.weight``).
    liver : pint.Quantity or str
        Whole liver, tumour included: volume [volume] or mass [mass] (``liver.volume``).
    tumour : pint.Quantity or str
        Tumour volume or mass, >= 0, smaller than the liver (``target.tumour_volume``).
    lung_shunt_fraction : float, array or str
        LSF in [0, 1) (``lung.shunt_fraction``); above 20 % the plan is blocked.
    target : pint.Quantity or str, optional
        Perfused volume or mass for lobar / selective treatment (``target.volume``); default the
        whole liver.
    device : str
        Must be ``"resin"``.
    density : pint.Quantity, optional
        [g/mL], default 1.03 g/mL, to convert between mass and volume.
    residual_fraction : float or array
        R in [0, 1); the prepared activity is the BSA activity / (1 - R).
    dose_coefficient : pint.Quantity, optional
        K for the lung dose [Gy kg/GBq]; default 49.67.
    lung_mass, prior_lung_dose, lung_limit, cumulative_lung_limit, scenario
        As for :func:`dosimetry.planning.mird.mird` (resin lung limit 25 Gy by default).

    Returns
    -------
    Plan
        ``details`` holds ``bsa``, ``tumour_involvement``, ``perfused_fraction``,
        ``whole_liver_activity``, ``unreduced_activity`` and ``shunt_reduction``.
    """
    dev = _device(device)
    _resin_only(dev, "bsa")
    scen = _scenario(dev.name, scenario)
    s = body_surface_area(height, weight)
    rho, ml, mt, mp = _volumes(liver, tumour, density, target)
    f = _in.lsf(lung_shunt_fraction)
    r = _in.residual(residual_fraction)
    k = _in.coefficient(dose_coefficient, dev.dose_coefficient)
    lm = _in.lung_mass_of(lung_mass)
    prior = _in.nonneg_dose(prior_lung_dose, "lung.prior_dose")

    involvement = _mag(mt) / _mag(ml)
    # A_whole (GBq) = (BSA - 0.2) + V_T / V_L    (SIR-Spheres IFU; BSA in m^2)
    a_whole = (s.to("m**2").magnitude - 0.2) + involvement
    perfused = np.ones_like(involvement) if mp is None else _mag(mp) / _mag(ml)
    a = a_whole * perfused
    if np.any(a <= 0):
        raise InputError("patient.height", "BSA method gives no positive activity for this body size; check patient.height and patient.weight")
    details = {
        "bsa": s,
        "tumour_involvement": _in.as_array_or_float(involvement),
        "perfused_fraction": _in.as_array_or_float(perfused),
        "whole_liver_activity": Q_(_in.as_array_or_float(a_whole), "GBq"),
        "density": rho,
    }
    return _resin_plan("bsa", dev, scen, a, f, r, k, lm, prior, lung_limit, cumulative_lung_limit, details, [], ml if mp is None else mp)


def empirical(
    liver,
    tumour,
    lung_shunt_fraction,
    *,
    device="resin",
    density=None,
    residual_fraction=0.0,
    dose_coefficient=None,
    lung_mass="1 kg",
    prior_lung_dose="0 Gy",
    lung_limit=None,
    cumulative_lung_limit=None,
    scenario="standard",
) -> Plan:
    """Resin empirical (legacy) method: 2.0 / 2.5 / 3.0 GBq by tumour involvement.

    Involvement = V_tumour / V_liver: < 25 % gives 2.0 GBq; 25 % to 50 % inclusive 2.5 GBq;
    > 50 % 3.0 GBq (SIR-Spheres IFU). The lung-shunt reduction applies as for :func:`bsa`.
    Whole-liver method: there is no lobar scaling.

    Parameters
    ----------
    liver, tumour, lung_shunt_fraction, device, density, residual_fraction, dose_coefficient,
    lung_mass, prior_lung_dose, lung_limit, cumulative_lung_limit, scenario
        As for :func:`bsa`.

    Returns
    -------
    Plan
        ``details`` holds ``tumour_involvement``, ``unreduced_activity`` and ``shunt_reduction``.
    """
    dev = _device(device)
    _resin_only(dev, "empirical")
    scen = _scenario(dev.name, scenario)
    rho, ml, mt, _ = _volumes(liver, tumour, density)
    f = _in.lsf(lung_shunt_fraction)
    r = _in.residual(residual_fraction)
    k = _in.coefficient(dose_coefficient, dev.dose_coefficient)
    lm = _in.lung_mass_of(lung_mass)
    prior = _in.nonneg_dose(prior_lung_dose, "lung.prior_dose")
    inv = np.round(_mag(mt) / _mag(ml), 12)
    a = np.where(inv < 0.25, 2.0, np.where(inv <= 0.50, 2.5, 3.0))
    details = {"tumour_involvement": _in.as_array_or_float(inv), "density": rho}
    return _resin_plan("empirical", dev, scen, a, f, r, k, lm, prior, lung_limit, cumulative_lung_limit, details, [], ml)
