"""Prescription models: pure functions over pint Quantities (numpy-broadcastable) returning a
frozen :class:`~dosimetry.planning.result.Plan`.

- :func:`mird` single compartment (glass IFU; resin "MIRD" option),
- :func:`bsa` and :func:`empirical` resin methods, :func:`body_surface_area` (DuBois),
- :func:`partition` tumour / normal liver / lung partition model, several tumours,
- :mod:`.compartments` the doses an activity gives in every compartment (the same for all methods),
- :mod:`.lung` lung dose, lung limits and the resin shunt reduction table,
- :mod:`.clinical` the clinical scenario (indication, extent, liver function),
- :mod:`.limits` dose thresholds as the EANM 2022 guideline states them, and their check,
- :mod:`.settings` :class:`PlanSettings`, the inputs every method shares (device, scenario, K, ...),
- :mod:`.verdict` the one rule: pass/fail, headroom, scaling to another activity, status,
- :mod:`.session` several territories in one session: summed lung and whole-normal-liver doses,
- :mod:`.budget` the uncertainty budget as data (:class:`UncertaintySettings`, :data:`DEFAULT_BUDGET`),
- :mod:`.uncertainty` :func:`with_uncertainty`: any method's plan with its 95 % intervals and the
  chance each safety limit is crossed, by seeded Monte Carlo through the same function.

Every method takes ``device`` explicitly and is checked on the same figures: perfused-target,
normal-liver (perfused and whole), tumour and lung doses.
"""

from .bsa import body_surface_area, bsa, empirical
from .clinical import Clinical, Extent, Indication, clinical
from .limits import THRESHOLDS, Threshold, applicable, check
from .lung import lung_dose, lung_limits, max_lung_activity, resin_shunt_reduction
from .mird import mird
from .partition import partition
from .result import LimitCheck, Plan
from .session import Session, combine_territories
from .settings import PlanSettings
from .budget import DEFAULT_BUDGET, UncertaintySettings
from .uncertainty import with_uncertainty

__all__ = [
    "Plan",
    "PlanSettings",
    "LimitCheck",
    "mird",
    "bsa",
    "empirical",
    "body_surface_area",
    "partition",
    "lung_dose",
    "lung_limits",
    "max_lung_activity",
    "resin_shunt_reduction",
    "Clinical",
    "Indication",
    "Extent",
    "clinical",
    "Threshold",
    "THRESHOLDS",
    "applicable",
    "check",
    "Session",
    "combine_territories",
    "UncertaintySettings",
    "DEFAULT_BUDGET",
    "with_uncertainty",
]
