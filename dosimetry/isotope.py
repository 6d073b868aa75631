"""Y-90 physical data, each constant with its source.

The complete-decay dose coefficient K (absorbed dose times mass per unit administered activity,
for local deposition of all beta energy) is derived here from the half-life and the mean beta
energy, K = (T1/2 / ln 2) * E_mean. With the defaults below it is 49.77 Gy kg/GBq. Device
conventions (50 Gy kg/GBq in the TheraSphere instructions for use, 49.67 in partition-model
literature) live in :mod:`dosimetry.devices`; every model states the coefficient it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pint

from .units import Q_, quantity

__all__ = ["Radionuclide", "Y90", "LIVER_DENSITY", "Y90_MAX_RANGE_TISSUE", "Y90_MEAN_RANGE_TISSUE"]


@dataclass(frozen=True)
class Radionuclide:
    """A pure beta emitter described by its half-life and mean beta energy per decay.

    Parameters
    ----------
    name : str
        Nuclide name, e.g. ``"Y-90"``.
    half_life : pint.Quantity
        Physical half-life [time].
    mean_beta_energy : pint.Quantity
        Mean kinetic energy of the emitted beta particles per decay [energy].
    source : str
        Where the numbers come from.
    """

    name: str
    half_life: pint.Quantity
    mean_beta_energy: pint.Quantity
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "half_life", quantity(self.half_life, "h", "half_life", minimum=0, include_minimum=False))
        object.__setattr__(
            self, "mean_beta_energy", quantity(self.mean_beta_energy, "MeV", "mean_beta_energy", minimum=0, include_minimum=False)
        )

    @property
    def decay_constant(self) -> pint.Quantity:
        """lambda = ln 2 / T1/2 [1/h]."""
        return (math.log(2) / self.half_life).to("1/h")

    @property
    def mean_life(self) -> pint.Quantity:
        """tau = T1/2 / ln 2 [h]: the number of decays per unit activity for complete decay."""
        return (self.half_life / math.log(2)).to("h")

    @property
    def dose_coefficient(self) -> pint.Quantity:
        """Complete-decay energy released per unit initial activity, K = tau * E_mean [Gy kg/GBq].

        Absorbed dose for local deposition in mass M of activity A0 decaying completely is
        D = K * A0 / M (MIRD primer, Loevinger, Budinger and Watson 1991).
        """
        return (self.mean_life * self.mean_beta_energy).to("Gy * kg / GBq")

    def with_half_life(self, half_life) -> "Radionuclide":
        """Copy with another half-life (e.g. the 64.2 h some tools use)."""
        return Radionuclide(self.name, half_life, self.mean_beta_energy, self.source + "; half-life overridden")


#: Y-90 with the package defaults.
#: Half-life 64.1 h (2.67 d): ICRP Publication 107 (2008); TheraSphere and SIR-Spheres
#: instructions for use; EANM 2022 guideline (Weber et al.) writes 2.67 d. Overridable.
#: Mean beta energy 0.9331 MeV per decay: ICRP Publication 107 as quoted in the team design
#: brief; ENSDF (NNDC) gives 0.9324 MeV for the 99.99 % ground-state branch (0.07 % apart).
Y90 = Radionuclide(
    name="Y-90",
    half_life=Q_(64.1, "h"),
    mean_beta_energy=Q_(0.9331, "MeV"),
    source="ICRP Publication 107 (2008)",
)

#: Conventional liver (soft tissue) density, 1.03 g/mL (TheraSphere IFU; EANM 2022 guideline).
LIVER_DENSITY = Q_(1.03, "g/mL")
#: Maximum and mean range of Y-90 betas in soft tissue, 11 mm and 2.5 mm
#: (TheraSphere and SIR-Spheres instructions for use).
Y90_MAX_RANGE_TISSUE = Q_(11.0, "mm")
Y90_MEAN_RANGE_TISSUE = Q_(2.5, "mm")
