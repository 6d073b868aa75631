"""Checks that each ROI is where its role says: one role per ROI, tumours and the perfused territory
inside the liver ROI, lungs outside it (refusals), and the segmentation registered with the CT
(warnings)."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..units import Q_
from ..voxel import Volume


#: Smallest share of a tumour ROI's volume that must lie inside the liver ROI. The liver ROI holds the
#: tumours (docs/voxel.md, "ROI roles"): a tumour mostly outside it is a wrong ROI (a lung, the
#: other lobe's territory), whose counts would then be neither liver nor lung in the relative
#: calibration. 10 % of slack covers contours drawn a little past the liver capsule. The share is
#: measured with the partial-volume fractions, voxel by voxel min(w_tumour, w_liver): for nested
#: contours that is the tumour's own fraction (100 %), and for touching ones it can only over-state.
MIN_TUMOUR_IN_LIVER = 0.90

#: Largest share of a lung ROI's volume that may lie inside the liver ROI. The right lung base and
#: the liver dome share boundary voxels on a SPECT grid (about 0.5-2 % of a lung at 4-5 mm voxels);
#: a larger certain overlap, voxel by voxel max(0, w_lung + w_liver - 1), is a wrong ROI or a
#: misregistered segmentation, and its counts cannot be both lung shunt and liver uptake.
MAX_LUNG_IN_LIVER = 0.10


def check_roles(liver_parts: tuple, tumours: tuple, lungs: tuple, perfused: str | None) -> None:
    """Refuse an ROI named in two roles (or twice in one): one region cannot be liver and lung,
    tumour and lung, or the whole liver and one of its tumours. A tumour may be one of the liver's
    parts (a label map's liver is parenchyma + tumours), but not every part."""
    for field_, names in (("imaging.rois.liver", liver_parts), ("imaging.rois.tumours", tumours), ("imaging.rois.lungs", lungs)):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InputError(field_, f"ROI {twice[0]!r} is named twice; name each ROI once")
    for n in lungs:
        if n in liver_parts or n == perfused:
            raise InputError("imaging.rois.lungs", f"ROI {n!r} is also the liver{' (perfused territory)' if n == perfused else ''}; a lung ROI must be a separate region")
        if n in tumours:
            raise InputError("imaging.rois.tumours", f"ROI {n!r} is also a lung ROI; give each ROI one role (liver, tumour or lung)")
    if tumours and all(p in tumours for p in liver_parts):
        raise InputError("imaging.rois.tumours", f"ROI {liver_parts[0]!r} is the liver ROI; a tumour must be a region inside the liver, not the liver itself")


def _share_mL(grid: Volume, w) -> float:
    return float(np.sum(w)) * grid.voxel_volume.to("mL").magnitude


def check_inside_liver(liver: Volume, rois: dict, grid: Volume, *, role: str = "tumour", field: str = "imaging.rois.tumours") -> None:
    """Refuse a tumour (or perfused-territory) ROI with less than :data:`MIN_TUMOUR_IN_LIVER` of its
    volume in the liver ROI: the liver ROI holds the territory and its tumours."""
    wl = np.asarray(liver.array, np.float64)
    for n, m in rois.items():
        wt = np.asarray(m.array, np.float64)
        total = wt.sum()
        if total <= 0:
            continue  # an empty ROI is refused by the reader or reported as empty
        inside = float(np.minimum(wt, wl).sum() / total)
        if inside < MIN_TUMOUR_IN_LIVER:
            raise InputError(
                field,
                f"{role} ROI {n!r} ({_share_mL(grid, wt):.4g} mL) lies {inside:.0%} inside the liver ROI; a {role} must lie inside the liver ROI "
                f"(at least {MIN_TUMOUR_IN_LIVER:.0%} of its volume): is it the right ROI?",
                allowed=f">= {MIN_TUMOUR_IN_LIVER:.0%} of the {role} volume inside the liver ROI",
            )


def check_lungs_outside_liver(liver: Volume, lungs: dict, grid: Volume) -> None:
    """Refuse a lung ROI with more than :data:`MAX_LUNG_IN_LIVER` of its volume surely inside the liver ROI."""
    wl = np.asarray(liver.array, np.float64)
    for n, m in lungs.items():
        w = np.asarray(m.array, np.float64)
        total = w.sum()
        if total <= 0:
            continue
        overlap = float(np.clip(w + wl - 1.0, 0.0, None).sum() / total)
        if overlap > MAX_LUNG_IN_LIVER:
            raise InputError(
                "imaging.rois.lungs",
                f"lung ROI {n!r} ({_share_mL(grid, w):.4g} mL) lies {overlap:.0%} inside the liver ROI; lungs and liver must be separate regions "
                f"(at most {MAX_LUNG_IN_LIVER:.0%} overlap at their boundary): is it the right ROI, or is the segmentation misregistered?",
                allowed=f"<= {MAX_LUNG_IN_LIVER:.0%} of the lung volume inside the liver ROI",
            )


#: Registration check of the segmentation against the CT (issue 16): density [g/mL] below which a
#: voxel is lung or air (inflated lung about 0.26 g/mL, ICRU 46; 0.5 g/mL is about -500 HU on
#: HU_DENSITY_CURVE) and at or above which it is soft tissue (fat 0.95, soft tissue 1.0-1.06 g/mL,
#: ICRU 46; 0.9 g/mL is about -100 HU), and the share of an ROI's volume beyond which the ROI is
#: said to be off the CT. A liver never has lung density; the lung ROI's vessels and its boundary
#: voxels on a 4-5 mm grid are about 1 % soft tissue in the phantom and a few % in patients, so
#: lungs get a wider margin. On the phantom a 50 mm shift puts 33-68 % of each lung ROI on soft
#: tissue (tests/workflow/test_registration_warning.py).
REGISTRATION_LUNG_DENSITY = Q_(0.5, "g/mL")
REGISTRATION_TISSUE_DENSITY = Q_(0.9, "g/mL")
REGISTRATION_SHARE = {"liver": 0.10, "lung": 0.20}


def registration_warnings(density: Volume, liver_name: str, liver: Volume, lungs: dict) -> list[str]:
    """Warn when the liver ROI lies largely on lung or air, or a lung ROI on soft tissue, in the CT:
    the segmentation may not be registered with the CT (NRRD / NIfTI carry no frame of reference)."""
    rho = np.asarray(density.array, np.float64) * float(Q_(1, density.unit).to("g/mL").magnitude)
    low = rho < REGISTRATION_LUNG_DENSITY.to("g/mL").magnitude
    tissue = rho >= REGISTRATION_TISSUE_DENSITY.to("g/mL").magnitude
    checks = [(liver_name, liver, low, "liver", "lung or air (< 0.5 g/mL)")]
    checks += [(n, m, tissue, "lung", "soft tissue (>= 0.9 g/mL)") for n, m in lungs.items()]
    out = []
    for name, mask, wrong, role, what in checks:
        w = np.asarray(mask.array, np.float64)
        if w.sum() <= 0:
            continue
        share = float((w * wrong).sum() / w.sum())
        if share > REGISTRATION_SHARE[role]:
            out.append(
                f"{share:.0%} of the {role} ROI {name!r} has the CT density of {what}: the segmentation may not be registered with the CT "
                f"(more than {REGISTRATION_SHARE[role]:.0%} is unusual); check it on the CT before using the doses"
            )
    return out
