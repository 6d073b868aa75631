"""A dose map in any format ``y90 dose`` writes: RT Dose, NRRD or NIfTI (``y90 dvh``).

* **RT Dose** (DICOM): :func:`dosimetry.io.load_rtdose` (DoseUnits GY, DoseGridScaling).
* **NRRD**: the unit is the key-value pair ``value_unit:=Gy`` that :func:`dosimetry.io.volumes.write_volume`
  writes (the NRRD field ``units`` names the units of the axes, not of the values).
* **NIfTI**: the unit in brackets at the end of ``descrip`` (``"Y-90 absorbed dose [Gy]"``, as
  written by ``y90 dose``).

A file that does not state its unit needs it declared (``unit``, ``y90 dvh --dose-unit``); a
declared unit that contradicts the file's is refused. Values must be finite and >= 0 (a dose).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..units import Q_
from ..voxel.geometry import Volume
from .volumes import image_format, read_volume

__all__ = ["DoseMap", "read_dose_map", "DOSE_UNITS"]

#: Units a dose map may be in.
DOSE_UNITS = ("Gy", "cGy", "mGy")

_BRACKETED = re.compile(r"\[\s*([A-Za-z]+)\s*\]\s*$")


@dataclass(frozen=True)
class DoseMap:
    """A dose map read from a file.

    Attributes
    ----------
    volume : Volume
        Absorbed dose [Gy].
    identity : DicomIdentity or None
        Patient, study and frame of reference of an RT Dose (None for NRRD / NIfTI).
    warnings : tuple of str
    """

    volume: Volume
    identity: object
    warnings: tuple


def _stated_unit(path) -> str | None:
    """The unit a NRRD (``value_unit`` key) or NIfTI (``[unit]`` ending ``descrip``) states; None if it states none."""
    if image_format(path) == "nrrd":
        import nrrd

        try:
            header = nrrd.read_header(os.fspath(path))
        except (OSError, nrrd.NRRDError, ValueError, KeyError) as exc:
            raise InputError("dose", f"cannot read {path} as NRRD: {exc}") from exc
        unit = header.get("value_unit")
        return None if unit is None else str(unit).strip()
    import nibabel

    try:
        # nibabel types load() as FileBasedImage, whose header is not indexable; a NIfTI header is
        header = nibabel.load(os.fspath(path)).header
        descrip = header["descrip"].tobytes().split(b"\0")[0].decode("ascii", "replace")  # type: ignore[index]
    except Exception as exc:  # nibabel raises many types
        raise InputError("dose", f"cannot read {path} as NIfTI: {exc}") from exc
    m = _BRACKETED.search(descrip)
    return m.group(1) if m else None


def read_dose_map(path, *, unit: str | None = None) -> DoseMap:
    """Read a dose map: RT Dose (a DICOM file), NRRD or NIfTI (by extension).

    Parameters
    ----------
    path : path-like
        ``rtdose.dcm``, ``dose.nrrd`` or ``dose.nii.gz`` (as written by ``y90 dose``), or any file
        of these formats.
    unit : str, optional
        Unit of an NRRD / NIfTI map that does not state it: one of :data:`DOSE_UNITS`. Refused for an
        RT Dose (its DoseUnits states it) and when it contradicts the file's own.

    Raises
    ------
    InputError
        Unreadable file, unit not stated nor declared, contradicting or unknown unit, values that
        are not a dose (non-finite or negative).
    """
    if image_format(path) == "dicom":
        from .rtdose import load_rtdose

        if unit is not None:
            raise InputError("dose_unit", "only for an NRRD / NIfTI dose map; an RT Dose states its unit (DoseUnits)")
        grid = load_rtdose(path)
        return DoseMap(grid.volume, grid.identity, tuple(grid.warnings))
    stated = _stated_unit(path)
    for name, u in (("the file", stated), ("dose_unit", unit)):
        if u is not None and u not in DOSE_UNITS:
            raise InputError("dose_unit", f"{name} gives the unit {u!r}; a dose map is in one of {', '.join(DOSE_UNITS)}", allowed=", ".join(DOSE_UNITS))
    if stated is not None and unit is not None and stated != unit:
        raise InputError("dose_unit", f"{unit!r} contradicts the unit {stated!r} that {os.fspath(path)} states")
    if stated is None and unit is None:
        raise InputError("dose_unit", f"{os.fspath(path)} does not state the unit of its values; declare it: one of {', '.join(DOSE_UNITS)}",
                         allowed=", ".join(DOSE_UNITS))
    vol = read_volume(path, unit=unit or stated, field="dose")
    a = np.asarray(vol.array, dtype=np.float64)
    if not np.all(np.isfinite(a)) or a.min() < 0:
        raise InputError("dose", f"{os.fspath(path)}: a dose map holds finite values >= 0 (min {np.nanmin(a):.4g})")
    gy = vol.with_array(a * float(Q_(1.0, vol.unit).to("Gy").magnitude), unit="Gy")
    return DoseMap(gy, None, ())
