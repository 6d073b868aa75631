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
from .dicom_elements import DicomError, floats, parse_da_tm, parse_dt, text

__all__ = ["apply_calibration", "pet_values", "administration_time", "decay_factors"]


def apply_calibration(raw_unit: pint.Unit, calibration, field: str) -> tuple[float, pint.Unit]:
    """(factor, unit) turning stored*rescaled values in ``raw_unit`` into Bq/mL with ``calibration``."""
    if calibration is None:
        return 1.0, raw_unit
    if isinstance(calibration, str):
        cal: object
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


def pet_values(items, label, units_raw, calibration, allow_other, half_life, require_administration=True) -> tuple:
    """Unit, scale and per-slice decay factors of a PT series (slices in position order).

    Parameters
    ----------
    items : list of (path, Dataset)
        The slices, sorted.
    label : str
        Series description for messages.
    units_raw : str
        Units (0054,1001) of the first slice, upper case.
    calibration, allow_other, half_life, require_administration
        As in :func:`dosimetry.io.load_series`.

    Returns
    -------
    tuple
        (unit, scale, factors, administration datetime, radionuclide name, warnings,
        at_administration, note): value = stored * RescaleSlope * scale * factors[k] in ``unit``,
        referred to the administration when ``at_administration`` (else ``note`` says why not).
    """
    warnings: list[str] = []
    f0, ds0 = items[0]
    unit, scale = _pet_unit(items, units_raw, calibration, warnings)
    _same_radiopharmaceutical(items)
    rinfo, nuclide, lam = _pet_radionuclide(ds0, f0, allow_other, half_life, warnings)

    # -- decay correction to administration time (DICOM PS3.3 C.8.9.1.1.5 DecayCorrection)
    admin = administration_time(ds0, rinfo)
    factors, at_admin, note = decay_factors(items, text(ds0, "DecayCorrection").upper(), admin, lam, require_administration, warnings)
    return unit, scale, factors, admin, nuclide, warnings, at_admin, note


def _pet_unit(items, units_raw: str, calibration, warnings: list) -> tuple:
    """(unit, scale) of a PT series' values: Bq/mL for Units BQML (times a cross-calibration factor),
    else the given calibration; every slice must state the same Units (0054,1001)."""
    f0 = items[0][0]
    for f, ds in items[1:]:
        if text(ds, "Units").upper() != units_raw:
            raise DicomError(f"{f}: Units", f"{text(ds, 'Units')!r} differs from {units_raw!r} in {f0.name}")
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
    return unit, scale


#: What each slice of one PET series must state alike: the radionuclide and its administration are read
#: from the first slice (RadiopharmaceuticalInformationSequence (0054,0016)).
_RADIOPHARMACEUTICAL = ("Radiopharmaceutical", "Radionuclide", "RadionuclideHalfLife", "RadionuclideTotalDose",
                        "RadiopharmaceuticalStartDateTime", "RadiopharmaceuticalStartTime")


def _radiopharmaceutical(ds) -> tuple:
    """The slice's RadiopharmaceuticalInformationSequence[0] as text: RadionuclideCodeSequence[0] >
    CodeMeaning and the elements of ``_RADIOPHARMACEUTICAL`` ("" where absent)."""
    if "RadiopharmaceuticalInformationSequence" not in ds or not len(ds.RadiopharmaceuticalInformationSequence):
        return ()
    rinfo = ds.RadiopharmaceuticalInformationSequence[0]
    code = rinfo.RadionuclideCodeSequence[0] if "RadionuclideCodeSequence" in rinfo and len(rinfo.RadionuclideCodeSequence) else None
    return (text(code, "CodeMeaning") if code is not None else "",) + tuple(text(rinfo, k) for k in _RADIOPHARMACEUTICAL)


def _same_radiopharmaceutical(items) -> None:
    """Refuse a series whose slices name another radionuclide, half-life, dose or administration time than
    its first slice (they would be read as the first slice's: a Y-90 PET with an F-18 slice, say)."""
    f0, ds0 = items[0]
    first = _radiopharmaceutical(ds0)
    for f, ds in items[1:]:
        this = _radiopharmaceutical(ds)
        if this != first:
            raise DicomError(f"{f}: RadiopharmaceuticalInformationSequence",
                             f"{' / '.join(x for x in this if x) or 'absent'!r} differs from {' / '.join(x for x in first if x) or 'absent'!r} "
                             f"in {f0.name}; every slice of one PET series must name the same radionuclide and administration")


def _pet_radionuclide(ds0, f0, allow_other: bool, half_life, warnings: list) -> tuple:
    """(RadiopharmaceuticalInformationSequence item or None, radionuclide name, decay constant [1/s]):
    Y-90 unless the header names another radionuclide or half-life (read only with ``allow_other``)."""
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
    return rinfo, nuclide, lam


def administration_time(ds0, rinfo):
    """RadiopharmaceuticalStartDateTime (0018,1078), else SeriesDate + RadiopharmaceuticalStartTime (0018,1072); None when absent."""
    if rinfo is None:
        return None
    admin = parse_dt(text(rinfo, "RadiopharmaceuticalStartDateTime"))
    if admin is None and text(rinfo, "RadiopharmaceuticalStartTime"):
        admin = parse_da_tm(text(ds0, "SeriesDate") or text(ds0, "AcquisitionDate"), text(rinfo, "RadiopharmaceuticalStartTime"))
    return admin


def _start_reference(items, warnings: list):
    """Reference time of DecayCorrection START: SeriesDate/SeriesTime, as in the QIBA/UWPET
    vendor-neutral SUV pseudo-code, unless it is later than the earliest AcquisitionDate/Time (a
    reprocessed or re-reconstructed series carries a later SeriesTime): then, as QIBA does, the
    earliest acquisition time."""
    f0, ds0 = items[0]
    ref = parse_da_tm(text(ds0, "SeriesDate"), text(ds0, "SeriesTime"))
    parsed = [parse_da_tm(text(ds, "AcquisitionDate") or text(ds, "SeriesDate"), text(ds, "AcquisitionTime")) for _, ds in items]
    times = [t for t in parsed if t is not None]
    first_acq = min(times) if times else None
    if ref is None:
        if first_acq is None:
            raise DicomError(f"{f0}: SeriesTime", "missing (and no AcquisitionTime); the DecayCorrection START reference time is unknown")
        return first_acq
    if first_acq is not None and ref > first_acq:
        warnings.append(
            f"{f0}: SeriesTime {ref.isoformat()} is after the first AcquisitionTime {first_acq.isoformat()} "
            "(reprocessed series?); decay correction START refers to the acquisition time"
        )
        return first_acq
    return ref


def _frame_times(items):
    """Acquisition start of every frame (DecayCorrection NONE) and its mean-decay factor over ActualFrameDuration."""
    out = []
    for f, ds in items:
        t = parse_da_tm(text(ds, "AcquisitionDate") or text(ds, "SeriesDate"), text(ds, "AcquisitionTime"))
        if t is None:
            raise DicomError(f"{f}: AcquisitionTime", "missing; needed to decay-correct DecayCorrection NONE values")
        out.append((f, t, float(ds.get("ActualFrameDuration", 0) or 0) / 1000.0))  # ms -> s
    return out


def decay_factors(items, dc: str, admin, lam: float, require_administration: bool, warnings: list) -> tuple:
    """Per-frame factors referring the values to the administration (DICOM PS3.3 C.8.9.1.1.5).

    ADMIN: 1. START: exp(lam (t_start - t_admin)), t_start by :func:`_start_reference`. NONE: per
    frame exp(lam (t_k - t_admin)) / ((1 - exp(-lam T_k)) / (lam T_k)), the mean over the frame
    duration T_k (ActualFrameDuration). Without the administration time (RadiopharmaceuticalStartDateTime)
    the values are refused when ``require_administration``; otherwise START values are kept as they
    are (referred to the series start) and NONE frames are referred to the first frame's start, and
    the returned note says so (enough for a relative calibration, which scales the image as a whole).

    Returns
    -------
    (numpy.ndarray, bool, str)
        Factors, whether they refer the values to the administration, and why not.
    """
    f0 = items[0][0]
    factors = np.ones(len(items))
    if dc == "ADMIN":
        return factors, True, ""
    if dc not in ("START", "NONE"):
        raise DicomError(f"{f0}: DecayCorrection", f"{dc or '<missing>'} is not one of START, ADMIN, NONE")
    note = ""
    if admin is None:
        if require_administration:
            raise DicomError(f"{f0}: RadiopharmaceuticalStartDateTime", f"missing; needed to refer DecayCorrection {dc} values to the administration time")
        note = f"DecayCorrection {dc} and no RadiopharmaceuticalStartDateTime (0018,1078): the values refer to the acquisition, not to the administration"
    if dc == "START":
        ref = _start_reference(items, warnings)
        if admin is not None:
            dt = (ref - admin).total_seconds()
            if dt < 0:
                raise DicomError(f"{f0}: RadiopharmaceuticalStartDateTime", f"administration {admin.isoformat()} is after the series start {ref.isoformat()}")
            _check_delay(dt, f"{f0}: RadiopharmaceuticalStartDateTime", admin, ref)
            factors[:] = math.exp(lam * dt)
        return factors, admin is not None, note
    frames = _frame_times(items)
    origin = admin if admin is not None else min(t for _, t, _ in frames)
    for k, (f, t, dur) in enumerate(frames):
        dt = (t - origin).total_seconds()
        if dt < 0:
            raise DicomError(f"{f}: AcquisitionTime", f"acquisition {t.isoformat()} before administration {admin.isoformat()}")
        if admin is not None:
            _check_delay(dt, f"{f}: AcquisitionTime", admin, t)
        # Mean over the frame of A0 exp(-lam t): A(t_start) (1 - exp(-lam T)) / (lam T).
        avg = 1.0 if dur <= 0 else (-math.expm1(-lam * dur)) / (lam * dur)
        factors[k] = math.exp(lam * dt) / avg
    return factors, admin is not None, note
