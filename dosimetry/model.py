"""The domain model: a patient file's validated inputs as frozen, unit-carrying dataclasses.

It sits below io (which parses the patient TOML file into it, :mod:`dosimetry.io.patient`) and below
workflow (which plans and assesses it), so that planning a patient needs no file reader.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pint

from .isotope import LIVER_DENSITY
from .planning.budget import UncertaintySettings
from .planning.clinical import Clinical, Extent
from .planning.settings import PlanSettings
from .schedule import DEFAULT_DELIVERY_TOLERANCE, ClinicHours
from .units import Q_
from .vocabulary import Calibration

__all__ = ["IMAGE", "SEXES", "PatientInfo", "Treatment", "Lung", "Liver", "Tumour", "Target", "VoxelSettings", "Imaging", "Delivery", "PatientFile"]

#: Written instead of a value in the patient file, the input is measured on the planning images
#: (``[imaging]``; see dosimetry.workflow.inputs).
IMAGE = "image"


#: PatientSex (0010,0040) enumerated values (DICOM PS3.3 C.7.1.1): female, male, other.
SEXES = ("F", "M", "O")


@dataclass(frozen=True)
class PatientInfo:
    """``[patient]``: identity and body size (height and weight are needed by the resin BSA method).

    ``birth_date`` (PatientBirthDate (0010,0030)), ``sex`` (PatientSex (0010,0040), one of
    :data:`SEXES`) and ``record_number`` (the medical record number) are shown on page 1; None is
    printed "not given", never invented. With ``[imaging]`` the first two are taken from the images'
    headers where the file does not give them (:mod:`dosimetry.workflow.identity`).
    """

    id: str
    height: pint.Quantity | None = None
    weight: pint.Quantity | None = None
    name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    record_number: str | None = None


@dataclass(frozen=True)
class Treatment:
    """``[treatment]``: device, prescription method, and the times that fix decay."""

    device: str
    method: str
    administration: dt.datetime | None = None
    calibration: dt.datetime | None = None
    vial_activity: pint.Quantity | None = None
    dose_coefficient: pint.Quantity | None = None
    vial: pint.Quantity | None = None  # glass: a vial already ordered (activity at calibration)


@dataclass(frozen=True)
class Lung:
    """``[lung]``: lung shunt fraction (0 <= LSF < 1), lung mass, dose from earlier treatments, and
    the clinic's own lung limits (default: the device's, see :mod:`dosimetry.planning.limits`)."""

    shunt_fraction: float
    mass: pint.Quantity = Q_(1.0, "kg")
    prior_dose: pint.Quantity = Q_(0.0, "Gy")
    limit: pint.Quantity | None = None
    cumulative_limit: pint.Quantity | None = None
    shunt_fraction_source: str = "typed"
    #: How the shunt was measured: "planar" or "spect" (None: not given). Planar counts and a
    #: shunt measured on the images say it themselves.
    shunt_method: str | None = None
    #: The Tc-99m MAA study the shunt (and the plan's ratios) come from: StudyDate (0008,0020) and
    #: the series (SeriesDescription (0008,103E), SeriesNumber (0020,0011)); from the activity
    #: image's header with [imaging].
    maa_study_date: dt.date | None = None
    maa_series: str | None = None


@dataclass(frozen=True)
class Liver:
    """``[liver]``: whole-liver volume (tumour included), every tumour in it, and tissue density."""

    volume: pint.Quantity | None = None
    density: pint.Quantity = LIVER_DENSITY
    tumour_volume: pint.Quantity | None = None


@dataclass(frozen=True)
class Tumour:
    """One tumour of the target: its volume and tumour-to-normal uptake ratio."""

    name: str
    volume: pint.Quantity
    tumour_to_normal: float | None = None


@dataclass(frozen=True)
class Target:
    """``[target]``: the perfused volume treated and what the prescription asks of it."""

    volume: pint.Quantity
    mass: pint.Quantity | None  # None when the volume is measured on the image (volume = "image")
    tumours: tuple[Tumour, ...] = ()
    dose: pint.Quantity | None = None
    normal_liver_dose: pint.Quantity | None = None
    tumour_dose: pint.Quantity | None = None
    residual_fraction: float = 0.0
    normal_liver_limit: pint.Quantity | None = None

    @property
    def tumour_volume(self) -> pint.Quantity:
        """Total tumour volume in the target [mL]."""
        return sum((t.volume for t in self.tumours), Q_(0.0, "mL")).to("mL")


@dataclass(frozen=True)
class VoxelSettings:
    """How to read the activity image and compute its dose: one object, built by the patient file's
    ``[imaging]`` table (:mod:`dosimetry.io.patient`) and by ``y90 dose``'s flags alike.

    Parameters
    ----------
    method : str
        ``"kernel"`` (dose-voxel kernel convolution) or ``"ldm"`` (local deposition).
    density_method : str
        ``"ct_curve"`` or ``"liver_nominal"``.
    lung_method : str
        ``"density_divided"`` or ``"density_scaled"``.
    calibration : Calibration
        Relative (scaled to the administered activity) or absolute (an image in Bq/mL).
    administered : pint.Quantity or None
        Administered activity [GBq] (relative calibration; default the plan's activity).
    allow_mismatch : bool
        Accept series of different patients / studies / frames of reference.
    labels : Path, dict or None
        Name table of a label map.
    activity_unit : str or None
        Unit of an NRRD / NIfTI activity image (never guessed).
    activity_time : "administration", datetime or None
        The time the values of an activity image in Bq/mL refer to.
    administration_time : datetime or None
        Administration time (decay correction of ``activity_time``).
    dose_format : str or None
        Format of the dose map written: ``"dicom"``, ``"nrrd"`` or ``"nifti"`` (default the image's).
    partial_volume : str or None
        Partial-volume correction shown beside the plain figures: ``"gtm"`` or None (none).
    fwhm : pint.Quantity or None
        The camera's FWHM [mm], required with ``partial_volume``.
    """

    method: str = "kernel"
    density_method: str = "ct_curve"
    lung_method: str = "density_divided"
    calibration: Calibration = Calibration.RELATIVE
    administered: pint.Quantity | None = None
    allow_mismatch: bool = False
    labels: Path | dict | None = None
    activity_unit: str | None = None
    activity_time: object = None  # "administration" or a timezone-aware datetime
    administration_time: object = None
    dose_format: str | None = None
    partial_volume: str | None = None
    fwhm: pint.Quantity | None = None

    def __post_init__(self):
        object.__setattr__(self, "calibration", Calibration.parse(self.calibration, "imaging.calibration"))

    def reading(self) -> dict:
        """Keyword arguments of :func:`dosimetry.workflow.load_imaging` beyond paths, ROIs and ``allow_mismatch``."""
        out = {"labels": self.labels, "activity_unit": self.activity_unit, "activity_time": self.activity_time,
               "administration_time": self.administration_time}
        return {k: v for k, v in out.items() if v is not None}

    def dosimetry(self, *, administered=None, residual_fraction=0.0) -> dict:
        """Keyword arguments of :func:`dosimetry.workflow.voxel_dose` (``administered`` when none is set here)."""
        return {"administered": self.administered if self.administered is not None else administered, "method": self.method,
                "density_method": self.density_method, "lung_method": self.lung_method, "calibration": self.calibration,
                "residual_fraction": residual_fraction, "pv_correction": self.partial_volume, "fwhm": self.fwhm}


@dataclass(frozen=True)
class Imaging:
    """``[imaging]``: the image files, the ROI names, and how to read them and compute the dose.

    The options of :class:`VoxelSettings` are also read as attributes (``imaging.method``, ...).
    """

    activity: Path
    ct: Path | None
    rtstruct: Path
    liver_roi: str | tuple[str, ...]  # several: the liver in parts (a label map: parenchyma + tumours)
    tumour_rois: tuple[str, ...] = ()
    lung_rois: tuple[str, ...] = ()
    perfused_roi: str | None = None
    settings: VoxelSettings = VoxelSettings()

    def __getattr__(self, name):  # imaging.method, imaging.calibration, ...: the settings' own
        if name in _VOXEL_FIELDS:
            return getattr(self.settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def segmentation(self) -> Path:
        """The segmentation file (RTSTRUCT, DICOM SEG, .seg.nrrd or label map); ``rtstruct`` is its old name."""
        return self.rtstruct

    def reading(self) -> dict:
        """Keyword arguments of :func:`dosimetry.workflow.load_imaging` beyond paths and ROIs."""
        return self.settings.reading()


_VOXEL_FIELDS = frozenset(f.name for f in fields(VoxelSettings))


@dataclass(frozen=True)
class Delivery:
    """``[delivery]``: what was given, as recorded after the treatment (``y90 verify``).

    Parameters
    ----------
    administered : pint.Quantity or None
        Activity administered [GBq] (the activity in the vial at the administration, before the
        residual), as recorded; the relative calibration of the post-treatment image needs it.
    residual_fraction : float or None
        Measured fraction of ``administered`` left in the vial and delivery set, [0, 0.5].
    administration : datetime or None
        Administration date-time (decay correction of a non-DICOM post-treatment image in Bq/mL).
    """

    administered: pint.Quantity | None = None
    residual_fraction: float | None = None
    administration: dt.datetime | None = None


@dataclass(frozen=True)
class PatientFile:
    """A whole validated patient file."""

    patient: PatientInfo
    treatment: Treatment
    lung: Lung
    liver: Liver
    target: Target
    imaging: Imaging | None = None
    clinical: Clinical = Clinical()
    path: Path | None = None
    #: ``[delivery]``: what was given (post-treatment verification); None when the file has none.
    delivery: Delivery | None = None
    sha256: str | None = None
    raw: dict = field(default_factory=dict, repr=False)
    #: Values accepted outside their usual range (see :data:`PLAUSIBLE`), to be shown with the plan.
    warnings: tuple[str, ...] = ()
    clinic: ClinicHours = ClinicHours()
    delivery_tolerance: float = DEFAULT_DELIVERY_TOLERANCE
    custom_doses: bool = False
    #: ``[uncertainty]``: the budget, draws, seed and warning bound of the uncertainty analysis.
    uncertainty: UncertaintySettings = field(default_factory=UncertaintySettings)
    #: ``[report] prepared_by``: who prepared the plan (page 1); None: not given.
    prepared_by: str | None = None

    @property
    def scenario(self) -> Clinical:
        """The clinical scenario; the extent is whole liver when the target is the whole liver."""
        c = self.clinical
        if c.extent is None and self.liver.volume is not None:
            if abs(float((self.target.volume / self.liver.volume).to("dimensionless").magnitude) - 1.0) <= 0.01:
                c = replace(c, extent=Extent.WHOLE_LIVER)
        return c

    def plan_settings(self, device=None) -> PlanSettings:
        """What every planning method shares, from this file (``device`` overrides ``treatment.device``)."""
        return PlanSettings(
            device=device or self.treatment.device,
            liver_tumour=self.liver.tumour_volume,
            clinical=self.scenario,
            density=self.liver.density,
            residual_fraction=self.target.residual_fraction,
            dose_coefficient=self.treatment.dose_coefficient,
            lung_mass=self.lung.mass,
            prior_lung_dose=self.lung.prior_dose,
            lung_limit=self.lung.limit,
            cumulative_lung_limit=self.lung.cumulative_limit,
            normal_liver_limit=self.target.normal_liver_limit,
        )

    @property
    def overrides(self) -> dict:
        """The clinic's own limits, keyed as :func:`dosimetry.planning.limits.applicable` takes them."""
        pairs = (("lung_dose", self.lung.limit), ("cumulative_lung_dose", self.lung.cumulative_limit), ("normal_liver", self.target.normal_liver_limit))
        return {k: v for k, v in pairs if v is not None}
