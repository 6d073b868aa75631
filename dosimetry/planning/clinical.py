"""The clinical scenario a plan is checked in: indication, extent, liver function.

Dose thresholds of the EANM 2022 guideline belong to a scenario (device, indication, extent of the
treatment, liver function); :mod:`dosimetry.planning.limits` picks the rows that apply to a
:class:`Clinical`. The patient file's ``[clinical]`` table (docs/patient-file.md) gives it.

Nothing here is guessed: an indication that is not stated gives no tumour threshold, and a liver
function that is not stated applies the guideline's base limit with a note naming the key that
would change it (see :func:`dosimetry.planning.limits.applicable`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pint

from ..errors import InputError
from ..units import Q_, quantity, ureg

__all__ = ["Indication", "Extent", "Clinical", "clinical", "BILIRUBIN_MOLAR_MASS"]

#: Molar mass of bilirubin (C33H36N4O6), 584.66 g/mol (PubChem CID 5280352), to read a bilirubin
#: given in umol/L (1 mg/dL = 17.1 umol/L).
BILIRUBIN_MOLAR_MASS = Q_(584.66, "g/mol")


class Indication(str, enum.Enum):
    """The disease treated (EANM 2022 guideline: thresholds differ by indication)."""

    HCC = "hcc"
    ICC = "icc"
    COLORECTAL = "colorectal"
    NEUROENDOCRINE = "neuroendocrine"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _INDICATION_LABEL[self]


_INDICATION_LABEL = {
    Indication.HCC: "hepatocellular carcinoma",
    Indication.ICC: "intrahepatic cholangiocarcinoma",
    Indication.COLORECTAL: "colorectal liver metastases",
    Indication.NEUROENDOCRINE: "neuroendocrine liver metastases",
    Indication.OTHER: "other indication",
}


class Extent(str, enum.Enum):
    """How much of the liver one treatment perfuses."""

    WHOLE_LIVER = "whole_liver"
    BILOBAR = "bilobar"
    LOBAR = "lobar"
    SEGMENTAL = "segmental"

    @property
    def label(self) -> str:
        return {"whole_liver": "whole liver", "bilobar": "bilobar", "lobar": "lobar (unilobar)", "segmental": "segmental (radiation segmentectomy)"}[self.value]


@dataclass(frozen=True)
class Clinical:
    """The clinical scenario of a plan.

    Parameters
    ----------
    indication : Indication or None
        The disease; None when not stated (then no tumour threshold applies).
    extent : Extent or None
        Whole liver, bilobar, lobar or segmental; None when not stated.
    bilirubin : pint.Quantity or None
        Serum total bilirubin [mg/dL]; None when not stated.
    compromised_liver : bool or None
        Pretreated or otherwise compromised liver (cirrhosis, prior chemotherapy or
        radioembolization); None when not stated.
    corrected_tumour_doses : bool
        The clinic's opt-in (issue 25): the tumour-dose thresholds (efficacy) are checked on the
        partial-volume corrected tumour doses when a correction was made. Default False: the EANM
        2022 thresholds were derived from uncorrected means. Safety checks never use corrected figures.
    """

    indication: Indication | None = None
    extent: Extent | None = None
    bilirubin: pint.Quantity | None = None
    compromised_liver: bool | None = None
    corrected_tumour_doses: bool = False

    def __post_init__(self):
        # built directly (not through clinical()): the bilirubin is read as the factory reads it, so
        # "34.3 umol/L" is 2.005 mg/dL and a bad value is an InputError naming clinical.bilirubin
        if self.bilirubin is not None:
            object.__setattr__(self, "bilirubin", _bilirubin(self.bilirubin))

    def to_json(self) -> dict:
        return {
            "indication": None if self.indication is None else self.indication.value,
            "extent": None if self.extent is None else self.extent.value,
            "bilirubin": None if self.bilirubin is None else {"value": float(self.bilirubin.to("mg/dL").magnitude), "unit": "mg/dL"},
            "compromised_liver": self.compromised_liver,
            "corrected_tumour_doses": self.corrected_tumour_doses,
        }

    def describe(self) -> str:
        """e.g. ``"hepatocellular carcinoma, lobar (unilobar), bilirubin 0.8 mg/dL"``."""
        parts = [self.indication.label if self.indication else "indication not stated", self.extent.label if self.extent else "extent not stated"]
        if self.bilirubin is not None:
            parts.append(f"bilirubin {self.bilirubin.to('mg/dL').magnitude:.3g} mg/dL")
        if self.compromised_liver is not None:
            parts.append("pretreated or compromised liver" if self.compromised_liver else "liver not compromised")
        if self.corrected_tumour_doses:
            parts.append("tumour doses judged on partial-volume corrected figures (clinic's choice)")
        return ", ".join(parts)


def _enum(cls, value, field: str):
    if value is None or isinstance(value, cls):
        return value
    if not isinstance(value, str):
        raise InputError(field, f"expected one of {', '.join(m.value for m in cls)}, got {value!r}")
    text = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return cls(text)
    except ValueError:
        raise InputError(field, f"{value!r} is not allowed; choose one of {', '.join(m.value for m in cls)}") from None


def _bilirubin(value) -> pint.Quantity | None:
    if value is None:
        return None
    field = "clinical.bilirubin"
    if isinstance(value, str):
        q: object
        try:
            q = ureg.Quantity(value.strip())
        except Exception:
            q = None
        if isinstance(q, pint.Quantity) and q.dimensionality == ureg.Quantity(1, "umol/L").dimensionality:
            value = quantity(value, "umol/L", field, minimum=0, maximum=1000)
    if isinstance(value, pint.Quantity) and value.dimensionality == ureg.Quantity(1, "umol/L").dimensionality:
        value = (value * BILIRUBIN_MOLAR_MASS).to("mg/dL")
    # 0-60 mg/dL: physiological values are below about 1.2 mg/dL; above 60 mg/dL is implausible.
    return quantity(value, "mg/dL", field, minimum=0, maximum=60)


def clinical(indication=None, extent=None, bilirubin=None, compromised_liver=None, corrected_tumour_doses=False) -> Clinical:
    """A validated :class:`Clinical` from plain values (as in the patient file's ``[clinical]``).

    Parameters
    ----------
    indication : str or Indication, optional
        ``"hcc"``, ``"icc"``, ``"colorectal"``, ``"neuroendocrine"`` or ``"other"``.
    extent : str or Extent, optional
        ``"whole_liver"``, ``"bilobar"``, ``"lobar"`` or ``"segmental"``.
    bilirubin : pint.Quantity or str, optional
        Serum total bilirubin, mg/dL or umol/L (e.g. ``"1.5 mg/dL"``, ``"26 umol/L"``).
    compromised_liver : bool, optional
        Pretreated or compromised liver.
    corrected_tumour_doses : bool, optional
        Judge the tumour-dose thresholds on partial-volume corrected figures (default False).

    Raises
    ------
    InputError
        A value outside the allowed set or range, naming ``clinical.<key>``.
    """
    if compromised_liver is not None and not isinstance(compromised_liver, bool):
        raise InputError("clinical.compromised_liver", f"expected true or false, got {compromised_liver!r}")
    if not isinstance(corrected_tumour_doses, bool):
        raise InputError("clinical.corrected_tumour_doses", f"expected true or false, got {corrected_tumour_doses!r}")
    return Clinical(
        corrected_tumour_doses=corrected_tumour_doses,
        indication=_enum(Indication, indication, "clinical.indication"),
        extent=_enum(Extent, extent, "clinical.extent"),
        bilirubin=_bilirubin(bilirubin),
        compromised_liver=compromised_liver,
    )
