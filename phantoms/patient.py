"""Build a phantom patient in memory (anatomy, grids, label maps, CT numbers, activity, images,
truth) and write it to disk.

Activity model (continuous, exact):

* lungs: ``A_lungs = LSF * A``, split between the lungs by volume (one uniform concentration);
* liver: ``(1 - LSF) * A`` shared by normal liver and tumours with concentration ratio
  ``r_i`` (tumour i to normal liver): ``A_N = (1 - LSF) A V_N / D`` and
  ``A_Ti = (1 - LSF) A r_i V_Ti / D`` with ``D = V_N + sum_i r_i V_Ti`` (the partition model,
  Ho et al., Eur J Nucl Med 1996; EANM 2022 guideline, Weber et al.), volumes analytic;
* nothing elsewhere (body, spine).

Emission (camera-like, before the blur): each voxel of the activity map holds the volume average
of the continuous activity over the voxel (:mod:`phantoms.emission`): region R's activity is
spread over the voxels in proportion to the fraction of each voxel inside R, so the map holds every
region's activity exactly. The label maps (CT and emission grids) use the voxel-centre rule.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from dosimetry.decay import decay_factor
from dosimetry.errors import InputError
from dosimetry.isotope import Y90
from dosimetry.units import Q_, ureg
from dosimetry.voxel.geometry import Volume

from . import write as w
from .anatomy import (
    LABEL_BODY,
    LABEL_LUNG_L,
    LABEL_LUNG_R,
    LABEL_NORMAL_LIVER,
    LABEL_SPINE,
    LABEL_TUMOUR_BASE,
    Anatomy,
    Ellipsoid,
    EllipticCylinder,
    default_anatomy,
    label_map,
)
from .emission import active_regions, region_occupancy
from .spec import _EMISSION, _GRID_CENTRE_Z, _SIZES, PhantomSpec, make_spec
from .transport import transport_mean_doses
from .truth import GridInfo, RegionTruth, Truth

__all__ = ["PhantomArrays", "make_arrays", "make_patient", "analytic_volumes_mm3"]

#: Samples per region for the transport truth (relative standard uncertainty about 0.1 %).
TRUTH_TRANSPORT_SAMPLES = 100_000

def _grid(n: int, pixel: float, nz: int, dz: float) -> GridInfo:
    """Axial grid of n x n pixels, nz slices, centred on (0, 0, _GRID_CENTRE_Z)."""
    x0 = -(n - 1) / 2.0 * pixel
    z0 = _GRID_CENTRE_Z - (nz - 1) / 2.0 * dz
    return GridInfo((nz, n, n), (float(dz), float(pixel), float(pixel)), (x0, x0, z0))


def _axes(g: GridInfo):
    (nk, nj, ni), (dz, dy, dx), (x0, y0, z0) = g.shape, g.spacing_mm, g.origin_mm
    return x0 + dx * np.arange(ni), y0 + dy * np.arange(nj), z0 + dz * np.arange(nk)


def _volume(g: GridInfo, array, unit) -> Volume:
    return Volume(array, g.spacing_mm, g.origin_mm, unit=unit)


@dataclass(frozen=True)
class PhantomArrays:
    """The in-memory voxel model.

    Attributes
    ----------
    spec : PhantomSpec
    anatomy : Anatomy
        The analytic shapes.
    labels_ct : Volume
        uint8 labels on the CT grid (see :mod:`phantoms.anatomy` for the codes).
    hu : Volume
        CT numbers (int16, HU, dimensionless) on the CT grid.
    labels : Volume
        uint8 labels on the emission grid.
    activity : Volume
        Activity per voxel at administration [MBq], emission grid, noise-free and unblurred.
    image : Volume
        The emission image as written: NM counts [cts] or PT activity concentration at the
        acquisition start [Bq/mL] (blurred, noisy if asked), float64.
    truth : Truth
    occupancy : dict
        Region name ("Liver", "Normal Liver", "Tumour i", "Lung L", "Lung R", "Lungs") ->
        :class:`phantoms.emission.Occupancy`, the exact fraction of each emission voxel inside
        the region; :meth:`fraction` gives it as a Volume.
    """

    spec: PhantomSpec
    anatomy: Anatomy
    labels_ct: Volume
    hu: Volume
    labels: Volume
    activity: Volume
    image: Volume
    truth: Truth
    occupancy: dict = field(default_factory=dict)

    def fraction(self, name: str) -> Volume:
        """Occupancy of region ``name`` on the emission grid (float64 in [0, 1], dimensionless):
        a fractional ROI mask with exact fractions."""
        if name not in self.occupancy:
            raise InputError("name", f"{name!r}: occupancy is given for {sorted(self.occupancy)}")
        g = self.truth.emission_grid
        return _volume(g, self.occupancy[name].dense(), "dimensionless")


def _region_defs(anatomy: Anatomy):
    """(name, labels, interpreted type, tissue) of every ROI, in RTSTRUCT order."""
    tum_labels = tuple(LABEL_TUMOUR_BASE + i for i in range(1, len(anatomy.tumours) + 1))
    defs = [
        ("Body", None, "EXTERNAL", None),
        ("Liver", (LABEL_NORMAL_LIVER,) + tum_labels, "ORGAN", "liver"),
        ("Normal Liver", (LABEL_NORMAL_LIVER,), "ORGAN", "liver"),
    ]
    defs += [(f"Tumour {i}", (LABEL_TUMOUR_BASE + i,), "GTV", "tumour") for i in range(1, len(anatomy.tumours) + 1)]
    defs += [
        ("Lung L", (LABEL_LUNG_L,), "ORGAN", "lung"),
        ("Lung R", (LABEL_LUNG_R,), "ORGAN", "lung"),
        ("Lungs", (LABEL_LUNG_L, LABEL_LUNG_R), "ORGAN", "lung"),
    ]
    if anatomy.spine is not None:
        defs.append(("Spine", (LABEL_SPINE,), "ORGAN", None))
    return defs


def analytic_volumes_mm3(anatomy: Anatomy) -> dict:
    """Analytic volume of every ROI [mm^3], keyed by ROI name."""
    zl, zh = anatomy.z_lo, anatomy.z_hi
    v_t = [t.volume_mm3 for t in anatomy.tumours]
    out = {
        "Body": anatomy.body.volume_between_mm3(zl, zh),
        "Liver": anatomy.liver.volume_mm3,
        "Normal Liver": anatomy.liver.volume_mm3 - sum(v_t),
        "Lung L": anatomy.lung_l.volume_mm3,
        "Lung R": anatomy.lung_r.volume_mm3,
        "Lungs": anatomy.lung_l.volume_mm3 + anatomy.lung_r.volume_mm3,
    }
    for i, v in enumerate(v_t, 1):
        out[f"Tumour {i}"] = v
    if anatomy.spine is not None:
        out["Spine"] = anatomy.spine.volume_between_mm3(zl, zh)
    return out


def _partition_gbq(spec: PhantomSpec, vols: dict) -> dict:
    """True activity per label group at administration [GBq] (module docstring): the activity
    in the patient (``spec.delivered``: administered, less the residual of a post-treatment study)."""
    a = float(spec.delivered.to("GBq").magnitude)
    lsf = spec.lung_shunt_fraction
    d = vols["Normal Liver"] + sum(t.ratio * vols[f"Tumour {i}"] for i, t in enumerate(spec.tumours, 1))
    out = {
        "Normal Liver": (1 - lsf) * a * vols["Normal Liver"] / d,
        "Lung L": lsf * a * vols["Lung L"] / vols["Lungs"],
        "Lung R": lsf * a * vols["Lung R"] / vols["Lungs"],
    }
    for i, t in enumerate(spec.tumours, 1):
        out[f"Tumour {i}"] = (1 - lsf) * a * t.ratio * vols[f"Tumour {i}"] / d
    return out


def _shapes_json(anatomy: Anatomy) -> dict:
    """Analytic shapes of every ROI (outer and hole surfaces), for independent checks.

    A rotated shape (post-treatment study) also has ``rotation``: the 3 x 3 matrix (rows) whose
    columns are its axes in patient coordinates; a cylinder's ``centre_mm`` is where its axis
    crosses z = 0.
    """
    out = {}
    for name, _itype, outers, holes in _rois(anatomy):
        items = []
        for shape, is_hole in [(o, False) for o in outers] + [(h, True) for h in holes]:
            base = shape.shape if isinstance(shape, _Clipped) else shape
            kind = "ellipsoid" if isinstance(base, Ellipsoid) else "elliptic_cylinder"  # the spine
            d: dict[str, Any] = {"type": kind, "centre_mm": list(base.centre_mm), "semi_axes_mm": list(base.semi_axes_mm)}
            if base.rotation is not None:
                d["rotation"] = [list(row) for row in base.rotation]
            if isinstance(shape, _Clipped):
                d["z_range_mm"] = [shape.z_lo, shape.z_hi]
            d["hole"] = is_hole
            items.append(d)
        out[name] = items
    return out


def make_arrays(**kwargs) -> PhantomArrays:
    """Build the phantom in memory, without writing files.

    Parameters
    ----------
    **kwargs
        The keyword arguments of :func:`make_spec` (seed, modality, size, tumours,
        lung_shunt_fraction, administered, ...).

    Returns
    -------
    PhantomArrays
        Label maps, CT numbers, activity map, emission image and the ground truth
        (``truth.uids`` and ``truth.files`` empty).
    """
    spec = make_spec(**kwargs)
    return _build(spec)


def _anatomy(spec: PhantomSpec, ct: GridInfo, dz: float) -> Anatomy:
    """The validated shapes in the study's patient coordinates (moved for a post-treatment study)."""
    nz = ct.shape[0]
    z_lo = ct.origin_mm[2] - dz / 2.0
    z_hi = ct.origin_mm[2] + (nz - 0.5) * dz
    anatomy = default_anatomy(tuple(t.shape for t in spec.tumours), z_lo, z_hi, bone=spec.bone)
    try:
        anatomy.validate()
    except ValueError as exc:
        msg = str(exc)
        field = msg.split(":", 1)[0] if msg.startswith("tumours[") else "tumours"
        raise InputError(field, msg.split(": ", 1)[-1]) from exc
    if spec.post is not None:
        try:
            anatomy = anatomy.moved(spec.post.transform)
            anatomy.validate()
        except ValueError as exc:
            raise InputError("transform", f"the moved patient does not fit the post-treatment scan: {exc}") from exc
    return anatomy


def _hu_map(spec: PhantomSpec, lab_ct: np.ndarray, n_tumours: int) -> np.ndarray:
    hu_lut = np.full(256, spec.hu["air"], dtype=np.int16)
    hu_lut[LABEL_BODY] = spec.hu["body"]
    hu_lut[LABEL_SPINE] = spec.hu["bone"]
    hu_lut[LABEL_LUNG_L] = hu_lut[LABEL_LUNG_R] = spec.hu["lung"]
    hu_lut[LABEL_NORMAL_LIVER] = spec.hu["liver"]
    hu_lut[LABEL_TUMOUR_BASE + 1 : LABEL_TUMOUR_BASE + 1 + n_tumours] = spec.hu["tumour"]
    return hu_lut[lab_ct]


def _label_of(anatomy: Anatomy) -> dict:
    """Label of every region that holds activity."""
    out = {"Normal Liver": LABEL_NORMAL_LIVER, "Lung L": LABEL_LUNG_L, "Lung R": LABEL_LUNG_R}
    out.update({f"Tumour {i}": LABEL_TUMOUR_BASE + i for i in range(1, len(anatomy.tumours) + 1)})
    return out


def _activity_map(anatomy: Anatomy, em: GridInfo, lab_em: np.ndarray, part: dict):
    """Volume-averaged activity map [MBq per voxel] and the occupancies (phantoms.emission).

    Voxel i gets ``sum_R A_R f_R(i) / sum_j f_R(j)`` over the regions holding activity.
    """
    counts_em = np.bincount(lab_em.ravel(), minlength=256)
    for name, lab in _label_of(anatomy).items():
        if counts_em[lab] == 0:
            raise InputError("tumours", f"{name} contains no voxel centre of the emission grid; make it larger")
    try:
        occ = region_occupancy(anatomy, em)
    except ValueError as exc:
        raise InputError("transform", str(exc)) from exc
    flat = np.zeros(int(np.prod(em.shape)))
    for name in active_regions(anatomy):
        o = occ[name]
        flat[o.index] += part[name] * 1000.0 * (o.fraction / o.total)
    return flat.reshape(em.shape), occ


def _blurred(counts: np.ndarray, sigma: list) -> np.ndarray:
    """``ndimage.gaussian_filter(counts, sigma, mode="constant", cval=0.0, truncate=4.0)``, filtered
    over the box of the nonzero voxels widened by each axis's kernel radius (``int(4 sigma + 0.5)``,
    scipy's) and one voxel, zeros elsewhere.

    The same values (tested bit for bit): the filter runs axis by axis, each pass spreading the
    nonzero voxels by at most its radius along its own axis, so every voxel outside the box is a sum
    of zeros (0.0) and every voxel inside sees, beyond the box, the zeros the constant mode pads
    with. The activity (liver and lungs) fills about a sixth of the emission grid (issue 22).
    """
    nonzero = counts != 0
    if not nonzero.any():
        return ndimage.gaussian_filter(counts, sigma=sigma, mode="constant", cval=0.0, truncate=4.0)
    box = []
    for axis, s in enumerate(sigma):
        hit = np.flatnonzero(nonzero.any(axis=tuple(a for a in range(counts.ndim) if a != axis)))
        margin = int(4.0 * float(s) + 0.5) + 1
        box.append(slice(max(int(hit[0]) - margin, 0), min(int(hit[-1]) + 1 + margin, counts.shape[axis])))
    out = np.zeros(counts.shape)
    out[tuple(box)] = ndimage.gaussian_filter(np.ascontiguousarray(counts[tuple(box)]), sigma=sigma, mode="constant", cval=0.0,
                                              truncate=4.0)
    return out


def _emission_image(spec: PhantomSpec, em: GridInfo, activity: np.ndarray):
    """(image, unit, decay factor): counts or Bq/mL at the acquisition start, blurred, noisy if asked.

    Y-90 images show the activity map itself; a Tc-99m MAA image shows the tracer activity
    distributed in the same proportions (MAA as the surrogate of the microspheres).
    """
    df = decay_factor(spec.acquisition_delay, spec.nuclide)  # the nuclide itself: a Tc-99m half-life is outside the Y-90 range
    vvox_ml = float(np.prod(em.spacing_mm)) / 1000.0
    sens = float(spec.sensitivity.to("cts/MBq").magnitude)
    tracer_scale = 1.0 if spec.tracer_activity is None else float((spec.tracer_activity / spec.delivered).to("").magnitude)
    counts = activity * (tracer_scale * df * sens)  # expected counts per voxel, whole acquisition
    if spec.fwhm_mm > 0:
        sigma = [spec.fwhm_mm / (2.0 * math.sqrt(2.0 * math.log(2.0))) / s for s in em.spacing_mm]
        counts = _blurred(counts, sigma)
        counts = np.clip(counts, 0.0, None)
    if spec.noise:
        rng = np.random.default_rng([spec.seed, 0x59390])
        counts = rng.poisson(counts).astype(np.float64)
    if spec.modality == "NM":
        return counts, "cts", df
    return counts / sens * 1e6 / vvox_ml, "Bq/mL", df  # MBq -> Bq, per mL


def _build(spec: PhantomSpec) -> PhantomArrays:
    n, px, nz, dz = _SIZES[spec.size]
    ct = _grid(n, px, nz, dz)
    if spec.emission_grid == "ct":
        em = ct
    else:
        en, epx, enz = _EMISSION[spec.modality]
        em = _grid(en, epx, enz, epx)
    anatomy = _anatomy(spec, ct, dz)
    lab_ct = label_map(anatomy, *_axes(ct))
    hu = _hu_map(spec, lab_ct, len(spec.tumours))
    lab_em = lab_ct.copy() if em is ct else label_map(anatomy, *_axes(em))  # emission on the CT grid: the same map
    vols = analytic_volumes_mm3(anatomy)
    part = _partition_gbq(spec, vols)
    activity, occ = _activity_map(anatomy, em, lab_em, part)
    image, image_unit, df = _emission_image(spec, em, activity)
    regions = _region_truths(spec, anatomy, (ct, lab_ct), (em, lab_em), vols, part, occ, activity)
    delay = spec.acquisition_delay
    truth = Truth(
        patient_id=spec.patient_id,
        patient_name=spec.patient_name,
        seed=spec.seed,
        modality=spec.modality,
        size=spec.size,
        administered=spec.administered.to("GBq"),
        lung_shunt_fraction=spec.lung_shunt_fraction,
        administration_datetime=spec.administration_datetime,
        acquisition_datetime=spec.administration_datetime + _dt.timedelta(hours=float(delay.to("h").magnitude)),
        acquisition_delay=delay.to("h"),
        acquisition_duration=spec.acquisition_duration.to("min"),
        decay_factor_at_acquisition=float(df),
        activity_at_acquisition=((spec.delivered if spec.tracer_activity is None else spec.tracer_activity) * df).to("GBq"),
        half_life=spec.nuclide.half_life.to("h"),
        dose_coefficient=Y90.dose_coefficient.to("Gy*kg/GBq"),
        fwhm_mm=spec.fwhm_mm,
        noise=spec.noise,
        sensitivity=spec.sensitivity.to("cts/MBq"),
        image_unit=image_unit,
        ct_grid=ct,
        emission_grid=em,
        hu=dict(spec.hu),
        regions=regions,
        shapes=_shapes_json(anatomy),
        density={k: v.to("g/mL") for k, v in spec.density.items()},
        radionuclide=spec.radionuclide,
        tracer_activity=None if spec.tracer_activity is None else spec.tracer_activity.to("MBq"),
        delivered=spec.delivered.to("GBq"),
        post_treatment=None if spec.post is None else spec.post.truth(spec),
    )
    return PhantomArrays(
        spec=spec,
        anatomy=anatomy,
        labels_ct=_volume(ct, lab_ct, "dimensionless"),
        hu=_volume(ct, hu, "dimensionless"),
        labels=_volume(em, lab_em, "dimensionless"),
        activity=_volume(em, activity, "MBq"),
        image=_volume(em, image, image_unit),
        truth=truth,
        occupancy=occ,
    )


def _transport_truths(spec: PhantomSpec, anatomy: Anatomy, vols: dict, part: dict) -> dict:
    """Transport truth of tumours, normal liver and liver (phantoms.transport), or {} when the
    tumours' density differs from the liver's (the sampler assumes one homogeneous medium)."""
    if abs((spec.density["tumour"] - spec.density["liver"]).to("g/mL").magnitude) >= 1e-9:
        return {}
    return transport_mean_doses(
        anatomy, {nm: part[nm] / (vols[nm] / 1000.0) for nm in _label_of(anatomy)}, spec.density["liver"],
        Y90.dose_coefficient.to("Gy*kg/GBq"), n=TRUTH_TRANSPORT_SAMPLES, seed=spec.seed,
    )


#: Units, parsed once (pint parses a unit string on every Quantity construction).
_U = {u: ureg.Unit(u) for u in ("mL", "GBq", "Gy", "kg", "g/mL", "MBq/mL")}


def _dose_gy(k: float, gbq: float, rho_g_ml: float, ml: float) -> float:
    """Local-deposition mean dose K A / (rho V) [Gy] from K [Gy kg/GBq], A [GBq], rho [g/mL], V [mL]."""
    return k * gbq / (rho_g_ml * ml / 1000.0)


def _region_truths(spec, anatomy, ct_grid, em_grid, vols, part, occ, activity) -> dict:
    """RegionTruth of every ROI: exact (analytic) and voxel-sampled figures (RegionTruth)."""
    (ct, lab_ct), (em, lab_em) = ct_grid, em_grid
    k = float(Y90.dose_coefficient.to("Gy*kg/GBq").magnitude)
    vvox_ml, vct_ml = float(np.prod(em.spacing_mm)) / 1000.0, float(np.prod(ct.spacing_mm)) / 1000.0
    counts_em = np.bincount(lab_em.ravel(), minlength=256)
    counts_ct = np.bincount(lab_ct.ravel(), minlength=256)
    gbq_by_label = np.bincount(lab_em.ravel(), weights=activity.ravel(), minlength=256) / 1000.0
    flat = activity.ravel()
    held = {n: float(flat[o.index] @ o.fraction) / 1000.0 for n, o in occ.items()}  # GBq in an exact fractional mask
    conc_occ = {n: held[n] / (o.total * vvox_ml) for n, o in occ.items()}  # occupancy-weighted mean [GBq/mL]
    label_of = _label_of(anatomy)
    normal_vox = gbq_by_label[LABEL_NORMAL_LIVER] / (counts_em[LABEL_NORMAL_LIVER] * vvox_ml)
    transported = _transport_truths(spec, anatomy, vols, part)
    q = lambda v, u: Q_(float(v), _U[u])  # noqa: E731
    regions = {}
    for name, labels, itype, tissue in _region_defs(anatomy):
        if labels is None:  # Body: everything inside the outer contour
            labels = tuple(int(v) for v in np.nonzero(counts_em[1:] + counts_ct[1:])[0] + 1)
            gbq = float(sum(part.values()))
        else:
            gbq = float(sum(part[nm] for nm, lab in label_of.items() if lab in labels))
        ml, ml_vox = vols[name] / 1000.0, float(sum(counts_em[lab] for lab in labels)) * vvox_ml
        gbq_vox = float(sum(gbq_by_label[lab] for lab in labels))
        kw: dict[str, Any] = {"activity_voxels": q(gbq_vox, "GBq")}
        if name in occ:
            kw["activity_occupancy"] = q(held[name], "GBq")
        if tissue is not None:
            rho = float(spec.density[tissue].to("g/mL").magnitude)
            kw.update(density=q(rho, "g/mL"), mass=q(rho * ml / 1000.0, "kg"), mean_dose=q(_dose_gy(k, gbq, rho, ml), "Gy"),
                      mean_dose_voxels=q(_dose_gy(k, gbq_vox, rho, ml_vox), "Gy"),
                      mean_dose_occupancy=q(_dose_gy(k, conc_occ[name], rho, 1.0), "Gy"))
        if name in transported:
            kw["mean_dose_transport"], kw["mean_dose_transport_uncertainty"] = transported[name]
        if name.startswith("Tumour "):
            o = occ[name]
            kw.update(
                tumour_to_normal=spec.tumours[int(name.split()[1]) - 1].ratio,
                tumour_to_normal_voxels=gbq_vox / ml_vox / normal_vox,
                tumour_to_normal_occupancy=conc_occ[name] / conc_occ["Normal Liver"],
                sampling_recovery=float(o.fraction @ o.fraction) / o.total,
                sampled_mean_fraction=conc_occ[name] / (gbq / ml),
            )
        regions[name] = RegionTruth(
            name=name, labels=tuple(int(v) for v in labels), interpreted_type=itype, volume=q(ml, "mL"),
            volume_voxels=q(ml_vox, "mL"), volume_voxels_ct=q(float(sum(counts_ct[lab] for lab in labels)) * vct_ml, "mL"),
            activity=q(gbq, "GBq"), concentration=q(gbq / ml * 1000.0, "MBq/mL"), **kw,
        )
    return regions


def _rois(anatomy: Anatomy) -> list:
    """(name, interpreted type, outer shapes, hole shapes) for the RTSTRUCT, same order as truth."""
    tumours = list(anatomy.tumours)
    out = []
    for name, _labels, itype, _tissue in _region_defs(anatomy):
        outers: list[Ellipsoid | _Clipped]
        holes: list[Ellipsoid]
        if name == "Body":
            outers, holes = [_Clipped(anatomy.body, anatomy.z_lo, anatomy.z_hi)], []
        elif name == "Liver":
            outers, holes = [anatomy.liver], []
        elif name == "Normal Liver":
            outers, holes = [anatomy.liver], tumours
        elif name.startswith("Tumour "):
            outers, holes = [tumours[int(name.split()[1]) - 1]], []
        elif name == "Lung L":
            outers, holes = [anatomy.lung_l], []
        elif name == "Lung R":
            outers, holes = [anatomy.lung_r], []
        elif name == "Lungs":
            outers, holes = [anatomy.lung_l, anatomy.lung_r], []
        else:  # Spine
            assert anatomy.spine is not None  # _region_defs lists the spine only when there is one
            outers, holes = [_Clipped(anatomy.spine, anatomy.z_lo, anatomy.z_hi)], []
        out.append((name, itype, outers, holes))
    return out


@dataclass(frozen=True)
class _Clipped:
    """A shape restricted to z_lo <= z <= z_hi (body and spine end at the scanned range)."""

    shape: Ellipsoid | EllipticCylinder
    z_lo: float
    z_hi: float

    def section(self, z):
        return self.shape.section(z) if self.z_lo <= z <= self.z_hi else None


def make_patient(out_dir, **kwargs) -> Truth:
    """Write a phantom patient as DICOM plus ``truth.json``; return the truth.

    Layout of ``out_dir`` (created; it must not exist or be an empty folder)::

        ct/CT_0001.dcm ... CT_nnnn.dcm   one CT Image per axial slice, increasing z
        nm/NM_0001.dcm                   (modality "NM") one multi-frame NM RECON TOMO image, counts
        pt/PT_0001.dcm ... PT_nnnn.dcm   (modality "PT") one PET Image per slice, BQML, START
        rtstruct.dcm                     RT Structure Set on the CT
        truth.json                       Truth.to_json()

    The patient is written into a temporary sibling folder renamed into place at the end, so a
    failure leaves nothing behind.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to create.
    **kwargs
        The keyword arguments of :func:`make_spec` (seed, modality, size, tumours,
        lung_shunt_fraction, administered, acquisition_delay, fwhm_mm, noise, sensitivity, ...).

    Returns
    -------
    Truth
        With ``uids`` and ``files`` filled in.

    Raises
    ------
    InputError
        Invalid parameters, or ``out_dir`` exists and is not an empty folder.
    """
    return _write_patient(out_dir, lambda: make_spec(**kwargs))


def _write_patient(out_dir, make) -> Truth:
    """Check ``out_dir``, build the spec with ``make()``, and write the study (make_patient)."""
    out = Path(os.fspath(out_dir)).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("out_dir", f"{out} exists and is not an empty folder; refusing to overwrite it")
    if not out.parent.is_dir():
        raise InputError("out_dir", f"parent folder {out.parent} does not exist")
    spec = make()
    arrays = _build(spec)
    truth = arrays.truth
    n_em = 1 if spec.modality == "NM" else truth.emission_grid.shape[0]
    uids = w.make_uids(spec.anatomy_key(), spec.emission_key(), truth.ct_grid.shape[0], n_em)
    hdr = {
        "patient_id": spec.patient_id,
        "patient_name": spec.patient_name,
        "uids": uids,
        "study_datetime": truth.acquisition_datetime,
        "acquisition_datetime": truth.acquisition_datetime,
        "administration_datetime": spec.administration_datetime,
        "administered_bq": float(truth.imaged_activity.to("Bq").magnitude),
        "half_life_s": float(spec.nuclide.half_life.to("s").magnitude),
        "nuclide": spec.nuclide,
        "duration_s": float(spec.acquisition_duration.to("s").magnitude),
        "study_description": "Y-90 radioembolization phantom" + (", post-treatment" if spec.post is not None else ""),
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        (tmp / "ct").mkdir()
        ct_files = w.write_ct(tmp / "ct", arrays.hu.array, truth.ct_grid, hdr)
        if spec.modality == "NM":
            (tmp / "nm").mkdir()
            w.write_nm(tmp / "nm" / "NM_0001.dcm", arrays.image.array, truth.emission_grid, hdr)
            em_files = ["nm/NM_0001.dcm"]
        else:
            (tmp / "pt").mkdir()
            em_files = ["pt/" + f for f in w.write_pt(tmp / "pt", arrays.image.array, truth.emission_grid, hdr)]
        w.write_rtstruct(tmp / "rtstruct.dcm", _rois(arrays.anatomy), truth.ct_grid, hdr)
        files = {
            "ct": ["ct/" + f for f in ct_files],
            "emission": em_files,
            "rtstruct": "rtstruct.dcm",
            "truth": "truth.json",
        }
        uid_info = {
            "study_instance_uid": uids["study"],
            "frame_of_reference_uid": uids["frame_of_reference"],
            "ct_series_instance_uid": uids["ct_series"],
            "emission_series_instance_uid": uids["emission_series"],
            "rtstruct_series_instance_uid": uids["rtstruct_series"],
            "rtstruct_sop_instance_uid": uids["rtstruct_instance"],
        }
        truth = replace(truth, uids=uid_info, files=files)
        with open(tmp / "truth.json", "w", encoding="utf-8") as fh:
            json.dump(truth.to_json(), fh, indent=2)
            fh.write("\n")
        tmp.chmod(0o755)
        if out.exists():
            out.rmdir()  # empty (checked above); rename cannot replace a folder on every platform
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return truth
