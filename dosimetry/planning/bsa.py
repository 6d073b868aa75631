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

from ..devices import DEVICES
from ..errors import InputError
from ..ranges import plausible_quantity
from ..units import Q_
from . import _inputs as _in
from .assemble import Setting, assemble_plan, setting
from .lung import shunt_reduction_or_nan
from .result import Plan
from .settings import PlanSettings

__all__ = ["body_surface_area", "bsa", "empirical", "EMPIRICAL_TIERS"]

#: Empirical method (SIR-Spheres IFU): (involvement upper bound, activity GBq); <25 %: 2.0,
#: 25-50 % (inclusive): 2.5, >50 %: 3.0.
EMPIRICAL_TIERS = ((0.25, 2.0), (0.50, 2.5), (np.inf, 3.0))


def body_surface_area(height, weight, warns: list | None = None) -> pint.Quantity:
    """DuBois body surface area, BSA = 0.20247 H(m)^0.725 W(kg)^0.425 [m^2].

    DuBois D, DuBois EF, Arch Intern Med 1916;17:863 (0.007184 H(cm)^0.725 W(kg)^0.425,
    rewritten for H in metres: 0.007184 * 100^0.725 = 0.20247).

    Parameters
    ----------
    height : pint.Quantity or str
        [length] (``patient.height``).
    weight : pint.Quantity or str
        Body mass [mass] (``patient.weight``).
    warns : list, optional
        Height or weight outside the usual band is described here.

    Raises
    ------
    InputError
        Height or weight outside its plausible range (``PLAUSIBLE["patient.height"]``,
        ``PLAUSIBLE["patient.weight"]``, as in the patient file).
    """
    h = plausible_quantity(height, "patient.height", "patient.height", warns, scalar=False).to("m").magnitude
    w = plausible_quantity(weight, "patient.weight", "patient.weight", warns, scalar=False).to("kg").magnitude
    _in.shapes_agree({"patient.height": np.shape(h), "patient.weight": np.shape(w)})
    return Q_(_in.as_array_or_float(0.20247 * np.power(h, 0.725) * np.power(w, 0.425)), "m**2")


def _resin_only(s: Setting, method):
    """The method must be one of the device's own (:attr:`dosimetry.devices.Device.methods`)."""
    if method not in s.dev.methods:
        owners = " or ".join(d.name for d in DEVICES.values() if method in d.methods)
        raise InputError("treatment.method", f"the {method} method is for {owners} microspheres only; for {s.dev.name} use {' or '.join(s.dev.methods)}")


def _involvement(s: Setting, liver):
    """Tumour involvement V_T / V_L: every tumour of the whole liver (``liver.tumour_volume``) over the
    whole liver, before any lobe fraction (SIR-Spheres IFU BSA method; verify against the current
    IFU); the target's tumours when the whole liver's are not given."""
    ml = np.asarray(_in.mass_of(liver, s.density, "liver.mass", "liver.volume").magnitude, dtype=float)
    tumours = s.comp.tumour_total if s.comp.liver_tumour_mass is None else s.comp.liver_tumour_mass
    if np.any(tumours >= ml):
        raise InputError("target.tumour_volume", "tumour must be smaller than the whole liver (liver.volume, tumour included)")
    return tumours / ml, ml


def _resin_plan(method, s: Setting, a_patient, details, warns=()):
    f, r = s.comp.lsf, s.comp.residual
    red = np.asarray(shunt_reduction_or_nan(f), dtype=float)
    blocked = np.isnan(red)
    a_red = a_patient * (1 - np.where(blocked, 0.0, red))
    a_prep = a_red / (1 - r)
    warn = list(warns)
    if np.any(red[~blocked] > 0) if red.ndim else (not blocked and red > 0):
        if red.ndim == 0:
            warn.append(f"activity reduced by {red * 100:.0f} % for lung shunt {float(f) * 100:.1f} % (SIR-Spheres IFU)")
        else:
            warn.append(f"activity reduced for lung shunt in {int((red[~blocked] > 0).sum())} plans (SIR-Spheres IFU)")
    d = dict(details, density=s.density)
    d["shunt_reduction"] = _in.as_array_or_float(red)
    d["unreduced_activity"] = Q_(_in.as_array_or_float(a_patient), "GBq")
    return assemble_plan(method=method, s=s, prescribed=a_prep, warnings=warn, details=d)


def bsa(
    height, weight, liver, tumour, lung_shunt_fraction, *, target=None, tumour_to_normal=None, settings: PlanSettings | None = None, **shared
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
        Tumour volume or mass in the target, >= 0 (``target.tumour_volume``).
    lung_shunt_fraction : float, array or str
        LSF in [0, 1) (``lung.shunt_fraction``); above 20 % the plan is blocked.
    target : pint.Quantity or str, optional
        Perfused volume or mass for lobar / selective treatment (``target.volume``); default the
        whole liver.
    tumour_to_normal : float, optional
        Tumour-to-normal ratio, for the normal-liver and tumour doses the activity gives
        (uniform uptake without it).
    settings, **shared
        As for :func:`dosimetry.planning.mird.mird`; ``device`` must be ``"resin"`` (resin lung limit
        25 Gy by default).

    Returns
    -------
    Plan
        Every compartment's dose and check (the BSA activity implies them); ``details`` holds
        ``bsa``, ``tumour_involvement``, ``perfused_fraction``, ``whole_liver_activity``,
        ``unreduced_activity`` and ``shunt_reduction``.
    """
    ps = PlanSettings.of(settings, caller="bsa", **shared)
    s = setting(ps, target=liver if target is None else target, lung_shunt_fraction=lung_shunt_fraction, tumour=tumour,
                tumour_to_normal=tumour_to_normal, liver=liver)
    _resin_only(s, "bsa")
    if target is not None and ps.liver_tumour is None and np.any(np.abs(s.comp.target_mass / s.comp.liver_mass - 1) > 0.01):
        raise InputError(
            "liver.tumour_volume",
            "missing: a lobar or selective BSA plan takes the tumour involvement of the whole liver (every tumour in it, "
            "SIR-Spheres IFU) before the lobe fraction; give it (equal to target.tumour_volume if all tumours are in the target)",
        )
    warns: list = []
    bsa_m2 = body_surface_area(height, weight, warns)
    _in.shapes_agree({**s.shapes, "patient.height": np.shape(bsa_m2.magnitude)})
    involvement, ml = _involvement(s, liver)
    # A_whole (GBq) = (BSA - 0.2) + V_T / V_L    (SIR-Spheres IFU; BSA in m^2)
    a_whole = (bsa_m2.to("m**2").magnitude - 0.2) + involvement
    perfused = s.comp.target_mass / ml
    a = a_whole * perfused
    if np.any(a <= 0):
        raise InputError("patient.height", "BSA method gives no positive activity for this body size; check patient.height and patient.weight")
    details = {
        "bsa": bsa_m2,
        "tumour_involvement": _in.as_array_or_float(involvement),
        "perfused_fraction": _in.as_array_or_float(perfused),
        "whole_liver_activity": Q_(_in.as_array_or_float(a_whole), "GBq"),
    }
    return _resin_plan("bsa", s, a, details, warns)


def empirical(
    liver, tumour, lung_shunt_fraction, *, tumour_to_normal=None, settings: PlanSettings | None = None, **shared
) -> Plan:
    """Resin empirical (legacy) method: 2.0 / 2.5 / 3.0 GBq by tumour involvement.

    Involvement = V_tumour / V_liver: < 25 % gives 2.0 GBq; 25 % to 50 % inclusive 2.5 GBq;
    > 50 % 3.0 GBq (SIR-Spheres IFU). The lung-shunt reduction applies as for :func:`bsa`.
    Whole-liver method: there is no lobar scaling; the doses are those of the whole liver.

    Parameters
    ----------
    liver, tumour, lung_shunt_fraction, tumour_to_normal, settings, **shared
        As for :func:`bsa`.

    Returns
    -------
    Plan
        ``details`` holds ``tumour_involvement``, ``unreduced_activity`` and ``shunt_reduction``.
    """
    s = setting(PlanSettings.of(settings, caller="empirical", **shared), target=liver, lung_shunt_fraction=lung_shunt_fraction,
                tumour=tumour, tumour_to_normal=tumour_to_normal, liver=liver)
    _resin_only(s, "empirical")
    involvement, _ = _involvement(s, liver)
    inv = np.round(involvement, 12)
    a = np.where(inv < 0.25, 2.0, np.where(inv <= 0.50, 2.5, 3.0))
    return _resin_plan("empirical", s, a, {"tumour_involvement": _in.as_array_or_float(inv)})
