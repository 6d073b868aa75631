"""``y90 dose``: the absorbed-dose map of an activity image, CT and segmentation, checked against the
safety limits; writes the dose map, dvh.csv and regions.json."""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..vocabulary import DeviceName
from .flags import FlagNames, checked, residual_fraction, subcommand
from .output import EXIT_BLOCKED, EXIT_OK, check_output_folder, progress


def add_parser(sub) -> None:
    ds = subcommand(
        sub, "dose", help="absorbed-dose map from an activity image, CT and segmentation",
        description="Voxel dosimetry: absorbed-dose map from a SPECT/PET activity image (DICOM, NRRD or NIfTI), CT and a "
                    "segmentation (RTSTRUCT, DICOM SEG, .seg.nrrd, label map), checked against the safety limits; writes the "
                    "dose (RT Dose, NRRD or NIfTI), dvh.csv and regions.json.",
        examples=["y90 dose --activity-image spect/ --ct ct/ --segmentation rs.dcm --tumour 'Tumour 1' --administered '2.1 GBq' --device glass -o out/",
                  "y90 dose --activity-image spect.nrrd --activity-unit counts --segmentation rois.seg.nrrd --tumour 'Tumour 1' --administered '2.1 GBq' -o out/"],
        codes="checks",
    )
    _input_flags(ds)
    _method_flags(ds)
    _roi_flags(ds)
    _assessment_flags(ds)
    ds.add_argument("--allow-mismatch", action="store_true", help="accept series of different patient / study / frame of reference")
    ds.add_argument("-o", "--output", required=True, help="output folder (created; must not exist or be empty)")
    ds.set_defaults(func=run)


def _input_flags(ds) -> None:
    """The images and segmentation, their units and times, and the dose map's format."""
    ds.add_argument("--activity-image", required=True, help="NM or PT DICOM folder, or an NRRD (.nrrd, .nhdr) / NIfTI (.nii, .nii.gz) file with --activity-unit")
    ds.add_argument("--ct", help="CT: DICOM folder, NRRD or NIfTI in HU (density from HU; without it 1.03 g/mL everywhere)")
    ds.add_argument("--segmentation", "--rtstruct", dest="segmentation", required=True,
                    help="RT Structure Set, DICOM SEG, Slicer .seg.nrrd, or a label map (NRRD / NIfTI, with --labels); ROI names are the segment names")
    ds.add_argument("--labels", help="name table of a label map: 'value name [r g b a]' lines (Slicer colour table) or a JSON object")
    ds.add_argument("--activity-unit", help="unit of an NRRD / NIfTI activity image: counts, Bq/mL, kBq/mL or MBq/mL (never guessed)")
    ds.add_argument("--activity-time", help="time the values of an activity image in Bq/mL refer to: 'administration' or a date-time with UTC offset")
    ds.add_argument("--administration-time", help="administration date-time with UTC offset (decay correction of --activity-time)")
    ds.add_argument("--dose-format", choices=("dicom", "nrrd", "nifti"), help="dose map as RT Dose (default for DICOM inputs), NRRD or NIfTI (default: the activity image's format)")
    ds.add_argument("--administered", type=checked("imaging.administered"), help="administered activity, e.g. '2.1 GBq' (relative calibration)")


def _method_flags(ds) -> None:
    """The dose calculation: deposition, density, lung kernel and calibration."""
    ds.add_argument("--method", choices=("ldm", "kernel"), default="kernel", help="local deposition or kernel convolution (default)")
    ds.add_argument("--density-method", choices=("ct_curve", "liver_nominal"), default="ct_curve",
                    help="CT curve everywhere (default) or 1.03 g/mL inside the liver and tumour ROIs")
    ds.add_argument("--lung-method", choices=("density_divided", "density_scaled"), default="density_divided",
                    help="lung kernel: soft-tissue kernel divided by density (default) or range-scaled to the lung density")
    ds.add_argument("--calibration", choices=("relative", "absolute"), default="relative")
    ds.add_argument("--partial-volume", choices=("gtm",), help="partial-volume correction shown beside the plain figures: gtm (geometric transfer "
                    "matrix, needs --fwhm); the plain figures and the verdict are unchanged")
    ds.add_argument("--fwhm", help="the camera's resolution (FWHM) for --partial-volume, e.g. '10 mm' (never guessed)")


def _roi_flags(ds) -> None:
    """The ROI names of the liver, tumours, lungs and perfused territory."""
    ds.add_argument("--liver", action="append", help="liver ROI name (default 'Liver'); repeat to join its parts (label map: parenchyma and tumours)")
    ds.add_argument("--tumour", action="append", help="tumour ROI name (repeat for several)")
    ds.add_argument("--lung", action="append", help="lung ROI name (repeat for several; leave out when the image's field of view misses the lungs)")
    ds.add_argument("--perfused", help="perfused-territory ROI name (lobar or segmental treatment, tumours included): tumour-to-normal ratios and the "
                    "normal-liver dose refer to it minus the tumours; the whole liver's figures are kept apart")


def _assessment_flags(ds) -> None:
    """What the safety limits are checked with: residual fraction, device, prior lung dose, clinical scenario."""
    ds.add_argument("--residual-fraction", default=0.0, type=residual_fraction("--residual-fraction"), help="activity left in vial and tubing, e.g. 0.02 or '2 %%' (at most 50 %%)")
    ds.add_argument("--device", choices=tuple(DeviceName), help="device whose safety limits apply (default: both devices' limits, the stricter binds)")
    ds.add_argument("--prior-lung-dose", default="0 Gy", help="lung dose of earlier treatments, for the cumulative lung limit (default 0 Gy; as lung.prior_dose)")
    ds.add_argument("--indication", help="clinical.indication: hcc, icc, colorectal, neuroendocrine or other (tumour thresholds)")
    ds.add_argument("--extent", help="clinical.extent: whole_liver, bilobar, lobar or segmental")
    ds.add_argument("--bilirubin", help="clinical.bilirubin: serum total bilirubin, e.g. '1.5 mg/dL' or '26 umol/L'")
    ds.add_argument("--compromised-liver", action=argparse.BooleanOptionalAction, default=None,
                    help="clinical.compromised_liver: pretreated or compromised liver (--no-compromised-liver: not)")


def run(args) -> int:
    from ..io.files import staged_directory
    from ..io.volumes import image_format
    from ..report.build import write_dose_files
    from ..report.text import case_text
    from ..workflow import run_voxel_case

    inputs = [p for p in (args.activity_image, args.ct, args.segmentation, args.labels) if p]
    check_output_folder(args.output, inputs, "the dose output (dose map, dvh.csv, regions.json)")
    imaging = _imaging(args)
    scenario = _clinical(args)  # refuse a bad scenario or prior lung dose before the slow work
    prior_lung_dose = _prior_lung_dose(args.prior_lung_dose)
    if args.dose_format == "dicom" and image_format(args.activity_image) != "dicom":
        raise InputError("--dose-format", "an RT Dose needs DICOM source images (patient, study, frame of reference); with an NRRD / NIfTI activity image choose nrrd or nifti")
    with FlagNames(DOSE_FLAGS), staged_directory(args.output, inputs=inputs) as tmp:
        case = run_voxel_case(imaging, residual_fraction=args.residual_fraction, device=args.device, clinical=scenario,
                              prior_lung_dose=prior_lung_dose, progress=progress(args))
        dose_name = write_dose_files(case, tmp, dose_format=imaging.settings.dose_format)
    text = case_text(case)
    if case.patient_id is None:  # NRRD / NIfTI inputs carry no PatientID (0010,0020)
        text = "Patient not given (no DICOM PatientID in the inputs)" + text[text.index("\n"):]
    print(text)
    print(f"\nWrote {args.output}/{dose_name}, dvh.csv, regions.json")
    return EXIT_OK if case.actionable else EXIT_BLOCKED


def _imaging(args):
    """``y90 dose``'s files, ROI names and settings as the :class:`~dosimetry.model.Imaging` the patient
    file's [imaging] builds (the paths as typed: the messages and the audit name them so)."""
    from ..model import Imaging

    liver = args.liver or ["Liver"]
    return Imaging(activity=args.activity_image, ct=args.ct, rtstruct=args.segmentation, liver_roi=liver[0] if len(liver) == 1 else tuple(liver),
                   tumour_rois=tuple(args.tumour or ()), lung_rois=tuple(args.lung or ()), perfused_roi=args.perfused, settings=settings(args))


def settings(args):
    """``y90 dose``'s flags as the :class:`~dosimetry.model.VoxelSettings` the patient file's [imaging] builds."""
    from ..io.patient import parse_datetime
    from ..model import VoxelSettings
    from ..voxel.partial_volume import check_partial_volume

    when = None
    if args.activity_time is not None:
        text = args.activity_time.strip()
        when = "administration" if text.lower() == "administration" else parse_datetime(text, "--activity-time")
    admin = parse_datetime(args.administration_time, "--administration-time") if args.administration_time is not None else None
    with FlagNames(DOSE_FLAGS):
        pvc = dict(zip(("partial_volume", "fwhm"), check_partial_volume(args.partial_volume, args.fwhm)))
    return VoxelSettings(method=args.method, density_method=args.density_method, lung_method=args.lung_method, calibration=args.calibration,
                         administered=args.administered, allow_mismatch=args.allow_mismatch, labels=args.labels, activity_unit=args.activity_unit,
                         activity_time=when, administration_time=admin, dose_format=args.dose_format, **pvc)


#: ``y90 dose``'s flag for each field key its library calls name in their errors (the patient file's
#: [imaging] keys, and voxel_dose's own arguments): an error is re-raised naming the flag.
DOSE_FLAGS = {
    "imaging.activity_unit": "--activity-unit",
    "imaging.activity_time": "--activity-time",
    "imaging.administration_time": "--administration-time",
    "imaging.administered": "--administered",
    "imaging.activity": "--activity-image",
    "imaging.segmentation": "--segmentation",
    "imaging.rtstruct": "--segmentation",
    "imaging.labels": "--labels",
    "imaging.rois.liver": "--liver",
    "imaging.rois.tumours": "--tumour",
    "imaging.rois.lungs": "--lung",
    "imaging.rois.perfused": "--perfused",
    "imaging.ct": "--ct",
    "imaging.calibration": "--calibration",
    "administered": "--administered",
    "residual_fraction": "--residual-fraction",
    "calibration": "--calibration",
    "imaging.partial_volume": "--partial-volume",
    "imaging.fwhm": "--fwhm",
}

#: ``y90 dose`` flags of the patient file's [clinical] keys (docs/patient-file.md), same parser.
CLINICAL_FLAGS = {"indication": "--indication", "extent": "--extent", "bilirubin": "--bilirubin", "compromised_liver": "--compromised-liver"}


def _clinical(args):
    """The clinical scenario of ``y90 dose``, read by :func:`dosimetry.planning.clinical.clinical` (as the
    patient file's [clinical] table), errors naming the flag instead of ``clinical.<key>``."""
    from ..planning.clinical import clinical

    given = {k: getattr(args, k) for k in CLINICAL_FLAGS if getattr(args, k, None) is not None}
    try:
        return clinical(**given)
    except InputError as exc:
        raise exc.renamed(CLINICAL_FLAGS.get(exc.field.removeprefix("clinical."), exc.field)) from exc


def _prior_lung_dose(text: str):
    """``--prior-lung-dose``: the plausible range of the patient file's ``lung.prior_dose`` (io.patient.PLAUSIBLE)."""
    from ..io.patient import PLAUSIBLE, plausible_quantity

    return plausible_quantity(text, PLAUSIBLE["lung.prior_dose"], "--prior-lung-dose")

