"""The patient TOML file -> validated, unit-carrying input dataclasses.

The format is documented in ``docs/patient-file.md``. Every value is checked here, at the edge:
a wrong unit, a value out of range, a missing required key or an unknown key (a typo would
otherwise be silently ignored) raises :class:`~dosimetry.errors.InputError` naming the field as
it is written in the file (e.g. ``lung.shunt_fraction``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pint

from ..errors import InputError
from ..isotope import LIVER_DENSITY
from ..planning.clinical import Clinical, clinical as _clinical
from ..schedule import DEFAULT_DELIVERY_TOLERANCE, ClinicHours
from ..units import Q_, fraction, quantity

__all__ = [
    "PatientInfo",
    "Treatment",
    "Lung",
    "Liver",
    "Tumour",
    "Target",
    "Imaging",
    "PatientFile",
    "load_patient",
    "parse_patient",
    "parse_datetime",
    "DEVICES",
    "METHODS",
]

DEVICES = ("glass", "resin")
METHODS = ("mird", "bsa", "empirical", "partition")
IMAGING_METHODS = ("ldm", "kernel")
CALIBRATIONS = ("relative", "absolute")


@dataclass(frozen=True)
class PatientInfo:
    """``[patient]``: identity and body size (height and weight are needed by the resin BSA method)."""

    id: str
    height: pint.Quantity | None = None
    weight: pint.Quantity | None = None
    name: str | None = None


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
    mass: pint.Quantity
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
class Imaging:
    """``[imaging]``: DICOM inputs for voxel dosimetry (paths resolved against the patient file)."""

    activity: Path
    ct: Path | None
    rtstruct: Path
    liver_roi: str
    tumour_rois: tuple[str, ...] = ()
    lung_rois: tuple[str, ...] = ()
    method: str = "kernel"
    calibration: str = "relative"
    administered: pint.Quantity | None = None
    allow_mismatch: bool = False


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
    sha256: str | None = None
    raw: dict = field(default_factory=dict, repr=False)
    clinic: ClinicHours = ClinicHours()
    delivery_tolerance: float = DEFAULT_DELIVERY_TOLERANCE
    custom_doses: bool = False


# --------------------------------------------------------------------------------------------
def _table(doc: dict, name: str, allowed: set[str], required: bool = True) -> dict:
    if name not in doc:
        if required:
            raise InputError(name, f"missing table [{name}]")
        return {}
    t = doc[name]
    if not isinstance(t, dict):
        raise InputError(name, f"expected a table [{name}]")
    unknown = sorted(set(t) - allowed)
    if unknown:
        raise InputError(f"{name}.{unknown[0]}", f"unknown key; allowed keys in [{name}]: {', '.join(sorted(allowed))}")
    return t


def _require(t: dict, table: str, key: str, why: str = "") -> Any:
    if key not in t:
        raise InputError(f"{table}.{key}", "missing required key" + (f" ({why})" if why else ""))
    return t[key]


def _choice(value: Any, fieldname: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise InputError(fieldname, f"{value!r} is not allowed; choose one of {', '.join(allowed)}")
    return value.strip().lower()


def parse_datetime(value: Any, fieldname: str) -> dt.datetime:
    """A timezone-aware date-time from TOML or ISO 8601 text; refuses naive times, naming ``fieldname``."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise InputError(fieldname, f"cannot read {value!r} as a date-time; write e.g. 2026-11-25T10:00:00-05:00") from exc
    if not isinstance(value, dt.datetime):
        raise InputError(fieldname, f"expected a date-time with UTC offset, e.g. 2026-11-25T10:00:00-05:00; got {value!r}")
    if value.tzinfo is None:
        raise InputError(fieldname, f"{value.isoformat()} has no UTC offset; write e.g. 2026-11-25T10:00:00-05:00")
    return value


def _ratio(value: Any, fieldname: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(fieldname, f"expected a number > 0 (tumour-to-normal uptake ratio), got {value!r}")
    if not (value > 0) or value != value or value == float("inf"):
        raise InputError(fieldname, f"{value!r} is out of range; allowed (0, inf)")
    return float(value)


def _str_list(value: Any, fieldname: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(fieldname, "expected an ROI name or a list of ROI names")
    return tuple(v.strip() for v in value)


def _path(value: Any, fieldname: str, base: Path, kind: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(fieldname, f"expected a path to a {kind}")
    p = Path(value)
    p = p if p.is_absolute() else base / p
    if kind == "directory" and not p.is_dir():
        raise InputError(fieldname, f"{value!r} is not an existing directory (resolved to {p})")
    if kind == "file" and not p.is_file():
        raise InputError(fieldname, f"{value!r} is not an existing file (resolved to {p})")
    return p


_POSITIVE = dict(minimum=0, include_minimum=False)


def parse_patient(doc: dict, base_dir: Path | str = ".") -> PatientFile:
    """Validate a parsed patient document.

    Parameters
    ----------
    doc : dict
        The TOML document as parsed by :mod:`tomllib`.
    base_dir : path-like
        Directory against which relative imaging paths are resolved.

    Returns
    -------
    PatientFile
        Validated inputs with units.

    Raises
    ------
    InputError
        Naming the first offending field.
    """
    base = Path(base_dir)
    top_unknown = sorted(set(doc) - {"patient", "treatment", "clinical", "lung", "liver", "target", "imaging", "clinic"})
    if top_unknown:
        raise InputError(top_unknown[0], "unknown table; allowed: patient, treatment, clinical, lung, liver, target, imaging, clinic")

    p = _table(doc, "patient", {"id", "name", "height", "weight"})
    pid = _require(p, "patient", "id")
    if not isinstance(pid, str) or not pid.strip():
        raise InputError("patient.id", "expected a non-empty text identifier")
    patient = PatientInfo(
        id=pid.strip(),
        name=p.get("name"),
        height=quantity(p["height"], "cm", "patient.height", minimum=30, maximum=250) if "height" in p else None,
        weight=quantity(p["weight"], "kg", "patient.weight", minimum=2, maximum=350) if "weight" in p else None,
    )

    if isinstance(doc.get("treatment"), dict) and "scenario" in doc["treatment"]:
        raise InputError("treatment.scenario", 'replaced by the [clinical] table: e.g. extent = "segmental" for a radiation segmentectomy (docs/patient-file.md)')
    t = _table(doc, "treatment", {"device", "method", "administration", "calibration", "vial_activity", "dose_coefficient", "vial", "site", "vessel"})
    device = _choice(_require(t, "treatment", "device"), "treatment.device", DEVICES)
    method = _choice(_require(t, "treatment", "method"), "treatment.method", METHODS)
    if device == "glass" and method in ("bsa", "empirical"):
        raise InputError("treatment.method", f"{method!r} is a resin (SIR-Spheres) method; glass allows mird or partition")
    treatment = Treatment(
        device=device,
        method=method,
        administration=parse_datetime(t["administration"], "treatment.administration") if "administration" in t else None,
        calibration=parse_datetime(t["calibration"], "treatment.calibration") if "calibration" in t else None,
        vial_activity=quantity(t["vial_activity"], "GBq", "treatment.vial_activity", **_POSITIVE) if "vial_activity" in t else None,
        dose_coefficient=(
            quantity(t["dose_coefficient"], "Gy*kg/GBq", "treatment.dose_coefficient", minimum=40, maximum=60)
            if "dose_coefficient" in t
            else None
        ),
        vial=quantity(t["vial"], "GBq", "treatment.vial", **_POSITIVE) if "vial" in t else None,
    )
    for key in ("site", "vessel"):  # written-directive text, shown on page 1 as given
        if key in t and not (isinstance(t[key], str) and t[key].strip()):
            raise InputError(f"treatment.{key}", "expected a non-empty text, e.g. site = \"right lobe (segments 5-8)\", vessel = \"right hepatic artery\"")
    if treatment.vial is not None and device != "glass":
        raise InputError("treatment.vial", "an ordered whole vial is a glass (TheraSphere) key; resin gives treatment.vial_activity")
    cl = _table(doc, "clinical", {"indication", "extent", "bilirubin", "compromised_liver"}, required=False)
    clinical = _clinical(**cl)

    lt = _table(doc, "lung", {"shunt_fraction", "mass", "prior_dose", "limit", "cumulative_limit"})
    lung = Lung(
        shunt_fraction=fraction(_require(lt, "lung", "shunt_fraction"), "lung.shunt_fraction"),
        mass=quantity(lt.get("mass", "1 kg"), "kg", "lung.mass", minimum=0.1, maximum=5),
        prior_dose=quantity(lt.get("prior_dose", "0 Gy"), "Gy", "lung.prior_dose", minimum=0, maximum=1000),
        limit=quantity(lt["limit"], "Gy", "lung.limit", minimum=0, maximum=100, include_minimum=False) if "limit" in lt else None,
        cumulative_limit=(
            quantity(lt["cumulative_limit"], "Gy", "lung.cumulative_limit", minimum=0, maximum=200, include_minimum=False)
            if "cumulative_limit" in lt
            else None
        ),
    )

    lv = _table(doc, "liver", {"volume", "density", "tumour_volume"}, required=method in ("bsa", "empirical"))
    liver = Liver(
        volume=quantity(lv["volume"], "mL", "liver.volume", minimum=100, maximum=10000) if "volume" in lv else None,
        density=quantity(lv.get("density", LIVER_DENSITY), "g/mL", "liver.density", minimum=0.5, maximum=2.0),
        tumour_volume=quantity(lv["tumour_volume"], "mL", "liver.tumour_volume", minimum=0, maximum=10000) if "tumour_volume" in lv else None,
    )
    if liver.tumour_volume is not None and liver.volume is None:
        raise InputError("liver.tumour_volume", "needs liver.volume (the whole liver the tumours are in)")

    tg = _table(
        doc,
        "target",
        {"volume", "mass", "tumour_volume", "tumour_to_normal", "tumours", "dose", "normal_liver_dose", "tumour_dose", "residual_fraction", "normal_liver_limit"},
    )
    if "volume" in tg and "mass" in tg:
        raise InputError("target.mass", "give target.volume or target.mass, not both")
    if "volume" in tg:
        volume = quantity(tg["volume"], "mL", "target.volume", minimum=1, maximum=10000)
        mass = (volume * liver.density).to("kg")
    elif "mass" in tg:
        mass = quantity(tg["mass"], "kg", "target.mass", minimum=0.001, maximum=10)
        volume = (mass / liver.density).to("mL")
    else:
        raise InputError("target.volume", "missing required key (the perfused volume treated; or give target.mass)")

    if "tumours" in tg and ("tumour_volume" in tg or "tumour_to_normal" in tg):
        raise InputError("target.tumours", "give [[target.tumours]] or target.tumour_volume / tumour_to_normal, not both")
    tumours: list[Tumour] = []
    if "tumours" in tg:
        if not isinstance(tg["tumours"], list) or not tg["tumours"]:
            raise InputError("target.tumours", "expected one or more [[target.tumours]] tables")
        for n, item in enumerate(tg["tumours"], 1):
            fname = f"target.tumours[{n}]"
            if not isinstance(item, dict):
                raise InputError(fname, "expected a table with volume and tumour_to_normal")
            unknown = sorted(set(item) - {"name", "volume", "tumour_to_normal"})
            if unknown:
                raise InputError(f"{fname}.{unknown[0]}", "unknown key; allowed: name, volume, tumour_to_normal")
            tumours.append(
                Tumour(
                    name=str(item.get("name", f"Tumour {n}")),
                    volume=quantity(_require(item, fname, "volume"), "mL", f"{fname}.volume", **_POSITIVE),
                    tumour_to_normal=_ratio(item["tumour_to_normal"], f"{fname}.tumour_to_normal") if "tumour_to_normal" in item else None,
                )
            )
    elif "tumour_volume" in tg:
        tumours.append(
            Tumour(
                name="Tumour",
                volume=quantity(tg["tumour_volume"], "mL", "target.tumour_volume", minimum=0),
                tumour_to_normal=_ratio(tg["tumour_to_normal"], "target.tumour_to_normal") if "tumour_to_normal" in tg else None,
            )
        )
    elif "tumour_to_normal" in tg:
        raise InputError("target.tumour_volume", "missing (target.tumour_to_normal is given without a tumour volume)")
    total_tumour = sum((x.volume for x in tumours), Q_(0.0, "mL"))
    if total_tumour >= volume:
        raise InputError("target.tumour_volume", f"{total_tumour:.1f~P} of tumour is not smaller than the target volume {volume:.1f~P}")
    if liver.volume is not None and volume > liver.volume * 1.0001:
        raise InputError("target.volume", f"{volume:.1f~P} is larger than the whole liver ({liver.volume:.1f~P})")

    target = Target(
        volume=volume,
        mass=mass,
        tumours=tuple(tumours),
        dose=quantity(tg["dose"], "Gy", "target.dose", minimum=0, maximum=2000, include_minimum=False) if "dose" in tg else None,
        normal_liver_dose=(
            quantity(tg["normal_liver_dose"], "Gy", "target.normal_liver_dose", minimum=0, maximum=2000, include_minimum=False)
            if "normal_liver_dose" in tg
            else None
        ),
        tumour_dose=(
            quantity(tg["tumour_dose"], "Gy", "target.tumour_dose", minimum=0, maximum=5000, include_minimum=False)
            if "tumour_dose" in tg
            else None
        ),
        residual_fraction=fraction(tg.get("residual_fraction", 0.0), "target.residual_fraction"),
        normal_liver_limit=(
            quantity(tg["normal_liver_limit"], "Gy", "target.normal_liver_limit", minimum=0, maximum=500, include_minimum=False)
            if "normal_liver_limit" in tg
            else None
        ),
    )

    # Method-specific requirements.
    if method == "mird" and target.dose is None:
        raise InputError("target.dose", "missing required key (the mird method prescribes a mean dose to the perfused volume)")
    if method in ("bsa", "empirical"):
        if liver.volume is None:
            raise InputError("liver.volume", f"missing required key (the {method} method needs the whole-liver volume)")
        if not tumours:
            raise InputError("target.tumour_volume", f"missing required key (the {method} method needs the tumour volume)")
        if method == "bsa":
            if patient.height is None:
                raise InputError("patient.height", "missing required key (the bsa method needs height and weight)")
            if patient.weight is None:
                raise InputError("patient.weight", "missing required key (the bsa method needs height and weight)")
    if method == "partition":
        if not tumours:
            raise InputError("target.tumour_volume", "missing required key (the partition model needs tumour volume and tumour_to_normal)")
        for n, tu in enumerate(tumours, 1):
            if tu.tumour_to_normal is None:
                fname = "target.tumour_to_normal" if "tumour_volume" in tg else f"target.tumours[{n}].tumour_to_normal"
                raise InputError(fname, "missing required key (the partition model needs each tumour's uptake ratio)")
        if target.normal_liver_dose is not None and target.tumour_dose is not None:
            raise InputError("target.tumour_dose", "give normal_liver_dose or tumour_dose (or neither, for the largest safe activity), not both")
    if method != "partition" and (target.normal_liver_dose is not None or target.tumour_dose is not None):
        key = "normal_liver_dose" if target.normal_liver_dose is not None else "tumour_dose"
        raise InputError(f"target.{key}", f"only the partition method takes target.{key}; {method} uses target.dose")

    imaging = _imaging(doc, base) if "imaging" in doc else None
    return PatientFile(patient, treatment, lung, liver, target, imaging, clinical=clinical, raw=doc, **_clinic(doc))


def _clinic(doc: dict) -> dict:
    """``[clinic]``: administration days and hours, delivered-activity tolerance, custom glass doses."""
    c = _table(doc, "clinic", {"days", "hours", "delivery_tolerance", "custom_doses"}, required=False)
    out = {}
    hours = c.get("hours", "07:00-18:00")
    try:
        opens, closes = (dt.time.fromisoformat(x.strip()) for x in str(hours).split("-"))
    except ValueError as exc:
        raise InputError("clinic.hours", f'expected "HH:MM-HH:MM" local time, e.g. "07:00-18:00"; got {hours!r}') from exc
    days = c.get("days", ["mon", "tue", "wed", "thu", "fri"])
    if not isinstance(days, list) or not all(isinstance(d, str) for d in days):
        raise InputError("clinic.days", 'expected a list such as ["mon", "tue", "wed", "thu", "fri"]')
    out["clinic"] = ClinicHours(tuple(d.strip().lower()[:3] for d in days), opens, closes)
    if "delivery_tolerance" in c:
        tol = float(fraction(c["delivery_tolerance"], "clinic.delivery_tolerance", include_zero=False))
        if tol > 0.5:
            raise InputError("clinic.delivery_tolerance", f"expected a fraction in (0, 0.5] (e.g. 0.10 or \"10 %\"), got {tol:g}")
        out["delivery_tolerance"] = tol
    if "custom_doses" in c:
        if not isinstance(c["custom_doses"], bool):
            raise InputError("clinic.custom_doses", "expected true or false")
        out["custom_doses"] = c["custom_doses"]
    return out


def _imaging(doc: dict, base: Path) -> Imaging:
    im = _table(doc, "imaging", {"activity", "ct", "rtstruct", "rois", "method", "calibration", "administered", "allow_mismatch"})
    rois = _require(im, "imaging", "rois")
    if not isinstance(rois, dict):
        raise InputError("imaging.rois", "expected a table [imaging.rois] with liver, tumours, lungs")
    unknown = sorted(set(rois) - {"liver", "tumours", "lungs"})
    if unknown:
        raise InputError(f"imaging.rois.{unknown[0]}", "unknown key; allowed: liver, tumours, lungs")
    liver_roi = _require(rois, "imaging.rois", "liver")
    if not isinstance(liver_roi, str) or not liver_roi.strip():
        raise InputError("imaging.rois.liver", "expected the name of the liver ROI in the RTSTRUCT")
    allow = im.get("allow_mismatch", False)
    if not isinstance(allow, bool):
        raise InputError("imaging.allow_mismatch", "expected true or false")
    return Imaging(
        activity=_path(_require(im, "imaging", "activity"), "imaging.activity", base, "directory"),
        ct=_path(im["ct"], "imaging.ct", base, "directory") if "ct" in im else None,
        rtstruct=_path(_require(im, "imaging", "rtstruct"), "imaging.rtstruct", base, "file"),
        liver_roi=liver_roi.strip(),
        tumour_rois=_str_list(rois.get("tumours", []), "imaging.rois.tumours") if rois.get("tumours") else (),
        lung_rois=_str_list(rois.get("lungs", []), "imaging.rois.lungs") if rois.get("lungs") else (),
        method=_choice(im.get("method", "kernel"), "imaging.method", IMAGING_METHODS),
        calibration=_choice(im.get("calibration", "relative"), "imaging.calibration", CALIBRATIONS),
        administered=quantity(im["administered"], "GBq", "imaging.administered", **_POSITIVE) if "administered" in im else None,
        allow_mismatch=allow,
    )


def load_patient(path: str | Path) -> PatientFile:
    """Read and validate a patient TOML file.

    Parameters
    ----------
    path : path-like
        The patient file.

    Returns
    -------
    PatientFile
        Validated inputs, with the file's path and SHA-256 for the audit trail.

    Raises
    ------
    InputError
        Unreadable file, TOML syntax error, or any invalid field.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError("patient file", f"cannot read {p}: {exc.strerror or exc}") from exc
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError("patient file", f"{p} is not valid TOML: {exc}") from exc
    pf = parse_patient(doc, p.parent)
    return replace(pf, path=p, sha256=hashlib.sha256(data).hexdigest())
