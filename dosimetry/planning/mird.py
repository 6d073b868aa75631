"""Single-compartment (MIRD) prescription: glass IFU method, also usable for resin.

A = D * M / (K * (1 - LSF) * (1 - R))    (TheraSphere package insert)

D the mean dose wanted in the perfused (target) mass M, LSF the lung shunt fraction, R the
residual fraction left in vial and tubing, K the dose coefficient (glass 50 Gy kg/GBq by the
TheraSphere package insert; resin 49.67; overridable). A is the activity to prepare at the
administration time; the patient receives A (1 - R), of which A (1 - R) LSF reaches the lungs.

The plan is then checked like every other method on every compartment
(:mod:`dosimetry.planning.compartments`): normal liver (perfused and whole), tumours when their
tumour-to-normal ratios are given, and lungs.
"""

from __future__ import annotations

import numpy as np

from . import _inputs as _in
from .assemble import assemble_plan, setting
from .result import Plan
from .settings import PlanSettings

__all__ = ["mird"]


def mird(
    dose, target, lung_shunt_fraction, *, tumour=None, tumour_to_normal=None, liver=None, settings: PlanSettings | None = None, **shared
) -> Plan:
    """Activity for a mean dose to the perfused volume (single compartment).

    Parameters
    ----------
    dose : pint.Quantity or str
        Mean dose wanted in the perfused volume [Gy], > 0 (patient file ``target.dose``).
    target : pint.Quantity or str
        Perfused mass [mass] or volume [volume], > 0 (``target.mass`` / ``target.volume``).
    lung_shunt_fraction : float, array or str
        LSF in [0, 1) (``lung.shunt_fraction``).
    tumour : pint.Quantity, str or sequence of them, optional
        Tumour mass or volume inside the target, or one per tumour (``target.tumours``).
    tumour_to_normal : float or sequence, optional
        Tumour-to-normal uptake ratio(s); without them the uptake is taken as uniform.
    liver : pint.Quantity or str, optional
        Whole liver, tumours included (``liver.volume``): gives the whole-normal-liver dose.
    settings : PlanSettings, optional
        What every method shares: ``device`` (required), ``liver_tumour``, ``clinical``,
        ``density``, ``residual_fraction``, ``dose_coefficient``, ``lung_mass``,
        ``prior_lung_dose``, ``lung_limit``, ``cumulative_lung_limit``, ``normal_liver_limit``
        (:class:`~dosimetry.planning.settings.PlanSettings`).
    **shared
        The same names as keyword arguments (``device="glass"``), replacing those of ``settings``.

    Returns
    -------
    Plan
        Every compartment's dose and check; ``max_safe_activity`` and ``binding_constraint``
        over every safety limit.
    """
    s = setting(PlanSettings.of(settings, caller="mird", **shared), target=target, lung_shunt_fraction=lung_shunt_fraction,
                tumour=tumour, tumour_to_normal=tumour_to_normal, liver=liver)
    warns: list = []
    d = _in.dose(dose, "target.dose", warns)
    _in.shapes_agree({**s.shapes, "target.dose": np.shape(d.magnitude)})
    c = s.comp
    # A = D M / (K (1 - LSF) (1 - R))
    a = d.magnitude * c.target_mass / (c.k * (1 - c.lsf) * (1 - c.residual))
    return assemble_plan(method="mird", s=s, prescribed=a, warnings=warns, details={"density": s.density, "requested_target_dose": d})
