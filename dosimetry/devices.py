"""Y-90 microsphere products: glass (TheraSphere) and resin (SIR-Spheres), as data with sources.

Each product is a frozen :class:`Device`. The numbers are the manufacturers' published figures;
where a figure could not be checked against the current instructions for use (IFU) in writing this
module, its ``sources`` entry says so (see docs/formulas.md, "Devices").

Activity per sphere and sphere count
------------------------------------
Each product has a nominal number of spheres per reference vial at calibration; the activity per
sphere at calibration is a_cal = A_vial / N_vial, and it decays with Y-90 like the vial:
a(t) = a_cal * exp(-ln 2 * t / T1/2). The number of spheres carrying an activity A at time t after
calibration is N = A / a(t) (TheraSphere IFU; SIR-Spheres product information).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pint

from .decay import decay_factor
from .errors import InputError
from .units import Q_, quantity
from .vocabulary import DeviceName, Method

__all__ = [
    "Device",
    "GLASS",
    "RESIN",
    "DEVICES",
    "VialCatalogue",
    "GLASS_CATALOGUE",
    "device",
    "activity_per_sphere",
    "sphere_count",
]


@dataclass(frozen=True)
class Device:
    """A Y-90 microsphere product.

    Parameters
    ----------
    name : str
        Short name used in patient files, ``"glass"`` or ``"resin"``.
    product : str
        Trade name.
    vial_activities : tuple of pint.Quantity
        Nominal vial activities at calibration [activity]; one entry for a product drawn to need.
    vial_tolerance : float
        Relative tolerance of the vial activity at calibration (0.10 = +-10 %); 0 if not stated.
    vial_volume : pint.Quantity
        Volume of liquid in which the spheres are supplied [volume].
    drawn_to_need : bool
        True when the prescribed activity is drawn from a stock vial (resin); False when a whole
        vial of a chosen size is administered (glass).
    spheres_per_vial : float
        Nominal number of spheres in the reference vial (the first of ``vial_activities``).
    dose_coefficient : pint.Quantity
        Manufacturer / model dose coefficient K [Gy kg/GBq]: D = K * A / M for complete decay and
        local deposition.
    usable_from, usable_until : pint.Quantity
        Window, relative to the calibration time, in which the product may be administered
        [time]; negative means before calibration.
    calibration : str
        The calibration convention (when the stated activity holds).
    sources : Mapping[str, str]
        Source of each figure, keyed by field name.
    methods : tuple of Method
        The prescription methods of the product's instructions for use.
    shunt_limit : float or None
        Lung shunt fraction above which the product is contraindicated (None: no such limit; the
        lung dose limits apply).
    """

    name: DeviceName
    product: str
    vial_activities: tuple
    vial_tolerance: float
    vial_volume: pint.Quantity
    drawn_to_need: bool
    spheres_per_vial: float
    dose_coefficient: pint.Quantity
    usable_from: pint.Quantity
    usable_until: pint.Quantity
    calibration: str
    sources: Mapping[str, str] = field(default_factory=dict)
    methods: tuple = (Method.MIRD, Method.PARTITION)
    shunt_limit: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "name", DeviceName.parse(self.name, "device"))
        object.__setattr__(self, "methods", tuple(Method.parse(m, f"{self.name}.methods") for m in self.methods))
        object.__setattr__(
            self,
            "vial_activities",
            tuple(quantity(a, "GBq", f"{self.name}.vial_activities", minimum=0, include_minimum=False) for a in self.vial_activities),
        )
        object.__setattr__(self, "vial_volume", quantity(self.vial_volume, "mL", f"{self.name}.vial_volume", minimum=0, include_minimum=False))
        object.__setattr__(
            self, "dose_coefficient", quantity(self.dose_coefficient, "Gy*kg/GBq", f"{self.name}.dose_coefficient", minimum=0, include_minimum=False)
        )
        object.__setattr__(self, "usable_from", quantity(self.usable_from, "h", f"{self.name}.usable_from"))
        object.__setattr__(self, "usable_until", quantity(self.usable_until, "h", f"{self.name}.usable_until"))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))

    @property
    def whole_vial(self) -> bool:
        """A whole vial of a chosen size is given (glass), not a volume drawn to need (resin)."""
        return not self.drawn_to_need

    @property
    def activity_per_sphere_at_calibration(self) -> pint.Quantity:
        """a_cal = A_vial / N_vial [Bq] for the reference vial."""
        return (self.vial_activities[0] / self.spheres_per_vial).to("Bq")


#: TheraSphere Y-90 glass microspheres (Boston Scientific, formerly BTG / MDS Nordion).
GLASS = Device(
    name=DeviceName.GLASS,
    product="TheraSphere",
    # Six standard dose sizes at calibration: TheraSphere package insert (USA, v12 and later).
    vial_activities=tuple(Q_(a, "GBq") for a in (3.0, 5.0, 7.0, 10.0, 15.0, 20.0)),
    vial_tolerance=0.0,
    # 0.6 mL sterile water in a 1.0 mL vee-bottom vial: TheraSphere package insert (USA, v12).
    vial_volume=Q_(0.6, "mL"),
    drawn_to_need=False,
    # 1.2 million spheres per 3 GBq at calibration, i.e. about 2500 Bq per sphere
    # (Kennedy et al. 2007 consensus; Sangro et al. review table; TheraSphere product literature).
    spheres_per_vial=1.2e6,
    # 50 Gy kg/GBq: TheraSphere package insert, dose formula D(Gy) = 50 * A(GBq) * (1 - F) / M(kg).
    dose_coefficient=Q_(50.0, "Gy*kg/GBq"),
    usable_from=Q_(0.0, "h"),
    # 12 days after calibration: TheraSphere package insert (expiry). Could not be re-read from the
    # primary IFU while writing this module; verify against the current IFU.
    usable_until=Q_(12.0, "day"),
    calibration="activity stated at 12:00 noon US Eastern Time on the calibration day (TheraSphere package insert)",
    sources={
        "vial_activities": "TheraSphere package insert (USA) v12: 3, 5, 7, 10, 15, 20 GBq",
        "vial_volume": "TheraSphere package insert (USA) v12: 0.6 mL water in a 1.0 mL vial",
        "spheres_per_vial": "1.2e6 spheres per 3 GBq (~2500 Bq/sphere): Kennedy et al., IJROBP 2007; Sangro et al. review table",
        "dose_coefficient": "TheraSphere package insert: D = 50 * A * (1 - F) / M",
        "usable_until": "TheraSphere package insert: expiry 12 days after calibration (not re-verified; check the current IFU)",
        "calibration": "TheraSphere package insert: 12:00 Eastern Time (not re-verified; check the current IFU)",
    },
)

#: SIR-Spheres Y-90 resin microspheres (Sirtex Medical).
RESIN = Device(
    name=DeviceName.RESIN,
    product="SIR-Spheres",
    # 3.0 GBq +-10 % at calibration date and time, in 5 mL water for injection: Sirtex product
    # information (sirtex.com, "About SIR-Spheres") and SIR-Spheres IFU.
    vial_activities=(Q_(3.0, "GBq"),),
    vial_tolerance=0.10,
    vial_volume=Q_(5.0, "mL"),
    drawn_to_need=True,
    # 44 (+-2.6) million spheres per vial: Sirtex product information. This is ~68 Bq per sphere at
    # calibration; older reviews quote 40-80 million per 3 GBq and "about 50 Bq per sphere".
    spheres_per_vial=44e6,
    # 49.67 Gy kg/GBq: the partition-model coefficient for resin (Ho et al., Eur J Nucl Med 1996;
    # SIR-Spheres IFU partition model). It differs from the ICRP-107 derived 49.77 Gy kg/GBq
    # (dosimetry.isotope.Y90.dose_coefficient) and the rounded 50 of the glass IFU.
    dose_coefficient=Q_(49.67, "Gy*kg/GBq"),
    # Window around calibration: the product is shipped to arrive before its calibration time and
    # may be used until 24 h after it (SIR-Spheres IFU). Not re-verified against the current IFU.
    usable_from=Q_(-24.0, "h"),
    usable_until=Q_(24.0, "h"),
    calibration="3.0 GBq +-10 % at the calibration date and time printed on the vial label (SIR-Spheres IFU)",
    sources={
        "vial_activities": "Sirtex product information / SIR-Spheres IFU: 3.0 GBq +-10 % at calibration",
        "vial_volume": "Sirtex product information: 5 mL water for injection",
        "spheres_per_vial": "Sirtex product information: 44 +-2.6 million per vial (reviews: 40-80 million, ~50 Bq/sphere)",
        "dose_coefficient": "Ho et al., Eur J Nucl Med 1996 (partition model); SIR-Spheres IFU: 49.67",
        "usable_window": "SIR-Spheres IFU: -24 h to +24 h around calibration (not re-verified; check the current IFU)",
        "methods": "SIR-Spheres IFU: BSA and empirical methods; partition model",
        "shunt_limit": "SIR-Spheres IFU: lung shunt above 20 % contraindicated",
    },
    methods=(Method.MIRD, Method.BSA, Method.EMPIRICAL, Method.PARTITION),
    shunt_limit=0.20,
)

@dataclass(frozen=True)
class VialCatalogue:
    """What can be ordered of a whole-vial product, and when its stated activity holds.

    Parameters
    ----------
    standard : tuple of pint.Quantity
        Standard vial activities at calibration [GBq].
    custom_min, custom_max, custom_step : pint.Quantity
        Range and step of custom doses at calibration [GBq] (ordered only when the patient file
        allows custom doses).
    calibration : str
        The calibration convention, as text for the report.
    sources : Mapping[str, str]
        Source of each entry.
    calibration_time_of_day : datetime.time
        Local time at which the stated activity holds on a calibration day.
    calibration_zone : str
        IANA time zone of that local time.
    """

    standard: tuple
    custom_min: pint.Quantity
    custom_max: pint.Quantity
    custom_step: pint.Quantity
    calibration: str
    sources: Mapping[str, str] = field(default_factory=dict)
    calibration_time_of_day: _dt.time = _dt.time(12, 0)
    calibration_zone: str = "America/New_York"

    def __post_init__(self):
        object.__setattr__(self, "standard", tuple(quantity(a, "GBq", "vial catalogue", minimum=0, include_minimum=False) for a in self.standard))
        for k in ("custom_min", "custom_max", "custom_step"):
            object.__setattr__(self, k, quantity(getattr(self, k), "GBq", f"vial catalogue {k}", minimum=0, include_minimum=False))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))


#: TheraSphere order catalogue. Verify against the current instructions for use and the
#: manufacturer's order form: the custom-dose range and step could not be confirmed from a primary
#: source while writing this module.
GLASS_CATALOGUE = VialCatalogue(
    standard=GLASS.vial_activities,
    custom_min=Q_(3.0, "GBq"),
    custom_max=Q_(20.0, "GBq"),
    custom_step=Q_(0.5, "GBq"),
    calibration=GLASS.calibration,
    # 12:00 US Eastern time (EST/EDT) of the calibration day: TheraSphere package insert (not re-verified)
    calibration_time_of_day=_dt.time(12, 0),
    calibration_zone="America/New_York",
    sources={
        "standard": GLASS.sources["vial_activities"],
        "custom": "TheraSphere product literature: custom doses between the standard sizes, 0.5 GBq steps "
        "(not confirmed from a primary source; verify against the current instructions for use)",
        "calibration": GLASS.sources["calibration"] + "; verify against the current instructions for use",
    },
)

#: All products by name.
DEVICES: Mapping[str, Device] = MappingProxyType({DeviceName.GLASS: GLASS, DeviceName.RESIN: RESIN})


def device(name, field: str = "treatment.device") -> Device:
    """The product called ``name``.

    Parameters
    ----------
    name : str or Device
        ``"glass"`` or ``"resin"`` (case-insensitive); a :class:`Device` is returned unchanged.
    field : str
        Field name for the error message.

    Raises
    ------
    InputError
        Unknown name.
    """
    if isinstance(name, Device):
        return name
    if isinstance(name, str) and name.strip().lower() in DEVICES:
        return DEVICES[name.strip().lower()]
    raise InputError(field, f"unknown device {name!r}; allowed: {', '.join(DEVICES)}", allowed=DeviceName.allowed())


def activity_per_sphere(dev, elapsed_since_calibration="0 h") -> pint.Quantity:
    """Mean activity carried by one sphere at a time after calibration.

    Parameters
    ----------
    dev : Device or str
        The product.
    elapsed_since_calibration : pint.Quantity or str
        Time from calibration [time]; negative before calibration.

    Returns
    -------
    pint.Quantity
        Activity per sphere [Bq], a_cal * exp(-ln 2 t / T1/2).
    """
    d = device(dev)
    t = quantity(elapsed_since_calibration, "h", "elapsed_since_calibration")
    return d.activity_per_sphere_at_calibration * decay_factor(t)


def sphere_count(dev, activity, elapsed_since_calibration="0 h") -> np.ndarray | float:
    """Number of spheres carrying ``activity`` at a time after calibration.

    Parameters
    ----------
    dev : Device or str
        The product.
    activity : pint.Quantity or str
        Activity of the spheres at that time [activity], >= 0.
    elapsed_since_calibration : pint.Quantity or str
        Time from calibration [time]; negative before calibration.

    Returns
    -------
    float or numpy.ndarray
        Number of spheres (dimensionless, not rounded).
    """
    a = quantity(activity, "GBq", "activity", minimum=0)
    n = (a / activity_per_sphere(dev, elapsed_since_calibration)).to("dimensionless").magnitude
    return float(n) if np.ndim(n) == 0 else n
