"""PET activity units, radionuclide check and decay correction to the administration time.

See :mod:`dosimetry.io.series` and docs/dicom.md. DecayCorrection semantics: DICOM PS3.3
C.8.9.1.1.5; Units: C.8.9.1.1.3.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pint

from ..isotope import Y90
from ..units import Q_, quantity, ureg
from ._common import DicomError, floats, parse_da_tm, parse_dt, text

__all__ = ["apply_calibration", "pet_values"]


def apply_calibration(raw_unit: pint.Unit, calibration, field: str) -> tuple[float, pint.Unit]:
    """(factor, unit) turning stored*rescaled values in ``raw_unit`` into Bq/mL with ``calibration``."""
    if calibration is None:
        return 1.0, raw_unit
    if isinstance(calibration, str):
        try:
            cal = ureg.Quantity(calibration.strip())
        except Exception as exc:
            raise DicomError(field, f"cannot read {calibration!r} as a calibration factor (e.g. '12.5 Bq/mL/cts')") from exc
    elif isinstance(calibration, pint.Quantity):
        cal = calibration
    else:
        raise DicomError(field, f"expected a Quantity such as '12.5 Bq/mL/cts', got {type(calibration).__name__}")
    cal = cal if isinstance(cal, pint.Quantity) else Q_(cal, "dimensionless")
    result = Q_(1.0, raw_unit) * cal
    if result.dimensionality != Q_(1, "Bq/mL").dimensionality:
        raise DicomError(field, f"{cal:~P} times the image unit {raw_unit:~P} is not an activity concentration; expected a factor in Bq/mL per {raw_unit:~P}")
    value = float(result.to("Bq/mL").magnitude)
    if not math.isfinite(value) or value <= 0:
        raise DicomError(field, f"must be finite and > 0, got {cal:~P}")
    return value, ureg.Unit("Bq/mL")


# PT Units (0054,1001) to pint units of the stored*rescaled values (DICOM PS3.3 C.8.9.1.1.3).
_PT_UNITS = {"BQML": "Bq/mL", "CNTS": "cts", "PROPCNTS": "cts", "CPS": "cts/s", "PROPCPS": "cts/s"}
# Y-90 named in RadionuclideCodeSequence / Radiopharmaceutical text: "^90^Yttrium", "Y-90", "90Y", "Yttrium-90".
_Y90_RE = re.compile(r"(?i)(\^?90\^?\s*-?\s*(y|yttrium)\b)|(\b(y|yttrium)\s*-?\s*90\b)")


#: Longest plausible delay from administration to a Y-90 PET acquisition: 14 days (5 half-lives,
#: 2.6 % of the activity left; post-treatment Y-90 PET is acquired within hours to a few days).
#: A longer delay is a wrong date in the header, and would multiply every value by 2**(delay/T1/2).
MAX_PET_DELAY_S = 14 * 86400.0


def _check_delay(dt: float, where: str, admin, when) -> None:
    if dt > MAX_PET_DELAY_S:
        raise DicomError(
            where,
            f"{dt / 86400:.1f} days between administration {admin.isoformat()} and acquisition {when.isoformat()}; "
            f"plausible up to {MAX_PET_DELAY_S / 86400:.0f} days (check the dates)",
        )


def pet_values(items, label, units_raw, calibration, allow_other, half_life):
    """Unit, scale and per-slice decay factors of a PT series (slices in position order).

    Parameters
    ----------
    items : list of (path, Dataset)
        The slices, sorted.
    label : str
        Series description for messages.
    units_raw : str
        Units (0054,1001) of the first slice, upper case.
    calibration, allow_other, half_life
        As in :func:`dosimetry.io.load_series`.

    Returns
    -------
    tuple
        (unit, scale, factors, administration datetime, radionuclide name, warnings): value =
        stored * RescaleSlope * scale * factors[k] in ``unit``, referred to the administration.
    """
    warnings: list[str] = []
    f0, ds0 = items[0]
    for f, ds in items[1:]:
        if text(ds, "Units").upper() != units_raw:
            raise DicomError(f"{f}: Units", f"{text(ds, 'Units')!r} differs from {units_raw!r} in {f0.name}")
    # -- values and unit
    if units_raw == "BQML":
        if calibration is not None:
            try:
                cross = quantity(calibration, "dimensionless", "calibration", minimum=0, include_minimum=False)
            except Exception as exc:
                raise DicomError("calibration", f"Units BQML is already an activity concentration; only a dimensionless cross-calibration factor is accepted ({exc})") from exc
            scale = float(cross.magnitude)
            warnings.append(f"cross-calibration factor {scale:g} applied to BQML values")
        else:
            scale = 1.0
        unit = ureg.Unit("Bq/mL")
    else:
        if not units_raw:
            raise DicomError(f"{f0}: Units", "missing; cannot tell whether values are Bq/mL")
        if calibration is None:
            raise DicomError(
                f"{f0}: Units",
                f"{units_raw!r} is not BQML; give a calibration (Bq/mL per stored unit) to read this PET, or export it in Bq/mL",
            )
        raw_unit = ureg.Unit(_PT_UNITS.get(units_raw, "dimensionless"))
        scale, unit = apply_calibration(raw_unit, calibration, "calibration")
        warnings.append(f"PT Units {units_raw!r} converted to Bq/mL with the given calibration")

    # -- radionuclide
    rinfo = None
    if "RadiopharmaceuticalInformationSequence" in ds0 and len(ds0.RadiopharmaceuticalInformationSequence):
        rinfo = ds0.RadiopharmaceuticalInformationSequence[0]
    names = []
    hl_header = None
    if rinfo is not None:
        if "RadionuclideCodeSequence" in rinfo and len(rinfo.RadionuclideCodeSequence):
            names.append(text(rinfo.RadionuclideCodeSequence[0], "CodeMeaning"))
        names.append(text(rinfo, "Radiopharmaceutical"))
        names.append(text(rinfo, "Radionuclide"))
        v = floats(rinfo, "RadionuclideHalfLife", f"{f0}: RadiopharmaceuticalInformationSequence", required=False)
        hl_header = Q_(float(v[0]), "s").to("h") if v is not None and v[0] > 0 else None
    names = [x for x in names if x]
    nuclide = names[0] if names else ""
    says_y90 = any(_Y90_RE.search(x) for x in names)
    hl_y90_like = hl_header is not None and abs((hl_header / Y90.half_life).to("").magnitude - 1) <= 0.01
    if names and not says_y90:
        if not allow_other:
            raise DicomError(
                f"{f0}: RadionuclideCodeSequence",
                f"the header names {nuclide!r}, not Y-90; pass allow_other_radionuclide=True to read it anyway",
            )
        warnings.append(f"radionuclide {nuclide!r} is not Y-90 (accepted by override)")
    elif not names and hl_header is not None and not hl_y90_like:
        if not allow_other:
            raise DicomError(
                f"{f0}: RadionuclideHalfLife",
                f"{hl_header:.4g~P} is not the Y-90 half-life ({Y90.half_life:~P}); pass allow_other_radionuclide=True to read it anyway",
            )
        warnings.append(f"half-life {hl_header:.4g~P} is not Y-90's (accepted by override)")
    elif not names:
        warnings.append("the header does not name the radionuclide; assumed Y-90")
    if (says_y90 or not names) and hl_header is not None and not hl_y90_like:
        warnings.append(f"header RadionuclideHalfLife {hl_header:.4g~P} differs from Y-90's {Y90.half_life:~P} by more than 1 %; {Y90.half_life:~P} used")

    if half_life is not None:
        th = quantity(half_life, "h", "half_life", minimum=0, include_minimum=False)
    elif names and not says_y90 and hl_header is not None:
        th = hl_header
    elif not names and hl_header is not None and not hl_y90_like:
        th = hl_header
    else:
        th = Y90.half_life
    lam = math.log(2) / float(th.to("s").magnitude)  # 1/s

    # -- decay correction to administration time (DICOM PS3.3 C.8.9.1.1.5 DecayCorrection)
    dc = text(ds0, "DecayCorrection").upper()
    admin = None
    if rinfo is not None:
        admin = parse_dt(text(rinfo, "RadiopharmaceuticalStartDateTime"))
        if admin is None and text(rinfo, "RadiopharmaceuticalStartTime"):
            admin = parse_da_tm(text(ds0, "SeriesDate") or text(ds0, "AcquisitionDate"), text(rinfo, "RadiopharmaceuticalStartTime"))
    factors = np.ones(len(items))
    if dc == "ADMIN":
        pass
    elif dc in ("START", "NONE"):
        if admin is None:
            raise DicomError(
                f"{f0}: RadiopharmaceuticalStartDateTime",
                f"missing; needed to refer DecayCorrection {dc} values to the administration time",
            )
        if dc == "START":
            # Reference of START is the series (acquisition) start: SeriesDate/SeriesTime, as in the
            # QIBA/UWPET vendor-neutral SUV pseudo-code, unless it is later than the earliest
            # AcquisitionDate/Time (a reprocessed or re-reconstructed series carries a later
            # SeriesTime): then, as QIBA does, the earliest acquisition time.
            ref = parse_da_tm(text(ds0, "SeriesDate"), text(ds0, "SeriesTime"))
            times = [parse_da_tm(text(ds, "AcquisitionDate") or text(ds, "SeriesDate"), text(ds, "AcquisitionTime")) for _, ds in items]
            times = [t for t in times if t is not None]
            first_acq = min(times) if times else None
            if ref is None:
                if first_acq is None:
                    raise DicomError(f"{f0}: SeriesTime", "missing (and no AcquisitionTime); the DecayCorrection START reference time is unknown")
                ref = first_acq
            elif first_acq is not None and ref > first_acq:
                warnings.append(
                    f"{f0}: SeriesTime {ref.isoformat()} is after the first AcquisitionTime {first_acq.isoformat()} "
                    "(reprocessed series?); decay correction START refers to the acquisition time"
                )
                ref = first_acq
            dt = (ref - admin).total_seconds()
            if dt < 0:
                raise DicomError(f"{f0}: RadiopharmaceuticalStartDateTime", f"administration {admin.isoformat()} is after the series start {ref.isoformat()}")
            _check_delay(dt, f"{f0}: RadiopharmaceuticalStartDateTime", admin, ref)
            factors[:] = math.exp(lam * dt)
        else:
            for k, (f, ds) in enumerate(items):
                t = parse_da_tm(text(ds, "AcquisitionDate") or text(ds, "SeriesDate"), text(ds, "AcquisitionTime"))
                if t is None:
                    raise DicomError(f"{f}: AcquisitionTime", "missing; needed to decay-correct DecayCorrection NONE values")
                dt = (t - admin).total_seconds()
                if dt < 0:
                    raise DicomError(f"{f}: AcquisitionTime", f"acquisition {t.isoformat()} before administration {admin.isoformat()}")
                _check_delay(dt, f"{f}: AcquisitionTime", admin, t)
                dur = float(ds.get("ActualFrameDuration", 0) or 0) / 1000.0  # ms -> s
                # Mean over the frame of A0 exp(-lam t): A(t_start) (1 - exp(-lam T)) / (lam T).
                avg = 1.0 if dur <= 0 else (-math.expm1(-lam * dur)) / (lam * dur)
                factors[k] = math.exp(lam * dt) / avg
    else:
        raise DicomError(f"{f0}: DecayCorrection", f"{dc or '<missing>'} is not one of START, ADMIN, NONE")
    return unit, scale, factors, admin, nuclide, warnings
