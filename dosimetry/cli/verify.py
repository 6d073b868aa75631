"""``y90 verify``: post-treatment verification, the delivered dose against the plan (issue 20; docs/verification.md)."""

from __future__ import annotations

from ..errors import InputError
from .dose import DOSE_FLAGS
from .flags import FlagNames, checked, residual_fraction, subcommand
from .output import EXIT_BLOCKED, EXIT_OK, check_output_folder, progress

#: ``y90 verify``'s flags for the field keys its library calls name.
VERIFY_FLAGS = dict(DOSE_FLAGS, residual_fraction="--residual", register="--register",
                    **{"delivery.administered": "--administered", "delivery.residual_fraction": "--residual"})

DESCRIPTION = (
    "Post-treatment verification: the delivered dose from the Y-90 PET or bremsstrahlung SPECT (DICOM, NRRD, NIfTI), "
    "calibrated absolute (PET Bq/mL) or relative to administered x (1 - residual), set beside the plan of PATIENT_FILE "
    "per region (mean, D70, D95, V100 for tumours). Writes verification.json, summary.txt, report.pdf, the delivered "
    "dose map and dvh.csv into a new folder. The ROIs are the post-treatment segmentation's, or (--register) the "
    "planning ROIs carried over by a rigid registration of the planning CT to the post-treatment CT.")
EXAMPLES = [
    "y90 verify patient.toml --activity-image post/pt --ct post/ct --segmentation post/rtstruct.dcm --administered '2.1 GBq' --residual 0.03 -o verification/",
    "y90 verify patient.toml --activity-image y90pet.nrrd --activity-unit Bq/mL --calibration absolute --activity-time administration "
    "--segmentation post.seg.nrrd --tumour 'Tumour 1' --lung 'Lungs' -o verification/",
    "y90 verify patient.toml --activity-image post/pt --ct post/ct --register -o verification/",
]


def add_parser(sub) -> None:
    vf = subcommand(sub, "verify", help="post-treatment verification: delivered dose from the Y-90 PET / SPECT against the plan",
                    description=DESCRIPTION, examples=EXAMPLES, codes="verify")
    vf.add_argument("patient", help="the planning patient file (its images, or its typed inputs when it had none); [delivery] gives what was given")
    vf.add_argument("--activity-image", required=True, help="post-treatment Y-90 PET or bremsstrahlung SPECT: DICOM folder, or NRRD / NIfTI with --activity-unit")
    vf.add_argument("--ct", help="post-treatment CT: DICOM folder, NRRD or NIfTI in HU (density; --register registers the planning CT to it)")
    vf.add_argument("--segmentation", "--rtstruct", dest="segmentation",
                    help="post-treatment segmentation (RTSTRUCT, DICOM SEG, .seg.nrrd, label map with --labels); with --register its liver is compared with the carried one")
    vf.add_argument("--register", action="store_true", help="carry the planning ROIs over: rigid, liver-weighted registration of the plan's CT to --ct")
    vf.add_argument("--labels", help="name table of a label map: 'value name [r g b a]' lines (Slicer colour table) or a JSON object")
    vf.add_argument("--activity-unit", help="unit of an NRRD / NIfTI activity image: counts, Bq/mL, kBq/mL or MBq/mL (never guessed)")
    vf.add_argument("--activity-time", help="time the values of an NRRD / NIfTI image in Bq/mL refer to: 'administration' or a date-time with UTC offset")
    vf.add_argument("--administration-time", help="administration date-time with UTC offset (default delivery.administration)")
    vf.add_argument("--calibration", choices=("relative", "absolute"), default="relative",
                    help="relative (default): the image scaled to administered x (1 - residual); absolute: PET Bq/mL at administration, its total checked")
    vf.add_argument("--administered", type=checked("imaging.administered"), help="activity administered, e.g. '2.1 GBq' (default delivery.administered)")
    vf.add_argument("--residual", type=residual_fraction("--residual"), help="measured residual fraction in vial and delivery set, e.g. 0.03 or '3 %%' (default delivery.residual_fraction)")
    vf.add_argument("--method", choices=("ldm", "kernel"), help="local deposition or kernel convolution (default: the plan's [imaging] method, else kernel)")
    vf.add_argument("--density-method", choices=("ct_curve", "liver_nominal"), default="ct_curve", help="as y90 dose")
    vf.add_argument("--liver", action="append", help="liver ROI name of the post-treatment segmentation (default the patient file's, else 'Liver')")
    vf.add_argument("--tumour", action="append", help="tumour ROI name (repeat; default the patient file's ROIs, else its [[target.tumours]] names)")
    vf.add_argument("--lung", action="append", help="lung ROI name (repeat; default the patient file's)")
    vf.add_argument("--perfused", help="perfused-territory ROI name (default the patient file's)")
    vf.add_argument("--dose-format", choices=("dicom", "nrrd", "nifti"), help="delivered dose map format (default: RT Dose for DICOM, else the image's format)")
    vf.add_argument("--allow-mismatch", action="store_true", help="accept post-treatment images of another PatientID than the patient file's")
    vf.add_argument("-o", "--output", required=True, help="output folder (created; must not exist or be empty)")
    vf.set_defaults(func=run)


def _rois(args, pf) -> dict:
    """ROI names of the post-treatment segmentation: the flags, else the patient file's [imaging.rois], else the plan's tumour names."""
    im = pf.imaging
    liver = args.liver or ([im.liver_roi] if im is not None and isinstance(im.liver_roi, str) else list(im.liver_roi) if im is not None else ["Liver"])
    tumours = args.tumour or (list(im.tumour_rois) if im is not None else [t.name for t in pf.target.tumours])
    lungs = args.lung or (list(im.lung_rois) if im is not None else [])
    perfused = args.perfused or (im.perfused_roi if im is not None else None)
    return {"liver_roi": liver[0] if len(liver) == 1 else tuple(liver), "tumour_rois": tuple(tumours), "lung_rois": tuple(lungs), "perfused_roi": perfused}


def _reading(args, pf) -> dict:
    from ..io.patient import parse_datetime

    out = {}
    if args.activity_unit is not None:
        out["activity_unit"] = args.activity_unit
    if args.labels is not None:
        out["labels"] = args.labels
    if args.activity_time is not None:
        text = args.activity_time.strip()
        out["activity_time"] = "administration" if text.lower() == "administration" else parse_datetime(text, "--activity-time")
    if args.administration_time is not None:
        out["administration_time"] = parse_datetime(args.administration_time, "--administration-time")
    elif pf.delivery is not None and pf.delivery.administration is not None:
        out["administration_time"] = pf.delivery.administration
    return out


def run(args) -> int:
    from ..io.patient import load_patient
    from ..workflow import input_paths, run_case
    from ..workflow.verify import delivery_inputs, load_post, verify

    pf = load_patient(args.patient)
    inputs = [p for p in (args.patient, args.activity_image, args.ct, args.segmentation, args.labels) if p] + list(input_paths(pf))
    check_output_folder(args.output, inputs, "the verification (verification.json, summary.txt, report.pdf, dose map)")
    if args.segmentation is None and not args.register:
        raise InputError("--segmentation", "missing: give the post-treatment segmentation, or --register to carry the planning ROIs over (needs --ct and the plan's [imaging] CT and segmentation)")
    show = progress(args)
    with FlagNames(VERIFY_FLAGS):
        delivery = delivery_inputs(pf, administered=args.administered, residual_fraction=args.residual, calibration=args.calibration)
        post, registration = load_post(pf, args.activity_image, args.segmentation, ct=args.ct, register=args.register, allow_mismatch=args.allow_mismatch,
                                       progress=show, **_rois(args, pf), **_reading(args, pf))
        planned = run_case(pf, progress=show)
        method = args.method or (pf.imaging.method if pf.imaging is not None else "kernel")
        result = verify(post, delivery, planned=planned, method=method, density_method=args.density_method, registration=registration, progress=show)
    write_verification(result, args.output, inputs, args.dose_format, quiet=args.quiet)
    return EXIT_OK if result.complete else EXIT_BLOCKED  # 1: an adverse finding, or the lungs not assessed


def write_verification(result, output, inputs, dose_format=None, *, quiet: bool = False) -> None:
    """verification.json, summary.txt, report.pdf, the delivered dose map, dvh.csv (and registration.json,
    dose_difference.nrrd) into a new folder, complete or not at all (``y90 verify`` and ``y90 demo``)."""
    from ..io.files import staged_directory
    from ..report.verification import verification_text, write_verification_files

    text = verification_text(result)
    with staged_directory(output, inputs=inputs) as tmp:
        dose_name = write_verification_files(result, tmp, dose_format=dose_format)
    if not quiet:
        print(text, end="")
        extra = (", registration.json" if result.registration else "") + (", dose_difference.nrrd" if result.difference_map is not None else "")
        print(f"\nWrote {output}/ (verification.json, summary.txt, report.pdf, {dose_name}, dvh.csv{extra})")

