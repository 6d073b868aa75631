"""Validation helpers shared by the planning models.

Error messages name the inputs by their patient-file names (``target.mass``,
``lung.shunt_fraction``, ...; see docs/patient-file.md), and every input is checked against the
same plausible range as in the patient file (:data:`dosimetry.ranges.PLAUSIBLE`): one verdict
whatever the entry point. Values outside the usual band are described in ``warns`` (the plan's
warnings).
"""

from __future__ import annotations

import re

import numpy as np
import pint

from ..errors import InputError, UnitError
from ..isotope import LIVER_DENSITY
from ..ranges import PLAUSIBLE, Plausible, check_number, plausible_fraction, plausible_quantity, range_text
from ..units import new_quantity, same_dimension, parse_quantity_text, quantity, ureg, to_unit

__all__ = ["mass_of", "lsf", "residual", "coefficient", "density_of", "dose", "positive_dose", "nonneg_dose", "lung_mass_of", "shapes_agree", "field_of", "clinical_of", "overrides_of"]

_MASS = ureg.kg.dimensionality
_VOLUME = ureg.mL.dimensionality
_KG = ureg.kg
_VOLUME_UNITS = ureg.mL._units


def density_of(density, field: str = "liver.density", warns: list | None = None) -> pint.Quantity:
    """Tissue density [g/mL] in ``PLAUSIBLE["liver.density"]``; ``None`` gives the 1.03 g/mL convention."""
    if density is None:
        return LIVER_DENSITY
    return plausible_quantity(density, "liver.density", field, warns, scalar=False)


def _range_key(field: str) -> str:
    """The :data:`~dosimetry.ranges.PLAUSIBLE` key of a field: ``target.tumours[2].volume`` -> ``target.tumours.volume``."""
    return re.sub(r"\[\d+\]", "", field)


def _mass_range(mass_field: str, volume_field: str) -> Plausible:
    """Plausible range of a tissue given as a mass: its own entry (``target.mass``), else the volume's
    range at the extremes of the liver.density range (so that any volume the patient file accepts,
    at any density it accepts, is accepted as a mass too)."""
    key = _range_key(mass_field)
    if key in PLAUSIBLE:
        return PLAUSIBLE[key]
    v, d = PLAUSIBLE[_range_key(volume_field)], PLAUSIBLE["liver.density"]
    # volume and density ranges are bounded (dosimetry.ranges)
    assert v.low is not None and v.high is not None and d.low is not None and d.high is not None
    return Plausible(
        "kg", v.low * d.low / 1000, v.high * d.high / 1000, f"{volume_field} {range_text(v)} at liver.density {range_text(d)}",
        include_low=v.include_low, include_high=v.include_high,
    )


def mass_of(value, density, mass_field: str, volume_field: str, warns: list | None = None) -> pint.Quantity:
    """A tissue mass [kg] given as a mass or as a volume (times ``density``), in its plausible range.

    Parameters
    ----------
    value : pint.Quantity or str
        Mass [mass] or volume [volume] (arrays broadcast).
    density : pint.Quantity
        Density [g/mL] used for a volume.
    mass_field, volume_field : str
        Patient-file names used in errors, e.g. ``"target.mass"`` and ``"target.volume"``; their
        ranges are those of :data:`dosimetry.ranges.PLAUSIBLE` (a mass without an entry of its own:
        the volume's range at the ends of the liver.density range).
    warns : list, optional
        Values outside the usual band are described here.

    Raises
    ------
    InputError
        Neither a mass nor a volume, or outside the plausible range.
    """
    if isinstance(value, str) and _looks_volume(value):
        value = quantity(value, "mL", volume_field, convert=False)
    if _is_volume(value):
        v = plausible_quantity(value, _range_key(volume_field), volume_field, warns, scalar=False)
        # (v * density).to("kg") as pint computes it (the product of the magnitudes in the product of the
        # units, then pint's conversion factor), without pint's operator dispatch (issue 22)
        return to_unit(new_quantity(v._magnitude * density._magnitude, v._units * density._units), _KG)
    try:
        m = quantity(value, "kg", mass_field)
    except UnitError as exc:
        raise UnitError(mass_field, exc.message + f" (or a volume for {volume_field})", expected=exc.expected) from None
    # a mass computed from a volume (volume x density) may round across a bound: 1e-9 relative slack
    check_number(m.magnitude, _mass_range(mass_field, volume_field), mass_field, warns, slack=1e-9)
    return m


def field_of(value, mass_field: str, volume_field: str) -> str:
    """The field name ``value`` stands for: ``volume_field`` for a volume, else ``mass_field``."""
    if isinstance(value, str):
        return volume_field if _looks_volume(value) else mass_field
    if _is_volume(value):
        return volume_field
    return mass_field


def _is_volume(value) -> bool:
    """A Quantity of this package's registry with the dimension of a volume."""
    return isinstance(value, pint.Quantity) and value._REGISTRY is ureg and same_dimension(value._units, _VOLUME_UNITS)


def _looks_volume(text: str) -> bool:
    # The package's grammar first (its unit parse is remembered: issue 22, a scalar plan under 1 ms);
    # a text it cannot read is classified by pint's parser, so its refusal names the same field as before.
    try:
        return same_dimension(parse_quantity_text(text, "")._units, _VOLUME_UNITS)
    except Exception:
        pass
    try:
        return ureg.Quantity(text.strip()).dimensionality == _VOLUME
    except Exception:
        return False


def lsf(value, field: str = "lung.shunt_fraction", warns: list | None = None):
    """Lung shunt fraction in ``PLAUSIBLE["lung.shunt_fraction"]`` ([0, 1), warned above 0.5)."""
    return plausible_fraction(value, "lung.shunt_fraction", field, warns, scalar=False)


def residual(value, field: str = "target.residual_fraction", warns: list | None = None):
    """Residual fraction in ``PLAUSIBLE["target.residual_fraction"]`` ([0, 0.5], warned above 0.1)."""
    return plausible_fraction(value, "target.residual_fraction", field, warns, scalar=False)


def coefficient(value, default: pint.Quantity, field: str = "treatment.dose_coefficient", warns: list | None = None) -> pint.Quantity:
    """Dose coefficient K [Gy kg/GBq] in ``PLAUSIBLE["treatment.dose_coefficient"]``; ``None`` gives ``default``."""
    if value is None:
        return to_unit(default, "Gy*kg/GBq")
    return plausible_quantity(value, "treatment.dose_coefficient", field, warns, scalar=False)


def dose(value, field: str, warns: list | None = None) -> pint.Quantity:
    """Absorbed dose [Gy] in the plausible range of ``field`` (``target.dose``, ``lung.limit``, ...)."""
    return plausible_quantity(value, _range_key(field), field, warns, scalar=False)


def positive_dose(value, field: str) -> pint.Quantity:
    """Absorbed dose [Gy], > 0 (for fields without a plausible range of their own)."""
    return quantity(value, "Gy", field, minimum=0, include_minimum=False)


def nonneg_dose(value, field: str) -> pint.Quantity:
    """Absorbed dose [Gy], >= 0 (for fields without a plausible range of their own)."""
    return quantity(value, "Gy", field, minimum=0)


def lung_mass_of(value, field: str = "lung.mass", warns: list | None = None) -> pint.Quantity:
    """Lung mass [kg] in ``PLAUSIBLE["lung.mass"]``; default 1 kg by convention (TheraSphere IFU)."""
    return plausible_quantity("1 kg" if value is None else value, "lung.mass", field, warns, scalar=False)


def shapes_agree(shapes: dict) -> tuple:
    """The broadcast shape of the inputs ``{field: shape}``; refuses shapes that do not broadcast.

    Raises
    ------
    InputError
        Naming the first field whose shape does not broadcast with the fields before it, and them.
    """
    if not any(shapes.values()):  # every input one number (a scalar plan): nothing to broadcast
        return ()
    acc: tuple[int, ...] = ()
    seen: list[tuple[str, tuple]] = []
    for name, shape in shapes.items():
        try:
            acc = np.broadcast_shapes(acc, tuple(shape))
        except ValueError:
            others = ", ".join(f"{n} {tuple(s)}" for n, s in seen)
            raise InputError(
                name,
                f"shape {tuple(shape)} does not broadcast with {others}; give arrays of one shape (one plan per element) or shapes numpy can broadcast",
            ) from None
        if tuple(shape):
            seen.append((name, shape))
    return acc


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
        unknown = set(value) - {"indication", "extent", "bilirubin", "compromised_liver", "corrected_tumour_doses"}
        if unknown:
            raise InputError("clinical", f"unknown key(s) {', '.join(sorted(unknown))}; allowed: indication, extent, bilirubin, compromised_liver, corrected_tumour_doses")
        return clinical(**value)
    raise InputError("clinical", f"expected a Clinical scenario or a table, got {type(value).__name__}")


def overrides_of(lung_limit=None, cumulative_lung_limit=None, normal_liver_limit=None, warns: list | None = None) -> dict:
    """A clinic's own limits by key (see :func:`dosimetry.planning.limits.applicable`), validated."""
    out = {}
    for key, field, val in (
        ("lung_dose", "lung.limit", lung_limit),
        ("cumulative_lung_dose", "lung.cumulative_limit", cumulative_lung_limit),
        ("normal_liver", "target.normal_liver_limit", normal_liver_limit),
    ):
        if val is not None:
            out[key] = dose(val, field, warns)
    return out
