"""Seeded Monte Carlo propagation of the uncertainty budget through the planning functions.

:func:`with_uncertainty` calls a planning function (:func:`~dosimetry.planning.mird`,
:func:`~dosimetry.planning.bsa`, :func:`~dosimetry.planning.empirical`,
:func:`~dosimetry.planning.partition`) once with the nominal inputs, and once more with arrays of
inputs drawn from the budget (:mod:`dosimetry.planning.budget`): the same code computes the nominal
plan and every draw (the functions broadcast over arrays). It returns the nominal plan with

- each figure's median and 95 % interval (:class:`Interval`): the activity the method prescribes
  for the drawn inputs, and every dose at the *prescribed* (nominal) activity, the activity actually
  given being the prescription times the drawn ``activity`` factor (every dose is linear in the
  activity: :func:`dosimetry.planning.verdict.scaled`);
- each safety check's ``p_exceed``: the fraction of the draws in which the check fails at the
  prescribed activity, by the pass rule of :mod:`dosimetry.planning.verdict` on the drawn figures;
- the inputs ranked by their share of each figure's variance, one at a time (:class:`Share`).

Correlations: every input is drawn independently, except that a target that is the whole liver is
the liver (one draw of ``liver_volume`` moves both), and the whole liver's tumours, when they are
the target's, move with them. Draws that leave an input's plausible range, or put the tumours
outside the target or the target outside the liver, are drawn again.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pint

from ..devices import device as _device
from ..errors import InputError
from ..ranges import PLAUSIBLE, Plausible
from ..units import Q_
from ..vocabulary import Distribution, ShuntMethod
from . import _inputs as _in
from . import verdict as _verdict
from .budget import LEVEL, Term, UncertaintySettings
from .settings import PlanSettings

__all__ = ["Interval", "Share", "PlanUncertainty", "propagate", "with_uncertainty", "attach", "draw", "interval_of", "figure_key", "OAT_DRAWS", "DOSE_FIGURES"]

#: Draws per input of the one-at-a-time ranking (or the sample count, if smaller).
OAT_DRAWS = 2000
#: Rounds of re-drawing values outside an input's plausible range before the budget is refused.
_REDRAWS = 100
_QUANTILES = ((1 - LEVEL) / 2, 0.5, (1 + LEVEL) / 2)


@dataclass(frozen=True, eq=False)
class Interval:
    """A figure's median and 95 % interval over the draws (Quantities in the figure's unit; arrays
    for several tumours). ``sd`` is the draws' standard deviation."""

    median: pint.Quantity
    low: pint.Quantity
    high: pint.Quantity
    sd: pint.Quantity
    level: float
    samples: int

    def to_json(self, unit=None) -> dict:
        """``{"median", "low", "high", "level", "samples"}``, magnitudes in ``unit`` (default the median's)."""
        u = unit or self.median.units
        mag = lambda q: _plain(q.to(u).magnitude)  # noqa: E731
        return {"median": mag(self.median), "low": mag(self.low), "high": mag(self.high), "level": self.level, "samples": self.samples}


def _plain(x):
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a.tolist()


def interval_of(values, unit: str) -> Interval:
    """The interval of draws ``values`` (last axis: the draws) in ``unit``."""
    v = np.asarray(values, dtype=float)
    lo, med, hi = np.quantile(v, _QUANTILES, axis=-1)
    q = lambda x: Q_(_in.as_array_or_float(x), unit)  # noqa: E731
    return Interval(q(med), q(lo), q(hi), q(np.std(v, axis=-1)), LEVEL, int(v.shape[-1]))


@dataclass(frozen=True)
class Share:
    """An input's share of a figure's variance, one at a time: only this input drawn, the others at
    their values; ``low`` and ``high`` bound the figure's 95 % interval then (the tornado bar)."""

    term: str
    label: str
    share: float
    low: pint.Quantity
    high: pint.Quantity

    def to_json(self) -> dict:
        return {"input": self.term, "label": self.label, "share": self.share, "low": float(self.low.magnitude), "high": float(self.high.magnitude)}


@dataclass(frozen=True, eq=False)
class PlanUncertainty:
    """The uncertainty of one plan (see the module docstring).

    Parameters
    ----------
    settings : UncertaintySettings
    terms : tuple of Term
        The terms drawn (with a spread and an input in this plan).
    figures : mapping of str to Interval
        ``prescribed_activity`` and every dose figure of the plan, at the prescribed activity.
    p_exceed : tuple
        One per check of the plan (``Plan.limits``): the probability that a safety check fails at the
        prescribed activity; None for efficacy thresholds.
    ranking : mapping of str to tuple of Share
        Per figure (``tumour_dose[2]`` for the second of several tumours), largest share first.
    activity_factor : numpy.ndarray
        The draws of the activity given over the activity measured (shared with the voxel figures).
    """

    settings: UncertaintySettings
    terms: tuple
    figures: Mapping[str, Interval]
    p_exceed: tuple
    ranking: Mapping[str, tuple]
    activity_factor: np.ndarray
    _checks: tuple = ()
    _ratio: np.ndarray | None = field(default=None, repr=False)
    _prior: Any = None
    _values: Mapping = field(default_factory=dict, repr=False)

    @property
    def samples(self) -> int:
        return int(self.activity_factor.size)

    def values(self, figure: str) -> pint.Quantity:
        """The draws of a figure (GBq or Gy; several tumours on axis 0)."""
        mag, unit = self._values[figure]
        return Q_(mag, unit)

    def p_exceed_at(self, ratio: float = 1.0) -> tuple:
        """The probability that each check of the plan fails when ``ratio`` times the prescribed
        activity is given (the glass vial at the planned time); None for efficacy thresholds."""
        n = self.samples
        out: list[float | None] = []
        for c in self._checks:
            if not c.safety:
                out.append(None)
            elif not _verdict.scales(c):  # a fraction or a laboratory value does not scale with the activity
                out.append(float(np.mean(~np.atleast_1d(np.asarray(c.passed, dtype=bool))[:n])))
            else:
                assert self._ratio is not None  # set with the checks (analyse)
                s = _verdict.scaled([c], self._ratio * ratio, self._prior)
                out.append(float(np.mean(~np.asarray(s[0].passed, dtype=bool)[:n])) if s else None)
        return tuple(out)

    def to_json(self) -> dict:
        """Samples, seed, level, the bound, the terms drawn and the ranking by figure."""
        out = self.settings.to_json()
        out["budget"] = [t.to_json() for t in self.terms]
        out["ranking"] = [dict(figure_key(k), shares=[s.to_json() for s in v]) for k, v in self.ranking.items()]
        return out


def figure_key(key: str) -> dict:
    """``"tumour_dose[2]"`` -> ``{"figure": "tumour_dose", "tumour": 2}`` (``tumour`` None for other figures)."""
    name, _, rest = key.partition("[")
    return {"figure": name, "tumour": int(rest.rstrip("]")) if rest else None}


# -- what is drawn, and where it goes in the call ---------------------------------------------------
@dataclass(frozen=True)
class _Slot:
    term: Term
    place: tuple  # ("arg", name) | ("arg", name, i) | ("settings", name) | ("activity",)
    nominal: float
    unit: str | None  # None: a plain number
    domain: Plausible | None
    volume: str | None = None  # "target", "liver", "tumour", "liver_tumour": nested volumes


def draw(term: Term, nominal: float, n: int, rng: np.random.Generator, domain: Plausible | None = None, fieldname: str = "") -> np.ndarray:
    """``n`` draws of an input of value ``nominal`` from its term, truncated to ``domain``."""
    x = _raw(term, nominal, n, rng)
    for _ in range(_REDRAWS):
        bad = ~_inside(x, domain)
        if not bad.any():
            return x
        x[bad] = _raw(term, nominal, int(bad.sum()), rng)
    raise InputError(f"uncertainty.{term.name}", f"{term.describe()} puts too many draws of {fieldname or term.label} = {nominal:g} outside its plausible range; lower the spread")


def _raw(term: Term, nominal: float, n: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.uniform(-1.0, 1.0, n) if term.distribution is Distribution.UNIFORM else rng.standard_normal(n)
    s = term.spread
    if term.distribution is Distribution.LOGNORMAL:
        return nominal * np.exp(s * z)
    return nominal * (1.0 + s * z) if term.relative else nominal + s * z


def _inside(x, r: Plausible | None) -> np.ndarray:
    if r is None:
        return np.isfinite(x) & (x > 0)  # a factor
    ok = np.isfinite(x)
    if r.low is not None:
        ok &= (x >= r.low) if r.include_low else (x > r.low)
    if r.high is not None:
        ok &= (x <= r.high) if r.include_high else (x < r.high)
    return ok


_POSITIVE_TUMOUR = replace(PLAUSIBLE["target.tumours.volume"], include_low=False)


def _volume_ml(value, density) -> float:
    """A mass or volume as mL (a mass through the density)."""
    q = value if isinstance(value, pint.Quantity) else Q_(value)
    return float((q / density).to("mL").magnitude) if q.dimensionality == Q_(1, "kg").dimensionality else float(q.to("mL").magnitude)


def _scalar(x, what: str) -> None:
    if np.ndim(getattr(x, "magnitude", x)) != 0:
        raise InputError("uncertainty", f"the uncertainty of one plan takes scalar inputs; {what} is an array (draw a cohort with the planning functions instead)")


def _slots(args: dict, ps: PlanSettings, s: UncertaintySettings, shunt: ShuntMethod, lung_measured: bool) -> list:
    """What is drawn for the call ``args`` (bound arguments) with settings ``ps``."""
    dev = _device(ps.device)
    rho = _in.density_of(ps.density)
    b = s.budget
    out = [_Slot(b["activity"], ("activity",), 1.0, None, None)]
    lsf = args["lung_shunt_fraction"]
    _scalar(lsf, "lung_shunt_fraction")
    term = b["lung_shunt_spect" if shunt is ShuntMethod.SPECT else "lung_shunt_planar"]
    out.append(_Slot(term, ("arg", "lung_shunt_fraction"), float(_in.lsf(lsf)), None, PLAUSIBLE["lung.shunt_fraction"]))
    out.append(_Slot(b["residual_fraction"], ("settings", "residual_fraction"), float(_in.residual(ps.residual_fraction)), None, PLAUSIBLE["target.residual_fraction"]))
    out.append(_Slot(b["lung_mass" if lung_measured else "lung_mass_assumed"], ("settings", "lung_mass"),
                     float(_in.lung_mass_of(ps.lung_mass).to("kg").magnitude), "kg", PLAUSIBLE["lung.mass"]))
    k = _in.coefficient(ps.dose_coefficient, dev.dose_coefficient)
    out.append(_Slot(b["dose_coefficient"], ("settings", "dose_coefficient"), float(k.to("Gy*kg/GBq").magnitude), "Gy*kg/GBq", PLAUSIBLE["treatment.dose_coefficient"]))
    out += _volume_slots(args, ps, b, rho)
    ratio = args.get("tumour_to_normal")
    for i, r in enumerate(ratio if isinstance(ratio, (list, tuple)) else [] if ratio is None else [ratio]):
        _scalar(r, "tumour_to_normal")
        place = ("arg", "tumour_to_normal", i) if isinstance(ratio, (list, tuple)) else ("arg", "tumour_to_normal")
        out.append(_Slot(b["tumour_to_normal"], place, float(r), None, PLAUSIBLE["target.tumour_to_normal"]))
    return out


def _drawn(slot: _Slot, active) -> bool:
    """Whether a slot is drawn in a block where the terms ``active`` vary (a relative spread of 0 stays 0)."""
    return slot.term.name in active and not slot.term.off and not (slot.nominal == 0 and slot.term.relative)


def _volume_slots(args: dict, ps: PlanSettings, b: Mapping, rho) -> list:
    """The target, liver and tumour volumes (mL); a target that is the whole liver is not drawn on its own."""
    out = []
    liver, target = args.get("liver"), args.get("target")
    if liver is not None:
        _scalar(liver, "liver")
        out.append(_Slot(b["liver_volume"], ("arg", "liver"), _volume_ml(_q(liver), rho), "mL", PLAUSIBLE["liver.volume"], "liver"))
    if target is not None:
        _scalar(target, "target")
        v = _volume_ml(_q(target), rho)
        whole = liver is not None and abs(v / out[0].nominal - 1) <= 0.01
        if not whole:
            out.append(_Slot(b["perfused_volume"], ("arg", "target"), v, "mL", PLAUSIBLE["target.volume"], "target"))
    tumour = args.get("tumour")
    several = isinstance(tumour, (list, tuple))
    given = list(tumour) if isinstance(tumour, (list, tuple)) else [] if tumour is None else [tumour]
    for i, t in enumerate(given):
        _scalar(t, "tumour")
        out.append(_Slot(b["tumour_volume"], ("arg", "tumour", i) if several else ("arg", "tumour"), _volume_ml(_q(t), rho), "mL", _POSITIVE_TUMOUR, "tumour"))
    if ps.liver_tumour is not None:
        _scalar(ps.liver_tumour, "liver_tumour")
        v = _volume_ml(_q(ps.liver_tumour), rho)
        total = sum(x.nominal for x in out if x.volume == "tumour")
        if not (total > 0 and abs(v / total - 1) <= 1e-6):  # the whole liver's tumours are the target's: they move with them
            out.append(_Slot(b["tumour_volume"], ("settings", "liver_tumour"), v, "mL", PLAUSIBLE["liver.tumour_volume"], "liver_tumour"))
    return out


def _q(x) -> pint.Quantity:
    return x if isinstance(x, pint.Quantity) else Q_(str(x)) if isinstance(x, str) else Q_(x)


@dataclass(frozen=True)
class _Ties:
    """Inputs that are not drawn on their own: a target that is the whole liver (mL), the whole
    liver's tumours when they are the target's (mL)."""

    target: float | None = None
    liver_tumour: float | None = None


def _ties(args: dict, ps: PlanSettings, slots: list) -> _Ties:
    rho = _in.density_of(ps.density)
    target = None
    if args.get("target") is not None and not any(x.volume == "target" for x in slots):
        target = _volume_ml(_q(args["target"]), rho)
    lt = None
    if ps.liver_tumour is not None and not any(x.volume == "liver_tumour" for x in slots):
        lt = _volume_ml(_q(ps.liver_tumour), rho)
    return _Ties(target, lt)


def _volumes(slots: list, vals: dict, ties: _Ties) -> dict:
    """Per row: the liver, the target (the liver when not given), every tumour's sum and the whole
    liver's tumours [mL]; None where absent."""
    def of(kind):
        return [vals[i] for i, x in enumerate(slots) if x.volume == kind]

    def nominal(kind):
        return [x.nominal for x in slots if x.volume == kind]

    liver = of("liver")[0] if of("liver") else None
    tumours = sum(of("tumour")) if of("tumour") else None
    if of("target"):
        target = of("target")[0]
    elif ties.target is not None:
        assert liver is not None  # the target is tied to the liver only when the liver is given (_ties)
        target = ties.target * liver / nominal("liver")[0]
    else:
        target = liver
    lt = of("liver_tumour")[0] if of("liver_tumour") else None
    if lt is None and ties.liver_tumour is not None:
        assert tumours is not None  # tied only to tumours that are given (_slots)
        lt = ties.liver_tumour * tumours / sum(nominal("tumour"))
    return {"liver": liver, "target": target, "tumours": tumours, "liver_tumour": lt}


def _nested(v: dict, n: int) -> np.ndarray:
    """Rows whose volumes nest as the planning functions require (tumours inside the target, the
    target inside the liver, the whole liver's tumours between the target's and the liver)."""
    ok = np.ones(n, dtype=bool)
    if v["tumours"] is not None and v["target"] is not None:
        ok &= v["tumours"] < v["target"]
    if v["liver"] is not None and v["target"] is not None:
        ok &= v["target"] <= v["liver"] * (1 + 1e-9)
    if v["liver_tumour"] is not None:
        if v["tumours"] is not None:
            ok &= v["liver_tumour"] >= v["tumours"] * (1 - 1e-9)
        if v["liver"] is not None:
            ok &= v["liver_tumour"] < v["liver"]
    return ok


def _block(slots: list, active: set, n: int, rng: np.random.Generator, ties: _Ties) -> dict:
    """``n`` rows: the slots of the terms ``active`` drawn, the others at their values; rows whose
    volumes do not nest are drawn again."""
    vals = {}
    for i, x in enumerate(slots):
        vals[i] = draw(x.term, x.nominal, n, rng, x.domain) if _drawn(x, active) else np.full(n, x.nominal)
    moving = [i for i, x in enumerate(slots) if x.volume and _drawn(x, active)]
    for _ in range(_REDRAWS):
        bad = ~_nested(_volumes(slots, vals, ties), n)
        if not bad.any() or not moving:
            return vals
        for i in moving:
            x = slots[i]
            vals[i][bad] = draw(x.term, x.nominal, int(bad.sum()), rng, x.domain)
    names = sorted({slots[i].term.name for i in moving})
    raise InputError(f"uncertainty.{names[0]}", "the drawn volumes put the tumours outside the target (or the target outside the liver) in too many draws; lower the spread")


def _call(fn, args: dict, ps: PlanSettings, slots: list, vals: dict, ties: _Ties):
    """The planning function called with the drawn values (arrays) in place of the nominal ones."""
    a = dict(args)
    changes: dict = {}
    for i, x in enumerate(slots):
        q = Q_(vals[i], x.unit) if x.unit else vals[i]
        kind, *rest = x.place
        if kind == "settings":
            changes[rest[0]] = q
        elif kind == "arg" and len(rest) == 2:
            items = a[rest[0]] = list(a[rest[0]])
            items[rest[1]] = q
        elif kind == "arg":
            a[rest[0]] = q
    v = _volumes(slots, vals, ties)
    if ties.target is not None:
        a["target"] = Q_(v["target"], "mL")
    if ties.liver_tumour is not None:
        changes["liver_tumour"] = Q_(v["liver_tumour"], "mL")
    return fn(**a, settings=replace(ps, **changes))


def _bind(fn, args, kwargs) -> tuple:
    """(the function's own arguments by name, the merged PlanSettings)."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    own = dict(bound.arguments)
    shared = own.pop("shared", {}) or {}
    ps = PlanSettings.of(own.pop("settings", None), caller=getattr(fn, "__name__", "planning"), **shared)
    return own, ps


#: The dose figures of a plan that get an interval (at the prescribed activity).
DOSE_FIGURES = ("target_dose", "normal_liver_dose", "whole_normal_liver_dose", "tumour_dose", "lung_dose")


def _figures(nominal, sampled, factor: np.ndarray) -> tuple:
    """{figure: (draws [..., N], unit)} at the prescribed activity, and the activity ratio per draw."""
    a = np.asarray(sampled.prescribed_activity.to("GBq").magnitude, dtype=float)
    a0 = float(nominal.prescribed_activity.to("GBq").magnitude)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(a > 0, a0 * factor / np.where(a > 0, a, 1.0), np.nan) if a0 > 0 else np.zeros_like(factor)
    out = {"prescribed_activity": (a, "GBq")}
    for name in DOSE_FIGURES:
        q = getattr(sampled, name)
        if q is not None and getattr(nominal, name) is not None:
            out[name] = (np.asarray(q.to("Gy").magnitude, dtype=float) * ratio, "Gy")
    prior = float(nominal.prior_lung_dose.to("Gy").magnitude)
    if prior > 0:
        out["cumulative_lung_dose"] = (prior + out["lung_dose"][0], "Gy")
    return out, ratio


def _ranking(values: dict, terms: tuple, n: int, m: int) -> Mapping[str, tuple]:
    """Each input's share of each figure's variance, one at a time (blocks of ``m`` draws after the
    ``n`` draws of the whole budget), largest first."""
    out = {}
    k = len(terms)
    for name, (v, unit) in values.items():
        rows = [(f"{name}[{i + 1}]", v[i]) for i in range(v.shape[0])] if v.ndim == 2 else [(name, v)]
        for key, x in rows:
            blocks = x[n: n + k * m].reshape(k, m)
            var = blocks.var(axis=1)
            lo, hi = np.quantile(blocks, (_QUANTILES[0], _QUANTILES[2]), axis=1)
            total = var.sum()
            shares = [Share(t.name, t.label, float(vb / total) if total > 0 else 0.0, Q_(float(a), unit), Q_(float(b), unit))
                      for t, vb, a, b in zip(terms, var, lo, hi)]
            out[key] = tuple(sorted(shares, key=lambda sh: -sh.share))
    return MappingProxyType(out)


def propagate(fn, *args, uncertainty: UncertaintySettings | None = None, lung_shunt_method=None, lung_mass_measured: bool | None = None,
              nominal=None, **kwargs) -> PlanUncertainty:
    """The uncertainty of the plan ``fn(*args, **kwargs)`` (see the module docstring).

    Parameters
    ----------
    fn : callable
        :func:`~dosimetry.planning.mird`, :func:`~dosimetry.planning.bsa`,
        :func:`~dosimetry.planning.empirical` or :func:`~dosimetry.planning.partition`.
    *args, **kwargs
        Its arguments, scalars (one patient).
    uncertainty : UncertaintySettings, optional
        Budget, draws, seed (default :class:`~dosimetry.planning.budget.UncertaintySettings`).
    lung_shunt_method : ShuntMethod or str, optional
        ``"planar"`` or ``"spect"``: picks the shunt's term (default the settings').
    lung_mass_measured : bool, optional
        The lung mass was measured (``lung_mass``) rather than the 1 kg convention
        (``lung_mass_assumed``); default: measured when the caller gave one.
    nominal : Plan, optional
        ``fn(*args, **kwargs)`` already computed.

    Raises
    ------
    InputError
        Array inputs, or a budget whose draws cannot stay in the inputs' plausible ranges.
    """
    s = uncertainty or UncertaintySettings()
    if not s.enabled:
        raise ValueError("the uncertainty analysis is off (samples = 0)")
    nominal = nominal if nominal is not None else fn(*args, **kwargs)
    own, ps = _bind(fn, args, kwargs)
    shunt = ShuntMethod.parse(lung_shunt_method or s.lung_shunt_method, "uncertainty.lung_shunt_method")
    measured = (ps.lung_mass != PlanSettings().lung_mass) if lung_mass_measured is None else bool(lung_mass_measured)
    slots = _slots(own, ps, s, shunt, measured)
    ties = _ties(own, ps, slots)
    terms = tuple(dict.fromkeys(x.term for x in slots if _drawn(x, {x.term.name})))
    n, m = s.samples, min(s.samples, OAT_DRAWS)
    rng = np.random.default_rng(s.seed)
    blocks = [_block(slots, {t.name for t in terms}, n, rng, ties)] + [_block(slots, {t.name}, m, rng, ties) for t in terms]
    vals = {i: np.concatenate([b[i] for b in blocks]) for i in range(len(slots))}
    sampled = _call(fn, own, ps, slots, vals, ties)
    values, ratio = _figures(nominal, sampled, vals[0])
    checks = tuple(sampled.limits)
    if [c.name for c in checks] != [c.name for c in nominal.limits]:
        raise RuntimeError("the drawn plans were checked against other limits than the nominal plan")
    u = PlanUncertainty(
        settings=s,
        terms=terms,
        figures=MappingProxyType({k: interval_of(v[..., :n], unit) for k, (v, unit) in values.items()}),
        p_exceed=(),
        ranking=_ranking(values, terms, n, m),
        activity_factor=vals[0][:n],
        _checks=checks,
        _ratio=ratio,
        _prior=nominal.prior_lung_dose,
        _values=MappingProxyType({k: (v[..., :n], unit) for k, (v, unit) in values.items()}),
    )
    return replace(u, p_exceed=u.p_exceed_at(1.0))


def attach(plan, u: PlanUncertainty):
    """The plan with its uncertainty and each safety check's ``p_exceed``."""
    limits = tuple(c if p is None else replace(c, p_exceed=p) for c, p in zip(plan.limits, u.p_exceed))
    return replace(plan, limits=limits, uncertainty=u)


def with_uncertainty(fn, *args, uncertainty: UncertaintySettings | None = None, lung_shunt_method=None, lung_mass_measured: bool | None = None, **kwargs):
    """The nominal plan ``fn(*args, **kwargs)`` with its uncertainty (``Plan.uncertainty``: each
    figure's 95 % interval and the ranking of the inputs) and each safety check's ``p_exceed``.

    ``uncertainty``, ``lung_shunt_method``, ``lung_mass_measured``: as for :func:`propagate`. With
    ``samples = 0`` the nominal plan is returned as it is. The verdict is the nominal plan's: the
    probabilities never change a check's pass or fail.

    Example: ``with_uncertainty(planning.mird, "120 Gy", "1456 mL", 0.05, device="glass", uncertainty=UncertaintySettings(seed=1))``.
    """
    nominal = fn(*args, **kwargs)
    s = uncertainty or UncertaintySettings()
    if not s.enabled:
        return nominal
    u = propagate(fn, *args, uncertainty=s, lung_shunt_method=lung_shunt_method, lung_mass_measured=lung_mass_measured, nominal=nominal, **kwargs)
    return attach(nominal, u)
