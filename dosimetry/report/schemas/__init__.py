"""The published JSON Schemas (2020-12), shipped inside the package.

``report.schema.json`` describes report.json (:mod:`dosimetry.report.record`);
``patient.schema.json`` describes the patient TOML file read as JSON (docs/patient-file.md);
``verification.schema.json`` describes verification.json of ``y90 verify`` (docs/verification.md).
They are package data, so an installed wheel carries them: a record system reads them with
``dosimetry.report.schemas.load("report.schema.json")`` instead of a copy of the source tree.
"""

import json
from importlib import resources

from ...errors import InputError

__all__ = ["NAMES", "load"]

#: The schema files this package publishes.
NAMES = ("report.schema.json", "patient.schema.json", "verification.schema.json")


def load(name: str) -> dict:
    """The JSON Schema ``name`` (one of :data:`NAMES`) as a dict, read from the installed package."""
    if name not in NAMES:
        raise InputError("schema", f"{name!r} is not a published schema", allowed=", ".join(NAMES))
    return json.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))
