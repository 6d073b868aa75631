"""The patient file's identity against the planning images' DICOM headers (issue 21, item 6).

One rule for every identifying value: a value the patient file gives must equal the images' header
value, or the file is refused naming the field (planning one patient with another's images, or
with another MAA study, is the error it catches); ``imaging.allow_mismatch = true`` overrides it and
the plan's warnings say so. A value the file leaves out is taken from the headers; a value neither
gives stays None and is printed "not given", never invented.

Checked: ``patient.id`` against PatientID (0010,0020), ``patient.birth_date`` against
PatientBirthDate (0010,0030), ``patient.sex`` against PatientSex (0010,0040) (every series read),
``lung.maa_study_date`` against the activity image's StudyDate (0008,0020). The MAA series shown
is the activity image's SeriesDescription (0008,103E) and SeriesNumber (0020,0011).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from ..errors import InputError
from ..io.patient import check_birth_date
from ..model import SEXES, PatientFile

__all__ = ["header_identity", "post_identity", "dicom_da"]


def dicom_da(value: str) -> dt.date | None:
    """A DICOM DA value ``YYYYMMDD`` as a date (None when empty or not a valid date)."""
    v = (value or "").strip()
    if len(v) != 8 or not v.isdigit():
        return None
    try:
        return dt.date(int(v[:4]), int(v[4:6]), int(v[6:8]))
    except ValueError:
        return None


def _header_values(inputs, attr: str, parse) -> tuple[list, list[str]]:
    """The distinct parsed values of one identity attribute over every series read, and the raw
    values that could not be read (kept for a warning)."""
    raw = sorted({getattr(i, attr, "") for i in getattr(inputs, "identities", ()) if getattr(i, attr, "")})
    parsed = [parse(r) for r in raw]
    return sorted({p for p in parsed if p is not None}), [r for r, p in zip(raw, parsed) if p is None]


#: How a mismatch is overridden, and what the refusal asks for: planning images ([imaging]) and
#: post-treatment images (``y90 verify --allow-mismatch``).
_PLANNING = ("imaging.allow_mismatch", "plan each patient with their own images (imaging.allow_mismatch = true overrides)", "images")
_POST = ("--allow-mismatch", "verify each patient with their own images (--allow-mismatch overrides)", "post-treatment images")


def _agree(allow: bool, field: str, typed, values: list, keyword: str, shown=str, how: tuple = _PLANNING) -> list[str]:
    """The rule: the file's value must be the headers' (several header values: all of them)."""
    if typed is None or not values or values == [typed]:
        return []
    flag, ask, images = how
    msg = f"{shown(typed)!r} in the patient file, but the {images}' {keyword} is {', '.join(repr(shown(v)) for v in values)}"
    if not allow:
        raise InputError(field, f"{msg}; {ask}")
    return [f"{field} {msg}; accepted because {flag} overrides the check"]


def _person(inputs, allow: bool, pf: PatientFile, how: tuple) -> tuple[list, list, list[str]]:
    """PatientID, PatientBirthDate and PatientSex of every series read against the file (the
    header dates and sexes read, and the warnings)."""
    ids, _ = _header_values(inputs, "patient_id", lambda v: v)
    warns = _agree(allow, "patient.id", pf.patient.id, ids, "PatientID (0010,0020)", how=how)
    births, bad_births = _header_values(inputs, "birth_date", dicom_da)
    warns += _agree(allow, "patient.birth_date", pf.patient.birth_date, births, "PatientBirthDate (0010,0030)", lambda d: d.isoformat(), how)
    sexes, bad_sexes = _header_values(inputs, "sex", lambda v: v.upper() if v.upper() in SEXES else None)
    warns += _agree(allow, "patient.sex", pf.patient.sex, sexes, "PatientSex (0010,0040)", how=how)
    warns += [f"PatientBirthDate (0010,0030) {v!r} is not a DICOM date (YYYYMMDD); not used" for v in bad_births]
    warns += [f"PatientSex (0010,0040) {v!r} is not one of {', '.join(SEXES)}; not used" for v in bad_sexes]
    return births, sexes, warns


def post_identity(pf: PatientFile, post, allow_mismatch: bool) -> tuple[str, ...]:
    """The post-treatment images' PatientID, birth date and sex against the patient file: the rule
    of :func:`header_identity` (``y90 verify --allow-mismatch`` overrides); the warnings."""
    return tuple(_person(post, allow_mismatch, pf, _POST)[2])


def header_identity(pf: PatientFile, inputs) -> tuple[PatientFile, tuple[str, ...]]:
    """The patient file with its identity checked against the headers of ``inputs`` (an
    :class:`~dosimetry.workflow.imaging.ImagingInputs`) and completed from them; the warnings.

    Raises
    ------
    InputError
        A value of the file differs from the headers (field ``patient.id``, ``patient.birth_date``,
        ``patient.sex`` or ``lung.maa_study_date``), unless ``imaging.allow_mismatch``; a date of
        birth after the MAA study date.
    """
    allow = pf.imaging is not None and pf.imaging.allow_mismatch
    births, sexes, warns = _person(inputs, allow, pf, _PLANNING)
    desc = getattr(inputs, "description", None) or {}
    study = dicom_da(desc.get("study_date", ""))
    warns += _agree(allow, "lung.maa_study_date", pf.lung.maa_study_date, [study] if study else [], "StudyDate (0008,0020)", lambda d: d.isoformat())
    patient = replace(pf.patient, birth_date=pf.patient.birth_date or (births[0] if len(births) == 1 else None),
                      sex=pf.patient.sex or (sexes[0] if len(sexes) == 1 else None))
    lung = replace(pf.lung, maa_study_date=pf.lung.maa_study_date or study, maa_series=pf.lung.maa_series or _series(desc))
    check_birth_date(patient.birth_date, lung.maa_study_date, "the MAA study date (lung.maa_study_date or StudyDate (0008,0020))")
    return replace(pf, patient=patient, lung=lung), tuple(warns)


def _series(desc: dict) -> str | None:
    """``"<SeriesDescription> (series <SeriesNumber>)"`` of the activity image, None when it states neither."""
    text, number = str(desc.get("series_description", "") or "").strip(), str(desc.get("series_number", "") or "").strip()
    if not desc.get("series_uid"):  # an NRRD / NIfTI image: its "description" is the file name
        return None
    if text and number:
        return f"{text} (series {number})"
    return text or (f"series {number}" if number else None)
