"""The uncertainty budget: every planning input that carries an uncertainty, its default
distribution, and where the figure comes from (docs/uncertainty.md prints this table).

A :class:`Term` is one input's uncertainty: a distribution (normal, lognormal, uniform), a spread
(relative to the input's value, or absolute in its unit) and its source. ``basis`` says whether the
spread is a published figure, derived here from a published one (the derivation is in the source
text), or a project choice where the literature gives no single number: a clinic overrides any of
them in the patient file's ``[uncertainty]`` table or with ``--uncertainty TERM=SPEC``
(:func:`uncertainty_settings`, the one parser of both).

Meaning of ``spread``: normal, the standard deviation; lognormal, the standard deviation of the
natural logarithm (median at the value; relative only); uniform, the half-width. Relative spreads are
fractions of the input's value; absolute ones are in :attr:`Term.unit` ("" for fractions and ratios).
Draws outside the input's plausible range (:data:`dosimetry.ranges.PLAUSIBLE`, e.g. a lung shunt
fraction below 0) are drawn again: the distributions are truncated to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import InputError, OutOfRangeError
from ..units import fraction, quantity
from ..vocabulary import Distribution, ShuntMethod

__all__ = ["Term", "DEFAULT_BUDGET", "UncertaintySettings", "uncertainty_settings", "parse_spec", "LEVEL", "SETTING_KEYS"]

#: Level of every interval reported (the 2.5th to the 97.5th percentile).
LEVEL = 0.95

PUBLISHED, DERIVED, CHOICE = "published", "derived from a published figure", "project choice"


@dataclass(frozen=True)
class Term:
    """One input's uncertainty (see the module docstring for ``spread``).

    Parameters
    ----------
    name : str
        Key in ``[uncertainty]`` and ``--uncertainty``.
    label : str
        Human name of the input.
    distribution : Distribution
    spread : float
        Relative (a fraction of the value) or absolute (in ``unit``); 0 switches the term off.
    relative : bool
    unit : str
        Unit of the input and of an absolute spread ("" for fractions and ratios).
    source : str
        Where the figure comes from (publication, or why it is a project choice).
    basis : str
        ``"published"``, ``"derived from a published figure"`` or ``"project choice"``.
    moves : str
        What the input moves in a plan.
    factor : bool
        The input is a multiplicative error with no value of its own (activity given over activity
        measured, image calibration, ROI volume): relative spreads only.
    absolute_max : float
        Largest absolute spread accepted, in ``unit``.
    """

    name: str
    label: str
    distribution: Distribution
    spread: float
    relative: bool
    unit: str
    source: str
    basis: str
    moves: str
    factor: bool = False
    absolute_max: float = math.inf

    @property
    def off(self) -> bool:
        return self.spread == 0

    def describe(self) -> str:
        """e.g. ``"normal, SD 7.8 %"``, ``"normal, SD 0.02 (absolute)"``, ``"uniform, +-0.66 %"``."""
        if self.off:
            return "off"
        what = {Distribution.NORMAL: "SD", Distribution.LOGNORMAL: "SD of ln", Distribution.UNIFORM: "+-"}[self.distribution]
        amount = f"{self.spread * 100:.3g} %" if self.relative else f"{self.spread:g}{' ' + self.unit if self.unit else ''} (absolute)"
        return f"{self.distribution}, {what}{'' if what == '+-' else ' '}{amount}"

    def to_json(self) -> dict:
        return {"input": self.name, "label": self.label, "distribution": self.distribution, "spread": self.spread, "relative": self.relative,
                "unit": self.unit, "basis": self.basis, "source": self.source}


_ACTIVITY = (
    "Y-90 dose-calibrator results of US nuclear pharmacies and clinics against NIST-verified samples (blind test, 2008): 80 % of 45 "
    "within +-10 % and all within +-20 %, i.e. SD 10 %/1.28 = 7.8 % for a normal error (derived here); UK and Irish hospitals "
    "measured a Y-90 standard up to 20 % off the NPL certificated value (NPL comparison 2009, Fenwick et al.), with a -6 % bias from "
    "non-standard geometries (Appl Radiat Isot 2014, PMID 24447932); SIR-Spheres vials labelled 3 GBq +-10 % (IFU) read 26 % and "
    "19 % high in independent assays (Selwyn et al., Med Phys 2008, doi:10.1118/1.2889621; Paxton et al., Med Phys 2012, "
    "doi:10.1118/1.4735740). Systematic biases are not modelled: calibrate the dose calibrator for Y-90 in its geometry"
)
_PLANAR = (
    "Allred et al., EJNMMI Research 2018, vol. 8: the planar geometric-mean lung shunt over-estimated a torso phantom's true shunt by up to "
    "44 % (SPECT/CT with attenuation and scatter correction: within 13 %); 44 % read as the 95 % bound gives SD 22 % (derived here). "
    "In patients planar shunts exceed SPECT/CT shunts (Allred 2018; J Appl Clin Med Phys 2022, e13734): that bias raises the lung "
    "dose (conservative) and is not corrected"
)
_SPECT = (
    "Allred et al., EJNMMI Research 2018, vol. 8: Tc-99m MAA SPECT/CT with attenuation and scatter correction measured a torso phantom's "
    "lung shunt within 13 % of the truth; 13 % read as the 95 % bound gives SD 6.6 % (derived here). MAA and microspheres may "
    "shunt differently; that is not included"
)
_GEAR = "method of the EANM guidance on uncertainty analysis (Gear et al., Eur J Nucl Med Mol Imaging 2018;45:2456)"

#: The default budget, by term name (docs/uncertainty.md prints it).
DEFAULT_BUDGET: Mapping[str, Term] = MappingProxyType({t.name: t for t in (
    Term("activity", "activity given (dose calibrator, vial)", Distribution.NORMAL, 0.078, True, "", _ACTIVITY, DERIVED,
         "every dose at the prescribed activity (the activity given is the activity measured times this factor)", factor=True),
    Term("residual_fraction", "residual fraction", Distribution.NORMAL, 0.02, False, "",
         "project choice: 2 percentage points; vial and tubing keep a few % (glass and resin IFUs) and survey-meter residual "
         "measurements disagree with PET and the dose calibrator (Ebbers et al., Cardiovasc Intervent Radiol 2020;43:1378)", CHOICE,
         "the activity reaching the patient: every dose, and the activity a dose prescription needs", absolute_max=0.5),
    Term("lung_shunt_planar", "lung shunt fraction (planar)", Distribution.NORMAL, 0.22, True, "", _PLANAR, DERIVED,
         "lung dose; liver doses through (1 - LSF); the resin shunt reduction and contraindication", absolute_max=0.5),
    Term("lung_shunt_spect", "lung shunt fraction (SPECT/CT)", Distribution.NORMAL, 0.066, True, "", _SPECT, DERIVED,
         "as lung_shunt_planar", absolute_max=0.5),
    Term("lung_mass", "lung mass (measured on CT or typed)", Distribution.NORMAL, 0.10, True, "kg",
         "project choice: 10 %; the CT lung mass moves with the breathing phase and the HU-to-density conversion", CHOICE,
         "lung dose", absolute_max=5.0),
    Term("lung_mass_assumed", "lung mass (1 kg convention)", Distribution.NORMAL, 0.20, True, "kg",
         "project choice: 20 %; the 1 kg convention (TheraSphere IFU) against ICRP 89 reference lungs of 1.2 kg (male) and "
         "0.95 kg (female) and CT-based masses of 0.5-2 kg", CHOICE, "lung dose", absolute_max=5.0),
    Term("perfused_volume", "perfused volume", Distribution.NORMAL, 0.10, True, "mL",
         f"project choice: 10 % for a perfused territory drawn on MAA SPECT or cone-beam CT (reader, threshold); {_GEAR}", CHOICE,
         "target and normal-liver doses; the activity a dose prescription needs", absolute_max=10000.0),
    Term("liver_volume", "whole liver volume", Distribution.NORMAL, 0.05, True, "mL",
         f"project choice: 5 % for whole-liver CT volumetry; {_GEAR}. A target that is the whole liver is the same measurement: "
         "one draw moves both", CHOICE, "whole-normal-liver dose; the BSA and empirical involvement", absolute_max=10000.0),
    Term("tumour_volume", "tumour volume (each tumour)", Distribution.NORMAL, 0.15, True, "mL",
         f"project choice: 15 % (delineation varies with reader and modality, more for small tumours: set it per case); {_GEAR}",
         CHOICE, "tumour and normal-liver doses (partition model); the BSA and empirical involvement", absolute_max=10000.0),
    Term("tumour_to_normal", "tumour-to-normal ratio (each tumour)", Distribution.LOGNORMAL, 0.20, True, "",
         "project choice: 20 % on the log scale (a ratio of two count densities on Tc-99m MAA SPECT; MAA and microsphere uptake differ)",
         CHOICE, "tumour and normal-liver doses (partition model)", absolute_max=50.0),
    Term("dose_coefficient", "dose coefficient K", Distribution.UNIFORM, 0.0066, True, "Gy*kg/GBq",
         "the conventions span 0.66 %: 49.67 Gy kg/GBq (partition-model literature) to 50 (TheraSphere IFU), ICRP-107 data 49.8 "
         "(design brief); uniform over +-0.66 %", DERIVED, "every dose", absolute_max=10.0),
    Term("image_calibration", "image calibration (voxel)", Distribution.NORMAL, 0.10, True, "",
         f"project choice: 10 % (camera calibration factor, quantitative SPECT or PET accuracy); {_GEAR}", CHOICE,
         "every voxel mean dose", factor=True),
    Term("roi_volume", "ROI volume (voxel, each region)", Distribution.NORMAL, 0.10, True, "",
         f"project choice: 10 % on each region's volume, its mean dose scaled by 1 / volume (the region's activity held); {_GEAR}", CHOICE,
         "each voxel region's mean dose", factor=True),
)})

#: Keys of ``[uncertainty]`` besides the terms.
SETTING_KEYS = ("samples", "seed", "p_exceed_bound", "lung_shunt_method")
#: Draws per run: 0 switches the analysis off; otherwise at least :data:`MIN_SAMPLES`.
DEFAULT_SAMPLES, MIN_SAMPLES, MAX_SAMPLES = 10_000, 100, 1_000_000
#: A safety check crossed in more than this fraction of the draws is warned (issue 23: a clinic setting).
DEFAULT_BOUND = 0.05


@dataclass(frozen=True)
class UncertaintySettings:
    """What the uncertainty analysis uses: the budget, the number of draws, the seed, the warning bound.

    Parameters
    ----------
    budget : mapping of str to Term
        Every term (default :data:`DEFAULT_BUDGET`).
    samples : int
        Monte Carlo draws; 0 switches the analysis off.
    seed : int
        Seed of the random generator (numpy ``default_rng``): the same seed gives the same numbers.
    bound : float
        A safety limit crossed with a probability above it is warned (never blocked).
    lung_shunt_method : ShuntMethod
        How a typed lung shunt fraction was measured (planar unless stated): picks its term.
    """

    budget: Mapping[str, Term] = field(default_factory=lambda: DEFAULT_BUDGET)
    samples: int = DEFAULT_SAMPLES
    seed: int = 0
    bound: float = DEFAULT_BOUND
    lung_shunt_method: ShuntMethod = ShuntMethod.PLANAR

    @property
    def enabled(self) -> bool:
        return self.samples > 0

    def term(self, name: str) -> Term:
        return self.budget[name]

    def to_json(self) -> dict:
        return {"samples": self.samples, "seed": self.seed, "level": LEVEL, "p_exceed_bound": self.bound,
                "lung_shunt_method": self.lung_shunt_method, "budget": [t.to_json() for t in self.budget.values()]}


def _integer(value, fieldname: str, low: int, high: int, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(fieldname, f"expected an integer, {allowed}; got {str(value)[:40]!r}", allowed=allowed)
    try:
        n = int(value)
    except ValueError:
        raise InputError(fieldname, f"expected an integer, {allowed}; got {str(value)[:40]!r}", allowed=allowed) from None
    if not low <= n <= high:
        raise OutOfRangeError(fieldname, f"{n} is not allowed; allowed {allowed}", allowed=allowed)
    return n


def _samples(value, fieldname: str) -> int:
    allowed = f"0 (off) or {MIN_SAMPLES} to {MAX_SAMPLES}"
    n = _integer(value, fieldname, 0, MAX_SAMPLES, allowed)
    if 0 < n < MIN_SAMPLES:
        raise OutOfRangeError(fieldname, f"{n} draws give no usable 95 % interval; allowed {allowed}", allowed=allowed)
    return n


def _spread(value, term: Term, distribution: Distribution, relative: bool, fieldname: str) -> float:
    """A spread: relative as a fraction or percentage; absolute in the term's unit."""
    if relative:
        top = 1.0 if distribution is Distribution.LOGNORMAL else 0.5
        x = float(fraction(value, fieldname, include_one=True))
        if x > top:
            raise OutOfRangeError(fieldname, f"a relative {distribution} spread of {x:.3g} is above {top:g}; allowed [0, {top:g}]", allowed=f"[0, {top:g}]")
        return x
    if term.factor:
        raise InputError(fieldname, f"{term.name} is a relative error (a factor): give a relative spread, e.g. \"5 %\"")
    if distribution is Distribution.LOGNORMAL:
        raise InputError(fieldname, "a lognormal spread is relative (the SD of the logarithm); use normal or uniform for an absolute spread")
    allowed = f"[0, {term.absolute_max:g}]{' ' + term.unit if term.unit else ''}"
    if term.unit:
        x = float(quantity(value, term.unit, fieldname, minimum=0, maximum=term.absolute_max, scalar=True).magnitude)
    else:
        x = float(fraction(value, fieldname, include_one=True)) if isinstance(value, str) else value
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or not 0 <= x <= term.absolute_max:
            raise OutOfRangeError(fieldname, f"expected an absolute spread in {allowed}, got {str(value)[:40]!r}", allowed=allowed)
    return float(x)


def parse_spec(value: Any, term: Term, fieldname: str) -> Term:
    """One term from ``[uncertainty]`` (or ``--uncertainty``): ``"off"``, a spread (``"5 %"``, 0.02:
    the default distribution and sense), or a table ``{distribution, spread, relative}`` whose missing
    keys keep the default's."""
    if isinstance(value, str) and value.strip().lower() in ("off", "none"):
        return replace(term, spread=0.0)
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"distribution", "spread", "relative"})
        if unknown:
            raise InputError(f"{fieldname}.{unknown[0]}", "unknown key; allowed: distribution, spread, relative")
        dist = Distribution.parse(value.get("distribution", term.distribution), f"{fieldname}.distribution")
        relative = value.get("relative", term.relative if dist is not Distribution.LOGNORMAL else True)
        if not isinstance(relative, bool):
            raise InputError(f"{fieldname}.relative", "expected true or false")
        if "spread" not in value and (relative != term.relative):
            raise InputError(f"{fieldname}.spread", "missing: a change between relative and absolute needs its spread")
        spread = _spread(value.get("spread", term.spread), term, dist, relative, f"{fieldname}.spread")
        return replace(term, distribution=dist, relative=relative, spread=spread, basis="clinic setting", source="clinic setting ([uncertainty])")
    spread = _spread(value, term, term.distribution, term.relative, fieldname)
    return replace(term, spread=spread, basis="clinic setting", source="clinic setting ([uncertainty])")


def uncertainty_settings(table: Mapping | None, fieldname: str = "uncertainty", base: UncertaintySettings | None = None) -> UncertaintySettings:
    """The ``[uncertainty]`` table (or the command line's ``KEY=VALUE``) read strictly over ``base``.

    Keys: every term of :data:`DEFAULT_BUDGET`, and ``samples``, ``seed``, ``p_exceed_bound``,
    ``lung_shunt_method``. Unknown keys are refused, naming the allowed ones.
    """
    out = base or UncertaintySettings()
    table = table or {}
    if not isinstance(table, Mapping):
        raise InputError(fieldname, "expected a table [uncertainty]")
    allowed = set(SETTING_KEYS) | set(DEFAULT_BUDGET)
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{fieldname}.{unknown[0]}", f"unknown key; allowed keys in [uncertainty]: {', '.join(list(SETTING_KEYS) + list(DEFAULT_BUDGET))}")
    budget = dict(out.budget)
    changes: dict = {}
    for key, value in table.items():
        name = f"{fieldname}.{key}"
        if key == "samples":
            changes["samples"] = _samples(value, name)
        elif key == "seed":
            changes["seed"] = _integer(value, name, 0, 2**63 - 1, "[0, 2^63 - 1]")
        elif key == "p_exceed_bound":
            bound = float(fraction(value, name, include_zero=False))
            changes["bound"] = bound
        elif key == "lung_shunt_method":
            changes["lung_shunt_method"] = ShuntMethod.parse(value, name)
        else:
            budget[key] = parse_spec(value, budget[key], name)
    return replace(out, budget=MappingProxyType(budget), **changes)
