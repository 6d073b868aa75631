"""Ground truth of a phantom patient: frozen dataclasses and their JSON form.

JSON conventions: every quantity is ``{"value": number, "unit": "..."}``
(:func:`dosimetry.units.to_json`); dates and times are ISO 8601 strings without a time zone.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pint

from dosimetry.units import Q_, to_json
from dosimetry.voxel.dose import HU_DENSITY_CURVE

if TYPE_CHECKING:
    from .pose import RigidTransform

__all__ = ["RegionTruth", "GridInfo", "Truth", "PostTreatmentTruth", "SCHEMA_VERSION", "LABEL_NAMES", "EMISSION_MODEL"]

#: How the emission voxels are filled (docs/phantoms.md, :mod:`phantoms.emission`).
EMISSION_MODEL = "volume_average"

#: Version of the truth.json layout; bumped on incompatible changes. 2: volume-averaged emission
#: (voxel figures redefined on it, occupancy figures added), ``delivered``, ``post_treatment``.
SCHEMA_VERSION = 2

#: Meaning of the voxel labels (phantoms.anatomy); tumour i has label 10 + i.
LABEL_NAMES = {"0": "outside", "1": "body", "2": "spine", "3": "lung L", "4": "lung R", "5": "normal liver",
               "10+i": "tumour i"}


def _q(q):
    return None if q is None else to_json(q)


@dataclass(frozen=True)
class RegionTruth:
    """Ground truth for one region (one RTSTRUCT ROI of the same name).

    Parameters
    ----------
    name : str
        ROI name in the RTSTRUCT, e.g. ``"Tumour 1"``.
    labels : tuple of int
        Labels of the voxel model that make up the region.
    interpreted_type : str
        RT ROI Interpreted Type written to the RTSTRUCT (ORGAN, GTV, EXTERNAL).
    volume : pint.Quantity
        Analytic volume of the continuous shape [mL] (body and spine: the part in the scanned
        z range).
    volume_voxels : pint.Quantity
        Voxel-centre volume on the emission (NM/PT) grid [mL]: count of the region's voxels (the
        voxel-centre label map, ``PhantomArrays.labels``) x voxel volume.
    volume_voxels_ct : pint.Quantity
        Voxel-centre volume on the CT grid [mL].
    activity : pint.Quantity
        True activity in the region at the administration time [GBq] (continuous model). The
        activity map holds it exactly, spread over the voxels the region occupies in part or in
        whole (``PhantomArrays.occupancy``), so it is not the sum over the region's voxel-centre
        voxels (``activity_voxels``).
    concentration : pint.Quantity
        activity / volume [MBq/mL] (continuous model).
    density : pint.Quantity or None
        Tissue density used for the dose [g/mL]; None where no dose is given (Body, Spine).
    mass : pint.Quantity or None
        density x volume [kg].
    mean_dose : pint.Quantity or None
        Mean local-deposition absorbed dose for complete decay, K * activity / mass [Gy], with K
        the Y-90 dose coefficient and mass from the analytic volume.
    activity_voxels : pint.Quantity
        Sum of the unblurred activity map (``PhantomArrays.activity``, volume-averaged emission)
        over the region's voxel-centre voxels on the emission grid [GBq]: what a boolean mask
        that coincides with the label map finds.
    mean_dose_voxels : pint.Quantity or None
        K * activity_voxels / (density * volume_voxels) [Gy]: exactly the mean, over the
        region's voxel-centre voxels, of a local-deposition dose map computed with this density
        from the noise-free, unblurred activity map.
    activity_occupancy : pint.Quantity or None
        ``sum f_i a_i`` over the unblurred activity map [GBq], f_i the exact fraction of voxel i
        inside the region: what a fractional mask with exact fractions holds (e.g. the relative
        calibration of an unblurred image over liver and lung fractional masks scales it by
        administered / (liver + lungs of this)). None for Body and Spine.
    mean_dose_occupancy : pint.Quantity or None
        Occupancy-weighted mean of that same dose map, ``sum f_i D_i / sum f_i`` with f_i the
        exact fraction of voxel i inside the region (``PhantomArrays.occupancy``) [Gy]: what a
        fractional mask with exact fractions finds. None for Body and Spine.
    mean_dose_transport : pint.Quantity or None
        Mean absorbed dose with beta transport [Gy] (tumours, normal liver, liver): the truth for
        kernel dosimetry, from the continuous activity and the Monte Carlo point kernel by
        sampling (:mod:`phantoms.transport`); lower than ``mean_dose`` by the energy that escapes
        the region net of what comes in (8-14 % for 7-34 mL tumours at T/N 3-6). None when the
        tumours' density differs from the liver's (the sampler assumes one homogeneous medium).
    mean_dose_transport_uncertainty : float or None
        Relative statistical standard uncertainty of ``mean_dose_transport`` (about 0.1 %).
    tumour_to_normal : float or None
        Prescribed tumour-to-normal-liver concentration ratio (tumours only; for a post-treatment
        study the delivered one).
    tumour_to_normal_voxels : float or None
        Ratio of the mean unblurred activity-map concentrations over the voxel-centre voxels,
        tumour / normal liver: (activity_voxels / volume_voxels) of the tumour over the same of
        the normal liver.
    tumour_to_normal_occupancy : float or None
        The same ratio with occupancy-weighted means (exact fractions).
    sampling_recovery : float or None
        ``s = sum f_i^2 / sum f_i`` of the tumour's exact occupancy on the emission grid: the
        figure :func:`dosimetry.voxel.sampling_recovery` gives for an exact fractional mask.
    sampled_mean_fraction : float or None
        Occupancy-weighted mean of the unblurred activity map over the tumour divided by the
        true mean (``mean_dose_occupancy / mean_dose``): the sampling loss that the small-tumour
        warning predicts, ``(1 + (r - 1) s) / r`` (:func:`dosimetry.voxel.sampled_mean_fraction`)
        for a tumour whose boundary voxels share only normal liver. Tumours only.
    """

    name: str
    labels: tuple
    interpreted_type: str
    volume: pint.Quantity
    volume_voxels: pint.Quantity
    volume_voxels_ct: pint.Quantity
    activity: pint.Quantity
    concentration: pint.Quantity
    density: pint.Quantity | None = None
    mass: pint.Quantity | None = None
    mean_dose: pint.Quantity | None = None
    activity_voxels: pint.Quantity | None = None
    mean_dose_voxels: pint.Quantity | None = None
    activity_occupancy: pint.Quantity | None = None
    mean_dose_occupancy: pint.Quantity | None = None
    mean_dose_transport: pint.Quantity | None = None
    mean_dose_transport_uncertainty: float | None = None
    tumour_to_normal: float | None = None
    tumour_to_normal_voxels: float | None = None
    tumour_to_normal_occupancy: float | None = None
    sampling_recovery: float | None = None
    sampled_mean_fraction: float | None = None

    def to_json(self) -> dict:
        """Plain-JSON form (see :mod:`phantoms.truth`)."""
        return {
            "labels": list(self.labels),
            "interpreted_type": self.interpreted_type,
            "volume": _q(self.volume),
            "volume_voxels": _q(self.volume_voxels),
            "volume_voxels_ct": _q(self.volume_voxels_ct),
            "activity": _q(self.activity),
            "concentration": _q(self.concentration),
            "density": _q(self.density),
            "mass": _q(self.mass),
            "mean_dose": _q(self.mean_dose),
            "activity_voxels": _q(self.activity_voxels),
            "mean_dose_voxels": _q(self.mean_dose_voxels),
            "activity_occupancy": _q(self.activity_occupancy),
            "mean_dose_occupancy": _q(self.mean_dose_occupancy),
            "mean_dose_transport": _q(self.mean_dose_transport),
            "mean_dose_transport_uncertainty": self.mean_dose_transport_uncertainty,
            "tumour_to_normal": self.tumour_to_normal,
            "tumour_to_normal_voxels": self.tumour_to_normal_voxels,
            "tumour_to_normal_occupancy": self.tumour_to_normal_occupancy,
            "sampling_recovery": self.sampling_recovery,
            "sampled_mean_fraction": self.sampled_mean_fraction,
        }


@dataclass(frozen=True)
class GridInfo:
    """An axial image grid.

    Parameters
    ----------
    shape : tuple of 3 int
        (slices, rows, columns).
    spacing_mm : tuple of 3 float
        (slice spacing, row spacing, column spacing) [mm].
    origin_mm : tuple of 3 float
        Patient position (x, y, z) of the centre of voxel [0, 0, 0] [mm]; slices go towards +z,
        rows towards +y, columns towards +x (ImageOrientationPatient 1\\0\\0\\0\\1\\0).
    """

    shape: tuple
    spacing_mm: tuple
    origin_mm: tuple

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "spacing_mm": list(self.spacing_mm), "origin_mm": list(self.origin_mm)}


@dataclass(frozen=True)
class PostTreatmentTruth:
    """How a post-treatment study relates to its planning study (:mod:`phantoms.post`).

    Parameters
    ----------
    transform : phantoms.pose.RigidTransform
        Planning patient coordinates -> post-treatment patient coordinates (``p' = R p + t``;
        :mod:`phantoms.pose` for the convention; ``transform.matrix`` is the 4 x 4 matrix).
    residual_fraction : float
        Fraction of the administered activity left in the vial and delivery set.
    delivered : pint.Quantity
        administered x (1 - residual_fraction) [GBq]: the activity in the patient.
    planned_lung_shunt_fraction : float
        The planning study's lung shunt fraction.
    planned_tumour_to_normal : dict
        Tumour name -> the planning study's ratio.
    tumour_ratio_factors : dict
        Tumour name -> delivered ratio / planned ratio (tumours not listed: 1).
    lung_shunt_change : float
        Delivered minus planned lung shunt fraction (a fraction: 0.02 = 2 percentage points).
    planning_uids : dict
        ``study_instance_uid`` and ``frame_of_reference_uid`` of the planning study (the frame
        the transform maps from).
    planning_radionuclide : str
        What the planning image showed (``"Tc-99m"`` for an MAA SPECT).
    """

    transform: RigidTransform
    residual_fraction: float
    delivered: pint.Quantity
    planned_lung_shunt_fraction: float
    planned_tumour_to_normal: dict
    tumour_ratio_factors: dict
    lung_shunt_change: float
    planning_uids: dict
    planning_radionuclide: str

    def to_json(self) -> dict:
        return {
            "transform_planning_to_post": self.transform.to_json(),
            "residual_fraction": self.residual_fraction,
            "delivered": _q(self.delivered),
            "planned_lung_shunt_fraction": self.planned_lung_shunt_fraction,
            "planned_tumour_to_normal": dict(self.planned_tumour_to_normal),
            "tumour_ratio_factors": dict(self.tumour_ratio_factors),
            "lung_shunt_change": self.lung_shunt_change,
            "planning_uids": dict(self.planning_uids),
            "planning_radionuclide": self.planning_radionuclide,
        }


@dataclass(frozen=True)
class Truth:
    """Everything known about a phantom patient.

    Parameters
    ----------
    patient_id, patient_name : str
        DICOM PatientID and PatientName.
    seed : int
        Seed of the generator.
    modality : str
        ``"NM"`` or ``"PT"``.
    size : str
        ``"small"`` or ``"ct"``.
    administered : pint.Quantity
        Y-90 activity administered [GBq] (for a Tc-99m MAA phantom: the planned Y-90 activity).
    lung_shunt_fraction : float
        Fraction of the activity in the patient that lies in the lungs.
    administration_datetime, acquisition_datetime : datetime.datetime
        Administration (RadiopharmaceuticalStartDateTime) and emission acquisition start.
    acquisition_delay, acquisition_duration : pint.Quantity
        Start minus administration, and the acquisition length [h], [min].
    decay_factor_at_acquisition : float
        exp(-ln 2 * delay / T1/2) for the imaged radionuclide.
    activity_at_acquisition : pint.Quantity
        Imaged activity in the patient (Y-90 delivered, or the Tc-99m MAA injected) x decay
        factor [GBq].
    half_life : pint.Quantity
        Half-life of the imaged radionuclide [h] (Y-90 64.1 h, Tc-99m 6.0067 h).
    dose_coefficient : pint.Quantity
        K [Gy kg/GBq] used for the doses.
    fwhm_mm : float
        Gaussian resolution FWHM applied to the emission image [mm] (0: none).
    noise : bool
        Whether Poisson noise was added.
    sensitivity : pint.Quantity
        Counts recorded per MBq present at the acquisition start, whole acquisition [cts/MBq].
        NM: total image counts = sensitivity x activity at acquisition (before noise). PT: the
        mean of the Poisson noise model.
    image_unit : str
        Unit of the emission image values: ``"cts"`` (NM) or ``"Bq/mL"`` (PT, decay-corrected to
        the acquisition start, DecayCorrection START).
    ct_grid, emission_grid : GridInfo
        Geometry of the CT and NM/PT images.
    hu : dict
        Hounsfield units per tissue.
    regions : dict of str to RegionTruth
        Keyed by ROI name.
    shapes : dict
        ROI name -> list of analytic surfaces ``{"type": "ellipsoid" | "elliptic_cylinder",
        "centre_mm", "semi_axes_mm", "hole": bool, ["z_range_mm"]}``; a ROI is the union of its
        non-hole shapes minus its hole shapes (clipped to ``z_range_mm`` where given).
    density : dict
        Tissue densities used for the doses (liver, tumour, lung) [g/mL].
    uids : dict
        StudyInstanceUID, FrameOfReferenceUID and the series UIDs.
    files : dict
        Relative paths of what was written (empty for :func:`phantoms.make_arrays`).
    radionuclide : str
        What the emission image shows: ``"Y-90"`` or ``"Tc-99m"`` (MAA). For Tc-99m the region
        activities and doses are those of the planned Y-90 activity ``administered`` distributed
        like the MAA (predictive ground truth).
    tracer_activity : pint.Quantity or None
        Tc-99m MAA injected [MBq]; None for Y-90 images.
    delivered : pint.Quantity or None
        Y-90 activity in the patient at administration [GBq]: the sum of the region activities
        and of the activity map. ``administered`` for a planning phantom, ``administered x
        (1 - residual)`` for a post-treatment study.
    emission_model : str
        ``"volume_average"``: each emission voxel holds the volume average of the continuous
        activity over the voxel (:mod:`phantoms.emission`).
    post_treatment : PostTreatmentTruth or None
        For a post-treatment study: the transform from the planning frame, the residual, and the
        planned figures the delivery departs from; None for a planning phantom.
    """

    patient_id: str
    patient_name: str
    seed: int
    modality: str
    size: str
    administered: pint.Quantity
    lung_shunt_fraction: float
    administration_datetime: _dt.datetime
    acquisition_datetime: _dt.datetime
    acquisition_delay: pint.Quantity
    acquisition_duration: pint.Quantity
    decay_factor_at_acquisition: float
    activity_at_acquisition: pint.Quantity
    half_life: pint.Quantity
    dose_coefficient: pint.Quantity
    fwhm_mm: float
    noise: bool
    sensitivity: pint.Quantity
    image_unit: str
    ct_grid: GridInfo
    emission_grid: GridInfo
    hu: dict
    regions: dict
    shapes: dict = field(default_factory=dict)
    density: dict = field(default_factory=dict)
    uids: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    radionuclide: str = "Y-90"
    tracer_activity: pint.Quantity | None = None
    delivered: pint.Quantity | None = None
    emission_model: str = EMISSION_MODEL
    post_treatment: PostTreatmentTruth | None = None

    @property
    def imaged_activity(self) -> pint.Quantity:
        """Activity of the imaged radionuclide at administration: Y-90 administered or Tc-99m MAA."""
        return self.administered if self.tracer_activity is None else self.tracer_activity

    def plan_inputs(self) -> dict:
        """Ground truth of the plan inputs measured on the images (continuous model).

        Whole-liver territory: perfused = Liver. ``lung_mass`` is density x analytic volume of the
        lungs; ``lung_mass_ct_curve`` uses the density the project's HU curve gives to the CT's
        lung HU (-740 HU -> 0.2609 g/mL on the air-water line), which a CT measurement should find.
        """
        r = self.regions
        tumours = {n: v for n, v in r.items() if n.startswith("Tumour ")}
        lungs = r["Lungs"]
        curve = np.asarray(HU_DENSITY_CURVE, dtype=float)
        rho_ct = float(np.interp(float(self.hu["lung"]), curve[:, 0], curve[:, 1]))
        return {
            "lung_shunt_fraction": self.lung_shunt_fraction,
            "tumour_to_normal": {n: t.tumour_to_normal for n, t in tumours.items()},
            "perfused_volume": r["Liver"].volume,
            "whole_liver_volume": r["Liver"].volume,
            "normal_liver_volume": r["Normal Liver"].volume,
            "tumour_volumes": {n: t.volume for n, t in tumours.items()},
            "lung_volume": lungs.volume,
            "lung_mass": lungs.mass,
            "lung_mass_ct_curve": (lungs.volume * Q_(rho_ct, "g/mL")).to("kg"),
        }

    def to_json(self) -> dict:
        """Plain-JSON form, as written to ``truth.json``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "seed": self.seed,
            "modality": self.modality,
            "size": self.size,
            "radionuclide": self.radionuclide,
            "administered": _q(self.administered),
            "delivered": _q(self.delivered if self.delivered is not None else self.administered),
            "tracer_activity": _q(self.tracer_activity),
            "lung_shunt_fraction": self.lung_shunt_fraction,
            "administration_datetime": self.administration_datetime.isoformat(),
            "acquisition_datetime": self.acquisition_datetime.isoformat(),
            "acquisition_delay": _q(self.acquisition_delay),
            "acquisition_duration": _q(self.acquisition_duration),
            "decay_factor_at_acquisition": self.decay_factor_at_acquisition,
            "activity_at_acquisition": _q(self.activity_at_acquisition),
            "half_life": _q(self.half_life),
            "dose_coefficient": _q(self.dose_coefficient),
            "fwhm_mm": self.fwhm_mm,
            "noise": self.noise,
            "sensitivity": _q(self.sensitivity),
            "image_unit": self.image_unit,
            "emission_model": self.emission_model,
            "ct_grid": self.ct_grid.to_json(),
            "emission_grid": self.emission_grid.to_json(),
            "hu": dict(self.hu),
            "density": {k: _q(v) for k, v in self.density.items()},
            "labels": dict(LABEL_NAMES),
            "regions": {name: r.to_json() for name, r in self.regions.items()},
            "shapes": self.shapes,
            "uids": dict(self.uids),
            "files": dict(self.files),
            "plan_inputs": self._plan_inputs_json(),
            "post_treatment": None if self.post_treatment is None else self.post_treatment.to_json(),
        }

    def _plan_inputs_json(self) -> dict:
        p = self.plan_inputs()
        out = {}
        for k, v in p.items():
            if isinstance(v, dict):
                out[k] = {n: (_q(x) if isinstance(x, pint.Quantity) else x) for n, x in v.items()}
            else:
                out[k] = _q(v) if isinstance(v, pint.Quantity) else v
        return out
