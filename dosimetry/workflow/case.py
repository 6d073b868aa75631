"""The whole job for one patient file: image inputs, plan, voxel dosimetry, assessment
(:func:`run_case`, ``y90 report`` and ``y90 plan``); and the same reading and voxel dosimetry
assessed without a plan (:func:`run_voxel_case`, ``y90 dose``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..devices import device as _device
from ..errors import InputError
from ..model import Imaging, PatientFile
from .assess import CaseResult, assess
from .identity import header_identity
from .inputs import needs_images, resolve_inputs
from ..planning.budget import UncertaintySettings
from .plan import compare_devices, plan_patient
from .uncertainty import case_uncertainty

if TYPE_CHECKING:  # the voxel workflow (pydicom, scipy) is imported where images are read (issue 22)
    from .voxel import ImagingInputs, VoxelResult

__all__ = ["PlanInputs", "plan_inputs", "plan_case", "run_case", "run_voxel_case", "read_images", "image_dose", "compare_case", "input_digests", "InputDigest", "folder_manifest", "input_paths"]


@dataclass(frozen=True)
class PlanInputs:
    """The patient file with its image inputs resolved, and the images read for it.

    Parameters
    ----------
    patient : PatientFile
        Every ``"image"`` replaced by the value measured on the planning images.
    sources : tuple of InputSource
        Where each plan input comes from (typed, image, planar) and how typed and image compare.
    warnings : tuple of str
        Typed values that disagree with the images; measurement reservations.
    imaging : ImagingInputs or None
        The images and ROIs, read once for the measurements and the voxel dosimetry.
    """

    patient: PatientFile
    sources: tuple = ()
    warnings: tuple = ()
    imaging: ImagingInputs | None = None


def plan_inputs(pf: PatientFile, *, progress: Callable[[str], None] | None = None, images: ImagingInputs | None = None) -> PlanInputs:
    """Read the planning images of ``[imaging]`` (if any), measure the plan inputs, resolve ``"image"``.

    ``images``: the images of this very ``[imaging]`` table already read (:func:`read_images`, e.g.
    by ``y90 demo`` to choose its vial); they are then not read again.

    Raises
    ------
    InputError
        An input written ``"image"`` without ``[imaging]``, or without the ROIs it needs.
    """
    if pf.imaging is None:
        if needs_images(pf):
            resolve_inputs(pf, None)  # raises, naming the first "image" field
        resolved, sources, warnings = resolve_inputs(pf, None)
        return PlanInputs(resolved, sources, warnings, None)
    inputs = images if images is not None else read_images(pf.imaging, ct_masks=pf.imaging.ct is not None, progress=progress)
    pf, mismatch = header_identity(pf, inputs)
    # Every input the images can give is measured; an "image" input they cannot give (a lung shunt
    # without lungs in the field of view, a lung mass without lung ROIs on the CT) is refused by
    # resolve_inputs, naming the field and why, and nothing else needs the lung ROIs.
    unmeasured: tuple[str, ...] = ()
    from .imaging import measure_images

    try:
        measured = measure_images(inputs)
    except InputError as exc:
        if needs_images(pf):
            raise
        measured = None  # every input typed: the images serve the voxel dosimetry only
        unmeasured = (f"the plan inputs could not be measured on the images ({exc}); the typed values are not compared with them",)
    resolved, sources, warnings = resolve_inputs(pf, measured)
    return PlanInputs(resolved, sources, tuple(warnings) + unmeasured + mismatch, inputs)


def read_images(im: Imaging, *, ct_masks: bool = False, progress: Callable[[str], None] | None = None) -> ImagingInputs:
    """Read the images of ``im`` (the patient file's ``[imaging]``, or ``y90 dose``'s flags) and put its
    ROIs on the activity grid (:func:`~dosimetry.workflow.voxel.load_imaging`); ``ct_masks`` also puts
    them on the CT grid, where the plan inputs are measured."""
    from .imaging import load_imaging

    return load_imaging(
        im.activity,
        im.rtstruct,
        ct=im.ct,
        liver_roi=im.liver_roi,
        tumour_rois=im.tumour_rois,
        lung_rois=im.lung_rois,
        perfused_roi=im.perfused_roi,
        ct_masks=ct_masks,
        allow_mismatch=im.allow_mismatch,
        progress=progress,
        **im.reading(),
    )


def image_dose(im: Imaging, images: ImagingInputs, *, administered=None, residual_fraction=0.0, lung_shunt_fraction=None,
               progress: Callable[[str], None] | None = None) -> VoxelResult:
    """The voxel dosimetry of the images read for ``im``, with its settings (:class:`~dosimetry.model.VoxelSettings`);
    ``administered`` when the settings give none (a plan's activity)."""
    from .voxel import voxel_dose

    return voxel_dose(images, progress=progress, lung_shunt_fraction=lung_shunt_fraction,
                      **im.settings.dosimetry(administered=administered, residual_fraction=residual_fraction))


def run_voxel_case(im: Imaging, *, residual_fraction=0.0, device=None, clinical=None, prior_lung_dose="0 Gy",
                   progress: Callable[[str], None] | None = None) -> CaseResult:
    """The case of a voxel dosimetry without a plan (``y90 dose``): the images of ``im`` read and their
    dose computed as :func:`run_case` reads and computes them, then assessed against the safety limits
    of ``device`` (None: both devices', the stricter binds) and the ``clinical`` scenario."""
    images = read_images(im, progress=progress)
    voxel = image_dose(im, images, residual_fraction=residual_fraction, progress=progress)
    return assess(voxel=voxel, device=device, clinical=clinical, prior_lung_dose=prior_lung_dose, patient_id=_image_patient_id(voxel))


def _image_patient_id(voxel: VoxelResult) -> str | None:
    """PatientID (0010,0020) of the first input series that states one (None for NRRD / NIfTI only)."""
    return next((i.patient_id for i in voxel.identities if getattr(i, "patient_id", None)), None)


def plan_case(pf: PatientFile, *, progress: Callable[[str], None] | None = None, uncertainty: UncertaintySettings | None = None) -> CaseResult:
    """The plan of a patient file, assessed (``y90 plan``): the same as :func:`run_case`.

    A patient file with ``[imaging]`` is assessed with its voxel dosimetry too, so that ``y90 plan``
    and ``y90 report`` give one verdict (a voxel check can block a plan whose compartment checks
    pass); ``y90 plan`` writes no files.
    """
    return run_case(pf, progress=progress, uncertainty=uncertainty)


def run_case(pf: PatientFile, *, progress: Callable[[str], None] | None = None, uncertainty: UncertaintySettings | None = None,
             images: ImagingInputs | None = None) -> CaseResult:
    """Plan the patient, run the voxel dosimetry of its ``[imaging]`` (if any), and assess both.

    The planning images are read once: their measurements resolve the ``"image"`` inputs, and the
    voxel dosimetry scales them to the administered activity of ``[imaging]``, or else to the
    plan's prescribed activity (a predictive dosimetry of the plan).

    ``uncertainty`` (default the patient file's ``[uncertainty]``; ``samples = 0`` switches it off)
    adds each figure's 95 % interval and each safety check's probability of being crossed
    (:func:`dosimetry.workflow.uncertainty.case_uncertainty`); the verdict stays nominal.
    ``images``: the images of ``pf.imaging`` already read (see :func:`plan_inputs`).

    Returns
    -------
    CaseResult
        One verdict over every safety check of the plan and of the voxel dosimetry.
    """
    say = progress or (lambda m: None)
    pi = plan_inputs(pf, progress=say, images=images)
    say("planning")
    return _assessed(pf, pi, plan_patient(pi.patient), say, uncertainty)


def compare_case(pf: PatientFile, *, progress: Callable[[str], None] | None = None, uncertainty: UncertaintySettings | None = None) -> tuple[CaseResult, CaseResult]:
    """The patient planned for glass and for resin (``y90 plan --compare``), each assessed as
    :func:`run_case` assesses it: with the voxel dosimetry of ``[imaging]`` scaled to that
    device's activity, so the comparison never shows a device within limits that the voxel
    checks block. The images are read once."""
    say = progress or (lambda m: None)
    pi = plan_inputs(pf, progress=say)
    glass, resin = compare_devices(pi.patient)
    return _assessed(pf, pi, glass, say, uncertainty), _assessed(pf, pi, resin, say, uncertainty)


def _assessed(pf: PatientFile, pi: PlanInputs, pp, say, uncertainty: UncertaintySettings | None = None) -> CaseResult:
    """Assess a plan with the voxel dosimetry of the already read images (if any)."""
    img = None
    if pi.imaging is not None:
        assert pf.imaging is not None  # plan_inputs reads images only for an [imaging] table
        img = image_dose(pf.imaging, pi.imaging, administered=_planned_activity(pp), residual_fraction=pp.patient.target.residual_fraction,
                         lung_shunt_fraction=_shunt_for_images(pi, pp), progress=say)
    case = assess(pp, img, input_sources=pi.sources, input_warnings=pi.warnings, imaging=None if pi.imaging is None else pi.imaging.description)
    return case_uncertainty(case, pf.uncertainty if uncertainty is None else uncertainty)


def _shunt_for_images(pi: PlanInputs, pp):
    """The plan's lung shunt (planar or typed) for a relative calibration of images without lungs in
    view: the liver then holds A (1 - R) (1 - LSF), not the whole delivered activity. None when the
    images have lungs in view (they measure their own shunt)."""
    assert pi.imaging is not None  # called for read images only (_assessed)
    if pi.imaging.lungs:
        return None
    return pp.plan.lung_shunt_fraction


def _planned_activity(pp) -> object:
    """The activity the predictive voxel dosimetry is scaled to: a glass vial is given whole, so the
    ordered vial's activity at the planned administration (within the delivery tolerance of the
    prescription); otherwise the prescribed activity."""
    choice = getattr(pp.vial, "choice", None)
    if _device(pp.plan.device).whole_vial and choice is not None and getattr(choice, "delivered", None) is not None:
        return choice.delivered
    return pp.plan.prescribed_activity


@dataclass(frozen=True)
class InputDigest:
    """SHA-256 of one imaging input, for the audit trail (docs/cli.md, "Audit digests").

    Parameters
    ----------
    label : str
        The input's role, e.g. ``"CT"``.
    path : str
        The file or folder as the patient file names it.
    sha256 : str
        A file: the SHA-256 of its bytes, as ``sha256sum FILE`` prints it. A folder (a DICOM
        series): the SHA-256 of its manifest, the lines ``sha256sum`` prints for every file in the
        folder (``<sha256>  <name>``), names in byte order (see :func:`folder_manifest`).
    files : int or None
        Number of files in a folder's manifest; None for a single file.
    """

    label: str
    path: str
    sha256: str
    files: int | None = None


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def folder_manifest(folder: Path) -> tuple[bytes, ...]:
    """What ``sha256sum`` prints for every file of ``folder`` (not its sub-folders), one line each.

    The line of a file is ``<sha256 of its bytes>  <file name>``, the files in the byte order of
    their names; the folder's digest is the SHA-256 of the lines joined. In a shell (GNU coreutils,
    for names without a backslash or line break, which ``sha256sum`` would escape):
    ``cd FOLDER && find . -maxdepth 1 -xtype f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0r sha256sum | sha256sum``.
    """
    files = sorted((f for f in Path(folder).iterdir() if f.is_file()), key=lambda f: os.fsencode(f.name))
    return tuple(_file_sha256(f).encode() + b"  " + os.fsencode(f.name) + b"\n" for f in files)


def _digest(label: str, path: Path) -> InputDigest:
    p = Path(path)
    if not p.is_dir():
        return InputDigest(label, str(path), _file_sha256(p))
    lines = folder_manifest(p)
    return InputDigest(label, str(path), hashlib.sha256(b"".join(lines)).hexdigest(), len(lines))


def input_digests(pf: PatientFile) -> tuple[InputDigest, ...]:
    """The :class:`InputDigest` of every imaging input of the patient file, for the audit trail."""
    if pf.imaging is None:
        return ()
    labels = pf.imaging.labels if isinstance(pf.imaging.labels, Path) else None
    inputs = (("activity image", pf.imaging.activity), ("CT", pf.imaging.ct), ("segmentation", pf.imaging.rtstruct), ("label names", labels))
    return tuple(_digest(label, path) for label, path in inputs if path is not None)


def input_paths(pf: PatientFile) -> list:
    """The patient file and the imaging inputs it names: what an output must never overwrite or hold."""
    im = pf.imaging
    named = [im.activity, im.ct, im.rtstruct, im.labels] if im is not None else []
    return ([pf.path] if pf.path is not None else []) + [p for p in named if isinstance(p, (str, Path))]
