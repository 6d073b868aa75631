"""Assembly of a :class:`~dosimetry.planning.result.Plan` shared by all models.

Given the prescribed activity and the model's dose-per-activity figures, compute lung doses,
the activity caps of every safety limit, the largest safe activity and the binding constraint,
check the thresholds and collect the warnings.
"""

from __future__ import annotations

import numpy as np
import pint

from ..devices import Device
from ..units import Q_
from . import limits as _limits
from .lung import lung_limits
from .result import LimitCheck, Plan
from ._inputs import as_array_or_float


def _mag(q, unit):
    return np.asarray(q.to(unit).magnitude, dtype=float)


def binding(caps: list) -> tuple:
    """Smallest cap and its name. ``caps`` = [(name, GBq magnitude array), ...]."""
    names = [c[0] for c in caps]
    stack = np.stack(np.broadcast_arrays(*[np.asarray(c[1], dtype=float) for c in caps]))
    idx = np.argmin(stack, axis=0)
    amax = np.min(stack, axis=0)
    name = np.asarray(names, dtype=object)[idx]
    name = np.where(np.isinf(amax), "none", name)
    if np.ndim(amax) == 0:
        return float(amax), str(name)
    return amax, name.astype(str)


def finish(
    *,
    method: str,
    dev: Device,
    scenario: str,
    prescribed,  # GBq magnitude (array or float)
    k: pint.Quantity,
    f,
    r,
    lung_mass: pint.Quantity,
    prior: pint.Quantity,
    lung_limit=None,
    cumulative_lung_limit=None,
    extra_caps: list = (),
    extra_checks: list = (),
    overrides: dict | None = None,
    figures: dict | None = None,
    several_tumours: bool = False,
    warnings: list = (),
    details: dict | None = None,
    **plan_fields,
) -> Plan:
    """Build the Plan (see module docstring). ``extra_caps``: [(name, GBq array)] model caps."""
    f = np.asarray(f, dtype=float)
    r = np.asarray(r, dtype=float)
    a = np.asarray(prescribed, dtype=float)
    kk = k.to("Gy*kg/GBq").magnitude
    ml = _mag(lung_mass, "kg")
    pr = _mag(prior, "Gy")
    l1, l2 = lung_limits(dev, lung_limit, cumulative_lung_limit, scenario)
    lung_per_gbq = kk * f * (1 - r) / ml
    lung = a * lung_per_gbq
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        safe_per = np.where(lung_per_gbq > 0, lung_per_gbq, 1.0)
        a1 = np.where(lung_per_gbq > 0, l1.magnitude / safe_per, np.inf)
        # the same relative tolerance as the inclusive limit check (limits.RTOL), so that a plan the
        # check passes is never above its own largest safe activity
        room = np.maximum(l2.magnitude * (1 + _limits.RTOL) - pr, 0.0)
        # no shunt: the lungs get nothing more, so only a prior dose already over the limit blocks
        a2 = np.where(lung_per_gbq > 0, room / safe_per, np.where(pr <= l2.magnitude * (1 + 1e-9), np.inf, 0.0))
    extra_checks = list(extra_checks)
    if dev.name == "resin":
        # SIR-Spheres IFU: LSF over 20 % contraindicates resin treatment, whatever the model.
        extra_checks.append(shunt_check(f))
        extra_caps = [*extra_caps, ("lung_shunt_fraction", np.where(np.round(f, 12) > 0.20, 0.0, np.inf))]
    caps = [("lung_dose", a1), ("cumulative_lung_dose", a2), *extra_caps]
    amax, bind = binding(caps)

    ov = dict(overrides or {})
    if lung_limit is not None:
        ov["lung_dose"] = l1
    if cumulative_lung_limit is not None:
        ov["cumulative_lung_dose"] = l2
    figs = dict(figures or {})
    figs["lung_dose"] = Q_(as_array_or_float(lung), "Gy")
    figs["cumulative_lung_dose"] = Q_(as_array_or_float(lung + pr), "Gy")
    checks = list(_limits.check(dev.name, scenario, overrides=ov, several_tumours=several_tumours, **figs))
    checks.extend(extra_checks)
    warn = list(warnings)
    warn.extend(_limits.warnings_for(checks))

    ok = np.asarray(True)
    for c in checks:
        if c.safety:
            ok = ok & np.asarray(c.passed, dtype=bool)
    if not np.all(ok):
        failed = [c for c in checks if c.safety and not np.all(c.passed)]
        blocked = ", ".join(f"'{c.description}'" for c in failed)
        if ok.ndim == 0:
            warn.append(f"BLOCKED by {blocked}; largest safe activity {float(amax):.4g} GBq (binding: {bind})")
        else:
            warn.append(f"BLOCKED in {int((~ok).sum())} of {ok.size} plans by {blocked}; see max_safe_activity and binding_constraint")
    return Plan(
        method=method,
        device=dev.name,
        scenario=scenario,
        prescribed_activity=Q_(as_array_or_float(a), "GBq"),
        delivered_activity=Q_(as_array_or_float(a * (1 - r)), "GBq"),
        dose_coefficient=k.to("Gy*kg/GBq"),
        lung_shunt_fraction=as_array_or_float(f),
        residual_fraction=as_array_or_float(r),
        lung_mass=lung_mass.to("kg"),
        lung_dose=figs["lung_dose"],
        prior_lung_dose=prior.to("Gy"),
        cumulative_lung_dose=figs["cumulative_lung_dose"],
        max_safe_activity=Q_(amax, "GBq"),
        binding_constraint=bind,
        limits=tuple(checks),
        warnings=tuple(warn),
        details=details or {},
        **plan_fields,
    )


def shunt_check(f) -> LimitCheck:
    """Resin LSF <= 20 % (SIR-Spheres IFU: above 20 % treatment is contraindicated)."""
    fr = np.asarray(f, dtype=float)
    passed = np.round(fr, 12) <= 0.20
    return LimitCheck(
        "lung_shunt_fraction",
        "resin lung shunt fraction <= 20 %",
        Q_(as_array_or_float(fr), "dimensionless"),
        Q_(0.20, "dimensionless"),
        "max",
        True,
        bool(passed) if passed.ndim == 0 else passed,
        "SIR-Spheres IFU: lung shunt above 20 % contraindicated",
    )
