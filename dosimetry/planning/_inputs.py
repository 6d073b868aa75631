"""Validation helpers shared by the planning models.

Error messages name the inputs by their patient-file names (``target.mass``,
``lung.shunt_fraction``, ...; see docs/patient-file.md).
"""

from __future__ import annotations

import numpy as np
import pint

from ..errors import InputError
from ..isotope import LIVER_DENSITY
from ..units import fraction, quantity, ureg

__all__ = ["mass_of", "lsf", "residual", "coefficient", "density_of", "positive_dose", "nonneg_dose", "lung_mass_of", "clinical_of", "overrides_of"]

_MASS = ureg.kg.dimensionality
_VOLUME = ureg.mL.dimensionality


def density_of(density, field: str = "liver.density") -> pint.Quantity:
    """Tissue density [g/mL], > 0; ``None`` gives the 1.03 g/mL convention."""
    if density is None:
        return LIVER_DENSITY
    return quantity(density, "g/mL", field, minimum=0, include_minimum=False)


def mass_of(value, density, mass_field: str, volume_field: str, *, allow_zero: bool = False) -> pint.Quantity:
    """A tissue mass [kg] given as a mass or as a volume (times ``density``).

    Parameters
    ----------
    value : pint.Quantity or str
        Mass [mass] or volume [volume]; > 0 (>= 0 with ``allow_zero``).
    density : pint.Quantity
        Density [g/mL] used for a volume.
    mass_field, volume_field : str
        Patient-file names used in errors, e.g. ``"target.mass"`` and ``"target.volume"``.
    allow_zero : bool
        Whether 0 is allowed (a tumour volume may be 0).

    Raises
    ------
    InputError
        Neither a mass nor a volume, or not positive.
    """
    if isinstance(value, str) and _looks_volume(value):
        value = quantity(value, "mL", volume_field, convert=False)
    if isinstance(value, pint.Quantity) and value._REGISTRY is ureg and value.dimensionality == _VOLUME:
        v = quantity(value, "mL", volume_field, minimum=0, include_minimum=allow_zero)
        return (v * density).to("kg")
    try:
        return quantity(value, "kg", mass_field, minimum=0, include_minimum=allow_zero)
    except InputError as exc:
        if "wrong dimension" in exc.message or "bare number" in exc.message:
            raise InputError(mass_field, exc.message + f" (or a volume for {volume_field})") from None
        raise


def _looks_volume(text: str) -> bool:
    try:
        return ureg.Quantity(text.strip()).dimensionality == _VOLUME
    except Exception:
        return False


def lsf(value, field: str = "lung.shunt_fraction"):
    """Lung shunt fraction in [0, 1)."""
    return fraction(value, field)


def residual(value, field: str = "target.residual_fraction"):
    """Residual fraction in [0, 1)."""
    return fraction(value, field)


def coefficient(value, default: pint.Quantity, field: str = "treatment.dose_coefficient") -> pint.Quantity:
    """Dose coefficient K [Gy kg/GBq], > 0; ``None`` gives ``default``."""
    if value is None:
        return default.to("Gy*kg/GBq")
    return quantity(value, "Gy*kg/GBq", field, minimum=0, include_minimum=False)


def positive_dose(value, field: str) -> pint.Quantity:
    """Absorbed dose [Gy], > 0."""
    return quantity(value, "Gy", field, minimum=0, include_minimum=False)


def nonneg_dose(value, field: str) -> pint.Quantity:
    """Absorbed dose [Gy], >= 0."""
    return quantity(value, "Gy", field, minimum=0)


def lung_mass_of(value, field: str = "lung.mass") -> pint.Quantity:
    """Lung mass [kg], > 0; default 1 kg by convention (TheraSphere IFU)."""
    return quantity("1 kg" if value is None else value, "kg", field, minimum=0, include_minimum=False)


def as_array_or_float(x):
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def clinical_of(value):
    """A :class:`~dosimetry.planning.clinical.Clinical` from None, a Clinical or a mapping."""
    from .clinical import Clinical, clinical

    if value is None:
        return Clinical()
    if isinstance(value, Clinical):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"indication", "extent", "bilirubin", "compromised_liver"}
        if unknown:
            raise InputError("clinical", f"unknown key(s) {', '.join(sorted(unknown))}; allowed: indication, extent, bilirubin, compromised_liver")
        return clinical(**value)
    raise InputError("clinical", f"expected a Clinical scenario or a table, got {type(value).__name__}")


def overrides_of(lung_limit=None, cumulative_lung_limit=None, normal_liver_limit=None) -> dict:
    """A clinic's own limits by key (see :func:`dosimetry.planning.limits.applicable`), validated."""
    out = {}
    for key, field, val in (
        ("lung_dose", "lung.limit", lung_limit),
        ("cumulative_lung_dose", "lung.cumulative_limit", cumulative_lung_limit),
        ("normal_liver", "target.normal_liver_limit", normal_liver_limit),
    ):
        if val is not None:
            out[key] = positive_dose(val, field)
    return out
