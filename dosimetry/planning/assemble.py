"""Assembly of a :class:`~dosimetry.planning.result.Plan`, the same for every method.

A method chooses the prepared activity; this module computes what that activity gives in every
compartment (:class:`~dosimetry.planning.compartments.Compartments`), checks every figure against
the thresholds of the clinical scenario (:mod:`dosimetry.planning.limits`), finds the largest
activity within every safety limit and the limit that binds, and collects the warnings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pint

from ..devices import RESIN, Device
from ..devices import device as _device
from . import _inputs as _in
from ..units import Q_, new_quantity, to_unit
from ..vocabulary import Method
from . import limits as _limits
from . import verdict as _verdict
from . import contraindications as _screen
from .clinical import Clinical, Extent
from .compartments import Compartments
from .result import LimitCheck, Plan
from .settings import PlanSettings
from ._inputs import as_array_or_float

__all__ = ["Setting", "setting", "assemble_plan", "safety_caps", "binding", "RESIN_SHUNT_LIMIT"]

#: SIR-Spheres IFU: lung shunt above 20 % contraindicates resin treatment, whatever the model
#: (the device's data: :attr:`dosimetry.devices.Device.shunt_limit`).
RESIN_SHUNT_LIMIT = RESIN.shunt_limit


@dataclass(frozen=True)
class Setting:
    """Validated inputs every method shares: device, scenario, K, compartments, prior lung dose, overrides,
    warnings on inputs outside their usual band and the inputs' shapes."""

    dev: Device
    clinical: Clinical
    k: pint.Quantity
    comp: Compartments
    prior: pint.Quantity
    overrides: dict
    density: pint.Quantity
    #: Inputs outside their usual band (:data:`dosimetry.ranges.PLAUSIBLE`), shown with the plan.
    warnings: tuple = ()
    #: Shape of every array input by field name, for the method's own inputs to be checked against.
    shapes: dict = field(default_factory=dict)


def setting(ps: PlanSettings, *, target, lung_shunt_fraction, tumour=None, tumour_to_normal=None, liver=None) -> Setting:
    """Validate the settings ``ps`` and the compartments every method shares.

    Every input is checked against its plausible range (:data:`dosimetry.ranges.PLAUSIBLE`), as in
    the patient file; values outside the usual band become the plan's warnings (``Setting.warnings``).
    """
    warns: list = []
    dev = _device(ps.device)
    rho = _in.density_of(ps.density, warns=warns)
    k = _in.coefficient(ps.dose_coefficient, dev.dose_coefficient, warns=warns)
    ml: pint.Quantity | None = None
    liver_warns: list | None = None
    if liver is not None:  # the whole liver is named first when it is wrong; validated once, its warnings given in their place below
        liver_warns = []
        ml = _in.mass_of(liver, rho, "liver.mass", "liver.volume", liver_warns)
    f = _in.lsf(lung_shunt_fraction, warns=warns)
    r = _in.residual(ps.residual_fraction, warns=warns)
    mp = _in.mass_of(target, rho, "target.mass", "target.volume", warns)
    m_lung = _in.lung_mass_of(ps.lung_mass, warns=warns)
    prior = _in.dose(ps.prior_lung_dose, "lung.prior_dose", warns)
    shapes = {
        "liver.density": np.shape(rho.magnitude),
        "treatment.dose_coefficient": np.shape(k.magnitude),
        "lung.shunt_fraction": np.shape(f),
        "target.residual_fraction": np.shape(r),
        _in.field_of(target, "target.mass", "target.volume"): np.shape(mp.magnitude),
        "lung.mass": np.shape(m_lung.magnitude),
        "lung.prior_dose": np.shape(prior.magnitude),
    }
    if ml is not None:
        shapes[_in.field_of(liver, "liver.mass", "liver.volume")] = np.shape(ml.magnitude)
    _in.shapes_agree(shapes)
    comp = Compartments.build(
        k=k,
        lsf=f,
        residual=r,
        target_mass=mp,
        tumour=tumour,
        tumour_to_normal=tumour_to_normal,
        liver=liver,
        liver_mass=None if ml is None else (ml, liver_warns),
        liver_tumour=ps.liver_tumour,
        lung_mass=m_lung,
        density=rho,
        warns=warns,
        shapes=shapes,
    )
    return Setting(
        dev=dev,
        clinical=_in.clinical_of(ps.clinical),
        k=k,
        comp=comp,
        prior=prior,
        overrides=_in.overrides_of(ps.lung_limit, ps.cumulative_lung_limit, ps.normal_liver_limit, warns),
        density=rho,
        warnings=tuple(dict.fromkeys(warns)),
        shapes=shapes,
    )


def binding(caps: list) -> tuple:
    """Smallest cap and its name. ``caps`` = [(name, GBq magnitude array), ...]."""
    names = [c[0] for c in caps]
    if all(type(c[1]) is float or (isinstance(c[1], np.ndarray) and c[1].ndim == 0) for c in caps):
        # one plan: the same smallest cap (the first of equal ones, as argmin) without stacking 0-d arrays (issue 22)
        values = [float(c[1]) for c in caps]
        if values and not any(math.isnan(v) for v in values):
            amin = min(values)
            return amin, "none" if math.isinf(amin) else names[values.index(amin)]
    stack = np.stack(np.broadcast_arrays(*[np.asarray(c[1], dtype=float) for c in caps]))
    idx = np.argmin(stack, axis=0)
    amax = np.min(stack, axis=0)
    name = np.asarray(names, dtype=object)[idx]
    name = np.where(np.isinf(amax), "none", name)
    if np.ndim(amax) == 0:
        return float(amax), str(name)
    return amax, name.astype(str)


def safety_caps(s: Setting) -> tuple:
    """(thresholds, notes, caps): the applicable thresholds and the activity each safety limit allows."""
    rows, notes = _limits.applicable(s.dev.name, s.clinical, s.overrides)
    caps = _limits.caps(rows, s.comp.per_gbq(), to_unit(s.prior, "Gy").magnitude)
    if s.dev.shunt_limit is not None:
        f = np.round(s.comp.lsf, 12)
        caps.append(("lung_shunt_fraction", np.where(f > s.dev.shunt_limit, 0.0, np.inf)))
    conditions = tumour_conditions(s.comp, s.clinical)
    caps += _screen.screen_caps(s.dev.name, s.clinical, (1 - np.asarray(s.comp.residual, dtype=float)) * np.asarray(s.comp.lsf, dtype=float),
                                conditions)
    if not conditions and any(r.name == "tumour_replacement" and s.dev.name in r.devices for r in _screen.CONTRAINDICATIONS):
        notes = list(notes) + ["tumour replacement of the liver (> 70 % contraindicates glass) not screened: the whole liver volume (liver.volume) is not given"]
    return rows, notes, caps


def tumour_conditions(comp, clinical: Clinical | None = None) -> dict:
    """``{"tumour_replacement": tumours / whole liver}`` when the whole liver is known (one density,
    so the mass ratio is the volume ratio): every tumour in the liver (``liver.tumour_volume``), else
    the target's tumours (then a lower bound of the burden). A whole-liver treatment's target is the
    liver. Empty when the whole liver is not known."""
    liver = comp.liver_mass
    if liver is None and clinical is not None and clinical.extent is Extent.WHOLE_LIVER:
        liver = comp.target_mass
    if liver is None:
        return {}
    tumours = comp.tumour_total if comp.liver_tumour_mass is None else comp.liver_tumour_mass
    return {"tumour_replacement": new_quantity(as_array_or_float(np.asarray(tumours, dtype=float) / np.asarray(liver, dtype=float)), "")}


def assemble_plan(
    *,
    method: str,
    s: Setting,
    prescribed,  # GBq magnitude (array or float)
    warnings: Sequence[str] = (),
    details: dict | None = None,
    **plan_fields,
) -> Plan:
    """Build the Plan for the prepared activity ``prescribed`` (see module docstring)."""
    a = np.asarray(prescribed, dtype=float)
    dev, comp, prior = s.dev, s.comp, s.prior
    rows, notes, caps = safety_caps(s)
    amax, bind = binding(caps)
    figs = comp.doses(a)
    pr = np.asarray(to_unit(prior, "Gy").magnitude, dtype=float)
    figs["cumulative_lung_dose"] = new_quantity(as_array_or_float(np.asarray(figs["lung_dose"].magnitude) + pr), "Gy")
    checks = list(_limits.check(rows, figs, several_tumours=comp.several))
    if dev.shunt_limit is not None:
        checks.append(shunt_check(comp.lsf, dev))
    lung_activity = new_quantity(as_array_or_float(a * (1 - np.asarray(comp.residual, dtype=float)) * np.asarray(comp.lsf, dtype=float)), "GBq")
    screened, screen_decisions = _screen.screen(dev.name, s.clinical, {"lung_activity": lung_activity, **tumour_conditions(comp, s.clinical)})
    checks += list(screened)
    warn = list(s.warnings) + list(warnings) + list(_limits.warnings_for(checks))

    ok = np.asarray(_verdict.within_limits(checks))
    if not np.all(ok):
        failed = _verdict.failed(checks)
        blocked = ", ".join(f"'{c.description}'" for c in failed)
        if ok.ndim == 0:
            warn.append(f"BLOCKED by {blocked}; largest safe activity {float(amax):.4g} GBq (set by the {_limits.FIGURE_LABELS.get(bind, bind)} limit)")
        else:
            warn.append(f"BLOCKED in {int((~ok).sum())} of {ok.size} plans by {blocked}; see max_safe_activity and binding_constraint")
    masses = comp.masses()
    fields = dict(
        target_mass=masses["target_mass"],
        target_dose=figs["target_dose"],
        normal_liver_mass=masses["normal_liver_mass"],
        normal_liver_dose=figs["normal_liver_dose"],
        whole_normal_liver_mass=masses["whole_normal_liver_mass"],
        whole_normal_liver_dose=figs.get("whole_normal_liver_dose"),
        tumour_mass=masses["tumour_mass"],
        tumour_dose=figs.get("tumour_dose"),
        tumour_to_normal=None if comp.ratio is None else as_array_or_float(comp.ratio),
    )
    fields.update(plan_fields)
    return Plan(
        method=Method(method),
        device=dev.name,
        clinical=s.clinical,
        prescribed_activity=new_quantity(as_array_or_float(a), "GBq"),
        delivered_activity=new_quantity(as_array_or_float(a * (1 - comp.residual)), "GBq"),
        dose_coefficient=to_unit(s.k, "Gy*kg/GBq"),
        lung_shunt_fraction=as_array_or_float(comp.lsf),
        residual_fraction=as_array_or_float(comp.residual),
        lung_mass=new_quantity(as_array_or_float(comp.lung_mass), "kg"),
        lung_dose=figs["lung_dose"],
        prior_lung_dose=to_unit(prior, "Gy"),
        cumulative_lung_dose=figs["cumulative_lung_dose"],
        max_safe_activity=new_quantity(amax, "GBq"),
        binding_constraint=bind,
        limits=tuple(checks),
        warnings=tuple(warn),
        notes=tuple(notes),
        details=details or {},
        decisions=screen_decisions,
        **fields,
    )


def shunt_check(f, dev: Device = RESIN) -> LimitCheck:
    """LSF <= the device's shunt limit (resin 20 %, SIR-Spheres IFU: above it treatment is contraindicated)."""
    limit = dev.shunt_limit
    assert limit is not None, f"{dev.name} has no lung shunt limit"  # assemble_plan calls this only when it has one
    fr = np.asarray(f, dtype=float)
    passed = np.round(fr, 12) <= limit
    return LimitCheck(
        "lung_shunt_fraction",
        f"{dev.name} lung shunt fraction <= {limit * 100:g} %",
        new_quantity(as_array_or_float(fr), "dimensionless"),
        new_quantity(limit, "dimensionless"),
        "max",
        True,
        bool(passed) if passed.ndim == 0 else passed,
        dev.sources["shunt_limit"],
        label="lung shunt fraction",
        volume="-",
    )
