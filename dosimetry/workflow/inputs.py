"""Plan inputs from the planning images: measured, typed, or both (and then compared).

Clinics plan from the Tc-99m MAA SPECT/CT (design brief, "Voxel dosimetry"; AAPM TG-144, Dezarn et
al. 2011): the lung shunt fraction, the tumour-to-normal ratios, the perfused, tumour and whole
liver volumes and the lung mass come from the images. In the patient file each of these is either
typed, or written ``"image"`` to take it from the images (``lung.shunt_fraction`` may also be
``"planar"``: geometric mean of the planar counts). When the images are there, every input is
measured as well; a typed value that disagrees with the image by more than :data:`TOLERANCES` is
kept (the physicist typed it) but shown beside the image value with a warning.

:func:`resolve_inputs` returns the patient file with every ``"image"`` replaced by the measured
value, and one :class:`InputSource` per input saying where the value used comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pint

from ..errors import InputError
from ..model import IMAGE, PatientFile
from ..ranges import PLAUSIBLE, plausible_quantity
from ..units import Q_

if TYPE_CHECKING:  # the measurements come from the images: their module (and scipy) only when there are images
    from ..voxel.measure import ImageMeasurements

__all__ = ["InputSource", "resolve_inputs", "TOLERANCES", "needs_images"]

#: Typed-vs-image disagreement beyond which a warning is given: (kind, tolerance). Of the order of
#: the measurement's reproducibility on MAA SPECT/CT (LSF: a few percentage points between SPECT
#: and planar; T/N and small volumes: tens of percent with partial-volume effects; lung mass from
#: CT: about 20 % against the 1 kg convention's spread). Project choices, documented in
#: docs/imaging-inputs.md.
TOLERANCES = {
    "lung_shunt_fraction": ("absolute", 0.02),
    "tumour_to_normal": ("relative", 0.20),
    "volume": ("relative", 0.10),
    "lung_mass": ("relative", 0.20),
}


@dataclass(frozen=True)
class InputSource:
    """Where one plan input comes from.

    Parameters
    ----------
    field : str
        Patient-file name, e.g. ``"lung.shunt_fraction"`` or ``"target.tumours[1].tumour_to_normal"``.
    label : str
        Human name, e.g. ``"lung shunt fraction"``.
    used : str
        ``"typed"``, ``"image"`` or ``"planar"``.
    value : pint.Quantity
        The value used by the plan.
    typed, image : pint.Quantity or None
        The typed and the image value, when there is one.
    agree : bool or None
        Whether typed and image agree within the tolerance (None when only one is known).
    tolerance : str
        The tolerance, as text.
    """

    field: str
    label: str
    used: str
    value: pint.Quantity
    typed: pint.Quantity | None = None
    image: pint.Quantity | None = None
    agree: bool | None = None
    tolerance: str = ""

    def to_json(self) -> dict:
        from ..units import to_json

        q = lambda x: None if x is None else to_json(x)  # noqa: E731
        return {"field": self.field, "label": self.label, "used": self.used, "value": q(self.value), "typed": q(self.typed), "image": q(self.image), "agree": self.agree, "tolerance": self.tolerance}


def _is_image(x) -> bool:
    return isinstance(x, str) and x == IMAGE


def needs_images(pf: PatientFile) -> bool:
    """Whether any plan input is to be taken from the images."""
    t = pf.target
    values = [pf.lung.shunt_fraction, pf.lung.mass, pf.liver.volume, t.volume] + [x.volume for x in t.tumours] + [x.tumour_to_normal for x in t.tumours]
    return any(_is_image(v) for v in values)


def _agree(kind: str, typed: float, image: float) -> tuple:
    k, tol = TOLERANCES[kind]
    if k == "absolute":
        return abs(typed - image) <= tol, f"+/-{tol * 100:g} percentage points"
    return (abs(typed / image - 1) <= tol if image else typed == image), f"+/-{tol * 100:g} %"


class _Resolver:
    def __init__(self, m: ImageMeasurements | None):
        self.m = m
        self.sources: list[InputSource] = []
        self.warnings: list[str] = []

    def one(self, field: str, label: str, kind: str, typed, image: pint.Quantity | None, unit: str, used_if_typed: str = "typed", range_key: str = "", why: str = ""):
        """The value to use for one input (a Quantity in ``unit``), recording its source; ``why``
        says why the images give no value (the refusal of an "image" input quotes it)."""
        if _is_image(typed):
            if image is None:
                if why:
                    raise InputError(field, f'"image" cannot be measured: {why}')
                raise InputError(field, f'"image" needs the planning images ([imaging] with the ROIs that give the {label})')
            if range_key in PLAUSIBLE:  # a measured value goes through the typed value's plausible range
                r = PLAUSIBLE[range_key]
                image = plausible_quantity(image.to(r.unit or "dimensionless"), r, f"{field} (measured on the images)", self.warnings)
            self.sources.append(InputSource(field, label, "image", image.to(unit), None, image.to(unit)))
            return image.to(unit)
        if typed is None:
            return None
        tq = typed if isinstance(typed, pint.Quantity) else Q_(float(typed), "dimensionless")
        src = InputSource(field, label, used_if_typed, tq.to(unit), tq.to(unit))
        if image is not None:
            ok, tol = _agree(kind, float(tq.to(unit).magnitude), float(image.to(unit).magnitude))
            src = replace(src, image=image.to(unit), agree=bool(ok), tolerance=tol)
            if not ok:
                self.warnings.append(
                    f"{label}: typed {_show(tq, unit, kind)} but the image gives {_show(image, unit, kind)} (beyond {tol}); the typed value is used, check which is right"
                )
        self.sources.append(src)
        return tq.to(unit)


def _show(q, unit: str, kind: str) -> str:
    """A value as it reads: a tumour-to-normal ratio as a ratio (3.00), a lung shunt fraction in %."""
    v = float(q.to(unit).magnitude)
    if kind == "tumour_to_normal":
        return f"{v:.2f}"
    return f"{v * 100:.2f} %" if unit == "dimensionless" else f"{v:.4g} {unit}"


def _no_shunt(m: ImageMeasurements | None) -> str:
    """Why the images give no lung shunt, with what to write instead."""
    if m is None or m.lung_shunt_fraction is not None:
        return ""
    return (f"{m.lung_shunt_note}; take the shunt from planar counts (shunt_fraction = \"planar\" with [lung.planar_counts]) "
            "or type it")


def _no_lung_mass(m: ImageMeasurements | None, pf: PatientFile) -> str:
    """Why the images give no lung mass."""
    if m is None or m.lung_mass is not None:
        return ""
    im = pf.imaging
    missing = [x for x, given in (("imaging.ct", im is not None and im.ct is not None), ("imaging.rois.lungs", im is not None and bool(im.lung_rois))) if not given]
    return "the lung mass is measured on the CT inside the lung ROIs; " + (f"give {' and '.join(missing)}" if missing else "the lung ROIs are not on the CT") + ", or type it"


def resolve_inputs(pf: PatientFile, measured: ImageMeasurements | None) -> tuple:
    """The patient file with every ``"image"`` input measured, and where each input comes from.

    Parameters
    ----------
    pf : PatientFile
        Validated inputs; some may be ``"image"``.
    measured : ImageMeasurements or None
        The planning images' measurements (:func:`dosimetry.voxel.measure.measure_plan_inputs`).

    Returns
    -------
    (PatientFile, tuple of InputSource, tuple of str)
        Resolved inputs, their sources, and warnings (typed and image values that disagree).

    Raises
    ------
    InputError
        ``"image"`` without the images or ROIs it needs, naming the field.
    """
    m = measured
    r = _Resolver(m)
    lsf = r.one("lung.shunt_fraction", "lung shunt fraction", "lung_shunt_fraction", pf.lung.shunt_fraction, None if m is None else m.lung_shunt_fraction, "dimensionless",
                pf.lung.shunt_fraction_source, "lung.shunt_fraction", why=_no_shunt(m))
    lung_mass = r.one("lung.mass", "lung mass", "lung_mass", pf.lung.mass, None if m is None else m.lung_mass, "kg", range_key="lung.mass", why=_no_lung_mass(m, pf))
    liver_volume = r.one("liver.volume", "whole liver volume", "volume", pf.liver.volume, None if m is None else m.whole_liver_volume, "mL", range_key="liver.volume")
    target_volume = r.one("target.volume", "perfused volume", "volume", pf.target.volume, None if m is None else m.perfused_volume, "mL", range_key="target.volume")
    tumours = []
    for i, t in enumerate(pf.target.tumours, 1):
        name = f"target.tumours[{i}]"
        img_v = None if m is None else m.tumour_volumes.get(t.name)
        img_r = None if m is None else m.tumour_to_normal.get(t.name)
        if (_is_image(t.volume) or _is_image(t.tumour_to_normal)) and m is not None and t.name not in m.tumour_volumes:
            raise InputError(f"{name}.name", f"no tumour ROI named {t.name!r} in imaging.rois.tumours (the tumour's name must be its ROI's)")
        vol = r.one(f"{name}.volume", f"{t.name} volume", "volume", t.volume, img_v, "mL", range_key="target.tumours.volume")
        ratio = r.one(f"{name}.tumour_to_normal", f"{t.name} tumour-to-normal ratio", "tumour_to_normal", t.tumour_to_normal, img_r, "dimensionless", range_key="target.tumour_to_normal")
        tumours.append(replace(t, volume=vol, tumour_to_normal=None if ratio is None else float(ratio.magnitude)))
    density = pf.liver.density
    target = replace(pf.target, volume=target_volume, mass=(target_volume * density).to("kg"), tumours=tuple(tumours))
    out = replace(
        pf,
        lung=replace(pf.lung, shunt_fraction=float(lsf.magnitude), mass=lung_mass),
        liver=replace(pf.liver, volume=liver_volume),
        target=target,
    )
    warnings = list(r.warnings) + ([] if m is None else list(m.warnings))
    return out, tuple(r.sources), tuple(warnings)
