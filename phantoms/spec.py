"""Parameters of a phantom patient: tumours, tissue values, grids, and their validation."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pint

from dosimetry.errors import InputError
from dosimetry.isotope import LIVER_DENSITY, Y90
from dosimetry.units import Q_, fraction, quantity

from .anatomy import Ellipsoid

if TYPE_CHECKING:  # phantoms.post imports this module
    from .post import PostTreatment

__all__ = [
    "Tumour",
    "PhantomSpec",
    "DEFAULT_TUMOURS",
    "PRESET_TUMOURS",
    "DEFAULT_HU",
    "CONTRAST_HU",
    "DEFAULT_DENSITY",
    "make_spec",
    "RADIONUCLIDES",
    "TC99M",
]

@dataclass(frozen=True)
class Tumour:
    """A tumour: an axis-aligned ellipsoid inside the liver with its uptake ratio.

    Parameters
    ----------
    centre_mm : tuple of 3 float
        Centre (x, y, z) in patient coordinates (LPS) [mm].
    semi_axes_mm : tuple of 3 float
        Semi-axes along x, y, z [mm]; a sphere has three equal values.
    ratio : float
        Tumour-to-normal-liver activity concentration ratio r (> 0).
    """

    centre_mm: tuple
    semi_axes_mm: tuple
    ratio: float

    @property
    def shape(self) -> Ellipsoid:
        return Ellipsoid(self.centre_mm, self.semi_axes_mm)


#: Four tumours that fit the default liver (centre (-55, -5, 0) mm, semi-axes 98 x 80 x 50 mm).
PRESET_TUMOURS = (
    Tumour((-85.0, -15.0, 5.0), (20.0, 20.0, 20.0), 4.0),  # sphere, 33.51 mL
    Tumour((-15.0, 20.0, -10.0), (15.0, 12.0, 10.0), 6.0),  # ellipsoid, 7.540 mL
    Tumour((-115.0, 25.0, -5.0), (12.0, 12.0, 12.0), 3.0),  # sphere, 7.238 mL
    Tumour((-40.0, -45.0, 8.0), (18.0, 16.0, 14.0), 5.0),  # ellipsoid, 16.89 mL
)
#: Tumours used when none are given: the first two presets.
DEFAULT_TUMOURS = PRESET_TUMOURS[:2]

#: Default CT numbers [HU]. Air -1000 and water 0 by definition of the Hounsfield scale. Soft
#: tissue 40, unenhanced liver 60, hypodense tumour 40, aerated lung -740 (0.26 g/mL, the truth density, on the air-water line of dosimetry.voxel.HU_DENSITY_CURVE) and a bone value of 700
#: are round typical clinical values chosen for this phantom (assumptions, not taken from one
#: publication); every one can be overridden.
DEFAULT_HU = {"air": -1000, "body": 40, "liver": 60, "tumour": 40, "lung": -740, "bone": 700}

#: CT numbers of a contrast-enhanced CT (``contrast=True``): portal-venous liver at 120 HU, within
#: the 100-150 HU of enhanced liver quoted in issue #11 (a typical clinical value, an assumption);
#: the true densities (DEFAULT_DENSITY) do not change, as iodine adds ~0.1 % density per mg I/mL.
CONTRAST_HU = {"liver": 120}

#: Densities used for the true doses [g/mL]: liver and tumour 1.03 (convention of the glass IFU and
#: the EANM 2022 guideline, dosimetry.isotope.LIVER_DENSITY); inflated lung 0.26 (ICRU Report 46,
#: 1992, "lung, inflated" 0.26 g/cm^3).
DEFAULT_DENSITY = {"liver": LIVER_DENSITY, "tumour": LIVER_DENSITY, "lung": Q_(0.26, "g/mL")}

_SIZES = {
    # CT: (columns = rows, pixel spacing mm, slices, slice spacing mm); centred on (0, 0, 80) mm
    "small": (128, 3.5, 64, 5.0),
    "ct": (512, 0.875, 300, 1.0),
}
_EMISSION = {
    # (matrix, voxel size mm, slices): SPECT 4.42 mm (128 matrix, typical LEHR/MEGP recon), PET 4 mm
    "NM": (128, 4.42, 80),
    "PT": (128, 4.0, 88),
}
#: Default resolution FWHM [mm]: 15 mm for Y-90 bremsstrahlung SPECT (poor, collimator-limited
#: resolution) and 6 mm for Y-90 PET. Assumed round values for a test phantom, not taken from a
#: publication; pass fwhm_mm to model a given camera.
_DEFAULT_FWHM = {"NM": 15.0, "PT": 6.0}
_GRID_CENTRE_Z = 80.0


@dataclass(frozen=True)
class ImagedNuclide:
    """What the emission image shows: the radionuclide and how it is written to DICOM.

    Attributes
    ----------
    name : str
        ``"Y-90"`` or ``"Tc-99m"``.
    half_life : pint.Quantity
        Physical half-life [h].
    code : tuple of 3 str
        RadionuclideCodeSequence (CodeValue, CodingSchemeDesignator, CodeMeaning).
    radiopharmaceutical : str
        Radiopharmaceutical (0018,0031) text.
    window_kev : tuple of 2 float
        Energy window lower and upper limits [keV] (NM).
    window_name, collimator : str
        EnergyWindowName and CollimatorGridName (NM).
    positron_fraction : float or None
        RadionuclidePositronFraction, None when not written.
    """

    name: str
    half_life: pint.Quantity
    code: tuple
    radiopharmaceutical: str
    window_kev: tuple
    window_name: str
    collimator: str
    positron_fraction: float | None


#: Tc-99m: half-life 6.0067 h = 21624.12 s (ENSDF, NNDC NuDat; DDEP/LNHB), gamma 140.511 keV;
#: a 20 % photopeak window centred on 140.5 keV (126.45-154.55 keV) and low-energy
#: high-resolution (LEHR) collimators are the usual MAA SPECT settings (EANM 2022 guideline;
#: Dezarn et al. 2011, AAPM TG-144). Coded SRT C-163A8 "^99m^Technetium" (DICOM PS3.16 CID 18,
#: Isotopes in Radiopharmaceuticals).
TC99M = ImagedNuclide(
    name="Tc-99m",
    half_life=Q_(21624.12, "s").to("h"),
    code=("C-163A8", "SRT", "^99m^Technetium"),
    radiopharmaceutical="Tc-99m MAA (macroaggregated albumin)",
    window_kev=(126.45, 154.55),
    window_name="TC99M",
    collimator="LEHR",
    positron_fraction=None,
)
#: Y-90 (bremsstrahlung SPECT and PET): half-life from dosimetry.isotope.Y90; code SCT 14691008
#: "^90^Yttrium" (PS3.16 CID 4020); a wide 100-250 keV bremsstrahlung window with medium-energy
#: collimators; positron fraction 31.86e-6 (Selwyn et al., Med Phys 2007).
Y90_IMAGE = ImagedNuclide(
    name="Y-90",
    half_life=Y90.half_life.to("h"),
    code=("14691008", "SCT", "^90^Yttrium"),
    radiopharmaceutical="Y-90 microspheres",
    window_kev=(100.0, 250.0),
    window_name="BREMS",
    collimator="MEGP",
    positron_fraction=3.186e-5,
)
RADIONUCLIDES = {"Y-90": Y90_IMAGE, "Tc-99m": TC99M}
#: Tc-99m MAA defaults: 150 MBq injected (the IFUs and TG-144 give about 4-5 mCi, 148-185 MBq),
#: SPECT 1 h later, 10 mm FWHM (LEHR SPECT; an assumed round value), 100 000 counts per MBq
#: present at the start over the whole acquisition (an assumed value that sets the count level).
_MAA_DEFAULTS: dict[str, Any] = {"tracer_activity": Q_(150.0, "MBq"), "acquisition_delay": Q_(1.0, "h"), "fwhm_mm": 10.0,
                 "sensitivity": Q_(100000.0, "cts/MBq")}
_Y90_DEFAULTS = {"acquisition_delay": Q_(20.0, "h"), "sensitivity": Q_(18000.0, "cts/MBq")}


@dataclass(frozen=True)
class PhantomSpec:
    """Validated parameters of a phantom patient (see :func:`make_spec`)."""

    seed: int
    modality: str
    size: str
    tumours: tuple
    lung_shunt_fraction: float
    administered: pint.Quantity
    acquisition_delay: pint.Quantity
    acquisition_duration: pint.Quantity
    fwhm_mm: float
    noise: bool
    sensitivity: pint.Quantity
    bone: bool
    patient_id: str
    patient_name: str
    administration_datetime: _dt.datetime
    hu: Mapping
    density: Mapping
    emission_grid: str = "native"
    radionuclide: str = "Y-90"
    tracer_activity: pint.Quantity | None = None
    post: PostTreatment | None = None  # phantoms.post.PostTreatment for a post-treatment study, else None

    @property
    def nuclide(self) -> ImagedNuclide:
        """The imaged radionuclide's data."""
        return RADIONUCLIDES[self.radionuclide]

    @property
    def delivered(self) -> pint.Quantity:
        """Y-90 activity in the patient at administration [GBq]: ``administered`` for a planning
        phantom, ``administered x (1 - residual_fraction)`` for a post-treatment study."""
        if self.post is None:
            return self.administered
        return self.administered * (1.0 - self.post.residual_fraction)

    def anatomy_key(self) -> str:
        """Digest of everything that defines the patient and its CT (not the emission image)."""
        d = {
            "seed": self.seed,
            "size": self.size,
            "tumours": [[list(t.centre_mm), list(t.semi_axes_mm), t.ratio] for t in self.tumours],
            "lsf": self.lung_shunt_fraction,
            "administered_GBq": float(self.administered.to("GBq").magnitude),
            "bone": self.bone,
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "administration": self.administration_datetime.isoformat(),
            "hu": {k: float(v) for k, v in sorted(self.hu.items())},
        }
        if self.post is not None:  # a post-treatment study: its own study and frame of reference
            d["post"] = {**self.post.key(), "modality": self.modality}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def emission_key(self) -> str:
        """Digest of the anatomy plus the emission-image parameters."""
        d = {
            "anatomy": self.anatomy_key(),
            "modality": self.modality,
            "emission_grid": self.emission_grid,
            "delay_h": float(self.acquisition_delay.to("h").magnitude),
            "duration_min": float(self.acquisition_duration.to("min").magnitude),
            "fwhm_mm": self.fwhm_mm,
            "noise": self.noise,
            "sensitivity": float(self.sensitivity.to("cts/MBq").magnitude),
        }
        if self.radionuclide != "Y-90":  # keeps the digests (and UIDs) of Y-90 phantoms unchanged
            d["radionuclide"] = self.radionuclide
            assert self.tracer_activity is not None  # make_spec sets it for every tracer other than Y-90
            d["tracer_activity_MBq"] = float(self.tracer_activity.to("MBq").magnitude)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def _tumour(item, i) -> Tumour:
    field = f"tumours[{i}]"
    if isinstance(item, Tumour):
        t = item
    elif isinstance(item, Mapping):
        unknown = set(item) - {"centre_mm", "center_mm", "semi_axes_mm", "radius_mm", "ratio"}
        if unknown:
            raise InputError(field, f"unknown keys {sorted(unknown)}; allowed centre_mm, semi_axes_mm or radius_mm, ratio")
        centre = item.get("centre_mm", item.get("center_mm"))
        if centre is None or "ratio" not in item:
            raise InputError(field, "needs centre_mm (x, y, z in mm), semi_axes_mm or radius_mm, and ratio")
        if "radius_mm" in item:
            r = float(item["radius_mm"])
            axes = (r, r, r)
        elif "semi_axes_mm" in item:
            axes = tuple(item["semi_axes_mm"])
        else:
            raise InputError(field, "needs semi_axes_mm (a, b, c in mm) or radius_mm")
        t = Tumour(tuple(centre), axes, item["ratio"])
    else:
        raise InputError(field, f"expected a Tumour or a mapping, got {type(item).__name__}")
    try:
        shape = t.shape
    except ValueError as exc:
        raise InputError(field, str(exc)) from exc
    ratio = t.ratio
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio) or not (0 < ratio <= 1000):
        raise InputError(f"{field}.ratio", f"{ratio!r} is out of range; allowed (0, 1000] (tumour-to-normal ratio)")
    return Tumour(shape.centre_mm, shape.semi_axes_mm, float(ratio))


def make_spec(
    *,
    seed: int = 0,
    modality: str = "NM",
    size: str = "small",
    tumours=None,
    lung_shunt_fraction=0.08,
    administered=Q_(2.0, "GBq"),
    acquisition_delay=None,
    acquisition_duration=Q_(20.0, "min"),
    fwhm_mm: float | None = None,
    noise: bool = False,
    sensitivity=None,
    bone: bool = True,
    patient_id: str = "PHANTOM-001",
    patient_name: str = "Phantom^Patient",
    administration_datetime: _dt.datetime = _dt.datetime(2026, 1, 15, 10, 0, 0),
    hu: Mapping | None = None,
    density: Mapping | None = None,
    emission_grid: str = "native",
    radionuclide: str = "Y-90",
    tracer_activity=None,
    contrast: bool = False,
) -> PhantomSpec:
    """Validate the phantom parameters (the keyword arguments of :func:`make_patient`).

    Parameters
    ----------
    seed : int
        Seed (>= 0) for the Poisson noise and the UIDs.
    modality : {"NM", "PT"}
        Emission image: multi-frame SPECT in counts, or PET slices in Bq/mL.
    size : {"small", "ct"}
        CT grid: 128 x 128 x 64 at 3.5 x 3.5 x 5 mm (default) or 512 x 512 x 300 at
        0.875 x 0.875 x 1 mm (benchmarks).
    tumours : int or sequence of Tumour or mapping, optional
        Number of preset tumours (0-4), or explicit tumours (mappings with ``centre_mm``,
        ``semi_axes_mm`` or ``radius_mm`` [mm] and ``ratio``); default the first two presets.
    lung_shunt_fraction : float or str
        Fraction of the administered activity in the lungs, [0, 1) (``0.08`` or ``"8 %"``).
    administered : pint.Quantity or str
        Y-90 activity in the patient at administration [GBq], (0, 100] GBq. For a Tc-99m MAA
        phantom: the planned Y-90 activity, distributed like the MAA, that the truth's region
        activities and doses refer to (the predictive ground truth).
    acquisition_delay : pint.Quantity or str
        Emission acquisition start minus administration [h], [0, 1000] h; default 20 h (Y-90),
        1 h (Tc-99m).
    acquisition_duration : pint.Quantity or str
        Acquisition length [min], (0, 600] min.
    fwhm_mm : float, optional
        Gaussian resolution of the emission image [mm], >= 0 (0: no blur); default 15 (Y-90 NM),
        6 (PT), 10 (Tc-99m NM).
    noise : bool
        Add seeded Poisson noise to the emission image.
    sensitivity : pint.Quantity or str
        Counts recorded per MBq present at acquisition start over the whole acquisition
        [cts/MBq], > 0 (default 18000 cts/MBq = 15 cps/MBq for 20 min; an assumed value that
        only sets the count level and the Poisson noise); Tc-99m default 100 000 cts/MBq.
    bone : bool
        Include the spine.
    patient_id, patient_name : str
        DICOM PatientID (LO, <= 64 chars) and PatientName (PN).
    administration_datetime : datetime.datetime
        Administration time (RadiopharmaceuticalStartDateTime); naive, local time.
    hu : mapping, optional
        Overrides of :data:`DEFAULT_HU` [HU], each in [-1024, 3000] (applied after ``contrast``).
    density : mapping, optional
        Overrides of :data:`DEFAULT_DENSITY` (keys liver, tumour, lung) [g/mL].
    emission_grid : {"native", "ct"}
        ``"native"``: the modality's own grid (NM 128 x 128 x 80 at 4.42 mm, PT 128 x 128 x 88 at
        4 mm); ``"ct"``: exactly the CT grid (only with ``size="small"``), so that masks
        rasterized from the RTSTRUCT on the CT planes coincide with the emission voxels.
    radionuclide : {"Y-90", "Tc-99m"}
        What the emission image shows: Y-90 (bremsstrahlung SPECT or PET, for verification) or a
        Tc-99m MAA SPECT (``modality="NM"`` only, for predictive planning).
    tracer_activity : pint.Quantity or str, optional
        Tc-99m MAA activity injected [MBq], (0, 1000] MBq; default 150 MBq. Only with Tc-99m.
    contrast : bool
        Contrast-enhanced CT: :data:`CONTRAST_HU` (liver 120 HU); activity and true doses unchanged.

    Returns
    -------
    PhantomSpec

    Raises
    ------
    InputError
        Naming the offending parameter and its allowed range.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", f"{seed!r}: expected an integer >= 0")
    modality = str(modality).upper()
    if modality not in _EMISSION:
        raise InputError("modality", f"{modality!r}: allowed 'NM' or 'PT'")
    if size not in _SIZES:
        raise InputError("size", f"{size!r}: allowed 'small' or 'ct'")
    tum: tuple[Tumour, ...]
    if tumours is None:
        tum = DEFAULT_TUMOURS
    elif isinstance(tumours, (int, np.integer)) and not isinstance(tumours, bool):
        if not 0 <= tumours <= len(PRESET_TUMOURS):
            raise InputError("tumours", f"{tumours}: allowed 0..{len(PRESET_TUMOURS)} preset tumours, or a list of tumours")
        tum = PRESET_TUMOURS[: int(tumours)]
    elif isinstance(tumours, Sequence) and not isinstance(tumours, str):
        tum = tuple(_tumour(t, i) for i, t in enumerate(tumours))
    else:
        raise InputError("tumours", f"expected a number of preset tumours or a list of tumours, got {type(tumours).__name__}")
    if radionuclide not in RADIONUCLIDES:
        raise InputError("radionuclide", f"{radionuclide!r}: allowed {sorted(RADIONUCLIDES)}")
    maa = radionuclide == "Tc-99m"
    if maa and modality != "NM":
        raise InputError("modality", f"{modality!r}: a Tc-99m MAA image is a SPECT; allowed 'NM'")
    if tracer_activity is not None and not maa:
        raise InputError("tracer_activity", "only for a Tc-99m MAA phantom (radionuclide='Tc-99m')")
    defaults = _MAA_DEFAULTS if maa else _Y90_DEFAULTS
    if acquisition_delay is None:
        acquisition_delay = defaults["acquisition_delay"]
    if sensitivity is None:
        sensitivity = defaults["sensitivity"]
    if maa:
        tracer = quantity(defaults["tracer_activity"] if tracer_activity is None else tracer_activity, "MBq",
                          "tracer_activity", minimum=0, maximum=1000, include_minimum=False)
    else:
        tracer = None
    lsf = fraction(lung_shunt_fraction, "lung_shunt_fraction")
    adm = quantity(administered, "GBq", "administered", minimum=0, maximum=100, include_minimum=False)
    delay = quantity(acquisition_delay, "h", "acquisition_delay", minimum=0, maximum=1000)
    dur = quantity(acquisition_duration, "min", "acquisition_duration", minimum=0, maximum=600, include_minimum=False)
    sens = quantity(sensitivity, "cts/MBq", "sensitivity", minimum=0, include_minimum=False)
    if fwhm_mm is None:
        fwhm_mm = _MAA_DEFAULTS["fwhm_mm"] if maa else _DEFAULT_FWHM[modality]
    if isinstance(fwhm_mm, bool) or not isinstance(fwhm_mm, (int, float)) or not (0 <= fwhm_mm <= 50):
        raise InputError("fwhm_mm", f"{fwhm_mm!r} is out of range; allowed [0, 50] mm")
    if not isinstance(patient_id, str) or not patient_id or len(patient_id) > 64 or "\\" in patient_id:
        raise InputError("patient_id", "expected a non-empty string of at most 64 characters without backslash")
    if not isinstance(patient_name, str) or len(patient_name) > 64 or "\\" in patient_name:
        raise InputError("patient_name", "expected a string of at most 64 characters without backslash")
    if not isinstance(administration_datetime, _dt.datetime) or administration_datetime.tzinfo is not None:
        raise InputError("administration_datetime", "expected a naive datetime.datetime (local time)")
    if emission_grid not in ("native", "ct"):
        raise InputError("emission_grid", f"{emission_grid!r}: allowed 'native' or 'ct'")
    if emission_grid == "ct" and size != "small":
        raise InputError("emission_grid", "'ct' is only available with size 'small' (a 512 x 512 x 300 emission image is too large)")
    if not isinstance(contrast, bool):
        raise InputError("contrast", f"{contrast!r}: expected true or false")
    hu_all = dict(DEFAULT_HU)
    if contrast:
        hu_all.update(CONTRAST_HU)
    for k, v in (hu or {}).items():
        if k not in DEFAULT_HU:
            raise InputError(f"hu.{k}", f"unknown tissue; allowed {sorted(DEFAULT_HU)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (-1024 <= v <= 3000):
            raise InputError(f"hu.{k}", f"{v!r} is out of range; allowed [-1024, 3000] HU")
        hu_all[k] = int(round(v))
    dens = dict(DEFAULT_DENSITY)
    for k, v in (density or {}).items():
        if k not in DEFAULT_DENSITY:
            raise InputError(f"density.{k}", f"unknown tissue; allowed {sorted(DEFAULT_DENSITY)}")
        dens[k] = quantity(v, "g/mL", f"density.{k}", minimum=0.01, maximum=5)
    return PhantomSpec(
        seed=int(seed), modality=modality, size=size, tumours=tuple(tum), lung_shunt_fraction=float(lsf),
        administered=adm, acquisition_delay=delay, acquisition_duration=dur, fwhm_mm=float(fwhm_mm),
        noise=bool(noise), sensitivity=sens, bone=bool(bone), patient_id=patient_id, patient_name=patient_name,
        administration_datetime=administration_datetime, hu=hu_all, density=dens, emission_grid=emission_grid,
        radionuclide=radionuclide, tracer_activity=tracer,
    )
