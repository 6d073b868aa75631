"""The settings every prescription method shares, as one object.

:class:`PlanSettings` bundles the eleven inputs that every method of :mod:`dosimetry.planning`
takes besides its own (device, scenario, density, residual fraction, K, lung mass, prior lung dose,
the whole liver's tumours and the clinic's limits). The patient-file parser builds it
(:meth:`dosimetry.model.PatientFile.plan_settings`) and so may a caller; the methods also accept the
same names as keyword arguments (``planning.mird(..., device="glass", lung_mass="0.9 kg")``), which
:meth:`PlanSettings.of` merges into one. The values are validated by the method that uses them
(:func:`dosimetry.planning.assemble.setting`), against the plausible ranges of the patient file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["PlanSettings"]


@dataclass(frozen=True)
class PlanSettings:
    """Inputs shared by every planning method (names as in the planning functions).

    Parameters
    ----------
    device : str, DeviceName or Device
        ``"glass"`` or ``"resin"``: default K and thresholds (required).
    liver_tumour : pint.Quantity or str, optional
        Every tumour in the whole liver (``liver.tumour_volume``); default the target's tumours.
    clinical : Clinical or mapping, optional
        Indication, extent and liver function that select the thresholds (``[clinical]``).
    density : pint.Quantity, optional
        Tissue density [g/mL] for a volume; default 1.03 g/mL (``liver.density``).
    residual_fraction : float or array
        R in [0, 1) (``target.residual_fraction``).
    dose_coefficient : pint.Quantity, optional
        K [Gy kg/GBq]; default the device's (``treatment.dose_coefficient``).
    lung_mass : pint.Quantity or str
        [mass], > 0; default 1 kg (``lung.mass``).
    prior_lung_dose : pint.Quantity or str
        Lung dose of earlier treatments [Gy], >= 0 (``lung.prior_dose``).
    lung_limit, cumulative_lung_limit, normal_liver_limit : pint.Quantity, optional
        A clinic's own limits [Gy] (``lung.limit``, ``lung.cumulative_limit``,
        ``target.normal_liver_limit``), shown as overrides.
    """

    device: Any = None
    liver_tumour: Any = None
    clinical: Any = None
    density: Any = None
    residual_fraction: Any = 0.0
    dose_coefficient: Any = None
    lung_mass: Any = "1 kg"
    prior_lung_dose: Any = "0 Gy"
    lung_limit: Any = None
    cumulative_lung_limit: Any = None
    normal_liver_limit: Any = None

    @classmethod
    def of(cls, settings: PlanSettings | None = None, *, caller: str = "planning", **given) -> PlanSettings:
        """``settings`` (or the defaults) with the keyword arguments ``given`` replacing its values.

        Raises
        ------
        TypeError
            An unknown keyword (as Python does for a misspelt argument), or no device.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - names)
        if unknown:
            raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
        out = replace(settings or cls(), **given)
        if out.device is None:
            raise TypeError(f"{caller}() missing required keyword argument: 'device'")
        return out
