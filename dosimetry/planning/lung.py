"""Lung dose, lung limits and the resin lung-shunt reduction table.

Lung dose for the activity A prepared, residual fraction R and lung shunt fraction LSF:
D_L = K * A * (1 - R) * LSF / M_L (TheraSphere package insert; Ho et al., Eur J Nucl Med 1996),
M_L = 1 kg by convention (TheraSphere package insert) unless measured from CT.

Largest activity the lungs allow: the per-treatment limit L1 and the cumulative limit L2 (which
counts the prior lung dose D_prior of earlier treatments):
A_1 = L1 * M_L / (K * LSF * (1 - R)),  A_2 = (L2 - D_prior) * M_L / (K * LSF * (1 - R)),
each infinite when LSF = 0 (then A_2 = 0 only if the prior dose already exceeds L2);
A_2 = 0 when the prior dose already reaches L2.

Planar lung shunt fraction from anterior and posterior Tc-99m MAA views (the method of the
TheraSphere and SIR-Spheres instructions for use; Dezarn et al., AAPM TG-144, Med Phys 38:4824,
2011): the geometric mean of the opposed views, GM = sqrt(C_ant * C_post), corrects to first
order for the depth of the organ, and LSF = GM_lung / (GM_lung + GM_liver).
"""

from __future__ import annotations

import numpy as np
import pint

from ..devices import device as _device
from ..errors import InputError, OutOfRangeError
from ..units import Q_, quantity
from . import _inputs as _in
from .limits import threshold_value

__all__ = [
    "lung_dose",
    "lung_limits",
    "max_lung_activity",
    "resin_shunt_reduction",
    "planar_lung_shunt_fraction",
    "RESIN_SHUNT_TABLE",
]

#: SIR-Spheres IFU lung-shunt table: (lower bound inclusive, upper bound exclusive, reduction).
#: LSF < 10 %: no reduction; 10 % <= LSF < 15 %: -20 %; 15 % <= LSF <= 20 %: -40 %;
#: LSF > 20 %: contraindicated (refused by :func:`resin_shunt_reduction`; the plan is blocked). The IFU writes the bands as "<10 %",
#: "10 % to 15 %", "15 % to 20 %", "> 20 %"; a value exactly on a shared boundary is put in the
#: higher (more conservative) band, and exactly 20 % is still treatable ("> 20 %" is refused).
RESIN_SHUNT_TABLE = ((0.0, 0.10, 0.0), (0.10, 0.15, 0.20), (0.15, 0.20, 0.40))
_RESIN_SHUNT_MAX = 0.20


def lung_dose(activity, lung_shunt_fraction, lung_mass="1 kg", dose_coefficient=None, residual_fraction=0.0, *, device) -> pint.Quantity:
    """Lung dose of one treatment, D_L = K A (1 - R) LSF / M_L.

    Parameters
    ----------
    activity : pint.Quantity or str
        Prescribed (prepared) activity [activity], >= 0.
    lung_shunt_fraction : float, array or str
        LSF in [0, 1).
    lung_mass : pint.Quantity or str
        Lung mass [mass], > 0; default 1 kg.
    dose_coefficient : pint.Quantity, optional
        K [Gy kg/GBq]; default the device's (glass 50, resin 49.67).
    residual_fraction : float or array
        R in [0, 1).
    device : str
        ``"glass"`` or ``"resin"``, for the default K.

    Returns
    -------
    pint.Quantity
        [Gy].
    """
    dev = _device(device)
    a = quantity(activity, "GBq", "prescribed_activity", minimum=0)
    f = _in.lsf(lung_shunt_fraction)
    r = _in.residual(residual_fraction)
    m = _in.lung_mass_of(lung_mass)
    k = _in.coefficient(dose_coefficient, dev.dose_coefficient)
    return (k * a * (1 - r) * f / m).to("Gy")


def lung_limits(device, lung_limit=None, cumulative_lung_limit=None) -> tuple:
    """Per-treatment and cumulative lung limits [Gy]: the table's, or the overrides.

    Defaults: glass 30 Gy / 50 Gy, resin 25 Gy / 50 Gy (see :mod:`dosimetry.planning.limits`).

    Returns
    -------
    (pint.Quantity, pint.Quantity)
    """
    dev = _device(device)
    l1 = threshold_value(dev.name, "lung_dose") if lung_limit is None else _in.dose(lung_limit, "lung.limit")
    l2 = (
        threshold_value(dev.name, "cumulative_lung_dose")
        if cumulative_lung_limit is None
        else _in.dose(cumulative_lung_limit, "lung.cumulative_limit")
    )
    assert l1 is not None and l2 is not None  # every device has both lung thresholds (planning.limits)
    return l1.to("Gy"), l2.to("Gy")


def max_lung_activity(
    lung_shunt_fraction,
    *,
    device,
    lung_mass="1 kg",
    prior_lung_dose="0 Gy",
    lung_limit=None,
    cumulative_lung_limit=None,
    dose_coefficient=None,
    residual_fraction=0.0,
) -> tuple:
    """Largest prescribed activity within the per-treatment and the cumulative lung limit.

    Parameters
    ----------
    lung_shunt_fraction : float, array or str
        LSF in [0, 1).
    device : str
        ``"glass"`` or ``"resin"`` (default limits and K).
    lung_mass : pint.Quantity or str
        [mass], > 0; default 1 kg.
    prior_lung_dose : pint.Quantity or str
        Lung dose of earlier treatments [Gy], >= 0.
    lung_limit, cumulative_lung_limit : pint.Quantity, optional
        Overrides of the limits [Gy].
    dose_coefficient : pint.Quantity, optional
        K [Gy kg/GBq].
    residual_fraction : float or array
        R in [0, 1).

    Returns
    -------
    (pint.Quantity, pint.Quantity)
        A_1 (per treatment) and A_2 (cumulative) [GBq]; inf where LSF = 0.
    """
    dev = _device(device)
    f = np.asarray(_in.lsf(lung_shunt_fraction), dtype=float)
    r = _in.residual(residual_fraction)
    m = _in.lung_mass_of(lung_mass).to("kg").magnitude
    k = _in.coefficient(dose_coefficient, dev.dose_coefficient).magnitude
    prior = _in.dose(prior_lung_dose, "lung.prior_dose").magnitude
    l1, l2 = lung_limits(dev, lung_limit, cumulative_lung_limit)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        per_gbq = k * f * (1 - np.asarray(r)) / m  # lung Gy per prepared GBq
        a1 = np.where(f > 0, l1.magnitude / np.where(f > 0, per_gbq, 1.0), np.inf)
        room = np.maximum(l2.magnitude - prior, 0.0)
        a2 = np.where(f > 0, room / np.where(f > 0, per_gbq, 1.0), np.where(prior <= l2.magnitude * (1 + 1e-9), np.inf, 0.0))
    return Q_(_in.as_array_or_float(a1), "GBq"), Q_(_in.as_array_or_float(a2), "GBq")


def resin_shunt_reduction(lung_shunt_fraction) -> np.ndarray | float:
    """Fractional activity reduction for resin by lung shunt (SIR-Spheres IFU table).

    Parameters
    ----------
    lung_shunt_fraction : float, array or str
        LSF in [0, 0.2]: the IFU's table stops at 20 %, above which resin treatment is
        contraindicated (there is no reduction to give).

    Returns
    -------
    float or numpy.ndarray
        0, 0.20 or 0.40.

    Raises
    ------
    InputError
        LSF outside [0, 1), or above 20 % (contraindicated; a plan with such a shunt is blocked by
        the ``lung_shunt_fraction`` safety check instead, see :func:`dosimetry.planning.bsa.bsa`).
    """
    red = shunt_reduction_or_nan(lung_shunt_fraction)
    if np.any(np.isnan(red)):
        shown = f"{float(np.asarray(_in.lsf(lung_shunt_fraction))):g} is" if np.ndim(red) == 0 else "some values are"
        raise OutOfRangeError(
            "lung.shunt_fraction",
            f"{shown} above 20 %: resin treatment is contraindicated (SIR-Spheres IFU), there is no activity reduction; allowed [0, 0.2]",
            allowed="[0, 0.2]",
        )
    return red


def shunt_reduction_or_nan(lung_shunt_fraction) -> np.ndarray | float:
    """As :func:`resin_shunt_reduction`, with NaN where LSF > 20 % (for plans, which block those)."""
    # Round to 12 decimals so that "15 %" parsed as 0.15000000000000002 falls in its band.
    f = np.round(np.asarray(_in.lsf(lung_shunt_fraction), dtype=float), 12)
    red = np.full(f.shape, np.nan)
    for lo, hi, cut in RESIN_SHUNT_TABLE:
        band = (f >= lo) & (f < hi)
        red = np.where(band, cut, red)
    red = np.where(f == _RESIN_SHUNT_MAX, RESIN_SHUNT_TABLE[-1][2], red)
    return _in.as_array_or_float(red)


_PLANAR_FIELDS = ("lung_anterior", "lung_posterior", "liver_anterior", "liver_posterior")


def planar_lung_shunt_fraction(lung_anterior, lung_posterior, liver_anterior, liver_posterior) -> pint.Quantity:
    """Lung shunt fraction from planar MAA imaging by the geometric mean of opposed views.

    ``LSF = GM_lung / (GM_lung + GM_liver)``, ``GM = sqrt(anterior * posterior)`` (TheraSphere and
    SIR-Spheres instructions for use; AAPM TG-144). Counts are the ROI totals of both lungs and of
    the liver on the anterior and posterior views of the same acquisition.

    Parameters
    ----------
    lung_anterior, lung_posterior, liver_anterior, liver_posterior : pint.Quantity or str
        ROI counts [cts] (e.g. ``"41200 cts"``), >= 0; scalars or broadcastable arrays. A count
        rate [cts/s] is accepted when all four are rates.

    Returns
    -------
    pint.Quantity
        Dimensionless LSF in [0, 1].

    Raises
    ------
    InputError
        A value that is not counts (an activity in Bq is refused), negative, mixed counts and
        count rates, or lung and liver geometric means both zero.
    """
    vals = {}
    rate = None
    for name, v in zip(_PLANAR_FIELDS, (lung_anterior, lung_posterior, liver_anterior, liver_posterior)):
        field = f"lung.planar_counts.{name}"
        if isinstance(v, pint.Quantity) and v.dimensionality == Q_(1, "cts/s").dimensionality:
            q, is_rate = quantity(v, "cts/s", field, minimum=0), True
        else:
            q, is_rate = quantity(v, "cts", field, minimum=0), False
        if rate is not None and is_rate != rate:
            raise InputError(field, "mixes counts and count rates; give all four views in the same unit")
        rate = is_rate
        vals[name] = np.asarray(q.magnitude, dtype=float)
    gm_lung = np.sqrt(vals["lung_anterior"] * vals["lung_posterior"])
    gm_liver = np.sqrt(vals["liver_anterior"] * vals["liver_posterior"])
    total = gm_lung + gm_liver
    if np.any(total <= 0):
        raise InputError("lung.planar_counts", "lung and liver geometric means are both 0; the lung shunt fraction is undefined")
    return Q_(_in.as_array_or_float(gm_lung / total), "dimensionless")
