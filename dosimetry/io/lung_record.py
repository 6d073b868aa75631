"""The cumulative lung dose of an earlier treatment, read from its ``y90 verify`` record.

A second treatment's plan must count the lung dose the first one delivered (the cumulative limit,
50 Gy over sequential treatments: Ho et al., Int J Radiat Oncol Biol Phys 1997). Typing it again
invites a transcription error; ``[lung] prior_record = "../verify-1/verification.json"`` takes it from
the record ``y90 verify`` wrote (its ``cumulative_lung_dose``: that treatment's prior dose plus the
lung dose it delivered, so a chain of treatments needs only the latest record).

The record is refused, naming ``lung.prior_record``, when it is not a verification record, belongs to
another PatientID, or holds no delivered lung dose (no lung in the post-treatment image's field of
view): a plan never reads a missing lung dose as zero.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pint

from ..errors import InputError
from ..units import Q_
from .reading import read_text

__all__ = ["read_prior_lung_dose", "RECORD_SCHEMA"]

FIELD = "lung.prior_record"
RECORD_SCHEMA = "y90-verification"  # verification.json "schema" (dosimetry.workflow.verify)
_LIMIT = 20_000_000  # bytes: a verification.json is tens of kB


def read_prior_lung_dose(path: Path, patient_id: str, administration: dt.datetime | None = None) -> pint.Quantity:
    """The record's ``cumulative_lung_dose`` [Gy], checked against ``patient_id`` (PatientID of the
    plan) and, when both are known, against the plan's ``administration``: the recorded treatment
    must come before it.

    Raises
    ------
    InputError
        Unreadable or not a ``y90-verification`` record, another patient's, a treatment not before
        this plan's, or no lung dose in it.
    """
    try:
        doc = json.loads(read_text(path, FIELD, limit=_LIMIT, what="verification record (verification.json)"))
    except json.JSONDecodeError as exc:
        raise InputError(FIELD, f"{path} is not JSON ({exc.msg}, line {exc.lineno}); expected the verification.json y90 verify wrote") from exc
    if not isinstance(doc, dict) or doc.get("schema") != RECORD_SCHEMA:
        raise InputError(FIELD, f"{path} is not a y90 verify record (its \"schema\" is not {RECORD_SCHEMA!r})")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 2:
        raise InputError(FIELD, f"{path} is a verification record of schema_version {version!r}: records before version 2 may hold a lung dose "
                         "computed without a CT (understated about 3-fold); run y90 verify again, or give lung.prior_dose", allowed="schema_version >= 2")
    if doc.get("patient_id") != patient_id:
        raise InputError(FIELD, f"{path} is the record of patient {doc.get('patient_id')!r}, not of patient.id {patient_id!r}")
    _before(path, doc.get("administration"), administration)
    dose = doc.get("cumulative_lung_dose")
    if not isinstance(dose, dict) or not isinstance(dose.get("value"), (int, float)) or isinstance(dose.get("value"), bool):
        raise InputError(FIELD, f"{path} holds no delivered lung dose (no lung in the post-treatment image): give lung.prior_dose from another measurement")
    try:
        q = Q_(float(dose["value"]), str(dose.get("unit"))).to("Gy")
    except (pint.errors.PintError, ValueError, TypeError) as exc:
        raise InputError(FIELD, f"{path}: cumulative_lung_dose has unit {dose.get('unit')!r}, expected Gy") from exc
    if not 0 <= q.magnitude < 1000:
        raise InputError(FIELD, f"{path}: cumulative_lung_dose {q.magnitude:g} Gy is outside [0, 1000) Gy", allowed="[0, 1000) Gy")
    return q


def _before(path: Path, recorded, planned: dt.datetime | None) -> None:
    """The recorded treatment (ISO 8601 text with UTC offset, or None) must be before ``planned``."""
    if recorded is None or planned is None:
        return
    try:
        when = dt.datetime.fromisoformat(str(recorded))
    except ValueError as exc:
        raise InputError(FIELD, f"{path}: administration {recorded!r} is not an ISO 8601 date-time") from exc
    if when.tzinfo is None:
        raise InputError(FIELD, f"{path}: administration {recorded!r} has no UTC offset, so it cannot be ordered against this plan's {planned.isoformat()}")
    if when >= planned:
        raise InputError(FIELD, f"{path} records a treatment on {recorded}, not before this plan's administration {planned.isoformat()}: "
                         "a prior lung dose must come from an earlier treatment")
