"""``y90 demo``: write a digital phantom patient (CT, Tc-99m MAA SPECT, RTSTRUCT) and its report.

The only module of the package that imports ``phantoms`` (tests/test_layers.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from .flags import subcommand
from .output import progress
from .report import run_report


def add_parser(sub) -> None:
    dm = subcommand(
        sub, "demo", help="write a phantom patient and its report (the README's first command)",
        description="Write a digital phantom patient (CT, Tc-99m MAA SPECT, RTSTRUCT), plan it from its images and write its "
                    "full report, to see what y90 does.",
        examples=["y90 demo", "y90 demo -o my-demo --units us"],
        codes="checks",
    )
    dm.add_argument("-o", "--output", help="demo folder to create (default: ./y90-demo, ./y90-demo-2, ...)")
    dm.add_argument("--seed", type=_seed, default=0, help="phantom seed (default 0)")
    dm.add_argument("--units", choices=("si", "us"), default="si", help="us: activities also in mCi on page 1")
    dm.set_defaults(func=run)


def _seed(text: str) -> int:
    """``demo --seed``: the phantom seed, an integer >= 0 (checked before anything is written or printed)."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 0")
    return n


DEMO_PATIENT = """# Demo patient: a digital phantom (phantoms/) planned from its Tc-99m MAA SPECT/CT, like a clinic
# does: the lung shunt fraction, the lung mass, the volumes and the tumour-to-normal ratios are
# measured on the images ("image"). Glass microspheres, partition model, 205 Gy to the tumours;
# the voxel dosimetry is the MAA SPECT scaled to the planned activity (predictive).
[patient]
id = "{patient_id}"
name = "{patient_name}"
height = "175 cm"
weight = "75 kg"

[treatment]
device = "glass"
method = "partition"
administration = 2026-01-15T10:00:00-05:00
calibration = {calibration}   # chosen so the {vial} vial holds the plan at administration

[clinical]
indication = "hcc"
extent = "whole_liver"
bilirubin = "0.8 mg/dL"
compromised_liver = false

[lung]
shunt_fraction = "image"   # lung ROIs / (lungs + liver) on the MAA SPECT
mass = "image"             # lung ROIs on the CT through the HU-to-density curve

[liver]
volume = "image"

[target]
volume = "image"           # whole-liver treatment: the liver ROI
tumour_dose = "205 Gy"
{tumours}
[imaging]
activity = "nm"            # Tc-99m MAA SPECT
ct = "ct"
rtstruct = "rtstruct.dcm"
method = "kernel"
calibration = "relative"
partial_volume = "gtm"     # corrected figures beside the plain ones (geometric transfer matrix)
fwhm = "10 mm"             # the phantom camera's resolution (phantoms/: MAA SPECT at 10 mm FWHM)

[imaging.rois]
liver = "Liver"
tumours = [{tumour_rois}]
lungs = ["Lung L", "Lung R"]
"""


def _demo_calibration(text: str, base: Path, keep: list | None = None) -> tuple[str, str]:
    """Calibration time at which the smallest standard glass vial holding the plan decays to it at administration.

    ``keep`` receives the patient file's ``[imaging]`` table and the images read for it, for the
    report to use instead of reading and placing them again (issue 22).
    """
    import datetime as dt
    import tomllib

    from ..decay import time_to_activity
    from ..devices import GLASS
    from ..io.patient import parse_patient
    from ..workflow import plan_inputs, plan_patient

    pf = parse_patient(tomllib.loads(text), base)
    pi = plan_inputs(pf)
    if keep is not None:
        keep.append((pf.imaging, pi.imaging))
    a = plan_patient(pi.patient).plan.prescribed_activity
    vial = min((v for v in GLASS.vial_activities if v >= a), key=lambda v: v.magnitude)
    hours = time_to_activity(vial, a).to("h").magnitude
    planned = pf.treatment.administration
    assert planned is not None  # the demo patient file gives the planned administration
    cal = planned - dt.timedelta(minutes=round(hours * 60))
    return cal.isoformat(timespec="seconds"), f"{vial.magnitude:g} GBq"


def write_demo_patient(folder, *, seed: int = 0, **phantom) -> Path:
    """Write a phantom patient (CT, Tc-99m MAA SPECT, RTSTRUCT; ``phantoms.make_patient`` with
    ``phantom`` keyword arguments, e.g. ``patient_id``, ``noise``, ``lung_shunt_fraction``) and its
    patient file ``DEMO_PATIENT`` into the new ``folder``; return the patient file's path.

    The patient file plans from the images; its vial calibration is set so that the smallest glass
    vial holding the plan decays to it at administration. (``y90 demo``, tests and benchmarks.)
    """
    return write_demo_patient_file(folder, write_demo_images(folder, seed=seed, **phantom))


def write_demo_images(folder, *, seed: int = 0, **phantom) -> dict:
    """The phantom's images into the new ``folder`` (see :func:`write_demo_patient`); the fields of its patient file."""
    import phantoms

    folder = Path(folder)
    truth = phantoms.make_patient(folder, seed=seed, radionuclide="Tc-99m", **phantom)
    tumours = sorted(n for n in truth.regions if n.startswith("Tumour"))
    tumour_tables = "".join(
        f'\n[[target.tumours]]\nname = "{n}"          # its ROI\nvolume = "image"\ntumour_to_normal = "image"\n'
        for n in tumours
    )
    fields = dict(
        patient_id=truth.patient_id,
        patient_name=truth.patient_name,
        tumours=tumour_tables,
        tumour_rois=", ".join(f'"{n}"' for n in tumours),
    )
    return fields


def write_demo_patient_file(folder, fields: dict, keep: list | None = None) -> Path:
    """The patient file of the phantom written by :func:`write_demo_images` (``fields``) into ``folder``,
    its vial calibration chosen from the plan; ``keep`` receives the images read (:func:`_demo_calibration`)."""
    from ..io.files import write_atomic

    folder = Path(folder)
    fields = dict(fields)
    fields["calibration"], fields["vial"] = _demo_calibration(DEMO_PATIENT.format(calibration="2026-01-11T12:00:00-05:00", vial="", **fields), folder, keep)
    return write_atomic(folder / "patient.toml", DEMO_PATIENT.format(**fields))


def run(args) -> int:
    """Write the phantom patient into a hidden sibling folder, rename it into place, then report.

    Nothing partial is left behind: the staging folder is removed on any error, Ctrl-C or SIGTERM,
    and the demo folder itself is removed if the report then fails or is interrupted.
    """
    import shutil

    from ..io.files import staged_directory

    if args.output == "-":
        raise InputError("-o", "the demo writes a folder; give a folder name, not '-' (standard output)")
    if args.output is not None:
        out = Path(args.output)
        if out.exists() or out.is_symlink():
            raise InputError("-o", f"{out} exists; the demo never overwrites, choose a new folder")
    else:
        out = next(Path(f"y90-demo{'' if n == 1 else f'-{n}'}") for n in range(1, 10000) if not Path(f"y90-demo{'' if n == 1 else f'-{n}'}").exists())
    show = progress(args)
    if not args.quiet:
        print(f"y90 demo: writing a phantom patient and its report to {out.absolute()}/", flush=True)
    with staged_directory(out, field="-o") as tmp:
        if show:
            show("writing the phantom patient (CT, Tc-99m MAA SPECT, RTSTRUCT)")
        fields = write_demo_images(tmp / "patient", seed=args.seed)
    try:
        # the patient file is written where it stays, so that the images read to choose its vial (at
        # their final paths, named in the report's audit trail) are the report's: one read (issue 22)
        read: list = []
        write_demo_patient_file(out / "patient", fields, keep=read)
        path = out / "patient" / "patient.toml"  # as the images were read: relative to the same folder
        keep: list = []
        code = run_report(path, out / "report", args, keep=keep, images=_same_imaging(path, read))
        demo_verification(out, keep[0], args)  # out/post and out/verification; the exit status stays the plan's
        return code
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # the demo folder is ours: leave nothing partial
        raise


def _same_imaging(path: Path, read: list):
    """The images read for the vial choice when the written patient file's ``[imaging]`` is the one they
    were read for (it always is: only the vial calibration differs), else None (they are read again)."""
    from ..io.patient import load_patient

    imaging, images = read[0] if read else (None, None)
    return images if images is not None and load_patient(path).imaging == imaging else None


def demo_verification(out: Path, case, args) -> None:
    """``y90 demo``'s post-treatment step: the phantom's Y-90 PET/CT of the same patient (``out/post/``, its
    truth.json holding the delivered truth) given the plan's prescribed activity, verified against the plan
    (``out/verification/``): as ``y90 verify`` with the post-treatment RTSTRUCT and the plan's dose method."""
    import phantoms

    from ..workflow.verify import delivery_inputs, load_post, verify
    from .verify import write_verification

    pf, administered = case.plan.patient, case.plan.plan.prescribed_activity
    show = progress(args)
    if show:
        show("writing the post-treatment Y-90 PET/CT (phantom: Tumour 2 takes half its planned share, lung shunt +2 points)")
    truth = phantoms.make_post_treatment(out / "post", planning={"radionuclide": "Tc-99m", "seed": args.seed}, modality="PT", administered=administered)
    assert truth.post_treatment is not None  # make_post_treatment writes the post-treatment truth
    im = pf.imaging
    post, _ = load_post(pf, out / "post" / "pt", out / "post" / "rtstruct.dcm", ct=out / "post" / "ct", liver_roi=im.liver_roi,
                        tumour_rois=im.tumour_rois, lung_rois=im.lung_rois, progress=show)
    delivery = delivery_inputs(pf, administered=administered, residual_fraction=truth.post_treatment.residual_fraction)
    result = verify(post, delivery, planned=case, method=im.method, progress=show)  # the plan's method: differences are the distributions'
    if not args.quiet:
        print(f"\ny90 demo: post-treatment verification (y90 verify {out}/patient/patient.toml --activity-image {out}/post/pt --ct {out}/post/ct "
              f"--segmentation {out}/post/rtstruct.dcm --administered '{administered.to('GBq').magnitude:.4g} GBq' "
              f"--residual {truth.post_treatment.residual_fraction:g} -o {out}/verification)")
    write_verification(result, out / "verification", [out / "patient", out / "post"], quiet=args.quiet)
