"""The patient TOML file -> the validated, unit-carrying domain model (:mod:`dosimetry.model`).

The format is documented in ``docs/patient-file.md``. Every value is checked here, at the edge:
a wrong unit, a value out of range, a missing required key or an unknown key (a typo would
otherwise be silently ignored) raises :class:`~dosimetry.errors.InputError` naming the field as
it is written in the file (e.g. ``lung.shunt_fraction``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pint

from ..decay import MAX_CALIBRATION_GAP, check_time_gap
from ..devices import DEVICES as _DEVICES
from ..devices import device as _device
from ..vocabulary import Calibration, DeviceName, Method
from ..errors import InputError
from ..isotope import LIVER_DENSITY
from ..model import IMAGE, SEXES, Delivery, Imaging, Liver, Lung, PatientFile, PatientInfo, Target, Treatment, Tumour, VoxelSettings
from ..planning.budget import UncertaintySettings, uncertainty_settings
from ..planning.clinical import clinical as _clinical
from ..errors import OutOfRangeError
from ..schedule import ClinicHours, check_utc_offset
from ..units import Q_, fraction
from .lung_record import read_prior_lung_dose
from .reading import read_bytes
from ..ranges import COMMAND_RANGES, PLAUSIBLE, VIAL_ACTIVITY, Plausible, check_number, plausible_fraction, plausible_quantity, range_text as _range_text

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
    "IMAGE",
    "Plausible",
    "PLAUSIBLE",
    "VIAL_ACTIVITY",
    "DATE_RANGE",
    "MAX_CALIBRATION_GAP",
    "COMMAND_RANGES",
    "plausible_quantity",
    "parse_clinic_days",
    "parse_clinic_hours",
    "check_calibration_gap",
    "parse_date",
    "parse_sex",
    "check_birth_date",
    "SHUNT_METHODS",
]

DEVICES = tuple(DeviceName)
METHODS = tuple(Method)
IMAGING_METHODS = ("ldm", "kernel")
CALIBRATIONS = tuple(Calibration)


# Plausible ranges: one table for every entry point, in dosimetry/ranges.py (re-exported here).

#: Dates accepted anywhere (administration, calibration, command-line times).
DATE_RANGE = (dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2100, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc))



def _plausible_quantity(value: Any, key: str, fieldname: str, warns: list | None, r: Plausible | None = None) -> pint.Quantity:
    """A single quantity checked against its plausible range (``PLAUSIBLE[key]`` unless ``r``)."""
    return plausible_quantity(value, r or PLAUSIBLE[key], fieldname, warns)


def _plausible_fraction(value: Any, key: str, fieldname: str, warns: list | None) -> float:
    """A single fraction (number or percentage) inside ``PLAUSIBLE[key]``."""
    return float(plausible_fraction(value, key, fieldname, warns, scalar=True))


def _check_number(x: float, key: str, fieldname: str, warns: list | None) -> float:
    return check_number(x, key, fieldname, warns)


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
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(fieldname, f"{value.isoformat()} has no UTC offset; write e.g. 2026-11-25T10:00:00-05:00")
    check_utc_offset(value.utcoffset(), fieldname)
    try:
        inside = DATE_RANGE[0] <= value <= DATE_RANGE[1]
    except (OverflowError, ValueError):  # year 1 or 9999 with an offset leaves datetime's range
        inside = False
    if not inside:
        allowed = f"{DATE_RANGE[0].year}-01-01 to {DATE_RANGE[1].year}-12-31"
        raise OutOfRangeError(fieldname, f"{value.isoformat()} is outside the plausible dates {allowed}", allowed=allowed)
    return value


def _ratio(value: Any, fieldname: str, warns: list | None = None) -> float:
    """The tumour-to-normal uptake ratio: a plain number in its plausible range."""
    allowed = _range_text(PLAUSIBLE["target.tumour_to_normal"])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(fieldname, f"expected a number in {allowed} (tumour-to-normal uptake ratio), got {str(value)[:40]!r}", allowed=allowed)
    try:
        x = float(value)
    except OverflowError:  # tomllib integers are unbounded
        x = float("inf")
    if not math.isfinite(x):
        raise InputError(fieldname, f"{str(value)[:40]} is not a finite number; allowed {allowed}", allowed=allowed)
    return _check_number(x, "target.tumour_to_normal", fieldname, warns)


def _str_list(value: Any, fieldname: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(fieldname, "expected an ROI name or a list of ROI names")
    return tuple(v.strip() for v in value)


def _path(value: Any, fieldname: str, base: Path, kind: str) -> Path:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise InputError(fieldname, f"expected a path to a {kind}")
    p = Path(value)
    p = p if p.is_absolute() else base / p
    try:
        ok = p.is_dir() if kind == "directory" else p.is_file() if kind == "file" else p.exists()
    except (OSError, ValueError):  # name too long, unreadable parent ...
        ok = False
    if not ok:
        raise InputError(fieldname, f"{value[:80]!r} is not an existing {kind} (resolved to {str(p)[:200]})")
    return p


def _text(value: Any, fieldname: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or not value.isprintable():
        raise InputError(fieldname, f"expected a non-empty line of text (at most {limit} printable characters)")
    return value.strip()


#: Largest patient file read (a guard against a wrong file given by mistake).
MAX_FILE_BYTES = 1_000_000


def _image_or(value: Any, parse):
    """``"image"`` (measured on the planning images, dosimetry.workflow.inputs) or the parsed value."""
    return IMAGE if isinstance(value, str) and value.strip().lower() == IMAGE else parse(value)


_PLANAR_KEYS = ("lung_anterior", "lung_posterior", "liver_anterior", "liver_posterior")


def _shunt_fraction(lt: dict, warns: list) -> tuple:
    """(LSF or "image", source): typed, measured on the SPECT/CT ("image"), or planar counts ("planar")."""
    value = _require(lt, "lung", "shunt_fraction")
    planar = lt.get("planar_counts")
    if isinstance(value, str) and value.strip().lower() == "planar":
        if not isinstance(planar, dict):
            raise InputError("lung.planar_counts", 'lung.shunt_fraction = "planar" needs a [lung.planar_counts] table with ' + ", ".join(_PLANAR_KEYS))
        unknown = sorted(set(planar) - set(_PLANAR_KEYS))
        if unknown:
            raise InputError(f"lung.planar_counts.{unknown[0]}", "unknown key; allowed: " + ", ".join(_PLANAR_KEYS))
        missing = [k for k in _PLANAR_KEYS if k not in planar]
        if missing:
            raise InputError(f"lung.planar_counts.{missing[0]}", "missing required key (counts of the ROI on that view, e.g. \"41200 cts\")")
        from ..planning.lung import planar_lung_shunt_fraction

        lsf = planar_lung_shunt_fraction(*(planar[k] for k in _PLANAR_KEYS))
        return _plausible_fraction(float(lsf.to("dimensionless").magnitude), "lung.shunt_fraction", "lung.shunt_fraction", warns), "planar"
    if planar is not None:
        raise InputError("lung.planar_counts", 'given, but lung.shunt_fraction is not "planar"; write shunt_fraction = "planar" to use the counts')
    return _image_or(value, lambda v: _plausible_fraction(v, "lung.shunt_fraction", "lung.shunt_fraction", warns)), "typed"


def _check_volumes(volume, tumours, liver) -> None:
    """Tumours smaller than the target, target not larger than the liver (where all are typed)."""
    typed = [x.volume for x in tumours if x.volume != IMAGE]
    if volume != IMAGE and len(typed) == len(tumours):
        total_tumour = sum(typed, Q_(0.0, "mL"))
        if total_tumour >= volume:
            raise InputError("target.tumour_volume", f"{total_tumour:.1f~P} of tumour is not smaller than the target volume {volume:.1f~P}")
    if volume != IMAGE and liver.volume is not None and liver.volume != IMAGE and volume > liver.volume * 1.0001:
        raise InputError("target.volume", f"{volume:.1f~P} is larger than the whole liver ({liver.volume:.1f~P})")


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
    top_unknown = sorted(set(doc) - {"patient", "treatment", "clinical", "lung", "liver", "target", "imaging", "clinic", "uncertainty", "delivery", "report"})
    if top_unknown:
        raise InputError(top_unknown[0], "unknown table; allowed: patient, treatment, clinical, lung, liver, target, imaging, clinic, uncertainty, delivery, report")

    warns: list[str] = []
    patient = _patient_info(doc, warns)
    treatment = _treatment(doc, warns)
    method = treatment.method
    cl = _table(doc, "clinical", {"indication", "extent", "bilirubin", "compromised_liver", "corrected_tumour_doses"}, required=False)
    clinical = _clinical(**cl)

    lung = _lung(doc, warns, base, patient.id, treatment.administration)
    liver = _liver(doc, method, warns)
    target, tumours, tg = _target(doc, liver, warns)
    _method_requirements(method, patient, liver, target, tumours, tg)
    imaging = _imaging(doc, base, warns) if "imaging" in doc else None
    uncertainty = _uncertainty(doc)
    delivery = _delivery(doc, warns) if "delivery" in doc else None
    check_birth_date(patient.birth_date, lung.maa_study_date, "lung.maa_study_date")
    if treatment.administration is not None:
        check_birth_date(patient.birth_date, treatment.administration.date(), "treatment.administration")
    rt = _table(doc, "report", {"prepared_by"}, required=False)
    prepared_by = _text(rt["prepared_by"], "report.prepared_by", 100) if "prepared_by" in rt else None
    return PatientFile(patient, treatment, lung, liver, target, imaging, clinical=clinical, raw=doc, warnings=tuple(warns), uncertainty=uncertainty,
                       delivery=delivery, prepared_by=prepared_by, **_clinic(doc))


#: Earliest date of birth accepted (the oldest living people were born after it).
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def parse_date(value: Any, fieldname: str, earliest: dt.date, latest: dt.date) -> dt.date:
    """A calendar date: a TOML date (``1956-03-14``, no time) or ``"YYYY-MM-DD"`` text, in [earliest, latest]."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            raise InputError(fieldname, f"cannot read {value[:40]!r} as a date; write e.g. 1956-03-14") from exc
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InputError(fieldname, f"expected a date without a time, e.g. 1956-03-14; got {str(value)[:40]!r}")
    allowed = f"{earliest.isoformat()} to {latest.isoformat()}"
    if not earliest <= value <= latest:
        raise OutOfRangeError(fieldname, f"{value.isoformat()} is outside {allowed}", allowed=allowed)
    return value


def parse_sex(value: Any, fieldname: str) -> str:
    """PatientSex (0010,0040): one of the DICOM enumerated values F, M, O (any case)."""
    if not isinstance(value, str) or value.strip().upper() not in SEXES:
        raise InputError(fieldname, f"{str(value)[:20]!r} is not allowed; choose one of {', '.join(SEXES)} (DICOM PatientSex: female, male, other)",
                         allowed=", ".join(SEXES))
    return value.strip().upper()


def check_birth_date(birth: dt.date | None, later: dt.date | None, later_field: str) -> None:
    """Refuse a date of birth after a study or administration date of the same patient."""
    if birth is not None and later is not None and birth > later:
        raise InputError("patient.birth_date", f"{birth.isoformat()} is after {later_field} ({later.isoformat()}); "
                         "a date of birth precedes every study of the patient")


def _delivery(doc: dict, warns: list) -> Delivery:
    """``[delivery]``: administered activity, measured residual fraction, administration time (``y90 verify``);
    the plausible ranges of ``imaging.administered`` and ``target.residual_fraction``."""
    d = _table(doc, "delivery", {"administered", "residual_fraction", "administration"})
    return Delivery(
        administered=_plausible_quantity(d["administered"], "imaging.administered", "delivery.administered", warns) if "administered" in d else None,
        residual_fraction=_plausible_fraction(d["residual_fraction"], "target.residual_fraction", "delivery.residual_fraction", warns) if "residual_fraction" in d else None,
        administration=parse_datetime(d["administration"], "delivery.administration") if "administration" in d else None,
    )


def _uncertainty(doc: dict):
    """``[uncertainty]``: the clinic's budget, draws, seed and warning bound (read strictly by
    :func:`dosimetry.planning.budget.uncertainty_settings`, as ``--uncertainty`` is)."""
    if "uncertainty" not in doc:
        return UncertaintySettings()
    if not isinstance(doc["uncertainty"], dict):
        raise InputError("uncertainty", "expected a table [uncertainty]")
    return uncertainty_settings(doc["uncertainty"], "uncertainty")


def _patient_info(doc: dict, warns: list) -> PatientInfo:
    """``[patient]``."""
    p = _table(doc, "patient", {"id", "name", "height", "weight", "birth_date", "sex", "record_number"})
    pid = _require(p, "patient", "id")
    if not isinstance(pid, str) or not pid.strip():
        raise InputError("patient.id", "expected a non-empty text identifier")
    patient = PatientInfo(
        id=_text(pid, "patient.id", 64),
        name=_text(p["name"], "patient.name") if "name" in p else None,
        height=_plausible_quantity(p["height"], "patient.height", "patient.height", warns) if "height" in p else None,
        weight=_plausible_quantity(p["weight"], "patient.weight", "patient.weight", warns) if "weight" in p else None,
        birth_date=parse_date(p["birth_date"], "patient.birth_date", EARLIEST_BIRTH, dt.datetime.now(dt.timezone.utc).date()) if "birth_date" in p else None,
        sex=parse_sex(p["sex"], "patient.sex") if "sex" in p else None,
        record_number=_text(p["record_number"], "patient.record_number", 64) if "record_number" in p else None,
    )
    return patient


def _treatment(doc: dict, warns: list) -> Treatment:
    """``[treatment]``: device and method (the device's own methods), times, vial."""
    if isinstance(doc.get("treatment"), dict) and "scenario" in doc["treatment"]:
        raise InputError("treatment.scenario", 'replaced by the [clinical] table: e.g. extent = "segmental" for a radiation segmentectomy (docs/patient-file.md)')
    t = _table(doc, "treatment", {"device", "method", "administration", "calibration", "vial_activity", "dose_coefficient", "vial", "site", "vessel"})
    device = DeviceName.parse(_require(t, "treatment", "device"), "treatment.device")
    method = Method.parse(_require(t, "treatment", "method"), "treatment.method")
    product = _device(device)
    if method not in product.methods:
        owners = [d for d in _DEVICES.values() if method in d.methods]
        raise InputError("treatment.method", f"{method.value!r} is a {' / '.join(f'{d.name} ({d.product})' for d in owners)} method; "
                         f"{device} allows {' or '.join(product.methods)}")
    treatment = Treatment(
        device=device,
        method=method,
        administration=parse_datetime(t["administration"], "treatment.administration") if "administration" in t else None,
        calibration=parse_datetime(t["calibration"], "treatment.calibration") if "calibration" in t else None,
        vial_activity=(
            _plausible_quantity(t["vial_activity"], "", "treatment.vial_activity", warns, VIAL_ACTIVITY[device]) if "vial_activity" in t else None
        ),
        dose_coefficient=(
            _plausible_quantity(t["dose_coefficient"], "treatment.dose_coefficient", "treatment.dose_coefficient", warns)
            if "dose_coefficient" in t
            else None
        ),
        vial=_plausible_quantity(t["vial"], "", "treatment.vial", warns, VIAL_ACTIVITY["glass"]) if "vial" in t else None,
    )
    if treatment.administration is not None and treatment.calibration is not None:
        check_calibration_gap(treatment.administration, treatment.calibration, "treatment.administration", "treatment.calibration")
    for key in ("site", "vessel"):  # written-directive text, shown on page 1 as given
        if key in t and not (isinstance(t[key], str) and t[key].strip()):
            raise InputError(f"treatment.{key}", "expected a non-empty text, e.g. site = \"right lobe (segments 5-8)\", vessel = \"right hepatic artery\"")
    if treatment.vial is not None and not product.whole_vial:
        raise InputError("treatment.vial", "an ordered whole vial is a glass (TheraSphere) key; resin gives treatment.vial_activity")
    if treatment.vial is not None and treatment.calibration is None:
        # without it the ordered vial cannot be decayed to the administration: it would go unchecked
        raise InputError("treatment.calibration", "missing: the ordered vial (treatment.vial) is checked at its activity decayed from its calibration "
                         "date-time to the administration; give calibration = 2026-11-22T12:00:00-05:00 (with its UTC offset), or leave out treatment.vial")
    return treatment


def _lung(doc: dict, warns: list, base: Path, patient_id: str, administration: dt.datetime | None = None) -> Lung:
    """``[lung]``."""
    lt = _table(doc, "lung", {"shunt_fraction", "mass", "prior_dose", "prior_record", "limit", "cumulative_limit", "planar_counts", "shunt_method",
                              "maa_study_date", "maa_series"})
    lsf, lsf_source = _shunt_fraction(lt, warns)
    lung = Lung(
        shunt_fraction=lsf,
        shunt_fraction_source=lsf_source,
        shunt_method=_shunt_method(lt, lsf, lsf_source),
        maa_study_date=parse_date(lt["maa_study_date"], "lung.maa_study_date", DATE_RANGE[0].date(), DATE_RANGE[1].date()) if "maa_study_date" in lt else None,
        maa_series=_text(lt["maa_series"], "lung.maa_series", 120) if "maa_series" in lt else None,
        mass=_image_or(lt.get("mass", "1 kg"), lambda v: _plausible_quantity(v, "lung.mass", "lung.mass", warns)),
        prior_dose=_prior_lung_dose(lt, warns, base, patient_id, administration),
        limit=_plausible_quantity(lt["limit"], "lung.limit", "lung.limit", warns) if "limit" in lt else None,
        cumulative_limit=(
            _plausible_quantity(lt["cumulative_limit"], "lung.cumulative_limit", "lung.cumulative_limit", warns) if "cumulative_limit" in lt else None
        ),
    )
    return lung


def _prior_lung_dose(lt: dict, warns: list, base: Path, patient_id: str, administration: dt.datetime | None) -> pint.Quantity:
    """``lung.prior_dose`` as typed, or the cumulative lung dose of an earlier ``y90 verify`` record
    (``lung.prior_record``, relative to the patient file; io/lung_record.py); not both."""
    if "prior_record" not in lt:
        return _plausible_quantity(lt.get("prior_dose", "0 Gy"), "lung.prior_dose", "lung.prior_dose", warns)
    if "prior_dose" in lt:
        raise InputError("lung.prior_record", "give lung.prior_dose or lung.prior_record, not both (one source for the earlier lung dose)")
    record = lt["prior_record"]
    if not isinstance(record, str) or not record.strip():
        raise InputError("lung.prior_record", "expected the path of a verification.json written by y90 verify")
    path = base / record
    dose = _plausible_quantity(read_prior_lung_dose(path, patient_id, administration), "lung.prior_dose", "lung.prior_record", warns)
    warns.append(f"lung.prior_dose {dose.to('Gy').magnitude:.2f} Gy: the cumulative lung dose of the earlier treatment's record {record}")
    return dose


#: How a lung shunt fraction is measured on the Tc-99m MAA study.
SHUNT_METHODS = ("planar", "spect")


def _shunt_method(lt: dict, lsf, source: str) -> str | None:
    """``lung.shunt_method``: as written; planar counts say "planar" and a shunt measured on the
    images (``shunt_fraction = "image"``) says "spect"; a contradiction is refused."""
    known = "planar" if source == "planar" else "spect" if lsf == IMAGE else None
    if "shunt_method" not in lt:
        return known
    method = _choice(lt["shunt_method"], "lung.shunt_method", SHUNT_METHODS)
    if known is not None and method != known:
        how = "from planar counts" if known == "planar" else "measured on the SPECT/CT images (shunt_fraction = \"image\")"
        raise InputError("lung.shunt_method", f"{method!r}, but the shunt fraction is {how}; write shunt_method = {known!r} or leave it out")
    return method


def _liver(doc: dict, method, warns: list) -> Liver:
    """``[liver]`` (required by the bsa and empirical methods)."""
    lv = _table(doc, "liver", {"volume", "density", "tumour_volume"}, required=method in ("bsa", "empirical"))
    liver = Liver(
        volume=_image_or(lv["volume"], lambda v: _plausible_quantity(v, "liver.volume", "liver.volume", warns)) if "volume" in lv else None,
        density=_plausible_quantity(lv.get("density", LIVER_DENSITY), "liver.density", "liver.density", warns),
        tumour_volume=_plausible_quantity(lv["tumour_volume"], "liver.tumour_volume", "liver.tumour_volume", warns) if "tumour_volume" in lv else None,
    )
    if liver.tumour_volume is not None and liver.volume is None:
        raise InputError("liver.tumour_volume", "needs liver.volume (the whole liver the tumours are in)")
    return liver


def _target(doc: dict, liver: Liver, warns: list) -> tuple:
    """``[target]`` and its tumours: (Target, tumours, the table as written)."""
    tg = _table(
        doc,
        "target",
        {"volume", "mass", "tumour_volume", "tumour_to_normal", "tumours", "dose", "normal_liver_dose", "tumour_dose", "residual_fraction", "normal_liver_limit"},
    )
    if "volume" in tg and "mass" in tg:
        raise InputError("target.mass", "give target.volume or target.mass, not both")
    if "volume" in tg:
        volume = _image_or(tg["volume"], lambda v: _plausible_quantity(v, "target.volume", "target.volume", warns))
        mass = None if volume == IMAGE else (volume * liver.density).to("kg")
    elif "mass" in tg:
        mass = _plausible_quantity(tg["mass"], "target.mass", "target.mass", warns)
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
                    name=_text(item["name"], f"{fname}.name") if "name" in item else f"Tumour {n}",
                    volume=_image_or(_require(item, fname, "volume"), lambda v: _plausible_quantity(v, "target.tumours.volume", f"{fname}.volume", warns)),
                    tumour_to_normal=(
                        _image_or(item["tumour_to_normal"], lambda v: _ratio(v, f"{fname}.tumour_to_normal", warns)) if "tumour_to_normal" in item else None
                    ),
                )
            )
    elif "tumour_volume" in tg:
        tumours.append(
            Tumour(
                name="Tumour",
                volume=_plausible_quantity(tg["tumour_volume"], "target.tumour_volume", "target.tumour_volume", warns),
                tumour_to_normal=_ratio(tg["tumour_to_normal"], "target.tumour_to_normal", warns) if "tumour_to_normal" in tg else None,
            )
        )
    elif "tumour_to_normal" in tg:
        raise InputError("target.tumour_volume", "missing (target.tumour_to_normal is given without a tumour volume)")
    _check_volumes(volume, tumours, liver)

    target = Target(
        volume=volume,
        mass=mass,
        tumours=tuple(tumours),
        dose=_plausible_quantity(tg["dose"], "target.dose", "target.dose", warns) if "dose" in tg else None,
        normal_liver_dose=(
            _plausible_quantity(tg["normal_liver_dose"], "target.normal_liver_dose", "target.normal_liver_dose", warns)
            if "normal_liver_dose" in tg
            else None
        ),
        tumour_dose=_plausible_quantity(tg["tumour_dose"], "target.tumour_dose", "target.tumour_dose", warns) if "tumour_dose" in tg else None,
        residual_fraction=_plausible_fraction(tg.get("residual_fraction", 0.0), "target.residual_fraction", "target.residual_fraction", warns),
        normal_liver_limit=(
            _plausible_quantity(tg["normal_liver_limit"], "target.normal_liver_limit", "target.normal_liver_limit", warns)
            if "normal_liver_limit" in tg
            else None
        ),
    )
    return target, tumours, tg


def _method_requirements(method, patient: PatientInfo, liver: Liver, target: Target, tumours: list, tg: dict) -> None:
    """The keys each method needs, and those it does not take."""
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
        if "tumour_volume" in tg and not tumours[0].volume.magnitude > 0:
            raise OutOfRangeError("target.tumour_volume", "0 mL: the partition model needs a tumour; allowed (0, target.volume) mL", allowed="(0, target.volume) mL")
        for n, tu in enumerate(tumours, 1):
            if tu.tumour_to_normal is None:
                fname = "target.tumour_to_normal" if "tumour_volume" in tg else f"target.tumours[{n}].tumour_to_normal"
                raise InputError(fname, "missing required key (the partition model needs each tumour's uptake ratio)")
        if target.normal_liver_dose is not None and target.tumour_dose is not None:
            raise InputError("target.tumour_dose", "give normal_liver_dose or tumour_dose (or neither, for the largest safe activity), not both")
    if method != "partition" and (target.normal_liver_dose is not None or target.tumour_dose is not None):
        key = "normal_liver_dose" if target.normal_liver_dose is not None else "tumour_dose"
        raise InputError(f"target.{key}", f"only the partition method takes target.{key}; {method} uses target.dose")


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_clinic_days(days, fieldname: str) -> tuple[str, ...]:
    """Administration days as ``("mon", ...)`` from English day names or their 3-letter abbreviations.

    An empty list, an empty entry or any other word (``"sunshine"``, ``"saturnday"``) is refused:
    a day is never guessed from its first letters.
    """
    allowed = ", ".join(d[:3] for d in _WEEKDAYS) + " (or the full day names)"
    names = [str(d).strip().lower() for d in days]
    if not names:
        raise InputError(fieldname, f"no day given; expected one or more of {allowed}", allowed=allowed)
    for d in names:
        if d not in _WEEKDAYS and d not in {w[:3] for w in _WEEKDAYS}:
            raise InputError(fieldname, f"{d[:20]!r} is not a day; expected one or more of {allowed}", allowed=allowed)
    return tuple(dict.fromkeys(d[:3] for d in names))


_CLINIC_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?"
_CLINIC_HOURS = re.compile(rf"\s*({_CLINIC_TIME})\s*-\s*({_CLINIC_TIME})\s*")


def parse_clinic_hours(text, fieldname: str) -> tuple[dt.time, dt.time]:
    """Opening and closing times from ``"HH:MM-HH:MM"`` (local time of the administration) or
    ``"HH:MM+01:00-HH:MM+01:00"`` (the clinic's clock, an ISO 8601 UTC offset on both), for
    ``[clinic] hours`` and ``--clinic-hours``. The offsets are kept (:class:`~dosimetry.schedule.ClinicHours`
    compares times on that clock); one time with an offset and one without is refused there."""
    m = _CLINIC_HOURS.fullmatch(str(text)) if isinstance(text, str) and len(text) <= 60 else None
    try:
        if m is None:
            raise ValueError(text)
        opens, closes = (dt.time.fromisoformat(g) for g in m.groups())
    except ValueError as exc:
        raise InputError(fieldname, f'expected "HH:MM-HH:MM" local time, e.g. "07:00-18:00" (or with a UTC offset on both, "07:00+01:00-18:00+01:00"); got {str(text)[:40]!r}') from exc
    for t in (opens, closes):
        check_utc_offset(t.utcoffset(), fieldname)
    return opens, closes


def check_calibration_gap(administration: dt.datetime, calibration: dt.datetime, fieldname: str, calibration_field: str) -> None:
    """Refuse |administration - calibration| above :data:`MAX_CALIBRATION_GAP` (patient file and ``y90 schedule``;
    the rule is :func:`dosimetry.decay.check_time_gap`)."""
    check_time_gap(administration, calibration, fieldname, calibration_field)


def _clinic(doc: dict) -> dict:
    """``[clinic]``: administration days and hours, delivered-activity tolerance, custom glass doses."""
    c = _table(doc, "clinic", {"days", "hours", "delivery_tolerance", "custom_doses"}, required=False)
    out: dict[str, Any] = {}
    opens, closes = parse_clinic_hours(c.get("hours", "07:00-18:00"), "clinic.hours")
    days = c.get("days", ["mon", "tue", "wed", "thu", "fri"])
    if not isinstance(days, list) or not all(isinstance(d, str) for d in days):
        raise InputError("clinic.days", 'expected a list such as ["mon", "tue", "wed", "thu", "fri"]')
    out["clinic"] = ClinicHours(parse_clinic_days(days, "clinic.days"), opens, closes)
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


#: Formats of the dose map written from ``[imaging]`` (and ``y90 dose --dose-format``).
DOSE_FORMATS = ("dicom", "nrrd", "nifti")


def _path_any(value: Any, fieldname: str, base: Path) -> Path:
    """An existing file or directory (DICOM folders, NRRD / NIfTI files)."""
    return _path(value, fieldname, base, "directory or NRRD / NIfTI file")


def _imaging(doc: dict, base: Path, warns: list | None = None) -> Imaging:
    im = _table(doc, "imaging", {"partial_volume", "fwhm", "activity", "ct", "rtstruct", "segmentation", "labels", "rois", "method", "density_method", "lung_method", "calibration",
                                 "administered", "allow_mismatch", "activity_unit", "activity_time", "administration_time", "dose_format"})
    rois = _require(im, "imaging", "rois")
    if not isinstance(rois, dict):
        raise InputError("imaging.rois", "expected a table [imaging.rois] with liver, tumours, lungs")
    unknown = sorted(set(rois) - {"liver", "tumours", "lungs", "perfused"})
    if unknown:
        raise InputError(f"imaging.rois.{unknown[0]}", "unknown key; allowed: liver, perfused, tumours, lungs")
    perfused = rois.get("perfused")
    if perfused is not None and (not isinstance(perfused, str) or not perfused.strip()):
        raise InputError("imaging.rois.perfused", "expected the name of the perfused-territory ROI in the segmentation")
    liver_roi = _require(rois, "imaging.rois", "liver")
    if isinstance(liver_roi, list):  # the liver in parts (a label map: parenchyma + tumours)
        liver_roi = _str_list(liver_roi, "imaging.rois.liver")
        if len(liver_roi) == 1:
            liver_roi = liver_roi[0]
    elif not isinstance(liver_roi, str) or not liver_roi.strip():
        raise InputError("imaging.rois.liver", "expected the name of the liver ROI in the segmentation (or a list of the names of its parts)")
    else:
        liver_roi = liver_roi.strip()
    settings = _voxel_settings(im, base, warns)
    if ("rtstruct" in im) == ("segmentation" in im):
        raise InputError("imaging.segmentation", "give the segmentation once: segmentation = PATH (rtstruct = PATH is its old name)")
    seg_key = "segmentation" if "segmentation" in im else "rtstruct"
    activity = _path_any(_require(im, "imaging", "activity"), "imaging.activity", base)
    if im.get("dose_format") == "dicom" and activity.name.lower().endswith((".nrrd", ".nhdr", ".nii", ".nii.gz")):
        raise InputError("imaging.dose_format", "an RT Dose needs DICOM source images; with an NRRD / NIfTI activity image choose nrrd or nifti")
    return Imaging(
        activity=activity,
        ct=_path_any(im["ct"], "imaging.ct", base) if "ct" in im else None,
        rtstruct=_path(_require(im, "imaging", seg_key), f"imaging.{seg_key}", base, "file"),
        liver_roi=liver_roi,
        tumour_rois=_str_list(rois.get("tumours", []), "imaging.rois.tumours") if rois.get("tumours") else (),
        lung_rois=_str_list(rois.get("lungs", []), "imaging.rois.lungs") if rois.get("lungs") else (),
        perfused_roi=None if perfused is None else perfused.strip(),
        settings=settings,
    )


def _voxel_settings(im: dict, base: Path, warns: list | None) -> VoxelSettings:
    """The reading and dose options of ``[imaging]``."""
    from ..voxel.partial_volume import check_partial_volume  # scipy, only for a file with [imaging]

    allow = im.get("allow_mismatch", False)
    if not isinstance(allow, bool):
        raise InputError("imaging.allow_mismatch", "expected true or false")
    labels = im.get("labels")
    if labels is not None:
        labels = _path(labels, "imaging.labels", base, "file") if isinstance(labels, str) else labels
        if not isinstance(labels, (Path, dict)):
            raise InputError("imaging.labels", "expected a name-table file or a table {1 = \"Liver\", ...}")
    unit = im.get("activity_unit")
    if unit is not None and not isinstance(unit, str):
        raise InputError("imaging.activity_unit", "expected a unit such as \"counts\" or \"Bq/mL\"")
    when = im.get("activity_time")
    if when is not None and when != "administration":
        when = parse_datetime(when, "imaging.activity_time")
    admin = parse_datetime(im["administration_time"], "imaging.administration_time") if "administration_time" in im else None
    return VoxelSettings(
        method=_choice(im.get("method", "kernel"), "imaging.method", IMAGING_METHODS),
        density_method=_choice(im.get("density_method", "ct_curve"), "imaging.density_method", ("ct_curve", "liver_nominal")),
        lung_method=_choice(im.get("lung_method", "density_divided"), "imaging.lung_method", ("density_divided", "density_scaled")),
        calibration=Calibration.parse(im.get("calibration", "relative"), "imaging.calibration"),
        administered=_plausible_quantity(im["administered"], "imaging.administered", "imaging.administered", warns) if "administered" in im else None,
        allow_mismatch=allow,
        labels=labels,
        activity_unit=unit,
        activity_time=when,
        administration_time=admin,
        dose_format=_choice(im["dose_format"], "imaging.dose_format", DOSE_FORMATS) if "dose_format" in im else None,
        **dict(zip(("partial_volume", "fwhm"), check_partial_volume(im.get("partial_volume"), im.get("fwhm")))),
    )


#: Deepest dotted key read (``a.b.c = 1``, ``[a.b.c]``): a patient file nests 3 levels
#: (``imaging.rois.liver``). Python's TOML parser takes time quadratic in a key's depth (100,000
#: levels in 200 KB take minutes and gigabytes), so deeper keys are refused from the raw text.
MAX_KEY_DEPTH = 40
#: Most digits of one number: a patient file's largest integers are years; Python refuses
#: integers of more than 4300 digits only after reading them.
MAX_DIGITS = 100
_SEGMENT = r"""(?:[A-Za-z0-9_-]++|"[^"\n]*+"|'[^'\n]*+')"""
_DEEP_KEY = re.compile(rf"""(?<![A-Za-z0-9_"'-]){_SEGMENT}(?:[ \t]*+\.[ \t]*+{_SEGMENT}){{{MAX_KEY_DEPTH}}}""")
_LONG_NUMBER = re.compile(rf"(?<![0-9_])[0-9](?:_?+[0-9]){{{MAX_DIGITS}}}")


def check_toml_text(text: str, where: str) -> None:
    """Refuse, before parsing, TOML text whose parsing would be slow or fail outside the parser's
    own errors: a dotted key deeper than :data:`MAX_KEY_DEPTH` levels, a number of more than
    :data:`MAX_DIGITS` digits (both checked in linear time on the raw text)."""
    m = _DEEP_KEY.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise InputError("patient file", f"{where} line {line}: a key nested more than {MAX_KEY_DEPTH} levels deep; a patient file nests at most 3 (imaging.rois.liver)")
    m = _LONG_NUMBER.search(text)
    if m:
        line = text.count("\n", 0, m.start()) + 1
        raise InputError("patient file", f"{where} line {line}: a number of more than {MAX_DIGITS} digits")


def load_patient(path: str | Path, *, overrides: Mapping[str, Any] | None = None, overridden_by: str = "overrides") -> PatientFile:
    """Read and validate a patient TOML file.

    Parameters
    ----------
    path : path-like
        The patient file.
    overrides : mapping of str to value, optional
        Fields replaced before validation, by dotted name (``{"target.tumour_dose": "150 Gy"}``,
        values as TOML gives them: text, numbers, booleans, date-times), so that a bad value is
        refused with the message it would get in the file. Each is listed in the warnings
        (``overridden_by`` says where it came from, e.g. ``"the cohort manifest, row 3"``).

    Returns
    -------
    PatientFile
        Validated inputs, with the file's path and SHA-256 (of the file's bytes) for the audit trail.

    Raises
    ------
    InputError
        Unreadable file, TOML syntax error, or any invalid field.
    """
    p = Path(path)
    data = read_bytes(p, "patient file", limit=MAX_FILE_BYTES, what="patient TOML file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("patient file", f"{p} is not valid TOML: {str(exc).splitlines()[0][:200]}") from exc
    check_toml_text(text, f"{p}")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("patient file", f"{p} is not valid TOML: {str(exc).splitlines()[0][:200]}") from exc
    except RecursionError as exc:  # deeply nested arrays or inline tables
        raise InputError("patient file", f"{p} nests arrays or tables too deeply to be a patient file") from exc
    except ValueError as exc:  # not a TOMLDecodeError: an integer beyond Python's digit limit
        raise InputError("patient file", f"{p} holds a value TOML cannot read ({str(exc).splitlines()[0][:120]})") from exc
    notes = tuple(_override(doc, key, value, overridden_by) for key, value in (overrides or {}).items())
    pf = parse_patient(doc, p.parent)
    return dataclasses.replace(pf, path=p, sha256=hashlib.sha256(data).hexdigest(), warnings=pf.warnings + notes)


def _override(doc: dict, dotted: str, value: Any, overridden_by: str) -> str:
    """Set ``table.key`` (or ``table.sub.key``) of a parsed patient document; the warning that says so.

    Only tables are walked (``target.tumours`` is an array of tables: override a whole array, not
    one element); a missing table is created, so the parser then names what else it lacks.
    """
    *tables, key = dotted.split(".")
    if not tables or not all(tables) or not key:
        raise InputError(dotted, "expected a dotted field name of the patient file, e.g. target.tumour_dose")
    node = doc
    for i, name in enumerate(tables):
        node = node.setdefault(name, {})
        if not isinstance(node, dict):
            raise InputError(dotted, f"{'.'.join(tables[: i + 1])} is not a table in the patient file; only fields of tables can be overridden")
    before = node.get(key)
    node[key] = value
    shown = lambda v: repr(v) if isinstance(v, str) else str(v)  # noqa: E731
    was = "not in the file" if before is None else f"the file gives {shown(before)}"
    return f"{dotted} = {shown(value)} set by {overridden_by} ({was})"
