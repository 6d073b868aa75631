"""Prescription models: pure functions over pint Quantities (numpy-broadcastable) returning a
frozen :class:`~dosimetry.planning.result.Plan`.

- :func:`mird` single compartment (glass IFU; resin "MIRD" option),
- :func:`bsa` and :func:`empirical` resin methods, :func:`body_surface_area` (DuBois),
- :func:`partition` tumour / normal liver / lung partition model, several tumours,
- :mod:`.lung` lung dose, lung limits and the resin shunt reduction table,
- :mod:`.limits` dose thresholds by device and scenario (EANM 2022) and their check.
"""

from .bsa import body_surface_area, bsa, empirical
from .limits import THRESHOLDS, Threshold, check, thresholds
from .lung import lung_dose, lung_limits, max_lung_activity, resin_shunt_reduction
from .mird import mird
from .partition import partition
from .result import LimitCheck, Plan

__all__ = [
    "Plan",
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
    "Threshold",
    "THRESHOLDS",
    "thresholds",
    "check",
]
