"""Post-treatment study of a phantom patient: the Y-90 delivered, imaged by PET or bremsstrahlung
SPECT, with its own CT and RTSTRUCT in its own frame of reference.

The planning study (usually a Tc-99m MAA phantom, ``make_patient(..., radionuclide="Tc-99m")``)
predicts the sphere distribution; the post-treatment study shows the distribution delivered:

* **the same patient, moved**: every shape is moved by a rigid transform (``p' = R p + t``,
  :mod:`phantoms.pose`; default :data:`phantoms.pose.DEFAULT_POST_TRANSFORM`, 4 degrees about
  (0.3, 0, 1) and (12, -9, -15) mm) and scanned on the same grids in a new frame of reference:
  new StudyInstanceUID and FrameOfReferenceUID, same PatientID and PatientName;
* **a stated departure from the plan**: tumour ratios multiplied by ``tumour_ratio_factors``
  (default Tumour 2 halved), lung shunt fraction plus ``lung_shunt_change`` (default +2
  percentage points), everything else as planned;
* **the activity delivered**: ``administered x (1 - residual_fraction)`` (default 5 % residual
  in the vial and delivery set, an assumed typical value), partitioned as the planning phantom's
  with the delivered ratios and lung shunt. RadionuclideTotalDose states the administered activity
  (as a console records it); the image holds the delivered one.

The truth (``truth.json``) holds the delivered truth per region (activities, exact and
voxel-sampled local-deposition mean doses, transport mean doses, delivered lung shunt and ratios)
and, under ``post_treatment``, the transform, the residual and the planned figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from dosimetry.errors import InputError
from dosimetry.units import Q_, fraction

from . import write as w
from .patient import PhantomArrays, _build, _write_patient
from .pose import DEFAULT_POST_TRANSFORM, RigidTransform
from .spec import PhantomSpec, Tumour, make_spec
from .truth import PostTreatmentTruth, Truth

__all__ = ["PostTreatment", "post_treatment_spec", "make_post_treatment", "make_post_arrays",
           "DEFAULT_RESIDUAL_FRACTION", "DEFAULT_LUNG_SHUNT_CHANGE", "DEFAULT_TUMOUR_RATIO_FACTORS"]

#: Default residual fraction (vial and delivery set): an assumed typical value; glass residuals
#: are usually a few percent and resin losses of several percent are reported.
DEFAULT_RESIDUAL_FRACTION = 0.05
#: Default change of the lung shunt fraction, delivered minus planned (+2 percentage points).
DEFAULT_LUNG_SHUNT_CHANGE = 0.02
#: Default tumour change: Tumour 2 takes half its planned ratio (when the patient has a Tumour 2).
DEFAULT_TUMOUR_RATIO_FACTORS = {"Tumour 2": 0.5}


@dataclass(frozen=True)
class PostTreatment:
    """What makes a phantom spec a post-treatment study (see :func:`post_treatment_spec`)."""

    planning: PhantomSpec
    transform: RigidTransform
    residual_fraction: float
    tumour_ratio_factors: tuple  # ((name, factor), ...) in tumour order
    lung_shunt_change: float

    def key(self) -> dict:
        """What enters the patient digest (UIDs): a new study and frame per post-treatment study."""
        return {"matrix": [[float(v) for v in row] for row in self.transform.matrix], "residual": self.residual_fraction,
                "planning": self.planning.anatomy_key()}

    def truth(self, spec: PhantomSpec) -> PostTreatmentTruth:
        """The post_treatment block of the study's truth."""
        p = self.planning
        uids = w.make_uids(p.anatomy_key(), p.emission_key(), 0, 0)
        return PostTreatmentTruth(
            transform=self.transform,
            residual_fraction=self.residual_fraction,
            delivered=spec.delivered.to("GBq"),
            planned_lung_shunt_fraction=p.lung_shunt_fraction,
            planned_tumour_to_normal={f"Tumour {i}": t.ratio for i, t in enumerate(p.tumours, 1)},
            tumour_ratio_factors=dict(self.tumour_ratio_factors),
            lung_shunt_change=self.lung_shunt_change,
            planning_uids={"study_instance_uid": uids["study"], "frame_of_reference_uid": uids["frame_of_reference"]},
            planning_radionuclide=p.radionuclide,
        )


def _planning(planning) -> PhantomSpec:
    if planning is None:
        return make_spec()
    if isinstance(planning, PhantomSpec):
        if planning.post is not None:
            raise InputError("planning", "is itself a post-treatment study; give the planning study's parameters")
        return planning
    if isinstance(planning, Mapping):
        return make_spec(**planning)
    raise InputError("planning", f"expected the planning phantom's keyword arguments (a mapping) or a PhantomSpec, got {type(planning).__name__}")


def _transform(value) -> RigidTransform:
    if value is None:
        return DEFAULT_POST_TRANSFORM
    if isinstance(value, RigidTransform):
        return value
    if not isinstance(value, Mapping) or set(value) - {"rotation_deg", "rotation_axis", "translation_mm"}:
        raise InputError("transform", "expected a RigidTransform or a mapping with rotation_deg, rotation_axis, translation_mm")
    d = {"rotation_deg": 0.0, "rotation_axis": (0.0, 0.0, 1.0), "translation_mm": (0.0, 0.0, 0.0), **value}
    try:
        return RigidTransform(d["rotation_deg"], tuple(d["rotation_axis"]), tuple(d["translation_mm"]))
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        raise InputError(f"transform.{msg.split(':', 1)[0]}" if ":" in msg else "transform", msg.split(": ", 1)[-1]) from exc


def _ratio_factors(value, tumours) -> tuple:
    names = [f"Tumour {i}" for i in range(1, len(tumours) + 1)]
    if value is None:
        value = {n: f for n, f in DEFAULT_TUMOUR_RATIO_FACTORS.items() if n in names}
    if not isinstance(value, Mapping):
        raise InputError("tumour_ratio_factors", "expected a mapping of tumour name to factor, e.g. {'Tumour 2': 0.5}")
    out = []
    for name, f in value.items():
        if name not in names:
            raise InputError("tumour_ratio_factors", f"{name!r}: the planning patient has {names or 'no tumours'}")
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or not (0 < f <= 100):
            raise InputError(f"tumour_ratio_factors.{name}", f"{f!r} is out of range; allowed (0, 100]")
        out.append((name, float(f)))
    return tuple(sorted(out, key=lambda x: names.index(x[0])))


def post_treatment_spec(planning=None, *, modality: str = "PT", transform=None, residual_fraction=DEFAULT_RESIDUAL_FRACTION,
                        tumour_ratio_factors=None, lung_shunt_change: float = DEFAULT_LUNG_SHUNT_CHANGE, administered=None,
                        administration_datetime=None, acquisition_delay=None, acquisition_duration=Q_(20.0, "min"),
                        fwhm_mm=None, noise: bool = False, sensitivity=None, seed=None, emission_grid: str = "native") -> PhantomSpec:
    """Validated parameters of a post-treatment study (the keyword arguments of :func:`make_post_treatment`).

    Parameters
    ----------
    planning : mapping or PhantomSpec, optional
        The planning patient: the keyword arguments given to :func:`phantoms.make_patient` for it
        (e.g. ``{"radionuclide": "Tc-99m", "tumours": 4}``), or its :func:`phantoms.make_spec`.
        Default: the default phantom. Anatomy, tumours, HU, densities, patient ID and name, CT
        size and seed come from it.
    modality : {"PT", "NM"}
        Y-90 PET (Bq/mL, DecayCorrection START) or Y-90 bremsstrahlung SPECT (counts).
    transform : RigidTransform or mapping, optional
        Planning -> post-treatment coordinates (``rotation_deg`` [0, 30], ``rotation_axis``,
        ``translation_mm`` within +-100 mm); default :data:`phantoms.pose.DEFAULT_POST_TRANSFORM`.
    residual_fraction : float or str
        Fraction of the administered activity not delivered, [0, 1) (default 0.05).
    tumour_ratio_factors : mapping, optional
        Tumour name -> delivered / planned tumour-to-normal ratio, (0, 100]; default
        ``{"Tumour 2": 0.5}`` when the patient has a Tumour 2, else none.
    lung_shunt_change : float
        Delivered minus planned lung shunt fraction (default +0.02); the result must be in [0, 1).
    administered : pint.Quantity or str, optional
        Y-90 activity administered [GBq]; default the planning phantom's ``administered``.
    administration_datetime : datetime.datetime, optional
        Y-90 administration (RadiopharmaceuticalStartDateTime); default the planning phantom's
        (for an MAA planning phantom this takes work-up and treatment as one day, as the demo
        patient file does; pass the treatment time to separate them).
    acquisition_delay, acquisition_duration, fwhm_mm, noise, sensitivity, emission_grid
        As for :func:`phantoms.make_spec` (Y-90 defaults: 20 h, 20 min, 6 mm PT / 15 mm NM, ...).
    seed : int, optional
        Default the planning phantom's seed.

    Returns
    -------
    PhantomSpec
        With ``post`` set.

    Raises
    ------
    InputError
        Naming the offending parameter and its allowed range.
    """
    plan = _planning(planning)
    factors = _ratio_factors(tumour_ratio_factors, plan.tumours)
    if isinstance(lung_shunt_change, bool) or not isinstance(lung_shunt_change, (int, float)) or not math.isfinite(lung_shunt_change):
        raise InputError("lung_shunt_change", f"{lung_shunt_change!r}: expected a number (a fraction, 0.02 = 2 percentage points)")
    lsf = plan.lung_shunt_fraction + float(lung_shunt_change)
    if not 0.0 <= lsf < 1.0:
        raise InputError("lung_shunt_change", f"{lung_shunt_change!r} gives a lung shunt fraction of {lsf:g}; allowed [0, 1)")
    residual = float(fraction(residual_fraction, "residual_fraction"))
    by_name = dict(factors)
    tumours = [Tumour(t.centre_mm, t.semi_axes_mm, t.ratio * by_name.get(f"Tumour {i}", 1.0)) for i, t in enumerate(plan.tumours, 1)]
    spec = make_spec(
        seed=plan.seed if seed is None else seed, modality=modality, size=plan.size, tumours=tumours, lung_shunt_fraction=lsf,
        administered=plan.administered if administered is None else administered, acquisition_delay=acquisition_delay,
        acquisition_duration=acquisition_duration, fwhm_mm=fwhm_mm, noise=noise, sensitivity=sensitivity, bone=plan.bone,
        patient_id=plan.patient_id, patient_name=plan.patient_name,
        administration_datetime=plan.administration_datetime if administration_datetime is None else administration_datetime,
        hu=dict(plan.hu), density=dict(plan.density), emission_grid=emission_grid, radionuclide="Y-90",
    )
    post = PostTreatment(planning=plan, transform=_transform(transform), residual_fraction=residual,
                         tumour_ratio_factors=factors, lung_shunt_change=float(lung_shunt_change))
    return replace(spec, post=post)


def make_post_arrays(planning=None, **kwargs) -> PhantomArrays:
    """The post-treatment study in memory (the keyword arguments of :func:`post_treatment_spec`).

    ``labels_ct``, ``hu``, ``labels``, ``activity`` and ``image`` are on the post-treatment grids,
    in post-treatment coordinates; ``activity`` sums to the delivered activity; ``anatomy`` is the
    moved anatomy; ``truth.post_treatment`` holds the transform.
    """
    return _build(post_treatment_spec(planning, **kwargs))


def make_post_treatment(out_dir, planning=None, **kwargs) -> Truth:
    """Write the post-treatment study of a phantom patient as DICOM plus ``truth.json``.

    Same layout and guarantees as :func:`phantoms.make_patient` (``ct/``, ``pt/`` or ``nm/``,
    ``rtstruct.dcm``, ``truth.json``; refuses a non-empty ``out_dir``; nothing partial is left).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to create.
    planning : mapping or PhantomSpec, optional
        The planning patient (see :func:`post_treatment_spec`).
    **kwargs
        The keyword arguments of :func:`post_treatment_spec` (modality, transform,
        residual_fraction, tumour_ratio_factors, lung_shunt_change, ...).

    Returns
    -------
    Truth
        The delivered truth, with ``post_treatment`` and the written UIDs and files.
    """
    return _write_patient(out_dir, lambda: post_treatment_spec(planning, **kwargs))
