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

__all__ = ["mird"]


def mird(
    dose,
    target,
    lung_shunt_fraction,
    *,
    device,
    tumour=None,
    tumour_to_normal=None,
    liver=None,
    liver_tumour=None,
    clinical=None,
    density=None,
    residual_fraction=0.0,
    dose_coefficient=None,
    lung_mass="1 kg",
    prior_lung_dose="0 Gy",
    lung_limit=None,
    cumulative_lung_limit=None,
    normal_liver_limit=None,
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
    device : str
        ``"glass"`` or ``"resin"``: default K and thresholds (required).
    tumour : pint.Quantity, str or sequence of them, optional
        Tumour mass or volume inside the target, or one per tumour (``target.tumours``).
    tumour_to_normal : float or sequence, optional
        Tumour-to-normal uptake ratio(s); without them the uptake is taken as uniform.
    liver : pint.Quantity or str, optional
        Whole liver, tumours included (``liver.volume``): gives the whole-normal-liver dose.
    liver_tumour : pint.Quantity or str, optional
        Every tumour in the whole liver (``liver.tumour_volume``); default the target's tumours.
    clinical : Clinical or mapping, optional
        Indication, extent and liver function that select the thresholds (``[clinical]``).
    density : pint.Quantity, optional
        Tissue density [g/mL] for a volume; default 1.03 g/mL (``liver.density``).
    residual_fraction : float or array
        R in [0, 1) (``target.residual_fraction``).
    dose_coefficient : pint.Quantity, optional
        K [Gy kg/GBq]; default the device's (``treatment.dose_coefficient``).
    lung_mass : pint.Quantity or str
        [mass], > 0; default 1 kg (``lung.mass``).
    prior_lung_dose : pint.Quantity or str
        Lung dose of earlier treatments [Gy], >= 0 (``lung.prior_dose``).
    lung_limit, cumulative_lung_limit, normal_liver_limit : pint.Quantity, optional
        A clinic's own limits [Gy] (``lung.limit``, ``lung.cumulative_limit``,
        ``target.normal_liver_limit``), shown as overrides.

    Returns
    -------
    Plan
        Every compartment's dose and check; ``max_safe_activity`` and ``binding_constraint``
        over every safety limit.
    """
    s = setting(
        device=device, target=target, lung_shunt_fraction=lung_shunt_fraction, tumour=tumour, tumour_to_normal=tumour_to_normal,
        liver=liver, liver_tumour=liver_tumour, clinical=clinical, density=density, residual_fraction=residual_fraction,
        dose_coefficient=dose_coefficient, lung_mass=lung_mass, prior_lung_dose=prior_lung_dose, lung_limit=lung_limit,
        cumulative_lung_limit=cumulative_lung_limit, normal_liver_limit=normal_liver_limit,
    )
    warns: list = []
    d = _in.dose(dose, "target.dose", warns)
    _in.shapes_agree({**s.shapes, "target.dose": np.shape(d.magnitude)})
    c = s.comp
    # A = D M / (K (1 - LSF) (1 - R))
    a = d.magnitude * c.target_mass / (c.k * (1 - c.lsf) * (1 - c.residual))
    return assemble_plan(method="mird", s=s, prescribed=a, warnings=warns, details={"density": s.density, "requested_target_dose": d})
