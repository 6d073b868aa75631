"""The package's vocabularies: the words that carry meaning, as enumerations.

Each is a :class:`enum.StrEnum`: a member *is* its text (``DeviceName.GLASS == "glass"``,
``json.dumps`` writes ``"glass"``, ``f"{m}"`` gives ``"glass"``), so the JSON and text outputs keep
the same strings while code compares members instead of spelling words again. Text from a patient
file or a command line is read once, where it enters, by :meth:`Vocabulary.parse` (case and
surrounding blanks ignored; anything else refused naming the field and the allowed words).
"""

from __future__ import annotations

import enum

from .errors import InputError

__all__ = ["Vocabulary", "DeviceName", "Method", "Calibration", "Origin", "Role", "Status", "Distribution", "ShuntMethod"]


class Vocabulary(enum.StrEnum):
    """A closed set of words; :meth:`parse` reads one from input text."""

    @classmethod
    def allowed(cls) -> str:
        return ", ".join(m.value for m in cls)

    @classmethod
    def parse(cls, value, field: str):
        """The member written ``value`` (case-insensitive), or :class:`InputError` naming ``field``."""
        if isinstance(value, cls):
            return value
        text = value.strip().lower() if isinstance(value, str) else None
        for m in cls:
            if m.value == text:
                return m
        raise InputError(field, f"{value!r} is not allowed; choose one of {cls.allowed()}", allowed=cls.allowed())


class DeviceName(Vocabulary):
    """The microsphere products (their data: :mod:`dosimetry.devices`)."""

    GLASS = "glass"
    RESIN = "resin"


class Method(Vocabulary):
    """The prescription methods (:mod:`dosimetry.planning`)."""

    MIRD = "mird"
    BSA = "bsa"
    EMPIRICAL = "empirical"
    PARTITION = "partition"

    @property
    def label(self) -> str:
        """Human name, e.g. ``"partition model"``."""
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    Method.MIRD: "MIRD single compartment",
    Method.BSA: "BSA method",
    Method.EMPIRICAL: "empirical method",
    Method.PARTITION: "partition model",
}


class Calibration(Vocabulary):
    """How an activity image is calibrated: scaled to the administered activity, or in Bq/mL as read."""

    RELATIVE = "relative"
    ABSOLUTE = "absolute"


class Origin(Vocabulary):
    """What a checked value comes from."""

    PLAN = "plan"
    VIAL = "vial"
    VIAL_AT_PLANNED_TIME = "vial at the planned time"
    VOXEL = "voxel"
    SESSION = "session"
    DELIVERED = "delivered"  # the post-treatment dose (y90 verify): a finding, never a verdict on a plan
    SCREEN = "contraindication screen"


class Role(Vocabulary):
    """The role of a region of the voxel dosimetry."""

    LIVER = "liver"
    NORMAL_LIVER = "normal liver"
    WHOLE_NORMAL_LIVER = "whole normal liver"
    TUMOUR = "tumour"
    LUNG = "lung"
    PERFUSED = "perfused"


class Status(Vocabulary):
    """The one verdict of a case (:func:`dosimetry.planning.verdict.status`)."""

    WITHIN_LIMITS = "WITHIN LIMITS"
    NEEDS_DECISION = "NEEDS A DECISION"
    BLOCKED = "BLOCKED"



class Distribution(Vocabulary):
    """The shape of an input's uncertainty (:mod:`dosimetry.planning.budget`)."""

    NORMAL = "normal"
    LOGNORMAL = "lognormal"
    UNIFORM = "uniform"


class ShuntMethod(Vocabulary):
    """How a lung shunt fraction was measured: planar geometric mean, or Tc-99m MAA SPECT/CT."""

    PLANAR = "planar"
    SPECT = "spect"
