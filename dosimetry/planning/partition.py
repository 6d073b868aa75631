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
the largest activity within every safety limit of the scenario (normal liver, whole and perfused,
lung per treatment and cumulative). ``binding_constraint`` names the limit that sets it.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, OutOfRangeError
from . import _inputs as _in
from .assemble import assemble_plan, binding, safety_caps, setting
from .result import Plan
from .settings import PlanSettings

__all__ = ["partition"]


def partition(
    target, tumour, tumour_to_normal, lung_shunt_fraction, *, normal_liver_dose=None, tumour_dose=None, liver=None, settings: PlanSettings | None = None, **shared
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
    normal_liver_dose : pint.Quantity, optional
        Requested perfused normal-liver dose [Gy], > 0 (``target.normal_liver_dose``).
    tumour_dose : pint.Quantity, optional
        Requested tumour dose [Gy], > 0 (``target.tumour_dose``). At most one of the two.
    liver, settings, **shared
        As for :func:`dosimetry.planning.mird.mird` (``device`` required: ``"resin"``, K = 49.67,
        or ``"glass"``, K = 50).

    Returns
    -------
    Plan
        ``details["mode"]`` is ``"normal_liver_dose"``, ``"tumour_dose"`` or ``"max_safe"``.

    Raises
    ------
    InputError
        Invalid input, both requested doses given, or (largest-activity mode) no limit bounds
        the activity.
    """
    if normal_liver_dose is not None and tumour_dose is not None:
        raise InputError("target.tumour_dose", "give target.normal_liver_dose or target.tumour_dose, not both")
    if tumour_to_normal is None:
        raise InputError("target.tumour_to_normal", "missing; the partition model needs the tumour-to-normal ratio of each tumour")
    s = setting(PlanSettings.of(settings, caller="partition", **shared), target=target, lung_shunt_fraction=lung_shunt_fraction,
                tumour=tumour, tumour_to_normal=tumour_to_normal, liver=liver)
    if not s.comp.several and np.any(s.comp.tumour_mass <= 0):  # as the patient file (io.patient)
        raise OutOfRangeError("target.tumour_volume", "0 mL: the partition model needs a tumour; allowed (0, target.volume) mL", allowed="(0, target.volume) mL")
    per = s.comp.per_gbq()
    warns: list = []
    if normal_liver_dose is not None:
        mode = "normal_liver_dose"
        d = _in.dose(normal_liver_dose, "target.normal_liver_dose", warns)
        _in.shapes_agree({**s.shapes, "target.normal_liver_dose": np.shape(d.magnitude)})
        a = d.magnitude / per["normal_liver_dose"]
    elif tumour_dose is not None:
        mode = "tumour_dose"
        d = _in.dose(tumour_dose, "target.tumour_dose", warns)
        _in.shapes_agree({**s.shapes, "target.tumour_dose": np.shape(d.magnitude)})
        lowest = per["tumour_dose"].min(axis=0) if s.comp.several else per["tumour_dose"]
        a = d.magnitude / lowest
    else:
        mode = "max_safe"
        a, _ = binding(safety_caps(s)[2])
        if np.any(np.isinf(a)):
            raise InputError(
                "target.normal_liver_dose",
                "no safety limit bounds the activity (no lung shunt and no normal-liver limit); give target.normal_liver_dose, target.tumour_dose or target.normal_liver_limit",
            )
    return assemble_plan(method="partition", s=s, prescribed=a, warnings=warns, details={"mode": mode, "density": s.density, "several_tumours": s.comp.several})
