"""Single-compartment (MIRD) prescription: glass IFU method, also usable for resin.

A = D * M / (K * (1 - LSF) * (1 - R))    (TheraSphere package insert)

D the mean dose wanted in the perfused (target) mass M, LSF the lung shunt fraction, R the
residual fraction left in vial and tubing, K the dose coefficient (glass 50 Gy kg/GBq by the
TheraSphere package insert; resin 49.67; overridable). A is the activity to prepare at the
administration time; the patient receives A (1 - R), of which A (1 - R) LSF reaches the lungs.
"""

from __future__ import annotations

import numpy as np

from ..devices import device as _device
from . import _inputs as _in
from ._common import finish
from .limits import _scenario
from .result import Plan

__all__ = ["mird"]


def mird(
    dose,
    target,
    lung_shunt_fraction,
    *,
    device="glass",
    density=None,
    residual_fraction=0.0,
    dose_coefficient=None,
    lung_mass="1 kg",
    prior_lung_dose="0 Gy",
    lung_limit=None,
    cumulative_lung_limit=None,
    scenario="standard",
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
        ``"glass"`` (default) or ``"resin"``: default K and limits.
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
    lung_limit, cumulative_lung_limit : pint.Quantity, optional
        Overrides of the lung limits [Gy] (``lung.limit``, ``lung.cumulative_limit``).
    scenario : str
        Threshold scenario (``treatment.scenario``): ``"standard"`` or, for glass,
        ``"segmentectomy"``.

    Returns
    -------
    Plan
        With ``target_mass``, ``target_dose``; ``binding_constraint`` names the lung limit that
        sets ``max_safe_activity``.
    """
    dev = _device(device)
    scen = _scenario(dev.name, scenario)
    d = _in.positive_dose(dose, "target.dose")
    rho = _in.density_of(density)
    m = _in.mass_of(target, rho, "target.mass", "target.volume")
    f = _in.lsf(lung_shunt_fraction)
    r = _in.residual(residual_fraction)
    k = _in.coefficient(dose_coefficient, dev.dose_coefficient)
    ml = _in.lung_mass_of(lung_mass)
    prior = _in.nonneg_dose(prior_lung_dose, "lung.prior_dose")

    # A = D M / (K (1 - LSF) (1 - R))
    a = (d * m / (k * (1 - np.asarray(f)) * (1 - np.asarray(r)))).to("GBq").magnitude
    return finish(
        method="mird",
        dev=dev,
        scenario=scen,
        prescribed=a,
        k=k,
        f=f,
        r=r,
        lung_mass=ml,
        prior=prior,
        lung_limit=lung_limit,
        cumulative_lung_limit=cumulative_lung_limit,
        figures={"target_dose": d},
        details={"density": rho},
        target_mass=m,
        target_dose=d,
    )
